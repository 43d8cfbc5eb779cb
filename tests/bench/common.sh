# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Helpers shared by the benchmarks that start their own servers (bench.sh,
# script-cost.sh). Sourced, not run.

# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL; reaps it. An empty
# or gone PID is fine.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# wait_for SECONDS CMD...: poll until CMD succeeds, at most SECONDS.
wait_for() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 20; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# free_ports N: N free TCP ports on 127.0.0.1, space-separated (all bound at
# once, so they differ).
free_ports() {
	python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# start_hookstream LOG BIN REDIS_PORT PORT ADMIN_PORT [CMD...]: BIN in the
# background (behind CMD, e.g. taskset -c 0; its PID is $! after the call),
# with env -i: no HOOKSTREAM_* from the caller's shell, so the built-in
# default configuration (conf/hookstream.conf) plus exactly these overrides
# is what gets measured. The log level is the built-in one (info: an access
# line per request) unless BENCH_LOG_LEVEL says otherwise.
start_hookstream() {
	local log=$1 bin=$2 redis_port=$3 port=$4 admin_port=$5
	shift 5
	"$@" env -i PATH="$PATH" \
		HOOKSTREAM_LISTEN="127.0.0.1:$port" \
		HOOKSTREAM_ADMIN_LISTEN="127.0.0.1:$admin_port" \
		HOOKSTREAM_REDIS_URL="redis://127.0.0.1:$redis_port" \
		HOOKSTREAM_ALLOW=127.0.0.1 \
		HOOKSTREAM_LOG_LEVEL="${BENCH_LOG_LEVEL:-info}" \
		"$bin" >"$log" 2>&1 &
}
