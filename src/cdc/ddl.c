/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  Keeping change capture in step with what changes a source's tree
 *	  without firing its statement triggers.
 *
 * Rows enter or leave a partitioned or inheritance source (src/cdc/tree.c)
 * in three ways its capture triggers cannot see:
 *
 * - ATTACH and DETACH PARTITION, INHERIT and NO INHERIT move whole tables
 *   in or out of a tree, and CREATE TABLE ... PARTITION OF / INHERITS adds an
 *   (empty) member that needs triggers.  The event trigger
 *   trickle._on_ddl_command_end (ddl_command_end) has trickle_cdc_reconcile
 *   give new members their triggers, take them from former members, write a
 *   marker (the consumers then REINITIALIZE) when a table that moved held
 *   rows, and refuse a command after which a differential consumer could
 *   not be maintained (a captured table becoming a partition or child, a
 *   foreign table joining, ONLY in a query, ...).  An event trigger, rather
 *   than the utility hook, because it runs after the command in the
 *   command's transaction, with the catalogs showing the new tree, however
 *   the command was issued: inside a function, as an element of CREATE
 *   SCHEMA, or as the second transaction of DETACH ... CONCURRENTLY (whose
 *   first transaction already hides the partition from queries on the
 *   root; the capture trigger writes markers meanwhile, see capture.c).  A
 *   utility hook would see the statement before the tree changed and would
 *   have to repeat the command's name lookups and recursion.  CREATE and
 *   ALTER SUBSCRIPTION are checked too: a table becoming a replication
 *   target would be written by the apply worker, which fires no statement
 *   triggers.
 * - DROP TABLE of a member (not detached first) drops its rows with it.
 *   object_access_hook sees each capture trigger being dropped (OAT_DROP
 *   comes before the deletion, while the member and its rows still exist)
 *   and remembers the root when the member held rows; the sql_drop event
 *   trigger (src/api/api.c) then writes the markers.
 * - MERGE: PostgreSQL 15 leaves the rows a MERGE moves from one partition
 *   to another out of the transition tables (the statement triggers see
 *   neither the old nor the new row).  ExecutorStart_hook writes a marker
 *   into the root's buffer when a MERGE's target is a partitioned table
 *   carrying capture triggers: the root, or an intermediate partitioned
 *   table.  A MERGE into a leaf cannot move rows (changing the partition
 *   key there fails), so it is captured like a plain table.
 *
 * State: the roots remembered by the drop hook, in TopTransactionContext,
 * forgotten at the end of the transaction.  A subtransaction that rolls
 * back keeps them: a marker too many costs one recomputation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "commands/event_trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "catalog.h"
#include "cdc/cdc.h"
#include "cdc/payload.h"
#include "trickle.h"

static object_access_hook_type prev_object_access = NULL;
static ExecutorStart_hook_type prev_ExecutorStart = NULL;

/* roots whose member was dropped with rows in it (TopTransactionContext) */
static List *dropped_roots = NIL;

static void
ddl_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			dropped_roots = NIL;
			break;
		default:
			break;
	}
}

/* trickle._capture(), or InvalidOid when trickle is not installed here */
static Oid
capture_function(void)
{
	if (!OidIsValid(trickle_schema_oid()))
		return InvalidOid;
	return LookupFuncName(list_make2(makeString(TRICKLE_SCHEMA), makeString("_capture")),
						  0, NULL, true);
}

/*
 * remember_dropped_member: if trigger tgoid is a member's capture trigger
 * and the member holds rows, remember its root.
 */
static void
remember_dropped_member(Oid tgoid)
{
	Oid			func = capture_function();
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			member = InvalidOid;
	Oid			root = InvalidOid;

	if (!OidIsValid(func))
		return;
	rel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(tgoid));
	scan = systable_beginscan(rel, TriggerOidIndexId, true, NULL, 1, &key);
	if (HeapTupleIsValid(tuple = systable_getnext(scan)) &&
		((Form_pg_trigger) GETSTRUCT(tuple))->tgfoid == func)
	{
		Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tuple);
		TricklePayload *payload = palloc(sizeof(TricklePayload));
		bool		isnull;
		Datum		args = heap_getattr(tuple, Anum_pg_trigger_tgargs,
										RelationGetDescr(rel), &isnull);

		if (tg->tgnargs == 1 && !isnull &&
			trickle_payload_parse(VARDATA_ANY(DatumGetByteaPP(args)), payload, NULL, 0) &&
			payload->partition)
		{
			member = tg->tgrelid;
			root = payload->buffer_oid;
		}
		pfree(payload);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (OidIsValid(root) && !list_member_oid(dropped_roots, root) &&
		trickle_cdc_has_rows(member))
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		dropped_roots = lappend_oid(dropped_roots, root);
		MemoryContextSwitchTo(old);
	}
}

static void
cdc_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				  int subId, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);

	/* trickle's own trigger changes are internal deletions */
	if (access == OAT_DROP && classId == TriggerRelationId &&
		(((ObjectAccessDrop *) arg)->dropflags & PERFORM_DELETION_INTERNAL) == 0 &&
		IsTransactionState())
		remember_dropped_member(objectId);
}

/*
 * trickle_cdc_mark_dropped: write the markers for members dropped by the
 * command that just ended (called by the sql_drop event trigger).  A root
 * dropped with them took its buffer along: nothing to mark then.
 */
void
trickle_cdc_mark_dropped(void)
{
	List	   *roots = dropped_roots;
	ListCell   *lc;

	dropped_roots = NIL;
	foreach(lc, roots)
	{
		if (OidIsValid(get_rel_namespace(lfirst_oid(lc))))
			trickle_capture_mark(lfirst_oid(lc));
	}
}

/*
 * merge_marks: a MERGE is about to run; mark the roots of partitioned
 * targets that carry capture triggers (see the file header).
 */
static void
merge_marks(PlannedStmt *stmt)
{
	List	   *roots = NIL;
	ListCell   *lc;

	foreach(lc, stmt->resultRelations)
	{
		Oid			relid = rt_fetch(lfirst_int(lc), stmt->rtable)->relid;

		if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
			roots = list_concat_unique_oid(roots, trickle_cdc_capture_buffers(relid));
	}
	foreach(lc, roots)
		trickle_capture_mark(lfirst_oid(lc));
}

static void
cdc_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	if (queryDesc->operation == CMD_MERGE &&
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
		merge_marks(queryDesc->plannedstmt);

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/* is_tree_command: may parsetree change a partition or inheritance tree? */
static bool
is_tree_command(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			foreach(lc, ((AlterTableStmt *) parsetree)->cmds)
			{
				switch (((AlterTableCmd *) lfirst(lc))->subtype)
				{
					case AT_AttachPartition:
					case AT_DetachPartition:
					case AT_DetachPartitionFinalize:
					case AT_AddInherit:
					case AT_DropInherit:
						return true;
					default:
						break;
				}
			}
			return false;
		case T_CreateStmt:
		case T_CreateForeignTableStmt:
			/* CreateForeignTableStmt begins with a CreateStmt */
			return ((CreateStmt *) parsetree)->inhRelations != NIL;
		case T_CreateSubscriptionStmt:
		case T_AlterSubscriptionStmt:
			/* may make a member of a captured tree a replication target */
			return true;
		case T_CreateSchemaStmt:
			foreach(lc, ((CreateSchemaStmt *) parsetree)->schemaElts)
			{
				if (is_tree_command(lfirst(lc)))
					return true;
			}
			return false;
		default:
			return false;
	}
}

PG_FUNCTION_INFO_V1(trickle_on_ddl_command_end);

/*
 * trickle_on_ddl_command_end: the ddl_command_end event trigger (see the
 * file header).  Commands that change no tree cost one look at the
 * statement.
 */
Datum
trickle_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	List	   *touched = NIL;
	ListCell   *lc;
	Node	   *parsetree;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trickle._on_ddl_command_end() must be called as an event trigger")));
	parsetree = ((EventTriggerData *) fcinfo->context)->parsetree;
	if (!is_tree_command(parsetree))
		PG_RETURN_NULL();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * The tables the command created or altered (for ALTER TABLE the one it
	 * names: the parent of ATTACH, the child of INHERIT) and their
	 * ancestors: the trees it may have reshaped without changing who
	 * belongs to them (ALTER TABLE member INHERIT other).  Names in the
	 * statement cannot be looked up here: this function runs under a fixed
	 * search_path.
	 */
	foreach(lc, trickle_catalog_oids("SELECT objid FROM pg_catalog.pg_event_trigger_ddl_commands()"
									 " WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
									 " AND objsubid OPERATOR(pg_catalog.=) 0",
									 InvalidOid))
		touched = list_concat_unique_oid(touched, trickle_cdc_ancestors(lfirst_oid(lc)));
	trickle_cdc_reconcile(touched, IsA(parsetree, CreateSubscriptionStmt) ||
						  IsA(parsetree, AlterSubscriptionStmt));
	SPI_finish();
	PG_RETURN_NULL();
}

/*
 * trickle_cdc_init: install the hooks (from _PG_init at preload).
 */
void
trickle_cdc_init(void)
{
	RegisterXactCallback(ddl_xact_callback, NULL);
	trickle_buffer_init();
	prev_object_access = object_access_hook;
	object_access_hook = cdc_object_access;
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = cdc_ExecutorStart;
}
