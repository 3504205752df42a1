#!/usr/bin/env bash
# One command from a fresh Debian 12 checkout to a result:
#   packaging/quickstart.sh demo   installs the packages, builds, runs `cake demo`
#   packaging/quickstart.sh test   installs the packages, builds with ASan and
#                                  UBSan, runs the whole test suite
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}

case "$mode" in
demo)
	build="$top/build"
	sanitize=OFF
	;;
test)
	build="$top/build-test"
	sanitize=ON
	;;
*)
	echo "usage: packaging/quickstart.sh demo|test" >&2
	exit 2
	;;
esac

if [[ ${CAKE_SKIP_DEPS:-0} != 1 ]]; then
	"$top/packaging/install-deps.sh"
fi

cmake -S "$top" -B "$build" -DCAKE_SANITIZE="$sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"

if [[ $mode == demo ]]; then
	exec "$build/bin/cake" demo
fi

# The sanitizers stop at the first error, and a leak fails the test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 300 -j2
