/* digest.c - MD5 from libcrypto.
 *
 * The lookup hashes every key, so MD5 is the hot path.  The fastest thing
 * libcrypto offers is its low-level MD5 (deprecated in OpenSSL 3 but
 * present); CMake detects it and sets HASH_RING_HAVE_LOWLEVEL_MD5.
 * Data of at most 55 bytes (most keys, every "name-j" of a short name) is
 * one padded 64-byte block: we pad it here and run libcrypto's compression
 * function, MD5_Transform, once, reading the state words A..D (the digest,
 * little-endian).  That skips MD5_Update's buffering and MD5_Final's
 * padding and cleansing, about 170 of the ~1,000 instructions of MD5().
 * Longer data goes through MD5_Init/Update/Final.  Without the low-level
 * functions we use EVP_Digest with an MD5 implementation fetched once (an
 * implicit fetch on every call, as EVP_Digest(EVP_md5()) does in OpenSSL
 * 3, costs about four times more).  tests/test_digest.c checks every path
 * against libcrypto's MD5() for every length around the block limits.
 */
#include "digest.h"

#include "hash_ring.h"

#include <string.h>

#if defined(HASH_RING_HAVE_LOWLEVEL_MD5)
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/md5.h>
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
#else
#include <openssl/evp.h>
#include <pthread.h>
#endif

#if !defined(HASH_RING_HAVE_LOWLEVEL_MD5)
static const EVP_MD *hr_evp_md5;
static pthread_once_t hr_evp_once = PTHREAD_ONCE_INIT;

static void hr_evp_fetch(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    hr_evp_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
#else
    hr_evp_md5 = EVP_md5();
#endif
}
#endif

#if defined(HASH_RING_HAVE_LOWLEVEL_MD5)
/* MD5 of at most 55 bytes as the state words A, B, C, D. */
static void hr_md5_short(const void *data, size_t len, uint32_t w[4])
{
    unsigned char block[64];
    MD5_CTX ctx;
    /* the initial state (RFC 1321, 3.3) */
    ctx.A = 0x67452301u;
    ctx.B = 0xefcdab89u;
    ctx.C = 0x98badcfeu;
    ctx.D = 0x10325476u;
    memcpy(block, data, len);
    block[len] = 0x80;
    memset(block + len + 1, 0, 55 - len);
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        block[56 + i] = (unsigned char)(bits >> (8 * i));
    MD5_Transform(&ctx, block);
    w[0] = (uint32_t)ctx.A;
    w[1] = (uint32_t)ctx.B;
    w[2] = (uint32_t)ctx.C;
    w[3] = (uint32_t)ctx.D;
}
#endif

int hr_md5(const void *data, size_t len, unsigned char out[16])
{
#if defined(HASH_RING_HAVE_LOWLEVEL_MD5)
    MD5_CTX ctx;
    if (MD5_Init(&ctx) != 1 || MD5_Update(&ctx, data, len) != 1 || MD5_Final(out, &ctx) != 1)
        return HASH_RING_ECRYPTO;
    return HASH_RING_OK;
#else
    unsigned int outlen = 0;
    if (pthread_once(&hr_evp_once, hr_evp_fetch) != 0 || hr_evp_md5 == NULL)
        return HASH_RING_ECRYPTO;
    if (EVP_Digest(data, len, out, &outlen, hr_evp_md5, NULL) != 1 || outlen != 16)
        return HASH_RING_ECRYPTO;
    return HASH_RING_OK;
#endif
}

int hr_digest_check(void)
{
    static const unsigned char empty_md5[16] = {0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
                                                0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e};
    unsigned char d[16];
    int rc = hr_md5("", 0, d);
    if (rc != HASH_RING_OK)
        return rc;
    return memcmp(d, empty_md5, 16) == 0 ? HASH_RING_OK : HASH_RING_ECRYPTO;
}

int64_t hr_position(const void *key, size_t len)
{
#if defined(HASH_RING_HAVE_LOWLEVEL_MD5)
    if (len <= 55) {
        uint32_t w[4];
        hr_md5_short(key, len, w);
        return w[0];
    }
#endif
    unsigned char d[16];
    int rc = hr_md5(key, len, d);
    return rc == HASH_RING_OK ? (int64_t)hr_u32le(d) : rc;
}

/* Writes "-" and decimal j into buf (room for 12 bytes); returns the length. */
static size_t hr_suffix(char *buf, uint32_t j)
{
    buf[0] = '-';
    return 1 + hr_put_decimal(buf + 1, j);
}

static void hr_emit(const unsigned char d[16], unsigned per_digest, uint32_t *out)
{
    for (unsigned i = 0; i < per_digest; i++)
        out[i] = hr_u32le(d + 4 * i);
}

/* Names up to this size are hashed from one stack buffer ("name-j"); longer
 * ones hash the name once and finish a copy of that state per j. */
#define HR_SHORT_NAME 200

int hr_digest_points(const char *name, size_t len, uint32_t j_begin, uint32_t j_end,
                     unsigned per_digest, uint32_t *out)
{
    unsigned char d[16];
    if (len <= HR_SHORT_NAME) {
        char buf[HR_SHORT_NAME + 12];
        memcpy(buf, name, len);
        for (uint32_t j = j_begin; j < j_end; j++) {
            size_t n = len + hr_suffix(buf + len, j);
#if defined(HASH_RING_HAVE_LOWLEVEL_MD5)
            if (n <= 55) {
                uint32_t w[4];
                hr_md5_short(buf, n, w);
                for (unsigned i = 0; i < per_digest; i++)
                    out[i] = w[i];
                out += per_digest;
                continue;
            }
#endif
            int rc = hr_md5(buf, n, d);
            if (rc != HASH_RING_OK)
                return rc;
            hr_emit(d, per_digest, out);
            out += per_digest;
        }
        return HASH_RING_OK;
    }
#if defined(HASH_RING_HAVE_LOWLEVEL_MD5)
    MD5_CTX prefix;
    if (MD5_Init(&prefix) != 1 || MD5_Update(&prefix, name, len) != 1)
        return HASH_RING_ECRYPTO;
    for (uint32_t j = j_begin; j < j_end; j++) {
        char suf[12];
        size_t n = hr_suffix(suf, j);
        MD5_CTX ctx = prefix;
        if (MD5_Update(&ctx, suf, n) != 1 || MD5_Final(d, &ctx) != 1)
            return HASH_RING_ECRYPTO;
        hr_emit(d, per_digest, out);
        out += per_digest;
    }
    return HASH_RING_OK;
#else
    int rc = HASH_RING_OK;
    EVP_MD_CTX *prefix = NULL, *ctx = NULL;
    if (pthread_once(&hr_evp_once, hr_evp_fetch) != 0 || hr_evp_md5 == NULL)
        return HASH_RING_ECRYPTO;
    prefix = EVP_MD_CTX_new();
    ctx = EVP_MD_CTX_new();
    if (prefix == NULL || ctx == NULL) {
        rc = HASH_RING_ENOMEM;
        goto out;
    }
    if (EVP_DigestInit_ex(prefix, hr_evp_md5, NULL) != 1 ||
        EVP_DigestUpdate(prefix, name, len) != 1) {
        rc = HASH_RING_ECRYPTO;
        goto out;
    }
    for (uint32_t j = j_begin; j < j_end; j++) {
        char suf[12];
        size_t n = hr_suffix(suf, j);
        unsigned int dl = 0;
        if (EVP_MD_CTX_copy_ex(ctx, prefix) != 1 || EVP_DigestUpdate(ctx, suf, n) != 1 ||
            EVP_DigestFinal_ex(ctx, d, &dl) != 1 || dl != 16) {
            rc = HASH_RING_ECRYPTO;
            goto out;
        }
        hr_emit(d, per_digest, out);
        out += per_digest;
    }
out:
    EVP_MD_CTX_free(ctx);
    EVP_MD_CTX_free(prefix);
    return rc;
#endif
}
