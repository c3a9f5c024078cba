/*-------------------------------------------------------------------------
 *
 * orchestrator.c
 *	  One refresh of one stream table: exclude, decide, run, record.
 *
 * Mutual exclusion: a refresh takes ExclusiveLock on the stream table and
 * keeps it to the end of its transaction.  ExclusiveLock conflicts with
 * itself and with writers but not with readers (AccessShareLock), so a
 * concurrent SELECT is never blocked, a second refresh waits, and the lock
 * dies with its process.  The second refresh reads with a snapshot taken
 * after the first committed (each SPI statement takes a fresh snapshot under
 * READ COMMITTED), so it starts from the first one's result.
 *
 * Decision: contents restored from another cluster or for another relation
 * (see trickle_frontier_is_foreign) are REINITIALIZEd, which also records
 * the dependencies a restore does not carry; everything else is FULL in this
 * version.
 *
 * Security: the query runs as the stream table's owner inside a
 * security-restricted operation, with search_path and row_security fixed for
 * the duration (as REFRESH MATERIALIZED VIEW does).  Only the owner may
 * refresh.  Catalog and history rows are written afterwards as the extension
 * owner.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/tuplestore.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "api/api.h"
#include "catalog.h"
#include "errors.h"
#include "fdw/fdw.h"
#include "refresh/refresh.h"
#include "trickle.h"

static const char *const action_names[] = {
	[TRICKLE_ACTION_NO_DATA] = "NO_DATA",
	[TRICKLE_ACTION_FULL] = "FULL",
	[TRICKLE_ACTION_DIFFERENTIAL] = "DIFFERENTIAL",
	[TRICKLE_ACTION_REINITIALIZE] = "REINITIALIZE",
};

static const char *const initiator_names[] = {
	[TRICKLE_INITIATED_BY_MANUAL] = "MANUAL",
	[TRICKLE_INITIATED_BY_SCHEDULER] = "SCHEDULER",
	[TRICKLE_INITIATED_BY_CREATE] = "CREATE",
};

const char *
trickle_refresh_action_name(TrickleRefreshAction action)
{
	return action_names[action];
}

/*
 * OwnerContext: the state saved while running as a stream table's owner.
 */
typedef struct OwnerContext
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} OwnerContext;

static void
become_owner(Oid relid, OwnerContext *ctx)
{
	GetUserIdAndSecContext(&ctx->save_userid, &ctx->save_sec_context);
	SetUserIdAndSecContext(trickle_relation_owner(relid),
						   ctx->save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ctx->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", TRICKLE_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("row_security", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

static void
leave_owner(OwnerContext *ctx)
{
	AtEOXact_GUC(false, ctx->save_nestlevel);
	SetUserIdAndSecContext(ctx->save_userid, ctx->save_sec_context);
}

static void
record_refresh(Oid relid, TimestampTz started, const TrickleRefreshResult *result,
			   TrickleInitiator initiator)
{
	Oid			types[6] = {OIDOID, TIMESTAMPTZOID, TEXTOID, INT8OID, INT8OID, TEXTOID};
	Datum		values[6];

	values[0] = ObjectIdGetDatum(relid);
	values[1] = TimestampTzGetDatum(started);
	values[2] = CStringGetTextDatum(action_names[result->action]);
	values[3] = Int64GetDatum(result->rows_inserted);
	values[4] = Int64GetDatum(result->rows_deleted);
	values[5] = CStringGetTextDatum(initiator_names[initiator]);
	trickle_catalog_exec("INSERT INTO trickle.refresh_history (stream_table, started_at,"
						 " finished_at, action, status, rows_inserted, rows_deleted, initiated_by)"
						 " VALUES ($1, $2, pg_catalog.clock_timestamp(), $3, 'COMPLETED', $4, $5, $6)",
						 6, types, values, NULL);

	types[2] = INT8OID;
	values[2] = Int64GetDatum((int64) GetSystemIdentifier());
	trickle_catalog_exec("UPDATE trickle.catalog SET is_populated = true,"
						 " last_refresh_at = $2, consecutive_errors = 0,"
						 " frontier_sysid = $3, frontier_relid = $1"
						 " WHERE relid = $1",
						 3, types, values, NULL);
}

/*
 * reinitialize: make restored contents a stream table again: record the
 * dependencies (a dump does not carry them) and the access method (a dump
 * made with --no-table-access-method drops it).
 */
static void
reinitialize(Oid relid, const char *definition)
{
	trickle_query_record_dependencies(relid, trickle_query_analyze(definition));
	trickle_relation_restore_am(relid);
}

static void
refresh_error_callback(void *arg)
{
	errcontext("refresh of stream table \"%s\"", (const char *) arg);
}

/*
 * trickle_refresh: refresh relid now.  full forces a FULL refresh (in this
 * version every refresh of a populated stream table is FULL).  Errors
 * propagate to the caller's transaction; nothing is recorded for them here.
 */
TrickleRefreshResult
trickle_refresh(Oid relid, bool full, TrickleInitiator initiator)
{
	TrickleRefreshResult result = {0};
	TrickleStreamTable st;
	OwnerContext owner;
	ErrorContextCallback errcallback;
	TimestampTz started;
	instr_time	start_time;
	instr_time	duration;

	(void) full;
	INSTR_TIME_SET_CURRENT(start_time);
	LockRelationOid(relid, ExclusiveLock);
	if (!trickle_catalog_load(relid, &st))
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_UNDEFINED_TABLE),
				 errmsg("stream table with OID %u does not exist", relid),
				 errdetail("It was dropped while the refresh waited for its lock."),
				 errhint("Nothing to refresh.")));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));

	errcallback.callback = refresh_error_callback;
	errcallback.arg = trickle_relation_qualified_name(relid);
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	result.action = trickle_frontier_is_foreign(&st) ?
		TRICKLE_ACTION_REINITIALIZE : TRICKLE_ACTION_FULL;

	become_owner(relid, &owner);
	if (result.action == TRICKLE_ACTION_REINITIALIZE)
		reinitialize(relid, st.definition);
	started = GetCurrentTimestamp();
	trickle_guard_allow_write(relid);
	PG_TRY();
	{
		trickle_full_apply(relid, st.definition, trickle_relation_columns(relid),
						   &result.rows_inserted, &result.rows_deleted);
	}
	PG_FINALLY();
	{
		trickle_guard_release();
	}
	PG_END_TRY();
	leave_owner(&owner);

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start_time);
	result.duration_ms = INSTR_TIME_GET_MILLISEC(duration);
	record_refresh(relid, started, &result, initiator);
	error_context_stack = errcallback.previous;
	return result;
}

/*
 * trickle_refresh_check_readable: run the definition with LIMIT 0 as the
 * current user, to check that it runs and that the user may read every
 * source, without populating anything.
 */
void
trickle_refresh_check_readable(Oid relid)
{
	TrickleStreamTable st;
	int			nestlevel = NewGUCNestLevel();

	if (!trickle_catalog_load(relid, &st))
		elog(ERROR, "stream table %u vanished", relid);
	(void) set_config_option("search_path", TRICKLE_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (SPI_execute(psprintf("SELECT FROM (%s) q LIMIT 0", st.definition), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run the defining query");
	AtEOXact_GUC(true, nestlevel);
}

PG_FUNCTION_INFO_V1(refresh_stream_table);

/*
 * refresh_stream_table(name, full) returns one row (as a set, per its
 * RETURNS TABLE signature).
 */
Datum
refresh_stream_table(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	bool		full = PG_GETARG_BOOL(1);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	TrickleRefreshResult result;
	Oid			relid;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	relid = trickle_resolve_stream_table(name, ExclusiveLock, NULL);
	result = trickle_refresh(relid, full, TRICKLE_INITIATED_BY_MANUAL);
	SPI_finish();

	values[0] = CStringGetTextDatum(action_names[result.action]);
	values[1] = Int64GetDatum(result.rows_inserted);
	values[2] = Int64GetDatum(result.rows_deleted);
	values[3] = Float8GetDatum(result.duration_ms);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
