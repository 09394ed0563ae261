#!/usr/bin/python3
"""The ring and the memcached client are two libraries; this keeps them so.

  check_split.py includes SOURCE_DIR
      Every #include of every file under src/memcache/ names a public header
      (include/*.h), a file of src/memcache/ itself, or a system header; no
      private header of the ring (src/*.h, or any path that climbs out of
      src/memcache) is included, whether with "" or <>.  The client is built
      on the public ring API only.
  check_split.py no-sockets LIB.so
      `nm -D --undefined-only` of the ring's shared library names none of
      the network functions (socket, connect, poll, getaddrinfo, send, recv,
      ... : the list below): libhash_ring has no socket code.  A library that
      does use them (the client's) makes this check fail.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrpkg  # noqa: E402
from hrpkg import check  # noqa: E402

# What a network client imports from libc; none may be in the ring.
NETWORK = {
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "shutdown",
    "poll", "ppoll", "select", "pselect", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_wait", "getaddrinfo", "freeaddrinfo", "gai_strerror", "getnameinfo",
    "gethostbyname", "gethostbyname2", "inet_pton", "inet_ntop", "send", "sendto",
    "sendmsg", "recv", "recvfrom", "recvmsg", "setsockopt", "getsockopt", "getpeername",
    "getsockname", "writev", "readv",
}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def main_includes(src):
    src = os.path.abspath(src)
    mc = os.path.join(src, "src", "memcache")
    core = os.path.join(src, "src")
    public = {h for h in os.listdir(os.path.join(src, "include")) if h.endswith(".h")}
    own = {f for f in os.listdir(mc) if os.path.isfile(os.path.join(mc, f))}
    private = {h for h in os.listdir(core) if h.endswith(".h")} - public - own
    check(len(private) > 0, "src/ has private ring headers to guard against", sorted(private))
    files = sorted(f for f in own if f.endswith((".c", ".h")))
    check(len(files) > 0, "src/memcache holds sources", files)
    n = 0
    for f in files:
        text = open(os.path.join(mc, f), encoding="utf-8").read()
        # A comment may mention #include; only directives count.
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        for m in INCLUDE_RE.finditer(text):
            n += 1
            kind, name = m.groups()
            base = os.path.basename(name)
            what = f"src/memcache/{f}: #include {kind}{name}{'>' if kind == '<' else chr(34)}"
            if kind == '"':
                # Quoted: a public header or a file of src/memcache, by its
                # plain name (no directory part that could reach elsewhere).
                check(name == base and (name in public or name in own),
                      f"{what} names a public header or a file of src/memcache")
            else:
                check(".." not in name.split("/"), f"{what} does not climb out of the path")
            # Also with <>: the client's include path cannot reach src/ today,
            # but the rule is the sources', not the build's.  (A system header
            # that shares a private header's name, <search.h>, would have to
            # be allowed here by name.)
            check(base not in private, f"{what} does not include the ring's private {base}")
    check(n > 0, "src/memcache's files include something")
    print(f"{len(files)} files of src/memcache, {n} #include lines; private ring headers: "
          f"{' '.join(sorted(private))}")
    hrpkg.finish("client includes")


def main_no_sockets(lib):
    out = hrpkg.run(["nm", "-D", "--undefined-only", lib]).stdout
    imported = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.split()}
    check(len(imported) > 0, f"{os.path.basename(lib)} imports something (nm worked)", out)
    bad = sorted(imported & NETWORK)
    check(not bad, f"{os.path.basename(lib)} imports no network function", " ".join(bad))
    print(f"{os.path.basename(lib)}: {len(imported)} undefined symbols, {len(bad)} of them "
          f"among {len(NETWORK)} network functions")
    hrpkg.finish("no sockets")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "includes":
        main_includes(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "no-sockets":
        main_no_sockets(sys.argv[2])
    else:
        hrpkg.die("usage: check_split.py includes SOURCE_DIR | no-sockets LIB.so")
