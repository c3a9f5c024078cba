#!/usr/bin/env bash
# bench/left_join_agg.sh [ROWS] [quick]: a LEFT JOIN + GROUP BY stream table,
# DIFFERENTIAL against FULL and REFRESH MATERIALIZED VIEW, on a throw-away
# server with the installed trickle (this script never builds or installs
# it).  ROWS fact rows, default 1,000,000; `quick` makes the default 100,000
# and repeats less (an explicit ROWS still wins).
#
# The query is issue 5's example, every dimension row with the count and sum
# of its facts (the 100 dimension rows without facts are padded with NULLs):
#
#   SELECT d.g, count(f.id) AS n, sum(f.v) AS s
#     FROM dim d LEFT JOIN fact f ON f.g = d.g GROUP BY d.g
#
# fact(id bigint PRIMARY KEY, g int, v int) has g = id % 1000 and an index on
# g; dim(g int PRIMARY KEY, label text) holds g = 0 .. 1099.  Two kinds of
# change, each on 0.1 %, 1 % and 10 % of the fact rows (a salted hash of id;
# no row twice within a kind):
#
#   values  UPDATE fact SET v = v + 1                   (rows stay in their group)
#   keys    UPDATE fact SET g = (g + 1 + id % 1049) % 1050
#           (rows move between groups, also to and from dimension rows
#           1000 .. 1049, which start without facts; 1050 .. 1099 stay
#           padded)
#
# Each run: VACUUM ANALYZE and CHECKPOINT, a change, refresh_stream_table
# (its action, duration_ms, psql's wall time, in a new connection); then a
# fresh change of the same size and refresh_stream_table(name, "full" =>
# true); then REFRESH MATERIALIZED VIEW of the same query.  At the end the
# stream table is compared with the materialized view.  The same two
# refreshes also run in a warm session (one psql kept open), as they do in
# a scheduler worker.  For reference, the
# same query with an INNER JOIN (which drops the padded groups) is then
# timed the same way after changes of values, to show what the padded part
# of the LEFT JOIN adds.
#
# Progress goes to stderr, the report (markdown) to stdout.  Overrides:
# REPEAT_FAST (0.1 % and 1 %), REPEAT_SLOW (10 %), STEADY (the steady-state
# series).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
family=left-join
source "$top/bench/lib.sh"

usage() { echo "usage: bash bench/left_join_agg.sh [ROWS] [quick]" >&2; exit 2; }
quick=${BENCH_QUICK:-0}
ROWS=
for a in "$@"; do
	case $a in
	quick) quick=1 ;;
	'' | *[!0-9]*) usage ;;
	*) [ -z "$ROWS" ] || usage; ROWS=$a ;;
	esac
done
if [ "$quick" = 1 ]; then
	ROWS=${ROWS:-100000}
	REPEAT_FAST=${REPEAT_FAST:-3} REPEAT_SLOW=${REPEAT_SLOW:-2} STEADY=${STEADY:-4}
else
	ROWS=${ROWS:-1000000}
	REPEAT_FAST=${REPEAT_FAST:-5} REPEAT_SLOW=${REPEAT_SLOW:-3} STEADY=${STEADY:-12}
fi
[ "$ROWS" -ge 10000 ] || { echo "ROWS must be at least 10000" >&2; exit 2; }

cmd=
for v in REPEAT_FAST REPEAT_SLOW STEADY; do
	if printenv "$v" >/dev/null; then cmd+="$v=$(printenv "$v") "; fi
done
cmd+="bash bench/left_join_agg.sh${*:+ $*}"

# change KIND PPM: KIND (values or keys) on PPM millionths of the fact rows
# (change_rows of bench/lib.sh); sets $changed
change() {
	case $1 in
	values) change_rows fact "$2" ;;
	keys) change_rows fact "$2" "g = (g + 1 + id % 1049) % 1050" ;;
	esac
}

query="SELECT d.g, count(f.id) AS n, sum(f.v) AS s FROM dim d LEFT JOIN fact f ON f.g = d.g GROUP BY d.g"

bench_server
progress "loading $ROWS rows"
q "CREATE TABLE dim (g int PRIMARY KEY, label text NOT NULL)"
q "INSERT INTO dim SELECT i, 'g' || i FROM generate_series(0, 1099) i"
q "CREATE TABLE fact (id bigint PRIMARY KEY, g int, v int NOT NULL)"
q "INSERT INTO fact SELECT i, i % 1000, (i * 7919) % 1000 FROM generate_series(1::bigint, $ROWS) i"
q "CREATE INDEX ON fact (g)"
settle
if ! err=$(q "SELECT trickle.create_stream_table('lj', \$q\$$query\$q\$, refresh_mode => 'differential')" 2>&1); then
	echo "$err" >&2
	echo "the installed trickle ($extversion) refuses refresh_mode => 'differential' for this query" >&2
	exit 1
fi
q "CREATE MATERIALIZED VIEW mv AS $query"
mode=$(effective_mode lj)

rows=()
warm_start
change values 1000
warm_timed "SELECT action FROM trickle.refresh_stream_table('lj')" >/dev/null
warm_timed "SELECT action FROM trickle.refresh_stream_table('lj', \"full\" => true)" >/dev/null
for kind in values keys; do
	for pct in 0.1 1 10; do
		case $pct in
		0.1) ppm=1000 reps=$REPEAT_FAST ;;
		1) ppm=10000 reps=$REPEAT_FAST ;;
		10) ppm=100000 reps=$REPEAT_SLOW ;;
		esac
		progress "$kind, $pct % ×$reps"
		d_act= d_dur= d_wall= f_act= f_wall= r_wall= w_wall= wf_wall= nchanged=
		for _ in $(seq "$reps"); do
			settle
			change "$kind" "$ppm"
			nchanged+="$changed"$'\n'
			read -r act _ _ dur wall <<<"$(timed "SELECT action, rows_inserted, rows_deleted, duration_ms FROM trickle.refresh_stream_table('lj')")"
			d_act+="$act"$'\n' d_dur+="$dur"$'\n' d_wall+="$wall"$'\n'
			settle
			change "$kind" "$ppm"
			nchanged+="$changed"$'\n'
			read -r act _ wall <<<"$(timed "SELECT action, duration_ms FROM trickle.refresh_stream_table('lj', \"full\" => true)")"
			f_act+="$act"$'\n' f_wall+="$wall"$'\n'
			read -r _ wall <<<"$(timed "REFRESH MATERIALIZED VIEW mv")"
			r_wall+="$wall"$'\n'
			settle
			change "$kind" "$ppm"
			nchanged+="$changed"$'\n'
			read -r act wall <<<"$(warm_timed "SELECT action FROM trickle.refresh_stream_table('lj')")"
			d_act+="$act"$'\n' w_wall+="$wall"$'\n'
			settle
			change "$kind" "$ppm"
			nchanged+="$changed"$'\n'
			read -r act wall <<<"$(warm_timed "SELECT action FROM trickle.refresh_stream_table('lj', \"full\" => true)")"
			f_act+="$act"$'\n' wf_wall+="$wall"$'\n'
		done
		speed_full=$(ratio "$(printf '%s' "$f_wall" | median)" "$(printf '%s' "$d_wall" | median)")
		speed_rmv=$(ratio "$(printf '%s' "$r_wall" | median)" "$(printf '%s' "$d_wall" | median)")
		speed_warm=$(ratio "$(printf '%s' "$wf_wall" | median)" "$(printf '%s' "$w_wall" | median)")
		rows+=("$(printf '| %s | %s %% (%s rows) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$kind" "$pct" \
			"$(printf '%s' "$nchanged" | awk '{ s += $1 } END { printf "%.0f", s / NR }')" \
			"$(printf '%s' "$d_act" | actions)" "$(printf '%s' "$d_dur" | stats)" \
			"$(printf '%s' "$d_wall" | stats)" "$(printf '%s' "$f_wall" | stats)" \
			"$(printf '%s' "$r_wall" | stats)" "$speed_full" "$speed_rmv" \
			"$(printf '%s' "$w_wall" | stats)" "$(printf '%s' "$wf_wall" | stats)" "$speed_warm")")
		[ "$(printf '%s' "$f_act" | actions)" = FULL ] || rows+=("⚠ \"full\" => true returned $(printf '%s' "$f_act" | actions)")
	done
done

# Steady state: in the warm session, STEADY changes of 1 % in a row, each
# refreshed at once, with no VACUUM in between (as a scheduler worker
# refreshes between two autovacuum runs); then the same for FULL.  The
# figure is the mean over the series, so it includes the refreshes that
# truncate the buffer and the ones that plan the delta again after that.
steady_rows=()
for kind in values keys; do
	progress "steady state, $kind, 1 % ×$STEADY"
	d_wall= f_wall= d_act= f_act=
	settle
	for _ in $(seq "$STEADY"); do
		change "$kind" 10000
		read -r act wall <<<"$(warm_timed "SELECT action FROM trickle.refresh_stream_table('lj')")"
		d_act+="$act"$'\n' d_wall+="$wall"$'\n'
	done
	settle
	for _ in $(seq "$STEADY"); do
		change "$kind" 10000
		read -r act wall <<<"$(warm_timed "SELECT action FROM trickle.refresh_stream_table('lj', \"full\" => true)")"
		f_act+="$act"$'\n' f_wall+="$wall"$'\n'
	done
	steady_rows+=("$(printf '| %s | 1 %% | %s | %s | %s | %s | %s |' "$kind" \
		"$(printf '%s' "$d_act" | actions)" "$(printf '%s' "$d_wall" | mstats)" \
		"$(printf '%s' "$f_act" | actions)" "$(printf '%s' "$f_wall" | mstats)" \
		"$(ratio "$(printf '%s' "$f_wall" | mean)" "$(printf '%s' "$d_wall" | mean)")")")
done
warm_stop

# Check: one more change of each kind, a refresh in the stream table's own
# mode, and the stream table against the materialized view.
settle
change values 10000
change keys 10000
check_act=$(timed "SELECT action FROM trickle.refresh_stream_table('lj')" | awk '{ print $1 }')
q "REFRESH MATERIALIZED VIEW mv"
bad=$(q "SELECT (SELECT count(*) FROM (SELECT g, n, s FROM lj EXCEPT ALL TABLE mv) x)
	+ (SELECT count(*) FROM (TABLE mv EXCEPT ALL SELECT g, n, s FROM lj) y)")
padded=$(q "SELECT count(*) FROM mv WHERE n = 0")

# The same query as an inner join, for reference
iquery=${query/LEFT JOIN/JOIN}
q "SELECT trickle.drop_stream_table('lj')" >/dev/null
q "DROP MATERIALIZED VIEW mv"
q "SELECT trickle.create_stream_table('ij', \$q\$$iquery\$q\$, refresh_mode => 'differential')" >/dev/null
irows=()
for pct in 0.1 1; do
	case $pct in
	0.1) ppm=1000 ;;
	1) ppm=10000 ;;
	esac
	progress "inner join, values, $pct % ×$REPEAT_FAST"
	d_act= d_wall= f_wall= nchanged=
	for _ in $(seq "$REPEAT_FAST"); do
		settle
		change values "$ppm"
		nchanged+="$changed"$'\n'
		read -r act _ wall <<<"$(timed "SELECT action, duration_ms FROM trickle.refresh_stream_table('ij')")"
		d_act+="$act"$'\n' d_wall+="$wall"$'\n'
		settle
		change values "$ppm"
		nchanged+="$changed"$'\n'
		read -r _ _ wall <<<"$(timed "SELECT action, duration_ms FROM trickle.refresh_stream_table('ij', \"full\" => true)")"
		f_wall+="$wall"$'\n'
	done
	irows+=("$(printf '| values | %s %% (%s rows) | %s | %s | %s | %s |' "$pct" \
		"$(printf '%s' "$nchanged" | awk '{ s += $1 } END { printf "%.0f", s / NR }')" \
		"$(printf '%s' "$d_act" | actions)" "$(printf '%s' "$d_wall" | stats)" "$(printf '%s' "$f_wall" | stats)" \
		"$(ratio "$(printf '%s' "$f_wall" | median)" "$(printf '%s' "$d_wall" | median)")")")
done

progress "done"
echo "## LEFT JOIN + GROUP BY"
echo
echo "Command: \`$cmd\` (a throw-away server; the installed trickle $extversion, \`$pkglibdir/trickle.so\` of $(date -r "$pkglibdir/trickle.so" '+%Y-%m-%d %H:%M'))."
echo
echo "\`$query\` over $ROWS fact rows (g = id % 1000, an index on g) and 1,100 dimension rows; effective mode $mode."
echo
echo "Median (min–max), ms, of $REPEAT_FAST runs (0.1 %, 1 %) or $REPEAT_SLOW (10 %). Each run: VACUUM ANALYZE and CHECKPOINT, a change, \`refresh_stream_table\` in a new connection; a fresh change of the same size, \`refresh_stream_table(name, \"full\" => true)\`; \`REFRESH MATERIALIZED VIEW\`; then, in a warm session (one psql kept open, in which both refreshes ran before, as in a scheduler worker), the same DIFFERENTIAL and FULL refreshes, each after VACUUM ANALYZE, CHECKPOINT and a fresh change. values: \`UPDATE fact SET v = v + 1\`; keys: \`UPDATE fact SET g = (g + 1 + id % 1049) % 1050\` (rows move between groups, also to and from dimension rows 1000 .. 1049, which start without facts; 1050 .. 1099 stay padded). Speedups: FULL wall / DIFFERENTIAL wall and RMV wall / DIFFERENTIAL wall, medians, in new connections; and FULL / DIFFERENTIAL in the warm session."
echo
echo "| change | changed | action | DIFFERENTIAL ms (duration_ms) | DIFFERENTIAL ms (wall) | FULL ms (wall) | RMV ms (wall) | speedup vs FULL | speedup vs RMV | DIFFERENTIAL ms (warm, wall) | FULL ms (warm, wall) | speedup vs FULL, warm |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "Steady state, in the warm session: after one VACUUM ANALYZE and CHECKPOINT, $STEADY changes of 1 % in a row, each followed at once by a refresh (no VACUUM in between, as a scheduler worker refreshes between two autovacuum runs); then the same with \`\"full\" => true\`. Mean (min–max), ms, wall time over the series, which includes the refreshes that empty the change buffer by TRUNCATE (when it reaches trickle.buffer_truncate_threshold) and the ones that plan the delta again after it. Speedup: the ratio of the means."
echo
echo "| change | size | action | DIFFERENTIAL ms (mean) | FULL action | FULL ms (mean) | speedup vs FULL |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${steady_rows[@]}"
echo
if [ "$bad" = 0 ]; then
	echo "After one more 1 % change of each kind and a $check_act refresh, the stream table equals the materialized view ($padded padded groups)."
else
	echo "⚠ After one more 1 % change of each kind and a $check_act refresh, $bad rows differ between the stream table and the materialized view."
fi
echo
echo "For reference, the same query with \`JOIN\` instead of \`LEFT JOIN\` (no padded groups), the same runs after changes of values:"
echo
echo "| change | changed | action | DIFFERENTIAL ms (wall) | FULL ms (wall) | speedup vs FULL |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${irows[@]}"
echo
echo "Server: $server_conf. Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(q 'SELECT version()' | cut -d, -f1); load average at the end $(cut -d' ' -f1-3 /proc/loadavg). Total time $(($(date +%s) - bench_started)) s."
