# bench/lib.sh: what the benchmark families share.  Source it from a family
# script (bench/<family>.sh) after setting `family`; it sources test/lib.sh
# (packages, the unprivileged user, servers) and defines:
#
#   bench_server [conf lines]   start the family's throw-away server (stopped
#                               on exit) on $BENCH_PORT or a free port
#   q SQL, psql_u ARGS          run SQL as the superuser (unaligned output)
#   timed SQL                   first result row and psql's wall time, ms
#   warm_start/warm_timed/warm_stop
#                               the same, in one psql kept open (a warm
#                               session: caches and kept plans survive)
#   settle                      VACUUM ANALYZE and CHECKPOINT
#   stats, mstats, median, mean, ratio, actions, pctl
#                               figures from numbers (or words) on stdin
#   create_st NAME QUERY [mode] [schedule], effective_mode NAME
#   progress MSG                to stderr, with the time since the start
#
# A family prints its markdown section on stdout and progress on stderr.
# BENCH_QUICK=1 selects the quick sizes.  Benchmarks report; they never
# assert times.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../test/lib.sh
source "$top/test/lib.sh"

BENCH_QUICK=${BENCH_QUICK:-0}
bench_started=$(date +%s)
progress() { echo "[${family:-bench} $(($(date +%s) - bench_started))s] $*" >&2; }

# Every family fails early, before it measures anything, when trickle is not
# installed where PG_CONFIG says: the benchmarks never build or install it.
bench_check_installed() {
	sharedir=$("$PG_CONFIG" --sharedir)
	pkglibdir=$("$PG_CONFIG" --pkglibdir)
	if [ ! -f "$sharedir/extension/trickle.control" ] || [ ! -f "$pkglibdir/trickle.so" ]; then
		echo "trickle is not installed under $sharedir and $pkglibdir: install it first (make install)" >&2
		exit 1
	fi
}

# bench_server [postgresql.conf lines]: initdb and start the family's server
# with trickle preloaded.  Autovacuum is off (families VACUUM themselves
# before timed steps) and so is the scheduler unless the lines turn it on
# (later lines win).  BENCH_PORT overrides the port, BENCH_DIR the directory.
bench_server() {
	ensure_packages >/dev/null
	ensure_user
	bench_check_installed
	dir=${BENCH_DIR:-/tmp/trickle-bench-$family}
	port=${BENCH_PORT:-$(free_port 55410)}
	local sb=1GB
	[ "$BENCH_QUICK" = 1 ] && sb=256MB
	trap 'bench_cleanup' EXIT
	start_server "$dir" "$port" "shared_buffers = '$sb'
work_mem = '64MB'
maintenance_work_mem = '256MB'
max_wal_size = '4GB'
checkpoint_timeout = '30min'
autovacuum = off
max_locks_per_transaction = 256
trickle.enabled = off
${1:-}" || { echo "the server did not start; its log:" >&2; cat "$dir/server.log" >&2 2>/dev/null; exit 1; }
	server_conf="shared_buffers $sb, work_mem 64MB, fsync off, autovacuum off${2:+, $2}"
	q "CREATE EXTENSION trickle"
	extversion=$(q "SELECT extversion FROM pg_extension WHERE extname = 'trickle'")
	pgversion=$(q "SELECT version()" | cut -d, -f1)
	progress "server on 127.0.0.1:$port ($dir), trickle $extversion"
}

# Background jobs a family started (pgbench under load, a warm session) end
# with the server.
bench_pids=()
bench_cleanup() {
	local p
	for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	stop_server "$dir"
}

psql_u() { as_user psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }
q() { psql_u -c "$1"; }
pgbench_u() { as_user pgbench -h 127.0.0.1 -p "$port" -U postgres "$@" postgres; }

# timed SQL: run SQL once under \timing in a new connection; print its first
# result row (columns separated by spaces; "-" when it returns none) and its
# wall time in ms.
timed() {
	psql_u -F ' ' -c '\timing on' -c "$1" |
		awk '/^Time: / { t = $2; next } NF && r == "" { r = $0 } END { if (r == "") r = "-"; print r, t }'
}

# A warm session: one psql kept open, in which statements run one after the
# other as they would in a long-lived worker or a pooled connection (plans,
# caches and trickle's generated SQL survive between them).
warm_start() {
	coproc WARM { as_user psql -X -q -At -F ' ' -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres 2>&1; }
	bench_pids+=("$WARM_PID")
	echo '\timing on' >&"${WARM[1]}"
}
warm_stop() {
	echo '\q' >&"${WARM[1]}"
	wait "$WARM_PID" 2>/dev/null || true
}
# warm_timed SQL: like timed, in the warm session.
warm_timed() {
	local line r=
	echo "$1;" >&"${WARM[1]}"
	while :; do
		read -r line <&"${WARM[0]}" || { echo "the warm session ended: $r" >&2; exit 1; }
		case $line in
		'Time: '*) break ;;
		'' | 'Timing is on.') ;;
		ERROR:* | FATAL:* | psql:*) echo "warm session: $line" >&2; exit 1 ;;
		*) [ -n "$r" ] || r=$line ;;
		esac
	done
	echo "${r:--} $(awk '{ print $2 }' <<<"$line")"
}

settle() { q "VACUUM ANALYZE" && q "CHECKPOINT"; }

# stats: "median (min–max)" of the numbers on stdin ("–" for none)
stats() {
	sort -g | awk 'function f(x) { return x == int(x) ? sprintf("%d", x) : x < 1 ? sprintf("%.3f", x) : x < 100 ? sprintf("%.2f", x) : sprintf("%.1f", x) }
		{ v[NR] = $1 } END { if (!NR) { print "–"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s (%s–%s)", f(m), f(v[1]), f(v[NR]) }'
}
# mstats: "mean (min–max)" of the numbers on stdin ("–" for none); mean: the mean alone
mstats() {
	sort -g | awk 'function f(x) { return x == int(x) ? sprintf("%d", x) : x < 1 ? sprintf("%.3f", x) : x < 100 ? sprintf("%.2f", x) : sprintf("%.1f", x) }
		{ v[NR] = $1; s += $1 } END { if (!NR) { print "–"; exit } printf "%s (%s–%s)", f(s / NR), f(v[1]), f(v[NR]) }'
}
mean() { awk '{ s += $1 } END { if (NR) print s / NR }'; }
# fmt: each number on stdin with three significant digits or so
fmt() { awk '{ x = $1; print (x == int(x) ? sprintf("%d", x) : x < 1 ? sprintf("%.3f", x) : x < 100 ? sprintf("%.2f", x) : sprintf("%.1f", x)) }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) exit; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# pctl P: the P-th percentile (nearest rank) of the numbers on stdin
pctl() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (!NR) exit; r = int((NR * p + 99) / 100); if (r < 1) r = 1; print v[r] }'; }
# ratio A B: A / B to two significant places and "×" ("–" when B is 0 or empty)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "" || a == "" || b + 0 == 0) { print "–"; exit } r = a / b; printf (r < 10 ? "%.2f×" : "%.1f×"), r }'; }
# actions [count]: "FULL" when every line on stdin is FULL, else
# "DIFFERENTIAL ×3, FULL ×2" (with `count`, always with the counts; an item
# may hold spaces: one per line)
actions() {
	grep -v '^$' | sort | uniq -c |
		awk -v all="${1:-}" '{ c = $1; sub(/^ *[0-9]+ /, ""); s = s (s ? ", " : "") $0 " ×" c; n++; a = $0 }
			END { print (n == 1 && all == "" ? a : n ? s : "–") }'
}

# create_st NAME QUERY [MODE] [SCHEDULE]: a stream table (mode auto unless
# given; the default schedule, which matters only where the scheduler runs).
create_st() {
	local sched=
	[ -n "${4:-}" ] && sched=", schedule => '$4'"
	q "SELECT trickle.create_stream_table('$1', \$q\$$2\$q\$, refresh_mode => '${3:-auto}'$sched)" >/dev/null
}
# effective_mode NAME: "DIFFERENTIAL" or "FULL (reason)"
effective_mode() {
	q "SELECT effective_mode || coalesce(' (' || nullif(mode_reason, '') || ')', '') FROM trickle.stream_tables WHERE name = '$1'::regclass"
}
drop_st() { q "SELECT trickle.drop_stream_table('$1')" >/dev/null; }
refresh_sql() { # NAME [full]
	if [ "${2:-}" = full ]; then
		echo "SELECT action, duration_ms FROM trickle.refresh_stream_table('$1', \"full\" => true)"
	else
		echo "SELECT action, duration_ms FROM trickle.refresh_stream_table('$1')"
	fi
}

# change_rows TABLE PPM [SET]: UPDATE TABLE SET v = v + 1 (or SET) on PPM millionths of its
# rows, chosen by a salted hash of id; no row twice under one salt (each
# change takes the next PPM buckets of 1,000,000, a new salt when they run
# out).  Sets $changed to the rows updated.  Then one untimed scan sets hint
# bits, so that no refresh pays for the first visit to the updated pages.
salt=0 salt_off=1000000 changed=0
new_salt() { salt=$((salt + 1)) salt_off=0; }
change_rows() {
	local t=$1 ppm=$2 set=${3:-v = v + 1}
	[ $((salt_off + ppm)) -le 1000000 ] || new_salt
	changed=$(q "WITH u AS (UPDATE $t SET $set
		WHERE abs(hashint8extended(id, $salt) % 1000000) - $salt_off BETWEEN 0 AND $((ppm - 1)) RETURNING 1)
		SELECT count(*) FROM u")
	salt_off=$((salt_off + ppm))
	q "SELECT count(v) FROM $t" >/dev/null
}

# same_contents ST QUERY-OR-RELATION COLS: rows that differ between the
# stream table's COLS and the relation (EXCEPT ALL both ways); 0 when equal.
same_contents() {
	q "SELECT (SELECT count(*) FROM (SELECT $3 FROM $1 EXCEPT ALL SELECT $3 FROM $2) x)
		+ (SELECT count(*) FROM (SELECT $3 FROM $2 EXCEPT ALL SELECT $3 FROM $1) y)"
}
