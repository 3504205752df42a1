/*
 * `cake status` and `cake stop`: clients of the running supervisor's
 * control socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd.h"
#include "control.h"
#include "paths.h"

#define STATUS_TIMEOUT_MS 5000

/* Writes $CAKE_HOME/NAME to OUT. */
static int
home_path(const char *name, char *out, size_t size)
{
	char home[PATH_MAX];

	if (paths_cake_home(home, sizeof home) < 0) {
		cmd_error("cannot locate CAKE_HOME: set CAKE_HOME or HOME");
		return -1;
	}
	return paths_join(out, size, home, name);
}

static int
not_running(const char *socket_path, const char *error)
{
	cmd_error("CAKE is not running (no supervisor answers on %s); start it with `cake start`",
	    socket_path);
	(void)error;
	return EXIT_FAILURE_STATUS;
}

int
cmd_status(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char socket_path[PATH_MAX], error[512];
	struct json_object *request, *reply = NULL, *ok;
	enum control_result result;
	int option;

	optind = 1;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		if (option == 'h') {
			printf("usage: cake status\n\nPrints the running instance's status as JSON.\n");
			return EXIT_OK;
		}
		if (option != 'c') {
			fprintf(stderr, "usage: cake status\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "usage: cake status\n");
		return EXIT_USAGE;
	}
	if (home_path(CONTROL_SOCKET_NAME, socket_path, sizeof socket_path) < 0)
		return EXIT_USAGE;

	request = json_object_new_object();
	json_object_object_add(request, "command", json_object_new_string("status"));
	result = control_call(socket_path, request, &reply, STATUS_TIMEOUT_MS, error, sizeof error);
	json_object_put(request);
	if (result == CONTROL_NOT_RUNNING)
		return not_running(socket_path, error);
	if (result != CONTROL_OK) {
		cmd_error("status failed: %s", error);
		return EXIT_INTERNAL;
	}

	json_object_object_get_ex(reply, "ok", &ok);
	json_object_object_del(reply, "ok");
	printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(reply);
	return EXIT_OK;
}

/* Returns 1 once no process holds the instance lock, so the supervisor has exited. */
static int
lock_released(const char *lock_path)
{
	int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
	int released;

	if (fd < 0)
		return 1;
	released = flock(fd, LOCK_SH | LOCK_NB) == 0;
	close(fd);
	return released;
}

static long
lock_holder(const char *lock_path)
{
	char text[32] = "";
	int fd = open(lock_path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	return strtol(text, NULL, 10);
}

static int
wait_released(const char *lock_path, int seconds)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };

	for (int i = 0; i < seconds * 20; i++) {
		if (lock_released(lock_path))
			return 0;
		nanosleep(&pause, NULL);
	}
	return -1;
}

/* Flags shared by `cake stop` and `cake restart`. */
struct stop_flags {
	long timeout;		/* seconds before the remaining processes are killed */
	int force;
};

/*
 * Parses [--graceful] [--timeout=SECONDS] [--force] for COMMAND ("stop" or
 * "restart"); HELP describes what the command does. Returns -1 when the
 * flags are valid, or the exit status when the command is done (help
 * printed, or invalid flags).
 */
static int
parse_stop_flags(int argc, char **argv, const char *command, const char *help, struct stop_flags *flags)
{
	static const struct option long_options[] = {
		{ "graceful", no_argument, NULL, 'g' },
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int option;
	char *end;

	flags->timeout = 30;
	flags->force = 0;
	optind = 1;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (option) {
		case 'g':
		case 'c':
			break;
		case 'f':
			flags->force = 1;
			break;
		case 't':
			errno = 0;
			flags->timeout = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || flags->timeout < 1 || flags->timeout > 3600) {
				cmd_error("invalid --timeout '%s': expected seconds from 1 to 3600", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			printf("usage: cake %s [--graceful] [--timeout=SECONDS] [--force]\n\n%s\n"
			    "  --graceful         send SIGTERM to each process, newest first (the default)\n"
			    "  --timeout=SECONDS  kill what is still running after this long (default 30)\n"
			    "  --force            kill every process at once\n", command, help);
			return EXIT_OK;
		default:
			fprintf(stderr, "usage: cake %s [--graceful] [--timeout=SECONDS] [--force]\n", command);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "usage: cake %s [--graceful] [--timeout=SECONDS] [--force]\n", command);
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_stop(int argc, char **argv)
{
	char socket_path[PATH_MAX], lock_path[PATH_MAX], error[512];
	struct json_object *request, *reply = NULL;
	enum control_result result;
	struct stop_flags flags;
	long timeout;
	int force, rc;

	rc = parse_stop_flags(argc, argv, "stop", "Stops the running instance.", &flags);
	if (rc >= 0)
		return rc;
	timeout = flags.timeout;
	force = flags.force;
	if (home_path(CONTROL_SOCKET_NAME, socket_path, sizeof socket_path) < 0 ||
	    home_path("cake.lock", lock_path, sizeof lock_path) < 0)
		return EXIT_USAGE;

	request = json_object_new_object();
	json_object_object_add(request, "command", json_object_new_string("stop"));
	json_object_object_add(request, "timeout", json_object_new_int((int)timeout));
	json_object_object_add(request, "force", json_object_new_boolean(force));
	result = control_call(socket_path, request, &reply, STATUS_TIMEOUT_MS, error, sizeof error);
	json_object_put(request);
	json_object_put(reply);

	if (result != CONTROL_OK) {
		long pid = lock_released(lock_path) ? -1 : lock_holder(lock_path);

		if (pid <= 0)
			return not_running(socket_path, error);
		if (!force) {
			cmd_error("supervisor pid %ld holds the lock but does not answer (%s); use `cake stop --force`",
			    pid, error);
			return EXIT_FAILURE_STATUS;
		}
		/* Its workers die with it: they hold a parent-death signal. */
		kill((pid_t)pid, SIGKILL);
	}

	if (wait_released(lock_path, (int)timeout + 5) < 0) {
		cmd_error("CAKE is still running after %ld s; use `cake stop --force`", timeout + 5);
		return EXIT_FAILURE_STATUS;
	}
	printf("CAKE stopped\n");
	return EXIT_OK;
}

int
cmd_restart(int argc, char **argv)
{
	char socket_path[PATH_MAX], error[512];
	struct json_object *request, *reply = NULL, *value;
	enum control_result result;
	struct stop_flags flags;
	long timeout;
	int force, ok, rc;

	rc = parse_stop_flags(argc, argv, "restart",
	    "Stops every process of the running instance, newest first, and starts them\n"
	    "again. The supervisor and its state stay.", &flags);
	if (rc >= 0)
		return rc;
	timeout = flags.timeout;
	force = flags.force;

	if (home_path(CONTROL_SOCKET_NAME, socket_path, sizeof socket_path) < 0)
		return EXIT_USAGE;

	request = json_object_new_object();
	json_object_object_add(request, "command", json_object_new_string("restart"));
	json_object_object_add(request, "timeout", json_object_new_int((int)timeout));
	json_object_object_add(request, "force", json_object_new_boolean(force));
	result = control_call(socket_path, request, &reply, STATUS_TIMEOUT_MS, error, sizeof error);
	json_object_put(request);
	if (result == CONTROL_NOT_RUNNING)
		return not_running(socket_path, error);
	if (result != CONTROL_OK) {
		cmd_error("restart failed: %s", error);
		return EXIT_INTERNAL;
	}

	json_object_object_get_ex(reply, "ok", &value);
	ok = json_object_get_boolean(value);
	if (!ok) {
		json_object_object_get_ex(reply, "error", &value);
		cmd_error("restart rejected: %s", json_object_get_string(value));
	} else {
		printf("CAKE is restarting its processes; `cake status` shows their progress\n");
	}
	json_object_put(reply);
	return ok ? EXIT_OK : EXIT_FAILURE_STATUS;
}
