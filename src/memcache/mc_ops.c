/* mc_ops.c - single-key commands and the fail-over policy.
 *
 * Each key command finds its servers in one snapshot of the ring (the
 * first live one in hash_ring_snapshot_get_nodes order), builds its request
 * and runs one exchange (mc_server.c). */
#include "mc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Starts a single-key operation: hr_mc_begin, the key checked, cmd set
 * up for `verb`.  On an error the operation is already ended (returned). */
static int mc_key_start(hash_ring_mc_t *mc, mc_cmd *cmd, const char *verb, const void *key,
                        size_t key_len)
{
    hr_mc_begin(mc);
    int rc = hr_mc_check_key(mc, key, key_len);
    if (rc != HASH_RING_OK)
        return hr_mc_end(mc, rc);
    memset(cmd, 0, sizeof *cmd);
    cmd->verb = verb;
    cmd->key = key;
    cmd->key_len = key_len;
    return HASH_RING_OK;
}

static int mc_storage(hash_ring_mc_t *mc, const char *verb, const void *key, size_t key_len,
                      const void *value, size_t value_len, uint32_t flags, uint32_t ttl,
                      int with_cas, uint64_t cas)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    mc_cmd cmd;
    int rc = mc_key_start(mc, &cmd, verb, key, key_len);
    if (rc != HASH_RING_OK)
        return rc;
    if (value == NULL && value_len > 0) {
        hr_mc_errf(mc, "value is NULL (value_len %zu)", value_len);
        return hr_mc_end(mc, HASH_RING_EINVAL);
    }
    if (value_len > mc->max_value) {
        hr_mc_errf(mc, "value of %zu bytes: larger than the maximum of %zu bytes", value_len,
                mc->max_value);
        return hr_mc_end(mc, HASH_RING_EINVAL);
    }
    if (with_cas)
        snprintf(cmd.tail, sizeof cmd.tail, " %u %u %zu %llu", (unsigned)flags, (unsigned)ttl,
                 value_len, (unsigned long long)cas);
    else
        snprintf(cmd.tail, sizeof cmd.tail, " %u %u %zu", (unsigned)flags, (unsigned)ttl,
                 value_len);
    cmd.data = value;
    cmd.data_len = value_len;
    cmd.has_data = 1;
    cmd.on_reply = with_cas ? hr_mc_on_cas : hr_mc_on_store;
    return hr_mc_end(mc, mc_key_command(mc, &cmd));
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
    if (mc == NULL)
        return HASH_RING_EINVAL;
    mc_cmd cmd;
    int rc = mc_key_start(mc, &cmd, want_cas ? "gets" : "get", key, key_len);
    if (rc != HASH_RING_OK)
        return rc;
    if (value == NULL || value_len == NULL) {
        hr_mc_errf(mc, "%s is NULL", value == NULL ? "value" : "value_len");
        return hr_mc_end(mc, HASH_RING_EINVAL);
    }
    cmd.read_only = 1;
    cmd.on_reply = hr_mc_on_get;
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
    return hr_mc_end(mc, rc);
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
    mc_cmd cmd;
    int rc = mc_key_start(mc, &cmd, verb, key, key_len);
    if (rc != HASH_RING_OK)
        return rc;
    snprintf(cmd.tail, sizeof cmd.tail, "%s", tail);
    cmd.on_reply = fn;
    return hr_mc_end(mc, mc_key_command(mc, &cmd));
}

int hash_ring_mc_delete(hash_ring_mc_t *mc, const void *key, size_t key_len)
{
    return mc_simple_key(mc, "delete", key, key_len, "", hr_mc_on_delete);
}

int hash_ring_mc_touch(hash_ring_mc_t *mc, const void *key, size_t key_len, uint32_t ttl)
{
    char tail[24];
    snprintf(tail, sizeof tail, " %u", (unsigned)ttl);
    return mc_simple_key(mc, "touch", key, key_len, tail, hr_mc_on_touch);
}

static int mc_arith(hash_ring_mc_t *mc, const char *verb, const void *key, size_t key_len,
                    uint64_t delta, uint64_t *new_value)
{
    char tail[32];
    snprintf(tail, sizeof tail, " %llu", (unsigned long long)delta);
    int rc = mc_simple_key(mc, verb, key, key_len, tail, hr_mc_on_arith);
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
