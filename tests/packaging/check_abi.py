#!/usr/bin/python3
"""The ABI of libhash_ring (or libhash_ring_memcache) against the committed
baseline (libabigail).

  check_abi.py check LIB BASELINE_DIR INCLUDE_DIR [LIBRARY]
      LIBRARY is hash_ring (default) or hash_ring_memcache.  Compares LIB
      (built with -g) with the one baseline BASELINE_DIR/libLIBRARY.so.*.abi,
      looking only at types reachable from the public headers in INCLUDE_DIR.
      Same SONAME as the baseline (same major):
        - abidiff bit 8 (ABI_INCOMPATIBLE_CHANGE: a symbol removed, ...)
          fails;
        - bit 4 (ABI_CHANGE) fails unless it goes away with
          --no-added-syms, i.e. unless the only changes are added
          functions (what a minor release may do);
        - bits 1 and 2 (tool or usage error) fail.
      Different SONAME: passes only if the major version went up and the
      SONAME is libLIBRARY.so.<header major> (a new major may break
      anything; regenerate the baseline with update-abi.sh).
  check_abi.py dump LIB INCLUDE_DIR OUT
      Writes LIB's ABI description, deterministically (no directories,
      hashed type ids), for update-abi.sh.
"""

import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrpkg  # noqa: E402
from hrpkg import check  # noqa: E402

ABIDIFF_ERROR = 1
ABIDIFF_USAGE_ERROR = 2
ABIDIFF_ABI_CHANGE = 4
ABIDIFF_ABI_INCOMPATIBLE_CHANGE = 8

# --short-locs, not --no-show-locs: abidiff decides which types are public
# by the header file a type is declared in; without locations in the
# baseline it would filter out every change of a public struct.
ABIDW_OPTIONS = ["--no-corpus-path", "--no-comp-dir-path", "--short-locs",
                 "--type-id-style", "hash", "--drop-undefined-syms", "--drop-private-types"]


def has_debug_info(lib):
    sections = hrpkg.run(["readelf", "-S", "-W", lib], quiet=True).stdout
    return ".debug_info" in sections


def dump(lib, include_dir, out):
    if not has_debug_info(lib):
        hrpkg.die(f"{lib} has no DWARF: build with -DCMAKE_BUILD_TYPE=RelWithDebInfo (or Debug)")
    tmp = out + ".tmp"
    hrpkg.run(["abidw"] + ABIDW_OPTIONS + ["--headers-dir", include_dir, "--out-file", tmp, lib])
    text = open(tmp, encoding="utf-8").read()
    os.remove(tmp)
    # Translation units are named by their absolute source path (DW_AT_name):
    # keep the path relative to the source tree so any checkout writes the
    # same file.
    top = os.path.dirname(os.path.abspath(include_dir).rstrip("/")) + "/"
    text = text.replace("path='" + top, "path='")
    for bad in ("/work/", os.path.dirname(os.path.abspath(lib)), os.path.abspath(include_dir)):
        if bad in text:
            hrpkg.die(f"the ABI description still contains a path ({bad})")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {out} ({len(text.splitlines())} lines)")


def corpus_attrs(abi_path):
    with open(abi_path, encoding="utf-8") as f:
        head = f.read(4096)
    m = re.search(r"<abi-corpus\b([^>]*)>", head)
    if not m:
        hrpkg.die(f"{abi_path}: not an abi-corpus")
    return dict(re.findall(r"(\w[\w-]*)='([^']*)'", m.group(1)))


def lib_architecture(lib):
    # Same spelling as abidw's architecture attribute (elf-amd-x86_64, ...).
    hdr = hrpkg.run(["readelf", "-h", "-W", lib], quiet=True).stdout
    m = re.search(r"Machine:\s+(.*)", hdr)
    return m.group(1).strip() if m else "?"


def abidiff(baseline, lib, include_dir, extra=()):
    p = hrpkg.run(["abidiff"] + list(extra) + ["--headers-dir2", include_dir, baseline, lib],
                  check_rc=False)
    return p.returncode, p.stdout + p.stderr


def main_check(lib, baseline_dir, include_dir, libname="hash_ring"):
    lib = os.path.realpath(lib)
    major = hrpkg.header_version(os.path.join(include_dir, "hash_ring.h"))[0]
    if not has_debug_info(lib):
        hrpkg.skip(f"{lib} has no debug information (build type without -g); the ABI "
                   "check needs DWARF: configure with -DCMAKE_BUILD_TYPE=RelWithDebInfo")
    pattern = f"lib{libname}.so.*.abi"
    baselines = sorted(glob.glob(os.path.join(baseline_dir, pattern)))
    if not check(len(baselines) == 1, f"exactly one baseline {pattern} in {baseline_dir}",
                 " ".join(baselines) or "none"):
        hrpkg.finish(f"abi of lib{libname}")
    baseline = baselines[0]
    attrs = corpus_attrs(baseline)
    base_soname = attrs.get("soname", "")
    cur_soname = hrpkg.soname(lib)
    print(f"baseline {os.path.basename(baseline)}: soname {base_soname}, "
          f"architecture {attrs.get('architecture')}; library {os.path.basename(lib)}: "
          f"soname {cur_soname}, machine {lib_architecture(lib)}; header major {major}")

    if attrs.get("architecture") == "elf-amd-x86_64" and "X86-64" not in lib_architecture(lib):
        hrpkg.skip("the committed baseline describes x86-64; type sizes differ on this "
                   "architecture, so the comparison would not mean anything here")

    check(cur_soname == f"lib{libname}.so.{major}",
          f"SONAME is lib{libname}.so.<HASH_RING_VERSION_MAJOR> = lib{libname}.so.{major}",
          f"got {cur_soname}")
    m = re.match(r"^lib%s\.so\.(\d+)$" % re.escape(libname), base_soname)
    if not check(m is not None, f"the baseline names a lib{libname} SONAME", base_soname):
        hrpkg.finish(f"abi of lib{libname}")
    base_major = int(m.group(1))

    rc, report = abidiff(baseline, lib, include_dir)
    print(f"abidiff exit status {rc} (bits: error 1, usage 2, change 4, incompatible 8)")
    if report.strip():
        print(report.rstrip())
    check(not rc & (ABIDIFF_ERROR | ABIDIFF_USAGE_ERROR), "abidiff ran without error")

    if cur_soname == base_soname:
        check(major == base_major, "header major equals the baseline's while the SONAME is "
              "unchanged", f"header {major}, baseline {base_major}")
        check(not rc & ABIDIFF_ABI_INCOMPATIBLE_CHANGE,
              "no incompatible ABI change without a new major version (and SONAME)",
              "abidiff reports an incompatible change (see above): restore the interface, "
              "or bump HASH_RING_VERSION_MAJOR (SONAME follows) and rerun update-abi.sh")
        if rc & ABIDIFF_ABI_CHANGE and not rc & ABIDIFF_ABI_INCOMPATIBLE_CHANGE:
            rc2, report2 = abidiff(baseline, lib, include_dir, ["--no-added-syms"])
            only_added = not rc2 & (ABIDIFF_ABI_CHANGE | ABIDIFF_ABI_INCOMPATIBLE_CHANGE |
                                    ABIDIFF_ERROR | ABIDIFF_USAGE_ERROR)
            check(only_added,
                  "the only ABI changes are added functions (allowed in a minor release)",
                  "existing interfaces changed (abidiff --no-added-syms exit status "
                  f"{rc2}):\n{report2.strip()}")
            if only_added:
                print("NOTE: functions were added since the baseline (compatible); "
                      "rerun tests/packaging/update-abi.sh when the release is cut")
    else:
        check(base_major < major,
              "a different SONAME means a higher major version than the baseline's",
              f"baseline {base_soname}, library {cur_soname}, header major {major}")
        print(f"NOTE: new major version {major} (baseline is {base_major}): incompatible "
              "changes are allowed; regenerate the baseline with update-abi.sh")
    hrpkg.finish(f"abi of lib{libname}")


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "check":
        main_check(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "dump":
        dump(*sys.argv[2:])
    else:
        hrpkg.die("usage: check_abi.py check LIB BASELINE_DIR INCLUDE_DIR [LIBRARY] | "
                  "dump LIB INCLUDE_DIR OUT")
