"""Builds the C extension against an installed libhash_ring.

The library is found with pkg-config (set PKG_CONFIG_PATH for a library
installed under another prefix).  A library outside the default search
path is recorded as the extension's RUNPATH.

There is deliberately no pyproject.toml: without one, pip builds with the
setuptools and wheel already installed (Debian's python3-setuptools and
python3-wheel) instead of fetching them into an isolated environment, so
`pip install ./bindings/python` works offline.
"""
import os
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

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

setup(
    name="hash_ring",
    version="1.0.0",
    description="Consistent hashing on libhash_ring: a faster drop-in for the Python "
                "package hash_ring, with every ketama dialect",
    long_description=long_description,
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    packages=["hash_ring"],
    extras_require={"memcache": ["python-memcached"]},
    classifiers=[
        "Programming Language :: C",
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: BSD License",
    ],
    ext_modules=[Extension(
        "hash_ring._hash_ring",
        sources=["src/_hash_ring.c"],
        include_dirs=flags(cflags, "-I"),
        library_dirs=flags(libs, "-L"),
        libraries=flags(libs, "-l"),
        runtime_library_dirs=runtime,
        extra_compile_args=["-std=c11"],
    )],
)
