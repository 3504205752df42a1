/*
 * The built-in detection rules and the matcher declared in rules.h.
 *
 * Patterns are compiled in UTF mode with PCRE2_MATCH_INVALID_UTF, because
 * agent output may contain invalid UTF-8 and PCRE2 then matches around the
 * bad bytes instead of rejecting the line. PCRE2_UCP makes \w and \d match
 * Unicode letters and digits, so module names and paths outside ASCII still
 * match.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "rules.h"
#include "signature.h"

enum rule_kind {
	RULE_DETECT,	/* a match is an error */
	RULE_CONTEXT,	/* a match names the file and line for the next error */
};

/*
 * One entry of the rule table. The fix and reference are templates, in which
 * $1..$9 expand to capture groups and ${file} and ${line} to the error's
 * location.
 */
struct rule_def {
	const char *id;
	enum rule_kind kind;
	const char *pattern;
	const char *error_type;
	enum severity severity;
	double confidence;
	const char *fix;
	const char *fix_at;		/* used instead of fix when the file and line are known */
	const char *reference;
	int file_group;			/* capture holding the file path, 0 for none */
	int line_group;			/* capture holding the line number, 0 for none */
	bool uses_context;		/* take file and line from the latest traceback frame */
	int threshold_group;		/* capture holding a number, 0 for none */
	double threshold;		/* the rule matches only when that number is below this */
};

/* Rules are tried in this order and the first match wins. */
static const struct rule_def rule_table[] = {
	{
		.id = "python.traceback_frame",
		.kind = RULE_CONTEXT,
		.pattern = "^\\s*File \"([^\"]+)\", line (\\d+)",
		.file_group = 1,
		.line_group = 2,
	},
	{
		.id = "python.module_not_found",
		.pattern = "\\bNo module named '?(\\w+)'?(?![\\w.])",
		.error_type = "ImportError",
		.severity = SEVERITY_HIGH,
		.confidence = 0.95,
		.fix = "pip install $1",
		.reference = "requirements.txt",
		.uses_context = true,
	},
	{
		.id = "python.submodule_not_found",
		.pattern = "\\bNo module named '?(\\w+(?:\\.\\w+)+)'?",
		.error_type = "ImportError",
		.severity = SEVERITY_HIGH,
		.confidence = 0.9,
		.fix = "Check the package path for $1",
		.reference = "the package's __init__.py",
		.uses_context = true,
	},
	{
		.id = "python.syntax_error",
		.pattern = "\\b(?:SyntaxError|IndentationError|TabError): (.+)",
		.error_type = "SyntaxError",
		.severity = SEVERITY_HIGH,
		.confidence = 0.9,
		.fix = "Fix the syntax error: $1",
		.fix_at = "Fix the syntax error at ${file}:${line}",
		.reference = "the Python traceback",
		.uses_context = true,
	},
	{
		.id = "python.attribute_error",
		.pattern = "\\bAttributeError: (.+) has no attribute '(\\w+)'",
		.error_type = "AttributeError",
		.severity = SEVERITY_HIGH,
		.confidence = 0.85,
		.fix = "Check that $1 defines $2",
		.reference = "the traceback",
		.uses_context = true,
	},
	{
		.id = "pytest.failed",
		.pattern = "^FAILED ([\\w/.\\-]+\\.py)::([\\w\\[\\]\\-.:]+)",
		.error_type = "TestFailure",
		.severity = SEVERITY_HIGH,
		.confidence = 0.9,
		.fix = "Run pytest $1::$2 -x",
		.reference = "the test output",
		.file_group = 1,
	},
	{
		.id = "coverage.below_threshold",
		.pattern = "\\bCoverage: (\\d+(?:\\.\\d+)?)%",
		.error_type = "CoverageDrop",
		.severity = SEVERITY_MEDIUM,
		.confidence = 0.9,
		.fix = "Run pytest --cov --cov-report=term-missing to find the untested lines",
		.reference = "the coverage report",
		.threshold_group = 1,
		.threshold = 90.0,
	},
	{
		.id = "coverage.required_not_reached",
		.pattern = "\\bRequired test coverage of (\\d+(?:\\.\\d+)?)% not reached\\. "
		    "Total coverage: (\\d+(?:\\.\\d+)?)%",
		.error_type = "CoverageDrop",
		.severity = SEVERITY_MEDIUM,
		.confidence = 0.9,
		.fix = "Run pytest --cov --cov-report=term-missing to raise coverage from $2% to $1%",
		.reference = "the coverage report",
	},
};

#define RULE_TABLE_SIZE (sizeof rule_table / sizeof rule_table[0])

struct rule {
	const struct rule_def *def;
	pcre2_code *code;
};

/*
 * The match data is shared by all rules and reused for every line, so one
 * struct rules must not be used by two threads at once.
 */
struct rules {
	struct rule rules[RULE_TABLE_SIZE];
	size_t count;
	pcre2_match_data *match_data;
};

/* The subject line and capture offsets of one successful match. */
struct captures {
	const char *line;
	const PCRE2_SIZE *ovector;
	int count;		/* groups set, including group 0 */
};

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
 * Expands TEMPLATE into OUT: $1..$9 become capture groups (empty when the
 * pattern has no such group or it did not take part in the match), ${file}
 * and ${line} the detection's file path and line number. Any other "$" is
 * copied as it is.
 */
static void
expand_template(const char *template, const struct captures *captures,
    const struct msg_detection *detection, char *out, size_t size)
{
	struct writer writer = { out, size, 0 };
	char number[16];
	const char *start;
	size_t length;
	const char *p = template;

	out[0] = '\0';
	while (*p != '\0') {
		if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
			if (capture_get(captures, p[1] - '0', &start, &length))
				write_text(&writer, start, length);
			p += 2;
		} else if (strncmp(p, "${file}", 7) == 0) {
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

struct rules *
rules_create(char *error, size_t error_size)
{
	struct rules *rules;
	const struct rule_def *def;
	PCRE2_UCHAR message[256];
	PCRE2_SIZE offset;
	uint32_t groups, max_groups = 0;
	int code;

	rules = calloc(1, sizeof *rules);
	if (rules == NULL) {
		snprintf(error, error_size, "cannot allocate the rule table: out of memory");
		return NULL;
	}

	for (size_t i = 0; i < RULE_TABLE_SIZE; i++) {
		def = &rule_table[i];
		rules->rules[i].def = def;
		rules->rules[i].code = pcre2_compile((PCRE2_SPTR)def->pattern,
		    PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP,
		    &code, &offset, NULL);
		if (rules->rules[i].code == NULL) {
			pcre2_get_error_message(code, message, sizeof message);
			snprintf(error, error_size,
			    "rule %s: invalid pattern at offset %zu: %s; fix the pattern in watchdog/rules.c",
			    def->id, (size_t)offset, (const char *)message);
			rules_free(rules);
			return NULL;
		}
		rules->count++;

		pcre2_pattern_info(rules->rules[i].code, PCRE2_INFO_CAPTURECOUNT, &groups);
		if (groups > max_groups)
			max_groups = groups;

		/* Without the JIT (unsupported CPU, no executable memory) pcre2_match interprets. */
		pcre2_jit_compile(rules->rules[i].code, PCRE2_JIT_COMPLETE);
	}

	rules->match_data = pcre2_match_data_create(max_groups + 1, NULL);
	if (rules->match_data == NULL) {
		snprintf(error, error_size, "cannot allocate PCRE2 match data: out of memory");
		rules_free(rules);
		return NULL;
	}
	return rules;
}

void
rules_free(struct rules *rules)
{
	if (rules == NULL)
		return;
	for (size_t i = 0; i < rules->count; i++)
		pcre2_code_free(rules->rules[i].code);
	pcre2_match_data_free(rules->match_data);
	free(rules);
}

size_t
rules_count(const struct rules *rules)
{
	return rules->count;
}

void
rules_context_init(struct rules_context *context)
{
	context->file_path[0] = '\0';
	context->line_number = 0;
}

/* Runs one rule on LINE. Returns true on a match that passes the rule's threshold. */
static bool
rule_try(const struct rules *rules, const struct rule *rule, const char *line,
    size_t length, struct captures *captures)
{
	const struct rule_def *def = rule->def;
	double value;
	int rc;

	rc = pcre2_match(rule->code, (PCRE2_SPTR)line, length, 0, 0, rules->match_data, NULL);
	if (rc <= 0)
		return false;

	captures->line = line;
	captures->ovector = pcre2_get_ovector_pointer(rules->match_data);
	captures->count = rc;

	if (def->threshold_group > 0) {
		if (!capture_number(captures, def->threshold_group, &value))
			return false;
		if (value >= def->threshold)
			return false;
	}
	return true;
}

/* Stores the latest frame, because Python prints the innermost frame (the one that raised) last. */
static void
update_context(const struct rule_def *def, const struct captures *captures,
    struct rules_context *context)
{
	const char *start;
	size_t length;

	if (context == NULL)
		return;
	if (!capture_get(captures, def->file_group, &start, &length))
		return;

	copy_text(context->file_path, sizeof context->file_path, start, length);
	context->line_number = capture_line_number(captures, def->line_group);
}

/* Sets the file and line from the captures, or else from CONTEXT, which is then cleared. */
static void
fill_location(const struct rule_def *def, const struct captures *captures,
    struct rules_context *context, struct msg_detection *detection)
{
	const char *start;
	size_t length;

	if (capture_get(captures, def->file_group, &start, &length)) {
		copy_text(detection->file_path, sizeof detection->file_path, start, length);
		detection->line_number = capture_line_number(captures, def->line_group);
		return;
	}

	if (!def->uses_context || context == NULL || context->file_path[0] == '\0')
		return;
	copy_text(detection->file_path, sizeof detection->file_path,
	    context->file_path, strlen(context->file_path));
	detection->line_number = context->line_number;
	rules_context_init(context);
}

static void
fill_detection(const struct rule_def *def, const struct captures *captures,
    struct rules_context *context, const char *line, size_t length,
    struct msg_detection *detection)
{
	const char *fix = def->fix;

	memset(detection, 0, sizeof *detection);
	copy_text(detection->rule_id, sizeof detection->rule_id, def->id, strlen(def->id));
	copy_text(detection->error_type, sizeof detection->error_type,
	    def->error_type, strlen(def->error_type));
	detection->severity = def->severity;
	detection->confidence = def->confidence;

	fill_location(def, captures, context, detection);

	if (def->fix_at != NULL && detection->file_path[0] != '\0' && detection->line_number > 0)
		fix = def->fix_at;
	expand_template(fix, captures, detection, detection->fix, sizeof detection->fix);
	expand_template(def->reference, captures, detection, detection->reference,
	    sizeof detection->reference);

	copy_text(detection->excerpt, sizeof detection->excerpt, line, length);
	detection->signature_version = SIGNATURE_VERSION;
	signature_compute(def->error_type, line, length, detection->signature);
}

int
rules_match(const struct rules *rules, struct rules_context *context,
    const char *line, size_t length, struct msg_detection *detection)
{
	const struct rule *rule;
	struct captures captures;

	for (size_t i = 0; i < rules->count; i++) {
		rule = &rules->rules[i];
		if (!rule_try(rules, rule, line, length, &captures))
			continue;

		if (rule->def->kind == RULE_CONTEXT) {
			update_context(rule->def, &captures, context);
			return 0;
		}
		fill_detection(rule->def, &captures, context, line, length, detection);
		return 1;
	}
	return 0;
}
