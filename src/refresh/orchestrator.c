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
 * the dependencies a restore does not carry and configures change capture.
 * A FULL stream table is recomputed.  A DIFFERENTIAL one reads its sources'
 * change buffers: nothing new is NO_DATA (no write at all), a TRUNCATE
 * marker makes it REINITIALIZE, anything else is DIFFERENTIAL: one MERGE
 * (src/refresh/codegen.c).  "full" => true, and a stream table never
 * populated, are recomputed.
 *
 * Exactly once (DESIGN.md section 1.3): the sources are locked (ACCESS
 * SHARE, which holds off TRUNCATE but not writers) before the one snapshot
 * S of the refresh is taken and registered; every statement of the refresh
 * reads with S; S becomes the new frontier.  The changes read are the
 * buffer rows S sees and the old frontier F did not: their xids lie in
 * [F.xmin, S.xmax), which bounds an index range scan.  A transaction in
 * progress at S is in neither and is read next time.  The refreshing
 * transaction's own earlier changes are visible to S but carry an xid that
 * F may also call visible, so the frontier also records that transaction
 * and how many changes it had captured (frontier_xid, frontier_ord).
 *
 * Security: the query runs as the stream table's owner inside a
 * security-restricted operation, with search_path and row_security fixed for
 * the duration (as REFRESH MATERIALIZED VIEW does).  Only the owner may
 * refresh.  Catalog and history rows are written afterwards, directly
 * (src/catalog_rows.c), or by SQL as the extension owner when a trigger on
 * them must fire.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
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
#include "utils/rls.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "api/api.h"
#include "cdc/cdc.h"
#include "catalog.h"
#include "errors.h"
#include "fdw/fdw.h"
#include "refresh/refresh.h"
#include "sched/sched.h"
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

/* the frontier a refresh leaves behind (DIFFERENTIAL stream tables) */
typedef struct Frontier
{
	char	   *snapshot;		/* pg_snapshot text; NULL for FULL tables */
	FullTransactionId xid;		/* the refreshing transaction */
	int64		ord;			/* its changes captured before the snapshot */
} Frontier;


/*
 * record_refresh: the refresh's history row (a refresh worker's RUNNING row
 * completed, or a new one) and the stream table's new frontier
 */
static void
record_refresh(Oid relid, int64 history_id, TimestampTz started,
			   const TrickleRefreshResult *result,
			   TrickleInitiator initiator, const Frontier *frontier)
{
	TrickleRefreshRecord rec;

	rec.relid = relid;
	rec.history_id = history_id;
	rec.started = started;
	rec.action = action_names[result->action];
	rec.rows_inserted = result->rows_inserted;
	rec.rows_deleted = result->rows_deleted;
	rec.initiated_by = initiator_names[initiator];
	rec.reason = result->reason;
	rec.frontier = frontier->snapshot;
	rec.frontier_xid = FullTransactionIdIsValid(frontier->xid) ?
		U64FromFullTransactionId(frontier->xid) : 0;
	rec.frontier_ord = frontier->ord;
	trickle_catalog_record_refresh(&rec);
}

/*
 * reinitialize: make restored contents a stream table again: record the
 * dependencies (a dump does not carry them), the access method (a dump
 * made with --no-table-access-method drops it), and change capture.
 */
static void
reinitialize(Oid relid, const TrickleStreamTable *st, List *sources)
{
	ListCell   *lc;

	trickle_query_record_dependencies(relid, trickle_query_analyze(st->definition));
	trickle_relation_restore_am(relid);
	if (strcmp(st->effective_mode, "DIFFERENTIAL") == 0)
	{
		foreach(lc, sources)
			trickle_cdc_configure(lfirst_oid(lc));
	}
}

static void
refresh_error_callback(void *arg)
{
	errcontext("refresh of stream table \"%s\"", (const char *) arg);
}

/* runs one read-only kept statement with snapshot and the delta parameters */
static void
run_read(const char *sql, Snapshot snapshot, Datum *values, const char *nulls)
{
	SPIPlanPtr	plan = trickle_kept_plan(sql, TRICKLE_DELTA_NPARAMS, trickle_delta_param_types);

	if (SPI_execute_snapshot(plan, values, nulls, snapshot, InvalidSnapshot,
							 true, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", sql);
}

static bool
spi_bool(int column)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, column, &isnull);

	return !isnull && DatumGetBool(d);
}

/*
 * read_frontiers: the new frontier's snapshot text, and the delta
 * parameters (see ivm.h) bounding the changes between st's frontier and
 * snapshot.
 */
static char *
read_frontiers(const TrickleStreamTable *st, Snapshot snapshot, Datum *params, char *nulls)
{
	FullTransactionId own = GetTopFullTransactionIdIfAny();
	Datum		current;
	Datum		frontier = (Datum) 0;
	uint64		lo;
	uint64		hi;
	uint64		unread;

	/* pg_current_snapshot() of the refresh's snapshot */
	PushActiveSnapshot(snapshot);
	current = DirectFunctionCall1(pg_current_snapshot, (Datum) 0);
	PopActiveSnapshot();
	hi = U64FromFullTransactionId(DatumGetFullTransactionId(
				DirectFunctionCall1(pg_snapshot_xmax, current)));
	lo = unread = hi;
	memset(nulls, ' ', TRICKLE_DELTA_NPARAMS);
	if (st->frontier)
	{
		frontier = DirectFunctionCall1(pg_snapshot_in, CStringGetDatum(st->frontier));
		lo = U64FromFullTransactionId(DatumGetFullTransactionId(
					DirectFunctionCall1(pg_snapshot_xmin, frontier)));
		unread = U64FromFullTransactionId(DatumGetFullTransactionId(
					DirectFunctionCall1(pg_snapshot_xmax, frontier)));
	}
	else
		nulls[4] = 'n';
	if (st->frontier_xid != 0 && st->frontier_xid < lo)
		lo = st->frontier_xid;
	if (FullTransactionIdIsValid(own) && U64FromFullTransactionId(own) >= hi)
		hi = U64FromFullTransactionId(own) + 1;

	/*
	 * $6: every xid from here on is unread.  An xid at or above the
	 * frontier's xmax was not visible to it, so its changes are unread
	 * unless it is the frontier's own transaction, whose changes up to
	 * frontier_ord were read; that transaction can be at or above xmax (it
	 * was still running), and then the shortcut starts just above it.
	 */
	if (st->frontier_xid != 0 && st->frontier_xid >= unread)
		unread = st->frontier_xid + 1;

	params[0] = FullTransactionIdGetDatum(FullTransactionIdFromU64(lo));
	params[1] = FullTransactionIdGetDatum(FullTransactionIdFromU64(hi));
	if (st->frontier_xid != 0)
		params[2] = FullTransactionIdGetDatum(FullTransactionIdFromU64(st->frontier_xid));
	else
		nulls[2] = 'n';
	params[3] = Int64GetDatum(st->frontier_ord);
	params[4] = frontier;
	params[5] = FullTransactionIdGetDatum(FullTransactionIdFromU64(unread));
	return DatumGetCString(DirectFunctionCall1(pg_snapshot_out, current));
}

/*
 * scan_changes: which sources have changes to read (returned), and whether
 * any was truncated (*marked).
 */
static List *
scan_changes(List *sources, Snapshot snapshot, Datum *params, const char *nulls,
			 bool *marked)
{
	List	   *changed = NIL;
	ListCell   *lc;

	*marked = false;
	foreach(lc, sources)
	{
		Oid			source = lfirst_oid(lc);
		char	   *changes;

		/* a view's tables are sources of their own (src/api/views.c) */
		if (get_rel_relkind(source) == RELKIND_VIEW)
			continue;
		changes = trickle_delta_changes_sql(source, "b");

		run_read(psprintf("SELECT EXISTS (SELECT FROM %s AND b.__w <> 0),"
						  " EXISTS (SELECT FROM %s AND b.__w = 0)",
						  changes, changes),
				 snapshot, params, nulls);
		if (spi_bool(1))
			changed = lappend_oid(changed, source);
		*marked |= spi_bool(2);
	}
	return changed;
}

/*
 * first_removal: the first of the changed sources whose changes delete or
 * update a row, or InvalidOid (for deltas right only for insertions)
 */
static Oid
first_removal(List *changed, Snapshot snapshot, Datum *params, const char *nulls)
{
	ListCell   *lc;

	foreach(lc, changed)
	{
		Oid			source = lfirst_oid(lc);

		run_read(psprintf("SELECT EXISTS (SELECT FROM %s AND b.__w < 0)",
						  trickle_delta_changes_sql(source, "b")),
				 snapshot, params, nulls);
		if (spi_bool(1))
			return source;
	}
	return InvalidOid;
}

/* recompute a DIFFERENTIAL stream table at snapshot */
static void
recompute(Oid relid, const TrickleStreamTable *st, Snapshot snapshot,
		  TrickleRefreshResult *result)
{
	List	   *columns;
	TrickleIvmPlan *plan = trickle_codegen_plan(relid, st->definition, &columns);

	if (!plan->supported)
		elog(ERROR, "differential stream table no longer maintainable: %s", plan->reason);
	trickle_full_apply(relid, trickle_codegen_state(plan, columns),
					   list_concat_copy(columns, plan->hidden), true,
					   trickle_codegen_state_keys(plan, columns), snapshot,
					   &result->rows_inserted, &result->rows_deleted);
}

/*
 * apply the changes of the changed sources at snapshot, with the kept plan
 * of the delta (generic: planning the large statement on every refresh
 * would cost more than most deltas)
 */
static void
apply_changes(Oid relid, const TrickleStreamTable *st, List *changed,
			  Snapshot snapshot, Datum *params, const char *nulls, TrickleRefreshResult *result)
{
	SPIPlanPtr	plan;
	int			nestlevel;
	int			rc;

	nestlevel = NewGUCNestLevel();
	(void) set_config_option("plan_cache_mode", "force_generic_plan",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	/*
	 * A delta's generic plan carries branches sized for the worst case (the
	 * keyed recompute's run over the whole query), whose estimates pass the
	 * JIT thresholds: compiling the large statement would cost seconds at
	 * every first execution, for deltas that take milliseconds.
	 */
	(void) set_config_option("jit", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	/*
	 * Changes come out of a buffer in no useful order: a merge join would
	 * sort them (and sort or index-scan its other side) where a hash join
	 * or index probes read them once.
	 */
	(void) set_config_option("enable_mergejoin", "off",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void) trickle_codegen_apply(relid, st->definition, changed, &plan);
	trickle_tally_reset();
	rc = SPI_execute_snapshot(plan, params, nulls, snapshot, InvalidSnapshot, false, true, 0);
	if (rc < 0)
		elog(ERROR, "could not apply the delta: %s", SPI_result_code_string(rc));
	AtEOXact_GUC(true, nestlevel);
	result->rows_inserted = trickle_tally_get(TRICKLE_TALLY_INSERTED) +
		trickle_tally_get(TRICKLE_TALLY_UPDATED);
	result->rows_deleted = trickle_tally_get(TRICKLE_TALLY_DELETED) +
		trickle_tally_get(TRICKLE_TALLY_UPDATED);
}

/*
 * refresh_differential: the refresh of a DIFFERENTIAL stream table (see the
 * file comment); false when there was nothing to do (NO_DATA).
 */
static bool
refresh_differential(Oid relid, const TrickleStreamTable *st, List *sources, bool full,
					 TrickleRefreshResult *result, Frontier *frontier)
{
	Datum		params[TRICKLE_DELTA_NPARAMS];
	char		nulls[TRICKLE_DELTA_NPARAMS];
	Snapshot	snapshot;
	ListCell   *lc;
	List	   *changed = NIL;
	bool		marked = false;
	TrickleDirect *direct;
	bool		insert_only = false;
	bool		applied = false;

	foreach(lc, sources)
	{
		Oid			source = lfirst_oid(lc);

		/* with its partitions: TRUNCATE of one locks only that one */
		trickle_cdc_lock_source(source, AccessShareLock);
		/* as a recomputation would: the owner must still read the source */
		if (pg_class_aclcheck(source, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
			pg_attribute_aclcheck_all(source, GetUserId(), ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(source));
		(void) check_enable_rls(source, InvalidOid, false);
	}
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	trickle_capture_position(&frontier->xid, &frontier->ord);
	frontier->snapshot = read_frontiers(st, snapshot, params, nulls);

	if (result->action == TRICKLE_ACTION_REINITIALIZE || full || !st->is_populated)
		;
	else if (st->frontier == NULL)
		result->action = TRICKLE_ACTION_REINITIALIZE;	/* a view it reads was
														 * replaced: views.c */
	else
	{
		TrickleDirectOutcome outcome = TRICKLE_DIRECT_MERGE;

		direct = trickle_codegen_direct(relid, st->definition, &insert_only);
		if (direct != NULL && !insert_only)
		{
			int64		updated;

			/* reads the changes itself: nothing, a truncation, or applied */
			trickle_guard_allow_write(relid);
			outcome = trickle_direct_apply(direct, relid, snapshot, params, nulls,
										   &result->rows_inserted, &updated,
										   &result->rows_deleted);
			trickle_guard_release();
			result->rows_inserted += updated;
			result->rows_deleted += updated;
		}
		if (outcome == TRICKLE_DIRECT_MERGE)
			changed = scan_changes(sources, snapshot, params, nulls, &marked);
		if (outcome == TRICKLE_DIRECT_TRUNCATED || marked)
			result->action = TRICKLE_ACTION_REINITIALIZE;
		else if (outcome == TRICKLE_DIRECT_NO_CHANGES ||
				 (outcome == TRICKLE_DIRECT_MERGE && changed == NIL))
		{
			UnregisterSnapshot(snapshot);
			result->action = TRICKLE_ACTION_NO_DATA;
			return false;
		}
		else
			result->action = TRICKLE_ACTION_DIFFERENTIAL;
		applied = outcome == TRICKLE_DIRECT_APPLIED;

		/* a recursive WITH query follows insertions only (src/ivm/recursive.c) */
		if (insert_only)
		{
			Oid			removal = first_removal(changed, snapshot, params, nulls);

			if (OidIsValid(removal))
			{
				result->action = TRICKLE_ACTION_FULL;
				result->reason = psprintf("rows of \"%s\" were deleted or updated, and the recursive WITH query is maintained differentially for insertions only",
										  get_rel_name(removal));
			}
		}
	}

	if (!applied)
	{
		trickle_guard_allow_write(relid);
		if (result->action == TRICKLE_ACTION_DIFFERENTIAL)
			apply_changes(relid, st, changed, snapshot, params, nulls, result);
		else
			recompute(relid, st, snapshot, result);
		trickle_guard_release();
	}

	/* the refresh wrote, so its transaction has an xid now */
	if (!FullTransactionIdIsValid(frontier->xid))
		frontier->xid = GetTopFullTransactionId();
	UnregisterSnapshot(snapshot);
	return true;
}

/*
 * trickle_refresh: refresh relid now.  full forces a recomputation.  A
 * refresh worker passes the RUNNING history row it wrote (history_id), which
 * is completed instead of adding one (0: add one).  Errors propagate to the
 * caller's transaction; nothing is recorded for them here.
 */
TrickleRefreshResult
trickle_refresh(Oid relid, bool full, TrickleInitiator initiator, int64 history_id)
{
	TrickleRefreshResult result = {0};
	TrickleStreamTable st;
	OwnerContext owner;
	ErrorContextCallback errcallback;
	TimestampTz started;
	instr_time	start_time;
	instr_time	duration;
	Frontier	frontier = {0};
	List	   *sources;
	bool		differential;
	bool		wrote = true;

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

	differential = strcmp(st.effective_mode, "DIFFERENTIAL") == 0;
	sources = trickle_catalog_sources(relid);
	result.action = trickle_frontier_is_foreign(&st) ?
		TRICKLE_ACTION_REINITIALIZE : TRICKLE_ACTION_FULL;

	become_owner(relid, &owner);
	if (result.action == TRICKLE_ACTION_REINITIALIZE)
		reinitialize(relid, &st, sources);
	started = GetCurrentTimestamp();
	if (differential)
		wrote = refresh_differential(relid, &st, sources, full, &result, &frontier);
	else
	{
		trickle_guard_allow_write(relid);
		trickle_full_apply(relid, st.definition, trickle_relation_columns(relid), false, NIL,
						   InvalidSnapshot, &result.rows_inserted, &result.rows_deleted);
		trickle_guard_release();
	}
	leave_owner(&owner);

	if (wrote)
	{
		ListCell   *lc;

		record_refresh(relid, history_id, started, &result, initiator, &frontier);
		if (differential)
		{
			CommandCounterIncrement();
			foreach(lc, sources)
				trickle_phd1_cleanup(lfirst_oid(lc));
		}
	}
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start_time);
	result.duration_ms = INSTR_TIME_GET_MILLISEC(duration);
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
	bool		wait = PG_NARGS() > 2 && !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	TrickleRefreshResult result = {0};
	Oid			relid;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * Take the claim word before the heavyweight lock, in the same order as
	 * refresh workers, so that finding a refresh running does not first
	 * wait for it.
	 */
	relid = trickle_resolve_stream_table(name, AccessShareLock, NULL);
	if (trickle_sched_claim_manual(relid, wait))
		result = trickle_refresh(relid, full, TRICKLE_INITIATED_BY_MANUAL, 0);
	else
		result.action = TRICKLE_ACTION_NO_DATA;
	SPI_finish();

	values[0] = CStringGetTextDatum(action_names[result.action]);
	values[1] = Int64GetDatum(result.rows_inserted);
	values[2] = Int64GetDatum(result.rows_deleted);
	values[3] = Float8GetDatum(result.duration_ms);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
