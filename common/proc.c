/*
 * Worker side of the supervisor channel; see proc.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "proc.h"

struct proc {
	const struct proc_options *options;
	struct event_base *base;
	struct bufferevent *channel;
	struct event *sigterm;
	int welcomed;
	int status;
};

int
proc_send(struct proc *proc, enum msg_type type, uint64_t id, const void *payload, size_t length)
{
	return ipc_send(CAKE_CHANNEL_FD, type, id, payload, length);
}

struct event_base *
proc_event_base(struct proc *proc)
{
	return proc->base;
}

void
proc_set_title(const char *title)
{
	char name[16];

	/* The kernel's short name ("cake-watchdog") shows in top and /proc/PID/comm. */
	snprintf(name, sizeof name, "%s", title);
	for (char *p = name; *p != '\0'; p++) {
		if (*p == ':' || *p == ' ')
			*p = '-';
	}
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

static void
proc_stop(struct proc *proc, int status)
{
	proc->status = status;
	event_base_loopbreak(proc->base);
}

static int
proc_handle_welcome(struct proc *proc, const struct ipc_msg *msg)
{
	const struct msg_welcome *welcome = &msg->payload.welcome;

	if (welcome->proto_version != CAKE_PROTO_VERSION) {
		log_error("supervisor speaks protocol %u, this worker speaks %u",
		    welcome->proto_version, CAKE_PROTO_VERSION);
		return -1;
	}
	log_set_level((enum log_level)welcome->log_level);
	if (proc->options->on_welcome != NULL &&
	    proc->options->on_welcome(proc, welcome, proc->options->arg) < 0)
		return -1;

	proc->welcomed = 1;
	log_info("ready (pid %ld, protocol %d)", (long)getpid(), CAKE_PROTO_VERSION);
	return 0;
}

static int
proc_dispatch(struct proc *proc, const struct ipc_msg *msg)
{
	uint16_t type = msg->header.type;

	if (type == MSG_WELCOME)
		return proc_handle_welcome(proc, msg);
	if (!proc->welcomed) {
		log_error("received %s before MSG_WELCOME", msg_type_name(type));
		return -1;
	}

	switch (type) {
	case MSG_HEARTBEAT:
		return proc_send(proc, MSG_HEARTBEAT_ACK, msg->header.id, NULL, 0);
	case MSG_SHUTDOWN:
		log_info("stopping on request of the supervisor");
		proc_stop(proc, EXIT_SUCCESS);
		return 0;
	default:
		return proc->options->handler(proc, msg, proc->options->arg);
	}
}

static void
proc_read_cb(struct bufferevent *bev, void *arg)
{
	struct proc *proc = arg;
	struct evbuffer *input = bufferevent_get_input(bev);
	struct ipc_msg msg;
	const char *error;
	int rc;

	while ((rc = ipc_read(input, &msg, &error)) == 1) {
		if (proc_dispatch(proc, &msg) < 0) {
			proc_stop(proc, EXIT_FAILURE);
			return;
		}
	}
	if (rc < 0) {
		log_error("protocol error from supervisor: %s", error);
		proc_stop(proc, EXIT_FAILURE);
	}
}

static void
proc_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct proc *proc = arg;

	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		log_info("supervisor closed the channel, exiting");
		proc->options->handler(proc, NULL, proc->options->arg);
		proc_stop(proc, EXIT_SUCCESS);
	}
}

static void
proc_sigterm_cb(evutil_socket_t fd, short events, void *arg)
{
	struct proc *proc = arg;

	log_info("received SIGTERM, exiting");
	proc_stop(proc, EXIT_SUCCESS);
}

int
proc_run(const struct proc_options *options)
{
	struct proc proc;
	struct msg_hello hello;

	memset(&proc, 0, sizeof proc);
	proc.options = options;
	proc.status = EXIT_FAILURE;

	/* Ctrl-C reaches the whole process group; the supervisor decides the order of the stop. */
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	proc.base = event_base_new();
	if (proc.base == NULL) {
		log_error("cannot create the event loop");
		return EXIT_FAILURE;
	}
	evutil_make_socket_nonblocking(CAKE_CHANNEL_FD);
	proc.channel = bufferevent_socket_new(proc.base, CAKE_CHANNEL_FD, 0);
	bufferevent_setcb(proc.channel, proc_read_cb, NULL, proc_event_cb, &proc);
	bufferevent_enable(proc.channel, EV_READ);
	proc.sigterm = evsignal_new(proc.base, SIGTERM, proc_sigterm_cb, &proc);
	event_add(proc.sigterm, NULL);

	memset(&hello, 0, sizeof hello);
	hello.proto_version = CAKE_PROTO_VERSION;
	hello.pid = (uint32_t)getpid();
	snprintf(hello.role, sizeof hello.role, "%s", options->role);
	if (proc_send(&proc, MSG_HELLO, 0, &hello, sizeof hello) < 0) {
		log_error("cannot send MSG_HELLO to the supervisor: %s", strerror(errno));
		goto out;
	}

	event_base_dispatch(proc.base);

out:
	event_free(proc.sigterm);
	bufferevent_free(proc.channel);
	event_base_free(proc.base);
	log_info("stopped");
	return proc.status;
}
