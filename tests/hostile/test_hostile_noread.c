/* test_hostile_noread.c - a server that stops reading while the client
 * sends a value larger than the kernel can hold for one connection (at
 * least 32 MiB, more where the TCP buffers may grow larger: sized from
 * /proc/sys, hu_tcp_buffer_room): the client's send blocks, and the set
 * must end with HASH_RING_ETIMEDOUT within the I/O timeout
 * (hash_ring_memcache.h, TIMEOUTS), without sending the value elsewhere (a
 * write is never repeated, FAIL-OVER), without storing a partial value,
 * and without leaking the socket.
 *
 *   - a listener that never accepts: the kernel completes the handshake and
 *     queues what fits, nobody ever reads;
 *   - a real memcached, SIGSTOPped (stops reading), with fail-over on and a
 *     healthy second server.
 *
 * Clients, daemons and buffers live in the fixture, freed by its teardown
 * even when a check fails (no false leak under valgrind). */
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

#define MIB ((size_t)1 << 20)
#define BIG_MIN (32 * MIB)
#define BIG_MAX (400 * MIB) /* memcached's -I takes up to 1 GiB; memory */

typedef struct fixture {
    size_t big;        /* the value size */
    unsigned char *v;  /* the value */
    tl_daemon a, b;
    hash_ring_mc_t *mc, *direct;
    int ls;            /* the silent listener */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->ls = -1;
    size_t room = hu_tcp_buffer_room();
    f->big = room + 8 * MIB < BIG_MIN ? BIG_MIN : (room + 8 * MIB + MIB - 1) / MIB * MIB;
    *state = f;
    if (f->big > BIG_MAX) {
        printf("# the kernel may hold %zu B per connection: no value this test can send is"
               " sure to block\n", room);
        return 0;
    }
    f->v = malloc(f->big);
    if (f->v == NULL)
        return -1;
    for (size_t i = 0; i < f->big; i++)
        f->v[i] = (unsigned char)('A' + i % 23u);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hash_ring_mc_destroy(f->mc);
    hash_ring_mc_destroy(f->direct);
    if (f->ls >= 0)
        close(f->ls);
    tl_daemon_kill(&f->a);
    tl_daemon_kill(&f->b);
    free(f->v);
    free(f);
    return 0;
}

/* What copying the value costs here (a fresh buffer, as the client's first
 * request of that size does), in ms: the client copies the value into its
 * request before the exchange - outside the I/O timeout - which under
 * TSan/valgrind on a loaded machine takes hundreds of ms. */
static uint64_t copy_cost_ms(const unsigned char *v, size_t big)
{
    uint64_t t0 = tl_now_ms();
    unsigned char *c = malloc(big);
    assert_non_null(c);
    memcpy(c, v, big);
    volatile unsigned char sink = c[big - 1];
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
    fixture *f = *state;
    if (f->v == NULL)
        skip();
    const size_t big = f->big;
    int port;
    f->ls = hu_listener(8, &port);
    assert_true(f->ls >= 0);
    /* A small receive buffer (inherited by the connection the kernel
     * accepts for it, and never autotuned): only the client's send buffer
     * can then grow. */
    int small = 64 * 1024;
    assert_int_equal(setsockopt(f->ls, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    char name[64];
    snprintf(name, sizeof name, "127.0.0.1:%d", port);
    const char *srv[1] = {name};
    const unsigned io = 600; /* a stalled exchange only waits: not scaled */
    int fds0 = tl_count_fds();
    f->mc = hu_client(srv, 1, hu_ms(500), io, 60000, 0);
    assert_int_equal(hash_ring_mc_set_max_value(f->mc, big), HASH_RING_OK);

    uint64_t copy = copy_cost_ms(f->v, big);
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_set(f->mc, "k", 1, f->v, big, 0, 0);
    uint64_t took = tl_now_ms() - t0;
    printf("# set of %zu B to a server that never reads: %s in %llu ms (io timeout %u, a copy of"
           " the value costs %llu ms) [%s]\n",
           big, hash_ring_mc_strerror(rc), (unsigned long long)took, io, (unsigned long long)copy,
           hash_ring_mc_last_error(f->mc));
    assert_int_equal(rc, HASH_RING_ETIMEDOUT);
    assert_true(hu_contains(hash_ring_mc_last_error(f->mc), "no complete reply within"));
    assert_true(took >= io - 20);
    assert_true(took <= io + hu_slack() + 4 * copy);
    /* The socket is closed at once (the server is marked dead). */
    assert_int_equal(tl_count_fds(), fds0);
    /* Marked dead, fail-over off: ENOSERVER without waiting. */
    t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_set(f->mc, "k", 1, "x", 1, 0, 0), HASH_RING_ENOSERVER);
    assert_true(tl_now_ms() - t0 < hu_ms(300)); /* not the I/O timeout */
    hash_ring_mc_destroy(f->mc);
    f->mc = NULL;

    /* The send really was stuck: the server side got only what the socket
     * buffers held (the closed socket still flushes its send queue). */
    size_t got = drain_pending(f->ls, hu_ms(500));
    printf("# the silent server had received %zu of %zu B (the kernel holds at most %zu)\n",
           got, big, hu_tcp_buffer_room());
    assert_true(got > 0);
    assert_true(got <= hu_tcp_buffer_room());
    assert_true(got < big);
    close(f->ls);
    f->ls = -1;
    assert_int_equal(tl_count_fds(), fds0 - 1); /* the listener is gone too */
}

static void test_stopped_memcached(void **state)
{
    fixture *f = *state;
    if (f->v == NULL)
        skip();
    const size_t big = f->big;
    unsigned char *v = f->v;
    /* memcached's item limit above the value, its memory limit at least
     * twice that (it refuses less) */
    char item_max[32], mem_max[32];
    snprintf(item_max, sizeof item_max, "%zum", big / MIB + 1);
    snprintf(mem_max, sizeof mem_max, "%zu", 2 * (big / MIB + 1) + 64);
    const char *const opts[] = {"-I", item_max, "-m", mem_max, NULL};
    assert_int_equal(hu_daemon_start(&f->a, 0, opts), 0);
    assert_int_equal(hu_daemon_start(&f->b, 0, opts), 0);
    int fds0 = tl_count_fds();
    const char *srv[2] = {f->a.addr, f->b.addr};
    const unsigned io = 600; /* a stalled exchange only waits: not scaled */
    f->mc = hu_client(srv, 2, hu_ms(500), io, 60000, 1);
    hash_ring_mc_t *mc = f->mc;
    assert_int_equal(hash_ring_mc_set_max_value(mc, big), HASH_RING_OK);
    /* Two keys owned by a. */
    char k1[32] = "", k2[32] = "", owner[128];
    for (int i = 0; k2[0] == '\0'; i++) {
        char k[32];
        snprintf(k, sizeof k, "nr-%d", i);
        if (strcmp(hu_owner(mc, k, owner, sizeof owner), f->a.addr) == 0)
            snprintf(k1[0] ? k2 : k1, 32, "%s", k);
    }
    /* Control: while a reads, the same size goes through (with a generous
     * timeout: a loaded machine may need more than `io` for the value). */
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, hu_ms(20000)), HASH_RING_OK);
    uint64_t t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_set(mc, k1, strlen(k1), v, big, 1, 0), HASH_RING_OK);
    uint64_t ctl = tl_now_ms() - t0;
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, io), HASH_RING_OK);
    assert_int_equal(tl_count_fds(), fds0 + 1);

    tl_daemon_stop(&f->a);
    v[0] = 'Z'; /* a different value for k2 */
    uint64_t copy = copy_cost_ms(v, big);
    t0 = tl_now_ms();
    int rc = hash_ring_mc_set(mc, k2, strlen(k2), v, big, 2, 0);
    uint64_t took = tl_now_ms() - t0;
    printf("# set of %zu B: %llu ms to a reading memcached; %s after %llu ms to a SIGSTOPped one"
           " (io timeout %u) [%s]\n",
           big, (unsigned long long)ctl, hash_ring_mc_strerror(rc), (unsigned long long)took, io,
           hash_ring_mc_last_error(mc));
    /* A write that was (partly) sent is not repeated on the next server. */
    assert_int_equal(rc, HASH_RING_ETIMEDOUT);
    assert_true(took >= io - 20);
    assert_true(took <= io + hu_slack() + 4 * copy);
    assert_int_equal(tl_count_fds(), fds0);
    char *raw = NULL;
    assert_int_equal(tl_raw_get(f->b.addr, k2, &raw, NULL, NULL), 0); /* not on b */

    /* a is marked dead: the next write of k2 goes to b at once. */
    t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_set(mc, k2, strlen(k2), "small", 5, 3, 0), HASH_RING_OK);
    assert_true(tl_now_ms() - t0 < hu_ms(300));
    assert_int_equal(tl_raw_get(f->b.addr, k2, &raw, NULL, NULL), 1);
    assert_string_equal(raw, "small");
    free(raw);
    hash_ring_mc_destroy(mc);
    f->mc = NULL;

    /* Woken up, a holds k1 intact and no trace of k2: more of the request
     * than the kernel could hold never left the client, so a got only a
     * partial request, which memcached drops. */
    tl_daemon_cont(&f->a);
    f->direct = hu_client(srv, 1, hu_ms(1000), hu_ms(5000), 0, 0);
    assert_int_equal(hash_ring_mc_set_max_value(f->direct, big), HASH_RING_OK);
    const void *got = NULL;
    size_t gl = 0;
    uint32_t fl = 0;
    assert_int_equal(hash_ring_mc_get(f->direct, k1, strlen(k1), &got, &gl, &fl), HASH_RING_OK);
    assert_int_equal(gl, big);
    assert_int_equal(fl, 1);
    v[0] = 'A';
    assert_memory_equal(got, v, big);
    assert_int_equal(hash_ring_mc_get(f->direct, k2, strlen(k2), &got, &gl, NULL),
                     HASH_RING_EMISS);
    hash_ring_mc_destroy(f->direct);
    f->direct = NULL;
    tl_daemon_kill(&f->a);
    tl_daemon_kill(&f->b);
    assert_int_equal(tl_count_fds(), fds0);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* the client must never raise it */
    tl_require_memcached();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_listener_never_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_memcached, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
