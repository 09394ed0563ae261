/* test_mc_state.c - a failed call leaves the client's state as it was.
 *
 * Internal test: it reads the client's server table (mc_internal.h), which
 * no public call shows, to check that calls naming a server directly
 * (hash_ring_mc_version, hash_ring_mc_stats) or refusing a server name
 * create no entry when they fail - the table is only freed at
 * hash_ring_mc_destroy, so each refused name would stay until then.  A real
 * memcached daemon on 127.0.0.1 checks that valid calls still work after. */
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
#include "mc_internal.h"
#include "testutil.h"

static tl_daemon d;

static int group_setup(void **state)
{
    (void)state;
    return tl_daemon_start(&d, 0, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    tl_daemon_kill(&d);
    return 0;
}

/* The server table's size, and the entry of a name (NULL if none). */
static size_t entries(hash_ring_mc_t *mc)
{
    return mc->nservers;
}

static mc_server *entry(hash_ring_mc_t *mc, const char *name)
{
    return hr_mc_server_get(mc, name, strlen(name), 0);
}

/* A client with the daemon as its only member, its entry made by a first
 * version call. */
static hash_ring_mc_t *client(void)
{
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_add_server(mc, d.addr, strlen(d.addr), 1), HASH_RING_OK);
    const char *ver = NULL;
    assert_int_equal(hash_ring_mc_version(mc, d.addr, strlen(d.addr), &ver, NULL), HASH_RING_OK);
    assert_int_equal(entries(mc), 1);
    return mc;
}

/* Valid calls work: version and stats of the daemon, a set and get. */
static void assert_client_works(hash_ring_mc_t *mc)
{
    const char *ver = NULL;
    assert_int_equal(hash_ring_mc_version(mc, d.addr, strlen(d.addr), &ver, NULL), HASH_RING_OK);
    assert_non_null(ver);
    assert_string_equal(hash_ring_mc_last_error(mc), "");
    hash_ring_mc_stats_t *st = NULL;
    assert_int_equal(hash_ring_mc_stats(mc, d.addr, strlen(d.addr), NULL, &st), HASH_RING_OK);
    assert_non_null(hash_ring_mc_stats_find(st, "pid"));
    assert_int_equal(strtoll(hash_ring_mc_stats_find(st, "pid"), NULL, 10), (long long)d.pid);
    hash_ring_mc_stats_free(st);
    assert_int_equal(hash_ring_mc_set(mc, "state-key", 9, "v", 1, 0, 0), HASH_RING_OK);
    const void *v;
    size_t vl;
    assert_int_equal(hash_ring_mc_get(mc, "state-key", 9, &v, &vl, NULL), HASH_RING_OK);
    assert_string_equal(v, "v");
}

/* 10,000 distinct names that are neither members nor addresses: version
 * and stats refuse each (EINVAL, saying why) and the table does not grow.
 * Before the fix each call left an entry (~500 bytes) until destroy. */
static void test_direct_bad_names_create_nothing(void **state)
{
    (void)state;
    hash_ring_mc_t *mc = client();
    size_t before = entries(mc), buckets = mc->nbuckets;
    char name[64];
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "bad-%d:0", i);
        const char *ver = NULL;
        assert_int_equal(hash_ring_mc_version(mc, name, strlen(name), &ver, NULL),
                         HASH_RING_EINVAL);
        assert_non_null(strstr(hash_ring_mc_last_error(mc), name));
        hash_ring_mc_stats_t *st = NULL;
        assert_int_equal(hash_ring_mc_stats(mc, name, strlen(name), NULL, &st), HASH_RING_EINVAL);
        assert_null(st);
        assert_non_null(strstr(hash_ring_mc_last_error(mc), name));
        if (entries(mc) != before)
            fail_msg("after %d bad names: %zu server entries, was %zu", i + 1, entries(mc),
                     before);
    }
    assert_int_equal(mc->nbuckets, buckets);
    assert_null(entry(mc, "bad-0:0"));
    printf("# 10000 bad names x (version, stats): %zu server entries before and after\n",
           before);
    assert_client_works(mc);
    assert_int_equal(entries(mc), before);
    hash_ring_mc_destroy(mc);
}

/* Names that are addresses but where nothing listens (unix sockets in a
 * directory that does not exist: fails at once, no network): the call
 * fails, and the entry it had to create to connect is forgotten again. */
static void test_direct_unreachable_names_leave_nothing(void **state)
{
    (void)state;
    hash_ring_mc_t *mc = client();
    size_t before = entries(mc);
    char name[108];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "/nonexistent-hr-mc-%ld/%d.sock", (long)getpid(), i);
        const char *ver = NULL;
        int rc = hash_ring_mc_version(mc, name, strlen(name), &ver, NULL);
        assert_true(rc == HASH_RING_EIO || rc == HASH_RING_ETIMEDOUT);
        assert_non_null(strstr(hash_ring_mc_last_error(mc), name));
        hash_ring_mc_stats_t *st = NULL;
        rc = hash_ring_mc_stats(mc, name, strlen(name), "items", &st);
        assert_true(rc == HASH_RING_EIO || rc == HASH_RING_ETIMEDOUT);
        assert_null(st);
        if (entries(mc) != before)
            fail_msg("after %d unreachable names: %zu server entries, was %zu", i + 1,
                     entries(mc), before);
    }
    assert_client_works(mc);
    /* A failure of a server the client knows still updates its entry (the
     * dead mark), and keeps it: only entries the failed call made go. */
    hash_ring_mc_t *mc2 = NULL;
    assert_int_equal(hash_ring_mc_create(&mc2, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    snprintf(name, sizeof name, "/nonexistent-hr-mc-%ld/known.sock", (long)getpid());
    assert_int_equal(hash_ring_mc_set_address(mc2, "known", 5, name, strlen(name)), HASH_RING_OK);
    assert_int_equal(entries(mc2), 1);
    const char *ver = NULL;
    assert_int_equal(hash_ring_mc_version(mc2, "known", 5, &ver, NULL), HASH_RING_EIO);
    assert_int_equal(entries(mc2), 1);
    assert_true(entry(mc2, "known")->dead);
    /* So does a ring member the client had not used yet: its new entry and
     * dead mark stay, so key operations skip it for the retry interval
     * instead of trying it again. */
    snprintf(name, sizeof name, "/nonexistent-hr-mc-%ld/member.sock", (long)getpid());
    assert_int_equal(hash_ring_mc_add_server(mc2, name, strlen(name), 1), HASH_RING_OK);
    size_t known = entries(mc2);
    assert_null(entry(mc2, name));
    assert_int_equal(hash_ring_mc_version(mc2, name, strlen(name), &ver, NULL), HASH_RING_EIO);
    assert_int_equal(entries(mc2), known + 1);
    assert_non_null(entry(mc2, name));
    assert_true(entry(mc2, name)->dead);
    hash_ring_mc_destroy(mc2);
    hash_ring_mc_destroy(mc);
}

/* A ring member whose name is not an address, never given one: version
 * refuses it without making an entry; once it has an address it works. */
static void test_direct_member_without_address(void **state)
{
    (void)state;
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    hash_ring_t *ring = hash_ring_mc_ring(mc);
    assert_int_equal(hash_ring_add_node(ring, "cache:a", 7, 1), HASH_RING_OK);
    const char *ver = NULL;
    assert_int_equal(hash_ring_mc_version(mc, "cache:a", 7, &ver, NULL), HASH_RING_EINVAL);
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "cache:a"));
    assert_int_equal(entries(mc), 0);
    assert_int_equal(hash_ring_mc_set_address(mc, "cache:a", 7, d.addr, strlen(d.addr)),
                     HASH_RING_OK);
    assert_int_equal(hash_ring_mc_version(mc, "cache:a", 7, &ver, NULL), HASH_RING_OK);
    assert_int_equal(entries(mc), 1);
    hash_ring_mc_destroy(mc);
}

/* The other calls that take a server name create nothing when they refuse
 * it either (they parse it first). */
static void test_server_calls_refusing_create_nothing(void **state)
{
    (void)state;
    hash_ring_mc_t *mc = client();
    size_t before = entries(mc);
    char name[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "bad-%d:0", i);
        assert_int_equal(hash_ring_mc_add_server(mc, name, strlen(name), 1), HASH_RING_EINVAL);
        assert_int_equal(hash_ring_mc_set_address(mc, name, strlen(name), name, strlen(name)),
                         HASH_RING_EINVAL);
        assert_int_equal(hash_ring_mc_remove_server(mc, name, strlen(name)),
                         HASH_RING_ENOTFOUND);
    }
    assert_int_equal(hash_ring_mc_add_server(mc, NULL, 3, 1), HASH_RING_EINVAL);
    assert_int_equal(hash_ring_mc_set_address(mc, "x", 1, NULL, 0), HASH_RING_EINVAL);
    assert_int_equal(entries(mc), before);
    hash_ring_snapshot_t *snap;
    assert_int_equal(hash_ring_snapshot_acquire(hash_ring_mc_ring(mc), &snap), HASH_RING_OK);
    assert_int_equal(hash_ring_snapshot_node_count(snap), 1);
    hash_ring_snapshot_release(snap);
    assert_client_works(mc);
    hash_ring_mc_destroy(mc);
}

/* The i-th spelling of the daemon's address: 127.0.0.1 with leading zeros
 * in two octets (the resolver reads them as the same address), so each is
 * a distinct server name for the same live daemon. */
static void spelling(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "127.%.*s0.%.*s0.1:%d", i % 20, "00000000000000000000", i / 20,
             "00000000000000000000", d.port);
}

/* A removed server's entry goes (its connection and buffers with it), so a
 * client of a pool that keeps changing does not grow: with
 * hash_ring_mc_remove_server at once; with members removed from a shared
 * ring by others, at a sweep once the table has doubled.  A name given an
 * address keeps a small entry (no buffers) for a re-add. */
static void test_departed_servers_are_dropped(void **state)
{
    (void)state;
    char name[96];
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    for (int i = 0; i < 300; i++) {
        spelling(name, sizeof name, i);
        assert_int_equal(hash_ring_mc_add_server(mc, name, strlen(name), 1), HASH_RING_OK);
        assert_int_equal(hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0), HASH_RING_OK);
        assert_int_equal(entries(mc), 1);
        assert_int_equal(hash_ring_mc_remove_server(mc, name, strlen(name)), HASH_RING_OK);
        assert_int_equal(entries(mc), 0);
    }
    /* a name with an address given: kept, without connection or buffers */
    assert_int_equal(hash_ring_mc_add_server(mc, "cache-a", 7, 1), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_address(mc, "cache-a", 7, d.addr, strlen(d.addr)),
                     HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_remove_server(mc, "cache-a", 7), HASH_RING_OK);
    mc_server *s = entry(mc, "cache-a");
    assert_non_null(s);
    assert_int_equal(s->fd, -1);
    assert_null(s->rbuf);
    assert_null(s->wbuf);
    assert_int_equal(hash_ring_mc_add_server(mc, "cache-a", 7, 1), HASH_RING_OK);
    const void *v;
    size_t vl;
    assert_int_equal(hash_ring_mc_get(mc, "k", 1, &v, &vl, NULL), HASH_RING_OK);
    hash_ring_mc_destroy(mc);

    /* a shared ring whose members the application changes directly */
    hash_ring_t *ring = NULL;
    assert_int_equal(hash_ring_create(&ring, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_create_with_ring(&mc, ring), HASH_RING_OK);
    size_t most = 0;
    for (int i = 0; i < 400; i++) {
        spelling(name, sizeof name, i);
        assert_int_equal(hash_ring_add_node(ring, name, strlen(name), 1), HASH_RING_OK);
        assert_int_equal(hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0), HASH_RING_OK);
        assert_int_equal(hash_ring_remove_node(ring, name, strlen(name)), HASH_RING_OK);
        if (entries(mc) > most)
            most = entries(mc);
    }
    printf("# 400 members used then removed from a shared ring: at most %zu entries\n", most);
    assert_true(most <= 2 * 1 + 64);
    hash_ring_mc_destroy(mc);
    hash_ring_destroy(ring);
}

/* The multi-get round counter past 2^32: a server prepared in round 0 (or
 * never in a multi-get) is not taken for one prepared in the current round
 * (a 32-bit counter wrapped to 0 there: the key was never sent and came
 * back a miss). */
static void test_multiget_round_past_32_bits(void **state)
{
    (void)state;
    hash_ring_mc_t *mc = client();
    assert_int_equal(hash_ring_mc_set(mc, "k1", 2, "v1", 2, 0, 0), HASH_RING_OK);
    mc_server *s = entry(mc, d.addr);
    assert_non_null(s);
    s->round = 0;
    mc->round = UINT32_MAX;
    for (int i = 0; i < 3; i++) {
        const void *keys[1] = {"k1"};
        size_t lens[1] = {2};
        hash_ring_mc_result_t *res = NULL;
        assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, 1, &res), HASH_RING_OK);
        const void *v;
        size_t vl;
        assert_int_equal(hash_ring_mc_result_item(res, 0, &v, &vl, NULL, NULL), HASH_RING_OK);
        assert_memory_equal(v, "v1", 2);
        hash_ring_mc_result_free(res);
    }
    assert_true(mc->round > UINT32_MAX);
    hash_ring_mc_destroy(mc);
}

int main(void)
{
    tl_require_memcached();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_bad_names_create_nothing),
        cmocka_unit_test(test_direct_unreachable_names_leave_nothing),
        cmocka_unit_test(test_direct_member_without_address),
        cmocka_unit_test(test_server_calls_refusing_create_nothing),
        cmocka_unit_test(test_multiget_round_past_32_bits),
        cmocka_unit_test(test_departed_servers_are_dropped),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
