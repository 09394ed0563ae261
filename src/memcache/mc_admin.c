/* mc_admin.c - server commands: flush_all (every server in the ring),
 * version and stats (one server named directly), and the stats list. */
#include "mc_internal.h"


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Server commands -------------------------------------------------------- */

int hash_ring_mc_flush_all(hash_ring_mc_t *mc, uint32_t delay)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    hr_mc_begin(mc);
    hash_ring_snapshot_t *snap;
    int rc = hash_ring_snapshot_acquire(mc->ring, &snap);
    if (rc != HASH_RING_OK)
        return hr_mc_end(mc, rc);
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
        s->on_reply = hr_mc_on_ok;
        s->result = HASH_RING_OK;
        if (st[i] == HASH_RING_OK)
            ready[nready++] = s;
    }
    hr_mc_exchange(mc, ready, nready);
    free(ready);
    rc = HASH_RING_OK;
    size_t nfail = 0;
    const char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        if (st[i] == HASH_RING_OK && srvs[i] != NULL)
            st[i] = srvs[i]->fail != 0 ? srvs[i]->fail : srvs[i]->result;
        if (st[i] != HASH_RING_OK) {
            if (nfail++ == 0) {
                rc = st[i];
                first = srvs[i] ? srvs[i]->name : "?";
            }
        }
    }
    if (nfail > 0) {
        /* the detail the failing calls left (the last failure's: the
         * connect or reply error), after which server and how many */
        char detail[sizeof mc->err];
        snprintf(detail, sizeof detail, "%s", mc->err);
        hr_mc_errf(mc, "flush_all: %zu of %zu servers failed, first %s: %s%s%.300s", nfail, n,
                   first, hash_ring_mc_strerror(rc), detail[0] ? "; last detail: " : "", detail);
    }
out:
    free(srvs);
    free(st);
    hash_ring_snapshot_release(snap);
    return hr_mc_end(mc, rc);
}

/* Nonzero when (name, len) is a member of the ring's current membership
 * (a snapshot: never waits for a writer; O(members)). */
static int mc_ring_has_member(const hash_ring_t *ring, const void *name, size_t len)
{
    hash_ring_snapshot_t *snap;
    if (hash_ring_snapshot_acquire(ring, &snap) != HASH_RING_OK)
        return 0;
    int member = 0;
    size_t n = hash_ring_snapshot_node_count(snap);
    for (size_t i = 0; i < n && !member; i++) {
        const char *nm;
        size_t nl;
        member = hash_ring_snapshot_node(snap, i, &nm, &nl, NULL, NULL, NULL) == HASH_RING_OK &&
                 nl == len && memcmp(nm, name, len) == 0;
    }
    hash_ring_snapshot_release(snap);
    return member;
}

/* A server named directly: the client's entry for that name (a member it
 * has used, a name given an address), else a new entry when the name parses
 * as an address.  The name is checked before anything is created: version
 * and stats accept any name, and entries of names that are not members
 * are otherwise freed only by a sweep (mc_client.c), so refused names would
 * pile up meanwhile.
 * *created is set for a new entry, which mc_direct_end forgets again if the
 * call fails: a failed call leaves the client as it was.  The server is
 * connected whatever its dead mark. */
static int mc_direct(hash_ring_mc_t *mc, const void *server, size_t server_len, mc_server **out,
                     int *created)
{
    *created = 0;
    int rc = hr_mc_check_server_given(mc, server, server_len);
    if (rc != HASH_RING_OK)
        return rc;
    mc_server *s = hr_mc_server_get(mc, server, server_len, 0);
    if (s == NULL) {
        rc = hr_mc_check_server_name(mc, server, server_len);
        if (rc != HASH_RING_OK)
            return rc;
        s = hr_mc_server_get(mc, server, server_len, 1);
        if (s == NULL)
            return HASH_RING_ENOMEM;
        *created = 1;
    }
    rc = hr_mc_server_ready(mc, s);
    if (rc != HASH_RING_OK) {
        if (*created && !mc_ring_has_member(mc->ring, s->name, s->name_len))
            hr_mc_server_forget(mc, s);
        return rc;
    }
    *out = s;
    return HASH_RING_OK;
}

/* Ends a call that mc_direct started: forgets the entry it created when the
 * call failed, unless the name is a ring member, whose entry (and dead
 * mark) key operations use next (the message in mc->err does not point
 * into the entry). */
static int mc_direct_end(hash_ring_mc_t *mc, mc_server *s, int created, int rc)
{
    if (rc != HASH_RING_OK && created && !mc_ring_has_member(mc->ring, s->name, s->name_len))
        hr_mc_server_forget(mc, s);
    return hr_mc_end(mc, rc);
}

static int mc_on_version(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    if (hr_mc_reply_is_error(rep))
        return hr_mc_server_error(mc, s, rep);
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
    if (mc == NULL)
        return HASH_RING_EINVAL;
    hr_mc_begin(mc);
    if (version == NULL) {
        hr_mc_errf(mc, "version is NULL");
        return hr_mc_end(mc, HASH_RING_EINVAL);
    }
    mc_server *s;
    int created;
    int rc = mc_direct(mc, server, server_len, &s, &created);
    if (rc != HASH_RING_OK)
        return hr_mc_end(mc, rc);
    hr_mc_req_reset(s);
    rc = hr_mc_req_str(s, "version\r\n");
    if (rc != HASH_RING_OK)
        return mc_direct_end(mc, s, created, rc);
    s->on_reply = mc_on_version;
    s->result = HASH_RING_OK;
    hr_mc_exchange(mc, &s, 1);
    rc = s->fail != 0 ? s->fail : s->result;
    if (rc == HASH_RING_OK) {
        *version = mc->verbuf;
        if (version_len != NULL)
            *version_len = mc->vlen;
    }
    return mc_direct_end(mc, s, created, rc);
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
    if (hr_mc_reply_is_error(rep))
        return hr_mc_server_error(mc, s, rep);
    if (rep->kind == HR_MC_END) {
        s->result = HASH_RING_OK;
        return 1;
    }
    if (rep->kind != HR_MC_STAT)
        return HASH_RING_EPROTO;
    if (st->count >= MC_STATS_MAX_LINES ||
        rep->key_len + rep->data_len > MC_STATS_MAX_BYTES - st->bytes) {
        mc->reply_why = "stats reply too large (over 65,536 lines or 16 MiB)";
        return HASH_RING_EPROTO;
    }
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
    st->bytes += rep->key_len + rep->data_len;
    st->count++;
    return 0;
}

int hash_ring_mc_stats(hash_ring_mc_t *mc, const void *server, size_t server_len,
                       const char *group, hash_ring_mc_stats_t **out)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    hr_mc_begin(mc);
    if (out == NULL) {
        hr_mc_errf(mc, "out is NULL");
        return hr_mc_end(mc, HASH_RING_EINVAL);
    }
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
            return hr_mc_end(mc, HASH_RING_EINVAL);
        }
    }
    mc_server *s;
    int created;
    int rc = mc_direct(mc, server, server_len, &s, &created);
    if (rc != HASH_RING_OK)
        return hr_mc_end(mc, rc);
    hash_ring_mc_stats_t *st = calloc(1, sizeof *st);
    if (st == NULL)
        return mc_direct_end(mc, s, created, HASH_RING_ENOMEM);
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
    return mc_direct_end(mc, s, created, rc);
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
