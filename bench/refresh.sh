#!/usr/bin/env bash
# bench/refresh.sh: what a refresh costs after a change, for six query
# shapes, against REFRESH MATERIALIZED VIEW.  For each source size of
# REFRESH_SIZES and each query, four copies of the query are kept:
#
#   st_Q   a stream table, refresh_mode => 'auto' (DIFFERENTIAL where the
#          engine maintains the query, else FULL: its effective mode and
#          every refresh's action are reported)
#   stf_Q  a stream table, refresh_mode => 'full'
#   mv_Q   a materialized view, refreshed plainly
#   mvc_Q  a materialized view with a unique index, refreshed CONCURRENTLY
#
# Each run: VACUUM ANALYZE and CHECKPOINT; UPDATE src SET v = v + 1 on the
# given fraction of the rows (a salted hash of id, no row twice per query);
# one scan to set hint bits; then the four refreshes, one after the other,
# timed by psql (client wall time) in one warm session kept open for the
# query (refreshed once before, untimed).  After the last run each stream
# table is compared with the materialized view.
#
# Standalone: bash bench/refresh.sh (BENCH_QUICK=1 for the quick sizes).
# Overrides: REFRESH_SIZES, REFRESH_RUNS, REFRESH_FRACTIONS (percent),
# REFRESH_QUERIES (a subset of: scan join agg joinagg leftjoin window).
set -euo pipefail
family=refresh
source "$(dirname "$0")/lib.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	REFRESH_SIZES=${REFRESH_SIZES:-20000} REFRESH_RUNS=${REFRESH_RUNS:-3}
else
	REFRESH_SIZES=${REFRESH_SIZES:-100000 1000000} REFRESH_RUNS=${REFRESH_RUNS:-5}
fi
REFRESH_FRACTIONS=${REFRESH_FRACTIONS:-0.1 1 10}
REFRESH_QUERIES=${REFRESH_QUERIES:-scan join agg joinagg leftjoin window}

declare -A sql key label
label[scan]="scan + filter"
sql[scan]="SELECT id, g, v FROM src WHERE v < 100"
key[scan]=id
label[join]="join (+ filter)"
sql[join]="SELECT s.id, s.v, d.region FROM src s JOIN dim d ON d.g = s.g WHERE s.v < 100"
key[join]=id
label[agg]="aggregate, 1,000 groups"
sql[agg]="SELECT g, count(*) AS n, sum(v) AS s, avg(v) AS a FROM src GROUP BY g"
key[agg]=g
label[joinagg]="join + aggregate, 50 groups"
sql[joinagg]="SELECT d.region, count(*) AS n, sum(s.v) AS s FROM src s JOIN dim d ON d.g = s.g GROUP BY d.region"
key[joinagg]=region
label[leftjoin]="LEFT JOIN + aggregate, 1,100 groups"
sql[leftjoin]="SELECT d.g, count(s.id) AS n, sum(s.v) AS s FROM dim d LEFT JOIN src s ON s.g = d.g GROUP BY d.g"
key[leftjoin]=g
label[window]="window (rank per g, + filter)"
sql[window]="SELECT id, g, v, rank() OVER (PARTITION BY g ORDER BY v, id) AS r FROM src WHERE v < 100"
key[window]=id
for Q in $REFRESH_QUERIES; do
	[ -n "${sql[$Q]:-}" ] || { echo "unknown query '$Q' in REFRESH_QUERIES" >&2; exit 2; }
done

bench_server

sections=()
notes=()
for rows in $REFRESH_SIZES; do
	progress "$rows rows: loading"
	q "DROP TABLE IF EXISTS src, dim CASCADE"
	q "CREATE TABLE src (id bigint PRIMARY KEY, g int NOT NULL, h int NOT NULL, v int NOT NULL)"
	q "INSERT INTO src SELECT i, i % 1000, i % 100000, (i * 7919) % 1000 FROM generate_series(1::bigint, $rows) i"
	# 1,100 keys: 100 of them match no source row (for the LEFT JOIN)
	q "CREATE TABLE dim (g int PRIMARY KEY, region text NOT NULL)"
	q "INSERT INTO dim SELECT i, 'region ' || (i % 50) FROM generate_series(0, 1099) i"
	settle
	table=()
	for Q in $REFRESH_QUERIES; do
		progress "$rows rows, $Q: creating"
		query=${sql[$Q]}
		create_st "st_$Q" "$query"
		create_st "stf_$Q" "$query" full
		q "CREATE MATERIALIZED VIEW mv_$Q AS $query"
		q "CREATE MATERIALIZED VIEW mvc_$Q AS $query"
		q "CREATE UNIQUE INDEX ON mvc_$Q (${key[$Q]})"
		mode=$(effective_mode "st_$Q")
		nres=$(q "SELECT count(*) FROM mv_$Q")
		cols=$(q "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute
			WHERE attrelid = 'mv_$Q'::regclass AND attnum > 0 AND NOT attisdropped")
		new_salt
		warm_start
		change_rows src 1000
		for r in "st_$Q" "stf_$Q"; do warm_timed "$(refresh_sql "$r")" >/dev/null; done
		warm_timed "REFRESH MATERIALIZED VIEW mv_$Q" >/dev/null
		warm_timed "REFRESH MATERIALIZED VIEW CONCURRENTLY mvc_$Q" >/dev/null
		for pct in $REFRESH_FRACTIONS; do
			ppm=$(awk -v p="$pct" 'BEGIN { printf "%d", p * 10000 }')
			progress "$rows rows, $Q: $pct % ×$REFRESH_RUNS"
			d_act= d_dur= d_wall= f_act= f_wall= r_wall= c_wall= nchanged=
			for _ in $(seq "$REFRESH_RUNS"); do
				settle
				change_rows src "$ppm"
				nchanged+="$changed"$'\n'
				read -r act dur wall <<<"$(warm_timed "$(refresh_sql "st_$Q")")"
				d_act+="$act"$'\n' d_dur+="$dur"$'\n' d_wall+="$wall"$'\n'
				read -r act dur wall <<<"$(warm_timed "$(refresh_sql "stf_$Q")")"
				f_act+="$act"$'\n' f_wall+="$wall"$'\n'
				read -r _ wall <<<"$(warm_timed "REFRESH MATERIALIZED VIEW mv_$Q")"
				r_wall+="$wall"$'\n'
				read -r _ wall <<<"$(warm_timed "REFRESH MATERIALIZED VIEW CONCURRENTLY mvc_$Q")"
				c_wall+="$wall"$'\n'
			done
			rmv=$(printf '%s' "$r_wall" | median)
			fa=$(printf '%s' "$f_act" | actions)
			[ "$fa" = FULL ] || notes+=("⚠ $rows rows, ${label[$Q]}, $pct %: the 'full' stream table's refreshes returned $fa.")
			table+=("$(printf '| %s | %s %% (%s) | %s | %s | %s | %s | %s | %s | %s | %s |' "${label[$Q]}" "$pct" \
				"$(printf '%s' "$nchanged" | median | awk '{ printf "%d", $1 }')" \
				"$(printf '%s' "$d_act" | actions)" \
				"$(printf '%s' "$d_wall" | stats)" "$(printf '%s' "$d_dur" | stats)" \
				"$(printf '%s' "$f_wall" | stats)" "$(printf '%s' "$r_wall" | stats)" "$(printf '%s' "$c_wall" | stats)" \
				"$(ratio "$rmv" "$(printf '%s' "$d_wall" | median)")" "$(ratio "$rmv" "$(printf '%s' "$f_wall" | median)")")")
		done
		warm_stop
		bad=$(same_contents "st_$Q" "mv_$Q" "$cols")
		badf=$(same_contents "stf_$Q" "mv_$Q" "$cols")
		if [ "$bad" = 0 ] && [ "$badf" = 0 ]; then
			check="both stream tables equal the materialized view after the last run"
		else
			check="⚠ after the last run $bad rows of st_$Q and $badf of stf_$Q differ from the materialized view"
			notes+=("⚠ $rows rows, ${label[$Q]}: $check.")
		fi
		notes+=("$rows rows, ${label[$Q]}: \`$query\`, $nres rows; st_$Q's effective mode: $mode; $check.")
		q "DROP TABLE st_$Q, stf_$Q; DROP MATERIALIZED VIEW mv_$Q, mvc_$Q"
	done
	sections+=("#### $rows source rows

| query | changed (rows) | action (auto) | DIFFERENTIAL or auto ms | its duration_ms | FULL ms | RMV ms | RMV CONCURRENTLY ms | RMV ÷ auto | RMV ÷ FULL |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${table[@]}")")
done

echo "### Refresh cost"
echo
echo "Source \`src(id bigint PRIMARY KEY, g = id % 1000, h = id % 100000, v int)\`, \`dim(g int PRIMARY KEY, region text)\` with 1,100 rows (50 regions; 100 keys with no source row). For each query: a stream table with \`refresh_mode => 'auto'\` (\"auto\": DIFFERENTIAL where the engine maintains the query, its effective mode in the notes and each refresh's action in the table), one with \`'full'\`, a materialized view (RMV), and one with a unique index refreshed CONCURRENTLY. Each run: VACUUM ANALYZE, CHECKPOINT, \`UPDATE src SET v = v + 1\` on the given fraction of the rows (a salted hash of id; no row twice per query), one scan for hint bits, then the four refreshes one after the other in a warm session (one psql kept open per query, everything refreshed once before). Client wall time (psql \`\\timing\`), ms, median (min–max) of $REFRESH_RUNS runs; \"its duration_ms\" is what \`refresh_stream_table\` reported. Ratios: medians, RMV ÷ the other (above 1×: faster than RMV)."
echo
printf '%s\n\n' "${sections[@]}"
printf '* %s\n' "${notes[@]}"
echo "* Server: $server_conf; parallel query at its defaults (REFRESH MATERIALIZED VIEW may use parallel workers; trickle's refresh statements modify data and run without)."
