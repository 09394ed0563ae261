/* fuzz_ring_ops.h - the ring-operations fuzz target (fuzz_ring_ops.c holds
 * LLVMFuzzerTestOneInput); the entry point and fz_fail() are declared in
 * fuzz_target.h, shared by every target. */
#ifndef FUZZ_RING_OPS_H
#define FUZZ_RING_OPS_H

#include "fuzz_target.h"

#endif
