#!/usr/bin/env bash
# A rule added under watchdog.patterns in the config reaches the live
# watchdog and `cake test-intervention`; an invalid user rule is rejected
# with its file, line and key.
source "$(dirname "$0")/lib.sh"
e2e_setup

cat >cake_config.yaml <<'YAML'
version: "1.0"
strictness: balanced
escalation:
  max_strikes: 4
  cooldown_minutes: 5
http:
  health_port: 0
  metrics_port: 0
watchdog:
  patterns:
    - id: deploy.failed
      pattern: '^DEPLOY FAILED: (\w+)'
      error_type: DeployFailure
      severity: HIGH
      confidence: 0.9
      fix: Check the deploy log of $1
      reference: deploy/README.md
YAML
"$CAKE" db upgrade >/dev/null 2>&1

echo "DEPLOY FAILED: billing" | "$CAKE" test-intervention --json >local.json
check "in-process run uses the user rule" test "$(json_get local.json 'd["error_type"]')" = DeployFailure
check "in-process run renders its fix" test "$(json_get local.json 'd["intervention"]')" = \
	"Operator (CAKE): Stop. Check the deploy log of billing. See deploy/README.md."

"$CAKE" start --adapter=exec -- sh -c \
	'echo "DEPLOY FAILED: billing"; IFS= read -r line; printf "%s\n" "$line" > received.txt; exec sleep 300' \
	>start.out 2>start.err &
E2E_START_PID=$!
check "tree starts" wait_for 30 file_contains start.out "CAKE Status: RUNNING"
check "live watchdog uses the user rule" wait_for 30 file_contains received.txt \
	"Operator (CAKE): Stop. Check the deploy log of billing. See deploy/README.md."
"$CAKE" stop >/dev/null 2>&1
wait "$E2E_START_PID"
check "stop ends the tree" test $? -eq 0

sed 's/pattern: .*/pattern: "(unclosed"/' cake_config.yaml >bad.yaml
echo "DEPLOY FAILED: billing" | "$CAKE" test-intervention --config=bad.yaml >bad.out 2>&1
check "invalid user rule fails" test $? -ne 0
check "invalid user rule is located" grep -qE "bad.yaml:[0-9]+:[0-9]+: watchdog.patterns\[0\].pattern" bad.out

"$CAKE" start --adapter=exec --config=bad.yaml -- true >badstart.out 2>&1
check "start rejects an invalid user rule" test $? -eq 2
check "start names the invalid rule" grep -qE "bad.yaml:[0-9]+:[0-9]+: watchdog.patterns\[0\].pattern" badstart.out

e2e_finish
