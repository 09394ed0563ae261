/* mc_multi.c - multi-get: keys grouped by server into pipelined "gets"
 * commands, all servers in one parallel exchange per fail-over round; and
 * its result object. */
#include "mc_internal.h"
#include "mc_keysort.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MC_MULTI_CHUNK 100 /* keys per "gets" command in a multi-get */
#define MC_MULTI_SEEN 8    /* servers remembered by name pointer (mc_multi.seen) */
#define MC_SCRATCH_KEEP (64u * 1024u) /* working arrays above this are not kept */

/* ---- Multi-get ------------------------------------------------------------ */

#define MC_BIG 2 /* pending[]: see there */

typedef struct mc_multi {
    const void *const *keys;
    const size_t *lens;
    size_t count;
    size_t *first;      /* first occurrence of the same key */
    size_t *order;      /* key indices sorted by key (mc_keysort.h) */
    size_t *owner;      /* member index of each key's own server (one batch
                           lookup: every key placed by one membership) */
    mc_server **srv_of; /* server asked in the current round */
    size_t *cand;       /* candidate index (fail-over position) */
    size_t *next_on;    /* next key (index + 1) asked of the same server */
    unsigned char *pending; /* 1: not answered yet; MC_BIG: a value above
                             * max_value announced, final when its server
                             * ends cleanly; 0: answered */
    hash_ring_mc_result_t *res;
    /* Servers already looked up in this call, by the snapshot's name
     * pointer (stable while the snapshot is held): most keys then skip
     * hashing the server name in hr_mc_server_get. */
    struct {
        const char *name;
        mc_server *srv;
    } seen[MC_MULTI_SEEN];
    size_t nseen;
} mc_multi;

/* Room for n bytes (and a NUL) among the result's values: blocks of at
 * least 4 KB, doubling up to 256 KB, so that a multi-get's values take a
 * few allocations instead of one each.  NULL when out of memory. */
static unsigned char *mc_value_alloc(hash_ring_mc_result_t *res, size_t n)
{
    mc_block *b = res->blocks;
    size_t need = (n + 1 + 7) & ~(size_t)7; /* values 8-byte aligned */
    if (need < n)
        return NULL;
    if (b == NULL || b->cap - b->used < need) {
        size_t cap = b == NULL ? 4096 : b->cap < 128 * 1024 ? b->cap * 2 : 256 * 1024;
        if (cap < need)
            cap = need;
        if (cap > SIZE_MAX - sizeof *b)
            return NULL;
        mc_block *nb = malloc(sizeof *nb + cap);
        if (nb == NULL)
            return NULL;
        nb->cap = cap;
        nb->used = 0;
        /* A big value alone in its block goes behind the current one, so
         * that the current block's free room is still used. */
        if (b != NULL && need > cap / 2 && b->cap - b->used >= 64) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            res->blocks = nb;
        }
        b = nb;
    }
    unsigned char *p = b->data + b->used;
    b->used += need;
    return p;
}

static int mc_on_multi(hash_ring_mc_t *mc, mc_server *s, const hr_mc_reply *rep)
{
    mc_multi *m = mc->multi;
    /* The connection is then closed, so the replies to this server's other
     * pipelined "gets" commands are never read as the next command's. */
    if (hr_mc_reply_is_error(rep))
        return hr_mc_server_error(mc, s, rep);
    if (rep->kind == HR_MC_END) {
        if (s->ends_left == 0)
            return HASH_RING_EPROTO;
        return --s->ends_left == 0 ? 1 : 0;
    }
    if ((rep->kind != HR_MC_VALUE && rep->kind != HR_MC_VALUE_BIG) || !rep->has_cas)
        return HASH_RING_EPROTO;
    /* memcached answers a multi-key get in the order of its keys, leaving
     * out the misses: the key is usually the next one asked of this server,
     * or a few further.  Checking those first spares the binary search,
     * which still decides anything else (in bounded time). */
    size_t i = SIZE_MAX;
    size_t c = s->mq_next;
    for (int step = 0; c != 0 && step < 4; step++, c = m->next_on[c - 1]) {
        if (m->lens[c - 1] == rep->key_len &&
            memcmp(m->keys[c - 1], rep->key, rep->key_len) == 0) {
            i = c - 1;
            s->mq_next = m->next_on[i];
            break;
        }
    }
    if (i == SIZE_MAX) {
        i = hr_mc_keysort_find(m->keys, m->lens, m->order, m->count, rep->key, rep->key_len);
        /* misses skipped more than the walk looks ahead: resume after it */
        if (i != SIZE_MAX && m->srv_of[i] == s)
            s->mq_next = m->next_on[i];
    }
    if (i == SIZE_MAX || m->srv_of[i] != s || m->pending[i] != 1)
        return HASH_RING_EPROTO; /* not asked of this server, or answered twice */
    mc_item *it = &m->res->items[i];
    if (rep->kind == HR_MC_VALUE_BIG) {
        /* above max_value: once the server ends its reply cleanly (the
         * data skipped), this key fails alone, and is not asked of
         * another server; if the server fails first, it is retried like
         * the server's other unanswered keys (as a get would be) */
        m->pending[i] = MC_BIG;
        return 0;
    }
    it->value = mc_value_alloc(m->res, rep->data_len);
    if (it->value == NULL)
        return HASH_RING_ENOMEM;
    if (rep->data_len > 0)
        memcpy(it->value, rep->data, rep->data_len);
    it->value[rep->data_len] = '\0';
    it->len = rep->data_len;
    it->flags = rep->flags;
    it->cas = rep->cas;
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
    if (n == 1) {
        /* The key's own server, from the batch lookup (get_nodes' first
         * answer, without the duplicate-owner walk). */
        rc = hash_ring_snapshot_node(snap, m->owner[i], names, lens, NULL, NULL, NULL);
        count = 1;
    } else {
        rc = hash_ring_snapshot_get_nodes(snap, m->keys[i], m->lens[i], names, lens, n, &count);
    }
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
        const char *name = names[m->cand[i]];
        mc_server *s = NULL;
        for (size_t k = 0; k < m->nseen; k++)
            if (m->seen[k].name == name) {
                s = m->seen[k].srv;
                break;
            }
        if (s == NULL) {
            s = hr_mc_server_get(mc, name, lens[m->cand[i]], 1);
            if (s == NULL) {
                rc = HASH_RING_ENOMEM;
                goto out;
            }
            if (m->nseen < MC_MULTI_SEEN) {
                m->seen[m->nseen].name = name;
                m->seen[m->nseen].srv = s;
                m->nseen++;
            }
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
                s->mq_next = s->mq_last = 0;
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
        /* Append the key to this server's pipelined "gets" commands:
         * "gets" before the first key of a command, " key", and CRLF after
         * its last.  Room for all of it is made once, then bytes are copied
         * straight in. */
        rc = hr_mc_req_reserve(s, 4 + 1 + m->lens[i] + 2);
        if (rc != HASH_RING_OK)
            goto out;
        unsigned char *w = s->wbuf + s->wlen;
        if (s->chunk_keys == 0) {
            memcpy(w, "gets", 4);
            w += 4;
            s->ends_left++;
        }
        *w++ = ' ';
        memcpy(w, m->keys[i], m->lens[i]);
        w += m->lens[i];
        if (++s->chunk_keys == MC_MULTI_CHUNK) {
            memcpy(w, "\r\n", 2);
            w += 2;
            s->chunk_keys = 0;
        }
        s->wlen = (size_t)(w - s->wbuf);
        m->srv_of[i] = s;
        m->next_on[i] = 0;
        if (s->mq_last != 0)
            m->next_on[s->mq_last - 1] = i + 1;
        else
            s->mq_next = i + 1;
        s->mq_last = i + 1;
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
        size_t retry = 0;
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
                    m->pending[i] = 1;
                    retry++;
                    continue;
                }
                m->res->items[i].status = s->fail;
            } else if (m->pending[i] == MC_BIG) {
                m->res->items[i].status = HASH_RING_ETOOBIG;
            } else {
                m->res->items[i].status =
                    s->result == HASH_RING_OK ? HASH_RING_EMISS : s->result;
            }
            m->pending[i] = 0;
        }
        /* Every key answered: stop here rather than start another round,
         * whose idle-connection check (a poll()) would be wasted. */
        if (rc != HASH_RING_OK || retry == 0)
            break;
    }
    free(round);
    return rc;
}

/* The result and its items in one allocation (items uninitialized). */
static hash_ring_mc_result_t *mc_result_new(size_t count)
{
    size_t head = (sizeof(hash_ring_mc_result_t) + 15) & ~(size_t)15;
    if (count > (SIZE_MAX - head) / sizeof(mc_item))
        return NULL;
    hash_ring_mc_result_t *res = malloc(head + count * sizeof(mc_item));
    if (res == NULL)
        return NULL;
    res->count = count;
    res->items = (mc_item *)(void *)((unsigned char *)res + head);
    res->blocks = NULL;
    return res;
}

int hash_ring_mc_get_multi(hash_ring_mc_t *mc, const void *const *keys, const size_t *key_lens,
                           size_t count, hash_ring_mc_result_t **out)
{
    if (mc == NULL)
        return HASH_RING_EINVAL;
    hr_mc_begin(mc);
    if (out == NULL) {
        hr_mc_errf(mc, "out is NULL");
        return hr_mc_end(mc, HASH_RING_EINVAL);
    }
    if (count > 0 && (keys == NULL || key_lens == NULL)) {
        hr_mc_errf(mc, "%s is NULL (count %zu)", keys == NULL ? "keys" : "key_lens", count);
        return hr_mc_end(mc, HASH_RING_EINVAL);
    }
    for (size_t i = 0; i < count; i++) {
        if (hr_mc_check_key(mc, keys[i], key_lens[i]) != HASH_RING_OK) {
            char why[200];
            snprintf(why, sizeof why, "%.190s", mc->err);
            hr_mc_errf(mc, "key %zu: %s", i, why);
            return hr_mc_end(mc, HASH_RING_EINVAL);
        }
    }
    if (count > SIZE_MAX / 4 / sizeof(size_t) / 8)
        return hr_mc_end(mc, HASH_RING_ENOMEM);
    mc_multi m;
    memset(&m, 0, sizeof m);
    int rc = HASH_RING_ENOMEM;
    hash_ring_snapshot_t *snap = NULL;
    hash_ring_mc_result_t *res = mc_result_new(count);
    if (res == NULL)
        goto out;
    /* The working arrays, in one buffer kept in the client between calls
     * (no allocation per call): first, cand, next_on, order and owner (size_t), srv_of
     * (pointers), then pending (bytes).  malloc aligns the start for any
     * type; the pointers after the size_t arrays need no more than size_t. */
    _Static_assert(_Alignof(mc_server *) <= _Alignof(size_t), "scratch layout");
    size_t need = 5 * count * sizeof(size_t) + count * sizeof(mc_server *) + count;
    if (mc->mscratch_cap < need) {
        free(mc->mscratch);
        mc->mscratch_cap = 0;
        mc->mscratch = malloc(need);
        if (mc->mscratch == NULL)
            goto out;
        mc->mscratch_cap = need;
    }
    m.first = mc->mscratch;
    m.cand = m.first + count;
    m.next_on = m.cand + count;
    m.order = m.next_on + count;
    m.owner = m.order + count;
    m.srv_of = (mc_server **)(void *)(m.owner + count);
    m.pending = (unsigned char *)(m.srv_of + count);
    m.keys = keys;
    m.lens = key_lens;
    m.count = count;
    m.res = res;
    /* Duplicates: each key's first occurrence is the head of its run of
     * equal keys in the (stable) sorted order.  cand is the sort's scratch
     * until it is cleared. */
    hr_mc_keysort(keys, key_lens, count, m.order, m.cand);
    for (size_t r = 0, head = 0; r < count; r++) {
        if (r > 0 && hr_mc_key_cmp(keys[m.order[r]], key_lens[m.order[r]], keys[m.order[head]],
                                   key_lens[m.order[head]]) != 0)
            head = r;
        m.first[m.order[r]] = m.order[head];
    }
    for (size_t i = 0; i < count; i++) {
        m.cand[i] = 0;
        m.pending[i] = 1;
        m.srv_of[i] = NULL;
        res->items[i].status = HASH_RING_EMISS;
        res->items[i].value = NULL;
        res->items[i].len = 0;
        res->items[i].flags = 0;
        res->items[i].cas = 0;
    }
    rc = hash_ring_snapshot_acquire(mc->ring, &snap);
    if (rc != HASH_RING_OK)
        goto out;
    if (count > 0 && hash_ring_snapshot_point_count(snap) == 0) {
        hr_mc_errf(mc, "no servers (the ring has no node owning points)");
        rc = HASH_RING_EEMPTY;
        goto out;
    }
    rc = hash_ring_snapshot_get_index_batch(snap, keys, key_lens, count, m.owner);
    if (rc != HASH_RING_OK)
        goto out;
    mc->multi = &m;
    rc = count > 0 ? mc_multi_run(mc, &m, snap) : HASH_RING_OK;
    mc->multi = NULL;
    if (rc != HASH_RING_OK)
        goto out;
    for (size_t i = 0; i < count; i++)
        if (m.first[i] != i)
            res->items[i] = res->items[m.first[i]]; /* shares the value */
    *out = res;
    res = NULL;
out:
    hash_ring_snapshot_release(snap);
    hash_ring_mc_result_free(res);
    if (mc->mscratch_cap > MC_SCRATCH_KEEP) {
        free(mc->mscratch);
        mc->mscratch = NULL;
        mc->mscratch_cap = 0;
    }
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
    for (mc_block *b = result->blocks, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(result); /* the items are in the same allocation */
}
