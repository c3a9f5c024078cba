#!/usr/bin/env bash
# bench/idle.sh: what trickle costs when nothing changes.
#
#  1. A manual refresh with no change: IDLE_CALLS calls of
#     refresh_stream_table in a warm session, for a stream table with
#     refresh_mode 'auto' over IDLE_ROWS rows (DIFFERENTIAL: NO_DATA) and
#     one with 'full' over the same query (a FULL refresh recomputes).
#  2. The scheduler's CPU: utime + stime of the `trickle scheduler` process
#     (and the launcher) from /proc/<pid>/stat over IDLE_RUNS windows of
#     IDLE_WINDOW seconds, first with no stream table, then with IDLE_TABLES
#     idle stream tables (each over a table of its own, schedule `1s`,
#     refresh_mode 'auto').  No source changes during the windows.
#
# Standalone: bash bench/idle.sh (BENCH_QUICK=1 for the quick sizes).
# Overrides: IDLE_ROWS, IDLE_CALLS, IDLE_TABLES, IDLE_WINDOW, IDLE_RUNS.
set -euo pipefail
family=idle
source "$(dirname "$0")/lib.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	IDLE_ROWS=${IDLE_ROWS:-20000} IDLE_CALLS=${IDLE_CALLS:-50} IDLE_TABLES=${IDLE_TABLES:-100}
	IDLE_WINDOW=${IDLE_WINDOW:-2} IDLE_RUNS=${IDLE_RUNS:-3}
else
	IDLE_ROWS=${IDLE_ROWS:-1000000} IDLE_CALLS=${IDLE_CALLS:-200} IDLE_TABLES=${IDLE_TABLES:-1000}
	IDLE_WINDOW=${IDLE_WINDOW:-15} IDLE_RUNS=${IDLE_RUNS:-5}
fi
tck=$(getconf CLK_TCK)

bench_server

# --- 1. manual refresh with nothing to do ----------------------------------
progress "manual refreshes with no change: $IDLE_CALLS calls each"
q "CREATE TABLE src (id bigint PRIMARY KEY, g int NOT NULL, v int NOT NULL)"
q "INSERT INTO src SELECT i, i % 1000, (i * 7919) % 1000 FROM generate_series(1::bigint, $IDLE_ROWS) i"
query="SELECT g, count(*) AS n, sum(v) AS s FROM src GROUP BY g"
create_st st_auto "$query"
create_st st_full "$query" full
settle
nodata_rows=()
for st in st_auto st_full; do
	mode=$(effective_mode "$st")
	warm_start
	warm_timed "$(refresh_sql "$st")" >/dev/null
	act= dur= wall=
	for _ in $(seq "$IDLE_CALLS"); do
		read -r a d w <<<"$(warm_timed "$(refresh_sql "$st")")"
		act+="$a"$'\n' dur+="$d"$'\n' wall+="$w"$'\n'
	done
	warm_stop
	nodata_rows+=("$(printf '| %s | %s | %s | %s | %s | %s |' "\`$st\` (refresh_mode '${st#st_}')" "$mode" "$IDLE_CALLS" \
		"$(printf '%s' "$act" | actions)" "$(printf '%s' "$wall" | stats)" "$(printf '%s' "$dur" | stats)")")
done
drop_st st_auto
drop_st st_full

# --- 2. the scheduler's CPU ------------------------------------------------
# cpu_ticks PID: utime + stime, in clock ticks (after the comm field, which
# may hold spaces, they are fields 12 and 13)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
pid_of() { q "SELECT pid FROM trickle.workers WHERE kind = '$1' AND (database = current_database() OR '$1' = 'launcher') LIMIT 1"; }
# windows LABEL: IDLE_RUNS windows; appends a table row
cpu_rows=()
windows() {
	local sp lp s0 l0 s1 l1 sched= launch= h0 h1 i
	sp=$(pid_of scheduler) lp=$(pid_of launcher)
	[ -n "$sp" ] && [ -n "$lp" ] || { echo "no scheduler or launcher in trickle.workers" >&2; exit 1; }
	h0=$(q "SELECT count(*) FROM trickle.refresh_history WHERE initiated_by = 'SCHEDULER'")
	for i in $(seq "$IDLE_RUNS"); do
		progress "$1: window $i/$IDLE_RUNS (${IDLE_WINDOW}s)"
		s0=$(cpu_ticks "$sp") l0=$(cpu_ticks "$lp")
		sleep "$IDLE_WINDOW"
		s1=$(cpu_ticks "$sp") l1=$(cpu_ticks "$lp")
		sched+="$(awk -v a="$s0" -v b="$s1" -v t="$tck" -v w="$IDLE_WINDOW" 'BEGIN { print (b - a) * 1000 / t / w }')"$'\n'
		launch+="$(awk -v a="$l0" -v b="$l1" -v t="$tck" -v w="$IDLE_WINDOW" 'BEGIN { print (b - a) * 1000 / t / w }')"$'\n'
	done
	h1=$(q "SELECT count(*) FROM trickle.refresh_history WHERE initiated_by = 'SCHEDULER'")
	cpu_rows+=("$(printf '| %s | %s | %s | %s |' "$1" "$(printf '%s' "$sched" | stats)" "$(printf '%s' "$launch" | stats)" "$((h1 - h0))")")
}

q "ALTER SYSTEM SET trickle.enabled = on"
q "SELECT pg_reload_conf()" >/dev/null
sleep 2
windows "no stream table"

progress "creating $IDLE_TABLES idle stream tables"
c0=$(date +%s.%N)
{
	for i in $(seq "$IDLE_TABLES"); do
		echo "CREATE TABLE idle_$i (id int PRIMARY KEY, g int NOT NULL, v int NOT NULL);"
		echo "INSERT INTO idle_$i SELECT j, j % 10, j FROM generate_series(1, 100) j;"
		echo "SELECT trickle.create_stream_table('st_idle_$i', 'SELECT g, count(*) AS n, sum(v) AS s FROM idle_$i GROUP BY g', schedule => '1s');"
	done
} | psql_u -f - >/dev/null
c1=$(date +%s.%N)
create_ms=$(awk -v a="$c0" -v b="$c1" -v n="$IDLE_TABLES" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }')
modes=$(q "SELECT effective_mode FROM trickle.stream_tables WHERE name::text LIKE 'st_idle_%'" | actions)
settle
# the scheduler sees the new stream tables; let it settle before measuring
sleep 3
windows "$IDLE_TABLES idle stream tables"

echo "### Zero-change cost"
echo
echo "#### A manual refresh with nothing to do"
echo
echo "\`$query\` over $IDLE_ROWS rows; $IDLE_CALLS calls of \`refresh_stream_table(name)\` in a warm session (one psql kept open, one untimed call first), no change in between. Client wall time and the function's \`duration_ms\`, ms, median (min–max)."
echo
echo "| stream table | effective mode | calls | action | wall ms | duration_ms |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${nodata_rows[@]}"
echo
echo "#### The scheduler when nothing changes"
echo
echo "CPU time (utime + stime from \`/proc/<pid>/stat\`, $tck ticks/s) of the database's \`trickle scheduler\` process and of the launcher, in ms of CPU per second of wall time (1 = 0.1 % of a core; one tick over one window is $(awk -v t="$tck" -v w="$IDLE_WINDOW" 'BEGIN { printf "%.2g", 1000 / t / w }') ms/s), median (min–max) over $IDLE_RUNS windows of $IDLE_WINDOW s; \`trickle.enabled = on\`, \`trickle.safety_interval\` at its default (30 s), nothing writing. The $IDLE_TABLES stream tables each read a 100-row table of their own (\`SELECT g, count(*), sum(v) … GROUP BY g\`, schedule \`1s\`, \`refresh_mode => 'auto'\`: $modes); creating them took $create_ms ms each (one psql session, including the table and its 100 rows)."
echo
echo "| stream tables | scheduler, CPU ms/s | launcher, CPU ms/s | scheduled refreshes during the windows |"
echo "| --- | --- | --- | --- |"
printf '%s\n' "${cpu_rows[@]}"
echo
echo "* Server: $server_conf."
