//! Shared helpers: start processes, write configs, send raw HTTP.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where the policy components are: `EDGEWAF_MODULES` or the workspace target.
pub fn modules_dir() -> PathBuf {
    std::env::var_os("EDGEWAF_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/wasm32-wasip2/release"))
}

/// The path of a built component; fails with a hint when it is missing.
pub fn module(name: &str) -> PathBuf {
    let p = modules_dir().join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        p.is_file(),
        "{} is missing: build the guests first (`make test` does: cargo build --release --target wasm32-wasip2 -p {name})",
        p.display()
    );
    p
}

/// A free TCP port on 127.0.0.1 for a server a test is about to start.
///
/// Not one `bind(0)` hands out: that port is in the kernel's ephemeral
/// range, and once released the next outgoing connection of any test running
/// alongside may take it as its local port before the server binds it, which
/// then exits with "address in use" (CI saw this on a restart in
/// `analytics::events_survive_a_restart` while `hotswap` opened thousands of
/// connections). These ports come from below that range, where the kernel
/// never picks one on its own: each at most once per test process, from a
/// start that differs between processes, and each checked free.
pub fn free_port() -> u16 {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    static NEXT: OnceLock<AtomicU32> = OnceLock::new();
    let high = ephemeral_start().unwrap_or(32_768).min(65_536);
    if high < LOW + 1_000 {
        return ephemeral_port();
    }
    let span = high - LOW;
    let next = NEXT.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        AtomicU32::new(std::process::id().wrapping_mul(7_919).wrapping_add(nanos) % span)
    });
    for _ in 0..span {
        let port = (LOW + next.fetch_add(1, Ordering::Relaxed) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    ephemeral_port()
}

/// A port `bind(0)` hands out (see [`free_port`] for why it is the fallback).
fn ephemeral_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed on drop.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn edgewaf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_edgewaf"))
}

/// The `edgewaf-tools` binary (bundle, serve-component), next to `edgewaf` in
/// the target folder. A package of its own, so this test (package `edgewaf`)
/// cannot have Cargo build it: `make host` does (`cargo build --release -p
/// edgewaf-tools`), as `make guests` builds the components these tests load.
pub fn edgewaf_tools() -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_edgewaf")).with_file_name("edgewaf-tools");
    assert!(
        bin.is_file(),
        "{} is missing: build it first (make host, or cargo build --release -p edgewaf-tools)",
        bin.display()
    );
    Command::new(bin)
}

pub fn wait_for_port(addr: &str, what: &str, child: &mut Child) {
    wait_for_listen(addr, what, child, None)
}

/// [`wait_for_port`] for a process whose stderr goes to `log`: a failure
/// shows what the process wrote there.
pub fn wait_for_listen(addr: &str, what: &str, child: &mut Child, log: Option<&Path>) {
    let said = || {
        log.and_then(|p| std::fs::read_to_string(p).ok())
            .map(|s| format!("; its stderr:\n{s}"))
            .unwrap_or_default()
    };
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}{}", said());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} did not listen on {addr} within 60 s{}", said());
}

/// The built-in echo origin.
pub struct Echo {
    pub addr: String,
    _proc: Proc,
}

impl Echo {
    pub fn start() -> Echo {
        let addr = format!("127.0.0.1:{}", free_port());
        let mut child = edgewaf()
            .args(["echo", "--listen", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start echo");
        wait_for_port(&addr, "echo origin", &mut child);
        Echo {
            addr,
            _proc: Proc {
                child,
                name: "echo".into(),
            },
        }
    }
}

pub const TOKEN: &str = "test-admin-token-0123456789";

/// A running `edgewaf serve` with its own folder of tenants.
pub struct Waf {
    pub addr: String,
    pub admin: String,
    pub dir: tempfile::TempDir,
    proc: Option<Proc>,
}

impl Waf {
    /// Writes `edgewaf.toml` and the given tenant files (`{upstream}` in them is
    /// replaced by `upstream`), then starts the WAF.
    pub fn start(upstream: &str, tenants: &[(&str, &str)]) -> Waf {
        let mut waf = Waf::prepare(upstream, tenants);
        waf.write_config("");
        waf.spawn();
        waf
    }

    /// Like [`Waf::start`] without writing `edgewaf.toml` or starting: the
    /// caller adds files to `dir`, then calls `write_config` and `spawn`.
    pub fn prepare(upstream: &str, tenants: &[(&str, &str)]) -> Waf {
        let dir = tempfile::tempdir().unwrap();
        let pol = dir.path().join("policies");
        std::fs::create_dir_all(&pol).unwrap();
        for (name, text) in tenants {
            std::fs::write(
                pol.join(format!("{name}.toml")),
                text.replace("{upstream}", upstream),
            )
            .unwrap();
        }
        Waf {
            addr: String::new(),
            admin: String::new(),
            dir,
            proc: None,
        }
    }

    pub fn write_config(&self, extra: &str) {
        self.write_config_with_server("", extra)
    }

    /// Like [`Waf::write_config`], with more lines for the `[server]` table
    /// (e.g. `header_timeout_ms = 1000\n`).
    pub fn write_config_with_server(&self, server: &str, extra: &str) {
        let cfg = format!(
            "[server]\nupstream_connect_timeout_ms = 1000\nupstream_timeout_ms = 5000\n{server}\n[policies]\ndir = \"policies\"\nmodules = [{:?}]\n\n[log]\ndecisions = \"decisions.log\"\n{extra}",
            modules_dir().display().to_string()
        );
        std::fs::write(self.dir.path().join("edgewaf.toml"), cfg).unwrap();
    }

    pub fn spawn(&mut self) {
        self.addr = format!("127.0.0.1:{}", free_port());
        self.admin = format!("127.0.0.1:{}", free_port());
        let stderr = std::fs::File::create(self.dir.path().join("stderr.log")).unwrap();
        let mut child = edgewaf()
            .args(["serve", "--config"])
            .arg(self.dir.path().join("edgewaf.toml"))
            .args(["--listen", &self.addr, "--admin-listen", &self.admin])
            .env("EDGEWAF_ADMIN_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start edgewaf serve");
        let log = self.dir.path().join("stderr.log");
        wait_for_listen(&self.admin, "edgewaf serve", &mut child, Some(&log));
        wait_for_listen(&self.addr, "edgewaf serve", &mut child, Some(&log));
        self.proc = Some(Proc {
            child,
            name: "edgewaf".into(),
        });
    }

    pub fn stop(&mut self) {
        self.proc = None;
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// The decision log lines so far, parsed.
    pub fn decisions(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("decisions.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The decision line of one request id (waits briefly for the write).
    pub fn decision(&self, request_id: &str) -> serde_json::Value {
        for _ in 0..100 {
            if let Some(d) = self
                .decisions()
                .into_iter()
                .find(|d| d["request_id"] == request_id)
            {
                return d;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no decision line for request {request_id}");
    }

    pub fn get(&self, host: &str, target: &str) -> Resp {
        send(
            &self.addr,
            &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
    }

    pub fn admin_get(&self, path: &str, token: Option<&str>) -> Resp {
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        send(
            &self.admin,
            &format!("GET {path} HTTP/1.1\r\nHost: admin\r\n{auth}Connection: close\r\n\r\n"),
        )
    }

    pub fn admin_send(&self, method: &str, path: &str, body: &str) -> Resp {
        send(
            &self.admin,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn request_id(&self) -> String {
        self.header("x-request-id")
            .expect("x-request-id header")
            .to_string()
    }
}

/// Sends raw bytes on a new connection and reads the whole response (the
/// request should say `Connection: close`). A 15 s read timeout turns a hang
/// into a failure.
pub fn send(addr: &str, raw: &str) -> Resp {
    send_bytes_from(addr, raw.as_bytes(), None)
}

/// Like [`send`], from a chosen local source address (any 127.0.0.0/8 works on Linux).
pub fn send_bytes_from(addr: &str, raw: &[u8], source: Option<&str>) -> Resp {
    let target: SocketAddr = addr.parse().unwrap();
    let mut stream = match source {
        None => TcpStream::connect(target).expect("connect"),
        Some(src) => {
            let sock =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            let src: SocketAddr = format!("{src}:0").parse().unwrap();
            sock.bind(&src.into()).expect("bind source address");
            sock.connect(&target.into()).expect("connect");
            sock.into()
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(raw).unwrap();
    let mut buf = Vec::new();
    if let Err(e) = stream.read_to_end(&mut buf)
        && buf.is_empty()
    {
        panic!("no response from {addr}: {e}");
    }
    parse_response(&buf)
}

pub fn parse_response(buf: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A request with a body.
pub fn post(host: &str, target: &str, content_type: &str, body: &str) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// One request as the [`Recorder`] origin read it off the wire.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub target: String,
    /// Names lower-cased, in order, repeats kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    /// Every value of a header.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// An HTTP/1.1 origin that records every request it reads (framed by
/// `Content-Length` only: a chunked request would show up as its head with
/// `transfer-encoding` and an empty body) and answers `200 ok`.
pub struct Recorder {
    pub addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Recorder {
    pub fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = shared.clone();
                std::thread::spawn(move || record_connection(stream, &seen));
            }
        });
        Recorder { addr, seen }
    }

    /// The requests read so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.seen.lock().unwrap().clear();
    }
}

fn record_connection(mut stream: TcpStream, seen: &Mutex<Vec<Seen>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        while let Some((request, used)) = parse_request(&buf) {
            seen.lock().unwrap().push(request);
            buf.drain(..used);
            let ok = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";
            if stream.write_all(ok).is_err() {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A complete request at the start of `buf` and its length in bytes.
fn parse_request(buf: &[u8]) -> Option<(Seen, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 256];
    let mut req = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head) = req.parse(buf).ok()? else {
        return None;
    };
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value).into_owned();
            (h.name.to_ascii_lowercase(), value)
        })
        .collect();
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    if buf.len() < head + len {
        return None;
    }
    let seen = Seen {
        method: req.method?.to_string(),
        target: req.path?.to_string(),
        headers,
        body: buf[head..head + len].to_vec(),
    };
    Some((seen, head + len))
}

/// The first port of the kernel's ephemeral range, when it can be read.
fn ephemeral_start() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn free_ports_are_distinct_and_below_the_ephemeral_range() {
    let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
    let mut seen = std::collections::HashSet::new();
    for p in &ports {
        assert!(seen.insert(*p), "port {p} handed out twice: {ports:?}");
    }
    if let Some(start) = ephemeral_start().filter(|&s| s >= 21_000) {
        assert!(
            ports
                .iter()
                .all(|&p| u32::from(p) >= 20_000 && u32::from(p) < start),
            "ports outside 20000..{start}: {ports:?}"
        );
    }
}
