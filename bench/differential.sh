#!/usr/bin/env bash
# bench/differential.sh [ROWS] [quick]: what differential refresh costs and
# saves, on a throw-away server with the installed trickle (this script never
# builds or installs it).  ROWS source rows, default 1,000,000; `quick` (or BENCH_QUICK=1) makes
# the default 20,000 and repeats less (an explicit ROWS still wins).
#
#  1. Capture cost: an UPDATE of 100,000 rows, and single-row UPDATEs under
#     pgbench, without and with a stream table on the source.
#  2. Refresh after 0.1 %, 1 % and 10 % of the rows changed, for three
#     queries: refresh_stream_table (the stream table's own mode), trickle
#     FULL ("full" => true) and REFRESH MATERIALIZED VIEW of the same query.
#     Then, in a warm session, STEADY changes of 0.1 % and of 1 % in a row,
#     each refreshed at once (the steady state of a scheduler worker), and
#     the same with REFRESH MATERIALIZED VIEW.
#  3. Refresh with nothing to do, NODATA_CALLS times in a row.
#
# Stream tables are created with refresh_mode => 'differential', or with
# TRICKLE_BENCH_MODE=full to exercise the script against a build without the
# differential engine.  The action every refresh returns is printed: a
# refresh that fell back to FULL shows as FULL.
#
# Progress goes to stderr, the report (markdown) to stdout at the end.
# Overrides: DIFF_ROWS (as ROWS), REPEAT_FAST (0.1 % and 1 %), REPEAT_SLOW
# (10 %), CAPTURE_REPEAT, PGBENCH_SECONDS, PGBENCH_RUNS, NODATA_CALLS, STEADY
# (the steady-state series);
# BENCH_QUICK=1 as `quick`; BENCH_PORT, BENCH_DIR.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
family=differential
# shellcheck source=lib.sh
source "$top/bench/lib.sh"

usage() { echo "usage: bash bench/differential.sh [ROWS] [quick]" >&2; exit 2; }
quick=${BENCH_QUICK:-0}
ROWS=${DIFF_ROWS:-}
for a in "$@"; do
	case $a in
	quick) quick=1 ;;
	'' | *[!0-9]*) usage ;;
	*) ROWS=$a ;;
	esac
done
if [ "$quick" = 1 ]; then
	ROWS=${ROWS:-20000}
	REPEAT_FAST=${REPEAT_FAST:-3} REPEAT_SLOW=${REPEAT_SLOW:-3}
	CAPTURE_REPEAT=${CAPTURE_REPEAT:-3} PGBENCH_SECONDS=${PGBENCH_SECONDS:-2} PGBENCH_RUNS=${PGBENCH_RUNS:-3}
	STEADY=${STEADY:-3}
	NODATA_CALLS=${NODATA_CALLS:-50}
else
	ROWS=${ROWS:-1000000}
	REPEAT_FAST=${REPEAT_FAST:-5} REPEAT_SLOW=${REPEAT_SLOW:-3}
	CAPTURE_REPEAT=${CAPTURE_REPEAT:-5} PGBENCH_SECONDS=${PGBENCH_SECONDS:-10} PGBENCH_RUNS=${PGBENCH_RUNS:-3}
	STEADY=${STEADY:-36}
fi
NODATA_CALLS=${NODATA_CALLS:-200}
[ "$ROWS" -ge 1000 ] || { echo "ROWS must be at least 1000" >&2; exit 2; }
MODE=${TRICKLE_BENCH_MODE:-differential}
case $MODE in
differential | full) ;;
*) echo "TRICKLE_BENCH_MODE must be differential or full, not '$MODE'" >&2; exit 2 ;;
esac

# The exact command, with the settings that were given in the environment.
cmd=
for v in BENCH_QUICK DIFF_ROWS TRICKLE_BENCH_MODE REPEAT_FAST REPEAT_SLOW CAPTURE_REPEAT PGBENCH_SECONDS PGBENCH_RUNS NODATA_CALLS STEADY; do
	if printenv "$v" >/dev/null; then cmd+="$v=$(printenv "$v") "; fi
done
cmd+="bash bench/differential.sh${*:+ $*}"

started=$(date +%s)

ensure_packages >/dev/null
ensure_user
sharedir=$("$PG_CONFIG" --sharedir)
pkglibdir=$("$PG_CONFIG" --pkglibdir)
if [ ! -f "$sharedir/extension/trickle.control" ] || [ ! -f "$pkglibdir/trickle.so" ]; then
	echo "trickle is not installed under $sharedir and $pkglibdir: install it first (make install)" >&2
	exit 1
fi

dir=${BENCH_DIR:-/tmp/trickle-bench-differential}
port=${BENCH_PORT:-$(free_port 55410)}
trap 'stop_server "$dir"' EXIT
# autovacuum is off so that it never runs during a timed step: the script
# runs VACUUM ANALYZE and CHECKPOINT itself before every timed change.  So is
# the scheduler: every refresh is the script's (a scheduled one in between
# would take a timed refresh's changes, or its claim).
start_server "$dir" "$port" "shared_buffers = '1GB'
work_mem = '64MB'
max_wal_size = '4GB'
checkpoint_timeout = '30min'
autovacuum = off
trickle.enabled = off"

create_st_mode() { create_st "$1" "$2" "$MODE"; }

# change PPM: UPDATE src SET v = v + 1 on PPM millionths of the rows, chosen
# by a hash of id with a salt, and never a row an earlier change under the
# same salt chose (each change takes the next PPM buckets of 1,000,000; a new
# salt when they run out).  Sets $changed to the number of rows updated.
# Then one untimed scan of src sets hint bits, so that no refresh pays for the
# first visit to the updated pages.
salt=0 off=1000000 changed=0
new_salt() { salt=$((salt + 1)) off=0; }
change() {
	local ppm=$1
	[ $((off + ppm)) -le 1000000 ] || new_salt
	changed=$(q "WITH u AS (UPDATE src SET v = v + 1
		WHERE abs(hashint8extended(id, $salt) % 1000000) - $off BETWEEN 0 AND $((ppm - 1)) RETURNING 1)
		SELECT count(*) FROM u")
	off=$((off + ppm))
	q "SELECT count(v) FROM src" >/dev/null
}

progress "server on 127.0.0.1:$port ($dir); loading $ROWS rows"
q "CREATE EXTENSION trickle"
extversion=$(q "SELECT extversion FROM pg_extension WHERE extname = 'trickle'")
q "CREATE TABLE src (id bigint PRIMARY KEY, g int NOT NULL, h int NOT NULL, v int NOT NULL)"
q "INSERT INTO src SELECT i, i % 1000, i % 100000, (i * 7919) % 1000 FROM generate_series(1::bigint, $ROWS) i"
q "CREATE TABLE dim (g int PRIMARY KEY, region text NOT NULL)"
q "INSERT INTO dim SELECT i, 'region ' || (i % 50) FROM generate_series(0, 999) i"
settle

query_a="SELECT g, count(*) AS n, sum(v) AS s, avg(v) AS a FROM src GROUP BY g"
query_b="SELECT d.region, count(*) AS n, sum(s.v) AS s FROM src s JOIN dim d ON d.g = s.g GROUP BY d.region"
query_c="SELECT h AS g, count(*) AS n, sum(v) AS s, avg(v) AS a FROM src GROUP BY h"
notes=()

# Fail early, before anything is measured, when the installed build refuses
# the requested mode.
if ! err=$(q "SELECT trickle.create_stream_table('st_probe', \$q\$$query_a\$q\$, refresh_mode => '$MODE')" 2>&1); then
	echo "$err" >&2
	echo "the installed trickle ($extversion) refuses refresh_mode => '$MODE'; TRICKLE_BENCH_MODE=full runs the script with FULL stream tables" >&2
	exit 1
fi
q "SELECT trickle.drop_stream_table('st_probe')" >/dev/null

# --- 1. capture cost -------------------------------------------------------
cap_rows=$(q "SELECT count(*) FROM src WHERE id <= 100000")
capture_update() { timed "UPDATE src SET v = v + 1 WHERE id <= 100000" | awk '{ print $2 }'; }
as_user bash -c "cat > '$dir/update.sql'" <<SQL
\\set id random(1, $ROWS)
UPDATE src SET v = v + 1 WHERE id = :id;
SQL
pgb() { # print the tps of one pgbench run of update.sql
	local out tps
	out=$(as_user pgbench -n -M prepared -c 1 -T "$PGBENCH_SECONDS" -f "$dir/update.sql" \
		-h 127.0.0.1 -p "$port" -U postgres postgres 2>&1) || { echo "$out" >&2; return 1; }
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	[ -n "$tps" ] || { echo "$out" >&2; return 1; }
	echo "$tps"
}

# The heap's state matters more than the triggers: the first UPDATE after
# the load finds every page full (no HOT updates, new versions at the end).
# One untimed UPDATE and one untimed pgbench run first; then runs without and
# with the stream table alternate (it is created before and dropped after
# each run with it, refreshed in between, all untimed).
progress "capture: warm-up (one UPDATE, pgbench ${PGBENCH_SECONDS}s, untimed)"
settle
capture_update >/dev/null
settle
pgb >/dev/null
cap_no= cap_st= cap_actions= cap_mode= cap_trig= stale_trig=
src_triggers() {
	q "SELECT count(*) || coalesce(' (' || string_agg(tgname || CASE WHEN tgtype & 1 = 1 THEN ', row' ELSE ', statement' END
			|| CASE WHEN tgisinternal THEN ', internal' ELSE '' END, '; ' ORDER BY tgname) || ')', '')
		FROM pg_trigger WHERE tgrelid = 'src'::regclass"
}
no_st_check() { # the runs without a stream table must find no trigger on src
	local t
	t=$(src_triggers)
	[ "$t" = 0 ] || stale_trig=$t
}
with_st() { # CMD...: run CMD with st_capture on src, between untimed refreshes
	create_st_mode st_capture "$query_a"
	cap_mode=$(effective_mode st_capture) cap_trig=$(src_triggers)
	settle
	"$@"
	cap_actions+="$(timed "$(refresh_sql st_capture)" | awk '{ print $1 }')"$'\n'
	q "SELECT trickle.drop_stream_table('st_capture')" >/dev/null
}
cap_with() { cap_st+="$(capture_update)"$'\n'; }
pgb_with() { us_st+="$(pgb | awk '{ print 1e6 / $1 }')"$'\n'; }
progress "capture: UPDATE of $cap_rows rows, ×$CAPTURE_REPEAT without and with a stream table"
for _ in $(seq "$CAPTURE_REPEAT"); do
	settle
	no_st_check
	cap_no+="$(capture_update)"$'\n'
	with_st cap_with
done
progress "capture: pgbench ${PGBENCH_SECONDS}s, ×$PGBENCH_RUNS without and with a stream table"
us_no= us_st=
for _ in $(seq "$PGBENCH_RUNS"); do
	settle
	no_st_check
	us_no+="$(pgb | awk '{ print 1e6 / $1 }')"$'\n'
	with_st pgb_with
done
notes+=("Capture: the stream table is \`$query_a\`, effective mode $cap_mode; triggers on src with it: $cap_trig; the untimed refreshes after each run with it returned $(printf '%s' "$cap_actions" | actions).")
[ -z "$stale_trig" ] || notes+=("⚠ Capture: after the stream table was dropped, src still had triggers: $stale_trig; the runs \"without\" a stream table were not.")

# --- 2. refresh after changes ----------------------------------------------
refresh_rows=() steady_rows=()
run_workload() { # LABEL NAME QUERY COLUMNS
	local label=$1 st=$2 query=$3 cols=$4 mv=mv_${2#st_} pct ppm reps
	progress "workload $label: creating $st and $mv"
	create_st_mode "$st" "$query"
	q "CREATE MATERIALIZED VIEW $mv AS $query"
	notes+=("$label: \`$query\`; $(q "SELECT count(*) FROM $mv") rows; effective mode $(effective_mode "$st").")
	new_salt
	warm_start
	change 1000
	warm_timed "$(refresh_sql "$st")" >/dev/null
	for pct in 0.1 1 10; do
		case $pct in
		0.1) ppm=1000 reps=$REPEAT_FAST ;;
		1) ppm=10000 reps=$REPEAT_FAST ;;
		10) ppm=100000 reps=$REPEAT_SLOW ;;
		esac
		progress "workload $label: $pct % ×$reps"
		local d_dur= d_wall= d_act= w_wall= w_act= f_wall= f_act= r_wall= nchanged= act dur wall
		for _ in $(seq "$reps"); do
			settle
			change "$ppm"
			nchanged+="$changed"$'\n'
			read -r act dur wall <<<"$(timed "$(refresh_sql "$st")")"
			d_act+="$act"$'\n' d_dur+="$dur"$'\n' d_wall+="$wall"$'\n'
			settle
			change "$ppm"
			nchanged+="$changed"$'\n'
			read -r act dur wall <<<"$(warm_timed "$(refresh_sql "$st")")"
			w_act+="$act"$'\n' w_wall+="$wall"$'\n'
			settle
			change "$ppm"
			nchanged+="$changed"$'\n'
			read -r act dur wall <<<"$(timed "$(refresh_sql "$st" full)")"
			f_act+="$act"$'\n' f_wall+="$wall"$'\n'
			read -r _ wall <<<"$(timed "REFRESH MATERIALIZED VIEW $mv")"
			r_wall+="$wall"$'\n'
		done
		local fa speedup wspeedup
		fa=$(printf '%s' "$f_act" | actions)
		[ "$fa" = FULL ] || notes+=("⚠ $label, $pct %: \"full\" => true returned $fa.")
		speedup=$(awk -v r="$(printf '%s' "$r_wall" | median)" -v d="$(printf '%s' "$d_wall" | median)" \
			'BEGIN { printf (d > 0 ? "%.1f×" : "–"), r / d }')
		wspeedup=$(awk -v r="$(printf '%s' "$r_wall" | median)" -v d="$(printf '%s' "$w_wall" | median)" \
			'BEGIN { printf (d > 0 ? "%.1f×" : "–"), r / d }')
		refresh_rows+=("$(printf '| %s | %s %% (%s rows) | %s | %s | %s | %s | %s | %s | %s | %s |' "$label" "$pct" \
			"$(printf '%s' "$nchanged" | awk '{ s += $1 } END { printf "%.0f", s / NR }')" \
			"$(printf '%s%s' "$d_act" "$w_act" | actions)" \
			"$(printf '%s' "$d_dur" | stats)" "$(printf '%s' "$d_wall" | stats)" \
			"$(printf '%s' "$w_wall" | stats)" \
			"$(printf '%s' "$f_wall" | stats)" "$(printf '%s' "$r_wall" | stats)" "$speedup" "$wspeedup")")
	done
	# Steady state, in the warm session: STEADY changes in a row, each
	# refreshed at once, no VACUUM in between (a scheduler worker between two
	# autovacuum runs); then the same with REFRESH MATERIALIZED VIEW.  Means
	# over the series, so the refreshes that truncate the buffer and the ones
	# that plan the delta again after that are in them.
	for pct in 0.1 1; do
		case $pct in
		0.1) ppm=1000 ;;
		1) ppm=10000 ;;
		esac
		progress "workload $label: steady state, $pct % ×$STEADY"
		local s_wall= s_act= m_wall= s_dur=
		settle
		for _ in $(seq "$STEADY"); do
			change "$ppm"
			read -r act dur wall <<<"$(warm_timed "$(refresh_sql "$st")")"
			s_act+="$act"$'\n' s_wall+="$wall"$'\n' s_dur+="$dur"$'\n'
		done
		settle
		for _ in $(seq "$STEADY"); do
			change "$ppm"
			read -r _ wall <<<"$(warm_timed "REFRESH MATERIALIZED VIEW $mv")"
			m_wall+="$wall"$'\n'
		done
		steady_rows+=("$(printf '| %s | %s %% | %s | %s | %s | %s | %s |' "$label" "$pct" \
			"$(printf '%s' "$s_act" | actions)" "$(printf '%s' "$s_wall" | mstats)" \
			"$(printf '%s' "$s_dur" | mstats)" \
			"$(printf '%s' "$m_wall" | mstats)" \
			"$(ratio "$(printf '%s' "$m_wall" | mean)" "$(printf '%s' "$s_wall" | mean)")")")
	done
	warm_stop
	# Check: after one more change and a refresh in the stream table's own
	# mode, it must hold what the materialized view holds.
	settle
	change 10000
	local act bad
	act=$(timed "$(refresh_sql "$st")" | awk '{ print $1 }')
	q "REFRESH MATERIALIZED VIEW $mv"
	bad=$(q "SELECT (SELECT count(*) FROM (SELECT $cols FROM $st EXCEPT ALL TABLE $mv) x)
		+ (SELECT count(*) FROM (TABLE $mv EXCEPT ALL SELECT $cols FROM $st) y)")
	if [ "$bad" = 0 ]; then
		notes+=("$label: after a 1 % change and a $act refresh, the stream table equals the materialized view.")
	else
		notes+=("⚠ $label: after a 1 % change and a $act refresh, $bad rows differ between the stream table and the materialized view.")
	fi
	q "SELECT trickle.drop_stream_table('$st')" >/dev/null
	q "DROP MATERIALIZED VIEW $mv"
}
run_workload "A: aggregate, 1,000 groups" st_a "$query_a" "g, n, s, a"
run_workload "B: join + aggregate, 50 regions" st_b "$query_b" "region, n, s"
run_workload "C: aggregate, 100,000 groups" st_c "$query_c" "g, n, s, a"

# --- 3. refresh with nothing to do -----------------------------------------
progress "nothing to do: $NODATA_CALLS refreshes"
create_st_mode st_nodata "$query_a"
q "SELECT * FROM trickle.refresh_stream_table('st_nodata')" >/dev/null
settle
nodata=$(
	{
		echo '\timing on'
		for _ in $(seq "$NODATA_CALLS"); do refresh_sql st_nodata; echo ';'; done
	} | psql_u -F ' ' -f - | awk '/^Time: / { print r, $2; next } NF { r = $0 }'
)
nd_act=$(awk '{ print $1 }' <<<"$nodata" | actions)
nd_dur=$(awk '{ print $2 }' <<<"$nodata" | stats)
nd_wall=$(awk '{ print $3 }' <<<"$nodata" | stats)
nd_n=$(wc -l <<<"$nodata")
q "SELECT trickle.drop_stream_table('st_nodata')" >/dev/null

# --- report ----------------------------------------------------------------
progress "done"
cno=$(printf '%s' "$cap_no" | median)
cst=$(printf '%s' "$cap_st" | median)
echo "## Differential refresh"
echo
echo "Command: \`$cmd\` (a throw-away server; the installed trickle $extversion, \`$pkglibdir/trickle.so\` of $(date -r "$pkglibdir/trickle.so" '+%Y-%m-%d %H:%M'))."
echo
echo "$ROWS source rows: \`src(id bigint PRIMARY KEY, g = id % 1000, h = id % 100000, v int)\`, \`dim(g int PRIMARY KEY, region text)\` with 1,000 rows, 50 regions. Stream tables created with \`refresh_mode => '$MODE'\`."
if [ "$MODE" != differential ]; then
	echo
	echo "**TRICKLE_BENCH_MODE=$MODE: the stream tables are not differential; the \"DIFFERENTIAL\" columns time \`refresh_stream_table(name)\` of a '$MODE' stream table (see the action column).**"
fi
echo
echo "### Refresh after a change"
echo
echo "Median (min–max), ms, of $REPEAT_FAST runs (0.1 %, 1 %) or $REPEAT_SLOW (10 %). Each run: VACUUM ANALYZE and CHECKPOINT; UPDATE src SET v = v + 1 on the given fraction of rows (a salted hash of id; no row twice within a workload); \`refresh_stream_table(name)\` in a new connection (its action, its duration_ms, and psql's wall time); then the same again with a fresh change of the same size, refreshed in a warm session (one psql kept open for the workload, in which the stream table was refreshed before, as a scheduler worker or a pooled connection would); then again for \`refresh_stream_table(name, \"full\" => true)\` followed by \`REFRESH MATERIALIZED VIEW\` of the same query. Speedup: RMV wall / DIFFERENTIAL wall, medians, for the new connection and for the warm session."
echo
echo "| workload | changed | action | DIFFERENTIAL ms (duration_ms) | DIFFERENTIAL ms (wall) | DIFFERENTIAL ms (warm session, wall) | FULL ms (wall) | RMV ms (wall) | speedup vs RMV | speedup, warm |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${refresh_rows[@]}"
echo
echo "### Steady state"
echo
echo "In the warm session of each workload: after one VACUUM ANALYZE and CHECKPOINT, $STEADY changes of the given size in a row, each followed at once by \`refresh_stream_table(name)\` (no VACUUM in between, as a scheduler worker refreshes between two autovacuum runs); then the same with \`REFRESH MATERIALIZED VIEW\` in the same session. Mean (min–max), ms, wall time over the series; it includes the refreshes that empty the change buffer by TRUNCATE and the ones that plan the delta again after it. duration_ms is the refresh's own time as it reports it (without psql's parsing and planning of the call, the commit and the round trip). Speedup: the ratio of the wall means."
echo
echo "| workload | changed | action | DIFFERENTIAL ms (mean) | its duration_ms (mean) | RMV ms (mean) | speedup vs RMV |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${steady_rows[@]}"
echo
echo "### Capture"
echo
echo "| capture | no stream table | with a stream table | difference | per changed row |"
echo "| --- | --- | --- | --- | --- |"
printf '| UPDATE of %s rows (`WHERE id <= 100000`), median (min–max) of %s, ms | %s | %s | %s ms | %s µs |\n' \
	"$cap_rows" "$CAPTURE_REPEAT" "$(printf '%s' "$cap_no" | stats)" "$(printf '%s' "$cap_st" | stats)" \
	"$(awk -v a="$cno" -v b="$cst" 'BEGIN { printf "%.1f", b - a }')" \
	"$(awk -v a="$cno" -v b="$cst" -v n="$cap_rows" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')"
printf '| single-row UPDATE of a random id, pgbench %s s, 1 client, -M prepared: µs per statement (1e6 / tps), median (min–max) of %s | %s | %s | %s µs | – |\n' \
	"$PGBENCH_SECONDS" "$PGBENCH_RUNS" "$(printf '%s' "$us_no" | stats)" "$(printf '%s' "$us_st" | stats)" \
	"$(awk -v a="$(printf '%s' "$us_no" | median)" -v b="$(printf '%s' "$us_st" | median)" 'BEGIN { printf "%.1f", b - a }')"
echo
echo "### Nothing to do"
echo
echo "| refresh with no changes | calls | action | duration_ms | wall ms |"
echo "| --- | --- | --- | --- | --- |"
echo "| \`refresh_stream_table\` of workload A's query, back to back, median (min–max) | $nd_n | $nd_act | $nd_dur | $nd_wall |"
echo
echo "### Notes"
echo
printf '* %s\n' "${notes[@]}"
echo "* Server: shared_buffers 1GB, work_mem 64MB, fsync off, autovacuum off (VACUUM ANALYZE and CHECKPOINT before each timed change), the scheduler off (trickle.enabled = off: every refresh is the script's), parallel query at its defaults."
echo
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(q 'SELECT version()' | cut -d, -f1). Total time $(($(date +%s) - started)) s."
