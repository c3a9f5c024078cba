
# Copyright (c) trickle contributors

# Stream tables reading stream tables.
#
# An upstream stream table read by a DIFFERENTIAL stream table is captured
# like a table: its refreshes' writes fire trickle's capture triggers, and
# the downstream reads the upstream's change buffer.  This test checks:
#
#   * a three-level chain (a join, an aggregate over it, a filter over that)
#     and a diamond (a second downstream of the join, and a downstream
#     joining the join with the aggregate) under random changes: after
#     refreshing in dependency order, each stream table equals its query run
#     fresh (EXCEPT ALL both ways), downstreams refresh DIFFERENTIAL, and
#     the upstreams are refreshed in each of their modes: DIFFERENTIAL, FULL
#     ("full" => true) and REINITIALIZE (after a TRUNCATE of their source);
#   * the buffer of an upstream holds only the visible columns downstreams
#     read; reading a __trickle_* column is not maintained differentially;
#   * dropping an upstream needs CASCADE; dropping its last downstream
#     removes its capture triggers and buffer;
#   * the scheduler brings a ten-level chain up to date after one commit to
#     its source, each level refreshed after the one it reads, driven by
#     the wake-ups of the refresh workers' commits alone (the safety check
#     is an hour away).
#
# Waits poll with a timeout; nothing asserts a wall-clock time.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use TrickleTest;

my $node = PostgreSQL::Test::Cluster->new('chains');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'trickle'
max_worker_processes = 16
trickle.enabled = off
trickle.max_workers = 4
trickle.safety_interval = '1h'
});
$node->start;
my $db = 'postgres';
$node->safe_psql($db, 'CREATE EXTENSION trickle');
# the test role may be called trickle, whose "$user" schema would be the
# extension's
$node->safe_psql($db, 'ALTER ROLE CURRENT_USER SET search_path = public');

srand($ENV{TRICKLE_CHAINS_SEED} // 20261124);

# ===========================================================================
# A chain and a diamond under random changes
# ===========================================================================

# name => [columns to compare, defining query], in dependency order
my @order = qw(l1 l2 l3 d1 d2);
my %st = (
	l1 => [ 'id, g, v, label',
		'SELECT s.id, s.g, s.v, d.label FROM src s JOIN dim d ON d.g = s.g' ],
	l2 => [ 'label, n, total, mn',
		'SELECT label, count(*) AS n, sum(v) AS total, min(v) AS mn FROM l1 GROUP BY label' ],
	l3 => [ 'label, n, total', 'SELECT label, n, total FROM l2 WHERE n > 2' ],
	d1 => [ 'g, label, n',
		'SELECT g, label, count(*) AS n FROM l1 WHERE v > 20 GROUP BY g, label' ],
	d2 => [ 'id, label, n, total',
		'SELECT a.id, a.label, b.n, b.total FROM l1 a JOIN l2 b ON b.label = a.label' ],
);

$node->safe_psql($db, q{
	CREATE TABLE src (id int PRIMARY KEY, g int, v int, s text);
	CREATE TABLE dim (g int PRIMARY KEY, label text);
	INSERT INTO dim SELECT i, (ARRAY['red', 'green', 'blue'])[i % 3 + 1] FROM generate_series(0, 7) i;
	INSERT INTO src SELECT i, i % 9, i % 41, 's' || i % 4 FROM generate_series(1, 80) i;
});
foreach my $name (@order)
{
	$node->safe_psql($db,
		"SELECT trickle.create_stream_table('$name', \$q\$$st{$name}[1]\$q\$, refresh_mode => 'differential')");
	is(diff_count($node, $db, $name, @{ $st{$name} }), '0', "$name equals its query after creation");
}
is($node->safe_psql($db,
		"SELECT string_agg(effective_mode, ',' ORDER BY name::text) FROM trickle.stream_tables"),
	'DIFFERENTIAL,DIFFERENTIAL,DIFFERENTIAL,DIFFERENTIAL,DIFFERENTIAL',
	'every stream table of the chain and the diamond is DIFFERENTIAL');

# capture_triggers(relation): how many capture triggers it carries
sub capture_triggers
{
	my ($rel) = @_;
	return $node->safe_psql($db, qq{
		SELECT count(*) FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
		 WHERE p.proname = '_capture' AND t.tgrelid = '$rel'::regclass});
}

# buffer_exists(relation): whether its change buffer exists
sub buffer_exists
{
	my ($rel) = @_;
	return $node->safe_psql($db,
		"SELECT to_regclass('trickle_changes.changes_' || '$rel'::regclass::oid) IS NOT NULL");
}

is(capture_triggers('l1'), '4', 'the upstream join carries the four capture triggers');
is(capture_triggers('l2'), '4', 'the upstream aggregate carries the four capture triggers');
is(capture_triggers('l3'), '0', 'a stream table nothing reads is not captured');
# the buffer of l2 has a column for each visible column its downstreams read
# (l3 and d2: label, n, total), never for its hidden ones (mn is not read)
is( $node->safe_psql($db, q{
		SELECT string_agg(s.attname, ',' ORDER BY s.attnum)
		  FROM pg_attribute b JOIN pg_attribute s
		    ON s.attrelid = 'l2'::regclass AND b.attname = 'a' || s.attnum
		 WHERE b.attrelid = ('trickle_changes.changes_' || 'l2'::regclass::oid)::regclass}),
	'label,n,total',
	"the upstream's buffer holds the visible columns its downstreams read, and no hidden one");
like(
	$node->safe_psql($db,
		"SELECT string_agg(value, ',') FROM trickle.explain_stream_table('l3') WHERE property = 'change_buffer'"),
	qr/^trickle_changes\.changes_\d+$/,
	"explain_stream_table names the upstream's change buffer");

{
	my ($ret, $stdout, $stderr) = $node->psql($db,
		q{SELECT trickle.create_stream_table('hidden', 'SELECT label, __trickle_nn_1 AS c FROM l2',
			refresh_mode => 'differential')});
	like($stderr, qr/cannot be maintained differentially: column "__trickle_nn_1" of stream table "l2"/,
		"'differential' refuses a query reading an upstream's hidden column");
	($ret, $stdout, $stderr) = $node->psql($db,
		q{INSERT INTO l1 VALUES (0, 0, 0, 'x', 0)});
	like($stderr, qr/cannot modify stream table "l1"/, 'a captured upstream still refuses writes');
	($ret, $stdout, $stderr) = $node->psql($db, q{
		CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
		CREATE TRIGGER keep BEFORE INSERT ON l1 FOR EACH ROW EXECUTE FUNCTION keep()});
	like($stderr, qr/cannot create a BEFORE or INSTEAD OF row trigger on stream table "l1"/,
		'a captured upstream still refuses user row triggers');
}

# Random changes.  Keys (g) come from a small domain, so that groups merge,
# empty and come back; NULLs appear in every column but the primary key.
my $next_id = 81;
sub maybe_null { my ($v, $p) = @_; return rand() < $p ? 'NULL' : $v; }
sub src_row
{
	my ($g) = @_;
	$g //= maybe_null(int(rand(10)), 0.08);
	return sprintf("(%d, %s, %s, %s)", $next_id++, $g, maybe_null(int(rand(45)), 0.08),
		maybe_null("'s" . int(rand(4)) . "'", 0.1));
}
my @labels = ('red', 'green', 'blue', 'grey');
my @ops = (
	sub { return 'INSERT INTO src VALUES ' . join(', ', map { src_row() } 1 .. 1 + int(rand(5))); },
	sub { return sprintf('UPDATE src SET v = %s WHERE id %% 7 = %d', maybe_null(int(rand(45)), 0.1), int(rand(7))); },
	sub { return sprintf('UPDATE src SET g = %s WHERE id IN (SELECT id FROM src ORDER BY id OFFSET %d LIMIT 2)',
			maybe_null(int(rand(10)), 0.1), int(rand(60))); },
	sub { return sprintf('DELETE FROM src WHERE id %% 13 = %d', int(rand(13))); },
	# a group's last row goes, and sometimes comes back in the same batch
	sub {
		my $g = int(rand(10));
		return "DELETE FROM src WHERE g = $g"
		  . (rand() < 0.5 ? ";\nINSERT INTO src VALUES " . join(', ', map { src_row($g) } 1 .. 2) : '');
	},
	sub { return sprintf("UPDATE dim SET label = '%s' WHERE g = %d", $labels[ int(rand(@labels)) ], int(rand(10))); },
	sub { return sprintf('DELETE FROM dim WHERE g = %d', int(rand(10))); },
	sub {
		return sprintf("INSERT INTO dim VALUES (%d, %s) ON CONFLICT (g) DO UPDATE SET label = EXCLUDED.label",
			int(rand(10)), maybe_null("'" . $labels[ int(rand(@labels)) ] . "'", 0.1));
	},
);

# batch(truncate): the SQL of one batch of changes
sub batch
{
	my ($truncate) = @_;
	my @sql = map { $ops[ int(rand(@ops)) ]->() } 1 .. 1 + int(rand(5));
	if ($truncate)
	{
		unshift @sql, 'TRUNCATE src';
		push @sql, 'INSERT INTO src VALUES ' . join(', ', map { src_row() } 1 .. 30);
	}
	elsif (rand() < 0.25)
	{
		# some changes rolled back to a savepoint
		splice @sql, 1, 0, 'SAVEPOINT sp';
		push @sql, 'ROLLBACK TO SAVEPOINT sp', $ops[0]->();
	}
	return join(";\n", 'BEGIN', @sql, 'COMMIT') . ";\n";
}

my $cycles = $ENV{TRICKLE_CHAINS_CYCLES} // 30;
my %actions;
my $failed = 0;
CYCLE: foreach my $cycle (1 .. $cycles)
{
	my $truncate = $cycle % 6 == 5;
	my $sql = batch($truncate);
	$node->safe_psql($db, $sql);

	foreach my $name (@order)
	{
		# the upstreams in each of their modes: l1 FULL every third cycle and
		# REINITIALIZE after the TRUNCATE of src; l2 FULL every fourth
		my $full = ($name eq 'l1' && $cycle % 3 == 0) || ($name eq 'l2' && $cycle % 4 == 0);
		my @allowed =
		    $full ? ('FULL')
		  : $name eq 'l1' && $truncate ? ('REINITIALIZE')
		  : ('DIFFERENTIAL', 'NO_DATA');
		my $rows_before = $node->safe_psql($db, "SELECT count(*) FROM $name");
		my $r = refresh_row($node, $db, $name, full => $full);
		my $diff = diff_rows($node, $db, $name, @{ $st{$name} });
		my @problems;
		push @problems, "refresh failed: $r->{error}" if $r->{error};
		push @problems, "action $r->{action} is not one of @allowed"
		  if !$r->{error} && !grep { $_ eq $r->{action} } @allowed;
		push @problems, 'it differs from its query: ' . describe_diff($diff)
		  if $diff->{error} || $diff->{count} != 0;
		push @problems, "it reported $r->{inserted} inserted and $r->{deleted} deleted,"
		  . " but its row count went from $rows_before to $diff->{rows}"
		  if !$r->{error} && !$diff->{error}
		  && $r->{inserted} - $r->{deleted} != $diff->{rows} - $rows_before;
		if (@problems)
		{
			fail("cycle $cycle: $name");
			diag("cycle $cycle, $name:\n" . join("\n", @problems) . "\nbatch:\n$sql");
			$failed = 1;
			last CYCLE;
		}
		$actions{$name}{ $r->{action} }++;
	}
}
ok(!$failed, "$cycles cycles: after each refresh in dependency order, every stream table equals its query");
foreach my $name (qw(l2 l3 d1 d2))
{
	cmp_ok($actions{$name}{DIFFERENTIAL} // 0, '>=', $cycles / 3,
		"$name applied its upstreams' changes DIFFERENTIAL in many cycles");
}
is($actions{l1}{REINITIALIZE} // 0, int(($cycles + 1) / 6), 'l1 was REINITIALIZEd after each TRUNCATE of src');
note('actions: ' . join('; ', map { my $n = $_; "$n " . join(',', map { "$_=$actions{$n}{$_}" } sort keys %{ $actions{$n} }) } @order));

# ===========================================================================
# Dropping
# ===========================================================================

{
	my ($ret, $stdout, $stderr) = $node->psql($db, "SELECT trickle.drop_stream_table('l1')");
	isnt($ret, 0, 'dropping an upstream without CASCADE fails');
	like($stderr, qr/table l2 depends on table l1/, 'and names its downstreams');
}
$node->safe_psql($db, "SELECT trickle.drop_stream_table('d2')");
is(capture_triggers('l2'), '4', 'l2 keeps its capture while l3 reads it');
$node->safe_psql($db, "SELECT trickle.drop_stream_table('l3')");
is(capture_triggers('l2'), '0', "dropping l2's last downstream removes its capture triggers");
is(buffer_exists('l2'), 'f', "dropping l2's last downstream removes its change buffer");
is(capture_triggers('l1'), '4', 'l1 keeps its capture while l2 and d1 read it');

$node->safe_psql($db, "SELECT trickle.drop_stream_table('l1', cascade => true)");
is($node->safe_psql($db, 'SELECT count(*) FROM trickle.stream_tables'), '0',
	'dropping the upstream with CASCADE drops its downstreams and their catalog rows');
is(capture_triggers('src'), '0', 'and the capture of its own sources, which nothing reads now');
is($node->safe_psql($db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'trickle_changes'"), '0',
	'no change buffer is left');

# ===========================================================================
# The scheduler: a ten-level chain after one commit
# ===========================================================================

my $levels = 10;
$node->safe_psql($db, q{
	CREATE TABLE base (id int PRIMARY KEY, g int, v int);
	INSERT INTO base SELECT i, i % 4, i FROM generate_series(1, 40) i;
	SELECT trickle.create_stream_table('c1',
		'SELECT g, sum(v) AS s, count(*) AS n FROM base GROUP BY g', schedule => '1s');
});
foreach my $k (2 .. $levels)
{
	my $up = 'c' . ($k - 1);
	$node->safe_psql($db,
		"SELECT trickle.create_stream_table('c$k', 'SELECT g, s + 1 AS s, n FROM $up', schedule => '1s')");
}
is($node->safe_psql($db,
		"SELECT count(*) FROM trickle.stream_tables WHERE effective_mode = 'DIFFERENTIAL'"),
	$levels, "the $levels levels are DIFFERENTIAL");

$node->safe_psql($db, 'ALTER SYSTEM SET trickle.enabled = on');
$node->reload;
# after its start the scheduler counts every stream table as dirty: wait
# for that round (NO_DATA) to end before the commit under test
ok( $node->poll_query_until($db,
		"SELECT count(*) = $levels FROM trickle.stream_tables WHERE next_refresh_at IS NULL"
		  . " AND NOT EXISTS (SELECT FROM trickle.refresh_history WHERE status = 'RUNNING')"),
	'the scheduler runs and has nothing to do');

my $t0 = $node->safe_psql($db, 'SELECT clock_timestamp()');
$node->safe_psql($db, 'UPDATE base SET v = v + 100 WHERE id IN (3, 4); INSERT INTO base VALUES (41, 7, 1)');
my $final = "SELECT g, sum(v) + " . ($levels - 1) . " AS s, count(*) AS n FROM base GROUP BY g";
ok( $node->poll_query_until($db,
		"SELECT count(*) = 0 FROM ((SELECT g, s, n FROM c$levels EXCEPT ALL $final)"
		  . " UNION ALL ($final EXCEPT ALL SELECT g, s, n FROM c$levels)) d"),
	"one commit to the source reaches the ${levels}th level with no manual refresh");
foreach my $k (1 .. $levels)
{
	is(diff_count($node, $db, "c$k", 'g, s, n',
			"SELECT g, sum(v) + " . ($k - 1) . " AS s, count(*) AS n FROM base GROUP BY g"),
		'0', "c$k equals the chain's result");
}

# each level's first refresh with changes after the commit started after its
# upstream's such refresh finished
my $history = $node->safe_psql($db, qq{
	SELECT string_agg(k || ':' || action || ':' || ok, ' ' ORDER BY k) FROM (
		SELECT c.k, h.action,
			   h.started_at >= coalesce(lag(h.finished_at) OVER (ORDER BY c.k), '-infinity') AS ok
		  FROM generate_series(1, $levels) c(k),
			   LATERAL (SELECT action, started_at, finished_at FROM trickle.refresh_history
						 WHERE stream_table = ('c' || c.k)::regclass AND initiated_by = 'SCHEDULER'
						   AND status = 'COMPLETED' AND action <> 'NO_DATA'
						   AND started_at > '$t0'
						 ORDER BY started_at LIMIT 1) h) x});
is($history, join(" ", map { "$_:DIFFERENTIAL:true" } 1 .. $levels),
	'the scheduler refreshed each level DIFFERENTIAL, after the level it reads');

$node->stop;
done_testing();
