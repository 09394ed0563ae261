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
 * The order of surviving entries among themselves is kept, because neither
 * membership order nor name order between surviving nodes ever changes.
 * When the change touches a large part of the ring (a big batch, a weight
 * change that moves every node's count) a from-scratch build is cheaper and
 * is used instead.
 */
#include "continuum.h"
#include "delta.h"
#include "digest.h"
#include "hash_ring.h"
#include "mem.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Merges that had to fall back to a full build (never expected; the tests
 * check it stays 0), and merges done. */
static atomic_ulong hr_merge_fallbacks, hr_merges;

void hr_merge_counts(unsigned long *merges, unsigned long *fallbacks)
{
    *merges = atomic_load(&hr_merges);
    *fallbacks = atomic_load(&hr_merge_fallbacks);
}

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
        /* the removed node's entries are deleted; owners above it move down */
        uint32_t cut = (uint32_t)(((uint64_t)rm->removed + 1) << shift), one = 1u << shift;
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

/* Merges the sorted deltas into c.  On an internal inconsistency (never
 * expected) *merged is cleared and the caller builds from scratch. */
static int hr_merge_into(hr_continuum *c, const hr_continuum *old, const uint32_t *map,
                         int identity, hr_delta *ins, hr_delta *del, int *merged)
{
    hr_src src;
    hr_starts st = {0, NULL, NULL, NULL};
    unsigned shift = hr_index_shift_for(c->npoints, c->nnodes);
    int rc = hr_src_open(&src, old, shift);
    if (rc == HASH_RING_OK) {
        st.old_at = hr_alloc_array(ins->n + del->n + 1, sizeof *st.old_at);
        st.new_at = hr_alloc_array(ins->n + del->n + 1, sizeof *st.new_at);
        st.ins_at = hr_alloc_array(ins->n, sizeof *st.ins_at);
        if (st.old_at == NULL || st.new_at == NULL || st.ins_at == NULL)
            rc = HASH_RING_ENOMEM;
    }
    if (rc == HASH_RING_OK) {
        c->index.shift = shift;
        hr_remap rm = hr_remap_of(old, map, identity);
        if (!hr_locate_deletions(&src, del)) {
            assert(!"a deleted digest is missing from the continuum");
            *merged = 0;
        } else {
            hr_locate_insertions(c, &src, map, ins);
            if (hr_apply_deltas(c, &src, &rm, ins, del, &st) != c->npoints) {
                assert(!"continuum merge disagrees with the plan");
                *merged = 0;
            }
        }
        if (!*merged)
            atomic_fetch_add(&hr_merge_fallbacks, 1);
    }
    if (rc == HASH_RING_OK && *merged) {
        /* derive the search index and the shares rather than recount them */
        rc = hr_index_update(&c->index, &src.ix, c->npoints, ins->pts, ins->n, del->pts,
                             del->n);
        if (rc == HASH_RING_OK) {
            hr_merge_shares(c, old, &src, map, ins, del, &st);
            atomic_fetch_add_explicit(&hr_merges, 1, memory_order_relaxed);
        }
    }
    hr_src_close(&src);
    free(st.old_at);
    free(st.new_at);
    free(st.ins_at);
    return rc;
}

int hr_continuum_build(const hr_continuum *old, const hr_member *members, size_t n,
                       hr_continuum **out)
{
    const hr_dialect *d = old->dialect;
    unsigned p = d->per_digest;
    hr_continuum *c = hr_continuum_alloc(d, old->names, n);
    if (c == NULL)
        return HASH_RING_ENOMEM;
    uint64_t points = hr_continuum_plan(c, members, n);
    int rc = hr_continuum_alloc_points(c, points);

    uint32_t *map = NULL, *scratch = NULL;
    uint64_t *e_ins = NULL, *e_del = NULL;
    hr_delta ins = {0, NULL, NULL, NULL}, del = {0, NULL, NULL, NULL};
    int merge = 0, identity = 1;
    if (rc == HASH_RING_OK && old->npoints > 0) {
        /* old index -> new index; digests that appear or disappear */
        map = hr_alloc_array(old->nnodes, sizeof *map);
        rc = map ? HASH_RING_OK : HASH_RING_ENOMEM;
        for (size_t o = 0; rc == HASH_RING_OK && o < old->nnodes; o++)
            map[o] = HR_NOT_MEMBER;
        uint64_t nins = 0, ndel = 0, maxd = 0;
        for (size_t i = 0; rc == HASH_RING_OK && i < n; i++) {
            uint32_t o = members[i].name->member;
            uint32_t was = o == HR_NOT_MEMBER ? 0 : old->nodes[o].hashes;
            uint32_t now = c->nodes[i].hashes;
            if (o != HR_NOT_MEMBER)
                map[o] = (uint32_t)i;
            if (o != HR_NOT_MEMBER && o != i)
                identity = 0;
            uint32_t dj = now > was ? now - was : was - now;
            *(now > was ? &nins : &ndel) += (uint64_t)dj * p;
            maxd = dj > maxd ? dj : maxd;
        }
        for (size_t o = 0; rc == HASH_RING_OK && o < old->nnodes; o++) {
            if (map[o] != HR_NOT_MEMBER)
                continue;
            identity = 0;
            ndel += (uint64_t)old->nodes[o].hashes * p;
            maxd = old->nodes[o].hashes > maxd ? old->nodes[o].hashes : maxd;
        }
        /* a merge costs the delta's digests plus copying; a full build
         * costs every digest plus a sort */
        merge = rc == HASH_RING_OK && (nins + ndel) * 4 < points;
        /* predecessor owners (Dalli) are rewritten by a full build only */
        if (d->pred_owner)
            merge = 0;
        /* the merge works in the new packing, which must also hold the old
         * owner indexes (not so when removals shrink a ring of nodes with
         * few points below a power of two: then build from scratch) */
        unsigned shift = hr_index_shift_for((size_t)points, n);
        if (old->nnodes > ((size_t)1 << (32 - shift)))
            merge = 0;
        if (merge) {
            scratch = hr_alloc_array((size_t)maxd * p, sizeof *scratch);
            e_ins = hr_alloc_array((size_t)nins, sizeof *e_ins);
            e_del = hr_alloc_array((size_t)ndel, sizeof *e_del);
            if (!scratch || !e_ins || !e_del)
                rc = HASH_RING_ENOMEM;
        }
        for (size_t i = 0; merge && rc == HASH_RING_OK && i < n; i++) {
            uint32_t o = members[i].name->member;
            uint32_t was = o == HR_NOT_MEMBER ? 0 : old->nodes[o].hashes;
            uint32_t now = c->nodes[i].hashes;
            if (now > was)
                rc = hr_delta_gen(d, members[i].name, (uint32_t)i, was, now, e_ins, &ins.n,
                                  scratch);
            else if (now < was)
                rc = hr_delta_gen(d, members[i].name, o, now, was, e_del, &del.n, scratch);
        }
        for (size_t o = 0; merge && rc == HASH_RING_OK && o < old->nnodes; o++)
            if (map[o] == HR_NOT_MEMBER)
                rc = hr_delta_gen(d, old->nodes[o].name, (uint32_t)o, 0, old->nodes[o].hashes,
                                  e_del, &del.n, scratch);
        if (merge && rc == HASH_RING_OK)
            rc = hr_delta_sort(c, e_ins, &ins);
        if (merge && rc == HASH_RING_OK)
            rc = hr_delta_sort(NULL, e_del, &del);
        if (merge && rc == HASH_RING_OK)
            rc = hr_merge_into(c, old, map, identity, &ins, &del, &merge);
    }
    if (rc == HASH_RING_OK && !merge)
        rc = hr_continuum_fill(c);
    free(map);
    free(scratch);
    free(e_ins);
    free(e_del);
    free(ins.pts);
    free(ins.own);
    free(ins.at);
    free(del.pts);
    free(del.own);
    free(del.at);
    if (rc != HASH_RING_OK) {
        hr_continuum_free(c);
        return rc;
    }
    *out = c;
    return HASH_RING_OK;
}
