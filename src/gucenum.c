/*-------------------------------------------------------------------------
 *
 * gucenum.c
 *	  Coerce the text of trickle's enum-like GUCs and options to C enums.
 *
 * This module owns the canonical names of trickle's enumerated settings
 * (refresh mode, CDC mode, change buffer durability, diff output format) and
 * the one rule for matching them: ASCII case-insensitive, otherwise exact.
 * The rule is ASCII-only on purpose, so the result never depends on lc_ctype
 * (under a Turkish locale tolower('I') is not 'i').  The GUC check hooks and
 * the SQL option parsers both go through here, so the two always agree.
 *
 * Concurrency: the tables are read-only; every function is reentrant.
 * Memory: nothing is allocated; returned names are static strings.
 *
 * src/gucenum.c
 *
 *-------------------------------------------------------------------------
 */
#include "gucenum.h"

#include <string.h>

const TrickleEnumEntry trickle_refresh_mode_entries[] = {
	{"auto", TRICKLE_REFRESH_MODE_AUTO},
	{"full", TRICKLE_REFRESH_MODE_FULL},
	{"differential", TRICKLE_REFRESH_MODE_DIFFERENTIAL},
	{"immediate", TRICKLE_REFRESH_MODE_IMMEDIATE},
	{NULL, 0}
};

const TrickleEnumEntry trickle_cdc_mode_entries[] = {
	{"trigger", TRICKLE_CDC_MODE_TRIGGER},
	{"wal", TRICKLE_CDC_MODE_WAL},
	{"auto", TRICKLE_CDC_MODE_AUTO},
	{NULL, 0}
};

const TrickleEnumEntry trickle_buffer_durability_entries[] = {
	{"logged", TRICKLE_BUFFER_DURABILITY_LOGGED},
	{"unlogged", TRICKLE_BUFFER_DURABILITY_UNLOGGED},
	{NULL, 0}
};

const TrickleEnumEntry trickle_diff_output_format_entries[] = {
	{"split", TRICKLE_DIFF_OUTPUT_FORMAT_SPLIT},
	{"merged", TRICKLE_DIFF_OUTPUT_FORMAT_MERGED},
	{NULL, 0}
};

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/* ascii_equals_ci - are a and b equal ignoring ASCII case? */
static bool
ascii_equals_ci(const char *a, const char *b)
{
	while (*a != '\0' && ascii_lower(*a) == ascii_lower(*b))
	{
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/*
 * trickle_enum_parse - look text up in table.
 *
 * Returns true and sets *out to the entry's value when text equals an
 * entry's name ignoring ASCII case; returns false, leaving *out alone, for
 * anything else, including NULL, "", and names with surrounding spaces.
 */
bool
trickle_enum_parse(const TrickleEnumEntry *table, const char *text, int *out)
{
	const TrickleEnumEntry *e;

	if (table == NULL || text == NULL)
		return false;
	for (e = table; e->name != NULL; e++)
	{
		if (ascii_equals_ci(text, e->name))
		{
			*out = e->value;
			return true;
		}
	}
	return false;
}

/*
 * trickle_enum_name - canonical name of value in table, or NULL when no entry
 * has that value.  The result is a static string.
 */
const char *
trickle_enum_name(const TrickleEnumEntry *table, int value)
{
	const TrickleEnumEntry *e;

	if (table == NULL)
		return NULL;
	for (e = table; e->name != NULL; e++)
	{
		if (e->value == value)
			return e->name;
	}
	return NULL;
}

/* append_cut - append str to buf at *len, stopping when buf is full */
static void
append_cut(char *buf, size_t buflen, size_t *len, const char *str)
{
	while (*str != '\0' && *len + 1 < buflen)
		buf[(*len)++] = *str++;
	buf[*len] = '\0';
}

/*
 * trickle_enum_list - write the table's names as "a, b, c" into buf, for
 * hints.  The output is cut to fit buflen and always NUL-terminated when
 * buflen > 0.
 */
void
trickle_enum_list(const TrickleEnumEntry *table, char *buf, size_t buflen)
{
	const TrickleEnumEntry *e;
	size_t		len = 0;

	if (buf == NULL || buflen == 0)
		return;
	buf[0] = '\0';
	if (table == NULL)
		return;
	for (e = table; e->name != NULL; e++)
	{
		if (e != table)
			append_cut(buf, buflen, &len, ", ");
		append_cut(buf, buflen, &len, e->name);
	}
}

/* trickle_parse_refresh_mode - trickle_enum_parse() for TrickleRefreshMode */
bool
trickle_parse_refresh_mode(const char *text, TrickleRefreshMode *out)
{
	int			v;

	if (!trickle_enum_parse(trickle_refresh_mode_entries, text, &v))
		return false;
	*out = (TrickleRefreshMode) v;
	return true;
}

/* trickle_parse_cdc_mode - trickle_enum_parse() for TrickleCdcMode */
bool
trickle_parse_cdc_mode(const char *text, TrickleCdcMode *out)
{
	int			v;

	if (!trickle_enum_parse(trickle_cdc_mode_entries, text, &v))
		return false;
	*out = (TrickleCdcMode) v;
	return true;
}

/*
 * trickle_parse_buffer_durability - trickle_enum_parse() for
 * TrickleBufferDurability
 */
bool
trickle_parse_buffer_durability(const char *text, TrickleBufferDurability *out)
{
	int			v;

	if (!trickle_enum_parse(trickle_buffer_durability_entries, text, &v))
		return false;
	*out = (TrickleBufferDurability) v;
	return true;
}

/*
 * trickle_parse_diff_output_format - trickle_enum_parse() for
 * TrickleDiffOutputFormat
 */
bool
trickle_parse_diff_output_format(const char *text, TrickleDiffOutputFormat *out)
{
	int			v;

	if (!trickle_enum_parse(trickle_diff_output_format_entries, text, &v))
		return false;
	*out = (TrickleDiffOutputFormat) v;
	return true;
}

/* trickle_refresh_mode_name - canonical name of a TrickleRefreshMode or NULL */
const char *
trickle_refresh_mode_name(TrickleRefreshMode value)
{
	return trickle_enum_name(trickle_refresh_mode_entries, (int) value);
}

/* trickle_cdc_mode_name - canonical name of a TrickleCdcMode or NULL */
const char *
trickle_cdc_mode_name(TrickleCdcMode value)
{
	return trickle_enum_name(trickle_cdc_mode_entries, (int) value);
}

/*
 * trickle_buffer_durability_name - canonical name of a
 * TrickleBufferDurability or NULL
 */
const char *
trickle_buffer_durability_name(TrickleBufferDurability value)
{
	return trickle_enum_name(trickle_buffer_durability_entries, (int) value);
}

/*
 * trickle_diff_output_format_name - canonical name of a
 * TrickleDiffOutputFormat or NULL
 */
const char *
trickle_diff_output_format_name(TrickleDiffOutputFormat value)
{
	return trickle_enum_name(trickle_diff_output_format_entries, (int) value);
}
