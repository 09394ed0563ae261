/*
 * hash_ring_memcache.h - a memcached client that places keys with a ring.
 *
 * Copyright (c) 2026 The hash_ring developers. BSD-3-Clause, see LICENSE.
 *
 * The C counterpart of the Python hash_ring package's MemcacheRing: every
 * key goes to the server that hash_ring_get_node() names for it, or, when
 * that server is down, to the next live server in hash_ring_get_nodes()
 * order.  The client speaks the memcached text protocol over POSIX sockets
 * (TCP over IPv4 or IPv6, or a unix socket) and needs no other library.
 * It is a library of its own, libhash_ring_memcache (pkg-config
 * hash_ring_memcache, CMake target hash_ring::hash_ring_memcache), built
 * on libhash_ring's public API only.  Conventions and version macros are
 * those of hash_ring.h; the client's status codes are below, beside the
 * ring's codes, which it also returns.
 *
 * SERVERS
 *   A server is a ring node.  Its node name, as given, is its address:
 *     "host:port"       IPv4 address or host name (resolved with the system
 *                       resolver, IPv4 only); ":port" may be left out (11211)
 *     "[v6addr]:port"   IPv6 address (numeric), e.g. "[::1]:11211"
 *     "/path" or "unix:/path"   a unix-domain socket
 *   Because the name is the node name, a key's server is exactly what
 *   hash_ring_get_node() answers for the client's ring.  Where the name
 *   used for placement must differ from the address (for example to keep
 *   the placement of an existing pool whose names are not reachable
 *   addresses), hash_ring_mc_set_address() gives a node an explicit
 *   address; placement still uses the node name.
 *
 *   Name resolution of "host:port" with a host NAME uses getaddrinfo(),
 *   which is not bounded by the client's timeouts; give numeric addresses
 *   where that matters.  The result is cached until the server fails.
 *
 * THE RING
 *   hash_ring_mc_create() makes a client that owns a new, empty ring of
 *   the chosen dialect; hash_ring_mc_create_with_ring() makes one that uses
 *   a ring owned by the caller (the ring must outlive the client).  Either
 *   way the servers are the ring's members, whether they were added through
 *   hash_ring_mc_add_server() or directly with hash_ring_add_node(): the
 *   client looks up its key's nodes in the ring at every operation, so it
 *   follows every membership change, and it learns a new member's address
 *   from its name the first time that member is used.
 *
 * FAIL-OVER
 *   A key is sent to the first server in hash_ring_get_nodes() order (ring
 *   order from the key, every member once) that is not marked dead and
 *   accepts a connection.  A server that cannot be connected to, fails
 *   during an exchange (reset, closed, timed out) or sends a malformed
 *   reply is marked dead for the retry interval (default 30 s); after it,
 *   the next operation that reaches it tries it again, and once it answers
 *   its keys go back to it.  Keys of other servers never move.
 *
 *   Nothing that may have changed data is sent twice: once a request has
 *   been written to a server, a failure of that server during the exchange
 *   makes a write (set, add, replace, append, prepend, cas, delete, incr,
 *   decr, touch) return that error (HASH_RING_ETIMEDOUT, HASH_RING_EIO or
 *   HASH_RING_EPROTO), and only the following operations go to the next
 *   server.  Reads (get, gets, hash_ring_mc_get_multi) are retried on the
 *   next server at once; when every server has failed (or is marked dead)
 *   the read gives HASH_RING_ENOSERVER, and hash_ring_mc_last_error() names
 *   the last failure the call saw (if every server was already marked
 *   dead, it says only that no server is live).  A read that failed over
 *   and then missed gives HASH_RING_EMISS, and the message still names the
 *   failure.  In a multi-get, values received whole from a server before
 *   it failed are kept (each was a complete VALUE for a key asked of it).
 *
 *   With fail-over switched off (hash_ring_mc_set_failover(mc, 0)) a key
 *   only ever goes to its own server: a failure returns its error, and
 *   while the server is marked dead its keys give HASH_RING_ENOSERVER.
 *
 *   STALE READS.  Fail-over moves a dead server's keys to another server
 *   and back when it returns.  Values written to the replacement meanwhile
 *   stay there, invisible once the keys are back, and the returning server
 *   still holds the values it had before it was marked dead - which may
 *   have been overwritten or deleted elsewhere during the outage.  A server
 *   that was only unreachable (a network partition, a stopped process, a
 *   timeout) comes back with all its data: a read then returns an old
 *   value.  Several clients can also disagree for a while about which
 *   server is live and write to different ones.  To avoid stale reads:
 *   switch fail-over off (a dead server's keys then miss or fail instead),
 *   or give values short TTLs, or flush a server (flush_all on it) before
 *   it is put back, e.g. remove it with hash_ring_mc_remove_server() when
 *   it fails and add it back empty.
 *
 * TIMEOUTS
 *   Sockets are non-blocking and every wait is a poll() with a deadline;
 *   EINTR and partial reads and writes are handled; SIGPIPE is never
 *   raised (MSG_NOSIGNAL).  The connect timeout (default 1000 ms) bounds
 *   connecting to one server; the I/O timeout (default 3000 ms) bounds one
 *   whole request/reply exchange with a server (a server that trickles its
 *   reply does not extend it).  One operation may wait for several
 *   servers in turn when it fails over: at most (connect + I/O timeout)
 *   per server tried.  hash_ring_mc_get_multi() talks to its servers in
 *   parallel.
 *
 * INPUT AND REPLY CHECKS
 *   Keys are 1..250 bytes, none of them a space, a control character
 *   (0x00-0x1f) or DEL (0x7f); others give HASH_RING_EINVAL and nothing is
 *   sent, so a key can never inject a command.  Values are bytes of any
 *   kind up to the maximum value size (default 1 MiB, see
 *   hash_ring_mc_set_max_value()); a larger value gives HASH_RING_EINVAL
 *   and nothing is sent.  A reply that is malformed or truncated gives
 *   HASH_RING_EPROTO (or HASH_RING_EIO when the server closed the
 *   connection): the server failed (see FAIL-OVER) and the connection is
 *   closed.  Bytes beyond the expected reply do not undo a complete
 *   answer: it stands, and the connection is closed (below).
 *   A stored value larger than this client's maximum (put there by a
 *   client with a higher one) is not a server failure: that key alone
 *   gives HASH_RING_ETOOBIG (a get or gets names the value's size in
 *   hash_ring_mc_last_error(); in a multi-get, it is that item's status);
 *   its data is skipped as it arrives, never buffered (within the I/O
 *   timeout, like any reply), the server stays live and keeps its
 *   connection, and the key is not asked of another server.  (A server
 *   that fails before the skipped value ends has failed: its keys, that
 *   one included, fail over as above.)  A value announced above 1 GiB
 *   (memcached's largest item) is malformed.  A stats reply of more than
 *   65,536 lines or 16 MiB is malformed too.
 *
 *   A connection never carries an old reply into a new request: it is
 *   kept for the next request only when the exchange ended cleanly - the
 *   whole request written, every expected reply read, no byte received
 *   beyond them, and no error reply.  After ERROR, CLIENT_ERROR or
 *   SERVER_ERROR (HASH_RING_ESERVER; the server is not marked dead) the
 *   connection is closed, since the server may still send the rest of an
 *   earlier reply (a proxy's SERVER_ERROR after a timeout) or take the
 *   next request as data; a failure or timeout closes it too.  The next
 *   request to that server opens a new connection.
 *
 * STATUS CODES
 *   HASH_RING_OK; HASH_RING_EMISS (NOT_FOUND, cache miss);
 *   HASH_RING_ENOTSTORED (add, replace, append, prepend condition not met);
 *   HASH_RING_ECASEXISTS (cas token out of date); HASH_RING_ESERVER (the
 *   server answered ERROR, CLIENT_ERROR or SERVER_ERROR, e.g. a value too
 *   large for the server, incr on a non-number); HASH_RING_ETIMEDOUT,
 *   HASH_RING_EIO, HASH_RING_EPROTO (the server failed, see above);
 *   HASH_RING_ETOOBIG (since 1.1: a get, gets or multi-get item found a
 *   value larger than the client's maximum; the server did not fail, see
 *   INPUT AND REPLY CHECKS); HASH_RING_ENOSERVER (no live server for the
 *   key); HASH_RING_EINVAL;
 *   HASH_RING_ENOMEM (out of memory, or of local descriptors, buffers or
 *   ports when connecting: the server is not marked dead and the operation
 *   does not fail over, since another server would not help);
 *   HASH_RING_EEMPTY (the ring has no server owning
 *   points); HASH_RING_ECRYPTO.  hash_ring_mc_last_error() adds detail.
 *
 * THREAD SAFETY
 *   A client is used by one thread at a time (it holds connections and
 *   buffers); use one client per thread, or serialize calls.  The ring it
 *   uses may be shared with other clients and threads, and may be changed
 *   by them at any time (hash_ring.h): each operation reads one consistent
 *   snapshot of it.  Result and stats handles are independent objects that
 *   any thread may read and free.
 *
 * PROCESSES
 *   After fork(), a child must not use its parent's open connections: call
 *   hash_ring_mc_disconnect() in the child before using the client.
 *
 * Everything here is since 1.0 unless marked otherwise.
 */
#ifndef HASH_RING_MEMCACHE_H
#define HASH_RING_MEMCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "hash_ring.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A memcached client: servers (the nodes of a ring), their connections,
 * fail-over state and options. */
typedef struct hash_ring_mc hash_ring_mc_t;

/* The answer of hash_ring_mc_get_multi(): one entry per key asked. */
typedef struct hash_ring_mc_result hash_ring_mc_result_t;

/* The answer of hash_ring_mc_stats(): name/value pairs of one server. */
typedef struct hash_ring_mc_stat_list hash_ring_mc_stats_t;

/* ---- Status codes ---------------------------------------------------- */
/* The client returns the ring's codes (hash_ring.h) and these; values never
 * change.  Since 1.0 (defined in hash_ring.h until 1.1; same values), except
 * HASH_RING_ETOOBIG, since 1.1. */
#define HASH_RING_ENOTSTORED -7 /* NOT_STORED (add/replace/append/prepend condition) */
#define HASH_RING_ECASEXISTS -8 /* EXISTS (cas token no longer current) */
#define HASH_RING_EMISS -9      /* NOT_FOUND / cache miss */
#define HASH_RING_ESERVER -10   /* ERROR, CLIENT_ERROR or SERVER_ERROR reply */
#define HASH_RING_ETIMEDOUT -11 /* connect or I/O timeout */
#define HASH_RING_EIO -12       /* connection refused, reset or closed */
#define HASH_RING_EPROTO -13    /* malformed or truncated reply */
#define HASH_RING_ENOSERVER -14 /* no live server for the key */
#define HASH_RING_ETOOBIG -15   /* the stored value is larger than this client's
                                 * maximum value size (the server is fine);
                                 * since 1.1 */

/* A static, never-NULL English description of any status code the client
 * returns, its own and the ring's (unknown codes give "unknown error").
 * Thread-safe.  Since 1.1. */
HASH_RING_API const char *hash_ring_mc_strerror(int status);

/* Largest key the memcached text protocol accepts, in bytes. */
#define HASH_RING_MC_MAX_KEY 250

/* ---- Lifetime -------------------------------------------------------- */

/* Creates a client owning a new, empty ring of `dialect`; add servers with
 * hash_ring_mc_add_server().  No connection is made before the first
 * operation.
 * Errors: HASH_RING_EINVAL (out NULL, unknown dialect), HASH_RING_ENOMEM,
 * HASH_RING_ECRYPTO.  Since 1.0. */
HASH_RING_API int hash_ring_mc_create(hash_ring_mc_t **out, hash_ring_dialect_t dialect);

/* Creates a client whose servers are the members of `ring`, which the
 * caller keeps owning: it must stay valid until hash_ring_mc_destroy() of
 * this client.  Several clients (one per thread) may share one ring.
 * Errors: HASH_RING_EINVAL (NULL argument), HASH_RING_ENOMEM.  Since 1.0. */
HASH_RING_API int hash_ring_mc_create_with_ring(hash_ring_mc_t **out, hash_ring_t *ring);

/* Closes every connection and frees the client (and its ring if the client
 * owns it).  NULL is fine.  Since 1.0. */
HASH_RING_API void hash_ring_mc_destroy(hash_ring_mc_t *mc);

/* The ring the client places keys with (never NULL for a valid client).
 * Valid as long as the client (or, for a shared ring, its owner) keeps it.
 * Lookups on it tell where a key goes when every server is live.  Since 1.0. */
HASH_RING_API hash_ring_t *hash_ring_mc_ring(const hash_ring_mc_t *mc);

/* Closes every open connection (they reopen on demand); forgets nothing
 * else.  Call it in a child after fork().  NULL is fine.  Clears
 * hash_ring_mc_last_error().  Since 1.0. */
HASH_RING_API void hash_ring_mc_disconnect(hash_ring_mc_t *mc);

/* A NUL-terminated English description of why the client's last failed
 * call failed (server, step, system error), or "" after a success: every
 * call that takes a client sets it, the option setters and
 * hash_ring_mc_disconnect() included (hash_ring_mc_ring() and this function
 * change nothing).  Owned by the client, valid until its next call.  Never
 * NULL for a valid client.  Since 1.0. */
HASH_RING_API const char *hash_ring_mc_last_error(const hash_ring_mc_t *mc);

/* ---- Servers --------------------------------------------------------- */

/* Adds a server (a ring node named `server`, weight as in
 * hash_ring_add_node) at the end of the membership order.  The name must
 * parse as an address (see SERVERS) unless hash_ring_mc_set_address() gave
 * this name an address first.  Nothing is connected yet.
 * Errors: HASH_RING_EINVAL (bad name), HASH_RING_EEXIST, HASH_RING_ENOMEM,
 * HASH_RING_ECRYPTO.  Since 1.0. */
HASH_RING_API int hash_ring_mc_add_server(hash_ring_mc_t *mc, const void *server,
                                          size_t server_len, uint32_t weight);

/* Removes a server from the ring and closes its connection; its keys move
 * to the remaining servers as the ring says.  What the client kept for it
 * (buffers, dead mark) is freed; an address given to the name with
 * hash_ring_mc_set_address() is remembered for a later re-add.  (Members
 * removed from a shared ring directly are forgotten the same way, at the
 * start of a later call.)
 * Errors: HASH_RING_EINVAL, HASH_RING_ENOTFOUND, HASH_RING_ENOMEM,
 * HASH_RING_ECRYPTO.  Since 1.0. */
HASH_RING_API int hash_ring_mc_remove_server(hash_ring_mc_t *mc, const void *server,
                                             size_t server_len);

/* Makes the client connect to `address` (same syntax as a server name) for
 * the node named `server`, instead of the address the name itself spells.
 * Placement is unchanged: it always uses node names.  The node need not be
 * a member yet.  An open connection to the old address is closed and the
 * server's dead mark is cleared.
 * Errors: HASH_RING_EINVAL (NULL, empty or unparsable), HASH_RING_ENOMEM.
 * Since 1.0. */
HASH_RING_API int hash_ring_mc_set_address(hash_ring_mc_t *mc, const void *server,
                                           size_t server_len, const void *address,
                                           size_t address_len);

/* ---- Options (each may be changed at any time) ----------------------- */

/* Connect timeout in milliseconds, 1 .. 3600000 (default 1000).
 * Errors: HASH_RING_EINVAL.  Since 1.0. */
HASH_RING_API int hash_ring_mc_set_connect_timeout(hash_ring_mc_t *mc, unsigned ms);

/* Timeout of one request/reply exchange with a server, in milliseconds,
 * 1 .. 3600000 (default 3000).  Errors: HASH_RING_EINVAL.  Since 1.0. */
HASH_RING_API int hash_ring_mc_set_io_timeout(hash_ring_mc_t *mc, unsigned ms);

/* How long a failed server is skipped, in milliseconds, 0 .. 86400000
 * (default 30000; 0: try it again at the next operation).
 * Errors: HASH_RING_EINVAL.  Since 1.0. */
HASH_RING_API int hash_ring_mc_set_retry_interval(hash_ring_mc_t *mc, unsigned ms);

/* Fail-over on (non-zero, the default) or off (0); see FAIL-OVER.
 * Errors: HASH_RING_EINVAL (mc NULL).  Since 1.0. */
HASH_RING_API int hash_ring_mc_set_failover(hash_ring_mc_t *mc, int enabled);

/* Largest value sent or accepted in a reply, 1 .. 1073741824 bytes
 * (default 1048576, memcached's default item size limit; raise both
 * together).  A larger value is refused before sending (HASH_RING_EINVAL)
 * and, when read, gives HASH_RING_ETOOBIG (see INPUT AND REPLY CHECKS).
 * Errors: HASH_RING_EINVAL.  Since 1.0. */
HASH_RING_API int hash_ring_mc_set_max_value(hash_ring_mc_t *mc, size_t bytes);

/* ---- Storage --------------------------------------------------------- */
/* key: 1..250 bytes (see INPUT AND REPLY CHECKS); value: value_len bytes
 * (NULL allowed when value_len is 0); flags: an opaque 32-bit word stored
 * with the value; ttl: memcached exptime (0 = never expires, up to 30 days
 * in seconds, above that a Unix time).  The server is the key's server (see
 * FAIL-OVER).  Errors: as listed under STATUS CODES; the command's own
 * answers are given with each function. */

/* Stores the value unconditionally.  Since 1.0. */
HASH_RING_API int hash_ring_mc_set(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                   const void *value, size_t value_len, uint32_t flags,
                                   uint32_t ttl);

/* Stores only if the key holds no value; else HASH_RING_ENOTSTORED.
 * Since 1.0. */
HASH_RING_API int hash_ring_mc_add(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                   const void *value, size_t value_len, uint32_t flags,
                                   uint32_t ttl);

/* Stores only if the key holds a value; else HASH_RING_ENOTSTORED.
 * Since 1.0. */
HASH_RING_API int hash_ring_mc_replace(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                       const void *value, size_t value_len, uint32_t flags,
                                       uint32_t ttl);

/* Appends / prepends bytes to an existing value (flags and TTL unchanged);
 * HASH_RING_ENOTSTORED when the key holds no value.  Since 1.0. */
HASH_RING_API int hash_ring_mc_append(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                      const void *value, size_t value_len);
HASH_RING_API int hash_ring_mc_prepend(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                       const void *value, size_t value_len);

/* Stores only if the value's cas token is still `cas` (from
 * hash_ring_mc_gets or a multi-get): HASH_RING_ECASEXISTS when it changed,
 * HASH_RING_EMISS when the key holds no value.  Since 1.0. */
HASH_RING_API int hash_ring_mc_cas(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                   const void *value, size_t value_len, uint32_t flags,
                                   uint32_t ttl, uint64_t cas);

/* ---- Retrieval ------------------------------------------------------- */

/* Reads a key.  On HASH_RING_OK, *value points to value_len bytes followed
 * by a NUL (not counted), owned by the client and valid until its next
 * call; flags (if not NULL) receives the stored flags.  A miss gives
 * HASH_RING_EMISS; a value larger than the client's maximum gives
 * HASH_RING_ETOOBIG (since 1.1; the key is not asked of another server, see
 * INPUT AND REPLY CHECKS).  value and value_len must not be NULL.
 * Since 1.0. */
HASH_RING_API int hash_ring_mc_get(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                   const void **value, size_t *value_len, uint32_t *flags);

/* As hash_ring_mc_get, also giving the value's cas token (cas may be
 * NULL).  Since 1.0. */
HASH_RING_API int hash_ring_mc_gets(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                    const void **value, size_t *value_len, uint32_t *flags,
                                    uint64_t *cas);

/* Reads many keys: they are grouped by server and each server gets all its
 * keys in one pipelined write ("gets" commands of up to 100 keys) and
 * answers in one round trip; servers are talked to in parallel.  A server
 * that fails has its unanswered keys retried on the next live server (with
 * fail-over on).  keys[i] has key_lens[i] bytes; a key may be repeated.
 * count 0 gives an empty result.  On HASH_RING_OK, *out is a new result
 * with one entry per key, in order, each with its own status (see
 * hash_ring_mc_result_item); free it with hash_ring_mc_result_free().
 * Errors, with nothing sent: HASH_RING_EINVAL (NULL arguments, any
 * invalid key), HASH_RING_EEMPTY, HASH_RING_ECRYPTO.  HASH_RING_ENOMEM
 * may come before or after requests were sent (memory for a value, a
 * reply buffer or a connection ran out); the values received are then
 * dropped with the rest: no result is returned.  Since 1.0. */
HASH_RING_API int hash_ring_mc_get_multi(hash_ring_mc_t *mc, const void *const *keys,
                                         const size_t *key_lens, size_t count,
                                         hash_ring_mc_result_t **out);

/* Number of entries (the count asked; 0 for NULL).  Since 1.0. */
HASH_RING_API size_t hash_ring_mc_result_count(const hash_ring_mc_result_t *result);

/* Entry `index`: returns its status - HASH_RING_OK (found; the out
 * pointers, each of which may be NULL, receive the value, its length, flags
 * and cas token), HASH_RING_EMISS, HASH_RING_ETOOBIG (since 1.1: the value
 * is larger than the client's maximum; the server answered, see INPUT AND
 * REPLY CHECKS), or the failure that left the key unanswered
 * (HASH_RING_ETIMEDOUT, HASH_RING_EIO, HASH_RING_EPROTO, HASH_RING_ESERVER,
 * HASH_RING_ENOSERVER, or HASH_RING_ENOMEM when no descriptor was left to
 * connect to its server).  HASH_RING_EINVAL for a NULL
 * result or index out of range.  Values are NUL-terminated (the NUL is not
 * counted) and stay valid until the result is freed.  Since 1.0. */
HASH_RING_API int hash_ring_mc_result_item(const hash_ring_mc_result_t *result, size_t index,
                                           const void **value, size_t *value_len,
                                           uint32_t *flags, uint64_t *cas);

/* Frees a result; NULL is fine.  Since 1.0. */
HASH_RING_API void hash_ring_mc_result_free(hash_ring_mc_result_t *result);

/* ---- Other key commands ---------------------------------------------- */

/* Deletes a key; HASH_RING_EMISS if it held no value.  Since 1.0. */
HASH_RING_API int hash_ring_mc_delete(hash_ring_mc_t *mc, const void *key, size_t key_len);

/* Adds / subtracts delta to a decimal value; *new_value (may be NULL)
 * receives the result.  memcached wraps incr at 2^64 and stops decr at 0.
 * HASH_RING_EMISS if the key holds no value; HASH_RING_ESERVER if the value
 * is not a number.  Since 1.0. */
HASH_RING_API int hash_ring_mc_incr(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                    uint64_t delta, uint64_t *new_value);
HASH_RING_API int hash_ring_mc_decr(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                    uint64_t delta, uint64_t *new_value);

/* Sets a new TTL on a key; HASH_RING_EMISS if it holds no value.
 * Since 1.0. */
HASH_RING_API int hash_ring_mc_touch(hash_ring_mc_t *mc, const void *key, size_t key_len,
                                     uint32_t ttl);

/* ---- Server commands ------------------------------------------------- */
/* These address one server (or all) directly: no fail-over, and a server
 * marked dead is tried anyway (and its mark updated by the outcome). */

/* Invalidates every item on every member server (after `delay` seconds if
 * non-zero), all servers in parallel.  Returns HASH_RING_OK when all of them
 * answered OK, else the first failure in membership order (the other
 * servers are flushed still).  HASH_RING_EEMPTY when the ring has no
 * members.  Since 1.0. */
HASH_RING_API int hash_ring_mc_flush_all(hash_ring_mc_t *mc, uint32_t delay);

/* The version string a server reports.  *version is NUL-terminated, owned by
 * the client and valid until its next call; version_len may be NULL.
 * `server` is a node name (a member, or any name with an address).  A name
 * that is neither a server the client knows nor an address gives
 * HASH_RING_EINVAL; a failed call keeps nothing for a name the client did
 * not know.  A member whose name is not an address needs
 * hash_ring_mc_set_address() first.
 * Errors: HASH_RING_EINVAL (bad name, version NULL), server failures.
 * Since 1.0. */
HASH_RING_API int hash_ring_mc_version(hash_ring_mc_t *mc, const void *server,
                                       size_t server_len, const char **version,
                                       size_t *version_len);

/* A server's statistics: "stats" when group is NULL, else "stats GROUP"
 * (e.g. "items", "slabs", "settings"; letters, digits and '_' only).  On
 * HASH_RING_OK *out is a new list of its STAT lines, in the order sent; free
 * it with hash_ring_mc_stats_free().  `server` as for hash_ring_mc_version.
 * Errors: HASH_RING_EINVAL (bad name or group, out NULL), HASH_RING_ENOMEM,
 * HASH_RING_ESERVER (e.g. an
 * unknown group), server failures.  Since 1.0. */
HASH_RING_API int hash_ring_mc_stats(hash_ring_mc_t *mc, const void *server, size_t server_len,
                                     const char *group, hash_ring_mc_stats_t **out);

/* Number of STAT lines (0 for NULL).  Since 1.0. */
HASH_RING_API size_t hash_ring_mc_stats_count(const hash_ring_mc_stats_t *stats);

/* STAT line `index`: name and value, NUL-terminated, valid until the list
 * is freed; any out pointer may be NULL.
 * Errors: HASH_RING_EINVAL (NULL, index out of range).  Since 1.0. */
HASH_RING_API int hash_ring_mc_stats_item(const hash_ring_mc_stats_t *stats, size_t index,
                                          const char **name, size_t *name_len,
                                          const char **value, size_t *value_len);

/* The value of the STAT line called `name` (NUL-terminated), or NULL if
 * there is none (or an argument is NULL).  Valid until the list is freed.
 * Since 1.0. */
HASH_RING_API const char *hash_ring_mc_stats_find(const hash_ring_mc_stats_t *stats,
                                                  const char *name);

/* Frees a stats list; NULL is fine.  Since 1.0. */
HASH_RING_API void hash_ring_mc_stats_free(hash_ring_mc_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif /* HASH_RING_MEMCACHE_H */
