"""Shared pieces of the script-driven peer tests: memcached daemons on
loopback at ports picked free at run time, readiness checked by the daemon's
own pid, every started process stopped on the way out (even when the test is
killed), and reading back which keys a daemon holds.  Standard library only."""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

PROCS = []
PARENT = os.getpid()


def stop(p):
    """Stops a child: SIGTERM, then SIGKILL after 5 s."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def stop_all():
    while PROCS:
        stop(PROCS.pop())


def on_signal(signum, frame):
    stop_all()
    sys.exit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)


def find_tool(name):
    path = shutil.which(name)
    if path is None:
        for d in ("/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"):
            if os.access(os.path.join(d, name), os.X_OK):
                return os.path.join(d, name)
    return path


class PortTaken(Exception):
    """A daemon could not have the port picked for it: another process
    (a test running beside this one) took it between the pick and the bind.
    The configuration is tried again on fresh ports."""


def free_ports(n, addr="127.0.0.1", avoid=()):
    """n distinct ports free on addr now, none of them in avoid.  The
    sockets stay bound until all are picked, so no port comes back twice."""
    held, out = [], []
    try:
        while len(out) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(s)
            s.bind((addr, 0))
            port = s.getsockname()[1]
            if port not in avoid:
                out.append(port)
    finally:
        for s in held:
            s.close()
    return out


def free_port(addr):
    return free_ports(1, addr)[0]


def port_is_free(addr, port):
    """As memcached would bind it (SO_REUSEADDR: TIME_WAIT is no obstacle)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((addr, port))
        except OSError:
            return False
    return True


def connect(addr, port, timeout):
    """TCP to addr:port, or the unix socket addr when it is a path."""
    if addr.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(addr)
        except OSError:
            s.close()
            raise
        return s
    return socket.create_connection((addr, int(port)), timeout=timeout)


def wait_listening(addr, port, proc, what):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with connect(addr, port, 0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} is not listening on {addr}:{port}")


def stat_pid(addr, port):
    """The pid memcached at addr:port reports, or None."""
    try:
        with connect(addr, port, 2) as s:
            s.sendall(b"stats\r\n")
            buf = recv_until(s, b"", b"END\r\n")
    except (OSError, RuntimeError):
        return None
    for line in buf.split(b"\r\n"):
        parts = line.split(b" ")
        if len(parts) == 3 and parts[:2] == [b"STAT", b"pid"]:
            return int(parts[2])
    return None


def listener_inodes(port):
    """Socket inodes listening on TCP port (any address), from /proc/net;
    None where /proc/net is not there to ask."""
    found, seen = set(), False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        seen = True
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                found.add(cols[9])
    return found if seen else None


def owns_listener(pid, port):
    """True when process pid itself listens on TCP port (None: cannot tell)."""
    inodes = listener_inodes(port)
    if inodes is None:
        return None
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    for fd in fds:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def die_with_parent():
    """In the child: SIGTERM it if this script dies, even by SIGKILL (a ctest
    timeout), so no daemon outlives the test.  Linux prctl(PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != PARENT:  # the parent died before prctl took effect
        os._exit(1)


def start(argv, what, logpath):
    log = open(logpath, "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         preexec_fn=die_with_parent)
    log.close()
    PROCS.append(p)
    return p


class Memcached:
    """A daemon on addr:port (port: a number, or its text as the config
    writes it), or on the unix socket addr when addr is a path."""
    def __init__(self, tools, workdir, addr, port):
        self.addr, self.port = addr, port
        argv = [tools["memcached"], "-m", "64", "-t", "1"]
        if addr.startswith("/"):
            argv += ["-s", addr]
            log = "mc-%s.log" % os.path.basename(addr)
        else:
            argv += ["-U", "0", "-l", addr, "-p", str(int(port))]
            log = f"mc-{addr}-{port}.log"
        if os.geteuid() == 0:
            argv += ["-u", "root"]
        self.proc = start(argv, "memcached", os.path.join(workdir, log))
        what = f"memcached on {addr}:{port}"
        if addr.startswith("/"):
            wait_listening(addr, port, self.proc, what)
            return
        # Ready when it answers stats with its own pid: a connection alone
        # may reach another process that took the port first.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PortTaken(f"{what} exited with status {self.proc.returncode}")
            pid = stat_pid(addr, port)
            if pid == self.proc.pid:
                return
            if pid is not None:
                raise PortTaken(f"{what}: the port is held by process {pid}")
            time.sleep(0.05)
        raise RuntimeError(f"{what} is not listening")


def recv_until(sock, buf, token):
    while token not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
    return buf


def held_keys(addr, port, keys):
    """The indexes of the keys this memcached holds (multi-get, directly)."""
    held = set()
    with connect(addr, port, 20) as s:
        for b in range(0, len(keys), 50):
            chunk = keys[b:b + 50]
            s.sendall(b"get " + b" ".join(chunk) + b"\r\n")
            # Values are decimal indexes, so the reply is complete exactly
            # when it ends with END.
            buf = b""
            while not buf.endswith(b"END\r\n"):
                buf = recv_until(s, buf, b"END\r\n")
            pos = 0
            while True:
                eol = buf.index(b"\r\n", pos)
                line = buf[pos:eol]
                if line == b"END":
                    break
                parts = line.split(b" ")
                if parts[0] != b"VALUE" or len(parts) != 4:
                    raise RuntimeError(f"memcached {addr}:{port}: unexpected {line[:60]!r}")
                n = int(parts[3])
                idx = int(buf[eol + 2:eol + 2 + n])
                if keys[idx] != parts[1]:
                    raise RuntimeError("value does not match key")
                held.add(idx)
                pos = eol + 2 + n + 2
    return held


def read_back(mcs, keys):
    """Which daemon of mcs holds each key (the value stored is the key's
    index): a key on two daemons or on none is an error."""
    where = [None] * len(keys)
    for si, m in enumerate(mcs):
        for idx in held_keys(m.addr, m.port, keys):
            if where[idx] is not None:
                raise RuntimeError("key %r on two servers" % keys[idx])
            where[idx] = si
    missing = [keys[i] for i, w in enumerate(where) if w is None]
    if missing:
        raise RuntimeError("%d keys on no server, e.g. %r" % (len(missing), missing[:3]))
    return where
