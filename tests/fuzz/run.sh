#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build each fuzz target with clang's libFuzzer (+ ASan/UBSan) and fuzz it for
# a bounded time over its corpus. Usage: tests/fuzz/run.sh [SECONDS_PER_TARGET]
# A crash leaves its input in the current directory (crash-*): add it to
# tests/fuzz/corpus/<target>/ once fixed, so the replay test keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v clang >/dev/null || { echo "clang is needed (apt-get install clang)" >&2; exit 2; }
pure=(src/access.c src/classify.c src/config.c src/config_keys.c src/envelope.c src/form.c
      src/httpframe.c src/ini.c src/jsonparse.c src/jsonpath.c src/normalize.c src/redact.c
      src/pct.c src/redis_url.c src/timeutil.c src/utf8.c src/verify.c src/xalloc.c)
# The generated sources meson would make: the embedded default config.
/usr/bin/python3 src/embed.py conf/hookstream.conf "$out/default_conf.c" config_default_text
printf '#define HOOKSTREAM_VERSION "fuzz"\n' >"$out/hs_version.h"
for f in tests/fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	t=${t#fuzz_}
	# shellcheck disable=SC2046 # pkg-config output is a word list
	clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -Iinclude -I"$out" "$f" "${pure[@]}" \
		"$out/default_conf.c" $(pkg-config --cflags --libs jansson libcrypto) \
		-o "$out/fuzz_$t"
	mkdir -p "$out/corpus_$t"
	echo "fuzzing $t for ${secs}s"
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	"$out/fuzz_$t" -max_total_time="$secs" "${dict[@]}" "$out/corpus_$t" "tests/fuzz/corpus/$t"
done
