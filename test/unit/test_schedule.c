/*-------------------------------------------------------------------------
 *
 * test_schedule.c
 *	  Unit tests for the schedule parser, formatter and cron evaluator
 *	  (src/sched/schedule.c).
 *
 * Besides table-driven cases, a property test generates random cron
 * expressions together with the value sets they must denote, and checks both
 * the parser's masks and trickle_cron_next() against a minute-by-minute
 * search that uses its own calendar code.  The generator is seeded with a
 * fixed value unless TRICKLE_TEST_SEED is set; the seed is printed.
 *
 * test/unit/test_schedule.c
 *
 *-------------------------------------------------------------------------
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sched/schedule.h"

#define ALL_MINUTES		((UINT64_C(1) << 60) - 1)
#define ALL_HOURS		((UINT32_C(1) << 24) - 1)
#define ALL_DOM			(((UINT32_C(1) << 31) - 1) << 1)
#define ALL_MONTHS		((uint16_t) (((1u << 12) - 1) << 1))
#define ALL_DOW			((uint8_t) 0x7F)

static TrickleSchedule
parse_ok(const char *text)
{
	TrickleSchedule s;
	char		err[TRICKLE_SCHEDULE_ERROR_LEN];

	err[0] = '\0';
	if (!trickle_schedule_parse(text, &s, err, sizeof(err)))
		fail_msg("\"%s\" did not parse: %s", text, err);
	return s;
}

static void
expect_interval(const char *text, int64_t ms)
{
	TrickleSchedule s = parse_ok(text);

	assert_int_equal(s.kind, TRICKLE_SCHEDULE_INTERVAL);
	if (s.interval_ms != ms)
		fail_msg("\"%s\": got %lld ms, expected %lld", text,
				 (long long) s.interval_ms, (long long) ms);
}

/* expect_error - text must fail; when msg is not NULL, with exactly msg */
static void
expect_error(const char *text, const char *msg)
{
	TrickleSchedule s;
	char		err[TRICKLE_SCHEDULE_ERROR_LEN];
	size_t		len;

	memset(&s, 0x5A, sizeof(s));
	strcpy(err, "untouched");
	if (trickle_schedule_parse(text, &s, err, sizeof(err)))
		fail_msg("\"%s\" parsed but should not have", text ? text : "(null)");
	if (msg != NULL && strcmp(err, msg) != 0)
		fail_msg("\"%s\": message \"%s\", expected \"%s\"", text, err, msg);
	/* every message is lower-case, without a trailing period */
	len = strlen(err);
	assert_true(len > 0);
	assert_true(err[0] >= 'a' && err[0] <= 'z');
	assert_true(err[len - 1] != '.');
	assert_string_not_equal(err, "untouched");
	/* and *out is left alone */
	assert_int_equal(((unsigned char *) &s)[0], 0x5A);
}

static void
expect_masks(const char *text, uint64_t minutes, uint32_t hours,
			 uint32_t dom, uint16_t months, uint8_t dow,
			 bool dom_star, bool dow_star)
{
	TrickleSchedule s = parse_ok(text);

	assert_int_equal(s.kind, TRICKLE_SCHEDULE_CRON);
	assert_int_equal(s.interval_ms, 0);
	if (s.minutes != minutes)
		fail_msg("\"%s\": minutes %llx, expected %llx", text,
				 (unsigned long long) s.minutes, (unsigned long long) minutes);
	assert_int_equal(s.hours, hours);
	assert_int_equal(s.days_of_month, dom);
	assert_int_equal(s.months, months);
	assert_int_equal(s.days_of_week, dow);
	assert_int_equal(s.dom_star, dom_star);
	assert_int_equal(s.dow_star, dow_star);
}

static uint64_t
bits(int first, ...)
{
	va_list		ap;
	uint64_t	m = 0;
	int			v;

	va_start(ap, first);
	for (v = first; v >= 0; v = va_arg(ap, int))
		m |= UINT64_C(1) << v;
	va_end(ap);
	return m;
}

static uint64_t
span(int lo, int hi, int step)
{
	uint64_t	m = 0;
	int			v;

	for (v = lo; v <= hi; v += step)
		m |= UINT64_C(1) << v;
	return m;
}

/* ---------------------------------------------------------------- intervals */

static void
test_interval_units(void **state)
{
	(void) state;
	expect_interval("500ms", 500);
	expect_interval("30s", 30000);
	expect_interval("5m", 300000);
	expect_interval("2h", 7200000);
	expect_interval("1d", 86400000);
	expect_interval("1h30m", 5400000);
	expect_interval("1d2h3m4s500ms", 86400000 + 7200000 + 180000 + 4000 + 500);
	expect_interval("1d500ms", 86400500);
	expect_interval("1m1ms", 60001);
	expect_interval("90m", 5400000);
	expect_interval("1ms", 1);
	expect_interval("007s", 7000);
	expect_interval("1h0m", 3600000);
}

static void
test_interval_case_and_space(void **state)
{
	(void) state;
	expect_interval("1H30M", 5400000);
	expect_interval("5MS", 5);
	expect_interval("5Ms", 5);
	expect_interval("5mS", 5);
	expect_interval("1D", 86400000);
	expect_interval("  5m  ", 300000);
	expect_interval("\t\n5s\r\n", 5000);
	expect_interval("\v\f1h\f", 3600000);
}

static void
test_interval_limits(void **state)
{
	(void) state;
	expect_interval("9223372036854775807ms", INT64_MAX);
	expect_interval("106751991167d", INT64_C(106751991167) * 86400000);
	expect_interval("106751991167d7h12m55s807ms", INT64_MAX);
	expect_error("9223372036854775808ms",
				 "interval \"9223372036854775808ms\" is out of range");
	expect_error("106751991168d", "interval \"106751991168d\" is out of range");
	expect_error("106751991167d7h12m55s808ms", NULL);
	expect_error("106751991167d8h", NULL);
	expect_error("99999999999999999999999999s", NULL);
	expect_error("2562047788016h", NULL);
	expect_interval("2562047788015h", INT64_C(2562047788015) * 3600000);
}

static void
test_interval_errors(void **state)
{
	(void) state;
	expect_error(NULL, "schedule must not be null");
	expect_error("", "schedule must not be empty");
	expect_error("  \t\n ", "schedule must not be empty");
	expect_error("5x", "invalid unit \"x\" in interval \"5x\"");
	expect_error("5min", "invalid unit \"min\" in interval \"5min\"");
	expect_error("5sec", "invalid unit \"sec\" in interval \"5sec\"");
	expect_error("5mss", "invalid unit \"mss\" in interval \"5mss\"");
	expect_error("1h5y", "invalid unit \"y\" in interval \"1h5y\"");
	expect_error("5", "missing unit after \"5\" in interval \"5\"");
	expect_error("1h30", "missing unit after \"30\" in interval \"1h30\"");
	expect_error("5%", "missing unit after \"5\" in interval \"5%\"");
	expect_error("-5m", "expected a number at \"-5m\" in interval \"-5m\"");
	expect_error("+5m", "expected a number at \"+5m\" in interval \"+5m\"");
	expect_error("5m-3s", "expected a number at \"-3s\" in interval \"5m-3s\"");
	expect_error("m", "expected a number at \"m\" in interval \"m\"");
	expect_error("1.5h", "missing unit after \"1\" in interval \"1.5h\"");
	expect_error("5m,", "expected a number at \",\" in interval \"5m,\"");
	expect_error("*/5", "expected a number at \"*/5\" in interval \"*/5\"");
	expect_error("5m\n3s", NULL);
	expect_error("0s", "interval \"0s\" must be greater than zero");
	expect_error("0h0m0s0ms", "interval \"0h0m0s0ms\" must be greater than zero");
	expect_error("5s5s", "unit \"s\" appears more than once in interval \"5s5s\"");
	expect_error("1m2M", "unit \"M\" appears more than once in interval \"1m2M\"");
	expect_error("5s5m", "unit \"m\" is out of order in interval \"5s5m\"");
	expect_error("5m5h", "unit \"h\" is out of order in interval \"5m5h\"");
	expect_error("1ms1s", "unit \"s\" is out of order in interval \"1ms1s\"");
	expect_error("1h1d", NULL);
	expect_error("1h 30m", "interval \"1h 30m\" must not contain whitespace");
	expect_error("5 m", "cron expression \"5 m\" has 2 fields instead of 5");
}

static void
test_error_buffer_handling(void **state)
{
	TrickleSchedule s;
	char		small[12];
	char		utf8[64];
	size_t		cut;

	(void) state;
	/* no buffer at all */
	assert_false(trickle_schedule_parse("5x", &s, NULL, 0));
	assert_false(trickle_schedule_parse("5x", &s, small, 0));
	/* a short buffer gets a NUL-terminated prefix */
	memset(small, 'Z', sizeof(small));
	assert_false(trickle_schedule_parse("5x", &s, small, sizeof(small)));
	assert_string_equal(small, "invalid uni");
	/* cutting never leaves half a UTF-8 character behind */
	for (cut = 1; cut <= 3; cut++)
	{
		const char *prefix = "unexpected text \"";

		assert_false(trickle_schedule_parse("* * * * \xe2\x82\xac", &s, utf8,
											strlen(prefix) + cut));
		assert_string_equal(utf8, prefix);
	}
	assert_false(trickle_schedule_parse("* * * * \xe2\x82\xac", &s, utf8,
										strlen("unexpected text \"") + 4));
	assert_string_equal(utf8, "unexpected text \"\xe2\x82\xac");
	assert_false(trickle_schedule_parse("5\xc3\xa9", &s, utf8,
										strlen("missing unit after \"5\" in interval \"5") + 2));
	assert_string_equal(utf8, "missing unit after \"5\" in interval \"5");
}

/* --------------------------------------------------------------------- cron */

static void
test_cron_basic(void **state)
{
	(void) state;
	expect_masks("* * * * *", ALL_MINUTES, ALL_HOURS, ALL_DOM, ALL_MONTHS,
				 ALL_DOW, true, true);
	expect_masks("0 0 1 1 0", bits(0, -1), bits(0, -1), bits(1, -1),
				 bits(1, -1), bits(0, -1), false, false);
	expect_masks("59 23 31 12 6", bits(59, -1), bits(23, -1), bits(31, -1),
				 bits(12, -1), bits(6, -1), false, false);
	/* separators: any run of spaces and tabs; outer whitespace ignored */
	expect_masks("\n 0\t0  *\t \t* *  \n", bits(0, -1), bits(0, -1), ALL_DOM,
				 ALL_MONTHS, ALL_DOW, true, true);
	/* leading zeros */
	expect_masks("05 007 01 02 00", bits(5, -1), bits(7, -1), bits(1, -1),
				 bits(2, -1), bits(0, -1), false, false);
}

static void
test_cron_ranges_steps_lists(void **state)
{
	(void) state;
	expect_masks("*/15 * * * *", bits(0, 15, 30, 45, -1), ALL_HOURS, ALL_DOM,
				 ALL_MONTHS, ALL_DOW, true, true);
	expect_masks("0-10/5 9-17 * * *", bits(0, 5, 10, -1), span(9, 17, 1),
				 ALL_DOM, ALL_MONTHS, ALL_DOW, true, true);
	expect_masks("10/20 1/6 * * *", bits(10, 30, 50, -1), bits(1, 7, 13, 19, -1),
				 ALL_DOM, ALL_MONTHS, ALL_DOW, true, true);
	expect_masks("1,2,3 1-3,10-12,20 * * *", bits(1, 2, 3, -1),
				 bits(1, 2, 3, 10, 11, 12, 20, -1), ALL_DOM, ALL_MONTHS,
				 ALL_DOW, true, true);
	expect_masks("*/20,5,0-4/2 */7 * * *", bits(0, 20, 40, 5, 2, 4, -1),
				 bits(0, 7, 14, 21, -1), ALL_DOM, ALL_MONTHS, ALL_DOW,
				 true, true);
	expect_masks("0 0 */2 * *", bits(0, -1), bits(0, -1), span(1, 31, 2),
				 ALL_MONTHS, ALL_DOW, true, true);
	expect_masks("0 0 1-31 * 0-7", bits(0, -1), bits(0, -1), ALL_DOM,
				 ALL_MONTHS, ALL_DOW, false, false);
	expect_masks("0 0 15 */3 *", bits(0, -1), bits(0, -1), bits(15, -1),
				 bits(1, 4, 7, 10, -1), ALL_DOW, false, true);
	expect_masks("0 0 * * */2", bits(0, -1), bits(0, -1), ALL_DOM, ALL_MONTHS,
				 bits(0, 2, 4, 6, -1), true, true);
	/* widest legal steps; a step of 1 */
	expect_masks("*/60 */24 */31 */12 */8", bits(0, -1), bits(0, -1),
				 bits(1, -1), bits(1, -1), bits(0, -1), true, true);
	expect_masks("*/1 0-23/1 * * *", ALL_MINUTES, ALL_HOURS, ALL_DOM,
				 ALL_MONTHS, ALL_DOW, true, true);
	/* a field starting with '*' counts as a star even with more items */
	expect_masks("0 0 *,5 * 1", bits(0, -1), bits(0, -1), ALL_DOM, ALL_MONTHS,
				 bits(1, -1), true, false);
	expect_masks("0 0 5,* * 1", bits(0, -1), bits(0, -1), ALL_DOM, ALL_MONTHS,
				 bits(1, -1), false, false);
}

static void
test_cron_names(void **state)
{
	(void) state;
	expect_masks("0 0 * jan-mar mon-fri", bits(0, -1), bits(0, -1), ALL_DOM,
				 bits(1, 2, 3, -1), span(1, 5, 1), true, false);
	expect_masks("0 0 * JAN,Jul,dEc SUN", bits(0, -1), bits(0, -1), ALL_DOM,
				 bits(1, 7, 12, -1), bits(0, -1), true, false);
	expect_masks("0 0 * feb-11/3 sat-7", bits(0, -1), bits(0, -1), ALL_DOM,
				 bits(2, 5, 8, 11, -1), bits(0, 6, -1), true, false);
	expect_masks("0 0 * apr/4 tue/2", bits(0, -1), bits(0, -1), ALL_DOM,
				 bits(4, 8, 12, -1), bits(2, 4, 6, -1), true, false);
	expect_masks("0 0 * may,jun,aug,sep,oct,nov wed,thu,sat", bits(0, -1),
				 bits(0, -1), ALL_DOM, bits(5, 6, 8, 9, 10, 11, -1),
				 bits(3, 4, 6, -1), true, false);
	/* day-of-week 7 is Sunday */
	expect_masks("0 0 * * 7", bits(0, -1), bits(0, -1), ALL_DOM, ALL_MONTHS,
				 bits(0, -1), true, false);
	expect_masks("0 0 * * 0,7", bits(0, -1), bits(0, -1), ALL_DOM, ALL_MONTHS,
				 bits(0, -1), true, false);
	expect_masks("0 0 * * 5-7", bits(0, -1), bits(0, -1), ALL_DOM, ALL_MONTHS,
				 bits(0, 5, 6, -1), true, false);
	expect_masks("0 0 * * 1/3", bits(0, -1), bits(0, -1), ALL_DOM, ALL_MONTHS,
				 bits(0, 1, 4, -1), true, false);
}

static void
test_cron_macros(void **state)
{
	TrickleSchedule a;
	TrickleSchedule b;

	(void) state;
	expect_masks("@hourly", bits(0, -1), ALL_HOURS, ALL_DOM, ALL_MONTHS,
				 ALL_DOW, true, true);
	expect_masks("@daily", bits(0, -1), bits(0, -1), ALL_DOM, ALL_MONTHS,
				 ALL_DOW, true, true);
	expect_masks("@weekly", bits(0, -1), bits(0, -1), ALL_DOM, ALL_MONTHS,
				 bits(0, -1), true, false);
	expect_masks("@monthly", bits(0, -1), bits(0, -1), bits(1, -1),
				 ALL_MONTHS, ALL_DOW, false, true);
	expect_masks("@yearly", bits(0, -1), bits(0, -1), bits(1, -1),
				 bits(1, -1), ALL_DOW, false, true);
	a = parse_ok("@midnight");
	b = parse_ok("@DAILY");
	assert_true(trickle_schedule_equal(&a, &b));
	a = parse_ok("  @Annually\t");
	b = parse_ok("@yearly");
	assert_true(trickle_schedule_equal(&a, &b));
	expect_error("@foo", "invalid schedule macro \"@foo\"");
	expect_error("@", "invalid schedule macro \"@\"");
	expect_error("@daily x", "invalid schedule macro \"@daily x\"");
	expect_error("@dailyx", "invalid schedule macro \"@dailyx\"");
	expect_error("@hour", "invalid schedule macro \"@hour\"");
	expect_error("@reboot", "invalid schedule macro \"@reboot\"");
}

static void
test_cron_errors(void **state)
{
	(void) state;
	/* value ranges, one per field and bound */
	expect_error("60 * * * *", "minute value 60 is out of range 0-59");
	expect_error("61 * * * *", "minute value 61 is out of range 0-59");
	expect_error("* 24 * * *", "hour value 24 is out of range 0-23");
	expect_error("* * 0 * *", "day-of-month value 0 is out of range 1-31");
	expect_error("* * 32 * *", "day-of-month value 32 is out of range 1-31");
	expect_error("* * * 0 *", "month value 0 is out of range 1-12");
	expect_error("* * * 13 *", "month value 13 is out of range 1-12");
	expect_error("* * * * 8", "day-of-week value 8 is out of range 0-7");
	expect_error("1-60 * * * *", "minute value 60 is out of range 0-59");
	expect_error("0/61 * * * *", "minute step 61 is out of range 1-60");
	expect_error("99999999999999999999 * * * *",
				 "minute value 99999999999999999999 is out of range 0-59");
	expect_error("* 0024 * * *", "hour value 0024 is out of range 0-23");

	/* ranges and steps */
	expect_error("5-3 * * * *", "invalid minute range 5-3: start is greater than end");
	expect_error("* * * * fri-mon",
				 "invalid day-of-week range fri-mon: start is greater than end");
	expect_error("* * * dec-jan *", NULL);
	expect_error("* * * * 7-1", NULL);
	expect_error("*/0 * * * *", "minute step 0 is out of range 1-60");
	expect_error("*/61 * * * *", "minute step 61 is out of range 1-60");
	expect_error("* 1-5/25 * * *", "hour step 25 is out of range 1-24");
	expect_error("* * */32 * *", "day-of-month step 32 is out of range 1-31");
	expect_error("* * * */13 *", "month step 13 is out of range 1-12");
	expect_error("* * * * */9", "day-of-week step 9 is out of range 1-8");
	expect_error("* * * * */00", "day-of-week step 00 is out of range 1-8");
	expect_error("*/99999999999 * * * *", NULL);
	expect_error("*/ * * * *", "expected a step value after \"/\" in minute field \"*/\"");
	expect_error("*/x * * * *", "expected a step value after \"/\" in minute field \"*/x\"");
	expect_error("*/-1 * * * *", NULL);

	/* lists */
	expect_error("1,,2 * * * *", "empty list item in minute field \"1,,2\"");
	expect_error("1, * * * *", "empty list item in minute field \"1,\"");
	expect_error(",1 * * * *", "empty list item in minute field \",1\"");
	expect_error("* * * * ,", "empty list item in day-of-week field \",\"");

	/* garbage */
	expect_error("5x * * * *", "unexpected text \"x\" in minute field \"5x\"");
	expect_error("-1 * * * *", "unexpected text \"-1\" in minute field \"-1\"");
	expect_error("+1 * * * *", "unexpected text \"+1\" in minute field \"+1\"");
	expect_error("1- * * * *", "missing value at end of minute field \"1-\"");
	expect_error("1-5-7 * * * *", "unexpected text \"-7\" in minute field \"1-5-7\"");
	expect_error("1/5/2 * * * *", "unexpected text \"/2\" in minute field \"1/5/2\"");
	expect_error("*-5 * * * *", "unexpected text \"-5\" in minute field \"*-5\"");
	expect_error("** * * * *", "unexpected text \"*\" in minute field \"**\"");
	expect_error("1-* * * * *", "unexpected text \"*\" in minute field \"1-*\"");
	expect_error("? * * * *", "unexpected text \"?\" in minute field \"?\"");
	expect_error("jan * * * *", "unexpected text \"jan\" in minute field \"jan\"");
	expect_error("* * L * *", NULL);
	expect_error("* * * * 1#2", NULL);
	expect_error("* * * * 1.5", NULL);

	/* names */
	expect_error("* * * foo *", "invalid month name \"foo\"");
	expect_error("* * * january *", "invalid month name \"january\"");
	expect_error("* * * mon *", "invalid month name \"mon\"");
	expect_error("* * * * jan", "invalid day-of-week name \"jan\"");
	expect_error("* * * * funday", "invalid day-of-week name \"funday\"");
	expect_error("* * * * m", "invalid day-of-week name \"m\"");
	expect_error("* * * * mon5", "unexpected text \"5\" in day-of-week field \"mon5\"");

	/* field count */
	expect_error("* * * *", "cron expression \"* * * *\" has 4 fields instead of 5");
	expect_error("* * * * * *", "cron expression \"* * * * * *\" has 6 fields instead of 5");
	expect_error("0 0 * * 1 #", NULL);
	expect_error("* *\n* * *", NULL);
}

/* ------------------------------------------------------------------- format */

static void
expect_format(const char *text, const char *canonical)
{
	TrickleSchedule s = parse_ok(text);
	TrickleSchedule again;
	char		buf[TRICKLE_SCHEDULE_FORMAT_LEN];

	trickle_schedule_format(&s, buf, sizeof(buf));
	if (strcmp(buf, canonical) != 0)
		fail_msg("\"%s\" formats as \"%s\", expected \"%s\"", text, buf, canonical);
	again = parse_ok(buf);
	assert_true(trickle_schedule_equal(&s, &again));
}

static void
test_format(void **state)
{
	TrickleSchedule s;
	char		buf[8];

	(void) state;
	expect_format("1h30m", "1h30m");
	expect_format("90m", "1h30m");
	expect_format("1h0m", "1h");
	expect_format("86400000ms", "1d");
	expect_format("1500MS", "1s500ms");
	expect_format(" 1d2h3m4s500ms ", "1d2h3m4s500ms");
	expect_format("9223372036854775807ms", "106751991167d7h12m55s807ms");
	expect_format("* * * * *", "* * * * *");
	expect_format("*/15 * * * *", "*/15 * * * *");
	expect_format("0-59/15 * * * *", "*/15 * * * *");
	expect_format("5-59/15 * * * *", "5/15 * * * *");
	expect_format("0,30 * * * *", "0,30 * * * *");
	expect_format("0,1,2,3,10,11,40 * * * *", "0-3,10,11,40 * * * *");
	expect_format("0 0 * * 7", "0 0 * * 0");
	expect_format("0 0 * * sun,7", "0 0 * * 0");
	expect_format("0 9-17 * * mon-fri", "0 9-17 * * 1-5");
	expect_format("0 0 1-31 * *", "0 0 1-31 * *");
	expect_format("0 0 * * 0-7", "0 0 * * 0-6");
	expect_format("0 0 */2 * 1", "0 0 */2 * 1");
	expect_format("0 0 1-31/2 * 1", "0 0 1/2 * 1");
	expect_format("0 0 */10,5 * 1", "0 0 */10,5 * 1");
	expect_format("0 0 */31 * *", "0 0 */31 * *");
	expect_format("0 0 *,5 * *", "0 0 * * *");
	expect_format("0 0 * * */2", "0 0 * * */2");
	expect_format("0 0 * * */7", "0 0 * * */7");
	expect_format("0 0 * * */3,5", "0 0 * * */3,5");
	expect_format("0 0 * * 1/3", "0 0 * * 0,1,4");
	expect_format("0 0 * jan-dec *", "0 0 * * *");
	expect_format("0 0 * */3 *", "0 0 * */3 *");
	expect_format("0 0 * 2/3 *", "0 0 * 2/3 *");
	expect_format("0 0 * 2-12/5 *", "0 0 * 2/5 *");
	expect_format("10-40/10 * * * *", "10,20,30,40 * * * *");
	expect_format("0 0 * 1-11/5 *", "0 0 * */5 *");
	expect_format("0 */6 * * *", "0 */6 * * *");
	expect_format("@daily", "0 0 * * *");
	expect_format("@weekly", "0 0 * * 0");
	expect_format("@monthly", "0 0 1 * *");
	expect_format("@yearly", "0 0 1 1 *");
	expect_format("1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33,35,37,39,41,43,45,"
				  "47,49,51,53,55,57,58 * * * *",
				  "1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33,35,37,39,41,43,"
				  "45,47,49,51,53,55,57,58 * * * *");

	/* output is cut to the buffer and terminated */
	s = parse_ok("1d2h3m4s500ms");
	trickle_schedule_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "1d2h3m4");
	trickle_schedule_format(&s, buf, 1);
	assert_string_equal(buf, "");
	trickle_schedule_format(&s, NULL, 0);
}

static void
test_equal(void **state)
{
	TrickleSchedule a = parse_ok("5m");
	TrickleSchedule b = parse_ok("300s");
	TrickleSchedule c = parse_ok("0 0 * * 1");

	(void) state;
	assert_true(trickle_schedule_equal(&a, &b));
	assert_false(trickle_schedule_equal(&a, &c));
	b = parse_ok("301s");
	assert_false(trickle_schedule_equal(&a, &b));
	b = parse_ok("0 0 * * mon");
	assert_true(trickle_schedule_equal(&b, &c));
	/* same masks, different star flag: different meaning */
	a = parse_ok("0 0 1-31 * 1");
	b = parse_ok("0 0 * * 1");
	assert_false(trickle_schedule_equal(&a, &b));
}

/* ----------------------------------------------------------------- calendar */

static void
test_calendar(void **state)
{
	int			y;
	int			m;
	int			d;
	int			expect;

	(void) state;
	assert_int_equal(trickle_civil_day_of_week(2026, 1, 1), 4);
	assert_int_equal(trickle_civil_day_of_week(2000, 1, 1), 6);
	assert_int_equal(trickle_civil_day_of_week(1970, 1, 1), 4);
	assert_int_equal(trickle_civil_day_of_week(2024, 2, 29), 4);
	assert_int_equal(trickle_civil_day_of_week(2028, 2, 29), 2);
	assert_int_equal(trickle_civil_day_of_week(1900, 1, 1), 1);
	assert_int_equal(trickle_civil_day_of_week(2100, 3, 1), 1);
	assert_int_equal(trickle_civil_day_of_week(1600, 3, 1), 3);
	assert_int_equal(trickle_civil_day_of_week(1, 1, 1), 1);
	assert_int_equal(trickle_civil_day_of_week(0, 12, 31), 0);
	assert_int_equal(trickle_civil_day_of_week(0, 1, 1), 6);
	assert_int_equal(trickle_civil_day_of_week(2026, 0, 1), -1);
	assert_int_equal(trickle_civil_day_of_week(2026, 13, 1), -1);

	assert_int_equal(trickle_civil_days_in_month(2026, 2), 28);
	assert_int_equal(trickle_civil_days_in_month(2024, 2), 29);
	assert_int_equal(trickle_civil_days_in_month(2028, 2), 29);
	assert_int_equal(trickle_civil_days_in_month(2000, 2), 29);
	assert_int_equal(trickle_civil_days_in_month(1900, 2), 28);
	assert_int_equal(trickle_civil_days_in_month(2100, 2), 28);
	assert_int_equal(trickle_civil_days_in_month(2026, 1), 31);
	assert_int_equal(trickle_civil_days_in_month(2026, 4), 30);
	assert_int_equal(trickle_civil_days_in_month(2026, 6), 30);
	assert_int_equal(trickle_civil_days_in_month(2026, 9), 30);
	assert_int_equal(trickle_civil_days_in_month(2026, 11), 30);
	assert_int_equal(trickle_civil_days_in_month(2026, 12), 31);
	assert_int_equal(trickle_civil_days_in_month(2026, 0), 0);
	assert_int_equal(trickle_civil_days_in_month(2026, 13), 0);

	/* consecutive days advance the weekday by one, from 1 BC to AD 2500 */
	expect = trickle_civil_day_of_week(0, 1, 1);
	for (y = 0; y <= 2500; y++)
		for (m = 1; m <= 12; m++)
			for (d = 1; d <= trickle_civil_days_in_month(y, m); d++)
			{
				assert_int_equal(trickle_civil_day_of_week(y, m, d), expect);
				expect = (expect + 1) % 7;
			}
}

/* ------------------------------------------------------------------ cron next */

static TrickleCivilTime
civil(const char *text)
{
	TrickleCivilTime t;

	if (sscanf(text, "%d-%d-%d %d:%d", &t.year, &t.month, &t.mday,
			   &t.hour, &t.minute) != 5)
		fail_msg("bad time literal \"%s\"", text);
	return t;
}

/* expect_next - the next firing of spec after `after` is `expected` (NULL: none) */
static void
expect_next(const char *spec, const char *after, const char *expected)
{
	TrickleSchedule s = parse_ok(spec);
	TrickleCivilTime a = civil(after);
	TrickleCivilTime n;
	char		got[64];

	memset(&n, 0, sizeof(n));
	if (!trickle_cron_next(&s, &a, &n))
	{
		if (expected != NULL)
			fail_msg("\"%s\" after %s: none, expected %s", spec, after, expected);
		return;
	}
	snprintf(got, sizeof(got), "%04d-%02d-%02d %02d:%02d",
			 n.year, n.month, n.mday, n.hour, n.minute);
	if (expected == NULL || strcmp(got, expected) != 0)
		fail_msg("\"%s\" after %s: got %s, expected %s", spec, after, got,
				 expected ? expected : "none");
	assert_true(trickle_cron_matches(&s, &n));
}

static void
test_cron_next_basic(void **state)
{
	(void) state;
	expect_next("* * * * *", "2026-06-15 10:20", "2026-06-15 10:21");
	expect_next("* * * * *", "2026-06-15 10:59", "2026-06-15 11:00");
	expect_next("* * * * *", "2026-06-15 23:59", "2026-06-16 00:00");
	expect_next("* * * * *", "2026-06-30 23:59", "2026-07-01 00:00");
	expect_next("* * * * *", "2026-12-31 23:59", "2027-01-01 00:00");
	expect_next("*/15 * * * *", "2026-06-15 10:00", "2026-06-15 10:15");
	expect_next("*/15 * * * *", "2026-06-15 10:14", "2026-06-15 10:15");
	expect_next("*/15 * * * *", "2026-06-15 10:45", "2026-06-15 11:00");
	expect_next("30 23 31 12 *", "2026-12-31 23:30", "2027-12-31 23:30");
	expect_next("30 23 31 12 *", "2026-12-31 23:29", "2026-12-31 23:30");
	expect_next("59 23 * * *", "2026-02-28 23:59", "2026-03-01 23:59");
	expect_next("59 23 * * *", "2028-02-28 23:59", "2028-02-29 23:59");
	expect_next("0 12 * 2,8 *", "2026-03-01 00:00", "2026-08-01 12:00");
	expect_next("0 12 * 2,8 *", "2026-08-31 12:00", "2027-02-01 12:00");
	expect_next("0 12 * 2,8 *", "2026-09-01 00:00", "2027-02-01 12:00");
	expect_next("*/15 9-17 * * mon-fri", "2026-04-10 17:50", "2026-04-13 09:00");
	expect_next("*/15 9-17 * * mon-fri", "2026-04-13 09:00", "2026-04-13 09:15");
	expect_next("*/15 9-17 * * mon-fri", "2026-04-13 17:45", "2026-04-14 09:00");
	expect_next("*/15 9-17 * * mon-fri", "2026-04-13 08:59", "2026-04-13 09:00");
	expect_next("5,10 1,2 * * *", "2026-04-13 01:10", "2026-04-13 02:05");
	expect_next("5,10 1,2 * * *", "2026-04-13 02:10", "2026-04-14 01:05");
}

static void
test_cron_next_month_ends(void **state)
{
	(void) state;
	expect_next("0 0 31 * *", "2026-04-01 00:00", "2026-05-31 00:00");
	expect_next("0 0 31 * *", "2026-05-31 00:00", "2026-07-31 00:00");
	expect_next("0 0 31 * *", "2026-07-31 00:00", "2026-08-31 00:00");
	expect_next("0 0 31 * *", "2026-08-31 00:00", "2026-10-31 00:00");
	expect_next("0 0 31 * *", "2026-12-31 00:00", "2027-01-31 00:00");
	expect_next("0 0 30 * *", "2026-01-30 00:00", "2026-03-30 00:00");
	expect_next("0 0 29 * *", "2026-01-29 00:00", "2026-03-29 00:00");
	expect_next("0 0 29 * *", "2028-01-29 00:00", "2028-02-29 00:00");
	expect_next("0 0 28-31 2 *", "2027-02-28 00:00", "2028-02-28 00:00");
	expect_next("0 0 28-31 2 *", "2028-02-28 00:00", "2028-02-29 00:00");
}

static void
test_cron_next_leap_years(void **state)
{
	(void) state;
	expect_next("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00");
	expect_next("0 0 29 2 *", "2028-02-28 23:59", "2028-02-29 00:00");
	expect_next("0 0 29 2 *", "2028-02-29 00:00", "2032-02-29 00:00");
	expect_next("0 0 29 2 *", "1999-03-01 00:00", "2000-02-29 00:00");
	expect_next("0 0 29 2 *", "2099-03-01 00:00", "2104-02-29 00:00");
	/* 2100 is not a leap year: 2104 is past the five-year horizon */
	expect_next("0 0 29 2 *", "2096-03-01 00:00", NULL);
	expect_next("0 0 31 2 *", "2026-01-01 00:00", NULL);
	expect_next("0 0 30 2 *", "2026-01-01 00:00", NULL);
	expect_next("0 0 31 4,6,9,11 *", "2026-01-01 00:00", NULL);
	expect_next("@yearly", "2026-01-01 00:00", "2027-01-01 00:00");
	expect_next("@yearly", "2026-12-31 23:59", "2027-01-01 00:00");
	expect_next("@yearly", "9994-06-01 00:00", "9995-01-01 00:00");
}

static void
test_cron_next_day_rules(void **state)
{
	(void) state;
	/* both restricted: the 13th OR a Friday */
	expect_next("0 0 13 * 5", "2026-02-01 00:00", "2026-02-06 00:00");
	expect_next("0 0 13 * 5", "2026-02-06 00:00", "2026-02-13 00:00");
	expect_next("0 0 13 * 5", "2026-02-13 00:00", "2026-02-20 00:00");
	expect_next("0 0 13 * fri", "2026-04-10 00:00", "2026-04-13 00:00");
	expect_next("0 0 29 * 1", "2026-02-28 00:00", "2026-03-02 00:00");
	/* the month still applies: Mondays of February, or February 29 */
	expect_next("0 0 29 2 1", "2026-02-28 00:00", "2027-02-01 00:00");
	expect_next("0 0 29 2 1", "2027-02-22 00:00", "2028-02-07 00:00");
	expect_next("0 0 1,15 * 0", "2026-01-01 00:00", "2026-01-04 00:00");
	/* one side a star: both must match */
	expect_next("0 0 * * 5", "2026-04-10 00:00", "2026-04-17 00:00");
	expect_next("0 0 13 * *", "2026-04-10 00:00", "2026-04-13 00:00");
	expect_next("0 0 */2 * 5", "2026-04-10 00:00", "2026-04-17 00:00");
	expect_next("0 0 */2 * 5", "2026-04-17 00:00", "2026-05-01 00:00");
	expect_next("0 0 1 * */2", "2026-01-01 00:00", "2026-02-01 00:00");
	expect_next("0 0 1 * */2", "2026-02-01 00:00", "2026-03-01 00:00");
	expect_next("0 0 1 * */2", "2026-03-01 00:00", "2026-08-01 00:00");
	expect_next("0 0 13 * *,5", "2026-04-10 00:00", "2026-04-13 00:00");
	expect_next("0 0 13 * 5", "2026-03-12 00:00", "2026-03-13 00:00");
	expect_next("@weekly", "2026-02-01 00:00", "2026-02-08 00:00");
	expect_next("0 0 * * 7", "2026-02-01 00:00", "2026-02-08 00:00");
	expect_next("@monthly", "2026-02-01 00:00", "2026-03-01 00:00");
	expect_next("@hourly", "2026-04-13 10:00", "2026-04-13 11:00");
	expect_next("@hourly", "2026-04-13 10:59", "2026-04-13 11:00");
	expect_next("@daily", "2026-04-13 00:00", "2026-04-14 00:00");
}

static void
test_cron_next_rejects(void **state)
{
	TrickleSchedule s = parse_ok("* * * * *");
	TrickleSchedule iv = parse_ok("5m");
	TrickleCivilTime t = civil("2026-01-01 00:00");
	TrickleCivilTime n;
	TrickleCivilTime bad[] = {
		{2026, 0, 1, 0, 0}, {2026, 13, 1, 0, 0}, {2026, 2, 29, 0, 0},
		{2026, 4, 31, 0, 0}, {2026, 1, 0, 0, 0}, {2026, 1, 1, 24, 0},
		{2026, 1, 1, -1, 0}, {2026, 1, 1, 0, 60}, {2026, 1, 1, 0, -1},
		{0, 1, 1, 0, 0}, {10000, 1, 1, 0, 0}, {-5, 1, 1, 0, 0},
	};
	size_t		i;

	(void) state;
	assert_false(trickle_cron_next(&iv, &t, &n));
	assert_false(trickle_cron_matches(&iv, &t));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		assert_false(trickle_cron_next(&s, &bad[i], &n));
		assert_false(trickle_cron_matches(&s, &bad[i]));
	}
	/* the largest supported year still works up to its horizon */
	t = civil("9999-12-31 23:58");
	assert_true(trickle_cron_next(&s, &t, &n));
	assert_int_equal(n.minute, 59);
	/* but nothing past it */
	t = civil("9999-12-31 23:59");
	assert_false(trickle_cron_next(&s, &t, &n));
	s = parse_ok("@yearly");
	t = civil("9998-01-01 00:00");
	assert_true(trickle_cron_next(&s, &t, &n));
	assert_int_equal(n.year, 9999);
	t = civil("9999-01-01 00:00");
	assert_false(trickle_cron_next(&s, &t, &n));
	s = parse_ok("* * * * *");
	/* an emptied mask never fires */
	s.hours = 0;
	assert_false(trickle_cron_next(&s, &t, &n));
}

/* ----------------------------------------------------------- property test */

typedef struct Rng
{
	uint64_t	state;
} Rng;

static uint64_t
rng_next(Rng *r)
{
	/* xorshift64* */
	r->state ^= r->state >> 12;
	r->state ^= r->state << 25;
	r->state ^= r->state >> 27;
	return r->state * UINT64_C(2685821657736338717);
}

/* rng_int - uniform-ish in [lo, hi] */
static int
rng_int(Rng *r, int lo, int hi)
{
	return lo + (int) (rng_next(r) % (uint64_t) (hi - lo + 1));
}

typedef struct GenField
{
	char		text[256];
	uint64_t	mask;
} GenField;

static const char *const gen_month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"
};
static const char *const gen_dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

/* gen_value - append v to text, as a name in random case when allowed */
static void
gen_value(Rng *r, int field, int v, char *text)
{
	char		piece[8];
	const char *name = NULL;
	int			i;

	if (field == 3 && rng_int(r, 0, 2) == 0)
		name = gen_month_names[v - 1];
	else if (field == 4 && v <= 6 && rng_int(r, 0, 2) == 0)
		name = gen_dow_names[v];
	if (name == NULL)
	{
		snprintf(piece, sizeof(piece), "%d", v);
	}
	else
	{
		for (i = 0; name[i] != '\0'; i++)
			piece[i] = rng_int(r, 0, 3) == 0 ? (char) (name[i] - 'a' + 'A') : name[i];
		piece[i] = '\0';
	}
	strcat(text, piece);
}

/*
 * gen_field - a random valid text for cron field number `field` and the set
 * of values it must denote, worked out independently of the parser.
 */
static void
gen_field(Rng *r, int field, GenField *out)
{
	static const int lows[5] = {0, 0, 1, 1, 0};
	static const int highs[5] = {59, 23, 31, 12, 7};
	int			lo = lows[field];
	int			hi = highs[field];
	int			nitems = rng_int(r, 0, 3) == 0 ? 1 : rng_int(r, 1, 4);
	int			i;

	out->text[0] = '\0';
	out->mask = 0;
	for (i = 0; i < nitems; i++)
	{
		int			kind = rng_int(r, 0, 9);
		int			a = rng_int(r, lo, hi);
		int			b = rng_int(r, a, hi);
		int			step = rng_int(r, 0, 1) ? rng_int(r, 1, 4) : rng_int(r, 1, hi - lo + 1);
		int			from = lo;
		int			to = hi;
		int			v;
		char		num[16];

		if (i > 0)
			strcat(out->text, ",");
		switch (kind)
		{
			case 0:
				strcat(out->text, "*");
				step = 1;
				break;
			case 1:
			case 2:
				snprintf(num, sizeof(num), "*/%d", step);
				strcat(out->text, num);
				break;
			case 3:
			case 4:
				gen_value(r, field, a, out->text);
				from = to = a;
				step = 1;
				break;
			case 5:
			case 6:
				gen_value(r, field, a, out->text);
				strcat(out->text, "-");
				gen_value(r, field, b, out->text);
				from = a;
				to = b;
				step = 1;
				break;
			case 7:
			case 8:
				gen_value(r, field, a, out->text);
				strcat(out->text, "-");
				gen_value(r, field, b, out->text);
				snprintf(num, sizeof(num), "/%d", step);
				strcat(out->text, num);
				from = a;
				to = b;
				break;
			default:
				gen_value(r, field, a, out->text);
				snprintf(num, sizeof(num), "/%d", step);
				strcat(out->text, num);
				from = a;
				break;
		}
		for (v = from; v <= to; v += step)
			out->mask |= UINT64_C(1) << (field == 4 && v == 7 ? 0 : v);
	}
}

/* An independent calendar for the oracle: Zeller's congruence. */
static int
oracle_dow(int y, int m, int d)
{
	int			k;
	int			j;
	int			h;

	if (m < 3)
	{
		m += 12;
		y--;
	}
	k = y % 100;
	j = y / 100;
	h = (d + 13 * (m + 1) / 5 + k + k / 4 + j / 4 + 5 * j) % 7;
	return (h + 6) % 7;			/* Zeller's 0 is Saturday */
}

static int
oracle_days_in_month(int y, int m)
{
	if (m == 2)
		return (y % 400 == 0 || (y % 4 == 0 && y % 100 != 0)) ? 29 : 28;
	return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
}

static void
oracle_step(TrickleCivilTime *t)
{
	if (++t->minute < 60)
		return;
	t->minute = 0;
	if (++t->hour < 24)
		return;
	t->hour = 0;
	if (++t->mday <= oracle_days_in_month(t->year, t->month))
		return;
	t->mday = 1;
	if (++t->month <= 12)
		return;
	t->month = 1;
	t->year++;
}

typedef struct OracleSpec
{
	uint64_t	mask[5];
	bool		dom_star;
	bool		dow_star;
} OracleSpec;

static bool
oracle_matches(const OracleSpec *o, const TrickleCivilTime *t)
{
	bool		dom_ok = (o->mask[2] >> t->mday) & 1;
	bool		dow_ok = (o->mask[4] >> oracle_dow(t->year, t->month, t->mday)) & 1;
	bool		day_ok = (o->dom_star || o->dow_star) ? (dom_ok && dow_ok) : (dom_ok || dow_ok);

	return ((o->mask[0] >> t->minute) & 1) && ((o->mask[1] >> t->hour) & 1) &&
		((o->mask[3] >> t->month) & 1) && day_ok;
}

static int
civil_cmp(const TrickleCivilTime *a, const TrickleCivilTime *b)
{
	const int	av[5] = {a->year, a->month, a->mday, a->hour, a->minute};
	const int	bv[5] = {b->year, b->month, b->mday, b->hour, b->minute};
	int			i;

	for (i = 0; i < 5; i++)
		if (av[i] != bv[i])
			return av[i] < bv[i] ? -1 : 1;
	return 0;
}

#define ORACLE_MINUTES	(2 * 366 * 24 * 60)
#define PROPERTY_CASES	3000

static void
test_cron_next_property(void **state)
{
	Rng			r;
	const char *seedtext = getenv("TRICKLE_TEST_SEED");
	uint64_t	seed = seedtext ? strtoull(seedtext, NULL, 10) : UINT64_C(20260101);
	int			c;
	int			found_by_oracle = 0;
	int			beyond_oracle = 0;

	(void) state;
	printf("[ INFO     ] property test seed %llu\n", (unsigned long long) seed);
	r.state = seed * 2 + 1;
	for (c = 0; c < PROPERTY_CASES; c++)
	{
		GenField	f[5];
		OracleSpec	o;
		char		spec[1400];
		char		canon[TRICKLE_SCHEDULE_FORMAT_LEN];
		TrickleSchedule s;
		TrickleSchedule again;
		TrickleCivilTime after;
		TrickleCivilTime t;
		TrickleCivilTime got;
		bool		have;
		bool		oracle_found = false;
		long		i;
		int			k;

		spec[0] = '\0';
		for (k = 0; k < 5; k++)
		{
			gen_field(&r, k, &f[k]);
			/* make most specs fire often enough for the oracle to see it */
			if (k >= 2 && rng_int(&r, 0, 2) != 0)
			{
				strcpy(f[k].text, "*");
				f[k].mask = (k == 2) ? ALL_DOM : (k == 3) ? ALL_MONTHS : ALL_DOW;
			}
			if (k > 0)
				strcat(spec, rng_int(&r, 0, 4) == 0 ? " \t " : " ");
			strcat(spec, f[k].text);
			o.mask[k] = f[k].mask;
		}
		/* now and then a rare day: the 28th to 31st of one month */
		if (rng_int(&r, 0, 9) == 0)
		{
			k = rng_int(&r, 28, 31);
			snprintf(f[2].text, sizeof(f[2].text), "%d", k);
			f[2].mask = UINT64_C(1) << k;
			k = rng_int(&r, 1, 12);
			snprintf(f[3].text, sizeof(f[3].text), "%d", k);
			f[3].mask = UINT64_C(1) << k;
			strcpy(f[4].text, "*");
			f[4].mask = ALL_DOW;
			snprintf(spec, sizeof(spec), "%s %s %s %s %s", f[0].text,
					 f[1].text, f[2].text, f[3].text, f[4].text);
			for (k = 0; k < 5; k++)
				o.mask[k] = f[k].mask;
		}
		o.dom_star = f[2].text[0] == '*';
		o.dow_star = f[4].text[0] == '*';

		s = parse_ok(spec);
		if (s.minutes != o.mask[0] || s.hours != o.mask[1] ||
			s.days_of_month != o.mask[2] || s.months != o.mask[3] ||
			s.days_of_week != o.mask[4] || s.dom_star != o.dom_star ||
			s.dow_star != o.dow_star)
			fail_msg("\"%s\" parsed to the wrong sets", spec);

		trickle_schedule_format(&s, canon, sizeof(canon));
		again = parse_ok(canon);
		if (!trickle_schedule_equal(&s, &again))
			fail_msg("\"%s\" formats as \"%s\", which means something else", spec, canon);

		after.year = rng_int(&r, 1999, 2101);
		after.month = rng_int(&r, 1, 12);
		after.mday = rng_int(&r, 1, oracle_days_in_month(after.year, after.month));
		after.hour = rng_int(&r, 0, 23);
		after.minute = rng_int(&r, 0, 59);

		have = trickle_cron_next(&s, &after, &got);

		t = after;
		for (i = 0; i < ORACLE_MINUTES; i++)
		{
			oracle_step(&t);
			if (oracle_matches(&o, &t))
			{
				oracle_found = true;
				break;
			}
		}
		if (oracle_found)
		{
			found_by_oracle++;
			if (!have || civil_cmp(&got, &t) != 0)
				fail_msg("\"%s\" after %04d-%02d-%02d %02d:%02d: got %s%04d-%02d-%02d %02d:%02d, "
						 "oracle %04d-%02d-%02d %02d:%02d (seed %llu)",
						 spec, after.year, after.month, after.mday, after.hour,
						 after.minute, have ? "" : "nothing, ", got.year,
						 got.month, got.mday, got.hour, got.minute, t.year,
						 t.month, t.mday, t.hour, t.minute,
						 (unsigned long long) seed);
		}
		else if (have)
		{
			beyond_oracle++;
			/* past the oracle's reach: must at least be later and match */
			if (civil_cmp(&got, &t) <= 0 || !oracle_matches(&o, &got))
				fail_msg("\"%s\": bad result beyond the oracle horizon (seed %llu)",
						 spec, (unsigned long long) seed);
		}
	}
	printf("[ INFO     ] %d of %d cases compared minute by minute, %d found "
		   "beyond the oracle's two years, none found for the rest\n",
		   found_by_oracle, PROPERTY_CASES, beyond_oracle);
	assert_true(found_by_oracle > PROPERTY_CASES / 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interval_units),
		cmocka_unit_test(test_interval_case_and_space),
		cmocka_unit_test(test_interval_limits),
		cmocka_unit_test(test_interval_errors),
		cmocka_unit_test(test_error_buffer_handling),
		cmocka_unit_test(test_cron_basic),
		cmocka_unit_test(test_cron_ranges_steps_lists),
		cmocka_unit_test(test_cron_names),
		cmocka_unit_test(test_cron_macros),
		cmocka_unit_test(test_cron_errors),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_calendar),
		cmocka_unit_test(test_cron_next_basic),
		cmocka_unit_test(test_cron_next_month_ends),
		cmocka_unit_test(test_cron_next_leap_years),
		cmocka_unit_test(test_cron_next_day_rules),
		cmocka_unit_test(test_cron_next_rejects),
		cmocka_unit_test(test_cron_next_property),
	};

	return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
