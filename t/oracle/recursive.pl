# Copyright (c) trickle contributors

# Oracle shapes: WITH RECURSIVE (src/ivm/recursive.c).  Maintained by
# semi-naive evaluation while the sources only gain rows; a refresh whose
# changes delete or update runs FULL (full_fallback).  The insert-only shapes
# check that every refresh is DIFFERENTIAL (or NO_DATA), the mixed one that
# the fallback keeps the stream table right.
use strict;
use warnings;

our (@shapes, @fruits);

# transitive closure of a graph with cycles (set semantics); NULL ends join
# nothing
my $closure = q{WITH RECURSIVE tc(a, b) AS (
	SELECT src, dst FROM edges
	UNION
	SELECT tc.a, e.dst FROM tc JOIN edges e ON e.src = tc.b)
SELECT a, b FROM tc};

push @shapes, {
	name => 'rec_closure_union',
	ddl => q{CREATE TABLE edges (src int, dst int)},
	tables => [ {
		name => 'edges', rows => 12,
		cols => [ col('src', g_int(1, 40, 0.05), 'key'), col('dst', g_int(1, 40, 0.05), 'key') ] } ],
	query => $closure,
	cols => 'a, b',
	inserts_only => 1,
};

# a hierarchy, UNION ALL over a tree (e.id > t.id keeps any graph finite);
# a NULL name makes the path NULL
push @shapes, {
	name => 'rec_hierarchy_all',
	ddl => q{CREATE TABLE emp (id int PRIMARY KEY, mgr int, name text)},
	tables => [ {
		name => 'emp', pk => 'id', rows => 25,
		cols => [ col('mgr', g_int(1, 40, 0.3), 'key'), col('name', g_text(\@fruits, 0.05)) ] } ],
	query => q{WITH RECURSIVE t(id, depth, path) AS (
		SELECT id, 1, name FROM emp WHERE mgr IS NULL
		UNION ALL
		SELECT e.id, t.depth + 1, t.path || '/' || e.name FROM emp e, t
		 WHERE e.mgr = t.id AND e.id > t.id)
	SELECT id, depth, path FROM t},
	cols => 'id, depth, path',
	inserts_only => 1,
};

# paths of a multigraph without a key (UNION ALL: duplicate edges are
# distinct derivations), renamed columns
push @shapes, {
	name => 'rec_paths_all',
	ddl => q{CREATE TABLE dag (src int, dst int)},
	tables => [ {
		name => 'dag', rows => 10,
		cols => [ col('src', g_int(1, 12, 0.05), 'key'), col('dst', g_int(1, 12, 0.05), 'key') ] } ],
	query => q{WITH RECURSIVE p(node, len) AS (
		SELECT dst, 1 FROM dag WHERE src <= 3
		UNION ALL
		SELECT d.dst, p.len + 1 FROM p JOIN dag d ON d.src = p.node
		 WHERE d.dst > p.node AND p.len < 3)
	SELECT node AS reached, len AS hops FROM p},
	cols => 'reached, hops',
	inserts_only => 1,
};

# the step joins two tables (set semantics), and so does the base
my $airline_ddl = q{CREATE TABLE flights (id int PRIMARY KEY, src int, dst int, airline int);
	CREATE TABLE airlines (id int PRIMARY KEY, active bool)};
my @airline_tables = (
	{ name => 'flights', pk => 'id', rows => 15,
	  cols => [ col('src', g_int(1, 30, 0.05), 'key'), col('dst', g_int(1, 30, 0.05), 'key'),
				col('airline', g_int(1, 40, 0.1), 'key') ] },
	{ name => 'airlines', pk => 'id', rows => 5, cols => [ col('active', g_bool(0.1)) ] });

push @shapes, {
	name => 'rec_two_tables_union',
	ddl => $airline_ddl,
	tables => [ map { { %$_ } } @airline_tables ],
	query => q{WITH RECURSIVE reach(a, b) AS (
		SELECT f.src, f.dst FROM flights f JOIN airlines al ON al.id = f.airline WHERE al.active
		UNION
		SELECT r.a, f.dst FROM reach r
		  JOIN flights f ON f.src = r.b
		  JOIN airlines al ON al.id = f.airline AND al.active)
	SELECT a, b FROM reach},
	cols => 'a, b',
	inserts_only => 1,
};

# the same with bags: the step's delta reads each table's old state while
# the other one changed too (new rows less inserted rows)
push @shapes, {
	name => 'rec_two_tables_all',
	ddl => $airline_ddl,
	tables => [ map { { %$_ } } @airline_tables ],
	query => q{WITH RECURSIVE reach(a, b, hops) AS (
		SELECT f.src, f.dst, 1 FROM flights f WHERE f.src <= 8
		UNION ALL
		SELECT r.a, f.dst, r.hops + 1 FROM reach r, flights f, airlines al
		 WHERE f.src = r.b AND al.id = f.airline AND al.active AND r.hops < 3)
	SELECT a, b, hops FROM reach},
	cols => 'a, b, hops',
	inserts_only => 1,
};

# every kind of change: deletes and updates make the refresh FULL, which
# must stay right, and insert-only batches in between are differential again
push @shapes, {
	name => 'rec_closure_mixed',
	ddl => q{CREATE TABLE edges (id int PRIMARY KEY, src int, dst int)},
	tables => [ {
		name => 'edges', pk => 'id', rows => 12,
		cols => [ col('src', g_int(1, 14, 0.05), 'key'), col('dst', g_int(1, 14, 0.05), 'key') ] } ],
	query => q{WITH RECURSIVE tc(a, b) AS (
		SELECT src, dst FROM edges
		UNION
		SELECT tc.a, e.dst FROM tc JOIN edges e ON e.src = tc.b)
	SELECT a, b FROM tc},
	cols => 'a, b',
	truncate => 1,
	full_fallback => 1,
};

# a query that does more than select the WITH query's columns
push @shapes, {
	name => 'rec_refused_top',
	ddl => q{CREATE TABLE edges (src int, dst int)},
	tables => [ {
		name => 'edges', rows => 12,
		cols => [ col('src', g_int(1, 14, 0.05), 'key'), col('dst', g_int(1, 14, 0.05), 'key') ] } ],
	query => q{WITH RECURSIVE tc(a, b) AS (
		SELECT src, dst FROM edges
		UNION
		SELECT tc.a, e.dst FROM tc JOIN edges e ON e.src = tc.b)
	SELECT a, count(*) AS n FROM tc GROUP BY a},
	cols => 'a, n',
	not_differential => qr/a query over a recursive WITH query that does more than select its columns/,
};

1;
