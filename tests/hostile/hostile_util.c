/* hostile_util.c - see hostile_util.h. */
#include "hostile_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/tcp.h>
#include <sys/prctl.h>
#endif

#include <cmocka.h>

int hu_valgrind(void)
{
    const char *v = getenv("HASH_RING_UNDER_VALGRIND");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

unsigned hu_ms(unsigned native_ms)
{
    return hu_valgrind() ? native_ms * HU_VALGRIND_FACTOR : native_ms;
}

/* Sanitizer builds (the whole tree is compiled with -fsanitize): copying
 * tens of MB through instrumented memcpy/realloc costs hundreds of ms
 * before an exchange even starts. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HU_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HU_SANITIZED 1
#endif
#endif
#ifndef HU_SANITIZED
#define HU_SANITIZED 0
#endif

unsigned hu_slack(void)
{
    return hu_valgrind() ? 4000u : HU_SANITIZED ? 2000u : 1000u;
}

int hu_daemon_start(tl_daemon *d, int port, const char *const *extra)
{
    return tl_daemon_start_args(d, port, NULL, extra);
}

int hu_listener(int backlog, int *port)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0)
        return -1;
    int p = tl_bind_loopback(ls, AF_INET);
    if (p < 0 || listen(ls, backlog) != 0) {
        close(ls);
        return -1;
    }
    *port = p;
    return ls;
}

int hu_peer_fd(int port)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd == dirfd(dir))
            continue;
        struct stat st;
        if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0 || ss.ss_family != AF_INET)
            continue;
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        if (ntohs(in->sin_port) == port && ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK)
            found = fd;
    }
    closedir(dir);
    return found;
}

uint64_t hu_bytes_received(int fd)
{
#if defined(__linux__) && defined(TCP_INFO)
    struct tcp_info ti;
    memset(&ti, 0, sizeof ti);
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return UINT64_MAX;
    return (uint64_t)ti.tcpi_bytes_received;
#else
    (void)fd;
    return UINT64_MAX;
#endif
}

/* The n-th number (0-based) of a /proc/sys file, or 0. */
static size_t sysctl_field(const char *path, int n)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    unsigned long long v = 0;
    for (int i = 0; i <= n; i++)
        if (fscanf(f, "%llu", &v) != 1) {
            v = 0;
            break;
        }
    fclose(f);
    return (size_t)v;
}

/* Neither the client nor memcached sets SO_SNDBUF or SO_RCVBUF on a TCP
 * socket: the kernel autotunes them up to tcp_wmem's and tcp_rmem's
 * maximum (net.core.wmem_max and rmem_max bound only explicit settings). */
size_t hu_tcp_send_room(void)
{
    size_t snd = sysctl_field("/proc/sys/net/ipv4/tcp_wmem", 2);
    return snd == 0 ? (size_t)32 << 20 : snd;
}

size_t hu_tcp_buffer_room(void)
{
    size_t rcv = sysctl_field("/proc/sys/net/ipv4/tcp_rmem", 2);
    return hu_tcp_send_room() + (rcv == 0 ? (size_t)32 << 20 : rcv);
}

hash_ring_mc_t *hu_client(const char *const *servers, size_t n, unsigned connect_ms,
                          unsigned io_ms, unsigned retry_ms, int failover)
{
    hash_ring_mc_t *mc = NULL;
    assert_int_equal(hash_ring_mc_create(&mc, HASH_RING_DIALECT_PYTHON), HASH_RING_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hash_ring_mc_add_server(mc, servers[i], strlen(servers[i]), 1),
                         HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_connect_timeout(mc, connect_ms), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_io_timeout(mc, io_ms), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_retry_interval(mc, retry_ms), HASH_RING_OK);
    assert_int_equal(hash_ring_mc_set_failover(mc, failover), HASH_RING_OK);
    return mc;
}

const char *hu_owner(hash_ring_mc_t *mc, const char *key, char *buf, size_t cap)
{
    return hu_candidate(mc, key, 0, buf, cap);
}

const char *hu_candidate(hash_ring_mc_t *mc, const char *key, size_t i, char *buf, size_t cap)
{
    const char *names[16];
    size_t lens[16], count = 0;
    assert_int_equal(hash_ring_get_nodes(hash_ring_mc_ring(mc), key, strlen(key), names, lens,
                                         16, &count),
                     HASH_RING_OK);
    if (i >= count)
        return NULL;
    snprintf(buf, cap, "%.*s", (int)lens[i], names[i]);
    return buf;
}

int hu_contains(const char *s, const char *sub)
{
    return s != NULL && sub != NULL && strstr(s, sub) != NULL;
}
