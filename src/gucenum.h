/*-------------------------------------------------------------------------
 *
 * gucenum.h
 *	  String-valued GUCs of trickle coerced to C enums, table driven.
 *
 * Each enum has a NULL-name-terminated table of its canonical lower-case
 * names.  Matching ignores ASCII case and nothing else: no trimming, no
 * prefixes, no locale.  Pure core: no PostgreSQL header, no allocation.
 *
 * src/gucenum.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_GUCENUM_H
#define TRICKLE_GUCENUM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct TrickleEnumEntry
{
	const char *name;			/* canonical lower-case name; NULL ends a table */
	int			value;
} TrickleEnumEntry;

/* trickle.refresh_mode */
typedef enum TrickleRefreshMode
{
	TRICKLE_REFRESH_MODE_AUTO,
	TRICKLE_REFRESH_MODE_FULL,
	TRICKLE_REFRESH_MODE_DIFFERENTIAL,
	TRICKLE_REFRESH_MODE_IMMEDIATE
} TrickleRefreshMode;

/* trickle.cdc_mode */
typedef enum TrickleCdcMode
{
	TRICKLE_CDC_MODE_TRIGGER,
	TRICKLE_CDC_MODE_WAL,
	TRICKLE_CDC_MODE_AUTO
} TrickleCdcMode;

/* trickle.change_buffer_durability */
typedef enum TrickleBufferDurability
{
	TRICKLE_BUFFER_DURABILITY_LOGGED,
	TRICKLE_BUFFER_DURABILITY_UNLOGGED
} TrickleBufferDurability;

/* trickle.diff_output_format */
typedef enum TrickleDiffOutputFormat
{
	TRICKLE_DIFF_OUTPUT_FORMAT_SPLIT,
	TRICKLE_DIFF_OUTPUT_FORMAT_MERGED
} TrickleDiffOutputFormat;

extern const TrickleEnumEntry trickle_refresh_mode_entries[];
extern const TrickleEnumEntry trickle_cdc_mode_entries[];
extern const TrickleEnumEntry trickle_buffer_durability_entries[];
extern const TrickleEnumEntry trickle_diff_output_format_entries[];

extern bool trickle_enum_parse(const TrickleEnumEntry *table, const char *text,
							   int *out);
extern const char *trickle_enum_name(const TrickleEnumEntry *table, int value);
extern void trickle_enum_list(const TrickleEnumEntry *table, char *buf,
							  size_t buflen);

extern bool trickle_parse_refresh_mode(const char *text,
									   TrickleRefreshMode *out);
extern bool trickle_parse_cdc_mode(const char *text, TrickleCdcMode *out);
extern bool trickle_parse_buffer_durability(const char *text,
											TrickleBufferDurability *out);
extern bool trickle_parse_diff_output_format(const char *text,
											 TrickleDiffOutputFormat *out);

extern const char *trickle_refresh_mode_name(TrickleRefreshMode value);
extern const char *trickle_cdc_mode_name(TrickleCdcMode value);
extern const char *trickle_buffer_durability_name(TrickleBufferDurability value);
extern const char *trickle_diff_output_format_name(TrickleDiffOutputFormat value);

#endif							/* TRICKLE_GUCENUM_H */
