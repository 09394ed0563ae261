/* continuum.c - a continuum's life, the tie order, and what a lookup
 * reads back from it.
 *
 * A continuum is the sorted points, packed with the index of the node that
 * produced each (search.h), plus per-node hash counts and exact shares.  At
 * equal positions the entries are ordered by the dialect's tie rule, the
 * winner first, so every lookup simply takes the first entry it reaches.
 * build.c makes continuums.
 */
#include "continuum.h"

#include "hash_ring.h"
#include "mem.h"

#include <stdlib.h>

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
    free(c->tied);
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

int hr_continuum_alloc_points(hr_continuum *c, uint64_t points)
{
    if (points >= UINT32_MAX)
        return HASH_RING_ENOMEM;
    c->npoints = (size_t)points;
    c->ent = hr_index_alloc_entries(c->npoints);
    return c->ent ? HASH_RING_OK : HASH_RING_ENOMEM;
}

/* Nonzero when node a wins a shared position against node b. */
static int hr_before(const hr_continuum *c, uint32_t a, uint32_t b)
{
    /* twemproxy compares the names it hashes (host without :11211) */
    const hr_name *na = c->nodes[a].name, *nb = c->nodes[b].name;
    return hr_dialect_tie_before(c->dialect, a, na->hkey, na->hlen, b, nb->hkey, nb->hlen);
}

void hr_continuum_order_run(const hr_continuum *c, uint32_t *x, size_t n, unsigned shift)
{
    for (size_t k = 1; k < n; k++) {
        uint32_t e = x[k];
        size_t m = k;
        while (m > 0 && hr_before(c, (uint32_t)((uint64_t)e >> shift),
                                  (uint32_t)((uint64_t)x[m - 1] >> shift))) {
            x[m] = x[m - 1];
            m--;
        }
        x[m] = e;
    }
}

size_t hr_continuum_tied_from(const hr_continuum *c, size_t i)
{
    size_t lo = 0, hi = c->ntied;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->tied[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t hr_continuum_point_owner(const hr_continuum *c, size_t i)
{
    if (c->dialect->pred_owner) /* entry i + 1 holds point i's owner */
        return hr_continuum_owner(c, i + 1 < c->npoints ? i + 1 : 0);
    if (c->dialect->report_winner && c->ntied > 0) {
        /* back over the run's losers to its first entry */
        size_t k = hr_continuum_tied_from(c, i);
        while (k < c->ntied && c->tied[k] == i) {
            i--;
            k = k > 0 ? k - 1 : c->ntied;
        }
    }
    return hr_continuum_owner(c, i);
}
