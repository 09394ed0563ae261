/* lookup.c - the public key lookups, on a ring and on a snapshot.
 *
 * Data flows one way: key -> MD5 -> position -> first point -> owner ->
 * name.  The key is hashed before the reader section so that the section
 * covers only the search. */
#include "continuum.h"
#include "digest.h"
#include "hash_ring.h"
#include "mem.h"
#include "ring.h"

#include <stdlib.h>
#include <string.h>

static int hr_key_ok(const void *key, size_t len)
{
    return key != NULL || len == 0;
}

static int hr_get_node(const hr_continuum *c, uint32_t pos, const char **node, size_t *len)
{
    if (c->npoints == 0)
        return HASH_RING_EEMPTY;
    uint32_t o = hr_continuum_owner_at(c, pos);
    *node = c->lookup_names[o];
    if (len != NULL)
        *len = c->nodes[o].len;
    return HASH_RING_OK;
}

/* Distinct owners in ring order from pos; see hash_ring_get_nodes. */
static int hr_get_nodes(const hr_continuum *c, uint32_t pos, const char **nodes,
                        size_t *lens, size_t max, size_t *count)
{
    if (c->npoints == 0)
        return HASH_RING_EEMPTY;
    size_t found = 0;
    if (max > c->nnodes)
        max = c->nnodes;
    /* Up to 64 found nodes: a linear check; beyond: a bitmap of members. */
    uint32_t small[64];
    unsigned char *seen = NULL;
    if (max > 64) {
        seen = calloc((c->nnodes + 7) / 8, 1);
        if (seen == NULL)
            return HASH_RING_ENOMEM;
    }
    size_t start = hr_continuum_first_point(c, pos), n = c->npoints;
    for (size_t s = 0; s < n && found < max; s++) {
        size_t i = start + s < n ? start + s : start + s - n;
        uint32_t o = hr_continuum_point_owner(c, i);
        int dup = 0;
        if (seen != NULL) {
            dup = seen[o >> 3] & (1u << (o & 7));
            seen[o >> 3] |= (unsigned char)(1u << (o & 7));
        } else {
            for (size_t k = 0; k < found && !dup; k++)
                dup = small[k] == o;
            if (!dup)
                small[found] = o;
        }
        if (dup)
            continue;
        nodes[found] = c->nodes[o].name->bytes;
        if (lens != NULL)
            lens[found] = c->nodes[o].len;
        found++;
    }
    free(seen);
    *count = found;
    return HASH_RING_OK;
}

int hash_ring_position(const void *key, size_t key_len, uint32_t *position)
{
    if (!hr_key_ok(key, key_len) || position == NULL)
        return HASH_RING_EINVAL;
    int64_t pos = hr_position(key ? key : "", key_len);
    if (pos < 0)
        return (int)pos;
    *position = (uint32_t)pos;
    return HASH_RING_OK;
}

int hash_ring_get_node(const hash_ring_t *ring, const void *key, size_t key_len,
                       const char **node, size_t *node_len)
{
    if (ring == NULL || node == NULL || !hr_key_ok(key, key_len))
        return HASH_RING_EINVAL;
    int64_t pos = hr_position(key ? key : "", key_len);
    if (pos < 0)
        return (int)pos;
    uintptr_t token;
    const hr_continuum *c = hr_ring_enter(ring, &token);
    int rc = hr_get_node(c, (uint32_t)pos, node, node_len);
    hr_ring_leave(ring, token);
    return rc;
}

int hash_ring_get_nodes(const hash_ring_t *ring, const void *key, size_t key_len,
                        const char **nodes, size_t *node_lens, size_t max, size_t *count)
{
    if (ring == NULL || count == NULL || (nodes == NULL && max > 0) || !hr_key_ok(key, key_len))
        return HASH_RING_EINVAL;
    int64_t pos = hr_position(key ? key : "", key_len);
    if (pos < 0)
        return (int)pos;
    uintptr_t token;
    const hr_continuum *c = hr_ring_enter(ring, &token);
    int rc = hr_get_nodes(c, (uint32_t)pos, nodes, node_lens, max, count);
    hr_ring_leave(ring, token);
    return rc;
}

int hash_ring_snapshot_get_node(const hash_ring_snapshot_t *snap, const void *key,
                                size_t key_len, const char **node, size_t *node_len)
{
    if (snap == NULL || node == NULL || !hr_key_ok(key, key_len))
        return HASH_RING_EINVAL;
    int64_t pos = hr_position(key ? key : "", key_len);
    return pos < 0 ? (int)pos : hr_get_node(snap, (uint32_t)pos, node, node_len);
}

int hash_ring_snapshot_get_nodes(const hash_ring_snapshot_t *snap, const void *key,
                                 size_t key_len, const char **nodes, size_t *node_lens,
                                 size_t max, size_t *count)
{
    if (snap == NULL || count == NULL || (nodes == NULL && max > 0) || !hr_key_ok(key, key_len))
        return HASH_RING_EINVAL;
    int64_t pos = hr_position(key ? key : "", key_len);
    return pos < 0 ? (int)pos : hr_get_nodes(snap, (uint32_t)pos, nodes, node_lens, max, count);
}

/* ---- Batches -------------------------------------------------------- */

/* Keys hashed per group, and how far ahead of the key being resolved the
 * bucket and entry lines are requested.  On a ring bigger than the caches
 * each key's entries are a miss; requested PREFETCH keys ahead, the misses
 * of many keys overlap instead of queueing one after another. */
#define HR_BATCH_GROUP 256
#define HR_BATCH_AHEAD 16

static int hr_keys_ok(const void *const *keys, const size_t *lens, size_t count)
{
    if (count == 0)
        return 1;
    if (keys == NULL || lens == NULL)
        return 0;
    for (size_t i = 0; i < count; i++)
        if (!hr_key_ok(keys[i], lens[i]))
            return 0;
    return 1;
}

/* The lookup target of position pos: the first point at or above it. */
static inline uint64_t hr_target(const hr_continuum *c, uint32_t pos)
{
    return (uint64_t)pos + c->dialect->strict;
}

/* Requests the line of the bucket entry a target reads. */
static inline void hr_prefetch_bucket(const hr_continuum *c, uint64_t target)
{
    if (target <= UINT32_MAX)
        __builtin_prefetch(&c->index.buckets[target >> c->index.shift]);
}

/* Requests the entries where a target's search will start (the bucket's
 * first line and the line its guess falls in). */
static inline void hr_prefetch_entries(const hr_continuum *c, uint64_t target)
{
    if (target > UINT32_MAX)
        return;
    const hr_index *ix = &c->index;
    size_t b = (size_t)(target >> ix->shift);
    size_t lo = ix->buckets[b], len = ix->buckets[b + 1] - lo;
    size_t g = (size_t)((((uint64_t)target & hr_low_mask(ix)) * len) >> ix->shift);
    __builtin_prefetch(c->ent + lo);
    __builtin_prefetch(c->ent + lo + g);
}

/* Owner indexes of the keys at pos[0..n) (n > 0, c has points), with the
 * bucket and entry reads of later keys requested ahead. */
static void hr_resolve(const hr_continuum *c, const uint32_t *pos, size_t n, uint32_t *owner)
{
    size_t ahead = n < HR_BATCH_AHEAD ? n : HR_BATCH_AHEAD;
    for (size_t i = 0; i < ahead; i++)
        hr_prefetch_bucket(c, hr_target(c, pos[i]));
    for (size_t i = 0; i < ahead / 2; i++)
        hr_prefetch_entries(c, hr_target(c, pos[i]));
    for (size_t i = 0; i < n; i++) {
        if (i + HR_BATCH_AHEAD < n)
            hr_prefetch_bucket(c, hr_target(c, pos[i + HR_BATCH_AHEAD]));
        if (i + HR_BATCH_AHEAD / 2 < n)
            hr_prefetch_entries(c, hr_target(c, pos[i + HR_BATCH_AHEAD / 2]));
        owner[i] = hr_continuum_owner_at(c, pos[i]);
    }
}

/* The batch lookups' one path: the owner index of every key, all from
 * continuum c; nodes/lens or indices receive them.  Keys are hashed a
 * group at a time, then resolved; nothing is written before every key of
 * the call is hashed (a failed hash leaves the outputs untouched), so the
 * positions of a call longer than a group are kept in an allocated array. */
static int hr_batch(const hr_continuum *c, const void *const *keys, const size_t *lens,
                    size_t count, const char **nodes, size_t *node_lens, size_t *indices)
{
    if (count == 0)
        return HASH_RING_OK;
    if (c->npoints == 0)
        return HASH_RING_EEMPTY;
    uint32_t small[HR_BATCH_GROUP];
    uint32_t *pos = small;
    if (count > HR_BATCH_GROUP) {
        pos = hr_alloc_array(count, sizeof *pos);
        if (pos == NULL)
            return HASH_RING_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        int64_t p = hr_position(lens[i] ? keys[i] : "", lens[i]);
        if (p < 0) {
            if (pos != small)
                free(pos);
            return (int)p;
        }
        pos[i] = (uint32_t)p;
    }
    /* resolved in place: each position is read before its slot is reused */
    uint32_t owner[HR_BATCH_GROUP];
    for (size_t at = 0; at < count; at += HR_BATCH_GROUP) {
        size_t n = count - at < HR_BATCH_GROUP ? count - at : HR_BATCH_GROUP;
        hr_resolve(c, pos + at, n, owner);
        for (size_t i = 0; i < n; i++) {
            uint32_t o = owner[i];
            if (indices != NULL) {
                indices[at + i] = o;
                continue;
            }
            nodes[at + i] = c->lookup_names[o];
            if (node_lens != NULL)
                node_lens[at + i] = c->nodes[o].len;
        }
    }
    if (pos != small)
        free(pos);
    return HASH_RING_OK;
}

int hash_ring_snapshot_get_node_batch(const hash_ring_snapshot_t *snap,
                                      const void *const *keys, const size_t *key_lens,
                                      size_t count, const char **nodes, size_t *node_lens)
{
    if (snap == NULL || (nodes == NULL && count > 0) || !hr_keys_ok(keys, key_lens, count))
        return HASH_RING_EINVAL;
    return hr_batch(snap, keys, key_lens, count, nodes, node_lens, NULL);
}

int hash_ring_snapshot_get_index_batch(const hash_ring_snapshot_t *snap,
                                       const void *const *keys, const size_t *key_lens,
                                       size_t count, size_t *indices)
{
    if (snap == NULL || (indices == NULL && count > 0) || !hr_keys_ok(keys, key_lens, count))
        return HASH_RING_EINVAL;
    return hr_batch(snap, keys, key_lens, count, NULL, NULL, indices);
}

int hash_ring_get_node_batch(const hash_ring_t *ring, const void *const *keys,
                             const size_t *key_lens, size_t count, const char **nodes,
                             size_t *node_lens)
{
    if (ring == NULL || (nodes == NULL && count > 0) || !hr_keys_ok(keys, key_lens, count))
        return HASH_RING_EINVAL;
    /* A reference, not a reader section: a long batch must not hold up
     * the writers that wait for readers to leave. */
    hash_ring_snapshot_t *snap;
    int rc = hash_ring_snapshot_acquire(ring, &snap);
    if (rc != HASH_RING_OK)
        return rc;
    rc = hr_batch(snap, keys, key_lens, count, nodes, node_lens, NULL);
    hash_ring_snapshot_release(snap);
    return rc;
}

int hash_ring_snapshot_get_node_at(const hash_ring_snapshot_t *snap, uint32_t position,
                                   const char **node, size_t *node_len)
{
    if (snap == NULL || node == NULL)
        return HASH_RING_EINVAL;
    return hr_get_node(snap, position, node, node_len);
}

int hash_ring_snapshot_dialect(const hash_ring_snapshot_t *snap, hash_ring_dialect_t *out)
{
    if (snap == NULL || out == NULL)
        return HASH_RING_EINVAL;
    *out = snap->dialect->id;
    return HASH_RING_OK;
}

size_t hash_ring_snapshot_node_count(const hash_ring_snapshot_t *snap)
{
    return snap ? snap->nnodes : 0;
}

int hash_ring_snapshot_node(const hash_ring_snapshot_t *snap, size_t index, const char **name,
                            size_t *name_len, uint32_t *weight, size_t *points, uint64_t *share)
{
    if (snap == NULL)
        return HASH_RING_EINVAL;
    if (index >= snap->nnodes)
        return HASH_RING_ENOTFOUND;
    const hr_node *n = &snap->nodes[index];
    if (name != NULL)
        *name = n->name->bytes;
    if (name_len != NULL)
        *name_len = n->name->len;
    if (weight != NULL)
        *weight = n->weight;
    if (points != NULL)
        *points = (size_t)n->hashes * snap->dialect->per_digest;
    if (share != NULL)
        *share = n->share;
    return HASH_RING_OK;
}

size_t hash_ring_snapshot_point_count(const hash_ring_snapshot_t *snap)
{
    return snap ? snap->npoints : 0;
}

int hash_ring_snapshot_point(const hash_ring_snapshot_t *snap, size_t index, uint32_t *point,
                             const char **owner, size_t *owner_len)
{
    if (snap == NULL)
        return HASH_RING_EINVAL;
    if (index >= snap->npoints)
        return HASH_RING_ENOTFOUND;
    if (point != NULL)
        *point = hr_continuum_point(snap, index);
    const hr_name *nm = snap->nodes[hr_continuum_point_owner(snap, index)].name;
    if (owner != NULL)
        *owner = nm->bytes;
    if (owner_len != NULL)
        *owner_len = nm->len;
    return HASH_RING_OK;
}
