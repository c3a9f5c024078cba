/*-------------------------------------------------------------------------
 *
 * catalog_rows.c
 *	  The catalog rows every refresh reads and writes, without SPI.
 *
 * A steady differential refresh reads its trickle.catalog row and its
 * trickle.sources rows, then writes a trickle.refresh_history row and its
 * new frontier into the catalog row.  As SQL statements these cost a
 * refresh of a small change about a tenth of its time (executor start-up,
 * plan-cache checks and what they evict from the CPU caches), so they are
 * done here with index scans, table_tuple_insert and table_tuple_update,
 * and ExecInsertIndexTuples for the indexes.  The tables' CHECK constraints
 * are not evaluated (building their expressions for every refresh cost
 * more than the rest of the write): they only restrict text columns to
 * names trickle itself writes here from its own constants (action_names,
 * initiator_names, COMPLETED).  A table with triggers
 * (a user's, on the history for example) is written by the SQL statements
 * instead, so that its triggers fire; the foreign key's triggers on the
 * catalog are the exception (they act only when relid changes, which it
 * never does here).
 *
 * Visibility is SPI's for a statement that is not read-only: the command
 * counter is advanced first, so the rows this transaction wrote are seen,
 * and the snapshot is the transaction snapshot (a new one per call under
 * READ COMMITTED).  A row updated concurrently is treated as UPDATE treats
 * it: under READ COMMITTED the committed new version is found and updated,
 * under REPEATABLE READ and SERIALIZABLE the update fails with a
 * serialization failure.
 *
 * The tables' OIDs and column numbers are looked up by name once and kept
 * until a relcache invalidation names one of the tables (DROP EXTENSION,
 * ALTER TABLE, VACUUM and ANALYZE send one).  A missing column means that
 * the installed SQL objects are older than the library.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "catalog.h"
#include "errors.h"
#include "trickle.h"

/* the columns read and written here, by table */
typedef enum CatalogColumn
{
	CAT_RELID,
	CAT_QUERY,
	CAT_DEFINITION,
	CAT_SCHEDULE,
	CAT_REFRESH_MODE,
	CAT_EFFECTIVE_MODE,
	CAT_MODE_REASON,
	CAT_STATUS,
	CAT_IS_POPULATED,
	CAT_LAST_REFRESH_AT,
	CAT_CONSECUTIVE_ERRORS,
	CAT_FRONTIER_SYSID,
	CAT_FRONTIER_RELID,
	CAT_FRONTIER,
	CAT_FRONTIER_XID,
	CAT_FRONTIER_ORD,
	CAT_NCOLUMNS
} CatalogColumn;

static const char *const catalog_columns[CAT_NCOLUMNS] = {
	"relid", "query", "definition", "schedule", "refresh_mode", "effective_mode",
	"mode_reason", "status", "is_populated", "last_refresh_at", "consecutive_errors",
	"frontier_sysid", "frontier_relid", "frontier", "frontier_xid", "frontier_ord"
};

typedef enum HistoryColumn
{
	HIS_REFRESH_ID,
	HIS_STREAM_TABLE,
	HIS_STARTED_AT,
	HIS_FINISHED_AT,
	HIS_ACTION,
	HIS_STATUS,
	HIS_ROWS_INSERTED,
	HIS_ROWS_DELETED,
	HIS_INITIATED_BY,
	HIS_REASON,
	HIS_NCOLUMNS
} HistoryColumn;

static const char *const history_columns[HIS_NCOLUMNS] = {
	"refresh_id", "stream_table", "started_at", "finished_at", "action", "status",
	"rows_inserted", "rows_deleted", "initiated_by", "reason"
};

typedef struct CatalogTables
{
	bool		valid;
	bool		history_valid;	/* history_seq and his[] */
	Oid			catalog;
	Oid			sources;
	Oid			history;
	Oid			history_seq;	/* refresh_id's sequence */
	AttrNumber	cat[CAT_NCOLUMNS];
	AttrNumber	his[HIS_NCOLUMNS];
	AttrNumber	src_source;
} CatalogTables;

static CatalogTables tables;

/*
 * What trickle_classify_relation needs, kept apart: it runs in executor and
 * utility hooks, also while the extension's scripts are creating or
 * updating the tables (when the other columns may be missing).
 */
typedef struct ClassifyTables
{
	bool		valid;
	Oid			catalog;
	Oid			index;			/* its primary key */
	AttrNumber	sysid;
	AttrNumber	relid;
} ClassifyTables;

static ClassifyTables classify;
static bool callback_registered = false;

static void
tables_invalidate(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == tables.catalog || relid == tables.sources ||
		relid == tables.history)
		tables.valid = tables.history_valid = false;
	if (!OidIsValid(relid) || relid == classify.catalog)
		classify.valid = false;
}

static void
register_callback(void)
{
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(tables_invalidate, (Datum) 0);
		callback_registered = true;
	}
}

static Oid
table_oid(Oid nsp, const char *name)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", TRICKLE_SCHEMA, name),
				 errhint("Run CREATE EXTENSION trickle, or ALTER EXTENSION trickle UPDATE.")));
	return relid;
}

static AttrNumber
column(Oid relid, const char *name)
{
	AttrNumber	att = get_attnum(relid, name);

	if (att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						name, get_rel_name(relid)),
				 errdetail("The installed version of the extension is older than its library."),
				 errhint("Run ALTER EXTENSION trickle UPDATE.")));
	return att;
}

/* the catalog tables of this database, looked up when not known */
static CatalogTables *
catalog_tables(void)
{
	Oid			nsp;
	int			i;

	if (tables.valid)
		return &tables;
	register_callback();
	nsp = trickle_schema_oid();
	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"trickle\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION trickle.")));
	tables.catalog = table_oid(nsp, TRICKLE_CATALOG);
	tables.sources = table_oid(nsp, "sources");
	tables.history = table_oid(nsp, "refresh_history");
	for (i = 0; i < CAT_NCOLUMNS; i++)
		tables.cat[i] = column(tables.catalog, catalog_columns[i]);
	tables.src_source = column(tables.sources, "source");
	tables.valid = true;
	return &tables;
}

/*
 * history_tables: catalog_tables with the history's columns too (looked up
 * only to record a refresh: reading a stream table's rows works while an
 * ALTER EXTENSION UPDATE that adds one is pending)
 */
static CatalogTables *
history_tables(void)
{
	CatalogTables *t = catalog_tables();
	List	   *seqs;
	int			i;

	if (t->history_valid)
		return t;
	for (i = 0; i < HIS_NCOLUMNS; i++)
		t->his[i] = column(t->history, history_columns[i]);
	seqs = getOwnedSequences(t->history);
	if (list_length(seqs) != 1)
		elog(ERROR, "trickle.refresh_history should own one sequence, not %d",
			 list_length(seqs));
	t->history_seq = linitial_oid(seqs);
	t->history_valid = true;
	return t;
}

/*
 * trickle_classify_relation: is relid recorded in trickle.catalog, and is its
 * frontier its own?
 *
 * Reads the catalog's primary-key index with the current snapshot, or a
 * catalog snapshot when none is active (utility hooks run before one is
 * pushed for some statements).  OTHER while the extension is not installed
 * (or is being created).
 */
TrickleRelationKind
trickle_classify_relation(Oid relid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	TrickleRelationKind kind = TRICKLE_RELATION_OTHER;
	Snapshot	snapshot;

	if (!classify.valid)
	{
		Oid			nsp = trickle_schema_oid();

		register_callback();
		if (!OidIsValid(nsp))
			return kind;
		classify.catalog = get_relname_relid(TRICKLE_CATALOG, nsp);
		classify.index = get_relname_relid(TRICKLE_CATALOG "_pkey", nsp);
		if (!OidIsValid(classify.catalog) || !OidIsValid(classify.index))
			return kind;
		classify.sysid = get_attnum(classify.catalog, "frontier_sysid");
		classify.relid = get_attnum(classify.catalog, "frontier_relid");
		if (classify.sysid == InvalidAttrNumber || classify.relid == InvalidAttrNumber)
			return kind;
		classify.valid = true;
	}

	/* dropped since (DROP EXTENSION in another session): not a stream table */
	rel = try_table_open(classify.catalog, AccessShareLock);
	if (rel == NULL)
	{
		classify.valid = false;
		return kind;
	}
	snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() : GetCatalogSnapshot(classify.catalog);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, classify.index, true, snapshot, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		int64		sysid;
		Oid			frontier_relid;

		sysid = DatumGetInt64(heap_getattr(tuple, classify.sysid, desc, &isnull));
		frontier_relid = DatumGetObjectId(heap_getattr(tuple, classify.relid, desc, &isnull));
		if (sysid == (int64) GetSystemIdentifier() && frontier_relid == relid)
			kind = TRICKLE_RELATION_STREAM_TABLE;
		else
			kind = TRICKLE_RELATION_RESTORED;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return kind;
}

/*
 * read_snapshot: the snapshot an SPI statement that is not read-only would
 * read with, after advancing the command counter as it would
 */
static Snapshot
read_snapshot(void)
{
	CommandCounterIncrement();
	return RegisterSnapshot(GetTransactionSnapshot());
}

static char *
text_or_null(TupleTableSlot *slot, AttrNumber att)
{
	return slot->tts_isnull[att - 1] ? NULL : TextDatumGetCString(slot->tts_values[att - 1]);
}

/*
 * A scan of a catalog table's rows whose primary key starts with one oid,
 * with read_snapshot's snapshot
 */
typedef struct KeyScan
{
	Snapshot	snapshot;
	Relation	rel;
	Relation	index;
	TupleTableSlot *slot;
	IndexScanDesc scan;
} KeyScan;

static void
key_scan_begin(KeyScan *ks, Oid table, Oid key)
{
	ScanKeyData skey;

	ks->snapshot = read_snapshot();
	ks->rel = table_open(table, AccessShareLock);
	ks->index = index_open(RelationGetPrimaryKeyIndex(ks->rel), AccessShareLock);
	ks->slot = table_slot_create(ks->rel, NULL);
	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(key));
	ks->scan = index_beginscan(ks->rel, ks->index, ks->snapshot, 1, 0);
	index_rescan(ks->scan, &skey, 1, NULL, 0);
}

/* the next row, deformed, in ks->slot; false at the end */
static bool
key_scan_next(KeyScan *ks)
{
	if (!index_getnext_slot(ks->scan, ForwardScanDirection, ks->slot))
		return false;
	slot_getallattrs(ks->slot);
	return true;
}

static void
key_scan_end(KeyScan *ks)
{
	index_endscan(ks->scan);
	ExecDropSingleTupleTableSlot(ks->slot);
	index_close(ks->index, AccessShareLock);
	table_close(ks->rel, AccessShareLock);
	UnregisterSnapshot(ks->snapshot);
}

/*
 * trickle_catalog_load: fill *st from relid's row of trickle.catalog; false
 * if there is none.  Strings are palloc'd in the caller's context.
 */
bool
trickle_catalog_load(Oid relid, TrickleStreamTable *st)
{
	CatalogTables *t = catalog_tables();
	KeyScan		ks;
	bool		found;

	key_scan_begin(&ks, t->catalog, relid);
	found = key_scan_next(&ks);
	if (found)
	{
		TupleTableSlot *slot = ks.slot;
		const AttrNumber *c = t->cat;

		st->relid = relid;
		st->query = text_or_null(slot, c[CAT_QUERY]);
		st->definition = text_or_null(slot, c[CAT_DEFINITION]);
		st->schedule = text_or_null(slot, c[CAT_SCHEDULE]);
		st->refresh_mode = text_or_null(slot, c[CAT_REFRESH_MODE]);
		st->effective_mode = text_or_null(slot, c[CAT_EFFECTIVE_MODE]);
		st->mode_reason = text_or_null(slot, c[CAT_MODE_REASON]);
		st->status = text_or_null(slot, c[CAT_STATUS]);
		st->is_populated = DatumGetBool(slot->tts_values[c[CAT_IS_POPULATED] - 1]);
		st->frontier_sysid = DatumGetInt64(slot->tts_values[c[CAT_FRONTIER_SYSID] - 1]);
		st->frontier_relid = DatumGetObjectId(slot->tts_values[c[CAT_FRONTIER_RELID] - 1]);
		st->frontier = slot->tts_isnull[c[CAT_FRONTIER] - 1] ? NULL :
			DatumGetCString(DirectFunctionCall1(pg_snapshot_out,
												slot->tts_values[c[CAT_FRONTIER] - 1]));
		st->frontier_xid = slot->tts_isnull[c[CAT_FRONTIER_XID] - 1] ? 0 :
			U64FromFullTransactionId(DatumGetFullTransactionId(slot->tts_values[c[CAT_FRONTIER_XID] - 1]));
		st->frontier_ord = slot->tts_isnull[c[CAT_FRONTIER_ORD] - 1] ? 0 :
			DatumGetInt64(slot->tts_values[c[CAT_FRONTIER_ORD] - 1]);
	}
	key_scan_end(&ks);
	return found;
}

/* trickle_catalog_sources: the sources recorded for stream table relid */
List *
trickle_catalog_sources(Oid relid)
{
	CatalogTables *t = catalog_tables();
	KeyScan		ks;
	List	   *sources = NIL;

	/* the primary key is (relid, source) */
	key_scan_begin(&ks, t->sources, relid);
	while (key_scan_next(&ks))
		sources = lappend_oid(sources,
							  DatumGetObjectId(ks.slot->tts_values[t->src_source - 1]));
	key_scan_end(&ks);
	return sources;
}

/* ---------------------------------------------------------------------
 * Writing rows
 * ---------------------------------------------------------------------
 */

typedef struct RowWriter
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *old;
	TupleTableSlot *new;
} RowWriter;

static void
writer_open(RowWriter *w, Oid relid)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	w->rel = table_open(relid, RowExclusiveLock);
	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = w->rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(w->estate, list_make1(rte));
	InitResultRelInfo(w->rri, w->rel, 1, NULL, 0);
	ExecOpenIndices(w->rri, false);
	w->old = ExecInitExtraTupleSlot(w->estate, RelationGetDescr(w->rel),
									table_slot_callbacks(w->rel));
	w->new = ExecInitExtraTupleSlot(w->estate, RelationGetDescr(w->rel), &TTSOpsVirtual);
}

static void
writer_close(RowWriter *w)
{
	ExecCloseIndices(w->rri);
	ExecResetTupleTable(w->estate->es_tupleTable, false);
	FreeExecutorState(w->estate);
	table_close(w->rel, NoLock);
}

/* sets the new version's columns from the old one's (both deformed) */
typedef bool (*RowChange) (TupleTableSlot *old, TupleTableSlot *new, void *arg);

/*
 * update_row: finds the row whose primary key's first column is key and
 * rewrites it with change, as UPDATE ... WHERE would (see the file
 * comment for a row updated concurrently).  change may decline the row
 * (the rest of a WHERE clause).  Returns whether a row was written.
 */
static bool
update_row(RowWriter *w, Datum key, RegProcedure eqproc, RowChange change, void *arg)
{
	Relation	index = index_open(RelationGetPrimaryKeyIndex(w->rel), AccessShareLock);
	Snapshot	snapshot = read_snapshot();
	bool		written = false;

	for (;;)
	{
		IndexScanDesc scan;
		ScanKeyData skey;
		bool		found;
		TM_Result	result;
		TM_FailureData tmfd;
		LockTupleMode lockmode;
		bool		update_indexes;
		TupleDesc	desc = RelationGetDescr(w->rel);

		ScanKeyInit(&skey, 1, BTEqualStrategyNumber, eqproc, key);
		scan = index_beginscan(w->rel, index, snapshot, 1, 0);
		index_rescan(scan, &skey, 1, NULL, 0);
		found = index_getnext_slot(scan, ForwardScanDirection, w->old);
		index_endscan(scan);
		if (!found)
			break;

		slot_getallattrs(w->old);
		ExecClearTuple(w->new);
		memcpy(w->new->tts_values, w->old->tts_values, sizeof(Datum) * desc->natts);
		memcpy(w->new->tts_isnull, w->old->tts_isnull, sizeof(bool) * desc->natts);
		if (!change(w->old, w->new, arg))
			break;
		ExecStoreVirtualTuple(w->new);
		CheckCmdReplicaIdentity(w->rel, CMD_UPDATE);
		result = table_tuple_update(w->rel, &w->old->tts_tid, w->new,
									GetCurrentCommandId(true), snapshot, InvalidSnapshot,
									true, &tmfd, &lockmode, &update_indexes);
		if (result == TM_Ok)
		{
			if (update_indexes && w->rri->ri_NumIndices > 0)
				list_free(ExecInsertIndexTuples(w->rri, w->new, w->estate, true, false,
												NULL, NIL));
			written = true;
			break;
		}
		if (result != TM_Updated && result != TM_Deleted)
			elog(ERROR, "unexpected result %d updating a row of \"%s\"",
				 (int) result, RelationGetRelationName(w->rel));
		if (IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
		/* committed by another transaction since: find its version */
		UnregisterSnapshot(snapshot);
		snapshot = RegisterSnapshot(GetLatestSnapshot());
	}
	UnregisterSnapshot(snapshot);
	index_close(index, AccessShareLock);
	return written;
}

/* ---------------------------------------------------------------------
 * Recording a refresh
 * ---------------------------------------------------------------------
 */

static void
set_text(TupleTableSlot *slot, AttrNumber att, const char *value)
{
	slot->tts_isnull[att - 1] = value == NULL;
	slot->tts_values[att - 1] = value ? CStringGetTextDatum(value) : (Datum) 0;
}

static void
set_datum(TupleTableSlot *slot, AttrNumber att, Datum value)
{
	slot->tts_isnull[att - 1] = false;
	slot->tts_values[att - 1] = value;
}

/* the history columns a refresh sets; the others keep their value */
static void
set_history(TupleTableSlot *slot, const TrickleRefreshRecord *rec)
{
	const AttrNumber *h = tables.his;

	set_datum(slot, h[HIS_FINISHED_AT], TimestampTzGetDatum(GetCurrentTimestamp()));
	set_text(slot, h[HIS_ACTION], rec->action);
	set_text(slot, h[HIS_STATUS], "COMPLETED");
	set_datum(slot, h[HIS_ROWS_INSERTED], Int64GetDatum(rec->rows_inserted));
	set_datum(slot, h[HIS_ROWS_DELETED], Int64GetDatum(rec->rows_deleted));
	set_text(slot, h[HIS_REASON], rec->reason);
}

/* a refresh worker's RUNNING row, completed (its WHERE clause checked) */
static bool
complete_history(TupleTableSlot *old, TupleTableSlot *new, void *arg)
{
	const TrickleRefreshRecord *rec = arg;
	const AttrNumber *h = tables.his;
	char	   *initiator;

	if (DatumGetObjectId(old->tts_values[h[HIS_STREAM_TABLE] - 1]) != rec->relid ||
		old->tts_isnull[h[HIS_INITIATED_BY] - 1])
		return false;
	initiator = TextDatumGetCString(old->tts_values[h[HIS_INITIATED_BY] - 1]);
	if (strcmp(initiator, rec->initiated_by) != 0)
		return false;
	set_history(new, rec);
	return true;
}

/* the stream table's new frontier */
static bool
advance_frontier(TupleTableSlot *old, TupleTableSlot *new, void *arg)
{
	const TrickleRefreshRecord *rec = arg;
	const AttrNumber *c = tables.cat;

	set_datum(new, c[CAT_IS_POPULATED], BoolGetDatum(true));
	set_datum(new, c[CAT_LAST_REFRESH_AT], TimestampTzGetDatum(rec->started));
	set_datum(new, c[CAT_CONSECUTIVE_ERRORS], Int32GetDatum(0));
	set_datum(new, c[CAT_FRONTIER_SYSID], Int64GetDatum((int64) GetSystemIdentifier()));
	set_datum(new, c[CAT_FRONTIER_RELID], ObjectIdGetDatum(rec->relid));
	new->tts_isnull[c[CAT_FRONTIER] - 1] = rec->frontier == NULL;
	new->tts_values[c[CAT_FRONTIER] - 1] = rec->frontier == NULL ? (Datum) 0 :
		DirectFunctionCall1(pg_snapshot_in, CStringGetDatum(rec->frontier));
	new->tts_isnull[c[CAT_FRONTIER_XID] - 1] = rec->frontier == NULL || rec->frontier_xid == 0;
	new->tts_values[c[CAT_FRONTIER_XID] - 1] =
		FullTransactionIdGetDatum(FullTransactionIdFromU64(rec->frontier_xid));
	set_datum(new, c[CAT_FRONTIER_ORD], Int64GetDatum(rec->frontier_ord));
	return true;
}

/*
 * fires_triggers: whether writing rel's rows here would have to fire a
 * trigger.  The referenced side of trickle.sources' foreign key puts
 * triggers on trickle.catalog that act only when relid changes, which it
 * never does here.
 */
static bool
fires_triggers(Relation rel)
{
	int			i;

	for (i = 0; rel->trigdesc != NULL && i < rel->trigdesc->numtriggers; i++)
	{
		if (RI_FKey_trigger_type(rel->trigdesc->triggers[i].tgfoid) != RI_TRIGGER_PK)
			return true;
	}
	return false;
}

/* whether a column of rel other than except has a default or is generated */
static bool
other_defaults(Relation rel, AttrNumber except)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (i + 1 != except && !att->attisdropped && (att->atthasdef || att->attgenerated))
			return true;
	}
	return false;
}

/*
 * the same, as SQL: for tables with triggers, which must fire, or with
 * defaults this file does not know of
 */
static void
record_by_sql(const TrickleRefreshRecord *rec)
{
	Oid			types[12] = {OIDOID, TIMESTAMPTZOID, TEXTOID, INT8OID, INT8OID, TEXTOID,
		TEXTOID, INT8OID, TEXTOID, XID8OID, INT8OID, INT8OID};
	Datum		values[12];
	char		nulls[12] = "            ";

	values[0] = ObjectIdGetDatum(rec->relid);
	values[1] = TimestampTzGetDatum(rec->started);
	values[2] = CStringGetTextDatum(rec->action);
	values[3] = Int64GetDatum(rec->rows_inserted);
	values[4] = Int64GetDatum(rec->rows_deleted);
	values[5] = CStringGetTextDatum(rec->initiated_by);
	if (rec->reason)
		values[6] = CStringGetTextDatum(rec->reason);
	else
		nulls[6] = 'n';
	values[7] = Int64GetDatum((int64) GetSystemIdentifier());
	if (rec->frontier)
		values[8] = CStringGetTextDatum(rec->frontier);
	else
		nulls[8] = 'n';
	if (rec->frontier && rec->frontier_xid != 0)
		values[9] = FullTransactionIdGetDatum(FullTransactionIdFromU64(rec->frontier_xid));
	else
		nulls[9] = 'n';
	values[10] = Int64GetDatum(rec->frontier_ord);
	values[11] = Int64GetDatum(rec->history_id);

#define RECORD_FRONTIER \
	" UPDATE trickle.catalog SET is_populated = true, last_refresh_at = $2," \
	" consecutive_errors = 0, frontier_sysid = $8, frontier_relid = $1," \
	" frontier = $9::pg_catalog.pg_snapshot, frontier_xid = $10, frontier_ord = $11" \
	" WHERE relid = $1"
	if (rec->history_id != 0)
		trickle_catalog_exec_kept("WITH h AS (UPDATE trickle.refresh_history SET status = 'COMPLETED',"
								  " finished_at = pg_catalog.clock_timestamp(), action = $3,"
								  " rows_inserted = $4, rows_deleted = $5, reason = $7"
								  " WHERE refresh_id = $12 AND stream_table = $1 AND initiated_by = $6)"
								  RECORD_FRONTIER,
								  12, types, values, nulls);
	else
		trickle_catalog_exec_kept("WITH h AS (INSERT INTO trickle.refresh_history (stream_table,"
								  " started_at, finished_at, action, status, rows_inserted,"
								  " rows_deleted, initiated_by, reason)"
								  " VALUES ($1, $2, pg_catalog.clock_timestamp(), $3, 'COMPLETED', $4, $5,"
								  " $6, $7))"
								  RECORD_FRONTIER,
								  12, types, values, nulls);
#undef RECORD_FRONTIER
}

/*
 * trickle_catalog_record_refresh: the refresh's history row (a refresh
 * worker's RUNNING row completed, or a new one) and the stream table's new
 * frontier.  The rows this transaction wrote before are seen, and the
 * writes are visible to what follows.
 */
void
trickle_catalog_record_refresh(const TrickleRefreshRecord *rec)
{
	CatalogTables *t = history_tables();
	RowWriter	history;
	RowWriter	catalog;

	writer_open(&history, t->history);
	writer_open(&catalog, t->catalog);
	if (fires_triggers(history.rel) || fires_triggers(catalog.rel) ||
		(rec->history_id == 0 && other_defaults(history.rel, t->his[HIS_REFRESH_ID])))
	{
		writer_close(&catalog);
		writer_close(&history);
		record_by_sql(rec);
		return;
	}

	if (rec->history_id != 0)
		(void) update_row(&history, Int64GetDatum(rec->history_id), F_INT8EQ,
						  complete_history, (void *) rec);
	else
	{
		TupleTableSlot *row = history.new;
		int			natts = RelationGetDescr(history.rel)->natts;
		const AttrNumber *h = t->his;

		/* every column not set is NULL (no other has a default) */
		ExecClearTuple(row);
		memset(row->tts_isnull, true, sizeof(bool) * natts);
		set_datum(row, h[HIS_REFRESH_ID], Int64GetDatum(nextval_internal(t->history_seq, false)));
		set_datum(row, h[HIS_STREAM_TABLE], ObjectIdGetDatum(rec->relid));
		set_datum(row, h[HIS_STARTED_AT], TimestampTzGetDatum(rec->started));
		set_text(row, h[HIS_INITIATED_BY], rec->initiated_by);
		set_history(row, rec);
		ExecStoreVirtualTuple(row);
		CommandCounterIncrement();
		history.estate->es_output_cid = GetCurrentCommandId(true);
		simple_table_tuple_insert(history.rel, row);
		if (history.rri->ri_NumIndices > 0)
			list_free(ExecInsertIndexTuples(history.rri, row, history.estate, false, false,
											NULL, NIL));
	}
	(void) update_row(&catalog, ObjectIdGetDatum(rec->relid), F_OIDEQ,
					  advance_frontier, (void *) rec);
	writer_close(&catalog);
	writer_close(&history);
	CommandCounterIncrement();
}
