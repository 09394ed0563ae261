/* fuzz_target.h - what every fuzz target here provides and uses.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput and reports a broken
 * invariant through fz_fail(), which each driver defines: the libFuzzer
 * build aborts (fuzz_fail_abort.c: libFuzzer records a crash and writes the
 * input), the corpus replay test fails the current cmocka test
 * (fuzz_replay_main.c). */
#ifndef FUZZ_TARGET_H
#define FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Never returns: aborts, or leaves the cmocka test through longjmp. */
_Noreturn void fz_fail(const char *file, int line, const char *message);

#endif
