/* epoch.h - safe reclamation of published continuums (internal).
 *
 * Readers:  token = hr_epoch_enter(e); load the current pointer (seq_cst);
 *           use it; hr_epoch_exit(e, token).
 * Writers:  (serialized per ring) store the new current pointer (seq_cst),
 *           then hr_epoch_synchronize(e); after it returns no reader can
 *           still be using the pointer that was replaced.
 *
 * The slots belong to the ring, not to threads: a lookup takes a free slot
 * for its own duration only (one compare-and-swap, from 0 to the grace
 * period it read from the ring's counter), starting its search at a slot
 * chosen by the calling thread's id, and gives it back with a plain store
 * of 0.  Nothing is kept per thread, so there is no thread-local storage,
 * no thread-exit destructor and no setup: the library can be unloaded
 * whenever no call into it is running.  A writer, after publishing,
 * advances the counter from g to g + 1 and waits for every slot holding a
 * period <= g to change: a reader that stored a period > g read the counter
 * after the advance, so after the publication, and loaded the new pointer;
 * a reader whose swap came after the writer looked at its slot loaded the
 * pointer later still.  All of it is sequentially consistent, so these
 * orders are one order.  Readers never wait for writers and, as long as
 * their threads have distinct slots, never share a written line.
 *
 * Lookups may nest on one thread (a signal handler interrupting a lookup):
 * the inner one finds the outer one's slot busy and takes another.  When
 * every slot is busy, a lookup counts itself in the ring's fallback: two
 * counters selected by the parity of a fallback epoch, which writers
 * advance and drain.  Enter and exit are async-signal-safe.
 *
 * fork(): the caller resets the slots and counters in the child
 * (hr_epoch_after_fork) while no writer of the ring can run; readers of
 * the parent's other threads do not exist there. */
#ifndef HR_EPOCH_H
#define HR_EPOCH_H

#include <stdatomic.h>
#include <stdint.h>

#define HR_EPOCH_SLOTS 64

typedef struct hr_epoch {
    _Alignas(64) atomic_uint_fast64_t period; /* grace period; writers advance it */
    atomic_uint_fast64_t fallback;            /* fallback epoch; its parity selects count */
    atomic_uint_fast64_t count[2];            /* fallback readers */
    struct {
        _Alignas(64) atomic_uint_fast64_t period; /* 0: free; else the reader's period */
    } slot[HR_EPOCH_SLOTS];
} hr_epoch;

void hr_epoch_init(hr_epoch *e);
uintptr_t hr_epoch_enter(hr_epoch *e);
void hr_epoch_exit(hr_epoch *e, uintptr_t token);
void hr_epoch_synchronize(hr_epoch *e);
void hr_epoch_after_fork(hr_epoch *e);

#endif
