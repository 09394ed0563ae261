/* continuum.h - an immutable continuum: one published membership (internal).
 *
 * struct hash_ring_snapshot is the continuum itself: a snapshot is just a
 * counted reference to it. */
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
};

typedef struct hash_ring_snapshot hr_continuum;

/* A member of a membership being built: name and weight. */
typedef struct hr_member {
    hr_name *name;
    uint32_t weight;
} hr_member;

/* An empty continuum.  NULL on allocation failure. */
hr_continuum *hr_continuum_empty(const hr_dialect *d, hr_names *names);

/* Builds the continuum of `members` (membership order).  `old` is the
 * continuum currently published, whose members' name->member fields hold
 * their index in it; points of unchanged nodes are taken from `old` and
 * merged rather than re-hashed when that is cheaper.  `old` is unchanged.
 * HASH_RING_OK, HASH_RING_ENOMEM or HASH_RING_ECRYPTO. */
int hr_continuum_build(const hr_continuum *old, const hr_member *members, size_t n,
                       hr_continuum **out);

/* Forces a from-scratch build (the reference the merge path is tested against). */
int hr_continuum_build_full(const hr_dialect *d, hr_names *names, const hr_member *members,
                            size_t n, hr_continuum **out);

void hr_continuum_ref(hr_continuum *c);
void hr_continuum_unref(hr_continuum *c);

/* ---- Shared by the two builders (continuum.c, merge.c) ---- */

/* A continuum of n nodes with no points yet; takes a reference on names. */
hr_continuum *hr_continuum_alloc(const hr_dialect *d, hr_names *names, size_t nnodes);
void hr_continuum_free(hr_continuum *c);
/* Fills c->nodes from members (hash counts per the dialect); returns the
 * number of points they produce. */
uint64_t hr_continuum_plan(hr_continuum *c, const hr_member *m, size_t n);
/* Allocates the entries for `points` points. */
int hr_continuum_alloc_points(hr_continuum *c, uint64_t points);
/* Generates, sorts and packs every point of c->nodes, with shares and
 * index (the from-scratch path). */
int hr_continuum_fill(hr_continuum *c);
/* Nonzero when node a wins a shared position against node b. */
int hr_continuum_before(const hr_continuum *c, uint32_t a, uint32_t b);
/* Puts each run of equal positions of (pts, own) in tie order. */
void hr_continuum_fix_ties(const hr_continuum *c, uint32_t *pts, uint32_t *own, size_t n);

/* Counters of merge.c: merges done, and merges that fell back to a full
 * build (never expected; tests assert it stays 0). */
void hr_merge_counts(unsigned long *merges, unsigned long *fallbacks);


/* Dialects with pred_owner (Dalli): gives every entry the owner of the
 * entry before it (the first the last's), so that the first point > a
 * position answers with the last point <= it.  After sorting, before
 * shares. */
void hr_continuum_pred_owners(hr_continuum *c);

/* The owner reported for point i: the run's winner in report_winner dialects. */
uint32_t hr_continuum_point_owner(const hr_continuum *c, size_t i);

/* Point i's position, and the index of the node that produced it. */
static inline uint32_t hr_continuum_point(const hr_continuum *c, size_t i)
{
    return hr_index_point(&c->index, c->ent, i);
}

static inline uint32_t hr_continuum_owner(const hr_continuum *c, size_t i)
{
    return hr_entry_owner(&c->index, c->ent[i]);
}

/* Index of the first point a lookup at `pos` reaches (npoints > 0). */
static inline size_t hr_continuum_first_point(const hr_continuum *c, uint32_t pos)
{
    uint64_t target = (uint64_t)pos + c->dialect->strict;
    size_t i = hr_index_lower_bound(&c->index, c->ent, c->npoints, target);
    return i == c->npoints ? 0 : i;
}

/* The owner a walk from a lookup meets at entry i (hash_ring_get_nodes):
 * the stored owner in pred_owner dialects, else the point's owner. */
static inline uint32_t hr_continuum_walk_owner(const hr_continuum *c, size_t i)
{
    return c->dialect->pred_owner ? hr_continuum_owner(c, i) : hr_continuum_point_owner(c, i);
}

/* The node index a lookup at ring position `pos` returns (npoints > 0). */
static inline uint32_t hr_continuum_owner_at(const hr_continuum *c, uint32_t pos)
{
    return hr_continuum_owner(c, hr_continuum_first_point(c, pos));
}


#endif
