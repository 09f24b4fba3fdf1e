//! Everything that speaks wasi:http 0.2 (through the `wasip2` crate): reading the
//! incoming request, calling the origin, writing the answer. The rest of the
//! adapter sees plain Rust values, so moving to wasi:http 0.3 changes this file
//! and the `wasip2` dependency only.

use crate::settings::{Origin, is_hop_by_hop};
use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    Fields, IncomingBody, IncomingRequest, IncomingResponse, Method, OutgoingBody, OutgoingRequest,
    OutgoingResponse, RequestOptions, ResponseOutparam, Scheme,
};
use wasip2::io::streams::{InputStream, OutputStream, StreamError};

/// Read chunk size.
const CHUNK: u64 = 64 * 1024;
/// `blocking-write-and-flush` takes at most 4096 bytes per call.
const WRITE_CHUNK: usize = 4096;

/// The wasi:http incoming-handler export.
pub struct Handler;

wasip2::http::proxy::export!(Handler);

impl wasip2::exports::http::incoming_handler::Guest for Handler {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        crate::component::handle(request, out);
    }
}

/// The client's request as plain values.
pub struct Incoming {
    pub method: String,
    pub target: String,
    pub scheme: String,
    /// Lower-case names, in the order received; `host` added from the authority
    /// when the runtime keeps it apart.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// Why the body could not be read.
pub enum BodyError {
    TooLarge,
    Io(String),
}

/// Reads the request line and headers.
pub fn incoming(req: &IncomingRequest) -> Incoming {
    let method = match req.method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(m) => m,
    };
    let target = req.path_with_query().unwrap_or_else(|| "/".into());
    let scheme = match req.scheme() {
        Some(Scheme::Https) => "https".to_string(),
        Some(Scheme::Other(s)) => s,
        _ => "http".to_string(),
    };
    let mut headers: Vec<(String, Vec<u8>)> = req
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .collect();
    if !headers.iter().any(|(n, _)| n == "host")
        && let Some(a) = req.authority()
    {
        headers.insert(0, ("host".into(), a.into_bytes()));
    }
    Incoming {
        method,
        target,
        scheme,
        headers,
    }
}

/// Reads the whole request body, refusing more than `max` bytes.
pub fn read_body(req: &IncomingRequest, max: usize) -> Result<Vec<u8>, BodyError> {
    let body = req
        .consume()
        .map_err(|_| BodyError::Io("request body already taken".into()))?;
    let stream = body
        .stream()
        .map_err(|_| BodyError::Io("request body stream already taken".into()))?;
    let data = read_all(&stream, max);
    drop(stream);
    let _ = IncomingBody::finish(body);
    data
}

fn read_all(stream: &InputStream, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut data = Vec::new();
    loop {
        match stream.blocking_read(CHUNK) {
            Ok(chunk) => {
                if data.len() + chunk.len() > max {
                    return Err(BodyError::TooLarge);
                }
                data.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => return Ok(data),
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(BodyError::Io(e.to_debug_string()));
            }
        }
    }
}

fn fields(headers: &[(String, Vec<u8>)]) -> Fields {
    let f = Fields::new();
    for (name, value) in headers {
        if is_hop_by_hop(name) {
            continue;
        }
        // A name or value the runtime refuses (forbidden or malformed) is
        // dropped rather than failing the whole request.
        let _ = f.append(name, value);
    }
    f
}

fn write_all(stream: &OutputStream, data: &[u8]) -> Result<(), String> {
    for chunk in data.chunks(WRITE_CHUNK) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| format!("write: {e:?}"))?;
    }
    Ok(())
}

/// The origin's answer: status and headers, with the body still to read.
pub struct Upstream {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    response: IncomingResponse,
}

impl Upstream {
    /// Reads the whole response body (up to `max` bytes).
    pub fn read_body(self, max: usize) -> Result<Vec<u8>, String> {
        let body = self
            .response
            .consume()
            .map_err(|_| "response body already taken".to_string())?;
        let stream = body
            .stream()
            .map_err(|_| "response body stream already taken".to_string())?;
        let data = read_all(&stream, max).map_err(|e| match e {
            BodyError::TooLarge => format!("response body over {max} bytes"),
            BodyError::Io(m) => m,
        });
        drop(stream);
        let _ = IncomingBody::finish(body);
        data
    }
}

/// Sends the request to the origin and waits for the response head.
pub fn send(
    origin: &Origin,
    method: &str,
    target: &str,
    headers: &[(String, Vec<u8>)],
    body: &[u8],
    timeout_ms: u64,
) -> Result<Upstream, String> {
    let h = fields(headers);
    if !body.is_empty() {
        let _ = h.set("content-length", &[body.len().to_string().into_bytes()]);
    }
    let req = OutgoingRequest::new(h);
    let m = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_string()),
    };
    req.set_method(&m)
        .map_err(|_| format!("method {method:?} refused"))?;
    req.set_scheme(Some(if origin.https {
        &Scheme::Https
    } else {
        &Scheme::Http
    }))
    .map_err(|_| "scheme refused".to_string())?;
    req.set_authority(Some(&origin.authority))
        .map_err(|_| format!("authority {:?} refused", origin.authority))?;
    req.set_path_with_query(Some(&origin.target(target)))
        .map_err(|_| format!("target {target:?} refused"))?;
    let out_body = req
        .body()
        .map_err(|_| "request body already taken".to_string())?;
    let options = RequestOptions::new();
    let ns = timeout_ms.saturating_mul(1_000_000);
    let _ = options.set_connect_timeout(Some(ns));
    let _ = options.set_first_byte_timeout(Some(ns));
    let _ = options.set_between_bytes_timeout(Some(ns));
    let future = outgoing_handler::handle(req, Some(options))
        .map_err(|e| format!("origin request refused: {e:?}"))?;
    {
        let stream = out_body
            .write()
            .map_err(|_| "request body stream already taken".to_string())?;
        write_all(&stream, body)?;
    }
    OutgoingBody::finish(out_body, None).map_err(|e| format!("request body: {e:?}"))?;
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(r))) => r,
        Some(Ok(Err(e))) => return Err(format!("origin: {e:?}")),
        Some(Err(())) => return Err("origin response already taken".into()),
        None => return Err("origin response not ready".into()),
    };
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v))
        .collect();
    Ok(Upstream {
        status: response.status(),
        headers,
        response,
    })
}

/// Answers with a complete body.
pub fn respond(out: ResponseOutparam, status: u16, headers: &[(String, Vec<u8>)], body: &[u8]) {
    let h = fields(headers);
    let _ = h.set("content-length", &[body.len().to_string().into_bytes()]);
    let resp = OutgoingResponse::new(h);
    let _ = resp.set_status_code(status);
    let Ok(out_body) = resp.body() else { return };
    ResponseOutparam::set(out, Ok(resp));
    if let Ok(stream) = out_body.write()
        && let Err(e) = write_all(&stream, body)
    {
        eprintln!("edgewaf: writing the response: {e}");
    }
    let _ = OutgoingBody::finish(out_body, None);
}

/// Answers with the origin's status and headers (plus `extra`), streaming its body.
pub fn relay(out: ResponseOutparam, upstream: Upstream, extra: &[(String, Vec<u8>)]) {
    let mut headers = upstream.headers.clone();
    headers.extend(extra.iter().cloned());
    let h = fields(&headers);
    if let Some((_, len)) = upstream.headers.iter().find(|(n, _)| n == "content-length") {
        let _ = h.set("content-length", std::slice::from_ref(len));
    }
    let resp = OutgoingResponse::new(h);
    let _ = resp.set_status_code(upstream.status);
    let Ok(out_body) = resp.body() else { return };
    ResponseOutparam::set(out, Ok(resp));
    let Ok(in_body) = upstream.response.consume() else {
        return;
    };
    if let (Ok(src), Ok(dst)) = (in_body.stream(), out_body.write()) {
        loop {
            match src.blocking_read(CHUNK) {
                Ok(chunk) => {
                    if let Err(e) = write_all(&dst, &chunk) {
                        eprintln!("edgewaf: relaying the response: {e}");
                        break;
                    }
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    eprintln!(
                        "edgewaf: reading the origin's response: {}",
                        e.to_debug_string()
                    );
                    break;
                }
            }
        }
    }
    let _ = IncomingBody::finish(in_body);
    let _ = OutgoingBody::finish(out_body, None);
}

/// 16 random bytes from the runtime.
pub fn random16() -> [u8; 16] {
    let v = wasip2::random::random::get_random_bytes(16);
    let mut out = [0u8; 16];
    out.copy_from_slice(&v[..16]);
    out
}
