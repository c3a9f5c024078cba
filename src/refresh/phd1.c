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
 * will start with a FULL refresh, so it holds nothing back.  A buffer is
 * never truncated (that is not MVCC-safe: a concurrent refresh still reads
 * it).
 *
 * The consumers' frontiers are read with the refresh's snapshot, after this
 * refresh recorded its own.  A consumer created concurrently is invisible
 * here but needs nothing older than its own snapshot, and its creation held
 * off every writer of the source between that snapshot and its commit.
 *
 * Each refresh deletes from where it last read (rows below that were
 * deleted by an earlier refresh, or are held by another consumer, whose own
 * refresh deletes them when it passes them), so the index range scanned
 * stays short.  Two refreshes sharing a source do not clean its buffer at
 * once: the second one skips it (a self-conflicting lock writers ignore).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/xid8.h"

#include "cdc/cdc.h"
#include "refresh/refresh.h"
#include "trickle.h"

void
trickle_phd1_cleanup(Oid source, uint64 from_xid)
{
	Oid			argtypes[2] = {OIDOID, XID8OID};
	Datum		values[2] = {ObjectIdGetDatum(source),
	FullTransactionIdGetDatum(FullTransactionIdFromU64(from_xid))};
	Oid			buffer;
	char	   *sql;
	SPIPlanPtr	plan;
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	buffer = trickle_buffer_relid(source);
	if (!OidIsValid(buffer) || !ConditionalLockRelationOid(buffer, ShareUpdateExclusiveLock))
		return;

	sql = psprintf("DELETE FROM %s WHERE __xid >= $2 AND __xid < (SELECT pg_catalog.min(LEAST("
				   "pg_catalog.pg_snapshot_xmin(c.frontier), c.frontier_xid))"
				   " FROM trickle.catalog c JOIN trickle.sources s ON s.relid = c.relid"
				   " WHERE s.source = $1 AND c.effective_mode = 'DIFFERENTIAL')",
				   trickle_buffer_name(source));
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(trickle_extension_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		plan = trickle_refresh_kept_plan(TRICKLE_KEPT_CLEANUP, source, sql, 2, argtypes);
		rc = SPI_execute_snapshot(plan, values, NULL, InvalidSnapshot, InvalidSnapshot,
								  false, false, 0);
		if (rc != SPI_OK_DELETE)
			elog(ERROR, "buffer cleanup failed: %s", SPI_result_code_string(rc));
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
}
