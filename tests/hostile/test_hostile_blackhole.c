/* test_hostile_blackhole.c - connects that hang: listeners on 127.0.0.1
 * whose accept queue is full, so the kernel drops the client's SYNs (the
 * only way to black-hole a connect without leaving 127.0.0.0/8 or touching
 * the firewall).  test_mc_failover covers one such server with fail-over
 * off; here: two of them in front of a live memcached with fail-over on,
 * and multi-gets.
 *
 * Expected (hash_ring_memcache.h, TIMEOUTS, FAIL-OVER): each hanging server
 * costs one connect timeout, then the key goes to its next server (writes
 * too: nothing was sent); a server that timed out is skipped for the retry
 * interval; with fail-over off its keys carry HASH_RING_ETIMEDOUT; the
 * half-open sockets are closed.
 *
 * A unix socket whose listen queue is full refuses at once (EAGAIN) rather
 * than hanging: that is a busy server too, so HASH_RING_EIO, the server
 * marked dead and the key failed over - not ENOMEM, which is kept for
 * shortages on this side. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "hostile_util.h"

#define NFILL 4

typedef struct blackhole {
    int ls;
    int fill[NFILL];
    char addr[64];
} blackhole;

static void bh_open(blackhole *b)
{
    int port;
    b->ls = tl_full_listener(&port, b->fill, NFILL);
    assert_true(b->ls >= 0);
    snprintf(b->addr, sizeof b->addr, "127.0.0.1:%d", port);
}

static void bh_close(blackhole *b)
{
    for (int i = 0; i < NFILL; i++)
        close(b->fill[i]);
    close(b->ls);
}

static blackhole bh[2];
static tl_daemon live;

static int setup(void **state)
{
    (void)state;
    if (hu_daemon_start(&live, 0, NULL) != 0)
        return -1;
    bh_open(&bh[0]);
    bh_open(&bh[1]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bh_close(&bh[0]);
    bh_close(&bh[1]);
    tl_daemon_kill(&live);
    return 0;
}

static int is_bh(const char *name)
{
    return strcmp(name, bh[0].addr) == 0 || strcmp(name, bh[1].addr) == 0;
}

/* A key whose first `nbh` candidates are black holes and the next is live. */
static void key_with(hash_ring_mc_t *mc, int nbh, char *key, size_t cap)
{
    char c[128];
    for (int i = 0;; i++) {
        snprintf(key, cap, "bh-%d", i);
        int ok = 1;
        for (int j = 0; j < nbh && ok; j++)
            ok = is_bh(hu_candidate(mc, key, (size_t)j, c, sizeof c));
        if (ok && strcmp(hu_candidate(mc, key, (size_t)nbh, c, sizeof c), live.addr) == 0)
            return;
    }
}

static void test_two_blackholes_failover(void **state)
{
    (void)state;
    const unsigned conn = 300; /* kernel time: not scaled for valgrind */
    int fds0 = tl_count_fds();
    const char *srv[3] = {bh[0].addr, live.addr, bh[1].addr};
    hash_ring_mc_t *mc = hu_client(srv, 3, conn, hu_ms(1000), 60000, 1);
    char k2[32], k1[32];
    key_with(mc, 2, k2, sizeof k2);
    /* A read behind two hanging servers: two connect timeouts, then the
     * live one answers (a miss: nothing stored yet). */
    const void *v;
    size_t vl;
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_get(mc, k2, strlen(k2), &v, &vl, NULL);
    uint64_t took = tl_now_ms() - t0;
    printf("# get behind 2 black holes: %s in %llu ms (connect timeout %u ms each) [%s]\n",
           hash_ring_mc_strerror(rc), (unsigned long long)took, conn,
           hash_ring_mc_last_error(mc));
    assert_int_equal(rc, HASH_RING_EMISS);
    assert_true(took >= 2 * conn - 40);
    assert_true(took <= 2 * conn + hu_slack());
    assert_int_equal(tl_count_fds(), fds0 + 1); /* only the live connection */
    /* Both are marked dead now: the next operations do not wait. */
    t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_set(mc, k2, strlen(k2), "here", 4, 0, 0), HASH_RING_OK);
    key_with(mc, 1, k1, sizeof k1);
    assert_int_equal(hash_ring_mc_set(mc, k1, strlen(k1), "there", 5, 0, 0), HASH_RING_OK);
    took = tl_now_ms() - t0;
    assert_true(took < hu_ms(200));
    char *raw = NULL;
    assert_int_equal(tl_raw_get(live.addr, k2, &raw, NULL, NULL), 1);
    assert_string_equal(raw, "here");
    free(raw);
    hash_ring_mc_destroy(mc);

    /* A fresh client: a WRITE behind one hanging server moves too, since
     * nothing was sent. */
    mc = hu_client(srv, 3, conn, hu_ms(1000), 60000, 1);
    t0 = tl_now_ms();
    rc = hash_ring_mc_set(mc, k1, strlen(k1), "moved", 5, 0, 0);
    took = tl_now_ms() - t0;
    printf("# set behind 1 black hole: %s in %llu ms\n", hash_ring_mc_strerror(rc),
           (unsigned long long)took);
    assert_int_equal(rc, HASH_RING_OK);
    assert_true(took >= conn - 20);
    assert_true(took <= conn + hu_slack());
    assert_int_equal(tl_raw_get(live.addr, k1, &raw, NULL, NULL), 1);
    assert_string_equal(raw, "moved");
    free(raw);
    hash_ring_mc_destroy(mc);
    assert_int_equal(tl_count_fds(), fds0);
}

static void test_multiget_blackholes(void **state)
{
    (void)state;
    const unsigned conn = 300; /* kernel time: not scaled for valgrind */
    int fds0 = tl_count_fds();
    const char *srv[3] = {bh[0].addr, live.addr, bh[1].addr};
    for (int failover = 0; failover <= 1; failover++) {
        hash_ring_mc_t *mc = hu_client(srv, 3, conn, hu_ms(1000), 60000, failover);
        enum { N = 200 };
        static char keys[N][16];
        const void *kp[N];
        size_t kl[N];
        for (int i = 0; i < N; i++) {
            snprintf(keys[i], sizeof keys[i], "mbh-%d", i);
            kp[i] = keys[i];
            kl[i] = strlen(keys[i]);
            assert_int_equal(tl_raw_set(live.addr, keys[i], keys[i], 0), 0);
        }
        hash_ring_mc_result_t *res = NULL;
        uint64_t t0 = tl_now_ms();
        assert_int_equal(hash_ring_mc_get_multi(mc, kp, kl, N, &res), HASH_RING_OK);
        uint64_t took = tl_now_ms() - t0;
        size_t ok = 0, tmo = 0;
        char own[128];
        for (int i = 0; i < N; i++) {
            const void *v;
            size_t vl;
            int st = hash_ring_mc_result_item(res, (size_t)i, &v, &vl, NULL, NULL);
            if (!failover && is_bh(hu_owner(mc, keys[i], own, sizeof own))) {
                assert_int_equal(st, HASH_RING_ETIMEDOUT);
                tmo++;
            } else {
                /* the live server has every key */
                assert_int_equal(st, HASH_RING_OK);
                assert_string_equal(v, keys[i]);
                ok++;
            }
        }
        printf("# multi-get of %d keys, 2 of 3 servers black holes, fail-over %s: %zu ok,"
               " %zu timed out, %llu ms (connect timeout %u ms)\n",
               N, failover ? "on" : "off", ok, tmo, (unsigned long long)took, conn);
        /* The connects are made one server after the other: at most one
         * connect timeout per hanging server. */
        assert_true(took >= 2 * conn - 40);
        assert_true(took <= 2 * conn + hu_slack());
        hash_ring_mc_result_free(res);
        assert_int_equal(tl_count_fds(), fds0 + 1);
        hash_ring_mc_destroy(mc);
        assert_int_equal(tl_count_fds(), fds0);
    }
}

/* A unix listener with a full queue: a non-blocking connect gets EAGAIN. */
static void test_unix_queue_full(void **state)
{
    (void)state;
    char path[108];
    snprintf(path, sizeof path, "/tmp/hr-bh-%ld.sock", (long)getpid());
    unlink(path);
    struct sockaddr_un u;
    memset(&u, 0, sizeof u);
    u.sun_family = AF_UNIX;
    snprintf(u.sun_path, sizeof u.sun_path, "%s", path);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    assert_int_equal(bind(ls, (struct sockaddr *)&u, sizeof u), 0);
    assert_int_equal(listen(ls, 0), 0);
    int fill[8], nfill = 0, full = 0;
    while (nfill < 8 && !full) {
        fill[nfill] = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_true(fill[nfill] >= 0);
        fcntl(fill[nfill], F_SETFL, O_NONBLOCK);
        if (connect(fill[nfill], (struct sockaddr *)&u, sizeof u) != 0) {
            int e = errno;
            close(fill[nfill]);
            if (e != EAGAIN)
                break; /* this system refuses otherwise: skipped below */
            full = 1;
        } else {
            nfill++;
        }
    }
    if (!full) {
        for (int i = 0; i < nfill; i++)
            close(fill[i]);
        close(ls);
        unlink(path);
        skip(); /* this kernel queues more than 8 */
    }
    int fds0 = tl_count_fds();
    /* Fail-over off: EIO at once, naming the cause. */
    const char *one[1] = {path};
    hash_ring_mc_t *mc = hu_client(one, 1, hu_ms(1000), hu_ms(1000), 60000, 0);
    const void *v;
    size_t vl;
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_get(mc, "k", 1, &v, &vl, NULL);
    uint64_t took = tl_now_ms() - t0;
    printf("# get on a unix socket with a full queue: %s in %llu ms [%s]\n",
           hash_ring_mc_strerror(rc), (unsigned long long)took, hash_ring_mc_last_error(mc));
    assert_int_equal(rc, HASH_RING_EIO);
    assert_true(hu_contains(hash_ring_mc_last_error(mc), "listen queue is full"));
    assert_true(took < hu_ms(200));
    /* marked dead: skipped for the retry interval */
    assert_int_equal(hash_ring_mc_get(mc, "k", 1, &v, &vl, NULL), HASH_RING_ENOSERVER);
    hash_ring_mc_destroy(mc);
    /* Fail-over on: the key goes to the live server, reads and writes. */
    const char *two[2] = {path, live.addr};
    mc = hu_client(two, 2, hu_ms(1000), hu_ms(1000), 60000, 1);
    char key[32], own[128];
    for (int i = 0;; i++) {
        snprintf(key, sizeof key, "uq-%d", i);
        if (strcmp(hu_owner(mc, key, own, sizeof own), path) == 0)
            break;
    }
    assert_int_equal(hash_ring_mc_set(mc, key, strlen(key), "live", 4, 0, 0), HASH_RING_OK);
    char *raw = NULL;
    assert_int_equal(tl_raw_get(live.addr, key, &raw, NULL, NULL), 1);
    assert_string_equal(raw, "live");
    free(raw);
    assert_int_equal(hash_ring_mc_get(mc, key, strlen(key), &v, &vl, NULL), HASH_RING_OK);
    assert_int_equal(vl, 4);
    hash_ring_mc_destroy(mc);
    assert_int_equal(tl_count_fds(), fds0);
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    close(ls);
    unlink(path);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    tl_require_memcached();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_blackholes_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiget_blackholes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unix_queue_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
