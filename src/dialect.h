/* dialect.h - what distinguishes the ketama dialects (internal).
 *
 * One table row per dialect; the continuum builder and the lookup read the
 * row and have no per-dialect code paths beyond these fields. */
#ifndef HR_DIALECT_H
#define HR_DIALECT_H

#include "digest.h"
#include "hash_ring.h"

#include <stddef.h>
#include <stdint.h>

/* Who owns a position that two nodes both produce. */
typedef enum hr_tie {
    HR_TIE_LAST,  /* the node added last (Python's dict overwrite) */
    HR_TIE_FIRST, /* the node added first */
    HR_TIE_NAME   /* the node whose hashed name sorts first: shorter, then bytewise,
                     then the node added first */
} hr_tie;

/* How hashes per node are computed from weight w, total T and count n. */
typedef enum hr_formula {
    HR_F_EXACT,        /* floor(40*n*w / T), exact integers */
    HR_F_KETAMA,       /* floorf((float)w/(float)T * 40.0 * (float)n) */
    HR_F_LIBMEMCACHED, /* floor((float)(pct*160/4*(float)n + 1e-10)), pct float */
    HR_F_TWEMPROXY,    /* the same, T taken modulo 2^32 (a uint32_t sum) */
    HR_F_SPYMEMCACHED, /* the same in Java: w and T Java ints (modulo 2^32, signed) */
    HR_F_DOUBLE,       /* Math.floor(w / T * 40 * n) in double */
    HR_F_FORTY,        /* 40, whatever the weights (spymemcached unweighted) */
    HR_F_TIMES160,     /* w * 160 (nginx), saturated */
    HR_F_PECL,         /* w * 160 in a 32-bit unsigned int, modulo 2^32 (pecl memcache) */
    HR_F_DALLI         /* floor((n * 160 * w) / (double)T), the product exact */
} hr_formula;

/* How a dialect makes a node's points from the bytes it hashes (hkey). */
typedef enum hr_points {
    HR_PT_MD5,      /* MD5(hkey "-" j): per_digest little-endian words each */
    HR_PT_CRC_CHAIN, /* nginx: p(j) = crc32(hkey u32le(p(j - 1))), p(-1) = 0 */
    HR_PT_SHA1,     /* Dalli: SHA-1(hkey ":" j), first 4 bytes big-endian */
    HR_PT_CRC       /* pecl memcache: crc32(hkey "-" j) */
} hr_points;

/* How a dialect places a key on the ring. */
typedef enum hr_keypos {
    HR_KEY_MD5,  /* first 4 bytes of MD5(key), little-endian (hr_position) */
    HR_KEY_CRC,  /* crc32(key) */
    HR_KEY_PECL  /* bucket threshold (crc32(mangled key) % 1024) * 4194303 */
} hr_keypos;

/* How a dialect turns a node name into the bytes it hashes (the peers hash
 * "host" for port 11211, "host:port" otherwise; they differ in the details:
 * see hr_dialect_hash_name). */
enum {
    HR_HP_NONE = 0,     /* the name as it is */
    HR_HP_LIBMEMCACHED, /* the port as a number (as libmemcached parses it) */
    HR_HP_TWEMPROXY,    /* the port as written (as nutcracker's config has it) */
    HR_HP_NODE_MEMCACHED, /* "host" when the text after the first ':' reads as 11211 */
    HR_HP_NGINX,        /* "host" NUL "port", split at the last ':' */
    HR_HP_DALLI,        /* Dalli's "host:port": 11211 filled in, brackets dropped */
    HR_HP_PECL          /* pecl's "host:port": 11211 filled in */
};

typedef struct hr_dialect {
    hash_ring_dialect_t id;
    const char *name;
    unsigned per_digest;    /* points taken from each digest: 3 or 4 */
    unsigned strict;        /* 1: first point > position; 0: >= */
    hr_tie tie;
    hr_formula formula;
    unsigned zero_as_one;   /* weight 0 counts as 1 */
    unsigned host_port;     /* HR_HP_*: how a node name becomes the bytes hashed */
    unsigned report_winner; /* continuum dump shows the winner for shared points */
    hr_points points;       /* point generator */
    hr_keypos key;          /* key position */
    unsigned pred_owner;    /* 1: a key belongs to the last point <= its position
                               (Dalli): each entry stores its predecessor's owner
                               and lookups search strictly (strict must be 1) */
} hr_dialect;

/* The row of a dialect, or NULL for an unknown value. */
const hr_dialect *hr_dialect_get(hash_ring_dialect_t id);

/* The weight a dialect computes with. */
static inline uint64_t hr_dialect_weight(const hr_dialect *d, uint32_t w)
{
    return (w == 0 && d->zero_as_one) ? 1u : w;
}

/* Hashes (digests) per node for effective weight w of total T among n
 * nodes (w <= T, n >= 1, T >= 1, n <= HR_MAX_NODES); UINT32_MAX when
 * w * 160 does not fit.  twemproxy and spymemcached-weighted take T as
 * their peers' 32-bit sums do (w > T then possible). */
uint32_t hr_dialect_hashes(const hr_dialect *d, uint64_t w, uint64_t total, size_t n);

/* Maximum member count: every point stores its owner's membership index
 * in at most 24 bits (search.h: HR_MAX_OWNER_BITS), and every point count
 * and index stays inside 32 bits (at most 41 hashes of 4 points a node in
 * the normalised formulas, 160 n in Dalli's; the w * 160 dialects, and the
 * 32-bit totals of twemproxy and spymemcached-weighted (up to 40 (n + 10)
 * hashes a node), are held below 2^32 points by hr_continuum_alloc_points). */
#define HR_MAX_NODES (1u << 24)

/* Room hr_dialect_hash_name needs beyond the name's length (":11211"). */
#define HR_HASH_NAME_EXTRA 6

/* The bytes a dialect hashes for a node name, written to out (room for
 * len + HR_HASH_NAME_EXTRA bytes); returns their count.  Equal to the name
 * except under the host:port rules. */
size_t hr_dialect_hash_name(const hr_dialect *d, const char *name, size_t len, char *out);

/* Nonzero when node a's point comes before (wins over) node b's point at the
 * same position; ia/ib are membership indexes.  0 when they are one node
 * (two of its own points at one position: their order does not matter). */
int hr_dialect_tie_before(const hr_dialect *d, size_t ia, const char *na, size_t la, size_t ib,
                          const char *nb, size_t lb);

/* The points of hashed name (hkey, hlen) for hash indexes j in
 * [j_begin, j_end), per_digest points each, written to out in order.
 * HASH_RING_OK, HASH_RING_ENOMEM or HASH_RING_ECRYPTO. */
int hr_dialect_points(const hr_dialect *d, const char *hkey, size_t hlen, uint32_t j_begin,
                      uint32_t j_end, uint32_t *out);

/* A key's position in a dialect that does not use MD5 (HR_KEY_CRC,
 * HR_KEY_PECL): 0 .. 2^32 - 1. */
int64_t hr_dialect_position_other(const hr_dialect *d, const void *key, size_t len);

/* The key's ring position in dialect d, or a negative HASH_RING_* code.
 * MD5 dialects take one predictable branch more than hr_position. */
static inline int64_t hr_dialect_position(const hr_dialect *d, const void *key, size_t len)
{
    if (d->key == HR_KEY_MD5)
        return hr_position(key, len);
    return hr_dialect_position_other(d, key, len);
}

#endif
