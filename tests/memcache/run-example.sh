#!/bin/sh
# run-example.sh BUILD_DIR - the README's quick start for the memcached client.
#
# Starts three memcached daemons on free loopback ports, runs the built C
# example (BUILD_DIR/tests/memcache/example_mc) and the `hash-ring mc` command
# against them, and stops the daemons whatever happens.  Needs memcached
# (Debian package memcached).  Exit 0 when the example read back "world";
# 77 when memcached is not installed.
set -u
build=${1:?usage: run-example.sh BUILD_DIR}
example=$build/tests/memcache/example_mc
cli=$build/src/cli/hash-ring
for f in "$example" "$cli"; do
    if [ ! -x "$f" ]; then
        echo "run-example.sh: $f not built (cmake --build $build)" >&2
        exit 2
    fi
done
memcached=$(command -v memcached || true)
if [ -z "$memcached" ]; then
    echo "SKIP: memcached is not installed (Debian package memcached)"
    exit 77
fi

pids=""
cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

user_opt=""
[ "$(id -u)" = 0 ] && user_opt="-u root"

# A free port: a random one that our own memcached manages to bind.  Sets
# $port and records the daemon's pid for cleanup (no subshell, so the pid
# list survives).
start_memcached() {
    tries=0
    while [ $tries -lt 20 ]; do
        tries=$((tries + 1))
        port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 + 20000 ))
        # shellcheck disable=SC2086
        "$memcached" -l 127.0.0.1 -p "$port" -U 0 -t 1 $user_opt >/dev/null 2>&1 &
        pid=$!
        pids="$pids $pid"
        n=0
        while [ $n -lt 50 ]; do
            n=$((n + 1))
            if ! kill -0 "$pid" 2>/dev/null; then
                break # could not bind: try another port
            fi
            if "$cli" --node "127.0.0.1:$port" mc --timeout 200 stats >/dev/null 2>&1; then
                return 0
            fi
            sleep 0.1
        done
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    return 1
}

servers=""
for i in 1 2 3; do
    start_memcached || { echo "run-example.sh: cannot start memcached" >&2; exit 1; }
    servers="$servers 127.0.0.1:$port"
done
echo "servers:$servers"

echo "\$ example_mc$servers"
# shellcheck disable=SC2086
out=$("$example" $servers) || { echo "run-example.sh: example failed" >&2; exit 1; }
echo "$out"

nodes=""
for s in $servers; do
    nodes="$nodes --node $s"
done
echo "\$ hash-ring$nodes mc get hello"
# shellcheck disable=SC2086
"$cli" $nodes mc get hello || exit 1
echo "\$ hash-ring$nodes mc set counter 41 && hash-ring ... mc incr counter 1"
# shellcheck disable=SC2086
"$cli" $nodes mc set counter 41 && "$cli" $nodes mc incr counter 1 || exit 1
echo "\$ hash-ring$nodes mc stats"
# shellcheck disable=SC2086
"$cli" $nodes mc stats || exit 1

first=$(echo "$out" | head -n 1)
[ "$first" = "world" ] || { echo "run-example.sh: expected 'world', got '$first'" >&2; exit 1; }
echo "ok"
