/* dialect.c - the ketama dialects as data, and their arithmetic.
 *
 * Every constant here was stated in ALGORITHM.md and checked against the
 * peers' output (tests/vectors and the live peer tests). */
#include "dialect.h"

#include <math.h>
#include <string.h>

static const hr_dialect hr_dialects[] = {
    {HASH_RING_DIALECT_PYTHON, "python", 3, 1, HR_TIE_LAST, HR_F_EXACT, 0, 0, 1},
    {HASH_RING_DIALECT_NODE, "node", 3, 0, HR_TIE_FIRST, HR_F_KETAMA, 0, 0, 0},
    {HASH_RING_DIALECT_LIBKETAMA, "libketama", 4, 0, HR_TIE_FIRST, HR_F_KETAMA, 0, 0, 0},
    {HASH_RING_DIALECT_LIBMEMCACHED, "libmemcached", 4, 0, HR_TIE_FIRST, HR_F_LIBMEMCACHED, 1, 1,
     0},
    {HASH_RING_DIALECT_TWEMPROXY, "twemproxy", 4, 0, HR_TIE_NAME, HR_F_LIBMEMCACHED, 0, 1, 0},
    {HASH_RING_DIALECT_HASHRING, "hashring", 4, 0, HR_TIE_FIRST, HR_F_DOUBLE, 1, 0, 0},
    {HASH_RING_DIALECT_HASHRING_PYTHON, "hashring-python", 3, 0, HR_TIE_FIRST, HR_F_DOUBLE, 1, 0,
     0},
};

const hr_dialect *hr_dialect_get(hash_ring_dialect_t id)
{
    size_t n = sizeof hr_dialects / sizeof hr_dialects[0];
    for (size_t i = 0; i < n; i++)
        if (hr_dialects[i].id == id)
            return &hr_dialects[i];
    return NULL;
}

const char *hash_ring_dialect_name(hash_ring_dialect_t dialect)
{
    const hr_dialect *d = hr_dialect_get(dialect);
    return d ? d->name : NULL;
}

int hash_ring_dialect_from_name(const char *name, hash_ring_dialect_t *out)
{
    if (name == NULL || out == NULL)
        return HASH_RING_EINVAL;
    for (size_t i = 0; i < sizeof hr_dialects / sizeof hr_dialects[0]; i++) {
        if (strcmp(name, hr_dialects[i].name) == 0) {
            *out = hr_dialects[i].id;
            return HASH_RING_OK;
        }
    }
    return HASH_RING_EINVAL;
}

/* floor(a * b / c) for a < 2^40, b, c < 2^64, b <= c: exact. */
static uint64_t hr_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    return (uint64_t)(((u128)a * b) / c);
#else
    /* 128-bit product as hi:lo, then shift-subtract division. */
    uint64_t alo = a & 0xffffffffu, ahi = a >> 32, blo = b & 0xffffffffu, bhi = b >> 32;
    uint64_t ll = alo * blo, lh = alo * bhi, hl = ahi * blo, hh = ahi * bhi;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    uint64_t lo = (ll & 0xffffffffu) | (mid << 32);
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    uint64_t q = 0, r = 0;
    for (int i = 127; i >= 0; i--) {
        uint64_t bit = i >= 64 ? (hi >> (i - 64)) & 1u : (lo >> i) & 1u;
        uint64_t carry = r >> 63;
        r = (r << 1) | bit;
        q <<= 1;
        if (carry || r >= c) {
            r -= c;
            q |= 1;
        }
    }
    return q;
#endif
}

uint32_t hr_dialect_hashes(const hr_dialect *d, uint64_t w, uint64_t total, size_t n)
{
    switch (d->formula) {
    case HR_F_EXACT:
        return (uint32_t)hr_muldiv(40u * (uint64_t)n, w, total);
    case HR_F_KETAMA: {
        /* floorf(pct * 40.0 * (float)n): float quotient, double products,
         * converted to float by the call. */
        float pct = (float)w / (float)total;
        double prod = (double)pct * 40.0 * (double)(float)n;
        return (uint32_t)floorf((float)prod);
    }
    case HR_F_LIBMEMCACHED: {
        /* floor((float)(pct * 160 / 4 * (float)n + 0.0000000001)) */
        float pct = (float)w / (float)total;
        float f = pct * 160.0f;
        f = f / 4.0f;
        f = f * (float)n;
        return (uint32_t)floor((double)(float)((double)f + 0.0000000001));
    }
    case HR_F_DOUBLE: {
        double v = (double)w / (double)total * 40.0 * (double)n;
        return (uint32_t)floor(v);
    }
    }
    return 0;
}

/* Parses "host:port" / "[host]:port": on success *host, *hlen and *port. */
static int hr_split_host_port(const char *s, size_t len, const char **host, size_t *hlen,
                              unsigned *port)
{
    size_t c = len;
    while (c > 0 && s[c - 1] != ':')
        c--;
    if (c == 0 || c == len || len - c > 5)
        return 0;
    unsigned p = 0;
    for (size_t i = c; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        p = p * 10u + (unsigned)(s[i] - '0');
    }
    if (p == 0 || p > 65535)
        return 0;
    *host = s;
    *hlen = c - 1;
    if (*hlen >= 2 && s[0] == '[' && s[*hlen - 1] == ']') {
        *host = s + 1;
        *hlen -= 2;
    }
    if (*hlen == 0)
        return 0;
    *port = p;
    return 1;
}

size_t hr_dialect_hash_name(const hr_dialect *d, const char *name, size_t len, char *out)
{
    const char *host;
    size_t hlen;
    unsigned port;
    if (!d->host_port || !hr_split_host_port(name, len, &host, &hlen, &port)) {
        memcpy(out, name, len);
        return len;
    }
    /* host as written; ":port" in decimal unless it is memcached's 11211.
     * The result is never longer than the name. */
    memcpy(out, host, hlen);
    if (port == 11211)
        return hlen;
    char tmp[6];
    size_t n = 0, k = hlen;
    while (port != 0) {
        tmp[n++] = (char)('0' + port % 10);
        port /= 10;
    }
    out[k++] = ':';
    while (n > 0)
        out[k++] = tmp[--n];
    return k;
}

int hr_dialect_tie_before(const hr_dialect *d, size_t ia, const char *na, size_t la, size_t ib,
                          const char *nb, size_t lb)
{
    switch (d->tie) {
    case HR_TIE_LAST:
        return ia > ib;
    case HR_TIE_FIRST:
        return ia < ib;
    case HR_TIE_NAME: {
        /* equal hashed names ("h:11211" and "h") produce equal points:
         * then the node added first, as a stable sort leaves them */
        if (la != lb)
            return la < lb;
        int c = memcmp(na, nb, la);
        return c != 0 ? c < 0 : ia < ib;
    }
    }
    return 0;
}
