/*
 * The supervisor process; see supervisor.h.
 *
 * Start order is watchdog, recall, operator, adapter; a stop goes in reverse.
 * Each worker is this binary re-executed as "cake: ROLE" with its channel on
 * fd 3 and its stderr on a pipe that the supervisor copies into the log. The
 * adapter is its own executable in its own process group, with its stdout
 * and stderr on pipes that feed the stream rings and its control channel on
 * fd 3.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "audit.h"
#include "cmd.h"
#include "control.h"
#include "controller.h"
#include "http.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "paths.h"
#include "ring.h"
#include "supervisor.h"
#include "version.h"

#define RING_CAPACITY (1u << 20)
#define STREAM_READ_MAX 65536
#define ADAPTER_LINE_MAX 8192
#define ADAPTER_PROTO_VERSION 1
#define STOP_TIMEOUT_DEFAULT 30

/* Restarts remembered per process; supervision.restart_limit may not exceed it. */
#define RESTART_HISTORY 100
/* A process that has not completed its handshake by then counts as hung. */
#define HANDSHAKE_TIMEOUT_SECONDS 10

enum child_role {
	ROLE_WATCHDOG = 0,
	ROLE_RECALL,
	ROLE_OPERATOR,
	ROLE_ADAPTER,
	ROLE_COUNT,
};

enum child_state {
	CHILD_STOPPED = 0,
	CHILD_STARTING,
	CHILD_READY,
	CHILD_BACKOFF,
	CHILD_FAILED,
	CHILD_STOPPING,
	CHILD_HUNG,		/* killed for missing heartbeats, waiting to be reaped */
};

static const char *const role_names[ROLE_COUNT] = { "watchdog", "recall", "operator", "adapter" };
static const char *const state_names[] = {
	"stopped", "starting", "ready", "backoff", "failed", "stopping", "hung",
};
static const char *const stream_names[STREAM_COUNT] = { "stdout", "stderr" };

struct supervisor;

struct child {
	struct supervisor *supervisor;
	enum child_role role;
	pid_t pid;
	enum child_state state;
	int restarts;
	char last_exit[48];		/* "exit 1", "signal SIGKILL"; "" before the first exit */
	time_t started_at;
	time_t next_start_at;		/* in backoff */
	time_t restart_times[RESTART_HISTORY];
	int restart_count_window;
	int backoff_ms;
	char cause[96];			/* why the process last stopped: "exit 1", "hung: no heartbeat for 3 s" */

	uint64_t exited_ns;		/* CLOCK_MONOTONIC time the previous instance was reaped */
	uint64_t heartbeat_sent;	/* sequence of the latest heartbeat */
	uint64_t heartbeat_acked;
	uint64_t last_ack_ns;		/* CLOCK_MONOTONIC time of the latest answer */

	struct bufferevent *channel;	/* proto.h frames, or adapter lines */
	struct bufferevent *log_pipe;	/* a worker's stderr */
	int stream_fd[STREAM_COUNT];	/* the adapter's stdout and stderr */
	struct event *stream_event[STREAM_COUNT];
	struct event *restart_timer;

	/* Adapter only. */
	char health[16];
	char health_detail[128];
	struct json_object *info;
};

enum event_stage {
	STAGE_RECALL = 0,	/* waiting for MSG_RECALL_RESULT */
	STAGE_RENDER,		/* waiting for MSG_RENDERED */
	STAGE_DELIVER,		/* waiting for the adapter's delivered/failed */
};

/* One detection on its way through recall, the operator and the adapter. */
struct pipeline_event {
	uint64_t id;
	enum event_stage stage;
	struct msg_detection detection;
	char intervention[MSG_TEXT_MAX];
	struct control_client *client;	/* test-intervention request, or NULL */
	struct pipeline_event *next;
};

/* A connection on the control socket. */
struct control_client {
	struct supervisor *supervisor;
	struct bufferevent *bev;
	uint64_t request_id;		/* pending analyze request, 0 when none */
	int detected;
	struct msg_detection detection;
	char intervention[MSG_TEXT_MAX];
	int closing;
	struct control_client *next;
};

struct supervisor {
	const struct supervisor_options *options;
	struct event_base *base;
	struct child children[ROLE_COUNT];
	struct ring *rings[STREAM_COUNT];
	int stream_paused[STREAM_COUNT];
	uint64_t last_arrival_ns[STREAM_COUNT];
	struct controller *controller;
	struct metrics *metrics;
	struct http_server *http;
	time_t last_intervention;

	char self_exe[PATH_MAX];
	char socket_path[PATH_MAX];
	char lock_path[PATH_MAX];
	int lock_fd;
	struct evconnlistener *listener;
	struct control_client *clients;
	struct event *signal_events[5];
	struct event *stop_timer;
	struct event *heartbeat_timer;
	uint64_t detected_through[STREAM_COUNT];	/* highest line end already detected */
	int restarting;

	struct pipeline_event *events;
	uint64_t next_id;
	time_t started_at;
	int announced;
	int stopping;
	int forced;
	int exit_status;
	time_t stop_deadline;
};

static int child_spawn(struct child *child);
static void child_stop_next(struct supervisor *supervisor);
static void supervisor_shutdown(struct supervisor *supervisor, int status, int timeout, int force);
static void pipeline_advance(struct supervisor *supervisor, struct pipeline_event *event);
static void control_client_reply(struct control_client *client, struct json_object *reply);
static struct json_object *control_error(const char *message);

static uint64_t
monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

static const char *
child_name(const struct child *child)
{
	return role_names[child->role];
}

static int
child_running(const struct child *child)
{
	return child->state == CHILD_STARTING || child->state == CHILD_READY ||
	    child->state == CHILD_STOPPING || child->state == CHILD_HUNG;
}

/* ---- instance lock and control socket ---- */

/*
 * Takes the flock on CAKE_HOME/cake.lock and writes our pid into it. The
 * kernel releases the lock when the process dies, so a crashed instance does
 * not block the next start.
 */
static int
supervisor_lock(struct supervisor *supervisor)
{
	const char *home = supervisor->options->cake_home;
	char pid_text[32];
	int fd, n;

	if (paths_join(supervisor->lock_path, sizeof supervisor->lock_path, home, "cake.lock") < 0)
		return -1;
	fd = open(supervisor->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		cmd_error("cannot open %s: %s", supervisor->lock_path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char held[32] = "";
		ssize_t got = pread(fd, held, sizeof held - 1, 0);

		held[got > 0 ? got : 0] = '\0';
		held[strcspn(held, "\n")] = '\0';
		cmd_error("already running (pid %s) with CAKE_HOME %s; stop it with `cake stop`",
		    held[0] != '\0' ? held : "unknown", home);
		close(fd);
		return 1;
	}

	n = snprintf(pid_text, sizeof pid_text, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid_text, (size_t)n, 0) != n) {
		cmd_error("cannot write %s: %s", supervisor->lock_path, strerror(errno));
		close(fd);
		return -1;
	}
	supervisor->lock_fd = fd;
	return 0;
}

static void control_accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
    struct sockaddr *address, int length, void *arg);

static int
supervisor_listen(struct supervisor *supervisor)
{
	struct sockaddr_un address;
	mode_t old_mask;

	if (paths_join(supervisor->socket_path, sizeof supervisor->socket_path,
	    supervisor->options->cake_home, CONTROL_SOCKET_NAME) < 0 ||
	    strlen(supervisor->socket_path) >= sizeof address.sun_path) {
		log_error("control socket path in %s is too long for a Unix socket; use a shorter CAKE_HOME",
		    supervisor->options->cake_home);
		return -1;
	}

	/* We hold the lock, so a socket file still here was left by a dead instance. */
	if (unlink(supervisor->socket_path) == 0)
		log_info("removed the stale control socket %s", supervisor->socket_path);

	memset(&address, 0, sizeof address);
	address.sun_family = AF_UNIX;
	strcpy(address.sun_path, supervisor->socket_path);

	old_mask = umask(0077);
	supervisor->listener = evconnlistener_new_bind(supervisor->base, control_accept_cb, supervisor,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&address, sizeof address);
	umask(old_mask);
	if (supervisor->listener == NULL) {
		log_error("cannot listen on %s: %s", supervisor->socket_path, strerror(errno));
		return -1;
	}
	chmod(supervisor->socket_path, 0600);
	return 0;
}

/* ---- process spawning ---- */

/* Moves FD to a number of at least 10, so the dup2() calls that follow never clobber a source. */
static int
move_high(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

/*
 * Child side of fork(): resets signals, arranges the fds, and execs. Never
 * returns. MAP lists (source, target) pairs.
 */
static void
child_exec(pid_t parent, int is_adapter, const int map[][2], int map_count,
    const char *path, char *const argv[])
{
	struct sigaction action;
	sigset_t all;
	int devnull;
	int high[8][2];

	memset(&action, 0, sizeof action);
	action.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &action, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	/*
	 * A SIGKILLed supervisor must not leave processes behind. The adapter
	 * gets SIGTERM so it can stop its agent's process group first.
	 */
	prctl(PR_SET_PDEATHSIG, is_adapter ? SIGTERM : SIGKILL);
	if (getppid() != parent)
		_exit(EXIT_INTERNAL);
	if (is_adapter)
		setpgid(0, 0);

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < map_count; i++) {
		high[i][0] = move_high(map[i][0]);
		high[i][1] = map[i][1];
	}
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	for (int i = 0; i < map_count; i++) {
		if (high[i][0] < 0 || dup2(high[i][0], high[i][1]) < 0)
			_exit(EXIT_INTERNAL);
	}
	close_range(CAKE_RING_STDERR_FD + 1, ~0u, 0);

	execv(path, argv);
	dprintf(STDERR_FILENO, "cake: cannot execute %s: %s\n", path, strerror(errno));
	_exit(127);
}

static void child_channel_read_cb(struct bufferevent *bev, void *arg);
static void adapter_channel_read_cb(struct bufferevent *bev, void *arg);
static void child_channel_event_cb(struct bufferevent *bev, short events, void *arg);
static void child_log_read_cb(struct bufferevent *bev, void *arg);
static void child_log_event_cb(struct bufferevent *bev, short events, void *arg);
static void adapter_stream_cb(evutil_socket_t fd, short events, void *arg);

static int
child_spawn(struct child *child)
{
	struct supervisor *supervisor = child->supervisor;
	int is_adapter = child->role == ROLE_ADAPTER;
	int channel[2] = { -1, -1 };
	int out[STREAM_COUNT][2] = { { -1, -1 }, { -1, -1 } };
	int map[8][2];
	int map_count = 0;
	char *argv[64];
	const char *path;
	sigset_t all, old;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) < 0)
		goto fail;
	for (int i = 0; i < (is_adapter ? STREAM_COUNT : 1); i++) {
		if (pipe2(out[i], O_CLOEXEC) < 0)
			goto fail;
	}

	if (is_adapter) {
		size_t argc = 0;

		path = supervisor->options->adapter_path;
		argv[argc++] = (char *)path;
		for (size_t i = 0; supervisor->options->adapter_args[i] != NULL && argc < 63; i++)
			argv[argc++] = supervisor->options->adapter_args[i];
		argv[argc] = NULL;
		map[map_count][0] = out[STREAM_STDOUT][1];
		map[map_count++][1] = STDOUT_FILENO;
		map[map_count][0] = out[STREAM_STDERR][1];
		map[map_count++][1] = STDERR_FILENO;
	} else {
		static char title[ROLE_COUNT][32];

		snprintf(title[child->role], sizeof title[child->role], "cake: %s", child_name(child));
		path = supervisor->self_exe;
		argv[0] = title[child->role];
		argv[1] = NULL;
		if (child->role == ROLE_RECALL)
			argv[1] = (char *)supervisor->options->config->database_path;
		else if (child->role == ROLE_WATCHDOG && supervisor->options->config->source[0] != '\0')
			argv[1] = (char *)supervisor->options->config->source;
		argv[2] = NULL;
		/* A worker's stdout and stderr both go to the log pipe. */
		map[map_count][0] = out[0][1];
		map[map_count++][1] = STDOUT_FILENO;
		map[map_count][0] = out[0][1];
		map[map_count++][1] = STDERR_FILENO;
	}
	map[map_count][0] = channel[1];
	map[map_count++][1] = CAKE_CHANNEL_FD;
	if (child->role == ROLE_WATCHDOG) {
		map[map_count][0] = ring_fd(supervisor->rings[STREAM_STDOUT]);
		map[map_count++][1] = CAKE_RING_STDOUT_FD;
		map[map_count][0] = ring_fd(supervisor->rings[STREAM_STDERR]);
		map[map_count++][1] = CAKE_RING_STDERR_FD;
	}

	/* Signals stay blocked across fork() so no handler runs in the child. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_exec(getppid(), is_adapter, (const int (*)[2])map, map_count, path, argv);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		goto fail;

	if (is_adapter)
		setpgid(pid, pid);	/* also in the parent, so a kill of the group never races the child */

	close(channel[1]);
	child->pid = pid;
	child->state = CHILD_STARTING;
	child->started_at = time(NULL);
	child->next_start_at = 0;
	child->heartbeat_sent = 0;
	child->heartbeat_acked = 0;
	child->last_ack_ns = monotonic_ns();

	evutil_make_socket_nonblocking(channel[0]);
	child->channel = bufferevent_socket_new(supervisor->base, channel[0], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(child->channel, is_adapter ? adapter_channel_read_cb : child_channel_read_cb,
	    NULL, child_channel_event_cb, child);
	bufferevent_enable(child->channel, EV_READ);

	if (is_adapter) {
		for (int i = 0; i < STREAM_COUNT; i++) {
			close(out[i][1]);
			evutil_make_socket_nonblocking(out[i][0]);
			child->stream_fd[i] = out[i][0];
			child->stream_event[i] = event_new(supervisor->base, out[i][0], EV_READ | EV_PERSIST,
			    adapter_stream_cb, child);
			if (!supervisor->stream_paused[i])
				event_add(child->stream_event[i], NULL);
		}
		strcpy(child->health, "starting");
		child->health_detail[0] = '\0';
		json_object_put(child->info);
		child->info = json_object_new_object();
	} else {
		close(out[0][1]);
		evutil_make_socket_nonblocking(out[0][0]);
		child->log_pipe = bufferevent_socket_new(supervisor->base, out[0][0], BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(child->log_pipe, child_log_read_cb, NULL, child_log_event_cb, child);
		bufferevent_enable(child->log_pipe, EV_READ);
	}

	log_info("started %s (pid %ld)", child_name(child), (long)pid);
	return 0;

fail:
	log_error("cannot start %s: %s", child_name(child), strerror(errno));
	if (channel[0] >= 0) {
		close(channel[0]);
		close(channel[1]);
	}
	for (int i = 0; i < STREAM_COUNT; i++) {
		if (out[i][0] >= 0) {
			close(out[i][0]);
			close(out[i][1]);
		}
	}
	return -1;
}

/* Sends SIGNAL to a child; the adapter gets it as a process group, with its agent. */
static void
child_kill(struct child *child, int sig)
{
	if (child->pid <= 0)
		return;
	if (child->role == ROLE_ADAPTER && kill(-child->pid, sig) == 0)
		return;
	kill(child->pid, sig);
}

/* ---- worker channels and logs ---- */

static void
child_log_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer *input = bufferevent_get_input(bev);
	char *line;
	size_t length;

	while ((line = evbuffer_readln(input, &length, EVBUFFER_EOL_LF)) != NULL) {
		log_write_line(line, length);
		free(line);
	}
}

/* Copies the last unterminated line of a worker that exited, then closes the pipe. */
static void
child_log_close(struct child *child)
{
	struct evbuffer *input;
	size_t length;

	if (child->log_pipe == NULL)
		return;
	bufferevent_read_buffer(child->log_pipe, bufferevent_get_input(child->log_pipe));
	child_log_read_cb(child->log_pipe, child);
	input = bufferevent_get_input(child->log_pipe);
	length = evbuffer_get_length(input);
	if (length > 0) {
		char *rest = (char *)evbuffer_pullup(input, -1);

		log_write_line(rest, length);
	}
	bufferevent_free(child->log_pipe);
	child->log_pipe = NULL;
}

static void
child_log_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct child *child = arg;

	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		child_log_close(child);
}

static void
child_channel_close(struct child *child)
{
	if (child->channel == NULL)
		return;
	bufferevent_free(child->channel);
	child->channel = NULL;
}

static void
child_channel_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct child *child = arg;

	/* The peer is gone. The SIGCHLD handler records why and applies the restart policy. */
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		child_channel_close(child);
}

static int
child_send(struct child *child, enum msg_type type, uint64_t id, const void *payload, size_t length)
{
	if (child->state != CHILD_READY || child->channel == NULL)
		return -1;
	if (ipc_send(bufferevent_getfd(child->channel), type, id, payload, length) < 0) {
		log_warn("cannot send %s to %s: %s", msg_type_name(type), child_name(child), strerror(errno));
		return -1;
	}
	return 0;
}

static int
adapter_send(struct child *child, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
adapter_send(struct child *child, const char *fmt, ...)
{
	char line[ADAPTER_LINE_MAX];
	va_list ap;
	int n;

	if (child->channel == NULL)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line - 1)
		return -1;
	for (int i = 0; i < n; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
	line[n++] = '\n';
	return bufferevent_write(child->channel, line, (size_t)n);
}

/* ---- readiness ---- */

static void
supervisor_announce(struct supervisor *supervisor)
{
	const struct child *adapter = &supervisor->children[ROLE_ADAPTER];

	if (supervisor->announced || supervisor->stopping)
		return;
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (supervisor->children[i].state != CHILD_READY)
			return;
	}
	if (strcmp(adapter->health, "starting") == 0)
		return;

	supervisor->announced = 1;
	printf("CAKE Status: RUNNING\n");
	printf("Adapter: %s (%s)\n", supervisor->options->adapter_name, adapter->health);
	printf("Monitoring streams: stdout, stderr\n");
	if (supervisor->options->config->metrics_port > 0)
		printf("Metrics: http://%s:%d/metrics\n", supervisor->options->config->http_address,
		    supervisor->options->config->metrics_port);
	if (supervisor->options->config->health_port > 0)
		printf("Health: http://%s:%d/health\n", supervisor->options->config->http_address,
		    supervisor->options->config->health_port);
	printf("Control socket: %s\n", supervisor->socket_path);
	fflush(stdout);
	log_info("all processes ready");
}

static void
pipeline_resend(struct supervisor *supervisor, enum event_stage stage)
{
	for (struct pipeline_event *event = supervisor->events; event != NULL; event = event->next) {
		if (event->stage == stage)
			pipeline_advance(supervisor, event);
	}
}

static void
stream_notify(struct supervisor *supervisor, enum stream_id stream)
{
	struct msg_ring_data data;

	memset(&data, 0, sizeof data);
	data.stream = stream;
	data.position = ring_write_position(supervisor->rings[stream]);
	data.arrived_ns = supervisor->last_arrival_ns[stream];
	child_send(&supervisor->children[ROLE_WATCHDOG], MSG_RING_DATA, 0, &data, sizeof data);
}

static void
child_ready(struct child *child)
{
	struct supervisor *supervisor = child->supervisor;

	child->state = CHILD_READY;
	child->last_ack_ns = monotonic_ns();
	if (child->exited_ns != 0)
		log_info("%s ready (pid %ld), %.2f ms after its predecessor exited", child_name(child),
		    (long)child->pid, (double)(child->last_ack_ns - child->exited_ns) / 1e6);
	else
		log_info("%s ready (pid %ld)", child_name(child), (long)child->pid);
	child->exited_ns = 0;

	switch (child->role) {
	case ROLE_WATCHDOG:
		/* Bytes that arrived while no watchdog ran are waiting in the rings. */
		for (int i = 0; i < STREAM_COUNT; i++) {
			if (ring_used(supervisor->rings[i]) > 0)
				stream_notify(supervisor, (enum stream_id)i);
		}
		break;
	case ROLE_RECALL:
		pipeline_resend(supervisor, STAGE_RECALL);
		break;
	case ROLE_OPERATOR:
		pipeline_resend(supervisor, STAGE_RENDER);
		break;
	case ROLE_ADAPTER:
		pipeline_resend(supervisor, STAGE_DELIVER);
		break;
	default:
		break;
	}
	supervisor_announce(supervisor);
}

static int
worker_hello(struct child *child, const struct msg_hello *hello)
{
	struct supervisor *supervisor = child->supervisor;
	struct msg_welcome welcome;

	if (hello->proto_version != CAKE_PROTO_VERSION) {
		log_error("%s speaks protocol %u, expected %u", child_name(child), hello->proto_version,
		    CAKE_PROTO_VERSION);
		return -1;
	}
	if (strncmp(hello->role, child_name(child), sizeof hello->role) != 0) {
		log_error("process started as %s introduced itself as '%.*s'", child_name(child),
		    (int)sizeof hello->role, hello->role);
		return -1;
	}

	memset(&welcome, 0, sizeof welcome);
	welcome.proto_version = CAKE_PROTO_VERSION;
	welcome.log_level = (int32_t)log_get_level();
	welcome.strictness = (int32_t)supervisor->options->config->strictness;
	welcome.ttl_hours = supervisor->options->config->ttl_hours;
	child->state = CHILD_READY;
	if (child_send(child, MSG_WELCOME, 0, &welcome, sizeof welcome) < 0)
		return -1;
	child_ready(child);
	return 0;
}

/* ---- the pipeline ---- */

static struct pipeline_event *
pipeline_find(struct supervisor *supervisor, uint64_t id)
{
	for (struct pipeline_event *event = supervisor->events; event != NULL; event = event->next) {
		if (event->id == id)
			return event;
	}
	return NULL;
}

static void
pipeline_remove(struct supervisor *supervisor, struct pipeline_event *event)
{
	struct pipeline_event **link = &supervisor->events;

	while (*link != NULL && *link != event)
		link = &(*link)->next;
	if (*link == event)
		*link = event->next;
	free(event);

	if (supervisor->events == NULL)
		controller_transition(supervisor->controller, CONTROLLER_MONITORING);
}

/* Sends EVENT to the process its stage waits on; a missing process gets it when ready. */
static void
pipeline_advance(struct supervisor *supervisor, struct pipeline_event *event)
{
	struct child *adapter = &supervisor->children[ROLE_ADAPTER];

	switch (event->stage) {
	case STAGE_RECALL:
		child_send(&supervisor->children[ROLE_RECALL], MSG_RECALL_RECORD, event->id,
		    &event->detection, sizeof event->detection);
		break;
	case STAGE_RENDER:
		child_send(&supervisor->children[ROLE_OPERATOR], MSG_RENDER, event->id,
		    &event->detection, sizeof event->detection);
		break;
	case STAGE_DELIVER:
		if (adapter->state == CHILD_READY)
			adapter_send(adapter, "intervene %llu %s", (unsigned long long)event->id,
			    event->intervention);
		break;
	}
}

static struct pipeline_event *
pipeline_add(struct supervisor *supervisor, const struct msg_detection *detection, enum event_stage stage)
{
	struct pipeline_event *event = calloc(1, sizeof *event);

	if (event == NULL) {
		log_error("out of memory; dropping the %s detection", detection->error_type);
		return NULL;
	}
	event->id = ++supervisor->next_id;
	event->stage = stage;
	event->detection = *detection;
	event->next = supervisor->events;
	supervisor->events = event;
	return event;
}

static void
pipeline_detection(struct supervisor *supervisor, const struct msg_detection *detection)
{
	struct pipeline_event *event;
	double elapsed_ms = 0;

	if (detection->arrived_ns > 0) {
		elapsed_ms = (double)(monotonic_ns() - detection->arrived_ns) / 1e6;
		metrics_observe_latency(supervisor->metrics, "watchdog", "detect", elapsed_ms / 1e3);
	}

	/* The event goes to recall before the log lines are written: logging is off the critical path. */
	event = pipeline_add(supervisor, detection, STAGE_RECALL);
	if (event != NULL)
		pipeline_advance(supervisor, event);

	controller_count_detection(supervisor->controller);
	controller_transition(supervisor->controller, CONTROLLER_DETECTING);
	log_at(LOG_LEVEL_INFO, "validator", "Classified error as %s (confidence: %.2f)",
	    detection->error_type, detection->confidence);
	log_info("Detected %s on %s in %.1f ms: %s", detection->error_type,
	    stream_names[detection->stream % STREAM_COUNT], elapsed_ms, detection->excerpt);
}

/*
 * Records the escalation of EVENT's signature in recall.db and sends it to
 * the adapter, which may stop the agent. Called once per signature.
 */
static void
pipeline_escalate(struct supervisor *supervisor, struct pipeline_event *event, int strikes)
{
	struct child *adapter = &supervisor->children[ROLE_ADAPTER];
	struct msg_violation violation;

	controller_violation(&event->detection, strikes, &violation);
	if (child_send(&supervisor->children[ROLE_RECALL], MSG_RECALL_VIOLATION, event->id,
	    &violation, sizeof violation) < 0)
		log_warn("the escalation of %.12s is not recorded in recall.db: the recall worker is not ready",
		    event->detection.signature);

	if (adapter->state == CHILD_READY)
		adapter_send(adapter, "escalate CAKE stopped the session: %s kept coming back "
		    "after %d corrections: %s", event->detection.error_type, strikes,
		    event->detection.excerpt);
}

static void
pipeline_recall_result(struct supervisor *supervisor, uint64_t id, const struct msg_recall_result *result)
{
	struct pipeline_event *event = pipeline_find(supervisor, id);
	struct controller_outcome outcome;

	if (event == NULL || event->stage != STAGE_RECALL) {
		log_debug("ignoring MSG_RECALL_RESULT for finished event %llu", (unsigned long long)id);
		return;
	}

	controller_decide_outcome(supervisor->controller, &event->detection,
	    result->occurrence_count, time(NULL), &outcome);
	if (outcome.decision != DECISION_INTERVENE) {
		log_at(LOG_LEVEL_INFO, "controller", "No intervention for %s %.12s: %s (seen %d times)",
		    event->detection.error_type, event->detection.signature,
		    controller_decision_name(outcome.decision), result->occurrence_count);
		if (outcome.decision == DECISION_ESCALATED)
			controller_transition(supervisor->controller, CONTROLLER_ESCALATING);
		if (outcome.newly_escalated)
			pipeline_escalate(supervisor, event, outcome.strikes);
		pipeline_remove(supervisor, event);
		return;
	}

	/* The operator words a repeated error differently. */
	event->detection.occurrence_count = result->occurrence_count;
	event->stage = STAGE_RENDER;
	pipeline_advance(supervisor, event);
}

static void
pipeline_rendered(struct supervisor *supervisor, uint64_t id, const struct msg_text *text)
{
	struct pipeline_event *event = pipeline_find(supervisor, id);

	if (event == NULL || event->stage != STAGE_RENDER) {
		log_debug("ignoring MSG_RENDERED for finished event %llu", (unsigned long long)id);
		return;
	}
	snprintf(event->intervention, sizeof event->intervention, "%s", text->text);
	if (text->message_type[0] != '\0')
		metrics_set_voice_similarity(supervisor->metrics, text->message_type, text->voice_score);

	if (event->client != NULL) {
		struct control_client *client = event->client;

		client->detected = 1;
		client->detection = event->detection;
		snprintf(client->intervention, sizeof client->intervention, "%s", event->intervention);
		pipeline_remove(supervisor, event);
		control_client_reply(client, NULL);
		return;
	}

	event->stage = STAGE_DELIVER;
	pipeline_advance(supervisor, event);
	controller_transition(supervisor->controller, CONTROLLER_INTERVENING);
}

static void
pipeline_delivered(struct supervisor *supervisor, uint64_t id, const char *failure)
{
	struct pipeline_event *event = pipeline_find(supervisor, id);
	struct msg_signature signature;

	if (event == NULL || event->stage != STAGE_DELIVER) {
		log_warn("adapter reported intervention %llu, which is not pending", (unsigned long long)id);
		return;
	}

	if (failure != NULL) {
		log_at(LOG_LEVEL_ERROR, "adapter", "Failed to inject intervention: %s", failure);
		metrics_count_intervention(supervisor->metrics, event->detection.error_type,
		    severity_name((enum severity)event->detection.severity), 0);
		pipeline_remove(supervisor, event);
		return;
	}

	log_at(LOG_LEVEL_INFO, "adapter", "Intervention delivered successfully");
	controller_delivered(supervisor->controller);
	metrics_count_prevented(supervisor->metrics, event->detection.error_type);
	supervisor->last_intervention = time(NULL);
	metrics_count_intervention(supervisor->metrics, event->detection.error_type,
	    severity_name((enum severity)event->detection.severity), 1);
	if (event->detection.arrived_ns > 0)
		metrics_observe_latency(supervisor->metrics, "controller", "intervene",
		    (double)(monotonic_ns() - event->detection.arrived_ns) / 1e9);
	controller_transition(supervisor->controller, CONTROLLER_RECOVERING);

	memset(&signature, 0, sizeof signature);
	snprintf(signature.signature, sizeof signature.signature, "%s", event->detection.signature);
	child_send(&supervisor->children[ROLE_RECALL], MSG_RECALL_INTERVENED, event->id,
	    &signature, sizeof signature);
	pipeline_remove(supervisor, event);
}

/* ---- messages from workers ---- */

static struct control_client *
control_client_find(struct supervisor *supervisor, uint64_t request_id)
{
	for (struct control_client *client = supervisor->clients; client != NULL; client = client->next) {
		if (client->request_id == request_id)
			return client;
	}
	return NULL;
}

static void
analyze_detection(struct supervisor *supervisor, uint64_t request_id, const struct msg_detection *detection)
{
	struct control_client *client = control_client_find(supervisor, request_id);

	/* The first error found in the text is the reply to the request. */
	if (client == NULL || client->detected)
		return;
	client->detected = 1;
	client->detection = *detection;
}

static void
analyze_done(struct supervisor *supervisor, uint64_t request_id)
{
	struct control_client *client = control_client_find(supervisor, request_id);
	struct pipeline_event *event;

	if (client == NULL)
		return;
	if (!client->detected) {
		control_client_reply(client, NULL);
		return;
	}

	client->detected = 0;
	event = pipeline_add(supervisor, &client->detection, STAGE_RENDER);
	if (event == NULL) {
		control_client_reply(client, NULL);
		return;
	}
	event->client = client;
	pipeline_advance(supervisor, event);
}

/*
 * Passes a detection from the streams into the pipeline once. A replacement
 * watchdog re-reads the lines its predecessor had not committed, so a line
 * may be detected twice. The ring position of the line identifies the repeat.
 */
static void
stream_detection(struct supervisor *supervisor, const struct msg_detection *detection)
{
	uint64_t *through;

	if (detection->stream < 0 || detection->stream >= STREAM_COUNT) {
		log_error("watchdog reported a detection on stream %d, which does not exist", detection->stream);
		return;
	}
	through = &supervisor->detected_through[detection->stream];
	if (detection->stream_offset != 0 && detection->stream_offset <= *through) {
		log_debug("dropping the repeated detection at %s offset %llu",
		    stream_names[detection->stream], (unsigned long long)detection->stream_offset);
		return;
	}
	if (detection->stream_offset > *through)
		*through = detection->stream_offset;
	pipeline_detection(supervisor, detection);
}

static int
worker_dispatch(struct child *child, const struct ipc_msg *msg)
{
	struct supervisor *supervisor = child->supervisor;
	uint16_t type = msg->header.type;

	if (type == MSG_HELLO)
		return worker_hello(child, &msg->payload.hello);
	if (child->state != CHILD_READY) {
		log_error("%s sent %s before MSG_HELLO", child_name(child), msg_type_name(type));
		return -1;
	}

	switch (type) {
	case MSG_HEARTBEAT_ACK:
		child->heartbeat_acked = msg->header.id;
		child->last_ack_ns = monotonic_ns();
		return 0;
	case MSG_RING_COMMIT:
		if (msg->payload.ring.stream < STREAM_COUNT) {
			enum stream_id stream = (enum stream_id)msg->payload.ring.stream;
			struct child *adapter = &supervisor->children[ROLE_ADAPTER];

			if (supervisor->stream_paused[stream] && ring_free(supervisor->rings[stream]) > 0) {
				supervisor->stream_paused[stream] = 0;
				if (adapter->stream_event[stream] != NULL)
					event_add(adapter->stream_event[stream], NULL);
				log_debug("%s ring has room again; reading the adapter", stream_names[stream]);
			}
		}
		return 0;
	case MSG_DETECTION:
		if (msg->header.id != 0)
			analyze_detection(supervisor, msg->header.id, &msg->payload.detection);
		else
			stream_detection(supervisor, &msg->payload.detection);
		return 0;
	case MSG_ANALYZE_DONE:
		analyze_done(supervisor, msg->header.id);
		return 0;
	case MSG_RECALL_RESULT:
		pipeline_recall_result(supervisor, msg->header.id, &msg->payload.recall_result);
		return 0;
	case MSG_RENDERED:
		pipeline_rendered(supervisor, msg->header.id, &msg->payload.text);
		return 0;
	default:
		log_error("%s sent %s, which it may not send", child_name(child), msg_type_name(type));
		return -1;
	}
}

static void
child_channel_read_cb(struct bufferevent *bev, void *arg)
{
	struct child *child = arg;
	struct ipc_msg msg;
	const char *error;
	int rc;

	while ((rc = ipc_read(bufferevent_get_input(bev), &msg, &error)) == 1) {
		log_debug("%s from %s", msg_type_name(msg.header.type), child_name(child));
		if (worker_dispatch(child, &msg) < 0) {
			rc = -1;
			error = "message rejected";
			break;
		}
	}
	if (rc < 0) {
		log_error("protocol error from %s (pid %ld): %s; killing it", child_name(child),
		    (long)child->pid, error);
		child_channel_close(child);
		child_kill(child, SIGKILL);
	}
}

/* ---- the adapter ---- */

/*
 * Records "violation TYPE PREVENTED DETAILS" from the adapter in recall.db
 * through the recall worker. A violation sent while recall restarts is
 * logged, not kept.
 */
static void
adapter_violation(struct child *child, char *rest)
{
	struct supervisor *supervisor = child->supervisor;
	struct msg_violation violation;
	char *prevented, *details;

	prevented = strchr(rest, ' ');
	if (prevented == NULL) {
		log_warn("adapter sent a violation without PREVENTED and DETAILS; ignoring it");
		return;
	}
	*prevented++ = '\0';
	details = strchr(prevented, ' ');
	if (details != NULL)
		*details++ = '\0';

	memset(&violation, 0, sizeof violation);
	snprintf(violation.pattern_type, sizeof violation.pattern_type, "%s", rest);
	snprintf(violation.details, sizeof violation.details, "%s", details != NULL ? details : "");
	violation.prevented = strcmp(prevented, "1") == 0;
	log_at(LOG_LEVEL_INFO, "adapter", "violation %s (%s): %s", violation.pattern_type,
	    violation.prevented ? "prevented" : "allowed", violation.details);
	if (child_send(&supervisor->children[ROLE_RECALL], MSG_RECALL_VIOLATION, ++supervisor->next_id,
	    &violation, sizeof violation) < 0)
		log_warn("violation %s is not recorded in recall.db: the recall worker is not ready",
		    violation.pattern_type);
}

static void
adapter_line(struct child *child, char *line)
{
	struct supervisor *supervisor = child->supervisor;
	char *rest = strchr(line, ' ');
	const char *verb = line;

	if (rest != NULL)
		*rest++ = '\0';
	else
		rest = line + strlen(line);

	if (strcmp(verb, "hello") == 0) {
		long version = strtol(rest, &rest, 10);

		if (version != ADAPTER_PROTO_VERSION) {
			log_error("adapter speaks protocol %ld, expected %d; killing it", version,
			    ADAPTER_PROTO_VERSION);
			child_kill(child, SIGKILL);
			return;
		}
		adapter_send(child, "welcome %d", ADAPTER_PROTO_VERSION);
		child_ready(child);
		return;
	}
	if (child->state != CHILD_READY && child->state != CHILD_STOPPING) {
		log_error("adapter sent '%s' before hello", verb);
		return;
	}

	if (strcmp(verb, "health") == 0) {
		char *detail = strchr(rest, ' ');

		if (detail != NULL)
			*detail++ = '\0';
		snprintf(child->health, sizeof child->health, "%s", rest);
		snprintf(child->health_detail, sizeof child->health_detail, "%s", detail ? detail : "");
		log_at(LOG_LEVEL_INFO, "adapter", "health %s%s%s", child->health, detail ? ": " : "",
		    detail ? detail : "");
		supervisor_announce(supervisor);
	} else if (strcmp(verb, "info") == 0) {
		char *value = strchr(rest, ' ');

		if (value != NULL)
			*value++ = '\0';
		json_object_object_add(child->info, rest, json_object_new_string(value ? value : ""));
	} else if (strcmp(verb, "log") == 0) {
		char *message = strchr(rest, ' ');
		enum log_level level = LOG_LEVEL_INFO;

		if (message != NULL)
			*message++ = '\0';
		log_level_parse(rest, &level);
		log_at(level, "adapter", "%s", message ? message : "");
	} else if (strcmp(verb, "delivered") == 0) {
		pipeline_delivered(supervisor, strtoull(rest, NULL, 10), NULL);
	} else if (strcmp(verb, "failed") == 0) {
		char *reason = strchr(rest, ' ');

		pipeline_delivered(supervisor, strtoull(rest, NULL, 10), reason ? reason + 1 : "no reason given");
	} else if (strcmp(verb, "violation") == 0) {
		adapter_violation(child, rest);
	} else if (strcmp(verb, "pong") == 0) {
		child->heartbeat_acked = strtoull(rest, NULL, 10);
		child->last_ack_ns = monotonic_ns();
	} else {
		log_warn("adapter sent unknown message '%s'; ignoring it", verb);
	}
}

static void
adapter_channel_read_cb(struct bufferevent *bev, void *arg)
{
	struct child *child = arg;
	struct evbuffer *input = bufferevent_get_input(bev);
	char *line;
	size_t length;

	while ((line = evbuffer_readln(input, &length, EVBUFFER_EOL_LF)) != NULL) {
		if (length >= ADAPTER_LINE_MAX)
			log_error("adapter sent a %zu-byte line, longer than %d; ignoring it", length,
			    ADAPTER_LINE_MAX);
		else
			adapter_line(child, line);
		free(line);
	}
	if (evbuffer_get_length(input) >= ADAPTER_LINE_MAX) {
		log_error("adapter sent more than %d bytes without a newline; discarding them", ADAPTER_LINE_MAX);
		evbuffer_drain(input, evbuffer_get_length(input));
	}
}

static void
adapter_stream_close(struct child *child, int stream)
{
	if (child->stream_event[stream] != NULL) {
		event_free(child->stream_event[stream]);
		child->stream_event[stream] = NULL;
	}
	if (child->stream_fd[stream] >= 0) {
		close(child->stream_fd[stream]);
		child->stream_fd[stream] = -1;
	}
}

/*
 * Moves the adapter's output into the ring and notifies the watchdog. A full
 * ring stops the reading, so the agent blocks on its pipe until the watchdog
 * commits, unless supervision.ring_full is drop: then the output that does
 * not fit is read, discarded and counted in the ring's drop counter.
 */
static void
adapter_stream_cb(evutil_socket_t fd, short events, void *arg)
{
	struct child *child = arg;
	struct supervisor *supervisor = child->supervisor;
	enum stream_id stream = fd == child->stream_fd[STREAM_STDOUT] ? STREAM_STDOUT : STREAM_STDERR;
	struct ring *ring = supervisor->rings[stream];
	int dropping = supervisor->options->config->supervision.ring_full == RING_FULL_DROP;
	char buffer[STREAM_READ_MAX];
	size_t room = ring_free(ring);
	size_t want = sizeof buffer, written;
	ssize_t n;

	if (room == 0 && !dropping) {
		event_del(child->stream_event[stream]);
		supervisor->stream_paused[stream] = 1;
		log_debug("%s ring full; pausing the adapter's output", stream_names[stream]);
		return;
	}
	if (!dropping && room < want)
		want = room;

	n = read(fd, buffer, want);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		adapter_stream_close(child, stream);
		return;
	}

	written = ring_write(ring, buffer, (size_t)n);
	if (written < (size_t)n) {
		ring_add_drops(ring, (uint64_t)n - written);
		log_debug("%s ring full; dropped %zu bytes", stream_names[stream], (size_t)n - written);
	}
	supervisor->last_arrival_ns[stream] = monotonic_ns();
	if (written > 0)
		stream_notify(supervisor, stream);

	/* The agent's output is also copied to the terminal or log of `cake start`. */
	if (write(stream == STREAM_STDOUT ? STDOUT_FILENO : STDERR_FILENO, buffer, (size_t)n) < 0)
		log_debug("cannot echo the agent's %s: %s", stream_names[stream], strerror(errno));
}

/* ---- exits and restarts ---- */

static void
describe_exit(int status, char *out, size_t size)
{
	if (WIFEXITED(status))
		snprintf(out, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, size, "signal SIG%s", sigabbrev_np(WTERMSIG(status)) ?
		    sigabbrev_np(WTERMSIG(status)) : "UNKNOWN");
	else
		snprintf(out, size, "status %d", status);
}

static void
restart_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct child *child = arg;

	if (child->supervisor->stopping || child->state != CHILD_BACKOFF)
		return;
	if (child_spawn(child) < 0)
		child->state = CHILD_FAILED;
}

/* Returns 1 when POLICY calls for a restart after an exit with STATUS. */
static int
policy_restarts(enum restart_policy policy, int status)
{
	switch (policy) {
	case RESTART_ALWAYS:
		return 1;
	case RESTART_ON_FAILURE:
		return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	case RESTART_NEVER:
		return 0;
	}
	return 0;
}

/*
 * Exit statuses with which an adapter reports that it cannot run its agent
 * at all (docs/adapters.md): bad arguments (64), an adapter failure (70),
 * a command that cannot be executed (126) or found (127). Restarting
 * cannot help.
 */
static int
adapter_cannot_run(int status)
{
	if (!WIFEXITED(status))
		return 0;
	switch (WEXITSTATUS(status)) {
	case 64:
	case 70:
	case 126:
	case 127:
		return 1;
	default:
		return 0;
	}
}

/*
 * Marks CHILD failed for good and lets the controller react: a worker
 * leaves CAKE degraded, an adapter escalates. When STOP is set the tree
 * stops with EXIT_GAVE_UP, because there is no agent left to supervise.
 */
static void
child_give_up(struct child *child, const char *why, int stop)
{
	struct supervisor *supervisor = child->supervisor;

	child->state = CHILD_FAILED;
	log_error("%s gave up: %s (last cause: %s)", child_name(child), why, child->cause);
	if (child->role != ROLE_ADAPTER) {
		log_warn("running degraded without the %s", child_name(child));
		return;
	}

	controller_transition(supervisor->controller, CONTROLLER_ESCALATING);
	if (stop) {
		log_error("no agent left to supervise; stopping CAKE");
		supervisor_shutdown(supervisor, EXIT_GAVE_UP, STOP_TIMEOUT_DEFAULT, 0);
	}
}

/*
 * Applies the restart policy to a child that exited while CAKE runs: a
 * restart after a backoff, or a stop when the policy or the restart limit
 * requires one.
 */
static void
child_schedule_restart(struct child *child, int status)
{
	struct supervisor *supervisor = child->supervisor;
	const struct supervision_config *policy = &supervisor->options->config->supervision;
	time_t now = time(NULL);
	int recent = 0, limit;
	int delay_ms;
	struct timeval delay;

	if (child->role == ROLE_ADAPTER && adapter_cannot_run(status)) {
		child_give_up(child, "it cannot run its agent", 1);
		return;
	}
	if (!policy_restarts(policy->restart[child->role], status)) {
		if (child->role == ROLE_ADAPTER && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			log_info("the agent is done; stopping CAKE");
			child->state = CHILD_STOPPED;
			supervisor_shutdown(supervisor, EXIT_OK, STOP_TIMEOUT_DEFAULT, 0);
			return;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			child->state = CHILD_STOPPED;
			log_warn("%s exited and its policy %s does not restart it", child_name(child),
			    restart_policy_name(policy->restart[child->role]));
			return;
		}
		/* An agent that failed under a policy that never restarts it is finished. */
		child_give_up(child, "its restart policy does not restart it after a failure", 1);
		return;
	}

	/* A child that ran healthy for a while starts its backoff over. */
	if (now - child->started_at >= policy->healthy_reset_seconds)
		child->backoff_ms = 0;

	limit = policy->restart_limit < RESTART_HISTORY ? policy->restart_limit : RESTART_HISTORY;
	for (int i = 0; i < RESTART_HISTORY; i++) {
		if (child->restart_times[i] != 0 && now - child->restart_times[i] < policy->restart_window_seconds)
			recent++;
	}
	if (recent >= limit) {
		char why[96];

		snprintf(why, sizeof why, "%d restarts within %d s", recent, policy->restart_window_seconds);
		/* Stay up after a crash loop: status and health then show the failure to an operator. */
		child_give_up(child, why, 0);
		return;
	}

	delay_ms = child->backoff_ms;
	child->backoff_ms = child->backoff_ms == 0 ? policy->backoff_initial_ms : child->backoff_ms * 2;
	if (child->backoff_ms > policy->backoff_max_ms)
		child->backoff_ms = policy->backoff_max_ms;
	if (delay_ms > 0)
		delay_ms += rand() % (delay_ms / 10 + 1);	/* jitter spreads simultaneous restarts */

	child->restart_times[child->restart_count_window++ % RESTART_HISTORY] = now;
	child->restarts++;
	child->state = CHILD_BACKOFF;
	child->next_start_at = now + (delay_ms + 999) / 1000;
	log_warn("restarting %s in %d ms (cause: %s, restart %d)", child_name(child), delay_ms,
	    child->cause, child->restarts);

	delay.tv_sec = delay_ms / 1000;
	delay.tv_usec = (delay_ms % 1000) * 1000;
	if (child->restart_timer == NULL)
		child->restart_timer = evtimer_new(supervisor->base, restart_timer_cb, child);
	evtimer_add(child->restart_timer, &delay);
}

/* Replies with an error to the test-intervention requests that waited on a watchdog that is gone. */
static void
analyze_abandon(struct supervisor *supervisor)
{
	struct control_client *client, *next;

	for (client = supervisor->clients; client != NULL; client = next) {
		next = client->next;
		if (client->request_id == 0 || client->closing)
			continue;
		client->request_id = 0;
		control_client_reply(client, control_error("the watchdog restarted during the request; try again"));
	}
}

static void
child_exited(struct child *child, int status)
{
	struct supervisor *supervisor = child->supervisor;
	int was_hung = child->state == CHILD_HUNG;

	describe_exit(status, child->last_exit, sizeof child->last_exit);
	child->exited_ns = monotonic_ns();
	if (!was_hung)
		snprintf(child->cause, sizeof child->cause, "%s", child->last_exit);
	child_log_close(child);
	child_channel_close(child);
	if (child->role == ROLE_WATCHDOG)
		analyze_abandon(supervisor);
	if (child->role == ROLE_ADAPTER) {
		/* Output still in the pipes belongs to the stream. */
		for (int i = 0; i < STREAM_COUNT; i++) {
			if (child->stream_fd[i] >= 0 && !supervisor->stream_paused[i])
				adapter_stream_cb(child->stream_fd[i], EV_READ, child);
			adapter_stream_close(child, i);
		}
		/* Whatever the adapter left in its group goes with it. */
		kill(-child->pid, SIGKILL);
	}

	if (supervisor->stopping || supervisor->restarting) {
		log_info("%s (pid %ld) stopped (%s)", child_name(child), (long)child->pid, child->last_exit);
		child->pid = 0;
		child->state = CHILD_STOPPED;
		child_stop_next(supervisor);
		return;
	}

	if (child->role == ROLE_ADAPTER && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("adapter (pid %ld) finished: %s", (long)child->pid, child->last_exit);
	else
		log_warn("%s (pid %ld) exited unexpectedly: %s", child_name(child), (long)child->pid,
		    child->cause);
	child->pid = 0;
	child_schedule_restart(child, status);
}

/* ---- heartbeats ---- */

/*
 * Sends a heartbeat to every ready process and kills the ones that missed
 * too many, or that never completed their handshake: a stopped, spinning or
 * blocked process is alive to waitpid() but useless to the pipeline.
 */
static void
heartbeat_cb(evutil_socket_t fd, short events, void *arg)
{
	struct supervisor *supervisor = arg;
	const struct supervision_config *policy = &supervisor->options->config->supervision;
	uint64_t now = monotonic_ns();
	uint64_t limit_ns = (uint64_t)policy->heartbeat_interval_ms * (uint64_t)policy->heartbeat_misses * 1000000ull;

	if (supervisor->stopping || supervisor->restarting)
		return;

	for (int i = 0; i < ROLE_COUNT; i++) {
		struct child *child = &supervisor->children[i];
		uint64_t silent_ns = now - child->last_ack_ns;

		if (child->state == CHILD_STARTING && silent_ns > HANDSHAKE_TIMEOUT_SECONDS * 1000000000ull) {
			snprintf(child->cause, sizeof child->cause, "hung: no handshake within %d s",
			    HANDSHAKE_TIMEOUT_SECONDS);
		} else if (child->state == CHILD_READY && silent_ns > limit_ns) {
			snprintf(child->cause, sizeof child->cause, "hung: no heartbeat for %.1f s",
			    (double)silent_ns / 1e9);
		} else {
			if (child->state == CHILD_READY) {
				child->heartbeat_sent++;
				if (child->role == ROLE_ADAPTER)
					adapter_send(child, "ping %llu", (unsigned long long)child->heartbeat_sent);
				else
					child_send(child, MSG_HEARTBEAT, child->heartbeat_sent, NULL, 0);
			}
			continue;
		}

		log_error("%s (pid %ld) is %s; killing it", child_name(child), (long)child->pid, child->cause);
		child->state = CHILD_HUNG;
		child_kill(child, SIGKILL);
	}
}

static void
sigchld_cb(evutil_socket_t fd, short events, void *arg)
{
	struct supervisor *supervisor = arg;
	int status;
	pid_t pid;

	/* As a subreaper we also collect orphans of our children; those only need reaping. */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct child *owner = NULL;

		for (int i = 0; i < ROLE_COUNT; i++) {
			if (supervisor->children[i].pid == pid)
				owner = &supervisor->children[i];
		}
		if (owner != NULL)
			child_exited(owner, status);
		else
			log_debug("reaped orphan pid %ld", (long)pid);
	}
}

/* ---- stopping ---- */

static int
all_stopped(const struct supervisor *supervisor)
{
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (child_running(&supervisor->children[i]))
			return 0;
	}
	return 1;
}

static void
supervisor_spawn_all(struct supervisor *supervisor)
{
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (child_spawn(&supervisor->children[i]) < 0) {
			supervisor_shutdown(supervisor, EXIT_INTERNAL, STOP_TIMEOUT_DEFAULT, 1);
			return;
		}
	}
}

/* Ends a restart in place once every process has stopped: starts them all again. */
static void
supervisor_restart_finish(struct supervisor *supervisor)
{
	supervisor->restarting = 0;
	supervisor->forced = 0;
	if (supervisor->stop_timer != NULL)
		evtimer_del(supervisor->stop_timer);
	supervisor->announced = 0;
	log_info("every process stopped; starting them again");
	supervisor_spawn_all(supervisor);
}

/* Stops the last-started child still running; called again as each one exits. */
static void
child_stop_next(struct supervisor *supervisor)
{
	for (int i = ROLE_COUNT - 1; i >= 0; i--) {
		struct child *child = &supervisor->children[i];

		if (child->state == CHILD_STOPPING || child->state == CHILD_HUNG)
			return;
		if (!child_running(child))
			continue;

		child->state = CHILD_STOPPING;
		log_info("stopping %s (pid %ld)", child_name(child), (long)child->pid);
		if (child->role == ROLE_ADAPTER)
			adapter_send(child, "shutdown");
		else
			child_send(child, MSG_SHUTDOWN, 0, NULL, 0);
		child_kill(child, supervisor->forced ? SIGKILL : SIGTERM);
		return;
	}

	if (!all_stopped(supervisor))
		return;
	if (supervisor->restarting)
		supervisor_restart_finish(supervisor);
	else
		event_base_loopbreak(supervisor->base);
}

static void
stop_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct supervisor *supervisor = arg;

	log_warn("stop timeout reached; killing the remaining processes");
	supervisor->forced = 1;
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (child_running(&supervisor->children[i]))
			child_kill(&supervisor->children[i], SIGKILL);
	}
}

static void
supervisor_shutdown(struct supervisor *supervisor, int status, int timeout, int force)
{
	struct timeval delay = { timeout, 0 };

	if (supervisor->stopping) {
		if (force && !supervisor->forced)
			stop_timer_cb(-1, 0, supervisor);
		return;
	}
	supervisor->stopping = 1;
	supervisor->restarting = 0;
	supervisor->exit_status = status;
	supervisor->forced = force;
	log_info("stopping (%s, timeout %d s)", force ? "forced" : "graceful", timeout);

	for (int i = 0; i < ROLE_COUNT; i++) {
		struct child *child = &supervisor->children[i];

		if (child->state == CHILD_BACKOFF || child->state == CHILD_FAILED)
			child->state = CHILD_STOPPED;
		if (child->restart_timer != NULL)
			evtimer_del(child->restart_timer);
	}

	if (force) {
		stop_timer_cb(-1, 0, supervisor);
	} else {
		if (supervisor->stop_timer == NULL)
			supervisor->stop_timer = evtimer_new(supervisor->base, stop_timer_cb, supervisor);
		evtimer_add(supervisor->stop_timer, &delay);
	}
	child_stop_next(supervisor);
}

/*
 * Stops every process in reverse start order, then starts them all again.
 * The supervisor, its controller state and the rings stay as they are.
 */
static void
supervisor_restart(struct supervisor *supervisor, int timeout, int force)
{
	struct timeval delay = { timeout, 0 };

	if (supervisor->stopping || supervisor->restarting)
		return;
	supervisor->restarting = 1;
	supervisor->forced = force;
	log_info("restarting every process in place (%s, timeout %d s)", force ? "forced" : "graceful", timeout);

	for (int i = 0; i < ROLE_COUNT; i++) {
		struct child *child = &supervisor->children[i];

		if (child->state == CHILD_BACKOFF || child->state == CHILD_FAILED)
			child->state = CHILD_STOPPED;
		if (child->restart_timer != NULL)
			evtimer_del(child->restart_timer);
	}
	if (supervisor->stop_timer == NULL)
		supervisor->stop_timer = evtimer_new(supervisor->base, stop_timer_cb, supervisor);
	evtimer_add(supervisor->stop_timer, &delay);
	if (force)
		stop_timer_cb(-1, 0, supervisor);
	child_stop_next(supervisor);
}

static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct supervisor *supervisor = arg;

	log_info("received SIG%s", sigabbrev_np((int)sig));
	if (sig == SIGHUP) {
		/* NOTE: configuration reload is not implemented; SIGHUP only logs. */
		log_warn("configuration reload is not supported; restart CAKE to apply changes");
		return;
	}
	supervisor_shutdown(supervisor, EXIT_OK, STOP_TIMEOUT_DEFAULT,
	    sig == SIGQUIT || supervisor->stopping);
}

/* ---- control socket ---- */

static struct json_object *
process_json(const struct child *child, time_t now)
{
	struct json_object *process = json_object_new_object();

	json_object_object_add(process, "pid", child->pid > 0 ? json_object_new_int(child->pid) : NULL);
	json_object_object_add(process, "state", json_object_new_string(state_names[child->state]));
	json_object_object_add(process, "restarts", json_object_new_int(child->restarts));
	json_object_object_add(process, "uptime_seconds",
	    json_object_new_int64(child_running(child) ? (int64_t)(now - child->started_at) : 0));
	json_object_object_add(process, "last_exit",
	    child->last_exit[0] != '\0' ? json_object_new_string(child->last_exit) : NULL);
	json_object_object_add(process, "last_cause",
	    child->cause[0] != '\0' ? json_object_new_string(child->cause) : NULL);
	if (child->state == CHILD_BACKOFF)
		json_object_object_add(process, "next_start_in_seconds",
		    json_object_new_int64(child->next_start_at > now ? (int64_t)(child->next_start_at - now) : 0));
	return process;
}

static const char *
component_state(const struct child *child, const char *when_ready)
{
	return child->state == CHILD_READY ? when_ready : state_names[child->state];
}

static struct json_object *
status_json(struct supervisor *supervisor)
{
	struct json_object *status = json_object_new_object();
	struct json_object *components = json_object_new_object();
	struct json_object *processes = json_object_new_object();
	struct child *children = supervisor->children;
	struct child *adapter = &children[ROLE_ADAPTER];
	struct controller_stats stats;
	time_t now = time(NULL);
	const char *overall = "RUNNING";
	struct json_object *controller;

	for (int i = 0; i < ROLE_COUNT; i++) {
		if (children[i].state != CHILD_READY)
			overall = "DEGRADED";
	}
	if (supervisor->restarting)
		overall = "RESTARTING";
	if (supervisor->stopping)
		overall = "STOPPING";
	controller_stats(supervisor->controller, &stats);

	json_object_object_add(status, "status", json_object_new_string(overall));
	json_object_object_add(status, "version", json_object_new_string(CAKE_VERSION));
	json_object_object_add(status, "environment", supervisor->options->config->env[0] != '\0' ?
	    json_object_new_string(supervisor->options->config->env) : NULL);
	json_object_object_add(status, "adapter", json_object_new_string(supervisor->options->adapter_name));
	json_object_object_add(status, "adapter_health", json_object_new_string(
	    adapter->state == CHILD_READY ? adapter->health : state_names[adapter->state]));
	json_object_object_add(status, "uptime_seconds", json_object_new_int64(now - supervisor->started_at));
	json_object_object_add(status, "total_interventions", json_object_new_int64((int64_t)stats.interventions));
	json_object_object_add(status, "total_detections", json_object_new_int64((int64_t)stats.detections));
	if (supervisor->last_intervention != 0) {
		char when[32];
		struct tm tm;

		gmtime_r(&supervisor->last_intervention, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_object_add(status, "last_intervention", json_object_new_string(when));
	} else {
		json_object_object_add(status, "last_intervention", NULL);
	}
	json_object_object_add(status, "controller_state",
	    json_object_new_string(controller_state_name(controller_state(supervisor->controller))));

	json_object_object_add(components, "controller", json_object_new_string("running"));
	json_object_object_add(components, "watchdog",
	    json_object_new_string(component_state(&children[ROLE_WATCHDOG], "monitoring")));
	json_object_object_add(components, "validator",
	    json_object_new_string(component_state(&children[ROLE_WATCHDOG], "ready")));
	json_object_object_add(components, "recall_db",
	    json_object_new_string(component_state(&children[ROLE_RECALL], "connected")));
	json_object_object_add(components, "operator",
	    json_object_new_string(component_state(&children[ROLE_OPERATOR], "ready")));
	json_object_object_add(status, "components", components);

	{
		struct json_object *streams = json_object_new_object();

		for (int i = 0; i < STREAM_COUNT; i++) {
			struct json_object *ring = json_object_new_object();

			json_object_object_add(ring, "used_bytes",
			    json_object_new_int64((int64_t)ring_used(supervisor->rings[i])));
			json_object_object_add(ring, "capacity_bytes",
			    json_object_new_int64((int64_t)ring_capacity(supervisor->rings[i])));
			json_object_object_add(ring, "dropped_bytes",
			    json_object_new_int64((int64_t)ring_drops(supervisor->rings[i])));
			json_object_object_add(ring, "paused", json_object_new_boolean(supervisor->stream_paused[i]));
			json_object_object_add(streams, stream_names[i], ring);
		}
		json_object_object_add(status, "streams", streams);
	}

	{
		struct json_object *http = json_object_new_object();
		const struct cake_config *config = supervisor->options->config;

		json_object_object_add(http, "address", json_object_new_string(config->http_address));
		json_object_object_add(http, "health_port", json_object_new_int(config->health_port));
		json_object_object_add(http, "metrics_port", json_object_new_int(config->metrics_port));
		json_object_object_add(status, "http", http);
	}

	controller = json_object_new_object();
	json_object_object_add(controller, "pid", json_object_new_int(getpid()));
	json_object_object_add(controller, "state", json_object_new_string(supervisor->stopping ? "stopping" : "ready"));
	json_object_object_add(controller, "restarts", json_object_new_int(0));
	json_object_object_add(controller, "uptime_seconds", json_object_new_int64(now - supervisor->started_at));
	json_object_object_add(controller, "last_exit", NULL);
	json_object_object_add(processes, "controller", controller);
	for (int i = 0; i < ROLE_COUNT; i++)
		json_object_object_add(processes, role_names[i], process_json(&children[i], now));
	json_object_object_add(status, "processes", processes);

	if (adapter->info != NULL)
		json_object_object_add(status, "agent", json_object_get(adapter->info));
	return status;
}

static void
control_client_free(struct control_client *client)
{
	struct supervisor *supervisor = client->supervisor;
	struct control_client **link = &supervisor->clients;

	for (struct pipeline_event *event = supervisor->events; event != NULL; event = event->next) {
		if (event->client == client)
			event->client = NULL;
	}
	while (*link != NULL && *link != client)
		link = &(*link)->next;
	if (*link == client)
		*link = client->next;
	bufferevent_free(client->bev);
	free(client);
}

static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *client = arg;

	if (client->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_client_free(client);
}

/*
 * Sends REPLY and closes the connection once it is written. A NULL REPLY
 * sends the result of the client's analyze request.
 */
static void
control_client_reply(struct control_client *client, struct json_object *reply)
{
	const char *text;

	if (reply == NULL) {
		reply = control_detection_json(client->detected ? &client->detection : NULL,
		    client->intervention);
		json_object_object_add(reply, "ok", json_object_new_boolean(1));
		json_object_object_add(reply, "mode", json_object_new_string("live"));
		json_object_object_add(reply, "pid", json_object_new_int(getpid()));
		client->request_id = 0;
	}

	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN);
	bufferevent_write(client->bev, text, strlen(text));
	bufferevent_write(client->bev, "\n", 1);
	json_object_put(reply);
	client->closing = 1;
	control_write_cb(client->bev, client);
}

static struct json_object *
control_error(const char *message)
{
	struct json_object *reply = json_object_new_object();

	json_object_object_add(reply, "ok", json_object_new_boolean(0));
	json_object_object_add(reply, "error", json_object_new_string(message));
	return reply;
}

static void
control_analyze(struct control_client *client, struct json_object *request)
{
	struct supervisor *supervisor = client->supervisor;
	struct child *watchdog = &supervisor->children[ROLE_WATCHDOG];
	struct json_object *text_object;
	struct msg_text text;
	const char *input;
	size_t length;

	if (!json_object_object_get_ex(request, "text", &text_object) ||
	    !json_object_is_type(text_object, json_type_string)) {
		control_client_reply(client, control_error("analyze needs a \"text\" string"));
		return;
	}
	input = json_object_get_string(text_object);
	length = strlen(input);
	if (length >= sizeof text.text) {
		control_client_reply(client, control_error("text exceeds 4095 bytes; send less output"));
		return;
	}
	if (watchdog->state != CHILD_READY || supervisor->children[ROLE_OPERATOR].state != CHILD_READY) {
		control_client_reply(client, control_error("the watchdog or operator is not ready; try again"));
		return;
	}

	memset(&text, 0, sizeof text);
	memcpy(text.text, input, length);
	text.length = (uint32_t)length;
	client->request_id = ++supervisor->next_id;
	client->detected = 0;
	if (child_send(watchdog, MSG_ANALYZE, client->request_id, &text, sizeof text) < 0)
		control_client_reply(client, control_error("cannot reach the watchdog; try again"));
}

/*
 * Logs a stop or restart request with the uid and pid of the client that
 * sent it (SO_PEERCRED), and appends it to the audit log when
 * safety.audit_all_commands is on.
 */
static void
control_audit(struct control_client *client, const char *action, int timeout, int force)
{
	struct supervisor *supervisor = client->supervisor;
	struct ucred peer;
	socklen_t length = sizeof peer;
	char details[128];

	if (getsockopt(bufferevent_getfd(client->bev), SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0) {
		peer.uid = (uid_t)-1;
		peer.pid = 0;
	}
	snprintf(details, sizeof details, "%s, timeout %d s, requested by uid %ld pid %ld",
	    force ? "forced" : "graceful", timeout, (long)peer.uid, (long)peer.pid);
	log_info("%s requested over the control socket (%s)", action, details);

	if (!supervisor->options->config->audit_all_commands)
		return;
	if (audit_append(supervisor->options->cake_home, "control", action, "cake", "accepted", details) < 0)
		log_error("cannot append the %s request to the audit log: %s", action, strerror(errno));
}

/* Reads "timeout" (seconds, 1-3600) and "force" of a stop or restart request. */
static void
control_stop_options(struct json_object *request, int *timeout, int *force)
{
	struct json_object *value;

	*timeout = STOP_TIMEOUT_DEFAULT;
	*force = 0;
	if (json_object_object_get_ex(request, "timeout", &value) &&
	    json_object_get_int(value) >= 1 && json_object_get_int(value) <= 3600)
		*timeout = json_object_get_int(value);
	if (json_object_object_get_ex(request, "force", &value))
		*force = json_object_get_boolean(value);
}

static void
control_stop(struct control_client *client, struct json_object *request)
{
	struct json_object *reply;
	int timeout, force;

	control_stop_options(request, &timeout, &force);

	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "pid", json_object_new_int(getpid()));
	control_client_reply(client, reply);
	control_audit(client, "stop", timeout, force);
	supervisor_shutdown(client->supervisor, EXIT_OK, timeout, force);
}

static void
control_restart(struct control_client *client, struct json_object *request)
{
	struct json_object *reply;
	int timeout, force;

	control_stop_options(request, &timeout, &force);
	if (client->supervisor->stopping) {
		control_client_reply(client, control_error("CAKE is stopping; start it again with `cake start`"));
		return;
	}

	reply = json_object_new_object();
	json_object_object_add(reply, "ok", json_object_new_boolean(1));
	json_object_object_add(reply, "pid", json_object_new_int(getpid()));
	control_client_reply(client, reply);
	control_audit(client, "restart", timeout, force);
	supervisor_restart(client->supervisor, timeout, force);
}

static void
control_request(struct control_client *client, const char *line)
{
	struct json_object *request = json_tokener_parse(line);
	struct json_object *command_object;
	const char *command;

	if (request == NULL || !json_object_object_get_ex(request, "command", &command_object)) {
		control_client_reply(client, control_error("invalid request: expected {\"command\": ...}"));
		json_object_put(request);
		return;
	}
	command = json_object_get_string(command_object);

	if (strcmp(command, "status") == 0) {
		struct json_object *reply = status_json(client->supervisor);

		json_object_object_add(reply, "ok", json_object_new_boolean(1));
		control_client_reply(client, reply);
	} else if (strcmp(command, "stop") == 0) {
		control_stop(client, request);
	} else if (strcmp(command, "restart") == 0) {
		control_restart(client, request);
	} else if (strcmp(command, "analyze") == 0) {
		control_analyze(client, request);
	} else {
		char message[128];

		snprintf(message, sizeof message, "unknown command '%.64s'", command);
		control_client_reply(client, control_error(message));
	}
	json_object_put(request);
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_client *client = arg;
	struct evbuffer *input = bufferevent_get_input(bev);
	char *line;

	if (client->closing || client->request_id != 0)
		return;
	line = evbuffer_readln(input, NULL, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(input) > CONTROL_LINE_MAX)
			control_client_reply(client, control_error("request exceeds 65536 bytes"));
		return;
	}
	control_request(client, line);
	free(line);
}

static void
control_event_cb(struct bufferevent *bev, short events, void *arg)
{
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		control_client_free(arg);
}

static void
control_accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
    struct sockaddr *address, int length, void *arg)
{
	struct supervisor *supervisor = arg;
	struct control_client *client = calloc(1, sizeof *client);

	if (client == NULL) {
		close(fd);
		return;
	}
	client->supervisor = supervisor;
	client->bev = bufferevent_socket_new(supervisor->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(client->bev, control_read_cb, control_write_cb, control_event_cb, client);
	bufferevent_enable(client->bev, EV_READ | EV_WRITE);
	client->next = supervisor->clients;
	supervisor->clients = client;
}

/* ---- HTTP endpoints ---- */

static struct json_object *
http_status_cb(void *arg)
{
	return status_json(arg);
}

/* Resident set size of PID from /proc, in bytes; 0 when it cannot be read. */
static uint64_t
resident_bytes(pid_t pid)
{
	char path[64];
	unsigned long pages_total, pages_resident;
	FILE *file;
	int n;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
	file = fopen(path, "re");
	if (file == NULL)
		return 0;
	n = fscanf(file, "%lu %lu", &pages_total, &pages_resident);
	fclose(file);
	return n == 2 ? (uint64_t)pages_resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static void
http_metrics_cb(FILE *out, void *arg)
{
	struct supervisor *supervisor = arg;
	struct metrics_process processes[ROLE_COUNT + 1];
	struct metrics_ring rings[STREAM_COUNT];

	processes[0].name = "controller";
	processes[0].up = 1;
	processes[0].restarts = 0;
	processes[0].resident_bytes = resident_bytes(getpid());
	for (int i = 0; i < ROLE_COUNT; i++) {
		const struct child *child = &supervisor->children[i];

		processes[i + 1].name = role_names[i];
		processes[i + 1].up = child->state == CHILD_READY;
		processes[i + 1].restarts = (unsigned)child->restarts;
		processes[i + 1].resident_bytes = resident_bytes(child->pid);
	}
	for (int i = 0; i < STREAM_COUNT; i++) {
		rings[i].stream = stream_names[i];
		rings[i].used_bytes = ring_used(supervisor->rings[i]);
		rings[i].capacity_bytes = ring_capacity(supervisor->rings[i]);
		rings[i].dropped_bytes = ring_drops(supervisor->rings[i]);
	}
	metrics_render(supervisor->metrics, out, processes, ROLE_COUNT + 1, rings, STREAM_COUNT,
	    supervisor->children[ROLE_RECALL].state == CHILD_READY);
}

static int
supervisor_http_start(struct supervisor *supervisor)
{
	const struct cake_config *config = supervisor->options->config;
	struct http_options options;
	struct http_source source;
	char error[512];

	if (config->health_port == 0 && config->metrics_port == 0)
		return 0;

	memset(&options, 0, sizeof options);
	options.address = config->http_address;
	options.health_port = config->health_port;
	options.metrics_port = config->metrics_port;
	options.version = CAKE_VERSION;
	source.status = http_status_cb;
	source.metrics = http_metrics_cb;
	source.arg = supervisor;

	supervisor->http = http_start(supervisor->base, &options, &source, error, sizeof error);
	if (supervisor->http == NULL) {
		log_error("%s", error);
		cmd_error("%s", error);
		return -1;
	}
	return 0;
}

/* ---- setup and teardown ---- */

static int
supervisor_open_log(struct supervisor *supervisor)
{
	const char *path = supervisor->options->config->log_file;
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (paths_mkdir_p(dir, 0700) < 0) {
			cmd_error("cannot create the log directory %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	if (log_open_file(path, (size_t)supervisor->options->config->log_max_size_mb * 1024 * 1024,
	    LOG_KEEP_DEFAULT) < 0) {
		cmd_error("cannot open the log file %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Returns 0, -2 when an HTTP port cannot be bound, or -1 for other failures. */
static int
supervisor_setup(struct supervisor *supervisor)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD };

	if (paths_exe(supervisor->self_exe, sizeof supervisor->self_exe) < 0) {
		log_error("cannot find this executable: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("cannot become a child subreaper: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);

	supervisor->base = event_base_new();
	if (supervisor->base == NULL) {
		log_error("cannot create the event loop");
		return -1;
	}
	for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
		supervisor->signal_events[i] = evsignal_new(supervisor->base, signals[i],
		    signals[i] == SIGCHLD ? sigchld_cb : signal_cb, supervisor);
		event_add(supervisor->signal_events[i], NULL);
	}

	for (int i = 0; i < STREAM_COUNT; i++) {
		supervisor->rings[i] = ring_create(stream_names[i], RING_CAPACITY);
		if (supervisor->rings[i] == NULL) {
			log_error("cannot create the %s ring: %s", stream_names[i], strerror(errno));
			return -1;
		}
	}

	supervisor->controller = controller_create(supervisor->options->config);
	supervisor->metrics = metrics_create();
	if (supervisor->controller == NULL || supervisor->metrics == NULL) {
		log_error("out of memory");
		return -1;
	}
	{
		int interval_ms = supervisor->options->config->supervision.heartbeat_interval_ms;
		struct timeval interval = { interval_ms / 1000, (interval_ms % 1000) * 1000 };

		supervisor->heartbeat_timer = event_new(supervisor->base, -1, EV_PERSIST, heartbeat_cb, supervisor);
		event_add(supervisor->heartbeat_timer, &interval);
	}
	if (supervisor_listen(supervisor) < 0)
		return -1;
	/* A port in use is a setting to change, not an internal error. */
	return supervisor_http_start(supervisor) < 0 ? -2 : 0;
}

static void
supervisor_teardown(struct supervisor *supervisor)
{
	while (supervisor->clients != NULL)
		control_client_free(supervisor->clients);
	while (supervisor->events != NULL) {
		struct pipeline_event *next = supervisor->events->next;

		free(supervisor->events);
		supervisor->events = next;
	}
	if (supervisor->listener != NULL) {
		evconnlistener_free(supervisor->listener);
		unlink(supervisor->socket_path);
	}
	for (int i = 0; i < ROLE_COUNT; i++) {
		struct child *child = &supervisor->children[i];

		child_log_close(child);
		child_channel_close(child);
		for (int s = 0; s < STREAM_COUNT; s++)
			adapter_stream_close(child, s);
		if (child->restart_timer != NULL)
			event_free(child->restart_timer);
		json_object_put(child->info);
	}
	for (size_t i = 0; i < sizeof supervisor->signal_events / sizeof supervisor->signal_events[0]; i++) {
		if (supervisor->signal_events[i] != NULL)
			event_free(supervisor->signal_events[i]);
	}
	if (supervisor->stop_timer != NULL)
		event_free(supervisor->stop_timer);
	if (supervisor->heartbeat_timer != NULL)
		event_free(supervisor->heartbeat_timer);
	for (int i = 0; i < STREAM_COUNT; i++)
		ring_free_ring(supervisor->rings[i]);
	controller_free(supervisor->controller);
	http_stop(supervisor->http);
	metrics_free(supervisor->metrics);
	if (supervisor->base != NULL)
		event_base_free(supervisor->base);
	if (supervisor->lock_fd >= 0)
		close(supervisor->lock_fd);
	log_set_file(NULL);
}

int
supervisor_main(const struct supervisor_options *options)
{
	struct supervisor supervisor;
	int rc;

	memset(&supervisor, 0, sizeof supervisor);
	supervisor.options = options;
	supervisor.lock_fd = -1;
	supervisor.started_at = time(NULL);
	srand((unsigned)(getpid() ^ time(NULL)));
	for (int i = 0; i < ROLE_COUNT; i++) {
		supervisor.children[i].supervisor = &supervisor;
		supervisor.children[i].role = (enum child_role)i;
		supervisor.children[i].stream_fd[0] = -1;
		supervisor.children[i].stream_fd[1] = -1;
		strcpy(supervisor.children[i].health, "starting");
	}

	rc = supervisor_lock(&supervisor);
	if (rc != 0)
		return rc > 0 ? EXIT_FAILURE_STATUS : EXIT_INTERNAL;
	if (supervisor_open_log(&supervisor) < 0) {
		close(supervisor.lock_fd);
		return EXIT_INTERNAL;
	}

	log_info("CAKE %s starting (pid %ld, protocol %d, CAKE_HOME %s, adapter %s, environment %s)",
	    CAKE_VERSION, (long)getpid(), CAKE_PROTO_VERSION, options->cake_home, options->adapter_name,
	    options->config->env[0] != '\0' ? options->config->env : "unset");
	rc = supervisor_setup(&supervisor);
	if (rc < 0) {
		supervisor_teardown(&supervisor);
		return rc == -2 ? EXIT_USAGE : EXIT_INTERNAL;
	}
	log_info("listening on %s", supervisor.socket_path);

	supervisor_spawn_all(&supervisor);

	if (!all_stopped(&supervisor) || !supervisor.stopping)
		event_base_dispatch(supervisor.base);

	log_info("stopped (exit status %d)", supervisor.exit_status);
	rc = supervisor.exit_status;
	supervisor_teardown(&supervisor);
	return rc;
}
