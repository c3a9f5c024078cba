/*-------------------------------------------------------------------------
 *
 * ivm_internal.h
 *	  The differential engine's model of a query, shared by the files that
 *	  write its delta (src/ivm/model.c, delta.c, outer.c, sublink.c).
 *
 * A defining query is a tree of *blocks*: the top query, the body of each
 * subquery in an expression (a sublink) and the body of each LATERAL
 * subquery in FROM.  A block's FROM clause is a binary join tree whose
 * leaves are *items*: a scan of a table, or a LATERAL subquery.  Items are
 * numbered across the whole query; the scans among them, in the order of
 * plan->scans, are what the terms of the delta are indexed by.
 *
 * Every relation the delta SQL builds exposes the columns an item reads as
 * c<item>_<attno> (a LATERAL subquery's outputs by position), so that a
 * user expression can be placed over any of them: see the slots of
 * delta.c.
 *
 * The model points into plan->query and never modifies it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_IVM_INTERNAL_H
#define TRICKLE_IVM_INTERNAL_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

#include "ivm/ivm.h"

typedef struct IvmBlock IvmBlock;
typedef struct IvmNode IvmNode;

/* a column an item exposes */
typedef struct IvmCol
{
	int			att;			/* attribute number, or output position */
	Oid			type;
	int32		typmod;
	Oid			collation;
} IvmCol;

/*
 * a FROM item: a table scan, a LATERAL subquery over tables, or an item
 * reading no table (a function, VALUES, a subquery without tables), which
 * is the same in every state and is written as konst, a query one level
 * below the item's block
 */
typedef struct IvmItem IvmItem;

struct IvmItem
{
	int			id;
	IvmBlock   *block;			/* the block whose FROM clause holds it */
	int			rtindex;		/* in block->query */
	int			scan;			/* index in plan->scans, or -1 */
	Oid			relid;
	bool		inh;
	IvmBlock   *body;			/* a LATERAL or derived subquery's body */
	Query	   *konst;			/* an item reading no table */
	List	   *cols;			/* IvmCol: the columns exposed */
	/* a derived subquery (grouped or DISTINCT, not LATERAL): derived.c */
	bool		derived;
	List	   *keys;			/* Expr over the body: what its output is partitioned by */
	List	   *keyops;			/* Oid: each key's equality operator */
	List	   *keycols;		/* int: the body's visible output holding each key, or 0 */
	List	   *scanatts;		/* int per body item: the column holding a key, or 0 */
	List	   *scankeys;		/* int per body item: which key that column holds */
};

/* one column of one item */
typedef struct IvmColRef
{
	IvmItem    *item;
	IvmCol	   *col;
} IvmColRef;

/* a node of a block's binary join tree */
struct IvmNode
{
	JoinType	jointype;		/* INNER (also for a comma), LEFT, RIGHT, FULL */
	Node	   *quals;			/* ON condition, or NULL */
	IvmNode    *left;
	IvmNode    *right;
	IvmItem    *item;			/* a leaf's item */
	int			first;			/* flip positions of the scans below */
	int			last;
};

struct IvmBlock
{
	int			id;
	Query	   *query;
	IvmBlock   *parent;			/* the block one query level up */
	IvmNode    *tree;
	Node	   *where;			/* jointree quals */
	IvmItem   **byrt;			/* item of each range table index, or NULL */
	List	   *items;
};

/* how a subquery in an expression is maintained */
typedef enum IvmSublinkKind
{
	IVM_SUBLINK_EXISTS,			/* counted: EXISTS */
	IVM_SUBLINK_ANY,			/* counted: x op ANY (IN) */
	IVM_SUBLINK_ALL,			/* counted: x op ALL */
	IVM_SUBLINK_RECOMPUTED		/* evaluated again at the old state */
} IvmSublinkKind;

/*
 * an existence test of a counted subquery: does the body hold a row
 * satisfying cond (over the body's items and, one level up, the outer
 * block's)?  guard, over the outer block, says for which outer rows the
 * test matters at all (NULL: all).
 */
typedef struct IvmFlag
{
	Node	   *cond;
	Node	   *guard;
} IvmFlag;

typedef struct IvmSublink
{
	int			id;
	SubLink    *sublink;		/* in plan->query */
	IvmBlock   *body;
	IvmSublinkKind kind;
	bool		negated;		/* directly under NOT (for describing it) */
	bool		in_where;
	/* counted ANY/ALL: outer operand, operator test, and its NULL handling */
	Node	   *x;
	bool		total;			/* op never returns NULL for non-NULL inputs */
	List	   *flags;			/* IvmFlag */
	int			first;			/* flip positions of its scans */
	int			last;
} IvmSublink;

typedef struct IvmModel
{
	TrickleIvmPlan *plan;
	Query	   *query;
	IvmBlock   *top;
	List	   *blocks;
	List	   *items;			/* IvmItem, by id */
	List	   *scans;			/* IvmItem of the scans, in plan->scans order */
	List	   *sublinks;		/* IvmSublink, by id */
	int		   *pos;			/* flip position of each scan */
	char	   *problem;		/* why the query is not maintainable, or NULL */
} IvmModel;

/* src/ivm/analyze.c */
extern char *trickle_ivm_from_problem(Query *query, Node *node);

/* src/ivm/model.c */
extern IvmModel *trickle_ivm_model(TrickleIvmPlan *plan, Query *query);
extern char *trickle_ivm_model_plan(TrickleIvmPlan *plan);
extern char *trickle_ivm_sublink_label(IvmSublink *sl);
extern List *trickle_ivm_expr_refs(IvmModel *m, Node *expr, IvmBlock *home, List *items);
extern IvmBlock *trickle_ivm_block_up(IvmBlock *block, int levels);
extern IvmItem *trickle_ivm_item_at(IvmBlock *block, int rtindex);
extern List *trickle_ivm_node_items(IvmNode *node);
extern bool trickle_ivm_type_exact(Oid type, Oid collation);
extern bool trickle_ivm_padded(IvmNode *tree, IvmItem *item);
extern char *trickle_ivm_col_name(IvmItem *item, IvmCol *col);

/*
 * src/ivm/delta.c: building one term.  An arm is one SELECT of a term's
 * UNION ALL: a FROM clause whose items are aliased relations exposing
 * c<item>_<att> columns, the weight factors, and which alias provides each
 * item.
 */
typedef struct IvmArm
{
	char	   *from;
	List	   *weights;		/* char *: SQL of int4 factors */
	const char **alias;			/* by item id */
} IvmArm;

/* what a subquery in an expression becomes in one slot */
typedef struct IvmSubValue
{
	const char *alias;			/* a column of a relation ... */
	const char *column;
	Node	   *replacement;	/* ... or another expression (a SubLink) */
} IvmSubValue;

typedef struct IvmTerm
{
	IvmModel   *m;
	int			naliases;
	List	   *slots;
	List	   *ctes;			/* char *: "name AS (...)" of the term's WITH */
	List	   *deltas;			/* IvmDeltaCte: the changes of subtrees, by flip */
	/* eager aggregation (delta.c): terms carry partial aggregates ... */
	bool		partials;
	/* ... and the flipped scan whose changes are grouped first, if any */
	IvmItem    *eager;
	List	   *eager_cols;		/* its IvmCols before the grouping */
	bool	   *eager_args;		/* by aggregate: its argument reads only eager */
} IvmTerm;

/*
 * The partial aggregates of an eagerly grouped scan's changes are columns
 * of its item: the weighted count of non-NULL values (n) and the weighted
 * sum (s) of aggregate j's argument, c<item>_n<j> and c<item>_s<j>.
 */
#define IVM_PARTIAL_ATT(j, sum)	(-1000 - 2 * (j) - ((sum) ? 1 : 0))
#define IVM_COL_IS_PARTIAL(col)	((col)->att <= -1000)
#define IVM_PARTIAL_AGG(col)	((-1000 - (col)->att) / 2)
#define IVM_PARTIAL_IS_SUM(col)	((-1000 - (col)->att) % 2 == 1)

#define IVM_POS_ALL_NEW	PG_INT32_MAX

/*
 * trickle_ivm_lateral: whether node is the join of its left side with a
 * LATERAL subquery, or with an item reading no table, on its right, which
 * the delta joins per row of the left side (an inner or left join)
 */
static inline bool
trickle_ivm_lateral(IvmNode *node)
{
	return node->item == NULL && node->right->item && node->right->item->scan < 0 &&
		!node->right->item->derived &&
		(node->right->item->body != NULL || node->jointype == JOIN_INNER ||
		 node->jointype == JOIN_LEFT);
}

extern const char *trickle_ivm_new_alias(IvmTerm *t);
extern char *trickle_ivm_slot(IvmTerm *t, Node *expr, IvmBlock *home,
							  const char **alias, IvmSubValue *subs);
extern char *trickle_ivm_query_slot(IvmTerm *t, Query *body, IvmBlock *home,
									const char **alias, IvmItem *item,
									const char **qalias);
extern char *trickle_ivm_query_slot_cols(IvmTerm *t, Query *body, IvmBlock *home,
										 const char **alias, List *cols, List *names,
										 const char **qalias);
extern const char **trickle_ivm_alias_copy(IvmTerm *t, const char **alias);
extern IvmArm *trickle_ivm_arm_leaf(IvmTerm *t, IvmItem *item, const char *sql, bool weighted);
extern List *trickle_ivm_join_arms(IvmTerm *t, List *left, List *right, JoinType jointype,
								   Node *quals, IvmBlock *home);
extern List *trickle_ivm_negate(List *arms);
extern char *trickle_ivm_arm_weight(IvmArm *arm);
extern char *trickle_ivm_unit_rows(const char *sql);
extern void trickle_ivm_append_cols(StringInfo sql, IvmTerm *t, List *items,
									const char **alias, IvmArm *arm, bool nulls, bool *first);
extern char *trickle_ivm_scan_sql(IvmTerm *t, IvmItem *item, int state);
extern IvmArm *trickle_ivm_native(IvmTerm *t, IvmNode *node, IvmBlock *block);
extern List *trickle_ivm_state(IvmTerm *t, IvmNode *node, IvmBlock *block, int ps);
extern List *trickle_ivm_delta(IvmTerm *t, IvmNode *node, IvmBlock *block, int ps);
extern List *trickle_ivm_joined_state(IvmTerm *t, IvmNode *side, IvmBlock *block, int ps,
									  IvmNode *join, List *d, IvmNode *flipping);
extern Query *trickle_ivm_body_at(IvmTerm *t, IvmBlock *body, int ps, bool after);

/*
 * a restriction of the scans of a body to the rows whose key column is
 * among the keys held by the WITH query cte (columns k0, k1, ...):
 * standin is a query of no rows with cte's columns (derived.c)
 */
typedef struct IvmKeyScan
{
	const char *cte;
	const char *standin;
	List	   *atts;			/* int per body item: the column restricted, or 0 */
	List	   *keys;			/* int per body item: the key it holds */
} IvmKeyScan;

extern Query *trickle_ivm_body_keyed(IvmTerm *t, IvmBlock *body, int ps, bool after,
									 IvmKeyScan *ks);
extern bool trickle_ivm_holds(IvmNode *node, int ps);

/* scan states in a term */
#define IVM_NEW		0
#define IVM_DELTA	1
#define IVM_OLD		2
#define IVM_TRUE_OLD 3

/* src/ivm/outer.c */
extern List *trickle_ivm_outer_delta(IvmTerm *t, IvmNode *node, IvmBlock *block, int ps);
extern List *trickle_ivm_outer_old(IvmTerm *t, IvmNode *node, IvmBlock *block);

/*
 * A test of the counted existence of matches (outer.c): whether a
 * subtree x holds a row satisfying cond with a candidate row.
 */
typedef struct IvmCountTest
{
	Node	   *cond;			/* over x's items and the candidates' */
	IvmBlock   *home;			/* block of cond's level 0 */
	IvmNode    *x;
	IvmBlock   *xblock;
	Node	   *guard;			/* over the candidates' items, or NULL */
	IvmBlock   *guard_home;
	bool		candidates;		/* a candidate matches a row of x's change */
	bool		counted;		/* its value is wanted */
	bool		transition;		/* before and after the flip (else after only) */
} IvmCountTest;

extern char *trickle_ivm_candidates(IvmTerm *t, List *cand_arms, List *cand_items,
									List *tests, int ps, bool all_rows);
extern char *trickle_ivm_counts(IvmTerm *t, const char *g0, List *cand_items, List *tests,
								int ps);

/* src/ivm/sublink.c */
extern List *trickle_ivm_lateral_delta(IvmTerm *t, IvmNode *node, IvmBlock *block, int ps);
extern List *trickle_ivm_lateral_join(IvmTerm *t, List *left, IvmNode *node, IvmBlock *block,
									  int ps, bool after);
extern char *trickle_ivm_sublink_term(IvmTerm *t, IvmSublink *sl, int ps);
extern char *trickle_ivm_final(IvmTerm *t, List *arms, IvmSubValue *subs, bool weighted);

/* src/ivm/derived.c */
extern bool trickle_ivm_derivable(Query *sub);
extern char *trickle_ivm_derived_setup(IvmItem *item, const char *name);
extern char *trickle_ivm_derived_label(Query *sub, const char *name);
extern List *trickle_ivm_derived_delta(IvmTerm *t, IvmItem *item, int ps);
extern List *trickle_ivm_derived_old(IvmTerm *t, IvmNode *node, IvmBlock *block);
extern List *trickle_ivm_derived_joined(IvmTerm *t, IvmNode *side, IvmBlock *block,
										IvmNode *join, List *other, List *oitems);

#endif							/* TRICKLE_IVM_INTERNAL_H */
