/* test_api.c - the public contract: arguments, status codes, lifetimes,
 * snapshots, versions.  Every error path of every ring function. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash_ring.h"

static hash_ring_t *ring_new(hash_ring_dialect_t d)
{
    hash_ring_t *r = NULL;
    assert_int_equal(hash_ring_create(&r, d), HASH_RING_OK);
    assert_non_null(r);
    return r;
}

static void add(hash_ring_t *r, const char *name, uint32_t w)
{
    assert_int_equal(hash_ring_add_node(r, name, strlen(name), w), HASH_RING_OK);
}

/* A printable dump of the whole continuum and node list, to compare states. */
static char *dump(const hash_ring_t *r)
{
    hash_ring_snapshot_t *s = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    size_t np = hash_ring_snapshot_point_count(s), nn = hash_ring_snapshot_node_count(s);
    size_t cap = 64 + np * 32 + nn * 96, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (size_t i = 0; i < nn; i++) {
        const char *name;
        uint32_t w;
        size_t pts;
        uint64_t share;
        assert_int_equal(hash_ring_snapshot_node(s, i, &name, NULL, &w, &pts, &share), 0);
        len += (size_t)snprintf(out + len, cap - len, "%.40s %u %zu %llu\n", name, w, pts,
                                (unsigned long long)share);
    }
    for (size_t i = 0; i < np; i++) {
        uint32_t p;
        const char *o;
        assert_int_equal(hash_ring_snapshot_point(s, i, &p, &o, NULL), 0);
        len += (size_t)snprintf(out + len, cap - len, "%u %.8s\n", p, o);
    }
    hash_ring_snapshot_release(s);
    return out;
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(hash_ring_version(), HASH_RING_VERSION_NUMBER);
    assert_string_equal(hash_ring_version_string(), HASH_RING_VERSION_STRING);
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", HASH_RING_VERSION_MAJOR, HASH_RING_VERSION_MINOR,
             HASH_RING_VERSION_PATCH);
    assert_string_equal(buf, HASH_RING_VERSION_STRING);
    assert_int_equal(HASH_RING_VERSION_NUMBER,
                     HASH_RING_VERSION_MAJOR * 10000 + HASH_RING_VERSION_MINOR * 100 +
                         HASH_RING_VERSION_PATCH);
}

static void test_strerror(void **state)
{
    (void)state;
    /* pinned values */
    assert_int_equal(HASH_RING_OK, 0);
    assert_int_equal(HASH_RING_EINVAL, -1);
    assert_int_equal(HASH_RING_ENOMEM, -2);
    assert_int_equal(HASH_RING_EEXIST, -3);
    assert_int_equal(HASH_RING_ENOTFOUND, -4);
    assert_int_equal(HASH_RING_EEMPTY, -5);
    assert_int_equal(HASH_RING_ECRYPTO, -6);
    const char *seen[7];
    for (int c = 0; c >= -6; c--) {
        const char *s = hash_ring_strerror(c);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
        for (int k = 0; k < -c; k++)
            assert_string_not_equal(s, seen[k]); /* distinct texts */
        seen[-c] = s;
    }
    /* -7 to -15 are the memcached client's (hash_ring_mc_strerror) */
    for (int c = -7; c >= -16; c--)
        assert_string_equal(hash_ring_strerror(c), "unknown error");
    assert_string_equal(hash_ring_strerror(1), "unknown error");
    assert_string_equal(hash_ring_strerror(-2147483647 - 1), "unknown error");
}

static void test_dialect_names(void **state)
{
    (void)state;
    static const char *names[] = {"python",         "node",
                                  "libketama",      "libmemcached",
                                  "twemproxy",      "hashring",
                                  "hashring-python", "spymemcached",
                                  "spymemcached-weighted", "uhashring",
                                  "node-memcached", "nginx",
                                  "dalli",          "pecl-memcache"};
    for (int d = 0; d < 14; d++) {
        hash_ring_dialect_t got;
        assert_string_equal(hash_ring_dialect_name((hash_ring_dialect_t)d), names[d]);
        assert_int_equal(hash_ring_dialect_from_name(names[d], &got), HASH_RING_OK);
        assert_int_equal(got, d);
        hash_ring_t *r = ring_new((hash_ring_dialect_t)d);
        assert_int_equal(hash_ring_get_dialect(r, &got), HASH_RING_OK);
        assert_int_equal(got, d);
        assert_int_equal(hash_ring_get_dialect(r, NULL), HASH_RING_EINVAL);
        hash_ring_destroy(r);
    }
    hash_ring_dialect_t got = HASH_RING_DIALECT_NODE;
    assert_null(hash_ring_dialect_name((hash_ring_dialect_t)14));
    assert_null(hash_ring_dialect_name((hash_ring_dialect_t)-1));
    assert_int_equal(hash_ring_dialect_from_name("Python", &got), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_dialect_from_name("", &got), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_dialect_from_name(NULL, &got), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_dialect_from_name("python", NULL), HASH_RING_EINVAL);
    assert_int_equal(got, HASH_RING_DIALECT_NODE); /* untouched on error */
    assert_int_equal(hash_ring_get_dialect(NULL, &got), HASH_RING_EINVAL);
}

static void test_create_errors(void **state)
{
    (void)state;
    hash_ring_t *r = (hash_ring_t *)0x1;
    assert_int_equal(hash_ring_create(NULL, HASH_RING_DIALECT_PYTHON), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)14), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)-1), HASH_RING_EINVAL);
    assert_ptr_equal(r, (hash_ring_t *)0x1);
    hash_ring_destroy(NULL);
    hash_ring_snapshot_release(NULL);
}

static void test_position(void **state)
{
    (void)state;
    uint32_t p = 0;
    /* values from Python: struct.unpack('<I', hashlib.md5(k).digest()[:4]) */
    assert_int_equal(hash_ring_position("", 0, &p), HASH_RING_OK);
    assert_int_equal(p, 3649838548u);
    assert_int_equal(hash_ring_position(NULL, 0, &p), HASH_RING_OK);
    assert_int_equal(p, 3649838548u);
    assert_int_equal(hash_ring_position("hello", 5, &p), HASH_RING_OK);
    assert_int_equal(p, 708854109u);
    assert_int_equal(hash_ring_position("a\0b", 3, &p), HASH_RING_OK);
    assert_int_equal(p, 1611609456u);
    assert_int_equal(hash_ring_position("a\0b", 1, &p), HASH_RING_OK); /* length counts */
    assert_int_equal(p, 3111502092u);
    assert_int_equal(hash_ring_position(NULL, 1, &p), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_position("a", 1, NULL), HASH_RING_EINVAL);
}

static void test_add_errors(void **state)
{
    (void)state;
    hash_ring_t *r = ring_new(HASH_RING_DIALECT_PYTHON);
    add(r, "a", 1);
    add(r, "b", 3);
    char *before = dump(r);
    assert_int_equal(hash_ring_add_node(NULL, "c", 1, 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_add_node(r, NULL, 1, 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_add_node(r, NULL, 0, 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_add_node(r, "c", 0, 1), HASH_RING_EINVAL); /* empty name */
    assert_int_equal(hash_ring_add_node(r, "a", 1, 1), HASH_RING_EEXIST);
    assert_int_equal(hash_ring_add_node(r, "b", 1, 7), HASH_RING_EEXIST);

    const void *names[3] = {"c", "d", "a"};
    size_t lens[3] = {1, 1, 1};
    uint32_t ws[3] = {1, 2, 3};
    assert_int_equal(hash_ring_add_nodes(r, names, lens, ws, 3), HASH_RING_EEXIST);
    names[2] = "c"; /* repeated within the batch */
    assert_int_equal(hash_ring_add_nodes(r, names, lens, ws, 3), HASH_RING_EEXIST);
    names[2] = NULL;
    assert_int_equal(hash_ring_add_nodes(r, names, lens, ws, 3), HASH_RING_EINVAL);
    names[2] = "e";
    lens[2] = 0;
    assert_int_equal(hash_ring_add_nodes(r, names, lens, ws, 3), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_add_nodes(r, NULL, lens, ws, 3), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_add_nodes(r, names, NULL, ws, 3), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_add_nodes(NULL, names, lens, ws, 3), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_add_nodes(r, NULL, NULL, NULL, 0), HASH_RING_OK);

    char *after = dump(r);
    assert_string_equal(before, after); /* nothing changed */
    free(after);

    /* the failed batch left nothing behind: c and d can be added now */
    lens[2] = 1;
    assert_int_equal(hash_ring_add_nodes(r, names, lens, NULL, 3), HASH_RING_OK);
    hash_ring_snapshot_t *s;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node_count(s), 5);
    uint32_t w = 0;
    assert_int_equal(hash_ring_snapshot_node(s, 3, NULL, NULL, &w, NULL, NULL), HASH_RING_OK);
    assert_int_equal(w, 1); /* weights NULL: all 1 */
    hash_ring_snapshot_release(s);
    free(before);
    hash_ring_destroy(r);
}

static void test_remove_and_weight_errors(void **state)
{
    (void)state;
    hash_ring_t *r = ring_new(HASH_RING_DIALECT_PYTHON);
    add(r, "a", 1);
    add(r, "b", 2);
    char *before = dump(r);
    assert_int_equal(hash_ring_remove_node(r, "c", 1), HASH_RING_ENOTFOUND);
    assert_int_equal(hash_ring_remove_node(r, "a", 0), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_remove_node(r, NULL, 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_remove_node(NULL, "a", 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_remove_node(r, "ab", 2), HASH_RING_ENOTFOUND);
    assert_int_equal(hash_ring_set_weight(r, "c", 1, 5), HASH_RING_ENOTFOUND);
    assert_int_equal(hash_ring_set_weight(r, NULL, 1, 5), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_set_weight(r, "a", 0, 5), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_set_weight(NULL, "a", 1, 5), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_set_weight(r, "b", 1, 2), HASH_RING_OK); /* same weight */
    char *after = dump(r);
    assert_string_equal(before, after);
    free(after);

    /* removed nodes are not found again; re-adding puts them last */
    assert_int_equal(hash_ring_remove_node(r, "a", 1), HASH_RING_OK);
    assert_int_equal(hash_ring_remove_node(r, "a", 1), HASH_RING_ENOTFOUND);
    assert_int_equal(hash_ring_set_weight(r, "a", 1, 1), HASH_RING_ENOTFOUND);
    add(r, "a", 1);
    hash_ring_snapshot_t *s;
    const char *name;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node(s, 0, &name, NULL, NULL, NULL, NULL), 0);
    assert_string_equal(name, "b");
    assert_int_equal(hash_ring_snapshot_node(s, 1, &name, NULL, NULL, NULL, NULL), 0);
    assert_string_equal(name, "a");
    hash_ring_snapshot_release(s);
    /* removing every node leaves an empty ring */
    assert_int_equal(hash_ring_remove_node(r, "a", 1), HASH_RING_OK);
    assert_int_equal(hash_ring_remove_node(r, "b", 1), HASH_RING_OK);
    assert_int_equal(hash_ring_get_node(r, "k", 1, &name, NULL), HASH_RING_EEMPTY);
    free(before);
    hash_ring_destroy(r);
}

static void test_lookup_errors(void **state)
{
    (void)state;
    hash_ring_t *r = ring_new(HASH_RING_DIALECT_PYTHON);
    const char *node = "untouched";
    size_t len = 77, count = 77;
    const char *nodes[4];
    assert_int_equal(hash_ring_get_node(r, "k", 1, &node, &len), HASH_RING_EEMPTY);
    assert_int_equal(hash_ring_get_nodes(r, "k", 1, nodes, NULL, 4, &count), HASH_RING_EEMPTY);
    /* max 0 too: emptiness is reported whatever max is */
    assert_int_equal(hash_ring_get_nodes(r, "k", 1, NULL, NULL, 0, &count), HASH_RING_EEMPTY);
    add(r, "zero", 0); /* a member that owns nothing: still empty */
    assert_int_equal(hash_ring_get_node(r, "k", 1, &node, &len), HASH_RING_EEMPTY);
    assert_string_equal(node, "untouched");
    assert_int_equal(len, 77);
    add(r, "one", 1);
    assert_int_equal(hash_ring_get_node(NULL, "k", 1, &node, &len), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_node(r, NULL, 1, &node, &len), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_node(r, "k", 1, NULL, &len), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_node(r, NULL, 0, &node, NULL), HASH_RING_OK);
    assert_string_equal(node, "one");
    assert_int_equal(hash_ring_get_node(r, "k\0\n", 3, &node, &len), HASH_RING_OK);
    assert_string_equal(node, "one");
    assert_int_equal(len, 3);
    assert_int_equal(hash_ring_get_nodes(NULL, "k", 1, nodes, NULL, 4, &count), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_nodes(r, NULL, 1, nodes, NULL, 4, &count), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_nodes(r, "k", 1, NULL, NULL, 4, &count), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_nodes(r, "k", 1, nodes, NULL, 4, NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_get_nodes(r, "k", 1, NULL, NULL, 0, &count), HASH_RING_OK);
    assert_int_equal(count, 0);
    /* the zero-weight member never appears among replicas */
    assert_int_equal(hash_ring_get_nodes(r, "k", 1, nodes, NULL, 4, &count), HASH_RING_OK);
    assert_int_equal(count, 1);
    assert_string_equal(nodes[0], "one");
    hash_ring_destroy(r);
}

/* Names returned by the ring stay valid until destroy, even after removal. */
static void test_name_lifetime(void **state)
{
    (void)state;
    hash_ring_t *r = ring_new(HASH_RING_DIALECT_PYTHON);
    char name[64];
    memset(name, 'x', sizeof name);
    memcpy(name, "node\0with-nul", 13);
    assert_int_equal(hash_ring_add_node(r, name, sizeof name, 1), HASH_RING_OK);
    const char *got;
    size_t len;
    assert_int_equal(hash_ring_get_node(r, "key", 3, &got, &len), HASH_RING_OK);
    assert_int_equal(len, sizeof name);
    assert_memory_equal(got, name, sizeof name);
    assert_int_equal(got[len], '\0');
    assert_int_equal(hash_ring_remove_node(r, name, sizeof name), HASH_RING_OK);
    for (int i = 0; i < 50; i++) { /* churn */
        char other[16];
        snprintf(other, sizeof other, "n%d", i);
        add(r, other, 1);
        assert_int_equal(hash_ring_remove_node(r, other, strlen(other)), HASH_RING_OK);
    }
    assert_memory_equal(got, name, sizeof name); /* still readable (ASan/valgrind check) */
    /* re-adding the same bytes gives the same stored name */
    assert_int_equal(hash_ring_add_node(r, name, sizeof name, 1), HASH_RING_OK);
    const char *again;
    assert_int_equal(hash_ring_get_node(r, "key", 3, &again, NULL), HASH_RING_OK);
    assert_ptr_equal(again, got);
    hash_ring_destroy(r);
}

/* A snapshot keeps its membership whatever happens to the ring, and
 * outlives the ring. */
static void test_snapshot(void **state)
{
    (void)state;
    hash_ring_t *r = ring_new(HASH_RING_DIALECT_PYTHON);
    add(r, "a", 1);
    add(r, "b", 1);
    hash_ring_snapshot_t *s1 = NULL, *s2 = NULL;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s1), HASH_RING_OK);
    char *d1 = dump(r);
    add(r, "c", 1);
    assert_int_equal(hash_ring_remove_node(r, "a", 1), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_acquire(r, &s2), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node_count(s1), 2);
    assert_int_equal(hash_ring_snapshot_node_count(s2), 2);
    assert_int_equal(hash_ring_snapshot_point_count(s1), 240);
    hash_ring_destroy(r);

    /* keys owned by "a" in s1; in s2 nobody is "a" */
    int owned_by_a = 0;
    for (int i = 0; i < 200; i++) {
        char key[16];
        const char *n1, *n2;
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(hash_ring_snapshot_get_node(s1, key, strlen(key), &n1, NULL), 0);
        assert_int_equal(hash_ring_snapshot_get_node(s2, key, strlen(key), &n2, NULL), 0);
        owned_by_a += strcmp(n1, "a") == 0;
        assert_string_not_equal(n2, "a");
        /* the position lookup agrees with the key lookup */
        uint32_t pos;
        const char *n3;
        assert_int_equal(hash_ring_position(key, strlen(key), &pos), 0);
        assert_int_equal(hash_ring_snapshot_get_node_at(s1, pos, &n3, NULL), 0);
        assert_ptr_equal(n1, n3);
    }
    assert_true(owned_by_a > 40 && owned_by_a < 160);

    /* snapshot accessors' errors */
    const char *name;
    uint32_t pt;
    size_t count;
    hash_ring_dialect_t d;
    assert_int_equal(hash_ring_snapshot_node(s1, 2, &name, NULL, NULL, NULL, NULL),
                     HASH_RING_ENOTFOUND);
    assert_int_equal(hash_ring_snapshot_node(NULL, 0, &name, NULL, NULL, NULL, NULL),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_node(s1, 0, NULL, NULL, NULL, NULL, NULL), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_point(s1, 240, &pt, &name, NULL), HASH_RING_ENOTFOUND);
    assert_int_equal(hash_ring_snapshot_point(NULL, 0, &pt, &name, NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_point(s1, 239, NULL, NULL, NULL), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_get_node(NULL, "k", 1, &name, NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_node(s1, NULL, 1, &name, NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_node(s1, "k", 1, NULL, NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_nodes(s1, "k", 1, NULL, NULL, 1, &count),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_nodes(s1, "k", 1, &name, NULL, 1, NULL),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_nodes(NULL, "k", 1, &name, NULL, 1, &count),
                     HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_node_at(NULL, 0, &name, NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_get_node_at(s1, 0, NULL, NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_dialect(s1, &d), HASH_RING_OK);
    assert_int_equal(d, HASH_RING_DIALECT_PYTHON);
    assert_int_equal(hash_ring_snapshot_dialect(NULL, &d), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_dialect(s1, NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_snapshot_node_count(NULL), 0);
    assert_int_equal(hash_ring_snapshot_point_count(NULL), 0);
    assert_int_equal(hash_ring_snapshot_acquire(NULL, &s1), HASH_RING_EINVAL);
    free(d1);
    hash_ring_snapshot_release(s1);
    hash_ring_snapshot_release(s2);
}

static void test_snapshot_empty(void **state)
{
    (void)state;
    hash_ring_t *r = ring_new(HASH_RING_DIALECT_LIBKETAMA);
    hash_ring_snapshot_t *s;
    const char *name;
    size_t count;
    assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_point_count(s), 0);
    assert_int_equal(hash_ring_snapshot_node_count(s), 0);
    assert_int_equal(hash_ring_snapshot_get_node(s, "k", 1, &name, NULL), HASH_RING_EEMPTY);
    assert_int_equal(hash_ring_snapshot_get_node_at(s, 5, &name, NULL), HASH_RING_EEMPTY);
    assert_int_equal(hash_ring_snapshot_get_nodes(s, "k", 1, &name, NULL, 1, &count),
                     HASH_RING_EEMPTY);
    hash_ring_snapshot_release(s);
    hash_ring_destroy(r);
}

/* Weights: 0 keeps a member owning nothing; set_weight moves points;
 * shares are exact and sum to 2^32. */
static void test_weights_and_shares(void **state)
{
    (void)state;
    for (int d = 0; d < 7; d++) {
        hash_ring_t *r = ring_new((hash_ring_dialect_t)d);
        add(r, "10.0.0.1:11211", 1);
        add(r, "10.0.0.2:11211", 0);
        add(r, "10.0.0.3:11212", 3);
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), HASH_RING_OK);
        uint64_t total = 0, share;
        size_t pts, sum_pts = 0;
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(hash_ring_snapshot_node(s, i, NULL, NULL, NULL, &pts, &share), 0);
            total += share;
            sum_pts += pts;
            if (i == 1 && (d == HASH_RING_DIALECT_HASHRING ||
                           d == HASH_RING_DIALECT_HASHRING_PYTHON ||
                           d == HASH_RING_DIALECT_LIBMEMCACHED))
                assert_true(pts > 0); /* weight 0 counts as 1 there */
            else if (i == 1)
                assert_int_equal(pts, 0);
        }
        assert_int_equal(total, (uint64_t)1 << 32);
        assert_int_equal(sum_pts, hash_ring_snapshot_point_count(s));
        hash_ring_snapshot_release(s);

        assert_int_equal(hash_ring_set_weight(r, "10.0.0.3:11212", 14, 0), HASH_RING_OK);
        assert_int_equal(hash_ring_set_weight(r, "10.0.0.1:11211", 14, 0), HASH_RING_OK);
        const char *name;
        if (d == HASH_RING_DIALECT_HASHRING || d == HASH_RING_DIALECT_HASHRING_PYTHON ||
            d == HASH_RING_DIALECT_LIBMEMCACHED)
            assert_int_equal(hash_ring_get_node(r, "k", 1, &name, NULL), HASH_RING_OK);
        else
            assert_int_equal(hash_ring_get_node(r, "k", 1, &name, NULL), HASH_RING_EEMPTY);
        hash_ring_destroy(r);
    }
}

/* The seed's three servers: python places 40 digests x 3 points each. */
static void test_point_counts(void **state)
{
    (void)state;
    static const size_t expect[7] = {120, 120, 160, 160, 160, 160, 120};
    for (int d = 0; d < 7; d++) {
        hash_ring_t *r = ring_new((hash_ring_dialect_t)d);
        add(r, "192.168.0.246:11212", 1);
        add(r, "192.168.0.247:11212", 1);
        add(r, "192.168.0.249:11212", 1);
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
        assert_int_equal(hash_ring_snapshot_point_count(s), 3 * expect[d]);
        size_t pts;
        assert_int_equal(hash_ring_snapshot_node(s, 1, NULL, NULL, NULL, &pts, NULL), 0);
        assert_int_equal(pts, expect[d]);
        hash_ring_snapshot_release(s);
        hash_ring_destroy(r);
    }
}

/* get_nodes with more than 64 wanted (the bitmap path) returns every node
 * that owns points, each once, starting with get_node's answer. */
static void test_get_nodes_many(void **state)
{
    (void)state;
    hash_ring_t *r = ring_new(HASH_RING_DIALECT_PYTHON);
    for (int i = 0; i < 100; i++) {
        char n[16];
        snprintf(n, sizeof n, "node-%d", i);
        add(r, n, i == 7 ? 0 : 1);
    }
    const char *nodes[200], *first;
    size_t count;
    assert_int_equal(hash_ring_get_nodes(r, "key", 3, nodes, NULL, 200, &count), 0);
    assert_int_equal(count, 99);
    assert_int_equal(hash_ring_get_node(r, "key", 3, &first, NULL), 0);
    assert_ptr_equal(nodes[0], first);
    for (size_t i = 0; i < count; i++) {
        assert_string_not_equal(nodes[i], "node-7");
        for (size_t k = 0; k < i; k++)
            assert_ptr_not_equal(nodes[i], nodes[k]);
    }
    /* the first 64 of the bitmap path equal the small path's answer */
    const char *small[64];
    assert_int_equal(hash_ring_get_nodes(r, "key", 3, small, NULL, 64, &count), 0);
    assert_int_equal(count, 64);
    for (size_t i = 0; i < 64; i++)
        assert_ptr_equal(small[i], nodes[i]);
    hash_ring_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),         cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_dialect_names),   cmocka_unit_test(test_create_errors),
        cmocka_unit_test(test_position),        cmocka_unit_test(test_add_errors),
        cmocka_unit_test(test_remove_and_weight_errors),
        cmocka_unit_test(test_lookup_errors),   cmocka_unit_test(test_name_lifetime),
        cmocka_unit_test(test_snapshot),        cmocka_unit_test(test_snapshot_empty),
        cmocka_unit_test(test_weights_and_shares),
        cmocka_unit_test(test_point_counts),    cmocka_unit_test(test_get_nodes_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
