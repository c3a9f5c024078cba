/*
 * ring.pml
 *	  Spin model of the dispatch ring's claim protocol and the per-stream-
 *	  table claim words (src/shmem/ring.c).
 *
 * NPROD producers push JOBS jobs each into a ring of NSLOTS slots; NCONS
 * consumers claim jobs, win the claim word of the job's stream table
 * (job % NST), "refresh" it, release the word and then the slot.  One
 * consumer may die (at most MAXDEAD in all) after winning a slot, or after
 * winning a slot and a claim word; the recoverer then frees what it held,
 * as the server does for a worker found dead.
 *
 * Each slot word is modelled by state[] and job[], read together and
 * changed together, like the 64-bit word in C.  A job number is unique, so
 * it stands for the job and the sequence number of its push.  Choices the
 * C code makes from racy reads (where a push starts its scan, which READY
 * slot is the oldest) are free nondeterministic choices here, which covers
 * every order those reads could produce.  The accept filter only narrows a
 * consumer's choice and is left out.
 *
 * Checked (safety run: spin -a ring.pml; gcc -DSAFETY -o pan pan.c; ./pan;
 * make spin runs two configurations through test/spin/run.sh):
 *	- no job is claimed twice (assertion at the claim);
 *	- no two live consumers refresh one stream table at once (assertion
 *	  inside the refresh);
 *	- releases and recoveries find what they expect (assertions);
 *	- none is lost: at the end every job was claimed exactly once, every
 *	  slot is FREE and every claim word 0; a lost job would leave consumers
 *	  waiting for ever, which pan reports as an invalid end state.
 *
 * Deliberately broken variants, which pan must reject (make spin-broken
 * checks all three; src/shmem/README.md shows what pan reports):
 *	spin -DBROKEN -a ring.pml		slot claim is a read, then a write
 *	spin -DBROKEN_WORD -a ring.pml	claim word is a read, then a write
 *	spin -DBROKEN_PUSH -a ring.pml	push is a read, then a write
 *
 * A consumer that finds the claim word taken waits for it here.  What the
 * server's worker does instead (if it gives the job up to be pushed again
 * later) is not modelled; waiting is the simplest way to put two consumers
 * holding jobs of one stream table in contention for its word.
 *
 * test/spin/ring.pml
 */

#ifndef NPROD
#define NPROD	2
#endif
#ifndef JOBS
#define JOBS	2			/* per producer */
#endif
#ifndef NCONS
#define NCONS	2
#endif
#ifndef NSLOTS
#define NSLOTS	2
#endif
#ifndef NST
#define NST		2
#endif
#ifndef MAXDEAD
#define MAXDEAD	1
#endif

#define NJOBS	(NPROD * JOBS)
#define NONE	255

#define FREE	0
#define READY	1
#define CLAIMED	2

/* the ring: one word per slot */
byte	state[NSLOTS];
byte	job[NSLOTS];

/* claim words: 0, or the owning consumer's id + 1 */
byte	word[NST];

/* ghost variables: bookkeeping for the checks, changed with the CAS */
byte	nfree = NSLOTS;			/* FREE slots */
byte	nready = 0;				/* READY slots */
byte	nclaimed = 0;			/* claims so far */
byte	claims[NJOBS];			/* claims per job */
byte	inside[NST];			/* live consumers refreshing each table */
byte	ndead = 0;
byte	dead_slot[NCONS];		/* what a dead consumer held */
byte	dead_st[NCONS];
byte	nrecovered = 0;
byte	nexited = 0;			/* producers and consumers that ended */

/* one read of a slot word */
inline read_word(i, ws, wj)
{
	atomic { ws = state[i]; wj = job[i] }
}

proctype producer(byte p)
{
	byte	n = 0;
	byte	i;
	byte	ws;
	byte	wj;

	do
	:: n == JOBS -> break
	:: else ->
		/* a push that found no FREE slot is retried when one is FREE */
		(nfree > 0);
		/*
		 * The scan reads slots one by one from a start the sequence number
		 * picks; what matters is that the slot it tries was read at some
		 * earlier moment.  Any slot, read once, then the CAS.
		 */
		select(i : 0 .. NSLOTS - 1);
		read_word(i, ws, wj);
		if
		:: ws == FREE ->
#ifdef BROKEN_PUSH
			/* BROKEN: the slot may be taken between the read and the write */
			d_step {
				state[i] = READY; job[i] = p * JOBS + n;
				nfree--; nready++; n++
			}
#else
			d_step {
				if
				:: state[i] == ws && job[i] == wj ->
					state[i] = READY; job[i] = p * JOBS + n;
					nfree--; nready++; n++
				:: else -> skip
				fi
			}
#endif
		:: else -> skip
		fi;
		d_step { i = 0; ws = 0; wj = 0 }
	od;
	nexited++
}

proctype consumer(byte c)
{
	byte	i;
	byte	ws;
	byte	wj;
	byte	st;

	do
	:: nclaimed == NJOBS -> break
	:: nready > 0 ->
		/*
		 * claim's scan picks the oldest slot it saw READY: any slot, whose
		 * word was read at some moment before the CAS.
		 */
		select(i : 0 .. NSLOTS - 1);
		read_word(i, ws, wj);
		if
		:: ws != READY -> goto next		/* not a candidate: scan again */
		:: else -> skip
		fi;

		/* READY -> CLAIMED */
#ifdef BROKEN
		/* BROKEN: a second read, then a write in a separate step */
		if
		:: state[i] == READY && job[i] == wj ->
			d_step {
				state[i] = CLAIMED; nready--;
				claims[wj]++; nclaimed++
			}
		:: else -> goto next
		fi;
#else
		d_step {
			if
			:: state[i] == READY && job[i] == wj ->
				state[i] = CLAIMED; nready--;
				claims[wj]++; nclaimed++; ws = CLAIMED
			:: else -> skip
			fi
		};
		if
		:: ws != CLAIMED -> goto next	/* lost the CAS: scan again */
		:: else -> skip
		fi;
#endif
		assert(claims[wj] == 1);
		st = wj % NST;

		/* may die holding the slot */
		if
		:: d_step { ndead < MAXDEAD ->
			ndead++; dead_slot[c] = i; dead_st[c] = NONE;
			nexited++ };
			goto gone
		:: true -> skip
		fi;

		/* win the stream table's claim word: CAS 0 -> c + 1, retried */
#ifdef BROKEN_WORD
		(word[st] == 0);
		word[st] = c + 1;
#else
		atomic { word[st] == 0 -> word[st] = c + 1 };
#endif

		/* refresh */
		inside[st]++;
		assert(inside[st] == 1);

		/* may die refreshing: its transaction is gone, its word is not */
		if
		:: d_step { ndead < MAXDEAD ->
			inside[st]--;
			ndead++; dead_slot[c] = i; dead_st[c] = st;
			nexited++ };
			goto gone
		:: true -> skip
		fi;

		inside[st]--;

		/* release the claim word (CAS c + 1 -> 0), then the slot */
		d_step { assert(word[st] == c + 1); word[st] = 0 };
		d_step { assert(state[i] == CLAIMED && job[i] == wj);
			state[i] = FREE; nfree++ };
next:
		skip;
		d_step { i = 0; ws = 0; wj = 0; st = 0 }
	od;
	nexited++;
gone:
	skip
}

/* frees what a dead consumer held; waits idle if nobody dies */
proctype recoverer()
{
	byte	c;

end:
	do
	:: atomic { ndead > nrecovered ->
		c = 0;
		do
		:: c < NCONS && dead_slot[c] == NONE -> c++
		:: else -> break
		od };
		assert(c < NCONS);
		/* recover the claim word: CAS dead owner -> 0 */
		if
		:: dead_st[c] != NONE ->
			atomic { assert(word[dead_st[c]] == c + 1); word[dead_st[c]] = 0 }
		:: else -> skip
		fi;
		/* and release the dead consumer's slot */
		atomic { assert(state[dead_slot[c]] == CLAIMED);
			state[dead_slot[c]] = FREE; nfree++ };
		d_step { dead_slot[c] = NONE; c = 0; nrecovered++ }
	od
}

init
{
	byte	i;

	atomic {
		i = 0;
		do
		:: i < NSLOTS -> state[i] = FREE; job[i] = NONE; i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NCONS -> dead_slot[i] = NONE; i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NPROD -> run producer(i); i++
		:: else -> break
		od;
		i = 0;
		do
		:: i < NCONS -> run consumer(i); i++
		:: else -> break
		od;
		run recoverer()
	};

	/* everyone done and every death recovered */
	(nexited == NPROD + NCONS && nrecovered == ndead);

	/* none lost, none twice */
	assert(nclaimed == NJOBS);
	i = 0;
	do
	:: i < NJOBS -> assert(claims[i] == 1); i++
	:: else -> break
	od;
	i = 0;
	do
	:: i < NSLOTS -> assert(state[i] == FREE); i++
	:: else -> break
	od;
	i = 0;
	do
	:: i < NST -> assert(word[i] == 0 && inside[i] == 0); i++
	:: else -> break
	od
}
