#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# instructions: hookstream's own instructions per request, counted by
# valgrind's callgrind over a fixed load (repeatable where timings on a shared
# VM are not). Two loads of N and 3N sequential keep-alive POSTs of a
# DuitNow-Pay-style body with fresh event ids are measured and the difference
# divided by 2N, so start-up and shutdown cancel out. Redis runs plainly
# beside it (not counted). Compare two builds by running it on each:
#
#   tests/bench/instructions.sh                       # build/hookstream
#   tests/bench/instructions.sh --bin OTHER/hookstream
#
# Prints one line; it is a measurement, not a test.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$ROOT/tests/bench/common.sh"
BIN="${HOOKSTREAM_BUILD_DIR:-$ROOT/build}/hookstream"
N=500

while [ $# -gt 0 ]; do
	case "$1" in
	--bin) BIN=$2; shift 2 ;;
	--requests) N=$2; shift 2 ;;
	-h | --help)
		echo "usage: tests/bench/instructions.sh [--bin PATH] [--requests N (default 500)]"
		exit 0
		;;
	*) echo "unknown argument $1" >&2; exit 2 ;;
	esac
done
for tool in valgrind redis-server redis-cli python3; do
	command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
[ -x "$BIN" ] || { echo "no binary at $BIN (build first)" >&2; exit 2; }

TMP=$(mktemp -d)
REDIS_PID=""
HS_PID=""
cleanup() {
	stop_pid "$HS_PID"
	stop_pid "$REDIS_PID"
	rm -rf "$TMP"
}
trap cleanup EXIT

# total_ir REQUESTS: callgrind's instruction total for one run of hookstream
# that serves REQUESTS posts, start to exit.
total_ir() {
	local n=$1 rport hport aport
	read -r rport hport aport < <(free_ports 3)
	redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
		>"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	wait_for 10 redis-cli -p "$rport" ping
	start_hookstream "$TMP/hs.log" "$BIN" "$rport" "$hport" "$aport" \
		valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$TMP/cg.out"
	HS_PID=$!
	wait_for 60 python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$aport/readyz')"
	python3 - "$hport" "$n" <<'PY'
import http.client, json, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    body = json.dumps({"checkoutId": "c1", "endToEndId": f"E2E-IR-{i:08d}",
                       "paymentStatus": {"code": "ACSC", "substate": "CLEARED"},
                       "amount": {"value": "125.50", "currency": "MYR"}, "note": "x" * 400})
    c.request("POST", "/webhook", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status != 202:
        sys.exit(f"request {i}: HTTP {r.status}")
PY
	stop_pid "$HS_PID"
	HS_PID=""
	stop_pid "$REDIS_PID"
	REDIS_PID=""
	awk '/^summary:/ { print $2 }' "$TMP/cg.out"
}

a=$(total_ir "$N")
b=$(total_ir $((3 * N)))
echo "$BIN: $(((b - a) / (2 * N))) instructions per request (callgrind; $N and $((3 * N)) requests)"
