
# Copyright (c) trickle contributors

# Oracle corpus: FROM items other than tables (src/ivm/normalize.c).
#
# Views (over joins, nested, with expression columns, over a partitioned
# table, joined by USING), WITH queries referenced once or twice, subqueries
# in FROM, set-returning functions over a row's columns, VALUES lists and
# LATERAL subqueries without FROM.  Each refreshes DIFFERENTIALLY: views,
# WITH queries and simple subqueries are merged into the query, so that
# their tables are scans of the delta; functions and VALUES read no source
# and stay as they are in every term.  Two shapes prove the refusals: a
# subquery with GROUP BY inside, and a recursive WITH query.

use strict;
use warnings;

our (@shapes, @fruits, @regions, @statuses, $parts_ddl);

# an int[] of up to four small values (duplicates, NULL elements), empty or
# NULL
my $g_arr = sub {
	my $r = rand();
	return 'NULL' if $r < 0.1;
	return q('{}'::int[]) if $r < 0.2;
	my @v = map { rand() < 0.1 ? 'NULL' : int(rand(5)) } 1 .. 1 + int(rand(4));
	return 'ARRAY[' . join(', ', @v) . ']::int[]';
};

# a jsonb array of up to three items (numbers, strings, objects), an empty
# array, a scalar (which jsonb_array_elements refuses, so never) or NULL
my $g_jsonb = sub {
	my $r = rand();
	return 'NULL' if $r < 0.1;
	return q('[]'::jsonb) if $r < 0.2;
	my @v = map {
		my $k = int(rand(3));
		$k == 0 ? int(rand(4)) : $k == 1 ? '"' . $fruits[ int(rand(4)) ] . '"'
		  : '{"n": ' . int(rand(3)) . '}'
	} 1 .. 1 + int(rand(3));
	return q(') . '[' . join(', ', @v) . q(]'::jsonb);
};

# --- views --------------------------------------------------------------------

push @shapes, {
	name => 'view_filter',
	ddl => q{
		CREATE TABLE t (id int PRIMARY KEY, a int, b text, c int);
		CREATE VIEW v AS SELECT id, a, b FROM t WHERE a > 3 OR b IS NULL;
	},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('a', g_int(0, 9, 0.1), 'key'), col('b', g_text(\@fruits, 0.15)),
				  col('c', g_int(0, 5, 0.1)) ] } ],
	query => 'SELECT id, a, b FROM v',
	cols => 'id, a, b',
	truncate => 1,
};

push @shapes, {
	name => 'view_join',
	ddl => q{
		CREATE TABLE customers (id int PRIMARY KEY, name text, region text);
		CREATE TABLE orders (id int PRIMARY KEY, cust int, amount int);
		CREATE VIEW order_lines AS
			SELECT o.id AS order_id, c.name, c.region, o.amount
			FROM orders o JOIN customers c ON c.id = o.cust;
	},
	tables => [
		{ name => 'customers', pk => 'id', rows => 12,
		  cols => [ col('name', g_text(\@fruits, 0.1)), col('region', g_text(\@regions, 0.1), 'key') ] },
		{ name => 'orders', pk => 'id', rows => 50,
		  cols => [ col('cust', g_int(1, 15, 0.05), 'key'), col('amount', g_int(0, 100, 0.1)) ] } ],
	query => q{SELECT order_id, name, amount FROM order_lines WHERE amount > 20 OR region = 'north'},
	cols => 'order_id, name, amount',
	truncate => 1,
};

push @shapes, {
	name => 'view_nested_join_table',
	ddl => q{
		CREATE TABLE items (id int PRIMARY KEY, g int, v int, note text);
		CREATE TABLE groups (g int PRIMARY KEY, label text);
		CREATE VIEW v1 AS SELECT id, g, v, note FROM items WHERE v IS NOT NULL;
		CREATE VIEW v2 AS SELECT v1.id, v1.g, v1.v * 10 AS v10 FROM v1 WHERE v1.g <> 3;
	},
	tables => [
		{ name => 'items', pk => 'id', rows => 40,
		  cols => [ col('g', g_int(0, 6, 0.1), 'key'), col('v', g_int(0, 9, 0.2)),
					col('note', g_text(\@fruits, 0.2)) ] },
		{ name => 'groups', pk => 'g', rows => 5,
		  cols => [ col('label', g_text(\@statuses, 0.1)) ] } ],
	query => q{SELECT v2.id, v2.v10, gr.label FROM v2 JOIN groups gr ON gr.g = v2.g},
	cols => 'id, v10, label',
};

push @shapes, {
	name => 'view_expression_columns',
	ddl => q{
		CREATE TABLE t (id int PRIMARY KEY, a int, b int, s text);
		CREATE VIEW v AS
			SELECT id, a * 2 + COALESCE(b, 0) AS lin, upper(s) AS up,
				CASE WHEN a IS NULL THEN 'none' WHEN a > 5 THEN 'big' ELSE 'small' END AS size,
				a IS DISTINCT FROM b AS differs
			FROM t;
	},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('a', g_int(0, 9, 0.15)), col('b', g_int(0, 9, 0.15)),
				  col('s', g_text(\@fruits, 0.15)) ] } ],
	# the stream table filters and computes on the view's expressions
	query => q{SELECT id, lin + 1 AS lin1, up, size FROM v WHERE size <> 'small' OR differs},
	cols => 'id, lin1, up, size',
};

push @shapes, {
	name => 'view_aggregated',
	ddl => q{
		CREATE TABLE sales (id int PRIMARY KEY, region text, amount int, ok bool);
		CREATE VIEW good_sales AS SELECT region, amount FROM sales WHERE ok;
	},
	tables => [ {
		name => 'sales', pk => 'id', rows => 50,
		cols => [ col('region', g_text(\@regions, 0.1), 'key'), col('amount', g_int(0, 50, 0.1)),
				  col('ok', g_bool(0.1)) ] } ],
	query => q{SELECT region, count(*) AS n, sum(amount) AS s, max(amount) AS mx
		FROM good_sales GROUP BY region},
	cols => 'region, n, s, mx',
	truncate => 1,
};

push @shapes, {
	name => 'view_over_partitioned',
	ddl => $parts_ddl . q{
		CREATE VIEW mv AS SELECT id, region, g, v FROM m WHERE v IS DISTINCT FROM 7;
	},
	tables => [ parts_tables() ],
	query => q{SELECT region, g, count(*) AS n, sum(v) AS s FROM mv GROUP BY region, g},
	cols => 'region, g, n, s',
	truncate => 1,
};

push @shapes, {
	name => 'view_using_joins',
	ddl => q{
		CREATE TABLE l (id int PRIMARY KEY, k int, x int);
		CREATE TABLE r (rid int PRIMARY KEY, k int, y text);
		CREATE TABLE d (k int PRIMARY KEY, label text);
		CREATE VIEW lr AS SELECT k, l.id, l.x, r.y FROM l JOIN r USING (k);
	},
	tables => [
		{ name => 'l', pk => 'id', rows => 25,
		  cols => [ col('k', g_int(1, 6, 0.1), 'key'), col('x', g_int(0, 9, 0.1)) ] },
		{ name => 'r', pk => 'rid', rows => 20,
		  cols => [ col('k', g_int(1, 6, 0.1), 'key'), col('y', g_text(\@fruits, 0.1)) ] },
		{ name => 'd', pk => 'k', rows => 5,
		  cols => [ col('label', g_text(\@statuses, 0.1)) ] } ],
	# USING on a view column, and a merged USING column selected
	query => q{SELECT k, id, x, y, label FROM lr JOIN d USING (k)},
	cols => 'k, id, x, y, label',
};

# --- WITH queries ---------------------------------------------------------------

push @shapes, {
	name => 'cte_once',
	ddl => q{
		CREATE TABLE orders (id int PRIMARY KEY, cust int, amount int, status text);
		CREATE TABLE customers (id int PRIMARY KEY, name text);
	},
	tables => [
		{ name => 'orders', pk => 'id', rows => 50,
		  cols => [ col('cust', g_int(1, 12, 0.05), 'key'), col('amount', g_int(0, 80, 0.1)),
					col('status', g_text(\@statuses, 0.1)) ] },
		{ name => 'customers', pk => 'id', rows => 10,
		  cols => [ col('name', g_text(\@fruits, 0.1)) ] } ],
	query => q{WITH open_orders AS (SELECT id, cust, amount FROM orders WHERE status = 'open')
		SELECT c.name, o.id, o.amount FROM open_orders o JOIN customers c ON c.id = o.cust},
	cols => 'name, id, amount',
	truncate => 1,
};

push @shapes, {
	name => 'cte_twice_self_join',
	ddl => q{CREATE TABLE emp (id int PRIMARY KEY, mgr int, dept int, name text)},
	tables => [ {
		name => 'emp', pk => 'id', rows => 30,
		cols => [ col('mgr', g_int(1, 34, 0.1), 'key'), col('dept', g_int(1, 4, 0.1), 'key'),
				  col('name', g_text(\@fruits)) ] } ],
	query => q{WITH staff AS MATERIALIZED (SELECT id, mgr, dept, name FROM emp WHERE dept <> 4)
		SELECT e.id, e.name, m.name AS boss FROM staff e JOIN staff m ON m.id = e.mgr},
	cols => 'id, name, boss',
};

push @shapes, {
	name => 'cte_chained_aggregated',
	ddl => q{
		CREATE TABLE t (id int PRIMARY KEY, g int, v int);
		CREATE TABLE w (g int PRIMARY KEY, weight int);
	},
	tables => [
		{ name => 't', pk => 'id', rows => 40,
		  cols => [ col('g', g_int(0, 5, 0.1), 'key'), col('v', g_int(0, 20, 0.1)) ] },
		{ name => 'w', pk => 'g', rows => 5,
		  cols => [ col('weight', g_int(1, 3, 0.1)) ] } ],
	# a later WITH query reads an earlier one
	query => q{WITH big AS (SELECT id, g, v FROM t WHERE v > 5),
			weighted AS (SELECT big.g, big.v * w.weight AS wv FROM big JOIN w ON w.g = big.g)
		SELECT g, count(*) AS n, sum(wv) AS s FROM weighted GROUP BY g},
	cols => 'g, n, s',
};

# --- subqueries in FROM -------------------------------------------------------------

push @shapes, {
	name => 'subquery_simple',
	ddl => q{
		CREATE TABLE a (id int PRIMARY KEY, k int, x int);
		CREATE TABLE b (id int PRIMARY KEY, k int, y int);
	},
	tables => [
		{ name => 'a', pk => 'id', rows => 30,
		  cols => [ col('k', g_int(1, 6, 0.1), 'key'), col('x', g_int(0, 9, 0.1)) ] },
		{ name => 'b', pk => 'id', rows => 20,
		  cols => [ col('k', g_int(1, 6, 0.1), 'key'), col('y', g_int(0, 9, 0.1)) ] } ],
	query => q{SELECT s.id, s.x2, b.y
		FROM (SELECT id, k, x * 2 AS x2 FROM a WHERE x IS NOT NULL) s JOIN b ON b.k = s.k
		WHERE s.x2 < 15},
	cols => 'id, x2, y',
};

push @shapes, {
	name => 'subquery_comma_join_under_join',
	ddl => q{
		CREATE TABLE a (id int PRIMARY KEY, k int, x int);
		CREATE TABLE b (k int PRIMARY KEY, y int);
		CREATE TABLE c (id int PRIMARY KEY, aid int, z text);
	},
	tables => [
		{ name => 'a', pk => 'id', rows => 25,
		  cols => [ col('k', g_int(1, 7, 0.1), 'key'), col('x', g_int(0, 9, 0.1)) ] },
		{ name => 'b', pk => 'k', rows => 5,
		  cols => [ col('y', g_int(0, 9, 0.2)) ] },
		{ name => 'c', pk => 'id', rows => 30,
		  cols => [ col('aid', g_int(1, 30, 0.1), 'key'), col('z', g_text(\@fruits, 0.1)) ] } ],
	# two FROM items and a WHERE inside, on one arm of an explicit JOIN
	query => q{SELECT c.id, c.z, s.x, s.y
		FROM c JOIN (SELECT a.id, a.x, b.y FROM a, b WHERE b.k = a.k AND b.y > 2) s ON s.id = c.aid},
	cols => 'id, z, x, y',
};

push @shapes, {
	name => 'subquery_lateral_no_from',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a int, b text)},
	tables => [ {
		name => 't', pk => 'id', rows => 30,
		cols => [ col('a', g_int(0, 9, 0.15)), col('b', g_text(\@fruits, 0.15)) ] } ],
	query => q{SELECT t.id, s.a2, s.tag
		FROM t, LATERAL (SELECT t.a * 2 AS a2, COALESCE(t.b, '?') || '!' AS tag) s
		WHERE s.a2 > 4},
	cols => 'id, a2, tag',
};

push @shapes, {
	name => 'subquery_lateral_values',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a int, b int)},
	tables => [ {
		name => 't', pk => 'id', rows => 30,
		cols => [ col('a', g_int(0, 5, 0.15)), col('b', g_int(0, 5, 0.15)) ] } ],
	# merged: the VALUES list reading the row becomes a LATERAL item of the
	# query itself
	query => q{SELECT t.id, s.x, s.y
		FROM t, LATERAL (SELECT v.x, v.x * t.a AS y FROM (VALUES (t.a), (t.b), (t.a)) v(x)
			WHERE v.x IS NOT NULL) s},
	cols => 'id, x, y',
};

push @shapes, {
	name => 'subquery_grouped_inside',
	ddl => q{
		CREATE TABLE t (id int PRIMARY KEY, g int, v int);
		CREATE TABLE d (g int PRIMARY KEY, label text);
	},
	tables => [
		{ name => 't', pk => 'id', rows => 40,
		  cols => [ col('g', g_int(0, 5, 0.1), 'key'), col('v', g_int(0, 20, 0.1)) ] },
		{ name => 'd', pk => 'g', rows => 5,
		  cols => [ col('label', g_text(\@statuses, 0.1)) ] } ],
	query => q{SELECT d.label, s.total FROM (SELECT g, sum(v) AS total FROM t GROUP BY g) s
		JOIN d ON d.g = s.g},
	cols => 'label, total',
};

push @shapes, {
	name => 'cte_recursive',
	ddl => q{CREATE TABLE edges (id int PRIMARY KEY, src int, dst int)},
	tables => [ {
		name => 'edges', pk => 'id', rows => 15,
		cols => [ col('src', g_int(1, 8), 'key'), col('dst', g_int(1, 8)) ] } ],
	query => q{WITH RECURSIVE reach(src, dst) AS (
			SELECT src, dst FROM edges
			UNION
			SELECT r.src, e.dst FROM reach r JOIN edges e ON e.src = r.dst)
		SELECT src, dst FROM reach},
	cols => 'src, dst',
	# differential for insertions, FULL after deletes and updates
	# (t/oracle/recursive.pl)
	full_fallback => 1,
};

# --- functions and VALUES ---------------------------------------------------------------

push @shapes, {
	name => 'srf_unnest_array',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, arr int[])},
	tables => [ {
		name => 't', pk => 'id', rows => 30,
		cols => [ col('g', g_int(0, 4, 0.1), 'key'), col('arr', $g_arr) ] } ],
	# duplicates and NULL elements; WITH ORDINALITY numbers them
	query => q{SELECT t.id, t.g, u.x, u.n FROM t, unnest(t.arr) WITH ORDINALITY u(x, n)},
	cols => 'id, g, x, n',
	truncate => 1,
};

push @shapes, {
	name => 'srf_unnest_grouped',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, arr int[], w int)},
	tables => [ {
		name => 't', pk => 'id', rows => 30,
		cols => [ col('arr', $g_arr), col('w', g_int(0, 9, 0.1)) ] } ],
	query => q{SELECT x, count(*) AS n, sum(t.w) AS s FROM t CROSS JOIN LATERAL unnest(t.arr) x GROUP BY x},
	cols => 'x, n, s',
};

push @shapes, {
	name => 'lateral_aggregate_over_array',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, arr int[])},
	tables => [ {
		name => 't', pk => 'id', rows => 30,
		cols => [ col('g', g_int(0, 4, 0.1), 'key'), col('arr', $g_arr) ] } ],
	# a subquery with an aggregate that reads no table, only the row's array:
	# kept as it is, evaluated per row of every term
	query => q{SELECT t.id, t.g, s.total, s.n
		FROM t, LATERAL (SELECT sum(x) AS total, count(*) AS n FROM unnest(t.arr) x) s},
	cols => 'id, g, total, n',
};

push @shapes, {
	name => 'srf_jsonb_elements',
	ddl => q{CREATE TABLE docs (id int PRIMARY KEY, kind text, body jsonb)},
	tables => [ {
		name => 'docs', pk => 'id', rows => 30,
		cols => [ col('kind', g_text(\@statuses, 0.1), 'key'), col('body', $g_jsonb) ] } ],
	query => q{SELECT d.id, d.kind, e.value AS item, jsonb_typeof(e.value) AS t
		FROM docs d CROSS JOIN LATERAL jsonb_array_elements(d.body) e
		WHERE d.kind IS DISTINCT FROM 'void'},
	cols => 'id, kind, item, t',
};

push @shapes, {
	name => 'srf_generate_series_column',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, n int, label text)},
	tables => [ {
		name => 't', pk => 'id', rows => 25,
		cols => [ col('n', g_int(-1, 4, 0.1), 'key'), col('label', g_text(\@fruits, 0.1)) ] } ],
	query => q{SELECT t.id, t.label, s.i FROM t, generate_series(1, t.n) AS s(i)},
	cols => 'id, label, i',
};

push @shapes, {
	name => 'values_join',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, status text, amount int)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('status', g_text(\@statuses, 0.1), 'key'), col('amount', g_int(0, 50, 0.1)) ] } ],
	query => q{SELECT t.id, t.amount * v.factor AS weighted, v.rank
		FROM t JOIN (VALUES ('open', 1, 'a'), ('paid', 2, 'b'), ('paid', 3, 'c'), (NULL, 4, 'd'))
			AS v(status, factor, rank) ON v.status = t.status},
	cols => 'id, weighted, rank',
};

push @shapes, {
	name => 'values_grouped_with_view',
	ddl => q{
		CREATE TABLE t (id int PRIMARY KEY, status text, amount int);
		CREATE VIEW tv AS SELECT id, status, amount FROM t WHERE amount IS NOT NULL;
	},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('status', g_text(\@statuses, 0.1), 'key'), col('amount', g_int(0, 50, 0.1)) ] } ],
	query => q{SELECT v.label, count(*) AS n, sum(tv.amount) AS s
		FROM tv, (VALUES ('open', 'todo'), ('held', 'todo'), ('paid', 'done')) v(status, label)
		WHERE v.status = tv.status GROUP BY v.label},
	cols => 'label, n, s',
};

1;
