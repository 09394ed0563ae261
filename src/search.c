/* search.c - prefix-indexed search of the continuum.
 *
 * A plain binary search over a 100,000-node continuum (12-16 million
 * points) costs about twenty cache misses.  Here the top `bits` bits of the
 * target select a bucket (one miss in the bucket table); the bucket's points
 * are contiguous and few (about 8 on average), so the rest is one or two
 * cache lines of the point array.  The table costs 4 bytes per 8 points. */
#include "search.h"

#include "hash_ring.h"
#include "mem.h"

#include <stdlib.h>

#define HR_POINTS_PER_BUCKET 8
#define HR_MAX_BITS 24

static unsigned hr_index_bits(size_t n)
{
    unsigned bits = 0;
    while (bits < HR_MAX_BITS && ((size_t)HR_POINTS_PER_BUCKET << (bits + 1)) <= n)
        bits++;
    return bits;
}

int hr_index_update(hr_index *ix, const hr_index *old, size_t n, const uint32_t *ins,
                    size_t nins, const uint32_t *del, size_t ndel)
{
    unsigned bits = hr_index_bits(n);
    if (old->buckets == NULL || 32 - bits != old->shift)
        return HASH_RING_ENOTFOUND;
    size_t nb = (size_t)1 << bits;
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
    ix->shift = old->shift;
    ix->buckets = b;
    return HASH_RING_OK;
}

int hr_index_build(hr_index *ix, const uint32_t *pts, size_t n)
{
    unsigned bits = hr_index_bits(n);
    size_t nb = (size_t)1 << bits;
    uint32_t *b = hr_alloc_array(nb + 1, sizeof *b);
    if (b == NULL)
        return HASH_RING_ENOMEM;
    unsigned shift = 32 - bits;
    /* buckets[k] = first i with pts[i] >= k << shift: one pass over both */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t top = (size_t)((uint64_t)pts[i] >> shift);
        while (k <= top)
            b[k++] = (uint32_t)i;
    }
    while (k <= nb)
        b[k++] = (uint32_t)n;
    ix->shift = shift;
    ix->buckets = b;
    return HASH_RING_OK;
}

void hr_index_free(hr_index *ix)
{
    free(ix->buckets);
    ix->buckets = NULL;
}

size_t hr_index_bytes(const hr_index *ix)
{
    return ix->buckets ? (((size_t)1 << (32 - ix->shift)) + 1) * sizeof(uint32_t) : 0;
}

size_t hr_index_lower_bound(const hr_index *ix, const uint32_t *pts, size_t n, uint64_t target)
{
    if (target > UINT32_MAX || n == 0)
        return n;
    size_t b = (size_t)(target >> ix->shift);
    size_t lo = ix->buckets[b], hi = ix->buckets[b + 1];
    uint32_t t = (uint32_t)target;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pts[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
