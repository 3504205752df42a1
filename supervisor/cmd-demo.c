/*
 * `cake demo`: runs the whole tree with the exec adapter on a bundled broken
 * project. A scripted agent (share/cake/demo/agent.sh) runs `python3 main.py`,
 * which fails on a missing module; CAKE detects the error, records it,
 * renders a correction and delivers it to the agent's stdin; the agent
 * applies it and the program runs.
 *
 * The demo works in a fresh temporary CAKE_HOME, so it never touches the
 * user's state, and prints each step as it happens.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "paths.h"
#include "recall/store.h"

#define DEMO_TIMEOUT_SECONDS 60

extern char **environ;

struct demo {
	char root[PATH_MAX];		/* the temporary directory */
	char home[PATH_MAX];		/* CAKE_HOME inside it */
	char project[PATH_MAX];
	char config[PATH_MAX];
	char data[PATH_MAX];		/* share/cake/demo of the install */
	char log_path[PATH_MAX];
	FILE *log;
	int resolved;
	int intervened;
};

/* Runs ARGV and waits. Returns its exit status, or -1 when it cannot start. */
static int
run_command(char *const argv[])
{
	int status;
	pid_t pid;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int
demo_prepare(struct demo *demo)
{
	char source[PATH_MAX], error[1024];
	sqlite3 *db;

	if (paths_data_dir(source, sizeof source) < 0 ||
	    paths_join(demo->data, sizeof demo->data, source, "demo") < 0) {
		cmd_error("cannot locate the demo files: %s", strerror(errno));
		return -1;
	}
	if (access(demo->data, R_OK) < 0) {
		cmd_error("demo files not found at %s; reinstall CAKE", demo->data);
		return -1;
	}

	snprintf(demo->root, sizeof demo->root, "%s/cake-demo-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(demo->root) == NULL) {
		cmd_error("cannot create a temporary directory: %s", strerror(errno));
		return -1;
	}
	if (paths_join(demo->home, sizeof demo->home, demo->root, "home") < 0 ||
	    paths_join(demo->project, sizeof demo->project, demo->root, "project") < 0 ||
	    paths_join(demo->config, sizeof demo->config, demo->home, "cake_config.yaml") < 0 ||
	    paths_join(demo->log_path, sizeof demo->log_path, demo->root, "demo.log") < 0 ||
	    paths_join(source, sizeof source, demo->data, "project") < 0) {
		cmd_error("the temporary directory %s makes paths too long; set TMPDIR to a shorter one",
		    demo->root);
		return -1;
	}

	char *copy[] = { "cp", "-R", source, demo->project, NULL };
	if (run_command(copy) != 0) {
		cmd_error("cannot copy the demo project from %s to %s", source, demo->project);
		return -1;
	}
	if (paths_mkdir_p(demo->home, 0700) < 0 ||
	    config_write_template(demo->config, 0, error, sizeof error) < 0) {
		cmd_error("cannot write the demo config: %s", error);
		return -1;
	}

	if (paths_join(source, sizeof source, demo->home, "recall.db") < 0) {
		cmd_error("the path of recall.db in %s is too long", demo->home);
		return -1;
	}
	if (store_open(source, &db, error, sizeof error) < 0) {
		cmd_error("%s", error);
		return -1;
	}
	if (store_upgrade(db, stdout, error, sizeof error) < 0) {
		cmd_error("%s", error);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_close(db);

	demo->log = fopen(demo->log_path, "we");
	if (demo->log == NULL) {
		cmd_error("cannot write %s: %s", demo->log_path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Starts `cake start` for the demo with its stdout and stderr on pipes. */
static pid_t
demo_start(struct demo *demo, int *out_fd, int *err_fd)
{
	char exe[PATH_MAX], agent[PATH_MAX + 16], index[PATH_MAX + 16], config_flag[PATH_MAX + 16];
	int out[2], err[2];
	pid_t pid;

	if (paths_exe(exe, sizeof exe) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -1;
	if (paths_join(agent, sizeof agent, demo->data, "agent.sh") < 0 ||
	    paths_join(index, sizeof index, demo->data, "index") < 0 ||
	    snprintf(config_flag, sizeof config_flag, "--config=%s", demo->config) >= (int)sizeof config_flag) {
		errno = ENAMETOOLONG;
		return -1;
	}

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* The demo serves no HTTP, so it runs beside an instance on the default ports. */
		char *argv[] = { "cake", "start", "--adapter=exec", config_flag,
		    "--health-port=0", "--metrics-port=0", "--",
		    "bash", agent, demo->project, index, NULL };

		setenv("CAKE_HOME", demo->home, 1);
		unsetenv("CAKE_STRICTNESS");
		unsetenv("CAKE_LOG_LEVEL");
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(exe, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	*out_fd = out[0];
	*err_fd = err[0];
	return pid;
}

/* Returns 1 when LINE is a CAKE log line ("2026-12-04T19:44:52.123Z INFO  [...] ..."). */
static int
is_log_line(const char *line)
{
	return strlen(line) > 25 && line[4] == '-' && line[7] == '-' && line[10] == 'T' && line[23] == 'Z';
}

/*
 * Prints one line of `cake start` output: the agent's own output indented,
 * and of CAKE's log only the pipeline's steps, without the timestamp.
 */
static void
demo_line(struct demo *demo, const char *line)
{
	static const char *const steps[] = {
		"Detected ", "State transition: ", "Recorded ", "Generated intervention: ",
		"Intervention delivered",
	};
	const char *found;

	fprintf(demo->log, "%s\n", line);

	if (is_log_line(line)) {
		for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
			if ((found = strstr(line, steps[i])) != NULL) {
				printf("[cake]   %s\n", found);
				break;
			}
		}
	} else if (strncmp(line, "CAKE Status: ", 13) == 0 || strncmp(line, "Adapter: ", 9) == 0 ||
	    strncmp(line, "Monitoring streams: ", 20) == 0) {
		printf("%s\n", line);
	} else if (strncmp(line, "Control socket: ", 16) == 0) {
		return;
	} else {
		const char *note = "";

		if (strstr(line, "No module named") != NULL)
			note = "   <- the error";
		else if (strncmp(line, "Hello, ", 7) == 0)
			note = "   <- resolved";
		printf("[agent]  %s%s\n", strncmp(line, "agent: ", 7) == 0 ? line + 7 : line, note);
		if (strncmp(line, "agent: received: ", 17) == 0)
			demo->intervened = 1;
		if (strncmp(line, "Hello, ", 7) == 0)
			demo->resolved = 1;
	}
	fflush(stdout);
}

/* Splits the bytes read from FD into lines for demo_line(). Returns 0 at end of file. */
static int
demo_read(struct demo *demo, int fd, char *pending, size_t *used, size_t size)
{
	ssize_t n = read(fd, pending + *used, size - 1 - *used);
	char *start, *newline;

	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0) {
		if (*used > 0) {
			pending[*used] = '\0';
			demo_line(demo, pending);
			*used = 0;
		}
		return 0;
	}
	*used += (size_t)n;
	pending[*used] = '\0';

	start = pending;
	while ((newline = strchr(start, '\n')) != NULL) {
		*newline = '\0';
		demo_line(demo, start);
		start = newline + 1;
	}
	*used = strlen(start);
	memmove(pending, start, *used);
	if (*used == size - 1) {
		demo_line(demo, pending);
		*used = 0;
	}
	return 1;
}

static int
demo_watch(struct demo *demo, pid_t pid, int out_fd, int err_fd)
{
	static char pending[2][8192];
	size_t used[2] = { 0, 0 };
	struct pollfd fds[2] = { { .fd = out_fd, .events = POLLIN }, { .fd = err_fd, .events = POLLIN } };
	time_t deadline = time(NULL) + DEMO_TIMEOUT_SECONDS;
	int open_count = 2, status;

	while (open_count > 0) {
		int left = (int)(deadline - time(NULL));

		if (left <= 0) {
			cmd_error("the demo did not finish within %d s; stopping it", DEMO_TIMEOUT_SECONDS);
			kill(pid, SIGTERM);
			break;
		}
		if (poll(fds, 2, left * 1000) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (!demo_read(demo, fds[i].fd, pending[i], &used[i], sizeof pending[i])) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_count--;
			}
		}
	}

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
cmd_demo(int argc, char **argv)
{
	struct demo demo;
	struct timespec start, end;
	int out_fd, err_fd, status;
	pid_t pid;

	if (argc > 1) {
		int help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;

		fprintf(help ? stdout : stderr, "usage: cake demo\n\n"
		    "Runs CAKE on a bundled project whose program fails on a missing module,\n"
		    "with a scripted agent that applies the correction CAKE sends it.\n");
		return help ? EXIT_OK : EXIT_USAGE;
	}

	memset(&demo, 0, sizeof demo);
	printf("CAKE demo: a scripted agent runs a Python project with a missing module.\n");
	if (demo_prepare(&demo) < 0)
		return EXIT_INTERNAL;
	printf("Project: %s\nCAKE_HOME: %s\n\n", demo.project, demo.home);
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &start);
	pid = demo_start(&demo, &out_fd, &err_fd);
	if (pid < 0) {
		cmd_error("cannot start `cake start`: %s", strerror(errno));
		fclose(demo.log);
		return EXIT_INTERNAL;
	}
	status = demo_watch(&demo, pid, out_fd, err_fd);
	clock_gettime(CLOCK_MONOTONIC, &end);
	fclose(demo.log);

	if (status != 0 || !demo.intervened || !demo.resolved) {
		cmd_error("the demo failed (cake start exited with %d, intervention %s, resolved %s); full output in %s",
		    status, demo.intervened ? "delivered" : "missing", demo.resolved ? "yes" : "no",
		    demo.log_path);
		return EXIT_FAILURE_STATUS;
	}
	printf("\nResolved in %.1f s: CAKE caught the error, the agent applied the correction, the program runs.\n",
	    (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
	printf("Full output: %s\n", demo.log_path);
	return EXIT_OK;
}
