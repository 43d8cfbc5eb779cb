#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build hookstream twice (release with -Dwerror=true, then debug with ASan+UBSan)
# and run every suite against each build: unit (cmocka via meson test, plus the
# fuzz corpora replayed) and integration (pytest driving real redis-server and
# hookstream processes); between the two, build the container image and check
# it (tests/container/test_image.sh, needs root for podman/buildah).
# Ends with one line "N passed, N failed"; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

tests/install-deps.sh || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }

results="$root/build-results"
rm -rf "$results"
mkdir -p "$results"
py=/usr/bin/python3
failed_steps=0

step() { echo; echo "=== $*"; }

build() { # dir, meson options...
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi && ninja -C "$dir"
}

run_suites() { # label, build dir
	local label=$1 dir=$2
	step "$label: unit tests and fuzz corpus replay"
	meson test -C "$dir" --suite unit --suite fuzz --print-errorlogs --num-processes 2
	cp "$dir/meson-logs/testlog.json" "$results/$label-unit.json" 2>/dev/null || true
	step "$label: integration tests"
	HOOKSTREAM_BIN="$root/$dir/hookstream" "$py" -m pytest -q -p no:cacheprovider \
		--junitxml="$results/$label-integration.xml" tests/integration
	local rc=$?
	# pytest exits 5 when it collected nothing: that is a failure here.
	[ $rc -eq 5 ] && failed_steps=$((failed_steps + 1))
	return 0
}

step "formatting (clang-format, .clang-format)"
fmt_files=$(git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 'tests/unit/*.c' 'tests/unit/*.h' \
	'tests/fuzz/*.c' 'tests/bench/*.c' 2>/dev/null)
{
	echo '<?xml version="1.0" encoding="utf-8"?><testsuite name="format">'
	# shellcheck disable=SC2086 # a word list of file names
	if out=$(clang-format --dry-run --Werror $fmt_files 2>&1); then
		echo '<testcase classname="format" name="clang-format"/>'
	else
		echo "$out" | head -n 40
		echo '<testcase classname="format" name="clang-format"><failure message="not formatted"/></testcase>'
	fi
	echo '</testsuite>'
} >"$results/format-integration.xml.tmp"
grep -v '^<' "$results/format-integration.xml.tmp" || true
grep '^<' "$results/format-integration.xml.tmp" >"$results/format-integration.xml"
rm -f "$results/format-integration.xml.tmp"

step "release build (-Dwerror=true)"
if build build --buildtype=debugoptimized -Dwerror=true; then
	run_suites release build
else
	failed_steps=$((failed_steps + 1))
fi

step "container image (podman build, buildah run; needs root)"
RESULTS_DIR="$results" tests/container/test_image.sh

step "fuzzing (clang libFuzzer + ASan/UBSan, ${FUZZ_RUNS:=200000} runs per target, fixed seed)"
RESULTS_DIR="$results" FUZZ_RUNS="$FUZZ_RUNS" tests/fuzz/run.sh

step "sanitizer build (ASan + UBSan)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if build build-asan --buildtype=debug -Dwerror=true -Db_sanitize=address,undefined \
	-Db_lundef=false; then
	run_suites asan build-asan
else
	failed_steps=$((failed_steps + 1))
fi

"$py" tests/summarize.py "$results" "$failed_steps"
