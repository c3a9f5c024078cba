/*-------------------------------------------------------------------------
 *
 * ivm.h
 *	  The differential engine: which queries it maintains, and their deltas.
 *
 * A query the engine maintains is a FROM/WHERE block (inner and outer joins
 * of plain or partitioned tables, LATERAL subqueries over tables, any WHERE
 * clause with subqueries, immutable expressions), optionally topped by GROUP
 * BY and/or the aggregates count, sum, avg, min, max, bool_and and bool_or.
 * src/ivm/analyze.c decides whether a query is one and describes it
 * (TrickleIvmPlan), with the model of src/ivm/model.c; src/ivm/delta.c (with
 * outer.c and sublink.c) writes the SQL of the block's delta as a Z-set
 * (rows with a signed weight); src/refresh/codegen.c turns that into the
 * MERGE that applies it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_IVM_H
#define TRICKLE_IVM_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

/* bits of __trickle_row_id that number the rows of one hash class */
#define TRICKLE_CLASS_BITS		24
#define TRICKLE_CLASS_MASK		((INT64CONST(1) << TRICKLE_CLASS_BITS) - 1)

typedef enum TrickleAggKind
{
	TRICKLE_AGG_COUNT_STAR,
	TRICKLE_AGG_COUNT,
	TRICKLE_AGG_SUM,
	TRICKLE_AGG_AVG,
	TRICKLE_AGG_MIN,
	TRICKLE_AGG_MAX,
	TRICKLE_AGG_BOOL_AND,
	TRICKLE_AGG_BOOL_OR
} TrickleAggKind;

/* one aggregate output column */
typedef struct TrickleIvmAgg
{
	TrickleAggKind kind;
	int			column;			/* index among the visible columns */
	Expr	   *arg;			/* NULL for count(*) */
	Oid			argtype;
	Oid			sumtype;		/* sum and avg: the type sum(arg) returns */
	bool		rederive;		/* recomputed for every group it touches */
} TrickleIvmAgg;

/* one GROUP BY key */
typedef struct TrickleIvmKey
{
	Expr	   *expr;
	int			column;			/* index among the visible columns, or -1 */
	char	   *stored;			/* the stored column holding it */
} TrickleIvmKey;

/* a source relation occurrence in the FROM clause */
typedef struct TrickleIvmScan
{
	int			rtindex;
	Oid			relid;
	bool		inh;			/* partitions and children too (no ONLY) */
} TrickleIvmScan;

/* columns a stream table reads from one source */
typedef struct TrickleIvmSource
{
	Oid			relid;
	List	   *attnums;		/* sorted, of int */
} TrickleIvmSource;

typedef struct TrickleIvmPlan
{
	bool		supported;
	char	   *reason;			/* why not, naming the construct */
	Query	   *query;			/* analysed definition */
	List	   *scans;			/* TrickleIvmScan, in range table order */
	List	   *sources;		/* TrickleIvmSource, one per distinct relid */
	List	   *columns;		/* visible TrickleColumn */
	bool		aggregate;		/* GROUP BY or aggregates */
	bool		global;			/* aggregates without GROUP BY: one row */
	List	   *keys;			/* TrickleIvmKey */
	List	   *aggs;			/* TrickleIvmAgg */
	List	   *hidden;			/* TrickleColumn: state columns after the visible ones */
} TrickleIvmPlan;

/* src/ivm/analyze.c */
extern TrickleIvmPlan *trickle_ivm_analyze(Query *query, List *columns);
extern char *trickle_ivm_describe(TrickleIvmPlan *plan);
extern char *trickle_ivm_hidden_name(const char *what, int agg);

/*
 * src/ivm/delta.c: one term of the delta of the FROM/WHERE block.  Term i
 * is the change of the block when scan i (plan->scans order, subqueries'
 * scans included) moves from its state as of the frontier to its current
 * state, the scans before it in the flip order (src/ivm/model.c) being
 * current already and those after it still as of the frontier; the terms
 * of the changed scans add up to the block's change.  Term -1 reads the
 * current state of every scan (no weight column).  Output columns:
 * __trickle_c<n> for visible columns (plain queries), or __trickle_k<n> for
 * keys and __trickle_a<n> for aggregate arguments, then __trickle_w (1 or
 * -1 on every row).  Parameters:
 * $1 and $2 bound the buffer's __xid range, $3 and $4 the frontier's own
 * transaction and change number, $5 the frontier snapshot, $6 an xid from
 * which on every change is unread (see trickle_delta_changes_sql).
 */
#define TRICKLE_DELTA_NPARAMS 6
extern const Oid trickle_delta_param_types[TRICKLE_DELTA_NPARAMS];
extern char *trickle_delta_term(TrickleIvmPlan *plan, int scan);
extern char *trickle_delta_changes_sql(Oid relid, const char *alias);

#endif							/* TRICKLE_IVM_H */
