#!/usr/bin/python3
"""One version everywhere.

  check_version.py HEADER PROJECT_VERSION BUILD_DIR PROBE [MEMCACHE]

The version lives in include/hash_ring.h.  This checks that it agrees with:
the CMake project version, hash_ringConfigVersion.cmake, the Version of
hash_ring.pc and hash_ring_memcache.pc (whose Requires names hash_ring at
this version), each shared library's file name (VERSION) and SONAME
(SOVERSION = major) for libhash_ring and libhash_ring_memcache (MEMCACHE ON,
the default; OFF when the client is not built), the CPack package versions
and names, the footer of the hash-ring(1) man page (its .TH line, in the
source tree beside the header's include/), and what the library reports at
run time (PROBE, linked with the library, prints hash_ring_version() and
hash_ring_version_string() next to the header macros it was compiled with).
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrpkg  # noqa: E402
from hrpkg import check  # noqa: E402


def cmake_set(path, var):
    m = re.search(r'set\(%s "([^"]*)"\)' % re.escape(var), open(path, encoding="utf-8").read())
    return m.group(1) if m else None


def main(header, project_version, build, probe, memcache="ON"):
    libs = ["hash_ring"]
    if memcache.upper() in ("ON", "1", "TRUE", "YES"):
        libs.append("hash_ring_memcache")
    major, minor, patch, vstring = hrpkg.header_version(header)
    dotted = f"{major}.{minor}.{patch}"
    print(f"header: {dotted}, string {vstring}")
    check(vstring == dotted, "HASH_RING_VERSION_STRING is MAJOR.MINOR.PATCH", vstring)
    check(project_version == dotted, "CMake project version is the header's", project_version)

    cv = os.path.join(build, "hash_ringConfigVersion.cmake")
    check(cmake_set(cv, "PACKAGE_VERSION") == dotted,
          "hash_ringConfigVersion.cmake PACKAGE_VERSION", cmake_set(cv, "PACKAGE_VERSION"))
    for name in libs:
        pc = open(os.path.join(build, f"{name}.pc"), encoding="utf-8").read()
        m = re.search(r"^Version:\s*(\S+)\s*$", pc, re.M)
        check(m is not None and m.group(1) == dotted, f"{name}.pc Version", m and m.group(1))
        if name != "hash_ring":
            m = re.search(r"^Requires:\s*(.*?)\s*$", pc, re.M)
            check(m is not None and m.group(1) == f"hash_ring >= {dotted}",
                  f"{name}.pc Requires: hash_ring >= {dotted}", m and m.group(1))

        lib = os.path.join(build, f"lib{name}.so")
        if os.path.exists(lib):
            real = os.path.basename(os.path.realpath(lib))
            check(real == f"lib{name}.so.{dotted}", f"shared library file is lib{name}.so."
                  f"{dotted} (VERSION)", real)
            check(hrpkg.soname(lib) == f"lib{name}.so.{major}",
                  f"SONAME is lib{name}.so.{major} (SOVERSION = major)", hrpkg.soname(lib))
        else:
            print(f"no lib{name}.so in this build: file name and SONAME not checked")

    cp = os.path.join(build, "CPackConfig.cmake")
    if os.path.exists(cp):
        check(cmake_set(cp, "CPACK_PACKAGE_VERSION") == dotted, "CPack package version",
              cmake_set(cp, "CPACK_PACKAGE_VERSION"))
        check(cmake_set(cp, "CPACK_DEBIAN_PACKAGE_VERSION") == dotted,
              "Debian package version (before the revision)",
              cmake_set(cp, "CPACK_DEBIAN_PACKAGE_VERSION"))
        check(cmake_set(cp, "CPACK_DEBIAN_RUNTIME_PACKAGE_NAME") in
              (None, f"libhash-ring{major}"),
              f"runtime package is named after the SONAME: libhash-ring{major}",
              cmake_set(cp, "CPACK_DEBIAN_RUNTIME_PACKAGE_NAME"))
        if "hash_ring_memcache" in libs:
            check(cmake_set(cp, "CPACK_DEBIAN_MEMCACHE_PACKAGE_NAME") ==
                  f"libhash-ring-memcache{major}",
                  f"the client's package is named after its SONAME: libhash-ring-memcache{major}",
                  cmake_set(cp, "CPACK_DEBIAN_MEMCACHE_PACKAGE_NAME"))
    else:
        check(False, "CPackConfig.cmake exists (cmake/Packaging.cmake included)")

    man = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(header))),
                       "src", "cli", "hash-ring.1")
    m = re.search(r'^\.TH HASH-RING 1 \S+ "hash_ring ([^"]*)"', open(man, encoding="utf-8").read(),
                  re.M)
    check(m is not None and m.group(1) == dotted, "hash-ring(1) .TH names hash_ring " + dotted,
          m and m.group(1))

    out = hrpkg.run([probe]).stdout
    v = dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)
    check(v.get("header_major") == str(major) and v.get("header_minor") == str(minor) and
          v.get("header_patch") == str(patch), "probe saw the same header macros", v)
    number = major * 10000 + minor * 100 + patch
    check(v.get("header_number") == str(number),
          f"HASH_RING_VERSION_NUMBER = {number}", v.get("header_number"))
    check(v.get("runtime_number") == str(number), f"hash_ring_version() = {number}",
          v.get("runtime_number"))
    check(v.get("runtime_string") == vstring, f"hash_ring_version_string() = {vstring}",
          v.get("runtime_string"))
    hrpkg.finish("version")


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        hrpkg.die("usage: check_version.py HEADER PROJECT_VERSION BUILD_DIR PROBE [MEMCACHE]")
    main(*sys.argv[1:])
