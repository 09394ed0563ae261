/* test_mc_interop.c - values stored by this client (python dialect) are read
 * by Debian's python3-memcache from the server tests/vectors/seed3 names, and
 * values python3-memcache stores there are read by this client.
 * Skips (77) when no python3 with the memcache module is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "mc_testlib.h"
#include "testutil.h"

#ifndef HR_MC_SRC_DIR
#error "HR_MC_SRC_DIR must be defined"
#endif

#define NSRV 3
#define COUNT 300
static tl_daemon d[NSRV];
static const char *const *const names = tl_seed3_names; /* the seed's servers */
static const char *python;
#define GET_TSV HR_VECTORS_DIR "/seed3/python.get.tsv"

/* The first python3 that can import memcache: Debian's, then PATH's. */
static const char *find_python(void)
{
    static const char *const cands[] = {"/usr/bin/python3", "python3"};
    for (size_t i = 0; i < 2; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s -c 'import memcache' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0)
            return cands[i];
    }
    return NULL;
}

static int run_python(const char *mode, int first)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof cmd, "%s %s/mc_interop.py %s %s %d %d", python, HR_MC_SRC_DIR,
                     mode, GET_TSV, first, COUNT);
    for (int i = 0; i < NSRV; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s=%s", names[i], d[i].addr);
    fflush(stdout);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

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

static void test_both_directions(void **state)
{
    (void)state;
    tl_vec v;
    assert_int_equal(tl_vec_load(&v, GET_TSV, NULL), 0);
    assert_true(v.n >= 2 * COUNT);
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    for (int i = 0; i < NSRV; i++) {
        assert_int_equal(hash_ring_mc_set_address(mc, names[i], strlen(names[i]), d[i].addr,
                                                  strlen(d[i].addr)),
                         HASH_RING_OK);
        assert_int_equal(hash_ring_mc_add_server(mc, names[i], strlen(names[i]), 1),
                         HASH_RING_OK);
    }
    /* C -> python: keys 0..299 */
    char val[64];
    for (size_t i = 0; i < COUNT; i++) {
        snprintf(val, sizeof val, "c-%s", v.key[i]);
        assert_int_equal(hash_ring_mc_set(mc, v.key[i], strlen(v.key[i]), val, strlen(val), 0, 0),
                         HASH_RING_OK);
    }
    assert_int_equal(run_python("read", 0), 0);
    /* python -> C: keys 300..599 */
    assert_int_equal(run_python("write", COUNT), 0);
    for (size_t i = COUNT; i < 2 * COUNT; i++) {
        const void *got;
        size_t gl;
        uint32_t flags;
        int rc = hash_ring_mc_get(mc, v.key[i], strlen(v.key[i]), &got, &gl, &flags);
        if (rc != HASH_RING_OK)
            fail_msg("%s: %s (%s)", v.key[i], hash_ring_mc_strerror(rc),
                     hash_ring_mc_last_error(mc));
        snprintf(val, sizeof val, "p-%s", v.key[i]);
        assert_string_equal(got, val);
        assert_int_equal(flags, 16); /* python-memcache's text flag */
    }
    printf("# %d keys C -> python3-memcache, %d keys python3-memcache -> C\n", COUNT, COUNT);
    hash_ring_mc_destroy(mc);
    tl_vec_free(&v);
}

int main(void)
{
    tl_require_memcached();
    python = find_python();
    if (python == NULL) {
        printf("SKIP: no python3 with the memcache module (Debian package python3-memcache)\n");
        return TL_SKIP;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_both_directions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
