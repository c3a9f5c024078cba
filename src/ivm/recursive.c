/*-------------------------------------------------------------------------
 *
 * recursive.c
 *	  WITH RECURSIVE maintained by semi-naive evaluation, for changes that
 *	  only insert.
 *
 * The shape maintained is
 *
 *	WITH RECURSIVE r(c1, ..., cn) AS (base UNION [ALL] step)
 *	SELECT c1, ..., cn FROM r			(the columns in order, maybe renamed)
 *
 * where base and step are select-project-join blocks over tables (comma and
 * INNER JOIN, a WHERE clause without subqueries; base may read no table)
 * and step names r exactly once.  Then step is linear in r and in each of its tables, and r is the
 * least fixpoint of F(X) = base + step(X).  The stream table stores r as of
 * the last refresh (r_old), which is all a refresh needs to know of the
 * past.
 *
 * Insert-only changes (every unread change of every source has weight +1;
 * the orchestrator runs the refresh FULL otherwise, saying why) make F
 * grow monotonically, and the new rows of r are a fixpoint of their own,
 * iterated over the new rows only:
 *
 *	UNION (sets):	seed = (base(new) + step(r_old, new)) minus r_old, both
 *			restricted to derivations that use an inserted row (any other
 *			derivation produced a row of r_old already): for each changed
 *			scan, the block with that scan reading the inserted rows and the
 *			others their new state.  Each round applies step to the rows the
 *			previous round found, over the new state of the tables, and
 *			drops rows stored already (an index probe of the row's hash
 *			class) and rows found earlier (the recursive UNION itself), so a
 *			round costs what its new rows cost, not what r costs.
 *	UNION ALL (bags): every derivation that uses at least one inserted row
 *			is a new copy.  By telescoping, new r - r_old = dbase +
 *			(step(r_old, new) - step(r_old, old)) + step(new r - r_old, new):
 *			the seed is the delta of base and of step with r fixed at r_old,
 *			term i having scan i read the inserted rows, the scans before it
 *			their new state and those after it their old one, written as the
 *			Z-set new - inserted (one arm per choice, signed); the seed is
 *			summed by row and each row repeated as often as its weight says
 *			(never negative when nothing was deleted); the rounds apply step
 *			to the previous round's copies over the new state.
 *
 * The rows found are the delta's terms (weight +1, columns __trickle_c<n>)
 * that src/refresh/codegen.c's plain MERGE inserts under row identities of
 * the whole row, as for any plain query; FULL and REINITIALIZE run the
 * defining query itself.
 *
 * The SQL is built by copying a block's analysed tree, turning the range
 * table entries of the scans that read inserted rows, and the reference to
 * r, into subqueries (the changes of the source's buffer, or the stored
 * stream table), and deparsing it like a view, so the user's expressions
 * stay exactly as written.  In the rounds, the reference to r stays a
 * reference to a WITH query, renamed to the one the generated statement
 * defines.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "api/api.h"
#include "catalog.h"
#include "cdc/cdc.h"
#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "trickle.h"

/* the name of the WITH query the generated statement defines */
#define RECURSIVE_NAME	"__trickle_r"

/* bag semantics reads old states as 2^k signed arms: keep k small */
#define MAX_BAG_SCANS	8

/* ---------------------------------------------------------------------
 * Analysis
 * --------------------------------------------------------------------- */

typedef struct ReadContext
{
	TrickleIvmPlan *plan;
	Query	   *leaf;
	char	   *problem;
} ReadContext;

/* records the columns of the leaf's scans its Vars read, in plan->sources */
static bool
read_walker(Node *node, ReadContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == 0)
	{
		Var		   *var = (Var *) node;
		RangeTblEntry *rte = rt_fetch(var->varno, ctx->leaf->rtable);
		TrickleIvmSource *src = NULL;
		ListCell   *lc;

		if (rte->rtekind != RTE_RELATION)
			return false;
		if (var->varattno <= 0)
		{
			ctx->problem = psprintf("a whole-row or system column reference to \"%s\" inside a recursive WITH query",
									get_rel_name(rte->relid));
			return true;
		}
		foreach(lc, ctx->plan->sources)
		{
			if (((TrickleIvmSource *) lfirst(lc))->relid == rte->relid)
				src = lfirst(lc);
		}
		if (src == NULL)
		{
			src = palloc0(sizeof(TrickleIvmSource));
			src->relid = rte->relid;
			ctx->plan->sources = lappend(ctx->plan->sources, src);
		}
		if (!list_member_int(src->attnums, var->varattno))
			src->attnums = list_insert_nth_int(src->attnums, 0, var->varattno);
		return false;
	}
	return expression_tree_walker(node, read_walker, ctx);
}

static int
cmp_int(const ListCell *a, const ListCell *b)
{
	return lfirst_int(a) - lfirst_int(b);
}

/* why a source table of a recursive WITH query cannot be captured, or NULL */
static char *
table_problem(RangeTblEntry *rte)
{
	char	   *name = get_rel_name(rte->relid);

	if (rte->tablesample)
		return pstrdup("TABLESAMPLE");
	switch (get_rel_relkind(rte->relid))
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
			break;
		case RELKIND_VIEW:
			return psprintf("view \"%s\" inside a recursive WITH query", name);
		default:
			return psprintf("source \"%s\" of a recursive WITH query is not a table", name);
	}
	return trickle_cdc_source_problem(rte->relid, rte->inh);
}

/* checks a leaf's FROM clause: inner joins of tables and at most one r */
static char *
from_problem(Query *leaf, Node *node, int *selfrefs, int *self_rtindex)
{
	char	   *problem;

	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
		{
			if ((problem = from_problem(leaf, lfirst(lc), selfrefs, self_rtindex)) != NULL)
				return problem;
		}
		return NULL;
	}
	if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;

		if (join->jointype != JOIN_INNER)
			return pstrdup("an outer join inside a recursive WITH query");
		if ((problem = from_problem(leaf, join->larg, selfrefs, self_rtindex)) != NULL)
			return problem;
		return from_problem(leaf, join->rarg, selfrefs, self_rtindex);
	}
	if (IsA(node, RangeTblRef))
	{
		int			rtindex = ((RangeTblRef *) node)->rtindex;
		RangeTblEntry *rte = rt_fetch(rtindex, leaf->rtable);

		switch (rte->rtekind)
		{
			case RTE_RELATION:
				return table_problem(rte);
			case RTE_CTE:
				if (!rte->self_reference)
					return pstrdup("a reference to another WITH query inside a recursive WITH query");
				(*selfrefs)++;
				*self_rtindex = rtindex;
				return NULL;
			case RTE_SUBQUERY:
				return pstrdup("a subquery in FROM inside a recursive WITH query");
			case RTE_FUNCTION:
				return pstrdup("a function in FROM inside a recursive WITH query");
			case RTE_VALUES:
				return pstrdup("VALUES inside a recursive WITH query");
			default:
				return pstrdup("this kind of FROM item inside a recursive WITH query");
		}
	}
	return pstrdup("this kind of FROM item inside a recursive WITH query");
}

/* why leaf (the base or the step of r) is not a select-project-join block */
static char *
leaf_problem(Query *leaf, const char *which)
{
	if (leaf->setOperations)
		return psprintf("a recursive WITH query whose %s is a UNION, INTERSECT or EXCEPT", which);
	if (leaf->cteList)
		return psprintf("a WITH clause inside the %s of a recursive WITH query", which);
	if (leaf->hasAggs || leaf->groupClause || leaf->groupingSets || leaf->havingQual)
		return psprintf("GROUP BY or aggregates in the %s of a recursive WITH query", which);
	if (leaf->hasWindowFuncs)
		return psprintf("window functions in the %s of a recursive WITH query", which);
	if (leaf->distinctClause)
		return psprintf("DISTINCT in the %s of a recursive WITH query", which);
	if (leaf->limitCount || leaf->limitOffset)
		return psprintf("LIMIT or OFFSET in the %s of a recursive WITH query", which);
	if (leaf->sortClause)
		return psprintf("ORDER BY in the %s of a recursive WITH query", which);
	if (leaf->hasTargetSRFs)
		return psprintf("set-returning functions in the %s of a recursive WITH query", which);
	if (leaf->hasSubLinks)
		return psprintf("a subquery in an expression in the %s of a recursive WITH query", which);
	if (leaf->rowMarks)
		return psprintf("a locking clause in the %s of a recursive WITH query", which);
	return NULL;
}

/* checks the leaf and records its scans and the columns they read */
static char *
add_leaf(TrickleIvmPlan *plan, Query *leaf, const char *which, bool step, int *self_rtindex)
{
	ReadContext ctx = {plan, leaf, NULL};
	int			selfrefs = 0;
	char	   *problem;
	ListCell   *lc;

	if ((problem = leaf_problem(leaf, which)) != NULL)
		return problem;
	/* a base without FROM is a constant: no scan, no delta */
	if ((problem = from_problem(leaf, (Node *) leaf->jointree, &selfrefs, self_rtindex)) != NULL)
		return problem;
	if (step && selfrefs != 1)
		return pstrdup("a recursive WITH query whose recursive step names it more than once");
	if (!step && selfrefs != 0)
		return pstrdup("a recursive WITH query whose first branch names it");
	foreach(lc, leaf->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		TrickleIvmScan *scan;

		if (rte->rtekind != RTE_RELATION)
			continue;
		scan = palloc0(sizeof(TrickleIvmScan));
		scan->rtindex = foreach_current_index(lc) + 1;
		scan->relid = rte->relid;
		scan->inh = rte->inh;
		plan->scans = lappend(plan->scans, scan);
	}
	/* join alias lists included: their columns are read too, harmlessly */
	if (query_tree_walker(leaf, read_walker, &ctx, 0))
		return ctx.problem;
	return NULL;
}

static bool
is_self_reference(Query *query, Node *node, CommonTableExpr *cte)
{
	RangeTblEntry *rte;

	if (!IsA(node, RangeTblRef))
		return false;
	rte = rt_fetch(((RangeTblRef *) node)->rtindex, query->rtable);
	return rte->rtekind == RTE_CTE && rte->ctelevelsup == 0 &&
		strcmp(rte->ctename, cte->ctename) == 0;
}

/*
 * trickle_ivm_analyze_recursive: plan (after normalize.c, which kept only
 * recursive WITH queries in query->cteList) for a query over a recursive
 * WITH query; unsupported with the reason for any other shape.
 */
TrickleIvmPlan *
trickle_ivm_analyze_recursive(TrickleIvmPlan *plan, Query *query, List *columns)
{
	CommonTableExpr *cte;
	Query	   *cq;
	SetOperationStmt *op;
	TrickleIvmRecursive *rec;
	RangeTblEntry *rte;
	ListCell   *lc;
	char	   *problem;
	int			i = 0;

	if (list_length(query->cteList) != 1)
		return trickle_ivm_refuse(plan, "more than one recursive WITH query");
	cte = linitial(query->cteList);
	cq = (Query *) cte->ctequery;
	op = (SetOperationStmt *) cq->setOperations;
	if (!cte->cterecursive || op == NULL || op->op != SETOP_UNION ||
		!IsA(op->larg, RangeTblRef) || !IsA(op->rarg, RangeTblRef))
		return trickle_ivm_refuse(plan, "a recursive WITH query that is not one query UNION [ALL] one recursive step");
	if (cte->search_clause || cte->cycle_clause)
		return trickle_ivm_refuse(plan, "SEARCH or CYCLE in a recursive WITH query");
	if (cq->sortClause || cq->limitCount || cq->limitOffset)
		return trickle_ivm_refuse(plan, "ORDER BY or LIMIT in a recursive WITH query");

	/* the top: the WITH query's columns, in order, and nothing else */
	if (query->setOperations || query->hasAggs || query->groupClause ||
		query->groupingSets || query->havingQual || query->hasWindowFuncs ||
		query->distinctClause || query->sortClause || query->limitCount ||
		query->limitOffset || query->hasTargetSRFs || query->hasSubLinks ||
		query->rowMarks || query->jointree->quals ||
		list_length(query->jointree->fromlist) != 1 ||
		!is_self_reference(query, linitial(query->jointree->fromlist), cte))
		return trickle_ivm_refuse(plan, "a query over a recursive WITH query that does more than select its columns");
	rte = rt_fetch(((RangeTblRef *) linitial(query->jointree->fromlist))->rtindex, query->rtable);
	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		Var		   *var = (Var *) tle->expr;

		if (tle->resjunk)
			continue;
		if (!IsA(var, Var) || var->varlevelsup != 0 || var->varattno != i + 1 ||
			rt_fetch(var->varno, query->rtable) != rte)
			return trickle_ivm_refuse(plan, "a query over a recursive WITH query that does more than select its columns in order");
		i++;
	}
	if (i != list_length(cte->ctecolnames) || i != list_length(columns))
		return trickle_ivm_refuse(plan, "a query over a recursive WITH query that does not select all of its columns");

	rec = palloc0(sizeof(TrickleIvmRecursive));
	rec->union_all = op->all;
	rec->ctename = cte->ctename;
	rec->colnames = cte->ctecolnames;
	rec->coltypes = cte->ctecoltypes;
	rec->coltypmods = cte->ctecoltypmods;
	rec->base = rt_fetch(((RangeTblRef *) op->larg)->rtindex, cq->rtable)->subquery;
	rec->step = rt_fetch(((RangeTblRef *) op->rarg)->rtindex, cq->rtable)->subquery;
	if ((problem = add_leaf(plan, rec->base, "first branch", false, &rec->self_rtindex)) != NULL)
		return trickle_ivm_refuse(plan, "%s", problem);
	rec->base_scans = list_length(plan->scans);
	if ((problem = add_leaf(plan, rec->step, "recursive step", true, &rec->self_rtindex)) != NULL)
		return trickle_ivm_refuse(plan, "%s", problem);
	if (rec->union_all && (rec->base_scans > MAX_BAG_SCANS ||
						   list_length(plan->scans) - rec->base_scans > MAX_BAG_SCANS))
		return trickle_ivm_refuse(plan, "UNION ALL in a recursive WITH query over more than %d tables per branch",
								  MAX_BAG_SCANS);
	foreach(lc, plan->sources)
	{
		TrickleIvmSource *src = lfirst(lc);
		ListCell   *lc2;

		list_sort(src->attnums, cmp_int);
		/* a stream table's hidden columns are its own bookkeeping */
		if (trickle_classify_relation(src->relid) == TRICKLE_RELATION_OTHER)
			continue;
		foreach(lc2, src->attnums)
		{
			char	   *column = get_attname(src->relid, lfirst_int(lc2), false);

			if (strncmp(column, TRICKLE_COLUMN_PREFIX, strlen(TRICKLE_COLUMN_PREFIX)) == 0)
				return trickle_ivm_refuse(plan, "column \"%s\" of stream table \"%s\", which is trickle's own bookkeeping",
										  column, get_rel_name(src->relid));
		}
	}
	foreach(lc, columns)
	{
		TrickleColumn *col = lfirst(lc);

		if (!OidIsValid(lookup_type_cache(col->type, TYPECACHE_CMP_PROC)->cmp_proc))
			return trickle_ivm_refuse(plan, "output column \"%s\" has type %s, which has no ordering to compare rows with",
									  col->name, format_type_be(col->type));
	}
	plan->recursive = rec;
	return plan;
}

/* ---------------------------------------------------------------------
 * Describing
 * --------------------------------------------------------------------- */

static void
describe_leaf(StringInfo buf, Query *leaf, Node *node, int depth)
{
	ListCell   *lc;

	if (IsA(node, FromExpr))
	{
		FromExpr   *from = (FromExpr *) node;

		if (from->quals)
		{
			appendStringInfoSpaces(buf, depth * 2);
			appendStringInfoString(buf, "Filter (WHERE)\n");
			depth++;
		}
		if (from->fromlist == NIL)
		{
			appendStringInfoSpaces(buf, depth * 2);
			appendStringInfoString(buf, "Result (reads no table)\n");
		}
		else if (list_length(from->fromlist) == 1)
			describe_leaf(buf, leaf, linitial(from->fromlist), depth);
		else
		{
			appendStringInfoSpaces(buf, depth * 2);
			appendStringInfo(buf, "Inner Join (%d inputs)\n", list_length(from->fromlist));
			foreach(lc, from->fromlist)
				describe_leaf(buf, leaf, lfirst(lc), depth + 1);
		}
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;

		appendStringInfoSpaces(buf, depth * 2);
		appendStringInfo(buf, "Inner Join%s\n", join->usingClause ? " (USING)" :
						 join->quals ? " (ON)" : "");
		describe_leaf(buf, leaf, join->larg, depth + 1);
		describe_leaf(buf, leaf, join->rarg, depth + 1);
	}
	else if (IsA(node, RangeTblRef))
	{
		RangeTblEntry *rte = rt_fetch(((RangeTblRef *) node)->rtindex, leaf->rtable);

		appendStringInfoSpaces(buf, depth * 2);
		if (rte->rtekind == RTE_RELATION)
			appendStringInfo(buf, "Scan %s\n",
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(rte->relid)),
														get_rel_name(rte->relid)));
		else
			appendStringInfo(buf, "Recursive Reference %s (new rows of the previous round)\n",
							 quote_identifier(rte->ctename));
	}
}

/*
 * trickle_ivm_describe_recursive: the plan of a recursive WITH query, for
 * explain_stream_table
 */
void
trickle_ivm_describe_recursive(StringInfo buf, TrickleIvmPlan *plan)
{
	TrickleIvmRecursive *rec = plan->recursive;

	appendStringInfo(buf, "Recursive Union%s %s (semi-naive, insert-only; FULL after a delete or update)\n",
					 rec->union_all ? " All" : "", quote_identifier(rec->ctename));
	appendStringInfoString(buf, "  Base\n");
	describe_leaf(buf, rec->base, (Node *) rec->base->jointree, 2);
	appendStringInfo(buf, "  Step%s\n", rec->union_all ? "" : " (rows stored or found already dropped)");
	describe_leaf(buf, rec->step, (Node *) rec->step->jointree, 2);
}

/* ---------------------------------------------------------------------
 * The delta
 * --------------------------------------------------------------------- */

/* how a scan of a leaf is read in one arm */
typedef enum ArmRead
{
	ARM_NEW,					/* the table as it is */
	ARM_INSERTED				/* the rows inserted since the frontier */
} ArmRead;

/* rte becomes the subquery sql, keeping its alias and column names */
static void
make_subquery(RangeTblEntry *rte, const char *sql)
{
	trickle_ivm_rte_as_subquery(rte, trickle_ivm_parse_sql(sql, (Oid *) trickle_delta_param_types,
														 TRICKLE_DELTA_NPARAMS));
}

/*
 * inserted_sql: the rows inserted into the scan's table, one column per
 * attribute (those the query does not read are NULL)
 */
static char *
inserted_sql(TrickleIvmPlan *plan, RangeTblEntry *rte)
{
	Relation	rel = table_open(rte->relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *read = NIL;
	StringInfoData sql;
	ListCell   *lc;
	int			i;

	foreach(lc, plan->sources)
	{
		if (((TrickleIvmSource *) lfirst(lc))->relid == rte->relid)
			read = ((TrickleIvmSource *) lfirst(lc))->attnums;
	}
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (i > 0)
			appendStringInfoString(&sql, ", ");
		if (att->attisdropped)
			appendStringInfo(&sql, "NULL::pg_catalog.int4 AS __trickle_dropped_%d", i + 1);
		else if (list_member_int(read, i + 1))
			appendStringInfo(&sql, "b.%s AS %s", trickle_buffer_column(i + 1),
							 quote_identifier(NameStr(att->attname)));
		else
			appendStringInfo(&sql, "NULL::%s AS %s", trickle_ivm_type_sql(att->atttypid, att->atttypmod, InvalidOid),
							 quote_identifier(NameStr(att->attname)));
	}
	appendStringInfo(&sql, " FROM %s AND b.__w > 0", trickle_delta_changes_sql(rte->relid, "b"));
	table_close(rel, NoLock);
	return sql.data;
}

/* the stored rows of the stream table target, as r's columns */
static char *
stored_sql(TrickleIvmRecursive *rec, List *columns, const char *target)
{
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	foreach(lc, columns)
		appendStringInfo(&sql, "%so.%s AS %s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(((TrickleColumn *) lfirst(lc))->name),
						 quote_identifier(strVal(list_nth(rec->colnames, foreach_current_index(lc)))));
	appendStringInfo(&sql, " FROM ONLY %s o", target);
	return sql.data;
}

/*
 * leaf_sql: leaf deparsed with its scans (in range table order) read as
 * states says, and its reference to r reading the stored stream table
 * (stored) or the generated WITH query (NULL)
 */
static char *
leaf_sql(TrickleIvmPlan *plan, Query *leaf, const ArmRead *states, const char *stored)
{
	Query	   *copy = copyObject(leaf);
	ListCell   *lc;
	int			k = 0;

	foreach(lc, copy->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind == RTE_RELATION)
		{
			if (states[k] == ARM_INSERTED)
				make_subquery(rte, inserted_sql(plan, rte));
			k++;
		}
		else if (rte->rtekind == RTE_CTE && rte->self_reference)
		{
			if (stored)
				make_subquery(rte, stored);
			else
				rte->ctename = RECURSIVE_NAME;
		}
	}
	return trickle_query_deparse(copy);
}

/* "alias.c0::type0, ..." : a leaf's output cast to r's column types */
static void
append_cast_columns(StringInfo buf, TrickleIvmRecursive *rec, const char *alias)
{
	int			i;

	for (i = 0; i < list_length(rec->colnames); i++)
		appendStringInfo(buf, "%s%s.c%d::%s", i ? ", " : "", alias, i,
						 trickle_ivm_type_sql(list_nth_oid(rec->coltypes, i), list_nth_int(rec->coltypmods, i),
											  InvalidOid));
}

/* "(c0, c1, ...)" */
static void
append_column_aliases(StringInfo buf, TrickleIvmRecursive *rec, bool weight)
{
	int			i;

	appendStringInfoChar(buf, '(');
	for (i = 0; i < list_length(rec->colnames); i++)
		appendStringInfo(buf, "%sc%d", i ? ", " : "", i);
	if (weight)
		appendStringInfoString(buf, ", w");
	appendStringInfoChar(buf, ')');
}

/* one arm of the seed: "SELECT cast columns[, sign] FROM (leaf) s(c0, ...)" */
static void
append_arm(StringInfo buf, TrickleIvmRecursive *rec, const char *leaf, int sign, bool *first)
{
	if (!*first)
		appendStringInfoString(buf, " UNION ALL ");
	*first = false;
	appendStringInfoString(buf, "SELECT ");
	append_cast_columns(buf, rec, "s");
	if (sign != 0)
		appendStringInfo(buf, ", %d", sign);
	appendStringInfo(buf, " FROM (%s) s", leaf);
	append_column_aliases(buf, rec, false);
}

/*
 * append_leaf_arms: the arms of the seed from one leaf (its scans are
 * plan->scans[first .. first + n - 1]), for the changed scans in mask.
 * Sets: scan i inserted, the others new.  Bags: scan i inserted, those
 * before it new, those after it old (changed ones as new minus inserted:
 * one signed arm per subset).
 */
static void
append_leaf_arms(StringInfo buf, TrickleIvmPlan *plan, Query *leaf, int first, int n,
				 uint64 mask, const char *stored, bool *any)
{
	TrickleIvmRecursive *rec = plan->recursive;
	ArmRead  *states = palloc0(sizeof(ArmRead) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
	{
		List	   *later = NIL;
		int			subset;
		int			j;

		if ((mask & (UINT64CONST(1) << (first + i))) == 0)
			continue;
		for (j = i + 1; j < n && rec->union_all; j++)
		{
			if (mask & (UINT64CONST(1) << (first + j)))
				later = lappend_int(later, j);
		}
		for (subset = 0; subset < (1 << list_length(later)); subset++)
		{
			int			sign = 1;
			ListCell   *lc;

			for (j = 0; j < n; j++)
				states[j] = ARM_NEW;
			states[i] = ARM_INSERTED;
			foreach(lc, later)
			{
				if (subset & (1 << foreach_current_index(lc)))
				{
					states[lfirst_int(lc)] = ARM_INSERTED;
					sign = -sign;
				}
			}
			append_arm(buf, rec, leaf_sql(plan, leaf, states, stored),
					   rec->union_all ? sign : 0, any);
		}
	}
}

/* "NOT EXISTS (a stored row equal to alias.c0, ...)": a probe of its class */
static void
append_not_stored(StringInfo buf, TrickleIvmRecursive *rec, List *columns, const char *target,
				  const char *alias)
{
	ListCell   *lc;
	int			i;

	appendStringInfo(buf, "NOT EXISTS (SELECT FROM ONLY %s o WHERE o.%s BETWEEN"
					 " trickle._row_id_class(trickle._row_hash(ROW(", target, TRICKLE_ROW_ID);
	for (i = 0; i < list_length(columns); i++)
		appendStringInfo(buf, "%s%s.c%d", i ? ", " : "", alias, i);
	appendStringInfoString(buf, ")), 0) AND trickle._row_id_class(trickle._row_hash(ROW(");
	for (i = 0; i < list_length(columns); i++)
		appendStringInfo(buf, "%s%s.c%d", i ? ", " : "", alias, i);
	appendStringInfo(buf, ")), 0) + " INT64_FORMAT " AND ROW(", TRICKLE_CLASS_MASK);
	foreach(lc, columns)
		appendStringInfo(buf, "%so.%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(((TrickleColumn *) lfirst(lc))->name));
	appendStringInfoString(buf, ")::pg_catalog.record OPERATOR(pg_catalog.=) ROW(");
	for (i = 0; i < list_length(columns); i++)
		appendStringInfo(buf, "%s%s.c%d", i ? ", " : "", alias, i);
	appendStringInfoString(buf, ")::pg_catalog.record)");
}

/*
 * trickle_recursive_append_terms: the rows a refresh inserts into stream
 * table target (columns: its visible columns), for the changed scans in
 * mask, as delta terms: __trickle_c<n>, then __trickle_w (always 1).  The
 * changes must all be insertions (the orchestrator checks).
 */
void
trickle_recursive_append_terms(StringInfo buf, TrickleIvmPlan *plan, const char *target,
							   List *columns, uint64 mask)
{
	TrickleIvmRecursive *rec = plan->recursive;
	char	   *stored = stored_sql(rec, columns, target);
	ArmRead  *states = palloc0(sizeof(ArmRead) * (list_length(plan->scans) + 1));
	int			nstep = list_length(plan->scans) - rec->base_scans;
	bool		first = true;
	ListCell   *lc;
	int			i;

	appendStringInfo(buf, "WITH RECURSIVE %s", RECURSIVE_NAME);
	appendStringInfoChar(buf, '(');
	foreach(lc, rec->colnames)
		appendStringInfo(buf, "%s%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(strVal(lfirst(lc))));
	appendStringInfoString(buf, ") AS (");

	/* the seed */
	appendStringInfoString(buf, "SELECT ");
	append_cast_columns(buf, rec, "a");
	appendStringInfoString(buf, " FROM (");
	if (rec->union_all)
	{
		appendStringInfoString(buf, "SELECT ");
		for (i = 0; i < list_length(columns); i++)
			appendStringInfo(buf, "g.c%d, ", i);
		appendStringInfoString(buf, "pg_catalog.sum(g.w) AS w FROM (");
	}
	append_leaf_arms(buf, plan, rec->base, 0, rec->base_scans, mask, NULL, &first);
	append_leaf_arms(buf, plan, rec->step, rec->base_scans, nstep, mask, stored, &first);
	if (rec->union_all)
	{
		appendStringInfoString(buf, ") g");
		append_column_aliases(buf, rec, true);
		appendStringInfoString(buf, " GROUP BY ");
		for (i = 0; i < list_length(columns); i++)
			appendStringInfo(buf, "%sg.c%d", i ? ", " : "", i);
		appendStringInfoString(buf, ") a CROSS JOIN LATERAL pg_catalog.generate_series(1, a.w)");
	}
	else
	{
		appendStringInfoString(buf, ") a");
		append_column_aliases(buf, rec, false);
		appendStringInfoString(buf, " WHERE ");
		append_not_stored(buf, rec, columns, target, "a");
	}

	/* the rounds: step over the previous round's rows and the new state */
	appendStringInfoString(buf, rec->union_all ? " UNION ALL SELECT " : " UNION SELECT ");
	append_cast_columns(buf, rec, "s");
	for (i = 0; i < nstep; i++)
		states[i] = ARM_NEW;
	appendStringInfo(buf, " FROM (%s) s", leaf_sql(plan, rec->step, states, NULL));
	append_column_aliases(buf, rec, false);
	if (!rec->union_all)
	{
		appendStringInfoString(buf, " WHERE ");
		append_not_stored(buf, rec, columns, target, "s");
	}

	appendStringInfoString(buf, ") SELECT ");
	foreach(lc, rec->colnames)
		appendStringInfo(buf, "r.%s AS __trickle_c%d, ", quote_identifier(strVal(lfirst(lc))),
						 foreach_current_index(lc));
	appendStringInfo(buf, "1 AS __trickle_w FROM %s r", RECURSIVE_NAME);
}

/*
 * trickle_recursive_state: the defining query under the stream table's
 * column names, for FULL and REINITIALIZE
 */
char *
trickle_recursive_state(TrickleIvmPlan *plan, List *columns)
{
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT s.* FROM (%s) s(", trickle_query_deparse(plan->query));
	foreach(lc, columns)
		appendStringInfo(&sql, "%s%s", foreach_current_index(lc) ? ", " : "",
						 quote_identifier(((TrickleColumn *) lfirst(lc))->name));
	appendStringInfoChar(&sql, ')');
	return sql.data;
}
