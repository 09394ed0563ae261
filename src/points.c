/* points.c - the points and key positions of the dialects that differ
 * from ketama's MD5 (nginx, Dalli, pecl memcache: CRC-32 from zlib,
 * SHA-1 from libcrypto), and Dalli's last-point-at-or-below lookup.
 *
 * Every rule here is stated in src/DIALECTS.md ("More clients") and checked
 * against the clients' placements (tests/vectors/clients). */
#include "continuum.h"
#include "dialect.h"
#include "digest.h"
#include "hash_ring.h"

#include <openssl/evp.h>
#include <string.h>
#include <zlib.h>

/* crc32 continued over any length (zlib's length is an unsigned int
 * before crc32_z). */
static uint32_t hr_crc32(uint32_t crc, const void *data, size_t len)
{
#if ZLIB_VERNUM >= 0x1290
    return (uint32_t)crc32_z(crc, data, len);
#else
    const unsigned char *p = data;
    while (len > 0) {
        unsigned n = len > 0x40000000u ? 0x40000000u : (unsigned)len;
        crc = (uint32_t)crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return crc;
#endif
}

/* nginx: the CRC state after host NUL port (hkey) continued with the
 * previous point's four bytes, little-endian, starting from 0.  Each
 * point depends on the one before, so a range not starting at 0 is
 * generated from 0. */
static void hr_points_crc_chain(const char *hkey, size_t hlen, uint32_t j_begin, uint32_t j_end,
                                uint32_t *out)
{
    uint32_t base = hr_crc32(0, hkey, hlen), prev = 0;
    for (uint32_t j = 0; j < j_end; j++) {
        unsigned char b[4] = {(unsigned char)prev, (unsigned char)(prev >> 8),
                              (unsigned char)(prev >> 16), (unsigned char)(prev >> 24)};
        prev = hr_crc32(base, b, 4);
        if (j >= j_begin)
            *out++ = prev;
    }
}

/* pecl memcache: crc32(hkey "-" decimal(j)). */
static void hr_points_crc(const char *hkey, size_t hlen, uint32_t j_begin, uint32_t j_end,
                          uint32_t *out)
{
    uint32_t base = hr_crc32(0, hkey, hlen);
    for (uint32_t j = j_begin; j < j_end; j++) {
        char suf[11];
        suf[0] = '-';
        size_t n = 1 + hr_put_decimal(suf + 1, j);
        *out++ = hr_crc32(base, suf, n);
    }
}

/* Dalli: the first four bytes of SHA-1(hkey ":" decimal(j)), big-endian. */
static int hr_points_sha1(const char *hkey, size_t hlen, uint32_t j_begin, uint32_t j_end,
                          uint32_t *out)
{
    int rc = HASH_RING_OK;
    EVP_MD_CTX *prefix = EVP_MD_CTX_new(), *ctx = EVP_MD_CTX_new();
    if (prefix == NULL || ctx == NULL) {
        rc = HASH_RING_ENOMEM;
        goto out;
    }
    if (EVP_DigestInit_ex(prefix, EVP_sha1(), NULL) != 1 ||
        EVP_DigestUpdate(prefix, hkey, hlen) != 1) {
        rc = HASH_RING_ECRYPTO;
        goto out;
    }
    for (uint32_t j = j_begin; j < j_end; j++) {
        char suf[11];
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned int dl = 0;
        suf[0] = ':';
        size_t n = 1 + hr_put_decimal(suf + 1, j);
        if (EVP_MD_CTX_copy_ex(ctx, prefix) != 1 || EVP_DigestUpdate(ctx, suf, n) != 1 ||
            EVP_DigestFinal_ex(ctx, d, &dl) != 1 || dl != 20) {
            rc = HASH_RING_ECRYPTO;
            goto out;
        }
        *out++ = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    }
out:
    EVP_MD_CTX_free(ctx);
    EVP_MD_CTX_free(prefix);
    return rc;
}

int hr_dialect_points(const hr_dialect *d, const char *hkey, size_t hlen, uint32_t j_begin,
                      uint32_t j_end, uint32_t *out)
{
    switch (d->points) {
    case HR_PT_MD5:
        return hr_digest_points(hkey, hlen, j_begin, j_end, d->per_digest, out);
    case HR_PT_CRC_CHAIN:
        hr_points_crc_chain(hkey, hlen, j_begin, j_end, out);
        return HASH_RING_OK;
    case HR_PT_CRC:
        hr_points_crc(hkey, hlen, j_begin, j_end, out);
        return HASH_RING_OK;
    case HR_PT_SHA1:
        return hr_points_sha1(hkey, hlen, j_begin, j_end, out);
    }
    return HASH_RING_ECRYPTO;
}

/* pecl memcache answers from 1,024 buckets: bucket b holds the owner of
 * the first point >= b * floor(0xffffffff / 1024).  Placing the key at
 * its bucket's threshold makes the ordinary >= search return exactly
 * that owner, with no table of its own. */
#define HR_PECL_BUCKETS 1024u
#define HR_PECL_KEY_MAX 250u

int64_t hr_dialect_position_other(const hr_dialect *d, const void *key, size_t len)
{
    if (d->key == HR_KEY_CRC)
        return hr_crc32(0, key, len);
    /* the client sends (and hashes) the key cut to 250 bytes, with every
     * byte <= 0x20 replaced by '_' */
    unsigned char buf[HR_PECL_KEY_MAX];
    size_t n = len < HR_PECL_KEY_MAX ? len : HR_PECL_KEY_MAX;
    const unsigned char *k = key;
    for (size_t i = 0; i < n; i++)
        buf[i] = k[i] <= 0x20 ? '_' : k[i];
    uint32_t b = hr_crc32(0, buf, n) % HR_PECL_BUCKETS;
    return (int64_t)b * (int64_t)(0xffffffffu / HR_PECL_BUCKETS);
}

void hr_continuum_pred_owners(hr_continuum *c)
{
    size_t n = c->npoints;
    if (n == 0)
        return;
    const hr_index *ix = &c->index;
    uint32_t mask = hr_low_mask(ix), last = hr_entry_owner(ix, c->ent[n - 1]);
    for (size_t i = n - 1; i > 0; i--)
        c->ent[i] = (c->ent[i] & mask) | (c->ent[i - 1] & ~mask);
    c->ent[0] = hr_entry(ix, c->ent[0], last);
}
