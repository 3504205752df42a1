#!/usr/bin/env bash
# The Python example adapter (adapters/examples/cake-adapter-pipe), found
# through CAKE_ADAPTER_PATH, runs a failing script under `cake start`; the
# intervention reaches the script's stdin and `cake stop` ends it.
source "$(dirname "$0")/lib.sh"
e2e_setup

mkdir -p adapters
cp "$CAKE_SOURCE_DIR/adapters/examples/cake-adapter-pipe" adapters/
export CAKE_ADAPTER_PATH="$PWD/adapters"

"$CAKE" init --output=cake_config.yaml >/dev/null 2>&1
"$CAKE" db upgrade >/dev/null 2>&1
check "database exists" test -f "$CAKE_HOME/recall.db"

printf 'import example_missing_module_cake\n' >app.py
"$CAKE" start --adapter=pipe --health-port=0 --metrics-port=0 -- sh -c \
	'python3 app.py; IFS= read -r line; printf "%s\n" "$line" > received.txt; exec sleep 300' \
	>start.out 2>start.err &
E2E_START_PID=$!

check "start prints RUNNING" wait_for 30 file_contains start.out "CAKE Status: RUNNING"
check "adapter is healthy" file_contains start.out "Adapter: pipe (healthy)"
expected="Operator (CAKE): Stop. Run pip install example_missing_module_cake. See requirements.txt."
check "intervention reaches the agent" wait_for 30 file_contains received.txt "$expected"

"$CAKE" status >status.json 2>status.err
check "status names the adapter" test "$(json_get status.json 'd["adapter"]')" = pipe
check "status counts the intervention" test "$(json_get status.json 'd["total_interventions"]')" = 1
check "status shows the command" file_contains status.json "python3 app.py"
check "adapter log line is kept" \
	file_contains "$CAKE_HOME/logs/cake.log" "written to the agent's stdin"

"$CAKE" stop >stop.out 2>&1
check "stop exits 0" test $? -eq 0
check "supervisor exits" wait_for 15 process_gone "$E2E_START_PID"

e2e_finish
