
# Copyright (c) trickle contributors

# The oracle: stream tables must always equal their query run fresh.
#
# For each of a corpus of query shapes (scans, filters, projections, bags
# without a key, joins, aggregates, quoted names, collations), this test
# creates source tables in a schema of their own, fills them with seeded
# random data, creates a stream table, and then runs cycles of
#
#   1. a random batch of changes to the sources (INSERT, UPDATE, DELETE,
#      upserts; in autocommit, in one transaction, with a SAVEPOINT rolled
#      back or released, or rolled back entirely; now and then a TRUNCATE
#      followed by INSERTs in the same transaction),
#   2. trickle.refresh_stream_table(),
#   3. the oracle check: the stream table, on its user columns, equals the
#      query run fresh (EXCEPT ALL both ways, so duplicates count), the
#      action is one the mode allows, and rows_inserted - rows_deleted is
#      the change in the stream table's row count.
#
# Named scenarios follow, for cases that broke other incremental view
# maintenance systems (see the subtests at the end).
#
# Environment:
#   TRICKLE_ORACLE_MODE    refresh_mode of the stream tables: 'differential'
#                          (default), 'full' or 'auto'.  Allowed actions:
#                            differential  DIFFERENTIAL
#                            full          FULL
#                            auto          FULL or DIFFERENTIAL
#                          plus NO_DATA when the batch left the query's
#                          result unchanged, and REINITIALIZE for the refresh
#                          that follows a TRUNCATE step.
#   TRICKLE_ORACLE_SEED    seed of Perl's PRNG (default 20261123).  Each shape
#                          seeds with seed + a checksum of its name, so a
#                          shape replays the same way when run alone.
#   TRICKLE_ORACLE_CYCLES  change/refresh cycles per shape (default 20).
#   TRICKLE_ORACLE_SHAPES  optional regular expression: run only the shapes
#                          and scenarios whose name matches.
#
# A failure prints the seed, the shape, the cycle, the change batch that
# preceded the refresh, and the first 20 differing rows of each direction.
# To replay one:
#   TRICKLE_ORACLE_SEED=<seed> TRICKLE_ORACLE_SHAPES='^<shape>$' prove ...
#
# Column lists: stream tables carry extra __trickle_* columns, so every
# comparison names its columns.  json is compared as text (it has no
# equality), float8 results of sums and averages are rounded to 6 decimals,
# and numeric columns of scans and projections are compared as text, so that
# 1.0 and 1.00 differ there.  Aggregated numeric columns (sum, avg) are
# compared by value: their display scale after deletions is not checked.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use TrickleTest;

our $mode = lc($ENV{TRICKLE_ORACLE_MODE} // 'differential');
my $seed = $ENV{TRICKLE_ORACLE_SEED} // 20261123;
my $cycles = $ENV{TRICKLE_ORACLE_CYCLES} // 20;
my $only = $ENV{TRICKLE_ORACLE_SHAPES};

BAIL_OUT("TRICKLE_ORACLE_MODE must be differential, full or auto, not '$mode'")
  unless $mode =~ /^(differential|full|auto)$/;
BAIL_OUT("TRICKLE_ORACLE_SEED and TRICKLE_ORACLE_CYCLES must be integers")
  unless $seed =~ /^\d+$/ && $cycles =~ /^\d+$/;

note "oracle: mode=$mode seed=$seed cycles=$cycles"
  . (defined $only ? " shapes=/$only/" : '');

my $db = 'postgres';

my $node = PostgreSQL::Test::Cluster->new('oracle');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'trickle'
trickle.enabled = off
});
$node->start;
$node->safe_psql($db, 'CREATE EXTENSION trickle');
# The test role may be called trickle, whose "$user" schema would be the
# extension's: each shape sets its own search_path anyway.
$node->safe_psql($db, 'ALTER ROLE CURRENT_USER SET search_path = public');

# ===========================================================================
# The oracle check
# ===========================================================================

# allowed_actions(changed => bool, truncated => bool): the actions a refresh
# may report in the current mode.  "changed" is whether the query's result
# differs from the stream table before the refresh; "truncated" whether the
# batch truncated a source.
sub allowed_actions
{
	my (%w) = @_;
	my @ok =
	    $mode eq 'full' ? ('FULL')
	  : $mode eq 'differential' ? ('DIFFERENTIAL')
	  :                           ('FULL', 'DIFFERENTIAL');
	push @ok, 'REINITIALIZE' if $w{truncated};
	push @ok, 'NO_DATA' unless $w{changed};
	return @ok;
}

# A stream table under test: { st => name as given to trickle, query =>
# defining query, cols => column list to compare, setup => SQL run before
# every statement (search_path) }.

# create_st(ctx): creates the stream table in the current mode; returns ''
# or the error.
sub create_st
{
	my ($ctx) = @_;
	(my $name = $ctx->{st}) =~ s/'/''/g;
	my ($ret, $stdout, $stderr) = $node->psql(
		$db, qq{$ctx->{setup}
		SELECT trickle.create_stream_table('$name', \$oracle\$$ctx->{query}\$oracle\$,
			refresh_mode => '$mode')});
	return $ret == 0 ? '' : ($stderr || "psql exited with $ret");
}

# check_created(ctx): the stream table equals its query and trickle reports
# the expected effective mode; returns (ok, message).
sub check_created
{
	my ($ctx) = @_;
	my @problems;

	my $d = diff_rows($node, $db, $ctx->{st}, $ctx->{cols}, $ctx->{query},
		setup => $ctx->{setup});
	push @problems, describe_diff($d) if $d->{error} || $d->{count} != 0;

	(my $name = $ctx->{st}) =~ s/'/''/g;
	my $effective = $node->safe_psql(
		$db, qq{$ctx->{setup}
		SELECT effective_mode FROM trickle.stream_tables
		 WHERE name = '$name'::regclass});
	my $want = $mode eq 'full' ? 'FULL' : $mode eq 'differential' ? 'DIFFERENTIAL' : '';
	push @problems, "effective_mode is '$effective', expected '$want'"
	  if $want ne '' && $effective ne $want;

	return (!@problems, join("\n", @problems));
}

# refresh_and_check(ctx, truncated => bool): compares before the refresh (to
# learn whether the sources' changes touched the query's result), refreshes,
# and compares again.  Returns (ok, message); the message describes every
# problem and the differing rows.
sub refresh_and_check
{
	my ($ctx, %w) = @_;

	my $before = diff_rows($node, $db, $ctx->{st}, $ctx->{cols}, $ctx->{query},
		setup => $ctx->{setup}, limit => 0);
	return (0, 'comparison before the refresh failed: ' . describe_diff($before))
	  if $before->{error};

	my $r = refresh_row($node, $db, $ctx->{st}, setup => $ctx->{setup});
	return (0, "refresh failed: $r->{error}") if $r->{error};

	my $after = diff_rows($node, $db, $ctx->{st}, $ctx->{cols}, $ctx->{query},
		setup => $ctx->{setup});
	return (0, "refresh returned $r->{action}; comparison after it failed: "
		  . describe_diff($after))
	  if $after->{error};

	my @problems;
	my @allowed = allowed_actions(
		changed => $before->{count} > 0,
		truncated => $w{truncated});
	push @problems, "action $r->{action} is not one of " . join(', ', @allowed)
	  . ($before->{count} > 0 ? ' (the query result had changed)' : '')
	  unless grep { $_ eq $r->{action} } @allowed;
	push @problems,
	  "refresh ($r->{action}) left the stream table different from its query: "
	  . describe_diff($after)
	  if $after->{count} != 0;
	push @problems,
	  "refresh ($r->{action}) reported $r->{inserted} inserted and $r->{deleted} deleted, "
	  . "but the row count went from $before->{rows} to $after->{rows}"
	  if $r->{inserted} - $r->{deleted} != $after->{rows} - $before->{rows};

	return (!@problems, "refresh returned $r->{action}|$r->{inserted}|$r->{deleted}\n"
		  . join("\n", @problems));
}

# ===========================================================================
# Random values.  Each generator is a closure returning an SQL literal (or
# expression) or NULL with the given probability.  They draw from Perl's
# rand(), which the test seeds, so a seed replays the same values.
# ===========================================================================

sub is_null { my ($p) = @_; return rand() < ($p // 0); }

# integers in [lo, hi]
sub g_int
{
	my ($lo, $hi, $pnull) = @_;
	return sub { return is_null($pnull) ? 'NULL' : $lo + int(rand($hi - $lo + 1)); };
}

# numeric in [lo, hi) written with 0 to 3 decimals, so that values of
# different display scale (2, 2.0, 2.00) mix
sub g_num
{
	my ($lo, $hi, $pnull) = @_;
	return sub {
		return 'NULL' if is_null($pnull);
		my $scale = int(rand(4));
		my $v = sprintf('%.*f', $scale, $lo + rand($hi - $lo));
		return "${v}::numeric";
	};
}

# float8 tenths in [lo, hi]
sub g_float
{
	my ($lo, $hi, $pnull) = @_;
	return sub {
		return 'NULL' if is_null($pnull);
		return sprintf('%.1f::float8', $lo + int(rand(($hi - $lo) * 10 + 1)) / 10);
	};
}

# one of the given strings
sub g_text
{
	my ($choices, $pnull) = @_;
	return sub {
		return 'NULL' if is_null($pnull);
		(my $v = $choices->[ int(rand(@$choices)) ]) =~ s/'/''/g;
		return "'$v'";
	};
}

sub g_bool
{
	my ($pnull) = @_;
	return sub { return is_null($pnull) ? 'NULL' : rand() < 0.5 ? 'true' : 'false'; };
}

# a date within days of 2024-01-01
sub g_date
{
	my ($days, $pnull) = @_;
	return sub {
		return is_null($pnull) ? 'NULL' : "(date '2024-01-01' + " . int(rand($days)) . ')';
	};
}

# a small json document
sub g_json
{
	my ($pnull) = @_;
	return sub {
		return 'NULL' if is_null($pnull);
		my $n = int(rand(10));
		my $ok = rand() < 0.5 ? 'true' : 'false';
		return sprintf(q('{"n": %d, "tags": ["t%d"], "ok": %s}'::json), $n, $n, $ok);
	};
}

# A column of a source table: name (an SQL identifier, quoted if need be),
# its generator, and whether it is a key (grouping or join key): keys are
# the targets of whole-group deletes, group merges and same-key inserts.
sub col
{
	my ($name, $gen, $key) = @_;
	return { name => $name, gen => $gen, key => ($key // '') eq 'key' };
}

# Frequently used value domains.
my @fruits = ('apple', 'Apricot', 'banana', 'Berry', 'cherry', 'date', 'elderberry', 'fig', 'kiwi');
my @regions = ('north', 'south', 'east', 'west', 'nowhere');
my @statuses = ('open', 'paid', 'void', 'held');
# Mixed case and punctuation: their order differs between "C" and
# linguistic collations.
my @ckeys = ('a', 'B', 'b', 'Z', 'z', '_u', 'ab', 'AB', 'Ab', 'm', 'M');

# ===========================================================================
# The corpus.  A shape is
#   name      its name (also the schema of its tables, "sh_<name>", unless
#             schema is given)
#   ddl       creates the source tables (search_path is the shape's schema)
#   tables    the tables the change batches write: name (SQL identifier),
#             pk (an integer primary key column, values chosen by the test;
#             absent for a table without a key), rows (initial row count),
#             cols (the other columns the test writes)
#   query     the defining query
#   cols      the columns to compare
#   st        the stream table's name (default st)
#   truncate  whether some batches TRUNCATE a source
#   extra_ops [weight, sub returning SQL statements] changes specific to the
#             shape, drawn together with the generic ones
# ===========================================================================

my @shapes;

# --- scans, filters, projections ------------------------------------------

push @shapes, {
	name => 'scan_plain',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a int, b text, n numeric, j json)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('a', g_int(0, 20, 0.1)), col('b', g_text(\@fruits, 0.1)),
				  col('n', g_num(0, 100, 0.1)), col('j', g_json(0.2)) ] } ],
	# j is written but not read
	query => 'SELECT id, a, b, n FROM t',
	cols => 'id, a, b, n::text AS n',
	truncate => 1,
};

push @shapes, {
	name => 'scan_json_output',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, k int, j json)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('k', g_int(0, 5, 0.1)), col('j', g_json(0.2)) ] } ],
	# json has no equality: compared as text
	query => 'SELECT id, k, j FROM t WHERE k <> 2',
	cols => 'id, k, j::text AS j',
	# a plain query's json column cannot be matched row by row: differential
	# refuses it, auto refreshes FULL
	not_differential => qr/column "j" has type json/,
};

push @shapes, {
	name => 'filter_and_or',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a int, b int, c text)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('a', g_int(0, 9, 0.1)), col('b', g_int(0, 100, 0.1)),
				  col('c', g_text([ 'x', 'y', 'z' ], 0.1)) ] } ],
	query => q{SELECT id, a, b, c FROM t
		WHERE (a > 3 AND b < 50) OR (c = 'x' AND b IS NOT NULL) OR a IS NULL},
	cols => 'id, a, b, c',
};

push @shapes, {
	name => 'filter_in_like',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a int, name text)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('a', g_int(0, 9, 0.1), 'key'), col('name', g_text(\@fruits, 0.15)) ] } ],
	query => q{SELECT id, a, name FROM t
		WHERE a IN (1, 3, 5, 7) AND (name LIKE 'ap%' OR name LIKE '%rry' OR name IS NULL)},
	cols => 'id, a, name',
};

push @shapes, {
	name => 'filter_null_not_in',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a int, b text)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('a', g_int(0, 6, 0.2)), col('b', g_text(\@fruits, 0.3)) ] } ],
	query => q{SELECT id, a, b FROM t
		WHERE b IS NULL OR (a NOT IN (2, 4) AND b <> 'kiwi' AND b NOT LIKE 'b%')},
	cols => 'id, a, b',
};

push @shapes, {
	name => 'projection_exprs',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, a int, b int, s text)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('a', g_int(-5, 12, 0.15)), col('b', g_int(0, 30, 0.15)),
				  col('s', g_text(\@fruits, 0.15)) ] } ],
	query => q{SELECT id,
			a * 2 + b AS lin,
			CASE WHEN a IS NULL THEN 'none' WHEN a > 5 THEN 'big' ELSE 'small' END AS size,
			COALESCE(b, a, -1) AS cb,
			upper(s) AS up, length(s) AS len, substr(s, 2, 3) AS mid,
			s || '/' || COALESCE(a::text, '?') AS label,
			a::numeric / 4 AS quarter, b::float8 / 2 AS half,
			(a % 3 = 0) AS div3, s::varchar(3) AS short
		FROM t},
	cols => 'id, lin, size, cb, up, len, mid, label, quarter::text AS quarter, half, div3, short',
};

push @shapes, {
	name => 'projection_numeric_scale',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, n numeric, m numeric(8,2), k int)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('n', g_num(0, 100, 0.1)), col('m', g_num(0, 100, 0.1)),
				  col('k', g_int(0, 10, 0.1)) ] } ],
	query => q{SELECT id, n, n + 0 AS n0, n * 1.0 AS n1, n * 1.00 AS n2, round(n, 1) AS r1,
			m, m::numeric(10,3) AS m3, n + m AS nm, k::numeric(6,1) AS k1,
			CASE WHEN k > 5 THEN n ELSE 1.00 END AS c
		FROM t},
	cols => 'id, n::text AS n, n0::text AS n0, n1::text AS n1, n2::text AS n2, '
	  . 'r1::text AS r1, m::text AS m, m3::text AS m3, nm::text AS nm, '
	  . 'k1::text AS k1, c::text AS c',
};

# --- bags: no primary key, duplicate rows ---------------------------------

push @shapes, {
	name => 'bag_subset',
	ddl => q{CREATE TABLE bag (a int, b text, c int)},
	tables => [ {
		name => 'bag', rows => 60,
		cols => [ col('a', g_int(1, 4, 0.1), 'key'), col('b', g_text([ 'p', 'q', 'r' ], 0.1)),
				  col('c', g_int(1, 3)) ] } ],
	query => 'SELECT a, b FROM bag',
	cols => 'a, b',
	truncate => 1,
};

push @shapes, {
	name => 'bag_filter_expr',
	ddl => q{CREATE TABLE bag (a int, b text, c int, d numeric)},
	tables => [ {
		name => 'bag', rows => 60,
		cols => [ col('a', g_int(1, 3)), col('b', g_text([ 'P', 'q', 'R' ], 0.1)),
				  col('c', g_int(1, 3, 0.1)), col('d', g_num(0, 5, 0.2)) ] } ],
	query => q{SELECT a + c AS ac, lower(b) AS lb FROM bag WHERE c <> 2 OR b IS NULL},
	cols => 'ac, lb',
};

push @shapes, {
	name => 'agg_bag_no_pk',
	ddl => q{CREATE TABLE bag (g text, v int)},
	tables => [ {
		name => 'bag', rows => 50,
		cols => [ col('g', g_text([ 'u', 'v', 'w', 'x' ], 0.1), 'key'), col('v', g_int(0, 5, 0.1)) ] } ],
	query => 'SELECT g, count(*) AS n, sum(v) AS s, min(v) AS mn FROM bag GROUP BY g',
	cols => 'g, n, s, mn',
	truncate => 1,
};

# --- joins ------------------------------------------------------------------

push @shapes, {
	name => 'join2',
	ddl => q{
		CREATE TABLE customers (id int PRIMARY KEY, name text, region text);
		CREATE TABLE orders (id int PRIMARY KEY, cust int, amount numeric);
	},
	tables => [
		{ name => 'customers', pk => 'id', rows => 12,
		  cols => [ col('name', g_text(\@fruits)), col('region', g_text(\@regions, 0.1)) ] },
		{ name => 'orders', pk => 'id', rows => 50,
		  cols => [ col('cust', g_int(1, 16, 0.05), 'key'), col('amount', g_num(0, 500, 0.1)) ] } ],
	query => q{SELECT o.id AS oid, c.id AS cid, c.name, o.amount
		FROM orders o JOIN customers c ON c.id = o.cust},
	cols => 'oid, cid, name, amount::text AS amount',
	truncate => 1,
};

push @shapes, {
	name => 'join2_many_to_many',
	ddl => q{
		CREATE TABLE l (id int PRIMARY KEY, k text, x int);
		CREATE TABLE r (id int PRIMARY KEY, k text, y int);
	},
	tables => [
		{ name => 'l', pk => 'id', rows => 25,
		  cols => [ col('k', g_text([ 'a', 'b', 'c', 'd', 'e' ], 0.1), 'key'), col('x', g_int(0, 9)) ] },
		{ name => 'r', pk => 'id', rows => 25,
		  cols => [ col('k', g_text([ 'a', 'b', 'c', 'd', 'f' ], 0.1), 'key'), col('y', g_int(0, 9, 0.1)) ] } ],
	query => 'SELECT l.id AS lid, r.id AS rid, l.k, l.x, r.y FROM l JOIN r ON l.k = r.k',
	cols => 'lid, rid, k, x, y',
};

push @shapes, {
	name => 'join3',
	ddl => q{
		CREATE TABLE regions (id int PRIMARY KEY, rname text);
		CREATE TABLE customers (id int PRIMARY KEY, region_id int, name text);
		CREATE TABLE orders (id int PRIMARY KEY, cust int, amount int);
	},
	tables => [
		{ name => 'regions', pk => 'id', rows => 5,
		  cols => [ col('rname', g_text(\@regions)) ] },
		{ name => 'customers', pk => 'id', rows => 12,
		  cols => [ col('region_id', g_int(1, 7, 0.05), 'key'), col('name', g_text(\@fruits)) ] },
		{ name => 'orders', pk => 'id', rows => 50,
		  cols => [ col('cust', g_int(1, 15, 0.05), 'key'), col('amount', g_int(1, 100)) ] } ],
	query => q{SELECT o.id, c.name, r.rname, o.amount
		FROM orders o JOIN customers c ON c.id = o.cust JOIN regions r ON r.id = c.region_id},
	cols => 'id, name, rname, amount',
};

push @shapes, {
	name => 'self_join',
	ddl => q{CREATE TABLE emp (id int PRIMARY KEY, mgr int, name text, dept int)},
	tables => [ {
		name => 'emp', pk => 'id', rows => 30,
		cols => [ col('mgr', g_int(1, 34, 0.1), 'key'), col('name', g_text(\@fruits)),
				  col('dept', g_int(1, 3)) ] } ],
	query => q{SELECT e.id, e.name, m.id AS mgr_id, m.name AS mgr_name, m.dept
		FROM emp e JOIN emp m ON m.id = e.mgr},
	cols => 'id, name, mgr_id, mgr_name, dept',
	truncate => 1,
};

push @shapes, {
	name => 'nonequi_join',
	ddl => q{
		CREATE TABLE a (id int PRIMARY KEY, k int, x int);
		CREATE TABLE b (id int PRIMARY KEY, k int, y int);
	},
	tables => [
		{ name => 'a', pk => 'id', rows => 25,
		  cols => [ col('k', g_int(1, 4, 0.05), 'key'), col('x', g_int(0, 20, 0.05)) ] },
		{ name => 'b', pk => 'id', rows => 25,
		  cols => [ col('k', g_int(1, 4, 0.05), 'key'), col('y', g_int(0, 20, 0.05)) ] } ],
	query => q{SELECT a.id AS aid, b.id AS bid, a.x, b.y
		FROM a JOIN b ON a.k = b.k AND a.x < b.y},
	cols => 'aid, bid, x, y',
};

push @shapes, {
	name => 'join_filter_both',
	ddl => q{
		CREATE TABLE customers (id int PRIMARY KEY, region text, vip bool);
		CREATE TABLE orders (id int PRIMARY KEY, cust int, amount int, status text);
	},
	tables => [
		{ name => 'customers', pk => 'id', rows => 12,
		  cols => [ col('region', g_text(\@regions, 0.1)), col('vip', g_bool(0.1)) ] },
		{ name => 'orders', pk => 'id', rows => 60,
		  cols => [ col('cust', g_int(1, 15, 0.05), 'key'), col('amount', g_int(0, 60, 0.05)),
					col('status', g_text(\@statuses, 0.05)) ] } ],
	query => q{SELECT o.id, c.id AS cid, o.amount, c.region
		FROM orders o JOIN customers c ON c.id = o.cust
		WHERE o.status IN ('open', 'paid') AND o.amount > 20
		  AND (c.region LIKE 'n%' OR c.vip)},
	cols => 'id, cid, amount, region',
};

# --- aggregates ---------------------------------------------------------------

push @shapes, {
	name => 'agg_counts_sums',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int NOT NULL, i int, b bigint)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('g', g_int(0, 6), 'key'), col('i', g_int(-50, 100, 0.15)),
				  col('b', g_int(1_000_000_000, 9_000_000_000, 0.15)) ] } ],
	query => q{SELECT g, count(*) AS n, count(i) AS ni, sum(i) AS si, sum(b) AS sb,
			avg(i) AS ai, avg(b) AS ab
		FROM t GROUP BY g},
	cols => 'g, n, ni, si, sb, ai, ab',
};

push @shapes, {
	name => 'agg_numeric',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g text, v numeric)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('g', g_text([ 'a', 'b', 'c', 'd', 'e' ], 0.05), 'key'), col('v', g_num(-100, 100, 0.1)) ] } ],
	query => q{SELECT g, sum(v) AS s, avg(v) AS a, min(v) AS mn, max(v) AS mx, count(v) AS c
		FROM t GROUP BY g},
	cols => 'g, s, a, mn, mx, c',
};

push @shapes, {
	name => 'agg_min_max_types',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, i int, s text, d date)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('g', g_int(0, 6), 'key'), col('i', g_int(-20, 20, 0.1)),
				  col('s', g_text(\@fruits, 0.1)), col('d', g_date(400, 0.1)) ] } ],
	query => q{SELECT g, min(i) AS mni, max(i) AS mxi, min(s) AS mns, max(s) AS mxs,
			min(d) AS mnd, max(d) AS mxd
		FROM t GROUP BY g},
	cols => 'g, mni, mxi, mns, mxs, mnd, mxd',
};

push @shapes, {
	name => 'agg_bool',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, f bool)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 7), 'key'), col('f', g_bool(0.15)) ] } ],
	query => q{SELECT g, bool_and(f) AS all_f, bool_or(f) AS any_f, count(*) AS n
		FROM t GROUP BY g},
	cols => 'g, all_f, any_f, n',
};

push @shapes, {
	name => 'agg_null_key',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_int(0, 5, 0.25), 'key'), col('v', g_int(0, 50, 0.1)) ] } ],
	query => 'SELECT g, count(*) AS n, sum(v) AS s, max(v) AS mx FROM t GROUP BY g',
	cols => 'g, n, s, mx',
	truncate => 1,
};

push @shapes, {
	name => 'agg_two_keys',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g1 text, g2 int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('g1', g_text([ 'x', 'y', 'z' ]), 'key'), col('g2', g_int(0, 3, 0.15), 'key'),
				  col('v', g_int(0, 40, 0.1)) ] } ],
	query => 'SELECT g1, g2, count(*) AS n, sum(v) AS s FROM t GROUP BY g1, g2',
	cols => 'g1, g2, n, s',
};

push @shapes, {
	name => 'agg_expr_key',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, x int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('x', g_int(-20, 60, 0.05), 'key'), col('v', g_int(0, 30, 0.1)) ] } ],
	query => 'SELECT x % 7 AS bucket, count(*) AS n, sum(v) AS s, min(x) AS mn FROM t GROUP BY x % 7',
	cols => 'bucket, n, s, mn',
};

push @shapes, {
	name => 'agg_key_not_selected',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 40,
		cols => [ col('g', g_int(0, 9, 0.1), 'key'), col('v', g_int(0, 4, 0.1)) ] } ],
	# Several groups often share a sum: the output is a bag.
	query => 'SELECT sum(v) AS s FROM t GROUP BY g',
	cols => 's',
};

{
	# Global aggregates: one row, also when the table is empty (count 0, the
	# others NULL).  The table is small and is emptied often.
	push @shapes, {
		name => 'agg_global',
		ddl => q{CREATE TABLE t (id int PRIMARY KEY, v int, n numeric)},
		tables => [ {
			name => 't', pk => 'id', rows => 6,
			cols => [ col('v', g_int(-10, 10, 0.2)), col('n', g_num(0, 10, 0.2)) ] } ],
		query => q{SELECT count(*) AS n, count(v) AS nv, sum(v) AS s, min(v) AS mn, max(v) AS mx,
				sum(n) AS sn, avg(n) AS an
			FROM t},
		cols => 'n, nv, s, mn, mx, sn, an',
		truncate => 1,
		extra_ops => [ [ 12, sub { return ('DELETE FROM t'); } ] ],
	};
}

push @shapes, {
	name => 'agg_global_filtered',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, k text, v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 20,
		cols => [ col('k', g_text([ 'hot', 'cold', 'warm', 'mild' ], 0.1), 'key'), col('v', g_int(0, 10, 0.1)) ] } ],
	query => q{SELECT count(*) AS n, sum(v) AS s, max(v) AS mx, bool_or(v > 5) AS big
		FROM t WHERE k = 'hot'},
	cols => 'n, s, mx, big',
};

push @shapes, {
	name => 'agg_join2',
	ddl => q{
		CREATE TABLE customers (id int PRIMARY KEY, region text);
		CREATE TABLE orders (id int PRIMARY KEY, cust int, amount numeric);
	},
	tables => [
		{ name => 'customers', pk => 'id', rows => 12,
		  cols => [ col('region', g_text(\@regions, 0.1), 'key') ] },
		{ name => 'orders', pk => 'id', rows => 60,
		  cols => [ col('cust', g_int(1, 15, 0.05), 'key'), col('amount', g_num(0, 100, 0.1)) ] } ],
	query => q{SELECT c.region, count(*) AS n, sum(o.amount) AS total, max(o.amount) AS mx
		FROM orders o JOIN customers c ON c.id = o.cust GROUP BY c.region},
	cols => 'region, n, total, mx',
	truncate => 1,
};

push @shapes, {
	name => 'agg_join_many',
	ddl => q{
		CREATE TABLE l (id int PRIMARY KEY, k int, x int);
		CREATE TABLE r (id int PRIMARY KEY, k int, w int);
	},
	tables => [
		{ name => 'l', pk => 'id', rows => 25,
		  cols => [ col('k', g_int(1, 5, 0.05), 'key'), col('x', g_int(0, 9, 0.1)) ] },
		{ name => 'r', pk => 'id', rows => 20,
		  cols => [ col('k', g_int(1, 6, 0.05), 'key'), col('w', g_int(1, 3)) ] } ],
	query => q{SELECT l.k, count(*) AS n, sum(l.x * r.w) AS s, min(r.w) AS mw
		FROM l JOIN r ON r.k = l.k GROUP BY l.k},
	cols => 'k, n, s, mw',
};

{
	# MIN/MAX when a group's current minimum or maximum goes, including in
	# the NULL group: the extra changes target exactly those rows.
	my $g = g_int(0, 4, 0.3);
	my $for = sub {
		my ($agg) = @_;
		return sub {
			my $k = $g->();
			return ("DELETE FROM t WHERE g IS NOT DISTINCT FROM $k AND v = "
				  . "(SELECT $agg(v) FROM t WHERE g IS NOT DISTINCT FROM $k)");
		};
	};
	push @shapes, {
		name => 'minmax_extreme',
		ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, v int)},
		tables => [ {
			name => 't', pk => 'id', rows => 50,
			cols => [ col('g', $g, 'key'), col('v', g_int(0, 100, 0.1)) ] } ],
		query => 'SELECT g, min(v) AS mn, max(v) AS mx, count(*) AS n, count(v) AS nv FROM t GROUP BY g',
		cols => 'g, mn, mx, n, nv',
		truncate => 1,
		extra_ops => [
			[ 4, $for->('max') ],
			[ 4, $for->('min') ],
			[ 2, sub {
				return ('DELETE FROM t WHERE g IS NULL AND v = (SELECT max(v) FROM t WHERE g IS NULL)');
			} ],
			[ 4, sub {
				# the maximum of a group drops below the others
				my $k = $g->();
				return ("UPDATE t SET v = v - 101 WHERE g IS NOT DISTINCT FROM $k AND v = "
					  . "(SELECT max(v) FROM t WHERE g IS NOT DISTINCT FROM $k)");
			} ],
		],
	};
}

push @shapes, {
	name => 'count_null_heavy',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, a int, b text)},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_int(0, 5), 'key'), col('a', g_int(0, 9, 0.7)), col('b', g_text(\@fruits, 0.8)) ] } ],
	query => q{SELECT g, count(*) AS n, count(a) AS na, count(b) AS nb, sum(a) AS sa, min(b) AS mb
		FROM t GROUP BY g},
	cols => 'g, n, na, nb, sa, mb',
};

push @shapes, {
	name => 'sum_float',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, g int, f float8)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('g', g_int(0, 5), 'key'), col('f', g_float(-50, 50, 0.1)) ] } ],
	query => q{SELECT g, sum(f) AS s, avg(f) AS a, min(f) AS mn, max(f) AS mx, count(f) AS n
		FROM t GROUP BY g},
	# sums and averages of floats depend on the order of additions
	cols => 'g, s::numeric(20,6) AS s, a::numeric(20,6) AS a, mn, mx, n',
};

# --- names, dropped columns, collations ----------------------------------------

push @shapes, {
	name => 'quoted_dropped_scan',
	schema => '"Mixed Case"',
	st => '"My Stream"',
	ddl => q{
		CREATE TABLE "My Table" (id int PRIMARY KEY, "Some Col" int, junk text,
			"Grp" text, doc json, "v Val" numeric);
		ALTER TABLE "My Table" DROP COLUMN junk;
	},
	tables => [ {
		name => '"My Table"', pk => 'id', rows => 40,
		cols => [ col('"Some Col"', g_int(0, 6, 0.1)), col('"Grp"', g_text(\@fruits, 0.1)),
				  col('doc', g_json(0.2)), col('"v Val"', g_num(0, 20, 0.1)) ] } ],
	query => q{SELECT id, "Some Col", "Grp" AS "Group Name", "v Val"
		FROM "My Table" WHERE "Some Col" IS DISTINCT FROM 3},
	cols => 'id, "Some Col", "Group Name", "v Val"::text AS "v Val"',
};

push @shapes, {
	name => 'quoted_dropped_agg',
	schema => '"Mixed Agg"',
	st => '"Sales Totals"',
	# a dropped column in the middle, and a column added after the drop
	ddl => q{
		CREATE TABLE "Sales Data" ("Id" int PRIMARY KEY, "Region Name" text, dropme int,
			"Amount" int, meta json);
		ALTER TABLE "Sales Data" DROP COLUMN dropme;
		ALTER TABLE "Sales Data" ADD COLUMN "Late Col" int;
	},
	tables => [ {
		name => '"Sales Data"', pk => '"Id"', rows => 50,
		cols => [ col('"Region Name"', g_text(\@regions, 0.1), 'key'), col('"Amount"', g_int(0, 50, 0.1)),
				  col('meta', g_json(0.3)), col('"Late Col"', g_int(0, 9, 0.3)) ] } ],
	query => q{SELECT "Region Name", count(*) AS "Row Count", sum("Amount") AS "Total Amount",
			max("Late Col") AS "Max Late"
		FROM "Sales Data" GROUP BY "Region Name"},
	cols => '"Region Name", "Row Count", "Total Amount", "Max Late"',
};

push @shapes, {
	name => 'collate_c_group',
	ddl => q{CREATE TABLE t (id int PRIMARY KEY, k text COLLATE "C", s text COLLATE "C", v int)},
	tables => [ {
		name => 't', pk => 'id', rows => 60,
		cols => [ col('k', g_text(\@ckeys, 0.05), 'key'), col('s', g_text(\@ckeys, 0.1)),
				  col('v', g_int(0, 20, 0.1)) ] } ],
	query => q{SELECT k, count(*) AS n, min(s) AS mn, max(s) AS mx, sum(v) AS sv
		FROM t WHERE k >= 'B' GROUP BY k},
	cols => 'k, n, mn, mx, sv',
	truncate => 1,
};

push @shapes, {
	name => 'collate_c_join',
	ddl => q{
		CREATE TABLE l (id int PRIMARY KEY, k text COLLATE "C", x int);
		CREATE TABLE r (id int PRIMARY KEY, k text COLLATE "C", y int);
	},
	tables => [
		{ name => 'l', pk => 'id', rows => 30,
		  cols => [ col('k', g_text(\@ckeys, 0.05), 'key'), col('x', g_int(0, 9)) ] },
		{ name => 'r', pk => 'id', rows => 30,
		  cols => [ col('k', g_text(\@ckeys, 0.05), 'key'), col('y', g_int(0, 9)) ] } ],
	query => q{SELECT l.id AS lid, r.id AS rid, l.k, r.y
		FROM l JOIN r ON l.k = r.k WHERE l.k < 'a'},
	cols => 'lid, rid, k, y',
};

# ===========================================================================
# Change batches
# ===========================================================================

sub pick { my ($list) = @_; return $list->[ int(rand(@$list)) ]; }

# weighted_pick([weight, item], ...)
sub weighted_pick
{
	my @choices = @_;
	my $total = 0;
	$total += $_->[0] foreach @choices;
	my $r = rand($total);
	foreach my $c (@choices)
	{
		return $c->[1] if ($r -= $c->[0]) < 0;
	}
	return $choices[-1][1];
}

# rows_pred(table, n): a predicate choosing n rows at a random position of
# the table in the order of their text, which does not depend on where the
# rows are stored (identical rows are interchangeable).
sub rows_pred
{
	my ($t, $n) = @_;
	my $f = sprintf('%.3f', rand());
	return "ctid IN (SELECT ctid FROM $t->{name} oracle_r ORDER BY oracle_r::text "
	  . "LIMIT $n OFFSET (SELECT floor(count(*) * $f)::int FROM $t->{name}))";
}

# one_row_pred(table, column): a predicate on the column, equal to its value
# in one existing row (by primary key where there is one)
sub one_row_pred
{
	my ($t, $c) = @_;
	my $f = sprintf('%.3f', rand());
	return "$c IS NOT DISTINCT FROM (SELECT $c FROM $t->{name} ORDER BY $c "
	  . "LIMIT 1 OFFSET (SELECT floor(count(*) * $f)::int FROM $t->{name}))";
}

sub col_names { my ($t) = @_; return join(', ', ($t->{pk} // ()), map { $_->{name} } @{ $t->{cols} }); }

# new_row(table, id): the VALUES tuple of a fresh random row
sub new_row
{
	my ($t, $id) = @_;
	return '(' . join(', ', (defined $t->{pk} ? $id : ()), map { $_->{gen}->() } @{ $t->{cols} }) . ')';
}

# next_id(table): a new primary key value; or, one time in six, one used
# before (perhaps deleted since: re-inserting a deleted key)
sub next_id
{
	my ($t) = @_;
	return 1 + int(rand($t->{next_id} - 1)) if $t->{next_id} > 1 && rand() < 1 / 6;
	return $t->{next_id}++;
}

sub insert_sql
{
	my ($t, $n) = @_;
	my $rows = join(', ', map { new_row($t, defined $t->{pk} ? next_id($t) : undef) } 1 .. $n);
	return "INSERT INTO $t->{name} (" . col_names($t) . ") VALUES $rows"
	  . (defined $t->{pk} ? " ON CONFLICT ($t->{pk}) DO NOTHING" : '');
}

# set_clause(table, columns to avoid): "c = value" for one or two random
# columns
sub set_clause
{
	my ($t, @avoid) = @_;
	my %avoid = map { $_ => 1 } @avoid;
	my @cands = grep { !$avoid{ $_->{name} } } @{ $t->{cols} };
	return undef unless @cands;
	my @set = (pick(\@cands));
	my $second = pick(\@cands);
	push @set, $second if rand() < 0.3 && $second != $set[0];
	return join(', ', map { "$_->{name} = " . $_->{gen}->() } @set);
}

# The generic changes: each returns a list of SQL statements (more than one
# only when they must share a transaction).
my @generic_ops = (
	# fresh rows, NULLs included
	[ 30, sub { my ($t) = @_; return insert_sql($t, 1 + int(rand(4))); } ],
	# copies of existing rows: duplicates in a table without a key
	[ 8, sub {
		my ($t) = @_;
		my $f = sprintf('%.3f', rand());
		my $n = defined $t->{pk} ? 1 : 1 + int(rand(3));
		my @vals = map { "oracle_r.$_->{name}" } @{ $t->{cols} };
		unshift @vals, next_id($t) if defined $t->{pk};
		return "INSERT INTO $t->{name} (" . col_names($t) . ') SELECT ' . join(', ', @vals)
		  . " FROM $t->{name} oracle_r ORDER BY oracle_r::text LIMIT $n"
		  . " OFFSET (SELECT floor(count(*) * $f)::int FROM $t->{name})"
		  . (defined $t->{pk} ? " ON CONFLICT ($t->{pk}) DO NOTHING" : '');
	} ],
	# several rows of one key (a group or join partner appears, or reappears)
	[ 6, sub {
		my ($t) = @_;
		my @keys = grep { $_->{key} } @{ $t->{cols} };
		return () unless @keys;
		my $k = pick(\@keys);
		my $v = $k->{gen}->();
		my @rows;
		foreach (1 .. 2 + int(rand(3)))
		{
			my @vals = map { $_ == $k ? $v : $_->{gen}->() } @{ $t->{cols} };
			unshift @vals, next_id($t) if defined $t->{pk};
			push @rows, '(' . join(', ', @vals) . ')';
		}
		return "INSERT INTO $t->{name} (" . col_names($t) . ') VALUES ' . join(', ', @rows)
		  . (defined $t->{pk} ? " ON CONFLICT ($t->{pk}) DO NOTHING" : '');
	} ],
	# values of a few rows, keys included (rows move between groups)
	[ 25, sub {
		my ($t) = @_;
		return "UPDATE $t->{name} SET " . set_clause($t) . ' WHERE ' . rows_pred($t, 1 + int(rand(3)));
	} ],
	# a key of a few rows, or of a whole group (two groups merge)
	[ 10, sub {
		my ($t) = @_;
		my @keys = grep { $_->{key} } @{ $t->{cols} };
		return () unless @keys;
		my $k = pick(\@keys);
		return "UPDATE $t->{name} SET $k->{name} = " . $k->{gen}->()
		  . ' WHERE ' . (rand() < 0.3
			  ? "$k->{name} IS NOT DISTINCT FROM " . $k->{gen}->()
			  : rows_pred($t, 1 + int(rand(3))));
	} ],
	# a few rows
	[ 18, sub { my ($t) = @_; return "DELETE FROM $t->{name} WHERE " . rows_pred($t, 1 + int(rand(3))); } ],
	# every row of one key (a group's last row goes)
	[ 4, sub {
		my ($t) = @_;
		my @keys = grep { $_->{key} } @{ $t->{cols} };
		return () unless @keys;
		my $k = pick(\@keys);
		return "DELETE FROM $t->{name} WHERE $k->{name} IS NOT DISTINCT FROM " . $k->{gen}->();
	} ],
	# upsert: a new row or an update of an existing one
	[ 5, sub {
		my ($t) = @_;
		return () unless defined $t->{pk};
		my $id = 1 + int(rand($t->{next_id}));
		$t->{next_id} = $id + 1 if $id >= $t->{next_id};
		return "INSERT INTO $t->{name} (" . col_names($t) . ') VALUES ' . new_row($t, $id)
		  . " ON CONFLICT ($t->{pk}) DO UPDATE SET "
		  . join(', ', map { "$_->{name} = EXCLUDED.$_->{name}" } @{ $t->{cols} });
	} ],
	# the same rows updated twice in one transaction
	[ 6, sub {
		my ($t) = @_;
		my $p = $t->{pk} // pick($t->{cols})->{name};
		my $pred = one_row_pred($t, $p);
		my @set = map { set_clause($t, $p) } 1 .. 2;
		return () unless defined $set[0];
		return map { "UPDATE $t->{name} SET $_ WHERE $pred" } @set;
	} ],
	# a row inserted, updated, then deleted or updated again, in one
	# transaction
	[ 4, sub {
		my ($t) = @_;
		return () unless defined $t->{pk};
		my $id = $t->{next_id}++;
		return (
			"INSERT INTO $t->{name} (" . col_names($t) . ') VALUES ' . new_row($t, $id),
			"UPDATE $t->{name} SET " . set_clause($t) . " WHERE $t->{pk} = $id",
			rand() < 0.5
			? "DELETE FROM $t->{name} WHERE $t->{pk} = $id"
			: "UPDATE $t->{name} SET " . set_clause($t) . " WHERE $t->{pk} = $id");
	} ],
);

# random_op(shape): one change (a list of statements) to a random table of
# the shape
sub random_op
{
	my ($shape) = @_;
	for (;;)
	{
		my $t = pick($shape->{tables});
		my @choices = map { my $op = $_->[1]; [ $_->[0], sub { $op->($t) } ] } @generic_ops;
		push @choices, @{ $shape->{extra_ops} // [] };
		my @stmts = weighted_pick(@choices)->();
		return \@stmts if @stmts;
	}
}

# make_batch(shape, cycle): (SQL of the batch, whether it truncates)
sub make_batch
{
	my ($shape, $cycle) = @_;

	# Now and then: TRUNCATE a source, then fill it again (or not), in one
	# transaction.
	if ($shape->{truncate} && $cycle % 10 == 5)
	{
		my $t = pick($shape->{tables});
		my @ins = rand() < 0.7
		  ? map { insert_sql($t, 5 + int(rand(10))) } 1 .. 3
		  : map { insert_sql($t, 1 + int(rand(3))) } 1 .. int(rand(2));
		return (join(";\n", 'BEGIN', "TRUNCATE $t->{name}", @ins, 'COMMIT') . ";\n", 1);
	}

	my @ops = map { random_op($shape) } 1 .. 1 + int(rand(5));
	my $style = rand();
	my @sql;
	if ($style < 0.30)
	{
		# autocommit; changes of several statements get a transaction
		foreach my $op (@ops)
		{
			push @sql, @$op == 1 ? @$op : ('BEGIN', @$op, 'COMMIT');
		}
	}
	elsif ($style < 0.75)
	{
		@sql = ('BEGIN', (map { @$_ } @ops), 'COMMIT');
	}
	elsif ($style < 0.95)
	{
		# a savepoint around some of the changes, rolled back or released
		push @ops, random_op($shape) while @ops < 3;
		my $i = int(rand(@ops - 1));
		my $j = $i + 1 + int(rand(@ops - $i - 1));
		my $end = rand() < 0.75 ? 'ROLLBACK TO SAVEPOINT oracle_sp' : 'RELEASE SAVEPOINT oracle_sp';
		@sql = ('BEGIN', (map { @$_ } @ops[ 0 .. $i - 1 ]),
			'SAVEPOINT oracle_sp', (map { @$_ } @ops[ $i .. $j - 1 ]), $end,
			(map { @$_ } @ops[ $j .. $#ops ]), 'COMMIT');
	}
	else
	{
		# a transaction that rolls back
		@sql = ('BEGIN', (map { @$_ } @ops), 'ROLLBACK');
	}
	return (join(";\n", @sql) . ";\n", 0);
}

# ===========================================================================
# The random cycles, shape by shape
# ===========================================================================

sub shape_seed { my ($name) = @_; return $seed + unpack('%32C*', $name); }

sub run_shape
{
	my ($shape) = @_;
	my $name = $shape->{name};
	my $schema = $shape->{schema} // "sh_$name";
	my $ctx = {
		st => $shape->{st} // 'st',
		query => $shape->{query},
		cols => $shape->{cols},
		setup => "SET search_path = $schema, public;",
	};
	my $where = "seed=$seed shape=$name mode=$mode";

	srand(shape_seed($name));


	# Sources and their initial rows.
	my $init = "CREATE SCHEMA $schema;\n$ctx->{setup}\n$shape->{ddl};\n";
	foreach my $t (@{ $shape->{tables} })
	{
		$t->{next_id} = 1;
		$init .= insert_sql($t, $t->{rows}) . ";\n" if $t->{rows};
	}
	$node->safe_psql($db, $init);

	# A shape the differential engine does not maintain: 'differential' must
	# refuse it with the reason; the shape then runs as a FULL stream table.
	local $mode = $mode;
	if ($shape->{not_differential} && $mode eq 'differential')
	{
		my ($ret, $stdout, $stderr) = $node->psql($db,
			qq{$ctx->{setup}
			SELECT trickle.create_stream_table('sh_refused',
				\$oracle\$$shape->{query}\$oracle\$, refresh_mode => 'differential')});
		like($stderr, $shape->{not_differential},
			"$name: refresh_mode 'differential' is refused with the reason");
		$mode = 'full';
	}

	my $err = create_st($ctx);
	if (!is($err, '', "$name: stream table created"))
	{
		diag("$where: create_stream_table failed");
		return;
	}
	my ($ok, $msg) = check_created($ctx);
	ok($ok, "$name: stream table equals its query after creation")
	  or diag("$where cycle=0 (creation)\n$msg");
	return unless $ok;

	foreach my $cycle (1 .. $cycles)
	{
		my ($batch, $truncated) = make_batch($shape, $cycle);

		my ($ret, $stdout, $stderr) = $node->psql($db, "$ctx->{setup}\n$batch");
		if ($ret != 0)
		{
			fail("$name cycle $cycle: change batch");
			diag("$where cycle=$cycle: the change batch failed: $stderr\nbatch:\n$batch");
			return;
		}

		($ok, $msg) = refresh_and_check($ctx, truncated => $truncated);
		if (!$ok)
		{
			fail("$name cycle $cycle: stream table equals its query");
			diag("$where cycle=$cycle\n$msg\nbatch:\n$batch");
			# Later cycles would only repeat the difference.
			return;
		}
		note("$name cycle $cycle: " . (split /\n/, $msg)[0]
			  . ($truncated ? ' (after TRUNCATE)' : ''));
	}
	pass("$name: $cycles cycles, stream table equal to its query after each refresh");

	# For tuning the corpus: how big the sources ended.
	note("$name: rows at the end: "
		  . join(', ', map {
			  "$_->{name} " . $node->safe_psql($db, "$ctx->{setup} SELECT count(*) FROM $_->{name}")
		  } @{ $shape->{tables} }));
}

my %seen;
foreach my $shape (@shapes)
{
	die "duplicate shape name $shape->{name}" if $seen{ $shape->{name} }++;
	next if defined $only && $shape->{name} !~ /$only/;
	subtest "shape $shape->{name}" => sub { run_shape($shape); };
}

# ===========================================================================
# Named scenarios
# ===========================================================================

# scenario(name, ddl, [st, query, cols], ...): creates a schema with the
# sources and the stream tables; returns the scenario, or undef when it is
# filtered out.
sub scenario
{
	my ($name, $ddl, @sts) = @_;
	my $schema = "sc_$name";
	my $setup = "SET search_path = $schema, public;";
	$node->safe_psql($db, "CREATE SCHEMA $schema;\n$setup\n$ddl");
	my $sc = { name => $name, setup => $setup, sts => [] };
	foreach my $s (@sts)
	{
		my $ctx = { st => $s->[0], query => $s->[1], cols => $s->[2], setup => $setup };
		is(create_st($ctx), '', "$name: stream table $s->[0] created") or next;
		my ($ok, $msg) = check_created($ctx);
		ok($ok, "$name: $s->[0] equals its query after creation") or diag("seed=$seed scenario=$name\n$msg");
		push @{ $sc->{sts} }, $ctx;
	}
	return $sc;
}

# step(scenario, label, sql, truncated => bool): runs the SQL, refreshes every
# stream table of the scenario, and checks each with the oracle.
sub step
{
	my ($sc, $label, $sql, %w) = @_;
	my ($ret, $stdout, $stderr) = $node->psql($db, "$sc->{setup}\n$sql");
	is($ret, 0, "$sc->{name}: $label: changes applied") or diag($stderr);
	foreach my $ctx (@{ $sc->{sts} })
	{
		my ($ok, $msg) = refresh_and_check($ctx, %w);
		ok($ok, "$sc->{name}: $label: $ctx->{st} equals its query")
		  or diag("seed=$seed scenario=$sc->{name} step=$label\n$msg\nchanges:\n$sql");
	}
}

# query_in(scenario, sql): runs a query in the scenario's schema
sub query_in
{
	my ($sc, $sql) = @_;
	return $node->safe_psql($db, "$sc->{setup}\n$sql");
}

sub run_scenario
{
	my ($name, $body) = @_;
	return if defined $only && $name !~ /$only/;
	subtest "scenario $name" => $body;
}

my $orders_ddl = q{
	CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
	CREATE TABLE orders (id int PRIMARY KEY, cust int, amount int NOT NULL);
	INSERT INTO customers SELECT i, 'c' || i FROM generate_series(1, 5) i;
	INSERT INTO orders SELECT i, 1 + i % 5, i * 10 FROM generate_series(1, 15) i;
};
my @orders_sts = (
	[ 'lines',
	  'SELECT o.id, c.id AS cid, c.name, o.amount FROM orders o JOIN customers c ON c.id = o.cust',
	  'id, cid, name, amount' ],
	[ 'per_customer',
	  'SELECT c.name, count(*) AS n, sum(o.amount) AS total FROM orders o JOIN customers c ON c.id = o.cust GROUP BY c.name',
	  'name, n, total' ]);

run_scenario(
	'join_key_moved_partner_deleted',
	sub {
		my $sc = scenario('join_key_moved_partner_deleted', $orders_ddl, @orders_sts);
		# order 1 belongs to customer 2
		step($sc, 'order moves to another customer, its old customer is deleted',
			q{UPDATE orders SET cust = 3 WHERE id = 1;
			  DELETE FROM customers WHERE id = 2;});
		step($sc, 'in one transaction: customer deleted first, its orders then move',
			q{BEGIN;
			  DELETE FROM customers WHERE id = 4;
			  UPDATE orders SET cust = 5 WHERE cust = 4;
			  COMMIT;});
		step($sc, 'order moves to a customer that does not exist yet, which is then inserted',
			q{UPDATE orders SET cust = 9 WHERE id = 2;
			  INSERT INTO customers VALUES (9, 'c9');});
		step($sc, 'deleted customer comes back under the same id with another name, orders move back',
			q{INSERT INTO customers VALUES (2, 'c2 again');
			  UPDATE orders SET cust = 2 WHERE id IN (1, 6);
			  DELETE FROM customers WHERE id = 3;});
		step($sc, 'order moves away and back before the refresh',
			q{UPDATE orders SET cust = 1 WHERE id = 7;
			  UPDATE orders SET cust = 5 WHERE id = 7;
			  UPDATE orders SET cust = 2 WHERE id = 7;});
	});

run_scenario(
	'join_both_sides_changed',
	sub {
		my $sc = scenario('join_both_sides_changed', $orders_ddl, @orders_sts);
		step($sc, 'customer renamed and its orders changed in one transaction',
			q{BEGIN;
			  UPDATE customers SET name = 'renamed' WHERE id = 1;
			  UPDATE orders SET amount = amount + 1 WHERE cust = 1;
			  COMMIT;});
		step($sc, 'new customer and its new orders in one transaction',
			q{BEGIN;
			  INSERT INTO orders VALUES (100, 10, 1), (101, 10, 2);
			  INSERT INTO customers VALUES (10, 'c10');
			  COMMIT;});
		step($sc, 'customer and all its orders deleted together',
			q{DELETE FROM customers WHERE id = 2;
			  DELETE FROM orders WHERE cust = 2;});
		step($sc, 'partners swap: customer ids exchanged and orders follow',
			q{BEGIN;
			  UPDATE customers SET id = -id WHERE id IN (3, 4);
			  UPDATE customers SET id = CASE id WHEN -3 THEN 4 ELSE 3 END WHERE id IN (-3, -4);
			  UPDATE orders SET cust = CASE cust WHEN 3 THEN 4 WHEN 4 THEN 3 END WHERE cust IN (3, 4);
			  COMMIT;});
		step($sc, 'both sides deleted and re-inserted with other values',
			q{BEGIN;
			  DELETE FROM customers WHERE id = 5;
			  DELETE FROM orders WHERE cust = 5;
			  INSERT INTO customers VALUES (5, 'c5 new');
			  INSERT INTO orders VALUES (500, 5, 5000);
			  COMMIT;});
	});

run_scenario(
	'writable_cte_both_inputs',
	sub {
		my $sc = scenario('writable_cte_both_inputs', $orders_ddl, @orders_sts);
		step($sc, 'one statement inserts into both join inputs',
			q{WITH c AS (INSERT INTO customers VALUES (20, 'cte'), (21, 'cte2') RETURNING id)
			  INSERT INTO orders SELECT 100 + id, id, id FROM c;});
		step($sc, 'one statement updates both join inputs',
			q{WITH u AS (UPDATE customers SET name = name || '!' WHERE id IN (1, 20) RETURNING id)
			  UPDATE orders SET amount = amount * 2 WHERE cust IN (SELECT id FROM u);});
		step($sc, 'one statement moves orders and deletes their old customer',
			q{WITH d AS (DELETE FROM customers WHERE id = 21 RETURNING id)
			  UPDATE orders SET cust = 1 WHERE cust IN (SELECT id FROM d);});
		step($sc, 'one statement deletes from both join inputs',
			q{WITH d AS (DELETE FROM customers WHERE id = 20 RETURNING id)
			  DELETE FROM orders WHERE cust IN (SELECT id FROM d);});
	});

run_scenario(
	'after_row_trigger_updates_new_rows',
	sub {
		# Two sources, each with an AFTER ROW trigger that updates the row its
		# statement just inserted; the trigger names sort before and after
		# any trigger name of trickle's.  The trigger on items also inserts a
		# join partner.
		my $sc = scenario(
			'after_row_trigger_updates_new_rows', q{
			CREATE TABLE items (id int PRIMARY KEY, g int, v int, note text);
			CREATE TABLE tags (id int PRIMARY KEY, item int, tag text);
			INSERT INTO items SELECT i, i % 3, i, 'seed' FROM generate_series(1, 6) i;
			INSERT INTO tags SELECT i, i, 'seed' FROM generate_series(1, 6) i;
			CREATE FUNCTION fix_item() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				UPDATE items SET v = v * 10, note = 'fixed' WHERE id = NEW.id;
				INSERT INTO tags VALUES (1000 + NEW.id, NEW.id, 'auto');
				RETURN NULL;
			END $$;
			CREATE TRIGGER "000_fix_item" AFTER INSERT ON items
				FOR EACH ROW EXECUTE FUNCTION fix_item();
			CREATE FUNCTION fix_tag() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				UPDATE tags SET tag = upper(tag) WHERE id = NEW.id;
				RETURN NULL;
			END $$;
			CREATE TRIGGER zzz_fix_tag AFTER INSERT ON tags
				FOR EACH ROW EXECUTE FUNCTION fix_tag();
			},
			[ 'items_st', 'SELECT id, g, v, note FROM items', 'id, g, v, note' ],
			[ 'items_agg', 'SELECT g, count(*) AS n, sum(v) AS s, max(note) AS mx FROM items GROUP BY g',
			  'g, n, s, mx' ],
			[ 'tagged', 'SELECT i.id, i.v, t.tag FROM items i JOIN tags t ON t.item = i.id',
			  'id, v, tag' ]);
		step($sc, 'a multi-row INSERT whose rows the trigger updates',
			q{INSERT INTO items VALUES (7, 1, 7, 'new'), (8, 2, 8, 'new'), (9, 1, 9, 'new');});
		is(query_in($sc, 'SELECT string_agg(v || note, \',\' ORDER BY id) FROM items WHERE id > 6'),
			'70fixed,80fixed,90fixed', 'the trigger did update the inserted rows');
		step($sc, 'INSERT … SELECT, then an update and a delete of inserted rows, in one transaction',
			q{BEGIN;
			  INSERT INTO items SELECT i, i % 3, i, 'bulk' FROM generate_series(10, 14) i;
			  UPDATE items SET g = 5 WHERE id = 10;
			  DELETE FROM items WHERE id = 11;
			  COMMIT;});
		step($sc, 'the trigger inside a savepoint rolled back',
			q{BEGIN;
			  SAVEPOINT s;
			  INSERT INTO items VALUES (20, 0, 1, 'gone');
			  ROLLBACK TO SAVEPOINT s;
			  INSERT INTO items VALUES (21, 0, 2, 'kept');
			  COMMIT;});
		step($sc, 'a tag inserted directly (its own trigger updates it)',
			q{INSERT INTO tags VALUES (50, 1, 'direct'), (51, 2, 'direct');});
	});

run_scenario(
	'savepoint_rollback',
	sub {
		my $sc = scenario(
			'savepoint_rollback', q{
			CREATE TABLE t (id int PRIMARY KEY, g int, v int);
			INSERT INTO t SELECT i, i % 4, i FROM generate_series(1, 20) i;
			},
			[ 'rows_st', 'SELECT id, g, v FROM t', 'id, g, v' ],
			[ 'groups_st', 'SELECT g, count(*) AS n, sum(v) AS s, min(v) AS mn FROM t GROUP BY g',
			  'g, n, s, mn' ]);
		step($sc, 'changes rolled back to a savepoint, others kept',
			q{BEGIN;
			  INSERT INTO t VALUES (100, 1, 100);
			  SAVEPOINT a;
			  INSERT INTO t VALUES (101, 1, 101);
			  UPDATE t SET v = -1 WHERE id = 100;
			  DELETE FROM t WHERE g = 2;
			  ROLLBACK TO SAVEPOINT a;
			  UPDATE t SET g = 3 WHERE id = 1;
			  COMMIT;});
		step($sc, 'nested savepoints: inner rolled back, outer released',
			q{BEGIN;
			  SAVEPOINT outer_sp;
			  DELETE FROM t WHERE id = 2;
			  SAVEPOINT inner_sp;
			  INSERT INTO t VALUES (2, 0, 222);
			  DELETE FROM t WHERE g = 1;
			  ROLLBACK TO SAVEPOINT inner_sp;
			  UPDATE t SET v = v + 1000 WHERE id = 3;
			  RELEASE SAVEPOINT outer_sp;
			  COMMIT;});
		step($sc, 'a row inserted in a rolled-back savepoint, then inserted again with other values',
			q{BEGIN;
			  SAVEPOINT a;
			  INSERT INTO t VALUES (200, 0, 1);
			  ROLLBACK TO SAVEPOINT a;
			  INSERT INTO t VALUES (200, 2, 2);
			  COMMIT;});
		step($sc, 'a whole transaction rolled back',
			q{BEGIN;
			  DELETE FROM t;
			  INSERT INTO t VALUES (300, 9, 9);
			  ROLLBACK;});
		step($sc, 'the same savepoint rolled back twice',
			q{BEGIN;
			  SAVEPOINT a;
			  UPDATE t SET v = 0;
			  ROLLBACK TO SAVEPOINT a;
			  DELETE FROM t WHERE id = 4;
			  ROLLBACK TO SAVEPOINT a;
			  UPDATE t SET v = v * 2 WHERE id = 5;
			  COMMIT;});
	});

run_scenario(
	'truncate_then_insert',
	sub {
		my $sc = scenario(
			'truncate_then_insert', q{
			CREATE TABLE t (id int PRIMARY KEY, g int, v int);
			CREATE TABLE d (g int PRIMARY KEY, label text);
			INSERT INTO t SELECT i, i % 4, i FROM generate_series(1, 20) i;
			INSERT INTO d SELECT i, 'g' || i FROM generate_series(0, 3) i;
			},
			[ 'rows_st', 'SELECT id, g, v FROM t', 'id, g, v' ],
			[ 'total_st', 'SELECT count(*) AS n, sum(v) AS s FROM t', 'n, s' ],
			[ 'joined_st', 'SELECT t.id, d.label FROM t JOIN d ON d.g = t.g', 'id, label' ]);
		step($sc, 'TRUNCATE then INSERT in one transaction',
			q{BEGIN;
			  TRUNCATE t;
			  INSERT INTO t VALUES (1, 0, 10), (2, 1, 20), (50, 2, 500);
			  COMMIT;},
			truncated => 1);
		step($sc, 'an ordinary change after the truncation', q{UPDATE t SET v = v + 1 WHERE id = 1;});
		step($sc, 'INSERT, TRUNCATE, INSERT and UPDATE in one transaction',
			q{BEGIN;
			  INSERT INTO t VALUES (60, 3, 600);
			  TRUNCATE t;
			  INSERT INTO t VALUES (61, 3, 610), (62, 0, 620);
			  UPDATE t SET g = 1 WHERE id = 61;
			  COMMIT;},
			truncated => 1);
		step($sc, 'TRUNCATE alone: the global aggregate has count 0',
			q{TRUNCATE t;}, truncated => 1);
		is(query_in($sc, 'SELECT n || \'|\' || coalesce(s::text, \'NULL\') FROM total_st'),
			'0|NULL', 'count 0 and sum NULL after TRUNCATE');
		step($sc, 'TRUNCATE of both join inputs, then new rows in both',
			q{BEGIN;
			  TRUNCATE t, d;
			  INSERT INTO d VALUES (7, 'seven');
			  INSERT INTO t VALUES (70, 7, 1), (71, 7, 2), (72, 8, 3);
			  COMMIT;},
			truncated => 1);
		step($sc, 'TRUNCATE in a savepoint that is rolled back',
			q{BEGIN;
			  SAVEPOINT s;
			  TRUNCATE t;
			  ROLLBACK TO SAVEPOINT s;
			  INSERT INTO t VALUES (80, 7, 8);
			  COMMIT;},
			truncated => 1);
		step($sc, 'an ordinary change at the end', q{DELETE FROM t WHERE id = 70;});
	});

run_scenario(
	'global_agg_emptied',
	sub {
		my $sc = scenario(
			'global_agg_emptied', q{
			CREATE TABLE t (id int PRIMARY KEY, v numeric);
			INSERT INTO t VALUES (1, 1.5), (2, 2.5), (3, NULL);
			},
			[ 'totals', 'SELECT count(*) AS n, count(v) AS nv, sum(v) AS s, min(v) AS mn, max(v) AS mx, avg(v) AS a FROM t',
			  'n, nv, s, mn, mx, a' ]);
		step($sc, 'every row deleted', q{DELETE FROM t;});
		is(query_in($sc, q{SELECT count(*) || ':' || string_agg(concat_ws('|', n, nv, coalesce(s::text, 'NULL'),
				coalesce(mn::text, 'NULL'), coalesce(mx::text, 'NULL'), coalesce(a::text, 'NULL')), ',') FROM totals}),
			'1:0|0|NULL|NULL|NULL|NULL', 'one row: count 0, the other aggregates NULL');
		step($sc, 'one row comes back', q{INSERT INTO t VALUES (1, 4);});
		step($sc, 'a row inserted and every row deleted in one transaction',
			q{BEGIN;
			  INSERT INTO t VALUES (2, 5);
			  DELETE FROM t WHERE v > 0;
			  COMMIT;});
		step($sc, 'only NULL values: count(v) 0, sum NULL, count(*) not 0',
			q{INSERT INTO t VALUES (3, NULL), (4, NULL);});
		step($sc, 'deleted row by row', q{DELETE FROM t WHERE id = 3; DELETE FROM t WHERE id = 4;});
	});

run_scenario(
	'minmax_null_group',
	sub {
		my $sc = scenario(
			'minmax_null_group', q{
			CREATE TABLE t (id int PRIMARY KEY, g int, v int);
			INSERT INTO t VALUES (1, NULL, 10), (2, NULL, 20), (3, NULL, 30), (4, NULL, 30),
				(5, 1, 5), (6, 1, 50), (7, NULL, NULL), (8, 2, 7);
			},
			[ 'mm', 'SELECT g, min(v) AS mn, max(v) AS mx, count(*) AS n FROM t GROUP BY g',
			  'g, mn, mx, n' ]);
		step($sc, 'one of two rows holding the NULL group\'s MAX deleted', q{DELETE FROM t WHERE id = 4;});
		step($sc, 'the NULL group\'s MAX deleted', q{DELETE FROM t WHERE id = 3;});
		is(query_in($sc, 'SELECT mn || \',\' || mx FROM mm WHERE g IS NULL'), '10,20',
			'the NULL group\'s MAX is the next value');
		step($sc, 'the NULL group\'s MIN deleted', q{DELETE FROM t WHERE id = 1;});
		step($sc, 'the NULL group\'s MAX moved to group 1', q{UPDATE t SET g = 1 WHERE id = 2;});
		is(query_in($sc, q{SELECT concat_ws(',', coalesce(mn::text, 'NULL'), coalesce(mx::text, 'NULL'), n) FROM mm WHERE g IS NULL}),
			'NULL,NULL,1', 'a NULL group holding only a NULL value: MIN and MAX NULL');
		step($sc, 'no change at all', q{SELECT 1;});
		step($sc, 'the NULL group\'s last row deleted', q{DELETE FROM t WHERE g IS NULL;});
		step($sc, 'the NULL group comes back with a new MIN and MAX',
			q{INSERT INTO t VALUES (9, NULL, 3), (10, NULL, 99);});
		step($sc, 'the NULL group\'s MAX lowered below its MIN', q{UPDATE t SET v = 1 WHERE id = 10;});
	});

run_scenario(
	'count_col_nulls',
	sub {
		my $sc = scenario(
			'count_col_nulls', q{
			CREATE TABLE t (id int PRIMARY KEY, g int, a int);
			INSERT INTO t VALUES (1, 1, 1), (2, 1, NULL), (3, 1, 3), (4, 2, NULL), (5, 2, NULL);
			},
			[ 'counts', 'SELECT g, count(*) AS n, count(a) AS na, sum(a) AS sa FROM t GROUP BY g',
			  'g, n, na, sa' ],
			[ 'global_counts', 'SELECT count(*) AS n, count(a) AS na FROM t', 'n, na' ]);
		step($sc, 'every value of group 1 set to NULL', q{UPDATE t SET a = NULL WHERE g = 1;});
		is(query_in($sc, 'SELECT n || \',\' || na || \',\' || coalesce(sa::text, \'NULL\') FROM counts WHERE g = 1'),
			'3,0,NULL', 'count(a) 0 and sum NULL for a group of NULLs');
		step($sc, 'one value comes back', q{UPDATE t SET a = 7 WHERE id = 2;});
		step($sc, 'a new group of NULLs only', q{INSERT INTO t VALUES (6, 3, NULL), (7, 3, NULL);});
		step($sc, 'the only non-NULL value deleted', q{DELETE FROM t WHERE id = 2;});
		step($sc, 'NULL to value and value to NULL in one transaction',
			q{BEGIN;
			  UPDATE t SET a = 1 WHERE id = 6;
			  UPDATE t SET a = NULL WHERE id = 6;
			  UPDATE t SET a = 2 WHERE id = 4;
			  COMMIT;});
	});

run_scenario(
	'open_writer_during_create',
	sub {
		# A transaction that has written to the source is still open when the
		# stream table is created.  Its rows must not be lost: they are either
		# in the stream table when create_stream_table returns or brought in
		# by the next refresh.
		my $name = 'open_writer_during_create';
		my $setup = "SET search_path = sc_$name, public;";
		$node->safe_psql(
			$db, qq{CREATE SCHEMA sc_$name; $setup
			CREATE TABLE t (id int PRIMARY KEY, g int, v int);
			INSERT INTO t SELECT i, i % 3, i FROM generate_series(1, 10) i;});

		my $writer = $node->background_psql($db);
		$writer->query_safe(
			qq{$setup
			BEGIN;
			INSERT INTO t VALUES (1001, 1, 1001);
			UPDATE t SET v = v + 100 WHERE id = 3;
			DELETE FROM t WHERE id = 4;});

		# The creation runs in a session of its own: it may wait for the
		# writer's locks.
		my $creator = $node->background_psql($db, on_error_stop => 0);
		$creator->query_safe("$setup SET application_name = 'oracle_creator';");
		$creator->query_until(
			qr/create issued/, qq{\\echo create issued
SELECT 'created ' || trickle.create_stream_table('st', 'SELECT id, g, v FROM t', refresh_mode => '$mode');
SELECT 'created ' || trickle.create_stream_table('st_agg', 'SELECT g, count(*) AS n, sum(v) AS s FROM t GROUP BY g', refresh_mode => '$mode');
});

		# Wait until the creation either waits for a lock or is done.
		ok( $node->poll_query_until(
				$db, qq{
				SELECT count(*) > 0 FROM pg_stat_activity
				 WHERE application_name = 'oracle_creator'
				   AND query LIKE '%create_stream_table%'
				   AND (wait_event_type = 'Lock' OR state = 'idle')}),
			"$name: the creation waits for the writer or is done");
		my $waiting = $node->safe_psql(
			$db, qq{
			SELECT count(*) FROM pg_stat_activity
			 WHERE application_name = 'oracle_creator' AND wait_event_type = 'Lock'});
		note("$name: the creation " . ($waiting ? 'waits for the writer' : 'did not wait'));

		$writer->query_safe('COMMIT');
		$writer->quit;

		# A query after the creation returns once the creation is done.
		my ($out, $failed) = $creator->query('SELECT 1');
		my $stderr = $creator->{stderr};
		$creator->quit;
		ok(!$failed, "$name: both creations succeeded") or diag($stderr);
		is( $node->safe_psql(
				$db, qq{$setup
				SELECT count(*) FROM trickle.stream_tables
				 WHERE name IN ('st'::regclass, 'st_agg'::regclass)}),
			'2',
			"$name: both stream tables exist");

		foreach my $s ([ 'st', 'id, g, v', 'SELECT id, g, v FROM t' ],
			[ 'st_agg', 'g, n, s', 'SELECT g, count(*) AS n, sum(v) AS s FROM t GROUP BY g' ])
		{
			my $ctx = { st => $s->[0], cols => $s->[1], query => $s->[2], setup => $setup };
			my $d = diff_rows($node, $db, $ctx->{st}, $ctx->{cols}, $ctx->{query}, setup => $setup);
			note("$name: $s->[0] right after creation: " . describe_diff($d));
			my ($ok, $msg) = refresh_and_check($ctx);
			ok($ok, "$name: $s->[0] equals its query after the next refresh")
			  or diag("seed=$seed scenario=$name\n$msg");
		}
		is($node->safe_psql($db, "$setup SELECT count(*) FROM st WHERE id = 1001"),
			'1', "$name: the open transaction's row is in the stream table");
		is($node->safe_psql($db, "$setup SELECT count(*) FROM st WHERE id = 4"),
			'0', "$name: the row the open transaction deleted is not");

		# And changes after that are followed.
		my $sc = { name => $name, setup => $setup, sts => [
			{ st => 'st', cols => 'id, g, v', query => 'SELECT id, g, v FROM t', setup => $setup },
			{ st => 'st_agg', cols => 'g, n, s', query => 'SELECT g, count(*) AS n, sum(v) AS s FROM t GROUP BY g',
			  setup => $setup } ] };
		step($sc, 'changes after the creation',
			q{INSERT INTO t VALUES (1002, 2, 2); UPDATE t SET g = 0 WHERE id = 1001;});
	});

$node->stop;

done_testing();
