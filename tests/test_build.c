/* test_build.c - large and crowded rings, built by the library, against an
 * independent model written here from src/DIALECTS.md: points from EVP MD5 of
 * "name-j", hashes per node from each dialect's formula, one plain sort on
 * (position, tie rule).  Catches an in-place build that drops, duplicates
 * or misorders points, misplaces owners, or breaks a tie rule, on rings
 * far bigger than the vectors' (hundreds of thousands of points, every
 * point shared in the crowded case).  Checked after a batch build and
 * again after removals (the merge path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <math.h>

#include "hash_ring.h"
#include "testutil.h"

typedef struct member {
    char name[32];
    size_t len;
    size_t hlen; /* bytes hashed: twemproxy drops ":11211" */
    uint32_t weight;
} member;

typedef struct mpoint {
    uint32_t pos;
    uint32_t member; /* index in the membership */
} mpoint;

static const member *g_members; /* for the comparator */
static hash_ring_dialect_t g_dialect;

/* Position order; at a shared position the owner first (src/DIALECTS.md). */
static int cmp_point(const void *a, const void *b)
{
    const mpoint *x = a, *y = b;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    if (x->member == y->member)
        return 0;
    if (g_dialect == HASH_RING_DIALECT_PYTHON) /* the node added last */
        return x->member > y->member ? -1 : 1;
    const member *p = &g_members[x->member], *q = &g_members[y->member];
    if (p->hlen != q->hlen) /* twemproxy: shorter hashed name, then bytewise */
        return p->hlen < q->hlen ? -1 : 1;
    int c = memcmp(p->name, q->name, p->hlen);
    if (c != 0)
        return c;
    return x->member < y->member ? -1 : 1; /* equal hashed names: first added */
}

static uint32_t hashes_of(uint32_t w, uint64_t total, size_t n)
{
    if (g_dialect == HASH_RING_DIALECT_PYTHON)
        return (uint32_t)(40u * (uint64_t)n * w / total);
    /* twemproxy: floor((float)(pct*160/4*n + 1e-10F)), float32 throughout */
    float pct = (float)w / (float)total;
    float v = pct * 160;
    v = v / 4;
    v = v * (float)n;
    v = v + 1e-10F;
    return (uint32_t)floor((double)v);
}

static mpoint *model(const member *m, size_t n, size_t *count)
{
    unsigned per = g_dialect == HASH_RING_DIALECT_PYTHON ? 3 : 4;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += m[i].weight;
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += (size_t)hashes_of(m[i].weight, total, n) * per;
    mpoint *pt = malloc(cap * sizeof *pt);
    assert_non_null(pt);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t h = hashes_of(m[i].weight, total, n);
        for (uint32_t j = 0; j < h; j++) {
            char buf[64];
            int len = snprintf(buf, sizeof buf, "%.*s-%u", (int)m[i].hlen, m[i].name, j);
            unsigned char d[16];
            unsigned int dl = 0;
            assert_int_equal(EVP_Digest(buf, (size_t)len, d, &dl, EVP_md5(), NULL), 1);
            for (unsigned p = 0; p < per; p++) {
                pt[k].pos = (uint32_t)d[4 * p] | (uint32_t)d[4 * p + 1] << 8 |
                            (uint32_t)d[4 * p + 2] << 16 | (uint32_t)d[4 * p + 3] << 24;
                pt[k].member = (uint32_t)i;
                k++;
            }
        }
    }
    g_members = m;
    qsort(pt, k, sizeof *pt, cmp_point);
    *count = k;
    return pt;
}

/* The ring's listing equals the model's, point by point and owner by owner. */
static void check_ring(hash_ring_t *r, const member *m, size_t n)
{
    size_t np;
    mpoint *want = model(m, n, &np);
    hash_ring_snapshot_t *s;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_point_count(s), np);
    size_t shared = 0;
    for (size_t i = 0; i < np; i++) {
        uint32_t pos;
        const char *owner;
        size_t olen;
        assert_int_equal(hash_ring_snapshot_point(s, i, &pos, &owner, &olen), HASH_RING_OK);
        assert_int_equal(pos, want[i].pos);
        /* each entry names the node that produced it; python's listing
         * names the run's winner on each (hash_ring_snapshot_point) */
        size_t first = i;
        while (first > 0 && want[first - 1].pos == want[i].pos)
            first--;
        shared += first != i;
        const member *w = &m[want[g_dialect == HASH_RING_DIALECT_PYTHON ? first : i].member];
        assert_int_equal(olen, w->len);
        assert_memory_equal(owner, w->name, w->len);
    }
    /* and a lookup at each point returns its run's first entry */
    for (size_t i = 0; i < np; i += 97) {
        const char *got;
        size_t glen;
        uint32_t at = want[i].pos - (g_dialect == HASH_RING_DIALECT_PYTHON ? 1u : 0u);
        assert_int_equal(hash_ring_snapshot_get_node_at(s, at, &got, &glen), HASH_RING_OK);
        size_t first = i;
        while (first > 0 && want[first - 1].pos == want[i].pos)
            first--;
        assert_int_equal(glen, m[want[first].member].len);
        assert_memory_equal(got, m[want[first].member].name, glen);
    }
    hash_ring_snapshot_release(s);
    free(want);
    print_message("  %zu points, %zu on shared positions\n", np, shared);
}

static void build_and_check(member *m, size_t n)
{
    hash_ring_t *r;
    assert_int_equal(hash_ring_create(&r, g_dialect), HASH_RING_OK);
    const void **names = malloc(n * sizeof *names);
    size_t *lens = malloc(n * sizeof *lens);
    uint32_t *weights = malloc(n * sizeof *weights);
    assert_non_null(names);
    assert_non_null(lens);
    assert_non_null(weights);
    for (size_t i = 0; i < n; i++) {
        names[i] = m[i].name;
        lens[i] = m[i].len;
        weights[i] = m[i].weight;
    }
    assert_int_equal(hash_ring_add_nodes(r, names, lens, weights, n), HASH_RING_OK);
    check_ring(r, m, n);
    /* remove every 7th node (the merge path), keeping membership order */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 7 == 3)
            assert_int_equal(hash_ring_remove_node(r, m[i].name, m[i].len), HASH_RING_OK);
        else
            m[kept++] = m[i];
    }
    check_ring(r, m, kept);
    free(names);
    free(lens);
    free(weights);
    hash_ring_destroy(r);
}

/* 3,000 nodes of uneven weights: 360,000-odd points, fine buckets of
 * about 16 under a coarser index, big index buckets. */
static void test_python_large(void **state)
{
    (void)state;
    g_dialect = HASH_RING_DIALECT_PYTHON;
    size_t n = 3000;
    member *m = calloc(n, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        m[i].len = (size_t)snprintf(m[i].name, sizeof m[i].name, "cache-%zu.example:11211", i);
        m[i].hlen = m[i].len;
        m[i].weight = (uint32_t)(1 + i % 4);
    }
    build_and_check(m, n);
    free(m);
}

/* twemproxy, crowded: "hN:11211" and "hN" hash the same bytes, so every
 * point is shared by two nodes; plus nodes on another port. */
static void test_twemproxy_crowded(void **state)
{
    (void)state;
    g_dialect = HASH_RING_DIALECT_TWEMPROXY;
    size_t n = 2400;
    member *m = calloc(n, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        size_t id = i / 2;
        if (i % 3 == 2) { /* a distinct name, port kept in the hashed bytes */
            m[i].len = (size_t)snprintf(m[i].name, sizeof m[i].name, "h%zu:11212", i);
            m[i].hlen = m[i].len;
        } else if (i % 2 == 0) {
            m[i].len = (size_t)snprintf(m[i].name, sizeof m[i].name, "h%zu:11211", id);
            m[i].hlen = m[i].len - 6;
        } else {
            m[i].len = (size_t)snprintf(m[i].name, sizeof m[i].name, "h%zu", id);
            m[i].hlen = m[i].len;
        }
        m[i].weight = 1;
    }
    build_and_check(m, n);
    free(m);
}

/* Replica lists (hash_ring_get_nodes) against a walk of the model's
 * points: from the first point a lookup reaches, distinct owners, where a
 * shared point counts once for python (its winner: Python's continuum is a
 * dict) and once per node that produced it elsewhere. */
static void check_replicas(hash_ring_t *r, const member *m, size_t n, const char *const *keys,
                           size_t nkeys)
{
    size_t np;
    mpoint *want = model(m, n, &np);
    int py = g_dialect == HASH_RING_DIALECT_PYTHON;
    const char **got = malloc((n + 1) * sizeof *got);
    uint32_t *exp = malloc((n + 1) * sizeof *exp);
    unsigned char *seen = malloc(n);
    assert_true(got && exp && seen && np > 0);
    for (size_t k = 0; k < nkeys; k++) {
        unsigned char d[16];
        unsigned int dl = 0;
        assert_int_equal(EVP_Digest(keys[k], strlen(keys[k]), d, &dl, EVP_md5(), NULL), 1);
        uint32_t pos = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 |
                       (uint32_t)d[3] << 24;
        size_t start = 0;
        while (start < np && (py ? want[start].pos <= pos : want[start].pos < pos))
            start++;
        memset(seen, 0, n);
        size_t ne = 0;
        for (size_t s = 0; s < np && ne < n; s++) {
            size_t i = (start + s) % np;
            if (py && i > 0 && want[i - 1].pos == want[i].pos)
                continue; /* a loser: the dict holds the winner only */
            uint32_t o = want[i].member;
            if (!seen[o]) {
                seen[o] = 1;
                exp[ne++] = o;
            }
        }
        static const size_t maxes[] = {1, 2, 3, 4, 8, 65};
        for (size_t x = 0; x < sizeof maxes / sizeof *maxes; x++) {
            size_t max = maxes[x] < n ? maxes[x] : n, count = 0;
            assert_int_equal(hash_ring_get_nodes(r, keys[k], strlen(keys[k]), got, NULL, max,
                                                 &count),
                             HASH_RING_OK);
            assert_int_equal(count, max < ne ? max : ne);
            for (size_t i = 0; i < count; i++)
                assert_string_equal(got[i], m[exp[i]].name);
        }
    }
    free(got);
    free(exp);
    free(seen);
    free(want);
}

/* Rings of names whose points coincide (tests/peers/shared_points.tsv: the
 * x3 pairs share a point in the 3-point dialects, the x4 pairs in the
 * 4-point ones), looked up with the keys that hash exactly onto those
 * points, in every order of each pair. */
static void test_shared_point_replicas(void **state)
{
    (void)state;
    FILE *f = fopen(HR_SHARED_POINTS, "r");
    assert_non_null(f);
    char line[256];
    member m[64];
    static char keybuf[96][40];
    const char *keys[96];
    size_t n = 0, nkeys = 0;
    memset(m, 0, sizeof m);
    while (fgets(line, sizeof line, f) != NULL) {
        char fam[16], a[32], b[32], key[40];
        unsigned long point;
        if (sscanf(line, "%15s %lu %31s %31s %39s", fam, &point, a, b, key) != 5 || fam[0] != 'x')
            continue;
        int dup = 0;
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(m[i].name, a) == 0 || strcmp(m[i].name, b) == 0;
        if (!dup && n + 2 <= 16) {
            snprintf(m[n++].name, sizeof m[0].name, "%s", a);
            snprintf(m[n++].name, sizeof m[0].name, "%s", b);
        }
        snprintf(keybuf[nkeys], sizeof keybuf[0], "%s", key);
        keys[nkeys] = keybuf[nkeys];
        nkeys++;
    }
    fclose(f);
    assert_true(n >= 8);
    size_t npairs = n;
    for (; n < 48; n++)
        snprintf(m[n].name, sizeof m[0].name, "node-%zu", n);
    for (; nkeys < 96; nkeys++) {
        snprintf(keybuf[nkeys], sizeof keybuf[0], "key-%zu", nkeys);
        keys[nkeys] = keybuf[nkeys];
    }
    for (size_t i = 0; i < n; i++) {
        m[i].len = m[i].hlen = strlen(m[i].name);
        m[i].weight = 1;
    }
    static const hash_ring_dialect_t ds[] = {HASH_RING_DIALECT_PYTHON,
                                             HASH_RING_DIALECT_TWEMPROXY};
    for (size_t di = 0; di < 2; di++) {
        g_dialect = ds[di];
        for (int swap = 0; swap < 2; swap++) {
            if (swap) /* each pair in the other order: the other node wins */
                for (size_t i = 0; i + 1 < npairs; i += 2) {
                    member t = m[i];
                    m[i] = m[i + 1];
                    m[i + 1] = t;
                }
            hash_ring_t *r;
            assert_int_equal(hash_ring_create(&r, g_dialect), HASH_RING_OK);
            for (size_t i = 0; i < n; i++)
                assert_int_equal(hash_ring_add_node(r, m[i].name, m[i].len, 1), HASH_RING_OK);
            check_ring(r, m, n);
            check_replicas(r, m, n, keys, nkeys);
            hash_ring_destroy(r);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_large),
        cmocka_unit_test(test_twemproxy_crowded),
        cmocka_unit_test(test_shared_point_replicas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
