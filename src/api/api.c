/*-------------------------------------------------------------------------
 *
 * api.c
 *	  create_stream_table, drop_stream_table and the sql_drop event trigger.
 *
 * Creation runs in the caller's transaction and does everything or nothing:
 * argument checks and query validation come before any object is made, and
 * an error later (populating, say) rolls back the relation, its dependencies
 * and its catalog rows with the transaction.
 *
 * The relation is owned by the calling role; the catalog rows are written as
 * the extension owner (src/catalog.c), so no privilege on trickle's catalog
 * is needed.  Creating a stream table needs CREATE on the target schema and
 * SELECT on every source, as CREATE MATERIALIZED VIEW does: the query runs
 * once as the caller (populating it, or with LIMIT 0 when not initialising).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "api/api.h"
#include "catalog.h"
#include "cdc/cdc.h"
#include "errors.h"
#include "fdw/fdw.h"
#include "gucenum.h"
#include "ivm/ivm.h"
#include "refresh/refresh.h"
#include "sched/sched.h"
#include "sched/schedule.h"
#include "trickle.h"

PG_FUNCTION_INFO_V1(create_stream_table);
PG_FUNCTION_INFO_V1(drop_stream_table);
PG_FUNCTION_INFO_V1(trickle_on_sql_drop);
PG_FUNCTION_INFO_V1(explain_stream_table);

static text *
required_text_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_NULL_ARGUMENT),
				 errmsg("argument \"%s\" must not be null", argname),
				 errhint("Pass a value for \"%s\".", argname)));
	return PG_GETARG_TEXT_PP(argno);
}

/*
 * check_refresh_mode: the canonical name of a refresh mode the engine can
 * honour today; errors on anything else.
 */
static const char *
check_refresh_mode(const char *mode)
{
	int			value;
	char		list[128];

	trickle_enum_list(trickle_refresh_mode_entries, list, sizeof(list));
	if (!trickle_enum_parse(trickle_refresh_mode_entries, mode, &value))
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_INVALID_PARAMETER),
				 errmsg("invalid refresh mode \"%s\"", mode),
				 errdetail("Valid refresh modes are: %s.", list),
				 errhint("Use 'auto' to let trickle choose.")));
	if (value == TRICKLE_REFRESH_MODE_IMMEDIATE)
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
				 errmsg("refresh mode \"%s\" is not available in this version of trickle",
						trickle_enum_name(trickle_refresh_mode_entries, value)),
				 errdetail("This version refreshes stream tables in the background, not inside the writing transaction."),
				 errhint("Use refresh_mode => 'auto', 'differential' or 'full'.")));
	return trickle_enum_name(trickle_refresh_mode_entries, value);
}

/*
 * check_schedule: errors unless text is a valid interval (of at least
 * TRICKLE_SCHEDULE_MIN_INTERVAL_MS) or cron schedule.
 */
static void
check_schedule(const char *text)
{
	TrickleSchedule schedule;
	char		err[256];

	if (!trickle_schedule_parse(text, &schedule, err, sizeof(err)))
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_INVALID_PARAMETER),
				 errmsg("invalid schedule \"%s\"", text),
				 errdetail("%s.", err),
				 errhint("Use an interval such as '30s', '5m' or '1h30m', or a cron expression such as '*/5 * * * *' or '@hourly'.")));
	if (schedule.kind == TRICKLE_SCHEDULE_INTERVAL &&
		schedule.interval_ms < TRICKLE_SCHEDULE_MIN_INTERVAL_MS)
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_INVALID_PARAMETER),
				 errmsg("schedule \"%s\" is too short", text),
				 errdetail("The shortest interval is %d ms.", TRICKLE_SCHEDULE_MIN_INTERVAL_MS),
				 errhint("Use an interval of at least %dms.", TRICKLE_SCHEDULE_MIN_INTERVAL_MS)));
}

/*
 * creation_namespace: the schema the stream table goes to (checking CREATE
 * privilege), and its unqualified name in *relname.  Errors if the name is
 * taken or temporary.
 */
static Oid
creation_namespace(text *name, char **relname)
{
	List	   *names = textToQualifiedNameList(name);
	RangeVar   *rv = makeRangeVarFromNameList(names);
	Oid			namespace;

	if (rv->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
				 errmsg("stream tables cannot be temporary"),
				 errhint("Create the stream table in a permanent schema.")));
	namespace = RangeVarGetAndCheckCreationNamespace(rv, NoLock, NULL);
	if (isAnyTempNamespace(namespace))
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
				 errmsg("stream tables cannot be temporary"),
				 errdetail("Schema \"%s\" is a temporary schema.", get_namespace_name(namespace)),
				 errhint("Create the stream table in a permanent schema.")));
	if (OidIsValid(get_relname_relid(rv->relname, namespace)))
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_DUPLICATE_TABLE),
				 errmsg("relation \"%s\" already exists", NameListToString(names)),
				 errdetail("A relation named \"%s\" exists in schema \"%s\".",
						   rv->relname, get_namespace_name(namespace)),
				 errhint("Choose another name, or drop the existing relation first.")));
	*relname = rv->relname;
	return namespace;
}

/* the columns plan reads of source, as a smallint[] */
static Datum
source_columns(TrickleIvmPlan *plan, Oid source)
{
	ListCell   *lc;
	Datum	   *items;
	int			n = 0;

	foreach(lc, plan ? plan->sources : NIL)
	{
		TrickleIvmSource *src = lfirst(lc);
		ListCell   *lc2;

		if (src->relid != source)
			continue;
		items = palloc(sizeof(Datum) * Max(list_length(src->attnums), 1));
		foreach(lc2, src->attnums)
			items[n++] = Int16GetDatum(lfirst_int(lc2));
		return PointerGetDatum(construct_array(items, n, INT2OID, sizeof(int16), true, TYPALIGN_SHORT));
	}
	return PointerGetDatum(construct_empty_array(INT2OID));
}

/*
 * trickle_api_sources: the relations to record as sources of a stream table
 * defined by tq: those its query names, and for a differential plan also
 * the views it reads through (nested ones too) and their tables.
 */
List *
trickle_api_sources(TrickleQuery *tq, TrickleIvmPlan *plan)
{
	List	   *sources = list_copy(tq->sources);
	ListCell   *lc;

	if (plan == NULL)
		return sources;
	foreach(lc, plan->views)
		sources = list_append_unique_oid(sources, lfirst_oid(lc));
	foreach(lc, plan->sources)
		sources = list_append_unique_oid(sources, ((TrickleIvmSource *) lfirst(lc))->relid);
	return sources;
}

/*
 * trickle_api_record_sources: the trickle.sources rows of stream table
 * relid, with the columns plan reads of each (none of a view).
 */
void
trickle_api_record_sources(Oid relid, List *sources, TrickleIvmPlan *plan)
{
	Oid			srctypes[3] = {OIDOID, OIDOID, INT2ARRAYOID};
	Datum		srcvalues[3];
	ListCell   *lc;

	foreach(lc, sources)
	{
		srcvalues[0] = ObjectIdGetDatum(relid);
		srcvalues[1] = ObjectIdGetDatum(lfirst_oid(lc));
		srcvalues[2] = source_columns(plan, lfirst_oid(lc));
		trickle_catalog_exec("INSERT INTO trickle.sources (relid, source, columns)"
							 " VALUES ($1, $2, $3)", 3, srctypes, srcvalues, NULL);
	}
}

static void
record_catalog_rows(Oid relid, const char *query, TrickleQuery *tq,
					const char *schedule, const char *mode, TrickleIvmPlan *plan,
					const char *reason)
{
	Oid			types[8] = {OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, OIDOID};
	Datum		values[8];

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(query);
	values[2] = CStringGetTextDatum(tq->definition);
	values[3] = CStringGetTextDatum(schedule);
	values[4] = CStringGetTextDatum(mode);
	values[5] = CStringGetTextDatum(reason ? reason : "");
	values[6] = Int64GetDatum((int64) GetSystemIdentifier());
	values[7] = ObjectIdGetDatum(relid);
	trickle_catalog_exec(psprintf("INSERT INTO trickle.catalog (relid, query, definition, schedule,"
								  " refresh_mode, effective_mode, mode_reason, frontier_sysid,"
								  " frontier_relid) VALUES ($1, $2, $3, $4, $5, '%s',"
								  " NULLIF($6, ''), $7, $8)", plan ? "DIFFERENTIAL" : "FULL"),
						 8, types, values, NULL);
	trickle_api_record_sources(relid, trickle_api_sources(tq, plan), plan);
}

static TrickleIvmPlan *
unsupported_plan(char *reason)
{
	TrickleIvmPlan *plan = palloc0(sizeof(TrickleIvmPlan));

	plan->reason = reason;
	return plan;
}

/*
 * differential_plan: the differential plan of tq (parsed from sql) when
 * mode allows one (NULL for FULL), erroring for 'differential' on a query
 * the engine does not maintain, with the construct's position in sql when
 * known; *reason says why 'auto' chose FULL.
 */
static TrickleIvmPlan *
differential_plan(TrickleQuery *tq, const char *sql, const char *mode, char **reason)
{
	TrickleIvmPlan *plan;
	int			pos;

	*reason = NULL;
	if (strcmp(mode, "full") == 0)
		return NULL;
	plan = trickle_ivm_analyze_text(tq->query, tq->columns, sql);
	if (plan->supported)
	{
		Oid			unreadable = trickle_views_unreadable(plan, GetUserId(), tq->sources);

		if (!OidIsValid(unreadable))
			return plan;
		plan = unsupported_plan(psprintf("a differential refresh reads table \"%s\" behind a view directly, and you have no SELECT privilege on it",
										 get_rel_name(unreadable)));
	}
	pos = plan->reason_position;
	if (strcmp(mode, "differential") == 0)
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
				 errmsg("the defining query cannot be maintained differentially: %s",
						plan->reason),
				 errdetail("Differential refresh covers what the support matrix of docs/SQL_REFERENCE.md lists."),
				 errhint("Use refresh_mode => 'full', or 'auto' to fall back to FULL refreshes."),
				 pos > 0 ? internalerrposition(pos) : 0,
				 pos > 0 ? internalerrquery(sql) : 0));
	*reason = pos > 0 ? psprintf("%s at character %d; refreshed FULL", plan->reason, pos) :
		psprintf("%s; refreshed FULL", plan->reason);
	return NULL;
}

/*
 * create_stream_table(name, query, schedule, refresh_mode, initialize)
 */
Datum
create_stream_table(PG_FUNCTION_ARGS)
{
	text	   *name = required_text_arg(fcinfo, 0, "name");
	char	   *query = text_to_cstring(required_text_arg(fcinfo, 1, "query"));
	char	   *schedule = text_to_cstring(required_text_arg(fcinfo, 2, "schedule"));
	char	   *mode_arg = text_to_cstring(required_text_arg(fcinfo, 3, "refresh_mode"));
	bool		initialize = PG_ARGISNULL(4) ? true : PG_GETARG_BOOL(4);
	const char *mode;
	char	   *relname;
	Oid			namespace;
	TrickleQuery *tq;
	TrickleIvmPlan *plan;
	char	   *reason;
	ListCell   *lc;
	Oid			relid;

	mode = check_refresh_mode(mode_arg);
	check_schedule(schedule);
	namespace = creation_namespace(name, &relname);
	tq = trickle_query_analyze(query);
	plan = differential_plan(tq, query, mode, &reason);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	relid = trickle_relation_create(namespace, relname,
									plan ? list_concat_copy(tq->columns, plan->hidden) : tq->columns);
	trickle_query_record_dependencies(relid, tq);
	record_catalog_rows(relid, query, tq, schedule, mode, plan, reason);
	trickle_sched_catalog_changed();
	CommandCounterIncrement();
	if (plan)
	{
		/* views among them have no consumers to capture for */
		foreach(lc, trickle_api_sources(tq, plan))
			trickle_cdc_configure(lfirst_oid(lc));
	}

	if (initialize)
		trickle_refresh(relid, true, TRICKLE_INITIATED_BY_CREATE, 0);
	else
		trickle_refresh_check_readable(relid);
	SPI_finish();

	PG_RETURN_OID(relid);
}

/*
 * drop_stream_table(name, cascade): DROP TABLE, whose sql_drop event trigger
 * removes the catalog rows.
 */
Datum
drop_stream_table(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	bool		cascade = PG_GETARG_BOOL(1);
	Oid			relid;
	char	   *sql;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	relid = trickle_resolve_stream_table(name, AccessExclusiveLock, NULL);
	sql = psprintf("DROP TABLE %s%s", trickle_relation_qualified_name(relid),
				   cascade ? " CASCADE" : "");
	if (SPI_execute(sql, false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not drop stream table");
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * trickle_on_sql_drop: forget every dropped stream table, however it was
 * dropped (DROP TABLE, DROP SCHEMA CASCADE, a source dropped with CASCADE).
 */
Datum
trickle_on_sql_drop(PG_FUNCTION_ARGS)
{
	List	   *sources = NIL;
	ListCell   *lc;
	uint64		i;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trickle._on_sql_drop() must be called as an event trigger")));

	trickle_sched_catalog_changed();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	trickle_catalog_exec("WITH dropped AS ("
						 "  SELECT objid FROM pg_catalog.pg_event_trigger_dropped_objects()"
						 "  WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
						 "    AND objsubid = 0),"
						 " gone AS (DELETE FROM trickle.catalog c USING dropped d"
						 "  WHERE c.relid::pg_catalog.oid = d.objid RETURNING c.relid),"
						 " history AS (DELETE FROM trickle.refresh_history h USING gone g"
						 "  WHERE h.stream_table = g.relid)"
						 " SELECT DISTINCT s.source::pg_catalog.oid FROM trickle.sources s"
						 "  JOIN gone g ON g.relid = s.relid",
						 0, NULL, NULL, NULL);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		sources = lappend_oid(sources, DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																	  SPI_tuptable->tupdesc, 1, &isnull)));
	}
	/* members of captured trees dropped with rows in them */
	trickle_cdc_mark_dropped();
	/* sources no stream table reads any more lose their capture */
	CommandCounterIncrement();
	foreach(lc, sources)
		trickle_cdc_configure(lfirst_oid(lc));
	SPI_finish();
	PG_RETURN_NULL();
}

static void
explain_row(ReturnSetInfo *rsinfo, const char *property, const char *value)
{
	Datum		values[2];
	bool		nulls[2] = {false, value == NULL};

	values[0] = CStringGetTextDatum(property);
	values[1] = value ? CStringGetTextDatum(value) : (Datum) 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * explain_stream_table(name): how trickle refreshes a stream table: its
 * modes, the operator tree, and the SQL a differential refresh runs.
 */
Datum
explain_stream_table(PG_FUNCTION_ARGS)
{
	text	   *name = PG_GETARG_TEXT_PP(0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TrickleStreamTable st;
	TrickleIvmPlan *plan;
	List	   *columns;
	List	   *sources = NIL;
	ListCell   *lc;
	Oid			relid;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	relid = trickle_resolve_stream_table(name, AccessShareLock, &st);
	explain_row(rsinfo, "stream_table", trickle_relation_qualified_name(relid));
	explain_row(rsinfo, "refresh_mode", st.refresh_mode);
	explain_row(rsinfo, "effective_mode", st.effective_mode);
	explain_row(rsinfo, "mode_reason", st.mode_reason);
	explain_row(rsinfo, "definition", st.definition);

	plan = trickle_codegen_plan(relid, st.definition, &columns);
	if (!plan->supported)
	{
		explain_row(rsinfo, "differential", psprintf("not maintainable: %s", plan->reason));
		SPI_finish();
		return (Datum) 0;
	}
	explain_row(rsinfo, "operator_tree", trickle_ivm_describe(plan));
	foreach(lc, plan->hidden)
		explain_row(rsinfo, "hidden_column", ((TrickleColumn *) lfirst(lc))->name);
	if (strcmp(st.effective_mode, "DIFFERENTIAL") == 0)
	{
		foreach(lc, plan->sources)
		{
			TrickleIvmSource *src = lfirst(lc);

			sources = lappend_oid(sources, src->relid);
			explain_row(rsinfo, "change_buffer", trickle_buffer_name(src->relid));
		}
		explain_row(rsinfo, "apply", trickle_direct_explain(trickle_codegen_direct(relid, st.definition, NULL),
														   relid));
		explain_row(rsinfo, "delta_sql", trickle_codegen_apply(relid, st.definition, sources, NULL));
		explain_row(rsinfo, "full_sql", trickle_codegen_state(plan, columns));
		explain_row(rsinfo, "frontier", st.frontier);
	}
	SPI_finish();
	return (Datum) 0;
}
