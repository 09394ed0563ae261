/* ring.c - the ring handle: membership changes and publication.
 *
 * Writers take wlock, read the current continuum (only writers replace it,
 * so it is stable under the lock), build the next continuum off to the
 * side, publish it with one atomic store, wait for the readers that
 * might still hold the old one (hr_epoch_synchronize) and drop the ring's
 * reference to it; snapshots may keep it alive longer.  Any failure before
 * the exchange leaves the ring untouched.
 *
 * fork(): every live ring is on one list, and fork handlers hold every
 * ring's writer lock across the fork, so a change that another thread was
 * making has either completed or not begun in the child, and the child
 * can take the locks.  Readers are never waited for: the child clears the
 * ring's reader slots, whose other users do not exist there. */
#include "ring.h"

#include "build.h"
#include "digest.h"
#include "hash_ring.h"

#include <stdlib.h>

static pthread_mutex_t hr_rings_lock = PTHREAD_MUTEX_INITIALIZER;
static hash_ring_t *hr_rings; /* every live ring, linked by prev/next */

/* prepare: the list, then every writer lock (writers take no other lock,
 * so this order cannot deadlock); parent and child: the reverse. */
static void hr_fork_prepare(void)
{
    pthread_mutex_lock(&hr_rings_lock);
    for (hash_ring_t *r = hr_rings; r != NULL; r = r->next)
        pthread_mutex_lock(&r->wlock);
}

static void hr_fork_parent(void)
{
    for (hash_ring_t *r = hr_rings; r != NULL; r = r->next)
        pthread_mutex_unlock(&r->wlock);
    pthread_mutex_unlock(&hr_rings_lock);
}

static void hr_fork_child(void)
{
    for (hash_ring_t *r = hr_rings; r != NULL; r = r->next) {
        hr_epoch_after_fork(&r->epoch);
        pthread_mutex_unlock(&r->wlock);
    }
    pthread_mutex_unlock(&hr_rings_lock);
}

/* The handlers are registered with the first ring, not at load time.
 * glibc ties them to the library's __dso_handle and drops them when the
 * library is unloaded; musl never unloads a library. */
static pthread_once_t hr_fork_once = PTHREAD_ONCE_INIT;
static int hr_fork_ok;

static void hr_fork_register(void)
{
    hr_fork_ok = pthread_atfork(hr_fork_prepare, hr_fork_parent, hr_fork_child) == 0;
}

static void hr_rings_link(hash_ring_t *r)
{
    pthread_mutex_lock(&hr_rings_lock);
    r->prev = NULL;
    r->next = hr_rings;
    if (hr_rings != NULL)
        hr_rings->prev = r;
    hr_rings = r;
    pthread_mutex_unlock(&hr_rings_lock);
}

static void hr_rings_unlink(hash_ring_t *r)
{
    pthread_mutex_lock(&hr_rings_lock);
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        hr_rings = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    pthread_mutex_unlock(&hr_rings_lock);
}

int hash_ring_create(hash_ring_t **out, hash_ring_dialect_t dialect)
{
    if (out == NULL)
        return HASH_RING_EINVAL;
    const hr_dialect *d = hr_dialect_get(dialect);
    if (d == NULL)
        return HASH_RING_EINVAL;
    int rc = hr_digest_check();
    if (rc != HASH_RING_OK)
        return rc;
    if (pthread_once(&hr_fork_once, hr_fork_register) != 0 || !hr_fork_ok)
        return HASH_RING_ENOMEM;
    hash_ring_t *r = NULL;
    if (posix_memalign((void **)&r, 64, sizeof *r) != 0)
        return HASH_RING_ENOMEM;
    r->dialect = d;
    r->names = hr_names_new();
    hr_continuum *c = r->names ? hr_continuum_empty(d, r->names) : NULL;
    if (c == NULL || pthread_mutex_init(&r->wlock, NULL) != 0) {
        hr_continuum_unref(c);
        hr_names_unref(r->names);
        free(r);
        return HASH_RING_ENOMEM;
    }
    hr_epoch_init(&r->epoch);
    atomic_init(&r->current, c);
    hr_rings_link(r);
    *out = r;
    return HASH_RING_OK;
}

void hash_ring_destroy(hash_ring_t *ring)
{
    if (ring == NULL)
        return;
    hr_rings_unlink(ring);
    hr_continuum_unref(atomic_load(&ring->current));
    hr_names_unref(ring->names);
    pthread_mutex_destroy(&ring->wlock);
    free(ring);
}

int hash_ring_get_dialect(const hash_ring_t *ring, hash_ring_dialect_t *out)
{
    if (ring == NULL || out == NULL)
        return HASH_RING_EINVAL;
    *out = ring->dialect->id;
    return HASH_RING_OK;
}

/* Publishes next in place of cur (both under wlock) and reclaims cur. */
static void hr_publish(hash_ring_t *r, hr_continuum *cur, hr_continuum *next)
{
    atomic_store_explicit(&r->current, next, memory_order_seq_cst);
    hr_epoch_synchronize(&r->epoch);
    hr_continuum_unref(cur);
}

/* Builds and publishes membership m[0..n); on error nothing changes. */
static int hr_apply(hash_ring_t *r, hr_continuum *cur, const hr_member *m, size_t n)
{
    hr_continuum *next = NULL;
    int rc = hr_build(cur, r->dialect, r->names, m, n, &next);
    if (rc == HASH_RING_OK)
        hr_publish(r, cur, next);
    return rc;
}

/* The current membership copied into a new array with room for `extra`. */
static hr_member *hr_members_copy(const hr_continuum *cur, size_t extra)
{
    if (extra > SIZE_MAX / sizeof(hr_member) - cur->nnodes - 1)
        return NULL;
    hr_member *m = malloc((cur->nnodes + extra + 1) * sizeof *m);
    if (m == NULL)
        return NULL;
    for (size_t i = 0; i < cur->nnodes; i++) {
        m[i].name = cur->nodes[i].name;
        m[i].weight = cur->nodes[i].weight;
    }
    return m;
}

_Static_assert(HR_MAX_NODES <= (1u << HR_MAX_OWNER_BITS),
               "every member index must fit in an entry's owner bits");

static int hr_name_ok(const void *name, size_t len)
{
    return name != NULL && len > 0;
}

/* Checks a batch's arguments: HASH_RING_OK or HASH_RING_EINVAL. */
static int hr_batch_ok(const hash_ring_t *ring, const void *const *names,
                       const size_t *name_lens, size_t count)
{
    if (ring == NULL || (count > 0 && (names == NULL || name_lens == NULL)))
        return HASH_RING_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (!hr_name_ok(names[i], name_lens[i]))
            return HASH_RING_EINVAL;
    return count > HR_MAX_NODES ? HASH_RING_EINVAL : HASH_RING_OK;
}

/* The names of a batch being added, interned: b[i].name, with weights.
 * Names this call created are listed in fresh[0..*nfresh) (room for
 * count), so that a refused call forgets them and costs no memory. */
static int hr_intern_batch(hash_ring_t *ring, const void *const *names, const size_t *name_lens,
                           const uint32_t *weights, size_t count, hr_member *b, hr_name **fresh,
                           size_t *nfresh)
{
    /* room for the names the table lacks, first: a call that fails later
     * keeps no allocation of its own (the table only ever trades an array
     * for a larger one, and only for names it will hold) */
    size_t unknown = 0;
    *nfresh = 0;
    for (size_t i = 0; i < count; i++)
        unknown += hr_names_find(ring->names, names[i], name_lens[i]) == NULL;
    int rc = hr_names_reserve(ring->names, unknown);
    for (size_t i = 0; rc == HASH_RING_OK && i < count; i++) {
        int created;
        rc = hr_names_intern(ring->names, ring->dialect, names[i], name_lens[i], &b[i].name,
                             &created);
        if (rc == HASH_RING_OK && created)
            fresh[(*nfresh)++] = b[i].name;
        b[i].weight = weights ? weights[i] : 1;
    }
    return rc;
}

static void hr_forget(hash_ring_t *ring, hr_name **fresh, size_t nfresh)
{
    for (size_t i = 0; i < nfresh; i++)
        hr_names_forget(ring->names, fresh[i]);
}

/* HASH_RING_EEXIST if a name of b[0..count) is repeated in it. */
static int hr_check_distinct(const hr_member *b, size_t count, hr_name_map *seen)
{
    int rc = hr_name_map_init(seen, count);
    for (size_t i = 0; rc == HASH_RING_OK && i < count; i++)
        if (!hr_name_map_put(seen, b[i].name, (uint32_t)i, NULL))
            rc = HASH_RING_EEXIST;
    return rc;
}

/* The member index of nm in c, or HR_NOT_MEMBER (a scan of the 8-byte
 * name pointers a lookup reads). */
static uint32_t hr_member_index(const hr_continuum *c, const hr_name *nm)
{
    for (size_t i = 0; i < c->nnodes; i++)
        if (c->lookup_names[i] == nm->bytes)
            return (uint32_t)i;
    return HR_NOT_MEMBER;
}

int hash_ring_add_nodes(hash_ring_t *ring, const void *const *names, const size_t *name_lens,
                        const uint32_t *weights, size_t count)
{
    int rc = hr_batch_ok(ring, names, name_lens, count);
    if (rc != HASH_RING_OK || count == 0)
        return rc;

    pthread_mutex_lock(&ring->wlock);
    hr_continuum *cur = atomic_load_explicit(&ring->current, memory_order_relaxed);
    size_t n = cur->nnodes, nfresh = 0;
    hr_member *m = NULL;
    hr_name **fresh = NULL;
    hr_name_map seen = {0, NULL, NULL};
    if (n + count > HR_MAX_NODES) {
        rc = HASH_RING_EINVAL;
        goto out;
    }
    m = hr_members_copy(cur, count);
    fresh = malloc(count * sizeof *fresh);
    if (m == NULL || fresh == NULL) {
        rc = HASH_RING_ENOMEM;
        goto out;
    }
    rc = hr_intern_batch(ring, names, name_lens, weights, count, m + n, fresh, &nfresh);
    if (rc == HASH_RING_OK)
        rc = hr_check_distinct(m + n, count, &seen);
    /* a name the ring knew already may be a member */
    if (rc == HASH_RING_OK && nfresh < count) {
        if (count == 1) {
            if (hr_member_index(cur, m[n].name) != HR_NOT_MEMBER)
                rc = HASH_RING_EEXIST;
        } else {
            for (size_t i = 0; i < n && rc == HASH_RING_OK; i++)
                if (hr_name_map_get(&seen, m[i].name) != HR_NOT_MEMBER)
                    rc = HASH_RING_EEXIST;
        }
    }
    if (rc == HASH_RING_OK)
        rc = hr_apply(ring, cur, m, n + count);
    if (rc != HASH_RING_OK)
        hr_forget(ring, fresh, nfresh);
out:
    hr_name_map_free(&seen);
    free(fresh);
    free(m);
    pthread_mutex_unlock(&ring->wlock);
    return rc;
}

int hash_ring_add_node(hash_ring_t *ring, const void *name, size_t name_len, uint32_t weight)
{
    const void *names[1] = {name};
    return hash_ring_add_nodes(ring, names, &name_len, &weight, 1);
}

int hash_ring_remove_nodes(hash_ring_t *ring, const void *const *names, const size_t *name_lens,
                           size_t count)
{
    int rc = hr_batch_ok(ring, names, name_lens, count);
    if (rc != HASH_RING_OK || count == 0)
        return rc;

    pthread_mutex_lock(&ring->wlock);
    hr_continuum *cur = atomic_load_explicit(&ring->current, memory_order_relaxed);
    hr_name_map gone = {0, NULL, NULL};
    hr_member *m = NULL;
    const hr_name *one = NULL;
    if (count == 1) {
        one = hr_names_find(ring->names, names[0], name_lens[0]);
    } else {
        rc = hr_name_map_init(&gone, count);
        for (size_t i = 0; rc == HASH_RING_OK && i < count; i++) {
            const hr_name *nm = hr_names_find(ring->names, names[i], name_lens[i]);
            if (nm == NULL)
                rc = HASH_RING_ENOTFOUND;
            else if (!hr_name_map_put(&gone, nm, (uint32_t)i, NULL))
                rc = HASH_RING_EINVAL;
        }
    }
    if (rc == HASH_RING_OK && count == 1 && one == NULL)
        rc = HASH_RING_ENOTFOUND;
    if (rc == HASH_RING_OK) {
        m = hr_members_copy(cur, 0);
        rc = m ? HASH_RING_OK : HASH_RING_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; rc == HASH_RING_OK && i < cur->nnodes; i++) {
        int drop = one ? m[i].name == one : hr_name_map_get(&gone, m[i].name) != HR_NOT_MEMBER;
        if (!drop)
            m[n++] = m[i];
    }
    /* every name of the batch must have been a member */
    if (rc == HASH_RING_OK && cur->nnodes - n != count)
        rc = HASH_RING_ENOTFOUND;
    if (rc == HASH_RING_OK)
        rc = hr_apply(ring, cur, m, n);
    hr_name_map_free(&gone);
    free(m);
    pthread_mutex_unlock(&ring->wlock);
    return rc;
}

int hash_ring_remove_node(hash_ring_t *ring, const void *name, size_t name_len)
{
    const void *names[1] = {name};
    return hash_ring_remove_nodes(ring, names, &name_len, 1);
}

int hash_ring_set_weight(hash_ring_t *ring, const void *name, size_t name_len, uint32_t weight)
{
    if (ring == NULL || !hr_name_ok(name, name_len))
        return HASH_RING_EINVAL;
    pthread_mutex_lock(&ring->wlock);
    hr_continuum *cur = atomic_load_explicit(&ring->current, memory_order_relaxed);
    hr_name *nm = hr_names_find(ring->names, name, name_len);
    uint32_t idx = nm ? hr_member_index(cur, nm) : HR_NOT_MEMBER;
    int rc = HASH_RING_OK;
    hr_member *m = NULL;
    if (idx == HR_NOT_MEMBER)
        rc = HASH_RING_ENOTFOUND;
    else if (cur->nodes[idx].weight != weight) {
        m = hr_members_copy(cur, 0);
        rc = m ? HASH_RING_OK : HASH_RING_ENOMEM;
        if (rc == HASH_RING_OK) {
            m[idx].weight = weight;
            rc = hr_apply(ring, cur, m, cur->nnodes);
        }
    }
    free(m);
    pthread_mutex_unlock(&ring->wlock);
    return rc;
}

int hash_ring_set_nodes(hash_ring_t *ring, const void *const *names, const size_t *name_lens,
                        const uint32_t *weights, size_t count)
{
    int rc = hr_batch_ok(ring, names, name_lens, count);
    if (rc != HASH_RING_OK)
        return rc;

    pthread_mutex_lock(&ring->wlock);
    hr_continuum *cur = atomic_load_explicit(&ring->current, memory_order_relaxed);
    size_t nfresh = 0;
    hr_member *m = malloc((count + 1) * sizeof *m);
    hr_name **fresh = malloc((count + 1) * sizeof *fresh);
    hr_name_map seen = {0, NULL, NULL};
    rc = m && fresh ? HASH_RING_OK : HASH_RING_ENOMEM;
    if (rc == HASH_RING_OK)
        rc = hr_intern_batch(ring, names, name_lens, weights, count, m, fresh, &nfresh);
    if (rc == HASH_RING_OK)
        rc = hr_check_distinct(m, count, &seen);
    int same = rc == HASH_RING_OK && count == cur->nnodes;
    for (size_t i = 0; same && i < count; i++)
        same = m[i].name == cur->nodes[i].name && m[i].weight == cur->nodes[i].weight;
    if (rc == HASH_RING_OK && !same)
        rc = hr_apply(ring, cur, m, count);
    if (rc != HASH_RING_OK)
        hr_forget(ring, fresh, nfresh);
    hr_name_map_free(&seen);
    free(fresh);
    free(m);
    pthread_mutex_unlock(&ring->wlock);
    return rc;
}

int hash_ring_snapshot_acquire(const hash_ring_t *ring, hash_ring_snapshot_t **out)
{
    if (ring == NULL || out == NULL)
        return HASH_RING_EINVAL;
    uintptr_t token;
    hr_continuum *c = hr_ring_enter(ring, &token);
    hr_continuum_ref(c);
    hr_ring_leave(ring, token);
    *out = c;
    return HASH_RING_OK;
}

void hash_ring_snapshot_release(hash_ring_snapshot_t *snap)
{
    hr_continuum_unref(snap);
}
