/* continuum.c - a continuum's life, and building one from scratch.
 *
 * A continuum is the sorted points, packed with the index of the node that
 * produced each (search.h), plus per-node hash counts and exact shares.  At
 * equal positions the entries are ordered by the dialect's tie rule, the
 * winner first, so every lookup simply takes the first entry it reaches.
 *
 * From scratch: every node's points are generated in membership order and
 * radix-sorted (stable, by position); runs of equal positions are then put
 * in tie order.  Membership changes usually take the cheaper path in
 * merge.c.
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
    if (c->nodes == NULL) {
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

/* Stable LSD radix sort of (position << 32 | owner) by position. */
static void hr_radix_sort(uint64_t *a, uint64_t *tmp, size_t n)
{
    static const unsigned shifts[3] = {32, 43, 54};
    static const unsigned widths[3] = {11, 11, 10};
    uint64_t *src = a, *dst = tmp;
    for (int pass = 0; pass < 3; pass++) {
        size_t count[2048] = {0};
        unsigned sh = shifts[pass];
        uint64_t mask = ((uint64_t)1 << widths[pass]) - 1;
        for (size_t i = 0; i < n; i++)
            count[(src[i] >> sh) & mask]++;
        size_t sum = 0;
        for (size_t k = 0; k <= mask; k++) {
            size_t t = count[k];
            count[k] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i] >> sh) & mask]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* Exact shares: the arc ending at each run of equal positions belongs to the
 * run's first entry; the first run also takes the wrap-around arc.  The
 * other entries of a run add an arc of length 0, so no branch is needed. */
static void hr_shares(hr_node *nodes, const uint32_t *pts, const uint32_t *own, size_t n)
{
    if (n == 0)
        return;
    nodes[own[0]].share += (uint64_t)pts[0] + ((uint64_t)1 << 32) - pts[n - 1];
    for (size_t i = 1; i < n; i++)
        nodes[own[i]].share += (uint64_t)(pts[i] - pts[i - 1]);
}

int hr_continuum_alloc_points(hr_continuum *c, uint64_t points)
{
    if (points >= UINT32_MAX)
        return HASH_RING_ENOMEM;
    c->npoints = (size_t)points;
    c->ent = hr_alloc_array(c->npoints, sizeof *c->ent);
    return c->ent ? HASH_RING_OK : HASH_RING_ENOMEM;
}

int hr_continuum_fill(hr_continuum *c)
{
    const hr_dialect *d = c->dialect;
    size_t n = c->npoints, k = 0;
    uint64_t *e = hr_alloc_array(n, sizeof *e);
    uint64_t *tmp = hr_alloc_array(n, sizeof *tmp);
    uint32_t *pts = (uint32_t *)tmp; /* reuses tmp once sorted: pts, then own */
    int rc = (e && tmp) ? HASH_RING_OK : HASH_RING_ENOMEM;
    for (size_t i = 0; rc == HASH_RING_OK && i < c->nnodes; i++) {
        const hr_name *nm = c->nodes[i].name;
        size_t cnt = (size_t)c->nodes[i].hashes * d->per_digest;
        rc = hr_digest_points(nm->hkey, nm->hlen, 0, c->nodes[i].hashes, d->per_digest,
                              pts + k);
        for (size_t j = 0; rc == HASH_RING_OK && j < cnt; j++, k++)
            e[k] = (uint64_t)pts[k] << 32 | (uint32_t)i;
    }
    if (rc == HASH_RING_OK) {
        hr_radix_sort(e, tmp, n);
        uint32_t *own = pts + n;
        for (size_t i = 0; i < n; i++) {
            pts[i] = (uint32_t)(e[i] >> 32);
            own[i] = (uint32_t)e[i];
        }
        hr_continuum_fix_ties(c, pts, own, n);
        hr_shares(c->nodes, pts, own, n);
        rc = hr_index_encode(&c->index, hr_index_shift_for(n, c->nnodes), pts, own, n, c->ent);
    }
    free(tmp);
    free(e);
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

size_t hr_continuum_first_point(const hr_continuum *c, uint32_t pos)
{
    uint64_t target = (uint64_t)pos + c->dialect->strict;
    size_t i = hr_index_lower_bound(&c->index, c->ent, c->npoints, target);
    return i == c->npoints ? 0 : i;
}

uint32_t hr_continuum_owner_at(const hr_continuum *c, uint32_t pos)
{
    return hr_continuum_owner(c, hr_continuum_first_point(c, pos));
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
