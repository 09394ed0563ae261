/* test_peer_libmemcached.c - dialect libmemcached against the real
 * libmemcached (Debian libmemcached 1.1.x), key for key.
 *
 * The peer: a memcached_st with distribution CONSISTENT_KETAMA,
 * KETAMA_WEIGHTED on, hash and ketama hash MD5, then the servers added with
 * memcached_server_add_with_weight().  memcached_server_by_key() needs no
 * running daemon.  Its answer is the expectation for every key; the library
 * (dialect libmemcached, nodes named "host:port") must give the same node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmemcached/memcached.h>

#include "hash_ring.h"
#include "peer_common.h"
#include "testutil.h"

#ifndef HR_VECTORS_DIR
#error "HR_VECTORS_DIR must be defined"
#endif

#define MAX_SERVERS 100

typedef struct lm_server {
    char host[64];
    unsigned port;
    uint32_t weight;
} lm_server;

typedef struct lm_pair {
    memcached_st *mc;
    hash_ring_t *ring;
    size_t n;
    char names[MAX_SERVERS][96]; /* "host:port", the library's node names */
} lm_pair;

/* The peer setup: behaviours first, then the servers.  (With 1.1.4 the
 * other orders give the same ring; test_setup_matches_vectors checks this
 * order against the committed peer vectors.) */
static memcached_st *lm_peer(const lm_server *s, size_t n)
{
    memcached_st *mc = memcached_create(NULL);
    assert_non_null(mc);
    assert_int_equal(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                                            MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA),
                     MEMCACHED_SUCCESS);
    assert_int_equal(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1),
                     MEMCACHED_SUCCESS);
    assert_int_equal(memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_HASH, MEMCACHED_HASH_MD5),
                     MEMCACHED_SUCCESS);
    assert_int_equal(
        memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_KETAMA_HASH, MEMCACHED_HASH_MD5),
        MEMCACHED_SUCCESS);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(memcached_server_add_with_weight(mc, s[i].host, (in_port_t)s[i].port,
                                                          s[i].weight),
                         MEMCACHED_SUCCESS);
    assert_int_equal(memcached_server_count(mc), n);
    return mc;
}

static void lm_open(lm_pair *p, const lm_server *s, size_t n)
{
    assert_true(n <= MAX_SERVERS);
    memset(p, 0, sizeof *p);
    p->n = n;
    p->mc = lm_peer(s, n);
    assert_int_equal(hash_ring_create(&p->ring, HASH_RING_DIALECT_LIBMEMCACHED), HASH_RING_OK);
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(p->names[i], sizeof p->names[i], "%s:%u", s[i].host, s[i].port);
        assert_true(w > 0 && (size_t)w < sizeof p->names[i]);
        assert_int_equal(
            hash_ring_add_node(p->ring, p->names[i], strlen(p->names[i]), s[i].weight),
            HASH_RING_OK);
    }
}

static void lm_close(lm_pair *p)
{
    memcached_free(p->mc);
    hash_ring_destroy(p->ring);
}

/* The peer's server for key, as "host:port". */
static void lm_peer_node(lm_pair *p, const char *key, size_t len, char *out, size_t outsz)
{
    memcached_return_t rc = MEMCACHED_SUCCESS;
    const memcached_instance_st *in = memcached_server_by_key(p->mc, key, len, &rc);
    if (in == NULL)
        fail_msg("memcached_server_by_key: %s", memcached_strerror(p->mc, rc));
    snprintf(out, outsz, "%s:%u", memcached_server_name(in), (unsigned)memcached_server_port(in));
}

/* 1 if the library agrees with the peer on key; prints the first few
 * disagreements. */
static int lm_agree(lm_pair *p, const char *key, size_t len, size_t *per_node, size_t *shown,
                    const char *what)
{
    char peer[128];
    lm_peer_node(p, key, len, peer, sizeof peer);
    const char *node = NULL;
    size_t nl = 0;
    assert_int_equal(hash_ring_get_node(p->ring, key, len, &node, &nl), HASH_RING_OK);
    if (per_node != NULL)
        for (size_t i = 0; i < p->n; i++)
            if (strcmp(p->names[i], peer) == 0)
                per_node[i]++;
    if (strcmp(node, peer) == 0 && nl == strlen(peer))
        return 1;
    if ((*shown)++ < 5)
        print_error("libmemcached %s: key '%.*s' (position %u): library %s, peer %s\n", what,
                    (int)len, key, pc_position(key, len), node, peer);
    return 0;
}

/* Compares nkeys keys; asserts 100% agreement, and that the keys spread
 * over several servers (a degenerate ring would test little).  A server may
 * legitimately own nothing: weight 1 among weights near 100,000 gets 0
 * hashes. */
static void lm_compare(const char *what, const lm_server *s, size_t n)
{
    lm_pair p;
    lm_open(&p, s, n);
    size_t nkeys = pc_nkeys(100000), agree = 0, shown = 0;
    size_t per_node[MAX_SERVERS] = {0};
    char key[96];
    for (size_t i = 0; i < nkeys; i++) {
        size_t len = pc_key(i, key);
        agree += (size_t)lm_agree(&p, key, len, per_node, &shown, what);
    }
    size_t lo = SIZE_MAX, hi = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        lo = per_node[i] < lo ? per_node[i] : lo;
        hi = per_node[i] > hi ? per_node[i] : hi;
        used += per_node[i] > 0;
    }
    printf("libmemcached %-28s %3zu servers: %zu/%zu keys agree (%zu servers own keys, "
           "%zu..%zu each)\n",
           what, n, agree, nkeys, used, lo, hi);
    lm_close(&p);
    assert_int_equal(agree, nkeys);
    assert_true(used >= 2);
}

/* The peer setup used here reproduces the committed peer vectors; this pins
 * the behaviour order (a setup that built another ring would fail here). */
static void test_setup_matches_vectors(void **state)
{
    (void)state;
    static const char *const cases[] = {"seed3",   "seed3-weighted", "uneven-3", "uneven-5",
                                        "uneven-7", "equal-7",       "equal-25", "equal-61"};
    size_t total = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char path[4096];
        tu_tsv nodes, get;
        snprintf(path, sizeof path, "%s/%s/nodes.tsv", HR_VECTORS_DIR, cases[c]);
        assert_int_equal(tu_tsv_read(path, &nodes), 0);
        snprintf(path, sizeof path, "%s/%s/libmemcached.get.tsv", HR_VECTORS_DIR, cases[c]);
        assert_int_equal(tu_tsv_read(path, &get), 0);
        lm_server *s = calloc(nodes.nlines, sizeof *s);
        assert_non_null(s);
        for (size_t i = 0; i < nodes.nlines; i++) {
            const char *nm = nodes.fields[i][0];
            const char *colon = strrchr(nm, ':');
            assert_non_null(colon);
            snprintf(s[i].host, sizeof s[i].host, "%.*s", (int)(colon - nm), nm);
            s[i].port = (unsigned)atoi(colon + 1);
            s[i].weight = (uint32_t)strtoul(nodes.fields[i][1], NULL, 10);
        }
        lm_pair p;
        lm_open(&p, s, nodes.nlines);
        for (size_t i = 0; i < get.nlines; i++) {
            char peer[128];
            const char *key = get.fields[i][0];
            lm_peer_node(&p, key, strlen(key), peer, sizeof peer);
            if (strcmp(peer, get.fields[i][1]) != 0)
                fail_msg("%s: peer setup gives %s for %s, vector says %s", cases[c], peer, key,
                         get.fields[i][1]);
        }
        total += get.nlines;
        lm_close(&p);
        free(s);
        tu_tsv_free(&nodes);
        tu_tsv_free(&get);
    }
    printf("libmemcached peer setup reproduces %zu vector keys\n", total);
}

static void test_equal_weights(void **state)
{
    (void)state;
    const lm_server s[] = {{"10.0.1.1", 11211, 1}, {"10.0.1.2", 11211, 1}, {"10.0.1.3", 11211, 1}};
    lm_compare("equal weights, 11211", s, 3);
    const lm_server t[] = {{"10.0.1.1", 22122, 5}, {"10.0.1.2", 22122, 5}, {"10.0.1.3", 22122, 5}};
    lm_compare("equal weights 5, 22122", t, 3);
}

static void test_uneven_weights(void **state)
{
    (void)state;
    /* float32 gives 7,7,23,80,80 hashes here where exact arithmetic gives
     * 8,8,24,80,80 */
    const lm_server s[] = {{"10.0.2.1", 11211, 1},
                           {"10.0.2.2", 11211, 1},
                           {"10.0.2.3", 11211, 3},
                           {"10.0.2.4", 11211, 10},
                           {"10.0.2.5", 11211, 10}};
    lm_compare("weights 1,1,3,10,10", s, 5);
    const lm_server t[] = {{"cache-a.example", 11212, 15087},
                           {"cache-b.example", 11212, 71265},
                           {"cache-c.example", 11212, 8963},
                           {"cache-d.example", 11212, 77176},
                           {"cache-e.example", 11212, 98302},
                           {"cache-f.example", 11212, 1}};
    lm_compare("large uneven weights", t, 6);
}

static void test_mixed_ports_same_host(void **state)
{
    (void)state;
    const lm_server s[] = {{"10.0.3.1", 11211, 1}, {"10.0.3.1", 11212, 1},
                           {"10.0.3.1", 22122, 2}, {"10.0.3.2", 11211, 1},
                           {"10.0.3.2", 1, 1},     {"localhost", 11211, 1},
                           {"localhost", 65535, 3}, {"mc.example.org", 11211, 2}};
    lm_compare("ports mixed, hosts shared", s, sizeof s / sizeof *s);
}

static void test_float32_pools(void **state)
{
    (void)state;
    /* Equal pools where float32 arithmetic gives 39 hashes per server. */
    static const size_t sizes[] = {25, 47, 50, 55, 61};
    lm_server s[MAX_SERVERS];
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        for (size_t i = 0; i < sizes[z]; i++) {
            snprintf(s[i].host, sizeof s[i].host, "10.4.%zu.%zu", i / 10, i % 10 + 1);
            s[i].port = i % 2 ? 11211 : 11300;
            s[i].weight = 1;
        }
        char what[64];
        snprintf(what, sizeof what, "equal pool of %zu", sizes[z]);
        lm_compare(what, s, sizes[z]);
    }
}

static void test_weight_zero(void **state)
{
    (void)state;
    const lm_server s[] = {{"10.0.5.1", 11211, 0}, {"10.0.5.2", 11211, 1}, {"10.0.5.3", 11211, 1},
                           {"10.0.5.4", 11211, 2}};
    lm_compare("weight 0 among 1,1,2", s, 4);
}

static void test_hundred_servers(void **state)
{
    (void)state;
    lm_server s[MAX_SERVERS];
    uint64_t st = 42;
    for (size_t i = 0; i < MAX_SERVERS; i++) {
        snprintf(s[i].host, sizeof s[i].host, "192.168.%zu.%zu", i / 50, i % 50 + 10);
        s[i].port = 11211 + (unsigned)(i % 3);
        s[i].weight = (uint32_t)(1 + tu_rand(&st) % 100);
    }
    lm_compare("100 servers, weights 1..100", s, MAX_SERVERS);
}

/* Servers the peer reads from strings (memcached_servers_parse, weight 1)
 * or as unix sockets, mixed with plain ones: the library's nodes are named
 * by those very strings.  The expectation is the peer's server, matched by
 * its position in the peer's list, whatever name the peer reports for it. */
typedef struct lm_entry {
    const char *text; /* the library's node name; the peer's server string */
    int kind;         /* LM_PARSED, LM_SOCKET, LM_PLAIN (host "text", port 11300) */
    uint32_t weight;  /* LM_SOCKET and LM_PLAIN */
} lm_entry;

enum { LM_PARSED, LM_SOCKET, LM_PLAIN };

static void lm_compare_entries(const char *what, const lm_entry *e, size_t n)
{
    memcached_st *mc = lm_peer(NULL, 0);
    hash_ring_t *ring;
    char names[MAX_SERVERS][96];
    assert_true(n <= MAX_SERVERS);
    assert_int_equal(hash_ring_create(&ring, HASH_RING_DIALECT_LIBMEMCACHED), HASH_RING_OK);
    for (size_t i = 0; i < n; i++) {
        uint32_t w = e[i].weight;
        if (e[i].kind == LM_PARSED) {
            memcached_server_list_st list = memcached_servers_parse(e[i].text);
            assert_non_null(list);
            assert_int_equal(memcached_server_list_count(list), 1);
            assert_int_equal(memcached_server_push(mc, list), MEMCACHED_SUCCESS);
            memcached_server_list_free(list);
            w = 1;
            snprintf(names[i], sizeof names[i], "%s", e[i].text);
        } else if (e[i].kind == LM_SOCKET) {
            assert_int_equal(memcached_server_add_unix_socket_with_weight(mc, e[i].text, w),
                             MEMCACHED_SUCCESS);
            snprintf(names[i], sizeof names[i], "%s", e[i].text);
        } else {
            assert_int_equal(memcached_server_add_with_weight(mc, e[i].text, 11300, w),
                             MEMCACHED_SUCCESS);
            snprintf(names[i], sizeof names[i], "%s:11300", e[i].text);
        }
        assert_int_equal(hash_ring_add_node(ring, names[i], strlen(names[i]), w), HASH_RING_OK);
    }
    assert_int_equal(memcached_server_count(mc), n);
    size_t nkeys = pc_nkeys(20000), agree = 0, shown = 0, per[MAX_SERVERS] = {0};
    char key[96];
    for (size_t k = 0; k < nkeys; k++) {
        size_t len = pc_key(k, key);
        memcached_return_t rc = MEMCACHED_SUCCESS;
        const memcached_instance_st *in = memcached_server_by_key(mc, key, len, &rc);
        assert_non_null(in);
        size_t idx = n;
        for (size_t i = 0; i < n; i++)
            if (memcached_server_instance_by_position(mc, (uint32_t)i) == in)
                idx = i;
        assert_true(idx < n);
        per[idx]++;
        const char *node = NULL;
        assert_int_equal(hash_ring_get_node(ring, key, len, &node, NULL), HASH_RING_OK);
        if (strcmp(node, names[idx]) == 0)
            agree++;
        else if (shown++ < 5)
            print_error("libmemcached %s: key '%.*s': library %s, peer %s (%s:%u)\n", what,
                        (int)len, key, node, names[idx], memcached_server_name(in),
                        (unsigned)memcached_server_port(in));
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        used += per[i] > 0;
    printf("libmemcached %-28s %3zu servers: %zu/%zu keys agree (%zu servers own keys)\n", what,
           n, agree, nkeys, used);
    memcached_free(mc);
    hash_ring_destroy(ring);
    assert_int_equal(agree, nkeys);
    assert_int_equal(used, n);
}

/* Ports as libmemcached's string parser reads them: leading zeros, 0 (the
 * default port), values past 65535 (cut to 16 bits: 76747 is 11211); and
 * bracketed hosts, which it keeps as written. */
static void test_server_strings(void **state)
{
    (void)state;
    const lm_entry a[] = {{"h1:011211", LM_PARSED, 1}, {"zz", LM_PLAIN, 1},
                          {"h2:0", LM_PARSED, 1},      {"h3:65536", LM_PARSED, 1},
                          {"h4:76747", LM_PARSED, 1},  {"h5:01212", LM_PARSED, 1},
                          {"h6:76748", LM_PARSED, 1},  {"h7:11211", LM_PARSED, 1},
                          {"h8", LM_PARSED, 1},        {"[a::1]:11212", LM_PARSED, 1},
                          {"[b::2]:011211", LM_PARSED, 1}};
    lm_compare_entries("odd ports in server strings", a, sizeof a / sizeof *a);
}

/* Unix sockets: their port is 0, not 11211, so the peer hashes "path:0". */
static void test_unix_sockets(void **state)
{
    (void)state;
    const lm_entry a[] = {{"/run/memcached/a.sock", LM_SOCKET, 1},
                          {"zz", LM_PLAIN, 1},
                          {"/tmp/mc-2.sock", LM_SOCKET, 3},
                          {"/var/run/mc/cache.socket", LM_SOCKET, 2},
                          {"10.0.0.1", LM_PLAIN, 2}};
    lm_compare_entries("unix sockets", a, sizeof a / sizeof *a);
}

/* Exact hits on ordinary points: keys found by scanning counters whose
 * position equals one of the ring's points (computed here from the name rule
 * with MD5, only to find the keys; the peer says where they go). */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void test_exact_hits(void **state)
{
    (void)state;
    lm_server s[MAX_SERVERS];
    size_t n = MAX_SERVERS;
    for (size_t i = 0; i < n; i++) {
        snprintf(s[i].host, sizeof s[i].host, "10.9.%zu.%zu", i / 16, i % 16 + 1);
        s[i].port = i % 4 ? 11211 : 11400;
        s[i].weight = 1;
    }
    /* all 100 equal: 40 hashes each, 4 points per hash */
    uint32_t *pts = malloc(n * 160 * sizeof *pts);
    assert_non_null(pts);
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        char hn[96];
        int hl = s[i].port == 11211 ? snprintf(hn, sizeof hn, "%s", s[i].host)
                                    : snprintf(hn, sizeof hn, "%s:%u", s[i].host, s[i].port);
        for (unsigned j = 0; j < 40; j++) {
            pc_points(hn, (size_t)hl, j, 4, pts + np);
            np += 4;
        }
    }
    qsort(pts, np, sizeof *pts, cmp_u32);
    lm_pair p;
    lm_open(&p, s, n);
    size_t want = 4, found = 0, agree = 0, shown = 0;
    char key[64];
    for (uint64_t c = 0; found < want; c++) {
        int len = snprintf(key, sizeof key, "exact%llu", (unsigned long long)c);
        uint32_t pos = pc_position(key, (size_t)len);
        if (bsearch(&pos, pts, np, sizeof *pts, cmp_u32) == NULL)
            continue;
        found++;
        agree += (size_t)lm_agree(&p, key, (size_t)len, NULL, &shown, "exact hit");
    }
    printf("libmemcached exact hits on points of a 100-server ring: %zu/%zu keys agree\n", agree,
           found);
    lm_close(&p);
    free(pts);
    assert_int_equal(agree, found);
}

/* Rings of two servers whose points coincide (committed inputs): keys in the
 * arc that ends at the shared point, keys just past it, and a key exactly on
 * it, in both insertion orders. */
static void test_shared_points(void **state)
{
    (void)state;
    pc_pair *pairs;
    size_t npairs = pc_read_pairs(&pairs), rings = 0, keys = 0, agree = 0, shown = 0, hits = 0;
    for (size_t k = 0; k < npairs; k++) {
        const pc_pair *pp = &pairs[k];
        if (strcmp(pp->family, "x3") == 0)
            continue; /* 3 points per digest: not this dialect */
        /* family x: hosts on port 11211 (hashed without the port);
         * family t: a.b.c.d on 11211 against 127.0.0.1:PORT */
        lm_server two[2];
        const char *nm[2] = {pp->a, pp->b};
        for (int i = 0; i < 2; i++) {
            const char *colon = strchr(nm[i], ':');
            if (colon == NULL) {
                snprintf(two[i].host, sizeof two[i].host, "%s", nm[i]);
                two[i].port = 11211;
            } else {
                snprintf(two[i].host, sizeof two[i].host, "%.*s", (int)(colon - nm[i]), nm[i]);
                two[i].port = (unsigned)atoi(colon + 1);
            }
            two[i].weight = 1;
        }
        /* The ring's points, to find the arcs around the shared one. */
        uint32_t pts[320];
        size_t np = 0;
        for (int i = 0; i < 2; i++)
            for (unsigned j = 0; j < 40; j++, np += 4)
                pc_points(nm[i], strlen(nm[i]), j, 4, pts + np);
        qsort(pts, np, sizeof *pts, cmp_u32);
        uint32_t prev = 0, next = 0;
        size_t at = 0;
        while (pts[at] != pp->point)
            at++;
        assert_true(at + 1 < np && pts[at + 1] == pp->point);
        prev = at > 0 ? pts[at - 1] : pts[np - 1];
        next = at + 2 < np ? pts[at + 2] : pts[0];
        for (int order = 0; order < 2; order++) {
            lm_server ring[2] = {two[order], two[1 - order]};
            lm_pair p;
            lm_open(&p, ring, 2);
            rings++;
            char key[64];
            size_t in_arc = 0, past = 0;
            for (uint64_t c = 0; in_arc < 20 || past < 5; c++) {
                int len = snprintf(key, sizeof key, "arc%zu-%llu", k, (unsigned long long)c);
                uint32_t pos = pc_position(key, (size_t)len);
                int before = prev < pp->point ? (pos > prev && pos <= pp->point)
                                              : (pos > prev || pos <= pp->point);
                int after = pp->point < next ? (pos > pp->point && pos <= next)
                                             : (pos > pp->point || pos <= next);
                if ((before && in_arc < 20) || (after && past < 5)) {
                    in_arc += (size_t)before;
                    past += (size_t)after;
                    keys++;
                    agree += (size_t)lm_agree(&p, key, (size_t)len, NULL, &shown, "shared arc");
                }
            }
            if (pp->hit[0] != '\0') {
                keys++;
                hits++;
                agree += (size_t)lm_agree(&p, pp->hit, strlen(pp->hit), NULL, &shown,
                                          "exact hit on a shared point");
            }
            lm_close(&p);
        }
    }
    free(pairs);
    printf("libmemcached shared points: %zu two-server rings, %zu keys (%zu exactly on the "
           "shared point): %zu agree\n",
           rings, keys, hits, agree);
    assert_true(rings > 0 && hits > 0);
    assert_int_equal(agree, keys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_matches_vectors),
        cmocka_unit_test(test_equal_weights),
        cmocka_unit_test(test_uneven_weights),
        cmocka_unit_test(test_mixed_ports_same_host),
        cmocka_unit_test(test_float32_pools),
        cmocka_unit_test(test_weight_zero),
        cmocka_unit_test(test_hundred_servers),
        cmocka_unit_test(test_server_strings),
        cmocka_unit_test(test_unix_sockets),
        cmocka_unit_test(test_exact_hits),
        cmocka_unit_test(test_shared_points),
    };
    return cmocka_run_group_tests_name("peer libmemcached", tests, NULL, NULL);
}
