#!/usr/bin/env python3
"""test_memcache_live.py - MemcacheRing, the C client and a plain model
share three real memcached daemons.

usage: test_memcache_live.py HASH_RING_CLI VECTORS_DIR [MEMCACHED]
Exit 0 pass, 1 fail, 77 skip (memcached or python3-memcache absent).

Three writers share one pool: this package's MemcacheRing (python-memcache
underneath), the C client (`hash-ring mc` from the build tree) and a model
client here (Model from test_ring.py places the key, a raw socket stores
it).  Each reads what the others wrote, and every key is found on exactly
the daemon the model names.  Then one daemon is killed with SIGKILL and
MemcacheRing must fail over in the original's order: the first live server
of iterate_nodes, as the model computes it.
"""
import os
import shutil
import socket
import subprocess
import sys
import time

from test_ring import Model

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def raw(port, request, until=b"END\r\n"):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while not data.endswith(until):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def raw_get(port, key):
    r = raw(port, b"get " + key + b"\r\n")
    if r == b"END\r\n":
        return None
    header, rest = r.split(b"\r\n", 1)
    return rest[:int(header.split()[3])]


def raw_set(port, key, value):
    r = raw(port, b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value), until=b"\r\n")
    return r == b"STORED\r\n"


class Daemon:
    """A memcached on a free loopback port; a start that loses the port to
    another process (the port is free when chosen, not when bound) retries
    on another one.  Ready once it answers `stats` with its own pid."""

    def __init__(self, memcached):
        self.memcached = memcached
        self.proc = None
        self.port = None

    def start(self):
        for _ in range(8):
            p = free_port()
            args = [self.memcached, "-l", "127.0.0.1", "-p", str(p), "-U", "0", "-t", "1"]
            if os.geteuid() == 0:
                args += ["-u", "root"]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    if b"STAT pid %d\r\n" % proc.pid in raw(p, b"stats\r\n"):
                        self.proc, self.port = proc, p
                        return
                except OSError:
                    pass
                time.sleep(0.01)
            proc.kill()
            proc.wait()
        raise RuntimeError("cannot start memcached")

    def kill(self):
        if self.proc is not None:
            self.proc.kill()  # SIGKILL
            self.proc.wait()
            self.proc = None


def main():
    cli, _vectors = sys.argv[1], sys.argv[2]
    memcached = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else shutil.which("memcached")
    if not memcached or not os.access(memcached, os.X_OK):
        print("SKIP: memcached is not installed (Debian package memcached)")
        return 77
    try:
        import memcache  # noqa: F401
    except ImportError:
        print("SKIP: python-memcache is not installed (Debian package python3-memcache)")
        return 77
    from hash_ring import MemcacheRing

    daemons = [Daemon(memcached) for _ in range(3)]
    try:
        for d in daemons:
            d.start()
        servers = ["127.0.0.1:%d" % d.port for d in daemons]
        port = {s: d.port for s, d in zip(servers, daemons)}
        model = Model(servers)
        mc = MemcacheRing(servers, socket_timeout=10)
        from hash_ring.memcache_ring import MemcacheRing as MR2
        check(isinstance(mc, __import__("memcache").Client) and MR2 is MemcacheRing,
              "MemcacheRing is a memcache.Client, also as hash_ring.memcache_ring's")

        def cli_mc(*args):
            cmd = [cli]
            for s in servers:
                cmd += ["--node", s]
            p = subprocess.run(cmd + ["mc"] + list(args), capture_output=True, timeout=120)
            return p.returncode, p.stdout, p.stderr

        def holders(key):
            return [s for s in servers if raw_get(port[s], key) is not None]

        # 1. MemcacheRing writes; the model's server holds each key; the C
        #    client and a raw read of the model's server read it back.
        keys = ["py-%d" % i for i in range(60)] + ["ключ-%d" % i for i in range(6)]
        for k in keys:
            check(mc.set(k, b"from-python-" + k.encode()), "MemcacheRing.set %s" % k)
        for k in keys:
            kb = k.encode()
            check(holders(kb) == [model.get_node(k)],
                  "%s: on %r, model says %s" % (k, holders(kb), model.get_node(k)))
        rc, out, err = cli_mc("get", *keys[:30])
        want = b"".join(b"%s\t%s\n" % (k.encode(), b"from-python-" + k.encode())
                        for k in keys[:30])
        check(rc == 0 and out == want, "C client reads MemcacheRing's keys: %d %r" % (rc, err))
        # 2. The C client writes; MemcacheRing and the model read.
        ckeys = ["c-%d" % i for i in range(40)]
        for k in ckeys:
            rc, _, err = cli_mc("set", k, "from-c-" + k)
            check(rc == 0, "C client set %s: %r" % (k, err))
        for k in ckeys:
            check(mc.get(k) == b"from-c-" + k.encode(), "MemcacheRing reads C's %s" % k)
            check(raw_get(port[model.get_node(k)], k.encode()) == b"from-c-" + k.encode(),
                  "model's server holds C's %s" % k)
        # 3. The model writes (raw socket on the model's server); the others read.
        mkeys = ["m-%d" % i for i in range(40)]
        for k in mkeys:
            check(raw_set(port[model.get_node(k)], k.encode(), b"from-model-" + k.encode()),
                  "raw set %s" % k)
        got = mc.get_multi(mkeys)
        check(got == {k: b"from-model-" + k.encode() for k in mkeys},
              "MemcacheRing.get_multi reads the model's keys: %d of %d" % (len(got), len(mkeys)))
        rc, out, err = cli_mc("get", *mkeys)
        check(rc == 0 and out == b"".join(b"%s\tfrom-model-%s\n" % (k.encode(), k.encode())
                                          for k in mkeys), "C client reads the model's keys")
        # Other memcache.Client methods, unchanged.
        check(mc.set("counter", 10) and mc.incr("counter", 5) == 15, "incr")
        check(holders(b"counter") == [model.get_node("counter")], "counter placement")
        check(mc.delete("py-1") and mc.get("py-1") is None and holders(b"py-1") == [], "delete")
        check(mc.add("py-2", b"x") == 0 or not mc.add("py-2", b"x"), "add on an existing key")
        # 4. kill -9 the daemon owning the most keys; MemcacheRing fails over
        #    to the first live server in the original's iterate_nodes order.
        victim = max(servers, key=lambda s: sum(model.get_node(k) == s for k in keys))
        daemons[servers.index(victim)].kill()
        # python-memcache finds a dead server when it connects: drop the open
        # connections (a call on a stale one fails once, before any choice).
        mc.disconnect_all()
        fkeys = [k for k in ("f-%d" % i for i in range(400)) if model.get_node(k) == victim][:25]
        check(len(fkeys) >= 10, "too few keys on the victim: %d" % len(fkeys))
        alive = [s for s in servers if s != victim]
        for k in fkeys:
            order = model.iterate_nodes(k)
            want = [s for s in order if s != victim][0]
            check(order[0] == victim and mc.set(k, b"after-kill"), "set %s after the kill" % k)
            got = [s for s in alive if raw_get(port[s], k.encode()) is not None]
            check(got == [want], "%s failed over to %r, want %s (order %r)" % (k, got, want, order))
            check(mc.get(k) == b"after-kill", "get %s after fail-over" % k)
        # keys of live servers stay where they were
        for k in keys:
            if model.get_node(k) != victim and k != "py-1":
                check(mc.get(k) == b"from-python-" + k.encode(), "%s still readable" % k)
        print("# live: %d MemcacheRing keys, %d C keys, %d model keys; fail-over of %d keys"
              % (len(keys), len(ckeys), len(mkeys), len(fkeys)))
        mc.disconnect_all()
    finally:
        for d in daemons:
            d.kill()
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
