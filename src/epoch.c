/* epoch.c - see epoch.h for the scheme and its argument. */
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

/* A stripe per thread without thread-local storage (which costs a call in
 * a dlopen()ed library): mix the thread handle's bits. */
static unsigned hr_stripe_of_thread(void)
{
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
