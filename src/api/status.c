/*-------------------------------------------------------------------------
 *
 * status.c
 *	  Suspending and resuming stream tables, and the views over the
 *	  scheduler's shared memory: trickle.workers, trickle.dispatch_ring and
 *	  trickle.stream_tables.next_refresh_at.
 *
 * src/api/status.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "catalog.h"
#include "errors.h"
#include "sched/sched.h"
#include "shmem/shmem.h"
#include "trickle.h"

PG_FUNCTION_INFO_V1(suspend_stream_table);
PG_FUNCTION_INFO_V1(resume_stream_table);
PG_FUNCTION_INFO_V1(trickle_workers);
PG_FUNCTION_INFO_V1(trickle_dispatch_ring);
PG_FUNCTION_INFO_V1(trickle_next_refresh_at);

/* set status (owner only); resuming also forgets past errors */
static void
set_status(text *name, const char *status)
{
	Oid			relid;
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	relid = trickle_resolve_stream_table(name, ShareUpdateExclusiveLock, NULL);
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));
	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(status);
	trickle_catalog_exec("UPDATE trickle.catalog SET status = $2,"
						 " consecutive_errors = CASE WHEN $2 = 'ACTIVE' THEN 0"
						 " ELSE consecutive_errors END WHERE relid = $1",
						 2, types, values, NULL);
	SPI_finish();
	trickle_sched_catalog_changed();
}

Datum
suspend_stream_table(PG_FUNCTION_ARGS)
{
	set_status(PG_GETARG_TEXT_PP(0), "SUSPENDED");
	PG_RETURN_VOID();
}

Datum
resume_stream_table(PG_FUNCTION_ARGS)
{
	set_status(PG_GETARG_TEXT_PP(0), "ACTIVE");
	PG_RETURN_VOID();
}

static const char *const kind_names[] = {"", "launcher", "scheduler", "worker"};
static const char *const slot_names[] = {"FREE", "READY", "CLAIMED", "?"};

/*
 * trickle.workers: pid, database, role, kind, state, stream table (only
 * resolvable in its own database: an oid elsewhere), started_at.
 */
Datum
trickle_workers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (trickle_shared == NULL)
		return (Datum) 0;
	LWLockAcquire(trickle_shared->lock, LW_SHARED);
	for (i = 0; i < trickle_shared->nprocs; i++)
	{
		TrickleProc p = trickle_shared->procs[i];
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		if (p.kind == TRICKLE_PROC_NONE)
			continue;
		values[0] = Int32GetDatum(p.pid);
		values[1] = ObjectIdGetDatum(p.dboid);
		nulls[1] = !OidIsValid(p.dboid);
		values[2] = ObjectIdGetDatum(p.roleid);
		nulls[2] = !OidIsValid(p.roleid);
		values[3] = CStringGetTextDatum(kind_names[p.kind]);
		p.state[sizeof(p.state) - 1] = '\0';
		values[4] = CStringGetTextDatum(p.state);
		values[5] = ObjectIdGetDatum(p.relid);
		nulls[5] = !OidIsValid(p.relid);
		values[6] = TimestampTzGetDatum(p.started_at);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(trickle_shared->lock);
	return (Datum) 0;
}

/* trickle.dispatch_ring: the slots that hold a job */
Datum
trickle_dispatch_ring(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (trickle_shared == NULL)
		return (Datum) 0;
	for (i = 0; i < (int) trickle_shared->ring->nslots; i++)
	{
		uint32		job;
		int64		enqueued_at;
		int32		claimed_by;
		TrickleSlotState state;
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};

		state = trickle_ring_peek(trickle_shared->ring, i, &job, &enqueued_at, &claimed_by);
		if (state == TRICKLE_SLOT_FREE)
			continue;
		values[0] = Int32GetDatum(i);
		values[1] = CStringGetTextDatum(slot_names[Min((int) state, 3)]);
		if (job < (uint32) trickle_shared->nentries)
		{
			values[2] = ObjectIdGetDatum(trickle_shared->entries[job].relid);
			values[3] = ObjectIdGetDatum(trickle_shared->entries[job].dboid);
		}
		else
			nulls[2] = nulls[3] = true;
		values[4] = TimestampTzGetDatum((TimestampTz) enqueued_at);
		values[5] = Int32GetDatum(claimed_by);
		nulls[5] = state != TRICKLE_SLOT_CLAIMED;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* when the scheduler means to refresh relid next (NULL: not planned) */
Datum
trickle_next_refresh_at(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	int			entry;
	TimestampTz at;

	if (trickle_shared == NULL)
		PG_RETURN_NULL();
	entry = trickle_entry_find(MyDatabaseId, relid, false);
	if (entry < 0)
		PG_RETURN_NULL();
	at = trickle_shared->entries[entry].next_refresh_at;
	if (at == 0)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(at);
}
