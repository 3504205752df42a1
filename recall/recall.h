/*
 * The recall worker: the only writer of recall.db. It records each detected
 * signature and returns how often it has been seen. When the database cannot
 * be written it logs the error and keeps counting in memory.
 */
#ifndef CAKE_RECALL_H
#define CAKE_RECALL_H

/* Entry point of the process started as "cake: recall DATABASE". Returns the exit status. */
int recall_main(int argc, char **argv);

#endif
