#!/usr/bin/env python3
"""make eval: edgewaf's detection and false-block figures on its own corpora.

Generates tests/eval's corpora into target/eval (deterministic), starts the echo
origin and `edgewaf serve` (release build) with one tenant per CRS profile on
ports of their own, sends every request of both corpora to every tenant, and
prints detection per class / placement / encoding, the benign block rate, and
the rules behind the false blocks (from the decision log, joined on the
x-request-id of each refusal).

  python3 bench/eval.py [--bin target/release/edgewaf] [--only CLASS] [--json out.json]
"""
import argparse
import collections
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRS = Path(os.environ.get("EDGEWAF_CRS_DIR", ROOT / "crs" / "v4.28.0"))
WAF, ECHO, ADMIN = 18480, 18481, 18482
CRS_RULES = ["/crs/crs-setup.conf.example", "/crs/rules/*.conf"]
API = ROOT / "crs" / "profiles" / "api"
CRS_CONFIG = """[policy.config]
rules = {rules}
{profile}paranoia_level = 1
inbound_anomaly_threshold = 5
outbound_anomaly_threshold = 4
"""
# The detect policy (guests/policies/detect) after the crs one: its own
# findings plus the CRS inbound anomaly score, denied at 5.
DETECT = """[[policy]]
module = "detect"
[policy.config]
threshold = 5
max_body = 1048576
oversize = "deny"
"""
# One tenant per profile: the crs policy's mounts and `profile` switch (which
# loads crs/profiles/api's files mounted at /profile), and what follows it.
PROFILES = {
    "crs-default": {"mounts": {"/crs": CRS}, "profile": None, "after": ""},
    "crs-api": {"mounts": {"/crs": CRS, "/profile": API}, "profile": "api", "after": ""},
    "crs-api+detect": {"mounts": {"/crs": CRS, "/profile": API}, "profile": "api+detect", "after": DETECT},
}
TENANT = """hosts = ["{host}"]
upstream = "http://127.0.0.1:{echo}"
mode = "block"
body_limit = 1048576
[limits]
memory_mib = 256
deadline_ms = 500
[[policy]]
module = "crs"
mounts = {mounts}
"""
SERVER = """[server]
listen = "127.0.0.1:{waf}"
max_request_body = 16777216
[admin]
listen = "127.0.0.1:{admin}"
token_env = "EDGEWAF_ADMIN_TOKEN"
[policies]
dir = "policies"
modules = ["{modules}"]
[log]
decisions = "stdout"
[state]
dir = "state"
backend = "memory"
"""


def tenant(name):
    """Tenant names are a-z, 0-9, '-' and '_': `crs-api+detect` runs as `crs-api-detect`."""
    return name.replace("+", "-")


def host(name):
    return f"{tenant(name)}.eval"


def write_config(d):
    (d / "policies").mkdir()
    for name, p in PROFILES.items():
        mounts = "{ " + ", ".join(f"{json.dumps(k)} = {json.dumps(str(v))}" for k, v in p["mounts"].items()) + " }"
        (d / "policies" / f"{tenant(name)}.toml").write_text(
            TENANT.format(host=host(name), echo=ECHO, mounts=mounts)
            + CRS_CONFIG.format(rules=json.dumps(CRS_RULES),
                                profile=f'profile = "{p["profile"]}"\n' if p["profile"] else "")
            + p["after"])
    modules = ROOT / "target" / "wasm32-wasip2" / "release"
    (d / "edgewaf.toml").write_text(SERVER.format(waf=WAF, admin=ADMIN, modules=modules))


class Server:
    """The echo origin and edgewaf serve; the decision log is read on a thread."""

    def __init__(self, binary, d):
        env = {**os.environ, "EDGEWAF_ADMIN_TOKEN": "eval-token"}
        self.echo = subprocess.Popen([binary, "echo", "--listen", f"127.0.0.1:{ECHO}"],
                                     stdout=subprocess.DEVNULL)
        self.waf = subprocess.Popen([binary, "serve", "--config", str(d / "edgewaf.toml")], env=env,
                                    stdout=subprocess.PIPE, stderr=open(d / "stderr.log", "w"))
        self.log = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.waf.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if "request_id" in ev:
                with self.lock:
                    self.log[ev["request_id"]] = ev

    def action(self, request_id):
        """The decision's action (allow, deny, error...) once logged, else None."""
        with self.lock:
            ev = self.log.get(request_id)
        return ev.get("action") if ev else None

    def rules(self, request_id, wait=5.0):
        end = time.time() + wait
        while time.time() < end:
            with self.lock:
                if request_id in self.log:
                    return self.log[request_id].get("rule_ids", [])
            time.sleep(0.05)
        return []

    def stop(self):
        for p in (self.waf, self.echo):
            p.terminate()
            p.wait(10)


def wait_ready(hosts, timeout=300):
    """Ready when every tenant answers a plain GET (the CRS loads for seconds)."""
    end = time.time() + timeout
    pending = set(hosts)
    while pending and time.time() < end:
        for h in list(pending):
            try:
                c = http.client.HTTPConnection("127.0.0.1", WAF, timeout=5)
                c.request("GET", "/", headers={"Host": h})
                if c.getresponse().status == 200:
                    pending.discard(h)
                c.close()
            except OSError:
                pass
        time.sleep(0.5)
    if pending:
        sys.exit(f"eval: tenants not ready after {timeout} s: {sorted(pending)}")


def wait_snapshots(stderr_log, count, timeout=180):
    """Wait until the crs policy of every tenant has its pre-initialised snapshot
    (the log line "policy snapshot ready"): before that, a new instance loads the
    CRS from scratch, which under load can exceed the tenant's deadline and turn
    a request into a policy error rather than a decision."""
    end = time.time() + timeout
    while time.time() < end:
        text = re.sub(r"\x1b\[[0-9;]*m", "", Path(stderr_log).read_text(errors="replace"))
        ready = [line for line in text.splitlines() if "policy snapshot ready" in line and "policy=crs " in line]
        if len(ready) >= count:
            return
        time.sleep(0.5)
    print(f"eval: not every snapshot ready after {timeout} s; going on", file=sys.stderr)


def send(host, r):
    """Send one corpus request; returns (status, x-request-id)."""
    headers = {"Host": host}
    for k, v in r["headers"]:
        headers[k] = v
    body = r["body"].encode() if r["body"] is not None else None
    for attempt in range(3):
        try:
            c = http.client.HTTPConnection("127.0.0.1", WAF, timeout=30)
            c.putrequest(r["method"], r["target"], skip_host=True, skip_accept_encoding=True)
            for k, v in headers.items():
                c.putheader(k, v.encode("latin-1", "replace"))
            if body is not None:
                c.putheader("Content-Length", str(len(body)))
            c.endheaders(body)
            resp = c.getresponse()
            resp.read()
            c.close()
            return resp.status, resp.getheader("x-request-id")
        except OSError:
            time.sleep(0.2)
    return 0, None


def blocked(status):
    """The echo origin answers 200 to everything: a 4xx is the WAF refusing (403 from a
    rule, 400 from a body the body processor refuses, 413 over the size limit)."""
    return 400 <= status < 500


def score(results):
    """results: [(request, blocked)] -> {dimension: {value: [blocked, total]}}."""
    out = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
    for r, blocked in results:
        for dim in ("class", "placement", "encoding", "set"):
            cell = out[dim][r.get(dim, "-")]
            cell[0] += int(blocked)
            cell[1] += 1
        out["all"]["all"][0] += int(blocked)
        out["all"]["all"][1] += 1
    return out


def pct(cell):
    return 100.0 * cell[0] / cell[1] if cell[1] else 0.0


def run_profile(server, host, attacks, benign):
    def one(r):
        status, rid = send(host, r)
        return r, status, rid
    with ThreadPoolExecutor(4) as ex:
        a = list(ex.map(one, attacks))
        b = list(ex.map(one, benign))
    statuses = collections.Counter(s for _, s, _ in a + b)
    errors = [(r["id"], s) for r, s, _ in a + b if s == 0]
    attack_scores = score([(r, blocked(s)) for r, s, _ in a])
    benign_scores = score([(r, blocked(s)) for r, s, _ in b])
    false_rules = collections.Counter()
    for r, s, rid in b:
        if blocked(s) and rid:
            for rule in server.rules(rid):
                false_rules[rule] += 1
    policy_errors = sum(1 for _, s, rid in a + b if blocked(s) and rid and server.action(rid) == "error")
    return {"attacks": attack_scores, "benign": benign_scores, "false_rules": false_rules, "errors": errors,
            "statuses": statuses, "policy_errors": policy_errors}


def report(name, res):
    print(f"\n== {name} ==")
    att, ben = res["attacks"], res["benign"]
    print(f"attacks detected: {att['all']['all'][0]}/{att['all']['all'][1]} = {pct(att['all']['all']):.1f} %")
    for dim in ("set", "class", "placement", "encoding"):
        print(f"  by {dim}: " + ", ".join(f"{k} {pct(v):.0f}% ({v[0]}/{v[1]})"
                                         for k, v in sorted(att[dim].items())))
    print(f"benign blocked: {ben['all']['all'][0]}/{ben['all']['all'][1]} = {pct(ben['all']['all']):.1f} %")
    print("  by category: " + ", ".join(f"{k} {pct(v):.0f}% ({v[0]}/{v[1]})"
                                        for k, v in sorted(ben["class"].items())))
    top = res["false_rules"].most_common(12)
    print("  top false-blocking rules: " + (", ".join(f"{r} x{n}" for r, n in top) or "none"))
    print("  statuses: " + ", ".join(f"{k} x{v}" for k, v in sorted(res["statuses"].items()))
          + f"; refusals that were policy errors (deadline, trap): {res['policy_errors']}")
    if res["errors"]:
        print(f"  {len(res['errors'])} requests got no answer: {res['errors'][:10]}")


def load(path, only):
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    return [r for r in rows if not only or r["class"] == only]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "edgewaf"))
    ap.add_argument("--only", help="one attack class")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    corpus = ROOT / "target" / "eval"
    corpus.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(ROOT / "tests" / "eval" / "gen_corpus.py"), str(corpus)], check=True)
    attacks = load(corpus / "attacks.jsonl", args.only)
    benign = load(corpus / "benign.jsonl", None)
    with tempfile.TemporaryDirectory(prefix="edgewaf-eval-") as tmp:
        d = Path(tmp)
        write_config(d)
        server = Server(args.bin, d)
        try:
            wait_ready([host(n) for n in PROFILES])
            wait_snapshots(d / "stderr.log", len(PROFILES))
            results = {}
            for name in PROFILES:
                t0 = time.time()
                results[name] = run_profile(server, host(name), attacks, benign)
                report(name, results[name])
                print(f"  ({len(attacks) + len(benign)} requests in {time.time() - t0:.0f} s)")
        finally:
            server.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(results, default=lambda o: dict(o), indent=1))


if __name__ == "__main__":
    main()
