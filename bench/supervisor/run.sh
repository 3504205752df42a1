#!/usr/bin/env bash
# Measures, on a release build of CAKE:
#   1. the time from a worker's death (SIGKILL) to its replacement's
#      handshake, as the supervisor logs it ("ready ..., N ms after its
#      predecessor exited"), over ROUNDS kills of each worker;
#   2. the resident memory of the whole tree (supervisor, three workers,
#      adapter; the agent excluded): RSS from /proc/PID/status, which counts
#      shared library pages once per process, and PSS from
#      /proc/PID/smaps_rollup, which divides shared pages among the
#      processes that map them, so the PSS sum is the tree's real footprint.
# usage: bench/supervisor/run.sh [ROUNDS]   (default 20)
# Prints a Markdown table; docs/benchmarks.md records a run.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-20}
build="$top/build-bench"
work=$(mktemp -d "${TMPDIR:-/tmp}/cake-bench.XXXXXX")
trap 'CAKE_HOME="$work/home" "$build/bin/cake" stop --force >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCAKE_SANITIZE=OFF -DCAKE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
cake="$build/bin/cake"

export CAKE_HOME="$work/home"
cd "$work"
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
  restart_limit: 100
  restart_window_seconds: 1
  healthy_reset_seconds: 1
YAML
"$cake" db upgrade >/dev/null
"$cake" start --adapter=exec -- sleep 3600 >start.out 2>start.err &
for _ in $(seq 100); do grep -q "CAKE Status: RUNNING" start.out && break; sleep 0.1; done

pid_of() {
	"$cake" status | python3 -c "import json,sys; print(json.load(sys.stdin)['processes']['$1']['pid'])"
}

rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

pss_kib() {
	awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"
}

total_rss=0
total_pss=0
for role in controller watchdog recall operator adapter; do
	pid=$(pid_of "$role")
	rss=$(rss_kib "$pid")
	pss=$(pss_kib "$pid")
	printf '%s %s %s\n' "$role" "$rss" "$pss" >>rss.txt
	total_rss=$((total_rss + rss))
	total_pss=$((total_pss + pss))
done

for round in $(seq "$rounds"); do
	for role in watchdog recall operator; do
		old=$(pid_of "$role")
		kill -KILL "$old"
		# Each kill waits past the 1 s restart window, so every restart is the immediate first one.
		sleep 1.1
	done
done

grep -o '[a-z]* ready (pid [0-9]*), [0-9.]* ms after its predecessor exited' start.err |
	awk '{print $1, $5}' >latency.txt

echo "| worker | restarts | median ms | p99 ms | max ms |"
echo "|---|---|---|---|---|"
for role in watchdog recall operator; do
	awk -v role="$role" '$1 == role {print $2}' latency.txt | sort -n >"$role.txt"
	n=$(wc -l <"$role.txt")
	median=$(awk -v n="$n" 'NR == int((n + 1) / 2)' "$role.txt")
	p99=$(awk -v n="$n" 'NR == int(n * 0.99 + 0.999)' "$role.txt")
	max=$(tail -n 1 "$role.txt")
	echo "| $role | $n | $median | $p99 | $max |"
done
echo
echo "| process | RSS KiB | PSS KiB |"
echo "|---|---|---|"
while read -r role rss pss; do echo "| $role | $rss | $pss |"; done <rss.txt
echo "| whole tree | $total_rss | $total_pss |"
