/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Placing trickle's shared state in the main shared memory segment, and
 *	  the few operations on it that take a lock.
 *
 * Everything lives in one ShmemInitStruct block, sized from settings that
 * only change at server start.  The main segment is mapped at the same
 * address in every backend, which the wake-up queue's absolute pointers
 * rely on (see ring.h).  A crash of any backend makes the postmaster
 * reinitialise the segment, so no half-done lock-free operation survives
 * one; what it forgets (dirty sources) the schedulers assume after start.
 *
 * src/shmem/shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "shmem/shmem.h"
#include "trickle.h"

TrickleShared *trickle_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this process's row of trickle.workers, cleared at exit */
static TrickleProc *my_proc = NULL;

static int
node_count(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

static int
proc_count(void)
{
	return 1 + trickle_max_databases + max_worker_processes;
}

static Size
shared_size(void)
{
	Size		size = MAXALIGN(sizeof(TrickleShared));

	size = add_size(size, MAXALIGN(mul_size(trickle_max_databases, sizeof(TrickleDb))));
	size = add_size(size, MAXALIGN(mul_size(trickle_max_stream_tables, sizeof(TrickleEntry))));
	size = add_size(size, MAXALIGN(mul_size(proc_count(), sizeof(TrickleProc))));
	size = add_size(size, MAXALIGN(mul_size(node_count(), sizeof(TrickleWakeNode))));
	size = add_size(size, MAXALIGN(trickle_ring_size(trickle_max_stream_tables)));
	return size;
}

static void
shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shared_size());
	RequestNamedLWLockTranche("trickle", 1);
}

static void
shmem_startup(void)
{
	bool		found;
	char	   *p;
	int			i;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	trickle_shared = ShmemInitStruct("trickle", shared_size(), &found);
	if (!found)
	{
		TrickleShared *s = trickle_shared;

		memset(s, 0, shared_size());
		s->lock = &(GetNamedLWLockTranche("trickle"))->lock;
		pg_atomic_init_u32(&s->nworkers, 0);
		s->ndbs = trickle_max_databases;
		s->nentries = trickle_max_stream_tables;
		s->nprocs = proc_count();
		s->nnodes = node_count();

		p = (char *) s + MAXALIGN(sizeof(TrickleShared));
		s->dbs = (TrickleDb *) p;
		p += MAXALIGN(mul_size(s->ndbs, sizeof(TrickleDb)));
		s->entries = (TrickleEntry *) p;
		p += MAXALIGN(mul_size(s->nentries, sizeof(TrickleEntry)));
		s->procs = (TrickleProc *) p;
		p += MAXALIGN(mul_size(s->nprocs, sizeof(TrickleProc)));
		s->nodes = (TrickleWakeNode *) p;
		p += MAXALIGN(mul_size(s->nnodes, sizeof(TrickleWakeNode)));
		s->ring = (TrickleRing *) p;

		for (i = 0; i < s->ndbs; i++)
		{
			pg_atomic_init_u32(&s->dbs[i].nworkers, 0);
			pg_atomic_init_u32(&s->dbs[i].catalog_gen, 0);
			trickle_wakeq_init(&s->dbs[i].wakeq);
		}
		for (i = 0; i < s->nentries; i++)
			pg_atomic_init_u32(&s->entries[i].outcome, TRICKLE_OUTCOME_NONE);
		for (i = 0; i < s->nnodes; i++)
			trickle_wakenode_init(&s->nodes[i]);
		trickle_ring_init(s->ring, s->nentries);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
trickle_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shmem_startup;
}

/* ---------------------------------------------------------------------
 * Database slots
 * --------------------------------------------------------------------- */

/* the slot of dboid, or NULL; a racy read, good enough to find a queue */
TrickleDb *
trickle_db_find(Oid dboid)
{
	int			i;

	for (i = 0; i < trickle_shared->ndbs; i++)
	{
		if (trickle_shared->dbs[i].dboid == dboid)
			return &trickle_shared->dbs[i];
	}
	return NULL;
}

/*
 * trickle_db_attach: the calling scheduler takes dboid's slot (kept across
 * scheduler restarts, with its queue), or a free one.  NULL when another
 * live scheduler has it or no slot is free.
 */
TrickleDb *
trickle_db_attach(Oid dboid)
{
	TrickleDb  *db = NULL;
	TrickleDb  *free_slot = NULL;
	int			i;

	LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < trickle_shared->ndbs; i++)
	{
		TrickleDb  *d = &trickle_shared->dbs[i];

		if (d->dboid == dboid)
			db = d;
		else if (!OidIsValid(d->dboid) && free_slot == NULL)
			free_slot = d;
	}
	if (db == NULL && free_slot != NULL)
	{
		db = free_slot;
		db->dboid = dboid;
		db->stopping = false;
		pg_atomic_write_u32(&db->nworkers, 0);
	}
	if (db != NULL && db->scheduler_pid != 0 && db->scheduler_pid != MyProcPid)
		db = NULL;
	if (db != NULL)
	{
		db->scheduler_pid = MyProcPid;
		db->scheduler_procno = MyProc->pgprocno;
	}
	LWLockRelease(trickle_shared->lock);
	return db;
}

/* the scheduler leaves; the slot is freed only when nothing else uses it */
void
trickle_db_detach(TrickleDb *db)
{
	LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
	if (db->scheduler_pid == MyProcPid)
		db->scheduler_pid = 0;
	LWLockRelease(trickle_shared->lock);
}

/* set the scheduler's latch, if it runs */
void
trickle_db_wake(TrickleDb *db)
{
	int			pid = db->scheduler_pid;
	int			procno = db->scheduler_procno;

	if (pid != 0 && procno >= 0 && procno < (int) ProcGlobal->allProcCount)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}

/* ---------------------------------------------------------------------
 * Stream table entries
 * --------------------------------------------------------------------- */

/* index of (dboid, relid)'s entry, or -1; the caller holds the lock */
static int
entry_lookup(Oid dboid, Oid relid)
{
	int			i;

	for (i = 0; i < trickle_shared->nentries; i++)
	{
		TrickleEntry *e = &trickle_shared->entries[i];

		if (e->dboid == dboid && e->relid == relid)
			return i;
	}
	return -1;
}

/*
 * trickle_entry_find: index of (dboid, relid)'s entry, creating it when
 * create is set; -1 when absent (or the table is full, which is reported).
 * Looking up takes the lock shared; only creating takes it exclusively.
 */
int
trickle_entry_find(Oid dboid, Oid relid, bool create)
{
	int			found;
	int			i;

	LWLockAcquire(trickle_shared->lock, LW_SHARED);
	found = entry_lookup(dboid, relid);
	LWLockRelease(trickle_shared->lock);
	if (found >= 0 || !create)
		return found;

	LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
	found = entry_lookup(dboid, relid);
	for (i = 0; found < 0 && i < trickle_shared->nentries; i++)
	{
		TrickleEntry *e = &trickle_shared->entries[i];

		if (!OidIsValid(e->dboid))
		{
			e->dboid = dboid;
			e->relid = relid;
			e->claim = TRICKLE_CLAIM_NONE;
			e->next_refresh_at = 0;
			pg_atomic_write_u32(&e->outcome, TRICKLE_OUTCOME_NONE);
			found = i;
		}
	}
	LWLockRelease(trickle_shared->lock);
	if (found < 0)
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("trickle has no room for another stream table in shared memory"),
				 errhint("Raise trickle.max_stream_tables (currently %d) and restart the server.",
						 trickle_max_stream_tables)));
	return found;
}

/* free an entry nobody claims (a dropped stream table) */
void
trickle_entry_free(int index)
{
	TrickleEntry *e = &trickle_shared->entries[index];

	LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
	if (trickle_claim_owner(&e->claim) == TRICKLE_CLAIM_NONE)
	{
		e->dboid = InvalidOid;
		e->relid = InvalidOid;
		e->next_refresh_at = 0;
	}
	LWLockRelease(trickle_shared->lock);
}

/* ---------------------------------------------------------------------
 * trickle.workers
 * --------------------------------------------------------------------- */

static void
proc_unregister(int code, Datum arg)
{
	if (my_proc != NULL)
	{
		LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
		my_proc->kind = TRICKLE_PROC_NONE;
		my_proc->pid = 0;
		LWLockRelease(trickle_shared->lock);
		my_proc = NULL;
	}
}

/* take a row of trickle.workers for this process, released at exit */
TrickleProc *
trickle_proc_register(TrickleProcKind kind, const char *state)
{
	int			i;

	LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < trickle_shared->nprocs; i++)
	{
		TrickleProc *p = &trickle_shared->procs[i];

		if (p->kind == TRICKLE_PROC_NONE)
		{
			p->kind = kind;
			p->pid = MyProcPid;
			p->procno = MyProc->pgprocno;
			p->dboid = MyDatabaseId;
			p->roleid = GetUserId();
			p->started_at = GetCurrentTimestamp();
			strlcpy(p->state, state, sizeof(p->state));
			p->relid = InvalidOid;
			my_proc = p;
			break;
		}
	}
	LWLockRelease(trickle_shared->lock);
	if (my_proc != NULL)
		before_shmem_exit(proc_unregister, (Datum) 0);
	return my_proc;
}

/* what this process does now (racy for readers; informational) */
void
trickle_proc_set(TrickleProc *proc, const char *state, Oid relid)
{
	if (proc == NULL)
		return;
	strlcpy(proc->state, state, sizeof(proc->state));
	proc->relid = relid;
	if (proc->kind != TRICKLE_PROC_LAUNCHER)
		proc->dboid = MyDatabaseId;
}

/* ---------------------------------------------------------------------
 * The launcher's mailbox
 * --------------------------------------------------------------------- */

/* ask the launcher to probe dboid (start a scheduler there if trickle is) */
void
trickle_launcher_request(Oid dboid)
{
	int			i;
	bool		known = false;

	LWLockAcquire(trickle_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < trickle_shared->nprobe; i++)
		known |= trickle_shared->probe[i] == dboid;
	if (!known && trickle_shared->nprobe < lengthof(trickle_shared->probe))
		trickle_shared->probe[trickle_shared->nprobe++] = dboid;
	else if (!known)
		trickle_shared->probe_all = true;
	LWLockRelease(trickle_shared->lock);
	trickle_launcher_wake();
}

void
trickle_launcher_wake(void)
{
	int			procno = trickle_shared->launcher_procno;

	if (trickle_shared->launcher_pid != 0 && procno >= 0 &&
		procno < (int) ProcGlobal->allProcCount)
		SetLatch(&ProcGlobal->allProcs[procno].procLatch);
}
