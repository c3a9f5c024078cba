
# Copyright (c) trickle contributors

# Stream tables through pg_dump and restore.
#
# trickle's catalog tables are extension configuration tables, so a dump
# carries their rows, and each stream table is dumped as a table with the
# "trickle" access method and its data.  A restored catalog row records
# contents made by another database or cluster, so the restored table is
# writable by the restore and its next refresh is a REINITIALIZE, which
# recomputes it and records the dependencies on its sources (a dump does
# not carry those).  After that it is an ordinary stream table again.
#
# The dump is restored three ways: a plain dump with psql into another
# database of the same node, a custom-format dump with pg_restore into
# another node (another system identifier), and a plain dump taken with
# --no-table-access-method.
#
# Every correctness check compares a stream table with its query run fresh,
# EXCEPT ALL both ways, on the user columns only.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use TrickleTest;

# fingerprint(node, db, stream table): a digest of all its rows, row ids
# included
sub fingerprint
{
	my ($node, $db, $st) = @_;

	return $node->safe_psql($db,
		"SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t.__trickle_row_id), '')) FROM $st t"
	);
}

# The stream tables: name => [columns to compare, defining query].  The
# queries are in dollar quotes when passed to create_stream_table.
my %streams = (
	'reporting."Customer Totals"' => [
		'customer_id, n, total',
		'SELECT customer_id, count(*) AS n, sum(amount) AS total FROM orders GROUP BY customer_id'
	],
	'order_lines' => [
		'id, name, region, amount',
		'SELECT o.id, c.name, c.region, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id'
	],
	'event_docs' => [
		'id, payload::text, meta::text',
		q{SELECT id, payload, json_build_object('id', id, 'kind', kind) AS meta FROM events}
	],
	'later' => [ 'region, n', 'SELECT region, count(*) AS n FROM customers GROUP BY region' ],
	# a stream table reading a stream table (order_lines, refreshed first:
	# the names sort that way)
	'region_totals' => [
		'region, n, total',
		'SELECT region, count(*) AS n, sum(amount) AS total FROM order_lines GROUP BY region'
	],
);
my @streams = sort keys %streams;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'trickle'\ntrickle.enabled = off");
$node->start;

# The test role may be called trickle, whose "$user" schema would then be the
# extension's schema: keep the test's own objects in public.
$node->safe_psql('postgres', 'ALTER ROLE CURRENT_USER SET search_path = public');
$node->safe_psql('postgres', 'CREATE DATABASE origin');
$node->safe_psql(
	'origin', qq{
	CREATE EXTENSION trickle;
	CREATE SCHEMA reporting;
	CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, region text NOT NULL);
	INSERT INTO customers
		SELECT i, 'customer ' || i, (ARRAY['north', 'south', 'east'])[i % 3 + 1]
		  FROM generate_series(1, 30) i;
	CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers,
						 amount numeric(10,2) NOT NULL);
	INSERT INTO orders SELECT i, i % 30 + 1, (i * 7 % 100) + 0.25 FROM generate_series(1, 600) i;
	-- json keeps its text as written: the same value in several spellings
	CREATE TABLE events (id int PRIMARY KEY, kind text NOT NULL, payload json NOT NULL);
	INSERT INTO events
		SELECT i, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END,
			   CASE i % 3 WHEN 0 THEN '{"a": 1}' WHEN 1 THEN '{"a":1}' ELSE '[1, {"b" : null}]' END::json
		  FROM generate_series(1, 90) i;
});
foreach my $st (@streams)
{
	my $initialize = $st eq 'later' ? 'false' : 'true';
	$node->safe_psql('origin',
		"SELECT trickle.create_stream_table(\$n\$$st\$n\$, \$q\$$streams{$st}[1]\$q\$, initialize => $initialize)"
	);
}
foreach my $st (grep { $_ ne 'later' } @streams)
{
	is(diff_count($node, 'origin', $st, @{ $streams{$st} }),
		'0', "origin: $st equals its query");
}
is( $node->safe_psql('origin',
		"SELECT is_populated FROM trickle.stream_tables WHERE name = 'later'::regclass"),
	'f',
	'origin: a stream table created without initialize is not populated');

# Make the stream tables stale before the dump, so that the restored
# contents differ from the restored sources and REINITIALIZE has work to do:
# one changed and one new total, two changed and one new order line.
$node->safe_psql(
	'origin', qq{
	UPDATE orders SET amount = amount + 1 WHERE id = 5;
	INSERT INTO orders VALUES (601, 30, 9.99);
	INSERT INTO customers VALUES (31, 'customer 31', 'west');
	INSERT INTO orders VALUES (602, 31, 1.00);
	UPDATE events SET payload = '{"a": 2}' WHERE id BETWEEN 1 AND 3;
});

my %fingerprint = map { $_ => fingerprint($node, 'origin', $_) } @streams;

my $tempdir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-f', "$tempdir/origin.sql", 'origin' ],
	'pg_dump (plain) of a database with stream tables');
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$tempdir/origin.dump", 'origin' ],
	'pg_dump (custom format) of a database with stream tables');
$node->command_ok(
	[
		'pg_dump', '--no-table-access-method',
		'-f', "$tempdir/origin_noam.sql", 'origin'
	],
	'pg_dump --no-table-access-method');

# ---------------------------------------------------------------------------
# Plain dump restored with psql into another database of the same node.
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-d', 'restored', '-f', "$tempdir/origin.sql"
	],
	'restore of the plain dump with psql');

check_restored($node, 'restored', 'same node');

# The origin is not affected by the restore.
is(refresh($node, 'origin', 'order_lines'),
	'DIFFERENTIAL|3|1', 'origin: its own refresh is DIFFERENTIAL and applies its changes');
is(diff_count($node, 'origin', 'order_lines', @{ $streams{order_lines} }),
	'0', 'origin: order_lines equals its query');
is(refresh($node, 'origin', 'region_totals'),
	'DIFFERENTIAL|2|1', "origin: the downstream applies its upstream's changes DIFFERENTIAL");
is(diff_count($node, 'origin', 'region_totals', @{ $streams{region_totals} }),
	'0', 'origin: region_totals equals its query');

# ---------------------------------------------------------------------------
# Custom-format dump restored with pg_restore into another cluster.
# ---------------------------------------------------------------------------

my $other = PostgreSQL::Test::Cluster->new('other');
$other->init;
$other->append_conf('postgresql.conf', "shared_preload_libraries = 'trickle'\ntrickle.enabled = off");
$other->start;
$other->safe_psql('postgres', 'ALTER ROLE CURRENT_USER SET search_path = public');
$other->safe_psql('postgres', 'CREATE DATABASE copy');
$other->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', 'copy', "$tempdir/origin.dump" ],
	'restore of the custom-format dump with pg_restore into another cluster');

check_restored($other, 'copy', 'other cluster');

# ---------------------------------------------------------------------------
# A dump without access methods restores the stream tables as heap tables.
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE noam');
$node->command_ok(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-d', 'noam', '-f', "$tempdir/origin_noam.sql"
	],
	'restore of the dump without access methods');
is($node->safe_psql('noam', 'SELECT count(*) FROM trickle.stream_tables'),
	scalar(@streams), 'no access method: every stream table is listed');
is(refresh($node, 'noam', 'order_lines'),
	'REINITIALIZE|3|1', 'no access method: the first refresh reinitialises');
is(diff_count($node, 'noam', 'order_lines', @{ $streams{order_lines} }),
	'0', 'no access method: contents equal the query after the refresh');

is( $node->safe_psql(
		'noam', q{
		SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		 WHERE c.oid = 'order_lines'::regclass}),
	'trickle',
	'no access method: reinitialising gives back the trickle access method');
{
	my ($ret, $stdout, $stderr) = $node->psql('noam',
		"INSERT INTO order_lines VALUES (0, 'x', 'x', 0, 0)");
	like(
		$stderr,
		qr/cannot modify stream table "order_lines"/,
		'no access method: a user INSERT after the refresh is refused');
}

# ---------------------------------------------------------------------------
# A dump from before the state columns were shared (0.3.0): an aggregate
# stream table then kept __trickle_count next to its count(*) column.  A
# stream table with its own state column keeps using it.  Made from the
# plain dump by giving "Customer Totals" that column (holding n).
# ---------------------------------------------------------------------------

my $totals = 'reporting."Customer Totals"';
my $dump = slurp_file("$tempdir/origin.sql");
ok( $dump =~ s/(CREATE TABLE \Q$totals\E \(\n.*?\n)(    __trickle_nn_\d+ bigint,\n)/$1    __trickle_count bigint,\n$2/s,
	'0.3.0 layout: the CREATE TABLE of Customer Totals gets __trickle_count');
ok( $dump =~ s{(COPY \Q$totals\E \(customer_id, n, total, )(__trickle_nn_\d+, __trickle_row_id\) FROM stdin;\n)(.*?\n)(\\\.\n)}{
		my ($head, $cols, $rows, $end) = ($1, $2, $3, $4);
		$rows =~ s/^([^\t\n]*\t([^\t\n]*)\t[^\t\n]*\t)/$1$2\t/mg;
		"${head}__trickle_count, $cols$rows$end";
	}se,
	'0.3.0 layout: its data gets __trickle_count');
open(my $fh, '>', "$tempdir/legacy.sql") or die "legacy.sql: $!";
print $fh $dump;
close($fh);
$node->safe_psql('postgres', 'CREATE DATABASE legacy');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'legacy', '-f', "$tempdir/legacy.sql" ],
	'0.3.0 layout: restore');
like(refresh($node, 'legacy', $totals), qr/^REINITIALIZE\|/,
	'0.3.0 layout: the first refresh reinitialises');
my $state_query = qq{
	SELECT string_agg(value, ',') FROM trickle.explain_stream_table('$totals')
	 WHERE property = 'hidden_column'};
is($node->safe_psql('legacy', $state_query), '__trickle_count,__trickle_nn_1',
	'0.3.0 layout: the stream table keeps its own row count');
like(
	$node->safe_psql('legacy',
		"SELECT value FROM trickle.explain_stream_table('$totals') WHERE property = 'apply'"),
	qr/^direct:/,
	'0.3.0 layout: the direct apply takes it');
my $count_off = "SELECT count(*) FROM $totals WHERE __trickle_count IS DISTINCT FROM n";
foreach my $setup ('', 'SET trickle.direct_apply = off;')
{
	my $how = $setup ? 'the MERGE' : 'the direct apply';
	$node->safe_psql(
		'legacy', qq{
		UPDATE orders SET amount = amount + 3 WHERE customer_id IN (2, 3);
		INSERT INTO orders SELECT 1000 + i, 3, 1 FROM generate_series(1, 4) i
		  ON CONFLICT (id) DO UPDATE SET amount = orders.amount + 1;
		DELETE FROM orders WHERE customer_id = 4;
	});
	my $action = $node->safe_psql('legacy',
		"$setup SELECT action FROM trickle.refresh_stream_table('$totals')");
	is($action, 'DIFFERENTIAL', "0.3.0 layout: $how refreshes DIFFERENTIAL");
	is(diff_count($node, 'legacy', $totals, @{ $streams{$totals} }),
		'0', "0.3.0 layout: after $how the stream table equals its query");
	is($node->safe_psql('legacy', $count_off), '0',
		"0.3.0 layout: $how keeps __trickle_count equal to count(*)");
}

# A new stream table of the same query keeps the row count in n alone.
$node->safe_psql('legacy',
	"SELECT trickle.create_stream_table('new_totals', \$q\$$streams{$totals}[1]\$q\$)");
is( $node->safe_psql('legacy',
		"SELECT string_agg(value, ',') FROM trickle.explain_stream_table('new_totals') WHERE property = 'hidden_column'"),
	'__trickle_nn_1',
	'a stream table created now stores count(*) once');

$other->stop;
$node->stop;

done_testing();

# check_restored(node, db, label): the restored stream tables in db.
sub check_restored
{
	my ($node, $db, $label) = @_;

	is( $node->safe_psql(
			$db, qq{
			SELECT string_agg(c.oid::regclass::text, ',' ORDER BY c.oid::regclass::text)
			  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
			 WHERE a.amname = 'trickle' AND c.relkind = 'r'}),
		join(',', @streams),
		"$label: the stream tables are restored with access method trickle");
	is( $node->safe_psql(
			$db,
			"SELECT string_agg(name::text, ',' ORDER BY name::text) FROM trickle.stream_tables"
		),
		join(',', @streams),
		"$label: the stream tables are listed in trickle.stream_tables");
	is( $node->safe_psql(
			$db, qq{
			SELECT string_agg(relid::text || '>' || source::text, ',' ORDER BY relid::text, source::text)
			  FROM trickle.sources}),
		'event_docs>events,later>customers,order_lines>customers,order_lines>orders,'
		  . 'region_totals>order_lines,reporting."Customer Totals">orders',
		"$label: the sources are listed in trickle.sources");

	foreach my $st (@streams)
	{
		is(fingerprint($node, $db, $st), $fingerprint{$st},
			"$label: $st has the dumped contents");
	}
	is( $node->safe_psql($db,
			"SELECT is_populated FROM trickle.stream_tables WHERE name = 'later'::regclass"),
		'f',
		"$label: the unpopulated stream table is still unpopulated");

	# The first refresh of each reinitialises it.
	my %first = (
		'reporting."Customer Totals"' => 'REINITIALIZE|3|2',
		'order_lines'                 => 'REINITIALIZE|3|1',
		'event_docs'                  => 'REINITIALIZE|3|3',
		'later'                       => 'REINITIALIZE|4|0',
		# order_lines gained a line in the north and the first in the west
		'region_totals'               => 'REINITIALIZE|2|1',
	);
	foreach my $st (@streams)
	{
		is(refresh($node, $db, $st), $first{$st},
			"$label: the first refresh of $st reinitialises it");
		is(diff_count($node, $db, $st, @{ $streams{$st} }),
			'0', "$label: after reinitialising, $st equals its query");
	}
	is( $node->safe_psql(
			$db, qq{
			SELECT count(*) FROM trickle.stream_tables
			 WHERE is_populated AND status = 'ACTIVE' AND last_refresh_at IS NOT NULL}),
		scalar(@streams),
		"$label: every stream table is populated and active");
	is( $node->safe_psql(
			$db, qq{
			SELECT count(*) FROM trickle.refresh_history
			 WHERE action = 'REINITIALIZE' AND status = 'COMPLETED'}),
		scalar(@streams),
		"$label: refresh_history records each reinitialisation");

	# From then on, an ordinary stream table.
	foreach my $st (@streams)
	{
		like(refresh($node, $db, $st), qr/^(NO_DATA|FULL)\|0\|0$/,
			"$label: the next refresh of $st has nothing to do");
	}
	$node->safe_psql($db, 'UPDATE orders SET amount = amount * 2 WHERE customer_id = 1');
	is(refresh($node, $db, 'reporting."Customer Totals"'),
		'DIFFERENTIAL|1|1', "$label: a source change is applied by a DIFFERENTIAL refresh");
	# the chain: order_lines' refresh is captured for region_totals
	is(refresh($node, $db, 'order_lines'), 'DIFFERENTIAL|20|20',
		"$label: the upstream of a chain applies the change");
	is(refresh($node, $db, 'region_totals'), 'DIFFERENTIAL|1|1',
		"$label: its downstream applies the upstream's changes DIFFERENTIAL");
	is(diff_count($node, $db, 'region_totals', @{ $streams{region_totals} }),
		'0', "$label: and equals its query");
	is( diff_count(
			$node, $db,
			'reporting."Customer Totals"',
			@{ $streams{'reporting."Customer Totals"'} }),
		'0',
		"$label: after that refresh the stream table equals its query");

	my ($ret, $stdout, $stderr) = $node->psql($db,
		"INSERT INTO order_lines VALUES (0, 'x', 'x', 0, 0)");
	isnt($ret, 0, "$label: a user INSERT after reinitialising fails");
	like($stderr, qr/cannot modify stream table "order_lines"/,
		"$label: a user INSERT after reinitialising is refused by the guard");
	($ret, $stdout, $stderr) =
	  $node->psql($db, 'TRUNCATE reporting."Customer Totals"');
	like(
		$stderr,
		qr/cannot truncate stream table "Customer Totals"/,
		"$label: TRUNCATE after reinitialising is refused");

	# The reinitialisation recorded the dependencies on the sources.
	($ret, $stdout, $stderr) = $node->psql($db, 'DROP TABLE customers');
	isnt($ret, 0, "$label: dropping a source without CASCADE fails");
	like(
		$stderr,
		qr/cannot drop table customers because other objects depend on it/,
		"$label: dropping a source reports the dependent stream tables");
	like($stderr, qr/table order_lines depends on table customers/,
		"$label: order_lines depends on customers");
	($ret, $stdout, $stderr) = $node->psql($db, 'DROP TABLE events');
	like($stderr, qr/table event_docs depends on table events/,
		"$label: event_docs depends on events");

	$node->safe_psql($db, 'DROP TABLE customers CASCADE');
	is( $node->safe_psql(
			$db,
			"SELECT string_agg(name::text, ',' ORDER BY name::text) FROM trickle.stream_tables"
		),
		'event_docs,reporting."Customer Totals"',
		"$label: DROP ... CASCADE of a source drops its stream tables, those reading them, and their catalog rows"
	);
	return;
}
