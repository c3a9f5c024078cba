/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  trickle's shared memory: database slots (one scheduler each, its
 *	  wake-up queue and its workers), stream table entries (claim words and
 *	  what the scheduler publishes about each), the dispatch ring and the
 *	  process table behind trickle.workers.
 *
 * The lock-free protocols themselves are the pure core in ring.h; this file
 * places their structures in the main segment and adds what needs a lock
 * (allocating slots and entries, both rare) under one LWLock.
 *
 * src/shmem/shmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_SHMEM_H
#define TRICKLE_SHMEM_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/lwlock.h"

#include "shmem/ring.h"

typedef enum TrickleProcKind
{
	TRICKLE_PROC_NONE = 0,
	TRICKLE_PROC_LAUNCHER,
	TRICKLE_PROC_SCHEDULER,
	TRICKLE_PROC_WORKER
} TrickleProcKind;

/* one row of trickle.workers */
typedef struct TrickleProc
{
	TrickleProcKind kind;		/* NONE: free */
	int			pid;
	int			procno;			/* its PGPROC, for its latch */
	Oid			dboid;			/* InvalidOid for the launcher */
	Oid			roleid;
	TimestampTz started_at;
	char		state[16];		/* "idle", "refreshing", "scheduling", ... */
	Oid			relid;			/* stream table being refreshed */
} TrickleProc;

/* outcome a worker leaves in an entry for its scheduler */
typedef enum TrickleOutcome
{
	TRICKLE_OUTCOME_NONE = 0,
	TRICKLE_OUTCOME_DONE,		/* refreshed (any action) */
	TRICKLE_OUTCOME_FAILED,		/* error recorded in history */
	TRICKLE_OUTCOME_BUSY,		/* somebody else held the claim word */
	TRICKLE_OUTCOME_GONE,		/* the stream table no longer exists */
	TRICKLE_OUTCOME_DIED		/* the worker exited during the refresh */
} TrickleOutcome;

/* a stream table known to shared memory */
typedef struct TrickleEntry
{
	Oid			dboid;			/* InvalidOid: free */
	Oid			relid;
	uint32		claim;			/* claim word: owner pid or 0 (ring.h) */
	pg_atomic_uint32 outcome;	/* TrickleOutcome, set by the worker */
	TimestampTz next_refresh_at;	/* published by the scheduler; 0: none */
} TrickleEntry;

/* one database with trickle: its scheduler and its queue */
typedef struct TrickleDb
{
	Oid			dboid;			/* InvalidOid: free */
	int			scheduler_pid;	/* 0 when none runs */
	int			scheduler_procno;	/* for its latch */
	bool		stopping;		/* held off by a DROP/RENAME/COPY of it */
	pg_atomic_uint32 nworkers;	/* refresh workers running for it */
	pg_atomic_uint32 catalog_gen;	/* bumped when its stream tables change */
	TimestampTz restart_after;	/* launcher: do not start before */
	TrickleWakeQueue wakeq;
} TrickleDb;

typedef struct TrickleShared
{
	LWLock	   *lock;			/* slots and entries: allocation and lookup */
	int			launcher_pid;
	int			launcher_procno;
	/* the launcher's mailbox (under lock) */
	Oid			probe[16];		/* databases to probe */
	int			nprobe;
	bool		probe_all;		/* more than probe[] holds: probe them all */
	pg_atomic_uint32 nworkers;	/* refresh workers in the cluster */
	int			ndbs;
	int			nentries;
	int			nprocs;
	int			nnodes;
	TrickleDb  *dbs;
	TrickleEntry *entries;
	TrickleProc *procs;
	TrickleWakeNode *nodes;		/* one per PGPROC */
	TrickleRing *ring;
} TrickleShared;

extern TrickleShared *trickle_shared;

/* settings (src/guc.c) */
extern bool trickle_enabled;
extern int	trickle_max_workers;
extern int	trickle_per_database_worker_quota;
extern int	trickle_max_consecutive_errors;
extern int	trickle_max_databases;
extern int	trickle_max_stream_tables;
extern int	trickle_safety_interval_ms;

extern void trickle_shmem_init(void);

extern TrickleDb *trickle_db_find(Oid dboid);
extern TrickleDb *trickle_db_attach(Oid dboid);
extern void trickle_db_detach(TrickleDb *db);
extern void trickle_db_wake(TrickleDb *db);

extern int	trickle_entry_find(Oid dboid, Oid relid, bool create);
extern void trickle_entry_free(int index);

extern TrickleProc *trickle_proc_register(TrickleProcKind kind, const char *state);
extern void trickle_proc_set(TrickleProc *proc, const char *state, Oid relid);

extern void trickle_launcher_request(Oid dboid);
extern void trickle_launcher_wake(void);

#endif							/* TRICKLE_SHMEM_H */
