/*
 * The operator worker; see operator.h.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "operator.h"
#include "paths.h"
#include "proc.h"
#include "voice.h"

/*
 * Loads the installed voice corpus, or the built-in one when it cannot be
 * read. Returns NULL only when out of memory.
 */
static struct voice_corpus *
operator_load_corpus(void)
{
	struct voice_corpus *corpus;
	char data_dir[PATH_MAX];
	char path[PATH_MAX];
	char error[PATH_MAX + 128];

	if (paths_data_dir(data_dir, sizeof data_dir) == -1 ||
	    paths_join(path, sizeof path, data_dir, VOICE_CORPUS_SUBPATH) == -1) {
		snprintf(error, sizeof error, "cannot locate the data directory of this install");
		corpus = NULL;
	} else {
		corpus = voice_corpus_load(path, error, sizeof error);
	}
	if (corpus != NULL) {
		log_info("Loaded %zu reference messages from %s", voice_corpus_size(corpus), path);
		return corpus;
	}

	log_error("%s; scoring against the built-in templates instead (reinstall cake to restore it)",
	    error);
	return voice_corpus_builtin();
}

static int
operator_render(struct proc *proc, const struct ipc_msg *msg, const struct voice_corpus *corpus)
{
	const struct msg_detection *detection = &msg->payload.detection;
	struct voice_result result;
	struct msg_text rendered;
	int length, rc;

	memset(&rendered, 0, sizeof rendered);
	length = voice_compose(corpus, detection, rendered.text, sizeof rendered.text, &result);
	if (length < 0) {
		log_error("intervention for %s does not fit in %zu bytes", detection->rule_id,
		    sizeof rendered.text);
		return -1;
	}
	rendered.length = (uint32_t)length;
	snprintf(rendered.message_type, sizeof rendered.message_type, "%s",
	    voice_type_name(result.type));
	rendered.voice_form = (int32_t)result.form;
	rendered.voice_score = result.score;

	if (result.form == VOICE_FORM_SIMPLIFIED)
		log_warn("voice gate rejected the %s message for %s (%s); sent the simplified form",
		    rendered.message_type, detection->rule_id, result.rejected);
	else if (result.form == VOICE_FORM_DEFAULT)
		log_error("voice gate rejected the %s message for %s (%s) and its simplified form;"
		    " sent the safe default", rendered.message_type, detection->rule_id,
		    result.rejected);
	/* The reply goes first, so the log line costs the pipeline nothing. */
	rc = proc_send(proc, MSG_RENDERED, msg->header.id, &rendered, sizeof rendered);
	log_info("Generated intervention (%s, voice similarity %.3f): \"%s\"",
	    rendered.message_type, result.score, rendered.text);
	return rc;
}

static int
operator_handle(struct proc *proc, const struct ipc_msg *msg, void *arg)
{
	const struct voice_corpus *corpus = arg;

	if (msg == NULL)
		return 0;

	switch (msg->header.type) {
	case MSG_RENDER:
		return operator_render(proc, msg, corpus);
	default:
		log_error("unexpected %s from the supervisor", msg_type_name(msg->header.type));
		return -1;
	}
}

int
operator_main(int argc, char **argv)
{
	struct proc_options options;
	struct voice_corpus *corpus;
	int status;

	log_info("starting (pid %ld)", (long)getpid());
	corpus = operator_load_corpus();
	if (corpus == NULL) {
		log_error("out of memory loading the voice corpus");
		return EXIT_FAILURE;
	}

	memset(&options, 0, sizeof options);
	options.role = "operator";
	options.handler = operator_handle;
	options.arg = corpus;
	status = proc_run(&options);

	voice_corpus_free(corpus);
	return status;
}
