#!/usr/bin/env bash
# bench/full_refresh.sh [ROWS] [NGROUPS]: FULL refresh of a stream table
# against REFRESH MATERIALIZED VIEW (plain and CONCURRENTLY) for the same
# GROUP BY query, on a throw-away server.  Prints a markdown table: median
# and spread of REPEAT runs, each after changing a fraction of the rows;
# then the relation sizes after those refreshes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/test/lib.sh"
ROWS=${1:-1000000}
NGROUPS=${2:-1000}
REPEAT=${REPEAT:-5}
dir=/tmp/trickle-bench

ensure_packages >/dev/null
ensure_user
port=$(free_port 55600)
trap 'stop_server "$dir"' EXIT
start_server "$dir" "$port" "shared_buffers = '1GB'
work_mem = '64MB'
max_wal_size = '4GB'
checkpoint_timeout = '30min'
trickle.enabled = off"
q() { as_user psql -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$1"; }

q "CREATE EXTENSION trickle"
q "CREATE TABLE src (id bigint PRIMARY KEY, grp int, amount numeric)"
q "INSERT INTO src SELECT g, g % $NGROUPS, (g % 997) * 1.25 FROM generate_series(1, $ROWS) g"
q "VACUUM ANALYZE src"
query="SELECT grp, count(*) AS n, sum(amount) AS total FROM src GROUP BY grp"
q "SELECT trickle.create_stream_table('st', '$query')" >/dev/null
q "CREATE MATERIALIZED VIEW mv AS $query"
q "CREATE UNIQUE INDEX ON mv (grp)"

# ms METHOD: run one refresh, print its wall time in ms
ms() {
	local sql
	case $1 in
	full) sql="SELECT * FROM trickle.refresh_stream_table('st')" ;;
	mv) sql="REFRESH MATERIALIZED VIEW mv" ;;
	mvc) sql="REFRESH MATERIALIZED VIEW CONCURRENTLY mv" ;;
	esac
	as_user psql -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-c '\timing on' -c "$sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}

# stats: median and min-max of numbers on stdin
stats() { sort -n | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f (%.1f–%.1f)", m, v[1], v[NR]}'; }

echo "## FULL refresh vs REFRESH MATERIALIZED VIEW"
echo
echo "$ROWS source rows, $NGROUPS groups, \`$query\`; median (min–max) of $REPEAT runs, ms."
echo
echo "| changed rows | trickle FULL | REFRESH MATERIALIZED VIEW | … CONCURRENTLY |"
echo "| --- | --- | --- | --- |"
for pct in 0 0.1 1 10; do
	declare -A t=()
	for m in full mv mvc; do
		for _ in $(seq "$REPEAT"); do
			if [ "$pct" != 0 ]; then
				q "UPDATE src SET amount = amount + 1 WHERE id % 1000 < $pct * 10"
			fi
			t[$m]+="$(ms $m)"$'\n'
		done
	done
	printf '| %s %% | %s | %s | %s |\n' "$pct" \
		"$(printf '%s' "${t[full]}" | stats)" "$(printf '%s' "${t[mv]}" | stats)" \
		"$(printf '%s' "${t[mvc]}" | stats)"
	unset t
done
echo
echo "Heap after all refreshes (no VACUUM in between): stream table $(q "SELECT pg_size_pretty(pg_table_size('st'))"), materialized view $(q "SELECT pg_size_pretty(pg_table_size('mv'))")."
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(q 'SELECT version()' | cut -d, -f1)."
