/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Keeps everything but the refresh engine from writing to stream tables.
 *
 * Two hooks, installed at preload:
 *
 * - ExecutorStart_hook checks the plan's resultRelations, which list every
 *   relation any ModifyTable node of the statement writes: INSERT, UPDATE,
 *   DELETE, MERGE, and writable CTEs alike.  Writes routed through a
 *   partitioned parent or an inheritance parent cannot reach a stream table
 *   because a stream table can be neither a partition nor a child (refused
 *   below).
 * - ProcessUtility_hook refuses COPY FROM, TRUNCATE, ALTER TABLE commands
 *   that change columns, access method, constraints, inheritance or
 *   partitioning, CREATE RULE, BEFORE/INSTEAD OF row triggers, and creating a
 *   table with the "trickle" access method outside trickle; and, on any
 *   table, ALTER COLUMN TYPE of a column a stream table reads.  Around
 *   RENAME and SET SCHEMA it has src/api/rename.c re-deparse the stored
 *   definitions; after CREATE OR REPLACE VIEW (or RULE) src/api/views.c
 *   re-plans the differential stream tables reading the view.
 *
 * The access method is only a cheap pre-filter; trickle.catalog decides.  A
 * relation whose catalog row was restored from a dump (foreign frontier) is
 * writable, so that pg_restore can load it; its next refresh rebuilds it.
 *
 * trickle's own capture triggers on a stream table read by another one are
 * made with CreateTrigger, not through ProcessUtility, so the trigger rules
 * above do not apply to them; their INSERT writes a change buffer, not the
 * stream table.
 *
 * The engine admits its own writes by naming the one relation it writes
 * (trickle_guard_allow_write) for the duration of the statement; state is
 * backend-local, reset by the caller afterwards and, after an error, when
 * the (sub)transaction aborts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "api/api.h"
#include "catalog.h"
#include "errors.h"
#include "fdw/fdw.h"
#include "trickle.h"

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static Oid	guard_write_target = InvalidOid;
static bool guard_creating = false;

#define HINT_CHANGE_SOURCES \
	"Change the stream table's source tables instead; trickle.refresh_stream_table() brings it up to date."
#define HINT_RECREATE \
	"To change a stream table's shape, drop it with trickle.drop_stream_table() and create it again with trickle.create_stream_table()."
#define HINT_CREATE \
	"Create stream tables with trickle.create_stream_table()."

void
trickle_guard_allow_write(Oid relid)
{
	guard_write_target = relid;
}

void
trickle_guard_allow_create(void)
{
	guard_creating = true;
}

void
trickle_guard_release(void)
{
	guard_write_target = InvalidOid;
	guard_creating = false;
}

/* an error between allow and release closes the guard again */
static void
guard_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		trickle_guard_release();
}

static void
guard_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		trickle_guard_release();
}

/*
 * is_guarded: is relid a stream table that only the engine may change?
 */
static bool
is_guarded(Oid relid)
{
	Oid			am;

	if (!OidIsValid(relid) || relid == guard_write_target)
		return false;
	am = trickle_am_oid(true);
	if (!OidIsValid(am) || trickle_relation_am(relid) != am)
		return false;
	return trickle_classify_relation(relid) == TRICKLE_RELATION_STREAM_TABLE;
}

static bool
rangevar_is_guarded(RangeVar *rv)
{
	return rv != NULL && is_guarded(RangeVarGetRelid(rv, NoLock, true));
}

static void
refuse(Oid relid, const char *action, const char *hint)
{
	char	   *name = get_rel_name(relid);

	ereport(ERROR,
			(errcode(TRICKLE_ERRCODE_READ_ONLY),
			 errmsg("cannot %s stream table \"%s\"", action, name ? name : "?"),
			 errdetail("Stream table \"%s\" is maintained by trickle; only its refresh may change it.",
					   name ? name : "?"),
			 errhint("%s", hint)));
}

static void
refuse_rangevar(RangeVar *rv, const char *action, const char *hint)
{
	refuse(RangeVarGetRelid(rv, NoLock, true), action, hint);
}

static void
trickle_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *stmt = queryDesc->plannedstmt;
	ListCell   *lc;

	foreach(lc, stmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), stmt->rtable);

		if (is_guarded(rte->relid))
			refuse(rte->relid, "modify", HINT_CHANGE_SOURCES);
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * alter_table_subcommand_allowed: ALTER TABLE subcommands that leave the
 * contents and shape of a stream table alone (storage, statistics, owner,
 * replica identity, clustering, triggers' enabled state, row security).
 */
static bool
alter_table_subcommand_allowed(AlterTableType subtype)
{
	switch (subtype)
	{
		case AT_SetStatistics:
		case AT_SetOptions:
		case AT_ResetOptions:
		case AT_SetStorage:
		case AT_SetCompression:
		case AT_ClusterOn:
		case AT_DropCluster:
		case AT_SetLogged:
		case AT_SetUnLogged:
		case AT_SetRelOptions:
		case AT_ResetRelOptions:
		case AT_ReplaceRelOptions:
		case AT_ReplicaIdentity:
		case AT_ChangeOwner:
		case AT_SetTableSpace:
		case AT_EnableRowSecurity:
		case AT_DisableRowSecurity:
		case AT_EnableTrig:
		case AT_EnableAlwaysTrig:
		case AT_EnableReplicaTrig:
		case AT_DisableTrig:
		case AT_EnableTrigAll:
		case AT_DisableTrigAll:
		case AT_EnableTrigUser:
		case AT_DisableTrigUser:
			return true;
		default:
			return false;
	}
}

/*
 * check_alter_column_type: refuse to change the type of a column a stream
 * table reads.  Core would fail with an internal error (it expects only
 * views, through their rules, to depend on a column); a view-like message
 * is what a user should see.
 */
static void
check_alter_column_type(RangeVar *rv, const char *colname)
{
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);
	AttrNumber	attnum;
	Relation	depRel;
	ScanKeyData key[3];
	SysScanDesc scan;
	HeapTuple	tuple;

	if (!OidIsValid(relid) || colname == NULL)
		return;
	attnum = get_attnum(relid, colname);
	if (attnum == InvalidAttrNumber)
		return;

	depRel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[2], Anum_pg_depend_refobjsubid, BTEqualStrategyNumber,
				F_INT4EQ, Int32GetDatum((int32) attnum));
	scan = systable_beginscan(depRel, DependReferenceIndexId, true, NULL, 3, key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tuple);

		if (dep->classid == RelationRelationId &&
			trickle_classify_relation(dep->objid) != TRICKLE_RELATION_OTHER)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot alter type of a column used by a stream table"),
					 errdetail("Stream table \"%s\" depends on column \"%s\" of \"%s\".",
							   get_rel_name(dep->objid), colname, get_rel_name(relid)),
					 errhint("Drop the stream table with trickle.drop_stream_table(), alter the column, and create the stream table again.")));
	}
	systable_endscan(scan);
	table_close(depRel, AccessShareLock);
}

static void
check_alter_table(AlterTableStmt *stmt)
{
	bool		target_guarded = rangevar_is_guarded(stmt->relation);
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		/* a stream table may become neither a partition nor a child */
		if (cmd->subtype == AT_AttachPartition &&
			rangevar_is_guarded(((PartitionCmd *) cmd->def)->name))
			refuse_rangevar(((PartitionCmd *) cmd->def)->name,
							"attach as a partition", HINT_RECREATE);
		if (cmd->subtype == AT_AddInherit && IsA(cmd->def, RangeVar) &&
			rangevar_is_guarded((RangeVar *) cmd->def))
			refuse_rangevar((RangeVar *) cmd->def, "inherit from", HINT_RECREATE);
		if (cmd->subtype == AT_SetAccessMethod && cmd->name != NULL &&
			strcmp(cmd->name, TRICKLE_AM) == 0 && !guard_creating)
			ereport(ERROR,
					(errcode(TRICKLE_ERRCODE_READ_ONLY),
					 errmsg("access method \"%s\" is reserved for stream tables", TRICKLE_AM),
					 errdetail("Relation \"%s\" would become a stream table without a defining query.",
							   stmt->relation->relname),
					 errhint(HINT_CREATE)));
		if (cmd->subtype == AT_AlterColumnType && !target_guarded)
			check_alter_column_type(stmt->relation, cmd->name);
		if (target_guarded && !alter_table_subcommand_allowed(cmd->subtype))
			refuse_rangevar(stmt->relation, "alter", HINT_RECREATE);
	}
}

/*
 * check_create_am: refuse a table created with the trickle access method,
 * unless trickle creates it, or it comes from a dump (pg_dump selects the
 * access method with default_table_access_method and the table carries
 * __trickle_row_id; its catalog row follows in the dump's data).
 */
static void
check_create_am(const char *accessMethod, List *tableElts, const char *relname)
{
	ListCell   *lc;
	bool		has_row_id = false;

	if (guard_creating)
		return;
	if (accessMethod != NULL)
	{
		if (strcmp(accessMethod, TRICKLE_AM) != 0)
			return;
	}
	else
	{
		if (default_table_access_method == NULL ||
			strcmp(default_table_access_method, TRICKLE_AM) != 0)
			return;
		foreach(lc, tableElts)
		{
			Node	   *elt = lfirst(lc);

			if (IsA(elt, ColumnDef) &&
				strcmp(((ColumnDef *) elt)->colname, TRICKLE_ROW_ID) == 0)
				has_row_id = true;
		}
		if (has_row_id)
			return;
	}
	ereport(ERROR,
			(errcode(TRICKLE_ERRCODE_READ_ONLY),
			 errmsg("access method \"%s\" is reserved for stream tables", TRICKLE_AM),
			 errdetail("Relation \"%s\" would use it without a defining query.", relname),
			 errhint(HINT_CREATE)));
}

static void
check_utility(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_CopyStmt:
			{
				CopyStmt   *stmt = (CopyStmt *) parsetree;

				if (stmt->is_from && rangevar_is_guarded(stmt->relation))
					refuse_rangevar(stmt->relation, "copy into", HINT_CHANGE_SOURCES);
				break;
			}
		case T_TruncateStmt:
			foreach(lc, ((TruncateStmt *) parsetree)->relations)
			{
				if (rangevar_is_guarded(lfirst(lc)))
					refuse_rangevar(lfirst(lc), "truncate", HINT_CHANGE_SOURCES);
			}
			break;
		case T_AlterTableStmt:
			check_alter_table((AlterTableStmt *) parsetree);
			break;
		case T_RenameStmt:
			{
				RenameStmt *stmt = (RenameStmt *) parsetree;

				if (stmt->renameType == OBJECT_COLUMN &&
					rangevar_is_guarded(stmt->relation))
					refuse_rangevar(stmt->relation, "rename a column of", HINT_RECREATE);
				break;
			}
		case T_RuleStmt:
			if (rangevar_is_guarded(((RuleStmt *) parsetree)->relation))
				refuse_rangevar(((RuleStmt *) parsetree)->relation,
								"create a rule on", HINT_CHANGE_SOURCES);
			break;
		case T_CreateTrigStmt:
			{
				CreateTrigStmt *stmt = (CreateTrigStmt *) parsetree;

				if (stmt->row &&
					(stmt->timing & (TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_INSTEAD)) != 0 &&
					rangevar_is_guarded(stmt->relation))
					refuse_rangevar(stmt->relation, "create a BEFORE or INSTEAD OF row trigger on",
									"Row triggers that change rows would make the stream table differ from its query; use an AFTER trigger.");
				break;
			}
		case T_CreateStmt:
			{
				CreateStmt *stmt = (CreateStmt *) parsetree;

				foreach(lc, stmt->inhRelations)
				{
					if (rangevar_is_guarded(lfirst(lc)))
						refuse_rangevar(lfirst(lc), "inherit from", HINT_RECREATE);
				}
				check_create_am(stmt->accessMethod, stmt->tableElts,
								stmt->relation->relname);
				break;
			}
		case T_CreateTableAsStmt:
			{
				IntoClause *into = ((CreateTableAsStmt *) parsetree)->into;

				check_create_am(into->accessMethod, NIL, into->rel->relname);
				break;
			}
		default:
			break;
	}
}

static void
trickle_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	List	   *renamed = NIL;
	bool		installed = IsTransactionState() && OidIsValid(trickle_am_oid(true));

	if (installed)
	{
		check_utility(pstmt->utilityStmt);
		renamed = trickle_rename_prepare(pstmt->utilityStmt);
	}

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	trickle_rename_finish(renamed);
	if (installed)
		trickle_views_replaced(pstmt->utilityStmt);
}

/*
 * trickle_guard_init: install the hooks (from _PG_init at preload).
 */
void
trickle_guard_init(void)
{
	RegisterXactCallback(guard_xact_callback, NULL);
	RegisterSubXactCallback(guard_subxact_callback, NULL);
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = trickle_ExecutorStart;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = trickle_ProcessUtility;
}
