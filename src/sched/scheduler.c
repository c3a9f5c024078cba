/*-------------------------------------------------------------------------
 *
 * scheduler.c
 *	  One scheduler per database: decides which stream tables are due and
 *	  hands them to refresh workers through the dispatch ring.
 *
 * The scheduler keeps what it knows about its stream tables in local
 * memory and touches the catalog only when told it changed (the database's
 * catalog generation), when a refresh failed, and on the slow safety tick.
 * A tick with nothing to do therefore costs no transaction and no catalog
 * query: it drains the wake-up queue, looks at local timestamps and sleeps
 * until the next due time.
 *
 * When is a stream table due?
 *	* interval, DIFFERENTIAL: "never staler than the interval when there are
 *	  changes": once a source is dirty, at max(dirty time, last start +
 *	  interval).  Nothing dirty, nothing to do.
 *	* interval, FULL: every interval (its sources may not be captured, so
 *	  nothing tells the scheduler whether they changed).
 *	* cron: at every time the expression names (server time zone).
 *	* a failed refresh is retried after an exponential back-off with jitter;
 *	  trickle.max_consecutive_errors failures in a row set status ERROR
 *	  (the worker records that), and only trickle.resume_stream_table()
 *	  brings it back.
 * Upstream stream tables go before their downstreams: a downstream waits
 * while one of its upstreams is due or running.
 *
 * src/sched/scheduler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "cdc/cdc.h"
#include "sched/sched.h"
#include "sched/schedule.h"
#include "shmem/shmem.h"
#include "trickle.h"

/* back-off after a failure: 1 s, 2 s, 4 s ... at most 5 min, +-25 % jitter */
#define BACKOFF_BASE_MS		1000
#define BACKOFF_MAX_MS		(5 * 60 * 1000)
/* a job whose claim word was busy is offered again after this */
#define BUSY_RETRY_MS		200

typedef struct St
{
	Oid			relid;
	int			entry;			/* shared memory entry, -1 if none */
	TrickleSchedule schedule;
	bool		differential;
	bool		active;			/* status ACTIVE */
	List	   *sources;		/* source oids */
	List	   *upstreams;		/* St * of the stream tables it reads */
	int			depth;			/* 0: reads no stream table */
	TimestampTz last_start;		/* last dispatch (or last refresh) */
	TimestampTz dirty_since;	/* 0: no change known */
	TimestampTz next_cron;
	TimestampTz retry_at;		/* back-off; 0: none */
	int			errors;
	bool		queued;			/* in the ring or being refreshed */
	bool		seen;			/* reload bookkeeping */
} St;

static List *sts = NIL;			/* of St *, by depth (upstreams first) */
static MemoryContext sched_cxt;
static TrickleDb *my_db;
static TrickleProc *my_proc;
static uint32 seen_gen;
static bool need_reload = true;
static TimestampTz next_safety = 0;
static List *started_workers = NIL;	/* BackgroundWorkerHandle * */

static void fail_orphans(Oid relid);

static St *
find_st(Oid relid)
{
	ListCell   *lc;

	foreach(lc, sts)
	{
		St		   *st = lfirst(lc);

		if (st->relid == relid)
			return st;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * Time
 * --------------------------------------------------------------------- */

/* the next cron firing strictly after t, in the server's time zone */
static TimestampTz
cron_next(const TrickleSchedule *s, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	TrickleCivilTime after;
	TrickleCivilTime next;
	TimestampTz result;

	if (timestamp2tm(t, &tz, &tm, &fsec, NULL, NULL) != 0)
		return DT_NOEND;
	after.year = tm.tm_year;
	after.month = tm.tm_mon;
	after.mday = tm.tm_mday;
	after.hour = tm.tm_hour;
	after.minute = tm.tm_min;
	if (!trickle_cron_next(s, &after, &next))
		return DT_NOEND;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = next.year;
	tm.tm_mon = next.month;
	tm.tm_mday = next.mday;
	tm.tm_hour = next.hour;
	tm.tm_min = next.minute;
	tz = DetermineTimeZoneOffset(&tm, session_timezone);
	if (tm2timestamp(&tm, 0, &tz, &result) != 0)
		return DT_NOEND;
	return result;
}

static int64
backoff_ms(int errors)
{
	double		ms = BACKOFF_BASE_MS * pow(2.0, Min(errors - 1, 20));

	ms = Min(ms, BACKOFF_MAX_MS);
	return (int64) (ms * (0.75 + 0.5 * pg_prng_double(&pg_global_prng_state)));
}

/* when st should be refreshed next; DT_NOEND: not until something happens */
static TimestampTz
due_at(St *st)
{
	TimestampTz due;

	if (!st->active)
		return DT_NOEND;
	if (st->schedule.kind == TRICKLE_SCHEDULE_CRON)
		due = st->next_cron;
	else if (st->differential)
	{
		if (st->dirty_since == 0)
			return DT_NOEND;
		due = Max(st->dirty_since,
				  TimestampTzPlusMilliseconds(st->last_start, st->schedule.interval_ms));
	}
	else
		due = TimestampTzPlusMilliseconds(st->last_start, st->schedule.interval_ms);
	if (st->retry_at != 0)
		due = Max(due, st->retry_at);
	return due;
}

/* ---------------------------------------------------------------------
 * Catalog (in transactions)
 * --------------------------------------------------------------------- */

/* trickle is installed here at a version that has the scheduler */
static bool
extension_ready(void)
{
	bool		isnull;
	Datum		v;

	if (SPI_execute("SELECT pg_catalog.string_to_array(extversion, '.')::int[]"
					" >= '{0,3,0}' FROM pg_catalog.pg_extension"
					" WHERE extname = 'trickle'", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_extension");
	if (SPI_processed == 0)
		return false;
	v = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetBool(v);
}

static void
scheduler_leave(bool free_slot)
{
	char	   *dbname;

	/* the catalog cache needs a transaction; the callers have ended theirs */
	StartTransactionCommand();
	dbname = get_database_name(MyDatabaseId);
	dbname = MemoryContextStrdup(TopMemoryContext, dbname ? dbname : "?");
	CommitTransactionCommand();
	if (free_slot)
	{
		LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
		if (my_db->dboid == MyDatabaseId && pg_atomic_read_u32(&my_db->nworkers) == 0)
			my_db->dboid = InvalidOid;
		my_db->scheduler_pid = 0;
		LWLockRelease(trickle_shared->lock);
	}
	ereport(LOG,
			(errmsg("trickle scheduler for database \"%s\" is stopping: the extension is not installed",
					dbname)));
	proc_exit(0);
}

static int
depth_of(St *st, int guard)
{
	ListCell   *lc;
	int			depth = 0;

	if (guard > 100)
		return 0;				/* a cycle; create refuses them */
	foreach(lc, st->upstreams)
		depth = Max(depth, 1 + depth_of(lfirst(lc), guard + 1));
	return depth;
}

static int
by_depth(const ListCell *a, const ListCell *b)
{
	const St   *x = lfirst(a);
	const St   *y = lfirst(b);

	return (x->depth > y->depth) - (x->depth < y->depth);
}

/*
 * reload: read the stream tables of this database, keeping what is known
 * about those that stay.  Exits when the extension is gone.
 */
static void
reload(TimestampTz now)
{
	MemoryContext old;
	ListCell   *lc;
	uint64		i;

	seen_gen = pg_atomic_read_u32(&my_db->catalog_gen);
	trickle_bgw_begin("trickle scheduler: loading stream tables");
	if (!extension_ready())
	{
		trickle_bgw_commit();
		scheduler_leave(true);
	}
	if (SPI_execute("SELECT c.relid::pg_catalog.oid, c.schedule, c.effective_mode, c.status,"
					" COALESCE(c.last_refresh_at, c.created_at), c.consecutive_errors"
					" FROM trickle.catalog c", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read trickle.catalog");

	old = MemoryContextSwitchTo(sched_cxt);
	foreach(lc, sts)
		((St *) lfirst(lc))->seen = false;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		char	   *schedule = SPI_getvalue(tup, desc, 2);
		char		err[TRICKLE_SCHEDULE_ERROR_LEN];
		St		   *st = find_st(relid);
		TimestampTz last = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));

		if (st == NULL)
		{
			st = palloc0(sizeof(St));
			st->relid = relid;
			st->entry = -1;
			st->last_start = last;
			/* after a start every source counts as dirty */
			st->dirty_since = now;
			sts = lappend(sts, st);
		}
		st->seen = true;
		if (!trickle_schedule_parse(schedule, &st->schedule, err, sizeof(err)))
		{
			/* create validated it; treat a damaged one as the default */
			st->schedule.kind = TRICKLE_SCHEDULE_INTERVAL;
			st->schedule.interval_ms = 60000;
		}
		st->differential = strcmp(SPI_getvalue(tup, desc, 3), "DIFFERENTIAL") == 0;
		st->active = strcmp(SPI_getvalue(tup, desc, 4), "ACTIVE") == 0;
		st->errors = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
		if (st->errors == 0)
			st->retry_at = 0;
		if (st->schedule.kind == TRICKLE_SCHEDULE_CRON && st->next_cron == 0)
			st->next_cron = cron_next(&st->schedule, now);
		if (st->entry < 0)
			st->entry = trickle_entry_find(MyDatabaseId, relid, true);
		list_free(st->sources);
		list_free(st->upstreams);
		st->sources = NIL;
		st->upstreams = NIL;
	}
	MemoryContextSwitchTo(old);

	/* forget dropped stream tables */
	foreach(lc, sts)
	{
		St		   *st = lfirst(lc);

		if (st->seen)
			continue;
		if (st->entry >= 0)
		{
			if (st->queued)
				continue;		/* its worker will report GONE */
			trickle_entry_free(st->entry);
		}
		sts = foreach_delete_current(sts, lc);
		pfree(st);
	}

	if (SPI_execute("SELECT s.relid::pg_catalog.oid, s.source::pg_catalog.oid"
					" FROM trickle.sources s", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read trickle.sources");
	old = MemoryContextSwitchTo(sched_cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		St		   *st = find_st(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																SPI_tuptable->tupdesc, 1, &isnull)));
		Oid			source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															SPI_tuptable->tupdesc, 2, &isnull));
		St		   *up = find_st(source);

		if (st == NULL)
			continue;
		st->sources = lappend_oid(st->sources, source);
		if (up != NULL && up != st)
			st->upstreams = lappend(st->upstreams, up);
	}
	foreach(lc, sts)
		((St *) lfirst(lc))->depth = depth_of(lfirst(lc), 0);
	list_sort(sts, by_depth);
	MemoryContextSwitchTo(old);
	trickle_bgw_commit();
	need_reload = false;
}

/*
 * Mark every stream table reading source dirty (InvalidOid: all of them).
 */
static void
mark_dirty(Oid source, TimestampTz now)
{
	ListCell   *lc;

	foreach(lc, sts)
	{
		St		   *st = lfirst(lc);

		if (st->dirty_since == 0 &&
			(!OidIsValid(source) || list_member_oid(st->sources, source)))
			st->dirty_since = now;
	}
}

static void
dirty_callback(uint32 source, void *arg)
{
	mark_dirty((Oid) source, *(TimestampTz *) arg);
}

/*
 * safety_check: look into the change buffers of differential stream tables
 * for rows a lost wake-up did not announce.
 */
static void
safety_check(TimestampTz now)
{
	ListCell   *lc;
	List	   *checked = NIL;

	trickle_bgw_begin("trickle scheduler: checking change buffers");
	if (!extension_ready())
	{
		trickle_bgw_commit();
		scheduler_leave(true);
	}
	foreach(lc, sts)
	{
		St		   *st = lfirst(lc);
		ListCell   *sc;

		if (!st->differential || st->dirty_since != 0)
			continue;
		foreach(sc, st->sources)
		{
			Oid			source = lfirst_oid(sc);

			if (list_member_oid(checked, source) ||
				!OidIsValid(trickle_buffer_relid(source)))
				continue;
			checked = lappend_oid(checked, source);
			if (SPI_execute(psprintf("SELECT FROM %s LIMIT 1", trickle_buffer_name(source)),
							true, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not read a change buffer");
			if (SPI_processed > 0)
				mark_dirty(source, now);
		}
	}
	trickle_bgw_commit();
}

/* ---------------------------------------------------------------------
 * Dispatching
 * --------------------------------------------------------------------- */

static void
collect_outcomes(TimestampTz now)
{
	ListCell   *lc;

	foreach(lc, sts)
	{
		St		   *st = lfirst(lc);
		TrickleOutcome outcome;

		if (!st->queued || st->entry < 0)
			continue;
		outcome = pg_atomic_exchange_u32(&trickle_shared->entries[st->entry].outcome,
										 TRICKLE_OUTCOME_NONE);
		switch (outcome)
		{
			case TRICKLE_OUTCOME_NONE:
				break;
			case TRICKLE_OUTCOME_DONE:
				st->queued = false;
				st->errors = 0;
				st->retry_at = 0;
				break;
			case TRICKLE_OUTCOME_FAILED:
				st->queued = false;
				st->errors++;
				st->retry_at = TimestampTzPlusMilliseconds(now, backoff_ms(st->errors));
				if (st->dirty_since == 0)
					st->dirty_since = st->last_start;
				/* a status ERROR arrives with the catalog generation */
				break;
			case TRICKLE_OUTCOME_BUSY:
				st->queued = false;
				st->retry_at = TimestampTzPlusMilliseconds(now, BUSY_RETRY_MS);
				if (st->dirty_since == 0)
					st->dirty_since = st->last_start;
				break;
			case TRICKLE_OUTCOME_GONE:
				st->queued = false;
				need_reload = true;
				break;
			case TRICKLE_OUTCOME_DIED:
				/* terminated mid-refresh: its history row stayed RUNNING */
				st->queued = false;
				st->retry_at = TimestampTzPlusMilliseconds(now, BUSY_RETRY_MS);
				if (st->dirty_since == 0)
					st->dirty_since = st->last_start;
				fail_orphans(st->relid);
				break;
		}
	}
}

static bool
upstream_pending(St *st, TimestampTz now)
{
	ListCell   *lc;

	foreach(lc, st->upstreams)
	{
		St		   *up = lfirst(lc);

		if (up->queued || due_at(up) <= now)
			return true;
	}
	return false;
}

/* push due jobs; returns the earliest future due time */
static TimestampTz
dispatch(TimestampTz now, int *queued)
{
	ListCell   *lc;
	TimestampTz next = DT_NOEND;

	*queued = 0;
	foreach(lc, sts)
	{
		St		   *st = lfirst(lc);
		TimestampTz due;

		if (st->queued)
		{
			(*queued)++;
			continue;
		}
		due = due_at(st);
		if (st->entry >= 0)
			trickle_shared->entries[st->entry].next_refresh_at = due == DT_NOEND ? 0 : due;
		if (due > now)
		{
			next = Min(next, due);
			continue;
		}
		if (!trickle_enabled || st->entry < 0 || upstream_pending(st, now))
			continue;
		pg_atomic_write_u32(&trickle_shared->entries[st->entry].outcome, TRICKLE_OUTCOME_NONE);
		if (trickle_ring_push(trickle_shared->ring, (uint32) st->entry, (int64) now) < 0)
		{
			/* ring full: the job keeps its place and is pushed next tick */
			next = Min(next, TimestampTzPlusMilliseconds(now, 100));
			break;
		}
		st->queued = true;
		(*queued)++;
		st->last_start = now;
		st->dirty_since = 0;
		if (st->schedule.kind == TRICKLE_SCHEDULE_CRON)
			st->next_cron = cron_next(&st->schedule, now);
	}
	return next;
}

/* start workers up to the quota, and wake the idle ones */
static void
ensure_workers(int queued)
{
	ListCell   *lc;
	int			nstarting = 0;
	int			nlive = 0;
	int			have;
	int			i;
	pid_t		pid;

	/* workers this scheduler started; a stopped one is forgotten */
	foreach(lc, started_workers)
	{
		BgwHandleStatus status = GetBackgroundWorkerPid(lfirst(lc), &pid);

		if (status == BGWH_STOPPED)
		{
			pfree(lfirst(lc));
			started_workers = foreach_delete_current(started_workers, lc);
			continue;
		}
		nlive++;
		if (status == BGWH_NOT_YET_STARTED)
			nstarting++;
	}
	/* a worker counts itself once running; a previous scheduler's too */
	have = Max((int) pg_atomic_read_u32(&my_db->nworkers), nlive);
	while (queued > 0 && have < Min(queued, trickle_per_database_worker_quota) &&
		   (int) pg_atomic_read_u32(&trickle_shared->nworkers) + nstarting < trickle_max_workers)
	{
		BackgroundWorkerHandle *handle;
		MemoryContext old;

		old = MemoryContextSwitchTo(sched_cxt);
		if (!trickle_bgw_start("trickle_worker_main", "trickle worker", MyDatabaseId, &handle))
		{
			MemoryContextSwitchTo(old);
			break;				/* no free slot; the next tick tries again */
		}
		started_workers = lappend(started_workers, handle);
		MemoryContextSwitchTo(old);
		nstarting++;
		have++;
	}

	if (queued == 0)
		return;
	for (i = 0; i < trickle_shared->nprocs; i++)
	{
		TrickleProc *p = &trickle_shared->procs[i];

		if (p->kind == TRICKLE_PROC_WORKER && p->dboid == MyDatabaseId && p->pid != 0)
			SetLatch(&ProcGlobal->allProcs[p->procno].procLatch);
	}
}

/* ---------------------------------------------------------------------
 * Main
 * --------------------------------------------------------------------- */

/*
 * fail_orphans: refreshes left RUNNING by a crash, or by a worker that was
 * terminated (relid), never finished.  Nobody else writes RUNNING rows, and
 * the scheduler starts no refresh of relid meanwhile.
 */
static void
fail_orphans(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	trickle_bgw_begin("trickle scheduler: closing interrupted refreshes");
	trickle_catalog_exec("UPDATE trickle.refresh_history SET status = 'FAILED',"
						 " finished_at = pg_catalog.clock_timestamp(),"
						 " error_message = 'interrupted: the server or the refresh worker stopped during the refresh'"
						 " WHERE status = 'RUNNING' AND ($1 = 0 OR stream_table = $1)",
						 1, types, values, NULL);
	if (SPI_processed > 0)
		ereport(LOG,
				(errmsg("trickle scheduler marked " UINT64_FORMAT " interrupted refreshes as FAILED",
						SPI_processed)));
	trickle_bgw_commit();
}

static void
scheduler_exit(int code, Datum arg)
{
	if (my_db != NULL)
		trickle_db_detach(my_db);
}

void
trickle_scheduler_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	bool		ready;

	trickle_bgw_init(dboid, "trickle scheduler");

	/* the launcher's probe: is trickle here? */
	trickle_bgw_begin("trickle scheduler: probing");
	ready = extension_ready();
	trickle_bgw_commit();
	if (!ready)
		proc_exit(0);

	my_db = trickle_db_attach(dboid);
	if (my_db == NULL)
	{
		ereport(LOG,
				(errmsg("trickle scheduler for database \"%s\" not started",
						get_database_name(dboid)),
				 errdetail("Another scheduler serves it, or trickle.max_databases (%d) databases already have one.",
						   trickle_max_databases)));
		proc_exit(0);
	}
	before_shmem_exit(scheduler_exit, (Datum) 0);
	my_proc = trickle_proc_register(TRICKLE_PROC_SCHEDULER, "starting");
	sched_cxt = AllocSetContextCreate(TopMemoryContext, "trickle scheduler",
									  ALLOCSET_DEFAULT_SIZES);
	fail_orphans(InvalidOid);

	for (;;)
	{
		TimestampTz now;
		TimestampTz next;
		bool		overflow = false;
		bool		retry = false;
		int			queued;
		long		timeout;

		CHECK_FOR_INTERRUPTS();
		trickle_bgw_reload();
		now = GetCurrentTimestamp();
		trickle_proc_set(my_proc, "scheduling", InvalidOid);

		if (need_reload || pg_atomic_read_u32(&my_db->catalog_gen) != seen_gen)
			reload(now);
		(void) trickle_wakeq_drain(&my_db->wakeq, dirty_callback, &now, &overflow, &retry);
		if (overflow)
			mark_dirty(InvalidOid, now);
		if (now >= next_safety)
		{
			safety_check(now);
			next_safety = TimestampTzPlusMilliseconds(now, trickle_safety_interval_ms);
		}
		collect_outcomes(now);
		if (need_reload)
			reload(now);
		next = dispatch(now, &queued);
		ensure_workers(queued);
		trickle_proc_set(my_proc, "idle", InvalidOid);

		next = Min(next, next_safety);
		if (retry)
			next = Min(next, TimestampTzPlusMilliseconds(now, 1));
		timeout = (long) ((next - GetCurrentTimestamp()) / 1000);
		timeout = Max(timeout, 1);
		timeout = Min(timeout, trickle_safety_interval_ms);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
