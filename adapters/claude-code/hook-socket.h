/*
 * The socket between `cake hook claude-code` and cake-adapter-claude-code.
 *
 * The adapter listens on a Unix stream socket at $CAKE_HOME/claude-code.sock
 * (mode 0600) while it runs. Each hook process connects once, sends one
 * request line and reads one reply line, both JSON objects of at most
 * HOOK_SOCKET_LINE_MAX bytes including the newline.
 *
 * Request:
 *	{"event": "PostToolUseFailure",	hook_event_name from Claude Code
 *	 "session_id": "...",		Claude Code's session id, may be ""
 *	 "tool_use_id": "...",		may be ""
 *	 "stdout": "...",		output for the watchdog's stdout stream
 *	 "stderr": "...",		output for the watchdog's stderr stream
 *	 "wait_ms": 500,		how long to wait for an intervention
 *	 "gate": "CAKE blocked ..."}	PreToolUse only: the gate's denial or warning
 *
 * Reply: {} when there is nothing to say, {"context": TEXT} with an
 * intervention to hand to the model, or {"stop": REASON} once the session
 * is escalated. The adapter answers after at most wait_ms, counted from the
 * request's arrival.
 */
#ifndef CAKE_HOOK_SOCKET_H
#define CAKE_HOOK_SOCKET_H

#define HOOK_SOCKET_NAME "claude-code.sock"

/* Output beyond this many bytes per stream is cut to its last bytes. */
#define HOOK_OUTPUT_MAX (64 * 1024)

/* A request holds two escaped outputs (up to 6 bytes per byte) and the fields. */
#define HOOK_SOCKET_LINE_MAX (2 * 6 * HOOK_OUTPUT_MAX + 4096)

#endif
