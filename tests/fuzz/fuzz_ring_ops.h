/* fuzz_ring_ops.h - the ring-operations fuzz target and its failure hook.
 *
 * fuzz_ring_ops.c holds LLVMFuzzerTestOneInput.  It reports a broken
 * invariant through fz_fail(), which each driver defines: the libFuzzer
 * build aborts (so libFuzzer records a crash and writes the input), the
 * corpus replay test fails the current cmocka test. */
#ifndef FUZZ_RING_OPS_H
#define FUZZ_RING_OPS_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Never returns: aborts, or leaves the cmocka test through longjmp. */
_Noreturn void fz_fail(const char *file, int line, const char *message);

#endif
