"""Shared helpers of the packaging tests (Python standard library only).

Every check goes through check(): it counts what was checked, prints each
failure, and fail_count() decides the exit status.  SKIP (exit 77, the
SKIP_RETURN_CODE of these tests) is only used for what cannot work in the
current configuration, with the reason printed.
"""

import os
import re
import shutil
import subprocess
import sys

SKIP = 77

_checks = 0
_failures = []


def check(ok, what, detail=""):
    """Records one check; prints it when it fails."""
    global _checks
    _checks += 1
    if not ok:
        msg = "FAIL: " + what
        if detail:
            msg += "\n      " + str(detail).replace("\n", "\n      ")
        print(msg, flush=True)
        _failures.append(what)
    return bool(ok)


def finish(name):
    """Prints the summary and exits 0 (all checks passed) or 1."""
    if _checks == 0:
        print(f"{name}: no check ran", flush=True)
        sys.exit(1)
    if _failures:
        print(f"{name}: {len(_failures)} of {_checks} checks failed", flush=True)
        sys.exit(1)
    print(f"{name}: all {_checks} checks passed", flush=True)
    sys.exit(0)


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(SKIP)


def die(msg):
    print("ERROR: " + msg, flush=True)
    sys.exit(1)


def run(cmd, cwd=None, env=None, check_rc=True, quiet=False, input_text=None):
    """Runs cmd (a list); returns CompletedProcess with text output.
    With check_rc a non-zero exit status ends the test with the output."""
    if not quiet:
        print("+ " + " ".join(str(c) for c in cmd), flush=True)
    full_env = None
    if env is not None:
        full_env = dict(os.environ)
        for k, v in env.items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=full_env,
                       input=input_text, capture_output=True, text=True)
    if check_rc and p.returncode != 0:
        die(f"command failed with status {p.returncode}: {' '.join(map(str, cmd))}\n"
            f"--- stdout\n{p.stdout}\n--- stderr\n{p.stderr}")
    return p


def need_tool(name):
    path = shutil.which(name)
    if not path:
        die(f"required tool not found: {name}")
    return path


def header_version(header):
    """(major, minor, patch, number_expr_ok, string) read from hash_ring.h."""
    text = open(header, encoding="utf-8").read()
    parts = {}
    for k in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(r"^#define HASH_RING_VERSION_%s (\d+)$" % k, text, re.M)
        if not m:
            die(f"{header}: no HASH_RING_VERSION_{k}")
        parts[k] = int(m.group(1))
    m = re.search(r'^#define HASH_RING_VERSION_STRING "([^"]*)"$', text, re.M)
    if not m:
        die(f"{header}: no HASH_RING_VERSION_STRING")
    return parts["MAJOR"], parts["MINOR"], parts["PATCH"], m.group(1)


def dynamic_section(path):
    """Lines of `readelf -d` for path."""
    return run(["readelf", "-d", "-W", path], quiet=True).stdout


def soname(path):
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", dynamic_section(path))
    return m.group(1) if m else None


def needed(path):
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic_section(path))


def rpaths(path):
    """RPATH / RUNPATH entries of an ELF file (empty list when none)."""
    return re.findall(r"\((?:RPATH|RUNPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]",
                      dynamic_section(path))


def is_elf(path):
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def sanitizer_build(value):
    return bool(value and value.strip() and value.strip().upper() not in ("OFF", "0", "FALSE"))


def fresh_dir(path):
    if os.path.lexists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                rows.append(line.split("\t"))
    return rows
