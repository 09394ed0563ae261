#!/usr/bin/python3
"""Debian packages from cpack -G DEB.

  check_deb.py --source SRC --work W --cc CC --generator G [--jobs N]

Configures a separate tree as a distribution would (-DCMAKE_INSTALL_PREFIX=
/usr -DBUILD_TESTING=OFF), builds it (no test may be built), runs
`cpack -G DEB` and checks each package:
  - exactly three: libhash-ring<MAJOR> (the ring), libhash-ring-memcache<MAJOR>
    (the memcached client's library), libhash-ring-dev (both headers, both
    .a, both .pc, the CMake package, and the hash-ring tool with its man
    page), named NAME_VERSION-REVISION_ARCH.deb with the architecture dpkg
    reports;
  - control fields (dpkg-deb -f): Package, Version = project version +
    revision, Architecture, Section, Maintainer, a distinct synopsis, and
    Depends: libc6, libssl3 and zlib1g from dpkg-shlibdeps for the ring;
    libc6 and libhash-ring<MAJOR> (>= this version) for the client, exactly what
    dpkg-shlibdeps computes from the ring package's shlibs file (run here on
    the built packages); both library packages at exactly this version,
    libssl-dev and zlib1g-dev for -dev;
  - each library package's shlibs file (>= this version: a later minor may
    add symbols) and its ldconfig trigger;
  - contents (dpkg-deb -c): exactly the expected files, with the expected
    symlink targets and modes, nothing outside /usr, no empty directory;
  - extracted files: no RPATH/RUNPATH, SONAME, stripped shared objects,
    hash_ring.pc and the CMake files name /usr and no build path;
  - a program per library builds with pkg-config (hash_ring,
    hash_ring_memcache) against the extracted packages and runs.
"""

import argparse
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrpkg  # noqa: E402
from hrpkg import check  # noqa: E402
import check_install  # noqa: E402

REVISION = "1"


def cache_value(tree, var):
    for line in open(os.path.join(tree, "CMakeCache.txt"), encoding="utf-8"):
        m = re.match(r"^%s:[A-Z]+=(.*)$" % re.escape(var), line.rstrip("\n"))
        if m:
            return m.group(1)
    return None


def deb_contents(deb):
    """{path: (mode string, link target or None)} without the leading './'."""
    out = {}
    for line in hrpkg.run(["dpkg-deb", "-c", deb], quiet=True).stdout.splitlines():
        f = line.split(None, 5)
        if len(f) < 6:
            continue
        mode, rest = f[0], f[5]
        target = None
        if " -> " in rest:
            rest, target = rest.split(" -> ", 1)
        out[rest[2:] if rest.startswith("./") else rest] = (mode, target)
    return out


def field(deb, name):
    return hrpkg.run(["dpkg-deb", "-f", deb, name], quiet=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--generator", default="Unix Makefiles")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    for tool in ("cmake", "cpack", "dpkg-deb", "dpkg", "readelf", "pkg-config"):
        hrpkg.need_tool(tool)
    src = os.path.abspath(a.source)
    work = hrpkg.fresh_dir(os.path.abspath(a.work))
    major, minor, patch, vstring = hrpkg.header_version(os.path.join(src, "include",
                                                                     "hash_ring.h"))
    version = f"{major}.{minor}.{patch}"
    debver = f"{version}-{REVISION}"
    arch = hrpkg.run(["dpkg", "--print-architecture"], quiet=True).stdout.strip()

    tree = os.path.join(work, "build")
    hrpkg.run(["cmake", "-S", src, "-B", tree, "-G", a.generator, f"-DCMAKE_C_COMPILER={a.cc}",
               "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DCMAKE_INSTALL_PREFIX=/usr",
               "-DBUILD_TESTING=OFF", "-DHASH_RING_BUILD_CLI=ON",
               f"-DHASH_RING_DEB_REVISION={REVISION}"])
    hrpkg.run(["cmake", "--build", tree, "-j", str(a.jobs)])
    check_install.check_no_tests_built(tree, "deb tree")
    libdir = cache_value(tree, "CMAKE_INSTALL_LIBDIR")
    check(libdir is not None and not os.path.isabs(libdir), "CMAKE_INSTALL_LIBDIR is relative",
          libdir)
    print(f"version {debver}, architecture {arch}, libdir /usr/{libdir}")

    hrpkg.run(["cpack", "-G", "DEB", "--config", os.path.join(tree, "CPackConfig.cmake")],
              cwd=tree)
    pkgdir = os.path.join(tree, "packages")
    runtime, mc, dev = f"libhash-ring{major}", f"libhash-ring-memcache{major}", "libhash-ring-dev"
    libpkgs = {runtime: "hash_ring", mc: "hash_ring_memcache"}
    expected = {p: f"{p}_{debver}_{arch}.deb" for p in (runtime, mc, dev)}
    found = sorted(f for f in os.listdir(pkgdir) if f.endswith(".deb"))
    check(found == sorted(expected.values()), "cpack made exactly the three packages",
          f"found {found}, expected {sorted(expected.values())}")
    debs = {p: os.path.join(pkgdir, f) for p, f in expected.items()
            if os.path.isfile(os.path.join(pkgdir, f))}
    if len(debs) != 3:
        hrpkg.finish("deb")

    # ---- control fields
    synopses = set()
    sections = {runtime: "libs", mc: "libs", dev: "libdevel"}
    for p, deb in debs.items():
        check(field(deb, "Package") == p, f"{p}: Package", field(deb, "Package"))
        check(field(deb, "Version") == debver, f"{p}: Version {debver}", field(deb, "Version"))
        check(field(deb, "Architecture") == arch, f"{p}: Architecture {arch}",
              field(deb, "Architecture"))
        check(field(deb, "Section") == sections[p], f"{p}: Section {sections[p]}",
              field(deb, "Section"))
        check("@" in field(deb, "Maintainer"), f"{p}: Maintainer with an address")
        desc = field(deb, "Description").splitlines()
        check(len(desc) >= 2 and 0 < len(desc[0]) <= 80,
              f"{p}: Description has a synopsis line and a body", desc[:2])
        synopses.add(desc[0] if desc else "")
    check(len(synopses) == 3, "each package has its own synopsis", synopses)

    def depends(p):
        return [d.strip() for d in field(debs[p], "Depends").split(",") if d.strip()]

    rdep = depends(runtime)
    check(any(d.startswith("libc6") for d in rdep), f"{runtime}: Depends on libc6 "
          "(dpkg-shlibdeps ran)", rdep)
    check(any(re.match(r"^libssl\d", d) for d in rdep), f"{runtime}: Depends on libssl3 "
          "(libcrypto's package, from dpkg-shlibdeps)", rdep)
    check(any(re.match(r"^zlib1g\b(?!-)", d) for d in rdep), f"{runtime}: Depends on zlib1g "
          "(CRC-32 for the nginx, dalli and pecl-memcache dialects, from dpkg-shlibdeps)", rdep)
    check(not any(d.startswith("libhash-ring") for d in rdep), f"{runtime}: no self-dependency")
    mdep = depends(mc)
    check(any(d.startswith("libc6") for d in mdep), f"{mc}: Depends on libc6 "
          "(dpkg-shlibdeps ran)", mdep)
    check(f"{runtime} (>= {debver})" in mdep, f"{mc}: Depends on {runtime} (>= {debver})",
          mdep)
    check(not any(d.startswith(mc) for d in mdep), f"{mc}: no self-dependency", mdep)
    ddep = depends(dev)
    for p in (runtime, mc):
        check(f"{p} (= {debver})" in ddep, f"{dev}: Depends on {p} (= {debver})", ddep)
    check("libssl-dev" in ddep, f"{dev}: Depends on libssl-dev (static linking, "
          "Requires.private: libcrypto, find_dependency(OpenSSL))", ddep)
    check("zlib1g-dev" in ddep, f"{dev}: Depends on zlib1g-dev (static linking, "
          "Requires.private: zlib, find_dependency(ZLIB))", ddep)
    check(any(d.startswith("libc6") for d in ddep), f"{dev}: Depends on libc6 (the tool; "
          "dpkg-shlibdeps ran)", ddep)

    for p, lname in libpkgs.items():
        ctrl = hrpkg.fresh_dir(os.path.join(work, "control", p))
        hrpkg.run(["dpkg-deb", "-e", debs[p], ctrl], quiet=True)
        shlibs = open(os.path.join(ctrl, "shlibs")).read().strip() \
            if os.path.exists(os.path.join(ctrl, "shlibs")) else ""
        check(shlibs in (f"lib{lname} {major} {p} (>= {version})",
                         f"lib{lname} {major} {p} (>= {debver})"),
              f"{p}: shlibs file 'lib{lname} {major} {p} (>= {version}[-rev])'", shlibs)
        scripts = ""
        for f in ("postinst", "postrm", "triggers"):
            if os.path.exists(os.path.join(ctrl, f)):
                scripts += open(os.path.join(ctrl, f)).read()
        check("ldconfig" in scripts, f"{p}: runs ldconfig (trigger or maintainer script)")
        trig = open(os.path.join(ctrl, "triggers")).read().split() \
            if os.path.exists(os.path.join(ctrl, "triggers")) else []
        check(trig == ["activate-noawait", "ldconfig"],
              f"{p}: ldconfig runs through a trigger (DEBIAN/triggers)", trig)
        calls = [ln for ln in scripts.splitlines()
                 if "ldconfig" in ln and not ln.lstrip().startswith("#") and "activate" not in ln]
        check(not calls, f"{p}: no maintainer script calls ldconfig itself", calls)

    # dpkg-shlibdeps itself, on the built packages: the ring's package
    # unpacked with its control files (DEBIAN/shlibs, where dpkg-shlibdeps
    # reads a library's package from), the client's library analysed.
    if shutil.which("dpkg-shlibdeps"):
        sh = hrpkg.fresh_dir(os.path.join(work, "shlibdeps"))
        os.makedirs(os.path.join(sh, "debian"))
        with open(os.path.join(sh, "debian", "control"), "w") as f:
            f.write("Source: probe\n\nPackage: probe\nArchitecture: any\n")
        hrpkg.run(["dpkg-deb", "-R", debs[runtime], os.path.join(sh, "ring")], quiet=True)
        hrpkg.run(["dpkg-deb", "-x", debs[mc], os.path.join(sh, "mc")], quiet=True)
        mc_so = os.path.join(sh, "mc", "usr", libdir, f"libhash_ring_memcache.so.{version}")
        r = hrpkg.run(["dpkg-shlibdeps", "-O", f"-l{os.path.join(sh, 'ring', 'usr', libdir)}",
                       mc_so], cwd=sh, check_rc=False)
        m = re.search(r"^shlibs:Depends=(.*)$", r.stdout, re.M)
        computed = sorted(d.strip() for d in m.group(1).split(",")) if m else []
        check(r.returncode == 0 and computed == sorted(mdep),
              f"{mc}: Depends is what dpkg-shlibdeps computes from the built packages",
              f"dpkg-shlibdeps: {computed} (status {r.returncode}, {r.stderr.strip()}); "
              f"package: {sorted(mdep)}")
    else:
        print("note: dpkg-shlibdeps not installed: the client's Depends not recomputed")

    # ---- contents
    L = f"usr/{libdir}"
    want = {
        runtime: {
            f"{L}/libhash_ring.so.{version}": ("-rw-r--r--", None),
            f"{L}/libhash_ring.so.{major}": ("l", f"libhash_ring.so.{version}"),
            f"usr/share/doc/{runtime}/copyright": ("-rw-r--r--", None),
            f"usr/share/doc/{runtime}/changelog.Debian.gz": ("-rw-r--r--", None),
        },
        mc: {
            f"{L}/libhash_ring_memcache.so.{version}": ("-rw-r--r--", None),
            f"{L}/libhash_ring_memcache.so.{major}": ("l", f"libhash_ring_memcache.so.{version}"),
            f"usr/share/doc/{mc}/copyright": ("-rw-r--r--", None),
            f"usr/share/doc/{mc}/changelog.Debian.gz": ("-rw-r--r--", None),
        },
        dev: {
            f"{L}/libhash_ring.so": ("l", f"libhash_ring.so.{major}"),
            f"{L}/libhash_ring.a": ("-rw-r--r--", None),
            f"{L}/pkgconfig/hash_ring.pc": ("-rw-r--r--", None),
            f"{L}/libhash_ring_memcache.so": ("l", f"libhash_ring_memcache.so.{major}"),
            f"{L}/libhash_ring_memcache.a": ("-rw-r--r--", None),
            f"{L}/pkgconfig/hash_ring_memcache.pc": ("-rw-r--r--", None),
            f"{L}/cmake/hash_ring/hash_ringConfig.cmake": ("-rw-r--r--", None),
            f"{L}/cmake/hash_ring/hash_ringConfigVersion.cmake": ("-rw-r--r--", None),
            f"{L}/cmake/hash_ring/hash_ringTargets.cmake": ("-rw-r--r--", None),
            f"{L}/cmake/hash_ring/hash_ringTargets-relwithdebinfo.cmake": ("-rw-r--r--", None),
            f"usr/share/doc/{dev}/copyright": ("-rw-r--r--", None),
            f"usr/share/doc/{dev}/changelog.Debian.gz": ("-rw-r--r--", None),
            "usr/bin/hash-ring": ("-rwxr-xr-x", None),
            "usr/share/man/man1/hash-ring.1": ("-rw-r--r--", None),
        },
    }
    for h in sorted(os.listdir(os.path.join(src, "include"))):
        if h.endswith(".h"):
            want[dev][f"usr/include/{h}"] = ("-rw-r--r--", None)
    for p, deb in debs.items():
        got = deb_contents(deb)
        files = {k.rstrip("/"): v for k, v in got.items() if not v[0].startswith("d")}
        dirs = {k.rstrip("/") for k, v in got.items() if v[0].startswith("d")}
        # The man page may be shipped gzip-compressed (policy 12.1).
        w = dict(want[p])
        if "usr/share/man/man1/hash-ring.1" in w and "usr/share/man/man1/hash-ring.1.gz" in files:
            w["usr/share/man/man1/hash-ring.1.gz"] = w.pop("usr/share/man/man1/hash-ring.1")
        missing = sorted(set(w) - set(files))
        extra = sorted(set(files) - set(w))
        check(not missing, f"{p}: contains every expected file", missing)
        check(not extra, f"{p}: contains nothing unexpected", extra)
        for path, (mode, target) in w.items():
            if path not in files:
                continue
            gmode, gtarget = files[path]
            if mode == "l":
                check(gmode.startswith("l") and gtarget == target,
                      f"{p}: {path} -> {target}", f"{gmode} -> {gtarget}")
            else:
                check(gmode == mode, f"{p}: {path} mode {mode}", gmode)
        check(all(k.startswith("usr/") for k in files), f"{p}: everything under /usr",
              [k for k in files if not k.startswith("usr/")])
        empty = [d for d in dirs if d not in (".", "") and
                 not any(f.startswith(d + "/") for f in files)]
        check(not empty, f"{p}: no empty directory", empty)

    # ---- lintian (where installed): no error-level tag.  The warnings left
    # are known: empty maintainer scripts (they keep CPack from writing
    # ldconfig calls), an initial upload closing no bug.
    lintian = shutil.which("lintian")
    if lintian:
        out = hrpkg.run([lintian, "--tag-display-limit", "0"] + sorted(debs.values()),
                        check_rc=False, quiet=True)
        errors = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("E:")]
        check(not errors, "lintian: no errors", errors)
    else:
        print("note: lintian not installed: skipped")

    # ---- extracted files
    root = hrpkg.fresh_dir(os.path.join(work, "root"))
    for deb in debs.values():
        hrpkg.run(["dpkg-deb", "-x", deb, root], quiet=True)
    elves = 0
    for dirpath, _d, files in os.walk(root):
        for f in files:
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, root)
            if hrpkg.is_elf(path):
                elves += 1
                check(not hrpkg.rpaths(path), f"{rel}: no RPATH/RUNPATH", hrpkg.rpaths(path))
                sections = hrpkg.run(["readelf", "-S", "-W", path], quiet=True).stdout
                check(".debug_info" not in sections and ".symtab" not in sections,
                      f"{rel}: stripped")
            elif not os.path.islink(path) and not f.endswith(".a"):
                text = open(path, "rb").read()
                for bad in (tree.encode(), src.encode(), work.encode()):
                    check(bad not in text, f"{rel}: names no build or source path",
                          bad.decode())
    check(elves == 3, "the packages hold three ELF files (the two .so and the tool)", elves)
    for lname in libpkgs.values():
        lib = os.path.join(root, L, f"lib{lname}.so.{version}")
        check(hrpkg.soname(lib) == f"lib{lname}.so.{major}", f"SONAME lib{lname}.so.{major}")
        pc = check_install.pc_variables(os.path.join(root, L, "pkgconfig", f"{lname}.pc"))
        check(pc.get("prefix") == "/usr", f"{lname}.pc prefix=/usr", pc.get("prefix"))
        check(pc.get("libdir") in ("${exec_prefix}/" + libdir, "${prefix}/" + libdir, "/" + L),
              f"{lname}.pc libdir is /usr/{libdir}", pc.get("libdir"))
        check(pc.get("Version:") == vstring, f"{lname}.pc Version", pc.get("Version:"))

    # ---- the extracted packages serve a program per library
    out = hrpkg.fresh_dir(os.path.join(work, "consumer"))
    env = check_install.pkgconfig_env(os.path.join(root, L, "pkgconfig"), sysroot=root)
    seed = os.path.join(src, "tests", "vectors", "seed3")
    nodes = [r[0] for r in hrpkg.read_tsv(os.path.join(seed, "nodes.tsv"))]
    want_rows = hrpkg.read_tsv(os.path.join(seed, "python.get.tsv"))[:10]
    for lname, (source, uses) in check_install.PROGRAMS.items():
        flags = hrpkg.run(["pkg-config", "--cflags", "--libs", lname], env=env).stdout.split()
        exe = os.path.join(out, f"consumer-{lname}")
        p = hrpkg.run([a.cc, "-std=c99", "-o", exe,
                       os.path.join(os.path.dirname(os.path.abspath(__file__)), "consumer",
                                    source)] + flags, check_rc=False)
        if not check(p.returncode == 0, f"a program on lib{lname} builds against the "
                     "extracted packages", p.stdout + p.stderr):
            continue
        deps = hrpkg.needed(exe)
        check(all(f"lib{u}.so.{major}" in deps for u in uses),
              f"it links {', '.join(f'lib{u}.so.{major}' for u in uses)}", deps)
        r = hrpkg.run([exe] + nodes + ["--"] + [k for k, _ in want_rows],
                      env={"LD_LIBRARY_PATH": os.path.join(root, L)}, check_rc=False)
        got = [line.split("\t") for line in r.stdout.splitlines()]
        check(r.returncode == 0 and got[:-1] == [list(x) for x in want_rows],
              f"the lib{lname} program runs with the packaged libraries and places keys as "
              "the Python peer", r.stdout + r.stderr)
    hrpkg.finish("deb")


if __name__ == "__main__":
    main()
