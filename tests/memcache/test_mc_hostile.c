/* test_mc_hostile.c - a server that misbehaves (mc_hostile) gives clean
 * errors within the timeouts: no crash, no hang, no over-read (the suite
 * also runs under ASan/UBSan and valgrind), no leaked descriptor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "mc_testlib.h"

#ifndef HR_MC_HOSTILE
#error "HR_MC_HOSTILE must name the mc_hostile program"
#endif

#define IO_MS 600u

typedef struct hostile {
    pid_t pid;
    int to_child; /* its stdin: closing it ends the server */
    char addr[64];
} hostile;

static void hostile_start(hostile *h, const char *mode)
{
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    h->pid = fork();
    assert_true(h->pid >= 0);
    if (h->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(HR_MC_HOSTILE, HR_MC_HOSTILE, mode, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    h->to_child = in[1];
    char buf[32] = "";
    ssize_t n = read(out[0], buf, sizeof buf - 1);
    close(out[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    snprintf(h->addr, sizeof h->addr, "127.0.0.1:%d", atoi(buf));
}

static void hostile_stop(hostile *h)
{
    close(h->to_child);
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
}

static hash_ring_mc_t *client_of(const hostile *h)
{
    /* Fail-over off: a single server's own failure is returned. */
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_add_server(mc, h->addr, strlen(h->addr), 1), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_connect_timeout(mc, 500), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, IO_MS), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_retry_interval(mc, 0), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_failover(mc, 0), HASH_RING_OK);
    return mc;
}

/* get "somekey" against MODE: expect `want` within the I/O timeout. */
static void check_get(const char *mode, int want)
{
    int fds = tl_count_fds();
    hostile h;
    hostile_start(&h, mode);
    hash_ring_mc_t *mc = client_of(&h);
    /* Fail-over off: the exact failure; on (the only server): ENOSERVER,
     * with the failure in the detail. */
    assert_int_equal(hash_ring_mc_set_failover(mc, 0), HASH_RING_OK);
    for (int round = 0; round < 3; round++) {
        if (round == 2) {
            assert_int_equal(hash_ring_mc_set_failover(mc, 1), HASH_RING_OK);
            if (want != HASH_RING_EMISS)
                want = HASH_RING_ENOSERVER;
        }
        const void *v = NULL;
        size_t vl = 0;
        uint64_t t0 = tl_now_ms();
        int rc = hash_ring_mc_get(mc, "somekey", 7, &v, &vl, NULL);
        uint64_t took = tl_now_ms() - t0;
        printf("# %-9s get: %-32s in %4llu ms (%s)\n", mode, hash_ring_mc_strerror(rc),
               (unsigned long long)took, hash_ring_mc_last_error(mc));
        assert_int_equal(rc, want);
        if (round == 2 && want == HASH_RING_ENOSERVER)
            assert_non_null(strstr(hash_ring_mc_last_error(mc), "last failure: server 127.0.0.1:"));
        assert_true(took < IO_MS + tl_slack_ms());
        if (want == HASH_RING_ETIMEDOUT)
            assert_true(took >= IO_MS); /* never gives up early */
    }
    /* multi-get: the key carries the same error */
    const void *keys[2] = {"somekey", "somekey2"};
    size_t lens[2] = {7, 8};
    hash_ring_mc_result_t *res = NULL;
    uint64_t t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, 2, &res), HASH_RING_OK);
    assert_true(tl_now_ms() - t0 < IO_MS + tl_slack_ms());
    int st = hash_ring_mc_result_item(res, 0, NULL, NULL, NULL, NULL);
    assert_true(st != HASH_RING_OK);
    if (want != HASH_RING_EMISS)
        assert_true(st == HASH_RING_EPROTO || st == HASH_RING_EIO ||
                    st == HASH_RING_ETIMEDOUT || st == HASH_RING_ENOSERVER);
    hash_ring_mc_result_free(res);
    hash_ring_mc_destroy(mc);
    hostile_stop(&h);
    assert_int_equal(tl_count_fds(), fds);
}

static void test_garbage(void **s)
{
    (void)s;
    check_get("garbage", HASH_RING_EPROTO);
}
static void test_binary(void **s)
{
    (void)s;
    check_get("binary", HASH_RING_EPROTO);
}
static void test_half_then_close(void **s)
{
    (void)s;
    check_get("half", HASH_RING_EIO);
}
static void test_claims_2gb(void **s)
{
    (void)s;
    check_get("huge", HASH_RING_EPROTO);
}
static void test_trickle(void **s)
{
    (void)s;
    check_get("trickle", HASH_RING_ETIMEDOUT);
}
static void test_silent(void **s)
{
    (void)s;
    check_get("silent", HASH_RING_ETIMEDOUT);
}
static void test_wrong_key(void **s)
{
    (void)s;
    check_get("wrongkey", HASH_RING_EPROTO);
}
static void test_bad_terminator(void **s)
{
    (void)s;
    check_get("badterm", HASH_RING_EPROTO);
}
static void test_closes(void **s)
{
    (void)s;
    check_get("close", HASH_RING_EIO);
}

/* A miss followed by bytes nobody asked for: the answer stands, the
 * connection is dropped so the extra bytes are never taken for a reply. */
static void test_extra_bytes(void **s)
{
    (void)s;
    check_get("extra", HASH_RING_EMISS);
}

/* A stats reply that never ends: refused after a bounded number of lines
 * (EPROTO, saying so) rather than growing the client's memory until the
 * I/O timeout. */
static void test_stats_flood(void **s)
{
    (void)s;
    int fds = tl_count_fds();
    hostile h;
    hostile_start(&h, "statsflood");
    hash_ring_mc_t *mc = client_of(&h);
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, 10000), HASH_RING_OK);
    hash_ring_mc_stats_t *st = NULL;
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_stats(mc, h.addr, strlen(h.addr), NULL, &st);
    uint64_t took = tl_now_ms() - t0;
    printf("# endless stats: %s in %llu ms (%s)\n", hash_ring_mc_strerror(rc),
           (unsigned long long)took, hash_ring_mc_last_error(mc));
    assert_int_equal(rc, HASH_RING_EPROTO);
    assert_null(st);
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "stats reply too large"));
    assert_true(took < 10000); /* stopped by the bound, not by the timeout */
    hash_ring_mc_destroy(mc);
    hostile_stop(&h);
    assert_int_equal(tl_count_fds(), fds);
}

/* A value above the client's maximum whose server then fails before the
 * data ends is a server failure like any other: the key is read from the
 * next server, by get and by multi-get alike. */
static void test_big_value_then_close(void **s)
{
    (void)s;
    int fds = tl_count_fds();
    hostile h;
    hostile_start(&h, "bigclose");
    tl_daemon d;
    assert_int_equal(tl_daemon_start(&d, 0, NULL), 0);
    hash_ring_mc_t *mc = client_of(&h);
    assert_int_equal(hash_ring_mc_add_server(mc, d.addr, strlen(d.addr), 1), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_failover(mc, 1), HASH_RING_OK);
    char key[32], own[128];
    for (int i = 0;; i++) {
        snprintf(key, sizeof key, "bc-%d", i);
        const char *o;
        size_t ol;
        assert_int_equal(hash_ring_get_node(hash_ring_mc_ring(mc), key, strlen(key), &o, &ol),
                         HASH_RING_OK);
        snprintf(own, sizeof own, "%.*s", (int)ol, o);
        if (strcmp(own, h.addr) == 0)
            break;
    }
    assert_int_equal(tl_raw_set(d.addr, key, "next", 0), 0);
    const void *v;
    size_t vl;
    assert_int_equal(hash_ring_mc_get(mc, key, strlen(key), &v, &vl, NULL), HASH_RING_OK);
    assert_memory_equal(v, "next", 4);
    const void *keys[1] = {key};
    size_t lens[1] = {strlen(key)};
    hash_ring_mc_result_t *res = NULL;
    assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, 1, &res), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_result_item(res, 0, &v, &vl, NULL, NULL), HASH_RING_OK);
    assert_memory_equal(v, "next", 4);
    hash_ring_mc_result_free(res);
    hash_ring_mc_destroy(mc);
    tl_daemon_kill(&d);
    hostile_stop(&h);
    assert_int_equal(tl_count_fds(), fds);
}

static void test_bad_number(void **s)
{
    (void)s;
    hostile h;
    hostile_start(&h, "bignum");
    hash_ring_mc_t *mc = client_of(&h);
    uint64_t n = 7;
    assert_int_equal(hash_ring_mc_incr(mc, "k", 1, 1, &n), HASH_RING_EPROTO);
    assert_int_equal(n, 7);
    /* storage commands see a reply that is not STORED & co */
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0), HASH_RING_EPROTO);
    hash_ring_mc_destroy(mc);
    hostile_stop(&h);
}

static void test_garbage_for_every_command(void **s)
{
    (void)s;
    hostile h;
    hostile_start(&h, "garbage");
    hash_ring_mc_t *mc = client_of(&h);
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0), HASH_RING_EPROTO);
    assert_int_equal(hash_ring_mc_delete(mc, "k", 1), HASH_RING_EPROTO);
    assert_int_equal(hash_ring_mc_touch(mc, "k", 1, 5), HASH_RING_EPROTO);
    assert_int_equal(hash_ring_mc_flush_all(mc, 0), HASH_RING_EPROTO);
    const char *ver;
    assert_int_equal(hash_ring_mc_version(mc, h.addr, strlen(h.addr), &ver, NULL),
                     HASH_RING_EPROTO);
    hash_ring_mc_stats_t *st = NULL;
    assert_int_equal(hash_ring_mc_stats(mc, h.addr, strlen(h.addr), NULL, &st),
                     HASH_RING_EPROTO);
    assert_null(st);
    hash_ring_mc_destroy(mc);
    hostile_stop(&h);
}

/* Storage replies by command (protocol.txt): only cas may answer NOT_FOUND
 * (or EXISTS); for the others it is no reply to that request (e.g. one left
 * over from an earlier command), so a protocol error, not a cache miss. */
static void test_not_found_only_for_cas(void **s)
{
    (void)s;
    hostile h;
    hostile_start(&h, "notfound");
    hash_ring_mc_t *mc = client_of(&h);
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0), HASH_RING_EPROTO);
    assert_int_equal(hash_ring_mc_add(mc, "k", 1, "v", 1, 0, 0), HASH_RING_EPROTO);
    assert_int_equal(hash_ring_mc_replace(mc, "k", 1, "v", 1, 0, 0), HASH_RING_EPROTO);
    assert_int_equal(hash_ring_mc_append(mc, "k", 1, "v", 1), HASH_RING_EPROTO);
    assert_int_equal(hash_ring_mc_prepend(mc, "k", 1, "v", 1), HASH_RING_EPROTO);
    assert_int_equal(hash_ring_mc_cas(mc, "k", 1, "v", 1, 0, 0, 42), HASH_RING_EMISS);
    assert_int_equal(hash_ring_mc_delete(mc, "k", 1), HASH_RING_EMISS);
    assert_int_equal(hash_ring_mc_touch(mc, "k", 1, 5), HASH_RING_EMISS);
    uint64_t n = 7;
    assert_int_equal(hash_ring_mc_incr(mc, "k", 1, 1, &n), HASH_RING_EMISS);
    assert_int_equal(n, 7);
    hash_ring_mc_destroy(mc);
    hostile_stop(&h);
}

/* A server that answers a set before it has read the value (memcached does
 * so for a value too large for it) and would take whatever comes next on
 * that connection as the rest of the value: the client must not send its
 * next request there.  Before the fix the half-sent connection was kept,
 * the next get could not even be written and timed out.  (The server's
 * receive buffer is small; whether the client's send buffer held the rest
 * of the value or not, the error reply closes the connection.) */
static void test_answer_before_request_sent(void **s)
{
    (void)s;
    int fds = tl_count_fds();
    hostile h;
    hostile_start(&h, "early");
    hash_ring_mc_t *mc = client_of(&h);
    size_t big = 16u << 20;
    char *val = calloc(1, big);
    assert_non_null(val);
    assert_int_equal(hash_ring_mc_set_max_value(mc, big), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, val, big, 0, 0), HASH_RING_ESERVER);
    assert_non_null(strstr(hash_ring_mc_last_error(mc), "SERVER_ERROR"));
    free(val);
    const void *v;
    size_t vl;
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_get(mc, "k", 1, &v, &vl, NULL);
    printf("# get after an early answer: %s in %llu ms (%s)\n", hash_ring_mc_strerror(rc),
           (unsigned long long)(tl_now_ms() - t0), hash_ring_mc_last_error(mc));
    assert_int_equal(rc, HASH_RING_EMISS); /* its own answer, on a new connection */
    hash_ring_mc_destroy(mc);
    hostile_stop(&h);
    assert_int_equal(tl_count_fds(), fds);
}

/* A multi-get pipelines several "gets" to a server; an error reply to the
 * first does not end the others: their (late) replies must not be read as
 * the reply to the next command. */
static void test_error_mid_pipeline(void **s)
{
    (void)s;
    hostile h;
    hostile_start(&h, "errlate");
    hash_ring_mc_t *mc = client_of(&h);
    enum { N = 150 }; /* two "gets" commands of up to 100 keys */
    char names[N][16];
    const void *keys[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "key%d", i);
        keys[i] = names[i];
        lens[i] = strlen(names[i]);
    }
    hash_ring_mc_result_t *res = NULL;
    assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, N, &res), HASH_RING_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(hash_ring_mc_result_item(res, (size_t)i, NULL, NULL, NULL, NULL),
                         HASH_RING_ESERVER);
    hash_ring_mc_result_free(res);
    const void *v;
    size_t vl;
    int rc = hash_ring_mc_get(mc, "k", 1, &v, &vl, NULL);
    printf("# get after an error mid-pipeline: %s (%s)\n", hash_ring_mc_strerror(rc),
           hash_ring_mc_last_error(mc));
    assert_int_equal(rc, HASH_RING_EMISS); /* END: its own reply */
    hash_ring_mc_destroy(mc);
    hostile_stop(&h);
}

/* A reply that comes after the client's timeout is never taken for the
 * reply of the next command. */
static void test_late_reply_not_reused(void **s)
{
    (void)s;
    hostile h;
    hostile_start(&h, "late"); /* the first request is answered after 2 s */
    hash_ring_mc_t *mc = client_of(&h);
    const void *v;
    size_t vl;
    uint64_t t0 = tl_now_ms();
    assert_int_equal(hash_ring_mc_get(mc, "k", 1, &v, &vl, NULL), HASH_RING_ETIMEDOUT);
    uint64_t took = tl_now_ms() - t0;
    assert_true(took >= IO_MS && took < IO_MS + tl_slack_ms());
    for (int i = 0; i < 3; i++)
        assert_int_equal(hash_ring_mc_get(mc, "k", 1, &v, &vl, NULL), HASH_RING_EMISS);
    assert_int_equal(hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0), HASH_RING_EPROTO); /* END */
    hash_ring_mc_destroy(mc);
    hostile_stop(&h);
}

/* A server (or a proxy) that answers SERVER_ERROR, then sends what is left
 * of an old reply: that stale reply arrives just when the next request's
 * answer is expected, and a one-line reply (END, STORED, DELETED, TOUCHED, a
 * number) cannot be told apart from a real one.  The connection must not
 * outlive the error: the next request goes on a new connection and gets
 * its own answer (mc_hostile "stale"). */
enum stale_op { ST_GET, ST_GETS, ST_SET, ST_DELETE, ST_TOUCH, ST_INCR };

static int stale_op_run(hash_ring_mc_t *mc, enum stale_op op, uint64_t *num, const void **v,
                        size_t *vl, uint64_t *cas)
{
    switch (op) {
    case ST_GET: return hash_ring_mc_get(mc, "k", 1, v, vl, NULL);
    case ST_GETS: return hash_ring_mc_gets(mc, "k", 1, v, vl, NULL, cas);
    case ST_SET: return hash_ring_mc_set(mc, "k", 1, "v", 1, 0, 0);
    case ST_DELETE: return hash_ring_mc_delete(mc, "k", 1);
    case ST_TOUCH: return hash_ring_mc_touch(mc, "k", 1, 5);
    case ST_INCR: return hash_ring_mc_incr(mc, "k", 1, 1, num);
    }
    return -1;
}

static void test_no_stale_reply_after_server_error(void **s)
{
    (void)s;
    static const char *const names[] = {"get", "gets", "set", "delete", "touch", "incr"};
    int fds = tl_count_fds();
    for (enum stale_op op = ST_GET; op <= ST_INCR; op++) {
        hostile h;
        hostile_start(&h, "stale");
        hash_ring_mc_t *mc = client_of(&h);
        uint64_t num = 0, cas = 0;
        const void *v = NULL;
        size_t vl = 0;
        assert_int_equal(stale_op_run(mc, op, &num, &v, &vl, &cas), HASH_RING_ESERVER);
        assert_non_null(strstr(hash_ring_mc_last_error(mc), "SERVER_ERROR busy"));
        int rc = stale_op_run(mc, op, &num, &v, &vl, &cas);
        printf("# %s after SERVER_ERROR: %s (%s)\n", names[op], hash_ring_mc_strerror(rc),
               rc == HASH_RING_OK ? "" : hash_ring_mc_last_error(mc));
        switch (op) {
        case ST_GET:
        case ST_GETS:
            assert_int_equal(rc, HASH_RING_OK); /* not the stale END (a miss) */
            assert_int_equal(vl, 5);
            assert_memory_equal(v, "fresh", 5);
            if (op == ST_GETS)
                assert_int_equal(cas, 7);
            break;
        case ST_SET: assert_int_equal(rc, HASH_RING_ENOTSTORED); break; /* not STORED */
        case ST_DELETE:                                                  /* not DELETED */
        case ST_TOUCH: assert_int_equal(rc, HASH_RING_EMISS); break;    /* not TOUCHED */
        case ST_INCR:
            assert_int_equal(rc, HASH_RING_OK);
            assert_int_equal(num, 42); /* not the stale 5 */
            break;
        }
        hash_ring_mc_destroy(mc);
        hostile_stop(&h);
    }
    assert_int_equal(tl_count_fds(), fds);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL); /* the client must never raise it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage),         cmocka_unit_test(test_binary),
        cmocka_unit_test(test_half_then_close), cmocka_unit_test(test_claims_2gb),
        cmocka_unit_test(test_trickle),         cmocka_unit_test(test_silent),
        cmocka_unit_test(test_wrong_key),       cmocka_unit_test(test_bad_terminator),
        cmocka_unit_test(test_closes),          cmocka_unit_test(test_extra_bytes),
        cmocka_unit_test(test_bad_number),      cmocka_unit_test(test_garbage_for_every_command),
        cmocka_unit_test(test_not_found_only_for_cas),
        cmocka_unit_test(test_answer_before_request_sent),
        cmocka_unit_test(test_error_mid_pipeline),
        cmocka_unit_test(test_late_reply_not_reused),
        cmocka_unit_test(test_stats_flood),
        cmocka_unit_test(test_big_value_then_close),
        cmocka_unit_test(test_no_stale_reply_after_server_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
