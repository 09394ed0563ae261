/* test_alloc_batch.c - the batch lookups under allocation failure: a
 * failed call returns HASH_RING_ENOMEM, writes no output and keeps no
 * memory; batches of up to 256 keys allocate nothing at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alloc_hook.h"
#include "hash_ring.h"

#define NKEYS 1000

static char key_buf[NKEYS][16];
static const void *keys[NKEYS];
static size_t key_lens[NKEYS];

static hash_ring_t *ring_of_ten(void)
{
    hash_ring_t *r;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    for (int i = 0; i < 10; i++) {
        char name[16];
        int len = snprintf(name, sizeof name, "n%d", i);
        assert_int_equal(hash_ring_add_node(r, name, (size_t)len, 1), HASH_RING_OK);
    }
    for (int i = 0; i < NKEYS; i++) {
        key_lens[i] = (size_t)snprintf(key_buf[i], sizeof key_buf[i], "key%d", i);
        keys[i] = key_buf[i];
    }
    return r;
}

/* Every allocation of a 1,000-key batch failed in turn (and all later
 * ones): ENOMEM, outputs untouched, nothing kept; then it succeeds. */
static void test_batch_allocation_failures(void **state)
{
    (void)state;
    hash_ring_t *r = ring_of_ten();
    hash_ring_snapshot_t *s;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    static const char *nodes[NKEYS], *want[NKEYS];
    static size_t idx[NKEYS];
    /* the thread's first lookup may allocate its reader slot: done here */
    assert_int_equal(hash_ring_get_node_batch(r, keys, key_lens, NKEYS, want, NULL), HASH_RING_OK);
    for (int call = 0; call < 3; call++) {
        size_t fails = 0;
        for (size_t at = 1;; at++) {
            for (int i = 0; i < NKEYS; i++) {
                nodes[i] = NULL;
                idx[i] = 12345;
            }
            long live = ah_live();
            ah_arm(at, 1);
            int rc = call == 0   ? hash_ring_get_node_batch(r, keys, key_lens, NKEYS, nodes, NULL)
                     : call == 1 ? hash_ring_snapshot_get_node_batch(s, keys, key_lens, NKEYS,
                                                                     nodes, NULL)
                                 : hash_ring_snapshot_get_index_batch(s, keys, key_lens, NKEYS,
                                                                      idx);
            size_t failed = ah_failed();
            ah_disarm();
            assert_int_equal(ah_live(), live);
            if (failed == 0) {
                assert_int_equal(rc, HASH_RING_OK);
                break;
            }
            fails++;
            assert_int_equal(rc, HASH_RING_ENOMEM);
            for (int i = 0; i < NKEYS; i++) {
                assert_null(nodes[i]);
                assert_int_equal(idx[i], 12345);
            }
        }
        /* a batch over 256 keys allocates its scratch array: it was failed */
        assert_true(fails >= 1);
        if (call < 2)
            for (int i = 0; i < NKEYS; i++)
                assert_ptr_equal(nodes[i], want[i]);
    }
    hash_ring_snapshot_release(s);
    hash_ring_destroy(r);
}

/* Up to 256 keys: no allocation, so no HASH_RING_ENOMEM (header). */
static void test_small_batch_allocates_nothing(void **state)
{
    (void)state;
    hash_ring_t *r = ring_of_ten();
    hash_ring_snapshot_t *s;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    static const char *nodes[256];
    static size_t idx[256];
    assert_int_equal(hash_ring_get_node_batch(r, keys, key_lens, 256, nodes, NULL), HASH_RING_OK);
    ah_arm(0, 0);
    assert_int_equal(hash_ring_get_node_batch(r, keys, key_lens, 256, nodes, NULL), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_get_node_batch(s, keys, key_lens, 256, nodes, NULL),
                     HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_get_index_batch(s, keys, key_lens, 256, idx),
                     HASH_RING_OK);
    size_t calls = ah_disarm();
    /* the ring call's snapshot reference allocates nothing either */
    assert_int_equal(calls, 0);
    hash_ring_snapshot_release(s);
    hash_ring_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_allocation_failures),
        cmocka_unit_test(test_small_batch_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
