#!/usr/bin/env python3
"""The request path with the event store on and off (issue 14): wrk against
`edgewaf serve` with one tenant (ip-filter + signatures: cheap policies, so
the store's share of each request is as large as it gets), a benign GET and an
SQLi GET (403), the store on and off alternately, BENCH_RUNS (3) rounds of
BENCH_SECS (8) s each, wrk -t2 -c32 --latency. Prints p50/p99 and req/s per
run, the median and the spread (min-max) of each, and the store's drop
counter. A benchmark, not a test. Needs target/release/edgewaf and the guests
(make host guests) and wrk.

BENCH_RATE=N holds the offered load near N requests/s instead of saturating:
each of the 32 connections waits (wrk's Lua delay()) 32000/N ms after each
answer before sending again, so the achieved rate is a little below N; wrk
times each request from send to answer, without the wait.

    python3 bench/store_p99.py                  # at saturation
    BENCH_RATE=8000 python3 bench/store_p99.py  # at a fixed rate below it
"""
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(REPO, "target/release/edgewaf")
WAF, ADMIN, ECHO = "127.0.0.1:18580", "127.0.0.1:18591", "127.0.0.1:18582"
SECS = int(os.environ.get("BENCH_SECS", "8"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RATE = int(os.environ.get("BENCH_RATE", "0"))
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


def start_waf(tmp, store_on):
    d = os.path.join(tmp, "on" if store_on else "off")
    os.makedirs(os.path.join(d, "policies"), exist_ok=True)
    with open(os.path.join(d, "policies", "shop.toml"), "w") as f:
        f.write(TENANT)
    with open(os.path.join(d, "edgewaf.toml"), "w") as f:
        f.write(f'[server]\nlisten = "{WAF}"\n[admin]\nlisten = "{ADMIN}"\n'
                f'[policies]\ndir = "policies"\nmodules = ["{REPO}/target/wasm32-wasip2/release"]\n'
                f'[log]\ndecisions = "decisions.log"\n[state]\nwatch = false\n'
                f'[analytics]\nenabled = {"true" if store_on else "false"}\n')
    env = dict(os.environ, EDGEWAF_ADMIN_TOKEN=TOKEN)
    p = subprocess.Popen([BIN, "serve", "--config", os.path.join(d, "edgewaf.toml")],
                         env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr.log"), "a"))
    wait_port(WAF)
    wait_port(ADMIN)
    return p


def wrk(path, script):
    args = ["wrk", "-t2", f"-c{CONNS}", f"-d{SECS}s", "--latency", "-H", "Host: shop.localhost"]
    if script:
        args += ["-s", script]
    out = subprocess.run(args + [f"http://{WAF}{path}"], capture_output=True, text=True).stdout
    def ms(label):
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return ms("50%"), ms("99%"), rps


def dropped():
    req = urllib.request.Request(f"http://{ADMIN}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    text = urllib.request.urlopen(req).read().decode()
    m = re.search(r"^edgewaf_analytics_dropped_total (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def main():
    echo = subprocess.Popen([BIN, "echo", "--listen", ECHO], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(ECHO)
    results = {(w, on): [] for w in WORKLOADS for on in (True, False)}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = None
            if RATE > 0:
                script = os.path.join(tmp, "rate.lua")
                with open(script, "w") as f:
                    f.write("function delay()\n  return %d\nend\n" % max(1, round(CONNS * 1000 / RATE)))
                print(f"offered load: about {RATE} req/s ({CONNS} connections, "
                      f"{max(1, round(CONNS * 1000 / RATE))} ms between requests each)", flush=True)
            for run in range(RUNS):
                for on in (True, False) if run % 2 == 0 else (False, True):
                    p = start_waf(tmp, on)
                    try:
                        for name, path in WORKLOADS.items():
                            r = wrk(path, script)
                            results[(name, on)].append(r)
                            print(f"run {run + 1} store {'on ' if on else 'off'} {name:16} p50 {r[0]:.2f} ms  p99 {r[1]:.2f} ms  {r[2]:.0f} req/s", flush=True)
                        if on:
                            print(f"       store drops so far: {dropped()}", flush=True)
                    finally:
                        p.terminate()
                        p.wait()
    finally:
        echo.terminate()
    print("\n| workload | store | p50 median (min-max) | p99 median (min-max) | req/s median (min-max) |"
          "\n|---|---|---|---|---|")
    for (name, on), rs in results.items():
        cells = []
        for i, unit in ((0, " ms"), (1, " ms"), (2, "")):
            xs = [x[i] for x in rs]
            fmt = "{:.2f}" if unit else "{:,.0f}"
            cells.append(f"{fmt.format(statistics.median(xs))}{unit} "
                         f"({fmt.format(min(xs))}-{fmt.format(max(xs))})")
        print(f"| {name} | {'on' if on else 'off'} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
