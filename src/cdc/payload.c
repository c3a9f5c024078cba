/*-------------------------------------------------------------------------
 *
 * payload.c
 *	  Parse and format the argument string of trickle's change-capture
 *	  triggers.
 *
 * This module owns the text that trickle stores as the single argument of
 * each change-capture trigger (pg_trigger.tgargs) and its meaning.  The
 * trigger function decodes it on every call it does not have cached, so the
 * text must say everything the trigger needs without a catalog lookup:
 * which source's change buffer receives the rows, and which column of the
 * triggering table fills which buffer column (a partition or an inheritance
 * child may number its columns differently from the root).
 *
 * Grammar (ASCII, case-sensitive, no whitespace anywhere):
 *
 *	payload  := "t1" ":" oid ":" cols [ ":" flags ]
 *	oid      := number							1 .. 4294967295
 *	cols     := "" | pair ( "," pair )*
 *	pair     := attnum "=" attnum				buffer "=" local
 *	attnum   := number							1 .. 1600
 *	flags    := one or more of "p" and "m", each at most once, any order
 *	number   := "0" | [1-9] [0-9]*				(no sign, no leading zero)
 *
 * A payload is at most TRICKLE_PAYLOAD_MAX_LENGTH bytes.  In cols, a buffer
 * attribute number appears at most once and so does a local one; the order
 * of the pairs is kept.  "t1" is version 1 of the format; a later version
 * gets a new tag so that an old library refuses it instead of misreading it.
 *
 * Every value has exactly one spelling except the order of the flags, and
 * the formatter writes flags as "p" before "m".  So formatting a parsed
 * payload gives back the input, or the input with its flags reordered: the
 * same length, which is why the formatter may enforce the length limit
 * without ever refusing what the parser accepted.
 *
 * Errors are written into the caller's buffer, lower-case and without a
 * trailing period, naming the field (and column pair, counted from 1) and,
 * for a stray character, its byte position counted from 1.  Messages are
 * pure printable ASCII whatever the input: quoted input bytes outside it are
 * written as \xNN, and quoted text is cut after QUOTE_MAX bytes.
 *
 * Concurrency: none needed; there is no mutable static state.
 * Memory: nothing is allocated; callers own every buffer.  The parser and
 * the formatter each use about 6 kB of stack for duplicate detection.
 *
 * src/cdc/payload.c
 *
 *-------------------------------------------------------------------------
 */
#include "payload.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define PAYLOAD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PAYLOAD_PRINTF(fmt, args)
#endif

#define PAYLOAD_VERSION_TAG		"t1"
#define PAYLOAD_VERSION_LEN		2

#define PAYLOAD_OID_MAX			UINT64_C(4294967295)

/* Longer digit runs are certainly out of range; the count stops growing. */
#define NUMBER_MAX_DIGITS		10

/* Input bytes quoted in a message; a longer token is cut and ends in "..." */
#define QUOTE_MAX				16

/* Room for a quoted token: quotes, \xNN per byte, "..." and the NUL */
#define QUOTE_BUFLEN			(2 + QUOTE_MAX * 4 + 3 + 1)

/* Digits of a number shown in a message; more are cut and end in "..." */
#define DIGITS_SHOWN			12

/* A message when vsnprintf() fails, which these formats never make it do */
#define FALLBACK_MESSAGE		"invalid trigger payload"

typedef enum NumberResult
{
	NUMBER_OK,
	NUMBER_MISSING,				/* no digit at all */
	NUMBER_LEADING_ZERO,		/* more than one digit, the first a '0' */
	NUMBER_OUT_OF_RANGE			/* 0, or above the maximum */
} NumberResult;

/* What every step of the parser needs to read the text and report on it */
typedef struct PayloadParser
{
	const char *text;			/* start of the payload, for positions */
	const char *end;			/* its terminating NUL */
	char	   *err;
	size_t		errlen;
} PayloadParser;

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * report - write a formatted message into err, which may be NULL or
 * zero-sized when the caller wants no message.  A message longer than the
 * buffer is cut; it is ASCII, so no character is split.
 */
static void PAYLOAD_PRINTF(3, 4)
report(char *err, size_t errlen, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		strncpy(err, FALLBACK_MESSAGE, errlen - 1);
		err[errlen - 1] = '\0';
	}
}

/*
 * quote_token - render len bytes at p as a double-quoted string of
 * printable ASCII into dst (QUOTE_BUFLEN bytes) and return dst.
 */
static const char *
quote_token(const char *p, size_t len, char *dst)
{
	static const char hex[] = "0123456789abcdef";
	size_t		n = 0;
	size_t		i;

	dst[n++] = '"';
	for (i = 0; i < len && i < QUOTE_MAX; i++)
	{
		unsigned char c = (unsigned char) p[i];

		if (c >= 0x20 && c <= 0x7E && c != '"' && c != '\\')
			dst[n++] = (char) c;
		else
		{
			dst[n++] = '\\';
			dst[n++] = 'x';
			dst[n++] = hex[c >> 4];
			dst[n++] = hex[c & 0x0F];
		}
	}
	if (len > QUOTE_MAX)
	{
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n++] = '"';
	dst[n] = '\0';
	return dst;
}

/* shown_digits - a "%.*s%s" precision for a run of len digits */
static int
shown_digits(size_t len)
{
	return len > DIGITS_SHOWN ? DIGITS_SHOWN : (int) len;
}

/* cut_mark - the "%.*s%s" suffix that goes with shown_digits() */
static const char *
cut_mark(size_t len)
{
	return len > DIGITS_SHOWN ? "..." : "";
}

/* position - byte position of p in the payload, counted from 1 */
static int
position(const PayloadParser *pp, const char *p)
{
	return (int) (p - pp->text) + 1;
}

/*
 * scan_number - read the run of digits at *pos (up to end) as a number in
 * 1..max.
 *
 * Always advances *pos past the whole run and sets *ndigits to its length;
 * sets *value only for NUMBER_OK.
 */
static NumberResult
scan_number(const char **pos, const char *end, uint64_t max,
			uint64_t *value, size_t *ndigits)
{
	const char *start = *pos;
	const char *p = start;
	uint64_t	v = 0;

	while (p < end && is_digit(*p))
	{
		if (p - start < NUMBER_MAX_DIGITS)
			v = v * 10 + (uint64_t) (*p - '0');
		p++;
	}
	*pos = p;
	*ndigits = (size_t) (p - start);
	if (p == start)
		return NUMBER_MISSING;
	if (p - start > 1 && *start == '0')
		return NUMBER_LEADING_ZERO;
	if (p - start > NUMBER_MAX_DIGITS || v < 1 || v > max)
		return NUMBER_OUT_OF_RANGE;
	*value = v;
	return NUMBER_OK;
}

/*
 * parse_oid - parse the buffer OID field at *pos and the ':' that ends it;
 * on success *pos is just past that ':'.
 */
static bool
parse_oid(const PayloadParser *pp, const char **pos, unsigned int *oid)
{
	const char *start = *pos;
	const char *p = start;
	uint64_t	value = 0;
	size_t		nd;
	char		q[QUOTE_BUFLEN];

	switch (scan_number(&p, pp->end, PAYLOAD_OID_MAX, &value, &nd))
	{
		case NUMBER_OK:
			break;
		case NUMBER_MISSING:
			if (p == pp->end || *p == ':')
				report(pp->err, pp->errlen, "buffer OID is missing");
			else
				report(pp->err, pp->errlen,
					   "unexpected character %s in buffer OID at position %d",
					   quote_token(p, 1, q), position(pp, p));
			return false;
		case NUMBER_LEADING_ZERO:
			report(pp->err, pp->errlen,
				   "buffer OID %.*s%s has a leading zero",
				   shown_digits(nd), start, cut_mark(nd));
			return false;
		case NUMBER_OUT_OF_RANGE:
			report(pp->err, pp->errlen,
				   "buffer OID %.*s%s is out of range 1..4294967295",
				   shown_digits(nd), start, cut_mark(nd));
			return false;
	}
	if (p == pp->end)
	{
		report(pp->err, pp->errlen,
			   "missing column list after buffer OID %.*s",
			   shown_digits(nd), start);
		return false;
	}
	if (*p != ':')
	{
		report(pp->err, pp->errlen,
			   "unexpected character %s in buffer OID at position %d",
			   quote_token(p, 1, q), position(pp, p));
		return false;
	}
	*oid = (unsigned int) value;
	*pos = p + 1;
	return true;
}

/*
 * parse_attnum - parse one attribute number of column pair pairno at *pos;
 * side is "buffer" or "local".  On success *pos is just past its digits.
 */
static bool
parse_attnum(const PayloadParser *pp, const char **pos, int pairno,
			 const char *side, int *attnum)
{
	const char *start = *pos;
	const char *p = start;
	uint64_t	value = 0;
	size_t		nd;
	char		q[QUOTE_BUFLEN];

	switch (scan_number(&p, pp->end, TRICKLE_PAYLOAD_MAX_COLUMNS, &value, &nd))
	{
		case NUMBER_OK:
			break;
		case NUMBER_MISSING:
			if (p == pp->end || *p == ',' || *p == ':' || *p == '=')
				report(pp->err, pp->errlen,
					   "column pair %d: %s attribute number is missing",
					   pairno, side);
			else
				report(pp->err, pp->errlen,
					   "column pair %d: unexpected character %s at position %d",
					   pairno, quote_token(p, 1, q), position(pp, p));
			return false;
		case NUMBER_LEADING_ZERO:
			report(pp->err, pp->errlen,
				   "column pair %d: %s attribute number %.*s%s has a leading zero",
				   pairno, side, shown_digits(nd), start, cut_mark(nd));
			return false;
		case NUMBER_OUT_OF_RANGE:
			report(pp->err, pp->errlen,
				   "column pair %d: %s attribute number %.*s%s is out of range 1..%d",
				   pairno, side, shown_digits(nd), start, cut_mark(nd),
				   TRICKLE_PAYLOAD_MAX_COLUMNS);
			return false;
	}
	*attnum = (int) value;
	*pos = p;
	return true;
}

/*
 * parse_columns - parse the column list at *pos, which ends at the payload's
 * end or at a ':'; on success *pos is at that end or ':'.
 *
 * Pairs are stored into dst when it is not NULL (room for
 * TRICKLE_PAYLOAD_MAX_COLUMNS); *ncolumns gets their number either way.
 */
static bool
parse_columns(const PayloadParser *pp, const char **pos,
			  TricklePayloadColumn *dst, int *ncolumns)
{
	/* the pair (from 1) that used each attribute number, or 0 */
	uint16_t	buffer_pair[TRICKLE_PAYLOAD_MAX_COLUMNS + 1];
	uint16_t	local_pair[TRICKLE_PAYLOAD_MAX_COLUMNS + 1];
	const char *p = *pos;
	int			n = 0;
	char		q[QUOTE_BUFLEN];

	if (p == pp->end || *p == ':')
	{
		*ncolumns = 0;
		return true;
	}
	memset(buffer_pair, 0, sizeof(buffer_pair));
	memset(local_pair, 0, sizeof(local_pair));

	for (;;)
	{
		int			pairno = n + 1;
		int			b;
		int			l;

		if (p == pp->end || *p == ',' || *p == ':')
		{
			report(pp->err, pp->errlen, "column pair %d is empty", pairno);
			return false;
		}
		if (!parse_attnum(pp, &p, pairno, "buffer", &b))
			return false;
		if (p == pp->end || *p == ',' || *p == ':')
		{
			report(pp->err, pp->errlen,
				   "column pair %d: missing \"=\" after buffer attribute number %d",
				   pairno, b);
			return false;
		}
		if (*p != '=')
		{
			report(pp->err, pp->errlen,
				   "column pair %d: unexpected character %s at position %d",
				   pairno, quote_token(p, 1, q), position(pp, p));
			return false;
		}
		p++;
		if (!parse_attnum(pp, &p, pairno, "local", &l))
			return false;
		if (p < pp->end && *p != ',' && *p != ':')
		{
			report(pp->err, pp->errlen,
				   "column pair %d: unexpected character %s at position %d",
				   pairno, quote_token(p, 1, q), position(pp, p));
			return false;
		}
		if (buffer_pair[b] != 0)
		{
			report(pp->err, pp->errlen,
				   "column pair %d: duplicate buffer attribute number %d (also in pair %d)",
				   pairno, b, (int) buffer_pair[b]);
			return false;
		}
		if (local_pair[l] != 0)
		{
			report(pp->err, pp->errlen,
				   "column pair %d: duplicate local attribute number %d (also in pair %d)",
				   pairno, l, (int) local_pair[l]);
			return false;
		}

		/*
		 * Distinct buffer attribute numbers in 1..1600 cannot outnumber the
		 * array, so this only guards it.
		 */
		if (n >= TRICKLE_PAYLOAD_MAX_COLUMNS)
		{
			report(pp->err, pp->errlen, "more than %d column pairs",
				   TRICKLE_PAYLOAD_MAX_COLUMNS);
			return false;
		}
		buffer_pair[b] = (uint16_t) pairno;
		local_pair[l] = (uint16_t) pairno;
		if (dst != NULL)
		{
			dst[n].buffer_attnum = b;
			dst[n].local_attnum = l;
		}
		n++;

		if (p == pp->end || *p == ':')
			break;
		p++;					/* the ',' */
	}
	*ncolumns = n;
	*pos = p;
	return true;
}

/*
 * parse_flags - parse the flag field, which starts at p (just past its ':')
 * and runs to the payload's end.
 */
static bool
parse_flags(const PayloadParser *pp, const char *p, bool *partition,
			bool *mark_only)
{
	char		q[QUOTE_BUFLEN];

	if (p == pp->end)
	{
		report(pp->err, pp->errlen,
			   "flag list after \":\" at position %d is empty",
			   position(pp, p - 1));
		return false;
	}
	for (; p < pp->end; p++)
	{
		bool	   *flag;

		switch (*p)
		{
			case 'p':
				flag = partition;
				break;
			case 'm':
				flag = mark_only;
				break;
			case ':':
				report(pp->err, pp->errlen,
					   "unexpected \":\" at position %d: a payload has at most 4 fields",
					   position(pp, p));
				return false;
			default:
				report(pp->err, pp->errlen, "unknown flag %s at position %d",
					   quote_token(p, 1, q), position(pp, p));
				return false;
		}
		if (*flag)
		{
			report(pp->err, pp->errlen, "duplicate flag \"%c\" at position %d",
				   *p, position(pp, p));
			return false;
		}
		*flag = true;
	}
	return true;
}

/*
 * trickle_payload_parse - decode the text of a change-capture trigger's
 * argument.
 *
 * On success fills *out and returns true.  On failure returns false, leaves
 * *out untouched and, unless err is NULL or errlen is 0, writes a
 * NUL-terminated message (TRICKLE_PAYLOAD_ERROR_LEN bytes always hold it;
 * a smaller buffer gets it cut).  A NULL text is an error.  out may be NULL
 * to check text without keeping the result.  Never reads past text's NUL.
 */
bool
trickle_payload_parse(const char *text, TricklePayload *out, char *err,
					  size_t errlen)
{
	PayloadParser pp;
	const char *p;
	const char *cols;
	size_t		len;
	unsigned int oid = 0;
	int			ncolumns = 0;
	bool		partition = false;
	bool		mark_only = false;
	char		q[QUOTE_BUFLEN];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL)
	{
		report(err, errlen, "payload must not be null");
		return false;
	}

	/* bounded, so that a huge string costs no more than a long one */
	len = 0;
	while (len <= TRICKLE_PAYLOAD_MAX_LENGTH && text[len] != '\0')
		len++;
	if (len == 0)
	{
		report(err, errlen, "payload must not be empty");
		return false;
	}
	if (len > TRICKLE_PAYLOAD_MAX_LENGTH)
	{
		report(err, errlen, "payload is longer than %d bytes",
			   TRICKLE_PAYLOAD_MAX_LENGTH);
		return false;
	}

	pp.text = text;
	pp.end = text + len;
	pp.err = err;
	pp.errlen = errlen;

	for (p = text; p < pp.end && *p != ':'; p++)
		;
	if (p - text != PAYLOAD_VERSION_LEN ||
		memcmp(text, PAYLOAD_VERSION_TAG, PAYLOAD_VERSION_LEN) != 0)
	{
		report(err, errlen, "unsupported payload version %s",
			   quote_token(text, (size_t) (p - text), q));
		return false;
	}
	if (p == pp.end)
	{
		report(err, errlen, "missing buffer OID after version tag \"%s\"",
			   PAYLOAD_VERSION_TAG);
		return false;
	}
	p++;

	if (!parse_oid(&pp, &p, &oid))
		return false;
	cols = p;
	if (!parse_columns(&pp, &p, NULL, &ncolumns))
		return false;
	if (p < pp.end && !parse_flags(&pp, p + 1, &partition, &mark_only))
		return false;

	/*
	 * The text is valid.  Only now decode the columns into *out, so that a
	 * failure leaves it untouched without a 13 kB scratch copy.
	 */
	if (out != NULL)
	{
		p = cols;
		if (!parse_columns(&pp, &p, out->columns, &out->ncolumns))
			return false;		/* cannot happen: the same text passed */
		out->buffer_oid = oid;
		out->partition = partition;
		out->mark_only = mark_only;
	}
	return true;
}

/*
 * payload_valid - does *in obey every rule the parser enforces, the length
 * limit aside?
 */
static bool
payload_valid(const TricklePayload *in)
{
	bool		buffer_seen[TRICKLE_PAYLOAD_MAX_COLUMNS + 1];
	bool		local_seen[TRICKLE_PAYLOAD_MAX_COLUMNS + 1];
	int			i;

	if (in->buffer_oid == 0)
		return false;
#if UINT_MAX > 0xFFFFFFFFu
	if (in->buffer_oid > 0xFFFFFFFFu)
		return false;
#endif
	if (in->ncolumns < 0 || in->ncolumns > TRICKLE_PAYLOAD_MAX_COLUMNS)
		return false;
	memset(buffer_seen, 0, sizeof(buffer_seen));
	memset(local_seen, 0, sizeof(local_seen));
	for (i = 0; i < in->ncolumns; i++)
	{
		int			b = in->columns[i].buffer_attnum;
		int			l = in->columns[i].local_attnum;

		if (b < 1 || b > TRICKLE_PAYLOAD_MAX_COLUMNS ||
			l < 1 || l > TRICKLE_PAYLOAD_MAX_COLUMNS ||
			buffer_seen[b] || local_seen[l])
			return false;
		buffer_seen[b] = true;
		local_seen[l] = true;
	}
	return true;
}

/* A bounded writer for trickle_payload_format(). */
typedef struct PayloadWriter
{
	char	   *buf;
	size_t		limit;			/* most bytes to write, not counting the NUL */
	size_t		len;
	bool		overflow;
} PayloadWriter;

static void
put_text(PayloadWriter *w, const char *s, size_t n)
{
	if (w->overflow || n > w->limit - w->len)
	{
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void
put_uint(PayloadWriter *w, unsigned long v)
{
	char		digits[24];
	size_t		i = sizeof(digits);

	do
	{
		digits[--i] = (char) ('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put_text(w, digits + i, sizeof(digits) - i);
}

/*
 * trickle_payload_format - write *in as payload text into buf.
 *
 * Returns the length written, not counting the NUL, or -1 when *in breaks a
 * rule of the format (see the file header), when the text would pass
 * TRICKLE_PAYLOAD_MAX_LENGTH, or when it does not fit buflen; buf then holds
 * "" (if buflen > 0).  A buffer of TRICKLE_PAYLOAD_FORMAT_LEN bytes always
 * fits.  Pairs are written in order; flags as "p" before "m".
 */
int
trickle_payload_format(const TricklePayload *in, char *buf, size_t buflen)
{
	PayloadWriter w;
	int			i;

	if (buf == NULL || buflen == 0)
		return -1;
	buf[0] = '\0';
	if (in == NULL || !payload_valid(in))
		return -1;

	w.buf = buf;
	w.limit = buflen - 1;
	if (w.limit > TRICKLE_PAYLOAD_MAX_LENGTH)
		w.limit = TRICKLE_PAYLOAD_MAX_LENGTH;
	w.len = 0;
	w.overflow = false;

	put_text(&w, PAYLOAD_VERSION_TAG ":", PAYLOAD_VERSION_LEN + 1);
	put_uint(&w, (unsigned long) in->buffer_oid);
	put_text(&w, ":", 1);
	for (i = 0; i < in->ncolumns; i++)
	{
		if (i > 0)
			put_text(&w, ",", 1);
		put_uint(&w, (unsigned long) in->columns[i].buffer_attnum);
		put_text(&w, "=", 1);
		put_uint(&w, (unsigned long) in->columns[i].local_attnum);
	}
	if (in->partition || in->mark_only)
	{
		put_text(&w, ":", 1);
		if (in->partition)
			put_text(&w, "p", 1);
		if (in->mark_only)
			put_text(&w, "m", 1);
	}

	if (w.overflow)
	{
		buf[0] = '\0';
		return -1;
	}
	buf[w.len] = '\0';
	return (int) w.len;
}

/*
 * trickle_payload_equal - do two payloads say the same thing?
 *
 * The order of the column pairs matters, as it is kept by the parser.  Only
 * the first ncolumns pairs are compared (at most
 * TRICKLE_PAYLOAD_MAX_COLUMNS, whatever ncolumns says).
 */
bool
trickle_payload_equal(const TricklePayload *a, const TricklePayload *b)
{
	int			n;
	int			i;

	if (a->buffer_oid != b->buffer_oid ||
		a->ncolumns != b->ncolumns ||
		a->partition != b->partition ||
		a->mark_only != b->mark_only)
		return false;
	n = a->ncolumns;
	if (n < 0)
		n = 0;
	if (n > TRICKLE_PAYLOAD_MAX_COLUMNS)
		n = TRICKLE_PAYLOAD_MAX_COLUMNS;
	for (i = 0; i < n; i++)
	{
		if (a->columns[i].buffer_attnum != b->columns[i].buffer_attnum ||
			a->columns[i].local_attnum != b->columns[i].local_attnum)
			return false;
	}
	return true;
}
