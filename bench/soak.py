#!/usr/bin/env python3
"""`make soak`: mixed benign and attack traffic at saturation against one
edgewaf process for SOAK_SECS (600), with a hot swap of the tenant every 10 s
and runtime IP-list changes every 2 s. A test of stability, not speed.

What it does, in order:
  1. Starts `edgewaf echo` (the origin) on 127.0.0.1:18582 and `edgewaf serve`
     on 127.0.0.1:18580 (admin 127.0.0.1:18591) with one tenant,
     soak.localhost: ip-filter (runtime list "soakblock") then the CRS at
     paranoia 1, blocking. Config, state and decision log in a temp dir.
  2. Load: SOAK_CONNS (32) keep-alive connections, each sending its next
     request as soon as the previous answer is read (closed loop: the WAF is
     the bottleneck). The mix cycles benign GET, form POST, JSON POST, SQLi,
     XSS, path traversal and a malformed JSON body.
  3. Every SOAK_SWAP_SECS (10): PUT /api/tenants/soak with the other of two
     configs (inbound threshold 5 / 7: a real reload of the CRS). Every 2 s:
     add a /32 to the list (TTL 5 s) and delete the one added before.
  4. Every second: VmRSS from /proc/PID/status and the count of /proc/PID/fd.
  5. At the end: sent = answered (no connection error, no timeout) = logged
     (the tenant's lines in the decision log); RSS growth = median of the
     last window of samples against the median of the first window after
     warm-up (SOAK_WARMUP, default min(60, SOAK_SECS/10) s; the window is as
     long as the warm-up, at least 10 s: whole swap cycles, whose instance
     churn moves RSS by tens of MiB from one second to the next). Fails (exit 1) on any loss, any failed
     swap or list change, or growth over SOAK_MAX_GROWTH (5) %.

Summary table on stdout and in target/soak/ (SOAK_OUT), with the per-second
samples as CSV. Only the Python 3 standard library.
"""
import asyncio
import csv
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(REPO, "bench")
WAF = ("127.0.0.1", 18580)
ADMIN = "127.0.0.1:18591"
ECHO = "127.0.0.1:18582"
HOST = "soak.localhost"
TOKEN = "soak-admin-token"
LIST = "soakblock"
UA = "Mozilla/5.0 (X11; Linux x86_64) edgewaf-soak"


def env_int(name, default):
    v = os.environ.get(name, "").strip()
    try:
        return int(v) if v else default
    except ValueError:
        sys.exit(f"{name}={v!r} is not a whole number")


def log(msg=""):
    print(msg, flush=True)


def read(name):
    with open(os.path.join(BENCH_DIR, name), "rb") as f:
        return f.read()


def request(method, path, ctype=None, body=b""):
    head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", f"User-Agent: {UA}",
            "Accept: text/html,application/json"]
    if method != "GET" or body:
        head += [f"Content-Type: {ctype}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


MIX = [
    request("GET", "/index.html?a=1&b=hello"),
    request("POST", "/checkout?step=2", "application/x-www-form-urlencoded", read("form_body.txt")),
    request("GET", "/products?id=42&sort=price"),
    request("POST", "/api/orders", "application/json", read("order.json")),
    request("GET", "/?q=1%27%20or%201%3D1--"),
    request("GET", "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
    request("GET", "/static/../../etc/passwd"),
    request("POST", "/api/orders", "application/json", b'{"a": [1, 2'),
    request("GET", "/about"),
]

# -------------------------------------------------------------- config

EDGEWAF_TOML = """[server]
listen = "{waf}"
upstream_timeout_ms = 30000

[admin]
listen = "{admin}"
token_env = "EDGEWAF_SOAK_ADMIN_TOKEN"

[policies]
dir = "policies"
modules = ["{modules}"]

[log]
decisions = "{decisions}"
max_bytes = 0          # never rotate: every line of the run is counted in this one file

[state]
dir = "{state}"
watch = false

# The event store's bounded memory, sized so that it is full before warm-up
# ends and growth after it is a leak: its page cache (default 64 MiB) fills as
# the file grows, at this soak's rate over 3-4 minutes, and the pages of a
# mapped file (default 1 GiB) count in VmRSS as the file grows.
[analytics]
cache_mib = 8
mmap_mib = 0
"""

TENANT_TOML = """hosts = ["{host}"]
upstream = "http://{echo}"
mode = "block"

[limits]
memory_mib = 256
deadline_ms = 500
max_instances = 4

[[policy]]
module = "ip-filter"
[policy.config]
deny = ["192.0.2.0/24"]
lists = ["{list}"]

[[policy]]
module = "crs"
mounts = {{ "/crs" = "{crs}" }}
[policy.config]
rules = ["/crs/crs-setup.conf.example", "/crs/rules/*.conf"]
paranoia_level = 1
inbound_anomaly_threshold = {threshold}
outbound_anomaly_threshold = 4
"""


def tenant(crs, threshold):
    return TENANT_TOML.format(host=HOST, echo=ECHO, list=LIST, crs=crs, threshold=threshold)


# -------------------------------------------------------------- HTTP client

class Counts:
    def __init__(self):
        self.sent = 0
        self.answered = 0
        self.errors = {}
        self.statuses = {}

    def error(self, kind):
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def read_response(reader):
    """Reads one response; its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip().lower()
    if "content-length" in hdrs:
        await reader.readexactly(int(hdrs["content-length"]))
    elif "chunked" in hdrs.get("transfer-encoding", ""):
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, hdrs.get("connection") != "close"


async def connection(i, deadline, counts, timeout):
    reader = writer = None
    n = i
    while time.monotonic() < deadline:
        req = MIX[n % len(MIX)]
        n += 1
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(*WAF), timeout)
            writer.write(req)
            counts.sent += 1
            status, keep = await asyncio.wait_for(read_response(reader), timeout)
            counts.answered += 1
            counts.statuses[status] = counts.statuses.get(status, 0) + 1
            if not keep:
                writer.close()
                writer = None
        except asyncio.TimeoutError:
            counts.error("timeout")
            writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            counts.error(type(e).__name__)
            writer = None
    if writer is not None:
        writer.close()


def admin(method, path, body=None, ctype="application/json"):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(f"http://{ADMIN}{path}", data=data, method=method,
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


class Soak:
    def __init__(self):
        self.secs = env_int("SOAK_SECS", 600)
        self.conns = env_int("SOAK_CONNS", 32)
        self.swap_secs = env_int("SOAK_SWAP_SECS", 10)
        self.warmup = env_int("SOAK_WARMUP", min(60, max(1, self.secs // 10)))
        self.max_growth = float(os.environ.get("SOAK_MAX_GROWTH", "") or 5)
        self.bin = os.path.join(REPO, "target", "release", "edgewaf")
        self.modules = os.path.join(REPO, "target", "wasm32-wasip2", "release")
        self.crs = os.path.abspath(os.environ.get("EDGEWAF_CRS_DIR") or
                                   os.path.join(REPO, "crs/v4.28.0"))
        self.out = os.path.join(REPO, os.environ.get("SOAK_OUT", "target/soak"))
        self.tmp = tempfile.mkdtemp(prefix="edgewaf-soak-")
        self.procs = []
        self.samples = []   # (t, rss_kib, fds)
        self.swaps = [0, 0]     # ok, failed
        self.list_ops = [0, 0]  # ok, failed

    def start(self, args, logname, environ=None):
        f = open(os.path.join(self.tmp, logname), "wb")
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=REPO, env=environ)
        self.procs.append(p)
        return p

    def wait_http(self, url, host=None, timeout=120):
        t0 = time.time()
        while time.time() - t0 < timeout:
            req = urllib.request.Request(url, headers={"Host": host} if host else {})
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.5)
        sys.exit(f"{url} did not answer 200 in {timeout} s; logs in {self.tmp}")

    def setup(self):
        for path in (self.bin, os.path.join(self.modules, "crs.wasm")):
            if not os.path.exists(path):
                sys.exit(f"{path} is missing: run `make guests host`")
        os.makedirs(os.path.join(self.tmp, "policies"))
        self.decisions = os.path.join(self.tmp, "decisions.jsonl")
        with open(os.path.join(self.tmp, "edgewaf.toml"), "w") as f:
            f.write(EDGEWAF_TOML.format(waf="%s:%d" % WAF, admin=ADMIN, modules=self.modules,
                                        decisions=self.decisions, state=os.path.join(self.tmp, "state")))
        with open(os.path.join(self.tmp, "policies", "soak.toml"), "w") as f:
            f.write(tenant(self.crs, 5))
        self.start([self.bin, "echo", "--listen", ECHO], "echo.log")
        e = dict(os.environ, EDGEWAF_SOAK_ADMIN_TOKEN=TOKEN)
        self.waf = self.start([self.bin, "serve", "--config", os.path.join(self.tmp, "edgewaf.toml")],
                              "edgewaf.log", e)
        self.wait_http(f"http://{ECHO}/")
        self.wait_http(f"http://{ADMIN}/healthz")
        self.wait_http(f"http://{WAF[0]}:{WAF[1]}/", HOST)
        log(f"edgewaf pid {self.waf.pid} serving {HOST}; work dir {self.tmp}")

    def logged(self):
        n = 0
        with open(self.decisions, "rb") as f:
            for line in f:
                if b'"tenant":"soak"' in line:
                    n += 1
        return n

    def sample(self, t):
        pid = self.waf.pid
        rss = 0
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        self.samples.append((round(t, 1), rss, fds))

    async def control(self, t0, deadline):
        """Samples every second, list changes every 2 s, a swap every swap_secs."""
        tick, prev_cidr, threshold = 0, None, 5
        loop = asyncio.get_running_loop()
        while time.monotonic() < deadline:
            tick += 1
            await asyncio.sleep(max(0.0, t0 + tick - time.monotonic()))
            self.sample(time.monotonic() - t0)
            if tick % 2 == 0:
                cidr = f"203.0.113.{tick // 2 % 250}/32"
                body = json.dumps({"cidr": cidr, "ttl_secs": 5, "comment": "soak"})
                st = await loop.run_in_executor(None, admin, "POST", f"/api/lists/{LIST}/entries", body)
                self.list_ops[0 if st in (200, 201) else 1] += 1
                if prev_cidr:
                    path = f"/api/lists/{LIST}/entries/{prev_cidr.replace('/', '%2F')}"
                    st = await loop.run_in_executor(None, admin, "DELETE", path)
                    # 404: the 5 s TTL may have expired it first.
                    self.list_ops[0 if st in (200, 404) else 1] += 1
                prev_cidr = cidr
            if tick % self.swap_secs == 0:
                threshold = 7 if threshold == 5 else 5
                st = await loop.run_in_executor(None, admin, "PUT", "/api/tenants/soak",
                                                tenant(self.crs, threshold), "application/toml")
                self.swaps[0 if st == 200 else 1] += 1
                if st != 200:
                    log(f"  swap at {tick} s answered {st}")
            if tick % 60 == 0:
                _, rss, fds = self.samples[-1]
                log(f"  {tick:4d} s  RSS {rss / 1024:7.1f} MiB  fds {fds}")

    async def drive(self):
        counts = Counts()
        t0 = time.monotonic()
        deadline = t0 + self.secs
        workers = [connection(i, deadline, counts, 30) for i in range(self.conns)]
        await asyncio.gather(self.control(t0, deadline), *workers)
        return counts, time.monotonic() - t0

    def run(self):
        self.setup()
        base = self.logged()
        log(f"soak: {self.secs} s, {self.conns} connections, swap every {self.swap_secs} s,"
            f" warm-up {self.warmup} s")
        counts, took = asyncio.run(self.drive())
        logged = self.logged() - base
        for _ in range(20):   # the last lines may still be on their way
            if logged >= counts.answered:
                break
            time.sleep(0.5)
            logged = self.logged() - base
        return self.report(counts, took, logged)

    def report(self, counts, took, logged):
        after = [s for s in self.samples if s[0] >= self.warmup]
        win = max(10, self.warmup)
        if len(after) < 2 * win:
            sys.exit(f"only {len(after)} samples after warm-up: raise SOAK_SECS")
        start = statistics.median(s[1] for s in after[:win])
        end = statistics.median(s[1] for s in after[-win:])
        peak = max(s[1] for s in after)
        growth = 100.0 * (end - start) / start
        fds = [s[2] for s in after]
        lost = counts.sent - counts.answered + abs(counts.answered - logged)
        failures = []
        if lost or counts.errors:
            failures.append(f"lost {lost} (errors {counts.errors or 'none'})")
        if growth > self.max_growth:
            failures.append(f"RSS grew {growth:.1f} % (limit {self.max_growth} %)")
        if self.swaps[1] or self.list_ops[1]:
            failures.append(f"failed swaps {self.swaps[1]}, failed list changes {self.list_ops[1]}")
        rows = [
            ("duration", f"{took:.0f} s (warm-up {self.warmup} s)"),
            ("connections", str(self.conns)),
            ("requests sent", str(counts.sent)),
            ("responses received", str(counts.answered)),
            ("decisions logged", str(logged)),
            ("lost", str(lost)),
            ("throughput", f"{counts.answered / took:.0f} req/s"),
            ("statuses", ", ".join(f"{k}: {v}" for k, v in sorted(counts.statuses.items()))),
            ("hot swaps ok / failed", f"{self.swaps[0]} / {self.swaps[1]}"),
            ("list changes ok / failed", f"{self.list_ops[0]} / {self.list_ops[1]}"),
            ("RSS after warm-up (median of the first window)", f"{start / 1024:.1f} MiB ({win} s)"),
            ("RSS at the end (median of the last window)", f"{end / 1024:.1f} MiB ({win} s)"),
            ("RSS peak after warm-up", f"{peak / 1024:.1f} MiB"),
            ("RSS growth", f"{growth:+.2f} % (limit {self.max_growth} %)"),
            ("open fds min / max / end", f"{min(fds)} / {max(fds)} / {fds[-1]}"),
            ("result", "FAIL: " + "; ".join(failures) if failures else "PASS"),
        ]
        when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
        table = [f"## make soak, {when}", "", "| figure | value |", "|---|---|"]
        table += [f"| {k} | {v} |" for k, v in rows]
        text = "\n".join(table) + "\n"
        log("\n" + text)
        os.makedirs(self.out, exist_ok=True)
        with open(os.path.join(self.out, f"soak-{when}.md"), "w") as f:
            f.write(text)
        with open(os.path.join(self.out, f"soak-{when}-samples.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t_s", "rss_kib", "fds"])
            w.writerows(self.samples)
        log(f"written to {self.out}/soak-{when}.md (+ -samples.csv)")
        return 1 if failures else 0

    def cleanup(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if os.environ.get("SOAK_KEEP_TMP", "0") == "0":
            shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    s = Soak()
    try:
        return s.run()
    finally:
        s.cleanup()


if __name__ == "__main__":
    sys.exit(main())
