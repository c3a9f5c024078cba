/*-------------------------------------------------------------------------
 *
 * test_gucenum.c
 *	  Unit tests for GUC string to enum coercion (src/gucenum.c).
 *
 * test/unit/test_gucenum.c
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gucenum.h"

typedef struct TableCase
{
	const char *label;
	const TrickleEnumEntry *table;
	const char *const *names;	/* canonical names, in value order */
	int			count;
	const char *list;
} TableCase;

static const char *const refresh_names[] = {"auto", "full", "differential", "immediate"};
static const char *const cdc_names[] = {"trigger", "wal", "auto"};
static const char *const durability_names[] = {"logged", "unlogged"};
static const char *const diff_names[] = {"split", "merged"};

static const TableCase table_cases[] = {
	{"refresh_mode", trickle_refresh_mode_entries, refresh_names, 4,
	"auto, full, differential, immediate"},
	{"cdc_mode", trickle_cdc_mode_entries, cdc_names, 3, "trigger, wal, auto"},
	{"change_buffer_durability", trickle_buffer_durability_entries,
	durability_names, 2, "logged, unlogged"},
	{"diff_output_format", trickle_diff_output_format_entries, diff_names, 2,
	"split, merged"},
};

#define NUM_TABLE_CASES ((int) (sizeof(table_cases) / sizeof(table_cases[0])))

static void
upper_copy(const char *src, char *dst)
{
	for (; *src; src++, dst++)
		*dst = (*src >= 'a' && *src <= 'z') ? (char) (*src - 'a' + 'A') : *src;
	*dst = '\0';
}

static void
test_all_names(void **state)
{
	int			t;
	int			i;

	(void) state;
	for (t = 0; t < NUM_TABLE_CASES; t++)
	{
		const TableCase *tc = &table_cases[t];
		int			n = 0;

		for (i = 0; tc->table[i].name != NULL; i++)
			n++;
		assert_int_equal(n, tc->count);
		for (i = 0; i < tc->count; i++)
		{
			int			v = -1;

			assert_true(trickle_enum_parse(tc->table, tc->names[i], &v));
			/* values follow the C enums, which count from 0 in this order */
			assert_int_equal(v, i);
			assert_string_equal(trickle_enum_name(tc->table, v), tc->names[i]);
		}
	}
}

static void
test_enum_values(void **state)
{
	int			v;

	(void) state;
	assert_true(trickle_enum_parse(trickle_refresh_mode_entries, "auto", &v));
	assert_int_equal(v, TRICKLE_REFRESH_MODE_AUTO);
	assert_true(trickle_enum_parse(trickle_refresh_mode_entries, "full", &v));
	assert_int_equal(v, TRICKLE_REFRESH_MODE_FULL);
	assert_true(trickle_enum_parse(trickle_refresh_mode_entries, "differential", &v));
	assert_int_equal(v, TRICKLE_REFRESH_MODE_DIFFERENTIAL);
	assert_true(trickle_enum_parse(trickle_refresh_mode_entries, "immediate", &v));
	assert_int_equal(v, TRICKLE_REFRESH_MODE_IMMEDIATE);
	assert_true(trickle_enum_parse(trickle_cdc_mode_entries, "trigger", &v));
	assert_int_equal(v, TRICKLE_CDC_MODE_TRIGGER);
	assert_true(trickle_enum_parse(trickle_cdc_mode_entries, "wal", &v));
	assert_int_equal(v, TRICKLE_CDC_MODE_WAL);
	assert_true(trickle_enum_parse(trickle_cdc_mode_entries, "auto", &v));
	assert_int_equal(v, TRICKLE_CDC_MODE_AUTO);
	assert_true(trickle_enum_parse(trickle_buffer_durability_entries, "logged", &v));
	assert_int_equal(v, TRICKLE_BUFFER_DURABILITY_LOGGED);
	assert_true(trickle_enum_parse(trickle_buffer_durability_entries, "unlogged", &v));
	assert_int_equal(v, TRICKLE_BUFFER_DURABILITY_UNLOGGED);
	assert_true(trickle_enum_parse(trickle_diff_output_format_entries, "split", &v));
	assert_int_equal(v, TRICKLE_DIFF_OUTPUT_FORMAT_SPLIT);
	assert_true(trickle_enum_parse(trickle_diff_output_format_entries, "merged", &v));
	assert_int_equal(v, TRICKLE_DIFF_OUTPUT_FORMAT_MERGED);
}

static void
test_mixed_case(void **state)
{
	int			v;
	int			t;
	int			i;
	char		buf[64];

	(void) state;
	assert_true(trickle_enum_parse(trickle_refresh_mode_entries, "DIFFERENTIAL", &v));
	assert_int_equal(v, TRICKLE_REFRESH_MODE_DIFFERENTIAL);
	assert_true(trickle_enum_parse(trickle_refresh_mode_entries, "Full", &v));
	assert_int_equal(v, TRICKLE_REFRESH_MODE_FULL);
	assert_true(trickle_enum_parse(trickle_cdc_mode_entries, "wAl", &v));
	assert_int_equal(v, TRICKLE_CDC_MODE_WAL);
	assert_true(trickle_enum_parse(trickle_buffer_durability_entries, "UnLogged", &v));
	assert_int_equal(v, TRICKLE_BUFFER_DURABILITY_UNLOGGED);
	assert_true(trickle_enum_parse(trickle_diff_output_format_entries, "MERGED", &v));
	assert_int_equal(v, TRICKLE_DIFF_OUTPUT_FORMAT_MERGED);

	for (t = 0; t < NUM_TABLE_CASES; t++)
		for (i = 0; i < table_cases[t].count; i++)
		{
			upper_copy(table_cases[t].names[i], buf);
			v = -1;
			assert_true(trickle_enum_parse(table_cases[t].table, buf, &v));
			assert_int_equal(v, i);
		}
}

static void
test_rejects(void **state)
{
	static const char *const bad[] = {
		"", " ", " auto", "auto ", "\tauto", "auto\n", " auto ", "au", "aut",
		"autox", "auto,full", "auto full", "fu", "differentia",
		"differentials", "a", "0", "1", "-1", "on", "off", "true",
		"immediate\x01", "\xc3\xa1uto", "aut\xc3\xb6", "f\xc4\xb1ll",
	};
	int			v;
	size_t		i;

	(void) state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		v = 12345;
		if (trickle_enum_parse(trickle_refresh_mode_entries, bad[i], &v))
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_int_equal(v, 12345);
	}
	/* names of another table are unknown here */
	assert_false(trickle_enum_parse(trickle_refresh_mode_entries, "wal", &v));
	assert_false(trickle_enum_parse(trickle_cdc_mode_entries, "full", &v));
	assert_false(trickle_enum_parse(trickle_buffer_durability_entries, "split", &v));
	assert_false(trickle_enum_parse(trickle_diff_output_format_entries, "logged", &v));
	assert_false(trickle_enum_parse(trickle_buffer_durability_entries, "log", &v));
	assert_false(trickle_enum_parse(trickle_buffer_durability_entries, "un", &v));
	/* NULL text or table */
	assert_false(trickle_enum_parse(trickle_refresh_mode_entries, NULL, &v));
	assert_false(trickle_enum_parse(NULL, "auto", &v));
	/* embedded NUL: the C string ends there, so "auto\0x" is "auto" */
	assert_true(trickle_enum_parse(trickle_refresh_mode_entries, "auto\0x", &v));
}

static void
test_names(void **state)
{
	(void) state;
	assert_null(trickle_enum_name(trickle_refresh_mode_entries, -1));
	assert_null(trickle_enum_name(trickle_refresh_mode_entries, 4));
	assert_null(trickle_enum_name(trickle_cdc_mode_entries, 3));
	assert_null(trickle_enum_name(trickle_buffer_durability_entries, 2));
	assert_null(trickle_enum_name(trickle_diff_output_format_entries, 99));
	assert_null(trickle_enum_name(NULL, 0));

	assert_string_equal(trickle_refresh_mode_name(TRICKLE_REFRESH_MODE_IMMEDIATE), "immediate");
	assert_string_equal(trickle_cdc_mode_name(TRICKLE_CDC_MODE_TRIGGER), "trigger");
	assert_string_equal(trickle_buffer_durability_name(TRICKLE_BUFFER_DURABILITY_LOGGED), "logged");
	assert_string_equal(trickle_diff_output_format_name(TRICKLE_DIFF_OUTPUT_FORMAT_SPLIT), "split");
	assert_null(trickle_refresh_mode_name((TrickleRefreshMode) 17));
}

static void
test_round_trip(void **state)
{
	int			t;
	int			v;

	(void) state;
	for (t = 0; t < NUM_TABLE_CASES; t++)
	{
		const TrickleEnumEntry *e;

		for (e = table_cases[t].table; e->name != NULL; e++)
		{
			const char *name = trickle_enum_name(table_cases[t].table, e->value);
			char		upper[64];

			assert_non_null(name);
			assert_true(trickle_enum_parse(table_cases[t].table, name, &v));
			assert_int_equal(v, e->value);
			upper_copy(name, upper);
			assert_true(trickle_enum_parse(table_cases[t].table, upper, &v));
			assert_string_equal(trickle_enum_name(table_cases[t].table, v), name);
			/* canonical names are lower-case ASCII */
			for (; *name; name++)
				assert_true((*name >= 'a' && *name <= 'z') || *name == '_');
		}
	}
}

static void
test_typed_wrappers(void **state)
{
	TrickleRefreshMode rm = TRICKLE_REFRESH_MODE_AUTO;
	TrickleCdcMode cm = TRICKLE_CDC_MODE_TRIGGER;
	TrickleBufferDurability bd = TRICKLE_BUFFER_DURABILITY_LOGGED;
	TrickleDiffOutputFormat df = TRICKLE_DIFF_OUTPUT_FORMAT_SPLIT;

	(void) state;
	assert_true(trickle_parse_refresh_mode("Immediate", &rm));
	assert_int_equal(rm, TRICKLE_REFRESH_MODE_IMMEDIATE);
	assert_false(trickle_parse_refresh_mode("never", &rm));
	assert_int_equal(rm, TRICKLE_REFRESH_MODE_IMMEDIATE);
	assert_false(trickle_parse_refresh_mode(NULL, &rm));

	assert_true(trickle_parse_cdc_mode("AUTO", &cm));
	assert_int_equal(cm, TRICKLE_CDC_MODE_AUTO);
	assert_false(trickle_parse_cdc_mode("logical", &cm));
	assert_int_equal(cm, TRICKLE_CDC_MODE_AUTO);

	assert_true(trickle_parse_buffer_durability("unlogged", &bd));
	assert_int_equal(bd, TRICKLE_BUFFER_DURABILITY_UNLOGGED);
	assert_false(trickle_parse_buffer_durability("temp", &bd));
	assert_int_equal(bd, TRICKLE_BUFFER_DURABILITY_UNLOGGED);

	assert_true(trickle_parse_diff_output_format("merged", &df));
	assert_int_equal(df, TRICKLE_DIFF_OUTPUT_FORMAT_MERGED);
	assert_false(trickle_parse_diff_output_format("", &df));
	assert_int_equal(df, TRICKLE_DIFF_OUTPUT_FORMAT_MERGED);
}

static void
test_list(void **state)
{
	char		buf[64];
	char		tiny[6];
	int			t;

	(void) state;
	for (t = 0; t < NUM_TABLE_CASES; t++)
	{
		trickle_enum_list(table_cases[t].table, buf, sizeof(buf));
		assert_string_equal(buf, table_cases[t].list);
	}
	trickle_enum_list(trickle_refresh_mode_entries, tiny, sizeof(tiny));
	assert_string_equal(tiny, "auto,");
	trickle_enum_list(trickle_refresh_mode_entries, tiny, 1);
	assert_string_equal(tiny, "");
	trickle_enum_list(trickle_refresh_mode_entries, NULL, 0);
	trickle_enum_list(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_names),
		cmocka_unit_test(test_enum_values),
		cmocka_unit_test(test_mixed_case),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_typed_wrappers),
		cmocka_unit_test(test_list),
	};

	return cmocka_run_group_tests_name("gucenum", tests, NULL, NULL);
}
