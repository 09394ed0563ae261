/* test_properties_clients.c - the seven client dialects against models
 * written here from their rules (src/DIALECTS.md "More clients", README "More
 * clients"), on random pools (weights, port 11211, host names, pools
 * without ports, unix sockets where the client has them), random keys,
 * keys forged to sit exactly on a point, and rings where two nodes share a
 * point; plus each client's name rules as the real clients print them,
 * incremental builds equal to from-scratch ones, and exact shares.
 *
 * The models use their own hashing (libcrypto's EVP_Digest MD5 and
 * SHA-1, zlib's crc32()) and build each client's table the client's way
 * (pecl memcache's 1,024 buckets, Dalli's last point at or below the key,
 * uhashring's dict), never the library's continuum. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "build.h"
#include "continuum.h"
#include "hash_ring.h"
#include "names.h"
#include "testutil.h"

#define FIRST_NEW HASH_RING_DIALECT_SPYMEMCACHED
#define LAST_NEW HASH_RING_DIALECT_PECL_MEMCACHE

/* ---- The model ---------------------------------------------------------- */

typedef struct mnode {
    char name[80];
    uint32_t w;
} mnode;

typedef struct mpoint {
    uint32_t p;
    uint32_t owner; /* index in the node list */
} mpoint;

typedef struct model {
    hash_ring_dialect_t d;
    mpoint *pts;     /* sorted, ties in the client's order (see model_build) */
    size_t n;
    uint32_t bucket[1024]; /* pecl memcache */
} model;

static uint32_t md5w(const char *s, size_t len, int i)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    assert_int_equal(EVP_Digest(s, len, d, NULL, EVP_md5(), NULL), 1);
    return (uint32_t)d[4 * i] | (uint32_t)d[4 * i + 1] << 8 | (uint32_t)d[4 * i + 2] << 16 |
           (uint32_t)d[4 * i + 3] << 24;
}

static uint32_t crc(const void *s, size_t len)
{
    return (uint32_t)crc32(0, s, (uInt)len);
}

/* The bytes a client hashes for a node name, for the name shapes the
 * pools below use ("a.b.c.d:port", "host:port", "host", "/path",
 * "unix:/path", "host/ip:port"). */
static size_t model_hashed(hash_ring_dialect_t d, const char *name, char *out)
{
    size_t len = strlen(name);
    const char *c1 = strchr(name, ':'), *cl = strrchr(name, ':');
    int has_port = cl != NULL && cl[1] != '\0' && strspn(cl + 1, "0123456789") == strlen(cl + 1);
    switch (d) {
    case HASH_RING_DIALECT_NODE_MEMCACHED:
        /* first ':'; the text up to the next ':' read as a number */
        if (c1 != NULL && strtoul(c1 + 1, NULL, 10) == 11211 &&
            strspn(c1 + 1, "0123456789") == strcspn(c1 + 1, ":")) {
            memcpy(out, name, (size_t)(c1 - name));
            return (size_t)(c1 - name);
        }
        break;
    case HASH_RING_DIALECT_NGINX:
        /* host NUL port */
        if (strncmp(name, "unix:", 5) == 0) {
            memcpy(out, name + 5, len - 5 + 1);
            return len - 5 + 1;
        }
        memcpy(out, name, len + 1);
        if (has_port)
            out[cl - name] = '\0';
        return has_port ? len : len + 1;
    case HASH_RING_DIALECT_DALLI:
    case HASH_RING_DIALECT_PECL_MEMCACHE:
        if (!has_port && name[0] != '/')
            return (size_t)sprintf(out, "%s:11211", name);
        break;
    default:
        break;
    }
    memcpy(out, name, len);
    return len;
}

/* Digests (or points) of node i, per the client's formula. */
static uint32_t model_count(hash_ring_dialect_t d, const mnode *nodes, size_t n, size_t i)
{
    uint64_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += d == HASH_RING_DIALECT_NODE_MEMCACHED && nodes[k].w == 0 ? 1 : nodes[k].w;
    uint64_t w = nodes[i].w;
    switch (d) {
    case HASH_RING_DIALECT_SPYMEMCACHED:
        return 40;
    case HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED: {
        if (w == 0)
            return 0;
        /* (int)Math.floor((float)(pct * 160f / 4 * (float)n + 0.0000000001)) */
        float pct = (float)w / (float)total;
        float f = pct * 160.0f / 4.0f * (float)n;
        return (uint32_t)floor((double)(float)((double)f + 0.0000000001));
    }
    case HASH_RING_DIALECT_UHASHRING:
        return w == 0 ? 0 : (uint32_t)(40 * (uint64_t)n * w / total);
    case HASH_RING_DIALECT_NODE_MEMCACHED:
        if (w == 0)
            w = 1;
        return (uint32_t)floor((double)w / (double)total * 40.0 * (double)n);
    case HASH_RING_DIALECT_NGINX:
    case HASH_RING_DIALECT_PECL_MEMCACHE:
        return (uint32_t)(w * 160);
    case HASH_RING_DIALECT_DALLI:
        return w == 0 ? 0 : (uint32_t)floor((double)(n * 160 * w) / (double)total);
    default:
        fail();
    }
    return 0;
}

/* Node i's points, appended to m->pts. */
static void model_node_points(model *m, const mnode *nodes, size_t n, size_t i)
{
    char h[128], buf[160];
    size_t hl = model_hashed(m->d, nodes[i].name, h);
    uint32_t cnt = model_count(m->d, nodes, n, i), prev = 0;
    for (uint32_t j = 0; j < cnt; j++) {
        switch (m->d) {
        case HASH_RING_DIALECT_NGINX: {
            memcpy(buf, h, hl);
            for (int b = 0; b < 4; b++)
                buf[hl + (size_t)b] = (char)(prev >> (8 * b));
            prev = crc(buf, hl + 4);
            m->pts[m->n++] = (mpoint){prev, (uint32_t)i};
            break;
        }
        case HASH_RING_DIALECT_DALLI: {
            unsigned char d[EVP_MAX_MD_SIZE];
            int l = snprintf(buf, sizeof buf, "%.*s:%u", (int)hl, h, j);
            assert_int_equal(EVP_Digest(buf, (size_t)l, d, NULL, EVP_sha1(), NULL), 1);
            uint32_t p = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
            m->pts[m->n++] = (mpoint){p, (uint32_t)i};
            break;
        }
        case HASH_RING_DIALECT_PECL_MEMCACHE: {
            int l = snprintf(buf, sizeof buf, "%.*s-%u", (int)hl, h, j);
            m->pts[m->n++] = (mpoint){crc(buf, (size_t)l), (uint32_t)i};
            break;
        }
        default: {
            int l = snprintf(buf, sizeof buf, "%.*s-%u", (int)hl, h, j);
            for (int k = 0; k < 4; k++)
                m->pts[m->n++] = (mpoint){md5w(buf, (size_t)l, k), (uint32_t)i};
        }
        }
    }
}

static int cmp_point_first(const void *a, const void *b)
{
    const mpoint *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->owner < y->owner ? -1 : x->owner > y->owner;
}

/* Sorted points; at equal points the node added first comes first. */
static void model_build(model *m, hash_ring_dialect_t d, const mnode *nodes, size_t n)
{
    m->d = d;
    m->n = 0;
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += (size_t)model_count(d, nodes, n, i) * 4;
    m->pts = malloc((cap + 1) * sizeof *m->pts);
    assert_non_null(m->pts);
    for (size_t i = 0; i < n; i++)
        model_node_points(m, nodes, n, i);
    qsort(m->pts, m->n, sizeof *m->pts, cmp_point_first);
    if (d == HASH_RING_DIALECT_PECL_MEMCACHE && m->n > 0) {
        /* the client's table: bucket b holds the owner of the first point
         * >= b * (0xffffffff / 1024), wrapping; a shared point to the node
         * added first (this library's choice) */
        for (uint32_t b = 0; b < 1024; b++) {
            uint32_t t = b * (0xffffffffu / 1024), k = 0;
            while (k < m->n && m->pts[k].p < t)
                k++;
            m->bucket[b] = m->pts[k == m->n ? 0 : k].owner;
        }
    }
}

/* The owner of ring position pos (n > 0), by each client's lookup rule. */
static uint32_t model_at(const model *m, uint32_t pos)
{
    size_t n = m->n;
    switch (m->d) {
    case HASH_RING_DIALECT_UHASHRING: {
        /* a dict: the node added last keeps a shared point; first point > pos */
        size_t k = 0;
        while (k < n && m->pts[k].p <= pos)
            k++;
        if (k == n)
            k = 0;
        size_t e = k;
        while (e + 1 < n && m->pts[e + 1].p == m->pts[k].p)
            e++;
        return m->pts[e].owner;
    }
    case HASH_RING_DIALECT_SPYMEMCACHED:
    case HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED: {
        /* a TreeMap whose put overwrites: the later node; first point >= pos */
        size_t k = 0;
        while (k < n && m->pts[k].p < pos)
            k++;
        if (k == n)
            k = 0;
        size_t e = k;
        while (e + 1 < n && m->pts[e + 1].p == m->pts[k].p)
            e++;
        return m->pts[e].owner;
    }
    case HASH_RING_DIALECT_DALLI: {
        /* the last point <= pos, else the last point; of equal points the
         * node added first (this library's choice) */
        size_t k = n;
        while (k > 0 && m->pts[k - 1].p > pos)
            k--;
        size_t at = k == 0 ? n - 1 : k - 1;
        while (at > 0 && m->pts[at - 1].p == m->pts[at].p)
            at--;
        return m->pts[at].owner;
    }
    default: {
        /* node-memcached, nginx, pecl's buckets: first point >= pos, the
         * node added first */
        size_t k = 0;
        while (k < n && m->pts[k].p < pos)
            k++;
        return m->pts[k == n ? 0 : k].owner;
    }
    }
}

static uint32_t model_get(const model *m, const unsigned char *key, size_t len)
{
    switch (m->d) {
    case HASH_RING_DIALECT_NGINX:
    case HASH_RING_DIALECT_DALLI:
        return model_at(m, crc(key, len));
    case HASH_RING_DIALECT_PECL_MEMCACHE: {
        unsigned char k[250];
        size_t n = len < 250 ? len : 250;
        for (size_t i = 0; i < n; i++)
            k[i] = key[i] <= ' ' ? '_' : key[i];
        return m->bucket[crc(k, n) % 1024];
    }
    default:
        return model_at(m, md5w((const char *)key, len, 0));
    }
}

/* Four bytes that, appended to a key whose CRC-32 is `prefix`, make the
 * whole key's CRC-32 `target` (CRC-32 is linear: after four bytes the
 * register depends only on the four table indexes, found backwards from
 * the target by the table's distinct top bytes). */
static void crc_forge(uint32_t prefix, uint32_t target, unsigned char out[4])
{
    const z_crc_t *t = get_crc_table();
    unsigned idx[4];
    uint32_t r = ~target;
    for (int k = 3; k >= 0; k--) {
        unsigned i = 0;
        while ((t[i] >> 24) != (r >> 24))
            i++;
        idx[k] = i;
        r = (r ^ (uint32_t)t[i]) << 8;
    }
    r = ~prefix;
    for (int k = 0; k < 4; k++) {
        out[k] = (unsigned char)((r ^ idx[k]) & 0xff);
        r = (r >> 8) ^ (uint32_t)t[idx[k]];
    }
}

/* ---- Comparing a ring with the model ------------------------------------ */

static hash_ring_t *ring_of(hash_ring_dialect_t d, const mnode *nodes, size_t n)
{
    hash_ring_t *r;
    assert_int_equal(hash_ring_create(&r, d), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hash_ring_add_node(r, nodes[i].name, strlen(nodes[i].name), nodes[i].w),
                         0);
    return r;
}

static void expect(const hash_ring_t *r, const mnode *nodes, uint32_t want, const void *key,
                   size_t len, const char *what)
{
    const char *got;
    assert_int_equal(hash_ring_get_node(r, key, len, &got, NULL), 0);
    if (strcmp(got, nodes[want].name) != 0)
        fail_msg("%s: key of %zu bytes: library %s, model %s", what, len, got, nodes[want].name);
}

/* Random keys (any bytes, 0 to 300 long), keys forged onto every point
 * and next to it (CRC dialects), and every point position with its
 * neighbours through get_node_at (position dialects); returns the number
 * of checks. */
static size_t compare(const hash_ring_t *r, const model *m, const mnode *nodes, uint64_t *seed,
                      size_t nkeys)
{
    size_t checks = 0;
    const char *dn = hash_ring_dialect_name(m->d);
    for (size_t i = 0; i < nkeys; i++) {
        unsigned char key[300];
        size_t len = (size_t)(tu_rand(seed) % 301);
        if (i % 4 != 0)
            len = len % 40;
        for (size_t k = 0; k < len; k++)
            key[k] = (unsigned char)(i % 2 ? tu_rand(seed) : 0x20 + tu_rand(seed) % 0x5f);
        expect(r, nodes, model_get(m, key, len), key, len, dn);
        checks++;
    }
    if (m->d == HASH_RING_DIALECT_NGINX || m->d == HASH_RING_DIALECT_DALLI) {
        for (size_t i = 0; i < m->n; i++) {
            for (uint32_t delta = 0; delta < 3; delta++) {
                uint32_t target = m->pts[i].p + delta - 1u;
                unsigned char key[12];
                int pl = snprintf((char *)key, sizeof key, "k%zu", i);
                crc_forge(crc(key, (size_t)pl), target, key + pl);
                assert_int_equal(crc(key, (size_t)pl + 4), target);
                expect(r, nodes, model_at(m, target), key, (size_t)pl + 4, dn);
                checks++;
            }
        }
    } else {
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
        for (size_t i = 0; i < m->n; i++) {
            for (uint32_t delta = 0; delta < 3; delta++) {
                uint32_t pos = m->pts[i].p + delta - 1u;
                const char *got;
                assert_int_equal(hash_ring_snapshot_get_node_at(s, pos, &got, NULL), 0);
                if (strcmp(got, nodes[model_at(m, pos)].name) != 0)
                    fail_msg("%s: position %u: library %s, model %s", dn, pos, got,
                             nodes[model_at(m, pos)].name);
                checks++;
            }
        }
        if (m->d == HASH_RING_DIALECT_PECL_MEMCACHE) {
            /* the bucket thresholds are where pecl's keys sit */
            for (uint32_t b = 0; b < 1024; b++) {
                const char *got;
                assert_int_equal(
                    hash_ring_snapshot_get_node_at(s, b * (0xffffffffu / 1024), &got, NULL), 0);
                assert_string_equal(got, nodes[m->bucket[b]].name);
                checks++;
            }
        }
        hash_ring_snapshot_release(s);
    }
    return checks;
}

/* A random pool in the name shapes each client takes. */
static size_t random_pool(hash_ring_dialect_t d, uint64_t *seed, mnode *nodes, size_t max)
{
    size_t n = 1 + (size_t)(tu_rand(seed) % max);
    static const uint32_t weights[] = {0, 1, 1, 1, 1, 2, 3, 5, 10};
    for (size_t i = 0; i < n; i++) {
        unsigned shape = (unsigned)(tu_rand(seed) % 5), port = 11211;
        if (tu_rand(seed) % 2)
            port = 20000 + (unsigned)(tu_rand(seed) % 40000);
        char *nm = nodes[i].name;
        size_t cap = sizeof nodes[i].name;
        switch (shape) {
        case 0:
            snprintf(nm, cap, "10.%u.%u.%zu:%u", (unsigned)(tu_rand(seed) % 256),
                     (unsigned)(tu_rand(seed) % 256), i, port);
            break;
        case 1:
            snprintf(nm, cap, "cache-%zu.example.com:%u", i, port);
            break;
        case 2: /* a host name without a port (11211 in Dalli and pecl) */
            snprintf(nm, cap, "mc%zu.internal", i);
            break;
        case 3:
            if (d == HASH_RING_DIALECT_DALLI)
                snprintf(nm, cap, "/run/memcached/mc%zu.sock", i);
            else if (d == HASH_RING_DIALECT_NGINX)
                snprintf(nm, cap, "unix:/run/memcached/mc%zu.sock", i);
            else
                snprintf(nm, cap, "mc%zu:%u", i, port);
            break;
        default: /* spymemcached's host-name form; others take it as a name */
            snprintf(nm, cap, "db%zu.local/192.168.1.%zu:%u", i, i, port);
        }
        nodes[i].w = weights[tu_rand(seed) % (sizeof weights / sizeof *weights)];
    }
    return n;
}

/* Random pools of every shape: the library places every key, exact hit
 * and position as the model does. */
static void test_random_pools(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0001;
    for (int d = FIRST_NEW; d <= LAST_NEW; d++) {
        size_t checks = 0, rings = 0;
        for (int round = 0; round < 24; round++) {
            mnode nodes[16];
            size_t n = random_pool((hash_ring_dialect_t)d, &seed, nodes, round < 4 ? 1 : 16);
            model m;
            model_build(&m, (hash_ring_dialect_t)d, nodes, n);
            hash_ring_t *r = ring_of((hash_ring_dialect_t)d, nodes, n);
            const char *got;
            if (m.n == 0) {
                assert_int_equal(hash_ring_get_node(r, "k", 1, &got, NULL), HASH_RING_EEMPTY);
            } else {
                checks += compare(r, &m, nodes, &seed, 3000);
                rings++;
            }
            /* the point counts as the client computes them */
            hash_ring_snapshot_t *s;
            assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
            assert_int_equal(hash_ring_snapshot_point_count(s), m.n);
            hash_ring_snapshot_release(s);
            hash_ring_destroy(r);
            free(m.pts);
        }
        assert_true(rings >= 16);
        print_message("%s: %zu rings, %zu checks\n", hash_ring_dialect_name((hash_ring_dialect_t)d),
                      rings, checks);
    }
}

/* Pools where float formulas and exact ones part (src/DIALECTS.md note 1):
 * weights 1,1,3,10,10 (libmemcached's float32 formula gives 7,7,23,80,80
 * digests, exact division 8,8,24,80,80) and equal pools of 7, 25 and 61
 * nodes (39 digests a node in double or float32 at some of them). */
static void test_formula_pools(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed0002;
    static const uint32_t uneven[] = {1, 1, 3, 10, 10};
    static const size_t equal[] = {7, 25, 61};
    for (int d = FIRST_NEW; d <= LAST_NEW; d++) {
        for (size_t pool = 0; pool < 4; pool++) {
            static mnode nodes[61];
            size_t n = pool == 0 ? 5 : equal[pool - 1];
            for (size_t i = 0; i < n; i++) {
                snprintf(nodes[i].name, sizeof nodes[i].name, "10.0.1.%zu:11211", i);
                nodes[i].w = pool == 0 ? uneven[i] : 1;
            }
            model m;
            model_build(&m, (hash_ring_dialect_t)d, nodes, n);
            hash_ring_t *r = ring_of((hash_ring_dialect_t)d, nodes, n);
            hash_ring_snapshot_t *s;
            assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
            for (size_t i = 0; i < n; i++) {
                size_t pts;
                assert_int_equal(hash_ring_snapshot_node(s, i, NULL, NULL, NULL, &pts, NULL), 0);
                size_t per = d == HASH_RING_DIALECT_NGINX || d == HASH_RING_DIALECT_DALLI ||
                                     d == HASH_RING_DIALECT_PECL_MEMCACHE
                                 ? 1
                                 : 4;
                assert_int_equal(pts, (size_t)model_count((hash_ring_dialect_t)d, nodes, n, i) *
                                          per);
            }
            hash_ring_snapshot_release(s);
            compare(r, &m, nodes, &seed, 2000);
            hash_ring_destroy(r);
            free(m.pts);
        }
    }
    /* the pools do tell the formulas apart */
    mnode five[5];
    for (size_t i = 0; i < 5; i++) {
        snprintf(five[i].name, sizeof five[i].name, "n%zu", i);
        five[i].w = uneven[i];
    }
    assert_int_equal(model_count(HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED, five, 5, 0), 7);
    assert_int_equal(model_count(HASH_RING_DIALECT_UHASHRING, five, 5, 0), 8);
}

/* A single Dalli server owns every key, whatever its weight (> 0). */
static void test_dalli_single(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (uint32_t w = 1; w <= 3; w++) {
        mnode one = {"10.0.0.1:11211", w};
        hash_ring_t *r = ring_of(HASH_RING_DIALECT_DALLI, &one, 1);
        for (int i = 0; i < 2000; i++) {
            char key[32];
            int len = snprintf(key, sizeof key, "%llx", (unsigned long long)tu_rand(&seed));
            expect(r, &one, 0, key, (size_t)len, "dalli single");
        }
        hash_ring_destroy(r);
    }
}

/* Candidate i's name: 64 scrambled bits in hex (CRC-32 never maps two
 * equal-length strings differing in one short burst to the same value,
 * so names differing in a counter alone would share no CRC point). */
static void pair_name(char *out, size_t cap, hash_ring_dialect_t d, uint32_t i)
{
    uint64_t x = (uint64_t)(i + 1) * 0x9e3779b97f4a7c15u;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 32;
    snprintf(out, cap, "n%016llx:%u", (unsigned long long)x,
             d == HASH_RING_DIALECT_NODE_MEMCACHED ? 11211 : 22122);
}

/* Two nodes sharing a point, found among names "n<hex>:<port>": each
 * dialect's tie rule on keys forged onto the point (CRC dialects), on the
 * position itself (MD5 dialects) and on pecl's buckets, in both orders. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_shared_points(void **state)
{
    (void)state;
    enum { N = 3000 };
    uint64_t seed = 99;
    for (int d = FIRST_NEW; d <= LAST_NEW; d++) {
        /* every candidate's points in a two-node ring of weight 1 */
        mnode pair[2] = {{"", 1}, {"", 1}};
        uint64_t *all = malloc(sizeof(uint64_t) * N * 160);
        assert_non_null(all);
        size_t k = 0;
        for (uint32_t i = 0; i < N; i++) {
            model one;
            pair_name(pair[0].name, sizeof pair[0].name, (hash_ring_dialect_t)d, i);
            snprintf(pair[1].name, sizeof pair[1].name, "other");
            one.d = (hash_ring_dialect_t)d;
            one.n = 0;
            one.pts = malloc(sizeof *one.pts * 160);
            assert_non_null(one.pts);
            model_node_points(&one, pair, 2, 0);
            for (size_t j = 0; j < one.n; j++)
                all[k++] = (uint64_t)one.pts[j].p << 32 | i;
            free(one.pts);
        }
        qsort(all, k, sizeof *all, cmp_u64);
        size_t rings = 0, checks = 0;
        for (size_t j = 1; j < k && rings < 6; j++) {
            uint32_t a = (uint32_t)all[j - 1], b = (uint32_t)all[j];
            if ((all[j] >> 32) != (all[j - 1] >> 32) || a == b)
                continue;
            for (int order = 0; order < 2; order++) {
                mnode nodes[2];
                pair_name(nodes[0].name, sizeof nodes[0].name, (hash_ring_dialect_t)d,
                          order ? b : a);
                pair_name(nodes[1].name, sizeof nodes[1].name, (hash_ring_dialect_t)d,
                          order ? a : b);
                nodes[0].w = nodes[1].w = 1;
                model m;
                model_build(&m, (hash_ring_dialect_t)d, nodes, 2);
                hash_ring_t *r = ring_of((hash_ring_dialect_t)d, nodes, 2);
                checks += compare(r, &m, nodes, &seed, 4000);
                /* the shared point itself goes to the rule's node */
                uint32_t shared = (uint32_t)(all[j] >> 32);
                uint32_t winner = model_at(&m, shared);
                int later = d == HASH_RING_DIALECT_SPYMEMCACHED ||
                            d == HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED ||
                            d == HASH_RING_DIALECT_UHASHRING;
                if (d == HASH_RING_DIALECT_UHASHRING) {
                    /* > : the shared point answers keys just below it */
                    winner = model_at(&m, shared - 1u);
                }
                assert_int_equal(winner, later ? 1u : 0u);
                hash_ring_destroy(r);
                free(m.pts);
            }
            rings++;
        }
        free(all);
        assert_true(rings >= 3);
        print_message("%s: %zu shared-point rings (both orders), %zu checks\n",
                      hash_ring_dialect_name((hash_ring_dialect_t)d), rings, checks);
    }
}

/* ---- Names as the real clients read them -------------------------------- */

/* Expected bytes hashed: node-memcached's from Node.js (+s === 11211),
 * Dalli's from Dalli 3.0.6's Server#name (a server string Dalli refuses
 * is hashed as written), nginx's and pecl's from their rules. */
static void test_client_names(void **state)
{
    (void)state;
    static const struct {
        hash_ring_dialect_t d;
        const char *name, *hashed;
        size_t hashed_len; /* 0: strlen(hashed) */
    } t[] = {
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11211", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:011211", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h: 11211", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11211.0", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:1.1211e4", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:0x2bcb", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:0X2BCB", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:0o25713", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:0b10101111001011", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:+11211", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:-11211", "h:-11211", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11211.0000000000009", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11211.000000000001", "h:11211.000000000001", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11210.9999999999991", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11210.999999999999", "h:11210.999999999999", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:\xc2\xa0" "11211\xe2\x80\xa8", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h: 11211 ", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11211a", "h:11211a", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:", "h:", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:Infinity", "h:Infinity", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:0x", "h:0x", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:1121.1e1", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:112110e-1", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:.11211e5", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11211.", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:1_1211", "h:1_1211", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:0011211e0", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11211e", "h:11211e", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:+0x2bcb", "h:+0x2bcb", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED,
         "h:11211.00000000000090949470177292823791503906250000001",
         "h:11211.00000000000090949470177292823791503906250000001", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11211.0000000000009094947017729282379150390625", "h",
         0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11210.9999999999990905052982270717620849609375", "h",
         0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11210.99999999999909050529822707176208496093749",
         "h:11210.99999999999909050529822707176208496093749", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11211:2", "h", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "[::1]:11211", "[::1]:11211", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h:11212", "h:11212", 0},
        {HASH_RING_DIALECT_NODE_MEMCACHED, "h", "h", 0},
        {HASH_RING_DIALECT_DALLI, "h", "h:11211", 0},
        {HASH_RING_DIALECT_DALLI, "h:11211", "h:11211", 0},
        {HASH_RING_DIALECT_DALLI, "h:011211", "h:4745", 0},
        {HASH_RING_DIALECT_DALLI, "h:0", "h:0", 0},
        {HASH_RING_DIALECT_DALLI, "h:00", "h:0", 0},
        {HASH_RING_DIALECT_DALLI, "h:1:2", "h:1", 0},
        {HASH_RING_DIALECT_DALLI, "[::1]", "::1:11211", 0},
        {HASH_RING_DIALECT_DALLI, "[::1]:11212", "::1:11212", 0},
        {HASH_RING_DIALECT_DALLI, "[::1]:011211", "::1:4745", 0},
        {HASH_RING_DIALECT_DALLI, "/tmp/s", "/tmp/s", 0},
        {HASH_RING_DIALECT_DALLI, "/tmp/s:3", "/tmp/s", 0},
        {HASH_RING_DIALECT_DALLI, "[zz]:1", "[zz]:1", 0},
        {HASH_RING_DIALECT_DALLI, "[ab]x:1", "[ab]x:1", 0},
        {HASH_RING_DIALECT_DALLI, "h:012:3", "h:10", 0},
        {HASH_RING_DIALECT_DALLI, "10.0.0.1:22122", "10.0.0.1:22122", 0},
        {HASH_RING_DIALECT_DALLI, "[]:1", "[]:1", 0},   /* refused by Dalli */
        {HASH_RING_DIALECT_DALLI, "a:b", "a:b", 0},     /* refused */
        {HASH_RING_DIALECT_DALLI, "h:08", "h:08", 0},   /* refused (bad octal) */
        {HASH_RING_DIALECT_DALLI, ":1", ":1", 0},       /* refused */
        {HASH_RING_DIALECT_DALLI, "h:", "h:", 0},       /* refused */
        {HASH_RING_DIALECT_DALLI, "/s:1:2", "/s:1:2", 0}, /* refused */
        {HASH_RING_DIALECT_NGINX, "10.0.0.1:11211", "10.0.0.1\0" "11211", 14},
        {HASH_RING_DIALECT_NGINX, "10.0.0.1", "10.0.0.1\0", 9},
        {HASH_RING_DIALECT_NGINX, "h:", "h\0", 2},
        {HASH_RING_DIALECT_NGINX, "[::1]:11211", "[::1]\0" "11211", 11},
        {HASH_RING_DIALECT_NGINX, "h:12a", "h:12a\0", 6},
        {HASH_RING_DIALECT_NGINX, "unix:/run/mc.sock", "/run/mc.sock\0", 13},
        {HASH_RING_DIALECT_NGINX, "UNIX:/run/mc.sock", "/run/mc.sock\0", 13},
        {HASH_RING_DIALECT_NGINX, "a:b:011", "a:b\0" "011", 7},
        {HASH_RING_DIALECT_PECL_MEMCACHE, "h", "h:11211", 0},
        {HASH_RING_DIALECT_PECL_MEMCACHE, "h:11211", "h:11211", 0},
        {HASH_RING_DIALECT_PECL_MEMCACHE, "h:22122", "h:22122", 0},
        /* php: addServer("h", 65537) is answered and hashed as "h:1" */
        {HASH_RING_DIALECT_PECL_MEMCACHE, "h:011211", "h:11211", 0},
        {HASH_RING_DIALECT_PECL_MEMCACHE, "h:65537", "h:1", 0},
        {HASH_RING_DIALECT_PECL_MEMCACHE, "h:0", "h:0", 0},
        {HASH_RING_DIALECT_SPYMEMCACHED, "localhost/127.0.0.1:11211", "localhost/127.0.0.1:11211",
         0},
        {HASH_RING_DIALECT_UHASHRING, "h:11211", "h:11211", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        hash_ring_t *r;
        hash_ring_snapshot_t *s;
        size_t want = t[i].hashed_len ? t[i].hashed_len : strlen(t[i].hashed);
        assert_int_equal(hash_ring_create(&r, t[i].d), 0);
        assert_int_equal(hash_ring_add_node(r, t[i].name, strlen(t[i].name), 1), 0);
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
        const hr_name *n = s->nodes[0].name;
        if (n->hlen != want || memcmp(n->hkey, t[i].hashed, want) != 0)
            fail_msg("%s '%s': hashes '%.*s' (%zu bytes), expected '%s' (%zu)",
                     hash_ring_dialect_name(t[i].d), t[i].name, (int)n->hlen, n->hkey, n->hlen,
                     t[i].hashed, want);
        const char *owner;
        assert_int_equal(hash_ring_get_node(r, "k", 1, &owner, NULL), 0);
        assert_string_equal(owner, t[i].name);
        hash_ring_snapshot_release(s);
        hash_ring_destroy(r);
    }
}

/* ---- Builds and shares -------------------------------------------------- */

static void assert_same(const hr_continuum *a, const hr_continuum *b)
{
    assert_int_equal(a->nnodes, b->nnodes);
    assert_int_equal(a->npoints, b->npoints);
    for (size_t i = 0; i < a->nnodes; i++) {
        assert_int_equal(a->nodes[i].hashes, b->nodes[i].hashes);
        assert_int_equal(a->nodes[i].share, b->nodes[i].share);
    }
    assert_memory_equal(a->ent, b->ent, a->npoints * sizeof *a->ent);
}

/* Random adds, removes and reweights: the ring equals a from-scratch
 * build after every step, and the shares are the exact arcs between the
 * listed points as get_node_at answers them (summing to 2^32). */
static void test_incremental_and_shares(void **state)
{
    (void)state;
    uint64_t seed = 0xabcdef;
    static const uint32_t weights[] = {0, 1, 1, 1, 2, 3, 7, 20};
    for (int d = FIRST_NEW; d <= LAST_NEW; d++) {
        hash_ring_t *r;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), 0);
        int member[24] = {0};
        for (int step = 0; step < 120; step++) {
            size_t i = (size_t)(tu_rand(&seed) % 24);
            uint32_t w = weights[tu_rand(&seed) % (sizeof weights / sizeof *weights)];
            char n[32];
            snprintf(n, sizeof n, i % 2 ? "10.0.0.%zu:11211" : "h%zu:2212%zu", i, i % 10);
            if (!member[i]) {
                assert_int_equal(hash_ring_add_node(r, n, strlen(n), w), 0);
                member[i] = 1;
            } else if (tu_rand(&seed) % 2) {
                assert_int_equal(hash_ring_remove_node(r, n, strlen(n)), 0);
                member[i] = 0;
            } else {
                assert_int_equal(hash_ring_set_weight(r, n, strlen(n), w), 0);
            }
            hash_ring_snapshot_t *s;
            assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
            hr_member *m = malloc((s->nnodes + 1) * sizeof *m);
            for (size_t k = 0; k < s->nnodes; k++) {
                m[k].name = s->nodes[k].name;
                m[k].weight = s->nodes[k].weight;
            }
            hr_continuum *full = NULL;
            assert_int_equal(hr_build_full(s->dialect, s->names, m, s->nnodes, &full),
                             0);
            assert_same(s, full);
            hr_continuum_unref(full);
            free(m);
            if (step % 10 == 9 && s->npoints > 0) {
                /* shares: the owner is constant on each point and on each
                 * open gap between distinct points */
                size_t nn = s->nnodes, np = s->npoints;
                uint64_t *mine = calloc(nn, sizeof *mine), total = 0;
                assert_non_null(mine);
                uint64_t lo = 0;
                for (size_t p = 0; p <= np; p++) {
                    uint64_t v = p < np ? hr_continuum_point(s, p) : (uint64_t)1 << 32;
                    if (p > 0 && p < np && v == hr_continuum_point(s, p - 1))
                        continue;
                    /* the gap [lo, v - 1], then the point v itself */
                    for (int part = 0; part < 2; part++) {
                        uint64_t a = part ? v : lo, b = part ? v : v - 1;
                        if (b < a || a >= ((uint64_t)1 << 32))
                            continue;
                        const char *o, *o2;
                        assert_int_equal(hash_ring_snapshot_get_node_at(s, (uint32_t)a, &o, NULL),
                                         0);
                        assert_int_equal(
                            hash_ring_snapshot_get_node_at(s, (uint32_t)b, &o2, NULL), 0);
                        assert_ptr_equal(o, o2);
                        size_t idx = 0;
                        while (s->nodes[idx].name->bytes != o)
                            idx++;
                        mine[idx] += b - a + 1;
                    }
                    lo = v + 1;
                }
                for (size_t k = 0; k < nn; k++) {
                    assert_int_equal(s->nodes[k].share, mine[k]);
                    total += mine[k];
                }
                assert_int_equal(total, (uint64_t)1 << 32);
                free(mine);
            }
            hash_ring_snapshot_release(s);
        }
        hash_ring_destroy(r);
    }
}

/* nginx and pecl memcache multiply weights by 160: a ring that would pass
 * 2^32 - 1 points is refused and left as it was.  pecl memcache's product
 * is a 32-bit unsigned int: 26843546 * 160 wraps to 64 points (the peer
 * test checks such weights against PHP itself). */
static void test_weight_limits(void **state)
{
    (void)state;
    hash_ring_dialect_t ds[] = {HASH_RING_DIALECT_NGINX, HASH_RING_DIALECT_PECL_MEMCACHE};
    for (size_t i = 0; i < 2; i++) {
        int pecl = ds[i] == HASH_RING_DIALECT_PECL_MEMCACHE;
        hash_ring_t *r;
        assert_int_equal(hash_ring_create(&r, ds[i]), 0);
        assert_int_equal(hash_ring_add_node(r, "a:1", 3, 2), 0);
        assert_int_equal(hash_ring_add_node(r, "b:1", 3, UINT32_MAX), HASH_RING_ENOMEM);
        assert_int_equal(hash_ring_set_weight(r, "a:1", 3, 26843546),
                         pecl ? 0 : HASH_RING_ENOMEM);
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
        assert_int_equal(hash_ring_snapshot_point_count(s), pecl ? 64 : 320);
        hash_ring_snapshot_release(s);
        if (pecl) { /* 2^27 * 160 wraps to 0: a member owning nothing */
            assert_int_equal(hash_ring_set_weight(r, "a:1", 3, 1u << 27), 0);
            assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
            assert_int_equal(hash_ring_snapshot_point_count(s), 0);
            hash_ring_snapshot_release(s);
        }
        hash_ring_destroy(r);
    }
}

/* A 1 MB name with NUL bytes and ':' in it: stored and returned whole,
 * with the points of one node of weight 1 (40 digests x 4, or 160). */
static void test_megabyte_name(void **state)
{
    (void)state;
    size_t len = (size_t)1 << 20;
    char *name = malloc(len);
    assert_non_null(name);
    for (size_t i = 0; i < len; i++)
        name[i] = (char)(i * 7u % 251u);
    for (int d = FIRST_NEW; d <= LAST_NEW; d++) {
        hash_ring_t *r;
        assert_int_equal(hash_ring_create(&r, (hash_ring_dialect_t)d), 0);
        assert_int_equal(hash_ring_add_node(r, name, len, 1), 0);
        const char *node;
        size_t nlen;
        assert_int_equal(hash_ring_get_node(r, "k", 1, &node, &nlen), 0);
        assert_int_equal(nlen, len);
        assert_memory_equal(node, name, len);
        hash_ring_snapshot_t *s;
        assert_int_equal(hash_ring_snapshot_acquire(r, &s), 0);
        assert_int_equal(hash_ring_snapshot_point_count(s), 160);
        hash_ring_snapshot_release(s);
        hash_ring_destroy(r);
    }
    free(name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_pools),
        cmocka_unit_test(test_formula_pools),
        cmocka_unit_test(test_dalli_single),
        cmocka_unit_test(test_shared_points),
        cmocka_unit_test(test_client_names),
        cmocka_unit_test(test_incremental_and_shares),
        cmocka_unit_test(test_weight_limits),
        cmocka_unit_test(test_megabyte_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
