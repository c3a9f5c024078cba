# Copyright (c) trickle contributors

# Oracle shapes for the keyed recompute (src/ivm/recompute.c): aggregates
# beyond the algebraic ones, HAVING, FILTER, DISTINCT aggregates,
# expressions over aggregates, GROUPING SETS, DISTINCT [ON], window
# functions, and set operations.  Loaded by t/010_oracle.pl (see
# t/oracle/README.md).
#
# Values are drawn from small domains so that groups fill, empty and come
# back, HAVING conditions flip, window partitions hold ties and set
# operations see the same row on both sides.  Order-dependent aggregates
# (string_agg, array_agg, jsonb_agg) order their input completely, and
# window functions that number rows order by a unique column, so that the
# query run fresh has one right answer.  Some shapes index a key column, so
# that their affected keys are recomputed with one index scan each; the
# others are recomputed by one pass over the query joined to the affected
# keys (src/refresh/recompute_apply.c chooses).

use strict;
use warnings;

our @shapes;
our (@fruits, @regions, @statuses);

# --- aggregates ---------------------------------------------------------------

push @shapes, {
	name => 'rc_having',
	# an index on the key: one index scan per affected group
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int); CREATE INDEX ON t (g)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 7, 0.15), 'key'), col('v', g_int(0, 20, 0.1)) ] } ],
	# groups cross the thresholds in both directions
	query => q{SELECT g, count(*) AS n, sum(v) AS s FROM t GROUP BY g
		HAVING count(*) BETWEEN 4 AND 7 OR sum(v) > 60},
	cols => 'g, n, s',
	truncate => 1,
};

push @shapes, {
	name => 'rc_filter',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g text, v int, ok bool)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_text([ 'a', 'b', 'c', 'd' ], 0.1), 'key'), col('v', g_int(0, 30, 0.15)),
				  col('ok', g_bool(0.15)) ] } ],
	query => q{SELECT g, count(*) FILTER (WHERE v > 10) AS big, sum(v) FILTER (WHERE ok) AS s_ok,
			max(v) FILTER (WHERE NOT ok) AS mx_not_ok, count(*) AS n
		FROM t GROUP BY g},
	cols => 'g, big, s_ok, mx_not_ok, n',
};

push @shapes, {
	name => 'rc_count_distinct',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int, s text)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_int(0, 5, 0.2), 'key'), col('v', g_int(0, 6, 0.2)),
				  col('s', g_text(\@fruits, 0.2)) ] } ],
	query => q{SELECT g, count(DISTINCT v) AS dv, count(DISTINCT s) AS ds, sum(DISTINCT v) AS sdv,
			count(*) AS n
		FROM t GROUP BY g},
	cols => 'g, dv, ds, sdv, n',
	truncate => 1,
};

push @shapes, {
	name => 'rc_string_array_agg',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int, s text); CREATE INDEX ON t (g)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 5, 0.2), 'key'), col('v', g_int(0, 9, 0.25)),
				  col('s', g_text(\@fruits, 0.25)) ] } ],
	# NULL values inside: string_agg skips them, array_agg keeps them
	query => q{SELECT g, string_agg(s, ',' ORDER BY s, id) AS ss,
			array_agg(v ORDER BY v NULLS FIRST, id) AS av,
			array_agg(DISTINCT s) AS ds
		FROM t GROUP BY g},
	cols => 'g, ss, av::text AS av, ds::text AS ds',
};

push @shapes, {
	name => 'rc_json_agg',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g text, v int, s text)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_text(\@regions, 0.1), 'key'), col('v', g_int(0, 9, 0.2)),
				  col('s', g_text(\@statuses, 0.2)) ] } ],
	# json has no equality: the stored rows are matched by binary image
	query => q{SELECT g, jsonb_agg(v ORDER BY id) AS jv, json_agg(s ORDER BY id) AS js,
			jsonb_object_agg(id, s ORDER BY id) AS jo
		FROM t GROUP BY g},
	cols => 'g, jv::text AS jv, js::text AS js, jo::text AS jo',
};

push @shapes, {
	name => 'rc_stats',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, n numeric, f float8)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('g', g_int(0, 5), 'key'), col('n', g_num(-50, 50, 0.1)),
				  col('f', g_float(-20, 20, 0.1)) ] } ],
	query => q{SELECT g, stddev(n) AS sd, variance(n) AS va, stddev_pop(n) AS sdp, var_pop(n) AS vp,
			stddev_samp(f) AS sdf, var_samp(f) AS vf, corr(f, n::float8) AS c
		FROM t GROUP BY g},
	cols => 'g, round(sd, 6) AS sd, round(va, 6) AS va, round(sdp, 6) AS sdp, round(vp, 6) AS vp, '
	  . 'sdf::numeric(20,6) AS sdf, vf::numeric(20,6) AS vf, c::numeric(20,6) AS c',
};

push @shapes, {
	name => 'rc_bits',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, b int, ok bool)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 6, 0.1), 'key'), col('b', g_int(0, 15, 0.15)),
				  col('ok', g_bool(0.1)) ] } ],
	query => q{SELECT g, bit_and(b) AS ba, bit_or(b) AS bo, bit_xor(b) AS bx, every(ok) AS ev
		FROM t GROUP BY g},
	cols => 'g, ba, bo, bx, ev',
};

push @shapes, {
	name => 'rc_agg_expressions',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 6, 0.15), 'key'), col('v', g_int(0, 20, 0.15)) ] } ],
	# output columns computed from aggregates and grouping columns
	query => q{SELECT g * 10 AS g10, sum(v) * 2 + count(*) AS x,
			CASE WHEN count(*) > 5 THEN 'many' ELSE 'few' END AS size,
			coalesce(max(v), -1) - coalesce(min(v), 0) AS spread
		FROM t GROUP BY g},
	cols => 'g10, x, size, spread',
};

push @shapes, {
	name => 'rc_hidden_keys_ordered_set',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, h text, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('g', g_int(0, 3, 0.1), 'key'), col('h', g_text([ 'x', 'y' ], 0.1), 'key'),
				  col('v', g_int(0, 20, 0.1)) ] } ],
	# the grouping columns are not selected (hidden key columns); groups
	# often share their values (a bag)
	query => q{SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS med,
			mode() WITHIN GROUP (ORDER BY v) AS mo, count(*) AS n
		FROM t GROUP BY g, h},
	cols => 'med, mo, n',
};

push @shapes, {
	name => 'rc_join_having',
	ddl => q{
		CREATE TABLE customers (id int PRIMARY KEY, region text);
		CREATE TABLE orders (id int PRIMARY KEY, cust int, amount int, status text);
	},
	tables => [
		{ name => 'customers', pk => 'id', rows => 10,
		  cols => [ col('region', g_text(\@regions, 0.1), 'key') ] },
		{ name => 'orders', pk => 'id', rows => 50,
		  cols => [ col('cust', g_int(1, 13, 0.05), 'key'), col('amount', g_int(1, 50, 0.05)),
					col('status', g_text(\@statuses, 0.1)) ] } ],
	query => q{SELECT c.region, string_agg(DISTINCT o.status, '/' ORDER BY o.status) AS statuses,
			count(*) AS n, sum(o.amount) AS total
		FROM orders o JOIN customers c ON c.id = o.cust
		WHERE o.amount > 5
		GROUP BY c.region HAVING sum(o.amount) > 80},
	cols => 'region, statuses, n, total',
	truncate => 1,
};

push @shapes, {
	name => 'rc_numeric_scale',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, n numeric)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 5, 0.1), 'key'), col('n', g_num(0, 10, 0.1)) ] } ],
	# values of equal value and different display scale (2.0, 2.00): the
	# stored row must show exactly what the query shows
	query => q{SELECT g, max(n) AS mx, min(n) AS mn, sum(n) AS s FROM t GROUP BY g HAVING count(*) > 1},
	cols => 'g, mx::text AS mx, mn::text AS mn, s::text AS s',
	extra_ops => [ [ 10, sub {
		my $id = 1 + int(rand(40));
		return ("UPDATE t SET n = round(n, 0) + 0.0 WHERE id = $id",
			"UPDATE t SET n = n * 1.00 WHERE id = " . (1 + int(rand(40))));
	} ] ],
};

push @shapes, {
	name => 'rc_grouping_sets',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a text, b int, v int);
		CREATE INDEX ON t (a); CREATE INDEX ON t (b)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('a', g_text([ 'p', 'q', 'r' ], 0.15), 'key'), col('b', g_int(0, 3, 0.15), 'key'),
				  col('v', g_int(0, 20, 0.1)) ] } ],
	# NULL grouping values next to the NULLs of the sets that do not group
	# by a column: GROUPING() tells them apart
	query => q{SELECT a, b, count(*) AS n, sum(v) AS s, GROUPING(a, b) AS gr,
			string_agg(id::text, ',' ORDER BY id) AS ids
		FROM t GROUP BY GROUPING SETS ((a, b), (a), (b)) HAVING count(*) > 1},
	cols => 'a, b, n, s, gr, ids',
};

push @shapes, {
	name => 'rc_rollup',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a text, b int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 30,
		cols => [ col('a', g_text([ 'p', 'q', 'r' ], 0.1), 'key'), col('b', g_int(0, 3, 0.1), 'key'),
				  col('v', g_int(0, 20, 0.1)) ] } ],
	# ROLLUP has the grand total (): recomputed from every row
	query => q{SELECT a, b, sum(v) AS s, count(*) AS n,
			CASE WHEN GROUPING(a) = 1 THEN 'all' ELSE coalesce(a, '-') END AS label
		FROM t GROUP BY ROLLUP (a, b)},
	cols => 'a, b, s, n, label',
	truncate => 1,
	extra_ops => [ [ 5, sub { return ('DELETE FROM t'); } ] ],
};

push @shapes, {
	name => 'rc_cube_hidden',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a int, b int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('a', g_int(0, 2, 0.1), 'key'), col('b', g_int(0, 2, 0.1), 'key'),
				  col('v', g_int(0, 9, 0.1)) ] } ],
	# grouping columns not selected: hidden key columns and a bag of rows
	query => q{SELECT count(*) AS n, max(v) AS mx FROM t GROUP BY CUBE (a, b)},
	cols => 'n, mx',
};

# --- DISTINCT -----------------------------------------------------------------

push @shapes, {
	name => 'rc_distinct',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a int, b text, c int)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('a', g_int(0, 4, 0.2), 'key'), col('b', g_text([ 'x', 'y', 'z' ], 0.2), 'key'),
				  col('c', g_int(0, 9)) ] } ],
	# NULLs are not distinct from each other
	query => q{SELECT DISTINCT a, b FROM t WHERE c <> 3},
	cols => 'a, b',
	truncate => 1,
};

push @shapes, {
	name => 'rc_distinct_bag',
	ddl => q{CREATE TABLE bag (a int, b int)},
	tables => [ {
		name => 'bag', rows => 40,
		cols => [ col('a', g_int(0, 3, 0.2), 'key'), col('b', g_int(0, 2, 0.2)) ] } ],
	query => q{SELECT DISTINCT a, b % 2 AS odd FROM bag},
	cols => 'a, odd',
};

push @shapes, {
	name => 'rc_distinct_on',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int, s text); CREATE INDEX ON t (g)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_int(0, 6, 0.15), 'key'), col('v', g_int(0, 10, 0.2)),
				  col('s', g_text(\@fruits, 0.1)) ] } ],
	# the latest value per group, ties broken by id
	query => q{SELECT DISTINCT ON (g) g, id, v, s FROM t ORDER BY g, v DESC NULLS LAST, id},
	cols => 'g, id, v, s',
};

push @shapes, {
	name => 'rc_distinct_on_expr_hidden',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, x int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('x', g_int(-10, 30, 0.1), 'key'), col('v', g_int(0, 10, 0.2)) ] } ],
	# the DISTINCT ON expression is not an output column
	query => q{SELECT DISTINCT ON (x % 4) id, v FROM t ORDER BY x % 4, v, id},
	cols => 'id, v',
};

# --- window functions ---------------------------------------------------------

push @shapes, {
	name => 'rc_window_rank_ties',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int); CREATE INDEX ON t (g)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_int(0, 5, 0.15), 'key'), col('v', g_int(0, 5, 0.15)) ] } ],
	# many ties in v: rank, dense_rank and RANGE sums give peers one value
	query => q{SELECT id, g, v, rank() OVER w AS r, dense_rank() OVER w AS dr,
			sum(v) OVER w AS rs, count(*) OVER (PARTITION BY g) AS n
		FROM t WINDOW w AS (PARTITION BY g ORDER BY v)},
	cols => 'id, g, v, r, dr, rs, n',
	truncate => 1,
};

push @shapes, {
	name => 'rc_window_hidden_key',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g text, v int); CREATE INDEX ON t (g)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_text([ 'a', 'b', 'c' ], 0.15), 'key'), col('v', g_int(0, 20, 0.15)) ] } ],
	# the partition is not an output column
	query => q{SELECT id, row_number() OVER (PARTITION BY g ORDER BY v, id) AS rn,
			lag(v) OVER (PARTITION BY g ORDER BY id) AS prev,
			first_value(id) OVER (PARTITION BY g ORDER BY v DESC NULLS LAST, id) AS top
		FROM t},
	cols => 'id, rn, prev, top',
};

push @shapes, {
	name => 'rc_window_two_partitions',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, h int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_int(0, 3, 0.1), 'key'), col('h', g_int(0, 2, 0.1), 'key'),
				  col('v', g_int(0, 9, 0.1)) ] } ],
	# the key is what every window partitions by: g
	query => q{SELECT id, count(*) OVER (PARTITION BY g) AS n_g,
			sum(v) OVER (PARTITION BY g, h ORDER BY id) AS run_gh, g + h AS gh
		FROM t WHERE v IS DISTINCT FROM 4},
	cols => 'id, n_g, run_gh, gh',
};

push @shapes, {
	name => 'rc_window_over_agg',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, h int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('g', g_int(0, 3, 0.1), 'key'), col('h', g_int(0, 4, 0.1), 'key'),
				  col('v', g_int(0, 9, 0.1)) ] } ],
	query => q{SELECT g, h, sum(v) AS s, rank() OVER (PARTITION BY g ORDER BY sum(v) DESC NULLS LAST) AS r
		FROM t GROUP BY g, h HAVING count(*) > 1},
	cols => 'g, h, s, r',
};

push @shapes, {
	name => 'rc_window_join_distinct',
	ddl => q{
		CREATE TABLE d (id int PRIMARY KEY, grp text);
		CREATE TABLE f (id int PRIMARY KEY, d_id int, v int);
		CREATE INDEX ON d (grp);
	},
	tables => [
		{ name => 'd', pk => 'id', rows => 8, cols => [ col('grp', g_text([ 'x', 'y', 'z' ], 0.1), 'key') ] },
		{ name => 'f', pk => 'id', rows => 40,
		  cols => [ col('d_id', g_int(1, 10, 0.05), 'key'), col('v', g_int(0, 5, 0.1)) ] } ],
	# DISTINCT above a window: the key is the partition, common to both
	query => q{SELECT DISTINCT d.grp, max(f.v) OVER (PARTITION BY d.grp) AS mx
		FROM f JOIN d ON d.id = f.d_id},
	cols => 'grp, mx',
};

push @shapes, {
	name => 'rc_part_window_distinct',
	ddl => $main::parts_ddl,
	tables => [ main::parts_tables() ],
	# a partitioned source whose rows move between partitions; rows are a bag
	query => q{SELECT DISTINCT region, g, max(v) OVER (PARTITION BY region, g) AS mx,
			count(*) OVER (PARTITION BY region) AS n_region
		FROM m WHERE v IS DISTINCT FROM 3},
	cols => 'region, g, mx, n_region',
	truncate => 1,
};

push @shapes, {
	name => 'rc_collate_distinct_on',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, k text COLLATE "C", s text COLLATE "C", v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('k', g_text(\@main::ckeys, 0.05), 'key'), col('s', g_text(\@main::ckeys, 0.1)),
				  col('v', g_int(0, 9, 0.1)) ] } ],
	# keys that differ only in case are different keys under "C"
	query => q{SELECT DISTINCT ON (k) k, s, v FROM t ORDER BY k, s DESC NULLS LAST, v, id},
	cols => 'k, s, v',
};

# --- set operations -------------------------------------------------------------

my $two_tables = q{
	CREATE TABLE l (id int PRIMARY KEY, k int, v text);
	CREATE TABLE r (id int PRIMARY KEY, k int, v text);
};
my @two_tables = (
	{ name => 'l', pk => 'id', rows => 30,
	  cols => [ col('k', g_int(0, 4, 0.15), 'key'), col('v', g_text([ 'a', 'b' ], 0.15)) ] },
	{ name => 'r', pk => 'id', rows => 30,
	  cols => [ col('k', g_int(0, 4, 0.15), 'key'), col('v', g_text([ 'a', 'b' ], 0.15)) ] });

push @shapes, {
	name => 'rc_union_all',
	ddl => $two_tables,
	tables => [ @two_tables ],
	# duplicates within and across the branches; a constant column
	query => q{SELECT 'l' AS src, k, v FROM l WHERE k <> 1 UNION ALL SELECT 'r', k, v FROM r
		UNION ALL SELECT 'both', k, NULL FROM r WHERE v = 'a'},
	cols => 'src, k, v',
	truncate => 1,
};

push @shapes, {
	name => 'rc_union',
	ddl => $two_tables,
	tables => [ @two_tables ],
	query => q{SELECT k, v FROM l UNION SELECT k, v FROM r},
	cols => 'k, v',
	truncate => 1,
};

push @shapes, {
	name => 'rc_intersect_all',
	ddl => $two_tables . q{CREATE INDEX ON l (k); CREATE INDEX ON r (k);},
	tables => [ @two_tables ],
	# multiplicities: min of the two sides
	query => q{SELECT k, v FROM l INTERSECT ALL SELECT k, v FROM r},
	cols => 'k, v',
};

push @shapes, {
	name => 'rc_except_all',
	ddl => $two_tables,
	tables => [ @two_tables ],
	# multiplicities: the left's less the right's
	query => q{SELECT k, v FROM l EXCEPT ALL SELECT k, v FROM r},
	cols => 'k, v',
};

push @shapes, {
	name => 'rc_intersect_except',
	ddl => $two_tables,
	tables => [ @two_tables ],
	# keys in both, or in r only
	query => q{(SELECT k FROM l INTERSECT SELECT k FROM r) UNION ALL (SELECT k FROM r EXCEPT SELECT k FROM l)},
	cols => 'k',
};

push @shapes, {
	name => 'rc_except_same_table',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int); CREATE INDEX ON t (v)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 4, 0.15), 'key'), col('v', g_int(0, 9, 0.15)) ] } ],
	# both branches read the same table
	query => q{SELECT g, v FROM t WHERE v > 3 EXCEPT SELECT g, v FROM t WHERE g = 2 OR v > 7},
	cols => 'g, v',
	truncate => 1,
};

push @shapes, {
	name => 'rc_setop_nested_types',
	ddl => q{
		CREATE TABLE a (id int PRIMARY KEY, x int);
		CREATE TABLE b (id int PRIMARY KEY, y bigint);
		CREATE TABLE c (id int PRIMARY KEY, z bigint);
	},
	tables => [
		{ name => 'a', pk => 'id', rows => 15, cols => [ col('x', g_int(0, 8, 0.1), 'key') ] },
		{ name => 'b', pk => 'id', rows => 15, cols => [ col('y', g_int(0, 8, 0.1), 'key') ] },
		{ name => 'c', pk => 'id', rows => 10, cols => [ col('z', g_int(0, 8, 0.1), 'key') ] } ],
	# int and bigint branches; EXCEPT ALL over a UNION
	query => q{(SELECT x AS n FROM a UNION ALL SELECT y FROM b) EXCEPT ALL SELECT z FROM c},
	cols => 'n',
};

# --- ORDER BY ... LIMIT -------------------------------------------------------
#
# Orders are total (ties broken by a unique column), so that the query run
# fresh has one right answer.

push @shapes, {
	name => 'rc_topk_plain',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 30,
		cols => [ col('g', g_int(0, 3, 0.1), 'key'), col('v', g_int(0, 40, 0.15)) ] } ],
	query => q{SELECT id, g, v FROM t WHERE g IS DISTINCT FROM 2 ORDER BY v DESC NULLS LAST, id LIMIT 5},
	cols => 'id, g, v',
	truncate => 1,
	# the top rows go, often
	extra_ops => [ [ 10, sub {
		return ('DELETE FROM t WHERE id IN (SELECT id FROM t WHERE g IS DISTINCT FROM 2'
			  . ' ORDER BY v DESC NULLS LAST, id LIMIT ' . (1 + int(rand(3))) . ')');
	} ] ],
};

push @shapes, {
	name => 'rc_topk_bag',
	ddl => q{CREATE TABLE bag (a int, b int)},
	tables => [ {
		name => 'bag', rows => 25,
		cols => [ col('a', g_int(0, 5, 0.15), 'key'), col('b', g_int(0, 2, 0.15)) ] } ],
	# duplicates: copies of one row are interchangeable
	query => q{SELECT a, b FROM bag ORDER BY a NULLS FIRST, b LIMIT 7},
	cols => 'a, b',
};

push @shapes, {
	name => 'rc_topk_agg',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int); CREATE INDEX ON t (g)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 9, 0.1), 'key'), col('v', g_int(0, 20, 0.1)) ] } ],
	# the top groups by their sum; groups enter and leave the top
	query => q{SELECT g, sum(v) AS s, count(*) AS n FROM t GROUP BY g
		ORDER BY s DESC NULLS LAST, g LIMIT 3},
	cols => 'g, s, n',
	truncate => 1,
};

push @shapes, {
	name => 'rc_topk_small',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, s text, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 6,
		cols => [ col('s', g_text(\@fruits, 0.2), 'key'), col('v', g_int(0, 9, 0.2)) ] } ],
	# fewer rows than the LIMIT, now and then
	query => q{SELECT DISTINCT s FROM t ORDER BY s LIMIT 4},
	cols => 's',
	extra_ops => [ [ 6, sub { return ('DELETE FROM t WHERE id % 2 = 0'); } ] ],
};

push @shapes, {
	name => 'rc_topk_offset',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 20, cols => [ col('v', g_int(0, 9, 0.1)) ] } ],
	query => q{SELECT id, v FROM t ORDER BY v, id LIMIT 5 OFFSET 3},
	cols => 'id, v',
	not_differential => qr/OFFSET: the rows before the stored ones are not kept/,
};

# --- what stays FULL ------------------------------------------------------------

push @shapes, {
	name => 'rc_global_string_agg',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, s text)},
	tables => [ {
		name => 't', pk => 'id', rows => 10, cols => [ col('s', g_text(\@fruits, 0.1)) ] } ],
	query => q{SELECT string_agg(s, ',' ORDER BY s, id) AS ss, count(DISTINCT s) AS ds FROM t},
	cols => 'ss, ds',
	not_differential => qr/without GROUP BY: their one row depends on every row/,
};

push @shapes, {
	name => 'rc_window_unpartitioned',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 20, cols => [ col('v', g_int(0, 9, 0.1)) ] } ],
	query => q{SELECT id, v, rank() OVER (ORDER BY v) AS r FROM t},
	cols => 'id, v, r',
	not_differential => qr/window function without PARTITION BY/,
};

1;
