/* mc_conn.c - server addresses and non-blocking connect with a deadline. */
#include "mc_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hash_ring_memcache.h"

uint64_t hr_mc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static char *mc_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int mc_parse_port(const char *s, size_t n, char port[8])
{
    unsigned v = 0;
    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -1;
    snprintf(port, 8, "%u", v);
    return 0;
}

int hr_mc_addr_parse(const void *sv, size_t len, hr_mc_addr *out, char *err, size_t err_size)
{
    const char *s = sv;
    memset(out, 0, sizeof *out);
    if (s == NULL || len == 0) {
        snprintf(err, err_size, "empty server address");
        return HASH_RING_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(err, err_size, "server address contains a control character");
            return HASH_RING_EINVAL;
        }
    }
    if (len > 5 && memcmp(s, "unix:", 5) == 0) {
        s += 5;
        len -= 5;
    } else if (s[0] != '/') {
        goto inet;
    }
    {
        struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
        if (len == 0 || s[0] != '/' || len >= sizeof un->sun_path) {
            snprintf(err, err_size, "bad unix socket path (absolute, under %zu bytes)",
                     sizeof un->sun_path);
            return HASH_RING_EINVAL;
        }
        out->kind = HR_MC_ADDR_UNIX;
        if ((out->host = mc_strndup(s, len)) == NULL)
            return HASH_RING_ENOMEM;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, s, len);
        out->sslen = (socklen_t)sizeof *un;
        out->resolved = 1;
        return HASH_RING_OK;
    }
inet:
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        size_t hlen = close ? (size_t)(close - s - 1) : 0;
        size_t after = close ? (size_t)(close - s + 1) : 0;
        if (close == NULL || hlen == 0 || after >= len || s[after] != ':' ||
            mc_parse_port(s + after + 1, len - after - 1, out->port) != 0) {
            snprintf(err, err_size, "bad IPv6 server address (want [ADDR]:PORT)");
            return HASH_RING_EINVAL;
        }
        out->kind = HR_MC_ADDR_INET6;
        if ((out->host = mc_strndup(s + 1, hlen)) == NULL)
            return HASH_RING_ENOMEM;
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_INET6;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
        if (getaddrinfo(out->host, out->port, &hints, &res) != 0 || res == NULL) {
            snprintf(err, err_size, "bad IPv6 address '%s'", out->host);
            hr_mc_addr_free(out);
            return HASH_RING_EINVAL;
        }
        memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
        out->sslen = res->ai_addrlen;
        out->resolved = 1;
        freeaddrinfo(res);
        return HASH_RING_OK;
    }
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    size_t hlen = colon ? (size_t)(colon - s) : len;
    if (colon == NULL)
        strcpy(out->port, "11211");
    else if (mc_parse_port(colon + 1, len - hlen - 1, out->port) != 0) {
        snprintf(err, err_size, "bad port in server address (want HOST:PORT, 1..65535)");
        return HASH_RING_EINVAL;
    }
    if (hlen == 0 || memchr(s, ' ', hlen) != NULL || memchr(s, ':', hlen) != NULL) {
        snprintf(err, err_size, "bad host in server address (IPv6 needs [ADDR]:PORT)");
        return HASH_RING_EINVAL;
    }
    out->kind = HR_MC_ADDR_INET;
    if ((out->host = mc_strndup(s, hlen)) == NULL)
        return HASH_RING_ENOMEM;
    struct sockaddr_in *in = (struct sockaddr_in *)&out->ss;
    if (inet_pton(AF_INET, out->host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)atoi(out->port));
        out->sslen = (socklen_t)sizeof *in;
        out->resolved = 1;
    }
    return HASH_RING_OK;
}

void hr_mc_addr_free(hr_mc_addr *a)
{
    if (a != NULL) {
        free(a->host);
        a->host = NULL;
        a->resolved = 0;
    }
}

int hr_mc_addr_resolve(hr_mc_addr *a, char *err, size_t err_size)
{
    if (a->resolved)
        return HASH_RING_OK;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int g = getaddrinfo(a->host, a->port, &hints, &res);
    if (g != 0 || res == NULL) {
        snprintf(err, err_size, "cannot resolve '%s': %s", a->host,
                 g != 0 ? gai_strerror(g) : "no address");
        return HASH_RING_EIO;
    }
    memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
    a->sslen = res->ai_addrlen;
    a->resolved = 1;
    freeaddrinfo(res);
    return HASH_RING_OK;
}

static int mc_socket(int family)
{
    int fd;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 || errno != EINVAL)
        return fd;
#endif
    fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        int e = errno; /* the caller reads it */
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int hr_mc_connect(const hr_mc_addr *a, unsigned timeout_ms, int *fdp, char *err,
                  size_t err_size)
{
    int family = a->ss.ss_family;
    int fd = mc_socket(family);
    if (fd < 0) {
        /* Out of descriptors or buffers here is our problem, not the
         * server's: ENOMEM, so that the server is not marked dead. */
        int local = errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
        snprintf(err, err_size, "socket: %s", strerror(errno));
        return local ? HASH_RING_ENOMEM : HASH_RING_EIO;
    }
#ifdef SO_NOSIGPIPE
    {
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
    }
#endif
    if (family != AF_UNIX) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    int r;
    do
        r = connect(fd, (const struct sockaddr *)&a->ss, a->sslen);
    while (r < 0 && errno == EINTR && family == AF_UNIX);
    if (r == 0) {
        *fdp = fd;
        return HASH_RING_OK;
    }
    if (errno != EINPROGRESS && errno != EINTR) {
        /* No local port or buffer left: local too.  But a unix socket
         * says EAGAIN when the server's listen queue is full: a busy
         * server, as a TCP one whose queue is full lets connect time out. */
        int unix_busy = errno == EAGAIN && family == AF_UNIX;
        int local = !unix_busy && (errno == EADDRNOTAVAIL || errno == ENOBUFS || errno == EAGAIN);
        snprintf(err, err_size, "connect: %s%s", strerror(errno),
                 unix_busy ? " (the server's listen queue is full)" : "");
        close(fd);
        return local ? HASH_RING_ENOMEM : HASH_RING_EIO;
    }
    uint64_t deadline = hr_mc_now_ms() + timeout_ms;
    for (;;) {
        uint64_t now = hr_mc_now_ms();
        if (now >= deadline) {
            snprintf(err, err_size, "connect: timed out after %u ms", timeout_ms);
            close(fd);
            return HASH_RING_ETIMEDOUT;
        }
        struct pollfd p = {fd, POLLOUT, 0};
        int pr = poll(&p, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            snprintf(err, err_size, "poll: %s", strerror(errno));
            close(fd);
            return HASH_RING_EIO;
        }
        if (pr == 0)
            continue;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (soerr != 0) {
            snprintf(err, err_size, "connect: %s", strerror(soerr));
            close(fd);
            return HASH_RING_EIO;
        }
        *fdp = fd;
        return HASH_RING_OK;
    }
}
