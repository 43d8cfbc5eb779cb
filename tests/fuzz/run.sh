#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build each fuzz target with clang's libFuzzer (+ ASan/UBSan) and fuzz it for
# a bounded time over its corpus. Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]
# With RESULTS_DIR set, also writes $RESULTS_DIR/fuzz-integration.xml (JUnit,
# one case per target) for tests/summarize.py. Exits non-zero on any crash.
# With FUZZ_RUNS=N each target instead runs exactly N inputs from a fixed seed
# (FUZZ_SEED, default 1): the same run every time, which is what CI wants (a
# green build stays green); the time-bounded form explores new ground.
# A crash leaves its input in the current directory (crash-*): add it to
# tests/fuzz/corpus/<target>/ once fixed, so the replay test keeps it fixed.
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v clang >/dev/null || { echo "clang is needed (apt-get install clang)" >&2; exit 2; }
# The pure modules, as meson.build lists them (one list to keep up to date).
mapfile -t pure < <(sed -n '/^pure_sources = files(/,/^)/p' meson.build | grep -o "src/[a-z_0-9]*\.c")
[ ${#pure[@]} -gt 0 ] || { echo "no pure_sources in meson.build" >&2; exit 2; }
# The generated sources meson would make: the embedded default config.
/usr/bin/python3 src/embed.py conf/hookstream.conf "$out/default_conf.c" config_default_text
printf '#define HOOKSTREAM_VERSION "fuzz"\n' >"$out/hs_version.h"
results=()
failed=0
for f in tests/fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	t=${t#fuzz_}
	ok=1
	# shellcheck disable=SC2046 # pkg-config output is a word list
	clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -Iinclude -I"$out" "$f" "${pure[@]}" \
		"$out/default_conf.c" $(pkg-config --cflags --libs jansson libcrypto libssl zlib) \
		-o "$out/fuzz_$t" || ok=0
	if [ $ok = 1 ]; then
		mkdir -p "$out/corpus_$t"
		if [ -n "${FUZZ_RUNS:-}" ]; then
			bound=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}")
			echo "fuzzing $t: $FUZZ_RUNS runs from seed ${FUZZ_SEED:-1}"
		else
			bound=(-max_total_time="$secs")
			echo "fuzzing $t for ${secs}s"
		fi
		dict=()
		[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
		# New inputs go to a scratch corpus; crashes (crash-*) to the current directory.
		"$out/fuzz_$t" "${bound[@]}" "${dict[@]}" "$out/corpus_$t" \
			"tests/fuzz/corpus/$t" >"$out/log_$t" 2>&1 || ok=0
		tail -n 2 "$out/log_$t"
	fi
	if [ $ok = 1 ]; then
		results+=("$t ok")
	else
		failed=$((failed + 1))
		results+=("$t crashed")
		tail -n 40 "$out/log_$t" 2>/dev/null
	fi
done
if [ -n "${RESULTS_DIR:-}" ]; then
	mkdir -p "$RESULTS_DIR"
	{
		echo '<?xml version="1.0" encoding="utf-8"?>'
		echo "<testsuite name=\"fuzz\" tests=\"${#results[@]}\" failures=\"$failed\">"
		for r in "${results[@]}"; do
			name=${r%% *}
			if [ "${r#* }" = ok ]; then
				echo "  <testcase classname=\"fuzz\" name=\"$name\"/>"
			else
				echo "  <testcase classname=\"fuzz\" name=\"$name\"><failure message=\"crash\"/></testcase>"
			fi
		done
		echo "</testsuite>"
	} >"$RESULTS_DIR/fuzz-integration.xml"
fi
printf '%s\n' "${results[@]}"
exit $((failed > 0))
