#!/usr/bin/env python3
"""bench.py - this package against Debian's uhashring (python3-uhashring),
same nodes, same keys, ratios from one run.

usage: bench.py [--quick]   (PYTHONPATH must reach the hash_ring package)

Rows: get_node on a 100-node ring (one call a key); get_node_many (one
batch call for all keys, time per key); building a 1,000-node ring.
uhashring has no batch call: its row is its get_node per key.
Each figure is the best of several repetitions (timeit's advice: the
minimum is the run least disturbed by other load), ours and uhashring's
alternating.
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


def best_pair(a, b, number, repeat):
    """Best time of a and of b, their repetitions alternating so that both
    see the same changes of machine load."""
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(timeit.timeit(a, number=number) / number)
        tb.append(timeit.timeit(b, number=number) / number)
    return min(ta), min(tb)


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
    t_ours, t_theirs = best_pair(loop_ours, loop_theirs, n, repeat)
    t_many, t_theirs2 = best_pair(lambda: many(keys), loop_theirs, n, repeat)
    t_theirs = min(t_theirs, t_theirs2)  # uhashring's single calls, both series
    t_ours, t_theirs, t_many = t_ours / len(keys), t_theirs / len(keys), t_many / len(keys)

    big = ["10.1.%d.%d:11211" % (i // 250, i % 250) for i in range(1000)]
    b = 1 if quick else 3
    t_build_ours, t_build_theirs = best_pair(lambda: hash_ring.HashRing(big),
                                             lambda: UHashRing(big), b, repeat)

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
