#!/usr/bin/env bash
# bench/freshness.sh [SAMPLES] [SCHEDULE...]: the lag from a source commit to
# its visibility in a stream table refreshed by the scheduler (no load).
# Starts and stops a throw-away server; uses the installed extension.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/test/lib.sh"
ensure_user
samples=${1:-20}
shift || true
schedules=("${@:-1s}")
[ $# -eq 0 ] && schedules=(1s 100ms)
dir=/tmp/trickle-bench-freshness
port=$(free_port 55500)
start_server "$dir" "$port"
trap 'stop_server "$dir"' EXIT
psql_b() { as_user psql -X -q -At -h 127.0.0.1 -p "$port" -U postgres "$@"; }
psql_b -c 'CREATE EXTENSION trickle'
for sched in "${schedules[@]}"; do
	psql_b -c "DROP TABLE IF EXISTS lsrc CASCADE" \
		-c "CREATE TABLE lsrc (id int PRIMARY KEY, g int)" \
		-c "SELECT trickle.create_stream_table('lst', 'SELECT g, count(*) AS n FROM lsrc GROUP BY g', schedule => '$sched')" >/dev/null 2>&1
	lags=$(for i in $(seq 1 "$samples"); do
		sleep "0.$((RANDOM % 9 + 1))"
		psql_b <<SQL
INSERT INTO lsrc VALUES ($i, $i);
SELECT clock_timestamp() AS t0 \gset
DO \$\$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM lst WHERE g = $i) LOOP PERFORM pg_sleep(0.002); END LOOP; END \$\$;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
SQL
	done | sort -n)
	n=$(echo "$lags" | wc -l)
	p50=$(echo "$lags" | sed -n "$(( (n + 1) / 2 ))p")
	p99=$(echo "$lags" | sed -n "$(( (n * 99 + 99) / 100 ))p")
	max=$(echo "$lags" | tail -1)
	echo "schedule $sched: $n commits, lag to visibility p50 ${p50} ms, p99 ${p99} ms, max ${max} ms"
done
