/* alloc_hook.h - allocation failure injection for the tests in this folder.
 *
 * The test programs are linked with -Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc,--wrap=free,--wrap=posix_memalign: every call to those
 * functions from the objects linked into the program (the library's object
 * files, the test itself) goes through the wrappers in alloc_hook.c; calls
 * made inside shared libraries (libcrypto, libc, cmocka) do not.
 *
 * While armed, the wrappers count allocation calls and make the N-th one
 * fail (or, in sticky mode, the N-th and every later one).  They always
 * count live blocks, so a test can check that everything allocated since a
 * point was freed again. */
#ifndef ALLOC_HOOK_H
#define ALLOC_HOOK_H

#include <stddef.h>

/* Starts counting allocation calls from 0; the fail_at-th (1-based) fails,
 * and with sticky every later one too.  fail_at 0: count only. */
void ah_arm(size_t fail_at, int sticky);

/* Stops failing; returns the number of allocation calls since ah_arm(). */
size_t ah_disarm(void);

/* Allocation calls that were made to fail since ah_arm(). */
size_t ah_failed(void);

/* Blocks allocated through the wrappers and not yet freed. */
long ah_live(void);

#endif
