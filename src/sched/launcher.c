/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The launcher: one static background worker that keeps a scheduler
 *	  running in every database where trickle is installed.
 *
 * It connects to no database, so it can read pg_database (a shared
 * catalog) but not pg_extension.  At start it probes every database that
 * accepts connections and is not a template, by starting a scheduler there
 * that exits at once when trickle is absent.  Afterwards it acts only when
 * asked (CREATE EXTENSION and CREATE DATABASE, at commit, see notify.c) and
 * when a scheduler it knows has stopped: it never polls the databases.
 *
 * src/sched/launcher.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "sched/sched.h"
#include "shmem/shmem.h"
#include "trickle.h"

/* a scheduler the launcher started */
typedef struct Started
{
	Oid			dboid;
	BackgroundWorkerHandle *handle;
} Started;

static List *started = NIL;		/* of Started, in TopMemoryContext */

/* seconds before a stopped scheduler of a trickle database is restarted */
#define RESTART_DELAY_MS 5000

void
trickle_launcher_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	strlcpy(worker.bgw_library_name, "trickle", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "trickle_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "trickle launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "trickle launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* is a scheduler we started for dboid still starting or running? */
static bool
scheduler_alive(Oid dboid)
{
	ListCell   *lc;
	pid_t		pid;

	foreach(lc, started)
	{
		Started    *s = lfirst(lc);

		if (s->dboid == dboid &&
			GetBackgroundWorkerPid(s->handle, &pid) != BGWH_STOPPED)
			return true;
	}
	return false;
}

/* forget stopped schedulers */
static void
prune_started(void)
{
	ListCell   *lc;
	pid_t		pid;

	foreach(lc, started)
	{
		Started    *s = lfirst(lc);

		if (GetBackgroundWorkerPid(s->handle, &pid) == BGWH_STOPPED)
		{
			pfree(s->handle);
			started = foreach_delete_current(started, lc);
			pfree(s);
		}
	}
}

static void
start_scheduler(Oid dboid)
{
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	Started    *s;

	if (scheduler_alive(dboid))
		return;
	if (!trickle_bgw_start("trickle_scheduler_main", "trickle scheduler", dboid, &handle))
	{
		ereport(LOG,
				(errmsg("trickle launcher could not start a scheduler for database %u", dboid),
				 errhint("Raise max_worker_processes.")));
		return;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	s = palloc(sizeof(Started));
	s->dboid = dboid;
	s->handle = handle;
	started = lappend(started, s);
	MemoryContextSwitchTo(old);
}

/* probe every database that accepts connections and is not a template */
static void
probe_all(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	List	   *dbs = NIL;
	ListCell   *lc;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext old;

	/* the list must outlive the transaction */
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database d = (Form_pg_database) GETSTRUCT(tup);

		if (d->datallowconn && !d->datistemplate)
		{
			old = MemoryContextSwitchTo(outer);
			dbs = lappend_oid(dbs, d->oid);
			MemoryContextSwitchTo(old);
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	PopActiveSnapshot();
	CommitTransactionCommand();

	foreach(lc, dbs)
		start_scheduler(lfirst_oid(lc));
	list_free(dbs);
}

/* say in the log when max_worker_processes leaves no room for trickle */
static void
check_worker_room(void)
{
	int			needed = 1 + 1 + trickle_max_workers;

	if (max_worker_processes < needed)
		ereport(LOG,
				(errmsg("max_worker_processes (%d) leaves too little room for trickle",
						max_worker_processes),
				 errdetail("trickle needs 1 launcher, 1 scheduler per database with trickle and up to trickle.max_workers (%d) refresh workers; parallel query and logical replication share the same pool.",
						   trickle_max_workers),
				 errhint("Set max_worker_processes to at least %d plus what other features need.",
						 needed + 8)));
}

static void
launcher_exit(int code, Datum arg)
{
	trickle_shared->launcher_pid = 0;
}

void
trickle_launcher_main(Datum arg)
{
	TrickleProc *proc;
	bool		rescan = true;

	trickle_bgw_init(InvalidOid, "trickle launcher");

	trickle_shared->launcher_procno = MyProc->pgprocno;
	trickle_shared->launcher_pid = MyProcPid;
	before_shmem_exit(launcher_exit, (Datum) 0);
	proc = trickle_proc_register(TRICKLE_PROC_LAUNCHER, "idle");
	check_worker_room();

	for (;;)
	{
		Oid			probe[lengthof(trickle_shared->probe)];
		int			nprobe;
		int			i;
		TimestampTz now;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			trickle_bgw_reload();
			check_worker_room();
		}

		/* what committing backends asked for */
		LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
		nprobe = trickle_shared->nprobe;
		memcpy(probe, trickle_shared->probe, nprobe * sizeof(Oid));
		trickle_shared->nprobe = 0;
		rescan |= trickle_shared->probe_all;
		trickle_shared->probe_all = false;
		LWLockRelease(trickle_shared->lock);

		trickle_proc_set(proc, "launching", InvalidOid);
		prune_started();
		if (rescan)
			probe_all();
		rescan = false;
		for (i = 0; i < nprobe; i++)
			start_scheduler(probe[i]);

		/* restart the schedulers of trickle databases that stopped */
		now = GetCurrentTimestamp();
		for (i = 0; i < trickle_shared->ndbs; i++)
		{
			TrickleDb  *db = &trickle_shared->dbs[i];
			Oid			dboid = db->dboid;

			if (!OidIsValid(dboid) || db->stopping || db->scheduler_pid != 0 ||
				scheduler_alive(dboid))
				continue;
			if (db->restart_after == 0)
				db->restart_after = TimestampTzPlusMilliseconds(now, RESTART_DELAY_MS);
			else if (now >= db->restart_after)
			{
				db->restart_after = 0;
				start_scheduler(dboid);
			}
		}
		trickle_proc_set(proc, "idle", InvalidOid);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 RESTART_DELAY_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
