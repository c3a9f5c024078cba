/*-------------------------------------------------------------------------
 *
 * refresh.h
 *	  Refreshing a stream table: deciding what to do, doing it, recording it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_REFRESH_H
#define TRICKLE_REFRESH_H

#include "postgres.h"

#include "nodes/pg_list.h"

typedef enum TrickleInitiator
{
	TRICKLE_INITIATED_BY_MANUAL,
	TRICKLE_INITIATED_BY_SCHEDULER,
	TRICKLE_INITIATED_BY_CREATE
} TrickleInitiator;

typedef enum TrickleRefreshAction
{
	TRICKLE_ACTION_NO_DATA,
	TRICKLE_ACTION_FULL,
	TRICKLE_ACTION_DIFFERENTIAL,
	TRICKLE_ACTION_REINITIALIZE
} TrickleRefreshAction;

typedef struct TrickleRefreshResult
{
	TrickleRefreshAction action;
	int64		rows_inserted;
	int64		rows_deleted;
	double		duration_ms;
} TrickleRefreshResult;

/* src/refresh/orchestrator.c; callers hold an SPI connection */
extern TrickleRefreshResult trickle_refresh(Oid relid, bool full,
											TrickleInitiator initiator);
extern void trickle_refresh_check_readable(Oid relid);
extern const char *trickle_refresh_action_name(TrickleRefreshAction action);

/* src/refresh/merge.c */
extern void trickle_full_apply(Oid relid, const char *definition, List *columns,
							   int64 *rows_inserted, int64 *rows_deleted);

#endif							/* TRICKLE_REFRESH_H */
