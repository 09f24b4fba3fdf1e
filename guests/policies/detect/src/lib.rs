//! # detect: detection beyond the CRS
//!
//! A policy that decodes every inspected value to a fixed point and runs
//! tokenising detectors on each decoded form. Put it after the crs policy
//! (or alone):
//!
//! ```toml
//! [[policy]]
//! module = "detect"
//! [policy.config]
//! threshold = 5        # see config.rs for every key
//! ```
//!
//! 1. **Values** ([`targets`], [`bodies`]): path and its segments, query and
//!    form arguments (names too), headers, cookies, JSON leaves and keys
//!    (GraphQL documents by their string literals), XML text, attributes and
//!    CDATA, multipart fields and files, other bodies as raw text in chunks.
//!    A body over `max_body`, or one the host truncated, gets the `oversize`
//!    action (default deny): nothing passes uninspected in silence.
//! 2. **Decoding** ([`decode`]): URL, double URL, `%u`, JS and JSON escapes,
//!    HTML/XML references, base64 when the value is base64 of text; one
//!    layer at a time, to a fixed point, at most `max_decode_depth` layers.
//! 3. **Detectors** ([`detectors`]), one per class: SQLi and XSS
//!    (libinjection, an HTML tag tokenizer), command injection (a shell
//!    tokenizer), path traversal, LDAP, NoSQL, SSTI, SSI, mail, JNDI, XXE.
//! 4. **Score**: per class the highest finding (critical 5, suspicious 3),
//!    summed over classes. With `combine_crs_score`, an earlier crs policy's
//!    inbound anomaly score (annotation `crs.inbound_anomaly_score`) is
//!    added. The request is denied when the sum reaches `threshold` and
//!    this policy found something. Annotations `detect.score`,
//!    `anomaly.score` and `detect.classes` go to the decision log.
#![deny(missing_docs)]

pub mod bodies;
pub mod config;
pub mod decode;
pub mod detectors;
pub mod targets;

use config::{Config, Oversize};
use detectors::{Hit, Kind};
use edgewaf_sdk::prelude::*;

/// The policy.
pub struct Detect {
    cfg: Config,
}

/// A hit and where it was found.
struct Located {
    hit: Hit,
    location: String,
}

impl Detect {
    /// Every hit in `req`, the best one per class, in class order.
    fn scan(&self, req: &Request) -> Vec<Located> {
        let mut items = Vec::new();
        targets::request_line_and_headers(req, &mut items);
        targets::body(req, self.cfg.chunk, &mut items);
        let enabled = |class: &str| self.cfg.enabled(class);
        let mut best: Vec<Located> = Vec::new();
        let mut hits = Vec::new();
        for item in &items {
            for v in decode::variants(&item.text, self.cfg.max_decode_depth) {
                detectors::scan(&v, item.kind, &enabled, &mut hits);
            }
            for hit in hits.drain(..) {
                match best.iter_mut().find(|l| l.hit.class == hit.class) {
                    Some(l) if l.hit.score >= hit.score => {}
                    Some(l) => {
                        *l = Located {
                            hit,
                            location: item.location.clone(),
                        }
                    }
                    None => best.push(Located {
                        hit,
                        location: item.location.clone(),
                    }),
                }
            }
        }
        best.sort_by_key(|l| config::CLASSES.iter().position(|c| *c == l.hit.class));
        best
    }

    /// The verdict for a body too large to inspect.
    fn oversize(&self, req: &Request) -> Option<Verdict> {
        let over = req.body_truncated || req.body.len() > self.cfg.max_body;
        if !over {
            return None;
        }
        let f = Finding::new(
            "detect-oversize",
            "request body not inspected: over the limit",
        )
        .severity(Severity::Warning)
        .tag("oversize")
        .data(format!(
            "{} bytes{}, max_body {}",
            req.body.len(),
            if req.body_truncated {
                " (truncated by the host)"
            } else {
                ""
            },
            self.cfg.max_body
        ));
        Some(match self.cfg.oversize {
            Oversize::Deny => {
                Verdict::deny("detect: body over the inspection limit").with_finding(f)
            }
            Oversize::Allow => Verdict::allow().with_finding(f),
        })
    }
}

fn finding(l: &Located) -> Finding {
    let severity = if l.hit.score >= detectors::CRITICAL {
        Severity::Critical
    } else {
        Severity::Warning
    };
    Finding::new(
        format!("detect-{}", l.hit.class),
        format!("{} detected", l.hit.class),
    )
    .severity(severity)
    .tag(format!("attack-{}", l.hit.class))
    .tag(format!("score/{}", l.hit.score))
    .data(format!("{}: {}", l.location, l.hit.evidence))
}

impl Policy for Detect {
    fn init(config: &str) -> Result<Self, String> {
        Ok(Detect {
            cfg: Config::parse(config)?,
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            request_body: true,
            inspect_response: false,
        }
    }

    fn on_request(&self, req: &Request) -> Verdict {
        if let Some(v) = self.oversize(req)
            && v.is_deny()
        {
            return v;
        }
        let found = self.scan(req);
        let score: u32 = found.iter().map(|l| l.hit.score).sum();
        let crs = if self.cfg.combine_crs_score {
            req.annotation("crs.inbound_anomaly_score")
                .and_then(|s| s.trim().parse::<u32>().ok())
                .unwrap_or(0)
        } else {
            0
        };
        let total = score + crs;
        let classes: Vec<&str> = found.iter().map(|l| l.hit.class).collect();
        let mut v = if score > 0 && total >= self.cfg.threshold {
            let first = &found[0];
            Verdict::deny(format!(
                "detect: {} at {} (score {score}, anomaly {total} >= {})",
                first.hit.class, first.location, self.cfg.threshold
            ))
        } else {
            Verdict::allow()
        };
        if let Some(over) = self.oversize(req) {
            v = v.with_findings(over.findings);
        }
        v.with_findings(found.iter().map(finding))
            .with_annotation("detect.score", score.to_string())
            .with_annotation("anomaly.score", total.to_string())
            .with_annotation("detect.classes", classes.join(","))
    }
}

edgewaf_sdk::export_policy!(Detect);

/// Scans one value as the policy does (all decoding layers, every detector
/// of `kind`); for tests and tools.
pub fn scan_value(value: &str, kind: Kind, max_depth: usize) -> Vec<Hit> {
    let mut hits = Vec::new();
    for v in decode::variants(value, max_depth) {
        detectors::scan(&v, kind, &|_| true, &mut hits);
    }
    hits
}

#[cfg(test)]
mod tests;
