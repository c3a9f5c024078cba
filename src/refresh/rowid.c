/*-------------------------------------------------------------------------
 *
 * rowid.c
 *	  trickle._row_hash(record): a 64-bit hash of a row's values.
 *
 * The identity of a stream table row (__trickle_row_id) is built from this
 * hash.  Each value is hashed with its type's extended hash support function
 * under the column's collation, so values that are equal hash alike whatever
 * their text form (1.0 and 1.00).  A type without hash support (json, point)
 * is hashed through its output function; equal binary images still hash
 * alike, which is all a FULL refresh's row matching needs.
 *
 * _row_id keeps the full 64 bits: the first row with a hash takes the hash
 * itself, later ones (duplicates, or the rare distinct row with the same
 * hash) a 64-bit hash of the pair.  (hashint8extended would not do: it folds
 * its argument to 32 bits so that int8 hashes like int4, which makes
 * collisions likely from tens of thousands of rows.)
 *
 * The per-column function lookups are cached in fn_extra for the row type
 * seen first; a call with another row type rebuilds the cache.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "ivm/ivm.h"
#include "refresh/refresh.h"

#define NULL_HASH	UINT64CONST(0x9e3779b97f4a7c15)

typedef struct RowHashCache
{
	Oid			type;
	int32		typmod;
	int			natts;
	TrickleColumnHasher cols[FLEXIBLE_ARRAY_MEMBER];
} RowHashCache;

/*
 * trickle_column_hasher_init: how values of type, under collation, are
 * hashed (function lookups in context).
 */
void
trickle_column_hasher_init(TrickleColumnHasher *col, Oid type, Oid collation,
						   MemoryContext context)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_HASH_EXTENDED_PROC);

	col->skip = false;
	col->collation = collation;
	if (OidIsValid(tc->hash_extended_proc))
	{
		col->by_hash = true;
		fmgr_info_cxt(tc->hash_extended_proc, &col->finfo, context);
	}
	else
	{
		Oid			outfunc;
		bool		isvarlena;

		col->by_hash = false;
		getTypeOutputInfo(type, &outfunc, &isvarlena);
		fmgr_info_cxt(outfunc, &col->finfo, context);
	}
}

/*
 * trickle_row_hash_add: hash, combined with one more column's value; a
 * row's hash starts at 0 and adds its columns in order.
 */
uint64
trickle_row_hash_add(uint64 hash, TrickleColumnHasher *col, Datum value, bool isnull)
{
	uint64		h;

	if (isnull)
		h = NULL_HASH;
	else if (col->by_hash)
		h = DatumGetUInt64(FunctionCall2Coll(&col->finfo, col->collation,
											 value, Int64GetDatum(0)));
	else
	{
		char	   *s = OutputFunctionCall(&col->finfo, value);

		h = hash_bytes_extended((const unsigned char *) s, strlen(s), 0);
		pfree(s);
	}
	return hash_combine64(hash, h);
}

static RowHashCache *
row_hash_cache(FunctionCallInfo fcinfo, TupleDesc desc, Oid type, int32 typmod)
{
	RowHashCache *cache = fcinfo->flinfo->fn_extra;
	int			i;

	if (cache && cache->type == type && cache->typmod == typmod &&
		cache->natts == desc->natts)
		return cache;

	cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
								   offsetof(RowHashCache, cols) +
								   sizeof(TrickleColumnHasher) * desc->natts);
	cache->type = type;
	cache->typmod = typmod;
	cache->natts = desc->natts;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			cache->cols[i].skip = true;
		else
			trickle_column_hasher_init(&cache->cols[i], att->atttypid, att->attcollation,
									   fcinfo->flinfo->fn_mcxt);
	}
	fcinfo->flinfo->fn_extra = cache;
	return cache;
}

PG_FUNCTION_INFO_V1(trickle_row_hash);

/*
 * trickle_row_hash(record) returns bigint.  NULL in, NULL out.
 */
Datum
trickle_row_hash(PG_FUNCTION_ARGS)
{
	HeapTupleHeader rec;
	Oid			type;
	int32		typmod;
	TupleDesc	desc;
	HeapTupleData tuple;
	RowHashCache *cache;
	Datum	   *values;
	bool	   *nulls;
	uint64		hash = 0;
	int			i;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	rec = PG_GETARG_HEAPTUPLEHEADER(0);
	type = HeapTupleHeaderGetTypeId(rec);
	typmod = HeapTupleHeaderGetTypMod(rec);
	desc = lookup_rowtype_tupdesc(type, typmod);
	cache = row_hash_cache(fcinfo, desc, type, typmod);

	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(&tuple, desc, values, nulls);

	for (i = 0; i < desc->natts; i++)
	{
		if (!cache->cols[i].skip)
			hash = trickle_row_hash_add(hash, &cache->cols[i], values[i], nulls[i]);
	}
	ReleaseTupleDesc(desc);
	pfree(values);
	pfree(nulls);
	PG_RETURN_INT64((int64) hash);
}

PG_FUNCTION_INFO_V1(trickle_row_id);

/*
 * trickle_row_id(hash bigint, ordinal bigint) returns bigint.  Strict.
 */
Datum
trickle_row_id(PG_FUNCTION_ARGS)
{
	int64		pair[2];

	pair[0] = PG_GETARG_INT64(0);
	pair[1] = PG_GETARG_INT64(1);
	if (pair[1] == 1)
		PG_RETURN_INT64(pair[0]);
	PG_RETURN_INT64((int64) hash_bytes_extended((const unsigned char *) pair,
												sizeof(pair), 0));
}

PG_FUNCTION_INFO_V1(trickle_row_id_class);

/*
 * trickle_row_id_class(hash bigint, ordinal bigint) returns bigint: the
 * ordinal-th identity of hash's class (ordinal 0: the class itself, the
 * lower end of its range).  See src/refresh/codegen.c.  Strict.
 */
Datum
trickle_row_id_class(PG_FUNCTION_ARGS)
{
	int64		hash = PG_GETARG_INT64(0);
	int64		ordinal = PG_GETARG_INT64(1);

	if (ordinal < 0 || ordinal > TRICKLE_CLASS_MASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a differential stream table holds at most " INT64_FORMAT " copies of one row",
						TRICKLE_CLASS_MASK),
				 errdetail("Row number " INT64_FORMAT " of one key was requested.", ordinal),
				 errhint("Use refresh_mode => 'full' for this stream table, or refresh it with \"full\" => true to renumber its rows.")));
	PG_RETURN_INT64((hash & ~TRICKLE_CLASS_MASK) | ordinal);
}
