/* fuzz_fail_abort.c - fz_fail() for the libFuzzer build: print and abort,
 * so libFuzzer reports the crash and saves the input. */
#include "fuzz_target.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void fz_fail(const char *file, int line, const char *message)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, message);
    fflush(stderr);
    abort();
}
