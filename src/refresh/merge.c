/*-------------------------------------------------------------------------
 *
 * merge.c
 *	  Applying new contents to a stream table.
 *
 * FULL: the defining query is run once and its result compared with the
 * current contents by __trickle_row_id; rows whose identity vanished are
 * deleted, rows whose identity is new are inserted, and rows whose identity
 * stays but whose binary image differs (record *=; this catches a value that
 * changed only in form, 1.0 to 1.00) are updated in place.  All three run in
 * one statement (data-modifying CTEs sharing one snapshot), each identity is
 * touched by at most one of them, and unchanged rows are not touched at all:
 * a FULL refresh neither blocks readers (no TRUNCATE, only row locks on
 * changed rows) nor doubles the heap.
 *
 * The three must run in that order, so that a user's unique index on a
 * stream table column sees a value freed by a deleted row before another row
 * takes it.  PostgreSQL does not order data-modifying CTEs, so the order is
 * made a data dependency: the UPDATE's WHERE clause needs count(*) of the
 * DELETE's output and the INSERT's needs the UPDATE's; each is a one-time
 * filter, evaluated (running the statement it counts to completion) before
 * the first row is written.  Deleted rows are invisible to the unique check
 * of the same transaction.
 *
 * A row's identity for a FULL stream table is trickle._row_id(hash of all
 * values, ordinal among rows with that hash) (src/refresh/rowid.c), which
 * keeps duplicate rows apart and maps the same result to the same
 * identities on every refresh.  A DIFFERENTIAL stream table's rows are
 * numbered within the hash class of their key columns instead, as its
 * deltas number them (src/refresh/codegen.c).
 *
 * The caller runs this as the stream table's owner under a fixed
 * search_path, holds a lock excluding other refreshes, and has told the
 * guard that this relation may be written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "fdw/fdw.h"
#include "refresh/refresh.h"
#include "trickle.h"

/* appends "prefix.c1, prefix.c2, ..." */
static void
append_columns(StringInfo buf, List *columns, const char *prefix)
{
	ListCell   *lc;

	foreach(lc, columns)
	{
		if (lc != list_head(columns))
			appendStringInfoString(buf, ", ");
		if (prefix)
			appendStringInfo(buf, "%s.", prefix);
		appendStringInfoString(buf, quote_identifier(((TrickleColumn *) lfirst(lc))->name));
	}
}

/* appends "ROW(a.c...)::record *= ROW(b.c...)::record" */
static void
append_same_image(StringInfo buf, List *columns, const char *a, const char *b)
{
	/* the casts make it one record comparison, not one per column */
	appendStringInfoString(buf, "ROW(");
	append_columns(buf, columns, a);
	appendStringInfoString(buf, ")::pg_catalog.record OPERATOR(pg_catalog.*=) ROW(");
	append_columns(buf, columns, b);
	appendStringInfoString(buf, ")::pg_catalog.record");
}

static int64
count_column(int column)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
								  column, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * trickle_full_apply: see refresh.h.
 */
void
trickle_full_apply(Oid relid, const char *source, List *columns, bool by_key,
				   List *keys, Snapshot snapshot, int64 *rows_inserted, int64 *rows_deleted)
{
	char	   *target = trickle_relation_qualified_name(relid);
	StringInfoData sql;
	ListCell   *lc;
	SPIPlanPtr	plan;

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH n AS (SELECT trickle.%s(h.__trickle_h, h.__trickle_n) AS %s, ",
					 by_key ? "_row_id_class" : "_row_id", TRICKLE_ROW_ID);
	append_columns(&sql, columns, "h");
	appendStringInfoString(&sql,
						   " FROM (SELECT q.*, pg_catalog.row_number() OVER (PARTITION BY q.__trickle_h)"
						   " AS __trickle_n FROM (SELECT d.*, ");
	if (by_key)
	{
		appendStringInfoString(&sql, "trickle._row_id_class(trickle._row_hash(ROW(");
		append_columns(&sql, keys, "d");
		appendStringInfoString(&sql, ")), 0)");
	}
	else
		appendStringInfoString(&sql, "trickle._row_hash(d.*)");
	appendStringInfo(&sql, " AS __trickle_h FROM (%s) d) q) h), ", source);

	/* rows whose identity is gone */
	appendStringInfo(&sql,
					 "del AS (DELETE FROM ONLY %s o WHERE NOT EXISTS"
					 " (SELECT FROM n WHERE n.%s = o.%s) RETURNING 1), ",
					 target, TRICKLE_ROW_ID, TRICKLE_ROW_ID);

	/* rows whose identity stays but whose values changed, if only in form */
	appendStringInfo(&sql, "upd AS (UPDATE ONLY %s o SET ", target);
	foreach(lc, columns)
	{
		const char *name = quote_identifier(((TrickleColumn *) lfirst(lc))->name);

		appendStringInfo(&sql, "%s%s = n.%s", lc == list_head(columns) ? "" : ", ",
						 name, name);
	}
	appendStringInfo(&sql, " FROM n WHERE (SELECT pg_catalog.count(*) FROM del) >= 0"
					 " AND o.%s = n.%s AND NOT ",
					 TRICKLE_ROW_ID, TRICKLE_ROW_ID);
	append_same_image(&sql, columns, "o", "n");
	appendStringInfoString(&sql, " RETURNING 1), ");

	/* new identities */
	appendStringInfo(&sql, "ins AS (INSERT INTO %s (", target);
	append_columns(&sql, columns, NULL);
	appendStringInfo(&sql, ", %s) SELECT ", TRICKLE_ROW_ID);
	append_columns(&sql, columns, "n");
	appendStringInfo(&sql, ", n.%s FROM n WHERE (SELECT pg_catalog.count(*) FROM upd) >= 0"
					 " AND NOT EXISTS (SELECT FROM ONLY %s o WHERE o.%s = n.%s) RETURNING 1) ",
					 TRICKLE_ROW_ID, target, TRICKLE_ROW_ID, TRICKLE_ROW_ID);

	/* an update counts as one row deleted and one inserted */
	appendStringInfoString(&sql,
						   "SELECT i.n + u.n, d.n + u.n"
						   " FROM (SELECT pg_catalog.count(*) AS n FROM ins) i,"
						   " (SELECT pg_catalog.count(*) AS n FROM upd) u,"
						   " (SELECT pg_catalog.count(*) AS n FROM del) d");

	plan = SPI_prepare(sql.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "could not plan the refresh of %s: %s", target,
			 SPI_result_code_string(SPI_result));
	if (SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot,
							 false, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "FULL refresh of %s returned no counts", target);
	SPI_freeplan(plan);
	*rows_inserted = count_column(1);
	*rows_deleted = count_column(2);
	pfree(sql.data);
}
