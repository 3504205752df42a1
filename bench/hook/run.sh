#!/usr/bin/env bash
# Measures the Claude Code PreToolUse hook round trip, from process start
# to the decision on stdout, of `cake hook claude-code` and of cc-safety-net
# (the npm package, run as its Claude Code plugin runs it) on the same
# events: every command of tests/data/gate/corpus.tsv as a Bash PreToolUse
# event. Prints the timings, the two hooks' agreement on the corpus, and
# CAKE's timing again with an instance running (attach mode of the
# claude-code adapter).
#
# usage: bench/hook/run.sh [ROUNDS]   (default 5 passes over the corpus)
#   BUILD_DIR  release build to use or create (default: build-bench); the
#              cc-safety-net package is installed inside it
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$source_dir/build-bench}
rounds=${1:-5}
safety_net_version=2.4.5
safety_net_dir="$build_dir/cc-safety-net-$safety_net_version"

# Sanitizers would dominate the numbers, so the benchmark uses its own release build.
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCAKE_SANITIZE=OFF \
	-DCAKE_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j2 >/dev/null
cake="$build_dir/bin/cake"
cc -O2 -std=gnu11 -Wall -Wextra -o "$build_dir/bench_hook" "$source_dir/bench/hook/bench_hook.c"

if [[ ! -f $safety_net_dir/node_modules/cc-safety-net/package.json ]]; then
	npm install --prefix "$safety_net_dir" --no-audit --no-fund --no-save \
		"cc-safety-net@$safety_net_version" >/dev/null
fi
safety_net_js="$safety_net_dir/node_modules/cc-safety-net/dist/bin/cc-safety-net.js"
node=$(command -v node)

work=$(mktemp -d "${TMPDIR:-/tmp}/cake-bench-hook.XXXXXX")
cleanup() {
	if [[ -n ${instance_pid:-} ]]; then
		"$cake" stop --force >/dev/null 2>&1 || true
		wait "$instance_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# Both hooks get the same private HOME: cc-safety-net writes its audit log there.
export HOME="$work/home" CAKE_HOME="$work/home"
mkdir -p "$HOME" "$work/project"
cat >"$CAKE_HOME/cake_config.yaml" <<YAML
version: "1.0"
strictness: balanced
escalation:
  max_strikes: 4
  cooldown_minutes: 5
http:
  health_port: 0
  metrics_port: 0
YAML

echo "machine: $(nproc) cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "cc-safety-net $("$node" "$safety_net_js" --version | tr -d '\n'), node $("$node" --version)"
echo "corpus: $(grep -cv '^#' "$source_dir/tests/data/gate/corpus.tsv") commands, $rounds rounds"
echo
echo "No CAKE instance running (the hook decides in its own process):"
echo
"$build_dir/bench_hook" -n "$rounds" "$source_dir/tests/data/gate/corpus.tsv" "$work/project" \
	"$cake" "$node" "$safety_net_js"

# With an instance, the hook also reports each PreToolUse to the adapter over its socket.
"$cake" db upgrade >/dev/null
"$cake" start --adapter=claude-code >"$work/start.out" 2>"$work/start.err" &
instance_pid=$!
for _ in $(seq 100); do
	[[ -S $CAKE_HOME/claude-code.sock ]] && grep -q "CAKE Status: RUNNING" "$work/start.out" && break
	sleep 0.1
done
if [[ ! -S $CAKE_HOME/claude-code.sock ]]; then
	echo "bench/hook: the claude-code adapter did not open its socket; see its log:" >&2
	cat "$work/start.err" >&2
	exit 1
fi
echo
echo "CAKE instance running (attach mode of the claude-code adapter):"
echo
"$build_dir/bench_hook" -n "$rounds" -l "cake hook claude-code, instance running" \
	"$source_dir/tests/data/gate/corpus.tsv" "$work/project" "$cake"
