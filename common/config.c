/*
 * CAKE configuration: defaults, cake_config.yaml, environment overrides and
 * the template written by `cake init`.
 *
 * One table (settings[]) lists every key with its type, range and comment.
 * The loader, the unknown-key messages and the template all read it, so a
 * new key needs one new row and a field in struct cake_config.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <libfyaml.h>

#include "config.h"

#define DEFAULT_STRICTNESS STRICTNESS_BALANCED
#define DEFAULT_MAX_STRIKES 4
#define DEFAULT_COOLDOWN_MINUTES 5
#define DEFAULT_DATABASE_PATH "recall.db"
#define DEFAULT_TTL_HOURS 24
#define DEFAULT_LOG_LEVEL LOG_LEVEL_INFO
#define DEFAULT_LOG_FILE "logs/cake.log"
#define DEFAULT_LOG_MAX_SIZE_MB 100
#define DEFAULT_MAX_LATENCY_MS 500
#define DEFAULT_AUDIT_ALL_COMMANDS false
#define DEFAULT_SNAPSHOT_RETENTION_HOURS 72
#define DEFAULT_HTTP_ADDRESS "127.0.0.1"
#define DEFAULT_HEALTH_PORT 8080
#define DEFAULT_METRICS_PORT 9090

/* The complete template is about 1.5 KiB, so a file over 1 MiB is not a CAKE config. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* Maximum bytes of a value quoted back in an error message. */
#define QUOTE_MAX 64

#define REQUIRED_HINT "run `cake init` to write a complete config"

enum setting_type {
	SETTING_VERSION,	/* char[16], must equal CONFIG_VERSION */
	SETTING_STRICTNESS,	/* enum strictness */
	SETTING_INTEGER,	/* int from min to max, inclusive */
	SETTING_LOG_LEVEL,	/* enum log_level */
	SETTING_PATH,		/* char[PATH_MAX], not empty */
	SETTING_BOOLEAN,	/* bool, written true or false */
	SETTING_STRING_LIST,	/* blocked_commands and blocked_command_count */
	SETTING_ADDRESS,	/* char[CONFIG_ADDRESS_MAX], an IPv4 or IPv6 address */
	SETTING_RESTART,	/* enum restart_policy */
	SETTING_RING_FULL,	/* enum ring_full_policy */
};

struct setting {
	const char *section;	/* mapping that holds the key, NULL at the top level */
	const char *name;
	enum setting_type type;
	bool required;
	size_t offset;		/* field in struct cake_config */
	int min;
	int max;
	const char *comment;	/* template comment; integers get their range appended */
};

#define FIELD(member) offsetof(struct cake_config, member)

/* Required keys come first because the template prints them under their own heading. */
static const struct setting settings[] = {
	{ NULL, "version", SETTING_VERSION, true, FIELD(version), 0, 0,
	    "Config format version. This CAKE reads version \"" CONFIG_VERSION "\" only." },
	{ NULL, "strictness", SETTING_STRICTNESS, true, FIELD(strictness), 0, 0,
	    "How readily CAKE intervenes: minimal, balanced or paranoid." },
	{ "escalation", "max_strikes", SETTING_INTEGER, true, FIELD(max_strikes), 1, 10,
	    "Corrections of the same error before CAKE escalates" },
	{ "escalation", "cooldown_minutes", SETTING_INTEGER, true, FIELD(cooldown_minutes), 1, 60,
	    "Minutes before CAKE corrects the same error again" },
	{ "database", "path", SETTING_PATH, false, FIELD(database_path), 0, 0,
	    "Recall database file. A relative path is inside CAKE_HOME." },
	{ "database", "ttl_hours", SETTING_INTEGER, false, FIELD(ttl_hours), 1, 8760,
	    "Hours an error signature is remembered after it was last seen" },
	{ "logging", "level", SETTING_LOG_LEVEL, false, FIELD(log_level), 0, 0,
	    "Lowest level logged: DEBUG, INFO, WARN or ERROR." },
	{ "logging", "file", SETTING_PATH, false, FIELD(log_file), 0, 0,
	    "Log file. A relative path is inside CAKE_HOME." },
	{ "logging", "max_size_mb", SETTING_INTEGER, false, FIELD(log_max_size_mb), 1, 10240,
	    "Size in MiB at which the log file is rotated" },
	{ "performance", "max_latency_ms", SETTING_INTEGER, false, FIELD(max_latency_ms), 1, 60000,
	    "Target time in milliseconds from an error line to its correction" },
	{ "safety", "blocked_commands", SETTING_STRING_LIST, false, FIELD(blocked_commands), 0, 0,
	    "Commands the agent must not run, for example [\"rm -rf /\", \"git push --force\"]." },
	{ "safety", "audit_all_commands", SETTING_BOOLEAN, false, FIELD(audit_all_commands), 0, 0,
	    "Log every command the agent runs: true or false." },
	{ "snapshot", "retention_hours", SETTING_INTEGER, false, FIELD(snapshot_retention_hours), 1, 8760,
	    "Hours a snapshot is kept" },
	{ "http", "address", SETTING_ADDRESS, false, FIELD(http_address), 0, 0,
	    "Address the health and metrics endpoints listen on (IPv4 or IPv6)." },
	{ "http", "health_port", SETTING_INTEGER, false, FIELD(health_port), 0, 65535,
	    "Port of /health, /health/detailed and /ready (0 turns them off)" },
	{ "http", "metrics_port", SETTING_INTEGER, false, FIELD(metrics_port), 0, 65535,
	    "Port of /metrics (0 turns it off)" },
	{ "supervision", "restart_limit", SETTING_INTEGER, false, FIELD(supervision.restart_limit), 1, 100,
	    "Restarts allowed within restart_window_seconds before a process is marked failed" },
	{ "supervision", "restart_window_seconds", SETTING_INTEGER, false,
	    FIELD(supervision.restart_window_seconds), 1, 3600,
	    "Seconds over which restarts are counted against restart_limit" },
	{ "supervision", "backoff_initial_ms", SETTING_INTEGER, false, FIELD(supervision.backoff_initial_ms),
	    1, 60000, "Milliseconds before the second restart in a row (the first is immediate), doubling after each" },
	{ "supervision", "backoff_max_ms", SETTING_INTEGER, false, FIELD(supervision.backoff_max_ms),
	    1, 600000, "Longest delay between restarts, in milliseconds" },
	{ "supervision", "healthy_reset_seconds", SETTING_INTEGER, false,
	    FIELD(supervision.healthy_reset_seconds), 1, 86400,
	    "Seconds a process must run before its backoff starts over" },
	{ "supervision", "heartbeat_interval_ms", SETTING_INTEGER, false,
	    FIELD(supervision.heartbeat_interval_ms), 100, 60000,
	    "Milliseconds between heartbeats sent to every worker and the adapter" },
	{ "supervision", "heartbeat_misses", SETTING_INTEGER, false, FIELD(supervision.heartbeat_misses),
	    1, 100, "Heartbeats a process may miss before it counts as hung and is restarted" },
	{ "supervision", "ring_full", SETTING_RING_FULL, false, FIELD(supervision.ring_full), 0, 0,
	    "When a stream ring is full: block (the agent waits for the watchdog)\n"
	    "  # or drop (the output is discarded and counted)." },
	{ "supervision.watchdog", "restart", SETTING_RESTART, false,
	    FIELD(supervision.restart[SUPERVISED_WATCHDOG]), 0, 0,
	    "When to restart the watchdog: always, on-failure or never." },
	{ "supervision.recall", "restart", SETTING_RESTART, false,
	    FIELD(supervision.restart[SUPERVISED_RECALL]), 0, 0,
	    "When to restart the recall worker: always, on-failure or never." },
	{ "supervision.operator", "restart", SETTING_RESTART, false,
	    FIELD(supervision.restart[SUPERVISED_OPERATOR]), 0, 0,
	    "When to restart the operator: always, on-failure or never." },
	{ "supervision.adapter", "restart", SETTING_RESTART, false,
	    FIELD(supervision.restart[SUPERVISED_ADAPTER]), 0, 0,
	    "When to restart the adapter: always, on-failure (a non-zero exit or a signal) or never." },
};

#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

/* The file being loaded and where its first error goes. */
struct config_parse {
	const char *path;
	char *error;
	size_t error_size;
};

static const char *strictness_names[] = {
	[STRICTNESS_MINIMAL] = "minimal",
	[STRICTNESS_BALANCED] = "balanced",
	[STRICTNESS_PARANOID] = "paranoid",
};

void
config_defaults(struct cake_config *config)
{
	memset(config, 0, sizeof *config);

	snprintf(config->version, sizeof config->version, "%s", CONFIG_VERSION);
	config->strictness = DEFAULT_STRICTNESS;
	config->max_strikes = DEFAULT_MAX_STRIKES;
	config->cooldown_minutes = DEFAULT_COOLDOWN_MINUTES;

	snprintf(config->database_path, sizeof config->database_path, "%s", DEFAULT_DATABASE_PATH);
	config->ttl_hours = DEFAULT_TTL_HOURS;

	config->log_level = DEFAULT_LOG_LEVEL;
	snprintf(config->log_file, sizeof config->log_file, "%s", DEFAULT_LOG_FILE);
	config->log_max_size_mb = DEFAULT_LOG_MAX_SIZE_MB;

	config->max_latency_ms = DEFAULT_MAX_LATENCY_MS;

	config->blocked_commands = NULL;
	config->blocked_command_count = 0;
	config->audit_all_commands = DEFAULT_AUDIT_ALL_COMMANDS;

	config->snapshot_retention_hours = DEFAULT_SNAPSHOT_RETENTION_HOURS;

	snprintf(config->http_address, sizeof config->http_address, "%s", DEFAULT_HTTP_ADDRESS);
	config->health_port = DEFAULT_HEALTH_PORT;
	config->metrics_port = DEFAULT_METRICS_PORT;

	/*
	 * Supervision defaults: the first restart is immediate because most
	 * crashes are one-off; then 100 ms doubling up to 30 s, so a crash loop
	 * costs little CPU yet recovers within 30 s once its cause is gone. Five
	 * restarts within 60 s mark the process failed instead of looping for
	 * ever. A 1 s heartbeat with 3 misses finds a hung process within
	 * about 3 s without false alarms on a loaded machine.
	 */
	config->supervision.restart_limit = 5;
	config->supervision.restart_window_seconds = 60;
	config->supervision.backoff_initial_ms = 100;
	config->supervision.backoff_max_ms = 30000;
	config->supervision.healthy_reset_seconds = 60;
	config->supervision.heartbeat_interval_ms = 1000;
	config->supervision.heartbeat_misses = 3;
	config->supervision.ring_full = RING_FULL_BLOCK;
	config->supervision.restart[SUPERVISED_WATCHDOG] = RESTART_ALWAYS;
	config->supervision.restart[SUPERVISED_RECALL] = RESTART_ALWAYS;
	config->supervision.restart[SUPERVISED_OPERATOR] = RESTART_ALWAYS;
	config->supervision.restart[SUPERVISED_ADAPTER] = RESTART_ON_FAILURE;
}

static const char *restart_policy_names[] = {
	[RESTART_ALWAYS] = "always",
	[RESTART_ON_FAILURE] = "on-failure",
	[RESTART_NEVER] = "never",
};

const char *
restart_policy_name(enum restart_policy policy)
{
	if (policy < RESTART_ALWAYS || policy > RESTART_NEVER)
		return "unknown";
	return restart_policy_names[policy];
}

int
restart_policy_parse(const char *text, enum restart_policy *out)
{
	for (int i = RESTART_ALWAYS; i <= RESTART_NEVER; i++) {
		if (strcmp(text, restart_policy_names[i]) == 0) {
			*out = (enum restart_policy)i;
			return 0;
		}
	}
	return -1;
}

void
config_free(struct cake_config *config)
{
	size_t i;

	for (i = 0; i < config->blocked_command_count; i++)
		free(config->blocked_commands[i]);
	free(config->blocked_commands);
	config->blocked_commands = NULL;
	config->blocked_command_count = 0;
}

const char *
strictness_name(enum strictness strictness)
{
	if (strictness < STRICTNESS_MINIMAL || strictness > STRICTNESS_PARANOID)
		return "unknown";
	return strictness_names[strictness];
}

int
strictness_parse(const char *text, enum strictness *out)
{
	int i;

	for (i = STRICTNESS_MINIMAL; i <= STRICTNESS_PARANOID; i++) {
		if (strcasecmp(text, strictness_names[i]) == 0) {
			*out = (enum strictness)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Copies at most QUOTE_MAX bytes of TEXT into OUT for an error message,
 * replacing control characters so the message stays on one line.
 */
static void
quote_text(const char *text, size_t length, char *out, size_t size)
{
	size_t i, copied;

	copied = length > QUOTE_MAX ? QUOTE_MAX : length;
	if (copied > size - 4)
		copied = size - 4;
	for (i = 0; i < copied; i++) {
		unsigned char c = (unsigned char)text[i];

		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';
	if (copied < length)
		strcat(out, "...");
}

/* Plain style is how unquoted YAML scalars (numbers, booleans) are written. */
static bool
node_is_plain(struct fy_node *node)
{
	enum fy_node_style style = fy_node_get_style(node);

	return style == FYNS_PLAIN || style == FYNS_ANY;
}

/* A key with nothing after its colon, as in "escalation:". */
static bool
node_is_empty(struct fy_node *node)
{
	if (node == NULL)
		return true;
	return fy_node_is_scalar(node) && node_is_plain(node) &&
	    fy_node_get_scalar_length(node) == 0;
}

/*
 * Describes VALUE for the "got ..." part of a message: 'text' for a scalar,
 * or "a list", "a mapping", "an empty value". With SHOW_QUOTING a quoted
 * scalar reads "the quoted string 'text'", for keys that expect a number or
 * a boolean.
 */
static const char *
describe_value(struct fy_node *value, bool show_quoting, char *out, size_t size)
{
	char quoted[QUOTE_MAX + 4];
	const char *text;
	size_t length;

	if (node_is_empty(value))
		return "an empty value";
	if (fy_node_is_sequence(value))
		return "a list";
	if (fy_node_is_mapping(value))
		return "a mapping";

	text = fy_node_get_scalar(value, &length);
	quote_text(text, length, quoted, sizeof quoted);
	if (show_quoting && !node_is_plain(value))
		snprintf(out, size, "the quoted string '%s'", quoted);
	else
		snprintf(out, size, "'%s'", quoted);
	return out;
}

/*
 * Finds where NODE starts, 1-based. A collection starts at its first scalar.
 * Returns -1 for a node with no position, such as an empty value.
 */
static int
node_position(struct fy_node *node, int *line, int *column)
{
	const struct fy_mark *mark;
	struct fy_node_pair *pair;
	enum fy_node_style style;
	void *iter = NULL;

	if (node == NULL)
		return -1;

	switch (fy_node_get_type(node)) {
	case FYNT_SCALAR:
		mark = fy_token_start_mark(fy_node_get_scalar_token(node));
		if (mark == NULL)
			return -1;
		*line = mark->line + 1;
		*column = mark->column + 1;
		/* libfyaml marks a quoted scalar after its opening quote. */
		style = fy_node_get_style(node);
		if ((style == FYNS_SINGLE_QUOTED || style == FYNS_DOUBLE_QUOTED) && *column > 1)
			(*column)--;
		return 0;
	case FYNT_SEQUENCE:
		return node_position(fy_node_sequence_iterate(node, &iter), line, column);
	case FYNT_MAPPING:
		pair = fy_node_mapping_iterate(node, &iter);
		if (pair == NULL)
			return -1;
		return node_position(fy_node_pair_key(pair), line, column);
	}
	return -1;
}

/*
 * Writes "FILE:LINE:COLUMN: KEY: message" to the parse error. The position
 * is that of AT when it is a scalar, else that of FALLBACK (the key whose
 * value is wrong). KEY may be NULL for errors about the whole file.
 */
static int
parse_error(struct config_parse *parse, struct fy_node *at, struct fy_node *fallback,
    const char *key, const char *fmt, ...)
{
	char message[512];
	int line, column, found;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);

	found = -1;
	if (at != NULL && fy_node_is_scalar(at))
		found = node_position(at, &line, &column);
	if (found == -1)
		found = node_position(fallback, &line, &column);

	if (found == 0 && key != NULL)
		snprintf(parse->error, parse->error_size, "%s:%d:%d: %s: %s",
		    parse->path, line, column, key, message);
	else if (found == 0)
		snprintf(parse->error, parse->error_size, "%s:%d:%d: %s",
		    parse->path, line, column, message);
	else if (key != NULL)
		snprintf(parse->error, parse->error_size, "%s: %s: %s", parse->path, key, message);
	else
		snprintf(parse->error, parse->error_size, "%s: %s", parse->path, message);
	return -1;
}

static void
setting_key(const struct setting *setting, char *out, size_t size)
{
	if (setting->section == NULL)
		snprintf(out, size, "%s", setting->name);
	else
		snprintf(out, size, "%s.%s", setting->section, setting->name);
}

static bool
name_equals(const char *name, const char *text, size_t length)
{
	return strlen(name) == length && memcmp(name, text, length) == 0;
}

/* Returns the index in settings[] of key TEXT inside SECTION, or -1. */
static int
setting_find(const char *section, const char *text, size_t length)
{
	size_t i;

	for (i = 0; i < SETTING_COUNT; i++) {
		if ((settings[i].section == NULL) != (section == NULL))
			continue;
		if (section != NULL && strcmp(settings[i].section, section) != 0)
			continue;
		if (name_equals(settings[i].name, text, length))
			return (int)i;
	}
	return -1;
}

/*
 * Returns the section TEXT inside PARENT (NULL: the top level) as spelled in
 * settings[], or NULL. Nested sections are spelled with dots,
 * "supervision.watchdog", and every level has at least one setting of its own.
 */
static const char *
section_find(const char *parent, const char *text, size_t length)
{
	char name[128];
	size_t i;
	int n;

	if (parent != NULL)
		n = snprintf(name, sizeof name, "%s.%.*s", parent, (int)length, text);
	else
		n = snprintf(name, sizeof name, "%.*s", (int)length, text);
	if (n < 0 || (size_t)n >= sizeof name)
		return NULL;

	for (i = 0; i < SETTING_COUNT; i++) {
		if (settings[i].section != NULL && strcmp(settings[i].section, name) == 0)
			return settings[i].section;
	}
	return NULL;
}

/* Returns the last component of a dotted SECTION: "watchdog" for "supervision.watchdog". */
static const char *
section_leaf(const char *section)
{
	const char *dot = strrchr(section, '.');

	return dot != NULL ? dot + 1 : section;
}

/* Returns true when SECTION is a direct child of PARENT (NULL: the top level). */
static bool
section_is_child(const char *section, const char *parent)
{
	size_t length;

	if (parent == NULL)
		return strchr(section, '.') == NULL;
	length = strlen(parent);
	return strncmp(section, parent, length) == 0 && section[length] == '.' &&
	    strchr(section + length + 1, '.') == NULL;
}

/* Lists the keys and subsections allowed inside SECTION (NULL: the top level), comma-separated. */
static void
valid_keys(const char *section, char *out, size_t size)
{
	const char *name;
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < SETTING_COUNT; i++) {
		const char *own = settings[i].section;

		if ((own == NULL && section == NULL) || (own != NULL && section != NULL && strcmp(own, section) == 0)) {
			name = settings[i].name;
		} else if (own != NULL && section_is_child(own, section)) {
			/* A subsection is listed once, at its first setting. */
			if (i > 0 && settings[i - 1].section != NULL && strcmp(settings[i - 1].section, own) == 0)
				continue;
			name = section_leaf(own);
		} else {
			continue;
		}
		if (used >= size)
			break;
		used += snprintf(out + used, size - used, "%s%s", used > 0 ? ", " : "", name);
	}
}

/* Accepts plain decimal digits only: no sign, fraction, exponent or base prefix. */
static int
parse_integer(struct fy_node *value, long *out)
{
	char digits[24];
	const char *text;
	size_t length, i;

	if (node_is_empty(value) || !fy_node_is_scalar(value) || !node_is_plain(value))
		return -1;

	text = fy_node_get_scalar(value, &length);
	if (length == 0 || length >= sizeof digits)
		return -1;
	for (i = 0; i < length; i++) {
		if (!isdigit((unsigned char)text[i]))
			return -1;
	}

	memcpy(digits, text, length);
	digits[length] = '\0';
	errno = 0;
	*out = strtol(digits, NULL, 10);
	return errno == ERANGE ? -1 : 0;
}

/*
 * Returns the text of scalar VALUE, NUL-terminated, or NULL for a collection
 * or a scalar with a NUL byte inside.
 */
static const char *
scalar_string(struct fy_node *value, size_t *length)
{
	const char *text;

	if (value == NULL) {
		*length = 0;
		return "";
	}
	if (!fy_node_is_scalar(value))
		return NULL;
	text = fy_node_get_scalar0(value);
	if (text == NULL)
		return NULL;
	*length = fy_node_get_scalar_length(value);
	if (strlen(text) != *length)
		return NULL;
	return text;
}

static int
load_string_list(struct config_parse *parse, const char *key, struct fy_node *key_node,
    struct fy_node *value, struct cake_config *config)
{
	char described[QUOTE_MAX + 32], item_key[128];
	struct fy_node *item;
	const char *text;
	void *iter = NULL;
	size_t count, length;
	char **list;

	if (node_is_empty(value))
		return 0;
	if (!fy_node_is_sequence(value))
		return parse_error(parse, value, key_node, key,
		    "expected a list of strings such as [\"rm -rf /\"], got %s",
		    describe_value(value, false, described, sizeof described));

	count = (size_t)fy_node_sequence_item_count(value);
	if (count == 0)
		return 0;
	list = calloc(count, sizeof *list);
	if (list == NULL)
		return parse_error(parse, NULL, key_node, key, "out of memory");

	config->blocked_commands = list;
	config->blocked_command_count = 0;
	while ((item = fy_node_sequence_iterate(value, &iter)) != NULL) {
		text = scalar_string(item, &length);
		if (text == NULL || length == 0) {
			snprintf(item_key, sizeof item_key, "%s[%zu]", key,
			    config->blocked_command_count);
			/* A collection item is located by its first scalar, an empty one by the key. */
			return parse_error(parse, item, fy_node_is_scalar(item) ? key_node : item,
			    item_key, "expected a command string, got %s",
			    describe_value(item, false, described, sizeof described));
		}
		list[config->blocked_command_count] = strdup(text);
		if (list[config->blocked_command_count] == NULL)
			return parse_error(parse, NULL, key_node, key, "out of memory");
		config->blocked_command_count++;
	}
	return 0;
}

/* Checks VALUE against SETTING and stores it in CONFIG. */
static int
load_value(struct config_parse *parse, const struct setting *setting, struct fy_node *key_node,
    struct fy_node *value, struct cake_config *config)
{
	char key[64], described[QUOTE_MAX + 32];
	char *field = (char *)config + setting->offset;
	enum strictness strictness;
	enum log_level level;
	const char *text;
	size_t length;
	long number;

	setting_key(setting, key, sizeof key);
	text = scalar_string(value, &length);

	switch (setting->type) {
	case SETTING_VERSION:
		if (text == NULL || strcmp(text, CONFIG_VERSION) != 0)
			return parse_error(parse, value, key_node, key, "expected \"%s\", got %s",
			    CONFIG_VERSION, describe_value(value, false, described, sizeof described));
		snprintf(config->version, sizeof config->version, "%s", text);
		break;
	case SETTING_STRICTNESS:
		if (text == NULL || strictness_parse(text, &strictness) == -1)
			return parse_error(parse, value, key_node, key,
			    "expected minimal, balanced or paranoid, got %s",
			    describe_value(value, false, described, sizeof described));
		*(enum strictness *)field = strictness;
		break;
	case SETTING_INTEGER:
		if (parse_integer(value, &number) == -1 ||
		    number < setting->min || number > setting->max)
			return parse_error(parse, value, key_node, key,
			    "expected an integer from %d to %d, got %s", setting->min, setting->max,
			    describe_value(value, true, described, sizeof described));
		*(int *)field = (int)number;
		break;
	case SETTING_LOG_LEVEL:
		if (text == NULL || log_level_parse(text, &level) == -1)
			return parse_error(parse, value, key_node, key,
			    "expected DEBUG, INFO, WARN or ERROR, got %s",
			    describe_value(value, false, described, sizeof described));
		*(enum log_level *)field = level;
		break;
	case SETTING_PATH:
		if (text == NULL || length == 0)
			return parse_error(parse, value, key_node, key, "expected a file path, got %s",
			    describe_value(value, false, described, sizeof described));
		if (length >= PATH_MAX)
			return parse_error(parse, value, key_node, key,
			    "expected a path of at most %d bytes, got %zu bytes", PATH_MAX - 1, length);
		memcpy(field, text, length + 1);
		break;
	case SETTING_BOOLEAN:
		if (text == NULL || !node_is_plain(value) ||
		    (strcmp(text, "true") != 0 && strcmp(text, "false") != 0))
			return parse_error(parse, value, key_node, key, "expected true or false, got %s",
			    describe_value(value, true, described, sizeof described));
		*(bool *)field = strcmp(text, "true") == 0;
		break;
	case SETTING_STRING_LIST:
		return load_string_list(parse, key, key_node, value, config);
	case SETTING_RING_FULL:
		if (text == NULL || (strcmp(text, "block") != 0 && strcmp(text, "drop") != 0))
			return parse_error(parse, value, key_node, key, "expected block or drop, got %s",
			    describe_value(value, false, described, sizeof described));
		*(enum ring_full_policy *)field = strcmp(text, "drop") == 0 ? RING_FULL_DROP : RING_FULL_BLOCK;
		break;
	case SETTING_RESTART: {
		enum restart_policy policy;

		if (text == NULL || restart_policy_parse(text, &policy) == -1)
			return parse_error(parse, value, key_node, key,
			    "expected always, on-failure or never, got %s",
			    describe_value(value, false, described, sizeof described));
		*(enum restart_policy *)field = policy;
		break;
	}
	case SETTING_ADDRESS: {
		unsigned char address[sizeof(struct in6_addr)];

		if (text == NULL || length >= CONFIG_ADDRESS_MAX ||
		    (inet_pton(AF_INET, text, address) != 1 && inet_pton(AF_INET6, text, address) != 1))
			return parse_error(parse, value, key_node, key,
			    "expected an IPv4 or IPv6 address such as 127.0.0.1, got %s",
			    describe_value(value, false, described, sizeof described));
		memcpy(field, text, length + 1);
		break;
	}
	}
	return 0;
}

/*
 * Accepts the watchdog mapping, whose only key is patterns: a list of user
 * detection rules. rules_load() reads and checks each rule when the
 * watchdog starts, with errors in the same FILE:LINE:COL form.
 */
static int
load_watchdog(struct config_parse *parse, struct fy_node *key_node, struct fy_node *value)
{
	char described[QUOTE_MAX + 32];
	struct fy_node_pair *pair;
	struct fy_node *patterns;
	void *iter = NULL;
	const char *name;
	size_t length;

	if (node_is_empty(value))
		return 0;
	if (!fy_node_is_mapping(value))
		return parse_error(parse, value, key_node, "watchdog",
		    "expected a mapping with the key patterns, got %s",
		    describe_value(value, false, described, sizeof described));
	while ((pair = fy_node_mapping_iterate(value, &iter)) != NULL) {
		name = fy_node_get_scalar(fy_node_pair_key(pair), &length);
		if (name == NULL || length != 8 || memcmp(name, "patterns", 8) != 0)
			return parse_error(parse, fy_node_pair_key(pair), fy_node_pair_key(pair),
			    "watchdog", "unknown key; the only valid key is patterns");
		patterns = fy_node_pair_value(pair);
		if (!node_is_empty(patterns) && !fy_node_is_sequence(patterns))
			return parse_error(parse, patterns, fy_node_pair_key(pair), "watchdog.patterns",
			    "expected a list of rules with id, pattern, error_type and fix, got %s",
			    describe_value(patterns, false, described, sizeof described));
	}
	return 0;
}

/*
 * Loads one KEY: VALUE pair found inside SECTION (NULL: the top level).
 * Marks the setting in SEEN so missing required keys can be reported.
 */
static int
load_pair(struct config_parse *parse, const char *section, struct fy_node_pair *pair,
    struct cake_config *config, bool *seen)
{
	struct fy_node *key_node = fy_node_pair_key(pair);
	struct fy_node *value = fy_node_pair_value(pair);
	char key[256], keys[256], described[QUOTE_MAX + 32], quoted[QUOTE_MAX + 4];
	const char *text, *subsection;
	struct fy_node_pair *subpair;
	void *iter = NULL;
	size_t length;
	int index;

	if (key_node == NULL || !fy_node_is_scalar(key_node))
		return parse_error(parse, key_node, key_node, section, "expected a key name, got %s",
		    describe_value(key_node, false, described, sizeof described));
	text = fy_node_get_scalar(key_node, &length);
	if (section == NULL && length == 8 && memcmp(text, "watchdog", 8) == 0)
		return load_watchdog(parse, key_node, value);

	index = setting_find(section, text, length);
	if (index != -1) {
		seen[index] = true;
		return load_value(parse, &settings[index], key_node, value, config);
	}

	subsection = section_find(section, text, length);
	if (subsection != NULL) {
		if (node_is_empty(value))
			return 0;
		if (!fy_node_is_mapping(value)) {
			valid_keys(subsection, keys, sizeof keys);
			return parse_error(parse, value, key_node, subsection,
			    "expected a mapping with the keys %s, got %s", keys,
			    describe_value(value, false, described, sizeof described));
		}
		while ((subpair = fy_node_mapping_iterate(value, &iter)) != NULL) {
			if (load_pair(parse, subsection, subpair, config, seen) == -1)
				return -1;
		}
		return 0;
	}

	quote_text(text, length, quoted, sizeof quoted);
	if (section != NULL)
		snprintf(key, sizeof key, "%s.%s", section, quoted);
	else
		snprintf(key, sizeof key, "%s", quoted);
	valid_keys(section, keys, sizeof keys);
	return parse_error(parse, key_node, key_node, key, "unknown key; valid keys are %s", keys);
}

static int
load_root(struct config_parse *parse, struct fy_node *root, struct cake_config *config)
{
	bool seen[SETTING_COUNT] = { false };
	char key[64], described[QUOTE_MAX + 32];
	struct fy_node_pair *pair;
	void *iter = NULL;
	size_t i;

	if (node_is_empty(root))
		return parse_error(parse, NULL, NULL, NULL, "no settings found; " REQUIRED_HINT);
	if (!fy_node_is_mapping(root))
		return parse_error(parse, root, root, NULL,
		    "expected a mapping of settings such as 'version: \"%s\"', got %s",
		    CONFIG_VERSION, describe_value(root, false, described, sizeof described));

	while ((pair = fy_node_mapping_iterate(root, &iter)) != NULL) {
		if (load_pair(parse, NULL, pair, config, seen) == -1)
			return -1;
	}

	for (i = 0; i < SETTING_COUNT; i++) {
		if (settings[i].required && !seen[i]) {
			setting_key(&settings[i], key, sizeof key);
			return parse_error(parse, NULL, NULL, key,
			    "required key missing; " REQUIRED_HINT);
		}
	}
	return 0;
}

/* Reports the first YAML error libfyaml collected in DIAG. */
static int
syntax_error(struct config_parse *parse, struct fy_diag *diag)
{
	struct fy_diag_error *error;
	void *iter = NULL;

	while ((error = fy_diag_errors_iterate(diag, &iter)) != NULL) {
		if (error->type < FYET_ERROR)
			continue;
		/* libfyaml 0.7.12 stores collected error positions 1-based. */
		if (error->line > 0 && error->column > 0)
			snprintf(parse->error, parse->error_size, "%s:%d:%d: invalid YAML: %s",
			    parse->path, error->line, error->column, error->msg);
		else
			snprintf(parse->error, parse->error_size, "%s: invalid YAML: %s",
			    parse->path, error->msg);
		return -1;
	}
	return parse_error(parse, NULL, NULL, NULL, "invalid YAML");
}

/* Parses TEXT as exactly one YAML document and loads it into CONFIG. */
static int
load_text(struct config_parse *parse, const char *text, size_t length, struct cake_config *config)
{
	struct fy_parse_cfg parse_cfg;
	struct fy_diag_cfg diag_cfg;
	struct fy_document *document = NULL, *extra;
	struct fy_parser *parser = NULL;
	struct fy_diag *diag;
	int result = -1;

	fy_diag_cfg_default(&diag_cfg);
	diag_cfg.fp = NULL;
	diag_cfg.level = FYET_ERROR;
	diag = fy_diag_create(&diag_cfg);
	if (diag == NULL)
		return parse_error(parse, NULL, NULL, NULL, "cannot create the YAML parser");
	fy_diag_set_collect_errors(diag, true);

	memset(&parse_cfg, 0, sizeof parse_cfg);
	parse_cfg.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT;
	parse_cfg.diag = diag;
	parser = fy_parser_create(&parse_cfg);
	if (parser == NULL || fy_parser_set_string(parser, text, length) != 0) {
		parse_error(parse, NULL, NULL, NULL, "cannot create the YAML parser");
		goto out;
	}

	document = fy_parse_load_document(parser);
	if (fy_parser_get_stream_error(parser) || fy_diag_got_error(diag)) {
		syntax_error(parse, diag);
		goto out;
	}
	if (document == NULL) {
		parse_error(parse, NULL, NULL, NULL, "no settings found; " REQUIRED_HINT);
		goto out;
	}

	extra = fy_parse_load_document(parser);
	if (extra != NULL) {
		parse_error(parse, NULL, fy_document_root(extra), NULL,
		    "expected one YAML document, found a second one; remove the '---' line");
		fy_parse_document_destroy(parser, extra);
		goto out;
	}
	if (fy_parser_get_stream_error(parser) || fy_diag_got_error(diag)) {
		syntax_error(parse, diag);
		goto out;
	}

	result = load_root(parse, fy_document_root(document), config);

out:
	if (document != NULL)
		fy_parse_document_destroy(parser, document);
	if (parser != NULL)
		fy_parser_destroy(parser);
	fy_diag_destroy(diag);
	return result;
}

/* Reads all of PATH into a malloc'd buffer. */
static char *
read_file(const char *path, size_t *length, char *error, size_t error_size)
{
	FILE *file;
	char *text;
	int saved;

	file = fopen(path, "re");
	if (file == NULL) {
		snprintf(error, error_size, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (text == NULL) {
		fclose(file);
		snprintf(error, error_size, "cannot read %s: %s", path, strerror(ENOMEM));
		return NULL;
	}

	*length = fread(text, 1, CONFIG_FILE_MAX + 1, file);
	saved = errno;
	if (ferror(file)) {
		snprintf(error, error_size, "cannot read %s: %s", path, strerror(saved));
		goto fail;
	}
	if (*length > CONFIG_FILE_MAX) {
		snprintf(error, error_size, "cannot read %s: larger than %d bytes, the limit for a config file",
		    path, CONFIG_FILE_MAX);
		goto fail;
	}
	fclose(file);
	return text;

fail:
	fclose(file);
	free(text);
	return NULL;
}

int
config_load(const char *path, struct cake_config *config, char *error, size_t error_size)
{
	struct config_parse parse = { path, error, error_size };
	struct cake_config loaded;
	size_t length;
	char *text;

	text = read_file(path, &length, error, error_size);
	if (text == NULL)
		return -1;

	config_defaults(&loaded);
	if (load_text(&parse, text, length, &loaded) == -1) {
		config_free(&loaded);
		free(text);
		return -1;
	}
	free(text);

	snprintf(loaded.source, sizeof loaded.source, "%s", path);
	config_free(config);
	*config = loaded;
	return 0;
}

int
config_apply_env(struct cake_config *config, char *error, size_t error_size)
{
	char quoted[QUOTE_MAX + 4];
	enum strictness strictness = config->strictness;
	enum log_level level = config->log_level;
	const char *env, *text;

	/* Every variable is checked before any is applied, so an error changes nothing. */
	env = getenv("CAKE_ENV");
	if (env != NULL && strlen(env) >= sizeof config->env) {
		quote_text(env, strlen(env), quoted, sizeof quoted);
		snprintf(error, error_size, "CAKE_ENV: expected at most %zu characters, got %zu ('%s')",
		    sizeof config->env - 1, strlen(env), quoted);
		return -1;
	}

	text = getenv("CAKE_STRICTNESS");
	if (text != NULL && *text != '\0' && strictness_parse(text, &strictness) == -1) {
		quote_text(text, strlen(text), quoted, sizeof quoted);
		snprintf(error, error_size,
		    "CAKE_STRICTNESS: expected minimal, balanced or paranoid, got '%s'", quoted);
		return -1;
	}

	text = getenv("CAKE_LOG_LEVEL");
	if (text != NULL && *text != '\0' && log_level_parse(text, &level) == -1) {
		quote_text(text, strlen(text), quoted, sizeof quoted);
		snprintf(error, error_size,
		    "CAKE_LOG_LEVEL: expected DEBUG, INFO, WARN or ERROR, got '%s'", quoted);
		return -1;
	}

	if (env != NULL && *env != '\0')
		snprintf(config->env, sizeof config->env, "%s", env);
	config->strictness = strictness;
	config->log_level = level;
	return 0;
}

/* Writes CAKE_HOME/PATH to OUT, or PATH itself when it is absolute. */
static int
resolve_path(const char *path, const char *cake_home, char *out, size_t size)
{
	size_t home_length = strlen(cake_home);
	const char *separator;
	int written;

	if (path[0] == '/') {
		written = snprintf(out, size, "%s", path);
	} else {
		separator = home_length > 0 && cake_home[home_length - 1] == '/' ? "" : "/";
		written = snprintf(out, size, "%s%s%s", cake_home, separator, path);
	}
	return written < 0 || (size_t)written >= size ? -1 : 0;
}

int
config_resolve_paths(struct cake_config *config, const char *cake_home)
{
	char database_path[PATH_MAX], log_file[PATH_MAX];

	if (resolve_path(config->database_path, cake_home, database_path, sizeof database_path) == -1)
		return -1;
	if (resolve_path(config->log_file, cake_home, log_file, sizeof log_file) == -1)
		return -1;

	memcpy(config->database_path, database_path, sizeof database_path);
	memcpy(config->log_file, log_file, sizeof log_file);
	return 0;
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int
config_find(const char *explicit_path, const char *cake_home, char *out, size_t out_size)
{
	char home_path[PATH_MAX];
	int written;

	if (explicit_path != NULL) {
		written = snprintf(out, out_size, "%s", explicit_path);
		if (written < 0 || (size_t)written >= out_size)
			return -1;
		return file_exists(explicit_path) ? 0 : -1;
	}

	if (file_exists(CONFIG_FILE_NAME)) {
		snprintf(out, out_size, "%s", CONFIG_FILE_NAME);
		return 0;
	}
	if (cake_home == NULL || *cake_home == '\0' ||
	    resolve_path(CONFIG_FILE_NAME, cake_home, home_path, sizeof home_path) == -1) {
		snprintf(out, out_size, "./%s", CONFIG_FILE_NAME);
		return -1;
	}

	if (file_exists(home_path)) {
		written = snprintf(out, out_size, "%s", home_path);
		return written < 0 || (size_t)written >= out_size ? -1 : 0;
	}
	snprintf(out, out_size, "./%s or %s", CONFIG_FILE_NAME, home_path);
	return -1;
}

/* Writes one setting of DEFAULTS as "key: value" with its comment above. */
static void
write_setting(FILE *file, const struct setting *setting, const struct cake_config *defaults)
{
	const char *field = (const char *)defaults + setting->offset;
	char indent[16] = "";
	int depth = 0;

	if (setting->section != NULL) {
		depth = 1;
		for (const char *p = setting->section; *p != '\0'; p++)
			depth += *p == '.';
	}
	snprintf(indent, sizeof indent, "%*s", 2 * depth, "");

	if (setting->type == SETTING_INTEGER)
		fprintf(file, "%s# %s, %d to %d.\n", indent, setting->comment, setting->min, setting->max);
	else
		fprintf(file, "%s# %s\n", indent, setting->comment);

	fprintf(file, "%s%s: ", indent, setting->name);
	switch (setting->type) {
	case SETTING_VERSION:
		fprintf(file, "\"%s\"\n", field);
		break;
	case SETTING_STRICTNESS:
		fprintf(file, "%s\n", strictness_name(*(const enum strictness *)field));
		break;
	case SETTING_INTEGER:
		fprintf(file, "%d\n", *(const int *)field);
		break;
	case SETTING_LOG_LEVEL:
		fprintf(file, "%s\n", log_level_name(*(const enum log_level *)field));
		break;
	case SETTING_PATH:
	case SETTING_ADDRESS:
		fprintf(file, "%s\n", field);
		break;
	case SETTING_RESTART:
		fprintf(file, "%s\n", restart_policy_name(*(const enum restart_policy *)field));
		break;
	case SETTING_RING_FULL:
		fprintf(file, "%s\n", *(const enum ring_full_policy *)field == RING_FULL_DROP ? "drop" : "block");
		break;
	case SETTING_BOOLEAN:
		fprintf(file, "%s\n", *(const bool *)field ? "true" : "false");
		break;
	case SETTING_STRING_LIST:
		/* The default list is empty. */
		fprintf(file, "[]\n");
		break;
	}
}

/*
 * Prints the mapping headers that lead from section PREVIOUS to section NEXT,
 * indented by depth: "supervision:" then "  watchdog:" for
 * "supervision.watchdog", but only "  watchdog:" after "supervision".
 */
static void
write_section_headers(FILE *file, const char *previous, const char *next)
{
	size_t shared = 0, depth = 0;
	const char *start = next;

	/* Count the leading components NEXT shares with PREVIOUS. */
	if (previous != NULL) {
		size_t i = 0;

		while (previous[i] != '\0' && previous[i] == next[i]) {
			if (next[i] == '.')
				shared = i + 1;
			i++;
		}
		if (previous[i] == '\0' && next[i] == '.')
			shared = i + 1;
	}

	for (const char *p = next; ; p++) {
		if (*p != '.' && *p != '\0')
			continue;
		if ((size_t)(start - next) >= shared)
			fprintf(file, "%s%*s%.*s:\n", depth == 0 ? "\n" : "", (int)(2 * depth), "",
			    (int)(p - start), start);
		if (*p == '\0')
			break;
		depth++;
		start = p + 1;
	}
}

static void
write_template(FILE *file)
{
	struct cake_config defaults;
	const char *section = NULL;
	size_t i;

	config_defaults(&defaults);
	fprintf(file,
	    "# CAKE configuration, written by `cake init`.\n"
	    "#\n"
	    "# CAKE reads ./%s, else $CAKE_HOME/%s\n"
	    "# (CAKE_HOME is ~/.cake unless set). Unknown keys are errors. The\n"
	    "# environment variables CAKE_ENV, CAKE_STRICTNESS and CAKE_LOG_LEVEL\n"
	    "# override this file.\n"
	    "\n"
	    "# Required settings.\n",
	    CONFIG_FILE_NAME, CONFIG_FILE_NAME);

	for (i = 0; i < SETTING_COUNT; i++) {
		if (i > 0 && settings[i - 1].required && !settings[i].required)
			fprintf(file, "\n# Optional settings, shown with their defaults.\n");

		if (settings[i].section != NULL &&
		    (section == NULL || strcmp(section, settings[i].section) != 0)) {
			write_section_headers(file, section, settings[i].section);
			section = settings[i].section;
		} else if (settings[i].section == NULL) {
			fprintf(file, "\n");
		}
		write_setting(file, &settings[i], &defaults);
	}
	config_free(&defaults);
}

/* Writes DIR of PATH to OUT: "." for a bare file name. */
static void
directory_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, size, ".");
	else if (slash == path)
		snprintf(out, size, "/");
	else
		snprintf(out, size, "%.*s", (int)(slash - path), path);
}

int
config_write_template(const char *path, bool force, char *error, size_t error_size)
{
	char directory[PATH_MAX], temporary[PATH_MAX];
	const char *base;
	struct stat st;
	FILE *file;
	int fd, directory_fd, written;

	if (!force && lstat(path, &st) == 0) {
		snprintf(error, error_size, "%s already exists; pass --force to overwrite it", path);
		return -1;
	}

	directory_of(path, directory, sizeof directory);
	base = strrchr(path, '/');
	base = base == NULL ? path : base + 1;
	written = snprintf(temporary, sizeof temporary, "%s/.%s.XXXXXX", directory, base);
	if (written < 0 || (size_t)written >= sizeof temporary) {
		snprintf(error, error_size, "cannot write %s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}

	fd = mkstemp(temporary);
	if (fd == -1) {
		snprintf(error, error_size, "cannot write %s: cannot create a temporary file in %s: %s",
		    path, directory, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) == -1 || (file = fdopen(fd, "w")) == NULL) {
		snprintf(error, error_size, "cannot write %s: %s", temporary, strerror(errno));
		close(fd);
		unlink(temporary);
		return -1;
	}

	write_template(file);
	if (fflush(file) != 0 || ferror(file) || fsync(fd) == -1) {
		snprintf(error, error_size, "cannot write %s: %s", temporary, strerror(errno));
		fclose(file);
		unlink(temporary);
		return -1;
	}
	if (fclose(file) != 0) {
		snprintf(error, error_size, "cannot write %s: %s", temporary, strerror(errno));
		unlink(temporary);
		return -1;
	}

	if (rename(temporary, path) == -1) {
		snprintf(error, error_size, "cannot write %s: %s", path, strerror(errno));
		unlink(temporary);
		return -1;
	}

	/*
	 * Syncing the directory makes the rename survive a crash. The file is
	 * complete either way, so a failure here is not reported.
	 */
	directory_fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (directory_fd != -1) {
		fsync(directory_fd);
		close(directory_fd);
	}
	return 0;
}
