/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  Reading and writing trickle's own catalog (schema "trickle").
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_CATALOG_H
#define TRICKLE_CATALOG_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "nodes/pg_list.h"

/* one row of trickle.catalog, copied into the caller's memory context */
typedef struct TrickleStreamTable
{
	Oid			relid;
	char	   *query;			/* as the user wrote it */
	char	   *definition;		/* deparsed, schema-qualified */
	char	   *schedule;
	char	   *refresh_mode;	/* auto, full, differential */
	char	   *effective_mode; /* FULL, DIFFERENTIAL */
	char	   *mode_reason;	/* why auto chose FULL; NULL otherwise */
	char	   *status;			/* ACTIVE, SUSPENDED, ERROR */
	bool		is_populated;
	int64		frontier_sysid;
	Oid			frontier_relid;
	char	   *frontier;		/* pg_snapshot as text; NULL if none */
	uint64		frontier_xid;	/* 0 if none */
	int64		frontier_ord;
} TrickleStreamTable;

/* what the catalog says of a relation; needs no SPI connection */
typedef enum TrickleRelationKind
{
	TRICKLE_RELATION_OTHER,		/* not in trickle.catalog */
	TRICKLE_RELATION_STREAM_TABLE,	/* a stream table: only trickle writes it */
	TRICKLE_RELATION_RESTORED	/* restored from a dump, awaiting reinit */
} TrickleRelationKind;

extern TrickleRelationKind trickle_classify_relation(Oid relid);
extern bool trickle_frontier_is_foreign(const TrickleStreamTable *st);

/*
 * The rest need an open SPI connection.  Writes run as the extension's owner,
 * so that any role that may create a stream table can record it without
 * holding privileges on the catalog itself.
 */
extern List *trickle_catalog_oids(const char *sql, Oid arg);
extern void trickle_catalog_exec(const char *sql, int nargs, Oid *argtypes,
								 Datum *values, const char *nulls);
extern SPIPlanPtr trickle_kept_plan(const char *sql, int nargs, const Oid *argtypes);
extern void trickle_catalog_exec_kept(const char *sql, int nargs, Oid *argtypes,
									  Datum *values, const char *nulls);
extern void trickle_catalog_exec_plan(SPIPlanPtr plan, const char *sql, int nargs,
									  Oid *argtypes, Datum *values, const char *nulls);

/* what a refresh records (catalog_rows.c) */
typedef struct TrickleRefreshRecord
{
	Oid			relid;
	int64		history_id;		/* a refresh worker's RUNNING row; 0: add one */
	TimestampTz started;
	const char *action;
	int64		rows_inserted;
	int64		rows_deleted;
	const char *initiated_by;
	const char *reason;			/* NULL: none */
	const char *frontier;		/* pg_snapshot as text; NULL: none */
	uint64		frontier_xid;	/* 0: none */
	int64		frontier_ord;
} TrickleRefreshRecord;

/*
 * catalog_rows.c: the rows of every refresh, read and written without SPI
 * (recording falls back to SQL, so it needs an open SPI connection)
 */
extern bool trickle_catalog_load(Oid relid, TrickleStreamTable *st);
extern List *trickle_catalog_sources(Oid relid);
extern void trickle_catalog_record_refresh(const TrickleRefreshRecord *rec);

/* resolve a user-given stream table name; errors if it is not one */
extern Oid	trickle_resolve_stream_table(text *name, LOCKMODE lockmode,
										 TrickleStreamTable *st);

#endif							/* TRICKLE_CATALOG_H */
