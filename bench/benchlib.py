"""The bench's plumbing (bench/bench.py drives it): settings from the
environment, HTTP checks with curl, CPU accounting from /proc and wrk runs.
Only the Python 3 standard library, curl and wrk."""
import os
import re
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(REPO, "bench")

WRK_THREADS, WRK_CONNS = 2, int(os.environ.get("BENCH_CONNS", "").strip() or 32)
WRK_THREADS = min(WRK_THREADS, WRK_CONNS)
HZ = os.sysconf("SC_CLK_TCK")
UA = "Mozilla/5.0 (X11; Linux x86_64) wrk"


class BenchError(Exception):
    pass


def env(name, default):
    v = os.environ.get(name, "").strip()
    return v if v else default


def env_int(name, default):
    try:
        return int(env(name, str(default)))
    except ValueError:
        raise BenchError(f"{name}={os.environ.get(name)!r} is not a whole number") from None


def log(msg=""):
    print(msg, flush=True)


def warn(msg):
    print(f"WARNING: {msg}", file=sys.stderr, flush=True)


def tail(path, n=30):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join("    " + l for l in lines[-n:])
    except OSError:
        return "    (no log)"


# ---------------------------------------------------------------- HTTP checks

def curl_status(addr, wl, host, timeout=10):
    """Send the workload's request once; the HTTP status, or 0 when none came."""
    cmd = ["curl", "-s", "-g", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(timeout),
           "-H", f"Host: {host}", "-H", f"User-Agent: {UA}", "-H", f"Accept: {wl['accept']}",
           "-H", "Expect:"]
    if wl["body"]:
        cmd += ["-X", wl["method"], "-H", f"Content-Type: {wl['ctype']}",
                "--data-binary", "@" + os.path.join(BENCH_DIR, wl["body"])]
    cmd.append(f"http://{addr}{wl['path']}")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5).stdout.strip()
        return int(out or 0)
    except (subprocess.TimeoutExpired, ValueError):
        return 0


def simple_status(url, host=None, timeout=3):
    cmd = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(timeout)]
    if host:
        cmd += ["-H", f"Host: {host}"]
    try:
        return int(subprocess.run(cmd + [url], capture_output=True, text=True,
                                  timeout=timeout + 5).stdout.strip() or 0)
    except (subprocess.TimeoutExpired, ValueError):
        return 0


def wait_log(logfile, needles, proc=None, timeout=300):
    """Wait until a line of logfile holds one of needles; seconds waited."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"edgewaf exited (status {proc.returncode}); its log ({logfile}):\n{tail(logfile)}")
        with open(logfile, errors="replace") as f:
            if any(n in line for line in f for n in needles):
                return time.time() - t0
        time.sleep(0.5)
    raise BenchError(f"no line with {needles} in {logfile} within {timeout} s:\n{tail(logfile)}")


def wait_for(what, url, host=None, want=200, timeout=60, proc=None, logfile=None):
    """Poll url with curl until it answers `want` (any status when want is None)."""
    t0 = time.time()
    code = 0
    while time.time() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what} exited (status {proc.returncode}) before answering on {url};"
                             f" its log ({logfile}):\n{tail(logfile)}")
        code = simple_status(url, host)
        if code and (want is None or code == want):
            return time.time() - t0
        time.sleep(0.5)
    msg = f"{what} did not answer {want or 'anything'} on {url} within {timeout} s (last status {code or 'none'})"
    if logfile:
        msg += f"; its log ({logfile}):\n{tail(logfile)}"
    raise BenchError(msg)


def port_in_use(addr):
    h, p = addr.rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((h, int(p))) == 0


# ---------------------------------------------------------------- CPU accounting

def proc_ticks(pids):
    t = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            t += int(fields[11]) + int(fields[12])  # utime + stime (all threads)
        except (OSError, IndexError, ValueError):
            pass
    return t


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]  # total, idle + iowait


def busy_fraction(interval=1.0):
    a, ai = machine_ticks()
    time.sleep(interval)
    b, bi = machine_ticks()
    return 1.0 - (bi - ai) / max(1, b - a)


def wait_idle(max_wait):
    """Wait (up to max_wait s) for the machine to be under 15 % busy; the last reading."""
    if max_wait <= 0:
        return None
    t0 = time.time()
    while True:
        b = busy_fraction()
        if b < 0.15 or time.time() - t0 >= max_wait:
            return b


def wait_quiet(pids, max_wait=60):
    """After a run, wait until the WAF has finished the requests still queued in it
    (CPU use under ~4 % of a core), so it does not load the next measurement.
    Returns the seconds waited."""
    t0 = time.time()
    last = proc_ticks(pids)
    while time.time() - t0 < max_wait:
        time.sleep(0.5)
        now = proc_ticks(pids)
        if now - last <= HZ // 50:
            break
        last = now
    return time.time() - t0


def listener_pids(addr):
    """Every process holding the listening socket on addr (nginx: master + workers)."""
    h, p = addr.rsplit(":", 1)
    local = "%08X:%04X" % (int.from_bytes(socket.inet_aton(h), "little"), int(p))
    inodes = set()
    try:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[1] == local and cols[3] == "0A":
                    inodes.add(f"socket:[{cols[9]}]")
    except OSError:
        return []
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{d}/fd"):
                if os.readlink(f"/proc/{d}/fd/{fd}") in inodes:
                    pids.append(int(d))
                    break
        except OSError:
            continue
    return pids


def pidfile_and_children(pidfile):
    try:
        master = int(open(pidfile).read().strip())
    except (OSError, ValueError):
        return []
    pids = [master]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return pids


# ---------------------------------------------------------------- wrk

def parse_wrk(out):
    def num(pattern, default=None, conv=float):
        m = re.search(pattern, out, re.M)
        return conv(m.group(1)) if m else default

    def lat(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
        if not m:
            return None
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4, "h": 3.6e6}[m.group(2)]

    r = dict(rps=num(r"^Requests/sec:\s+([\d.]+)"),
             requests=num(r"^\s+(\d+) requests in", conv=int),
             non2xx=num(r"Non-2xx or 3xx responses:\s+(\d+)", 0, int),
             p50=lat(50), p99=lat(99), sock="")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        parts = [f"{k} {v}" for k, v in zip(("connect", "read", "write", "timeout"), m.groups()) if v != "0"]
        r["sock"] = ", ".join(parts)
    return r


def run_wrk(addr, host, lua, secs, timeout_s=10):
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNS}", f"-d{secs}s", "--latency",
           "--timeout", f"{timeout_s}s", "-s", os.path.join(BENCH_DIR, lua), f"http://{addr}"]
    e = dict(os.environ, BENCH_HOST=host, BENCH_FILES=BENCH_DIR)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=secs + timeout_s + 60)
    except subprocess.TimeoutExpired:
        return cmd, "", "wrk did not finish in time", 124
    return cmd, p.stdout, p.stderr, p.returncode
