#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build hookstream and run it in the foreground on this machine.
# Without HOOKSTREAM_REDIS_URL it starts a throwaway redis-server (AOF on, in a
# temporary directory) and stops it when hookstream exits. Any HOOKSTREAM_*
# variable you set is passed through; unset ones get local-only defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

tests/install-deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build --buildtype=release >/dev/null
fi
ninja -C build hookstream >/dev/null

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The first free port from start (Debian's prometheus package, installed for
# promtool, starts a service on 9090).
first_free() {
	local p=$1
	while ! port_free "$p"; do p=$((p + 1)); done
	echo "$p"
}
export HOOKSTREAM_LISTEN="${HOOKSTREAM_LISTEN-127.0.0.1:$(first_free 8080)}"
export HOOKSTREAM_ADMIN_LISTEN="${HOOKSTREAM_ADMIN_LISTEN-127.0.0.1:$(first_free 9090)}"
export HOOKSTREAM_ALLOW="${HOOKSTREAM_ALLOW-127.0.0.1, ::1}"
export HOOKSTREAM_LOG_FORMAT="${HOOKSTREAM_LOG_FORMAT-text}"

redis_pid=""
cleanup() {
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT

cli_port=6379
if [ -z "${HOOKSTREAM_REDIS_URL+x}" ]; then
	cli_port=$(first_free 6379)
	dir=$(mktemp -d -t hookstream-redis.XXXXXX)
	# Its own session: Ctrl-C stops hookstream, which drains into this Redis;
	# the Redis is stopped after it, by the EXIT trap.
	setsid redis-server --port "$cli_port" --bind 127.0.0.1 --dir "$dir" --save "" \
		--appendonly yes --appendfsync everysec --daemonize no \
		--logfile "$dir/redis.log" &
	redis_pid=$!
	for _ in $(seq 100); do
		redis-cli -p "$cli_port" ping >/dev/null 2>&1 && break
		sleep 0.05
	done
	export HOOKSTREAM_REDIS_URL="redis://127.0.0.1:$cli_port"
	echo "Started a throwaway redis-server on 127.0.0.1:$cli_port (data in $dir)."
fi

port="${HOOKSTREAM_LISTEN##*:}"
cat <<MSG

hookstream listens on http://$HOOKSTREAM_LISTEN (admin: http://$HOOKSTREAM_ADMIN_LISTEN).
In another terminal, watch the payment stream:

  redis-cli -p $cli_port XREAD BLOCK 0 STREAMS paynet:payment.status '\$'

and send a sample DuitNow Pay status notification:

  curl -i -H 'Content-Type: application/json' http://127.0.0.1:$port/webhook \\
    -d '{"checkoutId":"c-1001","endToEndId":"E2E-'\$RANDOM'","paymentStatus":{"code":"ACSC","substate":"CLEARED","message":"Payment successful"},"issuer":"BANKX","paymentMethod":"DuitNowOBW"}'

Stop with Ctrl-C.

MSG
./build/hookstream "$@" &
hs_pid=$!
trap 'kill -TERM $hs_pid 2>/dev/null || true' INT TERM
status=0
wait "$hs_pid" || status=$?
# A signal interrupts the first wait; wait again for the drain to finish.
if kill -0 "$hs_pid" 2>/dev/null; then wait "$hs_pid" || status=$?; fi
exit "$status"
