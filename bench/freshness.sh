#!/usr/bin/env bash
# bench/freshness.sh [SAMPLES] [SCHEDULE...]: the lag from a source commit to
# its visibility in a stream table refreshed by the scheduler, under a
# steady pgbench load (default schedules `1s` and `100ms`).
#
# The stream table is `SELECT bid, count(*), sum(abalance) FROM
# pgbench_accounts GROUP BY bid`, created with the schedule, while pgbench's
# tpcb-like script runs rate-limited (-R FRESH_RATE, FRESH_CLIENTS clients)
# against the same accounts.  A probe, at random moments 0.1–1 s apart,
# inserts and commits an account with a bid of its own, takes the time right
# after the commit, and polls the stream table every 2 ms until that bid's
# group shows: the lag is from the commit's return to the first poll that
# sees it.  FRESH_RATE=0 runs without load.
#
# Standalone: bash bench/freshness.sh (BENCH_QUICK=1 for the quick sizes).
# Overrides: FRESH_SAMPLES (or the first argument), FRESH_SCHEDULES (or the
# other arguments), FRESH_SCALE, FRESH_RATE, FRESH_CLIENTS.
set -euo pipefail
family=freshness
source "$(dirname "$0")/lib.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	FRESH_SAMPLES=${FRESH_SAMPLES:-8} FRESH_SCALE=${FRESH_SCALE:-1}
else
	FRESH_SAMPLES=${FRESH_SAMPLES:-50} FRESH_SCALE=${FRESH_SCALE:-10}
fi
[ $# -gt 0 ] && { FRESH_SAMPLES=$1; shift; }
[ $# -gt 0 ] && FRESH_SCHEDULES="$*"
FRESH_SCHEDULES=${FRESH_SCHEDULES:-1s 100ms}
FRESH_RATE=${FRESH_RATE:-200}
FRESH_CLIENTS=${FRESH_CLIENTS:-2}

bench_server "trickle.enabled = on"
server_conf+=", trickle.enabled on (the scheduler runs)"
progress "pgbench -i -s $FRESH_SCALE"
pgbench_u -i -q -s "$FRESH_SCALE" >/dev/null 2>&1
settle
query="SELECT bid, count(*) AS accounts, sum(abalance) AS balance FROM pgbench_accounts GROUP BY bid"

load_start() {
	load_pid=
	[ "$FRESH_RATE" = 0 ] && return 0
	pgbench_u -n -M prepared -c "$FRESH_CLIENTS" -j "$FRESH_CLIENTS" -R "$FRESH_RATE" -T 3600 >"$dir/load.log" 2>&1 &
	load_pid=$!
	bench_pids+=("$load_pid")
	sleep 2
}
load_stop() {
	[ -n "$load_pid" ] || return 0
	# as root, $load_pid is runuser: stop pgbench, its child, first
	if [ "$(id -u)" -eq 0 ]; then pkill -TERM -P "$load_pid" 2>/dev/null || true; else kill "$load_pid" 2>/dev/null || true; fi
	wait "$load_pid" 2>/dev/null || true
}

rows=()
probe=0
for sched in $FRESH_SCHEDULES; do
	progress "schedule $sched: $FRESH_SAMPLES samples"
	create_st st_fresh "$query" auto "$sched"
	mode=$(effective_mode st_fresh)
	h0=$(q "SELECT count(*) FROM pgbench_history")
	t0=$(date +%s.%N)
	load_start
	lags=
	for _ in $(seq "$FRESH_SAMPLES"); do
		sleep "0.$((RANDOM % 9 + 1))"
		probe=$((probe + 1))
		lags+="$(psql_u <<SQL
INSERT INTO pgbench_accounts (aid, bid, abalance, filler) VALUES (-$probe, -$probe, 0, '');
SELECT clock_timestamp() AS t0 \gset
DO \$\$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM st_fresh WHERE bid = -$probe) LOOP PERFORM pg_sleep(0.002); END LOOP; END \$\$;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, 1);
SQL
)"$'\n'
	done
	load_stop
	t1=$(date +%s.%N)
	tps=$(awk -v n="$(($(q "SELECT count(*) FROM pgbench_history") - h0))" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
	[ "$FRESH_RATE" = 0 ] && tps="– (no load)"
	hist=$(q "SELECT action || ' ' || round(extract(epoch FROM finished_at - started_at) * 1000, 1)
		FROM trickle.refresh_history WHERE stream_table = 'st_fresh'::regclass AND initiated_by = 'SCHEDULER' AND status = 'COMPLETED'")
	nref=$(grep -c . <<<"$hist" || true)
	rows+=("$(printf '| `%s` | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s |' "$sched" "$mode" "$tps" \
		"$FRESH_SAMPLES" "$(printf '%s' "$lags" | pctl 50 | fmt)" "$(printf '%s' "$lags" | pctl 99 | fmt)" \
		"$(printf '%s' "$lags" | pctl 100 | fmt)" "$nref" \
		"$(awk '{ print $2 }' <<<"$hist" | median | fmt)" "$(awk '{ print $2 }' <<<"$hist" | pctl 99 | fmt)" \
		"$(awk '{ print $1 }' <<<"$hist" | actions count)")")
	drop_st st_fresh
	q "DELETE FROM pgbench_accounts WHERE aid < 0"
	settle
done

echo "### Freshness"
echo
if [ "$FRESH_RATE" = 0 ]; then
	echo "No load. "
else
	echo "Under a steady load: pgbench \`tpcb-like\`, scale $FRESH_SCALE, $FRESH_CLIENTS clients, rate-limited to $FRESH_RATE transactions/s (\`-R\`), on the same accounts table. "
fi
echo "A stream table \`$query\` (\`refresh_mode => 'auto'\`) with the schedule; a probe commits an account with a new bid at random moments 0.1–1 s apart and polls the stream table every 2 ms until the bid's group shows. Lag: from the commit's return to the first poll that sees it, ms, over $FRESH_SAMPLES commits (percentiles by nearest rank: below 100 samples p99 is the maximum). Refreshes: the scheduler's completed refreshes of the stream table during the samples, with their duration (finished_at − started_at, ms, median and p99)."
echo
echo "| schedule | effective mode | load, TPS achieved | commits | lag p50 ms | lag p99 ms | lag max ms | scheduled refreshes | refresh ms, median (p99) | actions |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "* Server: $server_conf."
