/*-------------------------------------------------------------------------
 *
 * test_payload.c
 *	  Unit tests for the change-capture trigger payload codec
 *	  (src/cdc/payload.c).
 *
 * Besides table-driven cases, two property tests: random valid payloads
 * must survive format -> parse unchanged, and random byte mutations of valid
 * payload texts must either parse to something that formats back to the
 * same text (flags perhaps reordered) or fail with a well-formed message.
 * The generator is seeded with a fixed value unless TRICKLE_TEST_SEED is
 * set; the seed is printed.
 *
 * test/unit/test_payload.c
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

#include "cdc/payload.h"

#define PROPERTY_CASES		2000
#define MUTANTS_PER_CASE	8

/* Payloads are 13 kB; keep the ones the helpers return off the stack. */
static TricklePayload parsed;

static const TricklePayload *
parse_ok(const char *text)
{
	char		err[TRICKLE_PAYLOAD_ERROR_LEN];

	err[0] = '\0';
	memset(&parsed, 0x5A, sizeof(parsed));
	if (!trickle_payload_parse(text, &parsed, err, sizeof(err)))
		fail_msg("\"%s\" did not parse: %s", text, err);
	return &parsed;
}

/*
 * check_message - a failure message is non-empty, lower-case first, without
 * a trailing period, printable ASCII, and not cut by the documented size.
 */
static void
check_message(const char *text, const char *err)
{
	size_t		len = strlen(err);
	size_t		i;

	if (len == 0)
		fail_msg("\"%s\": empty message", text ? text : "(null)");
	if (!(err[0] >= 'a' && err[0] <= 'z'))
		fail_msg("\"%s\": message \"%s\" does not start lower-case", text, err);
	if (err[len - 1] == '.')
		fail_msg("\"%s\": message \"%s\" ends in a period", text, err);
	if (len >= TRICKLE_PAYLOAD_ERROR_LEN - 1)
		fail_msg("\"%s\": message \"%s\" may have been cut", text, err);
	for (i = 0; i < len; i++)
		if ((unsigned char) err[i] < 0x20 || (unsigned char) err[i] > 0x7E)
			fail_msg("\"%s\": message has byte 0x%02x", text,
					 (unsigned char) err[i]);
}

/* expect_error - text must fail; when msg is not NULL, with exactly msg */
static void
expect_error(const char *text, const char *msg)
{
	static TricklePayload out;
	static TricklePayload before;
	char		err[TRICKLE_PAYLOAD_ERROR_LEN];

	memset(&out, 0x5A, sizeof(out));
	memset(&before, 0x5A, sizeof(before));
	strcpy(err, "untouched");
	if (trickle_payload_parse(text, &out, err, sizeof(err)))
		fail_msg("\"%s\" parsed but should not have", text ? text : "(null)");
	if (msg != NULL && strcmp(err, msg) != 0)
		fail_msg("\"%s\": message \"%s\", expected \"%s\"",
				 text ? text : "(null)", err, msg);
	check_message(text, err);
	/* *out is left alone */
	assert_memory_equal(&out, &before, sizeof(out));
	/* and checking alone agrees */
	assert_false(trickle_payload_parse(text, NULL, NULL, 0));
}

static void
expect_columns(const TricklePayload *p, const int *pairs, int npairs)
{
	int			i;

	assert_int_equal(p->ncolumns, npairs);
	for (i = 0; i < npairs; i++)
	{
		assert_int_equal(p->columns[i].buffer_attnum, pairs[2 * i]);
		assert_int_equal(p->columns[i].local_attnum, pairs[2 * i + 1]);
	}
}

static void
test_valid(void **state)
{
	const TricklePayload *p;
	static const int one[] = {1, 1};
	static const int many[] = {3, 1, 1, 2, 2, 5, 1600, 4, 17, 1600};

	(void) state;
	p = parse_ok("t1:1:");
	assert_int_equal(p->buffer_oid, 1);
	assert_int_equal(p->ncolumns, 0);
	assert_false(p->partition);
	assert_false(p->mark_only);

	p = parse_ok("t1:16384:1=1");
	assert_int_equal(p->buffer_oid, 16384);
	expect_columns(p, one, 1);
	assert_false(p->partition);
	assert_false(p->mark_only);

	/* order is kept as written, not sorted */
	p = parse_ok("t1:24576:3=1,1=2,2=5,1600=4,17=1600");
	assert_int_equal(p->buffer_oid, 24576);
	expect_columns(p, many, 5);

	p = parse_ok("t1:7::p");
	assert_int_equal(p->ncolumns, 0);
	assert_true(p->partition);
	assert_false(p->mark_only);

	p = parse_ok("t1:7::m");
	assert_false(p->partition);
	assert_true(p->mark_only);

	p = parse_ok("t1:7:1=1:pm");
	assert_true(p->partition);
	assert_true(p->mark_only);
	expect_columns(p, one, 1);

	p = parse_ok("t1:7:1=1:mp");
	assert_true(p->partition);
	assert_true(p->mark_only);

	/* a swap of columns between root and partition */
	p = parse_ok("t1:4294967295:1=2,2=1:p");
	assert_int_equal(p->buffer_oid, 4294967295u);
	assert_int_equal(p->columns[0].local_attnum, 2);
	assert_int_equal(p->columns[1].local_attnum, 1);

	/* the C string ends at the first NUL */
	p = parse_ok("t1:5:1=2\0garbage");
	assert_int_equal(p->ncolumns, 1);

	/* out may be NULL to check only */
	assert_true(trickle_payload_parse("t1:5:1=2:p", NULL, NULL, 0));
}

static void
test_errors(void **state)
{
	(void) state;
	expect_error(NULL, "payload must not be null");
	expect_error("", "payload must not be empty");

	/* version */
	expect_error("t2:1:", "unsupported payload version \"t2\"");
	expect_error("T1:1:", "unsupported payload version \"T1\"");
	expect_error("t10:1:", "unsupported payload version \"t10\"");
	expect_error("t:1:", "unsupported payload version \"t\"");
	expect_error(":1:", "unsupported payload version \"\"");
	expect_error(" t1:1:", "unsupported payload version \" t1\"");
	expect_error("garbage", "unsupported payload version \"garbage\"");
	expect_error("\x01\xff\"\\:1:",
				 "unsupported payload version \"\\x01\\xff\\x22\\x5c\"");
	expect_error("abcdefghijklmnopqrstuvwxyz:1:",
				 "unsupported payload version \"abcdefghijklmnop...\"");
	expect_error("t1", "missing buffer OID after version tag \"t1\"");

	/* buffer OID */
	expect_error("t1:", "buffer OID is missing");
	expect_error("t1::", "buffer OID is missing");
	expect_error("t1::1=1", "buffer OID is missing");
	expect_error("t1:x:", "unexpected character \"x\" in buffer OID at position 4");
	expect_error("t1:12x:", "unexpected character \"x\" in buffer OID at position 6");
	expect_error("t1:0:", "buffer OID 0 is out of range 1..4294967295");
	expect_error("t1:007:", "buffer OID 007 has a leading zero");
	expect_error("t1:5", "missing column list after buffer OID 5");
	expect_error("t1:5,1=1", "unexpected character \",\" in buffer OID at position 5");

	/* column pairs */
	expect_error("t1:5:,", "column pair 1 is empty");
	expect_error("t1:5:1=1,", "column pair 2 is empty");
	expect_error("t1:5:1=1,,2=2", "column pair 2 is empty");
	expect_error("t1:5:1=1,:p", "column pair 2 is empty");
	expect_error("t1:5:=2", "column pair 1: buffer attribute number is missing");
	expect_error("t1:5:2=", "column pair 1: local attribute number is missing");
	expect_error("t1:5:2=:p", "column pair 1: local attribute number is missing");
	expect_error("t1:5:2=,3=3", "column pair 1: local attribute number is missing");
	expect_error("t1:5:1", "column pair 1: missing \"=\" after buffer attribute number 1");
	expect_error("t1:5:1=1,2", "column pair 2: missing \"=\" after buffer attribute number 2");
	expect_error("t1:5:1=1,2:p", "column pair 2: missing \"=\" after buffer attribute number 2");
	expect_error("t1:5:1=x", "column pair 1: unexpected character \"x\" at position 8");
	expect_error("t1:5:1-1", "column pair 1: unexpected character \"-\" at position 7");
	expect_error("t1:5:1=2=3", "column pair 1: unexpected character \"=\" at position 9");
	expect_error("t1:5:1=1;2=2", "column pair 1: unexpected character \";\" at position 9");
	expect_error("t1:5:1=1\xc3\xa9", "column pair 1: unexpected character \"\\xc3\" at position 9");
	expect_error("t1:5:1=0", "column pair 1: local attribute number 0 is out of range 1..1600");
	expect_error("t1:5:1=1,2=2,0=3", "column pair 3: buffer attribute number 0 is out of range 1..1600");
	expect_error("t1:5:1601=1", "column pair 1: buffer attribute number 1601 is out of range 1..1600");
	expect_error("t1:5:1=01", "column pair 1: local attribute number 01 has a leading zero");
	expect_error("t1:5:00=1", "column pair 1: buffer attribute number 00 has a leading zero");
	expect_error("t1:5:1=1,1=2", "column pair 2: duplicate buffer attribute number 1 (also in pair 1)");
	expect_error("t1:5:1=1,2=2,3=3,5=4,5=5",
				 "column pair 5: duplicate buffer attribute number 5 (also in pair 4)");
	expect_error("t1:5:1=1,2=1", "column pair 2: duplicate local attribute number 1 (also in pair 1)");
	/* the same number on both sides of different pairs is fine */
	parse_ok("t1:5:1=2,2=1");

	/* flags */
	expect_error("t1:5:1=1:", "flag list after \":\" at position 9 is empty");
	expect_error("t1:5::", "flag list after \":\" at position 6 is empty");
	expect_error("t1:5::pp", "duplicate flag \"p\" at position 8");
	expect_error("t1:5::pmm", "duplicate flag \"m\" at position 9");
	expect_error("t1:5::x", "unknown flag \"x\" at position 7");
	expect_error("t1:5::P", "unknown flag \"P\" at position 7");
	expect_error("t1:5::p,m", "unknown flag \",\" at position 8");
	expect_error("t1:5::p:", "unexpected \":\" at position 8: a payload has at most 4 fields");
	expect_error("t1:5:1=1::", "unexpected \":\" at position 10: a payload has at most 4 fields");
}

static void
test_boundaries(void **state)
{
	static const char *const bad[] = {
		/* signs */
		"t1:+5:", "t1:-5:", "t1:5:+1=1", "t1:5:1=-1", "t1:5:-1=1",
		/* spaces anywhere */
		" t1:5:", "t1:5: ", "t1: 5:", "t1:5 :", "t1:5:1 =1", "t1:5:1= 1",
		"t1:5:1=1 ", "t1:5:1=1, 2=2", "t1:5:1=1: p", "t1:5:1=1:p ", "\tt1:5:",
		"t1:5:1=1\n",
		/* trailing garbage */
		"t1:5:1=2x", "t1:5:1=2:px", "t1:5:1=2:p:", "t1:5:1=2:p:m", "t1:5:1=2.",
		/* empty fields */
		"t1", "t1:", "t1::", "t1:::", "t1:5", ":", "::", ":::",
		/* hexadecimal and exponents */
		"t1:0x10:", "t1:1e3:", "t1:5:0x1=1",
	};
	char		text[64];
	size_t		i;
	const TricklePayload *p;

	(void) state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i], NULL);

	p = parse_ok("t1:4294967295:");
	assert_int_equal(p->buffer_oid, 4294967295u);
	expect_error("t1:4294967296:", "buffer OID 4294967296 is out of range 1..4294967295");
	expect_error("t1:9999999999:", "buffer OID 9999999999 is out of range 1..4294967295");
	expect_error("t1:18446744073709551617:",
				 "buffer OID 184467440737... is out of range 1..4294967295");
	expect_error("t1:04294967295:", "buffer OID 04294967295 has a leading zero");
	expect_error("t1:0000000000000000001:", "buffer OID 000000000000... has a leading zero");
	p = parse_ok("t1:4294967294:");
	assert_int_equal(p->buffer_oid, 4294967294u);
	p = parse_ok("t1:10:");
	assert_int_equal(p->buffer_oid, 10);

	p = parse_ok("t1:5:1600=1600");
	assert_int_equal(p->columns[0].buffer_attnum, 1600);
	assert_int_equal(p->columns[0].local_attnum, 1600);
	expect_error("t1:5:1=1601", "column pair 1: local attribute number 1601 is out of range 1..1600");
	expect_error("t1:5:99999999999999999999=1",
				 "column pair 1: buffer attribute number 999999999999... is out of range 1..1600");
	expect_error("t1:5:1=01600", "column pair 1: local attribute number 01600 has a leading zero");

	/* every attnum in range parses, as either side */
	for (i = 1; i <= TRICKLE_PAYLOAD_MAX_COLUMNS; i++)
	{
		snprintf(text, sizeof(text), "t1:5:%zu=%zu", i, TRICKLE_PAYLOAD_MAX_COLUMNS + 1 - i);
		p = parse_ok(text);
		assert_int_equal(p->columns[0].buffer_attnum, (int) i);
		assert_int_equal(p->columns[0].local_attnum, TRICKLE_PAYLOAD_MAX_COLUMNS + 1 - (int) i);
	}
}

/*
 * build_long - a valid payload of exactly len bytes of text, if one of the
 * shapes tried reaches it: an OID of d digits, pairs i=i for i = 1..k, and no
 * flags, "p" or "pm".  Fills both text and *p.
 */
static bool
build_long(size_t len, char *text, size_t textlen, TricklePayload *p)
{
	static const char *const flags[] = {"", ":p", ":pm"};
	int			k;
	int			d;
	int			f;

	for (k = 1; k <= TRICKLE_PAYLOAD_MAX_COLUMNS; k++)
		for (d = 1; d <= 10; d++)
			for (f = 0; f < 3; f++)
			{
				size_t		n;
				int			i;

				n = (size_t) snprintf(text, textlen, "t1:%.*s:", d, "4000000000");
				for (i = 1; i <= k && n < textlen; i++)
					n += (size_t) snprintf(text + n, textlen - n, "%s%d=%d",
										   i > 1 ? "," : "", i, i);
				if (n < textlen)
					n += (size_t) snprintf(text + n, textlen - n, "%s", flags[f]);
				if (n != len)
					continue;
				p->buffer_oid = (unsigned int) strtoul(text + 3, NULL, 10);
				p->ncolumns = k;
				for (i = 0; i < k; i++)
				{
					p->columns[i].buffer_attnum = i + 1;
					p->columns[i].local_attnum = i + 1;
				}
				p->partition = f >= 1;
				p->mark_only = f >= 2;
				return true;
			}
	return false;
}

static void
test_length_limit(void **state)
{
	static char text[TRICKLE_PAYLOAD_MAX_LENGTH * 2];
	static char buf[TRICKLE_PAYLOAD_MAX_LENGTH * 2];
	static TricklePayload copy;
	static TricklePayload big;
	char		err[TRICKLE_PAYLOAD_ERROR_LEN];
	int			i;

	(void) state;
	assert_true(build_long(TRICKLE_PAYLOAD_MAX_LENGTH, text, sizeof(text), &big));
	assert_int_equal(strlen(text), TRICKLE_PAYLOAD_MAX_LENGTH);
	copy = *parse_ok(text);
	assert_true(trickle_payload_equal(&copy, &big));
	assert_int_equal(trickle_payload_format(&copy, buf, TRICKLE_PAYLOAD_FORMAT_LEN),
					 TRICKLE_PAYLOAD_MAX_LENGTH);
	assert_string_equal(buf, text);
	/* one byte short of room */
	assert_int_equal(trickle_payload_format(&copy, buf, TRICKLE_PAYLOAD_MAX_LENGTH), -1);
	assert_string_equal(buf, "");

	/*
	 * 8192 bytes: refused by the parser, and by the formatter however big
	 * the buffer.
	 */
	assert_true(build_long(TRICKLE_PAYLOAD_MAX_LENGTH + 1, text, sizeof(text), &big));
	expect_error(text, "payload is longer than 8191 bytes");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(trickle_payload_format(&big, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "");

	/* a string far over the limit is refused the same way */
	memset(text, '1', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	expect_error(text, "payload is longer than 8191 bytes");

	/* 1600 pairs never fit in 8191 bytes */
	big.buffer_oid = 1;
	big.ncolumns = TRICKLE_PAYLOAD_MAX_COLUMNS;
	big.partition = false;
	big.mark_only = false;
	for (i = 0; i < TRICKLE_PAYLOAD_MAX_COLUMNS; i++)
	{
		big.columns[i].buffer_attnum = i + 1;
		big.columns[i].local_attnum = TRICKLE_PAYLOAD_MAX_COLUMNS - i;
	}
	assert_int_equal(trickle_payload_format(&big, buf, sizeof(buf)), -1);
	/* but as many as fit do */
	for (big.ncolumns = TRICKLE_PAYLOAD_MAX_COLUMNS; big.ncolumns > 0; big.ncolumns--)
		if (trickle_payload_format(&big, buf, sizeof(buf)) >= 0)
			break;
	assert_true(big.ncolumns > 900);
	assert_true(trickle_payload_parse(buf, &copy, err, sizeof(err)));
	assert_true(trickle_payload_equal(&copy, &big));
}

static void
test_error_buffer(void **state)
{
	char		err[TRICKLE_PAYLOAD_ERROR_LEN];
	char		small[8];
	TricklePayload *out = &parsed;

	(void) state;
	/* a small buffer gets a cut, terminated message */
	memset(small, 'x', sizeof(small));
	assert_false(trickle_payload_parse("t2:1:", out, small, sizeof(small)));
	assert_string_equal(small, "unsuppo");
	memset(small, 'x', sizeof(small));
	assert_false(trickle_payload_parse("t1:5:1=1,1=1", out, small, 1));
	assert_int_equal(small[0], '\0');
	assert_int_equal(small[1], 'x');
	/* errlen 0 writes nothing */
	memset(small, 'x', sizeof(small));
	assert_false(trickle_payload_parse(NULL, out, small, 0));
	assert_int_equal(small[0], 'x');
	assert_false(trickle_payload_parse("", out, NULL, 0));
	assert_false(trickle_payload_parse("t1:5:1=1:pp", out, NULL, 99));
	/* success clears a stale message */
	strcpy(err, "stale");
	assert_true(trickle_payload_parse("t1:5:", out, err, sizeof(err)));
	assert_string_equal(err, "");
}

static void
set_payload(TricklePayload *p, unsigned int oid, const int *pairs, int npairs,
			bool partition, bool mark_only)
{
	int			i;

	memset(p, 0, sizeof(*p));
	p->buffer_oid = oid;
	p->ncolumns = npairs;
	for (i = 0; i < npairs; i++)
	{
		p->columns[i].buffer_attnum = pairs[2 * i];
		p->columns[i].local_attnum = pairs[2 * i + 1];
	}
	p->partition = partition;
	p->mark_only = mark_only;
}

static void
test_format(void **state)
{
	static TricklePayload p;
	static const int pairs[] = {3, 1, 1, 2, 1600, 1600};
	char		buf[TRICKLE_PAYLOAD_FORMAT_LEN];
	char		tiny[16];
	int			n;

	(void) state;
	set_payload(&p, 16384, pairs, 3, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)),
					 (int) strlen("t1:16384:3=1,1=2,1600=1600"));
	assert_string_equal(buf, "t1:16384:3=1,1=2,1600=1600");

	set_payload(&p, 1, NULL, 0, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "t1:1:");
	p.partition = true;
	trickle_payload_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "t1:1::p");
	p.mark_only = true;
	trickle_payload_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "t1:1::pm");
	p.partition = false;
	trickle_payload_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "t1:1::m");

	set_payload(&p, 4294967295u, pairs, 1, true, false);
	n = trickle_payload_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "t1:4294967295:3=1:p");
	assert_int_equal(n, (int) strlen(buf));

	/* exactly enough room, and one byte less */
	memset(tiny, 'x', sizeof(tiny));
	set_payload(&p, 12345, pairs, 1, false, true);	/* "t1:12345:3=1:m" */
	assert_int_equal(trickle_payload_format(&p, tiny, 15), 14);
	assert_string_equal(tiny, "t1:12345:3=1:m");
	memset(tiny, 'x', sizeof(tiny));
	assert_int_equal(trickle_payload_format(&p, tiny, 14), -1);
	assert_string_equal(tiny, "");
	assert_int_equal(trickle_payload_format(&p, tiny, 1), -1);
	assert_string_equal(tiny, "");
	memset(tiny, 'x', sizeof(tiny));
	assert_int_equal(trickle_payload_format(&p, tiny, 0), -1);
	assert_int_equal(tiny[0], 'x');
	assert_int_equal(trickle_payload_format(&p, NULL, 100), -1);
	assert_int_equal(trickle_payload_format(NULL, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "");
}

static void
test_format_invalid(void **state)
{
	static TricklePayload p;
	static const int ok[] = {1, 1, 2, 2};
	static const int dup_buffer[] = {1, 1, 1, 2};
	static const int dup_local[] = {1, 2, 3, 2};
	static const int zero_b[] = {0, 1};
	static const int zero_l[] = {1, 0};
	static const int high_b[] = {1601, 1};
	static const int high_l[] = {1, 1601};
	static const int neg[] = {-1, 1};
	char		buf[TRICKLE_PAYLOAD_FORMAT_LEN];

	(void) state;
	set_payload(&p, 0, ok, 2, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "");
	set_payload(&p, 1, ok, 2, false, false);
	assert_true(trickle_payload_format(&p, buf, sizeof(buf)) > 0);
	p.ncolumns = -1;
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);
	p.ncolumns = TRICKLE_PAYLOAD_MAX_COLUMNS + 1;
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);

	set_payload(&p, 1, dup_buffer, 2, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);
	set_payload(&p, 1, dup_local, 2, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);
	set_payload(&p, 1, zero_b, 1, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);
	set_payload(&p, 1, zero_l, 1, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);
	set_payload(&p, 1, high_b, 1, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);
	set_payload(&p, 1, high_l, 1, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);
	set_payload(&p, 1, neg, 1, false, false);
	assert_int_equal(trickle_payload_format(&p, buf, sizeof(buf)), -1);
}

static void
test_equal(void **state)
{
	static TricklePayload a;
	static TricklePayload b;
	static const int ab[] = {1, 2, 3, 4};
	static const int ba[] = {3, 4, 1, 2};
	static const int other[] = {1, 2, 3, 5};

	(void) state;
	set_payload(&a, 5, ab, 2, true, false);
	set_payload(&b, 5, ab, 2, true, false);
	assert_true(trickle_payload_equal(&a, &b));
	/* entries past ncolumns are ignored */
	b.columns[2].buffer_attnum = 99;
	b.columns[TRICKLE_PAYLOAD_MAX_COLUMNS - 1].local_attnum = -7;
	assert_true(trickle_payload_equal(&a, &b));
	assert_true(trickle_payload_equal(&b, &a));

	b.buffer_oid = 6;
	assert_false(trickle_payload_equal(&a, &b));
	set_payload(&b, 5, ab, 2, false, false);
	assert_false(trickle_payload_equal(&a, &b));
	set_payload(&b, 5, ab, 2, true, true);
	assert_false(trickle_payload_equal(&a, &b));
	set_payload(&b, 5, ab, 1, true, false);
	assert_false(trickle_payload_equal(&a, &b));
	/* order matters */
	set_payload(&b, 5, ba, 2, true, false);
	assert_false(trickle_payload_equal(&a, &b));
	set_payload(&b, 5, other, 2, true, false);
	assert_false(trickle_payload_equal(&a, &b));

	/* a wild ncolumns never makes it read out of bounds */
	set_payload(&a, 5, ab, 2, true, false);
	set_payload(&b, 5, ab, 2, true, false);
	a.ncolumns = b.ncolumns = -3;
	assert_true(trickle_payload_equal(&a, &b));
	a.ncolumns = b.ncolumns = TRICKLE_PAYLOAD_MAX_COLUMNS * 4;
	assert_true(trickle_payload_equal(&a, &b));
	b.columns[TRICKLE_PAYLOAD_MAX_COLUMNS - 1].local_attnum = 1;
	assert_false(trickle_payload_equal(&a, &b));

	/* flag order in the text does not */
	a = *parse_ok("t1:5:1=2:mp");
	b = *parse_ok("t1:5:1=2:pm");
	assert_true(trickle_payload_equal(&a, &b));
}

/*
 * same_but_flag_order - is formatted the canonical spelling of text: equal,
 * or equal but for flags "mp" written "pm"?
 */
static bool
same_but_flag_order(const char *text, const char *formatted)
{
	size_t		n = strlen(text);

	if (strcmp(text, formatted) == 0)
		return true;
	return n >= 3 && strlen(formatted) == n &&
		strncmp(text, formatted, n - 2) == 0 &&
		strcmp(text + n - 3, ":mp") == 0 &&
		strcmp(formatted + n - 3, ":pm") == 0;
}

static void
test_round_trip(void **state)
{
	static const char *const texts[] = {
		"t1:1:", "t1:1::p", "t1:1::m", "t1:1::pm", "t1:1::mp",
		"t1:4294967295:1600=1", "t1:16384:1=1,2=2,3=3",
		"t1:16385:10=1,9=2,8=3,7=4:p", "t1:99:1=1600,1600=1:mp",
	};
	static TricklePayload again;
	char		buf[TRICKLE_PAYLOAD_FORMAT_LEN];
	char		err[TRICKLE_PAYLOAD_ERROR_LEN];
	size_t		i;

	(void) state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
	{
		const TricklePayload *p = parse_ok(texts[i]);
		int			n = trickle_payload_format(p, buf, sizeof(buf));

		assert_int_equal(n, (int) strlen(texts[i]));
		if (!same_but_flag_order(texts[i], buf))
			fail_msg("\"%s\" formatted as \"%s\"", texts[i], buf);
		assert_true(trickle_payload_parse(buf, &again, err, sizeof(err)));
		assert_true(trickle_payload_equal(p, &again));
	}
}

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

static uint64_t
test_seed(void)
{
	const char *seedtext = getenv("TRICKLE_TEST_SEED");

	return seedtext ? strtoull(seedtext, NULL, 10) : UINT64_C(20260101);
}

/* shuffle_prefix - put a random choice of n values of 1..1600 first in v */
static void
shuffle_prefix(Rng *r, int *v, int n)
{
	int			i;

	for (i = 0; i < TRICKLE_PAYLOAD_MAX_COLUMNS; i++)
		v[i] = i + 1;
	for (i = 0; i < n; i++)
	{
		int			j = rng_int(r, i, TRICKLE_PAYLOAD_MAX_COLUMNS - 1);
		int			t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/* gen_payload - a random valid payload whose text fits the length limit */
static void
gen_payload(Rng *r, TricklePayload *p)
{
	int			bs[TRICKLE_PAYLOAD_MAX_COLUMNS];
	int			ls[TRICKLE_PAYLOAD_MAX_COLUMNS];
	int			size = rng_int(r, 0, 99);
	int			n;
	int			i;

	switch (rng_int(r, 0, 4))
	{
		case 0:
			p->buffer_oid = 1;
			break;
		case 1:
			p->buffer_oid = 4294967295u;
			break;
		case 2:
			p->buffer_oid = (unsigned int) rng_int(r, 1, 100000);
			break;
		default:
			p->buffer_oid = (unsigned int) (rng_next(r) >> 32);
			if (p->buffer_oid == 0)
				p->buffer_oid = 16384;
			break;
	}
	/* mostly small, sometimes up to 700 pairs (at most ~7 kB of text) */
	if (size < 50)
		n = rng_int(r, 0, 8);
	else if (size < 80)
		n = rng_int(r, 0, 64);
	else if (size < 95)
		n = rng_int(r, 0, 400);
	else
		n = rng_int(r, 0, 700);
	shuffle_prefix(r, bs, n);
	shuffle_prefix(r, ls, n);
	/* small tables use small attnums */
	if (rng_int(r, 0, 1) == 0)
		for (i = 0; i < n; i++)
		{
			bs[i] = i + 1;
			ls[i] = n - i;
		}
	p->ncolumns = n;
	for (i = 0; i < n; i++)
	{
		p->columns[i].buffer_attnum = bs[i];
		p->columns[i].local_attnum = ls[i];
	}
	p->partition = rng_int(r, 0, 1) == 1;
	p->mark_only = rng_int(r, 0, 3) == 0;
}

static void
test_property_round_trip(void **state)
{
	static TricklePayload p;
	static TricklePayload again;
	static char buf[TRICKLE_PAYLOAD_FORMAT_LEN];
	static char buf2[TRICKLE_PAYLOAD_FORMAT_LEN];
	char		err[TRICKLE_PAYLOAD_ERROR_LEN];
	uint64_t	seed = test_seed();
	Rng			r;
	int			c;

	(void) state;
	printf("[ INFO     ] property test seed %llu\n", (unsigned long long) seed);
	r.state = seed * 2 + 1;
	for (c = 0; c < PROPERTY_CASES; c++)
	{
		int			n;

		memset(&p, 0xA5, sizeof(p));
		gen_payload(&r, &p);
		n = trickle_payload_format(&p, buf, sizeof(buf));
		if (n < 0)
			fail_msg("case %d: a valid payload of %d pairs did not format (seed %llu)",
					 c, p.ncolumns, (unsigned long long) seed);
		assert_int_equal((size_t) n, strlen(buf));
		memset(&again, 0x5A, sizeof(again));
		if (!trickle_payload_parse(buf, &again, err, sizeof(err)))
			fail_msg("case %d: \"%.60s...\" did not parse: %s (seed %llu)",
					 c, buf, err, (unsigned long long) seed);
		if (!trickle_payload_equal(&p, &again))
			fail_msg("case %d: \"%.60s...\" parsed to something else (seed %llu)",
					 c, buf, (unsigned long long) seed);
		/* formatting is deterministic */
		assert_int_equal(trickle_payload_format(&again, buf2, sizeof(buf2)), n);
		assert_string_equal(buf, buf2);
	}
}

/* Bytes a mutation likes to insert: the grammar's own and some near misses */
static const char mutation_bytes[] = "0123456789:,=tpm1T+- x\t\xff\x80";

/* mutate - apply one random edit to the NUL-terminated text (room: cap) */
static void
mutate(Rng *r, char *text, size_t cap)
{
	size_t		len = strlen(text);
	size_t		at = len == 0 ? 0 : (size_t) rng_int(r, 0, (int) len - 1);
	char		c;

	if (rng_int(r, 0, 3) == 0)
		c = (char) rng_int(r, 1, 255);
	else
		c = mutation_bytes[rng_int(r, 0, (int) sizeof(mutation_bytes) - 2)];

	switch (rng_int(r, 0, 5))
	{
		case 0:					/* replace */
			if (len > 0)
				text[at] = c;
			break;
		case 1:					/* insert */
			if (len + 1 < cap)
			{
				memmove(text + at + 1, text + at, len - at + 1);
				text[at] = c;
			}
			break;
		case 2:					/* delete */
			if (len > 0)
				memmove(text + at, text + at + 1, len - at);
			break;
		case 3:					/* duplicate a short run */
			{
				size_t		run = (size_t) rng_int(r, 1, 8);

				if (at + run > len)
					run = len - at;
				if (len + run < cap)
				{
					memmove(text + at + run, text + at, len - at + 1);
					/* text[at .. at+run) is unchanged, so the run repeats */
				}
			}
			break;
		case 4:					/* cut */
			text[at] = '\0';
			break;
		default:				/* append */
			if (len + 1 < cap)
			{
				text[len] = c;
				text[len + 1] = '\0';
			}
			break;
	}
}

static void
test_property_mutation(void **state)
{
	static TricklePayload p;
	static TricklePayload got;
	static TricklePayload again;
	static char text[TRICKLE_PAYLOAD_FORMAT_LEN + 64];
	static char buf[TRICKLE_PAYLOAD_FORMAT_LEN];
	char		err[TRICKLE_PAYLOAD_ERROR_LEN];
	uint64_t	seed = test_seed() + 1;
	Rng			r;
	int			c;
	int			m;
	int			accepted = 0;
	int			rejected = 0;

	(void) state;
	printf("[ INFO     ] mutation test seed %llu\n", (unsigned long long) seed);
	r.state = seed * 2 + 1;
	for (c = 0; c < PROPERTY_CASES; c++)
	{
		gen_payload(&r, &p);
		/* mutate small payloads more often: their edits hit every field */
		if (p.ncolumns > 16 && rng_int(&r, 0, 3) != 0)
			p.ncolumns = rng_int(&r, 0, 16);
		if (trickle_payload_format(&p, buf, sizeof(buf)) < 0)
			fail_msg("case %d: a valid payload did not format", c);
		for (m = 0; m < MUTANTS_PER_CASE; m++)
		{
			int			edits = rng_int(&r, 1, 4);
			int			e;
			bool		ok;

			strcpy(text, buf);
			for (e = 0; e < edits; e++)
				mutate(&r, text, sizeof(text));

			strcpy(err, "untouched");
			ok = trickle_payload_parse(text, &got, err, sizeof(err));
			if (ok)
			{
				char		out[TRICKLE_PAYLOAD_FORMAT_LEN];
				int			n = trickle_payload_format(&got, out, sizeof(out));

				accepted++;
				assert_string_equal(err, "");
				if (n != (int) strlen(text) || !same_but_flag_order(text, out))
					fail_msg("\"%s\" formatted as \"%s\" (seed %llu)", text, out,
							 (unsigned long long) seed);
				assert_true(trickle_payload_parse(out, &again, err, sizeof(err)));
				assert_true(trickle_payload_equal(&got, &again));
			}
			else
			{
				rejected++;
				check_message(text, err);
			}
		}
	}
	printf("[ INFO     ] mutants: %d accepted, %d rejected\n", accepted, rejected);
	/* the mutations must exercise both outcomes */
	assert_true(accepted > PROPERTY_CASES / 10);
	assert_true(rejected > PROPERTY_CASES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_invalid),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_property_round_trip),
		cmocka_unit_test(test_property_mutation),
	};

	return cmocka_run_group_tests_name("payload", tests, NULL, NULL);
}
