/* search.h - the lookup structure over a sorted point array (internal). */
#ifndef HR_SEARCH_H
#define HR_SEARCH_H

#include <stddef.h>
#include <stdint.h>

/* A prefix index: bucket b holds the first point index whose top `bits`
 * bits are >= b, so a search touches one bucket pair and then a handful of
 * neighbouring points instead of ~log2(P) scattered ones. */
typedef struct hr_index {
    unsigned shift;     /* 32 - bits */
    uint32_t *buckets;  /* (1 << bits) + 1 entries; NULL when there are no points */
} hr_index;

/* Builds the index over pts[0..n).  HASH_RING_OK or HASH_RING_ENOMEM. */
int hr_index_build(hr_index *ix, const uint32_t *pts, size_t n);
void hr_index_free(hr_index *ix);

/* Derives the index of a continuum of n points from old, the index of the
 * continuum it was made from by inserting ins[0..nins) and deleting
 * del[0..ndel) (both ascending): O(buckets + changes) instead of O(n).
 * Returns HASH_RING_OK, HASH_RING_ENOMEM, or HASH_RING_ENOTFOUND when the
 * bucket count would differ (then build from scratch). */
int hr_index_update(hr_index *ix, const hr_index *old, size_t n, const uint32_t *ins,
                    size_t nins, const uint32_t *del, size_t ndel);

/* Bytes the index occupies. */
size_t hr_index_bytes(const hr_index *ix);

/* The first i with pts[i] >= target (target may be 2^32, meaning none), or n. */
size_t hr_index_lower_bound(const hr_index *ix, const uint32_t *pts, size_t n, uint64_t target);

#endif
