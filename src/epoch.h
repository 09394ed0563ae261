/* epoch.h - safe reclamation of published continuums (internal).
 *
 * Readers:  token = hr_epoch_enter(); load the current pointer (seq_cst);
 *           use it; hr_epoch_exit(token).
 * Writers:  (serialized per ring) swap the current pointer (seq_cst), then
 *           hr_epoch_synchronize(); after it returns no reader can still be
 *           using the pointer that was swapped out.
 *
 * Every thread that reads owns a slot (a cache line, registered on its
 * first lookup, reused after the thread exits).  A reader stores into its
 * slot the grace period it read from a global counter, then loads the
 * pointer; on leaving it stores 0.  A writer, after publishing, advances
 * the counter from g to g + 1 and waits for every slot holding a period
 * <= g to change: a reader that stored a period > g read the counter after
 * the advance, so after the exchange, and loaded the new pointer.  All of
 * it is sequentially consistent: the reader's store and load, and the
 * writer's exchange, advance and loads, form one order, so a reader that
 * loaded the old pointer had stored its period before the writer looked.
 *
 * A reader costs one sequentially consistent store (its only locked
 * instruction) and one plain store; readers never share a written line and
 * never wait for writers.  A writer waits only for the lookups in progress
 * when it published.  A thread whose slot cannot be allocated (no memory)
 * counts itself in a shared counter instead, which writers wait to see
 * drain. */
#ifndef HR_EPOCH_H
#define HR_EPOCH_H

#include <stdint.h>

uintptr_t hr_epoch_enter(void);
void hr_epoch_exit(uintptr_t token);
void hr_epoch_synchronize(void);

#endif
