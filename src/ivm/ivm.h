/*-------------------------------------------------------------------------
 *
 * ivm.h
 *	  The differential engine: which queries it maintains, and their deltas.
 *
 * A query the engine maintains is a FROM/WHERE block (inner and outer joins
 * of plain or partitioned tables, reached directly or through views, WITH
 * queries and subqueries; LATERAL subqueries over tables; functions and
 * VALUES lists in FROM; any WHERE clause with subqueries; immutable
 * expressions), optionally topped by GROUP BY and/or the aggregates count,
 * sum, avg, min, max, bool_and and bool_or, or by anything the keyed
 * recompute handles (other aggregates, HAVING, windows, DISTINCT, grouping
 * sets, set operations of such blocks).  src/ivm/analyze.c decides whether
 * a query is one and describes it (TrickleIvmPlan), with the model of
 * src/ivm/model.c; src/ivm/delta.c (with outer.c and sublink.c) writes the
 * SQL of the block's delta as a Z-set (rows with a signed weight);
 * src/refresh/codegen.c turns that into the MERGE that applies it
 * (src/refresh/recompute_apply.c for the keyed recompute, src/ivm/recompute.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_IVM_H
#define TRICKLE_IVM_H

#include "postgres.h"

#include "lib/stringinfo.h"
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
	/* the stored columns of its state (see analyze_aggregate), or NULL */
	char	   *nn;				/* how many arguments are not NULL */
	char	   *sum;			/* avg: the sum of the arguments */
	char	   *truth;			/* bool_and: how many are false; bool_or: true */
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

typedef struct TrickleIvmRecompute TrickleIvmRecompute;
typedef struct TrickleIvmRecursive TrickleIvmRecursive;

typedef struct TrickleIvmPlan
{
	bool		supported;
	char	   *reason;			/* why not, naming the construct */
	const char *sql;			/* the text query was parsed from, if known */
	int			reason_position;	/* the construct's place in sql, in
									 * characters from 1; 0 if unknown */
	Query	   *query;			/* analysed definition */
	List	   *scans;			/* TrickleIvmScan, in range table order */
	List	   *sources;		/* TrickleIvmSource, one per distinct relid */
	List	   *columns;		/* visible TrickleColumn */
	bool		aggregate;		/* GROUP BY or aggregates */
	bool		global;			/* aggregates without GROUP BY: one row */
	List	   *keys;			/* TrickleIvmKey */
	List	   *aggs;			/* TrickleIvmAgg */
	char	   *count;			/* the stored column counting a group's rows */
	List	   *hidden;			/* TrickleColumn: state columns after the visible ones */
	List	   *existing;		/* names of the state columns the stream table
								 * already has (NIL when it is being created) */
	TrickleIvmRecompute *recompute; /* set: maintained by src/ivm/recompute.c */
	TrickleIvmRecursive *recursive; /* set: maintained by src/ivm/recursive.c */
	List	   *views;			/* OIDs of the views read (expanded), nested ones too */
	List	   *origins;		/* per entry of query's range table: the view, WITH
								 * query or subquery it came from (char *), or NULL */
} TrickleIvmPlan;

/*
 * Keyed recompute (src/ivm/recompute.c, src/refresh/recompute_apply.c): the
 * output is partitioned by a key computed from the rows of FROM/WHERE
 * blocks; a refresh recomputes the keys its changes carry and applies the
 * difference with what is stored for them.  UNION ALL of plain blocks is
 * the union of their deltas and recomputes nothing.
 */
typedef enum TrickleRecomputeKind
{
	TRICKLE_RECOMPUTE_KEYED,	/* one query block, keys from its own rows */
	TRICKLE_RECOMPUTE_GROUPING_SETS, /* one keyed part per grouping set */
	TRICKLE_RECOMPUTE_SETOP,	/* UNION, INTERSECT, EXCEPT: the key is the row */
	TRICKLE_RECOMPUTE_UNION_ALL, /* plain blocks: no recompute */
	TRICKLE_RECOMPUTE_TOPK		/* ORDER BY ... LIMIT over a keyed query
								 * (parts) or a plain block (no parts) */
} TrickleRecomputeKind;

/* a FROM/WHERE block whose delta terms feed affected keys (or rows) */
typedef struct TrickleIvmBranch
{
	TrickleIvmPlan *block;		/* plain plan: its output columns are the keys,
								 * or for set operations the branch's row */
	int			first_scan;		/* its first scan's position in plan->scans */
} TrickleIvmBranch;

/*
 * a query computing the stored rows of some keys: the defining query with
 * the keys exposed, or for GROUPING_SETS the query of one grouping set
 */
typedef struct TrickleIvmPart
{
	Query	   *rows;
	List	   *exposed;		/* per key of the plan: the column of rows
								 * holding it (char *), or NULL: the key is
								 * NULL in every row of the part (the set id:
								 * the part's set) */
	int			set;			/* GROUPING_SETS: the value of key 0 */
} TrickleIvmPart;

struct TrickleIvmRecompute
{
	TrickleRecomputeKind kind;
	List	   *branches;		/* TrickleIvmBranch */
	List	   *parts;			/* TrickleIvmPart (KEYED, GROUPING_SETS) */
	List	   *eqops;			/* per key: the equality that groups it (OID) */
	char	   *what;			/* what is recomputed, for trickle_ivm_describe */
	/* TOPK */
	int64		limit;			/* LIMIT */
	List	   *sort;			/* ORDER BY: SortGroupClause */
	List	   *sortcols;		/* per sort clause: its visible column (int) */
	TrickleIvmPart *top;		/* the whole query with its keys exposed */
};

/*
 * A recursive WITH query maintained by semi-naive evaluation while its
 * sources only gain rows (src/ivm/recursive.c): plan->scans holds the
 * base's scans, then the step's, each in range table order.
 */
struct TrickleIvmRecursive
{
	bool		union_all;		/* UNION ALL (bags), or UNION (sets) */
	char	   *ctename;
	List	   *colnames;		/* the WITH query's columns (String) */
	List	   *coltypes;		/* their types (OID) */
	List	   *coltypmods;		/* and typmods (int) */
	Query	   *base;			/* the first branch */
	Query	   *step;			/* the recursive step */
	int			self_rtindex;	/* the step's reference to the WITH query */
	int			base_scans;		/* how many of plan->scans are the base's */
};

/*
 * src/ivm/normalize.c: views expanded, WITH queries inlined, simple
 * subqueries merged, so that every source is a table of plan->query's range
 * table (see the file comment)
 */
extern Query *trickle_ivm_normalize(Query *query, TrickleIvmPlan *plan, char **problem);
extern bool trickle_ivm_reads_relations(Query *query);
extern void trickle_ivm_rte_as_subquery(RangeTblEntry *rte, Query *sub);
extern Query *trickle_ivm_parse_sql(const char *sql, Oid *types, int ntypes);
extern const char *trickle_ivm_origin(TrickleIvmPlan *plan, int rtindex);

/* src/ivm/analyze.c */
extern void trickle_ivm_add_hidden(TrickleIvmPlan *plan, char *name, Oid type, int32 typmod,
								   Oid collation);
extern char *trickle_ivm_vformat(const char *fmt, va_list args) pg_attribute_printf(1, 0);
extern TrickleIvmPlan *trickle_ivm_refuse(TrickleIvmPlan *plan, const char *fmt,...) pg_attribute_printf(2, 3);
extern TrickleIvmPlan *trickle_ivm_analyze(Query *query, List *columns);
extern TrickleIvmPlan *trickle_ivm_analyze_text(Query *query, List *columns,
												const char *sql);
extern TrickleIvmPlan *trickle_ivm_analyze_stored(Query *query, List *columns,
												  List *existing);
extern char *trickle_ivm_describe(TrickleIvmPlan *plan);
extern char *trickle_ivm_hidden_name(const char *what, int agg);
extern void trickle_ivm_describe_block(StringInfo buf, TrickleIvmPlan *block, int depth);

/* src/ivm/recursive.c */
extern TrickleIvmPlan *trickle_ivm_analyze_recursive(TrickleIvmPlan *plan, Query *query,
													 List *columns);
extern void trickle_ivm_describe_recursive(StringInfo buf, TrickleIvmPlan *plan);
extern void trickle_recursive_append_terms(StringInfo buf, TrickleIvmPlan *plan,
										   const char *target, List *columns, uint64 mask);
extern char *trickle_recursive_state(TrickleIvmPlan *plan, List *columns);

/* src/ivm/recompute.c */
extern bool trickle_ivm_wants_recompute(Query *query);
extern TrickleIvmPlan *trickle_ivm_analyze_recompute(Query *query, List *columns,
													 List *existing);
extern void trickle_ivm_describe_recompute(StringInfo buf, TrickleIvmPlan *plan);

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
 * -1 on every row).  In an eager plan (trickle_ivm_eager), a delta term has,
 * instead of the arguments, each argument's weighted count of non-NULL
 * values __trickle_n<n> and, when summed, weighted sum __trickle_s<n>, and
 * its rows may weigh any integer (delta.c, "Eager aggregation").
 * Parameters:
 * $1 and $2 bound the buffer's __xid range, $3 and $4 the frontier's own
 * transaction and change number, $5 the frontier snapshot, $6 an xid from
 * which on every change is unread (see trickle_delta_changes_sql).
 */
#define TRICKLE_DELTA_NPARAMS 6
extern const Oid trickle_delta_param_types[TRICKLE_DELTA_NPARAMS];
extern char *trickle_delta_term(TrickleIvmPlan *plan, int scan);
extern bool trickle_ivm_eager(TrickleIvmPlan *plan);
extern char *trickle_ivm_type_sql(Oid type, int32 typmod, Oid collation);
extern char *trickle_ivm_operator_sql(Oid opno);
extern int	trickle_ivm_agg_arg(TrickleIvmPlan *plan, int j);
extern char *trickle_delta_changes_sql(Oid relid, const char *alias);

#endif							/* TRICKLE_IVM_H */
