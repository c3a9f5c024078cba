/*-------------------------------------------------------------------------
 *
 * rename.c
 *	  Keeping stored definitions in step with renamed objects.
 *
 * A stream table's definition is stored as schema-qualified SQL text.  A
 * view survives ALTER ... RENAME because it stores a parse tree, which names
 * objects by OID; our text would go stale.  So around every RENAME and SET
 * SCHEMA statement (the guard's utility hook calls us), the stored
 * definitions are analysed before the statement runs, and deparsed again
 * after it: the trees still point at the same objects, now printed under
 * their new names.  Only definitions whose text changed are rewritten.
 *
 * Cost: one parse analysis per stream table of the database per such
 * statement, which is rare DDL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/builtins.h"

#include "api/api.h"
#include "catalog.h"
#include "trickle.h"

typedef struct StoredDefinition
{
	Oid			relid;
	char	   *definition;
	Query	   *query;
} StoredDefinition;

/*
 * trickle_rename_prepare: for a statement that may rename an object a
 * definition names, return the analysed definitions (in the caller's memory
 * context); NIL otherwise.
 */
List *
trickle_rename_prepare(Node *stmt)
{
	List	   *defs = NIL;
	MemoryContext caller = CurrentMemoryContext;
	ListCell   *lc;
	uint64		i;

	if (!IsA(stmt, RenameStmt) && !IsA(stmt, AlterObjectSchemaStmt))
		return NIL;
	if (!OidIsValid(trickle_schema_oid()))
		return NIL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT relid::pg_catalog.oid, definition FROM trickle.catalog",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read trickle.catalog");
	for (i = 0; i < SPI_processed; i++)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);
		StoredDefinition *def = palloc0(sizeof(StoredDefinition));
		bool		isnull;

		def->relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1, &isnull));
		def->definition = pstrdup(SPI_getvalue(SPI_tuptable->vals[i],
											   SPI_tuptable->tupdesc, 2));
		defs = lappend(defs, def);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();

	foreach(lc, defs)
	{
		StoredDefinition *def = lfirst(lc);

		def->query = trickle_query_parse_definition(def->definition);
	}
	return defs;
}

/*
 * trickle_rename_finish: after the statement ran, store the definitions
 * whose text changed.
 */
void
trickle_rename_finish(List *defs)
{
	ListCell   *lc;

	if (defs == NIL)
		return;
	CommandCounterIncrement();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, defs)
	{
		StoredDefinition *def = lfirst(lc);
		char	   *now = trickle_query_deparse(def->query);
		Oid			types[2] = {OIDOID, TEXTOID};
		Datum		values[2];

		if (strcmp(now, def->definition) == 0)
			continue;
		values[0] = ObjectIdGetDatum(def->relid);
		values[1] = CStringGetTextDatum(now);
		trickle_catalog_exec("UPDATE trickle.catalog SET definition = $2 WHERE relid = $1",
							 2, types, values, NULL);
	}
	SPI_finish();
}
