#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the container image from docker/Dockerfile and exercise it for real,
# without a Docker engine: podman builds it (on a local debian:bookworm-slim
# made with debootstrap when there is none), buildah runs its processes on the
# host's loopback (see shared/notes/containers.md). Needs root.
#
# Prints "ok - <check>" / "not ok - <check>" per check, writes the JUnit file
# ${RESULTS_DIR:-build-results}/container-integration.xml (one testcase per
# check, counted by tests/summarize.py) and exits non-zero if a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)

image=localhost/hookstream
base=docker.io/library/debian:bookworm-slim
results=${RESULTS_DIR:-build-results}
case "$results" in /*) ;; *) results="$root/$results" ;; esac
junit="$results/container-integration.xml"
started=$SECONDS

# ------------------------------------------------------------------ reporting
names=() outcomes=() details=() durations=()
check_t0=$SECONDS
record() { # outcome(pass|fail|skip) name [detail]: the name stays the same run to run
	names+=("$2") outcomes+=("$1") details+=("${3:-}") durations+=($((SECONDS - check_t0)))
	check_t0=$SECONDS
	case $1 in
	pass) echo "ok - $2${3:+ ($3)}" ;;
	fail) echo "not ok - $2${3:+ ($3)}" ;;
	skip) echo "ok - $2 # SKIP ${3:-}" ;;
	esac
}
pass() { record pass "$@"; }
fail() { record fail "$@"; }
skip() { record skip "$@"; }

xml_escape() {
	local s=$1
	s=${s//&/&amp;} s=${s//</&lt;} s=${s//>/&gt;} s=${s//\"/&quot;}
	printf '%s' "$s" | tr -d '\000-\010\013\014\016-\037'
}

write_junit() {
	local i n=${#names[@]} nfail=0 nskip=0
	for ((i = 0; i < n; i++)); do
		[ "${outcomes[i]}" = fail ] && nfail=$((nfail + 1))
		[ "${outcomes[i]}" = skip ] && nskip=$((nskip + 1))
	done
	mkdir -p "$results"
	{
		echo '<?xml version="1.0" encoding="utf-8"?>'
		echo '<testsuites>'
		printf '<testsuite name="container" tests="%d" failures="%d" errors="0" skipped="%d" time="%d">\n' \
			"$n" "$nfail" "$nskip" $((SECONDS - started))
		for ((i = 0; i < n; i++)); do
			printf '<testcase classname="container.test_image" name="%s" time="%d"' \
				"$(xml_escape "${names[i]}")" "${durations[i]}"
			case ${outcomes[i]} in
			pass) echo '/>' ;;
			fail) printf '><failure message="%s"/></testcase>\n' "$(xml_escape "${details[i]}")" ;;
			skip) printf '><skipped message="%s"/></testcase>\n' "$(xml_escape "${details[i]}")" ;;
			esac
		done
		echo '</testsuite>'
		echo '</testsuites>'
	} >"$junit"
}

# -------------------------------------------------------------------- cleanup
tmp=$(mktemp -d /tmp/hookstream-container.XXXXXX)
containers=() # buildah working containers
ro_binds=()   # read-only bind mounts made over a container's rootfs
redis_pid=""
servers=() # "buildah-run-pid:hookstream-pid" of running servers

stop_server() { # buildah-run pid, hookstream pid: TERM, wait; sets stop_rc (its exit status)
	local bpid=$1 hpid=$2 i
	# buildah run passes a TERM on to the process, but hookstream is signalled
	# itself when it is known, so the exit status is its own.
	if [ -n "$hpid" ]; then kill -TERM "$hpid" 2>/dev/null; else kill -TERM "$bpid" 2>/dev/null; fi
	for ((i = 0; i < 150; i++)); do
		kill -0 "$bpid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$bpid" 2>/dev/null; then # not gone after 15 s (shutdown_timeout is 10 s)
		[ -n "$hpid" ] && kill -KILL "$hpid" 2>/dev/null
		kill -TERM "$bpid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$bpid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$bpid" 2>/dev/null
	fi
	wait "$bpid" 2>/dev/null
	stop_rc=$?
}

cleanup() {
	local s m c
	for s in "${servers[@]}"; do
		stop_server "${s%%:*}" "${s#*:}"
	done
	servers=()
	for m in "${ro_binds[@]}"; do
		mountpoint -q "$m" && umount "$m"
	done
	for c in "${containers[@]}"; do
		buildah umount "$c" >/dev/null 2>&1
		buildah rm "$c" >/dev/null 2>&1
	done
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null
		wait "$redis_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}

finish() {
	local rc=$?
	trap - EXIT INT TERM
	cleanup
	local nfail=0 o
	for o in "${outcomes[@]}"; do [ "$o" = fail ] && nfail=$((nfail + 1)); done
	if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then # interrupted: do not look like a pass
		fail "container checks completed" "stopped with status $rc after ${#names[@]} checks"
		nfail=1
	fi
	write_junit
	echo "container checks: ${#names[@]} run, $nfail failed, $((SECONDS - started)) s (junit: $junit)"
	[ "$nfail" -gt 0 ] && exit 1
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------- helpers
log_tail() { # file: last lines, one line, for a failure message
	[ -f "$1" ] && tail -n 3 "$1" | tr '\n' ' ' | cut -c1-400
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

http_code() { # url [curl args...]
	local url=$1
	shift
	curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" "$url" 2>/dev/null
}

wait_http() { # url, seconds: true once it answers 200
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(http_code "$1")" = 200 ] && return 0
		sleep 0.2
	done
	return 1
}

find_child() { # parent pid, command name: the first descendant with that name
	ps -e -o pid=,ppid=,comm= | awk -v top="$1" -v want="$2" '
		{ parent[$1] = $2; comm[$1] = $3 }
		END {
			for (p in parent) {
				if (comm[p] != want) continue
				for (q = parent[p]; q > 1; q = parent[q])
					if (q == top) { print p; exit 0 }
			}
			exit 1
		}'
}

start_server() { # container, log file, env args...: sets srv_bpid, srv_hpid
	local c=$1 logf=$2 i
	shift 2
	srv_hpid=""
	buildah run --isolation=chroot --network=host "$@" "$c" -- /usr/local/bin/hookstream \
		>"$logf" 2>&1 </dev/null &
	srv_bpid=$!
	servers+=("$srv_bpid:") # known to cleanup at once
	for ((i = 0; i < 100; i++)); do
		srv_hpid=$(find_child "$srv_bpid" hookstream) && break
		kill -0 "$srv_bpid" 2>/dev/null || break
		sleep 0.1
	done
	servers[${#servers[@]} - 1]="$srv_bpid:$srv_hpid"
}

forget_server() { # buildah-run pid: it was stopped
	local s keep=()
	for s in "${servers[@]}"; do [ "${s%%:*}" = "$1" ] || keep+=("$s"); done
	servers=("${keep[@]}")
}

post_payment() { # port, end-to-end id, output file: prints the HTTP status
	local body
	body='{"checkoutId":"c-1001","endToEndId":"'"$2"'","paymentStatus":{"code":"ACSC","substate":"CLEARED","message":"Payment successful"},"issuer":"BANKX","paymentMethod":"DuitNowOBW"}'
	curl -s -o "$3" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
		--data-binary "$body" "http://127.0.0.1:$1/webhook" 2>/dev/null
}

rcli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }

# ------------------------------------------------------------------ 0. set-up
if [ "$(id -u)" -ne 0 ]; then
	fail "running as root" "podman build, debootstrap and buildah run need root"
	exit 1
fi

pkgs=(podman buildah debootstrap runc redis-server redis-tools curl python3 procps)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "# installing: ${missing[*]}"
	if ! (export DEBIAN_FRONTEND=noninteractive
		apt-get update -q && apt-get install -y -q "${missing[@]}") >"$tmp/apt.log" 2>&1; then
		fail "container tools installed" "apt-get install ${missing[*]} failed: $(log_tail "$tmp/apt.log")"
		exit 1
	fi
fi

# The base image: Docker Hub is out of reach here, so debian:bookworm-slim is
# made locally from Debian's archive, through the mirror apt already uses.
if podman image exists "$base"; then
	pass "base image debian:bookworm-slim available" "present"
else
	mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $1; exit}')
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	rootfs="$tmp/rootfs"
	echo "# making $base with debootstrap from $mirror"
	if [ -n "$mirror" ] && mkdir -p "$rootfs" &&
		debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
		# Like the real slim image: no package cache, no package lists.
		rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
		if tar -C "$rootfs" -c . | podman import \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'CMD ["bash"]' - "$base" >"$tmp/import.log" 2>&1; then
			pass "base image debian:bookworm-slim available" "made with debootstrap from $mirror"
		else
			fail "base image debian:bookworm-slim available" "podman import: $(log_tail "$tmp/import.log")"
		fi
	else
		fail "base image debian:bookworm-slim available" "debootstrap from '$mirror' failed: $(log_tail "$tmp/debootstrap.log")"
	fi
	rm -rf "$rootfs"
fi

# ------------------------------------------------------------------- 1. build
build_t0=$SECONDS
if podman build --format docker --pull=never --isolation=chroot --network=host \
	-t "$image" -f docker/Dockerfile . >"$tmp/build.log" 2>&1; then
	pass "image builds from docker/Dockerfile" "$((SECONDS - build_t0)) s"
	built=1
else
	mkdir -p "$results" && cp "$tmp/build.log" "$results/container-build.log"
	fail "image builds from docker/Dockerfile" "$(log_tail "$tmp/build.log")"
	built=0
fi
if [ $built -eq 0 ]; then
	for n in "image runs as non-root user hookstream" "image exposes 8080 and 9090" \
		"image has a HEALTHCHECK" "image has no compiler or curl" \
		"hookstream serves /healthz from the image" "hookstream process is not root" \
		"image HEALTHCHECK command exits 0" "webhook POST is stored in Redis" \
		"SIGTERM stops hookstream with status 0" \
		"image HEALTHCHECK command exits 1 when hookstream is down" \
		"runs with a read-only root filesystem" "spool volume /var/lib/hookstream is writable by hookstream"; do
		fail "$n" "not run: the image did not build"
	done
	exit 1
fi

# ----------------------------------------------------- 2. image configuration
fmt() { buildah inspect --type image --format "$1" "$image" 2>/dev/null; }
user=$(fmt '{{.Docker.Config.User}}')
# shellcheck disable=SC2016 # Go templates, not shell
ports=$(fmt '{{range $p, $v := .Docker.Config.ExposedPorts}}{{$p}} {{end}}')
hc_kind=$(fmt '{{with .Docker.Config.Healthcheck}}{{index .Test 0}}{{end}}')
# shellcheck disable=SC2016
mapfile -t hc_cmd < <(fmt '{{with .Docker.Config.Healthcheck}}{{range $i, $e := .Test}}{{if $i}}{{$e}}{{"\n"}}{{end}}{{end}}{{end}}')

c=$(buildah from --pull=never --name "hookstream-test-$$" "$image" 2>"$tmp/from.log") && containers+=("$c")
mnt=$(buildah mount "$c" 2>>"$tmp/from.log")
uid=$(awk -F: -v u="$user" '$1 == u {print $3}' "$mnt/etc/passwd" 2>/dev/null)
if [ "$user" = hookstream ] && [ -n "$uid" ] && [ "$uid" != 0 ]; then
	pass "image runs as non-root user hookstream" "uid $uid"
else
	fail "image runs as non-root user hookstream" "User='$user' uid='$uid'"
fi
if [[ " $ports " == *" 8080/tcp "* && " $ports " == *" 9090/tcp "* ]]; then
	pass "image exposes 8080 and 9090"
else
	fail "image exposes 8080 and 9090" "ExposedPorts: '$ports'"
fi
if [ "$hc_kind" = CMD ] && [ "${hc_cmd[*]}" = "/usr/local/bin/hookstream healthcheck" ]; then
	pass "image has a HEALTHCHECK" "${hc_cmd[*]}"
else
	fail "image has a HEALTHCHECK" "Healthcheck: '$hc_kind ${hc_cmd[*]}' (built without --format docker?)"
fi
found=""
for f in usr/bin/gcc usr/bin/cc usr/bin/curl usr/bin/meson usr/bin/ninja usr/include/event2; do
	[ -e "$mnt/$f" ] && found+=" /$f"
done
if [ -n "$mnt" ] && [ -z "$found" ]; then
	pass "image has no compiler or curl"
else
	fail "image has no compiler or curl" "rootfs '$mnt', found:$found"
fi

# --------------------------------------------- 3. run it against a real Redis
redis_port=$(free_port)
mkdir -p "$tmp/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$tmp/redis" --save '' \
	--appendonly no --daemonize no >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for ((i = 0; i < 50; i++)); do
	[ "$(rcli ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done

listen_port=$(free_port)
admin_port=$(free_port)
envs=(-e "HOOKSTREAM_LISTEN=127.0.0.1:$listen_port" -e "HOOKSTREAM_ADMIN_LISTEN=127.0.0.1:$admin_port"
	-e "HOOKSTREAM_REDIS_URL=redis://127.0.0.1:$redis_port" -e "HOOKSTREAM_ALLOW=127.0.0.1"
	-e "HOOKSTREAM_GROUPS=demo" -e "HOOKSTREAM_LOG_FORMAT=text")
start_server "$c" "$tmp/hookstream.log" "${envs[@]}"
bpid=$srv_bpid hpid=$srv_hpid

if wait_http "http://127.0.0.1:$admin_port/healthz" 30; then
	pass "hookstream serves /healthz from the image"
else
	fail "hookstream serves /healthz from the image" "no 200 within 30 s: $(log_tail "$tmp/hookstream.log")"
fi

proc_uid=$(awk '/^Uid:/ {print $3}' "/proc/$hpid/status" 2>/dev/null)
if [ -n "$hpid" ] && [ -n "$proc_uid" ] && [ "$proc_uid" != 0 ]; then
	pass "hookstream process is not root" "uid $proc_uid, pid $hpid"
else
	fail "hookstream process is not root" "pid '$hpid' effective uid '$proc_uid'"
fi

# The image's own HEALTHCHECK command, run in the container as Docker would.
if [ ${#hc_cmd[@]} -gt 0 ] &&
	buildah run --isolation=chroot --network=host "${envs[@]}" "$c" -- "${hc_cmd[@]}" \
		>"$tmp/healthcheck.log" 2>&1; then
	pass "image HEALTHCHECK command exits 0" "$(head -n 1 "$tmp/healthcheck.log")"
else
	fail "image HEALTHCHECK command exits 0" "${hc_cmd[*]:-the image has no HEALTHCHECK}: $(log_tail "$tmp/healthcheck.log")"
fi

wait_http "http://127.0.0.1:$admin_port/readyz" 15
code=$(post_payment "$listen_port" E2E-CONTAINER-1 "$tmp/post.json")
xlen=$(rcli XLEN paynet:payment.status 2>/dev/null)
groups=$(rcli XINFO GROUPS paynet:payment.status 2>/dev/null | grep -cx demo)
if [ "$code" = 202 ] && [ "$xlen" = 1 ] && [ "$groups" = 1 ]; then
	pass "webhook POST is stored in Redis" "202, XLEN paynet:payment.status = 1, group demo"
else
	fail "webhook POST is stored in Redis" "HTTP $code $(head -c 200 "$tmp/post.json" 2>/dev/null), XLEN '$xlen', group demo $groups"
fi

stop_server "$bpid" "$hpid"
forget_server "$bpid"
if [ "$stop_rc" = 0 ]; then
	pass "SIGTERM stops hookstream with status 0"
else
	fail "SIGTERM stops hookstream with status 0" "buildah run exited $stop_rc: $(log_tail "$tmp/hookstream.log")"
fi

hc_rc=none
if [ ${#hc_cmd[@]} -gt 0 ]; then
	buildah run --isolation=chroot --network=host "${envs[@]}" "$c" -- "${hc_cmd[@]}" \
		>"$tmp/healthcheck-down.log" 2>&1
	hc_rc=$?
fi
if [ "$hc_rc" = 1 ]; then
	pass "image HEALTHCHECK command exits 1 when hookstream is down"
else
	fail "image HEALTHCHECK command exits 1 when hookstream is down" "exit $hc_rc: $(log_tail "$tmp/healthcheck-down.log")"
fi

# ------------------------------------------- 4. read-only root filesystem
# buildah run has no --read-only and podman run does not work here, so the
# container's rootfs is bind-mounted read-only over itself before buildah run
# (as `docker run --read-only` does; the VOLUME stays writable). The mount
# points buildah adds are made first, like Docker's init layer. The read-only
# bind is taken off on the host before the server stops: the server's mount
# namespace keeps its copy, and buildah can then clean up its run files.
name="runs with a read-only root filesystem"
vname="spool volume /var/lib/hookstream is writable by hookstream"
c2=$(buildah from --pull=never --name "hookstream-test-ro-$$" "$image" 2>"$tmp/from2.log") && containers+=("$c2")
m2=$(buildah mount "$c2" 2>>"$tmp/from2.log")
if [ -z "$m2" ]; then
	fail "$name" "no working container: $(log_tail "$tmp/from2.log")"
	fail "$vname" "not run: no working container"
elif ! touch "$m2/run/.containerenv" || ! mount --bind "$m2" "$m2" 2>"$tmp/robind.log" ||
	! { ro_binds+=("$m2") && mount -o remount,bind,ro "$m2" 2>>"$tmp/robind.log"; }; then
	skip "$name" "cannot bind-mount the rootfs read-only here: $(log_tail "$tmp/robind.log")"
	skip "$vname" "needs the read-only run"
else
	listen_port=$(free_port)
	admin_port=$(free_port)
	start_server "$c2" "$tmp/hookstream-ro.log" \
		-e "HOOKSTREAM_LISTEN=127.0.0.1:$listen_port" -e "HOOKSTREAM_ADMIN_LISTEN=127.0.0.1:$admin_port" \
		-e "HOOKSTREAM_REDIS_URL=redis://127.0.0.1:$redis_port" -e "HOOKSTREAM_ALLOW=127.0.0.1" \
		-e "HOOKSTREAM_STREAM_PREFIX=readonly" -e "HOOKSTREAM_LOG_FORMAT=text"
	rootopts=$(awk '$5 == "/" {print $6; exit}' "/proc/$srv_hpid/mountinfo" 2>/dev/null)
	volopts=$(awk '$5 == "/var/lib/hookstream" {print $6; exit}' "/proc/$srv_hpid/mountinfo" 2>/dev/null)
	volowner=$(stat -c %u "/proc/$srv_hpid/root/var/lib/hookstream" 2>/dev/null)
	ready=no
	wait_http "http://127.0.0.1:$admin_port/readyz" 30 && ready=yes
	code=$(post_payment "$listen_port" E2E-CONTAINER-RO "$tmp/post-ro.json")
	xlen=$(rcli XLEN readonly:payment.status 2>/dev/null)
	umount "$m2" && ro_binds=()
	stop_server "$srv_bpid" "$srv_hpid"
	forget_server "$srv_bpid"
	if [[ ",$rootopts," == *,ro,* ]] && [ $ready = yes ] && [ "$code" = 202 ] &&
		[ "$xlen" = 1 ] && [ "$stop_rc" = 0 ]; then
		pass "$name" "/ mounted $rootopts; ready, 202, stored, clean exit"
	else
		fail "$name" "/ '$rootopts', ready $ready, HTTP $code, XLEN '$xlen', exit $stop_rc: $(log_tail "$tmp/hookstream-ro.log")"
	fi
	if [[ ",$volopts," == *,rw,* ]] && [ -n "$volowner" ] && [ "$volowner" = "$proc_uid" ]; then
		pass "$vname" "mounted $volopts, owner uid $volowner"
	else
		fail "$vname" "mount options '$volopts', owner uid '$volowner', hookstream uid '$proc_uid'"
	fi
fi
