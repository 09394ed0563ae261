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

#include "digest.h"
#include "hash_ring.h"

#include <stdlib.h>
#include <string.h>

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
    for (size_t i = 0; i < cur->nnodes; i++)
        cur->nodes[i].name->member = HR_NOT_MEMBER;
    for (size_t i = 0; i < next->nnodes; i++)
        next->nodes[i].name->member = (uint32_t)i;
    atomic_store_explicit(&r->current, next, memory_order_seq_cst);
    hr_epoch_synchronize(&r->epoch);
    hr_continuum_unref(cur);
}

/* Builds and publishes membership m[0..n); on error nothing changes. */
static int hr_apply(hash_ring_t *r, hr_continuum *cur, const hr_member *m, size_t n)
{
    hr_continuum *next = NULL;
    int rc = hr_continuum_build(cur, m, n, &next);
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

/* Clears the marks of the batch's names; after a failure, also forgets
 * the names the batch interned, so that refused calls cost no memory.
 * Each such name is listed once (moved to the front of b) before any is
 * freed: a batch may name it twice. */
static void hr_batch_end(hash_ring_t *ring, hr_member *b, size_t count, int failed)
{
    size_t fresh = 0;
    for (size_t i = 0; i < count; i++) {
        hr_name *nm = b[i].name;
        if (failed && (nm->mark & HR_MARK_NEW))
            b[fresh++].name = nm; /* fresh <= i: an entry already read */
        nm->mark = 0;
    }
    for (size_t i = 0; i < fresh; i++)
        hr_names_forget(ring->names, b[i].name);
}

_Static_assert(HR_MAX_NODES <= (1u << HR_MAX_OWNER_BITS),
               "every member index must fit in an entry's owner bits");

static int hr_name_ok(const void *name, size_t len)
{
    return name != NULL && len > 0;
}

int hash_ring_add_nodes(hash_ring_t *ring, const void *const *names, const size_t *name_lens,
                        const uint32_t *weights, size_t count)
{
    if (ring == NULL || (count > 0 && (names == NULL || name_lens == NULL)))
        return HASH_RING_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (!hr_name_ok(names[i], name_lens[i]))
            return HASH_RING_EINVAL;
    if (count == 0)
        return HASH_RING_OK;
    if (count > HR_MAX_NODES)
        return HASH_RING_EINVAL;

    pthread_mutex_lock(&ring->wlock);
    hr_continuum *cur = atomic_load_explicit(&ring->current, memory_order_relaxed);
    int rc = HASH_RING_OK;
    hr_member *m = NULL;
    size_t n = cur->nnodes;
    if (n + count > HR_MAX_NODES) {
        rc = HASH_RING_EINVAL;
        goto out;
    }
    m = hr_members_copy(cur, count);
    if (m == NULL) {
        rc = HASH_RING_ENOMEM;
        goto out;
    }
    /* room for the names the table lacks, first: a call that fails later
     * keeps no allocation of its own (the table only ever trades an array
     * for a larger one, and only for names it will hold) */
    size_t unknown = 0;
    for (size_t i = 0; i < count; i++)
        unknown += hr_names_find(ring->names, names[i], name_lens[i]) == NULL;
    rc = hr_names_reserve(ring->names, unknown);
    if (rc != HASH_RING_OK)
        goto out;
    size_t interned = 0;
    for (; interned < count; interned++) {
        hr_name *nm;
        int created;
        rc = hr_names_intern(ring->names, ring->dialect, names[interned], name_lens[interned],
                             &nm, &created);
        if (rc != HASH_RING_OK)
            break;
        if (created)
            nm->mark |= HR_MARK_NEW;
        m[n + interned].name = nm;
        m[n + interned].weight = weights ? weights[interned] : 1;
    }
    /* Already a member, or twice in the batch. */
    for (size_t i = 0; rc == HASH_RING_OK && i < count; i++) {
        hr_name *nm = m[n + i].name;
        if (nm->member != HR_NOT_MEMBER || (nm->mark & HR_MARK_SEEN))
            rc = HASH_RING_EEXIST;
        nm->mark |= HR_MARK_SEEN;
    }
    if (rc == HASH_RING_OK)
        rc = hr_apply(ring, cur, m, n + count);
    hr_batch_end(ring, m + n, interned, rc != HASH_RING_OK);
out:
    free(m);
    pthread_mutex_unlock(&ring->wlock);
    return rc;
}

int hash_ring_add_node(hash_ring_t *ring, const void *name, size_t name_len, uint32_t weight)
{
    const void *names[1] = {name};
    return hash_ring_add_nodes(ring, names, &name_len, &weight, 1);
}

/* Shared by remove and set_weight: finds the member, rebuilds with edit. */
static int hr_change(hash_ring_t *ring, const void *name, size_t name_len, int remove,
                     uint32_t weight)
{
    if (ring == NULL || !hr_name_ok(name, name_len))
        return HASH_RING_EINVAL;
    pthread_mutex_lock(&ring->wlock);
    hr_continuum *cur = atomic_load_explicit(&ring->current, memory_order_relaxed);
    hr_name *nm = hr_names_find(ring->names, name, name_len);
    int rc = HASH_RING_OK;
    hr_member *m = NULL;
    if (nm == NULL || nm->member == HR_NOT_MEMBER) {
        rc = HASH_RING_ENOTFOUND;
        goto out;
    }
    size_t idx = nm->member, n = cur->nnodes;
    if (!remove && cur->nodes[idx].weight == weight)
        goto out;
    m = hr_members_copy(cur, 0);
    if (m == NULL) {
        rc = HASH_RING_ENOMEM;
        goto out;
    }
    if (remove) {
        for (size_t i = idx; i + 1 < n; i++)
            m[i] = m[i + 1];
        n--;
    } else {
        m[idx].weight = weight;
    }
    rc = hr_apply(ring, cur, m, n);
out:
    free(m);
    pthread_mutex_unlock(&ring->wlock);
    return rc;
}

int hash_ring_remove_node(hash_ring_t *ring, const void *name, size_t name_len)
{
    return hr_change(ring, name, name_len, 1, 0);
}

int hash_ring_set_weight(hash_ring_t *ring, const void *name, size_t name_len, uint32_t weight)
{
    return hr_change(ring, name, name_len, 0, weight);
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
