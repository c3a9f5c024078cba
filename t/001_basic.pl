
# Copyright (c) trickle contributors

# Stream tables across server restarts and crashes.
#
# - CREATE EXTENSION needs trickle in shared_preload_libraries: without it
#   the command fails with a hint and leaves nothing behind.
# - Stream tables are created (one GROUP BY, one of 50,000 distinct rows,
#   which needs as many distinct row ids) and survive a clean restart: they
#   are still listed, guarded and refreshable, and equal their queries.
# - A refresh that is interrupted by a crash (immediate shutdown) leaves
#   neither contents nor history behind: after recovery the stream table
#   holds what the last committed refresh wrote, its index is intact, and
#   the next refresh makes it equal its query.
# - A committed refresh survives a crash.
# - A refresh in a prepared transaction keeps its lock across a restart and
#   is applied by COMMIT PREPARED.
#
# Every correctness check compares the stream table with its query run fresh,
# EXCEPT ALL both ways, on the user columns only.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use FindBin;
use lib $FindBin::RealBin;
use TrickleTest;

# ---------------------------------------------------------------------------
# Without shared_preload_libraries, CREATE EXTENSION fails cleanly.
# ---------------------------------------------------------------------------

my $bare = PostgreSQL::Test::Cluster->new('bare');
$bare->init;
$bare->start;

my ($ret, $stdout, $stderr) =
  $bare->psql('postgres', 'CREATE EXTENSION trickle');
isnt($ret, 0, 'CREATE EXTENSION without preload fails');
like(
	$stderr,
	qr/ERROR:  trickle must be loaded via "shared_preload_libraries"/,
	'error names shared_preload_libraries');
like(
	$stderr,
	qr/^HINT:  .*shared_preload_libraries.*restart/m,
	'hint tells to add trickle to shared_preload_libraries and restart');
is( $bare->safe_psql(
		'postgres', qq{
		SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = 'trickle')
			 + (SELECT count(*) FROM pg_extension WHERE extname = 'trickle')
			 + (SELECT count(*) FROM pg_am WHERE amname = 'trickle')}),
	'0',
	'failed CREATE EXTENSION leaves no schema, extension or access method');

# Loading the library in the session is not enough either.
($ret, $stdout, $stderr) =
  $bare->psql('postgres', "LOAD 'trickle'; CREATE EXTENSION trickle;");
isnt($ret, 0, 'CREATE EXTENSION after LOAD fails too');
like($stderr, qr/^HINT:  .*shared_preload_libraries/m,
	'hint after LOAD mentions shared_preload_libraries');
is($bare->safe_psql('postgres',
		"SELECT count(*) FROM pg_namespace WHERE nspname = 'trickle'"),
	'0', 'no schema trickle after LOAD and failed CREATE EXTENSION');

$bare->stop;

# ---------------------------------------------------------------------------
# A preloaded node.
# ---------------------------------------------------------------------------

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'trickle'
trickle.enabled = off
max_prepared_transactions = 10
});
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION trickle');
# The test role may be called trickle, whose "$user" schema would then be the
# extension's schema: keep the test's own objects in public.
$node->safe_psql('postgres', 'ALTER ROLE CURRENT_USER SET search_path = public');
is($node->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'trickle'"),
	'0.4.0', 'extension installed on a preloaded node');

my $group_query =
  'SELECT g, count(*) AS n, sum(v) AS total, max(v) AS top FROM src GROUP BY g';
my $group_cols = 'g, n, total, top';

$node->safe_psql(
	'postgres', qq{
	CREATE TABLE src (id int PRIMARY KEY, g int NOT NULL, v numeric NOT NULL);
	INSERT INTO src SELECT i, i % 17, i * 1.5 FROM generate_series(1, 5000) i;
	SELECT trickle.create_stream_table('st_group', '$group_query');
});
is(diff_count($node, 'postgres', 'st_group', $group_cols, $group_query),
	'0', 'GROUP BY stream table equals its query after creation');
is($node->safe_psql('postgres', 'SELECT count(*) FROM st_group'),
	'17', 'GROUP BY stream table has one row per group');

# A stream table of 50,000 distinct rows: every row needs its own row id
# (with row ids of 32 bits of entropy, these values collide).
my $many_query = 'SELECT id, v, v % 7 AS bucket FROM many';
my $many_cols  = 'id, v, bucket';
$node->safe_psql(
	'postgres', qq{
	CREATE TABLE many (id int PRIMARY KEY, v int NOT NULL);
	INSERT INTO many SELECT i, i FROM generate_series(1, 50000) i;
});
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SELECT trickle.create_stream_table('st_many', '$many_query')");
is($ret, 0, 'a stream table of 50,000 distinct rows can be created')
  or diag($stderr);
is(diff_count($node, 'postgres', 'st_many', $many_cols, $many_query),
	'0', 'the stream table of 50,000 rows equals its query');

# ---------------------------------------------------------------------------
# Clean restart.
# ---------------------------------------------------------------------------

$node->restart;

is( $node->safe_psql(
		'postgres', qq{
		SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		 WHERE c.oid = 'st_group'::regclass}),
	'trickle',
	'after restart: stream table exists with access method trickle');
is( $node->safe_psql(
		'postgres', qq{
		SELECT status || ' ' || is_populated || ' ' || effective_mode
		  FROM trickle.stream_tables WHERE name = 'st_group'::regclass}),
	'ACTIVE true DIFFERENTIAL',
	'after restart: listed in trickle.stream_tables, active and populated');
is(diff_count($node, 'postgres', 'st_group', $group_cols, $group_query),
	'0', 'after restart: contents equal the query');
is(diff_count($node, 'postgres', 'st_many', $many_cols, $many_query),
	'0', 'after restart: the stream table of 50,000 rows equals its query');

($ret, $stdout, $stderr) = $node->psql('postgres',
	'INSERT INTO st_group (g, n, total, top, __trickle_row_id) VALUES (99, 1, 1, 1, 1)'
);
isnt($ret, 0, 'after restart: a user INSERT is refused');
like($stderr, qr/cannot modify stream table "st_group"/,
	'after restart: the guard gives its error');

$node->safe_psql(
	'postgres', qq{
	UPDATE src SET v = v + 1 WHERE g = 3;
	DELETE FROM src WHERE g = 5;
	INSERT INTO src VALUES (5001, 40, 1);
});
is(refresh($node, 'postgres', 'st_group'),
	'DIFFERENTIAL|2|2', 'after restart: refresh applies changed, vanished and new groups');
is(diff_count($node, 'postgres', 'st_group', $group_cols, $group_query),
	'0', 'after restart and refresh: contents equal the query');

# ---------------------------------------------------------------------------
# Crash while a refresh is running.
#
# The refresh of st_big rewrites every row.  An AFTER statement trigger on
# the stream table waits for an advisory lock that another session holds,
# so the refresh has written all its rows (uncommitted) when the server is
# stopped with "immediate".
# ---------------------------------------------------------------------------

my $big_query = 'SELECT id, v, v % 7 AS bucket FROM big';
my $big_cols  = 'id, v, bucket';

$node->safe_psql(
	'postgres', qq{
	CREATE TABLE big (id int PRIMARY KEY, v int NOT NULL);
	INSERT INTO big SELECT i, i FROM generate_series(1, 20000) i;
	SELECT trickle.create_stream_table('st_big', '$big_query');
	CREATE FUNCTION wait_for_gate() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN
		PERFORM pg_advisory_xact_lock_shared(4242);
		RETURN NULL;
	END
	\$\$;
	CREATE TRIGGER gate AFTER INSERT ON st_big
		FOR EACH STATEMENT EXECUTE FUNCTION wait_for_gate();
	CREATE EXTENSION amcheck;
});
is(diff_count($node, 'postgres', 'st_big', $big_cols, $big_query),
	'0', 'st_big equals its query after creation');

my $history_before = $node->safe_psql('postgres',
	'SELECT count(*) FROM trickle.refresh_history');
my $last_refresh_before = $node->safe_psql('postgres',
	"SELECT last_refresh_at FROM trickle.stream_tables WHERE name = 'st_big'::regclass"
);
my $contents_before = $node->safe_psql('postgres',
	'SELECT md5(string_agg(id || \':\' || v || \':\' || bucket, \',\' ORDER BY id)) FROM st_big'
);

$node->safe_psql('postgres', 'UPDATE big SET v = v + 1');

my $gate = $node->background_psql('postgres');
$gate->query_safe('SELECT pg_advisory_lock(4242)');

my $refresher = $node->background_psql('postgres', on_error_stop => 0);
$refresher->query_until(
	qr/refresh started/, q{
\echo refresh started
BEGIN;
SELECT * FROM trickle.refresh_stream_table('st_big');
});

ok( $node->poll_query_until(
		'postgres', qq{
		SELECT count(*) = 1 FROM pg_locks
		 WHERE locktype = 'advisory' AND NOT granted AND mode = 'ShareLock'}),
	'refresh reached the gate after writing its rows');
is( $node->safe_psql(
		'postgres', qq{
		SELECT count(*) FROM pg_locks
		 WHERE locktype = 'relation' AND relation = 'st_big'::regclass
		   AND mode = 'ExclusiveLock' AND granted}),
	'1',
	'the running refresh holds ExclusiveLock on the stream table');
is(diff_count($node, 'postgres', 'st_big', $big_cols, $big_query),
	'40000', 'a reader still sees the old contents during the refresh');

$node->stop('immediate');
# Both sessions lost their connection; psql may be gone already.
eval { $gate->quit; };
eval { $refresher->quit; };
$node->start;

is( $node->safe_psql(
		'postgres',
		'SELECT md5(string_agg(id || \':\' || v || \':\' || bucket, \',\' ORDER BY id)) FROM st_big'
	),
	$contents_before,
	'after crash: contents are those of the last committed refresh');
is( $node->safe_psql('postgres',
		"SELECT bt_index_check('st_big_pkey'::regclass, true)"),
	'',
	'after crash: primary key index matches the heap');
is($node->safe_psql('postgres', 'SELECT count(*) FROM trickle.refresh_history'),
	$history_before, 'after crash: the interrupted refresh left no history');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM trickle.refresh_history WHERE status <> 'COMPLETED' OR finished_at IS NULL"
	),
	'0',
	'after crash: no running or failed history rows');
is( $node->safe_psql(
		'postgres',
		"SELECT last_refresh_at FROM trickle.stream_tables WHERE name = 'st_big'::regclass"
	),
	$last_refresh_before,
	'after crash: catalog still records the last committed refresh');

# The advisory lock is gone with the crash: the trigger no longer waits.
$node->safe_psql('postgres', 'DROP TRIGGER gate ON st_big');
is( $node->safe_psql(
		'postgres',
		"SET lock_timeout = '10s'; SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('st_big')"
	),
	'DIFFERENTIAL|20000|20000',
	'after crash: the refresh rewrites every changed row');
is(diff_count($node, 'postgres', 'st_big', $big_cols, $big_query),
	'0', 'after crash and refresh: contents equal the query');
is($node->safe_psql('postgres',
		"SELECT bt_index_check('st_big_pkey'::regclass, true)"),
	'', 'after crash and refresh: primary key index matches the heap');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM trickle.refresh_history WHERE stream_table = 'st_big'::regclass"
	),
	'2',
	'history has the creation and the refresh after the crash only');

# ---------------------------------------------------------------------------
# A committed refresh survives a crash.
# ---------------------------------------------------------------------------

$node->safe_psql('postgres', 'UPDATE src SET v = v * 2 WHERE g < 8');
is(refresh($node, 'postgres', 'st_group'),
	'DIFFERENTIAL|7|7', 'refresh before crash rewrites the changed groups');
$node->stop('immediate');
$node->start;
is(diff_count($node, 'postgres', 'st_group', $group_cols, $group_query),
	'0', 'after crash: the committed refresh is there');
is(refresh($node, 'postgres', 'st_group'),
	'NO_DATA|0|0', 'after crash: the next refresh finds nothing to do');

# ---------------------------------------------------------------------------
# A refresh in a prepared transaction.
# ---------------------------------------------------------------------------

$node->safe_psql(
	'postgres', qq{
	UPDATE src SET v = v + 10 WHERE g = 0;
	BEGIN;
	SELECT trickle.refresh_stream_table('st_group');
	PREPARE TRANSACTION 'trickle_refresh';
});
$node->restart;

is( $node->safe_psql(
		'postgres', qq{
		SELECT count(*) FROM pg_locks
		 WHERE locktype = 'relation' AND relation = 'st_group'::regclass
		   AND mode = 'ExclusiveLock' AND granted AND pid IS NULL}),
	'1',
	'after restart: the prepared refresh still holds ExclusiveLock');
is($node->safe_psql('postgres', "SET lock_timeout = '1s'; SELECT count(*) FROM st_group"),
	'17', 'a reader is not blocked by the prepared refresh');
isnt(diff_count($node, 'postgres', 'st_group', $group_cols, $group_query),
	'0', 'the prepared refresh is not visible yet');
($ret, $stdout, $stderr) = $node->psql('postgres',
	"SET lock_timeout = '100ms'; SELECT trickle.refresh_stream_table('st_group')");
like($stderr, qr/lock timeout/,
	'another refresh waits for the prepared one');

$node->safe_psql('postgres', "COMMIT PREPARED 'trickle_refresh'");
is(diff_count($node, 'postgres', 'st_group', $group_cols, $group_query),
	'0', 'after COMMIT PREPARED: contents equal the query');
is(refresh($node, 'postgres', 'st_group'),
	'NO_DATA|0|0', 'after COMMIT PREPARED: the next refresh finds nothing to do');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM trickle.refresh_history WHERE status <> 'COMPLETED'"
	),
	'0',
	'history has only completed refreshes');

$node->stop;

done_testing();
