/* mc_client.c - the public memcached client: commands, fail-over, multi-get.
 *
 * Each key command finds its servers in one snapshot of the ring (the
 * first live one in hash_ring_snapshot_get_nodes order), builds its request
 * and runs one exchange (mc_server.c). */
#include "memcache/mc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_DEFAULT_CONNECT_MS 1000u
#define MC_DEFAULT_IO_MS 3000u
#define MC_DEFAULT_RETRY_MS 30000u
#define MC_DEFAULT_MAX_VALUE ((size_t)1 << 20)
#define MC_MAX_TIMEOUT_MS 3600000u
#define MC_MAX_RETRY_MS 86400000u
#define MC_MAX_MAX_VALUE ((size_t)1 << 30)
#define MC_MULTI_CHUNK 100 /* keys per "gets" command in a multi-get */

/* ---- Lifetime, options ------------------------------------------------ */

static int mc_new(hash_ring_mc_t **out, hash_ring_t *ring, int owns)
{
    hash_ring_mc_t *mc = calloc(1, sizeof *mc);
    if (mc == NULL)
        return HASH_RING_ENOMEM;
    mc->ring = ring;
    mc->owns_ring = owns;
    mc->connect_timeout = MC_DEFAULT_CONNECT_MS;
    mc->io_timeout = MC_DEFAULT_IO_MS;
    mc->retry_interval = MC_DEFAULT_RETRY_MS;
    mc->failover = 1;
    mc->max_value = MC_DEFAULT_MAX_VALUE;
    *out = mc;
    return HASH_RING_OK;
}

int hash_ring_mc_create(hash_ring_mc_t **out, hash_ring_dialect_t dialect)
{
    if (out == NULL)
        return HASH_RING_EINVAL;
    hash_ring_t *ring;
    int rc = hash_ring_create(&ring, dialect);
    if (rc != HASH_RING_OK)
        return rc;
    rc = mc_new(out, ring, 1);
    if (rc != HASH_RING_OK)
        hash_ring_destroy(ring);
    return rc;
}

int hash_ring_mc_create_with_ring(hash_ring_mc_t **out, hash_ring_t *ring)
{
    if (out == NULL || ring == NULL)
        return HASH_RING_EINVAL;
    return mc_new(out, ring, 0);
}

void hash_ring_mc_destroy(hash_ring_mc_t *mc)
{
    if (mc == NULL)
        return;
    for (size_t i = 0; i < mc->nservers; i++)
        hr_mc_server_free(mc->servers[i]);
    free(mc->servers);
    free(mc->buckets);
    free(mc->vbuf);
    free(mc->verbuf);
    free(mc->pfds);
    if (mc->owns_ring)
        hash_ring_destroy(mc->ring);
    free(mc);
}

hash_ring_t *hash_ring_mc_ring(const hash_ring_mc_t *mc)
{
    return mc ? mc->ring : NULL;
}

void hash_ring_mc_disconnect(hash_ring_mc_t *mc)
{
    if (mc == NULL)
        return;
    for (size_t i = 0; i < mc->nservers; i++)
        hr_mc_server_close(mc->servers[i]);
}

const char *hash_ring_mc_last_error(const hash_ring_mc_t *mc)
{
    return mc ? mc->err : "invalid argument";
}

/* Every public call starts with mc_begin and returns through mc_end. */
static void mc_begin(hash_ring_mc_t *mc)
{
    mc->err[0] = '\0';
}

static int mc_end(hash_ring_mc_t *mc, int rc)
{
    if (rc == HASH_RING_OK)
        mc->err[0] = '\0';
    else if (mc->err[0] == '\0')
        hr_mc_errf(mc, "%s", hash_ring_strerror(rc));
    return rc;
}

int hash_ring_mc_set_connect_timeout(hash_ring_mc_t *mc, unsigned ms)
{
    if (mc == NULL || ms == 0 || ms > MC_MAX_TIMEOUT_MS)
        return HASH_RING_EINVAL;
    mc->connect_timeout = ms;
    return HASH_RING_OK;
}

int hash_ring_mc_set_io_timeout(hash_ring_mc_t *mc, unsigned ms)
{
    if (mc == NULL || ms == 0 || ms > MC_MAX_TIMEOUT_MS)
        return HASH_RING_EINVAL;
    mc->io_timeout = ms;
    return HASH_RING_OK;
}

int hash_ring_mc_set_retry_interval(hash_ring_mc_t *mc, unsigned ms)
{
    if (mc == NULL || ms > MC_MAX_RETRY_MS)
        return HASH_RING_EINVAL;
    mc->retry_interval = ms;
    return HASH_RING_OK;
}

int hash_ring_mc_set_failover(hash_ring_mc_t *mc, int enabled)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    mc->failover = enabled != 0;
    return HASH_RING_OK;
}

int hash_ring_mc_set_max_value(hash_ring_mc_t *mc, size_t bytes)
{
    if (mc == NULL || bytes == 0 || bytes > MC_MAX_MAX_VALUE)
        return HASH_RING_EINVAL;
    mc->max_value = bytes;
    return HASH_RING_OK;
}

/* ---- Servers ------------------------------------------------------------ */

int hash_ring_mc_add_server(hash_ring_mc_t *mc, const void *server, size_t server_len,
                            uint32_t weight)
{
    if (mc == NULL || server == NULL || server_len == 0)
        return HASH_RING_EINVAL;
    mc_begin(mc);
    mc_server *s = hr_mc_server_get(mc, server, server_len, 0);
    if (s == NULL) {
        hr_mc_addr a;
        char why[96];
        int rc = hr_mc_addr_parse(server, server_len, &a, why, sizeof why);
        if (rc != HASH_RING_OK) {
            if (rc == HASH_RING_EINVAL)
                hr_mc_errf(mc, "server '%.*s': %s", (int)(server_len > 200 ? 200 : server_len),
                        (const char *)server, why);
            return mc_end(mc, rc);
        }
        hr_mc_addr_free(&a);
    } else if (!s->addr_ok) {
        hr_mc_errf(mc, "server %s: %s", s->name, s->addr_err);
        return mc_end(mc, HASH_RING_EINVAL);
    }
    return mc_end(mc, hash_ring_add_node(mc->ring, server, server_len, weight));
}

int hash_ring_mc_remove_server(hash_ring_mc_t *mc, const void *server, size_t server_len)
{
    if (mc == NULL || server == NULL || server_len == 0)
        return HASH_RING_EINVAL;
    mc_begin(mc);
    int rc = hash_ring_remove_node(mc->ring, server, server_len);
    if (rc == HASH_RING_OK) {
        mc_server *s = hr_mc_server_get(mc, server, server_len, 0);
        if (s != NULL) {
            hr_mc_server_close(s);
            s->dead = 0;
        }
    }
    return mc_end(mc, rc);
}

int hash_ring_mc_set_address(hash_ring_mc_t *mc, const void *server, size_t server_len,
                             const void *address, size_t address_len)
{
    if (mc == NULL || server == NULL || server_len == 0)
        return HASH_RING_EINVAL;
    mc_begin(mc);
    hr_mc_addr a;
    char why[96];
    int rc = hr_mc_addr_parse(address, address_len, &a, why, sizeof why);
    if (rc != HASH_RING_OK) {
        if (rc == HASH_RING_EINVAL)
            hr_mc_errf(mc, "address for server '%.*s': %s", (int)(server_len > 200 ? 200 : server_len),
                    (const char *)server, why);
        return mc_end(mc, rc);
    }
    mc_server *s = hr_mc_server_get(mc, server, server_len, 1);
    if (s == NULL) {
        hr_mc_addr_free(&a);
        return mc_end(mc, HASH_RING_ENOMEM);
    }
    hr_mc_server_close(s);
    hr_mc_addr_free(&s->addr);
    s->addr = a;
    s->addr_ok = 1;
    s->addr_given = 1;
    s->dead = 0;
    return mc_end(mc, HASH_RING_OK);
}

/* ---- Single-key commands -------------------------------------------------- */

typedef struct mc_cmd {
    const char *verb;
    const unsigned char *key;
    size_t key_len;
    char tail[80];    /* after the key, before CRLF: " flags ttl bytes" etc. */
    const void *data; /* data block (storage commands) */
    size_t data_len;
    int has_data;
    int read_only; /* may be retried on the next server after a failure */
    mc_reply_fn on_reply;
} mc_cmd;

static int mc_build(mc_server *s, const mc_cmd *c)
{
    hr_mc_req_reset(s);
    int rc = hr_mc_req_str(s, c->verb);
    if (rc == HASH_RING_OK)
        rc = hr_mc_req_append(s, " ", 1);
    if (rc == HASH_RING_OK)
        rc = hr_mc_req_append(s, c->key, c->key_len);
    if (rc == HASH_RING_OK)
        rc = hr_mc_req_str(s, c->tail);
    if (rc == HASH_RING_OK)
        rc = hr_mc_req_append(s, "\r\n", 2);
    if (rc == HASH_RING_OK && c->has_data) {
        rc = hr_mc_req_append(s, c->data, c->data_len);
        if (rc == HASH_RING_OK)
            rc = hr_mc_req_append(s, "\r\n", 2);
    }
    return rc;
}

static int mc_check_key(hash_ring_mc_t *mc, const void *key, size_t key_len)
{
    if (hr_mc_key_valid(key, key_len))
        return HASH_RING_OK;
    if (key == NULL || key_len == 0)
        hr_mc_errf(mc, "empty key");
    else if (key_len > HASH_RING_MC_MAX_KEY)
        hr_mc_errf(mc, "key of %zu bytes: longer than %d bytes", key_len, HASH_RING_MC_MAX_KEY);
    else
        hr_mc_errf(mc, "key contains a space or control character");
    return HASH_RING_EINVAL;
}

/* Server-reported errors end the exchange; ERROR and CLIENT_ERROR may leave
 * the server out of step with us, so that connection is not reused. */
static int mc_server_error(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    const char *what = rep->kind == HR_MC_ERROR          ? "ERROR"
                       : rep->kind == HR_MC_CLIENT_ERROR ? "CLIENT_ERROR"
                                                         : "SERVER_ERROR";
    int len = rep->data_len > 200 ? 200 : (int)rep->data_len;
    hr_mc_errf(mc, "server %s: %s %.*s", s->name, what, len, (const char *)rep->data);
    if (rep->kind != HR_MC_SERVER_ERROR)
        s->close_after = 1;
    s->result = HASH_RING_ESERVER;
    return 1;
}

static int mc_is_error(const hr_mc_reply *rep)
{
    return rep->kind == HR_MC_ERROR || rep->kind == HR_MC_CLIENT_ERROR ||
           rep->kind == HR_MC_SERVER_ERROR;
}

/* One-line answers: OK_KIND gives HASH_RING_OK, the others listed map to
 * their codes, anything else is a protocol error. */
static int mc_one_line(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep,
                       hr_mc_kind ok_kind, unsigned allowed)
{
    if (mc_is_error(rep))
        return mc_server_error(mc, s, rep);
    if (rep->kind == ok_kind) {
        s->result = HASH_RING_OK;
        return 1;
    }
    if (!(allowed & (1u << rep->kind)))
        return HASH_RING_EPROTO;
    switch (rep->kind) {
    case HR_MC_NOT_STORED: s->result = HASH_RING_ENOTSTORED; break;
    case HR_MC_EXISTS: s->result = HASH_RING_ECASEXISTS; break;
    case HR_MC_NOT_FOUND: s->result = HASH_RING_EMISS; break;
    default: return HASH_RING_EPROTO;
    }
    hr_mc_errf(mc, "server %s: %s", s->name, hash_ring_strerror(s->result));
    return 1;
}

#define MC_BIT(k) (1u << (k))

/* Storage replies (memcached protocol.txt): set, add, replace, append and
 * prepend answer STORED or NOT_STORED; only cas also answers EXISTS (the
 * token changed) and NOT_FOUND (no such item).  Any other answer cannot be
 * the reply to this request (e.g. a NOT_FOUND left over from an earlier
 * command): a protocol error, and the connection is dropped. */
static int mc_on_store(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_STORED, MC_BIT(HR_MC_NOT_STORED));
}

static int mc_on_cas(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_STORED,
                       MC_BIT(HR_MC_NOT_STORED) | MC_BIT(HR_MC_EXISTS) | MC_BIT(HR_MC_NOT_FOUND));
}

static int mc_on_delete(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_DELETED, MC_BIT(HR_MC_NOT_FOUND));
}

static int mc_on_touch(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_TOUCHED, MC_BIT(HR_MC_NOT_FOUND));
}

static int mc_on_ok(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    return mc_one_line(mc, s, rep, HR_MC_OK, 0);
}

static int mc_on_arith(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    if (rep->kind == HR_MC_NUMBER) {
        mc->got_number = rep->number;
        s->result = HASH_RING_OK;
        return 1;
    }
    return mc_one_line(mc, s, rep, HR_MC_NUMBER, MC_BIT(HR_MC_NOT_FOUND));
}

static int mc_on_get(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    if (mc_is_error(rep))
        return mc_server_error(mc, s, rep);
    if (rep->kind == HR_MC_END) {
        s->result = mc->got_value ? HASH_RING_OK : HASH_RING_EMISS;
        return 1;
    }
    if (rep->kind != HR_MC_VALUE || mc->got_value || rep->key_len != mc->op_key_len ||
        memcmp(rep->key, mc->op_key, rep->key_len) != 0 || (mc->op_want_cas && !rep->has_cas))
        return HASH_RING_EPROTO;
    if (mc->vcap < rep->data_len + 1) {
        unsigned char *b = realloc(mc->vbuf, rep->data_len + 1);
        if (b == NULL)
            return HASH_RING_ENOMEM;
        mc->vbuf = b;
        mc->vcap = rep->data_len + 1;
    }
    if (rep->data_len > 0)
        memcpy(mc->vbuf, rep->data, rep->data_len);
    mc->vbuf[rep->data_len] = '\0';
    mc->vlen = rep->data_len;
    mc->got_flags = rep->flags;
    mc->got_cas = rep->cas;
    mc->got_value = 1;
    return 0;
}

/* The candidate servers of a key, in fail-over order, from one snapshot. */
typedef struct mc_cands {
    hash_ring_snapshot_t *snap;
    const unsigned char *key;
    size_t key_len;
    const char *first;
    size_t first_len;
    const char **names; /* full list, fetched when the first one fails */
    size_t *lens;
    size_t count;
} mc_cands;

static int mc_cands_init(hash_ring_mc_t *mc, mc_cands *c, const void *key, size_t key_len)
{
    memset(c, 0, sizeof *c);
    c->key = key;
    c->key_len = key_len;
    int rc = hash_ring_snapshot_acquire(mc->ring, &c->snap);
    if (rc != HASH_RING_OK)
        return rc;
    rc = hash_ring_snapshot_get_node(c->snap, key, key_len, &c->first, &c->first_len);
    if (rc != HASH_RING_OK) {
        if (rc == HASH_RING_EEMPTY)
            hr_mc_errf(mc, "no servers (the ring has no node owning points)");
        hash_ring_snapshot_release(c->snap);
        c->snap = NULL;
    }
    return rc;
}

static void mc_cands_free(mc_cands *c)
{
    free(c->names);
    free(c->lens);
    hash_ring_snapshot_release(c->snap);
    c->snap = NULL;
}

/* Candidate i: 1 with *name set, 0 when there are no more, or an error. */
static int mc_cands_get(mc_cands *c, size_t i, const char **name, size_t *len)
{
    if (i == 0) {
        *name = c->first;
        *len = c->first_len;
        return 1;
    }
    if (c->names == NULL) {
        size_t n = hash_ring_snapshot_node_count(c->snap);
        c->names = malloc((n ? n : 1) * sizeof *c->names);
        c->lens = malloc((n ? n : 1) * sizeof *c->lens);
        if (c->names == NULL || c->lens == NULL)
            return HASH_RING_ENOMEM;
        int rc = hash_ring_snapshot_get_nodes(c->snap, c->key, c->key_len, c->names, c->lens, n,
                                              &c->count);
        if (rc != HASH_RING_OK)
            return rc;
    }
    if (i >= c->count)
        return 0;
    *name = c->names[i];
    *len = c->lens[i];
    return 1;
}

/* Runs a single-key command with the fail-over policy. */
static int mc_key_command(hash_ring_mc_t *mc, const mc_cmd *cmd)
{
    mc_cands c;
    int rc = mc_cands_init(mc, &c, cmd->key, cmd->key_len);
    if (rc != HASH_RING_OK)
        return rc;
    int last = 0;
    for (size_t i = 0;; i++) {
        const char *name = NULL;
        size_t len = 0;
        int g = mc_cands_get(&c, i, &name, &len);
        if (g < 0) {
            rc = g;
            break;
        }
        if (g == 0) {
            if (last != 0) {
                char why[400];
                snprintf(why, sizeof why, "%.390s", mc->err);
                hr_mc_errf(mc, "no live server for the key (last failure: %.390s)", why);
            } else {
                hr_mc_errf(mc, "no live server for the key");
            }
            rc = HASH_RING_ENOSERVER;
            break;
        }
        mc_server *s = hr_mc_server_get(mc, name, len, 1);
        if (s == NULL) {
            rc = HASH_RING_ENOMEM;
            break;
        }
        if (hr_mc_server_skipped(mc, s, hr_mc_now_ms())) {
            if (!mc->failover) {
                hr_mc_errf(mc, "server %s is marked dead (fail-over is off)", s->name);
                rc = HASH_RING_ENOSERVER;
                break;
            }
            continue;
        }
        rc = hr_mc_server_ready(mc, s);
        if (rc == HASH_RING_ENOMEM)
            break;
        if (rc != HASH_RING_OK) {
            if (!mc->failover)
                break;
            last = rc;
            continue;
        }
        rc = mc_build(s, cmd);
        if (rc != HASH_RING_OK)
            break;
        s->on_reply = cmd->on_reply;
        s->result = HASH_RING_OK;
        mc->got_value = 0;
        hr_mc_exchange(mc, &s, 1);
        if (s->fail != 0) {
            rc = s->fail;
            if (rc == HASH_RING_ENOMEM || !mc->failover || !cmd->read_only)
                break;
            last = rc;
            continue;
        }
        rc = s->result;
        break;
    }
    mc_cands_free(&c);
    return rc;
}

static int mc_storage(hash_ring_mc_t *mc, const char *verb, const void *key, size_t key_len,
                      const void *value, size_t value_len, uint32_t flags, uint32_t ttl,
                      int with_cas, uint64_t cas)
{
    if (mc == NULL || (value == NULL && value_len > 0))
        return HASH_RING_EINVAL;
    mc_begin(mc);
    int rc = mc_check_key(mc, key, key_len);
    if (rc != HASH_RING_OK)
        return mc_end(mc, rc);
    if (value_len > mc->max_value) {
        hr_mc_errf(mc, "value of %zu bytes: larger than the maximum of %zu bytes", value_len,
                mc->max_value);
        return mc_end(mc, HASH_RING_EINVAL);
    }
    mc_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.verb = verb;
    cmd.key = key;
    cmd.key_len = key_len;
    if (with_cas)
        snprintf(cmd.tail, sizeof cmd.tail, " %u %u %zu %llu", (unsigned)flags, (unsigned)ttl,
                 value_len, (unsigned long long)cas);
    else
        snprintf(cmd.tail, sizeof cmd.tail, " %u %u %zu", (unsigned)flags, (unsigned)ttl,
                 value_len);
    cmd.data = value;
    cmd.data_len = value_len;
    cmd.has_data = 1;
    cmd.on_reply = with_cas ? mc_on_cas : mc_on_store;
    return mc_end(mc, mc_key_command(mc, &cmd));
}

int hash_ring_mc_set(hash_ring_mc_t *mc, const void *key, size_t key_len, const void *value,
                     size_t value_len, uint32_t flags, uint32_t ttl)
{
    return mc_storage(mc, "set", key, key_len, value, value_len, flags, ttl, 0, 0);
}

int hash_ring_mc_add(hash_ring_mc_t *mc, const void *key, size_t key_len, const void *value,
                     size_t value_len, uint32_t flags, uint32_t ttl)
{
    return mc_storage(mc, "add", key, key_len, value, value_len, flags, ttl, 0, 0);
}

int hash_ring_mc_replace(hash_ring_mc_t *mc, const void *key, size_t key_len, const void *value,
                         size_t value_len, uint32_t flags, uint32_t ttl)
{
    return mc_storage(mc, "replace", key, key_len, value, value_len, flags, ttl, 0, 0);
}

int hash_ring_mc_append(hash_ring_mc_t *mc, const void *key, size_t key_len, const void *value,
                        size_t value_len)
{
    return mc_storage(mc, "append", key, key_len, value, value_len, 0, 0, 0, 0);
}

int hash_ring_mc_prepend(hash_ring_mc_t *mc, const void *key, size_t key_len, const void *value,
                         size_t value_len)
{
    return mc_storage(mc, "prepend", key, key_len, value, value_len, 0, 0, 0, 0);
}

int hash_ring_mc_cas(hash_ring_mc_t *mc, const void *key, size_t key_len, const void *value,
                     size_t value_len, uint32_t flags, uint32_t ttl, uint64_t cas)
{
    return mc_storage(mc, "cas", key, key_len, value, value_len, flags, ttl, 1, cas);
}

static int mc_retrieve(hash_ring_mc_t *mc, const void *key, size_t key_len, const void **value,
                       size_t *value_len, uint32_t *flags, uint64_t *cas, int want_cas)
{
    if (mc == NULL || value == NULL || value_len == NULL)
        return HASH_RING_EINVAL;
    mc_begin(mc);
    int rc = mc_check_key(mc, key, key_len);
    if (rc != HASH_RING_OK)
        return mc_end(mc, rc);
    mc_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.verb = want_cas ? "gets" : "get";
    cmd.key = key;
    cmd.key_len = key_len;
    cmd.read_only = 1;
    cmd.on_reply = mc_on_get;
    mc->op_key = key;
    mc->op_key_len = key_len;
    mc->op_want_cas = want_cas;
    rc = mc_key_command(mc, &cmd);
    if (rc == HASH_RING_OK) {
        *value = mc->vbuf;
        *value_len = mc->vlen;
        if (flags != NULL)
            *flags = mc->got_flags;
        if (cas != NULL)
            *cas = mc->got_cas;
    }
    return mc_end(mc, rc);
}

int hash_ring_mc_get(hash_ring_mc_t *mc, const void *key, size_t key_len, const void **value,
                     size_t *value_len, uint32_t *flags)
{
    return mc_retrieve(mc, key, key_len, value, value_len, flags, NULL, 0);
}

int hash_ring_mc_gets(hash_ring_mc_t *mc, const void *key, size_t key_len, const void **value,
                      size_t *value_len, uint32_t *flags, uint64_t *cas)
{
    return mc_retrieve(mc, key, key_len, value, value_len, flags, cas, 1);
}

static int mc_simple_key(hash_ring_mc_t *mc, const char *verb, const void *key, size_t key_len,
                         const char *tail, mc_reply_fn fn)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    mc_begin(mc);
    int rc = mc_check_key(mc, key, key_len);
    if (rc != HASH_RING_OK)
        return mc_end(mc, rc);
    mc_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.verb = verb;
    cmd.key = key;
    cmd.key_len = key_len;
    snprintf(cmd.tail, sizeof cmd.tail, "%s", tail);
    cmd.on_reply = fn;
    return mc_end(mc, mc_key_command(mc, &cmd));
}

int hash_ring_mc_delete(hash_ring_mc_t *mc, const void *key, size_t key_len)
{
    return mc_simple_key(mc, "delete", key, key_len, "", mc_on_delete);
}

int hash_ring_mc_touch(hash_ring_mc_t *mc, const void *key, size_t key_len, uint32_t ttl)
{
    char tail[24];
    snprintf(tail, sizeof tail, " %u", (unsigned)ttl);
    return mc_simple_key(mc, "touch", key, key_len, tail, mc_on_touch);
}

static int mc_arith(hash_ring_mc_t *mc, const char *verb, const void *key, size_t key_len,
                    uint64_t delta, uint64_t *new_value)
{
    char tail[32];
    snprintf(tail, sizeof tail, " %llu", (unsigned long long)delta);
    int rc = mc_simple_key(mc, verb, key, key_len, tail, mc_on_arith);
    if (rc == HASH_RING_OK && new_value != NULL)
        *new_value = mc->got_number;
    return rc;
}

int hash_ring_mc_incr(hash_ring_mc_t *mc, const void *key, size_t key_len, uint64_t delta,
                      uint64_t *new_value)
{
    return mc_arith(mc, "incr", key, key_len, delta, new_value);
}

int hash_ring_mc_decr(hash_ring_mc_t *mc, const void *key, size_t key_len, uint64_t delta,
                      uint64_t *new_value)
{
    return mc_arith(mc, "decr", key, key_len, delta, new_value);
}

/* ---- Multi-get ------------------------------------------------------------ */

typedef struct mc_multi {
    const void *const *keys;
    const size_t *lens;
    size_t count;
    size_t *first;      /* first occurrence of the same key */
    size_t *table;      /* open addressing: key index + 1, 0 = empty */
    size_t tmask;
    mc_server **srv_of; /* server asked in the current round */
    size_t *cand;       /* candidate index (fail-over position) */
    unsigned char *pending;
    hash_ring_mc_result_t *res;
} mc_multi;

static uint64_t mc_key_hash(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Index of the first key equal to (k, n), or SIZE_MAX. Inserts idx when
 * insert_idx is not SIZE_MAX and the key is new. */
static size_t mc_multi_find(mc_multi *m, const void *k, size_t n, size_t insert_idx)
{
    size_t h = (size_t)mc_key_hash(k, n) & m->tmask;
    for (;; h = (h + 1) & m->tmask) {
        size_t e = m->table[h];
        if (e == 0) {
            if (insert_idx != SIZE_MAX)
                m->table[h] = insert_idx + 1;
            return SIZE_MAX;
        }
        if (m->lens[e - 1] == n && memcmp(m->keys[e - 1], k, n) == 0)
            return e - 1;
    }
}

static int mc_on_multi(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    mc_multi *m = mc->multi;
    if (mc_is_error(rep)) {
        /* The other pipelined "gets" commands of this server may still be
         * answered: the connection must not carry those replies into the
         * next command. */
        if (s->ends_left > 1)
            s->close_after = 1;
        return mc_server_error(mc, s, rep);
    }
    if (rep->kind == HR_MC_END) {
        if (s->ends_left == 0)
            return HASH_RING_EPROTO;
        return --s->ends_left == 0 ? 1 : 0;
    }
    if (rep->kind != HR_MC_VALUE || !rep->has_cas)
        return HASH_RING_EPROTO;
    size_t i = mc_multi_find(m, rep->key, rep->key_len, SIZE_MAX);
    if (i == SIZE_MAX || m->srv_of[i] != s || !m->pending[i])
        return HASH_RING_EPROTO; /* not asked of this server, or answered twice */
    mc_item *it = &m->res->items[i];
    it->value = malloc(rep->data_len + 1);
    if (it->value == NULL)
        return HASH_RING_ENOMEM;
    if (rep->data_len > 0)
        memcpy(it->value, rep->data, rep->data_len);
    it->value[rep->data_len] = '\0';
    it->len = rep->data_len;
    it->flags = rep->flags;
    it->cas = rep->cas;
    it->owned = 1;
    it->status = HASH_RING_OK;
    m->pending[i] = 0;
    return 0;
}

/* Assigns key i to its first usable server this round, preparing the
 * server's request.  Returns the server or NULL (status set, or ENOMEM). */
static int mc_multi_assign(hash_ring_mc_t *mc, mc_multi *m, hash_ring_snapshot_t *snap, size_t i,
                           mc_server ***round, size_t *nround)
{
    const char *names1[1];
    size_t lens1[1];
    const char **names = names1;
    size_t *lens = lens1;
    size_t count = 0;
    int rc = HASH_RING_OK;
    int last = 0;
    size_t n = m->cand[i] == 0 ? 1 : hash_ring_snapshot_node_count(snap);
    if (n > 1) {
        names = malloc(n * sizeof *names);
        lens = malloc(n * sizeof *lens);
        if (names == NULL || lens == NULL) {
            rc = HASH_RING_ENOMEM;
            goto out;
        }
    }
    rc = hash_ring_snapshot_get_nodes(snap, m->keys[i], m->lens[i], names, lens, n, &count);
    if (rc != HASH_RING_OK)
        goto out;
    for (;; m->cand[i]++) {
        if (m->cand[i] >= count) {
            if (m->cand[i] == 1 && count == 1 && n == 1 &&
                hash_ring_snapshot_node_count(snap) > 1) {
                /* Only the first candidate was fetched: fetch them all. */
                rc = mc_multi_assign(mc, m, snap, i, round, nround);
                goto out;
            }
            m->res->items[i].status = last != 0 && !mc->failover ? last : HASH_RING_ENOSERVER;
            m->pending[i] = 0;
            goto out;
        }
        mc_server *s = hr_mc_server_get(mc, names[m->cand[i]], lens[m->cand[i]], 1);
        if (s == NULL) {
            rc = HASH_RING_ENOMEM;
            goto out;
        }
        if (s->round != mc->round) {
            if (hr_mc_server_skipped(mc, s, hr_mc_now_ms())) {
                if (!mc->failover) {
                    m->res->items[i].status = HASH_RING_ENOSERVER;
                    m->pending[i] = 0;
                    goto out;
                }
                continue;
            }
            s->round = mc->round;
            s->round_failed = 0;
            rc = hr_mc_server_ready(mc, s);
            if (rc == HASH_RING_ENOMEM)
                goto out;
            if (rc != HASH_RING_OK) {
                s->round_failed = 1;
                s->fail = rc;
                rc = HASH_RING_OK;
            } else {
                hr_mc_req_reset(s);
                s->chunk_keys = 0;
                s->ends_left = 0;
                s->result = HASH_RING_OK;
                s->on_reply = mc_on_multi;
                (*round)[(*nround)++] = s;
            }
        }
        if (s->round_failed) {
            if (!mc->failover) {
                m->res->items[i].status = s->fail;
                m->pending[i] = 0;
                goto out;
            }
            last = s->fail;
            continue;
        }
        /* Append the key to this server's pipelined "gets" commands. */
        if (s->chunk_keys == 0) {
            rc = hr_mc_req_str(s, "gets");
            s->ends_left++;
        }
        if (rc == HASH_RING_OK)
            rc = hr_mc_req_append(s, " ", 1);
        if (rc == HASH_RING_OK)
            rc = hr_mc_req_append(s, m->keys[i], m->lens[i]);
        if (rc == HASH_RING_OK && ++s->chunk_keys == MC_MULTI_CHUNK) {
            rc = hr_mc_req_append(s, "\r\n", 2);
            s->chunk_keys = 0;
        }
        m->srv_of[i] = s;
        goto out;
    }
out:
    if (names != names1)
        free(names);
    if (lens != lens1)
        free(lens);
    return rc;
}

static int mc_multi_run(hash_ring_mc_t *mc, mc_multi *m, hash_ring_snapshot_t *snap)
{
    mc_server **round = malloc((mc->nservers + hash_ring_snapshot_node_count(snap) + 1) *
                               sizeof *round);
    if (round == NULL)
        return HASH_RING_ENOMEM;
    int rc = HASH_RING_OK;
    for (;;) {
        size_t nround = 0, npending = 0;
        mc->round++;
        for (size_t i = 0; i < m->count && rc == HASH_RING_OK; i++) {
            if (!m->pending[i] || m->first[i] != i)
                continue;
            m->srv_of[i] = NULL;
            rc = mc_multi_assign(mc, m, snap, i, &round, &nround);
            if (m->pending[i])
                npending++;
        }
        if (rc != HASH_RING_OK || npending == 0)
            break;
        for (size_t k = 0; k < nround && rc == HASH_RING_OK; k++)
            if (round[k]->chunk_keys > 0)
                rc = hr_mc_req_append(round[k], "\r\n", 2);
        if (rc != HASH_RING_OK)
            break;
        hr_mc_exchange(mc, round, nround);
        for (size_t i = 0; i < m->count; i++) {
            mc_server *s = m->srv_of[i];
            if (!m->pending[i] || m->first[i] != i || s == NULL)
                continue;
            if (s->fail == HASH_RING_ENOMEM) {
                rc = HASH_RING_ENOMEM;
                break;
            }
            if (s->fail != 0) {
                if (mc->failover) {
                    m->cand[i]++; /* retried on the next server */
                    continue;
                }
                m->res->items[i].status = s->fail;
            } else {
                m->res->items[i].status =
                    s->result == HASH_RING_OK ? HASH_RING_EMISS : s->result;
            }
            m->pending[i] = 0;
        }
        if (rc != HASH_RING_OK)
            break;
    }
    free(round);
    return rc;
}

int hash_ring_mc_get_multi(hash_ring_mc_t *mc, const void *const *keys, const size_t *key_lens,
                           size_t count, hash_ring_mc_result_t **out)
{
    if (mc == NULL || out == NULL || (count > 0 && (keys == NULL || key_lens == NULL)))
        return HASH_RING_EINVAL;
    mc_begin(mc);
    for (size_t i = 0; i < count; i++) {
        if (mc_check_key(mc, keys[i], key_lens[i]) != HASH_RING_OK) {
            char why[200];
            snprintf(why, sizeof why, "%.190s", mc->err);
            hr_mc_errf(mc, "key %zu: %s", i, why);
            return mc_end(mc, HASH_RING_EINVAL);
        }
    }
    if (count > SIZE_MAX / 4 / sizeof(size_t))
        return mc_end(mc, HASH_RING_ENOMEM);
    hash_ring_mc_result_t *res = calloc(1, sizeof *res);
    mc_multi m;
    memset(&m, 0, sizeof m);
    size_t tsize = 16;
    while (tsize < count * 2)
        tsize *= 2;
    int rc = HASH_RING_ENOMEM;
    hash_ring_snapshot_t *snap = NULL;
    if (res == NULL)
        goto out;
    res->count = count;
    res->items = calloc(count ? count : 1, sizeof *res->items);
    m.first = malloc((count ? count : 1) * sizeof *m.first);
    m.cand = calloc(count ? count : 1, sizeof *m.cand);
    m.srv_of = calloc(count ? count : 1, sizeof *m.srv_of);
    m.pending = malloc(count ? count : 1);
    m.table = calloc(tsize, sizeof *m.table);
    if (res->items == NULL || m.first == NULL || m.cand == NULL || m.srv_of == NULL ||
        m.pending == NULL || m.table == NULL)
        goto out;
    m.keys = keys;
    m.lens = key_lens;
    m.count = count;
    m.tmask = tsize - 1;
    m.res = res;
    for (size_t i = 0; i < count; i++) {
        size_t f = mc_multi_find(&m, keys[i], key_lens[i], i);
        m.first[i] = f == SIZE_MAX ? i : f;
        m.pending[i] = 1;
        res->items[i].status = HASH_RING_EMISS;
    }
    rc = hash_ring_snapshot_acquire(mc->ring, &snap);
    if (rc != HASH_RING_OK)
        goto out;
    if (count > 0 && hash_ring_snapshot_point_count(snap) == 0) {
        hr_mc_errf(mc, "no servers (the ring has no node owning points)");
        rc = HASH_RING_EEMPTY;
        goto out;
    }
    mc->multi = &m;
    rc = count > 0 ? mc_multi_run(mc, &m, snap) : HASH_RING_OK;
    mc->multi = NULL;
    if (rc != HASH_RING_OK)
        goto out;
    for (size_t i = 0; i < count; i++) {
        if (m.first[i] != i) {
            res->items[i] = res->items[m.first[i]];
            res->items[i].owned = 0;
        }
    }
    *out = res;
    res = NULL;
out:
    hash_ring_snapshot_release(snap);
    hash_ring_mc_result_free(res);
    free(m.first);
    free(m.cand);
    free(m.srv_of);
    free(m.pending);
    free(m.table);
    return mc_end(mc, rc);
}

size_t hash_ring_mc_result_count(const hash_ring_mc_result_t *result)
{
    return result ? result->count : 0;
}

int hash_ring_mc_result_item(const hash_ring_mc_result_t *result, size_t index,
                             const void **value, size_t *value_len, uint32_t *flags,
                             uint64_t *cas)
{
    if (result == NULL || index >= result->count)
        return HASH_RING_EINVAL;
    const mc_item *it = &result->items[index];
    if (it->status == HASH_RING_OK) {
        if (value != NULL)
            *value = it->value;
        if (value_len != NULL)
            *value_len = it->len;
        if (flags != NULL)
            *flags = it->flags;
        if (cas != NULL)
            *cas = it->cas;
    }
    return it->status;
}

void hash_ring_mc_result_free(hash_ring_mc_result_t *result)
{
    if (result == NULL)
        return;
    if (result->items != NULL)
        for (size_t i = 0; i < result->count; i++)
            if (result->items[i].owned)
                free(result->items[i].value);
    free(result->items);
    free(result);
}

/* ---- Server commands -------------------------------------------------------- */

int hash_ring_mc_flush_all(hash_ring_mc_t *mc, uint32_t delay)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    mc_begin(mc);
    hash_ring_snapshot_t *snap;
    int rc = hash_ring_snapshot_acquire(mc->ring, &snap);
    if (rc != HASH_RING_OK)
        return mc_end(mc, rc);
    size_t n = hash_ring_snapshot_node_count(snap);
    mc_server **srvs = malloc((n ? n : 1) * sizeof *srvs);
    int *st = malloc((n ? n : 1) * sizeof *st);
    char line[32];
    if (delay > 0)
        snprintf(line, sizeof line, "flush_all %u\r\n", (unsigned)delay);
    else
        snprintf(line, sizeof line, "flush_all\r\n");
    size_t nready = 0;
    if (srvs == NULL || st == NULL) {
        rc = HASH_RING_ENOMEM;
        goto out;
    }
    if (n == 0) {
        hr_mc_errf(mc, "no servers");
        rc = HASH_RING_EEMPTY;
        goto out;
    }
    mc_server **ready = malloc(n * sizeof *ready);
    if (ready == NULL) {
        rc = HASH_RING_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name;
        size_t len;
        srvs[i] = NULL;
        st[i] = HASH_RING_ENOMEM;
        if (hash_ring_snapshot_node(snap, i, &name, &len, NULL, NULL, NULL) != HASH_RING_OK)
            continue;
        mc_server *s = hr_mc_server_get(mc, name, len, 1);
        if (s == NULL)
            continue;
        srvs[i] = s;
        st[i] = hr_mc_server_ready(mc, s);
        if (st[i] != HASH_RING_OK)
            continue;
        hr_mc_req_reset(s);
        st[i] = hr_mc_req_str(s, line);
        s->on_reply = mc_on_ok;
        s->result = HASH_RING_OK;
        if (st[i] == HASH_RING_OK)
            ready[nready++] = s;
    }
    hr_mc_exchange(mc, ready, nready);
    free(ready);
    rc = HASH_RING_OK;
    for (size_t i = 0; i < n; i++) {
        if (st[i] == HASH_RING_OK && srvs[i] != NULL)
            st[i] = srvs[i]->fail != 0 ? srvs[i]->fail : srvs[i]->result;
        if (st[i] != HASH_RING_OK && rc == HASH_RING_OK) {
            rc = st[i];
            hr_mc_errf(mc, "flush_all: server %s: %s", srvs[i] ? srvs[i]->name : "?",
                    hash_ring_strerror(rc));
        }
    }
out:
    free(srvs);
    free(st);
    hash_ring_snapshot_release(snap);
    return mc_end(mc, rc);
}

/* A server named directly: created from its name if needed, connected
 * whatever its dead mark. */
static int mc_direct(hash_ring_mc_t *mc, const void *server, size_t server_len, mc_server **out)
{
    if (server == NULL || server_len == 0)
        return HASH_RING_EINVAL;
    mc_server *s = hr_mc_server_get(mc, server, server_len, 1);
    if (s == NULL)
        return HASH_RING_ENOMEM;
    int rc = hr_mc_server_ready(mc, s);
    if (rc != HASH_RING_OK)
        return rc;
    *out = s;
    return HASH_RING_OK;
}

static int mc_on_version(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    if (mc_is_error(rep))
        return mc_server_error(mc, s, rep);
    if (rep->kind != HR_MC_VERSION)
        return HASH_RING_EPROTO;
    char *v = realloc(mc->verbuf, rep->data_len + 1);
    if (v == NULL)
        return HASH_RING_ENOMEM;
    memcpy(v, rep->data, rep->data_len);
    v[rep->data_len] = '\0';
    mc->verbuf = v;
    mc->vlen = rep->data_len;
    s->result = HASH_RING_OK;
    return 1;
}

int hash_ring_mc_version(hash_ring_mc_t *mc, const void *server, size_t server_len,
                         const char **version, size_t *version_len)
{
    if (mc == NULL || version == NULL)
        return HASH_RING_EINVAL;
    mc_begin(mc);
    mc_server *s;
    int rc = mc_direct(mc, server, server_len, &s);
    if (rc != HASH_RING_OK)
        return mc_end(mc, rc);
    hr_mc_req_reset(s);
    rc = hr_mc_req_str(s, "version\r\n");
    if (rc != HASH_RING_OK)
        return mc_end(mc, rc);
    s->on_reply = mc_on_version;
    s->result = HASH_RING_OK;
    hr_mc_exchange(mc, &s, 1);
    rc = s->fail != 0 ? s->fail : s->result;
    if (rc == HASH_RING_OK) {
        *version = mc->verbuf;
        if (version_len != NULL)
            *version_len = mc->vlen;
    }
    return mc_end(mc, rc);
}

static char *mc_dup(const unsigned char *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        if (n > 0)
            memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static int mc_on_stat(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    hash_ring_mc_stats_t *st = mc->stats_out;
    if (mc_is_error(rep))
        return mc_server_error(mc, s, rep);
    if (rep->kind == HR_MC_END) {
        s->result = HASH_RING_OK;
        return 1;
    }
    if (rep->kind != HR_MC_STAT)
        return HASH_RING_EPROTO;
    if (st->count == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 64;
        mc_stat *v = realloc(st->items, nc * sizeof *v);
        if (v == NULL)
            return HASH_RING_ENOMEM;
        st->items = v;
        st->cap = nc;
    }
    mc_stat *it = &st->items[st->count];
    it->name = mc_dup(rep->key, rep->key_len);
    it->value = mc_dup(rep->data, rep->data_len);
    if (it->name == NULL || it->value == NULL) {
        free(it->name);
        free(it->value);
        return HASH_RING_ENOMEM;
    }
    it->name_len = rep->key_len;
    it->value_len = rep->data_len;
    st->count++;
    return 0;
}

int hash_ring_mc_stats(hash_ring_mc_t *mc, const void *server, size_t server_len,
                       const char *group, hash_ring_mc_stats_t **out)
{
    if (mc == NULL || out == NULL)
        return HASH_RING_EINVAL;
    mc_begin(mc);
    if (group != NULL) {
        size_t gl = strlen(group);
        int ok = gl > 0 && gl <= 64;
        for (size_t i = 0; ok && i < gl; i++) {
            char ch = group[i];
            ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '_';
        }
        if (!ok) {
            hr_mc_errf(mc, "bad stats group (letters, digits and '_' only)");
            return mc_end(mc, HASH_RING_EINVAL);
        }
    }
    mc_server *s;
    int rc = mc_direct(mc, server, server_len, &s);
    if (rc != HASH_RING_OK)
        return mc_end(mc, rc);
    hash_ring_mc_stats_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return mc_end(mc, HASH_RING_ENOMEM);
    hr_mc_req_reset(s);
    rc = hr_mc_req_str(s, "stats");
    if (rc == HASH_RING_OK && group != NULL) {
        rc = hr_mc_req_append(s, " ", 1);
        if (rc == HASH_RING_OK)
            rc = hr_mc_req_str(s, group);
    }
    if (rc == HASH_RING_OK)
        rc = hr_mc_req_append(s, "\r\n", 2);
    if (rc == HASH_RING_OK) {
        s->on_reply = mc_on_stat;
        s->result = HASH_RING_OK;
        mc->stats_out = st;
        hr_mc_exchange(mc, &s, 1);
        mc->stats_out = NULL;
        rc = s->fail != 0 ? s->fail : s->result;
    }
    if (rc == HASH_RING_OK)
        *out = st;
    else
        hash_ring_mc_stats_free(st);
    return mc_end(mc, rc);
}

size_t hash_ring_mc_stats_count(const hash_ring_mc_stats_t *stats)
{
    return stats ? stats->count : 0;
}

int hash_ring_mc_stats_item(const hash_ring_mc_stats_t *stats, size_t index, const char **name,
                            size_t *name_len, const char **value, size_t *value_len)
{
    if (stats == NULL || index >= stats->count)
        return HASH_RING_EINVAL;
    const mc_stat *it = &stats->items[index];
    if (name != NULL)
        *name = it->name;
    if (name_len != NULL)
        *name_len = it->name_len;
    if (value != NULL)
        *value = it->value;
    if (value_len != NULL)
        *value_len = it->value_len;
    return HASH_RING_OK;
}

const char *hash_ring_mc_stats_find(const hash_ring_mc_stats_t *stats, const char *name)
{
    if (stats == NULL || name == NULL)
        return NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < stats->count; i++)
        if (stats->items[i].name_len == n && memcmp(stats->items[i].name, name, n) == 0)
            return stats->items[i].value;
    return NULL;
}

void hash_ring_mc_stats_free(hash_ring_mc_stats_t *stats)
{
    if (stats == NULL)
        return;
    for (size_t i = 0; i < stats->count; i++) {
        free(stats->items[i].name);
        free(stats->items[i].value);
    }
    free(stats->items);
    free(stats);
}
