# Shared helpers for the end-to-end tests. Each test sources this file, calls
# e2e_setup, then `check` for every condition; e2e_finish prints the
# "N passed, N failed" line and sets the exit status.
#
# Every test installs the build into a temporary prefix and runs the
# installed binaries with a private CAKE_HOME.

set -u

E2E_PASSED=0
E2E_FAILED=0

e2e_setup() {
	: "${CAKE_BUILD_DIR:?set CAKE_BUILD_DIR to the CMake build directory}"
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cake-e2e.XXXXXX")
	E2E_PREFIX="$E2E_TMP/prefix"
	cmake --install "$CAKE_BUILD_DIR" --prefix "$E2E_PREFIX" >"$E2E_TMP/install.log" 2>&1 || {
		echo "cannot install the build into $E2E_PREFIX:" >&2
		cat "$E2E_TMP/install.log" >&2
		exit 1
	}
	CAKE="$E2E_PREFIX/bin/cake"
	export CAKE_HOME="$E2E_TMP/home"
	unset CAKE_STRICTNESS CAKE_LOG_LEVEL CAKE_ENV CAKE_ADAPTER_PATH
	mkdir -p "$E2E_TMP/work"
	cd "$E2E_TMP/work" || exit 1
	trap e2e_cleanup EXIT
}

e2e_cleanup() {
	if [[ -n ${E2E_START_PID:-} ]] && kill -0 "$E2E_START_PID" 2>/dev/null; then
		kill -KILL "$E2E_START_PID" 2>/dev/null
	fi
	if [[ $E2E_FAILED -eq 0 ]]; then
		rm -rf "$E2E_TMP"
	else
		echo "kept $E2E_TMP for inspection" >&2
	fi
}

# check NAME COMMAND...: runs COMMAND and records a pass when it succeeds.
check() {
	local name=$1
	shift
	if "$@"; then
		E2E_PASSED=$((E2E_PASSED + 1))
		echo "ok   $name"
	else
		E2E_FAILED=$((E2E_FAILED + 1))
		echo "FAIL $name"
	fi
}

# wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ((SECONDS < deadline)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

file_contains() {
	grep -qF -- "$2" "$1" 2>/dev/null
}

# process_gone PID: true when PID has exited. A zombie counts as gone: it has
# exited, and whether its new parent reaps it is up to that parent (a
# container's init may not).
process_gone() {
	local state
	kill -0 "$1" 2>/dev/null || return 0
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
	[[ $state == Z ]]
}

# json_get FILE EXPRESSION: prints a value from a JSON file, EXPRESSION in Python syntax on `d`.
json_get() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http_get URL OUTPUT: stores the body in OUTPUT and prints the status code.
http_get() {
	python3 - "$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
        body, code = response.read(), response.status
except urllib.error.HTTPError as error:
    body, code = error.read(), error.code
open(sys.argv[2], "wb").write(body)
print(code)
PY
}

e2e_finish() {
	# Under ASan and UBSan, the binaries print their reports to the output
	# files the test kept; any report fails the test.
	if grep -rlE "ERROR: [A-Za-z]+Sanitizer|runtime error:" "$E2E_TMP/work" >"$E2E_TMP/sanitizer.txt" 2>/dev/null; then
		E2E_FAILED=$((E2E_FAILED + 1))
		echo "FAIL sanitizer reports in: $(tr '\n' ' ' <"$E2E_TMP/sanitizer.txt")"
	else
		E2E_PASSED=$((E2E_PASSED + 1))
		echo "ok   no sanitizer report"
	fi
	echo "$E2E_PASSED passed, $E2E_FAILED failed"
	[[ $E2E_FAILED -eq 0 ]]
}
