/*
 * The recall worker; see recall.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "proc.h"
#include "recall.h"
#include "store.h"

/* Room for a message naming the database path and an SQLite error. */
#define ERROR_MAX (PATH_MAX + 512)

/*
 * One signature counted while the database could not be used. The pending
 * counts are the part not yet written to disk. Counting starts from zero
 * when the worker falls back to memory, because the disk counts cannot be
 * read then.
 */
struct memory_entry {
	struct msg_detection detection;	/* the newest; signature is always set */
	int detected;			/* 1 once detection holds a recorded detection */
	int occurrence_count;
	int intervention_count;
	int pending_occurrences;
	int pending_interventions;
	time_t last_seen;
	time_t expires_at;
	struct memory_entry *next;
};

/* A violation waiting for the database. */
struct pending_violation {
	struct msg_violation violation;
	time_t at;
	struct pending_violation *next;
};

/* The reply sent for one MSG_RECALL_RECORD, for the duplicate check. */
struct recent_message {
	uint64_t message_id;
	uint64_t arrived_ns;
	char signature[SIGNATURE_HEX_LEN + 1];
	struct msg_recall_result result;
};

struct recall {
	char path[PATH_MAX];
	sqlite3 *db;
	dev_t device;			/* identity of the open database file */
	ino_t inode;
	int ttl_hours;
	struct memory_entry *memory;
	struct pending_violation *violations;	/* oldest first */
	struct recent_message recent[RECALL_RECENT_MAX];
	size_t recent_next;
	char last_error[ERROR_MAX];		/* the last failure logged, to log each cause once */
	struct event *retry_timer;
	struct event *cleanup_timer;
};

struct recall *
recall_create(const char *path, int ttl_hours)
{
	struct recall *recall = calloc(1, sizeof *recall);

	if (recall == NULL)
		return NULL;
	snprintf(recall->path, sizeof recall->path, "%s", path);
	recall_set_ttl(recall, ttl_hours);
	return recall;
}

static void
memory_clear(struct recall *recall)
{
	struct memory_entry *entry, *next;
	struct pending_violation *violation, *next_violation;

	for (entry = recall->memory; entry != NULL; entry = next) {
		next = entry->next;
		free(entry);
	}
	recall->memory = NULL;
	for (violation = recall->violations; violation != NULL; violation = next_violation) {
		next_violation = violation->next;
		free(violation);
	}
	recall->violations = NULL;
}

void
recall_free(struct recall *recall)
{
	if (recall == NULL)
		return;
	if (recall->retry_timer != NULL)
		event_free(recall->retry_timer);
	if (recall->cleanup_timer != NULL)
		event_free(recall->cleanup_timer);
	if (recall->db != NULL)
		store_close(recall->db);
	memory_clear(recall);
	free(recall);
}

void
recall_set_ttl(struct recall *recall, int ttl_hours)
{
	if (ttl_hours < 1) {
		log_warn("invalid TTL %d hours from the supervisor; using 24", ttl_hours);
		ttl_hours = 24;
	}
	recall->ttl_hours = ttl_hours;
}

int
recall_on_disk(const struct recall *recall)
{
	return recall->db != NULL;
}

/* Logs MESSAGE as an error unless it repeats the last one logged. */
static void
log_failure(struct recall *recall, const char *message)
{
	if (strcmp(recall->last_error, message) == 0)
		return;
	snprintf(recall->last_error, sizeof recall->last_error, "%s", message);
	log_error("%s; counting in memory and retrying every %d s", message, RECALL_RETRY_SECONDS);
}

static void
recall_disconnect(struct recall *recall, const char *reason)
{
	log_failure(recall, reason);
	if (recall->db != NULL)
		store_close(recall->db);
	recall->db = NULL;
}

/* Returns 1 while PATH is still the file the connection opened. */
static int
file_unchanged(const struct recall *recall)
{
	struct stat st;

	if (stat(recall->path, &st) == -1)
		return 0;
	return st.st_dev == recall->device && st.st_ino == recall->inode;
}

/* Checks that the open database is still the file at PATH, and closes it if not. */
static void
check_file(struct recall *recall)
{
	char reason[ERROR_MAX];

	if (recall->db == NULL || file_unchanged(recall))
		return;
	snprintf(reason, sizeof reason, "database %s was removed or replaced", recall->path);
	recall_disconnect(recall, reason);
}

/* Brings the schema of DB to the newest version. Returns 0, or -1 with a message. */
static int
upgrade_schema(struct recall *recall, sqlite3 *db, char *error, size_t error_size)
{
	const char *latest = store_latest_version();
	char version[16];
	char *output = NULL;
	size_t output_size = 0;
	FILE *out;
	int rc;

	if (store_version(db, version, sizeof version) == -1) {
		snprintf(error, error_size, "failed to read the schema version of %s: %s",
		    recall->path, sqlite3_errmsg(db));
		return -1;
	}
	if (strcmp(version, latest) == 0)
		return 0;
	if (strcmp(version, latest) > 0) {
		snprintf(error, error_size,
		    "database %s has schema version %s, newer than this cake supports (%s)",
		    recall->path, version, latest);
		return -1;
	}

	out = open_memstream(&output, &output_size);
	if (out == NULL) {
		snprintf(error, error_size, "failed to upgrade %s: %s", recall->path, strerror(errno));
		return -1;
	}
	rc = store_upgrade(db, out, error, error_size);
	fclose(out);
	free(output);
	if (rc < 0)
		return -1;
	log_info("Upgraded %s from schema version %s to %s", recall->path,
	    version[0] != '\0' ? version : "none", latest);
	return 0;
}

static int
open_database(struct recall *recall, char *error, size_t error_size)
{
	struct stat st;
	sqlite3 *db;

	if (store_open(recall->path, &db, error, error_size) == -1)
		return -1;
	sqlite3_busy_timeout(db, RECALL_BUSY_TIMEOUT_MS);
	/* The retry timer checkpoints, so no record waits for the fsync of one. */
	sqlite3_wal_autocheckpoint(db, 0);

	if (upgrade_schema(recall, db, error, error_size) == -1) {
		store_close(db);
		return -1;
	}
	if (stat(recall->path, &st) == -1) {
		snprintf(error, error_size, "database %s disappeared after opening: %s",
		    recall->path, strerror(errno));
		store_close(db);
		return -1;
	}
	recall->db = db;
	recall->device = st.st_dev;
	recall->inode = st.st_ino;
	return 0;
}

/* Writes one memory entry's pending counts. Returns 0, or STORE_ERROR with a message. */
static int
write_back_entry(struct recall *recall, struct memory_entry *entry, time_t now, char *error,
    size_t error_size)
{
	struct store_record_request request;
	struct store_counts counts;
	int rc;

	if (entry->expires_at <= now)
		return 0;

	if (entry->detected && entry->pending_occurrences > 0) {
		memset(&request, 0, sizeof request);
		request.detection = &entry->detection;
		request.ttl_hours = recall->ttl_hours;
		request.now = entry->last_seen;
		request.occurrences = entry->pending_occurrences;
		request.interventions = entry->pending_interventions;
		rc = store_record_at(recall->db, &request, &counts, error, error_size);
		if (rc == STORE_INVALID)
			log_warn("dropping counts kept in memory: %s", error);
		return rc == STORE_ERROR ? STORE_ERROR : 0;
	}

	for (; entry->pending_interventions > 0; entry->pending_interventions--) {
		rc = store_mark_intervention(recall->db, entry->detection.signature, error,
		    error_size);
		if (rc == STORE_ERROR)
			return STORE_ERROR;
		if (rc == STORE_INVALID) {
			log_warn("dropping interventions kept in memory: %s", error);
			break;
		}
	}
	return 0;
}

/*
 * Writes the counts and violations kept in memory to the open database,
 * then frees them. On a database error the connection is closed and
 * what was not written stays in memory. Returns 0 or -1.
 */
static int
write_back(struct recall *recall)
{
	struct memory_entry *entry;
	struct pending_violation *violation;
	time_t now = time(NULL);
	char error[ERROR_MAX];
	int signatures = 0, violations = 0;
	int rc;

	for (entry = recall->memory; entry != NULL; entry = entry->next) {
		if (entry->pending_occurrences == 0 && entry->pending_interventions == 0)
			continue;
		if (write_back_entry(recall, entry, now, error, sizeof error) == STORE_ERROR) {
			recall_disconnect(recall, error);
			return -1;
		}
		entry->pending_occurrences = 0;
		entry->pending_interventions = 0;
		signatures++;
	}

	while ((violation = recall->violations) != NULL) {
		rc = store_record_violation(recall->db, violation->violation.pattern_type,
		    violation->violation.details, violation->violation.prevented, violation->at,
		    error, sizeof error);
		if (rc == STORE_ERROR) {
			recall_disconnect(recall, error);
			return -1;
		}
		if (rc == STORE_INVALID)
			log_warn("dropping a violation kept in memory: %s", error);
		recall->violations = violation->next;
		free(violation);
		violations++;
	}

	memory_clear(recall);
	if (signatures > 0 || violations > 0)
		log_info("Wrote %d signatures and %d violations counted in memory to %s",
		    signatures, violations, recall->path);
	return 0;
}

int
recall_connect(struct recall *recall)
{
	char error[ERROR_MAX];
	int was_in_memory = recall->last_error[0] != '\0';

	check_file(recall);
	if (recall->db != NULL)
		return 1;

	if (open_database(recall, error, sizeof error) == -1) {
		log_failure(recall, error);
		return 0;
	}
	if (write_back(recall) == -1)
		return 0;

	recall->last_error[0] = '\0';
	if (was_in_memory)
		log_info("Database %s usable again; recording on disk", recall->path);
	else
		log_info("Connected to %s", recall->path);
	return 1;
}

static struct memory_entry *
memory_find(struct recall *recall, const char *signature)
{
	for (struct memory_entry *entry = recall->memory; entry != NULL; entry = entry->next) {
		if (strcmp(entry->detection.signature, signature) == 0)
			return entry;
	}
	return NULL;
}

static struct memory_entry *
memory_get(struct recall *recall, const char *signature)
{
	struct memory_entry *entry = memory_find(recall, signature);

	if (entry != NULL)
		return entry;
	entry = calloc(1, sizeof *entry);
	if (entry == NULL) {
		log_error("out of memory; signature %.12s is not counted", signature);
		return NULL;
	}
	snprintf(entry->detection.signature, sizeof entry->detection.signature, "%s", signature);
	entry->next = recall->memory;
	recall->memory = entry;
	return entry;
}

/* Counts the unexpired memory entries of ERROR_TYPE other than SIGNATURE. */
static int
memory_similar(struct recall *recall, const struct msg_detection *detection, time_t now)
{
	int count = 0;

	for (struct memory_entry *entry = recall->memory; entry != NULL; entry = entry->next) {
		if (count == RECALL_SIMILAR_MAX)
			break;
		if (entry->detected && entry->expires_at > now &&
		    strcmp(entry->detection.signature, detection->signature) != 0 &&
		    strcmp(entry->detection.error_type, detection->error_type) == 0)
			count++;
	}
	return count;
}

static void
memory_record(struct recall *recall, const struct msg_detection *detection, time_t now,
    struct msg_recall_result *result)
{
	struct memory_entry *entry = memory_get(recall, detection->signature);

	result->stored = 0;
	result->occurrence_count = 1;
	if (entry == NULL)
		return;

	if (entry->expires_at <= now) {
		entry->occurrence_count = 0;
		entry->intervention_count = 0;
		entry->pending_occurrences = 0;
		entry->pending_interventions = 0;
	}
	entry->detection = *detection;
	entry->detected = 1;
	entry->occurrence_count++;
	entry->pending_occurrences++;
	entry->last_seen = now;
	entry->expires_at = now + (time_t)recall->ttl_hours * 3600;

	result->occurrence_count = entry->occurrence_count;
	result->intervention_count = entry->intervention_count;
	result->similar_count = memory_similar(recall, detection, now);
}

/* Counts the unexpired rows of the detection's error type with another signature. */
static int
disk_similar(struct recall *recall, const struct msg_detection *detection, time_t now)
{
	struct store_similar rows[RECALL_SIMILAR_MAX + 1];
	char error[ERROR_MAX];
	int found, count = 0;

	found = store_find_similar(recall->db, detection->error_type, detection->file_path, now,
	    rows, RECALL_SIMILAR_MAX + 1, error, sizeof error);
	if (found < 0) {
		log_warn("%s", error);
		return 0;
	}
	for (int i = 0; i < found && count < RECALL_SIMILAR_MAX; i++) {
		if (strcmp(rows[i].signature, detection->signature) != 0)
			count++;
	}
	return count;
}

static const struct recent_message *
recent_find(const struct recall *recall, uint64_t message_id,
    const struct msg_detection *detection)
{
	for (size_t i = 0; i < RECALL_RECENT_MAX; i++) {
		const struct recent_message *recent = &recall->recent[i];

		if (recent->message_id == message_id && message_id != 0 &&
		    recent->arrived_ns == detection->arrived_ns &&
		    strcmp(recent->signature, detection->signature) == 0)
			return recent;
	}
	return NULL;
}

static void
recent_add(struct recall *recall, uint64_t message_id, const struct msg_detection *detection,
    const struct msg_recall_result *result)
{
	struct recent_message *recent = &recall->recent[recall->recent_next];

	if (message_id == 0)
		return;
	recent->message_id = message_id;
	recent->arrived_ns = detection->arrived_ns;
	snprintf(recent->signature, sizeof recent->signature, "%s", detection->signature);
	recent->result = *result;
	recall->recent_next = (recall->recent_next + 1) % RECALL_RECENT_MAX;
}

void
recall_record(struct recall *recall, uint64_t message_id, const struct msg_detection *detection,
    time_t now, struct msg_recall_result *result)
{
	const struct recent_message *recent = recent_find(recall, message_id, detection);
	struct store_record_request request;
	struct store_counts counts;
	char error[ERROR_MAX];
	int rc;

	memset(result, 0, sizeof *result);
	if (recent != NULL) {
		*result = recent->result;
		log_info("Message %llu for %.12s was already recorded; not counting it again",
		    (unsigned long long)message_id, detection->signature);
		return;
	}

	check_file(recall);
	if (recall->db != NULL) {
		memset(&request, 0, sizeof request);
		request.message_id = message_id;
		request.detection = detection;
		request.ttl_hours = recall->ttl_hours;
		request.now = now;
		request.occurrences = 1;
		rc = store_record_at(recall->db, &request, &counts, error, sizeof error);
		if (rc == STORE_INVALID) {
			log_error("cannot record message %llu: %s", (unsigned long long)message_id,
			    error);
			result->occurrence_count = 1;
			return;
		}
		if (rc == STORE_ERROR)
			recall_disconnect(recall, error);
	}

	if (recall->db != NULL) {
		result->stored = 1;
		result->occurrence_count = counts.occurrence_count;
		result->intervention_count = counts.intervention_count;
		if (counts.duplicate) {
			log_info("Message %llu for %.12s was already recorded; not counting it again",
			    (unsigned long long)message_id, detection->signature);
			return;
		}
		result->similar_count = disk_similar(recall, detection, now);
	} else {
		memory_record(recall, detection, now, result);
	}
	recent_add(recall, message_id, detection, result);

	log_info("Recorded %s %.12s (occurrence %d%s)", detection->error_type,
	    detection->signature, result->occurrence_count, result->stored ? "" : ", in memory");
	if (result->similar_count > 0)
		log_info("Seen %d other %s signatures within the TTL", result->similar_count,
		    detection->error_type);
}

void
recall_intervened(struct recall *recall, const char *signature, time_t now)
{
	struct memory_entry *entry;
	char error[ERROR_MAX];
	int rc;

	check_file(recall);
	if (recall->db != NULL) {
		rc = store_mark_intervention(recall->db, signature, error, sizeof error);
		if (rc == 0)
			return;
		if (rc == STORE_INVALID) {
			log_warn("%s", error);
			return;
		}
		recall_disconnect(recall, error);
	}

	entry = memory_get(recall, signature);
	if (entry == NULL)
		return;
	if (!entry->detected)
		entry->expires_at = now + (time_t)recall->ttl_hours * 3600;
	entry->intervention_count++;
	entry->pending_interventions++;
}

void
recall_violation(struct recall *recall, const struct msg_violation *violation, time_t now)
{
	struct pending_violation *pending, **tail;
	char pattern_type[VIOLATION_TYPE_MAX + 1];
	char details[DETECTION_TEXT_MAX + 1];
	char error[ERROR_MAX];
	int rc;

	snprintf(pattern_type, sizeof pattern_type, "%.*s", (int)sizeof violation->pattern_type,
	    violation->pattern_type);
	snprintf(details, sizeof details, "%.*s", (int)sizeof violation->details,
	    violation->details);

	check_file(recall);
	if (recall->db != NULL) {
		rc = store_record_violation(recall->db, pattern_type, details, violation->prevented,
		    now, error, sizeof error);
		if (rc == 0) {
			log_info("Recorded %s violation: %s", pattern_type, details);
			return;
		}
		if (rc == STORE_INVALID) {
			log_error("cannot record violation: %s", error);
			return;
		}
		recall_disconnect(recall, error);
	}

	pending = calloc(1, sizeof *pending);
	if (pending == NULL) {
		log_error("out of memory; the %s violation is lost", pattern_type);
		return;
	}
	pending->violation = *violation;
	pending->at = now;
	for (tail = &recall->violations; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = pending;
	log_info("Recorded %s violation in memory: %s", pattern_type, details);
}

int
recall_cleanup(struct recall *recall, time_t now)
{
	struct memory_entry **link = &recall->memory;
	struct memory_entry *entry;
	char error[ERROR_MAX];
	int removed = 0, expired = 0;

	while ((entry = *link) != NULL) {
		if (entry->expires_at <= now) {
			*link = entry->next;
			free(entry);
			expired++;
		} else {
			link = &entry->next;
		}
	}

	check_file(recall);
	if (recall->db != NULL && store_cleanup(recall->db, now, &removed, error,
	    sizeof error) != 0)
		recall_disconnect(recall, error);

	if (removed + expired > 0)
		log_info("Removed %d expired rows from %s and %d from memory", removed,
		    recall->path, expired);
	return removed + expired;
}

/* Reopens the database after a failure, or checkpoints the WAL while it is open. */
static void
retry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct recall *recall = arg;
	char error[ERROR_MAX];

	if (recall->db == NULL) {
		recall_connect(recall);
		return;
	}
	check_file(recall);
	if (recall->db != NULL && store_checkpoint(recall->db, error, sizeof error) != 0)
		recall_disconnect(recall, error);
}

static void
cleanup_cb(evutil_socket_t fd, short events, void *arg)
{
	recall_cleanup(arg, time(NULL));
}

/* Creates a timer calling CALLBACK every SECONDS. Returns NULL after logging. */
static struct event *
start_timer(struct event_base *base, int seconds, event_callback_fn callback,
    struct recall *recall)
{
	struct timeval interval = { seconds, 0 };
	struct event *timer = event_new(base, -1, EV_PERSIST, callback, recall);

	if (timer == NULL || event_add(timer, &interval) == -1) {
		log_error("failed to start a %d s timer", seconds);
		if (timer != NULL)
			event_free(timer);
		return NULL;
	}
	return timer;
}

static int
recall_handle(struct proc *proc, const struct ipc_msg *msg, void *arg)
{
	struct recall *recall = arg;
	struct msg_recall_result result;
	struct msg_violation violation;

	if (msg == NULL)
		return 0;

	switch (msg->header.type) {
	case MSG_RECALL_RECORD:
		recall_record(recall, msg->header.id, &msg->payload.detection, time(NULL), &result);
		return proc_send(proc, MSG_RECALL_RESULT, msg->header.id, &result, sizeof result);
	case MSG_RECALL_INTERVENED:
		recall_intervened(recall, msg->payload.signature.signature, time(NULL));
		return 0;
	case MSG_RECALL_VIOLATION:
		memcpy(&violation, msg->payload.bytes, sizeof violation);
		recall_violation(recall, &violation, time(NULL));
		return 0;
	default:
		log_error("unexpected %s from the supervisor", msg_type_name(msg->header.type));
		return -1;
	}
}

static int
recall_welcome(struct proc *proc, const struct msg_welcome *welcome, void *arg)
{
	struct recall *recall = arg;
	struct event_base *base = proc_event_base(proc);

	recall_set_ttl(recall, welcome->ttl_hours);
	recall_connect(recall);
	recall_cleanup(recall, time(NULL));

	recall->retry_timer = start_timer(base, RECALL_RETRY_SECONDS, retry_cb, recall);
	recall->cleanup_timer = start_timer(base, RECALL_CLEANUP_SECONDS, cleanup_cb, recall);
	return 0;
}

int
recall_main(int argc, char **argv)
{
	struct proc_options options;
	struct recall *recall;
	int status;

	log_info("starting (pid %ld)", (long)getpid());
	if (argc < 2) {
		log_error("missing the database path argument");
		return EXIT_FAILURE;
	}

	recall = recall_create(argv[1], 24);
	if (recall == NULL) {
		log_error("out of memory");
		return EXIT_FAILURE;
	}

	memset(&options, 0, sizeof options);
	options.role = "recall";
	options.handler = recall_handle;
	options.on_welcome = recall_welcome;
	options.arg = recall;
	status = proc_run(&options);

	recall_free(recall);
	return status;
}
