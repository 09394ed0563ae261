/* continuum.c - building a continuum, from scratch or by merging a change.
 *
 * A continuum is two parallel arrays, pts (ascending positions) and own (the
 * producing node's index), plus per-node hash counts and exact shares.  At
 * equal positions the entries are ordered by the dialect's tie rule, the
 * winner first, so every lookup simply takes the first entry it reaches.
 *
 * From scratch: every node's points are generated in membership order and
 * radix-sorted (stable, by position); runs of equal positions are then put
 * in tie order.
 *
 * By merge: a node's first k digests do not depend on the rest of the ring,
 * so a membership change only hashes the digests whose index j lies between
 * a node's old and new hash counts (usually just the added node's).  The
 * old arrays are walked once: points of removed nodes and of lost digests
 * are dropped, the new points are merged in, owner indexes are remapped.
 * The ordering of old entries among themselves is kept because membership
 * order (and name order) between surviving nodes never changes.
 */
#include "continuum.h"

#include "digest.h"
#include "hash_ring.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void *hr_alloc_array(size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / size)
        return NULL;
    return malloc(n * size);
}

static hr_continuum *hr_continuum_alloc(const hr_dialect *d, hr_names *names, size_t nnodes)
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

static void hr_continuum_free(hr_continuum *c)
{
    hr_index_free(&c->index);
    free(c->pts);
    free(c->own);
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
    if (c != NULL && hr_index_build(&c->index, NULL, 0) != HASH_RING_OK) {
        hr_continuum_free(c);
        return NULL;
    }
    return c;
}

/* Fills c->nodes from members and returns the total point count. */
static uint64_t hr_plan(hr_continuum *c, const hr_member *m, size_t n)
{
    const hr_dialect *d = c->dialect;
    uint64_t total = 0, points = 0;
    for (size_t i = 0; i < n; i++)
        total += hr_dialect_weight(d, m[i].weight);
    for (size_t i = 0; i < n; i++) {
        uint64_t w = hr_dialect_weight(d, m[i].weight);
        c->nodes[i].name = m[i].name;
        c->nodes[i].weight = m[i].weight;
        c->nodes[i].hashes = (w == 0) ? 0 : hr_dialect_hashes(d, w, total, n);
        c->nodes[i].share = 0;
        points += (uint64_t)c->nodes[i].hashes * d->per_digest;
    }
    return points;
}

static int hr_before(const hr_continuum *c, uint32_t a, uint32_t b)
{
    const hr_name *na = c->nodes[a].name, *nb = c->nodes[b].name;
    return hr_dialect_tie_before(c->dialect, a, na->bytes, na->len, b, nb->bytes, nb->len);
}

/* Puts every run of equal positions in tie order (stable insertion sort). */
static void hr_fix_ties(const hr_continuum *c, uint32_t *pts, uint32_t *own, size_t n)
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
            while (m > i && hr_before(c, o, own[m - 1])) {
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
 * run's first entry; the first run also takes the wrap-around arc. */
static void hr_shares(hr_continuum *c)
{
    size_t n = c->npoints;
    if (n == 0)
        return;
    uint32_t prev = c->pts[n - 1];
    c->nodes[c->own[0]].share += (uint64_t)c->pts[0] + ((uint64_t)1 << 32) - prev;
    prev = c->pts[0];
    for (size_t i = 1; i < n; i++) {
        if (c->pts[i] == prev)
            continue;
        c->nodes[c->own[i]].share += (uint64_t)(c->pts[i] - prev);
        prev = c->pts[i];
    }
}

static int hr_finish(hr_continuum *c)
{
    hr_shares(c);
    return hr_index_build(&c->index, c->pts, c->npoints);
}

static int hr_alloc_points(hr_continuum *c, uint64_t points)
{
    if (points >= UINT32_MAX)
        return HASH_RING_ENOMEM;
    c->npoints = (size_t)points;
    c->pts = hr_alloc_array(c->npoints, sizeof *c->pts);
    c->own = hr_alloc_array(c->npoints, sizeof *c->own);
    return (c->pts && c->own) ? HASH_RING_OK : HASH_RING_ENOMEM;
}

/* Generates and sorts every point of c->nodes. */
static int hr_fill_full(hr_continuum *c)
{
    const hr_dialect *d = c->dialect;
    size_t n = c->npoints, k = 0;
    uint64_t *e = hr_alloc_array(n, sizeof *e);
    uint64_t *tmp = hr_alloc_array(n, sizeof *tmp);
    int rc = (e && tmp) ? HASH_RING_OK : HASH_RING_ENOMEM;
    for (size_t i = 0; rc == HASH_RING_OK && i < c->nnodes; i++) {
        const hr_name *nm = c->nodes[i].name;
        size_t cnt = (size_t)c->nodes[i].hashes * d->per_digest;
        rc = hr_digest_points(nm->hkey, nm->hlen, 0, c->nodes[i].hashes, d->per_digest,
                              c->pts + k);
        for (size_t j = 0; rc == HASH_RING_OK && j < cnt; j++, k++)
            e[k] = (uint64_t)c->pts[k] << 32 | (uint32_t)i;
    }
    if (rc == HASH_RING_OK) {
        hr_radix_sort(e, tmp, n);
        for (size_t i = 0; i < n; i++) {
            c->pts[i] = (uint32_t)(e[i] >> 32);
            c->own[i] = (uint32_t)e[i];
        }
        hr_fix_ties(c, c->pts, c->own, n);
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
    int rc = hr_alloc_points(c, hr_plan(c, members, n));
    if (rc == HASH_RING_OK)
        rc = hr_fill_full(c);
    if (rc == HASH_RING_OK)
        rc = hr_finish(c);
    if (rc != HASH_RING_OK) {
        hr_continuum_free(c);
        return rc;
    }
    *out = c;
    return HASH_RING_OK;
}

/* Sorted (position, owner) pairs to add or to drop during a merge. */
typedef struct hr_delta {
    size_t n;
    uint32_t *pts;
    uint32_t *own;
} hr_delta;

static int hr_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Generates digests [from, to) of node i into d as (position, i) pairs. */
static int hr_delta_gen(const hr_continuum *c, uint64_t *e, size_t *k, uint32_t i, uint32_t from,
                        uint32_t to, uint32_t *scratch)
{
    const hr_name *nm = c->nodes[i].name;
    unsigned p = c->dialect->per_digest;
    int rc = hr_digest_points(nm->hkey, nm->hlen, from, to, p, scratch);
    for (size_t j = 0; rc == HASH_RING_OK && j < (size_t)(to - from) * p; j++)
        e[(*k)++] = (uint64_t)scratch[j] << 32 | i;
    return rc;
}

static int hr_delta_finish(const hr_continuum *c, uint64_t *e, hr_delta *d)
{
    qsort(e, d->n, sizeof *e, hr_cmp_u64);
    d->pts = hr_alloc_array(d->n, sizeof *d->pts);
    d->own = hr_alloc_array(d->n, sizeof *d->own);
    if (d->pts == NULL || d->own == NULL)
        return HASH_RING_ENOMEM;
    for (size_t i = 0; i < d->n; i++) {
        d->pts[i] = (uint32_t)(e[i] >> 32);
        d->own[i] = (uint32_t)e[i];
    }
    hr_fix_ties(c, d->pts, d->own, d->n);
    return HASH_RING_OK;
}

/* Walks old and the additions once, producing c's arrays. */
static size_t hr_merge(hr_continuum *c, const hr_continuum *old, const uint32_t *map,
                       const hr_delta *add, hr_delta *rem)
{
    size_t i = 0, a = 0, r = 0, k = 0;
    for (;;) {
        while (i < old->npoints) {
            uint32_t o = map[old->own[i]], p = old->pts[i];
            if (o == HR_NOT_MEMBER) {
                i++;
                continue;
            }
            while (r < rem->n && rem->pts[r] < p)
                r++;
            size_t q = r;
            while (q < rem->n && rem->pts[q] == p && rem->own[q] != o)
                q++;
            if (q < rem->n && rem->pts[q] == p) {
                rem->own[q] = HR_NOT_MEMBER; /* consumed */
                i++;
                continue;
            }
            break;
        }
        int have_old = i < old->npoints, have_add = a < add->n;
        if (!have_old && !have_add)
            break;
        if (k == c->npoints)
            return k + 1; /* more entries than planned: inconsistent */
        int take_add = have_add && (!have_old || add->pts[a] < old->pts[i] ||
                                    (add->pts[a] == old->pts[i] &&
                                     hr_before(c, add->own[a], map[old->own[i]])));
        if (take_add) {
            c->pts[k] = add->pts[a];
            c->own[k++] = add->own[a++];
        } else {
            c->pts[k] = old->pts[i];
            c->own[k++] = map[old->own[i++]];
        }
    }
    return k;
}

int hr_continuum_build(const hr_continuum *old, const hr_member *members, size_t n,
                       hr_continuum **out)
{
    const hr_dialect *d = old->dialect;
    unsigned p = d->per_digest;
    hr_continuum *c = hr_continuum_alloc(d, old->names, n);
    if (c == NULL)
        return HASH_RING_ENOMEM;
    uint64_t points = hr_plan(c, members, n);
    int rc = hr_alloc_points(c, points);

    /* Digests to compute or drop, per node, versus the old continuum. */
    uint64_t nadd = 0, nrem = 0, maxd = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t o = members[i].name->member;
        uint32_t was = o == HR_NOT_MEMBER ? 0 : old->nodes[o].hashes, now = c->nodes[i].hashes;
        uint32_t dj = now > was ? now - was : was - now;
        if (now > was)
            nadd += (uint64_t)dj * p;
        else
            nrem += (uint64_t)dj * p;
        if (dj > maxd)
            maxd = dj;
    }
    int merge = rc == HASH_RING_OK && old->npoints > 0 && nadd * 4 < points;

    uint32_t *map = NULL, *scratch = NULL;
    uint64_t *e_add = NULL, *e_rem = NULL;
    hr_delta add = {0, NULL, NULL}, rem = {0, NULL, NULL};
    if (merge) {
        map = hr_alloc_array(old->nnodes, sizeof *map);
        scratch = hr_alloc_array((size_t)maxd * p, sizeof *scratch);
        e_add = hr_alloc_array((size_t)nadd, sizeof *e_add);
        e_rem = hr_alloc_array((size_t)nrem, sizeof *e_rem);
        if (!map || !scratch || !e_add || !e_rem)
            rc = HASH_RING_ENOMEM;
        for (size_t i = 0; rc == HASH_RING_OK && i < old->nnodes; i++)
            map[i] = HR_NOT_MEMBER;
        for (size_t i = 0; rc == HASH_RING_OK && i < n; i++) {
            uint32_t o = members[i].name->member;
            uint32_t was = o == HR_NOT_MEMBER ? 0 : old->nodes[o].hashes;
            uint32_t now = c->nodes[i].hashes;
            if (o != HR_NOT_MEMBER)
                map[o] = (uint32_t)i;
            if (now > was)
                rc = hr_delta_gen(c, e_add, &add.n, (uint32_t)i, was, now, scratch);
            else if (now < was)
                rc = hr_delta_gen(c, e_rem, &rem.n, (uint32_t)i, now, was, scratch);
        }
        if (rc == HASH_RING_OK)
            rc = hr_delta_finish(c, e_add, &add);
        if (rc == HASH_RING_OK)
            rc = hr_delta_finish(c, e_rem, &rem);
        if (rc == HASH_RING_OK && hr_merge(c, old, map, &add, &rem) != c->npoints) {
            assert(!"continuum merge disagrees with the plan");
            merge = 0; /* never expected; rebuild from scratch */
        }
    }
    if (rc == HASH_RING_OK && !merge)
        rc = hr_fill_full(c);
    if (rc == HASH_RING_OK)
        rc = hr_finish(c);
    free(map);
    free(scratch);
    free(e_add);
    free(e_rem);
    free(add.pts);
    free(add.own);
    free(rem.pts);
    free(rem.own);
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
    size_t i = hr_index_lower_bound(&c->index, c->pts, c->npoints, target);
    return i == c->npoints ? 0 : i;
}

uint32_t hr_continuum_owner_at(const hr_continuum *c, uint32_t pos)
{
    return c->own[hr_continuum_first_point(c, pos)];
}

uint32_t hr_continuum_point_owner(const hr_continuum *c, size_t i)
{
    if (c->dialect->report_winner)
        while (i > 0 && c->pts[i - 1] == c->pts[i])
            i--;
    return c->own[i];
}
