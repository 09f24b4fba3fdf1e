//! The compliance report as one printable HTML page (print it to PDF from the
//! browser): no script, its style inline.

use crate::observe::analytics::report::Report;
use std::fmt::Write as _;

/// `text` with `& < > " '` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn time(ms: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        .to_string()
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#111}
h1{font-size:1.6em}h2{font-size:1.2em;border-bottom:1px solid #999;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eee}pre{white-space:pre-wrap;margin:0;font-size:12px}.muted{color:#555}
@media print{body{margin:0}a{color:inherit}}";

fn versions_cell(versions: &[serde_json::Value]) -> String {
    let mut out = String::new();
    for v in versions {
        let policies: Vec<String> = v["policies"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        let mut s = escape(p["name"].as_str().unwrap_or("?"));
                        if let Some(h) = p["sha256"].as_str() {
                            let _ = write!(s, " <span class=muted>sha256 {}</span>", escape(h));
                        }
                        for r in p["rule_sets"].as_array().into_iter().flatten() {
                            let _ = write!(s, " rules {}", escape(r.as_str().unwrap_or("")));
                        }
                        s
                    })
                    .collect()
            })
            .unwrap_or_default();
        let _ = write!(
            out,
            "<div>version <b>{}</b> ({}) since {}: {}</div>",
            escape(v["version"].as_str().unwrap_or("?")),
            escape(v["mode"].as_str().unwrap_or("?")),
            time(v["ts_ms"].as_u64().unwrap_or(0)),
            policies.join(" → ")
        );
    }
    if out.is_empty() {
        out.push_str("<span class=muted>none recorded</span>");
    }
    out
}

/// The page.
pub fn render(r: &Report) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Compliance report: {t}</title><style>{STYLE}</style></head><body>\
         <h1>WAF compliance report: tenant {t}</h1><p>{} to {} (UTC). {} requests, <b>{} blocked</b>.</p>",
        time(r.from_ms),
        time(r.to_ms),
        r.requests,
        r.blocked,
        t = escape(&r.tenant)
    );
    h.push_str("<h2>PCI DSS 4.0 requirements this report gives evidence for</h2><table><tr><th>requirement</th><th>evidence here</th></tr>");
    for e in &r.pci_dss {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            e.requirement,
            escape(e.evidence)
        );
    }
    h.push_str("</table>");
    for n in &r.not_covered {
        let _ = write!(h, "<p class=muted>Not covered: {}</p>", escape(n));
    }
    h.push_str("<h2>Rules and versions in force, per day</h2><table><tr><th>day</th><th>requests</th><th>blocked</th><th>versions</th></tr>");
    for d in &r.days {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            d.date,
            d.requests,
            d.blocked,
            versions_cell(&d.versions)
        );
    }
    h.push_str(
        "</table><h2>Blocked attacks per class</h2><table><tr><th>class</th><th>blocked</th></tr>",
    );
    for c in &r.blocked_by_class {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(&c.key),
            c.count
        );
    }
    h.push_str("</table>");
    render_changes(&mut h, r);
    h.push_str("<h2>Mode changes</h2>");
    if r.mode_changes.is_empty() {
        h.push_str("<p>None in the range.</p>");
    }
    for m in &r.mode_changes {
        let _ = write!(
            h,
            "<p>{}: {} → {} (version {})</p>",
            time(m["ts_ms"].as_u64().unwrap_or(0)),
            escape(m["from"].as_str().unwrap_or("?")),
            escape(m["to"].as_str().unwrap_or("?")),
            escape(m["version"].as_str().unwrap_or("?"))
        );
    }
    h.push_str("<h2>Gaps in coverage</h2><ul>");
    if r.gaps.is_empty() {
        h.push_str("<li>None found: a version in block mode served the whole range without policy errors.</li>");
    }
    for g in &r.gaps {
        let _ = write!(h, "<li>{}</li>", escape(g));
    }
    h.push_str("</ul></body></html>");
    h
}

fn render_changes(h: &mut String, r: &Report) {
    h.push_str("<h2>Configuration changes</h2><table><tr><th>when</th><th>who (token)</th><th>what</th><th>status</th><th>summary and diff</th></tr>");
    if r.changes.is_empty() {
        h.push_str("<tr><td colspan=5>None in the range.</td></tr>");
    }
    for c in &r.changes {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{} <span class=muted>({})</span></td><td>{} {}<br><span class=muted>{}</span></td><td>{}</td><td>{}<pre>{}</pre></td></tr>",
            time(c["ts_ms"].as_u64().unwrap_or(0)),
            escape(c["token"].as_str().unwrap_or("?")),
            escape(c["scope"].as_str().unwrap_or("?")),
            escape(c["method"].as_str().unwrap_or("?")),
            escape(c["path"].as_str().unwrap_or("?")),
            escape(c["kind"].as_str().unwrap_or("?")),
            c["status"],
            escape(c["summary"].as_str().unwrap_or("")),
            escape(c["diff"].as_str().unwrap_or(""))
        );
    }
    h.push_str("</table>");
}
