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

/* Distinct owners in ring order from entry `start` (the first of its run),
 * into nodes[0..max) and lens: the count.  Where a dialect reports a shared
 * point's winner for all its entries, the losers (c->tied) are skipped: the
 * scan always meets the winner first (a scan starts at the first entry of a
 * run, and entry 0 is one).  A node is already found when its name pointer
 * is (names are interned: one pointer a member); up to 64 found nodes are
 * checked one by one, more against a bitmap of members.  `seen` is NULL or
 * that bitmap, zeroed. */
static inline __attribute__((always_inline)) size_t
hr_walk(const hr_continuum *c, size_t start, const char **nodes, size_t *lens, size_t max,
        size_t ntied, unsigned char *seen)
{
    const uint32_t *ent = c->ent;
    const char *const *names = c->lookup_names;
    const size_t n = c->npoints;
    size_t i = start, found = 0;
    size_t t = ntied ? hr_continuum_tied_from(c, start) : 0;
    do {
        if (ntied && t < ntied && c->tied[t] == i) {
            t++;
        } else {
            uint32_t o = hr_entry_owner(&c->index, ent[i]);
            const char *name = names[o];
            int dup;
            if (seen != NULL) {
                dup = seen[o >> 3] & (1u << (o & 7));
                seen[o >> 3] |= (unsigned char)(1u << (o & 7));
            } else {
                size_t k = 0;
                while (k < found && nodes[k] != name)
                    k++;
                dup = k < found;
            }
            if (!dup) {
                nodes[found] = name;
                if (lens != NULL)
                    lens[found] = c->nodes[o].len;
                found++;
            }
        }
        if (++i == n) {
            i = 0;
            t = 0;
        }
    } while (found < max && i != start);
    return found;
}

/* hr_walk for 1 to 64 nodes and no losers to skip.  The first entry's
 * owner is always new, so it needs no check. */
static inline __attribute__((always_inline)) size_t
hr_walk_small(const hr_continuum *c, size_t start, const char **nodes, size_t *lens, size_t max)
{
    const uint32_t *ent = c->ent;
    const char *const *names = c->lookup_names;
    const size_t n = c->npoints;
    uint32_t o = hr_entry_owner(&c->index, ent[start]);
    nodes[0] = names[o];
    if (lens != NULL)
        lens[0] = c->nodes[o].len;
    size_t found = 1, i = start;
    while (found < max) {
        if (++i == n)
            i = 0;
        if (i == start)
            break;
        o = hr_entry_owner(&c->index, ent[i]);
        const char *name = names[o];
        size_t k = found;
        while (k > 0 && nodes[k - 1] != name)
            k--;
        if (k == 0) {
            nodes[found] = name;
            if (lens != NULL)
                lens[found] = c->nodes[o].len;
            found++;
        }
    }
    return found;
}

/* The walks that are not the common one: kept out of hr_get_nodes so that
 * its fast path stays small. */
static __attribute__((noinline)) int64_t hr_walk_other(const hr_continuum *c, size_t start,
                                                       const char **nodes, size_t *lens,
                                                       size_t max)
{
    size_t ntied = c->dialect->report_winner ? c->ntied : 0;
    unsigned char *seen = NULL;
    if (max == 0)
        return 0;
    if (max > 64) {
        seen = calloc((c->nnodes + 7) / 8, 1);
        if (seen == NULL)
            return HASH_RING_ENOMEM;
    }
    size_t found = hr_walk(c, start, nodes, lens, max, ntied, seen);
    free(seen);
    return (int64_t)found;
}

/* See hash_ring_get_nodes: the count, or a negative status. */
static int64_t hr_get_nodes(const hr_continuum *c, uint32_t pos, const char **nodes,
                            size_t *lens, size_t max)
{
    if (c->npoints == 0)
        return HASH_RING_EEMPTY;
    if (max > c->nnodes)
        max = c->nnodes;
    size_t start = hr_continuum_first_point(c, pos);
    /* the common case: 1 to 64 nodes wanted, no shared point to skip */
    if (max - 1 < 64 && !(c->ntied != 0 && c->dialect->report_winner))
        return (int64_t)(lens != NULL ? hr_walk_small(c, start, nodes, lens, max)
                                      : hr_walk_small(c, start, nodes, NULL, max));
    return hr_walk_other(c, start, nodes, lens, max);
}

/* The status of a get_nodes call whose walk gave n. */
static int hr_nodes_done(int64_t n, size_t *count)
{
    if (n < 0)
        return (int)n;
    *count = (size_t)n;
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
    int64_t pos = hr_dialect_position(ring->dialect, key ? key : "", key_len);
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
    int64_t pos = hr_dialect_position(ring->dialect, key ? key : "", key_len);
    if (pos < 0)
        return (int)pos;
    uintptr_t token;
    const hr_continuum *c = hr_ring_enter(ring, &token);
    int64_t n = hr_get_nodes(c, (uint32_t)pos, nodes, node_lens, max);
    hr_ring_leave(ring, token);
    return hr_nodes_done(n, count);
}

int hash_ring_snapshot_get_node(const hash_ring_snapshot_t *snap, const void *key,
                                size_t key_len, const char **node, size_t *node_len)
{
    if (snap == NULL || node == NULL || !hr_key_ok(key, key_len))
        return HASH_RING_EINVAL;
    int64_t pos = hr_dialect_position(snap->dialect, key ? key : "", key_len);
    return pos < 0 ? (int)pos : hr_get_node(snap, (uint32_t)pos, node, node_len);
}

int hash_ring_snapshot_get_nodes(const hash_ring_snapshot_t *snap, const void *key,
                                 size_t key_len, const char **nodes, size_t *node_lens,
                                 size_t max, size_t *count)
{
    if (snap == NULL || count == NULL || (nodes == NULL && max > 0) || !hr_key_ok(key, key_len))
        return HASH_RING_EINVAL;
    int64_t pos = hr_dialect_position(snap->dialect, key ? key : "", key_len);
    return pos < 0 ? (int)pos
                   : hr_nodes_done(hr_get_nodes(snap, (uint32_t)pos, nodes, node_lens, max), count);
}

/* ---- Batches -------------------------------------------------------- */

/* Keys hashed per group.  A group's bucket reads are requested as soon as
 * it is hashed, the entry lines its searches will read once the next group
 * is hashed, and it is resolved once the group after that is hashed: on a
 * ring bigger than the caches the misses of a group overlap with the
 * hashing of the next ones instead of queueing one after another.  The
 * size was chosen with the bench. */
#define HR_BATCH_GROUP 8
/* Batches up to this many keys keep their positions on the stack. */
#define HR_BATCH_STACK 256

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

/* Requests the bucket entries the targets of pos[0..n) read. */
static void hr_prefetch_buckets(const hr_continuum *c, const uint32_t *pos, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t t = hr_target(c, pos[i]);
        if (t <= UINT32_MAX)
            __builtin_prefetch(&c->index.buckets[t >> c->index.shift]);
    }
}

/* Requests the entry lines the searches of pos[0..n) will read. */
static void hr_prefetch_entries(const hr_continuum *c, const uint32_t *pos, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hr_index_prefetch(&c->index, c->ent, hr_target(c, pos[i]));
}

/* Replaces the positions pos[0..n) by their owners' indexes: the searches
 * request no lines, hr_prefetch_entries has. */
static void hr_resolve(const hr_continuum *c, uint32_t *pos, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = hr_index_search(&c->index, c->ent, c->npoints, hr_target(c, pos[i]), 0);
        pos[i] = hr_continuum_owner(c, k == c->npoints ? 0 : k);
    }
}

/* The batch lookups' one path: the owner of every key, all from continuum
 * c, into nodes/node_lens or indices.  Every key is hashed and resolved
 * into a scratch array before any output is written, so a failed hash
 * leaves the outputs untouched; calls longer than HR_BATCH_STACK keys
 * allocate it. */
static int hr_batch(const hr_continuum *c, const void *const *keys, const size_t *lens,
                    size_t count, const char **nodes, size_t *node_lens, size_t *indices)
{
    if (count == 0)
        return HASH_RING_OK;
    if (c->npoints == 0)
        return HASH_RING_EEMPTY;
    uint32_t small[HR_BATCH_STACK];
    uint32_t *pos = small;
    if (count > HR_BATCH_STACK) {
        pos = hr_alloc_array(count, sizeof *pos);
        if (pos == NULL)
            return HASH_RING_ENOMEM;
    }
    const size_t G = HR_BATCH_GROUP;
    size_t groups = (count + G - 1) / G;
    /* group g is hashed at step g, its entries requested at step g + 1,
     * and it is resolved at step g + 2 */
    for (size_t step = 0; step < groups + 2; step++) {
        if (step < groups) {
            size_t at = step * G, n = count - at < G ? count - at : G;
            for (size_t i = at; i < at + n; i++) {
                int64_t p = hr_dialect_position(c->dialect, lens[i] ? keys[i] : "", lens[i]);
                if (p < 0) {
                    if (pos != small)
                        free(pos);
                    return (int)p;
                }
                pos[i] = (uint32_t)p;
            }
            hr_prefetch_buckets(c, pos + at, n);
        }
        if (step >= 1 && step - 1 < groups) {
            size_t at = (step - 1) * G, n = count - at < G ? count - at : G;
            hr_prefetch_entries(c, pos + at, n);
        }
        if (step >= 2) {
            size_t at = (step - 2) * G, n = count - at < G ? count - at : G;
            hr_resolve(c, pos + at, n);
        }
    }
    for (size_t i = 0; i < count; i++) {
        uint32_t o = pos[i];
        if (indices != NULL) {
            indices[i] = o;
            continue;
        }
        nodes[i] = c->lookup_names[o];
        if (node_lens != NULL)
            node_lens[i] = c->nodes[o].len;
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
