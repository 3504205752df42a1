/*
 * cake-adapter-exec COMMAND [ARGS...]
 *
 * Runs COMMAND as the agent. The command inherits fds 1 and 2, so it writes
 * straight into the supervisor's stdout and stderr pipes, and it stays in
 * the adapter's process group, so a signal to the group reaches it. Each
 * intervention is written to the command's stdin as one line.
 */
#define _GNU_SOURCE

#include <sys/types.h>
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

#define ADAPTER_NAME "exec"

/* Time the agent gets after SIGTERM, and again after SIGKILL, to exit. */
#define STOP_TIMEOUT_MS 5000

/* Environment variables with this prefix belong to CAKE and are not passed to the agent. */
#define CAKE_ENV_PREFIX "CAKE_"

/* Exit status of the child when the command cannot be run, as in sh. */
#define EXIT_EXEC_FAILED 127

struct exec_adapter {
	struct cake_adapter *channel;
	int channel_open;		/* 0 once fd 3 reached EOF or failed */
	int signal_fd;		/* read end of the signal pipe: one byte per SIGCHLD or SIGTERM */

	char **argv;			/* COMMAND [ARGS...] */
	pid_t agent_pid;
	int agent_stdin;		/* write end of the agent's stdin pipe, -1 once closed */

	/*
	 * An intervention the pipe had no room for. Only one is kept, so that
	 * an agent that never reads its stdin cannot make the adapter grow.
	 */
	int has_pending;
	char pending_id[CAKE_ADAPTER_LINE_MAX];
	char pending[CAKE_ADAPTER_LINE_MAX + 1];
	size_t pending_length;
	size_t pending_written;

	int stopping;
	int killed;			/* SIGKILL sent */
	long long deadline_ms;		/* when stopping: time of the next step */
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: cake-adapter-" ADAPTER_NAME " COMMAND [ARGS...]\n"
	    "Runs COMMAND as the agent for the CAKE supervisor, which starts "
	    "this adapter\n"
	    "with 'cake start --adapter=" ADAPTER_NAME " -- COMMAND [ARGS...]'.\n");
}

/* Copies the environment without the variables that start with CAKE_. */
static char **
agent_environment(void)
{
	extern char **environ;
	char **env;
	size_t count = 0, kept = 0, i;

	while (environ[count] != NULL)
		count++;
	env = calloc(count + 1, sizeof *env);
	if (env == NULL)
		return NULL;
	for (i = 0; i < count; i++) {
		if (strncmp(environ[i], CAKE_ENV_PREFIX,
		    strlen(CAKE_ENV_PREFIX)) != 0)
			env[kept++] = environ[i];
	}
	return env;
}

/* Sends errno of a failed exec or fd setup to the parent and exits. */
static void __attribute__((noreturn))
fail_child(int status_fd, const char *command, const char *step)
{
	int saved_errno = errno;
	ssize_t written;

	/* If this write fails, the parent sees exit status 127 without the errno. */
	written = write(status_fd, &saved_errno, sizeof saved_errno);
	(void)written;
	dprintf(STDERR_FILENO, "cake-adapter-" ADAPTER_NAME ": %s '%s' failed: "
	    "%s (check the command given after -- to cake start)\n", step,
	    command, strerror(saved_errno));
	_exit(EXIT_EXEC_FAILED);
}

/*
 * Runs in the forked child. Signal dispositions and the mask go back to
 * the defaults (SIGPIPE is ignored in the adapter and that would survive
 * exec). STATUS_WRITE moves to fd 3, which is close-on-exec, and carries
 * errno to the parent when exec fails.
 */
static void __attribute__((noreturn))
run_agent(char **argv, char **env, int stdin_read, int status_write)
{
	struct sigaction action;
	sigset_t empty;
	int signo;

	memset(&action, 0, sizeof action);
	action.sa_handler = SIG_DFL;
	sigemptyset(&action.sa_mask);
	for (signo = 1; signo < NSIG; signo++)
		sigaction(signo, &action, NULL);
	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);

	if (dup2(status_write, CAKE_ADAPTER_FD) == -1)
		fail_child(status_write, argv[0], "setting up fds for");
	if (fcntl(CAKE_ADAPTER_FD, F_SETFD, FD_CLOEXEC) == -1)
		fail_child(CAKE_ADAPTER_FD, argv[0], "setting up fds for");
	if (stdin_read != STDIN_FILENO && dup2(stdin_read, STDIN_FILENO) == -1)
		fail_child(CAKE_ADAPTER_FD, argv[0], "setting up fds for");
	closefrom(CAKE_ADAPTER_FD + 1);

	execvpe(argv[0], argv, env);
	fail_child(CAKE_ADAPTER_FD, argv[0], "running");
}

/*
 * Reads errno from the child's status pipe. Returns 0 once exec succeeded
 * (the pipe closes without data) or the errno of the failed exec.
 */
static int
read_exec_status(int status_read)
{
	int exec_errno;
	ssize_t got;

	do
		got = read(status_read, &exec_errno, sizeof exec_errno);
	while (got == -1 && errno == EINTR);
	if (got == (ssize_t)sizeof exec_errno)
		return exec_errno;
	return 0;
}

/*
 * Forks and execs the agent. Returns 0 when it runs, the errno of a failed
 * exec (the child then exits 127), or -1 with errno set when no child
 * could be created.
 */
static int
start_agent(struct exec_adapter *adapter)
{
	int stdin_pipe[2], status_pipe[2];
	sigset_t all, saved;
	char **env;
	pid_t pid;
	int saved_errno;

	env = agent_environment();
	if (env == NULL)
		return -1;
	if (pipe2(stdin_pipe, O_CLOEXEC) == -1)
		goto fail_env;
	if (pipe2(status_pipe, O_CLOEXEC) == -1)
		goto fail_stdin;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	pid = fork();
	if (pid == 0)
		run_agent(adapter->argv, env, stdin_pipe[0], status_pipe[1]);
	saved_errno = errno;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	free(env);
	close(stdin_pipe[0]);
	close(status_pipe[1]);
	if (pid == -1) {
		close(stdin_pipe[1]);
		close(status_pipe[0]);
		errno = saved_errno;
		return -1;
	}

	adapter->agent_pid = pid;
	adapter->agent_stdin = stdin_pipe[1];
	fcntl(adapter->agent_stdin, F_SETFL,
	    fcntl(adapter->agent_stdin, F_GETFL) | O_NONBLOCK);

	saved_errno = read_exec_status(status_pipe[0]);
	close(status_pipe[0]);
	return saved_errno;

fail_stdin:
	saved_errno = errno;
	close(stdin_pipe[0]);
	close(stdin_pipe[1]);
	errno = saved_errno;
fail_env:
	free(env);
	return -1;
}

/* Joins COMMAND and its arguments with spaces, for info command. */
static void
format_command(char **argv, char *out, size_t size)
{
	size_t used = 0;
	int written;

	out[0] = '\0';
	for (; *argv != NULL && used < size; argv++) {
		written = snprintf(out + used, size - used, "%s%s",
		    used > 0 ? " " : "", *argv);
		if (written < 0)
			return;
		used += (size_t)written;
	}
}

/* Describes a wait status for the log: "exited with status 3". */
static void
describe_status(int status, char *out, size_t size)
{
	if (WIFSIGNALED(status)) {
		snprintf(out, size, "was killed by signal %d (%s), exit status %d",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    cake_adapter_exit_status(status));
		return;
	}
	snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
}

static void
close_agent_stdin(struct exec_adapter *adapter)
{
	if (adapter->agent_stdin == -1)
		return;
	close(adapter->agent_stdin);
	adapter->agent_stdin = -1;
}

static void __attribute__((format(printf, 2, 3)))
fail_pending(struct exec_adapter *adapter, const char *format, ...)
{
	char reason[256];
	va_list ap;

	if (!adapter->has_pending)
		return;
	va_start(ap, format);
	vsnprintf(reason, sizeof reason, format, ap);
	va_end(ap);
	cake_adapter_failed(adapter->channel, adapter->pending_id, "%s", reason);
	adapter->has_pending = 0;
}

/*
 * Writes as much of the pending intervention as the agent's stdin pipe
 * takes. Sends delivered once all of it is written, or failed when the
 * pipe is closed.
 */
static void
flush_pending(struct exec_adapter *adapter)
{
	ssize_t written;

	while (adapter->pending_written < adapter->pending_length) {
		written = write(adapter->agent_stdin,
		    adapter->pending + adapter->pending_written,
		    adapter->pending_length - adapter->pending_written);
		if (written >= 0) {
			adapter->pending_written += (size_t)written;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;

		if (errno == EPIPE)
			fail_pending(adapter, "agent stdin is closed");
		else
			fail_pending(adapter, "writing to the agent's stdin "
			    "failed: %s", strerror(errno));
		close_agent_stdin(adapter);
		return;
	}

	adapter->has_pending = 0;
	cake_adapter_delivered(adapter->channel, adapter->pending_id);
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO,
	    "Intervention %s delivered to the agent's stdin",
	    adapter->pending_id);
}

static void
handle_intervene(struct exec_adapter *adapter, const struct cake_adapter_msg *msg)
{
	size_t length = strlen(msg->text);

	if (length == 0) {
		cake_adapter_failed(adapter->channel, msg->id,
		    "intervention text is empty");
		return;
	}
	if (adapter->stopping) {
		cake_adapter_failed(adapter->channel, msg->id,
		    "adapter is stopping the agent");
		return;
	}
	if (adapter->agent_stdin == -1) {
		cake_adapter_failed(adapter->channel, msg->id,
		    "agent stdin is closed");
		return;
	}
	if (adapter->has_pending) {
		cake_adapter_failed(adapter->channel, msg->id,
		    "agent stdin is full: the agent has not read intervention "
		    "%s yet", adapter->pending_id);
		return;
	}

	snprintf(adapter->pending_id, sizeof adapter->pending_id, "%s", msg->id);
	memcpy(adapter->pending, msg->text, length);
	adapter->pending[length] = '\n';
	adapter->pending_length = length + 1;
	adapter->pending_written = 0;
	adapter->has_pending = 1;
	flush_pending(adapter);
}

/*
 * Starts stopping the agent: closes its stdin and sends SIGTERM to the
 * process group, which the agent shares with the adapter. The adapter's
 * own copy of that SIGTERM arrives while stopping and changes nothing.
 */
static void __attribute__((format(printf, 2, 3)))
request_stop(struct exec_adapter *adapter, const char *format, ...)
{
	char reason[256];
	va_list ap;

	if (adapter->stopping)
		return;
	va_start(ap, format);
	vsnprintf(reason, sizeof reason, format, ap);
	va_end(ap);

	adapter->stopping = 1;
	adapter->deadline_ms = cake_adapter_monotonic_ms() + STOP_TIMEOUT_MS;
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO,
	    "%s: stopping agent pid %ld with SIGTERM", reason,
	    (long)adapter->agent_pid);
	fail_pending(adapter, "adapter is stopping the agent");
	close_agent_stdin(adapter);
	kill(-getpgrp(), SIGTERM);
}

/*
 * Moves a stop past its deadline to the next step: SIGKILL after SIGTERM,
 * giving up after SIGKILL. Returns -1 when the adapter should give up.
 *
 * NOTE: SIGKILL goes to the agent process only, because the adapter is in
 * the same process group. Descendants that ignore SIGTERM are left to the
 * supervisor's SIGKILL to the group.
 */
static int
escalate_stop(struct exec_adapter *adapter)
{
	if (adapter->killed) {
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_ERROR,
		    "agent pid %ld did not exit within %d ms of SIGKILL",
		    (long)adapter->agent_pid, STOP_TIMEOUT_MS);
		return -1;
	}
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN,
	    "agent pid %ld did not stop within %d ms of SIGTERM: sending SIGKILL",
	    (long)adapter->agent_pid, STOP_TIMEOUT_MS);
	kill(adapter->agent_pid, SIGKILL);
	adapter->killed = 1;
	adapter->deadline_ms = cake_adapter_monotonic_ms() + STOP_TIMEOUT_MS;
	return 0;
}

/*
 * Reaps the agent if it exited. Returns -1 while it runs, otherwise the
 * adapter's exit status: 0 when the adapter stopped it, else its mapped
 * exit status.
 */
static int
reap_agent(struct exec_adapter *adapter)
{
	char cause[128];
	pid_t pid;
	int status;

	do
		pid = waitpid(adapter->agent_pid, &status, WNOHANG);
	while (pid == -1 && errno == EINTR);
	if (pid <= 0)
		return -1;

	describe_status(status, cause, sizeof cause);
	fail_pending(adapter, "agent exited before reading the intervention");
	if (adapter->stopping) {
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO,
		    "agent stopped: it %s", cause);
		return 0;
	}
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_INFO, "agent %s", cause);
	return cake_adapter_exit_status(status);
}

static void
handle_message(struct exec_adapter *adapter, const struct cake_adapter_msg *msg)
{
	switch (msg->type) {
	case CAKE_ADAPTER_MSG_PING:
		cake_adapter_pong(adapter->channel, msg->seq);
		break;
	case CAKE_ADAPTER_MSG_INTERVENE:
		handle_intervene(adapter, msg);
		break;
	case CAKE_ADAPTER_MSG_SHUTDOWN:
		request_stop(adapter, "shutdown requested");
		break;
	case CAKE_ADAPTER_MSG_WELCOME:
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_DEBUG,
		    "ignored welcome after the handshake");
		break;
	case CAKE_ADAPTER_MSG_UNKNOWN:
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_DEBUG,
		    "ignored unknown message '%s'", msg->name);
		break;
	case CAKE_ADAPTER_MSG_INVALID:
		cake_adapter_log(adapter->channel, CAKE_ADAPTER_WARN,
		    "ignored invalid line from the supervisor: %s", msg->text);
		break;
	}
}

static void
read_channel(struct exec_adapter *adapter)
{
	struct cake_adapter_msg msg;
	int result;

	while ((result = cake_adapter_read(adapter->channel, &msg)) == 1)
		handle_message(adapter, &msg);
	if (result == 0)
		return;

	adapter->channel_open = 0;
	if (errno == 0)
		request_stop(adapter, "the supervisor closed fd %d",
		    CAKE_ADAPTER_FD);
	else
		request_stop(adapter, "reading fd %d failed: %s",
		    CAKE_ADAPTER_FD, strerror(errno));
}

/*
 * Handles the signals queued by signal_cb. Returns the adapter's exit
 * status once the agent is reaped, else -1. SIGTERM is handled before
 * SIGCHLD, so that an agent killed by the same group SIGTERM as the
 * adapter counts as stopped.
 *
 * NOTE: if the agent's SIGCHLD is read in an earlier batch than the
 * adapter's own copy of a group SIGTERM, the agent counts as killed by a
 * signal and the adapter exits 143 rather than 0.
 */
static int
read_signals(struct exec_adapter *adapter)
{
	unsigned char signals[64];
	ssize_t got, i;
	int term = 0, child = 0;

	while ((got = read(adapter->signal_fd, signals, sizeof signals)) > 0) {
		for (i = 0; i < got; i++) {
			term |= signals[i] == SIGTERM;
			child |= signals[i] == SIGCHLD;
		}
	}

	if (term)
		request_stop(adapter, "received SIGTERM");
	if (child)
		return reap_agent(adapter);
	return -1;
}

/* Runs until the agent exits. Returns the adapter's exit status. */
static int
run_loop(struct exec_adapter *adapter)
{
	struct pollfd fds[3];
	long long left;
	int timeout, exit_status;

	for (;;) {
		fds[0].fd = adapter->channel_open ?
		    cake_adapter_fd(adapter->channel) : -1;
		fds[0].events = POLLIN;
		fds[1].fd = adapter->signal_fd;
		fds[1].events = POLLIN;
		fds[2].fd = adapter->has_pending ? adapter->agent_stdin : -1;
		fds[2].events = POLLOUT;

		timeout = -1;
		if (adapter->stopping) {
			left = adapter->deadline_ms - cake_adapter_monotonic_ms();
			timeout = left > 0 ? (int)left : 0;
		}

		if (poll(fds, 3, timeout) == -1) {
			if (errno == EINTR)
				continue;
			cake_adapter_log(adapter->channel, CAKE_ADAPTER_ERROR,
			    "poll failed (%s), killing agent pid %ld",
			    strerror(errno), (long)adapter->agent_pid);
			kill(adapter->agent_pid, SIGKILL);
			return CAKE_ADAPTER_EXIT_SOFTWARE;
		}

		if (fds[1].revents != 0) {
			exit_status = read_signals(adapter);
			if (exit_status != -1)
				return exit_status;
		}
		if (fds[2].revents != 0 && adapter->has_pending)
			flush_pending(adapter);
		if (fds[0].revents != 0)
			read_channel(adapter);

		if (adapter->stopping && cake_adapter_monotonic_ms() >= adapter->deadline_ms &&
		    escalate_stop(adapter) == -1)
			return CAKE_ADAPTER_EXIT_SOFTWARE;
	}
}

/*
 * Makes the adapter a process group leader, so that the group it signals
 * contains the agent and not the program that started the adapter. The
 * supervisor already starts adapters as group leaders, so this matters for
 * runs by hand, for example under socat.
 */
static int
lead_process_group(void)
{
	if (getpgrp() == getpid())
		return 0;
	return setpgid(0, 0);
}

/* Reports a failure to start the agent. Returns the exit status to use. */
static int __attribute__((format(printf, 2, 3)))
fail_start(struct exec_adapter *adapter, const char *format, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, format);
	vsnprintf(message, sizeof message, format, ap);
	va_end(ap);
	cake_adapter_log(adapter->channel, CAKE_ADAPTER_ERROR, "%s", message);
	cake_adapter_health(adapter->channel, CAKE_ADAPTER_UNHEALTHY, message);
	return CAKE_ADAPTER_EXIT_SOFTWARE;
}

int
main(int argc, char **argv)
{
	struct exec_adapter adapter = { .agent_stdin = -1 };
	char error[512], command[CAKE_ADAPTER_LINE_MAX];
	int exec_errno, status, exit_status;

	if (argc < 2) {
		usage();
		return CAKE_ADAPTER_EXIT_USAGE;
	}
	adapter.argv = argv + 1;
	signal(SIGPIPE, SIG_IGN);

	adapter.channel = cake_adapter_connect(ADAPTER_NAME, 0, error, sizeof error);
	if (adapter.channel == NULL) {
		fprintf(stderr, "cake-adapter-" ADAPTER_NAME ": %s\n", error);
		return CAKE_ADAPTER_EXIT_SOFTWARE;
	}
	adapter.channel_open = 1;

	if (lead_process_group() == -1) {
		exit_status = fail_start(&adapter, "cannot create a process "
		    "group for the agent: %s", strerror(errno));
		goto done;
	}
	if (cake_adapter_signal_pipe(&adapter.signal_fd) == -1) {
		exit_status = fail_start(&adapter, "cannot set up signal "
		    "handling: %s", strerror(errno));
		goto done;
	}

	exec_errno = start_agent(&adapter);
	if (exec_errno == -1) {
		exit_status = fail_start(&adapter, "cannot start the agent "
		    "'%s': %s", adapter.argv[0], strerror(errno));
		goto done;
	}
	if (exec_errno != 0) {
		/* The child reports the error on stderr too and exits 127. */
		fail_start(&adapter, "cannot run '%s': %s", adapter.argv[0],
		    strerror(exec_errno));
		exit_status = EXIT_EXEC_FAILED;
		if (waitpid(adapter.agent_pid, &status, 0) > 0)
			exit_status = cake_adapter_exit_status(status);
		goto done;
	}

	format_command(adapter.argv, command, sizeof command);
	cake_adapter_info(adapter.channel, "agent_pid", "%ld",
	    (long)adapter.agent_pid);
	cake_adapter_info(adapter.channel, "command", "%s", command);
	cake_adapter_health(adapter.channel, CAKE_ADAPTER_HEALTHY, NULL);

	exit_status = run_loop(&adapter);

done:
	close_agent_stdin(&adapter);
	cake_adapter_close(adapter.channel);
	return exit_status;
}
