#!/usr/bin/env python3
"""test_ring.py - the Python package against the peers' vectors and a model
of the original package's rules.

usage: test_ring.py VECTORS_DIR   (PYTHONPATH reaches the built package)

Expected answers come from tests/vectors (computed by the original programs
and real peers) and from Model below, written here from the rules of the
original hash_ring 1.3 (src/DIALECTS.md, dialect python), with hashlib's MD5:
never from the library's own output.
"""
import bisect
import hashlib
import math
import os
import random
import sys

import hash_ring
from hash_ring import HashRing

FAILURES = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        FAILURES.append(what)
        if len(FAILURES) <= 40:
            print("FAIL: " + what, file=sys.stderr)


def raises(exc, fn, *args, **kw):
    """The exception fn raised if it is an exc, else None (and a failure)."""
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    except Exception as e:  # noqa: BLE001 - any other class is the failure
        check(False, "%s%r raised %r, want %s" % (getattr(fn, "__name__", fn), args, e,
                                                   exc.__name__))
        return None
    check(False, "%s%r raised nothing, want %s" % (getattr(fn, "__name__", fn), args,
                                                   exc.__name__))
    return None


# ---- The model: the original's rules, from src/DIALECTS.md ---------------

def position(key):
    if isinstance(key, str):
        key = key.encode("utf-8")
    return int.from_bytes(hashlib.md5(key).digest()[:4], "little")


class Model:
    """Python hash_ring 1.3: factor = floor(40*n*w / T) in integers, three
    little-endian points per MD5('%s-%s' % (node, j)), a dict point -> node
    (the node added last keeps a shared point), the sorted list of points
    with duplicates, bisect_right, wrap to 0."""

    def __init__(self, nodes, weights=None):
        weights = weights or {}
        total = sum(weights.get(n, 1) for n in nodes)
        self.ring = {}
        self.keys = []
        for node in nodes:
            w = weights.get(node, 1)
            # the original's math.floor((40*n*w) / T): integer division on
            # Python 2 ints, true division once a weight is a float
            a = 40 * len(nodes) * w
            if isinstance(a, float) or isinstance(total, float):
                factor = math.floor(a / total)
            else:
                factor = a // total if total else 0
            for j in range(factor):
                d = hashlib.md5(("%s-%s" % (node, j)).encode("utf-8")).digest()
                for i in range(3):
                    p = int.from_bytes(d[4 * i:4 * i + 4], "little")
                    self.ring[p] = node
                    self.keys.append(p)
        self.keys.sort()
        self.owners = len(set(map(str, self.ring.values())))

    def get_node_pos(self, key):
        if not self.ring:
            return None
        pos = bisect.bisect_right(self.keys, position(key))
        return 0 if pos == len(self.keys) else pos

    def get_node(self, key):
        pos = self.get_node_pos(key)
        return None if pos is None else self.ring[self.keys[pos]]

    def iterate_nodes(self, key):
        if not self.ring:
            return [(None, None)]
        pos = self.get_node_pos(key)
        owners = self.owners
        seen, out = set(), []
        for i in range(len(self.keys)):  # from pos, wrapping, until all are seen
            node = self.ring[self.keys[(pos + i) % len(self.keys)]]
            if str(node) not in seen:
                seen.add(str(node))
                if node:
                    out.append(node)
                if len(seen) == owners:
                    break
        return out


# ---- Vectors ---------------------------------------------------------------

def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def test_vectors(vdir):
    folders = sorted(d for d in os.listdir(vdir)
                     if os.path.isfile(os.path.join(vdir, d, "nodes.tsv")))
    files = 0
    for folder in folders:
        base = os.path.join(vdir, folder)
        nodes = [(r[0], int(r[1])) for r in read_tsv(os.path.join(base, "nodes.tsv"))]
        names = [n for n, _ in nodes]
        weights = dict(nodes)
        for fname in sorted(os.listdir(base)):
            dialect, kind = fname.split(".", 1)[0], fname.split(".", 1)[-1]
            if kind not in ("get.tsv", "replicas.tsv", "continuum.tsv", "continuum-sample.tsv"):
                continue
            files += 1
            ring = HashRing(names, weights, dialect=dialect)
            rows = read_tsv(os.path.join(base, fname))
            where = "%s/%s" % (folder, fname)
            if kind == "get.tsv":
                keys = [r[0] for r in rows]
                want = [r[1] for r in rows]
                got = [ring.get_node(k) for k in keys]
                bad = [(k, g, w) for k, g, w in zip(keys, got, want) if g != w]
                check(not bad, "%s get_node: %d of %d wrong, first %r" % (
                    where, len(bad), len(rows), bad[:1]))
                check(ring.get_node_many(keys) == want, "%s get_node_many" % where)
                bkeys = [k.encode("utf-8") for k in keys]
                check(ring.get_node_many(bkeys) == want, "%s get_node_many (bytes)" % where)
            elif kind == "replicas.tsv":
                bad = 0
                for r in rows:
                    if dialect == "python":
                        got = list(ring.iterate_nodes(r[0]))
                    else:
                        got = ring.get_nodes(r[0])
                    bad += got != r[1:]
                    bad += ring.get_nodes(r[0], 2) != r[1:3]
                check(bad == 0, "%s: %d replica orders wrong" % (where, bad))
            else:
                check_continuum(ring, rows, dialect, where, kind, bad_keys=names)
    check(files >= 30, "only %d vector files found in %s" % (files, vdir))
    print("# vectors: %d files in %d folders" % (files, len(folders)))


CRC_DIALECTS = ("nginx", "dalli", "pecl-memcache")


def test_client_vectors(vdir):
    """tests/vectors/clients: one folder per dialect, MODE.POOL.nodes.tsv
    ('#' comments, NAME<TAB>WEIGHT) and MODE.POOL.keys.tsv (KEY<TAB>SERVER,
    split on the last tab), every answer from the real client."""
    base = os.path.join(vdir, "clients")
    files = keys_checked = 0
    for dialect in sorted(os.listdir(base)):
        ddir = os.path.join(base, dialect)
        if not os.path.isdir(ddir):
            continue
        for fname in sorted(os.listdir(ddir)):
            if not fname.endswith(".nodes.tsv"):
                continue
            stem = fname[:-len(".nodes.tsv")]
            nodes = []
            with open(os.path.join(ddir, fname), encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if line and not line.startswith("#"):
                        name, w = line.rsplit("\t", 1)
                        nodes.append((name, int(w)))
            rows = []
            with open(os.path.join(ddir, stem + ".keys.tsv"), encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if line:
                        rows.append(line.rsplit("\t", 1))
            ring = HashRing([n for n, _ in nodes], dict(nodes), dialect=dialect)
            keys = [k for k, _ in rows]
            want = [v for _, v in rows]
            got = [ring.get_node(k) for k in keys]
            bad = [(k, g, w) for k, g, w in zip(keys, got, want) if g != w]
            where = "clients/%s/%s" % (dialect, stem)
            check(not bad, "%s: %d of %d wrong, first %r" % (where, len(bad), len(rows), bad[:1]))
            check(ring.get_node_many(keys) == want, "%s: get_node_many" % where)
            if dialect in CRC_DIALECTS:
                e = raises(ValueError, ring.get_node_pos, keys[0])
                check(e is not None and e.code == hash_ring.EINVAL, "%s: get_node_pos" % where)
            else:
                # the point get_node_pos names is the one whose owner answers
                pts = ring.points()
                wrong = [k for k, w in rows if pts[ring.get_node_pos(k)][1] != w]
                check(not wrong, "%s: get_node_pos names another owner's point for %r" % (
                    where, wrong[:3]))
            files += 1
            keys_checked += len(rows)
    check(files == 82, "clients: %d pool files, want 82" % files)
    print("# client vectors: %d files, %d keys" % (files, keys_checked))


def check_continuum(ring, rows, dialect, where, kind, bad_keys):
    points = ring.points()
    if kind == "continuum-sample.tsv":
        total = int(rows[0][1])
        check(len(points) == total and ring.snapshot().point_count == total,
              "%s: %d points, want %d" % (where, len(points), total))
        sample = [(int(r[0]), int(r[1]), r[2]) for r in rows[1:]]
        bad = [s for s in sample if s[0] >= len(points) or points[s[0]] != (s[1], s[2])]
        check(not bad, "%s: %d sampled lines differ, first %r" % (where, len(bad), bad[:1]))
        return
    want = [(int(r[0]), r[1]) for r in rows]
    check(points == want, "%s: continuum differs (%d vs %d points)" % (
        where, len(points), len(want)))
    # get_node_pos: bisect over the file's points (right for python's `>`,
    # left for the `>=` dialects), wrap to 0; the owner there is get_node's.
    side = bisect.bisect_right if dialect == "python" else bisect.bisect_left
    fpoints = [p for p, _ in want]
    bad = 0
    keys = ["key%d" % i for i in range(3000)] + ["ключ%d" % i for i in range(300)]
    for p, _ in want[:200]:
        keys.append(str(p))
    for k in keys:
        pos = side(fpoints, position(k))
        pos = 0 if pos == len(fpoints) else pos
        bad += ring.get_node_pos(k) != pos or ring.get_node(k) != want[pos][1]
    check(bad == 0, "%s: get_node_pos wrong for %d of %d keys" % (where, bad, len(keys)))


# ---- Model comparisons -------------------------------------------------------

def compare(title, nodes, weights, keys, ring=None):
    m = Model(nodes, weights)
    ring = ring or HashRing(nodes, weights)
    bad = []
    for k in keys:
        got = (ring.get_node(k), ring.get_node_pos(k), list(ring.iterate_nodes(k)))
        want = (m.get_node(k), m.get_node_pos(k), m.iterate_nodes(k))
        if got != want:
            bad.append((k, got[:2], want[:2]))
    check(not bad, "%s: %d of %d keys differ from the model, first %r" % (
        title, len(bad), len(keys), bad[:1]))
    check(ring.get_node_many(keys) == [m.get_node(k) for k in keys],
          "%s: get_node_many differs from the model" % title)
    check(ring.snapshot().point_count == len(m.keys),
          "%s: %d points, model %d" % (title, ring.snapshot().point_count, len(m.keys)))
    check([p for p, _ in ring.points()] == m.keys, "%s: sorted points differ" % title)
    return m


class Server:
    """A node object that is not a string: its name is str(self)."""

    def __init__(self, host, port):
        self.host, self.port = host, port

    def __str__(self):
        return "%s:%d" % (self.host, self.port)


def random_keys(rnd, count):
    keys = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            keys.append("key%d" % rnd.randrange(10 ** 9))
        elif kind == 1:
            keys.append("".join(chr(rnd.choice((0x41, 0xe9, 0x416, 0x4e2d, 0x1f600)) + rnd.randrange(20))
                                for _ in range(rnd.randrange(1, 12))))
        elif kind == 2:
            keys.append(bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 40))))
        else:
            keys.append("")
    return keys


def test_model_random():
    rnd = random.Random(20261207)
    rings = 0
    for trial in range(40):
        n = rnd.randrange(1, 30)
        kind = trial % 4
        if kind == 0:
            nodes = ["10.%d.%d.%d:11211" % (trial, i // 200, i % 200) for i in range(n)]
        elif kind == 1:
            nodes = [Server("cache%d.example" % i, 11211 + trial) for i in range(n)]
        elif kind == 2:
            nodes = [1000 * trial + i for i in range(n)]  # ints: named str(i)
        else:
            nodes = ["узел-%d-%d" % (trial, i) for i in range(n)]
        weights = {}
        for node in nodes:
            if rnd.random() < 0.6:
                weights[node] = rnd.choice((0, 1, 1, 2, 3, 5, 10, 100))
        if not any(weights.get(x, 1) for x in nodes):
            weights[nodes[0]] = 1
        ring = HashRing(nodes, weights)
        m = compare("random ring %d (%d nodes)" % (trial, n), nodes, weights,
                    random_keys(rnd, 400), ring)
        # the node objects themselves come back, not copies of their names
        got = ring.get_node("anything")
        check(any(got is x for x in nodes), "ring %d: get_node returns a foreign object" % trial)
        check(ring.nodes == nodes and len(ring) == n, "ring %d: nodes / len" % trial)
        check(all(x in ring for x in nodes) and "not-a-node" not in ring, "ring %d: in" % trial)
        check(ring.weights == {x: weights.get(x, 1) for x in nodes}, "ring %d: weights" % trial)
        shares = ring.shares()
        check(sum(shares.values()) == 1 << 32 and set(shares) == set(nodes),
              "ring %d: shares sum %d" % (trial, sum(shares.values())))
        # the exact share from the model's sorted points: keys prev <= x < p
        # go to the owner of p (a repeated point adds nothing)
        want = {x: 0 for x in nodes}
        ks = m.keys
        for i, p in enumerate(ks):
            prev = ks[i - 1] if i else ks[-1] - (1 << 32)
            want[m.ring[p]] += p - prev
        check(shares == want, "ring %d: shares differ from the model" % trial)
        rings += 1
    print("# model: %d random rings, weights 0..100, str/int/object/UTF-8 nodes" % rings)


def test_exact_hits_and_shared(peers_dir):
    # Exact hits: keys whose position equals a point (found by brute force
    # over the model's points); bisect_right sends them to the next point.
    nodes = ["h%04d" % i for i in range(1000)]
    m = Model(nodes)
    pts = set(m.keys)
    hits, i = [], 0
    while len(hits) < 6:
        k = "exact%d" % i
        i += 1
        if position(k) in pts:
            hits.append(k)
    compare("exact hits, 1000 nodes", nodes, None, hits)
    # Shared points (tests/peers/shared_points.tsv, family x3: two names with
    # one common point, and a key exactly on it), both orders.
    shared = 0
    with open(os.path.join(peers_dir, "shared_points.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fam, point, a, b, hit = line.rstrip("\n").split("\t")
            if fam != "x3":
                continue
            for order in ((a, b), (b, a)):
                mm = compare("shared point %s,%s" % order, list(order), None,
                             [hit, hit.encode(), "other", "x"])
                check(mm.keys.count(int(point)) == 2 and position(hit) == int(point),
                      "shared point %s: not twice in the model" % point)
                ring = HashRing(list(order))
                owners = [o for p, o in ring.points() if p == int(point)]
                check(owners == [order[1], order[1]],
                      "shared point %s, order %s: owners %r, want the last added twice" % (
                          point, order, owners))
                shared += 1
    check(shared == 8, "%d shared-point rings, want 8" % shared)
    # The same exact-hit keys in the >= dialects: get_node_pos is the index
    # of the first copy of the point (bisect_left), whose owner get_node
    # answers; the peers give a shared point to the node added first.
    ge = 0
    with open(os.path.join(peers_dir, "shared_points.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fam, point, a, b, hit = line.rstrip("\n").split("\t")
            if fam == "t":
                continue
            for dialect in (("node",) if fam == "x3" else ("libketama",)):
                for order in ((a, b), (b, a)):
                    ring = HashRing(list(order), dialect=dialect)
                    pts = ring.points()
                    first = [p for p, _ in pts].index(int(point))
                    check(ring.get_node_pos(hit) == first and pts[first][1] == order[0]
                          and ring.get_node(hit) == order[0],
                          "%s %s: exact hit %s at %r, want %d owned by %s" % (
                              dialect, order, hit, ring.get_node_pos(hit), first, order[0]))
                    ge += 1
    check(ge == 16, "%d >= dialect shared-point rings, want 16" % ge)
    # A node whose own points collide: one heavy node among 1000 (the others
    # get no points) has ~120,000 points; the original keeps both copies.
    for t in range(20):
        heavy = "heavy%d" % t
        nodes = [heavy] + ["light%d" % i for i in range(999)]
        weights = {heavy: 10 ** 6}
        m = Model(nodes, weights)
        if len(set(m.keys)) < len(m.keys):
            break
    dup = len(m.keys) - len(set(m.keys))
    check(dup > 0, "no self-colliding heavy node found")
    rnd = random.Random(7)
    compare("self-collision (%d duplicate points)" % dup, nodes, weights,
            random_keys(rnd, 2000))
    print("# exact hits: %d keys; shared points: %d rings; self-collisions: %d" % (
        len(hits), shared, dup))


# ---- Surface: types, values, quirks ----------------------------------------------

def test_surface():
    servers = ["192.168.0.246:11212", "192.168.0.247:11212", "192.168.0.249:11212"]
    weights = {"192.168.0.246:11212": 1, "192.168.0.247:11212": 2, "192.168.0.249:11212": 1}
    ring = HashRing(servers, weights)
    m = Model(servers, weights)
    check(ring.get_node("my_key") == m.get_node("my_key"), "README example")
    # gen_key: the key's position
    for k in ("", "a", "my_key", "ключ", b"\x00\xff"):
        check(ring.gen_key(k) == position(k) == hash_ring.gen_key(k), "gen_key %r" % (k,))
    # str keys hash as UTF-8, bytes as they are
    check(ring.get_node("ключ") == ring.get_node("ключ".encode()), "str = its UTF-8 bytes")
    check(ring.get_node_pos("é") == m.get_node_pos("é".encode("utf-8")), "non-ASCII pos")
    # empty ring: None, and iterate_nodes' (None, None) once, whatever the key
    for empty in (HashRing(), HashRing([]), HashRing(None, None), HashRing(["a", "b"], {"a": 0, "b": 0})):
        check(empty.get_node("k") is None and empty.get_node_pos("k") is None,
              "empty ring answers None")
        check(list(empty.iterate_nodes("k")) == [(None, None)], "empty iterate_nodes")
        check(list(empty.iterate_nodes(12)) == [(None, None)], "empty iterate_nodes, int key")
        check(empty.get_node_many(["a", b"b"]) == [None, None], "empty get_node_many")
        check(empty.get_nodes("k") == [] and empty.shares() == {x: 0 for x in empty.nodes},
              "empty get_nodes / shares")
    # iterate_nodes is lazy, as the original generator: a bad key raises at next()
    it = ring.iterate_nodes(12)
    raises(TypeError, next, it)
    # distinct is accepted and ignored
    check(list(ring.iterate_nodes("k", distinct=False)) == m.iterate_nodes("k"), "distinct")
    # falsy nodes are skipped by iterate_nodes (the original's `if val:`),
    # not by get_node
    zring = HashRing([0, 1, 2])
    zm = Model([0, 1, 2])
    keys = ["k%d" % i for i in range(200)]
    check(all(list(zring.iterate_nodes(k)) == zm.iterate_nodes(k) for k in keys)
          and all(0 not in zring.iterate_nodes(k) for k in keys), "falsy node skipped")
    check(any(zring.get_node(k) == 0 for k in keys), "get_node can return node 0")
    # bad key types: TypeError, never a crash
    for bad in (None, 12, 1.5, ["k"], ("k",), object()):
        raises(TypeError, ring.get_node, bad)
        raises(TypeError, ring.get_node_pos, bad)
        raises(TypeError, ring.get_nodes, bad)
        raises(TypeError, ring.get_node_many, [bad])
        raises(TypeError, ring.get_node_many, ["ok", "ok", bad])
        raises(TypeError, ring.gen_key, bad)
    raises(TypeError, ring.get_node_many, 12)
    raises(TypeError, ring.get_node_many, "abc")  # one key, not three
    raises(TypeError, ring.get_node_many, b"abc")

    class Churn:
        # a node whose __hash__ changes the membership mid-call
        def __init__(self, ring):
            self.ring = ring

        def __str__(self):
            return "churn"

        def __hash__(self):
            if "x" in self.ring:
                self.ring.remove_node("x")
            else:
                self.ring.add_node("x")
            return 1

    cr = HashRing()
    churn = Churn(cr)
    cr.add_node(churn)  # first in membership order: the others are hashed after it
    cr.add_node("a")
    cr.add_node("b")
    for _ in range(20):
        w = cr.weights  # hashing the node objects into the dict churns the ring
        s = cr.shares()
        check(len(w) in (3, 4) and len(s) in (3, 4), "membership changed while hashing")
    raises(TypeError, ring.get_node)
    raises(UnicodeEncodeError, ring.get_node, "\udc80")  # a lone surrogate has no UTF-8
    raises(TypeError, ring.get_nodes, "k", "2")
    e = raises(ValueError, ring.get_nodes, "k", -1)
    check(isinstance(e, hash_ring.HashRingError) and e.code == hash_ring.EINVAL,
          "get_nodes(n=-1): HashRingValueError with code EINVAL")
    check(ring.get_nodes("k", 0) == [] and len(ring.get_nodes("k", 99)) == 3, "get_nodes n")
    check(ring.get_node_many([]) == [] and ring.get_node_many(iter(["a"])) == [ring.get_node("a")],
          "get_node_many of an empty list / an iterator")
    # bad nodes and weights
    raises(TypeError, HashRing, "abc")
    raises(TypeError, HashRing, 12)
    raises(TypeError, HashRing, ["a"], ["not", "a", "mapping"])
    raises(ValueError, HashRing, ["a"], {"a": 1.5})  # not a whole number
    raises(TypeError, HashRing, ["a"], {"a": "2"})
    for w in (-1, 1 << 32, 1 << 70):
        e = raises(ValueError, HashRing, ["a"], {"a": w})
        check(e is not None and e.code == hash_ring.EINVAL, "weight %d: EINVAL" % w)
    raises(TypeError, HashRing, ["a"], None, "python", "extra")
    e = raises(ValueError, HashRing, ["a"], None, "no-such-dialect")
    check(isinstance(e, hash_ring.HashRingValueError), "unknown dialect")
    # a repeated node, two nodes of one name, an empty name: ValueError
    for nodes in (["a", "b", "a"], ["1", 1], [b"x", "x"], ["a", ""], [""]):
        e = raises(ValueError, HashRing, nodes)
        check(isinstance(e, hash_ring.HashRingError) and e.code in (hash_ring.EEXIST,
                                                                     hash_ring.EINVAL),
              "nodes %r: %r" % (nodes, e))

    class BadStr:
        def __str__(self):
            raise RuntimeError("no name")

    raises(RuntimeError, HashRing, ["a", BadStr()])
    # membership changes without a rebuild from Python
    r = HashRing(["a", "b"])
    r.add_node("c", 3)
    check(r.nodes == ["a", "b", "c"] and r.weights == {"a": 1, "b": 1, "c": 3}, "add_node")
    check([r.get_node(k) for k in keys] == [Model(["a", "b", "c"], {"c": 3}).get_node(k)
                                            for k in keys], "add_node placement")
    e = raises(ValueError, r.add_node, "a")
    check(e is not None and e.code == hash_ring.EEXIST, "add_node twice: EEXIST")
    e = raises(KeyError, r.remove_node, "zz")
    check(isinstance(e, hash_ring.NodeNotFoundError) and e.code == hash_ring.ENOTFOUND,
          "remove_node unknown: NodeNotFoundError")
    raises(KeyError, r.set_weight, "zz", 2)
    raises(TypeError, r.set_weight, "a", "2")
    raises(ValueError, r.add_node, "d", -3)
    check(r.nodes == ["a", "b", "c"], "failed calls change nothing")
    r.set_weight("a", 5)
    r.remove_node("b")
    mm = Model(["a", "c"], {"a": 5, "c": 3})
    check([r.get_node(k) for k in keys] == [mm.get_node(k) for k in keys]
          and [r.get_node_pos(k) for k in keys] == [mm.get_node_pos(k) for k in keys],
          "set_weight / remove_node placement")
    check(len(r) == 2 and "b" not in r and "a" in r, "len / in after changes")
    # snapshots: immutable views
    snap = r.snapshot()
    r.add_node("e")
    check(snap.nodes == ["a", "c"] and len(snap) == 2 and r.nodes == ["a", "c", "e"],
          "snapshot keeps its membership")
    check([snap.get_node(k) for k in keys] == [mm.get_node(k) for k in keys]
          and snap.get_node_many(keys) == [mm.get_node(k) for k in keys]
          and [snap.get_node_pos(k) for k in keys] == [mm.get_node_pos(k) for k in keys],
          "snapshot lookups")
    check(snap.dialect == "python" and HashRing([], dialect="libketama").dialect == "libketama",
          "dialect names")
    check(set(hash_ring.dialects()) >= {"python", "node", "libketama", "libmemcached",
                                        "twemproxy", "hashring", "hashring-python"}, "dialects()")
    # node objects: the same objects come back
    objs = [Server("10.0.0.%d" % i, 11211) for i in range(5)]
    ro = HashRing(objs, {objs[0]: 3})
    mo = Model(objs, {objs[0]: 3})
    check(all(ro.get_node(k) is mo.get_node(k) for k in keys), "object nodes: identity")
    ro.remove_node(Server("10.0.0.1", 11211))  # found by its name
    check(len(ro) == 4 and objs[1] not in ro.nodes, "remove_node by an equal-named object")
    # re-initialising replaces the ring
    ro.__init__(["x"])
    check(ro.nodes == ["x"] and ro.get_node("k") == "x", "__init__ again")
    # a failed __init__ leaves the ring as it was; an uninitialised one raises
    raises(ValueError, ro.__init__, ["a", "a"])
    check(ro.nodes == ["x"], "failed __init__ changed the ring")
    bare = HashRing.__new__(HashRing)
    raises(RuntimeError, bare.get_node, "k")
    raises(RuntimeError, bare.get_node_many, ["k"])
    raises(RuntimeError, len, bare)
    raises(RuntimeError, bare.add_node, "a")
    # the original's module path
    from hash_ring.hash_ring import HashRing as HR2
    check(HR2 is HashRing, "hash_ring.hash_ring.HashRing")
    # exceptions carry the library's code
    check(issubclass(hash_ring.HashRingValueError, ValueError)
          and issubclass(hash_ring.NodeNotFoundError, KeyError)
          and issubclass(hash_ring.HashRingMemoryError, MemoryError), "exception classes")
    print("# surface: types, values, empty ring, quirks, membership changes, snapshots")


def main():
    vdir = sys.argv[1]
    test_vectors(vdir)
    test_client_vectors(vdir)
    test_model_random()
    test_exact_hits_and_shared(os.path.join(os.path.dirname(vdir.rstrip("/")), "peers"))
    test_surface()
    print("%d checks, %d failures" % (CHECKS[0], len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
