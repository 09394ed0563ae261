"""Placements by Python uhashring's own HashRing (hash_fn='ketama').

    python3 uhashring_peer.py NODES KEYS

NODES: lines "name<TAB>weight", added in that order; KEYS: one key per line
(UTF-8 text, as a Python application passes str keys).  Output: the owner's
index per key, from HashRing.get_node."""
import sys

from uhashring import HashRing


def main():
    names, weights = [], {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            name, w = line.rstrip("\n").split("\t")
            names.append(name)
            weights[name] = int(w)
    ring = HashRing(nodes=weights, hash_fn="ketama")
    index = {n: i for i, n in enumerate(names)}
    out = []
    with open(sys.argv[2], encoding="utf-8", newline="\n") as f:
        for line in f:
            out.append("%d\n" % index[ring.get_node(line[:-1] if line.endswith("\n") else line)])
    sys.stdout.write("".join(out))


main()
