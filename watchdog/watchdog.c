/*
 * The watchdog worker; see watchdog.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"
#include "log.h"
#include "proc.h"
#include "ring.h"
#include "rules.h"
#include "watchdog.h"

#define READ_CHUNK 65536

struct watchdog;

struct stream_reader {
	struct watchdog *owner;
	enum stream_id stream;
	struct ring *ring;
	struct linebuf lines;
	struct rules_context context;
	uint64_t cursor;		/* next byte to read */
	uint64_t line_end;		/* ring position just past the line being matched */
	uint64_t arrived_ns;		/* arrival time of the bytes being read */
};

struct watchdog {
	struct proc *proc;
	struct rules *rules;
	struct stream_reader readers[STREAM_COUNT];
	uint64_t request_id;		/* id to put on detections: 0 for stream data */
	unsigned detections;		/* sent for the current MSG_ANALYZE */
	int failed;
};

static const char *const stream_names[STREAM_COUNT] = { "stdout", "stderr" };

/* Sends DETECTION, found on READER's stream, to the supervisor. */
static void
watchdog_report(struct stream_reader *reader, struct msg_detection *detection)
{
	struct watchdog *watchdog = reader->owner;

	detection->stream = reader->stream;
	detection->arrived_ns = reader->arrived_ns;
	detection->stream_offset = reader->line_end;
	log_debug("%s matched %s on %s", detection->rule_id, detection->error_type,
	    stream_names[reader->stream]);
	if (proc_send(watchdog->proc, MSG_DETECTION, watchdog->request_id, detection,
	    sizeof *detection) < 0) {
		log_error("cannot send MSG_DETECTION: %s", strerror(errno));
		watchdog->failed = 1;
		return;
	}
	watchdog->detections++;
}

/* Matches one line and reports a detection; called by the line splitter. */
static void
watchdog_line(const char *line, size_t length, void *arg)
{
	struct stream_reader *reader = arg;
	struct msg_detection detection;

	if (rules_match(reader->owner->rules, &reader->context, line, length, &detection))
		watchdog_report(reader, &detection);
}

/* Length of DATA up to and including its first line end, or LENGTH when it has none. */
static size_t
segment_length(const char *data, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		if (data[i] == '\n' || data[i] == '\r')
			return i + 1;
	}
	return length;
}

/*
 * Reads the ring up to the position in DATA. Bytes go to the line splitter
 * one line at a time, so each detection carries the ring position of its
 * line's end: the supervisor drops a detection whose position it has seen,
 * which makes re-reading after a crash harmless.
 */
static int
watchdog_read_ring(struct watchdog *watchdog, const struct msg_ring_data *data)
{
	struct stream_reader *reader;
	struct msg_ring_data commit;
	static char chunk[READ_CHUNK];
	uint64_t committed = 0;
	size_t n;

	if (data->stream >= STREAM_COUNT) {
		log_error("MSG_RING_DATA names stream %u, which does not exist", data->stream);
		return -1;
	}
	reader = &watchdog->readers[data->stream];
	reader->arrived_ns = data->arrived_ns;

	while (reader->cursor < data->position) {
		size_t want = (size_t)(data->position - reader->cursor);
		size_t done = 0;

		if (want > sizeof chunk)
			want = sizeof chunk;
		n = ring_peek(reader->ring, reader->cursor, chunk, want);
		if (n == 0)
			break;

		while (done < n) {
			size_t length = segment_length(chunk + done, n - done);
			char last = chunk[done + length - 1];

			reader->line_end = reader->cursor + done + length;
			linebuf_feed(&reader->lines, chunk + done, length, watchdog_line, reader);
			done += length;
			if (last == '\n' || last == '\r')
				committed = reader->line_end;
		}
		reader->cursor += n;
	}
	if (watchdog->failed)
		return -1;

	/*
	 * Only whole lines are committed: the bytes of a partial line stay in
	 * the ring, so a replacement watchdog reads the line from its start.
	 * A line longer than the ring is committed as it is read, or the
	 * writer would wait for ever.
	 */
	if (committed == 0 && ring_used(reader->ring) == ring_capacity(reader->ring))
		committed = reader->cursor;
	if (committed == 0)
		return 0;

	ring_commit(reader->ring, committed);
	memset(&commit, 0, sizeof commit);
	commit.stream = data->stream;
	commit.position = committed;
	return proc_send(watchdog->proc, MSG_RING_COMMIT, 0, &commit, sizeof commit);
}

/* Runs a text from `cake test-intervention` through the rules, outside the streams. */
static int
watchdog_analyze(struct watchdog *watchdog, const struct ipc_msg *msg)
{
	struct stream_reader reader;
	struct msg_detection detection;
	struct msg_analyze_done done;
	size_t length = msg->payload.text.length;

	if (length >= sizeof msg->payload.text.text) {
		log_error("MSG_ANALYZE text length %zu exceeds its buffer", length);
		return -1;
	}

	/* A reader of its own, so the streams' partial lines and contexts stay apart. */
	memset(&reader, 0, sizeof reader);
	reader.owner = watchdog;
	reader.stream = STREAM_STDOUT;
	linebuf_init(&reader.lines);
	rules_context_init(&reader.context);
	watchdog->request_id = msg->header.id;
	watchdog->detections = 0;

	linebuf_feed(&reader.lines, msg->payload.text.text, length, watchdog_line, &reader);
	linebuf_flush(&reader.lines, watchdog_line, &reader);
	/* The text is complete, so errors held for a location line that never came are reported now. */
	while (rules_flush(watchdog->rules, &reader.context, &detection))
		watchdog_report(&reader, &detection);
	watchdog->request_id = 0;

	memset(&done, 0, sizeof done);
	done.detections = watchdog->detections;
	return proc_send(watchdog->proc, MSG_ANALYZE_DONE, msg->header.id, &done, sizeof done);
}

static int
watchdog_handle(struct proc *proc, const struct ipc_msg *msg, void *arg)
{
	struct watchdog *watchdog = arg;

	if (msg == NULL)
		return 0;
	watchdog->proc = proc;

	switch (msg->header.type) {
	case MSG_RING_DATA:
		return watchdog_read_ring(watchdog, &msg->payload.ring);
	case MSG_ANALYZE:
		return watchdog_analyze(watchdog, msg);
	default:
		log_error("unexpected %s from the supervisor", msg_type_name(msg->header.type));
		return -1;
	}
}

static int
watchdog_attach(struct watchdog *watchdog)
{
	static const int fds[STREAM_COUNT] = { CAKE_RING_STDOUT_FD, CAKE_RING_STDERR_FD };

	for (int i = 0; i < STREAM_COUNT; i++) {
		struct stream_reader *reader = &watchdog->readers[i];

		reader->owner = watchdog;
		reader->stream = (enum stream_id)i;
		reader->ring = ring_attach(fds[i]);
		if (reader->ring == NULL) {
			log_error("cannot map the %s ring on fd %d: %s", stream_names[i], fds[i],
			    strerror(errno));
			return -1;
		}
		linebuf_init(&reader->lines);
		rules_context_init(&reader->context);
		reader->cursor = ring_read_position(reader->ring);
		log_info("resuming %s at offset %llu", stream_names[i],
		    (unsigned long long)reader->cursor);
	}
	return 0;
}

int
watchdog_main(int argc, char **argv)
{
	struct rules_options rules_options = { NULL, NULL };
	struct proc_options options;
	struct watchdog watchdog;
	char error[1024];
	int status;

	log_info("starting (pid %ld)", (long)getpid());

	memset(&watchdog, 0, sizeof watchdog);
	/* argv[1], when present, is the config file whose watchdog.patterns apply. */
	rules_options.config_path = argc > 1 ? argv[1] : NULL;
	watchdog.rules = rules_load(&rules_options, error, sizeof error);
	if (watchdog.rules == NULL) {
		log_error("cannot compile the detection rules: %s", error);
		return EXIT_FAILURE;
	}
	log_info("compiled %zu detection rules", rules_count(watchdog.rules));

	if (watchdog_attach(&watchdog) < 0)
		return EXIT_FAILURE;

	memset(&options, 0, sizeof options);
	options.role = "watchdog";
	options.handler = watchdog_handle;
	options.arg = &watchdog;
	status = proc_run(&options);

	for (int i = 0; i < STREAM_COUNT; i++)
		ring_free_ring(watchdog.readers[i].ring);
	rules_free(watchdog.rules);
	return status;
}
