/*
 * `cake health`: a fast yes or no for container health checks, and `cake
 * self-test`: checks that an installation can run (database, config,
 * components, adapter, metrics endpoint).
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "cmd.h"
#include "http.h"
#include "instance.h"
#include "log.h"
#include "metrics.h"
#include "operator/voice.h"
#include "paths.h"
#include "recall/store.h"
#include "watchdog/rules.h"

#define MARK_PASS "\xe2\x9c\x93"	/* U+2713 CHECK MARK */
#define MARK_FAIL "\xe2\x9c\x97"	/* U+2717 BALLOT X */

#define HEALTH_TIMEOUT_DEFAULT_MS 3000
#define SELF_TEST_STATUS_TIMEOUT_MS 3000
#define SELF_TEST_HTTP_TIMEOUT_MS 5000
#define ADAPTER_HANDSHAKE_TIMEOUT_MS 10000

static int
parse_timeout(const char *text, int *timeout_ms)
{
	char *end;
	long seconds;

	errno = 0;
	seconds = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || seconds < 1 || seconds > 60) {
		cmd_error("invalid --timeout '%s': expected seconds from 1 to 60", text);
		return -1;
	}
	*timeout_ms = (int)seconds * 1000;
	return 0;
}

/*
 * Lists in ERRORS (comma-separated) what keeps the instance from being
 * healthy, with the same names as /health: "watchdog_backoff",
 * "adapter_unhealthy".
 */
static void
status_errors(struct json_object *status, char *errors, size_t size)
{
	struct json_object *processes;
	size_t used = 0;

	errors[0] = '\0';
	if (json_object_object_get_ex(status, "processes", &processes)) {
		json_object_object_foreach(processes, name, process) {
			const char *state = instance_string(process, "state", "unknown");

			if (strcmp(state, "ready") == 0)
				continue;
			used += (size_t)snprintf(errors + used, used < size ? size - used : 0, "%s%s_%s",
			    used > 0 ? ", " : "", name, state);
		}
	}
	if (strcmp(instance_string(status, "adapter_health", "unknown"), "unhealthy") == 0)
		snprintf(errors + used, used < size ? size - used : 0, "%sadapter_unhealthy", used > 0 ? ", " : "");
}

static void
health_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake health [--timeout=SECONDS] [--config=FILE]\n"
	    "\n"
	    "Asks the running instance for its status on the control socket and prints\n"
	    "\"healthy\" (exit 0) or \"unhealthy: REASONS\" (exit 1).\n"
	    "\n"
	    "  --timeout=SECONDS  give up and report unhealthy after this long (default 3)\n"
	    "  --config=FILE      config file (default ./cake_config.yaml, then $CAKE_HOME/cake_config.yaml)\n");
}

int
cmd_health(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct instance instance;
	const char *config_path = NULL;
	int timeout_ms = HEALTH_TIMEOUT_DEFAULT_MS;
	char errors[1024];
	int option, rc;

	optind = 1;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (option) {
		case 't':
			if (parse_timeout(optarg, &timeout_ms) < 0)
				return EXIT_USAGE;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			health_usage(stdout);
			return EXIT_OK;
		default:
			health_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		health_usage(stderr);
		return EXIT_USAGE;
	}

	rc = instance_open(&instance, config_path, timeout_ms);
	if (rc != EXIT_OK)
		return rc;
	if (instance.status == NULL) {
		printf("unhealthy: %s\n", instance.status_error);
		instance_close(&instance);
		return EXIT_FAILURE_STATUS;
	}

	status_errors(instance.status, errors, sizeof errors);
	if (errors[0] != '\0')
		printf("unhealthy: %s\n", errors);
	else
		printf("healthy\n");
	instance_close(&instance);
	return errors[0] != '\0' ? EXIT_FAILURE_STATUS : EXIT_OK;
}

/* ---- self-test ---- */

struct self_test {
	struct instance instance;
	const char *adapter;		/* --adapter, "exec" by default */
	int failed;
};

static void
report(struct self_test *test, int passed, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
report(struct self_test *test, int passed, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", passed ? MARK_PASS : MARK_FAIL);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!passed)
		test->failed = 1;
}

/*
 * Opens recall.db read-only and runs the schema verification of `cake db
 * verify`, keeping its output for the failure line.
 */
static void
check_database(struct self_test *test)
{
	const char *path = test->instance.config.database_path;
	char *output = NULL, *failure;
	size_t length = 0;
	struct stat st;
	sqlite3 *db = NULL;
	FILE *out;
	int rc;

	if (stat(path, &st) < 0) {
		report(test, 0, "Database connection failed: %s: %s; run `cake db upgrade`", path, strerror(errno));
		return;
	}
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		report(test, 0, "Database connection failed: %s: %s", path,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return;
	}
	sqlite3_busy_timeout(db, 5000);

	out = open_memstream(&output, &length);
	if (out == NULL) {
		report(test, 0, "Database connection failed: out of memory");
		sqlite3_close(db);
		return;
	}
	rc = store_verify(db, out);
	fclose(out);
	sqlite3_close(db);

	if (rc == 0) {
		report(test, 1, "Database connection OK");
	} else {
		failure = strstr(output, MARK_FAIL " ");
		if (failure != NULL)
			failure[strcspn(failure, "\n")] = '\0';
		report(test, 0, "Database connection failed: %s: %s; run `cake db verify` for details", path,
		    failure != NULL ? failure + strlen(MARK_FAIL " ") : "verification failed");
	}
	free(output);
}

/* The config passed validation when instance_open() loaded it; this names the file. */
static void
check_config(struct self_test *test)
{
	if (test->instance.config.source[0] == '\0')
		report(test, 1, "Configuration valid (no config file; using the defaults)");
	else
		report(test, 1, "Configuration valid");
}

/* Compiles the rules, classifies a known error line, renders it in the operator's voice and checks the embedded schema. */
static void
check_components(struct self_test *test)
{
	static const char sample[] = "ModuleNotFoundError: No module named 'requests'";
	struct msg_detection detection;
	char error[256], text[MSG_TEXT_MAX];
	struct rules *rules;
	int matched;

	rules = rules_create(error, sizeof error);
	if (rules == NULL) {
		report(test, 0, "Components not loadable: detection rules: %s", error);
		return;
	}
	memset(&detection, 0, sizeof detection);
	matched = rules_match(rules, NULL, sample, strlen(sample), &detection);
	rules_free(rules);
	if (!matched) {
		report(test, 0, "Components not loadable: the rules do not classify \"%s\"", sample);
		return;
	}
	if (voice_render(&detection, text, sizeof text) < 0 || strncmp(text, VOICE_PREFIX, strlen(VOICE_PREFIX)) != 0) {
		report(test, 0, "Components not loadable: the operator cannot render a %s intervention",
		    detection.error_type);
		return;
	}
	if (store_migration_count == 0) {
		report(test, 0, "Components not loadable: no schema migration is built in");
		return;
	}
	report(test, 1, "All components loadable");
}

/* Waits up to 5 s for the adapter to exit after its channel closed, then kills its process group. */
static void
reap_adapter(pid_t pid)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	int status;

	for (int i = 0; i < 50; i++) {
		if (waitpid(pid, &status, WNOHANG) != 0)
			return;
		nanosleep(&pause, NULL);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/*
 * Starts adapter PATH on a socketpair as fd 3, waits for its "hello 1 NAME"
 * line, then closes the channel before sending welcome, so no agent is started:
 * an adapter exits when fd 3 reaches EOF. Returns 0, or -1 with a message.
 */
static int
adapter_handshake(const char *path, char *error, size_t error_size)
{
	char line[256];
	size_t used = 0;
	int pair[2], rc = -1;
	struct pollfd pfd;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		snprintf(error, error_size, "socketpair: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(error, error_size, "fork: %s", strerror(errno));
		close(pair[0]);
		close(pair[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		/* dup2() clears close-on-exec, but does nothing when the fd is already 3. */
		if (pair[1] == 3)
			fcntl(3, F_SETFD, 0);
		else
			dup2(pair[1], 3);
		execl(path, path, "true", (char *)NULL);
		_exit(127);
	}
	close(pair[1]);

	pfd.fd = pair[0];
	pfd.events = POLLIN;
	while (used < sizeof line - 1 && memchr(line, '\n', used) == NULL) {
		ssize_t n;

		if (poll(&pfd, 1, ADAPTER_HANDSHAKE_TIMEOUT_MS) <= 0) {
			snprintf(error, error_size, "%s sent no hello within %d s", path, ADAPTER_HANDSHAKE_TIMEOUT_MS / 1000);
			goto done;
		}
		n = read(pair[0], line + used, sizeof line - 1 - used);
		if (n <= 0) {
			snprintf(error, error_size, "%s exited before its hello", path);
			goto done;
		}
		used += (size_t)n;
	}
	line[used] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "hello 1 ", 8) != 0) {
		snprintf(error, error_size, "%s sent \"%.64s\" instead of \"hello 1 NAME\"", path, line);
		goto done;
	}
	rc = 0;

done:
	close(pair[0]);
	reap_adapter(pid);
	return rc;
}

static void
check_adapter(struct self_test *test)
{
	char path[PATH_MAX], error[PATH_MAX + 256];
	struct json_object *status = test->instance.status;

	if (status != NULL) {
		const char *name = instance_string(status, "adapter", "unknown");
		const char *health = instance_string(status, "adapter_health", "unknown");

		if (strcmp(health, "healthy") == 0)
			report(test, 1, "Adapter connection OK (running instance: %s adapter healthy)", name);
		else
			report(test, 0, "Adapter connection failed: the running %s adapter is %s", name, health);
		return;
	}

	if (paths_find_adapter(test->adapter, path, sizeof path) < 0) {
		char available[1024];

		paths_list_adapters(available, sizeof available);
		report(test, 0, "Adapter connection failed: adapter '%s' not found; available: %s", test->adapter,
		    available);
		return;
	}
	if (adapter_handshake(path, error, sizeof error) < 0) {
		report(test, 0, "Adapter connection failed: %s", error);
		return;
	}
	report(test, 1, "Adapter connection OK (no instance running; cake-adapter-%s answered the handshake)",
	    test->adapter);
}

static struct json_object *
empty_status(void *arg)
{
	return json_object_new_object();
}

static void
empty_metrics(FILE *out, void *arg)
{
	metrics_render(arg, out, NULL, 0, NULL, 0, 0);
}

/*
 * Serves /metrics from a child process on the configured address and port
 * until killed. Writes one byte to READY once it listens, or exits 1.
 */
static void
serve_metrics_child(const struct instance *instance, int ready)
{
	struct http_options options;
	struct http_source source;
	struct http_server *server;
	struct event_base *base;
	struct metrics *metrics;
	char error[512];

	log_init("self-test", LOG_LEVEL_ERROR);
	base = event_base_new();
	metrics = metrics_create();
	if (base == NULL || metrics == NULL)
		_exit(1);
	memset(&options, 0, sizeof options);
	options.address = instance->address;
	options.metrics_port = instance->metrics_port;
	options.version = "self-test";
	source.status = empty_status;
	source.metrics = empty_metrics;
	source.arg = metrics;

	server = http_start(base, &options, &source, error, sizeof error);
	if (server == NULL) {
		dprintf(ready, "%s", error);
		_exit(1);
	}
	if (write(ready, "+", 1) != 1)
		_exit(1);
	close(ready);
	event_base_dispatch(base);
	_exit(0);
}

/* GETs /metrics and checks the reply is 200 with CAKE's families in it. */
static int
probe_metrics(const struct instance *instance, char *error, size_t error_size)
{
	struct http_reply reply;
	int rc = 0;

	if (http_get(instance->address, instance->metrics_port, "/metrics", SELF_TEST_HTTP_TIMEOUT_MS,
	    &reply, error, error_size) < 0)
		return -1;
	if (reply.status != 200) {
		snprintf(error, error_size, "http://%s:%d/metrics answered %d", instance->address,
		    instance->metrics_port, reply.status);
		rc = -1;
	} else if (strstr(reply.body, "cake_") == NULL) {
		snprintf(error, error_size, "http://%s:%d/metrics has no cake_ metrics", instance->address,
		    instance->metrics_port);
		rc = -1;
	}
	free(reply.body);
	return rc;
}

static void
check_metrics(struct self_test *test)
{
	const struct instance *instance = &test->instance;
	char error[1024] = "";
	int pipe_fds[2], status;
	ssize_t n;
	pid_t pid;

	if (instance->metrics_port == 0) {
		report(test, 1, "Metrics endpoint disabled (http.metrics_port is 0)");
		return;
	}
	if (instance->status != NULL) {
		if (probe_metrics(instance, error, sizeof error) < 0)
			report(test, 0, "Metrics endpoint not responding: %s", error);
		else
			report(test, 1, "Metrics endpoint responding");
		return;
	}

	/* With no instance, a child serves the endpoint where the instance would. */
	if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
		report(test, 0, "Metrics endpoint not tested: pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		report(test, 0, "Metrics endpoint not tested: fork: %s", strerror(errno));
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		return;
	}
	if (pid == 0) {
		close(pipe_fds[0]);
		serve_metrics_child(instance, pipe_fds[1]);
	}
	close(pipe_fds[1]);
	n = read(pipe_fds[0], error, sizeof error - 1);
	close(pipe_fds[0]);

	if (n == 1 && error[0] == '+') {
		error[0] = '\0';
		if (probe_metrics(instance, error, sizeof error) < 0)
			report(test, 0, "Metrics endpoint not responding: %s", error);
		else
			report(test, 1, "Metrics endpoint responding (test server on %s:%d; no instance running)",
			    instance->address, instance->metrics_port);
	} else {
		error[n > 0 ? n : 0] = '\0';
		report(test, 0, "Metrics endpoint not responding: %s", n > 0 ? error : "the test server failed to start");
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void
self_test_usage(FILE *out)
{
	fprintf(out,
	    "usage: cake self-test [--adapter=NAME] [--config=FILE]\n"
	    "\n"
	    "Checks the database, the config, the built-in components, the adapter and the\n"
	    "metrics endpoint; exits 0 when every check passes and 1 otherwise. With a\n"
	    "running instance the adapter and metrics checks ask that instance.\n"
	    "\n"
	    "  --adapter=NAME  adapter to check when no instance runs (default exec)\n"
	    "  --config=FILE   config file (default ./cake_config.yaml, then $CAKE_HOME/cake_config.yaml)\n");
}

int
cmd_self_test(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "adapter", required_argument, NULL, 'a' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct self_test test;
	const char *config_path = NULL;
	int option, rc;

	memset(&test, 0, sizeof test);
	test.adapter = "exec";
	optind = 1;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (option) {
		case 'a':
			test.adapter = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			self_test_usage(stdout);
			return EXIT_OK;
		default:
			self_test_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		self_test_usage(stderr);
		return EXIT_USAGE;
	}

	printf("Running CAKE self-test...\n");
	fflush(stdout);
	rc = instance_open(&test.instance, config_path, SELF_TEST_STATUS_TIMEOUT_MS);
	if (rc != EXIT_OK) {
		printf(MARK_FAIL " Configuration invalid (the error is printed above)\n");
		printf("Self-test FAILED\n");
		return EXIT_FAILURE_STATUS;
	}

	check_database(&test);
	check_config(&test);
	check_components(&test);
	check_adapter(&test);
	check_metrics(&test);
	instance_close(&test.instance);

	printf("Self-test %s\n", test.failed ? "FAILED" : "PASSED");
	return test.failed ? EXIT_FAILURE_STATUS : EXIT_OK;
}
