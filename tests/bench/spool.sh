#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# spool: what the local spool costs and how well group commit batches. Redis
# is left unreachable, so every request is appended to the spool and fsynced
# before its 202; wrk (CPU 1) drives hookstream (CPU 0) with the same 800-byte
# notifications as bench.sh. Reports requests/s, latency and events per
# fdatasync (hookstream_spool_appends_total / hookstream_spool_syncs_total),
# then starts Redis and times the replay. A measurement, not a test.
#
#   tests/bench/spool.sh [--duration S] [--connections N] [--dir DIR]
#
# DIR (default: a new directory under /var/tmp) should be on the disk the
# spool would use in production: tmpfs makes fdatasync free.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$ROOT/tests/bench/common.sh"
BUILD=${HOOKSTREAM_BUILD_DIR:-$ROOT/build}
DURATION=5
CONNECTIONS=64
DIR=
while [ $# -gt 0 ]; do
	case $1 in
	--duration) DURATION=$2; shift ;;
	--connections) CONNECTIONS=$2; shift ;;
	--dir) DIR=$2; shift ;;
	*) echo "usage: $0 [--duration S] [--connections N] [--dir DIR]" >&2; exit 2 ;;
	esac
	shift
done
for tool in wrk redis-server redis-cli taskset curl; do
	command -v "$tool" >/dev/null || { echo "spool bench: needs $tool" >&2; exit 1; }
done
[ -x "$BUILD/hookstream" ] || { echo "spool bench: build first (ninja -C $BUILD)" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/hookstream-spool-bench.XXXXXX)
spool=${DIR:-$tmp/spool}
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
	[ -n "$DIR" ] && rm -f "$DIR"/seg-*.log "$DIR"/lock
	return 0
}
trap cleanup EXIT

read -r HTTP ADMIN REDIS < <(free_ports 3)
metric() { curl -s "http://127.0.0.1:$ADMIN/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

HOOKSTREAM_LISTEN=127.0.0.1:$HTTP HOOKSTREAM_ADMIN_LISTEN=127.0.0.1:$ADMIN \
HOOKSTREAM_ALLOW=127.0.0.1 HOOKSTREAM_REDIS_URL=redis://127.0.0.1:$REDIS \
HOOKSTREAM_SPOOL_DIR=$spool HOOKSTREAM_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
	taskset -c 0 "$BUILD/hookstream" 2>"$tmp/hookstream.log" &
pids+=($!)
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$ADMIN/readyz" >/dev/null && break
	sleep 0.05
done

echo "spool on $(df -P "$spool" | awk 'NR == 2 { print $1 }') ($(stat -f -c %T "$spool")), Redis unreachable"
BENCH_RUN=spool$$ taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
	-s "$ROOT/tests/bench/post.lua" "http://127.0.0.1:$HTTP/webhook" >"$tmp/wrk.txt"
grep -E "Requests/sec|Latency  |50%|99%|Non-2xx|Socket errors" "$tmp/wrk.txt" | sed 's/^/  /'
written=$(metric 'hookstream_spool_appends_total{result="written"}')
syncs=$(metric hookstream_spool_syncs_total)
bytes=$(metric hookstream_spool_bytes)
spooled=$(curl -s "http://127.0.0.1:$ADMIN/metrics" |
	awk '/^hookstream_events_total/ && /outcome="spooled"/ { s += $2 } END { print s + 0 }')
echo "  events spooled (202): $spooled; appends $written in $syncs fdatasyncs:" \
	"$(awk -v a="$written" -v s="$syncs" 'BEGIN { printf "%.1f", (s > 0 ? a / s : 0) }') events per fsync;" \
	"spool $((bytes / 1024)) KiB"

redis-server --port "$REDIS" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
	--dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
pids+=($!)
t0=$(date +%s.%N)
for _ in $(seq 600); do
	[ "$(metric hookstream_spool_records)" = 0 ] && break
	sleep 0.05
done
t1=$(date +%s.%N)
stored=$(redis-cli -p "$REDIS" xlen paynet:payment.status)
echo "  replay after Redis came up: $stored entries in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s" \
	"(records left: $(metric hookstream_spool_records))"
