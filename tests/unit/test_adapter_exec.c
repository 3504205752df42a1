/*
 * Tests of cake-adapter-exec. Each test plays the supervisor: it starts
 * the built adapter with the control socket on fd 3 and pipes on fds 1 and
 * 2, in its own process group, and speaks the line protocol to it.
 */
#define _GNU_SOURCE

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ADAPTER_PATH CAKE_BUILD_DIR "/libexec/cake/cake-adapter-exec"

/*
 * Upper bound on any single wait, so that a broken adapter fails the test
 * instead of hanging it. It is not a performance threshold.
 */
#define HANG_GUARD_MS 30000

#define INTERVENTION_TEXT \
	"Operator (CAKE): Stop. Run pip install x. See requirements.txt."

struct adapter_run {
	pid_t pid;		/* also the adapter's process group */
	int reaped;
	int control;		/* the supervisor's end of fd 3 */
	int out;		/* read end of the adapter's fd 1 */
	int err;		/* read end of the adapter's fd 2 */
	char buffer[65536];	/* control bytes not yet returned as lines */
	size_t length;
};

static struct adapter_run run = { .pid = -1, .control = -1, .out = -1, .err = -1 };

static long long
monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * Starts the adapter with ARGV (argv[0] included). When CAKE_FOO is not
 * NULL the adapter gets it as environment variable CAKE_FOO.
 */
static void
adapter_start(char *const argv[], const char *cake_foo)
{
	int sockets[2], out[2], err[2], null_fd;
	int sources[4], i;
	pid_t pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(null_fd, 0);

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		setpgid(0, 0);

		/* Copy every source above the targets first, so no dup2 overwrites a source. */
		sources[0] = null_fd;
		sources[1] = out[1];
		sources[2] = err[1];
		sources[3] = sockets[1];
		for (i = 0; i < 4; i++)
			sources[i] = fcntl(sources[i], F_DUPFD, 10);
		for (i = 0; i < 4; i++) {
			if (sources[i] == -1 || dup2(sources[i], i) == -1)
				_exit(126);
		}
		closefrom(4);

		if (cake_foo != NULL)
			setenv("CAKE_FOO", cake_foo, 1);
		execv(ADAPTER_PATH, argv);
		_exit(126);
	}

	/* The child sets it too. Setting it here as well closes the race with kill(-pid). */
	setpgid(pid, pid);
	close(null_fd);
	close(out[1]);
	close(err[1]);
	close(sockets[1]);
	run.pid = pid;
	run.reaped = 0;
	run.control = sockets[0];
	run.out = out[0];
	run.err = err[0];
	run.length = 0;
}

static void
adapter_cleanup(void)
{
	if (run.pid > 0 && !run.reaped) {
		kill(-run.pid, SIGKILL);
		waitpid(run.pid, NULL, 0);
	}
	if (run.control != -1)
		close(run.control);
	if (run.out != -1)
		close(run.out);
	if (run.err != -1)
		close(run.err);
}

/* Waits until FD is readable. Fails the test when the hang guard expires. */
static void
wait_readable(int fd, const char *what)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int ready;

	do
		ready = poll(&pfd, 1, HANG_GUARD_MS);
	while (ready == -1 && errno == EINTR);
	cr_assert_eq(ready, 1, "no data on %s within %d ms", what, HANG_GUARD_MS);
}

/* Reads the next control line into LINE without its newline. Returns 0 at EOF. */
static int
next_line(char *line, size_t size)
{
	char *newline;
	size_t length;
	ssize_t got;

	for (;;) {
		newline = memchr(run.buffer, '\n', run.length);
		if (newline != NULL) {
			length = (size_t)(newline - run.buffer);
			cr_assert_lt(length, size, "control line longer than %zu bytes", size);
			memcpy(line, run.buffer, length);
			line[length] = '\0';
			run.length -= length + 1;
			memmove(run.buffer, newline + 1, run.length);
			return 1;
		}
		cr_assert_lt(run.length, sizeof run.buffer, "control line without newline");

		wait_readable(run.control, "the control socket");
		got = read(run.control, run.buffer + run.length,
		    sizeof run.buffer - run.length);
		cr_assert_geq(got, 0, "reading the control socket failed: %s",
		    strerror(errno));
		if (got == 0)
			return 0;
		run.length += (size_t)got;
	}
}

/* Reads the next control line that is not a log message. */
static void
next_message(char *line, size_t size)
{
	do
		cr_assert_eq(next_line(line, size), 1, "control socket closed early");
	while (strncmp(line, "log ", 4) == 0);
}

/* Reads control lines until one starts with PREFIX, and stores that one in LINE. */
static void
find_line(const char *prefix, char *line, size_t size)
{
	do
		cr_assert_eq(next_line(line, size), 1,
		    "control socket closed before a line starting with '%s'", prefix);
	while (strncmp(line, prefix, strlen(prefix)) != 0);
}

static void
send_line(const char *line)
{
	size_t length = strlen(line);
	ssize_t written;

	written = send(run.control, line, length, MSG_NOSIGNAL);
	cr_assert_eq(written, (ssize_t)length, "sending '%.40s' failed", line);
	cr_assert_eq(send(run.control, "\n", 1, MSG_NOSIGNAL), 1);
}

/* Checks hello, sends welcome and reads the lines up to health. */
static void
handshake(const char *command)
{
	char line[16384], expected[16384];
	int saw_pid = 0, saw_command = 0;

	next_message(line, sizeof line);
	cr_assert_str_eq(line, "hello 1 exec");
	send_line("welcome 1");

	for (;;) {
		next_message(line, sizeof line);
		if (strncmp(line, "health ", 7) == 0)
			break;
		if (strncmp(line, "info agent_pid ", 15) == 0)
			saw_pid = atoi(line + 15) > 0;
		snprintf(expected, sizeof expected, "info command %s", command);
		if (strcmp(line, expected) == 0)
			saw_command = 1;
	}
	cr_assert_str_eq(line, "health healthy");
	cr_assert(saw_pid, "no 'info agent_pid N' before health");
	cr_assert(saw_command, "no 'info command %s' before health", command);
}

/* Waits for the adapter to exit and returns its wait status. */
static int
wait_adapter(void)
{
	struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
	long long deadline = monotonic_ms() + HANG_GUARD_MS;
	pid_t pid;
	int status;

	for (;;) {
		pid = waitpid(run.pid, &status, WNOHANG);
		cr_assert_neq(pid, -1, "waitpid failed: %s", strerror(errno));
		if (pid == run.pid)
			break;
		cr_assert_lt(monotonic_ms(), deadline,
		    "the adapter did not exit within %d ms", HANG_GUARD_MS);
		nanosleep(&pause, NULL);
	}
	run.reaped = 1;
	return status;
}

/* Reads FD until EOF into OUT (NUL-terminated). */
static void
read_all(int fd, char *out, size_t size, const char *what)
{
	size_t used = 0;
	ssize_t got;

	for (;;) {
		wait_readable(fd, what);
		got = read(fd, out + used, size - 1 - used);
		cr_assert_geq(got, 0, "reading %s failed: %s", what, strerror(errno));
		if (got == 0)
			break;
		used += (size_t)got;
		cr_assert_lt(used, size - 1, "%s has more than %zu bytes", what, size);
	}
	out[used] = '\0';
}

/* Reads FD until TEXT has appeared, keeping the output read so far in OUT. */
static void
read_until(int fd, const char *text, char *out, size_t size, const char *what)
{
	size_t used = 0;
	ssize_t got;

	out[0] = '\0';
	while (strstr(out, text) == NULL) {
		wait_readable(fd, what);
		got = read(fd, out + used, size - 1 - used);
		cr_assert_gt(got, 0, "%s ended before '%s'", what, text);
		used += (size_t)got;
		out[used] = '\0';
	}
}

/* Returns whether any process is left in the adapter's process group. */
static int
group_alive(void)
{
	return kill(-run.pid, 0) == 0 || errno != ESRCH;
}

/* Runs the adapter on a long sleep, ready for a stop test. */
static void
start_sleeper(void)
{
	char *argv[] = { "cake-adapter-exec", "sleep", "100", NULL };

	adapter_start(argv, NULL);
	handshake("sleep 100");
}

TestSuite(adapter_exec, .fini = adapter_cleanup);

Test(adapter_exec, intervention_round_trip)
{
	char *argv[] = { "cake-adapter-exec", "sh", "-c",
	    "echo out; echo err >&2; read line; echo \"got:$line\"", NULL };
	char line[16384], out[4096], err[4096];
	int status;

	adapter_start(argv, NULL);
	handshake("sh -c echo out; echo err >&2; read line; echo \"got:$line\"");

	send_line("intervene 7 " INTERVENTION_TEXT);
	next_message(line, sizeof line);
	cr_assert_str_eq(line, "delivered 7");

	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0);

	read_all(run.out, out, sizeof out, "stdout");
	read_all(run.err, err, sizeof err, "stderr");
	cr_assert_str_eq(out, "out\ngot:" INTERVENTION_TEXT "\n");
	cr_assert_str_eq(err, "err\n");
}

Test(adapter_exec, intervention_logged)
{
	char *argv[] = { "cake-adapter-exec", "sh", "-c", "read line", NULL };
	char line[16384];

	adapter_start(argv, NULL);
	handshake("sh -c read line");

	send_line("intervene 9 hello");
	find_line("log INFO Intervention 9", line, sizeof line);
	cr_assert_str_eq(line, "log INFO Intervention 9 delivered to the agent's stdin");
	find_line("log INFO agent", line, sizeof line);
	cr_assert_str_eq(line, "log INFO agent exited with status 0");
}

Test(adapter_exec, ping_pong)
{
	char line[16384];

	start_sleeper();

	send_line("ping 42");
	next_message(line, sizeof line);
	cr_assert_str_eq(line, "pong 42");

	send_line("ping a b");
	next_message(line, sizeof line);
	cr_assert_str_eq(line, "pong a b");
}

Test(adapter_exec, shutdown_stops_agent)
{
	char line[16384];
	int status;

	start_sleeper();

	send_line("shutdown");
	find_line("log INFO agent stopped", line, sizeof line);
	cr_assert_str_eq(line, "log INFO agent stopped: it was killed by signal 15 "
	    "(Terminated), exit status 143");
	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0);
	cr_assert_not(group_alive(), "a process is left in the adapter's group");
}

Test(adapter_exec, sigterm_stops_agent)
{
	char line[16384];
	int status;

	start_sleeper();

	cr_assert_eq(kill(run.pid, SIGTERM), 0);
	find_line("log INFO agent stopped", line, sizeof line);
	cr_assert_str_eq(line, "log INFO agent stopped: it was killed by signal 15 "
	    "(Terminated), exit status 143");
	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0);
	cr_assert_not(group_alive(), "a process is left in the adapter's group");
}

Test(adapter_exec, control_eof_stops_agent)
{
	int status;

	start_sleeper();

	close(run.control);
	run.control = -1;
	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0);
	cr_assert_not(group_alive(), "a process is left in the adapter's group");
}

Test(adapter_exec, cake_env_hidden)
{
	char *argv[] = { "cake-adapter-exec", "sh", "-c",
	    "echo ${CAKE_FOO:-unset} ${PATH:+path-set}", NULL };
	char out[4096];
	int status;

	adapter_start(argv, "secret");
	handshake("sh -c echo ${CAKE_FOO:-unset} ${PATH:+path-set}");

	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0);
	read_all(run.out, out, sizeof out, "stdout");
	cr_assert_str_eq(out, "unset path-set\n");
}

Test(adapter_exec, exit_code_passed)
{
	char *argv[] = { "cake-adapter-exec", "sh", "-c", "exit 3", NULL };
	char line[16384];
	int status;

	adapter_start(argv, NULL);
	handshake("sh -c exit 3");

	find_line("log INFO agent", line, sizeof line);
	cr_assert_str_eq(line, "log INFO agent exited with status 3");
	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 3);
}

Test(adapter_exec, signal_death_mapped)
{
	char *argv[] = { "cake-adapter-exec", "sh", "-c", "kill -9 $$", NULL };
	int status;

	adapter_start(argv, NULL);
	handshake("sh -c kill -9 $$");

	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 137);
}

Test(adapter_exec, missing_command)
{
	char *argv[] = { "cake-adapter-exec", "/nonexistent/cake-test-agent", NULL };
	char line[16384], err[4096];
	int status;

	adapter_start(argv, NULL);
	next_message(line, sizeof line);
	cr_assert_str_eq(line, "hello 1 exec");
	send_line("welcome 1");

	find_line("log ERROR", line, sizeof line);
	cr_assert_str_eq(line, "log ERROR cannot run '/nonexistent/cake-test-agent': "
	    "No such file or directory");
	next_message(line, sizeof line);
	cr_assert_str_eq(line, "health unhealthy cannot run "
	    "'/nonexistent/cake-test-agent': No such file or directory");

	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 127);
	read_all(run.err, err, sizeof err, "stderr");
	cr_assert(strstr(err, "cake-adapter-exec: running '/nonexistent/cake-test-agent' "
	    "failed: No such file or directory") != NULL, "stderr: %s", err);
}

Test(adapter_exec, no_arguments)
{
	char *argv[] = { "cake-adapter-exec", NULL };
	char err[4096];
	int status;

	adapter_start(argv, NULL);

	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 64);
	read_all(run.err, err, sizeof err, "stderr");
	cr_assert(strncmp(err, "usage: cake-adapter-exec COMMAND", 32) == 0,
	    "stderr: %s", err);
}

Test(adapter_exec, eof_before_welcome)
{
	char *argv[] = { "cake-adapter-exec", "sleep", "100", NULL };
	char line[16384], err[4096];
	int status;

	adapter_start(argv, NULL);
	next_message(line, sizeof line);
	close(run.control);
	run.control = -1;

	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 70);
	read_all(run.err, err, sizeof err, "stderr");
	cr_assert_str_eq(err, "cake-adapter-exec: the supervisor closed fd 3 "
	    "before sending welcome\n");
}

Test(adapter_exec, protocol_version_mismatch)
{
	char *argv[] = { "cake-adapter-exec", "sleep", "100", NULL };
	char line[16384], err[4096];
	int status;

	adapter_start(argv, NULL);
	next_message(line, sizeof line);
	send_line("welcome 2");

	status = wait_adapter();
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 70);
	read_all(run.err, err, sizeof err, "stderr");
	cr_assert(strstr(err, "protocol version 2") != NULL, "stderr: %s", err);
	cr_assert_not(group_alive(), "the agent was started without welcome");
}

Test(adapter_exec, closed_stdin_fails)
{
	char *argv[] = { "cake-adapter-exec", "sh", "-c",
	    "exec 0<&-; echo ready; sleep 100", NULL };
	char line[16384], out[4096];

	adapter_start(argv, NULL);
	handshake("sh -c exec 0<&-; echo ready; sleep 100");
	read_until(run.out, "ready\n", out, sizeof out, "stdout");

	send_line("intervene 8 " INTERVENTION_TEXT);
	next_message(line, sizeof line);
	cr_assert_str_eq(line, "failed 8 agent stdin is closed");

	send_line("intervene 9 " INTERVENTION_TEXT);
	next_message(line, sizeof line);
	cr_assert_str_eq(line, "failed 9 agent stdin is closed");
}

/*
 * An agent that never reads its stdin fills the pipe. The adapter keeps
 * one partly written intervention and rejects the next one. A ping after
 * each intervention marks where the adapter's answers to it end.
 */
Test(adapter_exec, full_stdin_bounded)
{
	static char request[8192], expected[256], line[16384];
	char text[8000];
	int id, pending_id = 0, failed_id = 0;

	start_sleeper();
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';

	for (id = 1; id <= 200 && failed_id == 0; id++) {
		snprintf(request, sizeof request, "intervene %d %s", id, text);
		send_line(request);
		snprintf(request, sizeof request, "ping %d", id);
		send_line(request);

		next_message(line, sizeof line);
		snprintf(expected, sizeof expected, "pong %d", id);
		if (strcmp(line, expected) == 0) {
			cr_assert_eq(pending_id, 0, "interventions %d and %d both pending",
			    pending_id, id);
			pending_id = id;
			continue;
		}
		if (strncmp(line, "failed ", 7) == 0) {
			failed_id = id;
			break;
		}
		snprintf(expected, sizeof expected, "delivered %d", id);
		cr_assert_str_eq(line, expected);
		next_message(line, sizeof line);
		snprintf(expected, sizeof expected, "pong %d", id);
		cr_assert_str_eq(line, expected);
	}

	cr_assert_neq(pending_id, 0, "no intervention was left pending");
	cr_assert_eq(failed_id, pending_id + 1);
	snprintf(expected, sizeof expected,
	    "failed %d agent stdin is full: the agent has not read intervention %d yet",
	    failed_id, pending_id);
	cr_assert_str_eq(line, expected);

	send_line("shutdown");
	next_message(line, sizeof line);
	snprintf(expected, sizeof expected, "pong %d", failed_id);
	cr_assert_str_eq(line, expected);
	next_message(line, sizeof line);
	snprintf(expected, sizeof expected,
	    "failed %d adapter is stopping the agent", pending_id);
	cr_assert_str_eq(line, expected);
}

Test(adapter_exec, bad_lines_ignored)
{
	static char request[9001];
	char line[16384];

	start_sleeper();

	memset(request, 'y', sizeof request - 1);
	send_line(request);
	send_line("frobnicate 1 2");
	send_line("ping 1");

	next_line(line, sizeof line);
	cr_assert_str_eq(line, "log WARN ignored invalid line from the supervisor: "
	    "line longer than 8192 bytes");
	next_line(line, sizeof line);
	cr_assert_str_eq(line, "log DEBUG ignored unknown message 'frobnicate'");
	next_line(line, sizeof line);
	cr_assert_str_eq(line, "pong 1");
}

Test(adapter_exec, empty_intervention_fails)
{
	char line[16384];

	start_sleeper();

	send_line("intervene 5");
	next_message(line, sizeof line);
	cr_assert_str_eq(line, "failed 5 intervention text is empty");
}
