
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

# allowed_actions(changed => bool, truncated => bool, reinit => bool): the
# actions a refresh may report in the current mode.  "changed" is whether the
# query's result differs from the stream table before the refresh;
# "truncated" whether the batch truncated a source; "reinit" whether it
# moved rows in a way that makes the consumers recompute (ATTACH, DETACH,
# INHERIT, MERGE into a partitioned table, DROP of a partition).
sub allowed_actions
{
	my (%w) = @_;
	my @ok =
	    $mode eq 'full' ? ('FULL')
	  : $mode eq 'differential' ? ('DIFFERENTIAL')
	  :                           ('FULL', 'DIFFERENTIAL');
	push @ok, 'REINITIALIZE' if $w{truncated} || $w{reinit};
	push @ok, 'FULL' if $w{full_fallback} && $mode eq 'differential';
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

	# apply => qr/.../: how explain_stream_table says a differential
	# refresh applies the changes (the direct apply, or the MERGE)
	if ($ctx->{apply} && $mode eq 'differential')
	{
		my $apply = $node->safe_psql(
			$db, qq{$ctx->{setup}
			SELECT value FROM trickle.explain_stream_table('$name') WHERE property = 'apply'});
		push @problems, "apply is '$apply', expected $ctx->{apply}"
		  unless $apply =~ $ctx->{apply};
	}

	return (!@problems, join("\n", @problems));
}

# refresh_and_check(ctx, truncated => bool, reinit => bool): compares before
# the refresh (to learn whether the sources' changes touched the query's
# result), refreshes, and compares again.  Returns (ok, message); the message
# describes every problem and the differing rows.
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
		truncated => $w{truncated},
		reinit => $w{reinit},
		full_fallback => $ctx->{full_fallback});
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
our @fruits = ('apple', 'Apricot', 'banana', 'Berry', 'cherry', 'date', 'elderberry', 'fig', 'kiwi');
our @regions = ('north', 'south', 'east', 'west', 'nowhere');
our @statuses = ('open', 'paid', 'void', 'held');
# Mixed case and punctuation: their order differs between "C" and
# linguistic collations.
our @ckeys = ('a', 'B', 'b', 'Z', 'z', '_u', 'ab', 'AB', 'Ab', 'm', 'M');

# ===========================================================================
# The corpus.  A shape is
#   name      its name (also the schema of its tables, "sh_<name>", unless
#             schema is given)
#   ddl       creates the source tables (search_path is the shape's schema)
#   tables    the tables the change batches write: name (SQL identifier),
#             pk (an integer primary key column, values chosen by the test;
#             absent for a table without a key), rows (initial row count),
#             cols (the other columns the test writes); for partitions and
#             inheritance children, which share their keys with the root,
#             first_id (the first key value this table writes, default 1)
#   query     the defining query
#   cols      the columns to compare
#   st        the stream table's name (default st)
#   truncate  whether some batches TRUNCATE a source
#   extra_ops [weight, sub returning SQL statements] changes specific to the
#             shape, drawn together with the generic ones
#   inserts_only  the change batches only insert rows (the generic changes
#             that insert, and extra_ops; no TRUNCATE)
#   full_fallback  a differential stream table may refresh FULL (a construct
#             maintained differentially for some changes only, such as
#             recursive WITH queries for insertions)
#   pre_refresh  upstream stream tables (names, as the ddl created them with
#             trickle.create_stream_table) that the query reads: refreshed
#             in this order before each check of st, as the scheduler would
#             (upstreams first); every third cycle with "full" => true, so
#             that st also reads the changes of an upstream's FULL rewrite
# ===========================================================================

our @shapes;

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

# --- partitioned and inheritance sources ----------------------------------------
#
# A list-partitioned table with a leaf whose columns are in another order and
# follow a dropped one, a sub-partitioned (by range) intermediate level and a
# default partition.  Batches write through the root (moving rows between
# partitions by changing region or id), through the intermediate table and
# into leaves directly; a leaf's generators only yield values of that leaf.
# The tables have no key (a primary key would have to include region, and
# random moves would collide on it): rows are a bag.

our $parts_ddl = q{
	CREATE TABLE m (id int, region text, g int, v int, note text) PARTITION BY LIST (region);
	CREATE TABLE m_north PARTITION OF m FOR VALUES IN ('north');
	CREATE TABLE m_south (note text, junk int, v int, g int, region text, id int);
	ALTER TABLE m_south DROP COLUMN junk;
	ALTER TABLE m ATTACH PARTITION m_south FOR VALUES IN ('south');
	CREATE TABLE m_ew PARTITION OF m FOR VALUES IN ('east', 'west') PARTITION BY RANGE (id);
	CREATE TABLE m_ew_lo PARTITION OF m_ew FOR VALUES FROM (MINVALUE) TO (40);
	CREATE TABLE m_ew_hi PARTITION OF m_ew FOR VALUES FROM (40) TO (MAXVALUE);
	CREATE TABLE m_rest PARTITION OF m DEFAULT;
};

# the root and the tables written directly
sub parts_tables
{
	my @common = (col('g', g_int(0, 5, 0.1), 'key'), col('v', g_int(0, 50, 0.1)),
		col('note', g_text(\@fruits, 0.3)));
	my $part = sub {
		my ($name, $regions, $ids) = @_;
		return { name => $name, rows => 6,
			cols => [ col('id', $ids), col('region', g_text($regions)), @common ] };
	};
	return (
		{ name => 'm', rows => 50,
		  cols => [ col('id', g_int(1, 80), 'key'),
					col('region', g_text([ @regions, 'up' ], 0.05), 'key'), @common ] },
		$part->('m_north', [ 'north' ], g_int(1, 80)),
		$part->('m_south', [ 'south' ], g_int(1, 80)),
		$part->('m_ew', [ 'east', 'west' ], g_int(1, 80)),
		$part->('m_ew_hi', [ 'east', 'west' ], g_int(40, 80)),
		$part->('m_rest', [ 'nowhere', 'up' ], g_int(1, 80)));
}

push @shapes, {
	name => 'part_list_agg',
	ddl => $parts_ddl,
	tables => [ parts_tables() ],
	query => q{SELECT region, g, count(*) AS n, count(note) AS nn, sum(v) AS s, avg(v) AS a
		FROM m GROUP BY region, g},
	cols => 'region, g, n, nn, s, a',
	truncate => 1,
};

push @shapes, {
	name => 'part_scan_filter',
	ddl => $parts_ddl,
	tables => [ parts_tables() ],
	query => q{SELECT id, region, g, v FROM m WHERE v IS DISTINCT FROM 7 AND region <> 'west'},
	cols => 'id, region, g, v',
};

push @shapes, {
	name => 'part_join_plain',
	ddl => $parts_ddl . q{CREATE TABLE gdim (g int PRIMARY KEY, label text);},
	tables => [ parts_tables(),
		{ name => 'gdim', pk => 'g', rows => 5, cols => [ col('label', g_text(\@statuses, 0.1)) ] } ],
	query => q{SELECT m.id, m.region, d.g, d.label, m.v FROM m JOIN gdim d ON d.g = m.g},
	cols => 'id, region, g, label, v',
};

push @shapes, {
	name => 'part_join_agg',
	ddl => $parts_ddl . q{CREATE TABLE gdim (g int PRIMARY KEY, label text);},
	tables => [ parts_tables(),
		{ name => 'gdim', pk => 'g', rows => 5, cols => [ col('label', g_text(\@statuses, 0.1), 'key') ] } ],
	query => q{SELECT d.label, m.region, count(*) AS n, sum(m.v) AS s, bool_or(m.v > 40) AS big
		FROM m JOIN gdim d ON d.g = m.g GROUP BY d.label, m.region},
	cols => 'label, region, n, s, big',
	truncate => 1,
};

# Range partitions on the grouping key itself: changing k moves a row.
push @shapes, {
	name => 'part_range_self_join',
	ddl => q{
		CREATE TABLE r (id int, k int, amt numeric) PARTITION BY RANGE (k);
		CREATE TABLE r_lo PARTITION OF r FOR VALUES FROM (MINVALUE) TO (3);
		CREATE TABLE r_mid (amt numeric, k int, id int);
		ALTER TABLE r ATTACH PARTITION r_mid FOR VALUES FROM (3) TO (6);
		CREATE TABLE r_hi PARTITION OF r FOR VALUES FROM (6) TO (MAXVALUE);
	},
	tables => [
		{ name => 'r', rows => 40,
		  cols => [ col('id', g_int(1, 60)), col('k', g_int(0, 8), 'key'), col('amt', g_num(0, 100, 0.1)) ] },
		{ name => 'r_mid', rows => 5,
		  cols => [ col('id', g_int(1, 60)), col('k', g_int(3, 5), 'key'), col('amt', g_num(0, 100, 0.1)) ] } ],
	query => q{SELECT a.k, count(*) AS n, sum(a.amt) AS s, sum(b.amt) AS sb
		FROM r a JOIN r b ON b.k = a.k + 1 GROUP BY a.k},
	cols => 'k, n, s, sb',
	truncate => 1,
};

# Inheritance: a parent with two children, one of them with more columns in
# another order; UPDATE and DELETE through the parent reach the children.
push @shapes, {
	name => 'inherit_agg',
	ddl => q{
		CREATE TABLE p (id int PRIMARY KEY, g int, v int);
		CREATE TABLE c1 () INHERITS (p);
		ALTER TABLE c1 ADD PRIMARY KEY (id);
		CREATE TABLE c2 (extra text, v int, g int, id int PRIMARY KEY);
		ALTER TABLE c2 INHERIT p;
	},
	tables => [
		{ name => 'p', pk => 'id', rows => 20,
		  cols => [ col('g', g_int(0, 4, 0.1), 'key'), col('v', g_int(0, 30, 0.1)) ] },
		{ name => 'c1', pk => 'id', first_id => 100_000, rows => 15,
		  cols => [ col('g', g_int(0, 4, 0.1), 'key'), col('v', g_int(0, 30, 0.1)) ] },
		{ name => 'c2', pk => 'id', first_id => 200_000, rows => 15,
		  cols => [ col('g', g_int(0, 4, 0.1), 'key'), col('v', g_int(0, 30, 0.1)),
					col('extra', g_text(\@fruits, 0.2)) ] } ],
	query => q{SELECT g, count(*) AS n, sum(v) AS s, avg(v) AS a FROM p GROUP BY g},
	cols => 'g, n, s, a',
	truncate => 1,
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
	my $first = $t->{first_id} // 1;
	return $first + int(rand($t->{next_id} - $first))
	  if $t->{next_id} > $first && rand() < 1 / 6;
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
	[ 30, sub { my ($t) = @_; return insert_sql($t, 1 + int(rand(4))); }, 'insert' ],
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
	}, 'insert' ],
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
	}, 'insert' ],
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
		my $first = $t->{first_id} // 1;
		my $id = $first + int(rand($t->{next_id} - $first + 1));
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
		my @generic = grep { !$shape->{inserts_only} || ($_->[2] // '') eq 'insert' } @generic_ops;
		my @choices = map { my $op = $_->[1]; [ $_->[0], sub { $op->($t) } ] } @generic;
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
	if ($shape->{truncate} && !$shape->{inserts_only} && $cycle % 10 == 5)
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

# refresh_upstreams(shape, ctx, cycle): refreshes the shape's pre_refresh
# stream tables in order; returns '' or what went wrong
sub refresh_upstreams
{
	my ($shape, $ctx, $cycle) = @_;
	foreach my $up (@{ $shape->{pre_refresh} // [] })
	{
		my $r = refresh_row($node, $db, $up, setup => $ctx->{setup},
			full => $cycle % 3 == 0);
		return "refresh of upstream $up failed: $r->{error}" if $r->{error};
		note("upstream $up: $r->{action}|$r->{inserted}|$r->{deleted}");
	}
	return '';
}

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
		full_fallback => $shape->{full_fallback},
		apply => $shape->{apply},
	};
	my $where = "seed=$seed shape=$name mode=$mode";

	srand(shape_seed($name));


	# Sources and their initial rows.
	my $init = "CREATE SCHEMA $schema;\n$ctx->{setup}\n$shape->{ddl};\n";
	foreach my $t (@{ $shape->{tables} })
	{
		$t->{next_id} = $t->{first_id} // 1;
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

		if (my $err = refresh_upstreams($shape, $ctx, $cycle))
		{
			fail("$name cycle $cycle: upstream refresh");
			diag("$where cycle=$cycle: $err\nbatch:\n$batch");
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

# More of the corpus, one file per family of constructs (t/oracle/*.pl).
# They run in this package: they call col(), g_int() and the like and push
# onto @shapes.
foreach my $file (sort glob("$FindBin::RealBin/oracle/*.pl"))
{
	my $ok = do $file;
	BAIL_OUT("corpus file $file: " . ($@ || $! || 'did not return true')) unless $ok;
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

# step(scenario, label, sql, truncated => bool, reinit => bool): runs the
# SQL, refreshes every stream table of the scenario, and checks each with the
# oracle.
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

# --- partitioned and inheritance sources ----------------------------------------

my $events_ddl = q{
	CREATE TABLE events (id int, kind text NOT NULL, amount int, PRIMARY KEY (id, kind))
		PARTITION BY LIST (kind);
	CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('a');
	CREATE TABLE events_bc PARTITION OF events FOR VALUES IN ('b', 'c') PARTITION BY RANGE (id);
	CREATE TABLE events_bc_lo PARTITION OF events_bc FOR VALUES FROM (MINVALUE) TO (100);
	CREATE TABLE events_bc_hi (amount int, junk int, kind text NOT NULL, id int NOT NULL);
	ALTER TABLE events_bc_hi DROP COLUMN junk;
	ALTER TABLE events_bc ATTACH PARTITION events_bc_hi FOR VALUES FROM (100) TO (MAXVALUE);
	CREATE TABLE kinds (kind text PRIMARY KEY, label text);
	INSERT INTO kinds VALUES ('a', 'A'), ('b', 'B'), ('c', 'C'), ('d', 'D'), ('e', 'E');
	INSERT INTO events SELECT i, (ARRAY['a', 'b', 'c'])[1 + i % 3], i FROM generate_series(1, 30) i;
	INSERT INTO events SELECT i, 'c', i FROM generate_series(100, 110) i;
};
my @events_sts = (
	[ 'per_kind', 'SELECT kind, count(*) AS n, sum(amount) AS s FROM events GROUP BY kind',
	  'kind, n, s' ],
	[ 'labelled', 'SELECT e.id, k.label, e.amount FROM events e JOIN kinds k ON k.kind = e.kind',
	  'id, label, amount' ],
	[ 'big_events', 'SELECT id, kind, amount FROM events WHERE amount > 10', 'id, kind, amount' ]);

run_scenario(
	'part_writes_everywhere',
	sub {
		my $sc = scenario('part_writes_everywhere', $events_ddl, @events_sts);
		step($sc, 'rows moved between partitions through the root',
			q{UPDATE events SET kind = 'b' WHERE kind = 'a' AND id < 10;
			  UPDATE events SET id = id + 200 WHERE kind = 'c' AND id < 20;});
		step($sc, 'through the intermediate table, moving between its leaves',
			q{UPDATE events_bc SET id = id + 100 WHERE id BETWEEN 20 AND 25;
			  DELETE FROM events_bc WHERE id = 105;});
		step($sc, 'into leaves directly, one with another column order',
			q{INSERT INTO events_bc_hi (id, kind, amount) VALUES (500, 'b', 5), (501, 'c', 50);
			  UPDATE events_bc_hi SET amount = amount + 1;
			  INSERT INTO events_a VALUES (40, 'a', 40);
			  DELETE FROM events_bc_lo WHERE id = 29;});
		step($sc, 'upserts and COPY through the root',
			q{INSERT INTO events VALUES (1, 'b', 1000), (41, 'a', 41), (500, 'b', 0)
			    ON CONFLICT (id, kind) DO UPDATE SET amount = EXCLUDED.amount;
			  COPY events FROM STDIN;
600	a	6
601	c	60
\.
			});
		step($sc, 'a partition created later, written through the root and directly',
			q{CREATE TABLE events_d PARTITION OF events FOR VALUES IN ('d');
			  INSERT INTO events VALUES (70, 'd', 70), (71, 'd', 71);
			  INSERT INTO events_d VALUES (72, 'd', 72);
			  UPDATE events SET kind = 'd' WHERE id = 40;});
		step($sc, 'in one transaction with a savepoint rolled back',
			q{BEGIN;
			  UPDATE events SET kind = 'a' WHERE id = 70;
			  SAVEPOINT s;
			  DELETE FROM events_d;
			  ROLLBACK TO SAVEPOINT s;
			  INSERT INTO events_d VALUES (73, 'd', 73);
			  COMMIT;});
	});

run_scenario(
	'part_attach_detach',
	sub {
		my $sc = scenario('part_attach_detach', $events_ddl, @events_sts);
		step($sc, 'ATTACH of a table with rows',
			q{CREATE TABLE events_e (id int NOT NULL, kind text NOT NULL, amount int);
			  INSERT INTO events_e VALUES (80, 'e', 80), (81, 'e', 81);
			  ALTER TABLE events ATTACH PARTITION events_e FOR VALUES IN ('e');},
			reinit => 1);
		step($sc, 'writes to the attached partition, directly and through the root',
			q{INSERT INTO events_e VALUES (82, 'e', 82);
			  UPDATE events SET kind = 'e' WHERE id = 1;});
		step($sc, 'DETACH',
			q{ALTER TABLE events DETACH PARTITION events_e;}, reinit => 1);
		step($sc, 'writes to the detached table are not the source\'s',
			q{INSERT INTO events_e VALUES (83, 'e', 83); DELETE FROM events_e WHERE id = 80;});
		step($sc, 'ATTACH of a sub-partitioned table whose leaves hold rows',
			q{CREATE TABLE events_d (id int NOT NULL, kind text NOT NULL, amount int)
			    PARTITION BY RANGE (id);
			  CREATE TABLE events_d1 PARTITION OF events_d FOR VALUES FROM (0) TO (100);
			  CREATE TABLE events_d2 PARTITION OF events_d FOR VALUES FROM (100) TO (1000);
			  INSERT INTO events_d VALUES (5, 'd', 5), (150, 'd', 150);
			  ALTER TABLE events ATTACH PARTITION events_d FOR VALUES IN ('d');},
			reinit => 1);
		step($sc, 'rows moved into and inside the attached subtree',
			q{UPDATE events SET kind = 'd' WHERE id = 2;
			  UPDATE events_d SET id = id + 100 WHERE id = 5;
			  INSERT INTO events_d2 VALUES (151, 'd', 151);});
		step($sc, 'an empty partition attached and detached',
			q{CREATE TABLE events_x (id int NOT NULL, kind text NOT NULL, amount int);
			  ALTER TABLE events ATTACH PARTITION events_x FOR VALUES IN ('x');
			  ALTER TABLE events DETACH PARTITION events_x;});
		step($sc, 'DETACH CONCURRENTLY of a partition with rows',
			q{ALTER TABLE events DETACH PARTITION events_d CONCURRENTLY;}, reinit => 1);
		step($sc, 'writes after the detach',
			q{INSERT INTO events_d VALUES (160, 'd', 160); INSERT INTO events VALUES (161, 'a', 161);});
		step($sc, 'DROP of a partition with rows',
			q{DROP TABLE events_a;}, reinit => 1);
		step($sc, 'writes after the drop',
			q{UPDATE events SET amount = amount * 2 WHERE kind = 'b';});
	});

run_scenario(
	'part_truncate',
	sub {
		my $sc = scenario('part_truncate', $events_ddl, @events_sts);
		step($sc, 'TRUNCATE of one leaf', q{TRUNCATE events_bc_lo;}, truncated => 1);
		step($sc, 'an ordinary change', q{INSERT INTO events VALUES (50, 'b', 50);});
		step($sc, 'TRUNCATE of the intermediate table, then rows in it again',
			q{BEGIN;
			  TRUNCATE events_bc;
			  INSERT INTO events VALUES (51, 'c', 51), (151, 'b', 151);
			  COMMIT;},
			truncated => 1);
		step($sc, 'TRUNCATE of the root', q{TRUNCATE events;}, truncated => 1);
		step($sc, 'rows come back', q{INSERT INTO events VALUES (1, 'a', 1), (2, 'b', 2);});
	});

run_scenario(
	'part_merge',
	sub {
		my $sc = scenario('part_merge', $events_ddl, @events_sts);
		step($sc, 'MERGE into the root moving rows between partitions',
			q{MERGE INTO events e USING (VALUES (1, 'c'), (2, 'a'), (300, 'b')) s(id, kind)
			    ON e.id = s.id
			  WHEN MATCHED THEN UPDATE SET kind = s.kind
			  WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.kind, 3);},
			reinit => 1);
		step($sc, 'MERGE into the intermediate table moving rows between its leaves',
			q{MERGE INTO events_bc e USING (VALUES (4, 150)) s(old, new) ON e.id = s.old
			  WHEN MATCHED THEN UPDATE SET id = s.new;},
			reinit => 1);
		step($sc, 'MERGE into a leaf, which cannot move rows',
			q{MERGE INTO events_a e USING (VALUES (3, 33), (600, 6)) s(id, amount) ON e.id = s.id
			  WHEN MATCHED THEN UPDATE SET amount = s.amount
			  WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'a', s.amount);});
		step($sc, 'MERGE into the plain table of the join',
			q{MERGE INTO kinds k USING (VALUES ('a', 'alpha'), ('z', 'zeta')) s(kind, label)
			    ON k.kind = s.kind
			  WHEN MATCHED THEN UPDATE SET label = s.label
			  WHEN NOT MATCHED THEN INSERT VALUES (s.kind, s.label);
			  MERGE INTO kinds k USING (VALUES ('e')) s(kind) ON k.kind = s.kind
			  WHEN MATCHED THEN DELETE;});
	});

run_scenario(
	'inherit',
	sub {
		my $sc = scenario(
			'inherit', q{
			CREATE TABLE base (id int, g int, v int);
			INSERT INTO base SELECT i, i % 3, i FROM generate_series(1, 10) i;
			CREATE TABLE outsider (id int, g int, v int);
			},
			[ 'base_rows', 'SELECT id, g, v FROM base', 'id, g, v' ],
			[ 'base_groups', 'SELECT g, count(*) AS n, sum(v) AS s FROM base GROUP BY g', 'g, n, s' ]);
		step($sc, 'INHERIT of a table with rows (another column order)',
			q{CREATE TABLE kid (note text, v int, g int, id int);
			  INSERT INTO kid VALUES ('x', 100, 1, 100), ('y', 101, 2, 101);
			  ALTER TABLE kid INHERIT base;},
			reinit => 1);
		step($sc, 'UPDATE and DELETE through the parent reach the child',
			q{UPDATE base SET v = v + 1000 WHERE g = 1;
			  DELETE FROM base WHERE id = 101;});
		step($sc, 'writes into the child directly, and a grandchild created later',
			q{INSERT INTO kid VALUES ('z', 102, 0, 102);
			  CREATE TABLE grandkid () INHERITS (kid);
			  INSERT INTO grandkid VALUES ('g', 103, 0, 103);
			  UPDATE kid SET g = 2 WHERE id = 103;});
		my ($ret, $stdout, $stderr) = $node->psql($db,
			"$sc->{setup} ALTER TABLE grandkid INHERIT outsider;");
		if ($mode eq 'full')
		{
			is($ret, 0, 'inherit: FULL stream tables do not mind a second parent');
			$node->safe_psql($db, "$sc->{setup} ALTER TABLE grandkid NO INHERIT outsider;");
		}
		else
		{
			like($stderr, qr/also inherits from "outsider"/,
				'inherit: a member inheriting from a table outside the tree is refused');
		}
		step($sc, 'NO INHERIT of the child with its grandchild',
			q{ALTER TABLE kid NO INHERIT base;}, reinit => 1);
		step($sc, 'writes to the former child are not the source\'s',
			q{INSERT INTO kid VALUES ('w', 104, 0, 104); UPDATE base SET v = -v WHERE id = 1;});
		step($sc, 'a child created with INHERITS, then dropped with its rows',
			q{CREATE TABLE kid2 (id int, g int, v int) INHERITS (base);
			  INSERT INTO kid2 VALUES (200, 0, 200);
			  DROP TABLE kid2;},
			reinit => 1);
	});

$node->stop;

done_testing();
