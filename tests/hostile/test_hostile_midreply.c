/* test_hostile_midreply.c - a real memcached SIGKILLed in the middle of a
 * large reply: a multi-get of at least 24 values of 1,000,000 bytes and a
 * single get of a value of at least 24 MiB - both sized to be well above
 * what can be in flight when the daemon dies: 2 MB passed on, plus the
 * daemon's send buffer (as large as the kernel lets it grow, read from
 * /proc/sys: hu_tcp_send_room), plus the relay's receive buffer (set
 * small, so not autotuned).
 *
 * The kill is placed deterministically by a relay thread between client and
 * daemon (the client's address for that server, set with
 * hash_ring_mc_set_address): it forwards exactly 2 MB of the reply, SIGKILLs
 * the daemon, then forwards whatever the dead daemon's socket still delivers
 * and passes its end on (EOF as a close, a reset as a reset).  A direct
 * variant (no relay) kills the daemon from a watcher thread once the
 * client's socket has received 2 MB (TCP_INFO); on a loaded machine the
 * reply may complete first, so it asserts whichever outcome happened.
 *
 * Expected (hash_ring_memcache.h, FAIL-OVER and multi-get): values that
 * arrived whole are returned intact; the rest of the dead server's keys
 * carry HASH_RING_EIO (fail-over off) or are asked of the next server
 * (fail-over on: a miss there); the reply ends when the connection closes,
 * well before the I/O timeout; the dead connection is closed (descriptor
 * count), the server is marked dead. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "hostile_util.h"

#define NBIG_MIN 24         /* multi-get: keys on the victim */
#define NBIG_MAX 400
#define NSMALL 8            /* multi-get: keys on the survivor */
#define BIGLEN 1000000u     /* value size in the multi-get (fits -I 1m) */
#define MIB ((size_t)1 << 20)
#define HUGELEN_MIN (24 * MIB) /* the single large value */
#define KILL_AFTER (2u << 20)
#define RELAY_RCVBUF (64 * 1024)

static tl_daemon victim, survivor;
static size_t nbig, hugelen; /* sized in main() */
static char item_max[32], mem_max[32];
static const char *const big_opts[] = {"-I", item_max, "-m", mem_max, NULL};

/* Sizes the test from the kernel's limits: once the relay has passed on
 * KILL_AFTER bytes and killed the daemon, at most the daemon's send buffer
 * and the relay's (small) receive buffer still come; well beyond that, at
 * least 8 values of the multi-get and 8 MiB of the large value never
 * arrive.  0, or -1 when the kernel allows buffers too large for this. */
static int size_test(void)
{
    size_t inflight = hu_tcp_send_room() + 4 * RELAY_RCVBUF + MIB;
    nbig = (KILL_AFTER + inflight) / BIGLEN + 1 + 10;
    if (nbig < NBIG_MIN)
        nbig = NBIG_MIN;
    hugelen = (KILL_AFTER + inflight + 8 * MIB + MIB - 1) / MIB * MIB;
    if (hugelen < HUGELEN_MIN)
        hugelen = HUGELEN_MIN;
    size_t imax = hugelen / MIB + 2 < 64 ? 64 : hugelen / MIB + 2;
    snprintf(item_max, sizeof item_max, "%zum", imax);
    snprintf(mem_max, sizeof mem_max, "%zu", 2 * imax + nbig + 256);
    printf("# %zu values of %u B on the victim, a large value of %zu B (memcached -I %s -m %s)\n",
           nbig, BIGLEN, hugelen, item_max, mem_max);
    return nbig <= NBIG_MAX && imax <= 1024 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    if (hu_daemon_start(&victim, 0, big_opts) != 0)
        return -1;
    return hu_daemon_start(&survivor, 0, NULL);
}

static int teardown(void **state)
{
    (void)state;
    tl_daemon_kill(&victim);
    tl_daemon_kill(&survivor);
    return 0;
}

/* ---- the watcher: kills the victim once `after` bytes have arrived ---- */

typedef struct watcher {
    int fd;
    pid_t pid;
    uint64_t base, after;
    atomic_int stop;
    atomic_int fired;
    atomic_ullong seen; /* bytes of the reply received when it fired */
    pthread_t th;
} watcher;

static void *watch_main(void *arg)
{
    watcher *w = arg;
    while (!atomic_load(&w->stop)) {
        uint64_t b = hu_bytes_received(w->fd);
        if (b == UINT64_MAX)
            break; /* the socket went away */
        if (b - w->base >= w->after) {
            kill(w->pid, SIGKILL);
            atomic_store(&w->seen, (unsigned long long)(b - w->base));
            atomic_store(&w->fired, 1);
            break;
        }
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void watch_start(watcher *w, int fd, pid_t pid, uint64_t after)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->pid = pid;
    w->after = after;
    w->base = hu_bytes_received(fd);
    atomic_init(&w->stop, 0);
    atomic_init(&w->fired, 0);
    atomic_init(&w->seen, 0);
    if (w->base == UINT64_MAX)
        skip(); /* no TCP_INFO bytes_received (Linux >= 4.1) */
    assert_int_equal(pthread_create(&w->th, NULL, watch_main, w), 0);
}

static void watch_end(watcher *w)
{
    atomic_store(&w->stop, 1);
    assert_int_equal(pthread_join(w->th, NULL), 0);
}

/* ---- the relay: forwards `after` bytes of the reply, then kills -------- */

typedef struct relay {
    int ls, up_port;
    pid_t pid;
    uint64_t after;
    char addr[64];
    atomic_int stop;
    atomic_int fired;
    atomic_ullong forwarded; /* reply bytes passed to the client in all */
    pthread_t th;
} relay;

static void *relay_main(void *arg)
{
    relay *r = arg;
    static char buf[1 << 16];
    int down = -1, up = -1;
    while (down < 0 && !atomic_load(&r->stop)) {
        struct pollfd p = {r->ls, POLLIN, 0};
        if (poll(&p, 1, 20) == 1)
            down = accept(r->ls, NULL, NULL);
    }
    if (down >= 0) {
        char a[32];
        snprintf(a, sizeof a, "127.0.0.1:%d", r->up_port);
        struct timeval tv = {10, 0};
        setsockopt(down, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        up = socket(AF_INET, SOCK_STREAM, 0);
        /* small and fixed (no autotuning): little can be in flight here
         * when the daemon dies */
        int small = RELAY_RCVBUF;
        if (up >= 0)
            (void)setsockopt(up, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        struct sockaddr_in in;
        memset(&in, 0, sizeof in);
        in.sin_family = AF_INET;
        in.sin_port = htons((uint16_t)r->up_port);
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (up >= 0 && connect(up, (struct sockaddr *)&in, sizeof in) != 0) {
            close(up);
            up = -1;
        }
    }
    uint64_t fwd = 0;
    int reset = 0;
    while (down >= 0 && up >= 0 && !atomic_load(&r->stop)) {
        struct pollfd p[2] = {{down, POLLIN, 0}, {up, POLLIN, 0}};
        if (poll(p, 2, 20) <= 0)
            continue;
        if (p[0].revents) { /* the request (or the client's close) */
            ssize_t n = recv(down, buf, sizeof buf, 0);
            if (n <= 0 || tl_send_all(up, buf, (size_t)n) != 0)
                break;
        }
        if (p[1].revents) {
            size_t want = sizeof buf;
            if (!atomic_load(&r->fired) && r->after - fwd < want)
                want = (size_t)(r->after - fwd);
            ssize_t n = recv(up, buf, want, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) { /* the dead daemon's socket ends */
                reset = n < 0 && errno == ECONNRESET;
                break;
            }
            if (tl_send_all(down, buf, (size_t)n) != 0)
                break;
            fwd += (uint64_t)n;
            atomic_store(&r->forwarded, (unsigned long long)fwd);
            if (!atomic_load(&r->fired) && fwd >= r->after) {
                kill(r->pid, SIGKILL);
                atomic_store(&r->fired, 1);
            }
        }
    }
    if (down >= 0) {
        if (reset) {
            struct linger lg = {1, 0}; /* pass a reset on as a reset */
            setsockopt(down, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(down);
    }
    if (up >= 0)
        close(up);
    return NULL;
}

static void relay_start(relay *r, int up_port, pid_t pid, uint64_t after)
{
    memset(r, 0, sizeof *r);
    int port;
    r->ls = hu_listener(1, &port);
    assert_true(r->ls >= 0);
    snprintf(r->addr, sizeof r->addr, "127.0.0.1:%d", port);
    r->up_port = up_port;
    r->pid = pid;
    r->after = after;
    atomic_init(&r->stop, 0);
    atomic_init(&r->fired, 0);
    atomic_init(&r->forwarded, 0);
    assert_int_equal(pthread_create(&r->th, NULL, relay_main, r), 0);
}

static void relay_end(relay *r)
{
    atomic_store(&r->stop, 1);
    assert_int_equal(pthread_join(r->th, NULL), 0);
    close(r->ls);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t j = 0; j < n; j++)
        p[j] = (unsigned char)('a' + (seed * 7u + j * 13u + j / 4099u) % 26u);
}

enum { DIRECT, RELAY };

static void test_multiget_killed(int failover, int via)
{
    int fds_base = tl_count_fds();
    const char *srv[2] = {victim.addr, survivor.addr};
    const unsigned io = hu_ms(5000);
    hash_ring_mc_t *mc = hu_client(srv, 2, hu_ms(1000), io, 60000, failover);

    /* Keys: nbig owned by the victim, NSMALL by the survivor. */
    static char keys[NBIG_MAX + NSMALL][32];
    static int on_victim[NBIG_MAX + NSMALL];
    size_t nb = 0, ns = 0, n = 0;
    char owner[128];
    for (int i = 0; nb < nbig || ns < NSMALL; i++) {
        char k[32];
        snprintf(k, sizeof k, "mr-%d", i);
        int v = strcmp(hu_owner(mc, k, owner, sizeof owner), victim.addr) == 0;
        if (v ? nb >= nbig : ns >= NSMALL)
            continue;
        v ? nb++ : ns++;
        snprintf(keys[n], sizeof keys[n], "%s", k);
        on_victim[n++] = v;
    }
    unsigned char *val = malloc(BIGLEN);
    assert_non_null(val);
    for (size_t i = 0; i < n; i++) {
        size_t len = on_victim[i] ? BIGLEN : 8;
        fill(val, len, (unsigned)i);
        assert_int_equal(hash_ring_mc_set(mc, keys[i], strlen(keys[i]), val, len, 0, 0),
                         HASH_RING_OK);
    }
    uint64_t reply_bytes = (uint64_t)nb * BIGLEN;

    static const void *kp[NBIG_MAX + NSMALL];
    static size_t kl[NBIG_MAX + NSMALL];
    for (size_t i = 0; i < n; i++) {
        kp[i] = keys[i];
        kl[i] = strlen(keys[i]);
    }
    watcher w;
    relay r;
    int fds_before;
    if (via == RELAY) {
        relay_start(&r, victim.port, victim.pid, KILL_AFTER);
        /* Same node, reached through the relay from now on. */
        assert_int_equal(hash_ring_mc_set_address(mc, victim.addr, strlen(victim.addr), r.addr,
                                                  strlen(r.addr)),
                         HASH_RING_OK);
        fds_before = tl_count_fds();
    } else {
        /* The client keeps its connection to the victim from the sets. */
        int fd = hu_peer_fd(victim.port);
        assert_true(fd >= 0);
        fds_before = tl_count_fds();
        watch_start(&w, fd, victim.pid, KILL_AFTER);
    }
    hash_ring_mc_result_t *res = NULL;
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_get_multi(mc, kp, kl, n, &res);
    uint64_t took = tl_now_ms() - t0;
    unsigned long long seen;
    if (via == RELAY) {
        relay_end(&r);
        assert_true(atomic_load(&r.fired));
        seen = atomic_load(&r.forwarded);
        /* The relay's listener is closed (-1); the client's connection to
         * the relay, opened during the call, counts as the one to close (+1). */
    } else {
        watch_end(&w);
        seen = atomic_load(&w.fired) ? atomic_load(&w.seen) : 0;
    }
    assert_int_equal(rc, HASH_RING_OK);

    size_t ok_v = 0, lost = 0, ok_s = 0;
    for (size_t i = 0; i < n; i++) {
        const void *v = NULL;
        size_t vl = 0;
        int st = hash_ring_mc_result_item(res, i, &v, &vl, NULL, NULL);
        if (!on_victim[i]) {
            assert_int_equal(st, HASH_RING_OK);
            fill(val, 8, (unsigned)i);
            assert_int_equal(vl, 8);
            assert_memory_equal(v, val, 8);
            ok_s++;
        } else if (st == HASH_RING_OK) {
            /* arrived whole before the kill: intact */
            fill(val, BIGLEN, (unsigned)i);
            assert_int_equal(vl, BIGLEN);
            assert_memory_equal(v, val, BIGLEN);
            ok_v++;
        } else {
            /* fail-over on: asked of the survivor, which never had it */
            assert_int_equal(st, failover ? HASH_RING_EMISS : HASH_RING_EIO);
            lost++;
        }
    }
    printf("# %s: multi-get of %zu x %u B, victim SIGKILLed after %u B, %llu B %s (fail-over"
           " %s): %zu whole, %zu %s, %zu from the survivor; %llu ms (io timeout %u ms)\n",
           via == RELAY ? "relay" : "direct", nb, BIGLEN, KILL_AFTER, seen,
           via == RELAY ? "delivered in all" : "received when it fired", failover ? "on" : "off",
           ok_v,
           lost, failover ? "missed on the next server" : "EIO", ok_s, (unsigned long long)took,
           io);
    assert_int_equal(ok_s, NSMALL);
    assert_true(took < io); /* ended by the close or the answer, not the timeout */
    hash_ring_mc_result_free(res);
    if (via == DIRECT && lost == 0) {
        /* The whole reply got through before the watcher thread got to
         * kill (a loaded machine): every value was checked intact above. */
        printf("# direct: the reply completed before the kill landed\n");
        assert_int_equal(ok_v, nbig);
    } else {
        if (via == RELAY)
            assert_true(seen < reply_bytes);
        assert_true(ok_v >= 1); /* the values inside the first 2 MB */
        /* and, through the relay, most did not arrive (directly, the
         * client's own receive buffer may grow to hold any part) */
        assert_true(lost >= (via == RELAY ? 8u : 1u));
        /* The dead connection is closed; the survivor's is kept. */
        assert_int_equal(tl_count_fds(), fds_before - 1);
        /* Marked dead: ENOSERVER (off) / the next server (on), at once. */
        const void *v;
        size_t vl;
        size_t k0 = 0;
        while (!on_victim[k0])
            k0++;
        t0 = tl_now_ms();
        rc = hash_ring_mc_get(mc, keys[k0], strlen(keys[k0]), &v, &vl, NULL);
        assert_int_equal(rc, failover ? HASH_RING_EMISS : HASH_RING_ENOSERVER);
        assert_true(tl_now_ms() - t0 < hu_ms(200));
    }
    hash_ring_mc_destroy(mc);
    free(val);
    tl_daemon_kill(&victim); /* reap */
    assert_int_equal(tl_count_fds(), fds_base);
}

static void test_multiget_killed_direct(void **state)
{
    (void)state;
    test_multiget_killed(0, DIRECT);
}

static void test_multiget_killed_failover_off(void **state)
{
    (void)state;
    test_multiget_killed(0, RELAY);
}

static void test_multiget_killed_failover_on(void **state)
{
    (void)state;
    test_multiget_killed(1, RELAY);
}

static void test_large_value_killed(int failover)
{
    int fds_base = tl_count_fds();
    const char *srv[2] = {victim.addr, survivor.addr};
    const unsigned io = hu_ms(5000);
    hash_ring_mc_t *mc = hu_client(srv, 2, hu_ms(1000), io, 60000, failover);
    assert_int_equal(hash_ring_mc_set_max_value(mc, hugelen), HASH_RING_OK);
    char key[32], owner[128];
    for (int i = 0;; i++) {
        snprintf(key, sizeof key, "huge-%d", i);
        if (strcmp(hu_owner(mc, key, owner, sizeof owner), victim.addr) == 0)
            break;
    }
    unsigned char *val = malloc(hugelen);
    assert_non_null(val);
    fill(val, hugelen, 99);
    assert_int_equal(hash_ring_mc_set(mc, key, strlen(key), val, hugelen, 7, 0), HASH_RING_OK);
    relay r;
    relay_start(&r, victim.port, victim.pid, KILL_AFTER);
    assert_int_equal(hash_ring_mc_set_address(mc, victim.addr, strlen(victim.addr), r.addr,
                                              strlen(r.addr)),
                     HASH_RING_OK);
    int fds_before = tl_count_fds();

    const void *v = NULL;
    size_t vl = 0;
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_get(mc, key, strlen(key), &v, &vl, NULL);
    uint64_t took = tl_now_ms() - t0;
    relay_end(&r);
    assert_true(atomic_load(&r.fired));
    unsigned long long seen = atomic_load(&r.forwarded);
    printf("# relay: get of a %zu B value, victim SIGKILLed after %d B, %llu B of the reply"
           " delivered in all (fail-over %s): %s in %llu ms (io timeout %u ms) [%s]\n",
           hugelen, (int)KILL_AFTER, seen, failover ? "on" : "off", hash_ring_mc_strerror(rc),
           (unsigned long long)took, io, hash_ring_mc_last_error(mc));
    assert_true(seen < hugelen);
    /* A read is retried on the next server (which never had the key). */
    assert_int_equal(rc, failover ? HASH_RING_EMISS : HASH_RING_EIO);
    if (!failover)
        assert_true(hu_contains(hash_ring_mc_last_error(mc), victim.addr));
    assert_true(took < io);
    /* -1: the relay's listener; the connection to the relay was opened
     * and closed during the call; +1: the survivor's, with fail-over */
    assert_int_equal(tl_count_fds(), fds_before - 1 + (failover ? 1 : 0));
    hash_ring_mc_destroy(mc);
    free(val);
    tl_daemon_kill(&victim);
    assert_int_equal(tl_count_fds(), fds_base);
}

static void test_large_value_killed_failover_off(void **state)
{
    (void)state;
    test_large_value_killed(0);
}

static void test_large_value_killed_failover_on(void **state)
{
    (void)state;
    test_large_value_killed(1);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* the client must never raise it */
    tl_require_memcached();
    if (size_test() != 0) {
        printf("SKIP: the kernel lets TCP buffers grow too large for this test\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_multiget_killed_failover_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiget_killed_failover_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_value_killed_failover_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_value_killed_failover_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multiget_killed_direct, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
