#!/usr/bin/python3
"""Each public header compiles on its own, as C and as C++, without warnings.

  check_headers.py INCLUDE_DIR WORKDIR CC CXX [CLANG CLANGXX]

For every include/*.h, a translation unit that includes only that header
(first, then a second time to prove the include guard) is compiled with
-Wall -Wextra -Wpedantic -Werror (plus -Wstrict-prototypes -Wshadow
-Wconversion -Wundef for C) as C99, C11, C17 and as C++11, 14, 17, 20, with
GCC and, when given, with Clang.  Then a C++ unit that takes the address of
every HASH_RING_API function of the header is compiled and its undefined
symbols must all be the plain C names (the header's extern "C" works).
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrpkg  # noqa: E402
from hrpkg import check  # noqa: E402

C_STDS = ["c99", "c11", "c17"]
CXX_STDS = ["c++11", "c++14", "c++17", "c++20"]
COMMON = ["-Wall", "-Wextra", "-Wpedantic", "-Werror"]
C_EXTRA = ["-Wstrict-prototypes", "-Wshadow", "-Wconversion", "-Wundef"]
CXX_EXTRA = ["-Wshadow", "-Wconversion", "-Wundef", "-Wold-style-cast"]


def api_functions(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    return sorted({m.group(1) for m in
                   re.finditer(r"\bHASH_RING_API\b[^;{}]*?\b(\w+)\s*\(", text)})


def compile_ok(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return check(p.returncode == 0, what, " ".join(cmd) + "\n" + p.stdout + p.stderr)


_supported = {}


def supports(compiler, std, lang):
    if (compiler, std) in _supported:
        return _supported[(compiler, std)]
    p = subprocess.run([compiler, f"-std={std}", "-x", lang, "-fsyntax-only", "-"],
                       input="int x;\n", capture_output=True, text=True)
    _supported[(compiler, std)] = p.returncode == 0
    return p.returncode == 0


def main(include_dir, work, cc, cxx, clang=None, clangxx=None):
    hrpkg.fresh_dir(work)
    headers = sorted(h for h in os.listdir(include_dir) if h.endswith(".h"))
    for want in ("hash_ring.h", "hash_ring_memcache.h"):
        check(want in headers, f"include/ holds {want}", headers)
    compilers = [("gcc", cc, cxx)]
    if clang and clangxx:
        compilers.append(("clang", clang, clangxx))
    n = 0
    for h in headers:
        stem = h[:-2]
        body = f"#include <{h}>\n#include <{h}>\n"
        c_src = os.path.join(work, f"{stem}.c")
        cxx_src = os.path.join(work, f"{stem}.cpp")
        with open(c_src, "w") as f:
            f.write(body + "int main(void) { return 0; }\n")
        with open(cxx_src, "w") as f:
            f.write(body + "int main() { return 0; }\n")
        for tag, ccomp, cxxcomp in compilers:
            for std in C_STDS:
                if tag == "clang" and not supports(ccomp, std, "c"):
                    continue
                obj = os.path.join(work, f"{stem}.{tag}.{std}.o")
                n += compile_ok([ccomp, f"-std={std}", *COMMON, *C_EXTRA, "-I", include_dir,
                                 "-c", c_src, "-o", obj],
                                f"{h} alone compiles as {std} with {tag}, warnings as errors")
            for std in CXX_STDS:
                if not supports(cxxcomp, std, "c++"):
                    print(f"note: {cxxcomp} does not know -std={std}; not tried")
                    continue
                obj = os.path.join(work, f"{stem}.{tag}.{std}.o")
                n += compile_ok([cxxcomp, f"-std={std}", *COMMON, *CXX_EXTRA, "-I", include_dir,
                                 "-c", cxx_src, "-o", obj],
                                f"{h} alone compiles as {std} with {tag}, warnings as errors")

        # C linkage seen from C++.
        funcs = api_functions(os.path.join(include_dir, h))
        check(len(funcs) > 0, f"{h} declares HASH_RING_API functions")
        link_src = os.path.join(work, f"{stem}.linkage.cpp")
        with open(link_src, "w") as f:
            f.write(f"#include <{h}>\n")
            f.write("typedef void (*hr_fn)();\n")
            f.write("extern const hr_fn hr_table[];\n")
            f.write("const hr_fn hr_table[] = {\n")
            for fn in funcs:
                f.write(f"    reinterpret_cast<hr_fn>(&{fn}),\n")
            f.write("};\n")
        obj = os.path.join(work, f"{stem}.linkage.o")
        if compile_ok([cxx, "-std=c++11", "-I", include_dir, "-c", link_src, "-o", obj],
                      f"{h}: a C++ unit referencing all {len(funcs)} functions compiles"):
            und = set(hrpkg.run(["nm", "-u", obj], quiet=True).stdout.split()) - {"U"}
            mangled = sorted(s for s in und if s.startswith("_Z"))
            check(not mangled, f"{h}: C++ refers to its functions by their C names",
                  " ".join(mangled))
            missing = sorted(set(funcs) - und)
            check(not missing, f"{h}: every function appears as an undefined C symbol",
                  " ".join(missing))
    print(f"{len(headers)} headers, {n} compilations passed "
          f"({', '.join(t for t, _, _ in compilers)})")
    hrpkg.finish("headers")


if __name__ == "__main__":
    if len(sys.argv) not in (5, 7):
        hrpkg.die("usage: check_headers.py INCLUDE_DIR WORKDIR CC CXX [CLANG CLANGXX]")
    main(*sys.argv[1:])
