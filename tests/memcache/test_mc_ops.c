/* test_mc_ops.c - every operation of the memcached client against three real
 * memcached daemons, placement checked on each backend directly.
 *
 * The ring's nodes are the seed's three servers (tests/vectors/seed3); each
 * name is given the address of a local daemon (hash_ring_mc_set_address), so
 * the expected server of every key comes from the vectors, which the original
 * Python hash_ring (or libmemcached) computed.  Each backend is then read with
 * the test's own raw protocol reader, not with the library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "mc_testlib.h"
#include "testutil.h"

#define NSRV 3
static tl_daemon d[NSRV];
static const char *const *const names = tl_seed3_names; /* the seed's servers */
static tl_vec seed3;

static int group_setup(void **state)
{
    (void)state;
    if (tl_daemons_start(d, NSRV) != 0)
        return -1;
    if (tl_vec_load(&seed3, HR_VECTORS_DIR "/seed3/python.get.tsv",
                    HR_VECTORS_DIR "/seed3/python.replicas.tsv") != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tl_daemons_kill(d, NSRV);
    tl_vec_free(&seed3);
    return 0;
}

/* Empties every backend (raw protocol) before each test. */
static int flush_backends(void **state)
{
    (void)state;
    for (int i = 0; i < NSRV; i++) {
        char *r = tl_raw_request(d[i].addr, "flush_all\r\n", 11, "\r\n");
        int ok = r != NULL && strcmp(r, "OK\r\n") == 0;
        free(r);
        if (!ok)
            return -1;
    }
    return 0;
}

/* A client whose ring is built from a vectors folder, with addresses mapped
 * to the local daemons (node i of names[] -> daemon i). */
static hash_ring_mc_t *client_for(hash_ring_t **ring_out, const char *dir,
                                  hash_ring_dialect_t dialect)
{
    hash_ring_t *ring = tu_ring_from_nodes(dir, dialect);
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create_with_ring(&mc, ring), HASH_RING_OK);
    for (int i = 0; i < NSRV; i++)
        assert_int_equal(hash_ring_mc_set_address(mc, names[i], strlen(names[i]), d[i].addr,
                                                  strlen(d[i].addr)),
                         HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, 3000), HASH_RING_OK);
    *ring_out = ring;
    return mc;
}

/* The key is on backend `want` with this value and on no other backend. */
static void assert_only_on(const char *key, int want, const char *value)
{
    for (int i = 0; i < NSRV; i++) {
        char *v = NULL;
        int r = tl_raw_get(d[i].addr, key, &v, NULL, NULL);
        assert_int_not_equal(r, -1);
        if (i == want) {
            if (r != 1)
                fail_msg("key %s missing on %s (%s)", key, names[i], d[i].addr);
            assert_string_equal(v, value);
        } else if (r != 0) {
            fail_msg("key %s found on %s, expected only on %s", key, names[i], names[want]);
        }
        free(v);
    }
}

static void test_placement_and_multiget(void **state)
{
    (void)state;
    hash_ring_t *ring;
    hash_ring_mc_t *mc = client_for(&ring, HR_VECTORS_DIR "/seed3", HASH_RING_DIALECT_PYTHON);
    enum { N = 1000 };
    char val[64];
    int per_server[NSRV] = {0};
    for (size_t i = 0; i < N; i++) {
        snprintf(val, sizeof val, "value-of-%s", seed3.key[i]);
        assert_int_equal(hash_ring_mc_set(mc, seed3.key[i], strlen(seed3.key[i]), val,
                                          strlen(val), (uint32_t)i, 0),
                         HASH_RING_OK);
    }
    /* Each key is on the server the original Python ring names, only there. */
    for (size_t i = 0; i < N; i++) {
        int want = tl_seed3_index(seed3.node[i]);
        assert_true(want >= 0);
        per_server[want]++;
        snprintf(val, sizeof val, "value-of-%s", seed3.key[i]);
        assert_only_on(seed3.key[i], want, val);
    }
    for (int i = 0; i < NSRV; i++) {
        printf("# %s: %d of %d keys\n", names[i], per_server[i], N);
        assert_true(per_server[i] > 200); /* the seed3 split is about 1/3 each */
        assert_int_equal(tl_raw_stat(d[i].addr, "curr_items"), per_server[i]);
    }
    /* Multi-get of the 1,000 keys plus 20 that were never stored and one key
     * repeated: all three servers, one pipelined round trip each. */
    enum { M = N + 21 };
    const void *keys[M];
    size_t lens[M];
    char missing[20][32];
    for (size_t i = 0; i < N; i++) {
        keys[i] = seed3.key[i];
        lens[i] = strlen(seed3.key[i]);
    }
    for (size_t i = 0; i < 20; i++) {
        snprintf(missing[i], sizeof missing[i], "never-stored-%zu", i);
        keys[N + i] = missing[i];
        lens[N + i] = strlen(missing[i]);
    }
    keys[M - 1] = seed3.key[7];
    lens[M - 1] = strlen(seed3.key[7]);
    long long gets_before[NSRV], hits_before[NSRV];
    for (int i = 0; i < NSRV; i++) {
        gets_before[i] = tl_raw_stat(d[i].addr, "cmd_get");
        hits_before[i] = tl_raw_stat(d[i].addr, "get_hits");
    }
    hash_ring_mc_result_t *res = NULL;
    uint64_t t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, M, &res), HASH_RING_OK);
    printf("# multi-get of %d keys: %llu ms\n", M, (unsigned long long)(tl_now_ms() - t0));
    assert_int_equal(hash_ring_mc_result_count(res), M);
    for (size_t i = 0; i < M; i++) {
        const void *v;
        size_t vl;
        uint32_t fl;
        uint64_t cas = 0;
        int st = hash_ring_mc_result_item(res, i, &v, &vl, &fl, &cas);
        if (i >= N && i < N + 20) {
            assert_int_equal(st, HASH_RING_EMISS);
            continue;
        }
        size_t k = i < N ? i : 7;
        assert_int_equal(st, HASH_RING_OK);
        snprintf(val, sizeof val, "value-of-%s", seed3.key[k]);
        assert_int_equal(vl, strlen(val));
        assert_memory_equal(v, val, vl);
        assert_int_equal(fl, (uint32_t)k);
        assert_true(cas != 0);
    }
    assert_int_equal(hash_ring_mc_result_item(res, M, NULL, NULL, NULL, NULL), HASH_RING_EINVAL);
    hash_ring_mc_result_free(res);
    /* Each server was asked exactly for its own keys (a repeated key once). */
    for (int i = 0; i < NSRV; i++) {
        long long asked = tl_raw_stat(d[i].addr, "cmd_get") - gets_before[i];
        long long hits = tl_raw_stat(d[i].addr, "get_hits") - hits_before[i];
        assert_true(asked >= per_server[i]);
        assert_int_equal(hits, per_server[i]);
    }
    long long total = 0;
    for (int i = 0; i < NSRV; i++)
        total += tl_raw_stat(d[i].addr, "cmd_get") - gets_before[i];
    assert_int_equal(total, N + 20);
    /* Empty multi-get. */
    assert_int_equal(hash_ring_mc_get_multi(mc, NULL, NULL, 0, &res), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_result_count(res), 0);
    hash_ring_mc_result_free(res);
    hash_ring_mc_destroy(mc);
    hash_ring_destroy(ring);
}

/* libmemcached dialect, client owning its ring: placement from libmemcached. */
static void test_owned_ring_libmemcached_dialect(void **state)
{
    (void)state;
    tl_vec lm;
    assert_int_equal(tl_vec_load(&lm, HR_VECTORS_DIR "/seed3/libmemcached.get.tsv", NULL), 0);
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_LIBMEMCACHED), HASH_RING_OK);
    for (int i = 0; i < NSRV; i++) {
        assert_int_equal(hash_ring_mc_set_address(mc, names[i], strlen(names[i]), d[i].addr,
                                                  strlen(d[i].addr)),
                         HASH_RING_OK);
        assert_int_equal(hash_ring_mc_add_server(mc, names[i], strlen(names[i]), 1),
                         HASH_RING_OK);
    }
    hash_ring_dialect_t dia;
    assert_int_equal(hash_ring_get_dialect(hash_ring_mc_ring(mc), &dia), HASH_RING_OK);
    assert_int_equal(dia, HASH_RING_DIALECT_LIBMEMCACHED);
    size_t differ = 0;
    for (size_t i = 0; i < 300; i++) {
        assert_int_equal(hash_ring_mc_set(mc, lm.key[i], strlen(lm.key[i]), "lm", 2, 0, 0),
                         HASH_RING_OK);
        assert_only_on(lm.key[i], tl_seed3_index(lm.node[i]), "lm");
        differ += strcmp(lm.node[i], seed3.node[i]) != 0;
    }
    printf("# libmemcached dialect: 300 keys placed as libmemcached does (%zu differ from "
           "python)\n",
           differ);
    assert_true(differ > 0);
    hash_ring_mc_destroy(mc);
    tl_vec_free(&lm);
}

/* The client follows membership changes: one made directly on the shared
 * ring by someone else, others through the client's API. */
static void test_follows_membership(void **state)
{
    (void)state;
    hash_ring_t *ring;
    hash_ring_mc_t *mc = client_for(&ring, HR_VECTORS_DIR "/seed3", HASH_RING_DIALECT_PYTHON);
    tl_vec w, u;
    assert_int_equal(tl_vec_load(&w, HR_VECTORS_DIR "/seed3-weighted/python.get.tsv", NULL), 0);
    assert_int_equal(tl_vec_load(&u, HR_VECTORS_DIR "/uneven-3/python.get.tsv", NULL), 0);
    /* Warm up the connections with the seed3 membership. */
    for (size_t i = 0; i < 50; i++)
        assert_int_equal(hash_ring_mc_set(mc, seed3.key[i], strlen(seed3.key[i]), "a", 1, 0, 0),
                         HASH_RING_OK);
    /* seed3 -> seed3-weighted: .247 gets weight 2, changed on the ring. */
    assert_int_equal(hash_ring_set_weight(ring, names[1], strlen(names[1]), 2), HASH_RING_OK);
    assert_int_equal(flush_backends(NULL), 0);
    size_t moved = 0;
    for (size_t i = 0; i < 300; i++) {
        assert_int_equal(hash_ring_mc_set(mc, w.key[i], strlen(w.key[i]), "w", 1, 0, 0),
                         HASH_RING_OK);
        assert_only_on(w.key[i], tl_seed3_index(w.node[i]), "w");
        moved += strcmp(w.node[i], seed3.node[i]) != 0;
    }
    printf("# weight change on the shared ring: 300 keys follow (%zu moved)\n", moved);
    assert_true(moved > 0);
    /* -> uneven-3 through the client: remove the seed servers, add three
     * others (mapped to the same daemons). */
    static const char *const un[NSRV] = {"10.0.1.1:11211", "10.0.1.2:11211", "10.0.1.3:11211"};
    static const uint32_t uw[NSRV] = {615, 756, 69};
    for (int i = 0; i < NSRV; i++)
        assert_int_equal(hash_ring_mc_remove_server(mc, names[i], strlen(names[i])),
                         HASH_RING_OK);
    assert_int_equal(hash_ring_mc_remove_server(mc, names[0], strlen(names[0])),
                     HASH_RING_ENOTFOUND);
    for (int i = 0; i < NSRV; i++) {
        assert_int_equal(
            hash_ring_mc_set_address(mc, un[i], strlen(un[i]), d[i].addr, strlen(d[i].addr)),
            HASH_RING_OK);
        assert_int_equal(hash_ring_mc_add_server(mc, un[i], strlen(un[i]), uw[i]), HASH_RING_OK);
    }
    assert_int_equal(hash_ring_mc_add_server(mc, un[0], strlen(un[0]), 1), HASH_RING_EEXIST);
    assert_int_equal(flush_backends(NULL), 0);
    for (size_t i = 0; i < 300; i++) {
        int want = -1;
        for (int k = 0; k < NSRV; k++)
            if (strcmp(u.node[i], un[k]) == 0)
                want = k;
        assert_true(want >= 0);
        assert_int_equal(hash_ring_mc_set(mc, u.key[i], strlen(u.key[i]), "u", 1, 0, 0),
                         HASH_RING_OK);
        assert_only_on(u.key[i], want, "u");
    }
    printf("# membership replaced through the client: 300 keys placed as uneven-3 says\n");
    /* An empty ring: no server. */
    for (int i = 0; i < NSRV; i++)
        assert_int_equal(hash_ring_mc_remove_server(mc, un[i], strlen(un[i])), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0), HASH_RING_EEMPTY);
    hash_ring_mc_destroy(mc);
    hash_ring_destroy(ring);
    tl_vec_free(&w);
    tl_vec_free(&u);
}

/* Index of the first seed3 key owned by server s. */
static size_t key_on(int s, size_t nth)
{
    for (size_t i = 0; i < seed3.n; i++)
        if (tl_seed3_index(seed3.node[i]) == s && nth-- == 0)
            return i;
    fail_msg("no key");
    return 0;
}

static void test_every_operation(void **state)
{
    (void)state;
    hash_ring_t *ring;
    hash_ring_mc_t *mc = client_for(&ring, HR_VECTORS_DIR "/seed3", HASH_RING_DIALECT_PYTHON);
    for (int s = 0; s < NSRV; s++) {
        size_t ki = key_on(s, 0);
        const char *k = seed3.key[ki];
        size_t kl = strlen(k);
        const void *v;
        size_t vl;
        uint32_t fl;
        uint64_t cas1, cas2;
        /* set / get with flags */
        assert_int_equal(hash_ring_mc_set(mc, k, kl, "one", 3, 42, 0), HASH_RING_OK);
        assert_int_equal(hash_ring_mc_get(mc, k, kl, &v, &vl, &fl), HASH_RING_OK);
        assert_int_equal(vl, 3);
        assert_string_equal(v, "one");
        assert_int_equal(fl, 42);
        uint32_t raw_flags = 0;
        char *raw = NULL;
        assert_int_equal(tl_raw_get(d[s].addr, k, &raw, NULL, &raw_flags), 1);
        assert_string_equal(raw, "one");
        assert_int_equal(raw_flags, 42);
        free(raw);
        /* add / replace */
        assert_int_equal(hash_ring_mc_add(mc, k, kl, "two", 3, 0, 0), HASH_RING_ENOTSTORED);
        assert_int_equal(hash_ring_mc_replace(mc, k, kl, "three", 5, 7, 0), HASH_RING_OK);
        assert_only_on(k, s, "three");
        assert_int_equal(hash_ring_mc_replace(mc, "no-such-key", 11, "x", 1, 0, 0),
                         HASH_RING_ENOTSTORED);
        char k2[64];
        snprintf(k2, sizeof k2, "%s", seed3.key[key_on(s, 1)]);
        assert_int_equal(hash_ring_mc_add(mc, k2, strlen(k2), "added", 5, 0, 0), HASH_RING_OK);
        assert_only_on(k2, s, "added");
        /* append / prepend */
        assert_int_equal(hash_ring_mc_append(mc, k, kl, "-end", 4), HASH_RING_OK);
        assert_int_equal(hash_ring_mc_prepend(mc, k, kl, "start-", 6), HASH_RING_OK);
        assert_only_on(k, s, "start-three-end");
        assert_int_equal(hash_ring_mc_append(mc, "no-such-key", 11, "x", 1),
                         HASH_RING_ENOTSTORED);
        assert_int_equal(hash_ring_mc_prepend(mc, "no-such-key", 11, "x", 1),
                         HASH_RING_ENOTSTORED);
        /* gets / cas */
        assert_int_equal(hash_ring_mc_gets(mc, k, kl, &v, &vl, &fl, &cas1), HASH_RING_OK);
        assert_string_equal(v, "start-three-end");
        assert_int_equal(fl, 7);
        assert_int_equal(hash_ring_mc_cas(mc, k, kl, "cas-1", 5, 1, 0, cas1), HASH_RING_OK);
        assert_int_equal(hash_ring_mc_cas(mc, k, kl, "cas-2", 5, 1, 0, cas1),
                         HASH_RING_ECASEXISTS);
        assert_only_on(k, s, "cas-1");
        assert_int_equal(hash_ring_mc_gets(mc, k, kl, &v, &vl, NULL, &cas2), HASH_RING_OK);
        assert_true(cas2 != cas1);
        assert_int_equal(hash_ring_mc_cas(mc, "no-such-key", 11, "x", 1, 0, 0, cas2),
                         HASH_RING_EMISS);
        /* delete */
        assert_int_equal(hash_ring_mc_delete(mc, k, kl), HASH_RING_OK);
        assert_int_equal(tl_raw_get(d[s].addr, k, &raw, NULL, NULL), 0);
        assert_int_equal(hash_ring_mc_delete(mc, k, kl), HASH_RING_EMISS);
        assert_int_equal(hash_ring_mc_get(mc, k, kl, &v, &vl, NULL), HASH_RING_EMISS);
        assert_int_equal(hash_ring_mc_gets(mc, k, kl, &v, &vl, NULL, NULL), HASH_RING_EMISS);
        /* incr / decr */
        uint64_t nv = 0;
        assert_int_equal(hash_ring_mc_set(mc, k, kl, "10", 2, 0, 0), HASH_RING_OK);
        assert_int_equal(hash_ring_mc_incr(mc, k, kl, 5, &nv), HASH_RING_OK);
        assert_int_equal(nv, 15);
        assert_int_equal(hash_ring_mc_incr(mc, k, kl, 18446744073709551615ull, &nv),
                         HASH_RING_OK);
        assert_int_equal(nv, 14); /* memcached wraps at 2^64 */
        assert_int_equal(hash_ring_mc_decr(mc, k, kl, 4, &nv), HASH_RING_OK);
        assert_int_equal(nv, 10);
        assert_int_equal(hash_ring_mc_decr(mc, k, kl, 100, NULL), HASH_RING_OK);
        assert_int_equal(tl_raw_get(d[s].addr, k, &raw, NULL, NULL), 1);
        assert_int_equal(strtoull(raw, NULL, 10), 0); /* memcached may pad: "0 " */
        free(raw);
        assert_int_equal(hash_ring_mc_incr(mc, "no-such-key", 11, 1, &nv), HASH_RING_EMISS);
        assert_int_equal(hash_ring_mc_decr(mc, "no-such-key", 11, 1, &nv), HASH_RING_EMISS);
        assert_int_equal(hash_ring_mc_set(mc, k, kl, "abc", 3, 0, 0), HASH_RING_OK);
        assert_int_equal(hash_ring_mc_incr(mc, k, kl, 1, &nv), HASH_RING_ESERVER);
        assert_non_null(strstr(hash_ring_mc_last_error(mc), "CLIENT_ERROR"));
        /* the connection is still usable after a server error */
        assert_int_equal(hash_ring_mc_get(mc, k, kl, &v, &vl, NULL), HASH_RING_OK);
        assert_string_equal(v, "abc");
        assert_string_equal(hash_ring_mc_last_error(mc), "");
        /* touch */
        assert_int_equal(hash_ring_mc_touch(mc, k, kl, 1000), HASH_RING_OK);
        assert_int_equal(hash_ring_mc_touch(mc, "no-such-key", 11, 1000), HASH_RING_EMISS);
        /* version and stats per server, compared with the raw protocol */
        const char *ver;
        size_t verl;
        assert_int_equal(hash_ring_mc_version(mc, names[s], strlen(names[s]), &ver, &verl),
                         HASH_RING_OK);
        char *rv = tl_raw_request(d[s].addr, "version\r\n", 9, "\r\n");
        assert_non_null(rv);
        char expect[128];
        snprintf(expect, sizeof expect, "VERSION %s\r\n", ver);
        assert_string_equal(rv, expect);
        assert_int_equal(strlen(ver), verl);
        free(rv);
        hash_ring_mc_stats_t *st = NULL;
        assert_int_equal(hash_ring_mc_stats(mc, names[s], strlen(names[s]), NULL, &st),
                         HASH_RING_OK);
        assert_true(hash_ring_mc_stats_count(st) > 20);
        const char *items = hash_ring_mc_stats_find(st, "curr_items");
        assert_non_null(items);
        assert_int_equal(strtoll(items, NULL, 10), tl_raw_stat(d[s].addr, "curr_items"));
        const char *pid = hash_ring_mc_stats_find(st, "pid");
        assert_non_null(pid);
        assert_int_equal(strtoll(pid, NULL, 10), (long long)d[s].pid);
        const char *n0;
        size_t n0l;
        assert_int_equal(hash_ring_mc_stats_item(st, 0, &n0, &n0l, NULL, NULL), HASH_RING_OK);
        assert_string_equal(n0, "pid");
        assert_int_equal(hash_ring_mc_stats_item(st, 100000, &n0, NULL, NULL, NULL),
                         HASH_RING_EINVAL);
        hash_ring_mc_stats_free(st);
        assert_int_equal(hash_ring_mc_stats(mc, names[s], strlen(names[s]), "settings", &st),
                         HASH_RING_OK);
        assert_non_null(hash_ring_mc_stats_find(st, "maxbytes"));
        hash_ring_mc_stats_free(st);
        assert_int_equal(hash_ring_mc_stats(mc, names[s], strlen(names[s]), "bad group", &st),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_mc_stats(mc, names[s], strlen(names[s]), "nosuchgroup", &st),
                         HASH_RING_ESERVER);
    }
    /* flush_all empties every server. */
    for (int s = 0; s < NSRV; s++)
        assert_true(tl_raw_stat(d[s].addr, "curr_items") > 0);
    long long flushes[NSRV];
    for (int s = 0; s < NSRV; s++)
        flushes[s] = tl_raw_stat(d[s].addr, "cmd_flush");
    assert_int_equal(hash_ring_mc_flush_all(mc, 0), HASH_RING_OK);
    for (int s = 0; s < NSRV; s++) {
        assert_int_equal(tl_raw_stat(d[s].addr, "cmd_flush"), flushes[s] + 1);
        char *raw = NULL;
        assert_int_equal(tl_raw_get(d[s].addr, seed3.key[key_on(s, 1)], &raw, NULL, NULL), 0);
    }
    hash_ring_mc_destroy(mc);
    hash_ring_destroy(ring);
}

static void test_ttl_expires(void **state)
{
    (void)state;
    hash_ring_t *ring;
    hash_ring_mc_t *mc = client_for(&ring, HR_VECTORS_DIR "/seed3", HASH_RING_DIALECT_PYTHON);
    const void *v;
    size_t vl;
    /* memcached's clock ticks whole seconds: a TTL of N expires between
     * N - 1 and N seconds later.  With 3 the read just after the write has
     * 2 s even on a slow machine.  The expiry is awaited (a loaded machine
     * may run memcached's clock thread late), up to a generous limit. */
    assert_int_equal(hash_ring_mc_set(mc, "short", 5, "lived", 5, 0, 3), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set(mc, "touched", 7, "x", 1, 0, 1000), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_touch(mc, "touched", 7, 3), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_get(mc, "short", 5, &v, &vl, NULL), HASH_RING_OK);
    uint64_t until = tl_now_ms() + 60000;
    int rs = HASH_RING_OK, rt = HASH_RING_OK;
    while ((rs == HASH_RING_OK || rt == HASH_RING_OK) && tl_now_ms() < until) {
        tl_sleep_ms(100);
        rs = hash_ring_mc_get(mc, "short", 5, &v, &vl, NULL);
        rt = hash_ring_mc_get(mc, "touched", 7, &v, &vl, NULL);
    }
    assert_int_equal(rs, HASH_RING_EMISS);
    assert_int_equal(rt, HASH_RING_EMISS);
    hash_ring_mc_destroy(mc);
    hash_ring_destroy(ring);
}

static long long sum_stat(const char *name)
{
    long long t = 0;
    for (int i = 0; i < NSRV; i++)
        t += tl_raw_stat(d[i].addr, name);
    return t;
}

static void test_bad_input_sends_nothing(void **state)
{
    (void)state;
    hash_ring_t *ring;
    hash_ring_mc_t *mc = client_for(&ring, HR_VECTORS_DIR "/seed3", HASH_RING_DIALECT_PYTHON);
    for (int i = 0; i < NSRV; i++)
        assert_int_equal(tl_raw_set(d[i].addr, "sentinel", "still-here", 0), 0);
    long long sets = sum_stat("cmd_set"), gets = sum_stat("cmd_get");
    long long flushes = sum_stat("cmd_flush");
    char long_key[252];
    memset(long_key, 'k', sizeof long_key);
    const char *bad[] = {"a b", "a\r\nflush_all", "tab\there", "nul", "del\x7f"};
    size_t bad_len[] = {3, 13, 8, 4, 4};
    const void *v;
    size_t vl;
    uint64_t n;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *k = bad[i];
        size_t kl = bad_len[i];
        if (i == 3)
            k = "n\0l"; /* an embedded NUL */
        assert_int_equal(hash_ring_mc_set(mc, k, kl, "v", 1, 0, 0), HASH_RING_EINVAL);
        assert_non_null(strstr(hash_ring_mc_last_error(mc), "key"));
        assert_int_equal(hash_ring_mc_get(mc, k, kl, &v, &vl, NULL), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_mc_delete(mc, k, kl), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_mc_incr(mc, k, kl, 1, &n), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_mc_touch(mc, k, kl, 1), HASH_RING_EINVAL);
    }
    assert_int_equal(hash_ring_mc_set(mc, long_key, 251, "v", 1, 0, 0), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_mc_set(mc, "", 0, "v", 1, 0, 0), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_mc_set(mc, NULL, 3, "v", 1, 0, 0), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, NULL, 1, 0, 0), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_mc_get(mc, "k", 1, NULL, &vl, NULL), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_mc_set(NULL, "k", 1, "v", 1, 0, 0), HASH_RING_EINVAL);
    /* A multi-get with one bad key among good ones sends nothing. */
    const void *keys[3] = {"good1", "bad key", "good2"};
    size_t lens[3] = {5, 7, 5};
    hash_ring_mc_result_t *res = NULL;
    assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, 3, &res), HASH_RING_EINVAL);
    assert_null(res);
    /* Values above the maximum are refused before sending. */
    assert_int_equal(hash_ring_mc_set_max_value(mc, 1000), HASH_RING_OK);
    char *big = calloc(1, 1001);
    assert_non_null(big);
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, big, 1001, 0, 0), HASH_RING_EINVAL);
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "maximum"));
    assert_int_equal(hash_ring_mc_append(mc, "k", 1, big, 1001), HASH_RING_EINVAL);
    /* A refused maximum leaves the one before it in force. */
    assert_int_equal(hash_ring_mc_set_max_value(mc, SIZE_MAX), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, big, 1001, 0, 0), HASH_RING_EINVAL);
    free(big);
    assert_int_equal(hash_ring_mc_set_max_value(mc, 0), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_mc_set_connect_timeout(mc, 0), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, 0), HASH_RING_EINVAL);
    assert_int_equal(sum_stat("cmd_set"), sets);
    assert_int_equal(sum_stat("cmd_get"), gets);
    assert_int_equal(sum_stat("cmd_flush"), flushes);
    for (int i = 0; i < NSRV; i++) {
        char *raw = NULL;
        assert_int_equal(tl_raw_get(d[i].addr, "sentinel", &raw, NULL, NULL), 1);
        assert_string_equal(raw, "still-here");
        free(raw);
    }
    /* Edge keys that are valid: 250 bytes, bytes >= 0x80 (UTF-8). */
    assert_int_equal(hash_ring_mc_set(mc, long_key, 250, "long", 4, 0, 0), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_get(mc, long_key, 250, &v, &vl, NULL), HASH_RING_OK);
    assert_string_equal(v, "long");
    const char *utf8 = "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87";
    assert_int_equal(hash_ring_mc_set(mc, utf8, strlen(utf8), "u", 1, 0, 0), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_get(mc, utf8, strlen(utf8), &v, &vl, NULL), HASH_RING_OK);
    /* A value with CRLF and NUL bytes inside is data, not protocol. */
    const char inj[] = "x\r\nEND\r\nVALUE a 0 1\r\n\0y";
    assert_int_equal(hash_ring_mc_set_max_value(mc, 1 << 20), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set(mc, "inj", 3, inj, sizeof inj, 0, 0), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_get(mc, "inj", 3, &v, &vl, NULL), HASH_RING_OK);
    assert_int_equal(vl, sizeof inj);
    assert_memory_equal(v, inj, sizeof inj);
    hash_ring_mc_destroy(mc);
    hash_ring_destroy(ring);
}

/* A failed call leaves a message; a success (of any kind) clears it. */
static void fail_once(hash_ring_mc_t *mc)
{
    assert_int_equal(hash_ring_mc_add_server(mc, "host:0", 6, 1), HASH_RING_EINVAL);
    assert_string_not_equal(hash_ring_mc_last_error(mc), "");
}

/* A success that has always cleared the message (an empty multi-get), so
 * that the EINVAL call after it cannot pass on a stale message. */
static void succeed_once(hash_ring_mc_t *mc)
{
    hash_ring_mc_result_t *res = NULL;
    assert_int_equal(hash_ring_mc_get_multi(mc, NULL, NULL, 0, &res), HASH_RING_OK);
    hash_ring_mc_result_free(res);
    assert_string_equal(hash_ring_mc_last_error(mc), "");
}

/* The call fails with HASH_RING_EINVAL and last_error says `why`. */
#define ASSERT_EINVAL_SAYS(mc, call, why)                                                    \
    do {                                                                                     \
        succeed_once(mc);                                                                    \
        assert_int_equal((call), HASH_RING_EINVAL);                                          \
        if (strstr(hash_ring_mc_last_error(mc), (why)) == NULL)                              \
            fail_msg("%s: last_error '%s', want '%s'", #call, hash_ring_mc_last_error(mc),  \
                     (why));                                                                 \
    } while (0)

/* The call succeeds right after a failure and last_error is "" again. */
#define ASSERT_OK_CLEARS(mc, call)                                                           \
    do {                                                                                     \
        fail_once(mc);                                                                       \
        assert_int_equal((call), HASH_RING_OK);                                              \
        if (hash_ring_mc_last_error(mc)[0] != '\0')                                          \
            fail_msg("%s: stale last_error '%s'", #call, hash_ring_mc_last_error(mc));      \
    } while (0)

/* hash_ring_mc_last_error() follows every call that takes a client: ""
 * after each success (the option setters included), and after each EINVAL
 * (NULL and out-of-range arguments included) a message naming what was
 * wrong - not the message of an earlier call, nor none. */
static void test_last_error_follows_every_call(void **state)
{
    (void)state;
    hash_ring_t *ring;
    hash_ring_mc_t *mc = client_for(&ring, HR_VECTORS_DIR "/seed3", HASH_RING_DIALECT_PYTHON);
    /* Successful setters clear an earlier failure's message. */
    ASSERT_OK_CLEARS(mc, hash_ring_mc_set_connect_timeout(mc, 1000));
    ASSERT_OK_CLEARS(mc, hash_ring_mc_set_io_timeout(mc, 3000));
    ASSERT_OK_CLEARS(mc, hash_ring_mc_set_retry_interval(mc, 30000));
    ASSERT_OK_CLEARS(mc, hash_ring_mc_set_retry_interval(mc, 0));
    ASSERT_OK_CLEARS(mc, hash_ring_mc_set_failover(mc, 0));
    ASSERT_OK_CLEARS(mc, hash_ring_mc_set_failover(mc, 1));
    ASSERT_OK_CLEARS(mc, hash_ring_mc_set_max_value(mc, 1 << 20));
    ASSERT_OK_CLEARS(mc, hash_ring_mc_set_address(mc, names[0], strlen(names[0]), d[0].addr,
                                                  strlen(d[0].addr)));
    fail_once(mc);
    hash_ring_mc_disconnect(mc); /* cannot fail: a success */
    assert_string_equal(hash_ring_mc_last_error(mc), "");
    /* Setters out of range. */
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_connect_timeout(mc, 0),
                       "connect timeout must be 1..3600000 ms");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_connect_timeout(mc, 3600001),
                       "connect timeout must be 1..3600000 ms");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_io_timeout(mc, 0), "io timeout must be 1..3600000 ms");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_io_timeout(mc, 3600001),
                       "io timeout must be 1..3600000 ms");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_retry_interval(mc, 86400001),
                       "retry interval must be 0..86400000 ms");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_max_value(mc, 0),
                       "maximum value size must be 1..1073741824 bytes");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_max_value(mc, ((size_t)1 << 30) + 1),
                       "maximum value size must be 1..1073741824 bytes");
    /* NULL or empty server names. */
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_add_server(mc, NULL, 5, 1), "server name is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_add_server(mc, "", 0, 1), "server name is empty");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_remove_server(mc, NULL, 5), "server name is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_remove_server(mc, "x", 0), "server name is empty");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_address(mc, NULL, 5, d[0].addr, strlen(d[0].addr)),
                       "server name is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_address(mc, "x", 0, d[0].addr, strlen(d[0].addr)),
                       "server name is empty");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set_address(mc, "x", 1, NULL, 0), "empty server address");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_add_server(mc, "host:0", 6, 1), "host:0");
    /* NULL value pointers. */
    const void *v;
    size_t vl;
    uint64_t cas;
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_get(mc, "k", 1, NULL, &vl, NULL), "value is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_get(mc, "k", 1, &v, NULL, NULL), "value_len is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_gets(mc, "k", 1, NULL, &vl, NULL, &cas), "value is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_set(mc, "k", 1, NULL, 1, 0, 0), "value is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_add(mc, "k", 1, NULL, 1, 0, 0), "value is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_replace(mc, "k", 1, NULL, 1, 0, 0), "value is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_append(mc, "k", 1, NULL, 1), "value is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_prepend(mc, "k", 1, NULL, 1), "value is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_cas(mc, "k", 1, NULL, 1, 0, 0, 1), "value is NULL");
    /* Multi-get arrays and out pointers. */
    const void *keys[2] = {"a", "b"};
    size_t lens[2] = {1, 1};
    hash_ring_mc_result_t *res = NULL;
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_get_multi(mc, NULL, lens, 2, &res), "keys is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_get_multi(mc, keys, NULL, 2, &res), "key_lens is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_get_multi(mc, keys, lens, 2, NULL), "out is NULL");
    assert_null(res);
    /* Server commands. */
    const char *ver;
    hash_ring_mc_stats_t *st = NULL;
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_version(mc, names[0], strlen(names[0]), NULL, NULL),
                       "version is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_version(mc, NULL, 0, &ver, NULL), "server name is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_version(mc, "bad-1:0", 7, &ver, NULL), "bad-1:0");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_stats(mc, names[0], strlen(names[0]), NULL, NULL),
                       "out is NULL");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_stats(mc, "", 0, NULL, &st), "server name is empty");
    ASSERT_EINVAL_SAYS(mc, hash_ring_mc_stats(mc, "bad-1:0", 7, NULL, &st), "bad-1:0");
    assert_null(st);
    /* Every option still as set before the refused calls: the client works. */
    ASSERT_OK_CLEARS(mc, hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0));
    ASSERT_OK_CLEARS(mc, hash_ring_mc_get(mc, "k", 1, &v, &vl, NULL));
    assert_string_equal(v, "v");
    ASSERT_OK_CLEARS(mc, hash_ring_mc_version(mc, names[1], strlen(names[1]), &ver, NULL));
    hash_ring_mc_destroy(mc);
    hash_ring_destroy(ring);
}

static void test_large_values(void **state)
{
    (void)state;
    hash_ring_t *ring;
    hash_ring_mc_t *mc = client_for(&ring, HR_VECTORS_DIR "/seed3", HASH_RING_DIALECT_PYTHON);
    size_t n = 900 * 1024;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + (i * 7) % 26);
    big[n] = '\0';
    for (size_t r = 0; r < 3; r++) {
        size_t ki = key_on((int)r, 2);
        const char *k = seed3.key[ki];
        assert_int_equal(hash_ring_mc_set(mc, k, strlen(k), big, n, 0, 0), HASH_RING_OK);
        const void *v;
        size_t vl;
        assert_int_equal(hash_ring_mc_get(mc, k, strlen(k), &v, &vl, NULL), HASH_RING_OK);
        assert_int_equal(vl, n);
        assert_memory_equal(v, big, n);
        assert_only_on(k, (int)r, big);
    }
    /* Above memcached's own 1 MB item limit: the server refuses (SERVER_ERROR)
     * and the connection stays in step. */
    size_t huge = 2u << 20;
    char *h = calloc(1, huge);
    assert_non_null(h);
    assert_int_equal(hash_ring_mc_set_max_value(mc, 4u << 20), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set(mc, "huge", 4, h, huge, 0, 0), HASH_RING_ESERVER);
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "SERVER_ERROR"));
    assert_int_equal(hash_ring_mc_set(mc, "huge", 4, "small", 5, 0, 0), HASH_RING_OK);
    free(h);
    free(big);
    hash_ring_mc_destroy(mc);
    hash_ring_destroy(ring);
}

/* The server's total_connections stat, asked through client c. */
static unsigned long long total_connections(hash_ring_mc_t *c, const char *srv, size_t len)
{
    hash_ring_mc_stats_t *st = NULL;
    assert_int_equal(hash_ring_mc_stats(c, srv, len, NULL, &st), HASH_RING_OK);
    const char *v = hash_ring_mc_stats_find(st, "total_connections");
    assert_non_null(v);
    unsigned long long n = strtoull(v, NULL, 10);
    hash_ring_mc_stats_free(st);
    return n;
}

/* A value above this client's maximum, stored by a client with a higher
 * one (memcached -I 2m): that key alone fails (ETOOBIG, naming the size), in
 * get, gets and multi-get; the server is not marked dead, its other keys are
 * answered by it (no fail-over, so no stale copies from another server),
 * and its connection stays usable (the data is skipped as it arrives). */
static void test_value_above_client_max(void **state)
{
    (void)state;
    static const char *const big_items[] = {"-I", "2m", "-m", "64", NULL};
    tl_daemon b[2];
    assert_int_equal(tl_daemon_start_args(&b[0], 0, NULL, big_items), 0);
    assert_int_equal(tl_daemon_start_args(&b[1], 0, NULL, big_items), 0);
    int fds0 = tl_count_fds();
    hash_ring_mc_t *writer = NULL, *mc = NULL;
    for (int c = 0; c < 2; c++) {
        hash_ring_mc_t **p = c == 0 ? &writer : &mc;
        assert_int_equal(hash_ring_mc_create(p, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
        for (int i = 0; i < 2; i++)
            assert_int_equal(hash_ring_mc_add_server(*p, b[i].addr, strlen(b[i].addr), 1),
                             HASH_RING_OK);
    }
    assert_int_equal(hash_ring_mc_set_max_value(writer, 2u << 20), HASH_RING_OK);
    /* the big key, and small keys on the same server */
    const char *home = NULL;
    size_t home_len = 0;
    assert_int_equal(hash_ring_get_node(hash_ring_mc_ring(mc), "big", 3, &home, &home_len),
                     HASH_RING_OK);
    size_t nbig = 1536u * 1024u;
    char *bigv = malloc(nbig);
    assert_non_null(bigv);
    for (size_t i = 0; i < nbig; i++)
        bigv[i] = (char)("\r\nEND "[i % 6]); /* protocol-looking data */
    assert_int_equal(hash_ring_mc_set(writer, "big", 3, bigv, nbig, 0, 0), HASH_RING_OK);
    enum { NK = 40 };
    char keys[NK][16];
    const void *kp[NK + 2];
    size_t kl[NK + 2];
    size_t same = 0;
    for (int i = 0; i < NK; i++) {
        snprintf(keys[i], sizeof keys[i], "small-%d", i);
        kp[i] = keys[i];
        kl[i] = strlen(keys[i]);
        assert_int_equal(hash_ring_mc_set(writer, keys[i], kl[i], keys[i], kl[i], 0, 0),
                         HASH_RING_OK);
        const char *o;
        size_t ol;
        assert_int_equal(hash_ring_get_node(hash_ring_mc_ring(mc), keys[i], kl[i], &o, &ol),
                         HASH_RING_OK);
        same += ol == home_len && memcmp(o, home, ol) == 0;
    }
    assert_true(same > 5);
    /* mc connects to the home server; from here on that connection must
     * serve everything: the server's total_connections (read through the
     * writer's own connection) stays the same */
    const void *v;
    size_t vl;
    uint64_t cas;
    int hk = 0;
    for (;; hk++) {
        const char *o;
        size_t ol;
        assert_int_equal(hash_ring_get_node(hash_ring_mc_ring(mc), keys[hk], kl[hk], &o, &ol),
                         HASH_RING_OK);
        if (ol == home_len && memcmp(o, home, ol) == 0)
            break;
    }
    assert_int_equal(hash_ring_mc_get(mc, keys[hk], kl[hk], &v, &vl, NULL), HASH_RING_OK);
    unsigned long long conns0 = total_connections(writer, home, home_len);
    /* get and gets: ETOOBIG, and why */
    assert_int_equal(hash_ring_mc_get(mc, "big", 3, &v, &vl, NULL), HASH_RING_ETOOBIG);
    printf("# get of a %zu-byte value, client maximum 1 MiB: %s\n", nbig,
           hash_ring_mc_last_error(mc));
    assert_non_null(strstr(hash_ring_mc_last_error(mc),
                           "the value is 1572864 bytes, above this client's maximum of 1048576"));
    assert_int_equal(hash_ring_mc_gets(mc, "big", 3, &v, &vl, NULL, &cas), HASH_RING_ETOOBIG);
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "above this client's maximum"));
    /* the server is live and answers on the same connection */
    for (int i = 0; i < NK; i++) {
        assert_int_equal(hash_ring_mc_get(mc, keys[i], kl[i], &v, &vl, NULL), HASH_RING_OK);
        assert_int_equal(vl, kl[i]);
        assert_memory_equal(v, keys[i], vl);
    }
    assert_int_equal(tl_count_fds(), fds0 + 4); /* each client: one per server */
    /* multi-get: the big key fails alone, in the middle of the others */
    kp[NK] = "big";
    kl[NK] = 3;
    kp[NK + 1] = "never-set";
    kl[NK + 1] = 9;
    const void *order[NK + 2];
    size_t olen[NK + 2];
    for (int i = 0; i < NK + 2; i++) {
        int j = i < NK / 2 ? i : i == NK / 2 ? NK : i <= NK ? i - 1 : NK + 1;
        order[i] = kp[j];
        olen[i] = kl[j];
    }
    hash_ring_mc_result_t *res = NULL;
    assert_int_equal(hash_ring_mc_get_multi(mc, order, olen, NK + 2, &res), HASH_RING_OK);
    for (int i = 0; i < NK + 2; i++) {
        int st = hash_ring_mc_result_item(res, (size_t)i, &v, &vl, NULL, NULL);
        if (olen[i] == 3)
            assert_int_equal(st, HASH_RING_ETOOBIG);
        else if (olen[i] == 9)
            assert_int_equal(st, HASH_RING_EMISS);
        else {
            assert_int_equal(st, HASH_RING_OK);
            assert_memory_equal(v, order[i], olen[i]);
        }
    }
    hash_ring_mc_result_free(res);
    /* no new connection to the home server: the skipped data left the
     * connection usable (before the raw check below, which connects) */
    assert_int_equal(total_connections(writer, home, home_len), conns0);
    /* still no fail-over: a write of the home server's key lands there */
    assert_int_equal(hash_ring_mc_set(mc, "big", 3, "now small", 9, 0, 0), HASH_RING_OK);
    char home_addr[64];
    snprintf(home_addr, sizeof home_addr, "%.*s", (int)home_len, home);
    char *raw = NULL;
    assert_int_equal(tl_raw_get(home_addr, "big", &raw, NULL, NULL), 1);
    assert_string_equal(raw, "now small");
    free(raw);
    assert_int_equal(tl_count_fds(), fds0 + 4);
    free(bigv);
    hash_ring_mc_destroy(writer);
    hash_ring_mc_destroy(mc);
    assert_int_equal(tl_count_fds(), fds0);
    tl_daemon_kill(&b[0]);
    tl_daemon_kill(&b[1]);
}

/* Every code the client returns has a text of its own (the ring's codes
 * too, as hash_ring_mc_strerror knows both); past the last code, none. */
static void test_strerror_every_code(void **state)
{
    (void)state;
    const char *seen[16] = {NULL};
    assert_true(-HASH_RING_ETOOBIG < 16);
    for (int c = -1; c >= HASH_RING_ETOOBIG; c--) {
        const char *s = hash_ring_mc_strerror(c);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown error");
        for (int k = 1; k < -c; k++)
            assert_string_not_equal(s, seen[k]); /* distinct texts */
        seen[-c] = s;
    }
    assert_non_null(strstr(hash_ring_mc_strerror(HASH_RING_ETOOBIG), "maximum value size"));
    assert_string_equal(hash_ring_mc_strerror(HASH_RING_ETOOBIG - 1), "unknown error");
}

static void test_unix_socket_and_ipv6(void **state)
{
    (void)state;
    char path[108];
    snprintf(path, sizeof path, "/tmp/hr-mc-test-%ld.sock", (long)getpid());
    tl_daemon u;
    assert_int_equal(tl_daemon_start(&u, 0, path), 0);
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    char name[128];
    snprintf(name, sizeof name, "unix:%s", path);
    assert_int_equal(hash_ring_mc_add_server(mc, name, strlen(name), 1), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set(mc, "over-unix", 9, "yes", 3, 0, 0), HASH_RING_OK);
    char *raw = NULL;
    assert_int_equal(tl_raw_get(path, "over-unix", &raw, NULL, NULL), 1);
    assert_string_equal(raw, "yes");
    free(raw);
    /* The bare path spelling names the same socket. */
    hash_ring_mc_t *mc2 = NULL;
    assert_int_equal(hash_ring_mc_create(&mc2, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_add_server(mc2, path, strlen(path), 1), HASH_RING_OK);
    const void *v;
    size_t vl;
    assert_int_equal(hash_ring_mc_get(mc2, "over-unix", 9, &v, &vl, NULL), HASH_RING_OK);
    assert_string_equal(v, "yes");
    hash_ring_mc_destroy(mc2);
    hash_ring_mc_destroy(mc);
    tl_daemon_kill(&u);
    unlink(path);

    /* Address spellings refused by add_server. */
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    const char *badaddr[] = {"host:0", "host:65536", "host:", ":11211", "[::1]", "[::1]:x",
                             "[nothex]:11211", "a:b:c", "unix:relative", "host:12a"};
    for (size_t i = 0; i < sizeof badaddr / sizeof *badaddr; i++) {
        if (hash_ring_mc_add_server(mc, badaddr[i], strlen(badaddr[i]), 1) != HASH_RING_EINVAL)
            fail_msg("address '%s' accepted", badaddr[i]);
    }
    assert_int_equal(hash_ring_mc_add_server(mc, "localhost", 9, 1), HASH_RING_OK);
    hash_ring_mc_destroy(mc);

    /* IPv6 loopback, when the machine has it. */
    if (tl_daemon_start(&u, 0, "[::1]") != 0) {
        printf("# IPv6 part skipped: cannot listen on [::1] here\n");
        return;
    }
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_add_server(mc, u.addr, strlen(u.addr), 1), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set(mc, "over-v6", 7, "six", 3, 0, 0), HASH_RING_OK);
    assert_int_equal(tl_raw_get(u.addr, "over-v6", &raw, NULL, NULL), 1);
    assert_string_equal(raw, "six");
    free(raw);
    printf("# IPv6: stored on %s and read back raw\n", u.addr);
    hash_ring_mc_destroy(mc);
    tl_daemon_kill(&u);
}

/* No socket is leaked: descriptors before == after, across every kind of
 * operation and a server failure. */
static void test_no_fd_leak(void **state)
{
    (void)state;
    int before = tl_count_fds();
    assert_true(before > 0);
    hash_ring_t *ring;
    hash_ring_mc_t *mc = client_for(&ring, HR_VECTORS_DIR "/seed3", HASH_RING_DIALECT_PYTHON);
    const void *keys[100];
    size_t lens[100];
    for (int round = 0; round < 5; round++) {
        for (size_t i = 0; i < 100; i++) {
            keys[i] = seed3.key[i];
            lens[i] = strlen(seed3.key[i]);
            assert_int_equal(hash_ring_mc_set(mc, keys[i], lens[i], "x", 1, 0, 0), HASH_RING_OK);
        }
        hash_ring_mc_result_t *res;
        assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, 100, &res), HASH_RING_OK);
        hash_ring_mc_result_free(res);
        assert_int_equal(hash_ring_mc_flush_all(mc, 0), HASH_RING_OK);
        /* one connection per server at most */
        assert_true(tl_count_fds() <= before + NSRV);
        hash_ring_mc_disconnect(mc);
        assert_int_equal(tl_count_fds(), before);
    }
    /* A server that refuses connections (the port's holder is closed
     * before the count below). */
    int holder, dead_port = tl_refusing_port(&holder);
    assert_true(dead_port > 0);
    char dead[64];
    snprintf(dead, sizeof dead, "127.0.0.1:%d", dead_port);
    assert_int_equal(hash_ring_mc_set_address(mc, names[0], strlen(names[0]), dead, strlen(dead)),
                     HASH_RING_OK);
    for (size_t i = 0; i < 100; i++)
        (void)hash_ring_mc_set(mc, keys[i], lens[i], "y", 1, 0, 0);
    hash_ring_mc_destroy(mc);
    hash_ring_destroy(ring);
    close(holder);
    assert_int_equal(tl_count_fds(), before);
    printf("# %d descriptors before and after\n", before);
}

int main(void)
{
    tl_require_memcached();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_placement_and_multiget, flush_backends),
        cmocka_unit_test_setup(test_owned_ring_libmemcached_dialect, flush_backends),
        cmocka_unit_test_setup(test_follows_membership, flush_backends),
        cmocka_unit_test_setup(test_every_operation, flush_backends),
        cmocka_unit_test_setup(test_ttl_expires, flush_backends),
        cmocka_unit_test_setup(test_bad_input_sends_nothing, flush_backends),
        cmocka_unit_test_setup(test_last_error_follows_every_call, flush_backends),
        cmocka_unit_test_setup(test_large_values, flush_backends),
        cmocka_unit_test(test_unix_socket_and_ipv6),
        cmocka_unit_test(test_value_above_client_max),
        cmocka_unit_test(test_strerror_every_code),
        cmocka_unit_test_setup(test_no_fd_leak, flush_backends),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
