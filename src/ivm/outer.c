/*-------------------------------------------------------------------------
 *
 * outer.c
 *	  Outer joins in the delta, and the counted existence of matches that
 *	  they (and the counted subqueries of sublink.c) rest on.
 *
 * A left join is an inner join plus the preserved rows without a match,
 * padded with NULLs:
 *
 *	L =|><|_c R  =  (L |><|_c R)  +  (L |>_c R) x NULL_R
 *
 * Both parts are linear in L: with R fixed, each row of L maps to its
 * matches or to its padded self.  So when a scan of L flips while R is new
 * (the flip order of model.c puts the nullable side first unless only the
 * preserved side holds outer joins), the term is dL =|><| R', the join
 * itself run over L's changes; while R is old, it is dL |><| R_old plus
 * the rows of dL without a match in R's old state, counted as below with
 * every scan of R still to flip.
 *
 * When a scan of R flips (L old as a Z-set, or new), the inner part is
 * L |><| dR, and the padded part changes for the rows l of L whose
 * matched-ness changed:
 *
 *	sum over l of  w(l) * ( [no match in R after] - [no match in R before] )
 *
 * Only rows matching some row of dR can change.  "Has a match" must be
 * decided over a real bag, not a Z-set (a row inserted since the
 * frontier appears in R' + (-dR) twice with opposite weights), so it is
 * counted instead: with n' the number of matches in R' (the tables as
 * they are), Pa the weight of the matches among the changes of R's scans
 * that flip after this one, and Ps among this scan's changes,
 *
 *	matches after = n' - Pa,   matches before = n' - Pa - Ps,
 *
 * and "n' - P > 0" is "P < 0 or the (P+1)-th match exists": an EXISTS
 * probe into R' with OFFSET P, which an index on the join key answers by
 * reading at most P+1 matches.  Pa and Ps are summed in one join of the
 * candidates with the changes; a candidate whose Ps is 0 cannot change
 * and is dropped before any probe.  The changes are netted first by the
 * columns the condition reads (net_changes): rows agreeing on them match
 * the same candidates, so an UPDATE leaving the join key alone cancels out
 * before any candidate is looked for.
 *
 * Candidates are grouped by value first (trickle_ivm_candidates): equal
 * rows have equal matches, so the group's weight (their multiplicity in
 * the Z-set, net of cancelling pairs) stands for them all, and the
 * per-candidate sums need no row identity.  Values are grouped as they
 * are where their equality is identity, by their text otherwise (1.0 and
 * 1.00 are equal numerics that a join condition can tell apart).
 *
 * Right joins mirror left joins.  A full join is both paddings: when a
 * side F flips while the other side O is new, dF joined to O' preserving
 * dF, plus the rows of O whose matched-ness in F changed; while O is old,
 * dF |><| O_old, the rows of O whose matched-ness in F changed, and the
 * rows of dF without a match in O's old state.
 *
 * The old state of an outer join subtree (needed when a scan outside it
 * flips and it is still old) is, when its nullable side flips first, its
 * state with the nullable side new, less the terms that flip that side's
 * scans:
 *
 *	(L =|><| R)_old = L_old =|><| R'  -  sum over scans j of R of  d_j(L =|><| R)
 *
 * and otherwise its new state less the terms of all its scans.  The flip
 * order makes either rare: a side holding outer joins flips first, so it
 * is new, not old, while its sibling flips.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "ivm/ivm.h"
#include "ivm/ivm_internal.h"

/* ---------------------------------------------------------------------
 * Counting matches
 * ---------------------------------------------------------------------
 */

/*
 * net_changes: the SELECT of the net weight of the change arms grouped by
 * the columns refs (IvmColRef), without the groups that cancel out, with
 * a tag column when tag >= 0.  Two rows agreeing on every column a test's
 * condition reads match the same candidates, so only their net weight
 * counts; an UPDATE that leaves those columns alone cancels out entirely.
 */
static char *
net_changes(IvmTerm *t, List *arms, List *refs, int tag)
{
	StringInfoData u;
	StringInfoData sql;
	ListCell   *lc;
	bool		first;

	initStringInfo(&u);
	foreach(lc, arms)
	{
		IvmArm	   *arm = lfirst(lc);
		ListCell   *lc2;

		appendStringInfoString(&u, lc == list_head(arms) ? "SELECT " : " UNION ALL SELECT ");
		foreach(lc2, refs)
		{
			IvmColRef  *ref = lfirst(lc2);
			char	   *name = trickle_ivm_col_name(ref->item, ref->col);

			appendStringInfo(&u, "%s.%s AS %s, ", arm->alias[ref->item->id], name, name);
		}
		appendStringInfo(&u, "%s AS __trickle_w FROM %s", trickle_ivm_arm_weight(arm), arm->from);
	}
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	foreach(lc, refs)
	{
		IvmColRef  *ref = lfirst(lc);
		char	   *name = trickle_ivm_col_name(ref->item, ref->col);

		if (trickle_ivm_type_exact(ref->col->type, ref->col->collation))
			appendStringInfo(&sql, "n.%s, ", name);
		else
			appendStringInfo(&sql, "(pg_catalog.array_agg(n.%s))[1] AS %s, ", name, name);
	}
	appendStringInfo(&sql, "(pg_catalog.sum(n.__trickle_w))::pg_catalog.int4 AS __trickle_w");
	if (tag >= 0)
		appendStringInfo(&sql, ", %d AS __trickle_t", tag);
	appendStringInfo(&sql, " FROM (%s) n", u.data);
	first = true;
	foreach(lc, refs)
	{
		IvmColRef  *ref = lfirst(lc);
		char	   *name = trickle_ivm_col_name(ref->item, ref->col);

		appendStringInfoString(&sql, first ? " GROUP BY " : ", ");
		if (trickle_ivm_type_exact(ref->col->type, ref->col->collation))
			appendStringInfo(&sql, "n.%s", name);
		else
			appendStringInfo(&sql, "(n.%s)::pg_catalog.text", name);
		first = false;
	}
	appendStringInfoString(&sql, " HAVING pg_catalog.sum(n.__trickle_w) <> 0");
	return sql.data;
}

/*
 * test_refs: the columns of x's items a test's changes are grouped by: those
 * its condition reads when only matches are counted, every column when the
 * subquery is recomputed (a change of any column changes its value)
 */
static List *
test_refs(IvmTerm *t, IvmCountTest *test, List *xitems)
{
	List	   *refs = NIL;
	ListCell   *lc;

	if (test->counted)
		return trickle_ivm_expr_refs(t->m, test->cond, test->home, xitems);
	foreach(lc, xitems)
	{
		IvmItem    *item = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, item->cols)
		{
			IvmColRef  *ref = palloc(sizeof(IvmColRef));

			ref->item = item;
			ref->col = lfirst(lc2);
			refs = lappend(refs, ref);
		}
	}
	return refs;
}

/*
 * trickle_ivm_candidates: the SELECT of the candidate rows grouped by value:
 * the rows of cand_arms (a Z-set over cand_items) that satisfy the guard
 * of some test marked candidates and match, under its cond, a row of the
 * change of its x at flip position ps; all of them when all_rows.  Columns:
 * c<item>_<att> of cand_items, __trickle_k (the group's weight, never 0),
 * __trickle_id (numbering the groups).
 *
 * A row belongs to every test's set or to none independently of its copies,
 * so a group found through m tests sums its weight m times: the sum is
 * divided by the number of tests that found it.
 */
char *
trickle_ivm_candidates(IvmTerm *t, List *cand_arms, List *cand_items, List *tests,
					   int ps, bool all_rows)
{
	StringInfoData u;
	StringInfoData sql;
	ListCell   *lc;
	int			tag = 0;
	bool		first = true;
	bool		grouped = false;

	initStringInfo(&u);
	foreach(lc, all_rows ? list_make1(NULL) : tests)
	{
		IvmCountTest *test = lfirst(lc);
		char	   *dsql = NULL;
		List	   *xitems = NIL;
		ListCell   *lc2;

		if (test && !test->candidates)
			continue;
		if (test)
		{
			xitems = trickle_ivm_node_items(test->x);
			dsql = net_changes(t, trickle_ivm_delta(t, test->x, test->xblock, ps),
							   test_refs(t, test, xitems), -1);
		}
		foreach(lc2, cand_arms)
		{
			IvmArm	   *arm = lfirst(lc2);
			bool		f = true;

			appendStringInfoString(&u, first ? "SELECT " : " UNION ALL SELECT ");
			first = false;
			trickle_ivm_append_cols(&u, t, cand_items, arm->alias, arm, false, &f);
			appendStringInfo(&u, "%s%s AS __trickle_w, %d AS __trickle_t FROM %s",
							 f ? "" : ", ", trickle_ivm_arm_weight(arm), tag, arm->from);
			if (test)
			{
				const char *d = trickle_ivm_new_alias(t);
				const char **alias = trickle_ivm_alias_copy(t, arm->alias);
				ListCell   *lc3;

				foreach(lc3, xitems)
					alias[((IvmItem *) lfirst(lc3))->id] = d;
				appendStringInfoString(&u, " WHERE ");
				if (test->guard)
					appendStringInfo(&u, "%s AND ",
									 trickle_ivm_slot(t, test->guard, test->guard_home,
													  arm->alias, NULL));
				appendStringInfo(&u, "EXISTS (SELECT FROM (%s) %s WHERE %s)", dsql, d,
								 trickle_ivm_slot(t, test->cond, test->home, alias, NULL));
			}
		}
		tag++;
	}
	if (first)
		elog(ERROR, "no candidate test");

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	first = true;
	foreach(lc, cand_items)
	{
		IvmItem    *item = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, item->cols)
		{
			IvmCol	   *col = lfirst(lc2);
			char	   *name = trickle_ivm_col_name(item, col);

			if (trickle_ivm_type_exact(col->type, col->collation))
				appendStringInfo(&sql, "%su.%s", first ? "" : ", ", name);
			else
				appendStringInfo(&sql, "%s(pg_catalog.array_agg(u.%s))[1] AS %s",
								 first ? "" : ", ", name, name);
			first = false;
		}
	}
	appendStringInfo(&sql, "%s(pg_catalog.sum(u.__trickle_w)%s)::pg_catalog.int4 AS __trickle_k,"
					 " pg_catalog.row_number() OVER () AS __trickle_id FROM (%s) u",
					 first ? "" : ", ",
					 tag > 1 ? " / pg_catalog.count(DISTINCT u.__trickle_t)" : "", u.data);
	foreach(lc, cand_items)
	{
		IvmItem    *item = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, item->cols)
		{
			IvmCol	   *col = lfirst(lc2);
			char	   *name = trickle_ivm_col_name(item, col);

			appendStringInfo(&sql, "%s", grouped ? ", " : " GROUP BY ");
			if (trickle_ivm_type_exact(col->type, col->collation))
				appendStringInfo(&sql, "u.%s", name);
			else
				appendStringInfo(&sql, "(u.%s)::pg_catalog.text", name);
			grouped = true;
		}
	}
	appendStringInfoString(&sql, " HAVING pg_catalog.sum(u.__trickle_w) <> 0");
	return sql.data;
}

/* the net changes of x at the flips after ps (tag 1) and at ps (tag 0) */
static char *
count_changes(IvmTerm *t, IvmCountTest *test, int ps, List *xitems, bool *any)
{
	StringInfoData sql;
	List	   *refs = test_refs(t, test, xitems);
	List	   *ds = trickle_ivm_delta(t, test->x, test->xblock, ps);
	int			p;

	initStringInfo(&sql);
	*any = false;
	if (ds)
	{
		appendStringInfoString(&sql, net_changes(t, ds, refs, 0));
		*any = true;
	}
	for (p = Max(ps + 1, test->x->first); p <= test->x->last; p++)
	{
		List	   *da = trickle_ivm_delta(t, test->x, test->xblock, p);

		if (da == NIL)
			continue;
		appendStringInfo(&sql, "%s%s", *any ? " UNION ALL " : "", net_changes(t, da, refs, 1));
		*any = true;
	}
	return sql.data;
}

/* "EXISTS (SELECT FROM <x new> WHERE cond [OFFSET n])" for the candidate at g */
static char *
probe(IvmTerm *t, IvmCountTest *test, const char **calias, const char *offset)
{
	IvmArm	   *x = trickle_ivm_native(t, test->x, test->xblock);
	const char **alias = trickle_ivm_alias_copy(t, calias);
	int			i;

	for (i = 0; i < list_length(t->m->items); i++)
	{
		if (x->alias[i])
			alias[i] = x->alias[i];
	}
	return psprintf("EXISTS (SELECT FROM %s WHERE %s%s%s)", x->from,
					trickle_ivm_slot(t, test->cond, test->home, alias, NULL),
					offset ? " OFFSET " : "", offset ? offset : "");
}

/* whether matches exist, given the weight of the changes to discount */
static char *
exists_after(IvmTerm *t, IvmCountTest *test, const char **calias, const char *p)
{
	if (p == NULL)
		return probe(t, test, calias, NULL);
	return psprintf("CASE WHEN %s < 0 THEN true ELSE %s END", p, probe(t, test, calias, p));
}

/*
 * trickle_ivm_counts: the candidates g0 (see above) with, for each test i
 * marked counted, whether x holds a row matching it after the flip at ps
 * (__trickle_a<i>) and, for a transition test, before it (__trickle_b<i>).
 * With transition tests, only the candidates for which the changes at ps
 * weigh something under one of them are kept: for the others nothing
 * changed.
 */
char *
trickle_ivm_counts(IvmTerm *t, const char *g0, List *cand_items, List *tests, int ps)
{
	StringInfoData sql;
	StringInfoData cols;
	StringInfoData joins;
	StringInfoData filter;
	const char *g = trickle_ivm_new_alias(t);
	const char **galias = trickle_ivm_alias_copy(t, NULL);
	ListCell   *lc;
	int			i = 0;

	foreach(lc, cand_items)
		galias[((IvmItem *) lfirst(lc))->id] = g;

	initStringInfo(&sql);
	initStringInfo(&cols);
	initStringInfo(&joins);
	initStringInfo(&filter);
	appendStringInfo(&sql, "WITH %s AS (%s)", g, g0);
	foreach(lc, tests)
	{
		IvmCountTest *test = lfirst(lc);
		List	   *xitems;
		char	   *changes;
		bool		any;
		char	   *pa = NULL;
		char	   *pall = NULL;

		if (!test->counted)
		{
			i++;
			continue;
		}
		xitems = trickle_ivm_node_items(test->x);
		changes = count_changes(t, test, ps, xitems, &any);
		if (any)
		{
			const char *p = trickle_ivm_new_alias(t);
			const char *d = trickle_ivm_new_alias(t);
			const char **alias = trickle_ivm_alias_copy(t, galias);
			ListCell   *lc2;

			foreach(lc2, xitems)
				alias[((IvmItem *) lfirst(lc2))->id] = d;
			appendStringInfo(&sql, ", %s AS (SELECT %s.__trickle_id,"
							 " COALESCE(pg_catalog.sum(%s.__trickle_w) FILTER (WHERE %s.__trickle_t = 0), 0) AS ps,"
							 " COALESCE(pg_catalog.sum(%s.__trickle_w) FILTER (WHERE %s.__trickle_t = 1), 0) AS pa"
							 " FROM %s JOIN (%s) %s ON %s GROUP BY %s.__trickle_id)",
							 p, g, d, d, d, d, g, changes, d,
							 trickle_ivm_slot(t, test->cond, test->home, alias, NULL), g);
			appendStringInfo(&joins, " LEFT JOIN %s ON %s.__trickle_id = %s.__trickle_id", p, p, g);
			pa = psprintf("COALESCE(%s.pa, 0)", p);
			pall = psprintf("(COALESCE(%s.pa, 0) + COALESCE(%s.ps, 0))", p, p);
			if (test->transition)
				appendStringInfo(&filter, "%sCOALESCE(%s.ps, 0) <> 0", filter.len ? " OR " : "", p);
		}
		else if (test->transition)
			elog(ERROR, "transition test without changes");
		appendStringInfo(&cols, ", %s AS __trickle_a%d", exists_after(t, test, galias, pa), i);
		if (test->transition)
			appendStringInfo(&cols, ", %s AS __trickle_b%d", exists_after(t, test, galias, pall), i);
		i++;
	}
	appendStringInfo(&sql, " SELECT %s.*%s FROM %s%s", g, cols.data, g, joins.data);
	if (filter.len)
		appendStringInfo(&sql, " WHERE %s", filter.data);
	appendStringInfoString(&sql, " OFFSET 0");
	return sql.data;
}

/* ---------------------------------------------------------------------
 * Padded rows
 * ---------------------------------------------------------------------
 */

/*
 * padded_arm: one arm of the rows of cand_items padded with NULLs for
 * null_items, weighted by weight (SQL over the counts' columns; %1$s
 * stands for their alias), without the rows of weight 0
 */
static List *
padded_arm(IvmTerm *t, const char *counts, List *cand_items, List *null_items,
		   const char *weight)
{
	StringInfoData sql;
	const char *c = trickle_ivm_new_alias(t);
	const char *z = trickle_ivm_new_alias(t);
	const char *a = trickle_ivm_new_alias(t);
	const char **alias = trickle_ivm_alias_copy(t, NULL);
	bool		first = true;
	IvmArm	   *arm = palloc0(sizeof(IvmArm));
	ListCell   *lc;

	foreach(lc, cand_items)
		alias[((IvmItem *) lfirst(lc))->id] = c;
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT * FROM (SELECT ");
	trickle_ivm_append_cols(&sql, t, cand_items, alias, NULL, false, &first);
	trickle_ivm_append_cols(&sql, t, null_items, NULL, NULL, true, &first);
	appendStringInfo(&sql, "%s(%s.__trickle_k * %s)::pg_catalog.int4 AS __trickle_m FROM (%s) %s OFFSET 0) %s"
					 " WHERE %s.__trickle_m <> 0",
					 first ? "" : ", ", c, psprintf(weight, c), counts, c, z, z);
	arm->from = psprintf("(%s) %s", trickle_ivm_unit_rows(sql.data), a);
	arm->weights = list_make1(psprintf("%s.__trickle_w", a));
	arm->alias = trickle_ivm_alias_copy(t, NULL);
	foreach(lc, list_concat_copy(cand_items, null_items))
		arm->alias[((IvmItem *) lfirst(lc))->id] = a;
	return list_make1(arm);
}

/*
 * padded: the rows of cand_arms (over cand_items) padded with NULLs for
 * x's items, weighted by how their matched-ness in x under quals changes
 * at the flip at ps (transition: +1 where a match disappears, -1 where one
 * appears; the candidates are the rows matching x's change), or, when not
 * transition, the rows that have no match in x's state at the flip (x is
 * still old: every one of its scans flips later; every row of cand_arms, a
 * change, is a candidate).
 */
static List *
padded(IvmTerm *t, List *cand_arms, List *cand_items, IvmNode *x, IvmBlock *block,
	   Node *quals, int ps, bool transition)
{
	IvmCountTest *test = palloc0(sizeof(IvmCountTest));
	char	   *counts;

	test->cond = quals;
	test->home = block;
	test->x = x;
	test->xblock = block;
	test->candidates = transition;
	test->counted = true;
	test->transition = transition;
	counts = trickle_ivm_counts(t, trickle_ivm_candidates(t, cand_arms, cand_items,
														  list_make1(test), ps, !transition),
								cand_items, list_make1(test), ps);
	return padded_arm(t, counts, cand_items, trickle_ivm_node_items(x),
					  transition ?
					  "((NOT %1$s.__trickle_a0)::pg_catalog.int4 - (NOT %1$s.__trickle_b0)::pg_catalog.int4)" :
					  "(NOT %1$s.__trickle_a0)::pg_catalog.int4");
}

/* ---------------------------------------------------------------------
 * Terms of outer joins
 * ---------------------------------------------------------------------
 */


/* the arms of a and b joined as node joins its left and right sides */
static List *
join_sides(IvmTerm *t, IvmNode *node, IvmBlock *block, List *left, List *right,
		   JoinType jointype)
{
	return trickle_ivm_join_arms(t, left, right, jointype, node->quals, block);
}

/*
 * trickle_ivm_outer_delta: the arms of a left, right or full join's change
 * when the scan at ps (below it) flips.  See the file comment; which rule
 * applies depends on which side flips first (model.c).
 */
List *
trickle_ivm_outer_delta(IvmTerm *t, IvmNode *node, IvmBlock *block, int ps)
{
	IvmNode    *l = node->left;
	IvmNode    *r = node->right;
	bool		in_left = trickle_ivm_holds(l, ps);

	if (node->jointype == JOIN_LEFT || node->jointype == JOIN_RIGHT)
	{
		bool		left_preserved = node->jointype == JOIN_LEFT;
		IvmNode    *p = left_preserved ? l : r;
		IvmNode    *n = left_preserved ? r : l;
		List	   *dp;
		List	   *parms;
		List	   *inner;

		if (trickle_ivm_holds(p, ps))
		{
			dp = trickle_ivm_delta(t, p, block, ps);
			if (n->last < ps)
			{
				/* the nullable side is new: the join itself, over the changes */
				List	   *nnew = trickle_ivm_joined_state(t, n, block, ps, node, dp, p);

				return left_preserved ? join_sides(t, node, block, dp, nnew, JOIN_LEFT) :
					join_sides(t, node, block, nnew, dp, JOIN_RIGHT);
			}
			/* the nullable side is old: matches, and the changes without one */
			parms = trickle_ivm_state(t, n, block, ps);
			inner = left_preserved ? join_sides(t, node, block, dp, parms, JOIN_INNER) :
				join_sides(t, node, block, parms, dp, JOIN_INNER);
			return list_concat(inner, padded(t, dp, trickle_ivm_node_items(p), n,
											 block, node->quals, ps, false));
		}
		/* a scan of the nullable side flips */
		parms = trickle_ivm_state(t, p, block, ps);
		dp = trickle_ivm_delta(t, n, block, ps);
		inner = left_preserved ? join_sides(t, node, block, parms, dp, JOIN_INNER) :
			join_sides(t, node, block, dp, parms, JOIN_INNER);
		return list_concat(inner, padded(t, parms, trickle_ivm_node_items(p), n,
										 block, node->quals, ps, true));
	}
	if (node->jointype == JOIN_FULL)
	{
		IvmNode    *f = in_left ? l : r;	/* the side that flips */
		IvmNode    *o = in_left ? r : l;
		List	   *df = trickle_ivm_delta(t, f, block, ps);
		List	   *ostate = trickle_ivm_state(t, o, block, ps);
		List	   *arms;

		if (o->last < ps)
		{
			/* the other side is new: the flipping side's rows as a join preserving them */
			arms = in_left ? join_sides(t, node, block, df, ostate, JOIN_LEFT) :
				join_sides(t, node, block, ostate, df, JOIN_RIGHT);
			return list_concat(arms, padded(t, ostate, trickle_ivm_node_items(o), f,
											block, node->quals, ps, true));
		}
		/* the other side is old */
		arms = in_left ? join_sides(t, node, block, df, ostate, JOIN_INNER) :
			join_sides(t, node, block, ostate, df, JOIN_INNER);
		arms = list_concat(arms, padded(t, ostate, trickle_ivm_node_items(o), f,
										block, node->quals, ps, true));
		return list_concat(arms, padded(t, df, trickle_ivm_node_items(f), o,
										block, node->quals, ps, false));
	}
	elog(ERROR, "unexpected join type %d", (int) node->jointype);
}

/* the terms of node at every flip of the scans of sub (a subtree of node) */
static List *
flips(IvmTerm *t, IvmNode *node, IvmNode *sub, IvmBlock *block)
{
	List	   *arms = NIL;
	int			p;

	for (p = sub->first; p <= sub->last; p++)
		arms = list_concat(arms, trickle_ivm_delta(t, node, block, p));
	return arms;
}

/*
 * trickle_ivm_outer_old: the arms of an outer join (or a join with a
 * LATERAL subquery), every scan of which is old, as a Z-set: its state
 * with the side that flips first new, less that side's terms; when that
 * side is not the nullable one, its new state less all its terms.
 */
List *
trickle_ivm_outer_old(IvmTerm *t, IvmNode *node, IvmBlock *block)
{
	IvmNode    *l = node->left;
	IvmNode    *r = node->right;

	if (trickle_ivm_lateral(node))
		return list_concat(trickle_ivm_lateral_join(t, trickle_ivm_state(t, l, block, r->last),
													node, block, IVM_POS_ALL_NEW, true),
						   trickle_ivm_negate(flips(t, node, r, block)));
	if (node->jointype == JOIN_LEFT && r->first < l->first)
		return list_concat(trickle_ivm_join_arms(t, trickle_ivm_state(t, l, block, r->last),
												 list_make1(trickle_ivm_native(t, r, block)),
												 JOIN_LEFT, node->quals, block),
						   trickle_ivm_negate(flips(t, node, r, block)));
	if (node->jointype == JOIN_RIGHT && l->first < r->first)
		return list_concat(trickle_ivm_join_arms(t, list_make1(trickle_ivm_native(t, l, block)),
												 trickle_ivm_state(t, r, block, l->last),
												 JOIN_RIGHT, node->quals, block),
						   trickle_ivm_negate(flips(t, node, l, block)));
	return list_concat(list_make1(trickle_ivm_native(t, node, block)),
					   trickle_ivm_negate(flips(t, node, node, block)));
}
