/* test_hostile_noread.c - a server that stops reading while the client
 * sends a 32 MB value (far more than the ~4 MB the socket buffers take):
 * the client's send blocks, and the set must end with HASH_RING_ETIMEDOUT
 * within the I/O timeout (hash_ring_memcache.h, TIMEOUTS), without sending
 * the value elsewhere (a write is never repeated, FAIL-OVER), without
 * storing a partial value, and without leaking the socket.
 *
 *   - a listener that never accepts: the kernel completes the handshake and
 *     queues what fits, nobody ever reads;
 *   - a real memcached, SIGSTOPped (stops reading), with fail-over on and a
 *     healthy second server. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "hostile_util.h"

#define BIG (32u << 20)

static unsigned char *big_value(void)
{
    unsigned char *v = malloc(BIG);
    assert_non_null(v);
    for (size_t i = 0; i < BIG; i++)
        v[i] = (unsigned char)('A' + i % 23u);
    return v;
}

/* What copying the value costs here (a fresh buffer, as the client's first
 * request of that size does), in ms: the client copies the value into its
 * request before the exchange - outside the I/O timeout - which under
 * TSan/valgrind on a loaded machine takes hundreds of ms. */
static uint64_t copy_cost_ms(const unsigned char *v)
{
    uint64_t t0 = tl_now_ms();
    unsigned char *c = malloc(BIG);
    assert_non_null(c);
    memcpy(c, v, BIG);
    volatile unsigned char sink = c[BIG - 1];
    (void)sink;
    free(c);
    return tl_now_ms() - t0;
}

/* Accepts the connection the client left behind and reads everything that
 * arrives until EOF or `ms` of silence; returns the byte count. */
static size_t drain_pending(int ls, unsigned ms)
{
    struct pollfd p = {ls, POLLIN, 0};
    if (poll(&p, 1, (int)ms) != 1)
        return 0;
    int c = accept(ls, NULL, NULL);
    assert_true(c >= 0);
    size_t total = 0;
    static char buf[1 << 16];
    for (;;) {
        struct pollfd q = {c, POLLIN, 0};
        if (poll(&q, 1, (int)ms) != 1)
            break;
        ssize_t r = recv(c, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        total += (size_t)r;
    }
    close(c);
    return total;
}

static void test_listener_never_reads(void **state)
{
    (void)state;
    int port;
    int ls = hu_listener(8, &port);
    assert_true(ls >= 0);
    char name[64];
    snprintf(name, sizeof name, "127.0.0.1:%d", port);
    const char *srv[1] = {name};
    const unsigned io = 600; /* a stalled exchange only waits: not scaled */
    int fds0 = tl_count_fds();
    hash_ring_mc_t *mc = hu_client(srv, 1, hu_ms(500), io, 60000, 0);
    assert_int_equal(hash_ring_mc_set_max_value(mc, 64u << 20), HASH_RING_OK);
    unsigned char *v = big_value();

    uint64_t copy = copy_cost_ms(v);
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_set(mc, "k", 1, v, BIG, 0, 0);
    uint64_t took = tl_now_ms() - t0;
    printf("# set of %u B to a server that never reads: %s in %llu ms (io timeout %u, a copy of"
           " the value costs %llu ms) [%s]\n",
           BIG, hash_ring_mc_strerror(rc), (unsigned long long)took, io, (unsigned long long)copy,
           hash_ring_mc_last_error(mc));
    assert_int_equal(rc, HASH_RING_ETIMEDOUT);
    assert_true(hu_contains(hash_ring_mc_last_error(mc), "no complete reply within"));
    assert_true(took >= io - 20);
    assert_true(took <= io + hu_slack() + 4 * copy);
    /* The socket is closed at once (the server is marked dead). */
    assert_int_equal(tl_count_fds(), fds0);
    /* Marked dead, fail-over off: ENOSERVER without waiting. */
    t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, "x", 1, 0, 0), HASH_RING_ENOSERVER);
    assert_true(tl_now_ms() - t0 < hu_ms(100));
    hash_ring_mc_destroy(mc);

    /* The send really was stuck: the server side got only what the socket
     * buffers held (the closed socket still flushes its send queue). */
    size_t got = drain_pending(ls, hu_ms(500));
    printf("# the silent server had received %zu of %u B\n", got, BIG);
    assert_true(got > 0);
    assert_true(got < BIG / 2);
    close(ls);
    free(v);
    assert_int_equal(tl_count_fds(), fds0 - 1); /* the listener is gone too */
}

static void test_stopped_memcached(void **state)
{
    (void)state;
    static const char *const opts[] = {"-I", "64m", "-m", "256", NULL};
    tl_daemon a, b;
    assert_int_equal(hu_daemon_start(&a, 0, opts), 0);
    assert_int_equal(hu_daemon_start(&b, 0, opts), 0);
    int fds0 = tl_count_fds();
    const char *srv[2] = {a.addr, b.addr};
    const unsigned io = 600; /* a stalled exchange only waits: not scaled */
    hash_ring_mc_t *mc = hu_client(srv, 2, hu_ms(500), io, 60000, 1);
    assert_int_equal(hash_ring_mc_set_max_value(mc, 64u << 20), HASH_RING_OK);
    /* Two keys owned by a. */
    char k1[32] = "", k2[32] = "", owner[128];
    for (int i = 0; k2[0] == '\0'; i++) {
        char k[32];
        snprintf(k, sizeof k, "nr-%d", i);
        if (strcmp(hu_owner(mc, k, owner, sizeof owner), a.addr) == 0)
            snprintf(k1[0] ? k2 : k1, 32, "%s", k);
    }
    unsigned char *v = big_value();
    /* Control: while a reads, the same size goes through (with a generous
     * timeout: a loaded machine may need more than `io` for 32 MB). */
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, hu_ms(20000)), HASH_RING_OK);
    uint64_t t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_set(mc, k1, strlen(k1), v, BIG, 1, 0), HASH_RING_OK);
    uint64_t ctl = tl_now_ms() - t0;
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, io), HASH_RING_OK);
    assert_int_equal(tl_count_fds(), fds0 + 1);

    tl_daemon_stop(&a);
    v[0] = 'Z'; /* a different value for k2 */
    uint64_t copy = copy_cost_ms(v);
    t0 = tl_now_ms();
    int rc = hash_ring_mc_set(mc, k2, strlen(k2), v, BIG, 2, 0);
    uint64_t took = tl_now_ms() - t0;
    printf("# set of %u B: %llu ms to a reading memcached; %s after %llu ms to a SIGSTOPped one"
           " (io timeout %u) [%s]\n",
           BIG, (unsigned long long)ctl, hash_ring_mc_strerror(rc), (unsigned long long)took, io,
           hash_ring_mc_last_error(mc));
    /* A write that was (partly) sent is not repeated on the next server. */
    assert_int_equal(rc, HASH_RING_ETIMEDOUT);
    assert_true(took >= io - 20);
    assert_true(took <= io + hu_slack() + 4 * copy);
    assert_int_equal(tl_count_fds(), fds0);
    char *raw = NULL;
    assert_int_equal(tl_raw_get(b.addr, k2, &raw, NULL, NULL), 0); /* not on b */

    /* a is marked dead: the next write of k2 goes to b at once. */
    t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_set(mc, k2, strlen(k2), "small", 5, 3, 0), HASH_RING_OK);
    assert_true(tl_now_ms() - t0 < hu_ms(200));
    assert_int_equal(tl_raw_get(b.addr, k2, &raw, NULL, NULL), 1);
    assert_string_equal(raw, "small");
    free(raw);
    hash_ring_mc_destroy(mc);

    /* Woken up, a holds k1 intact and no trace of the partial k2. */
    tl_daemon_cont(&a);
    hash_ring_mc_t *direct = hu_client(srv, 1, hu_ms(1000), hu_ms(5000), 0, 0);
    assert_int_equal(hash_ring_mc_set_max_value(direct, 64u << 20), HASH_RING_OK);
    const void *got = NULL;
    size_t gl = 0;
    uint32_t fl = 0;
    assert_int_equal(hash_ring_mc_get(direct, k1, strlen(k1), &got, &gl, &fl), HASH_RING_OK);
    assert_int_equal(gl, BIG);
    assert_int_equal(fl, 1);
    v[0] = 'A';
    assert_memory_equal(got, v, BIG);
    assert_int_equal(hash_ring_mc_get(direct, k2, strlen(k2), &got, &gl, NULL), HASH_RING_EMISS);
    hash_ring_mc_destroy(direct);
    free(v);
    tl_daemon_kill(&a);
    tl_daemon_kill(&b);
    assert_int_equal(tl_count_fds(), fds0);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* the client must never raise it */
    tl_require_memcached();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listener_never_reads),
        cmocka_unit_test(test_stopped_memcached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
