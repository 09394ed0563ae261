/* fuzz_ring_ops.c - fuzz target: random programs of ring operations.
 *
 * The input is a program.  Byte 0 selects the dialects to run: bit d of
 * the low seven runs dialect d (bit 7 clear: the seven of 1.0) or 7 + d
 * (bit 7 set: spymemcached, spymemcached-weighted, uhashring,
 * node-memcached, nginx, dalli, pecl-memcache); no bit among the low
 * seven runs all seven of its group.  The rest is read
 * again from its start for each selected dialect, as a sequence of
 * operations: add, batch add, remove, batch remove, set_nodes, set_weight,
 * key lookups (one key, and batches of 1 to 8 keys), replica
 * lists, snapshots acquired / queried / released, and calls with invalid
 * arguments.  Names are bytes from the input (empty, with NUL bytes, long,
 * repeated, host:port forms), weights are 0, 1, UINT32_MAX or arbitrary.
 *
 * The target keeps its own model of the membership (names, weights, order)
 * and derives from it, independently of the library, the exact continuum
 * the dialect must produce (src/DIALECTS.md):
 *   - hashes per node from the dialect's formula, written out here
 *     operation by operation (exact integers for python, float32 / double
 *     expressions for the others);
 *   - every point from MD5(name "-" j) computed here with libcrypto;
 *   - the ring order, equal positions ordered by the dialect's tie rule
 *     (twemproxy: by hashed name, as checked against nutcracker);
 *   - each node's exact share of the 2^32 positions.
 * After every operation it checks the ring against that model: the error
 * code is the documented one, a failed operation changed nothing, the
 * continuum (public listing and internal arrays) is the expected one and
 * sorted, point counts follow the formula, shares sum to 2^32, removed
 * nodes own nothing, and every lookup equals a linear scan over the points.
 * Held snapshots must keep answering for the membership they were taken
 * from, also after later changes and after the ring is destroyed.
 *
 * The CRC-32 / SHA-1 dialects (nginx, dalli, pecl-memcache), whose points
 * and tie rules are checked against their models in
 * tests/test_properties_clients.c, are checked here differentially, which
 * is what finds faults of the incremental rebuild: the expected continuum
 * is the one of a second ring given the model's membership in one call
 * (built from scratch), with the point counts from the dialect's formula,
 * key positions computed here (crc32, pecl's bucket thresholds) and every
 * lookup a linear scan over it; nginx and pecl weights are kept to 0..4
 * (w * 160 points a node).
 *
 * Only one thing is taken from the library instead of being recomputed:
 * the bytes hashed for a node name containing ':' in the host:port
 * dialects when that name is not a plain "host:port" with a canonical
 * decimal port (bracket and leading-zero forms: src/DIALECTS.md note 2
 * states them, this model does not recompute them); plain host:port names are mapped here by the documented
 * rule. */
#include "fuzz_ring_ops.h"

#include "continuum.h"
#include "hash_ring.h"
#include "names.h"
#include "ring.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FZ_MAX_MEMBERS 80
#define FZ_MAX_POOL 160
#define FZ_MAX_HELD 4
#define FZ_MAX_STEPS 64
#define FZ_MAX_BATCH 8
#define FZ_RAW_MAX 24
#define FZ_NDIALECTS 7
#define FZ_NONE SIZE_MAX

/* ---- failure reporting ------------------------------------------------ */

static struct {
    const char *dialect;
    size_t step;
    unsigned op;
} fz_ctx;

static _Noreturn void fz_report(const char *file, int line, const char *what)
{
    char msg[512];
    snprintf(msg, sizeof msg, "dialect %s, step %zu (op %u): %s", fz_ctx.dialect, fz_ctx.step,
             fz_ctx.op, what);
    fz_fail(file, line, msg);
}

static _Noreturn void fz_report_eq(const char *file, int line, const char *what, uint64_t a,
                                   uint64_t b)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s (%llu vs %llu)", what, (unsigned long long)a,
             (unsigned long long)b);
    fz_report(file, line, msg);
}

#define FZ_CHECK(c)                                                                       \
    do {                                                                                  \
        if (!(c))                                                                         \
            fz_report(__FILE__, __LINE__, #c);                                            \
    } while (0)
#define FZ_EQ(a, b)                                                                       \
    do {                                                                                  \
        uint64_t fz_a_ = (uint64_t)(a), fz_b_ = (uint64_t)(b);                            \
        if (fz_a_ != fz_b_)                                                               \
            fz_report_eq(__FILE__, __LINE__, #a " == " #b, fz_a_, fz_b_);                 \
    } while (0)
/* A status code that must be one of two documented values. */
#define FZ_RC2(rc, x, y)                                                                  \
    do {                                                                                  \
        int fz_rc_ = (rc);                                                                \
        if (fz_rc_ != (x) && fz_rc_ != (y))                                               \
            fz_report_eq(__FILE__, __LINE__, "status " #rc " in {" #x ", " #y "}",        \
                         (uint64_t)(int64_t)fz_rc_, (uint64_t)(int64_t)(x));              \
    } while (0)

static void *fz_xalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort(); /* the harness itself ran out of memory: not a finding */
    return p;
}

static void *fz_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        abort();
    return p;
}

/* ---- input reader ------------------------------------------------------ */

typedef struct fz_in {
    const uint8_t *p;
    size_t n, i;
} fz_in;

static int in_done(const fz_in *in)
{
    return in->i >= in->n;
}

static uint8_t in_u8(fz_in *in)
{
    return in->i < in->n ? in->p[in->i++] : 0;
}

static uint16_t in_u16(fz_in *in)
{
    uint16_t lo = in_u8(in);
    return (uint16_t)(lo | (uint16_t)(in_u8(in) << 8));
}

static uint32_t in_u32(fz_in *in)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)in_u8(in) << (8 * i);
    return v;
}

/* len bytes into out; zeros once the input is exhausted. */
static void in_bytes(fz_in *in, unsigned char *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = in_u8(in);
}

/* ---- independent MD5 and the dialect rules ------------------------------ */

static const EVP_MD *fz_md(void)
{
    static EVP_MD *md;
    if (md == NULL) {
        md = EVP_MD_fetch(NULL, "MD5", NULL);
        FZ_CHECK(md != NULL);
    }
    return md;
}

static void fz_md5(const void *p, size_t n, unsigned char out[16])
{
    unsigned int len = 0;
    FZ_CHECK(EVP_Digest(p, n, out, &len, fz_md(), NULL) == 1 && len == 16);
}

static uint32_t fz_le32(const unsigned char *d)
{
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static uint32_t fz_key_pos(const void *key, size_t len)
{
    unsigned char d[16];
    fz_md5(len ? key : "", len, d);
    return fz_le32(d);
}

/* The CRC-32 / SHA-1 dialects, checked differentially (see the top). */
static int fz_diff_dialect(hash_ring_dialect_t d)
{
    return d == HASH_RING_DIALECT_NGINX || d == HASH_RING_DIALECT_DALLI ||
           d == HASH_RING_DIALECT_PECL_MEMCACHE;
}

/* Where a dialect's lookups place a key (src/DIALECTS.md, "More clients"):
 * MD5 for the ketama dialects, crc32(key) for nginx and Dalli, and for
 * pecl memcache the threshold of bucket crc32(mangled key) % 1024. */
static uint32_t fz_dialect_key_pos(hash_ring_dialect_t d, const void *key, size_t len)
{
    const Bytef *k = len ? key : (const Bytef *)"";
    if (d == HASH_RING_DIALECT_NGINX || d == HASH_RING_DIALECT_DALLI)
        return (uint32_t)crc32(0L, k, (uInt)len);
    if (d == HASH_RING_DIALECT_PECL_MEMCACHE) {
        Bytef m[250];
        size_t n = len < sizeof m ? len : sizeof m;
        for (size_t i = 0; i < n; i++)
            m[i] = k[i] <= 0x20 ? '_' : k[i];
        return (uint32_t)(crc32(0L, m, (uInt)n) % 1024u) * (0xffffffffu / 1024u);
    }
    return fz_key_pos(key, len);
}

static unsigned fz_per_digest(hash_ring_dialect_t d)
{
    if (fz_diff_dialect(d))
        return 1;
    return (d == HASH_RING_DIALECT_PYTHON || d == HASH_RING_DIALECT_NODE ||
            d == HASH_RING_DIALECT_HASHRING_PYTHON)
               ? 3u
               : 4u;
}

/* The weight a dialect counts with (src/DIALECTS.md, note 4). */
static uint32_t fz_eff_weight(hash_ring_dialect_t d, uint32_t w)
{
    if (w == 0 && (d == HASH_RING_DIALECT_LIBMEMCACHED || d == HASH_RING_DIALECT_HASHRING ||
                   d == HASH_RING_DIALECT_HASHRING_PYTHON ||
                   d == HASH_RING_DIALECT_NODE_MEMCACHED ||
                   d == HASH_RING_DIALECT_SPYMEMCACHED)) /* spymemcached reads no weight */
        return 1;
    return w;
}

/* Hashes per node, written from the table in src/DIALECTS.md: w and T are
 * effective weights, n the member count. */
static uint32_t fz_hashes(hash_ring_dialect_t d, uint32_t w, uint64_t T, size_t n)
{
    if (w == 0 || T == 0)
        return 0;
    switch (d) {
    case HASH_RING_DIALECT_SPYMEMCACHED:
        return 40; /* without a weights map: 40 digests whatever n and w */
    case HASH_RING_DIALECT_PYTHON:
    case HASH_RING_DIALECT_UHASHRING:
        /* floor(40*n*w / T): n <= FZ_MAX_MEMBERS keeps 40*n*w below 2^44 */
        return (uint32_t)((40u * (uint64_t)n * (uint64_t)w) / T);
    case HASH_RING_DIALECT_NODE:
    case HASH_RING_DIALECT_LIBKETAMA: {
        /* floorf(pct * 40.0 * (float)n): products in double, the call
         * converts the argument to float. */
        float pct = (float)w / (float)T;
        return (uint32_t)floorf((float)(pct * 40.0 * (float)n));
    }
    case HASH_RING_DIALECT_LIBMEMCACHED:
    case HASH_RING_DIALECT_TWEMPROXY:
    case HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED: {
        /* floor((float)(pct*160/4*n + 1e-10F)), float32 throughout; the
         * total is nutcracker's uint32_t sum, or spymemcached's Java int
         * sum (weight and total wrap to signed 32 bits); a wrapped total
         * can give more than 40 * (n + 10) digests: cut to that */
        double wf = (double)w, tf = (double)T;
        if (d == HASH_RING_DIALECT_TWEMPROXY) {
            tf = (double)(T % 4294967296u);
        } else if (d == HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED) {
            uint64_t t32 = T % 4294967296u;
            wf = w >= 2147483648u ? (double)w - 4294967296.0 : (double)w;
            tf = t32 >= 2147483648u ? (double)t32 - 4294967296.0 : (double)t32;
        }
        double cap = 40.0 * ((double)n + 10.0);
        if (tf == 0)
            return wf > 0 ? (uint32_t)cap : 0;
        float pct = (float)wf / (float)tf;
        float v = pct * 160;
        v = v / 4;
        v = v * (float)n;
        v = v + 1e-10F;
        double c = floor((double)(float)v);
        return c < 1 ? 0 : c > cap ? (uint32_t)cap : (uint32_t)c;
    }
    case HASH_RING_DIALECT_HASHRING:
    case HASH_RING_DIALECT_HASHRING_PYTHON:
    case HASH_RING_DIALECT_NODE_MEMCACHED:
        /* Math.floor(w / T * 40 * n), double, left to right */
        return (uint32_t)floor((double)w / (double)T * 40 * (double)n);
    case HASH_RING_DIALECT_NGINX:
    case HASH_RING_DIALECT_PECL_MEMCACHE:
        return w * 160u; /* weights are kept small for these (fz_gen_weight) */
    case HASH_RING_DIALECT_DALLI:
        /* ((n * 160 * w) / Float(T)).floor: the product is below 2^53 */
        return (uint32_t)floor((double)((uint64_t)n * 160u * w) / (double)T);
    default:
        break;
    }
    fz_report(__FILE__, __LINE__, "unknown dialect");
}

static int fz_host_port_dialect(hash_ring_dialect_t d)
{
    return d == HASH_RING_DIALECT_LIBMEMCACHED || d == HASH_RING_DIALECT_TWEMPROXY;
}

/* ---- the model ---------------------------------------------------------- */

typedef struct fz_name {
    unsigned char *b;
    size_t len;
    unsigned char *hk; /* bytes hashed for the node's points (set on first add) */
    size_t hl;
    uint32_t *cache; /* points of digests [0, cached) */
    uint32_t cached;
    int ever_member;
} fz_name;

/* A name argument: pool is FZ_NONE when the name is invalid (NULL / empty). */
typedef struct fz_ref {
    const void *ptr;
    size_t len;
    size_t pool;
} fz_ref;

/* The continuum a membership must produce. */
typedef struct fz_expect {
    size_t nn, np;
    size_t *name;     /* pool index of member i */
    uint32_t *weight; /* as set */
    uint32_t *hashes;
    uint64_t *share;
    uint32_t *pos;   /* point i, ascending; equal positions in tie order */
    uint32_t *prod;  /* member that produced point i */
    uint32_t *owner; /* member the listing reports for point i */
} fz_expect;

typedef struct fz_held {
    hash_ring_snapshot_t *snap;
    fz_expect e;
} fz_held;

typedef struct fz_state {
    hash_ring_dialect_t d;
    unsigned per;
    int strict;
    int diff; /* checked against a ring built from scratch (fz_diff_dialect) */
    hash_ring_t *ring;
    fz_in in;
    fz_name pool[FZ_MAX_POOL];
    size_t npool;
    size_t mem[FZ_MAX_MEMBERS]; /* pool index, membership order */
    uint32_t w[FZ_MAX_MEMBERS];
    size_t n;
    fz_expect cur;
    int dirty;
    fz_held held[FZ_MAX_HELD];
    size_t nheld;
    unsigned char buf[4096]; /* name scratch */
} fz_state;

static void fz_expect_free(fz_expect *e)
{
    free(e->name);
    free(e->weight);
    free(e->hashes);
    free(e->share);
    free(e->pos);
    free(e->prod);
    free(e->owner);
    memset(e, 0, sizeof *e);
}

static void fz_expect_copy(fz_expect *dst, const fz_expect *src)
{
    dst->nn = src->nn;
    dst->np = src->np;
    dst->name = fz_xalloc(src->nn * sizeof *dst->name);
    dst->weight = fz_xalloc(src->nn * sizeof *dst->weight);
    dst->hashes = fz_xalloc(src->nn * sizeof *dst->hashes);
    dst->share = fz_xalloc(src->nn * sizeof *dst->share);
    dst->pos = fz_xalloc(src->np * sizeof *dst->pos);
    dst->prod = fz_xalloc(src->np * sizeof *dst->prod);
    dst->owner = fz_xalloc(src->np * sizeof *dst->owner);
    if (src->nn) {
        memcpy(dst->name, src->name, src->nn * sizeof *dst->name);
        memcpy(dst->weight, src->weight, src->nn * sizeof *dst->weight);
        memcpy(dst->hashes, src->hashes, src->nn * sizeof *dst->hashes);
        memcpy(dst->share, src->share, src->nn * sizeof *dst->share);
    }
    if (src->np) {
        memcpy(dst->pos, src->pos, src->np * sizeof *dst->pos);
        memcpy(dst->prod, src->prod, src->np * sizeof *dst->prod);
        memcpy(dst->owner, src->owner, src->np * sizeof *dst->owner);
    }
}

/* The pool index of these bytes, adding them when new (FZ_NONE if full). */
static size_t fz_pool_put(fz_state *st, const unsigned char *b, size_t len)
{
    for (size_t i = 0; i < st->npool; i++)
        if (st->pool[i].len == len && memcmp(st->pool[i].b, b, len) == 0)
            return i;
    if (st->npool == FZ_MAX_POOL)
        return FZ_NONE;
    fz_name *nm = &st->pool[st->npool];
    memset(nm, 0, sizeof *nm);
    nm->b = fz_xalloc(len + 1);
    memcpy(nm->b, b, len);
    nm->len = len;
    return st->npool++;
}

static fz_ref fz_pooled(fz_state *st, size_t i)
{
    fz_ref r = {st->pool[i].b, st->pool[i].len, i};
    return r;
}

static fz_ref fz_name_bytes(fz_state *st, const unsigned char *b, size_t len)
{
    if (len == 0) {
        fz_ref r = {"", 0, FZ_NONE};
        return r;
    }
    size_t i = fz_pool_put(st, b, len);
    if (i == FZ_NONE) /* pool full: reuse a known name */
        i = (size_t)b[0] % st->npool;
    return fz_pooled(st, i);
}

/* A name argument from the input. */
static fz_ref fz_gen_name(fz_state *st)
{
    fz_in *in = &st->in;
    unsigned kind = in_u8(in) % 11u;
    if (kind < 4 && st->npool > 0)
        return fz_pooled(st, in_u8(in) % st->npool);
    if (kind < 6) { /* raw bytes, may hold NUL, may be empty */
        size_t len = in_u8(in) % (FZ_RAW_MAX + 1);
        in_bytes(in, st->buf, len);
        return fz_name_bytes(st, st->buf, len);
    }
    if (kind == 6) {
        fz_ref r = {"", 0, FZ_NONE};
        return r;
    }
    if (kind == 7) { /* long: around the 200-byte short-name buffer, or beyond */
        uint8_t sel = in_u8(in), seed = in_u8(in);
        size_t len = (sel & 1) ? 195u + (sel >> 1) % 10u : 201u + in_u16(in) % 3000u;
        for (size_t i = 0; i < len; i++)
            st->buf[i] = (unsigned char)(seed + (i % 7 == 3 ? 0 : i * 31u));
        return fz_name_bytes(st, st->buf, len);
    }
    if (kind == 8) { /* host[:port] forms, colliding in the host:port dialects */
        static const char *const hosts[] = {"h0", "h1", "10.0.0.1", "[h0]", "[::1]", "", "/s0"};
        static const char *const ports[] = {"",       ":11211", ":80", ":11212", ":65535",
                                            ":0",     ":65536", ":011211", ":", ":1x",
                                            ":01121", ":123456"};
        uint8_t h = in_u8(in), p = in_u8(in);
        int len = snprintf((char *)st->buf, sizeof st->buf, "%s%s",
                           hosts[h % (sizeof hosts / sizeof *hosts)],
                           ports[p % (sizeof ports / sizeof *ports)]);
        return fz_name_bytes(st, st->buf, (size_t)len);
    }
    if (kind == 9) {
        fz_ref r = {NULL, in_u8(in) % 3u, FZ_NONE};
        return r;
    }
    /* Pairs whose digests share a 32-bit point (found offline by a
     * birthday search; j < 40 and among the first 3 words, so they collide
     * in every dialect): exercise the tie rules, which random names almost
     * never reach.  c601-6/c1081-3, c1188-11/c2208-2, c2702-3/c5355-1,
     * c3963-4/c4400-33 (name-j). */
    static const char *const colliding[] = {"c601",  "c1081", "c1188", "c2208",
                                            "c2702", "c5355", "c3963", "c4400"};
    const char *c = colliding[in_u8(in) % 8u];
    return fz_name_bytes(st, (const unsigned char *)c, strlen(c));
}

static uint32_t fz_gen_weight_raw(fz_in *in)
{
    switch (in_u8(in) % 7u) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return UINT32_MAX;
    case 3:
        return in_u8(in);
    case 4:
        return in_u32(in);
    case 5:
        return 1u + in_u8(in) % 4u;
    default:
        return UINT32_MAX - in_u8(in);
    }
}

/* A weight for the ring's dialect: those of w * 160 points get 0 to 4 (a
 * large weight is millions of points a node). */
static uint32_t fz_gen_weight(fz_state *st)
{
    uint32_t w = fz_gen_weight_raw(&st->in);
    if (st->d == HASH_RING_DIALECT_NGINX || st->d == HASH_RING_DIALECT_PECL_MEMCACHE)
        w %= 5u;
    return w;
}

static size_t fz_member_index(const fz_state *st, size_t pool)
{
    for (size_t i = 0; i < st->n; i++)
        if (st->mem[i] == pool)
            return i;
    return FZ_NONE;
}

/* "host:port" with host free of ':' and brackets and a canonical port in
 * 1..65535: *is = 1 and the hashed bytes per src/DIALECTS.md note 2.  Returns 0
 * when the name is not of that plain form. */
static int fz_plain_host_port(const unsigned char *b, size_t len, size_t *hashed_len)
{
    size_t c = len;
    while (c > 0 && b[c - 1] != ':')
        c--;
    if (c < 2) /* no ':' or empty host */
        return 0;
    for (size_t i = 0; i + 1 < c; i++)
        if (b[i] == ':' || b[i] == '[' || b[i] == ']')
            return 0;
    size_t digits = len - c;
    if (digits == 0 || digits > 5 || b[c] == '0')
        return 0;
    unsigned long port = 0;
    for (size_t i = c; i < len; i++) {
        if (b[i] < '0' || b[i] > '9')
            return 0;
        port = port * 10 + (unsigned long)(b[i] - '0');
    }
    if (port > 65535)
        return 0;
    *hashed_len = port == 11211 ? c - 1 : len;
    return 1;
}

/* The bytes a member's points are hashed from, fixed at its first add. */
static void fz_resolve_hashed(fz_state *st, fz_name *nm)
{
    if (nm->hk != NULL)
        return;
    size_t hl = nm->len;
    const unsigned char *src = nm->b;
    if (fz_host_port_dialect(st->d) && nm->len > 0 && nm->b[0] == '/') {
        /* a unix socket path (README "Dialects"): libmemcached hashes
         * "/path:0" (the socket's port is 0), twemproxy "/path:" */
        const char *suffix = st->d == HASH_RING_DIALECT_LIBMEMCACHED ? ":0" : ":";
        size_t sl = strlen(suffix);
        nm->hk = fz_xalloc(nm->len + sl + 1);
        memcpy(nm->hk, nm->b, nm->len);
        memcpy(nm->hk + nm->len, suffix, sl);
        nm->hl = nm->len + sl;
        return;
    }
    if (st->d == HASH_RING_DIALECT_NODE_MEMCACHED && nm->len > 0) {
        /* the text between the first ':' and the next one (or the end):
         * digits read as 11211 leave only the host; other digits keep the
         * whole name; any other text is read as JavaScript's unary + (not
         * modelled here: the library's form is taken) */
        const unsigned char *c1 = memchr(nm->b, ':', nm->len);
        if (c1 != NULL) {
            size_t a = (size_t)(c1 - nm->b) + 1, b = a;
            unsigned long v = 0;
            while (b < nm->len && nm->b[b] >= '0' && nm->b[b] <= '9') {
                v = v > 100000 ? v : v * 10 + (unsigned long)(nm->b[b] - '0');
                b++;
            }
            if (b > a && (b == nm->len || nm->b[b] == ':')) {
                hl = v == 11211 ? a - 1 : nm->len;
            } else {
                const hr_name *h = hr_names_find(st->ring->names, nm->b, nm->len);
                FZ_CHECK(h != NULL);
                src = (const unsigned char *)h->hkey;
                hl = h->hlen;
            }
        }
    }
    if (fz_host_port_dialect(st->d) && memchr(nm->b, ':', nm->len) != NULL &&
        !fz_plain_host_port(nm->b, nm->len, &hl)) {
        /* a form this model does not recompute: take the library's */
        const hr_name *h = hr_names_find(st->ring->names, nm->b, nm->len);
        FZ_CHECK(h != NULL);
        FZ_CHECK(h->hlen <= nm->len);
        src = (const unsigned char *)h->hkey;
        hl = h->hlen;
    }
    nm->hk = fz_xalloc(hl + 1);
    memcpy(nm->hk, src, hl);
    nm->hl = hl;
}

/* Points of digests [0, hashes) of a member. */
static const uint32_t *fz_points(fz_state *st, fz_name *nm, uint32_t hashes)
{
    if (hashes <= nm->cached)
        return nm->cache;
    uint32_t *c = realloc(nm->cache, (size_t)hashes * st->per * sizeof *c);
    if (c == NULL)
        abort();
    nm->cache = c;
    unsigned char *b = fz_xalloc(nm->hl + 16);
    memcpy(b, nm->hk, nm->hl);
    for (uint32_t j = nm->cached; j < hashes; j++) {
        int k = snprintf((char *)b + nm->hl, 16, "-%u", (unsigned)j);
        unsigned char d[16];
        fz_md5(b, nm->hl + (size_t)k, d);
        for (unsigned i = 0; i < st->per; i++)
            c[(size_t)j * st->per + i] = fz_le32(d + 4 * i);
    }
    free(b);
    nm->cached = hashes;
    return c;
}

static int fz_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Dialects whose peer keeps one owner per position (a dict), which also
 * look up the first point > the key. */
static int fz_one_owner(hash_ring_dialect_t d)
{
    return d == HASH_RING_DIALECT_PYTHON || d == HASH_RING_DIALECT_UHASHRING;
}

/* Tie order of member a before member b at a shared position. */
static int fz_tie_before(const fz_state *st, size_t a, size_t b)
{
    switch (st->d) {
    case HASH_RING_DIALECT_PYTHON:
    case HASH_RING_DIALECT_UHASHRING:
    case HASH_RING_DIALECT_SPYMEMCACHED:
    case HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED:
        return a > b; /* the node added last (later in the server list) */
    case HASH_RING_DIALECT_TWEMPROXY: {
        /* the name that sorts first, shorter first then bytewise, compared
         * as hashed (host without :11211, as nutcracker sees its servers);
         * equal hashed names ("h0" and "h0:11211"): the node added first,
         * so that the order never depends on the history of the ring */
        const fz_name *x = &st->pool[st->mem[a]], *y = &st->pool[st->mem[b]];
        if (x->hl != y->hl)
            return x->hl < y->hl;
        int c = memcmp(x->hk, y->hk, x->hl);
        return c != 0 ? c < 0 : a < b;
    }
    default:
        return a < b; /* the node added first */
    }
}

/* The expected continuum of a CRC-32 / SHA-1 dialect: the point counts
 * from the dialect's formula, the rest (positions, owners, shares) from a
 * ring given the model's membership at once, which builds from scratch. */
static void fz_expect_build_diff(fz_state *st, fz_expect *e)
{
    size_t n = st->n;
    memset(e, 0, sizeof *e);
    e->nn = n;
    e->name = fz_xalloc(n * sizeof *e->name);
    e->weight = fz_xalloc(n * sizeof *e->weight);
    e->hashes = fz_xalloc(n * sizeof *e->hashes);
    e->share = fz_xcalloc(n, sizeof *e->share);
    const void *names[FZ_MAX_MEMBERS];
    size_t lens[FZ_MAX_MEMBERS];
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += st->w[i];
    for (size_t i = 0; i < n; i++) {
        e->name[i] = st->mem[i];
        e->weight[i] = st->w[i];
        e->hashes[i] = fz_hashes(st->d, st->w[i], total, n);
        e->np += e->hashes[i];
        names[i] = st->pool[st->mem[i]].b;
        lens[i] = st->pool[st->mem[i]].len;
    }
    hash_ring_t *fresh = NULL;
    hash_ring_snapshot_t *s = NULL;
    FZ_EQ(hash_ring_create(&fresh, st->d), HASH_RING_OK);
    FZ_EQ(hash_ring_add_nodes(fresh, names, lens, st->w, n), HASH_RING_OK);
    FZ_EQ(hash_ring_snapshot_acquire(fresh, &s), HASH_RING_OK);
    hash_ring_destroy(fresh);
    FZ_EQ(hash_ring_snapshot_point_count(s), e->np);
    const char **np_of = fz_xalloc(n * sizeof *np_of);
    for (size_t i = 0; i < n; i++)
        FZ_EQ(hash_ring_snapshot_node(s, i, &np_of[i], NULL, NULL, NULL, &e->share[i]),
              HASH_RING_OK);
    e->pos = fz_xalloc(e->np * sizeof *e->pos);
    e->prod = fz_xalloc(e->np * sizeof *e->prod);
    e->owner = fz_xalloc(e->np * sizeof *e->owner);
    for (size_t i = 0; i < e->np; i++) {
        const char *owner = NULL;
        FZ_EQ(hash_ring_snapshot_point(s, i, &e->pos[i], &owner, NULL), HASH_RING_OK);
        e->owner[i] = (uint32_t)n;
        for (size_t k = 0; k < n; k++)
            if (owner == np_of[k])
                e->owner[i] = (uint32_t)k;
        FZ_CHECK(e->owner[i] < n);
        /* the owner a lookup ending at point i answers with (Dalli: the
         * point before's) */
        e->prod[i] = hr_continuum_owner(s, i);
        FZ_CHECK(e->prod[i] < n);
    }
    free(np_of);
    hash_ring_snapshot_release(s);
}

/* Builds the expected continuum of the model. */
static void fz_expect_build(fz_state *st, fz_expect *e)
{
    size_t n = st->n;
    if (st->diff) {
        fz_expect_build_diff(st, e);
        return;
    }
    memset(e, 0, sizeof *e);
    e->nn = n;
    e->name = fz_xalloc(n * sizeof *e->name);
    e->weight = fz_xalloc(n * sizeof *e->weight);
    e->hashes = fz_xalloc(n * sizeof *e->hashes);
    e->share = fz_xcalloc(n, sizeof *e->share);
    uint64_t total = 0, np = 0;
    for (size_t i = 0; i < n; i++)
        total += fz_eff_weight(st->d, st->w[i]);
    for (size_t i = 0; i < n; i++) {
        e->name[i] = st->mem[i];
        e->weight[i] = st->w[i];
        e->hashes[i] = fz_hashes(st->d, fz_eff_weight(st->d, st->w[i]), total, n);
        FZ_CHECK(e->hashes[i] <= 40u * (n + 10)); /* sanity of the model itself */
        np += (uint64_t)e->hashes[i] * st->per;
    }
    e->np = (size_t)np;
    /* tie rank: sorting (position, rank) puts each run in tie order */
    size_t rank_of[FZ_MAX_MEMBERS], by_rank[FZ_MAX_MEMBERS];
    for (size_t i = 0; i < n; i++) {
        size_t r = 0;
        for (size_t k = 0; k < n; k++)
            r += k != i && fz_tie_before(st, k, i);
        rank_of[i] = r;
        by_rank[r] = i;
    }
    uint64_t *ent = fz_xalloc(e->np * sizeof *ent);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const uint32_t *p = fz_points(st, &st->pool[st->mem[i]], e->hashes[i]);
        for (size_t j = 0; j < (size_t)e->hashes[i] * st->per; j++)
            ent[k++] = (uint64_t)p[j] << 32 | rank_of[i];
    }
    qsort(ent, e->np, sizeof *ent, fz_cmp_u64);
    e->pos = fz_xalloc(e->np * sizeof *e->pos);
    e->prod = fz_xalloc(e->np * sizeof *e->prod);
    e->owner = fz_xalloc(e->np * sizeof *e->owner);
    size_t run = 0;
    for (size_t i = 0; i < e->np; i++) {
        e->pos[i] = (uint32_t)(ent[i] >> 32);
        e->prod[i] = (uint32_t)by_rank[(uint32_t)ent[i]];
        if (i == 0 || e->pos[i] != e->pos[i - 1])
            run = i;
        /* python keeps one owner per position (the winner); the others list
         * each point with the node that produced it */
        e->owner[i] = fz_one_owner(st->d) ? e->prod[run] : e->prod[i];
    }
    free(ent);
    /* shares: the arc ending at a position belongs to its run's winner */
    if (e->np > 0) {
        uint32_t prev = e->pos[e->np - 1];
        e->share[e->prod[0]] += (uint64_t)e->pos[0] + ((uint64_t)1 << 32) - prev;
        prev = e->pos[0];
        for (size_t i = 1; i < e->np; i++) {
            if (e->pos[i] != prev)
                e->share[e->prod[i]] += (uint64_t)e->pos[i] - prev;
            prev = e->pos[i];
        }
    }
}

static const fz_expect *fz_current(fz_state *st)
{
    if (st->dirty) {
        fz_expect_free(&st->cur);
        fz_expect_build(st, &st->cur);
        st->dirty = 0;
    }
    return &st->cur;
}

/* ---- oracles ------------------------------------------------------------ */

/* Index of the point a lookup at pos reaches: linear scan, wrap to 0. */
static size_t fz_first(const fz_state *st, const fz_expect *e, uint32_t pos)
{
    for (size_t i = 0; i < e->np; i++)
        if (st->strict ? e->pos[i] > pos : e->pos[i] >= pos)
            return i;
    return 0;
}

static const fz_name *fz_member_name(const fz_state *st, const fz_expect *e, size_t member)
{
    return &st->pool[e->name[member]];
}

static void fz_check_name(const fz_name *want, const char *got, size_t got_len)
{
    FZ_CHECK(got != NULL);
    FZ_EQ(got_len, want->len);
    FZ_CHECK(memcmp(got, want->b, want->len) == 0);
    FZ_CHECK(got[got_len] == '\0');
}

/* A single-owner answer for ring position pos (rc and name). */
static void fz_check_owner(const fz_state *st, const fz_expect *e, uint32_t pos, int rc,
                           const char *node, size_t node_len)
{
    if (e->np == 0) {
        FZ_EQ(rc, HASH_RING_EEMPTY);
        return;
    }
    FZ_EQ(rc, HASH_RING_OK);
    size_t i = fz_first(st, e, pos);
    fz_check_name(fz_member_name(st, e, e->prod[i]), node, node_len);
}

/* A replica list for pos with at most max entries. */
static void fz_check_replicas(const fz_state *st, const fz_expect *e, uint32_t pos, size_t max,
                              int rc, const char *const *nodes, const size_t *lens, size_t count)
{
    if (e->np == 0) {
        if (max == 0)
            FZ_RC2(rc, HASH_RING_OK, HASH_RING_EEMPTY); /* not specified either way */
        else
            FZ_EQ(rc, HASH_RING_EEMPTY);
        if (rc == HASH_RING_OK)
            FZ_EQ(count, 0);
        return;
    }
    FZ_EQ(rc, HASH_RING_OK);
    unsigned char *seen = fz_xcalloc(e->nn, 1);
    size_t start = fz_first(st, e, pos), found = 0;
    const uint32_t *walk = st->diff ? e->prod : e->owner; /* Dalli: the lookup's owners */
    for (size_t s = 0; s < e->np && found < max; s++) {
        uint32_t o = walk[(start + s) % e->np];
        if (seen[o])
            continue;
        seen[o] = 1;
        FZ_CHECK(found < count);
        const fz_name *want = fz_member_name(st, e, o);
        FZ_CHECK(nodes[found] != NULL);
        if (lens != NULL)
            fz_check_name(want, nodes[found], lens[found]);
        else
            fz_check_name(want, nodes[found], want->len);
        found++;
    }
    FZ_EQ(count, found);
    free(seen);
}

/* ---- checking a snapshot against an expected continuum -------------------- */

static void fz_verify_snapshot(fz_state *st, const hash_ring_snapshot_t *s, const fz_expect *e)
{
    hash_ring_dialect_t dd = (hash_ring_dialect_t)-1;
    FZ_EQ(hash_ring_snapshot_dialect(s, &dd), HASH_RING_OK);
    FZ_EQ(dd, st->d);
    FZ_EQ(hash_ring_snapshot_node_count(s), e->nn);
    uint64_t share_sum = 0;
    const char **np_of = fz_xalloc(e->nn * sizeof *np_of);
    for (size_t i = 0; i < e->nn; i++) {
        const char *name = NULL;
        size_t len = 0, points = 0;
        uint32_t w = 0;
        uint64_t share = 0;
        FZ_EQ(hash_ring_snapshot_node(s, i, &name, &len, &w, &points, &share), HASH_RING_OK);
        fz_check_name(fz_member_name(st, e, i), name, len);
        FZ_EQ(w, e->weight[i]);
        FZ_EQ(points, (uint64_t)e->hashes[i] * st->per);
        FZ_EQ(share, e->share[i]);
        share_sum += share;
        np_of[i] = name;
        /* every out pointer may be NULL */
        FZ_EQ(hash_ring_snapshot_node(s, i, NULL, NULL, NULL, NULL, NULL), HASH_RING_OK);
    }
    FZ_EQ(share_sum, e->np ? (uint64_t)1 << 32 : 0);
    FZ_EQ(hash_ring_snapshot_node(s, e->nn, NULL, NULL, NULL, NULL, NULL), HASH_RING_ENOTFOUND);
    FZ_EQ(hash_ring_snapshot_node(s, SIZE_MAX, NULL, NULL, NULL, NULL, NULL),
          HASH_RING_ENOTFOUND);

    FZ_EQ(hash_ring_snapshot_point_count(s), e->np);
    uint32_t prev = 0;
    for (size_t i = 0; i < e->np; i++) {
        uint32_t pt = 0;
        const char *owner = NULL;
        size_t olen = 0;
        FZ_EQ(hash_ring_snapshot_point(s, i, &pt, &owner, &olen), HASH_RING_OK);
        FZ_CHECK(i == 0 || pt >= prev); /* sorted */
        prev = pt;
        FZ_EQ(pt, e->pos[i]);
        FZ_CHECK(owner == np_of[e->owner[i]]);
        FZ_EQ(olen, fz_member_name(st, e, e->owner[i])->len);
    }
    FZ_EQ(hash_ring_snapshot_point(s, e->np, NULL, NULL, NULL), HASH_RING_ENOTFOUND);
    free(np_of);

    /* internal arrays: positions and producers in tie order */
    FZ_EQ(s->npoints, e->np);
    FZ_EQ(s->nnodes, e->nn);
    for (size_t i = 0; i < e->np; i++) {
        FZ_EQ(hr_continuum_point(s, i), e->pos[i]);
        FZ_EQ(hr_continuum_owner(s, i), e->prod[i]);
    }

    /* lookups by position: the ends, and exact hits and neighbours */
    uint32_t probes[3 * 4 + 2];
    size_t nprobe = 0;
    probes[nprobe++] = 0;
    probes[nprobe++] = UINT32_MAX;
    for (size_t k = 0; k < 4 && e->np > 0; k++) {
        uint32_t p = e->pos[k * e->np / 4];
        probes[nprobe++] = p - 1u;
        probes[nprobe++] = p;
        probes[nprobe++] = p + 1u;
    }
    for (size_t k = 0; k < nprobe; k++) {
        const char *node = NULL;
        size_t len = 0;
        int rc = hash_ring_snapshot_get_node_at(s, probes[k], &node, &len);
        fz_check_owner(st, e, probes[k], rc, node, len);
    }
}

/* The ring's published continuum equals the model's. */
static void fz_check_ring(fz_state *st)
{
    hash_ring_snapshot_t *s = NULL;
    FZ_EQ(hash_ring_snapshot_acquire(st->ring, &s), HASH_RING_OK);
    FZ_CHECK(s != NULL);
    fz_verify_snapshot(st, s, fz_current(st));
    hash_ring_snapshot_release(s);
    /* names once added and now removed are no member and own nothing */
    const fz_expect *e = fz_current(st);
    for (size_t i = 0; i < st->npool; i++) {
        if (!st->pool[i].ever_member || fz_member_index(st, i) != FZ_NONE)
            continue;
        for (size_t k = 0; k < e->nn; k++)
            FZ_CHECK(e->name[k] != i);
    }
}

/* ---- operations ------------------------------------------------------------ */

static void fz_key(fz_state *st, const void **key, size_t *len, unsigned char *buf)
{
    uint8_t sel = in_u8(&st->in);
    *len = sel % 33u;
    in_bytes(&st->in, buf, *len);
    *key = (*len == 0 && (sel & 0x80)) ? NULL : buf; /* NULL is fine with length 0 */
}

static void fz_apply_add(fz_state *st, size_t pool, uint32_t w)
{
    FZ_CHECK(st->n < FZ_MAX_MEMBERS);
    st->mem[st->n] = pool;
    st->w[st->n] = w;
    st->n++;
    st->pool[pool].ever_member = 1;
    if (!st->diff)
        fz_resolve_hashed(st, &st->pool[pool]);
    st->dirty = 1;
}

static void op_add(fz_state *st)
{
    fz_ref r = fz_gen_name(st);
    uint32_t w = fz_gen_weight(st);
    if (st->n == FZ_MAX_MEMBERS && r.pool != FZ_NONE && fz_member_index(st, r.pool) == FZ_NONE)
        return; /* model capacity */
    int rc = hash_ring_add_node(st->ring, r.ptr, r.len, w);
    if (r.pool == FZ_NONE) {
        FZ_EQ(rc, HASH_RING_EINVAL);
    } else if (fz_member_index(st, r.pool) != FZ_NONE) {
        FZ_EQ(rc, HASH_RING_EEXIST);
    } else {
        FZ_EQ(rc, HASH_RING_OK);
        fz_apply_add(st, r.pool, w);
    }
    fz_check_ring(st);
}

static void op_add_batch(fz_state *st)
{
    uint8_t sel = in_u8(&st->in);
    size_t count = sel % (FZ_MAX_BATCH + 1u);
    int bulk = (sel & 0xf0) == 0xf0; /* many nodes: reaches the > 64 replica paths */
    if (bulk)
        count = 60u + sel % 12u;
    if (count > FZ_MAX_MEMBERS - st->n)
        count = FZ_MAX_MEMBERS - st->n;
    const void *names[72] = {NULL};
    size_t lens[72] = {0}, pools[72];
    uint32_t weights[72] = {0};
    int use_weights = (sel & 0x08) != 0;
    uint8_t seed = bulk ? in_u8(&st->in) : 0;
    for (size_t i = 0; i < count; i++) {
        fz_ref r;
        if (bulk) {
            int len = snprintf((char *)st->buf, sizeof st->buf, "bulk-%u-%zu", seed, i);
            r = fz_name_bytes(st, st->buf, (size_t)len);
            weights[i] = 1u + (uint32_t)((seed + i) % 3u);
        } else {
            r = fz_gen_name(st);
            weights[i] = fz_gen_weight(st);
        }
        names[i] = r.ptr;
        lens[i] = r.len;
        pools[i] = r.pool;
    }
    int invalid = 0, dup = 0;
    for (size_t i = 0; i < count; i++) {
        if (pools[i] == FZ_NONE) {
            invalid = 1;
            continue;
        }
        if (fz_member_index(st, pools[i]) != FZ_NONE)
            dup = 1;
        for (size_t k = 0; k < i; k++)
            if (pools[k] == pools[i])
                dup = 1;
    }
    int rc;
    if (count == 0 && (sel & 0x04))
        rc = hash_ring_add_nodes(st->ring, NULL, NULL, NULL, 0);
    else
        rc = hash_ring_add_nodes(st->ring, names, lens, use_weights ? weights : NULL, count);
    if (count == 0) {
        FZ_EQ(rc, HASH_RING_OK);
    } else if (invalid && dup) {
        FZ_RC2(rc, HASH_RING_EINVAL, HASH_RING_EEXIST); /* precedence not specified */
    } else if (invalid) {
        FZ_EQ(rc, HASH_RING_EINVAL);
    } else if (dup) {
        FZ_EQ(rc, HASH_RING_EEXIST);
    } else {
        FZ_EQ(rc, HASH_RING_OK);
        for (size_t i = 0; i < count; i++)
            fz_apply_add(st, pools[i], use_weights ? weights[i] : 1u);
    }
    fz_check_ring(st);
}

static void op_remove(fz_state *st)
{
    fz_ref r = fz_gen_name(st);
    int rc = hash_ring_remove_node(st->ring, r.ptr, r.len);
    size_t idx = r.pool == FZ_NONE ? FZ_NONE : fz_member_index(st, r.pool);
    if (r.pool == FZ_NONE) {
        FZ_EQ(rc, HASH_RING_EINVAL);
    } else if (idx == FZ_NONE) {
        FZ_EQ(rc, HASH_RING_ENOTFOUND);
    } else {
        FZ_EQ(rc, HASH_RING_OK);
        for (size_t i = idx; i + 1 < st->n; i++) {
            st->mem[i] = st->mem[i + 1];
            st->w[i] = st->w[i + 1];
        }
        st->n--;
        st->dirty = 1;
    }
    fz_check_ring(st);
}

static void op_set_weight(fz_state *st)
{
    fz_ref r = fz_gen_name(st);
    uint32_t w = fz_gen_weight(st);
    size_t idx = r.pool == FZ_NONE ? FZ_NONE : fz_member_index(st, r.pool);
    /* setting the current weight: a successful no-op */
    if (idx != FZ_NONE && (in_u8(&st->in) & 1))
        w = st->w[idx];
    int rc = hash_ring_set_weight(st->ring, r.ptr, r.len, w);
    if (r.pool == FZ_NONE) {
        FZ_EQ(rc, HASH_RING_EINVAL);
    } else if (idx == FZ_NONE) {
        FZ_EQ(rc, HASH_RING_ENOTFOUND);
    } else {
        FZ_EQ(rc, HASH_RING_OK);
        if (st->w[idx] != w) {
            st->w[idx] = w;
            st->dirty = 1;
        }
    }
    fz_check_ring(st);
}

/* remove_nodes: members picked by index (mostly valid calls) or names
 * generated freely (non-members, invalid names, repeats). */
static void op_remove_batch(fz_state *st)
{
    uint8_t sel = in_u8(&st->in);
    size_t count = sel % (FZ_MAX_BATCH + 1u);
    int pick = (sel & 0x10) != 0;
    if (pick && count > st->n)
        count = st->n;
    const void *names[FZ_MAX_BATCH] = {NULL};
    size_t lens[FZ_MAX_BATCH] = {0}, pools[FZ_MAX_BATCH];
    for (size_t i = 0; i < count; i++) {
        if (pick) {
            size_t m = st->mem[(in_u8(&st->in) + i) % st->n];
            names[i] = st->pool[m].b;
            lens[i] = st->pool[m].len;
            pools[i] = m;
        } else {
            fz_ref r = fz_gen_name(st);
            names[i] = r.ptr;
            lens[i] = r.len;
            pools[i] = r.pool;
        }
    }
    int invalid = 0, missing = 0, repeat = 0;
    for (size_t i = 0; i < count; i++) {
        if (pools[i] == FZ_NONE) {
            invalid = 1;
            continue;
        }
        missing |= fz_member_index(st, pools[i]) == FZ_NONE;
        for (size_t k = 0; k < i; k++)
            repeat |= pools[k] == pools[i];
    }
    int rc = count == 0 && (sel & 0x20) ? hash_ring_remove_nodes(st->ring, NULL, NULL, 0)
                                        : hash_ring_remove_nodes(st->ring, names, lens, count);
    if (count == 0) {
        FZ_EQ(rc, HASH_RING_OK);
    } else if (invalid) {
        FZ_EQ(rc, HASH_RING_EINVAL);
    } else if (missing && repeat) {
        FZ_RC2(rc, HASH_RING_ENOTFOUND, HASH_RING_EINVAL); /* the first met decides */
    } else if (missing) {
        FZ_EQ(rc, HASH_RING_ENOTFOUND);
    } else if (repeat) {
        FZ_EQ(rc, HASH_RING_EINVAL);
    } else {
        FZ_EQ(rc, HASH_RING_OK);
        size_t kept = 0;
        for (size_t i = 0; i < st->n; i++) {
            int gone = 0;
            for (size_t k = 0; k < count; k++)
                gone |= pools[k] == st->mem[i];
            if (!gone) {
                st->mem[kept] = st->mem[i];
                st->w[kept++] = st->w[i];
            }
        }
        st->n = kept;
        st->dirty = 1;
    }
    fz_check_ring(st);
}

/* set_nodes: the current list edited (members dropped, new names put
 * anywhere, members swapped, weights changed: a configuration reload), or a
 * list generated freely (repeats, invalid names). */
static void op_set_nodes(fz_state *st)
{
    uint8_t sel = in_u8(&st->in);
    size_t count = 0;
    size_t pools[FZ_MAX_MEMBERS];
    uint32_t weights[FZ_MAX_MEMBERS];
    const void *names[FZ_MAX_MEMBERS];
    size_t lens[FZ_MAX_MEMBERS];
    int use_weights = (sel & 0x08) != 0;
    if (sel & 0x10) {
        for (size_t i = 0; i < st->n; i++)
            if (in_u8(&st->in) % 8u != 0) { /* most are kept */
                pools[count] = st->mem[i];
                weights[count++] = (in_u8(&st->in) & 7u) ? st->w[i] : fz_gen_weight(st);
            }
        size_t add = sel % 4u;
        for (size_t k = 0; k < add && count < FZ_MAX_MEMBERS; k++) {
            fz_ref r = fz_gen_name(st);
            size_t at = in_u8(&st->in) % (count + 1);
            memmove(&pools[at + 1], &pools[at], (count - at) * sizeof *pools);
            memmove(&weights[at + 1], &weights[at], (count - at) * sizeof *weights);
            pools[at] = r.pool;
            weights[at] = fz_gen_weight(st);
            count++;
        }
        if (count > 1 && (sel & 0x20)) {
            size_t a = in_u8(&st->in) % count, b = in_u8(&st->in) % count, t = pools[a];
            uint32_t tw = weights[a];
            pools[a] = pools[b];
            weights[a] = weights[b];
            pools[b] = t;
            weights[b] = tw;
        }
        use_weights = 1;
    } else {
        count = sel % (FZ_MAX_BATCH + 1u);
        for (size_t i = 0; i < count; i++) {
            pools[i] = fz_gen_name(st).pool;
            weights[i] = fz_gen_weight(st);
        }
    }
    int invalid = 0, dup = 0;
    for (size_t i = 0; i < count; i++) {
        if (pools[i] == FZ_NONE) {
            invalid = 1;
            names[i] = (sel & 0x40) ? NULL : "";
            lens[i] = (sel & 0x40) ? 1 : 0;
            continue;
        }
        names[i] = st->pool[pools[i]].b;
        lens[i] = st->pool[pools[i]].len;
        for (size_t k = 0; k < i; k++)
            dup |= pools[k] == pools[i];
    }
    int rc = count == 0 && (sel & 0x04)
                 ? hash_ring_set_nodes(st->ring, NULL, NULL, NULL, 0)
                 : hash_ring_set_nodes(st->ring, names, lens, use_weights ? weights : NULL, count);
    if (invalid) {
        FZ_EQ(rc, HASH_RING_EINVAL);
    } else if (dup) {
        FZ_EQ(rc, HASH_RING_EEXIST);
    } else {
        FZ_EQ(rc, HASH_RING_OK);
        st->n = 0;
        st->dirty = 1;
        for (size_t i = 0; i < count; i++)
            fz_apply_add(st, pools[i], use_weights ? weights[i] : 1u);
    }
    fz_check_ring(st);
}

static void op_lookup(fz_state *st)
{
    unsigned char kb[64];
    const void *key;
    size_t klen;
    fz_key(st, &key, &klen, kb);
    uint32_t pos = fz_dialect_key_pos(st->d, key, klen), lib_pos = 0;
    FZ_EQ(hash_ring_position(key, klen, &lib_pos), HASH_RING_OK);
    FZ_EQ(lib_pos, fz_key_pos(key, klen)); /* MD5, whatever the dialect */
    const char *node = NULL;
    size_t len = 0;
    int rc = hash_ring_get_node(st->ring, key, klen, &node, &len);
    fz_check_owner(st, fz_current(st), pos, rc, node, len);
    /* node_len may be NULL */
    const char *node2 = NULL;
    int rc2 = hash_ring_get_node(st->ring, key, klen, &node2, NULL);
    FZ_EQ(rc2, rc);
    FZ_CHECK(rc != HASH_RING_OK || node2 == node);

    /* The same key first in a batch of 1 to 8 keys: every answer the
     * model's and the single call's; the index batch names the same nodes. */
    const void *keys[8];
    size_t lens[8], nk = 1 + in_u8(&st->in) % 8u;
    unsigned char kbs[8][64];
    keys[0] = key;
    lens[0] = klen;
    for (size_t k = 1; k < nk; k++)
        fz_key(st, &keys[k], &lens[k], kbs[k]);
    const char *bn[8];
    size_t bl[8], idx[8];
    int brc = hash_ring_get_node_batch(st->ring, keys, lens, nk, bn, bl);
    FZ_EQ(brc, rc);
    if (brc != HASH_RING_OK)
        return;
    FZ_CHECK(bn[0] == node);
    hash_ring_snapshot_t *snap = NULL;
    FZ_EQ(hash_ring_snapshot_acquire(st->ring, &snap), HASH_RING_OK);
    FZ_EQ(hash_ring_snapshot_get_index_batch(snap, keys, lens, nk, idx), HASH_RING_OK);
    for (size_t k = 0; k < nk; k++) {
        fz_check_owner(st, fz_current(st), fz_dialect_key_pos(st->d, keys[k], lens[k]), brc, bn[k],
                       bl[k]);
        const char *by_index = NULL;
        FZ_EQ(hash_ring_snapshot_node(snap, idx[k], &by_index, NULL, NULL, NULL, NULL),
              HASH_RING_OK);
        FZ_CHECK(by_index == bn[k]);
    }
    hash_ring_snapshot_release(snap);
}

static void op_replicas(fz_state *st)
{
    unsigned char kb[64];
    const void *key;
    size_t klen;
    fz_key(st, &key, &klen, kb);
    uint8_t sel = in_u8(&st->in);
    size_t max = (sel & 0x80) ? 65u + sel % 40u : sel % (st->n + 3u);
    const char *nodes[128];
    size_t lens[128], count = SIZE_MAX;
    int with_lens = (sel & 0x40) != 0;
    int rc = hash_ring_get_nodes(st->ring, key, klen, nodes, with_lens ? lens : NULL, max,
                                 &count);
    fz_check_replicas(st, fz_current(st), fz_dialect_key_pos(st->d, key, klen), max, rc, nodes,
                      with_lens ? lens : NULL, count);
}

static void fz_release_held(fz_state *st, size_t k)
{
    hash_ring_snapshot_release(st->held[k].snap);
    fz_expect_free(&st->held[k].e);
    st->held[k] = st->held[--st->nheld];
}

static void op_snap_acquire(fz_state *st)
{
    if (st->nheld == FZ_MAX_HELD)
        fz_release_held(st, 0);
    fz_held *h = &st->held[st->nheld];
    FZ_EQ(hash_ring_snapshot_acquire(st->ring, &h->snap), HASH_RING_OK);
    fz_expect_copy(&h->e, fz_current(st));
    st->nheld++;
}

/* Queries a held snapshot: it still answers for its own membership. */
static void fz_query_held(fz_state *st, fz_held *h, int full)
{
    if (full)
        fz_verify_snapshot(st, h->snap, &h->e);
    unsigned char kb[64];
    const void *key;
    size_t klen;
    fz_key(st, &key, &klen, kb);
    uint32_t pos = fz_dialect_key_pos(st->d, key, klen);
    const char *node = NULL;
    size_t len = 0;
    int rc = hash_ring_snapshot_get_node(h->snap, key, klen, &node, &len);
    fz_check_owner(st, &h->e, pos, rc, node, len);
    const char *nodes[128];
    size_t lens[128], count = SIZE_MAX;
    size_t max = in_u8(&st->in) % 100u;
    rc = hash_ring_snapshot_get_nodes(h->snap, key, klen, nodes, lens, max, &count);
    fz_check_replicas(st, &h->e, pos, max, rc, nodes, lens, count);
}

static void op_snap_query(fz_state *st)
{
    if (st->nheld == 0)
        return;
    fz_query_held(st, &st->held[in_u8(&st->in) % st->nheld], 1);
}

static void op_snap_release(fz_state *st)
{
    if (st->nheld > 0)
        fz_release_held(st, in_u8(&st->in) % st->nheld);
}

/* Calls with invalid (or borderline) arguments; the ring must not change. */
static void op_invalid(fz_state *st)
{
    hash_ring_t *r = st->ring;
    const fz_expect *e = fz_current(st);
    const char *node = NULL, *nodes[4];
    size_t len = 0, count = 7, lens[1] = {3};
    const void *names[1] = {"abc"};
    uint32_t pos = 0;
    hash_ring_snapshot_t *snap = NULL;
    hash_ring_dialect_t d;
    switch (in_u8(&st->in) % 16u) {
    case 0:
        FZ_EQ(hash_ring_add_node(NULL, "abc", 3, 1), HASH_RING_EINVAL);
        break;
    case 1:
        FZ_EQ(hash_ring_add_nodes(r, NULL, lens, NULL, 1), HASH_RING_EINVAL);
        break;
    case 2:
        FZ_EQ(hash_ring_add_nodes(r, names, NULL, NULL, 1), HASH_RING_EINVAL);
        break;
    case 3:
        FZ_EQ(hash_ring_remove_node(NULL, "abc", 3), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_remove_node(r, NULL, 3), HASH_RING_EINVAL);
        break;
    case 4:
        FZ_EQ(hash_ring_set_weight(NULL, "abc", 3, 1), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_set_weight(r, NULL, 3, 1), HASH_RING_EINVAL);
        break;
    case 5:
        FZ_EQ(hash_ring_get_node(NULL, "k", 1, &node, &len), HASH_RING_EINVAL);
        break;
    case 6:
        FZ_EQ(hash_ring_get_node(r, NULL, 1, &node, &len), HASH_RING_EINVAL);
        break;
    case 7:
        FZ_EQ(hash_ring_get_node(r, "k", 1, NULL, &len), HASH_RING_EINVAL);
        break;
    case 8:
        FZ_EQ(hash_ring_get_nodes(r, "k", 1, nodes, NULL, 4, NULL), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_get_nodes(NULL, "k", 1, nodes, NULL, 4, &count), HASH_RING_EINVAL);
        break;
    case 9:
        FZ_EQ(hash_ring_get_nodes(r, "k", 1, NULL, NULL, 3, &count), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_get_nodes(r, NULL, 2, nodes, NULL, 3, &count), HASH_RING_EINVAL);
        break;
    case 10: {
        int rc = hash_ring_get_nodes(r, "k", 1, NULL, NULL, 0, &count);
        fz_check_replicas(st, e, fz_dialect_key_pos(st->d, "k", 1), 0, rc, nodes, NULL, count);
        break;
    }
    case 11:
        FZ_EQ(hash_ring_snapshot_acquire(r, NULL), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_snapshot_acquire(NULL, &snap), HASH_RING_EINVAL);
        FZ_CHECK(snap == NULL);
        break;
    case 12: { /* the empty key, also as NULL with length 0 */
        int rc = hash_ring_get_node(r, "", 0, &node, &len);
        fz_check_owner(st, e, fz_dialect_key_pos(st->d, "", 0), rc, node, len);
        const char *node2 = NULL;
        FZ_EQ(hash_ring_get_node(r, NULL, 0, &node2, NULL), rc);
        FZ_CHECK(node2 == node);
        break;
    }
    case 13:
        FZ_EQ(hash_ring_position(NULL, 1, &pos), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_position("k", 1, NULL), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_position(NULL, 0, &pos), HASH_RING_OK);
        FZ_EQ(pos, fz_key_pos("", 0));
        break;
    case 14:
        FZ_EQ(hash_ring_get_dialect(NULL, &d), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_get_dialect(r, NULL), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_get_dialect(r, &d), HASH_RING_OK);
        FZ_EQ(d, st->d);
        break;
    default:
        FZ_EQ(hash_ring_snapshot_get_node(NULL, "k", 1, &node, &len), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_snapshot_get_nodes(NULL, "k", 1, nodes, NULL, 2, &count),
              HASH_RING_EINVAL);
        FZ_EQ(hash_ring_snapshot_get_node_at(NULL, 5, &node, &len), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_snapshot_node_count(NULL), 0);
        FZ_EQ(hash_ring_snapshot_point_count(NULL), 0);
        FZ_EQ(hash_ring_snapshot_node(NULL, 0, NULL, NULL, NULL, NULL, NULL), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_snapshot_point(NULL, 0, NULL, NULL, NULL), HASH_RING_EINVAL);
        FZ_EQ(hash_ring_snapshot_dialect(NULL, &d), HASH_RING_EINVAL);
        hash_ring_snapshot_release(NULL);
        break;
    }
    fz_check_ring(st);
}

/* Lookups by exact position around points chosen by the input. */
static void op_probe(fz_state *st)
{
    hash_ring_snapshot_t *s = NULL;
    FZ_EQ(hash_ring_snapshot_acquire(st->ring, &s), HASH_RING_OK);
    const fz_expect *e = fz_current(st);
    for (int k = 0; k < 4; k++) {
        uint32_t p = in_u32(&st->in);
        if (e->np > 0 && (p & 1))
            p = e->pos[(p >> 1) % e->np] + (uint32_t)((int)(p >> 8 & 3) - 1);
        const char *node = NULL;
        size_t len = 0;
        int rc = hash_ring_snapshot_get_node_at(s, p, &node, &len);
        fz_check_owner(st, e, p, rc, node, len);
    }
    hash_ring_snapshot_release(s);
}

static void fz_run(hash_ring_dialect_t d, const uint8_t *data, size_t size)
{
    fz_state *st = fz_xcalloc(1, sizeof *st);
    st->d = d;
    st->per = fz_per_digest(d);
    st->diff = fz_diff_dialect(d);
    st->strict = fz_one_owner(d) || d == HASH_RING_DIALECT_DALLI;
    st->in.p = data;
    st->in.n = size;
    st->dirty = 1;
    fz_ctx.dialect = hash_ring_dialect_name(d);
    fz_ctx.step = 0;
    fz_ctx.op = 0;
    FZ_CHECK(fz_ctx.dialect != NULL);
    FZ_EQ(hash_ring_create(&st->ring, d), HASH_RING_OK);
    fz_check_ring(st);
    while (!in_done(&st->in) && fz_ctx.step < FZ_MAX_STEPS) {
        fz_ctx.step++;
        fz_ctx.op = in_u8(&st->in) % 15u;
        switch (fz_ctx.op) {
        case 0:
        case 1:
            op_add(st);
            break;
        case 2:
            op_add_batch(st);
            break;
        case 3:
            op_remove(st);
            break;
        case 4:
            op_set_weight(st);
            break;
        case 5:
            op_lookup(st);
            break;
        case 6:
            op_replicas(st);
            break;
        case 7:
            op_snap_acquire(st);
            break;
        case 8:
            op_snap_query(st);
            break;
        case 9:
            op_snap_release(st);
            break;
        case 10:
            op_invalid(st);
            break;
        case 11:
            op_probe(st);
            break;
        case 13:
            op_remove_batch(st);
            break;
        case 14:
            op_set_nodes(st);
            break;
        default: /* a held snapshot, lightly: key lookups only */
            if (st->nheld > 0)
                fz_query_held(st, &st->held[in_u8(&st->in) % st->nheld], 0);
            break;
        }
    }
    /* Snapshots outlive the ring. */
    hash_ring_destroy(st->ring);
    st->ring = NULL;
    fz_ctx.op = 99;
    while (st->nheld > 0) {
        fz_verify_snapshot(st, st->held[st->nheld - 1].snap, &st->held[st->nheld - 1].e);
        fz_release_held(st, st->nheld - 1);
    }
    fz_expect_free(&st->cur);
    for (size_t i = 0; i < st->npool; i++) {
        free(st->pool[i].b);
        free(st->pool[i].hk);
        free(st->pool[i].cache);
    }
    free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned mask = data[0] & 0x7fu, first = 0;
    if (data[0] & 0x80u) /* the dialects added in 1.1 */
        first = HASH_RING_DIALECT_SPYMEMCACHED;
    if (mask == 0)
        mask = 0x7fu;
    /* FUZZ_RING_OPS_DIALECTS=<mask> (e.g. 0x6f: all but twemproxy) limits a
     * campaign to some dialects, e.g. to look past a known failure. */
    static unsigned env_mask;
    if (env_mask == 0) {
        const char *e = getenv("FUZZ_RING_OPS_DIALECTS");
        env_mask = e ? (unsigned)strtoul(e, NULL, 0) & 0x7fu : 0x7fu;
        if (env_mask == 0)
            env_mask = 0x7fu;
    }
    mask &= env_mask;
    for (unsigned d = 0; d < FZ_NDIALECTS; d++)
        if (mask & (1u << d))
            fz_run((hash_ring_dialect_t)(first + d), data + 1, size - 1);
    return 0;
}
