/*-------------------------------------------------------------------------
 *
 * normalize.c
 *	  Rewriting a defining query so that every source it reads is a table
 *	  in the range table the deltas walk.
 *
 * The delta of a select-project-join block (src/ivm/delta.c) replaces range
 * table entries of tables by their changes or their old state.  A query may
 * reach its tables through FROM items that are not tables: views, WITH
 * queries and subqueries.  Before anything else, trickle_ivm_analyze hands
 * the analysed query to trickle_ivm_normalize, which works on a copy,
 * bottom-up, one query level at a time:
 *
 *	1. WITH queries that are not recursive are inlined: every reference
 *	   becomes a subquery holding a copy of the WITH query (MATERIALIZED or
 *	   not: for a query that only reads, and has no volatile functions,
 *	   evaluating it once or per reference gives the same rows).  A WITH
 *	   query referenced twice becomes two subqueries, so its tables are
 *	   scanned twice, like a self-join.  Recursive ones stay.
 *	2. Views in FROM are expanded as the rewriter does: the entry becomes a
 *	   subquery holding the view's ON SELECT rule action, normalised in turn
 *	   (nested views).  The action's OLD and NEW placeholder entries, which
 *	   nothing references, are removed.  Every view expanded is remembered
 *	   (plan->views): capture is configured on the views' tables, the views
 *	   are recorded as sources too, and replacing one re-plans the stream
 *	   table (src/api/views.c).
 *	3. Subqueries in FROM (written ones, and those from steps 1 and 2) are
 *	   normalised recursively, and so are subqueries in expressions.
 *	4. A simple subquery (select-project-join: no aggregates, GROUP BY,
 *	   DISTINCT, window functions, LIMIT, set operations or set-returning
 *	   select list) that is joined only by comma or INNER JOIN is merged
 *	   into its parent, as the planner's pull-up does: its range table is
 *	   appended (its Vars offset), references to its output columns are
 *	   replaced by its select-list expressions, its FROM items take its
 *	   place in the join tree and its WHERE clause joins the nearest
 *	   enclosing condition (the parent's WHERE, or the ON of the inner join
 *	   around it, which for inner joins means the same).  A merged subquery
 *	   of several FROM items under an explicit JOIN becomes a chain of CROSS
 *	   JOINs, because the deparser prints only table references and JOINs in
 *	   FROM.
 *
 * The result must still deparse (the delta terms are the normalised query
 * deparsed, src/ivm/delta.c).  Two things keep it so after a merge: Vars
 * that referred to join outputs (JOIN ... USING columns, aliased joins) are
 * replaced by what they stand for (flatten_join_alias_vars), and every join
 * of the level is rebuilt as a plain ON join whose output columns are those
 * of its inputs as they are now.
 *
 * A subquery that cannot be merged stays a subquery.  One that reads no
 * table at all (VALUES, functions, constants, LATERAL expressions of the
 * row it joins) is a constant of the delta's telescoping sum, like a
 * function in FROM, and is accepted; any other makes the query not
 * maintainable, with the reason (normalize's problem).
 *
 * Memory: everything is allocated in the caller's context; the input query
 * is not modified.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_relation.h"
#include "parser/parsetree.h"
#include "rewrite/prs2lock.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "ivm/ivm.h"
#include "ivm/ivm_internal.h"

typedef struct NormContext
{
	List	   *views;			/* OIDs of every view expanded */
	List	   *active;			/* OIDs of the views being expanded now */
	List	   *cte_rtes;		/* RangeTblEntry made from WITH references */
	List	   *cte_names;		/* and the names of their WITH queries */
} NormContext;

/*
 * What normalisation made of one range table entry of a level: where it
 * came from and, for a subquery that stays, why.  A level's notes are a
 * List parallel to its range table (NULL: nothing to say); a merged
 * subquery's notes travel up with its entries.
 */
typedef struct EntryNote
{
	char	   *label;			/* "view public.v", "WITH query c in view
								 * public.w", "subquery s", or NULL */
	const char *why;			/* a subquery kept: what stops the merge */
} EntryNote;

/* one entry of the level being normalised */
typedef struct EntryInfo
{
	EntryNote	note;
	List	   *notes;			/* of its subquery, when it has one */
} EntryInfo;

static Query *normalize_query(Query *query, List **notes, NormContext *ctx);

/* ---------------------------------------------------------------------
 * WITH queries
 * --------------------------------------------------------------------- */

typedef struct CteContext
{
	CommonTableExpr *cte;
	int			levelsup;		/* of the node visited, below the WITH's level */
	NormContext *norm;
} CteContext;

static bool
inline_cte_walker(Node *node, CteContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		bool		result;

		ctx->levelsup++;
		result = query_tree_walker((Query *) node, inline_cte_walker, ctx,
								   QTW_EXAMINE_RTES_BEFORE);
		ctx->levelsup--;
		return result;
	}
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		Query	   *body;

		if (rte->rtekind != RTE_CTE || rte->ctelevelsup != ctx->levelsup ||
			strcmp(rte->ctename, ctx->cte->ctename) != 0)
			return false;

		/* outer references of the body now cross levelsup more levels */
		body = copyObject((Query *) ctx->cte->ctequery);
		if (ctx->levelsup > 0)
			IncrementVarSublevelsUp((Node *) body, ctx->levelsup, 1);
		trickle_ivm_rte_as_subquery(rte, body);
		ctx->norm->cte_rtes = lappend(ctx->norm->cte_rtes, rte);
		ctx->norm->cte_names = lappend(ctx->norm->cte_names, ctx->cte->ctename);
		/* range_table_walker now visits the body: nothing there is ours */
		return false;
	}
	return expression_tree_walker(node, inline_cte_walker, ctx);
}

/*
 * inline_ctes: replace every reference to the non-recursive WITH queries of
 * query by a copy of the WITH query, in order (a later WITH query may read
 * an earlier one, never the reverse), and drop them.
 */
static void
inline_ctes(Query *query, NormContext *norm)
{
	List	   *kept = NIL;
	ListCell   *lc;

	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst(lc);
		CteContext	ctx;

		if (cte->cterecursive)
		{
			kept = lappend(kept, cte);
			continue;
		}
		ctx.cte = cte;
		ctx.levelsup = -1;
		ctx.norm = norm;
		(void) inline_cte_walker((Node *) query, &ctx);
	}
	query->cteList = kept;
}

/* ---------------------------------------------------------------------
 * Views
 * --------------------------------------------------------------------- */

static char *
relation_label(const char *kind, Oid relid)
{
	return psprintf("%s %s", kind,
					quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											   get_rel_name(relid)));
}

/*
 * view_query: a copy of the ON SELECT rule action of view relid, without
 * its OLD and NEW placeholder entries (PostgreSQL 15 keeps them at range
 * table positions 1 and 2 of every view's action; nothing refers to them).
 */
static Query *
view_query(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Query	   *action = NULL;
	int			i;

	for (i = 0; rel->rd_rules != NULL && i < rel->rd_rules->numLocks; i++)
	{
		RewriteRule *rule = rel->rd_rules->rules[i];

		if (rule->event == CMD_SELECT && list_length(rule->actions) == 1)
			action = copyObject(linitial(rule->actions));
	}
	/* the lock stays, as the parser's would */
	table_close(rel, NoLock);
	if (action == NULL)
		elog(ERROR, "view %u has no ON SELECT rule", relid);

	if (list_length(action->rtable) >= 2 &&
		!rangeTableEntry_used((Node *) action, 1, 0) &&
		!rangeTableEntry_used((Node *) action, 2, 0))
	{
		action->rtable = list_copy_tail(action->rtable, 2);
		OffsetVarNodes((Node *) action, -2, 0);
	}
	return action;
}

/* turns rte, a view in FROM, into the subquery of its definition */
static void
expand_view(RangeTblEntry *rte, NormContext *ctx)
{
	Oid			relid = rte->relid;

	if (list_member_oid(ctx->active, relid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("infinite recursion detected in rules for relation \"%s\"",
						get_rel_name(relid))));
	ctx->views = list_append_unique_oid(ctx->views, relid);
	/* the owner reads the view's tables directly (checked at creation) */
	trickle_ivm_rte_as_subquery(rte, view_query(relid));
}

/* ---------------------------------------------------------------------
 * Merging subqueries
 * --------------------------------------------------------------------- */

static bool
reads_relations_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		/* a WITH reference reads whatever its query reads: assume tables */
		return rte->rtekind == RTE_RELATION || rte->rtekind == RTE_CTE;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, reads_relations_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, reads_relations_walker, context);
}

/*
 * trickle_ivm_reads_relations: whether query reads any table or view,
 * anywhere inside.  One that does not is a constant of the delta.
 */
bool
trickle_ivm_reads_relations(Query *query)
{
	return reads_relations_walker((Node *) query, NULL);
}

/* why subquery cannot be merged into its parent, or NULL */
static const char *
merge_problem(Query *sub)
{
	if (sub->setOperations)
		return "UNION, INTERSECT or EXCEPT";
	if (sub->hasAggs || sub->groupClause || sub->groupingSets || sub->havingQual)
		return "GROUP BY or aggregates";
	if (sub->hasWindowFuncs)
		return "window functions";
	if (sub->distinctClause)
		return "DISTINCT";
	if (sub->limitCount || sub->limitOffset)
		return "LIMIT or OFFSET";
	if (sub->hasTargetSRFs)
		return "set-returning functions in its select list";
	if (sub->cteList)
		return "a recursive WITH query";
	if (sub->rowMarks || sub->commandType != CMD_SELECT)
		return "a locking clause";
	return NULL;
}

typedef struct WholeRowContext
{
	int			rtindex;
	int			levelsup;
} WholeRowContext;

static bool
whole_row_walker(Node *node, WholeRowContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		return var->varno == ctx->rtindex && var->varlevelsup == ctx->levelsup &&
			var->varattno == InvalidAttrNumber;
	}
	if (IsA(node, Query))
	{
		bool		result;

		ctx->levelsup++;
		result = query_tree_walker((Query *) node, whole_row_walker, ctx, 0);
		ctx->levelsup--;
		return result;
	}
	return expression_tree_walker(node, whole_row_walker, ctx);
}

/* does query refer to the whole row of its entry rtindex? */
static bool
has_whole_row(Query *query, int rtindex)
{
	WholeRowContext ctx = {rtindex, 0};

	return query_tree_walker(query, whole_row_walker, &ctx, 0);
}

/*
 * find_ref: the node holding the join tree reference to rtindex: the
 * FromExpr whose list holds it, or the JoinExpr one of whose arms it is.
 */
static Node *
find_ref(Node *node, Node *parent, int rtindex)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, RangeTblRef))
		return ((RangeTblRef *) node)->rtindex == rtindex ? parent : NULL;
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
		{
			Node	   *found = find_ref(lfirst(lc), node, rtindex);

			if (found)
				return found;
		}
		return NULL;
	}
	if (IsA(node, JoinExpr))
	{
		Node	   *found = find_ref(((JoinExpr *) node)->larg, node, rtindex);

		return found ? found : find_ref(((JoinExpr *) node)->rarg, node, rtindex);
	}
	return NULL;
}

/*
 * candidates: the subqueries of the join tree below node (reached through
 * comma and INNER JOIN only when inner) that can be merged, as rtindexes;
 * the others' notes get why not.
 */
static List *
candidates(Query *query, Node *node, bool inner, bool top_list, EntryInfo *items)
{
	List	   *result = NIL;

	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			result = list_concat(result, candidates(query, lfirst(lc), inner, true, items));
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;
		bool		arms_inner = inner && join->jointype == JOIN_INNER;

		result = list_concat(candidates(query, join->larg, arms_inner, false, items),
							 candidates(query, join->rarg, arms_inner, false, items));
	}
	else if (IsA(node, RangeTblRef))
	{
		int			rtindex = ((RangeTblRef *) node)->rtindex;
		RangeTblEntry *rte = rt_fetch(rtindex, query->rtable);
		const char *why;

		if (rte->rtekind != RTE_SUBQUERY)
			return NIL;
		why = merge_problem(rte->subquery);
		if (why == NULL && !inner)
			why = "an outer join around it";
		if (why == NULL && has_whole_row(query, rtindex))
			why = "a whole-row reference to it";
		/* without FROM items it could only vanish from a JOIN's arm */
		if (why == NULL && rte->subquery->jointree->fromlist == NIL && !top_list)
			why = "no FROM clause";
		if (why == NULL)
			return list_make1_int(rtindex);
		items[rtindex].note.why = why;
	}
	return result;
}

/*
 * kept_problem: why query is not maintainable because of a subquery its
 * join tree keeps that reads tables, or NULL.
 */
static char *
kept_problem(Query *query, Node *node, List *notes)
{
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
		{
			char	   *problem = kept_problem(query, lfirst(lc), notes);

			if (problem)
				return problem;
		}
	}
	else if (IsA(node, JoinExpr))
	{
		char	   *problem = kept_problem(query, ((JoinExpr *) node)->larg, notes);

		return problem ? problem : kept_problem(query, ((JoinExpr *) node)->rarg, notes);
	}
	else if (IsA(node, RangeTblRef))
	{
		int			rtindex = ((RangeTblRef *) node)->rtindex;
		RangeTblEntry *rte = rt_fetch(rtindex, query->rtable);
		EntryNote  *note = list_nth(notes, rtindex - 1);

		/*
		 * a correlated LATERAL subquery, and a grouped or DISTINCT one, are
		 * the model's (src/ivm/model.c, derived.c)
		 */
		if (rte->rtekind == RTE_SUBQUERY && trickle_ivm_reads_relations(rte->subquery) &&
			!(rte->lateral && contain_vars_of_level((Node *) rte->subquery, 1)) &&
			!trickle_ivm_derivable(rte->subquery))
			return psprintf("%s with %s",
							note && note->label ? note->label : "a subquery in FROM",
							note && note->why ? note->why : "what stopped its merge");
	}
	return NULL;
}

/*
 * retire_entry: make rte, which nothing refers to any more, an empty RESULT
 * entry.  The deparser and the rewriter's AcquireRewriteLocks (which it
 * runs) visit every range table entry, in the join tree or not, and a
 * merged subquery left in place holds Vars numbered for its new home.
 */
static void
retire_entry(RangeTblEntry *rte)
{
	RangeTblEntry *empty = makeNode(RangeTblEntry);

	empty->rtekind = RTE_RESULT;
	empty->eref = makeAlias(rte->eref->aliasname, NIL);
	*rte = *empty;
}

/*
 * cross_join: larg CROSS JOIN rarg, with a new (unfilled) join entry at the
 * end of query's range table; rebuild_joins fills it.
 */
static Node *
cross_join(Query *query, Node *larg, Node *rarg)
{
	JoinExpr   *join = makeNode(JoinExpr);
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	rte->rtekind = RTE_JOIN;
	rte->jointype = JOIN_INNER;
	rte->eref = makeAlias("unnamed_join", NIL);
	rte->inFromCl = true;
	query->rtable = lappend(query->rtable, rte);
	join->jointype = JOIN_INNER;
	join->larg = larg;
	join->rarg = rarg;
	join->rtindex = list_length(query->rtable);
	return (Node *) join;
}

/*
 * merge_subquery: merge subquery entry rtindex of query (see the file
 * comment); returns the new query.  The notes of the entries appended are
 * added to *notes, their labels under the subquery's.
 */
static Query *
merge_subquery(Query *query, int rtindex, const char *label, List *sub_notes,
			   List **notes)
{
	RangeTblEntry *rte = rt_fetch(rtindex, query->rtable);
	Query	   *sub = rte->subquery;
	int			offset = list_length(query->rtable);
	Node	   *parent;
	List	   *items;
	Node	   *quals;
	ListCell   *lc;

	/*
	 * The subquery's entries go after ours, its outer references come down
	 * a level.  Its entry is retired first: the replacement below would
	 * otherwise look inside it, where its outer references now look like
	 * references to our entries.
	 */
	OffsetVarNodes((Node *) sub, offset, 0);
	IncrementVarSublevelsUp((Node *) sub, -1, 1);
	retire_entry(rte);
	query = (Query *) ReplaceVarsFromTargetList((Node *) query, rtindex, 0, rte,
												sub->targetList,
												REPLACEVARS_REPORT_ERROR, 0, NULL);
	query->rtable = list_concat(query->rtable, sub->rtable);
	query->hasSubLinks |= sub->hasSubLinks;
	foreach(lc, sub->rtable)
	{
		EntryNote  *inner = list_nth(sub_notes, foreach_current_index(lc));
		EntryNote  *note = palloc0(sizeof(EntryNote));
		RangeTblEntry *entry = lfirst(lc);

		/*
		 * An item that read the subquery's outer row (the subquery was
		 * LATERAL) now reads its FROM neighbours: LATERAL it is.  Tables
		 * cannot be (and never need it).
		 */
		if (entry->rtekind == RTE_FUNCTION)
			entry->lateral |= contain_vars_of_level((Node *) entry->functions, 0);
		else if (entry->rtekind == RTE_VALUES)
			entry->lateral |= contain_vars_of_level((Node *) entry->values_lists, 0);
		else if (entry->rtekind == RTE_TABLEFUNC)
			entry->lateral |= contain_vars_of_level((Node *) entry->tablefunc, 0);
		else if (entry->rtekind == RTE_SUBQUERY)
			entry->lateral |= contain_vars_of_level((Node *) entry->subquery, 1);

		note->label = inner == NULL || inner->label == NULL ? (char *) label :
			label == NULL ? inner->label : psprintf("%s in %s", inner->label, label);
		note->why = inner ? inner->why : NULL;
		*notes = lappend(*notes, note);
	}

	items = sub->jointree->fromlist;
	quals = sub->jointree->quals;
	parent = find_ref((Node *) query->jointree, NULL, rtindex);
	if (parent == NULL)
		elog(ERROR, "subquery %d is not in the join tree", rtindex);
	if (IsA(parent, FromExpr))
	{
		FromExpr   *from = (FromExpr *) parent;
		List	   *fromlist = NIL;

		foreach(lc, from->fromlist)
		{
			Node	   *item = lfirst(lc);

			if (IsA(item, RangeTblRef) && ((RangeTblRef *) item)->rtindex == rtindex)
				fromlist = list_concat(fromlist, items);
			else
				fromlist = lappend(fromlist, item);
		}
		from->fromlist = fromlist;
		from->quals = make_and_qual(from->quals, quals);
	}
	else
	{
		JoinExpr   *join = (JoinExpr *) parent;
		Node	   *merged = linitial(items);

		for_each_from(lc, items, 1)
		{
			merged = cross_join(query, merged, lfirst(lc));
			*notes = lappend(*notes, NULL);
		}
		if (IsA(join->larg, RangeTblRef) && ((RangeTblRef *) join->larg)->rtindex == rtindex)
			join->larg = merged;
		else
			join->rarg = merged;
		join->quals = make_and_qual(join->quals, quals);
	}
	return query;
}

static int
item_rtindex(Node *item)
{
	return IsA(item, RangeTblRef) ? ((RangeTblRef *) item)->rtindex :
		((JoinExpr *) item)->rtindex;
}

/* the output columns of a join tree item of query, as names and Vars */
static void
item_columns(Query *query, Node *item, List **names, List **vars)
{
	int			rtindex = item_rtindex(item);

	expandRTE(rt_fetch(rtindex, query->rtable), rtindex, 0, -1, false, names, vars);
}

/*
 * rebuild_joins: make every join below node a plain ON join whose entry
 * lists the columns of its inputs as they are now (their inputs may have
 * been replaced by merged subqueries).  Nothing refers to join outputs any
 * more (flatten_join_alias_vars ran), so USING, NATURAL and join aliases
 * can go: their conditions are in the quals already.
 */
static void
rebuild_joins(Query *query, Node *node, List **notes)
{
	JoinExpr   *join;
	RangeTblEntry *rte;
	List	   *lnames;
	List	   *lvars;
	List	   *rnames;
	List	   *rvars;
	ListCell   *lc;

	if (IsA(node, FromExpr))
	{
		foreach(lc, ((FromExpr *) node)->fromlist)
			rebuild_joins(query, lfirst(lc), notes);
		return;
	}
	if (!IsA(node, JoinExpr))
		return;
	join = (JoinExpr *) node;
	rebuild_joins(query, join->larg, notes);
	rebuild_joins(query, join->rarg, notes);

	/*
	 * A join's entry must follow its inputs' in the range table (the
	 * rewriter's AcquireRewriteLocks, which the deparser runs, insists).  A
	 * merged subquery's entries went to the end, so a join above one moves
	 * there too; its old entry stays behind, an empty RESULT entry that
	 * nothing refers to.
	 */
	rte = rt_fetch(join->rtindex, query->rtable);
	if (join->rtindex < Max(item_rtindex(join->larg), item_rtindex(join->rarg)))
	{
		RangeTblEntry *moved = copyObject(rte);

		retire_entry(rte);
		query->rtable = lappend(query->rtable, moved);
		*notes = lappend(*notes, NULL);
		join->rtindex = list_length(query->rtable);
		rte = moved;
	}

	item_columns(query, join->larg, &lnames, &lvars);
	item_columns(query, join->rarg, &rnames, &rvars);
	rte->joinmergedcols = 0;
	rte->joinaliasvars = list_concat_copy(lvars, rvars);
	rte->joinleftcols = NIL;
	foreach(lc, lvars)
		rte->joinleftcols = lappend_int(rte->joinleftcols, ((Var *) lfirst(lc))->varattno);
	rte->joinrightcols = NIL;
	foreach(lc, rvars)
		rte->joinrightcols = lappend_int(rte->joinrightcols, ((Var *) lfirst(lc))->varattno);
	rte->eref = makeAlias("unnamed_join", list_concat_copy(lnames, rnames));
	rte->alias = NULL;
	rte->join_using_alias = NULL;
	join->usingClause = NIL;
	join->join_using_alias = NULL;
	join->isNatural = false;
	join->alias = NULL;
}

/* replaces references to join outputs by what they stand for, everywhere */
static void
flatten_joins(Query *query)
{
	ListCell   *lc;

	query->targetList = (List *) flatten_join_alias_vars(query, (Node *) query->targetList);
	query->jointree = (FromExpr *) flatten_join_alias_vars(query, (Node *) query->jointree);
	query->havingQual = flatten_join_alias_vars(query, query->havingQual);
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		switch (rte->rtekind)
		{
			case RTE_SUBQUERY:
				rte->subquery = (Query *) flatten_join_alias_vars(query, (Node *) rte->subquery);
				break;
			case RTE_FUNCTION:
				rte->functions = (List *) flatten_join_alias_vars(query, (Node *) rte->functions);
				break;
			case RTE_VALUES:
				rte->values_lists = (List *) flatten_join_alias_vars(query, (Node *) rte->values_lists);
				break;
			case RTE_TABLEFUNC:
				rte->tablefunc = (TableFunc *) flatten_join_alias_vars(query, (Node *) rte->tablefunc);
				break;
			default:
				break;
		}
	}
}

/* ---------------------------------------------------------------------
 * One query level
 * --------------------------------------------------------------------- */

static bool
sublink_walker(Node *node, NormContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		SubLink    *sublink = (SubLink *) node;

		sublink->subselect = (Node *) normalize_query((Query *) sublink->subselect,
													  NULL, ctx);
		return sublink_walker(sublink->testexpr, ctx);
	}
	if (IsA(node, Query))
		return false;
	return expression_tree_walker(node, sublink_walker, ctx);
}

/*
 * normalize_query: normalise query (modified in place or replaced: use the
 * result).  *notes, when asked for, gets the notes of the result's range
 * table (see EntryNote).
 */
static Query *
normalize_query(Query *query, List **notes, NormContext *ctx)
{
	int			n;
	EntryInfo  *items;
	List	   *merge;
	List	   *level = NIL;
	ListCell   *lc;
	int			i;

	check_stack_depth();
	inline_ctes(query, ctx);

	n = list_length(query->rtable);
	items = palloc0(sizeof(EntryInfo) * (n + 1));
	for (i = 1; i <= n; i++)
	{
		RangeTblEntry *rte = rt_fetch(i, query->rtable);

		if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_VIEW && rte->inFromCl)
		{
			Oid			view = rte->relid;

			items[i].note.label = relation_label("view", view);
			expand_view(rte, ctx);
			ctx->active = lappend_oid(ctx->active, view);
			rte->subquery = normalize_query(rte->subquery, &items[i].notes, ctx);
			ctx->active = list_delete_last(ctx->active);
		}
		else if (rte->rtekind == RTE_SUBQUERY)
		{
			ListCell   *lc2;
			ListCell   *lc3;

			forboth(lc2, ctx->cte_rtes, lc3, ctx->cte_names)
			{
				if (lfirst(lc2) == rte)
					items[i].note.label = psprintf("WITH query %s",
												   quote_identifier(lfirst(lc3)));
			}
			if (items[i].note.label == NULL)
				items[i].note.label = psprintf("subquery %s",
											   quote_identifier(rte->eref->aliasname));
			rte->subquery = normalize_query(rte->subquery, &items[i].notes, ctx);
		}
	}
	(void) query_tree_walker(query, sublink_walker, ctx,
							 QTW_IGNORE_RT_SUBQUERIES | QTW_IGNORE_CTE_SUBQUERIES);

	merge = query->jointree ?
		candidates(query, (Node *) query->jointree, true, true, items) : NIL;
	for (i = 1; i <= n; i++)
		level = lappend(level, items[i].note.label || items[i].note.why ? &items[i].note : NULL);
	foreach(lc, merge)
	{
		int			rtindex = lfirst_int(lc);

		query = merge_subquery(query, rtindex, items[rtindex].note.label,
							   items[rtindex].notes, &level);
	}
	if (merge != NIL)
	{
		flatten_joins(query);
		rebuild_joins(query, (Node *) query->jointree, &level);
	}
	if (notes)
		*notes = level;
	return query;
}

/*
 * trickle_ivm_normalize: query (not modified) normalised; fills plan->views
 * and plan->origins, and returns in *problem why a subquery that reads
 * tables stays in FROM (NULL if none does).
 */
Query *
trickle_ivm_normalize(Query *query, TrickleIvmPlan *plan, char **problem)
{
	NormContext ctx = {0};
	List	   *notes;
	ListCell   *lc;

	query = normalize_query(copyObject(query), &notes, &ctx);
	plan->views = ctx.views;
	plan->origins = NIL;
	foreach(lc, notes)
	{
		EntryNote  *note = lfirst(lc);

		plan->origins = lappend(plan->origins, note ? note->label : NULL);
	}
	*problem = query->jointree ? kept_problem(query, (Node *) query->jointree, notes) : NULL;
	return query;
}

/*
 * trickle_ivm_rte_as_subquery: range table entry rte (a table, a view or a
 * WITH reference) becomes the subquery sub, keeping its alias and column
 * names; read without a security barrier and without checks of its own
 * (whoever builds sub decided who may read what it reads)
 */
void
trickle_ivm_rte_as_subquery(RangeTblEntry *rte, Query *sub)
{
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = sub;
	rte->security_barrier = false;
	rte->relid = InvalidOid;
	rte->relkind = 0;
	rte->rellockmode = NoLock;
	rte->tablesample = NULL;
	rte->inh = false;
	rte->requiredPerms = 0;
	rte->checkAsUser = InvalidOid;
	rte->selectedCols = NULL;
	rte->insertedCols = NULL;
	rte->updatedCols = NULL;
	rte->extraUpdatedCols = NULL;
	rte->self_reference = false;
	rte->ctename = NULL;
	rte->ctelevelsup = 0;
	rte->coltypes = NIL;
	rte->coltypmods = NIL;
	rte->colcollations = NIL;
}

/* ---------------------------------------------------------------------
 * Helpers for the analysis
 * --------------------------------------------------------------------- */

/*
 * trickle_ivm_origin: the view, WITH query or subquery range table entry
 * rtindex of plan->query came from ("view public.v", "WITH query c in view
 * public.w"), or NULL if the query names it itself.
 */
const char *
trickle_ivm_origin(TrickleIvmPlan *plan, int rtindex)
{
	if (rtindex < 1 || rtindex > list_length(plan->origins))
		return NULL;
	return list_nth(plan->origins, rtindex - 1);
}
