/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  trickle's configuration parameters, all of them, sorted by name.
 *
 * Only settings that do something today are registered; the coercion of the
 * enum-valued settings that later features bring (refresh_mode, cdc_mode,
 * change_buffer_durability, diff_output_format) lives, backend-free and
 * fuzzed, in gucenum.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "refresh/refresh.h"
#include "shmem/shmem.h"

#include "trickle.h"

/*
 * trickle_guc_init: register the settings and reserve the "trickle." prefix,
 * so that a misspelt trickle.* setting is reported instead of ignored.
 */
bool		trickle_enabled = true;
int			trickle_max_workers = 4;
int			trickle_per_database_worker_quota = 2;
int			trickle_max_consecutive_errors = 5;
int			trickle_max_databases = 64;
int			trickle_max_stream_tables = 4096;
int			trickle_safety_interval_ms = 30000;

void
trickle_guc_init(void)
{
	DefineCustomBoolVariable("trickle.enabled",
							 "Whether the scheduler refreshes stream tables.",
							 "Off pauses all scheduled refreshes; manual refreshes still work.",
							 &trickle_enabled, true, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("trickle.max_workers",
							"Refresh workers the whole cluster may run at once.",
							"They count against max_worker_processes.",
							&trickle_max_workers, 4, 0, 1024, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("trickle.per_database_worker_quota",
							"Refresh workers one database may run at once.",
							NULL,
							&trickle_per_database_worker_quota, 2, 1, 1024, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("trickle.buffer_truncate_threshold",
							"Size from which a change buffer whose rows every consumer has read is emptied by TRUNCATE.",
							"A smaller buffer of at least 8 pages keeps its consumed rows until it grows to this size; one of fewer pages is cleaned by DELETE.",
							&trickle_buffer_truncate_threshold, 2048, 1, INT_MAX / 2, PGC_USERSET,
							GUC_UNIT_BLOCKS, NULL, NULL, NULL);
	DefineCustomBoolVariable("trickle.direct_apply",
							 "Whether one-table aggregate stream tables (count, sum, avg, bool_and, bool_or; min and max of insertions) are refreshed by trickle's own C code.",
							 "Off refreshes them with the MERGE every other differential stream table uses; the results are the same.",
							 &trickle_direct_apply_enabled, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("trickle.max_consecutive_errors",
							"Failed scheduled refreshes in a row after which a stream table goes to status ERROR.",
							NULL,
							&trickle_max_consecutive_errors, 5, 1, 1000000, PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("trickle.max_databases",
							"Databases with trickle the scheduler can serve.",
							NULL,
							&trickle_max_databases, 64, 1, 10000, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("trickle.max_stream_tables",
							"Stream tables, in all databases, the scheduler can track.",
							NULL,
							&trickle_max_stream_tables, 4096, 16, 1000000, PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("trickle.safety_interval",
							"How often a scheduler checks change buffers without a wake-up.",
							"Wake-ups from committing transactions can be lost (COMMIT PREPARED, crash restart).",
							&trickle_safety_interval_ms, 30000, 100, INT_MAX, PGC_SIGHUP,
							GUC_UNIT_MS, NULL, NULL, NULL);
	MarkGUCPrefixReserved("trickle");
}
