#!/usr/bin/python3
"""Install hash_ring to staging prefixes and build programs against it.

  check_install.py stage   --build B --work W ...   install B twice:
        `cmake --install B --prefix W/prefix` and `DESTDIR=W/destdir cmake
        --install B`; check the layout and that no installed ELF file has an
        RPATH or RUNPATH (readelf -d).
  check_install.py consume --build B --work W ...   build tests/packaging/
        consumer against both staging trees: with `pkg-config --cflags
        --libs hash_ring`, with `pkg-config --static`, and with
        find_package(hash_ring) in a separate CMake project (shared, static
        and default target); run each on the vector seed3 and compare with
        the Python peer's answers; check what each binary links (readelf -d)
        and that find_package(hash_ring <major+1>) is refused.
  check_install.py static-only --work W ...   configure a separate tree with
        -DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF: only libhash_ring.a is
        built, no test is built or registered; install; consume with
        pkg-config --static and find_package; no libhash_ring.so anywhere.
  check_install.py abs-libdir --work W ...   configure a separate tree with an
        absolute CMAKE_INSTALL_LIBDIR outside the prefix; install; check
        hash_ring.pc and the CMake package; consume with pkg-config and
        find_package (shared and static).

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
    real = os.path.join(libdir, f"libhash_ring.so.{v}")
    if shared:
        check(os.path.isfile(real) and not os.path.islink(real),
              f"{tag}: libhash_ring.so.{v} is a real file")
        for link, target in ((f"libhash_ring.so.{ctx.major}", f"libhash_ring.so.{v}"),
                             ("libhash_ring.so", f"libhash_ring.so.{ctx.major}")):
            p = os.path.join(libdir, link)
            check(os.path.islink(p) and os.readlink(p) == target,
                  f"{tag}: {link} -> {target}",
                  os.readlink(p) if os.path.islink(p) else "missing or not a link")
        if os.path.isfile(real):
            check(hrpkg.soname(real) == f"libhash_ring.so.{ctx.major}",
                  f"{tag}: SONAME libhash_ring.so.{ctx.major}", hrpkg.soname(real))
    else:
        left = glob.glob(os.path.join(libdir, "libhash_ring.so*"))
        check(not left, f"{tag}: no shared library installed", left)
    check(os.path.isfile(os.path.join(libdir, "libhash_ring.a")) == static,
          f"{tag}: libhash_ring.a {'installed' if static else 'absent'}")
    pc = os.path.join(libdir, "pkgconfig", "hash_ring.pc")
    check(os.path.isfile(pc), f"{tag}: pkgconfig/hash_ring.pc installed")
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


# ---- consumers ----------------------------------------------------------------

def run_consumer(ctx, exe, tag, libdir=None, want_shared=True):
    deps = hrpkg.needed(exe)
    linked = f"libhash_ring.so.{ctx.major}" in deps
    check(linked == want_shared,
          f"{tag}: linked {'dynamically' if want_shared else 'statically'} "
          f"(NEEDED {'has' if want_shared else 'lacks'} libhash_ring.so.{ctx.major})",
          " ".join(deps))
    env = {"LD_LIBRARY_PATH": libdir} if libdir else {"LD_LIBRARY_PATH": None}
    if want_shared and libdir:
        ldd = hrpkg.run(["ldd", exe], env=env, check_rc=False, quiet=True).stdout
        m = re.search(r"libhash_ring\.so\.\d+ => (\S+)", ldd)
        check(m is not None and os.path.realpath(m.group(1)).startswith(
            os.path.realpath(libdir) + "/"),
            f"{tag}: loads libhash_ring from the staging libdir", ldd)
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


def build_pkgconfig(ctx, pcdir, outdir, name, static=False, sysroot=None, expect_link=True):
    env = pkgconfig_env(pcdir, sysroot)
    args = ["pkg-config", "--cflags", "--libs"] + (["--static"] if static else []) + ["hash_ring"]
    flags = hrpkg.run(args, env=env).stdout.split()
    ver = hrpkg.run(["pkg-config", "--modversion", "hash_ring"], env=env, quiet=True).stdout
    check(ver.strip() == ctx.vstring, f"{name}: pkg-config --modversion is {ctx.vstring}", ver)
    if static:
        for want in ("-lhash_ring", "-lcrypto", "-pthread", "-lm"):
            check(want in flags, f"{name}: pkg-config --static --libs gives {want}",
                  " ".join(flags))
    exe = os.path.join(outdir, name)
    p = hrpkg.run([ctx.a.cc, "-std=c99", "-o", exe,
                   os.path.join(HERE, "consumer", "main.c")] + ctx.san_flags() + flags,
                  check_rc=False)
    check(p.returncode == 0, f"{name}: compiles and links with `{' '.join(args)}`",
          p.stdout + p.stderr)
    return exe if p.returncode == 0 else None


def build_cmake_consumer(ctx, outdir, name, prefix_path=None, config_dir=None):
    """Configures and builds tests/packaging/consumer; returns {link: exe}
    for the executables it built (default, shared, static)."""
    b = hrpkg.fresh_dir(os.path.join(outdir, name))
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
    return {link: os.path.join(b, f"consumer_{link}")
            for link in ("default", "shared", "static")
            if os.path.isfile(os.path.join(b, f"consumer_{link}"))}


def cmake_consumers(ctx, outdir, name, libdir, shared, static, prefix_path=None,
                    config_dir=None):
    exes = build_cmake_consumer(ctx, outdir, name, prefix_path, config_dir)
    want = {"default"} | ({"shared"} if shared else set()) | ({"static"} if static else set())
    check(set(exes) == want,
          f"{name}: the package provides targets for {sorted(want)} (hash_ring::hash_ring"
          f"{', hash_ring_shared' if shared else ''}{', hash_ring_static' if static else ''})",
          f"built {sorted(exes)}")
    for link, exe in sorted(exes.items()):
        dyn = shared if link == "default" else link == "shared"
        run_consumer(ctx, exe, f"{name} {link}", libdir=libdir if dyn else None,
                     want_shared=dyn)


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
    pc = pc_variables(os.path.join(lib_in(pfx, a.libdir), "pkgconfig", "hash_ring.pc"))
    check(pc.get("prefix") == pfx, "--prefix: hash_ring.pc prefix= is the --prefix",
          pc.get("prefix"))
    pc = pc_variables(os.path.join(lib_in(droot, a.libdir), "pkgconfig", "hash_ring.pc"))
    check(pc.get("prefix") == a.prefix,
          "DESTDIR: hash_ring.pc prefix= is the configured prefix (DESTDIR not baked in)",
          pc.get("prefix"))
    check(pc.get("Version:") == ctx.vstring, "hash_ring.pc Version is the header's",
          pc.get("Version:"))
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

    exe = build_pkgconfig(ctx, pcdir, out, "pc-shared")
    if exe:
        run_consumer(ctx, exe, "pc-shared", libdir=libdir, want_shared=True)
    # Both libraries are installed: -lhash_ring picks the shared one, as with
    # any library; --static must still bring libcrypto, -pthread and -lm.
    exe = build_pkgconfig(ctx, pcdir, out, "pc-static-flags", static=True)
    if exe:
        run_consumer(ctx, exe, "pc-static-flags", libdir=libdir, want_shared=True)
    cmake_consumers(ctx, out, "cmake", libdir, True, True, prefix_path=pfx)

    # The DESTDIR tree: pkg-config through PKG_CONFIG_SYSROOT_DIR, and the
    # relocatable CMake package found from where it lies.
    dlib = lib_in(droot, a.libdir)
    exe = build_pkgconfig(ctx, os.path.join(dlib, "pkgconfig"), out, "destdir-pc-shared",
                          sysroot=dest)
    if exe:
        run_consumer(ctx, exe, "destdir-pc-shared", libdir=dlib, want_shared=True)
    cmake_consumers(ctx, out, "destdir-cmake", dlib, True, True, prefix_path=droot)
    hrpkg.finish("install (consumers)")


def configure_tree(ctx, tree, opts):
    a = ctx.a
    hrpkg.fresh_dir(tree)
    hrpkg.run(["cmake", "-S", ctx.src, "-B", tree, "-G", a.generator,
               f"-DCMAKE_C_COMPILER={a.cc}", "-DCMAKE_BUILD_TYPE=Release"] + opts)
    hrpkg.run(["cmake", "--build", tree, "-j", str(a.jobs)])


def check_no_tests_built(tree, tag):
    tests = hrpkg.run(["ctest", "--test-dir", tree, "-N"], check_rc=False, quiet=True).stdout
    m = re.search(r"Total Tests: (\d+)", tests)
    check(m is not None and m.group(1) == "0",
          f"{tag}: BUILD_TESTING=OFF registers no test", tests[-500:])
    built = [os.path.relpath(p, tree) for p in glob.glob(os.path.join(tree, "tests", "**"),
                                                          recursive=True)
             if os.path.isfile(p) and hrpkg.is_elf(p)]
    check(not built, f"{tag}: BUILD_TESTING=OFF builds no test program", built)
    check(not os.path.exists(os.path.join(tree, "tests")),
          f"{tag}: BUILD_TESTING=OFF does not even configure tests/")


def mode_static_only(ctx):
    work = hrpkg.fresh_dir(ctx.work)
    tree = os.path.join(work, "build")
    pfx = os.path.join(work, "prefix")
    configure_tree(ctx, tree, ["-DBUILD_SHARED_LIBS=OFF", "-DBUILD_TESTING=OFF",
                               "-DHASH_RING_BUILD_CLI=OFF", f"-DCMAKE_INSTALL_PREFIX={pfx}",
                               "-DCMAKE_INSTALL_LIBDIR=lib"])
    check(os.path.isfile(os.path.join(tree, "libhash_ring.a")),
          "BUILD_SHARED_LIBS=OFF: libhash_ring.a built")
    so = glob.glob(os.path.join(tree, "**", "libhash_ring.so*"), recursive=True)
    check(not so, "BUILD_SHARED_LIBS=OFF: no libhash_ring.so built", so)
    check_no_tests_built(tree, "static-only")
    cmake_install(tree)
    libdir = os.path.join(pfx, "lib")
    check_layout(ctx, pfx, pfx, libdir, shared=False, static=True, cli=False, tag="static-only")
    out = hrpkg.fresh_dir(os.path.join(work, "consumers"))
    pcdir = os.path.join(libdir, "pkgconfig")
    exe = build_pkgconfig(ctx, pcdir, out, "pc-static", static=True)
    if exe:
        run_consumer(ctx, exe, "static-only pc --static", want_shared=False)
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
    pc = pc_variables(os.path.join(libdir, "pkgconfig", "hash_ring.pc"))
    check(pc.get("libdir") == libdir, "abs-libdir: hash_ring.pc libdir= is the absolute libdir",
          pc.get("libdir"))
    check(pc.get("includedir") == "${prefix}/include",
          "abs-libdir: hash_ring.pc includedir= is ${prefix}/include", pc.get("includedir"))
    check(pc.get("prefix") == pfx, "abs-libdir: hash_ring.pc prefix=", pc.get("prefix"))
    out = hrpkg.fresh_dir(os.path.join(work, "consumers"))
    exe = build_pkgconfig(ctx, os.path.join(libdir, "pkgconfig"), out, "pc-shared")
    if exe:
        run_consumer(ctx, exe, "abs-libdir pc", libdir=libdir, want_shared=True)
    cmake_consumers(ctx, out, "abs-libdir cmake", libdir, True, True,
                    config_dir=os.path.join(libdir, "cmake", "hash_ring"))
    hrpkg.finish("absolute libdir")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["stage", "consume", "static-only", "abs-libdir"])
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--build")
    ap.add_argument("--prefix", default="/usr/local")
    ap.add_argument("--libdir", default="lib")
    ap.add_argument("--cli", default="ON")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--generator", default="Unix Makefiles")
    ap.add_argument("--sanitize", default="")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    a.cli = a.cli.upper() in ("ON", "1", "TRUE", "YES")
    for tool in ("cmake", "readelf", "pkg-config", "ldd"):
        hrpkg.need_tool(tool)
    ctx = Ctx(a)
    {"stage": mode_stage, "consume": mode_consume, "static-only": mode_static_only,
     "abs-libdir": mode_abs_libdir}[a.mode](ctx)


if __name__ == "__main__":
    main()
