/*-------------------------------------------------------------------------
 *
 * payload.h
 *	  The argument string of trickle's change-capture triggers: which change
 *	  buffer a table's rows go to and how its columns map onto the buffer's.
 *
 * Text form (ASCII, no whitespace, at most TRICKLE_PAYLOAD_MAX_LENGTH bytes):
 *
 *	t1:<buffer>:<cols>[:<flags>]
 *
 * "t1" is the version tag; <buffer> the OID of the source whose buffer
 * receives the rows; <cols> a comma list, possibly empty, of "<b>=<l>"
 * pairs mapping a buffer attribute number to the attribute number in the
 * table that carries the trigger; <flags> a non-empty set of 'p'
 * (partition: capture into the root's buffer) and 'm' (mark-only).  See
 * payload.c for the exact rules.
 *
 * This is a pure core: it includes no PostgreSQL header and allocates no
 * memory, so unit tests and fuzzers link it alone.  The backend glue turns a
 * false return into an ereport() using the message left in err.
 *
 * src/cdc/payload.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_PAYLOAD_H
#define TRICKLE_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>

/* MaxHeapAttributeNumber: the largest attribute number, and so pair count */
#define TRICKLE_PAYLOAD_MAX_COLUMNS		1600

/* Longest payload text, in bytes, not counting the terminating NUL */
#define TRICKLE_PAYLOAD_MAX_LENGTH		8191

/* A buffer of this size always holds trickle_payload_format()'s output. */
#define TRICKLE_PAYLOAD_FORMAT_LEN		(TRICKLE_PAYLOAD_MAX_LENGTH + 1)

/* A buffer of this size always holds trickle_payload_parse()'s messages. */
#define TRICKLE_PAYLOAD_ERROR_LEN		128

/* One column mapping: buffer column b is filled from local column l */
typedef struct TricklePayloadColumn
{
	int			buffer_attnum;	/* attnum in the root source table */
	int			local_attnum;	/* attnum in the table with the trigger */
} TricklePayloadColumn;

/*
 * A decoded payload.  Only the first ncolumns entries of columns are
 * meaningful, in the order they were written.  Compare values with
 * trickle_payload_equal(), never memcmp() (padding, unused entries).  The
 * struct is about 13 kB; do not put many on the stack.
 */
typedef struct TricklePayload
{
	unsigned int buffer_oid;	/* OID of the source whose buffer receives
								 * the rows */
	int			ncolumns;
	TricklePayloadColumn columns[TRICKLE_PAYLOAD_MAX_COLUMNS];
	bool		partition;		/* flag p */
	bool		mark_only;		/* flag m */
} TricklePayload;

extern bool trickle_payload_parse(const char *text, TricklePayload *out,
								  char *err, size_t errlen);
extern int	trickle_payload_format(const TricklePayload *in, char *buf,
								   size_t buflen);
extern bool trickle_payload_equal(const TricklePayload *a,
								  const TricklePayload *b);

#endif							/* TRICKLE_PAYLOAD_H */
