/*-------------------------------------------------------------------------
 *
 * fuzz_payload.c
 *	  libFuzzer target for the change-capture trigger payload codec
 *	  (src/cdc/payload.c).
 *
 * The input bytes, NUL-terminated, are parsed as a payload; a hash of the
 * input picks the size of a second, smaller error buffer.  The same bytes
 * also describe a TricklePayload value to format.  Invariants checked:
 *
 *	- the parser accepts exactly what an independent, simpler-minded decoder
 *	  of the grammar accepts, and decodes it to the same value;
 *	- a failure leaves a NUL-terminated, non-empty message that starts
 *	  lower-case, has no trailing period, is printable ASCII and fits
 *	  TRICKLE_PAYLOAD_ERROR_LEN; a smaller buffer gets a prefix of it; *out
 *	  is left untouched;
 *	- a success formats to text of the input's length that equals the input
 *	  but perhaps for the order of the flags, and re-parses to an equal
 *	  value; the exact room is enough and one byte less is not;
 *	- the formatter writes a value exactly when the value is valid and its
 *	  text (whose length is computed independently) fits both the length
 *	  limit and the buffer, and what it writes parses back equal.
 *
 * fuzz/fuzz_payload.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdc/payload.h"

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

#define MAX_INPUT		(TRICKLE_PAYLOAD_MAX_LENGTH * 2)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Payloads are 13 kB; one fuzzing thread, so statics are fine. */
static TricklePayload got;
static TricklePayload untouched;
static TricklePayload again;
static TricklePayload expect;
static TricklePayload value;
static char formatted[TRICKLE_PAYLOAD_FORMAT_LEN];

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

/*
 * oracle_number - is [s, s+len) a number in 1..max written without sign or
 * leading zero?  Sets *v when it is.
 */
static int
oracle_number(const char *s, size_t len, unsigned long long max,
			  unsigned long long *v)
{
	size_t		i;

	if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
		return 0;
	*v = 0;
	for (i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (unsigned long long) (s[i] - '0');
	}
	return *v >= 1 && *v <= max;
}

/*
 * oracle_parse - decode text the obvious way: split on ':' and then on ','
 * and '='.  Returns whether text is a valid payload, filling *p when so.
 */
static int
oracle_parse(const char *text, TricklePayload *p)
{
	static unsigned char buffer_used[TRICKLE_PAYLOAD_MAX_COLUMNS + 1];
	static unsigned char local_used[TRICKLE_PAYLOAD_MAX_COLUMNS + 1];
	const char *field[8];
	size_t		flen[8];
	int			nfields = 0;
	size_t		len = strlen(text);
	const char *s;
	unsigned long long v;

	if (len == 0 || len > TRICKLE_PAYLOAD_MAX_LENGTH)
		return 0;
	s = text;
	for (;;)
	{
		const char *colon = strchr(s, ':');
		size_t		n = colon ? (size_t) (colon - s) : strlen(s);

		if (nfields == 8)
			return 0;
		field[nfields] = s;
		flen[nfields] = n;
		nfields++;
		if (colon == NULL)
			break;
		s = colon + 1;
	}
	if (nfields < 3 || nfields > 4)
		return 0;
	if (flen[0] != 2 || strncmp(field[0], "t1", 2) != 0)
		return 0;
	if (!oracle_number(field[1], flen[1], 4294967295ULL, &v))
		return 0;
	p->buffer_oid = (unsigned int) v;

	memset(buffer_used, 0, sizeof(buffer_used));
	memset(local_used, 0, sizeof(local_used));
	p->ncolumns = 0;
	if (flen[2] > 0)
	{
		const char *item = field[2];
		const char *fend = field[2] + flen[2];

		for (;;)
		{
			const char *comma = memchr(item, ',', (size_t) (fend - item));
			const char *iend = comma ? comma : fend;
			const char *eq = memchr(item, '=', (size_t) (iend - item));
			unsigned long long b;
			unsigned long long l;

			if (eq == NULL ||
				!oracle_number(item, (size_t) (eq - item), TRICKLE_PAYLOAD_MAX_COLUMNS, &b) ||
				!oracle_number(eq + 1, (size_t) (iend - eq - 1), TRICKLE_PAYLOAD_MAX_COLUMNS, &l) ||
				buffer_used[b] || local_used[l] ||
				p->ncolumns == TRICKLE_PAYLOAD_MAX_COLUMNS)
				return 0;
			buffer_used[b] = local_used[l] = 1;
			p->columns[p->ncolumns].buffer_attnum = (int) b;
			p->columns[p->ncolumns].local_attnum = (int) l;
			p->ncolumns++;
			if (comma == NULL)
				break;
			item = comma + 1;
		}
	}

	p->partition = false;
	p->mark_only = false;
	if (nfields == 4)
	{
		size_t		i;

		if (flen[3] == 0)
			return 0;
		for (i = 0; i < flen[3]; i++)
		{
			bool	   *flag;

			if (field[3][i] == 'p')
				flag = &p->partition;
			else if (field[3][i] == 'm')
				flag = &p->mark_only;
			else
				return 0;
			if (*flag)
				return 0;
			*flag = true;
		}
	}
	return 1;
}

/* same_but_flag_order - formatted equals text, or does but for "mp"/"pm" */
static int
same_but_flag_order(const char *text, const char *out)
{
	size_t		n = strlen(text);

	if (strcmp(text, out) == 0)
		return 1;
	return n >= 3 && strlen(out) == n && strncmp(text, out, n - 2) == 0 &&
		strcmp(text + n - 3, ":mp") == 0 && strcmp(out + n - 3, ":pm") == 0;
}

static void
check_message(const char *err)
{
	size_t		len = strlen(err);
	size_t		i;

	CHECK(len > 0);
	CHECK(len < TRICKLE_PAYLOAD_ERROR_LEN - 1);
	CHECK(err[0] >= 'a' && err[0] <= 'z');
	CHECK(err[len - 1] != '.');
	for (i = 0; i < len; i++)
		CHECK(err[i] >= 0x20 && err[i] <= 0x7E);
}

static void
check_text(const char *text, uint64_t h)
{
	char		err[TRICKLE_PAYLOAD_ERROR_LEN];
	char		small[TRICKLE_PAYLOAD_ERROR_LEN];
	size_t		smalllen = (size_t) (h % 24);
	bool		ok;
	int			oracle_ok;
	int			n;

	memset(&got, 0x5A, sizeof(got));
	memset(&untouched, 0x5A, sizeof(untouched));
	memset(err, 'x', sizeof(err));
	ok = trickle_payload_parse(text, &got, err, sizeof(err));
	CHECK(memchr(err, '\0', sizeof(err)) != NULL);

	oracle_ok = oracle_parse(text, &expect);
	CHECK(ok == (oracle_ok != 0));

	/* a small or absent buffer changes only the message */
	memset(small, 'x', sizeof(small));
	CHECK(trickle_payload_parse(text, &again, small, smalllen) == ok);
	if (smalllen > 0)
	{
		CHECK(memchr(small, '\0', smalllen) != NULL);
		CHECK(strncmp(small, err, strlen(small)) == 0);
		CHECK(strlen(small) == (strlen(err) < smalllen ? strlen(err) : smalllen - 1));
	}
	CHECK(small[smalllen] == 'x');
	CHECK(trickle_payload_parse(text, NULL, NULL, 0) == ok);

	if (!ok)
	{
		check_message(err);
		CHECK(memcmp(&got, &untouched, sizeof(got)) == 0);
		return;
	}

	CHECK(err[0] == '\0');
	CHECK(trickle_payload_equal(&got, &expect));
	n = trickle_payload_format(&got, formatted, sizeof(formatted));
	CHECK(n >= 0);
	CHECK((size_t) n == strlen(text));
	CHECK((size_t) n == strlen(formatted));
	CHECK(same_but_flag_order(text, formatted));
	CHECK(trickle_payload_parse(formatted, &again, err, sizeof(err)));
	CHECK(trickle_payload_equal(&got, &again));
	/* the exact room is enough and one byte less is not */
	CHECK(trickle_payload_format(&got, formatted, (size_t) n + 1) == n);
	CHECK(trickle_payload_format(&got, formatted, (size_t) n) == -1);
	CHECK(formatted[0] == '\0');
}

static int
digits(unsigned long v)
{
	int			d = 1;

	while (v >= 10)
	{
		v /= 10;
		d++;
	}
	return d;
}

/* read16 - two input bytes at *k as a number, or fallback past the end */
static unsigned
read16(const uint8_t *data, size_t size, size_t *k, unsigned fallback)
{
	unsigned	v;

	if (*k + 2 > size)
		return fallback;
	v = (unsigned) data[*k] | ((unsigned) data[*k + 1] << 8);
	*k += 2;
	return v;
}

/*
 * check_value - build a TricklePayload from the input bytes, mostly valid
 * and sometimes long, and check what the formatter makes of it.
 */
static void
check_value(const uint8_t *data, size_t size, uint64_t h)
{
	static unsigned char buffer_used[TRICKLE_PAYLOAD_MAX_COLUMNS + 1];
	static unsigned char local_used[TRICKLE_PAYLOAD_MAX_COLUMNS + 1];
	size_t		k = 0;
	size_t		buflen;
	long		length;
	int			valid = 1;
	int			expect_n;
	int			n;
	int			i;

	memset(&value, 0, sizeof(value));
	value.buffer_oid = (h & 0xF) == 0 ? 0u : (unsigned int) (h >> 32);
	value.ncolumns = (int) (read16(data, size, &k, 0) % 1603) - 1;
	/* mostly short lists, whose pairs come from the input */
	if ((h >> 40) % 4 != 0 && value.ncolumns > 40)
		value.ncolumns %= 40;
	value.partition = (h & 0x10) != 0;
	value.mark_only = (h & 0x20) != 0;
	for (i = 0; i < value.ncolumns && i < TRICKLE_PAYLOAD_MAX_COLUMNS; i++)
	{
		/* past the input, a valid reversing pattern that makes long text */
		value.columns[i].buffer_attnum =
			(int) (read16(data, size, &k, (unsigned) i + 1) % 1603);
		value.columns[i].local_attnum =
			(int) (read16(data, size, &k, (unsigned) (value.ncolumns - i)) % 1603);
	}

	/* the oracle: validity and the length of the text */
	memset(buffer_used, 0, sizeof(buffer_used));
	memset(local_used, 0, sizeof(local_used));
	if (value.buffer_oid == 0 || value.ncolumns < 0 ||
		value.ncolumns > TRICKLE_PAYLOAD_MAX_COLUMNS)
		valid = 0;
	length = 3 + digits(value.buffer_oid) + 1;
	for (i = 0; valid && i < value.ncolumns; i++)
	{
		int			b = value.columns[i].buffer_attnum;
		int			l = value.columns[i].local_attnum;

		if (b < 1 || b > TRICKLE_PAYLOAD_MAX_COLUMNS ||
			l < 1 || l > TRICKLE_PAYLOAD_MAX_COLUMNS ||
			buffer_used[b] || local_used[l])
		{
			valid = 0;
			break;
		}
		buffer_used[b] = local_used[l] = 1;
		length += (i > 0) + digits((unsigned long) b) + 1 + digits((unsigned long) l);
	}
	if (value.partition || value.mark_only)
		length += 1 + value.partition + value.mark_only;

	switch ((h >> 8) % 4)
	{
		case 0:
			buflen = (size_t) (h >> 16) % 64;
			break;
		case 1:
			buflen = valid ? (size_t) length + (size_t) ((h >> 16) % 3) : 16;
			break;
		default:
			buflen = sizeof(formatted);
			break;
	}

	expect_n = valid && length <= TRICKLE_PAYLOAD_MAX_LENGTH &&
		(size_t) length < buflen ? (int) length : -1;
	memset(formatted, 'x', sizeof(formatted));
	n = trickle_payload_format(&value, formatted, buflen);
	CHECK(n == expect_n);
	if (buflen > 0)
		CHECK(memchr(formatted, '\0', buflen) != NULL);
	if (n < 0)
	{
		CHECK(buflen == 0 || formatted[0] == '\0');
		return;
	}
	CHECK((size_t) n == strlen(formatted));
	CHECK(trickle_payload_parse(formatted, &again, NULL, 0));
	CHECK(trickle_payload_equal(&value, &again));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text;
	uint64_t	h = hash_bytes(data, size);

	if (size > MAX_INPUT)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	check_text(text, h);
	check_value(data, size, h);

	/* NULL is refused with a message */
	{
		char		err[TRICKLE_PAYLOAD_ERROR_LEN];

		CHECK(!trickle_payload_parse(NULL, &got, err, sizeof(err)));
		check_message(err);
	}

	free(text);
	return 0;
}
