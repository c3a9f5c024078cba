#!/usr/bin/env bash
# make demo: build and install trickle, start a throw-away server with it
# preloaded, create stream tables over a pgbench database, change the
# sources under load, and show the stream tables catching up.
# `make demo-stop` (or `bash demo/demo.sh stop`) stops and removes it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/test/lib.sh"
dir=/tmp/trickle-demo

psql_demo() { as_user psql -X -q -h 127.0.0.1 -p "$(cat "$dir.port")" -U postgres -d demo "$@"; }

if [ "${1:-start}" = stop ]; then
	stop_server "$dir"
	as_user rm -rf "$dir"
	rm -f "$dir.port" "$dir.initdb.log"
	echo "demo server stopped and removed"
	exit 0
fi

ensure_packages
ensure_user
cd "$top"
if [ "$(id -u)" -eq 0 ]; then
	build=/var/tmp/trickle-demo-build
	rm -rf "$build" && mkdir -p "$build"
	(cd "$top" && tar --exclude=./.git -cf - .) | (cd "$build" && tar -xf -)
	chown -R "$TRICKLE_USER" "$build"
	cd "$build"
fi
as_user make -s -j2 >/dev/null
as_root make -s install >/dev/null

stop_server "$dir"
port=$(free_port 55432)
echo "$port" >"$dir.port"
chmod a+r "$dir.port"
start_server "$dir" "$port"
as_user createdb -h 127.0.0.1 -p "$port" -U postgres demo
as_user pgbench -q -i -s 5 -h 127.0.0.1 -p "$port" -U postgres demo >/dev/null 2>&1

echo "== trickle demo: a throw-away server on 127.0.0.1:$port"
psql_demo <<'SQL'
CREATE EXTENSION trickle;
-- balance per branch: a GROUP BY over 500,000 accounts
SELECT trickle.create_stream_table('branch_balance',
  $$SELECT bid, count(*) AS accounts, sum(abalance) AS balance
      FROM pgbench_accounts GROUP BY bid$$, schedule => '2s');
-- a join with an aggregate
SELECT trickle.create_stream_table('teller_activity',
  $$SELECT t.bid, t.tid, count(h.*) AS transactions, coalesce(sum(h.delta), 0) AS volume
      FROM pgbench_tellers t LEFT JOIN pgbench_history h ON h.tid = t.tid
     GROUP BY t.bid, t.tid$$, schedule => '5s');
SQL
echo
echo "-- stream tables are real relations with the trickle access method:"
psql_demo -c "SELECT c.oid::regclass AS stream_table, a.amname AS access_method
                FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'trickle'"
psql_demo -c "SELECT bid, accounts, balance FROM branch_balance ORDER BY bid"

echo "-- the scheduler and its refresh workers (no manual refresh from here on):"
psql_demo -c "SELECT pid, kind, database, state FROM trickle.workers ORDER BY kind"

echo "-- pgbench writes to the sources for 12 seconds (2 clients); every 2 s we look at"
echo "   branch_balance (schedule 2s): how long ago the scheduler last refreshed it, and"
echo "   how many refreshes it has done (every branch changes between two refreshes):"
as_user pgbench -n -c 2 -T 12 -h 127.0.0.1 -p "$port" -U postgres demo >"$dir.pgbench" 2>&1 &
bench=$!
for i in 1 2 3 4 5 6; do
	sleep 2
	psql_demo -At -c "SELECT format('t+%ss  last refresh %s ms ago, %s scheduled refreshes so far (%s)',
	                    $((i * 2)),
	                    round(extract(epoch FROM clock_timestamp() - last_refresh_at) * 1000),
	                    (SELECT count(*) FROM trickle.refresh_history
	                      WHERE stream_table = 'branch_balance'::regclass AND initiated_by = 'SCHEDULER'),
	                    effective_mode)
	                    FROM trickle.stream_tables WHERE name = 'branch_balance'::regclass"
done
wait "$bench"
grep -E 'tps' "$dir.pgbench" || true
echo "-- after the load stops, within one schedule period the stream tables catch up:"
sleep 6
psql_demo -c "SELECT count(*) AS branches_out_of_date FROM (
                SELECT bid, sum(abalance) AS balance FROM pgbench_accounts GROUP BY bid
                EXCEPT SELECT bid, balance FROM branch_balance) d"
psql_demo -c "SELECT stream_table, action, count(*) AS refreshes, round(avg(extract(epoch FROM finished_at - started_at)) * 1000, 1) AS avg_ms
                FROM trickle.refresh_history GROUP BY 1, 2 ORDER BY 1, 2"
psql_demo -c "SELECT name, refresh_mode, effective_mode, status, staleness, next_refresh_at
                FROM trickle.stream_tables"
echo "-- only trickle writes to a stream table:"
psql_demo -c "DELETE FROM branch_balance" 2>&1 || true
echo
echo "Connect:  psql -h 127.0.0.1 -p $port -U postgres demo"
echo "Stop:     make demo-stop"
