/*
 * hash_ring.h - consistent hashing compatible with the ketama family.
 *
 * Copyright (c) 2026 The hash_ring developers. BSD-3-Clause, see LICENSE.
 *
 * This header is the reference for the library: every function below states
 * its contract, its error codes, how long returned pointers stay valid, what
 * may be called concurrently and the version it appeared in.
 *
 * OVERVIEW
 *   A ring places keys (arbitrary bytes) on nodes (named by arbitrary bytes,
 *   with a weight).  By default it places them exactly as the Python package
 *   hash_ring 1.2/1.3 does; other dialects reproduce node hash_ring,
 *   libketama, libmemcached (KETAMA_WEIGHTED), twemproxy, npm hashring,
 *   and (since 1.1) spymemcached, uhashring, npm memcached, nginx, Dalli
 *   and pecl memcache.
 *
 *   NOTE: hash_ring_get_node() looks up the node that owns a KEY.  It does
 *   not look a node up by its name (an unrelated older library uses the same
 *   function name for that); every symbol here is versioned HASH_RING_1 so
 *   the two libraries can never bind to each other's symbols.
 *
 * CONVENTIONS (also the rules for FFI bindings)
 *   - Every name starts with hash_ring_ / HASH_RING_.  Handles are opaque;
 *     no struct layout is ever part of the ABI, so a binding declares none.
 *   - Keys and names are (pointer, length) pairs of bytes; they may contain
 *     NUL or any other byte; nothing is truncated.  A pointer may be NULL
 *     only when its length is 0 (where an empty value is allowed).
 *   - Functions returning int return HASH_RING_OK (0) or a negative
 *     HASH_RING_E* code; out-parameters are written only on success.
 *     No function aborts, prints or keeps global error state.
 *   - On any error, including allocation failure, a ring is left exactly as
 *     it was.
 *   - The library never takes ownership of caller memory and copies every
 *     name it keeps.  Strings it returns are owned by the library and are
 *     NUL-terminated (the NUL is not counted in the returned length).
 *
 * THREAD SAFETY
 *   - A hash_ring_t may be used from any number of threads at once for
 *     lookups (hash_ring_get_node, hash_ring_get_nodes,
 *     hash_ring_get_node_batch, hash_ring_snapshot_acquire) and membership
 *     changes (add, remove, set_weight).  Membership changes are
 *     serialized among themselves by an internal mutex; lookups never take
 *     that mutex and never wait for a rebuild.  Only hash_ring_destroy() must not race with anything.
 *   - Every membership change builds a complete new continuum off to the
 *     side (no lock is held for readers while hashing or sorting) and
 *     publishes it with one atomic pointer exchange.  A lookup sees the old
 *     continuum or the new one, never a mix.  Old continuums are reclaimed
 *     by an epoch scheme: a lookup announces itself in a free slot of the
 *     ring for its duration; a writer, after publishing, advances the
 *     epoch and waits until the lookups that began before it have left
 *     before it drops its reference to the old continuum.  The library
 *     keeps no per-thread state.
 *   - fork(): a child process may use and change its rings whatever the
 *     parent's other threads were doing.  Fork handlers hold every ring's
 *     writer mutex across fork(), so fork() waits for membership changes
 *     in progress: in the child a change another thread was making has
 *     happened completely or not at all.  Lookups in progress are not
 *     waited for.  (Do not call fork() from a signal handler that
 *     interrupted a membership change or a lookup.)
 *   - A lookup (hash_ring_get_node, hash_ring_get_nodes with max <= 64)
 *     may be made from a signal handler, also one that interrupted a
 *     lookup (hash_ring_get_nodes with max > 64 allocates).  That holds
 *     where the library hashes with libcrypto's low-level MD5 functions,
 *     as it does wherever OpenSSL provides them (CMake says which at
 *     configure time); a build with HASH_RING_FORCE_EVP, or against an
 *     OpenSSL without them, hashes with EVP_Digest, which allocates: there
 *     lookups are not async-signal-safe.  It also needs lock-free 64-bit
 *     atomics (every 64-bit target, and 32-bit x86 and ARMv7); where the
 *     compiler's are built on locks, lookups are thread-safe but not
 *     async-signal-safe.
 *   - A snapshot (hash_ring_snapshot_t) is immutable and reference counted;
 *     it may be queried from any number of threads at once and released by
 *     any thread.  It stays valid after the ring is destroyed.
 *   - The library may be loaded with dlopen() (it uses no thread-local
 *     storage and does nothing at load time) and unloaded with dlclose()
 *     once no call into it is running and its rings and snapshots are
 *     gone: no thread keeps anything of it, and its fork handlers go with
 *     it where the C library unloads them with the library (glibc).  (A
 *     build that hashes with EVP keeps libcrypto's MD5 method, fetched
 *     once, for the life of the process.)
 *
 * LIFETIMES
 *   - Node names returned by lookups on a ring stay valid until
 *     hash_ring_destroy() of that ring, even if the node is removed (the
 *     ring keeps every name it has seen; re-adding a name reuses it).
 *     Each distinct name costs its length plus about 100 bytes (twice its
 *     length in the dialects that hash a host:port name in another form)
 *     until the ring is destroyed: a ring that sees an endless stream of new names
 *     (members that come and go under new names) is best rebuilt now and
 *     then (a new ring with the current members, swapped in).
 *   - Names returned through a snapshot stay valid until that snapshot is
 *     released (and, equally, until the ring is destroyed, whichever is
 *     later).
 *
 * FLOAT ARITHMETIC
 *   Some dialects reproduce their peer's float32 arithmetic.  The library
 *   must be compiled with IEEE float and double evaluation (FLT_EVAL_METHOD
 *   0, as on x86-64 SSE, AArch64 and others) and without -ffast-math.
 */
#ifndef HASH_RING_H
#define HASH_RING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version --------------------------------------------------------- */

/* The one source of truth for the version: CMake reads these lines. */
#define HASH_RING_VERSION_MAJOR 1
#define HASH_RING_VERSION_MINOR 1
#define HASH_RING_VERSION_PATCH 0
#define HASH_RING_VERSION_NUMBER \
    (HASH_RING_VERSION_MAJOR * 10000 + HASH_RING_VERSION_MINOR * 100 + HASH_RING_VERSION_PATCH)
#define HASH_RING_VERSION_STRING "1.1.0"

/* ---- Export macro ---------------------------------------------------- */

#if defined(__GNUC__) && __GNUC__ >= 4
#define HASH_RING_API __attribute__((visibility("default")))
#else
#define HASH_RING_API
#endif

/* ---- Types ----------------------------------------------------------- */

/* A ring: membership plus the currently published continuum. */
typedef struct hash_ring hash_ring_t;

/* An immutable, reference-counted view of one published continuum. */
typedef struct hash_ring_snapshot hash_ring_snapshot_t;

/* Placement dialects; see README.md for the peer each one matches.
 * Values are part of the ABI and never change.
 * Node names are hashed as given, except in LIBMEMCACHED and TWEMPROXY,
 * which hash "host" for a name "host:PORT" whose port is 11211 and read
 * ports and unix socket paths ("/path") as their peers do (README,
 * "Dialects"), and in NODE_MEMCACHED, NGINX, DALLI and PECL_MEMCACHE
 * (below); a node is always reported under the name it was added as.
 *
 * Since 1.1, seven more clients (README, "More clients"; each checked
 * against the real client).  Keys go through MD5 as above unless a
 * dialect says otherwise; "w" is a node's weight, "n" the node count.
 *
 * SPYMEMCACHED: Java spymemcached 2.12 KetamaConnectionFactory without a
 *   weights map.  40 x 4 points a node whatever the weights (0 included);
 *   first point >= the key; a shared point goes to the node added later.
 *   Name each node as spymemcached prints its address: "ip:port" for a
 *   server given by IP, "hostname/ip:port" for one given by host name
 *   (the name resolved by the Java client, e.g.
 *   "localhost/127.0.0.1:11211"); the port always written, 11211 too.
 * SPYMEMCACHED_WEIGHTED: the same with a weights map: points per node as
 *   LIBMEMCACHED computes them; weight 0 owns no points.
 * UHASHRING: Python uhashring 2.x, hash_fn='ketama': PYTHON's rules with
 *   4 points a digest (first point > the key, a shared point to the node
 *   added last, weight 0 owns no points).  Names hashed as given.
 * NODE_MEMCACHED: npm memcached 2.x, default options (npm hashring 3
 *   inside): HASHRING's rules (weight 0 counts as 1) with one name rule:
 *   when the text between the name's first ':' and the next ':' (or the
 *   end) reads as the number 11211 by JavaScript's unary + ("11211",
 *   "011211", " 11211", "11211.0", "0x2bcb"), the text before the first
 *   ':' is hashed, else the whole name ("[::1]:11211" is hashed whole).
 * NGINX: nginx "hash $key consistent" upstreams, and Perl
 *   Cache::Memcached::Fast with ketama_points => 160.  Keys placed by
 *   CRC-32; w * 160 points a node, a CRC-32 chain over host, a zero byte
 *   and port; first point >= the key.  Name nodes as the upstream's
 *   server lines write them: the name is split at its last ':' when
 *   only digits follow (the port as written; no default port: "host" and
 *   "host:11211" differ); "unix:/path" is a socket (path, empty port).
 *   Weight 0 owns no points (nginx refuses it).  A shared point (left
 *   undefined by nginx) goes to the node added first, as
 *   Cache::Memcached::Fast gives it.
 * DALLI: Ruby Dalli 3.x (Dalli::Ring, Rails' memcached client).  Keys
 *   placed by CRC-32; floor(n * 160 * w / total) points a node from
 *   SHA-1; a key belongs to the last point AT OR BELOW it (wrapping to
 *   the last point).  Name nodes as Dalli's server strings: "host:port",
 *   "host" (port 11211 filled in), "[v6addr]:port" (hashed without the
 *   brackets), "/path" (a unix socket, hashed as the path); a port with a
 *   leading 0 is octal as Dalli reads it; a third ":weight" field is not
 *   hashed (give weights through the API); a name Dalli would refuse is
 *   hashed as written.  Weight 0 owns no points (a lone node of weight 0
 *   therefore owns nothing, where Dalli sends it every key).  A shared
 *   point (Dalli's sort is not stable) goes to the node added first.
 * PECL_MEMCACHE: PHP pecl memcache 4.x/8.x with hash_strategy=consistent
 *   and hash_function=crc32 (the defaults).  w * 160 points a node,
 *   CRC-32 of "host:port-i"; a key is cut to 250 bytes, every byte <=
 *   0x20 replaced by '_' (as the client sends it), and the owner of
 *   bucket crc32(key) % 1024 answers, bucket b holding the first point >=
 *   b * 4194303.  Name nodes "host:port" (port 11211 filled in when there
 *   is none; the port hashed as the number it reads, modulo 2^16).  Weight
 *   0 owns no points (the client refuses it).  A shared point (left
 *   undefined by the client) goes to the node added first.
 *
 * In NGINX and PECL_MEMCACHE a weight multiplies the points (w * 160): a
 * total above 2^32 - 1 points gives HASH_RING_ENOMEM.  PECL_MEMCACHE takes
 * w * 160 modulo 2^32, as the client's unsigned int does. */
typedef enum hash_ring_dialect {
    HASH_RING_DIALECT_PYTHON = 0,         /* default: Python hash_ring 1.2/1.3 */
    HASH_RING_DIALECT_NODE = 1,           /* cypreess/node-hash-ring */
    HASH_RING_DIALECT_LIBKETAMA = 2,      /* RJ/ketama libketama */
    HASH_RING_DIALECT_LIBMEMCACHED = 3,   /* libmemcached KETAMA_WEIGHTED */
    HASH_RING_DIALECT_TWEMPROXY = 4,      /* twemproxy ketama + md5 */
    HASH_RING_DIALECT_HASHRING = 5,       /* npm hashring 3.x, default */
    HASH_RING_DIALECT_HASHRING_PYTHON = 6, /* npm hashring 3.x, compatibility 'hash_ring' */
    HASH_RING_DIALECT_SPYMEMCACHED = 7,   /* Since 1.1: Java spymemcached, no weights */
    HASH_RING_DIALECT_SPYMEMCACHED_WEIGHTED = 8, /* Since 1.1: spymemcached with weights */
    HASH_RING_DIALECT_UHASHRING = 9,      /* Since 1.1: Python uhashring, hash_fn='ketama' */
    HASH_RING_DIALECT_NODE_MEMCACHED = 10, /* Since 1.1: npm memcached 2.x */
    HASH_RING_DIALECT_NGINX = 11,         /* Since 1.1: nginx hash consistent (CRC-32) */
    HASH_RING_DIALECT_DALLI = 12,         /* Since 1.1: Ruby Dalli 3.x (CRC-32, SHA-1) */
    HASH_RING_DIALECT_PECL_MEMCACHE = 13  /* Since 1.1: PHP pecl memcache (CRC-32) */
} hash_ring_dialect_t;

/* ---- Status codes ---------------------------------------------------- */
/* 0 = success, negative = error.  Values never change once released;
 * new codes are only ever appended. */
#define HASH_RING_OK 0
#define HASH_RING_EINVAL -1    /* bad argument */
#define HASH_RING_ENOMEM -2    /* out of memory */
#define HASH_RING_EEXIST -3    /* node already in the ring */
#define HASH_RING_ENOTFOUND -4 /* no such node (or index out of range) */
#define HASH_RING_EEMPTY -5    /* the ring owns no points (no nodes, or all weights 0) */
#define HASH_RING_ECRYPTO -6   /* libcrypto could not provide MD5 (e.g. FIPS mode) */
/* -7 to -15 are the memcached client's (hash_ring_memcache.h): a ring
 * function never returns them. */

/* A static, never-NULL English description of a ring status code (other
 * codes, the memcached client's included, give "unknown error";
 * hash_ring_mc_strerror() knows both).  Thread-safe.  Since 1.0. */
HASH_RING_API const char *hash_ring_strerror(int status);

/* ---- Version at run time --------------------------------------------- */

/* HASH_RING_VERSION_NUMBER of the library actually loaded.  Since 1.0. */
HASH_RING_API unsigned hash_ring_version(void);
/* HASH_RING_VERSION_STRING of the library actually loaded (static).  Since 1.0. */
HASH_RING_API const char *hash_ring_version_string(void);

/* ---- Dialects -------------------------------------------------------- */

/* The dialect's name as the command line spells it ("python", "node",
 * "libketama", "libmemcached", "twemproxy", "hashring", "hashring-python";
 * since 1.1 also "spymemcached", "spymemcached-weighted", "uhashring",
 * "node-memcached", "nginx", "dalli", "pecl-memcache"), or NULL for an
 * unknown value.  Static string.  Since 1.0. */
HASH_RING_API const char *hash_ring_dialect_name(hash_ring_dialect_t dialect);

/* Parses a dialect name (NUL-terminated, exact spelling as above).
 * Errors: HASH_RING_EINVAL (NULL argument or unknown name).  Since 1.0. */
HASH_RING_API int hash_ring_dialect_from_name(const char *name, hash_ring_dialect_t *out);

/* ---- Ring lifetime --------------------------------------------------- */

/* Creates an empty ring placing keys by `dialect`.
 * Errors: HASH_RING_EINVAL (out NULL, unknown dialect), HASH_RING_ENOMEM,
 * HASH_RING_ECRYPTO (libcrypto's MD5 unavailable or wrong: each create
 * hashes a test input).  Since 1.0. */
HASH_RING_API int hash_ring_create(hash_ring_t **out, hash_ring_dialect_t dialect);

/* Destroys a ring; NULL is fine.  Must not race with any other call on the
 * same ring.  Snapshots acquired from it stay valid until released.
 * Since 1.0. */
HASH_RING_API void hash_ring_destroy(hash_ring_t *ring);

/* The ring's dialect.  Errors: HASH_RING_EINVAL (NULL argument).  Since 1.0. */
HASH_RING_API int hash_ring_get_dialect(const hash_ring_t *ring, hash_ring_dialect_t *out);

/* ---- Membership (writers; serialized internally) --------------------- */

/* Adds one node at the end of the membership order.  name: 1 or more bytes.
 * weight: any value; 0 keeps the node as a member owning no points (in the
 * dialects where the peer does so; see README).
 * A ring holds at most 16,777,216 (2^24) members, weight 0 ones included.
 * Errors: HASH_RING_EINVAL (ring/name NULL, name_len 0, ring too large),
 * HASH_RING_EEXIST (a node of that name is a member), HASH_RING_ENOMEM,
 * HASH_RING_ECRYPTO.  Since 1.0. */
HASH_RING_API int hash_ring_add_node(hash_ring_t *ring, const void *name, size_t name_len,
                                     uint32_t weight);

/* Adds count nodes in array order with a single rebuild.  names[i] has
 * name_lens[i] bytes; weights may be NULL (all 1).  All or nothing: if any
 * name is invalid or already a member, or repeated within the batch, nothing
 * is added.  count 0 is a successful no-op.
 * Errors: as hash_ring_add_node.  Since 1.0. */
HASH_RING_API int hash_ring_add_nodes(hash_ring_t *ring, const void *const *names,
                                      const size_t *name_lens, const uint32_t *weights,
                                      size_t count);

/* Removes a node.  Errors: HASH_RING_EINVAL, HASH_RING_ENOTFOUND,
 * HASH_RING_ENOMEM, HASH_RING_ECRYPTO.  Since 1.0. */
HASH_RING_API int hash_ring_remove_node(hash_ring_t *ring, const void *name, size_t name_len);

/* Changes a member's weight, keeping its place in the membership order.
 * Setting the current weight is a successful no-op.
 * Errors: HASH_RING_EINVAL, HASH_RING_ENOTFOUND, HASH_RING_ENOMEM,
 * HASH_RING_ECRYPTO.  Since 1.0. */
HASH_RING_API int hash_ring_set_weight(hash_ring_t *ring, const void *name, size_t name_len,
                                       uint32_t weight);

/* Removes count members with a single rebuild.  names[i] has name_lens[i]
 * bytes.  All or nothing: if any name is invalid, not a member, or
 * repeated within the batch, nothing is removed.  count 0 is a successful
 * no-op.
 * Errors: HASH_RING_EINVAL (ring NULL, names or name_lens NULL with
 * count > 0, a name NULL or of length 0, a name repeated in the batch),
 * HASH_RING_ENOTFOUND (a name that is not a member), HASH_RING_ENOMEM,
 * HASH_RING_ECRYPTO.  A batch that both repeats a name and names a
 * non-member may give either of the two.  Since 1.1. */
HASH_RING_API int hash_ring_remove_nodes(hash_ring_t *ring, const void *const *names,
                                         const size_t *name_lens, size_t count);

/* Makes the membership exactly names[0..count) in that order, with
 * weights[i] (weights NULL: all 1), in a single rebuild: what a
 * configuration reload needs.  Members not listed are removed; listed
 * members keep nothing but their place in the list; only the nodes that
 * were not members are hashed in full.  Every key is then placed as on a
 * ring created empty and given the same list with hash_ring_add_nodes
 * (membership order decides shared points in some dialects).  count 0
 * empties the ring.  Setting the current list is a successful no-op.  All
 * or nothing: on any error the membership is unchanged.
 * Errors: HASH_RING_EINVAL (ring NULL, names or name_lens NULL with
 * count > 0, a name NULL or of length 0, more than 2^24 names),
 * HASH_RING_EEXIST (a name repeated in the list), HASH_RING_ENOMEM,
 * HASH_RING_ECRYPTO.  Since 1.1. */
HASH_RING_API int hash_ring_set_nodes(hash_ring_t *ring, const void *const *names,
                                      const size_t *name_lens, const uint32_t *weights,
                                      size_t count);

/* ---- Key lookups (readers; lock-free, any number of threads) --------- */

/* The node that owns KEY (not a lookup by node name): *node receives its
 * NUL-terminated name, *node_len (if node_len is not NULL) its length.
 * key may be NULL when key_len is 0.  *node stays valid until
 * hash_ring_destroy().
 * Errors: HASH_RING_EINVAL (ring or node NULL, key NULL with key_len > 0),
 * HASH_RING_EEMPTY (no node owns a point), HASH_RING_ECRYPTO.  Since 1.0. */
HASH_RING_API int hash_ring_get_node(const hash_ring_t *ring, const void *key, size_t key_len,
                                     const char **node, size_t *node_len);

/* Up to max distinct nodes in ring order starting from KEY's position and
 * wrapping around (Python's iterate_nodes order: the replica and fail-over
 * order).  nodes[0] is hash_ring_get_node's answer.  *count receives how
 * many were written (fewer than max when fewer nodes own points).
 * node_lens may be NULL.  max 0 is allowed (count 0; a ring owning no
 * points still gives HASH_RING_EEMPTY, as for any max).  Names as for
 * hash_ring_get_node.  All entries come from one continuum.
 * Errors: HASH_RING_EINVAL (ring or count NULL, nodes NULL with max > 0,
 * key NULL with key_len > 0), HASH_RING_EEMPTY, HASH_RING_ENOMEM (only when
 * max > 64: a bitmap of the members is allocated), HASH_RING_ECRYPTO.
 * Since 1.0. */
HASH_RING_API int hash_ring_get_nodes(const hash_ring_t *ring, const void *key, size_t key_len,
                                      const char **nodes, size_t *node_lens, size_t max,
                                      size_t *count);

/* Looks up count keys at once: nodes[i] (and node_lens[i], if node_lens
 * is not NULL) receive the owner of keys[i] (key_lens[i] bytes; keys[i]
 * may be NULL when key_lens[i] is 0), exactly as hash_ring_get_node would
 * answer.  Every key of one call is placed by the same continuum (one
 * membership), whatever writers do meanwhile: a multi-get never splits
 * across two rings.  Per key this costs less than hash_ring_get_node: the
 * keys are hashed first, then their searches are overlapped, so on a ring
 * larger than the CPU caches the memory latencies of many keys overlap.
 * Names stay valid until hash_ring_destroy(), as for hash_ring_get_node.
 * A batch holds a reference to the continuum, not a reader section: writers
 * never wait for it.  All or nothing: on any error no output is written.
 * count 0 is a successful no-op (keys, key_lens and nodes may then be NULL).
 * Errors: HASH_RING_EINVAL (ring NULL; keys, key_lens or nodes NULL with
 * count > 0; a NULL key with a nonzero length), HASH_RING_EEMPTY (no node
 * owns a point; count > 0), HASH_RING_ENOMEM (only for count > 256: the
 * positions are kept in an allocated array), HASH_RING_ECRYPTO.
 * Since 1.1. */
HASH_RING_API int hash_ring_get_node_batch(const hash_ring_t *ring, const void *const *keys,
                                           const size_t *key_lens, size_t count,
                                           const char **nodes, size_t *node_lens);

/* A key's position on the ring: the first four bytes of MD5(key) read
 * little-endian, whatever the dialect.  The MD5 dialects place keys there;
 * NGINX, DALLI and PECL_MEMCACHE place them by CRC-32 instead (see the
 * dialects above), so for them this is not where lookups look.
 * Errors: HASH_RING_EINVAL, HASH_RING_ECRYPTO.  Since 1.0. */
HASH_RING_API int hash_ring_position(const void *key, size_t key_len, uint32_t *position);

/* ---- Snapshots ------------------------------------------------------- */

/* Takes a reference to the ring's current continuum: every query on the
 * snapshot sees that one membership, whatever writers do meanwhile.
 * Errors: HASH_RING_EINVAL.  Since 1.0. */
HASH_RING_API int hash_ring_snapshot_acquire(const hash_ring_t *ring, hash_ring_snapshot_t **out);

/* Drops the reference; NULL is fine.  Any thread.  Since 1.0. */
HASH_RING_API void hash_ring_snapshot_release(hash_ring_snapshot_t *snap);

/* As hash_ring_get_node / hash_ring_get_nodes, on the snapshot.  Returned
 * names stay valid until the snapshot is released.  Since 1.0. */
HASH_RING_API int hash_ring_snapshot_get_node(const hash_ring_snapshot_t *snap, const void *key,
                                              size_t key_len, const char **node,
                                              size_t *node_len);
HASH_RING_API int hash_ring_snapshot_get_nodes(const hash_ring_snapshot_t *snap, const void *key,
                                               size_t key_len, const char **nodes,
                                               size_t *node_lens, size_t max, size_t *count);

/* As hash_ring_get_node_batch, on the snapshot: names stay valid until
 * the snapshot is released.  Since 1.1. */
HASH_RING_API int hash_ring_snapshot_get_node_batch(const hash_ring_snapshot_t *snap,
                                                    const void *const *keys,
                                                    const size_t *key_lens, size_t count,
                                                    const char **nodes, size_t *node_lens);

/* As hash_ring_snapshot_get_node_batch, but indices[i] receives the owner's
 * member index (0-based, membership order: what hash_ring_snapshot_node
 * takes), for callers that group keys by node.
 * Errors: HASH_RING_EINVAL (snap NULL; keys, key_lens or indices NULL with
 * count > 0; a NULL key with a nonzero length), HASH_RING_EEMPTY,
 * HASH_RING_ENOMEM (only for count > 256), HASH_RING_ECRYPTO.  Since 1.1. */
HASH_RING_API int hash_ring_snapshot_get_index_batch(const hash_ring_snapshot_t *snap,
                                                     const void *const *keys,
                                                     const size_t *key_lens, size_t count,
                                                     size_t *indices);

/* The owner of a ring position (as if a key hashed to `position`; in
 * PECL_MEMCACHE keys sit only at bucket thresholds b * 4194303).
 * Errors: HASH_RING_EINVAL, HASH_RING_EEMPTY.  Since 1.0. */
HASH_RING_API int hash_ring_snapshot_get_node_at(const hash_ring_snapshot_t *snap,
                                                 uint32_t position, const char **node,
                                                 size_t *node_len);

/* The snapshot's dialect.  Errors: HASH_RING_EINVAL.  Since 1.0. */
HASH_RING_API int hash_ring_snapshot_dialect(const hash_ring_snapshot_t *snap,
                                             hash_ring_dialect_t *out);

/* Number of member nodes (0 for NULL).  Since 1.0. */
HASH_RING_API size_t hash_ring_snapshot_node_count(const hash_ring_snapshot_t *snap);

/* Member `index` (0-based, in membership order).  Every out pointer may be
 * NULL.  weight: as set; points: continuum points it contributes (hashes
 * per node times points per digest); share: the exact number of the 2^32
 * key positions it owns (all members' shares sum to 2^32 unless the ring is
 * empty).  Errors: HASH_RING_EINVAL (snap NULL), HASH_RING_ENOTFOUND (index
 * out of range).  Since 1.0. */
HASH_RING_API int hash_ring_snapshot_node(const hash_ring_snapshot_t *snap, size_t index,
                                          const char **name, size_t *name_len, uint32_t *weight,
                                          size_t *points, uint64_t *share);

/* Number of continuum points: every point every node produced, a position
 * two points share counted twice (0 for NULL).  Since 1.0. */
HASH_RING_API size_t hash_ring_snapshot_point_count(const hash_ring_snapshot_t *snap);

/* Continuum point `index` in ring order (ascending position).  When two
 * nodes produce the same position both points are listed, the one that
 * wins lookups first (in DALLI, whose keys take the last point at or
 * below them, last); `owner` is the node a lookup reaching that point
 * returns in dialects python and uhashring (the peer keeps one owner per
 * position) and the node that produced the point in the other dialects
 * (their peers keep both).  Out pointers may be NULL.
 * Errors: HASH_RING_EINVAL, HASH_RING_ENOTFOUND (index out of range).
 * Since 1.0. */
HASH_RING_API int hash_ring_snapshot_point(const hash_ring_snapshot_t *snap, size_t index,
                                           uint32_t *point, const char **owner,
                                           size_t *owner_len);

#ifdef __cplusplus
}
#endif

#endif /* HASH_RING_H */
