/*-------------------------------------------------------------------------
 *
 * sublink.c
 *	  Subqueries in expressions (EXISTS, IN, NOT IN, ANY, ALL, scalar) and
 *	  LATERAL subqueries in FROM, in the delta.
 *
 * Both are functions of a row of the query around them ("outer row") and
 * of the state of the tables they read.  The flip order (model.c) puts
 * their tables before the outer block's, so when an outer table flips they
 * read new states and run as written.  When one of their own tables
 * flips (the outer tables still old), the outer rows they may change are
 * the *candidates*: the outer rows for which a row of the table's change
 * (joined with the subquery's other tables) satisfies the subquery's WHERE.
 * A candidate contributes its output row as it is after the flip, and
 * minus its output row as it was before:
 *
 *	term = sum over candidates o of  w(o) * ( Q(o, after) - Q(o, before) )
 *
 * Candidates are grouped by value (outer.c), so each is evaluated once.
 *
 * How the subquery's value "before" is found depends on its kind:
 *
 *  - counted (EXISTS, and IN/ANY/ALL with one operand over a plain
 *    block): the value is a function of existence tests, each counted
 *    exactly like the matches of an outer join (see outer.c and the
 *    comment of classify in model.c), so nothing is evaluated over an old
 *    state.  Candidates are the outer rows matching a change under one of
 *    the tests: IN's equality finds them by a hash or an index;
 *
 *  - recomputed (scalar subqueries, ARRAY, and subqueries with
 *    aggregates, GROUP BY, LIMIT, several output columns): the subquery
 *    runs again with each table it reads replaced by its old state as a real
 *    bag, (rows now + deleted rows) EXCEPT ALL inserted rows; the outer
 *    row's correlation is pushed into that set operation, so an index
 *    still finds the rows, but each evaluation also reads the table's
 *    changes (the old state costs the changes read once per candidate).
 *
 * A LATERAL subquery is recomputed the same way: the candidates, joined
 * (LATERAL) to the subquery as it is after the flip with their weight, and
 * to the subquery as it was before with the weight negated.
 *
 * When a subquery's table flips, the other subqueries of the query are
 * new if their tables flipped before, and old otherwise: a counted one is
 * counted at that state, a recomputed one runs over old states.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "ivm/ivm.h"
#include "ivm/ivm_internal.h"

/* ---------------------------------------------------------------------
 * LATERAL subqueries
 * ---------------------------------------------------------------------
 */

/*
 * trickle_ivm_lateral_join: each arm of left joined (as node joins them) to
 * node's LATERAL subquery, whose tables are as they are after (or before)
 * the flip at ps.
 */
List *
trickle_ivm_lateral_join(IvmTerm *t, List *left, IvmNode *node, IvmBlock *block, int ps,
						 bool after)
{
	IvmItem    *item = node->right->item;
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, left)
	{
		IvmArm	   *l = lfirst(lc);
		IvmArm	   *arm = palloc0(sizeof(IvmArm));
		Query	   *body = item->konst ? item->konst :
			trickle_ivm_body_at(t, item->body, ps, after);
		const char *qalias;
		char	   *lateral = trickle_ivm_query_slot(t, body, block, l->alias, item, &qalias);

		arm->alias = trickle_ivm_alias_copy(t, l->alias);
		arm->alias[item->id] = qalias;
		arm->weights = list_copy(l->weights);
		arm->from = psprintf("(%s %s %s ON %s)", l->from,
							 node->jointype == JOIN_LEFT ? "LEFT JOIN" : "JOIN", lateral,
							 trickle_ivm_slot(t, node->quals, block, arm->alias, NULL));
		out = lappend(out, arm);
	}
	return out;
}

/* an arm reading the grouped candidates g0 (over items), weighted by their multiplicity */
static IvmArm *
candidates_arm(IvmTerm *t, const char *g0, List *items)
{
	IvmArm	   *arm = palloc0(sizeof(IvmArm));
	const char *a = trickle_ivm_new_alias(t);
	ListCell   *lc;

	arm->from = psprintf("(%s) %s", trickle_ivm_unit_rows(psprintf("SELECT g.*, g.__trickle_k AS __trickle_m FROM (%s) g", g0)), a);
	arm->weights = list_make1(psprintf("%s.__trickle_w", a));
	arm->alias = trickle_ivm_alias_copy(t, NULL);
	foreach(lc, items)
		arm->alias[((IvmItem *) lfirst(lc))->id] = a;
	return arm;
}

/*
 * trickle_ivm_lateral_delta: the arms of the change of a join whose right
 * side is a LATERAL subquery, when the scan at ps flips.
 */
List *
trickle_ivm_lateral_delta(IvmTerm *t, IvmNode *node, IvmBlock *block, int ps)
{
	IvmItem    *item = node->right->item;
	IvmCountTest *test;
	List	   *litems;
	IvmArm	   *g;

	if (trickle_ivm_holds(node->left, ps))
		return trickle_ivm_lateral_join(t, trickle_ivm_delta(t, node->left, block, ps),
										node, block, ps, true);

	/* a table of the subquery flips: recompute it for the candidates */
	test = palloc0(sizeof(IvmCountTest));
	test->cond = item->body->where;
	test->home = item->body;
	test->x = item->body->tree;
	test->xblock = item->body;
	test->candidates = true;
	litems = trickle_ivm_node_items(node->left);
	g = candidates_arm(t, trickle_ivm_candidates(t, trickle_ivm_state(t, node->left, block, ps),
												 litems, list_make1(test), ps, false),
					   litems);
	return list_concat(trickle_ivm_lateral_join(t, list_make1(g), node, block, ps, true),
					   trickle_ivm_negate(trickle_ivm_lateral_join(t, list_make1(g), node, block,
																   ps, false)));
}

/* ---------------------------------------------------------------------
 * Subqueries in expressions
 * ---------------------------------------------------------------------
 */

static bool
counted(IvmSublink *sl)
{
	return sl->kind != IVM_SUBLINK_RECOMPUTED;
}

/* adds the tests of sl to *tests; returns the index of its first */
static int
add_tests(List **tests, IvmSublink *sl, IvmBlock *top, bool flipping)
{
	int			first = list_length(*tests);
	ListCell   *lc;

	if (!counted(sl))
	{
		IvmCountTest *test = palloc0(sizeof(IvmCountTest));

		test->cond = sl->body->where;
		test->home = sl->body;
		test->x = sl->body->tree;
		test->xblock = sl->body;
		test->candidates = true;
		*tests = lappend(*tests, test);
		return first;
	}
	foreach(lc, sl->flags)
	{
		IvmFlag    *f = lfirst(lc);
		IvmCountTest *test;

		if (f == NULL)
			continue;
		test = palloc0(sizeof(IvmCountTest));
		test->cond = f->cond;
		test->home = sl->body;
		test->x = sl->body->tree;
		test->xblock = sl->body;
		test->guard = f->guard;
		test->guard_home = top;
		test->candidates = flipping;
		test->counted = true;
		test->transition = flipping;
		*tests = lappend(*tests, test);
	}
	return first;
}

/*
 * the value of counted subquery sl from its flags, the columns
 * <c>.__trickle_<which><i> from test first on (see classify in model.c)
 */
static char *
counted_value(IvmTerm *t, IvmSublink *sl, const char *c, const char **calias, char which,
			  int first)
{
	char	   *flag[3] = {NULL, NULL, NULL};
	ListCell   *lc;
	int			i = 0;
	int			n = first;
	char	   *nulls = NULL;

	foreach(lc, sl->flags)
	{
		if (lfirst(lc))
			flag[i] = psprintf("%s.__trickle_%c%d", c, which, n++);
		i++;
	}
	if (sl->kind == IVM_SUBLINK_EXISTS)
		return flag[0];
	if (list_length(sl->flags) == 3)
	{
		/* NULL when x is NULL and the body has a row, or when some y is NULL */
		if (flag[1])
			nulls = psprintf("(%s AND %s)",
							 trickle_ivm_slot(t, ((IvmFlag *) lsecond(sl->flags))->guard,
											  t->m->top, calias, NULL), flag[1]);
		if (flag[2])
			nulls = nulls ? psprintf("(%s OR %s)", nulls, flag[2]) : flag[2];
	}
	else if (list_length(sl->flags) == 2)
		nulls = flag[1];
	if (sl->kind == IVM_SUBLINK_ANY)
		return psprintf("CASE WHEN %s THEN true%s ELSE false END", flag[0],
						nulls ? psprintf(" WHEN %s THEN NULL::pg_catalog.bool", nulls) : "");
	return psprintf("CASE WHEN %s THEN false%s ELSE true END", flag[0],
					nulls ? psprintf(" WHEN %s THEN NULL::pg_catalog.bool", nulls) : "");
}

/* a copy of sl reading the tables of its body as they are before or after ps */
static Node *
sublink_at(IvmTerm *t, IvmSublink *sl, int ps, bool after)
{
	SubLink    *copy = copyObject(sl->sublink);

	copy->subselect = (Node *) trickle_ivm_body_at(t, sl->body, ps, after);
	return (Node *) copy;
}

static bool
has_equality(Oid type)
{
	return OidIsValid(lookup_type_cache(type, TYPECACHE_EQ_OPR)->eq_opr);
}

/*
 * trickle_ivm_sublink_term: the term for the flip at ps of a table of
 * subquery k.  See the file comment.
 */
char *
trickle_ivm_sublink_term(IvmTerm *t, IvmSublink *k, int ps)
{
	IvmModel   *m = t->m;
	IvmBlock   *top = m->top;
	List	   *items = top->items;
	List	   *tests = NIL;
	int		   *firsts = palloc0(sizeof(int) * list_length(m->sublinks));
	IvmSubValue *subs = palloc0(sizeof(IvmSubValue) * list_length(m->sublinks));
	const char *c = trickle_ivm_new_alias(t);
	const char *v = trickle_ivm_new_alias(t);
	const char *gg = trickle_ivm_new_alias(t);
	const char *a = trickle_ivm_new_alias(t);
	const char **calias = trickle_ivm_alias_copy(t, NULL);
	Oid			type = exprType((Node *) k->sublink);
	StringInfoData vals;
	StringInfoData sql;
	ListCell   *lc;
	char	   *counts;
	IvmArm	   *arm;
	int			side;

	foreach(lc, items)
		calias[((IvmItem *) lfirst(lc))->id] = c;

	/* the tests: k's, and those of the other counted subqueries still old */
	firsts[k->id] = add_tests(&tests, k, top, true);
	foreach(lc, m->sublinks)
	{
		IvmSublink *sl = lfirst(lc);

		if (sl != k && sl->first > ps && counted(sl))
			firsts[sl->id] = add_tests(&tests, sl, top, false);
	}
	counts = trickle_ivm_counts(t, trickle_ivm_candidates(t, trickle_ivm_state(t, top->tree, top, ps),
														  items, tests, ps, false),
								items, tests, ps);

	/* the values of the subqueries for each candidate */
	initStringInfo(&vals);
	appendStringInfo(&vals, "SELECT %s.*", c);
	for (side = 0; side < 2; side++)
	{
		bool		after = side == 0;
		char	   *value;

		if (counted(k))
			value = counted_value(t, k, c, calias, after ? 'a' : 'b', firsts[k->id]);
		else
		{
			IvmSubValue *own = palloc0(sizeof(IvmSubValue) * list_length(m->sublinks));

			own[k->id].replacement = sublink_at(t, k, ps, after);
			value = trickle_ivm_slot(t, (Node *) k->sublink, top, calias, own);
		}
		appendStringInfo(&vals, ", %s AS __trickle_v%c", value, after ? 'a' : 'b');
	}
	foreach(lc, m->sublinks)
	{
		IvmSublink *sl = lfirst(lc);

		if (sl == k || sl->first < ps)
			continue;
		if (counted(sl))
		{
			appendStringInfo(&vals, ", %s AS __trickle_v%d",
							 counted_value(t, sl, c, calias, 'a', firsts[sl->id]), sl->id);
			subs[sl->id].alias = a;
			subs[sl->id].column = psprintf("__trickle_v%d", sl->id);
		}
		else
			subs[sl->id].replacement = sublink_at(t, sl, ps, true);
	}
	appendStringInfo(&vals, " FROM (%s) %s", counts, c);

	/* each candidate twice: its value after with its weight, before with the weight negated */
	initStringInfo(&sql);
	appendStringInfo(&sql, "WITH %s AS (SELECT * FROM (%s OFFSET 0) %s%s) ", gg, vals.data, v,
					 has_equality(type) ?
					 psprintf(" WHERE %s.__trickle_va IS DISTINCT FROM %s.__trickle_vb", v, v) : "");
	for (side = 0; side < 2; side++)
	{
		const char **galias = trickle_ivm_alias_copy(t, NULL);
		bool		first = true;

		foreach(lc, items)
			galias[((IvmItem *) lfirst(lc))->id] = gg;
		appendStringInfoString(&sql, side == 0 ? "SELECT " : " UNION ALL SELECT ");
		trickle_ivm_append_cols(&sql, t, items, galias, NULL, false, &first);
		foreach(lc, m->sublinks)
		{
			IvmSublink *sl = lfirst(lc);

			if (subs[sl->id].alias)
				appendStringInfo(&sql, "%s%s.__trickle_v%d", first ? "" : ", ", gg, sl->id), first = false;
		}
		appendStringInfo(&sql, "%s%s.__trickle_v%c AS __trickle_v, %s%s.__trickle_k AS __trickle_m FROM %s",
						 first ? "" : ", ", gg, side == 0 ? 'a' : 'b', side == 0 ? "" : "- ", gg, gg);
	}
	arm = palloc0(sizeof(IvmArm));
	arm->from = psprintf("(%s) %s", trickle_ivm_unit_rows(sql.data), a);
	arm->weights = list_make1(psprintf("%s.__trickle_w", a));
	arm->alias = trickle_ivm_alias_copy(t, NULL);
	foreach(lc, items)
		arm->alias[((IvmItem *) lfirst(lc))->id] = a;
	subs[k->id].alias = a;
	subs[k->id].column = "__trickle_v";
	return trickle_ivm_final(t, list_make1(arm), subs, true);
}
