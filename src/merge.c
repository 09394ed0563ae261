/* merge.c - building the next continuum from the current one.
 *
 * A node's first k digests do not depend on the rest of the ring, so a
 * membership change only hashes the digests whose index j lies between a
 * node's old and new hash counts: all of an added node's, all of a removed
 * node's (to find its points), and the one or two that a change of n or of
 * the total weight adds to or takes from the others.  Those digests become
 * two short sorted lists, points to insert and points to delete.  Each is
 * located in the old arrays by binary search; the new arrays are then the
 * old ones copied run by run between those positions (memcpy, plus an
 * owner-index remap when a node was removed), with the insertions placed.
 * Insertions go before the old entries at their position; afterwards each
 * run of equal positions the change may have touched (an old run, a
 * position an insertion shares) is put back in tie order.  When the change
 * touches a large part of the ring (a big batch, a weight change that moves
 * every node's count) build.c builds from scratch instead.
 */
#include "build.h"
#include "delta.h"
#include "hash_ring.h"
#include "mem.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#ifdef HASH_RING_TEST_HOOKS
/* Merges done, and merges that had to fall back to a full build (never
 * expected; the tests check it stays 0). */
static atomic_ulong hr_merge_fallbacks, hr_merges;

void hr_merge_counts(unsigned long *merges, unsigned long *fallbacks)
{
    *merges = atomic_load(&hr_merges);
    *fallbacks = atomic_load(&hr_merge_fallbacks);
}
#define HR_COUNT(counter) atomic_fetch_add_explicit(&(counter), 1, memory_order_relaxed)
#else
#define HR_COUNT(counter) ((void)0)
#endif

/* How owner indexes change: not at all (nodes added or reweighted), by
 * one below a removed node (one node removed), or through the map. */
typedef struct hr_remap {
    int kind; /* 0 identity, 1 one removed at `removed`, 2 general */
    uint32_t removed;
    const uint32_t *map;
} hr_remap;

/* Copies src[from, to) to c at k, remapping owners (same packing). */
static void hr_copy_run(hr_continuum *c, size_t k, const hr_src *s, size_t from, size_t to,
                        const hr_remap *rm)
{
    size_t n = to - from;
    const uint32_t *in = s->ent + from;
    uint32_t *out = c->ent + k;
    unsigned shift = s->ix.shift;
    if (rm->kind == 0) {
        memcpy(out, in, n * sizeof *out);
    } else if (rm->kind == 1 && shift < 32) {
        /* the removed node's entries are deleted; owners above it move down
         * (compared in 64 bits: after the last of 2^(32 - shift) owners the
         * cut is 2^32) */
        uint64_t cut = ((uint64_t)rm->removed + 1) << shift;
        uint32_t one = 1u << shift;
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] - (in[i] >= cut ? one : 0);
    } else {
        uint32_t mask = hr_low_mask(&s->ix);
        for (size_t i = 0; i < n; i++)
            out[i] = hr_entry(&s->ix, in[i] & mask, rm->map[hr_entry_owner(&s->ix, in[i])]);
    }
}

/* Old entries copied to new positions right after a change: their arcs
 * (distance to the previous entry) differ from the old ones. */
typedef struct hr_starts {
    size_t n;
    size_t *old_at, *new_at;
    size_t *ins_at; /* new position of each insertion */
} hr_starts;

/* Builds c's arrays from old plus the located deltas; returns entries
 * written and records where copied runs start after a change. */
static size_t hr_apply_deltas(hr_continuum *c, const hr_src *old, const hr_remap *rm,
                              const hr_delta *ins, const hr_delta *del, hr_starts *st)
{
    size_t i = 0, a = 0, r = 0, k = 0;
    int changed = 0; /* something was inserted or deleted just before i */
    for (;;) {
        size_t next = old->n;
        if (a < ins->n && ins->at[a] < next)
            next = ins->at[a];
        if (r < del->n && del->at[r] < next)
            next = del->at[r];
        if (k + (next - i) > c->npoints)
            return c->npoints + 1;
        if (changed && next > i) {
            st->old_at[st->n] = i;
            st->new_at[st->n++] = k;
        }
        hr_copy_run(c, k, old, i, next, rm);
        k += next - i;
        i = next;
        changed = 0;
        while (a < ins->n && ins->at[a] == i) {
            if (k == c->npoints)
                return k + 1;
            st->ins_at[a] = k;
            c->ent[k++] = hr_entry(&c->index, ins->pts[a], ins->own[a]);
            a++;
            changed = 1;
        }
        if (r < del->n && del->at[r] == i) {
            r++;
            i++;
            changed = 1;
        }
        if (i >= old->n && a == ins->n)
            break;
    }
    return k;
}

/* The arc ending at entry i: keys between the previous entry and it (the
 * first entry's arc wraps around). */
static uint64_t hr_arc(const hr_index *ix, const uint32_t *ent, size_t n, size_t i)
{
    uint32_t p = hr_index_point(ix, ent, i);
    return i == 0 ? (uint64_t)p + ((uint64_t)1 << 32) - hr_index_point(ix, ent, n - 1)
                  : (uint64_t)(p - hr_index_point(ix, ent, i - 1));
}

/* Shares of the merged continuum from the old shares: every entry whose
 * previous entry is unchanged keeps its arc, so only the entries next to a
 * change, the inserted and deleted ones, and the first entry (whose arc
 * wraps around to the last) are re-counted. */
static void hr_merge_shares(hr_continuum *c, const hr_continuum *old, const hr_src *src,
                            const uint32_t *map, const hr_delta *ins, const hr_delta *del,
                            const hr_starts *st)
{
    for (size_t o = 0; o < old->nnodes; o++)
        if (map[o] != HR_NOT_MEMBER)
            c->nodes[map[o]].share = old->nodes[o].share;
    int first_done = 0;
    /* take back the old arcs that change */
#define HR_UNCREDIT(j)                                                                           \
    do {                                                                                       \
        uint32_t o_ = map[hr_src_owner(src, (j))];                                             \
        if (o_ != HR_NOT_MEMBER)                                                               \
            c->nodes[o_].share -= hr_arc(&src->ix, src->ent, src->n, (j));                     \
    } while (0)
    for (size_t r = 0; r < del->n; r++) {
        HR_UNCREDIT(del->at[r]);
        first_done |= del->at[r] == 0;
    }
    for (size_t s = 0; s < st->n; s++) {
        HR_UNCREDIT(st->old_at[s]);
        first_done |= st->old_at[s] == 0;
    }
    if (!first_done)
        HR_UNCREDIT(0);
#undef HR_UNCREDIT
    /* and count the new ones */
    first_done = 0;
    if (c->npoints == 0)
        return;
    for (size_t a = 0; a < ins->n; a++) {
        size_t k = st->ins_at[a];
        c->nodes[hr_continuum_owner(c, k)].share += hr_arc(&c->index, c->ent, c->npoints, k);
        first_done |= k == 0;
    }
    for (size_t s = 0; s < st->n; s++) {
        size_t j = st->new_at[s];
        c->nodes[hr_continuum_owner(c, j)].share += hr_arc(&c->index, c->ent, c->npoints, j);
        first_done |= j == 0;
    }
    if (!first_done)
        c->nodes[hr_continuum_owner(c, 0)].share += hr_arc(&c->index, c->ent, c->npoints, 0);
}

/* The owner remap: identity, one node removed, or general. */
static hr_remap hr_remap_of(const hr_continuum *old, const uint32_t *map, int identity)
{
    hr_remap rm = {identity ? 0 : 2, 0, map};
    size_t removed = 0, gone = 0;
    for (size_t o = 0; !identity && o < old->nnodes; o++)
        if (map[o] == HR_NOT_MEMBER) {
            removed++;
            gone = o;
        }
    if (removed == 1) {
        rm.kind = 1;
        rm.removed = (uint32_t)gone;
        for (size_t o = 0; o < old->nnodes && rm.kind == 1; o++)
            if (o != gone && map[o] != o - (o > gone))
                rm.kind = 2;
    }
    return rm;
}

/* The end of the run of entries at entry q's position (same bucket, same
 * low bits). */
static size_t hr_run_end(const hr_continuum *c, size_t q)
{
    const hr_index *ix = &c->index;
    uint32_t mask = hr_low_mask(ix), low = c->ent[q] & mask;
    size_t end = ix->buckets[(size_t)(hr_continuum_point(c, q) >> ix->shift) + 1], r = q + 1;
    while (r < end && (c->ent[r] & mask) == low)
        r++;
    return r;
}

/* Puts back in tie order each run at the positions pts[0..n) (ascending,
 * distinct), moves the run's arc to its new winner, and lists c->tied
 * (room for `room` entries). */
static int hr_fix_runs(hr_continuum *c, const uint32_t *pts, size_t n, size_t room)
{
    if (room == 0)
        return HASH_RING_OK;
    c->tied = hr_alloc_array(room, sizeof *c->tied);
    if (c->tied == NULL)
        return HASH_RING_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        size_t q = hr_index_lower_bound(&c->index, c->ent, c->npoints, pts[k]);
        if (q == c->npoints || hr_continuum_point(c, q) != pts[k])
            continue;
        size_t end = hr_run_end(c, q);
        if (end - q < 2)
            continue;
        uint32_t was = hr_continuum_owner(c, q);
        hr_continuum_order_run(c, c->ent + q, end - q, c->index.shift);
        uint32_t now = hr_continuum_owner(c, q);
        if (now != was) {
            uint64_t arc = hr_arc(&c->index, c->ent, c->npoints, q);
            c->nodes[was].share -= arc;
            c->nodes[now].share += arc;
        }
        for (size_t r = q + 1; r < end && c->ntied < room; r++)
            c->tied[c->ntied++] = (uint32_t)r;
    }
    return HASH_RING_OK;
}

/* The positions whose runs the merge may have disordered: the old runs'
 * and those insertions share (ascending, distinct), into *out. */
static int hr_run_positions(const hr_continuum *old, const uint32_t *ins_pts, size_t nins,
                            uint32_t **out, size_t *n)
{
    *n = 0;
    *out = NULL;
    if (old->ntied + nins == 0)
        return HASH_RING_OK;
    uint32_t *v = hr_alloc_array(old->ntied + nins, sizeof *v);
    if (v == NULL)
        return HASH_RING_ENOMEM;
    size_t a = 0, b = 0, k = 0;
    while (a < old->ntied || b < nins) {
        uint32_t p;
        if (b == nins || (a < old->ntied && hr_continuum_point(old, old->tied[a]) <= ins_pts[b]))
            p = hr_continuum_point(old, old->tied[a++]);
        else
            p = ins_pts[b++];
        if (k == 0 || v[k - 1] != p)
            v[k++] = p;
    }
    *out = v;
    *n = k;
    return HASH_RING_OK;
}

/* Merges the sorted deltas into c.  On an internal inconsistency (never
 * expected) *merged is cleared and the caller builds from scratch. */
static int hr_merge_into(hr_continuum *c, const hr_continuum *old, const uint32_t *map,
                         int identity, hr_delta *ins, hr_delta *del, int *merged)
{
    hr_src src;
    hr_starts st = {0, NULL, NULL, NULL};
    uint32_t *tie_pts = NULL, *runs = NULL;
    size_t ntie = 0, ntie_ins = 0, nruns = 0;
    unsigned shift = hr_index_shift_for(c->npoints, c->nnodes);
    int rc = hr_src_open(&src, old, shift);
    if (rc == HASH_RING_OK) {
        st.old_at = hr_alloc_array(ins->n + del->n + 1, sizeof *st.old_at);
        st.new_at = hr_alloc_array(ins->n + del->n + 1, sizeof *st.new_at);
        st.ins_at = hr_alloc_array(ins->n, sizeof *st.ins_at);
        tie_pts = hr_alloc_array(ins->n, sizeof *tie_pts);
        if (!st.old_at || !st.new_at || !st.ins_at || !tie_pts)
            rc = HASH_RING_ENOMEM;
    }
    if (rc == HASH_RING_OK) {
        c->index.shift = shift;
        hr_remap rm = hr_remap_of(old, map, identity);
        if (!hr_locate_deletions(&src, del)) {
            assert(!"a deleted digest is missing from the continuum");
            *merged = 0;
        } else {
            hr_locate_insertions(&src, ins, tie_pts, &ntie, &ntie_ins);
            if (hr_apply_deltas(c, &src, &rm, ins, del, &st) != c->npoints) {
                assert(!"continuum merge disagrees with the plan");
                *merged = 0;
            }
        }
        if (!*merged)
            HR_COUNT(hr_merge_fallbacks);
    }
    if (rc == HASH_RING_OK && *merged) {
        /* derive the search index and the shares rather than recount them */
        rc = hr_index_update(&c->index, &src.ix, c->npoints, ins->pts, ins->n, del->pts,
                             del->n);
        if (rc == HASH_RING_OK)
            rc = hr_run_positions(old, tie_pts, ntie, &runs, &nruns);
        if (rc == HASH_RING_OK) {
            hr_merge_shares(c, old, &src, map, ins, del, &st);
            rc = hr_fix_runs(c, runs, nruns, old->ntied + ntie_ins);
        }
        if (rc == HASH_RING_OK)
            HR_COUNT(hr_merges);
    }
    hr_src_close(&src);
    free(st.old_at);
    free(st.new_at);
    free(st.ins_at);
    free(tie_pts);
    free(runs);
    return rc;
}

int hr_merge(hr_continuum *c, const hr_continuum *old, const hr_plan *p, int *merged)
{
    const hr_dialect *d = c->dialect;
    unsigned per = d->per_digest;
    uint32_t *scratch = hr_alloc_array((size_t)p->maxd * per, sizeof *scratch);
    uint64_t *e_ins = hr_alloc_array((size_t)p->nins, sizeof *e_ins);
    uint64_t *e_del = hr_alloc_array((size_t)p->ndel, sizeof *e_del);
    hr_delta ins = {0, NULL, NULL, NULL}, del = {0, NULL, NULL, NULL};
    int rc = scratch && e_ins && e_del ? HASH_RING_OK : HASH_RING_ENOMEM;
    for (size_t i = 0; rc == HASH_RING_OK && i < c->nnodes; i++) {
        uint32_t o = p->was[i];
        uint32_t before = o == HR_NOT_MEMBER ? 0 : old->nodes[o].hashes;
        uint32_t now = c->nodes[i].hashes;
        if (now > before)
            rc = hr_delta_gen(d, p->m[i].name, (uint32_t)i, before, now, e_ins, &ins.n,
                              scratch);
        else if (now < before)
            rc = hr_delta_gen(d, p->m[i].name, o, now, before, e_del, &del.n, scratch);
    }
    for (size_t o = 0; rc == HASH_RING_OK && o < old->nnodes; o++)
        if (p->map[o] == HR_NOT_MEMBER)
            rc = hr_delta_gen(d, old->nodes[o].name, (uint32_t)o, 0, old->nodes[o].hashes,
                              e_del, &del.n, scratch);
    if (rc == HASH_RING_OK)
        rc = hr_delta_sort(e_ins, &ins);
    if (rc == HASH_RING_OK)
        rc = hr_delta_sort(e_del, &del);
    if (rc == HASH_RING_OK)
        rc = hr_merge_into(c, old, p->map, p->identity, &ins, &del, merged);
    free(scratch);
    free(e_ins);
    free(e_del);
    free(ins.pts);
    free(ins.own);
    free(ins.at);
    free(del.pts);
    free(del.own);
    free(del.at);
    return rc;
}
