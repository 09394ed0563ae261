#!/usr/bin/env python3
"""Tests of the installed hash-ring command-line tool.

Usage: test_cli.py GROUP --bin STAGED_HASH_RING --vectors DIR [--man FILE]

Every expected placement comes from tests/vectors (computed by the original
programs and real peers) or is computed here by hand from those files with
hashlib (a key's position is the first four bytes of its MD5, little-endian;
the owner is read off the peer's own continuum dump).  Nothing here takes the
tool's or the library's output as its own expectation; the diff figures are
checked against sampling a million keys through `map` on both rings.

Environment: HASH_RING_CLI_WRAPPER, if set, is a command prefix (for
example "valgrind -q --error-exitcode=99") put before every run of the tool
except the memory measurement of `map`.
"""
import argparse
import bisect
import hashlib
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import threading
from fractions import Fraction

TWO32 = 1 << 32
DIALECTS = ["python", "node", "libketama", "libmemcached", "twemproxy", "hashring",
            "hashring-python"]

ARGS = None
FAILURES = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        FAILURES.append(what)
        print("FAIL: " + what, file=sys.stderr)


def wrapper():
    w = os.environ.get("HASH_RING_CLI_WRAPPER", "")
    return shlex.split(w) if w else []


def run(args, stdin=b"", wrap=True):
    """Runs the staged tool; returns (rc, stdout bytes, stderr bytes)."""
    cmd = (wrapper() if wrap else []) + [ARGS.bin] + list(args)
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


def run_ok(args, stdin=b"", what=None):
    rc, out, err = run(args, stdin)
    check(rc == 0, "%s: exit %d, stderr %r" % (what or args, rc, err[:300]))
    return out


def read_tsv(path):
    with open(path, "rb") as f:
        return [line.rstrip(b"\n").split(b"\t") for line in f if line.strip()]


def vdir(name):
    return os.path.join(ARGS.vectors, name)


def vector_folders():
    # pool folders only (clients/ holds the other clients' placements)
    return sorted(d for d in os.listdir(ARGS.vectors)
                  if os.path.isfile(os.path.join(vdir(d), "nodes.tsv")))


def nodes_of(folder):
    return [(r[0], int(r[1])) for r in read_tsv(os.path.join(vdir(folder), "nodes.tsv"))]


def ring_args(folder, dialect="python"):
    return ["--dialect", dialect, "--nodes-file", os.path.join(vdir(folder), "nodes.tsv")]


def position(key):
    return int.from_bytes(hashlib.md5(key).digest()[:4], "little")


def lookup_rule(dialect):
    return ">" if dialect == "python" else ">="


class PeerContinuum:
    """A peer's continuum dump, and placements read off it by hand."""

    def __init__(self, path, dialect):
        rows = read_tsv(path)
        self.points = [int(r[0]) for r in rows]
        self.owners = [r[1] for r in rows]
        self.rule = lookup_rule(dialect)
        self.rows = rows

    def owner_at(self, pos):
        if self.rule == ">":
            i = bisect.bisect_right(self.points, pos)
        else:
            i = bisect.bisect_left(self.points, pos)
        return self.owners[i % len(self.points)]

    def owner(self, key):
        return self.owner_at(position(key))

    def has_shared_points(self):
        return len(set(self.points)) != len(self.points)

    def exact_shares(self):
        """Positions owned by each node: the gap before each distinct point
        belongs to that point's lookup winner; exact, by hand."""
        shares = {}
        pts = self.points
        distinct = sorted(set(pts))
        for k, p in enumerate(distinct):
            prev = distinct[k - 1] if k > 0 else distinct[-1] - TWO32
            # '>=' : positions prev+1 .. p go to p's winner.
            # '>'  : positions prev .. p-1 go to p's winner.
            owner = self.owner_at(p if self.rule == ">=" else p - 1 if p > 0 else TWO32 - 1)
            shares[owner] = shares.get(owner, 0) + (p - prev)
        return shares


def esc(b):
    """The documented text escaping, written here from hash-ring(1): '\\'
    doubled, tab/newline/CR as \\t \\n \\r, other C0 controls, DEL, C1
    controls and bytes outside valid UTF-8 as \\xHH; other UTF-8 as is."""
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5c:
            out += b"\\\\"
        elif c in (9, 10, 13):
            out += {9: b"\\t", 10: b"\\n", 13: b"\\r"}[c]
        elif 0x20 <= c < 0x7f:
            out.append(c)
        elif c >= 0x80:
            for n in (2, 3, 4):
                try:
                    ch = b[i:i + n].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if len(ch) == 1 and not 0x80 <= ord(ch) <= 0x9f:
                    out += b[i:i + n]
                    i += n
                    break
            else:
                out += b"\\x%02x" % c
                i += 1
            continue
        else:
            out += b"\\x%02x" % c
        i += 1
    return bytes(out)


def share_text(s):
    return Fraction(s.decode() if isinstance(s, bytes) else s)


def percent_ok(text, exact):
    """text is "P%" with 4 decimals, the exact fraction rounded."""
    t = text.decode()
    if not t.endswith("%") or len(t.split(".")[-1]) != 5:
        return False
    return abs(Fraction(t[:-1]) - exact * 100) <= Fraction(1, 20000)


def loads_exact(b):
    """JSON with numbers kept exact (strict: raw control characters refused)."""
    return json.loads(b.decode("utf-8", "surrogatepass"), parse_float=Fraction)


def is_json_valid_strict(b):
    """Valid UTF-8 JSON text (lone surrogates allowed as \\u escapes only)."""
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    try:
        json.loads(b.decode("utf-8"))
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------
def group_lookup():
    """get, map, replicas against every peer's .get.tsv / .replicas.tsv."""
    compared = 0
    for folder in vector_folders():
        for dialect in DIALECTS:
            path = os.path.join(vdir(folder), dialect + ".get.tsv")
            if not os.path.exists(path):
                continue
            rows = read_tsv(path)
            keys = [r[0] for r in rows]
            expected = b"".join(r[0] + b"\t" + r[1] + b"\n" for r in rows)
            out = run_ok(ring_args(folder, dialect) + ["get", "--"] + keys)
            check(out == expected, "get %s/%s differs from the peer" % (folder, dialect))
            out = run_ok(ring_args(folder, dialect) + ["map"], b"".join(k + b"\n" for k in keys))
            check(out == expected, "map %s/%s differs from the peer" % (folder, dialect))
            # JSON: a sample of 200 keys, parsed.
            sample = rows[:200]
            js = json.loads(run_ok(ring_args(folder, dialect) + ["--json", "get", "--"]
                                   + [r[0] for r in sample]))
            check(js == [{"key": r[0].decode(), "node": r[1].decode()} for r in sample],
                  "get --json %s/%s" % (folder, dialect))
            js = json.loads(run_ok(ring_args(folder, dialect) + ["--json", "map"],
                                   b"".join(r[0] + b"\n" for r in sample)))
            check(js == [{"key": r[0].decode(), "node": r[1].decode()} for r in sample],
                  "map --json %s/%s" % (folder, dialect))
            compared += 2 * len(rows) + 2 * len(sample)
    # replicas
    rep = 0
    for folder in vector_folders():
        path = os.path.join(vdir(folder), "python.replicas.tsv")
        if not os.path.exists(path):
            continue
        rows = read_tsv(path)
        keys = [r[0] for r in rows]
        nnodes = len(nodes_of(folder))
        for n in (1, 2, nnodes, nnodes + 7):
            out = run_ok(ring_args(folder) + ["replicas", str(n), "--"] + keys)
            want = b"".join(b"\t".join([r[0]] + r[1:1 + n]) + b"\n" for r in rows)
            check(out == want, "replicas %d %s differs from Python's iterate_nodes" % (n, folder))
            rep += len(rows)
        js = json.loads(run_ok(ring_args(folder) + ["--json", "replicas", "2", "--"] + keys[:100]))
        check(js == [{"key": r[0].decode(), "nodes": [x.decode() for x in r[1:3]]}
                     for r in rows[:100]], "replicas --json %s" % folder)
        rep += 100
    # A key with a trailing \r, an empty line (empty key), a last line
    # without newline, NUL bytes: all hashed whole (owner read by hand off
    # Python's continuum).
    pc = PeerContinuum(os.path.join(vdir("seed3"), "python.continuum.tsv"), "python")
    keys = [b"plain", b"cr\r", b"", b"a\x00b", b"\xff\xfe", b"tab-less \x01", b"last"]
    out = run_ok(ring_args("seed3") + ["map"], b"\n".join(keys))
    want = b"".join(esc(k) + b"\t" + pc.owner(k) + b"\n" for k in keys)
    check(out == want, "map: keys with \\r, NUL, empty, last line without newline")
    # map looks keys up in blocks (256 keys, 64 KiB of keys): keys across
    # block boundaries, keys that fill a block, and keys longer than one
    # block, which go alone between the others.
    import random
    rnd = random.Random(11)
    sizes = [rnd.randint(0, 60) for _ in range(700)]
    for at, n in ((3, 65535), (4, 65536), (300, 65537), (301, 1), (302, 300000),
                  (600, 65536 - 300), (601, 400)):
        sizes[at] = n
    keys = [bytes(rnd.choice(b"abcdefgh-:0123") for _ in range(n)) for n in sizes]
    out = run_ok(ring_args("seed3") + ["map"], b"".join(k + b"\n" for k in keys))
    want = b"".join(esc(k) + b"\t" + pc.owner(k) + b"\n" for k in keys)
    check(out == want, "map: 700 keys of 0 to 300,000 bytes across lookup blocks")
    # --strip-cr: CRLF input, one \r before the newline dropped
    out = run_ok(ring_args("seed3") + ["map", "--strip-cr"], b"a\r\nb\r\r\nc")
    want = b"".join(esc(k) + b"\t" + pc.owner(k) + b"\n" for k in (b"a", b"b\r", b"c"))
    check(out == want, "map --strip-cr: %r" % out)
    print("lookup: %d placements compared with peers, %d replica lines" % (compared, rep))


def group_continuum():
    n = 0
    for folder in vector_folders():
        for name in sorted(os.listdir(vdir(folder))):
            if not name.endswith(".continuum.tsv"):
                continue
            dialect = name[:-len(".continuum.tsv")]
            with open(os.path.join(vdir(folder), name), "rb") as f:
                want = f.read()
            out = run_ok(ring_args(folder, dialect) + ["continuum"])
            check(out == want, "continuum %s/%s differs from the peer" % (folder, dialect))
            js = json.loads(run_ok(ring_args(folder, dialect) + ["--json", "continuum"]))
            rows = read_tsv(os.path.join(vdir(folder), name))
            check(js == [{"point": int(r[0]), "node": r[1].decode()} for r in rows],
                  "continuum --json %s/%s" % (folder, dialect))
            n += 2 * len(rows)
    # nodes-2000: the peer's dump is sampled (LINE_INDEX, POINT, OWNER).
    sample = read_tsv(os.path.join(vdir("nodes-2000"), "python.continuum-sample.tsv"))
    check(sample[0][0] == b"# total", "sample header")
    total = int(sample[0][1])
    out = run_ok(ring_args("nodes-2000") + ["continuum"]).split(b"\n")
    check(out[-1] == b"" and len(out) - 1 == total,
          "nodes-2000 continuum has %d lines, the peer %d" % (len(out) - 1, total))
    for r in sample[1:]:
        i = int(r[0])
        check(i < len(out) and out[i] == r[1] + b"\t" + r[2],
              "nodes-2000 continuum line %d: %r, peer %r" % (i, out[i] if i < len(out) else None,
                                                              r[1:]))
        n += 1
    print("continuum: %d points compared with peers' dumps" % n)


def parse_stats_text(out):
    lines = out.rstrip(b"\n").split(b"\n")
    rows = [l.split(b"\t") for l in lines[:-1]]
    last = lines[-1].split(b"\t")
    return rows, last


def group_stats():
    cases = 0
    for folder in vector_folders():
        weights = dict(nodes_of(folder))
        tw = sum(weights.values())
        for name in sorted(os.listdir(vdir(folder))):
            if not name.endswith(".continuum.tsv"):
                continue
            dialect = name[:-len(".continuum.tsv")]
            pc = PeerContinuum(os.path.join(vdir(folder), name), dialect)
            want = pc.exact_shares()
            check(sum(want.values()) == TWO32, "hand computation covers 2^32")
            js = loads_exact(run_ok(ring_args(folder, dialect) + ["--json", "stats"]))
            got = {n["node"].encode(): n for n in js["nodes"]}
            check(js["total_positions"] == TWO32, "stats total_positions")
            check(js["total_weight"] == tw, "stats total_weight")
            check(sum(n["positions"] for n in js["nodes"]) == TWO32,
                  "stats %s/%s: positions sum to 2^32" % (folder, dialect))
            check(sum(Fraction(n["share"]) for n in js["nodes"]) == 1,
                  "stats %s/%s: shares sum to exactly 1" % (folder, dialect))
            check([n["node"].encode() for n in js["nodes"]] == [k for k, _ in nodes_of(folder)],
                  "stats lists nodes in membership order")
            for node, w in weights.items():
                g = got[node]
                check(g["positions"] == want.get(node, 0),
                      "stats %s/%s %s: %d positions, by hand from the peer %d"
                      % (folder, dialect, node, g["positions"], want.get(node, 0)))
                check(Fraction(g["share"]) == Fraction(g["positions"], TWO32),
                      "share is exactly positions/2^32")
                check(g["weight"] == w, "weight")
                check(abs(g["weight_share"] - Fraction(w, tw)) < Fraction(1, 10**15),
                      "weight_share")
                if not pc.has_shared_points():
                    check(g["points"] == pc.owners.count(node),
                          "stats %s/%s %s: %d points, the peer %d"
                          % (folder, dialect, node, g["points"], pc.owners.count(node)))
            ratios = {n: Fraction(want.get(n, 0), TWO32) / Fraction(w, tw)
                      for n, w in weights.items() if w > 0}
            best = max(ratios.values())
            check(abs(js["max_ratio"]["ratio"] - best) < Fraction(1, 10**12)
                  and ratios[js["max_ratio"]["node"].encode()] == best,
                  "stats %s/%s max_ratio" % (folder, dialect))
            # Text form: same figures, exact decimal shares.
            rows, last = parse_stats_text(run_ok(ring_args(folder, dialect) + ["stats"]))
            check(len(rows) == len(weights), "stats text: one line per node")
            check(sum(int(r[3]) for r in rows) == TWO32,
                  "stats text %s/%s: POSITIONS column sums to 2^32" % (folder, dialect))
            for r in rows:
                check(len(r) == 6 and int(r[3]) == want.get(r[0], 0)
                      and percent_ok(r[4], Fraction(want.get(r[0], 0), TWO32))
                      and int(r[1]) == weights[r[0]]
                      and percent_ok(r[5], Fraction(weights[r[0]], tw)),
                      "stats text row %r" % r)
            check(last[0] == b"max_ratio" and abs(share_text(last[1]) - best) < Fraction(1, 10**6)
                  and ratios[last[2]] == best, "stats text max_ratio line %r" % last)
            cases += 1
    # Dialects without a continuum dump: shares against the peer's own key
    # placements (3,000 keys: each share within 4.5 sigma).
    samp = 0
    for folder in vector_folders():
        for dialect in DIALECTS:
            path = os.path.join(vdir(folder), dialect + ".get.tsv")
            if not os.path.exists(path) or folder == "nodes-2000":
                continue
            rows = read_tsv(path)
            js = loads_exact(run_ok(ring_args(folder, dialect) + ["--json", "stats"]))
            check(sum(n["positions"] for n in js["nodes"]) == TWO32, "positions sum")
            for n in js["nodes"]:
                p = float(Fraction(n["positions"], TWO32))
                seen = sum(1 for r in rows if r[1] == n["node"].encode()) / len(rows)
                sigma = math.sqrt(max(p * (1 - p), 1e-9) / len(rows))
                check(abs(seen - p) <= 4.5 * sigma + 1e-9,
                      "stats %s/%s %s: share %.5f, peer's keys %.5f" % (folder, dialect,
                                                                        n["node"], p, seen))
            samp += 1
    print("stats: %d rings checked exactly against peers' continuums, %d against peers' "
          "placements" % (cases, samp))


def sample_map(args, keys_file):
    """Places every key of keys_file through `map`; returns the node list."""
    with open(keys_file, "rb") as f:
        p = subprocess.run(wrapper() + [ARGS.bin] + args + ["map"], stdin=f,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    check(p.returncode == 0, "map for sampling: %r" % p.stderr)
    return [l.rsplit(b"\t", 1)[1] for l in p.stdout.split(b"\n")[:-1]]


def group_diff():
    nkeys = 1000000
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = os.path.join(tmp, "keys")
        with open(keys_file, "wb") as f:
            f.write(b"".join(b"sample-%d\n" % i for i in range(nkeys)))
        seed3 = [n.decode() + "=" + str(w) for n, w in nodes_of("seed3")]
        weighted = [n.decode() + "=" + str(w) for n, w in nodes_of("seed3-weighted")]
        eq7 = [n.decode() + "=" + str(w) for n, w in nodes_of("equal-7")]
        cases = [
            # (dialect, before nodes, diff args, after nodes)
            ("python", seed3, ["--add", "192.168.0.250:11212"],
             seed3 + ["192.168.0.250:11212=1"]),
            ("python", weighted, ["--remove", "192.168.0.249:11212"],
             [s for s in weighted if not s.startswith("192.168.0.249")]),
            ("python", weighted, ["--reweight", "192.168.0.246:11212=3", "--add", "x=2"],
             ["192.168.0.246:11212=3"] + weighted[1:] + ["x=2"]),
            ("libmemcached", eq7, ["--remove", eq7[2].split("=")[0], "--add", "extra:11211=2"],
             eq7[:2] + eq7[3:] + ["extra:11211=2"]),
        ]
        cache = {}
        for dialect, before, changes, after in cases:
            def nargs(nodes):
                return ["--dialect", dialect] + [a for n in nodes for a in ("--node", n)]
            for nodes in (before, after):
                k = (dialect, tuple(nodes))
                if k not in cache:
                    cache[k] = sample_map(nargs(nodes), keys_file)
            a = cache[(dialect, tuple(before))]
            b = cache[(dialect, tuple(after))]
            check(len(a) == nkeys and len(b) == nkeys, "sampling maps returned every key")
            moved = {}
            for x, y in zip(a, b):
                if x != y:
                    moved[(x, y)] = moved.get((x, y), 0) + 1
            js = loads_exact(run_ok(nargs(before) + ["--json", "diff"] + changes))
            exact = Fraction(js["moved"]["share"])
            check(exact == Fraction(js["moved"]["positions"], TWO32), "diff share == positions/2^32")
            check(sum(p["positions"] for p in js["pairs"]) == js["moved"]["positions"],
                  "diff pairs sum to moved")

            def within(p_exact, count, what):
                p = float(p_exact)
                seen = count / nkeys
                sigma = math.sqrt(max(p * (1 - p), 1e-12) / nkeys)
                ok = abs(seen - p) <= 4 * sigma + 1e-9
                check(ok, "%s: exact %.6f, sampled %.6f (%.1f sigma)" %
                      (what, p, seen, abs(seen - p) / sigma))
                return abs(seen - p) / sigma

            label = "diff %s %s" % (dialect, " ".join(changes))
            worst = within(exact, sum(moved.values()), label + " moved")
            pairs = {(p["from"].encode(), p["to"].encode()): Fraction(p["share"])
                     for p in js["pairs"]}
            for pair in set(pairs) | set(moved):
                worst = max(worst, within(pairs.get(pair, 0), moved.get(pair, 0),
                                          label + " %r" % (pair,)))
            # The text form carries the same exact figures.
            out = run_ok(nargs(before) + ["diff"] + changes).rstrip(b"\n").split(b"\n")
            head = out[0].split(b"\t")
            check(head[0] == b"moved" and percent_ok(head[1], exact)
                  and int(head[2]) == js["moved"]["positions"], "diff text moved line")
            tpairs = {(r[0], r[1]): int(r[3]) for r in (l.split(b"\t") for l in out[1:])
                      if percent_ok(r[2], Fraction(int(r[3]), TWO32))}
            check(tpairs == {k: int(v * TWO32) for k, v in pairs.items()},
                  "diff text pairs = json pairs")
            print("%s: moved %.6f exact, %.6f in %d sampled keys; %d pairs; worst %.2f sigma"
                  % (label, float(exact), sum(moved.values()) / nkeys, nkeys, len(pairs), worst))
        # Python, equal weights, adding one node to n: everything that moves
        # goes to the new node (the dialect keeps 40 hashes per node).
        js = loads_exact(run_ok(ring_args("equal-7") + ["--json", "diff", "--add", "new"]))
        check(js["pairs"] and all(p["to"] == "new" for p in js["pairs"]),
              "python: adding an equal node moves keys only to it")
        check(abs(float(Fraction(js["moved"]["share"])) - 1 / 8) < 0.05,
              "python: adding an 8th equal node moves about 1/8 (%s)" % js["moved"]["share"])
        # A change that changes nothing moves nothing.
        js = loads_exact(run_ok(ring_args("seed3-weighted") +
                                ["--json", "diff", "--reweight", "192.168.0.247:11212=2"]))
        check(js["moved"]["positions"] == 0 and js["pairs"] == [], "no-op reweight moves nothing")


def group_demo():
    s3 = {r[0]: r[1] for r in read_tsv(os.path.join(vdir("seed3"), "python.get.tsv"))}
    checked = 0
    for dialect in DIALECTS:
        f1 = os.path.join(vdir("seed3"), dialect + ".get.tsv")
        f2 = os.path.join(vdir("seed3-weighted"), dialect + ".get.tsv")
        if not (os.path.exists(f1) and os.path.exists(f2)):
            continue
        peer = [dict((r[0], r[1]) for r in read_tsv(f)) for f in (f1, f2)]
        js = loads_exact(run_ok(["--dialect", dialect, "--json", "demo"]))
        check(js["dialect"] == dialect, "demo dialect")
        check([r["name"] for r in js["rings"]] == ["unweighted", "weighted"], "demo rings")
        for ring, want, wts in zip(js["rings"], peer, ([1, 1, 1], [1, 2, 1])):
            check([n["node"] for n in ring["nodes"]] ==
                  ["192.168.0.246:11212", "192.168.0.247:11212", "192.168.0.249:11212"],
                  "demo servers")
            check([n["weight"] for n in ring["nodes"]] == wts, "demo weights")
            check(sum(n["positions"] for n in ring["nodes"]) == TWO32, "demo shares sum")
            check(len(ring["placements"]) >= 3, "demo places a few keys")
            for p in ring["placements"]:
                check(want[p["key"].encode()] == p["node"].encode(),
                      "demo %s %s: %s on %s, the peer %s" % (dialect, ring["name"], p["key"],
                                                             p["node"], want[p["key"].encode()]))
                checked += 1
            rm = ring["remove"]
            check(rm["node"] == "192.168.0.249:11212", "demo removes .249")
            check(sum(p["positions"] for p in rm["pairs"]) == rm["moved"]["positions"],
                  "demo pairs sum to moved")
            for k in rm["keys_moved"]:
                check(want[k["key"].encode()] == k["from"].encode(), "demo moved key's origin")
        if dialect == "python":
            # Exact shares by hand from Python's own continuum dumps.
            for ring, folder in zip(js["rings"], ("seed3", "seed3-weighted")):
                pc = PeerContinuum(os.path.join(vdir(folder), "python.continuum.tsv"), "python")
                want = pc.exact_shares()
                for n in ring["nodes"]:
                    check(n["positions"] == want[n["node"].encode()],
                          "demo python %s share of %s" % (ring["name"], n["node"]))
            # Unweighted python keeps 40 hashes per node when one leaves:
            # exactly the removed server's share moves, none elsewhere.
            un = js["rings"][0]
            gone = [n for n in un["nodes"] if n["node"] == "192.168.0.249:11212"][0]
            check(un["remove"]["moved"]["positions"] == gone["positions"]
                  and all(p["from"] == "192.168.0.249:11212" for p in un["remove"]["pairs"]),
                  "demo: removing from the unweighted ring moves only its keys")
    # The text form shows the same placements (python).
    out = run_ok(["demo"]).decode().split("\n")
    keyl = [l.split("\t") for l in out if l.startswith("key") and l.count("\t") == 1]
    first = keyl[:8]
    check(first and all(s3[k.encode()] == n.encode() for k, n in first),
          "demo text placements (ring 1) match Python's")
    check(any(l.startswith("moved\t") for l in out), "demo text shows what moves")
    # node rows: exact positions, then percentages (the JSON's exact shares)
    js = loads_exact(run_ok(["--json", "demo"]))
    rows = [l.split("\t") for l in out if l.startswith("192.168.0.") and l.count("\t") == 5]
    want = [n for r in js["rings"] for n in r["nodes"]]
    check(len(rows) == 6 and all(
        int(r[3]) == n["positions"] and percent_ok(r[4].encode(), Fraction(n["share"]))
        and percent_ok(r[5].encode(), Fraction(n["weight"], sum(m["weight"] for m in ring["nodes"])))
        for r, n, ring in zip(rows, want, [js["rings"][0]] * 3 + [js["rings"][1]] * 3)),
        "demo text node rows: %r" % rows)
    print("demo: %d placements compared with peers" % checked)


def expect_error(args, stdin=b"", what=None, rc_want=2):
    rc, out, err = run(args, stdin)
    lines = err.decode("utf-8", "replace").split("\n")
    ok = (rc == rc_want and out == b"" and len(lines) == 2 and lines[1] == ""
          and lines[0].startswith("hash-ring: ") and len(lines[0]) > 15)
    check(ok, "%s: want exit %d, one stderr line, empty stdout; got %d, %r, stdout %r"
          % (what or args, rc_want, rc, err, out[:80]))


def group_errors():
    n3 = ring_args("seed3")
    with tempfile.TemporaryDirectory() as tmp:
        badw = os.path.join(tmp, "badw")
        with open(badw, "w") as f:
            f.write("a 1\nb x\n")
        dup = os.path.join(tmp, "dup")
        with open(dup, "w") as f:
            f.write("a\na\n")
        zero = os.path.join(tmp, "zero")
        with open(zero, "w") as f:
            f.write("a 0\nb 0\n")
        cases = [
            (["--dialect", "nosuch", "--node", "a", "get", "k"], "unknown dialect"),
            (["--dialect"], "option without value"),
            (["--node", "a=x", "get", "k"], "bad weight"),
            (["--node", "a=-1", "get", "k"], "negative weight"),
            (["--node", "a=4294967296", "get", "k"], "weight too large"),
            (["--node", "a=", "get", "k"], "empty weight"),
            (["--node", "=3", "get", "k"], "empty name"),
            (["--node", "a", "--node", "a", "get", "k"], "duplicate node"),
            (["get", "k"], "no nodes"),
            (["--nodes-file", zero, "get", "k"], "every weight 0"),
            (["--nodes-file", os.path.join(tmp, "missing"), "get", "k"], "missing file"),
            (["--nodes-file", tmp, "get", "k"], "directory as nodes file"),
            (["--nodes-file", badw, "get", "k"], "bad weight in file"),
            (["--nodes-file", dup, "get", "k"], "duplicate in file"),
            (n3 + ["replicas", "0", "k"], "N = 0"),
            (n3 + ["replicas", "x", "k"], "N not a number"),
            (n3 + ["replicas", "-2", "k"], "negative N"),
            (n3 + ["replicas", "99999999999999999999", "k"], "N too large"),
            (n3 + ["replicas"], "replicas without N"),
            (n3 + ["replicas", "2"], "replicas without keys"),
            (n3 + ["get"], "get without keys"),
            (n3 + ["frobnicate"], "unknown command"),
            (n3 + ["--bogus", "get", "k"], "unknown option"),
            (n3 + ["-x", "get", "k"], "unknown short option"),
            (["--json=yes", "--node", "a", "get", "k"], "--json with a value"),
            (["--help=x"], "--help with a value"),
            (["-h=x"], "-h with a value"),
            (["--version=1"], "--version with a value"),
            (n3, "no command"),
            (n3 + ["map", "extra"], "map with an argument"),
            (n3 + ["continuum", "extra"], "continuum with an argument"),
            (n3 + ["stats", "extra"], "stats with an argument"),
            (n3 + ["diff"], "diff without a change"),
            (n3 + ["diff", "--frob", "x"], "diff unknown option"),
            (n3 + ["diff", "--add"], "diff --add without value"),
            (n3 + ["diff", "--add", "x=y"], "diff --add bad weight"),
            (n3 + ["diff", "--add", "192.168.0.246:11212"], "diff --add existing"),
            (n3 + ["diff", "--remove", "nosuch"], "diff --remove absent"),
            (n3 + ["diff", "--reweight", "192.168.0.246:11212"], "diff --reweight no weight"),
            (n3 + ["diff", "--reweight", "nosuch=2"], "diff --reweight absent"),
            (n3 + ["diff", "--add", "ok", "--remove", "nosuch"], "diff: second change bad"),
            (n3 + ["diff", "--remove", "192.168.0.246:11212", "--remove", "192.168.0.247:11212",
                   "--remove", "192.168.0.249:11212"], "diff leaves an empty ring"),
            (["--node", "a", "demo"], "demo with --node"),
            (["--nodes-file", zero, "demo"], "demo with --nodes-file"),
            (["demo", "extra"], "demo with an argument"),
            # arguments quoted in the message hold control bytes: still one line
            (["--node", "a\nb=x", "get", "k"], "bad weight, name with a newline"),
            (["--node", "a", "get\nx", "k"], "unknown command with a newline"),
            (["--nodes-file", "no\nsuch", "get", "k"], "unreadable file, newline in path"),
            (["--node", "a\rb", "--node", "a\rb", "get", "k"], "duplicate with a CR"),
            (n3 + ["diff", "--remove", "x\ny"], "diff --remove absent, newline"),
            # an unknown option after the command is not taken for a key
            (n3 + ["get", "k", "--bogus"], "unknown option after get's keys"),
            (n3 + ["get", "-x"], "key like an option without --"),
            (n3 + ["replicas", "2", "k", "--help"], "option after replicas' keys"),
            # standard input can be read once
            (["--nodes-file", "-", "--nodes-file", "-", "stats"], "--nodes-file - twice"),
        ]
        for args, what in cases:
            expect_error(args, what=what)
            expect_error(["--json"] + args, what=what + " (--json)")
        # a duplicate says where both are
        rc, _, err = run(["--node", "b", "--nodes-file", dup, "get", "k"])
        check(rc == 2 and ("duplicate node 'a' (%s:2; first at %s:1)" % (dup, dup)).encode()
              in err, "duplicate node location: %r" % err)
        # map reads its keys from stdin: a nodes file there would eat them
        expect_error(["--nodes-file", "-", "map"], stdin=b"a\nb\n",
                     what="--nodes-file - with map")
        # after --, keys may start with '-' (and "-" alone is a key)
        rc, out, _ = run(n3 + ["get", "--", "-x", "--json"])
        check(rc == 0 and out.count(b"\n") == 2 and out.startswith(b"-x\t"), "get -- -x --json")
        rc, out, _ = run(n3 + ["get", "-"])
        check(rc == 0 and out.startswith(b"-\t"), "get -")
        # a write error on --help and --version is exit 2 as well
        if os.path.exists("/dev/full"):
            for opt in ("--help", "--version"):
                with open("/dev/full", "wb") as full:
                    p = subprocess.run(wrapper() + [ARGS.bin, opt], stdout=full,
                                       stderr=subprocess.PIPE)
                check(p.returncode == 2 and b"error writing" in p.stderr,
                      "%s to /dev/full: %d %r" % (opt, p.returncode, p.stderr))
        # a nodes file of comments and blank lines gives no nodes, which is
        # what the message says (not "every weight is 0")
        comments = os.path.join(tmp, "comments")
        with open(comments, "w") as f:
            f.write("# servers\n\n   \n# none yet\n")
        for args, want in (([["--nodes-file", comments]], "no nodes"),
                           ([["--nodes-file", zero]], "every weight is 0")):
            p = subprocess.run(wrapper() + [ARGS.bin] + args[0] + ["get", "k"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            check(p.returncode == 2 and want in p.stderr.decode(),
                  "%s: %d %r" % (want, p.returncode, p.stderr))
        # map: a read error mid-stream is an error.  Read error: stdin is a directory.
        fd = os.open(tmp, os.O_RDONLY)
        try:
            p = subprocess.run(wrapper() + [ARGS.bin] + n3 + ["map"], stdin=fd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        finally:
            os.close(fd)
        lines = p.stderr.decode().split("\n")
        check(p.returncode == 2 and p.stdout == b"" and len(lines) == 2
              and lines[0].startswith("hash-ring: map: error reading"),
              "map with unreadable stdin: %d %r" % (p.returncode, p.stderr))
    # Write error: stdout is /dev/full.
    if os.path.exists("/dev/full"):
        for cmd in (["map"], ["get", "k"], ["continuum"]):
            with open("/dev/full", "wb") as full:
                p = subprocess.run(wrapper() + [ARGS.bin] + n3 + cmd, input=b"k\n" * 10000,
                                   stdout=full, stderr=subprocess.PIPE)
            lines = p.stderr.decode().split("\n")
            check(p.returncode == 2 and len(lines) == 2 and "writing" in lines[0],
                  "%s to /dev/full: %d %r" % (cmd, p.returncode, p.stderr))
    # Help: global and per command, without nodes, exit 0, on stdout.
    rc, out, err = run(["--help"])
    check(rc == 0 and err == b"" and all(c.encode() in out for c in
          ("get", "map", "replicas", "continuum", "stats", "diff", "demo", "--dialect",
           "--node", "--nodes-file", "--json")), "--help")
    for c in ("get", "map", "replicas", "continuum", "stats", "diff", "demo"):
        rc, out, err = run([c, "--help"])
        check(rc == 0 and err == b"" and out.startswith(b"usage: hash-ring")
              and (" %s" % c).encode() in out.split(b"\n")[0], "%s --help" % c)
    rc, out, err = run(["--version"])
    check(rc == 0 and out.startswith(b"hash-ring ") and out.count(b".") >= 2, "--version")
    # The man page is installed and well formed.
    check(ARGS.man is not None and os.path.isfile(ARGS.man), "man page installed")
    if ARGS.man and os.path.isfile(ARGS.man):
        with open(ARGS.man, "rb") as f:
            page = f.read()
        check(page.startswith(b".\\\"") and b".TH HASH-RING 1" in page, "man page header")
        for c in (b"get", b"map", b"replicas", b"continuum", b"stats", b"diff", b"demo"):
            check(b"\n.B " + c in page or b"\n.BI " + c in page or b"\n.BR " + c in page,
                  "man page documents %r" % c)
        groff = "/usr/bin/groff"
        if os.path.exists(groff):
            p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", ARGS.man],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            check(p.returncode == 0 and p.stderr == b"", "groff warnings: %r" % p.stderr)
    print("errors: %d error cases, each with and without --json" % len(cases))


def group_json():
    """Byte keys and names: valid JSON, reversible escaping."""
    pc = PeerContinuum(os.path.join(vdir("seed3"), "python.continuum.tsv"), "python")
    keys = [b"plain", b'quote"back\\slash', b"ctl\x01\x1f\x7f", b"cr\r", b"tab\tin",
            "utf8 \u00e9\u4e2d\U0001f600".encode(), b"\xff", b"\xc0\xaf", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80", b"\xe2\x82", b"\xe2\x82A", b"\xf0\x9f\x98", b"\x80abc",
            b"a\x00b", b""]
    out = run_ok(ring_args("seed3") + ["--json", "map"], b"".join(k + b"\n" for k in keys))
    check(is_json_valid_strict(out), "map --json output is valid UTF-8 JSON")
    js = json.loads(out)
    check(len(js) == len(keys), "one element per key")
    for k, e in zip(keys, js):
        check(e["key"] == k.decode("utf-8", "surrogateescape"),
              "JSON key %r escaped as %r" % (k, e["key"]))
        check(e["key"].encode("utf-8", "surrogateescape") == k, "escaping reversible for %r" % k)
        check(e["node"].encode() == pc.owner(k), "placement of %r" % k)
    # Node names with bytes that are not UTF-8, through argv and JSON.
    names = [b"n\xff1", b"n\xc3\xa9", b"n\"\\2"]
    args = [a for n in names for a in (b"--node", n)]
    out = run_ok(args + [b"--json", b"stats"])
    check(is_json_valid_strict(out), "stats --json with byte names is valid JSON")
    js = json.loads(out)
    check([n["node"].encode("utf-8", "surrogateescape") for n in js["nodes"]] == names,
          "stats --json names round-trip")
    for cmd in ([b"continuum"], [b"replicas", b"3", b"k"], [b"get", b"k"],
                [b"diff", b"--add", b"x\xfe"]):
        out = run_ok(args + [b"--json"] + cmd)
        check(is_json_valid_strict(out), "%r --json valid JSON" % cmd)
    # UTF-8 names from the vectors.
    js = json.loads(run_ok(ring_args("utf8") + ["--json", "stats"]))
    check([n["node"].encode() for n in js["nodes"]] == [k for k, _ in nodes_of("utf8")],
          "UTF-8 names in JSON")
    print("json: %d byte keys checked for valid, reversible JSON" % len(keys))


def vm_hwm_kib(pid):
    """Peak resident set of a running process (its own, since exec)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def group_map_memory():
    """A million keys through map in bounded memory, streaming.

    The peak RSS is read from /proc/PID/status (VmHWM) while the tool is
    still running: the reader stops when 99% of the lines have arrived, so
    the tool has processed at least that much and is blocked writing.
    (getrusage(RUSAGE_CHILDREN) would also count the Python parent's pages,
    inherited through vfork before exec.)"""
    pc = PeerContinuum(os.path.join(vdir("seed3"), "python.continuum.tsv"), "python")
    nkeys = 1000000
    limit_kb = ARGS.rss_limit_kib
    with tempfile.TemporaryDirectory() as tmp:
        keys_file = os.path.join(tmp, "keys")
        with open(keys_file, "wb") as f:
            for base in range(0, nkeys, 10000):
                f.write(b"".join(b"million-key-%d\n" % i for i in range(base, base + 10000)))
        with open(keys_file, "rb") as fin:
            p = subprocess.Popen([ARGS.bin] + ring_args("seed3") + ["map"], stdin=fin,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            lines = 0
            sample = []
            tail = b""
            hwm = hwm10 = None
            while True:
                if hwm10 is None and lines >= nkeys // 10:
                    hwm10 = vm_hwm_kib(p.pid)
                if hwm is None and lines >= nkeys * 99 // 100:
                    hwm = vm_hwm_kib(p.pid)
                chunk = p.stdout.read1(1 << 16)
                if not chunk:
                    break
                data = tail + chunk
                parts = data.split(b"\n")
                tail = parts.pop()
                if len(sample) < 2000:
                    sample.extend(parts[:2000 - len(sample)])
                lines += len(parts)
            err = p.stderr.read()
            p.wait()
        check(p.returncode == 0 and err == b"", "map of a million keys: %r" % err)
        check(lines == nkeys and tail == b"", "map printed %d lines for %d keys" % (lines, nkeys))
        for l in sample:
            k, n = l.split(b"\t")
            check(pc.owner(k) == n, "million map: %r" % l)
        check(hwm is not None and hwm < limit_kb,
              "map peak RSS %s KiB after 99%% of a million keys (limit %d KiB)" % (hwm, limit_kb))
        # Holding the keys would add ~20 bytes a key between 10% and 99%.
        check(hwm10 is not None and hwm is not None and hwm - hwm10 < 2048,
              "map peak RSS grew from %s KiB (10%%) to %s KiB (99%%)" % (hwm10, hwm))
        print("map: %d keys, peak RSS %s KiB at 10%%, %s KiB at 99%% (limit %d), %d placements "
              "checked by hand" % (nkeys, hwm10, hwm, limit_kb, len(sample)))
    # Streaming: output arrives while stdin is still open.
    p = subprocess.Popen([ARGS.bin] + ring_args("seed3") + ["map"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = threading.Event()
    got = []

    def reader():
        while True:
            chunk = p.stdout.read1(1 << 16)
            if not chunk:
                break
            got.append(chunk)
            first.set()

    t = threading.Thread(target=reader)
    t.start()
    p.stdin.write(b"".join(b"stream-%d\n" % i for i in range(20000)))
    p.stdin.flush()
    streamed = first.wait(timeout=60)
    p.stdin.close()
    t.join(timeout=60)
    p.wait(timeout=60)
    out = b"".join(got)
    check(streamed, "map writes output before its input ends")
    check(p.returncode == 0 and out.count(b"\n") == 20000, "streaming map: every key placed")


GROUPS = {
    "lookup": group_lookup,
    "continuum": group_continuum,
    "stats": group_stats,
    "diff": group_diff,
    "demo": group_demo,
    "errors": group_errors,
    "json": group_json,
    "map_memory": group_map_memory,
}



# ---------------------------------------------------------------------------
# Issue 14: bounded input, escaped text, options anywhere, nodes file
# formats, diff between two files.

def run_limited(args, feed, as_bytes=None, timeout=120):
    """Runs the tool (no wrapper) with `feed` (a generator of chunks)
    written to its stdin from a thread, under an optional address-space
    limit; returns (rc, stdout, stderr)."""
    import resource

    def limit():
        if as_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (as_bytes, as_bytes))
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        p = subprocess.Popen([ARGS.bin] + args, stdin=subprocess.PIPE, stdout=fo, stderr=fe,
                             preexec_fn=limit)

        def writer():
            try:
                for chunk in feed:
                    p.stdin.write(chunk)
                p.stdin.close()
            except (BrokenPipeError, ValueError, OSError):
                pass
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = None
        t.join(30)
        fo.seek(0)
        fe.seek(0)
        return rc, fo.read(), fe.read()


def one_error_line(err, needle):
    lines = err.decode("utf-8", "replace").split("\n")
    return len(lines) == 2 and lines[0].startswith("hash-ring: ") and needle in lines[0]


def group_input_bounds():
    n3 = ring_args("seed3")
    pc = PeerContinuum(os.path.join(vdir("seed3"), "python.continuum.tsv"), "python")
    big = 1048576
    # map: a line at the bound is a key; one byte more is an error (exit 2,
    # a message), not a truncation and not the end of input
    out = run_ok(n3 + ["map"], b"a\n" + b"k" * big + b"\nb\n")
    check(out == b"a\t" + pc.owner(b"a") + b"\n" + b"k" * big + b"\t" + pc.owner(b"k" * big)
          + b"\nb\t" + pc.owner(b"b") + b"\n", "map: a line of 1048576 bytes is a key")
    for js in ([], ["--json"]):
        rc, out, err = run(js + n3 + ["map"], b"a\n" + b"k" * (big + 1) + b"\nb\n")
        check(rc == 2 and one_error_line(err, "line 2 is longer than 1048576 bytes")
              and b"b" not in out.replace(b"192.168.0.2", b""),
              "map: line above the bound%s: %r %r %r" % (js, rc, err, out[:100]))
    # the case: a line too big to allocate (here: a 512 MiB line
    # under a 256 MiB address-space limit) is an error, not end of input
    if not ARGS.sanitize and not wrapper():
        chunk = b"x" * (1 << 20)
        feed = iter([b"a\n"] + [chunk] * 512 + [b"\nb\n"])
        rc, out, err = run_limited(n3 + ["map"], feed, as_bytes=256 << 20)
        check(rc == 2 and b"longer than" in err and not out.endswith(b"\n]\n"),
              "map: a 512 MiB line under a 256 MiB limit: %r %r" % (rc, err))
        rc, out, err = run_limited(n3 + ["--json", "map"], iter([b"a\n"] + [chunk] * 512 + [b"\nb\n"]),
                                   as_bytes=256 << 20)
        check(rc == 2 and not is_json_valid_strict(out),
              "map --json: the array is not completed after the error: %r %r" % (rc, err))
    with tempfile.TemporaryDirectory() as tmp:
        # nodes file: a line above 4096 bytes, followed by nodes: refused
        f = os.path.join(tmp, "long")
        with open(f, "wb") as fh:
            fh.write(b"a\n" + b"n" * 4097 + b"\nb\nc\n")
        rc, out, err = run(["--nodes-file", f, "stats"])
        check(rc == 2 and out == b"" and one_error_line(err, "%s:2: line longer than 4096" % f),
              "nodes file: a line above 4096 bytes: %r %r" % (rc, err))
        with open(f, "wb") as fh:
            fh.write(b"a\n" + b"n" * 4096 + b"\nb\n")
        rc, out, err = run(["--nodes-file", f, "stats"])
        check(rc == 0 and out.count(b"\n") == 4, "nodes file: a line of 4096 bytes is a node")
    # /dev/zero: one endless line, refused at once
    if os.path.exists("/dev/zero"):
        rc, out, err = run(["--nodes-file", "/dev/zero", "stats"])
        check(rc == 2 and one_error_line(err, "line longer than 4096"),
              "--nodes-file /dev/zero: %r %r" % (rc, err))
    # an endless stream of short lines: the file bound stops it
    rc, out, err = run_limited(["--nodes-file", "-", "stats"],
                               iter(lambda: b"# comment\n" * 100000, None), timeout=300)
    check(rc == 2 and one_error_line(err, "larger than 67108864 bytes"),
          "--nodes-file - of endless comments: %r %r" % (rc, err[:200]))
    # the case for nodes files: a line too big to allocate drops
    # no node silently
    if not ARGS.sanitize and not wrapper():
        chunk = b"x" * (1 << 20)
        rc, out, err = run_limited(["--nodes-file", "-", "stats"],
                                   iter([b"a\n"] + [chunk] * 512 + [b"\nb\n"]),
                                   as_bytes=256 << 20)
        check(rc == 2 and b"longer than 4096" in err and out == b"",
              "nodes file: a 512 MiB line under a 256 MiB limit: %r %r" % (rc, err))
    print("input_bounds: map and nodes-file bounds checked")


def group_text_escaping():
    names = [b"tab\there", b"nl\nhere", b"esc\x1b[31mred", b"back\\slash", b"c1\xc2\x9bx",
             b"bad\xffutf8", "caf\u00e9".encode()]
    args = []
    for n in names:
        args += ["--node", n.decode("utf-8", "surrogateescape")]
    env_args = [a.encode("utf-8", "surrogateescape") if isinstance(a, str) else a for a in args]
    keys = [b"k\tforged\tcol", b"k2\nforged", b"k3"]

    def lines_ok(out, nrec, ncol, what):
        ls = out.rstrip(b"\n").split(b"\n")
        check(len(ls) == nrec and all(l.count(b"\t") == ncol - 1 for l in ls)
              and b"\x1b" not in out and b"\xc2\x9b" not in out and b"\xff" not in out,
              "%s: %d records of %d columns, no control bytes: %r" % (what, nrec, ncol, out[:300]))
        return ls
    ls = lines_ok(run_ok(env_args + ["get", "--"] + keys), 3, 2, "get")
    js = json.loads(run_ok(env_args + ["--json", "get", "--"] + keys).decode("utf-8", "surrogatepass"))
    for l, k, j in zip(ls, keys, js):
        owner = j["node"].encode("utf-8", "surrogateescape")
        check(l == esc(k) + b"\t" + esc(owner), "get: escaped %r" % l)
    out = run_ok(env_args + ["map"], b"k\tforged\tcol\nk3\x1b]0;title\x07\n")
    lines_ok(out, 2, 2, "map")
    lines_ok(run_ok(env_args + ["replicas", "3", "--"] + keys), 3, 4, "replicas")
    out = run_ok(env_args + ["continuum"])
    lines_ok(out, len(json.loads(run_ok(env_args + ["--json", "continuum"]))), 2, "continuum")
    out = run_ok(env_args + ["stats"])
    ls = lines_ok(out, 8, 0, "stats") if False else out.rstrip(b"\n").split(b"\n")
    check(len(ls) == 8 and all(l.count(b"\t") == 5 for l in ls[:7])
          and [l.split(b"\t")[0] for l in ls[:7]] == [esc(n) for n in names],
          "stats: names escaped: %r" % ls)
    out = run_ok(env_args + ["diff", "--add", "new"])
    ls = out.rstrip(b"\n").split(b"\n")
    check(all(l.count(b"\t") == 3 for l in ls[1:]) and b"\x1b" not in out,
          "diff: names escaped: %r" % out[:300])
    print("text_escaping: get, map, replicas, continuum, stats, diff")


def group_options():
    n3 = ring_args("seed3")
    base = run_ok(n3 + ["--json", "get", "a", "b"])
    for args in (["get", "a", "b"] + n3 + ["--json"], ["get", "--json", "a"] + n3 + ["b"],
                 ["--json", "get"] + n3 + ["a", "b"]):
        check(run_ok(args) == base, "options after the command: %r" % args)
    # the example: stats --node a
    check(run_ok(["--node", "a", "stats"]) == run_ok(["stats", "--node", "a"]), "stats --node a")
    rc, out, err = run(["stats", "--node", "a"])
    check(rc == 0 and b"no nodes" not in err, "stats --node a: %r" % err)
    # "--" ends them: after it, an option-like argument is a key
    rc, out, err = run(n3 + ["get", "--", "--json", "--node"])
    check(rc == 0 and out.startswith(b"--json\t") and out.count(b"\n") == 2, "get -- --json")
    # diff's own options keep their values, even option-like ones
    js = loads_exact(run_ok(["diff", "--add", "--node=3"] + n3 + ["--json"]))
    check(any(p["to"] == "--node" for p in js["pairs"]), "diff --add --node=3: %r" % js)
    # dialect names in any case
    for d in ("LIBKETAMA", "LibKetama", "Hashring-Python"):
        check(run_ok(n3[2:] + ["--dialect", d, "continuum"]) ==
              run_ok(n3[2:] + ["--dialect", d.lower(), "continuum"]), "--dialect %s" % d)
    print("options: anywhere before --, dialects in any case")


def group_nodes_formats():
    with tempfile.TemporaryDirectory() as tmp:
        def nf(text):
            path = os.path.join(tmp, "n%d" % len(os.listdir(tmp)))
            with open(path, "w") as f:
                f.write(text)
            return path
        # twemproxy: host:port:weight [name]; the node is the name, else host:port
        tw = nf("# twemproxy servers\n127.0.0.1:11212:2 server1\n127.0.0.1:11213:1\n"
                "[::1]:11214:3\n")
        want = ["--node", "server1=2", "--node", "127.0.0.1:11213=1", "--node", "[::1]:11214=3"]
        for d in ("twemproxy", "libmemcached", "python"):
            check(run_ok(["--dialect", d, "--nodes-file", tw, "--json", "stats"]) ==
                  run_ok(["--dialect", d] + want + ["--json", "stats"]),
                  "twemproxy lines, %s" % d)
        js = loads_exact(run_ok(["--nodes-file", tw, "--json", "stats"]))
        check([(n["node"], n["weight"]) for n in js["nodes"]] ==
              [("server1", 2), ("127.0.0.1:11213", 1), ("[::1]:11214", 3)],
              "twemproxy lines read as nodes: %r" % js["nodes"])
        # libmemcached / libketama: host:port weight
        lm = nf("10.0.0.1:11211 3\n10.0.0.2:11211\t1\r\n")
        check(run_ok(["--nodes-file", lm, "--json", "stats"]) ==
              run_ok(["--node", "10.0.0.1:11211=3", "--node", "10.0.0.2:11211=1", "--json",
                      "stats"]), "host:port weight lines")
        # refused, never guessed: ambiguous, three fields, bad weights
        for text, needle in (("a:1:2 5\n", "ambiguous"), ("a b c\n", "more than two fields"),
                             ("h:1:99999999999\n", "bad weight"), ("h:1:2 x y\n", "more than two"),
                             ("a b\n", "bad weight")):
            rc, out, err = run(["--nodes-file", nf(text), "stats"])
            check(rc == 2 and out == b"" and one_error_line(err, needle),
                  "nodes line %r: %r %r" % (text, rc, err))
    print("nodes_formats: twemproxy, libmemcached, refusals")


def group_diff_files():
    with tempfile.TemporaryDirectory() as tmp:
        a = os.path.join(tmp, "a")
        b = os.path.join(tmp, "b")
        with open(a, "w") as f:
            f.write("s1:11211\ns2:11211 2\ns3:11211\n")
        with open(b, "w") as f:
            f.write("s1:11211\ns2:11211 2\ns4:11211 3\n")
        for d in ("python", "libmemcached"):
            want = run_ok(["--dialect", d, "--nodes-file", a, "--json", "diff", "--remove",
                           "s3:11211", "--add", "s4:11211=3"])
            check(run_ok(["--dialect", d, "--json", "diff", "--from", a, "--to", b]) == want,
                  "diff --from --to = the same changes (%s)" % d)
            check(run_ok(["--dialect", d, "--json", "diff", "--from", a, "--remove", "s3:11211",
                          "--add", "s4:11211=3"]) == want, "diff --from with changes (%s)" % d)
            check(run_ok(["--dialect", d, "--nodes-file", a, "--json", "diff", "--to", b]) == want,
                  "diff ring options --to (%s)" % d)
        # exact, by hand: each ring's continuum (checked against the peers
        # by the continuum group) and the dialect's lookup rule; every
        # position of the union and every gap between them, as Python ints
        for d in ("python", "libketama", "libmemcached", "hashring"):
            def cont(f):
                rows = [l.split(b"\t") for l in run_ok(["--dialect", d, "--nodes-file", f,
                                                          "continuum"]).split(b"\n")[:-1]]
                pts, own = [], []
                for r in rows:
                    if not pts or pts[-1] != int(r[0]):   # the first listed wins
                        pts.append(int(r[0]))
                        own.append(r[1])
                return pts, own

            def owner(ring, pos):
                pts, own = ring
                i = (bisect.bisect_right if lookup_rule(d) == ">" else bisect.bisect_left)(pts, pos)
                return own[i % len(pts)]
            ra, rb = cont(a), cont(b)
            u = sorted(set(ra[0]) | set(rb[0]))
            moved = {}
            for k, p in enumerate(u):
                nxt = u[k + 1] if k + 1 < len(u) else u[0] + TWO32
                for pos, cnt in ((p, 1), ((p + 1) % TWO32, nxt - p - 1)):
                    x, y = owner(ra, pos), owner(rb, pos)
                    if cnt and x != y:
                        moved[(x, y)] = moved.get((x, y), 0) + cnt
            js = loads_exact(run_ok(["--dialect", d, "--json", "diff", "--from", a, "--to", b]))
            got = {(q["from"].encode(), q["to"].encode()): q["positions"] for q in js["pairs"]}
            check(got == moved and js["moved"]["positions"] == sum(moved.values()),
                  "diff %s exact by hand: %r, want %r" % (d, got, moved))
        for args, needle in ((["--node", "x", "diff", "--from", a, "--to", b], "--from"),
                             (["diff", "--to", b], "--to needs"),
                             (["diff", "--from", a, "--to", b, "--add", "z"], "--to gives"),
                             (["diff", "--from", os.path.join(tmp, "none"), "--to", b],
                              "cannot read"),
                             (["diff", "--from", a, "--from", a, "--to", b], "twice")):
            rc, out, err = run(args)
            check(rc == 2 and out == b"" and one_error_line(err, needle),
                  "diff %r: %r %r" % (args, rc, err))
    print("diff_files: --from / --to")


def group_man_page():
    """The man page covers every command, mc included, and the bounds."""
    check(ARGS.man is not None and os.path.isfile(ARGS.man), "man page installed")
    with open(ARGS.man, "rb") as f:
        page = f.read()
    for word in (b"\n.B mc", b"1048576", b"4096", b"64\\ MiB", b"--strip-cr", b"--from",
                 b"--to", b"HOST:PORT:WEIGHT", b"1048000", b"--raw", b"--no-failover"):
        roff = word.replace(b"-", b"\\-") if word.startswith(b"--") else word
        check(roff in page, "man page mentions %r" % word)
    check(b"\n.SH NODES FILES" in page, "man page has NODES FILES")
    # The mc get --json fields as a reader sees them (groff's parsing of
    # macro arguments easily eats quotes).
    groff = "/usr/bin/groff"
    if os.path.exists(groff):
        p = subprocess.run([groff, "-man", "-Tutf8", "-P-cbou", ARGS.man],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        text = b" ".join(p.stdout.split())
        for f in (b"key", b"value", b"server", b"owner", b"failed", b"error"):
            check(b'"' + f + b'"' in text, "man page shows mc get --json field %r" % f)
    print("man_page: checked")


GROUPS.update({"input_bounds": group_input_bounds, "text_escaping": group_text_escaping,
               "options": group_options, "nodes_formats": group_nodes_formats,
               "diff_files": group_diff_files, "man_page": group_man_page})

def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("group", choices=sorted(GROUPS))
    ap.add_argument("--bin", required=True)
    ap.add_argument("--vectors", required=True)
    ap.add_argument("--man")
    ap.add_argument("--rss-limit-kib", type=int, default=20 * 1024)
    ap.add_argument("--sanitize", default="",
                    help="HASH_RING_SANITIZE of the build (address-space limits are skipped)")
    ARGS = ap.parse_args()
    if not os.access(ARGS.bin, os.X_OK):
        print("installed binary %s missing (the cli_install fixture failed?)" % ARGS.bin,
              file=sys.stderr)
        return 1
    GROUPS[ARGS.group]()
    print("%s: %d checks, %d failed" % (ARGS.group, CHECKS[0], len(FAILURES)))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
