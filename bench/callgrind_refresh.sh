#!/usr/bin/env bash
# bench/callgrind_refresh.sh [CYCLES]: instructions per steady differential
# refresh of issue 3's workload A (1M rows, 1,000 groups, 0.1 % of the rows
# updated before each refresh), counted by valgrind's callgrind.  Wall times
# on a shared 2-core machine swing by 10-20 % from run to run; instruction
# counts do not, so this is how a change to the refresh path is compared
# with the one before it (install each build, run this, compare).
#
# A throw-away cluster is loaded once; then a single-user backend (no client
# round trip, no scheduler) runs under callgrind: CYCLES (default 30) times
# an UPDATE of 1,000 random rows (a fixed random seed, so two builds see the
# same changes) and refresh_stream_table.  Printed: instructions per refresh
# inside refresh_stream_table, and the part of them writing the stream
# table's rows; and the misses of callgrind's simulated first-level caches
# (instruction, data read, data write), which count what instructions do
# not: a change that makes a refresh's code or data leave the cache between
# two uses shows there.  Kernel time (WAL writes, page faults)
# is not counted.  Needs valgrind (installed if missing).  Uses the
# installed trickle (this script never builds or installs it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../test/lib.sh
source "$top/test/lib.sh"

CYCLES=${1:-30}
case $CYCLES in '' | *[!0-9]*) echo "usage: bash bench/callgrind_refresh.sh [CYCLES]" >&2; exit 2 ;; esac
dir=${BENCH_DIR:-/tmp/trickle-bench-callgrind}

ensure_packages >/dev/null
ensure_user
if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	as_root apt-get install -y -qq --no-install-recommends valgrind >/dev/null
fi
port=$(free_port 55700)
trap 'stop_server "$dir"' EXIT
start_server "$dir" "$port" "autovacuum = off
trickle.enabled = off"
q() { as_user psql -X -q -At -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$1"; }
q "CREATE EXTENSION trickle"
q "CREATE TABLE src (id bigint PRIMARY KEY, g int NOT NULL, h int NOT NULL, v int NOT NULL)"
q "INSERT INTO src SELECT i, i % 1000, i % 100000, (i * 7919) % 1000 FROM generate_series(1::bigint, 1000000) i"
q "SELECT trickle.create_stream_table('st_a', 'SELECT g, count(*) AS n, sum(v) AS s, avg(v) AS a FROM src GROUP BY g', refresh_mode => 'differential')" >/dev/null
q "VACUUM ANALYZE"
stop_server "$dir"

{
	echo "SELECT setseed(0.25);"
	for _ in $(seq "$CYCLES"); do
		echo "UPDATE src SET v = v + 1 WHERE id IN (SELECT (random() * 999999 + 1)::bigint FROM generate_series(1, 1000));"
		echo "SELECT action FROM trickle.refresh_stream_table('st_a');"
	done
} | as_user bash -c "cat > '$dir/cycles.sql'"
as_user valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$dir/callgrind.out" \
	"$PG_BIN/postgres" --single -D "$dir/data" postgres <"$dir/cycles.sql" >"$dir/single.log" 2>&1
actions=$(grep -o 'action = "[A-Z_]*"' "$dir/single.log" | sort | uniq -c | awk '{ gsub("\"", "", $4); printf "%s%s ×%s", (NR > 1 ? ", " : ""), $4, $1 }')
as_user callgrind_annotate --inclusive=yes "$dir/callgrind.out" 2>/dev/null |
	awk -v n="$CYCLES" -v actions="$actions" -v so="$("$PG_CONFIG" --pkglibdir)/trickle.so" '
		function num(s) { gsub(",", "", s); return s + 0 }
		# columns: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw, each but a zero
		# followed by its percentage in parentheses
		function counts(line, c,    i, k, t) {
			k = 0
			split(line, t, " ")
			for (i = 1; k < 9 && i in t; i++)
				if (t[i] ~ /^[0-9,.]+$/)
					c[++k] = t[i] == "." ? 0 : num(t[i])
		}
		/:refresh_stream_table \[/ && !r { counts($0, rc); r = rc[1] }
		/:simple_heap_update \[/ && !u { u = num($1) }
		END {
			printf "trickle: %s\n%d cycles of 1,000 random updates of 1M rows, each refreshed (%s)\n", so, n, actions
			printf "instructions per refresh: %.2fM (refresh_stream_table)\n", r / n / 1e6
			printf "  of which writing the changed groups'"'"' rows: %.2fM (simple_heap_update)\n", u / n / 1e6
			printf "first-level cache misses per refresh: instructions %.0fk, data read %.0fk, data write %.0fk\n", rc[4] / n / 1e3, rc[5] / n / 1e3, rc[6] / n / 1e3
		}'
