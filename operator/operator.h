/*
 * The operator worker: renders each detection the controller decided to act
 * on into the one-line correction (see voice.h) and returns it.
 */
#ifndef CAKE_OPERATOR_H
#define CAKE_OPERATOR_H

/* Entry point of the process started as "cake: operator". Returns the exit status. */
int operator_main(int argc, char **argv);

#endif
