//! Plain Rust mirrors of the WIT `types` interface. Policies use these; the export
//! glue converts to and from the generated bindings, so the same code runs natively
//! in tests and inside a component.

/// One HTTP header: the name lower-cased, the value as raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Lower-case header name.
    pub name: String,
    /// Raw value bytes.
    pub value: Vec<u8>,
}

impl Header {
    /// A header from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Header {
            name: name.into().to_ascii_lowercase(),
            value: value.into(),
        }
    }
}

/// A client certificate verified by the host's TLS layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerCertificate {
    /// RFC 4514 subject, e.g. `CN=pos-17,O=Acme`.
    pub subject: String,
    /// RFC 4514 issuer.
    pub issuer: String,
    /// Serial number, lower-case hex.
    pub serial: String,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    /// URI subject alternative names.
    pub uris: Vec<String>,
    /// SHA-256 of the DER certificate, lower-case hex.
    pub sha256: String,
    /// Expiry, seconds since the Unix epoch.
    pub not_after: u64,
}

/// TLS facts of the connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// Negotiated cipher suite.
    pub cipher: String,
    /// Server name the client asked for.
    pub sni: Option<String>,
    /// The verified client certificate, if the client sent one.
    pub client_cert: Option<PeerCertificate>,
}

/// Addresses of the connection the request came on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Client IP address as text.
    pub client_addr: String,
    /// Client port.
    pub client_port: u16,
    /// Local address the request arrived at.
    pub server_addr: String,
    /// Local port.
    pub server_port: u16,
    /// TLS facts; none for plain HTTP.
    pub tls: Option<TlsInfo>,
}

impl Default for Connection {
    fn default() -> Self {
        Connection {
            client_addr: "127.0.0.1".into(),
            client_port: 40000,
            server_addr: "127.0.0.1".into(),
            server_port: 8080,
            tls: None,
        }
    }
}

/// A fact handed from one policy to the later ones and to the decision log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Dotted key, e.g. `apikey.name`.
    pub key: String,
    /// Value.
    pub value: String,
}

/// The request as the host hands it to a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Request id, the same the client gets in `x-request-id`.
    pub id: String,
    /// Tenant name.
    pub tenant: String,
    /// Method, e.g. `GET`.
    pub method: String,
    /// Raw request-target (path and query, not decoded).
    pub target: String,
    /// Protocol version, e.g. `HTTP/1.1`.
    pub version: String,
    /// Headers in the order received.
    pub headers: Vec<Header>,
    /// Body up to the tenant's inspection limit (empty unless the policy asked for it).
    pub body: Vec<u8>,
    /// True when `body` is only the first part of a longer body.
    pub body_truncated: bool,
    /// Connection facts.
    pub connection: Connection,
    /// Annotations from earlier policies in the chain.
    pub annotations: Vec<Annotation>,
}

/// The upstream response, for policies that inspect responses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<Header>,
    /// Body up to the inspection limit.
    pub body: Vec<u8>,
    /// True when `body` is only the first part.
    pub body_truncated: bool,
}

/// Syslog-style severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// 0
    Emergency,
    /// 1
    Alert,
    /// 2
    Critical,
    /// 3
    Error,
    /// 4
    Warning,
    /// 5
    Notice,
    /// 6
    Info,
    /// 7
    Debug,
}

/// One rule's hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable rule id, e.g. `sig-sqli-1`.
    pub rule_id: String,
    /// Human message.
    pub message: String,
    /// Severity.
    pub severity: Severity,
    /// Tags, e.g. `attack-sqli`.
    pub tags: Vec<String>,
    /// Matched data, shortened.
    pub data: String,
}

impl Finding {
    /// A critical finding with no tags or data.
    pub fn new(rule_id: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            rule_id: rule_id.into(),
            message: message.into(),
            severity: Severity::Critical,
            tags: Vec::new(),
            data: String::new(),
        }
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets the matched data, shortened to 200 bytes on a character boundary.
    pub fn data(mut self, data: impl AsRef<str>) -> Self {
        self.data = crate::helpers::shorten(data.as_ref(), 200);
        self
    }
}

/// A deny decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// HTTP status; 0 means the tenant's deny status.
    pub status: u16,
    /// Logged, never sent to the client.
    pub reason: String,
    /// Extra response headers.
    pub headers: Vec<Header>,
}

/// What to do with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Let it through.
    Allow,
    /// Refuse it.
    Deny(Deny),
    /// Answer 302 with this location.
    Redirect(String),
    /// The policy could not decide; the chain applies the tenant's
    /// `on_error`, as for a trap (see [`Verdict::fail`]).
    Fail(String),
}

/// A policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The action.
    pub action: Action,
    /// Findings, also for allowed requests (detection).
    pub findings: Vec<Finding>,
    /// Headers to set on the request sent upstream.
    pub add_request_headers: Vec<Header>,
    /// Header names to remove from the request sent upstream.
    pub remove_request_headers: Vec<String>,
    /// Facts for later policies and the log.
    pub annotations: Vec<Annotation>,
}

/// What a policy needs from the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Copy the request body in.
    pub request_body: bool,
    /// Call `on_response` with the upstream response.
    pub inspect_response: bool,
}
