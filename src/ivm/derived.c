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
 * The restriction is written as recompute.c writes it: per key,
 * "K h CROSS JOIN LATERAL (SELECT ... FROM (body) q WHERE q.key = h.k
 * OFFSET 0)"; inside that subquery h.k is a parameter, so the planner
 * pushes the equality below the grouping into the body's WHERE (an index
 * scan per key when the key column is indexed).  Without an index on a
 * key column each key would scan the tables, so the body is then run once
 * and semi-joined to K (a hash join).  The choice is made when the SQL is
 * generated (an index created later counts from the next regeneration).
 * Keys with a NULL (GROUP BY puts NULLs together) are matched with
 * "both NULL" in a branch of their own, which no index serves.
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
 * its new state less the terms of its scans.
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
#include "access/table.h"
#include "catalog/pg_index.h"
#include "catalog/pg_operator.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
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

/* "OPERATOR(schema.name)" for opno */
static char *
operator_sql(Oid opno)
{
	HeapTuple	tp = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator op;
	char	   *sql;

	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	op = (Form_pg_operator) GETSTRUCT(tp);
	sql = psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(op->oprnamespace)),
				   NameStr(op->oprname));
	ReleaseSysCache(tp);
	return sql;
}

/* whether a column of a table of item's body that is a key leads a valid index */
static bool
indexed_key(IvmItem *item)
{
	Query	   *body = item->body->query;
	ListCell   *lc;

	foreach(lc, item->keys)
	{
		Node	   *expr = lfirst(lc);
		RangeTblEntry *rte;
		Relation	rel;
		List	   *indexes;
		ListCell   *lc2;
		bool		found = false;

		while (IsA(expr, Var) && ((Var *) expr)->varlevelsup == 0 &&
			   (rte = rt_fetch(((Var *) expr)->varno, body->rtable))->rtekind == RTE_JOIN &&
			   ((Var *) expr)->varattno > 0)
			expr = list_nth(rte->joinaliasvars, ((Var *) expr)->varattno - 1);
		if (!IsA(expr, Var) || ((Var *) expr)->varlevelsup != 0 || ((Var *) expr)->varattno <= 0)
			continue;
		rte = rt_fetch(((Var *) expr)->varno, body->rtable);
		if (rte->rtekind != RTE_RELATION)
			continue;
		rel = table_open(rte->relid, AccessShareLock);
		indexes = RelationGetIndexList(rel);
		foreach(lc2, indexes)
		{
			HeapTuple	tp = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc2)));
			Form_pg_index index;

			if (!HeapTupleIsValid(tp))
				continue;
			index = (Form_pg_index) GETSTRUCT(tp);
			if (index->indisvalid && index->indnatts > 0 &&
				index->indkey.values[0] == ((Var *) expr)->varattno)
				found = true;
			ReleaseSysCache(tp);
		}
		table_close(rel, AccessShareLock);
		if (found)
			return true;
	}
	return false;
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

/* "q.<key> OP h.k<i> AND ..." (both NULL also matching when nulls) */
static char *
key_match(IvmItem *item, List *keynames, const char *q, const char *h, bool nulls)
{
	StringInfoData sql;
	ListCell   *lc;
	ListCell   *lc2;

	initStringInfo(&sql);
	forboth(lc, keynames, lc2, item->keyops)
	{
		int			i = foreach_current_index(lc);
		char	   *eq = psprintf("%s.%s %s %s.k%d", q, (char *) lfirst(lc),
								  operator_sql(lfirst_oid(lc2)), h, i);

		if (i > 0)
			appendStringInfoString(&sql, " AND ");
		if (nulls)
			appendStringInfo(&sql, "(%s OR (%s.%s IS NULL AND %s.k%d IS NULL))", eq, q,
							 (char *) lfirst(lc), h, i);
		else
			appendStringInfoString(&sql, eq);
	}
	return sql.data;
}

/* "a.k0 IS NULL OR a.k1 IS NULL ..." over columns names (or k<i> when NULL) */
static char *
some_null(List *keys, List *names, const char *a)
{
	StringInfoData sql;
	int			i;

	initStringInfo(&sql);
	for (i = 0; i < list_length(keys); i++)
	{
		appendStringInfo(&sql, "%s%s.%s IS NULL", i > 0 ? " OR " : "", a,
						 names ? (char *) list_nth(names, i) : psprintf("k%d", i));
	}
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
 * a flip) for the keys in the WITH query keys (all rows when NULL), each
 * with weight w
 */
static char *
restricted(IvmTerm *t, IvmItem *item, Query *body, const char *keys, bool perkey, int w)
{
	List	   *cols;
	List	   *names;
	List	   *keynames;
	const char *qa;
	const char *qb;
	const char *h = trickle_ivm_new_alias(t);
	const char *r = trickle_ivm_new_alias(t);
	char	   *slot;
	char	   *slot2;

	body = exposed(item, body, &cols, &names, &keynames);
	slot = trickle_ivm_query_slot_cols(t, body, item->block, NULL, cols, names, &qa);
	if (keys == NULL)
		return psprintf("SELECT %s%d AS __trickle_w FROM %s", item_cols(item, qa), w, slot);
	slot2 = trickle_ivm_query_slot_cols(t, body, item->block, NULL, cols, names, &qb);
	if (perkey)
		return psprintf("SELECT %s%d AS __trickle_w FROM %s %s CROSS JOIN LATERAL"
						" (SELECT %s.* FROM %s WHERE %s OFFSET 0) %s WHERE NOT (%s)"
						" UNION ALL SELECT %s%d AS __trickle_w FROM %s %s CROSS JOIN LATERAL"
						" (SELECT %s.* FROM %s WHERE %s OFFSET 0) %s WHERE %s",
						item_cols(item, r), w, keys, h,
						qa, slot, key_match(item, keynames, qa, h, false), r,
						some_null(item->keys, NULL, h),
						item_cols(item, r), w, keys, h,
						qb, slot2, key_match(item, keynames, qb, h, true), r,
						some_null(item->keys, NULL, h));

	/* once, semi-joined to the keys; the NULL keys by a probe for the rows holding a NULL */
	return psprintf("SELECT %s%d AS __trickle_w FROM %s WHERE EXISTS (SELECT FROM %s %s WHERE %s)"
					" OR ((%s) AND EXISTS (SELECT FROM %s %s WHERE %s))",
					item_cols(item, qa), w, slot, keys, h,
					key_match(item, keynames, qa, h, false),
					some_null(item->keys, keynames, qa), keys, r,
					key_match(item, keynames, qa, r, true));
}

/*
 * trickle_ivm_derived_delta: the arms of derived item item's change when
 * the scan at ps (in its body) flips.  See the file comment.
 */
List *
trickle_ivm_derived_delta(IvmTerm *t, IvmItem *item, int ps)
{
	const char *keys = NULL;
	bool		perkey = false;
	char	   *after;
	char	   *before;

	if (item->keys)
	{
		keys = affected_keys(t, item, ps);
		perkey = indexed_key(item);
	}
	after = restricted(t, item, trickle_ivm_body_at(t, item->body, ps, true), keys, perkey, 1);
	before = restricted(t, item, trickle_ivm_body_at(t, item->body, ps, false), keys, perkey, -1);
	return list_make1(trickle_ivm_arm_leaf(t, item, psprintf("%s UNION ALL %s", after, before),
										   true));
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
