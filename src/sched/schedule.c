/*-------------------------------------------------------------------------
 *
 * schedule.c
 *	  Parse, format and evaluate stream table schedules.
 *
 * This module owns the text form of a schedule and its meaning: which text
 * is accepted, what it is turned into (TrickleSchedule), how that is shown
 * back to users, and which wall-clock minutes a cron schedule fires on.  It
 * knows nothing of time zones, clocks or catalogs; the scheduler converts
 * "now" to a TrickleCivilTime in the time zone it has chosen and back.
 *
 * Grammar, case-insensitive, after leading and trailing whitespace is
 * stripped:
 *
 *	schedule := macro | cron | interval
 *	macro	 := "@hourly" | "@daily" | "@midnight" | "@weekly" | "@monthly"
 *				| "@yearly" | "@annually"
 *	cron	 := field SEP field SEP field SEP field SEP field
 *				(minute hour day-of-month month day-of-week;
 *				 SEP is one or more spaces or tabs)
 *	field	 := item ("," item)*
 *	item	 := ("*" | value | value "-" value) ("/" digits)?
 *	value	 := digits | name		(jan-dec in month, sun-sat in day-of-week)
 *	interval := (digits unit)+		(no whitespace inside)
 *	unit	 := "d" | "h" | "m" | "s" | "ms"
 *
 * Text starting with '@' is a macro; text with a space or tab inside is cron;
 * anything else is an interval.  In an interval each unit appears at most
 * once, largest first, and the total must be positive and fit in int64
 * milliseconds (a zero group such as the "0m" in "1h0m" is allowed).  In cron,
 * "a/n" means a through the field's maximum in steps of n, a step lies
 * between 1 and the width of the field, and day-of-week 7 is Sunday like 0.
 * Whether the day fields began with '*' is kept, because Vixie cron ORs the
 * two day fields when both are restricted and ANDs them otherwise.
 *
 * Errors are written into the caller's buffer, lower-case and without a
 * trailing period, quoting the offending text; the backend glue raises them.
 * Quoted text always starts at a character boundary, and a message cut short
 * by a small buffer loses any incomplete UTF-8 sequence at its end, so the
 * message stays valid in the server encoding when the input was.
 *
 * Concurrency: none needed; there is no mutable static state.
 * Memory: nothing is allocated; callers own every buffer.
 *
 * src/sched/schedule.c
 *
 *-------------------------------------------------------------------------
 */
#include "sched/schedule.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define SCHEDULE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SCHEDULE_PRINTF(fmt, args)
#endif

/* Parsed numbers saturate here; every valid cron value is far below. */
#define CRON_NUMBER_CAP		1000000

/* Years a TrickleCivilTime may carry; keeps all arithmetic far from INT_MAX. */
#define CIVIL_YEAR_MIN		1
#define CIVIL_YEAR_MAX		9999

/* Interval units, largest first: the order the grammar requires. */
typedef struct IntervalUnit
{
	const char *name;
	int64_t		ms;
} IntervalUnit;

static const IntervalUnit interval_units[] = {
	{"d", INT64_C(86400000)},
	{"h", INT64_C(3600000)},
	{"m", INT64_C(60000)},
	{"s", INT64_C(1000)},
	{"ms", INT64_C(1)},
};

#define NUM_INTERVAL_UNITS	((int) (sizeof(interval_units) / sizeof(interval_units[0])))

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};

static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

/* One cron field: its name in messages, its range, and its names if any. */
typedef struct CronField
{
	const char *label;
	int			min;
	int			max;
	const char *const *names;
	int			names_base;		/* value of names[0] */
} CronField;

enum
{
	CRON_MINUTE,
	CRON_HOUR,
	CRON_DOM,
	CRON_MONTH,
	CRON_DOW,
	CRON_NFIELDS
};

static const CronField cron_fields[CRON_NFIELDS] = {
	{"minute", 0, 59, NULL, 0},
	{"hour", 0, 23, NULL, 0},
	{"day-of-month", 1, 31, NULL, 0},
	{"month", 1, 12, month_names, 1},
	{"day-of-week", 0, 7, dow_names, 0},
};

typedef struct CronMacro
{
	const char *name;
	const char *expansion;
} CronMacro;

static const CronMacro cron_macros[] = {
	{"@hourly", "0 * * * *"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@weekly", "0 0 * * 0"},
	{"@monthly", "0 0 1 * *"},
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{NULL, NULL}
};

/* A bounded text builder for trickle_schedule_format(). */
typedef struct TextBuilder
{
	char		data[TRICKLE_SCHEDULE_FORMAT_LEN * 2];
	size_t		len;
} TextBuilder;

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\v' || c == '\f';
}

static char
to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

/*
 * text_equals_ci - does [p, p+len) equal the NUL-terminated lower-case word,
 * ignoring ASCII case?
 */
static bool
text_equals_ci(const char *p, size_t len, const char *word)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		if (word[i] == '\0' || to_lower(p[i]) != word[i])
			return false;
	}
	return word[len] == '\0';
}

/* qlen - a length for a "%.*s" conversion */
static int
qlen(size_t len)
{
	return len > (size_t) INT_MAX ? INT_MAX : (int) len;
}

/*
 * drop_partial_utf8 - remove an incomplete UTF-8 sequence that truncation
 * left at the end of buf.
 */
static void
drop_partial_utf8(char *buf)
{
	size_t		len = strlen(buf);
	size_t		i = len;
	unsigned char lead;
	size_t		need;

	while (i > 0 && len - i < 3 && ((unsigned char) buf[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	lead = (unsigned char) buf[i - 1];
	if (lead < 0xC0)
		return;
	need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
	if (len - (i - 1) < need)
		buf[i - 1] = '\0';
}

/*
 * report - write a formatted message into errbuf, which may be NULL or
 * zero-sized when the caller wants no message.
 */
static void SCHEDULE_PRINTF(3, 4)
report(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	if (n < 0)
		errbuf[0] = '\0';
	else if ((size_t) n >= errlen)
		drop_partial_utf8(errbuf);
}

/*
 * parse_interval - parse [start, end), which holds no whitespace, as an
 * interval.
 */
static bool
parse_interval(const char *start, const char *end, TrickleSchedule *out,
			   char *errbuf, size_t errlen)
{
	const char *p = start;
	int			tlen = qlen((size_t) (end - start));
	int64_t		total = 0;
	int			last_unit = -1;
	unsigned	seen = 0;

	while (p < end)
	{
		const char *digits = p;
		const char *letters;
		size_t		ndigits;
		size_t		nletters;
		int64_t		value = 0;
		bool		overflow = false;
		int			unit;

		if (!is_digit(*p))
		{
			report(errbuf, errlen, "expected a number at \"%.*s\" in interval \"%.*s\"",
				   qlen((size_t) (end - p)), p, tlen, start);
			return false;
		}
		while (p < end && is_digit(*p))
		{
			int			d = *p - '0';

			if (value > (INT64_MAX - d) / 10)
				overflow = true;
			else
				value = value * 10 + d;
			p++;
		}
		ndigits = (size_t) (p - digits);

		letters = p;
		while (p < end && is_alpha(*p))
			p++;
		nletters = (size_t) (p - letters);
		if (nletters == 0)
		{
			report(errbuf, errlen, "missing unit after \"%.*s\" in interval \"%.*s\"",
				   qlen(ndigits), digits, tlen, start);
			return false;
		}
		for (unit = 0; unit < NUM_INTERVAL_UNITS; unit++)
		{
			if (text_equals_ci(letters, nletters, interval_units[unit].name))
				break;
		}
		if (unit == NUM_INTERVAL_UNITS)
		{
			report(errbuf, errlen, "invalid unit \"%.*s\" in interval \"%.*s\"",
				   qlen(nletters), letters, tlen, start);
			return false;
		}
		if (seen & (1u << unit))
		{
			report(errbuf, errlen, "unit \"%.*s\" appears more than once in interval \"%.*s\"",
				   qlen(nletters), letters, tlen, start);
			return false;
		}
		if (unit < last_unit)
		{
			report(errbuf, errlen, "unit \"%.*s\" is out of order in interval \"%.*s\"",
				   qlen(nletters), letters, tlen, start);
			return false;
		}
		seen |= 1u << unit;
		last_unit = unit;

		if (overflow ||
			value > INT64_MAX / interval_units[unit].ms ||
			value * interval_units[unit].ms > INT64_MAX - total)
		{
			report(errbuf, errlen, "interval \"%.*s\" is out of range", tlen, start);
			return false;
		}
		total += value * interval_units[unit].ms;
	}

	if (total == 0)
	{
		report(errbuf, errlen, "interval \"%.*s\" must be greater than zero", tlen, start);
		return false;
	}

	memset(out, 0, sizeof(*out));
	out->kind = TRICKLE_SCHEDULE_INTERVAL;
	out->interval_ms = total;
	return true;
}

/*
 * parse_cron_number - read a run of digits at *pp, saturating at
 * CRON_NUMBER_CAP.  The caller has checked that *pp starts with a digit.
 */
static int
parse_cron_number(const char **pp, const char *end)
{
	const char *p = *pp;
	int			value = 0;

	while (p < end && is_digit(*p))
	{
		if (value < CRON_NUMBER_CAP)
			value = value * 10 + (*p - '0');
		p++;
	}
	*pp = p;
	return value;
}

/*
 * parse_cron_value - read one number or name of field f at *pp into *value.
 * [fstart, end) is the whole field text, quoted in messages.
 */
static bool
parse_cron_value(const CronField *f, const char **pp, const char *fstart,
				 const char *end, int *value, char *errbuf, size_t errlen)
{
	const char *p = *pp;
	const char *tok = p;
	int			flen = qlen((size_t) (end - fstart));

	if (p < end && is_digit(*p))
	{
		int			v = parse_cron_number(&p, end);

		if (v < f->min || v > f->max)
		{
			report(errbuf, errlen, "%s value %.*s is out of range %d-%d",
				   f->label, qlen((size_t) (p - tok)), tok, f->min, f->max);
			return false;
		}
		*value = v;
	}
	else if (p < end && is_alpha(*p) && f->names != NULL)
	{
		int			i;

		while (p < end && is_alpha(*p))
			p++;
		for (i = 0; f->names[i] != NULL; i++)
		{
			if (text_equals_ci(tok, (size_t) (p - tok), f->names[i]))
				break;
		}
		if (f->names[i] == NULL)
		{
			report(errbuf, errlen, "invalid %s name \"%.*s\"",
				   f->label, qlen((size_t) (p - tok)), tok);
			return false;
		}
		*value = f->names_base + i;
	}
	else if (p == end)
	{
		report(errbuf, errlen, "missing value at end of %s field \"%.*s\"",
			   f->label, flen, fstart);
		return false;
	}
	else
	{
		report(errbuf, errlen, "unexpected text \"%.*s\" in %s field \"%.*s\"",
			   qlen((size_t) (end - p)), p, f->label, flen, fstart);
		return false;
	}
	*pp = p;
	return true;
}

/*
 * parse_cron_field - parse the text [start, end) of field f into *mask (bit v
 * set for each matching value v).
 */
static bool
parse_cron_field(const CronField *f, const char *start, const char *end,
				 uint64_t *mask, char *errbuf, size_t errlen)
{
	const char *p = start;
	int			flen = qlen((size_t) (end - start));
	uint64_t	bits = 0;

	for (;;)
	{
		const char *item = p;
		int			lo;
		int			hi;
		int			step = 1;
		int			v;
		bool		star = false;
		bool		range = false;

		if (p == end || *p == ',')
		{
			report(errbuf, errlen, "empty list item in %s field \"%.*s\"",
				   f->label, flen, start);
			return false;
		}

		if (*p == '*')
		{
			star = true;
			lo = f->min;
			hi = f->max;
			p++;
		}
		else
		{
			if (!parse_cron_value(f, &p, start, end, &lo, errbuf, errlen))
				return false;
			hi = lo;
			if (p < end && *p == '-')
			{
				p++;
				if (!parse_cron_value(f, &p, start, end, &hi, errbuf, errlen))
					return false;
				if (lo > hi)
				{
					report(errbuf, errlen, "invalid %s range %.*s: start is greater than end",
						   f->label, qlen((size_t) (p - item)), item);
					return false;
				}
				range = true;
			}
		}

		if (p < end && *p == '/')
		{
			const char *steptext;
			int			width = f->max - f->min + 1;

			p++;
			if (p == end || !is_digit(*p))
			{
				report(errbuf, errlen, "expected a step value after \"/\" in %s field \"%.*s\"",
					   f->label, flen, start);
				return false;
			}
			steptext = p;
			step = parse_cron_number(&p, end);
			if (step < 1 || step > width)
			{
				report(errbuf, errlen, "%s step %.*s is out of range 1-%d",
					   f->label, qlen((size_t) (p - steptext)), steptext, width);
				return false;
			}
			if (!star && !range)
				hi = f->max;
		}

		for (v = lo; v <= hi; v += step)
			bits |= UINT64_C(1) << v;

		if (p == end)
			break;
		if (*p != ',')
		{
			report(errbuf, errlen, "unexpected text \"%.*s\" in %s field \"%.*s\"",
				   qlen((size_t) (end - p)), p, f->label, flen, start);
			return false;
		}
		p++;
	}

	*mask = bits;
	return true;
}

/*
 * parse_cron - parse [start, end), stripped of outer whitespace, as five
 * cron fields.
 */
static bool
parse_cron(const char *start, const char *end, TrickleSchedule *out,
		   char *errbuf, size_t errlen)
{
	const char *fstart[CRON_NFIELDS];
	const char *fend[CRON_NFIELDS];
	uint64_t	masks[CRON_NFIELDS];
	const char *p = start;
	size_t		nfields = 0;
	int			i;

	while (p < end)
	{
		const char *s;

		while (p < end && is_blank(*p))
			p++;
		if (p == end)
			break;
		s = p;
		while (p < end && !is_blank(*p))
			p++;
		if (nfields < CRON_NFIELDS)
		{
			fstart[nfields] = s;
			fend[nfields] = p;
		}
		nfields++;
	}

	if (nfields != CRON_NFIELDS)
	{
		/* "1h 30m" was surely meant as an interval; say what is wrong there */
		if (nfields > 0 && is_digit(fstart[0][0]) && is_alpha(fend[0][-1]))
			report(errbuf, errlen, "interval \"%.*s\" must not contain whitespace",
				   qlen((size_t) (end - start)), start);
		else
			report(errbuf, errlen, "cron expression \"%.*s\" has %zu fields instead of %d",
				   qlen((size_t) (end - start)), start, nfields, CRON_NFIELDS);
		return false;
	}

	for (i = 0; i < CRON_NFIELDS; i++)
	{
		if (!parse_cron_field(&cron_fields[i], fstart[i], fend[i], &masks[i],
							  errbuf, errlen))
			return false;
	}

	/* day-of-week 7 is another name for Sunday */
	if (masks[CRON_DOW] & (UINT64_C(1) << 7))
		masks[CRON_DOW] = (masks[CRON_DOW] & ~(UINT64_C(1) << 7)) | UINT64_C(1);

	memset(out, 0, sizeof(*out));
	out->kind = TRICKLE_SCHEDULE_CRON;
	out->minutes = masks[CRON_MINUTE];
	out->hours = (uint32_t) masks[CRON_HOUR];
	out->days_of_month = (uint32_t) masks[CRON_DOM];
	out->months = (uint16_t) masks[CRON_MONTH];
	out->days_of_week = (uint8_t) masks[CRON_DOW];
	out->dom_star = fstart[CRON_DOM][0] == '*';
	out->dow_star = fstart[CRON_DOW][0] == '*';
	return true;
}

/*
 * trickle_schedule_parse - parse text as an interval, a cron expression or a
 * cron macro.
 *
 * On success fills *out and returns true.  On failure returns false, leaves
 * *out untouched and, unless errbuf is NULL or errlen is 0, writes a
 * NUL-terminated message (TRICKLE_SCHEDULE_ERROR_LEN bytes hold it unless the
 * input is long; longer messages are cut).  A NULL text is an error.
 */
bool
trickle_schedule_parse(const char *text, TrickleSchedule *out,
					   char *errbuf, size_t errlen)
{
	const char *start;
	const char *end;
	const char *p;
	int			i;

	if (text == NULL)
	{
		report(errbuf, errlen, "schedule must not be null");
		return false;
	}

	start = text;
	while (is_space(*start))
		start++;
	end = start + strlen(start);
	while (end > start && is_space(end[-1]))
		end--;

	if (start == end)
	{
		report(errbuf, errlen, "schedule must not be empty");
		return false;
	}

	if (*start == '@')
	{
		for (i = 0; cron_macros[i].name != NULL; i++)
		{
			if (text_equals_ci(start, (size_t) (end - start), cron_macros[i].name))
			{
				const char *x = cron_macros[i].expansion;

				return parse_cron(x, x + strlen(x), out, errbuf, errlen);
			}
		}
		report(errbuf, errlen, "invalid schedule macro \"%.*s\"",
			   qlen((size_t) (end - start)), start);
		return false;
	}

	for (p = start; p < end; p++)
	{
		if (is_blank(*p))
			return parse_cron(start, end, out, errbuf, errlen);
	}
	return parse_interval(start, end, out, errbuf, errlen);
}

/*
 * trickle_schedule_equal - do two parsed schedules mean the same thing?
 *
 * Fields that do not apply to the kind are ignored.
 */
bool
trickle_schedule_equal(const TrickleSchedule *a, const TrickleSchedule *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == TRICKLE_SCHEDULE_INTERVAL)
		return a->interval_ms == b->interval_ms;
	return a->minutes == b->minutes &&
		a->hours == b->hours &&
		a->days_of_month == b->days_of_month &&
		a->months == b->months &&
		a->days_of_week == b->days_of_week &&
		a->dom_star == b->dom_star &&
		a->dow_star == b->dow_star;
}

static void SCHEDULE_PRINTF(2, 3)
tb_append(TextBuilder *tb, const char *fmt,...)
{
	va_list		ap;
	size_t		room = sizeof(tb->data) - tb->len;
	int			n;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tb->data + tb->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		tb->data[tb->len] = '\0';
	else if ((size_t) n >= room)
		tb->len = sizeof(tb->data) - 1;
	else
		tb->len += (size_t) n;
}

static bool
has_bit(uint64_t mask, int v)
{
	return (mask >> v) & 1;
}

/* progression - the values lo, lo+step, ... up to hi, as a mask */
static uint64_t
progression(int lo, int hi, int step)
{
	uint64_t	bits = 0;
	int			v;

	for (v = lo; v <= hi; v += step)
		bits |= UINT64_C(1) << v;
	return bits;
}

/*
 * format_list - append mask (values within [lo, hi]) as a comma list, runs
 * of three or more values written as "a-b".
 */
static void
format_list(TextBuilder *tb, uint64_t mask, int lo, int hi)
{
	bool		first = true;
	int			v = lo;

	while (v <= hi)
	{
		int			run_end;

		if (!has_bit(mask, v))
		{
			v++;
			continue;
		}
		run_end = v;
		while (run_end + 1 <= hi && has_bit(mask, run_end + 1))
			run_end++;
		if (!first)
			tb_append(tb, ",");
		first = false;
		if (run_end - v >= 2)
			tb_append(tb, "%d-%d", v, run_end);
		else if (run_end > v)
			tb_append(tb, "%d,%d", v, run_end);
		else
			tb_append(tb, "%d", v);
		v = run_end + 1;
	}
}

/*
 * format_field - append one cron field.
 *
 * star_semantics: the field is day-of-month or day-of-week, whose leading
 * '*' matters; star is then whether the text must start with '*'.
 * allow_from_step: "a/n" reads back as the same set (false for day-of-week,
 * whose parse range runs to 7).
 */
static void
format_field(TextBuilder *tb, uint64_t mask, int lo, int hi,
			 bool star_semantics, bool star, bool allow_from_step)
{
	uint64_t	full = progression(lo, hi, 1);
	int			first;
	int			second;
	int			step;

	mask &= full;

	if (star_semantics && star && has_bit(mask, lo))
	{
		uint64_t	prog = full;

		if (mask == full)
		{
			tb_append(tb, "*");
			return;
		}
		/* a field text starting with '*' always matches lo */
		for (step = 2; step <= hi - lo + 1; step++)
		{
			prog = progression(lo, hi, step);
			if ((prog & mask) == prog)
				break;
		}
		tb_append(tb, "*/%d", step);
		if (mask & ~prog)
		{
			tb_append(tb, ",");
			format_list(tb, mask & ~prog, lo, hi);
		}
		return;
	}

	if (!star_semantics && mask == full)
	{
		tb_append(tb, "*");
		return;
	}

	/* an exact progression of three or more values reads best as a step */
	for (first = lo; first <= hi && !has_bit(mask, first); first++)
		;
	for (second = first + 1; second <= hi && !has_bit(mask, second); second++)
		;
	step = second - first;
	if (allow_from_step && second <= hi && step >= 2 &&
		first + 2 * step <= hi && progression(first, hi, step) == mask)
	{
		if (first == lo && !star_semantics)
			tb_append(tb, "*/%d", step);
		else
			tb_append(tb, "%d/%d", first, step);
		return;
	}

	format_list(tb, mask, lo, hi);
}

/*
 * trickle_schedule_format - write the canonical text of s into buf.
 *
 * An interval comes out as its units largest first ("1h30m"); cron comes out
 * as five normalized fields (macros expanded, names as numbers, Sunday as 0).
 * Parsing the output yields a schedule equal to s whenever s came from
 * trickle_schedule_parse().  The output is cut to fit buflen (always
 * NUL-terminated when buflen > 0); TRICKLE_SCHEDULE_FORMAT_LEN always
 * suffices.
 */
void
trickle_schedule_format(const TrickleSchedule *s, char *buf, size_t buflen)
{
	TextBuilder tb;

	tb.len = 0;
	tb.data[0] = '\0';

	if (s->kind == TRICKLE_SCHEDULE_INTERVAL)
	{
		int64_t		rest = s->interval_ms;
		int			i;

		for (i = 0; i < NUM_INTERVAL_UNITS; i++)
		{
			int64_t		n = rest / interval_units[i].ms;

			if (n > 0)
				tb_append(&tb, "%" PRId64 "%s", n, interval_units[i].name);
			rest -= n * interval_units[i].ms;
		}
		if (tb.len == 0)
			tb_append(&tb, "%" PRId64 "ms", s->interval_ms);
	}
	else
	{
		format_field(&tb, s->minutes, 0, 59, false, false, true);
		tb_append(&tb, " ");
		format_field(&tb, s->hours, 0, 23, false, false, true);
		tb_append(&tb, " ");
		format_field(&tb, s->days_of_month, 1, 31, true, s->dom_star, true);
		tb_append(&tb, " ");
		format_field(&tb, s->months, 1, 12, false, false, true);
		tb_append(&tb, " ");
		format_field(&tb, s->days_of_week, 0, 6, true, s->dow_star, false);
	}

	if (buflen > 0)
		snprintf(buf, buflen, "%s", tb.data);
}

/*
 * trickle_civil_days_in_month - days in the month of the proleptic Gregorian
 * calendar, or 0 when month is outside 1-12.
 */
int
trickle_civil_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap;

	if (month < 1 || month > 12)
		return 0;
	if (month != 2)
		return days[month - 1];
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return leap ? 29 : 28;
}

/* floor_div - integer division rounding toward minus infinity (d > 0) */
static int64_t
floor_div(int64_t n, int64_t d)
{
	return n >= 0 ? n / d : -((-n + d - 1) / d);
}

/*
 * trickle_civil_day_of_week - day of the week (0 = Sunday ... 6 = Saturday)
 * of a date in the proleptic Gregorian calendar, or -1 when month is outside
 * 1-12.  mday is not checked against the month: day 32 of a month is the
 * first of the next.
 */
int
trickle_civil_day_of_week(int year, int month, int mday)
{
	static const int days_before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int64_t		y = (int64_t) year - 1;
	int64_t		days;
	int64_t		dow;

	if (month < 1 || month > 12)
		return -1;

	/* days since 0001-01-01, which was a Monday */
	days = y * 365 + floor_div(y, 4) - floor_div(y, 100) + floor_div(y, 400) +
		days_before[month - 1] + (int64_t) mday - 1;
	if (month > 2 && trickle_civil_days_in_month(year, 2) == 29)
		days++;

	dow = (days + 1) % 7;
	return (int) (dow < 0 ? dow + 7 : dow);
}

/* civil_valid - is t a real minute of the supported calendar range? */
static bool
civil_valid(const TrickleCivilTime *t)
{
	return t->year >= CIVIL_YEAR_MIN && t->year <= CIVIL_YEAR_MAX &&
		t->month >= 1 && t->month <= 12 &&
		t->mday >= 1 && t->mday <= trickle_civil_days_in_month(t->year, t->month) &&
		t->hour >= 0 && t->hour <= 23 &&
		t->minute >= 0 && t->minute <= 59;
}

/* day_matches - do the day-of-month and day-of-week fields accept the day? */
static bool
day_matches(const TrickleSchedule *s, int year, int month, int mday)
{
	bool		dom_ok = has_bit(s->days_of_month, mday);
	bool		dow_ok = has_bit(s->days_of_week,
								 trickle_civil_day_of_week(year, month, mday));

	if (s->dom_star || s->dow_star)
		return dom_ok && dow_ok;
	return dom_ok || dow_ok;
}

/*
 * trickle_cron_matches - does cron schedule s fire at minute t?
 *
 * False for an interval schedule or an invalid t (year outside 1-9999, a day
 * the month lacks, ...).
 */
bool
trickle_cron_matches(const TrickleSchedule *s, const TrickleCivilTime *t)
{
	if (s->kind != TRICKLE_SCHEDULE_CRON || !civil_valid(t))
		return false;
	return has_bit(s->minutes, t->minute) &&
		has_bit(s->hours, t->hour) &&
		has_bit(s->months, t->month) &&
		day_matches(s, t->year, t->month, t->mday);
}

/* next_bit - smallest set bit of mask in [from, to], or -1 */
static int
next_bit(uint64_t mask, int from, int to)
{
	int			v;

	for (v = from; v <= to; v++)
	{
		if (has_bit(mask, v))
			return v;
	}
	return -1;
}

/*
 * trickle_cron_next - the first minute strictly after *after at which cron
 * schedule s fires.
 *
 * Returns true and fills *next, or false when s is not a cron schedule,
 * *after is invalid (see trickle_cron_matches), or nothing fires through
 * December of after->year + TRICKLE_CRON_SEARCH_YEARS ("0 0 31 2 *" never
 * fires; "0 0 29 2 *" does not between 2096 and 2104) or through year 9999,
 * whichever comes first.
 *
 * The search skips a whole month, day or hour that cannot match, so it costs
 * at most a few thousand steps.
 */
bool
trickle_cron_next(const TrickleSchedule *s, const TrickleCivilTime *after,
				  TrickleCivilTime *next)
{
	int			limit;
	int			y;
	int			mo;
	int			d;
	int			h;
	int			mi;

	if (s->kind != TRICKLE_SCHEDULE_CRON || !civil_valid(after))
		return false;
	if (s->minutes == 0 || s->hours == 0 || s->months == 0)
		return false;

	limit = after->year + TRICKLE_CRON_SEARCH_YEARS;
	if (limit > CIVIL_YEAR_MAX)
		limit = CIVIL_YEAR_MAX;
	y = after->year;
	mo = after->month;
	d = after->mday;
	h = after->hour;
	mi = after->minute + 1;

	/*
	 * Each step either returns or moves (y, mo, d, h, mi) forward to the next
	 * candidate; overflowing values carry into the next unit at the top.
	 */
	for (;;)
	{
		int			v;

		if (mi > 59)
		{
			mi = 0;
			h++;
		}
		if (h > 23)
		{
			h = 0;
			d++;
		}
		if (mo <= 12 && d > trickle_civil_days_in_month(y, mo))
		{
			d = 1;
			mo++;
		}
		if (mo > 12)
		{
			mo = 1;
			y++;
		}
		if (y > limit)
			return false;

		if (!has_bit(s->months, mo))
		{
			v = next_bit(s->months, mo + 1, 12);
			mo = v < 0 ? 13 : v;
			d = 1;
			h = 0;
			mi = 0;
			continue;
		}
		if (!day_matches(s, y, mo, d))
		{
			d++;
			h = 0;
			mi = 0;
			continue;
		}
		if (!has_bit(s->hours, h))
		{
			v = next_bit(s->hours, h + 1, 23);
			h = v < 0 ? 24 : v;
			mi = 0;
			continue;
		}
		if (!has_bit(s->minutes, mi))
		{
			v = next_bit(s->minutes, mi + 1, 59);
			mi = v < 0 ? 60 : v;
			continue;
		}

		next->year = y;
		next->month = mo;
		next->mday = d;
		next->hour = h;
		next->minute = mi;
		return true;
	}
}
