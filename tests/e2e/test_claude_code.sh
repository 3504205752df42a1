#!/usr/bin/env bash
# CAKE supervising the real Claude Code CLI, whose model is a scripted
# server on 127.0.0.1 (tests/claude/model_server.py).
#
# Headless: `cake start --adapter=claude-code -- -p ...` runs claude. The
# model runs a script with a missing module, and the correction reaches its
# next request. It tries a force push, which is denied and never runs, and
# the reason reaches it. It runs the failing script twice more: recall
# counts 3 and the cooldown holds back the repeats.
# Attach: `cake hooks install` in a project, claude started by hand, and
# the hook reaches the running adapter.
#
# The pinned @anthropic-ai/claude-code (tests/claude/claude-code-version) is
# installed with npm into a cache directory reused between runs. When npm
# cannot reach its registry the test prints SKIP and exits 77, which ctest
# reports as skipped.
source "$(dirname "$0")/lib.sh"

CLAUDE_DIR=$(cd "$(dirname "$0")/../claude" && pwd)
CLAUDE_CODE_VERSION=$(cat "$CLAUDE_DIR/claude-code-version")
NPM_CACHE_DIR=${CAKE_TEST_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cake-test-npm}/$CLAUDE_CODE_VERSION
CLAUDE_BIN=$NPM_CACHE_DIR/node_modules/.bin/claude

# install_claude: installs the pinned CLI unless the cache has it. Prints
# SKIP and exits 77 when the registry cannot be reached.
install_claude() {
	if [[ -x $CLAUDE_BIN ]] && "$CLAUDE_BIN" --version 2>/dev/null | grep -qF "$CLAUDE_CODE_VERSION"; then
		return
	fi
	if ! command -v npm >/dev/null; then
		echo "SKIP: npm is not installed, so @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION cannot be installed"
		exit 77
	fi
	mkdir -p "$NPM_CACHE_DIR"
	if ! npm view "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" version >"$NPM_CACHE_DIR/view.log" 2>&1; then
		echo "SKIP: the npm registry cannot be reached:"
		tail -5 "$NPM_CACHE_DIR/view.log"
		exit 77
	fi
	if ! npm install --no-audit --no-fund --prefix "$NPM_CACHE_DIR" \
		"@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >"$NPM_CACHE_DIR/install.log" 2>&1; then
		echo "npm install of @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION failed:" >&2
		tail -20 "$NPM_CACHE_DIR/install.log" >&2
		exit 1
	fi
	if ! "$CLAUDE_BIN" --version >/dev/null 2>&1; then
		echo "the installed $CLAUDE_BIN does not run:" >&2
		"$CLAUDE_BIN" --version >&2
		exit 1
	fi
}

install_claude
e2e_setup

# start_model SCENARIO NAME: starts the scripted model, logging to NAME.jsonl.
start_model() {
	rm -f "$2.port"
	python3 "$CLAUDE_DIR/model_server.py" "$1" "$2.jsonl" "$2.port" 2>"$2.server.log" &
	MODEL_PID=$!
	wait_for 10 test -s "$2.port"
	export ANTHROPIC_BASE_URL="http://127.0.0.1:$(cat "$2.port")"
}

stop_model() {
	kill "$MODEL_PID" 2>/dev/null
	wait "$MODEL_PID" 2>/dev/null
}

# turn_request LOG N: prints the body of the Nth main-conversation request (from 1).
turn_request() {
	python3 -c '
import json, sys
turns = [json.loads(line) for line in open(sys.argv[1]) if json.loads(line)["kind"] == "turn"]
n = int(sys.argv[2])
print(json.dumps(turns[n - 1]["body"]) if len(turns) >= n else "")' "$1" "$2"
}

# matches TEXT REGEX: succeeds when TEXT matches the extended regular expression.
matches() {
	[[ $1 =~ $2 ]]
}

turn_count() {
	python3 -c '
import json, sys
print(sum(1 for line in open(sys.argv[1]) if json.loads(line)["kind"] == "turn"))' "$1"
}

# A git that records every run, earlier in PATH than the real one.
mkdir -p fakebin project
cat >fakebin/git <<EOF
#!/bin/sh
echo "\$*" >>"$PWD/git-runs.log"
echo "git (test wrapper) \$*"
EOF
chmod +x fakebin/git
export PATH="$PWD/fakebin:$PATH"
export HOME="$E2E_TMP/user-home"
mkdir -p "$HOME"
export ANTHROPIC_API_KEY=sk-cake-test-dummy
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
export CAKE_CLAUDE_BIN="$CLAUDE_BIN"

mkdir -p "$CAKE_HOME"
"$CAKE" init --output="$CAKE_HOME/cake_config.yaml" >/dev/null 2>&1
check "config exists" test -f "$CAKE_HOME/cake_config.yaml"
"$CAKE" db upgrade >/dev/null 2>&1
check "database exists" test -f "$CAKE_HOME/recall.db"

printf 'import nonexistent_module_cake\n' >project/main.py
expected="Operator (CAKE): Stop. Run pip install nonexistent_module_cake. See requirements.txt."

# ---- headless mode ----
python3 - "$CAKE" "$CAKE_HOME" "$PWD" >headless.json <<'PY'
import json, sys
cake, home, work = sys.argv[1:4]
bash = lambda command: {"tool_use": {"name": "Bash", "input": {"command": command}}}
print(json.dumps({"turns": [
    bash("python3 main.py"),
    bash("git --version"),
    bash("git push --force origin main"),
    bash("CAKE_HOME=%s %s status > %s/status.json" % (home, cake, work)),
    bash("python3 main.py"),
    bash("python3 main.py"),
    {"text": "All done."},
]}))
PY
start_model headless.json headless
(cd project && "$CAKE" start --adapter=claude-code --health-port=0 --metrics-port=0 -- \
	-p "Run main.py and push the result" --allowedTools Bash >../headless.out 2>../headless.err)
rc=$?
stop_model
check "headless start exits 0" test $rc -eq 0
check "start names the adapter" file_contains headless.out "Adapter: claude-code"
check "model got seven turns" test "$(turn_count headless.jsonl)" = 7

turn_request headless.jsonl 2 >turn2.json
check "correction reaches the model" file_contains turn2.json "$expected"

turn_request headless.jsonl 4 >turn4.json
check "force push never ran" test "$(grep -c push git-runs.log)" = 0
check "allowed git ran" file_contains git-runs.log "--version"
check "denial reaches the model" file_contains turn4.json "CAKE blocked"
check "denial names the command" file_contains turn4.json "git push --force origin main"

check "status was written" test -s status.json
check "status shows healthy adapter" test "$(json_get status.json 'd["adapter_health"]')" = healthy
check "status shows the session id" matches "$(json_get status.json 'd["agent"]["session_id"]')" '^[0-9a-f-]{36}$'
check "status shows the claude version" test \
	"$(json_get status.json 'd["agent"]["agent_version"]')" = "$CLAUDE_CODE_VERSION"
check "status shows headless mode" test "$(json_get status.json 'd["agent"]["mode"]')" = headless

check "recall counts three occurrences" test \
	"$(sqlite3 "$CAKE_HOME/recall.db" "SELECT occurrence_count FROM error_memory WHERE error_type = 'ImportError'")" = 3
check "recall counts one intervention" test \
	"$(sqlite3 "$CAKE_HOME/recall.db" "SELECT intervention_count FROM error_memory WHERE error_type = 'ImportError'")" = 1
check "cooldown held back the second" file_contains "$CAKE_HOME/logs/cake.log" "cooldown (seen 2 times)"
check "cooldown held back the third" file_contains "$CAKE_HOME/logs/cake.log" "cooldown (seen 3 times)"
turn_request headless.jsonl 7 >turn7.json
check "model saw one correction" test "$(grep -o 'Operator (CAKE): Stop.' turn7.json | wc -l)" = 1
check "settings file removed" test -z "$(find "$CAKE_HOME" -name 'claude-code-settings-*')"
check "hook socket removed" test ! -e "$CAKE_HOME/claude-code.sock"

# ---- attach mode ----
mkdir -p attach/.claude
printf 'import another_missing_module_cake\n' >attach/main.py
printf '{"model": "sonnet", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}}\n' \
	>attach/.claude/settings.local.json
cp attach/.claude/settings.local.json settings-before.json
(cd attach && "$CAKE" hooks install >../install.out 2>&1)
check "hooks install exits 0" test $? -eq 0
(cd attach && "$CAKE" hooks install >/dev/null 2>&1)
check "install twice adds one entry" test \
	"$(json_get attach/.claude/settings.local.json 'len(d["hooks"]["PostToolUseFailure"])')" = 1
check "install keeps the user's hook" test \
	"$(json_get attach/.claude/settings.local.json 'd["hooks"]["Stop"][0]["hooks"][0]["command"]')" = true

"$CAKE" start --adapter=claude-code --health-port=0 --metrics-port=0 >attach.out 2>attach.err &
E2E_START_PID=$!
check "attach start runs" wait_for 30 file_contains attach.out "CAKE Status: RUNNING"
"$CAKE" status >attach-before.json
check "attach waits for a hook" test "$(json_get attach-before.json 'd["adapter_health"]')" = degraded

python3 - >attach-scenario.json <<'PY'
import json
print(json.dumps({"turns": [
    {"tool_use": {"name": "Bash", "input": {"command": "python3 main.py"}}},
    {"text": "Done."},
]}))
PY
start_model attach-scenario.json attach
(cd attach && timeout 120 "$CLAUDE_BIN" -p "Run main.py" --allowedTools Bash >../attach-claude.out 2>&1)
check "claude exits 0" test $? -eq 0
stop_model
turn_request attach.jsonl 2 >attach-turn2.json
check "attach correction reaches the model" file_contains attach-turn2.json \
	"Operator (CAKE): Stop. Run pip install another_missing_module_cake. See requirements.txt."
"$CAKE" status >attach-after.json
check "attach adapter is healthy" test "$(json_get attach-after.json 'd["adapter_health"]')" = healthy
check "attach status shows the session" test -n "$(json_get attach-after.json 'd["agent"]["session_id"]')"

"$CAKE" stop >/dev/null 2>&1
check "attach supervisor exits" wait_for 15 process_gone "$E2E_START_PID"

(cd attach && "$CAKE" hooks uninstall >/dev/null 2>&1)
check "hooks uninstall exits 0" test $? -eq 0
(cd attach && "$CAKE" hooks uninstall >/dev/null 2>&1)
check "uninstall twice exits 0" test $? -eq 0
check "uninstall restores the settings" python3 -c '
import json, sys
sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
	attach/.claude/settings.local.json settings-before.json

# ---- no instance running ----
printf '{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git push --force origin main"},"cwd":"/tmp"}' |
	"$CAKE" hook claude-code >standalone-deny.json 2>standalone-deny.err
check "standalone hook exits 0" test $? -eq 0
check "standalone gate denies" test \
	"$(json_get standalone-deny.json 'd["hookSpecificOutput"]["permissionDecision"]')" = deny

e2e_finish
