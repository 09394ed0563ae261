/* test_properties.c - properties that must hold for every input, in every
 * dialect: incremental rebuilds equal from-scratch builds, keys move only
 * where the membership change says, lookups equal a linear scan, shares are
 * exact, shared points follow the tie rule.  Links the internals to reach
 * hr_build_full and the producing owner of each point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "build.h"
#include "continuum.h"
#include "digest.h"
#include "hash_ring.h"
#include "names.h"
#include "ring.h"
#include "testutil.h"

#define NDIALECTS 7
#define POOL 48

/* A pool of names, among them pairs whose points collide. */
static char pool[POOL][32];
static size_t npairs;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Finds names "c<i>" whose first 40 digests share a 32-bit point (any of
 * the 4 per digest) and puts up to 12 such pairs first in the pool. */
static int setup_pool(void **state)
{
    (void)state;
    enum { N = 3000, H = 40, P = 4 };
    uint64_t *all = malloc(sizeof(uint64_t) * N * H * P);
    uint32_t pts[H * P];
    assert_non_null(all);
    size_t k = 0;
    for (uint32_t i = 0; i < N; i++) {
        char name[32];
        int len = snprintf(name, sizeof name, "c%u", i);
        assert_int_equal(hr_digest_points(name, (size_t)len, 0, H, P, pts), 0);
        for (size_t j = 0; j < H * P; j++)
            all[k++] = (uint64_t)pts[j] << 32 | i;
    }
    qsort(all, k, sizeof *all, cmp_u64);
    size_t used = 0;
    for (size_t i = 1; i < k && used + 2 <= 24; i++) {
        uint32_t a = (uint32_t)all[i - 1], b = (uint32_t)all[i];
        if ((all[i] >> 32) == (all[i - 1] >> 32) && a != b) {
            snprintf(pool[used++], 32, "c%u", a);
            snprintf(pool[used++], 32, "c%u", b);
        }
    }
    npairs = used / 2;
    for (size_t i = used; i < POOL; i++)
        snprintf(pool[i], 32, i % 3 ? "10.0.%zu.1:11211" : "host-%zu:2212%zu", i, i % 10);
    free(all);
    assert_true(npairs >= 8);
    return 0;
}

/* Compares a continuum with a from-scratch build of its own membership. */
static void assert_same(const hr_continuum *a, const hr_continuum *b)
{
    assert_int_equal(a->nnodes, b->nnodes);
    assert_int_equal(a->npoints, b->npoints);
    for (size_t i = 0; i < a->nnodes; i++) {
        assert_int_equal(a->nodes[i].name->len, b->nodes[i].name->len);
        assert_memory_equal(a->nodes[i].name->bytes, b->nodes[i].name->bytes,
                            a->nodes[i].name->len);
        assert_int_equal(a->nodes[i].weight, b->nodes[i].weight);
        assert_int_equal(a->nodes[i].hashes, b->nodes[i].hashes);
        assert_int_equal(a->nodes[i].share, b->nodes[i].share);
    }
    assert_memory_equal(a->ent, b->ent, a->npoints * sizeof *a->ent);
    /* the search index too (a merge derives it from the old one) */
    assert_int_equal(a->index.shift, b->index.shift);
    assert_memory_equal(a->index.buckets, b->index.buckets, hr_index_bytes(&a->index));
    /* and the shared points' losers */
    assert_int_equal(a->ntied, b->ntied);
    if (a->ntied > 0)
        assert_memory_equal(a->tied, b->tied, a->ntied * sizeof *a->tied);
}

static void check_against_full(hash_ring_t *r)
{
    hash_ring_snapshot_t *s;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
    hr_member *m = malloc((s->nnodes + 1) * sizeof *m);
    for (size_t i = 0; i < s->nnodes; i++) {
        m[i].name = s->nodes[i].name;
        m[i].weight = s->nodes[i].weight;
    }
    hr_continuum *full = NULL;
    assert_int_equal(hr_build_full(s->dialect, s->names, m, s->nnodes, &full), 0);
    assert_same(s, full);

    /* and a new ring built from the final list in the same order */
    hash_ring_t *fresh;
    assert_int_equal(hash_ring_create(&fresh, s->dialect->id), 0);
    const void **names = malloc((s->nnodes + 1) * sizeof *names);
    size_t *lens = malloc((s->nnodes + 1) * sizeof *lens);
    uint32_t *ws = malloc((s->nnodes + 1) * sizeof *ws);
    for (size_t i = 0; i < s->nnodes; i++) {
        names[i] = s->nodes[i].name->bytes;
        lens[i] = s->nodes[i].name->len;
        ws[i] = s->nodes[i].weight;
    }
    assert_int_equal(hash_ring_add_nodes(fresh, names, lens, ws, s->nnodes), 0);
    hash_ring_snapshot_t *f;
    assert_int_equal(hash_ring_snapshot_acquire(fresh, &f), 0);
    assert_same(s, f);
    hash_ring_snapshot_release(f);
    hash_ring_destroy(fresh);
    free(names);
    free(lens);
    free(ws);
    hr_continuum_unref(full);
    free(m);
    hash_ring_snapshot_release(s);
}

/* Random add / batch add / remove / reweight sequences: after every step the
 * incrementally built continuum equals the from-scratch one. */
static void test_incremental_equals_full(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    static const uint32_t weights[] = {0, 1, 1, 1, 2, 3, 7, 100, 615, 98302, 4000000000u};
    for (int d = 0; d < NDIALECTS; d++) {
        hash_ring_t *r;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), 0);
        int member[POOL] = {0};
        for (int step = 0; step < 160; step++) {
            size_t i = (size_t)(tu_rand(&seed) % POOL);
            uint32_t w = weights[tu_rand(&seed) % (sizeof weights / sizeof *weights)];
            unsigned op = (unsigned)(tu_rand(&seed) % 10);
            /* bias towards equal weights so the merge path is taken often */
            if (op < 3)
                w = 1;
            const char *n = pool[i];
            if (op == 9) {
                /* batch of up to 5 non-members */
                const void *names[5];
                size_t lens[5], cnt = 0;
                uint32_t ws[5];
                for (size_t k = 0; k < POOL && cnt < 5; k++) {
                    size_t j = (i + k * 7) % POOL;
                    int dup = 0;
                    for (size_t q = 0; q < cnt; q++)
                        dup |= names[q] == pool[j];
                    if (!member[j] && !dup) {
                        names[cnt] = pool[j];
                        lens[cnt] = strlen(pool[j]);
                        ws[cnt++] = 1;
                        member[j] = 1;
                    }
                }
                assert_int_equal(hash_ring_add_nodes(r, names, lens, ws, cnt), 0);
            } else if (!member[i]) {
                assert_int_equal(hash_ring_add_node(r, n, strlen(n), w), 0);
                member[i] = 1;
            } else if (op < 6) {
                assert_int_equal(hash_ring_remove_node(r, n, strlen(n)), 0);
                member[i] = 0;
            } else {
                assert_int_equal(hash_ring_set_weight(r, n, strlen(n), w), 0);
            }
            check_against_full(r);
        }
        hash_ring_destroy(r);
    }
    /* the incremental path was taken, and never had to give up */
    unsigned long merges, fallbacks;
    hr_merge_counts(&merges, &fallbacks);
    print_message("merges: %lu, fallbacks: %lu\n", merges, fallbacks);
    assert_true(merges > 500);
    assert_int_equal(fallbacks, 0);
}

/* Owner at every position class of two snapshots: calls fn for each
 * maximal interval where both owners are constant, with its length. */
typedef void (*interval_fn)(const char *before, const char *after, uint64_t len, void *ctx);

static void for_each_interval(const hash_ring_snapshot_t *a, const hash_ring_snapshot_t *b,
                              interval_fn fn, void *ctx)
{
    size_t na = hash_ring_snapshot_point_count(a), nb = hash_ring_snapshot_point_count(b);
    uint32_t *u = malloc((na + nb + 2) * sizeof *u);
    size_t n = 0;
    for (size_t i = 0; i < na; i++)
        assert_int_equal(hash_ring_snapshot_point(a, i, &u[n++], NULL, NULL), 0);
    for (size_t i = 0; i < nb; i++)
        assert_int_equal(hash_ring_snapshot_point(b, i, &u[n++], NULL, NULL), 0);
    u[n++] = 0;
    u[n++] = UINT32_MAX;
    int (*cmp)(const void *, const void *) = NULL;
    (void)cmp;
    /* sort + unique */
    for (size_t i = 1; i < n; i++) {
        uint32_t x = u[i];
        size_t j = i;
        while (j > 0 && u[j - 1] > x) {
            u[j] = u[j - 1];
            j--;
        }
        u[j] = x;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || u[m - 1] != u[i])
            u[m++] = u[i];
    uint64_t covered = 0;
    for (size_t k = 0; k < m; k++) {
        const char *oa, *ob;
        assert_int_equal(hash_ring_snapshot_get_node_at(a, u[k], &oa, NULL), 0);
        assert_int_equal(hash_ring_snapshot_get_node_at(b, u[k], &ob, NULL), 0);
        fn(oa, ob, 1, ctx);
        covered++;
        uint64_t next = k + 1 < m ? u[k + 1] : (uint64_t)1 << 32;
        if (next > (uint64_t)u[k] + 1) {
            uint32_t p = u[k] + 1;
            assert_int_equal(hash_ring_snapshot_get_node_at(a, p, &oa, NULL), 0);
            assert_int_equal(hash_ring_snapshot_get_node_at(b, p, &ob, NULL), 0);
            fn(oa, ob, next - u[k] - 1, ctx);
            covered += next - u[k] - 1;
        }
    }
    assert_int_equal(covered, (uint64_t)1 << 32);
    free(u);
}

typedef struct move_ctx {
    const char *node; /* the added or removed node */
    int adding;
    uint64_t moved, bad;
} move_ctx;

static void count_moves(const char *before, const char *after, uint64_t len, void *vctx)
{
    move_ctx *c = vctx;
    if (before == after)
        return;
    c->moved += len;
    if (c->adding ? strcmp(after, c->node) != 0 : strcmp(before, c->node) != 0)
        c->bad += len;
}

/* Python with equal weights: adding a node moves keys only to it, exactly its
 * share; removing one moves only its keys.  Checked over all 2^32 positions. */
static void test_key_movement(void **state)
{
    (void)state;
    hash_ring_t *r;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), 0);
    for (int i = 0; i < 20; i++) {
        char n[32];
        snprintf(n, sizeof n, "10.1.0.%d:11211", i);
        assert_int_equal(hash_ring_add_node(r, n, strlen(n), 1), 0);
    }
    for (int round = 0; round < 6; round++) {
        char n[32];
        snprintf(n, sizeof n, "new-%d", round);
        hash_ring_snapshot_t *before, *after;
        assert_int_equal(hash_ring_snapshot_acquire(r, &before), 0);
        assert_int_equal(hash_ring_add_node(r, n, strlen(n), 1), 0);
        assert_int_equal(hash_ring_snapshot_acquire(r, &after), 0);
        move_ctx c = {n, 1, 0, 0};
        for_each_interval(before, after, count_moves, &c);
        assert_int_equal(c.bad, 0);
        uint64_t share;
        size_t nn = hash_ring_snapshot_node_count(after);
        assert_int_equal(hash_ring_snapshot_node(after, nn - 1, NULL, NULL, NULL, NULL, &share),
                         0);
        assert_int_equal(c.moved, share);
        /* about 1/(n+1) of the key space */
        double frac = (double)c.moved / 4294967296.0;
        assert_true(frac > 0.3 / (double)nn && frac < 3.0 / (double)nn);

        /* remove an old node: only its keys move */
        char old[32];
        snprintf(old, sizeof old, "10.1.0.%d:11211", round * 3);
        hash_ring_snapshot_release(before);
        before = after;
        uint64_t old_share = 0;
        for (size_t i = 0; i < nn; i++) {
            const char *name;
            uint64_t sh;
            assert_int_equal(hash_ring_snapshot_node(before, i, &name, NULL, NULL, NULL, &sh), 0);
            if (strcmp(name, old) == 0)
                old_share = sh;
        }
        assert_int_equal(hash_ring_remove_node(r, old, strlen(old)), 0);
        assert_int_equal(hash_ring_snapshot_acquire(r, &after), 0);
        move_ctx c2 = {old, 0, 0, 0};
        for_each_interval(before, after, count_moves, &c2);
        assert_int_equal(c2.bad, 0);
        assert_int_equal(c2.moved, old_share);
        hash_ring_snapshot_release(before);
        hash_ring_snapshot_release(after);
    }
    hash_ring_destroy(r);
}

typedef struct general_ctx {
    const hash_ring_snapshot_t *a, *b;
    const char *added;
    uint64_t bad;
} general_ctx;

static size_t points_of(const hash_ring_snapshot_t *s, const char *name)
{
    for (size_t i = 0; i < hash_ring_snapshot_node_count(s); i++) {
        const char *n;
        size_t pts;
        assert_int_equal(hash_ring_snapshot_node(s, i, &n, NULL, NULL, &pts, NULL), 0);
        if (strcmp(n, name) == 0)
            return pts;
    }
    return 0;
}

static void general_moves(const char *before, const char *after, uint64_t len, void *vctx)
{
    general_ctx *c = vctx;
    if (before == after || strcmp(after, c->added) == 0)
        return;
    /* a key moved between two old nodes: one of them must have changed its
     * number of points (the hash counts depend on n and the total weight) */
    if (points_of(c->a, before) == points_of(c->b, before) &&
        points_of(c->a, after) == points_of(c->b, after))
        c->bad += len;
}

/* Every dialect, uneven weights: a key moves only to the new node or between
 * nodes whose point counts changed. */
static void test_key_movement_general(void **state)
{
    (void)state;
    static const uint32_t w[] = {10, 5, 6, 9, 2, 8, 2, 1, 1, 3};
    for (int d = 0; d < NDIALECTS; d++) {
        hash_ring_t *r;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), 0);
        for (int i = 0; i < 10; i++) {
            char n[32];
            snprintf(n, sizeof n, "cache-%d:11212", i);
            assert_int_equal(hash_ring_add_node(r, n, strlen(n), w[i]), 0);
        }
        hash_ring_snapshot_t *a, *b;
        assert_int_equal(hash_ring_snapshot_acquire(r, &a), 0);
        assert_int_equal(hash_ring_add_node(r, "cache-new:11212", 15, 4), 0);
        assert_int_equal(hash_ring_snapshot_acquire(r, &b), 0);
        general_ctx c = {a, b, "cache-new:11212", 0};
        for_each_interval(a, b, general_moves, &c);
        assert_int_equal(c.bad, 0);
        hash_ring_snapshot_release(a);
        hash_ring_snapshot_release(b);
        hash_ring_destroy(r);
    }
}

/* Linear-scan oracle of the lookup at chosen positions, on the public
 * continuum listing: first point > (python) or >= (others), wrapping. */
static void test_lookup_oracle(void **state)
{
    (void)state;
    uint64_t seed = 12345;
    for (int d = 0; d < NDIALECTS; d++) {
        int strict = d == HASH_RING_DIALECT_PYTHON;
        hash_ring_t *r;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), 0);
        /* colliding pairs plus others: a ring with shared points */
        for (size_t i = 0; i < 2 * npairs + 6; i++)
            assert_int_equal(hash_ring_add_node(r, pool[i], strlen(pool[i]),
                                                (uint32_t)(1 + i % 3)),
                             0);
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
        size_t np = hash_ring_snapshot_point_count(s);
        uint32_t *pt = malloc(np * sizeof *pt);
        const char **ow = malloc(np * sizeof *ow);
        for (size_t i = 0; i < np; i++)
            assert_int_equal(hash_ring_snapshot_point(s, i, &pt[i], &ow[i], NULL), 0);
        for (size_t i = 1; i < np; i++)
            assert_true(pt[i - 1] <= pt[i]);
        size_t probes = 0;
        for (size_t i = 0; i < np + 20000; i++) {
            uint32_t pos;
            if (i < np) /* exact hits and both neighbours */
                pos = pt[i] + (uint32_t)(i % 3) - 1u;
            else if (i < np + 4)
                pos = (uint32_t[]){0, 1, UINT32_MAX, UINT32_MAX - 1}[i - np];
            else
                pos = (uint32_t)tu_rand(&seed);
            size_t k = 0;
            while (k < np && (strict ? pt[k] <= pos : pt[k] < pos))
                k++;
            if (k == np)
                k = 0;
            const char *got;
            assert_int_equal(hash_ring_snapshot_get_node_at(s, pos, &got, NULL), 0);
            assert_ptr_equal(got, ow[k]);
            probes++;
        }
        assert_true(probes > 20000);
        free(pt);
        free(ow);
        hash_ring_snapshot_release(s);
        hash_ring_destroy(r);
    }
}

/* Shares equal the arcs computed here from the listing; they sum to 2^32. */
static void test_shares_exact(void **state)
{
    (void)state;
    for (int d = 0; d < NDIALECTS; d++) {
        hash_ring_t *r;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), 0);
        for (size_t i = 0; i < 2 * npairs; i++)
            assert_int_equal(hash_ring_add_node(r, pool[i], strlen(pool[i]), 1), 0);
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
        size_t nn = hash_ring_snapshot_node_count(s), np = hash_ring_snapshot_point_count(s);
        uint64_t *mine = calloc(nn, sizeof *mine);
        const char **names = calloc(nn, sizeof *names);
        for (size_t i = 0; i < nn; i++)
            assert_int_equal(hash_ring_snapshot_node(s, i, &names[i], NULL, NULL, NULL, NULL), 0);
        /* every position p: owner = get_node_at(p); the arc ending at point
         * k (for >=) or starting at point k-1 (for >) has a single owner, so
         * evaluate once per distinct gap */
        uint32_t prev = 0;
        for (size_t i = 0; i <= np; i++) {
            uint32_t p;
            uint64_t end;
            if (i < np) {
                assert_int_equal(hash_ring_snapshot_point(s, i, &p, NULL, NULL), 0);
                end = p;
            } else {
                end = (uint64_t)1 << 32;
            }
            uint64_t start = i == 0 ? 0 : (uint64_t)prev + 1;
            /* positions [start, end]: split into the lone point and the rest */
            for (uint64_t q = start; q <= end && q < ((uint64_t)1 << 32);) {
                uint64_t stop = q == end ? end : end - 1;
                if (stop < q)
                    stop = q;
                const char *o;
                assert_int_equal(hash_ring_snapshot_get_node_at(s, (uint32_t)q, &o, NULL), 0);
                size_t idx = 0;
                while (names[idx] != o)
                    idx++;
                mine[idx] += stop - q + 1;
                q = stop + 1;
            }
            if (i < np)
                prev = p;
        }
        uint64_t total = 0;
        for (size_t i = 0; i < nn; i++) {
            uint64_t share;
            assert_int_equal(hash_ring_snapshot_node(s, i, NULL, NULL, NULL, NULL, &share), 0);
            assert_int_equal(share, mine[i]);
            total += share;
        }
        assert_int_equal(total, (uint64_t)1 << 32);
        free(mine);
        free(names);
        hash_ring_snapshot_release(s);
        hash_ring_destroy(r);
    }
}

/* Shared points: the listed order and the owner follow each dialect's rule
 * (python: the node added last, both copies reported with it; node,
 * libketama, libmemcached, hashring: the node added first; twemproxy: the
 * shorter name, then bytewise). */
static void test_tie_rules(void **state)
{
    (void)state;
    for (int d = 0; d < NDIALECTS; d++) {
        for (int order = 0; order < 2; order++) {
            hash_ring_t *r;
            assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), 0);
            for (size_t k = 0; k < 2 * npairs; k++) {
                size_t i = order ? 2 * npairs - 1 - k : k;
                assert_int_equal(hash_ring_add_node(r, pool[i], strlen(pool[i]), 1), 0);
            }
            hash_ring_snapshot_t *s;
            assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
            size_t runs = 0;
            for (size_t i = 1; i < s->npoints; i++) {
                uint32_t pi = hr_continuum_point(s, i);
                size_t fi = hr_continuum_owner(s, i - 1), si = hr_continuum_owner(s, i);
                if (pi != hr_continuum_point(s, i - 1) || fi == si)
                    continue;
                const hr_name *first = s->nodes[fi].name;
                const hr_name *second = s->nodes[si].name;
                const char *o1, *o2;
                assert_int_equal(hash_ring_snapshot_point(s, i - 1, NULL, &o1, NULL), 0);
                assert_int_equal(hash_ring_snapshot_point(s, i, NULL, &o2, NULL), 0);
                const char *winner;
                assert_int_equal(hash_ring_snapshot_get_node_at(s, pi - 1u, &winner, NULL),
                                 0);
                switch (d) {
                case HASH_RING_DIALECT_PYTHON:
                    assert_true(fi > si);       /* later-added first */
                    assert_ptr_equal(o1, o2);   /* reported with the winner */
                    assert_ptr_equal(o1, first->bytes);
                    break;
                case HASH_RING_DIALECT_TWEMPROXY: /* by the names it hashes */
                    assert_true(first->hlen < second->hlen ||
                                (first->hlen == second->hlen &&
                                 memcmp(first->hkey, second->hkey, first->hlen) < 0));
                    assert_ptr_equal(o1, first->bytes);
                    assert_ptr_equal(o2, second->bytes);
                    /* the key just below the point reaches it (>=) */
                    assert_ptr_equal(winner, first->bytes);
                    break;
                default:
                    assert_true(fi < si);
                    assert_ptr_equal(o1, first->bytes);
                    assert_ptr_equal(o2, second->bytes);
                    assert_ptr_equal(winner, first->bytes);
                }
                runs++;
            }
            /* p=3 dialects see fewer of the collisions than p=4 ones */
            assert_true(runs >= 3);
            hash_ring_snapshot_release(s);
            hash_ring_destroy(r);
        }
    }
}

/* The bytes each dialect hashes for a node name, written out by hand from
 * the peers' rules (README "Dialects"; the live peer tests check the same
 * rules against libmemcached and nutcracker): the libmemcached port is a
 * number (strtoul, 16 bits, 0 = 11211), the twemproxy port is text left out
 * only when its value is 11211; unix sockets get ":0" / ":". */
static void test_host_port_names(void **state)
{
    (void)state;
    static const struct {
        hash_ring_dialect_t d;
        const char *name, *hashed;
    } t[] = {
        {HASH_RING_DIALECT_LIBMEMCACHED, "h:11211", "h"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "h:011211", "h"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "h:0", "h"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "h:65536", "h"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "h:76747", "h"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "h:65535", "h:65535"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "h:01212", "h:1212"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "h", "h"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "h:", "h:"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "h:x1", "h:x1"},
        {HASH_RING_DIALECT_LIBMEMCACHED, ":11212", ":11212"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "[a::1]:11212", "[a::1]:11212"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "[a::1]:011211", "[a::1]"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "a::1:11212", "a::1:11212"},
        {HASH_RING_DIALECT_LIBMEMCACHED, "/run/mc.sock", "/run/mc.sock:0"},
        {HASH_RING_DIALECT_TWEMPROXY, "h:11211", "h"},
        {HASH_RING_DIALECT_TWEMPROXY, "h:011211", "h"},
        {HASH_RING_DIALECT_TWEMPROXY, "h:01302", "h:01302"},
        {HASH_RING_DIALECT_TWEMPROXY, "h:76747", "h:76747"},
        {HASH_RING_DIALECT_TWEMPROXY, "h:0", "h:0"},
        {HASH_RING_DIALECT_TWEMPROXY, "[v6]:11211", "[v6]"},
        {HASH_RING_DIALECT_TWEMPROXY, "[v6]:11212", "[v6]:11212"},
        {HASH_RING_DIALECT_TWEMPROXY, "web:080", "web:080"},
        {HASH_RING_DIALECT_TWEMPROXY, "/run/mc.sock", "/run/mc.sock:"},
        {HASH_RING_DIALECT_TWEMPROXY, "/cache-a", "/cache-a:"}, /* always a socket here */
        {HASH_RING_DIALECT_TWEMPROXY, "h", "h"},
        {HASH_RING_DIALECT_PYTHON, "h:11211", "h:11211"},
        {HASH_RING_DIALECT_PYTHON, "/run/mc.sock", "/run/mc.sock"},
        {HASH_RING_DIALECT_HASHRING, "h:011211", "h:011211"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        hash_ring_t *r;
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_create(&r, t[i].d), 0);
        assert_int_equal(hash_ring_add_node(r, t[i].name, strlen(t[i].name), 1), 0);
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
        const hr_name *n = s->nodes[0].name;
        if (n->hlen != strlen(t[i].hashed) || memcmp(n->hkey, t[i].hashed, n->hlen) != 0)
            fail_msg("%s %s: hashes '%.*s', expected '%s'", hash_ring_dialect_name(t[i].d),
                     t[i].name, (int)n->hlen, n->hkey, t[i].hashed);
        /* the points are those of the hashed bytes, and the node is
         * reported under its own name */
        uint32_t want[4];
        char buf[64];
        int len = snprintf(buf, sizeof buf, "%s-0", t[i].hashed);
        unsigned char d[16];
        assert_int_equal(hr_md5(buf, (size_t)len, d), 0);
        for (int k = 0; k < 4; k++)
            want[k] = (uint32_t)d[4 * k] | (uint32_t)d[4 * k + 1] << 8 |
                      (uint32_t)d[4 * k + 2] << 16 | (uint32_t)d[4 * k + 3] << 24;
        const char *owner;
        assert_int_equal(hash_ring_snapshot_get_node_at(s, want[0] - 1u, &owner, NULL), 0);
        assert_string_equal(owner, t[i].name);
        int found = 0;
        for (size_t p = 0; p < hash_ring_snapshot_point_count(s); p++) {
            uint32_t pt;
            assert_int_equal(hash_ring_snapshot_point(s, p, &pt, NULL, NULL), 0);
            found += pt == want[0];
        }
        assert_true(found >= 1);
        hash_ring_snapshot_release(s);
        hash_ring_destroy(r);
    }
}

/* The name table (src/names.c) against a model: names interned and
 * forgotten in random order, with probe runs crossing one another (the
 * table stays between 1/4 and 1/2 full); after every step each name of the
 * pool is found exactly when the model holds it.  Forgetting must move
 * the later entries of a probe run back into the hole, or lookups stop
 * there. */
static void test_name_table_forget(void **state)
{
    (void)state;
    enum { NPOOL = 1500, STEPS = 6000 };
    static char pool_names[NPOOL][16];
    static hr_name *held[NPOOL];
    const hr_dialect *d = hr_dialect_get(HASH_RING_DIALECT_LIBMEMCACHED);
    for (size_t i = 0; i < NPOOL; i++)
        snprintf(pool_names[i], sizeof pool_names[i], "n%zu:%zu", i, 11200 + i % 20);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        uint64_t st = seed * 0x9e3779b97f4a7c15u;
        hr_names *t = hr_names_new();
        assert_non_null(t);
        memset(held, 0, sizeof held);
        size_t live = 0;
        for (size_t step = 0; step < STEPS; step++) {
            size_t i = (size_t)(tu_rand(&st) % NPOOL);
            /* intern more often while few are held, forget more while many */
            int intern = (tu_rand(&st) % NPOOL) >= live;
            if (intern && held[i] == NULL) {
                int created = 0;
                assert_int_equal(hr_names_intern(t, d, pool_names[i], strlen(pool_names[i]),
                                                 &held[i], &created),
                                 HASH_RING_OK);
                assert_true(created);
                live++;
            } else if (!intern && held[i] != NULL) {
                hr_names_forget(t, held[i]);
                held[i] = NULL;
                live--;
            }
            if (step % 7 != 0 && step + 1 != STEPS)
                continue;
            for (size_t k = 0; k < NPOOL; k++) {
                hr_name *n = hr_names_find(t, pool_names[k], strlen(pool_names[k]));
                if (n != held[k])
                    fail_msg("seed %llu step %zu: name %s %s", (unsigned long long)seed, step,
                             pool_names[k], held[k] ? "lost" : "still found");
            }
        }
        assert_true(live > 0);
        hr_names_unref(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incremental_equals_full),
        cmocka_unit_test(test_key_movement),
        cmocka_unit_test(test_key_movement_general),
        cmocka_unit_test(test_lookup_oracle),
        cmocka_unit_test(test_shares_exact),
        cmocka_unit_test(test_tie_rules),
        cmocka_unit_test(test_host_port_names),
        cmocka_unit_test(test_name_table_forget),
    };
    return cmocka_run_group_tests(tests, setup_pool, NULL);
}
