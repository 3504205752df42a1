#!/usr/bin/env bash
# `cake demo` from the installed binaries: the bundled agent's error is
# caught, corrected, and the program runs.
source "$(dirname "$0")/lib.sh"
e2e_setup

TMPDIR="$E2E_TMP" "$CAKE" demo >demo.out 2>&1
rc=$?
check "demo exits 0" test $rc -eq 0
check "demo shows the error" file_contains demo.out "No module named 'greeter'"
check "demo shows the detection" file_contains demo.out "Detected ImportError"
check "demo shows the intervention" \
	file_contains demo.out "Operator (CAKE): Stop. Run pip install greeter. See requirements.txt."
check "demo shows the resolution" file_contains demo.out "Hello, CAKE! The program runs."
[[ $rc -eq 0 ]] || cat demo.out

e2e_finish
