/*-------------------------------------------------------------------------
 *
 * tree.c
 *	  The partition and inheritance trees of captured sources.
 *
 * A source a defining query names (the "root") is captured into one change
 * buffer, changes_<root>, in the root's column numbering, whichever table
 * of its tree a statement names.  PostgreSQL fires statement triggers only
 * on the table a statement names: a statement naming the root fires the
 * root's triggers, whose transition tables hold the rows of every partition
 * or child it touched, converted to the root's row type (a row moved
 * between partitions by an UPDATE shows as an update); a statement naming a
 * partition, an intermediate partitioned table or an inheritance child
 * fires only that table's triggers, with rows in its own row type.  So
 * every member of the tree carries the capture triggers, and the payload of
 * a member's triggers maps its attribute numbers onto the root's by column
 * name (partitions and children match their parents' columns by name; their
 * numbers differ after dropped columns or a different column order).  A
 * statement fires the triggers of one table only, so no change is captured
 * twice.
 *
 * This is exact only while every table whose rows the root's query reads
 * is a member that the root's buffer hears about.  trickle_cdc_source_problem
 * says when that is not so: the root is itself a partition or child (a
 * statement naming its parent fires only the parent's triggers), a member
 * also inherits from a table outside the tree, a member is a foreign table
 * (its rows change elsewhere), a temporary table (only its own session sees
 * its rows) or a logical replication target (the apply worker fires no
 * statement triggers), or the query says ONLY of a table with members (the
 * buffer cannot tell the root's rows from its members').
 *
 * Concurrency: callers hold at least AccessShareLock on the root; the
 * members are read without locks unless a caller asks for them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_subscription_rel.h"
#include "executor/tuptable.h"
#include "storage/lmgr.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "cdc/cdc.h"

/* one pg_inherits row of a table: a parent, and whether it is detaching */
typedef struct Parent
{
	Oid			relid;
	bool		detach_pending;
} Parent;

/* parents: the pg_inherits rows naming relid as the child (list of Parent) */
static List *
parents(Oid relid)
{
	Relation	rel = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	List	   *result = NIL;

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_inherits inh = (Form_pg_inherits) GETSTRUCT(tuple);
		Parent	   *p = palloc(sizeof(Parent));

		p->relid = inh->inhparent;
		p->detach_pending = inh->inhdetachpending;
		result = lappend(result, p);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return result;
}

/* trickle_cdc_parents: the tables relid directly inherits from */
List *
trickle_cdc_parents(Oid relid)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, parents(relid))
		result = lappend_oid(result, ((Parent *) lfirst(lc))->relid);
	return result;
}

/*
 * trickle_cdc_ancestors: relid and every table it inherits from, directly
 * or not, as partition or as child.
 */
List *
trickle_cdc_ancestors(Oid relid)
{
	List	   *result = list_make1_oid(relid);
	ListCell   *lc;

	/* result grows while it is walked: breadth first */
	foreach(lc, result)
	{
		ListCell   *lc2;

		foreach(lc2, parents(lfirst_oid(lc)))
			result = list_append_unique_oid(result, ((Parent *) lfirst(lc2))->relid);
	}
	return result;
}

/*
 * trickle_cdc_attached: is relid still a member of root's tree, through
 * links none of which is being detached?  The capture trigger of a member
 * asks this on every statement: a partition being detached concurrently
 * keeps its triggers until the detach completes, but queries on the root
 * stop reading it as soon as the first transaction of the detach commits.
 */
bool
trickle_cdc_attached(Oid relid, Oid root)
{
	List	   *reached = list_make1_oid(relid);
	ListCell   *lc;

	foreach(lc, reached)
	{
		ListCell   *lc2;

		if (lfirst_oid(lc) == root)
			return true;
		foreach(lc2, parents(lfirst_oid(lc)))
		{
			Parent	   *p = lfirst(lc2);

			if (!p->detach_pending)
				reached = list_append_unique_oid(reached, p->relid);
		}
	}
	return false;
}

/*
 * trickle_cdc_members: root and every table of its tree (root first),
 * locked in lockmode (the caller has locked root).
 */
List *
trickle_cdc_members(Oid root, LOCKMODE lockmode)
{
	return find_all_inheritors(root, lockmode, NULL);
}

/*
 * trickle_cdc_lock_source: lock a source and every member of its tree, as
 * a query on it would, but before the caller takes its snapshot: TRUNCATE
 * of a partition locks only that partition, and is not MVCC-safe.
 */
void
trickle_cdc_lock_source(Oid source, LOCKMODE lockmode)
{
	LockRelationOid(source, lockmode);
	(void) find_all_inheritors(source, lockmode, NULL);
}

/*
 * trickle_cdc_has_rows: does relid (a table with storage) hold a row the
 * current transaction can see?  Read below any permission or row security:
 * it decides whether rows entered or left a captured tree.
 */
bool
trickle_cdc_has_rows(Oid relid)
{
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Snapshot	snapshot;
	bool		found;

	if (!RELKIND_HAS_STORAGE(get_rel_relkind(relid)))
		return false;
	rel = table_open(relid, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	slot = table_slot_create(rel, NULL);
	found = table_scan_getnextslot(scan, ForwardScanDirection, slot);
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/* is relid a logical replication subscription target? */
static bool
is_subscription_target(Oid relid)
{
	Relation	rel = table_open(SubscriptionRelRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	ScanKeyInit(&key, Anum_pg_subscription_rel_srrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, SubscriptionRelSrrelidSrsubidIndexId, true,
							  NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* "partition" or "inheritance child", for messages about member relid */
static const char *
member_kind(Oid relid)
{
	return get_rel_relispartition(relid) ? "partition" : "inheritance child";
}

/*
 * trickle_cdc_source_problem: why relid, a plain or partitioned table named
 * in a defining query (with ONLY when !inh), cannot be captured exactly, or
 * NULL.  The caller has checked the relation's kind.  See the file header.
 */
char *
trickle_cdc_source_problem(Oid relid, bool inh)
{
	char	   *name = get_rel_name(relid);
	List	   *ups = parents(relid);
	List	   *members;
	ListCell   *lc;

	if (ups != NIL)
	{
		char	   *parent = get_rel_name(((Parent *) linitial(ups))->relid);

		if (get_rel_relispartition(relid))
			return psprintf("source \"%s\" is a partition of \"%s\": statements naming \"%s\" fire no statement trigger of \"%s\"; name \"%s\" in the query instead",
							name, parent, parent, name, parent);
		return psprintf("source \"%s\" inherits from \"%s\": statements naming \"%s\" change its rows without firing its statement triggers",
						name, parent, parent);
	}
	if (is_subscription_target(relid))
		return psprintf("source \"%s\" is a logical replication subscription target: the apply worker fires no statement triggers, so its changes cannot be captured",
						name);

	members = find_all_inheritors(relid, NoLock, NULL);
	if (!inh)
	{
		if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE || list_length(members) > 1)
			return psprintf("FROM ONLY \"%s\", which has partitions or inheritance children whose changes are captured with its own",
							name);
		return NULL;
	}

	foreach(lc, members)
	{
		Oid			member = lfirst_oid(lc);
		char		relkind;
		ListCell   *lc2;

		if (member == relid)
			continue;
		relkind = get_rel_relkind(member);
		if (relkind == '\0')
			continue;			/* dropped meanwhile (not locked) */
		if (relkind == RELKIND_FOREIGN_TABLE)
			return psprintf("%s \"%s\" of source \"%s\" is a foreign table, whose changes cannot be captured",
							member_kind(member), get_rel_name(member), name);
		if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
			return psprintf("%s \"%s\" of source \"%s\" is not a table",
							member_kind(member), get_rel_name(member), name);
		if (get_rel_persistence(member) == RELPERSISTENCE_TEMP)
			return psprintf("%s \"%s\" of source \"%s\" is a temporary table, whose rows only its own session sees",
							member_kind(member), get_rel_name(member), name);
		if (is_subscription_target(member))
			return psprintf("%s \"%s\" of source \"%s\" is a logical replication subscription target: the apply worker fires no statement triggers, so its changes cannot be captured",
							member_kind(member), get_rel_name(member), name);
		/* a partition has one parent, in the tree; a child may have more */
		if (get_rel_relispartition(member))
			continue;
		foreach(lc2, parents(member))
		{
			Oid			parent = ((Parent *) lfirst(lc2))->relid;

			if (!list_member_oid(members, parent))
				return psprintf("inheritance child \"%s\" of source \"%s\" also inherits from \"%s\": statements naming \"%s\" change its rows without firing the triggers of \"%s\"",
								get_rel_name(member), name, get_rel_name(parent),
								get_rel_name(parent), name);
		}
	}
	return NULL;
}
