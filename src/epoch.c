/* epoch.c - see epoch.h for the scheme and its argument. */
#include "epoch.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct hr_slot {
    _Alignas(64) atomic_uint_fast64_t period; /* 0: not reading; else the period read */
    atomic_int used;                          /* owned by a live thread */
    struct hr_slot *next;                     /* the list of every slot (append only) */
} hr_slot;

static atomic_uint_fast64_t hr_period = 1;
static _Atomic(hr_slot *) hr_slots;
static atomic_ulong hr_shared_readers; /* threads without a slot */
static pthread_key_t hr_slot_key;
static int hr_slot_key_ok;
static pthread_once_t hr_slot_once = PTHREAD_ONCE_INIT;

/* The calling thread's slot.  initial-exec: one load from the thread
 * pointer instead of a __tls_get_addr call (glibc keeps room for such
 * variables of libraries loaded later, e.g. through FFI). */
#if defined(__GLIBC__) && defined(__GNUC__)
static __thread hr_slot *hr_self __attribute__((tls_model("initial-exec")));
#else
static _Thread_local hr_slot *hr_self;
#endif

/* At thread exit the slot goes back to the pool (the thread is not inside
 * a lookup: hr_self's period is 0). */
static void hr_slot_release(void *p)
{
    hr_slot *s = p;
    hr_self = NULL;
    atomic_store_explicit(&s->used, 0, memory_order_release);
}

/* In a child after fork only the forking thread exists, outside any
 * lookup: every other slot is free and idle. */
static void hr_slot_atfork_child(void)
{
    for (hr_slot *s = atomic_load(&hr_slots); s != NULL; s = s->next) {
        if (s == hr_self)
            continue;
        atomic_store(&s->period, 0);
        atomic_store(&s->used, 0);
    }
    atomic_store(&hr_shared_readers, 0);
}

static void hr_slot_init_once(void)
{
    hr_slot_key_ok = pthread_key_create(&hr_slot_key, hr_slot_release) == 0;
    (void)pthread_atfork(NULL, NULL, hr_slot_atfork_child);
}

static hr_slot *hr_slot_acquire(void)
{
    pthread_once(&hr_slot_once, hr_slot_init_once);
    if (!hr_slot_key_ok)
        return NULL; /* no way to give the slot back: use the shared counter */
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

uintptr_t hr_epoch_enter(void)
{
    hr_slot *s = hr_self;
    if (s == NULL && (s = hr_slot_acquire()) == NULL) {
        atomic_fetch_add(&hr_shared_readers, 1);
        return 0;
    }
    atomic_store(&s->period, atomic_load(&hr_period));
    return (uintptr_t)s;
}

void hr_epoch_exit(uintptr_t token)
{
    if (token == 0)
        atomic_fetch_sub_explicit(&hr_shared_readers, 1, memory_order_release);
    else
        atomic_store_explicit(&((hr_slot *)token)->period, 0, memory_order_release);
}

void hr_epoch_synchronize(void)
{
    uint_fast64_t g = atomic_fetch_add(&hr_period, 1);
    for (hr_slot *s = atomic_load(&hr_slots); s != NULL; s = s->next) {
        unsigned spins = 0;
        uint_fast64_t p;
        while ((p = atomic_load(&s->period)) != 0 && p <= g) {
            if (++spins > 64)
                sched_yield();
        }
    }
    unsigned spins = 0;
    while (atomic_load(&hr_shared_readers) != 0) {
        if (++spins > 64)
            sched_yield();
    }
}
