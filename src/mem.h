/* mem.h - allocation helpers (internal). */
#ifndef HR_MEM_H
#define HR_MEM_H

#include <stddef.h>

/* malloc(n * size) with overflow check; n 0 allocates one element so that
 * NULL always means failure.  Large arrays are aligned to 2 MB and marked
 * for transparent huge pages where the system offers them: a lookup in a
 * 100,000-node continuum touches a few random lines of arrays of tens of
 * megabytes, and with 4 kB pages each touch would also miss the TLB.
 * Release with free(). */
void *hr_alloc_array(size_t n, size_t size);

#endif
