//! `edgewaf-tools crs-test`: the OWASP CRS regression suite (go-ftw YAML) driven
//! through the same CRS policy component the proxy runs, inside the Wasm
//! sandbox, with CRS's own test setup (paranoia 4, detection only).
//!
//! Each test request goes through an emulation of the proxy's HTTP layer
//! (`edgewaf_ftw::http`: what a strict HTTP/1.1 front end refuses with 400,
//! body framing), then `on-request`; allowed requests get the response of
//! CRS's test backend (albedo's `/reflect`) and go through `on-response`.
//! Tests are judged by the rule ids the policy reported.
//!
//! Tests that give their request as raw bytes (`encoded_request`) go through
//! the real proxy instead: an in-process edgewaf with one tenant running the
//! same component, in front of the built-in echo origin; their rule ids come
//! from the decision events.

use anyhow::{Context as _, bail};
use edgewaf::serve::runtime::{
    Action, Header, Limits, PolicyPool, PolicySpec, Request, Response, Runtime,
};
use edgewaf::serve::state::{MemoryState, StateBackend};
use edgewaf_ftw::http::{log_line, prepare, reflect};
use edgewaf_ftw::{FtwRequest, Outcome, Overrides, Summary};
use std::path::Path;
use std::sync::Arc;

/// What to run.
pub struct Options<'a> {
    /// The CRS release folder (with `rules/`, `crs-setup.conf.example`, `tests/`).
    pub crs: &'a Path,
    /// The CRS policy component.
    pub module: &'a Path,
    /// Overrides file (tests/crs-overrides.yaml).
    pub overrides: Option<&'a Path>,
    /// Only test files whose path contains this.
    pub filter: Option<&'a str>,
}

/// Loads the component with the CRS mounted at `/crs` and runs every test.
pub async fn run(
    opts: Options<'_>,
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<Summary> {
    for needed in ["rules", "tests/tests", "crs-setup.conf.example"] {
        if !opts.crs.join(needed).exists() {
            bail!(
                "{} has no {needed}: give a CRS v4 release folder with --crs",
                opts.crs.display()
            );
        }
    }
    let state: Arc<dyn StateBackend> = Arc::new(MemoryState::new());
    let runtime = Runtime::new(state)?;
    let bytes =
        std::fs::read(opts.module).with_context(|| format!("reading {}", opts.module.display()))?;
    let (_, component) = runtime.compile(&bytes)?;
    let config = edgewaf_ftw::crs_test_config(&[
        "/crs/crs-setup.conf.example".into(),
        "/crs/rules/*.conf".into(),
    ]);
    let started = std::time::Instant::now();
    let pool = runtime
        .load_policy(PolicySpec {
            tenant: "crs-test".into(),
            name: "crs".into(),
            component,
            config_json: config.to_string(),
            mounts: vec![(opts.crs.to_path_buf(), "/crs".into())],
            limits: Limits {
                memory_mib: 1024,
                deadline_ms: 10_000,
                init_deadline_ms: 120_000,
                max_instances: 1,
            },
            source: None,
        })
        .await?;
    eprintln!("loaded the CRS component in {:.2?}", started.elapsed());
    let overrides = match opts.overrides {
        Some(p) => Overrides::load(p).map_err(|e| anyhow::anyhow!(e))?,
        None => Overrides::default(),
    };
    let mut files =
        edgewaf_ftw::load_dir(&opts.crs.join("tests/tests")).map_err(|e| anyhow::anyhow!(e))?;
    if let Some(f) = opts.filter {
        files.retain(|x| x.path.to_string_lossy().contains(f));
    }
    let proxy = RealProxy::start(opts.crs, opts.module, &config).await?;
    let handle = tokio::runtime::Handle::current();
    let mut n = 0u64;
    let started = std::time::Instant::now();
    let summary = tokio::task::block_in_place(|| {
        edgewaf_ftw::run(
            &files,
            &overrides,
            |r| match &r.encoded_request {
                Some(raw) => {
                    n += 1;
                    handle.block_on(proxy.send(raw))
                }
                None => handle.block_on(send(&pool, r, &mut n)),
            },
            out,
        )
    });
    proxy.stop();
    let total = summary.passed + summary.failed;
    eprintln!(
        "pass rate {:.2}% ({n} requests in {:.1?}, {} overrides)",
        100.0 * summary.passed as f64 / total.max(1) as f64,
        started.elapsed(),
        overrides.count()
    );
    Ok(summary)
}

fn record(r: &FtwRequest, n: u64) -> Request {
    let mut req = edgewaf::serve::request::new_request(
        &r.method,
        &r.uri,
        r.headers.iter().map(|(k, v)| (k, v)),
        r.body.clone(),
    );
    req.id = format!("ftw-{n}");
    req.tenant = "crs-test".into();
    req.version = r.version.clone();
    req.connection.client_port = 40000;
    req.connection.server_port = 80;
    req
}

/// One test request: HTTP layer, on-request, backend, on-response.
async fn send(pool: &PolicyPool, r: &FtwRequest, n: &mut u64) -> Outcome {
    *n += 1;
    let r = &match prepare(r) {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
    let req = record(r, *n);
    let mut ids = Vec::new();
    let mut lines = Vec::new();
    let v = match pool.on_request(&req).await {
        Ok(v) => v,
        Err(e) => {
            lines.push(format!("policy error: {e}"));
            return Outcome {
                status: Some(500),
                logged_rule_ids: ids,
                log_lines: lines,
            };
        }
    };
    note(&v, &mut ids, &mut lines);
    let status = match &v.action {
        Action::Deny(d) => Some(d.status),
        Action::Redirect(_) => Some(302),
        Action::Fail(_) => Some(500),
        Action::Allow => {
            let rf = reflect(r);
            let resp = Response {
                status: rf.status,
                headers: rf
                    .headers
                    .iter()
                    .map(|(k, v)| Header {
                        name: k.to_ascii_lowercase(),
                        value: v.as_bytes().to_vec(),
                    })
                    .collect(),
                body: rf.body,
                body_truncated: false,
            };
            match pool.on_response(&req, &resp).await {
                Ok(rv) => {
                    note(&rv, &mut ids, &mut lines);
                    match &rv.action {
                        Action::Deny(d) => Some(d.status),
                        _ => Some(resp.status),
                    }
                }
                Err(e) => {
                    lines.push(format!("policy error: {e}"));
                    Some(500)
                }
            }
        }
    };
    Outcome {
        status,
        logged_rule_ids: ids,
        log_lines: lines,
    }
}

fn note(v: &edgewaf::serve::runtime::Verdict, ids: &mut Vec<u32>, lines: &mut Vec<String>) {
    for f in &v.findings {
        if let Ok(id) = f.rule_id.parse::<u32>() {
            ids.push(id);
        }
        lines.push(log_line(&f.rule_id, &f.message, &f.data, &f.tags));
    }
}

/// An in-process edgewaf (proxy and echo origin on 127.0.0.1) with one tenant
/// running the CRS component in detect mode, for the raw-bytes tests.
struct RealProxy {
    app: Arc<edgewaf::app::App>,
    addr: std::net::SocketAddr,
    dir: std::path::PathBuf,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RealProxy {
    async fn start(
        crs: &Path,
        module: &Path,
        policy_config: &serde_json::Value,
    ) -> anyhow::Result<RealProxy> {
        let dir = std::env::temp_dir().join(format!("edgewaf-crs-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("policies"))?;
        let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let echo_addr = echo.local_addr()?;
        let abs = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        // No snapshot: the run is over (and this folder gone) before one
        // would be ready, and building it takes seconds of CPU from the run.
        let tenant = format!(
            "hosts = [\"localhost\"]\nupstream = \"http://{echo_addr}\"\nmode = \"detect\"\nbody_limit = 1048576\n\
             [limits]\nmemory_mib = 1024\ndeadline_ms = 10000\ninit_deadline_ms = 120000\n\
             [[policy]]\nname = \"crs\"\npath = {:?}\nsnapshot = false\nmounts = {{ \"/crs\" = {:?} }}\n[policy.config]\n{}",
            abs(module).display().to_string(),
            abs(crs).display().to_string(),
            toml::to_string(policy_config)?,
        );
        std::fs::write(dir.join("policies/crs.toml"), tenant)?;
        std::fs::write(
            dir.join("edgewaf.toml"),
            "[policies]\ndir = \"policies\"\ndefault_tenant = \"crs\"\n[log]\ndecisions = \"decisions.log\"\n[state]\nwatch = false\n",
        )?;
        let config = edgewaf::config::ServerConfig::load(&dir.join("edgewaf.toml"))?;
        let app = edgewaf::app::App::start(config).await?;
        if app.registry.snapshot().get("crs").is_none() {
            bail!("the CRS tenant of the real-proxy tests did not load (see the log above)");
        }
        let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = proxy.local_addr()?;
        let tasks = vec![
            tokio::spawn(edgewaf::serve::echo::serve(echo)),
            tokio::spawn(edgewaf::serve::proxy::serve(app.clone(), proxy)),
        ];
        Ok(RealProxy {
            app,
            addr,
            dir,
            tasks,
        })
    }

    /// Sends raw bytes, reads one response, and collects the rules the
    /// decision event names.
    async fn send(&self, raw: &[u8]) -> Outcome {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let failed = Outcome {
            status: None,
            logged_rule_ids: Vec::new(),
            log_lines: Vec::new(),
        };
        let Ok(mut stream) = tokio::net::TcpStream::connect(self.addr).await else {
            return failed;
        };
        if stream.write_all(raw).await.is_err() {
            return failed;
        }
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let deadline = std::time::Duration::from_secs(10);
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match tokio::time::timeout(deadline, stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => return failed,
            }
        };
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        let Ok(httparse::Status::Complete(_)) = resp.parse(&buf[..head_end]) else {
            return failed;
        };
        let status = resp.code;
        let id = resp
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("x-request-id"))
            .map(|h| String::from_utf8_lossy(h.value).into_owned());
        let mut ids = Vec::new();
        let mut lines = Vec::new();
        if let Some(id) = id
            && let Some(event) = self
                .app
                .events
                .recent(64, None)
                .into_iter()
                .find(|e| e.request_id == id)
        {
            for f in &event.findings {
                if let Ok(n) = f.rule_id.parse::<u32>() {
                    ids.push(n);
                }
                lines.push(log_line(&f.rule_id, &f.message, &f.data, &f.tags));
            }
        }
        Outcome {
            status,
            logged_rule_ids: ids,
            log_lines: lines,
        }
    }

    fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.app.stop_watching();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
