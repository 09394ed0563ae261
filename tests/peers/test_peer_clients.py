#!/usr/bin/env python3
"""The dialects of src/DIALECTS.md "More clients" against the real clients.

    test_peer_clients.py --client NAME --map HR_PEER_MAP [options]

NAME: spymemcached, spymemcached-weighted, uhashring, node-memcached, nginx,
cache-memcached-fast, dalli, pecl-memcache.  Each client is the installed
one (Debian packages, npm memcached 2.x in --modules), driven by its own
small harness in clients/ or, for nginx, by a configuration written here:

  asked:   spymemcached (its KetamaConnectionFactory's locator), uhashring
           (get_node), npm memcached (the client's HashRing.get), Dalli
           (Ring#server_for_key, with every server alive), PHP Memcache
           (findServer);
  written: npm memcached, Dalli, PHP Memcache, Cache::Memcached::Fast and
           nginx (memcached_pass) store keys in memcached daemons started
           here on 127.0.0.x / unix sockets, read back per daemon (nginx: every
           daemon holds every key with its own identity as the value, and
           the reply says which daemon nginx asked).

Pools are random (seeded; the seed is printed and HR_PEER_SEED repeats a
run): weights, port 11211 (daemons on 127.0.0.x:11211 where that port is
free), host names that resolve locally (localhost), unix sockets where the
client has them.  Keys: random printable keys of 1-250 bytes, keys whose
position is exactly a point (from the committed exact_hits_p3.txt for the
MD5 rings, forged through CRC-32's linearity for the CRC rings), and two-
node rings whose nodes share a point where the client defines the owner.
Every placement must equal the library's (hr_peer_map DIALECT).

The rules written out below (model_*) come from src/DIALECTS.md and use none of
the library's code; they only FIND inputs (which points exist, so that a key
can be made to hit one) and, with --against model, check that this harness
drives each client as the reference placements were made.  The expectation
is always the client's answer.

Exit 0 pass, 1 fail, 77 skip (the client is not installed).
"""
import argparse
import hashlib
import http.client
import ipaddress
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import zlib

sys.dont_write_bytecode = True  # importing peerlib writes no __pycache__ into the sources
from peerlib import (PROCS, PortTaken, Memcached, connect, find_tool, free_ports,
                     owns_listener, port_is_free, read_back, start, stop, stop_all,
                     wait_listening)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS_DIR = os.path.join(HERE, "clients")
LO = "127.0.0.1"


# ---- the rules, from src/DIALECTS.md (inputs and self-checks only) -------------

def md5w(s, i):
    return struct.unpack_from("<I", hashlib.md5(s).digest(), 4 * i)[0]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def md5_points(name, digests):
    out = []
    for j in range(digests):
        out += struct.unpack("<4I", hashlib.md5(name + b"-%d" % j).digest())
    return out


def ring_from(points_per_node, ge, later_wins):
    """Sorted (point, owner) with one owner per point as the tie rule says."""
    owner = {}
    for idx, pts in enumerate(points_per_node):
        for p in pts:
            if later_wins or p not in owner:
                owner[p] = idx
    pts = sorted(owner.items())
    return pts, ge, [p for p, _ in pts]


def lookup(ring, pos):
    import bisect
    pts, ge, keys = ring
    i = bisect.bisect_left(keys, pos) if ge else bisect.bisect_right(keys, pos)
    return pts[i % len(pts)][1]


def spy_digests(weights, weighted):
    if not weighted:
        return [40] * len(weights)
    def java_int(v):  # the client sums Integer weights in an int
        v &= 0xffffffff
        return v - (1 << 32) if v >> 31 else v
    total, n = java_int(sum(weights)), len(weights)
    out = []
    for w in weights:
        pct = f32(f32(java_int(w)) / f32(total))
        c = f32(f32(f32(pct * f32(160.0)) / f32(4.0)) * f32(n))
        out.append(min(40 * (n + 10), max(0, int(f32(c + 1e-10) // 1))))
    return out


def js_number(text):
    """JavaScript's unary + on a string, for the forms a server string has."""
    t = text.strip()
    if t == "":
        return 0.0
    try:
        if t[:2].lower() == "0x":
            return float(int(t[2:], 16))
        if all(c in "0123456789+-.eE" for c in t):
            return float(t)
    except ValueError:
        pass
    return float("nan")


def node_memcached_name(server):
    parts = server.split(b":")
    if len(parts) > 1 and js_number(parts[1].decode("latin-1")) == 11211:
        return parts[0]
    return server


def crc_chain_points(name, count, nginx):
    host, sep, port = name.rpartition(b":")
    if nginx and name[:5].lower() == b"unix:":
        host, port = name[5:], b""
    elif not sep or (nginx and not port.isdigit()):
        host, port = name, b""
    state = zlib.crc32(host + b"\0" + port)
    out, prev = [], 0
    for _ in range(count):
        prev = zlib.crc32(struct.pack("<I", prev), state)
        out.append(prev)
    return out


def dalli_points(name, entries):
    return [int(hashlib.sha1(name + b":%d" % i).hexdigest()[:8], 16) for i in range(entries)]


def dalli_lookup(points, pos):
    """points: sorted (value, owner); the last point <= pos, else the last."""
    import bisect
    vals = [p for p, _ in points]
    return points[bisect.bisect_right(vals, pos) - 1][1]


def pecl_key(key):
    return bytes(0x5F if c <= 0x20 else c for c in key)[:250]


def model(client, names, weights, keys):
    """The owner index per key by the rule written out (names: as hashed)."""
    n = len(names)
    if client in ("spymemcached", "spymemcached-weighted"):
        d = spy_digests(weights, client.endswith("weighted"))
        ring = ring_from([md5_points(s, d[i]) for i, s in enumerate(names)], True, True)
        return [lookup(ring, md5w(k, 0)) for k in keys]
    if client == "uhashring":
        total = sum(weights)
        ring = ring_from([md5_points(s, (40 * n * w) // total) for s, w in zip(names, weights)],
                         False, True)
        return [lookup(ring, md5w(k, 0)) for k in keys]
    if client == "node-memcached":
        ws = [w if w else 1 for w in weights]
        total = sum(ws)
        ring = ring_from([md5_points(node_memcached_name(s), int(w / total * 40 * n // 1))
                          for s, w in zip(names, ws)], True, False)
        return [lookup(ring, md5w(k, 0)) for k in keys]
    if client in ("nginx", "cache-memcached-fast"):
        ring = ring_from([crc_chain_points(s, 160 * w, client == "nginx")
                          for s, w in zip(names, weights)], True, False)
        return [lookup(ring, zlib.crc32(k)) for k in keys]
    if client == "dalli":
        if n == 1:
            return [0] * len(keys)
        names = dalli_hashed(names)
        total = sum(weights)
        pts = sorted((p, i) for i, (s, w) in enumerate(zip(names, weights))
                     for p in dalli_points(s, int((n * 160 * w) / float(total) // 1)))
        return [dalli_lookup(pts, zlib.crc32(k)) for k in keys]
    if client == "pecl-memcache":
        def pecl_hashed(s):  # the port as the client keeps it: an unsigned short
            host, sep, port = s.rpartition(b":")
            if sep and host and port.isdigit():
                return host + b":%d" % (int(port) & 0xFFFF)
            return s + b":11211"
        names = [pecl_hashed(s) for s in names]
        ring = ring_from([[zlib.crc32(s + b"-%d" % i) for i in range(160 * w & 0xFFFFFFFF)]
                          for s, w in zip(names, weights)], True, False)
        buckets = [lookup(ring, b * (0xFFFFFFFF // 1024)) for b in range(1024)]
        return [buckets[zlib.crc32(pecl_key(k)) % 1024] for k in keys]
    raise ValueError(client)


def all_points(client, names, weights):
    """Every point of the ring (for exact-hit keys)."""
    n, total = len(names), sum(weights)
    if client in ("nginx", "cache-memcached-fast"):
        return sorted({p for s, w in zip(names, weights)
                       for p in crc_chain_points(s, 160 * w, client == "nginx")})
    if client == "dalli":
        return sorted({p for s, w in zip(names, weights)
                       for p in dalli_points(s, int((n * 160 * w) / float(total) // 1))})
    raise ValueError(client)


# ---- keys --------------------------------------------------------------------

PRINTABLE = bytes(range(0x21, 0x7F))


def random_keys(rng, count, alphabet=PRINTABLE):
    keys = set()
    while len(keys) < count:
        length = rng.choice((rng.randrange(1, 17), rng.randrange(1, 61), rng.randrange(1, 251)))
        keys.add(bytes(rng.choice(alphabet) for _ in range(length)))
    return sorted(keys, key=lambda k: rng.random())


def crc_forge(rng, target, prefix=b"hit-"):
    """A printable key whose CRC-32 is target.  CRC-32 is affine in the
    message bits, so flipping bit 0 of 40 chosen characters gives 40 vectors;
    a solution of the 32x40 system over GF(2) makes the key (each character
    and its bit-0 twin are both printable)."""
    while True:
        body = bytearray(rng.choice(b"BDFHJLNPRTVXZbdfhjlnprtvxz") for _ in range(40))
        base = zlib.crc32(prefix + bytes(body))
        rows = []  # (vector, mask of positions)
        for i in range(40):
            body[i] ^= 1
            rows.append((zlib.crc32(prefix + bytes(body)) ^ base, 1 << i))
            body[i] ^= 1
        basis = {}  # pivot bit -> (vector, mask)
        for v, m in rows:
            for bit in range(31, -1, -1):
                if not (v >> bit) & 1:
                    continue
                if bit in basis:
                    v ^= basis[bit][0]
                    m ^= basis[bit][1]
                else:
                    basis[bit] = (v, m)
                    break
        want, mask = target ^ base, 0
        for bit in range(31, -1, -1):
            if (want >> bit) & 1:
                if bit not in basis:
                    break
                want ^= basis[bit][0]
                mask ^= basis[bit][1]
        if want != 0:
            continue
        for i in range(40):
            if (mask >> i) & 1:
                body[i] ^= 1
        key = prefix + bytes(body)
        assert zlib.crc32(key) == target
        return key


def read_pairs(path, families):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fam, point, a, b, hit = line.rstrip("\n").split("\t")
            if fam in families:
                out.append((fam, int(point), a.encode(), b.encode(),
                            None if hit == "-" else hit.encode()))
    return out


# ---- comparing with the library ------------------------------------------------

class Run:
    def __init__(self, args):
        self.args = args
        self.total = 0
        self.agree = 0
        self.configs = 0
        self.shared = 0
        self.exact = 0

    def compare(self, title, lib_names, weights, keys, got, dialect=None):
        """got: the client's owner index per key."""
        if len(got) != len(keys):
            raise RuntimeError("%s: the client answered %d keys of %d" % (title, len(got),
                                                                          len(keys)))
        if self.args.against == "model":
            exp = model(self.args.client, lib_names, weights, keys)
            what = "model"
        else:
            exp = self.library(lib_names, weights, keys, dialect)
            what = "library"
        bad = [i for i in range(len(keys)) if exp[i] != got[i]]
        for i in bad[:5]:
            print("  MISMATCH %s: key %r: %s %s, client %s" % (
                title, keys[i], what, lib_names[exp[i]] if exp[i] is not None else "?",
                lib_names[got[i]]))
        per = [0] * len(lib_names)
        for i in got:
            per[i] += 1
        shown = per if len(per) <= 30 else "%d..%d, %d own none" % (min(per), max(per),
                                                                    per.count(0))
        print("%s %-44s %2d servers: %d/%d keys agree (per server %s)" % (
            self.args.client, title, len(lib_names), len(keys) - len(bad), len(keys), shown))
        sys.stdout.flush()
        self.total += len(keys)
        self.agree += len(keys) - len(bad)
        self.configs += 1

    def library(self, names, weights, keys, dialect):
        with tempfile.NamedTemporaryFile("wb", suffix=".tsv", delete=False) as f:
            for s, w in zip(names, weights):
                f.write(s + b"\t%d\n" % w)
            path = f.name
        try:
            out = subprocess.run([self.args.map, dialect or self.args.dialect, path],
                                 input=b"\n".join(keys) + b"\n", stdout=subprocess.PIPE,
                                 check=True, timeout=300).stdout
        finally:
            os.unlink(path)
        index = {s: i for i, s in enumerate(names)}
        lines = out.split(b"\n")[:-1]
        if len(lines) != len(keys):
            raise RuntimeError("hr_peer_map returned %d lines for %d keys" % (len(lines),
                                                                              len(keys)))
        return [index.get(s) for s in lines]


def write_lines(path, rows):
    with open(path, "wb") as f:
        f.write(b"".join(r + b"\n" for r in rows))


def run_tool(argv, what, timeout=300):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (what, p.returncode,
                                                  p.stderr.decode(errors="replace")[-2000:]))
    return p.stdout.decode()


def indexes(text, n):
    out = [int(x) for x in text.split("\n") if x != ""]
    if len(out) != n:
        raise RuntimeError("expected %d answers, got %d" % (n, len(out)))
    return out


def hosts_11211(count):
    """127.0.0.x addresses whose port 11211 is free now (daemons go there)."""
    out = [a for a in ("127.0.0.%d" % i for i in range(2, 60)) if port_is_free(a, 11211)]
    return out[:count]


def localhost_is_v4_only():
    """True when "localhost" resolves to 127.0.0.1 alone (from /etc/hosts):
    then a daemon on 127.0.0.1 serves a client told "localhost".  Where it
    also resolves to ::1, nginx would make a second server of it that no
    daemon serves, so the live tests name 127.0.0.1 instead."""
    try:
        addrs = {ai[4][0] for ai in socket.getaddrinfo("localhost", None,
                                                       type=socket.SOCK_STREAM)}
    except OSError:
        return False
    return addrs == {"127.0.0.1"}


def live_localhost(port):
    if localhost_is_v4_only():
        return b"localhost:%d" % port
    print("note: localhost does not resolve to 127.0.0.1 alone; 127.0.0.1 used")
    return b"127.0.0.1:%d" % port


def random_ports(rng, count):
    """Distinct port numbers for pools no daemon serves (nothing connects)."""
    return rng.sample(range(1024, 65536), count)


class Daemons:
    """memcached daemons for one configuration; stopped on exit from the with."""
    def __init__(self, tools, servers):
        self.tools, self.servers = tools, servers
        self.workdir = tempfile.mkdtemp(prefix="hr-peer-clients-")
        self.mcs = []

    def __enter__(self):
        try:
            for addr, port in self.servers:
                self.mcs.append(Memcached(self.tools, self.workdir, addr, port))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for m in self.mcs:
            p = m.proc
            if p in PROCS:
                PROCS.remove(p)
            stop(p)
        shutil.rmtree(self.workdir, ignore_errors=True)


def with_ports(fn, title):
    """Runs fn() again (it picks fresh ports) when a daemon lost its port."""
    for _ in range(5):
        try:
            return fn()
        except PortTaken as e:
            print("note: %s: %s; trying again" % (title, e))
    raise RuntimeError("%s: the daemons lost their ports 5 times" % title)


# ---- spymemcached --------------------------------------------------------------

def spy_pools(rng, weighted):
    """Random pools: (title, specs, weights).  Specs as AddrUtil reads them."""
    pools = []
    for t in range(5):
        n = rng.randrange(2, 13)
        ports = random_ports(rng, n)
        specs = []
        for i, p in enumerate(ports):
            form = rng.random()
            if form < 0.15:
                specs.append(b"localhost:%d" % p)
            elif form < 0.3:
                specs.append(b"127.0.%d.%d:11211" % (rng.randrange(256), rng.randrange(1, 255)))
            else:
                specs.append(b"127.0.0.%d:%d" % (rng.randrange(1, 255), p))
        specs = list(dict.fromkeys(specs))
        weights = [rng.randrange(1, 11) if weighted else 1 for _ in specs]
        pools.append(("random pool %d" % t, specs, weights))
    # IPv6 literals: hashed in Java's printed form (spy_name)
    v6 = [b"::1:%d" % p for p in random_ports(rng, 2)] + [b"[2001:db8::%x]:11211" % i
                                                           for i in range(1, 4)]
    pools.append(("IPv6 literals", v6, [rng.randrange(1, 11) if weighted else 1 for _ in v6]))
    # 2,000 servers: the float formula at a large n, weights 1 or 10,000
    big = [b"10.%d.%d.%d:%d" % (i >> 16, (i >> 8) & 255, i & 255, rng.choice((11211, 11212)))
           for i in range(2000)]
    pools.append(("2000 servers", big,
                  [rng.choice((1, 10000)) if weighted else 1 for _ in big]))
    if weighted:
        pools.append(("weights 1,1,3,10,10", [b"127.0.0.1:%d" % p for p in random_ports(rng, 5)],
                      [1, 1, 3, 10, 10]))
        pools.append(("25 equal servers", [b"127.0.0.1:%d" % p for p in random_ports(rng, 25)],
                      [1] * 25))
        pools.append(("weights 2^30, 2^30-10002, 1, 10000: total 2^31-1",
                      [b"127.0.0.1:%d" % p for p in random_ports(rng, 4)],
                      [2**30, 2**30 - 10002, 1, 10000]))
        # Weights near 2^31 (the largest Java int): the client sums them in
        # an int, which wraps (here to 2^30 + 998), and the counts follow.
        pools.append(("weights near 2^31: the int total wraps",
                      [b"127.0.0.1:%d" % p for p in random_ports(rng, 5)],
                      [2**31 - 1, 2**31 - 2, 2**30, 1, 1000]))
    return pools


def spy_name(spec):
    """What spymemcached hashes: ip:port for an IP literal, host/ip:port for a
    host name (only localhost is used here, which resolves locally; the
    harness checks that Java printed the same).  An IPv6 literal is printed
    with every group, in brackets (Java 14 on; None: either form)."""
    host, _, port = spec.rpartition(b":")
    if b":" in host:
        return None
    if host == b"localhost":
        # Java prefers an IPv4 address: the first the resolver gives.
        ip = socket.getaddrinfo("localhost", None, socket.AF_INET)[0][4][0]
        return b"localhost/%s:%s" % (ip.encode(), port)
    return spec


def spy_v6(spec, printed):
    """True when printed is Java's form of the IPv6 literal spec."""
    host, _, port = spec.rpartition(b":")
    groups = ipaddress.IPv6Address(host.strip(b"[]").decode()).exploded.split(":")
    full = ":".join("%x" % int(g, 16) for g in groups).encode()
    return printed in (b"[%s]:%s" % (full, port), b"%s:%s" % (full, port))


def run_spymemcached(run, rng, tools):
    weighted = run.args.client == "spymemcached-weighted"
    jobs = []  # (title, specs, weights, keys)
    for title, specs, weights in spy_pools(rng, weighted):
        jobs.append((title, specs, weights, random_keys(rng, run.args.ask_keys)))
    hits = read_hits()
    p3 = P3
    jobs.append(("exact hits, 3 servers", p3, [1, 1, 1], hits))
    extra = [b"127.0.0.1:%d" % p for p in random_ports(rng, 4) if p not in (24401, 24402, 24403)]
    pool = p3 + extra
    rng.shuffle(pool)
    # Unweighted, or equal weights: every node keeps its 40 digests, so the
    # keys still sit exactly on points of the first three.
    jobs.append(("exact hits, %d servers" % len(pool), pool, [1] * len(pool), hits))
    for fam, point, a, b, hit in read_pairs(run.args.pairs_pp, {"pp"}):
        verify_pair(a, b, point, hit)
        keys = shared_keys(rng, a, b, point, hit)
        for order in ((a, b), (b, a)):
            jobs.append(("shared point %s,%s" % (order[0].decode(), order[1].decode()),
                         list(order), [1, 1], keys))
            run.shared += 1
    run.exact += len(hits) * 2 + len(read_pairs(run.args.pairs_pp, {"pp"})) * 2
    with tempfile.TemporaryDirectory(prefix="hr-peer-spy-") as d:
        argv = [tools["java"], "-cp", tools["spymemcached.jar"],
                os.path.join(CLIENTS_DIR, "SpyPeer.java"), "weighted" if weighted else "plain"]
        for j, (title, specs, weights, keys) in enumerate(jobs):
            write_lines(os.path.join(d, "n%d" % j),
                        [s + b"\t%d" % w for s, w in zip(specs, weights)])
            write_lines(os.path.join(d, "k%d" % j), keys)
            argv += [os.path.join(d, "n%d" % j), os.path.join(d, "k%d" % j)]
        out = run_tool(argv, "spymemcached", timeout=600)
    sections = out.split("--\n")
    if len(sections) != len(jobs) + 1 or sections[-1] != "":
        raise RuntimeError("SpyPeer returned %d sections for %d jobs" % (len(sections), len(jobs)))
    for (title, specs, weights, keys), sec in zip(jobs, sections):
        lines = sec.split("\n")
        printed = [ln.split(" ", 2)[2].lstrip("/").encode() for ln in lines
                   if ln.startswith("#ADDR ")]
        names = [spy_name(s) for s in specs]
        names = [p if n is None and spy_v6(s, p) else n for s, n, p in zip(specs, names, printed)]
        if printed != names:
            raise RuntimeError("%s: spymemcached names its servers %s, expected %s"
                               % (title, printed, names))
        got = indexes("\n".join(ln for ln in lines if not ln.startswith("#")), len(keys))
        run.compare(title, names, weights, keys, got)


P3 = [b"127.0.0.1:24401", b"127.0.0.1:24402", b"127.0.0.1:24403"]


def read_hits():
    """The committed exact-hit keys, re-checked: each on a point of P3."""
    with open(os.path.join(HERE, "exact_hits_p3.txt"), "rb") as f:
        keys = [k for k in f.read().split(b"\n") if k]
    pts = {p for s in P3 for p in md5_points(s, 40)}
    off = [k for k in keys if md5w(k, 0) not in pts]
    if off or not keys:
        raise RuntimeError("exact_hits_p3.txt: %d keys are not on a point" % len(off))
    return keys


def shared_keys(rng, ha, hb, point, hit):
    """Keys for a shared-point ring: the one on the point, 20 in the arc
    that ends at it (the tie decides them in a '>' ring), 5 in the next arc
    and 25 anywhere."""
    pts = sorted(set(md5_points(ha, 40) + md5_points(hb, 40)))
    i = pts.index(point)
    prev, nxt = pts[i - 1], pts[(i + 1) % len(pts)]

    def inside(lo, hi, x):  # (lo, hi] on the circle
        return lo < x <= hi if lo < hi else (x > lo or x <= hi)

    before, after, c = [], [], 0
    tag = rng.getrandbits(32)
    while len(before) < 20 or len(after) < 5:
        k = b"arc-%d-%d" % (tag, c)
        c += 1
        x = md5w(k, 0)
        if inside(prev, point, x) and len(before) < 20:
            before.append(k)
        elif inside(point, nxt, x) and len(after) < 5:
            after.append(k)
    return [hit] + before + after + random_keys(rng, 25)


def verify_pair(ha, hb, point, hit):
    """A committed shared-point input, re-checked: both hashed names (40
    digests, 4 points each) have the point, and the key sits on it."""
    if point not in md5_points(ha, 40) or point not in md5_points(hb, 40) \
            or md5w(hit, 0) != point:
        raise RuntimeError("input pair %r %r does not share point %d with key %r"
                           % (ha, hb, point, hit))


# ---- uhashring -------------------------------------------------------------------

def run_uhashring(run, rng, tools):
    jobs = []
    for t in range(6):
        n = rng.randrange(2, 15)
        names = []
        for p in random_ports(rng, n):
            form = rng.random()
            if form < 0.2:
                names.append(b"localhost:%d" % p)
            elif form < 0.4:
                names.append(b"127.0.%d.%d:11211" % (rng.randrange(256), rng.randrange(1, 255)))
            elif form < 0.6:
                names.append(b"cache-%d.example" % p)
            else:
                names.append(b"127.0.0.1:%d" % p)
        names = list(dict.fromkeys(names))
        weights = [rng.choice((1, 1, 2, 3, 5, 10, 0)) if t % 2 else 1 for _ in names]
        if not any(weights):
            weights[0] = 1
        jobs.append(("random pool %d%s" % (t, ", weights" if t % 2 else ""), names, weights,
                     random_keys(rng, run.args.ask_keys)))
    # Weights near 2^32 (a total far past 32 bits), names of 300 bytes,
    # upper case, IPv6 and UTF-8; keys with blanks and control characters.
    odd = [b" ", b"a b", b"\t", b"\r", b"\x01\x7f", b" lead", b"trail ", b"x" * 250,
           "é".encode() * 500]
    jobs.append(("weights 2^32-1, 2^32-2, 2^31, 1", [b"a:1", b"b:1", b"c:1", b"d:1"],
                 [2**32 - 1, 2**32 - 2, 2**31, 1], random_keys(rng, 2000) + odd))
    jobs.append(("long, upper-case, IPv6, UTF-8 names",
                 [b"L" * 300 + b":1", b"CACHE-A.EXAMPLE:11211", b"[2001:db8::1]:11211", b"::1",
                  "сервер:1".encode()], [1, 2, 3, 1, 1], random_keys(rng, 2000) + odd))
    hits = read_hits()
    p3 = P3
    jobs.append(("exact hits, 3 servers", p3, [1, 1, 1], hits))
    pool = p3 + [b"127.0.0.1:%d" % p for p in random_ports(rng, 3)]
    rng.shuffle(pool)
    jobs.append(("exact hits, %d servers" % len(pool), pool, [1] * len(pool), hits))
    run.exact += 2 * len(hits)
    pairs = read_pairs(run.args.pairs, {"x4"}) + read_pairs(run.args.pairs_pp, {"pp"})
    for fam, point, a, b, hit in pairs:
        verify_pair(a, b, point, hit)
        keys = shared_keys(rng, a, b, point, hit)
        for order in ((a, b), (b, a)):
            jobs.append(("shared point %s,%s" % (order[0].decode(), order[1].decode()),
                         list(order), [1, 1], keys))
            run.shared += 1
        run.exact += 2
    for title, names, weights, keys in jobs:
        with tempfile.TemporaryDirectory(prefix="hr-peer-uh-") as d:
            write_lines(os.path.join(d, "n"), [s + b"\t%d" % w for s, w in zip(names, weights)])
            write_lines(os.path.join(d, "k"), keys)
            out = run_tool([tools["python-uhashring"], os.path.join(CLIENTS_DIR,
                                                                    "uhashring_peer.py"),
                            os.path.join(d, "n"), os.path.join(d, "k")], "uhashring")
        run.compare(title, names, weights, keys, indexes(out, len(keys)))


# ---- npm memcached -----------------------------------------------------------------

def run_node_memcached(run, rng, tools):
    script = os.path.join(CLIENTS_DIR, "memcached_peer.js")

    def ask(title, servers, weights, keys):
        with tempfile.TemporaryDirectory(prefix="hr-peer-nm-") as d:
            write_lines(os.path.join(d, "n"), [s + b"\t%d" % w for s, w in zip(servers, weights)])
            write_lines(os.path.join(d, "k"), keys)
            out = run_tool([tools["node"], script, run.args.modules, "ask",
                            os.path.join(d, "n"), os.path.join(d, "k")], "npm memcached")
        run.compare(title, servers, weights, keys, indexes(out, len(keys)))

    forms = (b"localhost:11211", b"localhost", b"127.0.0.%d:011211", b"[::1]:11211",
             b"127.0.0.%d:11211", b"127.0.0.%d:11211:extra", b"cache%d:11211", b"127.0.0.1:%d")
    for t in range(6):
        n = rng.randrange(2, 13)
        servers = []
        for p in random_ports(rng, n):
            f = rng.choice(forms)
            servers.append(f % (p % 250 + 2) if b"%d" in f else f)
        servers = list(dict.fromkeys(servers))
        weights = [rng.choice((0, 1, 1, 2, 3, 7)) if t % 2 else 1 for _ in servers]
        ask("random pool %d%s" % (t, ", weights" if t % 2 else ""), servers, weights,
            random_keys(rng, run.args.ask_keys))
    # Pools and keys the random ones never make (asked only: no daemon).
    # Keys: empty, 250 bytes, blanks and control characters, UTF-8 (the
    # harness reads keys as UTF-8 text, as a JavaScript caller has them).
    odd = [b"", b" ", b"a b", b"\t", b"\r", b"\x01\x7f", b"x" * 250, "ключ é 🔑".encode() * 10]
    ask_n = min(run.args.ask_keys, 2000)
    ps = random_ports(rng, 6)
    ask("weights 1 and 10,000", [b"127.0.0.1:%d" % p for p in ps[:3]], [1, 10000, 1],
        random_keys(rng, ask_n) + odd)
    ask("weights up to 2^32-1", [b"10.0.0.%d:11211" % i for i in range(1, 5)],
        [2**32 - 1, 2**32 - 2, 2**31, 1], random_keys(rng, ask_n) + odd)
    ask("long, upper-case, IPv6, UTF-8 names; ports 0, 65535",
        [b"L" * 300 + b":11211", b"CACHE-A.EXAMPLE:11211", b"[2001:db8::1]:11211", b"::1:11211",
         "сервер:11211".encode(), b"127.0.0.1:0", b"127.0.0.1:65535", b"127.0.0.1:00011211"],
        [1, 2, 3, 1, 1, 1, 2, 1], random_keys(rng, ask_n) + odd)
    ask("one server", [b"127.0.0.1:%d" % ps[3]], [1], random_keys(rng, 200) + odd)
    big = [b"10.%d.%d.%d:%d" % (i >> 16, (i >> 8) & 255, i & 255, rng.choice((11211, 11212)))
           for i in range(2000)]
    ask("2000 servers, weights 1 or 10,000", big, [rng.choice((1, 1, 10000)) for _ in big],
        random_keys(rng, ask_n) + odd)
    hits = read_hits()
    p3 = P3
    ask("exact hits, 3 servers", p3, [1, 1, 1], hits)
    pool = p3 + [b"127.0.0.%d:11211" % i for i in rng.sample(range(2, 250), 3)]
    rng.shuffle(pool)
    ask("exact hits, %d servers" % len(pool), pool, [1] * len(pool), hits)
    run.exact += 2 * len(hits)
    pairs = read_pairs(run.args.pairs, {"x4", "t"}) + read_pairs(run.args.pairs_pp, {"pp"})
    for fam, point, a, b, hit in pairs:
        verify_pair(a, b, point, hit)
        keys = shared_keys(rng, a, b, point, hit)
        if fam == "t":
            a += b":11211"  # hashed without its port: "127.0.a.b"
        for order in ((a, b), (b, a)):
            ask("shared point %s,%s" % (order[0].decode(), order[1].decode()), list(order),
                [1, 1], keys)
            run.shared += 1
        run.exact += 2

    # Live: keys written through the client into daemons, read back.
    def live(title, pick):
        def once():
            servers, weights = pick()
            # No '$': the client builds its command with String.replace,
            # which reads "$'" and "$`" in a key as patterns (a write defect
            # of the client, not of its placement).
            keys = random_keys(rng, run.args.keys, PRINTABLE.replace(b"$", b""))
            addrs = [(s.rsplit(b":", 1)[0].decode(), int(s.rsplit(b":", 1)[1])) for s in servers]
            with Daemons(tools, addrs) as dm, \
                    tempfile.TemporaryDirectory(prefix="hr-peer-nm-") as d:
                write_lines(os.path.join(d, "n"),
                            [s + b"\t%d" % w for s, w in zip(servers, weights)])
                write_lines(os.path.join(d, "k"), keys)
                run_tool([tools["node"], script, run.args.modules, "write",
                          os.path.join(d, "n"), os.path.join(d, "k")], "npm memcached")
                got = read_back(dm.mcs, keys)
            run.compare(title, servers, weights, keys, got)
        with_ports(once, title)

    def pick():  # again on a retry: fresh ports, and 11211 where it is free now
        servers = [b"127.0.0.1:%d" % p for p in free_ports(3)] + \
            [b"%s:11211" % a.encode() for a in hosts_11211(2)]
        return servers, [rng.randrange(1, 6) for _ in servers]
    live("live writes, weights, port 11211", pick)


# ---- nginx and Cache::Memcached::Fast (dialect nginx) --------------------------------

def crc_ring_keys(run, rng, client, names, weights):
    """Random keys, keys exactly on points, and on the smallest and largest."""
    pts = all_points(client, names, weights)
    chosen = rng.sample(pts, min(40, len(pts))) + [pts[0], pts[-1]]
    hits = [crc_forge(rng, p) for p in chosen]
    edges = [crc_forge(rng, p) for p in (0, 0xFFFFFFFF, pts[0] - 1, (pts[-1] + 1) & 0xFFFFFFFF)]
    run.exact += len(hits)
    return random_keys(rng, run.args.keys) + hits + edges


def nginx_store_all(mcs, keys):
    """Every daemon holds every key (as nginx will ask for it: '%' escaped)
    with the daemon's own index as the value."""
    for si, m in enumerate(mcs):
        with connect(m.addr, m.port, 20) as s:
            for b in range(0, len(keys), 200):
                chunk = keys[b:b + 200]
                s.sendall(b"".join(b"set %s 0 0 %d noreply\r\n%d\r\n"
                                   % (k.replace(b"%", b"%25"), len(str(si)), si) for k in chunk))
            s.sendall(b"mn\r\n")
            buf = b""
            while not buf.endswith(b"MN\r\n"):
                data = s.recv(4096)
                if not data:
                    raise RuntimeError("memcached closed the connection")
                buf += data
            if buf != b"MN\r\n":
                raise RuntimeError("memcached: unexpected %r" % buf[:80])


def nginx_ask(port, keys, nserv):
    conn = http.client.HTTPConnection(LO, port, timeout=20)
    got = []
    try:
        for k in keys:
            conn.request("GET", "/", headers={"X-Key": k.decode("ascii")})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200 or not body.isdigit() or int(body) >= nserv:
                raise RuntimeError("nginx answered %d %r for key %r" % (r.status, body[:80], k))
            got.append(int(body))
    finally:
        conn.close()
    return got


def run_nginx_config(run, tools, title, srv, names, weights, keys):
    """srv: [(addr, port)] daemons (port None: a unix socket), names: the
    server lines' addresses ("host:port", "unix:/path"), the library's names.
    PortTaken when a daemon lost its port."""
    if True:
        with Daemons(tools, srv) as dm:
            nginx_store_all(dm.mcs, keys)
            prefix = dm.workdir
            listen = free_ports(1, avoid={p for _, p in srv})[0]
            conf = os.path.join(prefix, "nginx.conf")
            with open(conf, "w", encoding="ascii") as f:
                # A worker that fails to reach its server must not try
                # another (memcached_next_upstream off below), and it runs as
                # this user so that it may open the daemons' unix sockets.
                if os.geteuid() == 0:
                    f.write("user root;\n")
                f.write("daemon off;\nmaster_process on;\nworker_processes 1;\n"
                        "pid %s/nginx.pid;\nerror_log %s/error.log;\n"
                        "events { worker_connections 64; }\n"
                        "http {\n access_log off;\n"
                        " client_body_temp_path %s/body;\n proxy_temp_path %s/proxy;\n"
                        " fastcgi_temp_path %s/fastcgi;\n uwsgi_temp_path %s/uwsgi;\n"
                        " scgi_temp_path %s/scgi;\n"
                        " upstream pool {\n  hash $http_x_key consistent;\n"
                        % ((prefix,) * 7))
                for name, w in zip(names, weights):
                    f.write("  server %s weight=%d max_fails=0;\n" % (name.decode(), w))
                # Connections to the daemons are kept open: one per request
                # would leave thousands in TIME_WAIT, and some machines have
                # only a thousand ephemeral ports.
                f.write("  keepalive 8;\n }\n server {\n  listen %s:%d;\n  location / {\n"
                        "   set $memcached_key $http_x_key;\n   memcached_pass pool;\n"
                        "   memcached_next_upstream off;\n"
                        "   memcached_read_timeout 20s;\n  }\n }\n}\n" % (LO, listen))
            ng = start([tools["nginx"], "-p", prefix, "-c", conf, "-e",
                        os.path.join(prefix, "error.log")], "nginx",
                       os.path.join(prefix, "nginx.out"))
            try:
                wait_own_listener(ng, listen, "nginx")
                got = nginx_ask(listen, keys, len(srv))
            finally:
                if ng in PROCS:
                    PROCS.remove(ng)
                stop(ng)
        run.compare(title, names, weights, keys, got)


def wait_own_listener(proc, port, what):
    """Until proc or one of its children listens on port itself."""
    import time
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PortTaken("%s exited with status %d" % (what, proc.returncode))
        pids = [proc.pid] + children(proc.pid)
        owns = [owns_listener(p, port) for p in pids]
        if all(o is None for o in owns):
            wait_listening(LO, port, proc, what)
            return
        if any(owns):
            return
        time.sleep(0.05)
    raise RuntimeError("%s is not listening on %s:%d" % (what, LO, port))


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid), encoding="ascii") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def nginx_asked(run, tools, title, names, weights, keys, addrs):
    """nginx asked without daemons: every request fails to connect (nothing
    listens on the servers' addresses, or whatever does is ignored) and the
    reply's X-Upstream header, $upstream_addr, names the server nginx chose.
    The hash key is the X-Key header as sent; the memcached key is a
    constant, so keys memcached would refuse can be asked about.  addrs:
    for each server, the addresses $upstream_addr may print for it."""
    index = {a: i for i, al in enumerate(addrs) for a in al}
    prefix = tempfile.mkdtemp(prefix="hr-peer-nginx-")
    try:
        listen = free_ports(1)[0]
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "wb") as f:
            if os.geteuid() == 0:
                f.write(b"user root;\n")
            f.write(b"daemon off;\nmaster_process on;\nworker_processes 1;\n"
                    b"pid %s/nginx.pid;\nerror_log %s/error.log crit;\n"
                    b"events { worker_connections 64; }\nhttp {\n access_log off;\n"
                    b" client_body_temp_path %s/body;\n proxy_temp_path %s/proxy;\n"
                    b" fastcgi_temp_path %s/fastcgi;\n uwsgi_temp_path %s/uwsgi;\n"
                    b" scgi_temp_path %s/scgi;\n"
                    b" upstream pool {\n  hash $http_x_key consistent;\n"
                    % ((prefix.encode(),) * 7))
            for name, w in zip(names, weights):
                f.write(b"  server %s weight=%d max_fails=0;\n" % (name, w))
            f.write(b" }\n server {\n  listen %s:%d;\n  location / {\n"
                    b"   set $memcached_key k;\n   memcached_pass pool;\n"
                    b"   memcached_next_upstream off;\n   memcached_connect_timeout 5s;\n"
                    b"   memcached_read_timeout 5s;\n"
                    b"   add_header X-Upstream $upstream_addr always;\n  }\n }\n}\n"
                    % (LO.encode(), listen))
        ng = start([tools["nginx"], "-p", prefix, "-c", conf, "-e",
                    os.path.join(prefix, "error.log")], "nginx", os.path.join(prefix, "nginx.out"))
        try:
            wait_own_listener(ng, listen, "nginx")
            conn = http.client.HTTPConnection(LO, listen, timeout=30)
            got = []
            for k in keys:
                conn.putrequest("GET", "/", skip_accept_encoding=True)
                conn.putheader("X-Key", k)
                conn.endheaders()
                r = conn.getresponse()
                r.read()
                up = r.getheader("X-Upstream", "")
                if up not in index:
                    raise RuntimeError("%s: nginx answered %d, upstream %r, for key %r"
                                       % (title, r.status, up, k))
                got.append(index[up])
            conn.close()
        finally:
            if ng in PROCS:
                PROCS.remove(ng)
            stop(ng)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)
    run.compare(title, names, weights, keys, got)


def nginx_keys(rng, count):
    """Keys as an HTTP header carries them whole: blanks inside, bytes
    0x80-0xff; 250 and 1,000 bytes.  Not the empty key: nginx sends a
    request with an empty hash key round-robin (src/DIALECTS.md note 8)."""
    inner = PRINTABLE + b"  " + bytes(range(0x80, 0x100))
    keys = [bytes([rng.choice(PRINTABLE)]) + k + bytes([rng.choice(PRINTABLE)])
            for k in random_keys(rng, count, inner)]
    return keys + [b"x" * 250, b"y" * 1000, "ключ é".encode() * 5, b"a b  c"]


def run_nginx_asked(run, rng, tools):
    n_keys = min(run.args.ask_keys, 2000)
    # 2,000 servers, weights 1 or 10, as the configuration may spell them:
    # IP and port, LOCALHOST, a port with leading zeros, [::1], sockets
    # (unix: and UNIX:), no port.
    ports = random_ports(rng, 2000)
    names, addrs = [], []
    for i, p in enumerate(ports):
        if i == 0:  # one server, or two if it resolves to ::1 too
            names.append(b"LOCALHOST:%d" % p)
            addrs.append(["127.0.0.1:%d" % p, "[::1]:%d" % p])
            continue
        elif i == 1:
            names.append(b"127.0.0.1:000%d" % p)
        elif i == 2:
            names.append(b"[::1]:%d" % p)
            addrs.append(["[::1]:%d" % p])
            continue
        elif i == 5:  # no port: nginx's default, 80; hashed with an empty port
            names.append(b"127.0.%d.%d" % (p >> 8, p & 255))
            addrs.append(["127.0.%d.%d:80" % (p >> 8, p & 255)])
            continue
        elif i in (3, 4):
            names.append(b"%s:/nonexistent/hr-peer-%d.sock" % ((b"unix", b"UNIX")[i - 3], p))
            addrs.append(["unix:/nonexistent/hr-peer-%d.sock" % p,
                          "UNIX:/nonexistent/hr-peer-%d.sock" % p])
            continue
        else:
            names.append(b"127.0.0.1:%d" % p)
        addrs.append(["127.0.0.1:%d" % p])
    nginx_asked(run, tools, "asked: LOCALHOST, port 000N, [::1], unix:, UNIX:, no port",
                names[:7], [1] * 7, nginx_keys(rng, n_keys), addrs[:7])
    nginx_asked(run, tools, "asked: 2000 servers, weights 1 or 10", names,
                [rng.choice((1, 1, 1, 10)) for _ in names], nginx_keys(rng, n_keys), addrs)
    ports = random_ports(rng, 3)
    nginx_asked(run, tools, "asked: weights 1 and 10,000", [b"127.0.0.1:%d" % p for p in ports],
                [1, 10000, 1], nginx_keys(rng, n_keys), [["127.0.0.1:%d" % p] for p in ports])
    nginx_asked(run, tools, "asked: one server", [b"127.0.0.1:%d" % ports[0]], [1],
                nginx_keys(rng, 100), [["127.0.0.1:%d" % ports[0]]])


def run_nginx(run, rng, tools):
    run_nginx_asked(run, rng, tools)
    sockdir = tempfile.mkdtemp(prefix="hr-peer-nginx-")
    try:
        for t in range(4):
            def once(t=t):
                n = rng.randrange(2, 7)
                h = hosts_11211(1) if t == 1 else []
                srv = [(LO, p) for p in free_ports(n - len(h))] + [(a, 11211) for a in h]
                names = [b"%s:%d" % (a.encode(), p) for a, p in srv]
                if t == 2:
                    names[0] = live_localhost(srv[0][1])
                    srv.append((os.path.join(sockdir, "mc.sock"), None))
                    names.append(b"unix:" + srv[-1][0].encode())
                weights = [rng.randrange(1, 5) if t else 1 for _ in srv]
                title = ["equal weights", "weights, port 11211", "weights, localhost, unix socket",
                         "weights"][t]
                # nginx asks memcached for the key with '%' escaped as "%25": keys
                # that would grow past memcached's 250 bytes are left out.
                keys = [k for k in crc_ring_keys(run, rng, "nginx", names, weights)
                        if len(k) + 2 * k.count(b"%") <= 250]
                run_nginx_config(run, tools, title, srv, names, weights, keys)
            with_ports(once, "nginx pool %d" % t)
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)


def run_cmf(run, rng, tools):
    script = os.path.join(CLIENTS_DIR, "cmf_peer.pl")
    sockdir = tempfile.mkdtemp(prefix="hr-peer-cmf-")

    def live(title, addrs, names, weights, keys):
        """PortTaken when a daemon lost its port."""
        with Daemons(tools, addrs) as dm, \
                tempfile.TemporaryDirectory(prefix="hr-peer-cmf-") as d:
            write_lines(os.path.join(d, "n"), [s + b"\t%d" % w for s, w in zip(names, weights)])
            write_lines(os.path.join(d, "k"), keys)
            run_tool([tools["perl"], script, os.path.join(d, "n"), os.path.join(d, "k")],
                     "Cache::Memcached::Fast")
            got = read_back(dm.mcs, keys)
        run.compare(title, names, weights, keys, got)

    try:
        for t in range(4):
            def once(t=t):
                n = rng.randrange(2, 7)
                h = hosts_11211(1) if t == 1 else []
                addrs = [(LO, p) for p in free_ports(n - len(h))] + [(a, 11211) for a in h]
                names = [b"%s:%d" % (a.encode(), p) for a, p in addrs]
                if t == 2:
                    names[0] = live_localhost(addrs[0][1])
                    addrs.append((os.path.join(sockdir, "mc.sock"), None))
                    names.append(addrs[-1][0].encode())
                weights = [rng.randrange(1, 5) if t else 1 for _ in addrs]
                title = ["equal weights", "weights, port 11211", "weights, localhost, unix socket",
                         "weights"][t]
                keys = crc_ring_keys(run, rng, "cache-memcached-fast", names, weights)
                live(title, addrs, names, weights, keys)
            with_ports(once, "Cache::Memcached::Fast pool %d" % t)
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)

    # Uneven weights (1 and 300: the client inserts each point into a sorted
    # array, so 10,000 would take it minutes), a port with leading zeros,
    # LOCALHOST, ::1 (written without brackets: the client cannot connect
    # to "[::1]:port"); keys with bytes 0x80-0xff, 250 bytes.
    def focused():
        addrs = [(LO, p) for p in free_ports(3)]
        names = [b"127.0.0.1:%d" % addrs[0][1], b"127.0.0.1:000%d" % addrs[1][1],
                 b"LOCALHOST:%d" % addrs[2][1] if localhost_is_v4_only()
                 else b"127.0.0.1:%d" % addrs[2][1]]
        weights = [1, 300, 2]
        if ipv6_loopback():
            addrs.append(("::1", free_port6()))
            names.append(b"::1:%d" % addrs[-1][1])
            weights.append(1)
        high = PRINTABLE + bytes(range(0x80, 0x100))
        keys = random_keys(rng, run.args.keys, high) + [b"x" * 250, "ключ-é".encode() * 10]
        live("weights 1, 300, 2; port 000N; LOCALHOST; ::1", addrs, names, weights, keys)
    with_ports(focused, "Cache::Memcached::Fast focused pool")

    # A shared point: two 127.0.0.1 ports whose chains meet; the server
    # earlier in the list owns it.
    def shared():
        pair = shared_crc_pair(rng)
        if pair is None:
            raise RuntimeError("no pair of free ports with a shared point was found")
        (pa, pb), point = pair
        keys = [crc_forge(rng, point)] + random_keys(rng, 50)
        for order in ((pa, pb), (pb, pa)):
            live("shared point 127.0.0.1:%d,127.0.0.1:%d" % order, [(LO, p) for p in order],
                 [b"127.0.0.1:%d" % p for p in order], [1, 1], keys)
            run.shared += 1
            run.exact += 1
    with_ports(shared, "Cache::Memcached::Fast shared point")


def shared_crc_pair(rng):
    """Two free 127.0.0.1 ports whose 160-point CRC chains share a point."""
    lo = rng.randrange(20000, 50000)
    seen = {}
    for port in range(lo, lo + 6000):
        for p in crc_chain_points(b"127.0.0.1:%d" % port, 160, False):
            other = seen.get(p)
            if other is not None and other != port and port_is_free(LO, port) \
                    and port_is_free(LO, other):
                return (other, port), p
            seen[p] = port
    return None


# ---- Dalli -------------------------------------------------------------------------

def ipv6_loopback():
    """True when ::1 can be bound here (a daemon can listen on it)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as so:
            so.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port6():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as so:
        so.bind(("::1", 0))
        return so.getsockname()[1]


def dalli_pool(rng, t, sockdir):
    """(daemon addresses, Dalli server strings, library names, weights).
    Pool 0 equal weights; 1 port 11211 left out; 2 a unix socket; 3 a host
    name, an octal port, [::1] where there is IPv6.  The library's name is
    the server string without its weight field."""
    n = rng.randrange(2, 7)
    h = hosts_11211(1) if t == 1 else []
    addrs = [(LO, p) for p in free_ports(n - len(h))] + [(a, 11211) for a in h]
    if t == 2:
        addrs.append((os.path.join(sockdir, "mc.sock"), None))
    if t == 3 and ipv6_loopback():
        addrs.append(("::1", free_port6()))
    specs, names, weights = [], [], []
    for i, (a, p) in enumerate(addrs):
        w = rng.randrange(1, 6) if t else 1
        weights.append(w)
        if p is None:
            name = a.encode()
        elif a == "::1":
            name = b"[::1]:%d" % p
        elif p == 11211:
            name = a.encode()  # Dalli fills in the port
        elif t == 3 and i == 0:
            name = live_localhost(p)
        elif t == 3 and i == 1:
            name = b"%s:0%o" % (a.encode(), p)  # Integer() reads a leading 0 as octal
        else:
            name = b"%s:%d" % (a.encode(), p)
        names.append(name)
        if w == 1 and rng.random() < 0.5:
            specs.append(name)
        elif p == 11211:
            specs.append(name + b":11211:%d" % w)
        else:
            specs.append(name + b":%d" % w)
    title = ["equal weights", "weights, port 11211 left out", "weights, unix socket",
             "weights, localhost, octal port" + (", [::1]" if addrs[-1][0] == "::1" else "")][t]
    return addrs, specs, names, weights, title


def run_dalli(run, rng, tools):
    script = os.path.join(CLIENTS_DIR, "dalli_peer.rb")
    sockdir = tempfile.mkdtemp(prefix="hr-peer-dalli-")
    try:
        for t in range(4):
            def once(t=t):
                addrs, specs, names, weights, title = dalli_pool(rng, t, sockdir)
                keys = crc_ring_keys(run, rng, "dalli", dalli_hashed(names), weights)
                with Daemons(tools, addrs) as dm, \
                        tempfile.TemporaryDirectory(prefix="hr-peer-dalli-") as d:
                    write_lines(os.path.join(d, "n"), specs)
                    write_lines(os.path.join(d, "k"), keys)
                    out = run_tool([tools["ruby"], script, os.path.join(d, "n"),
                                    os.path.join(d, "k")], "Dalli")
                    asked = indexes(out, len(keys))
                    written = read_back(dm.mcs, keys)
                run.compare(title + " (ring)", names, weights, keys, asked)
                run.compare(title + " (writes)", names, weights, keys, written)
            with_ports(once, "Dalli pool %d" % t)
        # One server: Dalli builds no ring, every key goes to it.
        def single():
            addrs = [(LO, free_ports(1)[0])]
            names = [b"%s:%d" % (LO.encode(), addrs[0][1])]
            keys = random_keys(rng, 200)
            with Daemons(tools, addrs) as dm, \
                    tempfile.TemporaryDirectory(prefix="hr-peer-dalli-") as d:
                write_lines(os.path.join(d, "n"), names)
                write_lines(os.path.join(d, "k"), keys)
                asked = indexes(run_tool([tools["ruby"], script, os.path.join(d, "n"),
                                          os.path.join(d, "k")], "Dalli"), len(keys))
                written = read_back(dm.mcs, keys)
            run.compare("one server (ring)", names, [1], keys, asked)
            run.compare("one server (writes)", names, [1], keys, written)
        with_ports(single, "Dalli one server")
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)


def dalli_hashed(names):
    """What Dalli hashes for each name (for finding points only)."""
    out = []
    for s in names:
        if s.startswith(b"/"):
            out.append(s)
            continue
        if s.startswith(b"["):
            host, _, port = s[1:].partition(b"]:")
        else:
            host, _, port = s.partition(b":")
        out.append(host + b":%d" % (int(port, 8) if port.startswith(b"0") else
                                    int(port or b"11211")))
    return out


# ---- PHP pecl memcache --------------------------------------------------------------

def pecl_name(host, port, rng):
    """The library's name: "host:port" as the client hashes it (a unix
    socket "unix:///path" has port 0); a server on 11211 sometimes without
    its port, which the dialect fills in as the client's default."""
    if port == 11211 and rng.random() < 0.5:
        return host
    return b"%s:%d" % (host, port)


def run_pecl(run, rng, tools):
    script = os.path.join(CLIENTS_DIR, "pecl_memcache_peer.php")
    php = [tools["php"], "-d", "memcache.hash_strategy=consistent",
           "-d", "memcache.hash_function=crc32",
           # A server that fails must fail the test, not take another's keys.
           "-d", "memcache.allow_failover=0",
           # Warnings to standard error: standard output carries the answers.
           "-d", "display_errors=stderr", script]

    def client_run(mode, servers, weights, keys):
        with tempfile.TemporaryDirectory(prefix="hr-peer-pecl-") as d:
            write_lines(os.path.join(d, "n"), [h + b"\t%d\t%d" % (p, w)
                                               for (h, p), w in zip(servers, weights)])
            write_lines(os.path.join(d, "k"), keys)
            return run_tool(php + [mode, os.path.join(d, "n"), os.path.join(d, "k")],
                            "PHP Memcache")

    # Keys with spaces too: the client turns bytes <= 0x20 into '_'.
    spaced = PRINTABLE + b"  "
    sockdir = tempfile.mkdtemp(prefix="hr-peer-pecl-")
    try:
        for t in range(6):
            n = rng.randrange(2, 13)
            servers = []
            for p in random_ports(rng, n):
                form = rng.random()
                if form < 0.2:
                    servers.append((b"localhost", p))
                elif form < 0.4:
                    servers.append((b"127.0.%d.%d" % (rng.randrange(256), rng.randrange(1, 255)),
                                    11211))
                else:
                    servers.append((b"127.0.0.1", p))
            if t == 2:  # the socket need not exist: findServer connects to nothing
                servers.append((b"unix://" + os.path.join(sockdir, "mc.sock").encode(), 0))
            servers = list(dict.fromkeys(servers))
            weights = [rng.randrange(1, 6) if t % 2 else 1 for _ in servers]
            # One key per bucket (the low 10 bits of the key's CRC), then random.
            keys = [crc_forge(rng, (rng.getrandbits(22) << 10) | b) for b in range(1024)]
            keys += random_keys(rng, run.args.ask_keys, spaced)
            got = indexes(client_run("ask", servers, weights, keys), len(keys))
            run.compare("pool %d%s%s, every bucket" % (t, ", weights" if t % 2 else "",
                                                      ", unix socket" if t == 2 else ""),
                        [pecl_name(h, p, rng) for h, p in servers], weights, keys, got)

        # Focused pools the random ones never make.  The library's name is
        # the server as a configuration would write it: (PHP host, PHP port,
        # library name, weight).
        ports = random_ports(rng, 8)
        odd_keys = [b"x" * 250, b"y" * 251 + b"z", b"\x00\x01 \x7f\x80\xfe\xff", b" ",
                    "ключ-é".encode() * 20, b"a\tb\rc", b"trail ", b" lead"]
        focused = [
            ("weights 1 and 10,000", [(b"127.0.0.1", ports[0], None, 1),
                                      (b"127.0.0.1", ports[1], None, 10000)]),
            # 160 * w in the client's 32-bit unsigned int: 2^27 + 1 -> 160
            # points, 26843546 -> 64, 2^27 -> none
            ("weights past 2^32 / 160", [(b"127.0.0.1", ports[2], None, 2**27 + 1),
                                          (b"127.0.0.1", ports[3], None, 26843546),
                                          (b"127.0.0.1", ports[4], None, 2**27),
                                          (b"127.0.0.1", ports[5], None, 3)]),
            ("long, upper-case, IPv6, tcp:// hosts; ports 0, 65535",
             [(b"L" * 300, 11211, b"L" * 300, 1), (b"CACHE-A.EXAMPLE", 65535, None, 2),
              (b"[2001:db8::1]", 11211, None, 1), (b"::1", 0, None, 1),
              (b"tcp://127.0.0.3", 11211, b"tcp://127.0.0.3", 1),
              ("сервер".encode(), ports[6], None, 1)]),
            # the client keeps the port in an unsigned short, as a number (it
            # accepts up to 65635 here)
            ("ports with leading zeros, past 65535",
             [(b"127.0.0.1", 11211, b"127.0.0.1:011211", 1),
              (b"127.0.0.1", 65536 + ports[7] % 100, None, 1),
              (b"127.0.0.2", 1211, b"127.0.0.2:0001211", 1)]),
            ("one server", [(b"127.0.0.1", ports[0], None, 1)]),
            ("2000 servers, weights 1 or 10", [
                (b"10.%d.%d.%d" % (i >> 16, (i >> 8) & 255, i & 255), rng.choice((11211, 11212)),
                 None, rng.choice((1, 1, 1, 10))) for i in range(2000)]),
        ]
        for title, pool in focused:
            servers = [(h, p) for h, p, _, _ in pool]
            weights = [w for _, _, _, w in pool]
            names = [lib or b"%s:%d" % (h, p) for h, p, lib, _ in pool]
            keys = random_keys(rng, min(run.args.ask_keys, 3000), spaced) + odd_keys
            got = indexes(client_run("ask", servers, weights, keys), len(keys))
            run.compare(title, names, weights, keys, got)

        def once():
            h = hosts_11211(1)
            addrs = [(LO, p) for p in free_ports(3)] + [(a, 11211) for a in h]
            addrs.append((os.path.join(sockdir, "live.sock"), None))
            weights = [rng.randrange(1, 5) for _ in addrs]
            servers = [(a.encode(), p) if p else (b"unix://" + a.encode(), 0) for a, p in addrs]
            # Keys the client stores under the same name ("a b", "a_b") once.
            keys = list({pecl_key(k): k for k in random_keys(rng, run.args.keys,
                                                            spaced)}.values())
            with Daemons(tools, addrs) as dm:
                client_run("write", servers, weights, keys)
                # The client stored each key with bytes <= 0x20 as '_'.
                got = read_back(dm.mcs, [pecl_key(k) for k in keys])
            run.compare("live writes, weights, port 11211, unix socket",
                        [pecl_name(h, p, rng) for h, p in servers], weights, keys, got)
        with_ports(once, "PHP Memcache live writes")
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)


# ---- main -----------------------------------------------------------------------------

DIALECT = {"cache-memcached-fast": "nginx"}
RUNNERS = {
    "spymemcached": run_spymemcached, "spymemcached-weighted": run_spymemcached,
    "uhashring": run_uhashring, "node-memcached": run_node_memcached, "nginx": run_nginx,
    "cache-memcached-fast": run_cmf, "dalli": run_dalli, "pecl-memcache": run_pecl,
}


def python_with(module):
    """A python3 that imports module (Debian's, when the one running this
    script is another: python3-uhashring installs for /usr/bin/python3)."""
    for cand in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if cand and os.access(cand, os.X_OK) and subprocess.run(
                [cand, "-c", "import " + module], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return cand
    return None


def find_tools(args):
    """The client's tools; (tools, what is missing)."""
    c = args.client
    need = {}
    if c.startswith("spymemcached"):
        java = find_tool("java")
        jar = next((p for p in ("/usr/share/java/spymemcached.jar",) if os.path.exists(p)), None)
        need = {"java": java, "spymemcached.jar": jar}
        if java and subprocess.run([java, "--list-modules"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL).stdout.find(b"jdk.compiler") < 0:
            need["java"] = None
        missing = "Debian packages default-jdk-headless, libspymemcached-java"
    elif c == "uhashring":
        need = {"python-uhashring": python_with("uhashring")}
        missing = "Debian package python3-uhashring"
    elif c == "node-memcached":
        need = {"node": find_tool("node") or find_tool("nodejs"),
                "memcached": find_tool("memcached")}
        if not os.path.isdir(os.path.join(args.modules or "", "memcached")):
            need["npm memcached"] = None
        missing = "node, memcached and npm memcached@2 (fixture peers_npm_install_memcached)"
    elif c == "nginx":
        need = {"nginx": find_tool("nginx"), "memcached": find_tool("memcached")}
        missing = "Debian packages nginx, memcached"
    elif c == "cache-memcached-fast":
        perl = find_tool("perl")
        ok = perl and subprocess.run([perl, "-MCache::Memcached::Fast", "-e", "1"],
                                     stderr=subprocess.DEVNULL).returncode == 0
        need = {"perl": perl if ok else None, "memcached": find_tool("memcached")}
        missing = "Debian packages libcache-memcached-fast-perl, memcached"
    elif c == "dalli":
        ruby = find_tool("ruby")
        ok = ruby and subprocess.run([ruby, "-e", "require 'dalli'"],
                                     stderr=subprocess.DEVNULL).returncode == 0
        need = {"ruby": ruby if ok else None, "memcached": find_tool("memcached")}
        missing = "Debian packages ruby-dalli, memcached"
    elif c == "pecl-memcache":
        php = find_tool("php")
        ok = php and subprocess.run([php, "-r", "exit(class_exists('Memcache') ? 0 : 1);"],
                                    stderr=subprocess.DEVNULL).returncode == 0
        need = {"php": php if ok else None, "memcached": find_tool("memcached")}
        missing = "Debian packages php-cli, php-memcache, memcached"
    absent = [k for k, v in need.items() if v is None]
    return need, (missing if absent else None), absent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", required=True, choices=sorted(RUNNERS))
    ap.add_argument("--map", help="hr_peer_map binary")
    ap.add_argument("--dialect", help="the library's dialect (default: the client's)")
    ap.add_argument("--against", choices=("library", "model"), default="library",
                    help="model: check the harness against the rules written out here")
    ap.add_argument("--pairs", default=os.path.join(HERE, "shared_points.tsv"))
    ap.add_argument("--pairs-pp", default=os.path.join(HERE, "shared_points_pp.tsv"))
    ap.add_argument("--modules", help="node_modules holding npm memcached")
    ap.add_argument("--keys", type=int, default=int(os.environ.get("HR_PEER_CLIENT_KEYS", 2000)),
                    help="random keys per pool a client writes")
    ap.add_argument("--ask-keys", type=int,
                    default=int(os.environ.get("HR_PEER_CLIENT_ASK_KEYS", 10000)),
                    help="random keys per pool a client is asked about")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    args.dialect = args.dialect or DIALECT.get(args.client, args.client)
    if args.against == "library" and not args.map:
        ap.error("--map is required")

    tools, missing, absent = find_tools(args)
    if missing:
        print("SKIP: %s not found (%s)" % (", ".join(absent), missing))
        return 77
    seed = args.seed
    if seed is None:
        env = os.environ.get("HR_PEER_SEED")
        seed = int(env) if env else random.SystemRandom().getrandbits(32)
    print("seed %d (HR_PEER_SEED=%d repeats this run)" % (seed, seed))
    rng = random.Random(seed)
    run = Run(args)
    RUNNERS[args.client](run, rng, tools)
    print("%s (dialect %s): %d configurations, %d shared-point rings, %d exact-hit keys, "
          "%d/%d keys agree" % (args.client, args.dialect, run.configs, run.shared, run.exact,
                                run.agree, run.total))
    if run.total == 0:
        print("FAIL: nothing was compared")
        return 1
    return 0 if run.agree == run.total else 1


if __name__ == "__main__":
    try:
        rc = main()
    except Exception as e:  # report, then the cleanup runs
        import traceback
        traceback.print_exc()
        print("FAIL: %s: %s" % (type(e).__name__, e))
        rc = 1
    finally:
        stop_all()
    sys.exit(rc)
