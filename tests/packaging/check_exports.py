#!/usr/bin/python3
"""What the shared library exports, and what the static archive defines.

  check_exports.py shared LIB.so EXPORTS.txt INCLUDE_DIR
      - `nm -D --defined-only` of LIB lists exactly the lines of EXPORTS.txt
        (NAME@@VERSION), nothing more, nothing less;
      - every defined dynamic symbol is a GLOBAL FUNC of default visibility
        named hash_ring_*, whose default version node is HASH_RING_<MAJOR>
        (or a later HASH_RING_<MAJOR>.<n> node) per `readelf --dyn-syms`
        and `objdump -T`; no data (OBJECT/TLS/COMMON) symbol at all;
      - the only version definitions are HASH_RING_<MAJOR>[.n] nodes;
      - every exported function is declared HASH_RING_API in a public
        header, and every HASH_RING_API function of the public headers is
        exported (a header never promises what the library lacks).
  check_exports.py archive LIB.a EXPORTS.txt PREFIX...
      - every global symbol the static archive defines is a public export
        or starts with one of the internal PREFIXes (so static linking
        takes no names from the application's namespace), and none of
        them is a data symbol with a public name.
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


def header_api(include_dir):
    """{function name: header} for every HASH_RING_API declaration."""
    decl = {}
    for h in sorted(os.listdir(include_dir)):
        if not h.endswith(".h"):
            continue
        text = open(os.path.join(include_dir, h), encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
        for m in re.finditer(r"\bHASH_RING_API\b([^;{}]*?)\b(\w+)\s*\(", text):
            decl[m.group(2)] = h
    return decl


def main_shared(lib, exports_path, include_dir):
    major = hrpkg.header_version(os.path.join(include_dir, "hash_ring.h"))[0]
    node_re = re.compile(r"^HASH_RING_%d(\.[0-9]+)*$" % major)

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
        check(name.startswith("hash_ring_"), f"{name} carries the hash_ring_ prefix")
        check("@@" in sym, f"{sym} has a default version node (NAME@@NODE)")
        if "@@" in sym:
            check(node_re.match(sym.split("@@", 1)[1]) is not None,
                  f"{sym}: version node is HASH_RING_{major}[.n]")
    check(len(exported) > 0, "the library exports something", nm)
    check(version_defs != [], "the library defines a version node")
    for v in version_defs:
        check(node_re.match(v) is not None, f"version definition {v} is HASH_RING_{major}[.n]")

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
              f"readelf: {name} carries the default version node HASH_RING_{major}[.n]")
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
              f"objdump -T: {name} has default version HASH_RING_{major}[.n] (got {version})")
        check(flags[0] == "g" and flags[5:7] == "DF",
              f"objdump -T: {name} is a global dynamic function (flags '{flags}')")
    check(od_defined == len(exported), "objdump -T and nm agree on the defined symbols",
          f"objdump {od_defined}, nm {len(exported)}")

    # Header declarations versus exports.
    decl = header_api(include_dir)
    names = {s.split("@")[0] for s in exported}
    check(len(decl) > 0, "the public headers declare HASH_RING_API functions")
    for n in sorted(names - set(decl)):
        check(False, f"exported {n} is declared HASH_RING_API in a public header")
    for n in sorted(set(decl) - names):
        check(False, f"{n} (declared in {decl[n]}) is exported by the library")
    print(f"{len(exported)} exported functions, version nodes {sorted(set(version_defs))}, "
          f"{len(decl)} HASH_RING_API declarations in {include_dir}")
    hrpkg.finish("exports")


def main_archive(archive, exports_path, prefixes):
    public = {line.split("@")[0] for line in read_exports(exports_path)}
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
    hrpkg.finish("archive namespace")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "shared":
        main_shared(*sys.argv[2:])
    elif len(sys.argv) >= 5 and sys.argv[1] == "archive":
        main_archive(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        hrpkg.die("usage: check_exports.py shared LIB EXPORTS INCLUDE_DIR | "
                  "archive LIB.a EXPORTS PREFIX...")
