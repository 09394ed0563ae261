/* epoch.c - see epoch.h for the scheme and its argument. */
#include "epoch.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

typedef struct hr_slot {
    _Alignas(64) atomic_uint_fast64_t period; /* 0: not reading; else the period read */
    atomic_int used;                          /* owned by a live thread */
    struct hr_slot *next;                     /* the list of every slot (append only) */
} hr_slot;

/* Tokens: a slot's address (64-byte aligned) with bit 0 set when this
 * lookup took the slot (the outermost one), clear when nested; or
 * HR_TOKEN_FALLBACK | parity. */
#define HR_TOKEN_OUTER 1u
#define HR_TOKEN_FALLBACK 2u

static atomic_uint_fast64_t hr_period = 1;
static atomic_uint_fast32_t hr_fork_gen; /* fallback counts of other generations are 0 */
static _Atomic(hr_slot *) hr_slots;
static pthread_key_t hr_slot_key;
static atomic_int hr_slot_key_ok;
static pthread_once_t hr_slot_once = PTHREAD_ONCE_INIT;

/* The calling thread's slot.  initial-exec: one load from the thread
 * pointer instead of a __tls_get_addr call (glibc keeps room for such
 * variables of libraries loaded later, e.g. through FFI). */
#if defined(__GLIBC__) && defined(__GNUC__)
#define HR_TLS __thread __attribute__((tls_model("initial-exec")))
#else
#define HR_TLS _Thread_local
#endif
static HR_TLS hr_slot *hr_self;
static HR_TLS int hr_exiting; /* the slot was given back: the fallback from now on */

/* At thread exit the slot goes back to the pool. */
static void hr_slot_release(void *p)
{
    hr_slot *s = p;
    hr_self = NULL;
    hr_exiting = 1; /* lookups from later destructors: no new slot */
    atomic_store_explicit(&s->period, 0, memory_order_release);
    atomic_store_explicit(&s->used, 0, memory_order_release);
}

/* In a child after fork only the forking thread exists, outside any
 * lookup: every other slot is free and idle. */
static void hr_slot_atfork_child(void)
{
    atomic_fetch_add(&hr_fork_gen, 1);
    for (hr_slot *s = atomic_load(&hr_slots); s != NULL; s = s->next) {
        if (s == hr_self)
            continue;
        atomic_store(&s->period, 0);
        atomic_store(&s->used, 0);
    }
}

static void hr_slot_init_once(void)
{
    hr_slot_key_ok = pthread_key_create(&hr_slot_key, hr_slot_release) == 0;
    (void)pthread_atfork(NULL, NULL, hr_slot_atfork_child);
}

#if defined(__GNUC__)
/* Set up at load time, so that the fork handler is in place before any
 * the application registers later; and on unload (the static library in
 * a plugin that is dlclose()d) drop the key, so that threads exiting
 * afterwards do not call a destructor that is gone. */
__attribute__((constructor)) static void hr_slot_load(void)
{
    pthread_once(&hr_slot_once, hr_slot_init_once);
}

__attribute__((destructor)) static void hr_slot_unload(void)
{
    if (atomic_exchange(&hr_slot_key_ok, 0))
        pthread_key_delete(hr_slot_key);
}
#endif

static hr_slot *hr_slot_acquire(void)
{
    pthread_once(&hr_slot_once, hr_slot_init_once);
    if (!atomic_load(&hr_slot_key_ok) || hr_exiting)
        return NULL;
    hr_slot *s;
    for (s = atomic_load(&hr_slots); s != NULL; s = s->next) {
        int free_ = 0;
        if (atomic_compare_exchange_strong(&s->used, &free_, 1))
            break;
    }
    if (s == NULL) {
        s = aligned_alloc(64, sizeof *s);
        if (s == NULL)
            return NULL;
        atomic_init(&s->period, 0);
        atomic_init(&s->used, 1);
        s->next = atomic_load(&hr_slots);
        while (!atomic_compare_exchange_weak(&hr_slots, &s->next, s))
            ;
    }
    if (pthread_setspecific(hr_slot_key, s) != 0) {
        atomic_store(&s->used, 0);
        return NULL;
    }
    hr_self = s;
    return s;
}

void hr_epoch_init(hr_epoch *e)
{
    atomic_init(&e->epoch, 0);
    atomic_init(&e->count[0], 0);
    atomic_init(&e->count[1], 0);
}

uintptr_t hr_epoch_enter(hr_epoch *e)
{
    hr_slot *s = hr_self;
    if (s != NULL || (s = hr_slot_acquire()) != NULL) {
        /* only this thread writes its slot's period: a nonzero one is an
         * outer lookup of this thread, which covers this one */
        if (atomic_load_explicit(&s->period, memory_order_relaxed) != 0)
            return (uintptr_t)s;
        atomic_store(&s->period, atomic_load(&hr_period));
        return (uintptr_t)s | HR_TOKEN_OUTER;
    }
    /* the fallback: count in the current parity, re-checked so that a
     * writer that advanced meanwhile is not missed */
    for (;;) {
        uint_fast64_t ep = atomic_load(&e->epoch);
        unsigned par = (unsigned)(ep & 1);
        uint_fast64_t gen = (uint_fast64_t)atomic_load(&hr_fork_gen) << 32;
        uint_fast64_t c = atomic_load(&e->count[par]);
        /* a count of another generation is 0 in this one */
        while (!atomic_compare_exchange_weak(&e->count[par], &c,
                                             (c >> 32 << 32) == gen ? c + 1 : gen | 1))
            ;
        if (atomic_load(&e->epoch) == ep)
            return HR_TOKEN_FALLBACK | par;
        atomic_fetch_sub_explicit(&e->count[par], 1, memory_order_release);
    }
}

void hr_epoch_exit(hr_epoch *e, uintptr_t token)
{
    if (token < 64)
        atomic_fetch_sub_explicit(&e->count[token & 1], 1, memory_order_release);
    else if (token & HR_TOKEN_OUTER)
        atomic_store_explicit(&((hr_slot *)(token & ~(uintptr_t)HR_TOKEN_OUTER))->period, 0,
                              memory_order_release);
}

static void hr_pause(unsigned *spins)
{
    if (++*spins > 64)
        sched_yield();
}

void hr_epoch_synchronize(hr_epoch *e)
{
    uint_fast64_t g = atomic_fetch_add(&hr_period, 1);
    for (hr_slot *s = atomic_load(&hr_slots); s != NULL; s = s->next) {
        unsigned spins = 0;
        uint_fast64_t p;
        while ((p = atomic_load(&s->period)) != 0 && p <= g)
            hr_pause(&spins);
    }
    /* the ring's fallback readers: those of the epoch that ends here */
    uint_fast64_t ep = atomic_load(&e->epoch);
    unsigned par = (unsigned)(ep & 1), spins = 0;
    atomic_store(&e->epoch, ep + 1);
    uint_fast64_t gen = (uint_fast64_t)atomic_load(&hr_fork_gen) << 32, c;
    while ((c = atomic_load(&e->count[par])) >> 32 << 32 == gen && (c & 0xffffffffu) != 0)
        hr_pause(&spins);
}
