/* delta.h - what a membership change adds to and takes from a continuum
 * (internal; used by merge.c). */
#ifndef HR_DELTA_H
#define HR_DELTA_H

#include "build.h"

#include <stddef.h>
#include <stdint.h>

/* Sorted (position, owner) pairs to insert or delete. */
typedef struct hr_delta {
    size_t n;
    uint32_t *pts;
    uint32_t *own; /* new owner index for insertions, old for deletions */
    size_t *at;    /* position in the old arrays */
} hr_delta;

/* The continuum merged from: the old one, or a repacking of it when the
 * new one needs another shift (the point count or node count crossed a
 * power of two).  Owners are old node indexes. */
typedef struct hr_src {
    size_t n;
    const uint32_t *ent;
    hr_index ix;
    uint32_t *own_ent; /* repacked entries, owned, or NULL */
} hr_src;

static inline uint32_t hr_src_owner(const hr_src *s, size_t i)
{
    return hr_entry_owner(&s->ix, s->ent[i]);
}

/* Is entry q (the lower bound of p, or after it in p's bucket) at p? */
static inline int hr_src_at(const hr_src *s, size_t q, uint32_t p)
{
    size_t end = s->ix.buckets[((uint64_t)p >> s->ix.shift) + 1];
    uint32_t mask = hr_low_mask(&s->ix);
    return q < end && (s->ent[q] & mask) == (p & mask);
}

/* Appends node `who`'s points of digests [from, to) of name nm to e (as
 * position << 32 | who), advancing *k; scratch holds (to - from) digests. */
int hr_delta_gen(const hr_dialect *d, const hr_name *nm, uint32_t who, uint32_t from,
                 uint32_t to, uint64_t *e, size_t *k, uint32_t *scratch);

/* Sorts the dl->n pairs in e into dl (by position, then owner).
 * HASH_RING_OK or HASH_RING_ENOMEM. */
int hr_delta_sort(uint64_t *e, hr_delta *dl);

/* Opens a view of old packed with `shift` (repacking it if needed). */
int hr_src_open(hr_src *s, const hr_continuum *old, unsigned shift);
void hr_src_close(hr_src *s);

/* Sets del->at to each deletion's entry in src; 0 if one is missing. */
int hr_locate_deletions(const hr_src *src, hr_delta *del);

/* Sets ins->at to where each insertion goes in src: before the old entries
 * at its position.  The positions an insertion shares with an old entry or
 * another insertion go to tie_pts (ascending, distinct; *ntie of them), and
 * *nshared counts the insertions at them. */
void hr_locate_insertions(const hr_src *src, hr_delta *ins, uint32_t *tie_pts, size_t *ntie,
                          size_t *nshared);

#endif
