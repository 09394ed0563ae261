/* names.c - an open-addressing table of interned node names. */
#include "names.h"

#include "hash_ring.h"
#include "mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct hr_names {
    atomic_size_t refs;
    size_t count;
    size_t cap; /* power of two, or 0 */
    hr_name **slots;
};

#define HR_NAMES_MIN_CAP 16

hr_names *hr_names_new(void)
{
    hr_names *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    /* never empty: growing then always replaces one array by another, so a
     * call that grows the table and then fails keeps no extra block */
    t->slots = calloc(HR_NAMES_MIN_CAP, sizeof *t->slots);
    if (t->slots == NULL) {
        free(t);
        return NULL;
    }
    t->cap = HR_NAMES_MIN_CAP;
    atomic_init(&t->refs, 1);
    return t;
}

void hr_names_ref(hr_names *t)
{
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void hr_names_unref(hr_names *t)
{
    if (t == NULL || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i]);
    free(t->slots);
    free(t);
}

/* FNV-1a, 64-bit: names are configuration, not attacker-chosen input. */
static uint64_t hr_name_hash(const void *p, size_t len)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3u;
    }
    return h;
}

static hr_name *hr_names_lookup(const hr_names *t, const void *p, size_t len, uint64_t h)
{
    if (t->cap == 0)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        hr_name *n = t->slots[i];
        if (n == NULL)
            return NULL;
        if (n->hash == h && n->len == len && memcmp(n->bytes, p, len) == 0)
            return n;
    }
}

hr_name *hr_names_find(const hr_names *t, const void *p, size_t len)
{
    return hr_names_lookup(t, p, len, hr_name_hash(p, len));
}

static void hr_names_place(hr_name **slots, size_t cap, hr_name *n)
{
    size_t i = (size_t)n->hash & (cap - 1);
    while (slots[i] != NULL)
        i = (i + 1) & (cap - 1);
    slots[i] = n;
}

static int hr_names_grow(hr_names *t)
{
    size_t cap = t->cap ? t->cap * 2 : HR_NAMES_MIN_CAP;
    if (cap == 0 || cap > SIZE_MAX / sizeof(hr_name *))
        return HASH_RING_ENOMEM;
    hr_name **slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return HASH_RING_ENOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i] != NULL)
            hr_names_place(slots, cap, t->slots[i]);
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return HASH_RING_OK;
}

int hr_names_reserve(hr_names *t, size_t extra)
{
    while (t->count + extra > t->cap / 2)
        if (hr_names_grow(t) != HASH_RING_OK)
            return HASH_RING_ENOMEM;
    return HASH_RING_OK;
}

int hr_names_intern(hr_names *t, const hr_dialect *d, const void *p, size_t len, hr_name **out,
                    int *created)
{
    uint64_t h = hr_name_hash(p, len);
    hr_name *n = hr_names_lookup(t, p, len, h);
    if (created != NULL)
        *created = 0;
    if (n != NULL) {
        *out = n;
        return HASH_RING_OK;
    }
    /* Keep the load factor at or below 1/2. */
    if ((t->count + 1) * 2 > t->cap && hr_names_grow(t) != HASH_RING_OK)
        return HASH_RING_ENOMEM;
    /* name + NUL + room for the hashed form */
    if (len > (SIZE_MAX - sizeof *n - 1 - HR_HASH_NAME_EXTRA) / 2)
        return HASH_RING_ENOMEM;
    size_t extra = d->host_port != HR_HP_NONE ? len + HR_HASH_NAME_EXTRA : 0;
    n = malloc(sizeof *n + len + 1 + extra);
    if (n == NULL)
        return HASH_RING_ENOMEM;
    memcpy(n->bytes, p, len);
    n->bytes[len] = '\0';
    n->len = len;
    n->hkey = n->bytes;
    n->hlen = len;
    if (extra != 0) {
        char *alt = n->bytes + len + 1;
        n->hlen = hr_dialect_hash_name(d, n->bytes, len, alt);
        n->hkey = alt;
    }
    n->hash = h;
    hr_names_place(t->slots, t->cap, n);
    t->count++;
    *out = n;
    if (created != NULL)
        *created = 1;
    return HASH_RING_OK;
}

/* Linear probing without tombstones: after emptying slot i, every later
 * entry of the same probe run whose home slot is not cyclically in (i, j]
 * moves back into the hole, so that lookups still reach it. */
void hr_names_forget(hr_names *t, hr_name *n)
{
    size_t mask = t->cap - 1, i = (size_t)n->hash & mask;
    while (t->slots[i] != n)
        i = (i + 1) & mask;
    t->slots[i] = NULL;
    free(n);
    t->count--;
    for (size_t j = (i + 1) & mask; t->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)t->slots[j]->hash & mask;
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->slots[i] = t->slots[j];
        t->slots[j] = NULL;
        i = j;
    }
}

int hr_name_map_init(hr_name_map *m, size_t n)
{
    size_t cap = 4;
    while (cap / 2 < n && cap < SIZE_MAX / 4)
        cap *= 2;
    m->mask = cap - 1;
    m->key = calloc(cap, sizeof *m->key);
    m->val = hr_alloc_array(cap, sizeof *m->val);
    if (m->key == NULL || m->val == NULL) {
        hr_name_map_free(m);
        return HASH_RING_ENOMEM;
    }
    return HASH_RING_OK;
}

void hr_name_map_free(hr_name_map *m)
{
    free(m->key);
    free(m->val);
    m->key = NULL;
    m->val = NULL;
}

/* Names are keyed by address: the address alone identifies an interned
 * name, and hashing it reads no name (a cache miss each on large rings). */
static size_t hr_name_map_home(const hr_name_map *m, const hr_name *nm)
{
    return (size_t)(((uint64_t)(uintptr_t)nm * 0x9e3779b97f4a7c15u) >> 32) & m->mask;
}

int hr_name_map_put(hr_name_map *m, const hr_name *nm, uint32_t v, uint32_t *old)
{
    size_t i = hr_name_map_home(m, nm);
    for (; m->key[i] != NULL; i = (i + 1) & m->mask)
        if (m->key[i] == nm) {
            if (old != NULL)
                *old = m->val[i];
            return 0;
        }
    m->key[i] = nm;
    m->val[i] = v;
    return 1;
}

uint32_t hr_name_map_get(const hr_name_map *m, const hr_name *nm)
{
    for (size_t i = hr_name_map_home(m, nm); m->key[i] != NULL; i = (i + 1) & m->mask)
        if (m->key[i] == nm)
            return m->val[i];
    return HR_NOT_MEMBER;
}
