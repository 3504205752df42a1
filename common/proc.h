/*
 * The side of a worker process that talks to the supervisor: process title,
 * signals, the channel on CAKE_CHANNEL_FD, the handshake and the event loop.
 *
 * A worker's entry function calls proc_run() with its role and a message
 * handler. proc_run() sends MSG_HELLO, waits for MSG_WELCOME, answers
 * heartbeats, and calls the handler for every other message. When the
 * supervisor goes away the handler is called once with MSG == NULL and
 * proc_run() returns.
 */
#ifndef CAKE_PROC_H
#define CAKE_PROC_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h"

struct event_base;
struct proc;

/*
 * Handles one message. Returns 0, or -1 to close the channel and leave the
 * loop (the worker then exits non-zero).
 */
typedef int (*proc_handler)(struct proc *proc, const struct ipc_msg *msg, void *arg);

struct proc_options {
	const char *role;		/* "watchdog", "operator", "recall" */
	proc_handler handler;
	void *arg;
	/* Called once after MSG_WELCOME, before any other message. May be NULL. */
	int (*on_welcome)(struct proc *proc, const struct msg_welcome *welcome, void *arg);
};

/* Runs the worker loop. Returns the process exit status to use. */
int proc_run(const struct proc_options *options);

/* Sends a message to the supervisor. Returns 0, or -1 with errno set. */
int proc_send(struct proc *proc, enum msg_type type, uint64_t id, const void *payload, size_t length);

struct event_base *proc_event_base(struct proc *proc);

/* Sets the process name shown by ps and top ("cake: watchdog"). */
void proc_set_title(const char *title);

#endif
