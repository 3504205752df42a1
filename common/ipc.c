/*
 * Framing of proto.h messages; see ipc.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "ipc.h"

/* Writes all of BUFFER, waiting with poll() when FD is non-blocking. */
static int
write_all(int fd, const unsigned char *buffer, size_t length)
{
	while (length > 0) {
		ssize_t n = send(fd, buffer, length, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
				return -1;
			continue;
		}
		if (n < 0)
			return -1;

		buffer += n;
		length -= (size_t)n;
	}
	return 0;
}

int
ipc_send(int fd, enum msg_type type, uint64_t id, const void *payload, size_t length)
{
	unsigned char frame[sizeof(struct msg_header) + IPC_PAYLOAD_MAX];
	struct msg_header header;

	if (length > IPC_PAYLOAD_MAX) {
		errno = EMSGSIZE;
		return -1;
	}

	memset(&header, 0, sizeof header);
	header.version = CAKE_PROTO_VERSION;
	header.type = (uint16_t)type;
	header.length = (uint32_t)length;
	header.id = id;

	/* One write per frame keeps frames whole even if two writers share FD. */
	memcpy(frame, &header, sizeof header);
	if (length > 0)
		memcpy(frame + sizeof header, payload, length);
	return write_all(fd, frame, sizeof header + length);
}

int
ipc_read(struct evbuffer *buffer, struct ipc_msg *msg, const char **error)
{
	static char reason[128];
	struct msg_header header;
	long expected;

	if (evbuffer_get_length(buffer) < sizeof header)
		return 0;
	evbuffer_copyout(buffer, &header, sizeof header);

	if (header.version != CAKE_PROTO_VERSION) {
		snprintf(reason, sizeof reason, "protocol version %u, expected %u",
		    header.version, CAKE_PROTO_VERSION);
		*error = reason;
		return -1;
	}

	expected = msg_payload_size(header.type);
	if (expected < 0) {
		snprintf(reason, sizeof reason, "unknown message type %u", header.type);
		*error = reason;
		return -1;
	}
	if ((long)header.length != expected) {
		snprintf(reason, sizeof reason, "%s payload is %u bytes, expected %ld",
		    msg_type_name(header.type), header.length, expected);
		*error = reason;
		return -1;
	}

	if (evbuffer_get_length(buffer) < sizeof header + header.length)
		return 0;

	evbuffer_drain(buffer, sizeof header);
	msg->header = header;
	if (header.length > 0)
		evbuffer_remove(buffer, &msg->payload, header.length);
	return 1;
}
