/* names.h - the ring's interned node names (internal).
 *
 * Every name a ring has seen is kept, once, until the ring and every
 * snapshot of it are gone: that is what lets hash_ring_get_node() return a
 * name that stays valid until hash_ring_destroy() with no per-lookup
 * reference counting.  The table is touched by writers only (under the
 * ring's writer lock); readers only read the immutable bytes of a name. */
#ifndef HR_NAMES_H
#define HR_NAMES_H

#include "dialect.h"

#include <stddef.h>
#include <stdint.h>

#define HR_NOT_MEMBER UINT32_MAX

typedef struct hr_name {
    size_t len;        /* name bytes (NUL follows) */
    size_t hlen;       /* bytes hashed for the node's points */
    const char *hkey;  /* == bytes, or the dialect's host:port form after the name */
    uint64_t hash;     /* table hash */
    char bytes[];      /* name, NUL, then the hashed form when it differs */
} hr_name;

typedef struct hr_names hr_names;

hr_names *hr_names_new(void);
void hr_names_ref(hr_names *t);
void hr_names_unref(hr_names *t);

/* The interned name equal to (p, len), or NULL. */
hr_name *hr_names_find(const hr_names *t, const void *p, size_t len);

/* Makes room for `extra` more names, so that interning them does not grow
 * the table.  HASH_RING_OK or HASH_RING_ENOMEM (every name still there;
 * the capacity may have grown by the steps that succeeded). */
int hr_names_reserve(hr_names *t, size_t extra);

/* Finds or interns (p, len); *created (if not NULL) tells whether this
 * call made the entry.  HASH_RING_OK or HASH_RING_ENOMEM. */
int hr_names_intern(hr_names *t, const hr_dialect *d, const void *p, size_t len, hr_name **out,
                    int *created);

/* Removes and frees a name interned by a call that then failed: one that
 * no continuum ever held (a published name must stay: lookups returned
 * pointers to it).  Writers only. */
void hr_names_forget(hr_names *t, hr_name *n);

/* A map from interned names (by identity) to indexes, sized once for the
 * names of one writer call: which names a batch repeats, which member of
 * one continuum is which member of the next. */
typedef struct hr_name_map {
    size_t mask;            /* capacity - 1 (a power of two) */
    const hr_name **key;
    uint32_t *val;
} hr_name_map;

/* Room for n names.  HASH_RING_OK or HASH_RING_ENOMEM. */
int hr_name_map_init(hr_name_map *m, size_t n);
void hr_name_map_free(hr_name_map *m);

/* Maps nm to v unless nm is there already: returns 1 if added, 0 if not
 * (*old, if not NULL, receives the value it has). */
int hr_name_map_put(hr_name_map *m, const hr_name *nm, uint32_t v, uint32_t *old);

/* nm's value, or HR_NOT_MEMBER. */
uint32_t hr_name_map_get(const hr_name_map *m, const hr_name *nm);

#endif
