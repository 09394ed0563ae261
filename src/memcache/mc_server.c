/* mc_server.c - the server table, connections and the exchange engine.
 *
 * An exchange writes each server's request and reads its replies with
 * non-blocking sockets and one poll() loop over all servers involved, so a
 * multi-get talks to its servers in parallel and no server can make the
 * client wait past the I/O timeout. */
#include "memcache/mc_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef MSG_NOSIGNAL
#define MC_SEND_FLAGS MSG_NOSIGNAL
#else
#define MC_SEND_FLAGS 0 /* SO_NOSIGPIPE is set on the socket instead */
#endif

/* Read buffers above this are released when the connection closes. */
#define MC_RBUF_KEEP (256u * 1024u)
#define MC_RBUF_MIN (16u * 1024u)

void hr_mc_errf(hash_ring_mc_t *mc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mc->err, sizeof mc->err, fmt, ap);
    va_end(ap);
}

static uint64_t mc_hash(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int mc_table_grow(hash_ring_mc_t *mc)
{
    size_t nb = mc->nbuckets ? mc->nbuckets * 2 : 16;
    mc_server **b = calloc(nb, sizeof *b);
    if (b == NULL)
        return HASH_RING_ENOMEM;
    for (size_t i = 0; i < mc->nservers; i++) {
        mc_server *s = mc->servers[i];
        size_t h = (size_t)(mc_hash(s->name, s->name_len) & (nb - 1));
        s->hnext = b[h];
        b[h] = s;
    }
    free(mc->buckets);
    mc->buckets = b;
    mc->nbuckets = nb;
    return HASH_RING_OK;
}

mc_server *hr_mc_server_get(hash_ring_mc_t *mc, const char *name, size_t len, int create)
{
    if (mc->nbuckets > 0) {
        size_t h = (size_t)(mc_hash(name, len) & (mc->nbuckets - 1));
        for (mc_server *s = mc->buckets[h]; s != NULL; s = s->hnext)
            if (s->name_len == len && memcmp(s->name, name, len) == 0)
                return s;
    }
    if (!create)
        return NULL;
    if (mc->nservers == mc->cap) {
        size_t nc = mc->cap ? mc->cap * 2 : 8;
        mc_server **v = realloc(mc->servers, nc * sizeof *v);
        if (v == NULL)
            return NULL;
        mc->servers = v;
        mc->cap = nc;
    }
    if (mc->nservers >= mc->nbuckets && mc_table_grow(mc) != HASH_RING_OK)
        return NULL;
    mc_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->fd = -1;
    s->name = malloc(len + 1);
    if (s->name == NULL) {
        free(s);
        return NULL;
    }
    memcpy(s->name, name, len);
    s->name[len] = '\0';
    s->name_len = len;
    int rc = hr_mc_addr_parse(name, len, &s->addr, s->addr_err, sizeof s->addr_err);
    if (rc == HASH_RING_ENOMEM) {
        free(s->name);
        free(s);
        return NULL;
    }
    s->addr_ok = rc == HASH_RING_OK;
    size_t h = (size_t)(mc_hash(name, len) & (mc->nbuckets - 1));
    s->hnext = mc->buckets[h];
    mc->buckets[h] = s;
    mc->servers[mc->nservers++] = s;
    return s;
}

void hr_mc_server_close(mc_server *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->rstart = s->rend = 0;
    if (s->rcap > MC_RBUF_KEEP) {
        free(s->rbuf);
        s->rbuf = NULL;
        s->rcap = 0;
    }
}

void hr_mc_server_free(mc_server *s)
{
    if (s == NULL)
        return;
    hr_mc_server_close(s);
    hr_mc_addr_free(&s->addr);
    free(s->rbuf);
    free(s->wbuf);
    free(s->name);
    free(s);
}

void hr_mc_server_mark_dead(hash_ring_mc_t *mc, mc_server *s)
{
    hr_mc_server_close(s);
    s->dead = 1;
    s->dead_until = hr_mc_now_ms() + mc->retry_interval;
}

int hr_mc_server_skipped(const hash_ring_mc_t *mc, const mc_server *s, uint64_t now)
{
    (void)mc;
    return s->dead && now < s->dead_until;
}

/* An idle connection must have nothing to read: a readable socket means the
 * server closed it (EOF) or sent something unasked; either way drop it. */
static int mc_conn_idle_ok(mc_server *s)
{
    if (s->rstart != s->rend)
        return 0;
    struct pollfd p = {s->fd, POLLIN, 0};
    int r;
    do
        r = poll(&p, 1, 0);
    while (r < 0 && errno == EINTR);
    return r == 0;
}

int hr_mc_server_ready(hash_ring_mc_t *mc, mc_server *s)
{
    if (s->fd >= 0 && mc_conn_idle_ok(s))
        return HASH_RING_OK;
    hr_mc_server_close(s);
    if (!s->addr_ok) {
        hr_mc_errf(mc, "server %s: not an address: %s", s->name, s->addr_err);
        hr_mc_server_mark_dead(mc, s);
        return HASH_RING_EINVAL;
    }
    char why[200];
    int rc = hr_mc_addr_resolve(&s->addr, why, sizeof why);
    if (rc == HASH_RING_OK)
        rc = hr_mc_connect(&s->addr, mc->connect_timeout, &s->fd, why, sizeof why);
    if (rc == HASH_RING_ENOMEM) {
        /* a local shortage (descriptors, buffers): the server is fine */
        hr_mc_errf(mc, "server %s: %s (local resources; the server is not marked dead)",
                   s->name, why);
        return rc;
    }
    if (rc != HASH_RING_OK) {
        hr_mc_errf(mc, "server %s: %s", s->name, why);
        if (s->addr.kind == HR_MC_ADDR_INET) {
            /* A host name is resolved again at the next attempt. */
            struct in_addr tmp;
            if (inet_pton(AF_INET, s->addr.host, &tmp) != 1)
                s->addr.resolved = 0;
        }
        hr_mc_server_mark_dead(mc, s);
        return rc;
    }
    return HASH_RING_OK;
}

void hr_mc_req_reset(mc_server *s)
{
    s->wlen = s->wpos = 0;
}

int hr_mc_req_append(mc_server *s, const void *p, size_t n)
{
    if (n > s->wcap - s->wlen) {
        size_t nc = s->wcap ? s->wcap : 256;
        while (nc - s->wlen < n) {
            if (nc > SIZE_MAX / 2)
                return HASH_RING_ENOMEM;
            nc *= 2;
        }
        unsigned char *b = realloc(s->wbuf, nc);
        if (b == NULL)
            return HASH_RING_ENOMEM;
        s->wbuf = b;
        s->wcap = nc;
    }
    if (n > 0)
        memcpy(s->wbuf + s->wlen, p, n);
    s->wlen += n;
    return HASH_RING_OK;
}

int hr_mc_req_str(mc_server *s, const char *str)
{
    return hr_mc_req_append(s, str, strlen(str));
}

/* Ends a server's exchange with a failure. */
static void mc_fail(hash_ring_mc_t *mc, mc_server *s, int code, const char *what)
{
    if (s->done)
        return;
    s->done = 1;
    s->fail = code;
    hr_mc_errf(mc, "server %s: %s", s->name, what);
    if (code == HASH_RING_ENOMEM)
        hr_mc_server_close(s);
    else
        hr_mc_server_mark_dead(mc, s);
}

static void mc_finish(mc_server *s)
{
    s->done = 1;
    s->dead = 0;
    /* The connection is kept only when the exchange ended cleanly: the
     * whole request written and nothing received beyond the last expected
     * reply.  A server may answer before it has read the whole request
     * (memcached's "SERVER_ERROR object too large for cache" comes after
     * the command line, then it waits for the rest of the data): the next
     * request on that connection would be taken as that data, or its
     * reply would be some other request's.  The next exchange reconnects. */
    if (s->close_after || s->rstart != s->rend || s->wpos < s->wlen)
        hr_mc_server_close(s);
    else
        s->rstart = s->rend = 0;
}

static void mc_on_writable(hash_ring_mc_t *mc, mc_server *s)
{
    while (s->wpos < s->wlen) {
        ssize_t w = send(s->fd, s->wbuf + s->wpos, s->wlen - s->wpos, MC_SEND_FLAGS);
        if (w > 0) {
            s->wpos += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        char msg[160];
        snprintf(msg, sizeof msg, "send: %s", w < 0 ? strerror(errno) : "no progress");
        mc_fail(mc, s, HASH_RING_EIO, msg);
        return;
    }
}

/* Parses every complete reply in the buffer. */
static void mc_parse_buffered(hash_ring_mc_t *mc, mc_server *s, size_t *need)
{
    *need = 0;
    while (!s->done) {
        hr_mc_reply rep;
        size_t used = 0;
        int rc = hr_mc_parse_reply(s->rbuf + s->rstart, s->rend - s->rstart, mc->max_value, &rep,
                                   &used);
        if (rc == 0) {
            *need = rep.need;
            return;
        }
        if (rc < 0) {
            mc_fail(mc, s, HASH_RING_EPROTO, "malformed or oversized reply");
            return;
        }
        int h = s->on_reply(mc, s, &rep);
        s->rstart += used;
        if (h < 0) {
            mc_fail(mc, s, h == HASH_RING_ENOMEM ? h : HASH_RING_EPROTO,
                    h == HASH_RING_ENOMEM ? "out of memory" : "unexpected reply");
            return;
        }
        if (h == 1)
            mc_finish(s);
    }
}

static void mc_on_readable(hash_ring_mc_t *mc, mc_server *s)
{
    size_t need = 0;
    for (int reads = 0; !s->done && reads < 64; reads++) {
        /* Room for at least the bytes the current reply needs. */
        size_t have = s->rend - s->rstart;
        if (s->rstart > 0 &&
            (s->rend == s->rcap || have == 0 || s->rstart + need > s->rcap)) {
            memmove(s->rbuf, s->rbuf + s->rstart, have);
            s->rend = have;
            s->rstart = 0;
        }
        if (s->rend == s->rcap || s->rstart + need > s->rcap) {
            size_t nc = s->rcap ? s->rcap * 2 : MC_RBUF_MIN;
            if (nc < s->rstart + need)
                nc = s->rstart + need;
            unsigned char *b = realloc(s->rbuf, nc);
            if (b == NULL) {
                mc_fail(mc, s, HASH_RING_ENOMEM, "out of memory");
                return;
            }
            s->rbuf = b;
            s->rcap = nc;
        }
        ssize_t r = recv(s->fd, s->rbuf + s->rend, s->rcap - s->rend, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r < 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "recv: %s", strerror(errno));
            mc_fail(mc, s, HASH_RING_EIO, msg);
            return;
        }
        if (r == 0) {
            mc_fail(mc, s, HASH_RING_EIO,
                    s->rend > s->rstart ? "connection closed in the middle of a reply"
                                        : "connection closed by the server");
            return;
        }
        s->rend += (size_t)r;
        mc_parse_buffered(mc, s, &need);
    }
}

void hr_mc_exchange(hash_ring_mc_t *mc, mc_server **srvs, size_t n)
{
    struct pollfd one;
    struct pollfd *pfd = &one;
    for (size_t i = 0; i < n; i++) {
        srvs[i]->done = 0;
        srvs[i]->fail = 0;
        srvs[i]->close_after = 0;
        srvs[i]->wpos = 0;
    }
    if (n > 1) {
        if (mc->npfds < n) {
            struct pollfd *p = realloc(mc->pfds, n * sizeof *p);
            if (p == NULL) {
                for (size_t i = 0; i < n; i++)
                    mc_fail(mc, srvs[i], HASH_RING_ENOMEM, "out of memory");
                return;
            }
            mc->pfds = p;
            mc->npfds = n;
        }
        pfd = mc->pfds;
    }
    uint64_t deadline = hr_mc_now_ms() + mc->io_timeout;
    for (;;) {
        size_t np = 0;
        /* pfd[k] belongs to the k-th server still running; find it by
         * walking srvs in the same order below. */
        for (size_t i = 0; i < n; i++) {
            mc_server *s = srvs[i];
            if (s->done)
                continue;
            pfd[np].fd = s->fd;
            pfd[np].events = (short)(POLLIN | (s->wpos < s->wlen ? POLLOUT : 0));
            pfd[np].revents = 0;
            np++;
        }
        if (np == 0)
            return;
        uint64_t now = hr_mc_now_ms();
        if (now >= deadline) {
            char msg[96];
            snprintf(msg, sizeof msg, "no complete reply within %u ms", mc->io_timeout);
            for (size_t i = 0; i < n; i++)
                mc_fail(mc, srvs[i], HASH_RING_ETIMEDOUT, msg);
            return;
        }
        uint64_t left = deadline - now;
        int pr = poll(pfd, (nfds_t)np, left > INT32_MAX ? INT32_MAX : (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "poll: %s", strerror(errno));
            for (size_t i = 0; i < n; i++)
                mc_fail(mc, srvs[i], HASH_RING_EIO, msg);
            return;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            mc_server *s = srvs[i];
            if (s->done)
                continue;
            short re = pfd[k++].revents;
            if (re & POLLNVAL) {
                mc_fail(mc, s, HASH_RING_EIO, "invalid socket");
                continue;
            }
            if ((re & POLLOUT) && s->wpos < s->wlen)
                mc_on_writable(mc, s);
            if (!s->done && (re & (POLLIN | POLLHUP | POLLERR)))
                mc_on_readable(mc, s);
        }
    }
}
