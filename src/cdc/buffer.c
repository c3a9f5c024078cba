/*-------------------------------------------------------------------------
 *
 * buffer.c
 *	  Change buffers and capture triggers: making them match their consumers.
 *
 * A source is captured while at least one DIFFERENTIAL stream table reads
 * it.  trickle_cdc_configure(source) makes the source's buffer and triggers
 * match what trickle.sources records for its consumers: the buffer holds a
 * column a<n> for every source column n some consumer reads (columns are
 * added, never removed, so rows already captured stay readable), and the
 * triggers' payload copies exactly those.  With no consumer left, triggers
 * and buffer are dropped.
 *
 * The triggers are internal (tgisinternal): pg_dump does not dump them and
 * psql's \d does not list them.  The buffer belongs to the extension's owner
 * and depends (automatically) on its source, so dropping the source drops
 * it.  It is not a member of the extension: core would then turn the drop of
 * a source into a drop of the extension.  pg_dump therefore dumps buffers,
 * but a restored one lacks the dependency on its source (whose OID changed),
 * and configuring capture replaces any buffer without it; a restored stream
 * table is reinitialised, which configures capture afresh.
 *
 * Creating the triggers takes SHARE ROW EXCLUSIVE on the source, which waits
 * for every transaction that has written it to finish: the caller's
 * snapshot, taken afterwards, sees all changes made without the triggers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "catalog.h"
#include "cdc/cdc.h"
#include "cdc/payload.h"
#include "trickle.h"

typedef struct CaptureTrigger
{
	const char *name;
	int16		event;
	const char *old_table;
	const char *new_table;
} CaptureTrigger;

static const CaptureTrigger capture_triggers[] = {
	{"trickle_capture_ins", TRIGGER_TYPE_INSERT, NULL, "__trickle_new"},
	{"trickle_capture_upd", TRIGGER_TYPE_UPDATE, "__trickle_old", "__trickle_new"},
	{"trickle_capture_del", TRIGGER_TYPE_DELETE, "__trickle_old", NULL},
	{"trickle_capture_trunc", TRIGGER_TYPE_TRUNCATE, NULL, NULL},
};

char *
trickle_buffer_name(Oid source)
{
	return psprintf("%s.changes_%u", TRICKLE_BUFFER_SCHEMA, source);
}

char *
trickle_buffer_column(int attnum)
{
	return psprintf("a%d", attnum);
}

/* the buffer of source, or InvalidOid */
Oid
trickle_buffer_relid(Oid source)
{
	char		name[NAMEDATALEN];
	Oid			namespace = get_namespace_oid(TRICKLE_BUFFER_SCHEMA, false);

	snprintf(name, sizeof(name), "changes_%u", source);
	return get_relname_relid(name, namespace);
}

static void
exec_ddl(const char *sql)
{
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not run \"%s\"", sql);
}

/* the buffer, made a member of the extension and dependent on its source */
static void
create_buffer(Oid source)
{
	ObjectAddress buffer;
	ObjectAddress referenced;

	exec_ddl(psprintf("CREATE TABLE %s (__xid pg_catalog.xid8 NOT NULL,"
					  " __ord pg_catalog.int8 NOT NULL, __w pg_catalog.int4 NOT NULL,"
					  " PRIMARY KEY (__xid, __ord))", trickle_buffer_name(source)));
	/* finds TRUNCATE markers without reading the changes */
	exec_ddl(psprintf("CREATE INDEX ON %s (__xid) WHERE __w = 0", trickle_buffer_name(source)));
	CommandCounterIncrement();
	ObjectAddressSet(buffer, RelationRelationId, trickle_buffer_relid(source));
	ObjectAddressSet(referenced, RelationRelationId, source);
	recordDependencyOn(&buffer, &referenced, DEPENDENCY_AUTO);
}

/* whether the buffer of source was made for it (not restored from a dump) */
static bool
buffer_is_current(Oid source)
{
	Oid			argtypes[2] = {OIDOID, OIDOID};
	Datum		values[2] = {ObjectIdGetDatum(trickle_buffer_relid(source)), ObjectIdGetDatum(source)};

	if (SPI_execute_with_args("SELECT FROM pg_catalog.pg_depend"
							  " WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
							  " AND objid = $1 AND objsubid = 0"
							  " AND refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
							  " AND refobjid = $2 AND deptype = 'a'",
							  2, argtypes, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_depend");
	return SPI_processed == 1;
}

/* adds the buffer columns for attnums (sorted) that it lacks */
static void
add_buffer_columns(Oid source, List *attnums)
{
	Oid			buffer = trickle_buffer_relid(source);
	Relation	rel = table_open(source, AccessShareLock);
	ListCell   *lc;

	foreach(lc, attnums)
	{
		int			attnum = lfirst_int(lc);
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
		char	   *column = trickle_buffer_column(attnum);
		StringInfoData sql;

		if (get_attnum(buffer, column) != InvalidAttrNumber)
			continue;
		initStringInfo(&sql);
		appendStringInfo(&sql, "ALTER TABLE %s ADD COLUMN %s %s",
						 trickle_buffer_name(source), column,
						 format_type_extended(att->atttypid, att->atttypmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN |
											  FORMAT_TYPE_FORCE_QUALIFY));
		if (OidIsValid(att->attcollation) &&
			att->attcollation != get_typcollation(att->atttypid))
			appendStringInfo(&sql, " COLLATE %s", generate_collation_name(att->attcollation));
		exec_ddl(sql.data);
	}
	table_close(rel, NoLock);
}

static Oid
capture_function(void)
{
	return LookupFuncName(list_make2(makeString(TRICKLE_SCHEMA), makeString("_capture")),
						  0, NULL, false);
}

/* drops source's capture triggers (core names internal triggers name_<oid>) */
static void
drop_triggers(Oid source)
{
	Oid			func = capture_function();
	Relation	rel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	List	   *triggers = NIL;
	ListCell   *lc;

	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(source));
	scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tuple);

		if (tg->tgfoid == func)
			triggers = lappend_oid(triggers, tg->oid);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	foreach(lc, triggers)
	{
		ObjectAddress trigger;

		ObjectAddressSet(trigger, TriggerRelationId, lfirst_oid(lc));
		performDeletion(&trigger, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
	}
}

static TriggerTransition *
transition(const char *name, bool is_new)
{
	TriggerTransition *t = makeNode(TriggerTransition);

	t->name = pstrdup(name);
	t->isNew = is_new;
	t->isTable = true;
	return t;
}

static void
create_triggers(Oid source, const char *payload)
{
	int			i;

	for (i = 0; i < lengthof(capture_triggers); i++)
	{
		const CaptureTrigger *ct = &capture_triggers[i];
		CreateTrigStmt *stmt = makeNode(CreateTrigStmt);

		stmt->trigname = pstrdup(ct->name);
		stmt->relation = makeRangeVar(get_namespace_name(get_rel_namespace(source)),
									  get_rel_name(source), -1);
		stmt->funcname = list_make2(makeString(TRICKLE_SCHEMA), makeString("_capture"));
		stmt->args = list_make1(makeString(pstrdup(payload)));
		stmt->row = false;
		stmt->timing = TRIGGER_TYPE_AFTER;
		stmt->events = ct->event;
		if (ct->old_table)
			stmt->transitionRels = lappend(stmt->transitionRels, transition(ct->old_table, false));
		if (ct->new_table)
			stmt->transitionRels = lappend(stmt->transitionRels, transition(ct->new_table, true));
		(void) CreateTrigger(stmt, NULL, source, InvalidOid, InvalidOid, InvalidOid,
							 InvalidOid, InvalidOid, NULL, true, false);
	}
}

/*
 * consumers: how many DIFFERENTIAL stream tables read source, and the union
 * of the columns they read (sorted attnums) in *attnums.
 */
static int
consumers(Oid source, List **attnums)
{
	ListCell   *lc;

	*attnums = NIL;
	foreach(lc, trickle_catalog_oids("SELECT DISTINCT a::pg_catalog.oid FROM trickle.sources s"
									 " JOIN trickle.catalog c ON c.relid = s.relid,"
									 " unnest(s.columns) a"
									 " WHERE s.source = $1 AND c.effective_mode = 'DIFFERENTIAL'"
									 " ORDER BY 1", source))
		*attnums = lappend_int(*attnums, (int) lfirst_oid(lc));
	return list_length(trickle_catalog_oids("SELECT s.relid::pg_catalog.oid FROM trickle.sources s"
											" JOIN trickle.catalog c ON c.relid = s.relid"
											" WHERE s.source = $1"
											" AND c.effective_mode = 'DIFFERENTIAL'", source));
}

/*
 * grant_readers: each consumer's owner (refreshes run as the owner) may read
 * the buffer columns its stream table reads, and nothing else.
 */
static void
grant_readers(Oid source)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(source)};
	List	   *grants = NIL;
	ListCell   *lc;
	uint64		i;

	/* first forget every earlier reader */
	values[0] = ObjectIdGetDatum(trickle_buffer_relid(source));
	if (SPI_execute_with_args("SELECT DISTINCT pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee))"
							  " FROM pg_catalog.pg_attribute a, pg_catalog.aclexplode(a.attacl) x"
							  " WHERE a.attrelid = $1",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the privileges of relation %u", source);
	for (i = 0; i < SPI_processed; i++)
		grants = lappend(grants, psprintf("REVOKE ALL ON %s FROM %s", trickle_buffer_name(source),
										  SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
	values[0] = ObjectIdGetDatum(source);

	if (SPI_execute_with_args("SELECT pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.relowner)),"
							  " pg_catalog.string_agg(DISTINCT 'a' || a, ', ')"
							  " FROM trickle.sources s JOIN trickle.catalog c ON c.relid = s.relid"
							  " JOIN pg_catalog.pg_class r ON r.oid = c.relid"
							  " LEFT JOIN LATERAL unnest(s.columns) a ON true"
							  " WHERE s.source = $1 AND c.effective_mode = 'DIFFERENTIAL'"
							  " GROUP BY r.relowner",
							  1, argtypes, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the consumers of relation %u", source);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *role = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		char	   *columns = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		grants = lappend(grants, psprintf("GRANT SELECT (__xid, __ord, __w%s%s) ON %s TO %s",
										  columns ? ", " : "", columns ? columns : "",
										  trickle_buffer_name(source), role));
		grants = lappend(grants, psprintf("GRANT USAGE ON SCHEMA %s TO %s",
										  TRICKLE_BUFFER_SCHEMA, role));
	}
	foreach(lc, grants)
		exec_ddl(lfirst(lc));
}

/*
 * revoke_schema_usage: roles that own no DIFFERENTIAL stream table any more
 * lose USAGE on the buffer schema (so that they can be dropped).
 */
static void
revoke_schema_usage(void)
{
	List	   *revokes = NIL;
	ListCell   *lc;
	uint64		i;

	if (SPI_execute("SELECT pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(x.grantee))"
					" FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) x"
					" WHERE n.nspname = '" TRICKLE_BUFFER_SCHEMA "' AND x.grantee <> n.nspowner"
					" AND NOT EXISTS (SELECT FROM trickle.catalog c"
					"  JOIN pg_catalog.pg_class r ON r.oid = c.relid"
					"  WHERE r.relowner = x.grantee AND c.effective_mode = 'DIFFERENTIAL')",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the privileges of schema " TRICKLE_BUFFER_SCHEMA);
	for (i = 0; i < SPI_processed; i++)
		revokes = lappend(revokes, psprintf("REVOKE ALL ON SCHEMA %s FROM %s", TRICKLE_BUFFER_SCHEMA,
											SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1)));
	foreach(lc, revokes)
		exec_ddl(lfirst(lc));
}

static char *
make_payload(Oid source, List *attnums)
{
	TricklePayload *p = palloc0(sizeof(TricklePayload));
	char		buf[TRICKLE_PAYLOAD_MAX_LENGTH + 1];
	ListCell   *lc;

	p->buffer_oid = source;
	foreach(lc, attnums)
	{
		p->columns[p->ncolumns].buffer_attnum = lfirst_int(lc);
		p->columns[p->ncolumns].local_attnum = lfirst_int(lc);
		p->ncolumns++;
	}
	if (trickle_payload_format(p, buf, sizeof(buf)) < 0)
		elog(ERROR, "capture payload for relation %u does not fit", source);
	pfree(p);
	return pstrdup(buf);
}

/*
 * trickle_cdc_configure: make source's buffer and triggers match its
 * consumers (see the file comment).  Runs as the extension's owner.
 */
void
trickle_cdc_configure(Oid source)
{
	List	   *attnums;
	int			n;
	Oid			save_userid;
	int			save_sec_context;

	/* the source may be gone (DROP ... CASCADE): then only privileges remain */
	n = OidIsValid(get_rel_namespace(source)) ? consumers(source, &attnums) : -1;

	/* an error restores the user with the (sub)transaction's abort */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(trickle_extension_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (n >= 0)
	{
		LockRelationOid(source, ShareRowExclusiveLock);
		drop_triggers(source);
		if (OidIsValid(trickle_buffer_relid(source)) && (n == 0 || !buffer_is_current(source)))
			exec_ddl(psprintf("DROP TABLE %s", trickle_buffer_name(source)));
		if (n > 0)
		{
			if (!OidIsValid(trickle_buffer_relid(source)))
				create_buffer(source);
			add_buffer_columns(source, attnums);
			CommandCounterIncrement();
			grant_readers(source);
			CommandCounterIncrement();
			create_triggers(source, make_payload(source, attnums));
		}
		CommandCounterIncrement();
	}
	revoke_schema_usage();
	SetUserIdAndSecContext(save_userid, save_sec_context);
}
