//! Density: N tenants that all run the CRS (paranoia 1) in one process, through
//! the same loader the server uses (tenant TOML -> chain), with pre-initialised
//! snapshots (README "Snapshots").
//!
//! For each N in `DENSITY_N` (default `10,100,1000`), in a fresh runtime over one
//! state folder (`target/density-state`, so the snapshot made by the first run is
//! reused on disk by the next):
//! 1. load N tenants one after the other; print the time of the first (it builds
//!    or reads the snapshot) and the mean/max of the others;
//! 2. send a benign GET to every tenant (each must allow);
//! 3. send an SQLi GET and a benign GET to a random sample (deny / allow);
//! 4. print the process RSS after loading and after the requests.
//!
//! `make guests && cargo bench -p edgewaf --bench density` (needs the CRS in
//! `EDGEWAF_CRS_DIR` or the vendored `crs/v4.28.0`; not part of `make test`).
//! `DENSITY_FRESH=1` deletes the state folder first (measures the snapshot build).

use edgewaf::control::tenants::{Loader, Tenant};
use edgewaf::serve::runtime::{Action, Request, Runtime};
use edgewaf::serve::state::{MemoryState, StateBackend};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn crs_dir() -> PathBuf {
    std::env::var_os("EDGEWAF_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("crs/v4.28.0"))
        .canonicalize()
        .expect("the CRS release (EDGEWAF_CRS_DIR)")
}

/// A `kB` field of a /proc file, MiB.
fn proc_mib(file: &str, field: &str) -> f64 {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Memory of this process, MiB: `VmRSS` counts a page once per mapping, so the
/// snapshot image mapped by N instances counts N times; `Pss` counts each
/// physical page once; `RssAnon` is what instances wrote (private copies).
#[derive(Clone, Copy)]
struct Mem {
    rss: f64,
    pss: f64,
    anon: f64,
}

impl Mem {
    fn now() -> Mem {
        Mem {
            rss: proc_mib("/proc/self/status", "VmRSS:"),
            pss: proc_mib("/proc/self/smaps_rollup", "Pss:"),
            anon: proc_mib("/proc/self/status", "RssAnon:"),
        }
    }

    fn show(&self, base: &Mem, n: usize) -> String {
        let per = |a: f64, b: f64| (a - b) / n as f64;
        format!(
            "VmRSS {:.0} MiB ({:.2}/tenant), PSS {:.0} MiB ({:.2}/tenant), RssAnon {:.0} MiB ({:.2}/tenant)",
            self.rss,
            per(self.rss, base.rss),
            self.pss,
            per(self.pss, base.pss),
            self.anon,
            per(self.anon, base.anon)
        )
    }
}

fn tenant_text(i: usize, crs: &Path) -> String {
    format!(
        "hosts = [\"t{i}.example\"]\nupstream = \"http://127.0.0.1:9\"\n\
         [limits]\nmemory_mib = 256\ndeadline_ms = 2000\n\
         [[policy]]\nmodule = \"crs\"\nmounts = {{ \"/crs\" = {crs:?} }}\n\
         [policy.config]\nrules = [\"/crs/crs-setup.conf.example\", \"/crs/rules/*.conf\"]\n\
         paranoia_level = 1\ninbound_anomaly_threshold = 5\noutbound_anomaly_threshold = 4\n",
        crs = crs.display().to_string()
    )
}

fn request(i: usize, target: &str) -> Request {
    let host = format!("t{i}.example");
    let headers = [
        ("Host", host.as_str()),
        ("User-Agent", "Mozilla/5.0 (density bench)"),
        ("Accept", "text/html"),
    ];
    let mut r = edgewaf::serve::request::new_request(
        "GET",
        target,
        headers.iter().map(|(n, v)| (n, v.to_string())),
        Vec::new(),
    );
    r.tenant = format!("t{i}");
    r.connection.client_addr = "198.51.100.7".into();
    r
}

async fn verdict(t: &Tenant, target: &str, i: usize) -> bool {
    let v = t.chain[0]
        .on_request(&request(i, target))
        .await
        .unwrap_or_else(|e| panic!("tenant t{i}: {e}"));
    matches!(v.action, Action::Deny(_))
}

/// A small deterministic generator (no extra dependency).
fn pick(seed: &mut u64, n: usize) -> usize {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    (*seed % n as u64) as usize
}

/// Load times of tenants 2..N (the first one also built the snapshot).
fn print_load_times(n: usize, times: &[Duration], load: Duration) {
    let rest = &times[1..];
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    if !rest.is_empty() {
        let mean = rest.iter().map(ms).sum::<f64>() / rest.len() as f64;
        let mut sorted: Vec<f64> = rest.iter().map(ms).collect();
        sorted.sort_by(f64::total_cmp);
        println!(
            "N={n}: tenants 2..N load mean {mean:.2} ms, p99 {:.2} ms, max {:.2} ms; all {n} in {:.2} s",
            sorted[sorted.len() * 99 / 100],
            sorted[sorted.len() - 1],
            load.as_secs_f64()
        );
    }
}

/// Up to 50 tenants picked at random: SQLi denied, a benign GET allowed.
/// Returns how many were checked.
async fn check_sample(tenants: &[Tenant], n: usize) -> usize {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let sample = n.min(50);
    for _ in 0..sample {
        let i = pick(&mut seed, n);
        assert!(
            verdict(&tenants[i], "/item?id=1%27%20OR%20%271%27%3D%271", i).await,
            "t{i}: SQLi allowed"
        );
        assert!(
            !verdict(&tenants[i], "/products?page=3", i).await,
            "t{i}: benign denied"
        );
    }
    sample
}

async fn run(n: usize, state: &Path, crs: &Path) {
    let backend: Arc<dyn StateBackend> = Arc::new(MemoryState::new());
    let store = edgewaf::control::store::Store::new(state);
    let runtime = Runtime::with_cache(backend, Some(store)).unwrap();
    runtime.set_snapshot_min_init_ms(Some(0));
    let loader = Loader::new(
        runtime.clone(),
        vec![repo().join("target/wasm32-wasip2/release")],
    );
    let mem0 = Mem::now();
    let started = Instant::now();
    let mut tenants = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = Instant::now();
        let path = state.join(format!("t{i}.toml"));
        let t = loader
            .load_text(&format!("t{i}"), &path, &tenant_text(i, crs))
            .await
            .unwrap_or_else(|e| panic!("t{i}: {e}"));
        times.push(t0.elapsed());
        tenants.push(t);
        if i == 0 {
            // The first load starts the snapshot build; wait for it so that the
            // others start from it (as they would once it is on disk).
            let t0 = Instant::now();
            while runtime.snapshots().is_empty() && t0.elapsed() < Duration::from_secs(300) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            println!(
                "N={n}: first tenant {:.0} ms, its snapshot ready {:.0} ms later",
                times[0].as_secs_f64() * 1e3,
                t0.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    let load = started.elapsed();
    let loaded = Mem::now();
    print_load_times(n, &times, load);
    let t0 = Instant::now();
    for (i, t) in tenants.iter().enumerate() {
        assert!(
            !verdict(t, "/products?page=2&sort=price", i).await,
            "t{i}: benign GET denied"
        );
    }
    let first_requests = t0.elapsed();
    let served = Mem::now();
    let sample = check_sample(&tenants, n).await;
    println!(
        "N={n}: benign GET to every tenant: {:.2} ms mean (first request of each); \
         {sample} random tenants: SQLi 403, benign 200 - all verdicts right",
        first_requests.as_secs_f64() * 1e3 / n as f64
    );
    println!("N={n}: loaded: {}", loaded.show(&mem0, n));
    println!("N={n}: after a request to each: {}", served.show(&mem0, n));
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let crs = crs_dir();
    let state = repo().join("target/density-state");
    if std::env::var_os("DENSITY_FRESH").is_some() {
        let _ = std::fs::remove_dir_all(&state);
    }
    std::fs::create_dir_all(&state).unwrap();
    let ns: Vec<usize> = std::env::var("DENSITY_N")
        .unwrap_or_else(|_| "10,100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for n in ns {
        // One process per N would be cleaner for RSS; here each N gets a fresh
        // runtime and the previous one is dropped first.
        rt.block_on(run(n, &state, &crs));
    }
}
