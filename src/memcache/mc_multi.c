/* mc_multi.c - multi-get: keys grouped by server into pipelined "gets"
 * commands, all servers in one parallel exchange per fail-over round; and
 * its result object. */
#include "memcache/mc_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_MULTI_CHUNK 100 /* keys per "gets" command in a multi-get */

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
    if (hr_mc_reply_is_error(rep)) {
        /* The other pipelined "gets" commands of this server may still be
         * answered: the connection must not carry those replies into the
         * next command. */
        if (s->ends_left > 1)
            s->close_after = 1;
        return hr_mc_server_error(mc, s, rep);
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
        /* One poll() checks the idle connections of the servers this round
         * may use (when there are not more of them than keys). */
        hr_mc_servers_precheck(mc, m->count);
        for (size_t i = 0; i < m->count && rc == HASH_RING_OK; i++) {
            if (!m->pending[i] || m->first[i] != i)
                continue;
            m->srv_of[i] = NULL;
            rc = mc_multi_assign(mc, m, snap, i, &round, &nround);
            if (m->pending[i])
                npending++;
        }
        hr_mc_servers_precheck_end(mc);
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
    hr_mc_begin(mc);
    for (size_t i = 0; i < count; i++) {
        if (hr_mc_check_key(mc, keys[i], key_lens[i]) != HASH_RING_OK) {
            char why[200];
            snprintf(why, sizeof why, "%.190s", mc->err);
            hr_mc_errf(mc, "key %zu: %s", i, why);
            return hr_mc_end(mc, HASH_RING_EINVAL);
        }
    }
    if (count > SIZE_MAX / 4 / sizeof(size_t))
        return hr_mc_end(mc, HASH_RING_ENOMEM);
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
    return hr_mc_end(mc, rc);
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
