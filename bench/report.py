"""The bench's output (bench/bench.py drives it): the markdown header, one
table per run and the CPU-in-use notes, from the rows the measurements give."""
import datetime
import os
import subprocess

from benchlib import REPO, WRK_CONNS, WRK_THREADS


def fmt_rps(v):
    return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"


def fmt_ms(v):
    if v is None:
        return "–"
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


def wrk_line(label, r):
    """One measurement as the bench logs it while running."""
    return (f"  wrk   {label:<11} {fmt_rps(r['rps']):>9} req/s  p50 {fmt_ms(r['p50'])}"
            f"  p99 {fmt_ms(r['p99'])}  CPU {r['cpu_us']:,.0f} µs/req"
            f"  non-2xx/3xx {r['non2xx']:,} of {r['requests']:,}")


def table(rows):
    head = ("| workload | edgewaf req/s | p50 | p99 | CPU µs/req | ModSecurity req/s | p50 | p99 | CPU µs/req"
            " | edgewaf/ModSecurity req/s | non-2xx/3xx edgewaf | non-2xx/3xx ModSecurity |")
    lines = [head, "|" + "---|" * 12]

    def side(r):
        if r is None:
            return ["–"] * 4
        return [fmt_rps(r["rps"]), fmt_ms(r["p50"]), fmt_ms(r["p99"]), f"{r['cpu_us']:,.0f}"]

    def non2xx(r):
        if r is None:
            return "–"
        s = f"{r['non2xx']:,} of {r['requests']:,}"
        return s + (f" (socket errors: {r['sock']})" if r["sock"] else "")

    for wl, e, m in rows:
        ratio = f"{e['rps'] / m['rps']:.2f}×" if e and m and m["rps"] else "–"
        lines.append("| " + " | ".join([wl["name"]] + side(e) + side(m) + [ratio, non2xx(e), non2xx(m)]) + " |")
    return "\n".join(lines)


def load_notes(rows):
    out = []
    for wl, e, m in rows:
        for label, r in (("edgewaf", e), ("ModSecurity", m)):
            if r:
                b = "n/a" if r["busy_before"] is None else f"{r['busy_before'] * 100:.0f} %"
                up = "" if r["up_us"] is None else \
                    f", upstream nginx {r['up_cores']:.2f} ({r['up_us']:,.0f} µs/req)"
                out.append(f"{wl['name']}, {label}: WAF {r['waf_cores']:.2f} cores, wrk {r['wrk_cores']:.2f}{up},"
                           f" other processes {r['other_cores']:.2f} (machine busy before: {b})")
    return out


def run_section(run, rows):
    """The markdown of one run: its table and the CPU in use per measurement."""
    return (f"## run {run}\n\n{table(rows)}\n\nCPU in use during each measurement (cores of {os.cpu_count()}):\n\n"
            + "\n".join(f"- {n}" for n in load_notes(rows)) + "\n\n")


def header(b, waf_host, waf_addr, peer_host, peer_addr):
    """The markdown header: what was measured, against what, under which load.
    b is the Bench (its crs_dir, peer, upstream, secs)."""
    rev = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip() or "unknown"
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    wrk_v = (wrk_v.stdout + wrk_v.stderr).strip().splitlines()[0] if (wrk_v.stdout + wrk_v.stderr).strip() else "wrk"
    lines = [
        f"# edgewaf vs ModSecurity: {datetime.datetime.now().isoformat(timespec='seconds')}",
        "",
        f"- edgewaf {rev}: tenant {waf_host} on {waf_addr}, OWASP CRS from {b.crs_dir},"
        " paranoia 1, blocking, inbound threshold 5, outbound 4, max_instances 4",
        f"- peer: " + (f"nginx + ModSecurity v3 + the same CRS, paranoia 1, blocking, on {peer_addr}"
                       f" (Host: {peer_host})" if b.peer else "not measured"),
        f"- upstream: {b.upstream_desc}",
        f"- load: `{wrk_v}`, -t{WRK_THREADS} -c{WRK_CONNS} -d{b.secs}s --latency --timeout 10s;"
        f" {os.cpu_count()} cores shared by the WAF, wrk and the upstream",
        "- CPU µs/req: user+system time of the WAF processes (edgewaf; nginx master+workers) over the"
        " wrk run / requests completed"
        + ("; the peer's nginx also serves the upstream, so the ModSecurity column includes the upstream's"
           " share (shown as \"upstream nginx\" for the edgewaf runs below)" if b.upstream_is_peer else ""),
        "",
    ]
    return "\n".join(lines) + "\n"
