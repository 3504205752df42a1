/*
 * The recall worker; see recall.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "recall.h"
#include "store.h"

/*
 * Counts kept while the database cannot be written. They are not merged
 * back when the database returns, so a count may restart after an outage.
 */
struct memory_entry {
	char signature[SIGNATURE_HEX_LEN + 1];
	int occurrence_count;
	int intervention_count;
	struct memory_entry *next;
};

struct recall {
	const char *path;
	sqlite3 *db;
	int ttl_hours;
	struct memory_entry *memory;
};

static struct memory_entry *
memory_get(struct recall *recall, const char *signature)
{
	struct memory_entry *entry;

	for (entry = recall->memory; entry != NULL; entry = entry->next) {
		if (strcmp(entry->signature, signature) == 0)
			return entry;
	}
	entry = calloc(1, sizeof *entry);
	if (entry == NULL)
		return NULL;
	snprintf(entry->signature, sizeof entry->signature, "%s", signature);
	entry->next = recall->memory;
	recall->memory = entry;
	return entry;
}

/* Opens the database if it is closed. Returns 0 when it is usable. */
static int
recall_connect(struct recall *recall)
{
	char error[512];

	if (recall->db != NULL)
		return 0;
	if (store_open(recall->path, &recall->db, error, sizeof error) < 0) {
		log_error("%s; counting in memory until it can be opened", error);
		return -1;
	}
	log_info("connected to %s", recall->path);
	return 0;
}

static int
recall_record(struct recall *recall, struct proc *proc, const struct ipc_msg *msg)
{
	const struct msg_detection *detection = &msg->payload.detection;
	struct msg_recall_result result;
	struct store_counts counts;
	char error[512];

	memset(&result, 0, sizeof result);
	if (recall_connect(recall) == 0 &&
	    store_record(recall->db, detection, recall->ttl_hours, &counts, error, sizeof error) == 0) {
		result.stored = 1;
		result.occurrence_count = counts.occurrence_count;
		result.intervention_count = counts.intervention_count;
	} else {
		struct memory_entry *entry = memory_get(recall, detection->signature);

		if (recall->db != NULL)
			log_error("cannot record %.12s: %s; counting in memory", detection->signature, error);
		if (entry != NULL) {
			entry->occurrence_count++;
			result.occurrence_count = entry->occurrence_count;
			result.intervention_count = entry->intervention_count;
		}
	}

	log_info("Recorded %s %.12s (occurrence %d)", detection->error_type, detection->signature,
	    result.occurrence_count);
	return proc_send(proc, MSG_RECALL_RESULT, msg->header.id, &result, sizeof result);
}

static int
recall_intervened(struct recall *recall, const struct ipc_msg *msg)
{
	const char *signature = msg->payload.signature.signature;
	struct memory_entry *entry;
	char error[512];

	if (recall_connect(recall) == 0 &&
	    store_mark_intervention(recall->db, signature, error, sizeof error) == 0)
		return 0;

	if (recall->db != NULL)
		log_error("cannot count the intervention on %.12s: %s", signature, error);
	entry = memory_get(recall, signature);
	if (entry != NULL)
		entry->intervention_count++;
	return 0;
}

static int
recall_handle(struct proc *proc, const struct ipc_msg *msg, void *arg)
{
	struct recall *recall = arg;

	if (msg == NULL)
		return 0;

	switch (msg->header.type) {
	case MSG_RECALL_RECORD:
		return recall_record(recall, proc, msg);
	case MSG_RECALL_INTERVENED:
		return recall_intervened(recall, msg);
	default:
		log_error("unexpected %s from the supervisor", msg_type_name(msg->header.type));
		return -1;
	}
}

static int
recall_welcome(struct proc *proc, const struct msg_welcome *welcome, void *arg)
{
	struct recall *recall = arg;

	recall->ttl_hours = welcome->ttl_hours;
	recall_connect(recall);
	return 0;
}

int
recall_main(int argc, char **argv)
{
	struct proc_options options;
	struct recall recall;
	struct memory_entry *entry, *next;
	int status;

	log_info("starting (pid %ld)", (long)getpid());
	if (argc < 2) {
		log_error("missing the database path argument");
		return EXIT_FAILURE;
	}

	memset(&recall, 0, sizeof recall);
	recall.path = argv[1];
	recall.ttl_hours = 24;

	memset(&options, 0, sizeof options);
	options.role = "recall";
	options.handler = recall_handle;
	options.on_welcome = recall_welcome;
	options.arg = &recall;
	status = proc_run(&options);

	if (recall.db != NULL)
		sqlite3_close(recall.db);
	for (entry = recall.memory; entry != NULL; entry = next) {
		next = entry->next;
		free(entry);
	}
	return status;
}
