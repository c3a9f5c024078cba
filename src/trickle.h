/*-------------------------------------------------------------------------
 *
 * trickle.h
 *	  Names and entry points shared by every trickle module.
 *
 * Each module (src/fdw, src/refresh, src/shmem, ...) has its own public
 * header; this one holds only what all of them need: the fixed object names
 * of the extension and the per-module init functions called by _PG_init.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_H
#define TRICKLE_H

#include "postgres.h"

#define TRICKLE_SCHEMA			"trickle"
#define TRICKLE_EXTENSION		"trickle"
#define TRICKLE_AM				"trickle"
#define TRICKLE_CATALOG			"catalog"
#define TRICKLE_COLUMN_PREFIX	"__trickle_"
#define TRICKLE_ROW_ID			"__trickle_row_id"

/* search_path under which generated and stored SQL runs */
#define TRICKLE_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

/* true when _PG_init ran from shared_preload_libraries */
extern bool trickle_preloaded;

extern void trickle_guc_init(void);
extern void trickle_guard_init(void);
extern void trickle_cdc_init(void);

/* src/catalog.c: who owns the extension (catalog writes run as that role) */
extern Oid	trickle_extension_owner(void);
extern Oid	trickle_schema_oid(void);
extern Oid	trickle_am_oid(bool missing_ok);

#endif							/* TRICKLE_H */
