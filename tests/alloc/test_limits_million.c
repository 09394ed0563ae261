/* test_limits_million.c - rings far larger than any other test's (label slow).
 *
 * A non-empty ring always holds about 40 digests per member whatever the
 * weights (every dialect's hashes-per-node formula sums to ~40*n), so a
 * populated million-node ring means 40 million MD5s and 120-160 million
 * points: about 35 s of CPU and 3 GB at its peak when building.  Hence:
 *   - one million members with weight 0 (an empty continuum in python):
 *     batch add, lookups, remove one, refused duplicates - the membership
 *     side at full scale, in a fraction of a second;
 *   - a populated ring of 100,000 nodes (4 million digests): batch add,
 *     lookups checked against the listed points, remove one;
 *   - the populated million-node ring only when HASH_RING_TEST_MILLION_POINTS=1.
 * Everything is skipped under valgrind (HASH_RING_UNDER_VALGRIND=1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash_ring.h"

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && strcmp(v, "1") == 0;
}

typedef struct names {
    char *buf;
    const void **ptr;
    size_t *len;
    uint32_t *weight;
} names;

static void names_make(names *n, size_t count, uint32_t weight)
{
    n->buf = malloc(count * 16);
    n->ptr = malloc(count * sizeof *n->ptr);
    n->len = malloc(count * sizeof *n->len);
    n->weight = malloc(count * sizeof *n->weight);
    assert_true(n->buf && n->ptr && n->len && n->weight);
    for (size_t i = 0; i < count; i++) {
        n->len[i] = (size_t)snprintf(n->buf + 16 * i, 16, "m%zu", i);
        n->ptr[i] = n->buf + 16 * i;
        n->weight[i] = weight;
    }
}

static void names_free(names *n)
{
    free(n->buf);
    free(n->ptr);
    free(n->len);
    free(n->weight);
}

static void assert_member(const hash_ring_snapshot_t *s, size_t index, const char *want)
{
    const char *name = NULL;
    size_t len = 0;
    assert_int_equal(hash_ring_snapshot_node(s, index, &name, &len, NULL, NULL, NULL),
                     HASH_RING_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(name, want, len);
}

static void test_million_members(void **state)
{
    (void)state;
    if (env_set("HASH_RING_UNDER_VALGRIND"))
        skip();
    const size_t n = 1000000;
    names nm;
    names_make(&nm, n, 0);
    hash_ring_t *r = NULL;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_add_nodes(r, nm.ptr, nm.len, nm.weight, n), HASH_RING_OK);
    const char *node = NULL;
    size_t count = 0;
    const char *nodes[4];
    assert_int_equal(hash_ring_get_node(r, "k", 1, &node, NULL), HASH_RING_EEMPTY);
    assert_int_equal(hash_ring_get_nodes(r, "k", 1, nodes, NULL, 4, &count), HASH_RING_EEMPTY);
    hash_ring_snapshot_t *s = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node_count(s), n);
    assert_int_equal(hash_ring_snapshot_point_count(s), 0);
    assert_member(s, 0, "m0");
    assert_member(s, n - 1, "m999999");
    /* refused: every name again, and one repeated */
    assert_int_equal(hash_ring_add_nodes(r, nm.ptr, nm.len, nm.weight, n), HASH_RING_EEXIST);
    assert_int_equal(hash_ring_add_node(r, "m123456", 7, 0), HASH_RING_EEXIST);
    assert_int_equal(hash_ring_remove_node(r, "m1000000", 8), HASH_RING_ENOTFOUND);
    assert_int_equal(hash_ring_remove_node(r, "m5", 2), HASH_RING_OK);
    hash_ring_snapshot_t *s2 = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s2), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node_count(s2), n - 1);
    assert_member(s2, 5, "m6");
    assert_member(s2, n - 2, "m999999");
    /* the older snapshot still has them all */
    assert_int_equal(hash_ring_snapshot_node_count(s), n);
    assert_member(s, 5, "m5");
    hash_ring_snapshot_release(s);
    hash_ring_snapshot_release(s2);
    hash_ring_destroy(r);
    names_free(&nm);
}

/* The owner of pos by binary search over the listed points (python: the
 * first point strictly greater, wrapping). */
static const char *owner_by_listing(const hash_ring_snapshot_t *s, uint32_t pos)
{
    size_t lo = 0, hi = hash_ring_snapshot_point_count(s);
    size_t np = hi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t p;
        assert_int_equal(hash_ring_snapshot_point(s, mid, &p, NULL, NULL), HASH_RING_OK);
        if (p <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    const char *owner = NULL;
    assert_int_equal(hash_ring_snapshot_point(s, lo == np ? 0 : lo, NULL, &owner, NULL),
                     HASH_RING_OK);
    return owner;
}

static void populated(size_t n)
{
    names nm;
    names_make(&nm, n, 1);
    hash_ring_t *r = NULL;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_add_nodes(r, nm.ptr, nm.len, NULL, n), HASH_RING_OK);
    for (int round = 0; round < 2; round++) {
        hash_ring_snapshot_t *s = NULL;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
        size_t members = n - (size_t)round;
        assert_int_equal(hash_ring_snapshot_node_count(s), members);
        /* equal weights: exactly 40 hashes of 3 points each */
        assert_int_equal(hash_ring_snapshot_point_count(s), members * 120u);
        for (int k = 0; k < 64; k++) {
            char key[16];
            int len = snprintf(key, sizeof key, "key%d", k);
            uint32_t pos;
            const char *node = NULL;
            assert_int_equal(hash_ring_position(key, (size_t)len, &pos), HASH_RING_OK);
            assert_int_equal(hash_ring_get_node(r, key, (size_t)len, &node, NULL), HASH_RING_OK);
            assert_ptr_equal(node, owner_by_listing(s, pos));
            assert_true(round == 0 || strcmp(node, "m77") != 0);
        }
        hash_ring_snapshot_release(s);
        if (round == 0)
            assert_int_equal(hash_ring_remove_node(r, "m77", 3), HASH_RING_OK);
    }
    hash_ring_destroy(r);
    names_free(&nm);
}

/* The member limit: 2^24 (every point keeps its owner's index in 24
 * bits).  A batch that would pass it is refused before anything is
 * interned, on an empty ring and on a ring of one member; the ring is
 * unchanged.  (Filling a ring to the limit itself would take several
 * GB; the limit's arithmetic is a static assertion in src/ring.c.) */
static void test_member_limit(void **state)
{
    (void)state;
    if (env_set("HASH_RING_UNDER_VALGRIND"))
        skip();
    const size_t limit = (size_t)1 << 24;
    const void **nv = malloc((limit + 1) * sizeof *nv);
    size_t *lens = malloc((limit + 1) * sizeof *lens);
    assert_non_null(nv);
    assert_non_null(lens);
    for (size_t i = 0; i <= limit; i++) {
        nv[i] = "x";
        lens[i] = 1;
    }
    hash_ring_t *r;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_add_nodes(r, nv, lens, NULL, limit + 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_add_node(r, "a", 1, 1), HASH_RING_OK);
    /* one member plus 2^24: one too many */
    assert_int_equal(hash_ring_add_nodes(r, nv, lens, NULL, limit), HASH_RING_EINVAL);
    hash_ring_snapshot_t *s;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node_count(s), 1);
    hash_ring_snapshot_release(s);
    hash_ring_destroy(r);
    free(nv);
    free(lens);
}

static void test_hundred_thousand_nodes(void **state)
{
    (void)state;
    if (env_set("HASH_RING_UNDER_VALGRIND"))
        skip();
    populated(100000);
}

static void test_million_nodes_populated(void **state)
{
    (void)state;
    if (env_set("HASH_RING_UNDER_VALGRIND") || !env_set("HASH_RING_TEST_MILLION_POINTS"))
        skip(); /* ~35 s of CPU and 3 GB: opt-in */
    populated(1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_members),
        cmocka_unit_test(test_member_limit),
        cmocka_unit_test(test_hundred_thousand_nodes),
        cmocka_unit_test(test_million_nodes_populated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
