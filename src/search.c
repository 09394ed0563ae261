/* search.c - packed continuum entries and their prefix index; see search.h. */
#include "search.h"

#include "hash_ring.h"
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HR_POINTS_PER_BUCKET 8
/* Above 2^12 buckets the table no longer stays in the caches while a large
 * ring's entries stream through them: coarser buckets plus the in-bucket
 * guess of hr_index_lower_bound measured faster on 10,000 nodes (the
 * bench: 408 -> ~210 ns a lookup) and no slower on small rings. */
#define HR_TABLE_BITS 12

unsigned hr_index_shift_for(size_t n, size_t nnodes)
{
    unsigned bits = 0;
    while (bits < HR_TABLE_BITS && ((size_t)HR_POINTS_PER_BUCKET << (bits + 1)) <= n)
        bits++;
    /* every owner index < nnodes must fit in `bits` bits */
    while (bits < HR_MAX_OWNER_BITS && nnodes > ((size_t)1 << bits))
        bits++;
    return 32 - bits;
}

uint32_t *hr_index_alloc_entries(size_t n)
{
    if (n > SIZE_MAX / sizeof(uint32_t) - HR_ENT_PAD)
        return NULL;
    uint32_t *e = hr_alloc_array(n + HR_ENT_PAD, sizeof *e);
    if (e != NULL)
        memset(e + n, 0, HR_ENT_PAD * sizeof *e);
    return e;
}

static size_t hr_nbuckets(const hr_index *ix)
{
    return (size_t)1 << (32 - ix->shift);
}

int hr_index_encode(hr_index *ix, unsigned shift, const uint32_t *pts, const uint32_t *own,
                    size_t n, uint32_t *ent)
{
    ix->shift = shift;
    size_t nb = hr_nbuckets(ix);
    uint32_t *b = hr_alloc_array(nb + 1, sizeof *b);
    if (b == NULL)
        return HASH_RING_ENOMEM;
    /* buckets[k] = first i with pts[i] >= k << shift: one pass over both */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t top = (size_t)((uint64_t)pts[i] >> shift);
        while (k <= top)
            b[k++] = (uint32_t)i;
        ent[i] = hr_entry(ix, pts[i], own[i]);
    }
    while (k <= nb)
        b[k++] = (uint32_t)n;
    ix->buckets = b;
    return HASH_RING_OK;
}

int hr_index_update(hr_index *ix, const hr_index *old, size_t n, const uint32_t *ins,
                    size_t nins, const uint32_t *del, size_t ndel)
{
    ix->shift = old->shift;
    size_t nb = hr_nbuckets(ix);
    uint32_t *b = hr_alloc_array(nb + 1, sizeof *b);
    if (b == NULL)
        return HASH_RING_ENOMEM;
    /* new[k] = old[k] + insertions below k's start - deletions below it:
     * a constant offset between consecutive changes */
    size_t a = 0, r = 0, k = 0;
    int64_t delta = 0;
    for (;;) {
        uint64_t p = (uint64_t)1 << 32;
        int sign = 0;
        if (a < nins && ins[a] < p) {
            p = ins[a];
            sign = 1;
        }
        if (r < ndel && del[r] < p) {
            p = del[r];
            sign = -1;
        }
        size_t end = sign == 0 ? nb : (size_t)(p >> old->shift) + 1;
        for (; k < end; k++)
            b[k] = (uint32_t)((int64_t)old->buckets[k] + delta);
        if (sign == 0)
            break;
        delta += sign;
        if (sign > 0)
            a++;
        else
            r++;
    }
    b[nb] = (uint32_t)n;
    ix->buckets = b;
    return HASH_RING_OK;
}

void hr_index_free(hr_index *ix)
{
    free(ix->buckets);
    ix->buckets = NULL;
}

#ifdef HASH_RING_TEST_HOOKS
size_t hr_index_bytes(const hr_index *ix)
{
    return ix->buckets ? (hr_nbuckets(ix) + 1) * sizeof(uint32_t) : 0;
}
#endif

uint32_t hr_index_point(const hr_index *ix, const uint32_t *ent, size_t i)
{
    /* the last bucket k with buckets[k] <= i holds entry i.  Points are
     * spread evenly, so i's share of the entries names a bucket a few
     * steps away (about the square root of the buckets' fill); walk from
     * there, or halve when the walk is long (crowded rings) */
    size_t nb = hr_nbuckets(ix), n = ix->buckets[nb];
    size_t lo = 0, hi = nb;
    if (i < n) {
        size_t g = (size_t)(((uint64_t)i * nb) / n);
        for (int step = 0; step < 16; step++) {
            if (ix->buckets[g] > i)
                g--;
            else if (ix->buckets[g + 1] <= i)
                g++;
            else
                return (uint32_t)((uint64_t)g << ix->shift) | (ent[i] & hr_low_mask(ix));
        }
    }
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->buckets[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return (uint32_t)((uint64_t)lo << ix->shift) | (ent[i] & hr_low_mask(ix));
}

void hr_index_decode(const hr_index *ix, const uint32_t *ent, size_t n, uint32_t *pts)
{
    size_t nb = hr_nbuckets(ix), k = 0;
    uint32_t mask = hr_low_mask(ix);
    for (size_t i = 0; i < n; i++) {
        while (k + 1 < nb && ix->buckets[k + 1] <= i)
            k++;
        pts[i] = (uint32_t)((uint64_t)k << ix->shift) | (ent[i] & mask);
    }
}
