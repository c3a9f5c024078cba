/*-------------------------------------------------------------------------
 *
 * ring.h
 *	  The dispatch ring, per-stream-table claim words and the wake-up queue:
 *	  the lock-free protocols shared by the scheduler, refresh workers and
 *	  committing backends.
 *
 * This is a pure core: it includes no PostgreSQL header and allocates no
 * memory.  The structures live wherever the caller puts them (the main
 * shared memory segment in the server, a heap array in the tests), and the
 * atomics are liburcu's uatomic operations.  Nothing here sleeps, takes a
 * lock or starts a thread.  See src/shmem/README.md for the state machines.
 *
 * src/shmem/ring.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_RING_H
#define TRICKLE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu/wfcqueue.h>

/* ---------------------------------------------------------------------
 * Dispatch ring
 *
 * A fixed array of slots.  Each slot has one 64-bit state word that changes
 * only by compare-and-swap:
 *
 *	bits 62-63	state: FREE, READY or CLAIMED
 *	bits 32-61	sequence number (30 bits, wraps) given at push
 *	bits 0-31	job (an opaque 32-bit value chosen by the caller)
 *
 * FREE -> READY (push), READY -> CLAIMED (claim), CLAIMED -> FREE (release).
 * Publishing state and job in one CAS means a consumer that wins READY ->
 * CLAIMED owns exactly the job that was pushed, with no half-written slot.
 * The sequence number orders jobs: claim takes the oldest acceptable READY
 * slot, so a job nobody could take yet keeps its place.
 * --------------------------------------------------------------------- */

typedef enum TrickleSlotState
{
	TRICKLE_SLOT_FREE = 0,
	TRICKLE_SLOT_READY = 1,
	TRICKLE_SLOT_CLAIMED = 2
} TrickleSlotState;

typedef struct TrickleRingSlot
{
	uint64_t	word;			/* state | seq | job; CAS only */
	/* informational, written by whoever won the slot; read racily by views */
	int64_t		enqueued_at;
	int32_t		claimed_by;
	uint32_t	pad;
} TrickleRingSlot;

typedef struct TrickleRing
{
	uint32_t	nslots;
	uint32_t	next_seq;		/* uatomic_add_return; also the push hint */
	TrickleRingSlot slots[];	/* nslots of them */
} TrickleRing;

/* bytes needed for a ring of nslots slots */
extern size_t trickle_ring_size(uint32_t nslots);
extern void trickle_ring_init(TrickleRing *ring, uint32_t nslots);

/*
 * Push job into a FREE slot; returns the slot index, or -1 when every slot
 * is taken.  enqueued_at is stored in the slot after the CAS won.
 */
extern int	trickle_ring_push(TrickleRing *ring, uint32_t job, int64_t enqueued_at);

/*
 * Claim the oldest READY slot whose job accept(job, arg) returns true for
 * (accept may be NULL: any job).  On success stores the job in *job, writes
 * claimed_by and returns the slot index; returns -1 when no acceptable READY
 * slot was won.  accept must not have side effects: it may be called for a
 * slot that another consumer then wins.
 */
extern int	trickle_ring_claim(TrickleRing *ring,
							   bool (*accept) (uint32_t job, void *arg), void *arg,
							   int32_t claimed_by, uint32_t *job);

/* CLAIMED -> FREE; false (and no change) if the slot was not CLAIMED */
extern bool trickle_ring_release(TrickleRing *ring, int slot);

/*
 * Remove a READY job without running it (a dropped stream table, a stopped
 * database): READY -> CLAIMED -> FREE by the caller.  Returns true if this
 * call removed it.
 */
extern bool trickle_ring_cancel(TrickleRing *ring, int slot, uint32_t job);

/* Racy read of one slot for views: state, job and the informational fields */
extern TrickleSlotState trickle_ring_peek(const TrickleRing *ring, int slot,
										  uint32_t *job, int64_t *enqueued_at,
										  int32_t *claimed_by);

/* ---------------------------------------------------------------------
 * Claim words
 *
 * One uint32 per stream table: 0 when nobody refreshes it, otherwise the
 * owner's id (nonzero, e.g. a pid).  Won by CAS 0 -> owner, released by CAS
 * owner -> 0; an owner found dead is recovered by CAS dead -> 0.
 * --------------------------------------------------------------------- */

#define TRICKLE_CLAIM_NONE 0

extern bool trickle_claim_try(uint32_t *word, uint32_t owner);
extern bool trickle_claim_release(uint32_t *word, uint32_t owner);
extern bool trickle_claim_recover(uint32_t *word, uint32_t dead_owner);
extern uint32_t trickle_claim_owner(const uint32_t *word);

/* ---------------------------------------------------------------------
 * Wake-up queue
 *
 * Committing backends tell their database's scheduler which sources they
 * wrote.  Many producers, one consumer per queue: liburcu's wait-free
 * concurrent queue in its __cds_wfcq_* form (no mutex; the single consumer
 * is the caller's guarantee).  Each producer owns one node (in the server:
 * one per PGPROC) and posts it only when the node is not already queued; a
 * producer whose node is still queued, or who has more sources than a node
 * holds, sets the queue's overflow flag instead, which the consumer reads as
 * "every source may be dirty".  Nothing is ever lost: at worst the
 * scheduler checks more than it needed to.
 * --------------------------------------------------------------------- */

#define TRICKLE_WAKE_SOURCES 8

typedef struct TrickleWakeNode
{
	struct cds_wfcq_node node;
	uint32_t	queued;			/* 1 from post until the consumer is done */
	uint32_t	nsources;
	uint32_t	sources[TRICKLE_WAKE_SOURCES];
} TrickleWakeNode;

typedef struct TrickleWakeQueue
{
	struct __cds_wfcq_head head;
	struct cds_wfcq_tail tail;
	uint32_t	overflow;
} TrickleWakeQueue;

extern void trickle_wakeq_init(TrickleWakeQueue *q);
extern void trickle_wakenode_init(TrickleWakeNode *node);

/*
 * Producer: post sources[0..n) through the caller's own node.  Returns true
 * when the node was enqueued, false when the overflow flag was set instead
 * (node still queued, or n > TRICKLE_WAKE_SOURCES).  n == 0 posts nothing
 * and returns true.
 */
extern bool trickle_wakeq_post(TrickleWakeQueue *q, TrickleWakeNode *node,
							   const uint32_t *sources, uint32_t n);

/*
 * Consumer (one at a time per queue): call fn(source, arg) for every source
 * of every node that can be dequeued now, hand each node back to its owner
 * (queued = 0) after reading it, clear and return the overflow flag in
 * *overflow.  Returns the number of nodes consumed.  Never waits: if an
 * enqueue is half done, *retry is set and the caller should drain again soon.
 */
extern uint32_t trickle_wakeq_drain(TrickleWakeQueue *q,
									void (*fn) (uint32_t source, void *arg), void *arg,
									bool *overflow, bool *retry);

#endif							/* TRICKLE_RING_H */
