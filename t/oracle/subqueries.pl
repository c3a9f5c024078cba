# Copyright (c) trickle contributors

# Subqueries: EXISTS, NOT EXISTS, IN and NOT IN (NULLs on both sides),
# ANY/ALL, combined with AND and OR, in WHERE and in the select list;
# scalar subqueries with aggregates in the select list and in WHERE; LATERAL
# subqueries reading a table.

use strict;
use warnings;

our (@shapes, @fruits, @regions, @statuses, @ckeys);

my $tu_ddl = q{
	CREATE TABLE t (id int PRIMARY KEY, k int, a int, s text);
	CREATE TABLE u (id int PRIMARY KEY, k int, b int, flag bool);
};
my @tu_tables = (
	{ name => 't', pk => 'id', rows => 25,
	  cols => [ col('k', g_int(1, 8, 0.1), 'key'), col('a', g_int(0, 9, 0.15), 'key'),
				col('s', g_text(\@fruits, 0.1)) ] },
	{ name => 'u', pk => 'id', rows => 15,
	  cols => [ col('k', g_int(3, 10, 0.1), 'key'), col('b', g_int(0, 9, 0.15), 'key'),
				col('flag', g_bool(0.1)) ] });

push @shapes, {
	name => 'sq_exists',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, t.k, t.s FROM t
		WHERE EXISTS (SELECT FROM u WHERE u.k = t.k AND u.flag)},
	cols => 'id, k, s',
	truncate => 1,
};

push @shapes, {
	name => 'sq_not_exists',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, t.k, t.a FROM t
		WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.k = t.k AND u.b > t.a)},
	cols => 'id, k, a',
	truncate => 1,
};

push @shapes, {
	name => 'sq_in',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, t.a FROM t WHERE t.a IN (SELECT u.b FROM u WHERE u.flag IS NOT FALSE)},
	cols => 'id, a',
};

push @shapes, {
	name => 'sq_not_in_nulls',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	# a NULL in u.b empties the result; a NULL t.a is kept only while the
	# set is empty
	query => q{SELECT t.id, t.a FROM t WHERE t.a NOT IN (SELECT u.b FROM u WHERE u.k > 6)},
	cols => 'id, a',
	extra_ops => [
		[ 6, sub { return ('DELETE FROM u WHERE b IS NULL'); } ],
		[ 3, sub { return ('DELETE FROM u WHERE k > 6'); } ],
	],
};

push @shapes, {
	name => 'sq_not_in_correlated',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, t.k, t.a FROM t WHERE t.a NOT IN (SELECT u.b FROM u WHERE u.k = t.k)},
	cols => 'id, k, a',
};

push @shapes, {
	name => 'sq_and_or',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, t.k, t.a FROM t
		WHERE (EXISTS (SELECT FROM u WHERE u.k = t.k) OR t.a > 6)
		  AND (t.s IS NULL OR t.k NOT IN (SELECT u.b FROM u WHERE u.flag))},
	cols => 'id, k, a',
};

push @shapes, {
	name => 'sq_in_select_list',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	# the three-valued results themselves are the output
	query => q{SELECT t.id, t.a IN (SELECT u.b FROM u) AS hit,
			t.a NOT IN (SELECT u.b FROM u WHERE u.k = t.k) AS miss,
			EXISTS (SELECT FROM u WHERE u.b = t.a) AS ex
		FROM t},
	cols => 'id, hit, miss, ex',
};

push @shapes, {
	name => 'sq_any_all',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, t.a FROM t
		WHERE t.a > ALL (SELECT u.b FROM u WHERE u.k = t.k)
		   OR t.a < ANY (SELECT u.b - 5 FROM u WHERE u.flag)},
	cols => 'id, a',
};

push @shapes, {
	name => 'sq_scalar_select',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, t.k,
			(SELECT count(*) FROM u WHERE u.k = t.k) AS n,
			(SELECT max(u.b) FROM u WHERE u.k = t.k AND u.flag) AS mx,
			(SELECT sum(u.b) FROM u WHERE u.k = t.k) AS sb
		FROM t},
	cols => 'id, k, n, mx, sb',
	truncate => 1,
};

push @shapes, {
	name => 'sq_scalar_where',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, t.a FROM t
		WHERE t.a >= (SELECT avg(u.b) FROM u WHERE u.k = t.k)
		   OR (SELECT count(*) FROM u WHERE u.b = t.a) > 1},
	cols => 'id, a',
};

push @shapes, {
	name => 'sq_exists_agg',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.k, count(*) AS n, sum(t.a) AS sa FROM t
		WHERE EXISTS (SELECT FROM u WHERE u.k = t.k) AND t.id NOT IN (SELECT u.id FROM u)
		GROUP BY t.k},
	cols => 'k, n, sa',
};

push @shapes, {
	name => 'sq_in_join',
	ddl => $tu_ddl . q{CREATE TABLE v (id int PRIMARY KEY, k int, c int);},
	tables => [ @tu_tables,
		{ name => 'v', pk => 'id', rows => 12,
		  cols => [ col('k', g_int(1, 8, 0.1), 'key'), col('c', g_int(0, 9, 0.1)) ] } ],
	# a join outside and inside the subquery
	query => q{SELECT t.id, v.id AS vid, v.c FROM t JOIN v ON v.k = t.k
		WHERE t.a IN (SELECT u.b FROM u JOIN v w ON w.k = u.k WHERE w.c > 2)},
	cols => 'id, vid, c',
};

push @shapes, {
	name => 'sq_lateral_topk',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	# the top 2 b of each k; ties broken by id
	query => q{SELECT t.id, x.uid, x.b FROM t,
		LATERAL (SELECT u.id AS uid, u.b FROM u WHERE u.k = t.k ORDER BY u.b DESC NULLS LAST, u.id LIMIT 2) x},
	cols => 'id, uid, b',
	truncate => 1,
};

push @shapes, {
	name => 'sq_lateral_left_agg',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, x.n, x.mb FROM t
		LEFT JOIN LATERAL (SELECT count(*) AS n, max(u.b) AS mb FROM u WHERE u.k = t.k AND u.b < t.a
			GROUP BY u.flag HAVING count(*) > 0) x ON x.n < 3},
	cols => 'id, n, mb',
};

push @shapes, {
	name => 'sq_self_scalar',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	# the subquery reads the query's own table: both change together
	query => q{SELECT t.id, t.k, t.a FROM t
		WHERE t.a > (SELECT avg(t2.a) FROM t t2 WHERE t2.k = t.k)
		   OR NOT EXISTS (SELECT FROM t t3 WHERE t3.k = t.k AND t3.id <> t.id)},
	cols => 'id, k, a',
	truncate => 1,
};

push @shapes, {
	name => 'sq_exists_limit_distinct',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	query => q{SELECT t.id, t.a FROM t
		WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k LIMIT 1)
		  AND t.a IN (SELECT DISTINCT u.b FROM u)},
	cols => 'id, a',
};

push @shapes, {
	name => 'sq_lateral_then_join',
	ddl => $tu_ddl . q{CREATE TABLE v (id int PRIMARY KEY, k int, c int);},
	tables => [ @tu_tables,
		{ name => 'v', pk => 'id', rows => 12,
		  cols => [ col('k', g_int(1, 8, 0.1), 'key'), col('c', g_int(0, 9, 0.1)) ] } ],
	# the old state of a LATERAL join, read when the table joined to it changes
	query => q{SELECT t.id, x.mb, v.id AS vid FROM t
		CROSS JOIN LATERAL (SELECT max(u.b) AS mb FROM u WHERE u.k = t.k) x
		JOIN v ON v.c = coalesce(x.mb, t.a)},
	cols => 'id, mb, vid',
};

push @shapes, {
	name => 'sq_agg_of_scalar',
	ddl => $tu_ddl,
	tables => [ @tu_tables ],
	# a subquery inside an aggregate's argument and a grouping key
	query => q{SELECT (SELECT count(*) FROM u WHERE u.k = t.k) AS nu, count(*) AS n,
			sum(t.a * (SELECT count(*) FROM u WHERE u.b = t.a)) AS s
		FROM t GROUP BY 1},
	cols => 'nu, n, s',
};

1;
