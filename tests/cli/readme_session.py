#!/usr/bin/env python3
"""The README's hash-ring session is what the installed tool prints.

Usage: readme_session.py README STAGED_HASH_RING VECTORS_DIR

The README ("The command-line tool") shows a shell session: `cat
servers.txt`, then commands with their output.  This writes servers.txt as
shown, runs every other command line with sh in that directory (the staged
hash-ring first on PATH, stderr into stdout as a terminal shows it) and
compares each output with the README's, line by line.

So that the session cannot simply agree with a wrong tool, the placements
and shares it shows are also checked against the original Python hash_ring
(tests/vectors/seed3-weighted, the same three servers weighted 1, 2, 1):
the first continuum points, the owners and replica order of the keys (the
first point above the key's MD5 position, read off the original's
continuum) and each node's exact count of the 2^32 positions.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

FAILED = 0
CHECKS = 0


def check(ok, what, detail=""):
    global FAILED, CHECKS
    CHECKS += 1
    if not ok:
        FAILED += 1
        print("FAIL: %s %s" % (what, detail))


def session(readme):
    """[(command, [output lines])] of the indented block starting at `$ cat servers.txt`."""
    lines = open(readme, encoding="utf-8").read().split("\n")
    start = lines.index("    $ cat servers.txt")
    steps = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        text = line[4:]
        if text.startswith("$ "):
            steps.append((text[2:], []))
        else:
            steps[-1][1].append(text)
    return steps


def original(vectors):
    """Points and owners of the original's continuum, sorted, one owner a point."""
    points = []
    with open(os.path.join(vectors, "seed3-weighted", "python.continuum.tsv")) as f:
        for line in f:
            p, node = line.rstrip("\n").split("\t")
            points.append((int(p), node))
    return points


def owners_from(points, key, n):
    """The first n distinct nodes from the first point above the key (Python's bisect)."""
    pos = int.from_bytes(hashlib.md5(key.encode()).digest()[:4], "little")
    i = next((j for j, (p, _) in enumerate(points) if p > pos), 0)
    out = []
    for j in range(len(points)):
        node = points[(i + j) % len(points)][1]
        if node not in out:
            out.append(node)
        if len(out) == n:
            break
    return out


def positions(points):
    """Each node's count of the 2^32 positions: the gap below each point is its owner's."""
    count = {}
    prev = points[-1][0] - (1 << 32)
    for p, node in points:
        if p != prev:
            count[node] = count.get(node, 0) + p - prev
        prev = p
    return count


def main(readme, binary, vectors):
    steps = session(readme)
    check(steps and steps[0][0] == "cat servers.txt", "the session starts with cat servers.txt")
    tmp = tempfile.mkdtemp(prefix="hr-readme-")
    try:
        with open(os.path.join(tmp, "servers.txt"), "w") as f:
            f.write("".join(line + "\n" for line in steps[0][1]))
        env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(binary)) + os.pathsep +
                   os.environ.get("PATH", ""), LC_ALL="C")
        outputs = {}
        for cmd, want in steps[1:]:
            p = subprocess.run(["sh", "-c", cmd], cwd=tmp, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=120)
            got = p.stdout.decode("utf-8", "replace").split("\n")
            if got and got[-1] == "":
                got.pop()
            check(got == want, "README: $ %s" % cmd,
                  "\n  README shows: %r\n  tool prints:  %r" % (want, got))
            outputs[cmd] = want
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    points = original(vectors)
    nodes = [line.split()[0] for line in steps[0][1]]
    for cmd, want in outputs.items():
        words = cmd.split()
        if "servers.txt" not in words:
            continue
        if "get" in words and "map" not in words:
            for line in want:
                key, node = line.split("\t")
                check([node] == owners_from(points, key, 1),
                      "README get %s: the original says %s" % (key, owners_from(points, key, 1)))
        if "map" in words:
            for line in want:
                if '"key"' in line:
                    key = line.split('"key": "')[1].split('"')[0]
                    node = line.split('"node": "')[1].split('"')[0]
                    check([node] == owners_from(points, key, 1), "README map %s" % key)
        if "replicas" in words:
            n = int(words[words.index("replicas") + 1])
            for line in want:
                key, *reps = line.split("\t")
                check(reps == owners_from(points, key, n), "README replicas %s" % key)
        if "continuum" in words:
            shown = [(int(p), node) for p, node in (line.split("\t") for line in want)]
            check(shown == points[:len(shown)], "README continuum head is the original's")
        if cmd.endswith(" stats"):
            count = positions(points)
            rows = [line.split("\t") for line in want if line.split("\t")[0] in nodes]
            check(len(rows) == len(nodes), "README stats lists every node")
            for row in rows:
                check(int(row[3]) == count.get(row[0]), "README stats positions of %s" % row[0],
                      "(original: %s)" % count.get(row[0]))
                share = "%.4f%%" % (100 * count.get(row[0], 0) / (1 << 32))
                check(row[4] == share, "README stats share of %s" % row[0], share)
    print("readme_session: %d commands, %d checks, %d failed" % (len(steps) - 1, CHECKS, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: readme_session.py README STAGED_HASH_RING VECTORS_DIR")
    sys.exit(main(*sys.argv[1:]))
