//! The request side of a transaction: connection, request line, headers,
//! then the body through its processor (phases 1 and 2).

use super::{Bytes, Intervention, Transaction, rc};
use crate::bodyprocessors;
use crate::config::{EngineMode, LimitAction};
use crate::phase::Phase;
use crate::variables::VarKind;

impl Transaction<'_> {
    /// Sets the connection addresses.
    pub fn process_connection(
        &mut self,
        client: &str,
        client_port: u16,
        server: &str,
        server_port: u16,
    ) {
        self.set(VarKind::RemoteAddr, client.as_bytes());
        self.set(VarKind::RemotePort, client_port.to_string().as_bytes());
        self.set(VarKind::ServerAddr, server.as_bytes());
        self.set(VarKind::ServerPort, server_port.to_string().as_bytes());
    }

    /// Sets the request line: method, request-target as sent, protocol (`HTTP/1.1`).
    pub fn process_uri(&mut self, method: &str, uri: &str, protocol: &str) {
        self.set(VarKind::RequestMethod, method.as_bytes());
        self.set(VarKind::RequestProtocol, protocol.as_bytes());
        self.set(VarKind::RequestUriRaw, uri.as_bytes());
        self.set(
            VarKind::RequestLine,
            format!("{method} {uri} {protocol}").as_bytes(),
        );
        // Absolute form: drop scheme and authority for the path variables.
        let mut rel = uri;
        if let Some(p) = uri
            .find("://")
            .filter(|p| !uri.starts_with('/') && !uri[..*p].contains(['/', '?']))
        {
            let after = &uri[p + 3..];
            rel = after.find('/').map(|i| &after[i..]).unwrap_or("/");
        }
        self.set(VarKind::RequestUri, rel.as_bytes());
        let (path, query) = match rel.find('?') {
            Some(q) => (&rel[..q], Some(&rel[q + 1..])),
            None => (rel, None),
        };
        let path = percent_decode(path.as_bytes());
        self.set(VarKind::RequestFilename, &path);
        let base = path.rsplit(|&c| c == b'/').next().unwrap_or(b"");
        self.set(VarKind::RequestBasename, base);
        self.set(VarKind::QueryString, query.unwrap_or("").as_bytes());
        if let Some(q) = query {
            for (k, v) in bodyprocessors::limits::query_args(q.as_bytes(), &self.rs.config) {
                self.push(VarKind::ArgsGet, &k, &v);
            }
        }
    }

    /// Adds a request header (name as received).
    pub fn add_request_header(&mut self, name: &str, value: &[u8]) {
        self.push(VarKind::RequestHeaders, name.as_bytes(), value);
        if name.eq_ignore_ascii_case("cookie") {
            for piece in value.split(|&b| b == b';') {
                let piece = trim_start(piece);
                if piece.is_empty() {
                    continue;
                }
                match piece.iter().position(|&b| b == b'=') {
                    Some(eq) => self.push(VarKind::RequestCookies, &piece[..eq], &piece[eq + 1..]),
                    None => self.push(VarKind::RequestCookies, piece, b""),
                }
            }
        }
        if name.eq_ignore_ascii_case("host") {
            let host = String::from_utf8_lossy(value).into_owned();
            let h = host
                .rsplit_once(':')
                .filter(|(_, p)| p.parse::<u16>().is_ok())
                .map(|(h, _)| h)
                .unwrap_or(&host);
            self.set(VarKind::ServerName, h.as_bytes());
        }
    }

    fn header(&self, k: VarKind, name: &str) -> Option<Bytes> {
        self.colls
            .get(&k)?
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.clone())
    }

    /// Runs phase 1 (request headers).
    pub fn process_request_headers(&mut self) {
        let ct = self
            .header(VarKind::RequestHeaders, "content-type")
            .unwrap_or_else(|| rc(b""));
        let lower = String::from_utf8_lossy(&ct).to_ascii_lowercase();
        let proc_name = if lower.starts_with("application/x-www-form-urlencoded") {
            Some("URLENCODED")
        } else if lower.starts_with("multipart/form-data") {
            Some("MULTIPART")
        } else {
            None
        };
        if let Some(p) = proc_name {
            self.set(VarKind::ReqbodyProcessor, p.as_bytes());
        }
        self.run_phase(Phase::RequestHeaders);
    }

    /// Appends request body bytes.
    pub fn append_request_body(&mut self, data: &[u8]) {
        self.request_body.extend_from_slice(data);
    }

    /// Runs the body processor, then phase 2.
    pub fn process_request_body(&mut self) {
        if self.last_phase.is_none() {
            self.process_request_headers();
        }
        let mut body = std::mem::take(&mut self.request_body);
        let ct = self
            .header(VarKind::RequestHeaders, "content-type")
            .unwrap_or_else(|| rc(b""));
        let within_limit = self.apply_body_limit(&mut body, &ct);
        if within_limit {
            self.set(
                VarKind::RequestBodyLength,
                body.len().to_string().as_bytes(),
            );
            if self.request_body_access {
                self.process_body(&body, &ct);
            }
        }
        self.request_body = body;
        if within_limit {
            self.set_args_combined_size();
            self.run_phase(Phase::RequestBody);
        }
    }

    /// SecRequestBodyLimit and SecRequestBodyNoFilesLimit: cuts `body` to
    /// the limit (sets INBOUND_DATA_ERROR), or, for `Reject` with the engine
    /// On, decides a 413 and returns false (phase 2 does not run).
    fn apply_body_limit(&mut self, body: &mut Vec<u8>, ct: &[u8]) -> bool {
        let limit = bodyprocessors::limits::request_body_limit(&self.rs.config, body, ct);
        if !(self.request_body_access && body.len() > limit) {
            self.set(VarKind::InboundDataError, b"0");
            return true;
        }
        match self.rs.config.request_body_limit_action {
            LimitAction::ProcessPartial => body.truncate(limit),
            LimitAction::Reject => {
                self.set(VarKind::InboundDataError, b"1");
                if self.engine == EngineMode::On {
                    self.intervention = Some(Intervention {
                        status: 413,
                        action: "deny".into(),
                        url: None,
                        rule_id: 0,
                    });
                    return false;
                }
                body.truncate(limit);
            }
        }
        true
    }

    /// The body processor in effect (ctl:requestBodyProcessor, else the one
    /// the Content-Type chose) over `body`: REQBODY_PROCESSOR, REQUEST_BODY,
    /// then what the processor found.
    fn process_body(&mut self, body: &[u8], ct: &[u8]) {
        let processor = self.body_processor.clone().or_else(|| {
            self.scalars
                .get(&VarKind::ReqbodyProcessor)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        });
        if let Some(p) = &processor {
            self.set(VarKind::ReqbodyProcessor, p.as_bytes());
        }
        let pname = processor.unwrap_or_default();
        // As Coraza: the raw body for every processor but the structured
        // XML and MULTIPART ones (unless ctl:forceRequestBodyVariable).
        if self.force_request_body || !matches!(pname.as_str(), "XML" | "MULTIPART") {
            self.set(VarKind::RequestBody, body);
        }
        if body.is_empty() {
            self.set(VarKind::ReqbodyError, b"0");
            return;
        }
        let query_args = self.colls.get(&VarKind::ArgsGet).map_or(0, |c| c.len());
        let limits = bodyprocessors::Limits::new(&self.rs.config, query_args);
        let r = bodyprocessors::process_with(&pname, body, ct, &limits);
        self.store_body_result(r, pname == "MULTIPART");
    }

    /// ARGS_POST, FILES*, MULTIPART_* flags, XML and REQBODY_ERROR from a
    /// body processor's result.
    fn store_body_result(&mut self, r: bodyprocessors::BodyResult, multipart: bool) {
        for (k, v) in &r.args {
            self.push(VarKind::ArgsPost, k, v);
        }
        for (k, v) in &r.files {
            self.push(VarKind::Files, k, v);
        }
        let mut total = 0usize;
        for (k, s) in &r.file_sizes {
            total += s;
            self.push(VarKind::FilesSizes, k, s.to_string().as_bytes());
        }
        if multipart {
            self.set(VarKind::FilesCombinedSize, total.to_string().as_bytes());
        }
        for (k, v) in &r.part_headers {
            self.push(VarKind::MultipartPartHeaders, k, v);
        }
        self.kind_gen[VarKind::Xml as usize] += 1;
        self.xml_text = r.xml_text.iter().map(|v| rc(v)).collect();
        self.xml_attrs = r.xml_attrs.iter().map(|v| rc(v)).collect();
        self.xml_elements = r.xml_elements;
        for (name, on) in &r.flags {
            if let Some(k) = VarKind::from_name(name) {
                self.set(k, if *on { b"1" } else { b"0" });
            }
        }
        let error = r.error.is_some();
        self.set(VarKind::ReqbodyError, if error { b"1" } else { b"0" });
        if let Some(e) = &r.error {
            self.set(VarKind::ReqbodyErrorMsg, e.as_bytes());
        }
        self.set(
            VarKind::ReqbodyProcessorError,
            if error { b"1" } else { b"0" },
        );
    }

    /// ARGS_COMBINED_SIZE: the length of every query and body argument's
    /// name and value.
    fn set_args_combined_size(&mut self) {
        let mut combined = 0usize;
        for k in [VarKind::ArgsGet, VarKind::ArgsPost] {
            if let Some(c) = self.colls.get(&k) {
                combined += c.iter().map(|(a, b)| a.len() + b.len()).sum::<usize>();
            }
        }
        self.set(VarKind::ArgsCombinedSize, combined.to_string().as_bytes());
    }
}

/// Decodes `%XX` (not `+`); invalid escapes stay as written.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            let h = |c: u8| (c as char).to_digit(16);
            if let (Some(a), Some(b)) = (h(s[i + 1]), h(s[i + 2])) {
                out.push((a * 16 + b) as u8);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

fn trim_start(s: &[u8]) -> &[u8] {
    let i = s
        .iter()
        .position(|c| *c != b' ' && *c != b'\t')
        .unwrap_or(s.len());
    &s[i..]
}
