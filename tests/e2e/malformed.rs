//! Malformed and hostile HTTP/1.1 against the proxy, over raw sockets: one
//! table of request smuggling shapes, broken framing, header floods, slow
//! clients and pipelining. Each row says what the client must get (the
//! statuses of the answers, in order, and that the connection is closed) and
//! what the origin must read (nothing, or exactly the requests listed). The
//! origin is a [`Recorder`], so the test sees the bytes the proxy sent.
//!
//! Where hyper accepts something a stricter reading would refuse (a bare LF
//! as line end; `Content-Length` with `Transfer-Encoding: chunked`), the row
//! checks the normalisation instead: the origin reads one request, framed by
//! one `Content-Length`, and nothing sent after the body (see
//! `host/src/serve/proxy/framing.rs`).

use crate::support::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// One thing the client does.
#[derive(Clone)]
enum Step {
    Send(Vec<u8>),
    Pause(u64),
}

/// What the origin may read for a row.
enum Origin {
    /// No request at all.
    Nothing,
    /// Exactly these (method, target, body), in order.
    Reads(&'static [(&'static str, &'static str, &'static str)]),
}

struct Row {
    name: &'static str,
    steps: Vec<Step>,
    /// The statuses of the answers, in order (empty: closed without one);
    /// the proxy must close the connection after them.
    statuses: &'static [u16],
    origin: Origin,
}

fn send(raw: impl AsRef<[u8]>) -> Vec<Step> {
    vec![Step::Send(raw.as_ref().to_vec())]
}

fn row(name: &'static str, steps: Vec<Step>, statuses: &'static [u16], origin: Origin) -> Row {
    Row {
        name,
        steps,
        statuses,
        origin,
    }
}

/// What the client got: the answers' statuses and whether the server closed.
struct Got {
    statuses: Vec<u16>,
    closed: bool,
    text: String,
}

/// Plays the steps on one connection (a writer thread, so that a server
/// that answers early is read at once) and reads until the server closes or
/// stays silent for 8 s.
fn exchange(addr: &str, steps: Vec<Step>) -> Got {
    let stream = TcpStream::connect(addr).expect("connect");
    let mut writer = stream.try_clone().unwrap();
    let playing = std::thread::spawn(move || {
        for step in steps {
            let ok = match step {
                Step::Send(bytes) => writer.write_all(&bytes).is_ok(),
                Step::Pause(ms) => {
                    std::thread::sleep(Duration::from_millis(ms));
                    true
                }
            };
            if !ok {
                return;
            }
        }
    });
    let mut reader = stream;
    reader
        .set_read_timeout(Some(Duration::from_secs(8)))
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let closed = loop {
        match reader.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    let _ = reader.shutdown(Shutdown::Both);
    let _ = playing.join();
    Got {
        statuses: statuses_of(&buf),
        closed,
        text: String::from_utf8_lossy(&buf).into_owned(),
    }
}

/// The status of each response in `buf` (framed by `Content-Length`).
fn statuses_of(mut buf: &[u8]) -> Vec<u16> {
    let mut out = Vec::new();
    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok());
        out.push(status.unwrap_or(0));
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        buf = &buf[(end + 4 + len).min(buf.len())..];
    }
    out
}

fn chunked_post(target: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nHost: t.test\r\n{extra_headers}Transfer-Encoding: chunked\r\n\r\n{body}"
    )
}

/// Request smuggling across Content-Length and chunked framing.
fn framing_rows() -> Vec<Row> {
    use Origin::*;
    vec![
        row(
            "baseline GET",
            send("GET /ok HTTP/1.1\r\nHost: t.test\r\nConnection: close\r\n\r\n"),
            &[200],
            Reads(&[("GET", "/ok", "")]),
        ),
        // CL.TE: a front end that frames by Content-Length would forward
        // "SMUGGLED" as the start of the next request; chunked framing wins
        // and the connection closes, so those bytes go nowhere.
        row(
            "CL + TE: chunked wins, rest discarded",
            send(chunked_post(
                "/cl-te",
                "Content-Length: 13\r\n",
                "0\r\n\r\nSMUGGLED",
            )),
            &[200],
            Reads(&[("POST", "/cl-te", "")]),
        ),
        row(
            "TE + CL with a whole request after the chunked body",
            send(chunked_post(
                "/te-cl",
                "Content-Length: 4\r\n",
                "8\r\nSMUGGLED\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t.test\r\n\r\n",
            )),
            &[200],
            Reads(&[("POST", "/te-cl", "SMUGGLED")]),
        ),
        row(
            "duplicate Content-Length, differing",
            send(
                "POST /dup HTTP/1.1\r\nHost: t.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            ),
            &[400],
            Nothing,
        ),
        row(
            "duplicate Content-Length, equal: normalised to one",
            send(
                "POST /dup-eq HTTP/1.1\r\nHost: t.test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: t.test\r\nConnection: close\r\n\r\n",
            ),
            &[200, 200],
            Reads(&[("POST", "/dup-eq", "hello"), ("GET", "/next", "")]),
        ),
        row(
            "Content-Length list",
            send("POST /cl-list HTTP/1.1\r\nHost: t.test\r\nContent-Length: 5, 5\r\n\r\nhello"),
            &[400],
            Nothing,
        ),
        row(
            "Content-Length with a sign",
            send("POST /cl-sign HTTP/1.1\r\nHost: t.test\r\nContent-Length: +5\r\n\r\nhello"),
            &[400],
            Nothing,
        ),
    ]
}

/// Transfer-Encoding variants and chunk sizes a parser could read two ways.
fn transfer_encoding_rows() -> Vec<Row> {
    use Origin::*;
    vec![
        row(
            "Transfer-Encoding: chunked, gzip",
            send(
                chunked_post("/te-last", "", "").replace("chunked", "chunked, gzip")
                    + "5\r\nhello\r\n0\r\n\r\n",
            ),
            &[400],
            Nothing,
        ),
        row(
            "Transfer-Encoding: gzip, chunked",
            send(
                chunked_post("/te-gzip", "", "").replace("chunked", "gzip, chunked")
                    + "5\r\nhello\r\n0\r\n\r\n",
            ),
            &[501],
            Nothing,
        ),
        row(
            "Transfer-Encoding: xchunked",
            send(
                chunked_post("/te-x", "", "5\r\nhello\r\n0\r\n\r\n").replace("chunked", "xchunked"),
            ),
            &[400],
            Nothing,
        ),
        row(
            "Transfer-Encoding with a space before the colon",
            send(
                chunked_post("/te-sp", "", "5\r\nhello\r\n0\r\n\r\n")
                    .replace("Transfer-Encoding:", "Transfer-Encoding :"),
            ),
            &[400],
            Nothing,
        ),
        row(
            "two Transfer-Encoding fields",
            send(chunked_post(
                "/te-two",
                "Transfer-Encoding: chunked\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            )),
            &[501],
            Nothing,
        ),
        row(
            "Transfer-Encoding in HTTP/1.0",
            send(
                "POST /te-10 HTTP/1.0\r\nHost: t.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            ),
            &[400],
            Nothing,
        ),
        row(
            "invalid chunk size",
            send(chunked_post("/chunk-zz", "", "zz\r\nhello\r\n0\r\n\r\n")),
            &[400],
            Nothing,
        ),
        row(
            "chunk size overflowing 64 bits",
            send(chunked_post(
                "/chunk-big",
                "",
                "1ffffffffffffffff\r\nhello\r\n0\r\n\r\n",
            )),
            &[400],
            Nothing,
        ),
        row(
            "chunk size ended by a bare LF",
            send(chunked_post("/chunk-lf", "", "5\nhello\r\n0\r\n\r\n")),
            &[400],
            Nothing,
        ),
    ]
}

fn head_rows() -> Vec<Row> {
    use Origin::*;
    let many: String = (0..200).map(|i| format!("X-Flood-{i}: {i}\r\n")).collect();
    let huge = format!("X-Big: {}\r\n", "a".repeat(1 << 20));
    vec![
        row(
            "obs-fold",
            send("GET /fold HTTP/1.1\r\nHost: t.test\r\nX-Folded: a\r\n b\r\n\r\n"),
            &[400],
            Nothing,
        ),
        row(
            "bare LF line ends: normalised to CRLF",
            send("GET /lf HTTP/1.1\nHost: t.test\nX-Lf: 1\nConnection: close\n\n"),
            &[200],
            Reads(&[("GET", "/lf", "")]),
        ),
        row(
            "bare CR in a header value",
            send("GET /cr HTTP/1.1\r\nHost: t.test\r\nX-Cr: a\rb\r\n\r\n"),
            &[400],
            Nothing,
        ),
        row(
            "NUL in a header value",
            send("GET /nul HTTP/1.1\r\nHost: t.test\r\nX-Nul: a\0b\r\n\r\n"),
            &[400],
            Nothing,
        ),
        row(
            "two Host headers",
            send("GET /hosts HTTP/1.1\r\nHost: t.test\r\nHost: other.test\r\n\r\n"),
            &[400],
            Nothing,
        ),
        row(
            "absolute-form target naming another host",
            send("GET http://other.test/abs HTTP/1.1\r\nHost: t.test\r\n\r\n"),
            &[400],
            Nothing,
        ),
        row(
            "HTTP/1.1 without Host",
            send("GET /no-host HTTP/1.1\r\nX-A: 1\r\n\r\n"),
            &[400],
            Nothing,
        ),
        row(
            "CONNECT",
            send("CONNECT t.test:443 HTTP/1.1\r\nHost: t.test:443\r\n\r\n"),
            &[405],
            Nothing,
        ),
        row(
            "200 headers",
            send(format!("GET /flood HTTP/1.1\r\nHost: t.test\r\n{many}\r\n")),
            &[431],
            Nothing,
        ),
        row(
            "a 1 MB header",
            send(format!("GET /huge HTTP/1.1\r\nHost: t.test\r\n{huge}\r\n")),
            &[431],
            Nothing,
        ),
    ]
}

fn timing_rows() -> Vec<Row> {
    use Origin::*;
    // One header byte every 100 ms: header_timeout_ms = 1000 ends it with a
    // 408 (hyper alone would close without an answer). The test stops
    // writing after 6.7 s anyway.
    let mut slow_head = send("GET /slow-head HTTP/1.1\r\nHost: t.test\r\n");
    for b in b"X-Slow: 0123456789012345678901234567890123456789012345678901234567\r\n" {
        slow_head.push(Step::Pause(100));
        slow_head.push(Step::Send(vec![*b]));
    }
    let slow_body = vec![
        Step::Send(
            b"POST /slow-body HTTP/1.1\r\nHost: t.test\r\nContent-Length: 100\r\n\r\n0123456789"
                .to_vec(),
        ),
        Step::Pause(4000),
    ];
    // A chunked body whose last chunk never comes: body_timeout_ms = 1000.
    let slow_chunks = vec![
        Step::Send(chunked_post("/slow-chunks", "", "5\r\nhello\r\n").into_bytes()),
        Step::Pause(4000),
    ];
    let big_chunk = format!("11170\r\n{}\r\n0\r\n\r\n", "a".repeat(0x11170));
    vec![
        row("slow headers", slow_head, &[408], Nothing),
        row("slow body", slow_body, &[408], Nothing),
        row("slow chunked body", slow_chunks, &[408], Nothing),
        row(
            "Content-Length over max_request_body",
            send("POST /big HTTP/1.1\r\nHost: t.test\r\nContent-Length: 100000\r\n\r\n"),
            &[413],
            Nothing,
        ),
        row(
            "chunked body over max_request_body",
            send(chunked_post("/big-chunked", "", &big_chunk)),
            &[413],
            Nothing,
        ),
        row(
            "pipelined requests, answered in order",
            send(
                "GET /p1 HTTP/1.1\r\nHost: t.test\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: t.test\r\nContent-Length: 2\r\n\r\nhiGET /p3 HTTP/1.1\r\nHost: t.test\r\nConnection: close\r\n\r\n",
            ),
            &[200, 200, 200],
            Reads(&[
                ("GET", "/p1", ""),
                ("POST", "/p2", "hi"),
                ("GET", "/p3", ""),
            ]),
        ),
        row(
            "pipelined after a refused request: nothing more is read",
            send(
                "POST /bad HTTP/1.1\r\nHost: t.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxGET /after-bad HTTP/1.1\r\nHost: t.test\r\nConnection: close\r\n\r\n",
            ),
            &[400],
            Nothing,
        ),
    ]
}

fn start_waf(recorder: &Recorder) -> Waf {
    let tenant = "hosts = [\"t.test\"]\nupstream = \"http://{upstream}\"\n";
    let mut waf = Waf::prepare(&recorder.addr, &[("t", tenant)]);
    waf.write_config_with_server(
        "header_timeout_ms = 1000\nbody_timeout_ms = 1000\nmax_request_body = 65536\n",
        "",
    );
    waf.spawn();
    waf
}

/// Every request the origin reads is framed one way only: no
/// `Transfer-Encoding`, no hop-by-hop header, one `Content-Length` that
/// matches the body.
fn assert_unambiguous(name: &str, seen: &Seen) {
    assert!(
        seen.values("transfer-encoding").is_empty(),
        "{name}: {seen:?}"
    );
    assert!(seen.values("connection").is_empty(), "{name}: {seen:?}");
    let cl = seen.values("content-length");
    assert!(cl.len() <= 1, "{name}: {seen:?}");
    let len = cl.first().map_or(0, |v| v.parse::<usize>().unwrap());
    assert_eq!(len, seen.body.len(), "{name}: {seen:?}");
    assert_eq!(seen.values("host"), ["t.test"], "{name}: {seen:?}");
}

#[test]
fn malformed_http_table() {
    let recorder = Recorder::start();
    let waf = start_waf(&recorder);
    let rows = [
        framing_rows(),
        transfer_encoding_rows(),
        head_rows(),
        timing_rows(),
    ]
    .into_iter()
    .flatten();
    let mut expected_total = 0;
    for row in rows {
        recorder.clear();
        let got = exchange(&waf.addr, row.steps.clone());
        assert_eq!(got.statuses, row.statuses, "{}: {}", row.name, got.text);
        assert!(
            got.closed,
            "{}: the connection stays open: {}",
            row.name, got.text
        );
        if got.statuses.last() == Some(&408) {
            let text = got.text.to_ascii_lowercase();
            assert!(
                text.contains("connection: close"),
                "{}: {}",
                row.name,
                got.text
            );
        }
        let seen = recorder.seen();
        match row.origin {
            Origin::Nothing => assert!(seen.is_empty(), "{}: the origin read {seen:?}", row.name),
            Origin::Reads(want) => {
                let got: Vec<_> = seen
                    .iter()
                    .map(|s| {
                        (
                            s.method.as_str(),
                            s.target.as_str(),
                            String::from_utf8_lossy(&s.body).into_owned(),
                        )
                    })
                    .collect();
                let want: Vec<_> = want
                    .iter()
                    .map(|(m, t, b)| (*m, *t, b.to_string()))
                    .collect();
                assert_eq!(got, want, "{}", row.name);
                for s in &seen {
                    assert_unambiguous(row.name, s);
                }
                expected_total += want.len();
            }
        }
    }
    // Nothing reached the origin late (e.g. a smuggled request on a pooled
    // connection), and the proxy is still up and well.
    recorder.clear();
    let r = waf.get("t.test", "/still-up");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(recorder.seen().len(), 1, "{:?}", recorder.seen());
    assert!(expected_total > 0);
    assert!(!waf.stderr().contains("panicked"), "{}", waf.stderr());
}

#[test]
fn connection_churn_leaves_the_proxy_serving() {
    let recorder = Recorder::start();
    let waf = start_waf(&recorder);
    let full = b"GET /churn HTTP/1.1\r\nHost: t.test\r\n\r\n";
    for i in 0..300 {
        let Ok(mut s) = TcpStream::connect(&waf.addr) else {
            panic!("connection {i} refused: {}", waf.stderr());
        };
        match i % 4 {
            // Connect and go away.
            0 => {}
            // Half a head, then go away.
            1 => {
                let _ = s.write_all(&full[..20]);
            }
            // A whole request, gone before the answer.
            2 => {
                let _ = s.write_all(full);
            }
            // Half an HTTP/2 preface.
            _ => {
                let _ = s.write_all(b"PRI * HTTP/2.0\r\n");
            }
        }
        let _ = s.shutdown(Shutdown::Both);
    }
    let r = waf.get("t.test", "/after-churn");
    assert_eq!(r.status, 200, "{r:?}");
    for seen in recorder.seen() {
        assert!(
            seen.target == "/churn" || seen.target == "/after-churn",
            "{seen:?}"
        );
        assert_unambiguous("churn", &seen);
    }
    assert!(!waf.stderr().contains("panicked"), "{}", waf.stderr());
}
