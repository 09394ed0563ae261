/* dialect.c - the ketama dialects as data, and their arithmetic.
 *
 * Every constant here was stated in src/DIALECTS.md and checked against the
 * peers' output (tests/vectors and the live peer tests). */
#include "dialect.h"
#include "digest.h"

#include <math.h>
#include <string.h>

/* id, name, per_digest, strict, tie, formula, zero_as_one, host_port,
 * report_winner, points, key, pred_owner */
static const hr_dialect hr_dialects[] = {
    {HASH_RING_DIALECT_PYTHON, "python", 3, 1, HR_TIE_LAST, HR_F_EXACT, 0, 0, 1, HR_PT_MD5,
     HR_KEY_MD5, 0},
    {HASH_RING_DIALECT_NODE, "node", 3, 0, HR_TIE_FIRST, HR_F_KETAMA, 0, 0, 0, HR_PT_MD5,
     HR_KEY_MD5, 0},
    {HASH_RING_DIALECT_LIBKETAMA, "libketama", 4, 0, HR_TIE_FIRST, HR_F_KETAMA, 0, 0, 0,
     HR_PT_MD5, HR_KEY_MD5, 0},
    {HASH_RING_DIALECT_LIBMEMCACHED, "libmemcached", 4, 0, HR_TIE_FIRST, HR_F_LIBMEMCACHED, 1,
     HR_HP_LIBMEMCACHED, 0, HR_PT_MD5, HR_KEY_MD5, 0},
    {HASH_RING_DIALECT_TWEMPROXY, "twemproxy", 4, 0, HR_TIE_NAME, HR_F_TWEMPROXY, 0,
     HR_HP_TWEMPROXY, 0, HR_PT_MD5, HR_KEY_MD5, 0},
    {HASH_RING_DIALECT_HASHRING, "hashring", 4, 0, HR_TIE_FIRST, HR_F_DOUBLE, 1, 0, 0, HR_PT_MD5,
     HR_KEY_MD5, 0},
    {HASH_RING_DIALECT_HASHRING_PYTHON, "hashring-python", 3, 0, HR_TIE_FIRST, HR_F_DOUBLE, 1, 0,
     0, HR_PT_MD5, HR_KEY_MD5, 0},
    /* its TreeMap's put overwrites: the later node keeps a shared point;
     * without a weights map the weights are not read (0 counts too) */
    {HASH_RING_DIALECT_SPYMEMCACHED, "spymemcached", 4, 0, HR_TIE_LAST, HR_F_FORTY, 1, 0, 0,
     HR_PT_MD5, HR_KEY_MD5, 0},
    {HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED, "spymemcached-weighted", 4, 0, HR_TIE_LAST,
     HR_F_SPYMEMCACHED, 0, 0, 0, HR_PT_MD5, HR_KEY_MD5, 0},
    /* a dict like Python hash_ring's: the node added last keeps a point */
    {HASH_RING_DIALECT_UHASHRING, "uhashring", 4, 1, HR_TIE_LAST, HR_F_EXACT, 0, 0, 1, HR_PT_MD5,
     HR_KEY_MD5, 0},
    {HASH_RING_DIALECT_NODE_MEMCACHED, "node-memcached", 4, 0, HR_TIE_FIRST, HR_F_DOUBLE, 1,
     HR_HP_NODE_MEMCACHED, 0, HR_PT_MD5, HR_KEY_MD5, 0},
    /* the client leaves shared points undefined: the node added first */
    {HASH_RING_DIALECT_NGINX, "nginx", 1, 0, HR_TIE_FIRST, HR_F_TIMES160, 0, HR_HP_NGINX, 0,
     HR_PT_CRC_CHAIN, HR_KEY_CRC, 0},
    /* the last point <= the key: a run of equal points answers with its
     * last entry, so the node added first is put last (HR_TIE_LAST order) */
    {HASH_RING_DIALECT_DALLI, "dalli", 1, 1, HR_TIE_LAST, HR_F_DALLI, 0, HR_HP_DALLI, 0,
     HR_PT_SHA1, HR_KEY_CRC, 1},
    {HASH_RING_DIALECT_PECL_MEMCACHE, "pecl-memcache", 1, 0, HR_TIE_FIRST, HR_F_PECL, 0,
     HR_HP_PECL, 0, HR_PT_CRC, HR_KEY_PECL, 0},
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

/* libmemcached's floor((float)(pct * 160 / 4 * (float)n + 0.0000000001)):
 * float operations, a double add, a float cast. */
static double hr_lm_count(float pct, size_t n)
{
    float f = pct * 160.0f;
    f = f / 4.0f;
    f = f * (float)n;
    return floor((double)(float)((double)f + 0.0000000001));
}

/* A count from a total that wrapped can exceed what the peer itself can
 * build (nutcracker's continuum holds 160 points for each server and 10
 * more: it writes past it; Java's int saturates): such counts are cut to
 * 40 * (n + 10) digests. */
static uint32_t hr_wrapped_cap(double c, size_t n)
{
    double cap = 40.0 * ((double)n + 10.0);
    return (uint32_t)(c < cap ? c : cap);
}

/* v as a Java int holds it: the low 32 bits, two's complement. */
static int64_t hr_java_int(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    return u < 0x80000000u ? (int64_t)u : (int64_t)u - 0x100000000;
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
    case HR_F_LIBMEMCACHED:
        return (uint32_t)hr_lm_count((float)w / (float)total, n);
    case HR_F_TWEMPROXY: {
        /* nutcracker sums the weights in a uint32_t: past 2^32 - 1 the total
         * wraps and a weight can exceed it */
        uint32_t t = (uint32_t)total;
        double c = t ? hr_lm_count((float)w / (float)t, n) : HUGE_VAL;
        return hr_wrapped_cap(c, n);
    }
    case HR_F_SPYMEMCACHED: {
        /* Java ints: weight and total wrap to [-2^31, 2^31); the digests
         * are (int)(Math.floor(...) * 4.0) / 4, none when not positive */
        int64_t jw = hr_java_int(w), jt = hr_java_int(total);
        double c = jt ? hr_lm_count((float)jw / (float)jt, n) : jw > 0 ? HUGE_VAL : 0.0;
        return c >= 1.0 ? hr_wrapped_cap(c, n) : 0;
    }
    case HR_F_DOUBLE: {
        double v = (double)w / (double)total * 40.0 * (double)n;
        return (uint32_t)floor(v);
    }
    case HR_F_FORTY:
        return 40;
    case HR_F_TIMES160:
        return w > UINT32_MAX / 160 ? UINT32_MAX : (uint32_t)(w * 160);
    case HR_F_PECL:
        /* the client multiplies its unsigned int weight by 160 in that
         * type: past 2^32 - 1 the count wraps */
        return (uint32_t)((uint32_t)w * 160u);
    case HR_F_DALLI: {
        /* Ruby: the integer product is exact, then converted to a double
         * and divided by Float(T); at most 160 * n (w <= T) */
        double prod;
#if defined(__SIZEOF_INT128__)
        __extension__ typedef unsigned __int128 u128;
        prod = (double)((u128)n * 160u * w);
#else
        prod = (double)((long double)((uint64_t)n * 160u) * (long double)w);
#endif
        return (uint32_t)floor(prod / (double)total);
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

/* Byte length of a JavaScript white space or line terminator (what
 * String-to-Number trims) encoded in UTF-8 at s[0..n), or 0. */
static size_t hr_js_space(const unsigned char *s, size_t n)
{
    if (n >= 1 && (s[0] == ' ' || (s[0] >= 0x09 && s[0] <= 0x0d)))
        return 1;
    if (n >= 2 && s[0] == 0xc2 && s[1] == 0xa0) /* U+00A0 */
        return 2;
    if (n < 3)
        return 0;
    unsigned c = (unsigned)s[0] << 16 | (unsigned)s[1] << 8 | s[2];
    if (c == 0xe19a80 || c == 0xefbbbf || c == 0xe280af || c == 0xe2819f || c == 0xe38080)
        return 3; /* U+1680, U+FEFF, U+202F, U+205F, U+3000 */
    if (c >= 0xe28080 && c <= 0xe2808a) /* U+2000..U+200A */
        return 3;
    if (c == 0xe280a8 || c == 0xe280a9) /* U+2028, U+2029 */
        return 3;
    return 0;
}

/* Length of a trailing JavaScript space of s[0..n), or 0. */
static size_t hr_js_space_end(const unsigned char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++)
        if (hr_js_space(s + n - k, k) == k)
            return k;
    return 0;
}

/* Digits [0-9] at s[i..n); returns the index after them. */
static size_t hr_skip_digits(const unsigned char *s, size_t i, size_t n)
{
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

/* Whether "0x..", "0o.." or "0b.." digits s[0..n) in `base` equal 11211. */
static int hr_js_radix_is_11211(const unsigned char *s, size_t n, unsigned base)
{
    uint32_t v = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i], dv;
        if (c >= '0' && c <= '9')
            dv = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            dv = (c | 0x20) - 'a' + 10;
        else
            return 0;
        if (dv >= base)
            return 0;
        if (v > 11211) /* keep reading: every digit must still be valid */
            continue;
        v = v * base + dv;
    }
    return v == 11211;
}

/* Whether JavaScript's unary + reads s[0..n) as exactly the number
 * 11211: StringNumericLiteral after trimming white space, a decimal
 * rounded to the nearest double (11211 +- 2^-40 both round to 11211,
 * ties to even), or a 0x / 0o / 0b integer.  The decimal is compared
 * digit by digit, so any length is exact. */
static int hr_js_is_11211(const unsigned char *s, size_t n)
{
    size_t k;
    while ((k = hr_js_space(s, n)) != 0) {
        s += k;
        n -= k;
    }
    while ((k = hr_js_space_end(s, n)) != 0)
        n -= k;
    if (n >= 2 && s[0] == '0') {
        unsigned x = s[1] | 0x20u;
        if (x == 'x' || x == 'o' || x == 'b')
            return hr_js_radix_is_11211(s + 2, n - 2, x == 'x' ? 16u : x == 'o' ? 8u : 2u);
    }
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        if (s[i] == '-')
            return 0;
        i++;
    }
    size_t ib = i, ie = hr_skip_digits(s, i, n), fb = ie, fe = ie;
    if (ie < n && s[ie] == '.') {
        fb = ie + 1;
        fe = hr_skip_digits(s, fb, n);
    }
    if (ie == ib && fe == fb)
        return 0; /* no digits ("", "+", ".", "Infinity", ...) */
    int64_t exp = 0;
    size_t j = fe;
    if (j < n && (s[j] | 0x20) == 'e') {
        j++;
        int neg = 0;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            neg = s[j++] == '-';
        size_t eb = j;
        j = hr_skip_digits(s, j, n);
        if (j == eb)
            return 0;
        for (size_t q = eb; q < j; q++)
            exp = exp > 1000000 ? exp : exp * 10 + (s[q] - '0');
        exp = neg ? -exp : exp;
    }
    if (j != n)
        return 0;
    /* the digits int||frac as one sequence; value = that integer * 10^(exp - nfrac) */
    size_t nint = ie - ib, ndig = nint + (fe - fb);
#define HR_DIG(q) ((q) < nint ? s[ib + (q)] : s[fb + (q) - nint])
    size_t f0 = 0;
    while (f0 < ndig && HR_DIG(f0) == '0')
        f0++;
    if (f0 == ndig)
        return 0; /* zero */
    /* the first significant digit is at 10^(P-1): P must be 5 */
    if ((int64_t)nint - (int64_t)f0 + exp != 5)
        return 0;
    char head[5];
    for (size_t q = 0; q < 5; q++)
        head[q] = f0 + q < ndig ? (char)HR_DIG(f0 + q) : '0';
    /* the rest is the fraction after the first five significant digits;
     * it must be <= 2^-40 above 11211 or >= 1 - 2^-40 above 11210 */
    static const char up[] = "0000000000009094947017729282379150390625";
    static const char down[] = "9999999999990905052982270717620849609375";
    int above = memcmp(head, "11211", 5) == 0, below = memcmp(head, "11210", 5) == 0;
    if (!above && !below)
        return 0;
    const char *bound = above ? up : down;
    for (size_t q = 0; q < 40; q++) {
        char c = f0 + 5 + q < ndig ? (char)HR_DIG(f0 + 5 + q) : '0';
        if (c != bound[q])
            return above ? c < bound[q] : c > bound[q];
    }
    if (below)
        return 1; /* >= the bound */
    for (size_t q = f0 + 45; q < ndig; q++)
        if (HR_DIG(q) != '0')
            return 0; /* beyond the bound */
    return 1;
#undef HR_DIG
}

/* npm memcached hands hashring 3 a default port of 11211, and hashring
 * hashes the text before the first ':' when the text between the first
 * and the second ':' reads (JavaScript's unary +) as that port; else the
 * name whole. */
static size_t hr_hash_name_node_memcached(const char *name, size_t len, char *out)
{
    const char *c1 = memchr(name, ':', len);
    if (c1 != NULL) {
        size_t a = (size_t)(c1 - name) + 1;
        const char *c2 = memchr(name + a, ':', len - a);
        size_t b = c2 ? (size_t)(c2 - name) : len;
        if (hr_js_is_11211((const unsigned char *)name + a, b - a)) {
            memcpy(out, name, a - 1);
            return a - 1;
        }
    }
    memcpy(out, name, len);
    return len;
}

/* nginx's hash consistent hashes host, one zero byte and the port text:
 * the name is split at its last ':' when only digits follow it; "unix:"
 * (any case) starts a socket path, hashed with an empty port. */
static size_t hr_hash_name_nginx(const char *name, size_t len, char *out)
{
    static const char unix_prefix[] = "unix:";
    size_t k = 0;
    while (k < 5 && k < len && (name[k] | 0x20) == unix_prefix[k])
        k++;
    if (k == 5) {
        memcpy(out, name + 5, len - 5);
        out[len - 5] = '\0';
        return len - 4;
    }
    memcpy(out, name, len);
    size_t i = len;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    if (i > 0 && name[i - 1] == ':') {
        out[i - 1] = '\0';
        return len;
    }
    out[len] = '\0';
    return len + 1;
}

/* Dalli's server name: a string matching
 *   \A(\[([0-9a-fA-F:]+)\]|[^:]+)(?::(\d+))?(?::(\d+))?\z
 * is "host:port": the host without brackets, the port as Ruby's Integer()
 * reads the digits (a leading 0 makes them octal), 11211 when there are
 * none; a host starting with '/' is a unix socket, named by its path (a
 * number after it is the weight).  A third number, the weight, is not
 * part of the name.  Other strings, which Dalli refuses, are hashed as
 * they are. */
/* Up to two ":digits" groups filling name[i..len); their bounds. */
static int hr_dalli_numbers(const char *name, size_t len, size_t i, size_t pb[2], size_t pe[2],
                            size_t *np)
{
    *np = 0;
    while (i < len && *np < 2) {
        if (name[i] != ':')
            return 0;
        pb[*np] = i + 1;
        pe[*np] = hr_skip_digits((const unsigned char *)name, i + 1, len);
        if (pe[*np] == pb[*np])
            return 0;
        i = pe[(*np)++];
    }
    return i == len;
}

static size_t hr_hash_name_dalli(const char *name, size_t len, char *out)
{
    size_t hb = 0, he = 0, pb[2] = {0, 0}, pe[2] = {0, 0}, np = 0;
    int ok = 0;
    if (name[0] == '[') {
        size_t i = 1;
        while (i < len && (name[i] == ':' || (name[i] >= '0' && name[i] <= '9') ||
                           ((name[i] | 0x20) >= 'a' && (name[i] | 0x20) <= 'f')))
            i++;
        if (i > 1 && i < len && name[i] == ']' && hr_dalli_numbers(name, len, i + 1, pb, pe, &np)) {
            hb = 1;
            he = i;
            ok = 1;
        }
    }
    if (!ok) { /* the regex's other branch: [^:]+ */
        const char *c = memchr(name, ':', len);
        he = c ? (size_t)(c - name) : len;
        ok = he > 0 && hr_dalli_numbers(name, len, he, pb, pe, &np);
    }
    if (!ok)
        goto as_is;
    memcpy(out, name + hb, he - hb);
    size_t o = he - hb;
    if (name[hb] == '/') {
        if (np == 2)
            goto as_is; /* a socket takes a weight, not a port */
        return o;
    }
    out[o++] = ':';
    if (np == 0) {
        memcpy(out + o, "11211", 5);
        return o + 5;
    }
    size_t db = pb[0], de = pe[0];
    if (name[db] != '0' || de - db == 1) {
        memcpy(out + o, name + db, de - db);
        return o + (de - db);
    }
    /* Integer("0...") is octal: 8 or 9 is an error there */
    uint64_t v = 0;
    for (size_t q = db + 1; q < de; q++) {
        if (name[q] > '7' || v > UINT32_MAX)
            goto as_is;
        v = v * 8 + (uint64_t)(name[q] - '0');
    }
    if (v > UINT32_MAX)
        goto as_is;
    return o + hr_put_decimal(out + o, (uint32_t)v);
as_is:
    memcpy(out, name, len);
    return len;
}

/* pecl memcache hashes "host:%d" with the port it keeps, an unsigned
 * short: the name's port read as a number (leading zeros dropped) modulo
 * 2^16, 11211 unless the name gives one. */
static size_t hr_hash_name_pecl(const char *name, size_t len, char *out)
{
    size_t c;
    uint64_t value;
    if (hr_port_suffix(name, len, &c, &value))
        return hr_put_host_port(out, name, c, (unsigned)(value & 0xffffu));
    memcpy(out, name, len);
    memcpy(out + len, ":11211", 6);
    return len + 6;
}

size_t hr_dialect_hash_name(const hr_dialect *d, const char *name, size_t len, char *out)
{
    if (len == 0 || d->host_port == HR_HP_NONE) {
        memcpy(out, name, len);
        return len;
    }
    switch (d->host_port) {
    case HR_HP_LIBMEMCACHED:
        return hr_hash_name_libmemcached(name, len, out);
    case HR_HP_TWEMPROXY:
        return hr_hash_name_twemproxy(name, len, out);
    case HR_HP_NODE_MEMCACHED:
        return hr_hash_name_node_memcached(name, len, out);
    case HR_HP_NGINX:
        return hr_hash_name_nginx(name, len, out);
    case HR_HP_DALLI:
        return hr_hash_name_dalli(name, len, out);
    default:
        return hr_hash_name_pecl(name, len, out);
    }
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
