"""Builds the C extension against an installed libhash_ring.

The library is found with pkg-config (set PKG_CONFIG_PATH for a library
installed under another prefix).  A library outside the default search
path is recorded as the extension's RUNPATH.
"""
import shlex
import subprocess
import sys

from setuptools import Extension, setup


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "hash_ring"], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True).stdout
    except FileNotFoundError:
        sys.exit("hash_ring: pkg-config is not installed (Debian package pkg-config)")
    except subprocess.CalledProcessError as e:
        sys.exit("hash_ring: pkg-config cannot find libhash_ring (install it, or set "
                 "PKG_CONFIG_PATH to the directory holding hash_ring.pc): " + e.stderr.strip())
    return shlex.split(out)


def flags(args, prefix):
    return [a[len(prefix):] for a in args if a.startswith(prefix)]


cflags = pkg_config("--cflags")
libs = pkg_config("--libs")
libdir = pkg_config("--variable=libdir")
runtime = [d for d in libdir if not (d.startswith("/usr/lib") or d.startswith("/lib"))]

setup(ext_modules=[Extension(
    "hash_ring._hash_ring",
    sources=["src/_hash_ring.c"],
    include_dirs=flags(cflags, "-I"),
    library_dirs=flags(libs, "-L"),
    libraries=flags(libs, "-l"),
    runtime_library_dirs=runtime,
    extra_compile_args=["-std=c11"],
)])
