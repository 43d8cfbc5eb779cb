#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scaling: how hookstream's cost grows with body size, and its memory with
# 1,000 open keep-alive connections. Redis (AOF everysec) and hookstream share
# CPU 0, wrk runs on CPU 1, full path as in bench.sh (unique event ids, 202
# after Redis acknowledged). A measurement, not a test.
#
#   tests/bench/scaling.sh [--duration S]
#
# Prints peak RSS with 1,000 connections sending at once (wrk -c1000) and
# with 1,000 idle keep-alive connections held open; then, per body size
# (1 KiB, 16 KiB, 256 KiB, 1 MiB): requests/s, MB/s of bodies, p50/p99 and
# the peak RSS so far.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$ROOT/tests/bench/common.sh"
BUILD=${HOOKSTREAM_BUILD_DIR:-$ROOT/build}
DURATION=5
[ "${1:-}" = "--duration" ] && DURATION=$2
for tool in wrk redis-server redis-cli taskset curl python3; do
	command -v "$tool" >/dev/null || { echo "scaling: needs $tool" >&2; exit 1; }
done
ulimit -n 8192
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

read -r REDIS HTTP ADMIN < <(free_ports 3)
taskset -c 0 redis-server --port "$REDIS" --bind 127.0.0.1 --save "" --appendonly yes \
	--appendfsync everysec --dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
pids+=($!)
sleep 0.3
HOOKSTREAM_LISTEN=127.0.0.1:$HTTP HOOKSTREAM_ADMIN_LISTEN=127.0.0.1:$ADMIN \
HOOKSTREAM_ALLOW=127.0.0.1 HOOKSTREAM_REDIS_URL=redis://127.0.0.1:$REDIS \
HOOKSTREAM_MAX_BODY=2097152 HOOKSTREAM_STREAM_MAXLEN=2000 HOOKSTREAM_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
	taskset -c 0 "$BUILD/hookstream" 2>"$tmp/hookstream.log" &
hs=$!
pids+=("$hs")
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$ADMIN/readyz" >/dev/null && break
	sleep 0.05
done
hwm() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$hs/status"; }
rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$hs/status"; }

echo "1,000 connections:"
out=$(BENCH_RUN=c1000 taskset -c 1 wrk -t1 -c1000 -d"${DURATION}s" \
	-s "$ROOT/tests/bench/post.lua" "http://127.0.0.1:$HTTP/webhook")
echo "  wrk -c1000: $(sed -n 's/^bench .*rps=\([0-9.]*\).*/\1/p' <<<"$out") req/s," \
	"p99 $(awk -v v="$(sed -n 's/^bench .*p99_us=\([0-9]*\).*/\1/p' <<<"$out")" 'BEGIN { print v / 1000 }') ms," \
	"peak RSS $(hwm) MiB"
python3 - "$HTTP" "$ADMIN" <<'PY' &
import socket, sys, time, json
port, admin = int(sys.argv[1]), int(sys.argv[2])
body = json.dumps({"endToEndId": "E2E-IDLE", "paymentStatus": {"code": "ACSC", "substate": "CLEARED"}}).encode()
req = (b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       b"Content-Length: %d\r\n\r\n" % len(body)) + body
conns = []
for i in range(1000):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    conns.append(s)
for s in conns:
    s.recv(4096)
time.sleep(30)
PY
holder=$!
pids+=("$holder")
for _ in $(seq 300); do
	n=$(curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '$1 == "hookstream_open_connections" { print $2 }')
	[ "${n:-0}" -ge 1000 ] && break
	sleep 0.1
done
echo "  1,000 idle keep-alive connections held open: open_connections=$n, RSS now $(rss) MiB, peak $(hwm) MiB"
kill "$holder" 2>/dev/null || true

echo "body size scaling (wrk -t1 -c64, ${DURATION}s each, MAXLEN ~2000 per stream):"
printf "  %-9s %10s %10s %9s %9s %12s\n" body req/s MB/s p50 p99 "peak RSS"
for size in 1024 16384 262144 1048576; do
	out=$(BODY_BYTES=$size BENCH_RUN=s$size taskset -c 1 wrk -t1 -c64 -d"${DURATION}s" \
		-s "$ROOT/tests/bench/post.lua" "http://127.0.0.1:$HTTP/webhook")
	rps=$(sed -n 's/^bench .*rps=\([0-9.]*\).*/\1/p' <<<"$out")
	p50=$(sed -n 's/^bench p50_us=\([0-9]*\).*/\1/p' <<<"$out")
	p99=$(sed -n 's/^bench .*p99_us=\([0-9]*\).*/\1/p' <<<"$out")
	bad=$(sed -n 's/^bench non2xx=\([0-9]*\) connect=\([0-9]*\) read=\([0-9]*\).*/\1 \2 \3/p' <<<"$out")
	printf "  %-9s %10.0f %10.1f %7.1fms %7.1fms %9s MiB%s\n" "$((size / 1024))KiB" "$rps" \
		"$(awk -v r="$rps" -v s="$size" 'BEGIN { print r * s / 1e6 }')" \
		"$(awk -v v="$p50" 'BEGIN { print v / 1000 }')" "$(awk -v v="$p99" 'BEGIN { print v / 1000 }')" \
		"$(hwm)" "$([ "$bad" = "0 0 0" ] || echo "  (non-2xx/connect/read errors: $bad)")"
done

