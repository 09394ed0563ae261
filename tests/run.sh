#!/bin/sh
# tests/run.sh - the project's two entry points (README "Quick start").
#
#   sh tests/run.sh demo   install what is missing, build, run the main job
#   sh tests/run.sh test   install what is missing, build, run the whole suite:
#                          plain, ASan+UBSan, TSan and valgrind memcheck, and
#                          the core tests with MD5 through EVP
#
# Works as root on a fresh Debian 12 (bookworm); as another user it uses sudo
# for apt-get.  Set HASH_RING_NO_APT=1 to skip package installation, and
# HASH_RING_NPM_PEER=OFF to skip the peers fetched from the npm registry.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

# Everything the build and the tests use, from Debian's archive.
PACKAGES="build-essential cmake pkg-config libssl-dev zlib1g-dev libcmocka-dev valgrind
  memcached nutcracker libmemcached-dev python3 python3-memcache
  abigail-tools clang libclang-rt-14-dev file dpkg-dev procps lintian
  default-jdk-headless libspymemcached-java python3-uhashring nginx
  libcache-memcached-fast-perl ruby-dalli php-cli php8.2-memcache
  python3-dev python3-setuptools python3-pip python3-wheel"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

deps() {
    [ "${HASH_RING_NO_APT:-0}" = 1 ] && return 0
    missing=""
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    # Node.js and npm: Debian's packages, unless a node with npm is present.
    if ! command -v npm >/dev/null 2>&1; then
        missing="$missing nodejs npm"
    fi
    if [ -n "$missing" ]; then
        echo "installing:$missing"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        # shellcheck disable=SC2086
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends $missing
    fi
    # The packaged daemons are not needed: the tests start their own on
    # free loopback ports.  Stop any the install started.
    for svc in memcached nutcracker nginx; do
        if [ -x /etc/init.d/$svc ]; then as_root /etc/init.d/$svc stop >/dev/null 2>&1 || true; fi
    done
}

build() { # build DIR [cmake options...]
    dir=$1
    shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DHASH_RING_NPM_PEER="${HASH_RING_NPM_PEER:-ON}" "$@"
    cmake --build "$dir" -j"$jobs"
}

case "${1:-test}" in
deps)
    deps
    ;;
demo)
    deps
    build build
    ./build/src/cli/hash-ring demo
    if [ -f tests/memcache/run-example.sh ]; then
        sh tests/memcache/run-example.sh build
    fi
    ;;
test)
    deps
    start=$(date +%s)
    echo "=== plain build: the whole suite"
    build build -DHASH_RING_BUILD_PYTHON=ON
    ctest --test-dir build --output-on-failure -j"$jobs" --timeout 900

    echo "=== EVP build: MD5 through EVP_Digest instead of the low-level functions"
    build build-evp -DHASH_RING_FORCE_EVP=ON -DHASH_RING_BUILD_CLI=OFF
    ctest --test-dir build-evp --output-on-failure -j"$jobs" -R '^test_(digest|vectors|vectors_clients|api|properties|properties_clients)$'

    echo "=== ASan + UBSan: the whole suite"
    build build-asan -DHASH_RING_SANITIZE=address,undefined -DHASH_RING_BUILD_PYTHON=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 1800 -LE "bench-smoke|abi"

    echo "=== TSan: concurrency and everything threaded"
    # (test_search_portable: single-threaded, a second copy of test_search)
    build build-tsan -DHASH_RING_SANITIZE=thread
    TSAN_OPTIONS=halt_on_error=1 \
        ctest --test-dir build-tsan --output-on-failure -j"$jobs" --timeout 1800 -L "unit" \
        -E '^test_search_portable$'

    echo "=== valgrind memcheck: the C test programs"
    HASH_RING_UNDER_VALGRIND=1 HASH_RING_STRESS_SECONDS=1 \
        ctest --test-dir build --output-on-failure -j"$jobs" --timeout 3600 -L unit -LE slow \
        -T memcheck
    echo "=== all green in $(( $(date +%s) - start )) s"
    ;;
*)
    echo "usage: sh tests/run.sh demo|test|deps" >&2
    exit 2
    ;;
esac
