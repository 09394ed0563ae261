/* mc_internal.h - the memcached client's internal state (not installed).
 *
 * Layers, data flowing down:
 *   mc_client.c    public API: create/destroy, options, servers
 *   mc_ops.c       public API: single-key commands, fail-over policy
 *   mc_multi.c     public API: multi-get and its result object
 *   mc_admin.c     public API: flush_all, version, stats
 *   mc_reply.c     reply handlers of the single-key commands
 *   mc_server.c    server table, connections, request buffers
 *   mc_exchange.c  the exchange engine (poll loop)
 *   mc_conn.c      addresses, connect with a deadline, clock
 *   mc_parse.c     reply parser (pure) */
#ifndef HR_MC_INTERNAL_H
#define HR_MC_INTERNAL_H

#include <stddef.h>
#include <poll.h>
#include <stdint.h>

#include "hash_ring_memcache.h"
#include "mc_conn.h"
#include "mc_parse.h"

typedef struct mc_server mc_server;

/* Reply handler of one exchange: returns 0 to wait for more replies, 1 when
 * the exchange is complete, HASH_RING_EPROTO for a reply that makes no
 * sense here. */
typedef int (*mc_reply_fn)(hash_ring_mc_t *mc, mc_server *srv, const hr_mc_reply *rep);

struct mc_server {
    char *name; /* node name, NUL-terminated copy */
    size_t name_len;
    hr_mc_addr addr;
    int addr_ok;     /* addr parsed */
    int addr_given;  /* set by hash_ring_mc_set_address: kept while not a member */
    int member;      /* scratch of the sweep (mc_client.c): in the ring's snapshot */
    char addr_err[96];
    int fd;          /* -1 when not connected */
    int dead;        /* marked dead until dead_until */
    uint64_t dead_until;
    unsigned char *rbuf; /* received, unparsed bytes: rbuf[rstart..rend) */
    size_t rcap, rstart, rend;
    unsigned char *wbuf; /* request being sent: wbuf[wpos..wlen) */
    size_t wcap, wlen, wpos;
    /* State of the current exchange. */
    mc_reply_fn on_reply;
    int done;        /* exchange finished (answered or failed) */
    int fail;        /* 0, or the failure: ETIMEDOUT, EIO, EPROTO, ENOMEM */
    int result;      /* the command's answer when fail == 0 */
    int close_after; /* drop the connection once the exchange ends */
    size_t skip;     /* data bytes of a VALUE_BIG still to drop (then its CRLF) */
    int skip_crlf;   /* the CRLF after a dropped data block is still due */
    size_t ends_left;       /* multi-get: END lines still expected */
    size_t chunk_keys;      /* multi-get: keys in the command being built */
    size_t mq_next, mq_last; /* multi-get: its keys in request order (index + 1) */
    uint64_t round;         /* multi-get: round this server was prepared in (never wraps) */
    int round_failed;       /* multi-get: could not connect in that round */
    int idle_checked;       /* hr_mc_servers_precheck found the connection idle */
    mc_server *hnext;       /* hash chain */
};

typedef struct mc_item {
    int status;
    unsigned char *value; /* NUL-terminated */
    size_t len;
    uint32_t flags;
    uint64_t cas;
} mc_item;

/* Value storage of a multi-get result: the values are copied into a few
 * large blocks instead of one malloc() each (a 100-key multi-get would
 * otherwise make 100 allocations and 100 frees). */
typedef struct mc_block {
    struct mc_block *next;
    size_t used, cap;
    unsigned char data[];
} mc_block;

struct hash_ring_mc_result {
    size_t count;
    mc_item *items;   /* in the same allocation as the result */
    mc_block *blocks; /* the values; newest block first */
};

typedef struct mc_stat {
    char *name;
    size_t name_len;
    char *value;
    size_t value_len;
} mc_stat;

struct hash_ring_mc_stat_list {
    size_t count, cap;
    size_t bytes; /* of the names and values so far */
    mc_stat *items;
};

/* A stats reply larger than this is refused (EPROTO): memcached's largest
 * groups have a few thousand lines; a server that never ends its reply
 * must not take the client's memory. */
#define MC_STATS_MAX_LINES 65536u
#define MC_STATS_MAX_BYTES ((size_t)16 << 20)

struct mc_multi; /* mc_multi.c */

struct hash_ring_mc {
    hash_ring_t *ring;
    int owns_ring;
    mc_server **servers; /* the servers the client knows (members it has used,
                          * names given an address, direct addresses) */
    size_t nservers, cap;
    size_t sweep_at; /* at this many entries, drop those of departed members */
    mc_server **buckets; /* hash table by name */
    size_t nbuckets;
    unsigned connect_timeout, io_timeout, retry_interval;
    int failover;
    size_t max_value;
    char err[512];
    const char *reply_why; /* set by a reply handler refusing a reply: why */
    /* get/gets answer */
    const unsigned char *op_key;
    size_t op_key_len;
    int op_want_cas, got_value; /* got_value: 0 none, 1 a value, 2 one above max_value */
    unsigned char *vbuf;
    size_t vcap, vlen;
    uint32_t got_flags;
    uint64_t got_cas, got_number;
    char *verbuf;
    hash_ring_mc_stats_t *stats_out;
    struct mc_multi *multi;
    void *mscratch; /* multi-get working arrays, kept between calls */
    size_t mscratch_cap;
    uint64_t round; /* multi-get rounds so far: 64 bits, so it never wraps back to a
                     * server's stale round */
    struct pollfd *pfds;
    size_t npfds;
};

/* ---- mc_client.c ----------------------------------------------------- */

/* Every public call starts with hr_mc_begin (clears the message) and
 * returns through hr_mc_end (sets a message for a failure that has none). */
void hr_mc_begin(hash_ring_mc_t *mc);
int hr_mc_end(hash_ring_mc_t *mc, int rc);

/* HASH_RING_OK, or HASH_RING_EINVAL with the reason in mc->err. */
int hr_mc_check_key(hash_ring_mc_t *mc, const void *key, size_t key_len);

/* HASH_RING_OK, or HASH_RING_EINVAL with a message when the server name
 * of a call is NULL or empty (checked before any other use of it). */
int hr_mc_check_server_given(hash_ring_mc_t *mc, const void *server, size_t server_len);

/* HASH_RING_OK when the server name parses as an address (see SERVERS in
 * hash_ring_memcache.h), else HASH_RING_EINVAL (reason in mc->err) or
 * HASH_RING_ENOMEM.  Creates nothing. */
int hr_mc_check_server_name(hash_ring_mc_t *mc, const void *server, size_t server_len);

/* ---- mc_reply.c ------------------------------------------------------ */

/* 1 for ERROR, CLIENT_ERROR and SERVER_ERROR. */
int hr_mc_reply_is_error(const hr_mc_reply *rep);

/* Ends the exchange with HASH_RING_ESERVER (message in mc->err); after
 * ERROR or CLIENT_ERROR the connection is not reused.  Returns 1. */
int hr_mc_server_error(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep);

/* Reply handlers (mc_reply_fn): storage commands other than cas, cas,
 * delete, touch, a plain OK (flush_all), incr/decr (mc->got_number), and
 * get/gets of mc->op_key (value in mc->vbuf). */
int hr_mc_on_store(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep);
int hr_mc_on_cas(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep);
int hr_mc_on_delete(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep);
int hr_mc_on_touch(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep);
int hr_mc_on_ok(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep);
int hr_mc_on_arith(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep);
int hr_mc_on_get(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep);

/* ---- mc_server.c ----------------------------------------------------- */

/* The server of that node name, created (address parsed from the name) when
 * create is set.  NULL: not found, or ENOMEM when creating. */
mc_server *hr_mc_server_get(hash_ring_mc_t *mc, const char *name, size_t len, int create);
void hr_mc_server_free(mc_server *s);

/* Takes a server out of the table and frees it (its connection closed):
 * undoes a creation that a failed call must not leave behind. */
void hr_mc_server_forget(hash_ring_mc_t *mc, mc_server *s);

/* Closes the connection (keeps the server). */
void hr_mc_server_close(mc_server *s);

/* Closes the connection and frees the buffers (keeps the server). */
void hr_mc_server_release(mc_server *s);

/* Marks the server dead for the retry interval and closes it. */
void hr_mc_server_mark_dead(hash_ring_mc_t *mc, mc_server *s);

/* 1 if the server is marked dead and its retry interval has not passed. */
int hr_mc_server_skipped(const hash_ring_mc_t *mc, const mc_server *s, uint64_t now);

/* Makes sure the server has a usable connection: reuses an idle one that
 * has nothing pending, else connects.  On failure marks the server dead
 * and returns the error (EINVAL for a name that is not an address, EIO,
 * ETIMEDOUT, ENOMEM), the message in mc->err. */
int hr_mc_server_ready(hash_ring_mc_t *mc, mc_server *s);

/* Checks every connected server's idle connection with one poll() (a
 * multi-get is about to use several), closing those not usable; until
 * hr_mc_servers_precheck_end the others skip that check in
 * hr_mc_server_ready.  Does nothing when the client knows more servers
 * than max_servers (the check is then left to each server). */
void hr_mc_servers_precheck(hash_ring_mc_t *mc, size_t max_servers);
void hr_mc_servers_precheck_end(hash_ring_mc_t *mc);

/* Request building: start a new request / append bytes. 0 or ENOMEM. */
void hr_mc_req_reset(mc_server *s);
/* Makes room for n more bytes after wbuf[wlen] (wlen unchanged). */
int hr_mc_req_reserve(mc_server *s, size_t n);
int hr_mc_req_append(mc_server *s, const void *p, size_t n);
int hr_mc_req_str(mc_server *s, const char *str);

/* Writes a message to mc->err. */
void hr_mc_errf(hash_ring_mc_t *mc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- mc_exchange.c --------------------------------------------------- */

/* Runs the exchange with every server in srvs (each ready, with a request
 * and on_reply set), in parallel, within the I/O timeout.  Afterwards each
 * has done = 1 and either fail = 0 and its result, or a failure (then the
 * server is marked dead, or closed for ENOMEM). */
void hr_mc_exchange(hash_ring_mc_t *mc, mc_server **srvs, size_t n);

#endif
