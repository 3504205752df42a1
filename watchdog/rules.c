/*
 * The rule loader and the matcher declared in rules.h.
 *
 * Patterns are compiled in UTF mode with PCRE2_MATCH_INVALID_UTF, because
 * agent output may contain invalid UTF-8 and PCRE2 then matches around the
 * bad bytes instead of rejecting the line. PCRE2_UCP makes \w and \d match
 * Unicode letters and digits, so module names and paths outside ASCII still
 * match.
 *
 * The patterns are also joined into two alternations, the prefilters,
 * which are matched first: most lines of a log match no rule, and two JIT
 * matches reject them faster than trying every rule in turn. Patterns that
 * start with "^" go into one, which PCRE2 then tries only at the start of
 * the line; the others go into the second.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfyaml.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "paths.h"
#include "rules.h"
#include "signature.h"

/* A frame older than this many lines no longer locates an error. */
#define FRAME_AGE_MAX 40

#define CONFIDENCE_DEFAULT 0.8

enum rule_kind {
	RULE_ERROR,	/* a match is an error */
	RULE_FRAME,	/* names the file and line of a later error (a traceback frame) */
	RULE_LOCATION,	/* names the file and line of the held error (rustc's "-->") */
	RULE_RESET,	/* starts a new traceback: earlier frames no longer count */
};

enum frames_use {
	FRAMES_IGNORE,		/* the innermost frame does not locate this error */
	FRAMES_OPTIONAL,	/* locates it when there is one */
	FRAMES_REQUIRED,	/* the rule matches only inside a traceback */
};

struct rule {
	char *id;
	enum rule_kind kind;
	char *pattern;
	char *error_type;
	enum severity severity;
	double confidence;
	char *fix;
	char *fix_at;			/* used instead of fix when the file and line are known */
	char *reference;
	int file_group;			/* capture holding the file path, 0 for none */
	int line_group;			/* capture holding the line number, 0 for none */
	enum frames_use frames;
	int hold;			/* lines to wait for a location line */
	bool generic;			/* a more specific error within hold replaces it */
	bool require_location;		/* dropped when hold ends without a location line */
	int repeat_window;		/* not reported this many lines after another error */
	bool signature_file;		/* the file's name counts in the signature */
	int threshold_group;		/* capture holding a number, 0 for none */
	bool has_min, has_max;
	double min, max;		/* the rule matches when the number is outside */
	pcre2_code *code;
};

/*
 * The match data is shared by all rules and reused for every line, so one
 * struct rules must not be used by two threads at once.
 */
struct rules {
	struct rule *rules;
	size_t count;
	size_t capacity;
	char **library_paths;		/* substrings that mark a library frame */
	size_t library_count;
	pcre2_code *prefilter[2];	/* anchored patterns, then the others */
	bool use_prefilter;		/* false when a prefilter failed to compile */
	pcre2_match_data *match_data;
};

/* The subject line and capture offsets of one successful match. */
struct captures {
	const char *line;
	const PCRE2_SIZE *ovector;
	int count;		/* groups set, including group 0 */
};

/* The file being loaded and where its rules sit, for error messages. */
struct rules_parse {
	const char *path;
	const char *list_key;	/* "rules" or "watchdog.patterns" */
	char *error;
	size_t error_size;
};

/* Rule loading. */

static char *
copy_string(const char *text, size_t length)
{
	char *copy = malloc(length + 1);

	if (copy == NULL)
		return NULL;
	memcpy(copy, text, length);
	copy[length] = '\0';
	return copy;
}

static void
rule_clear(struct rule *rule)
{
	free(rule->id);
	free(rule->pattern);
	free(rule->error_type);
	free(rule->fix);
	free(rule->fix_at);
	free(rule->reference);
	pcre2_code_free(rule->code);
	memset(rule, 0, sizeof *rule);
}

/* Finds where NODE starts, 1-based, or 0 and 0. A collection starts at its first scalar. */
static void
node_position(struct fy_node *node, int *line, int *column)
{
	const struct fy_mark *mark;
	struct fy_node_pair *pair;
	void *iter = NULL;

	*line = 0;
	*column = 0;
	if (node == NULL)
		return;

	switch (fy_node_get_type(node)) {
	case FYNT_SCALAR:
		mark = fy_token_start_mark(fy_node_get_scalar_token(node));
		if (mark == NULL)
			return;
		*line = mark->line + 1;
		*column = mark->column + 1;
		/* libfyaml marks a quoted scalar after its opening quote. */
		if (fy_node_get_style(node) == FYNS_SINGLE_QUOTED ||
		    fy_node_get_style(node) == FYNS_DOUBLE_QUOTED)
			(*column)--;
		return;
	case FYNT_SEQUENCE:
		node_position(fy_node_sequence_iterate(node, &iter), line, column);
		return;
	case FYNT_MAPPING:
		pair = fy_node_mapping_iterate(node, &iter);
		if (pair != NULL)
			node_position(fy_node_pair_key(pair), line, column);
		return;
	}
}

/* Writes "FILE:LINE:COL: KEY: message" for NODE, the rule at INDEX and its FIELD. */
static int
rule_error(struct rules_parse *parse, struct fy_node *node, long index, const char *field,
    const char *fmt, ...)
{
	char message[512], key[96];
	int line, column;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);

	if (index < 0)
		snprintf(key, sizeof key, "%s", parse->list_key);
	else if (field == NULL)
		snprintf(key, sizeof key, "%s[%ld]", parse->list_key, index);
	else
		snprintf(key, sizeof key, "%s[%ld].%s", parse->list_key, index, field);

	node_position(node, &line, &column);
	if (line > 0)
		snprintf(parse->error, parse->error_size, "%s:%d:%d: %s: %s",
		    parse->path, line, column, key, message);
	else
		snprintf(parse->error, parse->error_size, "%s: %s: %s", parse->path, key, message);
	return -1;
}

static int
field_string(struct rules_parse *parse, struct fy_node *value, long index, const char *field,
    char **out)
{
	const char *text;
	size_t length;

	if (!fy_node_is_scalar(value))
		return rule_error(parse, value, index, field, "expected a string");
	text = fy_node_get_scalar(value, &length);
	if (text == NULL || length == 0)
		return rule_error(parse, value, index, field, "expected a non-empty string");

	free(*out);
	*out = copy_string(text, length);
	if (*out == NULL)
		return rule_error(parse, value, index, field, "out of memory");
	return 0;
}

static int
field_number(struct rules_parse *parse, struct fy_node *value, long index, const char *field,
    double low, double high, double *out)
{
	char text[64];
	const char *scalar;
	size_t length;
	char *end;

	if (!fy_node_is_scalar(value))
		return rule_error(parse, value, index, field, "expected a number");
	scalar = fy_node_get_scalar(value, &length);
	if (scalar == NULL || length == 0 || length >= sizeof text)
		return rule_error(parse, value, index, field, "expected a number");
	memcpy(text, scalar, length);
	text[length] = '\0';

	errno = 0;
	*out = strtod(text, &end);
	if (end == text || *end != '\0' || errno != 0)
		return rule_error(parse, value, index, field, "expected a number, got '%s'", text);
	if (*out < low || *out > high)
		return rule_error(parse, value, index, field,
		    "expected a number from %g to %g, got %s", low, high, text);
	return 0;
}

static int
field_integer(struct rules_parse *parse, struct fy_node *value, long index, const char *field,
    int low, int high, int *out)
{
	double number = 0;

	if (field_number(parse, value, index, field, low, high, &number) == -1)
		return -1;
	if (number != (int)number)
		return rule_error(parse, value, index, field, "expected a whole number, got %g",
		    number);
	*out = (int)number;
	return 0;
}

static int
field_boolean(struct rules_parse *parse, struct fy_node *value, long index, const char *field,
    bool *out)
{
	const char *text;
	size_t length;

	text = fy_node_is_scalar(value) ? fy_node_get_scalar(value, &length) : NULL;
	if (text != NULL && length == 4 && memcmp(text, "true", 4) == 0)
		*out = true;
	else if (text != NULL && length == 5 && memcmp(text, "false", 5) == 0)
		*out = false;
	else
		return rule_error(parse, value, index, field, "expected true or false");
	return 0;
}

/* Matches a scalar against NAMES; returns the index or -1 after writing the error. */
static int
field_choice(struct rules_parse *parse, struct fy_node *value, long index, const char *field,
    const char *const *names, size_t count, const char *expected)
{
	const char *text;
	size_t length;

	text = fy_node_is_scalar(value) ? fy_node_get_scalar(value, &length) : NULL;
	for (size_t i = 0; text != NULL && i < count; i++) {
		if (strlen(names[i]) == length && memcmp(names[i], text, length) == 0)
			return (int)i;
	}
	return rule_error(parse, value, index, field, "expected %s", expected);
}

static int
load_threshold(struct rules_parse *parse, struct fy_node *value, long index, struct rule *rule)
{
	struct fy_node_pair *pair;
	void *iter = NULL;
	const char *key;
	size_t length;

	if (!fy_node_is_mapping(value))
		return rule_error(parse, value, index, "threshold",
		    "expected a mapping such as {capture: 1, min: 90}");

	while ((pair = fy_node_mapping_iterate(value, &iter)) != NULL) {
		struct fy_node *item = fy_node_pair_value(pair);

		key = fy_node_get_scalar(fy_node_pair_key(pair), &length);
		if (key != NULL && length == 7 && memcmp(key, "capture", 7) == 0) {
			if (field_integer(parse, item, index, "threshold.capture", 1, 9,
			    &rule->threshold_group) == -1)
				return -1;
		} else if (key != NULL && length == 3 && memcmp(key, "min", 3) == 0) {
			if (field_number(parse, item, index, "threshold.min", -1e300, 1e300,
			    &rule->min) == -1)
				return -1;
			rule->has_min = true;
		} else if (key != NULL && length == 3 && memcmp(key, "max", 3) == 0) {
			if (field_number(parse, item, index, "threshold.max", -1e300, 1e300,
			    &rule->max) == -1)
				return -1;
			rule->has_max = true;
		} else {
			return rule_error(parse, fy_node_pair_key(pair), index, "threshold",
			    "unknown key; expected capture, min or max");
		}
	}
	if (rule->threshold_group == 0 || (!rule->has_min && !rule->has_max))
		return rule_error(parse, value, index, "threshold",
		    "needs capture and at least one of min and max");
	return 0;
}

/* Reads one field of a rule mapping. */
static int
load_field(struct rules_parse *parse, const char *key, struct fy_node *key_node,
    struct fy_node *value, long index, struct rule *rule)
{
	static const char *const kinds[] = { "error", "frame", "location", "reset" };
	static const char *const severities[] = { "LOW", "MEDIUM", "HIGH", "CRITICAL" };
	static const char *const frames[] = { "ignore", "optional", "required" };
	bool flag;
	int choice;

	if (strcmp(key, "id") == 0)
		return field_string(parse, value, index, key, &rule->id);
	if (strcmp(key, "pattern") == 0)
		return field_string(parse, value, index, key, &rule->pattern);
	if (strcmp(key, "error_type") == 0) {
		if (field_string(parse, value, index, key, &rule->error_type) == -1)
			return -1;
		if (strlen(rule->error_type) >= DETECTION_TYPE_MAX)
			return rule_error(parse, value, index, key, "longer than %d bytes",
			    DETECTION_TYPE_MAX - 1);
		return 0;
	}
	if (strcmp(key, "fix") == 0)
		return field_string(parse, value, index, key, &rule->fix);
	if (strcmp(key, "fix_at") == 0)
		return field_string(parse, value, index, key, &rule->fix_at);
	if (strcmp(key, "reference") == 0)
		return field_string(parse, value, index, key, &rule->reference);
	if (strcmp(key, "confidence") == 0)
		return field_number(parse, value, index, key, 0.0, 1.0, &rule->confidence);
	if (strcmp(key, "file") == 0)
		return field_integer(parse, value, index, key, 1, 9, &rule->file_group);
	if (strcmp(key, "line") == 0)
		return field_integer(parse, value, index, key, 1, 9, &rule->line_group);
	if (strcmp(key, "hold") == 0)
		return field_integer(parse, value, index, key, 1, 50, &rule->hold);
	if (strcmp(key, "repeat_window") == 0)
		return field_integer(parse, value, index, key, 1, 10000, &rule->repeat_window);
	if (strcmp(key, "threshold") == 0)
		return load_threshold(parse, value, index, rule);
	if (strcmp(key, "generic") == 0) {
		if (field_boolean(parse, value, index, key, &flag) == -1)
			return -1;
		rule->generic = flag;
		return 0;
	}
	if (strcmp(key, "require_location") == 0) {
		if (field_boolean(parse, value, index, key, &flag) == -1)
			return -1;
		rule->require_location = flag;
		return 0;
	}
	if (strcmp(key, "signature_file") == 0) {
		if (field_boolean(parse, value, index, key, &flag) == -1)
			return -1;
		rule->signature_file = flag;
		return 0;
	}
	if (strcmp(key, "kind") == 0) {
		choice = field_choice(parse, value, index, key, kinds, 4,
		    "error, frame, location or reset");
		rule->kind = (enum rule_kind)choice;
		return choice < 0 ? -1 : 0;
	}
	if (strcmp(key, "severity") == 0) {
		choice = field_choice(parse, value, index, key, severities, 4,
		    "LOW, MEDIUM, HIGH or CRITICAL");
		rule->severity = (enum severity)choice;
		return choice < 0 ? -1 : 0;
	}
	if (strcmp(key, "frames") == 0) {
		choice = field_choice(parse, value, index, key, frames, 3,
		    "ignore, optional or required");
		rule->frames = (enum frames_use)choice;
		return choice < 0 ? -1 : 0;
	}
	return rule_error(parse, key_node, index, key,
	    "unknown key; expected id, kind, pattern, error_type, severity, confidence, fix, "
	    "fix_at, reference, file, line, frames, hold, generic, require_location, "
	    "repeat_window, signature_file or threshold");
}

/* Compiles RULE's pattern. VALUE is the pattern's node, for the error position. */
static int
compile_rule(struct rules_parse *parse, struct fy_node *value, long index, struct rule *rule)
{
	PCRE2_UCHAR message[256];
	PCRE2_SIZE offset;
	uint32_t groups;
	int code;

	rule->code = pcre2_compile((PCRE2_SPTR)rule->pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP, &code, &offset, NULL);
	if (rule->code == NULL) {
		pcre2_get_error_message(code, message, sizeof message);
		return rule_error(parse, value, index, "pattern",
		    "invalid regular expression at offset %zu: %s", (size_t)offset,
		    (const char *)message);
	}

	pcre2_pattern_info(rule->code, PCRE2_INFO_CAPTURECOUNT, &groups);
	if ((uint32_t)rule->file_group > groups || (uint32_t)rule->line_group > groups ||
	    (uint32_t)rule->threshold_group > groups)
		return rule_error(parse, value, index, "pattern",
		    "has %u capture groups, fewer than file, line or threshold.capture name",
		    groups);

	/* Without the JIT (unsupported CPU, no executable memory) pcre2_match interprets. */
	pcre2_jit_compile(rule->code, PCRE2_JIT_COMPLETE);
	return 0;
}

/* Checks that RULE has what its kind needs. NODE is the rule's mapping. */
static int
check_rule(struct rules_parse *parse, struct fy_node *node, long index, struct rule *rule)
{
	if (rule->id == NULL)
		return rule_error(parse, node, index, NULL, "missing id");
	if (strlen(rule->id) >= DETECTION_RULE_MAX)
		return rule_error(parse, node, index, "id", "longer than %d bytes",
		    DETECTION_RULE_MAX - 1);
	if (rule->pattern == NULL)
		return rule_error(parse, node, index, NULL, "rule %s has no pattern", rule->id);

	if (rule->kind == RULE_FRAME || rule->kind == RULE_LOCATION) {
		if (rule->file_group == 0)
			return rule_error(parse, node, index, NULL,
			    "rule %s of kind frame or location needs file", rule->id);
		return 0;
	}
	if (rule->kind != RULE_ERROR)
		return 0;
	if (rule->error_type == NULL)
		return rule_error(parse, node, index, NULL, "rule %s has no error_type", rule->id);
	if (rule->fix == NULL)
		return rule_error(parse, node, index, NULL, "rule %s has no fix", rule->id);
	if ((rule->generic || rule->require_location) && rule->hold == 0)
		return rule_error(parse, node, index, NULL,
		    "rule %s needs hold with generic or require_location", rule->id);
	if (rule->reference == NULL)
		rule->reference = copy_string("", 0);
	if (rule->reference == NULL)
		return rule_error(parse, node, index, NULL, "out of memory");
	return 0;
}

/* Parses the rule mapping NODE, the INDEX-th of its list, into RULE. */
static int
load_rule(struct rules_parse *parse, struct fy_node *node, long index, struct rule *rule)
{
	struct fy_node *pattern_node = NULL;
	struct fy_node_pair *pair;
	void *iter = NULL;
	char key[32];
	const char *text;
	size_t length;

	memset(rule, 0, sizeof *rule);
	rule->severity = SEVERITY_MEDIUM;
	rule->confidence = CONFIDENCE_DEFAULT;
	rule->frames = FRAMES_IGNORE;
	rule->signature_file = true;

	if (!fy_node_is_mapping(node))
		return rule_error(parse, node, index, NULL,
		    "expected a mapping with id, pattern, error_type, severity and fix");

	while ((pair = fy_node_mapping_iterate(node, &iter)) != NULL) {
		struct fy_node *key_node = fy_node_pair_key(pair);
		struct fy_node *value = fy_node_pair_value(pair);

		text = fy_node_is_scalar(key_node) ? fy_node_get_scalar(key_node, &length) : NULL;
		if (text == NULL || length == 0 || length >= sizeof key)
			return rule_error(parse, key_node, index, NULL, "invalid key");
		memcpy(key, text, length);
		key[length] = '\0';

		if (value == NULL)
			return rule_error(parse, key_node, index, key, "missing value");
		if (load_field(parse, key, key_node, value, index, rule) == -1)
			return -1;
		if (strcmp(key, "pattern") == 0)
			pattern_node = value;
	}

	if (check_rule(parse, node, index, rule) == -1)
		return -1;
	return compile_rule(parse, pattern_node, index, rule);
}

static struct rule *
rules_find(struct rules *rules, const char *id)
{
	for (size_t i = 0; i < rules->count; i++) {
		if (strcmp(rules->rules[i].id, id) == 0)
			return &rules->rules[i];
	}
	return NULL;
}

/*
 * Loads the rules of sequence LIST. With REPLACE a rule replaces an earlier
 * one with its id; without it a repeated id is an error.
 */
static int
load_rule_list(struct rules_parse *parse, struct fy_node *list, struct rules *rules,
    bool replace)
{
	struct fy_node *node;
	struct rule rule, *existing, *grown;
	void *iter = NULL;
	long index = 0;

	if (!fy_node_is_sequence(list))
		return rule_error(parse, list, -1, NULL, "expected a list of rules");

	while ((node = fy_node_sequence_iterate(list, &iter)) != NULL) {
		if (load_rule(parse, node, index, &rule) == -1) {
			rule_clear(&rule);
			return -1;
		}

		existing = rules_find(rules, rule.id);
		if (existing != NULL && !replace) {
			rule_error(parse, node, index, "id", "repeats the id %s", rule.id);
			rule_clear(&rule);
			return -1;
		}
		if (existing != NULL) {
			rule_clear(existing);
			*existing = rule;
			index++;
			continue;
		}

		if (rules->count == rules->capacity) {
			size_t capacity = rules->capacity == 0 ? 64 : rules->capacity * 2;

			grown = realloc(rules->rules, capacity * sizeof *grown);
			if (grown == NULL) {
				rule_clear(&rule);
				return rule_error(parse, node, index, NULL, "out of memory");
			}
			rules->rules = grown;
			rules->capacity = capacity;
		}
		rules->rules[rules->count++] = rule;
		index++;
	}
	return 0;
}

static int
load_library_paths(struct rules_parse *parse, struct fy_node *list, struct rules *rules)
{
	struct fy_node *node;
	void *iter = NULL;
	const char *text;
	size_t length, count = (size_t)fy_node_sequence_item_count(list);

	if (!fy_node_is_sequence(list))
		return rule_error(parse, list, -1, NULL, "library_paths: expected a list of strings");
	rules->library_paths = calloc(count + 1, sizeof *rules->library_paths);
	if (rules->library_paths == NULL)
		return rule_error(parse, list, -1, NULL, "out of memory");

	while ((node = fy_node_sequence_iterate(list, &iter)) != NULL) {
		text = fy_node_is_scalar(node) ? fy_node_get_scalar(node, &length) : NULL;
		if (text == NULL || length == 0)
			return rule_error(parse, node, -1, NULL,
			    "library_paths: expected a non-empty string");
		rules->library_paths[rules->library_count] = copy_string(text, length);
		if (rules->library_paths[rules->library_count] == NULL)
			return rule_error(parse, node, -1, NULL, "out of memory");
		rules->library_count++;
	}
	return 0;
}

/* Reads PATH as one YAML document. Returns NULL with the parse error. */
static struct fy_document *
read_document(struct rules_parse *parse)
{
	struct fy_parse_cfg config;
	struct fy_diag_cfg diag_config;
	struct fy_diag_error *diag_error;
	struct fy_document *document;
	struct fy_diag *diag;
	void *iter = NULL;

	if (access(parse->path, R_OK) != 0) {
		snprintf(parse->error, parse->error_size, "%s: cannot read the rule file: %s",
		    parse->path, strerror(errno));
		return NULL;
	}

	fy_diag_cfg_default(&diag_config);
	diag_config.fp = NULL;
	diag_config.level = FYET_ERROR;
	diag = fy_diag_create(&diag_config);
	if (diag == NULL) {
		snprintf(parse->error, parse->error_size, "%s: cannot create the YAML parser",
		    parse->path);
		return NULL;
	}
	fy_diag_set_collect_errors(diag, true);

	memset(&config, 0, sizeof config);
	config.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT;
	config.diag = diag;
	document = fy_document_build_from_file(&config, parse->path);
	if (document == NULL) {
		snprintf(parse->error, parse->error_size, "%s: invalid YAML", parse->path);
		while ((diag_error = fy_diag_errors_iterate(diag, &iter)) != NULL) {
			if (diag_error->type < FYET_ERROR)
				continue;
			/* libfyaml 0.7.12 stores collected error positions 1-based. */
			snprintf(parse->error, parse->error_size, "%s:%d:%d: invalid YAML: %s",
			    parse->path, diag_error->line, diag_error->column, diag_error->msg);
			break;
		}
	}
	fy_diag_destroy(diag);
	return document;
}

/* Loads the rule file: a mapping with version 1, optional library_paths and rules. */
static int
load_rules_file(const char *path, struct rules *rules, char *error, size_t error_size)
{
	struct rules_parse parse = { path, "rules", error, error_size };
	struct fy_document *document;
	struct fy_node *root, *node;
	double version;
	int result = -1;

	document = read_document(&parse);
	if (document == NULL)
		return -1;

	root = fy_document_root(document);
	if (root == NULL || !fy_node_is_mapping(root)) {
		rule_error(&parse, root, -1, NULL,
		    "expected a mapping with version: 1 and a list of rules");
		goto out;
	}
	node = fy_node_mapping_lookup_by_string(root, "version", FY_NT);
	if (node == NULL || field_number(&parse, node, -1, NULL, 1, 1, &version) == -1) {
		snprintf(error, error_size, "%s: version: expected 1", path);
		goto out;
	}
	node = fy_node_mapping_lookup_by_string(root, "library_paths", FY_NT);
	if (node != NULL && load_library_paths(&parse, node, rules) == -1)
		goto out;
	node = fy_node_mapping_lookup_by_string(root, "rules", FY_NT);
	if (node == NULL) {
		snprintf(error, error_size, "%s: rules: missing list of rules", path);
		goto out;
	}
	result = load_rule_list(&parse, node, rules, false);
out:
	fy_document_destroy(document);
	return result;
}

/* Applies the watchdog.patterns list of a cake_config.yaml, when it has one. */
static int
load_config_patterns(const char *path, struct rules *rules, char *error, size_t error_size)
{
	struct rules_parse parse = { path, "watchdog.patterns", error, error_size };
	struct fy_document *document;
	struct fy_node *list;
	int result;

	document = read_document(&parse);
	if (document == NULL)
		return -1;
	list = fy_node_by_path(fy_document_root(document), "/watchdog/patterns", FY_NT,
	    FYNWF_DONT_FOLLOW);
	result = list == NULL ? 0 : load_rule_list(&parse, list, rules, true);
	fy_document_destroy(document);
	return result;
}

/*
 * Joins the patterns that start with "^" (ANCHORED) or the others into
 * "(?:p1)|(?:p2)|..." for a prefilter, left NULL when there are none.
 * Returns -1 when the join cannot be compiled, such as with back
 * references, whose group numbers change in the join.
 */
static int
compile_prefilter(struct rules *rules, bool anchored)
{
	size_t length = 1, used = 0;
	pcre2_code **prefilter = &rules->prefilter[anchored ? 0 : 1];
	const char *pattern;
	PCRE2_SIZE offset;
	char *joined;
	int code;

	for (size_t i = 0; i < rules->count; i++)
		length += strlen(rules->rules[i].pattern) + 5;
	joined = malloc(length);
	if (joined == NULL)
		return -1;

	for (size_t i = 0; i < rules->count; i++) {
		pattern = rules->rules[i].pattern;
		if ((pattern[0] == '^') != anchored)
			continue;
		used += (size_t)sprintf(joined + used, "%s(?:%s)", used > 0 ? "|" : "", pattern);
	}
	if (used == 0) {
		free(joined);
		return 0;
	}
	*prefilter = pcre2_compile((PCRE2_SPTR)joined, used,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP, &code, &offset, NULL);
	free(joined);
	if (*prefilter == NULL)
		return -1;
	pcre2_jit_compile(*prefilter, PCRE2_JIT_COMPLETE);
	return 0;
}

/* Returns false when neither prefilter matches LINE, so no rule can. */
static bool
prefilter_match(const struct rules *rules, const char *line, size_t length)
{
	int rc;

	if (!rules->use_prefilter)
		return true;
	for (int i = 0; i < 2; i++) {
		if (rules->prefilter[i] == NULL)
			continue;
		/* A return of 0 is a match with more groups than the match data holds. */
		rc = pcre2_match(rules->prefilter[i], (PCRE2_SPTR)line, length, 0, 0,
		    rules->match_data, NULL);
		if (rc >= 0)
			return true;
	}
	return false;
}

struct rules *
rules_load(const struct rules_options *options, char *error, size_t error_size)
{
	char data_dir[PATH_MAX], path[PATH_MAX];
	const char *rules_path = options->rules_path;
	struct rules *rules;
	uint32_t groups, max_groups = 0;

	if (rules_path == NULL) {
		if (paths_data_dir(data_dir, sizeof data_dir) == -1 ||
		    paths_join(path, sizeof path, data_dir, RULES_FILE_NAME) == -1) {
			snprintf(error, error_size,
			    "cannot find the install's share/cake directory for %s: %s",
			    RULES_FILE_NAME, strerror(errno));
			return NULL;
		}
		rules_path = path;
	}

	rules = calloc(1, sizeof *rules);
	if (rules == NULL) {
		snprintf(error, error_size, "cannot allocate the rule table: out of memory");
		return NULL;
	}
	if (load_rules_file(rules_path, rules, error, error_size) == -1)
		goto fail;
	if (options->config_path != NULL &&
	    load_config_patterns(options->config_path, rules, error, error_size) == -1)
		goto fail;

	for (size_t i = 0; i < rules->count; i++) {
		pcre2_pattern_info(rules->rules[i].code, PCRE2_INFO_CAPTURECOUNT, &groups);
		if (groups > max_groups)
			max_groups = groups;
	}
	rules->match_data = pcre2_match_data_create(max_groups + 1, NULL);
	if (rules->match_data == NULL) {
		snprintf(error, error_size, "cannot allocate PCRE2 match data: out of memory");
		goto fail;
	}
	/* Without a prefilter every line tries every rule: slower, same result. */
	rules->use_prefilter = compile_prefilter(rules, true) == 0 &&
	    compile_prefilter(rules, false) == 0;
	return rules;

fail:
	rules_free(rules);
	return NULL;
}

struct rules *
rules_create(char *error, size_t error_size)
{
	struct rules_options options = { NULL, NULL };

	return rules_load(&options, error, error_size);
}

void
rules_free(struct rules *rules)
{
	if (rules == NULL)
		return;
	for (size_t i = 0; i < rules->count; i++)
		rule_clear(&rules->rules[i]);
	free(rules->rules);
	for (size_t i = 0; i < rules->library_count; i++)
		free(rules->library_paths[i]);
	free(rules->library_paths);
	pcre2_code_free(rules->prefilter[0]);
	pcre2_code_free(rules->prefilter[1]);
	pcre2_match_data_free(rules->match_data);
	free(rules);
}

size_t
rules_count(const struct rules *rules)
{
	return rules->count;
}

/* Matching. */

static bool
capture_get(const struct captures *captures, int group, const char **start, size_t *length)
{
	PCRE2_SIZE begin, end;

	if (group <= 0 || group >= captures->count)
		return false;
	begin = captures->ovector[2 * group];
	end = captures->ovector[2 * group + 1];
	if (begin == PCRE2_UNSET || end < begin)
		return false;

	*start = captures->line + begin;
	*length = end - begin;
	return true;
}

/* Copies LENGTH bytes of TEXT into OUT, truncated to fit and NUL-terminated. */
static void
copy_text(char *out, size_t size, const char *text, size_t length)
{
	if (length > size - 1)
		length = size - 1;
	memcpy(out, text, length);
	out[length] = '\0';
}

/* Parses a capture as a number. Returns false when it is missing or not a number. */
static bool
capture_number(const struct captures *captures, int group, double *value)
{
	char text[64];
	const char *start;
	size_t length;
	char *end;

	if (!capture_get(captures, group, &start, &length) || length >= sizeof text)
		return false;
	copy_text(text, sizeof text, start, length);

	errno = 0;
	*value = strtod(text, &end);
	return end != text && *end == '\0' && errno == 0;
}

static int
capture_line_number(const struct captures *captures, int group)
{
	double value;

	if (!capture_number(captures, group, &value) || value < 0 || value > INT_MAX)
		return 0;
	return (int)value;
}

struct writer {
	char *out;
	size_t size;
	size_t used;
};

static void
write_text(struct writer *writer, const char *text, size_t length)
{
	size_t room = writer->size - 1 - writer->used;

	if (length > room)
		length = room;
	memcpy(writer->out + writer->used, text, length);
	writer->used += length;
	writer->out[writer->used] = '\0';
}

/*
 * Expands $1..$9 in TEMPLATE into OUT: each becomes its capture group, or
 * nothing when the pattern has no such group or it did not take part in
 * the match. Everything else, ${file} and ${line} included, is copied.
 */
static void
expand_captures(const char *template, const struct captures *captures, char *out, size_t size)
{
	struct writer writer = { out, size, 0 };
	const char *start;
	size_t length;

	out[0] = '\0';
	for (const char *p = template; *p != '\0'; p++) {
		if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
			if (captures != NULL && capture_get(captures, p[1] - '0', &start, &length))
				write_text(&writer, start, length);
			p++;
			continue;
		}
		write_text(&writer, p, 1);
	}
}

/* Expands ${file} and ${line} in TEMPLATE into OUT from DETECTION. */
static void
expand_location(const char *template, const struct msg_detection *detection, char *out,
    size_t size)
{
	struct writer writer = { out, size, 0 };
	char number[16];
	const char *p = template;

	out[0] = '\0';
	while (*p != '\0') {
		if (strncmp(p, "${file}", 7) == 0) {
			write_text(&writer, detection->file_path, strlen(detection->file_path));
			p += 7;
		} else if (strncmp(p, "${line}", 7) == 0) {
			snprintf(number, sizeof number, "%d", (int)detection->line_number);
			write_text(&writer, number, strlen(number));
			p += 7;
		} else {
			write_text(&writer, p, 1);
			p++;
		}
	}
}

void
rules_context_init(struct rules_context *context)
{
	memset(context, 0, sizeof *context);
	context->frame_age = -1;
}

static void
end_traceback(struct rules_context *context)
{
	context->file_path[0] = '\0';
	context->line_number = 0;
	context->frame_age = -1;
}

static bool
is_library_path(const struct rules *rules, const char *path, size_t length)
{
	char copy[DETECTION_TEXT_MAX];

	copy_text(copy, sizeof copy, path, length);
	for (size_t i = 0; i < rules->library_count; i++) {
		if (strstr(copy, rules->library_paths[i]) != NULL)
			return true;
	}
	return false;
}

/* Runs one rule on LINE. Returns true on a match that passes the rule's threshold. */
static bool
rule_try(const struct rules *rules, const struct rule *rule, const char *line,
    size_t length, struct captures *captures)
{
	double value;
	int rc;

	rc = pcre2_match(rule->code, (PCRE2_SPTR)line, length, 0, 0, rules->match_data, NULL);
	if (rc <= 0)
		return false;

	captures->line = line;
	captures->ovector = pcre2_get_ovector_pointer(rules->match_data);
	captures->count = rc;

	if (rule->threshold_group > 0) {
		if (!capture_number(captures, rule->threshold_group, &value))
			return false;
		if (rule->has_min && value < rule->min)
			return true;
		if (rule->has_max && value > rule->max)
			return true;
		return false;
	}
	return true;
}

/* Finds the first rule that matches LINE, or NULL. FRAMED: LINE is inside a traceback. */
static const struct rule *
find_rule(const struct rules *rules, const char *line, size_t length, bool framed,
    struct captures *captures)
{
	const struct rule *rule;

	if (!prefilter_match(rules, line, length))
		return NULL;

	for (size_t i = 0; i < rules->count; i++) {
		rule = &rules->rules[i];
		if (rule->frames == FRAMES_REQUIRED && !framed)
			continue;
		if (rule_try(rules, rule, line, length, captures))
			return rule;
	}
	return NULL;
}

/* Reads the file and line of a frame or location match. Returns false for a library file. */
static bool
capture_location(const struct rules *rules, const struct rule *rule,
    const struct captures *captures, char *file, size_t size, int *line)
{
	const char *start;
	size_t length;

	if (!capture_get(captures, rule->file_group, &start, &length))
		return false;
	if (is_library_path(rules, start, length))
		return false;
	copy_text(file, size, start, length);
	*line = capture_line_number(captures, rule->line_group);
	return true;
}

static void
queue_push(struct rules_context *context, const struct msg_detection *detection)
{
	size_t slot;

	/*
	 * NOTE: a full queue drops its oldest detection. Each line adds at most
	 * two detections and returns one, so only a long run of lines that each
	 * complete two detections fills it.
	 */
	if (context->queue_count == RULES_QUEUE_MAX) {
		context->queue_start = (context->queue_start + 1) % RULES_QUEUE_MAX;
		context->queue_count--;
	}
	slot = (context->queue_start + context->queue_count) % RULES_QUEUE_MAX;
	context->queue[slot] = *detection;
	context->queue_count++;
}

static int
queue_pop(struct rules_context *context, struct msg_detection *detection)
{
	if (context->queue_count == 0)
		return 0;
	*detection = context->queue[context->queue_start];
	context->queue_start = (context->queue_start + 1) % RULES_QUEUE_MAX;
	context->queue_count--;
	return 1;
}

/* Completes HELD: picks the fix, expands ${file} and ${line}, computes the signature. */
static void
finish_held(struct rules_held *held, struct msg_detection *detection)
{
	const char *fix = held->fix;
	const char *file = NULL;

	*detection = held->detection;
	if (held->fix_at[0] != '\0' && detection->file_path[0] != '\0' &&
	    detection->line_number > 0)
		fix = held->fix_at;
	expand_location(fix, detection, detection->fix, sizeof detection->fix);
	expand_location(held->reference, detection, detection->reference,
	    sizeof detection->reference);

	if (held->signature_file && detection->file_path[0] != '\0')
		file = detection->file_path;
	detection->signature_version = SIGNATURE_VERSION;
	signature_compute_at(detection->error_type, file, detection->excerpt,
	    strlen(detection->excerpt), detection->signature);
}

/* Builds the detection of error rule RULE on LINE into HELD, its location still open. */
static void
start_detection(const struct rule *rule, const struct captures *captures,
    const struct rules_context *context, const char *line, size_t length,
    struct rules_held *held)
{
	struct msg_detection *detection = &held->detection;
	const char *start;
	size_t span;

	memset(held, 0, sizeof *held);
	copy_text(detection->rule_id, sizeof detection->rule_id, rule->id, strlen(rule->id));
	copy_text(detection->error_type, sizeof detection->error_type,
	    rule->error_type, strlen(rule->error_type));
	detection->severity = rule->severity;
	detection->confidence = rule->confidence;
	copy_text(detection->excerpt, sizeof detection->excerpt, line, length);

	expand_captures(rule->fix, captures, held->fix, sizeof held->fix);
	if (rule->fix_at != NULL)
		expand_captures(rule->fix_at, captures, held->fix_at, sizeof held->fix_at);
	expand_captures(rule->reference, captures, held->reference, sizeof held->reference);
	held->lines_left = rule->hold;
	held->generic = rule->generic;
	held->require_location = rule->require_location;
	held->signature_file = rule->signature_file;

	if (capture_get(captures, rule->file_group, &start, &span)) {
		copy_text(detection->file_path, sizeof detection->file_path, start, span);
		detection->line_number = capture_line_number(captures, rule->line_group);
	} else if (rule->frames != FRAMES_IGNORE && context != NULL &&
	    context->file_path[0] != '\0') {
		copy_text(detection->file_path, sizeof detection->file_path,
		    context->file_path, strlen(context->file_path));
		detection->line_number = context->line_number;
	}

	/* A located error is complete, unless a more specific one may still replace it. */
	if (detection->file_path[0] != '\0' && !rule->generic)
		held->lines_left = 0;
}

/* Moves the held detection, complete or not, to the queue. */
static void
release_held(struct rules_context *context)
{
	struct msg_detection detection;

	if (!context->has_held)
		return;
	finish_held(&context->held, &detection);
	queue_push(context, &detection);
	context->has_held = false;
}

/* Advances the held detection by one line that matched RULE (NULL for none). */
static void
advance_held(const struct rules *rules, const struct rule *rule,
    const struct captures *captures, struct rules_context *context)
{
	struct msg_detection *detection = &context->held.detection;
	int line;

	if (!context->has_held)
		return;

	if (rule != NULL && rule->kind == RULE_LOCATION &&
	    capture_location(rules, rule, captures, detection->file_path,
	    sizeof detection->file_path, &line)) {
		detection->line_number = line;
		release_held(context);
		return;
	}
	if (rule != NULL && rule->kind == RULE_ERROR && context->held.generic) {
		context->has_held = false;
		return;
	}
	if (rule != NULL && rule->kind == RULE_ERROR) {
		release_held(context);
		return;
	}
	if (--context->held.lines_left > 0)
		return;
	if (context->held.require_location)
		context->has_held = false;
	else
		release_held(context);
}

/* Returns true when RULE only repeats an error detected a few lines before. */
static bool
is_repeat(const struct rule *rule, const struct rules_context *context)
{
	return rule->repeat_window > 0 && context->last_detection > 0 &&
	    context->lines - context->last_detection <= (unsigned long)rule->repeat_window;
}

/* Handles error rule RULE on LINE: queues its detection or holds it. */
static void
handle_error(const struct rule *rule, const struct captures *captures,
    struct rules_context *context, const char *line, size_t length)
{
	context->last_detection = context->lines;
	start_detection(rule, captures, context, line, length, &context->held);
	context->has_held = true;
	if (rule->frames != FRAMES_IGNORE)
		end_traceback(context);
	if (context->held.lines_left == 0)
		release_held(context);
}

static void
handle_frame(const struct rules *rules, const struct rule *rule,
    const struct captures *captures, struct rules_context *context)
{
	char file[DETECTION_TEXT_MAX];
	int line;

	/* Python prints the innermost frame (the one that raised) last. */
	context->frame_age = 0;
	if (!capture_location(rules, rule, captures, file, sizeof file, &line))
		return;
	copy_text(context->file_path, sizeof context->file_path, file, strlen(file));
	context->line_number = line;
}

/* Matches LINE without a caller's context: nothing is held or remembered. */
static int
match_alone(const struct rules *rules, const char *line, size_t length,
    struct msg_detection *detection)
{
	struct captures captures;
	struct rules_held held;
	const struct rule *rule;

	rule = find_rule(rules, line, length, false, &captures);
	if (rule == NULL || rule->kind != RULE_ERROR || rule->require_location)
		return 0;
	start_detection(rule, &captures, NULL, line, length, &held);
	finish_held(&held, detection);
	return 1;
}

int
rules_match(const struct rules *rules, struct rules_context *context,
    const char *line, size_t length, struct msg_detection *detection)
{
	struct captures captures;
	const struct rule *rule;
	bool framed;

	if (context == NULL)
		return match_alone(rules, line, length, detection);

	context->lines++;
	if (context->frame_age >= 0 && ++context->frame_age > FRAME_AGE_MAX)
		end_traceback(context);
	framed = context->frame_age >= 0;

	rule = find_rule(rules, line, length, framed, &captures);

	/* A summary that repeats an error ends the error's report: the held detection is complete. */
	if (rule != NULL && rule->kind == RULE_ERROR && is_repeat(rule, context)) {
		release_held(context);
		return queue_pop(context, detection);
	}
	advance_held(rules, rule, &captures, context);

	if (rule != NULL) {
		switch (rule->kind) {
		case RULE_ERROR:
			handle_error(rule, &captures, context, line, length);
			break;
		case RULE_FRAME:
			handle_frame(rules, rule, &captures, context);
			break;
		case RULE_RESET:
			end_traceback(context);
			context->frame_age = 0;
			break;
		case RULE_LOCATION:
			break;
		}
	}
	return queue_pop(context, detection);
}

int
rules_flush(const struct rules *rules, struct rules_context *context,
    struct msg_detection *detection)
{
	(void)rules;
	if (context == NULL)
		return 0;
	if (context->has_held && context->held.require_location)
		context->has_held = false;
	release_held(context);
	return queue_pop(context, detection);
}
