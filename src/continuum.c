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
    c->ent = hr_alloc_array(c->npoints, sizeof *c->ent);
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

/* From scratch: every node's points are generated in membership order,
 * distributed into their index buckets (a counting sort on the top bits,
 * which builds the index at the same time and keeps membership order among
 * equal points), sorted within each bucket (about 8 points), and runs of
 * equal points put in tie order.  Peak memory: the entries, the raw points
 * and the index (about 8.5 bytes per point). */
int hr_continuum_fill(hr_continuum *c)
{
    const hr_dialect *d = c->dialect;
    size_t n = c->npoints, k = 0;
    hr_index *ix = &c->index;
    ix->shift = hr_index_shift_for(n, c->nnodes);
    size_t nb = (size_t)1 << (32 - ix->shift);
    uint32_t *raw = hr_alloc_array(n, sizeof *raw);
    uint32_t *b = hr_alloc_array(nb + 1, sizeof *b);
    int rc = (raw && b) ? HASH_RING_OK : HASH_RING_ENOMEM;
    for (size_t i = 0; rc == HASH_RING_OK && i < c->nnodes; i++) {
        const hr_name *nm = c->nodes[i].name;
        rc = hr_digest_points(nm->hkey, nm->hlen, 0, c->nodes[i].hashes, d->per_digest,
                              raw + k);
        k += (size_t)c->nodes[i].hashes * d->per_digest;
    }
    if (rc == HASH_RING_OK) {
        /* counts, then each bucket's end; placing from the last point
         * backwards leaves each bucket's start and keeps the order stable */
        memset(b, 0, (nb + 1) * sizeof *b);
        for (size_t i = 0; i < n; i++)
            b[(size_t)((uint64_t)raw[i] >> ix->shift)]++;
        size_t sum = 0;
        for (size_t j = 0; j <= nb; j++) {
            sum += b[j];
            b[j] = (uint32_t)sum;
        }
        size_t i = n, node = c->nnodes;
        size_t node_start = n;
        while (i > 0) {
            i--;
            while (i < node_start) {
                node--;
                node_start -= (size_t)c->nodes[node].hashes * d->per_digest;
            }
            size_t pos = --b[(size_t)((uint64_t)raw[i] >> ix->shift)];
            c->ent[pos] = hr_entry(ix, raw[i], (uint32_t)node);
        }
        ix->buckets = b;
        b = NULL;
        uint32_t mask = hr_low_mask(ix);
        for (size_t j = 0; rc == HASH_RING_OK && j < nb; j++) {
            size_t lo = ix->buckets[j], hi = ix->buckets[j + 1];
            if (hi - lo > 1) {
                rc = hr_sort_bucket(c->ent, lo, hi, mask);
                hr_bucket_ties(c, c->ent, lo, hi);
            }
        }
        if (rc == HASH_RING_OK)
            hr_shares(c);
    }
    free(b);
    free(raw);
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
    if (c->dialect->report_winner && i > 0) {
        uint32_t p = hr_continuum_point(c, i);
        while (i > 0 && hr_continuum_point(c, i - 1) == p)
            i--;
    }
    return hr_continuum_owner(c, i);
}
