#!/usr/bin/env python3
"""Dialect twemproxy against a live nutcracker (Debian's twemproxy 0.5.x).

For each configuration the test starts 3 to 5 memcached daemons
(memcached -U 0 -l 127.0.0.x -p PORT) and one nutcracker in front of them
(hash md5, distribution ketama, auto_eject_hosts false, the servers with
their weights), all on loopback addresses and free ports it picks itself.
It writes every key THROUGH nutcracker, then asks each memcached directly
which keys it holds: that is where nutcracker put them, the expectation.
The library's answer comes from hr_peer_map (dialect twemproxy, nodes named
"host:port", or the server's name when the config line gives one).
Every process started here is stopped on the way out, failure or not.

Standard library only.  Exit 0 pass, 1 fail, 77 skip (a tool is absent).
"""
import argparse
import hashlib
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # importing peerlib writes no __pycache__ into the sources
from peerlib import (PROCS, PortTaken, Memcached, find_tool, free_port, free_ports,
                     owns_listener, port_is_free, read_back, start, stop, stop_all,
                     wait_listening)


def set_through(addr, port, keys):
    """Stores every key (value: its index) through the proxy; pipelined."""
    with socket.create_connection((addr, port), timeout=20) as s:
        batch = 200
        for b in range(0, len(keys), batch):
            chunk = keys[b:b + batch]
            req = b"".join(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(str(b + i)), str(b + i).encode())
                           for i, k in enumerate(chunk))
            s.sendall(req)
            buf = b""
            while buf.count(b"\r\n") < len(chunk):
                data = s.recv(65536)
                if not data:
                    raise RuntimeError("nutcracker closed the connection")
                buf += data
            replies = buf.split(b"\r\n")[:-1]
            bad = [r for r in replies if r != b"STORED"]
            if bad or len(replies) != len(chunk):
                raise RuntimeError(f"set through nutcracker: unexpected replies {bad[:3]}")



def make_key(i):
    """Key i: counters, printable noise, UTF-8, long structured keys.  No
    space or control byte (memcached text protocol), at most 250 bytes."""
    r = random.Random(i * 7919 + 17)
    kind = i % 4
    if kind == 0:
        return b"key%d" % i
    if kind == 1:
        return bytes(r.randrange(0x21, 0x7F) for _ in range(r.randrange(1, 61)))
    if kind == 2:
        return ("ключ-%d-键-%s" % (i, "é" * r.randrange(0, 5))).encode("utf-8")
    return b"user:%016x:session:%d" % (r.getrandbits(64), i)


def library_map(args, workdir, nodes, keys):
    path = os.path.join(workdir, "nodes.tsv")
    with open(path, "wb") as f:
        for name, w in nodes:
            f.write(name.encode("utf-8") + b"\t%d\n" % w)
    out = subprocess.run([args.map, "twemproxy", path], input=b"\n".join(keys) + b"\n",
                         stdout=subprocess.PIPE, check=True).stdout
    names = out.decode("utf-8").split("\n")[:-1]
    if len(names) != len(keys):
        raise RuntimeError("hr_peer_map returned %d lines for %d keys" % (len(names), len(keys)))
    return names


def run_config(args, tools, title, servers, keys):
    """servers: a list, or a function that picks one (called again, for
    fresh ports, when a daemon loses its port to another process).  Each
    entry: (addr, port, weight, name or None); port as a number or as the
    text the config line gives; addr a path (port None): a unix socket.
    The library's node: the name, else the config's "addr:port" text, else
    the path.  Returns (agree, total)."""
    for attempt in range(5):
        chosen = servers() if callable(servers) else servers
        try:
            return run_once(args, tools, title, chosen, keys)
        except PortTaken as e:
            print("note: %s: %s; trying again" % (title, e))
            sys.stdout.flush()
    raise RuntimeError("%s: the daemons lost their ports 5 times" % title)


def wait_nutcracker(nc, listen, stats):
    """Until nutcracker itself listens on both ports (not another process
    that holds one of them); PortTaken when it exits (a port it could not
    bind)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if nc.poll() is not None:
            raise PortTaken("nutcracker exited with status %d" % nc.returncode)
        own = [owns_listener(nc.pid, p) for p in (listen, stats)]
        if None in own:  # no /proc: a connection is all that can be checked
            wait_listening("127.0.0.1", listen, nc, "nutcracker")
            return
        if all(own):
            return
        time.sleep(0.05)
    raise RuntimeError("nutcracker is not listening on 127.0.0.1:%d" % listen)


def run_once(args, tools, title, servers, keys):
    workdir = tempfile.mkdtemp(prefix="hr-peer-twem-")
    started = []
    try:
        mcs = [Memcached(tools, workdir, a, p) for a, p, _, _ in servers]
        started = [m.proc for m in mcs]
        listen, stats = free_ports(2, avoid={int(p) for _, p, _, _ in servers if p is not None})
        conf = os.path.join(workdir, "nutcracker.yml")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("peers:\n  listen: 127.0.0.1:%d\n  hash: md5\n  distribution: ketama\n"
                    "  auto_eject_hosts: false\n  timeout: 5000\n  servers:\n" % listen)
            for a, p, w, name in servers:
                addr = a if p is None else "%s:%s" % (a, p)
                f.write("   - %s:%d%s\n" % (addr, w, " " + name if name else ""))
        nc = start([tools["nutcracker"], "-c", conf, "-s", str(stats), "-a", "127.0.0.1",
                    "-o", os.path.join(workdir, "nutcracker.log")], "nutcracker",
                   os.path.join(workdir, "nutcracker.out"))
        started.append(nc)
        wait_nutcracker(nc, listen, stats)
        set_through("127.0.0.1", listen, keys)
        where = read_back(mcs, keys)
        lib_names = [name if name else a if p is None else "%s:%s" % (a, p)
                     for a, p, _, name in servers]
        lib = library_map(args, workdir, [(lib_names[i], s[2]) for i, s in enumerate(servers)],
                          keys)
        agree = 0
        shown = 0
        per = [0] * len(servers)
        for i, k in enumerate(keys):
            per[where[i]] += 1
            if lib[i] == lib_names[where[i]]:
                agree += 1
            elif shown < 5:
                shown += 1
                print("  MISMATCH %s: key %r: library %s, nutcracker put it on %s"
                      % (title, k, lib[i], lib_names[where[i]]))
        print("twemproxy %-34s %d servers: %d/%d keys agree (keys per server %s)"
              % (title, len(servers), agree, len(keys), per))
        sys.stdout.flush()
        return agree, len(keys)
    finally:
        for p in started:
            if p in PROCS:
                PROCS.remove(p)
            stop(p)
        shutil.rmtree(workdir, ignore_errors=True)


def position(key):
    return struct.unpack_from("<I", hashlib.md5(key).digest())[0]


def ring_points(hashed_names):
    """All points of an equal 2-server ring (40 hashes of 4 points each): only
    used to find keys in an arc; the owner is what nutcracker says."""
    pts = []
    for n in hashed_names:
        for j in range(40):
            d = hashlib.md5(("%s-%d" % (n, j)).encode()).digest()
            pts += struct.unpack("<4I", d)
    return sorted(pts)


def arc_keys(tag, pts, point, count_before=20, count_after=5):
    """Keys in the arc ending at `point` and in the arc right after it."""
    i = pts.index(point)
    prev = pts[i - 1] if i > 0 else pts[-1]
    j = i
    while pts[j % len(pts)] == point:
        j += 1
    nxt = pts[j % len(pts)]

    def inside(lo, hi, x):  # (lo, hi] on the circle
        return lo < x <= hi if lo < hi else (x > lo or x <= hi)

    keys, nb, na, c = [], 0, 0, 0
    while nb < count_before or na < count_after:
        k = b"arc-%s-%d" % (tag.encode(), c)
        c += 1
        x = position(k)
        if inside(prev, point, x) and nb < count_before:
            keys.append(k)
            nb += 1
        elif inside(point, nxt, x) and na < count_after:
            keys.append(k)
            na += 1
    return keys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--map", required=True, help="hr_peer_map binary")
    ap.add_argument("--pairs", required=True, help="shared_points.tsv")
    ap.add_argument("--keys", type=int, default=int(os.environ.get("HR_PEER_TWEM_KEYS", 10000)))
    args = ap.parse_args()

    tools = {t: find_tool(t) for t in ("memcached", "nutcracker")}
    absent = [t for t, p in tools.items() if p is None]
    if absent:
        print("SKIP: not installed: %s (Debian packages memcached, nutcracker)" % ", ".join(absent))
        return 77

    keys = list(dict.fromkeys(make_key(i) for i in range(args.keys)))  # distinct
    results = []
    lo = "127.0.0.1"

    # Each configuration is a function that picks its ports, so that one
    # whose daemon lost a port to another process can run again on others.
    results.append(run_config(args, tools, "equal weights",
                              lambda: [(lo, x, 1, None) for x in free_ports(4)], keys))

    results.append(run_config(args, tools, "weights 1,1,3,10,10",
                              lambda: [(lo, x, w, None)
                                       for x, w in zip(free_ports(5), (1, 1, 3, 10, 10))], keys))

    # Weights 1 and 10,000; then the largest weights nutcracker reads
    # (2^31 - 1) up to the largest total its uint32_t sum holds, 2^32 - 1.
    results.append(run_config(args, tools, "weights 1,10000,1,10000",
                              lambda: [(lo, x, w, None) for x, w
                                       in zip(free_ports(4), (1, 10000, 1, 10000))], keys))
    big = 2**31 - 1
    results.append(run_config(args, tools, "weights 2^31-1, 2^31-1, 1: total 2^32-1",
                              lambda: [(lo, x, w, None) for x, w
                                       in zip(free_ports(3), (big, big, 1))], keys))
    # Past 2^32 - 1 the sum wraps: here every server gets twice its share.
    results.append(run_config(args, tools, "4 x 2^31-1: the total wraps",
                              lambda: [(lo, x, w, None) for x, w
                                       in zip(free_ports(4), (big, big, big - 6, big))], keys))

    names = ["alpha", "b", "cache-gamma-03", "delta.example.org", "e5"]
    results.append(run_config(args, tools, "named servers, weights 2,1,1,3,1",
                              lambda: [(lo, x, w, n) for x, w, n
                                       in zip(free_ports(5), (2, 1, 1, 3, 1), names)], keys))

    # The port-11211 rule: 127.0.0.2..5 port 11211 (all of 127/8 is
    # loopback), one more server on 127.0.0.1 with another port.
    addrs = ["127.0.0.%d" % i for i in range(2, 40)]
    free11211 = [a for a in addrs if port_is_free(a, 11211)][:3]
    if len(free11211) < 3:
        print("FAIL: port 11211 is busy on too many 127.0.0.x addresses")
        return 1
    results.append(run_config(args, tools, "port 11211 hashed without port",
                              lambda: [(a, 11211, 1, None) for a in free11211]
                              + [(lo, free_port(lo), 1, None)], keys))

    # Ports as written: nutcracker hashes the config's text, leading zeros
    # and all, except that a port whose value is 11211 is left out.
    z = [a for a in addrs if port_is_free(a, 11211)][:1]
    if not z:
        print("FAIL: port 11211 is busy on every 127.0.0.x address tried")
        return 1

    def leading_zeros():
        p = free_ports(3)
        return [(lo, "0%d" % p[0], 1, None), (lo, "00%d" % p[1], 2, None),
                (lo, p[2], 1, None), (z[0], "011211", 1, None)]
    results.append(run_config(args, tools, "ports with leading zeros", leading_zeros, keys))

    # Unix socket servers ("- /path:weight"): nutcracker hashes "/path:".
    sockdir = tempfile.mkdtemp(prefix="hr-twem-sock-")
    try:
        results.append(run_config(args, tools, "unix sockets",
                                  lambda: [(os.path.join(sockdir, "mc-a.sock"), None, 1, None),
                                           (lo, free_port(lo), 1, None),
                                           (os.path.join(sockdir, "mc-b.sock"), None, 2, None)],
                                  keys))
    finally:
        shutil.rmtree(sockdir, ignore_errors=True)

    # Configured names that look like host:port are hashed as written (a
    # name whose port part is 11211 cannot be told from an address: not here).
    looks = ["web:080", "[v6]:11212", "cache:1", "db.example:22122"]
    results.append(run_config(args, tools, "names that look like host:port",
                              lambda: [(lo, x, 1, n) for x, n in zip(free_ports(4), looks)],
                              keys))

    # Shared points (committed inputs): two servers producing the same point;
    # keys in the arc ending at it, just after it, and exactly on it.
    pairs = []
    with open(args.pairs, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fam, point, a, b, hit = line.rstrip("\n").split("\t")
            pairs.append((fam, int(point), a, b, None if hit == "-" else hit.encode()))
    shared_rings = 0
    for fam, point, a, b, hit in pairs:
        if fam == "x3":
            continue  # 3 points per digest: not twemproxy
        pts = ring_points([a, b])
        if pts.count(point) != 2:
            print("FAIL: input pair %s %s does not share point %d" % (a, b, point))
            return 1
        ks = arc_keys("%s-%s" % (a, b), pts, point)
        if hit is not None:
            if position(hit) != point:
                print("FAIL: input key %r is not on point %d" % (hit, point))
                return 1
            ks.append(hit)
        if fam == "x4":
            # Named servers: the name is what is hashed; both config orders.
            for order in ((a, b), (b, a)):
                results.append(run_config(args, tools, "shared point, named %s,%s" % order,
                                          lambda order=order: [(lo, x, 1, n) for x, n
                                                               in zip(free_ports(2), order)],
                                          ks))
                shared_rings += 1
        else:
            # a = "127.0.x.y" served on port 11211, b = "127.0.0.1:PORT".
            bhost, bport = b.rsplit(":", 1)
            if not (port_is_free(a, 11211) and port_is_free(bhost, int(bport))):
                print("note: %s:11211 or %s busy, pair skipped" % (a, b))
                continue
            for order in (((a, 11211), (bhost, int(bport))), ((bhost, int(bport)), (a, 11211))):
                results.append(run_config(args, tools, "shared point, %s:%d,%s:%d"
                                          % (order[0] + order[1]),
                                          [(h, pt, 1, None) for h, pt in order], ks))
                shared_rings += 1
    agree = sum(r[0] for r in results)
    total = sum(r[1] for r in results)
    print("twemproxy: %d configurations (%d shared-point rings), %d/%d keys agree"
          % (len(results), shared_rings, agree, total))
    if shared_rings == 0:
        print("FAIL: no shared-point ring could be tested")
        return 1
    return 0 if agree == total else 1


if __name__ == "__main__":
    try:
        rc = main()
    except Exception as e:  # report, then the cleanup runs
        print("FAIL: %s: %s" % (type(e).__name__, e))
        rc = 1
    finally:
        stop_all()
    sys.exit(rc)
