/* lookup.c - the public key lookups, on a ring and on a snapshot.
 *
 * Data flows one way: key -> MD5 -> position -> first point -> owner ->
 * name.  The key is hashed before the reader section so that the section
 * covers only the search. */
#include "continuum.h"
#include "digest.h"
#include "hash_ring.h"
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
        uint32_t o = hr_continuum_walk_owner(c, i);
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
    int rc = hr_get_nodes(c, (uint32_t)pos, nodes, node_lens, max, count);
    hr_ring_leave(ring, token);
    return rc;
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
    return pos < 0 ? (int)pos : hr_get_nodes(snap, (uint32_t)pos, nodes, node_lens, max, count);
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
