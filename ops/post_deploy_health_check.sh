#!/usr/bin/env bash
# Checks a freshly deployed CAKE instance: the supervisor runs, /health
# reports healthy, /metrics exports cake_ metrics, and the detection
# pipeline classifies a known error. Prints one line per check and
# "Health check PASSED", or a FAIL line and exits 1.
#
# Environment:
#   CAKE_BIN           the cake executable (default: cake on PATH)
#   CAKE_HTTP_ADDRESS  address of the endpoints (default 127.0.0.1)
#   CAKE_HEALTH_PORT   port of /health (default 8080)
#   CAKE_METRICS_PORT  port of /metrics (default 9090)
#   CAKE_HOME          the instance's state directory, as for cake itself
set -u

cake=${CAKE_BIN:-cake}
address=${CAKE_HTTP_ADDRESS:-127.0.0.1}
health_port=${CAKE_HEALTH_PORT:-8080}
metrics_port=${CAKE_METRICS_PORT:-9090}

fail() {
	echo "FAIL: $1"
	shift
	for line in "$@"; do
		echo "$line"
	done
	exit 1
}

echo "Running post-deployment health check..."

if ! command -v "$cake" >/dev/null 2>&1; then
	fail "cake executable not found ($cake); set CAKE_BIN or add it to PATH"
fi
if ! command -v curl >/dev/null 2>&1; then
	fail "curl not found; install curl"
fi

# 1. The supervisor replies on its control socket and reports healthy.
if ! status=$("$cake" health --timeout=5 2>&1); then
	fail "CAKE process not running or not healthy" "Response: $status"
fi

# 2. The health endpoint.
health=$(curl -sS --max-time 5 "http://$address:$health_port/health" 2>&1)
if [[ $health != *'"status":"healthy"'* ]]; then
	fail "Health endpoint not responding correctly" "Response: $health"
fi

# 3. The metrics endpoint.
metrics=$(curl -sS --max-time 5 "http://$address:$metrics_port/metrics" 2>&1 | grep '^cake_')
if [[ -z $metrics ]]; then
	fail "Metrics not being exported from http://$address:$metrics_port/metrics"
fi

# 4. The detection pipeline classifies a known error.
if ! result=$(echo "ModuleNotFoundError: No module named 'nonexistent_module'" | "$cake" test-intervention --json 2>&1); then
	fail "Intervention system not working" "Response: $result"
fi
if [[ $result != *'"detected":true'* && $result != *'"detected": true'* ]]; then
	fail "Intervention system did not detect a missing module" "Response: $result"
fi

echo "✓ Process running"
echo "✓ Health endpoint OK"
echo "✓ Metrics exported"
echo "✓ Intervention system OK"
echo "Health check PASSED"
