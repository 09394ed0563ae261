#!/usr/bin/env python3
"""Dialects python, node and libketama against a by-hand model of their rules.

These peers cannot run here (Python 2 hash_ring, a node addon, libketama with
SysV shared memory), and their ordinary placements are covered by the
committed vectors.  What the vectors cannot cover well are the rare cases:
two nodes producing the same point, and keys whose position equals a point
exactly.  This script writes each rule out plainly from src/DIALECTS.md (all
points, sort, first point > or >= the key, who owns a shared point) without
any of the library's code, and compares it key for key with the library
(hr_peer_map).

  python     3 points per digest, floor(40*n*w/T) exact, lookup >, a shared
             point belongs to the node added last
  node       3 points per digest, floorf((float)w/(float)T*40.0*(float)n),
             lookup >=, shared point: the node added first
  libketama  4 points per digest, floorf(pct*40.0*(float)n), pct=(float)w/T,
             lookup >=, shared point: the node added first

Standard library only.  Exit 0 pass, 1 fail.
"""
import argparse
import bisect
import hashlib
import math
import os
import struct
import subprocess
import sys
import tempfile


def f32(x):
    """Rounds a Python float (double) to the nearest float32, as C does."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def hashes(dialect, w, total, n):
    if w == 0:
        return 0
    if dialect == "python":
        return (40 * n * w) // total
    pct = f32(f32(float(w)) / f32(float(total)))
    prod = pct * 40.0 * f32(float(n))  # double products
    return int(math.floor(f32(prod)))  # floorf(): converted to float


PER_DIGEST = {"python": 3, "node": 3, "libketama": 4}


def position(key):
    return struct.unpack_from("<I", hashlib.md5(key).digest())[0]


class Model:
    def __init__(self, dialect, nodes):
        """nodes: [(name str, weight)] in the order they were added."""
        self.dialect = dialect
        total = sum(w for _, w in nodes)
        n = len(nodes)
        p = PER_DIGEST[dialect]
        owners = {}  # point -> [node indexes that produce it, in add order]
        for idx, (name, w) in enumerate(nodes):
            for j in range(hashes(dialect, w, total, n)):
                d = hashlib.md5(("%s-%d" % (name, j)).encode("utf-8")).digest()
                for v in struct.unpack("<4I", d)[:p]:
                    owners.setdefault(v, []).append(idx)
        self.points = sorted(owners)
        # Shared point: python keeps the node added last (a dict overwritten
        # in add order); node and libketama the node added first.
        pick = max if dialect == "python" else min
        self.owner = {v: nodes[pick(o)][0] for v, o in owners.items()}
        self.strict = dialect == "python"

    def get(self, key):
        x = position(key)
        if self.strict:
            i = bisect.bisect_right(self.points, x)  # first point > x
        else:
            i = bisect.bisect_left(self.points, x)  # first point >= x
        if i == len(self.points):
            i = 0
        return self.owner[self.points[i]]


def library(args, dialect, nodes, keys):
    with tempfile.NamedTemporaryFile("wb", suffix=".tsv", delete=False) as f:
        for name, w in nodes:
            f.write(name.encode("utf-8") + b"\t%d\n" % w)
        path = f.name
    try:
        out = subprocess.run([args.map, dialect, path], input=b"\n".join(keys) + b"\n",
                             stdout=subprocess.PIPE, check=True).stdout
    finally:
        os.unlink(path)
    res = out.decode("utf-8").split("\n")[:-1]
    assert len(res) == len(keys)
    return res


def compare(args, dialect, title, nodes, keys):
    m = Model(dialect, nodes)
    lib = library(args, dialect, nodes, keys)
    agree = 0
    shown = 0
    for k, got in zip(keys, lib):
        want = m.get(k)
        if got == want:
            agree += 1
        elif shown < 5:
            shown += 1
            print("  MISMATCH %s %s: key %r (position %d): library %s, model %s"
                  % (dialect, title, k, position(k), got, want))
    print("%-9s %-44s %d/%d keys agree" % (dialect, title, agree, len(keys)))
    return agree, len(keys)


def arc_keys(tag, pts, point, before=20, after=5):
    i = bisect.bisect_left(pts, point)
    prev = pts[i - 1]  # wraps to the last point when i == 0
    nxt = pts[(i + 1) % len(pts)]

    def inside(lo, hi, x):
        return lo < x <= hi if lo < hi else (x > lo or x <= hi)

    keys, nb, na, c = [], 0, 0, 0
    while nb < before or na < after:
        k = b"arc-%s-%d" % (tag.encode(), c)
        c += 1
        x = position(k)
        if nb < before and inside(prev, point, x):
            keys.append(k)
            nb += 1
        elif na < after and inside(point, nxt, x):
            keys.append(k)
            na += 1
    return keys


def general_keys(count):
    keys = []
    for i in range(count):
        if i % 3 == 0:
            keys.append(b"key%d" % i)
        elif i % 3 == 1:
            keys.append(("ключ-%d-键" % i).encode("utf-8"))
        else:
            keys.append(hashlib.sha1(b"%d" % i).digest().replace(b"\n", b"N"))
    return keys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--map", required=True)
    ap.add_argument("--pairs", required=True)
    args = ap.parse_args()
    results = []

    # Ordinary placements, weights and float arithmetic included.
    keys = general_keys(20000)
    configs = [
        ("3 equal nodes", [("10.0.0.%d:11211" % i, 1) for i in range(1, 4)]),
        ("weights 1,1,3,10,10", [("n%d" % i, w) for i, w in enumerate((1, 1, 3, 10, 10))]),
        ("61 equal nodes (float: 39 hashes)", [("s%02d" % i, 1) for i in range(61)]),
        ("weight 0 and UTF-8 names", [("сервер-1", 1), ("服务器-2", 0), ("server-3", 2)]),
    ]
    for dialect in ("python", "node", "libketama"):
        for title, nodes in configs:
            results.append(compare(args, dialect, title, nodes, keys))

    # Exact hits on ordinary points of a 100-node ring.
    nodes = [("h%03d" % i, 1) for i in range(100)]
    m3, m4 = Model("python", nodes), Model("libketama", nodes)
    p3, p4 = set(m3.points), set(m4.points)
    hit3, hit4, c = [], [], 0
    while len(hit3) < 3 or len(hit4) < 3:
        k = b"exact%d" % c
        c += 1
        x = position(k)
        if x in p3 and len(hit3) < 3:
            hit3.append(k)
        if x in p4 and len(hit4) < 3:
            hit4.append(k)
    for dialect, hits in (("python", hit3), ("node", hit3), ("libketama", hit4)):
        results.append(compare(args, dialect, "exact hits, 100 nodes", nodes, hits))

    # Shared points (committed inputs): 2-node rings, both orders.
    shared = 0
    with open(args.pairs, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fam, point, a, b, hit = line.rstrip("\n").split("\t")
            point = int(point)
            if fam == "t":
                continue  # host:port naming is libmemcached/twemproxy only
            dialects = ("python", "node") if fam == "x3" else ("libketama",)
            for dialect in dialects:
                for order in ((a, b), (b, a)):
                    ring = [(order[0], 1), (order[1], 1)]
                    m = Model(dialect, ring)
                    if point not in m.owner:
                        print("FAIL: input pair %s,%s has no point %d" % (a, b, point))
                        return 1
                    ks = arc_keys("%s-%s" % order, m.points, point)
                    if hit != "-":
                        assert position(hit.encode()) == point
                        ks.append(hit.encode())
                    results.append(compare(args, dialect, "shared point %s,%s" % order, ring,
                                           ks))
                    shared += 1
    agree = sum(r[0] for r in results)
    total = sum(r[1] for r in results)
    print("models: %d comparisons (%d shared-point rings), %d/%d keys agree"
          % (len(results), shared, agree, total))
    return 0 if agree == total and shared > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
