/*-------------------------------------------------------------------------
 *
 * fuzz_schedule.c
 *	  libFuzzer target for the schedule parser, formatter and cron evaluator
 *	  (src/sched/schedule.c).
 *
 * The input bytes, NUL-terminated, are parsed as a schedule.  A hash of the
 * input picks the error buffer size and a start time, so the text itself
 * stays free for the fuzzer to shape.  Invariants checked:
 *
 *	- a failure leaves a NUL-terminated message that fits the buffer; in a
 *	  roomy buffer it is non-empty, starts lower-case, has no trailing period,
 *	  and is valid UTF-8 whenever the input is;
 *	- a success formats to text that fits TRICKLE_SCHEDULE_FORMAT_LEN,
 *	  re-parses to an equal schedule, and formats identically again;
 *	- parsed values are in range (interval > 0; cron masks non-empty and
 *	  within their fields);
 *	- for cron, trickle_cron_next() gives a valid minute strictly after the
 *	  start that trickle_cron_matches(), nothing in between matches (checked
 *	  for short gaps), and asking again from the minute before gives the
 *	  same answer.
 *
 * fuzz/fuzz_schedule.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/schedule.h"

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

/* How many minutes between start and result are scanned for earlier matches */
#define GAP_SCAN_MINUTES	(3 * 24 * 60)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
hash_bytes(const uint8_t *data, size_t size)
{
	uint64_t	h = UINT64_C(1469598103934665603);
	size_t		i;

	for (i = 0; i < size; i++)
	{
		h ^= data[i];
		h *= UINT64_C(1099511628211);
	}
	return h ^ (h >> 29);
}

/* valid_utf8 - is the NUL-terminated s well-formed UTF-8? */
static int
valid_utf8(const unsigned char *s)
{
	while (*s)
	{
		unsigned	c = *s;
		int			n;
		unsigned	cp;
		int			i;

		if (c < 0x80)
		{
			s++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
		{
			n = 1;
			cp = c & 0x1F;
		}
		else if (c >= 0xE0 && c <= 0xEF)
		{
			n = 2;
			cp = c & 0x0F;
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			n = 3;
			cp = c & 0x07;
		}
		else
			return 0;
		for (i = 1; i <= n; i++)
		{
			if ((s[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		s += n + 1;
	}
	return 1;
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

static void
civil_add_minute(TrickleCivilTime *t)
{
	if (++t->minute < 60)
		return;
	t->minute = 0;
	if (++t->hour < 24)
		return;
	t->hour = 0;
	if (++t->mday <= trickle_civil_days_in_month(t->year, t->month))
		return;
	t->mday = 1;
	if (++t->month <= 12)
		return;
	t->month = 1;
	t->year++;
}

static void
civil_sub_minute(TrickleCivilTime *t)
{
	if (--t->minute >= 0)
		return;
	t->minute = 59;
	if (--t->hour >= 0)
		return;
	t->hour = 23;
	if (--t->mday >= 1)
		return;
	if (--t->month < 1)
	{
		t->month = 12;
		t->year--;
	}
	t->mday = trickle_civil_days_in_month(t->year, t->month);
}

static void
pick_start(uint64_t h, TrickleCivilTime *t)
{
	switch (h % 16)
	{
		case 0:
			t->year = 9990 + (int) ((h >> 8) % 10);
			break;
		case 1:
			t->year = 1 + (int) ((h >> 8) % 10);
			break;
		default:
			t->year = 1900 + (int) ((h >> 8) % 300);
			break;
	}
	t->month = 1 + (int) ((h >> 20) % 12);
	t->mday = 1 + (int) ((h >> 24) % (uint64_t) trickle_civil_days_in_month(t->year, t->month));
	t->hour = (int) ((h >> 32) % 24);
	t->minute = (int) ((h >> 40) % 60);
}

static void
check_cron(const TrickleSchedule *s, uint64_t h)
{
	TrickleCivilTime after;
	TrickleCivilTime next;
	TrickleCivilTime t;
	TrickleCivilTime again;
	int			i;

	CHECK(s->interval_ms == 0);
	CHECK(s->minutes != 0 && (s->minutes >> 60) == 0);
	CHECK(s->hours != 0 && (s->hours >> 24) == 0);
	CHECK(s->days_of_month != 0 && (s->days_of_month & 1) == 0);
	CHECK(s->months != 0 && (s->months & 1) == 0 && (s->months >> 13) == 0);
	CHECK(s->days_of_week != 0 && (s->days_of_week >> 7) == 0);

	pick_start(h, &after);
	if (!trickle_cron_next(s, &after, &next))
	{
		/* then nothing fires soon either */
		t = after;
		for (i = 0; i < GAP_SCAN_MINUTES && t.year <= 9999; i++)
		{
			civil_add_minute(&t);
			CHECK(!trickle_cron_matches(s, &t));
		}
		return;
	}

	CHECK(civil_cmp(&next, &after) > 0);
	CHECK(next.year <= after.year + TRICKLE_CRON_SEARCH_YEARS);
	CHECK(next.month >= 1 && next.month <= 12);
	CHECK(next.mday >= 1 && next.mday <= trickle_civil_days_in_month(next.year, next.month));
	CHECK(next.hour >= 0 && next.hour <= 23);
	CHECK(next.minute >= 0 && next.minute <= 59);
	CHECK(trickle_cron_matches(s, &next));

	/* nothing earlier matches (scanned when the gap is short) */
	t = after;
	for (i = 0; i < GAP_SCAN_MINUTES; i++)
	{
		civil_add_minute(&t);
		if (civil_cmp(&t, &next) >= 0)
			break;
		CHECK(!trickle_cron_matches(s, &t));
	}

	/* asking from the minute before gives the same answer */
	t = next;
	civil_sub_minute(&t);
	if (t.year >= 1)
	{
		CHECK(trickle_cron_next(s, &t, &again));
		CHECK(civil_cmp(&again, &next) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text;
	char		err[16384];
	char		fmt[TRICKLE_SCHEDULE_FORMAT_LEN * 2];
	char		fmt2[TRICKLE_SCHEDULE_FORMAT_LEN];
	size_t		errlen;
	uint64_t	h = hash_bytes(data, size);
	TrickleSchedule s;
	TrickleSchedule again;
	bool		ok;

	if (size > 4096)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	switch ((h >> 48) % 8)
	{
		case 0:
			errlen = 0;
			break;
		case 1:
			errlen = 1 + (size_t) ((h >> 52) % 48);
			break;
		default:
			errlen = sizeof(err);
			break;
	}
	memset(err, 'Z', sizeof(err));

	ok = trickle_schedule_parse(text, &s, errlen ? err : NULL, errlen);
	if (!ok)
	{
		if (errlen > 0)
		{
			const char *nul = memchr(err, '\0', errlen);
			size_t		len;

			CHECK(nul != NULL);
			len = (size_t) (nul - err);
			if (errlen == sizeof(err))
			{
				/* roomy enough never to be cut short */
				CHECK(len + 1 < errlen);
				CHECK(len > 0);
				CHECK(err[0] >= 'a' && err[0] <= 'z');
				CHECK(err[len - 1] != '.');
			}
			if (valid_utf8((const unsigned char *) text))
				CHECK(valid_utf8((const unsigned char *) err));
		}
		free(text);
		return 0;
	}

	/* format, re-parse, format again */
	trickle_schedule_format(&s, fmt, sizeof(fmt));
	CHECK(strlen(fmt) > 0);
	CHECK(strlen(fmt) < TRICKLE_SCHEDULE_FORMAT_LEN);
	if (!trickle_schedule_parse(fmt, &again, err, sizeof(err)))
	{
		fprintf(stderr, "\"%s\" formats as \"%s\", which fails: %s\n", text, fmt, err);
		abort();
	}
	if (!trickle_schedule_equal(&s, &again))
	{
		fprintf(stderr, "\"%s\" formats as \"%s\", which means something else\n", text, fmt);
		abort();
	}
	trickle_schedule_format(&again, fmt2, sizeof(fmt2));
	CHECK(strcmp(fmt, fmt2) == 0);

	if (s.kind == TRICKLE_SCHEDULE_INTERVAL)
	{
		CHECK(s.interval_ms > 0);
		CHECK(s.minutes == 0 && s.hours == 0 && s.days_of_month == 0 &&
			  s.months == 0 && s.days_of_week == 0);
	}
	else
	{
		CHECK(s.kind == TRICKLE_SCHEDULE_CRON);
		check_cron(&s, h);
	}

	free(text);
	return 0;
}
