/* dialect.c - the ketama dialects as data, and their arithmetic.
 *
 * Every constant here was stated in ALGORITHM.md and checked against the
 * peers' output (tests/vectors and the live peer tests). */
#include "dialect.h"
#include "digest.h"

#include <math.h>
#include <string.h>

static const hr_dialect hr_dialects[] = {
    {HASH_RING_DIALECT_PYTHON, "python", 3, 1, HR_TIE_LAST, HR_F_EXACT, 0, 0, 1},
    {HASH_RING_DIALECT_NODE, "node", 3, 0, HR_TIE_FIRST, HR_F_KETAMA, 0, 0, 0},
    {HASH_RING_DIALECT_LIBKETAMA, "libketama", 4, 0, HR_TIE_FIRST, HR_F_KETAMA, 0, 0, 0},
    {HASH_RING_DIALECT_LIBMEMCACHED, "libmemcached", 4, 0, HR_TIE_FIRST, HR_F_LIBMEMCACHED, 1,
     HR_HP_LIBMEMCACHED, 0},
    {HASH_RING_DIALECT_TWEMPROXY, "twemproxy", 4, 0, HR_TIE_NAME, HR_F_LIBMEMCACHED, 0,
     HR_HP_TWEMPROXY, 0},
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

/* The port part of a name: the bytes after its last ':' when they are one
 * or more decimal digits and some byte precedes the ':'.  On success *c is
 * the index of that ':' and *value the digits' value (saturated at
 * UINT64_MAX: no peer accepts such a port, this only keeps it defined). */
static int hr_port_suffix(const char *s, size_t len, size_t *c, uint64_t *value)
{
    size_t i = len;
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
        i--;
    if (i == len || i < 2 || s[i - 1] != ':')
        return 0;
    uint64_t v = 0;
    for (size_t k = i; k < len; k++) {
        unsigned digit = (unsigned)(s[k] - '0');
        v = v > (UINT64_MAX - digit) / 10 ? UINT64_MAX : v * 10 + digit;
    }
    *c = i - 1;
    *value = v;
    return 1;
}

/* "host:" then the decimal port. */
static size_t hr_put_host_port(char *out, const char *host, size_t hlen, unsigned port)
{
    memcpy(out, host, hlen);
    out[hlen] = ':';
    return hlen + 1 + hr_put_decimal(out + hlen + 1, port);
}

/* libmemcached keeps a server as a host and a 16-bit port and hashes
 * "host" when the port is 11211, else "host:%u".  The port is the number
 * after the last ':' (as memcached_server_add_with_weight() gets host and
 * port apart; its server string parser reads the number the same way:
 * strtoul, cut to in_port_t, 0 meaning the default 11211).  The host is
 * used as written, brackets included (the string parser keeps "[h]").  A
 * unix socket ("/path") has port 0, so libmemcached hashes "/path:0". */
static size_t hr_hash_name_libmemcached(const char *name, size_t len, char *out)
{
    size_t c;
    uint64_t value;
    if (name[0] == '/') {
        memcpy(out, name, len);
        memcpy(out + len, ":0", 2);
        return len + 2;
    }
    if (!hr_port_suffix(name, len, &c, &value)) {
        memcpy(out, name, len);
        return len;
    }
    unsigned port = (unsigned)(value & 0xffffu);
    if (port == 0)
        port = 11211;
    if (port == 11211) {
        memcpy(out, name, c);
        return c;
    }
    return hr_put_host_port(out, name, c, port);
}

/* nutcracker hashes a server's configured text: "host:port" exactly as
 * written, or only "host" when the port's value is 11211 (a port is 1 to
 * 65535, leading zeros allowed; brackets are not special: it cannot
 * resolve "[h]", so such a name is a configured name, hashed as it is).
 * A unix socket server ("/path", weight after a ':') hashes "/path:". */
static size_t hr_hash_name_twemproxy(const char *name, size_t len, char *out)
{
    size_t c;
    uint64_t value;
    memcpy(out, name, len);
    if (name[0] == '/') {
        out[len] = ':';
        return len + 1;
    }
    if (hr_port_suffix(name, len, &c, &value) && value == 11211)
        return c;
    return len;
}

size_t hr_dialect_hash_name(const hr_dialect *d, const char *name, size_t len, char *out)
{
    if (len == 0 || d->host_port == HR_HP_NONE) {
        memcpy(out, name, len);
        return len;
    }
    if (d->host_port == HR_HP_LIBMEMCACHED)
        return hr_hash_name_libmemcached(name, len, out);
    return hr_hash_name_twemproxy(name, len, out);
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
