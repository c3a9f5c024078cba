/*-------------------------------------------------------------------------
 *
 * fuzz_gucenum.c
 *	  libFuzzer target for GUC string to enum coercion (src/gucenum.c).
 *
 * The input bytes, NUL-terminated, are parsed with every table.  Invariants:
 * a success means the canonical name of the value re-parses to the same
 * value and equals the input ignoring ASCII case; a failure means no name of
 * the table equals the input that way (checked with an independent
 * comparison); the typed wrappers agree with the generic parser; the hint
 * list always fits its buffer.
 *
 * fuzz/fuzz_gucenum.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gucenum.h"

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const TrickleEnumEntry *const tables[] = {
	trickle_refresh_mode_entries,
	trickle_cdc_mode_entries,
	trickle_buffer_durability_entries,
	trickle_diff_output_format_entries,
};

#define NUM_TABLES ((int) (sizeof(tables) / sizeof(tables[0])))

/* same_ignoring_ascii_case - byte-wise, folding only A-Z */
static int
same_ignoring_ascii_case(const char *a, const char *b)
{
	size_t		i;

	if (strlen(a) != strlen(b))
		return 0;
	for (i = 0; a[i]; i++)
	{
		unsigned char x = (unsigned char) a[i];
		unsigned char y = (unsigned char) b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char) (x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char) (y + 32);
		if (x != y)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text;
	char		list[64];
	int			t;

	if (size > 1024)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	for (t = 0; t < NUM_TABLES; t++)
	{
		int			v = -12345;
		int			again = -12345;
		bool		ok = trickle_enum_parse(tables[t], text, &v);
		const TrickleEnumEntry *e;
		int			expect_ok = 0;

		for (e = tables[t]; e->name != NULL; e++)
		{
			if (same_ignoring_ascii_case(text, e->name))
			{
				expect_ok = 1;
				break;
			}
		}
		CHECK(ok == expect_ok);
		if (ok)
		{
			const char *name = trickle_enum_name(tables[t], v);

			CHECK(e->value == v);
			CHECK(name != NULL);
			CHECK(same_ignoring_ascii_case(text, name));
			CHECK(trickle_enum_parse(tables[t], name, &again));
			CHECK(again == v);
		}
		else
			CHECK(v == -12345);

		trickle_enum_list(tables[t], list, 1 + size % sizeof(list));
		CHECK(strlen(list) < 1 + size % sizeof(list));
	}

	/* the typed wrappers agree with the tables */
	{
		TrickleRefreshMode rm;
		TrickleCdcMode cm;
		TrickleBufferDurability bd;
		TrickleDiffOutputFormat df;
		int			v;

		CHECK(trickle_parse_refresh_mode(text, &rm) ==
			  trickle_enum_parse(trickle_refresh_mode_entries, text, &v));
		if (trickle_parse_refresh_mode(text, &rm))
			CHECK(strcmp(trickle_refresh_mode_name(rm), trickle_enum_name(trickle_refresh_mode_entries, v)) == 0);
		CHECK(trickle_parse_cdc_mode(text, &cm) ==
			  trickle_enum_parse(trickle_cdc_mode_entries, text, &v));
		if (trickle_parse_cdc_mode(text, &cm))
			CHECK(strcmp(trickle_cdc_mode_name(cm), trickle_enum_name(trickle_cdc_mode_entries, v)) == 0);
		CHECK(trickle_parse_buffer_durability(text, &bd) ==
			  trickle_enum_parse(trickle_buffer_durability_entries, text, &v));
		if (trickle_parse_buffer_durability(text, &bd))
			CHECK(strcmp(trickle_buffer_durability_name(bd), trickle_enum_name(trickle_buffer_durability_entries, v)) == 0);
		CHECK(trickle_parse_diff_output_format(text, &df) ==
			  trickle_enum_parse(trickle_diff_output_format_entries, text, &v));
		if (trickle_parse_diff_output_format(text, &df))
			CHECK(strcmp(trickle_diff_output_format_name(df), trickle_enum_name(trickle_diff_output_format_entries, v)) == 0);
	}

	free(text);
	return 0;
}
