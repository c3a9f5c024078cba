/*-------------------------------------------------------------------------
 *
 * cdc.h
 *	  Change capture: statement triggers writing change buffers.
 *
 * Every captured source has a change buffer trickle_changes.changes_<oid>:
 *
 *	__xid	xid8	top-level transaction that wrote the change
 *	__ord	bigint	order of the change inside that transaction
 *	__w		integer	+1 inserted, -1 deleted, 0 a marker (TRUNCATE)
 *	a<n>	...		source column n, for every column some stream table reads
 *
 * with PRIMARY KEY (__xid, __ord).  See src/cdc/capture.c and buffer.c.  A
 * partitioned or inheritance source has one buffer, in its own column
 * numbering, filled by the triggers of every table of its tree (tree.c);
 * ddl.c keeps the triggers in step with the tree.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_CDC_H
#define TRICKLE_CDC_H

#include "postgres.h"

#include "access/transam.h"
#include "nodes/pg_list.h"
#include "storage/lockdefs.h"

#define TRICKLE_BUFFER_SCHEMA	"trickle_changes"

/* src/cdc/capture.c: the current transaction's capture position */
extern void trickle_buffer_init(void);
extern void trickle_capture_position(FullTransactionId *xid, int64 *ord);

/* src/cdc/capture.c: a marker making every consumer of source recompute */
extern void trickle_capture_mark(Oid source);

/* src/cdc/buffer.c; need SPI */
extern char *trickle_buffer_name(Oid source);
extern char *trickle_buffer_column(int attnum);
extern Oid	trickle_buffer_relid(Oid source);
extern void trickle_cdc_configure(Oid source);
extern void trickle_cdc_reconcile(List *touched, bool check_all);
extern List *trickle_cdc_capture_buffers(Oid relid);

/* src/cdc/tree.c: partition and inheritance trees of sources */
extern List *trickle_cdc_members(Oid root, LOCKMODE lockmode);
extern List *trickle_cdc_parents(Oid relid);
extern List *trickle_cdc_ancestors(Oid relid);
extern bool trickle_cdc_attached(Oid relid, Oid root);
extern void trickle_cdc_lock_source(Oid source, LOCKMODE lockmode);
extern bool trickle_cdc_has_rows(Oid relid);
extern char *trickle_cdc_source_problem(Oid relid, bool inh);

/* src/cdc/ddl.c: markers for members dropped by the current command */
extern void trickle_cdc_mark_dropped(void);

#endif							/* TRICKLE_CDC_H */
