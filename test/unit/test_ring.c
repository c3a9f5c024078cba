/*-------------------------------------------------------------------------
 *
 * test_ring.c
 *	  Unit tests for the dispatch ring, the claim words and the wake-up
 *	  queue (src/shmem/ring.c).
 *
 * The single-threaded cases pin down the semantics of every function.  The
 * stress cases run the protocols with real threads on one address space,
 * which is what the server does with processes on one shared segment:
 *
 *	ring		producers push numbered jobs, consumers claim and release
 *				them (all jobs, or only their own "database's" jobs through
 *				an accept filter); every job must be claimed exactly once
 *				and no slot owned by two consumers at a time.
 *	claim words	threads contend for a few words and, inside, update a
 *				plain counter and an "inside" flag that would betray a
 *				second owner; some owners "die" holding a word and are
 *				recovered by others.
 *	wake queue	producers post sets of sources that encode (producer, post
 *				number, position, count) through their own node, one
 *				consumer drains; every accepted post must arrive exactly
 *				once, whole and in its producer's order, and every refused
 *				one must be followed by a drain that reports overflow.
 *
 * ThreadSanitizer cannot see liburcu's assembly atomics, so these checks are
 * the threaded evidence; test/spin/ring.pml is the exhaustive one.  Checks
 * inside threads count failures (cmocka's asserts may only run in the
 * test's own thread) and the test asserts on the count after joining.
 * TRICKLE_STRESS_SCALE (a percentage, default 100) scales the stress sizes.
 *
 * test/unit/test_ring.c
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <urcu/uatomic.h>

#include "shmem/ring.h"

#define SEQ_MASK		((UINT32_C(1) << 30) - 1)

/* ---------------------------------------------------------------------
 * Helpers
 * --------------------------------------------------------------------- */

static TrickleRing *
ring_new(uint32_t nslots)
{
	TrickleRing *ring = malloc(trickle_ring_size(nslots));

	assert_non_null(ring);
	/* dirty memory: init must set everything */
	memset(ring, 0xA5, trickle_ring_size(nslots));
	trickle_ring_init(ring, nslots);
	return ring;
}

/* the sequence number a slot's word carries (layout from ring.h) */
static uint32_t
slot_seq(const TrickleRing *ring, int slot)
{
	return (uint32_t) (ring->slots[slot].word >> 32) & SEQ_MASK;
}

static uint32_t
claim_job(TrickleRing *ring)
{
	uint32_t	job = 0;
	int			slot = trickle_ring_claim(ring, NULL, NULL, 1, &job);

	assert_true(slot >= 0);
	assert_true(trickle_ring_release(ring, slot));
	return job;
}

static uint32_t
stress_scale(uint32_t n)
{
	const char *env = getenv("TRICKLE_STRESS_SCALE");
	long		pct = env ? strtol(env, NULL, 10) : 100;
	uint64_t	scaled;

	if (pct <= 0)
		pct = 100;
	scaled = (uint64_t) n * (uint64_t) pct / 100;
	return scaled < 1 ? 1 : (uint32_t) scaled;
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* failures seen inside threads; reported by the first few, counted all */
static unsigned long stress_errors;

static void stress_error(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static void
stress_error(const char *fmt,...)
{
	va_list		ap;

	if (uatomic_add_return(&stress_errors, 1) > 10)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "stress: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* threads of a stress test wait here so that they really start together */
static pthread_barrier_t start_line;

static void
start_together(void)
{
	int			rc = pthread_barrier_wait(&start_line);

	if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
		abort();
}

/* run_threads - run fn on each of n argument blocks, argsize bytes apart */
static void
run_threads(int n, void *(*fn) (void *), void *args, size_t argsize)
{
	pthread_t  *threads = calloc(n, sizeof(pthread_t));
	int			i;

	assert_non_null(threads);
	for (i = 0; i < n; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, fn,
										(char *) args + i * argsize), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	free(threads);
}

/* xorshift32: a per-thread generator, never seeded with 0 */
static uint32_t
rnd(uint32_t *state)
{
	uint32_t	x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* ---------------------------------------------------------------------
 * Dispatch ring, one thread
 * --------------------------------------------------------------------- */

static void
test_ring_basic(void **state)
{
	TrickleRing *ring = ring_new(4);
	uint32_t	job = 0;
	int64_t		at = 0;
	int32_t		by = 0;
	int			slot;
	int			i;

	(void) state;
	assert_int_equal(trickle_ring_size(4),
					 offsetof(TrickleRing, slots) + 4 * sizeof(TrickleRingSlot));
	assert_int_equal(ring->nslots, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(trickle_ring_peek(ring, i, &job, &at, &by),
						 TRICKLE_SLOT_FREE);

	slot = trickle_ring_push(ring, 42, 1000);
	assert_int_equal(slot, 0);	/* next_seq 0 is the start hint */
	assert_int_equal(trickle_ring_peek(ring, slot, &job, &at, &by),
					 TRICKLE_SLOT_READY);
	assert_int_equal(job, 42);
	assert_int_equal(at, 1000);

	job = 0;
	assert_int_equal(trickle_ring_claim(ring, NULL, NULL, 77, &job), slot);
	assert_int_equal(job, 42);
	assert_int_equal(trickle_ring_peek(ring, slot, &job, &at, &by),
					 TRICKLE_SLOT_CLAIMED);
	assert_int_equal(job, 42);
	assert_int_equal(by, 77);

	/* nothing else READY; *job is left alone */
	job = 5;
	assert_int_equal(trickle_ring_claim(ring, NULL, NULL, 78, &job), -1);
	assert_int_equal(job, 5);

	assert_true(trickle_ring_release(ring, slot));
	assert_false(trickle_ring_release(ring, slot));
	assert_int_equal(trickle_ring_peek(ring, slot, NULL, NULL, NULL),
					 TRICKLE_SLOT_FREE);

	/* a READY slot is not released, out-of-range slots are refused */
	slot = trickle_ring_push(ring, 43, 0);
	assert_false(trickle_ring_release(ring, slot));
	assert_int_equal(trickle_ring_peek(ring, slot, NULL, NULL, NULL),
					 TRICKLE_SLOT_READY);
	assert_false(trickle_ring_release(ring, -1));
	assert_false(trickle_ring_release(ring, 4));
	assert_int_equal(trickle_ring_peek(ring, 4, &job, &at, &by),
					 TRICKLE_SLOT_FREE);
	assert_int_equal(job, 0);
	assert_int_equal(trickle_ring_peek(ring, -1, NULL, NULL, NULL),
					 TRICKLE_SLOT_FREE);

	/* every 32-bit job survives */
	assert_int_equal(claim_job(ring), 43);
	slot = trickle_ring_push(ring, UINT32_MAX, -1);
	assert_true(slot >= 0);
	assert_int_equal(trickle_ring_peek(ring, slot, &job, &at, NULL),
					 TRICKLE_SLOT_READY);
	assert_int_equal(job, UINT32_MAX);
	assert_int_equal(at, -1);
	assert_int_equal(claim_job(ring), UINT32_MAX);
	free(ring);
}

static void
test_ring_full(void **state)
{
	TrickleRing *ring = ring_new(3);
	TrickleRing *empty = ring_new(0);
	uint32_t	job;
	int			slots[3];
	int			slot;
	int			i;

	(void) state;
	for (i = 0; i < 3; i++)
	{
		slots[i] = trickle_ring_push(ring, 100 + i, i);
		assert_true(slots[i] >= 0 && slots[i] < 3);
	}
	assert_true(slots[0] != slots[1] && slots[1] != slots[2] && slots[0] != slots[2]);
	assert_int_equal(trickle_ring_push(ring, 200, 0), -1);

	/* a CLAIMED slot is still taken */
	slot = trickle_ring_claim(ring, NULL, NULL, 1, &job);
	assert_int_equal(job, 100);
	assert_int_equal(trickle_ring_push(ring, 201, 0), -1);
	assert_true(trickle_ring_release(ring, slot));
	assert_int_equal(trickle_ring_push(ring, 202, 0), slot);
	assert_int_equal(trickle_ring_push(ring, 203, 0), -1);

	/* the jobs that failed to push are nowhere */
	assert_int_equal(claim_job(ring), 101);
	assert_int_equal(claim_job(ring), 102);
	assert_int_equal(claim_job(ring), 202);
	assert_int_equal(trickle_ring_claim(ring, NULL, NULL, 1, &job), -1);

	/* a ring without slots refuses everything */
	assert_int_equal(trickle_ring_size(0), offsetof(TrickleRing, slots));
	assert_int_equal(trickle_ring_push(empty, 1, 0), -1);
	assert_int_equal(trickle_ring_claim(empty, NULL, NULL, 1, &job), -1);
	assert_false(trickle_ring_release(empty, 0));
	assert_false(trickle_ring_cancel(empty, 0, 1));
	assert_int_equal(trickle_ring_peek(empty, 0, NULL, NULL, NULL),
					 TRICKLE_SLOT_FREE);
	free(ring);
	free(empty);
}

static void
test_ring_oldest_first(void **state)
{
	TrickleRing *ring = ring_new(4);

	(void) state;
	/* sequence numbers 0, 1, 2 land in slots 0, 1, 2 */
	assert_int_equal(trickle_ring_push(ring, 'a', 0), 0);
	assert_int_equal(trickle_ring_push(ring, 'b', 0), 1);
	assert_int_equal(trickle_ring_push(ring, 'c', 0), 2);
	assert_int_equal(claim_job(ring), 'a');
	/* 3 starts at slot 3; 4 starts at slot 0, which is free again */
	assert_int_equal(trickle_ring_push(ring, 'd', 0), 3);
	assert_int_equal(trickle_ring_push(ring, 'e', 0), 0);
	assert_int_equal(slot_seq(ring, 0), 4);

	/* by sequence, not by slot: e sits in slot 0 but is the newest */
	assert_int_equal(claim_job(ring), 'b');
	assert_int_equal(claim_job(ring), 'c');
	assert_int_equal(claim_job(ring), 'd');
	assert_int_equal(claim_job(ring), 'e');
	free(ring);
}

static bool
accept_parity(uint32_t job, void *arg)
{
	return (job & 1) == *(uint32_t *) arg;
}

static bool
accept_none(uint32_t job, void *arg)
{
	(void) job;
	(void) arg;
	return false;
}

static void
test_ring_accept(void **state)
{
	TrickleRing *ring = ring_new(8);
	uint32_t	even = 0;
	uint32_t	odd = 1;
	uint32_t	job = 0;
	int			slot;
	int			i;

	(void) state;
	for (i = 1; i <= 5; i++)
		assert_true(trickle_ring_push(ring, i, 0) >= 0);

	assert_int_equal(trickle_ring_claim(ring, accept_none, NULL, 1, &job), -1);

	slot = trickle_ring_claim(ring, accept_parity, &even, 1, &job);
	assert_true(slot >= 0);
	assert_int_equal(job, 2);
	/* a refused job keeps its place: 1 is still the oldest */
	assert_int_equal(claim_job(ring), 1);
	assert_true(trickle_ring_release(ring, slot));

	slot = trickle_ring_claim(ring, accept_parity, &even, 1, &job);
	assert_int_equal(job, 4);
	assert_true(trickle_ring_release(ring, slot));
	assert_int_equal(trickle_ring_claim(ring, accept_parity, &even, 1, &job), -1);

	slot = trickle_ring_claim(ring, accept_parity, &odd, 1, &job);
	assert_int_equal(job, 3);
	assert_true(trickle_ring_release(ring, slot));
	assert_int_equal(claim_job(ring), 5);
	free(ring);
}

static void
test_ring_cancel(void **state)
{
	TrickleRing *ring = ring_new(2);
	uint32_t	job;
	int			slot;
	int			other;

	(void) state;
	slot = trickle_ring_push(ring, 5, 0);
	other = trickle_ring_push(ring, 6, 0);
	assert_false(trickle_ring_cancel(ring, slot, 6));	/* wrong job */
	assert_true(trickle_ring_cancel(ring, slot, 5));
	assert_int_equal(trickle_ring_peek(ring, slot, NULL, NULL, NULL),
					 TRICKLE_SLOT_FREE);
	assert_false(trickle_ring_cancel(ring, slot, 5));	/* already gone */

	/* the cancelled job is never claimed; the other one is */
	assert_int_equal(trickle_ring_claim(ring, NULL, NULL, 1, &job), other);
	assert_int_equal(job, 6);
	/* a CLAIMED job is its consumer's: cancel leaves it alone */
	assert_false(trickle_ring_cancel(ring, other, 6));
	assert_int_equal(trickle_ring_peek(ring, other, NULL, NULL, NULL),
					 TRICKLE_SLOT_CLAIMED);
	assert_true(trickle_ring_release(ring, other));
	assert_int_equal(trickle_ring_claim(ring, NULL, NULL, 1, &job), -1);

	assert_false(trickle_ring_cancel(ring, -1, 5));
	assert_false(trickle_ring_cancel(ring, 2, 5));
	free(ring);
}

/*
 * Sequence numbers are 30 bits: order must survive the wrap, both of the
 * 30-bit field and of the 32-bit counter behind it.
 */
static void
test_ring_seq_wrap(void **state)
{
	static const uint32_t starts[] = {SEQ_MASK - 1, UINT32_MAX - 1, SEQ_MASK / 2};
	int			k;

	(void) state;
	for (k = 0; k < 3; k++)
	{
		TrickleRing *ring = ring_new(4);
		int			slot;

		ring->next_seq = starts[k];
		assert_true(trickle_ring_push(ring, 'a', 0) >= 0);
		assert_true(trickle_ring_push(ring, 'b', 0) >= 0);
		slot = trickle_ring_push(ring, 'c', 0);
		assert_true(slot >= 0);
		if (k < 2)
			assert_int_equal(slot_seq(ring, slot), 0);	/* wrapped */
		assert_true(trickle_ring_push(ring, 'd', 0) >= 0);
		assert_int_equal(claim_job(ring), 'a');
		assert_true(trickle_ring_push(ring, 'e', 0) >= 0);
		assert_int_equal(claim_job(ring), 'b');
		assert_int_equal(claim_job(ring), 'c');
		assert_int_equal(claim_job(ring), 'd');
		assert_int_equal(claim_job(ring), 'e');
		free(ring);
	}
}

/*
 * A push that took its number after the consumer read next_seq looks
 * 2^30 - 1 pushes old; claim must rank it as the newest instead.
 */
static void
test_ring_seq_future(void **state)
{
	TrickleRing *ring = ring_new(4);
	uint32_t	job;

	(void) state;
	ring->next_seq = 10;
	assert_true(trickle_ring_push(ring, 'a', 0) >= 0);	/* seq 10 */
	ring->next_seq++;			/* a push that found the ring full */
	assert_true(trickle_ring_push(ring, 'b', 0) >= 0);	/* seq 12 */
	ring->next_seq = 11;		/* as a consumer may read it */
	assert_true(trickle_ring_claim(ring, NULL, NULL, 1, &job) >= 0);
	assert_int_equal(job, 'a');
	free(ring);
}

/* ---------------------------------------------------------------------
 * Claim words, one thread
 * --------------------------------------------------------------------- */

static void
test_claim_words(void **state)
{
	uint32_t	word = TRICKLE_CLAIM_NONE;

	(void) state;
	assert_false(trickle_claim_try(&word, TRICKLE_CLAIM_NONE));
	assert_int_equal(trickle_claim_owner(&word), TRICKLE_CLAIM_NONE);
	assert_true(trickle_claim_try(&word, 5));
	assert_int_equal(trickle_claim_owner(&word), 5);
	assert_false(trickle_claim_try(&word, 6));
	assert_false(trickle_claim_try(&word, 5));	/* not reentrant */
	assert_false(trickle_claim_release(&word, 6));
	assert_false(trickle_claim_release(&word, TRICKLE_CLAIM_NONE));
	assert_int_equal(trickle_claim_owner(&word), 5);
	assert_true(trickle_claim_release(&word, 5));
	assert_int_equal(trickle_claim_owner(&word), TRICKLE_CLAIM_NONE);
	assert_false(trickle_claim_release(&word, 5));

	/* recovery frees only the named owner's word */
	assert_true(trickle_claim_try(&word, 6));
	assert_false(trickle_claim_recover(&word, 5));
	assert_false(trickle_claim_recover(&word, TRICKLE_CLAIM_NONE));
	assert_int_equal(trickle_claim_owner(&word), 6);
	assert_true(trickle_claim_recover(&word, 6));
	assert_int_equal(trickle_claim_owner(&word), TRICKLE_CLAIM_NONE);
	assert_false(trickle_claim_recover(&word, 6));
	/* the dead owner's late release changes nothing */
	assert_true(trickle_claim_try(&word, 7));
	assert_false(trickle_claim_release(&word, 6));
	assert_int_equal(trickle_claim_owner(&word), 7);
	assert_true(trickle_claim_try(&word, UINT32_MAX) == false);
	assert_true(trickle_claim_release(&word, 7));
	assert_true(trickle_claim_try(&word, UINT32_MAX));
	assert_true(trickle_claim_release(&word, UINT32_MAX));
}

/* ---------------------------------------------------------------------
 * Wake-up queue, one thread
 * --------------------------------------------------------------------- */

typedef struct Collected
{
	uint32_t	n;
	uint32_t	sources[64];
	/* optional: post this node from inside the callback, once */
	TrickleWakeQueue *q;
	TrickleWakeNode *repost;
	bool		reposted_ok;
} Collected;

static void
collect(uint32_t source, void *arg)
{
	Collected  *c = arg;

	if (c->n < 64)
		c->sources[c->n] = source;
	c->n++;
	if (c->repost != NULL)
	{
		uint32_t	src = 1000 + source;

		c->reposted_ok = trickle_wakeq_post(c->q, c->repost, &src, 1);
		c->repost = NULL;
	}
}

static uint32_t
drain(TrickleWakeQueue *q, Collected *c, bool *overflow)
{
	bool		retry = true;
	uint32_t	n;

	memset(c, 0, sizeof(*c));
	n = trickle_wakeq_drain(q, collect, c, overflow, &retry);
	assert_false(retry);
	return n;
}

static void
expect_sources(const Collected *c, const uint32_t *expected, uint32_t n)
{
	assert_int_equal(c->n, n);
	if (n > 0)
		assert_memory_equal(c->sources, expected, n * sizeof(uint32_t));
}

static void
test_wakeq_basic(void **state)
{
	TrickleWakeQueue q;
	TrickleWakeNode nodes[3];
	Collected	c;
	bool		overflow = true;
	bool		retry = true;
	static const uint32_t s123[] = {1, 2, 3};
	static const uint32_t s4[] = {4};
	static const uint32_t s1234[] = {1, 2, 3, 4};
	static const uint32_t eight[] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const uint32_t nine[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	static const uint32_t fifo[] = {30, 10, 20};
	int			i;

	(void) state;
	memset(&q, 0x5A, sizeof(q));
	memset(nodes, 0x5A, sizeof(nodes));
	trickle_wakeq_init(&q);
	for (i = 0; i < 3; i++)
		trickle_wakenode_init(&nodes[i]);

	/* empty */
	assert_int_equal(trickle_wakeq_drain(&q, collect, &c, &overflow, &retry), 0);
	assert_false(overflow);
	assert_false(retry);

	/* two nodes, in order */
	assert_true(trickle_wakeq_post(&q, &nodes[0], s123, 3));
	assert_true(trickle_wakeq_post(&q, &nodes[1], s4, 1));
	assert_int_equal(nodes[0].queued, 1);
	assert_int_equal(drain(&q, &c, &overflow), 2);
	assert_false(overflow);
	expect_sources(&c, s1234, 4);
	assert_int_equal(nodes[0].queued, 0);
	assert_int_equal(nodes[1].queued, 0);

	/* n == 0: nothing posted, nothing flagged */
	assert_true(trickle_wakeq_post(&q, &nodes[0], NULL, 0));
	assert_int_equal(nodes[0].queued, 0);
	assert_int_equal(drain(&q, &c, &overflow), 0);
	assert_false(overflow);

	/* node still queued: refused, overflow set, the queued sources kept */
	assert_true(trickle_wakeq_post(&q, &nodes[0], s4, 1));
	assert_false(trickle_wakeq_post(&q, &nodes[0], s123, 3));
	assert_int_equal(drain(&q, &c, &overflow), 1);
	assert_true(overflow);
	expect_sources(&c, s4, 1);
	/* the flag was cleared */
	assert_int_equal(drain(&q, &c, &overflow), 0);
	assert_false(overflow);

	/* too many sources: refused, node untouched, overflow set */
	assert_true(trickle_wakeq_post(&q, &nodes[1], eight, TRICKLE_WAKE_SOURCES));
	assert_int_equal(drain(&q, &c, &overflow), 1);
	expect_sources(&c, eight, 8);
	assert_false(overflow);
	assert_false(trickle_wakeq_post(&q, &nodes[1], nine, TRICKLE_WAKE_SOURCES + 1));
	assert_int_equal(nodes[1].queued, 0);
	assert_int_equal(drain(&q, &c, &overflow), 0);
	assert_true(overflow);

	/* nodes are reused, first posted first drained */
	assert_true(trickle_wakeq_post(&q, &nodes[2], &fifo[0], 1));
	assert_true(trickle_wakeq_post(&q, &nodes[0], &fifo[1], 1));
	assert_true(trickle_wakeq_post(&q, &nodes[1], &fifo[2], 1));
	assert_int_equal(drain(&q, &c, &overflow), 3);
	expect_sources(&c, fifo, 3);
	assert_false(overflow);
}

/*
 * A drain takes only what was queued when it started; a post made while it
 * runs (here: from its callback) waits for the next drain, and the node
 * being read cannot be posted again until the drain handed it back.
 */
static void
test_wakeq_drain_bounds(void **state)
{
	TrickleWakeQueue q;
	TrickleWakeNode a;
	TrickleWakeNode b;
	Collected	c;
	bool		overflow;
	bool		retry;
	uint32_t	one = 1;
	uint32_t	n;

	(void) state;
	trickle_wakeq_init(&q);
	trickle_wakenode_init(&a);
	trickle_wakenode_init(&b);

	assert_true(trickle_wakeq_post(&q, &a, &one, 1));
	memset(&c, 0, sizeof(c));
	c.q = &q;
	c.repost = &b;
	n = trickle_wakeq_drain(&q, collect, &c, &overflow, &retry);
	assert_int_equal(n, 1);
	assert_true(c.reposted_ok);
	assert_int_equal(c.n, 1);
	assert_false(overflow);
	assert_int_equal(b.queued, 1);
	assert_int_equal(drain(&q, &c, &overflow), 1);
	assert_int_equal(c.sources[0], 1001);

	/* the node being read is still the consumer's */
	assert_true(trickle_wakeq_post(&q, &a, &one, 1));
	memset(&c, 0, sizeof(c));
	c.q = &q;
	c.repost = &a;
	n = trickle_wakeq_drain(&q, collect, &c, &overflow, &retry);
	assert_int_equal(n, 1);
	assert_false(c.reposted_ok);
	assert_true(overflow);
	assert_int_equal(a.queued, 0);
	assert_int_equal(drain(&q, &c, &overflow), 0);
}

/*
 * An enqueue cut between its two steps (tail exchanged, link not yet
 * stored) must make drain report retry, lose nothing, and deliver
 * everything in order once the link is stored.
 */
static void
test_wakeq_half_enqueue(void **state)
{
	TrickleWakeQueue q;
	TrickleWakeNode first;
	TrickleWakeNode cut;
	Collected	c;
	bool		overflow;
	bool		retry = false;
	uint32_t	five = 5;
	struct cds_wfcq_node *old_tail;
	static const uint32_t both[] = {5, 9};

	(void) state;
	trickle_wakeq_init(&q);
	trickle_wakenode_init(&first);
	trickle_wakenode_init(&cut);
	assert_true(trickle_wakeq_post(&q, &first, &five, 1));

	/* the first half of trickle_wakeq_post for "cut" */
	assert_int_equal(uatomic_cmpxchg(&cut.queued, 0, 1), 0);
	cut.sources[0] = 9;
	cut.nsources = 1;
	cds_wfcq_node_init(&cut.node);
	old_tail = uatomic_xchg(&q.tail.p, &cut.node);
	assert_ptr_equal(old_tail, &first.node);

	memset(&c, 0, sizeof(c));
	assert_int_equal(trickle_wakeq_drain(&q, collect, &c, &overflow, &retry), 0);
	assert_true(retry);
	assert_false(overflow);
	assert_int_equal(c.n, 0);
	assert_int_equal(first.queued, 1);

	/* the second half */
	uatomic_set(&old_tail->next, &cut.node);
	assert_int_equal(drain(&q, &c, &overflow), 2);
	expect_sources(&c, both, 2);
	assert_int_equal(first.queued, 0);
	assert_int_equal(cut.queued, 0);

	/* the same with the cut enqueue alone in the queue */
	assert_int_equal(uatomic_cmpxchg(&cut.queued, 0, 1), 0);
	cds_wfcq_node_init(&cut.node);
	old_tail = uatomic_xchg(&q.tail.p, &cut.node);
	assert_ptr_equal(old_tail, &q.head.node);
	memset(&c, 0, sizeof(c));
	assert_int_equal(trickle_wakeq_drain(&q, collect, &c, &overflow, &retry), 0);
	assert_true(retry);
	uatomic_set(&old_tail->next, &cut.node);
	assert_int_equal(drain(&q, &c, &overflow), 1);
	expect_sources(&c, &both[1], 1);
	assert_int_equal(drain(&q, &c, &overflow), 0);
}

/* ---------------------------------------------------------------------
 * Dispatch ring, threads
 *
 * Job = database (bits 28-31) | producer (24-27) | number (0-23).
 * --------------------------------------------------------------------- */

#define RING_PRODUCERS		4
#define RING_CONSUMERS		4
#define RING_MAX_SLOTS		64
#define RING_DATABASES		RING_CONSUMERS

#define JOB(db, p, i)	(((uint32_t) (db) << 28) | ((uint32_t) (p) << 24) | (uint32_t) (i))
#define JOB_DB(j)		((j) >> 28)
#define JOB_PRODUCER(j)	(((j) >> 24) & 0xF)
#define JOB_NUMBER(j)	((j) & 0xFFFFFF)

typedef struct RingStress
{
	TrickleRing *ring;
	uint32_t	jobs_per_producer;
	bool		filtered;		/* consumer c takes only database c's jobs */
	uint32_t   *claims;			/* per job, RING_PRODUCERS * jobs_per_producer */
	uint32_t	nslots;
	uint32_t	inside[RING_MAX_SLOTS]; /* 1 while a consumer holds the slot */
	uint32_t	producers_done;
	uint64_t	empty_claims;
	uint64_t	full_pushes;
} RingStress;

typedef struct RingThread
{
	RingStress *s;
	uint32_t	id;
} RingThread;

static uint32_t
job_database(uint32_t p, uint32_t i)
{
	return (i * 7 + p) % RING_DATABASES;
}

static void *
ring_producer(void *arg)
{
	RingThread *t = arg;
	RingStress *s = t->s;
	uint64_t	full = 0;
	uint32_t	i;

	start_together();
	for (i = 0; i < s->jobs_per_producer; i++)
	{
		uint32_t	job = JOB(job_database(t->id, i), t->id, i);

		while (trickle_ring_push(s->ring, job, i) < 0)
		{
			full++;
			sched_yield();
		}
	}
	uatomic_add(&s->full_pushes, full);
	uatomic_inc(&s->producers_done);
	return NULL;
}

static bool
accept_database(uint32_t job, void *arg)
{
	return JOB_DB(job) == *(uint32_t *) arg;
}

/* nothing READY or CLAIMED: with the producers done, every job is through */
static bool
ring_idle(RingStress *s)
{
	int			i;

	for (i = 0; i < (int) s->nslots; i++)
		if (trickle_ring_peek(s->ring, i, NULL, NULL, NULL) != TRICKLE_SLOT_FREE)
			return false;
	return true;
}

static void *
ring_consumer(void *arg)
{
	RingThread *t = arg;
	RingStress *s = t->s;
	uint32_t	db = t->id;
	uint64_t	empty = 0;

	start_together();
	for (;;)
	{
		uint32_t	job = UINT32_MAX;
		uint32_t	seen_job;
		int32_t		seen_by;
		uint32_t	p;
		uint32_t	i;
		int			slot;

		slot = trickle_ring_claim(s->ring, s->filtered ? accept_database : NULL,
								  &db, (int32_t) t->id + 1, &job);
		if (slot < 0)
		{
			/* a lost job ends the test here too, and shows in the counts */
			if (uatomic_read(&s->producers_done) == RING_PRODUCERS &&
				ring_idle(s))
				break;
			empty++;
			sched_yield();
			continue;
		}

		if (slot >= (int) s->nslots)
		{
			stress_error("claim returned slot %d", slot);
			continue;
		}
		if (uatomic_xchg(&s->inside[slot], 1) != 0)
			stress_error("slot %d held by two consumers", slot);
		/* while we hold it nobody else may change it */
		if (trickle_ring_peek(s->ring, slot, &seen_job, NULL, &seen_by) !=
			TRICKLE_SLOT_CLAIMED || seen_job != job ||
			seen_by != (int32_t) t->id + 1)
			stress_error("slot %d changed under its owner", slot);

		p = JOB_PRODUCER(job);
		i = JOB_NUMBER(job);
		if (p >= RING_PRODUCERS || i >= s->jobs_per_producer ||
			JOB_DB(job) != job_database(p, i))
			stress_error("claimed a job never pushed: %08x", job);
		else if (uatomic_add_return(&s->claims[p * s->jobs_per_producer + i], 1) != 1)
			stress_error("job %08x claimed twice", job);
		if (s->filtered && JOB_DB(job) != db)
			stress_error("consumer %u got database %u's job", db, JOB_DB(job));

		uatomic_set(&s->inside[slot], 0);
		if (!trickle_ring_release(s->ring, slot))
			stress_error("release of slot %d failed", slot);
	}
	uatomic_add(&s->empty_claims, empty);
	return NULL;
}

static void
ring_stress(uint32_t jobs_per_producer, bool filtered, uint32_t nslots)
{
	RingStress *s = calloc(1, sizeof(RingStress));
	RingThread	producers[RING_PRODUCERS];
	RingThread	consumers[RING_CONSUMERS];
	uint32_t	total = RING_PRODUCERS * jobs_per_producer;
	uint32_t	p;
	uint32_t	i;
	uint32_t	c;
	uint32_t	lost = 0;
	uint32_t	repeated = 0;
	uint32_t	first_bad = UINT32_MAX;
	double		start;
	pthread_t	pt[RING_PRODUCERS + RING_CONSUMERS];

	assert_non_null(s);
	assert_true(jobs_per_producer <= 0xFFFFFF);
	assert_true(nslots <= RING_MAX_SLOTS);
	s->ring = ring_new(nslots);
	s->nslots = nslots;
	s->jobs_per_producer = jobs_per_producer;
	s->filtered = filtered;
	s->claims = calloc(total, sizeof(uint32_t));
	assert_non_null(s->claims);
	stress_errors = 0;
	assert_int_equal(pthread_barrier_init(&start_line, NULL,
										  RING_CONSUMERS + RING_PRODUCERS), 0);

	start = now_seconds();
	for (c = 0; c < RING_CONSUMERS; c++)
	{
		consumers[c].s = s;
		consumers[c].id = c;
		assert_int_equal(pthread_create(&pt[c], NULL, ring_consumer, &consumers[c]), 0);
	}
	for (p = 0; p < RING_PRODUCERS; p++)
	{
		producers[p].s = s;
		producers[p].id = p;
		assert_int_equal(pthread_create(&pt[RING_CONSUMERS + p], NULL,
										ring_producer, &producers[p]), 0);
	}
	for (c = 0; c < RING_CONSUMERS + RING_PRODUCERS; c++)
		assert_int_equal(pthread_join(pt[c], NULL), 0);
	assert_int_equal(pthread_barrier_destroy(&start_line), 0);

	printf("[ INFO     ] ring%s: %u jobs, %d producers, %d consumers, %d slots, "
		   "%.2f s (%llu full pushes, %llu empty claims retried)\n",
		   filtered ? " (one database per consumer)" : "",
		   total, RING_PRODUCERS, RING_CONSUMERS, nslots,
		   now_seconds() - start,
		   (unsigned long long) s->full_pushes,
		   (unsigned long long) s->empty_claims);

	assert_int_equal(stress_errors, 0);
	for (i = 0; i < total; i++)
	{
		if (s->claims[i] == 0)
			lost++;
		else if (s->claims[i] > 1)
			repeated++;
		if (s->claims[i] != 1 && first_bad == UINT32_MAX)
			first_bad = i;
	}
	if (first_bad != UINT32_MAX)
		fail_msg("%u jobs never claimed, %u claimed more than once; first: job %u "
				 "of producer %u, claimed %u times", lost, repeated,
				 first_bad % jobs_per_producer, first_bad / jobs_per_producer,
				 s->claims[first_bad]);
	for (i = 0; i < nslots; i++)
		assert_int_equal(trickle_ring_peek(s->ring, i, NULL, NULL, NULL),
						 TRICKLE_SLOT_FREE);
	free(s->claims);
	free(s->ring);
	free(s);
}

static void
test_ring_stress(void **state)
{
	(void) state;
	ring_stress(stress_scale(500000), false, 8);
}

/* two slots: every push and claim fights over the same words */
static void
test_ring_stress_tiny(void **state)
{
	(void) state;
	ring_stress(stress_scale(250000), false, 2);
}

static void
test_ring_stress_filtered(void **state)
{
	(void) state;
	ring_stress(stress_scale(250000), true, 32);
}

/* ---------------------------------------------------------------------
 * Claim words, threads
 * --------------------------------------------------------------------- */

#define CLAIM_THREADS	6
#define CLAIM_WORDS		3

typedef struct ClaimStress
{
	uint32_t	words[CLAIM_WORDS];
	volatile uint32_t inside[CLAIM_WORDS];	/* plain accesses on purpose */
	volatile uint64_t counter[CLAIM_WORDS]; /* likewise */
	uint32_t	abandoned[CLAIM_WORDS]; /* owner that "died" holding it */
	uint32_t	iterations;
} ClaimStress;

typedef struct ClaimThread
{
	ClaimStress *s;
	uint32_t	owner;
	uint64_t	won[CLAIM_WORDS];
	uint64_t	lost;
	uint64_t	died;
	uint64_t	recovered;
} ClaimThread;

static void *
claim_worker(void *arg)
{
	ClaimThread *t = arg;
	ClaimStress *s = t->s;
	uint32_t	seed = 0x9E3779B9u * t->owner;
	uint32_t	k;

	start_together();
	for (k = 0; k < s->iterations; k++)
	{
		uint32_t	r = rnd(&seed);
		uint32_t	w = r % CLAIM_WORDS;
		uint32_t	dead;
		int			spin;

		if (!trickle_claim_try(&s->words[w], t->owner))
		{
			t->lost++;
			/* free a word whose owner died; the exchange elects one rescuer */
			if (uatomic_read(&s->abandoned[w]) != 0 &&
				(dead = uatomic_xchg(&s->abandoned[w], 0)) != 0)
			{
				if (!trickle_claim_recover(&s->words[w], dead))
					stress_error("could not recover word %u from dead owner %u", w, dead);
				t->recovered++;
			}
			continue;
		}

		/* the critical section */
		if (s->inside[w] != 0)
			stress_error("word %u: owner %u found %u inside", w, t->owner, s->inside[w]);
		if (trickle_claim_owner(&s->words[w]) != t->owner)
			stress_error("word %u: owner %u does not own it", w, t->owner);
		s->inside[w] = t->owner;
		s->counter[w] = s->counter[w] + 1;
		for (spin = 0; spin < (int) (r >> 28); spin++)
			if (s->inside[w] != t->owner)
				stress_error("word %u: owner %u was joined", w, t->owner);
		s->inside[w] = 0;
		t->won[w]++;

		if ((r >> 8) % 4096 == 0)
		{
			/* die holding the word: someone else must recover it */
			uatomic_set(&s->abandoned[w], t->owner);
			t->died++;
			continue;
		}
		if (!trickle_claim_release(&s->words[w], t->owner))
			stress_error("word %u: owner %u could not release", w, t->owner);
	}
	return NULL;
}

static void
test_claim_stress(void **state)
{
	ClaimStress *s = calloc(1, sizeof(ClaimStress));
	ClaimThread t[CLAIM_THREADS];
	uint64_t	won[CLAIM_WORDS] = {0};
	uint64_t	lost = 0;
	uint64_t	died = 0;
	uint64_t	recovered = 0;
	double		start;
	int			i;
	int			w;

	(void) state;
	assert_non_null(s);
	s->iterations = stress_scale(2000000);
	memset(t, 0, sizeof(t));
	for (i = 0; i < CLAIM_THREADS; i++)
	{
		t[i].s = s;
		t[i].owner = 1000 + i;
	}
	stress_errors = 0;
	assert_int_equal(pthread_barrier_init(&start_line, NULL, CLAIM_THREADS), 0);
	start = now_seconds();
	run_threads(CLAIM_THREADS, claim_worker, t, sizeof(ClaimThread));
	assert_int_equal(pthread_barrier_destroy(&start_line), 0);

	for (i = 0; i < CLAIM_THREADS; i++)
	{
		for (w = 0; w < CLAIM_WORDS; w++)
			won[w] += t[i].won[w];
		lost += t[i].lost;
		died += t[i].died;
		recovered += t[i].recovered;
	}
	printf("[ INFO     ] claim words: %d threads on %d words, %u attempts each, "
		   "%.2f s (%llu won, %llu lost, %llu owners died, %llu recovered)\n",
		   CLAIM_THREADS, CLAIM_WORDS, s->iterations, now_seconds() - start,
		   (unsigned long long) (won[0] + won[1] + won[2]),
		   (unsigned long long) lost, (unsigned long long) died,
		   (unsigned long long) recovered);

	assert_int_equal(stress_errors, 0);
	for (w = 0; w < CLAIM_WORDS; w++)
	{
		/* a lost update here means two owners were inside at once */
		assert_int_equal(s->counter[w], won[w]);
		assert_int_equal(s->inside[w], 0);
		/* a word still held belongs to a dead owner nobody recovered yet */
		if (s->words[w] != TRICKLE_CLAIM_NONE)
		{
			assert_int_equal(s->abandoned[w], s->words[w]);
			recovered++;
		}
		else
			assert_int_equal(s->abandoned[w], 0);
	}
	assert_int_equal(died, recovered);
	assert_true(lost > 0);
	free(s);
}

/* ---------------------------------------------------------------------
 * Wake-up queue, threads
 *
 * Source = producer (bits 29-31) | position in the post (26-28) |
 * count - 1 (23-25) | post number (0-22).  A post's sources are all
 * distinct and say where they belong, so a torn, mixed, repeated, lost or
 * reordered node shows up in the consumer's checks.
 * --------------------------------------------------------------------- */

#define WAKE_PRODUCERS	8

#define WSRC(p, k, n, s)	(((uint32_t) (p) << 29) | ((uint32_t) (k) << 26) | \
							 ((uint32_t) ((n) - 1) << 23) | (uint32_t) (s))
#define WSRC_PRODUCER(x)	((x) >> 29)
#define WSRC_POS(x)			(((x) >> 26) & 7)
#define WSRC_COUNT(x)		((((x) >> 23) & 7) + 1)
#define WSRC_POST(x)		((x) & 0x7FFFFF)

enum
{
	POST_NOTHING = 0,			/* n == 0 */
	POST_QUEUED,
	POST_REFUSED
};

typedef struct WakeStress
{
	TrickleWakeQueue q;
	TrickleWakeNode nodes[WAKE_PRODUCERS];
	uint32_t	posts;			/* per producer */
	uint32_t	drain_gen;		/* number of the drain running or last run */
	uint32_t	producers_done;

	/* per producer and post, written by the producer */
	uint8_t    *result[WAKE_PRODUCERS];
	uint32_t   *gen_before[WAKE_PRODUCERS];
	uint32_t   *gen_after[WAKE_PRODUCERS];

	/* written by the consumer */
	uint8_t    *delivered[WAKE_PRODUCERS];
	int64_t		last_post[WAKE_PRODUCERS];
	uint32_t   *overflow_gens;	/* drains that reported overflow, ascending */
	uint32_t	noverflow_gens;
	uint32_t	overflow_gens_size;
	uint64_t	drains;
	uint64_t	retries;
	uint64_t	consumed;

	/* the post being read: producer, number, count, next position */
	uint32_t	cur_p;
	uint32_t	cur_s;
	uint32_t	cur_n;
	uint32_t	cur_k;
} WakeStress;

typedef struct WakeThread
{
	WakeStress *s;
	uint32_t	id;
} WakeThread;

static void *
wake_producer(void *arg)
{
	WakeThread *t = arg;
	WakeStress *s = t->s;
	uint32_t	p = t->id;
	uint32_t	seed = 0x2545F491u * (p + 1);
	uint32_t	sources[TRICKLE_WAKE_SOURCES + 4];
	uint32_t	post;

	start_together();
	for (post = 0; post < s->posts; post++)
	{
		uint32_t	r = rnd(&seed);
		uint32_t	n;
		uint32_t	k;
		uint32_t	g0;
		uint32_t	g1;
		bool		ok;

		if (post % 61 == 0)
			n = TRICKLE_WAKE_SOURCES + 1 + r % 4;
		else if (post % 67 == 0)
			n = 0;
		else
			n = 1 + r % TRICKLE_WAKE_SOURCES;
		for (k = 0; k < n; k++)
			sources[k] = WSRC(p, k & 7, n <= TRICKLE_WAKE_SOURCES ? n : 1, post);

		/*
		 * Like a backend whose next commit comes a while later, most posts
		 * wait until the consumer has handed the node back; the others
		 * post at once, and are refused if the node is still queued.
		 */
		if (r % 4 != 0)
			while (uatomic_read(&s->nodes[p].queued) != 0)
				sched_yield();

		/* the drains that could have seen this post's overflow flag */
		g0 = uatomic_read(&s->drain_gen);
		cmm_smp_mb();
		ok = trickle_wakeq_post(&s->q, &s->nodes[p], sources, n);
		cmm_smp_mb();
		g1 = uatomic_read(&s->drain_gen);

		if (n == 0)
		{
			if (!ok)
				stress_error("producer %u: empty post %u refused", p, post);
			s->result[p][post] = POST_NOTHING;
		}
		else if (ok)
		{
			if (n > TRICKLE_WAKE_SOURCES)
				stress_error("producer %u: post %u of %u sources accepted", p, post, n);
			s->result[p][post] = POST_QUEUED;
		}
		else
		{
			s->result[p][post] = POST_REFUSED;
			s->gen_before[p][post] = g0;
			s->gen_after[p][post] = g1;
		}
	}
	uatomic_inc(&s->producers_done);
	return NULL;
}

/* consumer callback: check each source against the post it belongs to */
static void
wake_source(uint32_t x, void *arg)
{
	WakeStress *s = arg;
	uint32_t	p = WSRC_PRODUCER(x);
	uint32_t	k = WSRC_POS(x);
	uint32_t	n = WSRC_COUNT(x);
	uint32_t	post = WSRC_POST(x);

	if (s->cur_k == s->cur_n)
	{
		/* a new post starts */
		if (k != 0 || post >= s->posts)
		{
			stress_error("source %08x does not start a post", x);
			return;
		}
		if ((int64_t) post <= s->last_post[p])
			stress_error("producer %u: post %u after post %lld", p, post,
						 (long long) s->last_post[p]);
		s->last_post[p] = post;
		if (s->delivered[p][post] != 0)
			stress_error("producer %u: post %u delivered twice", p, post);
		s->delivered[p][post]++;
		s->cur_p = p;
		s->cur_s = post;
		s->cur_n = n;
		s->cur_k = 0;
	}
	else if (p != s->cur_p || post != s->cur_s || n != s->cur_n || k != s->cur_k)
		stress_error("source %08x in post %u of producer %u (position %u of %u)",
					 x, s->cur_s, s->cur_p, s->cur_k, s->cur_n);
	s->cur_k++;
}

static void *
wake_consumer(void *arg)
{
	WakeStress *s = arg;

	start_together();
	for (;;)
	{
		bool		done = uatomic_read(&s->producers_done) == WAKE_PRODUCERS;
		bool		overflow;
		bool		retry;
		uint32_t	gen;
		uint32_t	n;

		gen = uatomic_add_return(&s->drain_gen, 1);
		n = trickle_wakeq_drain(&s->q, wake_source, s, &overflow, &retry);
		s->drains++;
		s->consumed += n;
		if (s->cur_k != s->cur_n)
			stress_error("a drain ended inside a post");
		if (overflow)
		{
			if (s->noverflow_gens == s->overflow_gens_size)
			{
				s->overflow_gens_size = s->overflow_gens_size * 2 + 1024;
				s->overflow_gens = realloc(s->overflow_gens,
										   s->overflow_gens_size * sizeof(uint32_t));
				if (s->overflow_gens == NULL)
					abort();
			}
			s->overflow_gens[s->noverflow_gens++] = gen;
		}
		if (retry)
			s->retries++;
		else if (done)
			break;				/* every post finished before this drain */
		if (n == 0 && !overflow)
			sched_yield();
	}
	return NULL;
}

/* is there a drain that reported overflow with a number in [lo, hi]? */
static bool
overflow_seen(const WakeStress *s, uint32_t lo, uint32_t hi)
{
	uint32_t	a = 0;
	uint32_t	b = s->noverflow_gens;

	while (a < b)
	{
		uint32_t	m = a + (b - a) / 2;

		if (s->overflow_gens[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	return a < s->noverflow_gens && s->overflow_gens[a] <= hi;
}

static void
test_wakeq_stress(void **state)
{
	WakeStress *s = calloc(1, sizeof(WakeStress));
	WakeThread	t[WAKE_PRODUCERS];
	pthread_t	consumer;
	uint64_t	queued = 0;
	uint64_t	refused = 0;
	uint64_t	delivered = 0;
	double		start;
	bool		overflow;
	bool		retry;
	uint32_t	p;
	uint32_t	post;

	(void) state;
	assert_non_null(s);
	s->posts = stress_scale(400000);
	assert_true(s->posts <= 0x7FFFFF);
	trickle_wakeq_init(&s->q);
	for (p = 0; p < WAKE_PRODUCERS; p++)
	{
		trickle_wakenode_init(&s->nodes[p]);
		s->result[p] = calloc(s->posts, 1);
		s->gen_before[p] = calloc(s->posts, sizeof(uint32_t));
		s->gen_after[p] = calloc(s->posts, sizeof(uint32_t));
		s->delivered[p] = calloc(s->posts, 1);
		assert_true(s->result[p] && s->gen_before[p] && s->gen_after[p] &&
					s->delivered[p]);
		s->last_post[p] = -1;
		t[p].s = s;
		t[p].id = p;
	}
	stress_errors = 0;
	assert_int_equal(pthread_barrier_init(&start_line, NULL, WAKE_PRODUCERS + 1), 0);

	start = now_seconds();
	assert_int_equal(pthread_create(&consumer, NULL, wake_consumer, s), 0);
	run_threads(WAKE_PRODUCERS, wake_producer, t, sizeof(WakeThread));
	assert_int_equal(pthread_join(consumer, NULL), 0);
	assert_int_equal(pthread_barrier_destroy(&start_line), 0);

	assert_int_equal(stress_errors, 0);
	for (p = 0; p < WAKE_PRODUCERS; p++)
	{
		assert_int_equal(s->nodes[p].queued, 0);
		for (post = 0; post < s->posts; post++)
		{
			switch (s->result[p][post])
			{
				case POST_NOTHING:
					assert_int_equal(s->delivered[p][post], 0);
					break;
				case POST_QUEUED:
					if (s->delivered[p][post] != 1)
						fail_msg("producer %u: post %u delivered %u times",
								 p, post, s->delivered[p][post]);
					queued++;
					break;
				case POST_REFUSED:
					assert_int_equal(s->delivered[p][post], 0);

					/*
					 * Drains up to gen_before - 1 were over before the post;
					 * drain gen_after + 1 started after it returned.  The
					 * first exchange of the flag after it was set is in
					 * between, and must have reported it.
					 */
					if (!overflow_seen(s, s->gen_before[p][post],
									   s->gen_after[p][post] + 1))
						fail_msg("producer %u: refused post %u (drains %u..%u) "
								 "never reported as overflow", p, post,
								 s->gen_before[p][post], s->gen_after[p][post] + 1);
					refused++;
					break;
			}
			delivered += s->delivered[p][post];
		}
	}
	assert_int_equal(delivered, queued);
	assert_int_equal(s->consumed, queued);
	assert_true(queued > 0);
	assert_true(refused > 0);

	/* nothing left behind */
	assert_int_equal(trickle_wakeq_drain(&s->q, wake_source, s, &overflow, &retry), 0);
	assert_false(overflow);
	assert_false(retry);

	printf("[ INFO     ] wake queue: %u posts by %d producers, 1 consumer, "
		   "%.2f s (%llu delivered, %llu refused, %llu drains, %u reported "
		   "overflow, %llu retried)\n",
		   s->posts * WAKE_PRODUCERS, WAKE_PRODUCERS, now_seconds() - start,
		   (unsigned long long) delivered, (unsigned long long) refused,
		   (unsigned long long) s->drains, s->noverflow_gens,
		   (unsigned long long) s->retries);

	for (p = 0; p < WAKE_PRODUCERS; p++)
	{
		free(s->result[p]);
		free(s->gen_before[p]);
		free(s->gen_after[p]);
		free(s->delivered[p]);
	}
	free(s->overflow_gens);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_basic),
		cmocka_unit_test(test_ring_full),
		cmocka_unit_test(test_ring_oldest_first),
		cmocka_unit_test(test_ring_accept),
		cmocka_unit_test(test_ring_cancel),
		cmocka_unit_test(test_ring_seq_wrap),
		cmocka_unit_test(test_ring_seq_future),
		cmocka_unit_test(test_claim_words),
		cmocka_unit_test(test_wakeq_basic),
		cmocka_unit_test(test_wakeq_drain_bounds),
		cmocka_unit_test(test_wakeq_half_enqueue),
		cmocka_unit_test(test_ring_stress),
		cmocka_unit_test(test_ring_stress_tiny),
		cmocka_unit_test(test_ring_stress_filtered),
		cmocka_unit_test(test_claim_stress),
		cmocka_unit_test(test_wakeq_stress),
	};

	/* keep our progress lines whole next to cmocka's stderr lines */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
