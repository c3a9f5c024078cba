/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Refresh workers: long-lived background workers of one database that
 *	  take jobs from the dispatch ring and refresh them.
 *
 * A job is a stream table entry.  The worker owns it when its CAS on the
 * ring slot won; it then must also win the stream table's claim word (a
 * manual refresh may hold it), frees the slot, and refreshes in three
 * transactions:
 *
 *	1. a RUNNING row in trickle.refresh_history, committed, so that a crash
 *	   leaves a trace (the next scheduler marks it FAILED);
 *	2. the refresh itself (orchestrator.c), which completes that row;
 *	3. after a failure: the row becomes FAILED with the error, and the
 *	   stream table's consecutive_errors grows; reaching
 *	   trickle.max_consecutive_errors sets status ERROR.
 *
 * The claim word is released after the refresh's transaction ended, then
 * the outcome is left in the entry and the scheduler's latch set.
 *
 * src/sched/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "refresh/refresh.h"
#include "sched/sched.h"
#include "shmem/shmem.h"
#include "trickle.h"

/* an idle worker leaves after this long */
#define WORKER_IDLE_EXIT_MS (5 * 60 * 1000)

static TrickleDb *my_db;
static TrickleProc *my_proc;
static bool counted = false;
static volatile int current_entry = -1;

/* accept only jobs of this database */
static bool
accept_job(uint32 job, void *arg)
{
	return job < (uint32) trickle_shared->nentries &&
		trickle_shared->entries[job].dboid == MyDatabaseId;
}

static void
report(int entry, TrickleOutcome outcome)
{
	pg_atomic_write_u32(&trickle_shared->entries[entry].outcome, outcome);
	trickle_db_wake(my_db);
}

static void
worker_exit(int code, Datum arg)
{
	int			entry = current_entry;

	if (entry >= 0)
	{
		(void) trickle_claim_release(&trickle_shared->entries[entry].claim, (uint32) MyProcPid);
		report(entry, TRICKLE_OUTCOME_DIED);
		current_entry = -1;
	}
	if (counted)
	{
		pg_atomic_fetch_sub_u32(&my_db->nworkers, 1);
		pg_atomic_fetch_sub_u32(&trickle_shared->nworkers, 1);
		counted = false;
	}
}

/* count this worker against trickle.max_workers, or refuse */
static bool
count_me(void)
{
	uint32		n = pg_atomic_read_u32(&trickle_shared->nworkers);

	while ((int) n < trickle_max_workers)
	{
		if (pg_atomic_compare_exchange_u32(&trickle_shared->nworkers, &n, n + 1))
		{
			pg_atomic_fetch_add_u32(&my_db->nworkers, 1);
			counted = true;
			return true;
		}
	}
	return false;
}

/* step 1: a RUNNING history row, or 0 when the stream table is gone or not ACTIVE */
static int64
start_history(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	int64		id = 0;

	trickle_bgw_begin("trickle: refresh");
	trickle_catalog_exec_kept("INSERT INTO trickle.refresh_history (stream_table, started_at,"
						      " action, status, initiated_by)"
						      " SELECT relid, pg_catalog.clock_timestamp(), effective_mode,"
						      " 'RUNNING', 'SCHEDULER' FROM trickle.catalog"
						      " WHERE relid = $1 AND status = 'ACTIVE'"
						      " RETURNING refresh_id", 1, types, values, NULL);
	if (SPI_processed == 1)
	{
		bool		isnull;

		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										 1, &isnull));
	}
	trickle_bgw_commit();
	return id;
}

/* step 2 */
static void
run_refresh(Oid relid, int64 history_id)
{
	TrickleRefreshResult result;

	trickle_bgw_begin("trickle: refresh");
	result = trickle_refresh(relid, false, TRICKLE_INITIATED_BY_SCHEDULER, history_id);
	if (result.action == TRICKLE_ACTION_NO_DATA)
	{
		Oid			types[1] = {INT8OID};
		Datum		values[1] = {Int64GetDatum(history_id)};

		trickle_catalog_exec_kept("UPDATE trickle.refresh_history SET status = 'COMPLETED',"
							      " action = 'NO_DATA', rows_inserted = 0, rows_deleted = 0,"
							      " finished_at = pg_catalog.clock_timestamp()"
							      " WHERE refresh_id = $1", 1, types, values, NULL);
	}
	trickle_bgw_commit();
}

/* step 3 */
static void
record_failure(Oid relid, int64 history_id, const char *message)
{
	Oid			types[4] = {INT8OID, TEXTOID, INT4OID, OIDOID};
	Datum		values[4];
	int			errors = 0;
	bool		now_error = false;

	values[0] = Int64GetDatum(history_id);
	values[1] = CStringGetTextDatum(message);
	values[2] = Int32GetDatum(trickle_max_consecutive_errors);
	values[3] = ObjectIdGetDatum(relid);

	trickle_bgw_begin("trickle: refresh");
	trickle_catalog_exec("UPDATE trickle.refresh_history SET status = 'FAILED',"
						 " finished_at = pg_catalog.clock_timestamp(), error_message = $2"
						 " WHERE refresh_id = $1", 2, types, values, NULL);
	trickle_catalog_exec("UPDATE trickle.catalog SET consecutive_errors = consecutive_errors + 1,"
						 " status = CASE WHEN status = 'ACTIVE' AND consecutive_errors + 1 >= $3"
						 " THEN 'ERROR' ELSE status END"
						 " WHERE relid = $4"
						 " RETURNING consecutive_errors, status = 'ERROR'",
						 4, types, values, NULL);
	if (SPI_processed == 1)
	{
		bool		isnull;

		errors = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		now_error = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	trickle_sched_catalog_changed();

	/* said once: the first failure, and when the stream table gives up */
	if (now_error && errors == trickle_max_consecutive_errors)
		ereport(WARNING,
				(errmsg("stream table \"%s\" is now in status ERROR after %d failed refreshes",
						get_rel_name(relid), errors),
				 errdetail("Last error: %s", message),
				 errhint("Fix the cause, then call trickle.resume_stream_table('%s').",
						 get_rel_name(relid))));
	else if (errors == 1)
		ereport(LOG,
				(errmsg("scheduled refresh of stream table \"%s\" failed: %s",
						get_rel_name(relid), message),
				 errdetail("It is retried with back-off; repeated failures are not logged again.")));
	trickle_bgw_commit();
}

static void
run_job(int slot, int entry)
{
	TrickleEntry *e = &trickle_shared->entries[entry];
	Oid			relid = e->relid;
	int64		history_id;
	MemoryContext cxt = CurrentMemoryContext;

	for (;;)
	{
		uint32		owner;

		if (trickle_claim_try(&e->claim, (uint32) MyProcPid))
			break;
		owner = trickle_claim_owner(&e->claim);
		if (owner != TRICKLE_CLAIM_NONE && BackendPidGetProc((int) owner) == NULL)
		{
			(void) trickle_claim_recover(&e->claim, owner);
			continue;
		}
		(void) trickle_ring_release(trickle_shared->ring, slot);
		report(entry, TRICKLE_OUTCOME_BUSY);
		return;
	}
	current_entry = entry;
	(void) trickle_ring_release(trickle_shared->ring, slot);
	trickle_proc_set(my_proc, "refreshing", relid);

	history_id = start_history(relid);
	if (history_id == 0)
	{
		(void) trickle_claim_release(&e->claim, (uint32) MyProcPid);
		current_entry = -1;
		report(entry, TRICKLE_OUTCOME_GONE);
		return;
	}

	PG_TRY();
	{
		run_refresh(relid, history_id);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		(void) trickle_claim_release(&e->claim, (uint32) MyProcPid);
		record_failure(relid, history_id, edata->message);
		FreeErrorData(edata);
		current_entry = -1;
		report(entry, TRICKLE_OUTCOME_FAILED);
		trickle_proc_set(my_proc, "idle", InvalidOid);
		return;
	}
	PG_END_TRY();

	(void) trickle_claim_release(&e->claim, (uint32) MyProcPid);
	current_entry = -1;
	report(entry, TRICKLE_OUTCOME_DONE);
	trickle_proc_set(my_proc, "idle", InvalidOid);
}

void
trickle_worker_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	TimestampTz idle_since;
	MemoryContext job_cxt;

	trickle_bgw_init(dboid, "trickle worker");

	my_db = trickle_db_find(dboid);
	if (my_db == NULL)
		proc_exit(0);
	before_shmem_exit(worker_exit, (Datum) 0);
	if (!count_me())
		proc_exit(0);			/* trickle.max_workers reached meanwhile */
	my_proc = trickle_proc_register(TRICKLE_PROC_WORKER, "idle");
	job_cxt = AllocSetContextCreate(TopMemoryContext, "trickle worker job",
									ALLOCSET_DEFAULT_SIZES);
	idle_since = GetCurrentTimestamp();

	for (;;)
	{
		uint32		job;
		int			slot;

		CHECK_FOR_INTERRUPTS();
		trickle_bgw_reload();
		if (my_db->stopping || my_db->dboid != MyDatabaseId)
			proc_exit(0);

		slot = trickle_ring_claim(trickle_shared->ring, accept_job, NULL,
								  (int32) MyProcPid, &job);
		if (slot >= 0)
		{
			MemoryContext old = MemoryContextSwitchTo(job_cxt);

			run_job(slot, (int) job);
			MemoryContextSwitchTo(old);
			MemoryContextReset(job_cxt);
			idle_since = GetCurrentTimestamp();
			continue;
		}
		if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), WORKER_IDLE_EXIT_MS))
			proc_exit(0);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
