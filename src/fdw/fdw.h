/*-------------------------------------------------------------------------
 *
 * fdw.h
 *	  The relation surface of a stream table: creating it and guarding it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_FDW_H
#define TRICKLE_FDW_H

#include "postgres.h"

#include "nodes/pg_list.h"

/* one output column of a defining query */
typedef struct TrickleColumn
{
	char	   *name;
	Oid			type;
	int32		typmod;
	Oid			collation;
} TrickleColumn;

/* src/fdw/relation.c; needs SPI */
extern Oid	trickle_relation_create(Oid namespace, const char *relname,
									List *columns);
extern List *trickle_relation_columns(Oid relid);
extern List *trickle_relation_columns_state(Oid relid, List **state);
extern char *trickle_relation_qualified_name(Oid relid);
extern Oid	trickle_relation_am(Oid relid);
extern Oid	trickle_relation_owner(Oid relid);
extern void trickle_relation_restore_am(Oid relid);

/*
 * src/fdw/guard.c: the refresh engine announces the one stream table it is
 * about to write (or that it is creating one); everything else is refused.
 * Callers reset with trickle_guard_release in PG_FINALLY.
 */
extern void trickle_guard_allow_write(Oid relid);
extern void trickle_guard_allow_create(void);
extern void trickle_guard_release(void);

#endif							/* TRICKLE_FDW_H */
