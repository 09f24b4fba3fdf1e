//! The chain: settings and policy instances per adapter instance, one request
//! through the policies, the answer.

use crate::http::{self, BodyError, Incoming};
use crate::settings::{Mode, Origin, Settings, request_id};
use std::cell::RefCell;
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

thread_local! {
    static CHAIN: RefCell<Option<Result<std::rc::Rc<Chain>, String>>> = const { RefCell::new(None) };
}

fn load() -> Result<Chain, String> {
    let settings = Settings::parse(&config::get())?;
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

fn chain() -> Result<std::rc::Rc<Chain>, String> {
    CHAIN.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| load().map(std::rc::Rc::new))
            .clone()
    })
}

/// What the chain decided.
enum Outcome {
    Allow,
    Deny {
        status: u16,
        headers: Vec<(String, Vec<u8>)>,
    },
    Redirect(String),
}

/// The decision and what the log needs.
struct Decision {
    outcome: Outcome,
    policy: Option<String>,
    would_deny: Option<String>,
    reason: Option<String>,
    rule_ids: Vec<String>,
    add_headers: Vec<Header>,
    remove_headers: Vec<String>,
}

impl Decision {
    fn new() -> Self {
        Decision {
            outcome: Outcome::Allow,
            policy: None,
            would_deny: None,
            reason: None,
            rule_ids: Vec::new(),
            add_headers: Vec::new(),
            remove_headers: Vec::new(),
        }
    }

    fn action(&self) -> &'static str {
        match self.outcome {
            Outcome::Allow => "allow",
            Outcome::Deny { .. } => "deny",
            Outcome::Redirect(_) => "redirect",
        }
    }

    /// Takes one policy's verdict; true when the chain stops here.
    fn take(&mut self, chain: &Chain, name: &str, v: Verdict, req: &mut Request) -> bool {
        self.rule_ids
            .extend(v.findings.into_iter().map(|f| f.rule_id));
        self.add_headers.extend(v.add_request_headers);
        self.remove_headers.extend(v.remove_request_headers);
        req.annotations.extend(v.annotations);
        let (outcome, reason) = match v.action {
            Action::Allow => return false,
            Action::Deny(d) => {
                let status = if (400..=599).contains(&d.status) {
                    d.status
                } else {
                    chain.settings.deny_status
                };
                let headers = d.headers.into_iter().map(|h| (h.name, h.value)).collect();
                (Outcome::Deny { status, headers }, d.reason)
            }
            Action::Redirect(to) => (Outcome::Redirect(to), String::new()),
        };
        match chain.settings.mode {
            Mode::Block => {
                self.outcome = outcome;
                self.policy = Some(name.to_string());
                self.reason = Some(reason);
                true
            }
            Mode::Detect => {
                if self.would_deny.is_none() {
                    self.would_deny = Some(name.to_string());
                    self.reason = Some(reason);
                }
                false
            }
        }
    }

    fn log(&self, chain: &Chain, id: &str, req: &Request, phase: &str, status: Option<u16>) {
        let line = serde_json::json!({
            "kind": "decision",
            "request_id": id,
            "tenant": chain.settings.tenant,
            "phase": phase,
            "method": req.method,
            "target": req.target,
            "action": self.action(),
            "policy": self.policy,
            "would_deny": self.would_deny,
            "reason": self.reason,
            "rule_ids": self.rule_ids,
            "status": status,
        });
        eprintln!("{line}");
    }
}

/// One JSON error line on stderr.
fn log_error(id: &str, error: &str) {
    eprintln!(
        "{}",
        serde_json::json!({"kind": "error", "request_id": id, "error": error})
    );
}

fn json_answer(
    out: ResponseOutparam,
    status: u16,
    id: &str,
    error: &str,
    extra: Vec<(String, Vec<u8>)>,
) {
    let body = serde_json::json!({ "error": error, "request_id": id }).to_string();
    let mut headers = vec![
        ("content-type".to_string(), b"application/json".to_vec()),
        ("cache-control".to_string(), b"no-store".to_vec()),
    ];
    for (n, v) in extra {
        let n = n.to_ascii_lowercase();
        if n != "x-request-id" && n != "content-type" {
            headers.push((n, v));
        }
    }
    headers.push(("x-request-id".to_string(), id.as_bytes().to_vec()));
    http::respond(out, status, &headers, body.as_bytes());
}

fn answer_decision(out: ResponseOutparam, d: Decision, id: &str) {
    match d.outcome {
        Outcome::Allow => unreachable!("allowed requests are forwarded"),
        Outcome::Deny { status, headers } => {
            json_answer(out, status, id, "request blocked", headers)
        }
        Outcome::Redirect(to) => json_answer(
            out,
            302,
            id,
            "redirect",
            vec![("location".into(), to.into_bytes())],
        ),
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

pub fn handle(request: IncomingRequest, out: ResponseOutparam) {
    let id = request_id(http::random16());
    let chain = match chain() {
        Ok(c) => c,
        Err(e) => {
            // Fail closed: without its policies the WAF forwards nothing.
            log_error(&id, &e);
            return json_answer(out, 503, &id, "policies unavailable", Vec::new());
        }
    };
    let inc = http::incoming(&request);
    let body = match http::read_body(&request, chain.settings.max_body) {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            return json_answer(out, 413, &id, "request body too large", Vec::new());
        }
        Err(BodyError::Io(e)) => {
            log_error(&id, &e);
            return json_answer(out, 400, &id, "request body unreadable", Vec::new());
        }
    };
    let wants_body = chain.caps.iter().any(|c| c.request_body);
    let inspected = body.len().min(chain.settings.body_limit);
    let mut req = Request {
        id: id.clone(),
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
            body[..inspected].to_vec()
        } else {
            Vec::new()
        },
        body_truncated: wants_body && inspected < body.len(),
        connection: connection(&chain, &inc),
        annotations: Vec::<Annotation>::new(),
    };

    let mut d = Decision::new();
    for (i, p) in chain.settings.policies.iter().enumerate() {
        let v = slot_call!(i, on_request(&req));
        if d.take(&chain, &p.name, v, &mut req) {
            break;
        }
    }
    if !matches!(d.outcome, Outcome::Allow) {
        d.log(&chain, &id, &req, "request", None);
        return answer_decision(out, d, &id);
    }

    // Forward: the client's headers minus what the chain removed, plus what it added.
    let remove: Vec<String> = d
        .remove_headers
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let added: Vec<String> = d
        .add_headers
        .iter()
        .map(|h| h.name.to_ascii_lowercase())
        .collect();
    let mut headers: Vec<(String, Vec<u8>)> = inc
        .headers
        .iter()
        .filter(|(n, _)| {
            !remove.contains(n)
                && !added.contains(n)
                && n != "x-request-id"
                && !n.starts_with("spin-")
        })
        .cloned()
        .collect();
    headers.extend(
        d.add_headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone())),
    );
    headers.push(("x-request-id".into(), id.as_bytes().to_vec()));
    // The origin gets its own authority as Host; the client's goes along here.
    if let Some((_, host)) = inc.headers.iter().find(|(n, _)| n == "host")
        && !headers.iter().any(|(n, _)| n == "x-forwarded-host")
    {
        headers.push(("x-forwarded-host".into(), host.clone()));
    }
    if !headers.iter().any(|(n, _)| n == "x-forwarded-proto") {
        headers.push(("x-forwarded-proto".into(), inc.scheme.as_bytes().to_vec()));
    }
    let upstream = match http::send(
        &chain.origin,
        &inc.method,
        &inc.target,
        &headers,
        &body,
        15_000,
    ) {
        Ok(u) => u,
        Err(e) => {
            log_error(&id, &e);
            d.log(&chain, &id, &req, "request", Some(502));
            return json_answer(out, 502, &id, "upstream unavailable", Vec::new());
        }
    };
    let id_header = vec![("x-request-id".to_string(), id.as_bytes().to_vec())];
    let inspecting: Vec<usize> = (0..chain.caps.len())
        .filter(|&i| chain.caps[i].inspect_response)
        .collect();
    if inspecting.is_empty() {
        d.log(&chain, &id, &req, "request", Some(upstream.status));
        return http::relay(out, upstream, &id_header);
    }

    // Response inspection: the body is read whole (up to max_body) first.
    let status = upstream.status;
    let mut resp_headers = upstream.headers.clone();
    let resp_body = match upstream.read_body(chain.settings.max_body) {
        Ok(b) => b,
        Err(e) => {
            log_error(&id, &e);
            d.log(&chain, &id, &req, "response", Some(502));
            return json_answer(out, 502, &id, "upstream response unreadable", Vec::new());
        }
    };
    let seen = resp_body.len().min(chain.settings.response_body_limit);
    let resp = Response {
        status,
        headers: resp_headers
            .iter()
            .map(|(n, v)| Header {
                name: n.clone(),
                value: v.clone(),
            })
            .collect(),
        body: resp_body[..seen].to_vec(),
        body_truncated: seen < resp_body.len(),
    };
    for i in inspecting {
        let v = slot_call!(i, on_response(&req, &resp));
        if d.take(&chain, &chain.settings.policies[i].name, v, &mut req) {
            break;
        }
    }
    if !matches!(d.outcome, Outcome::Allow) {
        d.log(&chain, &id, &req, "response", None);
        return answer_decision(out, d, &id);
    }
    d.log(&chain, &id, &req, "response", Some(status));
    resp_headers.retain(|(n, _)| n != "x-request-id");
    resp_headers.extend(id_header);
    http::respond(out, status, &resp_headers, &resp_body);
}
