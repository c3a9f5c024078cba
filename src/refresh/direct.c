/*-------------------------------------------------------------------------
 *
 * direct.c
 *	  The direct apply: a one-table aggregate (count, sum, avg, bool_and,
 *	  bool_or; min and max for insertions) refreshed in C.
 *
 * The commonest stream table, SELECT k, count(*), sum(x), avg(x) FROM t
 * GROUP BY k, needs none of the generality of the MERGE that codegen.c
 * writes, and a small refresh of it spends most of its time in that
 * generality: planning and starting a statement of a dozen nodes, probing
 * each group through a LATERAL UNION ALL, numbering new groups with a
 * window, summing FILTERed numerics.  Such a stream table is refreshed here
 * instead, with the same results value for value:
 *
 *	1. The change buffer is read between the same bounds of its primary
 *	   key, with the same test of which rows are unread, as
 *	   trickle_delta_changes_sql (src/ivm/delta.c) writes in SQL, page by
 *	   page as a bitmap heap scan reads; rows the WHERE clause rejects are
 *	   skipped.
 *	2. The changes are summed per group in a hash table keyed by the hash
 *	   of the group key that makes the group's identity class (rowid.c);
 *	   keys are compared with their types' equality, NULL equal to NULL.
 *	3. Each group's stored row is found where the row hints say it was, or
 *	   else by a range scan of its class in the stream table's identity
 *	   index (codegen.c, "Row identity"); see "Finding the stored rows"; the new
 *	   state is the old one plus the group's delta, with the MERGE's
 *	   arithmetic (bigint sums of smallint and integer, numeric otherwise;
 *	   avg is the sum as numeric divided by the count as numeric).
 *	4. The row is deleted (its count reached 0), updated (a value's binary
 *	   image changed), inserted (a new group, numbered after its class's
 *	   highest ordinal) or left alone, with ExecSimpleRelationInsert/Update/
 *	   Delete, as logical replication's apply worker writes rows: indexes,
 *	   constraints and the replica identity check included.
 *
 * Which queries: one table in FROM, any WHERE clause over its columns, GROUP
 * BY expressions over its columns (or none), and count(*), count(x),
 * sum(x) and avg(x) of expressions x over its columns of type smallint,
 * integer, bigint or numeric, bool_and(x) and bool_or(x) (counts of false
 * and of true values), min(x) and max(x) while the changes only insert rows
 * (a removed row may have held the extreme, which the MERGE then
 * recomputes from the table); no subqueries, no volatile functions.  The
 * WHERE clause, keys and arguments are evaluated on each buffer row (the
 * delta of a filter and a projection is the filter and projection of the
 * changes).  Decided once per definition (trickle_direct_plan, cached with
 * the MERGE in codegen.c).  At each refresh, a stream table with triggers
 * (another stream table reads it: its capture needs transition tables),
 * with row security, or without its identity index goes through the MERGE;
 * so does every stream table while trickle.direct_apply is off, a refresh
 * whose groups outgrow the memory a hash aggregate may use (the MERGE's
 * grouping spills to disk; this file's does not), and one where a numeric
 * sum meets NaN or an infinity (the MERGE recomputes those groups).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/typcache.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/xid8.h"

#include "cdc/cdc.h"
#include "fdw/fdw.h"
#include "ivm/ivm.h"
#include "refresh/refresh.h"
#include "trickle.h"

bool		trickle_direct_apply_enabled = true;

typedef struct DirectAgg
{
	TrickleAggKind kind;
	Expr	   *arg;			/* over the scan's columns; NULL for count(*) */
	Oid			argtype;
	Oid			sumtype;		/* sum, avg: INT8OID or NUMERICOID */
	char	   *visible;		/* stored column of the value */
	char	   *nn;				/* sum, avg, bool_*: stored count of non-NULL values */
	char	   *sum;			/* avg: stored sum */
	char	   *truth;			/* bool_and: stored count of false values;
								 * bool_or: of true ones */
} DirectAgg;

/*
 * Where a group's row was when the last refresh in this backend saw or
 * wrote it: a hint, kept with the plan and checked wherever it is used
 * (see "Finding the stored rows").
 */
typedef struct RowHint
{
	uint64		hash;			/* the group's key hash (find_group) */
	ItemPointerData tid;
	char		status;			/* simplehash's */
} RowHint;

#define SH_PREFIX hints
#define SH_ELEMENT_TYPE RowHint
#define SH_KEY_TYPE uint64
#define SH_KEY hash
#define SH_HASH_KEY(tb, key) ((uint32) ((key) >> 32) ^ (uint32) (key))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* the hints kept for one stream table, at most (about 4MB) */
#define MAX_HINTS		(256 * 1024)

struct TrickleDirect
{
	Oid			source;
	bool		global;			/* no GROUP BY: one row, never deleted */
	int			rtindex;		/* the scan's, in the expressions' Vars */
	List	   *qual;			/* WHERE, implicitly ANDed, or NIL */
	int			nkeys;
	Expr	  **keys;			/* over the scan's columns */
	Oid		   *keytypes;
	Oid		   *keycolls;
	char	  **keystored;		/* stored column of each key */
	char	   *count;			/* stored column of a group's row count */
	int			naggs;
	DirectAgg  *aggs;
	bool		extremes;		/* min or max: for insertions only */
	char	   *description;
	/* rows' places, from one refresh to the next */
	MemoryContext hintcxt;
	hints_hash *hints;
	Oid			hintfile;		/* the relfilenode they are in */
};

/* ---------------------------------------------------------------------
 * Which queries
 * ---------------------------------------------------------------------
 */

/* whether expr reads nothing but columns of the scan at rtindex */
static bool
over_scan_walker(Node *node, int *rtindex)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		return var->varno != *rtindex || var->varlevelsup != 0 || var->varattno <= 0;
	}
	if (IsA(node, Param) || IsA(node, SubLink) || IsA(node, Aggref) ||
		IsA(node, WindowFunc) || IsA(node, GroupingFunc) || IsA(node, PlaceHolderVar))
		return true;
	return expression_tree_walker(node, over_scan_walker, rtindex);
}

static bool
over_scan(Node *expr, int rtindex)
{
	return expr != NULL && !over_scan_walker(expr, &rtindex) &&
		!expression_returns_set(expr) && !contain_volatile_functions(expr);
}

/* stored column name, among stored, or NULL */
static TrickleColumn *
stored_column(List *stored, const char *name)
{
	ListCell   *lc;

	foreach(lc, stored)
	{
		if (strcmp(((TrickleColumn *) lfirst(lc))->name, name) == 0)
			return lfirst(lc);
	}
	return NULL;
}

/* whether stored column name, among stored, has type and typmod -1 */
static bool
stored_is(List *stored, const char *name, Oid type)
{
	TrickleColumn *col = stored_column(stored, name);

	return col && col->type == type && col->typmod == -1;
}

/* names with name, if it is not among them */
static List *
computing(List *names, char *name)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		if (strcmp(lfirst(lc), name) == 0)
			return names;
	}
	return lappend(names, name);
}

/*
 * trickle_direct_plan: how plan (over visible columns) is applied directly,
 * or NULL when it is not a query of this file (see the file comment).
 */
TrickleDirect *
trickle_direct_plan(TrickleIvmPlan *plan, List *columns)
{
	Query	   *query = plan->query;
	TrickleIvmScan *scan;
	TrickleDirect *direct;
	List	   *stored;
	ListCell   *lc;
	List	   *computed;		/* names of the stored columns computed */
	int			k = 0;
	int			j = 0;
	StringInfoData desc;

	if (!plan->supported || !plan->aggregate || plan->recompute || plan->recursive ||
		list_length(plan->scans) != 1 || query == NULL)
		return NULL;
	scan = linitial(plan->scans);
	if (query->hasSubLinks || query->hasTargetSRFs ||
		list_length(query->jointree->fromlist) != 1 ||
		!IsA(linitial(query->jointree->fromlist), RangeTblRef) ||
		((RangeTblRef *) linitial(query->jointree->fromlist))->rtindex != scan->rtindex ||
		(query->jointree->quals && !over_scan(query->jointree->quals, scan->rtindex)))
		return NULL;

	stored = list_concat_copy(columns, plan->hidden);
	direct = palloc0(sizeof(TrickleDirect));
	direct->source = scan->relid;
	direct->global = plan->global;
	direct->rtindex = scan->rtindex;
	if (query->jointree->quals)
		direct->qual = make_ands_implicit(copyObject((Expr *) query->jointree->quals));
	direct->nkeys = list_length(plan->keys);
	direct->keys = palloc0(sizeof(Expr *) * Max(direct->nkeys, 1));
	direct->keytypes = palloc0(sizeof(Oid) * Max(direct->nkeys, 1));
	direct->keycolls = palloc0(sizeof(Oid) * Max(direct->nkeys, 1));
	direct->keystored = palloc0(sizeof(char *) * Max(direct->nkeys, 1));
	direct->naggs = list_length(plan->aggs);
	direct->aggs = palloc0(sizeof(DirectAgg) * Max(direct->naggs, 1));

	/* every stored column must be one this file computes */
	direct->count = pstrdup(plan->count);
	if (!stored_is(stored, direct->count, INT8OID))
		return NULL;
	computed = list_make1(direct->count);
	foreach(lc, plan->keys)
	{
		TrickleIvmKey *key = lfirst(lc);
		TrickleColumn *col;

		if (!over_scan((Node *) key->expr, scan->rtindex))
			return NULL;
		direct->keys[k] = copyObject(key->expr);
		direct->keytypes[k] = exprType((Node *) key->expr);
		direct->keycolls[k] = exprCollation((Node *) key->expr);
		direct->keystored[k] = pstrdup(key->stored);
		col = stored_column(stored, key->stored);
		if (col == NULL || col->type != direct->keytypes[k])
			return NULL;
		computed = computing(computed, key->stored);
		k++;
	}
	foreach(lc, plan->aggs)
	{
		TrickleIvmAgg *agg = lfirst(lc);
		DirectAgg  *d = &direct->aggs[j];

		d->kind = agg->kind;
		d->visible = pstrdup(((TrickleColumn *) list_nth(columns, agg->column))->name);
		if (agg->rederive)
			return NULL;
		switch (agg->kind)
		{
			case TRICKLE_AGG_COUNT_STAR:
				if (!stored_is(stored, d->visible, INT8OID))
					return NULL;
				break;
			case TRICKLE_AGG_COUNT:
				if (!over_scan((Node *) agg->arg, scan->rtindex) ||
					!stored_is(stored, d->visible, INT8OID))
					return NULL;
				d->arg = copyObject(agg->arg);
				break;
			case TRICKLE_AGG_SUM:
			case TRICKLE_AGG_AVG:
				if (!over_scan((Node *) agg->arg, scan->rtindex))
					return NULL;
				d->arg = copyObject(agg->arg);
				d->argtype = agg->argtype;
				d->sumtype = agg->argtype == INT8OID || agg->argtype == NUMERICOID ?
					NUMERICOID : INT8OID;
				if ((d->argtype != INT2OID && d->argtype != INT4OID &&
					 d->argtype != INT8OID && d->argtype != NUMERICOID))
					return NULL;
				if (agg->nn == NULL || !stored_is(stored, agg->nn, INT8OID))
					return NULL;
				d->nn = pstrdup(agg->nn);
				if (agg->kind == TRICKLE_AGG_SUM)
				{
					if (!stored_is(stored, d->visible, d->sumtype))
						return NULL;
				}
				else
				{
					if (!stored_is(stored, d->visible, NUMERICOID) || agg->sum == NULL ||
						!stored_is(stored, agg->sum, d->sumtype))
						return NULL;
					d->sum = pstrdup(agg->sum);
					computed = computing(computed, d->sum);
				}
				break;
			case TRICKLE_AGG_MIN:
			case TRICKLE_AGG_MAX:
				{
					TrickleColumn *col = stored_column(stored, d->visible);

					if (!over_scan((Node *) agg->arg, scan->rtindex) || col == NULL ||
						col->type != agg->argtype)
						return NULL;
				}
				d->arg = copyObject(agg->arg);
				d->argtype = agg->argtype;
				if (agg->nn == NULL || !stored_is(stored, agg->nn, INT8OID))
					return NULL;
				d->nn = pstrdup(agg->nn);
				direct->extremes = true;
				break;
			case TRICKLE_AGG_BOOL_AND:
			case TRICKLE_AGG_BOOL_OR:
				if (!over_scan((Node *) agg->arg, scan->rtindex) ||
					exprType((Node *) agg->arg) != BOOLOID ||
					!stored_is(stored, d->visible, BOOLOID))
					return NULL;
				d->arg = copyObject(agg->arg);
				if (agg->nn == NULL || agg->truth == NULL ||
					!stored_is(stored, agg->nn, INT8OID) || !stored_is(stored, agg->truth, INT8OID))
					return NULL;
				d->nn = pstrdup(agg->nn);
				d->truth = pstrdup(agg->truth);
				computed = computing(computed, d->truth);
				break;
			default:
				return NULL;
		}
		if (d->nn)
			computed = computing(computed, d->nn);
		computed = computing(computed, d->visible);
		j++;
	}
	/* a column this file does not know */
	if (list_length(computed) != list_length(stored))
		return NULL;

	initStringInfo(&desc);
	appendStringInfo(&desc, "direct: the changes of %s summed per group in C, rows written one by one",
					 quote_identifier(get_rel_name(direct->source)));
	if (direct->extremes)
		appendStringInfoString(&desc, "; with min or max, while the changes only insert rows (the MERGE otherwise)");
	direct->description = desc.data;
	return direct;
}

/*
 * why_not: why stream table rel must go through the MERGE at this refresh
 * although its query is one of this file's, or NULL
 */
static const char *
why_not(Relation rel)
{
	if (!trickle_direct_apply_enabled)
		return "trickle.direct_apply is off";
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		return "the stream table is not a plain table";
	if (rel->rd_tableam != GetHeapamTableAmRoutine())
		return "the stream table is not stored as a heap";
	if (rel->trigdesc != NULL)
		return "the stream table has triggers (another stream table reads it)";
	if (rel->rd_rel->relrowsecurity)
		return "the stream table has row security";
	if (!OidIsValid(RelationGetPrimaryKeyIndex(rel)))
		return "the stream table has lost its primary key";
	return NULL;
}

/*
 * trickle_direct_explain: how stream table relid is applied, for
 * explain_stream_table (direct is its plan, or NULL)
 */
char *
trickle_direct_explain(TrickleDirect *direct, Oid relid)
{
	Relation	rel;
	const char *reason;

	if (direct == NULL)
		return pstrdup("MERGE (delta_sql)");
	rel = table_open(relid, AccessShareLock);
	reason = why_not(rel);
	table_close(rel, AccessShareLock);
	if (reason)
		return psprintf("MERGE (delta_sql): %s", reason);
	return pstrdup(direct->description);
}

/* ---------------------------------------------------------------------
 * The refresh
 * ---------------------------------------------------------------------
 */

/* a group's summed changes */
typedef struct DirectDelta
{
	int64		nn;				/* weighted count of non-NULL arguments */
	int64		truth;			/* bool_and: of false ones; bool_or: of true ones */
	int64		isum;			/* INT8OID sums */
	Datum		nsum;			/* NUMERICOID sums, 0 while none */
	Datum		extreme;		/* min, max: of the values inserted */
	bool		has_extreme;
} DirectDelta;

typedef struct DirectGroup
{
	struct DirectGroup *next;	/* in the same identity class */
	uint64		hash;
	HeapTuple	stored;			/* its stored row, or NULL */
	char		write;			/* what write_groups does: WRITE_* */
	Datum	   *values;			/* the new row (write_groups) */
	bool	   *nulls;
	HeapTuple	updated;		/* WRITE_UPDATE: the new row, formed */
	Datum	   *keys;
	bool	   *keynulls;
	int64		count;			/* weighted count of rows */
	DirectDelta deltas[FLEXIBLE_ARRAY_MEMBER];
} DirectGroup;

/* DirectGroup.write */
#define WRITE_NOTHING	0
#define WRITE_UPDATE	1
#define WRITE_DELETE	2
#define WRITE_INSERT	3

/* the groups of one identity class */
typedef struct GroupEntry
{
	int64		lo;				/* hash key: the class (codegen.c) */
	char		status;			/* simplehash's */
	int64		top;			/* its highest ordinal seen or given */
	bool		pending;		/* a group's row is still to be found */
	DirectGroup *first;
} GroupEntry;

/*
 * the classes, by their hash bits (already well mixed: the low 32 of the
 * 40 above the ordinal)
 */
#define SH_PREFIX classes
#define SH_ELEMENT_TYPE GroupEntry
#define SH_KEY_TYPE int64
#define SH_KEY lo
#define SH_HASH_KEY(tb, key) ((uint32) ((uint64) (key) >> TRICKLE_CLASS_BITS))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * how a key or an argument is read from a buffer row: a column by number,
 * or an expression over the buffer's columns
 */
typedef struct DirectReader
{
	AttrNumber	att;
	ExprState  *state;
} DirectReader;

/* what one refresh resolved: columns by number, functions by lookup */
typedef struct DirectRun
{
	TrickleDirect *d;
	MemoryContext context;
	TrickleColumnHasher *hashers;
	FmgrInfo  **keyeq;			/* per key: its type's equality */
	int16	   *keylen;
	bool	   *keybyval;
	/* the change buffer */
	AttrNumber	xid_att;
	AttrNumber	ord_att;
	AttrNumber	w_att;
	AttrNumber	last_att;		/* the last column a reader reads itself */
	EState	   *estate;
	ExprContext *econtext;		/* per change row */
	ExprState  *qual;
	DirectReader *keyreaders;
	DirectReader *argreaders;	/* count(*): unused */
	/* the stream table */
	AttrNumber	rid_att;
	AttrNumber	count_att;
	AttrNumber *stkeys;
	AttrNumber *vis_att;
	AttrNumber *nn_att;
	AttrNumber *sum_att;
	AttrNumber *truth_att;
	FmgrInfo  **argcmp;			/* min, max: the argument's comparison */
	Oid		   *argcoll;
	int16	   *arglen;
	bool	   *argbyval;
	classes_hash *groups;
	List	   *order;			/* of DirectGroup, in order of appearance */
	List	   *by_place;		/* the groups whose row was found, mostly in
								 * the order of the rows' places */
	uint64		nchanges;		/* change rows read (before the WHERE clause) */
	bool		truncated;		/* a TRUNCATE marker was read */
} DirectRun;

static AttrNumber
column_number(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

static void bigint_out_of_range(void) pg_attribute_noreturn();

static void
bigint_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("bigint out of range")));
}

static int64
add64(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		bigint_out_of_range();
	return r;
}

static Datum
numeric_plus(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_add, a, b);
}

/* value (of type argtype) as a numeric */
static Datum
as_numeric(Datum value, Oid type)
{
	switch (type)
	{
		case INT2OID:
			return NumericGetDatum(int64_to_numeric(DatumGetInt16(value)));
		case INT4OID:
			return NumericGetDatum(int64_to_numeric(DatumGetInt32(value)));
		case INT8OID:
			return NumericGetDatum(int64_to_numeric(DatumGetInt64(value)));
		default:
			return value;
	}
}

/*
 * int_avg: sum / nn (nn > 0) as numeric_div computes it from the two as
 * numerics, which is what avg() of integers returns: rounded half away
 * from zero at the scale select_div_scale picks, at least 16 significant
 * digits.  With integer operands that scale depends only on their base
 * 10000 weights and first digits, and the quotient is exact integer
 * arithmetic; it is built with int64_div_fast_to_numeric, whose result is
 * the same canonical numeric.  numeric_div itself when the scaled quotient
 * does not fit.
 */
static Datum
int_avg(int64 sum, int64 nn)
{
#ifdef HAVE_INT128
	uint64		a = sum < 0 ? -(uint64) sum : (uint64) sum;
	uint64		w1 = 0,
				w2 = 0,
				d1 = a,
				d2 = (uint64) nn;
	int			rscale;
	uint128		num;
	uint128		q;
	int			i;

	/* select_div_scale: weights and first digits in base 10000 */
	while (d1 >= 10000)
		d1 /= 10000, w1++;
	while (d2 >= 10000)
		d2 /= 10000, w2++;
	rscale = 16 - ((int) w1 - (int) w2 - (d1 <= d2 ? 1 : 0)) * 4;
	rscale = Max(rscale, 0);
	num = a;
	for (i = 0; i < rscale && num <= ~(uint128) 0 / 10; i++)
		num *= 10;
	if (i == rscale)
	{
		q = num / (uint64) nn;
		if ((num % (uint64) nn) * 2 >= (uint64) nn)
			q++;
		if (q <= (uint128) PG_INT64_MAX)
			return NumericGetDatum(int64_div_fast_to_numeric(sum < 0 ? -(int64) q : (int64) q,
															 rscale));
	}
#endif
	return DirectFunctionCall2(numeric_div, NumericGetDatum(int64_to_numeric(sum)),
							   NumericGetDatum(int64_to_numeric(nn)));
}

/* the group of key values in the run's table, made when missing */
static DirectGroup *
find_group(DirectRun *run, Datum *keys, bool *nulls)
{
	TrickleDirect *d = run->d;
	uint64		hash = 0;
	int64		lo;
	GroupEntry *entry;
	DirectGroup *group;
	bool		found;
	int			k;

	for (k = 0; k < d->nkeys; k++)
		hash = trickle_row_hash_add(hash, &run->hashers[k], keys[k], nulls[k]);
	lo = (int64) (hash & ~(uint64) TRICKLE_CLASS_MASK);
	entry = classes_insert(run->groups, lo, &found);
	if (!found)
		entry->first = NULL, entry->top = 0, entry->pending = false;
	for (group = entry->first; group; group = group->next)
	{
		if (group->hash != hash)
			continue;
		for (k = 0; k < d->nkeys; k++)
		{
			if (nulls[k] != group->keynulls[k])
				break;
			if (!nulls[k] &&
				!DatumGetBool(FunctionCall2Coll(run->keyeq[k], d->keycolls[k],
												keys[k], group->keys[k])))
				break;
		}
		if (k == d->nkeys)
			return group;
	}
	group = palloc0(offsetof(DirectGroup, deltas) + sizeof(DirectDelta) * Max(d->naggs, 1));
	group->hash = hash;
	group->keys = palloc(sizeof(Datum) * Max(d->nkeys, 1));
	group->keynulls = palloc(sizeof(bool) * Max(d->nkeys, 1));
	for (k = 0; k < d->nkeys; k++)
	{
		group->keynulls[k] = nulls[k];
		group->keys[k] = nulls[k] ? (Datum) 0 :
			datumCopy(keys[k], run->keybyval[k], run->keylen[k]);
	}
	group->next = entry->first;
	entry->first = group;
	run->order = lappend(run->order, group);
	return group;
}

/* whether a lies beyond b for aggregate j: below for min, above for max */
static bool
beyond(DirectRun *run, int j, Datum a, Datum b)
{
	int32		c = DatumGetInt32(FunctionCall2Coll(run->argcmp[j], run->argcoll[j], a, b));

	return run->d->aggs[j].kind == TRICKLE_AGG_MIN ? c < 0 : c > 0;
}

static Datum
read_value(DirectRun *run, DirectReader *reader, TupleTableSlot *slot, bool *isnull)
{
	if (reader->att)
	{
		*isnull = slot->tts_isnull[reader->att - 1];
		return slot->tts_values[reader->att - 1];
	}
	return ExecEvalExprSwitchContext(reader->state, run->econtext, isnull);
}

/* adds one change row (slot, weight w) to its group */
static void
add_change(DirectRun *run, TupleTableSlot *slot, int32 w)
{
	TrickleDirect *d = run->d;
	Datum		keys[INDEX_MAX_KEYS];
	bool		nulls[INDEX_MAX_KEYS];
	Datum	   *keyv = d->nkeys <= INDEX_MAX_KEYS ? keys : palloc(sizeof(Datum) * d->nkeys);
	bool	   *keyn = d->nkeys <= INDEX_MAX_KEYS ? nulls : palloc(sizeof(bool) * d->nkeys);
	DirectGroup *group;
	int			k;
	int			j;

	for (k = 0; k < d->nkeys; k++)
		keyv[k] = read_value(run, &run->keyreaders[k], slot, &keyn[k]);
	group = find_group(run, keyv, keyn);
	group->count = add64(group->count, w);
	for (j = 0; j < d->naggs; j++)
	{
		DirectAgg  *agg = &d->aggs[j];
		DirectDelta *delta = &group->deltas[j];
		Datum		value;
		bool		isnull;
		int64		term;

		if (agg->kind == TRICKLE_AGG_COUNT_STAR)
			continue;
		value = read_value(run, &run->argreaders[j], slot, &isnull);
		if (isnull)
			continue;
		delta->nn = add64(delta->nn, w);
		if (agg->kind == TRICKLE_AGG_COUNT)
			continue;
		if (agg->kind == TRICKLE_AGG_BOOL_AND || agg->kind == TRICKLE_AGG_BOOL_OR)
		{
			if (DatumGetBool(value) == (agg->kind == TRICKLE_AGG_BOOL_OR))
				delta->truth = add64(delta->truth, w);
			continue;
		}
		if (agg->kind == TRICKLE_AGG_MIN || agg->kind == TRICKLE_AGG_MAX)
		{
			/* an insertion (read_changes gives up on removals) */
			if (!delta->has_extreme || beyond(run, j, value, delta->extreme))
			{
				delta->extreme = datumCopy(value, run->argbyval[j], run->arglen[j]);
				delta->has_extreme = true;
			}
			continue;
		}
		if (agg->sumtype == INT8OID)
		{
			int64		v = agg->argtype == INT2OID ? DatumGetInt16(value) : DatumGetInt32(value);

			if (pg_mul_s64_overflow(v, w, &term))
				bigint_out_of_range();
			delta->isum = add64(delta->isum, term);
		}
		else
		{
			/* in this refresh's memory: value may be in the row or the per-row context */
			Datum		n = as_numeric(value, agg->argtype);

			if (w == -1)
				n = DirectFunctionCall1(numeric_uminus, n);
			else if (w != 1)
				n = DirectFunctionCall2(numeric_mul, n, NumericGetDatum(int64_to_numeric(w)));
			delta->nsum = delta->nsum ? numeric_plus(delta->nsum, n) :
				datumCopy(n, false, -1);
		}
	}
}

/*
 * read_changes: sums the buffer rows the refresh reads (see
 * trickle_delta_changes_sql for the test, and for params) into groups,
 * counting them in run->nchanges (none: the refresh has nothing to do).  A
 * TRUNCATE marker among them stops the read and sets run->truncated (the
 * refresh recomputes).  Otherwise returns why the MERGE must do the refresh
 * instead, or NULL: the groups
 * outgrow half the memory a hash aggregate may use (work_mem times
 * hash_mem_multiplier; the other half is for the stored rows found later),
 * where the MERGE's grouping spills to disk; or a row was removed and the
 * query has min or max, whose extreme may then have to be recomputed from
 * the table, which the MERGE does.
 *
 * The rows are found as a bitmap heap scan finds them: the primary key's
 * range gives their places, which are then read page by page, each page
 * locked once (rather than once per row, as an index scan does).  They come
 * in the order of their places; nothing here depends on the order (sums are
 * exact, and a removal stops the whole read).
 */
static const char *
read_changes(DirectRun *run, Relation buffer, Snapshot snapshot, Datum *params,
			 const char *nulls)
{
	Size		limit = get_hash_memory_limit() / 2;
	uint64		nread = 0;
	const char *stop = NULL;
	Relation	index = index_open(RelationGetPrimaryKeyIndex(buffer), AccessShareLock);
	TupleTableSlot *slot = table_slot_create(buffer, NULL);
	IndexScanDesc iscan;
	TableScanDesc hscan;
	TIDBitmap  *places = tbm_create(work_mem * 1024L, NULL);
	TBMIterator *iterator;
	TBMIterateResult *page;
	ScanKeyData skeys[2];
	uint64		lo = U64FromFullTransactionId(DatumGetFullTransactionId(params[0]));
	uint64		hi = U64FromFullTransactionId(DatumGetFullTransactionId(params[1]));
	uint64		unread = U64FromFullTransactionId(DatumGetFullTransactionId(params[5]));
	bool		has_own = nulls[2] != 'n';
	uint64		own = has_own ? U64FromFullTransactionId(DatumGetFullTransactionId(params[2])) : 0;
	int64		own_ord = DatumGetInt64(params[3]);

	ScanKeyInit(&skeys[0], 1, BTGreaterEqualStrategyNumber, F_XID8GE, params[0]);
	ScanKeyInit(&skeys[1], 1, BTLessStrategyNumber, F_XID8LT, params[1]);
	iscan = index_beginscan_bitmap(index, snapshot, 2);
	index_rescan(iscan, skeys, 2, NULL, 0);
	(void) index_getbitmap(iscan, places);
	index_endscan(iscan);

	hscan = table_beginscan_bm(buffer, snapshot, 0, NULL);
	iterator = tbm_begin_iterate(places);
	while (stop == NULL && (page = tbm_iterate(iterator)) != NULL)
	{
		CHECK_FOR_INTERRUPTS();
		if (!table_scan_bitmap_next_block(hscan, page))
			continue;
		while (stop == NULL && table_scan_bitmap_next_tuple(hscan, page, slot))
		{
			uint64		xid;
			int32		w;

			slot_getsomeattrs(slot, run->last_att);
			w = DatumGetInt32(slot->tts_values[run->w_att - 1]);
			xid = U64FromFullTransactionId(DatumGetFullTransactionId(slot->tts_values[run->xid_att - 1]));
			/* the range again: a page the bitmap lost track of is read whole */
			if (xid < lo || xid >= hi)
				continue;
			if (xid < unread)
			{
				if (has_own && xid == own)
				{
					if (DatumGetInt64(slot->tts_values[run->ord_att - 1]) <= own_ord)
						continue;
				}
				else if (nulls[4] == 'n' ||
						 DatumGetBool(DirectFunctionCall2(pg_visible_in_snapshot,
														  slot->tts_values[run->xid_att - 1],
														  params[4])))
					continue;
			}
			if (w == 0)
			{
				/* a TRUNCATE marker: the refresh recomputes */
				run->truncated = true;
				stop = "its source was truncated";
				break;
			}
			run->nchanges++;
			run->econtext->ecxt_scantuple = slot;
			if (run->qual == NULL || ExecQual(run->qual, run->econtext))
			{
				if (w < 0 && run->d->extremes)
					stop = "rows were removed and the query has min or max";
				else
					add_change(run, slot, w);
			}
			ResetExprContext(run->econtext);
			if (++nread % 256 == 0 && MemoryContextMemAllocated(run->context, true) > limit)
				stop = "its groups need more memory than a hash aggregate may use";
		}
	}
	tbm_end_iterate(iterator);
	table_endscan(hscan);
	tbm_free(places);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	return stop;
}

/* whether two stored values are the same binary image (NULL = NULL) */
static bool
same_value(Form_pg_attribute att, Datum a, bool anull, Datum b, bool bnull)
{
	if (anull || bnull)
		return anull && bnull;
	return datum_image_eq(a, b, att->attbyval, att->attlen);
}

/*
 * new_state: the stored row of group, its old state in old (NULL: none),
 * into values/nulls (every column but the identity).  Returns the new count.
 */
static int64
new_state(DirectRun *run, DirectGroup *group, TupleTableSlot *old, Datum *values, bool *nulls)
{
	TrickleDirect *d = run->d;
	int64		count = group->count;
	int			k;
	int			j;

#define OLD_NULL(att) (old == NULL || old->tts_isnull[(att) - 1])
#define OLD(att) (old->tts_values[(att) - 1])

	if (!OLD_NULL(run->count_att))
		count = add64(count, DatumGetInt64(OLD(run->count_att)));
	values[run->count_att - 1] = Int64GetDatum(count);
	nulls[run->count_att - 1] = false;
	for (k = 0; k < d->nkeys; k++)
	{
		values[run->stkeys[k] - 1] = group->keys[k];
		nulls[run->stkeys[k] - 1] = group->keynulls[k];
	}
	for (j = 0; j < d->naggs; j++)
	{
		DirectAgg  *agg = &d->aggs[j];
		DirectDelta *delta = &group->deltas[j];
		AttrNumber	vis = run->vis_att[j];
		int64		nn;
		Datum		sum = (Datum) 0;
		bool		sumnull;
		AttrNumber	sumatt;

		switch (agg->kind)
		{
			case TRICKLE_AGG_COUNT_STAR:
				values[vis - 1] = Int64GetDatum(count);
				nulls[vis - 1] = false;
				continue;
			case TRICKLE_AGG_COUNT:
				values[vis - 1] = Int64GetDatum(add64(delta->nn, OLD_NULL(vis) ? 0 :
													  DatumGetInt64(OLD(vis))));
				nulls[vis - 1] = false;
				continue;
			default:
				break;
		}

		/* the others: the count of non-NULL values */
		nn = add64(delta->nn, OLD_NULL(run->nn_att[j]) ? 0 : DatumGetInt64(OLD(run->nn_att[j])));
		values[run->nn_att[j] - 1] = Int64GetDatum(nn);
		nulls[run->nn_att[j] - 1] = false;
		if (agg->kind == TRICKLE_AGG_MIN || agg->kind == TRICKLE_AGG_MAX)
		{
			/* insertions only: the old extreme or a new one beyond it */
			nulls[vis - 1] = nn == 0;
			if (nn == 0)
				continue;
			if (!OLD_NULL(vis) && (!delta->has_extreme || !beyond(run, j, delta->extreme, OLD(vis))))
				values[vis - 1] = OLD(vis);
			else if (delta->has_extreme)
				values[vis - 1] = delta->extreme;
			else
				nulls[vis - 1] = true;
			continue;
		}
		if (agg->kind == TRICKLE_AGG_BOOL_AND || agg->kind == TRICKLE_AGG_BOOL_OR)
		{
			AttrNumber	truth = run->truth_att[j];
			int64		n = add64(delta->truth, OLD_NULL(truth) ? 0 : DatumGetInt64(OLD(truth)));

			values[truth - 1] = Int64GetDatum(n);
			nulls[truth - 1] = false;
			/* every value true (no false one), or some value true */
			values[vis - 1] = BoolGetDatum(agg->kind == TRICKLE_AGG_BOOL_AND ? n == 0 : n > 0);
			nulls[vis - 1] = nn == 0;
			continue;
		}

		/* sum and avg: their sum */
		sumatt = agg->kind == TRICKLE_AGG_SUM ? vis : run->sum_att[j];
		sumnull = nn == 0;
		if (!sumnull && agg->sumtype == INT8OID)
			sum = Int64GetDatum(add64(delta->isum, OLD_NULL(sumatt) ? 0 :
									  DatumGetInt64(OLD(sumatt))));
		else if (!sumnull)
		{
			sum = OLD_NULL(sumatt) ? NumericGetDatum(int64_to_numeric(0)) : OLD(sumatt);
			if (delta->nsum)
				sum = numeric_plus(sum, delta->nsum);
		}
		values[sumatt - 1] = sum;
		nulls[sumatt - 1] = sumnull;
		if (agg->kind == TRICKLE_AGG_AVG)
		{
			nulls[vis - 1] = sumnull;
			if (sumnull)
				values[vis - 1] = (Datum) 0;
			else if (agg->sumtype == INT8OID)
				values[vis - 1] = int_avg(DatumGetInt64(sum), nn);
			else
				values[vis - 1] = DirectFunctionCall2(numeric_div, sum,
													  NumericGetDatum(int64_to_numeric(nn)));
		}
	}
#undef OLD
#undef OLD_NULL
	return count;
}

/* whether the stored row in slot holds group's key */
static bool
holds_key(DirectRun *run, TupleTableSlot *slot, DirectGroup *group)
{
	int			k;

	for (k = 0; k < run->d->nkeys; k++)
	{
		AttrNumber	att = run->stkeys[k];

		if (slot->tts_isnull[att - 1] || group->keynulls[k])
		{
			if (slot->tts_isnull[att - 1] != group->keynulls[k])
				return false;
		}
		else if (!DatumGetBool(FunctionCall2Coll(run->keyeq[k], run->d->keycolls[k],
												 slot->tts_values[att - 1], group->keys[k])))
			return false;
	}
	return true;
}

/*
 * Finding the stored rows.  First where the hints say: the place where this
 * backend last saw or wrote each group's row.  A hinted place counts only
 * if the refresh's snapshot sees a row there and that row holds the group's
 * key in the group's identity class; the stream table has one row per
 * group, so that is the group's row, whatever happened in between (another
 * backend's refresh, an aborted one, VACUUM FULL: the hint then points at
 * a dead or different row and is not taken).  In a steady stream of
 * refreshes every changed group is found so, without reading the rest of
 * the stream table.
 *
 * The groups still missing (new ones, or no hint) are looked for in their
 * identity class, by a range scan of the identity index; a class scanned
 * whole also gives its highest ordinal, after which new groups are
 * numbered.  When they are many for the size of the stream table, one
 * sequential scan matching every stored row to the groups of its class is
 * cheaper than a descent of the index per group.  The costs, in microseconds, as measured
 * on a stream table of 1,000 groups in 8 to 80 pages (docs/BENCHMARKS.md):
 * a probe 1.1, a page read in sequence 0.5 plus 0.05 per row on it.  A
 * small delta never reads the whole stream table.
 */
#define PROBE_COST		1.1
#define PAGE_COST		0.5
#define ROW_COST		0.05

static bool
scan_is_cheaper(Relation rel, int ngroups)
{
	BlockNumber pages = RelationGetNumberOfBlocks(rel);
	double		density = 100.0;	/* rows per page, before any VACUUM */

	if (rel->rd_rel->relpages > 0 && rel->rd_rel->reltuples >= 0)
		density = rel->rd_rel->reltuples / rel->rd_rel->relpages;
	return ngroups * PROBE_COST > pages * (PAGE_COST + density * ROW_COST);
}

/* whether the stored row in slot belongs to a group of entry; remembers it */
static void
match_stored(DirectRun *run, GroupEntry *entry, TupleTableSlot *slot)
{
	DirectGroup *group;
	int64		ordinal = DatumGetInt64(slot->tts_values[run->rid_att - 1]) - entry->lo;

	entry->top = Max(entry->top, ordinal);
	for (group = entry->first; group; group = group->next)
	{
		if (group->stored == NULL && holds_key(run, slot, group))
		{
			group->stored = ExecCopySlotHeapTuple(slot);
			run->by_place = lappend(run->by_place, group);
			return;
		}
	}
}

/* a group and the place its hint gives, for sorting by place */
typedef struct HintedGroup
{
	uint64		place;			/* block number, then offset */
	ItemPointerData tid;
	DirectGroup *group;
} HintedGroup;

#define ST_SORT sort_hinted
#define ST_ELEMENT_TYPE HintedGroup
#define ST_COMPARE(a, b) ((a)->place < (b)->place ? -1 : (a)->place > (b)->place ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * stored_at: whether the tuple at tid, on the page in buf (locked), is
 * group's row: the snapshot sees it and it holds the group's key in the
 * group's identity class (see above); if so, a copy becomes group->stored
 */
static bool
stored_at(DirectRun *run, Relation rel, Snapshot snapshot, Buffer buf, ItemPointer tid,
		  DirectGroup *group, TupleTableSlot *slot)
{
	Page		page = BufferGetPage(buf);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	int64		lo = (int64) (group->hash & ~(uint64) TRICKLE_CLASS_MASK);
	ItemId		lp;
	HeapTupleData tuple;
	bool		visible;

	if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		return false;
	lp = PageGetItemId(page, off);
	if (!ItemIdIsNormal(lp))
		return false;
	tuple.t_data = (HeapTupleHeader) PageGetItem(page, lp);
	tuple.t_len = ItemIdGetLength(lp);
	tuple.t_self = *tid;
	tuple.t_tableOid = RelationGetRelid(rel);
	visible = HeapTupleSatisfiesVisibility(&tuple, snapshot, buf);
	HeapCheckForSerializableConflictOut(visible, rel, &tuple, buf, snapshot);
	if (!visible)
		return false;
	/* the slot points at tuple, on this stack: cleared before returning */
	ExecStoreBufferHeapTuple(&tuple, slot, buf);
	slot_getallattrs(slot);
	if ((DatumGetInt64(slot->tts_values[run->rid_att - 1]) & ~TRICKLE_CLASS_MASK) == lo &&
		holds_key(run, slot, group))
	{
		PredicateLockTID(rel, tid, snapshot, HeapTupleHeaderGetXmin(tuple.t_data));
		group->stored = ExecCopySlotHeapTuple(slot);
		run->by_place = lappend(run->by_place, group);
	}
	ExecClearTuple(slot);
	return group->stored != NULL;
}

/*
 * find_stored_by_hints: each group's row where its hint says (see above),
 * page by page in the order of the places, each page pruned as a scan
 * would (so that updates stay on their page); marks the classes of the
 * groups not found there, and returns how many these are
 */
static int
find_stored_by_hints(DirectRun *run, Relation rel, Snapshot snapshot, TupleTableSlot *slot)
{
	hints_hash *hints = run->d->hints;
	BlockNumber nblocks = hints && hints->members > 0 ? RelationGetNumberOfBlocks(rel) : 0;
	HintedGroup *hinted = palloc(sizeof(HintedGroup) * Max(list_length(run->order), 1));
	int			nhinted = 0;
	int			missing = 0;
	ListCell   *lc;
	int			i;

	foreach(lc, run->order)
	{
		DirectGroup *group = lfirst(lc);
		RowHint    *hint = nblocks > 0 ? hints_lookup(hints, group->hash) : NULL;

		if (hint && ItemPointerGetBlockNumber(&hint->tid) < nblocks)
		{
			hinted[nhinted].place = (uint64) ItemPointerGetBlockNumber(&hint->tid) << 16 |
				ItemPointerGetOffsetNumber(&hint->tid);
			hinted[nhinted].tid = hint->tid;
			hinted[nhinted++].group = group;
		}
	}
	sort_hinted(hinted, nhinted);
	for (i = 0; i < nhinted;)
	{
		BlockNumber block = ItemPointerGetBlockNumber(&hinted[i].tid);
		Buffer		buf = ReadBuffer(rel, block);

		CHECK_FOR_INTERRUPTS();
		heap_page_prune_opt(rel, buf);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		for (; i < nhinted && ItemPointerGetBlockNumber(&hinted[i].tid) == block; i++)
			(void) stored_at(run, rel, snapshot, buf, &hinted[i].tid, hinted[i].group, slot);
		UnlockReleaseBuffer(buf);
	}
	pfree(hinted);

	foreach(lc, run->order)
	{
		DirectGroup *group = lfirst(lc);

		if (group->stored == NULL)
		{
			missing++;
			classes_lookup(run->groups,
						   (int64) (group->hash & ~(uint64) TRICKLE_CLASS_MASK))->pending = true;
		}
	}
	return missing;
}

/* hints that group's row is at tid now (NULL: it was deleted) */
static void
remember(DirectRun *run, DirectGroup *group, ItemPointer tid)
{
	TrickleDirect *d = run->d;
	RowHint    *hint;

	if (tid == NULL)
	{
		if (d->hints)
			(void) hints_delete(d->hints, group->hash);
		return;
	}
	if (d->hints == NULL)
	{
		d->hintcxt = AllocSetContextCreate(GetMemoryChunkContext(d), "trickle row hints",
										   ALLOCSET_DEFAULT_SIZES);
		d->hints = hints_create(d->hintcxt, 1024, NULL);
	}
	if (d->hints->members < MAX_HINTS)
	{
		bool		found;

		hint = hints_insert(d->hints, group->hash, &found);
	}
	else
		hint = hints_lookup(d->hints, group->hash);
	if (hint)
		hint->tid = *tid;
}

static void
find_stored_by_index(DirectRun *run, Relation rel, Snapshot snapshot, TupleTableSlot *slot)
{
	Relation	index = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	IndexScanDesc scan = index_beginscan(rel, index, snapshot, 2, 0);
	classes_iterator iter;
	GroupEntry *entry;

	classes_start_iterate(run->groups, &iter);
	while ((entry = classes_iterate(run->groups, &iter)) != NULL)
	{
		ScanKeyData skeys[2];

		CHECK_FOR_INTERRUPTS();
		if (!entry->pending)
			continue;
		ScanKeyInit(&skeys[0], 1, BTGreaterEqualStrategyNumber, F_INT8GE,
					Int64GetDatum(entry->lo));
		ScanKeyInit(&skeys[1], 1, BTLessEqualStrategyNumber, F_INT8LE,
					Int64GetDatum(entry->lo | TRICKLE_CLASS_MASK));
		index_rescan(scan, skeys, 2, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			slot_getallattrs(slot);
			match_stored(run, entry, slot);
		}
	}
	index_endscan(scan);
	index_close(index, AccessShareLock);
}

static void
find_stored_by_scan(DirectRun *run, Relation rel, Snapshot snapshot, TupleTableSlot *slot)
{
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		int64		lo;
		GroupEntry *entry;

		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		lo = DatumGetInt64(slot->tts_values[run->rid_att - 1]) & ~TRICKLE_CLASS_MASK;
		entry = classes_lookup(run->groups, lo);
		if (entry)
			match_stored(run, entry, slot);
	}
	table_endscan(scan);
}

/* whether numeric value d is NaN or infinite */
static bool
nonfinite(Datum d)
{
	Numeric		n = DatumGetNumeric(d);

	return numeric_is_nan(n) || numeric_is_inf(n);
}

/*
 * whether some group of a numeric sum or avg adds or removes a NaN or an
 * infinity, or holds one in its stored sum: a sum that met one stays NaN or
 * infinite whatever is added later, so the MERGE recomputes such groups
 */
static bool
meets_nonfinite(DirectRun *run, TupleDesc desc)
{
	ListCell   *lc;
	int			j;

	for (j = 0; j < run->d->naggs; j++)
	{
		DirectAgg  *agg = &run->d->aggs[j];
		AttrNumber	sumatt = agg->kind == TRICKLE_AGG_SUM ? run->vis_att[j] : run->sum_att[j];

		if (agg->argtype != NUMERICOID ||
			(agg->kind != TRICKLE_AGG_SUM && agg->kind != TRICKLE_AGG_AVG))
			continue;
		foreach(lc, run->order)
		{
			DirectGroup *group = lfirst(lc);
			bool		isnull;
			Datum		old;

			if (group->deltas[j].nsum && nonfinite(group->deltas[j].nsum))
				return true;
			if (group->stored == NULL)
				continue;
			old = heap_getattr(group->stored, sumatt, desc, &isnull);
			if (!isnull && nonfinite(old))
				return true;
		}
	}
	return false;
}

/*
 * write_groups: finds each group's stored row and writes its new state;
 * or returns, having written nothing, why the MERGE must do it.
 */
static const char *
write_groups(DirectRun *run, Relation rel, Snapshot snapshot,
			 int64 *inserted, int64 *updated, int64 *deleted)
{
	const char *stop = NULL;
	TupleDesc	desc = RelationGetDescr(rel);
	EState	   *estate = CreateExecutorState();
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	EPQState	epq;
	TupleTableSlot *scanned;
	TupleTableSlot *old;
	TupleTableSlot *new;
	TupleTableSlot *formed;
	ListCell   *lc;
	List	   *order;
	bool		checks = desc->constr != NULL && desc->constr->num_check > 0;
	bool		updates = false;
	int			missing;

	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(estate, list_make1(rte));
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	estate->es_snapshot = snapshot;
	estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(rri, false);
	EvalPlanQualInit(&epq, estate, NULL, NIL, -1);
	scanned = ExecInitExtraTupleSlot(estate, desc, table_slot_callbacks(rel));
	old = ExecInitExtraTupleSlot(estate, desc, &TTSOpsHeapTuple);
	new = ExecInitExtraTupleSlot(estate, desc, &TTSOpsVirtual);
	formed = ExecInitExtraTupleSlot(estate, desc, &TTSOpsHeapTuple);

	if (run->d->hints && run->d->hintfile != rel->rd_node.relNode)
		hints_reset(run->d->hints);
	run->d->hintfile = rel->rd_node.relNode;
	missing = find_stored_by_hints(run, rel, snapshot, scanned);
	if (missing > 0 && scan_is_cheaper(rel, missing))
		find_stored_by_scan(run, rel, snapshot, scanned);
	else if (missing > 0)
		find_stored_by_index(run, rel, snapshot, scanned);
	ExecClearTuple(scanned);
	if (meets_nonfinite(run, desc))
		stop = "a numeric sum meets NaN or an infinity";

	/*
	 * Stored rows are rewritten in the order of their places, page after
	 * page, as they were found (the page and its buffer's header are still
	 * in the CPU's caches); new groups after them, in the order they appeared
	 * in, which numbers them as the MERGE does.
	 */
	order = run->by_place;
	foreach(lc, run->order)
	{
		DirectGroup *group = lfirst(lc);

		if (group->stored == NULL)
			order = lappend(order, group);
	}
	/*
	 * First every group's new row, then every write: each loop's code then
	 * stays in the CPU's instruction cache (heap_update's path alone is
	 * about as large as it), where one loop doing both missed it for every
	 * row.
	 */
	foreach(lc, stop ? NIL : order)
	{
		DirectGroup *group = lfirst(lc);
		int64		count;

		CHECK_FOR_INTERRUPTS();
		group->write = WRITE_NOTHING;
		group->values = palloc(sizeof(Datum) * desc->natts);
		group->nulls = palloc(sizeof(bool) * desc->natts);
		memset(group->nulls, true, sizeof(bool) * desc->natts);
		if (group->stored)
		{
			ExecStoreHeapTuple(group->stored, old, false);
			slot_getallattrs(old);
		}
		count = new_state(run, group, group->stored ? old : NULL, group->values, group->nulls);
		if (group->stored)
		{
			int			i;
			bool		same = true;

			group->values[run->rid_att - 1] = old->tts_values[run->rid_att - 1];
			group->nulls[run->rid_att - 1] = false;
			if (count == 0 && !run->d->global)
				group->write = WRITE_DELETE;
			else
			{
				for (i = 0; i < desc->natts && same; i++)
				{
					Form_pg_attribute att = TupleDescAttr(desc, i);

					if (!att->attisdropped)
						same = same_value(att, old->tts_values[i], old->tts_isnull[i],
										  group->values[i], group->nulls[i]);
				}
				group->write = same ? WRITE_NOTHING : WRITE_UPDATE;
				if (!same)
				{
					group->updated = heap_form_tuple(desc, group->values, group->nulls);
					updates = true;
				}
			}
		}
		else if (count > 0 || run->d->global)
		{
			int64		lo = (int64) (group->hash & ~(uint64) TRICKLE_CLASS_MASK);
			GroupEntry *entry = classes_lookup(run->groups, lo);

			/* numbered after the class's highest ordinal, as codegen.c does */
			entry->top++;
			group->values[run->rid_att - 1] =
				DirectFunctionCall2(trickle_row_id_class, Int64GetDatum(lo),
									Int64GetDatum(entry->top));
			group->nulls[run->rid_att - 1] = false;
			group->write = WRITE_INSERT;
		}
	}
	ExecClearTuple(old);
	if (updates)
		CheckCmdReplicaIdentity(rel, CMD_UPDATE);

	foreach(lc, stop ? NIL : order)
	{
		DirectGroup *group = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (group->write == WRITE_INSERT)
		{
			ExecClearTuple(new);
			memcpy(new->tts_values, group->values, sizeof(Datum) * desc->natts);
			memcpy(new->tts_isnull, group->nulls, sizeof(bool) * desc->natts);
			ExecStoreVirtualTuple(new);
		}
		switch (group->write)
		{
			case WRITE_DELETE:
				ExecStoreHeapTuple(group->stored, old, false);
				ExecSimpleRelationDelete(rri, estate, &epq, old);
				remember(run, group, NULL);
				(*deleted)++;
				break;
			case WRITE_UPDATE:

				/*
				 * ExecSimpleRelationUpdate's steps that can apply to a
				 * stream table the direct apply writes (why_not): no
				 * trigger, no partition, no generated column
				 */
				if (checks)
				{
					ExecStoreHeapTuple(group->updated, formed, false);
					ExecConstraints(rri, formed, estate);
				}
				simple_heap_update(rel, &group->stored->t_self, group->updated);
				if (rri->ri_NumIndices > 0 && !HeapTupleIsHeapOnly(group->updated))
				{
					/* not a HOT update: every index gets the new row */
					ExecStoreHeapTuple(group->updated, formed, false);
					list_free(ExecInsertIndexTuples(rri, formed, estate, true, false, NULL, NIL));
				}
				remember(run, group, &group->updated->t_self);
				(*updated)++;
				break;
			case WRITE_INSERT:
				ExecSimpleRelationInsert(rri, estate, new);
				remember(run, group, &new->tts_tid);
				(*inserted)++;
				break;
			default:
				if (group->stored)
					remember(run, group, &group->stored->t_self);
				break;
		}
		ResetPerTupleExprContext(estate);
	}

	EvalPlanQualEnd(&epq);
	ExecCloseIndices(rri);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	return stop;
}

/* Vars of the scan made columns of the buffer (desc); NULL: one is missing */
typedef struct BufferVars
{
	int			rtindex;
	TupleDesc	desc;
	bool		missing;
} BufferVars;

static Node *
buffer_vars_mutator(Node *node, BufferVars *ctx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varno == ctx->rtindex)
	{
		Var		   *var = (Var *) copyObject(node);
		AttrNumber	att = column_number(ctx->desc, trickle_buffer_column(var->varattno));

		if (att == InvalidAttrNumber ||
			TupleDescAttr(ctx->desc, att - 1)->atttypid != var->vartype)
			ctx->missing = true;
		var->varno = 1;
		var->varattno = att;
		return (Node *) var;
	}
	return expression_tree_mutator(node, buffer_vars_mutator, ctx);
}

static Node *
over_buffer(DirectRun *run, Node *expr, TupleDesc desc)
{
	BufferVars	ctx;
	Node	   *result;

	ctx.rtindex = run->d->rtindex;
	ctx.desc = desc;
	ctx.missing = false;
	result = buffer_vars_mutator(expr, &ctx);
	return ctx.missing ? NULL : result;
}

/* how expr is read from a buffer row (desc); false: a column is missing */
static bool
make_reader(DirectRun *run, DirectReader *reader, Expr *expr, TupleDesc desc)
{
	Node	   *over = over_buffer(run, (Node *) expr, desc);

	if (over == NULL)
		return false;
	reader->att = 0;
	reader->state = NULL;
	if (IsA(over, Var))
	{
		reader->att = ((Var *) over)->varattno;
		run->last_att = Max(run->last_att, reader->att);
	}
	else
		reader->state = ExecPrepareExpr((Expr *) over, run->estate);
	return true;
}

/* resolves run's columns in the buffer and the stream table; false: missing */
static bool
resolve(DirectRun *run, Relation buffer, Relation rel)
{
	TrickleDirect *d = run->d;
	TupleDesc	bdesc = RelationGetDescr(buffer);
	TupleDesc	sdesc = RelationGetDescr(rel);
	int			n = Max(d->nkeys, 1);
	int			m = Max(d->naggs, 1);
	int			k;
	int			j;

	run->xid_att = column_number(bdesc, "__xid");
	run->ord_att = column_number(bdesc, "__ord");
	run->w_att = column_number(bdesc, "__w");
	run->rid_att = column_number(sdesc, TRICKLE_ROW_ID);
	run->count_att = column_number(sdesc, d->count);
	if (!run->xid_att || !run->ord_att || !run->w_att || !run->rid_att || !run->count_att)
		return false;
	run->last_att = Max(Max(run->xid_att, run->ord_att), run->w_att);
	run->estate = CreateExecutorState();
	run->econtext = GetPerTupleExprContext(run->estate);
	if (d->qual)
	{
		Node	   *qual = over_buffer(run, (Node *) d->qual, bdesc);

		if (qual == NULL)
			return false;
		run->qual = ExecPrepareQual((List *) qual, run->estate);
	}
	run->hashers = palloc(sizeof(TrickleColumnHasher) * n);
	run->keyeq = palloc(sizeof(FmgrInfo *) * n);
	run->keylen = palloc(sizeof(int16) * n);
	run->keybyval = palloc(sizeof(bool) * n);
	run->keyreaders = palloc0(sizeof(DirectReader) * n);
	run->stkeys = palloc(sizeof(AttrNumber) * n);
	for (k = 0; k < d->nkeys; k++)
	{
		TypeCacheEntry *tc = lookup_type_cache(d->keytypes[k], TYPECACHE_EQ_OPR_FINFO);

		if (!OidIsValid(tc->eq_opr))
			return false;
		run->keyeq[k] = &tc->eq_opr_finfo;
		get_typlenbyval(d->keytypes[k], &run->keylen[k], &run->keybyval[k]);
		trickle_column_hasher_init(&run->hashers[k], d->keytypes[k], d->keycolls[k],
								   run->context);
		run->stkeys[k] = column_number(sdesc, d->keystored[k]);
		if (!run->stkeys[k] || !make_reader(run, &run->keyreaders[k], d->keys[k], bdesc))
			return false;
	}
	run->argreaders = palloc0(sizeof(DirectReader) * m);
	run->vis_att = palloc0(sizeof(AttrNumber) * m);
	run->nn_att = palloc0(sizeof(AttrNumber) * m);
	run->sum_att = palloc0(sizeof(AttrNumber) * m);
	run->truth_att = palloc0(sizeof(AttrNumber) * m);
	run->argcmp = palloc0(sizeof(FmgrInfo *) * m);
	run->argcoll = palloc0(sizeof(Oid) * m);
	run->arglen = palloc0(sizeof(int16) * m);
	run->argbyval = palloc0(sizeof(bool) * m);
	for (j = 0; j < d->naggs; j++)
	{
		DirectAgg  *agg = &d->aggs[j];

		run->vis_att[j] = column_number(sdesc, agg->visible);
		if (!run->vis_att[j])
			return false;
		if (agg->arg && !make_reader(run, &run->argreaders[j], agg->arg, bdesc))
			return false;
		if (agg->nn && !(run->nn_att[j] = column_number(sdesc, agg->nn)))
			return false;
		if (agg->sum && !(run->sum_att[j] = column_number(sdesc, agg->sum)))
			return false;
		if (agg->truth && !(run->truth_att[j] = column_number(sdesc, agg->truth)))
			return false;
		if (agg->kind == TRICKLE_AGG_MIN || agg->kind == TRICKLE_AGG_MAX)
		{
			TypeCacheEntry *tc = lookup_type_cache(agg->argtype, TYPECACHE_CMP_PROC_FINFO);

			if (!OidIsValid(tc->cmp_proc))
				return false;
			run->argcmp[j] = &tc->cmp_proc_finfo;
			run->argcoll[j] = exprCollation((Node *) agg->arg);
			get_typlenbyval(agg->argtype, &run->arglen[j], &run->argbyval[j]);
		}
	}
	return true;
}

/*
 * trickle_direct_apply: applies the changes the refresh reads (snapshot,
 * params and nulls as for the MERGE, see trickle_delta_changes_sql) to
 * stream table relid directly, counting the rows written.  Having written
 * nothing, it finds that there were no changes, or that a source was
 * truncated (no change is applied then: the refresh recomputes), or hands
 * the refresh to the MERGE (see the file comment).  The caller holds the
 * refresh's locks.
 */
TrickleDirectOutcome
trickle_direct_apply(TrickleDirect *direct, Oid relid, Snapshot snapshot, Datum *params,
					 const char *nulls, int64 *inserted, int64 *updated, int64 *deleted)
{
	Oid			bufrelid;
	Relation	rel;
	Relation	buffer;
	DirectRun	run;
	MemoryContext old;
	TrickleDirectOutcome outcome = TRICKLE_DIRECT_MERGE;

	*inserted = *updated = *deleted = 0;
	if (!trickle_direct_apply_enabled)
		return TRICKLE_DIRECT_MERGE;
	bufrelid = trickle_buffer_relid(direct->source);
	if (!OidIsValid(bufrelid))
		return TRICKLE_DIRECT_MERGE;
	rel = table_open(relid, RowExclusiveLock);
	if (why_not(rel) != NULL)
	{
		table_close(rel, RowExclusiveLock);
		return TRICKLE_DIRECT_MERGE;
	}
	buffer = table_open(bufrelid, AccessShareLock);
	if (!OidIsValid(RelationGetPrimaryKeyIndex(buffer)))
	{
		table_close(buffer, AccessShareLock);
		table_close(rel, RowExclusiveLock);
		return TRICKLE_DIRECT_MERGE;
	}

	memset(&run, 0, sizeof(run));
	run.d = direct;
	run.context = AllocSetContextCreate(CurrentMemoryContext, "trickle direct apply",
										ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(run.context);
	if (resolve(&run, buffer, rel))
	{
		const char *stop;

		run.groups = classes_create(run.context, 1024, NULL);
		stop = read_changes(&run, buffer, snapshot, params, nulls);
		if (run.truncated)
			outcome = TRICKLE_DIRECT_TRUNCATED;
		else if (stop == NULL && run.nchanges == 0)
			outcome = TRICKLE_DIRECT_NO_CHANGES;
		else
		{
			if (stop == NULL)
				stop = write_groups(&run, rel, snapshot, inserted, updated, deleted);
			if (stop == NULL)
				outcome = TRICKLE_DIRECT_APPLIED;
			else
				elog(DEBUG1, "trickle: the MERGE refreshes %s: %s",
					 RelationGetRelationName(rel), stop);
		}
	}
	if (run.estate)
		FreeExecutorState(run.estate);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(run.context);
	table_close(buffer, AccessShareLock);
	table_close(rel, RowExclusiveLock);
	if (outcome == TRICKLE_DIRECT_APPLIED)
		CommandCounterIncrement();
	return outcome;
}
