/* mc_conn.h - server addresses, connecting with a timeout, clock (internal). */
#ifndef HR_MC_CONN_H
#define HR_MC_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef enum hr_mc_addr_kind {
    HR_MC_ADDR_INET = 1, /* host:port, IPv4 address or name */
    HR_MC_ADDR_INET6,    /* [v6addr]:port */
    HR_MC_ADDR_UNIX      /* /path or unix:/path */
} hr_mc_addr_kind;

typedef struct hr_mc_addr {
    hr_mc_addr_kind kind;
    char *host;           /* INET/INET6: host part, NUL-terminated; UNIX: the path */
    char port[8];         /* INET/INET6: decimal port */
    int resolved;         /* ss/sslen hold the address */
    struct sockaddr_storage ss;
    socklen_t sslen;
} hr_mc_addr;

/* Parses an address spelled as in hash_ring_memcache.h (SERVERS).
 * HASH_RING_OK, HASH_RING_EINVAL (message in err), HASH_RING_ENOMEM.
 * Numeric addresses and unix paths are resolved at once. */
int hr_mc_addr_parse(const void *s, size_t len, hr_mc_addr *out, char *err, size_t err_size);
void hr_mc_addr_free(hr_mc_addr *a);

/* Resolves a host name (getaddrinfo, IPv4).  HASH_RING_OK or HASH_RING_EIO
 * (message in err). */
int hr_mc_addr_resolve(hr_mc_addr *a, char *err, size_t err_size);

/* Opens a non-blocking, close-on-exec socket connected to a, waiting at most
 * timeout_ms.  HASH_RING_OK (*fd set), HASH_RING_ETIMEDOUT or HASH_RING_EIO
 * (message in err). */
int hr_mc_connect(const hr_mc_addr *a, unsigned timeout_ms, int *fd, char *err,
                  size_t err_size);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t hr_mc_now_ms(void);

#endif
