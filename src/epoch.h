/* epoch.h - safe reclamation of published continuums (internal).
 *
 * Readers:  token = hr_epoch_enter(e); load the current pointer (seq_cst);
 *           use it; hr_epoch_exit(e, token).
 * Writers:  (serialized per ring) store the new current pointer (seq_cst),
 *           then hr_epoch_synchronize(e); after it returns no reader can
 *           still be using the pointer that was replaced.
 *
 * Every thread that reads owns a slot (a cache line, taken on its first
 * lookup, given back when the thread exits).  A reader stores into its
 * slot the grace period it read from a global counter, then loads the
 * pointer; on leaving it stores 0.  A writer, after publishing, advances
 * the counter from g to g + 1 and waits for every slot holding a period
 * <= g to change: a reader that stored a period > g read the counter after
 * the advance, so after the publication, and loaded the new pointer.  All
 * of it is sequentially consistent: the reader's store and load, and the
 * writer's store, advance and loads, form one order, so a reader that
 * loaded the old pointer had stored its period before the writer looked.
 * A reader costs one sequentially consistent store (its only locked
 * instruction) and one plain store; readers never share a written line and
 * never wait for writers.  A writer waits only for the lookups in progress
 * when it published (on any ring).
 *
 * Lookups may nest on one thread (a signal handler interrupting a lookup):
 * an inner lookup finds the slot busy and leaves it to the outer one,
 * whose period is older and so covers it.  A thread's first lookup
 * allocates its slot and is not async-signal-safe.
 *
 * A thread without a slot (none could be allocated, no thread-specific
 * key was available, or the thread is exiting) uses the ring's own
 * fallback: two counters selected by the parity of a per-ring epoch,
 * which the ring's serialized writers advance and drain.  Each counter
 * carries the fork generation it counts in (high 32 bits; the process's
 * generation goes up in every child after fork()): in a child, counts
 * left by the parent's threads, which do not exist there, are zero. */
#ifndef HR_EPOCH_H
#define HR_EPOCH_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct hr_epoch {
    atomic_uint_fast64_t epoch;
    atomic_uint_fast64_t count[2]; /* generation << 32 | readers */
} hr_epoch;

void hr_epoch_init(hr_epoch *e);
uintptr_t hr_epoch_enter(hr_epoch *e);
void hr_epoch_exit(hr_epoch *e, uintptr_t token);
void hr_epoch_synchronize(hr_epoch *e);

#endif
