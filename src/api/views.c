/*-------------------------------------------------------------------------
 *
 * views.c
 *	  Keeping differential stream tables in step with the views they read.
 *
 * A differential stream table reads the tables behind the views its query
 * names (src/ivm/normalize.c expands them): their changes are captured, and
 * trickle.sources lists the views (nested ones too, with no columns) next
 * to the tables.  Its stored definition names the views, so dropping one
 * needs CASCADE, as for any relation a stream table reads.
 *
 * CREATE OR REPLACE VIEW (and CREATE OR REPLACE RULE "_RETURN") changes
 * what a view returns without changing any stored definition.  Core keeps
 * the view's columns (names and types) and lets the query change; a stream
 * table then behaves as a view on top would: its next refresh returns the
 * query's rows under the new view.  After such a statement the guard's
 * utility hook calls trickle_views_replaced, which, for every differential
 * stream table listing the view among its sources, analyses the definition
 * again, records the new sources and the columns read, configures capture
 * for the tables it reads now (and releases those it no longer reads), and
 * clears the frontier: the next refresh recomputes the stream table
 * (REINITIALIZE) and continues differentially from there.  When the stream
 * table could no longer be maintained differentially (or its owner could
 * not read a table the new view reads), refresh_mode decides, as at
 * creation: 'auto' turns it FULL, with the reason in mode_reason (and its
 * sources lose their capture); 'differential' refuses the statement (0A000)
 * with the reason, and the user drops the stream table or re-creates it.
 * The definition is validated again too, so a new view body calling a
 * volatile function is refused whatever the mode, as at creation.  FULL
 * stream tables need nothing: they run the definition, which reads the
 * view.
 *
 * Backends keep the MERGE of a stream table cached with the views it
 * inlined (src/refresh/codegen.c); the relation cache invalidation that the
 * rule change sends drops those entries.  The replacing statement holds
 * ACCESS EXCLUSIVE on the view, which a refresh locks ACCESS SHARE (it is a
 * source), so no refresh runs between the statement and its commit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "api/api.h"
#include "catalog.h"
#include "cdc/cdc.h"
#include "errors.h"
#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "sched/sched.h"
#include "trickle.h"

/*
 * trickle_views_unreadable: a table plan reads (behind a view: not in
 * named) on which roleid may not read a column the plan reads, or
 * InvalidOid.  A differential refresh reads such tables and their change
 * buffers directly, as the stream table's owner, where a FULL one goes
 * through the view with its owner's rights.
 */
Oid
trickle_views_unreadable(TrickleIvmPlan *plan, Oid roleid, List *named)
{
	ListCell   *lc;

	foreach(lc, plan->sources)
	{
		TrickleIvmSource *src = lfirst(lc);
		ListCell   *lc2;

		if (list_member_oid(named, src->relid) ||
			pg_class_aclcheck(src->relid, roleid, ACL_SELECT) == ACLCHECK_OK)
			continue;
		if (src->attnums == NIL &&
			pg_attribute_aclcheck_all(src->relid, roleid, ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
			return src->relid;
		foreach(lc2, src->attnums)
		{
			if (pg_attribute_aclcheck(src->relid, (AttrNumber) lfirst_int(lc2), roleid,
									  ACL_SELECT) != ACLCHECK_OK)
				return src->relid;
		}
	}
	return InvalidOid;
}

static void
refuse_replace(Oid view, Oid relid, const char *reason)
{
	ereport(ERROR,
			(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
			 errmsg("cannot change view \"%s\": stream table \"%s\" reads it differentially",
					get_rel_name(view), get_rel_name(relid)),
			 errdetail("With the new definition, the query could not be maintained differentially: %s.",
					   reason),
			 errhint("Drop the stream table with trickle.drop_stream_table() first, or create it again with refresh_mode => 'full'.")));
}

/* do the stored state columns of relid match hidden (TrickleColumn)? */
static bool
hidden_columns_match(Oid relid, List *hidden)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	ListCell   *lc = list_head(hidden);
	bool		match = true;
	int			i;

	for (i = 0; i < desc->natts && match; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		TrickleColumn *col;

		if (att->attisdropped ||
			strncmp(NameStr(att->attname), TRICKLE_COLUMN_PREFIX,
					strlen(TRICKLE_COLUMN_PREFIX)) != 0 ||
			strcmp(NameStr(att->attname), TRICKLE_ROW_ID) == 0)
			continue;
		col = lc ? lfirst(lc) : NULL;
		match = col != NULL && strcmp(col->name, NameStr(att->attname)) == 0 &&
			col->type == att->atttypid;
		lc = lc ? lnext(hidden, lc) : NULL;
	}
	table_close(rel, AccessShareLock);
	return match && lc == NULL;
}

/*
 * replan: stream table relid reads view, which was just replaced: see the
 * file comment.  Runs as the extension owner, under the safe search_path.
 */
static void
replan(Oid relid, Oid view)
{
	TrickleStreamTable st;
	TrickleQuery *tq;
	TrickleIvmPlan *plan;
	List	   *columns;
	List	   *state;
	List	   *sources;
	ListCell   *lc;
	Oid			unreadable;
	char	   *reason = NULL;
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2];

	if (!trickle_catalog_load(relid, &st))
		return;
	tq = trickle_query_analyze(st.definition);
	columns = trickle_relation_columns_state(relid, &state);
	plan = trickle_ivm_analyze_stored(tq->query, columns, state);
	if (!plan->supported)
		reason = plan->reason;
	else if (!hidden_columns_match(relid, plan->hidden))
		reason = "it would need other state columns";
	else if (OidIsValid(unreadable = trickle_views_unreadable(plan, trickle_relation_owner(relid),
															   tq->sources)))
		reason = psprintf("a differential refresh reads table \"%s\" behind a view directly, and the owner has no SELECT privilege on it",
						  get_rel_name(unreadable));
	if (reason != NULL && strcmp(st.refresh_mode, "auto") != 0)
		refuse_replace(view, relid, reason);

	sources = trickle_catalog_oids("SELECT source::pg_catalog.oid FROM trickle.sources"
								   " WHERE relid = $1", relid);
	values[0] = ObjectIdGetDatum(relid);
	trickle_catalog_exec("DELETE FROM trickle.sources WHERE relid = $1", 1, types, values, NULL);
	if (reason != NULL)
	{
		/* 'auto' chooses FULL from now on, as it would at creation */
		plan = NULL;
		values[1] = CStringGetTextDatum(psprintf("%s; refreshed FULL", reason));
		trickle_catalog_exec("UPDATE trickle.catalog SET effective_mode = 'FULL', mode_reason = $2,"
							 " frontier = NULL, frontier_xid = NULL, frontier_ord = NULL"
							 " WHERE relid = $1", 2, types, values, NULL);
	}
	else
	{
		/* no frontier: the next refresh recomputes (REINITIALIZE) */
		trickle_catalog_exec("UPDATE trickle.catalog SET frontier = NULL, frontier_xid = NULL,"
							 " frontier_ord = NULL WHERE relid = $1", 1, types, values, NULL);
	}
	trickle_api_record_sources(relid, trickle_api_sources(tq, plan), plan);
	CommandCounterIncrement();
	foreach(lc, trickle_api_sources(tq, plan))
		sources = list_append_unique_oid(sources, lfirst_oid(lc));
	foreach(lc, sources)
		trickle_cdc_configure(lfirst_oid(lc));
}

typedef struct ReplanContext
{
	Oid			relid;
	Oid			view;
} ReplanContext;

static void
replan_error_callback(void *arg)
{
	ReplanContext *ctx = arg;

	errcontext("stream table \"%s\" reading view \"%s\"",
			   get_rel_name(ctx->relid), get_rel_name(ctx->view));
}

/*
 * trickle_views_replaced: after a utility statement ran, re-plan the
 * differential stream tables reading the view it replaced, if it replaced
 * one (see the file comment).
 */
void
trickle_views_replaced(Node *stmt)
{
	Oid			view = InvalidOid;
	List	   *consumers;
	ListCell   *lc;
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;
	ReplanContext rctx;
	ErrorContextCallback errcallback;

	if (IsA(stmt, ViewStmt) && ((ViewStmt *) stmt)->replace)
		view = RangeVarGetRelid(((ViewStmt *) stmt)->view, NoLock, true);
	else if (IsA(stmt, RuleStmt) && ((RuleStmt *) stmt)->replace)
		view = RangeVarGetRelid(((RuleStmt *) stmt)->relation, NoLock, true);
	if (!OidIsValid(view) || get_rel_relkind(view) != RELKIND_VIEW ||
		!OidIsValid(trickle_schema_oid()))
		return;

	CommandCounterIncrement();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	consumers = trickle_catalog_oids("SELECT DISTINCT s.relid::pg_catalog.oid FROM trickle.sources s"
									 " JOIN trickle.catalog c ON c.relid = s.relid"
									 " WHERE s.source = $1 AND c.effective_mode = 'DIFFERENTIAL'",
									 view);
	if (consumers != NIL)
	{
		/* the definitions may name schemas the statement's user cannot use */
		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(trickle_extension_owner(),
							   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
		nestlevel = NewGUCNestLevel();
		(void) set_config_option("search_path", TRICKLE_SAFE_SEARCH_PATH,
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		rctx.view = view;
		errcallback.callback = replan_error_callback;
		errcallback.arg = &rctx;
		errcallback.previous = error_context_stack;
		error_context_stack = &errcallback;
		foreach(lc, consumers)
		{
			rctx.relid = lfirst_oid(lc);
			replan(rctx.relid, view);
		}
		error_context_stack = errcallback.previous;
		AtEOXact_GUC(true, nestlevel);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		/* the scheduler refreshes them soon, as if the view's rows changed */
		trickle_sched_note_capture(view);
		trickle_sched_catalog_changed();
	}
	SPI_finish();
}
