#!/usr/bin/env python3
"""Trims find_shared_points output into shared_points.tsv (the committed INPUTS).

    select_pairs.py < fsp-output > shared_points.tsv

Keeps, preferring pairs that have a key hashing exactly onto the shared point:
  x4  pairs of "x<i>" names sharing a point (any of the 4 digest words), with
      names of different lengths where the longer one sorts first bytewise
      (this separates twemproxy's tie order, shorter name first, from plain
      bytewise order);
  x3  pairs sharing a point among the first 3 digest words (the 3-point
      dialects: python, node, hashring-python);
  t   "127.0.a.b" (a memcached on port 11211, hashed without the port)
      against "127.0.0.1:PORT".
Only inputs: no placement is decided here.
"""
import sys

pairs, hits = [], {}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if f[0] == "pair":
        pairs.append((f[1], int(f[2]), f[3], int(f[5]), f[6], int(f[8])))
    elif f[0] == "hit":
        hits.setdefault(int(f[1]), f[2])

WANT = {"x4": 4, "x3": 4, "t": 4}
out = {k: [] for k in WANT}
for with_hit in (True, False):
    for fam, point, a, ka, b, kb in pairs:
        if (point in hits) != with_hit:
            continue
        cands = []
        if fam == "x":
            longer, shorter = (a, b) if len(a) > len(b) else (b, a)
            if len(a) != len(b) and longer < shorter:
                cands.append("x4")
            if ka < 3 and kb < 3:
                cands.append("x3")
        else:
            cands.append("t")
        for c in cands:
            if len(out[c]) < WANT[c] and all(p[1] != point for p in out[c]):
                out[c].append((c, point, a, b, hits.get(point, "-")))
print("# FAMILY\tPOINT\tNAME_A\tNAME_B\tEXACT_HIT_KEY  (tools/find_shared_points.c, select_pairs.py)")
for c in WANT:
    for row in out[c]:
        print("\t".join(str(x) for x in row))
