/*-------------------------------------------------------------------------
 *
 * delta.c
 *	  The delta of a select-project-join block, as SQL.
 *
 * With R_i the i-th relation occurrence of the FROM clause, R_i' its state
 * now (at the refresh's snapshot S), R_i its state as of the frontier F, and
 * dR_i its changes in between (R_i' = R_i + dR_i, as Z-sets), the change of
 * the join is the telescoping sum
 *
 *	d(R_1 x ... x R_n) = sum over i of  R_1' x .. x R_(i-1)' x dR_i x R_(i+1) x .. x R_n
 *
 * and filters and projections apply to each term unchanged.  Term i is the
 * defining query itself, with the range table entry of R_i replaced by a
 * subquery over the source's change buffer, and those of R_(i+1) .. R_n by
 * the old state, written as R' + (-dR): the current rows with weight +1 and
 * the changes with their weights negated.  Each row's weight is the product
 * of its inputs' weights.  Working on the analysed Query keeps every
 * expression, join condition and name exactly as the user wrote it; the
 * result is deparsed like a view.
 *
 * A replacement subquery has one output column per attribute of the table,
 * at the same position, so that the query's Vars keep pointing at the same
 * columns: columns the stream table does not read are NULLs of the right
 * type, dropped columns NULL integers.  The weight column comes last.
 *
 * The changes read are exactly the buffer rows that the refresh's snapshot
 * sees (it reads the buffer) and that were not consumed at the frontier
 * (src/refresh/orchestrator.c): an index range on __xid from the frontier's
 * xmin to the snapshot's xmax, less what the frontier snapshot saw.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/typcache.h"

#include "api/api.h"
#include "cdc/cdc.h"
#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "trickle.h"

const Oid	trickle_delta_param_types[TRICKLE_DELTA_NPARAMS] = {
	XID8OID, XID8OID, XID8OID, INT8OID, PG_SNAPSHOTOID, XID8OID
};

/*
 * trickle_delta_changes_sql: "buffer alias WHERE ..." selecting the buffer
 * rows (changes and markers) a refresh reads.
 *
 * A row is unread unless the frontier saw it: its transaction was visible
 * in the frontier snapshot, or it is one of the changes the frontier's own
 * transaction had made by then.  Deciding that costs a function call and a
 * search of the snapshot per row, and nearly every row read was written
 * after the frontier, so $6 (the caller's proof that every xid from $6 on is
 * unread: at least the frontier's xmax, above the frontier's own
 * transaction) settles those rows with one comparison first.
 */
char *
trickle_delta_changes_sql(Oid relid, const char *alias)
{
	return psprintf("%s %s WHERE %s.__xid >= $1 AND %s.__xid < $2"
					" AND (%s.__xid >= $6 OR NOT CASE WHEN %s.__xid = $3 THEN %s.__ord <= $4"
					" ELSE pg_catalog.pg_visible_in_snapshot(%s.__xid, $5) END)",
					trickle_buffer_name(relid), alias, alias, alias,
					alias, alias, alias, alias);
}

static List *
source_attnums(TrickleIvmPlan *plan, Oid relid)
{
	ListCell   *lc;

	foreach(lc, plan->sources)
	{
		TrickleIvmSource *src = lfirst(lc);

		if (src->relid == relid)
			return src->attnums;
	}
	return NIL;
}

static char *
column_name(Form_pg_attribute att)
{
	return att->attisdropped ? psprintf("__trickle_dropped_%d", att->attnum) :
		pstrdup(NameStr(att->attname));
}

/*
 * append_scan_columns: the table's columns in attribute order, read from
 * alias (a buffer when from_buffer), NULL where the stream table does not
 * read them, then the weight expression.
 */
static void
append_scan_columns(StringInfo sql, Relation rel, List *attnums, const char *alias,
					bool from_buffer, const char *weight)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	appendStringInfoString(sql, "SELECT ");
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = quote_identifier(column_name(att));

		if (att->attisdropped)
			appendStringInfo(sql, "NULL::pg_catalog.int4 AS %s, ", name);
		else if (!list_member_int(attnums, att->attnum))
		{
			appendStringInfo(sql, "NULL::%s",
							 format_type_extended(att->atttypid, att->atttypmod,
												  FORMAT_TYPE_TYPEMOD_GIVEN |
												  FORMAT_TYPE_FORCE_QUALIFY));
			if (OidIsValid(att->attcollation))
				appendStringInfo(sql, " COLLATE %s", generate_collation_name(att->attcollation));
			appendStringInfo(sql, " AS %s, ", name);
		}
		else if (from_buffer)
			appendStringInfo(sql, "%s.%s AS %s, ", alias,
							 trickle_buffer_column(att->attnum), name);
		else
			appendStringInfo(sql, "%s.%s AS %s, ", alias, name, name);
	}
	appendStringInfo(sql, "%s AS __trickle_w", weight);
}

/*
 * buffer_columns: the columns of source relid's change buffer ("a<attnum>"),
 * or NIL when one of them cannot be grouped by (no equality with a hash or
 * an order, as json).  They are every column some consumer of the source
 * reads: the plan at hand may read fewer (a keyed recompute's block reads
 * only its keys), and a change that cancels on its columns alone may still
 * matter to the rest of the query.
 */
static List *
buffer_columns(Oid relid)
{
	Relation	buf = table_open(trickle_buffer_relid(relid), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(buf);
	List	   *columns = NIL;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		TypeCacheEntry *tc;

		if (att->attisdropped || NameStr(att->attname)[0] != 'a')
			continue;
		tc = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR |
							   TYPECACHE_HASH_PROC | TYPECACHE_CMP_PROC);
		if (!OidIsValid(tc->eq_opr) || (!OidIsValid(tc->hash_proc) && !OidIsValid(tc->cmp_proc)))
		{
			columns = NIL;
			break;
		}
		columns = lappend(columns, pstrdup(NameStr(att->attname)));
	}
	table_close(buf, AccessShareLock);
	return columns;
}

/*
 * the SQL replacing scan relid: its changes, or its state at the frontier.
 * A partitioned or inheritance source's buffer holds the changes of its
 * whole tree, in its own column numbering; its current state is read with
 * the tree unless the query said ONLY.
 */
static char *
scan_sql(TrickleIvmPlan *plan, Oid relid, bool inh, bool old_state)
{
	Relation	rel = table_open(relid, AccessShareLock);
	List	   *attnums = source_attnums(plan, relid);
	List	   *grouped;
	StringInfoData sql;

	initStringInfo(&sql);
	if (old_state)
	{
		append_scan_columns(&sql, rel, attnums, "s", false, "1");
		appendStringInfo(&sql, " FROM %s%s s UNION ALL ", inh ? "" : "ONLY ",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													RelationGetRelationName(rel)));
	}
	if (list_length(plan->scans) > 1 && !plan->keys_only &&
		(grouped = buffer_columns(relid)) != NIL)
	{
		ListCell   *lc;

		/*
		 * In a join, each change row is multiplied by its matches in the
		 * other sources, so changes that cancel on the columns read (an
		 * UPDATE of a column the query does not read is a -1/+1 pair of
		 * equal rows, as every pgbench transaction makes of its branch
		 * row) are summed away first: the same Z-set, fewer rows to join.
		 */
		TupleDesc	desc = RelationGetDescr(rel);
		int			i;

		/*
		 * What is left is expanded back into rows of weight 1 or -1: the
		 * aggregate path adds each row's argument once, whatever its weight.
		 */
		appendStringInfoString(&sql, "SELECT ");
		for (i = 0; i < desc->natts; i++)
			appendStringInfo(&sql, "g.%s, ",
							 quote_identifier(column_name(TupleDescAttr(desc, i))));
		appendStringInfoString(&sql, "pg_catalog.sign(g.__trickle_w)::pg_catalog.int4 AS __trickle_w FROM (");
		append_scan_columns(&sql, rel, attnums, "b", true,
							old_state ? "(- pg_catalog.sum(b.__w))::pg_catalog.int4" :
							"pg_catalog.sum(b.__w)::pg_catalog.int4");
		appendStringInfo(&sql, " FROM %s AND b.__w <> 0", trickle_delta_changes_sql(relid, "b"));
		foreach(lc, grouped)
			appendStringInfo(&sql, "%s b.%s", lc == list_head(grouped) ? " GROUP BY" : ",",
							 quote_identifier(lfirst(lc)));
		appendStringInfoString(&sql, " HAVING pg_catalog.sum(b.__w) <> 0) g"
							   " CROSS JOIN LATERAL pg_catalog.generate_series(1, pg_catalog.abs(g.__trickle_w))");
	}
	else
	{
		append_scan_columns(&sql, rel, attnums, "b", true, old_state ? "(- b.__w)" : "b.__w");
		appendStringInfo(&sql, " FROM %s AND b.__w <> 0", trickle_delta_changes_sql(relid, "b"));
	}
	table_close(rel, AccessShareLock);
	return sql.data;
}

static Query *
parse_subquery(const char *sql)
{
	int			nestlevel = NewGUCNestLevel();
	List	   *raw;
	Query	   *query;

	(void) set_config_option("search_path", TRICKLE_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	query = parse_analyze_fixedparams(linitial(raw), sql,
									  (Oid *) trickle_delta_param_types, TRICKLE_DELTA_NPARAMS, NULL);
	AtEOXact_GUC(true, nestlevel);
	return query;
}

/* turns rte into a subquery reading sql; returns its weight Var */
static Var *
replace_scan(RangeTblEntry *rte, int rtindex, const char *sql)
{
	Query	   *sub = parse_subquery(sql);
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, sub->targetList)
		names = lappend(names, makeString(pstrdup(((TargetEntry *) lfirst(lc))->resname)));
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = sub;
	rte->relid = InvalidOid;
	rte->relkind = 0;
	rte->rellockmode = NoLock;
	rte->inh = false;
	rte->requiredPerms = 0;
	rte->eref->colnames = names;
	return makeVar(rtindex, list_length(sub->targetList), INT4OID, -1, InvalidOid, 0);
}

static TargetEntry *
output(Expr *expr, List *tlist, const char *fmt, int n)
{
	return makeTargetEntry((Expr *) copyObject(expr), list_length(tlist) + 1,
						   psprintf(fmt, n), false);
}

/* the target list of a term: the columns the MERGE needs, by position */
static List *
term_targets(TrickleIvmPlan *plan)
{
	List	   *tlist = NIL;
	ListCell   *lc;
	int			n = 0;

	if (!plan->aggregate)
	{
		foreach(lc, plan->query->targetList)
		{
			TargetEntry *tle = lfirst(lc);

			if (!tle->resjunk)
				tlist = lappend(tlist, output(tle->expr, tlist, "__trickle_c%d", n++));
		}
		return tlist;
	}
	foreach(lc, plan->keys)
		tlist = lappend(tlist, output(((TrickleIvmKey *) lfirst(lc))->expr, tlist,
									  "__trickle_k%d", n++));
	n = 0;
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);

		if (agg->arg)
			tlist = lappend(tlist, output(agg->arg, tlist, "__trickle_a%d", n));
		n++;
	}
	return tlist;
}

/*
 * trickle_delta_term: see ivm.h.
 */
char *
trickle_delta_term(TrickleIvmPlan *plan, int scan)
{
	Query	   *q = copyObject(plan->query);
	Expr	   *weight = NULL;
	ListCell   *lc;
	int			i = 0;

	q->targetList = term_targets(plan);
	q->hasAggs = false;
	q->groupClause = NIL;
	q->havingQual = NULL;
	q->sortClause = NIL;

	foreach(lc, plan->scans)
	{
		TrickleIvmScan *s = lfirst(lc);
		RangeTblEntry *rte = rt_fetch(s->rtindex, q->rtable);

		if (scan >= 0 && i >= scan)
		{
			Var		   *w = replace_scan(rte, s->rtindex, scan_sql(plan, s->relid, s->inh, i > scan));

			weight = weight == NULL ? (Expr *) w :
				(Expr *) makeFuncExpr(F_INT4MUL, INT4OID, list_make2(weight, w),
									  InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
		}
		i++;
	}
	if (weight)
		q->targetList = lappend(q->targetList,
								makeTargetEntry(weight, list_length(q->targetList) + 1,
												pstrdup("__trickle_w"), false));
	return trickle_query_deparse(q);
}
