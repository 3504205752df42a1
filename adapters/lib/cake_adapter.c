/*
 * Adapter side of the CAKE adapter protocol: handshake, outgoing messages
 * and the buffered reader for incoming lines.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cake_adapter.h"

struct cake_adapter {
	int fd;
	int broken;		/* a send failed part-way, so the stream is out of step */

	/* Unread input is in[start, end). A line is parsed in place. */
	char in[CAKE_ADAPTER_LINE_MAX];
	size_t start;
	size_t end;
	int discarding;		/* skipping the rest of an over-long line */

	char reason[128];	/* text of the last INVALID message */
	char out[CAKE_ADAPTER_LINE_MAX + 1];
};

static const char *health_names[] = {
	[CAKE_ADAPTER_HEALTHY] = "healthy",
	[CAKE_ADAPTER_DEGRADED] = "degraded",
	[CAKE_ADAPTER_UNHEALTHY] = "unhealthy",
};

static const char *log_level_names[] = {
	[CAKE_ADAPTER_DEBUG] = "DEBUG",
	[CAKE_ADAPTER_INFO] = "INFO",
	[CAKE_ADAPTER_WARN] = "WARN",
	[CAKE_ADAPTER_ERROR] = "ERROR",
};

static long long
monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Waits up to TIMEOUT_MS for EVENTS on FD. Returns 1 when ready, 0 on timeout, -1 on error. */
static int
wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long deadline = monotonic_ms() + timeout_ms;
	long long left;
	int ready;

	for (;;) {
		left = deadline - monotonic_ms();
		if (left < 0)
			left = 0;
		ready = poll(&pfd, 1, (int)left);
		if (ready >= 0)
			return ready;
		if (errno != EINTR)
			return -1;
	}
}

/* A KEY or ID is one protocol word: not empty, no space and no line break. */
static int
is_word(const char *s)
{
	return s != NULL && *s != '\0' && strpbrk(s, " \r\n") == NULL;
}

static int
write_all(struct cake_adapter *adapter, const char *data, size_t length)
{
	ssize_t written;

	while (length > 0) {
		written = send(adapter->fd, data, length, MSG_NOSIGNAL);
		if (written == -1 && errno == ENOTSOCK)
			written = write(adapter->fd, data, length);
		if (written >= 0) {
			data += written;
			length -= (size_t)written;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		switch (wait_fd(adapter->fd, POLLOUT, CAKE_ADAPTER_SEND_TIMEOUT_MS)) {
		case 0:
			errno = ETIMEDOUT;
			return -1;
		case -1:
			return -1;
		}
	}
	return 0;
}

/*
 * Formats one line, makes it safe to send and writes it. The line is cut
 * so that the newline still fits and no UTF-8 sequence is split.
 */
static int
send_line_va(struct cake_adapter *adapter, const char *format, va_list ap)
{
	char *out = adapter->out;
	size_t max = CAKE_ADAPTER_LINE_MAX - 1;
	size_t length, i;
	int formatted;

	if (adapter->broken) {
		errno = EPIPE;
		return -1;
	}

	formatted = vsnprintf(out, sizeof adapter->out, format, ap);
	if (formatted < 0)
		return -1;
	length = (size_t)formatted;
	if (length > max) {
		/* out[max] is the first byte cut off. Back up to a character start. */
		length = max;
		while (length > 0 && ((unsigned char)out[length] & 0xC0) == 0x80)
			length--;
	}

	for (i = 0; i < length; i++) {
		if (out[i] == '\r' || out[i] == '\n')
			out[i] = ' ';
	}
	out[length++] = '\n';

	if (write_all(adapter, out, length) == -1) {
		adapter->broken = 1;
		return -1;
	}
	return 0;
}

static int __attribute__((format(printf, 2, 3)))
send_line(struct cake_adapter *adapter, const char *format, ...)
{
	va_list ap;
	int result;

	va_start(ap, format);
	result = send_line_va(adapter, format, ap);
	va_end(ap);
	return result;
}

/* Sends "PREFIX ARG FORMATTED-TEXT", for the messages whose last field is free text. */
static int
send_text_va(struct cake_adapter *adapter, const char *prefix, const char *arg,
    const char *format, va_list ap)
{
	char text[CAKE_ADAPTER_LINE_MAX];

	vsnprintf(text, sizeof text, format, ap);
	return send_line(adapter, "%s %s %s", prefix, arg, text);
}

static int
parse_version(const char *text, unsigned *version)
{
	char *end;
	unsigned long value;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || value > 0xffffffffUL)
		return -1;
	*version = (unsigned)value;
	return 0;
}

static void __attribute__((format(printf, 3, 4)))
set_invalid(struct cake_adapter *adapter, struct cake_adapter_msg *msg,
    const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(adapter->reason, sizeof adapter->reason, format, ap);
	va_end(ap);
	msg->type = CAKE_ADAPTER_MSG_INVALID;
	msg->text = adapter->reason;
}

/*
 * Parses LINE (without its newline, NUL-terminated in place) into MSG. The
 * last field of each message is the rest of the line.
 */
static void
parse_line(struct cake_adapter *adapter, char *line, struct cake_adapter_msg *msg)
{
	char *rest, *space;

	memset(msg, 0, sizeof *msg);
	msg->name = msg->id = msg->seq = msg->text = "";

	rest = "";
	space = strchr(line, ' ');
	if (space != NULL) {
		*space = '\0';
		rest = space + 1;
	}
	msg->name = line;

	if (*line == '\0') {
		set_invalid(adapter, msg, "line has no message name");
	} else if (strcmp(line, "welcome") == 0) {
		msg->type = CAKE_ADAPTER_MSG_WELCOME;
		if (parse_version(rest, &msg->version) == -1)
			set_invalid(adapter, msg, "welcome without a numeric VERSION");
	} else if (strcmp(line, "ping") == 0) {
		msg->type = CAKE_ADAPTER_MSG_PING;
		msg->seq = rest;
		if (*rest == '\0')
			set_invalid(adapter, msg, "ping without SEQ");
	} else if (strcmp(line, "intervene") == 0) {
		msg->type = CAKE_ADAPTER_MSG_INTERVENE;
		msg->id = rest;
		space = strchr(rest, ' ');
		if (space != NULL) {
			*space = '\0';
			msg->text = space + 1;
		}
		if (*msg->id == '\0')
			set_invalid(adapter, msg, "intervene without ID");
	} else if (strcmp(line, "shutdown") == 0) {
		msg->type = CAKE_ADAPTER_MSG_SHUTDOWN;
	} else {
		msg->type = CAKE_ADAPTER_MSG_UNKNOWN;
		msg->text = rest;
	}
}

/*
 * Returns the next complete line from the buffer in MSG, or 0 when the
 * buffer contains no complete line.
 */
static int
next_buffered(struct cake_adapter *adapter, struct cake_adapter_msg *msg)
{
	char *line = adapter->in + adapter->start;
	size_t length = adapter->end - adapter->start;
	char *newline;

	newline = memchr(line, '\n', length);
	if (newline == NULL)
		return 0;
	*newline = '\0';
	adapter->start += (size_t)(newline - line) + 1;

	if (adapter->discarding) {
		adapter->discarding = 0;
		memset(msg, 0, sizeof *msg);
		msg->name = msg->id = msg->seq = "";
		set_invalid(adapter, msg, "line longer than %d bytes",
		    CAKE_ADAPTER_LINE_MAX);
		return 1;
	}
	if (memchr(line, '\0', (size_t)(newline - line)) != NULL) {
		memset(msg, 0, sizeof *msg);
		msg->name = msg->id = msg->seq = "";
		set_invalid(adapter, msg, "line contains a NUL byte");
		return 1;
	}
	parse_line(adapter, line, msg);
	return 1;
}

int
cake_adapter_read(struct cake_adapter *adapter, struct cake_adapter_msg *out)
{
	ssize_t got;

	/* Earlier messages point into the buffer, so compact only now. */
	if (adapter->start > 0) {
		memmove(adapter->in, adapter->in + adapter->start,
		    adapter->end - adapter->start);
		adapter->end -= adapter->start;
		adapter->start = 0;
	}

	for (;;) {
		if (next_buffered(adapter, out))
			return 1;

		if (adapter->end == sizeof adapter->in) {
			/* A full buffer without a newline: drop it and skip to the next newline. */
			adapter->discarding = 1;
			adapter->end = 0;
		}

		got = read(adapter->fd, adapter->in + adapter->end,
		    sizeof adapter->in - adapter->end);
		if (got > 0) {
			adapter->end += (size_t)got;
			continue;
		}
		if (got == 0) {
			errno = 0;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -1;
	}
}

/* Waits for welcome. Returns 0, or -1 with a message in ERROR. */
static int
await_welcome(struct cake_adapter *adapter, int timeout_ms, char *error,
    size_t error_size)
{
	struct cake_adapter_msg msg;
	long long deadline = monotonic_ms() + timeout_ms;
	long long left;
	int result, ready;

	for (;;) {
		result = cake_adapter_read(adapter, &msg);
		if (result == -1 && errno == 0) {
			snprintf(error, error_size,
			    "the supervisor closed fd %d before sending welcome",
			    adapter->fd);
			return -1;
		}
		if (result == -1) {
			snprintf(error, error_size,
			    "reading welcome from fd %d failed: %s", adapter->fd,
			    strerror(errno));
			return -1;
		}

		if (result == 1 && msg.type == CAKE_ADAPTER_MSG_SHUTDOWN) {
			snprintf(error, error_size,
			    "the supervisor sent shutdown instead of welcome");
			return -1;
		}
		if (result == 1 && msg.type == CAKE_ADAPTER_MSG_WELCOME) {
			if (msg.version == CAKE_ADAPTER_PROTOCOL_VERSION)
				return 0;
			snprintf(error, error_size,
			    "the supervisor speaks adapter protocol version %u but "
			    "this adapter speaks version %d: install an adapter "
			    "built for this version of cake", msg.version,
			    CAKE_ADAPTER_PROTOCOL_VERSION);
			return -1;
		}

		left = deadline - monotonic_ms();
		ready = 0;
		if (left > 0 && result == 1)
			continue;
		if (left > 0)
			ready = wait_fd(adapter->fd, POLLIN, (int)left);
		if (ready == -1) {
			snprintf(error, error_size, "waiting for welcome on fd %d "
			    "failed: %s", adapter->fd, strerror(errno));
			return -1;
		}
		if (ready == 0) {
			snprintf(error, error_size,
			    "no welcome from the supervisor on fd %d within %d ms",
			    adapter->fd, timeout_ms);
			return -1;
		}
	}
}

struct cake_adapter *
cake_adapter_connect(const char *name, int timeout_ms, char *error,
    size_t error_size)
{
	struct cake_adapter *adapter;
	int fd = CAKE_ADAPTER_FD;
	int flags;

	if (!is_word(name)) {
		snprintf(error, error_size,
		    "invalid adapter name '%s': use one word without spaces",
		    name != NULL ? name : "");
		return NULL;
	}
	if (timeout_ms <= 0)
		timeout_ms = CAKE_ADAPTER_HANDSHAKE_TIMEOUT_MS;

	flags = fcntl(fd, F_GETFD);
	if (flags == -1) {
		snprintf(error, error_size,
		    "fd %d is not open (%s): adapters are started by "
		    "'cake start --adapter=NAME', which passes the control "
		    "channel on fd %d", fd, strerror(errno), fd);
		return NULL;
	}
	if (fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1 ||
	    (flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		snprintf(error, error_size, "setting the flags of fd %d failed: %s",
		    fd, strerror(errno));
		return NULL;
	}

	adapter = calloc(1, sizeof *adapter);
	if (adapter == NULL) {
		snprintf(error, error_size, "out of memory");
		return NULL;
	}
	adapter->fd = fd;

	if (send_line(adapter, "hello %d %s", CAKE_ADAPTER_PROTOCOL_VERSION,
	    name) == -1) {
		snprintf(error, error_size, "sending hello on fd %d failed: %s",
		    fd, strerror(errno));
		free(adapter);
		return NULL;
	}
	if (await_welcome(adapter, timeout_ms, error, error_size) == -1) {
		free(adapter);
		return NULL;
	}
	return adapter;
}

void
cake_adapter_close(struct cake_adapter *adapter)
{
	if (adapter == NULL)
		return;
	close(adapter->fd);
	free(adapter);
}

int
cake_adapter_fd(struct cake_adapter *adapter)
{
	return adapter->fd;
}

int
cake_adapter_health(struct cake_adapter *adapter,
    enum cake_adapter_health state, const char *detail)
{
	if ((unsigned)state > CAKE_ADAPTER_UNHEALTHY) {
		errno = EINVAL;
		return -1;
	}
	if (detail == NULL || *detail == '\0')
		return send_line(adapter, "health %s", health_names[state]);
	return send_line(adapter, "health %s %s", health_names[state], detail);
}

int
cake_adapter_info(struct cake_adapter *adapter, const char *key,
    const char *format, ...)
{
	va_list ap;
	int result;

	if (!is_word(key)) {
		errno = EINVAL;
		return -1;
	}
	va_start(ap, format);
	result = send_text_va(adapter, "info", key, format, ap);
	va_end(ap);
	return result;
}

int
cake_adapter_log(struct cake_adapter *adapter,
    enum cake_adapter_log_level level, const char *format, ...)
{
	va_list ap;
	int result;

	if ((unsigned)level > CAKE_ADAPTER_ERROR) {
		errno = EINVAL;
		return -1;
	}
	va_start(ap, format);
	result = send_text_va(adapter, "log", log_level_names[level], format, ap);
	va_end(ap);
	return result;
}

int
cake_adapter_pong(struct cake_adapter *adapter, const char *seq)
{
	if (seq == NULL || *seq == '\0' || strpbrk(seq, "\r\n") != NULL) {
		errno = EINVAL;
		return -1;
	}
	return send_line(adapter, "pong %s", seq);
}

int
cake_adapter_delivered(struct cake_adapter *adapter, const char *id)
{
	if (!is_word(id)) {
		errno = EINVAL;
		return -1;
	}
	return send_line(adapter, "delivered %s", id);
}

int
cake_adapter_failed(struct cake_adapter *adapter, const char *id,
    const char *format, ...)
{
	va_list ap;
	int result;

	if (!is_word(id)) {
		errno = EINVAL;
		return -1;
	}
	va_start(ap, format);
	result = send_text_va(adapter, "failed", id, format, ap);
	va_end(ap);
	return result;
}

int
cake_adapter_exit_status(int wait_status)
{
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return WEXITSTATUS(wait_status);
}

int
cake_adapter_violation(struct cake_adapter *adapter, const char *type, int prevented,
    const char *format, ...)
{
	char head[160];
	va_list ap;
	int result;

	if (!is_word(type) || snprintf(head, sizeof head, "%s %d", type, prevented ? 1 : 0) >= (int)sizeof head) {
		errno = EINVAL;
		return -1;
	}
	va_start(ap, format);
	result = send_text_va(adapter, "violation", head, format, ap);
	va_end(ap);
	return result;
}

static int signal_write_fd = -1;

static void
signal_pipe_cb(int signo)
{
	int saved_errno = errno;
	unsigned char byte = (unsigned char)signo;
	ssize_t written;

	/* The write fails only when the pipe is full, and then the loop wakes anyway. */
	written = write(signal_write_fd, &byte, 1);
	(void)written;
	errno = saved_errno;
}

int
cake_adapter_signal_pipe(int *read_fd)
{
	struct sigaction action;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	signal_write_fd = fds[1];

	memset(&action, 0, sizeof action);
	sigemptyset(&action.sa_mask);
	action.sa_handler = signal_pipe_cb;
	action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &action, NULL) == -1 ||
	    sigaction(SIGTERM, &action, NULL) == -1)
		return -1;
	*read_fd = fds[0];
	return 0;
}

long long
cake_adapter_monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}
