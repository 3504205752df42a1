/*
 * Tests for common/config.c: defaults, loading and validating real YAML files
 * in a temporary directory, environment overrides, path resolution, the
 * config search order and the template written by `cake init`.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"

/* A complete config with only the required keys, set to their template values. */
#define REQUIRED_YAML \
	"version: \"1.0\"\n" \
	"strictness: balanced\n" \
	"escalation:\n" \
	"  max_strikes: 4\n" \
	"  cooldown_minutes: 5\n"

static char test_dir[PATH_MAX];
static char saved_cwd[PATH_MAX];
static char error[2048];

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(test_dir, sizeof test_dir, "%s/cake-config-XXXXXX", tmp != NULL ? tmp : "/tmp");
	cr_assert_not_null(mkdtemp(test_dir));
	cr_assert_not_null(getcwd(saved_cwd, sizeof saved_cwd));
	cr_assert_eq(chdir(test_dir), 0);

	unsetenv("CAKE_ENV");
	unsetenv("CAKE_STRICTNESS");
	unsetenv("CAKE_LOG_LEVEL");
	error[0] = '\0';
}

static void
teardown(void)
{
	cr_assert_eq(chdir(saved_cwd), 0);
	nftw(test_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = setup, .fini = teardown);

static void
write_file(const char *path, const char *text)
{
	FILE *file = fopen(path, "w");

	cr_assert_not_null(file, "cannot create %s", path);
	cr_assert_eq(fputs(text, file) >= 0, 1);
	cr_assert_eq(fclose(file), 0);
}

static char *
read_all(const char *path)
{
	static char text[16384];
	FILE *file = fopen(path, "r");
	size_t length;

	cr_assert_not_null(file, "cannot open %s", path);
	length = fread(text, 1, sizeof text - 1, file);
	text[length] = '\0';
	fclose(file);
	return text;
}

/* Writes TEXT to ./cake_config.yaml and loads it into CONFIG, which must contain defaults. */
static int
load_yaml(const char *text, struct cake_config *config)
{
	write_file(CONFIG_FILE_NAME, text);
	return config_load(CONFIG_FILE_NAME, config, error, sizeof error);
}

/* Loads TEXT into a fresh config and checks that it fails with EXPECTED. */
static void
assert_load_error(const char *text, const char *expected)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_yaml(text, &config), -1, "loaded without error:\n%s", text);
	cr_assert_str_eq(error, expected);
	config_free(&config);
}

Test(config, defaults)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_str_eq(config.version, "1.0");
	cr_assert_eq(config.strictness, STRICTNESS_BALANCED);
	cr_assert_eq(config.max_strikes, 4);
	cr_assert_eq(config.cooldown_minutes, 5);
	cr_assert_str_eq(config.database_path, "recall.db");
	cr_assert_eq(config.ttl_hours, 24);
	cr_assert_eq(config.log_level, LOG_LEVEL_INFO);
	cr_assert_str_eq(config.log_file, "logs/cake.log");
	cr_assert_eq(config.log_max_size_mb, 100);
	cr_assert_eq(config.max_latency_ms, 500);
	cr_assert_null(config.blocked_commands);
	cr_assert_eq(config.blocked_command_count, 0);
	cr_assert_eq(config.audit_all_commands, false);
	cr_assert_eq(config.snapshot_retention_hours, 72);
	cr_assert_str_eq(config.env, "");
	cr_assert_str_eq(config.source, "");
	config_free(&config);
}

Test(config, free_then_defaults_repeats)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_yaml(REQUIRED_YAML "safety:\n  blocked_commands: [a, b]\n", &config), 0,
	    "%s", error);
	config_free(&config);
	config_free(&config);
	cr_assert_null(config.blocked_commands);
	cr_assert_eq(config.blocked_command_count, 0);

	config_defaults(&config);
	config_free(&config);
	config_defaults(&config);
	cr_assert_eq(config.max_strikes, 4);
	config_free(&config);
}

Test(config, required_only_loads)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_yaml(REQUIRED_YAML, &config), 0, "%s", error);
	cr_assert_str_eq(config.version, "1.0");
	cr_assert_eq(config.strictness, STRICTNESS_BALANCED);
	cr_assert_eq(config.max_strikes, 4);
	cr_assert_eq(config.cooldown_minutes, 5);
	cr_assert_str_eq(config.database_path, "recall.db");
	cr_assert_str_eq(config.source, CONFIG_FILE_NAME);
	config_free(&config);
}

Test(config, every_key_loads)
{
	struct cake_config config;
	const char *text =
	    "version: '1.0'\n"
	    "strictness: paranoid\n"
	    "escalation:\n"
	    "  max_strikes: 7\n"
	    "  cooldown_minutes: 60\n"
	    "database:\n"
	    "  path: /var/lib/cake/recall.db\n"
	    "  ttl_hours: 8760\n"
	    "logging:\n"
	    "  level: debug\n"
	    "  file: \"cake log.txt\"\n"
	    "  max_size_mb: 10240\n"
	    "performance:\n"
	    "  max_latency_ms: 1\n"
	    "safety:\n"
	    "  blocked_commands:\n"
	    "    - rm -rf /\n"
	    "    - \"git push --force\"\n"
	    "  audit_all_commands: true\n"
	    "snapshot:\n"
	    "  retention_hours: 1\n";

	config_defaults(&config);
	cr_assert_eq(load_yaml(text, &config), 0, "%s", error);
	cr_assert_eq(config.strictness, STRICTNESS_PARANOID);
	cr_assert_eq(config.max_strikes, 7);
	cr_assert_eq(config.cooldown_minutes, 60);
	cr_assert_str_eq(config.database_path, "/var/lib/cake/recall.db");
	cr_assert_eq(config.ttl_hours, 8760);
	cr_assert_eq(config.log_level, LOG_LEVEL_DEBUG);
	cr_assert_str_eq(config.log_file, "cake log.txt");
	cr_assert_eq(config.log_max_size_mb, 10240);
	cr_assert_eq(config.max_latency_ms, 1);
	cr_assert_eq(config.blocked_command_count, 2);
	cr_assert_str_eq(config.blocked_commands[0], "rm -rf /");
	cr_assert_str_eq(config.blocked_commands[1], "git push --force");
	cr_assert_eq(config.audit_all_commands, true);
	cr_assert_eq(config.snapshot_retention_hours, 1);
	config_free(&config);
}

Test(config, template_round_trip)
{
	struct cake_config defaults, loaded;
	struct stat st;

	cr_assert_eq(config_write_template(CONFIG_FILE_NAME, false, error, sizeof error), 0,
	    "%s", error);
	cr_assert_eq(stat(CONFIG_FILE_NAME, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);

	config_defaults(&defaults);
	config_defaults(&loaded);
	loaded.max_strikes = 9;
	cr_assert_eq(config_load(CONFIG_FILE_NAME, &loaded, error, sizeof error), 0, "%s", error);
	cr_assert_str_eq(loaded.version, defaults.version);
	cr_assert_eq(loaded.strictness, defaults.strictness);
	cr_assert_eq(loaded.max_strikes, defaults.max_strikes);
	cr_assert_eq(loaded.cooldown_minutes, defaults.cooldown_minutes);
	cr_assert_str_eq(loaded.database_path, defaults.database_path);
	cr_assert_eq(loaded.ttl_hours, defaults.ttl_hours);
	cr_assert_eq(loaded.log_level, defaults.log_level);
	cr_assert_str_eq(loaded.log_file, defaults.log_file);
	cr_assert_eq(loaded.log_max_size_mb, defaults.log_max_size_mb);
	cr_assert_eq(loaded.max_latency_ms, defaults.max_latency_ms);
	cr_assert_eq(loaded.blocked_command_count, 0);
	cr_assert_eq(loaded.audit_all_commands, defaults.audit_all_commands);
	cr_assert_eq(loaded.snapshot_retention_hours, defaults.snapshot_retention_hours);
	config_free(&loaded);
	config_free(&defaults);
}

Test(config, template_has_every_key)
{
	static const char *lines[] = {
		"\nversion: \"1.0\"\n",
		"\nstrictness: balanced\n",
		"\nescalation:\n  # ",
		"\n  max_strikes: 4\n",
		"\n  cooldown_minutes: 5\n",
		"\ndatabase:\n",
		"\n  path: recall.db\n",
		"\n  ttl_hours: 24\n",
		"\nlogging:\n",
		"\n  level: INFO\n",
		"\n  file: logs/cake.log\n",
		"\n  max_size_mb: 100\n",
		"\nperformance:\n",
		"\n  max_latency_ms: 500\n",
		"\nsafety:\n",
		"\n  blocked_commands: []\n",
		"\n  audit_all_commands: false\n",
		"\nsnapshot:\n",
		"\n  retention_hours: 72\n",
		"1 to 10.\n",
		"1 to 60.\n",
	};
	const char *text;
	size_t i;

	cr_assert_eq(config_write_template(CONFIG_FILE_NAME, false, error, sizeof error), 0,
	    "%s", error);
	text = read_all(CONFIG_FILE_NAME);
	for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
		cr_expect_not_null(strstr(text, lines[i]), "template lacks \"%s\"", lines[i]);
	cr_assert_lt(strstr(text, "max_strikes"), strstr(text, "database:"),
	    "required settings come first");
}

Test(config, template_rejects_existing)
{
	write_file("mine.yaml", "# my settings\n");
	cr_assert_eq(config_write_template("mine.yaml", false, error, sizeof error), -1);
	cr_assert_str_eq(error, "mine.yaml already exists; pass --force to overwrite it");
	cr_assert_str_eq(read_all("mine.yaml"), "# my settings\n");
}

Test(config, template_force_overwrites)
{
	struct cake_config config;

	write_file("mine.yaml", "# my settings\n");
	cr_assert_eq(config_write_template("mine.yaml", true, error, sizeof error), 0, "%s", error);
	cr_assert_str_neq(read_all("mine.yaml"), "# my settings\n");

	config_defaults(&config);
	cr_assert_eq(config_load("mine.yaml", &config, error, sizeof error), 0, "%s", error);
	config_free(&config);
}

Test(config, template_leaves_no_temporary)
{
	struct dirent *entry;
	int entries = 0;
	DIR *dir;

	cr_assert_eq(config_write_template("out.yaml", false, error, sizeof error), 0, "%s", error);
	dir = opendir(".");
	cr_assert_not_null(dir);
	while ((entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
			entries++;
	}
	closedir(dir);
	cr_assert_eq(entries, 1);
}

Test(config, template_missing_directory)
{
	cr_assert_eq(config_write_template("no/such/dir/out.yaml", false, error, sizeof error), -1);
	cr_assert_str_eq(error, "cannot write no/such/dir/out.yaml: cannot create a temporary file "
	    "in no/such/dir: No such file or directory");
}

Test(config, required_key_missing)
{
	static const struct {
		const char *text;
		const char *key;
	} cases[] = {
		{ "strictness: balanced\nescalation:\n  max_strikes: 4\n  cooldown_minutes: 5\n",
		    "version" },
		{ "version: \"1.0\"\nescalation:\n  max_strikes: 4\n  cooldown_minutes: 5\n",
		    "strictness" },
		{ "version: \"1.0\"\nstrictness: balanced\nescalation:\n  cooldown_minutes: 5\n",
		    "escalation.max_strikes" },
		{ "version: \"1.0\"\nstrictness: balanced\nescalation:\n  max_strikes: 4\n",
		    "escalation.cooldown_minutes" },
	};
	char expected[256];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(expected, sizeof expected, "cake_config.yaml: %s: required key missing; "
		    "run `cake init` to write a complete config", cases[i].key);
		assert_load_error(cases[i].text, expected);
	}
}

Test(config, missing_escalation_section)
{
	assert_load_error("version: \"1.0\"\nstrictness: balanced\n",
	    "cake_config.yaml: escalation.max_strikes: required key missing; "
	    "run `cake init` to write a complete config");
}

/* Loads REQUIRED_YAML with max_strikes and cooldown_minutes set to the given text. */
static int
load_escalation(const char *max_strikes, const char *cooldown_minutes, struct cake_config *config)
{
	char text[512];

	snprintf(text, sizeof text,
	    "version: \"1.0\"\nstrictness: balanced\nescalation:\n"
	    "  max_strikes: %s\n  cooldown_minutes: %s\n", max_strikes, cooldown_minutes);
	return load_yaml(text, config);
}

Test(config, max_strikes_bounds)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_escalation("0", "5", &config), -1);
	cr_assert_str_eq(error, "cake_config.yaml:4:16: escalation.max_strikes: "
	    "expected an integer from 1 to 10, got '0'");

	cr_assert_eq(load_escalation("1", "5", &config), 0, "%s", error);
	cr_assert_eq(config.max_strikes, 1);

	cr_assert_eq(load_escalation("10", "5", &config), 0, "%s", error);
	cr_assert_eq(config.max_strikes, 10);

	cr_assert_eq(load_escalation("11", "5", &config), -1);
	cr_assert_str_eq(error, "cake_config.yaml:4:16: escalation.max_strikes: "
	    "expected an integer from 1 to 10, got '11'");
	cr_assert_eq(config.max_strikes, 10);
	config_free(&config);
}

Test(config, cooldown_bounds)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_escalation("4", "0", &config), -1);
	cr_assert_str_eq(error, "cake_config.yaml:5:21: escalation.cooldown_minutes: "
	    "expected an integer from 1 to 60, got '0'");

	cr_assert_eq(load_escalation("4", "1", &config), 0, "%s", error);
	cr_assert_eq(config.cooldown_minutes, 1);

	cr_assert_eq(load_escalation("4", "60", &config), 0, "%s", error);
	cr_assert_eq(config.cooldown_minutes, 60);

	cr_assert_eq(load_escalation("4", "61", &config), -1);
	cr_assert_str_eq(error, "cake_config.yaml:5:21: escalation.cooldown_minutes: "
	    "expected an integer from 1 to 60, got '61'");
	config_free(&config);
}

Test(config, optional_integer_bounds)
{
	static const struct {
		const char *section;
		const char *name;
		size_t offset;
		int max;
	} cases[] = {
		{ "database", "ttl_hours", offsetof(struct cake_config, ttl_hours), 8760 },
		{ "logging", "max_size_mb", offsetof(struct cake_config, log_max_size_mb), 10240 },
		{ "performance", "max_latency_ms", offsetof(struct cake_config, max_latency_ms), 60000 },
		{ "snapshot", "retention_hours",
		    offsetof(struct cake_config, snapshot_retention_hours), 8760 },
	};
	struct cake_config config;
	char text[512], expected[256];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		config_defaults(&config);
		snprintf(text, sizeof text, REQUIRED_YAML "%s:\n  %s: %d\n",
		    cases[i].section, cases[i].name, cases[i].max);
		cr_assert_eq(load_yaml(text, &config), 0, "%s", error);
		cr_assert_eq(*(int *)((char *)&config + cases[i].offset), cases[i].max,
		    "%s.%s", cases[i].section, cases[i].name);

		snprintf(text, sizeof text, REQUIRED_YAML "%s:\n  %s: %d\n",
		    cases[i].section, cases[i].name, cases[i].max + 1);
		snprintf(expected, sizeof expected, "cake_config.yaml:7:%zu: %s.%s: "
		    "expected an integer from 1 to %d, got '%d'", strlen(cases[i].name) + 5,
		    cases[i].section, cases[i].name, cases[i].max, cases[i].max + 1);
		cr_assert_eq(load_yaml(text, &config), -1);
		cr_assert_str_eq(error, expected);

		snprintf(text, sizeof text, REQUIRED_YAML "%s:\n  %s: 0\n",
		    cases[i].section, cases[i].name);
		cr_assert_eq(load_yaml(text, &config), -1, "%s.%s: 0", cases[i].section,
		    cases[i].name);
		config_free(&config);
	}
}

Test(config, integer_rejects_non_decimal)
{
	static const struct {
		const char *value;
		const char *got;
	} cases[] = {
		{ "1.5", "'1.5'" },
		{ "abc", "'abc'" },
		{ "0x10", "'0x10'" },
		{ "+5", "'+5'" },
		{ "-1", "'-1'" },
		{ "5e0", "'5e0'" },
		{ "99999999999999999999", "'99999999999999999999'" },
		{ "", "an empty value" },
		{ "\"5\"", "the quoted string '5'" },
		{ "[5]", "a list" },
		{ "{a: 5}", "a mapping" },
	};
	char expected[256];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[256];

		snprintf(text, sizeof text, "version: \"1.0\"\nstrictness: balanced\n"
		    "escalation:\n  max_strikes: %s\n  cooldown_minutes: 5\n", cases[i].value);
		snprintf(expected, sizeof expected, "cake_config.yaml:4:%d: escalation.max_strikes: "
		    "expected an integer from 1 to 10, got %s",
		    cases[i].value[0] == '[' || cases[i].value[0] == '{' || cases[i].value[0] == '\0'
		    ? 3 : 16, cases[i].got);
		assert_load_error(text, expected);
	}
}

Test(config, strictness_error_format)
{
	assert_load_error("# CAKE\nversion: \"1.0\"\nstrictness: strict\n",
	    "cake_config.yaml:3:13: strictness: expected minimal, balanced or paranoid, got 'strict'");
}

Test(config, max_strikes_error_format)
{
	assert_load_error("# CAKE\nversion: \"1.0\"\nstrictness: balanced\nescalation:\n"
	    "  max_strikes: 42\n  cooldown_minutes: 5\n",
	    "cake_config.yaml:5:16: escalation.max_strikes: expected an integer from 1 to 10, got '42'");
}

Test(config, version_must_be_1_0)
{
	assert_load_error("version: \"2.0\"\nstrictness: balanced\n",
	    "cake_config.yaml:1:10: version: expected \"1.0\", got '2.0'");
}

Test(config, version_plain_accepted)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_yaml("version: 1.0\nstrictness: minimal\nescalation:\n"
	    "  max_strikes: 4\n  cooldown_minutes: 5\n", &config), 0, "%s", error);
	cr_assert_eq(config.strictness, STRICTNESS_MINIMAL);
	config_free(&config);
}

Test(config, wrong_types)
{
	assert_load_error(REQUIRED_YAML "safety:\n  audit_all_commands: yes\n",
	    "cake_config.yaml:7:23: safety.audit_all_commands: expected true or false, got 'yes'");
	assert_load_error(REQUIRED_YAML "safety:\n  audit_all_commands: \"true\"\n",
	    "cake_config.yaml:7:23: safety.audit_all_commands: expected true or false, "
	    "got the quoted string 'true'");
	assert_load_error(REQUIRED_YAML "safety:\n  blocked_commands: rm\n",
	    "cake_config.yaml:7:21: safety.blocked_commands: expected a list of strings "
	    "such as [\"rm -rf /\"], got 'rm'");
	assert_load_error(REQUIRED_YAML "safety:\n  blocked_commands:\n    - ls\n    - {a: b}\n",
	    "cake_config.yaml:9:8: safety.blocked_commands[1]: expected a command string, "
	    "got a mapping");
	assert_load_error(REQUIRED_YAML "safety:\n  blocked_commands: [ls, \"\"]\n",
	    "cake_config.yaml:7:26: safety.blocked_commands[1]: expected a command string, "
	    "got ''");
	assert_load_error(REQUIRED_YAML "logging:\n  level: LOUD\n",
	    "cake_config.yaml:7:10: logging.level: expected DEBUG, INFO, WARN or ERROR, got 'LOUD'");
	assert_load_error(REQUIRED_YAML "database:\n  path: \"\"\n",
	    "cake_config.yaml:7:9: database.path: expected a file path, got ''");
	assert_load_error(REQUIRED_YAML "database:\n  path: [a]\n",
	    "cake_config.yaml:7:3: database.path: expected a file path, got a list");
	assert_load_error("version: \"1.0\"\nstrictness: [balanced]\n",
	    "cake_config.yaml:2:1: strictness: expected minimal, balanced or paranoid, got a list");
	assert_load_error("version: \"1.0\"\nstrictness: balanced\nescalation: 4\n",
	    "cake_config.yaml:3:13: escalation: expected a mapping with the keys max_strikes, "
	    "cooldown_minutes, got '4'");
}

Test(config, empty_list_and_section)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_yaml(REQUIRED_YAML "safety:\n  blocked_commands: []\nsnapshot:\n",
	    &config), 0, "%s", error);
	cr_assert_eq(config.blocked_command_count, 0);
	cr_assert_eq(config.snapshot_retention_hours, 72);
	config_free(&config);
}

Test(config, unknown_key_position)
{
	assert_load_error("version: \"1.0\"\nstrictness: balanced\nescalation:\n"
	    "  max_strikes: 4\n  cooldown_minutes: 5\n  max_strike: 3\n",
	    "cake_config.yaml:6:3: escalation.max_strike: unknown key; "
	    "valid keys are max_strikes, cooldown_minutes");
	assert_load_error(REQUIRED_YAML "strictnes: paranoid\n",
	    "cake_config.yaml:6:1: strictnes: unknown key; valid keys are version, strictness, "
	    "escalation, database, logging, performance, safety, snapshot, http, supervision");
}

Test(config, supervision_defaults)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(config.supervision.restart[SUPERVISED_WATCHDOG], RESTART_ALWAYS);
	cr_assert_eq(config.supervision.restart[SUPERVISED_RECALL], RESTART_ALWAYS);
	cr_assert_eq(config.supervision.restart[SUPERVISED_OPERATOR], RESTART_ALWAYS);
	cr_assert_eq(config.supervision.restart[SUPERVISED_ADAPTER], RESTART_ON_FAILURE);
	cr_assert_eq(config.supervision.restart_limit, 5);
	cr_assert_eq(config.supervision.heartbeat_misses, 3);
	config_free(&config);
}

Test(config, supervision_nested_keys)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_yaml(REQUIRED_YAML "supervision:\n  restart_limit: 7\n"
	    "  adapter:\n    restart: never\n  watchdog:\n    restart: on-failure\n", &config), 0,
	    "load failed: %s", error);
	cr_assert_eq(config.supervision.restart_limit, 7);
	cr_assert_eq(config.supervision.restart[SUPERVISED_ADAPTER], RESTART_NEVER);
	cr_assert_eq(config.supervision.restart[SUPERVISED_WATCHDOG], RESTART_ON_FAILURE);
	cr_assert_eq(config.supervision.restart[SUPERVISED_RECALL], RESTART_ALWAYS);
	config_free(&config);
}

Test(config, supervision_invalid_policy)
{
	assert_load_error(REQUIRED_YAML "supervision:\n  adapter:\n    restart: sometimes\n",
	    "cake_config.yaml:8:14: supervision.adapter.restart: expected always, on-failure or never, "
	    "got 'sometimes'");
}

Test(config, supervision_unknown_component)
{
	assert_load_error(REQUIRED_YAML "supervision:\n  adaptor:\n    restart: never\n",
	    "cake_config.yaml:7:3: supervision.adaptor: unknown key; valid keys are restart_limit, "
	    "restart_window_seconds, backoff_initial_ms, backoff_max_ms, healthy_reset_seconds, "
	    "heartbeat_interval_ms, heartbeat_misses, ring_full, watchdog, recall, operator, adapter");
}

Test(config, ring_full_policy)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(config.supervision.ring_full, RING_FULL_BLOCK);
	cr_assert_eq(load_yaml(REQUIRED_YAML "supervision:\n  ring_full: drop\n", &config), 0,
	    "load failed: %s", error);
	cr_assert_eq(config.supervision.ring_full, RING_FULL_DROP);
	config_free(&config);

	assert_load_error(REQUIRED_YAML "supervision:\n  ring_full: overwrite\n",
	    "cake_config.yaml:7:14: supervision.ring_full: expected block or drop, got 'overwrite'");
}

Test(config, http_address_invalid)
{
	assert_load_error(REQUIRED_YAML "http:\n  address: localhost\n",
	    "cake_config.yaml:7:12: http.address: expected an IPv4 or IPv6 address such as 127.0.0.1, "
	    "got 'localhost'");
}

/* Loads TEXT and checks the error starts with PREFIX and has a description after it. */
static void
assert_load_error_prefix(const char *text, const char *prefix)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_yaml(text, &config), -1, "loaded without error:\n%s", text);
	cr_assert_eq(strncmp(error, prefix, strlen(prefix)), 0, "got: %s", error);
	cr_assert_gt(strlen(error), strlen(prefix), "no description: %s", error);
	config_free(&config);
}

Test(config, yaml_syntax_error)
{
	assert_load_error_prefix("version: \"1.0\"\nstrictness: balanced\nescalation: @x\n",
	    "cake_config.yaml:3:13: invalid YAML: ");
	assert_load_error_prefix("version: \"1.0\"\nstrictness: [balanced\n",
	    "cake_config.yaml:");
}

Test(config, duplicate_key)
{
	assert_load_error_prefix("version: \"1.0\"\nstrictness: balanced\nstrictness: minimal\n",
	    "cake_config.yaml:3:1: invalid YAML: ");
}

Test(config, root_not_mapping)
{
	assert_load_error("- version\n- strictness\n",
	    "cake_config.yaml:1:3: expected a mapping of settings such as 'version: \"1.0\"', "
	    "got a list");
	assert_load_error("balanced\n",
	    "cake_config.yaml:1:1: expected a mapping of settings such as 'version: \"1.0\"', "
	    "got 'balanced'");
}

Test(config, empty_file)
{
	assert_load_error("",
	    "cake_config.yaml: no settings found; run `cake init` to write a complete config");
	assert_load_error("# only a comment\n",
	    "cake_config.yaml: no settings found; run `cake init` to write a complete config");
}

Test(config, second_document)
{
	assert_load_error(REQUIRED_YAML "---\nstrictness: minimal\n",
	    "cake_config.yaml:7:1: expected one YAML document, found a second one; "
	    "remove the '---' line");
}

Test(config, missing_file)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(config_load("absent.yaml", &config, error, sizeof error), -1);
	cr_assert_str_eq(error, "cannot read absent.yaml: No such file or directory");
	config_free(&config);
}

Test(config, directory_as_file)
{
	struct cake_config config;

	cr_assert_eq(mkdir("settings.yaml", 0700), 0);
	config_defaults(&config);
	cr_assert_eq(config_load("settings.yaml", &config, error, sizeof error), -1);
	cr_assert_str_eq(error, "cannot read settings.yaml: Is a directory");
	config_free(&config);
}

Test(config, failure_leaves_config)
{
	struct cake_config config;

	config_defaults(&config);
	config.max_strikes = 7;
	config.strictness = STRICTNESS_PARANOID;
	snprintf(config.database_path, sizeof config.database_path, "kept.db");
	config.blocked_commands = calloc(1, sizeof *config.blocked_commands);
	cr_assert_not_null(config.blocked_commands);
	config.blocked_commands[0] = strdup("kept");
	config.blocked_command_count = 1;

	cr_assert_eq(load_yaml("version: \"1.0\"\nstrictness: minimal\ndatabase:\n"
	    "  path: other.db\nsafety:\n  blocked_commands: [x, y]\nescalation:\n"
	    "  max_strikes: 99\n  cooldown_minutes: 5\n", &config), -1);
	cr_assert_eq(config.max_strikes, 7);
	cr_assert_eq(config.strictness, STRICTNESS_PARANOID);
	cr_assert_str_eq(config.database_path, "kept.db");
	cr_assert_eq(config.blocked_command_count, 1);
	cr_assert_str_eq(config.blocked_commands[0], "kept");
	cr_assert_str_eq(config.source, "");
	config_free(&config);
}

Test(config, load_replaces_list)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(load_yaml(REQUIRED_YAML "safety:\n  blocked_commands: [a, b]\n", &config), 0,
	    "%s", error);
	cr_assert_eq(load_yaml(REQUIRED_YAML "safety:\n  blocked_commands: [c]\n", &config), 0,
	    "%s", error);
	cr_assert_eq(config.blocked_command_count, 1);
	cr_assert_str_eq(config.blocked_commands[0], "c");
	config_free(&config);
}

Test(config, env_overrides)
{
	struct cake_config config;

	config_defaults(&config);
	setenv("CAKE_ENV", "production", 1);
	setenv("CAKE_STRICTNESS", "paranoid", 1);
	setenv("CAKE_LOG_LEVEL", "debug", 1);
	cr_assert_eq(config_apply_env(&config, error, sizeof error), 0, "%s", error);
	cr_assert_str_eq(config.env, "production");
	cr_assert_eq(config.strictness, STRICTNESS_PARANOID);
	cr_assert_eq(config.log_level, LOG_LEVEL_DEBUG);
	config_free(&config);
}

Test(config, env_unset_keeps_values)
{
	struct cake_config config;

	config_defaults(&config);
	config.strictness = STRICTNESS_MINIMAL;
	setenv("CAKE_STRICTNESS", "", 1);
	cr_assert_eq(config_apply_env(&config, error, sizeof error), 0, "%s", error);
	cr_assert_str_eq(config.env, "");
	cr_assert_eq(config.strictness, STRICTNESS_MINIMAL);
	cr_assert_eq(config.log_level, LOG_LEVEL_INFO);
	config_free(&config);
}

Test(config, env_invalid_strictness)
{
	struct cake_config config;

	config_defaults(&config);
	setenv("CAKE_ENV", "staging", 1);
	setenv("CAKE_STRICTNESS", "x", 1);
	cr_assert_eq(config_apply_env(&config, error, sizeof error), -1);
	cr_assert_str_eq(error, "CAKE_STRICTNESS: expected minimal, balanced or paranoid, got 'x'");
	cr_assert_str_eq(config.env, "", "a rejected environment applies nothing");
	cr_assert_eq(config.strictness, STRICTNESS_BALANCED);
	config_free(&config);
}

Test(config, env_invalid_log_level)
{
	struct cake_config config;

	config_defaults(&config);
	setenv("CAKE_LOG_LEVEL", "verbose", 1);
	cr_assert_eq(config_apply_env(&config, error, sizeof error), -1);
	cr_assert_str_eq(error, "CAKE_LOG_LEVEL: expected DEBUG, INFO, WARN or ERROR, got 'verbose'");
	cr_assert_eq(config.log_level, LOG_LEVEL_INFO);
	config_free(&config);
}

Test(config, env_name_length)
{
	struct cake_config config;
	char name[40];

	config_defaults(&config);
	memset(name, 'a', 31);
	name[31] = '\0';
	setenv("CAKE_ENV", name, 1);
	cr_assert_eq(config_apply_env(&config, error, sizeof error), 0, "%s", error);
	cr_assert_str_eq(config.env, name);

	name[31] = 'a';
	name[32] = '\0';
	setenv("CAKE_ENV", name, 1);
	cr_assert_eq(config_apply_env(&config, error, sizeof error), -1);
	cr_assert_str_eq(error, "CAKE_ENV: expected at most 31 characters, got 32 "
	    "('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')");
	config_free(&config);
}

Test(config, resolve_paths)
{
	struct cake_config config;

	config_defaults(&config);
	cr_assert_eq(config_resolve_paths(&config, "/home/u/.cake"), 0);
	cr_assert_str_eq(config.database_path, "/home/u/.cake/recall.db");
	cr_assert_str_eq(config.log_file, "/home/u/.cake/logs/cake.log");

	config_defaults(&config);
	snprintf(config.database_path, sizeof config.database_path, "/srv/recall.db");
	cr_assert_eq(config_resolve_paths(&config, "/home/u/.cake/"), 0);
	cr_assert_str_eq(config.database_path, "/srv/recall.db");
	cr_assert_str_eq(config.log_file, "/home/u/.cake/logs/cake.log");
	config_free(&config);
}

Test(config, resolve_paths_too_long)
{
	struct cake_config config;
	char home[PATH_MAX];

	memset(home, 'h', sizeof home - 8);
	home[0] = '/';
	home[sizeof home - 8] = '\0';
	config_defaults(&config);
	cr_assert_eq(config_resolve_paths(&config, home), -1);
	cr_assert_str_eq(config.database_path, "recall.db");
	cr_assert_str_eq(config.log_file, "logs/cake.log");
	config_free(&config);
}

Test(config, find_explicit)
{
	char out[PATH_MAX];

	write_file("custom.yaml", REQUIRED_YAML);
	cr_assert_eq(config_find("custom.yaml", test_dir, out, sizeof out), 0);
	cr_assert_str_eq(out, "custom.yaml");

	cr_assert_eq(config_find("absent.yaml", test_dir, out, sizeof out), -1);
	cr_assert_str_eq(out, "absent.yaml");
}

Test(config, find_search_order)
{
	char home[PATH_MAX + 16], home_file[PATH_MAX + 48], out[PATH_MAX], expected[PATH_MAX * 2];

	snprintf(home, sizeof home, "%s/home", test_dir);
	cr_assert_eq(mkdir(home, 0700), 0);
	snprintf(home_file, sizeof home_file, "%s/cake_config.yaml", home);
	cr_assert_eq(mkdir("work", 0700), 0);
	cr_assert_eq(chdir("work"), 0);

	cr_assert_eq(config_find(NULL, home, out, sizeof out), -1);
	snprintf(expected, sizeof expected, "./cake_config.yaml or %s", home_file);
	cr_assert_str_eq(out, expected);

	write_file(home_file, REQUIRED_YAML);
	cr_assert_eq(config_find(NULL, home, out, sizeof out), 0);
	cr_assert_str_eq(out, home_file);

	write_file(CONFIG_FILE_NAME, REQUIRED_YAML);
	cr_assert_eq(config_find(NULL, home, out, sizeof out), 0);
	cr_assert_str_eq(out, CONFIG_FILE_NAME);
}

Test(config, find_without_home)
{
	char out[PATH_MAX];

	cr_assert_eq(config_find(NULL, NULL, out, sizeof out), -1);
	cr_assert_str_eq(out, "./cake_config.yaml");
}

Test(config, strictness_names)
{
	enum strictness strictness;

	cr_assert_str_eq(strictness_name(STRICTNESS_MINIMAL), "minimal");
	cr_assert_str_eq(strictness_name(STRICTNESS_BALANCED), "balanced");
	cr_assert_str_eq(strictness_name(STRICTNESS_PARANOID), "paranoid");
	cr_assert_str_eq(strictness_name((enum strictness)9), "unknown");

	cr_assert_eq(strictness_parse("paranoid", &strictness), 0);
	cr_assert_eq(strictness, STRICTNESS_PARANOID);
	cr_assert_eq(strictness_parse("Minimal", &strictness), 0);
	cr_assert_eq(strictness, STRICTNESS_MINIMAL);
	cr_assert_eq(strictness_parse("strict", &strictness), -1);
	cr_assert_eq(strictness_parse("", &strictness), -1);
}
