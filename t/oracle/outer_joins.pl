# Copyright (c) trickle contributors

# Outer joins: LEFT, RIGHT and FULL, with equality, compound and non-equi
# conditions, NULL join keys, nested and chained with inner joins, under
# aggregates, and a table joined with itself.  Key domains are small and
# overlap only partly, so rows keep moving between matched and NULL-padded.

use strict;
use warnings;

our (@shapes, @fruits, @regions, @statuses, @ckeys);

my $lr_ddl = q{
	CREATE TABLE l (id int PRIMARY KEY, k int, x int, s text);
	CREATE TABLE r (id int PRIMARY KEY, k int, y int, t text);
};
my @lr_tables = (
	{ name => 'l', pk => 'id', rows => 20,
	  cols => [ col('k', g_int(1, 7, 0.15), 'key'), col('x', g_int(0, 9, 0.1)),
				col('s', g_text(\@fruits, 0.1)) ] },
	{ name => 'r', pk => 'id', rows => 20,
	  cols => [ col('k', g_int(3, 10, 0.15), 'key'), col('y', g_int(0, 9, 0.1)),
				col('t', g_text(\@statuses, 0.1)) ] });

push @shapes, {
	name => 'oj_left_equi',
	ddl => $lr_ddl,
	tables => [ @lr_tables ],
	query => q{SELECT l.id AS lid, l.k, l.s, r.id AS rid, r.y, r.t
		FROM l LEFT JOIN r ON r.k = l.k},
	cols => 'lid, k, s, rid, y, t',
	truncate => 1,
};

push @shapes, {
	name => 'oj_left_compound',
	ddl => $lr_ddl,
	tables => [ @lr_tables ],
	# a condition on the preserved side alone pads rows without looking at r
	query => q{SELECT l.id AS lid, l.x, r.id AS rid, r.y
		FROM l LEFT JOIN r ON r.k = l.k AND r.y > l.x AND l.s IS DISTINCT FROM 'kiwi'},
	cols => 'lid, x, rid, y',
};

push @shapes, {
	name => 'oj_left_nonequi',
	ddl => $lr_ddl,
	tables => [ @lr_tables ],
	query => q{SELECT l.id AS lid, l.x, r.id AS rid, r.y
		FROM l LEFT JOIN r ON r.y BETWEEN l.x - 1 AND l.x + 1 AND r.k < 6},
	cols => 'lid, x, rid, y',
};

push @shapes, {
	name => 'oj_right',
	ddl => $lr_ddl,
	tables => [ @lr_tables ],
	query => q{SELECT l.id AS lid, l.x, r.id AS rid, r.k, r.t
		FROM l RIGHT JOIN r ON l.k = r.k AND l.x <> r.y},
	cols => 'lid, x, rid, k, t',
	truncate => 1,
};

push @shapes, {
	name => 'oj_full',
	ddl => $lr_ddl,
	tables => [ @lr_tables ],
	query => q{SELECT l.id AS lid, l.k AS lk, l.x, r.id AS rid, r.k AS rk, r.y
		FROM l FULL JOIN r ON l.k = r.k},
	cols => 'lid, lk, x, rid, rk, y',
	truncate => 1,
};

push @shapes, {
	name => 'oj_full_nonequi_using',
	ddl => q{
		CREATE TABLE a (id int PRIMARY KEY, k int, v int);
		CREATE TABLE b (id int PRIMARY KEY, k int, w int);
	},
	tables => [
		{ name => 'a', pk => 'id', rows => 15,
		  cols => [ col('k', g_int(1, 6, 0.2), 'key'), col('v', g_int(0, 5, 0.1)) ] },
		{ name => 'b', pk => 'id', rows => 15,
		  cols => [ col('k', g_int(4, 9, 0.2), 'key'), col('w', g_int(0, 5, 0.1)) ] } ],
	# USING's merged column is COALESCE(a.k, b.k)
	query => q{SELECT k, a.id AS aid, a.v, b.id AS bid, b.w
		FROM a FULL JOIN b USING (k) WHERE coalesce(a.v, 0) <= coalesce(b.w, 5)},
	cols => 'k, aid, v, bid, w',
};

my $abc_ddl = q{
	CREATE TABLE a (id int PRIMARY KEY, k int, v int);
	CREATE TABLE b (id int PRIMARY KEY, k int, j int);
	CREATE TABLE c (id int PRIMARY KEY, j int, w text);
};
my @abc_tables = (
	{ name => 'a', pk => 'id', rows => 12,
	  cols => [ col('k', g_int(1, 6, 0.1), 'key'), col('v', g_int(0, 20, 0.1)) ] },
	{ name => 'b', pk => 'id', rows => 15,
	  cols => [ col('k', g_int(2, 8, 0.1), 'key'), col('j', g_int(1, 5, 0.2), 'key') ] },
	{ name => 'c', pk => 'id', rows => 12,
	  cols => [ col('j', g_int(2, 7, 0.1), 'key'), col('w', g_text(\@regions, 0.1)) ] });

push @shapes, {
	name => 'oj_nested',
	ddl => $abc_ddl,
	tables => [ @abc_tables ],
	# an outer join inside the nullable side of another
	query => q{SELECT a.id AS aid, a.v, b.id AS bid, c.id AS cid, c.w
		FROM a LEFT JOIN (b LEFT JOIN c ON c.j = b.j) ON b.k = a.k},
	cols => 'aid, v, bid, cid, w',
	truncate => 1,
};

push @shapes, {
	name => 'oj_chain_inner_outer',
	ddl => $abc_ddl,
	tables => [ @abc_tables ],
	query => q{SELECT a.id AS aid, b.id AS bid, c.id AS cid, c.w
		FROM a JOIN b ON b.k = a.k LEFT JOIN c ON c.j = b.j AND c.w <> 'east'},
	cols => 'aid, bid, cid, w',
};

push @shapes, {
	name => 'oj_chain_outer_inner',
	ddl => $abc_ddl,
	tables => [ @abc_tables ],
	# an inner join above an outer one drops padded rows whose j is NULL
	query => q{SELECT a.id AS aid, b.id AS bid, c.id AS cid, a.v
		FROM a LEFT JOIN b ON b.k = a.k JOIN c ON c.j = coalesce(b.j, 2)},
	cols => 'aid, bid, cid, v',
};

push @shapes, {
	name => 'oj_chain_left_left_right',
	ddl => $abc_ddl,
	tables => [ @abc_tables ],
	query => q{SELECT a.id AS aid, b.id AS bid, c.id AS cid
		FROM a LEFT JOIN b ON b.k = a.k RIGHT JOIN c ON c.j = b.j},
	cols => 'aid, bid, cid',
};

push @shapes, {
	name => 'oj_full_in_left',
	ddl => $abc_ddl,
	tables => [ @abc_tables ],
	query => q{SELECT a.id AS aid, b.id AS bid, c.id AS cid
		FROM a LEFT JOIN (b FULL JOIN c ON c.j = b.j) ON a.k = coalesce(b.k, c.j)},
	cols => 'aid, bid, cid',
};

push @shapes, {
	name => 'oj_left_agg',
	ddl => q{
		CREATE TABLE dim (g int PRIMARY KEY, label text);
		CREATE TABLE fact (id int PRIMARY KEY, g int, v int);
	},
	tables => [
		{ name => 'dim', pk => 'g', rows => 8, cols => [ col('label', g_text(\@regions, 0.1)) ] },
		{ name => 'fact', pk => 'id', rows => 30,
		  cols => [ col('g', g_int(1, 10, 0.1), 'key'), col('v', g_int(0, 50, 0.15)) ] } ],
	# count(f.id) does not count a padded row, count(*) does
	query => q{SELECT d.g, d.label, count(*) AS n, count(f.id) AS nf, sum(f.v) AS s, max(f.v) AS mx
		FROM dim d LEFT JOIN fact f ON f.g = d.g GROUP BY d.g, d.label},
	cols => 'g, label, n, nf, s, mx',
	truncate => 1,
	extra_ops => [ [ 6, sub { return ('DELETE FROM fact WHERE g = (SELECT min(g) FROM fact)'); } ] ],
};

push @shapes, {
	name => 'oj_full_agg',
	ddl => $lr_ddl,
	tables => [ @lr_tables ],
	query => q{SELECT coalesce(l.k, r.k) AS k, count(*) AS n, count(l.id) AS nl, count(r.id) AS nr,
			sum(r.y) AS sy
		FROM l FULL JOIN r ON l.k = r.k GROUP BY coalesce(l.k, r.k)},
	cols => 'k, n, nl, nr, sy',
};

push @shapes, {
	name => 'oj_self',
	ddl => q{CREATE TABLE emp (id int PRIMARY KEY, mgr int, name text, dept int)},
	tables => [ {
		name => 'emp', pk => 'id', rows => 20,
		cols => [ col('mgr', g_int(1, 26, 0.2), 'key'), col('name', g_text(\@fruits)),
				  col('dept', g_int(1, 3, 0.1)) ] } ],
	query => q{SELECT e.id, e.name, m.id AS mgr_id, m.name AS mgr_name
		FROM emp e LEFT JOIN emp m ON m.id = e.mgr AND m.dept = e.dept},
	cols => 'id, name, mgr_id, mgr_name',
	truncate => 1,
};

push @shapes, {
	name => 'oj_anti_where_null',
	ddl => $lr_ddl,
	tables => [ @lr_tables ],
	# the anti-join written as an outer join
	query => q{SELECT l.id, l.k, l.x FROM l LEFT JOIN r ON r.k = l.k WHERE r.id IS NULL},
	cols => 'id, k, x',
};

push @shapes, {
	name => 'oj_bag_no_key',
	ddl => q{
		CREATE TABLE l (k int, x int);
		CREATE TABLE r (k int, y int);
	},
	tables => [
		{ name => 'l', rows => 15, cols => [ col('k', g_int(1, 4, 0.2), 'key'), col('x', g_int(1, 2)) ] },
		{ name => 'r', rows => 15, cols => [ col('k', g_int(2, 5, 0.2), 'key'), col('y', g_int(1, 2)) ] } ],
	# duplicate rows on both sides
	query => q{SELECT l.k, l.x, r.y FROM l LEFT JOIN r ON r.k = l.k},
	cols => 'k, x, y',
	truncate => 1,
};

push @shapes, {
	name => 'oj_inner_in_left',
	ddl => $abc_ddl,
	tables => [ @abc_tables ],
	# an inner join as the nullable side: a row is padded when it has no
	# partner pair
	query => q{SELECT a.id AS aid, a.k, b.id AS bid, c.id AS cid
		FROM a LEFT JOIN (b JOIN c ON c.j = b.j) ON b.k = a.k AND c.w IS DISTINCT FROM 'west'},
	cols => 'aid, k, bid, cid',
};

push @shapes, {
	name => 'oj_full_then_inner',
	ddl => $abc_ddl,
	tables => [ @abc_tables ],
	# the old state of a full join, read when the table joined to it changes
	query => q{SELECT a.id AS aid, b.id AS bid, c.id AS cid
		FROM a FULL JOIN b ON b.k = a.k JOIN c ON c.j = coalesce(b.j, a.k)},
	cols => 'aid, bid, cid',
	truncate => 1,
};

push @shapes, {
	name => 'oj_left_exists',
	ddl => $abc_ddl,
	tables => [ @abc_tables ],
	# a subquery over an outer join: its candidates are the join's old rows
	query => q{SELECT a.id AS aid, b.id AS bid FROM a LEFT JOIN b ON b.k = a.k
		WHERE EXISTS (SELECT FROM c WHERE c.j = coalesce(b.j, a.k))},
	cols => 'aid, bid',
};

push @shapes, {
	name => 'oj_left_agg_padded_sum',
	ddl => $lr_ddl,
	tables => [ @lr_tables ],
	# padded rows carry the preserved side's values into the sums; l.id is
	# not read, so equal (k, x) rows are one candidate of weight 2 or more
	query => q{SELECT r.t, count(*) AS n, count(r.id) AS nr, sum(l.x) AS sx, min(l.x) AS mn
		FROM l LEFT JOIN r ON r.k = l.k AND r.y >= 3 GROUP BY r.t},
	cols => 't, n, nr, sx, mn',
	truncate => 1,
};

{
	# Five joins in a chain, and two outer joins joined by a full one: the
	# old state of an outer join subtree, and the changes of subtrees read
	# by their parents' rules.
	my $ddl = join('', map { "CREATE TABLE $_ (id int PRIMARY KEY, k int, v int);\n" } qw(a b c d e f));
	my @tables = map {
		{ name => $_, pk => 'id', rows => 8,
		  cols => [ col('k', g_int(1, 4, 0.15), 'key'), col('v', g_int(0, 3, 0.1)) ] }
	} qw(a b c d e f);
	push @shapes, {
		name => 'oj_long_chain',
		ddl => $ddl,
		tables => [ @tables ],
		query => q{SELECT a.id AS aid, b.id AS bid, c.id AS cid, d.id AS did, e.id AS eid, f.id AS fid
			FROM a LEFT JOIN b ON b.k = a.k LEFT JOIN c ON c.k = b.k AND c.v <> a.v
			JOIN d ON d.k = a.k FULL JOIN e ON e.k = coalesce(c.k, d.v)
			LEFT JOIN f ON f.k = coalesce(e.k, a.k)},
		cols => 'aid, bid, cid, did, eid, fid',
	};
	push @shapes, {
		name => 'oj_bushy',
		ddl => $ddl,
		tables => [ @tables ],
		query => q{SELECT a.id AS aid, b.id AS bid, c.id AS cid, d.id AS did
			FROM (a LEFT JOIN b ON b.k = a.k) FULL JOIN (c RIGHT JOIN d ON d.k = c.k)
			  ON coalesce(b.v, a.v) = coalesce(c.v, d.v)},
		cols => 'aid, bid, cid, did',
		truncate => 1,
	};
}

1;
