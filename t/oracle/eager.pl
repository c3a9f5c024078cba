# Copyright (c) trickle contributors

# Eager aggregation (src/ivm/delta.c): the changes of a scan joined to the
# rest of the query are grouped by the columns the rest reads before the
# join, and count, sum and avg over that scan alone travel as weighted
# partials.  The shapes mix partial arguments with arguments over other
# tables or over both, NULLs in summed and counted columns, bigint and
# numeric sums (numeric partials), updates that change only summed values
# (groups of net weight 0 whose sums still move), key changes, inner,
# left and right joins, a join of three, a self-join, WHERE conditions on
# both sides and a global aggregate.

use strict;
use warnings;

our (@shapes, @fruits, @regions, @statuses, @ckeys);

my $df_ddl = q{
	CREATE TABLE dim (g int PRIMARY KEY, label text, w int);
	CREATE TABLE fact (id int PRIMARY KEY, g int, v int, b bigint, n numeric);
};
my @df_tables = (
	{ name => 'dim', pk => 'g', rows => 8,
	  cols => [ col('label', g_text(\@regions, 0.1), 'key'), col('w', g_int(0, 5, 0.2)) ] },
	{ name => 'fact', pk => 'id', rows => 40,
	  cols => [ col('g', g_int(1, 10, 0.1), 'key'), col('v', g_int(-20, 50, 0.15)),
				col('b', g_int(-3000000000, 3000000000, 0.1)), col('n', g_num(-5, 5, 0.15)) ] });
# updates of summed values only: whole groups of net weight 0
my @value_ops = (
	[ 6, sub { return ('UPDATE fact SET v = v + 1, n = n * 2 WHERE id % 3 = ' . int(rand(3))); } ],
	[ 2, sub { return ('UPDATE fact SET g = g % 10 + 1 WHERE id % 5 = ' . int(rand(5))); } ]);

push @shapes, {
	name => 'eager_inner_region',
	ddl => $df_ddl,
	tables => [ @df_tables ],
	query => q{SELECT d.label, count(*) AS c, count(f.v) AS cv, sum(f.v) AS sv, avg(f.v) AS av,
			sum(f.b) AS sb, avg(f.n) AS an, sum(f.n) AS sn
		FROM fact f JOIN dim d ON d.g = f.g GROUP BY d.label},
	cols => 'label, c, cv, sv, av, sb, an, sn',
	truncate => 1,
	extra_ops => [ @value_ops ],
};

push @shapes, {
	name => 'eager_left_padded',
	ddl => $df_ddl,
	tables => [ @df_tables ],
	query => q{SELECT d.g, count(*) AS c, count(f.id) AS cf, sum(f.v) AS sv, avg(f.b) AS ab
		FROM dim d LEFT JOIN fact f ON f.g = d.g GROUP BY d.g},
	cols => 'g, c, cf, sv, ab',
	truncate => 1,
	extra_ops => [ @value_ops,
		[ 3, sub { return ('DELETE FROM fact WHERE g = (SELECT min(g) FROM fact)'); } ] ],
};

push @shapes, {
	name => 'eager_right_mixed_args',
	ddl => $df_ddl,
	tables => [ @df_tables ],
	# sum(f.v * d.w) reads both sides (v stays a grouping column of the
	# changes), sum(d.w) the preserved side only, count(f.n) fact alone
	query => q{SELECT d.label, sum(f.v * d.w) AS svw, sum(d.w) AS sw, count(f.n) AS cn, sum(f.v) AS sv
		FROM fact f RIGHT JOIN dim d ON f.g = d.g AND f.v > 0 GROUP BY d.label},
	cols => 'label, svw, sw, cn, sv',
	extra_ops => [ @value_ops ],
};

push @shapes, {
	name => 'eager_three_where',
	ddl => q{
		CREATE TABLE dim (g int PRIMARY KEY, label text, w int);
		CREATE TABLE fact (id int PRIMARY KEY, g int, h int, v int, b bigint, n numeric);
		CREATE TABLE cat (h int PRIMARY KEY, kind text);
	},
	tables => [
		{ name => 'dim', pk => 'g', rows => 8,
		  cols => [ col('label', g_text(\@regions, 0.1), 'key'), col('w', g_int(0, 5, 0.2)) ] },
		{ name => 'fact', pk => 'id', rows => 40,
		  cols => [ col('g', g_int(1, 10, 0.1), 'key'), col('h', g_int(1, 4, 0.1), 'key'),
					col('v', g_int(-20, 50, 0.15)), col('b', g_int(-9, 9, 0.1)),
					col('n', g_num(-5, 5, 0.15)) ] },
		{ name => 'cat', pk => 'h', rows => 4, cols => [ col('kind', g_text(\@statuses, 0.1), 'key') ] } ],
	query => q{SELECT c.kind, d.label, count(*) AS cnt, sum(f.v) AS sv, avg(f.n) AS an, count(d.w) AS cw
		FROM fact f JOIN dim d ON d.g = f.g JOIN cat c ON c.h = f.h
		WHERE f.b > -5 AND d.w IS DISTINCT FROM 3 GROUP BY c.kind, d.label},
	cols => 'kind, label, cnt, sv, an, cw',
	truncate => 1,
	extra_ops => [ @value_ops ],
};

push @shapes, {
	name => 'eager_self_join_global',
	ddl => $df_ddl,
	tables => [ @df_tables ],
	# fact twice: each side's changes are grouped in its own term, the
	# other side's arguments come per joined row
	query => q{SELECT count(*) AS c, sum(a.v) AS sa, sum(b.n) AS sbn, avg(a.b) AS ab
		FROM fact a JOIN fact b ON b.g = a.g AND b.id < a.id},
	cols => 'c, sa, sbn, ab',
	extra_ops => [ @value_ops ],
};

push @shapes, {
	name => 'eager_group_on_fact_key',
	ddl => $df_ddl,
	tables => [ @df_tables ],
	# the grouping key is a column of the grouped changes themselves
	query => q{SELECT f.g, d.label, count(*) AS c, sum(f.v) AS sv, sum(f.n) AS sn
		FROM fact f JOIN dim d ON d.g = f.g GROUP BY f.g, d.label},
	cols => 'g, label, c, sv, sn',
	extra_ops => [ @value_ops ],
};

1;
