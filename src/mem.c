/* mem.c - allocation helpers. */
#define _GNU_SOURCE 1 /* MADV_HUGEPAGE */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HR_HUGE (2u << 20)

void *hr_alloc_array(size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / size)
        return NULL;
    size_t bytes = n * size;
#if defined(MADV_HUGEPAGE)
    if (bytes >= 2 * (size_t)HR_HUGE) {
        void *p = NULL;
        if (posix_memalign(&p, HR_HUGE, bytes) != 0)
            return NULL;
        /* advice only: failure is harmless */
        (void)madvise(p, bytes & ~(size_t)(HR_HUGE - 1), MADV_HUGEPAGE);
        return p;
    }
#endif
    return malloc(bytes);
}
