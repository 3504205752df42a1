/*
 * Framing of proto.h messages over a stream socket.
 *
 * Sending writes the whole frame or fails. Receiving takes frames out of a
 * libevent buffer and checks the version, the type and the payload size of
 * each before it reaches a handler.
 */
#ifndef CAKE_IPC_H
#define CAKE_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct evbuffer;

/* The largest payload of any type; a frame never exceeds header plus this. */
#define IPC_PAYLOAD_MAX sizeof(struct msg_text)

struct ipc_msg {
	struct msg_header header;
	union {
		unsigned char bytes[IPC_PAYLOAD_MAX];
		struct msg_hello hello;
		struct msg_welcome welcome;
		struct msg_ring_data ring;
		struct msg_detection detection;
		struct msg_text text;
		struct msg_analyze_done analyze_done;
		struct msg_recall_result recall_result;
		struct msg_signature signature;
		struct msg_violation violation;
	} payload;
};

/*
 * Writes one message to FD, retrying on EINTR and short writes (FD may be
 * non-blocking: it waits with poll). Returns 0, or -1 with errno set.
 */
int ipc_send(int fd, enum msg_type type, uint64_t id, const void *payload, size_t length);

/*
 * Removes one complete message from BUFFER into MSG.
 * Returns 1 when a message was read, 0 when more bytes are needed, and -1 on
 * a protocol error, with a static description in *ERROR ("unknown message
 * type 77", "MSG_DETECTION payload is 12 bytes, expected 1520", ...).
 */
int ipc_read(struct evbuffer *buffer, struct ipc_msg *msg, const char **error);

#endif
