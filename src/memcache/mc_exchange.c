/* mc_exchange.c - the exchange engine.
 *
 * An exchange writes each server's request and reads its replies with
 * non-blocking sockets and one poll() loop over all servers involved, so a
 * multi-get talks to its servers in parallel and no server can make the
 * client wait past the I/O timeout. */
#include "mc_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifdef MSG_NOSIGNAL
#define MC_SEND_FLAGS MSG_NOSIGNAL
#else
#define MC_SEND_FLAGS 0 /* SO_NOSIGPIPE is set on the socket instead */
#endif

#define MC_RBUF_MIN (16u * 1024u)

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

/* Drops the data block of a value larger than the client takes, as its
 * bytes arrive (it is never buffered whole), then checks its CRLF.
 * Returns 1 when done, 0 when more bytes are needed, -1 on a bad end. */
static int mc_skip_value(mc_server *s)
{
    size_t have = s->rend - s->rstart;
    size_t k = have < s->skip ? have : s->skip;
    s->rstart += k;
    s->skip -= k;
    if (s->skip > 0)
        return 0;
    if (s->skip_crlf) {
        if (s->rend - s->rstart < 2)
            return 0;
        if (s->rbuf[s->rstart] != '\r' || s->rbuf[s->rstart + 1] != '\n')
            return -1;
        s->rstart += 2;
        s->skip_crlf = 0;
    }
    return 1;
}

/* Parses every complete reply in the buffer. */
static void mc_parse_buffered(hash_ring_mc_t *mc, mc_server *s, size_t *need)
{
    *need = 0;
    while (!s->done) {
        if (s->skip > 0 || s->skip_crlf) {
            int k = mc_skip_value(s);
            if (k < 0) {
                mc_fail(mc, s, HASH_RING_EPROTO, "malformed reply (no CRLF after a value)");
                return;
            }
            if (k == 0)
                return;
        }
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
        mc->reply_why = NULL;
        int h = s->on_reply(mc, s, &rep);
        s->rstart += used;
        if (h >= 0 && rep.kind == HR_MC_VALUE_BIG) {
            s->skip = rep.data_len;
            s->skip_crlf = 1;
        }
        if (h < 0) {
            mc_fail(mc, s, h == HASH_RING_ENOMEM ? h : HASH_RING_EPROTO,
                    h == HASH_RING_ENOMEM ? "out of memory"
                    : mc->reply_why       ? mc->reply_why
                                          : "unexpected reply");
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
                    s->rend > s->rstart || s->skip > 0 || s->skip_crlf
                        ? "connection closed in the middle of a reply"
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
        srvs[i]->skip = 0;
        srvs[i]->skip_crlf = 0;
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
    /* Optimistic I/O: the sockets are non-blocking, so send at once, and
     * with one server try to read the reply before polling (a multi-get's
     * servers need longer than the other sends take: poll first there);
     * poll() is needed only for what would block.  Neither call can wait,
     * so the deadline below still bounds the exchange. */
    for (size_t i = 0; i < n; i++)
        mc_on_writable(mc, srvs[i]);
    if (n == 1 && !srvs[0]->done && srvs[0]->wpos == srvs[0]->wlen)
        mc_on_readable(mc, srvs[0]);
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
