/*
 * The operator worker; see operator.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "operator.h"
#include "proc.h"
#include "voice.h"

static int
operator_render(struct proc *proc, const struct ipc_msg *msg)
{
	const struct msg_detection *detection = &msg->payload.detection;
	struct msg_text rendered;
	int length;

	memset(&rendered, 0, sizeof rendered);
	length = voice_render(detection, rendered.text, sizeof rendered.text);
	if (length < 0) {
		log_error("intervention for %s does not fit in %zu bytes", detection->rule_id,
		    sizeof rendered.text);
		return -1;
	}
	rendered.length = (uint32_t)length;

	log_info("Generated intervention: \"%s\"", rendered.text);
	return proc_send(proc, MSG_RENDERED, msg->header.id, &rendered, sizeof rendered);
}

static int
operator_handle(struct proc *proc, const struct ipc_msg *msg, void *arg)
{
	if (msg == NULL)
		return 0;

	switch (msg->header.type) {
	case MSG_RENDER:
		return operator_render(proc, msg);
	default:
		log_error("unexpected %s from the supervisor", msg_type_name(msg->header.type));
		return -1;
	}
}

int
operator_main(int argc, char **argv)
{
	struct proc_options options;

	log_info("starting (pid %ld)", (long)getpid());

	memset(&options, 0, sizeof options);
	options.role = "operator";
	options.handler = operator_handle;
	return proc_run(&options);
}
