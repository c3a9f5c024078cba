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

struct TrickleIvmPlan;

/* src/api/api.c: the sources of a stream table and their trickle.sources rows */
extern List *trickle_api_sources(TrickleQuery *tq, struct TrickleIvmPlan *plan);
extern void trickle_api_record_sources(Oid relid, List *sources, struct TrickleIvmPlan *plan);

/* src/api/views.c: stream tables reading views that are replaced */
extern Oid	trickle_views_unreadable(struct TrickleIvmPlan *plan, Oid roleid, List *named);
extern void trickle_views_replaced(Node *stmt);

/* src/api/query.c */
extern TrickleQuery *trickle_query_analyze(const char *sql);
extern void trickle_query_record_dependencies(Oid relid, TrickleQuery *tq);
extern Query *trickle_query_parse_definition(const char *definition);
extern char *trickle_query_deparse(Query *query);
extern int	trickle_query_locate(const char *sql, const char *const *sequences);

/* src/api/rename.c: called by the guard around RENAME and SET SCHEMA */
extern List *trickle_rename_prepare(Node *stmt);
extern void trickle_rename_finish(List *defs);

#endif							/* TRICKLE_API_H */
