/* test_digest.c - the library's MD5 paths (one-block fast path, streaming,
 * long-name prefix reuse, EVP fallback when built with HASH_RING_FORCE_EVP)
 * against libcrypto's one-shot MD5(), for every length around the block
 * limits and random bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>

#include "digest.h"
#include "hash_ring.h"
#include "testutil.h"

/* The reference: EVP one-shot MD5 from libcrypto. */
static void ref_md5(const void *p, size_t n, unsigned char out[16])
{
    unsigned int len = 0;
    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_md5(), NULL), 1);
    assert_int_equal(len, 16);
}

static uint32_t le32(const unsigned char *d)
{
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static void test_position_all_lengths(void **state)
{
    (void)state;
    uint64_t seed = 99;
    unsigned char buf[300];
    for (size_t len = 0; len <= sizeof buf; len++) {
        for (int rep = 0; rep < 8; rep++) {
            for (size_t i = 0; i < len; i++)
                buf[i] = (unsigned char)tu_rand(&seed);
            unsigned char want[16], got[16];
            ref_md5(buf, len, want);
            assert_int_equal(hr_position(buf, len), (int64_t)le32(want));
            assert_int_equal(hr_md5(buf, len, got), HASH_RING_OK);
            assert_memory_equal(got, want, 16);
        }
    }
}

/* name "-" decimal(j): names of every length up to past the 200-byte
 * stack buffer, j across digit-count changes, 3 and 4 points per digest. */
static void test_name_points(void **state)
{
    (void)state;
    char name[260], s[300];
    static const uint32_t js[] = {0, 1, 9, 10, 39, 99, 100, 999, 1000, 4294967295u};
    for (size_t len = 1; len < sizeof name; len++) {
        for (size_t i = 0; i < len; i++)
            name[i] = (char)('a' + (i * 7 + len) % 26);
        for (size_t k = 0; k < sizeof js / sizeof *js; k++) {
            uint32_t j = js[k];
            for (unsigned p = 3; p <= 4; p++) {
                uint32_t got[8];
                uint32_t end = j == 4294967295u ? j : j + 2;
                uint32_t begin = j == 4294967295u ? j - 1 : j;
                assert_int_equal(hr_digest_points(name, len, begin, end, p, got), HASH_RING_OK);
                for (uint32_t jj = begin; jj < end; jj++) {
                    int n = snprintf(s, sizeof s, "%.*s-%u", (int)len, name, jj);
                    unsigned char want[16];
                    ref_md5(s, (size_t)n, want);
                    for (unsigned i = 0; i < p; i++)
                        assert_int_equal(got[(jj - begin) * p + i], le32(want + 4 * i));
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_position_all_lengths),
        cmocka_unit_test(test_name_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
