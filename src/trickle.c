/*-------------------------------------------------------------------------
 *
 * trickle.c
 *	  Library entry point: _PG_init calls each module's init, nothing more.
 *
 * trickle must be loaded through shared_preload_libraries: its guard hooks
 * have to be in place in every backend before any stream table is touched,
 * and later its shared memory and background workers need the postmaster.
 * When the library is loaded any other way (CREATE EXTENSION in a server
 * without the setting), _PG_init installs nothing and the install script's
 * first statement fails with a hint.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "errors.h"
#include "sched/sched.h"
#include "shmem/shmem.h"
#include "trickle.h"

PG_MODULE_MAGIC;

bool		trickle_preloaded = false;

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	trickle_preloaded = true;
	trickle_guc_init();
	trickle_guard_init();
	trickle_shmem_init();
	trickle_sched_init();
	trickle_cdc_init();
}

PG_FUNCTION_INFO_V1(trickle_assert_preloaded);

/*
 * trickle_assert_preloaded: called once by the install script.
 */
Datum
trickle_assert_preloaded(PG_FUNCTION_ARGS)
{
	if (!trickle_preloaded)
		ereport(ERROR,
				(errcode(TRICKLE_ERRCODE_NOT_PRELOADED),
				 errmsg("trickle must be loaded via \"shared_preload_libraries\""),
				 errdetail("The library \"trickle\" was loaded by this session, not at server start."),
				 errhint("Add trickle to shared_preload_libraries in postgresql.conf and restart the server, then run CREATE EXTENSION trickle again.")));
	PG_RETURN_VOID();
}
