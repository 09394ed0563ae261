/* test_batch.c - the batch lookups: the peers' placements, the single-key
 * answers, one membership per call, all-or-nothing errors. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "testutil.h"

#ifndef HR_VECTORS_DIR
#error "HR_VECTORS_DIR must be defined"
#endif

static const hash_ring_dialect_t all_dialects[] = {
    HASH_RING_DIALECT_PYTHON,       HASH_RING_DIALECT_NODE,      HASH_RING_DIALECT_LIBKETAMA,
    HASH_RING_DIALECT_LIBMEMCACHED, HASH_RING_DIALECT_TWEMPROXY, HASH_RING_DIALECT_HASHRING,
    HASH_RING_DIALECT_HASHRING_PYTHON};
#define NDIALECTS (sizeof all_dialects / sizeof *all_dialects)

/* Keys of a TSV table's first column, as the batch calls take them. */
typedef struct keyset {
    size_t n;
    const void **keys;
    size_t *lens;
} keyset;

static keyset keys_of_tsv(const tu_tsv *t)
{
    keyset k = {t->nlines, calloc(t->nlines + 1, sizeof(void *)),
                calloc(t->nlines + 1, sizeof(size_t))};
    assert_non_null(k.keys);
    assert_non_null(k.lens);
    for (size_t i = 0; i < t->nlines; i++) {
        k.keys[i] = t->fields[i][0];
        k.lens[i] = strlen(t->fields[i][0]);
    }
    return k;
}

/* n random keys of 0 to 40 random bytes (NUL bytes included). */
static keyset random_keys(size_t n, uint64_t *rng)
{
    keyset k = {n, calloc(n + 1, sizeof(void *)), calloc(n + 1, sizeof(size_t))};
    assert_non_null(k.keys);
    assert_non_null(k.lens);
    for (size_t i = 0; i < n; i++) {
        size_t len = (size_t)(tu_rand(rng) % 41);
        unsigned char *b = malloc(len + 1);
        assert_non_null(b);
        for (size_t j = 0; j < len; j++)
            b[j] = (unsigned char)tu_rand(rng);
        k.keys[i] = len ? b : NULL; /* a NULL key of length 0 is valid */
        if (!len)
            free(b);
        k.lens[i] = len;
    }
    return k;
}

static void keys_free(keyset *k, int owned)
{
    if (owned)
        for (size_t i = 0; i < k->n; i++)
            free((void *)k->keys[i]);
    free(k->keys);
    free(k->lens);
}

/* Every DIALECT.get.tsv placement, asked in one batch call. */
static void test_vectors_batch(void **state)
{
    (void)state;
    static const char *const cases[] = {"seed3",    "seed3-weighted", "uneven-3",   "uneven-5",
                                        "uneven-7", "equal-7",        "equal-25",   "equal-61",
                                        "nodes-2000", "zero-weight",  "utf8"};
    size_t files = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        for (size_t d = 0; d < NDIALECTS; d++) {
            char path[4096], dir[4096];
            tu_tsv t;
            snprintf(path, sizeof path, "%s/%s/%s.get.tsv", HR_VECTORS_DIR, cases[c],
                     hash_ring_dialect_name(all_dialects[d]));
            if (tu_tsv_read(path, &t) != 0)
                continue;
            snprintf(dir, sizeof dir, "%s/%s", HR_VECTORS_DIR, cases[c]);
            hash_ring_t *r = tu_ring_from_nodes(dir, all_dialects[d]);
            keyset k = keys_of_tsv(&t);
            const char **nodes = calloc(k.n, sizeof *nodes);
            size_t *lens = calloc(k.n, sizeof *lens);
            assert_int_equal(hash_ring_get_node_batch(r, k.keys, k.lens, k.n, nodes, lens),
                             HASH_RING_OK);
            size_t bad = 0;
            for (size_t i = 0; i < k.n; i++)
                if (strcmp(nodes[i], t.fields[i][1]) != 0 || lens[i] != strlen(nodes[i]))
                    if (bad++ < 5)
                        print_error("%s: key %s: got %s, peer %s\n", path, t.fields[i][0],
                                    nodes[i], t.fields[i][1]);
            assert_int_equal(bad, 0);
            free(nodes);
            free(lens);
            keys_free(&k, 0);
            hash_ring_destroy(r);
            tu_tsv_free(&t);
            files++;
        }
    }
    assert_int_equal(files, 58);
}

/* The three batch calls against the single-key calls for keys k. */
static void check_same_as_single(hash_ring_t *r, const keyset *k)
{
    hash_ring_snapshot_t *s;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    const char **nodes = calloc(k->n + 1, sizeof *nodes);
    const char **snodes = calloc(k->n + 1, sizeof *snodes);
    size_t *lens = calloc(k->n + 1, sizeof *lens);
    size_t *idx = calloc(k->n + 1, sizeof *idx);
    assert_int_equal(hash_ring_get_node_batch(r, k->keys, k->lens, k->n, nodes, lens),
                     HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_get_node_batch(s, k->keys, k->lens, k->n, snodes, NULL),
                     HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_get_index_batch(s, k->keys, k->lens, k->n, idx),
                     HASH_RING_OK);
    for (size_t i = 0; i < k->n; i++) {
        const char *one;
        size_t one_len, len_i;
        const char *name_i;
        assert_int_equal(hash_ring_get_node(r, k->keys[i], k->lens[i], &one, &one_len),
                         HASH_RING_OK);
        assert_ptr_equal(nodes[i], one);
        assert_int_equal(lens[i], one_len);
        assert_ptr_equal(snodes[i], one);
        assert_int_equal(hash_ring_snapshot_node(s, idx[i], &name_i, &len_i, NULL, NULL, NULL),
                         HASH_RING_OK);
        assert_ptr_equal(name_i, one);
    }
    free(nodes);
    free(snodes);
    free(lens);
    free(idx);
    hash_ring_snapshot_release(s);
}

/* Random rings of every dialect and random keys, batches of sizes around
 * the internal group boundaries. */
static void test_random_rings(void **state)
{
    (void)state;
    uint64_t rng = 0x5eed0b47c4ULL;
    static const size_t sizes[] = {1, 2, 15, 16, 17, 255, 256, 257, 600, 1000};
    for (size_t d = 0; d < NDIALECTS; d++) {
        for (int round = 0; round < 4; round++) {
            hash_ring_t *r;
            assert_int_equal(hash_ring_create(&r, all_dialects[d]), HASH_RING_OK);
            size_t n = 1 + (size_t)(tu_rand(&rng) % (round == 3 ? 3000 : 60));
            for (size_t i = 0; i < n; i++) {
                char name[64];
                int len = snprintf(name, sizeof name, "10.%u.%u.%u:%u",
                                   (unsigned)(tu_rand(&rng) % 256), (unsigned)(i / 256 % 256),
                                   (unsigned)(i % 256), 11211 + (unsigned)(tu_rand(&rng) % 3));
                uint32_t w = (uint32_t)(tu_rand(&rng) % 5); /* weight 0 included */
                int rc = hash_ring_add_node(r, name, (size_t)len, w);
                assert_true(rc == HASH_RING_OK || rc == HASH_RING_EEXIST);
            }
            hash_ring_snapshot_t *s;
            assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
            int empty = hash_ring_snapshot_point_count(s) == 0;
            hash_ring_snapshot_release(s);
            if (empty) {
                hash_ring_destroy(r);
                continue;
            }
            for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
                keyset k = random_keys(sizes[z], &rng);
                check_same_as_single(r, &k);
                keys_free(&k, 1);
            }
            hash_ring_destroy(r);
        }
    }
}

/* Keys whose position equals a point exactly (where `>` and `>=` differ,
 * found by brute force), on the nodes-2000 ring, which has points shared
 * by two nodes, in a `>` dialect and two `>=` dialects with different tie
 * rules. */
static void test_exact_hits_on_shared_point_ring(void **state)
{
    (void)state;
    static const hash_ring_dialect_t ds[] = {HASH_RING_DIALECT_PYTHON,
                                             HASH_RING_DIALECT_LIBMEMCACHED,
                                             HASH_RING_DIALECT_TWEMPROXY};
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/nodes-2000", HR_VECTORS_DIR);
    for (size_t d = 0; d < sizeof ds / sizeof *ds; d++) {
        hash_ring_t *r = tu_ring_from_nodes(dir, ds[d]);
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
        size_t np = hash_ring_snapshot_point_count(s);
        /* a sorted copy of the points, for a binary search per candidate */
        uint32_t *pts = malloc(np * sizeof *pts);
        assert_non_null(pts);
        size_t shared = 0;
        for (size_t i = 0; i < np; i++) {
            assert_int_equal(hash_ring_snapshot_point(s, i, &pts[i], NULL, NULL), HASH_RING_OK);
            shared += i > 0 && pts[i] == pts[i - 1];
        }
        /* every dialect's nodes-2000 ring has at least one shared point */
        assert_true(shared > 0);
        char (*buf)[32] = calloc(64, sizeof *buf);
        keyset k = {0, calloc(64, sizeof(void *)), calloc(64, sizeof(size_t))};
        for (uint64_t cand = 0; k.n < 8 && cand < 4000000; cand++) {
            int len = snprintf(buf[k.n], sizeof buf[k.n], "hit-%llu", (unsigned long long)cand);
            uint32_t p;
            assert_int_equal(hash_ring_position(buf[k.n], (size_t)len, &p), HASH_RING_OK);
            size_t lo = 0, hi = np;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (pts[mid] < p)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < np && pts[lo] == p) {
                k.keys[k.n] = buf[k.n];
                k.lens[k.n] = (size_t)len;
                k.n++;
            }
        }
        assert_int_equal(k.n, 8);
        check_same_as_single(r, &k);
        keys_free(&k, 0);
        free(buf);
        free(pts);
        hash_ring_snapshot_release(s);
        hash_ring_destroy(r);
    }
}

#define SENTINEL ((const char *)0x1)

/* Bad arguments give HASH_RING_EINVAL and write nothing; count 0 is valid;
 * an empty ring gives HASH_RING_EEMPTY and writes nothing. */
static void test_arguments(void **state)
{
    (void)state;
    hash_ring_t *r;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    const void *keys[3] = {"a", NULL, "c"};
    size_t klens[3] = {1, 0, 1};
    const char *nodes[3] = {SENTINEL, SENTINEL, SENTINEL};
    size_t lens[3] = {7, 7, 7}, idx[3] = {7, 7, 7};

    /* empty ring */
    assert_int_equal(hash_ring_get_node_batch(r, keys, klens, 3, nodes, lens), HASH_RING_EEMPTY);
    assert_int_equal(hash_ring_get_node_batch(r, NULL, NULL, 0, NULL, NULL), HASH_RING_OK);
    assert_int_equal(hash_ring_add_node(r, "n1", 2, 1), HASH_RING_OK);
    assert_int_equal(hash_ring_add_node(r, "n2", 2, 1), HASH_RING_OK);
    hash_ring_snapshot_t *s;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);

    assert_int_equal(hash_ring_get_node_batch(NULL, keys, klens, 3, nodes, lens),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_node_batch(r, NULL, klens, 3, nodes, lens), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_node_batch(r, keys, NULL, 3, nodes, lens), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_node_batch(r, keys, klens, 3, NULL, lens), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_node_batch(NULL, keys, klens, 3, nodes, lens),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_node_batch(s, keys, klens, 3, NULL, lens),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_index_batch(NULL, keys, klens, 3, idx),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_index_batch(s, keys, klens, 3, NULL),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_index_batch(s, NULL, klens, 3, idx),
                     HASH_RING_EINVAL);
    /* a NULL key with a nonzero length, last in the batch: nothing written */
    klens[1] = 1;
    assert_int_equal(hash_ring_get_node_batch(r, keys, klens, 3, nodes, lens), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_node_batch(s, keys, klens, 3, nodes, lens),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_index_batch(s, keys, klens, 3, idx),
                     HASH_RING_EINVAL);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(nodes[i], SENTINEL);
        assert_int_equal(lens[i], 7);
        assert_int_equal(idx[i], 7);
    }
    /* count 0: success, NULL arrays allowed, nothing written */
    assert_int_equal(hash_ring_get_node_batch(r, NULL, NULL, 0, NULL, NULL), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_get_node_batch(s, NULL, NULL, 0, NULL, NULL),
                     HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_get_index_batch(s, NULL, NULL, 0, NULL), HASH_RING_OK);
    assert_int_equal(hash_ring_get_node_batch(r, keys, klens, 0, nodes, lens), HASH_RING_OK);
    assert_ptr_equal(nodes[0], SENTINEL);
    /* node_lens may be NULL; the NULL key of length 0 is the empty key */
    klens[1] = 0;
    assert_int_equal(hash_ring_get_node_batch(r, keys, klens, 3, nodes, NULL), HASH_RING_OK);
    const char *empty_key_node;
    assert_int_equal(hash_ring_get_node(r, "", 0, &empty_key_node, NULL), HASH_RING_OK);
    assert_ptr_equal(nodes[1], empty_key_node);
    hash_ring_snapshot_release(s);
    hash_ring_destroy(r);
}

/* ---- one membership per call, under a writer ------------------------- */

#define RACE_KEYS 300 /* more than one internal group */

typedef struct race {
    hash_ring_t *ring;
    keyset keys;
    const char *answers[2][RACE_KEYS]; /* per membership: without / with "x" */
    atomic_int stop;
    atomic_long mixed, calls;
} race;

static void *race_writer(void *arg)
{
    race *rc = arg;
    while (!atomic_load(&rc->stop)) {
        assert_int_equal(hash_ring_add_node(rc->ring, "x", 1, 3), HASH_RING_OK);
        assert_int_equal(hash_ring_remove_node(rc->ring, "x", 1), HASH_RING_OK);
    }
    return NULL;
}

static void *race_reader(void *arg)
{
    race *rc = arg;
    const char *got[RACE_KEYS];
    for (int iter = 0; iter < 400; iter++) {
        assert_int_equal(
            hash_ring_get_node_batch(rc->ring, rc->keys.keys, rc->keys.lens, RACE_KEYS, got, NULL),
            HASH_RING_OK);
        int as0 = 1, as1 = 1;
        for (size_t i = 0; i < RACE_KEYS; i++) {
            as0 &= got[i] == rc->answers[0][i];
            as1 &= got[i] == rc->answers[1][i];
        }
        if (!as0 && !as1)
            atomic_fetch_add(&rc->mixed, 1);
        atomic_fetch_add(&rc->calls, 1);
    }
    return NULL;
}

/* Each batch's answers all come from one membership while a writer adds
 * and removes a node: every call equals the answers of one of the two
 * memberships, never a mix. */
static void test_one_membership_per_call(void **state)
{
    (void)state;
    race rc;
    memset(&rc, 0, sizeof rc);
    uint64_t rng = 77;
    assert_int_equal(hash_ring_create(&rc.ring, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    for (int i = 0; i < 8; i++) {
        char name[16];
        int len = snprintf(name, sizeof name, "node%d", i);
        assert_int_equal(hash_ring_add_node(rc.ring, name, (size_t)len, 1), HASH_RING_OK);
    }
    rc.keys = random_keys(RACE_KEYS, &rng);
    for (int m = 0; m < 2; m++) {
        if (m == 1)
            assert_int_equal(hash_ring_add_node(rc.ring, "x", 1, 3), HASH_RING_OK);
        for (size_t i = 0; i < RACE_KEYS; i++)
            assert_int_equal(hash_ring_get_node(rc.ring, rc.keys.keys[i], rc.keys.lens[i],
                                                &rc.answers[m][i], NULL),
                             HASH_RING_OK);
    }
    assert_int_equal(hash_ring_remove_node(rc.ring, "x", 1), HASH_RING_OK);
    /* the two memberships must differ on some key for the check to mean anything */
    size_t differ = 0;
    for (size_t i = 0; i < RACE_KEYS; i++)
        differ += rc.answers[0][i] != rc.answers[1][i];
    assert_true(differ > 10);

    pthread_t w, rd[2];
    assert_int_equal(pthread_create(&w, NULL, race_writer, &rc), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&rd[i], NULL, race_reader, &rc), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(rd[i], NULL);
    atomic_store(&rc.stop, 1);
    pthread_join(w, NULL);
    assert_int_equal(atomic_load(&rc.mixed), 0);
    assert_int_equal(atomic_load(&rc.calls), 800);
    keys_free(&rc.keys, 1);
    hash_ring_destroy(rc.ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_batch),
        cmocka_unit_test(test_random_rings),
        cmocka_unit_test(test_exact_hits_on_shared_point_ring),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_one_membership_per_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
