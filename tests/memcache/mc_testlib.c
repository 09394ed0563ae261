/* mc_testlib.c - see mc_testlib.h. */
#include "mc_testlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#ifdef __linux__
#include <linux/tcp.h>
#include <sys/prctl.h>
#endif

#include "testutil.h"

#ifndef HR_MEMCACHED
#define HR_MEMCACHED ""
#endif

uint64_t tl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void tl_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int tl_valgrind(void)
{
    const char *v = getenv("HASH_RING_UNDER_VALGRIND");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TL_SANITIZED 1
#endif
#endif
#ifndef TL_SANITIZED
#define TL_SANITIZED 0
#endif

unsigned tl_slack_ms(void)
{
    return tl_valgrind() ? 10000u : TL_SANITIZED ? 3000u : 1000u;
}

const char *tl_memcached(void)
{
    static char found[4096];
    if (HR_MEMCACHED[0] != '\0' && access(HR_MEMCACHED, X_OK) == 0)
        return HR_MEMCACHED;
    const char *path = getenv("PATH");
    while (path != NULL && *path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(found, sizeof found, "%.*s/memcached", (int)n, path);
        if (n > 0 && access(found, X_OK) == 0)
            return found;
        path = colon ? colon + 1 : NULL;
    }
    return NULL;
}

void tl_require_memcached(void)
{
    if (tl_memcached() == NULL) {
        printf("SKIP: memcached is not installed (Debian package memcached)\n");
        exit(TL_SKIP);
    }
}

int tl_refusing_port(int *holder)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    *holder = -1;
    if (fd < 0)
        return -1;
    int port = tl_bind_loopback(fd, AF_INET);
    if (port < 0) {
        close(fd);
        return -1;
    }
    *holder = fd;
    return port;
}

int tl_free_port(void)
{
    int holder, port = tl_refusing_port(&holder);
    if (holder >= 0)
        close(holder);
    return port;
}

/* The raw reader's connections end with a reset, leaving no TIME_WAIT:
 * it opens one per request, thousands in a run, and each TIME_WAIT would
 * hold an ephemeral port for a minute (a narrow ip_local_port_range runs
 * out).  Every caller has read its whole reply before it closes. */
static int tl_no_time_wait(int fd)
{
    struct linger lg = {1, 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    return fd;
}

/* A blocking connection to "127.0.0.1:PORT" or a unix path, 5 s timeouts. */
static int tl_connect(const char *addr)
{
    int fd;
    struct timeval tv = {5, 0};
    if (addr[0] == '/') {
        struct sockaddr_un u;
        memset(&u, 0, sizeof u);
        u.sun_family = AF_UNIX;
        snprintf(u.sun_path, sizeof u.sun_path, "%s", addr);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&u, sizeof u) != 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    const char *colon = strrchr(addr, ':');
    if (colon == NULL)
        return -1;
    if (addr[0] == '[') {
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)atoi(colon + 1));
        char host6[64];
        snprintf(host6, sizeof host6, "%.*s", (int)(colon - addr - 2), addr + 1);
        if (inet_pton(AF_INET6, host6, &a6.sin6_addr) != 1)
            return -1;
        fd = socket(AF_INET6, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&a6, sizeof a6) != 0) {
            close(fd);
            return -1;
        }
        return tl_no_time_wait(fd);
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)atoi(colon + 1));
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return tl_no_time_wait(fd);
}

int tl_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until the buffer ends with `end` (e.g. "END\r\n") or a line that
 * is an error; returns the malloc'd reply or NULL. */
static char *tl_read_until(int fd, const char *end, size_t *out_len)
{
    size_t cap = 4096, len = 0, elen = strlen(end);
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        if (len == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        if (len >= elen && memcmp(buf + len - elen, end, elen) == 0) {
            *out_len = len;
            return buf;
        }
        if ((strncmp(buf, "ERROR", 5) == 0 || strncmp(buf, "CLIENT_ERROR", 12) == 0 ||
             strncmp(buf, "SERVER_ERROR", 12) == 0) &&
            strstr(buf, "\r\n") != NULL)
            break;
    }
    free(buf);
    return NULL;
}

int tl_raw_get(const char *addr, const char *key, char **value, size_t *len, uint32_t *flags)
{
    int fd = tl_connect(addr);
    if (fd < 0)
        return -1;
    char req[400];
    int n = snprintf(req, sizeof req, "get %s\r\n", key);
    size_t rlen = 0;
    char *r = NULL;
    if (tl_send_all(fd, req, (size_t)n) == 0)
        r = tl_read_until(fd, "END\r\n", &rlen);
    close(fd);
    if (r == NULL)
        return -1;
    int ret = -1;
    if (strcmp(r, "END\r\n") == 0) {
        ret = 0;
    } else if (strncmp(r, "VALUE ", 6) == 0) {
        char k[300];
        unsigned fl;
        size_t bytes;
        int hdr = 0;
        if (sscanf(r, "VALUE %299s %u %zu%n", k, &fl, &bytes, &hdr) == 3 &&
            strcmp(k, key) == 0 && strncmp(r + hdr, "\r\n", 2) == 0 &&
            (size_t)hdr + 2 + bytes + 7 == rlen) {
            *value = malloc(bytes + 1);
            if (*value != NULL) {
                memcpy(*value, r + hdr + 2, bytes);
                (*value)[bytes] = '\0';
                if (len != NULL)
                    *len = bytes;
                if (flags != NULL)
                    *flags = fl;
                ret = 1;
            }
        }
    }
    free(r);
    return ret;
}

int tl_raw_set(const char *addr, const char *key, const char *value, uint32_t flags)
{
    int fd = tl_connect(addr);
    if (fd < 0)
        return -1;
    size_t vlen = strlen(value);
    size_t cap = strlen(key) + vlen + 64;
    char *req = malloc(cap);
    int ret = -1;
    if (req != NULL) {
        int n = snprintf(req, cap, "set %s %u 0 %zu\r\n", key, (unsigned)flags, vlen);
        memcpy(req + n, value, vlen);
        memcpy(req + (size_t)n + vlen, "\r\n", 2);
        size_t rlen;
        char *r = NULL;
        if (tl_send_all(fd, req, (size_t)n + vlen + 2) == 0)
            r = tl_read_until(fd, "\r\n", &rlen);
        ret = r != NULL && strcmp(r, "STORED\r\n") == 0 ? 0 : -1;
        free(r);
        free(req);
    }
    close(fd);
    return ret;
}

long long tl_raw_stat(const char *addr, const char *name)
{
    int fd = tl_connect(addr);
    if (fd < 0)
        return -1;
    size_t rlen;
    char *r = NULL;
    if (tl_send_all(fd, "stats\r\n", 7) == 0)
        r = tl_read_until(fd, "END\r\n", &rlen);
    close(fd);
    if (r == NULL)
        return -1;
    long long v = -1;
    char pat[128];
    snprintf(pat, sizeof pat, "STAT %s ", name);
    char *p = strstr(r, pat);
    if (p != NULL)
        v = strtoll(p + strlen(pat), NULL, 10);
    free(r);
    return v;
}

char *tl_raw_exchange(const char *addr, const char *req, size_t len, int quiet_ms)
{
    int fd = tl_connect(addr);
    if (fd < 0)
        return NULL;
    struct timeval tv = {quiet_ms / 1000, (quiet_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (buf != NULL && tl_send_all(fd, req, len) == 0) {
        for (;;) {
            if (n == cap) {
                char *nb = realloc(buf, cap * 2 + 1);
                if (nb == NULL)
                    break;
                buf = nb;
                cap *= 2;
            }
            ssize_t r = recv(fd, buf + n, cap - n, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            n += (size_t)r;
        }
        buf[n] = '\0';
    }
    close(fd);
    return buf;
}

char *tl_raw_request(const char *addr, const char *req, size_t len, const char *end)
{
    int fd = tl_connect(addr);
    if (fd < 0)
        return NULL;
    size_t rlen;
    char *r = NULL;
    if (tl_send_all(fd, req, len) == 0)
        r = tl_read_until(fd, end, &rlen);
    close(fd);
    return r;
}

/* A free TCP port on [::1], or -1 when there is no IPv6 loopback. */
static int tl_free_port6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int port = tl_bind_loopback(fd, AF_INET6);
    close(fd);
    return port;
}

int tl_daemon_start(tl_daemon *d, int port, const char *unix_path)
{
    return tl_daemon_start_args(d, port, unix_path, NULL);
}

int tl_daemon_start_args(tl_daemon *d, int port, const char *unix_path,
                         const char *const *extra)
{
    const char *bin = tl_memcached();
    int v6 = unix_path != NULL && strcmp(unix_path, "[::1]") == 0;
    if (bin == NULL)
        return -1;
    if (v6) {
        if (tl_free_port6() < 0)
            return -1;
        unix_path = NULL;
    }
    for (int attempt = 0; attempt < 8; attempt++) {
        int p = 0;
        char portbuf[16], pathbuf[108];
        memset(d, 0, sizeof *d);
        if (unix_path != NULL) {
            snprintf(d->path, sizeof d->path, "%s", unix_path);
            snprintf(d->addr, sizeof d->addr, "%s", unix_path);
            unlink(unix_path);
        } else {
            p = port > 0 ? port : v6 ? tl_free_port6() : tl_free_port();
            if (p <= 0)
                continue;
            d->port = p;
            snprintf(d->addr, sizeof d->addr, v6 ? "[::1]:%d" : "127.0.0.1:%d", p);
        }
        snprintf(portbuf, sizeof portbuf, "%d", p);
        snprintf(pathbuf, sizeof pathbuf, "%s", d->path);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
#ifdef __linux__
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(127);
#endif
            int devnull = open("/dev/null", O_RDWR);
            if (devnull >= 0) {
                dup2(devnull, 0);
                dup2(devnull, 1);
                dup2(devnull, 2);
            }
            const char *argv[48];
            int a = 0;
            argv[a++] = bin;
            if (unix_path != NULL) {
                argv[a++] = "-s";
                argv[a++] = pathbuf;
            } else {
                argv[a++] = "-l";
                argv[a++] = v6 ? "::1" : "127.0.0.1";
                argv[a++] = "-p";
                argv[a++] = portbuf;
            }
            argv[a++] = "-U";
            argv[a++] = "0";
            argv[a++] = "-t";
            argv[a++] = "1";
            argv[a++] = "-m";
            argv[a++] = "32";
            if (geteuid() == 0) {
                argv[a++] = "-u";
                argv[a++] = "root";
            }
            for (size_t i = 0; extra != NULL && extra[i] != NULL && a < 46; i++)
                argv[a++] = extra[i];
            argv[a] = NULL;
            execv(bin, (char *const *)argv);
            _exit(127);
        }
        d->pid = pid;
        /* Ready when it answers stats with its own pid (not another process
         * that happened to take the port). */
        uint64_t until = tl_now_ms() + 5000;
        int ok = 0, exited = 0;
        while (tl_now_ms() < until) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                exited = 1;
                break;
            }
            if (tl_raw_stat(d->addr, "pid") == (long long)pid) {
                ok = 1;
                break;
            }
            tl_sleep_ms(10);
        }
        if (ok)
            return 0;
        if (!exited) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        d->pid = 0;
        if (port > 0 || unix_path != NULL)
            tl_sleep_ms(200); /* a fixed address: wait and try again */
    }
    fprintf(stderr, "cannot start memcached\n");
    return -1;
}

void tl_daemon_kill(tl_daemon *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
        d->stopped = 0;
    }
}

void tl_daemon_stop(tl_daemon *d)
{
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGSTOP);
    /* kill() only queues the signal: memcached stops when one of its
     * threads next runs, takes it and stops the others; until then its
     * worker thread answers requests (on a loaded machine, often the next
     * one).  The parent is told once the whole process is stopped. */
    for (;;) {
        int st = 0;
        pid_t r = waitpid(d->pid, &st, WUNTRACED);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == d->pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
            d->pid = 0; /* it died: nothing left to stop */
            return;
        }
        if (r != d->pid || WIFSTOPPED(st))
            break;
    }
    d->stopped = 1;
}

void tl_daemon_cont(tl_daemon *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGCONT);
        d->stopped = 0;
    }
}

int tl_count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(dir);
    return n - 1; /* the directory's own descriptor */
}

int tl_vec_load(tl_vec *v, const char *get_tsv, const char *replicas_tsv)
{
    tu_tsv g, r;
    memset(v, 0, sizeof *v);
    if (tu_tsv_read(get_tsv, &g) != 0)
        return -1;
    int have_r = replicas_tsv != NULL && tu_tsv_read(replicas_tsv, &r) == 0;
    v->n = g.nlines;
    v->key = calloc(v->n, sizeof *v->key);
    v->node = calloc(v->n, sizeof *v->node);
    v->reps = have_r ? calloc(v->n, sizeof *v->reps) : NULL;
    for (size_t i = 0; i < v->n; i++) {
        v->key[i] = strdup(g.fields[i][0]);
        v->node[i] = strdup(g.fields[i][1]);
        if (have_r && i < r.nlines && strcmp(r.fields[i][0], g.fields[i][0]) == 0) {
            size_t nf = r.nfields[i];
            v->reps[i] = calloc(nf, sizeof **v->reps);
            for (size_t k = 1; k < nf; k++)
                v->reps[i][k - 1] = strdup(r.fields[i][k]);
        }
    }
    tu_tsv_free(&g);
    if (have_r)
        tu_tsv_free(&r);
    return 0;
}

void tl_vec_free(tl_vec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->key[i]);
        free(v->node[i]);
        if (v->reps != NULL && v->reps[i] != NULL) {
            for (char **p = v->reps[i]; *p; p++)
                free(*p);
            free(v->reps[i]);
        }
    }
    free(v->key);
    free(v->node);
    free(v->reps);
    memset(v, 0, sizeof *v);
}

const char *const tl_seed3_names[3] = {"192.168.0.246:11212", "192.168.0.247:11212",
                                       "192.168.0.249:11212"};

int tl_seed3_index(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(tl_seed3_names[i], name) == 0)
            return i;
    return -1;
}

int tl_daemons_start(tl_daemon *d, int n)
{
    for (int i = 0; i < n; i++) {
        if (tl_daemon_start(&d[i], 0, NULL) != 0) {
            tl_daemons_kill(d, i);
            return -1;
        }
    }
    return 0;
}

void tl_daemons_kill(tl_daemon *d, int n)
{
    for (int i = 0; i < n; i++)
        tl_daemon_kill(&d[i]);
}

/* Whether the listener's accept queue is full: for a listening socket,
 * TCP_INFO gives the queue's length (tcpi_unacked) and its limit
 * (tcpi_sacked).  -1 when the kernel does not tell. */
static int tl_queue_full(int ls)
{
#if defined(__linux__) && defined(TCP_INFO)
    struct tcp_info ti;
    memset(&ti, 0, sizeof ti);
    socklen_t len = sizeof ti;
    if (getsockopt(ls, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_sacked) + sizeof ti.tcpi_sacked)
        return -1;
    return ti.tcpi_unacked > ti.tcpi_sacked;
#else
    (void)ls;
    return -1;
#endif
}

int tl_full_listener(int *port, int *fill, int nfill)
{
    for (int i = 0; i < nfill; i++)
        fill[i] = -1;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0)
        return -1;
    int lport = tl_bind_loopback(ls, AF_INET);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)(lport > 0 ? lport : 0));
    if (lport < 0 || listen(ls, 0) != 0)
        goto fail;
    for (int i = 0; i < nfill; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fill[i] < 0 || fcntl(fill[i], F_SETFL, O_NONBLOCK) != 0)
            goto fail;
        if (connect(fill[i], (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
            goto fail;
    }
    /* Wait for the kernel to queue the connections (it does so
     * asynchronously): until the queue is full, or, where that cannot be
     * read, until one of them is established. */
    for (uint64_t until = tl_now_ms() + 10000; tl_now_ms() < until;) {
        int full = tl_queue_full(ls);
        if (full == 1) {
            *port = ntohs(a.sin_port);
            return ls;
        }
        if (full < 0) {
            for (int i = 0; i < nfill; i++) {
                struct pollfd p = {fill[i], POLLOUT, 0};
                int err = 0;
                socklen_t el = sizeof err;
                if (poll(&p, 1, 0) == 1 &&
                    getsockopt(fill[i], SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
                    *port = ntohs(a.sin_port);
                    return ls;
                }
            }
        }
        tl_sleep_ms(1);
    }
fail:
    for (int i = 0; i < nfill; i++)
        if (fill[i] >= 0) {
            close(fill[i]);
            fill[i] = -1;
        }
    close(ls);
    return -1;
}
