/* epoch.c - see epoch.h for the scheme and its argument. */
#include "epoch.h"

#include <pthread.h>
#include <sched.h>

/* Tokens: 0 or 1, the fallback parity; HR_TOKEN_SLOT + i, slot i. */
#define HR_TOKEN_SLOT 2u

void hr_epoch_init(hr_epoch *e)
{
    atomic_init(&e->period, 1);
    atomic_init(&e->fallback, 0);
    atomic_init(&e->count[0], 0);
    atomic_init(&e->count[1], 0);
    for (unsigned i = 0; i < HR_EPOCH_SLOTS; i++)
        atomic_init(&e->slot[i].period, 0);
}

/* Where the calling thread looks for a free slot first: a hash of its
 * id, so that concurrent threads mostly start apart and a thread keeps
 * reusing one slot, whose line stays in its core's cache.  The thread
 * pointer identifies the thread without a call where the compiler offers
 * it. */
static unsigned hr_home_slot(void)
{
#if defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer) && (defined(__x86_64__) || defined(__aarch64__))
#define HR_THREAD_ID() ((uintptr_t)__builtin_thread_pointer())
#endif
#endif
#ifndef HR_THREAD_ID
#define HR_THREAD_ID() ((uintptr_t)pthread_self())
#endif
    uint64_t t = (uint64_t)HR_THREAD_ID();
    return (unsigned)((t * 0x9e3779b97f4a7c15u) >> 58) % HR_EPOCH_SLOTS;
}

uintptr_t hr_epoch_enter(hr_epoch *e)
{
    uint_fast64_t p = atomic_load(&e->period), free_ = 0;
    unsigned home = hr_home_slot();
    if (atomic_compare_exchange_strong(&e->slot[home].period, &free_, p))
        return HR_TOKEN_SLOT + home;
    for (unsigned k = 1; k < HR_EPOCH_SLOTS; k++) {
        unsigned i = (home + k) % HR_EPOCH_SLOTS;
        free_ = 0;
        /* a busy slot is skipped without taking its line for writing */
        if (atomic_load_explicit(&e->slot[i].period, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&e->slot[i].period, &free_, p))
            return HR_TOKEN_SLOT + i;
    }
    /* every slot busy: count in the current parity, re-checked so that a
     * writer that advanced meanwhile is not missed */
    for (;;) {
        uint_fast64_t ep = atomic_load(&e->fallback);
        unsigned par = (unsigned)(ep & 1);
        atomic_fetch_add(&e->count[par], 1);
        if (atomic_load(&e->fallback) == ep)
            return par;
        atomic_fetch_sub_explicit(&e->count[par], 1, memory_order_release);
    }
}

void hr_epoch_exit(hr_epoch *e, uintptr_t token)
{
    if (token >= HR_TOKEN_SLOT)
        atomic_store_explicit(&e->slot[token - HR_TOKEN_SLOT].period, 0, memory_order_release);
    else
        atomic_fetch_sub_explicit(&e->count[token], 1, memory_order_release);
}

static void hr_pause(unsigned *spins)
{
    if (++*spins > 64)
        sched_yield();
}

void hr_epoch_synchronize(hr_epoch *e)
{
    uint_fast64_t g = atomic_fetch_add(&e->period, 1);
    for (unsigned i = 0; i < HR_EPOCH_SLOTS; i++) {
        unsigned spins = 0;
        uint_fast64_t p;
        while ((p = atomic_load(&e->slot[i].period)) != 0 && p <= g)
            hr_pause(&spins);
    }
    /* the fallback readers: those of the fallback epoch that ends here */
    uint_fast64_t ep = atomic_load(&e->fallback);
    unsigned par = (unsigned)(ep & 1), spins = 0;
    atomic_store(&e->fallback, ep + 1);
    while (atomic_load(&e->count[par]) != 0)
        hr_pause(&spins);
}

void hr_epoch_after_fork(hr_epoch *e)
{
    atomic_store(&e->count[0], 0);
    atomic_store(&e->count[1], 0);
    for (unsigned i = 0; i < HR_EPOCH_SLOTS; i++)
        atomic_store(&e->slot[i].period, 0);
}
