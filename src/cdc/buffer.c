/*-------------------------------------------------------------------------
 *
 * buffer.c
 *	  Change buffers and capture triggers: making them match their consumers.
 *
 * A source is captured while at least one DIFFERENTIAL stream table reads
 * it.  A source may itself be a stream table: its refreshes write it with
 * MERGE and data-modifying CTEs, which fire the same statement triggers
 * with transition tables, so its consumers read what each refresh changed.
 * trickle_cdc_configure(source) makes the source's buffer and triggers
 * match what trickle.sources records for its consumers: the buffer holds a
 * column a<n> for every source column n some consumer reads (columns are
 * added, never removed, so rows already captured stay readable), and the
 * triggers' payload copies exactly those.  With no consumer left, triggers
 * and buffer are dropped.  A view recorded as a source is never captured:
 * its stream tables record its tables as sources too (src/api/views.c).
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
 * A partitioned or inheritance source (the root) has one buffer, and every
 * table of its tree carries the four triggers, each with a payload mapping
 * its columns onto the root's (src/cdc/tree.c).  Capture triggers are found
 * through their dependency on trickle._capture() and told apart by the
 * buffer their payload names, so a table's triggers for another buffer are
 * left alone.  Triggers whose payload is still right are kept: dropping a
 * trigger takes ACCESS EXCLUSIVE on its table.  trickle_cdc_reconcile
 * brings the triggers in line after DDL that changed a tree (ddl.c) and
 * writes a marker when rows entered or left it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/plancat.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "parser/parse_func.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "catalog.h"
#include "cdc/cdc.h"
#include "cdc/payload.h"
#include "errors.h"
#include "refresh/refresh.h"
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

/* one capture trigger */
typedef struct CaptureTriggerRow
{
	Oid			tgoid;
	Oid			relid;			/* the table carrying it */
	Oid			buffer;			/* the source whose buffer its payload names */
	char	   *payload;
} CaptureTriggerRow;

/* the first argument of a pg_trigger tuple, or "" */
static char *
trigger_first_arg(HeapTuple tuple, TupleDesc desc)
{
	Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tuple);
	bool		isnull;
	Datum		args;

	if (tg->tgnargs < 1)
		return pstrdup("");
	args = heap_getattr(tuple, Anum_pg_trigger_tgargs, desc, &isnull);
	if (isnull)
		return pstrdup("");
	/* the arguments are NUL-terminated strings, one after the other */
	return pstrdup(VARDATA_ANY(DatumGetByteaPP(args)));
}

/*
 * capture_trigger_rows: every capture trigger whose payload names source's
 * buffer (any buffer when source is InvalidOid), found through the
 * triggers' dependency on trickle._capture().
 */
static List *
capture_trigger_rows(Oid source)
{
	Relation	deprel = table_open(DependRelationId, AccessShareLock);
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	TricklePayload *payload = palloc(sizeof(TricklePayload));
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tuple;
	List	   *tgoids = NIL;
	List	   *result = NIL;
	ListCell   *lc;

	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(ProcedureRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(capture_function()));
	scan = systable_beginscan(deprel, DependReferenceIndexId, true, NULL, 2, key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tuple);

		if (dep->classid == TriggerRelationId)
			tgoids = lappend_oid(tgoids, dep->objid);
	}
	systable_endscan(scan);

	foreach(lc, tgoids)
	{
		ScanKeyInit(&key[0], Anum_pg_trigger_oid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(lfirst_oid(lc)));
		scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, key);
		if (HeapTupleIsValid(tuple = systable_getnext(scan)))
		{
			CaptureTriggerRow *row = palloc(sizeof(CaptureTriggerRow));

			row->tgoid = lfirst_oid(lc);
			row->relid = ((Form_pg_trigger) GETSTRUCT(tuple))->tgrelid;
			row->payload = trigger_first_arg(tuple, RelationGetDescr(tgrel));
			/* an unreadable payload names no buffer: such a trigger is not ours */
			row->buffer = trickle_payload_parse(row->payload, payload, NULL, 0) ?
				(Oid) payload->buffer_oid : InvalidOid;
			if (OidIsValid(row->buffer) &&
				(!OidIsValid(source) || row->buffer == source))
				result = lappend(result, row);
		}
		systable_endscan(scan);
	}
	pfree(payload);
	table_close(tgrel, AccessShareLock);
	table_close(deprel, AccessShareLock);
	return result;
}

/*
 * trickle_cdc_capture_buffers: the sources named by the triggers a table
 * carries (the root of its tree, or itself), without duplicates.
 */
List *
trickle_cdc_capture_buffers(Oid relid)
{
	Oid			func = LookupFuncName(list_make2(makeString(TRICKLE_SCHEMA),
												 makeString("_capture")),
									  0, NULL, true);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	TricklePayload *payload;
	List	   *result = NIL;

	if (!OidIsValid(func))
		return NIL;
	payload = palloc(sizeof(TricklePayload));
	rel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		if (((Form_pg_trigger) GETSTRUCT(tuple))->tgfoid == func &&
			trickle_payload_parse(trigger_first_arg(tuple, RelationGetDescr(rel)),
								  payload, NULL, 0))
			result = list_append_unique_oid(result, (Oid) payload->buffer_oid);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	pfree(payload);
	return result;
}

/* drops one capture trigger (core names internal triggers name_<oid>) */
static void
drop_trigger(Oid tgoid)
{
	ObjectAddress trigger;

	ObjectAddressSet(trigger, TriggerRelationId, tgoid);
	performDeletion(&trigger, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
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
	/* a view is recorded as a source, but its tables are what is captured */
	if (get_rel_relkind(source) == RELKIND_VIEW)
		return 0;
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

/*
 * make_payload: the payload of the triggers on member (of source's tree, or
 * source itself) for buffer columns attnums (source's numbering): member's
 * columns are matched by name.
 */
static char *
make_payload(Oid source, Oid member, List *attnums)
{
	TricklePayload *p = palloc0(sizeof(TricklePayload));
	char		buf[TRICKLE_PAYLOAD_FORMAT_LEN];
	ListCell   *lc;

	p->buffer_oid = source;
	p->partition = member != source;
	foreach(lc, attnums)
	{
		int			attnum = lfirst_int(lc);
		int			local = attnum;

		if (member != source)
		{
			local = get_attnum(member, get_attname(source, attnum, false));
			if (local == InvalidAttrNumber)
				elog(ERROR, "column %d of relation %u has no counterpart in relation %u",
					 attnum, source, member);
		}
		p->columns[p->ncolumns].buffer_attnum = attnum;
		p->columns[p->ncolumns].local_attnum = local;
		p->ncolumns++;
	}
	if (trickle_payload_format(p, buf, sizeof(buf)) < 0)
		elog(ERROR, "capture payload for relation %u does not fit", member);
	pfree(p);
	return pstrdup(buf);
}

/* the triggers of one table of a tree, while syncing */
typedef struct MemberTriggers
{
	Oid			relid;			/* hash key */
	List	   *rows;			/* CaptureTriggerRow */
} MemberTriggers;

/*
 * sync_triggers: make the capture triggers for source's buffer be exactly
 * four on each relation of members (none when members is NIL), with the
 * payload for attnums.  Tables that had none are added to *gained, tables
 * that lose theirs to *lost.
 */
static void
sync_triggers(Oid source, List *members, List *attnums, List **gained, List **lost)
{
	HTAB	   *by_relid;
	HASHCTL		ctl;
	HASH_SEQ_STATUS status;
	MemberTriggers *entry;
	ListCell   *lc;
	bool		found;

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(MemberTriggers);
	ctl.hcxt = CurrentMemoryContext;
	by_relid = hash_create("trickle capture triggers", 64, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	foreach(lc, capture_trigger_rows(source))
	{
		CaptureTriggerRow *row = lfirst(lc);

		entry = hash_search(by_relid, &row->relid, HASH_ENTER, &found);
		if (!found)
			entry->rows = NIL;
		entry->rows = lappend(entry->rows, row);
	}

	foreach(lc, members)
	{
		Oid			member = lfirst_oid(lc);
		char	   *payload = make_payload(source, member, attnums);
		ListCell   *lc2;
		int			matching = 0;

		entry = hash_search(by_relid, &member, HASH_FIND, &found);
		if (found)
		{
			foreach(lc2, entry->rows)
				matching += strcmp(((CaptureTriggerRow *) lfirst(lc2))->payload, payload) == 0;
			if (matching == lengthof(capture_triggers) &&
				list_length(entry->rows) == lengthof(capture_triggers))
			{
				entry->rows = NIL;	/* keep them */
				continue;
			}
			foreach(lc2, entry->rows)
				drop_trigger(((CaptureTriggerRow *) lfirst(lc2))->tgoid);
			entry->rows = NIL;
			CommandCounterIncrement();
		}
		else if (gained)
			*gained = lappend_oid(*gained, member);
		create_triggers(member, payload);
	}

	/* what is left belongs to tables outside the tree */
	hash_seq_init(&status, by_relid);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->rows == NIL)
			continue;
		foreach(lc, entry->rows)
			drop_trigger(((CaptureTriggerRow *) lfirst(lc))->tgoid);
		if (lost)
			*lost = lappend_oid(*lost, entry->relid);
	}
	hash_destroy(by_relid);
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

	/* views are recorded as sources; their tables are what is captured */
	if (get_rel_relkind(source) == RELKIND_VIEW)
		return;
	/* the source may be gone (DROP ... CASCADE): then only privileges remain */
	n = OidIsValid(get_rel_namespace(source)) ? consumers(source, &attnums) : -1;

	/* an error restores the user with the (sub)transaction's abort */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(trickle_extension_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (n >= 0)
	{
		List	   *members = NIL;

		/* every member: a writer of any of them must finish first */
		LockRelationOid(source, ShareRowExclusiveLock);
		if (n > 0)
			members = trickle_cdc_members(source, ShareRowExclusiveLock);
		if (n == 0)
			sync_triggers(source, NIL, NIL, NULL, NULL);
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
			sync_triggers(source, members, attnums, NULL, NULL);
		}
		CommandCounterIncrement();
	}
	revoke_schema_usage();
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/* refuse a command after which stream table relid could not be maintained */
static void
refuse_change(Oid source, Oid relid, const char *reason)
{
	ereport(ERROR,
			(errcode(TRICKLE_ERRCODE_UNSUPPORTED),
			 errmsg("this command would stop the capture of changes to \"%s\", which stream table \"%s\" reads differentially",
					get_rel_name(source), get_rel_name(relid)),
			 errdetail("Afterwards %s.", reason),
			 errhint("Drop the stream table with trickle.drop_stream_table() first, or create it again with refresh_mode => 'full'.")));
}

/* the DIFFERENTIAL stream tables reading source */
static List *
differential_consumers(Oid source)
{
	return trickle_catalog_oids("SELECT DISTINCT s.relid::pg_catalog.oid FROM trickle.sources s"
								" JOIN trickle.catalog c ON c.relid = s.relid"
								" WHERE s.source = $1 AND c.effective_mode = 'DIFFERENTIAL'",
								source);
}

/*
 * check_consumers: refuse the command unless the engine still maintains
 * each consumer of source (the analysis is the authority: it also knows
 * whether a query says ONLY).
 */
static void
check_consumers(Oid source)
{
	ListCell   *lc;
	Oid			save_userid;
	int			save_sec_context;

	/* names in a definition may be in schemas the command's user cannot use */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(trickle_extension_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	foreach(lc, differential_consumers(source))
	{
		Oid			relid = lfirst_oid(lc);
		TrickleStreamTable st;
		TrickleIvmPlan *plan;
		List	   *columns;

		if (!trickle_catalog_load(relid, &st))
			continue;
		plan = trickle_codegen_plan(relid, st.definition, &columns);
		if (!plan->supported)
			refuse_change(source, relid, plan->reason);
	}
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/* is any OID of a in b? */
static bool
any_member(List *a, List *b)
{
	ListCell   *lc;

	foreach(lc, a)
	{
		if (list_member_oid(b, lfirst_oid(lc)))
			return true;
	}
	return false;
}

/* does any table of relids hold a row? */
static bool
any_rows(List *relids)
{
	ListCell   *lc;

	foreach(lc, relids)
	{
		if (trickle_cdc_has_rows(lfirst_oid(lc)))
			return true;
	}
	return false;
}

/*
 * trickle_cdc_reconcile: after DDL that may have changed partition or
 * inheritance trees (ddl.c), make each captured source's triggers cover its
 * tree again.  A table that joined a tree gets the triggers, one that left
 * loses them; if either held rows, they entered or left the source without
 * a trigger firing, so a marker makes its consumers recompute.  A tree
 * that changed, whose root is in touched (the tables the command created or
 * altered, and their ancestors) or has a parent there, is checked first:
 * the command is refused if a consumer could no longer be maintained
 * (tree.c says why); check_all checks every tree.  Needs SPI.
 */
void
trickle_cdc_reconcile(List *touched, bool check_all)
{
	List	   *roots;
	List	   *rows = capture_trigger_rows(InvalidOid);
	ListCell   *lc;

	roots = trickle_catalog_oids("SELECT DISTINCT s.source::pg_catalog.oid FROM trickle.sources s"
								 " JOIN trickle.catalog c ON c.relid = s.relid"
								 " WHERE c.effective_mode = 'DIFFERENTIAL'",
								 InvalidOid);
	/* and the sources stale triggers still name */
	foreach(lc, rows)
		roots = list_append_unique_oid(roots, ((CaptureTriggerRow *) lfirst(lc))->buffer);

	foreach(lc, roots)
	{
		Oid			root = lfirst_oid(lc);
		List	   *attnums = NIL;
		List	   *members = NIL;
		List	   *holders = NIL;
		List	   *sorted;
		List	   *gained = NIL;
		List	   *lost = NIL;
		ListCell   *lc2;
		bool		changed;
		int			n;
		Oid			save_userid;
		int			save_sec_context;

		if (!OidIsValid(get_rel_namespace(root)))
			continue;			/* dropped: the sql_drop trigger cleans up */
		n = consumers(root, &attnums);
		if (n > 0)
			members = trickle_cdc_members(root, NoLock);
		foreach(lc2, rows)
		{
			CaptureTriggerRow *row = lfirst(lc2);

			if (row->buffer == root)
				holders = lappend_oid(holders, row->relid);
		}
		/* sorted, as trees may have thousands of partitions */
		list_sort(holders, list_oid_cmp);
		list_deduplicate_oid(holders);
		sorted = list_copy(members);
		list_sort(sorted, list_oid_cmp);
		changed = !equal(holders, sorted);

		/* ALTER TABLE root INHERIT p names root; ATTACH PARTITION, the parent */
		if (n > 0 && (changed || check_all || list_member_oid(touched, root) ||
					  any_member(trickle_cdc_parents(root), touched)))
		{
			char	   *problem = trickle_cdc_source_problem(root, true);

			if (problem)
				refuse_change(root, linitial_oid(differential_consumers(root)), problem);
			if (changed)
				check_consumers(root);
		}
		if (!changed)
			continue;

		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(trickle_extension_owner(),
							   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
		sync_triggers(root, members, attnums, &gained, &lost);
		CommandCounterIncrement();
		SetUserIdAndSecContext(save_userid, save_sec_context);
		if (n > 0 && (any_rows(gained) || any_rows(lost)))
			trickle_capture_mark(root);
	}
}

/*
 * How the planner sees a change buffer.
 *
 * A delta reads a buffer by an index range between two parameters: the
 * kept plan is generic, so the planner estimates that range at 0.5 % of
 * the buffer's rows.  What the buffer holds says little about what a
 * refresh reads, though: it keeps consumed rows until it is large enough
 * to truncate (src/refresh/phd1.c), it was empty when VACUUM last measured
 * it, or another consumer lags.  Planned from its real size, the same
 * delta came out as a hash join once and, after one VACUUM ANALYZE of a
 * buffer holding consumed rows, as 20,000 index probes into the other side
 * (2.5 times slower) the next time.  So every buffer is planned as holding
 * BUFFER_PLAN_TUPLES rows, making a delta's read about 1,000 rows: small
 * enough that a large table is still probed by index for each change,
 * large enough that a small one is scanned once into a hash table.  Only
 * the estimate changes; what is read is read in full.
 */
#define BUFFER_PLAN_TUPLES	200000.0
#define BUFFER_PLAN_PAGES	1500

static get_relation_info_hook_type prev_get_relation_info = NULL;

/*
 * the buffers' schema, looked up once per backend and again after any
 * change of pg_namespace (the hook runs for every relation of every query)
 */
static Oid	buffer_namespace = InvalidOid;
static bool buffer_namespace_valid = false;

static void
buffer_namespace_reset(Datum arg, int cacheid, uint32 hashvalue)
{
	buffer_namespace_valid = false;
}

static void
buffer_relation_info(PlannerInfo *root, Oid relid, bool inhparent, RelOptInfo *rel)
{
	ListCell   *lc;

	if (prev_get_relation_info)
		prev_get_relation_info(root, relid, inhparent, rel);
	if (!buffer_namespace_valid)
	{
		buffer_namespace = get_namespace_oid(TRICKLE_BUFFER_SCHEMA, true);
		buffer_namespace_valid = true;
	}
	if (!OidIsValid(buffer_namespace) || rel->reloptkind != RELOPT_BASEREL ||
		get_rel_namespace(relid) != buffer_namespace)
		return;
	rel->tuples = BUFFER_PLAN_TUPLES;
	rel->pages = BUFFER_PLAN_PAGES;
	rel->allvisfrac = 0;
	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *index = lfirst(lc);

		index->tuples = index->indpred ? BUFFER_PLAN_TUPLES / 100 : BUFFER_PLAN_TUPLES;
		index->pages = Max(index->pages, (BlockNumber) (index->tuples / 200) + 1);
	}
}

/* trickle_buffer_init: install the planner hook (from _PG_init at preload) */
void
trickle_buffer_init(void)
{
	prev_get_relation_info = get_relation_info_hook;
	get_relation_info_hook = buffer_relation_info;
	CacheRegisterSyscacheCallback(NAMESPACEOID, buffer_namespace_reset, (Datum) 0);
}
