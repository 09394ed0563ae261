/* build.h - the continuum builder (internal): the one way a continuum is
 * made, from the previous one and the new membership. */
#ifndef HR_BUILD_H
#define HR_BUILD_H

#include "continuum.h"

#include <stddef.h>
#include <stdint.h>

/* A member of a membership being built: name and weight. */
typedef struct hr_member {
    hr_name *name;
    uint32_t weight;
} hr_member;

/* Builds the continuum of members[0..n) (membership order; names
 * distinct, interned in `names`) in dialect d.  `old`, if not NULL, is
 * any continuum of the same dialect and names (the one published, in
 * practice): points of the nodes the two share are taken from it and
 * merged rather than re-hashed when that is cheaper, with the same result
 * as a build from scratch.  old is unchanged.
 * HASH_RING_OK, HASH_RING_ENOMEM or HASH_RING_ECRYPTO. */
int hr_build(const hr_continuum *old, const hr_dialect *d, hr_names *names,
             const hr_member *members, size_t n, hr_continuum **out);

/* ---- Between build.c and merge.c ---- */

/* How the new membership relates to the old continuum. */
typedef struct hr_plan {
    const hr_member *m;
    uint32_t *was;    /* per new member: its index in old, or HR_NOT_MEMBER */
    uint32_t *map;    /* per old node: its index in the new membership, or HR_NOT_MEMBER */
    int identity;     /* every old node keeps its index */
    uint64_t nins, ndel; /* points the change inserts and deletes */
    uint32_t maxd;    /* most digests of one node changing */
} hr_plan;

/* Fills planned c by merging old with the change p.  If the merge finds
 * the two inconsistent (never expected) it clears *merged and leaves c's
 * points for a build from scratch.  HASH_RING_OK, HASH_RING_ENOMEM or
 * HASH_RING_ECRYPTO. */
int hr_merge(hr_continuum *c, const hr_continuum *old, const hr_plan *p, int *merged);

#ifdef HASH_RING_TEST_HOOKS
/* Test builds only: a from-scratch build (the reference the merge is
 * checked against), and the merges done and those that fell back. */
int hr_build_full(const hr_dialect *d, hr_names *names, const hr_member *members, size_t n,
                  hr_continuum **out);
void hr_merge_counts(unsigned long *merges, unsigned long *fallbacks);
#endif

#endif
