/* ring.h - the ring handle (internal). */
#ifndef HR_RING_H
#define HR_RING_H

#include "continuum.h"
#include "epoch.h"

#include <pthread.h>

struct hash_ring {
    hr_epoch epoch;                    /* reclamation of old continuums */
    _Atomic(hr_continuum *) current;   /* the published continuum */
    const hr_dialect *dialect;
    pthread_mutex_t wlock;             /* serializes writers */
    hr_names *names;                   /* interned names; writers only */
};

/* Reader side: enter, get the current continuum, leave. */
static inline hr_continuum *hr_ring_enter(const struct hash_ring *ring, unsigned *token)
{
    struct hash_ring *r = (struct hash_ring *)ring; /* counters are atomics */
    *token = hr_epoch_enter(&r->epoch);
    return atomic_load_explicit(&r->current, memory_order_acquire);
}

static inline void hr_ring_leave(const struct hash_ring *ring, unsigned token)
{
    hr_epoch_exit(&((struct hash_ring *)ring)->epoch, token);
}

#endif
