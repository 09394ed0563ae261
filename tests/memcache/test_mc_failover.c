/* test_mc_failover.c - fail-over against real daemons: kill -9, restart,
 * SIGSTOP, fail-over off, nothing listening, a full accept queue.
 *
 * Servers are the seed's three (tests/vectors/seed3) mapped to local daemons;
 * the fail-over order of every key comes from python.replicas.tsv, which the
 * original Python hash_ring's iterate_nodes computed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "mc_testlib.h"
#include "testutil.h"

#define NSRV 3
#define NKEYS 600
static tl_daemon d[NSRV];
static const char *const *const names = tl_seed3_names; /* the seed's servers */
static tl_vec v;
static hash_ring_t *ring;

static int setup(void **state)
{
    (void)state;
    return tl_daemons_start(d, NSRV);
}

static int teardown(void **state)
{
    (void)state;
    tl_daemons_kill(d, NSRV);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (tl_vec_load(&v, HR_VECTORS_DIR "/seed3/python.get.tsv",
                    HR_VECTORS_DIR "/seed3/python.replicas.tsv") != 0)
        return -1;
    for (size_t i = 0; i < NKEYS; i++)
        if (v.reps[i] == NULL || v.reps[i][0] == NULL || v.reps[i][1] == NULL ||
            v.reps[i][2] == NULL || strcmp(v.reps[i][0], v.node[i]) != 0)
            return -1;
    ring = tu_ring_from_nodes(HR_VECTORS_DIR "/seed3", HASH_RING_DIALECT_PYTHON);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tl_vec_free(&v);
    hash_ring_destroy(ring);
    return 0;
}

static hash_ring_mc_t *client(unsigned connect_ms, unsigned io_ms, unsigned retry_ms)
{
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create_with_ring(&mc, ring), HASH_RING_OK);
    for (int i = 0; i < NSRV; i++)
        assert_int_equal(hash_ring_mc_set_address(mc, names[i], strlen(names[i]), d[i].addr,
                                                  strlen(d[i].addr)),
                         HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_connect_timeout(mc, connect_ms), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, io_ms), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_retry_interval(mc, retry_ms), HASH_RING_OK);
    return mc;
}

/* Value of key on backend s (raw), or NULL on a miss. */
static char *raw(int s, const char *key)
{
    char *val = NULL;
    int r = tl_raw_get(d[s].addr, key, &val, NULL, NULL);
    assert_int_not_equal(r, -1);
    return r == 1 ? val : NULL;
}

static void expect_raw(int s, const char *key, const char *want)
{
    char *got = raw(s, key);
    if (want == NULL && got != NULL)
        fail_msg("%s: unexpected value '%s' on %s", key, got, names[s]);
    if (want != NULL && (got == NULL || strcmp(got, want) != 0))
        fail_msg("%s: want '%s' on %s, got '%s'", key, want, names[s], got ? got : "(miss)");
    free(got);
}

static void set_all(hash_ring_mc_t *mc, const char *val)
{
    for (size_t i = 0; i < NKEYS; i++)
        assert_int_equal(hash_ring_mc_set(mc, v.key[i], strlen(v.key[i]), val, strlen(val), 0, 0),
                         HASH_RING_OK);
}

static void test_kill9_and_restart(void **state)
{
    (void)state;
    /* Timeouts that must not fire (live servers) are generous: a loaded
     * machine may leave a daemon unscheduled for a while.  A killed one
     * refuses connections at once. */
    const unsigned conn = 2000;
    hash_ring_mc_t *mc = client(conn, 3000, 300);
    set_all(mc, "v1");
    const int victim = 0;
    tl_daemon_kill(&d[victim]); /* kill -9 */
    uint64_t t0 = tl_now_ms();
    set_all(mc, "v2");
    uint64_t took = tl_now_ms() - t0;
    printf("# kill -9 %s: %d sets with fail-over in %llu ms\n", names[victim], NKEYS,
           (unsigned long long)took);
    /* no connect timeout per key (the victim's ~200 keys would take 400 s);
     * 600 sets may take seconds on a loaded machine */
    assert_true(took < 10 * conn);
    size_t moved = 0, stayed = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        int p = tl_seed3_index(v.reps[i][0]), n1 = tl_seed3_index(v.reps[i][1]),
            n2 = tl_seed3_index(v.reps[i][2]);
        if (p == victim) {
            /* fails over to the next server in the original's ring order */
            expect_raw(n1, v.key[i], "v2");
            expect_raw(n2, v.key[i], NULL);
            moved++;
        } else {
            /* the others do not move */
            expect_raw(p, v.key[i], "v2");
            expect_raw(n1 == victim ? n2 : n1, v.key[i], NULL);
            stayed++;
        }
        const void *val;
        size_t vl;
        assert_int_equal(hash_ring_mc_get(mc, v.key[i], strlen(v.key[i]), &val, &vl, NULL),
                         HASH_RING_OK);
        assert_string_equal(val, "v2");
    }
    printf("# %zu keys moved to their next server, %zu stayed\n", moved, stayed);
    assert_true(moved > 100 && stayed > 300);

    /* Restart it on the same port; after the retry interval its keys go back. */
    assert_int_equal(tl_daemon_start(&d[victim], d[victim].port, NULL), 0);
    tl_sleep_ms(350);
    set_all(mc, "v3");
    size_t back = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        int p = tl_seed3_index(v.reps[i][0]);
        expect_raw(p, v.key[i], "v3");
        if (p == victim) {
            back++;
            expect_raw(tl_seed3_index(v.reps[i][1]), v.key[i], "v2"); /* the stale copy */
        }
    }
    printf("# after restart: %zu keys back on %s\n", back, names[victim]);
    assert_int_equal(back, moved);
    hash_ring_mc_destroy(mc);
}

static size_t first_key_on(int s, size_t nth)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (tl_seed3_index(v.node[i]) == s && nth-- == 0)
            return i;
    fail_msg("no key");
    return 0;
}

/* Threads of pid not in the stopped state ('T'), or -1 without /proc. */
static int threads_running(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return -1;
    int running = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char stat[600] = "";
        char file[400];
        snprintf(file, sizeof file, "%s/%s/stat", path, e->d_name);
        FILE *f = fopen(file, "r");
        if (f == NULL)
            continue;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = '\0';
        const char *rp = strrchr(stat, ')'); /* "pid (comm) S ..." */
        if (rp != NULL && rp[1] == ' ' && rp[2] != 'T' && rp[2] != 't')
            running++;
    }
    closedir(dir);
    return running;
}

/* Regression: the SIGSTOP test needs a daemon that is stopped when
 * tl_daemon_stop() returns.  kill() returns as soon as the signal is
 * queued; memcached (7 threads) stops only once one of its threads has run
 * and taken it, and meanwhile its worker answers requests: on a loaded
 * machine the "stopped" server then answered the test's get at once
 * (success after 0-4 ms instead of a timeout).  A request sent right after
 * tl_daemon_stop() must get no answer. */
static void test_stop_means_stopped(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        /* keep its worker busy up to the stop, as the SIGSTOP test does */
        char *r = tl_raw_request(d[0].addr, "version\r\n", 9, "\r\n");
        assert_non_null(r);
        free(r);
        tl_daemon_stop(&d[0]);
        int running = threads_running(d[0].pid);
        if (running > 0)
            fail_msg("round %d: %d threads of the \"stopped\" memcached still run", round,
                     running);
        r = tl_raw_exchange(d[0].addr, "version\r\n", 9, 20);
        assert_non_null(r);
        if (r[0] != '\0')
            fail_msg("round %d: a stopped memcached answered '%s'", round, r);
        free(r);
        tl_daemon_cont(&d[0]);
        r = tl_raw_request(d[0].addr, "version\r\n", 9, "\r\n");
        assert_non_null(r); /* and it answers again once continued */
        assert_true(strncmp(r, "VERSION ", 8) == 0);
        free(r);
    }
}

/* Elapsed time of a command that waits for exactly one I/O timeout: never
 * less (the client does not give up early), and less than the timeout plus
 * the slack (natively 1 s: one wait, not two). */
static void assert_one_timeout(uint64_t took, unsigned io)
{
    if (took < io || took >= io + tl_slack_ms())
        fail_msg("took %llu ms: want one I/O timeout of %u ms (+ slack %u ms)",
                 (unsigned long long)took, io, tl_slack_ms());
}

static void test_sigstop_bounded(void **state)
{
    (void)state;
    /* The live servers must answer within io even on a loaded machine; the
     * stopped one costs io each time it is asked. */
    const unsigned io = 1000, conn = 1000;
    hash_ring_mc_t *mc = client(conn, io, 60000);
    set_all(mc, "before");
    const int victim = 1;
    tl_daemon_stop(&d[victim]);
    const void *val;
    size_t vl;
    /* A read on the stopped server: times out, then goes to the next one. */
    size_t k = first_key_on(victim, 0);
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_get(mc, v.key[k], strlen(v.key[k]), &val, &vl, NULL);
    uint64_t took = tl_now_ms() - t0;
    printf("# get on a stopped server: %s after %llu ms (io timeout %u)\n",
           hash_ring_mc_strerror(rc), (unsigned long long)took, io);
    assert_int_equal(rc, HASH_RING_EMISS); /* the next server never had it */
    assert_one_timeout(took, io);
    /* Marked dead: a write goes straight to the next server. */
    size_t k2 = first_key_on(victim, 1);
    t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_set(mc, v.key[k2], strlen(v.key[k2]), "moved", 5, 0, 0),
                     HASH_RING_OK);
    took = tl_now_ms() - t0;
    assert_true(took < tl_slack_ms()); /* natively < io: no wait on the stopped one */
    expect_raw(tl_seed3_index(v.reps[k2][1]), v.key[k2], "moved");

    /* A fresh client knows nothing: a write to the stopped server is not
     * repeated elsewhere, it fails with the timeout; the next one moves. */
    hash_ring_mc_t *mc2 = client(conn, io, 60000);
    size_t k3 = first_key_on(victim, 2);
    t0 = tl_now_ms();
    rc = hash_ring_mc_set(mc2, v.key[k3], strlen(v.key[k3]), "w", 1, 0, 0);
    took = tl_now_ms() - t0;
    printf("# set on a stopped server: %s after %llu ms (%s)\n", hash_ring_mc_strerror(rc),
           (unsigned long long)took, hash_ring_mc_last_error(mc2));
    assert_int_equal(rc, HASH_RING_ETIMEDOUT);
    assert_one_timeout(took, io);
    assert_int_equal(hash_ring_mc_set(mc2, v.key[k3], strlen(v.key[k3]), "w", 1, 0, 0),
                     HASH_RING_OK);
    expect_raw(tl_seed3_index(v.reps[k3][1]), v.key[k3], "w");
    hash_ring_mc_destroy(mc2);

    /* Multi-get of all keys with a fresh client: the stopped server's keys
     * time out once and are asked of their next servers. */
    hash_ring_mc_t *mc3 = client(conn, io, 60000);
    const void *keys[NKEYS];
    size_t lens[NKEYS];
    for (size_t i = 0; i < NKEYS; i++) {
        keys[i] = v.key[i];
        lens[i] = strlen(v.key[i]);
    }
    hash_ring_mc_result_t *res = NULL;
    t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_get_multi(mc3, keys, lens, NKEYS, &res), HASH_RING_OK);
    took = tl_now_ms() - t0;
    printf("# multi-get of %d keys with one server stopped: %llu ms\n", NKEYS,
           (unsigned long long)took);
    /* connecting to a stopped daemon succeeds (the kernel accepts): one
     * round waits for its I/O timeout, the next asks the other servers */
    assert_one_timeout(took, io);
    size_t hits = 0, misses = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        rc = hash_ring_mc_result_item(res, i, &val, &vl, NULL, NULL);
        if (tl_seed3_index(v.node[i]) != victim) {
            assert_int_equal(rc, HASH_RING_OK);
            assert_string_equal(val, "before");
            hits++;
        } else {
            /* asked of the next server: a miss, or the value moved there */
            assert_true(rc == HASH_RING_EMISS || rc == HASH_RING_OK);
            misses += rc == HASH_RING_EMISS;
        }
    }
    assert_true(misses > 100);
    hash_ring_mc_result_free(res);
    hash_ring_mc_destroy(mc3);

    /* Fail-over off: the timeout is returned, then the server is skipped. */
    hash_ring_mc_t *mc4 = client(conn, io, 60000);
    assert_int_equal(hash_ring_mc_set_failover(mc4, 0), HASH_RING_OK);
    t0 = tl_now_ms();
    rc = hash_ring_mc_get(mc4, v.key[k], strlen(v.key[k]), &val, &vl, NULL);
    took = tl_now_ms() - t0;
    assert_int_equal(rc, HASH_RING_ETIMEDOUT);
    assert_one_timeout(took, io);
    t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_get(mc4, v.key[k], strlen(v.key[k]), &val, &vl, NULL),
                     HASH_RING_ENOSERVER);
    assert_true(tl_now_ms() - t0 < tl_slack_ms()); /* skipped, not waited for */
    size_t other = first_key_on(0, 0);
    assert_int_equal(hash_ring_mc_get(mc4, v.key[other], strlen(v.key[other]), &val, &vl, NULL),
                     HASH_RING_OK);
    hash_ring_mc_destroy(mc4);
    tl_daemon_cont(&d[victim]);
    hash_ring_mc_destroy(mc);
}

static void test_failover_off_refused(void **state)
{
    (void)state;
    hash_ring_mc_t *mc = client(2000, 3000, 60000);
    assert_int_equal(hash_ring_mc_set_failover(mc, 0), HASH_RING_OK);
    set_all(mc, "x");
    tl_daemon_kill(&d[2]);
    size_t k = first_key_on(2, 0);
    assert_int_equal(hash_ring_mc_set(mc, v.key[k], strlen(v.key[k]), "y", 1, 0, 0),
                     HASH_RING_EIO);
    assert_non_null(strstr(hash_ring_mc_last_error(mc), names[2]));
    assert_int_equal(hash_ring_mc_set(mc, v.key[k], strlen(v.key[k]), "y", 1, 0, 0),
                     HASH_RING_ENOSERVER);
    /* its keys were not written anywhere else */
    expect_raw(tl_seed3_index(v.reps[k][1]), v.key[k], NULL);
    /* multi-get: that server's keys carry the error, the others answer */
    const void *keys[NKEYS];
    size_t lens[NKEYS];
    for (size_t i = 0; i < NKEYS; i++) {
        keys[i] = v.key[i];
        lens[i] = strlen(v.key[i]);
    }
    hash_ring_mc_result_t *res;
    assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, NKEYS, &res), HASH_RING_OK);
    for (size_t i = 0; i < NKEYS; i++) {
        int rc = hash_ring_mc_result_item(res, i, NULL, NULL, NULL, NULL);
        assert_int_equal(rc, tl_seed3_index(v.node[i]) == 2 ? HASH_RING_ENOSERVER : HASH_RING_OK);
    }
    hash_ring_mc_result_free(res);
    /* flush_all reports the dead server and still flushes the others */
    assert_int_equal(hash_ring_mc_flush_all(mc, 0), HASH_RING_EIO);
    /* which server, how many, and the system's reason */
    printf("# flush_all: %s\n", hash_ring_mc_last_error(mc));
    assert_non_null(strstr(hash_ring_mc_last_error(mc), names[2]));
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "1 of 3 servers failed"));
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "Connection refused"));
    expect_raw(0, v.key[first_key_on(0, 0)], NULL);
    /* the per-server commands name it */
    const char *ver;
    assert_int_equal(hash_ring_mc_version(mc, names[2], strlen(names[2]), &ver, NULL),
                     HASH_RING_EIO);
    assert_int_equal(hash_ring_mc_version(mc, names[0], strlen(names[0]), &ver, NULL),
                     HASH_RING_OK);
    hash_ring_mc_destroy(mc);
}

static void test_all_down(void **state)
{
    (void)state;
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create_with_ring(&mc, ring), HASH_RING_OK);
    int holder[NSRV];
    for (int i = 0; i < NSRV; i++) {
        char a[64];
        int port = tl_refusing_port(&holder[i]);
        assert_true(port > 0);
        snprintf(a, sizeof a, "127.0.0.1:%d", port);
        assert_int_equal(hash_ring_mc_set_address(mc, names[i], strlen(names[i]), a, strlen(a)),
                         HASH_RING_OK);
    }
    uint64_t t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0), HASH_RING_ENOSERVER);
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "no live server"));
    const void *val;
    size_t vl;
    assert_int_equal(hash_ring_mc_get(mc, "k", 1, &val, &vl, NULL), HASH_RING_ENOSERVER);
    const void *keys[2] = {"a", "b"};
    size_t lens[2] = {1, 1};
    hash_ring_mc_result_t *res;
    assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, 2, &res), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_result_item(res, 0, NULL, NULL, NULL, NULL),
                     HASH_RING_ENOSERVER);
    hash_ring_mc_result_free(res);
    assert_true(tl_now_ms() - t0 < tl_slack_ms()); /* refused at once, never waited */
    hash_ring_mc_destroy(mc);
    for (int i = 0; i < NSRV; i++)
        close(holder[i]);
}

/* A listener whose accept queue is full: connect cannot complete. */
static void test_connect_timeout(void **state)
{
    (void)state;
    int fill[4], port;
    int ls = tl_full_listener(&port, fill, 4);
    assert_true(ls >= 0);
    char name[64];
    snprintf(name, sizeof name, "127.0.0.1:%d", port);
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_add_server(mc, name, strlen(name), 1), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_connect_timeout(mc, 300), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, 300), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_failover(mc, 0), HASH_RING_OK);
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0);
    uint64_t took = tl_now_ms() - t0;
    printf("# full accept queue: %s after %llu ms (%s)\n", hash_ring_mc_strerror(rc),
           (unsigned long long)took, hash_ring_mc_last_error(mc));
    assert_int_equal(rc, HASH_RING_ETIMEDOUT);
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "connect: timed out"));
    assert_true(took >= 300 && took < 300 + tl_slack_ms());
    hash_ring_mc_destroy(mc);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(ls);
}

int main(void)
{
    tl_require_memcached();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill9_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_means_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigstop_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover_off_refused, setup, teardown),
        cmocka_unit_test(test_all_down),
        cmocka_unit_test(test_connect_timeout),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
