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
 * with PRIMARY KEY (__xid, __ord).  See src/cdc/capture.c and buffer.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_CDC_H
#define TRICKLE_CDC_H

#include "postgres.h"

#include "access/transam.h"

#define TRICKLE_BUFFER_SCHEMA	"trickle_changes"

/* src/cdc/capture.c: the current transaction's capture position */
extern void trickle_capture_position(FullTransactionId *xid, int64 *ord);

/* src/cdc/buffer.c; need SPI */
extern char *trickle_buffer_name(Oid source);
extern char *trickle_buffer_column(int attnum);
extern Oid	trickle_buffer_relid(Oid source);
extern void trickle_cdc_configure(Oid source);

#endif							/* TRICKLE_CDC_H */
