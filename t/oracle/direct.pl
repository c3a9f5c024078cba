# Copyright (c) trickle contributors

# The direct apply (src/refresh/direct.c): one-table count/sum/avg stream
# tables refreshed by trickle's C code instead of the MERGE, with WHERE
# conditions and expressions over the table's columns.  The shapes
# check that explain_stream_table says so (apply => direct) and cover what
# the C code computes itself: NULL and mixed-scale numeric group keys (2,
# 2.0 and 2.00 are one group), NULL arguments, smallint, integer, bigint and
# numeric sums and averages, bool_and and bool_or, groups that empty and come back, a key not
# selected, a global aggregate over a table emptied by DELETE and by
# TRUNCATE, duplicate rows without a primary key, and enough groups that
# the stored rows are found both by index probes and by a sequential scan.

use strict;
use warnings;

our (@shapes, @fruits, @regions, @statuses, @ckeys);

my $direct = qr/^direct/;

push @shapes, {
	name => 'direct_types',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, "Group" text, k numeric,
		s smallint, i int, b bigint, n numeric)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('"Group"', g_text(\@fruits, 0.15), 'key'), col('k', g_int(0, 3, 0.1), 'key'),
				  col('s', g_int(-300, 300, 0.1)), col('i', g_int(-2000000000, 2000000000, 0.1)),
				  col('b', g_int(-9000000000000000000, 9000000000000000000, 0.1)),
				  col('n', g_num(-50, 50, 0.2)) ] } ],
	extra_ops => [ [ 3, sub { return ('UPDATE t SET k = k * 1.0 WHERE id % 2 = 0',
									  'UPDATE t SET k = round(k, 0) WHERE id % 3 = 0'); } ] ],
	query => q{SELECT "Group", k, count(*) AS c, count(n) AS cn, sum(s) AS ss,
			sum(i) AS si, sum(b) AS sb, sum(n) AS sn, avg(s) AS avs, avg(i) AS ai,
			avg(b) AS ab, avg(n) AS an
		FROM t GROUP BY "Group", k},
	cols => '"Group", k, c, cn, ss, si, sb, sn, avs, ai, ab, an',
	apply => $direct,
};

push @shapes, {
	name => 'direct_key_not_selected',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 9, 0.1), 'key'), col('v', g_int(0, 4, 0.2)) ] } ],
	query => 'SELECT count(v) AS c, avg(v) AS a FROM t GROUP BY g',
	cols => 'c, a',
	apply => $direct,
};

push @shapes, {
	name => 'direct_global',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, v int, n numeric)},
	tables => [ {
		name => 't', pk => 'id', rows => 6,
		cols => [ col('v', g_int(-10, 10, 0.2)), col('n', g_num(0, 10, 0.2)) ] } ],
	query => q{SELECT count(*) AS c, count(v) AS cv, sum(v) AS s, avg(v) AS a,
			sum(n) AS sn, avg(n) AS an
		FROM t},
	cols => 'c, cv, s, a, sn, an',
	truncate => 1,
	extra_ops => [ [ 12, sub { return ('DELETE FROM t'); } ] ],
	apply => $direct,
};

push @shapes, {
	name => 'direct_bag',
	ddl => q{CREATE TABLE bag (g text, v int)},
	tables => [ {
		name => 'bag', rows => 50,
		cols => [ col('g', g_text([ 'u', 'v', 'w', 'x' ], 0.1), 'key'), col('v', g_int(0, 5, 0.1)) ] } ],
	query => 'SELECT g, count(*) AS n, sum(v) AS s FROM bag GROUP BY g',
	cols => 'g, n, s',
	truncate => 1,
	apply => $direct,
};

# WHERE on the source row: rows move in and out of the filter
push @shapes, {
	name => 'direct_where',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g text, v int, n numeric)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_text(\@fruits, 0.1), 'key'), col('v', g_int(-10, 10, 0.15)),
				  col('n', g_num(0, 20, 0.15)) ] } ],
	query => q{SELECT g, count(*) AS c, sum(n) AS sn, avg(v) AS av FROM t
		WHERE v > 0 AND (n < 15 OR n IS NULL) GROUP BY g},
	cols => 'g, c, sn, av',
	apply => $direct,
};

# expressions as keys and arguments
push @shapes, {
	name => 'direct_exprs',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g text, d date, v int, n numeric)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_text(\@fruits, 0.1), 'key'), col('d', g_date(90, 0.1), 'key'),
				  col('v', g_int(-10, 10, 0.15)), col('n', g_num(0, 20, 0.15)) ] } ],
	query => q{SELECT upper(g) AS ug, date_trunc('month', d::timestamp) AS m, count(v * 2) AS c,
			sum(v * v) AS s, avg(n * 3 + 1) AS a, sum(coalesce(n, 0)::int) AS si
		FROM t GROUP BY upper(g), date_trunc('month', d::timestamp)},
	cols => 'ug, m, c, s, a, si',
	apply => $direct,
};

# bool_and and bool_or: NULLs, groups turning all true or all false
push @shapes, {
	name => 'direct_bool',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, f bool, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 5, 0.1), 'key'), col('f', g_bool(0.2)),
				  col('v', g_int(0, 9, 0.2)) ] } ],
	extra_ops => [ [ 3, sub { return ('UPDATE t SET f = NOT f WHERE g = ' . int(rand(6))); } ] ],
	query => q{SELECT g, bool_and(f) AS all_f, bool_or(f) AS any_f, count(f) AS cf,
			bool_or(v > 7) AS big, every(v <> 3) AS no3
		FROM t GROUP BY g},
	cols => 'g, all_f, any_f, cf, big, no3',
	apply => $direct,
};

# min and max while the changes only insert rows (every refresh direct)
push @shapes, {
	name => 'direct_extremes_inserts',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g text, i int, n numeric, s text, d date)},
	tables => [ {
		name => 't', pk => 'id', rows => 30,
		cols => [ col('g', g_text(\@regions, 0.1), 'key'), col('i', g_int(-50, 50, 0.1)),
				  col('n', g_num(-5, 5, 0.15)), col('s', g_text(\@fruits, 0.15)),
				  col('d', g_date(300, 0.1)) ] } ],
	inserts_only => 1,
	query => q{SELECT g, min(i) AS mi, max(i) AS xi, min(n) AS mn, max(s) AS xs, min(d) AS md,
			count(*) AS c, sum(i) AS si
		FROM t GROUP BY g},
	cols => 'g, mi, xi, mn, xs, md, c, si',
	apply => qr/^direct: .*min or max/,
};

# min and max with every kind of change: refreshes that remove rows go to
# the MERGE, the others are direct
push @shapes, {
	name => 'direct_extremes_mixed',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int, n numeric)},
	tables => [ {
		name => 't', pk => 'id', rows => 30,
		cols => [ col('g', g_int(0, 4, 0.1), 'key'), col('v', g_int(-20, 20, 0.1)),
				  col('n', g_num(0, 9, 0.2)) ] } ],
	query => 'SELECT g, min(v) AS mv, max(n) AS xn, count(*) AS c FROM t GROUP BY g',
	cols => 'g, mv, xn, c',
	truncate => 1,
	apply => $direct,
};

# NaN and infinities in numeric sums, added and removed again (a sum that
# met one is recomputed): by the direct apply and by the MERGE (a join)
my @nonfinite_ops = (
	[ 3, sub { return ("UPDATE t SET n = (CASE id % 3 WHEN 0 THEN 'NaN' WHEN 1 THEN 'Infinity'"
					   . " ELSE '-Infinity' END)::numeric WHERE id % 11 = " . int(rand(11))); } ],
	[ 3, sub { return ("UPDATE t SET n = id % 7 WHERE n IN ('NaN', 'Infinity', '-Infinity')"
					   . ' AND id % 2 = ' . int(rand(2))); } ]);
push @shapes, {
	name => 'direct_nonfinite',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, n numeric)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 4, 0.1), 'key'), col('n', g_num(-9, 9, 0.15)) ] } ],
	extra_ops => [ @nonfinite_ops ],
	query => 'SELECT g, sum(n) AS s, avg(n) AS a, count(n) AS c FROM t GROUP BY g',
	cols => 'g, s, a, c',
	apply => $direct,
};
push @shapes, {
	name => 'merge_nonfinite_join',
	ddl => q{CREATE TABLE d (g int PRIMARY KEY, label text);
		CREATE TABLE t (id int PRIMARY KEY, g int, n numeric)},
	tables => [
		{ name => 'd', pk => 'g', rows => 5, cols => [ col('label', g_text(\@regions, 0.1), 'key') ] },
		{ name => 't', pk => 'id', rows => 40,
		  cols => [ col('g', g_int(1, 6, 0.1), 'key'), col('n', g_num(-9, 9, 0.15)) ] } ],
	extra_ops => [ @nonfinite_ops ],
	query => q{SELECT d.label, sum(t.n) AS s, avg(t.n) AS a FROM t JOIN d ON d.g = t.g GROUP BY d.label},
	cols => 'label, s, a',
	apply => qr/^MERGE/,
};

# 300 groups over 600 rows: a batch touches from a few groups (index
# probes) to most of them (one sequential scan of the stream table)
push @shapes, {
	name => 'direct_many_groups',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v bigint)},
	tables => [ {
		name => 't', pk => 'id', rows => 600,
		cols => [ col('g', g_int(0, 299, 0.02), 'key'), col('v', g_int(-100, 100, 0.1)) ] } ],
	extra_ops => [ [ 4, sub { return ('UPDATE t SET v = v + 1 WHERE id % 2 = ' . int(rand(2))); } ] ],
	query => 'SELECT g, count(*) AS n, sum(v) AS s, avg(v) AS a FROM t GROUP BY g',
	cols => 'g, n, s, a',
	apply => $direct,
};

1;
