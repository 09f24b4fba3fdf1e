//! A native test harness: run a policy without Wasm against an in-memory host.
//!
//! ```
//! use edgewaf_sdk::prelude::*;
//! use edgewaf_sdk::testing::Harness;
//!
//! struct DenyAdmin;
//! impl Policy for DenyAdmin {
//!     fn init(_config: &str) -> Result<Self, String> { Ok(DenyAdmin) }
//!     fn on_request(&self, req: &Request) -> Verdict {
//!         if req.path().starts_with("/admin") { Verdict::deny("admin area") } else { Verdict::allow() }
//!     }
//! }
//!
//! let h = Harness::<DenyAdmin>::new("{}").unwrap();
//! assert!(h.on_request(&Request::builder().target("/admin/x").build()).is_deny());
//! assert!(h.on_request(&Request::builder().target("/shop").build()).is_allow());
//! ```

use crate::Policy;
use crate::host::Level;
use crate::types::{Annotation, Connection, Header, Request, Response, TlsInfo, Verdict};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;

/// The in-memory host behind [`crate::host`] in native builds: one per thread,
/// so parallel tests do not see each other's state.
#[derive(Debug, Default)]
pub struct MemoryHost {
    /// Fixed clock in ms; `None` uses the system clock.
    pub clock_ms: Option<u64>,
    /// Lines logged by the policy.
    pub logs: Vec<(Level, String)>,
    counters: HashMap<(String, u64), u64>,
    kv: HashMap<String, (Vec<u8>, Option<u64>)>,
    lists: HashMap<String, Vec<ipnet::IpNet>>,
}

impl MemoryHost {
    /// Records a log line.
    pub fn log(&mut self, level: Level, message: &str) {
        self.logs.push((level, message.to_string()));
    }

    /// The clock (fixed or system).
    pub fn now_ms(&self) -> u64 {
        self.clock_ms.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        })
    }

    /// Adds to a fixed-window counter.
    pub fn counter_add(&mut self, key: &str, delta: u64, window_ms: u32) -> u64 {
        let window = self.now_ms() / u64::from(window_ms.max(1));
        let c = self.counters.entry((key.to_string(), window)).or_insert(0);
        *c = c.saturating_add(delta);
        *c
    }

    /// Reads a value that has not expired.
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        let now = self.now_ms();
        self.kv
            .get(key)
            .filter(|(_, exp)| exp.is_none_or(|e| e > now))
            .map(|(v, _)| v.clone())
    }

    /// Stores a value with an optional TTL.
    pub fn kv_set(&mut self, key: &str, value: &[u8], ttl_ms: u32) {
        let exp = (ttl_ms > 0).then(|| self.now_ms() + u64::from(ttl_ms));
        self.kv.insert(key.to_string(), (value.to_vec(), exp));
    }

    /// Matches an address against a runtime list.
    pub fn ip_list_match(&self, name: &str, addr: &str) -> Option<String> {
        let ip: IpAddr = addr.parse().ok()?;
        self.lists
            .get(name)?
            .iter()
            .find(|n| n.contains(&ip))
            .map(|n| n.to_string())
    }

    /// Adds a CIDR (or a single address) to runtime list `name`.
    pub fn add_list_entry(&mut self, name: &str, cidr: &str) {
        let net = cidr
            .parse::<ipnet::IpNet>()
            .or_else(|_| cidr.parse::<IpAddr>().map(ipnet::IpNet::from))
            .expect("valid CIDR");
        self.lists.entry(name.to_string()).or_default().push(net);
    }
}

thread_local! {
    static HOST: RefCell<MemoryHost> = RefCell::new(MemoryHost::default());
}

/// Runs `f` with this thread's in-memory host.
pub fn with_host<R>(f: impl FnOnce(&mut MemoryHost) -> R) -> R {
    HOST.with(|h| f(&mut h.borrow_mut()))
}

/// Resets this thread's in-memory host.
pub fn reset_host() {
    with_host(|h| *h = MemoryHost::default());
}

/// Runs a policy natively, the way the host would: `init` with a JSON config,
/// then `on_request` / `on_response`.
pub struct Harness<P: Policy> {
    policy: P,
}

impl<P: Policy> Harness<P> {
    /// Initialises the policy with `config` (JSON) on a fresh in-memory host.
    pub fn new(config: &str) -> Result<Self, String> {
        reset_host();
        Ok(Harness {
            policy: P::init(config)?,
        })
    }

    /// The policy itself.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// Calls `on_request`.
    pub fn on_request(&self, req: &Request) -> Verdict {
        self.policy.on_request(req)
    }

    /// Calls `on_response`.
    pub fn on_response(&self, req: &Request, resp: &Response) -> Verdict {
        self.policy.on_response(req, resp)
    }
}

/// Builds [`Request`]s for tests and tools.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    req: Request,
}

impl Default for RequestBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestBuilder {
    /// `GET /` over HTTP/1.1 from 127.0.0.1, with `host: example.test`.
    pub fn new() -> Self {
        RequestBuilder {
            req: Request {
                id: "test-request".into(),
                tenant: "test".into(),
                method: "GET".into(),
                target: "/".into(),
                version: "HTTP/1.1".into(),
                headers: vec![Header::new("host", "example.test")],
                body: Vec::new(),
                body_truncated: false,
                connection: Connection::default(),
                annotations: Vec::new(),
            },
        }
    }

    /// Sets the method.
    pub fn method(mut self, m: &str) -> Self {
        self.req.method = m.into();
        self
    }

    /// Sets the raw request-target.
    pub fn target(mut self, t: &str) -> Self {
        self.req.target = t.into();
        self
    }

    /// Appends a header.
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.req.headers.push(Header::new(name, value));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.req.body = body.into();
        self
    }

    /// Sets the client address.
    pub fn client(mut self, addr: &str) -> Self {
        self.req.connection.client_addr = addr.into();
        self
    }

    /// Sets TLS facts.
    pub fn tls(mut self, tls: TlsInfo) -> Self {
        self.req.connection.tls = Some(tls);
        self
    }

    /// Adds an annotation, as if set by an earlier policy.
    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.req.annotations.push(Annotation {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// The request.
    pub fn build(self) -> Request {
        self.req
    }
}
