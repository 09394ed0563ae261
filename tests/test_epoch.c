/* test_epoch.c - the reclamation scheme of src/epoch.c, driven directly.
 *
 * A writer's hr_epoch_synchronize() must not return while a reader that
 * entered before it is inside, whether the reader holds a slot or, every
 * slot being busy, counts in the fallback counters; nested readers (a
 * signal handler's lookup inside a lookup) take distinct slots; a reader
 * that entered after the writer advanced does not hold it up; after fork
 * the child's writers wait for no reader of the parent.  The writer runs
 * in a thread; the test sees from the epoch's counters that it has begun
 * waiting, then checks for a while (a bound, not a synchronisation) that
 * it has not returned before the reader leaves. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "epoch.h"

static hr_epoch ep;
static atomic_int done;

static void *writer(void *arg)
{
    (void)arg;
    hr_epoch_synchronize(&ep);
    atomic_store(&done, 1);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts a writer; returns once it is waiting (the counter it advances
 * first, `seen`, has moved), after checking for 0.2 s that it has not
 * returned. */
static pthread_t writer_blocked(atomic_uint_fast64_t *seen)
{
    uint_fast64_t before = atomic_load(seen);
    atomic_store(&done, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    while (atomic_load(seen) == before)
        sched_yield();
    double end = now() + 0.2;
    while (now() < end)
        assert_int_equal(atomic_load(&done), 0);
    return t;
}

static void writer_finishes(pthread_t t)
{
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(atomic_load(&done), 1);
}

static void test_waits_for_slot_reader(void **state)
{
    (void)state;
    hr_epoch_init(&ep);
    uintptr_t tok = hr_epoch_enter(&ep);
    assert_true(tok >= 2); /* a slot */
    pthread_t t = writer_blocked(&ep.period);
    hr_epoch_exit(&ep, tok);
    writer_finishes(t);
}

static void test_nested_readers_take_distinct_slots(void **state)
{
    (void)state;
    hr_epoch_init(&ep);
    uintptr_t tok[HR_EPOCH_SLOTS];
    for (int i = 0; i < HR_EPOCH_SLOTS; i++) {
        tok[i] = hr_epoch_enter(&ep);
        assert_true(tok[i] >= 2);
        for (int j = 0; j < i; j++)
            assert_true(tok[j] != tok[i]);
    }
    /* the innermost leaves first; the writer still waits for the outermost */
    for (int i = HR_EPOCH_SLOTS - 1; i > 0; i--)
        hr_epoch_exit(&ep, tok[i]);
    pthread_t t = writer_blocked(&ep.period);
    hr_epoch_exit(&ep, tok[0]);
    writer_finishes(t);
}

static void test_waits_for_fallback_reader(void **state)
{
    (void)state;
    hr_epoch_init(&ep);
    uintptr_t tok[HR_EPOCH_SLOTS];
    for (int i = 0; i < HR_EPOCH_SLOTS; i++)
        tok[i] = hr_epoch_enter(&ep);
    uintptr_t fb = hr_epoch_enter(&ep); /* every slot busy */
    assert_true(fb < 2);
    for (int i = 0; i < HR_EPOCH_SLOTS; i++)
        hr_epoch_exit(&ep, tok[i]);
    pthread_t t = writer_blocked(&ep.fallback);
    hr_epoch_exit(&ep, fb);
    writer_finishes(t);
    /* and the fallback counts are back to zero: the next writer passes */
    hr_epoch_synchronize(&ep);
}

static void test_later_reader_does_not_hold_writer(void **state)
{
    (void)state;
    hr_epoch_init(&ep);
    uintptr_t old = hr_epoch_enter(&ep);
    pthread_t t = writer_blocked(&ep.period);
    /* entered after the advance: a newer period, not waited for */
    uintptr_t young = hr_epoch_enter(&ep);
    hr_epoch_exit(&ep, old);
    writer_finishes(t);
    hr_epoch_exit(&ep, young);
}

static void test_after_fork_forgets_readers(void **state)
{
    (void)state;
    hr_epoch_init(&ep);
    uintptr_t tok[HR_EPOCH_SLOTS + 1];
    for (int i = 0; i <= HR_EPOCH_SLOTS; i++)
        tok[i] = hr_epoch_enter(&ep);
    (void)tok;
    /* as in a child whose other threads, the readers, are gone */
    hr_epoch_after_fork(&ep);
    hr_epoch_synchronize(&ep); /* returns: it waits for nobody */
    hr_epoch_synchronize(&ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waits_for_slot_reader),
        cmocka_unit_test(test_nested_readers_take_distinct_slots),
        cmocka_unit_test(test_waits_for_fallback_reader),
        cmocka_unit_test(test_later_reader_does_not_hold_writer),
        cmocka_unit_test(test_after_fork_forgets_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
