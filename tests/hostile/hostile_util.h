/* hostile_util.h - helpers of the hostile-peer tests (tests/hostile).
 *
 * Builds on tests/memcache/mc_testlib (daemons, raw protocol, fd count). */
#ifndef HR_HOSTILE_UTIL_H
#define HR_HOSTILE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "hash_ring_memcache.h"
#include "mc_testlib.h"

/* 1 when HASH_RING_UNDER_VALGRIND is set (and not "0"). */
int hu_valgrind(void);

/* A time in ms scaled for the run: as given natively, HU_VALGRIND_FACTOR
 * times longer under valgrind (about 30x slower; our waits are mostly
 * kernel time, so 8x is plenty). */
#define HU_VALGRIND_FACTOR 8u
unsigned hu_ms(unsigned native_ms);

/* Slack allowed on top of a timeout when asserting elapsed time: 1 s,
 * 2 s in sanitizer builds, 4 s under valgrind.  It covers the work done
 * before an exchange starts (building a request copies the value), which
 * the I/O timeout does not bound. */
unsigned hu_slack(void);

/* Starts memcached on 127.0.0.1 (free port, or `port` if > 0) with the
 * tl_daemon_start() defaults followed by `extra` (NULL-terminated, may be
 * NULL; e.g. {"-I", "64m", "-m", "256", NULL}: later options win).
 * Waits until it answers stats with its own pid.  0 or -1.  Stop it with
 * tl_daemon_kill(). */
int hu_daemon_start(tl_daemon *d, int port, const char *const *extra);

/* A TCP listener on 127.0.0.1 with that backlog; *port receives its port.
 * Returns the descriptor or -1. */
int hu_listener(int backlog, int *port);

/* The descriptor of this process's TCP socket connected to 127.0.0.1:port,
 * or -1. */
int hu_peer_fd(int port);

/* Bytes the socket has received (TCP_INFO tcpi_bytes_received), or
 * UINT64_MAX when the kernel does not tell. */
uint64_t hu_bytes_received(int fd);

/* The most payload the kernel can hold in one loopback TCP connection
 * whose buffers nobody sets (the client and memcached do not): the
 * sender's send buffer plus the receiver's receive buffer, each as large as
 * autotuning may grow it (tcp_wmem's and tcp_rmem's maximum, from
 * /proc/sys; 32 MiB each when unreadable).  A test that needs a send to
 * block sends more than this. */
size_t hu_tcp_buffer_room(void);
/* The sender's part of it alone. */
size_t hu_tcp_send_room(void);

/* A client owning its ring, with these servers (names are addresses) and
 * options; asserts. */
hash_ring_mc_t *hu_client(const char *const *servers, size_t n, unsigned connect_ms,
                          unsigned io_ms, unsigned retry_ms, int failover);

/* The ring node that owns key (NUL-terminated copy in buf). */
const char *hu_owner(hash_ring_mc_t *mc, const char *key, char *buf, size_t cap);

/* The i-th fail-over candidate of key (0 = owner) into buf; NULL if none. */
const char *hu_candidate(hash_ring_mc_t *mc, const char *key, size_t i, char *buf, size_t cap);

/* Whether s contains sub (NULL-safe). */
int hu_contains(const char *s, const char *sub);

#endif
