#!/usr/bin/env bash
# Fault injection against a live tree: workers killed with SIGKILL while an
# agent streams errors, a stopped (SIGSTOP) worker, a crash-looping adapter,
# a killed supervisor, and a stop that must leave nothing behind. Every wait
# is bounded.
source "$(dirname "$0")/lib.sh"
e2e_setup

# Fast supervision settings, so the faults resolve within seconds.
write_config() {
	cat >"$1" <<YAML
version: "1.0"
strictness: balanced
escalation:
  max_strikes: 4
  cooldown_minutes: 5
http:
  health_port: 0
  metrics_port: 0
supervision:
  restart_limit: $2
  restart_window_seconds: 60
  backoff_initial_ms: 20
  backoff_max_ms: 200
  heartbeat_interval_ms: 200
  heartbeat_misses: 3
YAML
}

# status_value EXPRESSION: a value from `cake status`, EXPRESSION in Python on `d`.
status_value() {
	"$CAKE" status >status.json 2>/dev/null || return 1
	json_get status.json "$1"
}

pid_of() {
	status_value "d['processes']['$1']['pid']"
}

process_ready_with_new_pid() {
	local name=$1 old=$2 pid state
	pid=$(pid_of "$name") || return 1
	state=$(status_value "d['processes']['$name']['state']") || return 1
	[[ $pid != "$old" && $pid != None && $state == ready ]]
}

all_gone() {
	local pid
	for pid in "$@"; do
		process_gone "$pid" || return 1
	done
	return 0
}

"$CAKE" db upgrade >/dev/null 2>&1

# ---- (a) SIGKILLed workers lose no event and deliver nothing twice ----
write_config cake_config.yaml 100
count=200
cat >agent.sh <<'SH'
# Keeps every correction it receives, one per line, then writes numbered errors.
exec 3<&0
cat <&3 >>received.txt &
i=1
while [ "$i" -le "$1" ]; do
	echo "ModuleNotFoundError: No module named 'faultmod_$i'" >&2
	i=$((i + 1))
	sleep 0.01
done
exec sleep 300
SH
"$CAKE" start --adapter=exec -- sh agent.sh "$count" >start.out 2>start.err &
E2E_START_PID=$!
check "tree starts" wait_for 30 file_contains start.out "CAKE Status: RUNNING"

kills=0
deadline=$((SECONDS + 4))
while ((SECONDS < deadline)); do
	for role in watchdog operator recall; do
		pid=$(pid_of "$role") || continue
		[[ $pid == None ]] && continue
		kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
		sleep 0.15
	done
done
echo "killed $kills workers"
check "workers were killed" test "$kills" -ge 6

received_all() {
	[[ $(sort -u received.txt 2>/dev/null | wc -l) -ge $count ]]
}
check "every error is corrected" wait_for 60 received_all
check "no correction arrives twice" test "$(sort received.txt | uniq -d | wc -l)" -eq 0
check "corrections match the errors" test "$(grep -c "Run pip install faultmod_" received.txt)" -eq "$count"
check "each error is recorded once" test \
	"$(sqlite3 "$CAKE_HOME/recall.db" "SELECT count(*) FROM error_memory WHERE error_type = 'ImportError'")" -eq "$count"
check "no error is counted twice" test \
	"$(sqlite3 "$CAKE_HOME/recall.db" 'SELECT count(*) FROM error_memory WHERE occurrence_count != 1')" -eq 0
check "supervisor pid never changed" test "$(pid_of controller)" = "$E2E_START_PID"
check "workers were restarted" test "$(status_value "sum(d['processes'][p]['restarts'] for p in ('watchdog','operator','recall'))")" -ge 6

# ---- (b) a stopped worker is found by its missed heartbeats and replaced ----
operator=$(pid_of operator)
kill -STOP "$operator"
check "stopped operator is replaced" wait_for 10 process_ready_with_new_pid operator "$operator"
check "status gives the hang as the cause" \
	test "$(status_value "d['processes']['operator']['last_cause'].startswith('hung: no heartbeat')")" = True
check "stopped operator is gone" wait_for 5 process_gone "$operator"

# ---- (e) a stop leaves no process, zombie or orphan ----
pids=$(status_value '" ".join(str(p["pid"]) for p in d["processes"].values())')
agent=$(status_value 'd["agent"]["agent_pid"]')
children=$(pgrep -P "$agent" | tr '\n' ' ')
check "five processes are known" test "$(echo $pids | wc -w)" -eq 5
"$CAKE" stop >stop.out 2>&1
check "stop exits 0" test $? -eq 0
wait "$E2E_START_PID"
check "supervisor exits 0" test $? -eq 0
# shellcheck disable=SC2086
check "no process of the tree remains" wait_for 5 all_gone $pids $agent $children
check "no zombie remains" test -z "$(ps -eo stat=,pid= | awk '$1 ~ /^Z/ {print $2}' | while read -r z; do
	[[ " $pids $agent $children " == *" $z "* ]] && echo "$z"; done)"

# ---- (d) a SIGKILLed supervisor leaves no process behind ----
rm -f received.txt
"$CAKE" start --adapter=exec -- sh -c 'sleep 300 & exec sleep 300' >start2.out 2>start2.err &
E2E_START_PID=$!
check "second tree starts" wait_for 30 file_contains start2.out "CAKE Status: RUNNING"
pids=$(status_value '" ".join(str(p["pid"]) for p in d["processes"].values())')
agent=$(status_value 'd["agent"]["agent_pid"]')
children=$(pgrep -P "$agent" | tr '\n' ' ')
check "agent's child is known" test -n "$children"
kill -KILL "$E2E_START_PID"
# shellcheck disable=SC2086
check "no process remains 2 s after SIGKILL" wait_for 2 all_gone $pids $agent $children
"$CAKE" start --adapter=exec -- true >restart.out 2>&1
check "a new start takes over the stale lock and socket" test $? -eq 0

# ---- (c) a crash-looping adapter backs off, gives up, and status says so ----
write_config cake_config.yaml 3
"$CAKE" start --adapter=exec -- sh -c 'sleep 0.3; exit 1' >start3.out 2>start3.err &
E2E_START_PID=$!
adapter_failed() {
	[[ $(status_value "d['processes']['adapter']['state']") == failed ]]
}
check "adapter is marked failed" wait_for 30 adapter_failed
check "adapter restarted up to the limit" test "$(status_value "d['processes']['adapter']['restarts']")" = 3
check "adapter's last exit is readable" test "$(status_value "d['processes']['adapter']['last_exit']")" = "exit 1"
check "controller escalates" test "$(status_value "d['controller_state']")" = ESCALATING
check "adapter health is failed" test "$(status_value "d['adapter_health']")" = failed
check "backoff was logged with its cause" file_contains start3.err "restarting adapter in"
check "giving up was logged" file_contains start3.err "adapter gave up"
check "supervisor still runs" kill -0 "$E2E_START_PID"
"$CAKE" stop --force >/dev/null 2>&1
check "forced stop ends the supervisor" wait_for 10 process_gone "$E2E_START_PID"

# ---- a full ring blocks the agent, or drops and counts when configured ----
# The watchdog is stopped, so nothing drains the 1 MiB ring while the agent
# writes 3 MiB; heartbeats are slow enough not to replace it meanwhile.
ring_config() {
	cat >cake_config.yaml <<YAML
version: "1.0"
strictness: balanced
escalation:
  max_strikes: 4
  cooldown_minutes: 5
http:
  health_port: 0
  metrics_port: 0
supervision:
  heartbeat_interval_ms: 1000
  heartbeat_misses: 100
  ring_full: $1
YAML
}
flood='sleep 1; head -c 3145728 /dev/zero | tr "\\0" x; echo; touch flooded; exec sleep 300'

ring_config block
rm -f flooded
"$CAKE" start --adapter=exec -- sh -c "$flood" >start4.out 2>start4.err &
E2E_START_PID=$!
check "blocking tree starts" wait_for 30 file_contains start4.out "CAKE Status: RUNNING"
watchdog=$(pid_of watchdog)
kill -STOP "$watchdog"
ring_paused() {
	[[ $(status_value "d['streams']['stdout']['paused']") == True ]]
}
check "full ring pauses the stream" wait_for 20 ring_paused
check "agent waits while the ring is full" test ! -e flooded
kill -CONT "$watchdog"
check "agent finishes once the watchdog reads" wait_for 30 test -e flooded
check "nothing is dropped when blocking" test "$(status_value "d['streams']['stdout']['dropped_bytes']")" = 0
"$CAKE" stop >/dev/null 2>&1
wait "$E2E_START_PID"

ring_config drop
rm -f flooded
"$CAKE" start --adapter=exec -- sh -c "$flood" >start5.out 2>start5.err &
E2E_START_PID=$!
check "dropping tree starts" wait_for 30 file_contains start5.out "CAKE Status: RUNNING"
watchdog=$(pid_of watchdog)
kill -STOP "$watchdog"
check "agent is not blocked when dropping" wait_for 30 test -e flooded
check "dropped bytes are counted" \
	test "$(status_value "d['streams']['stdout']['dropped_bytes'] > 0")" = True
kill -CONT "$watchdog"
"$CAKE" stop >/dev/null 2>&1
wait "$E2E_START_PID"

e2e_finish
