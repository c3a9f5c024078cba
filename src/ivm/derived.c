/*-------------------------------------------------------------------------
 *
 * derived.c
 *	  Subqueries in FROM (written, or views and WITH queries expanded by
 *	  normalize.c) that group, aggregate or are DISTINCT, in the delta.
 *
 * Such a subquery D cannot be merged into the query around it, and it is
 * not linear in its tables.  It is an item of the model (a "derived" item,
 * model.c) whose body is a block, like a LATERAL subquery's, but which is
 * joined like a table: the join tree above it sees a relation with a state
 * and a change, and every rule of delta.c and outer.c applies to it.
 *
 * Its output is partitioned by a *key*: the GROUP BY expressions (those
 * also in DISTINCT, when both), or the DISTINCT [ON] expressions.  The
 * output rows of a key depend only on the body's rows of that key, and
 * restricting the body's rows to a set of keys commutes with grouping,
 * HAVING and DISTINCT.  So when a table of the body flips at ps:
 *
 *	dD = D(after)|K - D(before)|K
 *
 * where K, the affected keys, are the key values of the rows of the body's
 * change at ps (delta.c's terms of the body's block: old and new images of
 * every changed row, so every key whose rows changed is there), and D|K
 * is the body run with its rows restricted to K.  Unchanged groups of K
 * appear on both sides and cancel when the delta is consolidated.  The
 * body before the flip reads its tables' old states as real bags
 * (trickle_ivm_body_at), which is why the model admits only bodies reading
 * columns with exact equality.
 *
 * The restriction is pushed to the body's scans: a scan whose column is a
 * key (GROUP BY t.g), and which no outer join inside the body pads, reads
 * only the rows whose column holds one of the affected keys, a semi-join
 * that an index on the column serves ("t.g IN (SELECT k0 FROM keys)"; NULL
 * keys, which GROUP BY puts together, in an arm of their own that runs
 * only when a NULL key is affected).  Its old state (true_old_sql in
 * delta.c) is restricted arm by arm: PostgreSQL pushes no condition into
 * an EXCEPT ALL, so a restriction above it would compute the old state of
 * the whole table once per refresh (or, per key, once per key).  A row's
 * key is a function of the row, so the restricted bag difference is the
 * difference of the restricted bags.  Restricting by one key of several
 * admits groups whose other keys did not change; they are equal after and
 * before.  The body's output is then semi-joined to the keys, which is the
 * whole restriction where no scan could take it (a key that is an
 * expression, lower(s)).
 *
 * A key that is not a visible output of the body is added to a copy of it
 * as one (after the visible columns, so the column list the delta reads
 * is unchanged); with plain DISTINCT every key is visible already.  An
 * aggregate without GROUP BY has no key: its one row is computed after and
 * before the flip, over all the rows.
 *
 * When a scan outside D flips, D is as written (new) if its tables flipped
 * before, which model.c's flip order arranges wherever it can (a derived
 * item's old state is dear, as an outer join's); otherwise its old state is
 * its new state less the terms of its scans.  Joined to the change of the
 * other side of an inner join (or as the nullable side of an outer join
 * whose preserved side changes), D matters only for the keys that the join
 * condition, or WHERE through inner joins, equates by the key's own
 * equality with an expression of that side: D is computed for the values
 * of those expressions in the change (trickle_ivm_derived_joined), not for
 * every group.
 *
 * Not maintained (the reason names the subquery): window functions, LIMIT
 * or OFFSET (a change of one row changes which rows other keys keep),
 * GROUPING SETS, DISTINCT over aggregates only (no key), and everything
 * check_body refuses in any subquery's body.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "ivm/ivm.h"
#include "ivm/ivm_internal.h"

/*
 * trickle_ivm_derivable: whether sub, a subquery kept in FROM, groups,
 * aggregates or is DISTINCT (and is no set operation): the model makes it
 * a derived item and says what in it is not maintained.
 */
bool
trickle_ivm_derivable(Query *sub)
{
	return sub->setOperations == NULL &&
		(sub->hasAggs || sub->groupClause != NIL || sub->groupingSets != NIL ||
		 sub->havingQual != NULL || sub->distinctClause != NIL);
}

/* adds the expressions of clauses (SortGroupClause) to *exprs, their operators to *ops */
static void
clause_keys(Query *body, List *clauses, List **exprs, List **ops)
{
	ListCell   *lc;

	foreach(lc, clauses)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, body->targetList);
		ListCell   *lc2;
		bool		dup = false;

		foreach(lc2, *exprs)
			dup |= equal(lfirst(lc2), tle->expr);
		if (dup)
			continue;
		*exprs = lappend(*exprs, tle->expr);
		*ops = lappend_oid(*ops, sgc->eqop);
	}
}

/* the column of a table of body that expr is (through join aliases), or NULL */
static Var *
key_var(Query *body, Node *expr)
{
	while (IsA(expr, Var) && ((Var *) expr)->varlevelsup == 0 && ((Var *) expr)->varattno > 0)
	{
		RangeTblEntry *rte = rt_fetch(((Var *) expr)->varno, body->rtable);

		if (rte->rtekind == RTE_RELATION)
			return (Var *) expr;
		if (rte->rtekind != RTE_JOIN)
			return NULL;
		expr = list_nth(rte->joinaliasvars, ((Var *) expr)->varattno - 1);
	}
	return NULL;
}

/*
 * trickle_ivm_derived_setup: the keys of derived item item (named name in
 * reasons), or why it is not maintained
 */
char *
trickle_ivm_derived_setup(IvmItem *item, const char *name)
{
	Query	   *body = item->body->query;
	List	   *exprs = NIL;
	List	   *ops = NIL;
	ListCell   *lc;

	if (body->hasWindowFuncs)
		return psprintf("window functions in %s (a change of one row can change every row of its window)",
						name);
	if (body->limitCount || body->limitOffset)
		return psprintf("LIMIT or OFFSET in %s (a change of one row can change which rows it keeps)",
						name);
	if (body->groupingSets)
		return psprintf("GROUPING SETS, ROLLUP or CUBE in %s", name);

	if (body->groupClause)
		clause_keys(body, body->groupClause, &exprs, &ops);
	else if (body->hasAggs || body->havingQual)
		return NULL;			/* one row: no key */
	if (body->distinctClause)
	{
		List	   *dexprs = NIL;
		List	   *dops = NIL;

		clause_keys(body, body->distinctClause, &dexprs, &dops);
		if (body->groupClause)
		{
			/* grouped, then DISTINCT: the grouping expressions DISTINCT keeps */
			List	   *kexprs = NIL;
			List	   *kops = NIL;
			ListCell   *lc2;

			forboth(lc, exprs, lc2, ops)
			{
				if (list_member(dexprs, lfirst(lc)))
				{
					kexprs = lappend(kexprs, lfirst(lc));
					kops = lappend_oid(kops, lfirst_oid(lc2));
				}
			}
			if (kexprs == NIL)
				return psprintf("DISTINCT over aggregates in %s (no grouping column to recompute it by)",
								name);
			exprs = kexprs;
			ops = kops;
		}
		else
		{
			exprs = dexprs;
			ops = dops;
		}
	}
	item->keys = exprs;
	item->keyops = ops;
	foreach(lc, exprs)
	{
		ListCell   *lc2;
		int			col = 0;

		foreach(lc2, body->targetList)
		{
			TargetEntry *tle = lfirst(lc2);

			if (!tle->resjunk && equal(tle->expr, lfirst(lc)))
			{
				col = tle->resno;
				break;
			}
		}
		item->keycols = lappend_int(item->keycols, col);
	}

	/* the scans whose rows can be restricted by a key: see the file comment */
	foreach(lc, item->body->items)
	{
		IvmItem    *scan = lfirst(lc);
		ListCell   *lc2;
		int			att = 0;
		int			key = 0;

		if (scan->scan >= 0 && !trickle_ivm_padded(item->body->tree, scan))
		{
			foreach(lc2, exprs)
			{
				Var		   *var = key_var(body, lfirst(lc2));

				if (var && var->varno == scan->rtindex)
				{
					att = var->varattno;
					key = foreach_current_index(lc2);
					break;
				}
			}
		}
		item->scanatts = lappend_int(item->scanatts, att);
		item->scankeys = lappend_int(item->scankeys, key);
	}
	return NULL;
}

/* how explain_stream_table names a derived subquery and its maintenance */
char *
trickle_ivm_derived_label(Query *sub, const char *name)
{
	if (sub->groupClause == NIL && (sub->hasAggs || sub->havingQual))
		return psprintf("Derived Aggregate %s (one row): recomputed when its tables change", name);
	return psprintf("Derived %s %s: recomputed per affected key",
					sub->groupClause || sub->hasAggs ? "Aggregate" : "Distinct", name);
}

/*
 * affected_keys: the name of a WITH query of the term holding the distinct
 * key values (k0, k1, ...) of the rows of the body's change at ps
 */
static const char *
affected_keys(IvmTerm *t, IvmItem *item, int ps)
{
	IvmBlock   *body = item->body;
	List	   *arms = trickle_ivm_delta(t, body->tree, body, ps);
	const char *name = trickle_ivm_new_alias(t);
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	foreach(lc, arms)
	{
		IvmArm	   *arm = lfirst(lc);
		ListCell   *lc2;

		appendStringInfoString(&sql, lc == list_head(arms) ? "SELECT DISTINCT " : " UNION SELECT ");
		foreach(lc2, item->keys)
			appendStringInfo(&sql, "%s%s AS k%d", lc2 == list_head(item->keys) ? "" : ", ",
							 trickle_ivm_slot(t, lfirst(lc2), body, arm->alias, NULL),
							 foreach_current_index(lc2));
		appendStringInfo(&sql, " FROM %s", arm->from);
		if (body->where)
			appendStringInfo(&sql, " WHERE %s",
							 trickle_ivm_slot(t, body->where, body, arm->alias, NULL));
	}
	t->ctes = lappend(t->ctes, psprintf("%s AS (%s)", name, sql.data));
	return name;
}

/*
 * exposed: body (a copy, modified) with every key that is not a visible
 * output added as one after the visible outputs; the columns of the result
 * in *cols and *names, the name of the column holding each key in *keynames
 */
static Query *
exposed(IvmItem *item, Query *body, List **cols, List **names, List **keynames)
{
	List	   *visible = NIL;
	List	   *junk = NIL;
	List	   *added = NIL;
	ListCell   *lc;
	ListCell   *lc2;
	int			resno = 1;

	*cols = list_copy(item->cols);
	*names = NIL;
	*keynames = NIL;
	foreach(lc, item->cols)
		*names = lappend(*names, trickle_ivm_col_name(item, lfirst(lc)));
	forboth(lc, item->keys, lc2, item->keycols)
	{
		int			i = foreach_current_index(lc);

		if (lfirst_int(lc2) > 0)
		{
			ListCell   *lc3;
			char	   *keyname = NULL;

			foreach(lc3, item->cols)
			{
				if (((IvmCol *) lfirst(lc3))->att == lfirst_int(lc2))
					keyname = trickle_ivm_col_name(item, lfirst(lc3));
			}
			if (keyname == NULL)
				elog(ERROR, "derived subquery has no output column %d", lfirst_int(lc2));
			*keynames = lappend(*keynames, keyname);
		}
		else
		{
			Expr	   *expr = copyObject(lfirst(lc));
			IvmCol	   *col = palloc0(sizeof(IvmCol));
			char	   *name = psprintf("__trickle_g%d", i);

			col->type = exprType((Node *) expr);
			col->typmod = exprTypmod((Node *) expr);
			col->collation = exprCollation((Node *) expr);
			added = lappend(added, makeTargetEntry(expr, 0, name, false));
			*cols = lappend(*cols, col);
			*names = lappend(*names, name);
			*keynames = lappend(*keynames, name);
		}
	}
	foreach(lc, body->targetList)
	{
		TargetEntry *tle = lfirst(lc);

		if (tle->resjunk)
			junk = lappend(junk, tle);
		else
			visible = lappend(visible, tle);
	}
	body->targetList = list_concat(list_concat(visible, added), junk);
	foreach(lc, body->targetList)
		((TargetEntry *) lfirst(lc))->resno = resno++;
	return body;
}

/*
 * "q.<key> OP h.k<i> AND ..." for the keys i in which (both NULL also
 * matching when nulls)
 */
static char *
key_match(IvmItem *item, List *which, List *keynames, const char *q, const char *h, bool nulls)
{
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	foreach(lc, which)
	{
		int			i = lfirst_int(lc);
		char	   *name = list_nth(keynames, i);
		char	   *eq = psprintf("%s.%s %s %s.k%d", q, name,
								  trickle_ivm_operator_sql(list_nth_oid(item->keyops, i)), h, i);

		if (lc != list_head(which))
			appendStringInfoString(&sql, " AND ");
		if (nulls)
			appendStringInfo(&sql, "(%s OR (%s.%s IS NULL AND %s.k%d IS NULL))", eq, q, name, h, i);
		else
			appendStringInfoString(&sql, eq);
	}
	return sql.data;
}

/* "a.<key> IS NULL OR ..." for the keys i in which, columns names */
static char *
some_null(List *which, List *names, const char *a)
{
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	foreach(lc, which)
		appendStringInfo(&sql, "%s%s.%s IS NULL", lc != list_head(which) ? " OR " : "", a,
						 (char *) list_nth(names, lfirst_int(lc)));
	return sql.data;
}

/* ", a.c<item>_<att>" ... for the item's columns */
static char *
item_cols(IvmItem *item, const char *a)
{
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	foreach(lc, item->cols)
	{
		char	   *name = trickle_ivm_col_name(item, lfirst(lc));

		appendStringInfo(&sql, "%s.%s AS %s, ", a, name, name);
	}
	return sql.data;
}

/*
 * restricted: the SELECT of body's rows (a copy of the body at one side of
 * a flip, its scans restricted to the keys where they can be) for the keys
 * in the WITH query keys (all rows when NULL), each with weight w: the
 * body semi-joined to the keys, its rows with a NULL key probed apart
 */
static char *
restricted(IvmTerm *t, IvmItem *item, Query *body, const char *keys, List *which, int w)
{
	List	   *cols;
	List	   *names;
	List	   *keynames;
	const char *qa;
	const char *h = trickle_ivm_new_alias(t);
	char	   *slot;

	body = exposed(item, body, &cols, &names, &keynames);
	slot = trickle_ivm_query_slot_cols(t, body, item->block, NULL, cols, names, &qa);
	if (keys == NULL)
		return psprintf("SELECT %s%d AS __trickle_w FROM %s", item_cols(item, qa), w, slot);
	return psprintf("SELECT %s%d AS __trickle_w FROM %s WHERE EXISTS (SELECT FROM %s %s WHERE %s)"
					" OR ((%s) AND EXISTS (SELECT FROM %s %s WHERE %s))",
					item_cols(item, qa), w, slot, keys, h,
					key_match(item, which, keynames, qa, h, false),
					some_null(which, keynames, qa), keys, h,
					key_match(item, which, keynames, qa, h, true));
}

/* a query of no rows with the columns of the affected keys */
static char *
standin(IvmItem *item)
{
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "(SELECT ");
	foreach(lc, item->keys)
	{
		Node	   *expr = lfirst(lc);

		appendStringInfo(&sql, "%sNULL::%s AS k%d", foreach_current_index(lc) ? ", " : "",
						 format_type_with_typemod(exprType(expr), exprTypmod(expr)),
						 foreach_current_index(lc));
	}
	appendStringInfoString(&sql, " WHERE false)");
	return sql.data;
}

/*
 * trickle_ivm_derived_delta: the arms of derived item item's change when
 * the scan at ps (in its body) flips.  See the file comment.
 */
List *
trickle_ivm_derived_delta(IvmTerm *t, IvmItem *item, int ps)
{
	IvmKeyScan *ks = NULL;
	List	   *which = NIL;
	char	   *after;
	char	   *before;
	int			i;

	if (item->keys)
	{
		ks = palloc0(sizeof(IvmKeyScan));
		ks->cte = affected_keys(t, item, ps);
		ks->standin = standin(item);
		ks->atts = item->scanatts;
		ks->keys = item->scankeys;
		for (i = 0; i < list_length(item->keys); i++)
			which = lappend_int(which, i);
	}
	after = restricted(t, item, trickle_ivm_body_keyed(t, item->body, ps, true, ks),
					   ks ? ks->cte : NULL, which, 1);
	before = restricted(t, item, trickle_ivm_body_keyed(t, item->body, ps, false, ks),
						ks ? ks->cte : NULL, which, -1);
	return list_make1(trickle_ivm_arm_leaf(t, item, psprintf("%s UNION ALL %s", after, before),
										   true));
}

/* the conjuncts of an AND tree */
static List *
conjuncts(Node *node)
{
	List	   *out = NIL;
	ListCell   *lc;

	if (node == NULL)
		return NIL;
	if (IsA(node, BoolExpr) && ((BoolExpr *) node)->boolop == AND_EXPR)
	{
		foreach(lc, ((BoolExpr *) node)->args)
			out = list_concat(out, conjuncts(lfirst(lc)));
		return out;
	}
	if (IsA(node, List))
	{
		foreach(lc, (List *) node)
			out = list_concat(out, conjuncts(lfirst(lc)));
		return out;
	}
	return list_make1(node);
}

/* whether target is reached from node through inner joins only */
static bool
inner_path(IvmNode *node, IvmNode *target)
{
	if (node == target)
		return true;
	if (node->item || node->jointype != JOIN_INNER)
		return false;
	return inner_path(node->left, target) || inner_path(node->right, target);
}

/*
 * the expression over the items of other that cond equates, by the key's
 * own equality, with key i of item (a visible output), or NULL
 */
static Node *
equated(IvmTerm *t, IvmItem *item, int i, Node *cond, List *other, IvmBlock *block)
{
	OpExpr	   *op;
	int			side;

	if (!IsA(cond, OpExpr) || list_length(((OpExpr *) cond)->args) != 2 ||
		list_nth_int(item->keycols, i) == 0)
		return NULL;
	op = (OpExpr *) cond;
	if (op->opno != list_nth_oid(item->keyops, i) ||
		checkExprHasSubLink(cond))
		return NULL;
	for (side = 0; side < 2; side++)
	{
		Var		   *var = list_nth(op->args, side);
		Node	   *x = list_nth(op->args, 1 - side);

		if (!IsA(var, Var) || var->varlevelsup != 0 || var->varno != item->rtindex ||
			var->varattno != list_nth_int(item->keycols, i) ||
			exprType(x) != exprType((Node *) var))
			continue;
		/* x reads the other side only (its refs among all items are among other's) */
		if (list_length(trickle_ivm_expr_refs(t->m, x, block, other)) ==
			list_length(trickle_ivm_expr_refs(t->m, x, block, t->m->items)) &&
			!contain_volatile_functions(x))
			return x;
	}
	return NULL;
}

/*
 * trickle_ivm_derived_joined: the arms of side, the leaf of a derived item
 * in its new state, as far as join (whose other side's change is the arms
 * other, over the items oitems) can match them: where join's condition (or
 * the block's WHERE, through inner joins only) equates keys of the derived
 * item with expressions of the other side, only the keys those take in
 * other are computed.  NIL when nothing restricts it: the caller reads it
 * whole.
 */
List *
trickle_ivm_derived_joined(IvmTerm *t, IvmNode *side, IvmBlock *block, IvmNode *join,
						   List *other, List *oitems)
{
	IvmItem    *item = side->item;
	List	   *conds;
	List	   *which = NIL;
	List	   *exprs = NIL;
	IvmKeyScan *ks;
	StringInfoData sql;
	ListCell   *lc;
	int			i;

	if (item == NULL || !item->derived || item->keys == NIL)
		return NIL;
	conds = conjuncts(join->quals);
	if (inner_path(block->tree, join))
		conds = list_concat(conds, conjuncts(block->where));
	for (i = 0; i < list_length(item->keys); i++)
	{
		foreach(lc, conds)
		{
			Node	   *x = equated(t, item, i, lfirst(lc), oitems, block);

			if (x)
			{
				which = lappend_int(which, i);
				exprs = lappend(exprs, x);
				break;
			}
		}
	}
	if (which == NIL)
		return NIL;

	/* the keys: the values of those expressions over the other side's change */
	ks = palloc0(sizeof(IvmKeyScan));
	ks->cte = trickle_ivm_new_alias(t);
	ks->standin = standin(item);
	initStringInfo(&sql);
	foreach(lc, other)
	{
		IvmArm	   *arm = lfirst(lc);
		ListCell   *lc2;

		appendStringInfoString(&sql, lc == list_head(other) ? "SELECT DISTINCT " : " UNION SELECT ");
		foreach(lc2, exprs)
			appendStringInfo(&sql, "%s%s AS k%d", lc2 == list_head(exprs) ? "" : ", ",
							 trickle_ivm_slot(t, lfirst(lc2), block, arm->alias, NULL),
							 list_nth_int(which, foreach_current_index(lc2)));
		appendStringInfo(&sql, " FROM %s", arm->from);
	}
	t->ctes = lappend(t->ctes, psprintf("%s AS (%s)", ks->cte, sql.data));
	for (i = 0; i < list_length(item->scanatts); i++)
	{
		bool		in = list_member_int(which, list_nth_int(item->scankeys, i));

		ks->atts = lappend_int(ks->atts, in ? list_nth_int(item->scanatts, i) : 0);
		ks->keys = lappend_int(ks->keys, list_nth_int(item->scankeys, i));
	}
	return list_make1(trickle_ivm_arm_leaf(t, item,
										   restricted(t, item,
													  trickle_ivm_body_keyed(t, item->body, IVM_POS_ALL_NEW, true, ks),
													  ks->cte, which, 1),
										   false));
}

/*
 * trickle_ivm_derived_old: the arms of node, the leaf of a derived item
 * every scan of which is old, as a Z-set: its new state less its terms
 */
List *
trickle_ivm_derived_old(IvmTerm *t, IvmNode *node, IvmBlock *block)
{
	List	   *arms = list_make1(trickle_ivm_native(t, node, block));
	int			p;

	for (p = node->first; p <= node->last; p++)
		arms = list_concat(arms, trickle_ivm_negate(trickle_ivm_delta(t, node, block, p)));
	return arms;
}
