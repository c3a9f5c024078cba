/*-------------------------------------------------------------------------
 *
 * recompute_apply.c
 *	  The SQL of a DIFFERENTIAL refresh by keyed recompute (analysis:
 *	  src/ivm/recompute.c): one MERGE.
 *
 * Its common table expressions, in order:
 *
 *	a	the affected keys: DISTINCT over the delta terms of the branches,
 *		projected on the keys (GROUPING SETS: once per grouping set, with
 *		the set's number and NULL for grouping columns outside the set);
 *	h	each key with its hash class;
 *	u	the stored rows of those keys (an index range scan of the class,
 *		then record equality on the stored key columns) and their new rows:
 *		the defining query restricted to the key in a LATERAL subquery
 *		behind OFFSET 0, so that the restriction is pushed below grouping,
 *		windows and DISTINCT, as one parameterized scan per key.  Keys with
 *		a NULL are restricted with IS NOT DISTINCT FROM semantics in a
 *		branch of their own (not indexable; rare);
 *	v, w, x
 *		matching new rows to stored rows by binary image (record *=, so
 *		that 1.0 replacing 1.00 is a change): within a class, rows are
 *		ranked by image; a stored row is surplus when its image has more
 *		stored copies than new ones, a new row missing when the reverse;
 *	y	surplus and missing rows of a class paired off: a pair is an UPDATE
 *		of the stored row in place (it keeps its identity, as a group whose
 *		aggregate changed does); a surplus row left over is deleted (the
 *		highest identities go first), a missing row left over inserted;
 *	i, c, fr
 *		identities for inserted rows: the smallest free ordinals of their
 *		class (above the highest when the class is dense, which is the
 *		usual case), so that ordinals freed by deletions are reused and a
 *		class's ordinals do not creep upwards refresh after refresh;
 *	f	the actions: by the stored row's ctid (a TID scan, as in
 *		aggregate_apply of codegen.c) for updates and deletions.
 *
 * A key whose recomputed rows equal its stored ones costs its probe and
 * recompute and writes nothing.  UNION ALL of plain blocks has no key: its
 * terms are handed to plain_apply (trickle_recompute_append_terms).
 * ORDER BY ... LIMIT computes its new rows otherwise (topk_apply) and
 * matches them with every stored row the same way (append_matching).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/ruleutils.h"

#include "api/api.h"
#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "refresh/refresh.h"
#include "trickle.h"

static void append_matching(StringInfo buf, const char *target, List *stored);

static const char *
q(const char *name)
{
	return quote_identifier(name);
}

static const char *
type_name(Oid type, int32 typmod)
{
	return trickle_ivm_type_sql(type, typmod, InvalidOid);
}

/* "prefix<fmt i>, ..." for i in [from, to) */
static void
append_range(StringInfo buf, const char *fmt, int from, int to)
{
	int			i;

	for (i = from; i < to; i++)
	{
		if (i > from)
			appendStringInfoString(buf, ", ");
		appendStringInfo(buf, fmt, i);
	}
}

/*
 * cast_to: expr as type (typmod, collation) when its own type differs (set
 * operation branches are coerced to the operation's column types)
 */
static char *
cast_to(const char *expr, Oid from_type, int32 from_typmod, Oid from_coll,
		Oid type, int32 typmod, Oid collation)
{
	char	   *sql = pstrdup(expr);

	if (from_type != type || (typmod >= 0 && from_typmod != typmod))
		sql = psprintf("(%s)::%s", sql, type_name(type, typmod));
	if (OidIsValid(collation) && from_coll != collation)
		sql = psprintf("%s COLLATE %s", sql, generate_collation_name(collation));
	return sql;
}

/* the visible target entries of query */
static List *
visible_targets(Query *query)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, query->targetList)
	{
		if (!((TargetEntry *) lfirst(lc))->resjunk)
			out = lappend(out, lfirst(lc));
	}
	return out;
}

/*
 * append_feeds: the UNION ALL of the delta terms of the scans in mask, each
 * as "SELECT <its columns as prefix<first>, prefix<first+1> ...>,
 * __trickle_w", cast to the stream table's column types for set operation
 * branches.
 */
static void
append_feeds(StringInfo buf, TrickleIvmPlan *plan, uint64 mask, const char *prefix, int first)
{
	TrickleIvmRecompute *rc = plan->recompute;
	bool		setop = rc->kind == TRICKLE_RECOMPUTE_SETOP || rc->kind == TRICKLE_RECOMPUTE_UNION_ALL;
	bool		any = false;
	ListCell   *lc;

	foreach(lc, rc->branches)
	{
		TrickleIvmBranch *branch = lfirst(lc);
		List	   *targets = visible_targets(branch->block->query);
		int			i;

		for (i = 0; i < list_length(branch->block->scans); i++)
		{
			ListCell   *lc2;

			if ((mask & (UINT64CONST(1) << (branch->first_scan + i))) == 0)
				continue;
			appendStringInfo(buf, "%sSELECT ", any ? " UNION ALL " : "");
			foreach(lc2, targets)
			{
				Expr	   *expr = ((TargetEntry *) lfirst(lc2))->expr;
				int			n = foreach_current_index(lc2);
				char	   *col = psprintf("t.__trickle_c%d", n);

				if (setop)
				{
					TrickleColumn *out = list_nth(plan->columns, n);

					col = cast_to(col, exprType((Node *) expr), exprTypmod((Node *) expr),
								  exprCollation((Node *) expr), out->type, out->typmod,
								  out->collation);
				}
				appendStringInfo(buf, "%s AS %s%d, ", col, prefix, first + n);
			}
			appendStringInfo(buf, "t.__trickle_w FROM (%s) t",
							 trickle_delta_term(branch->block, i));
			any = true;
		}
	}
}

/*
 * trickle_recompute_append_terms: the terms of a UNION ALL of plain blocks,
 * as plain_apply reads them (__trickle_c<n>, __trickle_w).
 */
void
trickle_recompute_append_terms(StringInfo buf, TrickleIvmPlan *plan, uint64 mask)
{
	append_feeds(buf, plan, mask, "__trickle_c", 0);
}

/* a: the affected keys */
static void
append_affected(StringInfo sql, TrickleIvmPlan *plan, uint64 mask)
{
	TrickleIvmRecompute *rc = plan->recompute;
	int			nkeys = list_length(plan->keys);
	ListCell   *lc;

	if (rc->kind != TRICKLE_RECOMPUTE_GROUPING_SETS)
	{
		appendStringInfoString(sql, "a AS (SELECT DISTINCT ");
		append_range(sql, "t.__trickle_k%d", 0, nkeys);
		appendStringInfoString(sql, " FROM (");
		append_feeds(sql, plan, mask, "__trickle_k", 0);
		appendStringInfoString(sql, ") t), ");
		return;
	}

	/* once per grouping set, from the terms read once */
	appendStringInfoString(sql, "t AS MATERIALIZED (");
	append_feeds(sql, plan, mask, "__trickle_k", 1);
	appendStringInfoString(sql, "), a AS (");
	foreach(lc, rc->parts)
	{
		TrickleIvmPart *part = lfirst(lc);
		ListCell   *lc2;

		appendStringInfo(sql, "%sSELECT DISTINCT %d AS __trickle_k0",
						 foreach_current_index(lc) ? " UNION ALL " : "", part->set);
		for_each_from(lc2, plan->keys, 1)
		{
			TrickleIvmKey *key = lfirst(lc2);
			int			n = foreach_current_index(lc2);

			if (list_nth(part->exposed, n))
				appendStringInfo(sql, ", t.__trickle_k%d", n);
			else
				appendStringInfo(sql, ", NULL::%s", type_name(exprType((Node *) key->expr),
															  exprTypmod((Node *) key->expr)));
			appendStringInfo(sql, " AS __trickle_k%d", n);
		}
		appendStringInfoString(sql, " FROM t");
	}
	appendStringInfoString(sql, "), ");
}

/*
 * the restriction of the new rows of part to key h: "col = h.key" for each
 * exposed key, with IS NOT DISTINCT FROM semantics when nulls
 */
static void
append_restriction(StringInfo sql, TrickleIvmPlan *plan, TrickleIvmPart *part, bool nulls)
{
	ListCell   *lc;
	bool		any = false;

	foreach(lc, part->exposed)
	{
		const char *col = lfirst(lc);
		int			n = foreach_current_index(lc);
		char	   *op;

		if (col == NULL)
			continue;
		op = trickle_ivm_operator_sql(list_nth_oid(plan->recompute->eqops, n));
		appendStringInfoString(sql, any ? " AND " : "");
		if (nulls)
			appendStringInfo(sql, "(q.%s %s h.__trickle_k%d OR (q.%s IS NULL AND h.__trickle_k%d IS NULL))",
							 q(col), op, n, q(col), n);
		else
			appendStringInfo(sql, "q.%s %s h.__trickle_k%d", q(col), op, n);
		any = true;
	}
	if (!any)
		appendStringInfoString(sql, "true");
}

/* "NOT (h.k IS NULL) AND ..." over the exposed keys of part, or NULL */
static char *
no_nulls(TrickleIvmPart *part)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, part->exposed)
	{
		if (lfirst(lc) == NULL)
			continue;
		appendStringInfo(&buf, "%sNOT (h.__trickle_k%d IS NULL)", buf.len ? " AND " : "",
						 foreach_current_index(lc));
	}
	return buf.len ? buf.data : NULL;
}

/* the value of stored column i (of stored) in a row of part, from q */
static char *
part_value(TrickleIvmPlan *plan, TrickleIvmPart *part, List *stored, int i)
{
	TrickleColumn *col = list_nth(stored, i);
	int			nvisible = list_length(plan->columns);
	ListCell   *lc;

	if (i < nvisible)
		return psprintf("(q.%s)::%s", q(col->name), type_name(col->type, col->typmod));
	foreach(lc, plan->keys)
	{
		TrickleIvmKey *key = lfirst(lc);
		const char *exposed = list_nth(part->exposed, foreach_current_index(lc));

		if (strcmp(key->stored, col->name) != 0)
			continue;
		if (exposed)
			return psprintf("(q.%s)::%s", q(exposed), type_name(col->type, col->typmod));
		if (plan->recompute->kind == TRICKLE_RECOMPUTE_GROUPING_SETS &&
			foreach_current_index(lc) == 0)
			return psprintf("%d", part->set);
		return psprintf("NULL::%s", type_name(col->type, col->typmod));
	}
	elog(ERROR, "no value for stored column %s", col->name);
}

/* "<value of stored column i> AS __trickle_v<i>, ..." of a part's rows q */
static void
append_part_values(StringInfo sql, TrickleIvmPlan *plan, TrickleIvmPart *part, List *stored)
{
	int			i;

	for (i = 0; i < list_length(stored); i++)
		appendStringInfo(sql, "%s%s AS __trickle_v%d", i ? ", " : "",
						 part_value(plan, part, stored, i), i);
}

/* "(q.__trickle_c<i>)::<type> AS __trickle_v<i>, ..." over the stored columns */
static void
append_cast_values(StringInfo sql, List *stored)
{
	ListCell   *lc;

	foreach(lc, stored)
	{
		TrickleColumn *col = lfirst(lc);
		int			i = foreach_current_index(lc);

		appendStringInfo(sql, "%s(q.__trickle_c%d)::%s AS __trickle_v%d", i ? ", " : "",
						 i, type_name(col->type, col->typmod), i);
	}
}

/*
 * append_indexed: SQL true when one of exprs (of query) is a table column
 * that leads a valid index: then a restriction on it is an index scan, read
 * at each refresh from pg_index so that an index created later counts.
 */
static void
append_indexed(StringInfo sql, Query *query, List *exprs)
{
	ListCell   *lc;
	bool		any = false;

	foreach(lc, exprs)
	{
		Node	   *expr = flatten_join_alias_vars(query, (Node *) lfirst(lc));
		Var		   *var = (Var *) expr;
		RangeTblEntry *rte;

		if (!IsA(expr, Var) || var->varlevelsup != 0 || var->varattno <= 0)
			continue;
		rte = rt_fetch(var->varno, query->rtable);
		if (rte->rtekind != RTE_RELATION)
			continue;
		appendStringInfo(sql, "%s('%u'::pg_catalog.oid, '%d'::pg_catalog.int2)",
						 any ? ", " : "EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indisvalid"
						 " AND (i.indrelid, i.indkey[0]) IN (", rte->relid, var->varattno);
		any = true;
	}
	appendStringInfoString(sql, any ? "))" : "false");
}

/*
 * append_lateral_ok: SQL deciding between the two ways of computing new
 * rows.  Per key (a LATERAL subquery restricted to it) is right when the
 * restriction is an index scan (indexed_sql) and the affected keys are few;
 * otherwise, and always when no key column is indexed (each key would scan
 * the tables), the query is run once and joined to the affected keys.
 * "Few": at most a fifth of the stored rows, which is where the per-key
 * executions (an index descent and an executor start each) cost about as
 * much as one pass over everything.
 */
static void
append_lateral_ok(StringInfo sql, const char *target, const char *indexed)
{
	appendStringInfo(sql, "(%s AND (SELECT pg_catalog.count(*) FROM h)::pg_catalog.float8 <="
					 " GREATEST(100, (SELECT c.reltuples FROM pg_catalog.pg_class c"
					 " WHERE c.oid = %s::pg_catalog.regclass)::pg_catalog.float8 / 5))",
					 indexed, quote_literal_cstr(target));
}

/*
 * the new rows of one part (KEYED, GROUPING_SETS), for the keys of h, each
 * branch after " UNION ALL ", with the class and two NULLs (the stored
 * row's identity and address) first when with_ids
 */
static void
append_part_rows(StringInfo sql, TrickleIvmPlan *plan, TrickleIvmPart *part, List *stored,
				 const char *target, bool with_ids)
{
	char	   *rows = trickle_query_deparse(part->rows);
	char	   *plain = no_nulls(part);
	Query	   *block = ((TrickleIvmBranch *) linitial(plan->recompute->branches))->block->query;
	List	   *members = NIL;
	StringInfoData ok;
	ListCell   *lc;
	int			variant;
	int			i;

	/* a part without key (the grouping set ()) is computed once anyway */
	initStringInfo(&ok);
	foreach(lc, part->exposed)
	{
		if (lfirst(lc))
			members = lappend(members, ((TrickleIvmKey *) list_nth(plan->keys,
																	foreach_current_index(lc)))->expr);
	}
	if (members)
	{
		StringInfoData indexed;

		initStringInfo(&indexed);
		append_indexed(&indexed, block, members);
		append_lateral_ok(&ok, target, indexed.data);
	}
	else
		appendStringInfoString(&ok, "true");

	/* once per key */
	for (variant = 0; variant < (plain ? 2 : 1); variant++)
	{
		appendStringInfo(sql, " UNION ALL SELECT %sr.* FROM h CROSS JOIN LATERAL (SELECT ",
						 with_ids ? "h.__trickle_lo, NULL::pg_catalog.int8, NULL::pg_catalog.tid, " : "");
		append_part_values(sql, plan, part, stored);
		appendStringInfo(sql, " FROM (%s) q WHERE ", rows);
		append_restriction(sql, plan, part, variant == 1);
		appendStringInfo(sql, " OFFSET 0) r WHERE %s", ok.data);
		if (part->set >= 0)
			appendStringInfo(sql, " AND h.__trickle_k0 = %d", part->set);
		if (plain)
			appendStringInfo(sql, variant == 0 ? " AND %s" : " AND NOT (%s)", plain);
	}
	if (members == NIL)
		return;

	/* once, joined to the keys (record equality: NULL keys match) */
	appendStringInfo(sql, " UNION ALL SELECT %s",
					 with_ids ? "h.__trickle_lo, NULL::pg_catalog.int8, NULL::pg_catalog.tid, " : "");
	append_part_values(sql, plan, part, stored);
	appendStringInfo(sql, " FROM (%s) q JOIN h ON ROW(", rows);
	i = 0;
	foreach(lc, part->exposed)
	{
		if (lfirst(lc))
			appendStringInfo(sql, "%sq.%s", i++ ? ", " : "", q(lfirst(lc)));
	}
	appendStringInfoString(sql, ")::pg_catalog.record OPERATOR(pg_catalog.=) ROW(");
	i = 0;
	foreach(lc, part->exposed)
	{
		if (lfirst(lc))
			appendStringInfo(sql, "%sh.__trickle_k%d", i++ ? ", " : "", foreach_current_index(lc));
	}
	appendStringInfoString(sql, ")::pg_catalog.record");
	if (part->set >= 0)
		appendStringInfo(sql, " AND h.__trickle_k0 = %d", part->set);
	appendStringInfo(sql, " WHERE NOT %s", ok.data);
}

/*
 * the set operation below node with every branch restricted to the row of
 * h (IS NOT DISTINCT FROM semantics when nulls)
 */
static void
append_setop_rows(StringInfo sql, TrickleIvmPlan *plan, Node *node, bool nulls, int *leaf)
{
	if (IsA(node, RangeTblRef))
	{
		TrickleIvmBranch *branch = list_nth(plan->recompute->branches, (*leaf)++);
		Query	   *query = branch->block->query;
		List	   *targets = visible_targets(query);
		ListCell   *lc;

		appendStringInfoString(sql, "(SELECT ");
		foreach(lc, targets)
		{
			Expr	   *expr = ((TargetEntry *) lfirst(lc))->expr;
			TrickleColumn *out = list_nth(plan->columns, foreach_current_index(lc));

			appendStringInfo(sql, "%s%s AS __trickle_c%d", foreach_current_index(lc) ? ", " : "",
							 cast_to(psprintf("l.__trickle_c%d", foreach_current_index(lc)),
									 exprType((Node *) expr), exprTypmod((Node *) expr),
									 exprCollation((Node *) expr), out->type, out->typmod,
									 out->collation),
							 foreach_current_index(lc));
		}
		appendStringInfo(sql, " FROM (%s) l(", trickle_query_deparse(query));
		append_range(sql, "__trickle_c%d", 0, list_length(targets));
		appendStringInfoString(sql, ") WHERE ");
		foreach(lc, targets)
		{
			Expr	   *expr = ((TargetEntry *) lfirst(lc))->expr;
			int			n = foreach_current_index(lc);
			TrickleColumn *out = list_nth(plan->columns, n);
			char	   *col = cast_to(psprintf("l.__trickle_c%d", n), exprType((Node *) expr),
									  exprTypmod((Node *) expr), exprCollation((Node *) expr),
									  out->type, out->typmod, out->collation);
			char	   *op = trickle_ivm_operator_sql(list_nth_oid(plan->recompute->eqops, n));

			appendStringInfoString(sql, n ? " AND " : "");
			if (nulls)
				appendStringInfo(sql, "(%s %s h.__trickle_k%d OR (%s IS NULL AND h.__trickle_k%d IS NULL))",
								 col, op, n, col, n);
			else
				appendStringInfo(sql, "%s %s h.__trickle_k%d", col, op, n);
		}
		appendStringInfoChar(sql, ')');
	}
	else
	{
		SetOperationStmt *op = castNode(SetOperationStmt, node);

		appendStringInfoChar(sql, '(');
		append_setop_rows(sql, plan, op->larg, nulls, leaf);
		appendStringInfo(sql, " %s%s ",
						 op->op == SETOP_UNION ? "UNION" : op->op == SETOP_INTERSECT ?
						 "INTERSECT" : "EXCEPT", op->all ? " ALL" : "");
		append_setop_rows(sql, plan, op->rarg, nulls, leaf);
		appendStringInfoChar(sql, ')');
	}
}

/* the new copies of the rows of h, for a set operation */
static void
append_setop_new(StringInfo sql, TrickleIvmPlan *plan, List *stored, const char *target)
{
	int			nkeys = list_length(plan->keys);
	StringInfoData indexed;
	StringInfoData ok;
	ListCell   *lc;
	int			variant;
	int			i;

	/* per row only when every branch has an indexed column */
	initStringInfo(&indexed);
	foreach(lc, plan->recompute->branches)
	{
		Query	   *leaf = ((TrickleIvmBranch *) lfirst(lc))->block->query;
		List	   *exprs = NIL;
		ListCell   *lc2;

		foreach(lc2, visible_targets(leaf))
			exprs = lappend(exprs, ((TargetEntry *) lfirst(lc2))->expr);
		appendStringInfoString(&indexed, foreach_current_index(lc) ? " AND " : "(");
		append_indexed(&indexed, leaf, exprs);
	}
	appendStringInfoChar(&indexed, ')');
	initStringInfo(&ok);
	append_lateral_ok(&ok, target, indexed.data);

	for (variant = 0; variant < 2; variant++)
	{
		int			leaf = 0;

		appendStringInfoString(sql, " UNION ALL SELECT h.__trickle_lo, NULL::pg_catalog.int8,"
							   " NULL::pg_catalog.tid, r.* FROM h CROSS JOIN LATERAL (SELECT ");
		append_cast_values(sql, stored);
		appendStringInfoString(sql, " FROM ");
		append_setop_rows(sql, plan, plan->query->setOperations, variant == 1, &leaf);
		appendStringInfo(sql, " q OFFSET 0) r WHERE %s AND ", ok.data);
		appendStringInfoString(sql, variant == 0 ? "" : "NOT (");
		for (i = 0; i < nkeys; i++)
			appendStringInfo(sql, "%sNOT (h.__trickle_k%d IS NULL)", i ? " AND " : "", i);
		appendStringInfoString(sql, variant == 0 ? "" : ")");
	}

	/* once, joined to the rows of h */
	appendStringInfoString(sql, " UNION ALL SELECT h.__trickle_lo, NULL::pg_catalog.int8,"
						   " NULL::pg_catalog.tid, ");
	append_cast_values(sql, stored);
	appendStringInfo(sql, " FROM (%s) q(", trickle_query_deparse(plan->query));
	append_range(sql, "__trickle_c%d", 0, nkeys);
	appendStringInfoString(sql, ") JOIN h ON ROW(");
	append_range(sql, "q.__trickle_c%d", 0, nkeys);
	appendStringInfoString(sql, ")::pg_catalog.record OPERATOR(pg_catalog.=) ROW(");
	append_range(sql, "h.__trickle_k%d", 0, nkeys);
	appendStringInfo(sql, ")::pg_catalog.record WHERE NOT %s", ok.data);
}

/* "o.rid BETWEEN lo AND lo + mask" */
static void
append_class_range(StringInfo sql, const char *lo)
{
	appendStringInfo(sql, "o.%s BETWEEN %s AND %s + " INT64_FORMAT,
					 TRICKLE_ROW_ID, lo, lo, TRICKLE_CLASS_MASK);
}

/* "alias.__trickle_v<c> USING OPERATOR(op) NULLS ..." for the ORDER BY */
static void
append_sort(StringInfo sql, TrickleIvmPlan *plan, const char *alias)
{
	ListCell   *lc;

	foreach(lc, plan->recompute->sort)
	{
		SortGroupClause *sgc = lfirst(lc);

		appendStringInfo(sql, "%s%s.__trickle_v%d USING %s NULLS %s",
						 foreach_current_index(lc) ? ", " : "", alias,
						 list_nth_int(plan->recompute->sortcols, foreach_current_index(lc)),
						 trickle_ivm_operator_sql(sgc->sortop), sgc->nulls_first ? "FIRST" : "LAST");
	}
}

/* the position in stored of the stored column name */
static int
stored_index(List *stored, const char *name)
{
	ListCell   *lc;

	foreach(lc, stored)
	{
		if (strcmp(((TrickleColumn *) lfirst(lc))->name, name) == 0)
			return foreach_current_index(lc);
	}
	elog(ERROR, "no stored column %s", name);
}

/* "ROW(alias.__trickle_v<i>, ...)" over the stored key columns */
static void
append_stored_key_row(StringInfo sql, TrickleIvmPlan *plan, List *stored, const char *alias)
{
	ListCell   *lc;

	appendStringInfoString(sql, "ROW(");
	foreach(lc, plan->keys)
		appendStringInfo(sql, "%s%s.__trickle_v%d", foreach_current_index(lc) ? ", " : "", alias,
						 stored_index(stored, ((TrickleIvmKey *) lfirst(lc))->stored));
	appendStringInfoChar(sql, ')');
}

/*
 * topk_apply: ORDER BY ... LIMIT k (see analyze_topk in recompute.c).  The
 * candidates (cand) are the stored rows the changes leave alone (o, not hit) and
 * the changed rows: the new rows of the affected keys of a keyed query, or
 * the rows a plain block gained.  Every other row of the query sorts after
 * the last stored row (wst), so when fewer than k rows were stored or k
 * candidates sort before or with wst, the first k candidates are the
 * result (ok); otherwise the whole query is run.  The result is then
 * matched with every stored row, as for any keyed recompute.
 */
static char *
topk_apply(TrickleIvmPlan *plan, const char *target, List *stored, uint64 mask)
{
	TrickleIvmRecompute *rc = plan->recompute;
	bool		keyed = rc->parts != NIL;
	int			nvisible = list_length(plan->columns);
	int			m = list_length(stored);
	StringInfoData sql;
	ListCell   *lc;
	int			i;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "WITH ");
	if (keyed)
	{
		append_affected(&sql, plan, mask);
		appendStringInfoString(&sql, "h AS (SELECT a.* FROM a), ");
	}
	else
	{
		/* the block's changes, consolidated by row as plain_apply has them */
		appendStringInfoString(&sql, "d AS (SELECT ");
		append_range(&sql, "t.__trickle_c%d", 0, nvisible);
		appendStringInfoString(&sql, ", pg_catalog.sum(t.__trickle_w) AS __trickle_w FROM (");
		append_feeds(&sql, plan, mask, "__trickle_c", 0);
		appendStringInfoString(&sql, ") t GROUP BY ");
		append_range(&sql, "t.__trickle_c%d", 0, nvisible);
		appendStringInfoString(&sql, " HAVING pg_catalog.sum(t.__trickle_w) <> 0), ");
	}

	/* o: every stored row, and whether the changes touch it */
	appendStringInfo(&sql, "o0 AS (SELECT o.%s AS __trickle_rid, o.ctid AS __trickle_octid,"
					 " trickle._row_id_class(o.%s, 0) AS __trickle_lo", TRICKLE_ROW_ID, TRICKLE_ROW_ID);
	foreach(lc, stored)
		appendStringInfo(&sql, ", o.%s AS __trickle_v%d", q(((TrickleColumn *) lfirst(lc))->name),
						 foreach_current_index(lc));
	if (!keyed)
	{
		/* copies of one row are numbered, the highest identity first */
		appendStringInfoString(&sql, ", pg_catalog.row_number() OVER (PARTITION BY ");
		foreach(lc, stored)
			appendStringInfo(&sql, "%so.%s", foreach_current_index(lc) ? ", " : "",
							 q(((TrickleColumn *) lfirst(lc))->name));
		appendStringInfo(&sql, " ORDER BY o.%s DESC) AS __trickle_copy", TRICKLE_ROW_ID);
	}
	appendStringInfo(&sql, " FROM ONLY %s o), o AS (SELECT o0.*, EXISTS (SELECT FROM ", target);
	if (keyed)
	{
		appendStringInfoString(&sql, "h WHERE ");
		append_stored_key_row(&sql, plan, stored, "o0");
		appendStringInfoString(&sql, "::pg_catalog.record OPERATOR(pg_catalog.=) ROW(");
		append_range(&sql, "h.__trickle_k%d", 0, list_length(plan->keys));
		appendStringInfoString(&sql, ")::pg_catalog.record");
	}
	else
	{
		appendStringInfoString(&sql, "d WHERE d.__trickle_w < 0 AND - d.__trickle_w >= o0.__trickle_copy"
							   " AND ROW(");
		append_range(&sql, "d.__trickle_c%d", 0, nvisible);
		appendStringInfoString(&sql, ")::pg_catalog.record OPERATOR(pg_catalog.=) ROW(");
		append_range(&sql, "o0.__trickle_v%d", 0, nvisible);
		appendStringInfoString(&sql, ")::pg_catalog.record");
	}
	appendStringInfoString(&sql, ") AS __trickle_hit FROM o0), ");

	/* cand: the candidates */
	appendStringInfoString(&sql, "cand AS (SELECT ");
	append_range(&sql, "o.__trickle_v%d", 0, m);
	appendStringInfoString(&sql, " FROM o WHERE NOT o.__trickle_hit");
	if (keyed)
		append_part_rows(&sql, plan, linitial(rc->parts), stored, target, false);
	else
	{
		appendStringInfoString(&sql, " UNION ALL SELECT ");
		foreach(lc, stored)
		{
			TrickleColumn *col = lfirst(lc);

			appendStringInfo(&sql, "%s(d.__trickle_c%d)::%s", foreach_current_index(lc) ? ", " : "",
							 foreach_current_index(lc), type_name(col->type, col->typmod));
		}
		appendStringInfoString(&sql, " FROM d CROSS JOIN LATERAL pg_catalog.generate_series(1, d.__trickle_w)"
							   " WHERE d.__trickle_w > 0");
	}
	appendStringInfoString(&sql, "), ");

	/* wst: the last stored row; ok: whether the candidates decide */
	appendStringInfoString(&sql, "wst AS (SELECT ");
	append_range(&sql, "x.__trickle_v%d", 0, m);
	appendStringInfoString(&sql, " FROM (SELECT o.*, pg_catalog.row_number() OVER (ORDER BY ");
	append_sort(&sql, plan, "o");
	appendStringInfoString(&sql, ") AS __trickle_r FROM o) x ORDER BY x.__trickle_r DESC LIMIT 1), "
						   "z AS (SELECT s.__trickle_isw, pg_catalog.rank() OVER (ORDER BY ");
	append_sort(&sql, plan, "s");
	appendStringInfo(&sql, ") AS __trickle_r FROM (SELECT cand.*, false AS __trickle_isw FROM cand UNION ALL"
					 " SELECT wst.*, true FROM wst) s), "
					 "ok AS (SELECT (SELECT pg_catalog.count(*) FROM o) < " INT64_FORMAT
					 " OR (SELECT pg_catalog.count(*) FROM z WHERE NOT z.__trickle_isw AND z.__trickle_r <="
					 " (SELECT pg_catalog.max(y.__trickle_r) FROM z y WHERE y.__trickle_isw)) >= " INT64_FORMAT
					 " AS __trickle_ok), ", rc->limit, rc->limit);

	/* n: the first k candidates, or the whole query */
	appendStringInfoString(&sql, "n AS (SELECT x.* FROM (SELECT cand.* FROM cand ORDER BY ");
	append_sort(&sql, plan, "cand");
	appendStringInfo(&sql, " LIMIT " INT64_FORMAT ") x WHERE (SELECT ok.__trickle_ok FROM ok)"
					 " UNION ALL SELECT ", rc->limit);
	for (i = 0; i < m; i++)
	{
		TrickleColumn *col = list_nth(stored, i);

		appendStringInfo(&sql, "%s%s", i ? ", " : "", keyed ? part_value(plan, rc->top, stored, i) :
						 psprintf("(q.%s)::%s", q(col->name), type_name(col->type, col->typmod)));
	}
	appendStringInfo(&sql, " FROM (%s) q WHERE NOT (SELECT ok.__trickle_ok FROM ok)), ",
					 trickle_query_deparse(keyed ? rc->top->rows : plan->query));

	/* u: stored rows and the new ones, each in the class of its key */
	appendStringInfoString(&sql, "u AS (SELECT o.__trickle_lo, o.__trickle_rid, o.__trickle_octid, ");
	append_range(&sql, "o.__trickle_v%d", 0, m);
	appendStringInfoString(&sql, " FROM o UNION ALL SELECT trickle._row_id_class(trickle._row_hash(");
	append_stored_key_row(&sql, plan, stored, "n");
	appendStringInfoString(&sql, "), 0), NULL::pg_catalog.int8, NULL::pg_catalog.tid, n.* FROM n), ");
	append_matching(&sql, target, stored);
	return sql.data;
}

/*
 * trickle_recompute_apply: the MERGE applying the changes of the scans in
 * mask to a keyed recompute stream table target (see the file comment).
 */
char *
trickle_recompute_apply(TrickleIvmPlan *plan, const char *target, List *columns, uint64 mask)
{
	TrickleIvmRecompute *rc = plan->recompute;
	List	   *stored = list_concat_copy(columns, plan->hidden);
	int			nkeys = list_length(plan->keys);
	StringInfoData sql;
	ListCell   *lc;

	Assert(rc->kind != TRICKLE_RECOMPUTE_UNION_ALL);
	if (rc->kind == TRICKLE_RECOMPUTE_TOPK)
		return topk_apply(plan, target, stored, mask);
	initStringInfo(&sql);
	appendStringInfoString(&sql, "WITH ");
	append_affected(&sql, plan, mask);

	appendStringInfoString(&sql, "h AS (SELECT a.*, trickle._row_id_class(trickle._row_hash(ROW(");
	append_range(&sql, "a.__trickle_k%d", 0, nkeys);
	appendStringInfoString(&sql, ")), 0) AS __trickle_lo FROM a), ");

	/* u: stored rows of the keys, then their new rows */
	appendStringInfo(&sql, "u AS (SELECT h.__trickle_lo, x.* FROM h CROSS JOIN LATERAL"
					 " (SELECT o.%s AS __trickle_rid, o.ctid AS __trickle_octid", TRICKLE_ROW_ID);
	foreach(lc, stored)
		appendStringInfo(&sql, ", o.%s AS __trickle_v%d", q(((TrickleColumn *) lfirst(lc))->name),
						 foreach_current_index(lc));
	appendStringInfo(&sql, " FROM ONLY %s o WHERE ", target);
	append_class_range(&sql, "h.__trickle_lo");
	appendStringInfoString(&sql, " AND ROW(");
	foreach(lc, plan->keys)
		appendStringInfo(&sql, "%so.%s", foreach_current_index(lc) ? ", " : "",
						 q(((TrickleIvmKey *) lfirst(lc))->stored));
	appendStringInfoString(&sql, ")::pg_catalog.record OPERATOR(pg_catalog.=) ROW(");
	append_range(&sql, "h.__trickle_k%d", 0, nkeys);
	/* OFFSET 0: an index range scan per key, never a join over the whole table */
	appendStringInfoString(&sql, ")::pg_catalog.record OFFSET 0) x");
	if (rc->kind == TRICKLE_RECOMPUTE_SETOP)
		append_setop_new(&sql, plan, stored, target);
	else
	{
		foreach(lc, rc->parts)
			append_part_rows(&sql, plan, lfirst(lc), stored, target, true);
	}
	appendStringInfoString(&sql, "), ");
	append_matching(&sql, target, stored);
	return sql.data;
}

/*
 * append_matching: the rest of the statement after "WITH ..., u AS (...), ":
 * u holds stored rows (__trickle_lo, __trickle_rid, __trickle_octid, then
 * the stored columns as __trickle_v<n>) and new rows (NULL identity and
 * address) of the same classes; the MERGE makes the stored rows of those
 * classes the new ones.
 */
static void
append_matching(StringInfo buf, const char *target, List *stored)
{
	StringInfoData sql;
	int			m = list_length(stored);
	ListCell   *lc;
	int			i;

	initStringInfo(&sql);

	/* v, w, x: surplus stored rows and missing new rows, by image */
	appendStringInfoString(&sql, "v AS (SELECT u.*, pg_catalog.rank() OVER (PARTITION BY u.__trickle_lo"
						   " ORDER BY ROW(");
	append_range(&sql, "u.__trickle_v%d", 0, m);
	appendStringInfoString(&sql, ") USING OPERATOR(pg_catalog.*<)) AS __trickle_img FROM u), "
						   "w AS (SELECT v.*, pg_catalog.row_number() OVER (PARTITION BY v.__trickle_lo,"
						   " v.__trickle_img, v.__trickle_rid IS NULL ORDER BY v.__trickle_rid) AS __trickle_nth,"
						   " pg_catalog.count(v.__trickle_rid) OVER (PARTITION BY v.__trickle_lo, v.__trickle_img)"
						   " AS __trickle_ns, pg_catalog.count(*) OVER (PARTITION BY v.__trickle_lo,"
						   " v.__trickle_img) AS __trickle_nall FROM v), "
						   "x AS (SELECT w.*, pg_catalog.row_number() OVER (PARTITION BY w.__trickle_lo,"
						   " w.__trickle_rid IS NULL ORDER BY w.__trickle_rid, w.__trickle_img) AS __trickle_pair"
						   " FROM w WHERE CASE WHEN w.__trickle_rid IS NULL THEN w.__trickle_nth > w.__trickle_ns"
						   " ELSE w.__trickle_nth > w.__trickle_nall - w.__trickle_ns END), ");

	/* y: pairs become updates; the rest deletions and insertions */
	appendStringInfoString(&sql, "y AS (SELECT COALESCE(s.__trickle_lo, n.__trickle_lo) AS __trickle_lo,"
						   " s.__trickle_rid, s.__trickle_octid, n.__trickle_pair AS __trickle_npair,"
						   " n.__trickle_lo IS NULL AS __trickle_del");
	for (i = 0; i < m; i++)
		appendStringInfo(&sql, ", n.__trickle_v%d", i);
	appendStringInfoString(&sql, " FROM (SELECT * FROM x WHERE x.__trickle_rid IS NOT NULL) s"
						   " FULL JOIN (SELECT * FROM x WHERE x.__trickle_rid IS NULL) n"
						   " ON n.__trickle_lo = s.__trickle_lo AND n.__trickle_pair = s.__trickle_pair), ");

	/* i, c, fr: the smallest free ordinals of the classes receiving rows */
	appendStringInfoString(&sql, "i AS (SELECT y.*, pg_catalog.row_number() OVER (PARTITION BY y.__trickle_lo"
						   " ORDER BY y.__trickle_npair) AS __trickle_i FROM y WHERE y.__trickle_rid IS NULL), "
						   "c AS (SELECT i.__trickle_lo, pg_catalog.count(*) AS __trickle_m FROM i"
						   " GROUP BY i.__trickle_lo), "
						   "fr AS (SELECT c.__trickle_lo, g.__trickle_ord, pg_catalog.row_number() OVER"
						   " (PARTITION BY c.__trickle_lo ORDER BY g.__trickle_ord) AS __trickle_i"
						   " FROM c CROSS JOIN LATERAL (SELECT s.n AS __trickle_ord FROM"
						   " (SELECT pg_catalog.count(*) AS n, COALESCE(pg_catalog.max(o.");
	appendStringInfo(&sql, "%s) - c.__trickle_lo, 0) AS mx FROM ONLY %s o WHERE ", TRICKLE_ROW_ID, target);
	append_class_range(&sql, "c.__trickle_lo");
	appendStringInfo(&sql, ") st CROSS JOIN LATERAL pg_catalog.generate_series(CASE WHEN st.mx = st.n"
					 " THEN st.n + 1 ELSE 1 END, st.n + c.__trickle_m) s(n) WHERE NOT EXISTS"
					 " (SELECT FROM ONLY %s o WHERE o.%s = c.__trickle_lo + s.n) ORDER BY s.n"
					 " LIMIT c.__trickle_m) g), ", target, TRICKLE_ROW_ID);

	/* f: what to do with each row */
	appendStringInfoString(&sql, "f AS (SELECT y.__trickle_octid, y.__trickle_rid, y.__trickle_del");
	for (i = 0; i < m; i++)
		appendStringInfo(&sql, ", y.__trickle_v%d", i);
	appendStringInfoString(&sql, " FROM y WHERE y.__trickle_rid IS NOT NULL UNION ALL"
						   " SELECT NULL::pg_catalog.tid, trickle._row_id_class(i.__trickle_lo,"
						   " fr.__trickle_ord), false");
	for (i = 0; i < m; i++)
		appendStringInfo(&sql, ", i.__trickle_v%d", i);
	appendStringInfoString(&sql, " FROM i JOIN fr ON fr.__trickle_lo = i.__trickle_lo"
						   " AND fr.__trickle_i = i.__trickle_i) ");

	/* the MERGE, by the address of each stored row (see aggregate_apply) */
	appendStringInfo(&sql, "MERGE INTO ONLY %s o USING f ON o.ctid = f.__trickle_octid"
					 " WHEN MATCHED AND f.__trickle_del AND trickle._tally(%d) THEN DELETE"
					 " WHEN MATCHED AND trickle._tally(%d) THEN UPDATE SET ",
					 target, TRICKLE_TALLY_DELETED, TRICKLE_TALLY_UPDATED);
	foreach(lc, stored)
		appendStringInfo(&sql, "%s%s = f.__trickle_v%d", foreach_current_index(lc) ? ", " : "",
						 q(((TrickleColumn *) lfirst(lc))->name), foreach_current_index(lc));
	appendStringInfo(&sql, " WHEN NOT MATCHED AND trickle._tally(%d) THEN INSERT (",
					 TRICKLE_TALLY_INSERTED);
	foreach(lc, stored)
		appendStringInfo(&sql, "%s, ", q(((TrickleColumn *) lfirst(lc))->name));
	appendStringInfo(&sql, "%s) VALUES (", TRICKLE_ROW_ID);
	append_range(&sql, "f.__trickle_v%d", 0, m);
	appendStringInfoString(&sql, ", f.__trickle_rid)");
	appendBinaryStringInfo(buf, sql.data, sql.len);
}

/*
 * trickle_recompute_state: SQL computing every stored column of a recompute
 * stream table from the sources, for FULL and REINITIALIZE.
 */
char *
trickle_recompute_state(TrickleIvmPlan *plan, List *columns)
{
	TrickleIvmRecompute *rc = plan->recompute;
	List	   *stored = list_concat_copy(columns, plan->hidden);
	StringInfoData sql;
	ListCell   *lc;
	int			i;

	initStringInfo(&sql);
	if (rc->kind == TRICKLE_RECOMPUTE_TOPK && rc->top)
	{
		appendStringInfoString(&sql, "SELECT ");
		for (i = 0; i < list_length(stored); i++)
			appendStringInfo(&sql, "%s%s AS %s", i ? ", " : "", part_value(plan, rc->top, stored, i),
							 q(((TrickleColumn *) list_nth(stored, i))->name));
		appendStringInfo(&sql, " FROM (%s) q", trickle_query_deparse(rc->top->rows));
		return sql.data;
	}
	if (rc->kind != TRICKLE_RECOMPUTE_KEYED && rc->kind != TRICKLE_RECOMPUTE_GROUPING_SETS)
	{
		appendStringInfoString(&sql, "SELECT ");
		foreach(lc, columns)
			appendStringInfo(&sql, "%sq.%s", foreach_current_index(lc) ? ", " : "",
							 q(((TrickleColumn *) lfirst(lc))->name));
		appendStringInfo(&sql, " FROM (%s) q", trickle_query_deparse(plan->query));
		return sql.data;
	}
	foreach(lc, rc->parts)
	{
		TrickleIvmPart *part = lfirst(lc);

		appendStringInfo(&sql, "%sSELECT ", foreach_current_index(lc) ? " UNION ALL " : "");
		for (i = 0; i < list_length(stored); i++)
			appendStringInfo(&sql, "%s%s AS %s", i ? ", " : "", part_value(plan, part, stored, i),
							 q(((TrickleColumn *) list_nth(stored, i))->name));
		appendStringInfo(&sql, " FROM (%s) q", trickle_query_deparse(part->rows));
	}
	return sql.data;
}
