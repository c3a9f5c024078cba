/*-------------------------------------------------------------------------
 *
 * codegen.c
 *	  The SQL of a DIFFERENTIAL refresh: one MERGE applying the delta.
 *
 * Row identity.  __trickle_row_id = hash class | ordinal: the high bits are
 * a 64-bit hash of the row's key (the group key of an aggregate, the whole
 * row of a plain query) with the low TRICKLE_CLASS_BITS cleared, the low bits
 * number the rows of that class from 1.  Rows of one key are found by an
 * index range scan of the class and an exact comparison of the key columns
 * (record equality, under which NULL equals NULL as GROUP BY has it), so a
 * hash collision shares a class without merging rows, and duplicate rows of
 * a plain query are numbered copies of one key.  FULL and REINITIALIZE of a
 * differential stream table assign identities the same way
 * (src/refresh/merge.c).
 *
 * Plain queries (project-filter-join): the terms of the delta
 * (src/ivm/delta.c) are consolidated by row (weights summed, zeros dropped).
 * A row with weight -k deletes k stored copies (the highest ordinals, which
 * keeps a class's ordinals dense); +k inserts k copies numbered after the
 * class's highest ordinal.
 *
 * Aggregates: the terms are grouped by key into per-group deltas of every
 * aggregate's state, looked up in the stream table, and combined into the
 * new state: counts and sums add, min and max take the least or greatest
 * unless the old extreme may have been deleted, in which case (and for
 * every group touched by an aggregate that cannot be added up exactly, such
 * as a float sum) the group's aggregates are recomputed from the sources
 * ("rederived").  A group whose row count drops to 0 is deleted, except the
 * one row of an aggregate without GROUP BY.
 *
 * Either way the result is one MERGE.  A plain query's is keyed on
 * __trickle_row_id; an aggregate's on the ctid at which the group's stored
 * row was found (see aggregate_apply).  PostgreSQL 15's MERGE reports a
 * single row count, so each action's WHEN condition ends in
 * trickle._tally(action), which counts the rows that reach it.
 *
 * The SQL depends on which sources changed (terms of unchanged sources are
 * left out), so it is cached per stream table and set of changed scans,
 * and dropped when the definition changes (a rename re-deparses it).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "api/api.h"
#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "refresh/refresh.h"
#include "trickle.h"

/* counts of the current MERGE's actions, by TrickleTally */
static int64 tallies[3];

PG_FUNCTION_INFO_V1(trickle_tally);

Datum
trickle_tally(PG_FUNCTION_ARGS)
{
	int32		action = PG_GETARG_INT32(0);

	if (action < 0 || action >= lengthof(tallies))
		elog(ERROR, "invalid tally %d", action);
	tallies[action]++;
	PG_RETURN_BOOL(true);
}

void
trickle_tally_reset(void)
{
	memset(tallies, 0, sizeof(tallies));
}

int64
trickle_tally_get(TrickleTally action)
{
	return tallies[action];
}

static const char *
q(const char *name)
{
	return quote_identifier(name);
}

/* "prefix<fmt 0>, prefix<fmt 1>, ..." for n items */
static void
append_list(StringInfo buf, const char *prefix, const char *fmt, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, ", ");
		appendStringInfoString(buf, prefix);
		appendStringInfo(buf, fmt, i);
	}
}

static void
append_names(StringInfo buf, const char *prefix, List *columns)
{
	ListCell   *lc;

	foreach(lc, columns)
	{
		if (lc != list_head(columns))
			appendStringInfoString(buf, ", ");
		appendStringInfo(buf, "%s%s", prefix, q(((TrickleColumn *) lfirst(lc))->name));
	}
}

/* the UNION ALL of the terms of the scans in mask */
static void
append_terms(StringInfo buf, TrickleIvmPlan *plan, const char *target, List *columns,
			 uint64 mask)
{
	int			i;
	bool		first = true;

	if (plan->recursive)
	{
		/* the new rows of a recursive WITH query (src/ivm/recursive.c) */
		trickle_recursive_append_terms(buf, plan, target, columns, mask);
		return;
	}
	if (plan->recompute)
	{
		/* UNION ALL: the terms of every branch (src/refresh/recompute_apply.c) */
		trickle_recompute_append_terms(buf, plan, mask);
		return;
	}
	for (i = 0; i < list_length(plan->scans); i++)
	{
		if ((mask & (UINT64CONST(1) << i)) == 0)
			continue;
		appendStringInfo(buf, "%s(%s)", first ? "" : " UNION ALL ", trickle_delta_term(plan, i));
		first = false;
	}
}

/* the class range of lo in stored table o: "o.rid BETWEEN lo AND lo + mask" */
static void
append_class_range(StringInfo buf, const char *lo)
{
	appendStringInfo(buf, "o.%s BETWEEN %s AND %s + " INT64_FORMAT,
					 TRICKLE_ROW_ID, lo, lo, TRICKLE_CLASS_MASK);
}

/* the identity of a new row: next free ordinal of class lo */
static void
append_new_row_id(StringInfo buf, const char *target, const char *lo)
{
	appendStringInfo(buf,
					 "trickle._row_id_class(%s, COALESCE((SELECT pg_catalog.max(o.%s)"
					 " FROM ONLY %s o WHERE ", lo, TRICKLE_ROW_ID, target);
	append_class_range(buf, lo);
	appendStringInfo(buf, ") - %s, 0) + pg_catalog.row_number() OVER (PARTITION BY %s))",
					 lo, lo);
}

/*
 * plain_apply: the MERGE of a project-filter-join stream table.
 */
static char *
plain_apply(TrickleIvmPlan *plan, const char *target, List *columns, uint64 mask)
{
	StringInfoData sql;
	int			n = list_length(columns);
	int			i;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "WITH d AS (SELECT ");
	append_list(&sql, "t.", "__trickle_c%d", n);
	appendStringInfoString(&sql, ", pg_catalog.sum(t.__trickle_w) AS __trickle_w FROM (");
	append_terms(&sql, plan, target, columns, mask);
	appendStringInfoString(&sql, ") t GROUP BY ");
	append_list(&sql, "t.", "__trickle_c%d", n);
	appendStringInfoString(&sql, " HAVING pg_catalog.sum(t.__trickle_w) <> 0), ");

	appendStringInfoString(&sql, "h AS (SELECT d.*, trickle._row_id_class(trickle._row_hash(ROW(");
	append_list(&sql, "d.", "__trickle_c%d", n);
	appendStringInfoString(&sql, ")), 0) AS __trickle_lo FROM d), ");

	/* deletions: the highest ordinals among the stored copies of the row */
	appendStringInfo(&sql, "f AS (SELECT x.%s AS __trickle_rid, false AS __trickle_ins", TRICKLE_ROW_ID);
	for (i = 0; i < n; i++)
		appendStringInfo(&sql, ", NULL::%s AS __trickle_c%d",
						 trickle_ivm_type_sql(((TrickleColumn *) list_nth(columns, i))->type,
								   ((TrickleColumn *) list_nth(columns, i))->typmod, InvalidOid), i);
	appendStringInfo(&sql, " FROM h CROSS JOIN LATERAL (SELECT o.%s FROM ONLY %s o WHERE ",
					 TRICKLE_ROW_ID, target);
	append_class_range(&sql, "h.__trickle_lo");
	appendStringInfoString(&sql, " AND ROW(");
	append_names(&sql, "o.", columns);
	appendStringInfoString(&sql, ")::pg_catalog.record OPERATOR(pg_catalog.=) ROW(");
	append_list(&sql, "h.", "__trickle_c%d", n);
	appendStringInfo(&sql, ")::pg_catalog.record ORDER BY o.%s DESC LIMIT (- h.__trickle_w)) x"
					 " WHERE h.__trickle_w < 0", TRICKLE_ROW_ID);

	/* insertions: numbered after the class's highest ordinal */
	appendStringInfoString(&sql, " UNION ALL SELECT ");
	append_new_row_id(&sql, target, "h.__trickle_lo");
	appendStringInfoString(&sql, ", true, ");
	append_list(&sql, "h.", "__trickle_c%d", n);
	appendStringInfoString(&sql, " FROM h CROSS JOIN LATERAL pg_catalog.generate_series(1, h.__trickle_w)"
						   " WHERE h.__trickle_w > 0) ");

	appendStringInfo(&sql, "MERGE INTO ONLY %s o USING f ON o.%s = f.__trickle_rid AND NOT f.__trickle_ins"
					 " WHEN MATCHED AND trickle._tally(%d) THEN DELETE"
					 " WHEN NOT MATCHED AND f.__trickle_ins AND trickle._tally(%d) THEN INSERT (",
					 target, TRICKLE_ROW_ID, TRICKLE_TALLY_DELETED, TRICKLE_TALLY_INSERTED);
	append_names(&sql, "", columns);
	appendStringInfo(&sql, ", %s) VALUES (", TRICKLE_ROW_ID);
	append_list(&sql, "f.", "__trickle_c%d", n);
	appendStringInfoString(&sql, ", f.__trickle_rid)");
	return sql.data;
}

/* "ROW(prefix k0, ...)::record" over the plan's keys, as the terms name them */
static void
append_key_row(StringInfo buf, TrickleIvmPlan *plan, const char *prefix)
{
	appendStringInfoString(buf, "ROW(");
	append_list(buf, prefix, "__trickle_k%d", list_length(plan->keys));
	appendStringInfoString(buf, ")::pg_catalog.record");
}

/*
 * whether agg is a sum or avg of numeric values, which may be NaN or
 * infinite: a sum that met one is NaN or infinite whatever is added or
 * subtracted later, so a group whose delta or stored sum is not finite is
 * recomputed ("rederived") instead
 */
static bool
agg_nonfinite(TrickleIvmAgg *agg)
{
	return !agg->rederive && agg->argtype == NUMERICOID &&
		(agg->kind == TRICKLE_AGG_SUM || agg->kind == TRICKLE_AGG_AVG);
}

static bool
agg_may_rederive(TrickleIvmAgg *agg)
{
	return agg->rederive || agg->kind == TRICKLE_AGG_MIN || agg->kind == TRICKLE_AGG_MAX ||
		agg_nonfinite(agg);
}

/* "COALESCE(<x> IN (NaN, Infinity, -Infinity), false)" */
static void
append_nonfinite(StringInfo buf, const char *x)
{
	appendStringInfo(buf, "COALESCE(%s OPERATOR(pg_catalog.=) ANY ('{NaN,Infinity,-Infinity}'::pg_catalog.numeric[]), false)",
					 x);
}

static const char *
agg_sql_name(TrickleIvmAgg *agg)
{
	switch (agg->kind)
	{
		case TRICKLE_AGG_SUM:
			return "pg_catalog.sum";
		case TRICKLE_AGG_AVG:
			return "pg_catalog.avg";
		case TRICKLE_AGG_MIN:
			return "pg_catalog.min";
		case TRICKLE_AGG_MAX:
			return "pg_catalog.max";
		case TRICKLE_AGG_BOOL_AND:
			return "pg_catalog.bool_and";
		case TRICKLE_AGG_BOOL_OR:
			return "pg_catalog.bool_or";
		default:
			return "pg_catalog.count";
	}
}

/* the per-group deltas of aggregate j, from the terms aliased t */
static void
append_agg_deltas(StringInfo buf, TrickleIvmPlan *plan, int j, bool partials)
{
	TrickleIvmAgg *agg = list_nth(plan->aggs, j);
	int			a = trickle_ivm_agg_arg(plan, j);

	if (agg->kind == TRICKLE_AGG_COUNT_STAR || agg->rederive)
		return;
	if (partials)
	{
		/* weighted partials (src/ivm/delta.c, "Eager aggregation") */
		appendStringInfo(buf, ", pg_catalog.sum(t.__trickle_n%d) AS __trickle_dnn_%d", a, j);
		if (agg->kind == TRICKLE_AGG_SUM || agg->kind == TRICKLE_AGG_AVG)
			appendStringInfo(buf, ", pg_catalog.sum(t.__trickle_s%d) AS __trickle_dpos_%d,"
							 " 0 AS __trickle_dneg_%d", a, j, j);
		return;
	}
	appendStringInfo(buf, ", pg_catalog.sum(t.__trickle_w) FILTER (WHERE t.__trickle_a%d IS NOT NULL)"
					 " AS __trickle_dnn_%d", a, j);
	switch (agg->kind)
	{
		case TRICKLE_AGG_SUM:
		case TRICKLE_AGG_AVG:
			appendStringInfo(buf, ", pg_catalog.sum(t.__trickle_a%d) FILTER (WHERE t.__trickle_w > 0)"
							 " AS __trickle_dpos_%d, pg_catalog.sum(t.__trickle_a%d) FILTER"
							 " (WHERE t.__trickle_w < 0) AS __trickle_dneg_%d", a, j, a, j);
			break;
		case TRICKLE_AGG_MIN:
		case TRICKLE_AGG_MAX:
			appendStringInfo(buf, ", %s(t.__trickle_a%d) FILTER (WHERE t.__trickle_w > 0)"
							 " AS __trickle_dins_%d, %s(t.__trickle_a%d) FILTER"
							 " (WHERE t.__trickle_w < 0) AS __trickle_ddel_%d",
							 agg_sql_name(agg), a, j, agg_sql_name(agg), a, j);
			break;
		case TRICKLE_AGG_BOOL_AND:
			appendStringInfo(buf, ", pg_catalog.sum(t.__trickle_w) FILTER (WHERE NOT t.__trickle_a%d)"
							 " AS __trickle_dnf_%d", a, j);
			break;
		case TRICKLE_AGG_BOOL_OR:
			appendStringInfo(buf, ", pg_catalog.sum(t.__trickle_w) FILTER (WHERE t.__trickle_a%d)"
							 " AS __trickle_dnt_%d", a, j);
			break;
		default:
			break;
	}
}

/* "WITH d AS (...), ": the per-group deltas of the changes of the scans in mask */
static void
append_group_deltas(StringInfo sql, TrickleIvmPlan *plan, uint64 mask)
{
	int			nkeys = list_length(plan->keys);
	bool		partials = trickle_ivm_eager(plan);
	int			j;

	appendStringInfoString(sql, "WITH d AS (SELECT ");
	append_list(sql, "t.", "__trickle_k%d", nkeys);
	appendStringInfo(sql, "%spg_catalog.sum(t.__trickle_w) AS __trickle_dcount", nkeys ? ", " : "");
	for (j = 0; j < list_length(plan->aggs); j++)
		append_agg_deltas(sql, plan, j, partials);
	appendStringInfoString(sql, " FROM (");
	append_terms(sql, plan, NULL, NIL, mask);
	appendStringInfoString(sql, ") t");
	if (nkeys)
	{
		appendStringInfoString(sql, " GROUP BY ");
		append_list(sql, "t.", "__trickle_k%d", nkeys);
	}
	appendStringInfoString(sql, "), ");
}

/* "ROW(o.<stored key columns>)::record = ROW(<prefix>k0, ...)::record" */
static void
append_key_match(StringInfo sql, TrickleIvmPlan *plan, const char *prefix)
{
	ListCell   *lc;

	appendStringInfoString(sql, "ROW(");
	foreach(lc, plan->keys)
		appendStringInfo(sql, "%so.%s", lc == list_head(plan->keys) ? "" : ", ",
						 q(((TrickleIvmKey *) lfirst(lc))->stored));
	appendStringInfoString(sql, ")::pg_catalog.record OPERATOR(pg_catalog.=) ");
	append_key_row(sql, plan, prefix);
}

/* "COALESCE(n.<old>, 0) + COALESCE(n.<delta>, 0)" */
static char *
added(const char *old, const char *delta)
{
	return psprintf("(COALESCE(n.%s, 0) + COALESCE(n.%s, 0))", q(old), delta);
}

/* new sum from old and the positive and negative parts of the delta */
static char *
new_sum(const char *old, int j)
{
	return psprintf("CASE WHEN n.__trickle_nnn_%d = 0 THEN NULL ELSE"
					" COALESCE(n.%s, 0) + COALESCE(n.__trickle_dpos_%d, 0)"
					" - COALESCE(n.__trickle_dneg_%d, 0) END", j, q(old), j, j);
}

/* bool_and's new count of false values, bool_or's of true ones (j-th aggregate) */
static char *
new_truth(TrickleIvmAgg *agg, int j)
{
	return added(agg->truth, psprintf("__trickle_d%s_%d",
									  agg->kind == TRICKLE_AGG_BOOL_AND ? "nf" : "nt", j));
}

/* the new value of visible aggregate column agg (j-th aggregate) */
static char *
agg_value(TrickleIvmAgg *agg, int j, const char *vis)
{
	switch (agg->kind)
	{
		case TRICKLE_AGG_COUNT_STAR:
			return pstrdup("n.__trickle_ncount");
		case TRICKLE_AGG_COUNT:
			return added(vis, psprintf("__trickle_dnn_%d", j));
		case TRICKLE_AGG_SUM:
			if (agg->rederive)
				break;
			if (agg_nonfinite(agg))
				return psprintf("CASE WHEN n.__trickle_rd THEN rd.__trickle_r_%d ELSE %s END",
								j, new_sum(vis, j));
			return new_sum(vis, j);
		case TRICKLE_AGG_AVG:
			if (agg->rederive)
				break;
			if (agg_nonfinite(agg))
				return psprintf("CASE WHEN n.__trickle_rd THEN rd.__trickle_r_%d ELSE"
								" (%s)::pg_catalog.numeric / NULLIF(n.__trickle_nnn_%d, 0)::pg_catalog.numeric END",
								j, new_sum(agg->sum, j), j);
			return psprintf("(%s)::pg_catalog.numeric / NULLIF(n.__trickle_nnn_%d, 0)::pg_catalog.numeric",
							new_sum(agg->sum, j), j);
		case TRICKLE_AGG_MIN:
		case TRICKLE_AGG_MAX:
			return psprintf("CASE WHEN n.__trickle_rd THEN rd.__trickle_r_%d"
							" WHEN n.__trickle_nnn_%d = 0 THEN NULL ELSE %s(n.%s, n.__trickle_dins_%d) END",
							j, j, agg->kind == TRICKLE_AGG_MIN ? "LEAST" : "GREATEST", q(vis), j);
		case TRICKLE_AGG_BOOL_AND:
			return psprintf("CASE WHEN n.__trickle_nnn_%d = 0 THEN NULL ELSE %s = 0 END", j,
							new_truth(agg, j));
		case TRICKLE_AGG_BOOL_OR:
			return psprintf("CASE WHEN n.__trickle_nnn_%d = 0 THEN NULL ELSE %s > 0 END", j,
							new_truth(agg, j));
	}
	return psprintf("rd.__trickle_r_%d", j);
}

/* the new value of hidden column name */
static char *
hidden_value(TrickleIvmPlan *plan, const char *name)
{
	ListCell   *lc;
	int			j = 0;

	if (strcmp(name, plan->count) == 0)
		return pstrdup("n.__trickle_ncount");
	foreach(lc, plan->keys)
	{
		if (strcmp(name, ((TrickleIvmKey *) lfirst(lc))->stored) == 0)
			return psprintf("n.__trickle_k%d", foreach_current_index(lc));
	}
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);

		if (agg->nn && strcmp(name, agg->nn) == 0)
			return psprintf("n.__trickle_nnn_%d", j);
		if (agg->sum && strcmp(name, agg->sum) == 0)
			return agg_nonfinite(agg) ?
				psprintf("CASE WHEN n.__trickle_rd THEN rd.__trickle_rs_%d ELSE %s END",
						 j, new_sum(name, j)) :
				new_sum(name, j);
		if (agg->truth && strcmp(name, agg->truth) == 0)
			return new_truth(agg, j);
		j++;
	}
	elog(ERROR, "unknown hidden column %s", name);
}

/* the new value of the i-th stored column, cast to its type */
static char *
stored_value(TrickleIvmPlan *plan, TrickleColumn *col, int i)
{
	char	   *value = NULL;
	ListCell   *lc;
	int			j = 0;

	foreach(lc, plan->keys)
	{
		if (((TrickleIvmKey *) lfirst(lc))->column == i)
			value = psprintf("n.__trickle_k%d", foreach_current_index(lc));
	}
	foreach(lc, plan->aggs)
	{
		if (((TrickleIvmAgg *) lfirst(lc))->column == i)
			value = agg_value(lfirst(lc), j, col->name);
		j++;
	}
	if (value == NULL)
		value = hidden_value(plan, col->name);
	return psprintf("(%s)::%s", value, trickle_ivm_type_sql(col->type, col->typmod, InvalidOid));
}

/*
 * "SELECT <keys>, <recomputed aggregates> FROM (<the sources>) s WHERE ":
 * the start of a recomputation of some groups (see aggregate_apply)
 */
static void
append_rederive_select(StringInfo sql, TrickleIvmPlan *plan)
{
	int			nkeys = list_length(plan->keys);
	ListCell   *lc;
	int			i = 0;

	appendStringInfoString(sql, "SELECT ");
	append_list(sql, "s.", "__trickle_k%d", nkeys);
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);
		int			j = foreach_current_index(lc);

		if (agg_may_rederive(agg))
			appendStringInfo(sql, "%s%s(s.__trickle_a%d) AS __trickle_r_%d",
							 nkeys || i ? ", " : "", agg_sql_name(agg), j, j), i++;
		if (agg_nonfinite(agg) && agg->kind == TRICKLE_AGG_AVG)
			appendStringInfo(sql, ", pg_catalog.sum(s.__trickle_a%d) AS __trickle_rs_%d", j, j);
	}
	appendStringInfo(sql, " FROM (%s) s WHERE ", trickle_delta_term(plan, -1));
}

/*
 * aggregate_apply: the MERGE of a GROUP BY or aggregate stream table.
 */
static char *
aggregate_apply(TrickleIvmPlan *plan, const char *target, List *columns, uint64 mask)
{
	StringInfoData sql;
	List	   *stored = list_concat_copy(columns, plan->hidden);
	int			nkeys = list_length(plan->keys);
	bool		may_rederive = false;
	ListCell   *lc;
	int			j;
	int			i;

	foreach(lc, plan->aggs)
		may_rederive |= agg_may_rederive(lfirst(lc));

	initStringInfo(&sql);
	append_group_deltas(&sql, plan, mask);

	/*
	 * j: with the stored row of each group, if any, and its address.  The
	 * probe tries the class's first ordinal by equality first: a group is
	 * almost always alone in its class, and an equality probe is planned as
	 * a plain index scan whatever the statistics say (a range with unknown
	 * bounds is often planned as a bitmap scan, several times dearer).  Only
	 * when that row is missing or holds another key is the whole class
	 * scanned; LIMIT 1 stops at the first branch that finds the group (a
	 * group has at most one stored row).
	 */
	appendStringInfoString(&sql, "h AS (SELECT d.*, trickle._row_id_class(trickle._row_hash(ROW(");
	append_list(&sql, "d.", "__trickle_k%d", nkeys);
	appendStringInfoString(&sql, ")), 0) AS __trickle_lo FROM d), ");
	appendStringInfoString(&sql, "j AS (SELECT h.*, x.* FROM h LEFT JOIN LATERAL (SELECT p.* FROM (");
	for (i = 0; i < 2; i++)
	{
		appendStringInfo(&sql, "%s(SELECT o.ctid AS __trickle_octid, o.%s AS __trickle_orid, ",
						 i ? " UNION ALL " : "", TRICKLE_ROW_ID);
		append_names(&sql, "o.", stored);
		appendStringInfo(&sql, " FROM ONLY %s o WHERE ", target);
		if (i == 0)
			appendStringInfo(&sql, "o.%s = h.__trickle_lo + 1", TRICKLE_ROW_ID);
		else
			append_class_range(&sql, "h.__trickle_lo");
		appendStringInfoString(&sql, " AND ");
		append_key_match(&sql, plan, "h.");
		appendStringInfoChar(&sql, ')');
	}
	appendStringInfoString(&sql, ") p LIMIT 1) x ON true), ");

	/* n: new counts, and whether the group must be recomputed */
	appendStringInfo(&sql, "n AS (SELECT j.*, COALESCE(j.%s, 0)"
					 " + COALESCE(j.__trickle_dcount, 0) AS __trickle_ncount", q(plan->count));
	j = 0;
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);

		if (agg->nn)
			appendStringInfo(&sql, ", COALESCE(j.%s, 0) + COALESCE(j.__trickle_dnn_%d, 0) AS __trickle_nnn_%d",
							 q(agg->nn), j, j);
		j++;
	}
	appendStringInfo(&sql, ", %s(false", plan->global ? "" :
					 psprintf("COALESCE(j.%s, 0) + COALESCE(j.__trickle_dcount, 0) > 0 AND ",
							  q(plan->count)));
	j = 0;
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);
		const char *vis = ((TrickleColumn *) list_nth(columns, agg->column))->name;

		if (agg->rederive)
			appendStringInfoString(&sql, " OR true");
		else if (agg->kind == TRICKLE_AGG_MIN || agg->kind == TRICKLE_AGG_MAX)
		{
			/*
			 * The extreme may be gone when a deleted value reaches the stored
			 * one, or one inserted in the same delta (a row inserted and then
			 * updated or deleted before this refresh).
			 */
			const char *op = agg->kind == TRICKLE_AGG_MIN ? "<=" : ">=";

			appendStringInfo(&sql, " OR COALESCE(j.__trickle_ddel_%d %s j.%s"
							 " OR j.__trickle_ddel_%d %s j.__trickle_dins_%d, false)",
							 j, op, q(vis), j, op, j);
		}
		else if (agg_nonfinite(agg))
		{
			/* a NaN or infinity added, removed, or in the stored sum */
			const char *sum = agg->kind == TRICKLE_AGG_SUM ? vis : agg->sum;

			appendStringInfoString(&sql, " OR ");
			append_nonfinite(&sql, psprintf("j.__trickle_dpos_%d", j));
			appendStringInfoString(&sql, " OR ");
			append_nonfinite(&sql, psprintf("j.__trickle_dneg_%d", j));
			appendStringInfoString(&sql, " OR ");
			append_nonfinite(&sql, psprintf("j.%s", q(sum)));
		}
		j++;
	}
	appendStringInfoString(&sql, ") AS __trickle_rd FROM j), ");

	/*
	 * rd: groups recomputed from the sources.  Keys without a NULL are
	 * matched by their types' equality, key by key, which the planner can
	 * hash or probe an index with; keys with a NULL by record equality
	 * (NULL equal to NULL), which it can do neither with.
	 */
	if (may_rederive)
	{
		List	   *eqops = NIL;

		foreach(lc, plan->keys)
		{
			Oid			type = exprType((Node *) ((TrickleIvmKey *) lfirst(lc))->expr);
			Oid			eqop = lookup_type_cache(type, TYPECACHE_EQ_OPR)->eq_opr;

			if (OidIsValid(eqop))
				eqops = lappend_oid(eqops, eqop);
		}
		appendStringInfoString(&sql, "rd AS (");
		append_rederive_select(&sql, plan);
		if (plan->global)
			appendStringInfoString(&sql, "EXISTS (SELECT FROM n WHERE n.__trickle_rd)");
		else
		{
			/* keys without a NULL, when every key type has an equality */
			if (list_length(eqops) == nkeys)
			{
				appendStringInfoString(&sql, "EXISTS (SELECT FROM n WHERE n.__trickle_rd");
				for (i = 0; i < nkeys; i++)
					appendStringInfo(&sql, " AND n.__trickle_k%d %s s.__trickle_k%d", i,
									 trickle_ivm_operator_sql(list_nth_oid(eqops, i)), i);
				appendStringInfoString(&sql, ") GROUP BY ");
				append_list(&sql, "s.", "__trickle_k%d", nkeys);
				appendStringInfoString(&sql, " UNION ALL ");
				append_rederive_select(&sql, plan);
			}
			appendStringInfoString(&sql, "EXISTS (SELECT FROM n WHERE n.__trickle_rd AND (");
			for (i = 0; i < nkeys; i++)
				appendStringInfo(&sql, "%sn.__trickle_k%d IS NULL", i ? " OR " : "", i);
			if (list_length(eqops) != nkeys)
				appendStringInfoString(&sql, " OR true");
			appendStringInfoString(&sql, ") AND ");
			append_key_row(&sql, plan, "n.");
			appendStringInfoString(&sql, " OPERATOR(pg_catalog.=) ");
			append_key_row(&sql, plan, "s.");
			appendStringInfoString(&sql, ") GROUP BY ");
			append_list(&sql, "s.", "__trickle_k%d", nkeys);
		}
		appendStringInfoString(&sql, "), ");
	}

	/* f: the new stored rows */
	appendStringInfoString(&sql, "f AS (SELECT n.__trickle_octid, COALESCE(n.__trickle_orid, ");
	append_new_row_id(&sql, target, "n.__trickle_lo");
	appendStringInfoString(&sql, ") AS __trickle_rid, n.__trickle_ncount");
	i = 0;
	foreach(lc, stored)
	{
		appendStringInfo(&sql, ", %s AS __trickle_v%d",
						 stored_value(plan, lfirst(lc), i), i);
		i++;
	}
	appendStringInfoString(&sql, " FROM n");
	if (may_rederive && plan->global)
		appendStringInfoString(&sql, " LEFT JOIN rd ON n.__trickle_rd");
	else if (may_rederive)
	{
		appendStringInfoString(&sql, " LEFT JOIN rd ON ");
		append_key_row(&sql, plan, "n.");
		appendStringInfoString(&sql, " OPERATOR(pg_catalog.=) ");
		append_key_row(&sql, plan, "rd.");
	}
	appendStringInfoString(&sql, ") ");

	/* the MERGE */
	/*
	 * The MERGE finds each stored row by the address the probe read it at
	 * (a TID scan), not by its identity, which would be a second index
	 * descent or a hash join over the whole stream table.  The address is
	 * valid for the whole statement: it was read with the statement's
	 * snapshot, and nobody else writes the stream table while the refresh
	 * holds its ExclusiveLock (which also conflicts with row locks).
	 */
	appendStringInfo(&sql, "MERGE INTO ONLY %s o USING f ON o.ctid = f.__trickle_octid", target);
	if (!plan->global)
		appendStringInfo(&sql, " WHEN MATCHED AND f.__trickle_ncount = 0 AND trickle._tally(%d) THEN DELETE",
						 TRICKLE_TALLY_DELETED);
	appendStringInfoString(&sql, " WHEN MATCHED AND NOT ROW(");
	append_names(&sql, "o.", stored);
	appendStringInfoString(&sql, ")::pg_catalog.record OPERATOR(pg_catalog.*=) ROW(");
	append_list(&sql, "f.", "__trickle_v%d", list_length(stored));
	appendStringInfo(&sql, ")::pg_catalog.record AND trickle._tally(%d) THEN UPDATE SET ",
					 TRICKLE_TALLY_UPDATED);
	i = 0;
	foreach(lc, stored)
		appendStringInfo(&sql, "%s%s = f.__trickle_v%d", i ? ", " : "",
						 q(((TrickleColumn *) lfirst(lc))->name), i), i++;
	appendStringInfo(&sql, " WHEN NOT MATCHED%s AND trickle._tally(%d) THEN INSERT (",
					 plan->global ? "" : " AND f.__trickle_ncount > 0", TRICKLE_TALLY_INSERTED);
	append_names(&sql, "", stored);
	appendStringInfo(&sql, ", %s) VALUES (", TRICKLE_ROW_ID);
	append_list(&sql, "f.", "__trickle_v%d", list_length(stored));
	appendStringInfoString(&sql, ", f.__trickle_rid)");
	return sql.data;
}

/* the SQL computing hidden column name if it is state of agg (j-th), or NULL */
static char *
state_sql(TrickleIvmAgg *agg, int j, const char *name)
{
	if (agg->nn && strcmp(name, agg->nn) == 0)
		return psprintf("pg_catalog.count(s.__trickle_a%d)", j);
	if (agg->sum && strcmp(name, agg->sum) == 0)
		return psprintf("pg_catalog.sum(s.__trickle_a%d)", j);
	if (agg->truth && strcmp(name, agg->truth) == 0)
		return psprintf("pg_catalog.count(*) FILTER (WHERE %ss.__trickle_a%d)",
						agg->kind == TRICKLE_AGG_BOOL_AND ? "NOT " : "", j);
	return NULL;
}

/*
 * trickle_codegen_state: SQL computing every stored column (visible, then
 * hidden) of a differential stream table from the sources, for FULL and
 * REINITIALIZE.
 */
char *
trickle_codegen_state(TrickleIvmPlan *plan, List *columns)
{
	StringInfoData sql;
	List	   *stored;
	ListCell   *lc;
	int			nkeys = list_length(plan->keys);
	int			i = 0;

	if (plan->recompute)
		return trickle_recompute_state(plan, columns);
	if (plan->recursive)
		return trickle_recursive_state(plan, columns);
	if (!plan->aggregate)
	{
		initStringInfo(&sql);
		appendStringInfoString(&sql, "SELECT ");
		foreach(lc, columns)
			appendStringInfo(&sql, "%ss.__trickle_c%d AS %s", i ? ", " : "", i,
							 q(((TrickleColumn *) lfirst(lc))->name)), i++;
		appendStringInfo(&sql, " FROM (%s) s", trickle_delta_term(plan, -1));
		return sql.data;
	}

	stored = list_concat_copy(columns, plan->hidden);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	foreach(lc, stored)
	{
		TrickleColumn *col = lfirst(lc);
		char	   *value = NULL;
		ListCell   *lc2;
		int			j = 0;

		foreach(lc2, plan->keys)
		{
			TrickleIvmKey *key = lfirst(lc2);

			if (key->column == i || strcmp(key->stored, col->name) == 0)
				value = psprintf("s.__trickle_k%d", foreach_current_index(lc2));
		}
		foreach(lc2, plan->aggs)
		{
			TrickleIvmAgg *agg = lfirst(lc2);

			if (agg->column == i)
				value = agg->kind == TRICKLE_AGG_COUNT_STAR ? pstrdup("pg_catalog.count(*)") :
					psprintf("%s(s.__trickle_a%d)", agg_sql_name(agg), j);
			else if (value == NULL && i >= list_length(columns))
				value = state_sql(agg, j, col->name);
			j++;
		}
		if (strcmp(col->name, plan->count) == 0)
			value = pstrdup("pg_catalog.count(*)");
		if (value == NULL)
			elog(ERROR, "no state for column %s", col->name);
		appendStringInfo(&sql, "%s(%s)::%s AS %s", i ? ", " : "", value,
						 trickle_ivm_type_sql(col->type, col->typmod, InvalidOid), q(col->name));
		i++;
	}
	appendStringInfo(&sql, " FROM (%s) s", trickle_delta_term(plan, -1));
	if (nkeys)
	{
		appendStringInfoString(&sql, " GROUP BY ");
		append_list(&sql, "s.", "__trickle_k%d", nkeys);
	}
	return sql.data;
}

/*
 * trickle_codegen_state_keys: the stored columns whose hash is a row's class.
 */
List *
trickle_codegen_state_keys(TrickleIvmPlan *plan, List *columns)
{
	List	   *keys = NIL;
	ListCell   *lc;

	/* the whole row for plain queries and UNION ALL; the keys otherwise */
	if (plan->recompute ? plan->recompute->kind == TRICKLE_RECOMPUTE_UNION_ALL : !plan->aggregate)
		return columns;
	foreach(lc, plan->keys)
	{
		TrickleColumn *col = palloc0(sizeof(TrickleColumn));

		col->name = ((TrickleIvmKey *) lfirst(lc))->stored;
		keys = lappend(keys, col);
	}
	return keys;
}

/* cached apply statements */
typedef struct ApplyCacheEntry
{
	Oid			relid;			/* hash key */
	char	   *definition;
	char	   *target;			/* the stream table's qualified name */
	int			nscans;
	Oid		   *scans;			/* relid of each scan */
	int			nviews;
	Oid		   *views;			/* the views the plan expanded */
	bool		stale;			/* one of them was replaced */
	bool		insert_only;	/* the delta holds for insertions only */
	TrickleDirect *direct;		/* applied directly (direct.c), or NULL */
	List	   *masks;			/* of ApplySql */
	MemoryContext context;
} ApplyCacheEntry;

typedef struct ApplySql
{
	uint64		mask;
	char	   *sql;
	SPIPlanPtr	plan;			/* prepared on first use, kept */
} ApplySql;

static HTAB *apply_cache = NULL;

/*
 * apply_cache_invalidate: a relation's cache entry was invalidated (every
 * relation's, for InvalidOid).  A view's is when its rule is replaced
 * (src/api/views.c): statements that inlined it are stale.
 */
static void
apply_cache_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	ApplyCacheEntry *entry;
	int			i;

	hash_seq_init(&status, apply_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		for (i = 0; i < entry->nviews; i++)
			entry->stale |= !OidIsValid(relid) || entry->views[i] == relid;
	}
}

/*
 * apply_entry: the cache entry of stream table relid (named target), made
 * anew when its definition or name changed or a view it read was
 * replaced; a fresh analysis of the definition is left in *plan (NULL
 * when the entry was still good).
 */
static ApplyCacheEntry *
apply_entry(Oid relid, const char *definition, const char *target, TrickleIvmPlan **plan,
			List **columns)
{
	ApplyCacheEntry *entry;
	ApplySql   *apply;
	bool		found;
	ListCell   *lc;

	*plan = NULL;
	if (apply_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ApplyCacheEntry);
		apply_cache = hash_create("trickle apply statements", 64, &ctl, HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(apply_cache_invalidate, (Datum) 0);
	}
	entry = hash_search(apply_cache, &relid, HASH_FIND, &found);
	if (found && (entry->stale || strcmp(entry->definition, definition) != 0 ||
				  strcmp(entry->target, target) != 0))
	{
		foreach(lc, entry->masks)
		{
			apply = lfirst(lc);
			if (apply->plan)
				SPI_freeplan(apply->plan);
		}
		MemoryContextDelete(entry->context);
		hash_search(apply_cache, &relid, HASH_REMOVE, NULL);
		found = false;
	}
	if (!found)
	{
		MemoryContext context;
		MemoryContext old;

		*plan = trickle_codegen_plan(relid, definition, columns);
		if (!(*plan)->supported || list_length((*plan)->scans) > 64)
			elog(ERROR, "stream table %s is not maintainable differentially: %s", target,
				 (*plan)->supported ? "more than 64 tables" : (*plan)->reason);
		context = AllocSetContextCreate(TopMemoryContext, "trickle apply statement",
										ALLOCSET_SMALL_SIZES);
		entry = hash_search(apply_cache, &relid, HASH_ENTER, &found);
		entry->nviews = 0;
		entry->context = context;
		entry->definition = MemoryContextStrdup(context, definition);
		entry->target = MemoryContextStrdup(context, target);
		entry->masks = NIL;
		entry->nscans = list_length((*plan)->scans);
		entry->scans = MemoryContextAlloc(context, sizeof(Oid) * Max(entry->nscans, 1));
		foreach(lc, (*plan)->scans)
			entry->scans[foreach_current_index(lc)] = ((TrickleIvmScan *) lfirst(lc))->relid;
		entry->nviews = list_length((*plan)->views);
		entry->views = MemoryContextAlloc(context, sizeof(Oid) * Max(entry->nviews, 1));
		foreach(lc, (*plan)->views)
			entry->views[foreach_current_index(lc)] = lfirst_oid(lc);
		entry->insert_only = (*plan)->recursive != NULL;
		old = MemoryContextSwitchTo(context);
		entry->direct = trickle_direct_plan(*plan, *columns);
		MemoryContextSwitchTo(old);
		entry->stale = false;
	}
	return entry;
}

/*
 * trickle_codegen_direct: how stream table relid is applied directly
 * (src/refresh/direct.c), or NULL when it goes through the MERGE; and, when
 * insert_only is not NULL, whether its delta is right only for changes that
 * insert (a recursive WITH query): a refresh whose changes delete or update
 * must recompute.
 */
TrickleDirect *
trickle_codegen_direct(Oid relid, const char *definition, bool *insert_only)
{
	TrickleIvmPlan *plan;
	List	   *columns;
	ApplyCacheEntry *entry = apply_entry(relid, definition,
										 trickle_relation_qualified_name(relid),
										 &plan, &columns);

	if (insert_only)
		*insert_only = entry->insert_only;
	return entry->direct;
}

/*
 * trickle_codegen_apply: the MERGE applying the changes of the sources in
 * changed (OIDs) to stream table relid.
 */
char *
trickle_codegen_apply(Oid relid, const char *definition, List *changed,
					  SPIPlanPtr *prepared)
{
	uint64		mask = 0;
	int			i;
	ApplyCacheEntry *entry;
	ApplySql   *apply;
	MemoryContext old;
	TrickleIvmPlan *plan;
	List	   *columns = NIL;
	ListCell   *lc;
	char	   *sql;
	char	   *target = trickle_relation_qualified_name(relid);

	entry = apply_entry(relid, definition, target, &plan, &columns);
	for (i = 0; i < entry->nscans; i++)
	{
		if (list_member_oid(changed, entry->scans[i]))
			mask |= UINT64CONST(1) << i;
	}
	apply = NULL;
	foreach(lc, entry->masks)
	{
		if (((ApplySql *) lfirst(lc))->mask == mask)
			apply = lfirst(lc);
	}
	if (apply == NULL)
	{
		/* a cold backend analysed the definition just above already */
		if (plan == NULL)
			plan = trickle_codegen_plan(relid, definition, &columns);
		if (plan->recompute && plan->recompute->kind != TRICKLE_RECOMPUTE_UNION_ALL)
			sql = trickle_recompute_apply(plan, target, columns, mask);
		else
			sql = plan->aggregate ? aggregate_apply(plan, target, columns, mask) :
				plain_apply(plan, target, columns, mask);
		old = MemoryContextSwitchTo(entry->context);
		apply = palloc0(sizeof(ApplySql));
		apply->mask = mask;
		apply->sql = pstrdup(sql);
		entry->masks = lappend(entry->masks, apply);
		MemoryContextSwitchTo(old);
	}
	if (prepared && apply->plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(apply->sql, TRICKLE_DELTA_NPARAMS,
									(Oid *) trickle_delta_param_types);

		if (p == NULL)
			elog(ERROR, "could not plan the delta: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "could not keep the plan of the delta");
		apply->plan = p;
	}
	if (prepared)
		*prepared = apply->plan;
	return apply->sql;
}

/*
 * trickle_codegen_plan: the differential plan of a stream table's stored
 * definition, and its visible columns in *columns.
 */
TrickleIvmPlan *
trickle_codegen_plan(Oid relid, const char *definition, List **columns)
{
	Query	   *query = trickle_query_parse_definition(definition);
	List	   *state;

	*columns = trickle_relation_columns_state(relid, &state);
	return trickle_ivm_analyze_stored(query, *columns, state);
}
