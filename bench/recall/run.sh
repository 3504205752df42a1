#!/bin/sh
# Builds and runs the recall benchmark: store_record_at plus store_lookup,
# and store_find_similar, at 10 thousand and 1 million rows.
#
# usage: bench/recall/run.sh [BUILD_DIR]
# BUILD_DIR is a configured CMake build of CAKE (default build); the
# benchmark takes the embedded schema from it. The database lives in a
# temporary directory under TMPDIR, so TMPDIR picks the file system measured.
set -eu

source_dir=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=${1:-$source_dir/build}
schema_c=$build_dir/generated/schema_embed.c

if [ ! -f "$schema_c" ]; then
	cmake --build "$build_dir" --target cakecore >/dev/null 2>&1 || true
fi
if [ ! -f "$schema_c" ]; then
	echo "run.sh: $schema_c is missing; configure and build CAKE in $build_dir first" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cake-bench-recall.XXXXXX")
trap 'rm -rf "$work"' EXIT

# shellcheck disable=SC2046
cc -O2 -std=gnu11 -DCAKE_DATA_SUBDIR=\"share/cake\" -DCAKE_LIBEXEC_SUBDIR=\"libexec/cake\" -I"$source_dir" -I"$source_dir/common" -I"$source_dir/recall" \
	-o "$work/bench_recall" "$source_dir/bench/recall/bench_recall.c" \
	"$source_dir/recall/store.c" "$source_dir/common/paths.c" "$source_dir/common/proto.c" \
	"$schema_c" $(pkg-config --cflags --libs sqlite3)

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
	"$(nproc) cores; SQLite $(pkg-config --modversion sqlite3);" \
	"file system of $work: $(stat -f -c %T "$work")"
"$work/bench_recall" "$work" 10000 1000000
