#!/usr/bin/python3
"""Proves that check_abi.py fails when it must, on small stand-in libraries.

  abi_selftest.py CC WORKDIR

A stand-in libhash_ring (two functions, version script, SONAME) is built,
its ABI dumped as the baseline exactly as update-abi.sh does, then variants
are compared with check_abi.py and its exit status is checked:

  same library                                   -> passes
  a function added (new node HASH_RING_1.1)      -> passes (minor release)
  a function removed, same SONAME                -> fails  (abidiff bit 8)
  a parameter type changed, same SONAME          -> fails  (abidiff bit 4 that
                                                    --no-added-syms keeps)
  a struct field added behind a public pointer   -> fails  (bit 4)
  a function removed, major 2 and .so.2          -> passes (new major)
  .so.2 while the header still says major 1      -> fails
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrpkg  # noqa: E402
from hrpkg import check  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

HEADER = """#ifndef HASH_RING_H
#define HASH_RING_H
#include <stddef.h>
#define HASH_RING_VERSION_MAJOR {major}
#define HASH_RING_VERSION_MINOR 0
#define HASH_RING_VERSION_PATCH 0
#define HASH_RING_VERSION_STRING "{major}.0.0"
#define HASH_RING_API __attribute__((visibility("default")))
typedef struct hash_ring_probe {{ int a; {extra_field} }} hash_ring_probe_t;
{decls}
#endif
"""

FUNCS = {
    "alpha": ("HASH_RING_API int hash_ring_alpha(int x);",
              "int hash_ring_alpha(int x) { return x + 1; }"),
    "alpha_long": ("HASH_RING_API int hash_ring_alpha(long x);",
                   "int hash_ring_alpha(long x) { return (int)x + 1; }"),
    "beta": ("HASH_RING_API size_t hash_ring_beta(const char *s, size_t n);",
             "size_t hash_ring_beta(const char *s, size_t n) { return s ? n : 0; }"),
    "probe": ("HASH_RING_API int hash_ring_probe_get(const hash_ring_probe_t *p);",
              "int hash_ring_probe_get(const hash_ring_probe_t *p) { return p->a; }"),
    "gamma": ("HASH_RING_API unsigned hash_ring_gamma(void);",
              "unsigned hash_ring_gamma(void) { return 7u; }"),
}

SYMBOL = {"alpha": "hash_ring_alpha", "alpha_long": "hash_ring_alpha", "beta": "hash_ring_beta",
          "probe": "hash_ring_probe_get", "gamma": "hash_ring_gamma"}


def build(cc, work, name, major, soname_major, funcs, extra_field="", new_node=()):
    d = hrpkg.fresh_dir(os.path.join(work, name))
    inc = hrpkg.fresh_dir(os.path.join(d, "include"))
    decls = "\n".join(FUNCS[f][0] for f in funcs)
    with open(os.path.join(inc, "hash_ring.h"), "w") as f:
        f.write(HEADER.format(major=major, decls=decls, extra_field=extra_field))
    with open(os.path.join(d, "lib.c"), "w") as f:
        f.write('#include "hash_ring.h"\n' + "\n".join(FUNCS[x][1] for x in funcs) + "\n")
    with open(os.path.join(d, "lib.map"), "w") as f:
        node = f"HASH_RING_{soname_major}"
        f.write(f"{node} {{ global: " +
                " ".join(f"{SYMBOL[x]};" for x in funcs if x not in new_node) +
                " local: *; };\n")
        if new_node:
            f.write(f"{node}.1 {{ global: " +
                    " ".join(f"{SYMBOL[x]};" for x in new_node) + f" }} {node};\n")
    lib = os.path.join(d, f"libhash_ring.so.{soname_major}.0.0")
    hrpkg.run([cc, "-g", "-O1", "-shared", "-fPIC", "-fvisibility=hidden", "-I", inc,
               f"-Wl,-soname,libhash_ring.so.{soname_major}",
               f"-Wl,--version-script={os.path.join(d, 'lib.map')}",
               "-o", lib, os.path.join(d, "lib.c")], quiet=True)
    return lib, inc


def main(cc, work):
    hrpkg.fresh_dir(work)
    base_lib, base_inc = build(cc, work, "v1", 1, 1, ["alpha", "beta", "probe"])
    abi_dir = hrpkg.fresh_dir(os.path.join(work, "abi"))
    hrpkg.run([sys.executable, os.path.join(HERE, "check_abi.py"), "dump", base_lib, base_inc,
               os.path.join(abi_dir, "libhash_ring.so.1.abi")], quiet=True)

    cases = [
        # name, header major, SONAME major, functions, extra field, new node, expect pass
        ("same", 1, 1, ["alpha", "beta", "probe"], "", (), True),
        ("added", 1, 1, ["alpha", "beta", "probe", "gamma"], "", ("gamma",), True),
        ("removed", 1, 1, ["alpha", "probe"], "", (), False),
        ("param-type", 1, 1, ["alpha_long", "beta", "probe"], "", (), False),
        ("struct-grew", 1, 1, ["alpha", "beta", "probe"], "long b;", (), False),
        ("major-bump", 2, 2, ["alpha", "probe"], "", (), True),
        ("soname-only", 1, 2, ["alpha", "beta", "probe"], "", (), False),
    ]
    for name, major, so_major, funcs, extra, new_node, expect_pass in cases:
        lib, inc = build(cc, work, name, major, so_major, funcs, extra, new_node)
        p = subprocess.run([sys.executable, os.path.join(HERE, "check_abi.py"), "check",
                            lib, abi_dir, inc], capture_output=True, text=True)
        want = 0 if expect_pass else 1
        ok = check(p.returncode == want,
                   f"case {name}: check_abi.py exits {want} "
                   f"({'passes' if expect_pass else 'fails'})",
                   f"exit status {p.returncode}\n{p.stdout}{p.stderr}")
        if ok:
            print(f"ok: case {name}: exit status {p.returncode}")
    hrpkg.finish("abi self-test")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        hrpkg.die("usage: abi_selftest.py CC WORKDIR")
    main(*sys.argv[1:])
