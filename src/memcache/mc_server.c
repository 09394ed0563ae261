/* mc_server.c - the server table, connections and request buffers.
 *
 * The exchange engine that sends the requests and reads the replies is in
 * mc_exchange.c. */
#include "mc_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef MSG_DONTWAIT
#define MC_PEEK_FLAGS (MSG_PEEK | MSG_DONTWAIT)
#else
#define MC_PEEK_FLAGS MSG_PEEK /* the socket is non-blocking anyway */
#endif

/* Read buffers above this are released when the connection closes. */
#define MC_RBUF_KEEP (256u * 1024u)

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

void hr_mc_server_forget(hash_ring_mc_t *mc, mc_server *s)
{
    size_t h = (size_t)(mc_hash(s->name, s->name_len) & (mc->nbuckets - 1));
    for (mc_server **pp = &mc->buckets[h]; *pp != NULL; pp = &(*pp)->hnext)
        if (*pp == s) {
            *pp = s->hnext;
            break;
        }
    /* Usually the newest entry: searched from the end.  The table's order
     * means nothing, so the last entry fills the hole. */
    for (size_t i = mc->nservers; i-- > 0;)
        if (mc->servers[i] == s) {
            mc->servers[i] = mc->servers[--mc->nservers];
            break;
        }
    hr_mc_server_free(s);
}

void hr_mc_server_close(mc_server *s)
{
    s->idle_checked = 0;
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

void hr_mc_server_release(mc_server *s)
{
    hr_mc_server_close(s);
    free(s->rbuf);
    free(s->wbuf);
    s->rbuf = NULL;
    s->wbuf = NULL;
    s->rcap = s->wcap = 0;
    s->rstart = s->rend = s->wlen = s->wpos = 0;
}

void hr_mc_server_free(mc_server *s)
{
    if (s == NULL)
        return;
    hr_mc_server_release(s);
    hr_mc_addr_free(&s->addr);
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
 * server closed it (EOF), reset it (an error) or sent something unasked;
 * either way drop it.  One non-blocking peek (the socket is non-blocking):
 * only "would block" means idle. */
static int mc_conn_idle_ok(mc_server *s)
{
    if (s->rstart != s->rend)
        return 0;
    unsigned char b;
    ssize_t r;
    do
        r = recv(s->fd, &b, 1, MC_PEEK_FLAGS);
    while (r < 0 && errno == EINTR);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void hr_mc_servers_precheck(hash_ring_mc_t *mc, size_t max_servers)
{
    size_t n = 0;
    if (mc->nservers > max_servers || mc->nservers < 2)
        return;
    if (mc->npfds < mc->nservers) {
        struct pollfd *p = realloc(mc->pfds, mc->nservers * sizeof *p);
        if (p == NULL)
            return; /* each server checks its own connection */
        mc->pfds = p;
        mc->npfds = mc->nservers;
    }
    for (size_t i = 0; i < mc->nservers; i++) {
        mc_server *s = mc->servers[i];
        if (s->fd < 0)
            continue;
        if (s->rstart != s->rend) {
            hr_mc_server_close(s);
            continue;
        }
        mc->pfds[n].fd = s->fd;
        mc->pfds[n].events = POLLIN;
        mc->pfds[n].revents = 0;
        n++;
    }
    if (n == 0)
        return;
    int r;
    do
        r = poll(mc->pfds, (nfds_t)n, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return; /* each server checks its own connection */
    size_t k = 0;
    for (size_t i = 0; i < mc->nservers; i++) {
        mc_server *s = mc->servers[i];
        if (s->fd < 0 || k >= n || mc->pfds[k].fd != s->fd)
            continue;
        /* Anything to read (data, EOF, an error): not usable, as in
         * mc_conn_idle_ok. */
        if (mc->pfds[k++].revents != 0)
            hr_mc_server_close(s);
        else
            s->idle_checked = 1;
    }
}

void hr_mc_servers_precheck_end(hash_ring_mc_t *mc)
{
    for (size_t i = 0; i < mc->nservers; i++)
        mc->servers[i]->idle_checked = 0;
}

int hr_mc_server_ready(hash_ring_mc_t *mc, mc_server *s)
{
    int checked = s->idle_checked;
    s->idle_checked = 0;
    if (s->fd >= 0 && checked && s->rstart == s->rend)
        return HASH_RING_OK; /* hr_mc_servers_precheck found it idle just now */
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

int hr_mc_req_reserve(mc_server *s, size_t n)
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
    return HASH_RING_OK;
}

int hr_mc_req_append(mc_server *s, const void *p, size_t n)
{
    int rc = hr_mc_req_reserve(s, n);
    if (rc != HASH_RING_OK)
        return rc;
    if (n > 0)
        memcpy(s->wbuf + s->wlen, p, n);
    s->wlen += n;
    return HASH_RING_OK;
}

int hr_mc_req_str(mc_server *s, const char *str)
{
    return hr_mc_req_append(s, str, strlen(str));
}
