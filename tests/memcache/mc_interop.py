#!/usr/bin/env python3
"""Interop helper for test_mc_interop: Debian's python3-memcache (the client
the original MemcacheRing was built on) on the server the Python ring names.

usage: mc_interop.py read|write GET_TSV FIRST COUNT NAME=ADDR...

GET_TSV is a tests/vectors python.get.tsv (computed by the original Python
hash_ring): KEY<TAB>NODE.  For the COUNT keys from line FIRST on, each key is
read from (read) or written to (write) exactly the server that file names,
with a one-server memcache.Client, so python-memcache's own hashing plays no
part.
  read:  expects the bytes b"c-" + KEY stored by the C client (flags 0)
  write: stores the str "p-" + KEY (python-memcache gives text flag 16)
Exit status 0 when every key was as expected."""
import sys

import memcache


def main(argv):
    mode, tsv, first, count = argv[1], argv[2], int(argv[3]), int(argv[4])
    addr = dict(a.split("=", 1) for a in argv[5:])
    with open(tsv, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    rows = rows[first:first + count]
    clients = {name: memcache.Client([a]) for name, a in addr.items()}
    bad = 0
    for key, node in rows:
        mc = clients[node]
        if mode == "read":
            got = mc.get(key)
            if got != ("c-" + key).encode():
                print("key %s on %s: got %r" % (key, node, got))
                bad += 1
            # and on no other server
            for other, omc in clients.items():
                if other != node and omc.get(key) is not None:
                    print("key %s also found on %s" % (key, other))
                    bad += 1
        else:
            if not mc.set(key, "p-" + key):
                print("key %s: set on %s failed" % (key, node))
                bad += 1
    for c in clients.values():
        c.disconnect_all()
    print("python3-memcache %s: %d keys, %d bad" % (mode, len(rows), bad))
    return 1 if bad or len(rows) != count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
