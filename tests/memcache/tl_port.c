/* tl_port.c - tl_bind_loopback (mc_testlib.h); a file of its own so that
 * mc_hostile can use it without the rest of the test library. */
#include "mc_testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Ports for the tests' servers are taken outside the kernel's ephemeral
 * range (net.ipv4.ip_local_port_range, which applies to IPv6 too): the
 * ports of outgoing connections - this machine's, in TIME_WAIT for a
 * minute after each close - come from that range, so a narrow or busy
 * range can leave no port for bind(port 0), and a port given up between
 * a probe and a daemon's bind (or a restart on the same port) could be
 * taken by any connect.  Outside it, only another test's random choice can
 * collide, and the callers retry.  Port 0 when the range covers every
 * unprivileged port. */
static int tl_pick_port(void)
{
    static uint64_t seed;
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535)
            lo = 32768, hi = 60999;
        fclose(f);
    }
    unsigned below = lo > 1024 ? lo - 1024 : 0; /* [1024, lo) */
    unsigned above = 65535 - hi;                /* (hi, 65535] */
    if (below + above < 100)
        return 0;
    if (seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ 0x9e3779b97f4a7c15ull;
    }
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    unsigned k = (unsigned)(seed % (below + above));
    return (int)(k < below ? 1024 + k : hi + 1 + (k - below));
}

int tl_bind_loopback(int fd, int family)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        int port = attempt < 199 ? tl_pick_port() : 0;
        int rc;
        if (family == AF_INET6) {
            struct sockaddr_in6 a;
            memset(&a, 0, sizeof a);
            a.sin6_family = AF_INET6;
            a.sin6_addr = in6addr_loopback;
            a.sin6_port = htons((uint16_t)port);
            rc = bind(fd, (struct sockaddr *)&a, sizeof a);
        } else {
            struct sockaddr_in a;
            memset(&a, 0, sizeof a);
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            a.sin_port = htons((uint16_t)port);
            rc = bind(fd, (struct sockaddr *)&a, sizeof a);
        }
        if (rc == 0) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
                return -1;
            return ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
        }
        if (errno != EADDRINUSE && errno != EACCES)
            return -1; /* e.g. no such address (no ::1) */
        if (port == 0)
            return -1;
    }
    return -1;
}

