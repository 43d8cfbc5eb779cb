#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# script-cost: what hookstream's publish script (dedup GET + XADD + SET, in
# Lua) costs Redis per event, in instructions counted by valgrind's callgrind
# on redis-server: repeatable where timings on a shared VM are not. Redis runs
# with AOF everysec (no rewrites); the arguments are those of an entry
# hookstream stored for the bench's 800-byte body, with a fresh event id per
# event. Calls carry 1 event (a lone request) and 32 (a busy loop turn shares
# one call). Prints a report; it is a measurement, not a test.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/bench/script-cost.sh [--calls N] [--batch "1 32"] [--top N]

  --calls N      script calls measured per batch size (default 200)
  --batch LIST   events per call, one measurement each (default "1 32")
  --top N        also print the N costliest functions of the last measurement

Environment: HOOKSTREAM_BUILD_DIR (default <repo>/build), BENCH_KEEP=1 keeps
the temp dir. Needs valgrind, redis-server, redis-cli, redis-benchmark, wrk,
python3.
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$ROOT/tests/bench/common.sh"
CALLS=200
BATCHES="1 32"
TOP=0
while [ $# -gt 0 ]; do
	case $1 in
	--calls) [ $# -ge 2 ] || { usage >&2; exit 2; }; CALLS=$2; shift ;;
	--batch) [ $# -ge 2 ] || { usage >&2; exit 2; }; BATCHES=$2; shift ;;
	--top) [ $# -ge 2 ] || { usage >&2; exit 2; }; TOP=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "script-cost: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[[ $CALLS =~ ^[1-9][0-9]*$ && $TOP =~ ^[0-9]+$ ]] || { usage >&2; exit 2; }
for b in $BATCHES; do
	[[ $b =~ ^[1-9][0-9]*$ ]] || { echo "script-cost: --batch wants counts" >&2; exit 2; }
done

die() {
	echo "script-cost: $*" >&2
	exit 1
}
for tool in valgrind callgrind_control callgrind_annotate redis-server redis-cli redis-benchmark wrk python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
BUILD=${HOOKSTREAM_BUILD_DIR:-$ROOT/build}
ninja -C "$BUILD" hookstream >/dev/null || die "cannot build hookstream in $BUILD"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookstream-script-cost.XXXXXX")
REDIS_PID=
HS_PID=
cleanup() {
	stop_pid "$HS_PID"
	stop_pid "$REDIS_PID"
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "script-cost: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r REDIS_PORT HS_PORT HS_ADMIN < <(free_ports 3)
rcli() {
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

# redis-server under callgrind, counting nothing until told to.
mkdir "$TMP/redis"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/callgrind.out" \
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$TMP/redis" --save "" \
	--appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage 0 \
	--daemonize no --logfile "$TMP/redis/log" >"$TMP/valgrind.log" 2>&1 &
REDIS_PID=$!
wait_for 60 rcli PING || die "redis-server under valgrind did not start: $(tail -5 "$TMP/valgrind.log")"

# One entry as hookstream stores it for the bench's body.
start_hookstream "$TMP/hookstream.log" "$BUILD/hookstream" "$REDIS_PORT" "$HS_PORT" "$HS_ADMIN"
HS_PID=$!
wait_for 60 curl -sf "http://127.0.0.1:$HS_ADMIN/readyz" || die "hookstream not ready: $(tail -5 "$TMP/hookstream.log")"
wrk -t1 -c1 -d1s -s "$ROOT/tests/bench/post.lua" "http://127.0.0.1:$HS_PORT/webhook" >"$TMP/wrk.txt" 2>&1 ||
	die "wrk failed: $(cat "$TMP/wrk.txt")"
STREAM=paynet:payment.status
rcli --raw XRANGE "$STREAM" - + COUNT 1 | tail -n +2 >"$TMP/entry.fields"
stop_pid "$HS_PID"
HS_PID=
[ -s "$TMP/entry.fields" ] || die "hookstream stored no entry: $(tail -5 "$TMP/hookstream.log")"
mapfile -t ENTRY <"$TMP/entry.fields"
[ "${ENTRY[0]}" = event_id ] || die "unexpected entry layout: ${ENTRY[*]:0:2}"
ENTRY[1]=__rand_int__ # a fresh event id per event
ENTRY_BYTES=$(printf '%s' "${ENTRY[@]}" | wc -c)
rcli FLUSHALL >/dev/null
SHA=$(rcli SCRIPT LOAD "$(python3 "$ROOT/tests/bench/publish_script.py" "$ROOT/src/publish_ops.c")")
TTL_MS=$((604800 * 1000))
MAXLEN=1000000

# Ir (instructions) of the callgrind dump file $1.
dump_ir() {
	callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ && !ir { ir = $1; gsub(",", "", ir) } END { print ir }'
}

echo "hookstream publish script, Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')," \
	"AOF everysec, entry of ${#ENTRY[@]} arguments / $ENTRY_BYTES bytes, $CALLS calls per line:"
dump=0
for b in $BATCHES; do
	args=(EVALSHA "$SHA" $((2 * b)))
	for ((i = 0; i < b; i++)); do
		args+=("$STREAM" "{$STREAM}:seen:__rand_int__")
	done
	args+=("$TTL_MS" "$MAXLEN" "${#ENTRY[@]}")
	for ((i = 0; i < b; i++)); do
		args+=("${ENTRY[@]}")
	done
	bench() {
		redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 4 -n "$1" -r 1000000000 -q "${args[@]}" \
			>"$TMP/rb.txt" 2>&1 || die "redis-benchmark failed: $(tail -c 300 "$TMP/rb.txt")"
	}
	bench 20 # warm: the script compiled, the stream and keyspace allocated
	x0=$(rcli XLEN "$STREAM")
	callgrind_control -z "$REDIS_PID" >/dev/null 2>&1
	callgrind_control -i on "$REDIS_PID" >/dev/null 2>&1
	bench "$CALLS"
	callgrind_control -i off "$REDIS_PID" >/dev/null 2>&1
	callgrind_control -d "$REDIS_PID" >/dev/null 2>&1
	dump=$((dump + 1))
	file=$TMP/callgrind.out.$dump
	wait_for 30 test -s "$file" || die "no callgrind dump $file"
	sleep 0.5 # the dump is written by the valgrind'ed process; let it finish
	ir=$(dump_ir "$file")
	if [ -z "$ir" ] || [ "$ir" -le 0 ]; then
		die "callgrind counted nothing in $file"
	fi
	added=$(($(rcli XLEN "$STREAM") - x0))
	events=$((CALLS * b))
	printf '  %3d event(s) per call: %7d instructions per event (%d events, %d added to the stream; ids repeat at random)\n' \
		"$b" $((ir / events)) "$events" "$added"
done
if [ "$TOP" -gt 0 ]; then
	echo "costliest functions, last line (callgrind_annotate):"
	callgrind_annotate "$file" 2>/dev/null | grep -A "$((TOP + 1))" 'file:function' | tail -n "$TOP" || true
fi
