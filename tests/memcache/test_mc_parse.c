/* test_mc_parse.c - the reply parser (src/memcache/mc_parse.c) on its own:
 * every reply kind, every malformed form, fed whole and byte by byte, and a
 * deterministic stream of random and mutated inputs (no crash, never a
 * consumed count beyond the input; ASan/valgrind catch any over-read since
 * each input is copied into a buffer of exactly its length). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hash_ring_memcache.h"
#include "mc_parse.h"
#include "testutil.h"

/* Parses s (exact-size heap copy); returns the parser's result. */
static int parse(const char *s, size_t n, size_t max_value, hr_mc_reply *r, size_t *used)
{
    unsigned char *b = n ? malloc(n) : NULL;
    if (n)
        memcpy(b, s, n);
    int rc = hr_mc_parse_reply(b, n, max_value, r, used);
    /* pointers into b are checked by the caller before this copy is freed:
     * keep the copy alive by leaking nothing: copy out what is needed */
    static unsigned char keep[1 << 16];
    if (rc == 1) {
        size_t off_key = r->key ? (size_t)(r->key - b) : 0;
        size_t off_data = r->data ? (size_t)(r->data - b) : 0;
        assert_true(*used <= n);
        assert_true(n <= sizeof keep);
        memcpy(keep, b, n);
        if (r->key)
            r->key = keep + off_key;
        if (r->data)
            r->data = keep + off_data;
    }
    free(b);
    return rc;
}

#define P(lit, r, u) parse(lit, sizeof(lit) - 1, 1000, r, u)

static void test_kinds(void **state)
{
    (void)state;
    hr_mc_reply r;
    size_t u;
    static const struct {
        const char *s;
        hr_mc_kind k;
    } simple[] = {{"END\r\n", HR_MC_END},         {"STORED\r\n", HR_MC_STORED},
                  {"NOT_STORED\r\n", HR_MC_NOT_STORED}, {"EXISTS\r\n", HR_MC_EXISTS},
                  {"NOT_FOUND\r\n", HR_MC_NOT_FOUND},   {"DELETED\r\n", HR_MC_DELETED},
                  {"TOUCHED\r\n", HR_MC_TOUCHED},       {"OK\r\n", HR_MC_OK},
                  {"ERROR\r\n", HR_MC_ERROR}};
    for (size_t i = 0; i < sizeof simple / sizeof *simple; i++) {
        size_t n = strlen(simple[i].s);
        assert_int_equal(parse(simple[i].s, n, 1000, &r, &u), 1);
        assert_int_equal(r.kind, simple[i].k);
        assert_int_equal(u, n);
    }
    assert_int_equal(P("VALUE k 5 3\r\nabc\r\nEND\r\n", &r, &u), 1);
    assert_int_equal(r.kind, HR_MC_VALUE);
    assert_int_equal(u, 18);
    assert_int_equal(r.key_len, 1);
    assert_memory_equal(r.key, "k", 1);
    assert_int_equal(r.flags, 5);
    assert_int_equal(r.data_len, 3);
    assert_memory_equal(r.data, "abc", 3);
    assert_int_equal(r.has_cas, 0);
    assert_int_equal(P("VALUE key 4294967295 0 18446744073709551615\r\n\r\n", &r, &u), 1);
    assert_int_equal(r.flags, 4294967295u);
    assert_int_equal(r.data_len, 0);
    assert_int_equal(r.has_cas, 1);
    assert_true(r.cas == 18446744073709551615ull);
    /* data may hold CRLF, NUL, anything */
    assert_int_equal(parse("VALUE k 0 7\r\nEND\r\n\0x\r\n", 22, 1000, &r, &u), 1);
    assert_int_equal(r.data_len, 7);
    assert_int_equal(u, 22);
    assert_int_equal(P("STAT pid 1234\r\n", &r, &u), 1);
    assert_int_equal(r.kind, HR_MC_STAT);
    assert_memory_equal(r.key, "pid", 3);
    assert_memory_equal(r.data, "1234", 4);
    assert_int_equal(P("STAT libevent 2.1.12-stable extra words\r\n", &r, &u), 1);
    assert_int_equal(r.data_len, strlen("2.1.12-stable extra words"));
    assert_int_equal(P("VERSION 1.6.18\r\n", &r, &u), 1);
    assert_int_equal(r.kind, HR_MC_VERSION);
    assert_memory_equal(r.data, "1.6.18", 6);
    assert_int_equal(P("SERVER_ERROR out of memory\r\n", &r, &u), 1);
    assert_int_equal(r.kind, HR_MC_SERVER_ERROR);
    assert_memory_equal(r.data, "out of memory", 13);
    assert_int_equal(P("CLIENT_ERROR bad\r\n", &r, &u), 1);
    assert_int_equal(r.kind, HR_MC_CLIENT_ERROR);
    assert_int_equal(P("ERROR unknown\r\n", &r, &u), 1);
    assert_int_equal(r.kind, HR_MC_ERROR);
    assert_int_equal(P("18446744073709551615\r\n", &r, &u), 1);
    assert_int_equal(r.kind, HR_MC_NUMBER);
    assert_true(r.number == 18446744073709551615ull);
    assert_int_equal(P("42   \r\n", &r, &u), 1); /* padded incr reply */
    assert_int_equal(r.number, 42);
}

static void test_malformed(void **state)
{
    (void)state;
    hr_mc_reply r;
    size_t u;
    static const char *const bad[] = {
        "HELLO\r\n",
        "END\n",
        "\r\n",
        "END \r\n",
        "end\r\n",
        "ENDX\r\n",
        "VALUE\r\n",
        "VALUE k\r\n",
        "VALUE k 0\r\n",
        "VALUE k 0 1 2 3\r\nx\r\n",
        "VALUE k  0 1\r\nx\r\n",
        "VALUE k 0 1 \r\nx\r\n",
        "VALUE k -1 1\r\nx\r\n",
        "VALUE k 4294967296 1\r\nx\r\n",
        "VALUE k 0 +1\r\nx\r\n",
        "VALUE k 0 1073741825\r\n",         /* above the largest item (1 GiB) */
        "VALUE k 0 2147483648\r\n",         /* 2 GB */
        "VALUE k 0 99999999999999999999\r\n", /* overflows 64 bits */
        "VALUE k 0 1 18446744073709551616\r\nx\r\n",
        "VALUE k 0 3\r\nabcXY",
        "VALUE k 0 3\r\nabc\n\r",
        "18446744073709551616\r\n",
        "12a\r\n",
        " 12\r\n",
        "STAT\r\n",
        "ST\rAT x y\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse(bad[i], strlen(bad[i]), 1000, &r, &u);
        if (rc != HASH_RING_EPROTO)
            fail_msg("'%s' gave %d", bad[i], rc);
    }
    /* a key with a control byte or of 251 bytes */
    assert_int_equal(parse("VALUE a\x01 0 1\r\nx\r\n", 17, 1000, &r, &u), HASH_RING_EPROTO);
    char line[400];
    char key[252];
    memset(key, 'k', 251);
    key[251] = '\0';
    int n = snprintf(line, sizeof line, "VALUE %s 0 1\r\nx\r\n", key);
    assert_int_equal(parse(line, (size_t)n, 1000, &r, &u), HASH_RING_EPROTO);
    key[250] = '\0';
    n = snprintf(line, sizeof line, "VALUE %s 0 1\r\nx\r\n", key);
    assert_int_equal(parse(line, (size_t)n, 1000, &r, &u), 1);
    /* a line longer than the limit, without a newline: refused, not awaited */
    char *longl = malloc(HR_MC_MAX_LINE);
    memset(longl, 'A', HR_MC_MAX_LINE);
    assert_int_equal(parse(longl, HR_MC_MAX_LINE, 1000, &r, &u), HASH_RING_EPROTO);
    assert_int_equal(parse(longl, HR_MC_MAX_LINE - 1, 1000, &r, &u), 0);
    free(longl);
}

/* A VALUE above max_value but within memcached's largest item: the reply
 * VALUE_BIG once its line is complete, consuming only the line (the
 * caller skips the data); its fields as a VALUE's, data NULL. */
static void test_value_big(void **state)
{
    (void)state;
    hr_mc_reply r;
    size_t u;
    const char *line = "VALUE big 7 1001 42\r\n";
    size_t n = strlen(line);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(parse(line, k, 1000, &r, &u), 0);
    /* the data need not be there: only the line is read */
    assert_int_equal(parse(line, n, 1000, &r, &u), 1);
    assert_int_equal(r.kind, HR_MC_VALUE_BIG);
    assert_int_equal(u, n);
    assert_int_equal(r.key_len, 3);
    assert_memory_equal(r.key, "big", 3);
    assert_null(r.data);
    assert_int_equal(r.data_len, 1001);
    assert_int_equal(r.flags, 7);
    assert_int_equal(r.has_cas, 1);
    assert_int_equal(r.cas, 42);
    assert_int_equal(r.need, 0);
    /* at the limit: 1000 is a VALUE; 1 GiB is VALUE_BIG, one more EPROTO */
    assert_int_equal(P("VALUE k 0 1000\r\n", &r, &u), 0);
    assert_int_equal(r.need, 16 + 1000 + 2);
    assert_int_equal(P("VALUE k 0 1073741824\r\n", &r, &u), 1);
    assert_int_equal(r.kind, HR_MC_VALUE_BIG);
    assert_int_equal(r.data_len, HR_MC_MAX_ITEM);
    assert_int_equal(r.has_cas, 0);
    assert_int_equal(P("VALUE k 0 1073741825\r\n", &r, &u), HASH_RING_EPROTO);
    /* the key is checked as a VALUE's */
    assert_int_equal(P("VALUE a\x01 0 2000\r\n", &r, &u), HASH_RING_EPROTO);
}

/* Every proper prefix of a valid reply is "incomplete", never an error. */
static void test_prefixes(void **state)
{
    (void)state;
    static const char *const good[] = {"VALUE somekey 12 10 99\r\n0123456789\r\n", "END\r\n",
                                       "STAT curr_items 5\r\n", "12345\r\n",
                                       "SERVER_ERROR object too large for cache\r\n"};
    for (size_t g = 0; g < sizeof good / sizeof *good; g++) {
        size_t n = strlen(good[g]);
        hr_mc_reply r;
        size_t u;
        for (size_t k = 0; k < n; k++) {
            int rc = parse(good[g], k, 1000, &r, &u);
            if (rc != 0)
                fail_msg("prefix %zu of '%s' gave %d", k, good[g], rc);
            if (g == 0 && k >= 24)
                assert_int_equal(r.need, n); /* known once the header is in */
        }
        assert_int_equal(parse(good[g], n, 1000, &r, &u), 1);
        assert_int_equal(u, n);
    }
}

/* Random bytes and mutations of valid replies: the parser answers 1, 0 or
 * EPROTO and never claims more bytes than it was given. */
static void test_random(void **state)
{
    (void)state;
    static const char *const seeds[] = {"VALUE k 0 3 7\r\nabc\r\nEND\r\n", "STAT a b\r\nEND\r\n",
                                        "123\r\n", "VERSION 1\r\n", "NOT_FOUND\r\n"};
    uint64_t st = 0x9e3779b97f4a7c15ull;
    size_t ones = 0, zeros = 0, errs = 0;
    for (int it = 0; it < 200000; it++) {
        unsigned char buf[64];
        size_t n;
        if (it % 2 == 0) {
            n = (size_t)(tu_rand(&st) % sizeof buf);
            for (size_t i = 0; i < n; i++) {
                uint64_t x = tu_rand(&st);
                buf[i] = x % 4 == 0 ? (unsigned char)"\r\n 0V"[x % 5] : (unsigned char)(x >> 8);
            }
        } else {
            const char *s = seeds[tu_rand(&st) % 5];
            n = strlen(s);
            memcpy(buf, s, n);
            int muts = (int)(tu_rand(&st) % 3) + 1;
            for (int m = 0; m < muts; m++)
                buf[tu_rand(&st) % n] = (unsigned char)tu_rand(&st);
            n = (size_t)(tu_rand(&st) % (n + 1));
        }
        unsigned char *b = malloc(n ? n : 1);
        memcpy(b, buf, n);
        hr_mc_reply r;
        size_t u = 0;
        int rc = hr_mc_parse_reply(b, n, 16, &r, &u);
        assert_true(rc == 1 || rc == 0 || rc == HASH_RING_EPROTO);
        if (rc == 1) {
            assert_true(u > 0 && u <= n);
            if (r.kind == HR_MC_VALUE) {
                assert_true(r.data_len <= 16);
                assert_true(r.data >= b && r.data + r.data_len <= b + n);
            }
            ones++;
        } else {
            zeros += rc == 0;
            errs += rc != 0;
        }
        free(b);
    }
    printf("# 200000 inputs: %zu complete, %zu incomplete, %zu refused\n", ones, zeros, errs);
    assert_true(ones > 0 && zeros > 0 && errs > 0);
}

static void test_key_valid(void **state)
{
    (void)state;
    assert_true(hr_mc_key_valid("a", 1));
    assert_false(hr_mc_key_valid("", 0));
    assert_false(hr_mc_key_valid(NULL, 1));
    assert_false(hr_mc_key_valid("a b", 3));
    assert_false(hr_mc_key_valid("a\r\n", 3));
    assert_false(hr_mc_key_valid("a\x7f", 2));
    assert_true(hr_mc_key_valid("\xc3\xa9", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),    cmocka_unit_test(test_malformed), cmocka_unit_test(test_value_big),
        cmocka_unit_test(test_prefixes), cmocka_unit_test(test_random),
        cmocka_unit_test(test_key_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
