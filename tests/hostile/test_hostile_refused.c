/* test_hostile_refused.c - connection refused: a reserved-then-closed TCP
 * port on 127.0.0.1 and on [::1], a unix socket file nobody listens on, a
 * unix path that does not exist.
 *
 * Expected (hash_ring_memcache.h): HASH_RING_EIO ("connection refused,
 * reset or closed") at once with fail-over off, the system error in
 * hash_ring_mc_last_error(); with fail-over on the key goes to the next
 * server in hash_ring_get_nodes() order (nothing was sent, so even writes
 * move), and the refusing server is skipped for the retry interval. */
#include <arpa/inet.h>
#include <errno.h>
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

/* One server `name`, fail-over off: set gives EIO quickly, naming the
 * reason; then ENOSERVER while it is marked dead. */
static void expect_refused(const char *name, const char *reason)
{
    int fds0 = tl_count_fds();
    const char *srv[1] = {name};
    hash_ring_mc_t *mc = hu_client(srv, 1, hu_ms(1000), hu_ms(1000), 60000, 0);
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0);
    uint64_t took = tl_now_ms() - t0;
    printf("# %-40s set: %s in %llu ms [%s]\n", name, hash_ring_mc_strerror(rc),
           (unsigned long long)took, hash_ring_mc_last_error(mc));
    assert_int_equal(rc, HASH_RING_EIO);
    assert_true(hu_contains(hash_ring_mc_last_error(mc), reason));
    assert_true(took < hu_ms(500)); /* no waiting for the connect timeout */
    assert_int_equal(tl_count_fds(), fds0);
    const void *v;
    size_t vl;
    assert_int_equal(hash_ring_mc_get(mc, "k", 1, &v, &vl, NULL), HASH_RING_ENOSERVER);
    const char *ver;
    /* Server commands try a dead server anyway. */
    assert_int_equal(hash_ring_mc_version(mc, name, strlen(name), &ver, NULL), HASH_RING_EIO);
    hash_ring_mc_destroy(mc);
    assert_int_equal(tl_count_fds(), fds0);
}

static void test_refused_tcp(void **state)
{
    (void)state;
    char name[64];
    int holder, port = tl_refusing_port(&holder);
    assert_true(port > 0);
    snprintf(name, sizeof name, "127.0.0.1:%d", port);
    expect_refused(name, "Connection refused");
    close(holder);
}

static void test_refused_ipv6(void **state)
{
    (void)state;
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    if (s < 0)
        skip();
    int port = tl_bind_loopback(s, AF_INET6);
    if (port < 0) {
        close(s);
        skip(); /* no ::1 here */
    }
    /* s stays bound, never listening: the port refuses, and no other
     * process can take it meanwhile */
    char name[64];
    snprintf(name, sizeof name, "[::1]:%d", port);
    expect_refused(name, "Connection refused");
    close(s);
}

static void test_refused_unix(void **state)
{
    (void)state;
    char path[108];
    snprintf(path, sizeof path, "/tmp/hr-hostile-%ld.sock", (long)getpid());
    unlink(path);
    /* A socket file whose listener is gone. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_un u;
    memset(&u, 0, sizeof u);
    u.sun_family = AF_UNIX;
    snprintf(u.sun_path, sizeof u.sun_path, "%s", path);
    assert_int_equal(bind(s, (struct sockaddr *)&u, sizeof u), 0);
    assert_int_equal(listen(s, 1), 0);
    close(s);
    expect_refused(path, "Connection refused");
    unlink(path);
    /* No file at all. */
    char name[128];
    snprintf(name, sizeof name, "unix:%s", path);
    expect_refused(name, "No such file or directory");
}

/* Three servers, one refusing: its keys, reads and writes, go to their next
 * server; the others stay put; nothing waits. */
static void test_refused_failover(void **state)
{
    (void)state;
    tl_daemon d[2];
    assert_int_equal(hu_daemon_start(&d[0], 0, NULL), 0);
    assert_int_equal(hu_daemon_start(&d[1], 0, NULL), 0);
    char dead[64];
    int holder, port = tl_refusing_port(&holder);
    assert_true(port > 0);
    snprintf(dead, sizeof dead, "127.0.0.1:%d", port);
    int fds0 = tl_count_fds();
    const char *srv[3] = {d[0].addr, dead, d[1].addr};
    hash_ring_mc_t *mc = hu_client(srv, 3, hu_ms(1000), hu_ms(1000), 60000, 1);
    enum { N = 300 };
    static char keys[N][16];
    const void *kp[N];
    size_t kl[N];
    size_t moved = 0;
    uint64_t t0 = tl_now_ms();
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "rf-%d", i);
        kp[i] = keys[i];
        kl[i] = strlen(keys[i]);
        assert_int_equal(hash_ring_mc_set(mc, keys[i], kl[i], keys[i], kl[i], 0, 0),
                         HASH_RING_OK);
    }
    uint64_t took = tl_now_ms() - t0;
    /* Where each key landed, read raw from the daemons. */
    for (int i = 0; i < N; i++) {
        char own[128], next[128];
        hu_owner(mc, keys[i], own, sizeof own);
        const char *want = own;
        if (strcmp(own, dead) == 0) {
            want = hu_candidate(mc, keys[i], 1, next, sizeof next);
            moved++;
        }
        for (int s = 0; s < 2; s++) {
            char *raw = NULL;
            int r = tl_raw_get(d[s].addr, keys[i], &raw, NULL, NULL);
            assert_int_equal(r, strcmp(want, d[s].addr) == 0 ? 1 : 0);
            if (r == 1)
                assert_string_equal(raw, keys[i]);
            free(raw);
        }
    }
    printf("# 1 of 3 servers refusing: %d sets in %llu ms, %zu moved to their next server [%s]\n",
           N, (unsigned long long)took, moved, hash_ring_mc_last_error(mc));
    assert_true(moved > 30);
    /* no connect timeout per moved key (that would be over 30 s) */
    assert_true(took < 10 * hu_ms(1000));
    /* A multi-get finds every key (the refusing server is marked dead). */
    hash_ring_mc_result_t *res = NULL;
    assert_int_equal(hash_ring_mc_get_multi(mc, kp, kl, N, &res), HASH_RING_OK);
    for (int i = 0; i < N; i++) {
        const void *v;
        size_t vl;
        assert_int_equal(hash_ring_mc_result_item(res, (size_t)i, &v, &vl, NULL, NULL),
                         HASH_RING_OK);
        assert_string_equal(v, keys[i]);
    }
    hash_ring_mc_result_free(res);
    /* Only the two live connections are open. */
    assert_int_equal(tl_count_fds(), fds0 + 2);
    hash_ring_mc_destroy(mc);
    assert_int_equal(tl_count_fds(), fds0);

    /* A fresh client with retry interval 0 tries the refusing server at
     * every operation: each costs a refused connect, no descriptor. */
    mc = hu_client(srv, 3, hu_ms(1000), hu_ms(1000), 0, 1);
    size_t k = 0;
    char own[128];
    while (strcmp(hu_owner(mc, keys[k], own, sizeof own), dead) != 0)
        k++;
    t0 = tl_now_ms();
    for (int i = 0; i < 100; i++) {
        const void *v;
        size_t vl;
        assert_int_equal(hash_ring_mc_get(mc, keys[k], kl[k], &v, &vl, NULL), HASH_RING_OK);
    }
    took = tl_now_ms() - t0;
    printf("# 100 gets each refused then failed over: %llu ms\n", (unsigned long long)took);
    assert_true(took < 10 * hu_ms(1000)); /* not 100 connect timeouts */
    assert_int_equal(tl_count_fds(), fds0 + 1);
    hash_ring_mc_destroy(mc);
    assert_int_equal(tl_count_fds(), fds0);
    close(holder);
    tl_daemon_kill(&d[0]);
    tl_daemon_kill(&d[1]);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    tl_require_memcached();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_tcp),
        cmocka_unit_test(test_refused_ipv6),
        cmocka_unit_test(test_refused_unix),
        cmocka_unit_test(test_refused_failover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
