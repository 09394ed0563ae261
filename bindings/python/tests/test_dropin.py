#!/usr/bin/env python3
"""test_dropin.py - the original package's behaviour at its edges, and the
Python object protocols (pickle, copy, weakref, repr) its instances had.

usage: test_dropin.py   (PYTHONPATH reaches the built package)

The original hash_ring 1.3 is a plain Python class: HashRing(nodes,
weights) keeps its arguments, hashes '%s-%s' % (node, j) (str() of every
node, str subclasses included), looks weights up with weights.get(node, 1)
after `if not weights: weights = {}`, computes math.floor((40*n*w) / T)
with whatever numbers it is given, and answers None on an empty ring
before looking at the key.  Expected placements come from Model
(test_ring.py, written from those rules with hashlib), never from the
library's own output.
"""
import array
import copy
import enum
import gc
import pickle
import sys
import weakref

import hash_ring
from hash_ring import HashRing
from test_ring import CHECKS, FAILURES, Model, check


def raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    except Exception as e:  # noqa: BLE001 - any other class is the failure
        check(False, "%r%r raised %r, want %s" % (fn, args, e, exc.__name__))
        return None
    check(False, "%r%r raised nothing, want %s" % (fn, args, exc.__name__))
    return None


KEYS = ["key-%d" % i for i in range(300)] + ["ключ-%d" % i for i in range(50)]


def same_as_model(title, ring, model):
    got = [(ring.get_node(k), ring.get_node_pos(k), list(ring.iterate_nodes(k))) for k in KEYS]
    want = [(model.get_node(k), model.get_node_pos(k), model.iterate_nodes(k)) for k in KEYS]
    bad = [(k, g[:2], w[:2]) for k, g, w in zip(KEYS, got, want) if g != w]
    check(not bad, "%s: %d of %d keys differ from the original's rules, first %r"
          % (title, len(bad), len(KEYS), bad[:1]))


class Server(str, enum.Enum):
    """A str subclass with its own __str__: the original names it by
    str(), 'Server.A', not by its value."""
    A = "10.0.0.1:11211"
    B = "10.0.0.2:11211"
    C = "10.0.0.3:11211"


class Plain(str):
    """A str subclass that keeps str's __str__: named by its value."""


def test_original_attributes():
    # the original's ring ({position: node}) and _sorted_keys, which code
    # computing distributions reads
    nodes = ["10.0.0.%d:11211" % i for i in range(7)]
    for weights in (None, {nodes[2]: 3, nodes[4]: 0}):
        r, m = HashRing(nodes, weights), Model(nodes, weights)
        check(r._sorted_keys == m.keys and r.ring == m.ring,
              "ring / _sorted_keys, weights %r" % (weights,))
    # a shared point (tests/peers/shared_points.tsv): the original's dict
    # gives it to the node added last, its list keeps it twice
    for order in (["x8477", "x12065"], ["x12065", "x8477"]):
        r, m = HashRing(order), Model(order)
        check(r.ring == m.ring and r.ring[97064980] == order[1]
              and r._sorted_keys == m.keys and r._sorted_keys.count(97064980) == 2,
              "shared point, order %r" % order)
    check(HashRing([]).ring == {} and HashRing([])._sorted_keys == [], "empty ring attributes")


def test_node_containers():
    # the original iterates whatever it is given: a dict's keys, a tuple
    d = {"10.0.0.1:11211": 1, "10.0.0.2:11211": 3, "10.0.0.3:11211": 1}
    same_as_model("nodes as a dict", HashRing(d, d), Model(list(d), d))
    same_as_model("nodes as a tuple", HashRing(tuple(d)), Model(list(d)))
    same_as_model("weights missing a node", HashRing(list(d), {"10.0.0.2:11211": 2}),
                  Model(list(d), {"10.0.0.2:11211": 2}))
    same_as_model("weight 0", HashRing(list(d), {"10.0.0.1:11211": 0}),
                  Model(list(d), {"10.0.0.1:11211": 0}))
    check(list(HashRing(list(d), {"10.0.0.1:11211": 0}).iterate_nodes("k", distinct=False))
          == Model(list(d), {"10.0.0.1:11211": 0}).iterate_nodes("k"), "distinct=False")


def test_str_subclass_nodes():
    nodes = list(Server)
    check(str(Server.A) != Server.A.value, "the Enum's str() must differ from its value")
    same_as_model("Enum(str) nodes", HashRing(nodes), Model(nodes))
    same_as_model("Enum(str) nodes, weighted", HashRing(nodes, {Server.B: 3}),
                  Model(nodes, {Server.B: 3}))
    r = HashRing(nodes)
    check(Server.A in r and "Server.A" in r and Server.A.value not in r,
          "membership by the name str() gives")
    plain = [Plain("10.0.0.%d:11211" % i) for i in range(4)]
    same_as_model("plain str subclass nodes", HashRing(plain), Model(plain))


def test_unhashable_nodes():
    # the original's weights.get(node, 1) hashes every node: TypeError
    raises(TypeError, HashRing, [["10.0.0.1", 11211], ["10.0.0.2", 11211]])
    r = HashRing(["a"])
    raises(TypeError, r.add_node, ["b"])
    check(r.nodes == ["a"] and r.weights == {"a": 1}, "a refused node changed the ring")


class Index:
    """An int-like weight (as numpy.int64): __index__ only."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


def test_weights():
    nodes = ["a", "b", "c", "d"]
    # whole-number floats: the original's float arithmetic gives the int result
    for w in ({"a": 2.0}, {"a": 2.0, "b": 0.0, "c": 7.0}, {"b": 1.0, "d": 100.0}):
        same_as_model("float weights %r" % w, HashRing(nodes, w), Model(nodes, w))
    check(HashRing(nodes, {"a": 2.0}).weights == {"a": 2, "b": 1, "c": 1, "d": 1},
          "a float weight is kept as its whole number")
    # bools are ints to the original
    same_as_model("bool weights", HashRing(nodes, {"a": True, "b": False}),
                  Model(nodes, {"a": 1, "b": 0}))
    # int-like objects (__index__)
    same_as_model("__index__ weights", HashRing(nodes, {"a": Index(3)}), Model(nodes, {"a": 3}))
    r = HashRing(nodes)
    r.set_weight("b", 4.0)
    r.add_node("e", Index(2))
    same_as_model("set_weight 4.0, add_node Index(2)", r,
                  Model(nodes + ["e"], {"b": 4, "e": 2}))
    # a fraction, NaN, infinities, out of range: a ValueError (EINVAL), the
    # ring unchanged; not a number at all: TypeError
    for w in (1.5, float("nan"), float("inf"), float("-inf"), -1.0, 2.0 ** 32, Index(-1),
              Index(1 << 40)):
        e = raises(ValueError, HashRing, nodes, {"a": w})
        check(e is not None and e.code == hash_ring.EINVAL, "weight %r: EINVAL" % (w,))
        raises(ValueError, r.set_weight, "a", w)
    for w in ("2", None, [2], 1j):
        raises(TypeError, HashRing, nodes, {"a": w})
    check(r.weights == {"a": 1, "b": 4, "c": 1, "d": 1, "e": 2}, "refused weights changed it")
    # `if not weights: weights = {}`: any false value is no weights
    for empty in ({}, [], (), 0, "", None):
        same_as_model("weights=%r" % (empty,), HashRing(nodes, empty), Model(nodes))


def test_empty_ring_any_key():
    # the original's get_node_pos returns None before it hashes the key
    for empty in (HashRing([]), HashRing(["a"], {"a": 0})):
        for key in (12, None, 1.5, ["k"], object(), "k", b"k"):
            check(empty.get_node(key) is None and empty.get_node_pos(key) is None,
                  "empty ring, key %r: None" % (key,))
            check(list(empty.iterate_nodes(key)) == [(None, None)],
                  "empty ring iterate_nodes(%r)" % (key,))
        raises(TypeError, empty.gen_key, 12)  # gen_key always hashes
    check(HashRing(["a"]).get_node("k") == "a", "one node")
    # the original has no __len__: an instance is true, empty or not
    check(bool(HashRing([])) and bool(HashRing(["a"], {"a": 0})), "an empty ring is true")
    raises(TypeError, HashRing(["a"]).get_node, 12)


def test_keyword_arguments():
    nodes = ["a", "b", "c"]
    r, m = HashRing(nodes), Model(nodes)
    for k in KEYS[:50]:
        check(r.get_node(string_key=k) == m.get_node(k)
              and r.get_node_pos(string_key=k) == m.get_node_pos(k)
              and list(r.iterate_nodes(string_key=k, distinct=False)) == m.iterate_nodes(k)
              and r.gen_key(key=k) == hash_ring.gen_key(key=k) == r.gen_key(k)
              and r.snapshot().get_node(string_key=k) == m.get_node(k),
              "keyword arguments, key %r" % k)
    raises(TypeError, r.get_node)
    raises(TypeError, r.get_node, "a", "b")
    raises(TypeError, r.get_node, key="a")
    raises(TypeError, r.get_node, "a", string_key="b")
    raises(TypeError, r.get_node_pos, nope="a")
    raises(TypeError, r.gen_key, string_key="a")
    check(HashRing(nodes=nodes, weights={"a": 2}).nodes == nodes, "HashRing(nodes=, weights=)")


class Node:
    def __init__(self, host):
        self.host = host

    def __str__(self):
        return self.host

    def __eq__(self, other):
        return isinstance(other, Node) and other.host == self.host

    def __hash__(self):
        return hash(self.host)


class MyRing(HashRing):
    pass


def test_pickle_and_copy():
    nodes = [Node("10.0.0.%d:11211" % i) for i in range(6)]
    weights = {nodes[1]: 3, nodes[2]: 0}
    r = HashRing(nodes, weights)
    m = Model(nodes, weights)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        c = pickle.loads(pickle.dumps(r, proto))
        check(type(c) is HashRing and c.nodes == nodes and c.weights == r.weights,
              "pickle protocol %d: members" % proto)
        same_as_model("pickle protocol %d" % proto, c, Model(c.nodes, weights))
    c = copy.copy(r)
    check(c is not r and all(a is b for a, b in zip(c.nodes, nodes)), "copy: the same nodes")
    same_as_model("copy", c, m)
    c.add_node(Node("other"))
    check(len(r) == 6 and len(c) == 7, "a copy changes alone")
    d = copy.deepcopy(r)
    check(d.nodes == nodes and not any(a is b for a, b in zip(d.nodes, nodes)),
          "deepcopy: copies of the nodes")
    same_as_model("deepcopy", d, Model(d.nodes, {d.nodes[1]: 3, d.nodes[2]: 0}))
    # another dialect, a subclass and its attributes travel too
    lk = pickle.loads(pickle.dumps(HashRing(["a", "b"], dialect="libketama")))
    check(lk.dialect == "libketama", "pickle keeps the dialect")
    s = MyRing(["a", "b"])
    s.note = "x"
    s2 = pickle.loads(pickle.dumps(s))
    check(type(s2) is MyRing and s2.note == "x" and s2.nodes == ["a", "b"], "subclass pickle")
    raises(RuntimeError, pickle.dumps, HashRing.__new__(HashRing))


def test_object_protocols():
    # the original's instances are plain objects: attributes, weak references
    r = HashRing(["a", "b"])
    r.label = "pool"
    check(r.label == "pool", "instance attribute")
    ref = weakref.ref(r)
    check(ref() is r, "weak reference")
    del r
    gc.collect()
    check(ref() is None, "weak reference cleared")
    # repr never raises, initialised or not
    bare = HashRing.__new__(HashRing)
    check(repr(bare) == "<HashRing, not initialised>", "repr of an uninitialised ring: %r"
          % repr(bare))
    check(repr(HashRing(["a", "b"])) == "<HashRing python, 2 nodes>", "repr")
    failed = HashRing.__new__(HashRing)
    raises(ValueError, failed.__init__, ["a", "a"])
    check(repr(failed) == "<HashRing, not initialised>", "repr after a failed first __init__")
    raises(RuntimeError, failed.get_node, "k")


def test_reinit_never_without_snapshot():
    # A garbage collection during __init__ runs Python code (gc callbacks,
    # finalizers) that may use the ring: it must see the old membership or
    # the new one, never an uninitialised ring.  With a threshold of 1 and
    # the young generation's count set by hand, collections start at each
    # of the first few container allocations of __init__ in turn.
    r = HashRing(["a", "b"])
    seen = []

    def probe(phase, info):
        if phase == "start":
            try:
                seen.append(r.get_node("k"))
            except Exception as e:  # noqa: BLE001 - recorded, checked below
                seen.append(e)

    old = gc.get_threshold()
    keep = []
    gc.callbacks.append(probe)
    try:
        for i in range(40):
            gc.collect()
            gc.set_threshold(1 + i % 4)
            keep.extend([] for _ in range(i % 5))
            r.__init__(["c", "d", "e"] if i % 2 else ["a", "b"])
            gc.set_threshold(*old)
    finally:
        gc.set_threshold(*old)
        gc.callbacks.remove(probe)
    bad = [x for x in seen if not isinstance(x, str)]
    check(len(seen) > 40 and not bad, "%d collections during __init__, %d saw no ring: %r"
          % (len(seen), len(bad), bad[:1]))


def test_buffer_keys():
    # the original's md5.update(key) hashed any buffer (bytearray,
    # memoryview, array), as bytes
    nodes = ["10.0.0.%d:11211" % i for i in range(8)]
    r, m = HashRing(nodes), Model(nodes)
    keys = [bytearray(b"key-%d" % i) for i in range(100)]
    keys += [memoryview(b"<key-%d>" % i)[1:-1] for i in range(100)]
    keys += [array.array("B", b"key-%d" % i) for i in range(100)]
    keys += [memoryview(b"k-e-y-%d" % i)[::2] for i in range(100)]  # not contiguous
    want = [m.get_node(bytes(k)) for k in keys]
    check([r.get_node(k) for k in keys] == want, "get_node of bytes-like keys")
    check(r.get_node_many(keys) == want, "get_node_many of bytes-like keys")
    check([r.get_node_pos(k) for k in keys] == [m.get_node_pos(bytes(k)) for k in keys],
          "get_node_pos of bytes-like keys")
    check([r.gen_key(k) for k in keys] == [hash_ring.gen_key(bytes(k)) for k in keys],
          "gen_key of bytes-like keys")
    check(all(list(r.iterate_nodes(k)) == m.iterate_nodes(bytes(k)) for k in keys[::7]),
          "iterate_nodes of bytes-like keys")
    check(all(r.get_nodes(k, 2) == m.iterate_nodes(bytes(k))[:2] for k in keys[::7]),
          "get_nodes of bytes-like keys")
    for bad in ([104, 105], (104,), 12, None):  # iterables of ints are not bytes
        raises(TypeError, r.get_node, bad)
        raises(TypeError, r.get_node_many, ["ok", bad])


def test_change_during_rebuild():
    # The same for add_node: a collection started while it publishes the new
    # membership runs Python code that removes another member (a finalizer,
    # or another thread once that code drops the GIL).  Both changes must
    # take effect, with no error, and every answer from one membership.
    r = HashRing(["a", "b", "c"])
    state = {"armed": False, "removed": 0}

    def probe(phase, info):
        if phase == "start" and state["armed"] and "b" in r:
            state["armed"] = False
            r.remove_node("b")
            state["removed"] += 1

    old = gc.get_threshold()
    gc.callbacks.append(probe)
    errors = []
    try:
        for i in range(30):
            if "b" not in r:
                r.add_node("b")
            gc.collect()
            gc.set_threshold(1 + i % 3)
            state["armed"] = True
            try:
                r.add_node("x%d" % i)
            except Exception as e:  # noqa: BLE001 - recorded, checked below
                errors.append(e)
            finally:
                gc.set_threshold(*old)
                state["armed"] = False
    finally:
        gc.set_threshold(*old)
        gc.callbacks.remove(probe)
    check(state["removed"] > 10 and not errors, "%d removals during add_node, errors %r"
          % (state["removed"], errors[:1]))
    want = ["a", "c"] + ["x%d" % i for i in range(30)] + (["b"] if "b" in r else [])
    check(sorted(r.nodes) == sorted(want), "membership after the changes: %r" % r.nodes)
    same_as_model("after the changes", r, Model(r.nodes))


TESTS = [test_original_attributes, test_node_containers, test_buffer_keys,
         test_str_subclass_nodes, test_unhashable_nodes, test_weights, test_empty_ring_any_key,
         test_keyword_arguments, test_pickle_and_copy, test_object_protocols,
         test_reinit_never_without_snapshot, test_change_during_rebuild]


def main():
    for test in TESTS:
        try:
            test()
        except Exception as e:  # noqa: BLE001 - one test's error fails it, not the rest
            check(False, "%s raised %r" % (test.__name__, e))
    print("# drop-in: %d checks, %d failures" % (CHECKS[0], len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
