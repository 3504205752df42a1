#!/usr/bin/env bash
# Bad input: unknown adapter, missing config, invalid flags, invalid config
# values, and commands that need a running instance.
source "$(dirname "$0")/lib.sh"
e2e_setup

"$CAKE" start --adapter=exec -- true >noconfig.out 2>&1
check "start without config exits 1" test $? -eq 1
check "start without config points to init" file_contains noconfig.out "cake init"

"$CAKE" init --output=cake_config.yaml >/dev/null 2>&1
"$CAKE" init --output=cake_config.yaml >again.out 2>&1
check "init refuses to overwrite" test $? -ne 0
check "init names --force" file_contains again.out "--force"
"$CAKE" init --output=cake_config.yaml --force >/dev/null 2>&1
check "init --force overwrites" test $? -eq 0

"$CAKE" start --adapter=nosuch -- true >adapter.out 2>&1
check "unknown adapter exits 2" test $? -eq 2
check "unknown adapter is named" file_contains adapter.out "unknown adapter 'nosuch'"
check "available adapters are listed" file_contains adapter.out "exec"

"$CAKE" start --adapter=exec --bogus >flag.out 2>&1
check "invalid flag exits 2" test $? -eq 2
check "invalid flag prints usage" file_contains flag.out "usage: cake start"

"$CAKE" frobnicate >command.out 2>&1
check "unknown command exits 2" test $? -eq 2

sed 's/^strictness: .*/strictness: strict/' cake_config.yaml >bad.yaml
"$CAKE" start --adapter=exec --config=bad.yaml -- true >badvalue.out 2>&1
check "invalid value exits 2" test $? -eq 2
check "invalid value names file, key and value" \
	grep -qE "^bad.yaml:[0-9]+:[0-9]+: strictness: expected .*, got 'strict'" badvalue.out

CAKE_STRICTNESS=loose "$CAKE" start --adapter=exec -- true >env.out 2>&1
check "invalid CAKE_STRICTNESS exits 2" test $? -eq 2
check "invalid CAKE_STRICTNESS is named" file_contains env.out "CAKE_STRICTNESS"

"$CAKE" stop >stop.out 2>&1
check "stop without instance exits 1" test $? -eq 1
check "stop without instance says so" file_contains stop.out "not running"

echo "import nonexistent_module" | "$CAKE" test-intervention >offline.out 2>&1
check "offline test-intervention exits 0" test $? -eq 0
check "offline test-intervention says in-process" file_contains offline.out "in-process"

printf 'Traceback (most recent call last):\n  File "main.py", line 1, in <module>\nModuleNotFoundError: No module named %s\n' "'requests'" |
	"$CAKE" test-intervention --json >offline.json
check "offline detection is ImportError" test "$(json_get offline.json 'd["error_type"]')" = ImportError
check "offline severity is HIGH" test "$(json_get offline.json 'd["severity"]')" = HIGH
check "offline suggests the install" test "$(json_get offline.json 'd["suggested_fix"]')" = "pip install requests"

echo "all 12 tests passed" | "$CAKE" test-intervention --json >clean.json
check "clean output is not detected" test "$(json_get clean.json 'd["detected"]')" = False
check "clean output has no intervention" test "$(json_get clean.json 'd["intervention"]')" = None

# With no instance running, the hook still denies a dangerous command and,
# with auditing on, records every decision.
sed 's/audit_all_commands: false/audit_all_commands: true/' cake_config.yaml >audit.yaml
mv audit.yaml cake_config.yaml
pre_tool_use() {
	printf '{"session_id":"e2e","transcript_path":"/dev/null","cwd":"%s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"%s"}}' \
		"$PWD" "$1" | "$CAKE" hook claude-code
}
pre_tool_use "git push --force origin main" >deny.json
check "hook exits 0 on a denial" test $? -eq 0
check "hook denies a force push" test \
	"$(json_get deny.json 'd["hookSpecificOutput"]["permissionDecision"]')" = deny
pre_tool_use "ls -la" >allow.json
check "hook allows a harmless command" test "$(cat allow.json)" = "{}"
check "audit records the denial" grep -q '"target":"git push --force origin main","decision":"deny"' \
	"$CAKE_HOME/audit.log"
check "audit records the allowance" grep -q '"target":"ls -la","decision":"allow"' "$CAKE_HOME/audit.log"
"$CAKE" audit --last=1 >audit.out 2>&1
check "audit --last shows the latest" file_contains audit.out "ls -la"

"$CAKE" db verify >verify.out 2>&1
check "verify without database exits 1" test $? -eq 1
check "verify does not create the database" test ! -e "$CAKE_HOME/recall.db"

# These start the tree, which creates the database, so they come last.
"$CAKE" start --adapter=exec --health-port=0 --metrics-port=0 -- no-such-agent-command >missing.out 2>&1
check "missing agent command exits 3" test $? -eq 3
check "missing agent command is named" file_contains missing.out "no-such-agent-command"

sed 's/restart: on-failure/restart: never/' cake_config.yaml >never.yaml
"$CAKE" start --adapter=exec --config=never.yaml --health-port=0 --metrics-port=0 -- sh -c 'exit 1' >never.out 2>&1
check "failed agent under policy never exits 3" test $? -eq 3
check "failed agent is logged as giving up" file_contains never.out "adapter gave up"

e2e_finish
