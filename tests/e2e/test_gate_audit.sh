#!/usr/bin/env bash
# With safety.audit_all_commands, every command gate decision of the Claude
# Code hook lands in the audit log and in recall.db's pattern_violations:
# through the running claude-code adapter, or directly when none runs.
source "$(dirname "$0")/lib.sh"
e2e_setup

"$CAKE" init --output=cake_config.yaml >/dev/null
sed -e 's/audit_all_commands: false/audit_all_commands: true/' \
	-e 's/health_port: 8080/health_port: 0/' -e 's/metrics_port: 9090/metrics_port: 0/' \
	cake_config.yaml >audited.yaml
mv audited.yaml cake_config.yaml
"$CAKE" db upgrade >/dev/null 2>&1

pre_tool_use() {
	printf '{"session_id":"e2e","transcript_path":"/dev/null","cwd":"%s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"%s"}}' \
		"$PWD" "$1" | "$CAKE" hook claude-code
}
violations() {
	sqlite3 "$CAKE_HOME/recall.db" "SELECT pattern_type || '|' || prevented FROM pattern_violations ORDER BY id"
}

# No instance: the hook writes the violation itself.
pre_tool_use "git reset --hard" >offline.json
check "offline hook denies" test "$(json_get offline.json 'd["hookSpecificOutput"]["permissionDecision"]')" = deny
check "offline denial is a prevented violation" test "$(violations)" = "git.reset.hard|1"

# A running instance: the decision travels hook -> adapter -> supervisor -> recall.
"$CAKE" start --adapter=claude-code >start.out 2>start.err &
E2E_START_PID=$!
check "attach-mode tree starts" wait_for 30 file_contains start.out "CAKE Status: RUNNING"
pre_tool_use "git push --force origin main" >live-deny.json
check "live hook denies" test "$(json_get live-deny.json 'd["hookSpecificOutput"]["permissionDecision"]')" = deny
pre_tool_use "ls -la" >live-allow.json
check "live hook allows" test "$(cat live-allow.json)" = "{}"
recorded_live() {
	[[ $(violations | tr '\n' ' ') == "git.reset.hard|1 git.push.force|1 gate.allow|0 " ]]
}
check "live decisions reach recall.db" wait_for 10 recorded_live
check "supervisor logs the violation" file_contains start.err "violation git.push.force (prevented)"
check "audit log has every decision" test "$(grep -c '"actor":"gate"' "$CAKE_HOME/audit.log")" -eq 3
"$CAKE" stop >/dev/null 2>&1
wait "$E2E_START_PID"
check "stop exits 0" test $? -eq 0
check "audit log records the stop and who asked" \
	grep -q '"actor":"control","action":"stop","target":"cake","decision":"accepted","details":"graceful, timeout 30 s, requested by uid' \
	"$CAKE_HOME/audit.log"

e2e_finish
