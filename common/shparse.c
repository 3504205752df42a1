/*
 * A bounded POSIX shell parser; see shparse.h.
 *
 * The parser reads one token at a time and collects simple commands. It keeps
 * no syntax tree: ( ), { }, if, while, for and case only decide where a
 * command starts and which words are data. Every nested parse (substitutions,
 * -c scripts, eval strings) adds its commands to the same flat list.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shparse.h"

#define CASE_MAX_NESTING 16
#define WORD_MAX_NESTING 64	/* quotes inside ${ } inside quotes, and so on */

enum case_state {
	CASE_WAIT_IN,		/* after "case WORD", before "in" */
	CASE_PATTERN,		/* reading "pattern | pattern )" */
	CASE_BODY,		/* reading the commands of one arm */
};

/* A growable byte string. A NULL strbuf silently drops what is appended. */
struct strbuf {
	char *data;
	size_t length;
	size_t capacity;
};

/* A here-document whose body starts after the next newline. */
struct pending_heredoc {
	const void *owner;	/* the command being built, until it is finalized */
	size_t command;		/* its index once finalized, else SH_NO_PARENT */
	size_t redirect;
	int strip_tabs;		/* <<- */
	int quoted;		/* a quoted delimiter: no expansion in the body */
	char *delimiter;
};

struct parser {
	struct sh_script *script;
	const char *input;
	size_t length;
	size_t pos;
	struct pending_heredoc *heredocs;
	size_t heredoc_count;
	size_t heredoc_capacity;
	int nesting;		/* open quotes and ${ } inside the current word */
};

/* The simple command being collected. */
struct build {
	struct sh_command command;
	size_t word_capacity;
	size_t assignment_capacity;
	size_t redirect_capacity;
	size_t first_child;	/* commands appended from here on run inside this one */
	int discard;		/* words of a for/select/case header are data */
	int skip_name;		/* the next word names a function */
	int double_bracket;	/* inside [[ ... ]] */
};

/* One level of parsing: a whole input, or the inside of $( ) or <( ). */
struct frame {
	int depth;
	enum sh_origin origin;
	size_t parent;
	int terminator;		/* ')' for $( ) and <( ), else 0 */
	int paren_depth;	/* open subshells */
	int pipe_continues;	/* the previous command ended with | */
	size_t pipeline;
	size_t pipe_index;
	enum case_state cases[CASE_MAX_NESTING];
	int case_depth;
};

static void parse_list(struct parser *, struct frame *);
static int lex_dollar(struct parser *, struct frame *, struct strbuf *, unsigned *, int);
static int lex_backtick(struct parser *, struct frame *, struct strbuf *, unsigned *);
static int lex_double(struct parser *, struct frame *, struct strbuf *, unsigned *);
static int scan_balanced(struct parser *, struct frame *, char, char, const char *);
static int lex_double_body(struct parser *, struct frame *, struct strbuf *, unsigned *);
static void expand_command(struct sh_script *, size_t);

static const char *const shells[] = {
	"sh", "bash", "zsh", "dash", "ksh", "ash", "mksh", "yash", "fish", NULL
};

static int
in_list(const char *name, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcmp(name, *list) == 0)
			return 1;
	}
	return 0;
}

/* Records the first reason the parse stopped; later ones are consequences. */
static void __attribute__((format(printf, 3, 4)))
stop(struct sh_script *script, enum sh_status status, const char *fmt, ...)
{
	va_list ap;

	if (script->status != SH_OK)
		return;
	script->status = status;
	va_start(ap, fmt);
	vsnprintf(script->error, sizeof script->error, fmt, ap);
	va_end(ap);
}

/* Grows *PTR to hold COUNT elements of SIZE, charging the script's memory budget. */
static int
grow(struct sh_script *script, void **ptr, size_t *capacity, size_t count, size_t size)
{
	size_t new_capacity;
	void *grown;

	if (count <= *capacity)
		return 0;
	new_capacity = *capacity == 0 ? 8 : *capacity * 2;
	while (new_capacity < count)
		new_capacity *= 2;
	if (new_capacity > SIZE_MAX / size ||
	    script->memory_used + (new_capacity - *capacity) * size > script->limits.max_memory) {
		stop(script, SH_NO_MEMORY, "parsing needs more than %zu bytes of memory",
		    script->limits.max_memory);
		return -1;
	}
	grown = realloc(*ptr, new_capacity * size);
	if (grown == NULL) {
		stop(script, SH_NO_MEMORY, "out of memory while parsing");
		return -1;
	}
	script->memory_used += (new_capacity - *capacity) * size;
	*ptr = grown;
	*capacity = new_capacity;
	return 0;
}

static char *
copy_text(struct sh_script *script, const char *text, size_t length)
{
	char *copy;

	if (script->memory_used + length + 1 > script->limits.max_memory) {
		stop(script, SH_NO_MEMORY, "parsing needs more than %zu bytes of memory",
		    script->limits.max_memory);
		return NULL;
	}
	copy = malloc(length + 1);
	if (copy == NULL) {
		stop(script, SH_NO_MEMORY, "out of memory while parsing");
		return NULL;
	}
	script->memory_used += length + 1;
	memcpy(copy, text, length);
	copy[length] = '\0';
	return copy;
}

static int
strbuf_append(struct sh_script *script, struct strbuf *buf, const char *text, size_t length)
{
	if (buf == NULL)
		return 0;
	if (grow(script, (void **)&buf->data, &buf->capacity, buf->length + length + 1, 1) < 0)
		return -1;
	memcpy(buf->data + buf->length, text, length);
	buf->length += length;
	buf->data[buf->length] = '\0';
	return 0;
}

static int
strbuf_add(struct sh_script *script, struct strbuf *buf, char c)
{
	return strbuf_append(script, buf, &c, 1);
}

/* Returns the byte at POS + AHEAD, or '\0' past the end. */
static char
peek(const struct parser *p, size_t ahead)
{
	if (p->pos + ahead >= p->length)
		return '\0';
	return p->input[p->pos + ahead];
}

static int
stopped(const struct parser *p)
{
	return p->script->status != SH_OK;
}

static int
is_name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static int
is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Characters that end an unquoted word. */
static int
is_word_end(char c)
{
	return c == '\0' || c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' ||
	    c == '|' || c == '<' || c == '>' || c == '(' || c == ')';
}

static void
word_free(struct sh_word *word)
{
	free(word->text);
	word->text = NULL;
}

static void
command_free(struct sh_command *command)
{
	size_t i;

	for (i = 0; i < command->word_count; i++)
		word_free(&command->words[i]);
	free(command->words);
	for (i = 0; i < command->assignment_count; i++)
		word_free(&command->assignments[i]);
	free(command->assignments);
	for (i = 0; i < command->redirect_count; i++) {
		word_free(&command->redirects[i].target);
		free(command->redirects[i].heredoc);
	}
	free(command->redirects);
	memset(command, 0, sizeof *command);
}

/* Frees the here-documents still pending when the input ended. */
static void
parser_release(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->heredoc_count; i++)
		free(p->heredocs[i].delimiter);
	free(p->heredocs);
	p->heredocs = NULL;
	p->heredoc_count = p->heredoc_capacity = 0;
}

/*
 * Parses TEXT as a nested script whose top-level commands run inside
 * command PARENT (or are claimed by the command being built when PARENT is
 * SH_NO_PARENT).
 */
static void
parse_nested(struct sh_script *script, const char *text, size_t length, int depth,
    enum sh_origin origin, size_t parent)
{
	struct parser nested;
	struct frame frame;

	if (depth > script->limits.max_depth) {
		stop(script, SH_TOO_DEEP, "commands are nested more than %d levels deep",
		    script->limits.max_depth);
		return;
	}

	memset(&nested, 0, sizeof nested);
	nested.script = script;
	nested.input = text;
	nested.length = length;
	memset(&frame, 0, sizeof frame);
	frame.depth = depth;
	frame.origin = origin;
	frame.parent = parent;
	parse_list(&nested, &frame);
	parser_release(&nested);
}

/* Decodes the body of $'...' (bash ANSI-C quoting) up to the closing quote. */
static int
lex_ansi_c(struct parser *p, struct strbuf *buf)
{
	size_t start = p->pos;
	int truncated = 0;
	unsigned value;
	char c, out;
	int digits;

	p->pos += 2;
	for (;;) {
		c = peek(p, 0);
		if (p->pos >= p->length) {
			stop(p->script, SH_UNTERMINATED, "missing closing quote for $' at byte %zu", start);
			return -1;
		}
		p->pos++;
		if (c == '\'')
			return 0;
		if (c != '\\') {
			out = c;
		} else {
			c = peek(p, 0);
			p->pos++;
			switch (c) {
			case 'a': out = '\a'; break;
			case 'b': out = '\b'; break;
			case 'e': case 'E': out = 033; break;
			case 'f': out = '\f'; break;
			case 'n': out = '\n'; break;
			case 'r': out = '\r'; break;
			case 't': out = '\t'; break;
			case 'v': out = '\v'; break;
			case 'c':
				out = (char)(peek(p, 0) & 037);
				p->pos++;
				break;
			case 'x':
				value = 0;
				for (digits = 0; digits < 2 && isxdigit((unsigned char)peek(p, 0)); digits++) {
					c = peek(p, 0);
					value = value * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' :
					    tolower((unsigned char)c) - 'a' + 10);
					p->pos++;
				}
				out = (char)value;
				break;
			case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
				value = (unsigned)(c - '0');
				for (digits = 1; digits < 3 && peek(p, 0) >= '0' && peek(p, 0) <= '7'; digits++) {
					value = value * 8 + (unsigned)(peek(p, 0) - '0');
					p->pos++;
				}
				out = (char)value;
				break;
			case '\\': case '\'': case '"': case '?':
				out = c;
				break;
			default:
				if (strbuf_add(p->script, truncated ? NULL : buf, '\\') < 0)
					return -1;
				out = c;
				break;
			}
		}
		/* Bash ends the word at a decoded NUL byte. */
		if (out == '\0')
			truncated = 1;
		if (!truncated && strbuf_add(p->script, buf, out) < 0)
			return -1;
	}
}

/*
 * Scans from an opening OPEN to its matching CLOSE, following quotes and
 * parsing the substitutions inside. Leaves POS after CLOSE.
 */
static int
scan_balanced_body(struct parser *p, struct frame *f, char open, char close, const char *what)
{
	size_t start = p->pos;
	int level = 0;
	unsigned flags = 0;
	char c;

	for (;;) {
		if (stopped(p))
			return -1;
		if (p->pos >= p->length) {
			stop(p->script, SH_UNTERMINATED, "missing '%c' for the %s at byte %zu", close, what, start);
			return -1;
		}
		c = peek(p, 0);
		if (c == '\\') {
			p->pos += 2;
		} else if (c == '\'') {
			const char *end = memchr(p->input + p->pos + 1, '\'', p->length - p->pos - 1);

			if (end == NULL) {
				stop(p->script, SH_UNTERMINATED, "missing closing single quote inside the %s at byte %zu",
				    what, start);
				return -1;
			}
			p->pos = (size_t)(end - p->input) + 1;
		} else if (c == '"') {
			if (lex_double(p, f, NULL, &flags) < 0)
				return -1;
		} else if (c == '$') {
			if (lex_dollar(p, f, NULL, &flags, 0) < 0)
				return -1;
		} else if (c == '`') {
			if (lex_backtick(p, f, NULL, &flags) < 0)
				return -1;
		} else {
			p->pos++;
			if (c == open)
				level++;
			else if (c == close && --level == 0)
				return 0;
		}
	}
}

/* Bounds the recursion of quotes inside expansions inside quotes. */
static int
enter_nesting(struct parser *p)
{
	if (p->nesting >= WORD_MAX_NESTING) {
		stop(p->script, SH_TOO_DEEP, "quotes and expansions are nested more than %d levels deep at byte %zu",
		    WORD_MAX_NESTING, p->pos);
		return -1;
	}
	p->nesting++;
	return 0;
}

static int
scan_balanced(struct parser *p, struct frame *f, char open, char close, const char *what)
{
	int result;

	if (enter_nesting(p) < 0)
		return -1;
	result = scan_balanced_body(p, f, open, close, what);
	p->nesting--;
	return result;
}

static int
lex_double(struct parser *p, struct frame *f, struct strbuf *buf, unsigned *flags)
{
	int result;

	if (enter_nesting(p) < 0)
		return -1;
	result = lex_double_body(p, f, buf, flags);
	p->nesting--;
	return result;
}

/* Parses $(( ... )) or (( ... )) starting at the first '('. Returns 1 when it was not arithmetic. */
static int
lex_arithmetic(struct parser *p, struct frame *f)
{
	size_t start = p->pos;

	if (scan_balanced(p, f, '(', ')', "arithmetic expression") < 0)
		return -1;
	/* "((a) (b))" is a subshell inside a substitution, not arithmetic. */
	if (p->pos - start < 4 || p->input[p->pos - 2] != ')')
		return 1;
	return 0;
}

static int
lex_command_substitution(struct parser *p, struct frame *f, enum sh_origin origin)
{
	struct frame inner;

	if (f->depth + 1 > p->script->limits.max_depth) {
		stop(p->script, SH_TOO_DEEP, "commands are nested more than %d levels deep",
		    p->script->limits.max_depth);
		return -1;
	}
	memset(&inner, 0, sizeof inner);
	inner.depth = f->depth + 1;
	inner.origin = origin;
	inner.parent = SH_NO_PARENT;
	inner.terminator = ')';
	parse_list(p, &inner);
	return stopped(p) ? -1 : 0;
}

/* Lexes an expansion starting at '$' and appends it as written. */
static int
lex_dollar(struct parser *p, struct frame *f, struct strbuf *buf, unsigned *flags, int in_double)
{
	size_t start = p->pos;
	char next = peek(p, 1);
	int result;

	if (next == '\'' && !in_double) {
		*flags |= SH_WORD_QUOTED;
		return lex_ansi_c(p, buf);
	}
	if (next == '"' && !in_double) {
		p->pos++;
		return lex_double(p, f, buf, flags);
	}

	if (next == '(' && peek(p, 2) == '(') {
		p->pos++;
		result = lex_arithmetic(p, f);
		if (result < 0)
			return -1;
		if (result == 1) {
			p->pos = start + 2;
			if (lex_command_substitution(p, f, SH_ORIGIN_SUBSTITUTION) < 0)
				return -1;
		}
	} else if (next == '(') {
		p->pos += 2;
		if (lex_command_substitution(p, f, SH_ORIGIN_SUBSTITUTION) < 0)
			return -1;
	} else if (next == '{') {
		p->pos++;
		if (scan_balanced(p, f, '{', '}', "parameter expansion") < 0)
			return -1;
	} else if (is_name_start(next)) {
		p->pos += 2;
		while (is_name_char(peek(p, 0)))
			p->pos++;
	} else if (next != '\0' && (isdigit((unsigned char)next) || strchr("@*#?-$!", next) != NULL)) {
		p->pos += 2;
	} else {
		p->pos++;
		return strbuf_add(p->script, buf, '$');
	}

	*flags |= SH_WORD_EXPANDS;
	return strbuf_append(p->script, buf, p->input + start, p->pos - start);
}

/* Lexes `...`: the text between the backquotes, unescaped, is a nested script. */
static int
lex_backtick(struct parser *p, struct frame *f, struct strbuf *buf, unsigned *flags)
{
	struct strbuf inner = { NULL, 0, 0 };
	size_t start = p->pos;
	char c;

	p->pos++;
	for (;;) {
		if (p->pos >= p->length) {
			free(inner.data);
			stop(p->script, SH_UNTERMINATED, "missing closing backquote for the one at byte %zu", start);
			return -1;
		}
		c = peek(p, 0);
		if (c == '`')
			break;
		if (c == '\\' && peek(p, 1) != '\0' && strchr("$`\\", peek(p, 1)) != NULL) {
			c = peek(p, 1);
			p->pos++;
		}
		p->pos++;
		if (strbuf_add(p->script, &inner, c) < 0) {
			free(inner.data);
			return -1;
		}
	}
	p->pos++;

	parse_nested(p->script, inner.data != NULL ? inner.data : "", inner.length, f->depth + 1,
	    SH_ORIGIN_SUBSTITUTION, SH_NO_PARENT);
	free(inner.data);
	if (stopped(p))
		return -1;
	*flags |= SH_WORD_EXPANDS;
	return strbuf_append(p->script, buf, p->input + start, p->pos - start);
}

static int
lex_double_body(struct parser *p, struct frame *f, struct strbuf *buf, unsigned *flags)
{
	size_t start = p->pos;
	char c;

	*flags |= SH_WORD_QUOTED;
	p->pos++;
	for (;;) {
		if (stopped(p))
			return -1;
		if (p->pos >= p->length) {
			stop(p->script, SH_UNTERMINATED, "missing closing double quote for the one at byte %zu", start);
			return -1;
		}
		c = peek(p, 0);
		if (c == '"') {
			p->pos++;
			return 0;
		}
		if (c == '\\' && peek(p, 1) == '\n') {
			p->pos += 2;
		} else if (c == '\\' && peek(p, 1) != '\0' && strchr("$`\"\\", peek(p, 1)) != NULL) {
			if (strbuf_add(p->script, buf, peek(p, 1)) < 0)
				return -1;
			p->pos += 2;
		} else if (c == '$') {
			if (lex_dollar(p, f, buf, flags, 1) < 0)
				return -1;
		} else if (c == '`') {
			if (lex_backtick(p, f, buf, flags) < 0)
				return -1;
		} else {
			if (strbuf_add(p->script, buf, c) < 0)
				return -1;
			p->pos++;
		}
	}
}

/*
 * Lexes one word. Sets *ASSIGNMENT when it has the NAME=value form with an
 * unquoted name.
 */
static int
lex_word(struct parser *p, struct frame *f, struct sh_word *word, int *assignment)
{
	struct strbuf buf = { NULL, 0, 0 };
	size_t start = p->pos;
	int name_only = 1, brace_open = 0;
	unsigned flags = 0;
	char c;

	*assignment = 0;
	if (peek(p, 0) == '~')
		flags |= SH_WORD_TILDE;

	for (;;) {
		c = peek(p, 0);
		if (stopped(p))
			goto fail;
		if (is_word_end(c) && !(c == '(' && *assignment && p->pos > start && p->input[p->pos - 1] == '='))
			break;

		if (c == '(') {
			/* An array assignment: NAME=( ... ). */
			size_t open = p->pos;

			if (scan_balanced(p, f, '(', ')', "array assignment") < 0)
				goto fail;
			flags |= SH_WORD_EXPANDS;
			if (strbuf_append(p->script, &buf, p->input + open, p->pos - open) < 0)
				goto fail;
			continue;
		}
		if (c == '=' && name_only && buf.length > 0 && is_name_start(buf.data[0]) && !*assignment)
			*assignment = 1;
		else if (!is_name_char(c) && !(c == '+' && peek(p, 1) == '='))
			name_only = 0;

		switch (c) {
		case '\\':
			if (peek(p, 1) == '\n') {
				p->pos += 2;
				continue;
			}
			name_only = 0;
			flags |= SH_WORD_QUOTED;
			if (p->pos + 1 < p->length)
				p->pos++;
			if (strbuf_add(p->script, &buf, peek(p, 0)) < 0)
				goto fail;
			p->pos++;
			break;
		case '\'': {
			const char *end = memchr(p->input + p->pos + 1, '\'', p->length - p->pos - 1);

			name_only = 0;
			flags |= SH_WORD_QUOTED;
			if (end == NULL) {
				stop(p->script, SH_UNTERMINATED, "missing closing single quote for the one at byte %zu",
				    p->pos);
				goto fail;
			}
			if (strbuf_append(p->script, &buf, p->input + p->pos + 1,
			    (size_t)(end - p->input) - p->pos - 1) < 0)
				goto fail;
			p->pos = (size_t)(end - p->input) + 1;
			break;
		}
		case '"':
			name_only = 0;
			if (lex_double(p, f, &buf, &flags) < 0)
				goto fail;
			break;
		case '$':
			name_only = 0;
			if (lex_dollar(p, f, &buf, &flags, 0) < 0)
				goto fail;
			break;
		case '`':
			name_only = 0;
			if (lex_backtick(p, f, &buf, &flags) < 0)
				goto fail;
			break;
		default:
			if (c == '*' || c == '?' || c == '[')
				flags |= SH_WORD_GLOB;
			if (c == '{')
				brace_open = 1;
			if (c == ',' && brace_open)
				flags |= SH_WORD_BRACE;
			if (strbuf_add(p->script, &buf, c) < 0)
				goto fail;
			p->pos++;
			break;
		}
	}

	if (buf.data == NULL && strbuf_append(p->script, &buf, "", 0) < 0)
		goto fail;
	word->text = buf.data;
	word->flags = flags;
	return 0;

fail:
	free(buf.data);
	return -1;
}

static void
build_start(struct parser *p, struct build *b)
{
	memset(b, 0, sizeof *b);
	b->first_child = p->script->command_count;
}

/* Forgets the pending here-documents of B, or ties them to command INDEX. */
static void
heredocs_resolve(struct parser *p, const struct build *b, size_t index)
{
	size_t i, remaining = 0;

	for (i = 0; i < p->heredoc_count; i++) {
		struct pending_heredoc *h = &p->heredocs[i];

		if (h->owner == b && h->command == SH_NO_PARENT) {
			if (index == SH_NO_PARENT) {
				free(h->delimiter);
				continue;
			}
			h->command = index;
			h->owner = NULL;
		}
		p->heredocs[remaining++] = *h;
	}
	p->heredoc_count = remaining;
}

static void
build_drop(struct parser *p, struct build *b)
{
	heredocs_resolve(p, b, SH_NO_PARENT);
	command_free(&b->command);
}

/* Appends the command in B to the script, or drops it when it has nothing to run. */
static void
build_finish(struct parser *p, struct frame *f, struct build *b, int background)
{
	struct sh_script *script = p->script;
	struct sh_command *command = &b->command;
	size_t index, i;

	if (b->discard || stopped(p) ||
	    (command->word_count == 0 && command->assignment_count == 0 && command->redirect_count == 0)) {
		build_drop(p, b);
		return;
	}
	if (script->command_count >= script->limits.max_commands) {
		stop(script, SH_TOO_MANY, "the input contains more than %zu commands", script->limits.max_commands);
		build_drop(p, b);
		return;
	}
	if (grow(script, (void **)&script->commands, &script->command_capacity,
	    script->command_count + 1, sizeof *script->commands) < 0) {
		build_drop(p, b);
		return;
	}

	command->origin = f->origin;
	command->depth = f->depth;
	command->parent = f->parent;
	command->argv_start = 0;
	if (background)
		command->flags |= SH_CMD_BACKGROUND;
	if (f->pipe_continues) {
		command->pipeline = f->pipeline;
		command->pipe_index = ++f->pipe_index;
	} else {
		command->pipeline = f->pipeline = script->pipeline_count++;
		command->pipe_index = f->pipe_index = 0;
	}

	index = script->command_count++;
	script->commands[index] = *command;
	memset(command, 0, sizeof *command);
	for (i = b->first_child; i < index; i++) {
		if (script->commands[i].parent == SH_NO_PARENT && script->commands[i].depth > f->depth)
			script->commands[i].parent = index;
	}
	heredocs_resolve(p, b, index);
	expand_command(script, index);
}

static int
word_is(const struct sh_word *word, const char *text)
{
	return (word->flags & (SH_WORD_QUOTED | SH_WORD_EXPANDS)) == 0 && strcmp(word->text, text) == 0;
}

static int
build_append(struct sh_script *script, struct sh_word **array, size_t *count, size_t *capacity,
    struct sh_word *word)
{
	if (grow(script, (void **)array, capacity, *count + 1, sizeof **array) < 0) {
		word_free(word);
		return -1;
	}
	(*array)[(*count)++] = *word;
	return 0;
}

/* Adds WORD to B, or consumes it as a reserved word or case pattern. */
static void
build_add_word(struct parser *p, struct frame *f, struct build *b, struct sh_word *word, int assignment)
{
	static const char *const skipped[] = {
		"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "{", "}", "!", "time",
		NULL
	};
	struct sh_command *command = &b->command;
	enum case_state *state = f->case_depth > 0 ? &f->cases[f->case_depth - 1] : NULL;

	if (state != NULL && *state == CASE_WAIT_IN) {
		if (word_is(word, "in"))
			*state = CASE_PATTERN;
		word_free(word);
		return;
	}
	if (state != NULL && *state == CASE_PATTERN) {
		if (word_is(word, "esac"))
			f->case_depth--;
		word_free(word);
		return;
	}
	if (b->discard || b->skip_name) {
		b->skip_name = 0;
		word_free(word);
		return;
	}

	if (command->word_count == 0 && command->assignment_count == 0 && !b->double_bracket) {
		if (word_is(word, "for") || word_is(word, "select")) {
			b->discard = 1;
		} else if (word_is(word, "case")) {
			if (f->case_depth == CASE_MAX_NESTING)
				stop(p->script, SH_TOO_DEEP, "case statements are nested more than %d levels deep",
				    CASE_MAX_NESTING);
			else
				f->cases[f->case_depth++] = CASE_WAIT_IN;
		} else if (word_is(word, "esac") && f->case_depth > 0) {
			f->case_depth--;
		} else if (word_is(word, "function")) {
			b->skip_name = 1;
		} else if (!in_list(word->text, skipped) || (word->flags & (SH_WORD_QUOTED | SH_WORD_EXPANDS))) {
			goto add;
		}
		word_free(word);
		return;
	}

add:
	if (assignment && command->word_count == 0) {
		build_append(p->script, &command->assignments, &command->assignment_count,
		    &b->assignment_capacity, word);
		return;
	}
	if (word_is(word, "[[") && command->word_count == 0)
		b->double_bracket = 1;
	else if (word_is(word, "]]"))
		b->double_bracket = 0;
	build_append(p->script, &command->words, &command->word_count, &b->word_capacity, word);
}

static int
build_add_redirect(struct parser *p, struct frame *f, struct build *b, int fd, const char *op)
{
	struct sh_command *command = &b->command;
	struct sh_redirect *redirect;
	struct pending_heredoc *pending;
	struct sh_word target;
	int assignment;

	while (peek(p, 0) == ' ' || peek(p, 0) == '\t')
		p->pos++;
	if (is_word_end(peek(p, 0))) {
		stop(p->script, SH_SYNTAX, "missing a file name after '%s' at byte %zu", op, p->pos);
		return -1;
	}
	if (lex_word(p, f, &target, &assignment) < 0)
		return -1;
	if (grow(p->script, (void **)&command->redirects, &b->redirect_capacity,
	    command->redirect_count + 1, sizeof *command->redirects) < 0) {
		word_free(&target);
		return -1;
	}
	redirect = &command->redirects[command->redirect_count++];
	memset(redirect, 0, sizeof *redirect);
	redirect->fd = fd;
	snprintf(redirect->op, sizeof redirect->op, "%s", op);
	redirect->target = target;

	if (strcmp(op, "<<") != 0 && strcmp(op, "<<-") != 0)
		return 0;
	if (grow(p->script, (void **)&p->heredocs, &p->heredoc_capacity, p->heredoc_count + 1,
	    sizeof *p->heredocs) < 0)
		return -1;
	pending = &p->heredocs[p->heredoc_count];
	pending->delimiter = copy_text(p->script, target.text, strlen(target.text));
	if (pending->delimiter == NULL)
		return -1;
	pending->owner = b;
	pending->command = SH_NO_PARENT;
	pending->redirect = command->redirect_count - 1;
	pending->strip_tabs = op[2] == '-';
	pending->quoted = (target.flags & SH_WORD_QUOTED) != 0;
	p->heredoc_count++;
	return 0;
}

/* Parses the substitutions in an unquoted here-document body. */
static void
scan_heredoc_body(struct sh_script *script, const char *body, int depth, size_t parent)
{
	struct parser scan;
	struct frame frame;
	unsigned flags = 0;
	size_t first = script->command_count, i;

	memset(&scan, 0, sizeof scan);
	scan.script = script;
	scan.input = body;
	scan.length = strlen(body);
	memset(&frame, 0, sizeof frame);
	frame.depth = depth;
	frame.parent = SH_NO_PARENT;

	while (scan.pos < scan.length && !stopped(&scan)) {
		char c = peek(&scan, 0);

		if (c == '\\')
			scan.pos += 2;
		else if (c == '$')
			lex_dollar(&scan, &frame, NULL, &flags, 1);
		else if (c == '`')
			lex_backtick(&scan, &frame, NULL, &flags);
		else
			scan.pos++;
	}
	parser_release(&scan);
	for (i = first; i < script->command_count; i++) {
		if (script->commands[i].parent == SH_NO_PARENT)
			script->commands[i].parent = parent;
	}
}

/* Returns 1 when COMMAND is a shell that reads its script from stdin. */
static int
shell_reads_stdin(const struct sh_command *command)
{
	const char *name = sh_command_name(command);
	size_t i;

	if (name == NULL || !in_list(name, shells))
		return 0;
	for (i = command->argv_start + 1; i < command->word_count; i++) {
		const char *text = command->words[i].text;

		if (strcmp(text, "-s") == 0)
			return 1;
		if (text[0] != '-' && text[0] != '+')
			return 0;
		if (text[1] != '-' && strchr(text, 'c') != NULL)
			return 0;
	}
	return 1;
}

/* Reads the bodies of the here-documents whose command line just ended. */
static void
read_heredocs(struct parser *p)
{
	struct sh_script *script = p->script;
	size_t i, remaining = 0;

	for (i = 0; i < p->heredoc_count; i++) {
		struct pending_heredoc *h = &p->heredocs[i];
		struct strbuf body = { NULL, 0, 0 };
		struct sh_command *command;
		size_t delimiter_length = strlen(h->delimiter);

		if (h->command == SH_NO_PARENT) {
			p->heredocs[remaining++] = *h;
			continue;
		}

		/* Bash ends a body that reaches the end of the input there, with a warning. */
		while (p->pos < p->length && !stopped(p)) {
			const char *line = p->input + p->pos;
			const char *newline = memchr(line, '\n', p->length - p->pos);
			size_t length = newline != NULL ? (size_t)(newline - line) : p->length - p->pos;

			p->pos += length + (newline != NULL);
			if (h->strip_tabs) {
				while (length > 0 && *line == '\t') {
					line++;
					length--;
				}
			}
			if (length == delimiter_length && memcmp(line, h->delimiter, length) == 0)
				break;
			if (strbuf_append(script, &body, line, length) < 0 ||
			    strbuf_add(script, &body, '\n') < 0)
				break;
		}

		if (!stopped(p) && strbuf_append(script, &body, "", 0) == 0) {
			command = &script->commands[h->command];
			command->redirects[h->redirect].heredoc = body.data;
			body.data = NULL;
			if (!h->quoted)
				scan_heredoc_body(script, command->redirects[h->redirect].heredoc,
				    command->depth + 1, h->command);
			command = &script->commands[h->command];
			if (shell_reads_stdin(command))
				parse_nested(script, command->redirects[h->redirect].heredoc,
				    strlen(command->redirects[h->redirect].heredoc), command->depth + 1,
				    SH_ORIGIN_SHELL_SCRIPT, h->command);
		}
		free(body.data);
		free(h->delimiter);
	}
	p->heredoc_count = remaining;
}

static int
is_operator_start(const struct parser *p)
{
	char c = peek(p, 0);

	return c == ';' || c == '&' || c == '|' || c == '<' || c == '>';
}

/* Returns the redirection operator at POS, or NULL. */
static const char *
match_redirect(const struct parser *p)
{
	static const char *const ops[] = {
		"<<<", "<<-", "&>>", "<<", "<&", "<>", ">>", ">&", ">|", "&>", "<", ">", NULL
	};
	size_t i, n;

	for (i = 0; ops[i] != NULL; i++) {
		n = strlen(ops[i]);
		if (p->pos + n <= p->length && memcmp(p->input + p->pos, ops[i], n) == 0)
			return ops[i];
	}
	return NULL;
}

/* Reads an operator inside [[ ]], where && || < > ( ) are test operators. */
static int
lex_test_operator(struct parser *p, struct build *b)
{
	struct sh_word word;
	size_t n = 1;
	char c = peek(p, 0);

	if ((c == '&' || c == '|') && peek(p, 1) == c)
		n = 2;
	word.text = copy_text(p->script, p->input + p->pos, n);
	if (word.text == NULL)
		return -1;
	word.flags = 0;
	p->pos += n;
	return build_append(p->script, &b->command.words, &b->command.word_count, &b->word_capacity, &word);
}

enum separator {
	SEP_LIST,	/* ; newline && || */
	SEP_PIPE,	/* | |& */
	SEP_BACKGROUND,	/* & */
	SEP_CASE_ARM,	/* ;; ;& ;;& */
};

static void
end_command(struct parser *p, struct frame *f, struct build *b, enum separator separator)
{
	build_finish(p, f, b, separator == SEP_BACKGROUND);
	f->pipe_continues = separator == SEP_PIPE;
	if (separator == SEP_CASE_ARM && f->case_depth > 0)
		f->cases[f->case_depth - 1] = CASE_PATTERN;
	build_start(p, b);
}

static enum separator
lex_separator(struct parser *p)
{
	static const struct {
		const char *text;
		enum separator separator;
	} ops[] = {
		{ ";;&", SEP_CASE_ARM }, { ";;", SEP_CASE_ARM }, { ";&", SEP_CASE_ARM },
		{ "&&", SEP_LIST }, { "||", SEP_LIST }, { "|&", SEP_PIPE },
		{ ";", SEP_LIST }, { "&", SEP_BACKGROUND }, { "|", SEP_PIPE },
	};
	size_t i, n;

	for (i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		n = strlen(ops[i].text);
		if (p->pos + n <= p->length && memcmp(p->input + p->pos, ops[i].text, n) == 0) {
			p->pos += n;
			return ops[i].separator;
		}
	}
	p->pos++;
	return SEP_LIST;
}

/* Skips blanks, line continuations and comments. */
static void
skip_blanks(struct parser *p)
{
	for (;;) {
		char c = peek(p, 0);

		if (c == ' ' || c == '\t' || c == '\r') {
			p->pos++;
		} else if (c == '\\' && peek(p, 1) == '\n') {
			p->pos += 2;
		} else if (c == '#') {
			while (p->pos < p->length && peek(p, 0) != '\n')
				p->pos++;
		} else {
			return;
		}
	}
}

/* Handles '(' at POS: a subshell, a function definition "name ()" or an arithmetic command. */
static int
open_paren(struct parser *p, struct frame *f, struct build *b)
{
	struct sh_command *command = &b->command;
	size_t after = p->pos + 1;
	int result;

	while (after < p->length && (p->input[after] == ' ' || p->input[after] == '\t'))
		after++;
	if (after < p->length && p->input[after] == ')' && command->word_count <= 1 &&
	    command->assignment_count == 0) {
		build_drop(p, b);
		build_start(p, b);
		p->pos = after + 1;
		return 0;
	}
	if (command->word_count == 0 && command->assignment_count == 0 && peek(p, 1) == '(') {
		size_t start = p->pos;

		result = lex_arithmetic(p, f);
		if (result <= 0)
			return result;
		p->pos = start;
	}
	if (command->word_count == 0 && command->assignment_count == 0) {
		f->paren_depth++;
		p->pos++;
		return 0;
	}
	stop(p->script, SH_SYNTAX, "unexpected '(' at byte %zu", p->pos);
	return -1;
}

/* Handles ')' at POS. Returns 1 when it closes this frame. */
static int
close_paren(struct parser *p, struct frame *f, struct build *b)
{
	if (f->case_depth > 0 && f->cases[f->case_depth - 1] == CASE_PATTERN) {
		p->pos++;
		f->cases[f->case_depth - 1] = CASE_BODY;
		return 0;
	}
	if (f->paren_depth > 0) {
		p->pos++;
		f->paren_depth--;
		end_command(p, f, b, SEP_LIST);
		return 0;
	}
	if (f->terminator == ')') {
		p->pos++;
		return 1;
	}
	stop(p->script, SH_SYNTAX, "unexpected ')' at byte %zu", p->pos);
	return -1;
}

/* Reads a redirection at POS (an optional descriptor number, the operator, the target). */
static int
lex_redirect(struct parser *p, struct frame *f, struct build *b)
{
	const char *op;
	int fd = -1;
	size_t digits = 0;

	while (isdigit((unsigned char)peek(p, digits)))
		digits++;
	if (digits > 0) {
		fd = digits > 4 ? -1 : atoi(p->input + p->pos);
		p->pos += digits;
	}
	op = match_redirect(p);
	p->pos += strlen(op);
	return build_add_redirect(p, f, b, fd, op);
}

/* Returns 1 when POS starts a redirection: [digits](<|>|&>). */
static int
at_redirect(const struct parser *p)
{
	size_t digits = 0;
	char c;

	while (isdigit((unsigned char)peek(p, digits)))
		digits++;
	c = peek(p, digits);
	if (c == '<' || c == '>')
		return peek(p, digits + 1) != '(';
	return digits == 0 && c == '&' && peek(p, 1) == '>';
}

/* Lexes <( ... ) or >( ... ) as a word whose commands run alongside. */
static int
lex_process_substitution(struct parser *p, struct frame *f, struct build *b)
{
	struct sh_word word;
	size_t start = p->pos;

	p->pos += 2;
	if (lex_command_substitution(p, f, SH_ORIGIN_PROCESS_SUBSTITUTION) < 0)
		return -1;
	word.text = copy_text(p->script, p->input + start, p->pos - start);
	if (word.text == NULL)
		return -1;
	word.flags = SH_WORD_EXPANDS;
	build_add_word(p, f, b, &word, 0);
	return 0;
}

static void
parse_list(struct parser *p, struct frame *f)
{
	struct build b;
	struct sh_word word;
	int assignment, result;
	char c;

	build_start(p, &b);
	while (!stopped(p)) {
		skip_blanks(p);
		c = peek(p, 0);

		if (p->pos >= p->length) {
			end_command(p, f, &b, SEP_LIST);
			if (f->terminator != 0)
				stop(p->script, SH_UNTERMINATED, "missing ')' to close a command substitution");
			break;
		}
		if (b.double_bracket && (c == '&' || c == '|' || c == '<' || c == '>' || c == '(' || c == ')')) {
			lex_test_operator(p, &b);
		} else if (c == '\n') {
			p->pos++;
			end_command(p, f, &b, SEP_LIST);
			read_heredocs(p);
		} else if (c == ')') {
			result = close_paren(p, f, &b);
			if (result != 0) {
				if (result == 1)
					end_command(p, f, &b, SEP_LIST);
				break;
			}
		} else if (c == '(') {
			if (f->case_depth > 0 && f->cases[f->case_depth - 1] == CASE_PATTERN)
				p->pos++;
			else if (open_paren(p, f, &b) < 0)
				break;
		} else if ((c == '<' || c == '>') && peek(p, 1) == '(') {
			lex_process_substitution(p, f, &b);
		} else if (at_redirect(p)) {
			lex_redirect(p, f, &b);
		} else if (is_operator_start(p)) {
			if (f->case_depth > 0 && f->cases[f->case_depth - 1] == CASE_PATTERN && c == '|')
				p->pos++;
			else
				end_command(p, f, &b, lex_separator(p));
		} else if (lex_word(p, f, &word, &assignment) == 0) {
			build_add_word(p, f, &b, &word, assignment);
		}
	}
	build_drop(p, &b);
}

/* Wrappers: commands that run the command in their arguments. */
struct wrapper {
	const char *name;
	const char *short_with_value;		/* option letters that take a value */
	const char *const *long_with_value;	/* long options that take the next word as value */
	int operands;				/* operands before the command (timeout's DURATION) */
	unsigned flags;
};

#define WRAP_ASSIGNMENTS	0x01	/* NAME=value words may follow the options (env) */
#define WRAP_XARGS		0x02	/* arguments are appended from stdin */
#define WRAP_QUERY		0x04	/* -v or -V means the command is only looked up */

static const char *const sudo_long[] = {
	"user", "group", "prompt", "chdir", "close-from", "host", "role", "type", "other-user",
	"command-timeout", "chroot", "login-class", NULL
};
static const char *const env_long[] = { "unset", "chdir", NULL };
static const char *const nice_long[] = { "adjustment", NULL };
static const char *const timeout_long[] = { "signal", "kill-after", NULL };
static const char *const xargs_long[] = {
	"arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var", NULL
};
static const char *const time_long[] = { "output", "format", NULL };
static const char *const stdbuf_long[] = { "input", "output", "error", NULL };
static const char *const none_long[] = { NULL };

static const struct wrapper wrappers[] = {
	{ "sudo", "ugpCDhrtUTR", sudo_long, 0, 0 },
	{ "doas", "uC", none_long, 0, 0 },
	{ "env", "uC", env_long, 0, WRAP_ASSIGNMENTS },
	{ "command", "", none_long, 0, WRAP_QUERY },
	{ "builtin", "", none_long, 0, 0 },
	{ "nice", "n", nice_long, 0, 0 },
	{ "timeout", "sk", timeout_long, 1, 0 },
	{ "xargs", "adEILnPs", xargs_long, 0, WRAP_XARGS },
	{ "nohup", "", none_long, 0, 0 },
	{ "setsid", "", none_long, 0, 0 },
	{ "exec", "a", none_long, 0, 0 },
	{ "time", "of", time_long, 0, 0 },
	{ "busybox", "", none_long, 0, 0 },
	{ "stdbuf", "ioe", stdbuf_long, 0, 0 },
	{ "ionice", "cnpPu", none_long, 0, 0 },
	{ "chroot", "", none_long, 1, 0 },
};

static const char *
basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL && slash[1] != '\0' ? slash + 1 : path;
}

static const struct wrapper *
find_wrapper(const struct sh_word *word)
{
	size_t i;

	if (!sh_word_is_static(word))
		return NULL;
	for (i = 0; i < sizeof wrappers / sizeof wrappers[0]; i++) {
		if (strcmp(basename_of(word->text), wrappers[i].name) == 0)
			return &wrappers[i];
	}
	return NULL;
}

/*
 * Skips the options of wrapper W starting at word I. Sets *SPLIT to the
 * index of the string of `env -S STRING`, when present.
 */
static size_t
skip_wrapper_options(const struct sh_command *command, const struct wrapper *w, size_t i,
    unsigned *flags, size_t *split)
{
	const char *text;
	size_t n = command->word_count, k;
	int operands = w->operands;

	for (; i < n; i++) {
		text = command->words[i].text;
		if (strcmp(text, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(w->name, "env") == 0 && (strcmp(text, "-S") == 0 || strcmp(text, "--split-string") == 0)) {
			*split = i + 1;
			return n;
		}
		if (strcmp(w->name, "env") == 0 && strncmp(text, "--split-string=", 15) == 0) {
			*split = i;
			return n;
		}
		if (text[0] == '-' && text[1] == '-') {
			if (strchr(text, '=') == NULL && in_list(text + 2, w->long_with_value))
				i++;
			continue;
		}
		if (text[0] == '-' && text[1] != '\0') {
			for (k = 1; text[k] != '\0'; k++) {
				if ((w->flags & WRAP_QUERY) && (text[k] == 'v' || text[k] == 'V'))
					*flags |= SH_CMD_QUERY_ONLY;
				if (strchr(w->short_with_value, text[k]) != NULL) {
					if (text[k + 1] == '\0')
						i++;
					break;
				}
			}
			continue;
		}
		if ((w->flags & WRAP_ASSIGNMENTS) && is_name_start(text[0]) && strchr(text, '=') != NULL)
			continue;
		if (operands > 0) {
			operands--;
			continue;
		}
		break;
	}
	if (w->flags & WRAP_XARGS)
		*flags |= SH_CMD_ARGS_FROM_STDIN;
	return i;
}

/* Parses the words from FIRST on, joined by spaces, as a script run by command INDEX. */
static void
parse_joined(struct sh_script *script, size_t index, size_t first, enum sh_origin origin)
{
	struct strbuf joined = { NULL, 0, 0 };
	const struct sh_command *command = &script->commands[index];
	int depth = command->depth + 1;
	unsigned dynamic = 0;
	size_t i;

	for (i = first; i < command->word_count; i++) {
		if (i > first && strbuf_add(script, &joined, ' ') < 0)
			goto done;
		if (strbuf_append(script, &joined, command->words[i].text, strlen(command->words[i].text)) < 0)
			goto done;
		dynamic |= command->words[i].flags & SH_WORD_EXPANDS;
	}
	if (dynamic)
		script->commands[index].flags |= SH_CMD_DYNAMIC_SCRIPT;
	if (joined.data != NULL)
		parse_nested(script, joined.data, joined.length, depth, origin, index);
done:
	free(joined.data);
}

/* Returns the index of the script operand of a shell started with -c, or SH_NO_PARENT. */
static size_t
shell_script_word(const struct sh_command *command)
{
	const char *name = sh_command_name(command);
	size_t i;
	int has_c = 0;

	if (name == NULL)
		return SH_NO_PARENT;
	for (i = command->argv_start + 1; i < command->word_count; i++) {
		const char *text = command->words[i].text;

		if (strcmp(text, "--") == 0 || (strcmp(text, "-") == 0 && strcmp(name, "su") != 0)) {
			i++;
			break;
		}
		if (strcmp(name, "su") != 0 && text[0] != '-' && text[0] != '+')
			break;
		if (strcmp(text, "--command") == 0 || strcmp(text, "-c") == 0) {
			has_c = 1;
			if (strcmp(name, "su") == 0)
				return i + 1 < command->word_count ? i + 1 : SH_NO_PARENT;
		} else if (strcmp(text, "--rcfile") == 0 || strcmp(text, "--init-file") == 0) {
			i++;
		} else if (text[0] != '-' || text[1] == '-') {
			continue;
		} else if (strchr(text, 'c') != NULL) {
			has_c = 1;
		} else if (strpbrk(text, "oO") != NULL && text[2] == '\0') {
			i++;
		}
	}
	if (!has_c || strcmp(name, "su") == 0 || i >= command->word_count)
		return SH_NO_PARENT;
	return i;
}

/* Adds the command of `find ... -exec CMD ... ;` from word I up to the terminator. */
static size_t
add_find_exec(struct sh_script *script, size_t index, size_t i)
{
	struct sh_command child;
	size_t end, k, count, capacity = 0;

	for (end = i; end < script->commands[index].word_count; end++) {
		const char *text = script->commands[index].words[end].text;

		if (strcmp(text, ";") == 0 || strcmp(text, "+") == 0)
			break;
	}
	count = end - i;
	if (count == 0)
		return end;
	if (script->commands[index].depth + 1 > script->limits.max_depth) {
		stop(script, SH_TOO_DEEP, "commands are nested more than %d levels deep", script->limits.max_depth);
		return end;
	}

	memset(&child, 0, sizeof child);
	if (grow(script, (void **)&child.words, &capacity, count, sizeof *child.words) < 0)
		return end;
	for (k = 0; k < count; k++) {
		const struct sh_word *source = &script->commands[index].words[i + k];

		child.words[k].flags = source->flags;
		child.words[k].text = copy_text(script, source->text, strlen(source->text));
		if (child.words[k].text == NULL) {
			command_free(&child);
			return end;
		}
		child.word_count++;
	}
	if (script->command_count >= script->limits.max_commands ||
	    grow(script, (void **)&script->commands, &script->command_capacity,
	    script->command_count + 1, sizeof *script->commands) < 0) {
		stop(script, SH_TOO_MANY, "the input contains more than %zu commands", script->limits.max_commands);
		command_free(&child);
		return end;
	}
	child.origin = SH_ORIGIN_FIND_EXEC;
	child.depth = script->commands[index].depth + 1;
	child.parent = index;
	child.pipeline = script->pipeline_count++;
	script->commands[script->command_count++] = child;
	expand_command(script, script->command_count - 1);
	return end;
}

/*
 * Finds the command behind the wrappers of command INDEX and parses the
 * commands it runs: -c scripts, eval strings, find -exec.
 */
static void
expand_command(struct sh_script *script, size_t index)
{
	struct sh_command *command = &script->commands[index];
	const struct wrapper *w;
	const char *name;
	size_t i = 0, split = SH_NO_PARENT, script_word;
	unsigned flags = 0;

	while (i < command->word_count && (w = find_wrapper(&command->words[i])) != NULL &&
	    split == SH_NO_PARENT && !(flags & SH_CMD_QUERY_ONLY))
		i = skip_wrapper_options(command, w, i + 1, &flags, &split);
	command->flags |= flags;
	command->argv_start = (flags & SH_CMD_QUERY_ONLY) ? command->word_count : i;

	if (split != SH_NO_PARENT) {
		const char *text = command->words[split].text;

		command->argv_start = command->word_count;
		if (split >= command->word_count)
			return;
		if (strncmp(text, "--split-string=", 15) == 0) {
			parse_nested(script, text + 15, strlen(text + 15), command->depth + 1, SH_ORIGIN_EVAL, index);
			return;
		}
		parse_joined(script, index, split, SH_ORIGIN_EVAL);
		return;
	}

	name = sh_command_name(command);
	if (name == NULL)
		return;

	if (in_list(name, shells) || strcmp(name, "su") == 0) {
		script_word = shell_script_word(command);
		if (script_word == SH_NO_PARENT)
			return;
		if (!sh_word_is_static(&command->words[script_word]))
			command->flags |= SH_CMD_DYNAMIC_SCRIPT;
		parse_nested(script, command->words[script_word].text, strlen(command->words[script_word].text),
		    command->depth + 1, SH_ORIGIN_SHELL_SCRIPT, index);
	} else if (strcmp(name, "eval") == 0) {
		parse_joined(script, index, command->argv_start + 1, SH_ORIGIN_EVAL);
	} else if (strcmp(name, "watch") == 0) {
		for (i = command->argv_start + 1; i < command->word_count; i++) {
			const char *text = command->words[i].text;

			if (text[0] != '-')
				break;
			if (strcmp(text, "-n") == 0 || strcmp(text, "--interval") == 0)
				i++;
		}
		parse_joined(script, index, i, SH_ORIGIN_EVAL);
	} else if (strcmp(name, "find") == 0) {
		for (i = command->argv_start + 1; i < script->commands[index].word_count; i++) {
			const char *text = script->commands[index].words[i].text;

			if (strcmp(text, "-exec") == 0 || strcmp(text, "-execdir") == 0 ||
			    strcmp(text, "-ok") == 0 || strcmp(text, "-okdir") == 0)
				i = add_find_exec(script, index, i + 1);
		}
	}
}

void
sh_limits_default(struct sh_limits *limits)
{
	limits->max_input = SH_DEFAULT_MAX_INPUT;
	limits->max_depth = SH_DEFAULT_MAX_DEPTH;
	limits->max_commands = SH_DEFAULT_MAX_COMMANDS;
	limits->max_memory = SH_DEFAULT_MAX_MEMORY;
}

struct sh_script *
sh_parse(const char *text, const struct sh_limits *limits)
{
	struct sh_script *script;
	size_t length;

	script = calloc(1, sizeof *script);
	if (script == NULL)
		return NULL;
	if (limits != NULL)
		script->limits = *limits;
	else
		sh_limits_default(&script->limits);

	length = strnlen(text, script->limits.max_input + 1);
	if (length > script->limits.max_input) {
		stop(script, SH_TOO_LONG, "the command is longer than %zu bytes", script->limits.max_input);
		return script;
	}
	parse_nested(script, text, length, 0, SH_ORIGIN_TOP, SH_NO_PARENT);
	return script;
}

void
sh_script_free(struct sh_script *script)
{
	size_t i;

	if (script == NULL)
		return;
	for (i = 0; i < script->command_count; i++)
		command_free(&script->commands[i]);
	free(script->commands);
	free(script);
}

const char *
sh_status_name(enum sh_status status)
{
	switch (status) {
	case SH_OK: return "ok";
	case SH_UNTERMINATED: return "unterminated";
	case SH_SYNTAX: return "syntax error";
	case SH_TOO_LONG: return "too long";
	case SH_TOO_DEEP: return "too deep";
	case SH_TOO_MANY: return "too many commands";
	case SH_NO_MEMORY: return "out of memory";
	}
	return "unknown";
}

const char *
sh_origin_name(enum sh_origin origin)
{
	switch (origin) {
	case SH_ORIGIN_TOP: return "command line";
	case SH_ORIGIN_SUBSTITUTION: return "command substitution";
	case SH_ORIGIN_PROCESS_SUBSTITUTION: return "process substitution";
	case SH_ORIGIN_SHELL_SCRIPT: return "shell script";
	case SH_ORIGIN_EVAL: return "eval";
	case SH_ORIGIN_FIND_EXEC: return "find -exec";
	}
	return "unknown";
}

int
sh_word_is_static(const struct sh_word *word)
{
	return (word->flags & SH_WORD_EXPANDS) == 0;
}

const char *
sh_command_name(const struct sh_command *command)
{
	const struct sh_word *word;

	if (command->argv_start >= command->word_count)
		return NULL;
	word = &command->words[command->argv_start];
	if (!sh_word_is_static(word))
		return NULL;
	return basename_of(word->text);
}

size_t
sh_command_argc(const struct sh_command *command)
{
	if (command->argv_start >= command->word_count)
		return 0;
	return command->word_count - command->argv_start - 1;
}

const struct sh_word *
sh_command_arg(const struct sh_command *command, size_t i)
{
	if (i >= sh_command_argc(command))
		return NULL;
	return &command->words[command->argv_start + 1 + i];
}

char *
sh_word_quote(const struct sh_word *word, char *out, size_t out_size)
{
	const char *text = word->text;
	size_t used = 0;
	int plain = text[0] != '\0';
	const char *c;

	if (out_size == 0)
		return out;
	for (c = text; *c != '\0' && plain; c++) {
		if (!isalnum((unsigned char)*c) && strchr("-_./:=+,@%^~", *c) == NULL)
			plain = 0;
	}
	/* An expansion is shown as written, since quoting it would change its meaning. */
	if (plain || !sh_word_is_static(word)) {
		snprintf(out, out_size, "%s", text);
		return out;
	}

	if (out_size < 3) {
		out[0] = '\0';
		return out;
	}
	out[used++] = '\'';
	for (c = text; *c != '\0' && used + 5 < out_size; c++) {
		if (*c == '\'') {
			memcpy(out + used, "'\\''", 4);
			used += 4;
		} else {
			out[used++] = *c;
		}
	}
	if (used + 1 < out_size)
		out[used++] = '\'';
	out[used < out_size ? used : out_size - 1] = '\0';
	return out;
}

char *
sh_command_format(const struct sh_command *command, char *out, size_t out_size)
{
	char quoted[1024];
	size_t used = 0, i;
	int n;

	if (out_size == 0)
		return out;
	out[0] = '\0';
	for (i = 0; i < command->word_count && used < out_size; i++) {
		n = snprintf(out + used, out_size - used, "%s%s", i > 0 ? " " : "",
		    sh_word_quote(&command->words[i], quoted, sizeof quoted));
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return out;
}
