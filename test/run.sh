#!/usr/bin/env bash
# make test: build with -Werror, install, and run every suite (unit, spin
# model check, fuzz smoke, pg_regress, isolation, TAP, version sync).  Ends
# with the line "N passed, M failed" and exits non-zero on any failure.
#
# As root (CI), it installs missing Debian packages, creates the
# unprivileged user the servers need, and works in a copy of the tree that
# user owns.  FUZZ_SECONDS (default 30) sets the fuzz smoke run per target.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/test/lib.sh"

ensure_packages || { echo "could not install the packages trickle needs"; exit 1; }
ensure_user

if [ "$(id -u)" -eq 0 ]; then
	work=${TRICKLE_TEST_DIR:-/var/tmp/trickle-test}
	rm -rf "$work"
	mkdir -p "$work"
	(cd "$top" && tar --exclude=./.git -cf - .) | (cd "$work" && tar -xf -)
	chown -R "$TRICKLE_USER" "$work"
else
	work=$top
fi
cd "$work" || exit 1

passed=0
failed=0
failures=()
log=$work/test/run.log
: >"$log"

# count PASSED FAILED NAME: add a suite's figures to the totals
count() {
	passed=$((passed + $1))
	failed=$((failed + $2))
	[ "$2" -gt 0 ] && failures+=("$3")
	printf '%-12s %4d passed, %d failed\n' "$3" "$1" "$2"
}

# grep -c that prints 0 instead of failing
n() { grep -cE "$1" "$2" || true; }

echo "== build (-Werror)"
if ! as_user make -s clean >/dev/null 2>&1 || ! as_user make -s WERROR=1 -j2 >"$work/test/build.log" 2>&1; then
	cat "$work/test/build.log"
	count 0 1 build
	echo "$passed passed, $failed failed"
	exit 1
fi
as_root make -s install >/dev/null || { count 0 1 install; echo "$passed passed, $failed failed"; exit 1; }

echo "== unit (cmocka)"
as_user make -s unit >"$work/test/unit.log" 2>&1
rc=$?
p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$work/test/unit.log" | awk '{s += $4} END {print s + 0}')
f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$work/test/unit.log" | awk '{s += $4} END {print s + 0}')
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
[ "$f" -gt 0 ] && cat "$work/test/unit.log"
count "$p" "$f" unit

echo "== spin (model check)"
as_user make -s spin >"$work/test/spin.log" 2>&1
rc=$?
grep -E 'errors: ' "$work/test/spin.log" || true
p=$(n 'errors: 0$' "$work/test/spin.log")
f=$(n 'FAILED' "$work/test/spin.log")
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
[ "$f" -gt 0 ] && cat "$work/test/spin.log"
count "$p" "$f" spin

echo "== fuzz smoke (${FUZZ_SECONDS:-30} s per target)"
as_user make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}" >"$work/test/fuzz.log" 2>&1
rc=$?
grep -E '^(fuzz_|Done )' "$work/test/fuzz.log" || true
p=$(n 'Done [0-9]+ runs' "$work/test/fuzz.log")
f=$(n 'ERROR: (libFuzzer|AddressSanitizer|UndefinedBehaviorSanitizer)|^FAILED' "$work/test/fuzz.log")
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
[ "$f" -gt 0 ] && tail -50 "$work/test/fuzz.log"
count "$p" "$f" fuzz

# regress_suite NAME OUTDIR MAKE-ARGS...: a pg_regress-style suite through
# PGXS installcheck, counted by its "... ok" / "... FAILED" lines
regress_suite() {
	local name=$1 out=$2 logf=$work/test/$1.log
	shift 2
	echo "== $name"
	as_user make -s installcheck "$@" >"$logf" 2>&1
	local rc=$?
	local p f
	p=$(n '\.\.\. ok' "$logf")
	f=$(n '\.\.\. FAILED' "$logf")
	[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
	if [ "$f" -gt 0 ]; then
		cat "$logf"
		cat "$work/$out/regression.diffs" 2>/dev/null
	fi
	count "$p" "$f" "$name"
}

regress_suite pg_regress test/out ISOLATION= TAP_TESTS=
regress_suite isolation test/out_isolation REGRESS= TAP_TESTS=

echo "== TAP (prove)"
as_user make -s installcheck REGRESS= ISOLATION= PROVE_FLAGS=-v >"$work/test/tap.log" 2>&1
rc=$?
grep -E '^(t/|All tests|Files=|Result:)' "$work/test/tap.log" || true
p=$(n '^ok [0-9]+' "$work/test/tap.log")
f=$(n '^not ok [0-9]+' "$work/test/tap.log")
[ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
if [ "$f" -gt 0 ]; then
	grep -vE '^ok ' "$work/test/tap.log" | tail -80
	for l in "$work"/tmp_check/log/*; do echo "--- $l"; tail -40 "$l"; done
fi
count "$p" "$f" tap

echo "== version sync"
if as_user make -s check-version-sync; then count 1 0 versions; else count 0 1 versions; fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failing suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
