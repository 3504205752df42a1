/*
 * Adapter side of the CAKE adapter protocol, version 1.
 *
 * An adapter is an executable cake-adapter-NAME that runs one agent for the
 * supervisor. It talks to the supervisor over a Unix socket on fd 3 using
 * newline-terminated text lines of at most CAKE_ADAPTER_LINE_MAX bytes
 * (docs/adapters.md describes every message). This library opens the
 * channel, performs the hello/welcome handshake, formats outgoing messages
 * and parses incoming ones with a non-blocking reader meant for a poll()
 * loop. It depends on libc only.
 *
 * Functions that send return 0, or -1 with errno set. EINVAL means an
 * argument cannot be sent: an unknown enum value, or a KEY or ID that is
 * empty or contains a space or line break. After any other send error the
 * channel is unusable and every later send fails with EPIPE. Outgoing
 * lines have CR and LF replaced by spaces and are cut at a UTF-8 character
 * boundary to fit CAKE_ADAPTER_LINE_MAX. The library raises no SIGPIPE on
 * a socket, but a write to a fd 3 that is a pipe does unless the adapter
 * ignores SIGPIPE.
 */
#ifndef CAKE_ADAPTER_H
#define CAKE_ADAPTER_H

#include <stddef.h>

#define CAKE_ADAPTER_PROTOCOL_VERSION 1

/* The control channel to the supervisor is always this fd. */
#define CAKE_ADAPTER_FD 3

/* Maximum length of a protocol line in bytes, including the newline. */
#define CAKE_ADAPTER_LINE_MAX 8192

/* Time cake_adapter_connect() waits for welcome when given timeout_ms <= 0. */
#define CAKE_ADAPTER_HANDSHAKE_TIMEOUT_MS 10000

/* Time a send waits for room in the socket buffer before failing with ETIMEDOUT. */
#define CAKE_ADAPTER_SEND_TIMEOUT_MS 10000

/* Exit statuses for failures of the adapter itself (sysexits.h values). */
#define CAKE_ADAPTER_EXIT_USAGE 64	/* bad arguments */
#define CAKE_ADAPTER_EXIT_SOFTWARE 70	/* internal failure, e.g. the agent cannot start */

struct cake_adapter;

enum cake_adapter_health {
	CAKE_ADAPTER_HEALTHY,
	CAKE_ADAPTER_DEGRADED,
	CAKE_ADAPTER_UNHEALTHY,
};

enum cake_adapter_log_level {
	CAKE_ADAPTER_DEBUG,
	CAKE_ADAPTER_INFO,
	CAKE_ADAPTER_WARN,
	CAKE_ADAPTER_ERROR,
};

enum cake_adapter_msg_type {
	CAKE_ADAPTER_MSG_WELCOME,	/* welcome VERSION */
	CAKE_ADAPTER_MSG_PING,		/* ping SEQ: answer with cake_adapter_pong() */
	CAKE_ADAPTER_MSG_INTERVENE,	/* intervene ID TEXT: answer with delivered or failed */
	CAKE_ADAPTER_MSG_SHUTDOWN,	/* shutdown: stop the agent and exit */
	CAKE_ADAPTER_MSG_UNKNOWN,	/* a message name this version does not know: ignore it */
	CAKE_ADAPTER_MSG_INVALID,	/* a line that breaks the protocol: log it and go on */
};

/*
 * One incoming message. The strings point into the reader's buffer and stay
 * valid until the next cake_adapter_read() or cake_adapter_close(). Fields
 * that the message type does not use are "" or 0.
 */
struct cake_adapter_msg {
	enum cake_adapter_msg_type type;
	const char *name;	/* message name as received, "" for an INVALID line without one */
	const char *id;		/* INTERVENE: intervention id, to echo in delivered or failed */
	const char *seq;	/* PING: sequence token, to echo in pong */
	const char *text;	/* INTERVENE: the line to deliver, possibly "";
				   UNKNOWN: the rest of the line after the name;
				   INVALID: why the line was rejected */
	unsigned version;	/* WELCOME: protocol version */
};

/*
 * Opens the channel on CAKE_ADAPTER_FD, sends "hello 1 NAME" and waits up
 * to TIMEOUT_MS milliseconds (CAKE_ADAPTER_HANDSHAKE_TIMEOUT_MS when <= 0)
 * for "welcome 1". Sets FD_CLOEXEC on the fd, so agents started later never
 * inherit it, and O_NONBLOCK. Lines other than welcome that arrive before
 * it are ignored, and lines after it are kept for cake_adapter_read().
 * Returns the channel, or NULL with a message in ERROR (fd 3 not open, NAME
 * invalid, timeout, EOF, shutdown or a different protocol version).
 */
struct cake_adapter *cake_adapter_connect(const char *name, int timeout_ms,
    char *error, size_t error_size);

/* Closes the channel and frees it. Accepts NULL. */
void cake_adapter_close(struct cake_adapter *adapter);

/* Returns the fd to poll for POLLIN. */
int cake_adapter_fd(struct cake_adapter *adapter);

/*
 * Reads the next message into OUT without blocking. Returns 1 when OUT
 * contains a message, 0 when no complete line is available yet (poll the fd
 * and call again), or -1 when the supervisor closed the channel (errno 0)
 * or reading failed (errno set). Call it until it returns 0 after each
 * POLLIN, because one read can bring several lines. A line longer than
 * CAKE_ADAPTER_LINE_MAX is skipped up to its newline and returned as
 * CAKE_ADAPTER_MSG_INVALID.
 */
int cake_adapter_read(struct cake_adapter *adapter, struct cake_adapter_msg *out);

/* Sends "health STATE [DETAIL]". DETAIL may be NULL or "". */
int cake_adapter_health(struct cake_adapter *adapter,
    enum cake_adapter_health state, const char *detail);

/* Sends "info KEY VALUE", VALUE formatted like printf. */
int cake_adapter_info(struct cake_adapter *adapter, const char *key,
    const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Sends "log LEVEL MESSAGE", MESSAGE formatted like printf. */
int cake_adapter_log(struct cake_adapter *adapter,
    enum cake_adapter_log_level level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends "pong SEQ". */
int cake_adapter_pong(struct cake_adapter *adapter, const char *seq);

/* Sends "delivered ID". */
int cake_adapter_delivered(struct cake_adapter *adapter, const char *id);

/* Sends "failed ID REASON", REASON formatted like printf. */
int cake_adapter_failed(struct cake_adapter *adapter, const char *id,
    const char *format, ...) __attribute__((format(printf, 3, 4)));

/*
 * Sends "violation TYPE PREVENTED DETAILS": an action of the agent that a
 * rule matched, for the pattern_violations table of recall.db. TYPE is one
 * word (a gate rule id such as "git.push.force"), PREVENTED is 1 when the
 * action was blocked, DETAILS is formatted like printf.
 */
int cake_adapter_violation(struct cake_adapter *adapter, const char *type, int prevented,
    const char *format, ...) __attribute__((format(printf, 4, 5)));

/*
 * Converts a wait status from waitpid() into the adapter's exit status:
 * the agent's exit code, or 128+N when the agent died of signal N.
 */
int cake_adapter_exit_status(int wait_status);

/*
 * Routes SIGCHLD and SIGTERM into a poll loop: installs handlers that write
 * the signal number as one byte to a non-blocking, close-on-exec pipe, and
 * stores the pipe's read end in *READ_FD. Call once per process. Returns 0,
 * or -1 with errno set.
 */
int cake_adapter_signal_pipe(int *read_fd);

/* CLOCK_MONOTONIC in milliseconds, for poll deadlines. */
long long cake_adapter_monotonic_ms(void);

#endif
