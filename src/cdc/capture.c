/*-------------------------------------------------------------------------
 *
 * capture.c
 *	  trickle._capture(): the statement trigger that fills change buffers.
 *
 * Every captured source carries four internal AFTER ... FOR EACH STATEMENT
 * triggers (src/cdc/buffer.c): INSERT with a NEW TABLE, UPDATE with OLD and
 * NEW TABLEs, DELETE with an OLD TABLE, and TRUNCATE.  All four call this
 * function, whose one argument is the payload (src/cdc/payload.c): which
 * buffer to write and which columns to copy.  One INSERT ... SELECT copies
 * the whole transition table into the buffer: deleted rows with weight -1,
 * inserted rows with +1, an UPDATE as both.  TRUNCATE writes one marker row
 * (weight 0), which makes the next refresh of each consumer recompute it.
 *
 * Rows carry the top-level transaction's full xid, even when written inside
 * a subtransaction: snapshots list top-level xids only, and a rolled-back
 * subtransaction's buffer rows vanish with it.  __ord numbers the changes of
 * one transaction; a transaction runs in one backend, so a backend-local
 * counter keeps (__xid, __ord) unique.
 *
 * The INSERT runs as the buffer's owner (the extension's owner; the writing
 * user has no rights on it), with every name and operator qualified, from a
 * plan prepared once per trigger and statement text.
 *
 * The triggers of a partition or inheritance child (payload flag 'p') write
 * into the root's buffer, mapping their columns onto the root's (tree.c).
 * Before copying, such a trigger checks that its table is still attached
 * to the root: a partition being detached CONCURRENTLY keeps its triggers
 * until the second transaction of the detach, while queries on the root
 * have stopped reading it; its changes then write a marker instead, which
 * makes the consumers recompute.  trickle_capture_mark writes such markers
 * for DDL and MERGE (ddl.c), numbered with the same counter.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/xid8.h"

#include "cdc/cdc.h"
#include "sched/sched.h"
#include "cdc/payload.h"
#include "errors.h"
#include "fdw/fdw.h"
#include "trickle.h"

/* the transaction whose changes are being numbered, and the last number */
static FullTransactionId ord_xid;
static int64 ord_last;

/* prepared INSERTs, one per trigger */
typedef struct CapturePlan
{
	Oid			tgoid;			/* hash key */
	char	   *sql;			/* in TopMemoryContext */
	SPIPlanPtr	plan;
} CapturePlan;

static HTAB *capture_plans = NULL;

/*
 * trickle_capture_position: the current top-level transaction (invalid when
 * it has no xid) and the last change number it captured.
 */
void
trickle_capture_position(FullTransactionId *xid, int64 *ord)
{
	*xid = GetTopFullTransactionIdIfAny();
	*ord = FullTransactionIdIsValid(*xid) &&
		FullTransactionIdEquals(*xid, ord_xid) ? ord_last : 0;
}

static void
append_local_columns(StringInfo sql, Relation rel, const TricklePayload *p,
					 const char *alias)
{
	int			i;

	for (i = 0; i < p->ncolumns; i++)
	{
		int			attnum = p->columns[i].local_attnum;
		Form_pg_attribute att;

		if (attnum > RelationGetDescr(rel)->natts ||
			(att = TupleDescAttr(RelationGetDescr(rel), attnum - 1))->attisdropped)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("capture trigger of \"%s\" names column %d, which does not exist",
							RelationGetRelationName(rel), attnum),
					 errhint("Recreate the stream tables that read \"%s\".",
							 RelationGetRelationName(rel))));
		appendStringInfo(sql, ", %s.%s", alias, quote_identifier(NameStr(att->attname)));
	}
}

/*
 * capture_sql: the statement copying this trigger's transition tables (or
 * writing a marker) into the buffer.  $1 is the xid, $2 the last number used.
 */
static char *
capture_sql(TriggerData *td, const TricklePayload *p)
{
	StringInfoData sql;
	TriggerEvent event = td->tg_event;
	Trigger    *tg = td->tg_trigger;
	int			i;

	initStringInfo(&sql);
	appendStringInfo(&sql, "INSERT INTO %s (__xid, __ord, __w",
					 trickle_buffer_name(p->buffer_oid));
	if (TRIGGER_FIRED_BY_TRUNCATE(event) || p->mark_only)
	{
		appendStringInfoString(&sql, ") VALUES ($1, $2 OPERATOR(pg_catalog.+) 1, 0)");
		return sql.data;
	}
	for (i = 0; i < p->ncolumns; i++)
		appendStringInfo(&sql, ", %s", trickle_buffer_column(p->columns[i].buffer_attnum));
	appendStringInfoString(&sql, ") SELECT $1, $2 OPERATOR(pg_catalog.+) pg_catalog.row_number() OVER (), c.w");
	for (i = 0; i < p->ncolumns; i++)
		appendStringInfo(&sql, ", c.c%d", i);
	appendStringInfoString(&sql, " FROM (");
	if (TRIGGER_FIRED_BY_DELETE(event) || TRIGGER_FIRED_BY_UPDATE(event))
	{
		appendStringInfoString(&sql, "SELECT -1 AS w");
		append_local_columns(&sql, td->tg_relation, p, "o");
		appendStringInfo(&sql, " FROM %s o", quote_identifier(tg->tgoldtable));
	}
	if (TRIGGER_FIRED_BY_UPDATE(event))
		appendStringInfoString(&sql, " UNION ALL ");
	if (TRIGGER_FIRED_BY_INSERT(event) || TRIGGER_FIRED_BY_UPDATE(event))
	{
		appendStringInfoString(&sql, "SELECT 1 AS w");
		append_local_columns(&sql, td->tg_relation, p, "n");
		appendStringInfo(&sql, " FROM %s n", quote_identifier(tg->tgnewtable));
	}
	appendStringInfoString(&sql, ") c(w");
	for (i = 0; i < p->ncolumns; i++)
		appendStringInfo(&sql, ", c%d", i);
	appendStringInfoChar(&sql, ')');
	return sql.data;
}

static SPIPlanPtr
capture_plan(TriggerData *td, const TricklePayload *p)
{
	Oid			argtypes[2] = {XID8OID, INT8OID};
	char	   *sql = capture_sql(td, p);
	CapturePlan *entry;
	bool		found;

	if (capture_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CapturePlan);
		capture_plans = hash_create("trickle capture plans", 64, &ctl,
									HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(capture_plans, &td->tg_trigger->tgoid, HASH_ENTER, &found);
	if (found && strcmp(entry->sql, sql) == 0)
		return entry->plan;
	if (found)
	{
		pfree(entry->sql);
		SPI_freeplan(entry->plan);
	}
	entry->sql = NULL;
	entry->plan = SPI_prepare(sql, 2, argtypes);
	if (entry->plan == NULL || SPI_keepplan(entry->plan) != 0)
	{
		hash_search(capture_plans, &td->tg_trigger->tgoid, HASH_REMOVE, NULL);
		elog(ERROR, "could not prepare change capture: %s", SPI_result_code_string(SPI_result));
	}
	entry->sql = MemoryContextStrdup(TopMemoryContext, sql);
	return entry->plan;
}

/*
 * update_changed_nothing: whether an UPDATE left every captured column of
 * every row it changed as it was (the same bytes, or NULL and NULL).  Each
 * of its rows would then be a -1/+1 pair of equal buffer rows, which
 * cancels in every consumer (each reads only captured columns: see
 * src/ivm/recompute.c add_columns_read), yet costs every join it enters
 * a probe per matching row; an UPDATE of a column no stream table reads
 * (pgbench's branch balance) writes nothing.
 *
 * The transition tables hold the old and the new version of each row at
 * the same position.  An UPDATE that moved a row into a partition whose
 * BEFORE trigger skipped the insert leaves them of unequal length: then
 * the rows are written as usual.  Reading stops at the first row that
 * changed, so an UPDATE of captured columns pays one comparison.
 */
static bool
update_changed_nothing(TriggerData *td, const TricklePayload *p)
{
	Tuplestorestate *olds = td->tg_oldtable;
	Tuplestorestate *news = td->tg_newtable;
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	TupleTableSlot *o;
	TupleTableSlot *n;
	bool		same = true;

	if (olds == NULL || news == NULL ||
		tuplestore_tuple_count(olds) != tuplestore_tuple_count(news))
		return false;
	/* read pointers of our own: SPI's scans select theirs */
	tuplestore_select_read_pointer(olds, tuplestore_alloc_read_pointer(olds, EXEC_FLAG_REWIND));
	tuplestore_select_read_pointer(news, tuplestore_alloc_read_pointer(news, EXEC_FLAG_REWIND));
	tuplestore_rescan(olds);
	tuplestore_rescan(news);
	o = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	n = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	while (same && tuplestore_gettupleslot(olds, true, false, o))
	{
		int			i;

		if (!tuplestore_gettupleslot(news, true, false, n))
		{
			same = false;
			break;
		}
		for (i = 0; i < p->ncolumns && same; i++)
		{
			int			attnum = p->columns[i].local_attnum;
			Form_pg_attribute att;
			bool		onull;
			bool		nnull;
			Datum		od;
			Datum		nd;

			if (attnum < 1 || attnum > desc->natts)
			{
				/* written as usual, which reports the bad payload */
				same = false;
				break;
			}
			att = TupleDescAttr(desc, attnum - 1);
			od = slot_getattr(o, attnum, &onull);
			nd = slot_getattr(n, attnum, &nnull);
			same = onull == nnull &&
				(onull || datum_image_eq(od, nd, att->attbyval, att->attlen));
		}
	}
	ExecDropSingleTupleTableSlot(o);
	ExecDropSingleTupleTableSlot(n);
	return same;
}

/*
 * next_position: the current top-level transaction's full xid in *xid and
 * the last change number it used; the caller adds what it writes to
 * ord_last.
 */
static int64
next_position(FullTransactionId *xid)
{
	*xid = GetTopFullTransactionId();
	if (!FullTransactionIdEquals(*xid, ord_xid))
	{
		ord_xid = *xid;
		ord_last = 0;
	}
	return ord_last;
}

/*
 * trickle_capture_mark: write a marker (weight 0) into source's buffer, if
 * it has one, so that the next refresh of each consumer recomputes it
 * (REINITIALIZE): rows entered or left the source without a trigger
 * seeing them.  Runs as the buffer's owner; needs no SPI connection.
 */
void
trickle_capture_mark(Oid source)
{
	Oid			buffer = trickle_buffer_relid(source);
	Oid			argtypes[2] = {XID8OID, INT8OID};
	Datum		values[2];
	FullTransactionId xid;
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	if (!OidIsValid(buffer))
		return;
	values[1] = Int64GetDatum(next_position(&xid));
	values[0] = FullTransactionIdGetDatum(xid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(trickle_relation_owner(buffer),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_with_args(psprintf("INSERT INTO %s (__xid, __ord, __w)"
										" VALUES ($1, $2 OPERATOR(pg_catalog.+) 1, 0)",
										trickle_buffer_name(source)),
							   2, argtypes, values, NULL, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not write a marker into the change buffer of relation %u: %s",
			 source, SPI_result_code_string(rc));
	ord_last++;
	SPI_finish();
	trickle_sched_note_capture(source);
}

PG_FUNCTION_INFO_V1(trickle_capture);

Datum
trickle_capture(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TricklePayload *payload;
	char		err[256];
	FullTransactionId xid;
	Datum		values[2];
	Oid			save_userid;
	int			save_sec_context;
	Oid			buffer;
	int			rc;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trickle._capture() must be called by trickle's capture triggers"),
				 errhint("trickle creates these triggers itself; do not attach the function to a trigger.")));

	payload = palloc(sizeof(TricklePayload));
	if (!trickle_payload_parse(td->tg_trigger->tgargs[0], payload, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("invalid capture trigger payload on \"%s\": %s",
						RelationGetRelationName(td->tg_relation), err),
				 errhint("Recreate the stream tables that read \"%s\".",
						 RelationGetRelationName(td->tg_relation))));

	/* nothing to copy (an empty transition table) */
	if (!TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) && !payload->mark_only &&
		(td->tg_newtable == NULL || tuplestore_tuple_count(td->tg_newtable) == 0) &&
		(td->tg_oldtable == NULL || tuplestore_tuple_count(td->tg_oldtable) == 0))
		return PointerGetDatum(NULL);

	/* an UPDATE of columns no consumer reads */
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) && !payload->mark_only &&
		update_changed_nothing(td, payload))
	{
		pfree(payload);
		return PointerGetDatum(NULL);
	}

	/* a member no longer (or not quite) in the root's tree: recompute */
	if (payload->partition && !TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) &&
		!trickle_cdc_attached(RelationGetRelid(td->tg_relation), payload->buffer_oid))
	{
		trickle_capture_mark(payload->buffer_oid);
		pfree(payload);
		return PointerGetDatum(NULL);
	}

	values[1] = Int64GetDatum(next_position(&xid));
	values[0] = FullTransactionIdGetDatum(xid);

	buffer = trickle_buffer_relid(payload->buffer_oid);
	if (!OidIsValid(buffer))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("change buffer of \"%s\" does not exist",
						RelationGetRelationName(td->tg_relation)),
				 errhint("Recreate the stream tables that read \"%s\".",
						 RelationGetRelationName(td->tg_relation))));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_register_trigger_data(td) != SPI_OK_TD_REGISTER)
		elog(ERROR, "could not register transition tables");
	/* as the buffer's owner; an error restores the user with the abort */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(trickle_relation_owner(buffer),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	rc = SPI_execute_plan(capture_plan(td, payload), values, NULL, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "change capture failed: %s", SPI_result_code_string(rc));
	ord_last += SPI_processed;
	SPI_finish();
	trickle_sched_note_capture(payload->buffer_oid);
	pfree(payload);
	return PointerGetDatum(NULL);
}
