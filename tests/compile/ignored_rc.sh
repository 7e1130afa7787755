#!/usr/bin/env bash
# JPKI_MUST_CHECK works: tests/compile/ignored_rc.c builds with every
# result checked, and each variant that drops one result fails to build,
# for that reason only (every error line is the unused-result one).  The
# targets are EXCLUDE_FROM_ALL object libraries of tests/CMakeLists.txt,
# so they get exactly the project's compiler and flags.
set -u
build=${JPKI_BUILD:?JPKI_BUILD: the CMake build directory}
fail=0

try() { cmake --build "$build" --target "$1" 2>&1; }

if ! out=$(try compile_rc_checked); then
	echo "FAIL: the checked variant does not build:"
	echo "$out"
	exit 1
fi
echo "ok: every result checked (and one jpki_ignore) builds"

for n in 1 2 3 4; do
	# a target that failed before has no object: it compiles again
	if out=$(try "compile_rc_ignored_$n"); then
		echo "FAIL: variant $n drops a result and still builds"
		fail=1
		continue
	fi
	errs=$(grep -E '(^|[^a-z])error:' <<<"$out")
	if [ -z "$errs" ] || grep -qv 'unused-result' <<<"$errs"; then
		echo "FAIL: variant $n failed, but not (only) on the ignored result:"
		echo "$out"
		fail=1
		continue
	fi
	echo "ok: variant $n refused: $(head -n1 <<<"$errs" | sed 's/.*error: //')"
done
exit $fail
