/*-------------------------------------------------------------------------
 *
 * sched.h
 *	  The scheduler: a launcher, one scheduler per database, refresh
 *	  workers, and the hooks through which ordinary backends tell them what
 *	  happened (commits that captured changes, catalog changes, databases
 *	  appearing, being renamed or dropped).
 *
 * src/sched/sched.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_SCHED_H
#define TRICKLE_SCHED_H

#include "postgres.h"

/* src/sched/notify.c */
extern void trickle_sched_init(void);
extern void trickle_sched_note_capture(Oid source);
extern void trickle_sched_catalog_changed(void);
extern bool trickle_sched_claim_manual(Oid relid, bool wait);

/* bgworker entry points (src/sched/launcher.c, scheduler.c, worker.c) */
extern PGDLLEXPORT void trickle_launcher_main(Datum arg);
extern PGDLLEXPORT void trickle_scheduler_main(Datum arg);
extern PGDLLEXPORT void trickle_worker_main(Datum arg);

/* src/sched/bgw.c */
struct BackgroundWorkerHandle;
extern bool trickle_bgw_start(const char *function, const char *name, Oid dboid,
							  struct BackgroundWorkerHandle **handle);
extern void trickle_bgw_init(Oid dboid, const char *name);
extern void trickle_bgw_reload(void);
extern void trickle_bgw_begin(const char *activity);
extern void trickle_bgw_commit(void);

/* src/sched/launcher.c */
extern void trickle_launcher_register(void);

#endif							/* TRICKLE_SCHED_H */
