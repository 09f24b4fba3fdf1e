#!/usr/bin/env python3
"""`make bench`: edgewaf (OWASP CRS v4.28.0, paranoia 1, blocking) side by side
with nginx + ModSecurity v3 + the same CRS (the peer from ../shared/peer), under
wrk on loopback. A benchmark, not a test: CI does not run it.

What it does, in order:
  1. Peer (unless PEER=0): if nothing answers on 127.0.0.1:8083, lay out the
     peer in $PEER_DIR with ../shared/peer/setup.sh (apt-installs nginx and
     ModSecurity when missing) unless it is already there, and start it.
  2. Upstream: the peer's nginx upstream 127.0.0.1:8090 when it answers (the
     same origin for both WAFs), else `edgewaf echo` on 127.0.0.1:18482.
  3. edgewaf: `target/release/edgewaf serve` on 127.0.0.1:18480 (admin
     127.0.0.1:18491) with two tenants rendered from bench/config/
     into a temp dir: bench.localhost (the CRS) and bare.localhost (no policies:
     one benign-GET row, the host's own cost) (state, decision log and process log there).
  4. Per run and workload: one curl per target (prints the status; SQLi must
     be 403 from edgewaf or the bench stops), then wrk against edgewaf and
     right after against the peer (interleaved), CPU time of the WAF processes
     from /proc/PID/stat over each wrk run.
  5. One markdown table per run on stdout and in target/bench/, with the raw
     wrk output beside it. Everything the bench started is stopped at the end.

Settings (environment; make passes its variables): BENCH_SECS (8), BENCH_RUNS (1),
BENCH_CONNS (32 wrk connections), BENCH_ONLY (workloads whose name holds one of these, comma-separated),
PEER (1; 0 skips the peer), PEER_DIR (/tmp/edgewaf-peer), EDGEWAF_CRS_DIR
(the vendored crs/v4.28.0), BENCH_WARMUP (2 s of wrk per target before the first
run), BENCH_IDLE_WAIT (up to 5 s waiting for a quiet machine before each wrk run),
BENCH_OUT (target/bench). Only the Python 3 standard library, curl and wrk.

Beside it: benchlib.py (settings, curl checks, CPU accounting, wrk) and
report.py (the markdown header, tables and notes).
"""
import datetime
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no bench/__pycache__ in the tree from the imports below
from benchlib import (BENCH_DIR, HZ, REPO, BenchError, curl_status, env, env_int, listener_pids, log,
                      machine_ticks, parse_wrk, pidfile_and_children, port_in_use, proc_ticks, run_wrk,
                      simple_status, tail, wait_for, wait_idle, wait_log, wait_quiet, warn)
import report

WAF_ADDR = "127.0.0.1:18480"
ADMIN_ADDR = "127.0.0.1:18491"
ECHO_ADDR = "127.0.0.1:18482"
PEER_WAF_ADDR = "127.0.0.1:8083"   # nginx + ModSecurity + CRS v4.28.0 PL1 (peer/nginx.conf)
PEER_UPSTREAM_ADDR = "127.0.0.1:8090"  # the peer's 'return 200' origin
EDGEWAF_HOST = "bench.localhost"
BARE_HOST = "bare.localhost"  # a tenant without policies (bench/config/policies/bare.toml.in)
PEER_HOST = "localhost"  # a numeric Host would match CRS 920350 on the peer


def _kb(name):
    return os.path.getsize(os.path.join(BENCH_DIR, name)) / 1024


# Each entry mirrors its wrk script (the curl check sends the same request).
WORKLOADS = [
    dict(name="benign GET", lua="get_benign.lua", method="GET",
         path="/index.html?a=1&b=hello", accept="text/html", ctype=None, body=None, expect=200),
    dict(name=f"{_kb('form_body.txt'):.0f} KB form POST", lua="post_form.lua", method="POST",
         path="/checkout?step=2", accept="text/html",
         ctype="application/x-www-form-urlencoded", body="form_body.txt", expect=200),
    dict(name=f"{_kb('order.json'):.0f} KB JSON POST", lua="post_json.lua", method="POST",
         path="/api/orders", accept="application/json",
         ctype="application/json", body="order.json", expect=200),
    dict(name="SQLi GET (403)", lua="get_sqli.lua", method="GET",
         path="/?q=1%27%20or%201%3D1--", accept="text/html", ctype=None, body=None, expect=403),
    # The same benign GET to a tenant without policies: the host's own cost
    # (proxying, chain, logging), the ceiling for the rows above.
    dict(name="benign GET, no policies", lua="get_benign.lua", method="GET",
         path="/index.html?a=1&b=hello", accept="text/html", ctype=None, body=None, expect=200,
         only="edgewaf", host=BARE_HOST),
]


# ---------------------------------------------------------------- the bench

class Bench:
    def __init__(self):
        self.secs = env_int("BENCH_SECS", 8)
        self.runs = env_int("BENCH_RUNS", 1)
        self.warmup = env_int("BENCH_WARMUP", 2)
        self.idle_wait = env_int("BENCH_IDLE_WAIT", 5)
        if self.secs < 1 or self.runs < 1:
            raise BenchError("BENCH_SECS and BENCH_RUNS must be at least 1")
        self.use_peer = env("PEER", "1") not in ("0", "no", "false", "off")
        self.peer_dir = os.path.abspath(env("PEER_DIR", "/tmp/edgewaf-peer"))
        self.crs_dir = os.path.abspath(env("EDGEWAF_CRS_DIR", os.path.join(REPO, "crs/v4.28.0")))
        self.bin = os.path.join(REPO, env("EDGEWAF_BIN", "target/release/edgewaf"))
        # BENCH_ONLY="benign GET,SQLi": only workloads whose name holds one of these.
        self.only = [o.strip() for o in env("BENCH_ONLY", "").split(",") if o.strip()]
        self.modules = os.path.join(REPO, "target", "wasm32-wasip2", "release")
        self.out_dir = os.path.join(REPO, env("BENCH_OUT", "target/bench"))
        self.setup_sh = os.path.normpath(os.path.join(REPO, "..", "shared", "peer", "setup.sh"))
        self.procs = []           # (name, Popen) the bench started
        self.peer_started = False
        self.peer = False         # the peer is being measured
        self.tmp = None
        self.failures = []
        self.notes = []
        self.upstream_is_peer = False

    # -- lifecycle

    def start(self, name, args, logname, environ=None):
        """Start a process the bench owns (stopped in cleanup), output to a log in the temp dir."""
        logfile = os.path.join(self.tmp, logname)
        with open(logfile, "wb") as f:
            p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 cwd=REPO, env=environ)
        self.procs.append((name, p))
        return p, logfile

    def cleanup(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
                log(f"stopped {name} (pid {p.pid})")
        self.procs = []
        if self.peer_started:
            self.peer_started = False
            r = subprocess.run([os.path.join(self.peer_dir, "stop.sh")], capture_output=True, text=True, timeout=60)
            log((r.stdout.strip() or "peer stop.sh ran") + " (the bench had started the peer)")
            if r.returncode != 0:
                warn(f"{self.peer_dir}/stop.sh exited {r.returncode}: {r.stderr.strip()}")
        if self.tmp and env("BENCH_KEEP_TMP", "0") == "0":
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- preconditions

    def check_tools(self):
        for tool in ("wrk", "curl"):
            if not shutil.which(tool):
                raise BenchError(f"`{tool}` is not installed (`make bench` installs wrk with apt-get)")
        for path, what in ((self.bin, "the edgewaf binary"), (os.path.join(self.modules, "crs.wasm"), "the CRS component")):
            if not os.path.exists(path):
                raise BenchError(f"{what} {path} is missing: run `make guests host` (or `make bench`)")
        if not os.path.isfile(os.path.join(self.crs_dir, "crs-setup.conf.example")):
            raise BenchError(f"no CRS release in {self.crs_dir} (set EDGEWAF_CRS_DIR to an unpacked CRS v4 folder)")
        for addr, what in ((WAF_ADDR, "edgewaf proxy"), (ADMIN_ADDR, "edgewaf admin")):
            if port_in_use(addr):
                raise BenchError(f"{addr} (the bench's {what} port) is already in use; a leftover from an"
                                 f" earlier bench? Find it with `ss -ltnp | grep {addr.split(':')[1]}`")

    # -- peer

    def peer_is_set_up(self):
        return all(os.path.exists(os.path.join(self.peer_dir, f))
                   for f in ("start.sh", "stop.sh", "nginx.conf", "modsec/main-v4-pl1.conf"))

    def setup_peer(self):
        if simple_status(f"http://{PEER_WAF_ADDR}/", PEER_HOST):
            log(f"peer: already running on {PEER_WAF_ADDR} (used as is, left running)")
            self.peer = True
            return
        if not self.peer_is_set_up():
            if not os.path.exists(self.setup_sh):
                warn(f"no peer: {self.peer_dir} is not set up and {self.setup_sh} does not exist;"
                     " benchmarking edgewaf alone (PEER=0 silences this)")
                return
            pkgs = ["nginx", "libnginx-mod-http-modsecurity", "libmodsecurity3", "modsecurity-crs", "wrk"]
            if os.geteuid() != 0 and subprocess.run(["dpkg", "-s"] + pkgs, capture_output=True).returncode != 0:
                log("peer: installing nginx + ModSecurity with sudo apt-get")
                e = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
                if subprocess.run(["sudo", "apt-get", "update", "-q"], env=e).returncode != 0 or \
                   subprocess.run(["sudo", "apt-get", "install", "-y", "-q"] + pkgs, env=e).returncode != 0:
                    raise BenchError("installing the peer's packages failed (or run with PEER=0)")
            log(f"peer: setting up in {self.peer_dir} with {self.setup_sh} (installs nginx + ModSecurity if missing)")
            r = subprocess.run([self.setup_sh, self.peer_dir], capture_output=True, text=True, timeout=1800)
            if r.returncode != 0 or not self.peer_is_set_up():
                raise BenchError(f"{self.setup_sh} {self.peer_dir} failed (exit {r.returncode}):\n"
                                 f"{r.stdout}{r.stderr}\n(or run `make bench PEER=0` to skip the peer)")
        log(f"peer: starting {self.peer_dir}/start.sh")
        r = subprocess.run([os.path.join(self.peer_dir, "start.sh")], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise BenchError(f"{self.peer_dir}/start.sh failed (exit {r.returncode}):\n{r.stdout}{r.stderr}\n"
                             f"nginx error log:\n{tail(os.path.join(self.peer_dir, 'logs', 'error.log'), 15)}")
        self.peer_started = True
        waited = wait_for("the peer (nginx + ModSecurity)", f"http://{PEER_WAF_ADDR}/", PEER_HOST, want=None,
                          logfile=os.path.join(self.peer_dir, "logs", "error.log"))
        log(f"peer: answering on {PEER_WAF_ADDR} after {waited:.1f} s")
        self.peer = True

    def peer_pids(self):
        pids = listener_pids(PEER_WAF_ADDR) or pidfile_and_children(os.path.join(self.peer_dir, "logs", "nginx.pid"))
        if not pids:
            raise BenchError(f"cannot find the nginx processes behind {PEER_WAF_ADDR} for CPU accounting")
        return pids

    # -- edgewaf

    def render(self, template, dest, values):
        with open(os.path.join(BENCH_DIR, "config", template)) as f:
            text = f.read()
        for k, v in values.items():
            text = text.replace(f"@{k}@", v.replace("\\", "\\\\").replace('"', '\\"'))
        left = re.search(r"@[A-Z_]+@", text)
        if left:
            raise BenchError(f"bench/config/{template}: placeholder {left.group(0)} has no value")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w") as f:
            f.write(text)

    def start_edgewaf(self):
        if self.peer or simple_status(f"http://{PEER_UPSTREAM_ADDR}/") == 200:
            code = simple_status(f"http://{PEER_UPSTREAM_ADDR}/")
            if code != 200:
                raise BenchError(f"the peer's upstream {PEER_UPSTREAM_ADDR} answers {code or 'nothing'}, not 200")
            self.upstream = f"http://{PEER_UPSTREAM_ADDR}"
            self.upstream_is_peer = self.peer
            self.upstream_desc = f"{self.upstream} (the peer's nginx `return 200`, 29-byte text/html body)"
        else:
            if port_in_use(ECHO_ADDR):
                raise BenchError(f"{ECHO_ADDR} (the bench's echo origin port) is already in use")
            p, lf = self.start("echo origin", [self.bin, "echo", "--listen", ECHO_ADDR], "echo.log")
            wait_for("edgewaf echo", f"http://{ECHO_ADDR}/", proc=p, logfile=lf)
            self.upstream = f"http://{ECHO_ADDR}"
            self.upstream_desc = f"{self.upstream} (`edgewaf echo`: answers with the request as JSON)"
        log(f"upstream: {self.upstream_desc}")
        cfg = os.path.join(self.tmp, "edgewaf.toml")
        self.render("edgewaf.toml.in", cfg, dict(
            WAF_LISTEN=WAF_ADDR, ADMIN_LISTEN=ADMIN_ADDR, MODULES=self.modules,
            DECISIONS=os.path.join(self.tmp, "decisions.jsonl"), STATE=os.path.join(self.tmp, "state")))
        self.render(os.path.join("policies", "bench.toml.in"), os.path.join(self.tmp, "policies", "bench.toml"),
                    dict(UPSTREAM=self.upstream, CRS_DIR=self.crs_dir))
        self.render(os.path.join("policies", "bare.toml.in"), os.path.join(self.tmp, "policies", "bare.toml"),
                    dict(UPSTREAM=self.upstream))
        e = dict(os.environ)
        e.pop("EDGEWAF_BENCH_ADMIN_TOKEN", None)
        log(f"edgewaf: {self.bin} serve --config {cfg}")
        p, lf = self.start("edgewaf", [self.bin, "serve", "--config", cfg], "edgewaf.log", e)
        self.edgewaf, self.edgewaf_log = p, lf
        wait_for("edgewaf admin", f"http://{ADMIN_ADDR}/healthz", proc=p, logfile=lf)
        waited = wait_for("edgewaf tenant bench", f"http://{WAF_ADDR}/", EDGEWAF_HOST, proc=p, logfile=lf)
        log(f"edgewaf: tenant {EDGEWAF_HOST} answering 200 on {WAF_ADDR} after {waited:.1f} s (pid {p.pid})")
        # The first request builds the CRS policy's snapshot on a thread of its
        # own (seconds of CPU, compiling the snapshotted module): measuring
        # before it is ready would measure that compile too.
        waited = wait_log(lf, ("policy snapshot ready", "no snapshot"), proc=p, timeout=300)
        log(f"edgewaf: CRS snapshot built (or refused, see its log) after {waited:.1f} s more")

    # -- measuring

    def targets(self):
        t = [dict(key="edgewaf", label="edgewaf", addr=WAF_ADDR, host=EDGEWAF_HOST,
                  pids=lambda: [self.edgewaf.pid], alive=lambda: self.edgewaf.poll() is None)]
        if self.peer:
            t.append(dict(key="modsec", label="ModSecurity", addr=PEER_WAF_ADDR, host=PEER_HOST,
                          pids=self.peer_pids, alive=lambda: True))
        return t

    def check(self, target, wl):
        code = curl_status(target["addr"], wl, target["host"])
        ok = code == wl["expect"]
        log(f"  check {target['label']:<11} {wl['method']:<4} {wl['path']:<26} Host {target['host']:<16}"
            f" -> {code or 'no answer'} {'ok' if ok else 'UNEXPECTED (want %d)' % wl['expect']}")
        if not ok:
            if target["key"] == "edgewaf" and wl["expect"] == 403:
                raise BenchError(f"edgewaf answered {code or 'nothing'} to the SQLi request {wl['path']}, not 403:"
                                 f" the CRS tenant is not blocking. edgewaf log:\n{tail(self.edgewaf_log)}")
            self.notes.append(f"{target['label']} answered {code or 'nothing'} (want {wl['expect']})"
                              f" to the {wl['name']} check request")
        return code

    def measure(self, target, wl, raw, run):
        if not target["alive"]():
            raise BenchError(f"{target['label']} is not running any more; its log:\n{tail(self.edgewaf_log)}")
        busy_before = wait_idle(self.idle_wait)
        pids = target["pids"]()
        # The peer's upstream (:8090) lives in the peer's nginx: its CPU during the
        # edgewaf runs is the upstream's share, also inside the ModSecurity column.
        up_pids = self.peer_pids() if target["key"] == "edgewaf" and self.upstream_is_peer else []
        t0, i0 = machine_ticks()
        p0, u0 = proc_ticks(pids), proc_ticks(up_pids)
        c0 = os.times()
        cmd, out, err, rc = run_wrk(target["addr"], target["host"], wl["lua"], self.secs)
        c1 = os.times()
        p1, u1 = proc_ticks(pids), proc_ticks(up_pids)
        t1, i1 = machine_ticks()
        drained = wait_quiet(pids)
        if drained > 2:
            self.notes.append(f"run {run}, {wl['name']}: {target['label']} was still busy with queued requests"
                              f" for {drained:.0f} s after wrk ended (waited for it before the next measurement)")
        raw.write(f"### run {run} | {wl['name']} | {target['label']} (Host: {target['host']})\n$ "
                  f"BENCH_HOST={target['host']} BENCH_FILES={BENCH_DIR} {' '.join(cmd)}\n{out}{err}\n")
        raw.flush()
        r = parse_wrk(out)
        if rc != 0 or r["rps"] is None or not r["requests"]:
            self.failures.append(f"run {run}, {wl['name']}, {target['label']}: wrk failed (exit {rc}): {err.strip()[:300]}")
            return None
        ncpu = os.cpu_count() or 1
        total = max(1, t1 - t0)
        busy_cores = (1.0 - (i1 - i0) / total) * ncpu
        elapsed_ticks = total / ncpu
        waf_cores = (p1 - p0) / elapsed_ticks
        wrk_cores = ((c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)) * HZ / elapsed_ticks
        up_cores = (u1 - u0) / elapsed_ticks
        r.update(cpu_us=(p1 - p0) * 1e6 / HZ / r["requests"], waf_cores=waf_cores, wrk_cores=wrk_cores,
                 up_cores=up_cores, up_us=(u1 - u0) * 1e6 / HZ / r["requests"] if up_pids else None,
                 other_cores=max(0.0, busy_cores - waf_cores - wrk_cores - up_cores), busy_before=busy_before)
        if target["key"] == "edgewaf" and wl["expect"] == 403 and r["non2xx"] != r["requests"]:
            self.failures.append(f"run {run}: edgewaf let {r['requests'] - r['non2xx']} of {r['requests']}"
                                 " SQLi requests through (want every one blocked)")
        if wl["expect"] == 200 and r["non2xx"]:
            self.notes.append(f"run {run}, {wl['name']}: {target['label']} answered {r['non2xx']} of"
                              f" {r['requests']} requests with a non-2xx/3xx status")
        if r["sock"]:
            self.notes.append(f"run {run}, {wl['name']}: {target['label']} socket errors: {r['sock']}")
        return r

    def warm_up(self):
        if self.warmup <= 0:
            return
        for t in self.targets():
            log(f"warm-up: {self.warmup} s of benign GETs against {t['label']} (not measured)")
            run_wrk(t["addr"], t["host"], "get_benign.lua", self.warmup)

    # -- main

    def main(self):
        self.check_tools()
        os.makedirs(self.out_dir, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="edgewaf-bench-")
        if self.use_peer:
            self.setup_peer()
        else:
            log("peer: skipped (PEER=0)")
        self.start_edgewaf()
        self.warm_up()

        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        md_path = os.path.join(self.out_dir, f"bench-{stamp}.md")
        raw_path = os.path.join(self.out_dir, f"bench-{stamp}.wrk.txt")
        md = open(md_path, "w")
        md.write(report.header(self, EDGEWAF_HOST, WAF_ADDR, PEER_HOST, PEER_WAF_ADDR))
        with open(raw_path, "w") as raw:
            for run in range(1, self.runs + 1):
                log(f"\n== run {run} of {self.runs} ({self.secs} s per measurement) ==")
                rows = self.run_once(raw, run)
                log(f"\nrun {run}:\n\n{report.table(rows)}\n")
                md.write(report.run_section(run, rows))
                md.flush()
        if self.notes:
            md.write("## notes\n\n" + "\n".join(f"- {n}" for n in self.notes) + "\n")
            log("notes:\n" + "\n".join(f"  - {n}" for n in self.notes))
        if self.failures:
            md.write("## FAILED\n\n" + "\n".join(f"- {f}" for f in self.failures) + "\n")
        md.close()
        log(f"\nsaved: {md_path}\n       {raw_path}")
        if self.failures:
            raise BenchError("\n".join(self.failures))

    def run_once(self, raw, run):
        """Every selected workload once against each target: (workload, edgewaf, peer) rows."""
        rows = []
        for wl in WORKLOADS:
            if self.only and not any(o in wl["name"] for o in self.only):
                continue
            log(f"{wl['name']}:")
            res = {}
            targets = [dict(t, host=wl.get("host", t["host"])) for t in self.targets()
                       if wl.get("only", t["key"]) == t["key"]]
            for t in targets:
                self.check(t, wl)
            for t in targets:
                r = self.measure(t, wl, raw, run)
                res[t["key"]] = r
                if r:
                    log(report.wrk_line(t["label"], r))
            rows.append((wl, res.get("edgewaf"), res.get("modsec")))
        return rows


def main():
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    b = None
    try:
        b = Bench()
        b.main()
        return 0
    except BenchError as e:
        print(f"\n*** BENCH FAILED ***\n{e}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if b is not None:
            b.cleanup()


if __name__ == "__main__":
    sys.exit(main())
