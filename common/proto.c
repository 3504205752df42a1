/*
 * Names and payload sizes of the message types declared in proto.h.
 */
#include <string.h>
#include <strings.h>

#include "proto.h"

struct msg_type_info {
	uint16_t type;
	const char *name;
	long payload_size;
};

static const struct msg_type_info msg_types[] = {
	{ MSG_HELLO, "MSG_HELLO", sizeof(struct msg_hello) },
	{ MSG_WELCOME, "MSG_WELCOME", sizeof(struct msg_welcome) },
	{ MSG_HEARTBEAT, "MSG_HEARTBEAT", 0 },
	{ MSG_HEARTBEAT_ACK, "MSG_HEARTBEAT_ACK", 0 },
	{ MSG_SHUTDOWN, "MSG_SHUTDOWN", 0 },
	{ MSG_RING_DATA, "MSG_RING_DATA", sizeof(struct msg_ring_data) },
	{ MSG_RING_COMMIT, "MSG_RING_COMMIT", sizeof(struct msg_ring_data) },
	{ MSG_DETECTION, "MSG_DETECTION", sizeof(struct msg_detection) },
	{ MSG_ANALYZE, "MSG_ANALYZE", sizeof(struct msg_text) },
	{ MSG_ANALYZE_DONE, "MSG_ANALYZE_DONE", sizeof(struct msg_analyze_done) },
	{ MSG_RECALL_RECORD, "MSG_RECALL_RECORD", sizeof(struct msg_detection) },
	{ MSG_RECALL_RESULT, "MSG_RECALL_RESULT", sizeof(struct msg_recall_result) },
	{ MSG_RECALL_INTERVENED, "MSG_RECALL_INTERVENED", sizeof(struct msg_signature) },
	{ MSG_RECALL_VIOLATION, "MSG_RECALL_VIOLATION", sizeof(struct msg_violation) },
	{ MSG_RENDER, "MSG_RENDER", sizeof(struct msg_detection) },
	{ MSG_RENDERED, "MSG_RENDERED", sizeof(struct msg_text) },
};

static const struct msg_type_info *
msg_type_find(uint16_t type)
{
	for (size_t i = 0; i < sizeof msg_types / sizeof msg_types[0]; i++) {
		if (msg_types[i].type == type)
			return &msg_types[i];
	}
	return NULL;
}

const char *
msg_type_name(uint16_t type)
{
	const struct msg_type_info *info = msg_type_find(type);

	return info != NULL ? info->name : "MSG_UNKNOWN";
}

long
msg_payload_size(uint16_t type)
{
	const struct msg_type_info *info = msg_type_find(type);

	return info != NULL ? info->payload_size : -1;
}

static const char *const severity_names[] = { "LOW", "MEDIUM", "HIGH", "CRITICAL" };

const char *
severity_name(enum severity severity)
{
	if (severity < SEVERITY_LOW || severity > SEVERITY_CRITICAL)
		return "UNKNOWN";
	return severity_names[severity];
}

int
severity_parse(const char *text, enum severity *out)
{
	for (int i = SEVERITY_LOW; i <= SEVERITY_CRITICAL; i++) {
		if (strcasecmp(text, severity_names[i]) == 0) {
			*out = (enum severity)i;
			return 0;
		}
	}
	return -1;
}
