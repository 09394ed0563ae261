#!/usr/bin/python3
"""Install hash_ring to staging prefixes and build programs against it.

  check_install.py stage   --build B --work W ...   install B twice:
        `cmake --install B --prefix W/prefix` and `DESTDIR=W/destdir cmake
        --install B`; check the layout of both libraries (libhash_ring and
        the memcached client's libhash_ring_memcache: .so, SONAME links, .a,
        .pc) and that no installed ELF file has an RPATH or RUNPATH.
  check_install.py consume --build B --work W ...   build tests/packaging/
        consumer (main.c on the ring, main_mc.c on the client) against both
        staging trees: with `pkg-config --cflags --libs hash_ring` and
        `... hash_ring_memcache` (whose Requires must bring -lhash_ring),
        with `pkg-config --static`, and with find_package(hash_ring) in a
        separate CMake project (targets hash_ring::hash_ring and
        hash_ring::hash_ring_memcache, shared, static and default); run each
        on the vector seed3 and compare with the Python peer's answers;
        check what each binary links (readelf -d) and that
        find_package(hash_ring <major+1>) is refused.
  check_install.py static-only --work W ...   configure a separate tree with
        -DBUILD_SHARED_LIBS=OFF -DHASH_RING_BUILD_TESTS=OFF and cmocka out of
        pkg-config's sight: only the two .a are built, no test is built or
        registered; install; consume with pkg-config --static and
        find_package; no .so anywhere.
  check_install.py abs-libdir --work W ...   configure a separate tree with an
        absolute CMAKE_INSTALL_LIBDIR outside the prefix; install; check
        both .pc files and the CMake package; consume with pkg-config and
        find_package (shared and static).
  check_install.py no-cmocka --work W ...   a plain configure where cmocka
        cannot be found fails and names -DHASH_RING_BUILD_TESTS=OFF.

Common options: --source SRC --cc CC --generator G [--sanitize S]
[--libdir L --prefix P (the build's CMAKE_INSTALL_LIBDIR / _PREFIX)].
"""

import argparse
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrpkg  # noqa: E402
from hrpkg import check  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class Ctx:
    def __init__(self, a):
        self.a = a
        self.src = os.path.abspath(a.source)
        self.work = os.path.abspath(a.work)
        self.major, self.minor, self.patch, self.vstring = hrpkg.header_version(
            os.path.join(self.src, "include", "hash_ring.h"))
        seed = os.path.join(self.src, "tests", "vectors", "seed3")
        self.nodes = [r[0] for r in hrpkg.read_tsv(os.path.join(seed, "nodes.tsv"))]
        self.expect = hrpkg.read_tsv(os.path.join(seed, "python.get.tsv"))[:20]
        self.san = a.sanitize if hrpkg.sanitizer_build(a.sanitize) else ""
        # The libraries an install holds: the ring, and the client unless
        # the build left it out (-DHASH_RING_BUILD_MEMCACHE=OFF).
        self.libs = ["hash_ring"] + (["hash_ring_memcache"] if a.memcache else [])

    def san_flags(self):
        return [f"-fsanitize={self.san}", "-fno-omit-frame-pointer"] if self.san else []


# ---- what an install must contain ------------------------------------------

def check_layout(ctx, root, prefix, libdir, shared=True, static=True, cli=True, tag=""):
    """root: where files land (DESTDIR + prefix); libdir: absolute path of
    the library directory inside that tree."""
    v = f"{ctx.major}.{ctx.minor}.{ctx.patch}"
    inc = os.path.join(root, "include")
    for h in sorted(os.listdir(os.path.join(ctx.src, "include"))):
        if h.endswith(".h"):
            check(os.path.isfile(os.path.join(inc, h)), f"{tag}: include/{h} installed")
    for lib in ctx.libs:
        so = f"lib{lib}.so"
        real = os.path.join(libdir, f"{so}.{v}")
        if shared:
            check(os.path.isfile(real) and not os.path.islink(real),
                  f"{tag}: {so}.{v} is a real file")
            for link, target in ((f"{so}.{ctx.major}", f"{so}.{v}"),
                                 (so, f"{so}.{ctx.major}")):
                p = os.path.join(libdir, link)
                check(os.path.islink(p) and os.readlink(p) == target,
                      f"{tag}: {link} -> {target}",
                      os.readlink(p) if os.path.islink(p) else "missing or not a link")
            if os.path.isfile(real):
                check(hrpkg.soname(real) == f"{so}.{ctx.major}",
                      f"{tag}: SONAME {so}.{ctx.major}", hrpkg.soname(real))
        else:
            left = glob.glob(os.path.join(libdir, f"{so}*"))
            check(not left, f"{tag}: no {so} installed", left)
        check(os.path.isfile(os.path.join(libdir, f"lib{lib}.a")) == static,
              f"{tag}: lib{lib}.a {'installed' if static else 'absent'}")
        pc = os.path.join(libdir, "pkgconfig", f"{lib}.pc")
        check(os.path.isfile(pc), f"{tag}: pkgconfig/{lib}.pc installed")
    if "hash_ring_memcache" in ctx.libs and shared:
        # The client is linked with the ring's shared library, by SONAME.
        mc = os.path.join(libdir, f"libhash_ring_memcache.so.{v}")
        if os.path.isfile(mc):
            check(f"libhash_ring.so.{ctx.major}" in hrpkg.needed(mc),
                  f"{tag}: libhash_ring_memcache NEEDs libhash_ring.so.{ctx.major}",
                  hrpkg.needed(mc))
    cm = os.path.join(libdir, "cmake", "hash_ring")
    for f in ("hash_ringConfig.cmake", "hash_ringConfigVersion.cmake", "hash_ringTargets.cmake"):
        check(os.path.isfile(os.path.join(cm, f)), f"{tag}: cmake/hash_ring/{f} installed")
    check(os.path.isfile(os.path.join(root, "bin", "hash-ring")) == cli,
          f"{tag}: bin/hash-ring {'installed' if cli else 'absent'}")
    check(os.path.isfile(os.path.join(root, "share", "man", "man1", "hash-ring.1")) == cli,
          f"{tag}: man1/hash-ring.1 {'installed' if cli else 'absent'}")
    check(os.path.isfile(os.path.join(root, "share", "doc", "hash_ring", "LICENSE")),
          f"{tag}: doc/hash_ring/LICENSE installed")
    # Per-package copyright files are for cpack only (EXCLUDE_FROM_ALL).
    check(not glob.glob(os.path.join(root, "share", "doc", "libhash-ring*")),
          f"{tag}: a plain install does not install the Debian copyright files")


def check_no_rpath(tree, tag, expect_elf=True):
    n = 0
    for dirpath, _dirs, files in os.walk(tree):
        for f in files:
            p = os.path.join(dirpath, f)
            if hrpkg.is_elf(p):
                n += 1
                rp = hrpkg.rpaths(p)
                check(not rp, f"{tag}: {os.path.relpath(p, tree)} has no RPATH/RUNPATH", rp)
    if expect_elf:
        check(n > 0, f"{tag}: the install holds ELF files")
    print(f"{tag}: {n} ELF files, none with RPATH/RUNPATH")


def pc_variables(pc):
    vals = {}
    for line in open(pc, encoding="utf-8"):
        m = re.match(r"^(\w+)=(.*)$", line.strip())
        if m:
            vals[m.group(1)] = m.group(2)
        m = re.match(r"^(\w[\w.]*):\s*(.*)$", line.strip())
        if m:
            vals[m.group(1) + ":"] = m.group(2)
    return vals


def check_pc_files(ctx, pcdir, prefix, tag, libdir=None):
    """Both .pc files name `prefix` and the header's version; the client's
    Requires the ring at this version or later."""
    for lib in ctx.libs:
        pc = pc_variables(os.path.join(pcdir, f"{lib}.pc"))
        check(pc.get("prefix") == prefix, f"{tag}: {lib}.pc prefix= is {prefix}",
              pc.get("prefix"))
        check(pc.get("Version:") == ctx.vstring, f"{tag}: {lib}.pc Version is the header's",
              pc.get("Version:"))
        if libdir is not None:
            check(pc.get("libdir") == libdir, f"{tag}: {lib}.pc libdir= is {libdir}",
                  pc.get("libdir"))
            check(pc.get("includedir") == "${prefix}/include",
                  f"{tag}: {lib}.pc includedir= is ${{prefix}}/include", pc.get("includedir"))
    if "hash_ring_memcache" in ctx.libs:
        pc = pc_variables(os.path.join(pcdir, "hash_ring_memcache.pc"))
        check(pc.get("Requires:") == f"hash_ring >= {ctx.vstring}",
              f"{tag}: hash_ring_memcache.pc Requires: hash_ring >= {ctx.vstring}",
              pc.get("Requires:"))


# ---- consumers ----------------------------------------------------------------

# What each consumer program uses: the ring alone, or the client and the ring.
PROGRAMS = {"hash_ring": ("main.c", ["hash_ring"]),
            "hash_ring_memcache": ("main_mc.c", ["hash_ring_memcache", "hash_ring"])}


def run_consumer(ctx, exe, tag, libdir=None, want_shared=True, lib="hash_ring"):
    deps = hrpkg.needed(exe)
    for used in PROGRAMS[lib][1]:
        so = f"lib{used}.so.{ctx.major}"
        linked = so in deps
        check(linked == want_shared,
              f"{tag}: linked {'dynamically' if want_shared else 'statically'} "
              f"(NEEDED {'has' if want_shared else 'lacks'} {so})", " ".join(deps))
    env = {"LD_LIBRARY_PATH": libdir} if libdir else {"LD_LIBRARY_PATH": None}
    if want_shared and libdir:
        ldd = hrpkg.run(["ldd", exe], env=env, check_rc=False, quiet=True).stdout
        for used in PROGRAMS[lib][1]:
            m = re.search(r"lib%s\.so\.\d+ => (\S+)" % used, ldd)
            check(m is not None and os.path.realpath(m.group(1)).startswith(
                os.path.realpath(libdir) + "/"),
                f"{tag}: loads lib{used} from the staging libdir", ldd)
    keys = [k for k, _ in ctx.expect]
    p = hrpkg.run([exe] + ctx.nodes + ["--"] + keys, env=env, check_rc=False, quiet=True)
    check(p.returncode == 0, f"{tag}: runs", f"status {p.returncode}\n{p.stdout}{p.stderr}")
    got = [line.split("\t") for line in p.stdout.splitlines()]
    want = [list(r) for r in ctx.expect] + [["version", ctx.vstring]]
    check(got == want, f"{tag}: {len(keys)} placements equal the Python peer's (seed3)",
          f"got {got[:3]}... want {want[:3]}...")


def pkgconfig_env(pcdir, sysroot=None):
    # PKG_CONFIG_PATH first, then the system's directories (libcrypto.pc).
    return {"PKG_CONFIG_PATH": pcdir, "PKG_CONFIG_LIBDIR": None,
            "PKG_CONFIG_SYSROOT_DIR": sysroot}


def pkgconfig_flags(ctx, pcdir, name, lib="hash_ring", static=False, sysroot=None):
    """pkg-config's flags for lib, with the checks every consumer relies on."""
    env = pkgconfig_env(pcdir, sysroot)
    args = ["pkg-config", "--cflags", "--libs"] + (["--static"] if static else []) + [lib]
    flags = hrpkg.run(args, env=env).stdout.split()
    ver = hrpkg.run(["pkg-config", "--modversion", lib], env=env, quiet=True).stdout
    check(ver.strip() == ctx.vstring, f"{name}: pkg-config --modversion {lib} is {ctx.vstring}",
          ver)
    libs = [f for f in flags if f.startswith("-l")]
    want = [f"-l{u}" for u in PROGRAMS[lib][1]]
    check(all(w in libs for w in want) and
          [x for x in libs if x in want] == want,
          f"{name}: `{' '.join(args[3:])}` gives {' '.join(want)} in that order"
          + (" (hash_ring through Requires)" if lib != "hash_ring" else ""), " ".join(flags))
    if static:
        for w in ("-lcrypto", "-pthread", "-lm"):
            check(w in flags, f"{name}: pkg-config --static --libs {lib} gives {w}",
                  " ".join(flags))
    return args, flags


def build_pkgconfig(ctx, pcdir, outdir, name, static=False, sysroot=None, lib="hash_ring"):
    args, flags = pkgconfig_flags(ctx, pcdir, name, lib, static, sysroot)
    exe = os.path.join(outdir, name)
    p = hrpkg.run([ctx.a.cc, "-std=c99", "-o", exe,
                   os.path.join(HERE, "consumer", PROGRAMS[lib][0])] + ctx.san_flags() + flags,
                  check_rc=False)
    check(p.returncode == 0, f"{name}: compiles and links with `{' '.join(args)}`",
          p.stdout + p.stderr)
    return exe if p.returncode == 0 else None


def pkgconfig_consumers(ctx, pcdir, outdir, name, libdir, shared, static=False, sysroot=None):
    """A program per library, built with pkg-config and run."""
    for lib in ctx.libs:
        tag = f"{name}-{lib}"
        exe = build_pkgconfig(ctx, pcdir, outdir, tag, static=static, sysroot=sysroot, lib=lib)
        if exe:
            run_consumer(ctx, exe, tag, libdir=libdir if shared else None,
                         want_shared=shared, lib=lib)


def build_cmake_consumer(ctx, outdir, name, prefix_path=None, config_dir=None):
    """Configures and builds tests/packaging/consumer; returns
    {(library, link): exe} for the executables it built."""
    b = hrpkg.fresh_dir(os.path.join(outdir, name.replace(" ", "-")))
    cmd = ["cmake", "-S", os.path.join(HERE, "consumer"), "-B", b, "-G", ctx.a.generator,
           f"-DCMAKE_C_COMPILER={ctx.a.cc}", f"-DHR_REQUIRE={ctx.major}",
           f"-DHR_REFUSE={ctx.major + 1}",
           "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF",
           "-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF"]
    if prefix_path:
        cmd.append(f"-DCMAKE_PREFIX_PATH={prefix_path}")
    if config_dir:
        cmd.append(f"-Dhash_ring_DIR={config_dir}")
    if ctx.san:
        fl = " ".join(ctx.san_flags())
        cmd += [f"-DCMAKE_C_FLAGS={fl}", f"-DCMAKE_EXE_LINKER_FLAGS={fl}"]
    p = hrpkg.run(cmd, check_rc=False)
    ok = check(p.returncode == 0, f"{name}: find_package(hash_ring {ctx.major}) configures",
               p.stdout[-3000:] + p.stderr[-3000:])
    if not ok:
        return {}
    check(f"hash_ring {ctx.major + 1} refused: TRUE" in p.stdout,
          f"{name}: find_package(hash_ring {ctx.major + 1}) is refused (SameMajorVersion)",
          "\n".join(line for line in p.stdout.splitlines() if "refused" in line))
    m = re.search(r"-- hash_ring (\S+) from (\S+)", p.stdout)
    check(m is not None and m.group(1) == ctx.vstring,
          f"{name}: the package says version {ctx.vstring}", m.group(0) if m else p.stdout)
    p = hrpkg.run(["cmake", "--build", b], check_rc=False)
    check(p.returncode == 0, f"{name}: builds", p.stdout[-3000:] + p.stderr[-3000:])
    out = {}
    for lib, stem in (("hash_ring", "consumer"), ("hash_ring_memcache", "consumer_mc")):
        for link in ("default", "shared", "static"):
            exe = os.path.join(b, f"{stem}_{link}")
            if os.path.isfile(exe):
                out[(lib, link)] = exe
    return out


def cmake_consumers(ctx, outdir, name, libdir, shared, static, prefix_path=None,
                    config_dir=None):
    exes = build_cmake_consumer(ctx, outdir, name, prefix_path, config_dir)
    want = set()
    for lib in ctx.libs:
        want |= {(lib, "default")} | ({(lib, "shared")} if shared else set()) | \
            ({(lib, "static")} if static else set())
    names = sorted(f"hash_ring::{lib}" + ("" if link == "default" else f"_{link}")
                   for lib, link in want)
    check(set(exes) == want, f"{name}: the package provides the targets {', '.join(names)}",
          f"built {sorted(exes)}")
    for (lib, link), exe in sorted(exes.items()):
        dyn = shared if link == "default" else link == "shared"
        run_consumer(ctx, exe, f"{name} {lib} {link}", libdir=libdir if dyn else None,
                     want_shared=dyn, lib=lib)


# ---- modes ------------------------------------------------------------------

def cmake_install(build, prefix=None, destdir=None):
    cmd = ["cmake", "--install", build]
    if prefix:
        cmd += ["--prefix", prefix]
    env = {"DESTDIR": destdir} if destdir else {"DESTDIR": None}
    hrpkg.run(cmd, env=env)


def lib_in(root, libdir):
    return libdir if os.path.isabs(libdir) else os.path.join(root, libdir)


def mode_stage(ctx):
    a = ctx.a
    hrpkg.fresh_dir(ctx.work)
    pfx = os.path.join(ctx.work, "prefix")
    cmake_install(a.build, prefix=pfx)
    dest = os.path.join(ctx.work, "destdir")
    cmake_install(a.build, destdir=dest)
    droot = dest + a.prefix
    check_layout(ctx, pfx, pfx, lib_in(pfx, a.libdir), cli=a.cli, tag="--prefix")
    check_layout(ctx, droot, a.prefix, lib_in(droot, a.libdir), cli=a.cli, tag="DESTDIR")
    check_no_rpath(pfx, "--prefix")
    check_no_rpath(dest, "DESTDIR")
    check_pc_files(ctx, os.path.join(lib_in(pfx, a.libdir), "pkgconfig"), pfx, "--prefix")
    # DESTDIR is not baked in: the .pc files name the configured prefix.
    check_pc_files(ctx, os.path.join(lib_in(droot, a.libdir), "pkgconfig"), a.prefix, "DESTDIR")
    hrpkg.finish("install (stage)")


def mode_consume(ctx):
    a = ctx.a
    pfx = os.path.join(ctx.work, "prefix")
    dest = os.path.join(ctx.work, "destdir")
    droot = dest + a.prefix
    if not os.path.isdir(pfx) or not os.path.isdir(droot):
        hrpkg.die(f"no staging trees in {ctx.work}: run the packaging_stage test first")
    out = hrpkg.fresh_dir(os.path.join(ctx.work, "consumers"))
    libdir = lib_in(pfx, a.libdir)
    pcdir = os.path.join(libdir, "pkgconfig")

    pkgconfig_consumers(ctx, pcdir, out, "pc-shared", libdir, True)
    # Both kinds of library are installed: -l picks the shared ones, as with
    # any library; --static must still bring libcrypto, -pthread and -lm.
    pkgconfig_consumers(ctx, pcdir, out, "pc-static-flags", libdir, True, static=True)
    cmake_consumers(ctx, out, "cmake", libdir, True, True, prefix_path=pfx)

    # The DESTDIR tree: pkg-config through PKG_CONFIG_SYSROOT_DIR, and the
    # relocatable CMake package found from where it lies.
    dlib = lib_in(droot, a.libdir)
    pkgconfig_consumers(ctx, os.path.join(dlib, "pkgconfig"), out, "destdir-pc-shared", dlib,
                        True, sysroot=dest)
    cmake_consumers(ctx, out, "destdir-cmake", dlib, True, True, prefix_path=droot)
    hrpkg.finish("install (consumers)")


def no_cmocka_env(work):
    """An environment where pkg-config (the only way tests/CMakeLists.txt
    looks for cmocka) finds no module at all."""
    empty = hrpkg.fresh_dir(os.path.join(work, "no-pc-modules"))
    return {"PKG_CONFIG_PATH": empty, "PKG_CONFIG_LIBDIR": empty,
            "PKG_CONFIG_SYSROOT_DIR": None, "CMAKE_PREFIX_PATH": None}


def configure_tree(ctx, tree, opts, env=None):
    a = ctx.a
    hrpkg.fresh_dir(tree)
    hrpkg.run(["cmake", "-S", ctx.src, "-B", tree, "-G", a.generator,
               f"-DCMAKE_C_COMPILER={a.cc}", "-DCMAKE_BUILD_TYPE=Release"] + opts, env=env)
    hrpkg.run(["cmake", "--build", tree, "-j", str(a.jobs)])


def check_no_tests_built(tree, tag, switch="BUILD_TESTING=OFF"):
    tests = hrpkg.run(["ctest", "--test-dir", tree, "-N"], check_rc=False, quiet=True).stdout
    m = re.search(r"Total Tests: (\d+)", tests)
    check(m is not None and m.group(1) == "0",
          f"{tag}: {switch} registers no test", tests[-500:])
    built = [os.path.relpath(p, tree) for p in glob.glob(os.path.join(tree, "tests", "**"),
                                                          recursive=True)
             if os.path.isfile(p) and hrpkg.is_elf(p)]
    check(not built, f"{tag}: {switch} builds no test program", built)
    check(not os.path.exists(os.path.join(tree, "tests")),
          f"{tag}: {switch} does not even configure tests/")


def mode_static_only(ctx):
    work = hrpkg.fresh_dir(ctx.work)
    tree = os.path.join(work, "build")
    pfx = os.path.join(work, "prefix")
    # A packager's tree: no tests, and no cmocka to be found.
    configure_tree(ctx, tree, ["-DBUILD_SHARED_LIBS=OFF", "-DHASH_RING_BUILD_TESTS=OFF",
                               "-DHASH_RING_BUILD_CLI=OFF", f"-DCMAKE_INSTALL_PREFIX={pfx}",
                               "-DCMAKE_INSTALL_LIBDIR=lib"], env=no_cmocka_env(work))
    for lib in ctx.libs:
        check(os.path.isfile(os.path.join(tree, f"lib{lib}.a")),
              f"BUILD_SHARED_LIBS=OFF: lib{lib}.a built")
    so = glob.glob(os.path.join(tree, "**", "libhash_ring*.so*"), recursive=True)
    check(not so, "BUILD_SHARED_LIBS=OFF: no shared library built", so)
    check_no_tests_built(tree, "static-only", "HASH_RING_BUILD_TESTS=OFF")
    cmake_install(tree)
    libdir = os.path.join(pfx, "lib")
    check_layout(ctx, pfx, pfx, libdir, shared=False, static=True, cli=False, tag="static-only")
    check_pc_files(ctx, os.path.join(libdir, "pkgconfig"), pfx, "static-only")
    out = hrpkg.fresh_dir(os.path.join(work, "consumers"))
    pkgconfig_consumers(ctx, os.path.join(libdir, "pkgconfig"), out, "static-only-pc-static",
                        None, False, static=True)
    cmake_consumers(ctx, out, "static-only cmake", None, False, True, prefix_path=pfx)
    hrpkg.finish("static-only build")


def mode_abs_libdir(ctx):
    work = hrpkg.fresh_dir(ctx.work)
    tree = os.path.join(work, "build")
    pfx = os.path.join(work, "prefix")
    libdir = os.path.join(work, "elsewhere", "lib64")
    configure_tree(ctx, tree, ["-DBUILD_TESTING=OFF", "-DHASH_RING_BUILD_CLI=OFF",
                               f"-DCMAKE_INSTALL_PREFIX={pfx}",
                               f"-DCMAKE_INSTALL_LIBDIR={libdir}"])
    check_no_tests_built(tree, "abs-libdir")
    cmake_install(tree)
    check_layout(ctx, pfx, pfx, libdir, cli=False, tag="abs-libdir")
    check(not os.path.exists(os.path.join(pfx, "lib")) and
          not os.path.exists(os.path.join(pfx, libdir.lstrip("/"))),
          "abs-libdir: nothing installed under PREFIX/lib or PREFIX/<abs path>")
    check_no_rpath(pfx, "abs-libdir prefix", expect_elf=False)
    check_no_rpath(libdir, "abs-libdir libdir")
    check_pc_files(ctx, os.path.join(libdir, "pkgconfig"), pfx, "abs-libdir", libdir=libdir)
    out = hrpkg.fresh_dir(os.path.join(work, "consumers"))
    pkgconfig_consumers(ctx, os.path.join(libdir, "pkgconfig"), out, "abs-libdir-pc", libdir,
                        True)
    cmake_consumers(ctx, out, "abs-libdir cmake", libdir, True, True,
                    config_dir=os.path.join(libdir, "cmake", "hash_ring"))
    hrpkg.finish("absolute libdir")


def mode_no_cmocka(ctx):
    """Configure only: a plain configure (tests on, as for a top-level
    project) fails and says how to build without the tests."""
    work = hrpkg.fresh_dir(ctx.work)
    env = no_cmocka_env(work)
    probe = hrpkg.run(["pkg-config", "--exists", "cmocka"], env=env, check_rc=False, quiet=True)
    check(probe.returncode != 0, "cmocka is out of pkg-config's sight in this environment")
    tree = hrpkg.fresh_dir(os.path.join(work, "build"))
    p = hrpkg.run(["cmake", "-S", ctx.src, "-B", tree, "-G", ctx.a.generator,
                   f"-DCMAKE_C_COMPILER={ctx.a.cc}"], env=env, check_rc=False)
    out = p.stdout + p.stderr
    check(p.returncode != 0, "a plain configure without cmocka fails", out[-2000:])
    flat = " ".join(out.split())
    check("-DHASH_RING_BUILD_TESTS=OFF" in flat,
          "the error names -DHASH_RING_BUILD_TESTS=OFF", out[-2000:])
    check("cmocka" in flat, "the error names cmocka", out[-2000:])
    hrpkg.finish("configure without cmocka")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["stage", "consume", "static-only", "abs-libdir",
                                     "no-cmocka"])
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--build")
    ap.add_argument("--prefix", default="/usr/local")
    ap.add_argument("--libdir", default="lib")
    ap.add_argument("--cli", default="ON")
    ap.add_argument("--memcache", default="ON")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--generator", default="Unix Makefiles")
    ap.add_argument("--sanitize", default="")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    a.cli = a.cli.upper() in ("ON", "1", "TRUE", "YES")
    a.memcache = a.memcache.upper() in ("ON", "1", "TRUE", "YES")
    for tool in ("cmake", "readelf", "pkg-config", "ldd"):
        hrpkg.need_tool(tool)
    ctx = Ctx(a)
    {"stage": mode_stage, "consume": mode_consume, "static-only": mode_static_only,
     "abs-libdir": mode_abs_libdir, "no-cmocka": mode_no_cmocka}[a.mode](ctx)


if __name__ == "__main__":
    main()
