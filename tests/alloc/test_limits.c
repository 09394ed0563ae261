/* test_limits.c - input limits through the public API.
 *
 * Huge weights (UINT32_MAX alone and mixed with 1), empty and 1 MB names,
 * keys with NUL bytes and of 0 bytes, duplicate adds, removes of unknown
 * nodes, and every pointer argument NULL in turn for every public function:
 * the documented status codes, no crash, nothing changed by a refused call.
 * (Run under UBSan in CI for the "no UB, no overflow" half.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "hash_ring.h"

/* The loops below check MD5 positions (hash_ring_position, MD5 of
 * "name-0"): the seven dialects of 1.0; tests/test_properties_clients.c
 * covers the others.  NDIALECTS_ALL: every value hash_ring_create takes. */
#define NDIALECTS 7
#define NDIALECTS_ALL 14

static unsigned per_digest(int d)
{
    return (d == HASH_RING_DIALECT_PYTHON || d == HASH_RING_DIALECT_NODE ||
            d == HASH_RING_DIALECT_HASHRING_PYTHON)
               ? 3u
               : 4u;
}

static uint32_t md5_word(const void *p, size_t n, unsigned word)
{
    unsigned char d[16];
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, d, &len, EVP_md5(), NULL), 1);
    const unsigned char *b = d + 4 * word;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Invariants any non-empty ring keeps: points per node add up, points are
 * sorted, shares sum to 2^32. */
static void check_consistent(const hash_ring_t *r)
{
    hash_ring_snapshot_t *s = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    size_t nn = hash_ring_snapshot_node_count(s), np = hash_ring_snapshot_point_count(s);
    size_t sum_points = 0;
    uint64_t sum_share = 0;
    for (size_t i = 0; i < nn; i++) {
        size_t points = 0;
        uint64_t share = 0;
        assert_int_equal(hash_ring_snapshot_node(s, i, NULL, NULL, NULL, &points, &share),
                         HASH_RING_OK);
        sum_points += points;
        sum_share += share;
    }
    assert_int_equal(sum_points, np);
    assert_true(sum_share == (np ? (uint64_t)1 << 32 : 0));
    uint32_t prev = 0;
    for (size_t i = 0; i < np; i++) {
        uint32_t p;
        assert_int_equal(hash_ring_snapshot_point(s, i, &p, NULL, NULL), HASH_RING_OK);
        assert_true(i == 0 || p >= prev);
        prev = p;
    }
    hash_ring_snapshot_release(s);
}

static size_t points_of(const hash_ring_t *r, size_t index)
{
    hash_ring_snapshot_t *s = NULL;
    size_t points = SIZE_MAX;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node(s, index, NULL, NULL, NULL, &points, NULL),
                     HASH_RING_OK);
    hash_ring_snapshot_release(s);
    return points;
}

/* UINT32_MAX weights: sums far beyond 32 bits, exact python counts. */
static void test_huge_weights(void **state)
{
    (void)state;
    for (int d = 0; d < NDIALECTS; d++) {
        hash_ring_t *r = NULL;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), HASH_RING_OK);
        const char *names[6] = {"big0", "big1", "big2", "one0", "one1", "one2"};
        for (int i = 0; i < 6; i++)
            assert_int_equal(hash_ring_add_node(r, names[i], 4, i < 3 ? UINT32_MAX : 1u),
                             HASH_RING_OK);
        check_consistent(r);
        if (d == HASH_RING_DIALECT_PYTHON) {
            /* T = 3*(2^32-1) + 3 = 3*2^32: big gets floor(240*(2^32-1)/(3*2^32))
             * = floor(80 - 80/2^32) = 79 hashes; one gets floor(240/(3*2^32)) = 0. */
            for (size_t i = 0; i < 3; i++)
                assert_int_equal(points_of(r, i), 79u * 3u);
        }
        /* weight 1 next to 2^32-1: 240/(3*2^32) of 40 hashes rounds down to
         * none in every formula, so only the big nodes own keys; except
         * where the total is a 32-bit sum, as in the peers: T wraps to 0
         * and the counts are cut to 40 * (n + 10) = 640 digests (twemproxy:
         * every node; spymemcached: the Java int -1 weights get none) */
        int wraps = d == HASH_RING_DIALECT_TWEMPROXY || d == HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED;
        for (size_t i = 0; i < 6 && wraps; i++)
            assert_int_equal(points_of(r, i),
                             i < 3 && d == HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED ? 0 : 640u * 4u);
        for (size_t i = 3; i < 6 && !wraps; i++)
            assert_int_equal(points_of(r, i), 0);
        const char *node = NULL;
        assert_int_equal(hash_ring_get_node(r, "key", 3, &node, NULL), HASH_RING_OK);
        if (d != HASH_RING_DIALECT_TWEMPROXY)
            assert_int_equal(strncmp(node, wraps ? "one" : "big", 3), 0);
        /* every weight UINT32_MAX: equal weights, 40 hashes each in python */
        for (int i = 3; i < 6; i++)
            assert_int_equal(hash_ring_set_weight(r, names[i], 4, UINT32_MAX), HASH_RING_OK);
        check_consistent(r);
        if (d == HASH_RING_DIALECT_PYTHON)
            for (size_t i = 0; i < 6; i++)
                assert_int_equal(points_of(r, i), 40u * 3u);
        hash_ring_destroy(r);
    }
    /* 1000 nodes of weight UINT32_MAX, one then lowered to 1 */
    hash_ring_t *r = NULL;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    char buf[1000][8];
    const void *names[1000];
    size_t lens[1000];
    uint32_t weights[1000];
    for (size_t i = 0; i < 1000; i++) {
        lens[i] = (size_t)snprintf(buf[i], sizeof buf[i], "w%zu", i);
        names[i] = buf[i];
        weights[i] = UINT32_MAX;
    }
    assert_int_equal(hash_ring_add_nodes(r, names, lens, weights, 1000), HASH_RING_OK);
    assert_int_equal(points_of(r, 999), 120);
    assert_int_equal(hash_ring_set_weight(r, "w7", 2, 1), HASH_RING_OK);
    /* floor(40000 * 1 / (999*(2^32-1) + 1)) = 0 */
    assert_int_equal(points_of(r, 7), 0);
    check_consistent(r);
    hash_ring_destroy(r);
}

/* The ring's state, for "refused calls change nothing". */
typedef struct summary {
    size_t nn, np;
    const char *owner[16];
} summary;

static void summarize(const hash_ring_t *r, summary *s)
{
    hash_ring_snapshot_t *snap = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &snap), HASH_RING_OK);
    s->nn = hash_ring_snapshot_node_count(snap);
    s->np = hash_ring_snapshot_point_count(snap);
    hash_ring_snapshot_release(snap);
    for (unsigned k = 0; k < 16; k++) {
        char key[8];
        int len = snprintf(key, sizeof key, "k%u", k);
        s->owner[k] = NULL;
        int rc = hash_ring_get_node(r, key, (size_t)len, &s->owner[k], NULL);
        assert_true(rc == HASH_RING_OK || rc == HASH_RING_EEMPTY);
    }
}

static void assert_same(const summary *a, const summary *b)
{
    assert_int_equal(a->nn, b->nn);
    assert_int_equal(a->np, b->np);
    for (unsigned k = 0; k < 16; k++)
        assert_ptr_equal(a->owner[k], b->owner[k]);
}

/* Empty names, duplicates, unknown nodes. */
static void test_names_and_membership(void **state)
{
    (void)state;
    for (int d = 0; d < NDIALECTS; d++) {
        hash_ring_t *r = NULL;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), HASH_RING_OK);
        summary before, after;
        summarize(r, &before);
        assert_int_equal(hash_ring_add_node(r, "", 0, 1), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_add_node(r, NULL, 0, 1), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_remove_node(r, "", 0), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_set_weight(r, "", 0, 1), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_remove_node(r, "a", 1), HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_set_weight(r, "a", 1, 2), HASH_RING_ENOTFOUND);
        summarize(r, &after);
        assert_same(&before, &after);
        assert_int_equal(before.nn, 0);

        /* NUL bytes in names: "a\0b" and "a" are different nodes */
        assert_int_equal(hash_ring_add_node(r, "a\0b", 3, 1), HASH_RING_OK);
        assert_int_equal(hash_ring_add_node(r, "a", 1, 1), HASH_RING_OK);
        assert_int_equal(hash_ring_add_node(r, "a\0b", 3, 5), HASH_RING_EEXIST);
        assert_int_equal(hash_ring_add_node(r, "a", 1, 1), HASH_RING_EEXIST);

        /* batch: repeated within, already a member, an empty name: nothing added */
        summarize(r, &before);
        const void *dup_in[3] = {"x", "y", "x"};
        size_t dup_in_len[3] = {1, 1, 1};
        assert_int_equal(hash_ring_add_nodes(r, dup_in, dup_in_len, NULL, 3), HASH_RING_EEXIST);
        const void *dup_member[2] = {"z", "a"};
        size_t dup_member_len[2] = {1, 1};
        assert_int_equal(hash_ring_add_nodes(r, dup_member, dup_member_len, NULL, 2),
                         HASH_RING_EEXIST);
        const void *empty_in[2] = {"w", ""};
        size_t empty_in_len[2] = {1, 0};
        assert_int_equal(hash_ring_add_nodes(r, empty_in, empty_in_len, NULL, 2),
                         HASH_RING_EINVAL);
        summarize(r, &after);
        assert_same(&before, &after);
        assert_int_equal(after.nn, 2);
        assert_int_equal(hash_ring_remove_node(r, "x", 1), HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_remove_node(r, "z", 1), HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_remove_node(r, "w", 1), HASH_RING_ENOTFOUND);
        /* the names of a refused batch can be added afterwards */
        assert_int_equal(hash_ring_add_nodes(r, dup_in, dup_in_len, NULL, 2), HASH_RING_OK);

        /* remove twice */
        assert_int_equal(hash_ring_remove_node(r, "a", 1), HASH_RING_OK);
        assert_int_equal(hash_ring_remove_node(r, "a", 1), HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_remove_node(r, "a\0", 2), HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_remove_node(r, "a\0b", 3), HASH_RING_OK);
        check_consistent(r);
        hash_ring_destroy(r);
    }
}

/* A 1 MB name with NUL bytes: stored, hashed and returned whole. */
static void test_megabyte_name(void **state)
{
    (void)state;
    size_t len = (size_t)1 << 20;
    char *name = malloc(len + 16);
    assert_non_null(name);
    for (size_t i = 0; i < len; i++)
        name[i] = (char)(i * 7u % 251u); /* includes NUL bytes */
    for (int d = 0; d < NDIALECTS; d++) {
        hash_ring_t *r = NULL;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), HASH_RING_OK);
        assert_int_equal(hash_ring_add_node(r, name, len, 1), HASH_RING_OK);
        /* a prefix of it is another name */
        assert_int_equal(hash_ring_add_node(r, name, len - 1, 1), HASH_RING_OK);
        assert_int_equal(hash_ring_remove_node(r, name, len - 1), HASH_RING_OK);
        const char *node = NULL;
        size_t nlen = 0;
        assert_int_equal(hash_ring_get_node(r, "k", 1, &node, &nlen), HASH_RING_OK);
        assert_int_equal(nlen, len);
        assert_memory_equal(node, name, len);
        assert_int_equal(node[len], '\0');
        /* its first point is word 0 of MD5(name "-0"), computed here */
        memcpy(name + len, "-0", 2);
        uint32_t want = md5_word(name, len + 2, 0);
        hash_ring_snapshot_t *s = NULL;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
        size_t np = hash_ring_snapshot_point_count(s), found = 0;
        assert_int_equal(np, 40u * per_digest(d));
        for (size_t i = 0; i < np; i++) {
            uint32_t p;
            assert_int_equal(hash_ring_snapshot_point(s, i, &p, NULL, NULL), HASH_RING_OK);
            found += p == want;
        }
        assert_true(found >= 1);
        hash_ring_snapshot_release(s);
        assert_int_equal(hash_ring_remove_node(r, name, len), HASH_RING_OK);
        assert_int_equal(hash_ring_get_node(r, "k", 1, &node, &nlen), HASH_RING_EEMPTY);
        hash_ring_destroy(r);
    }
    free(name);
}

/* Keys: NUL bytes count, length 0 is a key (NULL or not), 1 MB keys. */
static void test_keys(void **state)
{
    (void)state;
    uint32_t p1, p2, p3, p4;
    assert_int_equal(hash_ring_position("a\0b", 3, &p1), HASH_RING_OK);
    assert_int_equal(hash_ring_position("a", 1, &p2), HASH_RING_OK);
    assert_int_equal(p1, md5_word("a\0b", 3, 0));
    assert_int_equal(p2, md5_word("a", 1, 0));
    assert_true(p1 != p2);
    assert_int_equal(hash_ring_position(NULL, 0, &p3), HASH_RING_OK);
    assert_int_equal(hash_ring_position("", 0, &p4), HASH_RING_OK);
    assert_int_equal(p3, md5_word("", 0, 0));
    assert_int_equal(p3, p4);
    size_t big = (size_t)1 << 20;
    char *key = calloc(big, 1);
    assert_non_null(key);
    assert_int_equal(hash_ring_position(key, big, &p4), HASH_RING_OK);
    assert_int_equal(p4, md5_word(key, big, 0));
    for (int d = 0; d < NDIALECTS; d++) {
        hash_ring_t *r = NULL;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), HASH_RING_OK);
        const char *n1 = NULL, *n2 = NULL;
        assert_int_equal(hash_ring_get_node(r, NULL, 0, &n1, NULL), HASH_RING_EEMPTY);
        for (int i = 0; i < 20; i++) {
            char name[8];
            int len = snprintf(name, sizeof name, "n%d", i);
            assert_int_equal(hash_ring_add_node(r, name, (size_t)len, 1), HASH_RING_OK);
        }
        assert_int_equal(hash_ring_get_node(r, NULL, 0, &n1, NULL), HASH_RING_OK);
        assert_int_equal(hash_ring_get_node(r, "", 0, &n2, NULL), HASH_RING_OK);
        assert_ptr_equal(n1, n2);
        /* a key and the position it hashes to answer alike */
        hash_ring_snapshot_t *s = NULL;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
        const char *keys[3] = {"a\0b", "a", key};
        size_t klens[3] = {3, 1, big};
        for (int k = 0; k < 3; k++) {
            uint32_t pos;
            assert_int_equal(hash_ring_position(keys[k], klens[k], &pos), HASH_RING_OK);
            assert_int_equal(hash_ring_get_node(r, keys[k], klens[k], &n1, NULL), HASH_RING_OK);
            assert_int_equal(hash_ring_snapshot_get_node_at(s, pos, &n2, NULL), HASH_RING_OK);
            assert_ptr_equal(n1, n2);
        }
        hash_ring_snapshot_release(s);
        hash_ring_destroy(r);
    }
    free(key);
}

/* Every pointer argument NULL in turn, for every public function. */
static void test_null_arguments(void **state)
{
    (void)state;
    /* functions without a ring */
    assert_non_null(hash_ring_strerror(0));
    assert_string_equal(hash_ring_strerror(12345), "unknown error");
    assert_string_equal(hash_ring_strerror(-12345), "unknown error");
    for (int c = HASH_RING_ECRYPTO; c <= HASH_RING_OK; c++) {
        const char *m = hash_ring_strerror(c);
        assert_non_null(m);
        assert_true(m[0] != '\0');
        assert_string_not_equal(m, "unknown error");
    }
    assert_int_equal(hash_ring_version(), HASH_RING_VERSION_NUMBER);
    assert_string_equal(hash_ring_version_string(), HASH_RING_VERSION_STRING);
    assert_null(hash_ring_dialect_name((hash_ring_dialect_t)NDIALECTS_ALL));
    assert_null(hash_ring_dialect_name((hash_ring_dialect_t)-1));
    hash_ring_dialect_t dl = (hash_ring_dialect_t)99;
    assert_int_equal(hash_ring_dialect_from_name(NULL, &dl), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_dialect_from_name("python", NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_dialect_from_name("Python", &dl), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_dialect_from_name("", &dl), HASH_RING_EINVAL);
    assert_int_equal((int)dl, 99); /* untouched on error */
    for (int d = 0; d < NDIALECTS; d++) {
        const char *name = hash_ring_dialect_name((hash_ring_dialect_t)d);
        assert_non_null(name);
        assert_int_equal(hash_ring_dialect_from_name(name, &dl), HASH_RING_OK);
        assert_int_equal((int)dl, d);
    }
    uint32_t pos = 7;
    assert_int_equal(hash_ring_position(NULL, 1, &pos), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_position("k", 1, NULL), HASH_RING_EINVAL);
    assert_int_equal(pos, 7);

    hash_ring_t *r = (hash_ring_t *)(void *)&pos; /* sentinel, never dereferenced */
    assert_int_equal(hash_ring_create(NULL, HASH_RING_DIALECT_PYTHON), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)NDIALECTS_ALL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)-1), HASH_RING_EINVAL);
    assert_ptr_equal(r, (hash_ring_t *)(void *)&pos);
    hash_ring_destroy(NULL);

    for (int d = 0; d < NDIALECTS; d++) {
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), HASH_RING_OK);
        const char *node = NULL, *nodes[8];
        size_t len = 0, count = 99, lens[8];
        hash_ring_snapshot_t *s = NULL;

        /* an empty ring */
        assert_int_equal(hash_ring_get_node(r, "k", 1, &node, &len), HASH_RING_EEMPTY);
        assert_int_equal(hash_ring_get_nodes(r, "k", 1, nodes, lens, 8, &count),
                         HASH_RING_EEMPTY);
        assert_int_equal(count, 99);
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
        assert_int_equal(hash_ring_snapshot_get_node_at(s, 0, &node, &len), HASH_RING_EEMPTY);
        assert_int_equal(hash_ring_snapshot_point(s, 0, NULL, NULL, NULL), HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_snapshot_node(s, 0, NULL, NULL, NULL, NULL, NULL),
                         HASH_RING_ENOTFOUND);
        hash_ring_snapshot_release(s);

        const void *names[2] = {"n1", "n2"};
        size_t nlens[2] = {2, 2};
        uint32_t weights[2] = {1, 2};
        assert_int_equal(hash_ring_add_nodes(NULL, names, nlens, weights, 2), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_add_nodes(r, NULL, nlens, weights, 2), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_add_nodes(r, names, NULL, weights, 2), HASH_RING_EINVAL);
        const void *with_null[2] = {"n1", NULL};
        assert_int_equal(hash_ring_add_nodes(r, with_null, nlens, weights, 2), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_add_nodes(NULL, NULL, NULL, NULL, 0), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_add_nodes(r, NULL, NULL, NULL, 0), HASH_RING_OK);
        assert_int_equal(hash_ring_add_nodes(r, names, nlens, NULL, 2), HASH_RING_OK);
        assert_int_equal(hash_ring_add_node(NULL, "n3", 2, 1), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_add_node(r, NULL, 2, 1), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_add_node(r, "n3", 2, 3), HASH_RING_OK);

        summary before, after;
        summarize(r, &before);
        assert_int_equal(before.nn, 3);
        assert_int_equal(hash_ring_remove_node(NULL, "n1", 2), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_remove_node(r, NULL, 2), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_remove_node(r, NULL, 0), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_set_weight(NULL, "n1", 2, 5), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_set_weight(r, NULL, 2, 5), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_set_weight(r, NULL, 0, 5), HASH_RING_EINVAL);
        hash_ring_dialect_t got = (hash_ring_dialect_t)99;
        assert_int_equal(hash_ring_get_dialect(NULL, &got), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_get_dialect(r, NULL), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_get_dialect(r, &got), HASH_RING_OK);
        assert_int_equal((int)got, d);

        node = NULL;
        assert_int_equal(hash_ring_get_node(NULL, "k", 1, &node, &len), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_get_node(r, NULL, 1, &node, &len), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_get_node(r, "k", 1, NULL, &len), HASH_RING_EINVAL);
        assert_null(node);
        assert_int_equal(hash_ring_get_node(r, "k", 1, &node, NULL), HASH_RING_OK);
        assert_non_null(node);

        count = 99;
        assert_int_equal(hash_ring_get_nodes(NULL, "k", 1, nodes, lens, 8, &count),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_get_nodes(r, NULL, 1, nodes, lens, 8, &count),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_get_nodes(r, "k", 1, NULL, lens, 8, &count),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_get_nodes(r, "k", 1, nodes, lens, 8, NULL),
                         HASH_RING_EINVAL);
        assert_int_equal(count, 99);
        assert_int_equal(hash_ring_get_nodes(r, "k", 1, NULL, NULL, 0, &count), HASH_RING_OK);
        assert_int_equal(count, 0);
        assert_int_equal(hash_ring_get_nodes(r, "k", 1, nodes, NULL, 8, &count), HASH_RING_OK);
        assert_int_equal(count, 3);
        assert_ptr_equal(nodes[0], node);
        /* max far beyond the member count: bounded by the members */
        assert_int_equal(hash_ring_get_nodes(r, "k", 1, nodes, lens, SIZE_MAX, &count),
                         HASH_RING_OK);
        assert_int_equal(count, 3);

        s = (hash_ring_snapshot_t *)(void *)&pos;
        assert_int_equal(hash_ring_snapshot_acquire(NULL, &s), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_acquire(r, NULL), HASH_RING_EINVAL);
        assert_ptr_equal(s, (hash_ring_snapshot_t *)(void *)&pos);
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);

        assert_int_equal(hash_ring_snapshot_get_node(NULL, "k", 1, &node, &len),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_get_node(s, NULL, 1, &node, &len), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_get_node(s, "k", 1, NULL, &len), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_get_node(s, "k", 1, &node, NULL), HASH_RING_OK);
        assert_int_equal(hash_ring_snapshot_get_nodes(NULL, "k", 1, nodes, lens, 8, &count),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_get_nodes(s, NULL, 1, nodes, lens, 8, &count),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_get_nodes(s, "k", 1, NULL, lens, 8, &count),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_get_nodes(s, "k", 1, nodes, lens, 8, NULL),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_get_nodes(s, "k", 1, nodes, NULL, 8, &count),
                         HASH_RING_OK);
        assert_int_equal(count, 3);
        assert_int_equal(hash_ring_snapshot_get_node_at(NULL, 0, &node, &len), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_get_node_at(s, 0, NULL, &len), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_get_node_at(s, UINT32_MAX, &node, NULL),
                         HASH_RING_OK);
        assert_int_equal(hash_ring_snapshot_dialect(NULL, &got), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_dialect(s, NULL), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_node_count(NULL), 0);
        assert_int_equal(hash_ring_snapshot_point_count(NULL), 0);
        assert_int_equal(hash_ring_snapshot_node(NULL, 0, NULL, NULL, NULL, NULL, NULL),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_node(s, 3, NULL, NULL, NULL, NULL, NULL),
                         HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_snapshot_node(s, SIZE_MAX, NULL, NULL, NULL, NULL, NULL),
                         HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_snapshot_node(s, 2, NULL, NULL, NULL, NULL, NULL),
                         HASH_RING_OK);
        size_t np = hash_ring_snapshot_point_count(s);
        assert_true(np > 0);
        assert_int_equal(hash_ring_snapshot_point(NULL, 0, NULL, NULL, NULL), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_snapshot_point(s, np, NULL, NULL, NULL), HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_snapshot_point(s, SIZE_MAX, NULL, NULL, NULL),
                         HASH_RING_ENOTFOUND);
        assert_int_equal(hash_ring_snapshot_point(s, np - 1, NULL, NULL, NULL), HASH_RING_OK);
        hash_ring_snapshot_release(NULL);

        summarize(r, &after);
        assert_same(&before, &after);
        hash_ring_destroy(r);
        /* the snapshot outlives the ring */
        assert_int_equal(hash_ring_snapshot_node_count(s), 3);
        assert_int_equal(hash_ring_snapshot_get_node(s, "k", 1, &node, &len), HASH_RING_OK);
        hash_ring_snapshot_release(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_weights),
        cmocka_unit_test(test_names_and_membership),
        cmocka_unit_test(test_megabyte_name),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
