/*-------------------------------------------------------------------------
 *
 * relation.c
 *	  Creating a stream table's relation and reading its shape.
 *
 * A stream table is an ordinary relation in the user's schema that uses the
 * "trickle" table access method (heap under another name), with the defining
 * query's columns followed by trickle's own "__trickle_*" columns.  The first
 * of those, __trickle_row_id, is the primary key and therefore the replica
 * identity for logical replication.  The relation is created with SQL through
 * SPI while the guard admits exactly that statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "fdw/fdw.h"
#include "trickle.h"

/*
 * trickle_relation_qualified_name: "schema"."name", quoted as needed.
 */
char *
trickle_relation_qualified_name(Oid relid)
{
	char	   *relname = get_rel_name(relid);

	if (relname == NULL)
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  relname);
}

static void
append_collation(StringInfo buf, const TrickleColumn *col)
{
	char	   *collname;
	char	   *nspname;
	HeapTuple	tuple;
	Form_pg_collation form;

	if (!OidIsValid(col->collation) ||
		col->collation == get_typcollation(col->type))
		return;
	tuple = SearchSysCache1(COLLOID, ObjectIdGetDatum(col->collation));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for collation %u", col->collation);
	form = (Form_pg_collation) GETSTRUCT(tuple);
	collname = pstrdup(NameStr(form->collname));
	nspname = get_namespace_name(form->collnamespace);
	ReleaseSysCache(tuple);
	appendStringInfo(buf, " COLLATE %s", quote_qualified_identifier(nspname, collname));
}

/*
 * trickle_relation_create: create namespace.relname with the given columns
 * plus __trickle_row_id, using the trickle access method.  Caller has checked
 * that the name is free and holds an SPI connection.
 */
Oid
trickle_relation_create(Oid namespace, const char *relname, List *columns)
{
	StringInfoData sql;
	ListCell   *lc;
	char	   *qualified;
	Oid			relid;

	qualified = quote_qualified_identifier(get_namespace_name(namespace), relname);
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE TABLE %s (", qualified);
	foreach(lc, columns)
	{
		TrickleColumn *col = lfirst(lc);

		appendStringInfo(&sql, "%s %s", quote_identifier(col->name),
						 format_type_extended(col->type, col->typmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN |
											  FORMAT_TYPE_FORCE_QUALIFY));
		append_collation(&sql, col);
		appendStringInfoString(&sql, ", ");
	}
	appendStringInfo(&sql, "%s bigint NOT NULL, PRIMARY KEY (%s)) USING %s",
					 TRICKLE_ROW_ID, TRICKLE_ROW_ID, TRICKLE_AM);

	trickle_guard_allow_create();
	PG_TRY();
	{
		if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not create stream table relation %s", qualified);
	}
	PG_FINALLY();
	{
		trickle_guard_release();
	}
	PG_END_TRY();

	relid = get_relname_relid(relname, namespace);
	if (!OidIsValid(relid))
		elog(ERROR, "stream table relation %s vanished after creation", qualified);
	return relid;
}

static Form_pg_class
relation_form(Oid relid, HeapTuple *tuple)
{
	*tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(*tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	return (Form_pg_class) GETSTRUCT(*tuple);
}

/*
 * trickle_relation_am: the table access method of relid.
 */
Oid
trickle_relation_am(Oid relid)
{
	HeapTuple	tuple;
	Oid			am = relation_form(relid, &tuple)->relam;

	ReleaseSysCache(tuple);
	return am;
}

/*
 * trickle_relation_owner: the owner of relid, whose rights refreshes use.
 */
Oid
trickle_relation_owner(Oid relid)
{
	HeapTuple	tuple;
	Oid			owner = relation_form(relid, &tuple)->relowner;

	ReleaseSysCache(tuple);
	return owner;
}

/*
 * trickle_relation_restore_am: give relid the trickle access method again.
 * A dump made with --no-table-access-method restores a stream table as a
 * heap table, which the guard's pre-filter would pass over.  This rewrites
 * the table (ACCESS EXCLUSIVE for its duration); callers do it once, at
 * reinitialisation.  Needs SPI.
 */
void
trickle_relation_restore_am(Oid relid)
{
	if (trickle_relation_am(relid) == trickle_am_oid(false))
		return;
	trickle_guard_allow_create();
	PG_TRY();
	{
		if (SPI_execute(psprintf("ALTER TABLE %s SET ACCESS METHOD %s",
								 trickle_relation_qualified_name(relid), TRICKLE_AM),
						false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not set the access method of a stream table");
	}
	PG_FINALLY();
	{
		trickle_guard_release();
	}
	PG_END_TRY();
}

/*
 * trickle_relation_columns: the user-visible columns of a stream table, in
 * order, without dropped and __trickle_* columns.
 */
List *
trickle_relation_columns(Oid relid)
{
	return trickle_relation_columns_state(relid, NULL);
}

/*
 * trickle_relation_columns_state: the same, and into *state (if not NULL)
 * the names of its __trickle_* columns but the row identity
 */
List *
trickle_relation_columns_state(Oid relid, List **state)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *columns = NIL;
	int			i;

	if (state)
		*state = NIL;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		TrickleColumn *col;

		if (att->attisdropped)
			continue;
		if (strncmp(NameStr(att->attname), TRICKLE_COLUMN_PREFIX,
					strlen(TRICKLE_COLUMN_PREFIX)) == 0)
		{
			if (state && strcmp(NameStr(att->attname), TRICKLE_ROW_ID) != 0)
				*state = lappend(*state, pstrdup(NameStr(att->attname)));
			continue;
		}
		col = palloc0(sizeof(TrickleColumn));
		col->name = pstrdup(NameStr(att->attname));
		col->type = att->atttypid;
		col->typmod = att->atttypmod;
		col->collation = att->attcollation;
		columns = lappend(columns, col);
	}
	table_close(rel, AccessShareLock);
	return columns;
}
