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

#define NULL_HASH	UINT64CONST(0x9e3779b97f4a7c15)

typedef struct ColumnHasher
{
	bool		skip;			/* dropped column */
	bool		by_hash;		/* extended hash function, else output text */
	FmgrInfo	finfo;
	Oid			collation;
} ColumnHasher;

typedef struct RowHashCache
{
	Oid			type;
	int32		typmod;
	int			natts;
	ColumnHasher cols[FLEXIBLE_ARRAY_MEMBER];
} RowHashCache;

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
								   sizeof(ColumnHasher) * desc->natts);
	cache->type = type;
	cache->typmod = typmod;
	cache->natts = desc->natts;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ColumnHasher *col = &cache->cols[i];
		TypeCacheEntry *tc;

		if (att->attisdropped)
		{
			col->skip = true;
			continue;
		}
		col->collation = att->attcollation;
		tc = lookup_type_cache(att->atttypid, TYPECACHE_HASH_EXTENDED_PROC);
		if (OidIsValid(tc->hash_extended_proc))
		{
			col->by_hash = true;
			fmgr_info_cxt(tc->hash_extended_proc, &col->finfo, fcinfo->flinfo->fn_mcxt);
		}
		else
		{
			Oid			outfunc;
			bool		isvarlena;

			getTypeOutputInfo(att->atttypid, &outfunc, &isvarlena);
			fmgr_info_cxt(outfunc, &col->finfo, fcinfo->flinfo->fn_mcxt);
		}
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
		ColumnHasher *col = &cache->cols[i];
		uint64		h;

		if (col->skip)
			continue;
		if (nulls[i])
			h = NULL_HASH;
		else if (col->by_hash)
			h = DatumGetUInt64(FunctionCall2Coll(&col->finfo, col->collation,
												 values[i], Int64GetDatum(0)));
		else
		{
			char	   *s = OutputFunctionCall(&col->finfo, values[i]);

			h = hash_bytes_extended((const unsigned char *) s, strlen(s), 0);
			pfree(s);
		}
		hash = hash_combine64(hash, h);
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
