/* digest.h - MD5 from libcrypto and the ketama point extraction (internal). */
#ifndef HR_DIGEST_H
#define HR_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* Checks that libcrypto provides a working MD5 (hashes a test input).
 * HASH_RING_OK or HASH_RING_ECRYPTO. */
int hr_digest_check(void);

/* MD5 of (data, len) into out.  HASH_RING_OK or HASH_RING_ECRYPTO. */
int hr_md5(const void *data, size_t len, unsigned char out[16]);

/* A key's ring position: the first four digest bytes read little-endian
 * (0 .. 2^32 - 1), or a negative HASH_RING_* code (HASH_RING_ECRYPTO).
 * Returned by value, not through a pointer: every lookup waits for it, and
 * a store and reload would add their latency. */
int64_t hr_position(const void *key, size_t len);

static inline uint32_t hr_u32le(const unsigned char *d)
{
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

/* Writes v in decimal (no NUL, at most 10 bytes) to out; returns the
 * length.  The "-j" of the points' inputs and libmemcached's ":port". */
static inline size_t hr_put_decimal(char *out, uint32_t v)
{
    char tmp[10];
    size_t n = 0, k = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        out[k++] = tmp[--n];
    return k;
}

/* The points of node name `name` for hash indexes j in [j_begin, j_end):
 * for each j, MD5(name "-" decimal(j)) gives `per_digest` points (bytes 0..3,
 * 4..7, ... read little-endian), written to out in order.
 * out has room for (j_end - j_begin) * per_digest points.
 * HASH_RING_OK, HASH_RING_ENOMEM or HASH_RING_ECRYPTO. */
int hr_digest_points(const char *name, size_t len, uint32_t j_begin, uint32_t j_end,
                     unsigned per_digest, uint32_t *out);

#endif
