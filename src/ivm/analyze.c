/*-------------------------------------------------------------------------
 *
 * analyze.c
 *	  Deciding whether the differential engine maintains a query, and
 *	  describing it.
 *
 * trickle_ivm_analyze walks the analysed defining query once.  Anything it
 * does not maintain makes the plan unsupported with a reason that names the
 * construct; refresh_mode 'differential' turns the reason into an error and
 * 'auto' records it and refreshes FULL.  What it accepts:
 *
 *	FROM	plain and partitioned tables, with their partitions and
 *			inheritance children (not stream tables, and only trees whose
 *			every change the capture triggers see: src/cdc/tree.c), combined
 *			by comma or INNER, LEFT, RIGHT or FULL JOIN, with any condition,
 *			and LATERAL subqueries over tables (src/ivm/model.c checks
 *			subqueries further);
 *	WHERE	any expression (volatile functions were refused earlier),
 *			subqueries included;
 *	SELECT	any immutable expressions of the columns, or for GROUP BY and
 *			aggregate queries exactly the grouping expressions and the
 *			aggregates count(*), count(x), sum, avg, min, max, bool_and and
 *			bool_or, without DISTINCT, ORDER BY or FILTER.
 *
 * Output rows are identified by a hash class plus an ordinal (see
 * src/refresh/codegen.c): the hash of the whole row for a plain query, of
 * the group key for an aggregate one.  Aggregates keep hidden state columns
 * so that count, sum and avg can be updated from the delta alone:
 *
 *	__trickle_count		rows in the group (a group with none is deleted)
 *	__trickle_nn_<j>	non-NULL arguments of aggregate j
 *	__trickle_sum_<j>	the sum behind avg j
 *	__trickle_nf_<j>	false arguments of bool_and j (nt: true, bool_or)
 *	__trickle_key_<k>	a GROUP BY key that is not an output column
 *
 * sum and avg of floating-point, money or interval values are not exactly
 * maintainable by addition, so they are recomputed ("rederived") from the
 * sources for each group a refresh touches; min and max only when the
 * current extreme may have been deleted.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/typcache.h"

#include "catalog.h"
#include "cdc/cdc.h"
#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "ivm/ivm_internal.h"
#include "trickle.h"

static TrickleIvmPlan *
unsupported(TrickleIvmPlan *plan, const char *fmt,...) pg_attribute_printf(2, 3);

static TrickleIvmPlan *
unsupported(TrickleIvmPlan *plan, const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	plan->supported = false;
	plan->reason = buf.data;
	return plan;
}

char *
trickle_ivm_hidden_name(const char *what, int agg)
{
	return agg < 0 ? psprintf("%s%s", TRICKLE_COLUMN_PREFIX, what) :
		psprintf("%s%s_%d", TRICKLE_COLUMN_PREFIX, what, agg);
}

static void
add_hidden(TrickleIvmPlan *plan, char *name, Oid type, int32 typmod, Oid collation)
{
	TrickleColumn *col = palloc0(sizeof(TrickleColumn));

	col->name = name;
	col->type = type;
	col->typmod = typmod;
	col->collation = collation;
	plan->hidden = lappend(plan->hidden, col);
}

/*
 * source_problem: why relid, named in FROM (with ONLY when !inh), cannot
 * be a captured source, or NULL
 */
static char *
source_problem(Oid relid, bool inh)
{
	char	   *name = get_rel_name(relid);

	switch (get_rel_relkind(relid))
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
			break;
		case RELKIND_VIEW:
			return psprintf("source \"%s\" is a view; name its tables in the query instead", name);
		case RELKIND_MATVIEW:
			return psprintf("source \"%s\" is a materialized view, whose refreshes cannot be captured", name);
		case RELKIND_FOREIGN_TABLE:
			return psprintf("source \"%s\" is a foreign table, whose changes cannot be captured", name);
		default:
			return psprintf("source \"%s\" is not a table", name);
	}
	if (trickle_classify_relation(relid) != TRICKLE_RELATION_OTHER)
		return psprintf("source \"%s\" is a stream table, which this version does not capture", name);
	return trickle_cdc_source_problem(relid, inh);
}

/*
 * trickle_ivm_from_problem: checks a FROM clause: tables joined by inner and
 * outer joins, and LATERAL subqueries (which src/ivm/model.c checks
 * further); also used for the FROM clauses of subqueries.
 */
char *
trickle_ivm_from_problem(Query *query, Node *node)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
		{
			char	   *problem = trickle_ivm_from_problem(query, lfirst(lc));

			if (problem)
				return problem;
		}
		return NULL;
	}
	if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;
		char	   *problem;

		if (join->jointype != JOIN_INNER && join->jointype != JOIN_LEFT &&
			join->jointype != JOIN_RIGHT && join->jointype != JOIN_FULL)
			return pstrdup("this kind of join");
		if ((problem = trickle_ivm_from_problem(query, join->larg)) != NULL)
			return problem;
		return trickle_ivm_from_problem(query, join->rarg);
	}
	if (IsA(node, RangeTblRef))
	{
		RangeTblEntry *rte = rt_fetch(((RangeTblRef *) node)->rtindex, query->rtable);

		switch (rte->rtekind)
		{
			case RTE_RELATION:
				if (rte->tablesample)
					return pstrdup("TABLESAMPLE");
				return source_problem(rte->relid, rte->inh);
			case RTE_SUBQUERY:
				if (rte->lateral && contain_vars_of_level((Node *) rte->subquery, 1))
					return trickle_ivm_from_problem(rte->subquery, (Node *) rte->subquery->jointree);
				return pstrdup("a subquery in FROM");
			case RTE_FUNCTION:
			case RTE_TABLEFUNC:
				return pstrdup("a function in FROM");
			case RTE_VALUES:
				return pstrdup("VALUES in FROM");
			case RTE_CTE:
				return pstrdup("a WITH query");
			default:
				return pstrdup("this kind of FROM item");
		}
	}
	return pstrdup("this kind of FROM item");
}

static bool
has_ordering(Oid type)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_CMP_PROC);

	return OidIsValid(tc->cmp_proc);
}

/* the kind of aggregate aggref is, or -1 with a reason */
static int
agg_kind(Aggref *aggref, Oid argtype, bool *rederive, char **reason)
{
	char	   *name = get_func_name(aggref->aggfnoid);

	*rederive = false;
	if (get_func_namespace(aggref->aggfnoid) != PG_CATALOG_NAMESPACE)
	{
		*reason = psprintf("aggregate %s", format_procedure(aggref->aggfnoid));
		return -1;
	}
	if (aggref->aggdistinct || aggref->aggorder || aggref->aggfilter ||
		aggref->aggkind != AGGKIND_NORMAL || aggref->aggvariadic)
	{
		*reason = psprintf("aggregate %s with DISTINCT, ORDER BY, FILTER or WITHIN GROUP", name);
		return -1;
	}
	if (strcmp(name, "count") == 0)
		return aggref->aggstar ? TRICKLE_AGG_COUNT_STAR : TRICKLE_AGG_COUNT;
	if (strcmp(name, "min") == 0)
		return TRICKLE_AGG_MIN;
	if (strcmp(name, "max") == 0)
		return TRICKLE_AGG_MAX;
	if (strcmp(name, "bool_and") == 0 || strcmp(name, "every") == 0)
		return TRICKLE_AGG_BOOL_AND;
	if (strcmp(name, "bool_or") == 0)
		return TRICKLE_AGG_BOOL_OR;
	if (strcmp(name, "sum") == 0 || strcmp(name, "avg") == 0)
	{
		switch (argtype)
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case NUMERICOID:
				break;
			case FLOAT4OID:
			case FLOAT8OID:
			case CASHOID:
			case INTERVALOID:
				*rederive = true;
				break;
			default:
				*reason = psprintf("aggregate %s", format_procedure(aggref->aggfnoid));
				return -1;
		}
		return name[0] == 's' ? TRICKLE_AGG_SUM : TRICKLE_AGG_AVG;
	}
	*reason = psprintf("aggregate %s", format_procedure(aggref->aggfnoid));
	return -1;
}

static Oid
sum_type(Oid argtype)
{
	return argtype == INT8OID || argtype == NUMERICOID ? NUMERICOID : INT8OID;
}

/* fills keys, aggs and hidden for a GROUP BY or aggregate query */
static TrickleIvmPlan *
analyze_aggregate(TrickleIvmPlan *plan, Query *query)
{
	ListCell   *lc;
	int			column = 0;
	int			k = 0;

	if (query->groupingSets)
		return unsupported(plan, "GROUPING SETS, ROLLUP or CUBE");
	if (query->havingQual)
		return unsupported(plan, "HAVING");
	plan->aggregate = true;
	plan->global = query->groupClause == NIL;

	foreach(lc, query->groupClause)
	{
		SortGroupClause *sgc = lfirst(lc);
		TargetEntry *tle = get_sortgroupclause_tle(sgc, query->targetList);
		TrickleIvmKey *key = palloc0(sizeof(TrickleIvmKey));
		ListCell   *lc2;
		int			i = 0;

		key->expr = tle->expr;
		key->column = -1;
		foreach(lc2, query->targetList)
		{
			TargetEntry *out = lfirst(lc2);

			if (out->resjunk)
				continue;
			if (out->ressortgroupref == tle->ressortgroupref && key->column < 0)
			{
				key->column = i;
				key->stored = ((TrickleColumn *) list_nth(plan->columns, i))->name;
			}
			i++;
		}
		if (!has_ordering(exprType((Node *) key->expr)))
			return unsupported(plan, "GROUP BY a value of type %s, which has no ordering",
							   format_type_be(exprType((Node *) key->expr)));
		if (key->column < 0)
		{
			key->stored = trickle_ivm_hidden_name("key", k);
			add_hidden(plan, key->stored, exprType((Node *) key->expr),
					   exprTypmod((Node *) key->expr), exprCollation((Node *) key->expr));
		}
		plan->keys = lappend(plan->keys, key);
		k++;
	}
	add_hidden(plan, trickle_ivm_hidden_name("count", -1), INT8OID, -1, InvalidOid);

	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst(lc);
		TrickleColumn *col;

		if (tle->resjunk)
			continue;
		col = list_nth(plan->columns, column);
		if (IsA(tle->expr, Aggref))
		{
			Aggref	   *aggref = (Aggref *) tle->expr;
			TrickleIvmAgg *agg = palloc0(sizeof(TrickleIvmAgg));
			int			j = list_length(plan->aggs);
			char	   *reason = NULL;
			int			kind;

			agg->column = column;
			if (aggref->args)
			{
				agg->arg = ((TargetEntry *) linitial(aggref->args))->expr;
				agg->argtype = exprType((Node *) agg->arg);
			}
			kind = agg_kind(aggref, agg->argtype, &agg->rederive, &reason);
			if (kind < 0)
				return unsupported(plan, "%s", reason);
			agg->kind = kind;
			if (!agg->rederive && agg->kind != TRICKLE_AGG_COUNT_STAR &&
				agg->kind != TRICKLE_AGG_COUNT)
				add_hidden(plan, trickle_ivm_hidden_name("nn", j), INT8OID, -1, InvalidOid);
			if (agg->kind == TRICKLE_AGG_AVG && !agg->rederive)
			{
				agg->sumtype = sum_type(agg->argtype);
				add_hidden(plan, trickle_ivm_hidden_name("sum", j), agg->sumtype, -1, InvalidOid);
			}
			if (agg->kind == TRICKLE_AGG_BOOL_AND)
				add_hidden(plan, trickle_ivm_hidden_name("nf", j), INT8OID, -1, InvalidOid);
			if (agg->kind == TRICKLE_AGG_BOOL_OR)
				add_hidden(plan, trickle_ivm_hidden_name("nt", j), INT8OID, -1, InvalidOid);
			if ((agg->kind == TRICKLE_AGG_MIN || agg->kind == TRICKLE_AGG_MAX) &&
				!has_ordering(agg->argtype))
				return unsupported(plan, "min or max of type %s", format_type_be(agg->argtype));
			plan->aggs = lappend(plan->aggs, agg);
		}
		else if (tle->ressortgroupref == 0 ||
				 !list_member_ptr(query->groupClause,
								  get_sortgroupref_clause_noerr(tle->ressortgroupref,
																query->groupClause)))
			return unsupported(plan, "output column \"%s\" is an expression over aggregates or grouping columns; select the aggregate or the grouping expression itself",
							   col->name);
		column++;
	}
	return plan;
}

/*
 * trickle_ivm_analyze: whether and how the differential engine maintains
 * query, whose visible output columns are columns.
 */
TrickleIvmPlan *
trickle_ivm_analyze(Query *query, List *columns)
{
	TrickleIvmPlan *plan = palloc0(sizeof(TrickleIvmPlan));
	ListCell   *lc;
	char	   *problem;

	plan->supported = true;
	plan->query = query;
	plan->columns = columns;

	if (query->cteList)
		return unsupported(plan, "WITH");
	if (query->setOperations)
		return unsupported(plan, "UNION, INTERSECT or EXCEPT");
	if (query->hasWindowFuncs)
		return unsupported(plan, "window functions");
	if (query->hasTargetSRFs)
		return unsupported(plan, "set-returning functions in the select list");
	if (query->distinctClause)
		return unsupported(plan, "DISTINCT");
	if (query->limitCount || query->limitOffset)
		return unsupported(plan, "LIMIT or OFFSET");
	if (query->jointree->fromlist == NIL)
		return unsupported(plan, "a query without FROM");
	if ((problem = trickle_ivm_from_problem(query, (Node *) query->jointree)) != NULL)
		return unsupported(plan, "%s", problem);

	/* scans (also inside subqueries) and the columns read of each source */
	if ((problem = trickle_ivm_model_plan(plan)) != NULL)
		return unsupported(plan, "%s", problem);

	if (query->hasAggs || query->groupClause)
		return analyze_aggregate(plan, query);

	foreach(lc, columns)
	{
		TrickleColumn *col = lfirst(lc);

		if (!has_ordering(col->type))
			return unsupported(plan, "output column \"%s\" has type %s, which has no ordering to compare rows with",
							   col->name, format_type_be(col->type));
	}
	return plan;
}

static void describe_from(StringInfo buf, IvmModel *m, Query *query, Node *node, int depth);

/* the subqueries of expr (WHERE or the select list of the top query), each with its body */
static void
describe_sublinks(StringInfo buf, IvmModel *m, bool in_where, int depth)
{
	ListCell   *lc;

	foreach(lc, m->sublinks)
	{
		IvmSublink *sl = lfirst(lc);
		Query	   *body = (Query *) sl->sublink->subselect;

		if (sl->in_where != in_where)
			continue;
		appendStringInfoSpaces(buf, depth * 2);
		appendStringInfo(buf, "%s\n", trickle_ivm_sublink_label(sl));
		describe_from(buf, m, body, (Node *) body->jointree, depth + 1);
	}
}

static void
describe_from(StringInfo buf, IvmModel *m, Query *query, Node *node, int depth)
{
	if (IsA(node, FromExpr))
	{
		FromExpr   *from = (FromExpr *) node;
		ListCell   *lc;
		bool		top = query == m->query;

		if (from->quals)
		{
			appendStringInfoSpaces(buf, depth * 2);
			appendStringInfoString(buf, "Filter (WHERE)\n");
			depth++;
		}
		if (list_length(from->fromlist) == 1)
			describe_from(buf, m, query, linitial(from->fromlist), depth);
		else
		{
			appendStringInfoSpaces(buf, depth * 2);
			appendStringInfo(buf, "Inner Join (%d inputs)\n", list_length(from->fromlist));
			foreach(lc, from->fromlist)
				describe_from(buf, m, query, lfirst(lc), depth + 1);
		}
		if (top)
			describe_sublinks(buf, m, true, depth);
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;
		const char *type = join->jointype == JOIN_LEFT ? "Left" :
			join->jointype == JOIN_RIGHT ? "Right" :
			join->jointype == JOIN_FULL ? "Full" : "Inner";

		appendStringInfoSpaces(buf, depth * 2);
		if (join->usingClause)
			appendStringInfo(buf, "%s Join (USING)\n", type);
		else if (join->quals)
			appendStringInfo(buf, "%s Join (ON)\n", type);
		else
			appendStringInfo(buf, "%s Join\n", type);
		describe_from(buf, m, query, join->larg, depth + 1);
		describe_from(buf, m, query, join->rarg, depth + 1);
	}
	else if (IsA(node, RangeTblRef))
	{
		RangeTblEntry *rte = rt_fetch(((RangeTblRef *) node)->rtindex, query->rtable);

		appendStringInfoSpaces(buf, depth * 2);
		if (rte->rtekind == RTE_SUBQUERY)
		{
			appendStringInfoString(buf, "Lateral Subquery: recomputed per affected row\n");
			describe_from(buf, m, rte->subquery, (Node *) rte->subquery->jointree, depth + 1);
		}
		else
			appendStringInfo(buf, "Scan %s\n",
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(rte->relid)),
														get_rel_name(rte->relid)));
	}
}

static const char *const agg_names[] = {
	[TRICKLE_AGG_COUNT_STAR] = "count(*)",
	[TRICKLE_AGG_COUNT] = "count",
	[TRICKLE_AGG_SUM] = "sum",
	[TRICKLE_AGG_AVG] = "avg",
	[TRICKLE_AGG_MIN] = "min",
	[TRICKLE_AGG_MAX] = "max",
	[TRICKLE_AGG_BOOL_AND] = "bool_and",
	[TRICKLE_AGG_BOOL_OR] = "bool_or",
};

/*
 * trickle_ivm_describe: the operator tree of a supported plan, one operator
 * per line, inputs indented below it.
 */
char *
trickle_ivm_describe(TrickleIvmPlan *plan)
{
	StringInfoData buf;
	ListCell   *lc;
	IvmModel   *model;

	initStringInfo(&buf);
	if (plan->aggregate)
	{
		appendStringInfoString(&buf, plan->global ? "Aggregate (one row)" : "Aggregate (group by");
		foreach(lc, plan->keys)
		{
			TrickleIvmKey *key = lfirst(lc);

			appendStringInfo(&buf, "%s%s", lc == list_head(plan->keys) ? " " : ", ",
							 quote_identifier(key->stored));
		}
		if (!plan->global)
			appendStringInfoChar(&buf, ')');
		appendStringInfoString(&buf, ":");
		foreach(lc, plan->aggs)
		{
			TrickleIvmAgg *agg = lfirst(lc);

			appendStringInfo(&buf, "%s%s%s", lc == list_head(plan->aggs) ? " " : ", ",
							 agg_names[agg->kind],
							 agg->rederive ? " (recomputed per group)" :
							 agg->kind == TRICKLE_AGG_MIN || agg->kind == TRICKLE_AGG_MAX ?
							 " (recomputed when its extreme is deleted)" : "");
		}
		appendStringInfoChar(&buf, '\n');
	}
	else
		appendStringInfo(&buf, "Project (%d columns)\n", list_length(plan->columns));
	model = trickle_ivm_model(plan, plan->query);
	describe_from(&buf, model, plan->query, (Node *) plan->query->jointree, 1);
	describe_sublinks(&buf, model, false, 1);
	if (buf.len > 0 && buf.data[buf.len - 1] == '\n')
		buf.data[--buf.len] = '\0';
	return buf.data;
}
