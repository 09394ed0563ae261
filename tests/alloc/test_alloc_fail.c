/* test_alloc_fail.c - every allocation of every public operation may fail.
 *
 * For each operation and each N, the N-th allocation call the library makes
 * during that operation fails (alloc_hook.c; in a second pass the N-th and
 * every later one).  Each time:
 *   - the status is HASH_RING_ENOMEM (an operation that still succeeds must
 *     leave exactly the state a clean run leaves);
 *   - out-parameters are untouched;
 *   - the ring is unchanged: same node list (names, weights, points,
 *     shares), same continuum (every point and its owner), same lookups and
 *     replica lists for a fixed set of keys;
 *   - the same operation, repeated on that ring without injection,
 *     succeeds and gives the state of a clean run;
 *   - after destroying everything, no block allocated by the library is
 *     left (live-block count of the wrappers).
 * The sweep ends at the first N beyond the operation's allocation count,
 * and must have failed at least once for an operation that allocates.
 * Operations documented as not allocating (lookups, get_nodes with max <=
 * 64, snapshot acquire) must make no allocation call at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc_hook.h"
#include "hash_ring.h"

#define NDIALECTS 14 /* every dialect, the seven of 1.1 included */
#define NKEYS 48

/* ---- a ring's observable state, copied into test memory ---------------- */

typedef struct fp_node {
    char *name;
    size_t len, points;
    uint32_t weight;
    uint64_t share;
} fp_node;

typedef struct fingerprint {
    size_t nn, np;
    fp_node *nodes;
    uint32_t *pos;
    size_t *owner;          /* node index of point i's owner */
    int key_rc[NKEYS];
    size_t key_owner[NKEYS];
    size_t *replicas;       /* NKEYS rows of nn+1 node indexes */
    size_t rep_count[NKEYS];
} fingerprint;

static size_t fp_index(const fingerprint *f, const char *name, size_t len)
{
    for (size_t i = 0; i < f->nn; i++)
        if (f->nodes[i].len == len && memcmp(f->nodes[i].name, name, len) == 0)
            return i;
    fail_msg("a lookup returned a name that is not a member");
    return SIZE_MAX;
}

static void key_of(size_t k, char *buf, size_t *len)
{
    *len = (size_t)snprintf(buf, 32, "key-%zu", k);
}

/* Must be called with injection disarmed. */
static void fp_take(const hash_ring_t *r, fingerprint *f)
{
    memset(f, 0, sizeof *f);
    hash_ring_snapshot_t *s = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    f->nn = hash_ring_snapshot_node_count(s);
    f->np = hash_ring_snapshot_point_count(s);
    f->nodes = calloc(f->nn + 1, sizeof *f->nodes);
    f->pos = calloc(f->np + 1, sizeof *f->pos);
    f->owner = calloc(f->np + 1, sizeof *f->owner);
    f->replicas = calloc(NKEYS * (f->nn + 1), sizeof *f->replicas);
    assert_true(f->nodes && f->pos && f->owner && f->replicas);
    for (size_t i = 0; i < f->nn; i++) {
        const char *name;
        fp_node *n = &f->nodes[i];
        assert_int_equal(hash_ring_snapshot_node(s, i, &name, &n->len, &n->weight, &n->points,
                                                 &n->share),
                         HASH_RING_OK);
        n->name = malloc(n->len + 1);
        assert_non_null(n->name);
        memcpy(n->name, name, n->len + 1);
    }
    for (size_t i = 0; i < f->np; i++) {
        const char *owner;
        size_t olen;
        assert_int_equal(hash_ring_snapshot_point(s, i, &f->pos[i], &owner, &olen),
                         HASH_RING_OK);
        f->owner[i] = fp_index(f, owner, olen);
    }
    hash_ring_snapshot_release(s);
    const char **names = calloc(f->nn + 1, sizeof *names);
    size_t *lens = calloc(f->nn + 1, sizeof *lens);
    assert_true(names && lens);
    for (size_t k = 0; k < NKEYS; k++) {
        char key[32];
        size_t klen;
        key_of(k, key, &klen);
        const char *node = NULL;
        size_t nlen = 0;
        f->key_rc[k] = hash_ring_get_node(r, key, klen, &node, &nlen);
        if (f->key_rc[k] == HASH_RING_OK)
            f->key_owner[k] = fp_index(f, node, nlen);
        size_t count = 0;
        int rc = hash_ring_get_nodes(r, key, klen, names, lens, f->nn + 1, &count);
        assert_int_equal(rc, f->key_rc[k]);
        if (rc != HASH_RING_OK)
            continue;
        f->rep_count[k] = count;
        for (size_t i = 0; i < count; i++)
            f->replicas[k * (f->nn + 1) + i] = fp_index(f, names[i], lens[i]);
    }
    free(names);
    free(lens);
}

static void fp_free(fingerprint *f)
{
    for (size_t i = 0; i < f->nn; i++)
        free(f->nodes[i].name);
    free(f->nodes);
    free(f->pos);
    free(f->owner);
    free(f->replicas);
    memset(f, 0, sizeof *f);
}

static void fp_assert_equal(const fingerprint *a, const fingerprint *b)
{
    assert_int_equal(a->nn, b->nn);
    assert_int_equal(a->np, b->np);
    for (size_t i = 0; i < a->nn; i++) {
        assert_int_equal(a->nodes[i].len, b->nodes[i].len);
        assert_memory_equal(a->nodes[i].name, b->nodes[i].name, a->nodes[i].len);
        assert_int_equal(a->nodes[i].weight, b->nodes[i].weight);
        assert_int_equal(a->nodes[i].points, b->nodes[i].points);
        assert_int_equal(a->nodes[i].share, b->nodes[i].share);
    }
    for (size_t i = 0; i < a->np; i++) {
        assert_int_equal(a->pos[i], b->pos[i]);
        assert_int_equal(a->owner[i], b->owner[i]);
    }
    for (size_t k = 0; k < NKEYS; k++) {
        assert_int_equal(a->key_rc[k], b->key_rc[k]);
        if (a->key_rc[k] != HASH_RING_OK)
            continue;
        assert_int_equal(a->key_owner[k], b->key_owner[k]);
        assert_int_equal(a->rep_count[k], b->rep_count[k]);
        for (size_t i = 0; i < a->rep_count[k]; i++)
            assert_int_equal(a->replicas[k * (a->nn + 1) + i], b->replicas[k * (b->nn + 1) + i]);
    }
}

/* ---- fixtures ----------------------------------------------------------- */

/* Node i's name: host:port forms, so the host:port dialects store a second
 * (hashed) form; some end in :11211 and hash as the bare host. */
static size_t node_name(size_t i, char *buf)
{
    return (size_t)snprintf(buf, 48, "10.0.%zu.%zu:%u", i / 200, i % 200,
                            i % 3 == 0 ? 11211u : 11000u + (unsigned)i);
}

static hash_ring_t *ring_with(hash_ring_dialect_t d, size_t n)
{
    hash_ring_t *r = NULL;
    assert_int_equal(hash_ring_create(&r, d), HASH_RING_OK);
    for (size_t i = 0; i < n; i++) {
        char name[48];
        size_t len = node_name(i, name);
        assert_int_equal(hash_ring_add_node(r, name, len, 1u + (uint32_t)(i % 4)), HASH_RING_OK);
    }
    return r;
}

/* ---- operations under test -------------------------------------------- */

typedef struct op {
    const char *what;
    size_t fixture_nodes;
    int (*setup)(hash_ring_t *r); /* optional extra preparation, no injection */
    int (*run)(hash_ring_t *r);   /* the operation; HASH_RING_* status */
    int mutates;                  /* 0: a query, must not change anything */
    int may_allocate;             /* 0: documented to need no memory */
} op;

static int setup_none(hash_ring_t *r)
{
    (void)r;
    return HASH_RING_OK;
}

static int run_add_one(hash_ring_t *r)
{
    return hash_ring_add_node(r, "new-node:11211", 14, 3);
}

static int run_add_long(hash_ring_t *r)
{
    static char name[300];
    memset(name, 'x', sizeof name);
    memcpy(name + sizeof name - 6, ":11300", 6);
    return hash_ring_add_node(r, name, sizeof name, 2);
}

/* Re-adding a name the ring has seen reuses its interned copy. */
static int setup_removed(hash_ring_t *r)
{
    char name[48];
    size_t len = node_name(2, name);
    return hash_ring_remove_node(r, name, len);
}

static int run_readd(hash_ring_t *r)
{
    char name[48];
    size_t len = node_name(2, name);
    return hash_ring_add_node(r, name, len, 7);
}

static int run_add_batch(hash_ring_t *r, size_t first, size_t count, int weighted)
{
    char buf[40][48];
    const void *names[40];
    size_t lens[40];
    uint32_t weights[40];
    for (size_t i = 0; i < count; i++) {
        lens[i] = node_name(first + i, buf[i]);
        names[i] = buf[i];
        weights[i] = (uint32_t)(i % 5); /* includes weight 0 */
    }
    return hash_ring_add_nodes(r, names, lens, weighted ? weights : NULL, count);
}

static int run_add_batch_big(hash_ring_t *r)
{
    return run_add_batch(r, 500, 20, 1); /* more than the ring: full rebuild */
}

static int run_add_batch_small(hash_ring_t *r)
{
    return run_add_batch(r, 600, 3, 0); /* small change: merged */
}

static int run_remove(hash_ring_t *r)
{
    char name[48];
    size_t len = node_name(4, name);
    return hash_ring_remove_node(r, name, len);
}

static int run_remove_last(hash_ring_t *r)
{
    char name[48];
    size_t len = node_name(0, name);
    return hash_ring_remove_node(r, name, len);
}

static int run_weight_up(hash_ring_t *r)
{
    char name[48];
    size_t len = node_name(5, name);
    return hash_ring_set_weight(r, name, len, 40);
}

static int run_weight_zero(hash_ring_t *r)
{
    char name[48];
    size_t len = node_name(1, name);
    return hash_ring_set_weight(r, name, len, 0);
}

static int run_weight_huge(hash_ring_t *r)
{
    char name[48];
    size_t len = node_name(3, name);
    return hash_ring_set_weight(r, name, len, UINT32_MAX);
}

/* Queries: outputs are checked against a clean run by the caller through
 * the fingerprint; here their status and out-parameters. */
static const char *q_nodes[128];
static size_t q_lens[128], q_count;

static int run_get_nodes(hash_ring_t *r, size_t max)
{
    q_count = SIZE_MAX; /* sentinel: must stay on failure */
    int rc = hash_ring_get_nodes(r, "some key", 8, q_nodes, q_lens, max, &q_count);
    if (rc != HASH_RING_OK)
        assert_int_equal(q_count, SIZE_MAX);
    else
        assert_true(q_count <= max);
    return rc;
}

static int run_get_nodes_70(hash_ring_t *r)
{
    return run_get_nodes(r, 70);
}

static int run_get_nodes_100(hash_ring_t *r)
{
    return run_get_nodes(r, 100);
}

static int run_get_nodes_64(hash_ring_t *r)
{
    return run_get_nodes(r, 64);
}

static int run_get_node(hash_ring_t *r)
{
    const char *node = NULL;
    size_t len = 0;
    return hash_ring_get_node(r, "another key", 11, &node, &len);
}

static int run_snapshot(hash_ring_t *r)
{
    hash_ring_snapshot_t *s = NULL;
    int rc = hash_ring_snapshot_acquire(r, &s);
    if (rc == HASH_RING_OK) {
        const char *node = NULL;
        const char *nodes[70];
        size_t count = 0;
        assert_int_equal(hash_ring_snapshot_get_node(s, "k", 1, &node, NULL), HASH_RING_OK);
        assert_int_equal(hash_ring_snapshot_get_nodes(s, "k", 1, nodes, NULL, 10, &count),
                         HASH_RING_OK);
        hash_ring_snapshot_release(s);
    } else {
        assert_null(s);
    }
    return rc;
}

static const op ops[] = {
    {"add_node to an empty ring", 0, setup_none, run_add_one, 1, 1},
    {"add_node to 10 nodes", 10, setup_none, run_add_one, 1, 1},
    {"add_node, 300-byte name", 10, setup_none, run_add_long, 1, 1},
    {"add_node of a removed name", 10, setup_removed, run_readd, 1, 1},
    {"add_nodes, 20 onto 3", 3, setup_none, run_add_batch_big, 1, 1},
    {"add_nodes, 3 onto 30", 30, setup_none, run_add_batch_small, 1, 1},
    {"remove_node of 10", 10, setup_none, run_remove, 1, 1},
    {"remove_node, the only node", 1, setup_none, run_remove_last, 1, 1},
    {"set_weight up", 10, setup_none, run_weight_up, 1, 1},
    {"set_weight to 0", 10, setup_none, run_weight_zero, 1, 1},
    {"set_weight to UINT32_MAX", 10, setup_none, run_weight_huge, 1, 1},
    {"get_nodes max 70 of 70", 70, setup_none, run_get_nodes_70, 0, 1},
    {"get_nodes max 100 of 70", 70, setup_none, run_get_nodes_100, 0, 1},
    {"get_nodes max 64 of 70", 70, setup_none, run_get_nodes_64, 0, 0},
    {"get_node", 10, setup_none, run_get_node, 0, 0},
    {"snapshot acquire and queries", 10, setup_none, run_snapshot, 0, 0},
};

/* The state a clean run of o leaves, on a fresh fixture. */
static void clean_run(hash_ring_dialect_t d, const op *o, fingerprint *after, size_t *allocs)
{
    hash_ring_t *r = ring_with(d, o->fixture_nodes);
    assert_int_equal(o->setup(r), HASH_RING_OK);
    ah_arm(0, 0);
    int rc = o->run(r);
    *allocs = ah_disarm();
    assert_int_equal(rc, HASH_RING_OK);
    fp_take(r, after);
    hash_ring_destroy(r);
}

static size_t total_runs, total_enomem, total_tolerated;

static void sweep_op(hash_ring_dialect_t d, const op *o, int sticky)
{
    fingerprint after;
    size_t allocs;
    clean_run(d, o, &after, &allocs);
    if (!o->may_allocate) {
        if (allocs != 0)
            fail_msg("%s (%s): %zu allocation calls in an operation documented not to "
                     "allocate", o->what, hash_ring_dialect_name(d), allocs);
        fp_free(&after);
        return;
    }
    size_t enomem = 0;
    for (size_t n = 1;; n++) {
        long live0 = ah_live();
        hash_ring_t *r = ring_with(d, o->fixture_nodes);
        assert_int_equal(o->setup(r), HASH_RING_OK);
        fingerprint before, now;
        fp_take(r, &before);
        long live_op = ah_live();
        ah_arm(n, sticky);
        int rc = o->run(r);
        size_t calls = ah_disarm();
        size_t failed = ah_failed();
        /* a failed operation keeps nothing it allocated (names it interned
         * included: refused calls must not grow the ring's memory) */
        if (rc != HASH_RING_OK && ah_live() != live_op)
            fail_msg("%s (%s): allocation %zu failed: the failed call kept %ld blocks",
                     o->what, hash_ring_dialect_name(d), n, ah_live() - live_op);
        fp_take(r, &now);
        total_runs++;
        if (failed == 0) {
            /* past the last allocation: a clean run */
            assert_int_equal(rc, HASH_RING_OK);
            fp_assert_equal(&now, &after);
        } else if (rc == HASH_RING_OK) {
            /* tolerated the failure: must still be exactly right */
            total_tolerated++;
            fp_assert_equal(&now, &after);
        } else {
            if (rc != HASH_RING_ENOMEM)
                fail_msg("%s (%s): allocation %zu failed: status %d (%s), expected ENOMEM",
                         o->what, hash_ring_dialect_name(d), n, rc, hash_ring_strerror(rc));
            enomem++;
            total_enomem++;
            fp_assert_equal(&now, &before);
            /* and the ring still works: the same operation now succeeds */
            fp_free(&now);
            assert_int_equal(o->run(r), HASH_RING_OK);
            fp_take(r, &now);
            fp_assert_equal(&now, &after);
        }
        fp_free(&before);
        fp_free(&now);
        hash_ring_destroy(r);
        if (ah_live() != live0)
            fail_msg("%s (%s): allocation %zu failed: %ld blocks leaked", o->what,
                     hash_ring_dialect_name(d), n, ah_live() - live0);
        if (failed == 0) {
            assert_true(calls < n);
            break;
        }
    }
    /* every allocation of a clean run was made to fail once */
    if (allocs > 0 && enomem == 0)
        fail_msg("%s (%s): %zu allocations, none reported ENOMEM", o->what,
                 hash_ring_dialect_name(d), allocs);
    fp_free(&after);
}

static void test_ops(void **state)
{
    (void)state;
    /* Single failures in every dialect; sticky failures (the N-th and all
     * later allocations) in one dialect per storage layout: python (3
     * points a digest, names stored once) and libmemcached (4 points,
     * names stored with their host:port hashed form). */
    for (int d = 0; d < NDIALECTS; d++)
        for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
            for (int sticky = 0; sticky < 2; sticky++) {
                /* w * 160 points: a weight of UINT32_MAX is refused there
                 * (HASH_RING_ENOMEM even without injection; see
                 * test_properties_clients) */
                if (ops[i].run == run_weight_huge &&
                    (d == HASH_RING_DIALECT_NGINX || d == HASH_RING_DIALECT_PECL_MEMCACHE))
                    continue;
                if (!sticky || d == HASH_RING_DIALECT_PYTHON ||
                    d == HASH_RING_DIALECT_LIBMEMCACHED)
                    sweep_op((hash_ring_dialect_t)d, &ops[i], sticky);
            }
    print_message("%zu injected runs: %zu ENOMEM, %zu tolerated\n", total_runs,
                  total_enomem, total_tolerated);
}

/* Refused adds (a member already, a name twice in the batch) keep no
 * memory: 20,000 of them, each with names the ring has never seen, leave
 * the live block count where it was, and the ring unchanged.  Names that
 * were members once stay (lookups returned pointers to them). */
static void test_refused_adds_keep_nothing(void **state)
{
    (void)state;
    for (int d = 0; d < NDIALECTS; d++) {
        hash_ring_t *r = ring_with((hash_ring_dialect_t)d, 50);
        assert_int_equal(hash_ring_add_node(r, "gone", 4, 1), HASH_RING_OK);
        assert_int_equal(hash_ring_remove_node(r, "gone", 4), HASH_RING_OK);
        fingerprint before, now;
        fp_take(r, &before);
        char member[32];
        size_t member_len = node_name(7, member);
        long live0 = ah_live();
        for (size_t i = 0; i < 20000; i++) {
            char a[32], b[32];
            int al = snprintf(a, sizeof a, "fresh-%zu", i);
            int bl = snprintf(b, sizeof b, "other-%zu", i);
            const void *with_member[3] = {a, b, member};
            size_t with_member_len[3] = {(size_t)al, (size_t)bl, member_len};
            assert_int_equal(hash_ring_add_nodes(r, with_member, with_member_len, NULL, 3),
                             HASH_RING_EEXIST);
            /* a fresh name twice (forgotten once), an old non-member name */
            const void *twice[3] = {a, "gone", a};
            size_t twice_len[3] = {(size_t)al, 4, (size_t)al};
            assert_int_equal(hash_ring_add_nodes(r, twice, twice_len, NULL, 3),
                             HASH_RING_EEXIST);
            assert_int_equal(hash_ring_add_node(r, member, member_len, 1), HASH_RING_EEXIST);
            if (ah_live() != live0)
                fail_msg("%s: after %zu refused batches %ld blocks more are live",
                         hash_ring_dialect_name((hash_ring_dialect_t)d), i + 1,
                         ah_live() - live0);
        }
        fp_take(r, &now);
        fp_assert_equal(&now, &before);
        fp_free(&now);
        /* forgotten names can be added afterwards, and the old one re-added */
        const void *again[2] = {"fresh-3", "gone"};
        size_t again_len[2] = {7, 4};
        assert_int_equal(hash_ring_add_nodes(r, again, again_len, NULL, 2), HASH_RING_OK);
        const char *node;
        assert_int_equal(hash_ring_remove_node(r, "fresh-3", 7), HASH_RING_OK);
        assert_int_equal(hash_ring_remove_node(r, "gone", 4), HASH_RING_OK);
        assert_int_equal(hash_ring_get_node(r, "k", 1, &node, NULL), HASH_RING_OK);
        fp_take(r, &now);
        fp_assert_equal(&now, &before);
        fp_free(&now);
        fp_free(&before);
        hash_ring_destroy(r);
    }
}

/* hash_ring_create: ENOMEM, *out untouched, nothing left allocated. */
static void test_create(void **state)
{
    (void)state;
    for (int d = 0; d < NDIALECTS; d++) {
        for (int sticky = 0; sticky < 2; sticky++) {
            size_t enomem = 0;
            for (size_t n = 1;; n++) {
                long live0 = ah_live();
                static char sentinel; /* only compared, never dereferenced */
                hash_ring_t *r = (hash_ring_t *)(void *)&sentinel;
                ah_arm(n, sticky);
                int rc = hash_ring_create(&r, (hash_ring_dialect_t)d);
                size_t failed = ah_failed();
                ah_disarm();
                if (failed == 0) {
                    assert_int_equal(rc, HASH_RING_OK);
                    assert_int_equal(hash_ring_add_node(r, "a", 1, 1), HASH_RING_OK);
                    hash_ring_destroy(r);
                    assert_int_equal(ah_live(), live0);
                    break;
                }
                if (rc == HASH_RING_OK) {
                    hash_ring_destroy(r);
                } else {
                    assert_int_equal(rc, HASH_RING_ENOMEM);
                    assert_ptr_equal(r, (hash_ring_t *)(void *)&sentinel);
                    enomem++;
                }
                assert_int_equal(ah_live(), live0);
            }
            assert_true(enomem > 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_refused_adds_keep_nothing),
        cmocka_unit_test(test_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
