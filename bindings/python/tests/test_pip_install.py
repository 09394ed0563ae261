#!/usr/bin/env python3
"""test_pip_install.py - `pip install ./bindings/python` offline against an
installed library, found through pkg-config.

usage: test_pip_install.py BUILD_DIR PACKAGE_SOURCE_DIR VECTORS_DIR
Exit 0 pass, 1 fail, 77 skip (pip or pkg-config absent).

The build tree is installed into a temporary prefix (cmake --install), the
package's sources are copied (pip builds in the source folder) and pip
builds them with the system's setuptools and wheel (--no-index:
no network; without a pyproject.toml pip uses them without an
isolated build environment) into a temporary target.  A fresh interpreter that sees only
that target must load the extension from it, the library from the prefix,
and place the seed's keys as the original did (tests/vectors/seed3).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

CHILD = r"""
import sys
import hash_ring
from hash_ring import HashRing
site, prefix, vectors = sys.argv[1:4]
assert hash_ring._hash_ring.__file__.startswith(site), hash_ring._hash_ring.__file__
with open("/proc/self/maps") as f:
    libs = {l.split()[-1] for l in f if "libhash_ring.so" in l}
assert libs and all(l.startswith(prefix) for l in libs), libs
nodes = [l.split("\t") for l in open(vectors + "/seed3-weighted/nodes.tsv", encoding="utf-8")]
ring = HashRing([n for n, _ in nodes], {n: int(w) for n, w in nodes})
bad = 0
rows = [l.rstrip("\n").split("\t") for l in open(vectors + "/seed3-weighted/python.get.tsv",
                                                 encoding="utf-8")]
for k, want in rows:
    bad += ring.get_node(k) != want
assert bad == 0, "%d of %d keys misplaced" % (bad, len(rows))
print("# installed package: %d keys of seed3-weighted placed as the original" % len(rows))
"""


def main():
    build, src, vectors = (os.path.abspath(a) for a in sys.argv[1:4])
    if subprocess.run([sys.executable, "-m", "pip", "--version"],
                      capture_output=True).returncode != 0:
        print("SKIP: pip is not installed (Debian package python3-pip)")
        return 77
    if shutil.which("pkg-config") is None:
        print("SKIP: pkg-config is not installed")
        return 77
    tmp = tempfile.mkdtemp(prefix="hr-pip-")
    try:
        prefix = os.path.join(tmp, "prefix")
        # The installed hash_ring.pc is written into the build tree at install
        # time: another test installing the same build tree at the same moment
        # (to its own prefix) can swap it.  Install again until it names ours.
        for _ in range(5):
            subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True,
                           stdout=subprocess.DEVNULL)
            pcs = glob.glob(os.path.join(prefix, "**", "pkgconfig", "hash_ring.pc"),
                            recursive=True)
            if len(pcs) != 1:
                print("FAIL: hash_ring.pc not installed once: %r" % pcs)
                return 1
            with open(pcs[0], encoding="utf-8") as f:
                if "prefix=%s\n" % prefix in f.read():
                    break
        else:
            print("FAIL: the installed hash_ring.pc never named the prefix %s" % prefix)
            return 1
        copy = os.path.join(tmp, "src")
        shutil.copytree(src, copy, ignore=shutil.ignore_patterns(
            "build", "*.egg-info", "__pycache__", "*.so"))
        site = os.path.join(tmp, "site")
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                   PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        env.pop("PYTHONPATH", None)
        p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps",
                            "--target", site, copy],
                           env=env, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            print("FAIL: pip install:\n" + p.stdout[-3000:] + p.stderr[-3000:])
            return 1
        if not os.path.isdir(os.path.join(site, "hash_ring-1.0.0.dist-info")):
            print("FAIL: no hash_ring-1.0.0.dist-info in %r" % os.listdir(site))
            return 1
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
        env["PYTHONPATH"] = site
        p = subprocess.run([sys.executable, "-c", CHILD, site, prefix, vectors], env=env,
                           capture_output=True, text=True, timeout=600, cwd=tmp)
        sys.stdout.write(p.stdout)
        if p.returncode != 0:
            print("FAIL: the installed package:\n" + p.stderr[-3000:])
            return 1
        # Without pkg-config's answer the build stops with a clear message.
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(tmp, "nowhere"),
                   PKG_CONFIG_LIBDIR=os.path.join(tmp, "nowhere"))
        p = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--no-deps",
                            "--target", os.path.join(tmp, "site2"), copy], env=env, capture_output=True, text=True, timeout=600)
        if p.returncode == 0 or "pkg-config cannot find libhash_ring" not in p.stdout + p.stderr:
            print("FAIL: pip install without the library: %d\n%s" % (
                p.returncode, (p.stdout + p.stderr)[-2000:]))
            return 1
        print("# pip install ./bindings/python against %s: ok" % pcs[0][len(tmp):])
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
