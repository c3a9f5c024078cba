/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Access to trickle's catalog tables and fixed objects.
 *
 * trickle.catalog is the authority on what is a stream table: the access
 * method "trickle" is only a pre-filter (anyone can restore a table with it).
 * The guard asks trickle_classify_relation (catalog_rows.c) from inside
 * executor and utility hooks, so that check reads the catalog's primary-key
 * index directly and needs no SPI; so do the rows every refresh reads and
 * writes (catalog_rows.c).  Everything else goes through SPI; writes switch to the
 * extension owner for the duration of one statement (the user id is restored
 * by transaction abort if the statement fails).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_extension.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "parser/parse_relation.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"
#include "utils/xid8.h"

#include "catalog.h"
#include "errors.h"
#include "trickle.h"

/*
 * trickle_schema_oid: InvalidOid when the extension is not installed in this
 * database.
 */
Oid
trickle_schema_oid(void)
{
	return get_namespace_oid(TRICKLE_SCHEMA, true);
}

/*
 * trickle_am_oid: the "trickle" table access method.
 */
Oid
trickle_am_oid(bool missing_ok)
{
	return get_table_am_oid(TRICKLE_AM, missing_ok);
}

/*
 * trickle_extension_owner: the role that owns the extension.
 */
Oid
trickle_extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			owner = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(TRICKLE_EXTENSION));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"trickle\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION trickle.")));
	return owner;
}

/*
 * trickle_frontier_is_foreign: were these contents made by another cluster,
 * or for another relation (a restored dump)?  Then they must be rebuilt.
 */
bool
trickle_frontier_is_foreign(const TrickleStreamTable *st)
{
	return st->frontier_sysid != (int64) GetSystemIdentifier() ||
		st->frontier_relid != st->relid;
}

/*
 * Kept statements.  The small statements a refresh may run (looking for
 * changes where the direct apply does not, cleaning a buffer, recording the
 * refresh when a trigger must fire) and those of the refresh workers and DDL
 * events are prepared once per backend and kept:
 * parsing and planning them cost more than running them.  They are found by
 * their text, which names the relations they read (a buffer's name is its
 * source's OID), through a hash of it; a different text under the same hash
 * replaces the plan.  The plan cache replans a kept statement when a
 * relation it uses changes, and a relation dropped and created again under
 * the same name is simply found again by name.
 */
typedef struct KeptStatement
{
	uint64		key;			/* hash of sql */
	char	   *sql;			/* in TopMemoryContext */
	SPIPlanPtr	plan;
} KeptStatement;

static HTAB *kept_statements = NULL;

/* trickle_kept_plan: the kept plan of sql, with nargs parameters of argtypes */
SPIPlanPtr
trickle_kept_plan(const char *sql, int nargs, const Oid *argtypes)
{
	uint64		key = hash_bytes_extended((const unsigned char *) sql, strlen(sql), 0);
	KeptStatement *kept;
	bool		found;
	SPIPlanPtr	plan;

	if (kept_statements == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(KeptStatement);
		kept_statements = hash_create("trickle kept statements", 64, &ctl,
									  HASH_ELEM | HASH_BLOBS);
	}
	kept = hash_search(kept_statements, &key, HASH_FIND, &found);
	if (found && strcmp(kept->sql, sql) == 0)
		return kept->plan;

	plan = SPI_prepare(sql, nargs, (Oid *) argtypes);
	if (plan == NULL)
		elog(ERROR, "could not plan \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep the plan of \"%s\"", sql);
	if (found)
	{
		SPI_freeplan(kept->plan);
		pfree(kept->sql);
	}
	kept = hash_search(kept_statements, &key, HASH_ENTER, &found);
	kept->sql = MemoryContextStrdup(TopMemoryContext, sql);
	kept->plan = plan;
	return plan;
}

/*
 * trickle_catalog_oids: column 1 (an oid) of every row that sql, a query with
 * one oid parameter $1, returns for arg; in the caller's memory context.
 */
List *
trickle_catalog_oids(const char *sql, Oid arg)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(arg)};
	MemoryContext caller = CurrentMemoryContext;
	List	   *oids = NIL;
	uint64		i;
	bool		isnull;

	/* not read-only: see what this command wrote so far */
	if (SPI_execute_plan(trickle_kept_plan(sql, 1, argtypes), values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", sql);
	for (i = 0; i < SPI_processed; i++)
	{
		Oid			oid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext spi = MemoryContextSwitchTo(caller);

		oids = lappend_oid(oids, oid);
		MemoryContextSwitchTo(spi);
	}
	return oids;
}

/*
 * trickle_catalog_exec: run one catalog-writing statement as the extension
 * owner.  Values are passed as parameters, never spliced.  With plan (a
 * kept plan of sql), that plan runs instead of parsing sql again.
 */
void
trickle_catalog_exec_plan(SPIPlanPtr plan, const char *sql, int nargs, Oid *argtypes,
						  Datum *values, const char *nulls)
{
	Oid			save_userid;
	int			save_sec_context;
	int			rc;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(trickle_extension_owner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (plan != NULL)
		rc = SPI_execute_plan(plan, values, nulls, false, 0);
	else
		rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (rc < 0)
		elog(ERROR, "catalog statement failed: %s", SPI_result_code_string(rc));
}

void
trickle_catalog_exec(const char *sql, int nargs, Oid *argtypes,
					 Datum *values, const char *nulls)
{
	trickle_catalog_exec_plan(NULL, sql, nargs, argtypes, values, nulls);
}

/* trickle_catalog_exec of a constant statement run often: its plan is kept */
void
trickle_catalog_exec_kept(const char *sql, int nargs, Oid *argtypes,
						  Datum *values, const char *nulls)
{
	trickle_catalog_exec_plan(trickle_kept_plan(sql, nargs, argtypes), sql, nargs, argtypes,
							  values, nulls);
}

/*
 * trickle_resolve_stream_table: look up a user-given (possibly qualified)
 * name, lock the relation in lockmode, and check that it is a stream table.
 * Fills *st when it is not NULL.  Needs SPI.
 */
Oid
trickle_resolve_stream_table(text *name, LOCKMODE lockmode, TrickleStreamTable *st)
{
	List	   *names;
	RangeVar   *rv;
	Oid			relid;

	names = textToQualifiedNameList(name);
	rv = makeRangeVarFromNameList(names);
	relid = RangeVarGetRelid(rv, lockmode, true);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_UNDEFINED_TABLE),
				 errmsg("stream table \"%s\" does not exist", text_to_cstring(name)),
				 errdetail("No relation named \"%s\" is visible with the current search_path.",
						   NameListToString(names)),
				 errhint("List stream tables with SELECT name FROM trickle.stream_tables.")));
	if (st ? !trickle_catalog_load(relid, st) :
		trickle_classify_relation(relid) == TRICKLE_RELATION_OTHER)
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_NOT_STREAM_TABLE),
				 errmsg("\"%s\" is not a stream table", NameListToString(names)),
				 errdetail("Relation \"%s\" is not recorded in trickle.catalog.",
						   NameListToString(names)),
				 errhint("List stream tables with SELECT name FROM trickle.stream_tables.")));
	return relid;
}
