/* delta.c - the digests a membership change adds or takes away, and
 * where they sit in the current continuum (see merge.c for the whole). */
#include "delta.h"

#include "digest.h"
#include "hash_ring.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>
static int hr_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Appends node `who`'s points of digests [from, to) of name nm to e. */
int hr_delta_gen(const hr_dialect *d, const hr_name *nm, uint32_t who, uint32_t from,
                 uint32_t to, uint64_t *e, size_t *k, uint32_t *scratch)
{
    int rc = hr_dialect_points(d, nm->hkey, nm->hlen, from, to, scratch);
    for (size_t j = 0; rc == HASH_RING_OK && j < (size_t)(to - from) * d->per_digest; j++)
        e[(*k)++] = (uint64_t)scratch[j] << 32 | who;
    return rc;
}

/* Sorts the pairs in e into dl (position order; ties per `tie`, if given). */
int hr_delta_sort(const hr_continuum *tie, uint64_t *e, hr_delta *dl)
{
    qsort(e, dl->n, sizeof *e, hr_cmp_u64);
    dl->pts = hr_alloc_array(dl->n, sizeof *dl->pts);
    dl->own = hr_alloc_array(dl->n, sizeof *dl->own);
    dl->at = hr_alloc_array(dl->n, sizeof *dl->at);
    if (dl->pts == NULL || dl->own == NULL || dl->at == NULL)
        return HASH_RING_ENOMEM;
    for (size_t i = 0; i < dl->n; i++) {
        dl->pts[i] = (uint32_t)(e[i] >> 32);
        dl->own[i] = (uint32_t)e[i];
    }
    if (tie != NULL)
        hr_continuum_fix_ties(tie, dl->pts, dl->own, dl->n);
    return HASH_RING_OK;
}

int hr_src_open(hr_src *s, const hr_continuum *old, unsigned shift)
{
    s->n = old->npoints;
    s->own_ent = NULL;
    if (old->index.shift == shift) {
        s->ent = old->ent;
        s->ix = old->index;
        return HASH_RING_OK;
    }
    uint32_t *pts = hr_alloc_array(s->n, sizeof *pts);
    uint32_t *own = hr_alloc_array(s->n, sizeof *own);
    s->own_ent = hr_index_alloc_entries(s->n);
    int rc = (pts && own && s->own_ent) ? HASH_RING_OK : HASH_RING_ENOMEM;
    s->ix.buckets = NULL;
    if (rc == HASH_RING_OK) {
        hr_index_decode(&old->index, old->ent, s->n, pts);
        for (size_t i = 0; i < s->n; i++)
            own[i] = hr_entry_owner(&old->index, old->ent[i]);
        rc = hr_index_encode(&s->ix, shift, pts, own, s->n, s->own_ent);
        s->ent = s->own_ent;
    }
    free(pts);
    free(own);
    return rc;
}

void hr_src_close(hr_src *s)
{
    if (s->own_ent != NULL) {
        free(s->own_ent);
        hr_index_free(&s->ix);
    }
}

/* Finds each deletion's entry in old: same position, same (old) owner; a
 * pair listed twice (a node hitting one position twice) takes two entries.
 * Returns 0 if some deletion has no entry (never expected). */
int hr_locate_deletions(const hr_src *src, hr_delta *del)
{
    for (size_t i = 0; i < del->n; i++) {
        uint32_t p = del->pts[i];
        size_t q = hr_index_lower_bound(&src->ix, src->ent, src->n, p);
        if (i > 0 && p == del->pts[i - 1] && del->own[i] == del->own[i - 1])
            q = del->at[i - 1] + 1;
        while (hr_src_at(src, q, p) && hr_src_owner(src, q) != del->own[i])
            q++;
        if (!hr_src_at(src, q, p))
            return 0;
        del->at[i] = q;
    }
    /* positions ascend already (sorted by position, then owner); equal
     * positions with different owners may come out of order: sort. */
    for (size_t i = 1; i < del->n; i++) {
        size_t v = del->at[i], k = i;
        while (k > 0 && del->at[k - 1] > v) {
            del->at[k] = del->at[k - 1];
            k--;
        }
        del->at[k] = v;
    }
    return 1;
}

/* Each insertion goes before old entry at[i]: after every old entry with a
 * smaller position and after the equal-position entries that win over it. */
void hr_locate_insertions(const hr_continuum *c, const hr_src *src, const uint32_t *map,
                          hr_delta *ins)
{
    for (size_t i = 0; i < ins->n; i++) {
        uint32_t p = ins->pts[i];
        size_t q = hr_index_lower_bound(&src->ix, src->ent, src->n, p);
        while (hr_src_at(src, q, p) && (map[hr_src_owner(src, q)] == HR_NOT_MEMBER ||
                                        hr_continuum_before(c, map[hr_src_owner(src, q)],
                                                            ins->own[i])))
            q++;
        ins->at[i] = q;
    }
}
