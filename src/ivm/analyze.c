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
 *			inheritance children (only trees whose every change the capture
 *			triggers see: src/cdc/tree.c), and other stream tables (their
 *			visible columns: a refresh's writes are captured like any
 *			table's), combined by comma or INNER, LEFT, RIGHT or FULL JOIN,
 *			with any condition; LATERAL subqueries over tables
 *			(src/ivm/model.c checks subqueries further); views,
 *			non-recursive WITH queries and select-project-join subqueries,
 *			which src/ivm/normalize.c merges into the query first, so that
 *			their tables are scans like the others; set-returning functions
 *			(LATERAL or not), VALUES lists and subqueries that read no
 *			table, which the delta keeps as they are (constants of its sum,
 *			evaluated per row of what they join);
 *	WHERE	any expression (volatile functions were refused earlier),
 *			subqueries included;
 *	SELECT	any immutable expressions of the columns, or for GROUP BY and
 *			aggregate queries exactly the grouping expressions and the
 *			aggregates count(*), count(x), sum, avg, min, max, bool_and and
 *			bool_or, without DISTINCT, ORDER BY or FILTER.
 *
 * The strategy is chosen here, in this order:
 *
 *	keyed recompute (recompute.c)	set operations, window functions,
 *			DISTINCT [ON], HAVING, GROUPING SETS (and LIMIT, which it
 *			refuses), and any aggregate query the algebraic path below
 *			refuses (other aggregates, DISTINCT/ORDER BY/FILTER inside one,
 *			expressions over aggregates): the output is recomputed for the
 *			keys the changes touch;
 *	algebraic aggregates (analyze_aggregate)	GROUP BY queries selecting
 *			the aggregates above, maintained from hidden state columns
 *			without reading a group's other rows;
 *	plain		project-filter-join blocks, maintained row by row.
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
 * each only when no output column holds the same value already (a
 * count(*), a count or sum of the same argument: see state_column).
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
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/typcache.h"

#include "api/api.h"
#include "catalog.h"
#include "cdc/cdc.h"
#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "ivm/ivm_internal.h"
#include "trickle.h"

/* trickle_ivm_vformat: fmt formatted with args, palloc'd */
char *
trickle_ivm_vformat(const char *fmt, va_list args)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		copy;
		int			needed;

		va_copy(copy, args);
		needed = appendStringInfoVA(&buf, fmt, copy);
		va_end(copy);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	return buf.data;
}

/*
 * trickle_ivm_refuse: makes plan unsupported, with the reason fmt (which
 * names the construct); returns plan.
 */
TrickleIvmPlan *
trickle_ivm_refuse(TrickleIvmPlan *plan, const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	plan->reason = trickle_ivm_vformat(fmt, args);
	va_end(args);
	plan->supported = false;
	return plan;
}

/*
 * unsupported_at: as trickle_ivm_refuse, for a construct at byte offset location
 * of plan->sql (-1: unknown), which an error can then point at.
 */
static TrickleIvmPlan *
unsupported_at(TrickleIvmPlan *plan, int location, const char *reason)
{
	(void) trickle_ivm_refuse(plan, "%s", reason);
	if (plan->sql != NULL && location >= 0)
		plan->reason_position = pg_mbstrlen_with_len(plan->sql, location) + 1;
	return plan;
}

char *
trickle_ivm_hidden_name(const char *what, int agg)
{
	return agg < 0 ? psprintf("%s%s", TRICKLE_COLUMN_PREFIX, what) :
		psprintf("%s%s_%d", TRICKLE_COLUMN_PREFIX, what, agg);
}

/* trickle_ivm_add_hidden: appends a hidden state column to plan */
void
trickle_ivm_add_hidden(TrickleIvmPlan *plan, char *name, Oid type, int32 typmod, Oid collation)
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
			/* normalize.c expands every view in FROM */
			return psprintf("source \"%s\" is a view that could not be expanded", name);
		case RELKIND_MATVIEW:
			return psprintf("source \"%s\" is a materialized view, whose refreshes cannot be captured", name);
		case RELKIND_FOREIGN_TABLE:
			return psprintf("source \"%s\" is a foreign table, whose changes cannot be captured", name);
		default:
			return psprintf("source \"%s\" is not a table", name);
	}
	/* a stream table is captured like a table, from its refreshes' writes */
	return trickle_cdc_source_problem(relid, inh);
}

/*
 * hidden_column_problem: a stream table read as a source is captured on its
 * visible columns only; its __trickle_* columns (row identities, aggregate
 * state) are trickle's bookkeeping, which a downstream cannot follow.
 */
static char *
hidden_column_problem(List *sources)
{
	ListCell   *lc;

	foreach(lc, sources)
	{
		TrickleIvmSource *src = lfirst(lc);
		ListCell   *lc2;

		if (trickle_classify_relation(src->relid) == TRICKLE_RELATION_OTHER)
			continue;
		foreach(lc2, src->attnums)
		{
			char	   *column = get_attname(src->relid, lfirst_int(lc2), false);

			if (strncmp(column, TRICKLE_COLUMN_PREFIX, strlen(TRICKLE_COLUMN_PREFIX)) == 0)
				return psprintf("column \"%s\" of stream table \"%s\", which is trickle's own bookkeeping",
								column, get_rel_name(src->relid));
		}
	}
	return NULL;
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
				/* one normalize.c kept: a constant if it reads no table */
				if (!trickle_ivm_reads_relations(rte->subquery))
					return NULL;
				if (rte->lateral && contain_vars_of_level((Node *) rte->subquery, 1))
					return trickle_ivm_from_problem(rte->subquery, (Node *) rte->subquery->jointree);
				/* grouped or DISTINCT: the model checks its body (derived.c) */
				if (trickle_ivm_derivable(rte->subquery))
					return NULL;
				return pstrdup("a subquery in FROM");
			case RTE_FUNCTION:
			case RTE_VALUES:
				/* read no source: the same in every term of the delta */
				return NULL;
			case RTE_TABLEFUNC:
				return pstrdup("XMLTABLE in FROM");
			case RTE_CTE:
				return pstrdup("a recursive WITH query");
			default:
				return pstrdup("this kind of FROM item");
		}
	}
	return pstrdup("this kind of FROM item");
}

/*
 * Constructs whose result a delta cannot reproduce: a volatile function may
 * return something else on every call, TABLESAMPLE picks other rows on
 * every scan, and a row-locking clause has an effect on the sources that a
 * refresh reading change buffers would skip.  A FULL refresh runs them as
 * written.  The bodies of views the query reads are searched too, so that
 * whatever later expands a view finds it already checked.
 */
typedef struct ImpureContext
{
	const char *sql;			/* the query's text, if known */
	Oid			view;			/* the view whose body is being searched */
	List	   *walking;		/* views being searched (their bodies name
								 * themselves as OLD and NEW) */
	char	   *reason;			/* the first construct found */
	int			location;		/* its byte offset in sql, or -1 */
} ImpureContext;

static void
impure_found(ImpureContext *ctx, const char *what, int location)
{
	if (ctx->reason != NULL)
		return;
	if (OidIsValid(ctx->view))
	{
		/* locations inside a view's stored body are not in sql */
		ctx->reason = psprintf("%s in view \"%s\"", what, get_rel_name(ctx->view));
		ctx->location = -1;
	}
	else
	{
		ctx->reason = pstrdup(what);
		ctx->location = location;
	}
}

static bool
volatile_func_checker(Oid func, void *context)
{
	if (func_volatile(func) != PROVOLATILE_VOLATILE)
		return false;
	*(Oid *) context = func;
	return true;
}

static bool impure_walker(Node *node, ImpureContext *ctx);

/* searches the body of view relid, naming the outermost view in reasons */
static void
impure_view(Oid relid, ImpureContext *ctx)
{
	Relation	rel;
	Query	   *body;
	Oid			outer = ctx->view;

	if (list_member_oid(ctx->walking, relid))
		return;
	rel = table_open(relid, AccessShareLock);
	body = copyObject(get_view_query(rel));
	table_close(rel, AccessShareLock);
	if (!OidIsValid(outer))
		ctx->view = relid;
	ctx->walking = lappend_oid(ctx->walking, relid);
	(void) impure_walker((Node *) body, ctx);
	ctx->walking = list_delete_last(ctx->walking);
	ctx->view = outer;
}

static bool
impure_walker(Node *node, ImpureContext *ctx)
{
	static const char *const locking[] = {"for update", "for no key update", "for share",
	"for key share", NULL};
	static const char *const tablesample[] = {"tablesample", NULL};
	Oid			func;

	if (node == NULL || ctx->reason != NULL)
		return ctx->reason != NULL;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		ListCell   *lc;

		if (query->rowMarks != NIL)
		{
			RowMarkClause *rc = linitial(query->rowMarks);

			impure_found(ctx,
						 rc->strength == LCS_FORKEYSHARE ? "FOR KEY SHARE" :
						 rc->strength == LCS_FORSHARE ? "FOR SHARE" :
						 rc->strength == LCS_FORNOKEYUPDATE ? "FOR NO KEY UPDATE" :
						 "FOR UPDATE",
						 trickle_query_locate(ctx->sql, locking));
		}
		foreach(lc, query->rtable)
		{
			RangeTblEntry *rte = lfirst(lc);

			if (rte->tablesample)
				impure_found(ctx, "TABLESAMPLE", trickle_query_locate(ctx->sql, tablesample));
			else if (ctx->reason == NULL && rte->rtekind == RTE_RELATION &&
					 rte->relkind == RELKIND_VIEW)
				impure_view(rte->relid, ctx);
		}
		return ctx->reason != NULL || query_tree_walker(query, impure_walker, ctx, 0);
	}
	if (check_functions_in_node(node, volatile_func_checker, &func))
		impure_found(ctx, psprintf("volatile function %s", format_procedure(func)),
					 exprLocation(node));
	return ctx->reason != NULL || expression_tree_walker(node, impure_walker, ctx);
}

/* impure_problem: makes plan unsupported (true) if query has such a construct */
static bool
impure_problem(TrickleIvmPlan *plan, Query *query)
{
	ImpureContext ctx = {plan->sql, InvalidOid, NIL, NULL, -1};

	(void) impure_walker((Node *) query, &ctx);
	if (ctx.reason != NULL)
		unsupported_at(plan, ctx.location, ctx.reason);
	else if (contain_volatile_functions((Node *) query))
		trickle_ivm_refuse(plan, "a volatile expression");
	return !plan->supported;
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

/*
 * State columns.  A value some output column already holds is not stored
 * twice: the group's row count is a count(*) column, the count of an
 * argument's non-NULL values a count() of it or the count another
 * aggregate of the same argument keeps, and avg's sum a sum() of the same
 * argument.  A stream table created before this sharing keeps its own
 * columns: a state column it has (plan->existing) is used as it is.
 */

/* the output column of a maintained aggregate kind(arg) of type, or NULL */
static char *
output_holding(TrickleIvmPlan *plan, TrickleAggKind kind, Expr *arg, Oid type)
{
	ListCell   *lc;

	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);
		TrickleColumn *col = list_nth(plan->columns, agg->column);

		if (agg->kind == kind && !agg->rederive && col->type == type && equal(agg->arg, arg))
			return col->name;
	}
	return NULL;
}

/* a stored column counting the non-NULL arguments of agg already, or NULL */
static char *
count_holding(TrickleIvmPlan *plan, TrickleIvmAgg *agg)
{
	char	   *name = output_holding(plan, TRICKLE_AGG_COUNT, agg->arg, INT8OID);
	ListCell   *lc;

	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *other = lfirst(lc);

		if (name != NULL || other == agg)
			break;
		if (other->nn != NULL && equal(other->arg, agg->arg))
			name = other->nn;
	}
	return name;
}

/*
 * state_column: the stored column of state what (of aggregate j, or -1):
 * shared when not NULL and the stream table has no column of its own for
 * it, else a hidden column of type
 */
static char *
state_column(TrickleIvmPlan *plan, const char *what, int j, char *shared, Oid type)
{
	char	   *name = trickle_ivm_hidden_name(what, j);
	ListCell   *lc;

	foreach(lc, plan->existing)
	{
		if (strcmp(lfirst(lc), name) == 0)
			shared = NULL;
	}
	if (shared != NULL)
		return shared;
	trickle_ivm_add_hidden(plan, name, type, -1, InvalidOid);
	return name;
}

/* the state columns of an aggregate query, once its aggregates are known */
static void
add_state(TrickleIvmPlan *plan)
{
	ListCell   *lc;

	plan->count = state_column(plan, "count", -1,
							   output_holding(plan, TRICKLE_AGG_COUNT_STAR, NULL, INT8OID), INT8OID);
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);
		int			j = foreach_current_index(lc);

		if (agg->rederive || agg->kind == TRICKLE_AGG_COUNT_STAR || agg->kind == TRICKLE_AGG_COUNT)
			continue;
		agg->nn = state_column(plan, "nn", j, count_holding(plan, agg), INT8OID);
		if (agg->kind == TRICKLE_AGG_AVG)
			agg->sum = state_column(plan, "sum", j,
									output_holding(plan, TRICKLE_AGG_SUM, agg->arg, agg->sumtype),
									agg->sumtype);
		if (agg->kind == TRICKLE_AGG_BOOL_AND)
			agg->truth = state_column(plan, "nf", j, NULL, INT8OID);
		if (agg->kind == TRICKLE_AGG_BOOL_OR)
			agg->truth = state_column(plan, "nt", j, NULL, INT8OID);
	}
}

/* fills keys, aggs and hidden for a GROUP BY or aggregate query */
static TrickleIvmPlan *
analyze_aggregate(TrickleIvmPlan *plan, Query *query)
{
	ListCell   *lc;
	int			column = 0;
	int			k = 0;

	if (query->groupingSets)
		return trickle_ivm_refuse(plan, "GROUPING SETS, ROLLUP or CUBE");
	if (query->havingQual)
		return trickle_ivm_refuse(plan, "HAVING");
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
			return trickle_ivm_refuse(plan, "GROUP BY a value of type %s, which has no ordering",
							   format_type_be(exprType((Node *) key->expr)));
		if (key->column < 0)
		{
			key->stored = trickle_ivm_hidden_name("key", k);
			trickle_ivm_add_hidden(plan, key->stored, exprType((Node *) key->expr),
					   exprTypmod((Node *) key->expr), exprCollation((Node *) key->expr));
		}
		plan->keys = lappend(plan->keys, key);
		k++;
	}
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
				return trickle_ivm_refuse(plan, "%s", reason);
			agg->kind = kind;
			if (agg->kind == TRICKLE_AGG_AVG && !agg->rederive)
				agg->sumtype = sum_type(agg->argtype);
			if ((agg->kind == TRICKLE_AGG_MIN || agg->kind == TRICKLE_AGG_MAX) &&
				!has_ordering(agg->argtype))
				return trickle_ivm_refuse(plan, "min or max of type %s", format_type_be(agg->argtype));
			plan->aggs = lappend(plan->aggs, agg);
		}
		else if (tle->ressortgroupref == 0 ||
				 !list_member_ptr(query->groupClause,
								  get_sortgroupref_clause_noerr(tle->ressortgroupref,
																query->groupClause)))
			return trickle_ivm_refuse(plan, "output column \"%s\" is an expression over aggregates or grouping columns; select the aggregate or the grouping expression itself",
							   col->name);
		column++;
	}
	add_state(plan);
	return plan;
}

static TrickleIvmPlan *analyze(Query *query, List *columns, const char *sql,
							   List *existing);

/*
 * trickle_ivm_analyze: whether and how the differential engine maintains
 * query, whose visible output columns are columns.
 */
TrickleIvmPlan *
trickle_ivm_analyze(Query *query, List *columns)
{
	return analyze(query, columns, NULL, NIL);
}

/*
 * trickle_ivm_analyze_text: the same, for a query parsed from sql, so that
 * an unsupported construct's reason_position can say where it is in sql.
 */
TrickleIvmPlan *
trickle_ivm_analyze_text(Query *query, List *columns, const char *sql)
{
	return analyze(query, columns, sql, NIL);
}

/*
 * trickle_ivm_analyze_stored: the same, for a stream table that exists,
 * whose state columns are existing (names): see state_column.
 */
TrickleIvmPlan *
trickle_ivm_analyze_stored(Query *query, List *columns, List *existing)
{
	return analyze(query, columns, NULL, existing);
}

static TrickleIvmPlan *
analyze(Query *query, List *columns, const char *sql, List *existing)
{
	TrickleIvmPlan *plan = palloc0(sizeof(TrickleIvmPlan));
	ListCell   *lc;
	char	   *problem;

	plan->supported = true;
	plan->sql = sql;
	plan->query = query;
	plan->columns = columns;
	plan->existing = existing;
	/* before views are expanded: positions are in the query's own text */
	if (impure_problem(plan, query))
		return plan;
	query = trickle_ivm_normalize(query, plan, &problem);
	plan->query = query;
	if (problem)
		return trickle_ivm_refuse(plan, "%s", problem);

	/* normalize.c inlined the others: semi-naive evaluation, recursive.c */
	if (query->cteList)
		return trickle_ivm_analyze_recursive(plan, query, columns);
	/* set operations, windows, DISTINCT, HAVING, grouping sets: recompute.c */
	if (trickle_ivm_wants_recompute(query))
	{
		TrickleIvmPlan *recompute = trickle_ivm_analyze_recompute(query, columns, existing);

		/* the views expanded above: replacing one invalidates the cached SQL */
		recompute->views = plan->views;
		return recompute;
	}
	if (query->hasTargetSRFs)
		return trickle_ivm_refuse(plan, "set-returning functions in the select list");
	if (query->jointree->fromlist == NIL)
		return trickle_ivm_refuse(plan, "a query without FROM");
	if ((problem = trickle_ivm_from_problem(query, (Node *) query->jointree)) != NULL)
		return trickle_ivm_refuse(plan, "%s", problem);

	/* scans (also inside subqueries) and the columns read of each source */
	if ((problem = trickle_ivm_model_plan(plan)) != NULL)
		return trickle_ivm_refuse(plan, "%s", problem);
	if ((problem = hidden_column_problem(plan->sources)) != NULL)
		return trickle_ivm_refuse(plan, "%s", problem);

	/*
	 * Aggregates the algebraic path cannot maintain from state columns are
	 * recomputed group by group instead.
	 */
	if (query->hasAggs || query->groupClause)
	{
		analyze_aggregate(plan, query);
		if (!plan->supported)
			return trickle_ivm_analyze_recompute(query, columns, existing);
		return plan;
	}

	foreach(lc, columns)
	{
		TrickleColumn *col = lfirst(lc);

		if (!has_ordering(col->type))
			return trickle_ivm_refuse(plan, "output column \"%s\" has type %s, which has no ordering to compare rows with",
							   col->name, format_type_be(col->type));
	}
	return plan;
}

/* one FROM item: a scan of a source, or a constant evaluated per row */
static void
describe_item(StringInfo buf, RangeTblEntry *rte)
{
	ListCell   *lc;

	switch (rte->rtekind)
	{
		case RTE_RELATION:
			appendStringInfo(buf, "Scan %s",
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(rte->relid)),
														get_rel_name(rte->relid)));
			break;
		case RTE_FUNCTION:
			appendStringInfoString(buf, "Function Scan");
			foreach(lc, rte->functions)
			{
				Node	   *expr = ((RangeTblFunction *) lfirst(lc))->funcexpr;

				appendStringInfo(buf, "%s%s", lc == list_head(rte->functions) ? " " : ", ",
								 IsA(expr, FuncExpr) ?
								 quote_identifier(get_func_name(((FuncExpr *) expr)->funcid)) :
								 "expression");
			}
			break;
		case RTE_VALUES:
			appendStringInfo(buf, "Values Scan (%d rows)", list_length(rte->values_lists));
			break;
		case RTE_SUBQUERY:
			appendStringInfo(buf, "Subquery Scan %s (reads no table)",
							 quote_identifier(rte->eref->aliasname));
			break;
		default:
			appendStringInfoString(buf, "Scan");
			break;
	}
	if (rte->lateral)
		appendStringInfoString(buf, " (LATERAL)");
}

static void describe_from(StringInfo buf, TrickleIvmPlan *plan, IvmModel *m, Query *query,
						  Node *node, int depth);

/* the subqueries of expr (WHERE or the select list of the top query), each with its body */
static void
describe_sublinks(StringInfo buf, TrickleIvmPlan *plan, IvmModel *m, bool in_where, int depth)
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
		describe_from(buf, plan, m, body, (Node *) body->jointree, depth + 1);
	}
}

/*
 * describe_from: the FROM/WHERE of query (the top query of m, or a
 * subquery's body), a node at a time; the top query's items name the view,
 * WITH query or subquery they came from
 */
static void
describe_from(StringInfo buf, TrickleIvmPlan *plan, IvmModel *m, Query *query, Node *node,
			  int depth)
{
	bool		top = query == m->query;

	if (IsA(node, FromExpr))
	{
		FromExpr   *from = (FromExpr *) node;
		ListCell   *lc;

		if (from->quals)
		{
			appendStringInfoSpaces(buf, depth * 2);
			appendStringInfoString(buf, "Filter (WHERE)\n");
			depth++;
		}
		if (list_length(from->fromlist) == 1)
			describe_from(buf, plan, m, query, linitial(from->fromlist), depth);
		else
		{
			appendStringInfoSpaces(buf, depth * 2);
			appendStringInfo(buf, "Inner Join (%d inputs)\n", list_length(from->fromlist));
			foreach(lc, from->fromlist)
				describe_from(buf, plan, m, query, lfirst(lc), depth + 1);
		}
		if (top)
			describe_sublinks(buf, plan, m, true, depth);
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
		describe_from(buf, plan, m, query, join->larg, depth + 1);
		describe_from(buf, plan, m, query, join->rarg, depth + 1);
	}
	else if (IsA(node, RangeTblRef))
	{
		int			rtindex = ((RangeTblRef *) node)->rtindex;
		RangeTblEntry *rte = rt_fetch(rtindex, query->rtable);
		/* a subquery kept in FROM is its own origin */
		const char *origin = top && rte->rtekind != RTE_SUBQUERY ?
			trickle_ivm_origin(plan, rtindex) : NULL;

		appendStringInfoSpaces(buf, depth * 2);
		if (top && rte->rtekind == RTE_SUBQUERY && trickle_ivm_derivable(rte->subquery) &&
			trickle_ivm_reads_relations(rte->subquery) &&
			!(rte->lateral && contain_vars_of_level((Node *) rte->subquery, 1)))
		{
			const char *from = trickle_ivm_origin(plan, rtindex);
			char	   *name = pstrdup(quote_identifier(rte->eref->aliasname));

			if (from && strncmp(from, "subquery ", 9) != 0)
				name = psprintf("%s (%s)", name, from);
			appendStringInfo(buf, "%s\n", trickle_ivm_derived_label(rte->subquery, name));
			describe_from(buf, plan, m, rte->subquery, (Node *) rte->subquery->jointree, depth + 1);
			return;
		}
		if (rte->rtekind == RTE_SUBQUERY && trickle_ivm_reads_relations(rte->subquery))
		{
			appendStringInfoString(buf, "Lateral Subquery: recomputed per affected row\n");
			describe_from(buf, plan, m, rte->subquery, (Node *) rte->subquery->jointree, depth + 1);
			return;
		}
		describe_item(buf, rte);
		if (origin)
			appendStringInfo(buf, " (%s)", origin);
		appendStringInfoChar(buf, '\n');
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
 * trickle_ivm_describe_block: the FROM/WHERE block of a plain plan, at depth
 */
void
trickle_ivm_describe_block(StringInfo buf, TrickleIvmPlan *block, int depth)
{
	IvmModel   *m = trickle_ivm_model(block, block->query);

	describe_from(buf, block, m, block->query, (Node *) block->query->jointree, depth);
	describe_sublinks(buf, block, m, false, depth);
}

/*
 * trickle_ivm_describe: the operator tree of a supported plan, one operator
 * per line, inputs indented below it.
 */
char *
trickle_ivm_describe(TrickleIvmPlan *plan)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	if (plan->recursive)
	{
		trickle_ivm_describe_recursive(&buf, plan);
		buf.data[--buf.len] = '\0';
		return buf.data;
	}
	if (plan->recompute)
		trickle_ivm_describe_recompute(&buf, plan);
	else if (plan->aggregate)
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
	if (!plan->recompute)
		trickle_ivm_describe_block(&buf, plan, 1);
	if (buf.len > 0 && buf.data[buf.len - 1] == '\n')
		buf.data[--buf.len] = '\0';
	return buf.data;
}
