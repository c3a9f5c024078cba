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
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

#include "api/api.h"
#include "catalog.h"
#include "errors.h"
#include "fdw/fdw.h"
#include "gucenum.h"
#include "refresh/refresh.h"
#include "sched/schedule.h"
#include "trickle.h"

PG_FUNCTION_INFO_V1(create_stream_table);
PG_FUNCTION_INFO_V1(drop_stream_table);
PG_FUNCTION_INFO_V1(trickle_on_sql_drop);

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
	if (value == TRICKLE_REFRESH_MODE_DIFFERENTIAL ||
		value == TRICKLE_REFRESH_MODE_IMMEDIATE)
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
				 errmsg("refresh mode \"%s\" is not available in this version of trickle",
						trickle_enum_name(trickle_refresh_mode_entries, value)),
				 errdetail("This version refreshes stream tables by recomputing them (FULL)."),
				 errhint("Use refresh_mode => 'auto' or 'full'.")));
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

static void
record_catalog_rows(Oid relid, const char *query, TrickleQuery *tq,
					const char *schedule, const char *mode)
{
	Oid			types[8] = {OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, OIDOID};
	Datum		values[8];
	Oid			srctypes[2] = {OIDOID, OIDARRAYOID};
	Datum		srcvalues[2];
	Datum	   *oids;
	ListCell   *lc;
	int			i = 0;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(query);
	values[2] = CStringGetTextDatum(tq->definition);
	values[3] = CStringGetTextDatum(schedule);
	values[4] = CStringGetTextDatum(mode);
	values[5] = CStringGetTextDatum(strcmp(mode, "auto") == 0 ?
									"the differential engine is not part of this version" : "");
	values[6] = Int64GetDatum((int64) GetSystemIdentifier());
	values[7] = ObjectIdGetDatum(relid);
	trickle_catalog_exec("INSERT INTO trickle.catalog (relid, query, definition, schedule,"
						 " refresh_mode, effective_mode, mode_reason, frontier_sysid, frontier_relid)"
						 " VALUES ($1, $2, $3, $4, $5, 'FULL', NULLIF($6, ''), $7, $8)",
						 8, types, values, NULL);

	oids = palloc(sizeof(Datum) * Max(list_length(tq->sources), 1));
	foreach(lc, tq->sources)
		oids[i++] = ObjectIdGetDatum(lfirst_oid(lc));
	srcvalues[0] = ObjectIdGetDatum(relid);
	srcvalues[1] = PointerGetDatum(construct_array(oids, i, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	trickle_catalog_exec("INSERT INTO trickle.sources (relid, source)"
						 " SELECT $1, s FROM unnest($2::oid[]) s",
						 2, srctypes, srcvalues, NULL);
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
	Oid			relid;

	mode = check_refresh_mode(mode_arg);
	check_schedule(schedule);
	namespace = creation_namespace(name, &relname);
	tq = trickle_query_analyze(query);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	relid = trickle_relation_create(namespace, relname, tq->columns);
	trickle_query_record_dependencies(relid, tq);
	record_catalog_rows(relid, query, tq, schedule, mode);
	CommandCounterIncrement();

	if (initialize)
		trickle_refresh(relid, true, TRICKLE_INITIATED_BY_CREATE);
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
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trickle._on_sql_drop() must be called as an event trigger")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	trickle_catalog_exec("WITH dropped AS ("
						 "  SELECT objid FROM pg_catalog.pg_event_trigger_dropped_objects()"
						 "  WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
						 "    AND objsubid = 0),"
						 " gone AS (DELETE FROM trickle.catalog c USING dropped d"
						 "  WHERE c.relid::pg_catalog.oid = d.objid RETURNING c.relid)"
						 " DELETE FROM trickle.refresh_history h USING gone g"
						 "  WHERE h.stream_table = g.relid",
						 0, NULL, NULL, NULL);
	SPI_finish();
	PG_RETURN_NULL();
}
