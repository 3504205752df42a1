/*
 * Message protocol between the supervisor and its workers (watchdog,
 * operator, recall).
 *
 * Every message is a fixed header followed by a payload whose size is fixed
 * per type. Both ends check the version and the size of every message on
 * arrival (see ipc.h); a mismatch is a protocol error and closes the channel.
 * Types are numbered in bands per peer. A retired number is never reused.
 *
 * Adapters do not use this protocol: they speak the line protocol described
 * in docs/adapters.md.
 */
#ifndef CAKE_PROTO_H
#define CAKE_PROTO_H

#include <stdint.h>

#define CAKE_PROTO_VERSION 1

/* The channel to the supervisor is always this fd in a worker. */
#define CAKE_CHANNEL_FD 3
/* The watchdog also inherits the stdout and stderr rings on these fds. */
#define CAKE_RING_STDOUT_FD 4
#define CAKE_RING_STDERR_FD 5

enum msg_type {
	/* 1-15: session, both directions */
	MSG_HELLO = 1,		/* worker -> supervisor: struct msg_hello */
	MSG_WELCOME = 2,	/* supervisor -> worker: struct msg_welcome */
	MSG_HEARTBEAT = 3,	/* supervisor -> worker: no payload */
	MSG_HEARTBEAT_ACK = 4,	/* worker -> supervisor: no payload */
	MSG_SHUTDOWN = 5,	/* supervisor -> worker: no payload */

	/* 16-31: supervisor <-> watchdog */
	MSG_RING_DATA = 16,	/* -> watchdog: struct msg_ring_data */
	MSG_RING_COMMIT = 17,	/* watchdog ->: struct msg_ring_data */
	MSG_DETECTION = 18,	/* watchdog ->: struct msg_detection */
	MSG_ANALYZE = 19,	/* -> watchdog: struct msg_text */
	MSG_ANALYZE_DONE = 20,	/* watchdog ->: struct msg_analyze_done */

	/* 32-47: supervisor <-> recall */
	MSG_RECALL_RECORD = 32,	/* -> recall: struct msg_detection */
	MSG_RECALL_RESULT = 33,	/* recall ->: struct msg_recall_result */
	MSG_RECALL_INTERVENED = 34, /* -> recall: struct msg_signature */
	MSG_RECALL_VIOLATION = 35, /* -> recall: struct msg_violation */

	/* 48-63: supervisor <-> operator */
	MSG_RENDER = 48,	/* -> operator: struct msg_detection */
	MSG_RENDERED = 49,	/* operator ->: struct msg_text */
};

enum stream_id {
	STREAM_STDOUT = 0,
	STREAM_STDERR = 1,
	STREAM_COUNT = 2,
};

enum severity {
	SEVERITY_LOW = 0,
	SEVERITY_MEDIUM = 1,
	SEVERITY_HIGH = 2,
	SEVERITY_CRITICAL = 3,
};

struct msg_header {
	uint16_t version;	/* CAKE_PROTO_VERSION */
	uint16_t type;		/* enum msg_type */
	uint32_t length;	/* payload bytes after this header */
	uint64_t id;		/* request id; replies carry the id of the request */
};

#define ROLE_NAME_MAX 16

struct msg_hello {
	uint32_t proto_version;
	uint32_t pid;
	char role[ROLE_NAME_MAX];	/* "watchdog", "operator", "recall" */
};

struct msg_welcome {
	uint32_t proto_version;
	int32_t log_level;		/* enum log_level */
	int32_t strictness;		/* enum strictness */
	int32_t ttl_hours;
};

struct msg_ring_data {
	uint32_t stream;	/* enum stream_id */
	uint32_t pad;
	uint64_t position;	/* write position (RING_DATA) or committed read position (RING_COMMIT) */
	uint64_t arrived_ns;	/* CLOCK_MONOTONIC time the newest bytes entered the ring */
};

#define DETECTION_TYPE_MAX 32
#define DETECTION_RULE_MAX 48
#define DETECTION_TEXT_MAX 256
#define DETECTION_EXCERPT_MAX 512
#define SIGNATURE_HEX_LEN 64

/*
 * One classified error. Strings are NUL-terminated within their arrays and
 * may be empty.
 */
struct msg_detection {
	char rule_id[DETECTION_RULE_MAX];	/* "python.module_not_found" */
	char error_type[DETECTION_TYPE_MAX];	/* "ImportError" */
	char signature[SIGNATURE_HEX_LEN + 1];	/* SHA-256 of the normalized error, hex */
	char pad[7];
	char file_path[DETECTION_TEXT_MAX];	/* file named by the error, if any */
	char fix[DETECTION_TEXT_MAX];		/* "pip install requests" */
	char reference[DETECTION_TEXT_MAX];	/* "requirements.txt" */
	char excerpt[DETECTION_EXCERPT_MAX];	/* the matched line, ANSI removed */
	int32_t severity;			/* enum severity */
	int32_t line_number;			/* 0 when unknown */
	int32_t stream;				/* enum stream_id */
	int32_t signature_version;		/* normalization version */
	double confidence;			/* 0.0 - 1.0 */
	uint64_t arrived_ns;			/* CLOCK_MONOTONIC time the line arrived */
	/*
	 * How often recall has seen the signature, set by the supervisor
	 * before MSG_RENDER; 0 when unknown. The operator words a repeat
	 * differently (see operator/voice.h).
	 */
	int32_t occurrence_count;
	int32_t pad2;
	uint64_t stream_offset;			/* ring position just past the line; 0 outside the streams */
};

#define MSG_TEXT_MAX 4096

#define VOICE_TYPE_NAME_MAX 32

struct msg_text {
	uint32_t length;		/* bytes used in text, without the NUL */
	char text[MSG_TEXT_MAX];	/* NUL-terminated */
	/* MSG_RENDERED only, zero otherwise; see operator/voice.h. */
	char message_type[VOICE_TYPE_NAME_MAX];	/* "ERROR_CORRECTION", "REPEAT_ERROR", ... */
	int32_t voice_form;		/* enum voice_form: 0 full, 1 simplified, 2 safe default */
	double voice_score;		/* voice gate similarity of text, 0.0 - 1.0 */
};

struct msg_analyze_done {
	uint32_t detections;	/* MSG_DETECTION messages sent for this request */
};

struct msg_recall_result {
	int32_t stored;			/* 1 on disk, 0 kept in memory only */
	int32_t occurrence_count;	/* including this occurrence */
	int32_t intervention_count;
	int32_t similar_count;		/* other unexpired signatures of the same error type, at most 8 */
};

struct msg_signature {
	char signature[SIGNATURE_HEX_LEN + 1];
	char pad[7];
};

#define VIOLATION_TYPE_MAX 32

/* One pattern_violations row, such as a signature whose strikes ran out. */
struct msg_violation {
	char pattern_type[VIOLATION_TYPE_MAX];	/* "escalation" */
	char details[DETECTION_TEXT_MAX];
	int32_t prevented;			/* 1 when CAKE stopped the action */
	int32_t pad;
};

/* Returns the name of a message type for logs ("MSG_DETECTION"), or "MSG_UNKNOWN". */
const char *msg_type_name(uint16_t type);

/*
 * Returns the payload size a message type must have, or -1 for an unknown
 * type. Both ends reject a message whose length differs.
 */
long msg_payload_size(uint16_t type);

const char *severity_name(enum severity severity);
/* Parses "LOW", "MEDIUM", "HIGH" or "CRITICAL" (any case). Returns 0, or -1 if unknown. */
int severity_parse(const char *text, enum severity *out);

#endif
