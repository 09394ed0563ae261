/* test_search.c - the packed continuum search (src/search.h) against a plain
 * binary search written here, on synthetic point sets built to reach every
 * path of hr_index_lower_bound: small buckets, big buckets whose guessed
 * window holds the answer, big buckets where it provably does not (points
 * clustered at one end of the bucket), long runs of equal points, empty
 * buckets, the first and last positions.  Then the same on real rings of
 * 3,000 nodes (big buckets) through the public API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "search.h"
#include "testutil.h"

/* The oracle: first i with pts[i] >= target, or n. */
static size_t naive_lower_bound(const uint32_t *pts, size_t n, uint64_t target)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pts[mid] < target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Every target near every point, every bucket start and a few random ones. */
static void check_all_targets(unsigned shift, uint32_t *pts, size_t n, uint64_t *seed)
{
    qsort(pts, n, sizeof *pts, cmp_u32);
    uint32_t *own = malloc((n ? n : 1) * sizeof *own);
    /* the padding the search may read (HR_ENT_PAD entries; ASan catches a
     * read beyond it) holds noise here: what it holds must not matter */
    uint32_t *ent = malloc((n + HR_ENT_PAD) * sizeof *ent);
    assert_non_null(own);
    assert_non_null(ent);
    for (size_t i = 0; i < HR_ENT_PAD; i++)
        ent[n + i] = (uint32_t)tu_rand(seed);
    uint32_t owners = (uint32_t)(((uint64_t)1 << (32 - shift)) - 1);
    for (size_t i = 0; i < n; i++)
        own[i] = (uint32_t)(tu_rand(seed) % ((uint64_t)owners + 1));
    hr_index ix;
    assert_int_equal(hr_index_encode(&ix, shift, pts, own, n, ent), HASH_RING_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(hr_entry_owner(&ix, ent[i]), own[i]);
        assert_int_equal(hr_index_point(&ix, ent, i), pts[i]);
    }
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        for (int d = -1; d <= 1; d++) {
            uint64_t t = (uint64_t)pts[i] + (uint64_t)(int64_t)d;
            if (d < 0 && pts[i] == 0)
                continue;
            assert_int_equal(hr_index_lower_bound(&ix, ent, n, t), naive_lower_bound(pts, n, t));
            checked++;
        }
    }
    uint64_t nb = (uint64_t)1 << (32 - shift);
    for (uint64_t k = 0; k <= nb && k < 70000; k++) {
        uint64_t t = k << shift;
        assert_int_equal(hr_index_lower_bound(&ix, ent, n, t), naive_lower_bound(pts, n, t));
        if (t > 0)
            assert_int_equal(hr_index_lower_bound(&ix, ent, n, t - 1),
                             naive_lower_bound(pts, n, t - 1));
        checked++;
    }
    for (int r = 0; r < 20000; r++) {
        uint64_t t = (uint32_t)tu_rand(seed);
        assert_int_equal(hr_index_lower_bound(&ix, ent, n, t), naive_lower_bound(pts, n, t));
        checked++;
    }
    assert_int_equal(hr_index_lower_bound(&ix, ent, n, (uint64_t)1 << 32), n);
    assert_true(checked >= 20000);
    hr_index_free(&ix);
    free(own);
    free(ent);
}

static void test_uniform(void **state)
{
    (void)state;
    uint64_t seed = 7;
    /* points per bucket from a few (small-bucket path) to hundreds (the
     * guessed window, and its fallback when the guess is off) */
    static const struct {
        unsigned shift;
        size_t n;
    } cases[] = {{32, 0},      {32, 1},      {32, 15},     {32, 16},    {32, 17},
                 {32, 31},     {32, 32},     {32, 33},     {32, 500},
                 {28, 100},    {24, 2000},   {20, 50000},  {20, 300000}, {18, 200000},
                 {16, 100000}, {15, 300000}, {24, 100000},
                 /* many owner bits: few low point bits kept (8 at shift 8) */
                 {12, 300000}, {10, 50000},   {8, 3000}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c].n;
        uint32_t *pts = malloc((n ? n : 1) * sizeof *pts);
        assert_non_null(pts);
        for (size_t i = 0; i < n; i++)
            pts[i] = (uint32_t)tu_rand(&seed);
        check_all_targets(cases[c].shift, pts, n, &seed);
        free(pts);
    }
}

/* Buckets whose points are not spread: the guess is wrong by far, so the
 * window check must send the search to the whole bucket. */
static void test_clustered(void **state)
{
    (void)state;
    uint64_t seed = 11;
    const unsigned shift = 20; /* 4096 buckets of 2^20 positions */
    size_t n = 0, cap = 4096 * 200;
    uint32_t *pts = malloc(cap * sizeof *pts);
    assert_non_null(pts);
    for (uint32_t b = 0; b < 4096 && n + 300 < cap; b++) {
        uint32_t base = b << shift;
        size_t count = tu_rand(&seed) % 150; /* 0..149: empty, small, big */
        switch (b % 5) {
        case 0: /* packed at the bucket's start */
            for (size_t i = 0; i < count; i++)
                pts[n++] = base + (uint32_t)(tu_rand(&seed) % 256);
            break;
        case 1: /* packed at its end */
            for (size_t i = 0; i < count; i++)
                pts[n++] = base + (1u << shift) - 1 - (uint32_t)(tu_rand(&seed) % 256);
            break;
        case 2: /* one long run of a single position, plus a few others */
            for (size_t i = 0; i < count; i++)
                pts[n++] = base + (i % 8 ? 12345u : (uint32_t)(tu_rand(&seed) % (1u << shift)));
            break;
        case 3: /* two clusters far apart */
            for (size_t i = 0; i < count; i++)
                pts[n++] = base + (i % 2 ? 1000u : 900000u) + (uint32_t)(tu_rand(&seed) % 64);
            break;
        default: /* spread */
            for (size_t i = 0; i < count; i++)
                pts[n++] = base + (uint32_t)(tu_rand(&seed) % (1u << shift));
            break;
        }
    }
    /* exactly 32, 33 and 64 entries in the last buckets' neighbours: the
     * sizes around the big-bucket threshold */
    for (uint32_t k = 0; k < 33; k++)
        pts[n++] = (4093u << shift) + k * 1000u;
    for (uint32_t k = 0; k < 32; k++)
        pts[n++] = (4094u << shift) + k * 7u;
    for (uint32_t k = 0; k < 64; k++)
        pts[n++] = UINT32_MAX - k;
    check_all_targets(shift, pts, n, &seed);
    free(pts);
}

/* A real ring with big buckets, through the public API: every lookup at
 * every point and its neighbours equals a binary search over the listing. */
static void test_large_ring(void **state)
{
    (void)state;
    uint64_t seed = 5;
    static const hash_ring_dialect_t dialects[] = {HASH_RING_DIALECT_PYTHON,
                                                   HASH_RING_DIALECT_LIBMEMCACHED};
    for (size_t d = 0; d < 2; d++) {
        int strict = dialects[d] == HASH_RING_DIALECT_PYTHON; /* first point > key */
        hash_ring_t *r;
        assert_int_equal(hash_ring_create(&r, dialects[d]), HASH_RING_OK);
        char name[32];
        for (int i = 0; i < 3000; i++) {
            int len = snprintf(name, sizeof name, "10.%d.%d.%d:11211", i / 256 % 256, i % 256, i % 7);
            assert_int_equal(hash_ring_add_node(r, name, (size_t)len, (uint32_t)(1 + i % 4)),
                             HASH_RING_OK);
        }
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
        size_t np = hash_ring_snapshot_point_count(s);
        assert_true(np > 4096 * 40); /* big buckets */
        uint32_t *pt = malloc(np * sizeof *pt);
        const char **ow = malloc(np * sizeof *ow);
        assert_non_null(pt);
        assert_non_null(ow);
        for (size_t i = 0; i < np; i++)
            assert_int_equal(hash_ring_snapshot_point(s, i, &pt[i], &ow[i], NULL), HASH_RING_OK);
        for (size_t i = 1; i < np; i++)
            assert_true(pt[i - 1] <= pt[i]);
        for (size_t i = 0; i < np + 100000; i++) {
            uint32_t pos = i < np ? pt[i] + (uint32_t)(i % 3) - 1u : (uint32_t)tu_rand(&seed);
            size_t k = naive_lower_bound(pt, np, (uint64_t)pos + (uint64_t)strict);
            if (k == np)
                k = 0;
            const char *got;
            assert_int_equal(hash_ring_snapshot_get_node_at(s, pos, &got, NULL), HASH_RING_OK);
            assert_ptr_equal(got, ow[k]);
        }
        /* and through the key path */
        for (int i = 0; i < 20000; i++) {
            int len = snprintf(name, sizeof name, "key-%d", i);
            uint32_t pos;
            assert_int_equal(hash_ring_position(name, (size_t)len, &pos), HASH_RING_OK);
            size_t k = naive_lower_bound(pt, np, (uint64_t)pos + (uint64_t)strict);
            const char *got;
            size_t glen;
            assert_int_equal(hash_ring_get_node(r, name, (size_t)len, &got, &glen), HASH_RING_OK);
            assert_ptr_equal(got, ow[k == np ? 0 : k]);
            assert_int_equal(glen, strlen(got));
        }
        free(pt);
        free(ow);
        hash_ring_snapshot_release(s);
        hash_ring_destroy(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_clustered),
        cmocka_unit_test(test_large_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
