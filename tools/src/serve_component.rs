//! `edgewaf-tools serve-component`: run a wasi:http component — a bundle made by
//! `edgewaf-tools bundle`, or any other `wasi:http/proxy` component — as an HTTP
//! service inside the edgewaf host, the way `wasmtime serve` or Spin would.
//!
//! Every request gets a fresh instance (wasi:http's model) under a memory limit
//! and a wall-clock deadline; a trap, a deadline or a guest that never answers
//! gives a 500 JSON answer and the server goes on.

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// How to run the component.
#[derive(Debug, Clone)]
pub struct Options {
    /// The component file.
    pub component: PathBuf,
    /// Environment variables the component sees (`KEY=VALUE`).
    pub env: Vec<(String, String)>,
    /// Read-only folders: (host path, guest path).
    pub dirs: Vec<(PathBuf, String)>,
    /// Linear memory per instance, MiB.
    pub memory_mib: u64,
    /// Wall-clock time per request, ms.
    pub deadline_ms: u64,
}

/// Parses `KEY=VALUE`.
pub fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

/// Parses `HOST::GUEST` (as `wasmtime serve --dir` does) or a bare `HOST`
/// mounted at the same path.
pub fn parse_dir(s: &str) -> Result<(PathBuf, String), String> {
    match s.split_once("::") {
        Some((h, g)) if !h.is_empty() && g.starts_with('/') => {
            Ok((PathBuf::from(h), g.to_string()))
        }
        Some(_) => Err(format!("{s:?} is not HOST::/GUEST")),
        None => Ok((PathBuf::from(s), s.to_string())),
    }
}

struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

/// A loaded component, ready to serve.
pub struct Server {
    pre: ProxyPre<RequestState>,
    opts: Options,
}

impl Server {
    /// Compiles and links the component; fails with a clear message when it is
    /// not a wasi:http component or imports something this host lacks.
    pub fn load(opts: Options) -> anyhow::Result<Arc<Server>> {
        for (host, guest) in &opts.dirs {
            if !host.is_dir() {
                anyhow::bail!("--dir {}::{guest}: not a folder", host.display());
            }
        }
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let bytes = std::fs::read(&opts.component)
            .with_context(|| format!("reading {}", opts.component.display()))?;
        let component = Component::new(&engine, &bytes).map_err(|e| {
            anyhow::anyhow!("{}: not a valid component: {e}", opts.component.display())
        })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        let pre = linker
            .instantiate_pre(&component)
            .and_then(ProxyPre::new)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: not a wasi:http component this host can run: {e:#}",
                    opts.component.display()
                )
            })?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("edgewaf-serve-epoch".into())
            .spawn(move || {
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .context("starting the epoch thread")?;
        Ok(Arc::new(Server { pre, opts }))
    }

    fn store(&self) -> anyhow::Result<Store<RequestState>> {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stderr().inherit_stdout();
        for (k, v) in &self.opts.env {
            wasi.env(k, v);
        }
        for (host, guest) in &self.opts.dirs {
            wasi.preopened_dir(host, guest, FsPerms::ReadOnly)
                .map_err(|e| anyhow::anyhow!("mounting {}: {e:#}", host.display()))?;
        }
        let limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(self.opts.memory_mib << 20).unwrap_or(usize::MAX))
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(
            self.pre.engine(),
            RequestState {
                wasi: wasi.build(),
                http: WasiHttpCtx::new(),
                table: ResourceTable::new(),
                limits,
            },
        );
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.opts.deadline_ms);
        store.epoch_deadline_trap();
        Ok(store)
    }

    async fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> anyhow::Result<hyper::Response<HyperOutgoingBody>> {
        call(&self.pre, self.store()?, req).await
    }
}

/// One request through a fresh instance of a wasi:http component in `store`:
/// returns the response head as soon as the guest sets it (the guest may go on
/// writing the body afterwards).
pub async fn call<T, B>(
    pre: &ProxyPre<T>,
    mut store: Store<T>,
    req: hyper::Request<B>,
) -> anyhow::Result<hyper::Response<HyperOutgoingBody>>
where
    T: WasiHttpView + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<wasmtime_wasi_http::Error>,
{
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let req = store
        .data_mut()
        .http()
        .new_incoming_request(Scheme::Http, req)?;
    let out = store.data_mut().http().new_response_outparam(sender)?;
    let pre = pre.clone();
    let task = tokio::spawn(async move {
        let proxy = pre.instantiate_async(&mut store).await?;
        proxy
            .wasi_http_incoming_handler()
            .call_handle(&mut store, req, out)
            .await
    });
    match receiver.await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(e)) => Err(anyhow::anyhow!(
            "the component answered with an error: {e:?}"
        )),
        Err(_) => {
            let e = match task.await {
                Ok(Ok(())) => anyhow::anyhow!("the component never set a response"),
                Ok(Err(e)) => anyhow::anyhow!("{e:#}"),
                Err(e) => e.into(),
            };
            Err(e.context("the component did not answer"))
        }
    }
}

fn error_response(id: &str) -> hyper::Response<HyperOutgoingBody> {
    let body = serde_json::json!({ "error": "component failed", "request_id": id }).to_string();
    let mut resp = hyper::Response::new(
        Full::new(Bytes::from(body))
            .map_err(
                |never: std::convert::Infallible| -> wasmtime_wasi_http::Error { match never {} },
            )
            .boxed_unsync(),
    );
    *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Serves HTTP/1.1 on `listener` until the task is dropped.
pub async fn serve(server: Arc<Server>, listener: tokio::net::TcpListener) {
    loop {
        let (conn, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let server = server.clone();
                async move {
                    let id = edgewaf::serve::request::new_request_id();
                    match server.handle(req).await {
                        Ok(resp) => Ok::<_, std::convert::Infallible>(resp),
                        Err(e) => {
                            tracing::warn!(request_id = %id, error = %format!("{e:#}"), "component request failed");
                            Ok(error_response(&id))
                        }
                    }
                }
            });
            if let Err(e) = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(conn), service)
                .await
            {
                tracing::debug!(peer = %peer, error = %e, "connection ended");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse() {
        assert_eq!(
            parse_env("EDGEWAF_ORIGIN=http://h:1/a=b").unwrap(),
            ("EDGEWAF_ORIGIN".into(), "http://h:1/a=b".into())
        );
        assert!(parse_env("=x").is_err());
        assert!(parse_env("novalue").is_err());
        assert_eq!(
            parse_dir("../crs::/crs").unwrap(),
            (PathBuf::from("../crs"), "/crs".into())
        );
        assert_eq!(
            parse_dir("/data").unwrap(),
            (PathBuf::from("/data"), "/data".into())
        );
        assert!(parse_dir("a::relative").is_err());
    }

    #[test]
    fn a_policy_component_is_refused_with_a_clear_error() {
        // Not a wasi:http component (an empty component exports no handler).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.wasm");
        std::fs::write(&path, wat::parse_str("(component)").unwrap()).unwrap();
        let opts = Options {
            component: path,
            env: vec![],
            dirs: vec![],
            memory_mib: 64,
            deadline_ms: 1000,
        };
        let e = Server::load(opts.clone()).err().unwrap().to_string();
        assert!(e.contains("not a wasi:http component"), "{e}");
        std::fs::write(&opts.component, b"not wasm").unwrap();
        let e = Server::load(opts).err().unwrap().to_string();
        assert!(e.contains("not a valid component"), "{e}");
    }
}
