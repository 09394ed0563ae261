#!/usr/bin/python3
"""What a shared library exports, and what its static archive defines.

Two libraries, each with its own names, header and version node:

  LIBRARY             names           not        header                version node
  hash_ring           hash_ring_*     hash_ring_mc_*  hash_ring.h      HASH_RING_<MAJOR>[.n]
  hash_ring_memcache  hash_ring_mc_*                  hash_ring_memcache.h
                                                               HASH_RING_MEMCACHE_<MAJOR>[.n]

  check_exports.py shared LIBRARY LIB.so EXPORTS.txt INCLUDE_DIR
      - `nm -D --defined-only` of LIB lists exactly the lines of EXPORTS.txt
        (NAME@@VERSION), nothing more, nothing less;
      - every defined dynamic symbol is a GLOBAL FUNC of default visibility
        carrying the library's names, whose default version node is the
        library's (or a later .<n> node of it) per `readelf --dyn-syms` and
        `objdump -T`; no data (OBJECT/TLS/COMMON) symbol at all;
      - the only version definitions are the library's nodes;
      - every exported function is declared HASH_RING_API in the library's
        header, and every HASH_RING_API function of that header is exported
        (a header never promises what the library lacks).
  check_exports.py archive LIBRARY LIB.a EXPORTS.txt PREFIX...
      - every global symbol the static archive defines is a public export
        of the library or starts with one of the internal PREFIXes (so
        static linking takes no names from the application's namespace),
        and none of them is a data symbol with a public name.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrpkg  # noqa: E402
from hrpkg import check  # noqa: E402


def read_exports(path):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


# name prefix, excluded prefix, header, version node stem
LIBRARIES = {
    "hash_ring": ("hash_ring_", "hash_ring_mc_", "hash_ring.h", "HASH_RING"),
    "hash_ring_memcache": ("hash_ring_mc_", None, "hash_ring_memcache.h", "HASH_RING_MEMCACHE"),
}


def library(name):
    if name not in LIBRARIES:
        hrpkg.die(f"unknown library {name} (known: {' '.join(sorted(LIBRARIES))})")
    return LIBRARIES[name]


def has_names(sym, prefix, exclude):
    return sym.startswith(prefix) and not (exclude and sym.startswith(exclude))


def header_api(include_dir, headers=None):
    """{function name: header} for every HASH_RING_API declaration."""
    decl = {}
    for h in sorted(os.listdir(include_dir)):
        if not h.endswith(".h") or (headers is not None and h not in headers):
            continue
        text = open(os.path.join(include_dir, h), encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
        for m in re.finditer(r"\bHASH_RING_API\b([^;{}]*?)\b(\w+)\s*\(", text):
            decl[m.group(2)] = h
    return decl


def main_shared(libname, lib, exports_path, include_dir):
    prefix, exclude, header, stem = library(libname)
    major = hrpkg.header_version(os.path.join(include_dir, "hash_ring.h"))[0]
    node = f"{stem}_{major}"
    node_re = re.compile(r"^%s(\.[0-9]+)*$" % node)
    names_what = f"{prefix}*" + (f" but not {exclude}*" if exclude else "")

    nm = hrpkg.run(["nm", "-D", "--defined-only", lib]).stdout
    exported = []
    version_defs = []
    for line in nm.splitlines():
        f = line.split()
        if len(f) != 3:
            check(False, "nm line has the form ADDRESS TYPE NAME", line)
            continue
        _, typ, sym = f
        if typ == "A":  # a version definition (SHN_ABS)
            version_defs.append(sym)
            continue
        exported.append(sym)
        name = re.split(r"@", sym)[0]
        check(typ == "T", f"{sym} is a function in .text (nm type {typ})")
        check(has_names(name, prefix, exclude), f"{name} is named {names_what}")
        check("@@" in sym, f"{sym} has a default version node (NAME@@NODE)")
        if "@@" in sym:
            check(node_re.match(sym.split("@@", 1)[1]) is not None,
                  f"{sym}: version node is {node}[.n]")
    check(len(exported) > 0, "the library exports something", nm)
    check(version_defs != [], "the library defines a version node")
    for v in version_defs:
        check(node_re.match(v) is not None, f"version definition {v} is {node}[.n]")

    expected = read_exports(exports_path)
    missing = sorted(set(expected) - set(exported))
    extra = sorted(set(exported) - set(expected))
    check(not missing, f"every symbol of {os.path.basename(exports_path)} is exported",
          "missing: " + " ".join(missing))
    check(not extra, "nothing is exported beyond the committed list",
          "unexpected: " + " ".join(extra) +
          "\n(a new public function? add it to the version script in a new node and"
          " rerun tests/packaging/update-abi.sh)")
    check(len(expected) == len(set(expected)), "exports.txt lists each symbol once")
    check(expected == sorted(expected), "exports.txt is sorted")

    # The same from readelf --dyn-syms: type, binding, visibility, version.
    dyn = hrpkg.run(["readelf", "--dyn-syms", "-W", lib]).stdout
    seen = 0
    for line in dyn.splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].endswith(":") or not f[0][:-1].isdigit():
            continue
        _num, _val, size, typ, bind, vis, ndx, name = f[:8]
        if ndx == "UND":
            continue
        if typ == "SECTION" or (typ == "NOTYPE" and name == ""):
            continue
        if ndx == "ABS" and typ == "OBJECT" and size == "0" and node_re.match(name.split("@")[0]):
            continue  # older binutils print the version node this way
        seen += 1
        check(typ == "FUNC", f"readelf: {name} is FUNC (not {typ})")
        check(bind == "GLOBAL", f"readelf: {name} binding is GLOBAL (not {bind})")
        check(vis == "DEFAULT", f"readelf: {name} visibility is DEFAULT (not {vis})")
        check("@@" in name and node_re.match(name.split("@@")[1]) is not None,
              f"readelf: {name} carries the default version node {node}[.n]")
    check(seen == len(exported), "readelf and nm agree on the number of exported symbols",
          f"readelf {seen}, nm {len(exported)}")

    # objdump -T: the version column of every defined symbol.
    od = hrpkg.run(["objdump", "-T", lib]).stdout
    od_defined = 0
    for line in od.splitlines():
        # ADDRESS FLAGS(7) SECTION<TAB>SIZE  VERSION NAME
        if "\t" not in line or not re.match(r"^[0-9a-f]{8,16} ", line):
            continue
        left, right = line.split("\t", 1)
        width = left.index(" ")
        flags, section = left[width + 1:width + 8], left[width + 9:].strip()
        rf = right.split()
        if section == "*UND*" or section == "*ABS*" or len(rf) != 3:
            continue
        _size, version, name = rf
        od_defined += 1
        check(node_re.match(version) is not None,
              f"objdump -T: {name} has default version {node}[.n] (got {version})")
        check(flags[0] == "g" and flags[5:7] == "DF",
              f"objdump -T: {name} is a global dynamic function (flags '{flags}')")
    check(od_defined == len(exported), "objdump -T and nm agree on the defined symbols",
          f"objdump {od_defined}, nm {len(exported)}")

    # Header declarations versus exports.
    decl = header_api(include_dir, [header])
    names = {s.split("@")[0] for s in exported}
    check(len(decl) > 0, f"{header} declares HASH_RING_API functions")
    for n in sorted(names - set(decl)):
        check(False, f"exported {n} is declared HASH_RING_API in {header}")
    for n in sorted(set(decl) - names):
        check(False, f"{n} (declared in {decl[n]}) is exported by the library")
    print(f"lib{libname}: {len(exported)} exported functions, version nodes "
          f"{sorted(set(version_defs))}, {len(decl)} HASH_RING_API declarations in {header}")
    hrpkg.finish(f"exports of lib{libname}")


def main_archive(libname, archive, exports_path, prefixes):
    prefix, exclude, _header, _stem = library(libname)
    public = {line.split("@")[0] for line in read_exports(exports_path)}
    check(all(has_names(p, prefix, exclude) for p in public),
          f"{os.path.basename(exports_path)} lists only lib{libname}'s names", sorted(public))
    out = hrpkg.run(["nm", "-g", "--defined-only", archive]).stdout
    count = 0
    bad = []
    member = None
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            member = line[:-1]
            continue
        f = line.split()
        if len(f) != 3:
            continue
        count += 1
        _, typ, name = f
        if name in public:
            check(typ == "T", f"archive: public {name} is a function (type {typ})")
            continue
        if not any(name.startswith(p) for p in prefixes):
            bad.append(f"{name} ({typ}, {member})")
    check(count > 0, "the archive defines global symbols")
    check(not bad, "every global symbol of the archive is public or carries an internal "
          f"prefix ({' '.join(prefixes)})", "\n".join(bad))
    print(f"{count} global definitions in {os.path.basename(archive)}")
    hrpkg.finish(f"archive namespace of lib{libname}")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "shared":
        main_shared(*sys.argv[2:])
    elif len(sys.argv) >= 6 and sys.argv[1] == "archive":
        main_archive(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        hrpkg.die("usage: check_exports.py shared LIBRARY LIB EXPORTS INCLUDE_DIR | "
                  "archive LIBRARY LIB.a EXPORTS PREFIX...")
