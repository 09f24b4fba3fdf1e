//! What one proxied request costs, end to end in one process: a keep-alive
//! client sends a request to the proxy (`edgewaf serve`'s listener and
//! handler, the same `App` as the binary), the proxy runs the tenant's chain,
//! forwards to the built-in echo origin over its pooled connection, logs the
//! decision and answers. Criterion's figure is one round trip (client, proxy
//! and origin share the runtime's two worker threads, as on a 2-core node).
//!
//! Tenants:
//! - `bare`: no policy (the proxying, the request record, the decision log);
//! - `noop`: one no-op policy (the `hostile` component configured to allow):
//!   the difference to `bare` is what a policy call adds on the request path.
//!
//! `make guests && cargo bench -p edgewaf --bench request_path`.

use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Writes the config and the tenant files; the proxy's own listen address
/// is picked when binding.
fn write_config(dir: &Path, upstream: &str) -> PathBuf {
    let modules = repo().join("target/wasm32-wasip2/release");
    let policies = dir.join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    let tenant = |host: &str, chain: &str| {
        format!("hosts = [\"{host}\"]\nupstream = \"http://{upstream}\"\nmode = \"block\"\n{chain}")
    };
    std::fs::write(policies.join("bare.toml"), tenant("bare.localhost", "")).unwrap();
    let noop = "[[policy]]\nmodule = \"hostile\"\n[policy.config]\non_request = \"allow\"\n";
    std::fs::write(policies.join("noop.toml"), tenant("noop.localhost", noop)).unwrap();
    let cfg = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[admin]\nlisten = \"127.0.0.1:0\"\n\
         [policies]\ndir = \"policies\"\nmodules = [{modules:?}]\n\
         [log]\ndecisions = {decisions:?}\n[state]\ndir = {state:?}\nwatch = false\n",
        modules = modules.display().to_string(),
        decisions = dir.join("decisions.log").display().to_string(),
        state = dir.join("state").display().to_string(),
    );
    let path = dir.join("edgewaf.toml");
    std::fs::write(&path, cfg).unwrap();
    path
}

/// Starts the echo origin and the proxy; returns the proxy's address.
async fn start(dir: &Path) -> std::net::SocketAddr {
    let origin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = origin.local_addr().unwrap().to_string();
    tokio::spawn(edgewaf::serve::echo::serve(origin));
    let config = edgewaf::config::ServerConfig::load(&write_config(dir, &upstream)).unwrap();
    let app = edgewaf::app::App::start(config)
        .await
        .unwrap_or_else(|e| panic!("{e:#} (run `make guests` first)"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(edgewaf::serve::proxy::serve(app, listener));
    addr
}

type Http = Client<HttpConnector, Full<bytes::Bytes>>;

/// One GET with browser-like headers; the status.
async fn get(client: &Http, addr: std::net::SocketAddr, host: &str) -> u16 {
    let req = http::Request::get(format!("http://{addr}/products/42?color=blue&size=m"))
        .header("host", host)
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0",
        )
        .header("accept", "text/html,application/xhtml+xml")
        .header("accept-language", "en-GB,en;q=0.5")
        .header("cookie", "session=4f9c2a7d1e8b3c6a")
        .body(Full::default())
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    resp.into_body().collect().await.unwrap();
    status
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let addr = rt.block_on(start(dir.path()));
    let client: Http = Client::builder(TokioExecutor::new()).build_http();
    let mut g = c.benchmark_group("request-path");
    for (name, host) in [
        ("no policy GET", "bare.localhost"),
        ("no-op policy GET", "noop.localhost"),
    ] {
        assert_eq!(rt.block_on(get(&client, addr, host)), 200, "{name}");
        g.bench_function(name, |b| b.iter(|| rt.block_on(get(&client, addr, host))));
    }
    g.finish();
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(5));
    targets = benches
}
criterion_main!(group);
