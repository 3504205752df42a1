/*
 * Measures Claude Code PreToolUse hooks as Claude Code runs them: one
 * process per event, the event JSON on stdin, the reply read from stdout
 * to end of file. Each sample is the wall time (CLOCK_MONOTONIC) from
 * posix_spawn to waitpid. Every command of the gate corpus is wrapped as a
 * Bash PreToolUse event and sent to each hook ROUNDS times, the hooks taking
 * turns on every event so that both see the same machine load.
 *
 * The decision of a hook is "deny" when it exits with status 2 or prints
 * "permissionDecision": "deny", "ask" when it prints "ask", else "allow".
 *
 * usage: bench_hook [-n ROUNDS] [-l LABEL] CORPUS.tsv DIR CAKE [NODE SAFETY_NET_JS]
 *   DIR is the event's cwd and the hooks' working directory.
 *   CAKE runs as `CAKE hook claude-code` with CAKE_STRICTNESS set to the
 *   row's strictness. With NODE and SAFETY_NET_JS, cc-safety-net runs as
 *   `NODE SAFETY_NET_JS hook --coding-cli`, the command its Claude Code
 *   plugin installs, with CC_SAFETY_NET_LEVEL set from the row's strictness
 *   (minimal: standard, balanced: strict, paranoid: paranoid).
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROWS 1024
#define MAX_TABLE_ROWS 30
#define REPLY_MAX 65536

extern char **environ;

enum { MINIMAL, BALANCED, PARANOID, LEVELS };
static const char *cake_levels[LEVELS] = { "minimal", "balanced", "paranoid" };
static const char *safety_net_levels[LEVELS] = { "standard", "strict", "paranoid" };

enum decision { ALLOW, ASK, DENY };
static const char *decision_names[] = { "allow", "ask", "deny" };

struct row {
	char *command;
	char *event;		/* the PreToolUse event JSON */
	enum decision label;
	int level;
};

struct hook {
	const char *name;
	char **argv;
	char **env[LEVELS];	/* environ plus the strictness variable */
	uint64_t *samples;
	size_t count;
	enum decision *decisions;	/* per row, from the first round */
	int *unstable;		/* per row: a later round decided otherwise */
};

static void
die(const char *message)
{
	fprintf(stderr, "bench_hook: %s\n", message);
	exit(2);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Returns the nearest-rank value at PERCENT of SORTED. */
static double
percentile_ms(const uint64_t *sorted, size_t count, double percent)
{
	size_t rank = (size_t)(percent / 100.0 * (double)count + 0.999999);

	if (rank < 1)
		rank = 1;
	return (double)sorted[rank - 1] / 1e6;
}

/* Decodes the corpus escapes \n, \t and \\ in place. */
static void
unescape(char *text)
{
	char *out = text;

	for (; *text != '\0'; text++) {
		if (*text != '\\' || (text[1] != 'n' && text[1] != 't' && text[1] != '\\')) {
			*out++ = *text;
			continue;
		}
		text++;
		if (*text == 'n')
			*out++ = '\n';
		else if (*text == 't')
			*out++ = '\t';
		else
			*out++ = '\\';
	}
	*out = '\0';
}

/* Appends TEXT to OUT as a JSON string body. */
static void
json_escape(FILE *out, const char *text)
{
	for (; *text != '\0'; text++) {
		unsigned char c = (unsigned char)*text;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
}

static char *
make_event(const char *command, const char *dir)
{
	char *event = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&event, &size);

	if (out == NULL)
		die("out of memory");
	fputs("{\"session_id\":\"bench\",\"transcript_path\":\"/dev/null\",\"cwd\":\"", out);
	json_escape(out, dir);
	fputs("\",\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\","
	    "\"tool_input\":{\"command\":\"", out);
	json_escape(out, command);
	fputs("\"}}\n", out);
	fclose(out);
	return event;
}

static size_t
load_corpus(const char *path, const char *dir, struct row *rows)
{
	char line[4096], message[4200];
	size_t count = 0;
	FILE *file = fopen(path, "r");

	if (file == NULL) {
		snprintf(message, sizeof message, "cannot open %s: %s", path, strerror(errno));
		die(message);
	}
	while (count < MAX_ROWS && fgets(line, sizeof line, file) != NULL) {
		char *command, *label, *level;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		command = strtok(line, "\t");
		label = strtok(NULL, "\t");
		level = strtok(NULL, "\t");
		if (level == NULL || (strcmp(label, "allow") != 0 && strcmp(label, "deny") != 0)) {
			snprintf(message, sizeof message, "%s: invalid row '%s': expected COMMAND, "
			    "allow or deny, and a strictness separated by tabs", path, line);
			die(message);
		}
		rows[count].level = -1;
		for (int i = 0; i < LEVELS; i++) {
			if (strcmp(level, cake_levels[i]) == 0)
				rows[count].level = i;
		}
		if (rows[count].level == -1) {
			snprintf(message, sizeof message, "%s: invalid strictness '%s'", path, level);
			die(message);
		}
		rows[count].label = strcmp(label, "deny") == 0 ? DENY : ALLOW;
		unescape(command);
		rows[count].command = strdup(command);
		rows[count].event = make_event(command, dir);
		if (rows[count].command == NULL)
			die("out of memory");
		count++;
	}
	fclose(file);
	return count;
}

/* Returns a copy of environ with NAME=VALUE set. */
static char **
env_with(const char *name, const char *value)
{
	size_t count = 0, used = 0, length = strlen(name);
	char **env;

	while (environ[count] != NULL)
		count++;
	env = calloc(count + 2, sizeof *env);
	if (env == NULL)
		die("out of memory");
	for (size_t i = 0; i < count; i++) {
		if (strncmp(environ[i], name, length) != 0 || environ[i][length] != '=')
			env[used++] = environ[i];
	}
	if (asprintf(&env[used], "%s=%s", name, value) == -1)
		die("out of memory");
	return env;
}

static void
hook_init(struct hook *hook, const char *name, char **argv, const char *variable,
    const char **levels, size_t rows, size_t rounds)
{
	hook->name = name;
	hook->argv = argv;
	for (int i = 0; i < LEVELS; i++)
		hook->env[i] = env_with(variable, levels[i]);
	hook->samples = calloc(rows * rounds, sizeof *hook->samples);
	hook->decisions = calloc(rows, sizeof *hook->decisions);
	hook->unstable = calloc(rows, sizeof *hook->unstable);
	hook->count = 0;
	if (hook->samples == NULL || hook->decisions == NULL || hook->unstable == NULL)
		die("out of memory");
}

static enum decision
parse_decision(const char *reply, int status)
{
	const char *at;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return DENY;
	at = strstr(reply, "\"permissionDecision\"");
	if (at == NULL)
		return ALLOW;
	at += strlen("\"permissionDecision\"");
	at += strspn(at, " \t\r\n:");
	if (strncmp(at, "\"deny\"", 6) == 0)
		return DENY;
	if (strncmp(at, "\"ask\"", 5) == 0)
		return ASK;
	return ALLOW;
}

/*
 * Runs HOOK on ROW's event once: spawn, write the event and close stdin,
 * read stdout to end of file, wait. Returns the decision and stores the
 * elapsed time.
 */
static enum decision
run_once(struct hook *hook, const struct row *row)
{
	posix_spawn_file_actions_t actions;
	char reply[REPLY_MAX], message[512];
	int in[2], out[2], status;
	size_t used = 0, length = strlen(row->event);
	uint64_t start;
	ssize_t done;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		die("pipe failed");
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);

	start = now_ns();
	if (posix_spawn(&pid, hook->argv[0], &actions, NULL, hook->argv, hook->env[row->level]) != 0) {
		snprintf(message, sizeof message, "cannot run %s", hook->argv[0]);
		die(message);
	}
	close(in[0]);
	close(out[1]);
	for (size_t sent = 0; sent < length; sent += (size_t)done) {
		done = write(in[1], row->event + sent, length - sent);
		if (done <= 0)
			break;
	}
	close(in[1]);
	while ((done = read(out[0], reply + used, sizeof reply - 1 - used)) > 0)
		used += (size_t)done;
	reply[used] = '\0';
	close(out[0]);
	if (waitpid(pid, &status, 0) == -1)
		die("waitpid failed");
	hook->samples[hook->count++] = now_ns() - start;
	posix_spawn_file_actions_destroy(&actions);

	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 2)) {
		snprintf(message, sizeof message, "%s failed on '%s' (wait status %d); run it by "
		    "hand on that event to see its stderr", hook->name, row->command, status);
		die(message);
	}
	return parse_decision(reply, status);
}

static void
print_timing(struct hook *hook)
{
	qsort(hook->samples, hook->count, sizeof *hook->samples, compare_u64);
	printf("| %s | %zu | %.2f | %.2f | %.2f | %.2f |\n", hook->name, hook->count,
	    percentile_ms(hook->samples, hook->count, 50),
	    percentile_ms(hook->samples, hook->count, 90),
	    percentile_ms(hook->samples, hook->count, 99),
	    (double)hook->samples[hook->count - 1] / 1e6);
}

/* Prints TEXT for a Markdown table cell: one line, pipes escaped. */
static void
print_cell(const char *text)
{
	for (; *text != '\0'; text++) {
		if (*text == '\n')
			fputs("\\n", stdout);
		else if (*text == '|')
			fputs("\\|", stdout);
		else
			putchar(*text);
	}
}

static int
matches_label(enum decision decision, const struct row *row)
{
	return (decision == DENY) == (row->label == DENY);
}

/* Names the hooks whose decision matches the corpus label. */
static const char *
label_side(int cake_ok, int net_ok)
{
	if (cake_ok && net_ok)
		return "both";
	if (cake_ok)
		return "CAKE";
	if (net_ok)
		return "cc-safety-net";
	return "neither";
}

static void
print_agreement(const struct row *rows, size_t count, struct hook *cake, struct hook *net)
{
	size_t agree = 0, cake_right = 0, net_right = 0, asks = 0, shown = 0, unstable = 0;

	for (size_t i = 0; i < count; i++) {
		agree += (cake->decisions[i] == DENY) == (net->decisions[i] == DENY);
		cake_right += matches_label(cake->decisions[i], &rows[i]);
		net_right += matches_label(net->decisions[i], &rows[i]);
		asks += net->decisions[i] == ASK;
		unstable += cake->unstable[i] + net->unstable[i];
	}
	printf("\nDecisions on %zu commands (ask counts as not denied):\n\n", count);
	printf("- the two hooks agree on %zu and disagree on %zu\n", agree, count - agree);
	printf("- CAKE matches the corpus label on %zu, cc-safety-net on %zu\n",
	    cake_right, net_right);
	printf("- cc-safety-net replied ask on %zu\n", asks);
	printf("- decisions that changed between rounds: %zu\n", unstable);
	if (agree == count)
		return;

	printf("\n| command | strictness | label | CAKE | cc-safety-net | matches the label |\n");
	printf("| --- | --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < count; i++) {
		int cake_ok = matches_label(cake->decisions[i], &rows[i]);
		int net_ok = matches_label(net->decisions[i], &rows[i]);

		if ((cake->decisions[i] == DENY) == (net->decisions[i] == DENY))
			continue;
		if (shown++ == MAX_TABLE_ROWS)
			break;
		printf("| `");
		print_cell(rows[i].command);
		printf("` | %s | %s | %s | %s | %s |\n", cake_levels[rows[i].level],
		    decision_names[rows[i].label], decision_names[cake->decisions[i]],
		    decision_names[net->decisions[i]], label_side(cake_ok, net_ok));
	}
	if (shown > MAX_TABLE_ROWS)
		printf("\n(%zu more disagreements not shown)\n", count - agree - MAX_TABLE_ROWS);
}

int
main(int argc, char **argv)
{
	static struct row rows[MAX_ROWS];
	struct hook hooks[2];
	const char *label = "cake hook claude-code";
	size_t rounds = 5, count, hook_count;
	char *cake_argv[4], *net_argv[5];
	int option;

	while ((option = getopt(argc, argv, "n:l:")) != -1) {
		if (option == 'n')
			rounds = strtoul(optarg, NULL, 10);
		else if (option == 'l')
			label = optarg;
		else
			die("usage: bench_hook [-n ROUNDS] [-l LABEL] CORPUS.tsv DIR CAKE [NODE SAFETY_NET_JS]");
	}
	argc -= optind;
	argv += optind;
	if ((argc != 3 && argc != 5) || rounds == 0)
		die("usage: bench_hook [-n ROUNDS] [-l LABEL] CORPUS.tsv DIR CAKE [NODE SAFETY_NET_JS]");
	signal(SIGPIPE, SIG_IGN);

	count = load_corpus(argv[0], argv[1], rows);
	if (chdir(argv[1]) == -1)
		die("cannot enter DIR");
	cake_argv[0] = argv[2];
	cake_argv[1] = "hook";
	cake_argv[2] = "claude-code";
	cake_argv[3] = NULL;
	hook_init(&hooks[0], label, cake_argv, "CAKE_STRICTNESS", cake_levels, count, rounds);
	hook_count = 1;
	if (argc == 5) {
		net_argv[0] = argv[3];
		net_argv[1] = argv[4];
		net_argv[2] = "hook";
		net_argv[3] = "--coding-cli";
		net_argv[4] = NULL;
		hook_init(&hooks[1], "cc-safety-net hook --coding-cli", net_argv,
		    "CC_SAFETY_NET_LEVEL", safety_net_levels, count, rounds);
		hook_count = 2;
	}

	for (size_t round = 0; round < rounds; round++) {
		for (size_t i = 0; i < count; i++) {
			for (size_t turn = 0; turn < hook_count; turn++) {
				/* Alternate which hook goes first, so neither always follows the other. */
				struct hook *hook = &hooks[(turn + i) % hook_count];
				enum decision decision = run_once(hook, &rows[i]);

				if (round == 0)
					hook->decisions[i] = decision;
				else if (decision != hook->decisions[i])
					hook->unstable[i] = 1;
			}
		}
	}

	printf("| hook | runs | median ms | p90 ms | p99 ms | max ms |\n");
	printf("| --- | --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < hook_count; i++)
		print_timing(&hooks[i]);
	if (hook_count == 2) {
		printf("\ncc-safety-net / CAKE: %.1fx at the median, %.1fx at p99\n",
		    percentile_ms(hooks[1].samples, hooks[1].count, 50) /
		    percentile_ms(hooks[0].samples, hooks[0].count, 50),
		    percentile_ms(hooks[1].samples, hooks[1].count, 99) /
		    percentile_ms(hooks[0].samples, hooks[0].count, 99));
		print_agreement(rows, count, &hooks[0], &hooks[1]);
	}
	return 0;
}
