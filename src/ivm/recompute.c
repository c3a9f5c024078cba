/*-------------------------------------------------------------------------
 *
 * recompute.c
 *	  Keyed recompute: which queries the engine maintains by recomputing
 *	  the keys a change touches, and with which key.
 *
 * Above its FROM/WHERE block a query may group (GROUP BY, HAVING, any
 * aggregate), number (window functions), deduplicate (DISTINCT [ON]) or
 * combine several blocks (UNION, INTERSECT, EXCEPT).  The algebraic path of
 * analyze.c maintains a few aggregates from state columns; everything else
 * here rests on one observation: the output is partitioned by a key K
 * computed from the rows of the block, and the output rows of a key depend
 * only on the block's rows of that key.  So a refresh
 *
 *	1. computes the affected keys: the keys of the rows in the delta terms
 *	   of the block (src/ivm/delta.c), which hold old and new images of
 *	   every changed row, so every key whose rows changed is among them;
 *	2. recomputes the query for those keys only: the defining query, its
 *	   keys exposed as extra output columns, restricted by equality to each
 *	   key in a LATERAL subquery behind OFFSET 0, so that the planner pushes
 *	   the restriction below the grouping, the windows or the DISTINCT and
 *	   runs one parameterized index scan per key;
 *	3. compares the new rows with the stored rows of those keys and writes
 *	   the difference (src/refresh/recompute_apply.c).
 *
 * The key is the largest set of expressions that every layer of the query
 * partitions by: the GROUP BY expressions, intersected with the PARTITION
 * BY expressions of every window and with the DISTINCT [ON] expressions,
 * leaving out those holding aggregates or window functions (they are not
 * values of the block's rows).  When nothing is left (an aggregate without
 * GROUP BY, a window without PARTITION BY) every refresh would recompute the
 * whole query: such a query is refused, which makes 'auto' choose FULL.
 *
 * The stored rows of a key are found by the row identity: the hash class of
 * __trickle_row_id is the hash of the key (src/refresh/codegen.c), and a key
 * that is not an output column is kept in a hidden column
 * __trickle_key_<n>.
 *
 * GROUPING SETS, ROLLUP and CUBE are the union of one GROUP BY per grouping
 * set.  Each set is a part with its own query (grouping columns outside the
 * set are NULL, GROUPING() a constant) and its own key: the set's number,
 * kept in the hidden column __trickle_set, and the set's grouping
 * expressions.  The empty set () is a part without a key: it is recomputed
 * from every row at each refresh that has changes.
 *
 * Set operations: each branch is a FROM/WHERE block analysed as a query of
 * its own (plain blocks only).  UNION ALL needs no recompute: its delta is
 * the union of its branches' deltas, applied like a plain query's.  For
 * UNION, INTERSECT and EXCEPT [ALL] the key is the whole output row: the
 * affected rows are the rows of the branches' delta terms, and the new
 * copies of a row are the set operation applied to the branches restricted
 * to that row.
 *
 * ORDER BY ... LIMIT k over a keyed query or a plain block keeps the first k
 * rows: the changed rows and the stored rows the changes leave alone are the
 * candidates, and the whole query is run only when they cannot decide (see
 * analyze_topk).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parse_agg.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "trickle.h"

/* a key candidate: an expression the output is partitioned by */
typedef struct Cand
{
	Expr	   *expr;
	Oid			eqop;
	Index		ref;			/* its ressortgroupref in the query */
} Cand;

static char *function_names(Query *query, bool aggs);

/*
 * trickle_ivm_wants_recompute: whether query has a construct only the keyed
 * recompute (or nothing) maintains.  Aggregates the algebraic path cannot
 * maintain are found by analyze_aggregate instead.
 */
bool
trickle_ivm_wants_recompute(Query *query)
{
	return query->setOperations != NULL || query->hasWindowFuncs ||
		query->distinctClause != NIL || query->havingQual != NULL ||
		query->groupingSets != NIL || query->limitCount != NULL ||
		query->limitOffset != NULL;
}

/* the expressions of clauses (SortGroupClause) that are values of block rows */
static List *
clause_cands(List *clauses, List *tlist)
{
	List	   *cands = NIL;
	ListCell   *lc;

	foreach(lc, clauses)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, tlist);
		Cand	   *c;

		if (contain_agg_clause((Node *) tle->expr) ||
			contain_window_function((Node *) tle->expr))
			continue;
		c = palloc(sizeof(Cand));
		c->expr = tle->expr;
		c->eqop = sgc->eqop;
		c->ref = tle->ressortgroupref;
		cands = lappend(cands, c);
	}
	return cands;
}

/* the members of cands whose expression is also in layer */
static List *
intersect_cands(List *cands, List *layer)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, cands)
	{
		Cand	   *c = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, layer)
		{
			if (equal(c->expr, ((Cand *) lfirst(lc2))->expr))
			{
				out = lappend(out, c);
				break;
			}
		}
	}
	return out;
}

/*
 * derive_keys: the expressions every layer of query partitions its rows by
 * (see the file comment), without duplicates; NIL with *why set when there
 * are none.
 */
static List *
derive_keys(Query *query, char **why)
{
	List	   *cands = NIL;
	List	   *keys = NIL;
	bool		any = true;
	ListCell   *lc;

	*why = NULL;
	if (query->groupClause)
	{
		cands = clause_cands(query->groupClause, query->targetList);
		any = false;
	}
	else if (query->hasAggs)
	{
		*why = psprintf("aggregates (%s)%s without GROUP BY: their one row depends on every row, so each refresh would recompute the whole query",
						function_names(query, true), query->havingQual ? " and HAVING" : "");
		return NIL;
	}
	foreach(lc, query->windowClause)
	{
		WindowClause *wc = lfirst(lc);
		List	   *part = clause_cands(wc->partitionClause, query->targetList);

		if (wc->partitionClause == NIL)
		{
			*why = pstrdup("a window function without PARTITION BY: each refresh would recompute the whole query");
			return NIL;
		}
		cands = any ? part : intersect_cands(cands, part);
		any = false;
		if (cands == NIL)
		{
			*why = pstrdup("window functions without a PARTITION BY expression common to every window (and to GROUP BY): each refresh would recompute the whole query");
			return NIL;
		}
	}
	if (query->distinctClause)
	{
		List	   *dist = clause_cands(query->distinctClause, query->targetList);

		cands = any ? dist : intersect_cands(cands, dist);
		any = false;
		if (cands == NIL)
		{
			*why = pstrdup("DISTINCT without a column that is a value of the rows (a grouping expression, or in every window's PARTITION BY): each refresh would recompute the whole query");
			return NIL;
		}
	}
	if (any)
	{
		*why = pstrdup("nothing to recompute by");
		return NIL;
	}
	foreach(lc, cands)
	{
		Cand	   *c = lfirst(lc);
		ListCell   *lc2;
		bool		dup = false;

		foreach(lc2, keys)
			dup |= equal(c->expr, ((Cand *) lfirst(lc2))->expr);
		if (!dup)
			keys = lappend(keys, c);
	}
	return keys;
}

/* the expression of the n-th visible output column */
static Expr *
nth_visible(Query *query, int n)
{
	ListCell   *lc;

	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (!tle->resjunk && n-- == 0)
			return tle->expr;
	}
	elog(ERROR, "no output column %d", n);
}

/* the visible output column whose expression is expr, or -1 */
static int
visible_column(Query *query, Expr *expr)
{
	ListCell   *lc;
	int			i = 0;

	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (tle->resjunk)
			continue;
		if (equal(tle->expr, expr))
			return i;
		i++;
	}
	return -1;
}

/*
 * check_key_type: NULL when stored rows can be matched on a key of type
 * (record equality needs the type's default equality), else why not
 */
static char *
check_key_type(Oid type)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);

	if (!OidIsValid(tc->eq_opr))
		return psprintf("a key of type %s, which has no default equality operator",
						format_type_be(type));
	return NULL;
}

/*
 * block_query: the FROM/WHERE block of query, with targets as its output
 * columns (named __trickle_k<n>)
 */
static Query *
block_query(Query *query, List *targets)
{
	Query	   *block = copyObject(query);
	ListCell   *lc;
	int			n = 0;

	block->targetList = NIL;
	foreach(lc, targets)
	{
		block->targetList = lappend(block->targetList,
									makeTargetEntry(copyObject(lfirst(lc)), n + 1,
													psprintf("__trickle_k%d", n), false));
		n++;
	}
	block->groupClause = NIL;
	block->groupingSets = NIL;
	block->groupDistinct = false;
	block->havingQual = NULL;
	block->windowClause = NIL;
	block->distinctClause = NIL;
	block->sortClause = NIL;
	block->limitOffset = NULL;
	block->limitCount = NULL;
	block->hasAggs = false;
	block->hasWindowFuncs = false;
	block->hasDistinctOn = false;
	block->hasTargetSRFs = false;
	block->hasSubLinks = checkExprHasSubLink((Node *) block->jointree) ||
		checkExprHasSubLink((Node *) block->targetList);
	return block;
}

typedef struct ReadContext
{
	Query	   *query;
	int			depth;			/* query levels entered */
	List	  **sources;
} ReadContext;

/* adds column attnum (0: every column) of relid to its entry of *sources */
static void
add_column_read(List **sources, Oid relid, int attnum)
{
	ListCell   *lc;

	foreach(lc, *sources)
	{
		TrickleIvmSource *src = lfirst(lc);

		if (src->relid != relid)
			continue;
		if (attnum > 0)
			src->attnums = list_append_unique_int(src->attnums, attnum);
		else
		{
			Relation	rel = table_open(relid, AccessShareLock);
			TupleDesc	desc = RelationGetDescr(rel);
			int			i;

			for (i = 0; i < desc->natts; i++)
			{
				if (!TupleDescAttr(desc, i)->attisdropped)
					src->attnums = list_append_unique_int(src->attnums, i + 1);
			}
			table_close(rel, AccessShareLock);
		}
		list_sort(src->attnums, list_int_cmp);
	}
}

static bool
columns_read_walker(Node *node, ReadContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == ctx->depth &&
		((Var *) node)->varattno >= 0)
	{
		Var		   *var = (Var *) node;
		RangeTblEntry *rte = rt_fetch(var->varno, ctx->query->rtable);

		if (rte->rtekind == RTE_RELATION)
			add_column_read(ctx->sources, rte->relid, var->varattno);
		else if (rte->rtekind == RTE_JOIN && var->varattno > 0)
		{
			/* a join alias: the columns it stands for, at this level */
			Node	   *alias = copyObject(list_nth(rte->joinaliasvars, var->varattno - 1));

			IncrementVarSublevelsUp(alias, ctx->depth, 0);
			return columns_read_walker(alias, ctx);
		}
		return false;
	}
	if (IsA(node, Query))
	{
		bool		r;

		ctx->depth++;
		r = query_tree_walker((Query *) node, columns_read_walker, ctx, 0);
		ctx->depth--;
		return r;
	}
	return expression_tree_walker(node, columns_read_walker, ctx);
}

/*
 * add_columns_read: every column of its sources that query reads, in
 * plan->sources (whose columns are what the capture copies).  The block's
 * delta reads only the key columns, but a change to any column the query
 * reads changes its output: the capture drops an UPDATE whose captured
 * columns all kept their values (src/cdc/capture.c), which is right only
 * when they are every column the consumers read.
 */
static void
add_columns_read(TrickleIvmPlan *plan, Query *query)
{
	ReadContext ctx;

	ctx.query = query;
	ctx.depth = 0;
	ctx.sources = &plan->sources;
	(void) query_tree_walker(query, columns_read_walker, &ctx, 0);
}

/*
 * analyze_block: the plain plan of query's FROM/WHERE block with targets as
 * outputs; NULL with the plan refused when it is not maintainable
 */
static TrickleIvmPlan *
analyze_block(TrickleIvmPlan *plan, Query *query, List *targets)
{
	TrickleIvmPlan *block = trickle_ivm_analyze(block_query(query, targets), NIL);
	ListCell   *lc;

	if (!block->supported)
	{
		trickle_ivm_refuse(plan, "%s", block->reason);
		return NULL;
	}
	if (block->aggregate || block->recompute)
		elog(ERROR, "the FROM/WHERE block of a query is not a plain block");
	plan->scans = block->scans;
	plan->sources = NIL;
	foreach(lc, block->sources)
	{
		TrickleIvmSource *src = palloc(sizeof(TrickleIvmSource));

		*src = *(TrickleIvmSource *) lfirst(lc);
		src->attnums = list_copy(src->attnums);
		plan->sources = lappend(plan->sources, src);
	}
	add_columns_read(plan, query);
	return block;
}

static TrickleIvmBranch *
make_branch(TrickleIvmPlan *block, int first_scan)
{
	TrickleIvmBranch *branch = palloc0(sizeof(TrickleIvmBranch));

	branch->block = block;
	branch->first_scan = first_scan;
	return branch;
}

/*
 * expose_keys: rows (modified) with every key of the plan that is not a
 * visible column added as one, after the visible columns; the names of the
 * columns holding the keys in *exposed.  A key whose slot is not in members
 * (GROUPING_SETS: a grouping column outside the set) is not exposed (NULL).
 */
static void
expose_keys(Query *rows, List *keys, List *members, List **exposed, bool keep_order)
{
	List	   *visible = NIL;
	List	   *junk = NIL;
	List	   *added = NIL;
	ListCell   *lc;
	int			resno = 1;

	*exposed = NIL;
	foreach(lc, keys)
	{
		TrickleIvmKey *key = lfirst(lc);
		int			n = foreach_current_index(lc);
		TargetEntry *tle;

		if (!list_member_int(members, n))
			*exposed = lappend(*exposed, NULL);
		else if (key->column >= 0)
			*exposed = lappend(*exposed, key->stored);
		else
		{
			tle = makeTargetEntry(copyObject(key->expr), 0, psprintf("__trickle_k%d", n), false);
			added = lappend(added, tle);
			*exposed = lappend(*exposed, tle->resname);
		}
	}

	/*
	 * Added columns go after the visible ones and before the junk ones.  A
	 * DISTINCT ON, PARTITION BY or GROUP BY expression reparsed from the
	 * deparsed text refers to the first column holding it, which for a key
	 * that is not visible is the added one: the restriction on it is then a
	 * restriction on a DISTINCT ON, partitioning or grouping column, which
	 * the planner pushes down.
	 */
	foreach(lc, rows->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (tle->resjunk)
			junk = lappend(junk, tle);
		else
			visible = lappend(visible, tle);
	}
	rows->targetList = list_concat(list_concat(visible, added), junk);
	foreach(lc, rows->targetList)
		((TargetEntry *) lfirst(lc))->resno = resno++;

	/* ORDER BY matters to a stream table only where it picks rows */
	if (!rows->hasDistinctOn && !keep_order)
		rows->sortClause = NIL;
}

/* the names of the aggregates of query, with what makes them special */
typedef struct WhatContext
{
	StringInfo	buf;
	bool		first;
} WhatContext;

static bool
collect_what(Node *node, WhatContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref) || IsA(node, WindowFunc))
	{
		bool		agg = IsA(node, Aggref);
		Oid			fn = agg ? ((Aggref *) node)->aggfnoid : ((WindowFunc *) node)->winfnoid;
		StringInfoData one;

		initStringInfo(&one);
		appendStringInfoString(&one, get_func_name(fn));
		if (agg && ((Aggref *) node)->aggdistinct)
			appendStringInfoString(&one, " DISTINCT");
		if (agg && ((Aggref *) node)->aggorder && !((Aggref *) node)->aggdistinct)
			appendStringInfoString(&one, " ORDER BY");
		if ((agg && ((Aggref *) node)->aggfilter) || (!agg && ((WindowFunc *) node)->aggfilter))
			appendStringInfoString(&one, " FILTER");
		if (strstr(ctx->buf->data, one.data) == NULL)
		{
			appendStringInfo(ctx->buf, "%s%s", ctx->first ? "" : ", ", one.data);
			ctx->first = false;
		}
		pfree(one.data);
		/* an aggregate inside a window function's argument */
		return expression_tree_walker(node, collect_what, ctx);
	}
	return expression_tree_walker(node, collect_what, ctx);
}

/* the names of the aggregates (aggs) or window functions of query */
static char *
function_names(Query *query, bool aggs)
{
	StringInfoData buf;
	WhatContext ctx = {&buf, true};
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, query->targetList)
	{
		Node	   *expr = (Node *) ((TargetEntry *) lfirst(lc))->expr;

		if (aggs)
		{
			List	   *found = pull_var_clause(expr, PVC_INCLUDE_AGGREGATES |
												PVC_RECURSE_WINDOWFUNCS |
												PVC_RECURSE_PLACEHOLDERS);

			collect_what((Node *) found, &ctx);
		}
		else
		{
			List	   *found = pull_var_clause(expr, PVC_RECURSE_AGGREGATES |
												PVC_INCLUDE_WINDOWFUNCS |
												PVC_RECURSE_PLACEHOLDERS);
			ListCell   *lc2;

			foreach(lc2, found)
			{
				if (IsA(lfirst(lc2), WindowFunc))
				{
					WindowFunc *wf = copyObject(lfirst(lc2));

					/* its argument's aggregates are not what the window computes */
					wf->args = NIL;
					wf->aggfilter = NULL;
					collect_what((Node *) wf, &ctx);
				}
			}
		}
	}
	if (aggs && query->havingQual)
		collect_what((Node *) pull_var_clause(query->havingQual, PVC_INCLUDE_AGGREGATES),
					 &ctx);
	return buf.data;
}

/* what a keyed query recomputes, for trickle_ivm_describe */
static char *
describe_layers(Query *query)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (query->groupClause || query->hasAggs)
	{
		char	   *names = function_names(query, true);

		appendStringInfoString(&buf, "Aggregate");
		if (names[0])
			appendStringInfo(&buf, " (%s)", names);
		if (query->havingQual)
			appendStringInfoString(&buf, " with HAVING");
	}
	if (query->hasWindowFuncs)
		appendStringInfo(&buf, "%sWindow (%s)", buf.len ? ", " : "",
						 function_names(query, false));
	if (query->distinctClause)
		appendStringInfo(&buf, "%s%s", buf.len ? ", " : "",
						 query->hasDistinctOn ? "Distinct On" : "Distinct");
	return buf.data;
}

/* the key list of the plan from candidates, with hidden columns */
static char *
make_keys(TrickleIvmPlan *plan, Query *query, List *cands, int first)
{
	ListCell   *lc;
	int			n = first;

	foreach(lc, cands)
	{
		Cand	   *c = lfirst(lc);
		TrickleIvmKey *key = palloc0(sizeof(TrickleIvmKey));
		Oid			type = exprType((Node *) c->expr);
		char	   *problem = check_key_type(type);

		if (problem)
			return problem;
		key->expr = c->expr;
		key->column = visible_column(query, c->expr);
		if (key->column >= 0)
			key->stored = ((TrickleColumn *) list_nth(plan->columns, key->column))->name;
		else
		{
			key->stored = trickle_ivm_hidden_name("key", n);
			trickle_ivm_add_hidden(plan, key->stored, type, exprTypmod((Node *) c->expr),
					   exprCollation((Node *) c->expr));
		}
		plan->keys = lappend(plan->keys, key);
		plan->recompute->eqops = lappend_oid(plan->recompute->eqops, c->eqop);
		n++;
	}
	return NULL;
}

/* the integers 0 .. n-1 */
static List *
range_list(int from, int n)
{
	List	   *list = NIL;
	int			i;

	for (i = from; i < n; i++)
		list = lappend_int(list, i);
	return list;
}

/* a query whose keys are the partitioning expressions of its layers */
static TrickleIvmPlan *
analyze_keyed(TrickleIvmPlan *plan, Query *query)
{
	TrickleIvmRecompute *rc = plan->recompute;
	TrickleIvmPart *part = palloc0(sizeof(TrickleIvmPart));
	List	   *cands;
	List	   *targets = NIL;
	ListCell   *lc;
	TrickleIvmPlan *block;
	char	   *why;

	rc->kind = TRICKLE_RECOMPUTE_KEYED;
	cands = derive_keys(query, &why);
	if (cands == NIL)
		return trickle_ivm_refuse(plan, "%s", why);
	foreach(lc, cands)
		targets = lappend(targets, ((Cand *) lfirst(lc))->expr);
	if ((block = analyze_block(plan, query, targets)) == NULL)
		return plan;
	rc->branches = list_make1(make_branch(block, 0));
	if ((why = make_keys(plan, query, cands, 0)) != NULL)
		return trickle_ivm_refuse(plan, "%s", why);

	part->rows = copyObject(query);
	expose_keys(part->rows, plan->keys, range_list(0, list_length(plan->keys)), &part->exposed,
				false);
	part->set = -1;
	rc->parts = list_make1(part);
	rc->what = describe_layers(query);
	return plan;
}

/* ---------------------------------------------------------------------
 * GROUPING SETS
 * ---------------------------------------------------------------------
 */

typedef struct SetContext
{
	List	   *members;		/* grouping expressions of the set */
	List	   *nulled;			/* grouping expressions outside it */
	List	   *set;			/* ressortgrouprefs of the set */
} SetContext;

/*
 * set_mutator: an expression of the target list or HAVING as the query of
 * one grouping set sees it.  Like the planner, it matches grouping
 * expressions outermost first: a grouping expression of the set is kept
 * whole, one outside the set becomes NULL; aggregate arguments see the rows
 * themselves; GROUPING() is a constant.
 */
static Node *
set_mutator(Node *node, SetContext *ctx)
{
	ListCell   *lc;

	if (node == NULL)
		return NULL;
	if (IsA(node, Aggref))
		return copyObject(node);
	if (IsA(node, GroupingFunc))
	{
		GroupingFunc *g = (GroupingFunc *) node;
		int32		v = 0;

		foreach(lc, g->refs)
			v = (v << 1) | (list_member_int(ctx->set, lfirst_int(lc)) ? 0 : 1);
		return (Node *) makeConst(INT4OID, -1, InvalidOid, sizeof(int32),
								  Int32GetDatum(v), false, true);
	}
	foreach(lc, ctx->members)
	{
		if (equal(node, lfirst(lc)))
			return copyObject(node);
	}
	foreach(lc, ctx->nulled)
	{
		if (equal(node, lfirst(lc)))
			return (Node *) makeNullConst(exprType(node), exprTypmod(node),
										  exprCollation(node));
	}
	return expression_tree_mutator(node, set_mutator, ctx);
}

/* the query of one grouping set (ressortgrouprefs) of query */
static Query *
grouping_set_query(Query *query, List *set)
{
	Query	   *rows = copyObject(query);
	SetContext	ctx = {0};
	ListCell   *lc;

	ctx.set = set;
	rows->groupingSets = NIL;
	rows->groupDistinct = false;
	rows->groupClause = NIL;
	foreach(lc, query->groupClause)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);

		if (list_member_int(set, sgc->tleSortGroupRef))
		{
			rows->groupClause = lappend(rows->groupClause, copyObject(sgc));
			ctx.members = lappend(ctx.members, tle->expr);
		}
		else
			ctx.nulled = lappend(ctx.nulled, tle->expr);
	}
	/* the empty set: one row, even over no rows, as GROUP BY () */
	if (rows->groupClause == NIL)
		rows->groupingSets = list_make1(makeGroupingSet(GROUPING_SET_EMPTY, NIL, -1));
	foreach(lc, rows->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		tle->expr = (Expr *) set_mutator((Node *) tle->expr, &ctx);
	}
	rows->havingQual = set_mutator(rows->havingQual, &ctx);
	return rows;
}

static TrickleIvmPlan *
analyze_grouping_sets(TrickleIvmPlan *plan, Query *query)
{
	TrickleIvmRecompute *rc = plan->recompute;
	TrickleIvmKey *setkey = palloc0(sizeof(TrickleIvmKey));
	List	   *sets;
	List	   *cands;
	List	   *targets = NIL;
	TrickleIvmPlan *block;
	StringInfoData what;
	ListCell   *lc;
	char	   *why;
	int			id = 0;

	rc->kind = TRICKLE_RECOMPUTE_GROUPING_SETS;
	if (query->hasWindowFuncs || query->distinctClause)
		return trickle_ivm_refuse(plan, "GROUPING SETS, ROLLUP or CUBE with window functions or DISTINCT");
	sets = expand_grouping_sets(query->groupingSets, query->groupDistinct, 4096);
	if (sets == NIL)
		return trickle_ivm_refuse(plan, "GROUPING SETS, ROLLUP or CUBE of more than 4096 grouping sets");
	if (list_length(sets) == 1 && linitial(sets) == NIL)
		return trickle_ivm_refuse(plan, "GROUP BY () without other grouping sets: its one row depends on every row, so each refresh would recompute the whole query");

	/* key 0: the set's number; then every grouping expression */
	setkey->expr = (Expr *) makeConst(INT4OID, -1, InvalidOid, sizeof(int32),
									  Int32GetDatum(0), false, true);
	setkey->column = -1;
	setkey->stored = trickle_ivm_hidden_name("set", -1);
	trickle_ivm_add_hidden(plan, setkey->stored, INT4OID, -1, InvalidOid);
	plan->keys = list_make1(setkey);
	rc->eqops = list_make1_oid(Int4EqualOperator);

	cands = clause_cands(query->groupClause, query->targetList);
	if (list_length(cands) != list_length(query->groupClause))
		elog(ERROR, "a grouping expression holds an aggregate");
	foreach(lc, cands)
		targets = lappend(targets, ((Cand *) lfirst(lc))->expr);
	if ((block = analyze_block(plan, query, targets)) == NULL)
		return plan;
	rc->branches = list_make1(make_branch(block, 0));
	if ((why = make_keys(plan, query, cands, 1)) != NULL)
		return trickle_ivm_refuse(plan, "%s", why);

	initStringInfo(&what);
	appendStringInfo(&what, "%d grouping sets:", list_length(sets));
	foreach(lc, sets)
	{
		List	   *set = lfirst(lc);
		TrickleIvmPart *part = palloc0(sizeof(TrickleIvmPart));
		List	   *members = NIL;
		ListCell   *lc2;

		/* keys of the set: the grouping expressions whose ref is in it */
		foreach(lc2, cands)
		{
			if (list_member_int(set, ((Cand *) lfirst(lc2))->ref))
				members = lappend_int(members, foreach_current_index(lc2) + 1);
		}
		part->rows = grouping_set_query(query, set);
		expose_keys(part->rows, plan->keys, members, &part->exposed, false);
		part->set = id++;
		rc->parts = lappend(rc->parts, part);

		appendStringInfoString(&what, foreach_current_index(lc) ? ", (" : " (");
		foreach(lc2, members)
			appendStringInfo(&what, "%s%s", foreach_current_index(lc2) ? ", " : "",
							 quote_identifier(((TrickleIvmKey *) list_nth(plan->keys, lfirst_int(lc2)))->stored));
		appendStringInfoChar(&what, ')');
	}
	appendStringInfo(&what, "; %s", describe_layers(query));
	if (list_member(sets, NIL))
		appendStringInfoString(&what, "; the set () is recomputed from every row");
	rc->what = what.data;
	return plan;
}

/* ---------------------------------------------------------------------
 * Set operations
 * ---------------------------------------------------------------------
 */

static bool
has_ordering(Oid type)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_CMP_PROC);

	return OidIsValid(tc->cmp_proc);
}

/* adds the columns of sources to those of *into (both TrickleIvmSource) */
static void
merge_sources(List **into, List *sources)
{
	ListCell   *lc;

	foreach(lc, sources)
	{
		TrickleIvmSource *src = lfirst(lc);
		TrickleIvmSource *dst = NULL;
		ListCell   *lc2;

		foreach(lc2, *into)
		{
			if (((TrickleIvmSource *) lfirst(lc2))->relid == src->relid)
				dst = lfirst(lc2);
		}
		if (dst == NULL)
		{
			dst = palloc0(sizeof(TrickleIvmSource));
			dst->relid = src->relid;
			*into = lappend(*into, dst);
		}
		foreach(lc2, src->attnums)
			dst->attnums = list_append_unique_int(dst->attnums, lfirst_int(lc2));
	}
}

static int
cmp_int(const ListCell *a, const ListCell *b)
{
	return lfirst_int(a) - lfirst_int(b);
}

typedef struct SetopWalk
{
	Query	   *query;
	SetOperationStmt *top;
	List	   *leaves;			/* Query */
	bool		union_all;		/* every node is UNION ALL */
	bool		same_types;		/* every node has the top's column types */
} SetopWalk;

static void
walk_setop(Node *node, SetopWalk *walk)
{
	if (IsA(node, RangeTblRef))
	{
		RangeTblEntry *rte = rt_fetch(((RangeTblRef *) node)->rtindex, walk->query->rtable);

		walk->leaves = lappend(walk->leaves, rte->subquery);
	}
	else
	{
		SetOperationStmt *op = castNode(SetOperationStmt, node);

		walk->union_all &= op->op == SETOP_UNION && op->all;
		walk->same_types &= equal(op->colTypes, walk->top->colTypes) &&
			equal(op->colTypmods, walk->top->colTypmods) &&
			equal(op->colCollations, walk->top->colCollations);
		walk_setop(op->larg, walk);
		walk_setop(op->rarg, walk);
	}
}

/* the visible columns of a set operation branch */
static List *
leaf_columns(Query *leaf)
{
	List	   *columns = NIL;
	ListCell   *lc;

	foreach(lc, leaf->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		TrickleColumn *col;

		if (tle->resjunk)
			continue;
		col = palloc0(sizeof(TrickleColumn));
		col->name = tle->resname ? pstrdup(tle->resname) : psprintf("column%d", tle->resno);
		col->type = exprType((Node *) tle->expr);
		col->typmod = exprTypmod((Node *) tle->expr);
		col->collation = exprCollation((Node *) tle->expr);
		columns = lappend(columns, col);
	}
	return columns;
}

static const char *
setop_name(SetOperationStmt *op)
{
	switch (op->op)
	{
		case SETOP_UNION:
			return op->all ? "UNION ALL" : "UNION";
		case SETOP_INTERSECT:
			return op->all ? "INTERSECT ALL" : "INTERSECT";
		case SETOP_EXCEPT:
			return op->all ? "EXCEPT ALL" : "EXCEPT";
		default:
			return "a set operation";
	}
}

static TrickleIvmPlan *
analyze_setop(TrickleIvmPlan *plan, Query *query)
{
	TrickleIvmRecompute *rc = plan->recompute;
	SetopWalk	walk = {0};
	ListCell   *lc;
	int			first_scan = 0;

	walk.query = query;
	walk.top = castNode(SetOperationStmt, query->setOperations);
	walk.union_all = true;
	walk.same_types = true;
	walk_setop((Node *) walk.top, &walk);
	rc->kind = walk.union_all ? TRICKLE_RECOMPUTE_UNION_ALL : TRICKLE_RECOMPUTE_SETOP;

	if (query->limitCount || query->limitOffset)
		return trickle_ivm_refuse(plan, "LIMIT or OFFSET");
	if (!walk.same_types)
		return trickle_ivm_refuse(plan, "set operations nested with different column types");

	foreach(lc, walk.leaves)
	{
		Query	   *leaf = lfirst(lc);
		TrickleIvmPlan *block = trickle_ivm_analyze(leaf, leaf_columns(leaf));

		if (!block->supported)
			return trickle_ivm_refuse(plan, "%s", block->reason);
		if (block->aggregate || block->recompute)
			return trickle_ivm_refuse(plan, "a branch of %s with GROUP BY, aggregates, DISTINCT, window functions or LIMIT",
						  setop_name(walk.top));
		rc->branches = lappend(rc->branches, make_branch(block, first_scan));
		first_scan += list_length(block->scans);
		plan->scans = list_concat(plan->scans, block->scans);
		merge_sources(&plan->sources, block->sources);
	}
	foreach(lc, plan->sources)
		list_sort(((TrickleIvmSource *) lfirst(lc))->attnums, cmp_int);

	/* the key is the row: every column */
	foreach(lc, plan->columns)
	{
		TrickleColumn *col = lfirst(lc);
		TrickleIvmKey *key = palloc0(sizeof(TrickleIvmKey));
		TypeCacheEntry *tc = lookup_type_cache(col->type, TYPECACHE_EQ_OPR);

		if (!has_ordering(col->type) || !OidIsValid(tc->eq_opr))
			return trickle_ivm_refuse(plan, "output column \"%s\" has type %s, which has no ordering to compare rows with",
						  col->name, format_type_be(col->type));
		key->expr = ((TargetEntry *) list_nth(query->targetList, foreach_current_index(lc)))->expr;
		key->column = foreach_current_index(lc);
		key->stored = col->name;
		plan->keys = lappend(plan->keys, key);
		rc->eqops = lappend_oid(rc->eqops, tc->eq_opr);
	}
	rc->what = pstrdup(setop_name(walk.top));
	return plan;
}

/* ---------------------------------------------------------------------
 * ORDER BY ... LIMIT
 * ---------------------------------------------------------------------
 */

/* "name [DESC] [NULLS FIRST|LAST]" for the sort clauses of a top-k plan */
static char *
describe_sort(TrickleIvmPlan *plan)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, plan->recompute->sort)
	{
		SortGroupClause *sgc = lfirst(lc);
		TrickleColumn *col = list_nth(plan->columns,
									  list_nth_int(plan->recompute->sortcols, foreach_current_index(lc)));
		Oid			opfamily;
		Oid			opcintype;
		int16		strategy;
		bool		desc;

		desc = get_ordering_op_properties(sgc->sortop, &opfamily, &opcintype, &strategy) &&
			strategy == BTGreaterStrategyNumber;
		appendStringInfo(&buf, "%s%s%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(col->name), desc ? " DESC" : "");
		if (sgc->nulls_first != desc)
			appendStringInfoString(&buf, sgc->nulls_first ? " NULLS FIRST" : " NULLS LAST");
	}
	return buf.data;
}

/*
 * analyze_topk: ORDER BY ... LIMIT k over a keyed query or a plain block.
 *
 * The stream table holds the first k rows.  A refresh takes as candidates
 * the stored rows the changes leave alone and the changed rows (the new rows
 * of the affected keys, or a plain block's inserted rows); every other row
 * of the query sorts after the last stored row.  So when at least k
 * candidates sort before or with that last row (or fewer than k rows were
 * stored: there is no other row), the first k candidates are the new
 * result; otherwise the query is run whole, as FULL would.
 */
static TrickleIvmPlan *
analyze_topk(TrickleIvmPlan *plan, Query *query)
{
	TrickleIvmRecompute *rc = plan->recompute;
	Query	   *inner = copyObject(query);
	/* LIMIT 5 is int8(5) until folded */
	Const	   *limit = (Const *) eval_const_expressions(NULL, query->limitCount);
	Const	   *offset = (Const *) eval_const_expressions(NULL, query->limitOffset);
	ListCell   *lc;

	if (query->limitOption != LIMIT_OPTION_COUNT)
		return trickle_ivm_refuse(plan, "FETCH FIRST ... WITH TIES");
	if (offset && (!IsA(offset, Const) ||
				   (!offset->constisnull && DatumGetInt64(offset->constvalue) != 0)))
		return trickle_ivm_refuse(plan, "OFFSET: the rows before the stored ones are not kept, so any change may move them");
	if (limit && !IsA(limit, Const))
		return trickle_ivm_refuse(plan, "LIMIT with a value that is not a constant");
	inner->limitCount = NULL;
	inner->limitOffset = NULL;
	/* LIMIT ALL (or NULL), OFFSET 0: the query without them */
	if (limit == NULL || limit->constisnull)
		return trickle_ivm_analyze_stored(inner, plan->columns, plan->existing);
	if (query->sortClause == NIL)
		return trickle_ivm_refuse(plan, "LIMIT without ORDER BY: which rows it keeps is arbitrary");
	if (query->hasDistinctOn || query->groupingSets)
		return trickle_ivm_refuse(plan, "ORDER BY ... LIMIT over DISTINCT ON or GROUPING SETS");
	foreach(lc, query->sortClause)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);
		int			column;

		if (tle->resjunk || (column = visible_column(query, tle->expr)) < 0)
			return trickle_ivm_refuse(plan, "ORDER BY an expression that is not an output column, with LIMIT");
		rc->sort = lappend(rc->sort, copyObject(sgc));
		rc->sortcols = lappend_int(rc->sortcols, column);
	}
	inner->sortClause = NIL;

	if (inner->hasAggs || inner->groupClause || inner->distinctClause ||
		inner->hasWindowFuncs || inner->havingQual)
	{
		/* the rows of the keys a change touches, as analyze_keyed has them */
		analyze_keyed(plan, inner);
		if (!plan->supported)
			return plan;
		rc->top = palloc0(sizeof(TrickleIvmPart));
		rc->top->rows = copyObject(query);
		expose_keys(rc->top->rows, plan->keys, range_list(0, list_length(plan->keys)),
					&rc->top->exposed, true);
		rc->top->set = -1;
	}
	else
	{
		TrickleIvmPlan *block = trickle_ivm_analyze(inner, plan->columns);

		if (!block->supported)
			return trickle_ivm_refuse(plan, "%s", block->reason);
		if (block->aggregate || block->recompute)
			elog(ERROR, "the block below ORDER BY ... LIMIT is not a plain block");
		rc->branches = list_make1(make_branch(block, 0));
		plan->scans = block->scans;
		plan->sources = block->sources;
		/* rows are identified by their values, as a plain query's */
		foreach(lc, plan->columns)
		{
			TrickleColumn *col = lfirst(lc);
			TrickleIvmKey *key = palloc0(sizeof(TrickleIvmKey));
			TypeCacheEntry *tc = lookup_type_cache(col->type, TYPECACHE_EQ_OPR);

			if (!has_ordering(col->type) || !OidIsValid(tc->eq_opr))
				return trickle_ivm_refuse(plan, "output column \"%s\" has type %s, which has no ordering to compare rows with",
							  col->name, format_type_be(col->type));
			key->expr = nth_visible(query, foreach_current_index(lc));
			key->column = foreach_current_index(lc);
			key->stored = col->name;
			plan->keys = lappend(plan->keys, key);
			rc->eqops = lappend_oid(rc->eqops, tc->eq_opr);
		}
	}
	rc->kind = TRICKLE_RECOMPUTE_TOPK;
	rc->limit = DatumGetInt64(limit->constvalue);
	return plan;
}

/* ---------------------------------------------------------------------
 * Entry points
 * ---------------------------------------------------------------------
 */

/*
 * trickle_ivm_analyze_recompute: the keyed recompute plan of query (see
 * the file comment), or an unsupported plan saying why not.
 */
TrickleIvmPlan *
trickle_ivm_analyze_recompute(Query *query, List *columns, List *existing)
{
	TrickleIvmPlan *plan = palloc0(sizeof(TrickleIvmPlan));
	ListCell   *lc;

	plan->supported = true;
	plan->query = query;
	plan->columns = columns;
	plan->existing = existing;
	plan->recompute = palloc0(sizeof(TrickleIvmRecompute));

	if (query->setOperations)
		return analyze_setop(plan, query);
	if (query->hasTargetSRFs)
		return trickle_ivm_refuse(plan, "set-returning functions in the select list");

	/*
	 * Only the FROM/WHERE block's changes are captured: a subquery anywhere
	 * else could read tables whose changes no term sees.
	 */
	foreach(lc, query->targetList)
	{
		if (checkExprHasSubLink((Node *) ((TargetEntry *) lfirst(lc))->expr))
			return trickle_ivm_refuse(plan, "a subquery in the select list");
	}
	if (checkExprHasSubLink(query->havingQual))
		return trickle_ivm_refuse(plan, "a subquery in HAVING");

	if (query->limitCount || query->limitOffset)
		return analyze_topk(plan, query);
	if (query->groupingSets)
		return analyze_grouping_sets(plan, query);
	return analyze_keyed(plan, query);
}

static void
describe_setop(StringInfo buf, TrickleIvmPlan *plan, Node *node, int depth, int *leaf)
{
	appendStringInfoSpaces(buf, depth * 2);
	if (IsA(node, RangeTblRef))
	{
		TrickleIvmBranch *branch = list_nth(plan->recompute->branches, (*leaf)++);

		appendStringInfo(buf, "Branch %d\n", *leaf);
		trickle_ivm_describe_block(buf, branch->block, depth + 1);
	}
	else
	{
		SetOperationStmt *op = castNode(SetOperationStmt, node);
		const char *name = setop_name(op);

		appendStringInfo(buf, "%c", name[0]);
		for (name++; *name; name++)
			appendStringInfoChar(buf, name[-1] == ' ' ? *name : pg_ascii_tolower(*name));
		appendStringInfoChar(buf, '\n');
		describe_setop(buf, plan, op->larg, depth + 1, leaf);
		describe_setop(buf, plan, op->rarg, depth + 1, leaf);
	}
}

/*
 * trickle_ivm_describe_recompute: the operator tree of a recompute plan,
 * one operator per line (see trickle_ivm_describe).
 */
void
trickle_ivm_describe_recompute(StringInfo buf, TrickleIvmPlan *plan)
{
	TrickleIvmRecompute *rc = plan->recompute;
	ListCell   *lc;
	int			leaf = 0;
	int			depth = 1;

	switch (rc->kind)
	{
		case TRICKLE_RECOMPUTE_UNION_ALL:
			appendStringInfo(buf, "Union All (%d branches, no recompute)\n",
							 list_length(rc->branches));
			foreach(lc, rc->branches)
			{
				TrickleIvmBranch *branch = lfirst(lc);

				appendStringInfo(buf, "  Branch %d\n", foreach_current_index(lc) + 1);
				trickle_ivm_describe_block(buf, branch->block, 2);
			}
			return;
		case TRICKLE_RECOMPUTE_SETOP:
			appendStringInfoString(buf, "Recompute by row\n");
			describe_setop(buf, plan, plan->query->setOperations, 1, &leaf);
			return;
		case TRICKLE_RECOMPUTE_GROUPING_SETS:
			appendStringInfo(buf, "Recompute by grouping set (%s)\n", rc->what);
			break;
		case TRICKLE_RECOMPUTE_TOPK:
			appendStringInfo(buf, "Top-k (LIMIT " INT64_FORMAT ", ORDER BY %s)\n",
							 rc->limit, describe_sort(plan));
			if (rc->parts == NIL)
				break;
			depth = 2;
			appendStringInfoString(buf, "  ");
			/* FALLTHROUGH */
		case TRICKLE_RECOMPUTE_KEYED:
			appendStringInfoString(buf, "Recompute by key (");
			foreach(lc, plan->keys)
				appendStringInfo(buf, "%s%s", foreach_current_index(lc) ? ", " : "",
								 quote_identifier(((TrickleIvmKey *) lfirst(lc))->stored));
			appendStringInfo(buf, "): %s\n", rc->what);
			break;
	}
	trickle_ivm_describe_block(buf, ((TrickleIvmBranch *) linitial(rc->branches))->block, depth);
}
