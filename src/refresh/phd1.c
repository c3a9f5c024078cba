/*-------------------------------------------------------------------------
 *
 * phd1.c
 *	  Deleting change buffer rows that every consumer has read.
 *
 * A buffer row is consumed by a stream table once its frontier saw it.
 * Every row whose xid is below the smallest frontier xmin of the source's
 * DIFFERENTIAL consumers (and below the transaction recorded with that
 * frontier, see orchestrator.c) was seen by all of them, so it is deleted:
 * one index range scan.  A consumer not yet populated has no frontier and
 * will start with a FULL refresh, so it holds nothing back.
 *
 * Deleting costs a heap update and a WAL record per row, as much as the
 * MERGE for a large change.  So a large buffer is emptied by TRUNCATE
 * instead, which costs the same whatever it holds, once every row in it is
 * consumed.  TRUNCATE is not MVCC-safe: a transaction whose snapshot is
 * older than it sees the buffer empty.  That is harmless here, because no
 * consumer needs a consumed row, and rows written later go to the emptied
 * buffer.  It needs an ACCESS EXCLUSIVE lock, taken only if nobody holds a
 * lock on the buffer (no writer in flight, no other refresh reading it),
 * never waited for; whether every row is consumed is decided under that
 * lock, when no writer can add one.  Writers arriving meanwhile wait until
 * the refresh commits, so the TRUNCATE is skipped inside an explicit
 * transaction block, whose end is the user's.
 *
 * A TRUNCATE gives the buffer a new relfilenode, and so invalidates every
 * kept plan that reads it: the next refresh of each consumer plans its
 * delta again, which for a join costs milliseconds.  So the buffer is
 * truncated only once it has grown to trickle.buffer_truncate_threshold
 * (16MB by default); a buffer between DELETE_MAX_PAGES and that size keeps
 * its consumed rows until then (they cost no refresh anything: every read
 * is an index range above a frontier).  A buffer of fewer pages is cleaned
 * by DELETE, cheap for a few rows; so is a large one that cannot be
 * truncated (a writer in flight, a consumer behind).  The DELETE takes
 * every consumed row, from the start of the buffer, since consumed rows an
 * earlier refresh left may lie below what this refresh read.
 *
 * The consumers' frontiers are read with the refresh's snapshot, after this
 * refresh recorded its own.  A consumer created concurrently is invisible
 * here but needs nothing older than its own snapshot, and its creation held
 * off every writer of the source between that snapshot and its commit.
 *
 * Two refreshes sharing a source do not clean its buffer at once: the
 * second one skips it (a self-conflicting lock writers ignore).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/xid8.h"

#include "catalog.h"
#include "cdc/cdc.h"
#include "refresh/refresh.h"
#include "trickle.h"

/*
 * a buffer of fewer pages (about 1,000 rows) is cleaned by DELETE, cheap for
 * a few rows; deleting costs about 0.3 microseconds per row, truncating 4MB
 * of rows about 0.03
 */
#define DELETE_MAX_PAGES 8

/* trickle.buffer_truncate_threshold, in pages */
int			trickle_buffer_truncate_threshold = 2048;

/* the smallest xid some DIFFERENTIAL consumer of source $1 has not consumed */
#define CUTOFF_SQL \
	"(SELECT pg_catalog.min(LEAST(pg_catalog.pg_snapshot_xmin(c.frontier), c.frontier_xid))" \
	" FROM trickle.catalog c JOIN trickle.sources s ON s.relid = c.relid" \
	" WHERE s.source = $1 AND c.effective_mode = 'DIFFERENTIAL')"

/*
 * runs sql (its plan kept: trickle_kept_plan) as the extension owner, with a snapshot
 * that sees this refresh's frontier; returns SPI's code
 */
static int
run_as_owner(const char *sql, int nargs, Oid *argtypes, Datum *values)
{
	Oid			save_userid;
	int			save_sec_context;
	volatile int rc = 0;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(trickle_extension_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		SPIPlanPtr	plan = trickle_kept_plan(sql, nargs, argtypes);

		rc = SPI_execute_snapshot(plan, values, NULL, InvalidSnapshot, InvalidSnapshot,
								  false, false, 0);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	return rc;
}

/* empties buffer (of source) by TRUNCATE if that is allowed; see above */
static bool
truncate_consumed(Oid source, Oid buffer)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(source)};
	bool		consumed;
	bool		isnull;
	int			rc;

	if (IsTransactionBlock() || !ConditionalLockRelationOid(buffer, AccessExclusiveLock))
		return false;

	/*
	 * the newest row, by a backward scan of the primary key: a test of "no
	 * row at or above the cutoff" is planned before the cutoff is known, as
	 * a sequential scan of the whole buffer
	 */
	rc = run_as_owner(psprintf("SELECT c.cutoff IS NOT NULL AND COALESCE((SELECT b.__xid FROM %s b"
							   " ORDER BY b.__xid DESC, b.__ord DESC LIMIT 1) < c.cutoff, true)"
							   " FROM (SELECT %s AS cutoff) c",
							   trickle_buffer_name(source), CUTOFF_SQL),
					  1, argtypes, values);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "buffer cleanup failed: %s", SPI_result_code_string(rc));
	consumed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										  &isnull));
	if (isnull || !consumed)
	{
		/* nothing changed under the lock: let writers in again */
		UnlockRelationOid(buffer, AccessExclusiveLock);
		return false;
	}
	rc = run_as_owner(psprintf("TRUNCATE ONLY %s", trickle_buffer_name(source)),
					  0, NULL, NULL);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "buffer truncation failed: %s", SPI_result_code_string(rc));
	return true;
}

void
trickle_phd1_cleanup(Oid source)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(source)};
	Oid			buffer;
	Relation	rel;
	BlockNumber pages;
	int			rc;

	buffer = trickle_buffer_relid(source);
	if (!OidIsValid(buffer))
		return;
	rel = table_open(buffer, AccessShareLock);
	pages = RelationGetNumberOfBlocks(rel);
	table_close(rel, NoLock);
	if (pages >= (BlockNumber) trickle_buffer_truncate_threshold)
	{
		if (truncate_consumed(source, buffer))
			return;
	}
	else if (pages >= DELETE_MAX_PAGES)
		return;					/* kept until it is large enough to truncate */
	if (!ConditionalLockRelationOid(buffer, ShareUpdateExclusiveLock))
		return;
	/*
	 * The second condition, on no column of the row, is a one-time test in
	 * front of the scan: its oldest row, found by the primary key, lies
	 * below the cutoff.  Without it a large buffer that a consumer behind
	 * keeps from truncation would be read whole at every refresh of the
	 * others, to delete nothing.
	 */
	rc = run_as_owner(psprintf("DELETE FROM %s WHERE __xid < %s"
							   " AND (SELECT o.__xid FROM %s o ORDER BY o.__xid, o.__ord LIMIT 1) < %s",
							   trickle_buffer_name(source), CUTOFF_SQL,
							   trickle_buffer_name(source), CUTOFF_SQL),
					  1, argtypes, values);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "buffer cleanup failed: %s", SPI_result_code_string(rc));
}
