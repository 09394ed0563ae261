/* ring.h - the ring handle (internal). */
#ifndef HR_RING_H
#define HR_RING_H

#include "continuum.h"
#include "epoch.h"

#include <pthread.h>

struct hash_ring {
    hr_epoch epoch;                    /* readers in progress (epoch.h) */
    _Atomic(hr_continuum *) current;   /* the published continuum */
    const hr_dialect *dialect;
    pthread_mutex_t wlock;             /* serializes writers; held by fork() */
    hr_names *names;                   /* interned names; writers only */
    struct hash_ring *prev, *next;     /* every live ring, for fork() (ring.c) */
};

/* Reader side: enter, get the current continuum, leave.  The load is
 * sequentially consistent, as epoch.h's argument requires (a plain load on
 * x86). */
static inline hr_continuum *hr_ring_enter(const struct hash_ring *ring, uintptr_t *token)
{
    struct hash_ring *r = (struct hash_ring *)ring; /* current is atomic */
    *token = hr_epoch_enter(&r->epoch);
    return atomic_load(&r->current);
}

static inline void hr_ring_leave(const struct hash_ring *ring, uintptr_t token)
{
    hr_epoch_exit(&((struct hash_ring *)ring)->epoch, token);
}

#endif
