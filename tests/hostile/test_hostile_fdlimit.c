/* test_hostile_fdlimit.c - the process runs out of file descriptors.
 *
 * In a forked child (so the limit and the hoarded descriptors never touch
 * the test runner): RLIMIT_NOFILE's soft limit is lowered and every free
 * descriptor below it is taken with dup().  Then:
 *   - an open connection keeps working (it needs no new descriptor);
 *   - a server that needs a new connection fails cleanly: socket() gives
 *     EMFILE, a local shortage the client reports as HASH_RING_ENOMEM with
 *     "Too many open files" in hash_ring_mc_last_error(), with fail-over
 *     on or off (another server would not help, and moving keys would
 *     create stale copies), without marking the server dead - nothing
 *     crashes or hangs;
 *   - as soon as descriptors are free again the client works, on the
 *     right servers, and nothing leaked.
 * The child reports with its exit status; its checks print file:line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "hostile_util.h"

static tl_daemon d[2];

/* Child-side check: print and exit 1 (cmocka's asserts would longjmp into
 * the parent's copy of the runner). */
#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            printf("CHECK FAILED %s:%d: %s [last error: %s]\n", __FILE__, __LINE__, #cond, \
                   mc ? hash_ring_mc_last_error(mc) : "");                                  \
            fflush(stdout);                                                                 \
            _exit(1);                                                                       \
        }                                                                                   \
    } while (0)

/* Takes every free descriptor below a soft limit of (highest open + 1 +
 * headroom); returns how many (their numbers in *out, malloc'd). */
static int hoard(int **out, rlim_t *old_soft)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    *old_soft = rl.rlim_cur;
    int src = open("/dev/null", O_RDONLY); /* what the hoard duplicates */
    if (src < 0)
        return -1;
    int maxfd = src;
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        int fd = atoi(e->d_name);
        /* valgrind keeps its own descriptors above the client's limit */
        if (e->d_name[0] != '.' && fd != dirfd(dir) && (rlim_t)fd < rl.rlim_cur && fd > maxfd)
            maxfd = fd;
    }
    closedir(dir);
    rl.rlim_cur = (rlim_t)maxfd + 1 + 16;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    int *fds = malloc(sizeof *fds * (size_t)rl.rlim_cur);
    int n = 0;
    if (fds == NULL)
        return -1;
    fds[n++] = src;
    for (;;) {
        int fd = dup(src);
        if (fd < 0) {
            if (errno != EMFILE)
                return -1;
            break;
        }
        fds[n++] = fd;
    }
    *out = fds;
    return n;
}

static void unhoard(int *fds, int n, rlim_t old_soft)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = old_soft;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int child(void)
{
    hash_ring_mc_t *mc = NULL;
    const unsigned retry = hu_ms(300);
    const char *srv[2] = {d[0].addr, d[1].addr};
    int fds0 = tl_count_fds();
    CHECK(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON) == HASH_RING_OK);
    for (int i = 0; i < 2; i++)
        CHECK(hash_ring_mc_add_server(mc, srv[i], strlen(srv[i]), 1) == HASH_RING_OK);
    CHECK(hash_ring_mc_set_retry_interval(mc, retry) == HASH_RING_OK);
    CHECK(hash_ring_mc_set_connect_timeout(mc, hu_ms(1000)) == HASH_RING_OK);
    CHECK(hash_ring_mc_set_io_timeout(mc, hu_ms(1000)) == HASH_RING_OK);
    CHECK(hash_ring_mc_set_failover(mc, 0) == HASH_RING_OK);
    /* k0 on d[0], k1 on d[1]. */
    char k[2][32] = {"", ""}, own[128];
    for (int i = 0; k[0][0] == '\0' || k[1][0] == '\0'; i++) {
        char key[32];
        snprintf(key, sizeof key, "fd-%d", i);
        int s = strcmp(hu_owner(mc, key, own, sizeof own), d[0].addr) == 0 ? 0 : 1;
        if (k[s][0] == '\0')
            snprintf(k[s], sizeof k[s], "%s", key);
    }
    const void *v;
    size_t vl;
    /* A connection to d[0] only. */
    CHECK(hash_ring_mc_set(mc, k[0], strlen(k[0]), "zero", 4, 0, 0) == HASH_RING_OK);
    CHECK(tl_count_fds() == fds0 + 1);

    int *hoarded = NULL;
    rlim_t old_soft = 0;
    int nh = hoard(&hoarded, &old_soft);
    CHECK(nh > 0);
    CHECK(dup(1) < 0 && errno == EMFILE); /* really out */

    /* 1. The open connection does not need a descriptor. */
    CHECK(hash_ring_mc_get(mc, k[0], strlen(k[0]), &v, &vl, NULL) == HASH_RING_OK);
    CHECK(vl == 4 && memcmp(v, "zero", 4) == 0);

    /* 2. A new connection fails cleanly and fast. */
    uint64_t t0 = tl_now_ms();
    int rc = hash_ring_mc_set(mc, k[1], strlen(k[1]), "one", 3, 0, 0);
    uint64_t took = tl_now_ms() - t0;
    printf("# out of descriptors, fail-over off, new connection: %s in %llu ms [%s]\n",
           hash_ring_mc_strerror(rc), (unsigned long long)took, hash_ring_mc_last_error(mc));
    CHECK(rc == HASH_RING_ENOMEM);
    CHECK(hu_contains(hash_ring_mc_last_error(mc), "Too many open files"));
    CHECK(took < hu_ms(200));

    /* 3. Multi-get: the shortage fails it as a whole, or the other key. */
    const void *kp[2] = {k[0], k[1]};
    size_t kl[2] = {strlen(k[0]), strlen(k[1])};
    hash_ring_mc_result_t *res = NULL;
    rc = hash_ring_mc_get_multi(mc, kp, kl, 2, &res);
    if (rc == HASH_RING_OK) {
        CHECK(hash_ring_mc_result_item(res, 0, &v, &vl, NULL, NULL) == HASH_RING_OK);
        CHECK(hash_ring_mc_result_item(res, 1, NULL, NULL, NULL, NULL) == HASH_RING_ENOMEM);
    } else {
        CHECK(rc == HASH_RING_ENOMEM);
    }
    hash_ring_mc_result_free(res);

    /* 4. Server commands try anyway: ENOMEM, EMFILE named. */
    const char *ver;
    CHECK(hash_ring_mc_version(mc, d[1].addr, strlen(d[1].addr), &ver, NULL) ==
          HASH_RING_ENOMEM);
    CHECK(hu_contains(hash_ring_mc_last_error(mc), "Too many open files"));

    /* 5. No connection at all, fail-over on: still ENOMEM, no fail-over. */
    hash_ring_mc_disconnect(mc); /* frees the one descriptor it held: take it too */
    for (int fd; (fd = dup(hoarded[0])) >= 0;)
        hoarded[nh++] = fd;
    CHECK(errno == EMFILE);
    CHECK(hash_ring_mc_set_failover(mc, 1) == HASH_RING_OK);
    CHECK(hash_ring_mc_set_retry_interval(mc, 0) == HASH_RING_OK);
    t0 = tl_now_ms();
    rc = hash_ring_mc_get(mc, k[0], strlen(k[0]), &v, &vl, NULL);
    took = tl_now_ms() - t0;
    printf("# out of descriptors, fail-over on, no connection: %s in %llu ms [%s]\n",
           hash_ring_mc_strerror(rc), (unsigned long long)took, hash_ring_mc_last_error(mc));
    CHECK(rc == HASH_RING_ENOMEM);
    CHECK(hu_contains(hash_ring_mc_last_error(mc), "Too many open files"));
    CHECK(took < hu_ms(200));
    for (int i = 0; i < 50; i++) /* repeated: no growth, no crash */
        CHECK(hash_ring_mc_set(mc, k[1], strlen(k[1]), "x", 1, 0, 0) == HASH_RING_ENOMEM);
    CHECK(hash_ring_mc_set_retry_interval(mc, retry) == HASH_RING_OK);
    CHECK(hash_ring_mc_set(mc, k[1], strlen(k[1]), "x", 1, 0, 0) == HASH_RING_ENOMEM);

    /* 6. Descriptors back: no server was marked dead, so it works at once,
     * on the right servers (no key moved). */
    uint64_t freed = tl_now_ms();
    unhoard(hoarded, nh, old_soft);
    rc = hash_ring_mc_get(mc, k[0], strlen(k[0]), &v, &vl, NULL);
    printf("# descriptors free again: at once %s [%s]\n", hash_ring_mc_strerror(rc),
           hash_ring_mc_last_error(mc));
    CHECK(rc == HASH_RING_OK);
    CHECK(hash_ring_mc_set(mc, k[1], strlen(k[1]), "one", 3, 0, 0) == HASH_RING_OK);
    CHECK(hash_ring_mc_get(mc, k[0], strlen(k[0]), &v, &vl, NULL) == HASH_RING_OK);
    CHECK(vl == 4 && memcmp(v, "zero", 4) == 0);
    char *raw = NULL;
    CHECK(tl_raw_get(d[1].addr, k[1], &raw, NULL, NULL) == 1);
    CHECK(strcmp(raw, "one") == 0);
    free(raw);
    printf("# recovered %llu ms after the descriptors were freed (retry interval %u ms)\n",
           (unsigned long long)(tl_now_ms() - freed), retry);
    CHECK(tl_count_fds() == fds0 + 2);
    hash_ring_mc_destroy(mc);
    mc = NULL;
    CHECK(tl_count_fds() == fds0);
    return 0;
}

static void test_fd_exhaustion(void **state)
{
    (void)state;
    assert_int_equal(hu_daemon_start(&d[0], 0, NULL), 0);
    assert_int_equal(hu_daemon_start(&d[1], 0, NULL), 0);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int r = child();
        fflush(stdout);
        _exit(r);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    tl_daemon_kill(&d[0]);
    tl_daemon_kill(&d[1]);
    if (WIFSIGNALED(st))
        fail_msg("child killed by signal %d", WTERMSIG(st));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_DFL);
    tl_require_memcached();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_exhaustion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
