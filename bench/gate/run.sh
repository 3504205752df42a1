#!/usr/bin/env bash
# Benchmarks the command gate on tests/data/gate/corpus.tsv: gate_check()
# throughput in process, and `cake gate check` from spawn to exit.
#
# usage: bench/gate/run.sh [ROUNDS]
#   BUILD_DIR           release build to use or create (default: build-bench)
#   CAKE_BENCH_CMAKE_ARGS  extra arguments for its cmake configure
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${BUILD_DIR:-$source_dir/build-bench}
rounds=${1:-5}

# Sanitizers would dominate the numbers, so the benchmark uses its own release build.
# shellcheck disable=SC2086
cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCAKE_SANITIZE=OFF \
	-DCAKE_BUILD_TESTS=OFF ${CAKE_BENCH_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" --target cake -j2 >/dev/null

libs=$(pkg-config --libs libevent sqlite3 libfyaml json-c libgit2 libarchive libpcre2-8)
# shellcheck disable=SC2086
cc -O2 -std=gnu11 -Wall -Wextra -I"$source_dir/common" -I"$build_dir/generated" \
	-o "$build_dir/bench_gate" "$source_dir/bench/gate/bench_gate.c" \
	"$build_dir/libcakecore.a" $libs -lm

home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
echo "machine: $(nproc) cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
HOME=$home CAKE_HOME=$home "$build_dir/bench_gate" "$source_dir/tests/data/gate/corpus.tsv" \
	"$build_dir/bin/cake" "$rounds"
