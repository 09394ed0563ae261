#!/usr/bin/env python3
"""bench.py - this package against Debian's uhashring (python3-uhashring),
same nodes, same keys, ratios from one run.

usage: bench.py [--quick]   (PYTHONPATH must reach the hash_ring package)

Rows: get_node on a 100-node ring (one call a key); get_node_many (one
batch call for all keys, time per key); building a 1,000-node ring.
uhashring has no batch call: its row is its get_node per key.
Each figure is the best of several repetitions (timeit's advice: the
minimum is the run least disturbed by other load).
"""
import os
import sys
import timeit

# This folder holds the package's sources, not its built extension: import
# the built package (PYTHONPATH, or an installed one) instead.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
import hash_ring  # noqa: E402
from uhashring import HashRing as UHashRing


def best(fn, number, repeat):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def main():
    quick = "--quick" in sys.argv
    repeat = 3 if quick else 7
    nodes = ["10.0.%d.%d:11211" % (i // 250, i % 250) for i in range(100)]
    keys = ["user:%d:profile" % i for i in range(10000)]
    ours = hash_ring.HashRing(nodes)
    theirs = UHashRing(nodes)
    get_ours = ours.get_node
    get_theirs = theirs.get_node
    n = 1 if quick else 5

    def loop_ours():
        for k in keys:
            get_ours(k)

    def loop_theirs():
        for k in keys:
            get_theirs(k)

    many = ours.get_node_many
    t_ours = best(loop_ours, n, repeat) / len(keys)
    t_theirs = best(loop_theirs, n, repeat) / len(keys)
    t_many = best(lambda: many(keys), n * 5, repeat) / len(keys)

    big = ["10.1.%d.%d:11211" % (i // 250, i % 250) for i in range(1000)]
    b = 1 if quick else 3
    t_build_ours = best(lambda: hash_ring.HashRing(big), b, repeat)
    t_build_theirs = best(lambda: UHashRing(big), b, repeat)

    rows = [
        ("get_node, 100 nodes (per key)", t_ours, t_theirs),
        ("get_node_many, 100 nodes (per key)", t_many, t_theirs),
        ("build a 1,000-node ring", t_build_ours, t_build_theirs),
    ]
    print("| operation | hash_ring | uhashring | ratio |")
    print("|---|---|---|---|")
    for what, a, c in rows:
        print("| %s | %s | %s | %.1fx |" % (what, fmt(a), fmt(c), c / a))
    return rows


def fmt(seconds):
    if seconds < 1e-6:
        return "%.0f ns" % (seconds * 1e9)
    if seconds < 1e-3:
        return "%.2f us" % (seconds * 1e6)
    return "%.2f ms" % (seconds * 1e3)


if __name__ == "__main__":
    main()
