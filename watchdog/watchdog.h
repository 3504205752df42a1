/*
 * The watchdog worker: reads the agent's stdout and stderr rings, splits
 * them into lines, matches the detection rules and sends each match to the
 * supervisor as MSG_DETECTION. It commits its read position in the ring only
 * up to the end of the last complete line it has handled, so a replacement
 * watchdog resumes without losing or splitting a line.
 */
#ifndef CAKE_WATCHDOG_H
#define CAKE_WATCHDOG_H

/*
 * Entry point of the process started as "cake: watchdog [CONFIG]", CONFIG
 * being the config file whose watchdog.patterns apply. Returns the exit status.
 */
int watchdog_main(int argc, char **argv);

#endif
