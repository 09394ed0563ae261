#!/usr/bin/python3
"""The batch lookup through Python ctypes, against the same batch called from
C and against one ctypes call per key (issue 16's binding targets).

  ffi_bench.py --lib PATH/libhash_ring.so.1 [--include DIR] [--cc CC]
               [--work DIR] [--nodes 100] [--keys 1000] [--runs 7]
               [--min-ms 40] [--json] [--smoke]

One process, one ring (python dialect, nodes node-0..node-<N-1>), one set of
keys (distinct, 8 to 40 bytes, as tests/bench/hash_ring_bench uses) held in
ctypes arrays.  Each run times, back to back and by the thread's CPU time:

  C        the 1,000-key hash_ring_get_node_batch called in a loop by a small
           C function (compiled here with CC, loaded into this process with
           ctypes, given the library's own function pointer: the same code,
           the same arrays, no foreign call per batch);
  ctypes   the same batch, one ctypes call per batch, arrays built once;
  ctypes+marshal   the same, but the key arrays are built from a Python list
           of bytes at every call, as a binding taking a list would do, the
           plain way: ctypes arrays initialised from the list;
  ctypes+packed    the same list, marshalled the fast way: the keys joined
           into one bytes object, lengths and pointers (its address plus
           offsets) in array.array, handed to the call without copying;
  single   one ctypes hash_ring_get_node call per key (the out-parameters
           made once, as a binding would keep them).

Each figure is the median over the runs of the per-key time; a ratio is the
median of the per-run ratios (each taken within one run).  Before timing,
every key's answer is checked to be the same by all five ways.  --smoke runs
tiny sizes once, checks the answers and prints the table (no target is
judged): ctest runs it so the script cannot rot.
"""

import argparse
import array
import ctypes
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

C_REF = r"""
#include <stddef.h>
#include <time.h>

typedef int (*hr_batch_fn)(const void *ring, const void *const *keys, const size_t *key_lens,
                           size_t count, const char **nodes, size_t *node_lens);
typedef int (*hr_single_fn)(const void *ring, const void *key, size_t key_len,
                            const char **node, size_t *node_len);

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* reps batches of count keys; returns the thread CPU time in ns, or -1
 * with *status set when a call fails. */
long long hr_ref_batch(hr_batch_fn fn, const void *ring, const void *const *keys,
                       const size_t *lens, size_t count, const char **nodes,
                       size_t *node_lens, int reps, int *status)
{
    long long t0 = now_ns();
    for (int r = 0; r < reps; r++) {
        int rc = fn(ring, keys, lens, count, nodes, node_lens);
        if (rc != 0) {
            *status = rc;
            return -1;
        }
    }
    return now_ns() - t0;
}

/* The same keys one hash_ring_get_node call each, from C (context only). */
long long hr_ref_single(hr_single_fn fn, const void *ring, const void *const *keys,
                        const size_t *lens, size_t count, const char **nodes,
                        size_t *node_lens, int reps, int *status)
{
    long long t0 = now_ns();
    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < count; i++) {
            int rc = fn(ring, keys[i], lens[i], &nodes[i], &node_lens[i]);
            if (rc != 0) {
                *status = rc;
                return -1;
            }
        }
    }
    return now_ns() - t0;
}
"""

c_size_p = ctypes.POINTER(ctypes.c_size_t)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)
c_char_pp = ctypes.POINTER(ctypes.c_char_p)


def make_keys(n):
    """Distinct keys of 8 to 40 bytes (a fixed linear congruential walk)."""
    keys, x = [], 12345
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        k = b"key-%d-" % i
        want = 8 + x % 33
        k = (k + b"abcdefghijklmnopqrstuvwxyz0123456789" * 2)[:max(want, len(k))]
        keys.append(k)
    assert len(set(keys)) == n
    return keys


def build_ref(cc, work):
    os.makedirs(work, exist_ok=True)
    src = os.path.join(work, "ffi_bench_ref.c")
    so = os.path.join(work, "ffi_bench_ref.so")
    with open(src, "w") as f:
        f.write(C_REF)
    subprocess.run([cc, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-O2", "-shared", "-fPIC",
                    "-o", so, src], check=True)
    return ctypes.CDLL(so)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", required=True, help="libhash_ring.so.<MAJOR> to load")
    ap.add_argument("--include", help="unused; accepted for symmetry with test_ffi.py")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--work")
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--min-ms", type=float, default=40.0,
                    help="CPU time of each timed case in one run (default 40)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.nodes, a.keys, a.runs, a.min_ms = 10, 50, 1, 1.0

    lib = ctypes.CDLL(a.lib)
    lib.hash_ring_create.argtypes = [c_void_pp, ctypes.c_int]
    lib.hash_ring_destroy.argtypes = [ctypes.c_void_p]
    lib.hash_ring_destroy.restype = None
    lib.hash_ring_add_nodes.argtypes = [ctypes.c_void_p, c_char_pp, c_size_p,
                                        ctypes.POINTER(ctypes.c_uint32), ctypes.c_size_t]
    lib.hash_ring_get_node.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                       c_void_pp, c_size_p]
    lib.hash_ring_get_node_batch.argtypes = [ctypes.c_void_p, c_char_pp, c_size_p,
                                             ctypes.c_size_t, c_void_pp, c_size_p]
    lib.hash_ring_version_string.restype = ctypes.c_char_p

    work = a.work or tempfile.mkdtemp(prefix="ffi_bench.")
    ref = build_ref(a.cc, work)
    fn_t = ctypes.c_void_p
    for f in (ref.hr_ref_batch, ref.hr_ref_single):
        f.restype = ctypes.c_longlong
        f.argtypes = [fn_t, ctypes.c_void_p, c_char_pp, c_size_p, ctypes.c_size_t, c_void_pp,
                      c_size_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    batch_ptr = ctypes.cast(lib.hash_ring_get_node_batch, ctypes.c_void_p)
    single_ptr = ctypes.cast(lib.hash_ring_get_node, ctypes.c_void_p)

    ring = ctypes.c_void_p()
    if lib.hash_ring_create(ctypes.byref(ring), 0) != 0:
        sys.exit("hash_ring_create failed")
    names = [b"node-%d" % i for i in range(a.nodes)]
    rc = lib.hash_ring_add_nodes(ring, (ctypes.c_char_p * a.nodes)(*names),
                                 (ctypes.c_size_t * a.nodes)(*map(len, names)), None, a.nodes)
    if rc != 0:
        sys.exit(f"hash_ring_add_nodes: {rc}")

    keys = make_keys(a.keys)
    n = len(keys)
    karr = (ctypes.c_char_p * n)(*keys)
    larr = (ctypes.c_size_t * n)(*map(len, keys))
    nodes = (ctypes.c_void_p * n)()
    nlens = (ctypes.c_size_t * n)()
    status = ctypes.c_int(0)

    get_batch = lib.hash_ring_get_node_batch
    get_node = lib.hash_ring_get_node
    size_code = "Q" if ctypes.sizeof(ctypes.c_size_t) == 8 else "I"
    ptr_code = "Q" if ctypes.sizeof(ctypes.c_void_p) == 8 else "I"

    def packed_call():
        buf = b"".join(keys)
        base = ctypes.cast(ctypes.c_char_p(buf), ctypes.c_void_p).value
        la = array.array(size_code, map(len, keys))
        pa = array.array(ptr_code, itertools.accumulate(la, initial=base))
        pa.pop()
        rc = get_batch(ring, (ctypes.c_char_p * n).from_buffer(pa),
                       (ctypes.c_size_t * n).from_buffer(la), n, nodes, nlens)
        del buf  # the pointers point into it: alive until the call returned
        return rc

    # ---- the five ways answer alike
    def answers():
        return [ctypes.string_at(nodes[i], nlens[i]) for i in range(n)]

    if lib.hash_ring_get_node_batch(ring, karr, larr, n, nodes, nlens) != 0:
        sys.exit("hash_ring_get_node_batch failed")
    via_ctypes = answers()
    ctypes.memset(nodes, 0, ctypes.sizeof(nodes))
    if ref.hr_ref_batch(batch_ptr, ring, karr, larr, n, nodes, nlens, 1, ctypes.byref(status)) < 0:
        sys.exit(f"batch from C failed: {status.value}")
    via_c = answers()
    ctypes.memset(nodes, 0, ctypes.sizeof(nodes))
    if ref.hr_ref_single(single_ptr, ring, karr, larr, n, nodes, nlens, 1,
                         ctypes.byref(status)) < 0:
        sys.exit(f"single from C failed: {status.value}")
    via_c_single = answers()
    p, ln = ctypes.c_void_p(), ctypes.c_size_t()
    single = []
    for k in keys:
        if lib.hash_ring_get_node(ring, k, len(k), ctypes.byref(p), ctypes.byref(ln)) != 0:
            sys.exit("hash_ring_get_node failed")
        single.append(ctypes.string_at(p.value, ln.value))
    ctypes.memset(nodes, 0, ctypes.sizeof(nodes))
    if packed_call() != 0:
        sys.exit("packed batch failed")
    via_packed = answers()
    if not (via_ctypes == via_c == via_c_single == single == via_packed):
        bad = [i for i in range(n) if len({via_ctypes[i], via_c[i], via_c_single[i],
                                             single[i]}) != 1]
        sys.exit(f"the ways disagree on {len(bad)} keys, first {keys[bad[0]]!r}")
    if len(set(single)) < min(a.nodes, n) // 2:
        sys.exit("suspiciously few distinct owners: the keys are not spread")

    # ---- timing

    def t_c(reps):
        t = ref.hr_ref_batch(batch_ptr, ring, karr, larr, n, nodes, nlens, reps,
                             ctypes.byref(status))
        if t < 0:
            sys.exit(f"batch from C failed: {status.value}")
        return t

    def t_c_single(reps):
        t = ref.hr_ref_single(single_ptr, ring, karr, larr, n, nodes, nlens, reps,
                              ctypes.byref(status))
        if t < 0:
            sys.exit(f"single from C failed: {status.value}")
        return t

    def t_ctypes(reps):
        t0 = time.thread_time_ns()
        for _ in range(reps):
            if get_batch(ring, karr, larr, n, nodes, nlens) != 0:
                sys.exit("batch failed")
        return time.thread_time_ns() - t0

    def t_marshal(reps):
        t0 = time.thread_time_ns()
        for _ in range(reps):
            ka = (ctypes.c_char_p * n)(*keys)
            la = (ctypes.c_size_t * n)(*map(len, keys))
            if get_batch(ring, ka, la, n, nodes, nlens) != 0:
                sys.exit("batch failed")
        return time.thread_time_ns() - t0

    def t_packed(reps):
        t0 = time.thread_time_ns()
        for _ in range(reps):
            if packed_call() != 0:
                sys.exit("batch failed")
        return time.thread_time_ns() - t0

    def t_single(reps):
        bp, bl = ctypes.byref(p), ctypes.byref(ln)
        t0 = time.thread_time_ns()
        for _ in range(reps):
            for k in keys:
                if get_node(ring, k, len(k), bp, bl) != 0:
                    sys.exit("get_node failed")
        return time.thread_time_ns() - t0

    cases = [("c", t_c), ("c_single", t_c_single), ("ctypes", t_ctypes),
             ("ctypes_marshal", t_marshal), ("ctypes_packed", t_packed),
             ("ctypes_single", t_single)]
    # Repetitions per case so that each takes about --min-ms of CPU time.
    reps = {}
    for name, fn in cases:
        r = 1
        while True:
            t = fn(r)
            if t >= a.min_ms * 1e6 or r >= 1 << 20:
                break
            r = max(r * 2, int(r * a.min_ms * 1e6 / max(t, 1)) + 1)
        reps[name] = r
    per_key = {name: [] for name, _ in cases}
    for _ in range(a.runs):
        for name, fn in cases:
            per_key[name].append(fn(reps[name]) / (reps[name] * n))
    lib.hash_ring_destroy(ring)

    med = {name: statistics.median(v) for name, v in per_key.items()}

    def ratio(x, y):
        return statistics.median([a_ / b_ for a_, b_ in zip(per_key[x], per_key[y])])

    r_batch = ratio("ctypes", "c")
    r_marshal = ratio("ctypes_marshal", "c")
    r_single = ratio("ctypes_single", "ctypes")
    r_single_m = ratio("ctypes_single", "ctypes_marshal")
    r_packed = ratio("ctypes_packed", "c")
    r_single_p = ratio("ctypes_single", "ctypes_packed")
    rows = [
        ("batch from C (hash_ring_get_node_batch)", med["c"], "", ""),
        ("single-key calls from C (hash_ring_get_node)", med["c_single"],
         f"{ratio('c_single', 'c'):.2f}x the C batch", ""),
        ("batch through ctypes, arrays built once", med["ctypes"],
         f"{r_batch:.2f}x the C batch", "<= 1.5x: " + ("met" if r_batch <= 1.5 else "not met")),
        ("batch through ctypes, arrays built from a list each call", med["ctypes_marshal"],
         f"{r_marshal:.2f}x the C batch", ""),
        ("batch through ctypes, list packed each call (array.array)", med["ctypes_packed"],
         f"{r_packed:.2f}x the C batch", ""),
        ("single-key ctypes calls", med["ctypes_single"],
         f"{r_single:.1f}x the ctypes batch ({r_single_p:.1f}x packed, "
         f"{r_single_m:.1f}x plain marshalling)",
         ">= 10x: " + ("met" if r_single >= 10 else "not met")),
    ]
    info = {"library": a.lib, "version": lib.hash_ring_version_string().decode(),
            "nodes": a.nodes, "keys": n, "runs": a.runs, "reps": reps,
            "per_key_ns_median": med, "per_key_ns_runs": per_key,
            "ratio_ctypes_batch_to_c_batch": r_batch,
            "ratio_ctypes_marshal_batch_to_c_batch": r_marshal,
            "ratio_ctypes_single_to_ctypes_batch": r_single,
            "ratio_ctypes_single_to_ctypes_marshal_batch": r_single_m,
            "ratio_ctypes_packed_batch_to_c_batch": r_packed,
            "ratio_ctypes_single_to_ctypes_packed_batch": r_single_p,
            "python": sys.version.split()[0], "loadavg": os.getloadavg()[0]}
    if a.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"hash_ring {info['version']} via ctypes, Python {info['python']}: "
              f"{a.nodes}-node ring, {n}-key batch, {a.runs} runs, thread CPU time, "
              "median per key" + (" (smoke: tiny sizes, no target judged)" if a.smoke else ""))
        for what, ns, vs, target in rows:
            print(f"  {what:<58} {ns:9.1f} ns/key  {vs:<44} "
                  f"{'' if a.smoke else target}")
        print(f"  answers: {n} keys, the five ways agree; load average {info['loadavg']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
