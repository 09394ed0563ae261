/* continuum.h - an immutable continuum: one published membership (internal).
 *
 * struct hash_ring_snapshot is the continuum itself: a snapshot is just a
 * counted reference to it.  build.h makes them. */
#ifndef HR_CONTINUUM_H
#define HR_CONTINUUM_H

#include "dialect.h"
#include "names.h"
#include "search.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hr_node {
    hr_name *name;
    size_t len;      /* name->len, read by lookups that ask for the length */
    uint32_t weight; /* as set by the user */
    uint32_t hashes; /* digests taken: points = hashes * per_digest */
    uint64_t share;  /* key positions owned, of 2^32 */
} hr_node;

struct hash_ring_snapshot {
    atomic_size_t refs;
    const hr_dialect *dialect;
    hr_names *names; /* keeps every name below alive */
    size_t nnodes;
    hr_node *nodes;  /* membership order */
    const char **lookup_names; /* nodes[i].name->bytes: 8 bytes a node, so the
                                  table a lookup ends in stays in cache on
                                  large rings (hr_node is 32) */
    size_t npoints;
    uint32_t *ent;   /* packed points (see search.h): ascending positions, at
                        equal positions the winner first; each with the index
                        into nodes of the node that produced it */
    hr_index index;
    size_t ntied;
    uint32_t *tied;  /* ascending: every entry whose position equals the one
                        before it (a shared point's losers), resolved when
                        the continuum is built so lookups never look back */
};

typedef struct hash_ring_snapshot hr_continuum;

/* A continuum of nnodes nodes and no points yet (c->ent NULL); takes a
 * reference on names.  NULL on allocation failure. */
hr_continuum *hr_continuum_alloc(const hr_dialect *d, hr_names *names, size_t nnodes);
void hr_continuum_free(hr_continuum *c);
void hr_continuum_ref(hr_continuum *c);
void hr_continuum_unref(hr_continuum *c);

/* An empty continuum.  NULL on allocation failure. */
hr_continuum *hr_continuum_empty(const hr_dialect *d, hr_names *names);

/* Allocates the entries for `points` points.  HASH_RING_OK or
 * HASH_RING_ENOMEM. */
int hr_continuum_alloc_points(hr_continuum *c, uint64_t points);

/* The tie order, in one place: puts the n entries x[0..n) of one shared
 * position (owner = x >> shift) in the dialect's order, the winner first.
 * The tie rules are total orders, so the result does not depend on the
 * order the entries came in. */
void hr_continuum_order_run(const hr_continuum *c, uint32_t *x, size_t n, unsigned shift);

/* Point i's position, and the index of the node that produced it. */
static inline uint32_t hr_continuum_point(const hr_continuum *c, size_t i)
{
    return hr_index_point(&c->index, c->ent, i);
}

static inline uint32_t hr_continuum_owner(const hr_continuum *c, size_t i)
{
    return hr_entry_owner(&c->index, c->ent[i]);
}

/* Dialects with pred_owner (Dalli): gives every entry the owner of the
 * entry before it (the first the last's), so that the first point > a
 * position answers with the last point <= it.  After sorting, before
 * shares (src/points.c). */
void hr_continuum_pred_owners(hr_continuum *c);

/* The first k with tied[k] >= i. */
size_t hr_continuum_tied_from(const hr_continuum *c, size_t i);

/* The owner reported for point i: the run's winner in report_winner dialects. */
uint32_t hr_continuum_point_owner(const hr_continuum *c, size_t i);

/* Index of the first point a lookup at `pos` reaches (npoints > 0): the
 * first of its run of equal positions. */
static inline size_t hr_continuum_first_point(const hr_continuum *c, uint32_t pos)
{
    uint64_t target = (uint64_t)pos + c->dialect->strict;
    size_t i = hr_index_lower_bound(&c->index, c->ent, c->npoints, target);
    return i == c->npoints ? 0 : i;
}

/* The node index a lookup at ring position `pos` returns (npoints > 0). */
static inline uint32_t hr_continuum_owner_at(const hr_continuum *c, uint32_t pos)
{
    return hr_continuum_owner(c, hr_continuum_first_point(c, pos));
}

#endif
