#!/usr/bin/env bash
# bench/scale.sh: stream tables over many partitions, and chains of stream
# tables.
#
#  1. A source range-partitioned into SCALE_PARTS partitions of
#     SCALE_PART_ROWS rows: create_stream_table(..., initialize => false)
#     (capture triggers on every partition), its first refresh, a refresh
#     after 0.1 % of the rows changed (through the parent), and the drop;
#     against CREATE MATERIALIZED VIEW and REFRESH MATERIALIZED VIEW of the
#     same aggregate.  Each in a new connection, client wall time.
#  2. A chain of SCALE_CHAIN stream tables over SCALE_CHAIN_ROWS rows: level
#     1 aggregates the source, each next level reads the one before.  After
#     1 % of the source rows changed, every level is refreshed in order in a
#     warm session; against the same chain of materialized views.
#
# Standalone: bash bench/scale.sh (BENCH_QUICK=1 for the quick sizes).
# Overrides: SCALE_PARTS, SCALE_PART_ROWS, SCALE_CHAIN, SCALE_CHAIN_ROWS,
# SCALE_RUNS.
set -euo pipefail
family=scale
source "$(dirname "$0")/lib.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	SCALE_PARTS=${SCALE_PARTS:-50} SCALE_PART_ROWS=${SCALE_PART_ROWS:-200}
	SCALE_CHAIN_ROWS=${SCALE_CHAIN_ROWS:-20000} SCALE_RUNS=${SCALE_RUNS:-3}
else
	SCALE_PARTS=${SCALE_PARTS:-1000} SCALE_PART_ROWS=${SCALE_PART_ROWS:-1000}
	SCALE_CHAIN_ROWS=${SCALE_CHAIN_ROWS:-1000000} SCALE_RUNS=${SCALE_RUNS:-5}
fi
SCALE_CHAIN=${SCALE_CHAIN:-10}

# 1,000 partitions: one statement locks them all
bench_server "max_locks_per_transaction = $((SCALE_PARTS * 4 > 256 ? SCALE_PARTS * 4 : 256))"

wall() { timed "$1" | awk '{ print $NF }'; }

# --- 1. partitions ------------------------------------------------------------
nrows=$((SCALE_PARTS * SCALE_PART_ROWS))
progress "partitions: $SCALE_PARTS × $SCALE_PART_ROWS rows"
q "CREATE TABLE parted (id bigint NOT NULL, g int NOT NULL, v int NOT NULL) PARTITION BY RANGE (id)"
q "DO \$\$ BEGIN FOR i IN 0 .. $((SCALE_PARTS - 1)) LOOP
	EXECUTE format('CREATE TABLE parted_%s PARTITION OF parted FOR VALUES FROM (%s) TO (%s)', i, i * $SCALE_PART_ROWS + 1, (i + 1) * $SCALE_PART_ROWS + 1);
	END LOOP; END \$\$"
q "ALTER TABLE parted ADD PRIMARY KEY (id)"
q "INSERT INTO parted SELECT i, i % 1000, (i * 7919) % 1000 FROM generate_series(1::bigint, $nrows) i"
settle
pquery="SELECT g, count(*) AS n, sum(v) AS s FROM parted GROUP BY g"
p_create= p_first= p_change= p_drop= p_mv= p_rmv= p_act= p_mode= p_trig=
for r in $(seq "$SCALE_RUNS"); do
	progress "partitions: run $r/$SCALE_RUNS"
	settle
	p_create+="$(wall "SELECT trickle.create_stream_table('st_parted', \$q\$$pquery\$q\$, refresh_mode => 'auto', initialize => false)")"$'\n'
	p_mode=$(effective_mode st_parted)
	p_trig=$(q "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname LIKE 'parted%' AND t.tgisinternal AND t.tgname LIKE 'trickle%'")
	p_first+="$(wall "$(refresh_sql st_parted)")"$'\n'
	change_rows parted 1000
	read -r a _ w <<<"$(timed "$(refresh_sql st_parted)")"
	p_change+="$w"$'\n' p_act+="$a"$'\n'
	p_mv+="$(wall "CREATE MATERIALIZED VIEW mv_parted AS $pquery")"$'\n'
	p_rmv+="$(wall "REFRESH MATERIALIZED VIEW mv_parted")"$'\n'
	bad=$(same_contents st_parted mv_parted "g, n, s")
	[ "$bad" = 0 ] || echo "⚠ partitions, run $r: $bad rows differ between the stream table and the materialized view" >&2
	p_drop+="$(wall "SELECT trickle.drop_stream_table('st_parted')")"$'\n'
	q "DROP MATERIALIZED VIEW mv_parted"
done

# --- 2. a chain ---------------------------------------------------------------
progress "chain: $SCALE_CHAIN levels over $SCALE_CHAIN_ROWS rows"
q "CREATE TABLE src (id bigint PRIMARY KEY, g int NOT NULL, v int NOT NULL)"
q "INSERT INTO src SELECT i, i % 1000, (i * 7919) % 1000 FROM generate_series(1::bigint, $SCALE_CHAIN_ROWS) i"
level_query() { # LEVEL PREFIX
	if [ "$1" = 1 ]; then
		echo "SELECT g, count(*) AS n, sum(v) AS s FROM src GROUP BY g"
	else
		echo "SELECT g, n, s + $1 AS s FROM $2$(($1 - 1)) WHERE n > 0"
	fi
}
for l in $(seq "$SCALE_CHAIN"); do
	create_st "st_c$l" "$(level_query "$l" st_c)"
	q "CREATE MATERIALIZED VIEW mv_c$l AS $(level_query "$l" mv_c)"
done
chain_modes="level 1: $(effective_mode st_c1); levels 2–$SCALE_CHAIN: $(q "SELECT effective_mode FROM trickle.stream_tables WHERE name::text ~ '^st_c[0-9]+$' AND name <> 'st_c1'::regclass" | actions) (level 2: $(effective_mode st_c2))"
settle
warm_start
for l in $(seq "$SCALE_CHAIN"); do warm_timed "$(refresh_sql "st_c$l")" >/dev/null; warm_timed "REFRESH MATERIALIZED VIEW mv_c$l" >/dev/null; done
c_total= c_first= c_rest= c_act= m_total= chg=
for r in $(seq "$SCALE_RUNS"); do
	progress "chain: run $r/$SCALE_RUNS"
	settle
	change_rows src 10000
	chg+="$changed"$'\n'
	t=0 t1=0
	for l in $(seq "$SCALE_CHAIN"); do
		read -r a _ w <<<"$(warm_timed "$(refresh_sql "st_c$l")")"
		c_act+="$a"$'\n'
		t=$(awk -v a="$t" -v b="$w" 'BEGIN { print a + b }')
		[ "$l" = 1 ] && t1=$w
	done
	c_total+="$t"$'\n' c_first+="$t1"$'\n'
	c_rest+="$(awk -v a="$t" -v b="$t1" 'BEGIN { print a - b }')"$'\n'
	t=0
	for l in $(seq "$SCALE_CHAIN"); do
		read -r _ w <<<"$(warm_timed "REFRESH MATERIALIZED VIEW mv_c$l")"
		t=$(awk -v a="$t" -v b="$w" 'BEGIN { print a + b }')
	done
	m_total+="$t"$'\n'
done
warm_stop
bad=$(same_contents "st_c$SCALE_CHAIN" "mv_c$SCALE_CHAIN" "g, n, s")
chain_check="The last level equals the last materialized view after the last run"
[ "$bad" = 0 ] || chain_check="⚠ After the last run, $bad rows of the last level differ from the last materialized view"

echo "### Scale"
echo
echo "#### A source with $SCALE_PARTS partitions"
echo
echo "\`parted(id bigint PRIMARY KEY, g int, v int) PARTITION BY RANGE (id)\`, $SCALE_PARTS partitions of $SCALE_PART_ROWS rows ($nrows rows). Stream table \`$pquery\`, \`refresh_mode => 'auto'\` (effective mode $p_mode; $p_trig capture triggers on the tree). Each step in a new connection, client wall time, ms, median (min–max) of $SCALE_RUNS runs; the stream table and the materialized view are created and dropped in every run."
echo
echo "| step | ms |"
echo "| --- | --- |"
echo "| \`create_stream_table(…, initialize => false)\` (triggers on every partition) | $(printf '%s' "$p_create" | stats) |"
echo "| its first refresh | $(printf '%s' "$p_first" | stats) |"
echo "| **create + first refresh** | **$(paste -d ' ' <(printf '%s' "$p_create") <(printf '%s' "$p_first") | awk '{ print $1 + $2 }' | stats)** |"
echo "| refresh after 0.1 % of the rows changed (UPDATE through the parent): $(printf '%s' "$p_act" | actions) | $(printf '%s' "$p_change" | stats) |"
echo "| \`drop_stream_table\` | $(printf '%s' "$p_drop" | stats) |"
echo "| \`CREATE MATERIALIZED VIEW\` of the same query | $(printf '%s' "$p_mv" | stats) |"
echo "| \`REFRESH MATERIALIZED VIEW\` | $(printf '%s' "$p_rmv" | stats) |"
echo
echo "#### A chain of $SCALE_CHAIN stream tables"
echo
echo "Level 1: \`$(level_query 1 st_c)\` over $SCALE_CHAIN_ROWS rows (1,000 groups); level k > 1: \`$(level_query 2 st_c | sed 's/+ 2/+ k/; s/st_c1/st_c(k−1)/')\`. All \`refresh_mode => 'auto'\` (effective modes: $chain_modes); the same chain as materialized views. Each run: VACUUM ANALYZE, CHECKPOINT, \`UPDATE src SET v = v + 1\` on 1 % of the rows ($(printf '%s' "$chg" | median) rows), then levels 1 to $SCALE_CHAIN refreshed in order in a warm session (client wall time summed over the levels, ms, median (min–max) of $SCALE_RUNS runs). $chain_check."
echo
echo "| chain | level 1 | levels 2–$SCALE_CHAIN | all levels | actions |"
echo "| --- | --- | --- | --- | --- |"
echo "| stream tables | $(printf '%s' "$c_first" | stats) | $(printf '%s' "$c_rest" | stats) | $(printf '%s' "$c_total" | stats) | $(printf '%s' "$c_act" | actions) |"
echo "| materialized views | | | $(printf '%s' "$m_total" | stats) | |"
echo
echo "* Server: $server_conf."
