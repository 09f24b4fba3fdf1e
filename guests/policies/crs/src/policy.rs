//! The policy: one rule set per instance, one transaction per request.

use crate::config::CrsConfig;
use edgewaf_sdk::prelude::*;
use seclang::{MatchedRule, RuleSet, RuleSetBuilder, Transaction};
use std::cell::RefCell;
use std::collections::VecDeque;

/// The CRS policy.
pub struct Crs {
    rules: &'static RuleSet,
    max_pending: usize,
    /// Transactions between on_request and on_response, keyed by request id.
    pending: RefCell<VecDeque<(String, Pending)>>,
    /// Finished transactions kept for the next requests (reset, not rebuilt).
    spare: RefCell<Vec<Transaction<'static>>>,
}

/// Most finished transactions kept for reuse.
const SPARE_MAX: usize = 4;

struct Pending {
    tx: Transaction<'static>,
    reported: usize,
}

fn severity(s: Option<u8>) -> Severity {
    match s {
        Some(0) => Severity::Emergency,
        Some(1) => Severity::Alert,
        Some(2) => Severity::Critical,
        Some(3) => Severity::Error,
        Some(4) => Severity::Warning,
        Some(5) => Severity::Notice,
        Some(6) | None => Severity::Info,
        Some(_) => Severity::Debug,
    }
}

fn finding(m: &MatchedRule) -> Finding {
    let mut f = Finding::new(m.id.to_string(), m.msg.clone())
        .severity(severity(m.severity))
        .data(&m.logdata);
    for t in &m.tags {
        f = f.tag(t.clone());
    }
    f
}

impl Crs {
    /// Loads the rule set described by `cfg`.
    pub fn load(cfg: &CrsConfig) -> Result<RuleSet, String> {
        let mut b = RuleSetBuilder::new();
        b.add_text("<crs preamble>", &cfg.preamble())
            .map_err(|e| e.to_string())?;
        if !cfg.setup_text.is_empty() {
            b.add_text("<setup_text>", &cfg.setup_text)
                .map_err(|e| e.to_string())?;
        }
        let before = cfg.exclusions_before();
        if !before.is_empty() {
            b.add_text("<exclusions>", &before)
                .map_err(|e| e.to_string())?;
        }
        for f in &cfg.rule_files() {
            b.add_file(f).map_err(|e| e.to_string())?;
        }
        let after = cfg.exclusions_after();
        if !after.is_empty() {
            b.add_text("<exclusions>", &after)
                .map_err(|e| e.to_string())?;
        }
        if !cfg.rules_text.is_empty() {
            b.add_text("<rules_text>", &cfg.rules_text)
                .map_err(|e| e.to_string())?;
        }
        b.build().map_err(|e| e.to_string())
    }

    fn verdict(tx: &Transaction<'_>, from: usize) -> Verdict {
        let mut v = match tx.intervention() {
            Some(i) => match &i.url {
                Some(url) => Verdict::redirect(url.clone()),
                None => Verdict::deny_status(i.status, format!("crs rule {}", i.rule_id)),
            },
            None => Verdict::allow(),
        };
        v = v.with_findings(tx.logged_rules_from(from).iter().map(finding));
        for (key, var) in [
            (
                "crs.inbound_anomaly_score",
                "blocking_inbound_anomaly_score",
            ),
            (
                "crs.outbound_anomaly_score",
                "blocking_outbound_anomaly_score",
            ),
        ] {
            if let Some(s) = tx.tx_var(var) {
                v = v.with_annotation(key, s);
            }
        }
        v
    }

    /// A transaction for `req`: a spare one reset, or a new one.
    fn transaction(&self, req: &Request) -> Transaction<'static> {
        match self.spare.borrow_mut().pop() {
            Some(mut tx) => {
                tx.reset(&req.id);
                tx
            }
            None => Transaction::new(self.rules, &req.id),
        }
    }

    /// Keeps a finished transaction for reuse (up to [`SPARE_MAX`]).
    fn recycle(&self, tx: Transaction<'static>) {
        let mut spare = self.spare.borrow_mut();
        if spare.len() < SPARE_MAX {
            spare.push(tx);
        }
    }

    fn start(&self, req: &Request) -> Transaction<'static> {
        let mut tx = self.transaction(req);
        let c = &req.connection;
        tx.process_connection(&c.client_addr, c.client_port, &c.server_addr, c.server_port);
        tx.process_uri(&req.method, &req.target, &req.version);
        for h in &req.headers {
            tx.add_request_header(&h.name, &h.value);
        }
        tx.process_request_headers();
        if tx.intervention().is_none() {
            tx.append_request_body(&req.body);
            tx.process_request_body();
        }
        tx
    }
}

impl Policy for Crs {
    fn init(config: &str) -> Result<Self, String> {
        let cfg = CrsConfig::parse(config)?;
        let rules = Self::load(&cfg)?;
        // One rule set per instance, alive as long as the instance.
        let rules: &'static RuleSet = Box::leak(Box::new(rules));
        Ok(Crs {
            rules,
            max_pending: cfg.max_pending,
            pending: RefCell::new(VecDeque::new()),
            spare: RefCell::new(Vec::new()),
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            request_body: true,
            inspect_response: true,
        }
    }

    fn on_request(&self, req: &Request) -> Verdict {
        let tx = self.start(req);
        let v = Self::verdict(&tx, 0);
        let reported = tx.matched_count();
        if !v.is_allow() {
            self.recycle(tx);
            return v;
        }
        let mut p = self.pending.borrow_mut();
        if let Some((_, old)) = p
            .iter()
            .position(|(id, _)| *id == req.id)
            .and_then(|i| p.remove(i))
        {
            self.recycle(old.tx);
        }
        while p.len() >= self.max_pending {
            if let Some((_, old)) = p.pop_front() {
                self.recycle(old.tx);
            }
        }
        p.push_back((req.id.clone(), Pending { tx, reported }));
        v
    }

    fn on_response(&self, req: &Request, resp: &Response) -> Verdict {
        let found = {
            let mut p = self.pending.borrow_mut();
            p.iter()
                .position(|(id, _)| *id == req.id)
                .and_then(|i| p.remove(i))
                .map(|(_, t)| t)
        };
        let Pending { mut tx, reported } = match found {
            Some(p) => p,
            None => {
                // Evicted or never seen: rebuild the request phases quietly.
                let tx = self.start(req);
                let reported = tx.matched_count();
                Pending { tx, reported }
            }
        };
        for h in &resp.headers {
            tx.add_response_header(&h.name, &h.value);
        }
        tx.process_response_headers(resp.status, &req.version);
        if tx.intervention().is_none() {
            tx.append_response_body(&resp.body);
            tx.process_response_body();
        }
        tx.process_logging();
        let v = Self::verdict(&tx, reported);
        self.recycle(tx);
        v
    }
}
