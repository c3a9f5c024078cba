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

#include "trickle.h"

/*
 * trickle_guc_init: register the settings and reserve the "trickle." prefix,
 * so that a misspelt trickle.* setting is reported instead of ignored.
 */
void
trickle_guc_init(void)
{
	MarkGUCPrefixReserved("trickle");
}
