/* test_concurrency.c - readers looking keys up and holding snapshots while a
 * writer adds, removes and reweights nodes.  Every answer must come from a
 * membership that was published while the lookup ran; snapshots must stay
 * immutable.  Run under TSan in CI (ctest label "concurrency"). */
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "testutil.h"

#define NAMES 32
#define MAX_VERSIONS (1u << 17)
#define READERS 3

typedef struct version {
    uint32_t members;         /* bit i: name i is a member */
    uint8_t weights[NAMES];   /* weight of each member */
} version;

static char names[NAMES][16];
static hash_ring_t *ring;
static version *versions;
static atomic_uint nversions; /* versions[0..n) are logged */
static atomic_int stop;
static atomic_ulong lookups, snapshots;
static double seconds = 7.0; /* in all, over the 14 dialects */
static int zero_owns; /* the dialect counts weight 0 as 1 */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int name_index(const char *p)
{
    for (int i = 0; i < NAMES; i++)
        if (p == names[i] || strcmp(p, names[i]) == 0)
            return i;
    return -1;
}

/* Does some version in [lo, hi] have node i as a member with weight > 0? */
static int owned_in(int i, unsigned lo, unsigned hi)
{
    for (unsigned v = lo; v <= hi; v++)
        if ((versions[v].members >> i & 1u) && (versions[v].weights[i] > 0 || zero_owns))
            return 1;
    return 0;
}

static void *writer(void *arg)
{
    (void)arg;
    uint64_t seed = 7;
    version cur = versions[0];
    while (!atomic_load(&stop) && atomic_load(&nversions) < MAX_VERSIONS) {
        int i = 1 + (int)(tu_rand(&seed) % (NAMES - 1)); /* name 0 is the anchor */
        version next = cur;
        unsigned op = (unsigned)(tu_rand(&seed) % 3);
        if (!(cur.members >> i & 1u)) {
            next.members |= 1u << i;
            next.weights[i] = (uint8_t)(tu_rand(&seed) % 4); /* 0..3 */
        } else if (op == 0) {
            next.members &= ~(1u << i);
            next.weights[i] = 0;
        } else {
            next.weights[i] = (uint8_t)(1 + tu_rand(&seed) % 3);
            if (next.weights[i] == cur.weights[i])
                continue;
        }
        /* log first: the ring publishes it during the call below */
        unsigned v = atomic_load(&nversions);
        versions[v] = next;
        atomic_store(&nversions, v + 1);
        int rc;
        if (next.members != cur.members && (next.members >> i & 1u))
            rc = hash_ring_add_node(ring, names[i], strlen(names[i]), next.weights[i]);
        else if (next.members != cur.members)
            rc = hash_ring_remove_node(ring, names[i], strlen(names[i]));
        else
            rc = hash_ring_set_weight(ring, names[i], strlen(names[i]), next.weights[i]);
        if (rc != HASH_RING_OK)
            abort();
        cur = next;
    }
    return NULL;
}

static void *reader(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg * 7919 + 1;
    unsigned long n = 0, nsnap = 0, bad = 0;
    char key[32];
    while (!atomic_load(&stop)) {
        /* plain lookups */
        for (int k = 0; k < 64; k++) {
            int len = snprintf(key, sizeof key, "key-%llu", (unsigned long long)tu_rand(&seed));
            unsigned lo = atomic_load(&nversions);
            const char *node;
            const char *reps[4];
            size_t count;
            int rc = hash_ring_get_node(ring, key, (size_t)len, &node, NULL);
            int rc2 = hash_ring_get_nodes(ring, key, (size_t)len, reps, NULL, 4, &count);
            unsigned hi = atomic_load(&nversions);
            lo = lo >= 2 ? lo - 2 : 0;
            if (rc != HASH_RING_OK || rc2 != HASH_RING_OK || count == 0) {
                bad++;
                continue;
            }
            int i = name_index(node);
            if (i < 0 || !owned_in(i, lo, hi - 1))
                bad++;
            for (size_t c = 0; c < count; c++) {
                int j = name_index(reps[c]);
                if (j < 0 || !owned_in(j, lo, hi - 1))
                    bad++;
            }
            n++;
        }
        atomic_fetch_add(&lookups, 64);
        /* a snapshot: one membership, immutable */
        unsigned lo = atomic_load(&nversions);
        hash_ring_snapshot_t *s;
        if (hash_ring_snapshot_acquire(ring, &s) != HASH_RING_OK) {
            bad++;
            continue;
        }
        unsigned hi = atomic_load(&nversions);
        lo = lo >= 2 ? lo - 2 : 0;
        uint32_t members = 0;
        uint8_t w[NAMES] = {0};
        for (size_t k = 0; k < hash_ring_snapshot_node_count(s); k++) {
            const char *nm;
            uint32_t weight;
            hash_ring_snapshot_node(s, k, &nm, NULL, &weight, NULL, NULL);
            int i = name_index(nm);
            if (i < 0) {
                bad++;
                continue;
            }
            members |= 1u << i;
            w[i] = (uint8_t)weight;
        }
        int match = 0;
        for (unsigned v = lo; v < hi && !match; v++)
            match = versions[v].members == members && memcmp(versions[v].weights, w, NAMES) == 0;
        if (!match)
            bad++;
        const char *first[16];
        for (int k = 0; k < 16; k++) {
            int len = snprintf(key, sizeof key, "snap-%d", k);
            if (hash_ring_snapshot_get_node(s, key, (size_t)len, &first[k], NULL) != 0)
                bad++;
            else if (!(members >> name_index(first[k]) & 1u) ||
                     (w[name_index(first[k])] == 0 && !zero_owns))
                bad++;
        }
        sched_yield();
        for (int k = 0; k < 16; k++) {
            const char *again;
            int len = snprintf(key, sizeof key, "snap-%d", k);
            if (hash_ring_snapshot_get_node(s, key, (size_t)len, &again, NULL) != 0 ||
                again != first[k])
                bad++;
        }
        /* release some snapshots late, from another iteration */
        hash_ring_snapshot_release(s);
        nsnap++;
    }
    (void)n;
    atomic_fetch_add(&snapshots, nsnap);
    return (void *)(uintptr_t)bad;
}

static void test_readers_and_writer(void **state)
{
    (void)state;
    versions = calloc(MAX_VERSIONS, sizeof *versions);
    assert_non_null(versions);
    for (int i = 0; i < NAMES; i++)
        snprintf(names[i], sizeof names[i], "node-%d", i);
    for (int d = 0; d < 14; d++) {
        assert_int_equal(hash_ring_create(&ring, (hash_ring_dialect_t)d), HASH_RING_OK);
        zero_owns = d == HASH_RING_DIALECT_LIBMEMCACHED || d == HASH_RING_DIALECT_HASHRING ||
                    d == HASH_RING_DIALECT_HASHRING_PYTHON ||
                    d == HASH_RING_DIALECT_NODE_MEMCACHED || d == HASH_RING_DIALECT_SPYMEMCACHED;
        assert_int_equal(hash_ring_add_node(ring, names[0], strlen(names[0]), 1), 0);
        memset(versions, 0, sizeof *versions);
        versions[0].members = 1;
        versions[0].weights[0] = 1;
        atomic_store(&nversions, 1);
        atomic_store(&stop, 0);
        atomic_store(&lookups, 0);
        atomic_store(&snapshots, 0);
        pthread_t w, r[READERS];
        assert_int_equal(pthread_create(&w, NULL, writer, NULL), 0);
        for (uintptr_t i = 0; i < READERS; i++)
            assert_int_equal(pthread_create(&r[i], NULL, reader, (void *)i), 0);
        /* run for the time given, and at least until the writer published
         * 50 versions and the readers made 2,000 lookups (a loaded machine
         * or a sanitizer slows them down), but never more than a minute */
        double start = now(), end = start + seconds / 14.0;
        while (now() < start + 60.0 &&
               (now() < end || atomic_load(&nversions) < 50 || atomic_load(&lookups) < 2000))
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        atomic_store(&stop, 1);
        assert_int_equal(pthread_join(w, NULL), 0);
        uintptr_t bad = 0;
        for (int i = 0; i < READERS; i++) {
            void *ret;
            assert_int_equal(pthread_join(r[i], &ret), 0);
            bad += (uintptr_t)ret;
        }
        print_message("%s: %u versions published, %lu lookups, %lu snapshots, %lu bad\n",
                      hash_ring_dialect_name((hash_ring_dialect_t)d), atomic_load(&nversions),
                      atomic_load(&lookups), atomic_load(&snapshots), (unsigned long)bad);
        assert_int_equal(bad, 0);
        assert_true(atomic_load(&nversions) >= 50);
        assert_true(atomic_load(&lookups) >= 2000);
        hash_ring_destroy(ring);
    }
    free(versions);
}

/* Snapshots released by another thread after the ring is gone. */
static hash_ring_snapshot_t *handoff[64];

static void *releaser(void *arg)
{
    (void)arg;
    for (int i = 0; i < 64; i++) {
        const char *n;
        if (hash_ring_snapshot_get_node(handoff[i], "k", 1, &n, NULL) != 0)
            return (void *)1;
        hash_ring_snapshot_release(handoff[i]);
    }
    return NULL;
}

static void test_release_elsewhere(void **state)
{
    (void)state;
    hash_ring_t *r;
    assert_int_equal(hash_ring_create(&r, HASH_RING_DIALECT_PYTHON), 0);
    for (int i = 0; i < 64; i++) {
        char n[16];
        snprintf(n, sizeof n, "n%d", i);
        assert_int_equal(hash_ring_add_node(r, n, strlen(n), 1), 0);
        assert_int_equal(hash_ring_snapshot_acquire(r, &handoff[i]), 0);
    }
    hash_ring_destroy(r);
    pthread_t t;
    void *ret;
    assert_int_equal(pthread_create(&t, NULL, releaser, NULL), 0);
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_null(ret);
}

/* Short-lived threads: 300 of them, a few at a time, each looking keys
 * up while a writer keeps changing the ring; every lookup answers and the
 * writer never stalls on a reader slot (src/epoch.c) a dead thread left
 * busy. */
typedef struct churn {
    hash_ring_t *ring;
    atomic_int stop;
} churn;

static void *churn_reader(void *arg)
{
    churn *c = arg;
    for (int i = 0; i < 200; i++) {
        const char *n;
        char k[16];
        snprintf(k, sizeof k, "key%d", i);
        if (hash_ring_get_node(c->ring, k, strlen(k), &n, NULL) != 0)
            return (void *)1;
    }
    return NULL;
}

static void *churn_writer(void *arg)
{
    churn *c = arg;
    for (unsigned i = 0; !atomic_load(&c->stop); i++) {
        char n[16];
        snprintf(n, sizeof n, "w%u", i % 8);
        if (i % 16 < 8)
            hash_ring_add_node(c->ring, n, strlen(n), 1);
        else
            hash_ring_remove_node(c->ring, n, strlen(n));
    }
    return NULL;
}

/* A one-node ring and a thread running fn on it until churn_stop. */
static pthread_t churn_start(churn *c, void *(*fn)(void *))
{
    assert_int_equal(hash_ring_create(&c->ring, HASH_RING_DIALECT_PYTHON), 0);
    assert_int_equal(hash_ring_add_node(c->ring, "base", 4, 1), 0);
    atomic_init(&c->stop, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fn, c), 0);
    return t;
}

static void churn_stop(churn *c, pthread_t t)
{
    void *ret;
    atomic_store(&c->stop, 1);
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_null(ret);
    hash_ring_destroy(c->ring);
}

static void test_thread_churn(void **state)
{
    (void)state;
    churn c;
    pthread_t w = churn_start(&c, churn_writer);
    /* under valgrind (threads run one at a time) a few rounds show the same */
    int rounds = getenv("HASH_RING_UNDER_VALGRIND") ? 4 : 75;
    for (int round = 0; round < rounds; round++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&t[i], NULL, churn_reader, &c), 0);
        for (int i = 0; i < 4; i++) {
            void *ret;
            assert_int_equal(pthread_join(t[i], &ret), 0);
            assert_null(ret);
        }
    }
    churn_stop(&c, w);
}

/* fork() while another thread is inside lookups: in the child only the
 * forking thread exists, so a writer there must not wait for the reader
 * that was caught mid-lookup (the fork handlers in src/ring.c).  The child
 * changes the ring and exits; alarm() turns a hang into a failure. */
static void *fork_reader(void *arg)
{
    churn *c = arg;
    while (!atomic_load(&c->stop)) {
        const char *n;
        if (hash_ring_get_node(c->ring, "k", 1, &n, NULL) != 0)
            return (void *)1;
    }
    return NULL;
}

/* forks times: the child changes the ring and exits; a hang (the child's
 * writer waiting for a reader that only existed in the parent) turns into
 * SIGALRM, a failure. */
static void fork_and_change(churn *c, int forks)
{
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            alarm(20);
            int ok = hash_ring_add_node(c->ring, "child", 5, 1) == 0 &&
                     hash_ring_remove_node(c->ring, "base", 4) == 0;
            _exit(ok ? 0 : 3);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

static void test_fork_mid_lookup(void **state)
{
    (void)state;
    churn c;
    pthread_t t = churn_start(&c, fork_reader);
    fork_and_change(&c, getenv("HASH_RING_UNDER_VALGRIND") ? 3 : 20);
    churn_stop(&c, t);
}

/* The same with the reader in a thread-specific-data destructor of an
 * exiting thread (where a library that kept per-thread state would have
 * given it back already).  A child must not wait for the lookup the
 * reader was making in its parent. */
static pthread_key_t fb_key;
static churn *fb_churn;
static atomic_int fb_bad, fb_in_destructor;

static void fb_destructor(void *p)
{
    (void)p;
    const char *n;
    atomic_store(&fb_in_destructor, 1);
    while (!atomic_load(&fb_churn->stop))
        if (hash_ring_get_node(fb_churn->ring, "k", 1, &n, NULL) != 0)
            atomic_store(&fb_bad, 1);
}

static void *fb_reader(void *arg)
{
    churn *c = arg;
    const char *n;
    /* a lookup before the destructor, as a thread of an application would */
    if (hash_ring_get_node(c->ring, "k", 1, &n, NULL) != 0)
        return (void *)1;
    (void)pthread_setspecific(fb_key, c);
    return NULL;
}

static void test_fork_mid_fallback_lookup(void **state)
{
    (void)state;
    churn c;
    fb_churn = &c;
    assert_int_equal(pthread_key_create(&fb_key, fb_destructor), 0);
    pthread_t t = churn_start(&c, fb_reader);
    while (!atomic_load(&fb_in_destructor)) /* then it looks up in the destructor */
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    fork_and_change(&c, getenv("HASH_RING_UNDER_VALGRIND") ? 3 : 40);
    /* the parent's own writers still wait for it: a change works */
    assert_int_equal(hash_ring_add_node(c.ring, "parent", 6, 1), 0);
    churn_stop(&c, t);
    assert_int_equal(atomic_load(&fb_bad), 0);
    assert_int_equal(pthread_key_delete(fb_key), 0);
}

/* fork() under a write storm: writer threads add, remove, reweight and
 * batch-add nodes without pause, a reader looks keys up, and the main
 * thread forks.  In each child (only the forking thread exists there) the
 * ring must be whole: its membership is one the writers published, and
 * the ring places keys as a ring freshly built from that membership; the
 * child can change it (add, add again, reweight, remove each writer node
 * it holds) with the right status codes, and its lookups follow.  A child
 * whose first change waits for a writer lock held by a parent thread
 * hangs: the parent kills it after a generous deadline and fails. */
#define STORM_WRITERS 2
#define STORM_NAMES 6

typedef struct storm {
    hash_ring_t *ring;
    atomic_int stop;
    atomic_ulong changes;
} storm;

typedef struct storm_arg {
    storm *st;
    int id;
} storm_arg;

static void storm_name(char *buf, size_t size, int writer, int i)
{
    snprintf(buf, size, "w%d-%d", writer, i);
}

static void *storm_writer(void *arg)
{
    storm_arg *a = arg;
    uint64_t seed = 99 + (uint64_t)a->id;
    int member[STORM_NAMES] = {0};
    while (!atomic_load(&a->st->stop)) {
        int i = (int)(tu_rand(&seed) % STORM_NAMES);
        char n[16];
        storm_name(n, sizeof n, a->id, i);
        int rc;
        if (!member[i] && i + 2 < STORM_NAMES && !member[i + 1] && !member[i + 2]) {
            /* three names in one change */
            char n1[16], n2[16];
            storm_name(n1, sizeof n1, a->id, i + 1);
            storm_name(n2, sizeof n2, a->id, i + 2);
            const void *names3[3] = {n, n1, n2};
            size_t lens[3] = {strlen(n), strlen(n1), strlen(n2)};
            uint32_t w[3] = {1, 2, 3};
            rc = hash_ring_add_nodes(a->st->ring, names3, lens, w, 3);
            member[i] = member[i + 1] = member[i + 2] = 1;
        } else if (!member[i]) {
            rc = hash_ring_add_node(a->st->ring, n, strlen(n), 1 + (uint32_t)(seed % 3));
            member[i] = 1;
        } else if (tu_rand(&seed) % 2) {
            rc = hash_ring_set_weight(a->st->ring, n, strlen(n), 1 + (uint32_t)(seed % 4));
        } else {
            rc = hash_ring_remove_node(a->st->ring, n, strlen(n));
            member[i] = 0;
        }
        if (rc != HASH_RING_OK)
            return (void *)1;
        atomic_fetch_add(&a->st->changes, 1);
    }
    return NULL;
}

static void *storm_reader(void *arg)
{
    storm *st = arg;
    for (unsigned i = 0; !atomic_load(&st->stop); i++) {
        const char *n;
        char k[16];
        snprintf(k, sizeof k, "r%u", i % 1000);
        if (hash_ring_get_node(st->ring, k, strlen(k), &n, NULL) != 0)
            return (void *)1;
    }
    return NULL;
}

/* 0 when ring places 300 keys as a ring built afresh from the membership
 * of a snapshot of it (same names, order and weights) does. */
static int storm_whole(hash_ring_t *r)
{
    hash_ring_snapshot_t *s;
    hash_ring_t *fresh;
    if (hash_ring_snapshot_acquire(r, &s) != 0)
        return 10;
    if (hash_ring_create(&fresh, HASH_RING_DIALECT_PYTHON) != 0)
        return 11;
    int bad = 0;
    for (size_t k = 0; k < hash_ring_snapshot_node_count(s) && !bad; k++) {
        const char *nm;
        size_t len;
        uint32_t w;
        bad = hash_ring_snapshot_node(s, k, &nm, &len, &w, NULL, NULL) != 0 ||
              hash_ring_add_node(fresh, nm, len, w) != 0;
    }
    for (int k = 0; k < 300 && !bad; k++) {
        char key[16];
        const char *a, *b, *c;
        int len = snprintf(key, sizeof key, "c%d", k);
        bad = hash_ring_get_node(r, key, (size_t)len, &a, NULL) != 0 ||
              hash_ring_snapshot_get_node(s, key, (size_t)len, &b, NULL) != 0 ||
              hash_ring_get_node(fresh, key, (size_t)len, &c, NULL) != 0 || a != b ||
              strcmp(a, c) != 0;
    }
    hash_ring_destroy(fresh);
    hash_ring_snapshot_release(s);
    return bad ? 12 : 0;
}

/* The child's part: exit status 0 when the ring is whole and changes. */
static int storm_child(hash_ring_t *r)
{
    int rc = storm_whole(r);
    if (rc != 0)
        return rc;
    if (hash_ring_add_node(r, "child", 5, 1) != 0)
        return 20;
    if (hash_ring_add_node(r, "child", 5, 1) != HASH_RING_EEXIST)
        return 21;
    if (hash_ring_set_weight(r, "child", 5, 3) != 0)
        return 22;
    /* every writer node: removed if the published membership has it */
    hash_ring_snapshot_t *s;
    if (hash_ring_snapshot_acquire(r, &s) != 0)
        return 23;
    for (int w = 0; w < STORM_WRITERS; w++)
        for (int i = 0; i < STORM_NAMES; i++) {
            char n[16];
            storm_name(n, sizeof n, w, i);
            int member = 0;
            for (size_t k = 0; k < hash_ring_snapshot_node_count(s); k++) {
                const char *nm;
                hash_ring_snapshot_node(s, k, &nm, NULL, NULL, NULL, NULL);
                member |= strcmp(nm, n) == 0;
            }
            if (hash_ring_remove_node(r, n, strlen(n)) !=
                (member ? HASH_RING_OK : HASH_RING_ENOTFOUND))
                return 24;
        }
    hash_ring_snapshot_release(s);
    rc = storm_whole(r);
    if (rc != 0)
        return 30 + rc;
    const char *n;
    if (hash_ring_get_node(r, "k", 1, &n, NULL) != 0 ||
        (strcmp(n, "child") != 0 && strcmp(n, "base") != 0))
        return 40;
    return hash_ring_remove_node(r, "child", 5) == 0 ? 0 : 41;
}

/* Waits for pid up to `limit` seconds; on expiry kills it.  The exit status, or
 * -1 after a kill. */
static int wait_or_kill(pid_t pid, double limit)
{
    double deadline = now() + limit;
    int status;
    pid_t got;
    while ((got = waitpid(pid, &status, WNOHANG)) == 0 && now() < deadline)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    assert_int_equal(got, pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_fork_mid_change(void **state)
{
    (void)state;
    storm st;
    assert_int_equal(hash_ring_create(&st.ring, HASH_RING_DIALECT_PYTHON), 0);
    assert_int_equal(hash_ring_add_node(st.ring, "base", 4, 1), 0);
    atomic_init(&st.stop, 0);
    atomic_init(&st.changes, 0);
    pthread_t w[STORM_WRITERS], rd;
    storm_arg args[STORM_WRITERS];
    for (int i = 0; i < STORM_WRITERS; i++) {
        args[i] = (storm_arg){&st, i};
        assert_int_equal(pthread_create(&w[i], NULL, storm_writer, &args[i]), 0);
    }
    assert_int_equal(pthread_create(&rd, NULL, storm_reader, &st), 0);
    int forks = getenv("HASH_RING_UNDER_VALGRIND") ? 10 : 200, failed = 0;
    for (int i = 0; i < forks && !failed; i++) {
        /* some changes between forks, so that each fork meets the storm */
        unsigned long seen = atomic_load(&st.changes);
        while (atomic_load(&st.changes) < seen + 2)
            sched_yield();
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(storm_child(st.ring));
        int rc = wait_or_kill(pid, 60.0);
        if (rc != 0) {
            print_error("fork %d: child %s %d\n", i, rc < 0 ? "hung, killed" : "exited", rc);
            failed = 1;
        }
    }
    atomic_store(&st.stop, 1);
    for (int i = 0; i < STORM_WRITERS; i++) {
        void *ret;
        assert_int_equal(pthread_join(w[i], &ret), 0);
        assert_null(ret);
    }
    void *ret;
    assert_int_equal(pthread_join(rd, &ret), 0);
    assert_null(ret);
    assert_int_equal(failed, 0);
    /* and the parent's ring is whole too */
    assert_int_equal(storm_whole(st.ring), 0);
    hash_ring_destroy(st.ring);
}

/* A lookup in a signal handler that interrupted a lookup of the same
 * thread (src/epoch.c: the inner one must take another slot and leave the
 * outer one's alone).  The reader walks 100 replicas per call, so most signals
 * land inside its read section, while a writer keeps replacing and
 * reclaiming continuums; ASan (CI runs this suite under it) reports the
 * outer lookup reading a reclaimed continuum if the inner one released it. */
static hash_ring_t *sig_ring;
static atomic_int sig_bad, sig_handled, sig_ready;

static void sig_lookup(int sig)
{
    (void)sig;
    const char *n;
    if (hash_ring_get_node(sig_ring, "sig", 3, &n, NULL) != 0 || n[0] != 'n')
        atomic_store(&sig_bad, 1);
    atomic_fetch_add(&sig_handled, 1);
}

static void *sig_reader(void *arg)
{
    churn *c = arg;
    const char *names[100];
    while (!atomic_load(&c->stop)) {
        size_t count;
        if (hash_ring_get_nodes(c->ring, "k", 1, names, NULL, 100, &count) != 0 || count == 0)
            return (void *)1;
        for (size_t i = 0; i < count; i++)
            if (names[i][0] != 'n' && strcmp(names[i], "base") != 0)
                return (void *)2;
        atomic_store(&sig_ready, 1);
    }
    return NULL;
}

static void test_lookup_in_signal_handler(void **state)
{
    (void)state;
    churn c;
    assert_int_equal(hash_ring_create(&c.ring, HASH_RING_DIALECT_PYTHON), 0);
    for (int i = 0; i < 150; i++) {
        char n[16];
        snprintf(n, sizeof n, "n%d", i);
        assert_int_equal(hash_ring_add_node(c.ring, n, strlen(n), 1), 0);
    }
    sig_ring = c.ring;
    atomic_init(&c.stop, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sig_lookup;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, sig_reader, &c), 0);
    /* signals once the reader is looking keys up */
    struct timespec pause = {0, 100000};
    while (!atomic_load(&sig_ready))
        nanosleep(&pause, NULL);
    int sends = getenv("HASH_RING_UNDER_VALGRIND") ? 200 : 3000;
    for (int i = 0; i < sends; i++) {
        char w[16];
        snprintf(w, sizeof w, "n%d", 150 + i % 4);
        if (i % 8 < 4)
            hash_ring_add_node(c.ring, w, strlen(w), 1);
        else
            hash_ring_remove_node(c.ring, w, strlen(w));
        assert_int_equal(pthread_kill(reader, SIGUSR1), 0);
    }
    atomic_store(&c.stop, 1);
    void *ret;
    assert_int_equal(pthread_join(reader, &ret), 0);
    assert_null(ret);
    assert_int_equal(atomic_load(&sig_bad), 0);
    assert_true(atomic_load(&sig_handled) > 0);
    signal(SIGUSR1, SIG_DFL);
    hash_ring_destroy(c.ring);
}

/* Lookups from a thread-specific-data destructor, late in the thread's
 * exit, while a writer keeps replacing continuums, over several destructor
 * rounds (the key re-arms itself): the library keeps nothing per thread
 * that its exit could have taken away. */
static pthread_key_t late_key;
static churn *late_churn;
static atomic_int late_bad, late_done;

static void late_destructor(void *arg)
{
    intptr_t rounds = (intptr_t)arg;
    for (int i = 0; i < 200; i++) {
        const char *n;
        char k[16];
        snprintf(k, sizeof k, "late%d", i);
        if (hash_ring_get_node(late_churn->ring, k, strlen(k), &n, NULL) != 0)
            atomic_store(&late_bad, 1);
    }
    atomic_fetch_add(&late_done, 1);
    if (rounds > 1)
        pthread_setspecific(late_key, (void *)(rounds - 1));
}

static void *late_thread(void *arg)
{
    (void)arg;
    const char *n;
    if (hash_ring_get_node(late_churn->ring, "first", 5, &n, NULL) != 0)
        return (void *)1;
    pthread_setspecific(late_key, (void *)(intptr_t)3);
    return NULL;
}

static void test_lookup_in_late_destructor(void **state)
{
    (void)state;
    assert_int_equal(pthread_key_create(&late_key, late_destructor), 0);
    churn c;
    pthread_t w = churn_start(&c, churn_writer);
    late_churn = &c;
    int threads = getenv("HASH_RING_UNDER_VALGRIND") ? 4 : 40;
    for (int i = 0; i < threads; i++) {
        pthread_t t;
        void *ret;
        assert_int_equal(pthread_create(&t, NULL, late_thread, NULL), 0);
        assert_int_equal(pthread_join(t, &ret), 0);
        assert_null(ret);
    }
    churn_stop(&c, w);
    assert_int_equal(atomic_load(&late_bad), 0);
    assert_true(atomic_load(&late_done) >= threads);
    pthread_key_delete(late_key);
}

int main(void)
{
    const char *s = getenv("HASH_RING_STRESS_SECONDS");
    if (s != NULL)
        seconds = atof(s);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_and_writer),
        cmocka_unit_test(test_release_elsewhere),
        cmocka_unit_test(test_thread_churn),
        cmocka_unit_test(test_fork_mid_lookup),
        cmocka_unit_test(test_fork_mid_fallback_lookup),
        cmocka_unit_test(test_fork_mid_change),
        cmocka_unit_test(test_lookup_in_signal_handler),
        cmocka_unit_test(test_lookup_in_late_destructor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
