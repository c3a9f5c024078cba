# Copyright (c) trickle contributors

# Subqueries and views in FROM that group, aggregate or are DISTINCT
# (src/ivm/derived.c): joined to tables on both sides of inner and outer
# joins, filtered on their aggregates, under an aggregate, two of them
# joined, one without GROUP BY (one row).  Changes move rows between groups,
# delete a group's last row and re-insert it, and write NULL keys (GROUP BY
# puts NULLs together; a join condition drops them).  Where t.g is indexed
# the affected keys are recomputed one by one, elsewhere in one pass.

use strict;
use warnings;

our (@shapes, @fruits, @regions, @statuses, @ckeys);

my $td_ddl = q{
	CREATE TABLE t (id int PRIMARY KEY, g int, v int, s text);
	CREATE INDEX ON t (g);
	CREATE TABLE d (id int PRIMARY KEY, g int, label text);
};
my @td_tables = (
	{ name => 't', pk => 'id', rows => 40,
	  cols => [ col('g', g_int(0, 6, 0.1), 'key'), col('v', g_int(0, 20, 0.1)),
				col('s', g_text(\@fruits, 0.1)) ] },
	{ name => 'd', pk => 'id', rows => 8,
	  cols => [ col('g', g_int(0, 7, 0.1), 'key'), col('label', g_text(\@statuses, 0.1)) ] });

push @shapes, {
	name => 'dv_agg_join',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT d.id, d.label, s.g, s.total, s.n
		FROM (SELECT g, sum(v) AS total, count(*) AS n FROM t GROUP BY g) s
		JOIN d ON d.g = s.g},
	cols => 'id, label, g, total, n',
	truncate => 1,
};

# the same through a view, the grouping column not in its output, t.g not
# indexed (one pass)
push @shapes, {
	name => 'dv_view_join',
	ddl => q{
		CREATE TABLE t (id int PRIMARY KEY, g int, v int, s text);
		CREATE TABLE d (id int PRIMARY KEY, g int, label text);
		CREATE VIEW totals AS
			SELECT g AS grp, max(s) AS top, sum(v) AS total, count(v) AS nv FROM t GROUP BY g;
		CREATE VIEW fruits AS SELECT s, min(v) AS lo FROM t GROUP BY s, g;
	},
	tables => [ @td_tables ],
	query => q{SELECT d.label, x.grp, x.top, x.total, x.nv, f.lo
		FROM d JOIN totals x ON x.grp = d.g JOIN fruits f ON f.s = x.top},
	cols => 'label, grp, top, total, nv, lo',
};

# a filter on an aggregate output, and HAVING inside
push @shapes, {
	name => 'dv_agg_filter_having',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT s.g, s.n, s.hi FROM
		(SELECT g, count(*) AS n, max(v) AS hi FROM t GROUP BY g HAVING count(v) > 2) s
		WHERE s.n > 5 OR s.hi IS NULL},
	cols => 'g, n, hi',
	truncate => 1,
};

# DISTINCT under an aggregate of the query
push @shapes, {
	name => 'dv_distinct_outer_agg',
	ddl => q{
		CREATE TABLE orders (id int PRIMARY KEY, cust int, region text, amount int);
	},
	tables => [ {
		name => 'orders', pk => 'id', rows => 60,
		cols => [ col('cust', g_int(1, 12, 0.05), 'key'), col('region', g_text(\@regions, 0.1), 'key'),
				  col('amount', g_int(0, 50, 0.1)) ] } ],
	query => q{SELECT c.region, count(*) AS n, count(c.cust) AS nc
		FROM (SELECT DISTINCT cust, region FROM orders) c GROUP BY c.region},
	cols => 'region, n, nc',
	truncate => 1,
};

# the preserved side a table, then the preserved side the subquery
push @shapes, {
	name => 'dv_left_join',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT d.id, d.label, s.total, s.ls
		FROM d LEFT JOIN (SELECT g, lower(s) AS ls, sum(v) AS total FROM t GROUP BY g, lower(s)) s
			ON s.g = d.g AND s.total > 10},
	cols => 'id, label, total, ls',
	truncate => 1,
};

push @shapes, {
	name => 'dv_preserved_left',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT s.g, s.n, d.label
		FROM (SELECT g, count(*) AS n FROM t WHERE v IS NOT NULL GROUP BY g) s
		LEFT JOIN d ON d.g = s.g},
	cols => 'g, n, label',
};

# two aggregate subqueries joined (the left one's old state is needed)
push @shapes, {
	name => 'dv_two_aggs',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT a.g, a.total, b.nd, b.lab
		FROM (SELECT g, sum(v) AS total FROM t GROUP BY g) a
		JOIN (SELECT g, count(*) AS nd, min(label) AS lab FROM d GROUP BY g) b ON b.g = a.g},
	cols => 'g, total, nd, lab',
	truncate => 1,
};

# an aggregate without GROUP BY: one row, computed after and before
push @shapes, {
	name => 'dv_one_row',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT d.id, d.g, s.n, s.total FROM d,
		(SELECT count(*) AS n, sum(v) AS total FROM t WHERE s <> 'fig') s
		WHERE d.g < s.n},
	cols => 'id, g, n, total',
};

# DISTINCT over a join inside, joined to a table
push @shapes, {
	name => 'dv_distinct_join_inside',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT x.label, x.s, d.id FROM
		(SELECT DISTINCT d.label, t.s FROM t JOIN d ON d.g = t.g) x
		JOIN d ON d.label = x.label},
	cols => 'label, s, id',
};

# a comma join equating one of two keys in WHERE (the subquery is computed
# for the keys of d's changes only), and an equality across types (int =
# bigint, not the key's own: the subquery is read whole)
push @shapes, {
	name => 'dv_comma_partial_key',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT d.id, x.s, x.n, y.total FROM d,
		(SELECT g, s, count(*) AS n FROM t GROUP BY g, s) x,
		(SELECT g::bigint AS g8, sum(v) AS total FROM t GROUP BY g::bigint) y
		WHERE x.g = d.g AND y.g8 = d.g AND x.n > 0},
	cols => 'id, s, n, total',
	truncate => 1,
};

# two aggregate subqueries on the sides of a full join
push @shapes, {
	name => 'dv_full_join',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT a.g AS ag, a.total, b.g AS bg, b.nd
		FROM (SELECT g, sum(v) AS total FROM t GROUP BY g) a
		FULL JOIN (SELECT g, count(*) AS nd FROM d GROUP BY g) b ON b.g = a.g},
	cols => 'ag, total, bg, nd',
};

# DISTINCT ON inside (the key: its expression), joined to a table
push @shapes, {
	name => 'dv_distinct_on',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT d.id, x.g, x.v, x.tid FROM
		(SELECT DISTINCT ON (g) g, v, id AS tid FROM t ORDER BY g, v DESC NULLS LAST, id) x
		JOIN d ON d.g = x.g},
	cols => 'id, g, v, tid',
	truncate => 1,
};

# a derived subquery under a query the keyed recompute maintains
push @shapes, {
	name => 'dv_under_recompute',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT d.label, string_agg(x.s, ',' ORDER BY x.s) AS ss, count(*) AS n
		FROM d JOIN (SELECT DISTINCT g, s FROM t WHERE s IS NOT NULL) x ON x.g = d.g
		GROUP BY d.label},
	cols => 'label, ss, n',
};

# refused: a window function inside, alone and with GROUP BY
push @shapes, {
	name => 'dv_window_refused',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT s.g, s.r FROM (SELECT g, rank() OVER (PARTITION BY g ORDER BY v) AS r FROM t) s},
	cols => 'g, r',
	not_differential => qr/subquery s with window functions/,
};

push @shapes, {
	name => 'dv_grouped_window_refused',
	ddl => $td_ddl,
	tables => [ @td_tables ],
	query => q{SELECT s.g, s.r FROM (SELECT g, rank() OVER (ORDER BY sum(v)) AS r FROM t GROUP BY g) s
		JOIN d ON d.g = s.g},
	cols => 'g, r',
	not_differential => qr/window functions in subquery s/,
};

1;
