/*-------------------------------------------------------------------------
 *
 * api.h
 *	  The SQL-callable interface and the analysis of defining queries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_API_H
#define TRICKLE_API_H

#include "postgres.h"

#include "catalog/objectaddress.h"
#include "nodes/parsenodes.h"

/* a validated defining query */
typedef struct TrickleQuery
{
	Query	   *query;			/* analysed, not rewritten */
	char	   *definition;		/* deparsed with every object schema-qualified */
	List	   *columns;		/* TrickleColumn, in output order */
	List	   *sources;		/* OIDs of the relations the query names */
} TrickleQuery;

/* src/api/query.c */
extern TrickleQuery *trickle_query_analyze(const char *sql);
extern void trickle_query_record_dependencies(Oid relid, TrickleQuery *tq);

#endif							/* TRICKLE_API_H */
