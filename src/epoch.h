/* epoch.h - safe reclamation of published continuums (internal).
 *
 * Readers:  token = hr_epoch_enter(e); load the current pointer; use it;
 *           hr_epoch_exit(e, token).
 * Writers:  (serialized) swap the current pointer, then
 *           hr_epoch_synchronize(e); after it returns no reader can still be
 *           using the pointer that was swapped out.
 *
 * A reader announces itself by incrementing its stripe's counter for the
 * parity of the current epoch, then re-reads the epoch: if a writer advanced
 * it meanwhile the reader backs out and retries, so a reader counted under
 * parity p always loaded the pointer before the writer that ends epoch p
 * finished waiting.  Stripes are chosen per CPU and sit on their own
 * cache lines, so readers running on different CPUs do not share a written
 * line.  Readers never wait for writers; a writer waits only for the
 * lookups that were already in progress when it published. */
#ifndef HR_EPOCH_H
#define HR_EPOCH_H

#include <stdatomic.h>
#include <stdint.h>

#define HR_EPOCH_STRIPES 16

typedef struct hr_epoch_stripe {
    _Alignas(64) atomic_ulong count[2];
} hr_epoch_stripe;

typedef struct hr_epoch {
    _Alignas(64) atomic_uint_fast64_t epoch;
    hr_epoch_stripe stripes[HR_EPOCH_STRIPES];
} hr_epoch;

void hr_epoch_init(hr_epoch *e);
unsigned hr_epoch_enter(hr_epoch *e);
void hr_epoch_exit(hr_epoch *e, unsigned token);
void hr_epoch_synchronize(hr_epoch *e);

#endif
