#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# workers: throughput with HOOKSTREAM_WORKERS=1 and =2 when both cores are
# available (nothing pinned: Redis with AOF everysec, hookstream and wrk -t2
# share the machine's 2 cores, as a small VM running all three would). Same
# 800-byte notifications and full path as bench.sh. A measurement, not a test.
#
#   tests/bench/workers.sh [--duration S] [--runs N]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$ROOT/tests/bench/common.sh"
BUILD=${HOOKSTREAM_BUILD_DIR:-$ROOT/build}
DURATION=10
RUNS=3
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	*) echo "usage: $0 [--duration S] [--runs N]" >&2; exit 2 ;;
	esac
	shift
done
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
REDIS=$(free_ports 1)
redis-server --port "$REDIS" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
	--dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
pids+=($!)
sleep 0.3

echo "wrk -t2 -c64 ${DURATION}s, nothing pinned, median of $RUNS runs:"
for workers in 1 2; do
	read -r HTTP ADMIN < <(free_ports 2)
	HOOKSTREAM_WORKERS=$workers HOOKSTREAM_LISTEN=127.0.0.1:$HTTP \
	HOOKSTREAM_ADMIN_LISTEN=127.0.0.1:$ADMIN HOOKSTREAM_ALLOW=127.0.0.1 \
	HOOKSTREAM_REDIS_URL=redis://127.0.0.1:$REDIS HOOKSTREAM_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
		"$BUILD/hookstream" 2>"$tmp/hookstream-$workers.log" &
	hs=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$ADMIN/readyz" >/dev/null && break
		sleep 0.05
	done
	results=()
	for run in $(seq "$RUNS"); do
		out=$(BENCH_RUN=w$workers$run wrk -t2 -c64 -d"${DURATION}s" \
			-s "$ROOT/tests/bench/post.lua" "http://127.0.0.1:$HTTP/webhook")
		results+=("$(sed -n 's/^bench .*rps=\([0-9.]*\).*/\1/p' <<<"$out") $(sed -n 's/^bench .*p99_us=\([0-9]*\).*/\1/p' <<<"$out") $(sed -n 's/^bench non2xx=\([0-9]*\).*/\1/p' <<<"$out")")
	done
	median=$(printf '%s\n' "${results[@]}" | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
	read -r rps p99 bad <<<"$median"
	printf "  workers=%s: %8.0f req/s, p99 %6.1f ms, non-2xx %s (runs: %s)\n" "$workers" "$rps" \
		"$(awk -v v="$p99" 'BEGIN { print v / 1000 }')" "$bad" \
		"$(printf '%s\n' "${results[@]}" | awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $1 }')"
	kill -TERM "$hs"
	wait "$hs" || true
done
