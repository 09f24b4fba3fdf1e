//! The chain: settings and policy instances per adapter instance, one request
//! through the policies, the answer. The rules (fold, forwarded headers, the
//! WAF's answers) are `edgewaf-chain`'s, the same code the edgewaf host runs.

use crate::http::{self, BodyError, Incoming, Upstream};
use crate::settings::{Origin, Settings, request_id};
use edgewaf_chain::{self as rules, Fold, Forwarding, Outcome, Step};
use std::cell::RefCell;
use std::rc::Rc;
use wasip2::http::types::{IncomingRequest, ResponseOutparam};

wit_bindgen::generate!({
    path: ["../../../wit", "../../../wit/bundle"],
    world: "edgewaf:bundle/adapter",
    generate_all,
});

use edgewaf::bundle::{config, platform};
use edgewaf::policy::types::{
    Action, Annotation, Capabilities, Connection, Header, Request, Response, Verdict,
};

/// Calls slot `$i`'s function `$f` with the given arguments.
macro_rules! slot_call {
    ($i:expr, $f:ident ( $($arg:expr),* )) => {
        match $i {
            0 => slot0::$f($($arg),*),
            1 => slot1::$f($($arg),*),
            2 => slot2::$f($($arg),*),
            3 => slot3::$f($($arg),*),
            4 => slot4::$f($($arg),*),
            5 => slot5::$f($($arg),*),
            6 => slot6::$f($($arg),*),
            7 => slot7::$f($($arg),*),
            _ => unreachable!("Settings::parse allows at most 8 policies"),
        }
    };
}

/// The adapter instance's loaded chain.
struct Chain {
    settings: Settings,
    origin: Origin,
    caps: Vec<Capabilities>,
    /// The platform trusts `spin-client-addr` (Spin sets it itself).
    spin: bool,
}

type Decision = rules::Decision<String>;

thread_local! {
    static CHAIN: RefCell<Option<Result<Rc<Chain>, String>>> = const { RefCell::new(None) };
}

fn load() -> Result<Chain, String> {
    let settings = Settings::parse(&config::get())?;
    Origin::parse(&settings.upstream)?;
    let origin_url = platform::setting("origin").unwrap_or_else(|| settings.upstream.clone());
    let origin = Origin::parse(&origin_url)?;
    let mut caps = Vec::new();
    for (i, p) in settings.policies.iter().enumerate() {
        let c = slot_call!(i, init(&p.config))
            .map_err(|e| format!("policy {} init failed: {e}", p.name))?;
        caps.push(c);
    }
    Ok(Chain {
        settings,
        origin,
        caps,
        spin: platform::name() == "spin",
    })
}

fn chain() -> Result<Rc<Chain>, String> {
    CHAIN.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| load().map(Rc::new))
            .clone()
    })
}

impl Chain {
    fn fold(&self, resume: Option<Decision>) -> Fold<String> {
        let s = &self.settings;
        match resume {
            None => Fold::new(s.mode, s.deny_status, s.on_error),
            Some(d) => Fold::resume(s.mode, s.deny_status, s.on_error, d),
        }
    }
}

/// The WIT verdict as the fold takes it; findings become their rule ids.
fn to_rules(v: Verdict) -> rules::Verdict<String> {
    let action = match v.action {
        Action::Allow => rules::Action::Allow,
        Action::Deny(d) => rules::Action::Deny {
            status: d.status,
            reason: d.reason,
            headers: d.headers.into_iter().map(|h| (h.name, h.value)).collect(),
        },
        Action::Redirect(to) => rules::Action::Redirect(to),
        Action::Fail(why) => rules::Action::Fail(why),
    };
    rules::Verdict {
        action,
        findings: v.findings.into_iter().map(|f| f.rule_id).collect(),
        add_request_headers: v
            .add_request_headers
            .into_iter()
            .map(|h| (h.name, h.value))
            .collect(),
        remove_request_headers: v.remove_request_headers,
        annotations: v
            .annotations
            .into_iter()
            .map(|a| rules::Annotation {
                key: a.key,
                value: a.value,
            })
            .collect(),
    }
}

/// Folds one verdict and keeps the annotations the next policy sees current.
fn take(fold: &mut Fold<String>, name: &str, v: Verdict, req: &mut Request) -> Step {
    if let Action::Fail(why) = &v.action {
        log_error(&req.id, &format!("policy {name} failed: {why}"));
    }
    let annotated = !v.annotations.is_empty();
    let step = fold.take(name, to_rules(v));
    if annotated {
        req.annotations = fold
            .annotations()
            .iter()
            .map(|a| Annotation {
                key: a.key.clone(),
                value: a.value.clone(),
            })
            .collect();
    }
    step
}

/// One JSON decision line on stderr.
fn log_decision(chain: &Chain, d: &Decision, req: &Request, phase: &str, status: Option<u16>) {
    let rule_ids: Vec<&str> = d.findings.iter().map(|(_, r)| r.as_str()).collect();
    let annotations: serde_json::Map<String, serde_json::Value> = d
        .annotations
        .iter()
        .map(|a| (a.key.clone(), a.value.clone().into()))
        .collect();
    let line = serde_json::json!({
        "kind": "decision",
        "request_id": req.id,
        "tenant": chain.settings.tenant,
        "phase": phase,
        "method": req.method,
        "target": req.target,
        "action": d.action(),
        "policy": d.policy,
        "would_deny": d.would_deny,
        "reason": d.reason,
        "rule_ids": rule_ids,
        "annotations": annotations,
        "status": status,
    });
    eprintln!("{line}");
}

/// One JSON error line on stderr.
fn log_error(id: &str, error: &str) {
    eprintln!(
        "{}",
        serde_json::json!({"kind": "error", "request_id": id, "error": error})
    );
}

/// The WAF's own answer: the JSON body with the request id, and the headers
/// of `extra` the chain crate lets through.
fn json_answer(out: ResponseOutparam, status: u16, id: &str, error: &str, extra: &[rules::Header]) {
    let body = rules::answer_body(error, id);
    let mut headers = vec![
        ("content-type".to_string(), b"application/json".to_vec()),
        ("cache-control".to_string(), b"no-store".to_vec()),
    ];
    headers.extend(
        extra
            .iter()
            .filter(|(n, _)| rules::policy_answer_header(n))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone())),
    );
    headers.push(("x-request-id".to_string(), id.as_bytes().to_vec()));
    http::respond(out, status, &headers, body.as_bytes());
}

/// Answers a deny or a redirect (never called for an allow; it would get 500).
fn answer_decision(out: ResponseOutparam, outcome: &Outcome, id: &str) {
    let Some((status, error)) = outcome.answer() else {
        return json_answer(out, 500, id, "internal error", &[]);
    };
    match outcome {
        Outcome::Redirect(to) => {
            let location = [("location".to_string(), to.as_bytes().to_vec())];
            json_answer(out, status, id, error, &location)
        }
        Outcome::Deny { headers, .. } => json_answer(out, status, id, error, headers),
        Outcome::Allow => json_answer(out, status, id, error, &[]),
    }
}

/// The client address: Spin passes it as `spin-client-addr`; other wasi:http
/// runtimes do not give it to the component at all.
fn connection(chain: &Chain, inc: &Incoming) -> Connection {
    let mut conn = Connection {
        client_addr: "0.0.0.0".into(),
        client_port: 0,
        server_addr: "0.0.0.0".into(),
        server_port: 0,
        tls: None,
    };
    if chain.spin
        && let Some((_, v)) = inc.headers.iter().find(|(n, _)| n == "spin-client-addr")
        && let Ok(addr) = std::str::from_utf8(v)
            .unwrap_or("")
            .parse::<std::net::SocketAddr>()
    {
        conn.client_addr = addr.ip().to_string();
        conn.client_port = addr.port();
    }
    conn
}

/// The request record the policies see.
fn record(chain: &Chain, inc: &Incoming, id: &str, body: &[u8]) -> Request {
    let wants_body = chain.caps.iter().any(|c| c.request_body);
    let (inspected, truncated) = rules::cut(body, chain.settings.body_limit);
    Request {
        id: id.to_string(),
        tenant: chain.settings.tenant.clone(),
        method: inc.method.clone(),
        target: inc.target.clone(),
        version: "HTTP/1.1".into(),
        headers: inc
            .headers
            .iter()
            .map(|(n, v)| Header {
                name: n.clone(),
                value: v.clone(),
            })
            .collect(),
        body: if wants_body {
            inspected.to_vec()
        } else {
            Vec::new()
        },
        body_truncated: wants_body && truncated,
        connection: connection(chain, inc),
        annotations: Vec::new(),
    }
}

pub fn handle(request: IncomingRequest, out: ResponseOutparam) {
    let id = request_id(http::random16());
    let chain = match chain() {
        Ok(c) => c,
        Err(e) => {
            // Fail closed: without its policies the WAF forwards nothing.
            log_error(&id, &e);
            return json_answer(out, 503, &id, "policies unavailable", &[]);
        }
    };
    let inc = http::incoming(&request);
    let body = match http::read_body(&request, chain.settings.max_body) {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return json_answer(out, 413, &id, "request body too large", &[]);
        }
        Err(BodyError::Io(e)) => {
            log_error(&id, &e);
            return json_answer(out, 400, &id, "request body unreadable", &[]);
        }
    };
    let mut req = record(&chain, &inc, &id, &body);
    let mut fold = chain.fold(None);
    for (i, p) in chain.settings.policies.iter().enumerate() {
        let v = slot_call!(i, on_request(&req));
        if take(&mut fold, &p.name, v, &mut req) == Step::Stop {
            break;
        }
    }
    let d = fold.finish();
    if d.outcome.answer().is_some() {
        log_decision(&chain, &d, &req, "request", None);
        return answer_decision(out, &d.outcome, &id);
    }
    forward(&chain, out, &inc, &body, req, d);
}

/// Sends an allowed request to the origin, then answers with its response
/// (inspected first when a policy asked for it).
fn forward(
    chain: &Chain,
    out: ResponseOutparam,
    inc: &Incoming,
    body: &[u8],
    req: Request,
    d: Decision,
) {
    let id = req.id.as_str();
    // Spin's own headers describe the runtime's connection, not the client's.
    let mut headers: Vec<rules::Header> = inc
        .headers
        .iter()
        .filter(|(n, _)| !n.starts_with("spin-"))
        .cloned()
        .collect();
    let client_ip = chain.spin.then_some(req.connection.client_addr.as_str());
    let forwarding = Forwarding {
        request_id: id,
        proto: if inc.scheme == "https" {
            "https"
        } else {
            "http"
        },
        client_ip,
    };
    rules::forward(&mut headers, &d.remove_headers, &d.add_headers, &forwarding);
    let sent = http::send(
        &chain.origin,
        &inc.method,
        &inc.target,
        &headers,
        body,
        15_000,
    );
    let upstream = match sent {
        Ok(u) => u,
        Err(e) => {
            log_error(id, &e);
            log_decision(chain, &d, &req, "request", Some(502));
            return json_answer(out, 502, id, "upstream unavailable", &[]);
        }
    };
    if !chain.caps.iter().any(|c| c.inspect_response) {
        log_decision(chain, &d, &req, "request", Some(upstream.status));
        let id_header = [("x-request-id".to_string(), id.as_bytes().to_vec())];
        return http::relay(out, upstream, &id_header);
    }
    inspect_response(chain, out, req, d, upstream);
}

/// Response inspection: the body is read whole (up to `max_body`), the
/// inspecting policies' verdicts join the request phase's decision.
fn inspect_response(
    chain: &Chain,
    out: ResponseOutparam,
    mut req: Request,
    d: Decision,
    upstream: Upstream,
) {
    let id = req.id.clone();
    let status = upstream.status;
    let mut resp_headers = upstream.headers.clone();
    let resp_body = match upstream.read_body(chain.settings.max_body) {
        Ok(b) => b,
        Err(e) => {
            log_error(&id, &e);
            log_decision(chain, &d, &req, "response", Some(502));
            return json_answer(out, 502, &id, "upstream response unreadable", &[]);
        }
    };
    let (seen, truncated) = rules::cut(&resp_body, chain.settings.response_body_limit);
    let resp = Response {
        status,
        headers: resp_headers
            .iter()
            .map(|(n, v)| Header {
                name: n.clone(),
                value: v.clone(),
            })
            .collect(),
        body: seen.to_vec(),
        body_truncated: truncated,
    };
    let mut fold = chain.fold(Some(d));
    for (i, p) in chain.settings.policies.iter().enumerate() {
        if !chain.caps[i].inspect_response {
            continue;
        }
        let v = slot_call!(i, on_response(&req, &resp));
        if take(&mut fold, &p.name, v, &mut req) == Step::Stop {
            break;
        }
    }
    let d = fold.finish();
    if d.outcome.answer().is_some() {
        log_decision(chain, &d, &req, "response", None);
        return answer_decision(out, &d.outcome, &id);
    }
    log_decision(chain, &d, &req, "response", Some(status));
    resp_headers.retain(|(n, _)| n != "x-request-id");
    resp_headers.push(("x-request-id".to_string(), id.into_bytes()));
    http::respond(out, status, &resp_headers, &resp_body);
}
