/* test_hostile_churn.c - many clients, many servers, churn: clients created,
 * disconnected and destroyed, servers SIGKILLed and restarted on their
 * ports, servers removed from and added back to rings, concurrently from
 * several threads on one shared ring.
 *
 * Expected: with fail-over on every operation succeeds (a killed server is
 * seen as closed/refused before anything is written, so even writes move;
 * a restarted one is used again after the retry interval, 0 here); the
 * process's descriptor count never exceeds (clients x servers) above its
 * start and returns exactly to it; at least 200 connections were made. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "hostile_util.h"

#define NSRV 5
#define NCLI 8
#define ITERS 200
#define NTHREADS 4
#define THREAD_ITERS 50

static tl_daemon d[NSRV];

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < NSRV; i++)
        if (hu_daemon_start(&d[i], 0, NULL) != 0)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NSRV; i++)
        tl_daemon_kill(&d[i]);
    return 0;
}

/* Connections accepted by server i since it started (minus our probe). */
static long long conns(int i)
{
    long long n = tl_raw_stat(d[i].addr, "total_connections");
    assert_true(n >= 1);
    return n;
}

static hash_ring_mc_t *new_client(void)
{
    const char *srv[NSRV];
    for (int i = 0; i < NSRV; i++)
        srv[i] = d[i].addr;
    return hu_client(srv, NSRV, hu_ms(500), hu_ms(1000), 0, 1);
}

static void set_get(hash_ring_mc_t *mc, const char *key, const char *val)
{
    int rc = hash_ring_mc_set(mc, key, strlen(key), val, strlen(val), 0, 0);
    if (rc != HASH_RING_OK)
        fail_msg("set %s: %s [%s]", key, hash_ring_mc_strerror(rc), hash_ring_mc_last_error(mc));
    const void *v;
    size_t vl;
    rc = hash_ring_mc_get(mc, key, strlen(key), &v, &vl, NULL);
    if (rc != HASH_RING_OK)
        fail_msg("get %s: %s [%s]", key, hash_ring_mc_strerror(rc), hash_ring_mc_last_error(mc));
    assert_int_equal(vl, strlen(val));
    assert_memory_equal(v, val, vl);
}

static void test_sequential_churn(void **state)
{
    (void)state;
    int fds0 = tl_count_fds();
    long long base_conns[NSRV], total = 0;
    for (int i = 0; i < NSRV; i++)
        base_conns[i] = conns(i);
    hash_ring_mc_t *cli[NCLI] = {NULL};
    int maxfds = fds0, restarts = 0, readds = 0;
    uint64_t t0 = tl_now_ms();
    for (int it = 0; it < ITERS; it++) {
        int slot = it % NCLI;
        if (cli[slot] == NULL)
            cli[slot] = new_client();
        char key[32], val[32];
        for (int j = 0; j < 3; j++) {
            snprintf(key, sizeof key, "churn-%d-%d", it, j);
            snprintf(val, sizeof val, "v%d.%d", it, j);
            set_get(cli[slot], key, val);
        }
        if (it % 3 == 0) {
            hash_ring_mc_destroy(cli[slot]);
            cli[slot] = NULL;
        } else {
            hash_ring_mc_disconnect(cli[slot]);
        }
        if (it % 40 == 20) {
            /* Kill -9 a server; every live client keeps working while it
             * is down; restart it on its port. */
            int v = (it / 40) % NSRV;
            total += conns(v) - base_conns[v];
            tl_daemon_kill(&d[v]);
            for (int c = 0; c < NCLI; c++)
                if (cli[c] != NULL)
                    for (int j = 0; j < 5; j++) {
                        snprintf(key, sizeof key, "down-%d-%d-%d", it, c, j);
                        set_get(cli[c], key, "x");
                    }
            assert_int_equal(hu_daemon_start(&d[v], d[v].port, NULL), 0);
            base_conns[v] = conns(v);
            restarts++;
        }
        if (it % 25 == 10) {
            /* Membership churn on one client: remove a server, use the
             * client, add the server back. */
            int c = (it / 25) % NCLI;
            if (cli[c] == NULL)
                cli[c] = new_client();
            const char *name = d[it % NSRV].addr;
            assert_int_equal(hash_ring_mc_remove_server(cli[c], name, strlen(name)),
                             HASH_RING_OK);
            snprintf(key, sizeof key, "member-%d", it);
            set_get(cli[c], key, "m");
            assert_int_equal(hash_ring_mc_add_server(cli[c], name, strlen(name), 1),
                             HASH_RING_OK);
            set_get(cli[c], key, "m2");
            readds++;
        }
        int n = tl_count_fds();
        if (n > maxfds)
            maxfds = n;
        assert_true(n <= fds0 + NCLI * NSRV);
    }
    for (int c = 0; c < NCLI; c++)
        hash_ring_mc_destroy(cli[c]);
    uint64_t took = tl_now_ms() - t0;
    for (int i = 0; i < NSRV; i++)
        total += conns(i) - base_conns[i];
    /* each conns() probe is itself a connection: not counted above only
     * once per server per reading; subtract one per reading generously */
    total -= NSRV + restarts;
    int fds1 = tl_count_fds();
    printf("# %d iterations, %d clients, %d servers, %d kill -9/restarts, %d remove/re-add:"
           " %lld client connections, %llu ms; fds %d at start, max %d, %d at end\n",
           ITERS, NCLI, NSRV, restarts, readds, total, (unsigned long long)took, fds0, maxfds,
           fds1);
    assert_true(restarts >= 5);
    assert_true(total >= ITERS);
    assert_int_equal(fds1, fds0);
}

/* ---- threads sharing one ring, while the main thread changes it ------- */

static hash_ring_t *shared;
static atomic_int failures;
static atomic_int connects;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int it = 0; it < THREAD_ITERS; it++) {
        hash_ring_mc_t *mc = NULL;
        if (hash_ring_mc_create_with_ring(&mc, shared) != HASH_RING_OK) {
            atomic_fetch_add(&failures, 1);
            continue;
        }
        for (int i = 0; i < NSRV; i++)
            hash_ring_mc_set_address(mc, d[i].addr, strlen(d[i].addr), d[i].addr,
                                     strlen(d[i].addr));
        hash_ring_mc_set_retry_interval(mc, 0);
        hash_ring_mc_set_io_timeout(mc, hu_ms(2000));
        char key[48], val[48];
        for (int j = 0; j < 4; j++) {
            snprintf(key, sizeof key, "thr-%d-%d-%d", id, it, j);
            snprintf(val, sizeof val, "%d:%d:%d", id, it, j);
            if (hash_ring_mc_set(mc, key, strlen(key), val, strlen(val), 0, 0) != HASH_RING_OK)
                atomic_fetch_add(&failures, 1);
            const void *v;
            size_t vl;
            int rc = hash_ring_mc_get(mc, key, strlen(key), &v, &vl, NULL);
            /* The ring may change between the set and the get: a miss is
             * then legitimate, anything else is not. */
            if (rc == HASH_RING_OK ? vl != strlen(val) || memcmp(v, val, vl) != 0
                                   : rc != HASH_RING_EMISS)
                atomic_fetch_add(&failures, 1);
        }
        atomic_fetch_add(&connects, 1);
        hash_ring_mc_destroy(mc);
    }
    return NULL;
}

static void test_threaded_churn(void **state)
{
    (void)state;
    int fds0 = tl_count_fds();
    assert_int_equal(hash_ring_create(&shared, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    for (int i = 0; i < NSRV; i++)
        assert_int_equal(hash_ring_add_node(shared, d[i].addr, strlen(d[i].addr), 1),
                         HASH_RING_OK);
    long long before = 0;
    for (int i = 0; i < NSRV; i++)
        before += conns(i);
    atomic_init(&failures, 0);
    atomic_init(&connects, 0);
    pthread_t th[NTHREADS];
    uint64_t t0 = tl_now_ms();
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t), 0);
    /* Membership churn while they run. */
    int changes = 0;
    while (atomic_load(&connects) < NTHREADS * THREAD_ITERS && changes < 2000) {
        const char *name = d[changes % NSRV].addr;
        assert_int_equal(hash_ring_remove_node(shared, name, strlen(name)), HASH_RING_OK);
        tl_sleep_ms(1);
        assert_int_equal(hash_ring_add_node(shared, name, strlen(name), 1), HASH_RING_OK);
        tl_sleep_ms(1);
        changes++;
    }
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    uint64_t took = tl_now_ms() - t0;
    long long after = 0;
    for (int i = 0; i < NSRV; i++)
        after += conns(i);
    long long made = after - before - NSRV; /* minus the probes */
    int fds1 = tl_count_fds();
    printf("# %d threads x %d clients on one ring, %d membership changes meanwhile: %lld"
           " connections, %d failures, %llu ms; fds %d -> %d\n",
           NTHREADS, THREAD_ITERS, changes, made, atomic_load(&failures),
           (unsigned long long)took, fds0, fds1);
    assert_int_equal(atomic_load(&failures), 0);
    assert_true(made >= NTHREADS * THREAD_ITERS);
    assert_int_equal(fds1, fds0);
    hash_ring_destroy(shared);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    tl_require_memcached();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sequential_churn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threaded_churn, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
