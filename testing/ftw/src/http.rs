//! The HTTP side of a go-ftw run, emulated for engines tested in-process:
//! a strict HTTP/1.1 front end, body framing, raw (`encoded_request`) parsing,
//! albedo's `/reflect` backend and ModSecurity-style log lines.

use crate::load::FtwRequest;

/// Splits raw request bytes into an FtwRequest.
pub fn parse_raw(raw: &[u8]) -> FtwRequest {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, 4));
    let split = split.or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2)));
    let (head, body) = match split {
        Some((p, n)) => (&raw[..p], raw[p + n..].to_vec()),
        None => (raw, Vec::new()),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or("");
    let mut parts = first.splitn(3, ' ');
    let method = parts.next().unwrap_or("GET").to_string();
    let uri = parts.next().unwrap_or("/").to_string();
    let version = parts.next().unwrap_or("HTTP/1.1").to_string();
    let headers = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    FtwRequest {
        method,
        uri,
        version,
        headers,
        body,
        encoded_request: None,
        autocomplete_headers: false,
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// A strict HTTP/1.1 front end, as the proxy's (and Apache's) parser: requests
/// it cannot accept never reach the WAF. `Err(None)` means the connection
/// fails (no HTTP response), `Err(Some(400))` a 400 answer.
pub fn http_front_end(r: &FtwRequest) -> Result<(), Option<u16>> {
    if r.version.is_empty() {
        return Err(None); // an HTTP/0.9 simple request: no response headers at all
    }
    if r.method.is_empty() || !r.method.bytes().all(is_tchar) {
        return Err(Some(400));
    }
    let v = r.version.as_bytes();
    let well_formed = v.len() == 8
        && v.starts_with(b"HTTP/")
        && v[5].is_ascii_digit()
        && v[6] == b'.'
        && v[7].is_ascii_digit();
    if !well_formed || v[5] == b'0' {
        return Err(Some(400));
    }
    let u = &r.uri;
    if u.is_empty() || u.bytes().any(|c| c <= b' ' || c == 0x7f || c == b'#') {
        return Err(Some(400));
    }
    let form_ok = u.starts_with('/')
        || (u == "*" && r.method == "OPTIONS")
        || u.split_once("://").is_some_and(|(scheme, _)| {
            !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'-' || c == b'.')
        })
        || (r.method == "CONNECT"
            && u.rsplit_once(':').is_some_and(|(h, p)| {
                !h.is_empty() && !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit())
            }));
    if !form_ok {
        return Err(Some(400));
    }
    for (n, val) in &r.headers {
        if n.is_empty()
            || !n.bytes().all(is_tchar)
            || val.bytes().any(|c| c == b'\r' || c == b'\n' || c == 0)
        {
            return Err(Some(400));
        }
        if n.eq_ignore_ascii_case("content-length")
            && (val.trim().is_empty() || !val.trim().bytes().all(|c| c.is_ascii_digit()))
        {
            return Err(Some(400));
        }
    }
    let host_ok = |h: &str| {
        h.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-.:[]_".contains(&c))
    };
    match r.header("host") {
        // HTTP/1.1 requires a non-empty Host; HTTP/1.0 may send it empty.
        Some(h) if host_ok(h) && (!h.is_empty() || &r.version[5..] != "1.1") => {}
        None if &r.version[5..] != "1.1" => {}
        _ => return Err(Some(400)),
    }
    Ok(())
}

/// The request an HTTP/1.1 server would hand to the WAF for a test stage: a raw
/// `encoded_request` is parsed first, then checked like a front end would
/// (`Err` carries the outcome when it stops there: its status, or `None` when it
/// answers nothing) and its body framed.
pub fn prepare(r: &FtwRequest) -> Result<FtwRequest, crate::Outcome> {
    let parsed;
    let r = match &r.encoded_request {
        Some(raw) => {
            parsed = parse_raw(raw);
            &parsed
        }
        None => r,
    };
    if let Err(status) = http_front_end(r) {
        return Err(crate::Outcome {
            status,
            logged_rule_ids: Vec::new(),
            log_lines: Vec::new(),
        });
    }
    Ok(http_frame(r))
}

/// What an HTTP/1.1 server hands on after framing the body: a chunked body is
/// de-chunked and its Content-Length header dropped (RFC 9112 6.3); otherwise
/// the body is Content-Length bytes long, and empty without one.
pub fn http_frame(r: &FtwRequest) -> FtwRequest {
    let mut r = r.clone();
    let chunked = r
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        r.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("content-length"));
        let mut out = Vec::new();
        let mut rest: &[u8] = &r.body;
        while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
            let size_txt = String::from_utf8_lossy(&rest[..eol]).to_string();
            let size = usize::from_str_radix(size_txt.split(';').next().unwrap_or("").trim(), 16)
                .unwrap_or(0);
            rest = &rest[eol + 2..];
            if size == 0 || size > rest.len() {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = rest.get(size + 2..).unwrap_or(&[]);
        }
        r.body = out;
    } else {
        match r
            .header("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            Some(n) => r.body.truncate(n),
            None => r.body.clear(),
        }
    }
    r
}

/// The response albedo's `/reflect` endpoint sends back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reflected {
    /// Status.
    pub status: u16,
    /// Headers (names as given).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// albedo's `/reflect`: status, headers and body come from the request's JSON
/// body (`{"status":..,"headers":{..},"body":"..","encodedBody":"base64"}`);
/// any other path answers 200 with an empty body. Without a Content-Type, one
/// is sniffed as Go's net/http does (text/html for markup, else text/plain).
pub fn reflect(req: &FtwRequest) -> Reflected {
    use base64::Engine;
    let mut resp = Reflected {
        status: 200,
        headers: Vec::new(),
        body: Vec::new(),
    };
    if req.uri.starts_with("/reflect")
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&req.body)
    {
        if let Some(s) = v.get("status").and_then(|s| s.as_u64()) {
            resp.status = s as u16;
        }
        if let Some(h) = v.get("headers").and_then(|h| h.as_object()) {
            for (k, val) in h {
                resp.headers
                    .push((k.clone(), val.as_str().unwrap_or_default().to_string()));
            }
        }
        if let Some(b) = v.get("body").and_then(|b| b.as_str()) {
            resp.body = b.as_bytes().to_vec();
        } else if let Some(b) = v.get("encodedBody").and_then(|b| b.as_str()) {
            resp.body = base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .unwrap_or_default();
        }
    }
    if !resp
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        let html = resp.body.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'<');
        let ct = if html {
            "text/html; charset=utf-8"
        } else {
            "text/plain; charset=utf-8"
        };
        resp.headers.push(("Content-Type".into(), ct.into()));
    }
    resp
}

/// Escapes as ModSecurity's error log does: control bytes as `\xHH`, quotes.
fn log_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// A ModSecurity error-log style line for one logged rule, the form go-ftw's
/// `match_regex` expectations are written against.
pub fn log_line(id: &str, msg: &str, data: &str, tags: &[String]) -> String {
    let (data, msg) = (log_escape(data), log_escape(msg));
    let mut s = format!("{data} [id \"{id}\"] [msg \"{msg}\"] [data \"{data}\"]");
    for t in tags {
        s.push_str(&format!(" [tag \"{}\"]", log_escape(t)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, uri: &str, version: &str, headers: &[(&str, &str)]) -> FtwRequest {
        FtwRequest {
            method: method.into(),
            uri: uri.into(),
            version: version.into(),
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn front_end_rejects_what_a_strict_parser_rejects() {
        let ok = req("GET", "/a?b=<c>", "HTTP/1.1", &[("Host", "localhost")]);
        assert_eq!(http_front_end(&ok), Ok(()));
        assert_eq!(
            http_front_end(&req(" GET", "/", "HTTP/1.1", &[("Host", "h")])),
            Err(Some(400))
        );
        assert_eq!(
            http_front_end(&req("GET", "/#frag", "HTTP/1.1", &[("Host", "h")])),
            Err(Some(400))
        );
        assert_eq!(
            http_front_end(&req("GET", "/", "HTTP/0.9", &[("Host", "h")])),
            Err(Some(400))
        );
        assert_eq!(
            http_front_end(&req("GET", "/", "HTTP/1.1", &[("Host", "")])),
            Err(Some(400))
        );
        assert_eq!(
            http_front_end(&req("GET", "/", "HTTP/1.0", &[("Host", "")])),
            Ok(())
        );
        assert_eq!(http_front_end(&req("GET", "/", "", &[])), Err(None));
        assert_eq!(
            http_front_end(&req(
                "GET",
                "/",
                "HTTP/1.1",
                &[("Host", "h"), ("Content-Length", "3;")]
            )),
            Err(Some(400))
        );
    }

    #[test]
    fn framing_and_raw_requests() {
        let mut r = req(
            "POST",
            "/",
            "HTTP/1.1",
            &[("Transfer-Encoding", "chunked"), ("Content-Length", "7")],
        );
        r.body = b"3\r\nfoo\r\n0\r\n\r\n".to_vec();
        let f = http_frame(&r);
        assert_eq!(f.body, b"foo");
        assert!(f.header("content-length").is_none());
        let mut r = req("POST", "/", "HTTP/1.1", &[]);
        r.body = b"ignored".to_vec();
        assert!(http_frame(&r).body.is_empty());
        let p = parse_raw(b"GET /x HTTP/1.0\r\nHost:\r\nA: b\r\n\r\nbody");
        assert_eq!(
            (p.method.as_str(), p.uri.as_str(), p.version.as_str()),
            ("GET", "/x", "HTTP/1.0")
        );
        assert_eq!(
            p.headers,
            vec![
                ("Host".to_string(), String::new()),
                ("A".to_string(), "b".to_string())
            ]
        );
        assert_eq!(p.body, b"body");
    }

    #[test]
    fn reflect_and_log_lines() {
        let mut r = req("POST", "/reflect", "HTTP/1.1", &[]);
        r.body = br#"{"status":503,"headers":{"X-A":"1"},"body":"<b>hi"}"#.to_vec();
        let resp = reflect(&r);
        assert_eq!(resp.status, 503);
        assert_eq!(resp.body, b"<b>hi");
        assert!(resp.headers.contains(&(
            "Content-Type".to_string(),
            "text/html; charset=utf-8".to_string()
        )));
        let l = log_line("1", "m", "a\r\n\"b", &["t".into()]);
        assert_eq!(
            l,
            "a\\x0d\\x0a\\\"b [id \"1\"] [msg \"m\"] [data \"a\\x0d\\x0a\\\"b\"] [tag \"t\"]"
        );
    }
}
