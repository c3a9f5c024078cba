/*-------------------------------------------------------------------------
 *
 * ring.c
 *	  The dispatch ring, per-stream-table claim words and the wake-up queue.
 *
 * This module owns three lock-free protocols that processes sharing one
 * memory segment use to hand work to each other (see ring.h for the API and
 * src/shmem/README.md for the state machines):
 *
 * Dispatch ring.  Every slot has one 64-bit word, state | seq | job, and
 * every change of state is a compare-and-swap on that whole word.  Whoever
 * wins a CAS owns the transition: a producer that wins FREE -> READY has
 * published its job, a consumer that wins READY -> CLAIMED owns exactly that
 * job, and only the owner of a CLAIMED slot moves it back to FREE.  Because
 * the sequence number is part of the word, a consumer that decided on a slot
 * from a stale read cannot win it after the slot went round the cycle again
 * (the ABA case): the new push carries a different sequence number.
 *
 * Claim words.  One uint32 per stream table, 0 or its owner's id, changed
 * only by CAS.
 *
 * Wake-up queue.  liburcu's wait-free concurrent queue (__cds_wfcq_*, the
 * variant without a mutex) with one node per producer.  The node's queued
 * word says who owns the node: its producer while it is 0 (or while the
 * producer has just won 0 -> 1 and fills it), the queue and then the single
 * consumer until the consumer stores 0 again.
 *
 * Memory ordering: uatomic_cmpxchg, uatomic_xchg and uatomic_add_return are
 * full barriers in liburcu, so everything written before a winning CAS is
 * visible to whoever observes its result, and the wait-free enqueue issues a
 * full barrier before it publishes a node.  The only explicit barrier is the
 * consumer's before it hands a node back (its reads of the node must not be
 * reordered after the store that lets the producer rewrite it).
 *
 * Concurrency: any number of producers and consumers on a ring and on a
 * claim word; any number of producers but one consumer at a time on a
 * wake-up queue (the caller's guarantee).  Nothing here blocks, sleeps or
 * takes a lock: push, release, cancel and the claim word operations finish
 * in a bounded number of steps, and claim retries only when another process
 * made progress (it lost a CAS to another consumer).
 * Memory: nothing is allocated; the caller places every structure.  Queue
 * nodes hold absolute pointers, so in the server they must live at the same
 * address in every process (the main shared memory segment).
 *
 * This file must not define _LGPL_SOURCE: the queue functions come from the
 * shared library liburcu-common instead of being inlined from LGPL headers.
 *
 * src/shmem/ring.c
 *
 *-------------------------------------------------------------------------
 */
#include "ring.h"

#include <urcu/compiler.h>
#include <urcu/uatomic.h>

/* Layout of a slot word */
#define WORD_STATE_SHIFT	62
#define WORD_SEQ_SHIFT		32
#define WORD_STATE_MASK		(UINT64_C(3) << WORD_STATE_SHIFT)
#define SEQ_MASK			((UINT32_C(1) << 30) - 1)
#define SEQ_HALF			(UINT32_C(1) << 29)

#define WORD_STATE(w)	((TrickleSlotState) ((w) >> WORD_STATE_SHIFT))
#define WORD_SEQ(w)		((uint32_t) ((w) >> WORD_SEQ_SHIFT) & SEQ_MASK)
#define WORD_JOB(w)		((uint32_t) (w))

static inline uint64_t
make_word(TrickleSlotState state, uint32_t seq, uint32_t job)
{
	return ((uint64_t) state << WORD_STATE_SHIFT) |
		((uint64_t) (seq & SEQ_MASK) << WORD_SEQ_SHIFT) |
		(uint64_t) job;
}

/* the same word in another state */
static inline uint64_t
with_state(uint64_t word, TrickleSlotState state)
{
	return (word & ~WORD_STATE_MASK) | ((uint64_t) state << WORD_STATE_SHIFT);
}

/*
 * seq_age - how many pushes took a sequence number after seq, as seen from
 * now (a value of next_seq), modulo 2^30.
 *
 * A push that took its number after the caller read now looks almost 2^30
 * pushes old; any age of 2^29 or more is therefore read as "newer than now"
 * and ranks below everything else (age 0).  The price: a job left READY
 * while 2^29 other jobs went through the ring loses its place in the order
 * (it can still be claimed; only the order is wrong).
 */
static inline uint32_t
seq_age(uint32_t seq, uint32_t now)
{
	uint32_t	age = (now - seq) & SEQ_MASK;

	return age < SEQ_HALF ? age : 0;
}

/* ---------------------------------------------------------------------
 * Dispatch ring
 * --------------------------------------------------------------------- */

size_t
trickle_ring_size(uint32_t nslots)
{
	return offsetof(TrickleRing, slots) + (size_t) nslots * sizeof(TrickleRingSlot);
}

/*
 * trickle_ring_init - an empty ring; the caller must make sure nobody uses
 * the memory yet.
 */
void
trickle_ring_init(TrickleRing *ring, uint32_t nslots)
{
	uint32_t	i;

	ring->nslots = nslots;
	ring->next_seq = 0;
	for (i = 0; i < nslots; i++)
	{
		ring->slots[i].word = make_word(TRICKLE_SLOT_FREE, 0, 0);
		ring->slots[i].enqueued_at = 0;
		ring->slots[i].claimed_by = 0;
		ring->slots[i].pad = 0;
	}
	cmm_smp_mb();
}

/*
 * trickle_ring_push - publish job in a FREE slot.
 *
 * The sequence number taken here also picks the slot where the scan starts,
 * so concurrent producers start at different slots instead of all fighting
 * over the first free one.  A CAS lost to another producer just moves on:
 * -1 therefore means every slot was seen taken during the scan, not that
 * the ring was full at one instant; the caller tries again later.  The
 * number of a failed push is simply never used.
 */
int
trickle_ring_push(TrickleRing *ring, uint32_t job, int64_t enqueued_at)
{
	uint32_t	nslots = ring->nslots;
	uint32_t	seq;
	uint32_t	idx;
	uint32_t	i;

	if (nslots == 0)
		return -1;

	seq = (uatomic_add_return(&ring->next_seq, 1) - 1) & SEQ_MASK;
	idx = seq % nslots;
	for (i = 0; i < nslots; i++)
	{
		TrickleRingSlot *slot = &ring->slots[idx];
		uint64_t	old = uatomic_read(&slot->word);

		if (WORD_STATE(old) == TRICKLE_SLOT_FREE &&
			uatomic_cmpxchg(&slot->word, old,
							make_word(TRICKLE_SLOT_READY, seq, job)) == old)
		{
			uatomic_set(&slot->enqueued_at, enqueued_at);
			return (int) idx;
		}
		if (++idx == nslots)
			idx = 0;
	}
	return -1;
}

/*
 * trickle_ring_claim - win the oldest READY slot that accept takes.
 *
 * One scan reads every slot once and remembers the oldest candidate's whole
 * word; the CAS then succeeds only if that slot still holds exactly that
 * word.  If it does not, another consumer claimed (or cancelled) it, which
 * is progress for the system, and we scan again: a job that appeared in the
 * meantime may now be the oldest.
 */
int
trickle_ring_claim(TrickleRing *ring,
				   bool (*accept) (uint32_t job, void *arg), void *arg,
				   int32_t claimed_by, uint32_t *job)
{
	uint32_t	nslots = ring->nslots;

	for (;;)
	{
		uint32_t	now = uatomic_read(&ring->next_seq);
		int			best = -1;
		uint64_t	best_word = 0;
		uint32_t	best_age = 0;
		uint32_t	i;

		for (i = 0; i < nslots; i++)
		{
			uint64_t	w = uatomic_read(&ring->slots[i].word);
			uint32_t	age;

			if (WORD_STATE(w) != TRICKLE_SLOT_READY)
				continue;
			age = seq_age(WORD_SEQ(w), now);
			if (best >= 0 && age <= best_age)
				continue;
			if (accept != NULL && !accept(WORD_JOB(w), arg))
				continue;
			best = (int) i;
			best_word = w;
			best_age = age;
		}
		if (best < 0)
			return -1;

		if (uatomic_cmpxchg(&ring->slots[best].word, best_word,
							with_state(best_word, TRICKLE_SLOT_CLAIMED)) == best_word)
		{
			uatomic_set(&ring->slots[best].claimed_by, claimed_by);
			*job = WORD_JOB(best_word);
			return best;
		}
	}
}

/*
 * trickle_ring_release - hand a CLAIMED slot back; only its owner may call
 * this.  Nobody else changes a CLAIMED word, so one CAS decides.
 */
bool
trickle_ring_release(TrickleRing *ring, int slot)
{
	uint64_t	old;

	if (slot < 0 || (uint32_t) slot >= ring->nslots)
		return false;
	old = uatomic_read(&ring->slots[slot].word);
	if (WORD_STATE(old) != TRICKLE_SLOT_CLAIMED)
		return false;
	return uatomic_cmpxchg(&ring->slots[slot].word, old,
						   with_state(old, TRICKLE_SLOT_FREE)) == old;
}

/*
 * trickle_ring_cancel - take job out of slot without running it.
 *
 * Cancelling is claiming: the same READY -> CLAIMED CAS a consumer uses, so
 * a job is either run by one consumer or cancelled, never both.  Then the
 * slot is released like any claimed slot.
 */
bool
trickle_ring_cancel(TrickleRing *ring, int slot, uint32_t job)
{
	uint64_t	old;

	if (slot < 0 || (uint32_t) slot >= ring->nslots)
		return false;
	old = uatomic_read(&ring->slots[slot].word);
	if (WORD_STATE(old) != TRICKLE_SLOT_READY || WORD_JOB(old) != job)
		return false;
	if (uatomic_cmpxchg(&ring->slots[slot].word, old,
						with_state(old, TRICKLE_SLOT_CLAIMED)) != old)
		return false;
	return trickle_ring_release(ring, slot);
}

/*
 * trickle_ring_peek - one slot for a view.  Only the state and job come from
 * one atomic read; the informational fields may belong to a neighbouring
 * use of the slot.
 */
TrickleSlotState
trickle_ring_peek(const TrickleRing *ring, int slot, uint32_t *job,
				  int64_t *enqueued_at, int32_t *claimed_by)
{
	uint64_t	w = 0;
	int64_t		at = 0;
	int32_t		by = 0;

	if (slot >= 0 && (uint32_t) slot < ring->nslots)
	{
		w = uatomic_read(&ring->slots[slot].word);
		at = uatomic_read(&ring->slots[slot].enqueued_at);
		by = uatomic_read(&ring->slots[slot].claimed_by);
	}
	if (job)
		*job = WORD_JOB(w);
	if (enqueued_at)
		*enqueued_at = at;
	if (claimed_by)
		*claimed_by = by;
	return WORD_STATE(w);
}

/* ---------------------------------------------------------------------
 * Claim words
 *
 * Owner ids are nonzero: 0 means "nobody", so an owner of 0 would "win" a
 * free word without changing it.  Every function refuses it.
 * --------------------------------------------------------------------- */

bool
trickle_claim_try(uint32_t *word, uint32_t owner)
{
	if (owner == TRICKLE_CLAIM_NONE)
		return false;
	return uatomic_cmpxchg(word, TRICKLE_CLAIM_NONE, owner) == TRICKLE_CLAIM_NONE;
}

bool
trickle_claim_release(uint32_t *word, uint32_t owner)
{
	if (owner == TRICKLE_CLAIM_NONE)
		return false;
	return uatomic_cmpxchg(word, owner, TRICKLE_CLAIM_NONE) == owner;
}

/*
 * trickle_claim_recover - free a word whose owner is known to be dead.  The
 * caller must be sure of that: a live owner would go on refreshing while
 * someone else wins the word.  The CAS only makes sure that a word that has
 * meanwhile been released and won by someone else is left alone.
 */
bool
trickle_claim_recover(uint32_t *word, uint32_t dead_owner)
{
	if (dead_owner == TRICKLE_CLAIM_NONE)
		return false;
	return uatomic_cmpxchg(word, dead_owner, TRICKLE_CLAIM_NONE) == dead_owner;
}

uint32_t
trickle_claim_owner(const uint32_t *word)
{
	return uatomic_read(word);
}

/* ---------------------------------------------------------------------
 * Wake-up queue
 * --------------------------------------------------------------------- */

void
trickle_wakeq_init(TrickleWakeQueue *q)
{
	__cds_wfcq_init(&q->head, &q->tail);
	q->overflow = 0;
	cmm_smp_mb();
}

void
trickle_wakenode_init(TrickleWakeNode *node)
{
	cds_wfcq_node_init(&node->node);
	node->queued = 0;
	node->nsources = 0;
	cmm_smp_mb();
}

/* set_overflow - "every source may be dirty"; a full barrier, see post */
static void
set_overflow(TrickleWakeQueue *q)
{
	(void) uatomic_xchg(&q->overflow, 1);
}

/*
 * trickle_wakeq_post - producer side; only the node's owner calls it.
 *
 * Winning queued 0 -> 1 makes the node ours to fill; nobody else writes it
 * until the consumer has read it and stored 0.  The enqueue publishes the
 * sources (it is a full barrier before the node becomes reachable).  When
 * the node cannot be used, the overflow flag is set with a full barrier
 * before we return, so a wake-up the caller sends afterwards (a latch) finds
 * the flag already visible.
 */
bool
trickle_wakeq_post(TrickleWakeQueue *q, TrickleWakeNode *node,
				   const uint32_t *sources, uint32_t n)
{
	uint32_t	i;

	if (n == 0)
		return true;
	if (n > TRICKLE_WAKE_SOURCES ||
		uatomic_cmpxchg(&node->queued, 0, 1) != 0)
	{
		set_overflow(q);
		return false;
	}

	for (i = 0; i < n; i++)
		node->sources[i] = sources[i];
	node->nsources = n;
	/* the node's last trip through the queue may have left next set */
	cds_wfcq_node_init(&node->node);
	cds_wfcq_enqueue(&q->head, &q->tail, &node->node);
	return true;
}

/*
 * trickle_wakeq_drain - consumer side; one caller at a time per queue.
 *
 * Only the nodes that were in the queue when we started are taken: the last
 * of them is the node the tail pointed to.  Without that bound, producers
 * that re-post as soon as their node is handed back could keep one drain
 * going for ever.  A node enqueued later waits for the next drain, and its
 * producer's wake-up (sent after the post) calls for that drain.
 *
 * A dequeued node is ours until we store queued = 0; the barrier before that
 * store keeps our reads of its sources from moving after it.  liburcu no
 * longer touches a node once it is dequeued, so the producer may rewrite
 * and re-enqueue it at once.
 *
 * The overflow flag is cleared with an exchange (a plain read then store
 * would lose a flag set in between), after the nodes, so it also covers
 * producers that found their node still queued while we drained.
 */
uint32_t
trickle_wakeq_drain(TrickleWakeQueue *q,
					void (*fn) (uint32_t source, void *arg), void *arg,
					bool *overflow, bool *retry)
{
	struct cds_wfcq_node *last = uatomic_read(&q->tail.p);
	uint32_t	consumed = 0;

	*retry = false;
	while (last != &q->head.node)
	{
		struct cds_wfcq_node *qnode;
		TrickleWakeNode *node;
		uint32_t	n;
		uint32_t	i;

		qnode = __cds_wfcq_dequeue_nonblocking(&q->head, &q->tail);
		if (qnode == NULL)
			break;
		if (qnode == CDS_WFCQ_WOULDBLOCK)
		{
			/* a producer is between its two enqueue steps; it will finish */
			*retry = true;
			break;
		}

		node = caa_container_of(qnode, TrickleWakeNode, node);
		n = node->nsources;
		if (n > TRICKLE_WAKE_SOURCES)
			n = TRICKLE_WAKE_SOURCES;	/* cannot happen; stay in bounds */
		for (i = 0; i < n; i++)
			fn(node->sources[i], arg);

		cmm_smp_mb();
		uatomic_set(&node->queued, 0);
		consumed++;

		if (qnode == last)
			break;
	}

	*overflow = uatomic_xchg(&q->overflow, 0) != 0;
	return consumed;
}
