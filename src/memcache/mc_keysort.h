/* mc_keysort.h - the multi-get's duplicate keys, found by sorting.
 *
 * Keys come from callers who may take them from untrusted input.  A hash
 * table is linear on average but quadratic when the keys are chosen to
 * collide, unless its hash is secret; a stable merge sort of the key
 * indices by (length, bytes) makes at most n * ceil(log2 n) key comparisons
 * whatever the keys are, and a lookup in the sorted order at most
 * ceil(log2 n) + 2.  No secret, no worst case to find.
 *
 * HR_MC_KEYSORT_COUNT() is called once per key comparison; it does nothing
 * unless a test defines it before including this header. */
#ifndef HR_MC_KEYSORT_H
#define HR_MC_KEYSORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef HR_MC_KEYSORT_COUNT
#define HR_MC_KEYSORT_COUNT() ((void)0)
#endif

/* Orders keys by length, then bytes: the length test settles most pairs. */
static inline int hr_mc_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    HR_MC_KEYSORT_COUNT();
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

/* Fills order[0..n) with the key indices 0..n-1 sorted by key, equal keys
 * in index order (the sort is stable).  tmp: n entries of scratch. */
static inline void hr_mc_keysort(const void *const *keys, const size_t *lens, size_t n,
                                 size_t *order, size_t *tmp)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    size_t *src = order, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = n - lo > w ? lo + w : n;
            size_t hi = n - mid > w ? mid + w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                /* the right run's key goes first only when strictly
                 * smaller: stability */
                if (hr_mc_key_cmp(keys[src[j]], lens[src[j]], keys[src[i]], lens[src[i]]) < 0)
                    dst[k++] = src[j++];
                else
                    dst[k++] = src[i++];
            }
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        size_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != order)
        memcpy(order, src, n * sizeof *order);
}

/* The smallest index of a key equal to (key, len) in the sorted order, or
 * SIZE_MAX when there is none. */
static inline size_t hr_mc_keysort_find(const void *const *keys, const size_t *lens,
                                        const size_t *order, size_t n, const void *key,
                                        size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first position whose key is not below (key, len) */
        size_t mid = lo + (hi - lo) / 2;
        if (hr_mc_key_cmp(keys[order[mid]], lens[order[mid]], key, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && hr_mc_key_cmp(keys[order[lo]], lens[order[lo]], key, len) == 0)
        return order[lo];
    return SIZE_MAX;
}

#endif
