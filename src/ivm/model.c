/*-------------------------------------------------------------------------
 *
 * model.c
 *	  The differential engine's model of a defining query: blocks, items,
 *	  join trees, subqueries in expressions, and the order in which the
 *	  delta flips its scans from the old state to the new one.
 *
 * Blocks and items are described in ivm_internal.h.  Scans are numbered
 * in this order, which plan->scans keeps (src/ivm/analyze.c builds it from
 * here): the top query's tables in range table order (so a query without
 * subqueries numbers them as it always did), then the tables of each
 * LATERAL subquery, then those of each subquery in an expression, in the
 * order the expressions are walked.
 *
 * The flip order.  The delta is a telescoping sum: term i moves scan i
 * from its old state to its new one, the scans before it in the flip
 * order being new already and the ones after it still old.  Any order is
 * correct; this one is chosen so that no term ever needs the old state of
 * a table where the old state must be a real bag rather than a Z-set (rows
 * with signed weights, "new rows plus negated changes"):
 *
 *  - the tables of subqueries in expressions come first, so that when the
 *    top query's tables flip, every subquery reads tables in their new
 *    state and runs as written;
 *  - in a join tree, the side whose old state is dear to write (it holds an
 *    outer join or a LATERAL subquery) flips first, so that it is new while
 *    the other side flips; otherwise the nullable side of an outer join
 *    flips before its preserved side (the right side first for an inner or
 *    full join), so that when the preserved side flips the join runs as
 *    written over its changes; and a LATERAL subquery flips before the
 *    items it refers to.
 *
 * Each subtree's scans are contiguous in this order, so a subtree not
 * holding the flipped scan is entirely new or entirely old.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/nbtree.h"
#include "access/table.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_relation.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "ivm/ivm.h"
#include "ivm/ivm_internal.h"

static void problem(IvmModel *m, const char *fmt,...) pg_attribute_printf(2, 3);
static bool reads_table(Node *node);

static void
problem(IvmModel *m, const char *fmt,...)
{
	va_list		args;

	if (m->problem)
		return;
	va_start(args, fmt);
	m->problem = trickle_ivm_vformat(fmt, args);
	va_end(args);
}

IvmBlock *
trickle_ivm_block_up(IvmBlock *block, int levels)
{
	while (levels-- > 0 && block)
		block = block->parent;
	if (block == NULL)
		elog(ERROR, "reference to a query level outside the defining query");
	return block;
}

IvmItem *
trickle_ivm_item_at(IvmBlock *block, int rtindex)
{
	if (rtindex < 1 || rtindex > list_length(block->query->rtable) ||
		block->byrt[rtindex - 1] == NULL)
		elog(ERROR, "range table entry %d is not a FROM item of the differential engine", rtindex);
	return block->byrt[rtindex - 1];
}

char *
trickle_ivm_col_name(IvmItem *item, IvmCol *col)
{
	if (IVM_COL_IS_PARTIAL(col))
		return psprintf("c%d_%c%d", item->id, IVM_PARTIAL_IS_SUM(col) ? 's' : 'n',
						IVM_PARTIAL_AGG(col));
	return psprintf("c%d_%d", item->id, col->att);
}

static void
node_items(IvmNode *node, List **items)
{
	if (node->item)
		*items = lappend(*items, node->item);
	else
	{
		node_items(node->left, items);
		node_items(node->right, items);
	}
}

/* trickle_ivm_node_items: the items below node, left to right */
List *
trickle_ivm_node_items(IvmNode *node)
{
	List	   *items = NIL;

	node_items(node, &items);
	return items;
}

/*
 * trickle_ivm_type_exact: whether equal values of type under collation are
 * always identical (the btree opclass's "equalimage" answer, which
 * deduplication in btree indexes relies on too): false for numeric (1.0 =
 * 1.00), floats (0 = -0), nondeterministic collations, and types without a
 * btree opclass.
 */
bool
trickle_ivm_type_exact(Oid type, Oid collation)
{
	Oid			opclass = GetDefaultOpClass(type, BTREE_AM_OID);
	Oid			opfamily;
	Oid			intype;
	Oid			proc;

	if (!OidIsValid(opclass))
		return false;
	opfamily = get_opclass_family(opclass);
	intype = get_opclass_input_type(opclass);
	proc = get_opfamily_proc(opfamily, intype, intype, BTEQUALIMAGE_PROC);
	if (!OidIsValid(proc))
		return false;
	return DatumGetBool(OidFunctionCall1Coll(proc, collation, ObjectIdGetDatum(intype)));
}

/* ---------------------------------------------------------------------
 * Blocks, items, join trees
 * ---------------------------------------------------------------------
 */

static IvmNode *
build_tree(IvmModel *m, IvmBlock *block, Node *node)
{
	IvmNode    *n;

	if (IsA(node, RangeTblRef))
	{
		int			rtindex = ((RangeTblRef *) node)->rtindex;

		n = palloc0(sizeof(IvmNode));
		n->jointype = JOIN_INNER;
		n->item = block->byrt[rtindex - 1];
		if (n->item == NULL)
			problem(m, "this kind of FROM item");
		return n;
	}
	if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;

		n = palloc0(sizeof(IvmNode));
		n->jointype = join->jointype;
		if (join->jointype != JOIN_INNER && join->jointype != JOIN_LEFT &&
			join->jointype != JOIN_RIGHT && join->jointype != JOIN_FULL)
			problem(m, "this kind of join");
		n->quals = join->quals;
		n->left = build_tree(m, block, join->larg);
		n->right = build_tree(m, block, join->rarg);
		return n;
	}
	if (IsA(node, FromExpr))
	{
		FromExpr   *from = (FromExpr *) node;
		ListCell   *lc;

		n = NULL;
		foreach(lc, from->fromlist)
		{
			IvmNode    *item = build_tree(m, block, lfirst(lc));

			if (n == NULL)
				n = item;
			else
			{
				IvmNode    *j = palloc0(sizeof(IvmNode));

				j->jointype = JOIN_INNER;
				j->left = n;
				j->right = item;
				n = j;
			}
		}
		if (from->quals && node != (Node *) block->query->jointree)
			problem(m, "this kind of FROM item");
		if (n == NULL)
			problem(m, "a query without FROM");
		return n;
	}
	problem(m, "this kind of FROM item");
	return NULL;
}

static IvmItem *
new_item(IvmModel *m, IvmBlock *block, int rtindex)
{
	IvmItem    *item = palloc0(sizeof(IvmItem));

	item->id = list_length(m->items);
	item->block = block;
	item->rtindex = rtindex;
	item->scan = -1;
	m->items = lappend(m->items, item);
	block->items = lappend(block->items, item);
	block->byrt[rtindex - 1] = item;
	return item;
}

/*
 * konst_query: "SELECT <every column> FROM rte", the query standing for a
 * FROM item that reads no table (a function, VALUES, a subquery without
 * tables) in the delta, one query level below the item's block: its
 * references to the block (LATERAL) are one level up.  Its outputs are the
 * item's columns by attribute number (a dropped column of a composite
 * result is a NULL).
 */
static Query *
konst_query(RangeTblEntry *rte)
{
	Query	   *q = makeNode(Query);
	RangeTblRef *ref = makeNode(RangeTblRef);
	List	   *names;
	List	   *vars;
	ListCell   *lc;
	ListCell   *lc2;

	q->commandType = CMD_SELECT;
	q->querySource = QSRC_ORIGINAL;
	q->canSetTag = true;
	q->rtable = list_make1(copyObject(rte));
	((RangeTblEntry *) linitial(q->rtable))->lateral = false;
	ref->rtindex = 1;
	q->jointree = makeFromExpr(list_make1(ref), NULL);
	IncrementVarSublevelsUp((Node *) q, 1, 0);

	expandRTE(rte, 1, 0, -1, true, &names, &vars);
	forboth(lc, names, lc2, vars)
	{
		char	   *name = strVal(lfirst(lc));
		Node	   *var = lfirst(lc2);

		if (name[0] == '\0')
			name = psprintf("__trickle_dropped_%d", list_length(q->targetList) + 1);
		q->targetList = lappend(q->targetList,
								makeTargetEntry((Expr *) var, list_length(q->targetList) + 1,
												name, false));
	}
	return q;
}

/*
 * new_block: the block of query, one level below parent.  Its tables
 * become scans; a LATERAL subquery of the top query becomes an item whose
 * body is built later (its tables are numbered after the top query's).
 */
static IvmBlock *
new_block(IvmModel *m, Query *query, IvmBlock *parent)
{
	IvmBlock   *block = palloc0(sizeof(IvmBlock));
	ListCell   *lc;
	int			rtindex = 0;

	block->id = list_length(m->blocks);
	block->query = query;
	block->parent = parent;
	block->byrt = palloc0(sizeof(IvmItem *) * Max(list_length(query->rtable), 1));
	m->blocks = lappend(m->blocks, block);

	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		rtindex++;
		if (rte->rtekind == RTE_RELATION)
		{
			IvmItem    *item = new_item(m, block, rtindex);

			item->relid = rte->relid;
			item->inh = rte->inh;
			item->scan = list_length(m->scans);
			m->scans = lappend(m->scans, item);
		}
		else if (rte->rtekind == RTE_FUNCTION || rte->rtekind == RTE_VALUES ||
				 (rte->rtekind == RTE_SUBQUERY && !reads_table((Node *) rte->subquery)))
			new_item(m, block, rtindex)->konst = konst_query(rte);
		else if (rte->rtekind == RTE_SUBQUERY && parent == NULL &&
				 !(rte->lateral && contain_vars_of_level((Node *) rte->subquery, 1)) &&
				 trickle_ivm_derivable(rte->subquery))
			new_item(m, block, rtindex)->derived = true;
		else if (rte->rtekind == RTE_SUBQUERY && rte->lateral && parent == NULL)
			(void) new_item(m, block, rtindex);
	}
	if (query->jointree->fromlist == NIL)
		problem(m, "a query without FROM");
	else
	{
		block->tree = build_tree(m, block, (Node *) query->jointree);
		block->where = query->jointree->quals;
	}
	return block;
}

/* ---------------------------------------------------------------------
 * Checks of subquery bodies
 * ---------------------------------------------------------------------
 */

static bool
reads_table_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		ListCell   *lc;

		foreach(lc, ((Query *) node)->rtable)
		{
			if (((RangeTblEntry *) lfirst(lc))->rtekind == RTE_RELATION)
				return true;
		}
		return query_tree_walker((Query *) node, reads_table_walker, context, 0);
	}
	return expression_tree_walker(node, reads_table_walker, context);
}

/* whether node (an expression or a query) reads a table anywhere */
static bool
reads_table(Node *node)
{
	return reads_table_walker(node, NULL);
}

typedef struct OuterAggContext
{
	int			depth;
	bool		found;
} OuterAggContext;

static bool
outer_agg_walker(Node *node, OuterAggContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref) && ((Aggref *) node)->agglevelsup > ctx->depth)
		ctx->found = true;
	if (IsA(node, GroupingFunc) && ((GroupingFunc *) node)->agglevelsup > ctx->depth)
		ctx->found = true;
	if (IsA(node, Query))
	{
		bool		r;

		ctx->depth++;
		r = query_tree_walker((Query *) node, outer_agg_walker, ctx, 0);
		ctx->depth--;
		return r;
	}
	return expression_tree_walker(node, outer_agg_walker, ctx);
}

/* check_body: records in m what keeps the engine from a subquery's body */
static void
check_body(IvmModel *m, Query *body, const char *what)
{
	ListCell   *lc;
	OuterAggContext agg = {0};
	char	   *p;

	if (body->setOperations)
		problem(m, "UNION, INTERSECT or EXCEPT in %s", what);
	if (body->cteList)
		problem(m, "WITH in %s", what);
	if (body->hasSubLinks)
		problem(m, "a subquery inside %s", what);
	if (body->hasTargetSRFs)
		problem(m, "a set-returning function in %s", what);
	foreach(lc, body->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind != RTE_RELATION && rte->rtekind != RTE_JOIN)
			problem(m, "a FROM item other than a table in %s", what);
	}
	if ((p = trickle_ivm_from_problem(body, (Node *) body->jointree)) != NULL)
		problem(m, "%s", p);
	agg.depth = 0;
	(void) query_tree_walker(body, outer_agg_walker, &agg, 0);
	if (agg.found)
		problem(m, "an aggregate of an outer query in %s", what);
}

/*
 * counted_body: whether a subquery's body is a plain block whose rows can
 * be counted: no grouping, aggregates, windows or LIMIT (ORDER BY and
 * DISTINCT do not change whether a value is among its rows, nor, for
 * EXISTS, DISTINCT ON and a positive LIMIT whether there is a row).
 */
static bool
counted_body(Query *body, bool exists)
{
	/* EXISTS (... LIMIT 1), a common idiom, tests existence all the same */
	bool		limit_ok = body->limitCount == NULL ||
		(exists && IsA(body->limitCount, Const) && !((Const *) body->limitCount)->constisnull &&
		 DatumGetInt64(((Const *) body->limitCount)->constvalue) > 0);

	return !body->hasAggs && body->groupClause == NIL && body->groupingSets == NIL &&
		body->havingQual == NULL && !body->hasWindowFuncs && limit_ok &&
		body->limitOffset == NULL && (exists || !body->hasDistinctOn);
}

/* the columns a subquery outputs */
static List *
body_outputs(Query *body)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, body->targetList)
	{
		if (!((TargetEntry *) lfirst(lc))->resjunk)
			out = lappend(out, lfirst(lc));
	}
	return out;
}

/* padded: whether an outer join of the tree under node pads item with NULLs */
static bool
padded(IvmNode *node, IvmItem *item, bool nullable)
{
	if (node->item)
		return nullable && node->item == item;
	return padded(node->left, item, nullable || node->jointype == JOIN_RIGHT ||
				  node->jointype == JOIN_FULL) ||
		padded(node->right, item, nullable || node->jointype == JOIN_LEFT ||
			   node->jointype == JOIN_FULL);
}

/* trickle_ivm_padded: whether an outer join of tree pads item with NULLs */
bool
trickle_ivm_padded(IvmNode *tree, IvmItem *item)
{
	return padded(tree, item, false);
}

/*
 * never_null: whether expr, over the items of block's level levelsup, is a
 * column declared NOT NULL of a table that no outer join pads with NULLs.
 */
static bool
never_null(IvmBlock *block, Node *expr, int levelsup)
{
	Var		   *var;
	IvmItem    *item;
	HeapTuple	tp;
	bool		notnull = false;

	if (!IsA(expr, Var))
		return false;
	var = (Var *) expr;
	if (var->varlevelsup != levelsup || var->varattno <= 0)
		return false;
	block = trickle_ivm_block_up(block, levelsup);
	if (var->varno < 1 || var->varno > list_length(block->query->rtable) ||
		block->byrt[var->varno - 1] == NULL)
		return false;
	item = block->byrt[var->varno - 1];
	if (item->scan < 0 || padded(block->tree, item, false))
		return false;
	tp = SearchSysCache2(ATTNUM, ObjectIdGetDatum(item->relid), Int16GetDatum(var->varattno));
	if (HeapTupleIsValid(tp))
	{
		notnull = ((Form_pg_attribute) GETSTRUCT(tp))->attnotnull;
		ReleaseSysCache(tp);
	}
	return notnull;
}

static Node *
and_quals(Node *a, Node *b)
{
	if (a == NULL)
		return b;
	if (b == NULL)
		return a;
	return (Node *) makeBoolExpr(AND_EXPR, list_make2(copyObject(a), b), -1);
}

static IvmFlag *
new_flag(Node *cond, Node *guard)
{
	IvmFlag    *f = palloc0(sizeof(IvmFlag));

	f->cond = cond;
	f->guard = guard;
	return f;
}

static bool
has_param_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_SUBLINK)
		return true;
	return expression_tree_walker(node, has_param_walker, context);
}

/* whether node refers to the output of the subquery (a PARAM_SUBLINK) */
static bool
has_param(Node *node)
{
	return has_param_walker(node, NULL);
}

static Node *
param_to_mutator(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_SUBLINK)
		return copyObject((Node *) context);
	return expression_tree_mutator(node, param_to_mutator, context);
}

/* node with the subquery's output (the PARAM_SUBLINK) replaced by y */
static Node *
param_to(Node *node, Node *y)
{
	return param_to_mutator(node, y);
}

/*
 * classify: how sublink sl is maintained.  EXISTS, and IN/ANY/ALL with one
 * operand over a plain block, are counted: their value is a function of
 * existence tests ("flags") over the body, each counted exactly from the
 * new state and the changes.  For x op ANY (S), with T = "some row has x
 * op y", N = "some row has x op y NULL":
 *
 *	ANY = CASE WHEN T THEN true WHEN N THEN NULL ELSE false END
 *	ALL = CASE WHEN F THEN false WHEN N THEN NULL ELSE true END  (F: x op y false)
 *
 * When op never returns NULL for non-NULL inputs (it belongs to a btree or
 * hash operator family), N splits into "x IS NULL and the body has a row"
 * (guarded: it matters only for outer rows whose x is NULL) and "the body
 * has a row whose y is NULL", and each of those is dropped when a NOT NULL
 * column rules it out.  In a top-level AND of WHERE, NULL filters a row as
 * false does, so IN there is T alone.
 */
static void
classify(IvmModel *m, IvmSublink *sl, bool positive)
{
	SubLink    *sub = sl->sublink;
	Query	   *body = (Query *) sub->subselect;
	Node	   *where = body->jointree->quals;
	OpExpr	   *op;
	Node	   *x;
	Node	   *y;
	Node	   *xin;
	List	   *outputs;
	Oid			opno;
	Node	   *test;
	bool		x_notnull;
	bool		y_notnull;

	sl->kind = IVM_SUBLINK_RECOMPUTED;
	if (!counted_body(body, sub->subLinkType == EXISTS_SUBLINK))
		return;
	if (sub->subLinkType == EXISTS_SUBLINK)
	{
		sl->kind = IVM_SUBLINK_EXISTS;
		sl->flags = list_make1(new_flag(where, NULL));
		return;
	}
	if (sub->subLinkType != ANY_SUBLINK && sub->subLinkType != ALL_SUBLINK)
		return;
	outputs = body_outputs(body);
	if (list_length(outputs) != 1 || !IsA(sub->testexpr, OpExpr))
		return;
	op = (OpExpr *) sub->testexpr;
	if (list_length(op->args) != 2 || has_param((Node *) linitial(op->args)) ||
		!has_param((Node *) lsecond(op->args)))
		return;
	x = linitial(op->args);
	/* the subquery's output, as the operator reads it (a cast included) */
	y = param_to((Node *) lsecond(op->args), (Node *) ((TargetEntry *) linitial(outputs))->expr);

	/* x in the body's terms: its Vars are one level further out */
	xin = copyObject(x);
	IncrementVarSublevelsUp(xin, 1, 0);
	opno = op->opno;
	sl->x = x;
	sl->total = get_op_btree_interpretation(opno) != NIL ||
		op_hashjoinable(opno, exprType(x));
	x_notnull = never_null(sl->body->parent, x, 0);
	y_notnull = never_null(sl->body, y, 0);

	if (sub->subLinkType == ANY_SUBLINK)
	{
		OpExpr	   *t = (OpExpr *) copyObject(op);

		t->args = list_make2(xin, copyObject(y));
		test = (Node *) t;
		sl->kind = IVM_SUBLINK_ANY;
	}
	else
	{
		Oid			neg = get_negator(opno);

		if (OidIsValid(neg) && sl->total)
		{
			OpExpr	   *t = (OpExpr *) copyObject(op);

			t->opno = neg;
			t->opfuncid = get_opcode(neg);
			t->args = list_make2(xin, copyObject(y));
			test = (Node *) t;
		}
		else
		{
			OpExpr	   *t = (OpExpr *) copyObject(op);
			BooleanTest *bt = makeNode(BooleanTest);

			t->args = list_make2(xin, copyObject(y));
			bt->arg = (Expr *) t;
			bt->booltesttype = IS_FALSE;
			bt->location = -1;
			test = (Node *) bt;
		}
		sl->kind = IVM_SUBLINK_ALL;
	}
	sl->flags = list_make1(new_flag(and_quals(where, test), NULL));
	if (positive && sl->kind == IVM_SUBLINK_ANY)
		return;
	if (sl->total)
	{
		if (!x_notnull)
		{
			NullTest   *nt = makeNode(NullTest);

			nt->arg = (Expr *) copyObject(x);
			nt->nulltesttype = IS_NULL;
			nt->location = -1;
			sl->flags = lappend(sl->flags, new_flag(where, (Node *) nt));
		}
		else
			sl->flags = lappend(sl->flags, NULL);
		if (!y_notnull)
		{
			NullTest   *nt = makeNode(NullTest);

			nt->arg = (Expr *) copyObject(y);
			nt->nulltesttype = IS_NULL;
			nt->location = -1;
			sl->flags = lappend(sl->flags, new_flag(and_quals(where, (Node *) nt), NULL));
		}
		else
			sl->flags = lappend(sl->flags, NULL);
	}
	else
	{
		OpExpr	   *t = (OpExpr *) copyObject(op);
		NullTest   *nt = makeNode(NullTest);

		t->args = list_make2(copyObject(xin), copyObject(y));
		nt->arg = (Expr *) t;
		nt->nulltesttype = IS_NULL;
		nt->location = -1;
		sl->flags = lappend(sl->flags, new_flag(and_quals(where, (Node *) nt), NULL));
	}
}

/* ---------------------------------------------------------------------
 * Subqueries in expressions
 * ---------------------------------------------------------------------
 */

static bool
has_sublink_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
		return true;
	return expression_tree_walker(node, has_sublink_walker, context);
}

typedef struct SublinkContext
{
	IvmModel   *m;
	bool		in_where;
	List	   *positive;		/* SubLinks that are top-level conjuncts of WHERE */
} SublinkContext;

static bool
find_sublinks(Node *node, SublinkContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, BoolExpr) && ((BoolExpr *) node)->boolop == NOT_EXPR &&
		IsA(linitial(((BoolExpr *) node)->args), SubLink))
	{
		SubLink    *sub = linitial(((BoolExpr *) node)->args);
		IvmSublink *sl;

		if (find_sublinks((Node *) sub, ctx))
			return true;
		sl = llast(ctx->m->sublinks);
		if (sl && sl->sublink == sub)
			sl->negated = true;
		return false;
	}
	if (IsA(node, SubLink))
	{
		SubLink    *sub = (SubLink *) node;
		IvmModel   *m = ctx->m;
		IvmSublink *sl;

		if (!reads_table((Node *) sub))
			return false;
		if (sub->testexpr && has_sublink_walker(sub->testexpr, NULL))
		{
			problem(m, "a subquery as the operand of a subquery comparison");
			return false;
		}
		if (sub->subLinkType != EXISTS_SUBLINK && sub->subLinkType != ANY_SUBLINK &&
			sub->subLinkType != ALL_SUBLINK && sub->subLinkType != EXPR_SUBLINK &&
			sub->subLinkType != ARRAY_SUBLINK)
		{
			problem(m, "this kind of subquery");
			return false;
		}
		sl = palloc0(sizeof(IvmSublink));
		sl->id = list_length(m->sublinks);
		sl->sublink = sub;
		sl->in_where = ctx->in_where;
		m->sublinks = lappend(m->sublinks, sl);
		return false;
	}
	return expression_tree_walker(node, find_sublinks, ctx);
}

/* checks that no join condition of tree holds a subquery */
static void
check_join_quals(IvmModel *m, IvmNode *node)
{
	if (node == NULL || node->item)
		return;
	if (node->quals && has_sublink_walker(node->quals, NULL))
		problem(m, "a subquery in a JOIN condition");
	check_join_quals(m, node->left);
	check_join_quals(m, node->right);
}

/* the top-level conjuncts of WHERE that are subqueries */
static List *
positive_sublinks(Node *where)
{
	List	   *out = NIL;
	ListCell   *lc;

	if (where == NULL)
		return NIL;
	if (IsA(where, SubLink))
		return list_make1(where);
	if (IsA(where, BoolExpr) && ((BoolExpr *) where)->boolop == AND_EXPR)
	{
		foreach(lc, ((BoolExpr *) where)->args)
			out = list_concat(out, positive_sublinks(lfirst(lc)));
	}
	return out;
}

/* ---------------------------------------------------------------------
 * Columns read
 * ---------------------------------------------------------------------
 */

typedef struct ColContext
{
	IvmModel   *m;
	List	   *levels;			/* IvmBlock (or NULL) per query level, innermost first */
	List	  **atts;			/* per item: attnums read */
} ColContext;

static IvmBlock *
block_of(IvmModel *m, Query *query)
{
	ListCell   *lc;

	foreach(lc, m->blocks)
	{
		if (((IvmBlock *) lfirst(lc))->query == query)
			return lfirst(lc);
	}
	return NULL;
}

static bool col_walker(Node *node, ColContext *ctx);

static bool
col_walker(Node *node, ColContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		IvmBlock   *block;
		RangeTblEntry *rte;

		if (var->varlevelsup >= list_length(ctx->levels))
			return false;
		block = list_nth(ctx->levels, var->varlevelsup);
		if (block == NULL)
			return false;
		rte = rt_fetch(var->varno, block->query->rtable);
		if (rte->rtekind == RTE_JOIN)
		{
			Node	   *alias;
			List	   *saved = ctx->levels;
			bool		r;

			if (var->varattno == 0)
			{
				problem(ctx->m, "a whole-row reference to a join");
				return false;
			}
			alias = list_nth(rte->joinaliasvars, var->varattno - 1);
			/* the alias's Vars are relative to the join's level */
			ctx->levels = list_copy_tail(ctx->levels, var->varlevelsup);
			r = col_walker(alias, ctx);
			ctx->levels = saved;
			return r;
		}
		if (block->byrt[var->varno - 1] == NULL)
			return false;
		if (var->varattno == 0)
		{
			problem(ctx->m, "a whole-row reference to a table");
			return false;
		}
		if (var->varattno < 0)
		{
			problem(ctx->m, "a system column");
			return false;
		}
		{
			IvmItem    *item = block->byrt[var->varno - 1];

			ctx->atts[item->id] = list_append_unique_int(ctx->atts[item->id], var->varattno);
		}
		return false;
	}
	if (IsA(node, Query))
	{
		bool		r;

		ctx->levels = lcons(block_of(ctx->m, (Query *) node), ctx->levels);
		r = query_tree_walker((Query *) node, col_walker, ctx, QTW_IGNORE_JOINALIASES);
		ctx->levels = list_delete_first(ctx->levels);
		return r;
	}
	return expression_tree_walker(node, col_walker, ctx);
}

static int
cmp_int(const ListCell *a, const ListCell *b)
{
	return lfirst_int(a) - lfirst_int(b);
}

static void
item_columns(IvmModel *m)
{
	ColContext	ctx = {0};
	ListCell   *lc;

	ctx.m = m;
	ctx.atts = palloc0(sizeof(List *) * Max(list_length(m->items), 1));
	(void) col_walker((Node *) m->query, &ctx);

	foreach(lc, m->items)
	{
		IvmItem    *item = lfirst(lc);

		if (item->scan >= 0)
		{
			Relation	rel = table_open(item->relid, AccessShareLock);
			ListCell   *lc2;

			list_sort(ctx.atts[item->id], cmp_int);
			foreach(lc2, ctx.atts[item->id])
			{
				Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), lfirst_int(lc2) - 1);
				IvmCol	   *col = palloc0(sizeof(IvmCol));

				col->att = att->attnum;
				col->type = att->atttypid;
				col->typmod = att->atttypmod;
				col->collation = att->attcollation;
				item->cols = lappend(item->cols, col);
			}
			table_close(rel, AccessShareLock);
		}
		else
		{
			ListCell   *lc2;

			foreach(lc2, body_outputs(item->konst ? item->konst : item->body->query))
			{
				TargetEntry *tle = lfirst(lc2);
				IvmCol	   *col = palloc0(sizeof(IvmCol));

				col->att = tle->resno;
				col->type = exprType((Node *) tle->expr);
				col->typmod = exprTypmod((Node *) tle->expr);
				col->collation = exprCollation((Node *) tle->expr);
				item->cols = lappend(item->cols, col);
			}
		}
	}
}

/* checks that every column a recomputed body reads compares exactly */
static void
check_exact(IvmModel *m, IvmBlock *body, const char *what)
{
	ListCell   *lc;

	foreach(lc, body->items)
	{
		IvmItem    *item = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, item->cols)
		{
			IvmCol	   *col = lfirst(lc2);

			if (!trickle_ivm_type_exact(col->type, col->collation))
				problem(m, "%s reading column \"%s\" of type %s, which has no exact equality to rebuild its old state with",
						what, get_attname(item->relid, col->att, false),
						format_type_be(col->type));
		}
	}
}

/* ---------------------------------------------------------------------
 * The flip order
 * ---------------------------------------------------------------------
 */

/*
 * outerish: whether node's state as of the frontier is dear to write:
 * it holds an outer join, a LATERAL subquery or a derived subquery, whose
 * old state is its new state less the terms of its scans (see outer.c,
 * derived.c)
 */
static bool
outerish(IvmNode *node)
{
	if (node->item)
		return node->item->body != NULL;
	return node->jointype != JOIN_INNER || outerish(node->left) || outerish(node->right);
}

/*
 * order_tree: numbers the flip positions of the scans below node.  Of the
 * two sides of a join, the one whose old state is dear (outerish) flips
 * first, so that it is new, not old, while the other side flips; when
 * neither or both are, the nullable side of an outer join flips first (the
 * right side of an inner or full join), so that the preserved side's terms
 * run the join as written.  A LATERAL subquery flips before what it refers
 * to.
 */
static void
order_tree(IvmModel *m, IvmNode *node, int *next)
{
	node->first = *next;
	if (node->item)
	{
		if (node->item->scan >= 0)
			m->pos[node->item->scan] = (*next)++;
		else if (node->item->body)
			order_tree(m, node->item->body->tree, next);
	}
	else
	{
		bool		left_first;

		if (node->right->item && node->right->item->scan < 0)
			left_first = false;
		else if (outerish(node->left) != outerish(node->right))
			left_first = outerish(node->left);
		else
			left_first = node->jointype == JOIN_RIGHT;
		order_tree(m, left_first ? node->left : node->right, next);
		order_tree(m, left_first ? node->right : node->left, next);
	}
	node->last = *next - 1;
}

/* the join node whose child is the leaf of item, or NULL */
static IvmNode *
parent_of(IvmNode *node, IvmItem *item)
{
	IvmNode    *p;

	if (node->item)
		return NULL;
	if (node->left->item == item || node->right->item == item)
		return node;
	if ((p = parent_of(node->left, item)) != NULL)
		return p;
	return parent_of(node->right, item);
}

typedef struct LateralRefContext
{
	int			depth;
	Bitmapset  *rels;			/* top-level range table indexes referred to */
} LateralRefContext;

static bool
lateral_refs(Node *node, LateralRefContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == ctx->depth)
		ctx->rels = bms_add_member(ctx->rels, ((Var *) node)->varno);
	if (IsA(node, Query))
	{
		bool		r;

		ctx->depth++;
		r = query_tree_walker((Query *) node, lateral_refs, ctx, 0);
		ctx->depth--;
		return r;
	}
	return expression_tree_walker(node, lateral_refs, ctx);
}

/* the range table indexes below node (joins included) */
static Bitmapset *
tree_rels(Query *query, Node *jt)
{
	Bitmapset  *rels = NULL;

	if (IsA(jt, RangeTblRef))
		return bms_make_singleton(((RangeTblRef *) jt)->rtindex);
	if (IsA(jt, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) jt;

		rels = bms_union(tree_rels(query, j->larg), tree_rels(query, j->rarg));
		if (j->rtindex)
			rels = bms_add_member(rels, j->rtindex);
		return rels;
	}
	if (IsA(jt, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) jt)->fromlist)
			rels = bms_union(rels, tree_rels(query, lfirst(lc)));
	}
	return rels;
}

/*
 * lateral_left: the range table indexes a LATERAL subquery at rtindex may
 * refer to: those of the items before it in its join (the left subtree of
 * the join whose right input it is, or the FROM list items before it).
 */
static bool
lateral_left(Query *query, Node *jt, int rtindex, Bitmapset **left)
{
	if (IsA(jt, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) jt;

		if (IsA(j->rarg, RangeTblRef) && ((RangeTblRef *) j->rarg)->rtindex == rtindex)
		{
			*left = tree_rels(query, j->larg);
			return true;
		}
		return lateral_left(query, j->larg, rtindex, left) ||
			lateral_left(query, j->rarg, rtindex, left);
	}
	if (IsA(jt, FromExpr))
	{
		ListCell   *lc;
		Bitmapset  *before = NULL;

		foreach(lc, ((FromExpr *) jt)->fromlist)
		{
			Node	   *item = lfirst(lc);

			if (IsA(item, RangeTblRef) && ((RangeTblRef *) item)->rtindex == rtindex)
			{
				*left = before;
				return true;
			}
			if (lateral_left(query, item, rtindex, left))
				return true;
			before = bms_union(before, tree_rels(query, item));
		}
	}
	return false;
}

static bool
refers_above_walker(Node *node, int *depth)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varlevelsup > *depth)
		return true;
	if (IsA(node, Query))
	{
		bool		r;

		(*depth)++;
		r = query_tree_walker((Query *) node, refers_above_walker, depth, 0);
		(*depth)--;
		return r;
	}
	return expression_tree_walker(node, refers_above_walker, depth);
}

/*
 * check_konst: an item reading no table may refer to the items before it in
 * its own block (LATERAL), if it is the right side of an inner or left join
 * with them: the delta evaluates it per row of that side.
 */
static void
check_konst(IvmModel *m, IvmItem *item)
{
	LateralRefContext refs = {0};
	Query	   *query = item->block->query;
	Bitmapset  *left = NULL;
	IvmNode    *parent;
	int			depth = 1;

	if (query_tree_walker(item->konst, refers_above_walker, &depth, 0))
	{
		problem(m, "a function or VALUES list in a subquery referring to the query outside it");
		return;
	}
	refs.depth = 1;
	(void) query_tree_walker(item->konst, lateral_refs, &refs, 0);
	if (bms_is_empty(refs.rels))
		return;
	if (!lateral_left(query, (Node *) query->jointree, item->rtindex, &left) ||
		!bms_is_subset(refs.rels, left) ||
		(parent = parent_of(item->block->tree, item)) == NULL ||
		parent->right->item != item ||
		(parent->jointype != JOIN_INNER && parent->jointype != JOIN_LEFT))
		problem(m, "a LATERAL function or subquery that is not the right side of an inner or left join with what it refers to");
}

/* ---------------------------------------------------------------------
 * The model
 * ---------------------------------------------------------------------
 */

/*
 * trickle_ivm_model: the model of query (plan->query), with m->problem set
 * when the differential engine cannot maintain it.
 */
IvmModel *
trickle_ivm_model(TrickleIvmPlan *plan, Query *query)
{
	IvmModel   *m = palloc0(sizeof(IvmModel));
	SublinkContext sctx = {0};
	List	   *positive;
	ListCell   *lc;
	int			next = 0;

	m->plan = plan;
	m->query = query;
	m->top = new_block(m, query, NULL);
	if (m->problem)
		return m;
	check_join_quals(m, m->top->tree);
	if (query->havingQual && has_sublink_walker(query->havingQual, NULL) &&
		reads_table(query->havingQual))
		problem(m, "a subquery in HAVING");

	/* LATERAL subqueries of the top query */
	foreach(lc, m->top->items)
	{
		IvmItem    *item = lfirst(lc);
		RangeTblEntry *rte;
		LateralRefContext refs = {0};
		Bitmapset  *left = NULL;
		IvmNode    *parent;

		if (item->scan >= 0)
			continue;
		rte = rt_fetch(item->rtindex, query->rtable);
		if (item->konst)
			continue;
		if (item->derived)
		{
			/* a grouped or DISTINCT subquery: its body, and its keys (derived.c) */
			const char *name = trickle_ivm_origin(plan, item->rtindex);
			char	   *p;

			if (name == NULL)
				name = psprintf("subquery %s", quote_identifier(rte->eref->aliasname));
			check_body(m, rte->subquery, name);
			item->body = new_block(m, rte->subquery, m->top);
			check_join_quals(m, item->body->tree);
			if ((p = trickle_ivm_derived_setup(item, name)) != NULL)
				problem(m, "%s", p);
			continue;
		}
		check_body(m, rte->subquery, "a LATERAL subquery");
		item->body = new_block(m, rte->subquery, m->top);
		check_join_quals(m, item->body->tree);
		refs.depth = 1;
		(void) query_tree_walker(rte->subquery, lateral_refs, &refs, 0);
		if (!lateral_left(query, (Node *) query->jointree, item->rtindex, &left) ||
			!bms_is_subset(refs.rels, left) ||
			(parent = parent_of(m->top->tree, item)) == NULL ||
			parent->right->item != item ||
			(parent->jointype != JOIN_INNER && parent->jointype != JOIN_LEFT))
			problem(m, "a LATERAL subquery that is not the right side of an inner or left join with what it refers to");
	}

	/* subqueries in the select list and WHERE */
	sctx.m = m;
	sctx.in_where = false;
	(void) find_sublinks((Node *) query->targetList, &sctx);
	sctx.in_where = true;
	(void) find_sublinks(m->top->where, &sctx);
	positive = positive_sublinks(m->top->where);
	foreach(lc, m->sublinks)
	{
		IvmSublink *sl = lfirst(lc);
		Query	   *body = (Query *) sl->sublink->subselect;

		check_body(m, body, "a subquery");
		if (m->problem)
			return m;
		sl->body = new_block(m, body, m->top);
		check_join_quals(m, sl->body->tree);
		classify(m, sl, list_member_ptr(positive, sl->sublink));
	}
	foreach(lc, m->items)
	{
		IvmItem    *item = lfirst(lc);

		if (item->konst)
			check_konst(m, item);
	}
	if (m->problem)
		return m;

	item_columns(m);
	foreach(lc, m->sublinks)
	{
		IvmSublink *sl = lfirst(lc);

		if (sl->kind == IVM_SUBLINK_RECOMPUTED)
			check_exact(m, sl->body, "a subquery that is recomputed per row");
	}
	foreach(lc, m->top->items)
	{
		IvmItem    *item = lfirst(lc);

		if (item->body)
			check_exact(m, item->body, item->derived ?
						"a subquery in FROM with GROUP BY, aggregates or DISTINCT" :
						"a LATERAL subquery");
	}

	/* the flip order: subqueries' tables first, then the top join tree */
	m->pos = palloc0(sizeof(int) * Max(list_length(m->scans), 1));
	foreach(lc, m->sublinks)
	{
		IvmSublink *sl = lfirst(lc);

		order_tree(m, sl->body->tree, &next);
		sl->first = sl->body->tree->first;
		sl->last = sl->body->tree->last;
	}
	order_tree(m, m->top->tree, &next);
	return m;
}

/*
 * trickle_ivm_model_plan: plan->scans and plan->sources of plan->query from
 * its model, or the reason the engine cannot maintain it.
 */
char *
trickle_ivm_model_plan(TrickleIvmPlan *plan)
{
	IvmModel   *m = trickle_ivm_model(plan, plan->query);
	ListCell   *lc;

	if (m->problem)
		return m->problem;
	foreach(lc, m->scans)
	{
		IvmItem    *item = lfirst(lc);
		TrickleIvmScan *scan = palloc0(sizeof(TrickleIvmScan));
		TrickleIvmSource *src = NULL;
		ListCell   *lc2;

		scan->rtindex = item->rtindex;
		scan->relid = item->relid;
		scan->inh = item->inh;
		plan->scans = lappend(plan->scans, scan);
		foreach(lc2, plan->sources)
		{
			if (((TrickleIvmSource *) lfirst(lc2))->relid == item->relid)
				src = lfirst(lc2);
		}
		if (src == NULL)
		{
			src = palloc0(sizeof(TrickleIvmSource));
			src->relid = item->relid;
			plan->sources = lappend(plan->sources, src);
		}
		foreach(lc2, item->cols)
			src->attnums = list_append_unique_int(src->attnums, ((IvmCol *) lfirst(lc2))->att);
	}
	foreach(lc, plan->sources)
		list_sort(((TrickleIvmSource *) lfirst(lc))->attnums, cmp_int);
	return NULL;
}

/*
 * trickle_ivm_sublink_label: how explain_stream_table names a subquery in
 * an expression and its maintenance
 */
char *
trickle_ivm_sublink_label(IvmSublink *sl)
{
	SubLink    *sub = sl->sublink;
	const char *op = sub->operName ? strVal(llast(sub->operName)) : "";
	const char *how = sl->kind == IVM_SUBLINK_RECOMPUTED ?
		"recomputed per affected row" : "matches counted";
	const char *where = sl->in_where ? "" : " in the select list";
	char	   *what;

	switch (sub->subLinkType)
	{
		case EXISTS_SUBLINK:
			what = pstrdup(sl->negated ? "Anti Join (NOT EXISTS)" : "Semi Join (EXISTS)");
			break;
		case ANY_SUBLINK:
			if (strcmp(op, "=") == 0)
				what = pstrdup(sl->negated ? "Anti Join (NOT IN)" : "Semi Join (IN)");
			else
				what = psprintf("%s Join (%s%s ANY)", sl->negated ? "Anti" : "Semi",
								sl->negated ? "NOT " : "", op);
			break;
		case ALL_SUBLINK:
			if (strcmp(op, "<>") == 0 && !sl->negated)
				what = pstrdup("Anti Join (NOT IN)");
			else
				what = psprintf("%s Join (%s%s ALL)", sl->negated ? "Semi" : "Anti",
								sl->negated ? "NOT " : "", op);
			break;
		case ARRAY_SUBLINK:
			what = pstrdup("Subquery (ARRAY)");
			break;
		default:
			what = pstrdup("Subquery (scalar)");
			break;
	}
	return psprintf("%s%s: %s", what, where, how);
}

typedef struct RefContext
{
	IvmModel   *m;
	List	   *levels;			/* IvmBlock (or NULL) per query level, innermost first */
	List	   *refs;			/* IvmColRef */
} RefContext;

static bool
ref_walker(Node *node, RefContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		IvmBlock   *block;
		RangeTblEntry *rte;
		IvmItem    *item;
		ListCell   *lc;

		if (var->varlevelsup >= list_length(ctx->levels) ||
			(block = list_nth(ctx->levels, var->varlevelsup)) == NULL)
			return false;
		rte = rt_fetch(var->varno, block->query->rtable);
		if (rte->rtekind == RTE_JOIN)
		{
			List	   *saved = ctx->levels;
			bool		r;

			ctx->levels = list_copy_tail(ctx->levels, var->varlevelsup);
			r = ref_walker(list_nth(rte->joinaliasvars, var->varattno - 1), ctx);
			ctx->levels = saved;
			return r;
		}
		if ((item = block->byrt[var->varno - 1]) == NULL)
			return false;
		foreach(lc, ctx->refs)
		{
			IvmColRef  *ref = lfirst(lc);

			if (ref->item == item && ref->col->att == var->varattno)
				return false;
		}
		foreach(lc, item->cols)
		{
			if (((IvmCol *) lfirst(lc))->att == var->varattno)
			{
				IvmColRef  *ref = palloc(sizeof(IvmColRef));

				ref->item = item;
				ref->col = lfirst(lc);
				ctx->refs = lappend(ctx->refs, ref);
			}
		}
		return false;
	}
	if (IsA(node, Query))
	{
		bool		r;

		ctx->levels = lcons(NULL, ctx->levels);
		r = query_tree_walker((Query *) node, ref_walker, ctx, QTW_IGNORE_JOINALIASES);
		ctx->levels = list_delete_first(ctx->levels);
		return r;
	}
	return expression_tree_walker(node, ref_walker, ctx);
}

/*
 * trickle_ivm_expr_refs: the columns of items that expr (whose level 0 is
 * home) reads, as IvmColRef
 */
List *
trickle_ivm_expr_refs(IvmModel *m, Node *expr, IvmBlock *home, List *items)
{
	RefContext	ctx = {0};
	IvmBlock   *b;
	List	   *out = NIL;
	ListCell   *lc;

	ctx.m = m;
	for (b = home; b; b = b->parent)
		ctx.levels = lappend(ctx.levels, b);
	(void) ref_walker(expr, &ctx);
	foreach(lc, ctx.refs)
	{
		if (list_member_ptr(items, ((IvmColRef *) lfirst(lc))->item))
			out = lappend(out, lfirst(lc));
	}
	return out;
}
