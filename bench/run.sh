#!/usr/bin/env bash
# bench/run.sh [quick] [FAMILY...]: the benchmark report (`make bench`,
# `make bench-quick`).  Runs each family of measurements (each a script in
# bench/ that starts its own throw-away server with the installed trickle,
# measures, prints a markdown section and stops the server), then prints the
# whole report and writes it to $BENCH_REPORT (default bench/out/report.md,
# or report-quick.md; each family's section and progress in report.parts/),
# ready to paste into docs/BENCHMARKS.md: the machine,
# PostgreSQL and trickle versions, the command, and every family's section.
#
# Families, in report order (all by default):
#   write         write overhead under pgbench tpcb-like: trickle, triggers, pg_ivm
#   refresh       refresh cost by query shape: DIFFERENTIAL/FULL vs REFRESH MATERIALIZED VIEW
#   freshness     commit-to-visible lag under load, schedules 1s and 100ms
#   idle          refresh with nothing to do; the scheduler's CPU with idle stream tables
#   scale         1,000 partitions; a chain of 10 stream tables
#   differential  issue 3's figures: capture cost, refresh vs RMV, nothing to do
#
# `quick` (BENCH_QUICK=1) runs every family at small sizes with 3 repeats, in
# about 3 minutes: CI runs it so that the harness keeps working; it reports
# and never asserts times.  The exit status is non-zero when a family failed
# (its section then says so).  Each family's knobs are described at the top
# of its script.  Benchmarks use the installed trickle: make install first.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
all=(write refresh freshness idle scale differential)

quick=${BENCH_QUICK:-0}
families=()
for a in "$@"; do
	case $a in
	quick) quick=1 ;;
	full) quick=0 ;;
	*)
		[ -f "$top/bench/$a.sh" ] && [[ " ${all[*]} " == *" $a "* ]] || {
			echo "usage: bash bench/run.sh [quick] [FAMILY...]; families: ${all[*]}" >&2
			exit 2
		}
		families+=("$a")
		;;
	esac
done
[ ${#families[@]} -gt 0 ] || families=("${all[@]}")
export BENCH_QUICK=$quick

source "$top/test/lib.sh"
ensure_packages >/dev/null || { echo "could not install the packages the benchmarks need" >&2; exit 1; }
ensure_user

# The command as given, with every setting that came from the environment.
cmd=
for v in $(compgen -e | grep -E '^(BENCH_|DIFF_ROWS$|WRITE_|REFRESH_|FRESH_|IDLE_|SCALE_|REPEAT_|CAPTURE_REPEAT$|PGBENCH_|NODATA_CALLS$|TRICKLE_BENCH_MODE$|PG_BIN$)' | grep -vx BENCH_QUICK | sort); do
	cmd+="$v=${!v} "
done
cmd+="bash bench/run.sh${*:+ $*}"
# what make runs, when nothing changes the sizes
make_target=
if ! compgen -e | grep -E '^(DIFF_ROWS|WRITE_|REFRESH_|FRESH_|IDLE_|SCALE_|REPEAT_|CAPTURE_REPEAT|PGBENCH_|NODATA_CALLS|TRICKLE_BENCH_MODE)' >/dev/null; then
	[ $# -eq 0 ] && make_target=" (\`make bench\`)"
	[ "$*" = quick ] && make_target=" (\`make bench-quick\`)"
fi

report=${BENCH_REPORT:-$top/bench/out/report$([ "$quick" = 1 ] && echo -quick).md}
mkdir -p "$(dirname "$report")"
# each family's section, progress and time, kept beside the report
work=${report%.md}.parts
rm -rf "$work"
mkdir -p "$work"

load() { awk '{ print $1, $2, $3 }' /proc/loadavg; }
started=$(date +%s)
load_before=$(load)
failed=()
for f in "${families[@]}"; do
	echo "== bench: $f" >&2
	t0=$(date +%s)
	# progress shows as it comes, and is kept for the report if it fails
	bash "$top/bench/$f.sh" >"$work/$f.md" 2> >(tee "$work/$f.err" >&2)
	rc=$?
	t1=$(date +%s)
	echo "$((t1 - t0))" >"$work/$f.time"
	if [ $rc -ne 0 ]; then
		sleep 1 # for the tee to write the last lines
		failed+=("$f")
		{
			echo "### $f: FAILED"
			echo
			echo "⚠ \`bash bench/$f.sh\` exited with status $rc after $((t1 - t0)) s. The end of its output:"
			echo
			echo '```'
			tail -n 30 "$work/$f.err"
			echo '```'
		} >"$work/$f.md"
	fi
done
finished=$(date +%s)

so=$("$PG_CONFIG" --pkglibdir)/trickle.so
extversion=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$("$PG_CONFIG" --sharedir)/extension/trickle.control" 2>/dev/null)
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || true)
[ -n "$commit" ] && ! git -C "$top" diff --quiet HEAD 2>/dev/null && commit+=" (with uncommitted changes)"
{
	if [ "$quick" = 1 ]; then
		echo "## Benchmark report, quick sizes (trickle $extversion)"
		echo
		echo "**Quick sizes**: small sources, few repeats, every family once so that the harness keeps working. These figures say little about performance."
	else
		echo "## Benchmark report (trickle $extversion)"
	fi
	echo
	echo "* Command: \`$cmd\`$make_target, $(date -u -d "@$started" '+%Y-%m-%d %H:%M UTC'), $((finished - started)) s."
	echo "* Machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB; $(. /etc/os-release && echo "$PRETTY_NAME"), Linux $(uname -r); load average $load_before at the start, $(load) at the end."
	echo "* PostgreSQL: $("$PG_CONFIG" --version) (\`$PG_CONFIG\`)."
	echo "* trickle: $extversion, the installed \`$so\` of $(date -u -r "$so" '+%Y-%m-%d %H:%M UTC')${commit:+; this tree at commit $commit}."
	echo "* Families: $(for f in "${families[@]}"; do printf '%s (%s s) ' "$f" "$(cat "$work/$f.time")"; done | sed 's/ $//; s/) /), /g')."
	echo "* Each family starts its own throw-away server (initdb, trickle preloaded, \`fsync = off\`, autovacuum off, \`trickle.enabled = off\` unless the scheduler is measured) and stops it. Figures: median (min–max) of the runs stated; ratios compare medians measured in the same family run."
	echo
	for f in "${families[@]}"; do
		if [ "$f" = differential ]; then
			# issue 3's script keeps its own headings: one level down
			sed -E 's/^## Differential refresh$/## Issue 3: differential refresh and capture/; s/^(#+) /#\1 /' "$work/$f.md"
		else
			cat "$work/$f.md"
		fi
		echo
	done
} >"$report"
cat "$report"
echo "report written to $report" >&2
if [ ${#failed[@]} -gt 0 ]; then
	echo "bench: failed families: ${failed[*]}" >&2
	exit 1
fi
