#!/usr/bin/env bash
# Observability of a live instance: self-test, health and readiness
# endpoints, HTTP limits, /metrics checked by promtool, the metric history,
# memory stats, intervention analysis, logs (filters, export, follow across
# rotation), the audit log, the security check and the post-deploy script.
source "$(dirname "$0")/lib.sh"
e2e_setup

: "${CAKE_SOURCE_DIR:?set CAKE_SOURCE_DIR to the source tree}"
if ! command -v promtool >/dev/null; then
	echo "promtool not found: install the Debian package 'prometheus' (packaging/install-deps.sh does)" >&2
	exit 1
fi

health_port=$(free_port)
metrics_port=$(free_port)

"$CAKE" init --output=cake_config.yaml >init.out 2>&1
check "init exits 0" test $? -eq 0
sed -i -e "s/^  health_port: .*/  health_port: $health_port/" \
	-e "s/^  metrics_port: .*/  metrics_port: $metrics_port/" \
	-e "s/^  audit_all_commands: .*/  audit_all_commands: true/" cake_config.yaml
check "config sets the health port" grep -q "health_port: $health_port" cake_config.yaml
"$CAKE" db upgrade >upgrade.out 2>&1
check "db upgrade exits 0" test $? -eq 0

# Before start: the adapter and metrics checks run without an instance.
"$CAKE" self-test >selftest.out 2>&1
check "self-test exits 0" test $? -eq 0
for line in "Running CAKE self-test..." "✓ Database connection OK" "✓ Configuration valid" \
	"✓ All components loadable" "✓ Adapter connection OK" "✓ Metrics endpoint responding" "Self-test PASSED"; do
	check "self-test prints '$line'" grep -q "^$line" selftest.out
done
check "self-test says no instance runs" grep -q "no instance running" selftest.out

mv "$CAKE_HOME/recall.db" "$CAKE_HOME/recall.db.away"
"$CAKE" self-test >selftest-nodb.out 2>&1
check "self-test without database exits 1" test $? -eq 1
check "self-test names the database" grep -q "^✗ Database connection failed: .*recall.db" selftest-nodb.out
check "self-test reports FAILED" grep -q "^Self-test FAILED" selftest-nodb.out
mv "$CAKE_HOME/recall.db.away" "$CAKE_HOME/recall.db"

"$CAKE" health >health-down.out 2>&1
check "health without instance exits 1" test $? -eq 1

cat >app.py <<'PY'
import nonexistent_module_obs
PY
"$CAKE" start --adapter=exec --health-port="$health_port" --metrics-port="$metrics_port" -- sh -c \
	'python3 app.py; IFS= read -r line; printf "%s\n" "$line" > received.txt; exec sleep 300' \
	>start.out 2>start.err &
E2E_START_PID=$!
check "start prints RUNNING" wait_for 30 file_contains start.out "CAKE Status: RUNNING"
check "intervention reaches the agent" wait_for 30 test -s received.txt

base="http://127.0.0.1:$health_port"
"$CAKE" health >health.out 2>&1
check "health exits 0" test $? -eq 0
check "health prints healthy" grep -qx healthy health.out

check "/health answers 200" test "$(http_get "$base/health" health.json)" = 200
check "/health is healthy" test "$(json_get health.json 'd["status"]')" = healthy
check "/health has the version" test "$(json_get health.json 'd["version"]')" = "$("$CAKE" version | awk '{print $3}')"
check "/health has the uptime" test "$(json_get health.json 'type(d["uptime"]).__name__')" = int
check "/health/detailed answers 200" test "$(http_get "$base/health/detailed" detailed.json)" = 200
check "detailed lists the database" test "$(json_get detailed.json 'd["components"]["database"]')" = connected
check "detailed counts interventions" test "$(json_get detailed.json 'd["stats"]["intervention_count"]')" = 1
check "detailed has the prevention rate" test "$(json_get detailed.json 'type(d["stats"]["error_prevention_rate"]).__name__')" = float
check "detailed has db connections" test "$(json_get detailed.json 'd["stats"]["db_connections"]')" = 1
check "detailed has the last intervention" grep -q '"last_intervention":"20' detailed.json
check "/ready answers 200" test "$(http_get "$base/ready" ready.json)" = 200
check "unknown path answers 404" test "$(http_get "$base/nope" nope.txt)" = 404
post_status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/health")
check "POST answers 405" test "$post_status" = 405

# A 100 KB header is rejected; half a request is closed after the timeout.
python3 - "$health_port" >limits.out 2>&1 <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=60)
try:
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
except OSError:
    pass
reply = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
except OSError:
    pass
print("big:", reply.split(b"\r\n", 1)[0].decode() if reply else "closed")
s = socket.create_connection(("127.0.0.1", port), timeout=60)
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
reply = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    print("half: closed", reply.split(b"\r\n", 1)[0].decode())
except socket.timeout:
    print("half: still open")
PY
check "big header is not answered 200" grep -Eq '^big: (closed|HTTP/1.1 4[0-9][0-9])' limits.out
check "half request is closed" grep -q '^half: closed' limits.out

check "/metrics answers 200" test "$(http_get "http://127.0.0.1:$metrics_port/metrics" metrics.txt)" = 200
promtool check metrics <metrics.txt >promtool.out 2>&1
check "promtool accepts /metrics" test $? -eq 0
check "/metrics declares cake_errors_prevented_total" grep -q '^# TYPE cake_errors_prevented_total counter' metrics.txt
check "/metrics declares cake_voice_similarity_score" grep -q '^# TYPE cake_voice_similarity_score gauge' metrics.txt
for family in cake_interventions_total cake_response_latency_seconds_bucket \
	cake_rollback_operations cake_db_connections_active cake_process_up cake_process_restarts_total \
	cake_process_resident_memory_bytes cake_ring_dropped_bytes_total; do
	check "/metrics has $family" grep -q "^$family" metrics.txt
done
check "latency histogram has the 0.25 bucket" grep -q 'cake_response_latency_seconds_bucket{.*le="0.25"}' metrics.txt
for rules in "$CAKE_SOURCE_DIR"/ops/prometheus/*_rules.yml "$CAKE_SOURCE_DIR"/ops/prometheus/alerts.yml; do
	check "promtool accepts $(basename "$rules")" promtool check rules "$rules"
done
(cd "$CAKE_SOURCE_DIR/ops/prometheus" && promtool test rules rules_test.yml) >rules-test.out 2>&1
check "rule unit tests pass" test $? -eq 0

"$CAKE" metrics --name=cake_interventions_total --period=1h >metric.out 2>&1
check "metrics exits 0" test $? -eq 0
check "metrics names the series" grep -q 'type="ImportError"' metric.out
check "metrics prints the value now" grep -Eq '^  now +1$' metric.out
check "metrics prints the change" grep -q '^  change: +1 over' metric.out
"$CAKE" metrics --name=cake_interventions_total --period=soon >metric-bad.out 2>&1
check "metrics with bad period exits 2" test $? -eq 2
"$CAKE" metrics --name=cake_no_such_metric >metric-none.out 2>&1
check "metrics with unknown name exits 1" test $? -eq 1

"$CAKE" stats memory >memory.json 2>memory.err
check "stats memory exits 0" test $? -eq 0
check "stats memory has total_mb" test "$(json_get memory.json 'd["total_mb"] > 0')" = True
for component in controller watchdog operator recall_db adapter; do
	check "stats memory has $component" test "$(json_get memory.json "d['components']['$component'] > 0")" = True
done
check "stats memory has the growth rate key" test "$(json_get memory.json '"growth_rate_mb_per_hour" in d')" = True

"$CAKE" analyze interventions --last=10 >analyze.out 2>&1
check "analyze exits 0" test $? -eq 0
check "analyze lists ImportError" grep -Eq '^ImportError +1 +1 +1 ' analyze.out
check "analyze counts signatures" grep -q '^1 error signatures' analyze.out

# Logs of the live instance.
"$CAKE" logs --component=controller >logs-controller.out 2>&1
check "logs exits 0" test $? -eq 0
check "logs filter by component" grep -q '\[controller\] State transition' logs-controller.out
check "logs show only that component" test "$(grep -vc '\[controller\]' logs-controller.out)" = 0
"$CAKE" logs --since=1h --level=WARN >logs-warn.out 2>&1
check "logs filter by level" test "$(grep -c ' INFO  \[' logs-warn.out)" = 0
"$CAKE" logs --level=LOUD >bad-level.out 2>&1
check "bad --level exits 2" test $? -eq 2
check "bad --level names the value" grep -q "invalid --level 'LOUD'" bad-level.out
"$CAKE" logs --since=yesterday >bad-since.out 2>&1
check "bad --since exits 2" test $? -eq 2
"$CAKE" logs export --since=2024-01-15 --format=json --output=logs-export.json >export.out 2>&1
check "logs export exits 0" test $? -eq 0
check "logs export is an array of records" test \
	"$(json_get logs-export.json 'all(set(r) == {"time","level","component","message"} for r in d) and len(d) > 0')" = True
check "logs export leaves no temporary file" test -z "$(ls logs-export.json.tmp.* 2>/dev/null)"
"$CAKE" logs export --format=xml --output=x.json >export-bad.out 2>&1
check "logs export with bad format exits 2" test $? -eq 2

# Reading rotated files in order, and --follow across a rotation, on a log of our own.
mkdir -p fake
sed -e "s|^  file: .*|  file: $PWD/fake/cake.log|" cake_config.yaml >fake.yaml
check "fake config names the fake log" grep -q "fake/cake.log" fake.yaml
printf '2026-01-01T00:00:01.000Z INFO  [operator] first\n' >fake/cake.log.2
printf '2026-01-01T00:00:02.000Z INFO  [operator] second\n' >fake/cake.log.1
printf '2026-01-01T00:00:03.000Z ERROR [operator] third\nTraceback line\n' >fake/cake.log
"$CAKE" logs --config=fake.yaml >fake.out 2>&1
check "logs read rotated files in order" test "$(awk '{print $4}' fake.out | head -3 | tr '\n' ' ')" = "first second third "
"$CAKE" logs --config=fake.yaml --level=ERROR >fake-error.out 2>&1
check "continuation lines follow their record" test "$(tail -1 fake-error.out)" = "Traceback line"
"$CAKE" logs --config=fake.yaml --follow >follow.out 2>&1 &
follow_pid=$!
check "follow prints the existing lines" wait_for 10 file_contains follow.out "third"
printf '2026-01-01T00:00:04.000Z INFO  [operator] fourth\n' >>fake/cake.log
check "follow prints an appended line" wait_for 10 file_contains follow.out "fourth"
mv fake/cake.log fake/cake.log.3
printf '2026-01-01T00:00:05.000Z INFO  [operator] fifth\n' >fake/cake.log
check "follow survives rotation" wait_for 10 file_contains follow.out "fifth"
kill "$follow_pid"
wait "$follow_pid" 2>/dev/null

# The audit log, written as the command gate writes it.
cat >"$CAKE_HOME/audit.log" <<'JSON'
{"time":"2023-12-31T23:59:59.000Z","user":"dev","uid":1000,"pid":10,"actor":"gate","action":"command","target":"ls","decision":"allow","details":null}
{"time":"2024-01-02T10:00:00.000Z","user":"dev","uid":1000,"pid":11,"actor":"gate","action":"command","target":"rm -rf \"/\", now","decision":"block","details":"line one\nline two"}
{"time":"2024-01-03T10:00:00.000Z","user":"dev","uid":1000,"pid":12,"actor":"cli","action":"config.set","target":"strictness","decision":"ok","details":"balanced -> paranoid"}
JSON
chmod 600 "$CAKE_HOME/audit.log"
"$CAKE" audit --last=2 >audit.out 2>&1
check "audit exits 0" test $? -eq 0
check "audit shows the newest entries" test "$(grep -c '^20' audit.out)" = 2
check "audit shows the decision" grep -q 'gate command  block' audit.out
"$CAKE" audit export --format=csv --since=2024-01-01 --output=audit.csv >audit-export.out 2>&1
check "audit export exits 0" test $? -eq 0
check "audit export parses as CSV" python3 - <<'PY'
import csv, sys
rows = list(csv.reader(open("audit.csv", newline="")))
assert rows[0] == ["time", "user", "uid", "pid", "actor", "action", "target", "decision", "details"], rows[0]
assert len(rows) == 3, rows
assert rows[1][6] == 'rm -rf "/", now', rows[1]
assert rows[1][8] == "line one\nline two", rows[1]
PY
"$CAKE" audit --last=0 >audit-bad.out 2>&1
check "audit with bad --last exits 2" test $? -eq 2

# Security check: CI runs as root, which the check must report.
chmod 600 cake_config.yaml
"$CAKE" security check >security.out 2>&1
rc=$?
check "security check prints the config mode" grep -q '^✓ Config file permissions: 600' security.out
check "security check prints the database mode" grep -q '^✓ Database file permissions: 600' security.out
check "security check sees audit enabled" grep -q '^✓ Audit logging enabled' security.out
check "security check finds no world-writable directory" grep -q '^✓ No world-writable directories' security.out
check "security check lists sqlite3" grep -Eq '^    sqlite3 +[0-9]' security.out
if [[ $(id -u) -eq 0 ]]; then
	check "security check flags root" grep -q '^✗ Running as root' security.out
	check "security check fails as root" test $rc -eq 1
	check "security check prints FAILED" grep -q '^Security check FAILED' security.out
else
	check "security check passes" test $rc -eq 0
	check "security check prints PASSED" grep -q '^Security check PASSED' security.out
fi
mkdir -p "$CAKE_HOME/open"
chmod 777 "$CAKE_HOME/open"
chmod 644 cake_config.yaml
"$CAKE" security check >security-bad.out 2>&1
check "security check with problems exits 1" test $? -eq 1
check "security check flags the config mode" grep -q '^✗ Config file permissions: 644' security-bad.out
check "security check names the open directory" grep -q "$CAKE_HOME/open" security-bad.out
chmod 600 cake_config.yaml
rmdir "$CAKE_HOME/open"

# The post-deploy script.
CAKE_BIN="$CAKE" CAKE_HEALTH_PORT=$health_port CAKE_METRICS_PORT=$metrics_port \
	bash "$CAKE_SOURCE_DIR/ops/post_deploy_health_check.sh" >postdeploy.out 2>&1
check "post-deploy check exits 0" test $? -eq 0
check "post-deploy check passes" grep -q '^Health check PASSED$' postdeploy.out

"$CAKE" stop >stop.out 2>&1
check "stop exits 0" test $? -eq 0
check "supervisor exits" wait_for 10 process_gone "$E2E_START_PID"
wait "$E2E_START_PID" 2>/dev/null

"$CAKE" health >health-after.out 2>&1
check "health after stop exits 1" test $? -eq 1
CAKE_BIN="$CAKE" CAKE_HEALTH_PORT=$health_port CAKE_METRICS_PORT=$metrics_port \
	bash "$CAKE_SOURCE_DIR/ops/post_deploy_health_check.sh" >postdeploy-down.out 2>&1
check "post-deploy check fails after stop" test $? -eq 1
check "post-deploy check prints FAIL" grep -q '^FAIL: ' postdeploy-down.out

e2e_finish
