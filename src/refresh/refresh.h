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

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/snapshot.h"

#include "ivm/ivm.h"

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
	const char *reason;			/* why a DIFFERENTIAL stream table ran FULL */
} TrickleRefreshResult;

/* src/refresh/orchestrator.c; callers hold an SPI connection */
extern TrickleRefreshResult trickle_refresh(Oid relid, bool full,
											TrickleInitiator initiator,
											int64 history_id);
extern void trickle_refresh_check_readable(Oid relid);
extern const char *trickle_refresh_action_name(TrickleRefreshAction action);

/*
 * src/refresh/merge.c: make relid's stored columns equal the rows of source,
 * reading at snapshot (or a fresh one when InvalidSnapshot).  Identities
 * hash whole rows (FULL stream tables), or with by_key are hash classes of
 * the key columns (differential ones, see codegen.c; no keys: one class).
 */
extern void trickle_full_apply(Oid relid, const char *source, List *columns,
							   bool by_key, List *keys, Snapshot snapshot,
							   int64 *rows_inserted, int64 *rows_deleted);

/* src/refresh/codegen.c */
typedef enum TrickleTally
{
	TRICKLE_TALLY_INSERTED,
	TRICKLE_TALLY_DELETED,
	TRICKLE_TALLY_UPDATED
} TrickleTally;

extern void trickle_tally_reset(void);
extern int64 trickle_tally_get(TrickleTally action);
extern TrickleIvmPlan *trickle_codegen_plan(Oid relid, const char *definition,
											List **columns);
extern char *trickle_codegen_apply(Oid relid, const char *definition, List *changed,
								   SPIPlanPtr *prepared);
extern struct TrickleDirect *trickle_codegen_direct(Oid relid, const char *definition,
													bool *insert_only);
extern char *trickle_codegen_state(TrickleIvmPlan *plan, List *columns);
extern List *trickle_codegen_state_keys(TrickleIvmPlan *plan, List *columns);

/* src/refresh/recompute_apply.c: keyed recompute (src/ivm/recompute.c) */
extern char *trickle_recompute_apply(TrickleIvmPlan *plan, const char *target,
									 List *columns, uint64 mask);
extern void trickle_recompute_append_terms(StringInfo buf, TrickleIvmPlan *plan,
										   uint64 mask);
extern char *trickle_recompute_state(TrickleIvmPlan *plan, List *columns);

/*
 * src/refresh/rowid.c: the hash of a row's values, column by column, as
 * trickle._row_hash(record) computes it
 */
typedef struct TrickleColumnHasher
{
	bool		skip;			/* dropped column */
	bool		by_hash;		/* extended hash function, else output text */
	FmgrInfo	finfo;
	Oid			collation;
} TrickleColumnHasher;

extern void trickle_column_hasher_init(TrickleColumnHasher *col, Oid type, Oid collation,
									   MemoryContext context);
extern uint64 trickle_row_hash_add(uint64 hash, TrickleColumnHasher *col, Datum value,
								   bool isnull);
extern Datum trickle_row_id_class(PG_FUNCTION_ARGS);

/*
 * src/refresh/direct.c: the direct apply of a one-table count/sum/avg
 * aggregate (NULL: the query is not one)
 */
typedef struct TrickleDirect TrickleDirect;

extern bool trickle_direct_apply_enabled;
extern TrickleDirect *trickle_direct_plan(TrickleIvmPlan *plan, List *columns);

/* what the direct apply did */
typedef enum TrickleDirectOutcome
{
	TRICKLE_DIRECT_APPLIED,		/* the changes are applied */
	TRICKLE_DIRECT_NO_CHANGES,	/* there were none to read */
	TRICKLE_DIRECT_TRUNCATED,	/* a source was truncated: recompute */
	TRICKLE_DIRECT_MERGE		/* nothing written: the MERGE must do it */
} TrickleDirectOutcome;

extern TrickleDirectOutcome trickle_direct_apply(TrickleDirect *direct, Oid relid,
												 Snapshot snapshot, Datum *params,
												 const char *nulls, int64 *inserted,
												 int64 *updated, int64 *deleted);
extern char *trickle_direct_explain(TrickleDirect *direct, Oid relid);

/* src/refresh/phd1.c: delete buffer rows every consumer has read */
extern int	trickle_buffer_truncate_threshold;
extern void trickle_phd1_cleanup(Oid source);

#endif							/* TRICKLE_REFRESH_H */
