#!/usr/bin/env python3
"""test_threads.py - lookups from several Python threads while another
thread changes the membership.

Every answer must belong to one whole membership: a single get_node gives
the owner under membership A or B, and a get_node_many (one batch call, the
GIL released around it) gives A's list or B's list for all keys, never a
mix.  Expected answers come from Model (test_ring.py), not from the ring.
"""
import sys
import threading

from hash_ring import HashRing
from test_ring import Model

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def check_gil_released(ring):
    """get_node_many releases the GIL: with a switch interval of 30 s no
    thread is ever made to drop it, so the main thread runs while the other
    is busy only if a batch call lets it go.  Without the release the other
    thread would run hundreds of batches before the main thread resumes."""
    keys = ["gil-%d" % i for i in range(100000)]
    started = threading.Event()
    stop = threading.Event()
    batches = [0]

    def busy():
        started.set()
        while not stop.is_set():
            ring.get_node_many(keys)
            batches[0] += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    try:
        t = threading.Thread(target=busy)
        t.start()
        started.wait()
        seen = batches[0]  # the main thread runs again: how far did the other get?
        stop.set()
        t.join(600)
    finally:
        sys.setswitchinterval(old)
    check(seen <= 20, "the main thread waited for %d batch calls: the GIL is not released"
          % seen)
    print("# GIL: the main thread ran after %d complete batch calls of the other" % seen)


def main():
    base = ["10.0.0.%d:11211" % i for i in range(30)]
    extra = "10.0.1.1:11211"
    keys = ["key-%d" % i for i in range(2000)]
    ma, mb = Model(base), Model(base + [extra], {extra: 3})
    a = [ma.get_node(k) for k in keys]
    b = [mb.get_node(k) for k in keys]
    check(a != b, "the two memberships must differ")
    ring = HashRing(base)
    sys.setswitchinterval(1e-5)  # switch threads as often as CPython allows
    done = threading.Event()
    counts = {"single": 0, "many": 0, "snap": 0, "changes": 0}
    lock = threading.Lock()

    def writer():
        try:
            for _ in range(300):
                ring.add_node(extra, 3)
                ring.remove_node(extra)
                with lock:
                    counts["changes"] += 2
        finally:
            done.set()

    def reader(idx):
        seen_a = seen_b = 0
        i = idx
        while not done.is_set() or i < idx + 50:
            k = i % len(keys)
            got = ring.get_node(keys[k])
            if got != a[k] and got != b[k]:
                check(False, "get_node(%s) = %s: neither membership" % (keys[k], got))
                return
            many = ring.get_node_many(keys)
            if many == a:
                seen_a += 1
            elif many == b:
                seen_b += 1
            else:
                check(False, "get_node_many mixes two memberships")
                return
            snap = ring.snapshot()
            want = b if len(snap) == len(base) + 1 else a
            if snap.get_node_many(keys[:300]) != want[:300] or snap.get_node(keys[k]) != want[k]:
                check(False, "a snapshot answered outside its membership")
                return
            with lock:
                counts["single"] += 1
                counts["many"] += 1
                counts["snap"] += 1
            i += 1
        check(seen_a > 0, "reader %d never saw membership A" % idx)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
        check(not t.is_alive(), "a thread did not finish")
    check(ring.nodes == base and ring.get_node_many(keys) == a, "final membership")
    check_gil_released(ring)
    print("# threads: 4 readers, %(single)d get_node, %(many)d get_node_many of 2000 keys, "
          "%(snap)d snapshots while %(changes)d membership changes" % counts)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
