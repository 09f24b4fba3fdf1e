//! Accepting connections and picking the HTTP version.
//!
//! 1. A plain listener reads the first bytes (under `header_timeout_ms`): the
//!    HTTP/2 connection preface means HTTP/2 with prior knowledge (h2c),
//!    anything else HTTP/1.1. The bytes read are handed back to the server.
//! 2. A TLS listener finishes the handshake (under `header_timeout_ms`); ALPN
//!    `h2` means HTTP/2, anything else (or no ALPN) HTTP/1.1.
//! 3. HTTP/1.1 is served with hyper's `header_read_timeout`; HTTP/2 with
//!    keep-alive pings that close a connection whose peer stopped answering.
//! 4. hyper ends an HTTP/1.1 connection whose head is late with an error and
//!    no answer. When part of a head had arrived, the listener takes the
//!    connection back and answers `408` with `Connection: close` itself
//!    ([`answer_late_head`]); a connection idle between requests is closed
//!    without one.
//!
//! Both versions reach the same request handler ([`super::handle`]).

use crate::app::App;
use crate::serve::runtime::TlsInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The first bytes of every HTTP/2 connection (RFC 9113 section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The HTTP version a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    Http1,
    Http2,
}

/// Accepts plain-HTTP connections (HTTP/1.1, or HTTP/2 with prior
/// knowledge) on `listener` until the task is dropped.
pub async fn serve(app: Arc<App>, listener: TcpListener) {
    accept_loop(app, listener, None).await
}

/// Accepts HTTPS connections on `listener` (`[server.tls]`, see [`crate::serve::tls`])
/// until the task is dropped. ALPN offers HTTP/2 and HTTP/1.1. A failed
/// handshake (for instance a client certificate that does not verify) closes
/// the connection before any request.
pub async fn serve_tls(app: Arc<App>, listener: TcpListener, tls: TlsAcceptor) {
    accept_loop(app, listener, Some(tls)).await
}

async fn accept_loop(app: Arc<App>, listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let local = stream.local_addr().unwrap_or(peer);
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_plain(app, stream, peer, local).await,
                Some(acceptor) => serve_https(app, acceptor, stream, peer, local).await,
            }
        });
    }
}

async fn serve_plain(app: Arc<App>, mut stream: TcpStream, peer: SocketAddr, local: SocketAddr) {
    let header_timeout = Duration::from_millis(app.config.server.header_timeout_ms);
    let (protocol, prefix) = match tokio::time::timeout(header_timeout, sniff(&mut stream)).await {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            tracing::debug!("connection from {peer} closed before a request: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("connection from {peer} sent nothing in time");
            return;
        }
    };
    let io = Prefixed {
        prefix,
        pos: 0,
        inner: stream,
    };
    serve_connection(app, io, protocol, peer, local, None).await
}

async fn serve_https(
    app: Arc<App>,
    acceptor: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
) {
    let header_timeout = Duration::from_millis(app.config.server.header_timeout_ms);
    // The handshake shares the time a client has to send the request head.
    let stream = match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::info!("TLS handshake with {peer} failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!("TLS handshake with {peer} timed out");
            return;
        }
    };
    let conn = stream.get_ref().1;
    let protocol = match conn.alpn_protocol() {
        Some(p) if p == crate::serve::tls::ALPN_H2 => Protocol::Http2,
        _ => Protocol::Http1,
    };
    let info = match crate::serve::tls::tls_info(conn) {
        Ok(info) => info,
        Err(e) => {
            tracing::warn!("TLS connection from {peer} closed: {e}");
            return;
        }
    };
    serve_connection(app, stream, protocol, peer, local, Some(Arc::new(info))).await
}

/// Reads until the bytes either are the HTTP/2 preface or cannot be; returns
/// the version and the bytes read.
pub(super) async fn sniff<R: AsyncRead + Unpin>(stream: &mut R) -> io::Result<(Protocol, Vec<u8>)> {
    let mut buf = Vec::with_capacity(H2_PREFACE.len());
    let mut chunk = [0u8; 24];
    while buf.len() < H2_PREFACE.len() {
        let want = H2_PREFACE.len() - buf.len();
        let n = stream.read(&mut chunk[..want]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if !H2_PREFACE.starts_with(&buf) {
            return Ok((Protocol::Http1, buf));
        }
    }
    Ok((Protocol::Http2, buf))
}

async fn serve_connection<S>(
    app: Arc<App>,
    stream: S,
    protocol: Protocol,
    peer: SocketAddr,
    local: SocketAddr,
    tls: Option<Arc<TlsInfo>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = Duration::from_millis(app.config.server.header_timeout_ms);
    let handler_app = app.clone();
    // The record's connection part is the same for every request on it.
    let tls = tls.as_deref().cloned();
    let connection = Arc::new(crate::serve::request::connection(peer, local, tls));
    let svc = hyper::service::service_fn(move |req| {
        let app = handler_app.clone();
        let connection = connection.clone();
        async move { Ok::<_, Infallible>(super::handle(app, req, connection).await) }
    });
    let io = TokioIo::new(stream);
    let result = match protocol {
        Protocol::Http1 => {
            let mut conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(io, svc);
            match (&mut conn).await {
                Err(e) if e.is_timeout() => {
                    let parts = conn.into_parts();
                    if parts.read_buf.is_empty() {
                        tracing::debug!("connection from {peer} idle past header_timeout_ms");
                    } else {
                        answer_late_head(&app, parts.io.into_inner(), peer).await;
                    }
                    Ok(())
                }
                other => other,
            }
        }
        Protocol::Http2 => {
            hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(header_timeout))
                .keep_alive_timeout(header_timeout)
                .serve_connection(io, svc)
                .await
        }
    };
    if let Err(e) = result {
        tracing::debug!("connection from {peer}: {e}");
    }
}

/// How long the 408 may take to write, and how long the client's further
/// bytes are read and dropped after it (so that closing with unread bytes
/// does not reset the connection before the client read the answer).
const LATE_HEAD_LINGER: Duration = Duration::from_secs(1);

/// Answers a head that did not arrive within `header_timeout_ms`: `408` with
/// `Connection: close`, then closes. No policy ran and the origin saw nothing.
async fn answer_late_head<S: AsyncRead + AsyncWrite + Unpin>(
    app: &App,
    mut io: S,
    peer: SocketAddr,
) {
    app.metrics.request("", "timeout");
    let id = crate::serve::request::new_request_id();
    tracing::debug!("request head from {peer} timed out (request id {id})");
    let answer = late_head_answer(&id);
    let sent = async {
        io.write_all(&answer).await?;
        io.shutdown().await
    };
    if !matches!(
        tokio::time::timeout(LATE_HEAD_LINGER, sent).await,
        Ok(Ok(()))
    ) {
        return;
    }
    let mut sink = [0u8; 4096];
    let drain = async {
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match io.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LATE_HEAD_LINGER, drain).await;
}

/// The bytes of the 408 answer: the proxy's usual JSON body with the id.
fn late_head_answer(id: &str) -> Vec<u8> {
    let body = edgewaf_chain::answer_body("request header timed out", id);
    format!(
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n\
         cache-control: no-store\r\nx-request-id: {id}\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A stream whose first bytes were already read: they are read again first.
struct Prefixed<S> {
    prefix: Vec<u8>,
    pos: usize,
    inner: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.prefix.len() {
            let n = (this.prefix.len() - this.pos).min(buf.remaining());
            buf.put_slice(&this.prefix[this.pos..this.pos + n]);
            this.pos += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sniffed(bytes: &[u8]) -> io::Result<(Protocol, Vec<u8>)> {
        let mut rd = bytes;
        sniff(&mut rd).await
    }

    #[tokio::test]
    async fn the_preface_means_http2_and_anything_else_http1() {
        let mut h2 = H2_PREFACE.to_vec();
        h2.extend_from_slice(b"\x00\x00\x00\x04");
        let (p, read) = sniffed(&h2).await.unwrap();
        assert_eq!(p, Protocol::Http2);
        assert_eq!(read, H2_PREFACE, "no byte past the preface is consumed");

        let get = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let (p, read) = sniffed(get).await.unwrap();
        assert_eq!(p, Protocol::Http1);
        assert!(!read.is_empty() && get.starts_with(&read), "{read:?}");
        let pri = b"PRI * HTTP/1.1\r\n\r\n";
        let (p, read) = sniffed(pri).await.unwrap();
        assert_eq!((p, read.as_slice()), (Protocol::Http1, &pri[..]));
        assert!(
            sniffed(b"PRI * HTTP/2.0\r\n").await.is_err(),
            "closed early"
        );
        assert!(sniffed(b"").await.is_err());
    }

    #[tokio::test]
    async fn prefixed_reads_the_prefix_then_the_stream() {
        let mut io = Prefixed {
            prefix: b"GE".to_vec(),
            pos: 0,
            inner: &b"T /"[..],
        };
        let mut out = Vec::new();
        io.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"GET /");
    }
}
