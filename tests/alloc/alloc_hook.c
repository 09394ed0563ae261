/* alloc_hook.c - the --wrap allocation wrappers (see alloc_hook.h). */
#include "alloc_hook.h"

#include <errno.h>
#include <stdlib.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
int __real_posix_memalign(void **out, size_t align, size_t size);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **out, size_t align, size_t size);

/* The tests are single-threaded; plain counters suffice. */
static int ah_armed, ah_sticky;
static size_t ah_fail_at, ah_calls, ah_nfailed;
static long ah_nlive;

void ah_arm(size_t fail_at, int sticky)
{
    ah_calls = 0;
    ah_nfailed = 0;
    ah_fail_at = fail_at;
    ah_sticky = sticky;
    ah_armed = 1;
}

size_t ah_disarm(void)
{
    ah_armed = 0;
    return ah_calls;
}

size_t ah_failed(void)
{
    return ah_nfailed;
}

long ah_live(void)
{
    return ah_nlive;
}

/* Counts one allocation call; nonzero when it must fail. */
static int ah_fail_now(void)
{
    if (!ah_armed)
        return 0;
    ah_calls++;
    int fail = ah_fail_at != 0 && (ah_calls == ah_fail_at || (ah_sticky && ah_calls > ah_fail_at));
    ah_nfailed += (size_t)fail;
    return fail;
}

void *__wrap_malloc(size_t size)
{
    if (ah_fail_now())
        return NULL;
    void *p = __real_malloc(size);
    ah_nlive += p != NULL;
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (ah_fail_now())
        return NULL;
    void *p = __real_calloc(n, size);
    ah_nlive += p != NULL;
    return p;
}

void *__wrap_realloc(void *p, size_t size)
{
    if (ah_fail_now())
        return NULL; /* p stays valid, as with a real failure */
    void *q = __real_realloc(p, size);
    if (p == NULL && q != NULL)
        ah_nlive++;
    else if (p != NULL && q == NULL && size == 0)
        ah_nlive--; /* glibc frees p for size 0 */
    return q;
}

void __wrap_free(void *p)
{
    ah_nlive -= p != NULL;
    __real_free(p);
}

int __wrap_posix_memalign(void **out, size_t align, size_t size)
{
    if (ah_fail_now())
        return ENOMEM;
    int rc = __real_posix_memalign(out, align, size);
    ah_nlive += rc == 0;
    return rc;
}
