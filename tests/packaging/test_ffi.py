#!/usr/bin/python3
"""A binding's view: the INSTALLED libhash_ring through ctypes.

  test_ffi.py LIBDIR INCLUDE_DIR VECTORS_DIR [SANITIZE]

Loads LIBDIR/libhash_ring.so.<MAJOR> (the name a binding dlopens) with
ctypes from the standard library and, declaring no struct layout at all
(handles are void pointers, strings are pointer + length), checks:
  - version: hash_ring_version() / _version_string() equal the header's
    macros, and the loaded file's SONAME is libhash_ring.so.<MAJOR>;
  - status codes: every HASH_RING_E* of hash_ring.h has its own
    hash_ring_strerror text and maps to its own Python exception; unknown
    codes (the memcached client's among them) give "unknown error"; each
    code a ring can produce is provoked and raised as its exception, and
    out-parameters are left untouched on error; where the client's library
    libhash_ring_memcache.so.<MAJOR> is installed, hash_ring_mc_strerror
    knows the codes of both headers, each with its own text;
  - dialects: every value of hash_ring_dialect_t has a name that parses
    back to it; the next value and an unknown name are refused;
  - placements: for every folder of tests/vectors and every DIALECT.get.tsv
    in it, a ring of nodes.tsv in that dialect answers every key as the
    peer did, one key a call (hash_ring_get_node) and in batches
    (hash_ring_get_node_batch: all keys in one call, and 1,000 a call);
    DIALECT.replicas.tsv and DIALECT.continuum.tsv likewise
    (hash_ring_get_nodes, hash_ring_snapshot_point); snapshots agree with
    the ring, their batch calls too (hash_ring_snapshot_get_node_batch,
    hash_ring_snapshot_get_index_batch); shares sum to 2^32;
  - batch contract: count 0 is a no-op, node_lens may be NULL, bad
    arguments and an empty ring give their codes with the outputs
    untouched;
  - positions: hash_ring_position() equals the first four bytes of
    hashlib.md5(key), little-endian, for keys with NUL and high bytes.
"""

import ctypes
import hashlib
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrpkg  # noqa: E402
from hrpkg import check  # noqa: E402

c_size_p = ctypes.POINTER(ctypes.c_size_t)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)
c_char_pp = ctypes.POINTER(ctypes.c_char_p)


# ---- the binding ------------------------------------------------------------

class HashRingError(Exception):
    code = None


def read_codes(include_dir, headers=("hash_ring.h",)):
    """{name: value} of every HASH_RING_OK / HASH_RING_E* macro of headers."""
    codes = {}
    for h in sorted(os.listdir(include_dir)):
        if h in headers:
            text = open(os.path.join(include_dir, h), encoding="utf-8").read()
            for m in re.finditer(r"^#define (HASH_RING_(?:OK|E[A-Z]+))\s+\(?(-?\d+)\)?", text,
                                 re.M):
                codes[m.group(1)] = int(m.group(2))
    return codes


class Binding:
    def __init__(self, path, codes):
        self.lib = ctypes.CDLL(path)
        self.codes = codes
        # One exception class per error code, as a binding would generate.
        self.exc = {}
        for name, value in codes.items():
            if value < 0:
                self.exc[value] = type(name, (HashRingError,), {"code": value})
        L = self.lib
        sig = {
            "hash_ring_version": (ctypes.c_uint, []),
            "hash_ring_version_string": (ctypes.c_char_p, []),
            "hash_ring_strerror": (ctypes.c_char_p, [ctypes.c_int]),
            "hash_ring_dialect_name": (ctypes.c_char_p, [ctypes.c_int]),
            "hash_ring_dialect_from_name": (ctypes.c_int, [ctypes.c_char_p,
                                                           ctypes.POINTER(ctypes.c_int)]),
            "hash_ring_create": (ctypes.c_int, [c_void_pp, ctypes.c_int]),
            "hash_ring_destroy": (None, [ctypes.c_void_p]),
            "hash_ring_get_dialect": (ctypes.c_int, [ctypes.c_void_p,
                                                     ctypes.POINTER(ctypes.c_int)]),
            "hash_ring_add_node": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                  ctypes.c_size_t, ctypes.c_uint32]),
            "hash_ring_add_nodes": (ctypes.c_int, [ctypes.c_void_p,
                                                   ctypes.POINTER(ctypes.c_char_p), c_size_p,
                                                   ctypes.POINTER(ctypes.c_uint32),
                                                   ctypes.c_size_t]),
            "hash_ring_remove_node": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                     ctypes.c_size_t]),
            "hash_ring_set_weight": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                    ctypes.c_size_t, ctypes.c_uint32]),
            "hash_ring_get_node": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                  ctypes.c_size_t, c_void_pp, c_size_p]),
            "hash_ring_get_nodes": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                   ctypes.c_size_t, c_void_pp, c_size_p,
                                                   ctypes.c_size_t, c_size_p]),
            # Batches (since 1.1): keys as parallel arrays of pointers and lengths.
            "hash_ring_get_node_batch": (ctypes.c_int, [ctypes.c_void_p, c_char_pp, c_size_p,
                                                        ctypes.c_size_t, c_void_pp, c_size_p]),
            "hash_ring_snapshot_get_node_batch": (ctypes.c_int, [ctypes.c_void_p, c_char_pp,
                                                                 c_size_p, ctypes.c_size_t,
                                                                 c_void_pp, c_size_p]),
            "hash_ring_snapshot_get_index_batch": (ctypes.c_int, [ctypes.c_void_p, c_char_pp,
                                                                  c_size_p, ctypes.c_size_t,
                                                                  c_size_p]),
            "hash_ring_position": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_size_t,
                                                  ctypes.POINTER(ctypes.c_uint32)]),
            "hash_ring_snapshot_acquire": (ctypes.c_int, [ctypes.c_void_p, c_void_pp]),
            "hash_ring_snapshot_release": (None, [ctypes.c_void_p]),
            "hash_ring_snapshot_get_node": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                           ctypes.c_size_t, c_void_pp,
                                                           c_size_p]),
            "hash_ring_snapshot_get_nodes": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p,
                                                            ctypes.c_size_t, c_void_pp,
                                                            c_size_p, ctypes.c_size_t,
                                                            c_size_p]),
            "hash_ring_snapshot_get_node_at": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_uint32,
                                                              c_void_pp, c_size_p]),
            "hash_ring_snapshot_dialect": (ctypes.c_int, [ctypes.c_void_p,
                                                          ctypes.POINTER(ctypes.c_int)]),
            "hash_ring_snapshot_node_count": (ctypes.c_size_t, [ctypes.c_void_p]),
            "hash_ring_snapshot_node": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t,
                                                       c_void_pp, c_size_p,
                                                       ctypes.POINTER(ctypes.c_uint32),
                                                       c_size_p,
                                                       ctypes.POINTER(ctypes.c_uint64)]),
            "hash_ring_snapshot_point_count": (ctypes.c_size_t, [ctypes.c_void_p]),
            "hash_ring_snapshot_point": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t,
                                                        ctypes.POINTER(ctypes.c_uint32),
                                                        c_void_pp, c_size_p]),
        }
        for name, (res, args) in sig.items():
            fn = getattr(L, name)
            fn.restype = res
            fn.argtypes = args

    def call(self, name, *args):
        """Calls a status-returning function; raises the code's exception."""
        rc = getattr(self.lib, name)(*args)
        if rc != 0:
            raise self.exc.get(rc, HashRingError)(f"{name}: {rc} "
                                                  f"{self.lib.hash_ring_strerror(rc).decode()}")
        return rc

    # Rings and snapshots as a binding would wrap them.
    def create(self, dialect):
        h = ctypes.c_void_p()
        self.call("hash_ring_create", ctypes.byref(h), dialect)
        return h

    def add_nodes(self, ring, nodes):
        n = len(nodes)
        names = (ctypes.c_char_p * n)(*[nm for nm, _ in nodes])
        lens = (ctypes.c_size_t * n)(*[len(nm) for nm, _ in nodes])
        weights = (ctypes.c_uint32 * n)(*[w for _, w in nodes])
        self.call("hash_ring_add_nodes", ring, names, lens, weights, n)

    def get_node(self, ring, key, fn="hash_ring_get_node"):
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        self.call(fn, ring, key, len(key), ctypes.byref(p), ctypes.byref(n))
        return ctypes.string_at(p.value, n.value)

    def get_node_batch(self, ring, keys, fn="hash_ring_get_node_batch", with_lens=True):
        """Owners of keys (a list of bytes) in one call."""
        n = len(keys)
        karr = (ctypes.c_char_p * max(n, 1))(*keys)
        larr = (ctypes.c_size_t * max(n, 1))(*[len(k) for k in keys])
        nodes = (ctypes.c_void_p * max(n, 1))()
        lens = (ctypes.c_size_t * max(n, 1))() if with_lens else None
        self.call(fn, ring, karr, larr, n, nodes, lens)
        if with_lens:
            return [ctypes.string_at(nodes[i], lens[i]) for i in range(n)]
        return [ctypes.string_at(nodes[i]) for i in range(n)]

    def get_index_batch(self, snap, keys):
        n = len(keys)
        karr = (ctypes.c_char_p * max(n, 1))(*keys)
        larr = (ctypes.c_size_t * max(n, 1))(*[len(k) for k in keys])
        out = (ctypes.c_size_t * max(n, 1))()
        self.call("hash_ring_snapshot_get_index_batch", snap, karr, larr, n, out)
        return list(out[:n])

    def get_nodes(self, ring, key, maxn, fn="hash_ring_get_nodes"):
        ptrs = (ctypes.c_void_p * max(maxn, 1))()
        lens = (ctypes.c_size_t * max(maxn, 1))()
        count = ctypes.c_size_t()
        self.call(fn, ring, key, len(key), ptrs, lens, maxn, ctypes.byref(count))
        return [ctypes.string_at(ptrs[i], lens[i]) for i in range(count.value)]


# ---- checks -------------------------------------------------------------------

def check_version(b, lib_path, include_dir):
    major, minor, patch, vstring = hrpkg.header_version(os.path.join(include_dir, "hash_ring.h"))
    v = b.lib.hash_ring_version()
    check(v == major * 10000 + minor * 100 + patch,
          f"hash_ring_version() = {major * 10000 + minor * 100 + patch}", v)
    s = b.lib.hash_ring_version_string()
    check(s == vstring.encode(), f"hash_ring_version_string() = {vstring}", s)
    check(hrpkg.soname(lib_path) == f"libhash_ring.so.{major}",
          f"loaded file's SONAME is libhash_ring.so.{major}", hrpkg.soname(lib_path))
    print(f"version {s.decode()} ({v}), SONAME {hrpkg.soname(lib_path)}")
    return major


def expect_error(b, code_name, what, fn, *args, outs=()):
    """Calls fn, expects the exception of code_name; outs are ctypes objects
    that must keep their value."""
    before = [o.value for o in outs]
    code = b.codes[code_name]
    try:
        b.call(fn, *args)
    except HashRingError as e:
        check(type(e) is b.exc[code], f"{what}: raises {code_name}",
              f"raised {type(e).__name__}: {e}")
    else:
        check(False, f"{what}: raises {code_name}", "no error")
    after = [o.value for o in outs]
    if outs:
        check(before == after, f"{what}: out-parameters untouched", f"{before} -> {after}")


def check_errors(b, ndialects):
    codes = b.codes
    check(codes.get("HASH_RING_OK") == 0, "HASH_RING_OK is 0")
    errs = {k: v for k, v in codes.items() if v < 0}
    check(len(errs) >= 6, "the headers define the error codes", errs)
    check(len(set(errs.values())) == len(errs), "error codes are distinct", errs)
    vals = sorted(errs.values(), reverse=True)
    check(vals == list(range(-1, -len(vals) - 1, -1)),
          "error codes are -1, -2, ... without gaps", vals)
    texts = {}
    for name, value in sorted(errs.items(), key=lambda kv: -kv[1]):
        t = b.lib.hash_ring_strerror(value)
        check(t is not None and len(t) > 0 and t != b"unknown error",
              f"hash_ring_strerror({name}) has its own text", t)
        texts[value] = t
    check(len(set(texts.values())) == len(texts), "every error code has a distinct text")
    for unknown in (1, 12345, min(vals) - 1, -1000, 2**31 - 1, -2**31):
        check(b.lib.hash_ring_strerror(unknown) == b"unknown error",
              f"hash_ring_strerror({unknown}) is 'unknown error'",
              b.lib.hash_ring_strerror(unknown))
    check(b.lib.hash_ring_strerror(0) not in (None, b""), "hash_ring_strerror(0) has a text")
    check(len(vals) == 6 and "HASH_RING_EMISS" not in codes,
          "hash_ring.h defines the ring's six codes only", sorted(codes))

    L = b.lib
    h = ctypes.c_void_p(12345)
    expect_error(b, "HASH_RING_EINVAL", "create(NULL out)", "hash_ring_create", None, 0)
    expect_error(b, "HASH_RING_EINVAL", "create(unknown dialect)", "hash_ring_create",
                 ctypes.byref(h), ndialects, outs=(h,))
    expect_error(b, "HASH_RING_EINVAL", "create(dialect -1)", "hash_ring_create",
                 ctypes.byref(h), -1, outs=(h,))
    ring = b.create(0)
    try:
        p, n = ctypes.c_void_p(777), ctypes.c_size_t(999)
        expect_error(b, "HASH_RING_EEMPTY", "get_node on an empty ring", "hash_ring_get_node",
                     ring, b"k", 1, ctypes.byref(p), ctypes.byref(n), outs=(p, n))
        expect_error(b, "HASH_RING_EINVAL", "add_node(name_len 0)", "hash_ring_add_node",
                     ring, b"", 0, 1)
        expect_error(b, "HASH_RING_EINVAL", "add_node(NULL ring)", "hash_ring_add_node",
                     None, b"a", 1, 1)
        b.call("hash_ring_add_node", ring, b"a", 1, 0)
        expect_error(b, "HASH_RING_EEMPTY", "get_node when every weight is 0",
                     "hash_ring_get_node", ring, b"k", 1, ctypes.byref(p), ctypes.byref(n),
                     outs=(p, n))
        b.call("hash_ring_set_weight", ring, b"a", 1, 1)
        check(b.get_node(ring, b"k") == b"a", "after set_weight(1) the only node owns keys")
        expect_error(b, "HASH_RING_EEXIST", "add_node of a member", "hash_ring_add_node",
                     ring, b"a", 1, 5)
        expect_error(b, "HASH_RING_ENOTFOUND", "remove_node of a stranger",
                     "hash_ring_remove_node", ring, b"zz", 2)
        expect_error(b, "HASH_RING_ENOTFOUND", "set_weight of a stranger",
                     "hash_ring_set_weight", ring, b"zz", 2, 3)
        expect_error(b, "HASH_RING_EINVAL", "get_node(key NULL, len 1)", "hash_ring_get_node",
                     ring, None, 1, ctypes.byref(p), ctypes.byref(n), outs=(p, n))
        expect_error(b, "HASH_RING_EINVAL", "get_node(node NULL)", "hash_ring_get_node",
                     ring, b"k", 1, None, None)
        check(b.get_node(ring, b"") == b"a", "an empty key (NULL, 0) is a valid key")
        # All or nothing: a batch with a duplicate adds nothing.
        names = (ctypes.c_char_p * 3)(b"b", b"c", b"b")
        lens = (ctypes.c_size_t * 3)(1, 1, 1)
        expect_error(b, "HASH_RING_EEXIST", "add_nodes with a repeated name",
                     "hash_ring_add_nodes", ring, names, lens, None, 3)
        snap = ctypes.c_void_p()
        b.call("hash_ring_snapshot_acquire", ring, ctypes.byref(snap))
        try:
            check(L.hash_ring_snapshot_node_count(snap) == 1,
                  "the failed batch added nothing", L.hash_ring_snapshot_node_count(snap))
            w = ctypes.c_uint32(55)
            expect_error(b, "HASH_RING_ENOTFOUND", "snapshot_node(index out of range)",
                         "hash_ring_snapshot_node", snap, 1, None, None, ctypes.byref(w), None,
                         None, outs=(w,))
            pt = ctypes.c_uint32(66)
            expect_error(b, "HASH_RING_ENOTFOUND", "snapshot_point(index out of range)",
                         "hash_ring_snapshot_point", snap, L.hash_ring_snapshot_point_count(snap),
                         ctypes.byref(pt), None, None, outs=(pt,))
        finally:
            L.hash_ring_snapshot_release(snap)
        expect_error(b, "HASH_RING_EINVAL", "snapshot_acquire(NULL ring)",
                     "hash_ring_snapshot_acquire", None, ctypes.byref(snap))
        d = ctypes.c_int(-7)
        expect_error(b, "HASH_RING_EINVAL", "dialect_from_name(unknown)",
                     "hash_ring_dialect_from_name", b"no-such-dialect", ctypes.byref(d),
                     outs=(d,))
        expect_error(b, "HASH_RING_EINVAL", "position(NULL key, len 3)", "hash_ring_position",
                     None, 3, ctypes.byref(ctypes.c_uint32()))
        check_batch_errors(b, ring)
    finally:
        L.hash_ring_destroy(ring)
    L.hash_ring_destroy(None)
    L.hash_ring_snapshot_release(None)
    check(L.hash_ring_snapshot_node_count(None) == 0, "snapshot_node_count(NULL) is 0")
    # HASH_RING_ENOMEM is provoked by check_enomem.  Codes no ring call can
    # be made to return here (libcrypto without MD5, the memcached client's) are
    # covered by the name -> exception mapping and their strerror texts.
    provoked = {"HASH_RING_EINVAL", "HASH_RING_EEMPTY", "HASH_RING_EEXIST",
                "HASH_RING_ENOTFOUND"}
    print(f"{len(errs)} error codes mapped to exceptions; provoked: {sorted(provoked)}")


def check_batch_errors(b, ring):
    """The batch's contract through the foreign interface; ring has one
    member, "a"."""
    keys = (ctypes.c_char_p * 3)(b"k1", None, b"k3")
    lens = (ctypes.c_size_t * 3)(2, 0, 2)
    nodes = (ctypes.c_void_p * 3)(11, 22, 33)
    nlens = (ctypes.c_size_t * 3)(44, 55, 66)

    def untouched(what):
        check(list(nodes) == [11, 22, 33] and list(nlens) == [44, 55, 66],
              f"{what}: outputs untouched", (list(nodes), list(nlens)))

    rc = b.lib.hash_ring_get_node_batch(ring, None, None, 0, None, None)
    check(rc == 0, "batch of 0 keys with NULL arrays succeeds", rc)
    untouched("count 0")
    lens[1] = 1
    expect_error(b, "HASH_RING_EINVAL", "batch with a NULL key of length 1",
                 "hash_ring_get_node_batch", ring, keys, lens, 3, nodes, nlens)
    untouched("NULL key of length 1")
    lens[1] = 0
    expect_error(b, "HASH_RING_EINVAL", "batch on a NULL ring", "hash_ring_get_node_batch",
                 None, keys, lens, 3, nodes, nlens)
    expect_error(b, "HASH_RING_EINVAL", "batch with nodes NULL", "hash_ring_get_node_batch",
                 ring, keys, lens, 3, None, nlens)
    expect_error(b, "HASH_RING_EINVAL", "batch with key_lens NULL", "hash_ring_get_node_batch",
                 ring, keys, None, 3, nodes, nlens)
    untouched("bad arguments")
    # A NULL key of length 0 is the empty key.
    b.call("hash_ring_get_node_batch", ring, keys, lens, 3, nodes, nlens)
    got = [ctypes.string_at(nodes[i], nlens[i]) for i in range(3)]
    check(got == [b"a", b"a", b"a"], "batch answers the only member for every key", got)
    empty = b.create(0)
    try:
        nodes[:] = [11, 22, 33]
        nlens[:] = [44, 55, 66]
        expect_error(b, "HASH_RING_EEMPTY", "batch on an empty ring",
                     "hash_ring_get_node_batch", empty, keys, lens, 3, nodes, nlens)
        untouched("empty ring")
        rc = b.lib.hash_ring_get_node_batch(empty, None, None, 0, None, None)
        check(rc == 0, "batch of 0 keys on an empty ring succeeds", rc)
    finally:
        b.lib.hash_ring_destroy(empty)


def check_client_codes(libdir, major, include_dir):
    """The memcached client's library, where installed: its strerror knows
    both headers' codes; the ring's strerror knows only its own."""
    path = os.path.join(libdir, f"libhash_ring_memcache.so.{major}")
    if not os.path.exists(path):
        print(f"note: {path} not installed: the client's codes not checked")
        return
    mc = ctypes.CDLL(path)
    mc.hash_ring_mc_strerror.restype = ctypes.c_char_p
    mc.hash_ring_mc_strerror.argtypes = [ctypes.c_int]
    ring = ctypes.CDLL(os.path.join(libdir, f"libhash_ring.so.{major}"))
    ring.hash_ring_strerror.restype = ctypes.c_char_p
    ring.hash_ring_strerror.argtypes = [ctypes.c_int]
    own = read_codes(include_dir, ("hash_ring_memcache.h",))
    both = read_codes(include_dir, ("hash_ring.h", "hash_ring_memcache.h"))
    check(len(own) >= 8 and all(v < -6 for v in own.values()),
          "hash_ring_memcache.h defines the client's codes, after the ring's", own)
    errs = sorted(v for v in both.values() if v < 0)
    check(errs == list(range(min(errs), 0)), "ring and client codes are -1, -2, ... without gaps",
          errs)
    texts = {v: mc.hash_ring_mc_strerror(v) for v in errs}
    bad = [v for v, t in texts.items() if not t or t == b"unknown error"]
    check(not bad, "hash_ring_mc_strerror knows every code of both headers", bad)
    check(len(set(texts.values())) == len(texts), "hash_ring_mc_strerror: distinct texts")
    check(all(texts[v] == ring.hash_ring_strerror(v) for v in errs if v >= -6),
          "hash_ring_mc_strerror gives the ring's own texts for the ring's codes")
    check(all(ring.hash_ring_strerror(v) == b"unknown error" for v in own.values()),
          "hash_ring_strerror does not know the client's codes")
    check(mc.hash_ring_mc_strerror(min(errs) - 1) == b"unknown error",
          "hash_ring_mc_strerror(one past the last code) is 'unknown error'")
    print(f"client: {len(own)} codes of its own, {len(errs)} known to hash_ring_mc_strerror")


def check_dialects(b, include_dir):
    text = open(os.path.join(include_dir, "hash_ring.h"), encoding="utf-8").read()
    enum = dict((m.group(1), int(m.group(2))) for m in
                re.finditer(r"\b(HASH_RING_DIALECT_\w+)\s*=\s*(\d+)", text))
    check(sorted(enum.values()) == list(range(len(enum))),
          "hash_ring_dialect_t values are 0..n-1", enum)
    names = {}
    for value in range(len(enum)):
        nm = b.lib.hash_ring_dialect_name(value)
        check(nm is not None, f"dialect {value} has a name")
        if nm is None:
            continue
        out = ctypes.c_int(-1)
        b.call("hash_ring_dialect_from_name", nm, ctypes.byref(out))
        check(out.value == value, f"dialect name {nm.decode()} parses back to {value}", out.value)
        names[nm.decode()] = value
    check(b.lib.hash_ring_dialect_name(len(enum)) is None,
          f"dialect {len(enum)} (one past the last) has no name")
    print(f"dialects: {names}")
    return names


def node_rows(path):
    return [(r[0].encode("utf-8"), int(r[1])) for r in hrpkg.read_tsv(path)]


def check_vectors(b, vectors, dialects):
    files = 0
    lookups = 0
    batches = 0
    for folder in sorted(os.listdir(vectors)):
        d = os.path.join(vectors, folder)
        if not os.path.isfile(os.path.join(d, "nodes.tsv")):
            continue
        nodes = node_rows(os.path.join(d, "nodes.tsv"))
        for f in sorted(os.listdir(d)):
            m = re.match(r"^([a-z-]+)\.(get|replicas|continuum)\.tsv$", f)
            if not m:
                continue
            dname, kind = m.groups()
            if not check(dname in dialects, f"{folder}/{f}: dialect {dname} exists"):
                continue
            rows = hrpkg.read_tsv(os.path.join(d, f))
            ring = b.create(dialects[dname])
            try:
                if folder == "seed3" and kind == "get":
                    # One by one here, as a batch elsewhere: same ring.
                    for nm, w in nodes:
                        b.call("hash_ring_add_node", ring, nm, len(nm), w)
                else:
                    b.add_nodes(ring, nodes)
                got_d = ctypes.c_int(-1)
                b.call("hash_ring_get_dialect", ring, ctypes.byref(got_d))
                check(got_d.value == dialects[dname], f"{folder}: ring reports dialect {dname}")
                bad = []
                if kind == "get":
                    keys = [key.encode("utf-8") for key, _ in rows]
                    wants = [want.encode("utf-8") for _, want in rows]
                    for key, want in rows:
                        got = b.get_node(ring, key.encode("utf-8"))
                        lookups += 1
                        if got != want.encode("utf-8"):
                            bad.append((key, want, got))
                    # The same keys as one batch, and 1,000 a call.
                    whole = b.get_node_batch(ring, keys)
                    chunks = []
                    for i in range(0, len(keys), 1000):
                        chunks += b.get_node_batch(ring, keys[i:i + 1000])
                    batches += 1
                    diff = [(k, w, g) for k, w, g in zip(keys, wants, whole) if w != g]
                    check(len(whole) == len(keys) and not diff,
                          f"{folder}/{f}: hash_ring_get_node_batch of all {len(keys)} keys "
                          "agrees with the peer", f"{len(diff)} differ, first: {diff[:3]}")
                    check(chunks == wants, f"{folder}/{f}: batches of 1,000 keys agree with "
                          "the peer")
                elif kind == "replicas":
                    for row in rows:
                        key, want = row[0], [x.encode("utf-8") for x in row[1:]]
                        got = b.get_nodes(ring, key.encode("utf-8"), len(nodes))
                        lookups += 1
                        if got != want:
                            bad.append((key, want, got))
                else:
                    bad = compare_continuum(b, ring, rows)
                    lookups += len(rows)
                files += 1
                check(not bad, f"{folder}/{f}: {len(rows)} rows agree with the peer",
                      f"{len(bad)} differ, first: {bad[:3]}")
                if kind == "get":
                    check_snapshot(b, ring, nodes, rows[:200], f"{folder}/{dname}")
            finally:
                b.lib.hash_ring_destroy(ring)
    check(files >= 20, "the vector files were found and compared", files)
    check(batches >= 7, "batch lookups were compared on the get vectors", batches)
    # Every dialect, with or without peer vectors here: a ring answers and
    # its replica order starts with the owner.
    seed = node_rows(os.path.join(vectors, "seed3", "nodes.tsv"))
    for dname, value in sorted(dialects.items()):
        ring = b.create(value)
        try:
            b.add_nodes(ring, seed)
            bad = []
            for i in range(300):
                k = b"key%d" % i
                reps = b.get_nodes(ring, k, len(seed) + 2)
                if reps[:1] != [b.get_node(ring, k)] or sorted(reps) != sorted(n for n, _ in seed):
                    bad.append((k, reps))
            check(not bad, f"dialect {dname}: owner first, every node once in replica order",
                  bad[:2])
        finally:
            b.lib.hash_ring_destroy(ring)
    print(f"vectors: {files} files, {lookups} rows compared (and {batches} get files "
          "as batches)")


def compare_continuum(b, ring, rows):
    snap = ctypes.c_void_p()
    b.call("hash_ring_snapshot_acquire", ring, ctypes.byref(snap))
    try:
        n = b.lib.hash_ring_snapshot_point_count(snap)
        got = []
        for i in range(n):
            pt, p, ln = ctypes.c_uint32(), ctypes.c_void_p(), ctypes.c_size_t()
            b.call("hash_ring_snapshot_point", snap, i, ctypes.byref(pt), ctypes.byref(p),
                   ctypes.byref(ln))
            got.append((str(pt.value), ctypes.string_at(p.value, ln.value).decode("utf-8")))
        want = [(r[0], r[1]) for r in rows]
        if got == want:
            return []
        return [(i, w, g) for i, (w, g) in enumerate(zip(want, got)) if w != g][:3] or \
            [("count", len(want), len(got))]
    finally:
        b.lib.hash_ring_snapshot_release(snap)


def check_snapshot(b, ring, nodes, rows, tag):
    L = b.lib
    snap = ctypes.c_void_p()
    b.call("hash_ring_snapshot_acquire", ring, ctypes.byref(snap))
    try:
        check(L.hash_ring_snapshot_node_count(snap) == len(nodes),
              f"{tag}: snapshot has {len(nodes)} members")
        total = 0
        for i, (nm, w) in enumerate(nodes):
            p, ln, wt = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_uint32()
            pts, share = ctypes.c_size_t(), ctypes.c_uint64()
            b.call("hash_ring_snapshot_node", snap, i, ctypes.byref(p), ctypes.byref(ln),
                   ctypes.byref(wt), ctypes.byref(pts), ctypes.byref(share))
            if ctypes.string_at(p.value, ln.value) != nm or wt.value != w:
                check(False, f"{tag}: member {i} is {nm!r} weight {w}",
                      (ctypes.string_at(p.value, ln.value), wt.value))
            total += share.value
        check(total == 2**32, f"{tag}: shares sum to 2^32", total)
        bad = [k for k, _ in rows
               if b.get_node(snap, k.encode(), "hash_ring_snapshot_get_node") !=
               b.get_node(ring, k.encode())]
        check(not bad, f"{tag}: snapshot lookups equal ring lookups", bad[:3])
        keys = [k.encode() for k, _ in rows]
        want = [w.encode() for _, w in rows]
        check(b.get_node_batch(snap, keys, "hash_ring_snapshot_get_node_batch") == want,
              f"{tag}: hash_ring_snapshot_get_node_batch agrees with the peer")
        check(b.get_node_batch(snap, keys, "hash_ring_snapshot_get_node_batch",
                               with_lens=False) == want,
              f"{tag}: snapshot batch with node_lens NULL gives the same names")
        names = [nm for nm, _ in nodes]
        idx = b.get_index_batch(snap, keys)
        check([names[i] if i < len(names) else None for i in idx] == want,
              f"{tag}: hash_ring_snapshot_get_index_batch gives the owners' member indices")
        for k, _ in rows[:20]:
            pos = ctypes.c_uint32()
            b.call("hash_ring_position", k.encode(), len(k.encode()), ctypes.byref(pos))
            p, ln = ctypes.c_void_p(), ctypes.c_size_t()
            b.call("hash_ring_snapshot_get_node_at", snap, pos.value, ctypes.byref(p),
                   ctypes.byref(ln))
            if ctypes.string_at(p.value, ln.value) != b.get_node(ring, k.encode()):
                check(False, f"{tag}: get_node_at(position(key)) is get_node(key) for {k}")
    finally:
        L.hash_ring_snapshot_release(snap)


ENOMEM_CHILD = r"""
import ctypes, resource, sys
sys.path.insert(0, sys.argv[3])
import test_ffi
b = test_ffi.Binding(sys.argv[1], test_ffi.read_codes(sys.argv[2]))
ring = b.create(0)
b.add_nodes(ring, [(b"n%d" % i, 1) for i in range(100)])
n = 400000
names = (ctypes.c_char_p * n)(*[b"big-%d" % i for i in range(n)])
lens = (ctypes.c_size_t * n)(*[len(b"big-%d" % i) for i in range(n)])
snap = ctypes.c_void_p()
before = b.get_node(ring, b"probe")
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + (16 << 20), hard))
rc = b.lib.hash_ring_add_nodes(ring, names, lens, None, n)
resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
b.call("hash_ring_snapshot_acquire", ring, ctypes.byref(snap))
count = b.lib.hash_ring_snapshot_node_count(snap)
b.lib.hash_ring_snapshot_release(snap)
print(rc, count, b.get_node(ring, b"probe") == before)
b.lib.hash_ring_destroy(ring)
"""


def check_enomem(b, path, include_dir):
    """ENOMEM for real: a child process caps its address space, then asks
    for a batch far too big; the ring must be left exactly as it was."""
    p = subprocess.run([sys.executable, "-c", ENOMEM_CHILD, path, include_dir,
                        os.path.dirname(os.path.abspath(__file__))],
                       capture_output=True, text=True, timeout=120)
    out = p.stdout.split()
    ok = check(p.returncode == 0 and len(out) == 3, "the ENOMEM child ran",
               p.stdout + p.stderr)
    if ok:
        check(int(out[0]) == b.codes["HASH_RING_ENOMEM"],
              "add_nodes beyond the address-space limit returns HASH_RING_ENOMEM", out[0])
        check(out[1] == "100" and out[2] == "True",
              "after ENOMEM the ring is unchanged (100 members, same answer)", out)
        print("provoked: HASH_RING_ENOMEM (address-space limit in a child process)")


def check_positions(b):
    keys = [b"", b"a", b"key0", b"a\x00b", b"\x00", bytes(range(256)), "ключ".encode(),
            b"x" * 10000]
    for k in keys:
        pos = ctypes.c_uint32()
        b.call("hash_ring_position", k, len(k), ctypes.byref(pos))
        want = int.from_bytes(hashlib.md5(k).digest()[:4], "little")
        check(pos.value == want, f"position of {k[:12]!r}... (len {len(k)}) is md5[0:4] LE",
              f"{pos.value} != {want}")
    # Keys are bytes, not C strings: a NUL does not end the key.
    ring = b.create(0)
    try:
        b.add_nodes(ring, [(("n%d" % i).encode(), 1) for i in range(50)])
        differ = sum(b.get_node(ring, b"k%d\x00tail" % i) != b.get_node(ring, b"k%d" % i)
                     for i in range(200))
        check(differ > 0, "bytes after a NUL change the placement (no truncation)", differ)
        # The batch takes the same bytes: keys with NUL and high bytes, of
        # every length up to 300 and a long one, as one batch and as
        # single calls (whose placements the vectors and positions vouch for).
        keys = [b"k%d\x00tail" % i for i in range(50)] + [bytes(range(256))] + \
            [bytes((i * 7 + j) % 256 for j in range(i)) for i in range(301)] + [b"y" * 10000]
        single = [b.get_node(ring, k) for k in keys]
        check(b.get_node_batch(ring, keys) == single,
              f"batch of {len(keys)} keys (NUL, high bytes, lengths 0-300 and 10000) equals "
              "single lookups")
        nm = b"node\x00with-nul"
        b.call("hash_ring_add_node", ring, nm, len(nm), 1000)
        owners = {b.get_node(ring, b"k%d" % i) for i in range(400)}
        check(nm in owners, "a node name containing NUL is kept whole")
        got = b.get_node_batch(ring, [b"k%d" % i for i in range(400)])
        check(set(got) == owners, "the batch reports the NUL-containing name whole too")
    finally:
        b.lib.hash_ring_destroy(ring)


def preload_asan(path):
    """python3 is not instrumented: an ASan library loads only when the ASan
    runtime comes first.  Re-executes this script with it preloaded (leak
    detection off: the interpreter keeps memory until exit by design)."""
    if os.environ.get("HR_FFI_ASAN_PRELOADED") == "1":
        return
    ldd = hrpkg.run(["ldd", path], quiet=True).stdout
    m = re.search(r"libasan\.so\.\d+ => (\S+)", ldd)
    if not m:
        hrpkg.die(f"{path} is an ASan build but ldd finds no libasan:\n{ldd}")
    env = dict(os.environ)
    env["LD_PRELOAD"] = m.group(1)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    env["HR_FFI_ASAN_PRELOADED"] = "1"
    print(f"re-running with LD_PRELOAD={m.group(1)}", flush=True)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def main(libdir, include_dir, vectors, sanitize=""):
    major = hrpkg.header_version(os.path.join(include_dir, "hash_ring.h"))[0]
    path = os.path.join(libdir, f"libhash_ring.so.{major}")
    if not os.path.exists(path):
        hrpkg.die(f"{path} is not installed (run the packaging_stage test first)")
    asan = False
    if hrpkg.sanitizer_build(sanitize):
        if "address" not in sanitize:
            hrpkg.skip(f"the library is built with -fsanitize={sanitize}: an uninstrumented "
                       "python3 cannot host that runtime; the plain and ASan builds run "
                       "this test")
        preload_asan(path)
        asan = True
    b = Binding(path, read_codes(include_dir))
    # The library actually mapped is the installed one.
    maps = open("/proc/self/maps").read()
    real = os.path.realpath(path)
    check(real in maps, f"the process maps {real}")
    check_version(b, real, include_dir)
    dialects = check_dialects(b, include_dir)
    check_errors(b, len(dialects))
    check_client_codes(libdir, major, include_dir)
    if asan:
        print("not checked under ASan: ENOMEM through an address-space limit (ASan "
              "reserves its shadow memory up front, any such limit kills it)")
    else:
        check_enomem(b, path, include_dir)
    check_positions(b)
    check_vectors(b, vectors, dialects)
    hrpkg.finish("ffi")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        hrpkg.die("usage: test_ffi.py LIBDIR INCLUDE_DIR VECTORS_DIR [SANITIZE]")
    main(*sys.argv[1:])
