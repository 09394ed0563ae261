/* build.c - the continuum builder: (old continuum, new membership) -> new
 * continuum.
 *
 * The builder reads nothing but its arguments: it matches the new members
 * with the old continuum's by name, then either merges (merge.c: hash only
 * the digests the change adds or takes away) or builds from scratch (here:
 * every digest, generated straight into the entries and distributed in
 * place).  Both end with the same continuum, bit for bit.
 */
#include "build.h"

#include "hash_ring.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

/* Fills c->nodes from members and returns the total point count. */
static uint64_t hr_plan_nodes(hr_continuum *c, const hr_member *m, size_t n)
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

/* Appends entry i to c->tied, growing it by doubling (*room). */
static int hr_tied_push(hr_continuum *c, size_t *room, size_t i)
{
    if (c->ntied == *room) {
        size_t cap = *room ? 2 * *room : 16;
        uint32_t *t = hr_alloc_array(cap, sizeof *t);
        if (t == NULL)
            return HASH_RING_ENOMEM;
        if (c->ntied > 0)
            memcpy(t, c->tied, c->ntied * sizeof *t);
        free(c->tied);
        c->tied = t;
        *room = cap;
    }
    c->tied[c->ntied++] = (uint32_t)i;
    return HASH_RING_OK;
}

/* Puts each run of equal points of a sorted bucket in tie order, and lists
 * the runs' other entries (c->tied: rare, so the list grows as they come). */
static int hr_bucket_ties(hr_continuum *c, uint32_t *ent, size_t lo, size_t hi, size_t *room)
{
    uint32_t mask = hr_low_mask(&c->index);
    int rc = HASH_RING_OK;
    for (size_t i = lo; i + 1 < hi; i++) {
        if ((ent[i + 1] & mask) != (ent[i] & mask))
            continue;
        size_t end = i + 2;
        while (end < hi && (ent[end] & mask) == (ent[i] & mask))
            end++;
        hr_continuum_order_run(c, ent + i, end - i, c->index.shift);
        for (size_t k = i + 1; k < end && rc == HASH_RING_OK; k++)
            rc = hr_tied_push(c, room, k);
        i = end - 1;
    }
    return rc;
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
static int hr_fill(hr_continuum *c)
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
        size_t room = 0;
        for (size_t f = 0; rc == HASH_RING_OK && f < nf; f++) {
            size_t lo = f ? end[f - 1] : 0, hi = end[f];
            if (hi - lo > 1) {
                rc = hr_sort_bucket(ent, lo, hi, mask);
                if (rc == HASH_RING_OK)
                    rc = hr_bucket_ties(c, ent, lo, hi, &room);
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


/* Matches the new members with the old continuum's: was[i] is member i's
 * index in old, map[o] old node o's index in the new membership (or
 * HR_NOT_MEMBER).  The members common to both that lead and trail the two
 * lists are matched by walking them (every change but a reordering keeps
 * most members in place); the names in between through a map. */
static int hr_match(const hr_continuum *old, const hr_member *m, size_t n, uint32_t *was,
                    uint32_t *map, int *identity)
{
    size_t on = old->nnodes, head = 0, tail = 0;
    while (head < n && head < on && m[head].name == old->nodes[head].name)
        head++;
    while (tail < n - head && tail < on - head &&
           m[n - 1 - tail].name == old->nodes[on - 1 - tail].name)
        tail++;
    for (size_t o = 0; o < on; o++)
        map[o] = HR_NOT_MEMBER;
    for (size_t i = 0; i < head; i++)
        was[i] = map[i] = (uint32_t)i;
    for (size_t t = 0; t < tail; t++) {
        was[n - 1 - t] = (uint32_t)(on - 1 - t);
        map[on - 1 - t] = (uint32_t)(n - 1 - t);
    }
    size_t mid_old = on - head - tail, mid_new = n - head - tail;
    for (size_t i = head; i < n - tail; i++)
        was[i] = HR_NOT_MEMBER;
    if (mid_old > 0 && mid_new > 0) {
        hr_name_map nm;
        if (hr_name_map_init(&nm, mid_old) != HASH_RING_OK)
            return HASH_RING_ENOMEM;
        for (size_t o = head; o < on - tail; o++)
            hr_name_map_put(&nm, old->nodes[o].name, (uint32_t)o, NULL);
        for (size_t i = head; i < n - tail; i++) {
            uint32_t o = hr_name_map_get(&nm, m[i].name);
            was[i] = o;
            if (o != HR_NOT_MEMBER)
                map[o] = (uint32_t)i;
        }
        hr_name_map_free(&nm);
    }
    *identity = mid_old == 0 && tail == 0;
    return HASH_RING_OK;
}

/* The change's digests: to insert, to delete, and the most of one node. */
static void hr_count_delta(hr_plan *p, const hr_continuum *old, const hr_continuum *c)
{
    unsigned per = c->dialect->per_digest;
    p->nins = p->ndel = 0;
    p->maxd = 0;
    for (size_t i = 0; i < c->nnodes; i++) {
        uint32_t o = p->was[i];
        uint32_t before = o == HR_NOT_MEMBER ? 0 : old->nodes[o].hashes;
        uint32_t now = c->nodes[i].hashes;
        uint32_t dj = now > before ? now - before : before - now;
        *(now > before ? &p->nins : &p->ndel) += (uint64_t)dj * per;
        p->maxd = dj > p->maxd ? dj : p->maxd;
    }
    for (size_t o = 0; o < old->nnodes; o++) {
        if (p->map[o] != HR_NOT_MEMBER)
            continue;
        p->ndel += (uint64_t)old->nodes[o].hashes * per;
        p->maxd = old->nodes[o].hashes > p->maxd ? old->nodes[o].hashes : p->maxd;
    }
}

/* Builds c (planned) from scratch, or by merging old when that is cheaper. */
static int hr_build_from(hr_continuum *c, const hr_continuum *old, const hr_member *m,
                         uint64_t points)
{
    if (old == NULL || old->npoints == 0)
        return hr_fill(c);
    hr_plan p = {m, NULL, NULL, 1, 0, 0, 0};
    p.was = hr_alloc_array(c->nnodes, sizeof *p.was);
    p.map = hr_alloc_array(old->nnodes, sizeof *p.map);
    int rc = p.was && p.map ? HASH_RING_OK : HASH_RING_ENOMEM;
    if (rc == HASH_RING_OK)
        rc = hr_match(old, m, c->nnodes, p.was, p.map, &p.identity);
    int merged = 0;
    if (rc == HASH_RING_OK) {
        hr_count_delta(&p, old, c);
        /* a merge costs the delta's digests plus copying; a full build
         * costs every digest plus a sort.  The merge works in the new
         * packing, which must also hold the old owner indexes (not so when
         * removals shrink a ring of nodes with few points below a power of
         * two). */
        unsigned shift = hr_index_shift_for((size_t)points, c->nnodes);
        /* predecessor owners (Dalli) are rewritten by a full build only */
        if ((p.nins + p.ndel) * 4 < points && old->nnodes <= ((size_t)1 << (32 - shift)) &&
            !c->dialect->pred_owner) {
            merged = 1;
            rc = hr_merge(c, old, &p, &merged);
        }
    }
    free(p.was);
    free(p.map);
    if (rc == HASH_RING_OK && !merged)
        rc = hr_fill(c);
    return rc;
}

int hr_build(const hr_continuum *old, const hr_dialect *d, hr_names *names,
             const hr_member *members, size_t n, hr_continuum **out)
{
    hr_continuum *c = hr_continuum_alloc(d, names, n);
    if (c == NULL)
        return HASH_RING_ENOMEM;
    uint64_t points = hr_plan_nodes(c, members, n);
    int rc = hr_continuum_alloc_points(c, points);
    if (rc == HASH_RING_OK)
        rc = hr_build_from(c, old, members, points);
    if (rc != HASH_RING_OK) {
        hr_continuum_free(c);
        return rc;
    }
    *out = c;
    return HASH_RING_OK;
}

#ifdef HASH_RING_TEST_HOOKS
int hr_build_full(const hr_dialect *d, hr_names *names, const hr_member *members, size_t n,
                  hr_continuum **out)
{
    return hr_build(NULL, d, names, members, n, out);
}
#endif
