#!/usr/bin/env python3
"""The request path with the event store on and off (issue 14).

Three `edgewaf serve` processes run side by side with the same tenant
(ip-filter + signatures: cheap policies, so the store's share of each request
is as large as it gets) in front of one echo origin: `on` (store on) and two
with the store off, `off` and `off2`. wrk -t2 -c32 --latency loads one of them
at a time, BENCH_SECS (3) s per run, BENCH_RUNS (8) rounds, the order of the
three rotated each round, a benign GET and an SQLi GET (403). The idle
processes cost nothing; each run is followed by a 0.5 s pause so that the
store's writer has written the run's events before the next run starts.

Two loads, one after the other:
- saturation: as fast as wrk can send;
- a fixed offered rate below it: half the median req/s of the `off` runs at
  saturation (BENCH_RATE=N sets it instead). Each of the 32 connections waits
  32000/N ms (wrk's Lua delay()) after each answer; wrk times each request
  from send to answer, without the wait.

Printed: every run, then per load and workload the median and min-max of
p50, p99 and req/s per process, the process's CPU time per request and the
store writer thread's share of it (from /proc/PID/task/*/schedstat, over the
run and its pause), and the per-round differences of p99
`on - off` (the store's effect) next to `off2 - off` (the noise: two identical
processes). "Within noise" means the median `on - off` lies inside the range
of `off2 - off`. Last, the drop counter of `on` and the events in its store
against the requests wrk completed (every decision must be stored).

A benchmark, not a test. Needs target/release/edgewaf, the guests
(make host guests) and wrk.

    python3 bench/store_p99.py
    BENCH_RUNS=12 BENCH_SECS=3 python3 bench/store_p99.py
"""
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, "target/release/edgewaf")
ECHO = "127.0.0.1:18582"
# name: (proxy, admin, store on)
WAFS = {
    "on": ("127.0.0.1:18580", "127.0.0.1:18591", True),
    "off": ("127.0.0.1:18583", "127.0.0.1:18592", False),
    "off2": ("127.0.0.1:18584", "127.0.0.1:18593", False),
}
SECS = int(os.environ.get("BENCH_SECS", "3"))
RUNS = int(os.environ.get("BENCH_RUNS", "8"))
RATE = int(os.environ.get("BENCH_RATE", "0"))
PAUSE = 0.5
CONNS = 32
TOKEN = "bench-token-0123456789"
TENANT = """hosts = ["shop.localhost"]
upstream = "http://%s"
mode = "block"
[[policy]]
module = "ip-filter"
[policy.config]
lists = ["blocklist"]
[[policy]]
module = "signatures"
""" % ECHO
WORKLOADS = {
    "benign GET": "/products?page=2&sort=price",
    "SQLi GET (403)": "/products?id=1%27%20OR%20%271%27%3D%271",
}


def wait_port(addr):
    host, port = addr.split(":")
    for _ in range(300):
        try:
            socket.create_connection((host, int(port)), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {addr}")


def start_waf(tmp, name):
    listen, admin, store_on = WAFS[name]
    d = os.path.join(tmp, name)
    os.makedirs(os.path.join(d, "policies"), exist_ok=True)
    with open(os.path.join(d, "policies", "shop.toml"), "w") as f:
        f.write(TENANT)
    with open(os.path.join(d, "edgewaf.toml"), "w") as f:
        f.write(f'[server]\nlisten = "{listen}"\n[admin]\nlisten = "{admin}"\n'
                f'[policies]\ndir = "policies"\nmodules = ["{REPO}/target/wasm32-wasip2/release"]\n'
                f'[log]\ndecisions = "decisions.log"\n[state]\ndir = "state"\nwatch = false\n'
                f'[analytics]\nenabled = {"true" if store_on else "false"}\n')
    env = dict(os.environ, EDGEWAF_ADMIN_TOKEN=TOKEN)
    p = subprocess.Popen([BIN, "serve", "--config", os.path.join(d, "edgewaf.toml")],
                         env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr.log"), "a"))
    wait_port(listen)
    wait_port(admin)
    PIDS[name] = p.pid
    return p


PIDS = {}


def cpu_ns(name):
    """(whole process, store writer thread) CPU time so far, ns (schedstat)."""
    total = writer = 0
    task_dir = f"/proc/{PIDS[name]}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
            with open(f"{task_dir}/{tid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        total += ns
        if comm.startswith("edgewaf-analyti"):
            writer += ns
    return total, writer


def wrk(name, path, script):
    args = ["wrk", "-t2", f"-c{CONNS}", f"-d{SECS}s", "--latency", "-H", "Host: shop.localhost"]
    if script:
        args += ["-s", script]
    out = subprocess.run(args + [f"http://{WAFS[name][0]}{path}"], capture_output=True, text=True).stdout

    def ms(label):
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    done = int(re.search(r"(\d+) requests in", out).group(1))
    return ms("50%"), ms("99%"), rps, done


def dropped():
    req = urllib.request.Request(f"http://{WAFS['on'][1]}/metrics",
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    text = urllib.request.urlopen(req).read().decode()
    m = re.search(r"^edgewaf_analytics_dropped_total (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def stored(tmp):
    db = sqlite3.connect(f"file:{os.path.join(tmp, 'on', 'state', 'analytics.db')}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        db.close()


def rate_script(tmp, rate):
    path = os.path.join(tmp, f"rate{rate}.lua")
    with open(path, "w") as f:
        f.write("function delay()\n  return %d\nend\n" % max(1, round(CONNS * 1000 / rate)))
    return path


def measure(load, script):
    """RUNS rounds of every workload on every process, order rotated."""
    names = list(WAFS)
    results = {(w, n): [] for w in WORKLOADS for n in names}
    for run in range(RUNS):
        order = names[run % 3:] + names[:run % 3]
        for w, path in WORKLOADS.items():
            for n in order:
                before = cpu_ns(n)
                r = wrk(n, path, script)
                time.sleep(PAUSE)
                after = cpu_ns(n)
                # CPU per request of the whole process, and of the writer.
                r = r + ((after[0] - before[0]) / r[3] / 1000, (after[1] - before[1]) / r[3] / 1000)
                results[(w, n)].append(r)
                print(f"{load} run {run + 1:2} {n:4} {w:15} p50 {r[0]:6.2f} ms  p99 {r[1]:6.2f} ms  "
                      f"{r[2]:7.0f} req/s  cpu {r[4]:5.1f} us/req (writer {r[5]:4.1f})  "
                      f"load avg {os.getloadavg()[0]:.1f}", flush=True)
                if n == "on":
                    print(f"{load} run {run + 1:2} on   store drops so far: {dropped()}", flush=True)
    return results


def mm(xs, fmt):
    return f"{fmt.format(statistics.median(xs))} ({fmt.format(min(xs))} to {fmt.format(max(xs))})"


def summary(load, results):
    print(f"\n{load}\n\n| workload | process | p50 median (min to max) | p99 median (min to max) "
          f"| req/s median (min to max) | process CPU per request | of it the store writer |"
          f"\n|---|---|---|---|---|---|---|")
    for (w, n), rs in results.items():
        print(f"| {w} | {n} | {mm([r[0] for r in rs], '{:.2f}')} ms | "
              f"{mm([r[1] for r in rs], '{:.2f}')} ms | {mm([r[2] for r in rs], '{:,.0f}')} | "
              f"{mm([r[4] for r in rs], '{:.1f}')} us | {mm([r[5] for r in rs], '{:.1f}')} us |")
    print("\n| workload | p99 on - off: median [IQR] (min to max) | p99 off2 - off (noise): median [IQR] (min to max) "
          "| within noise (range / IQR) | req/s on / off, off2 / off (medians of the rounds' ratios) |"
          "\n|---|---|---|---|---|")
    for w in WORKLOADS:
        effect = paired(results, w, "on", 1)
        noise = paired(results, w, "off2", 1)
        m = statistics.median(effect)
        in_range = "yes" if min(noise) <= m <= max(noise) else "no"
        q = quartiles(noise)
        in_iqr = "yes" if q[0] <= m <= q[1] else "no"
        ratio = [a[2] / b[2] for a, b in zip(results[(w, "on")], results[(w, "off")])]
        ratio2 = [a[2] / b[2] for a, b in zip(results[(w, "off2")], results[(w, "off")])]
        print(f"| {w} | {spread(effect)} ms | {spread(noise)} ms | {in_range} / {in_iqr} "
              f"| {statistics.median(ratio):.3f}, {statistics.median(ratio2):.3f} |")


def paired(results, w, name, i):
    """Per round: `name`'s figure i minus `off`'s (the same round, same load)."""
    return [a[i] - b[i] for a, b in zip(results[(w, name)], results[(w, "off")])]


def quartiles(xs):
    q = statistics.quantiles(xs, n=4)
    return q[0], q[2]


def spread(xs):
    q = quartiles(xs)
    return (f"{statistics.median(xs):+.2f} [{q[0]:+.2f} to {q[1]:+.2f}] "
            f"({min(xs):+.2f} to {max(xs):+.2f})")

def main():
    echo = subprocess.Popen([BIN, "echo", "--listen", ECHO], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(ECHO)
    procs = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            procs = [start_waf(tmp, n) for n in WAFS]
            sat = measure("saturation", None)
            rate = RATE or int(statistics.median(r[2] for w in WORKLOADS for r in sat[(w, "off")]) / 2)
            print(f"\nfixed rate: about {rate} req/s offered ({CONNS} connections, "
                  f"{max(1, round(CONNS * 1000 / rate))} ms between requests each)", flush=True)
            fixed = measure(f"{rate} req/s", rate_script(tmp, rate))
            time.sleep(1)
            sent = sum(r[3] for res in (sat, fixed) for w in WORKLOADS for r in res[(w, "on")])
            summary("saturation", sat)
            summary(f"fixed rate, about {rate} req/s offered", fixed)
            print(f"\nstore: {dropped()} events dropped; {stored(tmp):,} events stored for "
                  f"{sent:,} requests wrk completed")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        echo.terminate()


if __name__ == "__main__":
    main()
