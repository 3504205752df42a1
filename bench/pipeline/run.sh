#!/usr/bin/env bash
# Measures the time from an error line written by the agent to the arrival
# of its correction on the agent's stdin, through the whole live tree:
# supervisor, watchdog, recall, operator and the exec adapter. The agent
# (bench/pipeline/agent.c) writes COUNT distinct ModuleNotFoundError lines,
# one at a time, each after the previous correction arrived and a GAP_MS
# pause, and times each one with CLOCK_MONOTONIC.
#
# usage: bench/pipeline/run.sh [COUNT] [GAP_MS]   (default 2000 errors, 5 ms)
#   BUILD_DIR          release build to use or create (default: build-bench)
#   CAKE_BENCH_TRACE=1 then runs 200 more errors under `perf trace` and
#                      prints the time of each hop (bench/pipeline/breakdown.py)
# Prints the latency percentiles and the supervisor's own "Detected ... in
# N ms" figures (pipe read to detection).
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$source_dir/build-bench}
count=${1:-2000}
gap_ms=${2:-5}

# Sanitizers would dominate the numbers, so the benchmark uses its own release build.
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCAKE_SANITIZE=OFF \
	-DCAKE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j2 >/dev/null
cake="$build_dir/bin/cake"
agent="$build_dir/bench_pipeline_agent"
cc -O2 -std=gnu11 -Wall -Wextra -o "$agent" "$source_dir/bench/pipeline/agent.c"

work=$(mktemp -d "${TMPDIR:-/tmp}/cake-bench-pipeline.XXXXXX")
trap 'CAKE_HOME="$work/home" "$cake" stop --force >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
export CAKE_HOME="$work/home"
mkdir -p "$CAKE_HOME"
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
YAML
"$cake" db upgrade >/dev/null

echo "machine: $(nproc) cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "errors: $count, pause after each correction: $gap_ms ms"
# The agent's exit 0 ends the session, so `cake start` returns when the agent is done.
status=0
timeout $((count * (gap_ms + 100) / 1000 + 60)) \
	"$cake" start --adapter=exec -- "$agent" "$count" "$gap_ms" "$work/samples.txt" \
	>start.out 2>start.err || status=$?
if [[ $status -ne 0 || ! -s samples.txt ]]; then
	echo "bench/pipeline: cake start exited with status $status; its log:" >&2
	tail -n 40 start.err >&2
	exit 1
fi

# Prints "count p50 p90 p99 max" of the numbers on stdin, in the unit they are in.
summary() {
	sort -g | awk '{ v[NR] = $1 }
		function rank(p) { r = int(p * NR + 0.999999); return v[r < 1 ? 1 : r] }
		END { printf "%d %s %s %s %s\n", NR, rank(0.5), rank(0.9), rank(0.99), v[NR] }'
}

echo
echo "| measurement | samples | p50 ms | p90 ms | p99 ms | max ms |"
echo "| --- | --- | --- | --- | --- | --- |"
awk '$1 != "missed" { printf "%.3f\n", $2 / 1e6 }' samples.txt | summary |
	awk '{ printf "| error line to correction on stdin | %d | %.3f | %.3f | %.3f | %.3f |\n", $1, $2, $3, $4, $5 }'
grep -o 'Detected [A-Za-z]* on stderr in [0-9.]* ms' start.err | awk '{ print $(NF - 1) }' | summary |
	awk '{ printf "| supervisor: pipe read to detection | %d | %.1f | %.1f | %.1f | %.1f |\n", $1, $2, $3, $4, $5 }'
echo
echo "errors without a correction within 10 s: $(awk '$1 == "missed" { print $2 }' samples.txt)"

if [[ ${CAKE_BENCH_TRACE:-0} == 1 ]]; then
	echo
	perf trace -o trace.txt -e write,read,sendto,writev -- \
		"$cake" start --adapter=exec -- "$agent" 200 "$gap_ms" "$work/traced.txt" \
		>trace.out 2>trace.err
	python3 "$source_dir/bench/pipeline/breakdown.py" trace.txt
fi
