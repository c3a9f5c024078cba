/*-------------------------------------------------------------------------
 *
 * delta.c
 *	  The delta of a defining query's FROM/WHERE block, as SQL.
 *
 * With R_i the i-th scan (a table occurrence, also inside a subquery), R_i'
 * its state now (at the refresh's snapshot S), R_i its state as of the
 * frontier F, and dR_i its changes in between (R_i' = R_i + dR_i, as
 * Z-sets: rows with signed weights), the change of the query Q is the
 * telescoping sum
 *
 *	dQ = sum over i of  Q(sigma_i) - Q(sigma_(i-1))
 *
 * where sigma_i has the scans up to i (in the flip order of model.c) new
 * and the others old.  Term i is one summand.  Where Q is linear in R_i
 * (inner joins, filters, projections, the preserved side of an outer
 * join) it is Q with R_i replaced by dR_i; the old state of another scan
 * is written as the Z-set R' + (-dR).  Where Q is not linear in R_i (the
 * nullable side of an outer join, a subquery in an expression, a LATERAL
 * subquery), outer.c and sublink.c supply rules.
 *
 * Terms are built as SQL text in *arms* (ivm_internal.h): a FROM clause of
 * aliased relations, each exposing the columns of the items it provides as
 * c<item>_<attno>, plus weight factors.  Joining two lists of arms joins
 * each pair, so every arm stays one flat FROM clause the planner can
 * optimize as a whole (a UNION ALL of joins would fence its arms off from
 * the indexes of the relations they join).  A term is the UNION ALL of its
 * arms, each projected to the term's columns and filtered by WHERE.
 *
 * User expressions (join conditions, WHERE, the output columns) are never
 * printed here: the text holds a parameter placeholder ($7, $8, ... after
 * the six parameters every term takes) for each, a *slot* remembering the
 * expression and which alias provides each item at that place.  The text
 * is parsed, each placeholder is replaced by its expression with every Var
 * pointed at the right alias and c<item>_<att> column (join alias Vars
 * expanded, subqueries in expressions possibly replaced: see
 * IvmSubValue), and the result is deparsed like a view, so expressions
 * keep exactly the user's operators, functions, collations and names.  A
 * LATERAL subquery's body is put in place the same way, into the range
 * table entry of an alias ("query slot").
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
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "api/api.h"
#include "cdc/cdc.h"
#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "ivm/ivm_internal.h"
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

/* ---------------------------------------------------------------------
 * Slots
 * ---------------------------------------------------------------------
 */

typedef struct IvmSlot
{
	int			paramid;		/* expression slot: its placeholder $n */
	char	   *qalias;			/* query slot: the alias of its range table entry */
	Node	   *expr;			/* an expression, or a query slot's Query */
	IvmBlock   *home;			/* the block level 0 of expr's free Vars refers to */
	const char **alias;			/* item id -> alias providing its columns */
	IvmSubValue *subs;			/* sublink id -> replacement, or NULL */
} IvmSlot;

const char *
trickle_ivm_new_alias(IvmTerm *t)
{
	return psprintf("x%d", ++t->naliases);
}

const char **
trickle_ivm_alias_copy(IvmTerm *t, const char **alias)
{
	int			n = Max(list_length(t->m->items), 1);
	const char **copy = palloc0(sizeof(char *) * n);

	if (alias)
		memcpy(copy, alias, sizeof(char *) * n);
	return copy;
}

static int
next_paramid(IvmTerm *t)
{
	ListCell   *lc;
	int			id = TRICKLE_DELTA_NPARAMS;

	foreach(lc, t->slots)
	{
		if (((IvmSlot *) lfirst(lc))->paramid > id)
			id = ((IvmSlot *) lfirst(lc))->paramid;
	}
	return id + 1;
}

/*
 * trickle_ivm_slot: the placeholder standing for expr (NULL: true), whose
 * Vars refer to home's level (and the levels above it); alias says which
 * relation provides each item at the place the placeholder goes, subs
 * what the subqueries of expr become there.
 */
char *
trickle_ivm_slot(IvmTerm *t, Node *expr, IvmBlock *home, const char **alias,
				 IvmSubValue *subs)
{
	IvmSlot    *slot;

	if (expr == NULL)
		return pstrdup("true");
	slot = palloc0(sizeof(IvmSlot));
	slot->paramid = next_paramid(t);
	slot->expr = expr;
	slot->home = home;
	slot->alias = trickle_ivm_alias_copy(t, alias);
	slot->subs = subs;
	t->slots = lappend(t->slots, slot);
	return psprintf("$%d", slot->paramid);
}

/* trickle_ivm_operator_sql: "OPERATOR(schema.name)" for operator opno */
char *
trickle_ivm_operator_sql(Oid opno)
{
	List	   *names;
	List	   *args;

	format_operator_parts(opno, &names, &args, false);
	return psprintf("OPERATOR(%s.%s)", quote_identifier((char *) linitial(names)),
					(char *) lsecond(names));
}

/* trickle_ivm_type_sql: the qualified SQL name of a type (with typmod, collation) */
char *
trickle_ivm_type_sql(Oid type, int32 typmod, Oid collation)
{
	char	   *sql = format_type_extended(type, typmod, FORMAT_TYPE_TYPEMOD_GIVEN |
										   FORMAT_TYPE_FORCE_QUALIFY);

	if (OidIsValid(collation))
		sql = psprintf("%s COLLATE %s", sql, generate_collation_name(collation));
	return sql;
}

/*
 * trickle_ivm_query_slot: "LATERAL (...) alias" standing for body, the
 * subquery of LATERAL item item, whose outer references (one level up)
 * refer to home.
 */
char *
trickle_ivm_query_slot(IvmTerm *t, Query *body, IvmBlock *home, const char **alias,
					   IvmItem *item, const char **qalias)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, item->cols)
		names = lappend(names, trickle_ivm_col_name(item, lfirst(lc)));
	return trickle_ivm_query_slot_cols(t, body, home, alias, item->cols, names, qalias);
}

/*
 * trickle_ivm_query_slot_cols: the same for a body whose visible outputs
 * are cols (IvmCol), named names
 */
char *
trickle_ivm_query_slot_cols(IvmTerm *t, Query *body, IvmBlock *home, const char **alias,
							List *cols, List *names, const char **qalias)
{
	IvmSlot    *slot = palloc0(sizeof(IvmSlot));
	StringInfoData sql;
	ListCell   *lc;
	ListCell   *lc2;

	slot->qalias = pstrdup(trickle_ivm_new_alias(t));
	slot->expr = (Node *) body;
	slot->home = home;
	slot->alias = trickle_ivm_alias_copy(t, alias);
	t->slots = lappend(t->slots, slot);
	*qalias = slot->qalias;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "LATERAL (SELECT ");
	forboth(lc, cols, lc2, names)
	{
		IvmCol	   *col = lfirst(lc);

		appendStringInfo(&sql, "%sNULL::%s AS %s", lc == list_head(cols) ? "" : ", ",
						 trickle_ivm_type_sql(col->type, col->typmod, col->collation),
						 (char *) lfirst(lc2));
	}
	/* a column alias list, which the deparsed subquery keeps */
	appendStringInfo(&sql, ") %s(", slot->qalias);
	foreach(lc, names)
		appendStringInfo(&sql, "%s%s", lc == list_head(names) ? "" : ", ", (char *) lfirst(lc));
	appendStringInfoChar(&sql, ')');
	return sql.data;
}

/* ---------------------------------------------------------------------
 * Putting the slots in place
 * ---------------------------------------------------------------------
 */

typedef struct FinishContext
{
	IvmTerm    *t;
	List	   *stack;			/* the generated Queries, innermost first */
} FinishContext;

typedef struct RemapContext
{
	FinishContext *fc;
	IvmSlot    *slot;
	int			depth;			/* query levels entered inside the slot's expression */
} RemapContext;

/* the range table index and attribute number of alias.column, and its level */
static void
resolve(FinishContext *fc, const char *alias, const char *column, int *varno,
		int *attno, int *level)
{
	ListCell   *lc;
	int			l = 0;

	foreach(lc, fc->stack)
	{
		Query	   *q = lfirst(lc);
		ListCell   *lc2;
		int			rtindex = 0;

		foreach(lc2, q->rtable)
		{
			RangeTblEntry *rte = lfirst(lc2);
			ListCell   *lc3;
			int			a = 0;

			rtindex++;
			if (rte->eref == NULL || strcmp(rte->eref->aliasname, alias) != 0)
				continue;
			foreach(lc3, rte->eref->colnames)
			{
				a++;
				if (strcmp(strVal(lfirst(lc3)), column) == 0)
				{
					*varno = rtindex;
					*attno = a;
					*level = l;
					return;
				}
			}
			elog(ERROR, "relation %s of the delta has no column %s", alias, column);
		}
		l++;
	}
	elog(ERROR, "the delta has no relation %s", alias);
}

static IvmSublink *
sublink_of(IvmModel *m, SubLink *sub)
{
	ListCell   *lc;

	foreach(lc, m->sublinks)
	{
		if (((IvmSublink *) lfirst(lc))->sublink == sub)
			return lfirst(lc);
	}
	return NULL;
}

static Node *
remap_mutator(Node *node, RemapContext *rc)
{
	IvmSlot    *slot = rc->slot;

	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;
		int			k = (int) var->varlevelsup - rc->depth;
		IvmBlock   *block;
		RangeTblEntry *rte;
		IvmItem    *item;
		const char *alias;
		int			varno;
		int			attno;
		int			level;
		Var		   *out;

		if (k < 0)
			return copyObject(node);
		block = trickle_ivm_block_up(slot->home, k);
		rte = rt_fetch(var->varno, block->query->rtable);
		if (rte->rtekind == RTE_JOIN)
		{
			Node	   *expr = copyObject(list_nth(rte->joinaliasvars, var->varattno - 1));

			IncrementVarSublevelsUp(expr, var->varlevelsup, 0);
			return remap_mutator(expr, rc);
		}
		item = trickle_ivm_item_at(block, var->varno);
		alias = slot->alias[item->id];
		if (alias == NULL)
			elog(ERROR, "no relation of the delta provides item %d", item->id);
		resolve(rc->fc, alias, psprintf("c%d_%d", item->id, var->varattno),
				&varno, &attno, &level);
		out = makeVar(varno, attno, var->vartype, var->vartypmod, var->varcollid,
					  rc->depth + level);
		out->location = var->location;
		return (Node *) out;
	}
	if (IsA(node, SubLink) && slot->subs)
	{
		IvmSublink *sl = sublink_of(rc->fc->t->m, (SubLink *) node);

		if (sl && slot->subs[sl->id].replacement)
			return remap_mutator(slot->subs[sl->id].replacement, rc);
		if (sl && slot->subs[sl->id].alias)
		{
			int			varno;
			int			attno;
			int			level;

			resolve(rc->fc, slot->subs[sl->id].alias, slot->subs[sl->id].column,
					&varno, &attno, &level);
			return (Node *) makeVar(varno, attno, exprType(node), exprTypmod(node),
									exprCollation(node), rc->depth + level);
		}
	}
	if (IsA(node, Query))
	{
		Query	   *q;

		rc->depth++;
		q = query_tree_mutator((Query *) node, remap_mutator, rc, 0);
		rc->depth--;
		return (Node *) q;
	}
	return expression_tree_mutator(node, remap_mutator, rc);
}

static IvmSlot *
slot_by_param(IvmTerm *t, int paramid)
{
	ListCell   *lc;

	foreach(lc, t->slots)
	{
		if (((IvmSlot *) lfirst(lc))->paramid == paramid)
			return lfirst(lc);
	}
	elog(ERROR, "no slot for parameter $%d", paramid);
}

static Node *
finish_mutator(Node *node, FinishContext *fc)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		fc->stack = lcons(q, fc->stack);
		foreach(lc, q->rtable)
		{
			RangeTblEntry *rte = lfirst(lc);
			ListCell   *lc2;

			if (rte->rtekind != RTE_SUBQUERY || rte->eref == NULL)
				continue;
			foreach(lc2, fc->t->slots)
			{
				IvmSlot    *slot = lfirst(lc2);
				RemapContext rc;

				if (slot->qalias == NULL || strcmp(slot->qalias, rte->eref->aliasname) != 0)
					continue;
				rc.fc = fc;
				rc.slot = slot;
				rc.depth = 1;
				rte->subquery = query_tree_mutator((Query *) slot->expr, remap_mutator, &rc, 0);
			}
		}
		q = query_tree_mutator(q, finish_mutator, fc, QTW_DONT_COPY_QUERY);
		fc->stack = list_delete_first(fc->stack);
		return (Node *) q;
	}
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN &&
		((Param *) node)->paramid > TRICKLE_DELTA_NPARAMS)
	{
		IvmSlot    *slot = slot_by_param(fc->t, ((Param *) node)->paramid);
		RemapContext rc;

		rc.fc = fc;
		rc.slot = slot;
		rc.depth = 0;
		return remap_mutator(slot->expr, &rc);
	}
	return expression_tree_mutator(node, finish_mutator, fc);
}

static void
finish_error_callback(void *arg)
{
	errcontext("generated delta SQL: %s", (const char *) arg);
}

/*
 * trickle_ivm_parse_sql: the analysed query of generated sql, whose
 * parameters have types, parsed under the safe search_path (an error
 * shows the SQL)
 */
Query *
trickle_ivm_parse_sql(const char *sql, Oid *types, int ntypes)
{
	int			nestlevel = NewGUCNestLevel();
	ErrorContextCallback errcallback;
	List	   *raw;
	Query	   *query;

	errcallback.callback = finish_error_callback;
	errcallback.arg = (void *) sql;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	(void) set_config_option("search_path", TRICKLE_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	query = parse_analyze_fixedparams(linitial(raw), sql, types, ntypes, NULL);
	AtEOXact_GUC(true, nestlevel);
	error_context_stack = errcallback.previous;
	return query;
}

/* the term's SQL with its slots filled in, deparsed */
static char *
finish(IvmTerm *t, const char *sql)
{
	int			n = next_paramid(t) - 1;
	Oid		   *types = palloc0(sizeof(Oid) * n);
	FinishContext fc = {0};
	ListCell   *lc;
	Query	   *q;

	memcpy(types, trickle_delta_param_types, sizeof(Oid) * TRICKLE_DELTA_NPARAMS);
	foreach(lc, t->slots)
	{
		IvmSlot    *slot = lfirst(lc);

		if (slot->paramid)
			types[slot->paramid - 1] = exprType(slot->expr);
	}
	q = trickle_ivm_parse_sql(sql, types, n);
	fc.t = t;
	q = (Query *) finish_mutator((Node *) q, &fc);
	return trickle_query_deparse(q);
}

/* ---------------------------------------------------------------------
 * Scans
 * ---------------------------------------------------------------------
 */

/* the column list of a leaf: each column read, from src (a buffer or table) */
static void
append_leaf_cols(StringInfo sql, IvmItem *item, const char *src, bool buffer, bool *first)
{
	ListCell   *lc;

	foreach(lc, item->cols)
	{
		IvmCol	   *col = lfirst(lc);

		if (IVM_COL_IS_PARTIAL(col))
			continue;			/* made by the grouping of eager_leaf_sql */
		appendStringInfo(sql, "%s%s.%s AS %s", *first ? "" : ", ", src,
						 buffer ? trickle_buffer_column(col->att) :
						 quote_identifier(get_attname(item->relid, col->att, false)),
						 trickle_ivm_col_name(item, col));
		*first = false;
	}
}

static char *
rel_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * trickle_ivm_scan_sql: the SELECT of a scan in a state: its new rows, its
 * changes, or its old state as a Z-set (new rows, weight 1, and the
 * changes negated).  A partitioned or inheritance source's buffer holds
 * the changes of its whole tree; its rows are read with the tree unless
 * the query said ONLY.
 */
char *
trickle_ivm_scan_sql(IvmTerm *t, IvmItem *item, int state)
{
	StringInfoData sql;
	bool		first = true;
	const char *only = item->inh ? "" : "ONLY ";

	initStringInfo(&sql);
	if (state == IVM_NEW || state == IVM_OLD)
	{
		appendStringInfoString(&sql, "SELECT ");
		append_leaf_cols(&sql, item, "s", false, &first);
		if (state == IVM_OLD)
			appendStringInfo(&sql, "%s1 AS __trickle_w", first ? "" : ", ");
		appendStringInfo(&sql, " FROM %s%s s", only, rel_name(item->relid));
		if (state == IVM_NEW)
			return sql.data;
		appendStringInfoString(&sql, " UNION ALL ");
		first = true;
	}
	appendStringInfoString(&sql, "SELECT ");
	append_leaf_cols(&sql, item, "b", true, &first);
	appendStringInfo(&sql, "%s%s AS __trickle_w FROM %s AND b.__w <> 0", first ? "" : ", ",
					 state == IVM_OLD ? "(- b.__w)" : "b.__w",
					 trickle_delta_changes_sql(item->relid, "b"));
	return sql.data;
}

/*
 * the columns of rel in attribute order, for replacing a scan inside a
 * subquery's body (whose Vars keep their attribute numbers): the columns
 * the item reads from alias (a buffer when from_buffer), typed NULLs
 * elsewhere (int4, so that the set operations below can compare them)
 */
static void
append_positional(StringInfo sql, Relation rel, IvmItem *item, const char *alias,
				  bool from_buffer)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	appendStringInfoString(sql, "SELECT ");
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ListCell   *lc;
		bool		read = false;
		const char *name = att->attisdropped ?
			psprintf("__trickle_dropped_%d", att->attnum) : NameStr(att->attname);

		foreach(lc, item->cols)
			read |= ((IvmCol *) lfirst(lc))->att == att->attnum;
		if (i > 0)
			appendStringInfoString(sql, ", ");
		if (!read || att->attisdropped)
			appendStringInfo(sql, "NULL::pg_catalog.int4 AS %s", quote_identifier(name));
		else if (from_buffer)
			appendStringInfo(sql, "%s.%s AS %s", alias, trickle_buffer_column(att->attnum),
							 quote_identifier(name));
		else
			appendStringInfo(sql, "%s.%s AS %s", alias, quote_identifier(name),
							 quote_identifier(name));
	}
}

/*
 * true_old_sql: the old state of a scan inside a subquery's body as a real
 * bag (no weights): the rows now plus the deleted ones, less the inserted
 * ones.  EXCEPT ALL keeps one representative per equality class, so the
 * model admits only columns whose equality is identity.  The body's
 * conditions on the scan alone (a correlation with the outer row among
 * them) are pushed into each arm by push_scan_quals.
 */
static char *
true_old_sql(IvmItem *item)
{
	Relation	rel = table_open(item->relid, AccessShareLock);
	StringInfoData sql;

	initStringInfo(&sql);
	append_positional(&sql, rel, item, "s", false);
	appendStringInfo(&sql, " FROM %s%s s UNION ALL ", item->inh ? "" : "ONLY ",
					 rel_name(item->relid));
	append_positional(&sql, rel, item, "b", true);
	appendStringInfo(&sql, " FROM %s AND b.__w < 0 EXCEPT ALL ",
					 trickle_delta_changes_sql(item->relid, "b"));
	append_positional(&sql, rel, item, "b", true);
	appendStringInfo(&sql, " FROM %s AND b.__w > 0",
					 trickle_delta_changes_sql(item->relid, "b"));
	table_close(rel, AccessShareLock);
	return sql.data;
}

/* whether the join tree below node is inner joins only */
static bool
all_inner(IvmNode *node)
{
	if (node->item)
		return true;
	return node->jointype == JOIN_INNER && all_inner(node->left) && all_inner(node->right);
}

typedef struct ArmVarContext
{
	int			rtindex;		/* the scan's entry in the body */
	List	   *tlist;			/* the arm's outputs, by attribute number */
} ArmVarContext;

static Node *
arm_var_mutator(Node *node, ArmVarContext *ctx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varlevelsup == 0 &&
		((Var *) node)->varno == ctx->rtindex)
	{
		Var		   *var = (Var *) node;

		if (var->varattno < 1 || var->varattno > list_length(ctx->tlist))
			elog(ERROR, "column %d of a scan pushed into its old state", var->varattno);
		return copyObject((Node *) ((TargetEntry *) list_nth(ctx->tlist, var->varattno - 1))->expr);
	}
	return expression_tree_mutator(node, arm_var_mutator, ctx);
}

/* adds qual (over the scan at rtindex and outer levels) to the arms below op of sub */
static void
push_into_arms(Query *sub, Node *op, Node *qual, int rtindex)
{
	if (IsA(op, SetOperationStmt))
	{
		push_into_arms(sub, ((SetOperationStmt *) op)->larg, qual, rtindex);
		push_into_arms(sub, ((SetOperationStmt *) op)->rarg, qual, rtindex);
	}
	else
	{
		Query	   *arm = rt_fetch(((RangeTblRef *) op)->rtindex, sub->rtable)->subquery;
		ArmVarContext ctx = {rtindex, arm->targetList};
		Node	   *q = copyObject(qual);

		/* the arm is two levels below the body: outer references cross them */
		IncrementVarSublevelsUp(q, 2, 1);
		q = arm_var_mutator(q, &ctx);
		arm->jointree->quals = make_and_qual(arm->jointree->quals, q);
	}
}

/*
 * push_scan_quals: the conjuncts of body's WHERE that read only item (and
 * the outer rows: a LATERAL body's or a sublink's correlation) added to
 * each arm of sub, item's old state (true_old_sql).  PostgreSQL pushes no
 * condition into EXCEPT ALL, so without them the old state would be read
 * whole for every outer row, and a LATERAL refresh after 1,000 changes of
 * a 1M-row table took two minutes.  A condition filters rows one at a
 * time, so it commutes with the arms' union and difference; only where
 * the body joins by inner joins alone, since filtering the nullable side
 * of an outer join before the join is not filtering after it.
 */
static void
push_scan_quals(Query *sub, IvmBlock *body, IvmItem *item)
{
	ListCell   *lc;

	if (body->where == NULL || sub->setOperations == NULL || !all_inner(body->tree))
		return;
	foreach(lc, make_ands_implicit((Expr *) copyObject(body->where)))
	{
		Node	   *c = lfirst(lc);
		Bitmapset  *rels = pull_varnos_of_level(NULL, c, 0);

		if (bms_num_members(rels) != 1 || !bms_is_member(item->rtindex, rels) ||
			checkExprHasSubLink(c) || contain_volatile_functions(c))
			continue;
		push_into_arms(sub, sub->setOperations, c, item->rtindex);
	}
}

/* "x IN (the keys' column k<key>)" */
static char *
in_keys(IvmKeyScan *ks, int key, const char *x)
{
	return psprintf("%s IN (SELECT __trickle_keys.k%d FROM %s __trickle_keys)", x, key,
					ks->standin);
}

/* "x IS NULL AND the keys hold a NULL k<key>" */
static char *
null_key(IvmKeyScan *ks, int key, const char *x)
{
	return psprintf("%s IS NULL AND EXISTS (SELECT FROM %s __trickle_keys WHERE __trickle_keys.k%d IS NULL)",
					x, ks->standin, key);
}

/*
 * keyed_sql: a scan inside a body restricted to the rows whose column att
 * holds one of the keys (key-th column of the keys), new or old (as
 * true_old_sql, each of its arms restricted).  The table is read in two
 * arms, matching keys and NULLs, so that the first is a semi-join (an
 * index finds the rows of each key) and the second runs only when a NULL
 * key is affected.
 */
static char *
keyed_sql(IvmItem *item, IvmKeyScan *ks, int att, int key, bool old)
{
	Relation	rel = table_open(item->relid, AccessShareLock);
	char	   *scol = psprintf("s.%s", quote_identifier(get_attname(item->relid, att, false)));
	char	   *bcol = psprintf("b.%s", trickle_buffer_column(att));
	const char *only = item->inh ? "" : "ONLY ";
	StringInfoData sql;

	initStringInfo(&sql);
	append_positional(&sql, rel, item, "s", false);
	appendStringInfo(&sql, " FROM %s%s s WHERE %s UNION ALL ", only, rel_name(item->relid),
					 in_keys(ks, key, scol));
	append_positional(&sql, rel, item, "s", false);
	appendStringInfo(&sql, " FROM %s%s s WHERE %s", only, rel_name(item->relid),
					 null_key(ks, key, scol));
	if (old)
	{
		appendStringInfoString(&sql, " UNION ALL ");
		append_positional(&sql, rel, item, "b", true);
		appendStringInfo(&sql, " FROM %s AND b.__w < 0 AND (%s OR %s) EXCEPT ALL ",
						 trickle_delta_changes_sql(item->relid, "b"),
						 in_keys(ks, key, bcol), null_key(ks, key, bcol));
		append_positional(&sql, rel, item, "b", true);
		appendStringInfo(&sql, " FROM %s AND b.__w > 0 AND (%s OR %s)",
						 trickle_delta_changes_sql(item->relid, "b"),
						 in_keys(ks, key, bcol), null_key(ks, key, bcol));
	}
	table_close(rel, AccessShareLock);
	return sql.data;
}

/* the stand-ins of the keys (subqueries aliased __trickle_keys) made reads of the WITH query cte */
static bool
keys_cte_walker(Node *node, const char *cte)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		ListCell   *lc;

		if (rte->rtekind != RTE_SUBQUERY || strcmp(rte->eref->aliasname, "__trickle_keys") != 0)
			return false;
		rte->rtekind = RTE_CTE;
		rte->ctename = pstrdup(cte);
		rte->ctelevelsup = 0;	/* the deparser prints the name; the text is parsed again */
		rte->coltypes = rte->coltypmods = rte->colcollations = NIL;
		foreach(lc, rte->subquery->targetList)
		{
			Node	   *expr = (Node *) ((TargetEntry *) lfirst(lc))->expr;

			rte->coltypes = lappend_oid(rte->coltypes, exprType(expr));
			rte->coltypmods = lappend_int(rte->coltypmods, exprTypmod(expr));
			rte->colcollations = lappend_oid(rte->colcollations, exprCollation(expr));
		}
		rte->subquery = NULL;
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, keys_cte_walker, (void *) cte,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, keys_cte_walker, (void *) cte);
}

/*
 * trickle_ivm_body_keyed: a copy of a subquery's body reading its tables as
 * they are on one side of the flip at position ps: after it (the scans up
 * to ps new) or before it (only those before ps new); the others read
 * their old state.  With ks, the scans it names read only the rows of
 * the keys it holds.
 */
Query *
trickle_ivm_body_keyed(IvmTerm *t, IvmBlock *body, int ps, bool after, IvmKeyScan *ks)
{
	Query	   *q = copyObject(body->query);
	ListCell   *lc;

	foreach(lc, body->items)
	{
		IvmItem    *item = lfirst(lc);
		int			p;
		int			att = ks ? list_nth_int(ks->atts, foreach_current_index(lc)) : 0;
		bool		old;
		RangeTblEntry *rte;
		Query	   *sub;
		List	   *names = NIL;
		ListCell   *lc2;

		if (item->scan < 0)
			continue;
		p = t->m->pos[item->scan];
		old = !(after ? p <= ps : p < ps);
		if (!old && att == 0)
			continue;
		sub = trickle_ivm_parse_sql(att ? keyed_sql(item, ks, att, list_nth_int(ks->keys, foreach_current_index(lc)), old) :
						true_old_sql(item),
						(Oid *) trickle_delta_param_types, TRICKLE_DELTA_NPARAMS);
		if (att)
			(void) query_tree_walker(sub, keys_cte_walker, (void *) ks->cte, QTW_EXAMINE_RTES_BEFORE);
		else
			push_scan_quals(sub, body, item);
		foreach(lc2, sub->targetList)
			names = lappend(names, makeString(pstrdup(((TargetEntry *) lfirst(lc2))->resname)));
		rte = rt_fetch(item->rtindex, q->rtable);
		trickle_ivm_rte_as_subquery(rte, sub);
		rte->eref->colnames = names;
	}
	return q;
}

/* trickle_ivm_body_at: the same, every row read */
Query *
trickle_ivm_body_at(IvmTerm *t, IvmBlock *body, int ps, bool after)
{
	return trickle_ivm_body_keyed(t, body, ps, after, NULL);
}

/* ---------------------------------------------------------------------
 * Arms
 * ---------------------------------------------------------------------
 */

/* trickle_ivm_arm_leaf: one arm reading item from "(sql) alias" */
IvmArm *
trickle_ivm_arm_leaf(IvmTerm *t, IvmItem *item, const char *sql, bool weighted)
{
	IvmArm	   *arm = palloc0(sizeof(IvmArm));
	const char *alias = trickle_ivm_new_alias(t);

	arm->from = psprintf("(%s) %s", sql, alias);
	arm->alias = trickle_ivm_alias_copy(t, NULL);
	if (item)
		arm->alias[item->id] = alias;
	if (weighted)
		arm->weights = list_make1(psprintf("%s.__trickle_w", alias));
	return arm;
}

static const char *
join_keyword(JoinType jointype)
{
	switch (jointype)
	{
		case JOIN_LEFT:
			return "LEFT JOIN";
		case JOIN_RIGHT:
			return "RIGHT JOIN";
		case JOIN_FULL:
			return "FULL JOIN";
		default:
			return "JOIN";
	}
}

static const char **
alias_merge(IvmTerm *t, const char **a, const char **b)
{
	const char **out = trickle_ivm_alias_copy(t, a);
	int			i;

	for (i = 0; i < list_length(t->m->items); i++)
	{
		if (b[i])
			out[i] = b[i];
	}
	return out;
}

/*
 * trickle_ivm_join_arms: every pair of arms joined with quals (over the
 * items of both, home's level).  The weights of a nullable side would be
 * NULL in its padded rows; by the flip order a nullable side is always a
 * new state, which has none.
 */
List *
trickle_ivm_join_arms(IvmTerm *t, List *left, List *right, JoinType jointype,
					  Node *quals, IvmBlock *home)
{
	List	   *out = NIL;
	ListCell   *l;
	ListCell   *r;

	foreach(l, left)
	{
		foreach(r, right)
		{
			IvmArm	   *a = lfirst(l);
			IvmArm	   *b = lfirst(r);
			IvmArm	   *arm = palloc0(sizeof(IvmArm));

			if (((jointype == JOIN_LEFT || jointype == JOIN_FULL) && b->weights) ||
				((jointype == JOIN_RIGHT || jointype == JOIN_FULL) && a->weights))
				elog(ERROR, "weighted nullable side of an outer join in a delta");
			arm->alias = alias_merge(t, a->alias, b->alias);
			arm->weights = list_concat_copy(a->weights, b->weights);
			arm->from = psprintf("(%s %s %s ON %s)", a->from, join_keyword(jointype), b->from,
								 trickle_ivm_slot(t, quals, home, arm->alias, NULL));
			out = lappend(out, arm);
		}
	}
	return out;
}

/* trickle_ivm_negate: arms with their weights negated */
List *
trickle_ivm_negate(List *arms)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, arms)
	{
		IvmArm	   *arm = palloc(sizeof(IvmArm));

		*arm = *(IvmArm *) lfirst(lc);
		arm->weights = lappend(list_copy(arm->weights), "(-1)");
		out = lappend(out, arm);
	}
	return out;
}

/*
 * trickle_ivm_unit_rows: the rows of sql, whose column __trickle_m is a
 * signed multiplicity, as that many rows of weight (__trickle_w) 1 or -1.
 * Grouped relations (candidates, padded rows) weigh their multiplicity, but
 * the MERGE's sums add a row's argument once per row (src/refresh/codegen.c),
 * so every row of a term weighs 1 or -1.
 */
char *
trickle_ivm_unit_rows(const char *sql)
{
	return psprintf("SELECT m.*, pg_catalog.sign(m.__trickle_m)::pg_catalog.int4 AS __trickle_w"
					" FROM (%s) m CROSS JOIN LATERAL pg_catalog.generate_series(1, pg_catalog.abs(m.__trickle_m))",
					sql);
}

/* trickle_ivm_arm_weight: the SQL of an arm's weight */
char *
trickle_ivm_arm_weight(IvmArm *arm)
{
	StringInfoData sql;
	ListCell   *lc;

	if (arm->weights == NIL)
		return pstrdup("1");
	initStringInfo(&sql);
	appendStringInfoChar(&sql, '(');
	foreach(lc, arm->weights)
		appendStringInfo(&sql, "%s%s", lc == list_head(arm->weights) ? "" : " * ",
						 (char *) lfirst(lc));
	appendStringInfoChar(&sql, ')');
	return sql.data;
}

/* ---------------------------------------------------------------------
 * Eager aggregation
 *
 * In the term of a scan F joined to the rest of the block, each changed row
 * of F is joined and then grouped, and an aggregate's argument is mostly a
 * column of F alone (sum(f.v) over dim JOIN fact f).  So the changes of F
 * are grouped first, by the columns of F that the rest of the query reads
 * (the join keys, grouping keys, conditions), into one row per group with
 * its net weight and, for each aggregate whose argument reads F alone, the
 * weighted count of non-NULL values and the weighted sum: 20,000 changed
 * rows of a 1,000-key fact table become at most 1,000 before the join.
 *
 * Rows of such a term no longer weigh 1 or -1, so an eager plan's terms
 * carry, instead of each aggregate's argument, its weighted non-NULL count
 * (__trickle_n<j>) and weighted sum (__trickle_s<j>), which the MERGE's
 * deltas add up (src/refresh/codegen.c); every term of the plan does, the
 * others computing them from their rows.  A partial travels through the
 * term's joins as a column of F's item (IVM_PARTIAL_ATT) and is multiplied,
 * wherever weights are multiplied, by the weights of everything joined to
 * F's rows (its co-weight): a group of F joined to a row of weight -1
 * counts negatively.
 *
 * The changes are grouped only by columns whose equality is identity (a
 * group keeps one of its equal values).  Used for count(*), count, sum and
 * avg over exact types, in a single
 * block of tables with a join, when F's path to the top passes only inner
 * joins and the nullable sides of outer joins: a preserved side's rows
 * become padded candidates, which are counted by multiplicity, and a
 * partial repeated by a multiplicity would be counted again.
 * ---------------------------------------------------------------------
 */

/* the SQL of arm's weights except the one of the relation providing item */
static char *
eager_coweight(IvmArm *arm, IvmItem *item)
{
	char	   *own = psprintf("%s.__trickle_w", arm->alias[item->id]);
	StringInfoData sql;
	ListCell   *lc;
	bool		found = false;
	int			n = 0;

	initStringInfo(&sql);
	appendStringInfoChar(&sql, '(');
	foreach(lc, arm->weights)
	{
		if (!found && strcmp(lfirst(lc), own) == 0)
		{
			found = true;
			continue;
		}
		appendStringInfo(&sql, "%s%s", n++ ? " * " : "", (char *) lfirst(lc));
	}
	if (!found)
		elog(ERROR, "no weight for the eagerly grouped scan in an arm");
	appendStringInfoString(&sql, n ? ")" : "1)");
	return sql.data;
}

/*
 * trickle_ivm_agg_arg: the aggregate whose argument column aggregate j
 * reads.  Aggregates over equal arguments (sum(v) and avg(v)) read the
 * first one's, so that their delta aggregates are identical calls, which
 * the executor computes once.
 */
int
trickle_ivm_agg_arg(TrickleIvmPlan *plan, int j)
{
	TrickleIvmAgg *agg = list_nth(plan->aggs, j);
	int			k;

	for (k = 0; k < j; k++)
	{
		TrickleIvmAgg *other = list_nth(plan->aggs, k);

		if (other->arg && equal(other->arg, agg->arg))
			return k;
	}
	return j;
}

/*
 * the type of the weighted sums of aggregate a's argument, or InvalidOid
 * when no sum or avg reads it
 */
static Oid
agg_arg_sumtype(TrickleIvmPlan *plan, int a)
{
	ListCell   *lc;

	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);

		/* what sum() returns: bigint for smaller integers, else numeric */
		if ((agg->kind == TRICKLE_AGG_SUM || agg->kind == TRICKLE_AGG_AVG) &&
			trickle_ivm_agg_arg(plan, foreach_current_index(lc)) == a)
			return agg->argtype == INT2OID || agg->argtype == INT4OID ? INT8OID : NUMERICOID;
	}
	return InvalidOid;
}

static bool
eager_model(IvmModel *m)
{
	ListCell   *lc;

	if (m->problem || m->sublinks || list_length(m->blocks) != 1 || m->top->tree->item)
		return false;
	foreach(lc, m->items)
	{
		IvmItem    *item = lfirst(lc);

		if (item->scan < 0 || item->derived || item->body || item->konst)
			return false;
	}
	return true;
}

/*
 * trickle_ivm_eager: whether plan's terms carry weighted partial aggregates
 * (see above), which src/refresh/codegen.c adds up
 */
bool
trickle_ivm_eager(TrickleIvmPlan *plan)
{
	ListCell   *lc;

	if (!plan->aggregate || plan->recompute || plan->recursive ||
		list_length(plan->scans) < 2 || plan->query->hasSubLinks)
		return false;
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);

		if (agg->rederive ||
			(agg->kind != TRICKLE_AGG_COUNT_STAR && agg->kind != TRICKLE_AGG_COUNT &&
			 agg->kind != TRICKLE_AGG_SUM && agg->kind != TRICKLE_AGG_AVG))
			return false;
	}
	/* one block of tables (eager_model checks the rest on a term's model) */
	foreach(lc, plan->query->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind != RTE_RELATION && rte->rtekind != RTE_JOIN)
			return false;
	}
	return true;
}

/* whether item's path from node passes only inner joins and nullable sides */
static bool
eager_path(IvmNode *node, IvmItem *item)
{
	if (node->item)
		return node->item == item;
	if (list_member_ptr(trickle_ivm_node_items(node->left), item))
		return (node->jointype == JOIN_INNER || node->jointype == JOIN_RIGHT) &&
			eager_path(node->left, item);
	return (node->jointype == JOIN_INNER || node->jointype == JOIN_LEFT) &&
		eager_path(node->right, item);
}

static void
eager_quals(IvmNode *node, List **exprs)
{
	if (node->item)
		return;
	if (node->quals)
		*exprs = lappend(*exprs, node->quals);
	eager_quals(node->left, exprs);
	eager_quals(node->right, exprs);
}

/*
 * eager_setup: when the changes of scan (flipping in t) are grouped first,
 * make its item expose the columns the rest of the query reads and the
 * partial aggregates, and mark the term
 */
static void
eager_setup(IvmTerm *t, int scan)
{
	IvmModel   *m = t->m;
	TrickleIvmPlan *plan = m->plan;
	IvmItem    *f = list_nth(m->scans, scan);
	List	   *exprs = NIL;
	List	   *cols = NIL;
	bool	   *args = palloc0(sizeof(bool) * Max(list_length(plan->aggs), 1));
	bool		any = false;
	ListCell   *lc;

	if (!eager_model(m) || f->block != m->top || !eager_path(m->top->tree, f))
		return;
	eager_quals(m->top->tree, &exprs);
	if (m->top->where)
		exprs = lappend(exprs, m->top->where);
	foreach(lc, plan->keys)
		exprs = lappend(exprs, ((TrickleIvmKey *) lfirst(lc))->expr);
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);
		int			j = foreach_current_index(lc);
		List	   *refs;
		ListCell   *lc2;
		bool		only = true;

		if (agg->arg == NULL || trickle_ivm_agg_arg(plan, j) != j)
			continue;
		refs = trickle_ivm_expr_refs(m, (Node *) agg->arg, m->top, m->items);
		foreach(lc2, refs)
			only &= ((IvmColRef *) lfirst(lc2))->item == f;
		if (refs != NIL && only)
			args[j] = any = true;
		else
			exprs = lappend(exprs, agg->arg);
	}
	if (!any)
		return;
	/* the columns of f read elsewhere, in f's order */
	{
		List	   *refs = trickle_ivm_expr_refs(m, (Node *) exprs, m->top, list_make1(f));

		foreach(lc, f->cols)
		{
			ListCell   *lc2;

			foreach(lc2, refs)
			{
				IvmCol	   *col = lfirst(lc);

				if (((IvmColRef *) lfirst(lc2))->col != col)
					continue;

				/*
				 * grouping keeps one of equal values: only where equality
				 * is identity (not numeric's 1.0 and 1.00, which text or
				 * a sum's scale tell apart)
				 */
				if (!trickle_ivm_type_exact(col->type, col->collation))
					return;
				cols = lappend(cols, col);
				break;
			}
		}
	}
	for (int j = 0; j < list_length(plan->aggs); j++)
	{
		IvmCol	   *n;

		if (!args[j])
			continue;
		n = palloc0(sizeof(IvmCol));
		n->att = IVM_PARTIAL_ATT(j, false);
		n->type = INT8OID;
		n->typmod = -1;
		cols = lappend(cols, n);
		if (OidIsValid(agg_arg_sumtype(plan, j)))
		{
			IvmCol	   *s = palloc0(sizeof(IvmCol));

			s->att = IVM_PARTIAL_ATT(j, true);
			s->type = agg_arg_sumtype(plan, j);
			s->typmod = -1;
			cols = lappend(cols, s);
		}
	}
	t->eager = f;
	t->eager_cols = f->cols;
	t->eager_args = args;
	f->cols = cols;
}

/*
 * eager_leaf_sql: the changes of the eagerly grouped item, one row per
 * value of the columns the rest of the query reads, with the net weight and
 * the partial aggregates.  A group whose changes cancel out (an UPDATE of a
 * summed column only) has weight 0 and is kept: its sums still changed.
 */
static char *
eager_leaf_sql(IvmTerm *t, IvmItem *item)
{
	TrickleIvmPlan *plan = t->m->plan;
	List	   *grouped = item->cols;
	const char **alias = trickle_ivm_alias_copy(t, NULL);
	StringInfoData sql;
	StringInfoData keys;
	ListCell   *lc;
	char	   *raw;

	item->cols = t->eager_cols;
	raw = trickle_ivm_scan_sql(t, item, IVM_DELTA);
	item->cols = grouped;
	alias[item->id] = "u";
	initStringInfo(&sql);
	initStringInfo(&keys);
	appendStringInfoString(&sql, "SELECT ");
	foreach(lc, grouped)
	{
		IvmCol	   *col = lfirst(lc);
		char	   *name = trickle_ivm_col_name(item, col);

		if (IVM_COL_IS_PARTIAL(col))
		{
			TrickleIvmAgg *agg = list_nth(plan->aggs, IVM_PARTIAL_AGG(col));
			char	   *arg = trickle_ivm_slot(t, (Node *) agg->arg, t->m->top, alias, NULL);
			char	   *type = trickle_ivm_type_sql(col->type, -1, InvalidOid);

			if (IVM_PARTIAL_IS_SUM(col))
				appendStringInfo(&sql, "(pg_catalog.sum((%s)::%s * u.__trickle_w))::%s AS %s, ",
								 arg, type, type, name);
			else
				appendStringInfo(&sql, "(pg_catalog.sum(CASE WHEN (%s) IS NOT NULL THEN u.__trickle_w END))"
								 "::pg_catalog.int8 AS %s, ", arg, name);
			continue;
		}
		appendStringInfo(&sql, "u.%s AS %s, ", name, name);
		appendStringInfo(&keys, "%su.%s", keys.len ? ", " : "", name);
	}
	appendStringInfo(&sql, "(pg_catalog.sum(u.__trickle_w))::pg_catalog.int4 AS __trickle_w FROM (%s) u",
					 raw);
	if (keys.len)
		appendStringInfo(&sql, " GROUP BY %s", keys.data);
	else
		appendStringInfoString(&sql, " HAVING pg_catalog.count(*) > 0");
	return sql.data;
}

/*
 * trickle_ivm_append_cols: ", alias.c<item>_<att> AS c<item>_<att>" for
 * the columns of items (typed NULLs when nulls)
 */
void
trickle_ivm_append_cols(StringInfo sql, IvmTerm *t, List *items, const char **alias,
						IvmArm *arm, bool nulls, bool *first)
{
	ListCell   *lc;

	foreach(lc, items)
	{
		IvmItem    *item = lfirst(lc);
		ListCell   *lc2;

		foreach(lc2, item->cols)
		{
			IvmCol	   *col = lfirst(lc2);
			char	   *name = trickle_ivm_col_name(item, col);

			if (nulls)
				appendStringInfo(sql, "%sNULL::%s AS %s", *first ? "" : ", ",
								 trickle_ivm_type_sql(col->type, col->typmod, col->collation), name);
			else if (IVM_COL_IS_PARTIAL(col))
			{
				if (arm == NULL)
					elog(ERROR, "partial aggregate of an eagerly grouped scan outside an arm");
				appendStringInfo(sql, "%s(%s.%s * %s)::%s AS %s", *first ? "" : ", ",
								 alias[item->id], name, eager_coweight(arm, item),
								 trickle_ivm_type_sql(col->type, -1, InvalidOid), name);
			}
			else
				appendStringInfo(sql, "%s%s.%s AS %s", *first ? "" : ", ",
								 alias[item->id], name, name);
			*first = false;
		}
	}
}

/* ---------------------------------------------------------------------
 * Join trees
 * ---------------------------------------------------------------------
 */

/* trickle_ivm_holds: whether the scan at flip position ps is below node */
bool
trickle_ivm_holds(IvmNode *node, int ps)
{
	return ps >= node->first && ps <= node->last;
}



/* trickle_ivm_native: the one arm of node with every scan in its new state */
IvmArm *
trickle_ivm_native(IvmTerm *t, IvmNode *node, IvmBlock *block)
{
	if (node->item)
	{
		if (node->item->konst)
		{
			IvmArm	   *arm = palloc0(sizeof(IvmArm));
			const char *qalias;

			arm->alias = trickle_ivm_alias_copy(t, NULL);
			arm->from = trickle_ivm_query_slot(t, node->item->konst, block, arm->alias,
											   node->item, &qalias);
			arm->alias[node->item->id] = qalias;
			return arm;
		}
		if (node->item->derived)
		{
			IvmArm	   *arm = palloc0(sizeof(IvmArm));
			const char *qalias;

			/* a derived subquery as written */
			arm->alias = trickle_ivm_alias_copy(t, NULL);
			arm->from = trickle_ivm_query_slot(t, node->item->body->query, block, arm->alias,
											   node->item, &qalias);
			arm->alias[node->item->id] = qalias;
			return arm;
		}
		if (node->item->scan < 0)
			elog(ERROR, "LATERAL subquery outside a join");
		return trickle_ivm_arm_leaf(t, node->item,
									trickle_ivm_scan_sql(t, node->item, IVM_NEW), false);
	}
	if (trickle_ivm_lateral(node))
		return linitial(trickle_ivm_lateral_join(t, list_make1(trickle_ivm_native(t, node->left, block)),
												 node, block, IVM_POS_ALL_NEW, true));
	return linitial(trickle_ivm_join_arms(t, list_make1(trickle_ivm_native(t, node->left, block)),
										  list_make1(trickle_ivm_native(t, node->right, block)),
										  node->jointype, node->quals, block));
}

/*
 * trickle_ivm_state: the arms of node, which does not hold the flipped
 * scan (at position ps), in its state in the term: entirely new, or
 * entirely old as a Z-set.
 */
List *
trickle_ivm_state(IvmTerm *t, IvmNode *node, IvmBlock *block, int ps)
{
	if (node->last < ps || (node->item && node->item->konst))
		return list_make1(trickle_ivm_native(t, node, block));
	if (node->first <= ps)
		elog(ERROR, "state of a join tree holding the flipped scan");
	if (node->item && node->item->derived)
		return trickle_ivm_derived_old(t, node, block);
	if (node->item)
		return list_make1(trickle_ivm_arm_leaf(t, node->item,
											   trickle_ivm_scan_sql(t, node->item, IVM_OLD), true));
	if (node->jointype != JOIN_INNER || trickle_ivm_lateral(node))
		return trickle_ivm_outer_old(t, node, block);
	return trickle_ivm_join_arms(t, trickle_ivm_state(t, node->left, block, ps),
								 trickle_ivm_state(t, node->right, block, ps),
								 JOIN_INNER, node->quals, block);
}

/*
 * trickle_ivm_joined_state: the state of side (not holding the scan at ps)
 * as far as join can match it with d, the change of its other side
 * flipping: a derived subquery in its new state is computed only for the
 * keys the change can match (derived.c)
 */
List *
trickle_ivm_joined_state(IvmTerm *t, IvmNode *side, IvmBlock *block, int ps, IvmNode *join,
						 List *d, IvmNode *flipping)
{
	List	   *arms = NIL;

	if (side->item && side->item->derived && side->last < ps)
		arms = trickle_ivm_derived_joined(t, side, block, join, d,
										  trickle_ivm_node_items(flipping));
	return arms ? arms : trickle_ivm_state(t, side, block, ps);
}

/* the change of a subtree at one flip, written once per term */
typedef struct IvmDeltaCte
{
	IvmNode    *node;
	int			ps;
	char	   *name;			/* of the WITH query */
} IvmDeltaCte;

static List *
delta_arms(IvmTerm *t, IvmNode *node, IvmBlock *block, int ps)
{
	if (node->item)
		return trickle_ivm_derived_delta(t, node->item, ps);
	if (trickle_ivm_lateral(node))
		return trickle_ivm_lateral_delta(t, node, block, ps);
	if (node->jointype != JOIN_INNER)
		return trickle_ivm_outer_delta(t, node, block, ps);
	if (trickle_ivm_holds(node->right, ps))
	{
		List	   *d = trickle_ivm_delta(t, node->right, block, ps);

		return trickle_ivm_join_arms(t, trickle_ivm_joined_state(t, node->left, block, ps, node,
																 d, node->right),
									 d, JOIN_INNER, node->quals, block);
	}
	else
	{
		List	   *d = trickle_ivm_delta(t, node->left, block, ps);

		return trickle_ivm_join_arms(t, d,
									 trickle_ivm_joined_state(t, node->right, block, ps, node,
															  d, node->left),
									 JOIN_INNER, node->quals, block);
	}
}

/*
 * trickle_ivm_delta: the arms of node's change when the scan at position
 * ps flips (NIL when node does not hold it).
 *
 * The rules of outer joins and subqueries read a subtree's change more than
 * once (joined, and as the rows whose matches are counted), and a parent's
 * rule reads its children's: written out at each use, the text would grow
 * exponentially with the depth of the tree.  So the change of a join is a
 * WITH query of the term, written once and read by name (PostgreSQL
 * inlines one read only once); so are the grouped changes of an eagerly
 * grouped scan, which an outer join also counts by join key, and which are
 * few rows to keep where its raw changes are many to read twice.  Changes are the small side of every join
 * they take part in, so reading them whole costs nothing an index could
 * save.
 */
List *
trickle_ivm_delta(IvmTerm *t, IvmNode *node, IvmBlock *block, int ps)
{
	IvmDeltaCte *cte = NULL;
	IvmArm	   *arm;
	const char *a;
	ListCell   *lc;

	if (!trickle_ivm_holds(node, ps))
		return NIL;
	if (node->item && !node->item->derived && node->item != t->eager)
		return list_make1(trickle_ivm_arm_leaf(t, node->item,
											   trickle_ivm_scan_sql(t, node->item, IVM_DELTA), true));
	foreach(lc, t->deltas)
	{
		IvmDeltaCte *c = lfirst(lc);

		if (c->node == node && c->ps == ps)
			cte = c;
	}
	if (cte == NULL)
	{
		List	   *arms = NIL;
		List	   *items = trickle_ivm_node_items(node);
		StringInfoData sql;

		initStringInfo(&sql);
		if (node->item && node->item == t->eager)
			appendStringInfoString(&sql, eager_leaf_sql(t, node->item));
		else
			arms = delta_arms(t, node, block, ps);
		cte = palloc0(sizeof(IvmDeltaCte));
		cte->node = node;
		cte->ps = ps;
		cte->name = pstrdup(trickle_ivm_new_alias(t));
		foreach(lc, arms)
		{
			IvmArm	   *x = lfirst(lc);
			bool		first = true;

			appendStringInfoString(&sql, lc == list_head(arms) ? "SELECT " : " UNION ALL SELECT ");
			trickle_ivm_append_cols(&sql, t, items, x->alias, x, false, &first);
			appendStringInfo(&sql, "%s%s AS __trickle_w FROM %s", first ? "" : ", ",
							 trickle_ivm_arm_weight(x), x->from);
		}
		t->ctes = lappend(t->ctes, psprintf("%s AS (%s)", cte->name, sql.data));
		t->deltas = lappend(t->deltas, cte);
	}
	a = trickle_ivm_new_alias(t);
	arm = palloc0(sizeof(IvmArm));
	arm->from = psprintf("%s %s", cte->name, a);
	arm->weights = list_make1(psprintf("%s.__trickle_w", a));
	arm->alias = trickle_ivm_alias_copy(t, NULL);
	foreach(lc, trickle_ivm_node_items(node))
		arm->alias[((IvmItem *) lfirst(lc))->id] = a;
	return list_make1(arm);
}

/* ---------------------------------------------------------------------
 * Terms
 * ---------------------------------------------------------------------
 */

typedef struct TermTarget
{
	Node	   *expr;			/* in plan->query */
	char	   *name;
} TermTarget;

/* the columns of a term: what the MERGE needs, by position */
static List *
term_targets(TrickleIvmPlan *plan, bool partials)
{
	List	   *out = NIL;
	ListCell   *lc;
	int			n = 0;

#define TARGET(e, fmt, i) \
	do { \
		TermTarget *tt = palloc(sizeof(TermTarget)); \
		tt->expr = (Node *) (e); \
		tt->name = psprintf(fmt, i); \
		out = lappend(out, tt); \
	} while (0)

	if (!plan->aggregate)
	{
		foreach(lc, plan->query->targetList)
		{
			TargetEntry *tle = lfirst(lc);

			if (!tle->resjunk)
				TARGET(tle->expr, "__trickle_c%d", n++);
		}
		return out;
	}
	foreach(lc, plan->keys)
		TARGET(((TrickleIvmKey *) lfirst(lc))->expr, "__trickle_k%d", n++);
	if (partials)
		return out;				/* the partials: trickle_ivm_final */
	n = 0;
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);

		if (agg->arg)
			TARGET(agg->arg, "__trickle_a%d", n);
		n++;
	}
#undef TARGET
	return out;
}

/*
 * the partial aggregates of an eager plan's term row (see "Eager
 * aggregation"): of an eagerly grouped scan's own, times the co-weight;
 * else from the argument and the row's weight
 */
static void
append_partials(StringInfo sql, IvmTerm *t, IvmArm *arm, IvmSubValue *subs, bool weighted,
				bool *first)
{
	TrickleIvmPlan *plan = t->m->plan;
	char	   *w = weighted ? trickle_ivm_arm_weight(arm) : pstrdup("1");
	ListCell   *lc;

	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);
		int			j = foreach_current_index(lc);
		Oid			sumtype = agg_arg_sumtype(plan, j);
		bool		summed = OidIsValid(sumtype);
		char	   *type = summed ? trickle_ivm_type_sql(sumtype, -1, InvalidOid) : NULL;

		if (agg->arg == NULL || trickle_ivm_agg_arg(plan, j) != j)
			continue;
		if (t->eager && t->eager_args[j])
		{
			const char *a = arm->alias[t->eager->id];
			char	   *co = eager_coweight(arm, t->eager);

			appendStringInfo(sql, "%s(%s.c%d_n%d * %s)::pg_catalog.int8 AS __trickle_n%d",
							 *first ? "" : ", ", a, t->eager->id, j, co, j);
			if (summed)
				appendStringInfo(sql, ", (%s.c%d_s%d * %s)::%s AS __trickle_s%d",
								 a, t->eager->id, j, co, type, j);
		}
		else
		{
			char	   *arg = trickle_ivm_slot(t, (Node *) agg->arg, t->m->top, arm->alias, subs);

			appendStringInfo(sql, "%s(CASE WHEN (%s) IS NOT NULL THEN %s END)::pg_catalog.int8"
							 " AS __trickle_n%d", *first ? "" : ", ", arg, w, j);
			if (summed)
				appendStringInfo(sql, ", ((%s)::%s * %s)::%s AS __trickle_s%d",
								 arg, type, w, type, j);
		}
		*first = false;
	}
}

/*
 * trickle_ivm_final: the UNION ALL of arms of the top block, each projected
 * to the term's columns (and weight) and filtered by WHERE, with the
 * subqueries of those expressions as subs says (NULL: as written).
 */
char *
trickle_ivm_final(IvmTerm *t, List *arms, IvmSubValue *subs, bool weighted)
{
	TrickleIvmPlan *plan = t->m->plan;
	List	   *targets = term_targets(plan, t->partials);
	StringInfoData sql;
	ListCell   *lc;

	initStringInfo(&sql);
	foreach(lc, arms)
	{
		IvmArm	   *arm = lfirst(lc);
		ListCell   *lc2;
		bool		first = true;

		appendStringInfoString(&sql, lc == list_head(arms) ? "SELECT " : " UNION ALL SELECT ");
		foreach(lc2, targets)
		{
			TermTarget *tt = lfirst(lc2);

			appendStringInfo(&sql, "%s%s AS %s", first ? "" : ", ",
							 trickle_ivm_slot(t, tt->expr, t->m->top, arm->alias, subs),
							 tt->name);
			first = false;
		}
		if (t->partials)
			append_partials(&sql, t, arm, subs, weighted, &first);
		if (weighted)
			appendStringInfo(&sql, "%s(%s)::pg_catalog.int4 AS __trickle_w", first ? "" : ", ",
							 trickle_ivm_arm_weight(arm));
		appendStringInfo(&sql, " FROM %s", arm->from);
		if (t->m->top->where)
			appendStringInfo(&sql, " WHERE %s",
							 trickle_ivm_slot(t, t->m->top->where, t->m->top, arm->alias, subs));
	}
	return sql.data;
}

/* sql with the term's WITH queries in front */
static char *
with_ctes(IvmTerm *t, const char *sql)
{
	StringInfoData out;
	ListCell   *lc;

	if (t->ctes == NIL)
		return pstrdup(sql);
	initStringInfo(&out);
	foreach(lc, t->ctes)
		appendStringInfo(&out, "%s%s", lc == list_head(t->ctes) ? "WITH " : ", ",
						 (char *) lfirst(lc));
	appendStringInfo(&out, " %s", sql);
	return out.data;
}

/*
 * trickle_delta_term: see ivm.h.
 */
char *
trickle_delta_term(TrickleIvmPlan *plan, int scan)
{
	IvmModel   *m = trickle_ivm_model(plan, plan->query);
	IvmTerm		t = {0};
	IvmBlock   *top = m->top;
	char	   *sql;

	if (m->problem)
		elog(ERROR, "the query is not maintainable differentially: %s", m->problem);
	if (scan >= list_length(m->scans))
		elog(ERROR, "no scan %d in the differential plan", scan);
	t.m = m;
	t.partials = scan >= 0 && trickle_ivm_eager(plan);
	if (t.partials)
		eager_setup(&t, scan);
	if (scan < 0)
		sql = trickle_ivm_final(&t, list_make1(trickle_ivm_native(&t, top->tree, top)),
								NULL, false);
	else
	{
		int			ps = m->pos[scan];
		ListCell   *lc;

		sql = NULL;
		if (trickle_ivm_holds(top->tree, ps))
			sql = trickle_ivm_final(&t, trickle_ivm_delta(&t, top->tree, top, ps), NULL, true);
		foreach(lc, m->sublinks)
		{
			IvmSublink *sl = lfirst(lc);

			if (ps >= sl->first && ps <= sl->last)
				sql = trickle_ivm_sublink_term(&t, sl, ps);
		}
		if (sql == NULL)
			elog(ERROR, "scan %d is in no join tree", scan);
	}
	return finish(&t, with_ctes(&t, sql));
}
