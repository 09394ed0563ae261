#!/usr/bin/env python3
"""test_leaks.py - no reference or memory growth over a million calls.

Reference counts of the node objects, the keys and None are compared before
and after (sys.getrefcount); memory through tracemalloc (the extension
allocates with PyMem) and the process's resident size (the library
allocates with malloc).  Then every call, each error path on its own, is
repeated thousands of times under tracemalloc: a leak of one small
object per call (an exception message, a name) is far below what the
million-call totals can tell from noise, but not below a byte per call.
"""
import gc
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


def expect(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return
    raise AssertionError("%r%r did not raise %s" % (fn, args, exc.__name__))


class BadStr:
    def __str__(self):
        raise RuntimeError("no name")


def per_call(nodes, keys):
    """(name, fn) for every call and error path, each repeated alone."""
    nodes = nodes[:20]
    ring = HashRing(nodes, {nodes[0]: 5})
    empty = HashRing([])
    crc = HashRing(["a:1", "b:2"], dialect="nginx")
    bare = HashRing.__new__(HashRing)
    k, bk = keys[7], keys[8].encode()
    return [
        ("get_node", lambda: ring.get_node(k)),
        ("get_node bytes", lambda: ring.get_node(bk)),
        ("get_node string_key=", lambda: ring.get_node(string_key=k)),
        ("get_node empty ring", lambda: empty.get_node(12)),
        ("get_node_pos", lambda: ring.get_node_pos(k)),
        ("get_nodes", lambda: ring.get_nodes(k)),
        ("get_nodes 3", lambda: ring.get_nodes(k, 3)),
        ("get_node_many", lambda: ring.get_node_many(keys[:50])),
        ("bytes-like keys", lambda: (ring.get_node(bytearray(bk)), ring.gen_key(memoryview(bk)),
                                     ring.get_node_many([bytearray(bk), k, memoryview(bk)]))),
        ("gen_key", lambda: ring.gen_key(k)),
        ("iterate_nodes", lambda: list(ring.iterate_nodes(k))),
        ("points", lambda: ring.snapshot().points()),
        ("shares / weights / nodes", lambda: (ring.shares(), ring.weights, ring.nodes)),
        ("in", lambda: nodes[3] in ring and "nope" not in ring),
        ("repr", lambda: (repr(ring), repr(bare))),
        # pickle and copy through __reduce__, without the pickle module's
        # own caches (its names stay in CPython's type attribute cache)
        ("__reduce__ and rebuild", lambda: (lambda rv: rv[0](*rv[1]))(ring.__reduce__())),
        ("add / set_weight / remove", lambda: (ring.add_node("extra", 2),
                                               ring.set_weight("extra", 3.0),
                                               ring.remove_node("extra"))),
        ("HashRing", lambda: HashRing(nodes[:10], {nodes[1]: 2})),
        # error paths
        ("key type", lambda: expect(TypeError, ring.get_node, 12)),
        ("key surrogate", lambda: expect(UnicodeEncodeError, ring.get_node, "\udc80")),
        ("keyword", lambda: expect(TypeError, lambda: ring.get_node(key=k))),
        ("get_node_many bad key", lambda: expect(TypeError, ring.get_node_many, [k, None])),
        ("get_nodes n=-1", lambda: expect(ValueError, ring.get_nodes, k, -1)),
        ("get_node_pos CRC dialect", lambda: expect(ValueError, crc.get_node_pos, k)),
        ("remove_node missing", lambda: expect(KeyError, ring.remove_node, "missing")),
        ("set_weight missing", lambda: expect(KeyError, ring.set_weight, "missing", 2)),
        ("add_node twice", lambda: expect(ValueError, ring.add_node, nodes[0])),
        ("add_node unhashable", lambda: expect(TypeError, ring.add_node, ["x"])),
        ("duplicate nodes", lambda: expect(ValueError, HashRing, [nodes[0], nodes[0]])),
        ("negative weight", lambda: expect(ValueError, HashRing, nodes[:3], {nodes[0]: -1})),
        ("fractional weight", lambda: expect(ValueError, HashRing, nodes[:3], {nodes[0]: 1.5})),
        ("weight type", lambda: expect(TypeError, HashRing, nodes[:3], {nodes[0]: "2"})),
        ("node str() raises", lambda: expect(RuntimeError, HashRing, [nodes[0], BadStr()])),
        ("empty name", lambda: expect(ValueError, HashRing, [""])),
        ("unknown dialect", lambda: expect(ValueError, HashRing, nodes[:3], None, "nope")),
        ("uninitialised", lambda: expect(RuntimeError, bare.get_node, k)),
    ]


def traced():
    # a full collection also empties CPython's free lists (tuples, floats,
    # dicts): what stays traced is what is still alive
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def check_per_call(nodes, keys, calls):
    worst = (0, "")
    for name, fn in per_call(nodes, keys):
        tracemalloc.start()
        for _ in range(2000):  # caches that fill once (CPython's method cache)
            fn()
        grown = []
        for _ in range(2):  # a leak grows in both windows, a one-off in one at most
            before = traced()
            for _ in range(calls):
                fn()
            grown.append(traced() - before)
        tracemalloc.stop()
        # a leaked object is 16 bytes at the least: 16 * calls for one per call
        check(min(grown) < calls, "%s: %r bytes more in two windows of %d calls"
              % (name, grown, calls))
        worst = max(worst, (min(grown), name))
    print("# per call: two windows of %d calls of each path, largest growth in both "
          "%d bytes (%s)" % (calls, worst[0], worst[1]))


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
    check_per_call(nodes, keys, 500 if SANITIZED else 2000)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
