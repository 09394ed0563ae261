/* test_membership.c - hash_ring_set_nodes and hash_ring_remove_nodes.
 *
 * set_nodes must leave exactly the ring that a ring created empty and given
 * the same list with hash_ring_add_nodes has: every node (name, weight,
 * points, share), every point and the owner reported for it, and the
 * replica lists of keys, among them keys that hash exactly onto a shared
 * point.  Old and new memberships are random, in every dialect: subsets of
 * a pool that holds pairs of names with a shared point
 * (tests/peers/shared_points.tsv), in random orders (the tie rules of some
 * dialects depend on it), with random weights.  Built on the core's test
 * build, so that the test also sees that the merge path was the one taken.
 * remove_nodes: all or nothing, and equal to a fresh ring of the rest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "build.h"
#include "hash_ring.h"
#include "testutil.h"

#define NDIALECTS 14 /* every dialect: HASH_RING_DIALECT_PYTHON .. PECL_MEMCACHE */
#define POOL 96
#define MAXKEYS 64

static char pool[POOL][40];
static size_t pool_len[POOL], npaired;
static char keys[MAXKEYS][40];
static size_t nkeys;

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 11) % n);
}

/* Pool: names of shared-point pairs first (both members of each pair),
 * then host:port names (some on 11211: hashed as the bare host in the
 * host:port dialects) and plain ones.  Keys: the pairs' exact-hit keys and
 * ordinary ones. */
static int setup_pool(void **state)
{
    (void)state;
    FILE *f = fopen(HR_SHARED_POINTS, "r");
    assert_non_null(f);
    char line[256];
    while (fgets(line, sizeof line, f) != NULL && npaired + 2 <= POOL / 2) {
        char fam[16], a[40], b[40], key[40];
        unsigned long point;
        if (line[0] == '#' || sscanf(line, "%15s %lu %39s %39s %39s", fam, &point, a, b, key) != 5)
            continue;
        int seen = 0; /* a name may be in several pairs */
        for (size_t i = 0; i < npaired; i++)
            seen |= strcmp(pool[i], a) == 0 || strcmp(pool[i], b) == 0;
        if (seen)
            continue;
        snprintf(pool[npaired++], 40, "%s", a);
        snprintf(pool[npaired++], 40, "%s", b);
        if (nkeys < MAXKEYS / 2)
            snprintf(keys[nkeys++], 40, "%s", key);
    }
    fclose(f);
    assert_true(npaired >= 16);
    for (size_t i = npaired; i < POOL; i++)
        if (i % 3)
            snprintf(pool[i], 40, "10.0.%zu.1:%u", i, i % 4 ? 11211u : 11300u + (unsigned)i);
        else
            snprintf(pool[i], 40, "node-%zu", i);
    for (size_t i = 0; i < POOL; i++)
        pool_len[i] = strlen(pool[i]);
    while (nkeys < MAXKEYS) {
        snprintf(keys[nkeys], 40, "key-%zu", nkeys);
        nkeys++;
    }
    return 0;
}

/* A membership: pool indexes in order, with weights. */
typedef struct list {
    size_t n;
    size_t idx[POOL];
    uint32_t w[POOL];
} list;

static void list_args(const list *l, const void **names, size_t *lens)
{
    for (size_t i = 0; i < l->n; i++) {
        names[i] = pool[l->idx[i]];
        lens[i] = pool_len[l->idx[i]];
    }
}

static uint32_t rnd_weight(void)
{
    uint32_t r = rnd(10);
    return r == 0 ? 0 : r < 7 ? 1 : r - 5;
}

/* A random list of size n (distinct pool names, random order), shared-point
 * pairs included more often than not. */
static void list_random(list *l, size_t n)
{
    size_t perm[POOL];
    for (size_t i = 0; i < POOL; i++)
        perm[i] = i;
    for (size_t i = POOL - 1; i > 0; i--) {
        size_t j = rnd((uint32_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    l->n = n;
    for (size_t i = 0; i < n; i++) {
        l->idx[i] = perm[i];
        l->w[i] = rnd_weight();
    }
}

static int list_has(const list *l, size_t p)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->idx[i] == p)
            return 1;
    return 0;
}

/* The next list from l by a small change: some removed, some added (at
 * random places), some moved, some reweighted; or sometimes l reordered. */
static void list_change(const list *l, list *out)
{
    *out = *l;
    size_t k = rnd(4);
    for (size_t c = 0; c < k && out->n > 1; c++) {
        size_t at = rnd((uint32_t)out->n);
        memmove(&out->idx[at], &out->idx[at + 1], (out->n - at - 1) * sizeof out->idx[0]);
        memmove(&out->w[at], &out->w[at + 1], (out->n - at - 1) * sizeof out->w[0]);
        out->n--;
    }
    k = rnd(4);
    for (size_t c = 0; c < k && out->n < POOL; c++) {
        size_t p = rnd(POOL);
        if (list_has(out, p))
            continue;
        size_t at = rnd((uint32_t)out->n + 1);
        memmove(&out->idx[at + 1], &out->idx[at], (out->n - at) * sizeof out->idx[0]);
        memmove(&out->w[at + 1], &out->w[at], (out->n - at) * sizeof out->w[0]);
        out->idx[at] = p;
        out->w[at] = rnd_weight();
        out->n++;
    }
    k = rnd(3);
    for (size_t c = 0; c < k && out->n > 1; c++) {
        size_t a = rnd((uint32_t)out->n), b = rnd((uint32_t)out->n), t = out->idx[a];
        uint32_t tw = out->w[a];
        out->idx[a] = out->idx[b];
        out->w[a] = out->w[b];
        out->idx[b] = t;
        out->w[b] = tw;
    }
    if (rnd(4) == 0 && out->n > 0)
        out->w[rnd((uint32_t)out->n)] = rnd_weight();
    if (rnd(8) == 0) /* the whole list reversed: every tie flips */
        for (size_t i = 0; i < out->n / 2; i++) {
            size_t j = out->n - 1 - i, t = out->idx[i];
            uint32_t tw = out->w[i];
            out->idx[i] = out->idx[j];
            out->w[i] = out->w[j];
            out->idx[j] = t;
            out->w[j] = tw;
        }
}

static hash_ring_t *ring_of(hash_ring_dialect_t d, const list *l)
{
    hash_ring_t *r;
    const void *names[POOL];
    size_t lens[POOL];
    assert_int_equal(hash_ring_create(&r, d), HASH_RING_OK);
    list_args(l, names, lens);
    assert_int_equal(hash_ring_add_nodes(r, names, lens, l->w, l->n), HASH_RING_OK);
    return r;
}

/* Two rings answer alike: nodes, points with reported owners, replicas. */
static void assert_rings_equal(const hash_ring_t *a, const hash_ring_t *b)
{
    hash_ring_snapshot_t *sa, *sb;
    assert_int_equal(hash_ring_snapshot_acquire(a, &sa), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_acquire(b, &sb), HASH_RING_OK);
    size_t nn = hash_ring_snapshot_node_count(sa), np = hash_ring_snapshot_point_count(sa);
    assert_int_equal(nn, hash_ring_snapshot_node_count(sb));
    assert_int_equal(np, hash_ring_snapshot_point_count(sb));
    for (size_t i = 0; i < nn; i++) {
        const char *na, *nb;
        size_t la, lb, pa, pb;
        uint32_t wa, wb;
        uint64_t ha, hb;
        assert_int_equal(hash_ring_snapshot_node(sa, i, &na, &la, &wa, &pa, &ha), 0);
        assert_int_equal(hash_ring_snapshot_node(sb, i, &nb, &lb, &wb, &pb, &hb), 0);
        assert_int_equal(la, lb);
        assert_memory_equal(na, nb, la);
        assert_int_equal(wa, wb);
        assert_int_equal(pa, pb);
        assert_int_equal(ha, hb);
    }
    for (size_t i = 0; i < np; i++) {
        uint32_t pa, pb;
        const char *oa, *ob;
        size_t la, lb;
        assert_int_equal(hash_ring_snapshot_point(sa, i, &pa, &oa, &la), 0);
        assert_int_equal(hash_ring_snapshot_point(sb, i, &pb, &ob, &lb), 0);
        assert_int_equal(pa, pb);
        assert_int_equal(la, lb);
        assert_memory_equal(oa, ob, la);
    }
    for (size_t k = 0; k < nkeys; k++) {
        const char *ra[POOL], *rb[POOL];
        size_t ca = 0, cb = 0;
        int rc = hash_ring_snapshot_get_nodes(sa, keys[k], strlen(keys[k]), ra, NULL, POOL, &ca);
        assert_int_equal(rc, hash_ring_snapshot_get_nodes(sb, keys[k], strlen(keys[k]), rb, NULL,
                                                          POOL, &cb));
        assert_int_equal(ca, cb);
        for (size_t i = 0; i < ca; i++)
            assert_string_equal(ra[i], rb[i]);
    }
    hash_ring_snapshot_release(sa);
    hash_ring_snapshot_release(sb);
}

/* set_nodes from a random old list to a new one, against a fresh ring. */
static void check_set(hash_ring_dialect_t d, const list *from, const list *to)
{
    hash_ring_t *r = ring_of(d, from), *fresh = ring_of(d, to);
    const void *names[POOL];
    size_t lens[POOL];
    list_args(to, names, lens);
    assert_int_equal(hash_ring_set_nodes(r, names, lens, to->w, to->n), HASH_RING_OK);
    assert_rings_equal(r, fresh);
    hash_ring_destroy(r);
    hash_ring_destroy(fresh);
}

static void test_set_nodes_random(void **state)
{
    (void)state;
    unsigned long m0, f0, m1, f1;
    hr_merge_counts(&m0, &f0);
    for (int d = 0; d < NDIALECTS; d++)
        for (int trial = 0; trial < 80; trial++) {
            list a, b;
            list_random(&a, 1 + rnd(POOL));
            if (trial % 3 == 0)
                list_random(&b, rnd(POOL + 1)); /* unrelated lists: mostly full builds */
            else
                list_change(&a, &b); /* small changes: mostly merges */
            check_set((hash_ring_dialect_t)d, &a, &b);
        }
    hr_merge_counts(&m1, &f1);
    assert_true(m1 - m0 > 150); /* the merge path was exercised */
    assert_int_equal(f1, f0);   /* and never gave up */
}

/* Every shared-point pair in both orders, alone and among other nodes. */
static void test_set_nodes_reorders_pairs(void **state)
{
    (void)state;
    for (int d = 0; d < NDIALECTS; d++)
        for (size_t p = 0; p + 1 < npaired; p += 2) {
            list a = {0}, b = {0};
            for (size_t i = npaired; i < npaired + 40; i++) {
                a.idx[a.n] = i;
                a.w[a.n++] = 1;
            }
            a.idx[a.n] = p;
            a.w[a.n++] = 1;
            a.idx[a.n] = p + 1;
            a.w[a.n++] = 1;
            b = a;
            b.idx[a.n - 2] = p + 1;
            b.idx[a.n - 1] = p;
            check_set((hash_ring_dialect_t)d, &a, &b);
            check_set((hash_ring_dialect_t)d, &b, &a);
            /* the pair's first name dropped and added back at the end */
            list c = a;
            c.idx[c.n - 2] = p + 1;
            c.idx[c.n - 1] = p;
            c.w[c.n - 1] = 2;
            check_set((hash_ring_dialect_t)d, &a, &c);
        }
}

static void test_set_nodes_edges(void **state)
{
    (void)state;
    hash_ring_t *r;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    const void *names[3] = {"a", "b", "c"};
    size_t lens[3] = {1, 1, 1};
    uint32_t w[3] = {1, 2, 3};
    const char *node;

    /* bad arguments change nothing */
    assert_int_equal(hash_ring_set_nodes(NULL, names, lens, w, 3), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_set_nodes(r, NULL, lens, w, 3), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_set_nodes(r, names, NULL, w, 3), HASH_RING_EINVAL);
    const void *bad[2] = {"a", NULL};
    size_t badlen[2] = {1, 1}, zero[2] = {1, 0};
    assert_int_equal(hash_ring_set_nodes(r, bad, badlen, NULL, 2), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_set_nodes(r, names, zero, NULL, 2), HASH_RING_EINVAL);
    const void *dup[3] = {"a", "b", "a"};
    assert_int_equal(hash_ring_set_nodes(r, dup, lens, NULL, 3), HASH_RING_EEXIST);
    assert_int_equal(hash_ring_get_node(r, "k", 1, &node, NULL), HASH_RING_EEMPTY);

    assert_int_equal(hash_ring_set_nodes(r, names, lens, w, 3), HASH_RING_OK);
    hash_ring_snapshot_t *s1, *s2;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s1), HASH_RING_OK);
    /* the same list again: no rebuild (the same continuum stays published) */
    assert_int_equal(hash_ring_set_nodes(r, names, lens, w, 3), HASH_RING_OK);
    /* refused calls: nothing published */
    assert_int_equal(hash_ring_set_nodes(r, dup, lens, NULL, 3), HASH_RING_EEXIST);
    assert_int_equal(hash_ring_set_nodes(r, bad, badlen, NULL, 2), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_acquire(r, &s2), HASH_RING_OK);
    assert_ptr_equal(s1, s2);
    hash_ring_snapshot_release(s2);
    /* weights NULL: all 1 */
    assert_int_equal(hash_ring_set_nodes(r, names, lens, NULL, 3), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_acquire(r, &s2), HASH_RING_OK);
    assert_ptr_not_equal(s1, s2);
    for (size_t i = 0; i < 3; i++) {
        uint32_t weight;
        assert_int_equal(hash_ring_snapshot_node(s2, i, NULL, NULL, &weight, NULL, NULL), 0);
        assert_int_equal(weight, 1);
    }
    hash_ring_snapshot_release(s2);
    hash_ring_snapshot_release(s1);
    /* count 0 empties the ring; names may then be NULL */
    assert_int_equal(hash_ring_set_nodes(r, NULL, NULL, NULL, 0), HASH_RING_OK);
    assert_int_equal(hash_ring_get_node(r, "k", 1, &node, NULL), HASH_RING_EEMPTY);
    assert_int_equal(hash_ring_remove_node(r, "a", 1), HASH_RING_ENOTFOUND);
    hash_ring_destroy(r);
}

/* remove_nodes of a random part of a random list equals a fresh ring of
 * the rest; refused calls change nothing. */
static void test_remove_nodes(void **state)
{
    (void)state;
    for (int d = 0; d < NDIALECTS; d++)
        for (int trial = 0; trial < 40; trial++) {
            list a, rest = {0};
            list_random(&a, 1 + rnd(POOL));
            const void *gone[POOL];
            size_t gone_len[POOL], ngone = 0;
            for (size_t i = 0; i < a.n; i++)
                if (rnd(trial % 2 ? 2 : 8) == 0) {
                    gone[ngone] = pool[a.idx[i]];
                    gone_len[ngone++] = pool_len[a.idx[i]];
                } else {
                    rest.idx[rest.n] = a.idx[i];
                    rest.w[rest.n++] = a.w[i];
                }
            /* in another order than the ring's */
            for (size_t i = 0; i + 1 < ngone; i += 2) {
                const void *t = gone[i];
                size_t tl = gone_len[i];
                gone[i] = gone[i + 1];
                gone_len[i] = gone_len[i + 1];
                gone[i + 1] = t;
                gone_len[i + 1] = tl;
            }
            hash_ring_t *r = ring_of((hash_ring_dialect_t)d, &a);
            hash_ring_t *fresh = ring_of((hash_ring_dialect_t)d, &rest);
            hash_ring_snapshot_t *s0, *s1;
            assert_int_equal(hash_ring_snapshot_acquire(r, &s0), HASH_RING_OK);
            if (ngone > 0) {
                /* a non-member, or a repeat, refuses the whole call */
                const void *with[POOL + 1];
                size_t with_len[POOL + 1];
                memcpy(with, gone, ngone * sizeof *gone);
                memcpy(with_len, gone_len, ngone * sizeof *gone_len);
                with[ngone] = "not-a-member";
                with_len[ngone] = 12;
                assert_int_equal(hash_ring_remove_nodes(r, with, with_len, ngone + 1),
                                 HASH_RING_ENOTFOUND);
                with[ngone] = gone[0];
                with_len[ngone] = gone_len[0];
                assert_int_equal(hash_ring_remove_nodes(r, with, with_len, ngone + 1),
                                 HASH_RING_EINVAL);
                if (rest.n > 0) { /* a name the ring knows that was removed */
                    assert_int_equal(hash_ring_remove_nodes(r, gone, gone_len, ngone),
                                     HASH_RING_OK);
                    assert_int_equal(hash_ring_add_nodes(r, gone, gone_len, NULL, 1),
                                     HASH_RING_OK);
                    if (ngone > 1)
                        assert_int_equal(hash_ring_remove_nodes(r, gone, gone_len, ngone),
                                         HASH_RING_ENOTFOUND);
                    assert_int_equal(hash_ring_remove_nodes(r, gone, gone_len, 1),
                                     HASH_RING_OK);
                    hash_ring_destroy(r);
                    r = ring_of((hash_ring_dialect_t)d, &a);
                    hash_ring_snapshot_release(s0);
                    assert_int_equal(hash_ring_snapshot_acquire(r, &s0), HASH_RING_OK);
                }
            }
            assert_int_equal(hash_ring_snapshot_acquire(r, &s1), HASH_RING_OK);
            assert_ptr_equal(s0, s1); /* nothing was published */
            hash_ring_snapshot_release(s1);
            hash_ring_snapshot_release(s0);
            assert_int_equal(hash_ring_remove_nodes(r, gone, gone_len, ngone), HASH_RING_OK);
            assert_rings_equal(r, fresh);
            hash_ring_destroy(r);
            hash_ring_destroy(fresh);
        }
}

/* Removing the last of 2^b members, when the owner index has exactly b
 * bits, against a fresh ring: the merge moves the owners above the removed
 * one down, and above the last there are none.  Few points a member make
 * b small (16 members, all but the first of weight 0, in the dialects where
 * weight 0 owns no points); 4096 members of weight 1 fill the 12 bits the
 * bucket table stops at.  Also set_nodes replacing the last member. */
static void check_remove_last(hash_ring_dialect_t d, size_t n, int one_weighted)
{
    static char names_buf[4096][24];
    static const void *names[4096];
    static size_t lens[4096];
    static uint32_t w[4096];
    for (size_t i = 0; i < n; i++) {
        lens[i] = (size_t)snprintf(names_buf[i], sizeof names_buf[i], "10.1.%zu.%zu:11211",
                                   i / 256, i % 256);
        names[i] = names_buf[i];
        w[i] = one_weighted ? i == 0 : 1;
    }
    hash_ring_t *r, *fresh;
    unsigned long m0, f0, m1, f1;
    /* remove the last */
    assert_int_equal(hash_ring_create(&r, d), HASH_RING_OK);
    assert_int_equal(hash_ring_create(&fresh, d), HASH_RING_OK);
    assert_int_equal(hash_ring_add_nodes(r, names, lens, w, n), HASH_RING_OK);
    assert_int_equal(hash_ring_add_nodes(fresh, names, lens, w, n - 1), HASH_RING_OK);
    hr_merge_counts(&m0, &f0);
    assert_int_equal(hash_ring_remove_node(r, names[n - 1], lens[n - 1]), HASH_RING_OK);
    hr_merge_counts(&m1, &f1);
    assert_rings_equal(r, fresh);
    int merged = m1 > m0;
    hash_ring_destroy(fresh);
    /* put it back, then replace it by a new name */
    assert_int_equal(hash_ring_add_node(r, names[n - 1], lens[n - 1], w[n - 1]), HASH_RING_OK);
    static const char other[] = "10.9.9.9:11211";
    names[n - 1] = other;
    lens[n - 1] = sizeof other - 1;
    assert_int_equal(hash_ring_set_nodes(r, names, lens, w, n), HASH_RING_OK);
    assert_int_equal(hash_ring_create(&fresh, d), HASH_RING_OK);
    assert_int_equal(hash_ring_add_nodes(fresh, names, lens, w, n), HASH_RING_OK);
    assert_rings_equal(r, fresh);
    hash_ring_destroy(fresh);
    hash_ring_destroy(r);
    if (!merged)
        print_message("# %s, %zu members: the removal was a full build\n",
                      hash_ring_dialect_name(d), n);
}

static void test_remove_last_of_power_of_two(void **state)
{
    (void)state;
    for (int d = 0; d < NDIALECTS; d++)
        check_remove_last((hash_ring_dialect_t)d, 16, 1);
    if (getenv("HASH_RING_UNDER_VALGRIND") == NULL) /* 650,000 points, 5 builds */
        check_remove_last(HASH_RING_DIALECT_PYTHON, 4096, 0);
}

static void test_remove_nodes_args(void **state)
{
    (void)state;
    hash_ring_t *r;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_LIBKETAMA), HASH_RING_OK);
    const void *names[2] = {"a", "b"};
    size_t lens[2] = {1, 1}, zero[2] = {1, 0};
    assert_int_equal(hash_ring_add_nodes(r, names, lens, NULL, 2), HASH_RING_OK);
    assert_int_equal(hash_ring_remove_nodes(NULL, names, lens, 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_remove_nodes(r, NULL, lens, 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_remove_nodes(r, names, NULL, 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_remove_nodes(r, names, zero, 2), HASH_RING_EINVAL);
    const void *bad[2] = {"a", NULL};
    assert_int_equal(hash_ring_remove_nodes(r, bad, lens, 2), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_remove_nodes(r, NULL, NULL, 0), HASH_RING_OK);
    assert_int_equal(hash_ring_remove_nodes(r, names, lens, 0), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node_count(NULL), 0);
    hash_ring_snapshot_t *s;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node_count(s), 2);
    hash_ring_snapshot_release(s);
    /* all of them: the ring is empty */
    assert_int_equal(hash_ring_remove_nodes(r, names, lens, 2), HASH_RING_OK);
    const char *node;
    assert_int_equal(hash_ring_get_node(r, "k", 1, &node, NULL), HASH_RING_EEMPTY);
    hash_ring_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_nodes_edges),
        cmocka_unit_test(test_set_nodes_reorders_pairs),
        cmocka_unit_test(test_set_nodes_random),
        cmocka_unit_test(test_remove_nodes_args),
        cmocka_unit_test(test_remove_nodes),
        cmocka_unit_test(test_remove_last_of_power_of_two),
    };
    return cmocka_run_group_tests_name("membership", tests, setup_pool, NULL);
}
