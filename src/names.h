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

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HR_NOT_MEMBER UINT32_MAX

typedef struct hr_name {
    size_t len;        /* name bytes (NUL follows) */
    size_t hlen;       /* bytes hashed for the node's points */
    const char *hkey;  /* == bytes, or the dialect's host:port form after the name */
    uint64_t hash;     /* table hash */
    uint32_t member;   /* writers only: index in the current continuum, or HR_NOT_MEMBER */
    uint32_t mark;     /* writers only: scratch for batch checks */
    char bytes[];      /* name, NUL, then the hashed form when it differs */
} hr_name;

typedef struct hr_names hr_names;

hr_names *hr_names_new(void);
void hr_names_ref(hr_names *t);
void hr_names_unref(hr_names *t);

/* The interned name equal to (p, len), or NULL. */
hr_name *hr_names_find(const hr_names *t, const void *p, size_t len);

/* Finds or interns (p, len).  HASH_RING_OK or HASH_RING_ENOMEM. */
int hr_names_intern(hr_names *t, const hr_dialect *d, const void *p, size_t len, hr_name **out);

#endif
