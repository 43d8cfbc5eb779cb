#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench: hookstream throughput and latency against its own redis-server (AOF
# everysec), next to a bare evhttp server that never touches Redis (the
# ceiling), and, when they are available, nginx "return 202" and the Node.js
# peer in ../shared/peers/node. Redis and the server under test share CPU 0,
# wrk runs alone on CPU 1. Prints a report; it is a measurement, not a test.
#
# Exit status: 0 report printed, 1 setup failed, 2 usage, 3 report printed but
# a delivery check failed (non-2xx answers, socket errors, XLEN mismatch).
set -euo pipefail

usage() {
	cat <<'EOF'
usage: tests/bench/bench.sh [--quick] [--duration S] [--connections N] [--no-aof-rewrite]

  --quick           one 5 s run per target instead of the median of three 10 s runs
  --duration S      seconds per run (default 10, or 5 with --quick)
  --connections N   wrk connections (default 64)
  --no-aof-rewrite  Redis with auto-aof-rewrite-percentage 0: AOF everysec as
                    before, without the rewrites (forks) a growing dataset causes

Environment: HOOKSTREAM_BUILD_DIR (default <repo>/build), NODE_PEER_DIR
(default <repo>/../shared/peers/node), BENCH_KEEP=1 keeps the temp dir,
BENCH_LOG_LEVEL (default info, hookstream's own default).
Needs wrk, redis-server, redis-cli, taskset, curl, python3 and 2 CPUs.
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/bench/common.sh
. "$ROOT/tests/bench/common.sh"
CMDLINE="tests/bench/bench.sh"
for a in "$@"; do
	CMDLINE+=" $(printf '%q' "$a")"
done

QUICK=0
DURATION=
CONNECTIONS=64
AOF_REWRITE_PCT=100 # redis-server's default
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--duration)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		DURATION=$2
		shift
		;;
	--duration=*) DURATION=${1#*=} ;;
	--connections)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		CONNECTIONS=$2
		shift
		;;
	--connections=*) CONNECTIONS=${1#*=} ;;
	--no-aof-rewrite) AOF_REWRITE_PCT=0 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	RUNS=1
	DURATION=${DURATION:-5}
else
	RUNS=3
	DURATION=${DURATION:-10}
fi
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || { echo "bench: --duration wants whole seconds" >&2; exit 2; }
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || { echo "bench: --connections wants a count" >&2; exit 2; }
WARMUP=2
BUILD=${HOOKSTREAM_BUILD_DIR:-$ROOT/build}
NODE_PEER=${NODE_PEER_DIR:-$ROOT/../shared/peers/node}
[ -d "$NODE_PEER" ] && NODE_PEER=$(cd "$NODE_PEER" && pwd)
LUA=$ROOT/tests/bench/post.lua
STREAM=paynet:payment.status
NODE_STREAM=webhooks:uncategorized

die() {
	echo "bench: $*" >&2
	exit 1
}
note() {
	echo "bench: $*" >&2
}

for tool in wrk redis-server redis-cli taskset curl python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ "$(nproc --all)" -ge 2 ] || die "needs 2 CPUs (server on CPU 0, wrk on CPU 1)"
[ -f "$BUILD/build.ninja" ] || die "no build in $BUILD: run 'meson setup build && ninja -C build'"

# Busy share of CPU 0 and CPU 1 over one second, before anything is started:
# other work on the machine skews every number below.
cpu_busy() {
	local a b
	a=$(grep -E '^cpu[01] ' /proc/stat)
	sleep 1
	b=$(grep -E '^cpu[01] ' /proc/stat)
	printf '%s\n%s\n' "$a" "$b" | awk '
		{ idle = $5 + $6; tot = 0; for (i = 2; i <= NF; i++) tot += $i }
		NR <= 2 { i0[$1] = idle; t0[$1] = tot; next }
		{ printf "%s %.0f%%  ", $1, 100 * (1 - (idle - i0[$1]) / (tot - t0[$1])) }'
}
IDLE_CHECK=$(cpu_busy)
BUSY_OTHERS=$(ps -eo pcpu=,pid=,comm= --sort=-pcpu | awk '$1 >= 10 { printf "%s(pid %s, %s%%) ", $3, $2, $1 }')

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hookstream-bench.XXXXXX")
declare -A PIDS=()

cleanup() {
	local name
	for name in node nginx ceiling gate hookstream redis; do
		if [ -n "${PIDS[$name]:-}" ]; then
			stop_pid "${PIDS[$name]}"
			unset "PIDS[$name]"
		fi
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		note "kept $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

alive() {
	kill -0 "${PIDS[$1]}" 2>/dev/null
}

# ---------------------------------------------------------------------------
# Build: hookstream (and the ceiling once tests/meson.build has subdir('bench')).

# Only what is measured, so a broken unrelated target does not stop the bench.
NINJA_TARGETS=(hookstream)
if ninja -C "$BUILD" -t targets all 2>/dev/null | grep -q '^tests/bench/ceiling:'; then
	NINJA_TARGETS+=(tests/bench/ceiling tests/bench/ceiling-gate)
fi
ninja -C "$BUILD" "${NINJA_TARGETS[@]}" >"$TMP/ninja.log" 2>&1 ||
	{ cat "$TMP/ninja.log" >&2; die "build failed"; }
HOOKSTREAM=$BUILD/hookstream
[ -x "$HOOKSTREAM" ] || die "$HOOKSTREAM was not built"
CEILING=$BUILD/tests/bench/ceiling
CEILING_BUILT="meson ($BUILD)"
if [ ! -x "$CEILING" ]; then
	note "tests/bench is not in the meson build yet (add subdir('bench') to tests/meson.build);"
	note "compiling the ceiling with cc -O2 for this run"
	CEILING=$TMP/ceiling
	CEILING_BUILT="cc -O2 fallback (tests/bench not in the meson build)"
	# shellcheck disable=SC2046 # pkg-config output is a word list
	cc -std=c11 -O2 -g -Wall -Wextra -o "$CEILING" "$ROOT/tests/bench/ceiling.c" \
		$(pkg-config --cflags --libs libevent_core libevent_extra) ||
		die "cannot compile tests/bench/ceiling.c"
fi
BUILD_OPTS=$(python3 - "$BUILD/meson-info/intro-buildoptions.json" <<'EOF' 2>/dev/null || echo "unknown"
import json, sys
opts = {o["name"]: o["value"] for o in json.load(open(sys.argv[1]))}
print(" ".join(f"{k}={opts.get(k)}" for k in ("buildtype", "b_sanitize", "b_ndebug")))
EOF
)
case $BUILD_OPTS in
*b_sanitize=none*) ;;
*) note "warning: build options are '$BUILD_OPTS'; numbers from a sanitized build mean little" ;;
esac

# ---------------------------------------------------------------------------
# Services, all on 127.0.0.1 and free ports.

read -r REDIS_PORT HS_PORT HS_ADMIN CEIL_PORT NGINX_PORT NODE_PORT GATE_PORT < <(free_ports 7)

rcli() {
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

mkdir -p "$TMP/redis"
taskset -c 0 redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$TMP/redis" \
	--appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage "$AOF_REWRITE_PCT" \
	--save "" --daemonize no \
	--logfile "$TMP/redis.log" &
PIDS[redis]=$!
wait_for 10 bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $REDIS_PORT ping)\" = PONG ]" ||
	die "redis-server did not start: $(tail -3 "$TMP/redis.log" 2>/dev/null)"

start_hookstream "$TMP/hookstream.log" "$HOOKSTREAM" "$REDIS_PORT" "$HS_PORT" "$HS_ADMIN" taskset -c 0
PIDS[hookstream]=$!
wait_for 15 curl -fsS "http://127.0.0.1:$HS_ADMIN/readyz" ||
	die "hookstream did not become ready: $(tail -3 "$TMP/hookstream.log")"

taskset -c 0 "$CEILING" "$CEIL_PORT" >"$TMP/ceiling.log" 2>&1 &
PIDS[ceiling]=$!
wait_for 10 curl -sS -o /dev/null "http://127.0.0.1:$CEIL_PORT/" ||
	die "ceiling did not start: $(tail -3 "$TMP/ceiling.log")"

TARGETS=(hookstream ceiling)
SKIPPED=()

# The ceiling behind hookstream's gate: what the pre-body source check costs.
GATE=$BUILD/tests/bench/ceiling-gate
if [ -x "$GATE" ]; then
	taskset -c 0 "$GATE" "$GATE_PORT" >"$TMP/gate.log" 2>&1 &
	PIDS[gate]=$!
	wait_for 10 curl -sS -o /dev/null "http://127.0.0.1:$GATE_PORT/" ||
		die "ceiling-gate did not start: $(tail -3 "$TMP/gate.log")"
	TARGETS+=(gate)
else
	SKIPPED+=("gate: build/tests/bench/ceiling-gate was not built")
fi

NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
if [ -n "$NGINX" ]; then
	mkdir -p "$TMP/nginx"
	# One process (no master), keep-alive without a request cap, like evhttp.
	cat >"$TMP/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	fastcgi_temp_path $TMP/nginx/fastcgi;
	uwsgi_temp_path $TMP/nginx/uwsgi;
	scgi_temp_path $TMP/nginx/scgi;
	keepalive_requests 100000000;
	keepalive_timeout 75s;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location / {
			default_type application/json;
			return 202 '{"status":"accepted"}\n';
		}
	}
}
EOF
	taskset -c 0 "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" \
		-c "$TMP/nginx/nginx.conf" >"$TMP/nginx.log" 2>&1 &
	PIDS[nginx]=$!
	if wait_for 10 curl -sS -o /dev/null "http://127.0.0.1:$NGINX_PORT/"; then
		TARGETS+=(nginx)
	else
		SKIPPED+=("nginx: did not start ($(tail -1 "$TMP/nginx/error.log" 2>/dev/null))")
		stop_pid "${PIDS[nginx]}"
		unset "PIDS[nginx]"
	fi
else
	SKIPPED+=("nginx: not installed (apt-get install nginx-light)")
fi

node_ready_deps() {
	[ -f "$NODE_PEER/node_modules/ioredis/package.json" ]
}
if ! command -v node >/dev/null; then
	SKIPPED+=("node peer: node is not installed")
elif [ ! -f "$NODE_PEER/server.js" ]; then
	SKIPPED+=("node peer: no server.js in $NODE_PEER")
else
	if ! node_ready_deps && command -v npm >/dev/null; then
		note "node peer: installing its dependencies (npm ci --prefix $NODE_PEER), once"
		timeout 300 npm ci --prefix "$NODE_PEER" --no-audit --no-fund >"$TMP/npm.log" 2>&1 || true
	fi
	if ! node_ready_deps; then
		SKIPPED+=("node peer: npm ci failed or npm missing ($(grep -m1 -i 'err' "$TMP/npm.log" 2>/dev/null || echo 'no log'))")
	else
		(cd "$NODE_PEER" && exec taskset -c 0 env -i PATH="$PATH" HOST=127.0.0.1 \
			PORT="$NODE_PORT" REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" WORKERS=1 \
			node server.js) >"$TMP/node.log" 2>&1 &
		PIDS[node]=$!
		if wait_for 15 curl -sS -o /dev/null "http://127.0.0.1:$NODE_PORT/"; then
			TARGETS+=(node)
		else
			SKIPPED+=("node peer: did not start ($(tail -1 "$TMP/node.log"))")
			stop_pid "${PIDS[node]}"
			unset "PIDS[node]"
		fi
	fi
fi

# ---------------------------------------------------------------------------
# Runs.

target_port() {
	case $1 in
	hookstream) echo "$HS_PORT" ;;
	ceiling) echo "$CEIL_PORT" ;;
	gate) echo "$GATE_PORT" ;;
	nginx) echo "$NGINX_PORT" ;;
	node) echo "$NODE_PORT" ;;
	esac
}

target_stream() {
	case $1 in
	hookstream) echo "$STREAM" ;;
	node) echo "$NODE_STREAM" ;;
	*) echo "" ;;
	esac
}

# Sum of hookstream_events_total by outcome: "published duplicate failed".
hs_events() {
	curl -fsS "http://127.0.0.1:$HS_ADMIN/metrics" | awk '
		/^hookstream_events_total\{/ {
			if ($1 ~ /outcome="published"/) p += $2
			if ($1 ~ /outcome="duplicate"/) d += $2
			if ($1 ~ /outcome="failed"/) f += $2
		}
		END { printf "%d %d %d\n", p, d, f }'
}

hs_inflight_zero() {
	curl -fsS "http://127.0.0.1:$HS_ADMIN/metrics" |
		awk '/^hookstream_inflight_requests / { z = ($2 == 0) } END { exit !z }'
}

# Each Redis-backed run starts from an empty dataset and a freshly rewritten AOF.
redis_reset() {
	rcli FLUSHALL SYNC >/dev/null
	rcli BGREWRITEAOF >/dev/null
	wait_for 60 bash -c "redis-cli -h 127.0.0.1 -p $REDIS_PORT INFO persistence |
		grep -q '^aof_rewrite_in_progress:0' &&
		redis-cli -h 127.0.0.1 -p $REDIS_PORT INFO persistence |
		grep -q '^aof_rewrite_scheduled:0'" || die "redis AOF rewrite did not finish"
}

# Wait until everything sent before wrk stopped has landed (or failed).
settle() {
	local target=$1 stream prev=-1 cur i
	if [ "$target" = hookstream ]; then
		wait_for 10 hs_inflight_zero || note "hookstream still has requests in flight"
	fi
	stream=$(target_stream "$target")
	[ -n "$stream" ] || return 0
	for ((i = 0; i < 50; i++)); do
		cur=$(rcli XLEN "$stream")
		[ "$cur" = "$prev" ] && return 0
		prev=$cur
		sleep 0.2
	done
}

declare -A R=()
WRK_URL_PATH=/webhook

# run_wrk TARGET SECONDS TAG OUT: one wrk run, pinned to CPU 1.
run_wrk() {
	local target=$1 secs=$2 tag=$3 out=$4
	BENCH_RUN=$tag timeout $((secs + 60)) taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${secs}s" \
		--latency -s "$LUA" "http://127.0.0.1:$(target_port "$target")$WRK_URL_PATH" \
		>"$out" 2>&1 || { cat "$out" >&2; die "wrk failed against $target"; }
}

field() {
	# field KEY FILE: value of "bench ... KEY=value" printed by post.lua's done()
	grep '^bench ' "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'
}

CLK_TCK=$(getconf CLK_TCK)

# CPU time (utime + stime, in clock ticks) a process has used so far.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# CPU ticks used so far by every process: "pid ppid ticks comm" lines.
proc_snapshot() {
	python3 -c '
import os
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        s = open("/proc/%s/stat" % p).read()
    except OSError:
        continue
    r = s.rfind(")")
    f = s[r + 2:].split()
    print(p, f[1], int(f[11]) + int(f[12]), s[s.find("(") + 1:r].replace(" ", "_"))
'
}

# foreign_cpu BEFORE AFTER: CPU seconds used during a run by processes this
# script did not start (and their children), and the three busiest of them.
foreign_cpu() {
	awk -v ours=" ${PIDS[*]} $$ " -v hz="$CLK_TCK" '
		FNR == NR { before[$1] = $3; next }
		index(ours, " " $1 " ") || index(ours, " " $2 " ") || $4 == "wrk" { next }
		{
			d = $3 - before[$1]
			if (d <= 0) next
			total += d
			used[$4 "[" $1 "]"] = d
		}
		END {
			printf "%.1f", total / hz
			n = 0
			for (k in used) top[++n] = k
			for (i = 1; i <= n; i++)
				for (j = i + 1; j <= n; j++)
					if (used[top[j]] > used[top[i]]) { t = top[i]; top[i] = top[j]; top[j] = t }
			for (i = 1; i <= n && i <= 3; i++)
				if (used[top[i]] >= hz / 10)
					printf " %s=%.1fs", top[i], used[top[i]] / hz
			printf "\n"
		}' "$1" "$2"
}

aof_rewrites() {
	rcli INFO persistence | tr -d '\r' | awk -F: '$1 == "aof_rewrites" { print $2 }'
}

# per_req TICKS REQUESTS: CPU microseconds per request.
per_req() {
	awk -v t="$1" -v n="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }'
}

run_one() {
	local target=$1 run=$2 out stream pub dup fail p0 d0 f0 c0 r0 a0
	out=$TMP/wrk.$target.$run.txt
	stream=$(target_stream "$target")
	[ -n "$stream" ] && redis_reset
	[ "$target" = hookstream ] && read -r p0 d0 f0 < <(hs_events)
	c0=$(cpu_ticks "${PIDS[$target]}")
	r0=$(cpu_ticks "${PIDS[redis]}")
	a0=$(aof_rewrites)
	proc_snapshot >"$TMP/procs.before"
	run_wrk "$target" "$DURATION" "$(printf 'r%d%06d' "$run" $((RANDOM * 32768 + RANDOM)) | cut -c1-8)" "$out"
	alive "$target" || die "$target died during run $run: $(tail -3 "$TMP/$target.log")"
	settle "$target"
	local k="$target:$run"
	proc_snapshot >"$TMP/procs.after"
	R[$k:foreign]=$(foreign_cpu "$TMP/procs.before" "$TMP/procs.after")
	R[$k:aofrw]=$(($(aof_rewrites) - a0))
	R[$k:cpu]=$(($(cpu_ticks "${PIDS[$target]}") - c0))
	R[$k:rcpu]=$(($(cpu_ticks "${PIDS[redis]}") - r0))
	R[$k:rps]=$(field rps "$out")
	R[$k:p50]=$(field p50_us "$out")
	R[$k:p99]=$(field p99_us "$out")
	R[$k:requests]=$(field requests "$out")
	R[$k:sent]=$(field sent "$out")
	R[$k:non2xx]=$(field non2xx "$out")
	R[$k:sockerr]=$(($(field connect "$out") + $(field read "$out") + $(field write "$out") + $(field timeout "$out")))
	R[$k:ok]=$((${R[$k:requests]} - ${R[$k:non2xx]}))
	R[$k:cpr]=$(per_req "${R[$k:cpu]}" "${R[$k:requests]}")
	R[$k:rcpr]=$(per_req "${R[$k:rcpu]}" "${R[$k:requests]}")
	if [ -n "$stream" ]; then
		R[$k:xlen]=$(rcli XLEN "$stream")
	fi
	if [ "$target" = hookstream ]; then
		# One stored entry, for redis-benchmark to send the same arguments.
		[ -s "$TMP/entry.fields" ] ||
			rcli --raw XRANGE "$STREAM" - + COUNT 1 | tail -n +2 >"$TMP/entry.fields"
		read -r pub dup fail < <(hs_events)
		R[$k:published]=$((pub - p0))
		R[$k:duplicate]=$((dup - d0))
		R[$k:failed]=$((fail - f0))
	fi
}

warm_up() {
	local target=$1
	[ -n "$(target_stream "$target")" ] && redis_reset
	run_wrk "$target" "$WARMUP" "$(printf 'w%07d' $((RANDOM * 32768 + RANDOM)) | cut -c1-8)" \
		"$TMP/wrk.$target.warmup.txt"
	settle "$target"
}

note "targets: ${TARGETS[*]}; $RUNS run(s) of ${DURATION}s each after a ${WARMUP}s warm-up"
for t in "${TARGETS[@]}"; do
	warm_up "$t"
done
# Rounds interleave the targets so slow drift on the machine hits all alike.
for ((run = 1; run <= RUNS; run++)); do
	for t in "${TARGETS[@]}"; do
		note "run $run/$RUNS: $t"
		run_one "$t" "$run"
	done
done

# Peak resident set sizes, read before anything is stopped.
declare -A HWM=()
for t in "${TARGETS[@]}" redis; do
	HWM[$t]=$(awk '/^VmHWM:/ { print $2 }' "/proc/${PIDS[$t]}/status" 2>/dev/null || echo 0)
done
AOF_REWRITES=$(aof_rewrites)
FSYNC_SLOW=$(grep -c 'fsync is taking too long' "$TMP/redis.log" || true)
# At info the log holds an access line per request: count what is louder.
HS_LOG_LINES=$(grep -cE '"level":"(warn|error)"' "$TMP/hookstream.log" || true)

# ---------------------------------------------------------------------------
# Report.

median() {
	# median of the arguments (lower middle for an even count)
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

med() {
	local target=$1 key=$2 run vals=()
	for ((run = 1; run <= RUNS; run++)); do
		vals+=("${R[$target:$run:$key]}")
	done
	median "${vals[@]}"
}

sum() {
	local target=$1 key=$2 run s=0
	for ((run = 1; run <= RUNS; run++)); do
		s=$((s + ${R[$target:$run:$key]}))
	done
	echo "$s"
}

ms() {
	awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'
}

mib() {
	awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# Two more measurements, after the interleaved runs (they use med above).

# hookstream again, paced to about half the rate just measured: every
# connection pauses before each request (post.lua's delay()). The bare
# ceiling and the Node peer get the same pacing, so the same offered load:
# the ceiling is this machine's floor (one wake-up of a sleeping server per
# request), Node the peer's latency at that load.
HALF_DELAY_MS=$(awk -v c="$CONNECTIONS" -v r="$(med hookstream rps)" \
	'BEGIN { d = int(c * 1000 / (r / 2) + 0.5) - 1; print (d < 1 ? 1 : d) }')
PACED=(hookstream)
for t in ceiling node; do
	[[ " ${TARGETS[*]} " == *" $t "* ]] && PACED+=("$t")
done
for ((run = 1; run <= RUNS; run++)); do
	for t in "${PACED[@]}"; do
		note "run $run/$RUNS: $t paced (${HALF_DELAY_MS} ms mean pause per request and connection)"
		k="paced-$t"
		[ -n "$(target_stream "$t")" ] && redis_reset
		a0=$(aof_rewrites)
		BENCH_DELAY_MS=$HALF_DELAY_MS run_wrk "$t" "$DURATION" \
			"$(printf 'h%d%06d' "$run" $((RANDOM * 32768 + RANDOM)) | cut -c1-8)" "$TMP/wrk.$k.$run.txt"
		alive "$t" || die "$t died during paced run $run: $(tail -3 "$TMP/$t.log")"
		settle "$t"
		R[$k:$run:rps]=$(field rps "$TMP/wrk.$k.$run.txt")
		R[$k:$run:p50]=$(field p50_us "$TMP/wrk.$k.$run.txt")
		R[$k:$run:p99]=$(field p99_us "$TMP/wrk.$k.$run.txt")
		R[$k:$run:non2xx]=$(field non2xx "$TMP/wrk.$k.$run.txt")
		R[$k:$run:aofrw]=$(($(aof_rewrites) - a0))
	done
done

# Redis alone: the same dedup+XADD script with the arguments of a stored
# entry, pipelined by redis-benchmark from CPU 1, a fresh seen key per call.
# This is what Redis can take on its core; hookstream shares that core.
REDIS_SCRIPT=()
if command -v redis-benchmark >/dev/null && [ -s "$TMP/entry.fields" ]; then
	SCRIPT_SHA=$(rcli SCRIPT LOAD "$(python3 "$ROOT/tests/bench/publish_script.py" "$ROOT/src/publish_ops.c")")
	mapfile -t ENTRY <"$TMP/entry.fields"
	ENTRY[1]=__rand_int__ # the event id
	for ((run = 1; run <= RUNS; run++)); do
		note "run $run/$RUNS: redis-benchmark, the publish script"
		redis_reset
		r0=$(cpu_ticks "${PIDS[redis]}")
		rb=$(taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$CONNECTIONS" -P 16 \
			-n $((15000 * DURATION)) -r 1000000000 -q \
			EVALSHA "$SCRIPT_SHA" 2 "$STREAM" "{$STREAM}:seen:__rand_int__" \
			$((604800 * 1000)) 1000000 "${#ENTRY[@]}" "${ENTRY[@]}" 2>&1 |
			grep -o '[0-9.]* requests per second' | tail -1)
		REDIS_SCRIPT+=("${rb%% *}")
		R[script:$run:rcpr]=$(per_req "$(($(cpu_ticks "${PIDS[redis]}") - r0))" $((15000 * DURATION)))
		R[script:$run:xlen]=$(rcli XLEN "$STREAM")
	done
fi

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
REDIS_VERSION=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
WRK_VERSION=$({ wrk -v 2>&1 || true; } | awk 'NR == 1 { print $2 }') # -v exits 1
CHECKS_FAILED=0
NOISY=0

echo "hookstream benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "command:  cd <repo> && $CMDLINE"
echo "load:     taskset -c 1 wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -s tests/bench/post.lua" \
	"http://127.0.0.1:<port>$WRK_URL_PATH"
echo "          $(field body_bytes "$TMP/wrk.hookstream.1.txt")-byte DuitNow-Pay-style JSON body, unique endToEndId per request"
echo "pinning:  redis-server and the server under test on CPU 0, wrk on CPU 1"
echo "runs:     $RUNS x ${DURATION}s per target after a ${WARMUP}s warm-up, targets interleaved;" \
	"$([ "$RUNS" -gt 1 ] && echo "medians shown" || echo "single run")"
echo "redis:    $REDIS_VERSION, appendonly yes, appendfsync everysec, save \"\"," \
	"auto-aof-rewrite-percentage $AOF_REWRITE_PCT;" \
	"FLUSHALL + BGREWRITEAOF before each Redis-backed run"
echo "machine:  $CPU_MODEL, $(nproc --all) CPUs, Linux $(uname -r), wrk $WRK_VERSION"
echo "build:    $HOOKSTREAM ($BUILD_OPTS); ceiling: $CEILING_BUILT"
echo "idle:     before start $IDLE_CHECK"
if awk -v s="$IDLE_CHECK" 'BEGIN { n = split(s, f, /[ %]+/); for (i = 2; i <= n; i += 2) if (f[i] + 0 > 10) exit 0; exit 1 }'; then
	echo "WARNING:  the machine was not idle before the run; busiest: ${BUSY_OTHERS:-?}"
fi
echo
printf '%-11s %8s %9s %9s %7s %7s %9s %9s %9s\n' target req/s p50 p99 non-2xx sockerr \
	"cpu/req" "redis/req" "peak RSS"
for t in "${TARGETS[@]}"; do
	rc=-
	[ -n "$(target_stream "$t")" ] && rc="$(med "$t" rcpr) us"
	printf '%-11s %8.0f %9s %9s %7d %7d %9s %9s %9s\n' "$t" "$(med "$t" rps)" \
		"$(ms "$(med "$t" p50)")" "$(ms "$(med "$t" p99)")" \
		"$(sum "$t" non2xx)" "$(sum "$t" sockerr)" "$(med "$t" cpr) us" "$rc" \
		"$(mib "${HWM[$t]}")"
done
echo "(non-2xx and sockerr summed over the runs; cpu/req and redis/req: CPU time of the server"
echo " and of redis-server per response; peak RSS is VmHWM at the end; redis-server peak RSS" \
	"$(mib "${HWM[redis]}"))"
echo
HS_RPS=$(med hookstream rps)
echo "ratio hookstream/ceiling: $(ratio "$HS_RPS" "$(med ceiling rps)")"
if [[ " ${TARGETS[*]} " == *" gate "* ]]; then
	echo "ratio gate/ceiling (cost of the pre-body check): $(ratio "$(med gate rps)" "$(med ceiling rps)")"
fi
for t in nginx node; do
	if [[ " ${TARGETS[*]} " == *" $t "* ]]; then
		echo "ratio hookstream/$t: $(ratio "$HS_RPS" "$(med "$t" rps)")"
	fi
done
echo "paced to half of hookstream's maximum (${HALF_DELAY_MS} ms mean pause, uniform in [0, $((2 * HALF_DELAY_MS))], per request and connection):"
for t in "${PACED[@]}"; do
	k="paced-$t"
	printf '  %-10s %6.0f req/s (%s of hookstream'"'"'s maximum), p50 %s, p99 %s, non-2xx %s\n' "$t" \
		"$(med "$k" rps)" "$(ratio "$(med "$k" rps)" "$HS_RPS")" "$(ms "$(med "$k" p50)")" \
		"$(ms "$(med "$k" p99)")" "$(sum "$k" non2xx)"
	for ((run = 1; run <= RUNS; run++)); do
		printf '    run %d: %.0f req/s, p50 %s, p99 %s, aof-rewrites=%s\n' "$run" "${R[$k:$run:rps]}" \
			"$(ms "${R[$k:$run:p50]}")" "$(ms "${R[$k:$run:p99]}")" "${R[$k:$run:aofrw]}"
	done
done
if [ "${#REDIS_SCRIPT[@]}" -gt 0 ]; then
	RS=$(median "${REDIS_SCRIPT[@]}")
	echo "redis-benchmark, the publish script alone (EVALSHA, -c$CONNECTIONS -P16, one event per call):" \
		"$(printf '%.0f' "$RS") events/s, $(med script rcpr) us of Redis CPU per event" \
		"(XLEN $(med script xlen) of $((15000 * DURATION)))"
	echo "ratio hookstream/redis-script: $(ratio "$HS_RPS" "$RS")"
else
	echo "skipped  redis-benchmark: not installed, or no entry was stored"
fi
for s in "${SKIPPED[@]}"; do
	echo "skipped  $s"
done
echo
echo "per run   target      req/s       p50        p99    2xx      XLEN     sent  notes"
for t in "${TARGETS[@]}"; do
	for ((run = 1; run <= RUNS; run++)); do
		k="$t:$run"
		extra=
		if [ "$t" = hookstream ]; then
			extra="published=${R[$k:published]} duplicate=${R[$k:duplicate]} failed=${R[$k:failed]} "
		fi
		if [ -n "$(target_stream "$t")" ]; then
			extra+="aof-rewrites=${R[$k:aofrw]}"
		fi
		printf '  %d       %-10s %7.0f %10s %10s %7d %9s %8d  %s\n' "$run" "$t" "${R[$k:rps]}" \
			"$(ms "${R[$k:p50]}")" "$(ms "${R[$k:p99]}")" "${R[$k:ok]}" \
			"${R[$k:xlen]:--}" "${R[$k:sent]}" "$extra"
	done
done
echo "(2xx = responses wrk counted minus non-2xx; sent = requests wrk built; requests still in"
echo " flight when wrk stops are stored but not counted, so 2xx <= XLEN <= sent; aof-rewrites:"
echo " automatic AOF rewrites Redis forked during the run, on CPU 0 like the server)"
echo
echo "other load: CPU seconds used during each run by processes this script did not start"
for t in "${TARGETS[@]}"; do
	for ((run = 1; run <= RUNS; run++)); do
		read -r secs top <<<"${R[$t:$run:foreign]}"
		flag=
		if awk -v s="$secs" -v d="$DURATION" 'BEGIN { exit !(s > 0.05 * d) }'; then
			flag="  <- the machine was busy; this run is unreliable"
			NOISY=1
		fi
		printf '  %d       %-10s %5.1fs %s%s\n' "$run" "$t" "$secs" "$top" "$flag"
	done
done
echo
echo "checks"
for ((run = 1; run <= RUNS; run++)); do
	k="hookstream:$run"
	ok=${R[$k:ok]} xlen=${R[$k:xlen]} pub=${R[$k:published]}
	verdict=ok
	if [ "${R[$k:non2xx]}" -ne 0 ] || [ "${R[$k:sockerr]}" -ne 0 ]; then
		verdict="FAILED: non-2xx=${R[$k:non2xx]} socket errors=${R[$k:sockerr]}"
	elif [ "$xlen" -ne "$pub" ] || [ "${R[$k:duplicate]}" -ne 0 ] || [ "${R[$k:failed]}" -ne 0 ]; then
		verdict="FAILED: XLEN=$xlen but hookstream published=$pub duplicate=${R[$k:duplicate]} failed=${R[$k:failed]}"
	elif [ "$xlen" -lt "$ok" ] || [ $((xlen - ok)) -gt "$CONNECTIONS" ]; then
		verdict="FAILED: XLEN=$xlen vs 2xx=$ok differ by more than the $CONNECTIONS connections in flight"
	fi
	[ "$verdict" = ok ] || CHECKS_FAILED=1
	echo "  hookstream run $run: non-2xx=${R[$k:non2xx]}, 2xx=$ok, XLEN $STREAM=$xlen" \
		"(+$((xlen - ok)) in flight at stop), published=$pub: $verdict"
done
echo "  redis: $AOF_REWRITES AOF rewrites, $FSYNC_SLOW slow-fsync warnings;" \
	"hookstream log: $HS_LOG_LINES line(s) at warn or above"
if [ "$HS_LOG_LINES" -gt 0 ]; then
	grep -m3 -E '"level":"(warn|error)"' "$TMP/hookstream.log" | sed 's/^/    /'
fi
if [ "$NOISY" = 1 ]; then
	echo
	echo "NOTE: other processes used CPU during some runs (see \"other load\"); rerun on an idle"
	echo "      machine before quoting these numbers."
fi
[ "$CHECKS_FAILED" = 0 ] || exit 3
