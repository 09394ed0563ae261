#!/usr/bin/env python3
"""test_leaks.py - no reference or memory growth over a million calls.

Reference counts of the node objects, the keys and None are compared before
and after (sys.getrefcount); memory through tracemalloc (the extension
allocates with PyMem) and the process's resident size (the library
allocates with malloc).  Error paths are included.
"""
import os
import sys
import tracemalloc

from hash_ring import HashRing

failures = []
SANITIZED = os.environ.get("HASH_RING_PY_SANITIZED") == "1"


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


class Node:
    def __init__(self, i):
        self.i = i

    def __str__(self):
        return "node-%d" % self.i


def workload(ring, empty, nodes, keys, bkeys, rounds):
    get, pos, many, gn = ring.get_node, ring.get_node_pos, ring.get_node_many, ring.get_nodes
    n = len(keys)
    for r in range(rounds):  # rounds * n get_node calls
        for k in keys:
            get(k)
        for k in bkeys[: n // 10]:
            pos(k)
            gn(k, 3)
        gn(keys[r % n])  # every node: above the library's 64-entry stack path
        many(keys)
        list(ring.iterate_nodes(keys[r % n]))
        empty.get_node("k")
        list(empty.iterate_nodes("k"))
        for bad in (None, 12, b"ok", ["x"]):
            try:
                get(bad)
                many(["a", bad])
            except TypeError:
                pass
        try:
            ring.remove_node("missing")
        except KeyError:
            pass
        try:
            HashRing([nodes[0], nodes[0]])
        except ValueError:
            pass
        extra = Node(10 ** 6 + r % 7)
        ring.add_node(extra, 2)
        ring.set_weight(extra, 3)
        ring.remove_node(extra)
        ring.snapshot().points()
        ring.shares()


def main():
    nodes = [Node(i) for i in range(100)]
    keys = ["key-%d" % i for i in range(1000)]
    bkeys = [k.encode() for k in keys]
    ring = HashRing(nodes, {nodes[0]: 5})
    empty = HashRing([])
    rounds = 100 if SANITIZED else 1000  # 1000 rounds: 1,000,000 get_node calls
    workload(ring, empty, nodes, keys, bkeys, 20)  # warm up caches and free lists
    refs = ([sys.getrefcount(x) for x in nodes], [sys.getrefcount(k) for k in keys],
            sys.getrefcount(None))
    rss = rss_kib()
    workload(ring, empty, nodes, keys, bkeys, rounds)
    rss_after = rss_kib()
    refs_after = ([sys.getrefcount(x) for x in nodes], [sys.getrefcount(k) for k in keys],
                  sys.getrefcount(None))
    check(refs_after[0] == refs[0], "node reference counts changed")
    check(refs_after[1] == refs[1], "key reference counts changed")
    # None is shared by the whole interpreter: allow a little drift
    check(abs(refs_after[2] - refs[2]) < 100, "None: %d -> %d" % (refs[2], refs_after[2]))
    if not SANITIZED:  # ASan's quarantine holds freed memory: RSS says nothing there
        check(rss_after - rss < 4096, "resident size grew by %d KiB" % (rss_after - rss))
    # tracemalloc: the second window must not grow (the first one fills
    # CPython's free lists; a leak grows with every call)
    tracemalloc.start()
    workload(ring, empty, nodes, keys, bkeys, 20)
    before = tracemalloc.get_traced_memory()[0]
    workload(ring, empty, nodes, keys, bkeys, 20)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    check(after - before < 16 * 1024, "tracemalloc: %d bytes more" % (after - before))
    print("# leaks: %d get_node calls and the rest; traced %+d bytes, RSS %+d KiB"
          % (rounds * len(keys), after - before, rss_after - rss))
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
