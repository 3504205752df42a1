#!/usr/bin/env bash
# init -> db upgrade -> start (exec adapter on a failing python3 script) ->
# status -> the intervention reaches the script's stdin -> stop, with no
# process left behind.
source "$(dirname "$0")/lib.sh"
e2e_setup

"$CAKE" init --output=cake_config.yaml >init.out 2>&1
check "init exits 0" test $? -eq 0
check "init writes the config" test -s cake_config.yaml

"$CAKE" db upgrade >upgrade.out 2>&1
check "db upgrade exits 0" test $? -eq 0
check "db upgrade runs 001" file_contains upgrade.out "Running upgrade  -> 001, Initial schema"
check "db upgrade runs 002" file_contains upgrade.out "Running upgrade 001 -> 002, Add indexes"
check "db upgrade reports success" file_contains upgrade.out "Database initialized successfully"
check "database is in CAKE_HOME" test -f "$CAKE_HOME/recall.db"

"$CAKE" db verify >verify.out 2>&1
check "db verify exits 0" test $? -eq 0
check "db verify passes" file_contains verify.out "Database verification PASSED"

cat >app.py <<'PY'
import nonexistent_module_cake
PY
# The agent: fails, then waits for the correction on stdin and keeps it.
health_port=$(free_port)
metrics_port=$(free_port)
"$CAKE" start --adapter=exec --health-port="$health_port" --metrics-port="$metrics_port" -- sh -c \
	'python3 app.py; IFS= read -r line; printf "%s\n" "$line" > received.txt; exec sleep 300' \
	>start.out 2>start.err &
E2E_START_PID=$!

check "start prints RUNNING" wait_for 30 file_contains start.out "CAKE Status: RUNNING"
check "start names the adapter" file_contains start.out "Adapter: exec (healthy)"
check "start lists the streams" file_contains start.out "Monitoring streams: stdout, stderr"

expected="Operator (CAKE): Stop. Run pip install nonexistent_module_cake. See requirements.txt."
check "intervention reaches the agent's stdin" wait_for 30 file_contains received.txt "$expected"

check "start prints the metrics URL" file_contains start.out "Metrics: http://127.0.0.1:$metrics_port/metrics"
check "health answers 200" test "$(http_get "http://127.0.0.1:$health_port/health" health.json)" = 200
check "health says healthy" test "$(json_get health.json 'd["status"]')" = healthy
check "ready answers 200" test "$(http_get "http://127.0.0.1:$health_port/ready" ready.json)" = 200
check "unknown path answers 404" test "$(http_get "http://127.0.0.1:$health_port/nope" nope.txt)" = 404
check "metrics answers 200" test "$(http_get "http://127.0.0.1:$metrics_port/metrics" metrics.txt)" = 200
check "metrics count the intervention" \
	grep -q '^cake_interventions_total{type="ImportError",severity="HIGH",success="true"} 1$' metrics.txt
check "metrics show five processes up" test "$(grep -c '^cake_process_up{.*} 1$' metrics.txt)" = 5

"$CAKE" status >status.json 2>status.err
check "status exits 0" test $? -eq 0
check "status is RUNNING" test "$(json_get status.json 'd["status"]')" = RUNNING
check "status names the adapter" test "$(json_get status.json 'd["adapter"]')" = exec
check "status counts the intervention" test "$(json_get status.json 'd["total_interventions"]')" = 1
check "status lists five processes" test "$(json_get status.json 'len(d["processes"])')" = 5
check "process pids are distinct" test \
	"$(json_get status.json 'len(set(p["pid"] for p in d["processes"].values()))')" = 5
check "every process is ready" test \
	"$(json_get status.json 'all(p["state"]=="ready" for p in d["processes"].values())')" = True
check "controller pid is the supervisor" test \
	"$(json_get status.json 'd["processes"]["controller"]["pid"]')" = "$E2E_START_PID"
pids=$(json_get status.json '" ".join(str(p["pid"]) for p in d["processes"].values())')
agent_pid=$(json_get status.json 'd["agent"]["agent_pid"]')

check "recall stored the signature" test \
	"$(sqlite3 "$CAKE_HOME/recall.db" 'SELECT occurrence_count FROM error_memory')" = 1
check "recall counted the intervention" test \
	"$(sqlite3 "$CAKE_HOME/recall.db" 'SELECT intervention_count FROM error_memory')" = 1
check "log file has the transition" \
	file_contains "$CAKE_HOME/logs/cake.log" "[controller] State transition: MONITORING -> DETECTING"

echo "ModuleNotFoundError: No module named 'requests'" | "$CAKE" test-intervention --json >live.json
check "live test-intervention exits 0" test $? -eq 0
check "live test-intervention uses the pipeline" test "$(json_get live.json 'd["mode"]')" = live
check "live test-intervention detects ImportError" test "$(json_get live.json 'd["error_type"]')" = ImportError
check "live test-intervention renders" test "$(json_get live.json 'd["intervention"]')" = \
	"Operator (CAKE): Stop. Run pip install requests. See requirements.txt."

"$CAKE" start --adapter=exec -- true >second.out 2>&1
rc=$?
check "second start exits 1" test $rc -eq 1
check "second start names the pid" file_contains second.out "already running (pid $E2E_START_PID)"

old_watchdog=$(json_get status.json 'd["processes"]["watchdog"]["pid"]')
"$CAKE" restart --graceful >restart.out 2>&1
check "restart exits 0" test $? -eq 0
restarted() {
	"$CAKE" status >after-restart.json 2>/dev/null &&
		[[ $(json_get after-restart.json 'd["status"]') == RUNNING ]] &&
		[[ $(json_get after-restart.json 'd["processes"]["watchdog"]["pid"]') != "$old_watchdog" ]]
}
check "restart replaces the workers" wait_for 30 restarted
check "restart keeps the supervisor" test \
	"$(json_get after-restart.json 'd["processes"]["controller"]["pid"]')" = "$E2E_START_PID"
check "restart keeps the controller counts" test \
	"$(json_get after-restart.json 'd["total_interventions"]')" = 1
pids=$(json_get after-restart.json '" ".join(str(p["pid"]) for p in d["processes"].values())')
agent_pid=$(json_get after-restart.json 'd["agent"]["agent_pid"]')

"$CAKE" stop >stop.out 2>&1
check "stop exits 0" test $? -eq 0
check "supervisor exits" wait_for 10 process_gone "$E2E_START_PID"
wait "$E2E_START_PID"
check "start exits 0 after stop" test $? -eq 0
for pid in $pids $agent_pid; do
	check "process $pid is gone" wait_for 5 process_gone "$pid"
done
check "control socket removed" test ! -e "$CAKE_HOME/cake.sock"

"$CAKE" status >after.out 2>&1
check "status after stop exits 1" test $? -eq 1
check "status after stop says not running" file_contains after.out "not running"

e2e_finish
