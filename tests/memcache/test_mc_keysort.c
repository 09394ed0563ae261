/* test_mc_keysort.c - a multi-get's duplicate-key search costs the same
 * whatever the keys (src/memcache/mc_keysort.h).
 *
 * The keys are built to collide under the unkeyed 64-bit hash the client
 * used before (old_key_hash below, kept here only to build them): every one
 * of them has the same hash, so a hash table probes all earlier keys for
 * each new one.  The sort's cost is counted in key comparisons through the
 * header's test hook, and must stay within the merge sort's n * ceil(log2 n)
 * for these keys exactly as for random ones; and a whole multi-get of such
 * keys against a real memcached costs no more CPU than one of random keys
 * (a generous ratio: the old table made it about 100 times more). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

static unsigned long long cmps; /* key comparisons made by mc_keysort.h */
#define HR_MC_KEYSORT_COUNT() (cmps++)
#include "mc_keysort.h"

#include "hash_ring.h"
#include "hash_ring_memcache.h"
#include "mc_testlib.h"

#define KLEN 16
#define NKEYS 100000

/* The hash the duplicate table used (an unkeyed multiply-xor). */
static uint64_t old_key_hash(const void *p, size_t n)
{
    const unsigned char *b = p;
    const uint64_t mul = 0x9e3779b97f4a7c15ull;
    uint64_t h = (uint64_t)n * mul, w;
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            h = (h ^ b[i]) * mul;
    } else {
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&w, b + i, 8);
            h = (h ^ w) * mul;
            h ^= h >> 29;
        }
        memcpy(&w, b + n - 8, 8);
        h = (h ^ w) * mul;
    }
    h ^= h >> 32;
    h *= mul;
    return h ^ (h >> 29);
}

static int key_byte_ok(unsigned char c)
{
    return c > 0x20 && c != 0x7f; /* memcached: no space, control or DEL */
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* n distinct valid 16-byte keys with one old hash: the first 8 bytes are
 * free (distinct, printable), the last 8 cancel the state they leave, so
 * the state before the final mixing is the same constant for every key. */
static unsigned char *colliding_keys(size_t n)
{
    const uint64_t mul = 0x9e3779b97f4a7c15ull;
    const uint64_t target = 0x5a5a5a5a5a5a5a5aull;
    unsigned char *k = malloc(n * KLEN);
    assert_non_null(k);
    size_t got = 0;
    for (uint64_t c = 0; got < n; c++) {
        unsigned char *p = k + got * KLEN;
        uint64_t x = c;
        for (int i = 0; i < 8; i++, x /= 94)
            p[i] = (unsigned char)('!' + x % 94); /* distinct for distinct c */
        uint64_t w0, h = (uint64_t)KLEN * mul;
        memcpy(&w0, p, 8);
        h = (h ^ w0) * mul;
        h ^= h >> 29;
        uint64_t w1 = h ^ target;
        memcpy(p + 8, &w1, 8);
        int ok = 1;
        for (int i = 8; i < KLEN; i++)
            ok &= key_byte_ok(p[i]);
        got += (size_t)ok;
    }
    return k;
}

static unsigned char *random_keys(size_t n)
{
    unsigned char *k = malloc(n * KLEN);
    assert_non_null(k);
    for (size_t i = 0; i < n * KLEN; i++)
        k[i] = (unsigned char)('!' + next_rand() % 94);
    return k;
}

static void key_arrays(unsigned char *k, size_t n, const void ***keys, size_t **lens)
{
    *keys = malloc(n * sizeof **keys);
    *lens = malloc(n * sizeof **lens);
    assert_non_null(*keys);
    assert_non_null(*lens);
    for (size_t i = 0; i < n; i++) {
        (*keys)[i] = k + i * KLEN;
        (*lens)[i] = KLEN;
    }
}

static unsigned ceil_log2(size_t n)
{
    unsigned b = 0;
    while (((size_t)1 << b) < n)
        b++;
    return b;
}

/* Sorts and looks up every key, counting comparisons; checks the order. */
static void sort_and_find(const void *const *keys, const size_t *lens, size_t n,
                          unsigned long long *sort_cmps, unsigned long long *max_find)
{
    size_t *order = malloc(n * sizeof *order), *tmp = malloc(n * sizeof *tmp);
    assert_non_null(order);
    assert_non_null(tmp);
    cmps = 0;
    hr_mc_keysort(keys, lens, n, order, tmp);
    *sort_cmps = cmps;
    for (size_t r = 1; r < n; r++) {
        int c = memcmp(keys[order[r - 1]], keys[order[r]], KLEN);
        assert_true(c < 0 || (c == 0 && order[r - 1] < order[r]));
    }
    *max_find = 0;
    for (size_t i = 0; i < n; i += 7) {
        cmps = 0;
        size_t f = hr_mc_keysort_find(keys, lens, order, n, keys[i], lens[i]);
        assert_true(f <= i);
        assert_memory_equal(keys[f], keys[i], KLEN);
        if (cmps > *max_find)
            *max_find = cmps;
    }
    free(order);
    free(tmp);
}

static void test_colliding_keys_bounded(void **state)
{
    (void)state;
    unsigned char *ck = colliding_keys(NKEYS), *rk = random_keys(NKEYS);
    uint64_t h0 = old_key_hash(ck, KLEN);
    for (size_t i = 1; i < NKEYS; i++) /* the attack on the old table */
        assert_true(old_key_hash(ck + i * KLEN, KLEN) == h0);
    const void **keys;
    size_t *lens;
    unsigned long long bound = (unsigned long long)NKEYS * ceil_log2(NKEYS);
    unsigned long long c_sort, c_find, r_sort, r_find;
    key_arrays(ck, NKEYS, &keys, &lens);
    sort_and_find(keys, lens, NKEYS, &c_sort, &c_find);
    free(keys);
    free(lens);
    key_arrays(rk, NKEYS, &keys, &lens);
    sort_and_find(keys, lens, NKEYS, &r_sort, &r_find);
    free(keys);
    free(lens);
    printf("# %d keys sharing one old hash: %llu comparisons to sort, at most %llu to find one;"
           " random keys: %llu and %llu (bound %llu and %u)\n",
           NKEYS, c_sort, c_find, r_sort, r_find, bound, ceil_log2(NKEYS) + 1);
    assert_true(c_sort <= bound);
    assert_true(r_sort <= bound);
    assert_true(c_find <= ceil_log2(NKEYS) + 1);
    assert_true(r_find <= ceil_log2(NKEYS) + 1);
    free(ck);
    free(rk);
}

/* Duplicates among colliding keys: each key's first occurrence is found,
 * and an absent key is not. */
static void test_duplicates_found(void **state)
{
    (void)state;
    enum { N = 3000 };
    unsigned char *ck = colliding_keys(N / 2 + 1);
    const void *keys[N];
    size_t lens[N], order[N], tmp[N];
    for (size_t i = 0; i < N; i++) {
        keys[i] = ck + (next_rand() % (N / 2)) * KLEN; /* each about twice */
        lens[i] = i % 5 == 0 ? KLEN - 1 : KLEN;      /* and some prefixes */
    }
    hr_mc_keysort(keys, lens, N, order, tmp);
    for (size_t i = 0; i < N; i++) {
        size_t want = i;
        for (size_t j = 0; j < i; j++)
            if (lens[j] == lens[i] && memcmp(keys[j], keys[i], lens[i]) == 0) {
                want = j;
                break;
            }
        assert_int_equal(hr_mc_keysort_find(keys, lens, order, N, keys[i], lens[i]), want);
    }
    const unsigned char *absent = ck + (N / 2) * KLEN; /* never chosen */
    assert_int_equal(hr_mc_keysort_find(keys, lens, order, N, absent, KLEN), SIZE_MAX);
    assert_int_equal(hr_mc_keysort_find(keys, lens, order, N, absent, 3), SIZE_MAX);
    assert_int_equal(hr_mc_keysort_find(keys, lens, order, 0, absent, KLEN), SIZE_MAX);
    free(ck);
}

static uint64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The whole client: a multi-get of keys colliding under the old hash, with
 * some of them stored, returns the right items, and its CPU time is within
 * a generous factor of the same multi-get of random keys. */
static void test_multiget_colliding_keys(void **state)
{
    (void)state;
    enum { N = 30000, STORED = 50 };
    tl_daemon d;
    assert_int_equal(tl_daemon_start(&d, 0, NULL), 0);
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_add_server(mc, d.addr, strlen(d.addr), 1), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, 60000), HASH_RING_OK);
    unsigned char *sets[2] = {colliding_keys(N), random_keys(N)};
    uint64_t best[2] = {UINT64_MAX, UINT64_MAX};
    for (int s = 0; s < 2; s++) {
        const void **keys;
        size_t *lens;
        key_arrays(sets[s], N, &keys, &lens);
        for (size_t i = 0; i < STORED; i++)
            assert_int_equal(hash_ring_mc_set(mc, keys[i * 97], KLEN, &i, sizeof i, 0, 0),
                             HASH_RING_OK);
        for (int rep = 0; rep < 3; rep++) {
            hash_ring_mc_result_t *res = NULL;
            uint64_t t0 = cpu_us();
            assert_int_equal(hash_ring_mc_get_multi(mc, keys, lens, N, &res), HASH_RING_OK);
            uint64_t t = cpu_us() - t0;
            if (t < best[s])
                best[s] = t;
            for (size_t i = 0; i < N; i++) {
                const void *v = NULL;
                size_t vl = 0;
                int rc = hash_ring_mc_result_item(res, i, &v, &vl, NULL, NULL);
                if (i % 97 == 0 && i / 97 < STORED) {
                    size_t want = i / 97;
                    assert_int_equal(rc, HASH_RING_OK);
                    assert_int_equal(vl, sizeof want);
                    assert_memory_equal(v, &want, sizeof want);
                } else {
                    assert_int_equal(rc, HASH_RING_EMISS);
                }
            }
            hash_ring_mc_result_free(res);
        }
        free(keys);
        free(lens);
        free(sets[s]);
    }
    printf("# multi-get of %d keys, CPU time: %llu us for keys sharing one old hash, %llu us"
           " for random keys\n",
           N, (unsigned long long)best[0], (unsigned long long)best[1]);
    /* 1 ms of room: a clock tick on a short call */
    assert_true(best[0] <= 10 * best[1] + 1000);
    hash_ring_mc_destroy(mc);
    tl_daemon_kill(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colliding_keys_bounded),
        cmocka_unit_test(test_duplicates_found),
        cmocka_unit_test(test_multiget_colliding_keys),
    };
    tl_require_memcached();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
