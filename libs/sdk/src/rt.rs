//! Glue between the generated bindings and [`Policy`]: keeps the instance's
//! policy value and converts types at the boundary.

use crate::Policy;
use crate::bindings::edgewaf::policy::types as w;
use crate::types as t;
use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

/// The instance's policy and the config it was built from.
struct Loaded {
    policy: Rc<dyn Any>,
    config: String,
    caps: w::Capabilities,
}

thread_local! {
    static POLICY: RefCell<Option<Loaded>> = const { RefCell::new(None) };
}

unsafe extern "C" {
    /// wasi-libc: forget the preopened folders it looked up (their handles do
    /// not survive a snapshot); the next file access looks them up again.
    fn __wasilibc_reset_preopens();
}

fn with_policy<P: Policy>(f: impl FnOnce(&P) -> t::Verdict) -> w::Verdict {
    let policy = POLICY.with(|p| p.borrow().as_ref().map(|l| l.policy.clone()));
    let verdict = match policy.as_ref().and_then(|p| p.downcast_ref::<P>()) {
        Some(p) => f(p),
        // A policy error: the tenant's on_error decides (fail closed by default).
        None => t::Verdict::fail("policy called before a successful init"),
    };
    verdict_out(verdict)
}

/// Builds the policy, unless this instance already holds one built from the
/// same config: then `init` only returns its capabilities. That is what makes a
/// pre-initialised snapshot (`edgewaf-tools bundle`, the host's snapshot cache) cheap:
/// the snapshot was taken after `init(config)`, and the runtime's own
/// `init(config)` on each new instance of it finds the policy already there.
pub fn init<P: Policy>(config: &str) -> Result<w::Capabilities, String> {
    let ready = POLICY.with(|p| {
        p.borrow()
            .as_ref()
            .filter(|l| l.config == config && l.policy.is::<P>())
            .map(|l| l.caps)
    });
    if let Some(caps) = ready {
        return Ok(caps);
    }
    let policy = P::init(config)?;
    let caps = policy.capabilities();
    let caps = w::Capabilities {
        request_body: caps.request_body,
        inspect_response: caps.inspect_response,
    };
    POLICY.with(|p| {
        *p.borrow_mut() = Some(Loaded {
            policy: Rc::new(policy),
            config: config.to_string(),
            caps,
        })
    });
    // SAFETY: a plain wasi-libc function taking its own lock; no file
    // descriptor the policy holds is closed by it.
    unsafe { __wasilibc_reset_preopens() };
    Ok(caps)
}

pub fn on_request<P: Policy>(req: w::Request) -> w::Verdict {
    let req = request_in(req);
    with_policy::<P>(|p| p.on_request(&req))
}

pub fn on_response<P: Policy>(req: w::Request, resp: w::Response) -> w::Verdict {
    let req = request_in(req);
    let resp = t::Response {
        status: resp.status,
        headers: headers_in(resp.headers),
        body: resp.body,
        body_truncated: resp.body_truncated,
    };
    with_policy::<P>(|p| p.on_response(&req, &resp))
}

fn headers_in(h: Vec<w::Header>) -> Vec<t::Header> {
    h.into_iter()
        .map(|h| t::Header {
            name: h.name,
            value: h.value,
        })
        .collect()
}

fn headers_out(h: Vec<t::Header>) -> Vec<w::Header> {
    h.into_iter()
        .map(|h| w::Header {
            name: h.name,
            value: h.value,
        })
        .collect()
}

fn request_in(r: w::Request) -> t::Request {
    t::Request {
        id: r.id,
        tenant: r.tenant,
        method: r.method,
        target: r.target,
        version: r.version,
        headers: headers_in(r.headers),
        body: r.body,
        body_truncated: r.body_truncated,
        connection: t::Connection {
            client_addr: r.connection.client_addr,
            client_port: r.connection.client_port,
            server_addr: r.connection.server_addr,
            server_port: r.connection.server_port,
            tls: r.connection.tls.map(|tls| t::TlsInfo {
                version: tls.version,
                cipher: tls.cipher,
                sni: tls.sni,
                client_cert: tls.client_cert.map(|c| t::PeerCertificate {
                    subject: c.subject,
                    issuer: c.issuer,
                    serial: c.serial,
                    dns_names: c.dns_names,
                    uris: c.uris,
                    sha256: c.sha256,
                    not_after: c.not_after,
                }),
            }),
        },
        annotations: r
            .annotations
            .into_iter()
            .map(|a| t::Annotation {
                key: a.key,
                value: a.value,
            })
            .collect(),
    }
}

fn severity_out(s: t::Severity) -> w::Severity {
    match s {
        t::Severity::Emergency => w::Severity::Emergency,
        t::Severity::Alert => w::Severity::Alert,
        t::Severity::Critical => w::Severity::Critical,
        t::Severity::Error => w::Severity::Error,
        t::Severity::Warning => w::Severity::Warning,
        t::Severity::Notice => w::Severity::Notice,
        t::Severity::Info => w::Severity::Info,
        t::Severity::Debug => w::Severity::Debug,
    }
}

fn verdict_out(v: t::Verdict) -> w::Verdict {
    w::Verdict {
        action: match v.action {
            t::Action::Allow => w::Action::Allow,
            t::Action::Deny(d) => w::Action::Deny(w::Deny {
                status: d.status,
                reason: d.reason,
                headers: headers_out(d.headers),
            }),
            t::Action::Redirect(l) => w::Action::Redirect(l),
            t::Action::Fail(why) => w::Action::Fail(why),
        },
        findings: v
            .findings
            .into_iter()
            .map(|f| w::Finding {
                rule_id: f.rule_id,
                message: f.message,
                severity: severity_out(f.severity),
                tags: f.tags,
                data: f.data,
            })
            .collect(),
        add_request_headers: headers_out(v.add_request_headers),
        remove_request_headers: v.remove_request_headers,
        annotations: v
            .annotations
            .into_iter()
            .map(|a| w::Annotation {
                key: a.key,
                value: a.value,
            })
            .collect(),
    }
}
