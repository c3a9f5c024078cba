
# Copyright (c) trickle contributors

# The scheduler: launcher, per-database schedulers, refresh workers and the
# dispatch ring, seen from SQL.  Waits poll with a timeout; nothing asserts
# a wall-clock time.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 't';
use TrickleTest;

my $node = PostgreSQL::Test::Cluster->new('sched');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'trickle'
max_worker_processes = 16
trickle.max_workers = 3
trickle.per_database_worker_quota = 2
trickle.max_consecutive_errors = 3
trickle.safety_interval = '30s'
restart_after_crash = on
});
$node->start;
my $db = 'postgres';

# poll(sql, expected, what): wait (up to the framework's timeout) until sql
# returns expected
sub poll
{
	my ($sql, $expected, $what, $dbname) = @_;
	ok($node->poll_query_until($dbname // $db, $sql, $expected), $what);
}

# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

poll("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'trickle launcher'",
	'1', 'the launcher runs, with its backend_type');
# the launcher's probe of a database without trickle leaves no scheduler
is($node->safe_psql($db,
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'trickle scheduler'"),
	'0', 'no scheduler where trickle is not installed');

$node->safe_psql($db, 'CREATE EXTENSION trickle');
# the test role may be called trickle, whose "$user" schema would be the
# extension's
$node->safe_psql($db, 'ALTER ROLE CURRENT_USER SET search_path = public');
poll("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'trickle scheduler'"
	. " AND datname = current_database() AND application_name = 'trickle scheduler'",
	'1', 'CREATE EXTENSION starts a scheduler in its database');
is($node->safe_psql($db, "SELECT kind || ':' || state FROM trickle.workers WHERE kind <> 'worker' ORDER BY kind"),
	"launcher:idle\nscheduler:idle", 'trickle.workers shows the launcher and the scheduler');

# ---------------------------------------------------------------------------
# Interval schedules and wake-ups
# ---------------------------------------------------------------------------

$node->safe_psql($db, q{
	CREATE TABLE src (id int PRIMARY KEY, g int, v int);
	INSERT INTO src SELECT i, i % 5, i FROM generate_series(1, 100) i;
	SELECT trickle.create_stream_table('agg',
		'SELECT g, sum(v) AS s, count(*) AS n FROM src GROUP BY g', schedule => '1s');
});
my $agg_q = 'SELECT g, sum(v) AS s, count(*) AS n FROM src GROUP BY g';

$node->safe_psql($db, 'INSERT INTO src VALUES (1000, 7, 1)');
poll("SELECT count(*) FROM agg WHERE g = 7", '1',
	'a committed change reaches a 1s stream table without a manual refresh');
is(diff_count($node, $db, 'agg', 'g, s, n', $agg_q), '0', 'and the stream table equals its query');
ok($node->safe_psql($db,
	"SELECT count(*) > 0 FROM trickle.refresh_history WHERE stream_table = 'agg'::regclass"
	. " AND initiated_by = 'SCHEDULER' AND action = 'DIFFERENTIAL' AND status = 'COMPLETED'"),
	'the scheduled refresh is in the history as DIFFERENTIAL');

# many changes in a row, each committed on its own
for my $i (1 .. 20)
{
	$node->safe_psql($db, "UPDATE src SET v = v + $i WHERE id = $i");
}
$node->safe_psql($db, 'DELETE FROM src WHERE id BETWEEN 30 AND 40');
poll("SELECT count(*) FROM (($agg_q) EXCEPT ALL SELECT g, s, n FROM agg) d", '0',
	'a stream of commits is picked up');
is(diff_count($node, $db, 'agg', 'g, s, n', $agg_q), '0', 'both ways');

# an idle scheduler costs no transaction
sleep 1;
my $before = $node->safe_psql($db,
	"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()");
sleep 3;
my $after = $node->safe_psql($db,
	"SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()");
# pg_stat_database lags by up to PGSTAT_MIN_INTERVAL, so the measuring
# statement itself may or may not be counted
cmp_ok($after - $before, '<=', 2, 'an idle scheduler runs no transaction');

# ---------------------------------------------------------------------------
# next_refresh_at, cron, dispatch ring
# ---------------------------------------------------------------------------

$node->safe_psql($db, q{
	SELECT trickle.create_stream_table('every_minute',
		'SELECT count(*) AS n FROM src', schedule => '* * * * *', refresh_mode => 'full');
});
poll("SELECT next_refresh_at = date_trunc('minute', now()) + interval '1 minute'"
	. " OR next_refresh_at = date_trunc('minute', now()) + interval '2 minutes'"
	. " FROM trickle.stream_tables WHERE name = 'every_minute'::regclass",
	't', 'a cron schedule plans the next refresh at the next minute');
is($node->safe_psql($db, "SELECT count(*) FROM trickle.dispatch_ring WHERE state NOT IN ('READY', 'CLAIMED')"),
	'0', 'trickle.dispatch_ring shows only jobs');
$node->safe_psql($db, "SELECT trickle.drop_stream_table('every_minute')");

# ---------------------------------------------------------------------------
# Dependency order: a stream table reading a stream table
# ---------------------------------------------------------------------------

$node->safe_psql($db, q{
	SELECT trickle.create_stream_table('agg_total',
		'SELECT sum(s) AS total FROM agg', schedule => '1s');
});
$node->safe_psql($db, 'INSERT INTO src VALUES (2000, 1, 500)');
poll("SELECT total = (SELECT sum(v) FROM src) FROM agg_total", 't',
	'a downstream stream table follows its upstream');

# ---------------------------------------------------------------------------
# A stream table over a view: its table's commits wake it, and so does
# replacing the view, which changes no row
# ---------------------------------------------------------------------------

$node->safe_psql($db, q{
	CREATE VIEW src_view AS SELECT id, g, v FROM src WHERE v > 50;
	SELECT trickle.create_stream_table('over_view', 'SELECT id, v FROM src_view', schedule => '1s');
});
$node->safe_psql($db, 'INSERT INTO src VALUES (6500, 1, 4000)');
poll("SELECT count(*) FROM over_view WHERE id = 6500", '1',
	'a commit to a view\'s table reaches a stream table over the view');
$node->safe_psql($db, 'CREATE OR REPLACE VIEW src_view AS SELECT id, g, v * 2 AS v FROM src WHERE v > 60');
poll("SELECT count(*) FROM ((SELECT id, v FROM src_view) EXCEPT ALL SELECT id, v FROM over_view) d", '0',
	'CREATE OR REPLACE VIEW alone makes the scheduler refresh the stream table');
is(diff_count($node, $db, 'over_view', 'id, v', 'SELECT id, v FROM src_view'), '0', 'both ways');
ok($node->safe_psql($db,
	"SELECT count(*) > 0 FROM trickle.refresh_history WHERE stream_table = 'over_view'::regclass"
	. " AND initiated_by = 'SCHEDULER' AND action = 'REINITIALIZE' AND status = 'COMPLETED'"),
	'as a REINITIALIZE');
$node->safe_psql($db, 'UPDATE src SET v = v + 1 WHERE id = 6500');
poll("SELECT v FROM over_view WHERE id = 6500", '8002', 'later commits are applied again');
$node->safe_psql($db, 'DROP VIEW src_view CASCADE');

# ---------------------------------------------------------------------------
# suspend / resume and trickle.enabled
# ---------------------------------------------------------------------------

$node->safe_psql($db, "SELECT trickle.suspend_stream_table('agg')");
is($node->safe_psql($db, "SELECT status FROM trickle.stream_tables WHERE name = 'agg'::regclass"),
	'SUSPENDED', 'suspend_stream_table sets SUSPENDED');
$node->safe_psql($db, 'INSERT INTO src VALUES (3000, 8, 1)');
sleep 3;
is($node->safe_psql($db, 'SELECT count(*) FROM agg WHERE g = 8'), '0',
	'a suspended stream table is not refreshed');
$node->safe_psql($db, "SELECT trickle.resume_stream_table('agg')");
poll('SELECT count(*) FROM agg WHERE g = 8', '1', 'resume_stream_table brings it back');

$node->append_conf('postgresql.conf', 'trickle.enabled = off');
$node->reload;
sleep 1;
$node->safe_psql($db, 'INSERT INTO src VALUES (3001, 9, 1)');
sleep 3;
is($node->safe_psql($db, 'SELECT count(*) FROM agg WHERE g = 9'), '0',
	'trickle.enabled = off pauses scheduling');
$node->append_conf('postgresql.conf', 'trickle.enabled = on');
$node->reload;
poll('SELECT count(*) FROM agg WHERE g = 9', '1', 'and on resumes it');

# ---------------------------------------------------------------------------
# Manual refresh against a running one (the claim word)
# ---------------------------------------------------------------------------

$node->safe_psql($db, "SELECT trickle.suspend_stream_table('agg')");
my $holder = $node->background_psql($db);
$holder->query_safe('BEGIN');
$holder->query_safe("SELECT trickle.refresh_stream_table('agg')");
my ($ret, $out, $err) = $node->psql($db,
	"SELECT action FROM trickle.refresh_stream_table('agg')");
is($out, 'NO_DATA', 'a manual refresh finding one running returns NO_DATA');
like($err, qr/NOTICE:  stream table "agg" is being refreshed by process \d+/,
	'with a NOTICE naming the process');
like($err, qr/HINT:  Pass wait => true/, 'and a hint');

$node->safe_psql($db, 'INSERT INTO src VALUES (3002, 10, 1)');
my $waiter = $node->background_psql($db);
$waiter->query_until(qr/started/, q{
	\echo started
	SELECT action FROM trickle.refresh_stream_table('agg', wait => true);
});
poll("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%wait => true%'",
	'1', 'wait => true waits for the running refresh');
$holder->query_safe('COMMIT');
$holder->quit;
$waiter->quit;
is($node->safe_psql($db, 'SELECT count(*) FROM agg WHERE g = 10'), '1',
	'and then refreshes');
$node->safe_psql($db, "SELECT trickle.resume_stream_table('agg')");

# ---------------------------------------------------------------------------
# Failures: history, back-off, status ERROR, logged once
# ---------------------------------------------------------------------------

$node->safe_psql($db, q{
	CREATE TABLE flag (on_ boolean);
	CREATE FUNCTION fragile(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
	BEGIN
		IF EXISTS (SELECT FROM public.flag) THEN
			RAISE EXCEPTION 'fragile refresh failed on purpose';
		END IF;
		RETURN $1;
	END $$;
	SELECT trickle.create_stream_table('fragile_st',
		'SELECT public.fragile(id) AS id FROM src', schedule => '1s', refresh_mode => 'full');
});
my $log_offset = -s $node->logfile;
$node->safe_psql($db, 'INSERT INTO flag VALUES (true)');
poll("SELECT status FROM trickle.stream_tables WHERE name = 'fragile_st'::regclass",
	'ERROR', 'repeated failures set status ERROR');
is($node->safe_psql($db, q{
	SELECT count(*), bool_and(error_message LIKE '%fragile refresh failed on purpose%')
	  FROM trickle.refresh_history
	 WHERE stream_table = 'fragile_st'::regclass AND status = 'FAILED'}),
	'3|t', 'each failure is in the history with its error');
is($node->safe_psql($db, "SELECT consecutive_errors FROM trickle.stream_tables WHERE name = 'fragile_st'::regclass"),
	'3', 'consecutive_errors counts them');
my $history = $node->safe_psql($db,
	"SELECT count(*) FROM trickle.refresh_history WHERE stream_table = 'fragile_st'::regclass");
sleep 3;
is($node->safe_psql($db,
	"SELECT count(*) FROM trickle.refresh_history WHERE stream_table = 'fragile_st'::regclass"),
	$history, 'a stream table in ERROR is not retried');
my $log = slurp_file($node->logfile, $log_offset);
my @first = ($log =~ /scheduled refresh of stream table "fragile_st" failed/g);
is(scalar @first, 1, 'the failure is logged once');
like($log, qr/WARNING:  stream table "fragile_st" is now in status ERROR after 3 failed refreshes/,
	'and the move to ERROR once');
ok($node->safe_psql($db, q{
	SELECT max(started_at) - min(started_at) > interval '2 seconds'
	  FROM trickle.refresh_history WHERE stream_table = 'fragile_st'::regclass AND status = 'FAILED'}) eq 't',
	'retries back off (1 s, then 2 s)');

$node->safe_psql($db, 'DELETE FROM flag');
$node->safe_psql($db, "SELECT trickle.resume_stream_table('fragile_st')");
poll("SELECT status = 'ACTIVE' AND consecutive_errors = 0 FROM trickle.stream_tables WHERE name = 'fragile_st'::regclass",
	't', 'resume_stream_table clears the errors');
$node->safe_psql($db, 'INSERT INTO src VALUES (4000, 1, 1)');
poll("SELECT count(*) FROM fragile_st WHERE id = 4000", '1', 'and scheduled refreshes work again');

# ---------------------------------------------------------------------------
# A worker killed mid-refresh, and a crash
# ---------------------------------------------------------------------------

$node->safe_psql($db, q{
	CREATE FUNCTION slow(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
	BEGIN
		IF EXISTS (SELECT FROM public.flag) THEN
			PERFORM pg_sleep(0.5);
		END IF;
		RETURN $1;
	END $$;
	SELECT trickle.create_stream_table('slow_st',
		'SELECT public.slow(g) AS g, count(*) AS n FROM src GROUP BY 1', schedule => '1s', refresh_mode => 'full');
	INSERT INTO flag VALUES (true);
});
poll("SELECT count(*) FROM trickle.workers WHERE state = 'refreshing' AND stream_table = 'slow_st'::regclass",
	'1', 'a worker refreshes the slow stream table');
my $pid = $node->safe_psql($db,
	"SELECT pid FROM trickle.workers WHERE state = 'refreshing' AND stream_table = 'slow_st'::regclass LIMIT 1");
$node->safe_psql($db, "SELECT pg_terminate_backend($pid)");
poll("SELECT count(*) FROM trickle.refresh_history WHERE stream_table = 'slow_st'::regclass"
	. " AND status = 'FAILED' AND error_message LIKE 'interrupted%'", '1',
	'the terminated refresh is marked FAILED in the history');
$node->safe_psql($db, 'DELETE FROM flag');
$node->safe_psql($db, 'INSERT INTO src VALUES (5000, 42, 1)');
poll("SELECT count(*) FROM slow_st WHERE g = 42", '1',
	'a stream table whose worker was terminated is refreshed again');
is(diff_count($node, $db, 'slow_st', 'g, n', 'SELECT g, count(*) AS n FROM src GROUP BY 1'), '0',
	'and equals its query');

# kill -9 a worker mid-refresh: the postmaster restarts everything
$node->safe_psql($db, 'INSERT INTO flag VALUES (true)');
poll("SELECT count(*) FROM trickle.workers WHERE state = 'refreshing' AND stream_table = 'slow_st'::regclass",
	'1', 'a worker refreshes the slow stream table again');
$pid = $node->safe_psql($db,
	"SELECT pid FROM trickle.workers WHERE state = 'refreshing' AND stream_table = 'slow_st'::regclass LIMIT 1");
kill 'KILL', $pid;
poll("SELECT count(*) FROM trickle.refresh_history WHERE stream_table = 'slow_st'::regclass"
	. " AND status = 'FAILED' AND error_message LIKE 'interrupted%'", '2',
	'after a crash, the refresh left RUNNING is marked FAILED');
is($node->safe_psql($db, "SELECT count(*) FROM trickle.refresh_history WHERE status = 'RUNNING'"
	. " AND stream_table = 'slow_st'::regclass AND started_at < now() - interval '10 seconds'"),
	'0', 'nothing stays RUNNING');
$node->safe_psql($db, 'DELETE FROM flag');
$node->safe_psql($db, 'INSERT INTO src VALUES (5001, 43, 1)');
poll("SELECT count(*) FROM agg WHERE g = 43", '1', 'after the crash, changes flow again');
is(diff_count($node, $db, 'agg', 'g, s, n', $agg_q), '0', 'and nothing was lost');
$node->safe_psql($db, "SELECT trickle.drop_stream_table('slow_st')");

# ---------------------------------------------------------------------------
# Workers: the quota, and other databases
# ---------------------------------------------------------------------------

ok($node->safe_psql($db, q{
	SELECT count(*) <= 2 FROM trickle.workers WHERE kind = 'worker' AND database = current_database()}) eq 't',
	'no more workers than the per-database quota');

$node->safe_psql($db, 'CREATE DATABASE other');
$node->safe_psql('other', q{
	CREATE EXTENSION trickle;
	CREATE TABLE t (x int);
	SELECT trickle.create_stream_table('t_count', 'SELECT count(*) AS n FROM t', schedule => '1s');
});
poll("SELECT count(*) FROM trickle.workers WHERE kind = 'scheduler' AND database = 'other'",
	'1', 'a second database gets its own scheduler', 'other');
$node->safe_psql('other', 'INSERT INTO t SELECT generate_series(1, 10)');
poll('SELECT n FROM t_count', '10', 'and its stream tables are refreshed', 'other');

# a database with many busy stream tables does not starve another one:
# "other" has six stream tables that each take a while, but never gets more
# than its quota, and "postgres" still gets its refreshes
$node->safe_psql('other', q{
	CREATE TABLE one (x int);
	INSERT INTO one VALUES (1);
	CREATE FUNCTION public.sluggish(int) RETURNS int LANGUAGE sql IMMUTABLE
		AS 'SELECT $1 FROM pg_sleep(0.3)';
});
for my $i (1 .. 6)
{
	$node->safe_psql('other', "SELECT trickle.create_stream_table('busy$i',"
		. " 'SELECT public.sluggish(x) AS x FROM public.one', schedule => '100ms', refresh_mode => 'full')");
}
my $max_busy = 0;
for my $i (1 .. 10)
{
	$node->safe_psql($db, "INSERT INTO src VALUES (" . (7000 + $i) . ", 70, 1)");
	my $n = $node->safe_psql($db,
		"SELECT count(*) FROM trickle.workers WHERE kind = 'worker' AND database = 'other'");
	$max_busy = $n if $n > $max_busy;
	select(undef, undef, undef, 0.3);
}
cmp_ok($max_busy, '<=', 2, 'a busy database stays within its worker quota');
poll("SELECT n FROM agg WHERE g = 70", '10',
	'and another database is still refreshed meanwhile');
for my $i (1 .. 6)
{
	$node->safe_psql('other', "SELECT trickle.drop_stream_table('busy$i')");
}

# ALTER DATABASE ... RENAME, CREATE DATABASE ... TEMPLATE and DROP DATABASE
# of a database with trickle processes work, without FORCE
$node->safe_psql($db, 'ALTER DATABASE other RENAME TO other2');
poll("SELECT count(*) FROM trickle.workers WHERE kind = 'scheduler' AND database = 'other2'",
	'1', 'ALTER DATABASE RENAME works and the scheduler comes back');
$node->safe_psql('other2', 'INSERT INTO t VALUES (11)');
poll('SELECT n FROM t_count', '11', 'and refreshes there', 'other2');
$node->safe_psql($db, 'CREATE DATABASE copy TEMPLATE other2');
poll("SELECT count(*) FROM trickle.workers WHERE kind = 'scheduler' AND database IN ('copy', 'other2')",
	'2', 'CREATE DATABASE TEMPLATE works; both get a scheduler');
$node->safe_psql($db, 'DROP DATABASE other2');
$node->safe_psql($db, 'DROP DATABASE copy');
is($node->safe_psql($db, "SELECT count(*) FROM trickle.workers WHERE database IN ('copy', 'other2')"),
	'0', 'DROP DATABASE works and stops its processes');

# DROP EXTENSION stops the scheduler
$node->safe_psql($db, 'CREATE DATABASE third');
$node->safe_psql('third', 'CREATE EXTENSION trickle');
poll("SELECT count(*) FROM trickle.workers WHERE kind = 'scheduler' AND database = 'third'",
	'1', 'scheduler in a third database');
$node->safe_psql('third', 'DROP EXTENSION trickle');
poll("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'trickle scheduler' AND datname = 'third'",
	'0', 'DROP EXTENSION stops it');

# the scheduler survives a restart of the server and finds its tables again
$node->restart;
$node->safe_psql($db, 'INSERT INTO src VALUES (6000, 60, 1)');
poll("SELECT count(*) FROM agg WHERE g = 60", '1', 'after a restart, refreshes resume');

$node->stop;
done_testing();
