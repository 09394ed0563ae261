/* continuum.c - a continuum's life, and building one from scratch.
 *
 * A continuum is the sorted points, packed with the index of the node that
 * produced each (search.h), plus per-node hash counts and exact shares.  At
 * equal positions the entries are ordered by the dialect's tie rule, the
 * winner first, so every lookup simply takes the first entry it reaches.
 *
 * From scratch: see hr_continuum_fill.  Membership changes usually take
 * the cheaper path in merge.c.
 */
#include "continuum.h"

#include "digest.h"
#include "hash_ring.h"
#include "mem.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

hr_continuum *hr_continuum_alloc(const hr_dialect *d, hr_names *names, size_t nnodes)
{
    hr_continuum *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->nodes = hr_alloc_array(nnodes, sizeof *c->nodes);
    c->lookup_names = hr_alloc_array(nnodes, sizeof *c->lookup_names);
    if (c->nodes == NULL || c->lookup_names == NULL) {
        free(c->nodes);
        free(c->lookup_names);
        free(c);
        return NULL;
    }
    atomic_init(&c->refs, 1);
    c->dialect = d;
    c->names = names;
    c->nnodes = nnodes;
    hr_names_ref(names);
    return c;
}

void hr_continuum_free(hr_continuum *c)
{
    hr_index_free(&c->index);
    free(c->ent);
    free(c->nodes);
    free(c->lookup_names);
    hr_names_unref(c->names);
    free(c);
}

void hr_continuum_ref(hr_continuum *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void hr_continuum_unref(hr_continuum *c)
{
    if (c != NULL && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        hr_continuum_free(c);
}

hr_continuum *hr_continuum_empty(const hr_dialect *d, hr_names *names)
{
    hr_continuum *c = hr_continuum_alloc(d, names, 0);
    if (c != NULL && (hr_continuum_alloc_points(c, 0) != HASH_RING_OK ||
                      hr_index_encode(&c->index, hr_index_shift_for(0, 0), NULL, NULL, 0,
                                      c->ent) != HASH_RING_OK)) {
        hr_continuum_free(c);
        return NULL;
    }
    return c;
}

/* Fills c->nodes from members and returns the total point count. */
uint64_t hr_continuum_plan(hr_continuum *c, const hr_member *m, size_t n)
{
    const hr_dialect *d = c->dialect;
    uint64_t total = 0, points = 0;
    for (size_t i = 0; i < n; i++)
        total += hr_dialect_weight(d, m[i].weight);
    for (size_t i = 0; i < n; i++) {
        uint64_t w = hr_dialect_weight(d, m[i].weight);
        c->nodes[i].name = m[i].name;
        c->lookup_names[i] = m[i].name->bytes;
        c->nodes[i].len = m[i].name->len;
        c->nodes[i].weight = m[i].weight;
        c->nodes[i].hashes = (w == 0) ? 0 : hr_dialect_hashes(d, w, total, n);
        c->nodes[i].share = 0;
        points += (uint64_t)c->nodes[i].hashes * d->per_digest;
    }
    return points;
}

int hr_continuum_before(const hr_continuum *c, uint32_t a, uint32_t b)
{
    /* twemproxy compares the names it hashes (host without :11211) */
    const hr_name *na = c->nodes[a].name, *nb = c->nodes[b].name;
    return hr_dialect_tie_before(c->dialect, a, na->hkey, na->hlen, b, nb->hkey, nb->hlen);
}

/* Puts every run of equal positions in tie order (stable insertion sort). */
void hr_continuum_fix_ties(const hr_continuum *c, uint32_t *pts, uint32_t *own, size_t n)
{
    size_t i = 0;
    while (i + 1 < n) {
        if (pts[i + 1] != pts[i]) {
            i++;
            continue;
        }
        size_t end = i + 1;
        while (end < n && pts[end] == pts[i])
            end++;
        for (size_t k = i + 1; k < end; k++) {
            uint32_t o = own[k];
            size_t m = k;
            while (m > i && hr_continuum_before(c, o, own[m - 1])) {
                own[m] = own[m - 1];
                m--;
            }
            own[m] = o;
        }
        i = end;
    }
}

int hr_continuum_alloc_points(hr_continuum *c, uint64_t points)
{
    if (points >= UINT32_MAX)
        return HASH_RING_ENOMEM;
    c->npoints = (size_t)points;
    c->ent = hr_index_alloc_entries(c->npoints);
    return c->ent ? HASH_RING_OK : HASH_RING_ENOMEM;
}

/* Sorts ent[lo, hi) (one bucket) by low point bits, stably. */
static int hr_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int hr_sort_bucket(uint32_t *ent, size_t lo, size_t hi, uint32_t mask)
{
    if (hi - lo <= 64) {
        for (size_t k = lo + 1; k < hi; k++) {
            uint32_t e = ent[k];
            size_t m = k;
            while (m > lo && (ent[m - 1] & mask) > (e & mask)) {
                ent[m] = ent[m - 1];
                m--;
            }
            ent[m] = e;
        }
        return HASH_RING_OK;
    }
    /* a crowded bucket (crafted names): (low bits, original place) */
    uint64_t *tmp = hr_alloc_array(hi - lo, sizeof *tmp);
    if (tmp == NULL)
        return HASH_RING_ENOMEM;
    for (size_t k = lo; k < hi; k++)
        tmp[k - lo] = (uint64_t)(ent[k] & mask) << 32 | (uint32_t)(k - lo);
    qsort(tmp, hi - lo, sizeof *tmp, hr_cmp_u64);
    uint32_t *copy = hr_alloc_array(hi - lo, sizeof *copy);
    if (copy == NULL) {
        free(tmp);
        return HASH_RING_ENOMEM;
    }
    memcpy(copy, ent + lo, (hi - lo) * sizeof *copy);
    for (size_t k = lo; k < hi; k++)
        ent[k] = copy[(uint32_t)tmp[k - lo]];
    free(copy);
    free(tmp);
    return HASH_RING_OK;
}

/* Puts each run of equal points of a sorted bucket in tie order. */
static void hr_bucket_ties(const hr_continuum *c, uint32_t *ent, size_t lo, size_t hi)
{
    const hr_index *ix = &c->index;
    uint32_t mask = hr_low_mask(ix);
    for (size_t i = lo; i + 1 < hi;) {
        size_t end = i + 1;
        while (end < hi && (ent[end] & mask) == (ent[i] & mask))
            end++;
        for (size_t k = i + 1; k < end; k++) {
            uint32_t e = ent[k];
            size_t m = k;
            while (m > i && hr_continuum_before(c, hr_entry_owner(ix, e),
                                                hr_entry_owner(ix, ent[m - 1]))) {
                ent[m] = ent[m - 1];
                m--;
            }
            ent[m] = e;
        }
        i = end;
    }
}

/* Exact shares: the arc ending at each run of equal positions belongs to the
 * run's first entry; the first run also takes the wrap-around arc.  The
 * other entries of a run add an arc of length 0, so no branch is needed. */
static void hr_shares(hr_continuum *c)
{
    size_t n = c->npoints;
    if (n == 0)
        return;
    const hr_index *ix = &c->index;
    uint32_t mask = hr_low_mask(ix), prev = hr_index_point(ix, c->ent, n - 1);
    size_t nb = (size_t)1 << (32 - ix->shift);
    int first = 1;
    for (size_t b = 0; b < nb; b++) {
        uint32_t top = (uint32_t)((uint64_t)b << ix->shift);
        for (size_t i = ix->buckets[b]; i < ix->buckets[b + 1]; i++) {
            uint32_t p = top | (c->ent[i] & mask);
            /* modulo 2^32: the first arc wraps around from the last point,
             * and is the whole circle when every point is equal */
            uint64_t arc = (uint32_t)(p - prev);
            if (first && arc == 0)
                arc = (uint64_t)1 << 32;
            first = 0;
            c->nodes[hr_entry_owner(ix, c->ent[i])].share += arc;
            prev = p;
        }
    }
}

/* Fine buckets of about 16 points for the from-scratch sort; the index
 * may be coarser (search.c): it is read off the fine starts. */
static unsigned hr_fine_bits(size_t n, unsigned index_bits)
{
    unsigned bits = 0;
    while (bits < 24 && ((size_t)16 << (bits + 1)) <= n)
        bits++;
    return bits > index_bits ? bits : index_bits;
}

/* Where the points of each node start in membership order, and the node
 * producing every 32nd position: the owner of a raw point is found from
 * its place without a search. */
typedef struct hr_owner_map {
    uint32_t *start; /* nnodes + 1 */
    uint32_t *block; /* (n + 31) / 32 */
} hr_owner_map;

static int hr_owner_map_init(hr_owner_map *m, const hr_continuum *c)
{
    size_t nb = (c->npoints + 31) / 32;
    m->start = hr_alloc_array(c->nnodes + 1, sizeof *m->start);
    m->block = hr_alloc_array(nb, sizeof *m->block);
    if (m->start == NULL || m->block == NULL)
        return HASH_RING_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < c->nnodes; i++) {
        m->start[i] = (uint32_t)k;
        k += (size_t)c->nodes[i].hashes * c->dialect->per_digest;
    }
    m->start[c->nnodes] = (uint32_t)k;
    size_t o = 0;
    for (size_t j = 0; j < nb; j++) {
        while (m->start[o + 1] <= j * 32)
            o++;
        m->block[j] = (uint32_t)o;
    }
    return HASH_RING_OK;
}

static inline uint32_t hr_owner_of(const hr_owner_map *m, size_t pos)
{
    uint32_t o = m->block[pos / 32];
    while (m->start[o + 1] <= pos)
        o++;
    return o;
}

static void hr_owner_map_free(hr_owner_map *m)
{
    free(m->start);
    free(m->block);
}

/* The in-place distribution of step 2 below.  Fine bucket f spans
 * [end[f - 1], end[f]): slots below next[f] hold their final (packed)
 * entries, the others raw points where they were generated, except for
 * holes.  A hand carries one raw point and its owner: it writes the point
 * packed at next[g]++ of its bucket g and picks up the raw point that was
 * there, or ends if that slot is a hole.  Hands start at the cursor, which
 * walks up the array skipping placed slots and leaving a hole at each
 * start, so every unplaced slot below the cursor is a hole and every one
 * above it a raw point: one comparison tells them apart.  HR_HANDS hands
 * step in turn, so that many cache misses are in flight at once (one hand
 * alone waits for a miss per point: ten times slower on large rings). */
#define HR_HANDS 16

typedef struct hr_dist {
    uint32_t *ent, *next;
    const uint32_t *end;
    unsigned fshift;
    size_t n, scan, fcur;
    const hr_owner_map *om;
} hr_dist;

/* The next raw slot at or above the cursor (moving it past), or n. */
static size_t hr_dist_start(hr_dist *ds)
{
    while (ds->scan < ds->n) {
        while (ds->end[ds->fcur] <= ds->scan)
            ds->fcur++;
        if (ds->scan < ds->next[ds->fcur]) {
            ds->scan = ds->next[ds->fcur];
            continue;
        }
        return ds->scan++;
    }
    return ds->n;
}

static void hr_distribute(hr_dist *ds, const hr_index *ix)
{
    uint32_t hp[HR_HANDS], ho[HR_HANDS];
    size_t active = 0;
    for (; active < HR_HANDS; active++) {
        size_t s = hr_dist_start(ds);
        if (s == ds->n)
            break;
        hp[active] = ds->ent[s];
        ho[active] = hr_owner_of(ds->om, s);
    }
    while (active > 0) {
        for (size_t h = 0; h < active;) {
            uint32_t p = hp[h];
            size_t to = ds->next[(size_t)((uint64_t)p >> ds->fshift)]++;
            uint32_t e = hr_entry(ix, p, ho[h]);
            if (to >= ds->scan) { /* a raw point: carry it on */
                hp[h] = ds->ent[to];
                ho[h] = hr_owner_of(ds->om, to);
                ds->ent[to] = e;
                size_t nx = ds->next[(size_t)((uint64_t)hp[h] >> ds->fshift)];
                __builtin_prefetch(ds->ent + nx, 1);
                __builtin_prefetch(ds->om->block + nx / 32);
                h++;
                continue;
            }
            ds->ent[to] = e; /* a hole: this hand is done */
            size_t s = hr_dist_start(ds);
            if (s < ds->n) {
                hp[h] = ds->ent[s];
                ho[h] = hr_owner_of(ds->om, s);
                h++;
            } else {
                active--;
                hp[h] = hp[active];
                ho[h] = ho[active];
            }
        }
    }
}

/* From scratch, in place: the peak is the entries plus about one byte per
 * point (a second array of raw points would double it).
 *   1. every node's points are generated straight into c->ent, in
 *      membership order, so a raw point's owner follows from its place;
 *   2. they are counted into fine buckets on their top bits and moved to
 *      their bucket, packed (hr_distribute);
 *   3. each fine bucket (about 16 points) is sorted by insertion and its
 *      runs of equal points put in tie order (the tie rules are total
 *      orders, so the distribution's order does not matter);
 *   4. the index is read off the fine bucket ends, and shares computed. */
int hr_continuum_fill(hr_continuum *c)
{
    const hr_dialect *d = c->dialect;
    size_t n = c->npoints, k = 0;
    hr_index *ix = &c->index;
    ix->shift = hr_index_shift_for(n, c->nnodes);
    unsigned ibits = 32 - ix->shift, fbits = hr_fine_bits(n, ibits), fshift = 32 - fbits;
    size_t nf = (size_t)1 << fbits, ni = (size_t)1 << ibits;
    uint32_t *ent = c->ent, mask = hr_low_mask(ix);
    uint32_t *next = hr_alloc_array(nf, sizeof *next);
    uint32_t *end = hr_alloc_array(nf, sizeof *end);
    uint32_t *buckets = hr_alloc_array(ni + 1, sizeof *buckets);
    hr_owner_map om = {NULL, NULL};
    int rc = (next && end && buckets) ? hr_owner_map_init(&om, c) : HASH_RING_ENOMEM;
    for (size_t i = 0; rc == HASH_RING_OK && i < c->nnodes; i++) {
        const hr_name *nm = c->nodes[i].name;
        rc = hr_dialect_points(d, nm->hkey, nm->hlen, 0, c->nodes[i].hashes, ent + k);
        k += (size_t)c->nodes[i].hashes * d->per_digest;
    }
    if (rc == HASH_RING_OK) {
        memset(end, 0, nf * sizeof *end);
        for (size_t i = 0; i < n; i++)
            end[(size_t)((uint64_t)ent[i] >> fshift)]++;
        size_t sum = 0;
        for (size_t f = 0; f < nf; f++) {
            next[f] = (uint32_t)sum;
            sum += end[f];
            end[f] = (uint32_t)sum;
        }
        hr_dist ds = {ent, next, end, fshift, n, 0, 0, &om};
        hr_distribute(&ds, ix);
        for (size_t f = 0; rc == HASH_RING_OK && f < nf; f++) {
            size_t lo = f ? end[f - 1] : 0, hi = end[f];
            if (hi - lo > 1) {
                rc = hr_sort_bucket(ent, lo, hi, mask);
                hr_bucket_ties(c, ent, lo, hi);
            }
        }
        /* index bucket b is fine buckets [b << (fbits - ibits), ...) */
        for (size_t b = 0; b < ni; b++) {
            size_t f = b << (fbits - ibits);
            buckets[b] = f ? end[f - 1] : 0;
        }
        buckets[ni] = (uint32_t)n;
        ix->buckets = buckets;
        buckets = NULL;
        if (rc == HASH_RING_OK && d->pred_owner)
            hr_continuum_pred_owners(c);
        if (rc == HASH_RING_OK)
            hr_shares(c);
    }
    hr_owner_map_free(&om);
    free(buckets);
    free(end);
    free(next);
    return rc;
}

int hr_continuum_build_full(const hr_dialect *d, hr_names *names, const hr_member *members,
                            size_t n, hr_continuum **out)
{
    hr_continuum *c = hr_continuum_alloc(d, names, n);
    if (c == NULL)
        return HASH_RING_ENOMEM;
    int rc = hr_continuum_alloc_points(c, hr_continuum_plan(c, members, n));
    if (rc == HASH_RING_OK)
        rc = hr_continuum_fill(c);
    if (rc != HASH_RING_OK) {
        hr_continuum_free(c);
        return rc;
    }
    *out = c;
    return HASH_RING_OK;
}

uint32_t hr_continuum_point_owner(const hr_continuum *c, size_t i)
{
    if (c->dialect->pred_owner) /* entry i + 1 holds point i's owner */
        return hr_continuum_owner(c, i + 1 < c->npoints ? i + 1 : 0);
    if (c->dialect->report_winner && i > 0) {
        uint32_t p = hr_continuum_point(c, i);
        while (i > 0 && hr_continuum_point(c, i - 1) == p)
            i--;
    }
    return hr_continuum_owner(c, i);
}
