/* epoch.c - see epoch.h for the scheme and its argument. */
#define _GNU_SOURCE 1 /* sched_getcpu */
#include "epoch.h"

#include <pthread.h>
#include <sched.h>
#include <stddef.h>

void hr_epoch_init(hr_epoch *e)
{
    atomic_init(&e->epoch, 0);
    for (int i = 0; i < HR_EPOCH_STRIPES; i++) {
        atomic_init(&e->stripes[i].count[0], 0);
        atomic_init(&e->stripes[i].count[1], 0);
    }
}

/* A stripe per running CPU (sched_getcpu is a vDSO read), so two readers
 * running at once never share a counter line while there are no more CPUs
 * than stripes; without it, a hash of the thread handle.  The stripe is
 * recorded in the token, so a thread that migrates mid-lookup still leaves
 * the stripe it entered. */
static unsigned hr_stripe_of_thread(void)
{
#if defined(__linux__) && defined(__GLIBC__)
    int cpu = sched_getcpu();
    if (cpu >= 0)
        return (unsigned)cpu % HR_EPOCH_STRIPES;
#endif
    pthread_t self = pthread_self();
    uint64_t x = 0;
    const unsigned char *b = (const unsigned char *)&self;
    for (size_t i = 0; i < sizeof self && i < sizeof x; i++)
        x |= (uint64_t)b[i] << (8 * i);
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 32;
    return (unsigned)(x % HR_EPOCH_STRIPES);
}

unsigned hr_epoch_enter(hr_epoch *e)
{
    unsigned s = hr_stripe_of_thread();
    for (;;) {
        uint_fast64_t ep = atomic_load(&e->epoch);
        unsigned par = (unsigned)(ep & 1);
        atomic_fetch_add(&e->stripes[s].count[par], 1);
        if (atomic_load(&e->epoch) == ep)
            return s << 1 | par;
        atomic_fetch_sub_explicit(&e->stripes[s].count[par], 1, memory_order_release);
    }
}

void hr_epoch_exit(hr_epoch *e, unsigned token)
{
    atomic_fetch_sub_explicit(&e->stripes[token >> 1].count[token & 1], 1, memory_order_release);
}

void hr_epoch_synchronize(hr_epoch *e)
{
    uint_fast64_t ep = atomic_load(&e->epoch);
    unsigned par = (unsigned)(ep & 1);
    atomic_store(&e->epoch, ep + 1);
    for (int i = 0; i < HR_EPOCH_STRIPES; i++) {
        unsigned spins = 0;
        while (atomic_load(&e->stripes[i].count[par]) != 0) {
            if (++spins > 64)
                sched_yield();
        }
    }
}
