/*-------------------------------------------------------------------------
 *
 * notify.c
 *	  What ordinary backends tell the scheduler, and when.
 *
 * Everything is said at commit (XACT_EVENT_COMMIT), never before: a
 * scheduler woken earlier could refresh and find nothing, or start for a
 * database whose CREATE has not committed.
 *
 *	* A capture trigger notes its source; at commit the backend posts the
 *	  sources through its own wake-up node to its database's queue and sets
 *	  the scheduler's latch.  An idle scheduler therefore costs nothing.
 *	* API functions that change stream tables note it; at commit the
 *	  database's catalog generation is bumped, and the scheduler reloads.
 *	* CREATE/ALTER EXTENSION trickle and CREATE DATABASE ask the launcher to
 *	  probe the database.
 *	* Claim words taken by a manual refresh are released at the end of its
 *	  transaction, commit or abort.
 *
 * The ProcessUtility hook also stops a database's trickle processes before
 * DROP DATABASE, ALTER DATABASE ... RENAME and CREATE DATABASE ... TEMPLATE
 * of it: PostgreSQL 15 refuses all three while anything is connected, and
 * gives a connected background worker no way to step aside.
 *
 * src/sched/notify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "errors.h"
#include "sched/sched.h"
#include "shmem/shmem.h"
#include "trickle.h"

static ProcessUtility_hook_type prev_utility_hook = NULL;

/* what this transaction will say at commit */
static uint32 pending_sources[TRICKLE_WAKE_SOURCES + 1];
static int	npending_sources = 0;
static bool pending_catalog = false;
static Oid	pending_probe = InvalidOid;

/* claim words held by this backend's manual refreshes */
#define MAX_HELD_CLAIMS 64
static int	held_claims[MAX_HELD_CLAIMS];
static int	nheld_claims = 0;

/*
 * trickle_sched_note_capture: a capture trigger wrote changes of source.
 * One more than a node holds is kept, so that post() sees the overflow.
 */
void
trickle_sched_note_capture(Oid source)
{
	int			i;

	for (i = 0; i < npending_sources; i++)
	{
		if (pending_sources[i] == source)
			return;
	}
	if (npending_sources < lengthof(pending_sources))
		pending_sources[npending_sources++] = source;
}

/* an API call changed a stream table of this database */
void
trickle_sched_catalog_changed(void)
{
	pending_catalog = true;
}

/* remember a claim word to release at transaction end */
static void
hold_claim(int entry)
{
	if (nheld_claims >= MAX_HELD_CLAIMS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many stream tables refreshed in one transaction"),
				 errhint("Refresh at most %d stream tables per transaction.", MAX_HELD_CLAIMS)));
	held_claims[nheld_claims++] = entry;
}

static void
release_claims(void)
{
	int			i;

	for (i = 0; i < nheld_claims; i++)
		(void) trickle_claim_release(&trickle_shared->entries[held_claims[i]].claim,
									 (uint32) MyProcPid);
	nheld_claims = 0;
}

/*
 * trickle_sched_claim_manual: take relid's claim word for a manual refresh,
 * held until the transaction ends.  A claim held by a live process makes it
 * return false, or with wait, wait for it.  True also when shared memory
 * has no entry to spare: the heavyweight lock still excludes refreshes.
 */
bool
trickle_sched_claim_manual(Oid relid, bool wait)
{
	int			entry;
	uint32	   *word;
	int			i;

	if (trickle_shared == NULL)
		return true;
	entry = trickle_entry_find(MyDatabaseId, relid, true);
	if (entry < 0)
		return true;
	word = &trickle_shared->entries[entry].claim;
	for (i = 0; i < nheld_claims; i++)
	{
		if (held_claims[i] == entry)
			return true;		/* this transaction already refreshed it */
	}

	for (;;)
	{
		uint32		owner;

		if (trickle_claim_try(word, (uint32) MyProcPid))
		{
			hold_claim(entry);
			return true;
		}
		owner = trickle_claim_owner(word);
		if (owner != TRICKLE_CLAIM_NONE && BackendPidGetProc((int) owner) == NULL)
		{
			/* its owner died without releasing it */
			(void) trickle_claim_recover(word, owner);
			continue;
		}
		if (!wait)
		{
			ereport(NOTICE,
					(errmsg("stream table \"%s\" is being refreshed by process %u",
							get_rel_name(relid), owner),
					 errdetail("This call did nothing; the running refresh will include every change committed before it started."),
					 errhint("Pass wait => true to wait for it and refresh again.")));
			return false;
		}

		/*
		 * Wait on the holder's heavyweight lock, which it keeps until its
		 * transaction ends (so the wait shows in pg_locks and deadlocks are
		 * detected), then try again: the holder releases the claim word just
		 * after its commit.
		 */
		LockRelationOid(relid, ExclusiveLock);
		UnlockRelationOid(relid, ExclusiveLock);
		if (trickle_claim_owner(word) == owner)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 10, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		CHECK_FOR_INTERRUPTS();
	}
}

static void
say_at_commit(void)
{
	TrickleDb  *db;

	/* most commits have nothing to say: not even a look at the slots */
	if (npending_sources == 0 && !pending_catalog && !OidIsValid(pending_probe))
		return;
	db = trickle_db_find(MyDatabaseId);

	if (npending_sources > 0 && db != NULL && MyProc != NULL)
	{
		(void) trickle_wakeq_post(&db->wakeq, &trickle_shared->nodes[MyProc->pgprocno],
								  pending_sources, (uint32) npending_sources);
		trickle_db_wake(db);
	}
	if (pending_catalog)
	{
		if (db != NULL)
		{
			pg_atomic_fetch_add_u32(&db->catalog_gen, 1);
			trickle_db_wake(db);
		}
		else
			trickle_launcher_request(MyDatabaseId);
	}
	if (OidIsValid(pending_probe))
		trickle_launcher_request(pending_probe);
}

static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (trickle_shared != NULL)
				say_at_commit();
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			if (trickle_shared != NULL)
				release_claims();
			npending_sources = 0;
			pending_catalog = false;
			pending_probe = InvalidOid;
			break;
		default:
			break;
	}
}

/* ---------------------------------------------------------------------
 * Databases that are dropped, renamed or copied
 * --------------------------------------------------------------------- */

/* SIGTERM the scheduler and workers of dboid and wait (up to 10 s) */
static TrickleDb *
stop_database(Oid dboid)
{
	TrickleDb  *db = trickle_db_find(dboid);
	int			i;
	int			waited;

	if (db == NULL)
		return NULL;
	LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
	db->stopping = true;
	LWLockRelease(trickle_shared->lock);

	for (waited = 0; waited < 1000; waited++)
	{
		bool		any = false;

		LWLockAcquire(trickle_shared->lock, LW_SHARED);
		for (i = 0; i < trickle_shared->nprocs; i++)
		{
			TrickleProc *p = &trickle_shared->procs[i];

			if (p->kind != TRICKLE_PROC_NONE && p->kind != TRICKLE_PROC_LAUNCHER &&
				p->dboid == dboid && p->pid != 0)
			{
				any = true;
				(void) kill(p->pid, SIGTERM);
			}
		}
		LWLockRelease(trickle_shared->lock);
		if (!any && db->scheduler_pid == 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return db;
}

/* after the statement: free a dropped database's slot, or restart it */
static void
resume_database(TrickleDb *db, Oid dboid, bool dropped)
{
	LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
	if (db->dboid == dboid)
	{
		db->stopping = false;
		db->restart_after = 0;
		if (dropped && db->scheduler_pid == 0)
			db->dboid = InvalidOid;
	}
	LWLockRelease(trickle_shared->lock);
	if (!dropped)
		trickle_launcher_request(dboid);
}

static char *
template_of(CreatedbStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->options)
	{
		DefElem    *d = lfirst_node(DefElem, lc);

		if (strcmp(d->defname, "template") == 0)
			return defGetString(d);
	}
	return NULL;
}

static bool
names_trickle(List *objects)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		Node	   *o = lfirst(lc);

		if (IsA(o, String) && strcmp(strVal(o), TRICKLE_EXTENSION) == 0)
			return true;
	}
	return false;
}

static void
utility_hook(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			 ProcessUtilityContext context, ParamListInfo params,
			 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *node = pstmt->utilityStmt;
	volatile Oid stop = InvalidOid;
	TrickleDb  *volatile db = NULL;
	volatile bool dropped = false;
	char	   *volatile created = NULL;

	if (trickle_shared != NULL)
	{
		switch (nodeTag(node))
		{
			case T_DropdbStmt:
				stop = get_database_oid(((DropdbStmt *) node)->dbname, true);
				dropped = true;
				break;
			case T_RenameStmt:
				if (((RenameStmt *) node)->renameType == OBJECT_DATABASE)
					stop = get_database_oid(((RenameStmt *) node)->subname, true);
				break;
			case T_CreatedbStmt:
				{
					char	   *tmpl = template_of((CreatedbStmt *) node);

					if (tmpl != NULL)
						stop = get_database_oid(tmpl, true);
					created = ((CreatedbStmt *) node)->dbname;
					break;
				}
			case T_CreateExtensionStmt:
				if (strcmp(((CreateExtensionStmt *) node)->extname, TRICKLE_EXTENSION) == 0)
					pending_probe = MyDatabaseId;
				break;
			case T_AlterExtensionStmt:
				if (strcmp(((AlterExtensionStmt *) node)->extname, TRICKLE_EXTENSION) == 0)
					pending_probe = MyDatabaseId;
				break;
			case T_DropStmt:
				if (((DropStmt *) node)->removeType == OBJECT_EXTENSION &&
					names_trickle(((DropStmt *) node)->objects))
					pending_catalog = true;
				break;
			default:
				break;
		}
		if (OidIsValid(stop))
			db = stop_database(stop);
	}

	PG_TRY();
	{
		if (prev_utility_hook)
			prev_utility_hook(pstmt, queryString, readOnlyTree, context, params,
							  queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		if (db != NULL)
			resume_database(db, stop, false);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (db != NULL)
		resume_database(db, stop, dropped);
	if (created != NULL)
		pending_probe = get_database_oid(created, true);
}

void
trickle_sched_init(void)
{
	RegisterXactCallback(xact_callback, NULL);
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = utility_hook;
	trickle_launcher_register();
}
