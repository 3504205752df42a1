/*
 * The recall worker: the only writer of recall.db while CAKE runs. It
 * records each detected signature and returns how often it has been seen,
 * counts delivered interventions and stores pattern violations.
 *
 * When the database cannot be used (locked past the retries, corrupt,
 * replaced, its directory gone, disk full) the worker logs an error and
 * keeps counting in memory. A timer retries the database every
 * RECALL_RETRY_SECONDS; once it opens, the counts kept in memory are
 * written back and recording continues on disk. While the database is open
 * the same timer checkpoints the WAL (automatic checkpoints are off, so no
 * record waits for one). A second timer deletes expired rows every
 * RECALL_CLEANUP_SECONDS.
 *
 * The functions below are the worker's logic without the channel, so tests
 * can drive it on real files.
 */
#ifndef CAKE_RECALL_H
#define CAKE_RECALL_H

#include <stdint.h>
#include <time.h>

#include "proto.h"

#define RECALL_RETRY_SECONDS 5
#define RECALL_CLEANUP_SECONDS 600
/* Busy timeout of the worker's connection; store.c retries a busy write 4 times. */
#define RECALL_BUSY_TIMEOUT_MS 250
/* Message ids remembered in memory for the duplicate check (the database keeps more). */
#define RECALL_RECENT_MAX 256
/* Rows read for msg_recall_result.similar_count. */
#define RECALL_SIMILAR_MAX 8

struct recall;

/*
 * Creates the worker state for the database at PATH without opening it.
 * Returns NULL when out of memory.
 */
struct recall *recall_create(const char *path, int ttl_hours);
void recall_free(struct recall *recall);

void recall_set_ttl(struct recall *recall, int ttl_hours);

/*
 * Opens the database unless it is open, upgrading its schema when it is
 * older than this build, and writes back the counts kept in memory. An open
 * database whose file was removed or replaced is closed first. Returns 1
 * when recording goes to disk, 0 when it stays in memory.
 */
int recall_connect(struct recall *recall);

/* Returns 1 while the database is open, 0 while counting in memory. */
int recall_on_disk(const struct recall *recall);

/*
 * Records DETECTION, sent as message MESSAGE_ID, at NOW and fills RESULT. A
 * message id seen before with the same signature and arrived_ns gets the
 * reply it got the first time, without counting.
 */
void recall_record(struct recall *recall, uint64_t message_id,
    const struct msg_detection *detection, time_t now, struct msg_recall_result *result);

/* Counts a delivered intervention on SIGNATURE at NOW. */
void recall_intervened(struct recall *recall, const char *signature, time_t now);

/* Stores VIOLATION as a pattern_violations row with timestamp NOW. */
void recall_violation(struct recall *recall, const struct msg_violation *violation, time_t now);

/* Deletes the rows (and memory entries) expired at NOW. Returns the number removed. */
int recall_cleanup(struct recall *recall, time_t now);

/* Entry point of the process started as "cake: recall DATABASE". Returns the exit status. */
int recall_main(int argc, char **argv);

#endif
