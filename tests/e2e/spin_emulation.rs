//! The Spin flavour of a bundle (`edgewaf-tools bundle --platform spin`), run
//! in-process by wasmtime with stand-ins for the two Spin interfaces it imports
//! — `fermyon:spin/key-value@2.0.0` (one store shared by every instance, as
//! Spin's) and `fermyon:spin/variables@2.0.0` — and a fresh instance per
//! request, as Spin makes. Spin itself cannot be installed here; this checks
//! what the Spin provider does with those interfaces: the origin from a
//! variable (and a path prefix from `origin_path`), the client address from
//! `spin-client-addr`, rate-limit counters that survive from one instance to
//! the next, and runtime IP lists read from the store.

use crate::support::*;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// An open key-value store (one label: "default").
pub struct KvStore;

mod spin {
    wasmtime::component::bindgen!({
        inline: r#"
            package fermyon:spin@2.0.0;

            interface key-value {
                resource store {
                    open: static func(label: string) -> result<store, error>;
                    get: func(key: string) -> result<option<list<u8>>, error>;
                    set: func(key: string, value: list<u8>) -> result<_, error>;
                    delete: func(key: string) -> result<_, error>;
                    exists: func(key: string) -> result<bool, error>;
                    get-keys: func() -> result<list<string>, error>;
                }
                variant error { store-table-full, no-such-store, access-denied, other(string) }
            }

            interface variables {
                get: func(name: string) -> result<string, error>;
                variant error { invalid-name(string), undefined(string), provider(string), other(string) }
            }

            world spin-host {
                import key-value;
                import variables;
            }
        "#,
        with: { "fermyon:spin/key-value.store": super::KvStore },
    });
}

use spin::fermyon::spin::{key_value, variables};

type Kv = Arc<Mutex<HashMap<String, Vec<u8>>>>;

struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    kv: Kv,
    vars: HashMap<String, String>,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

impl key_value::Host for State {}

impl key_value::HostStore for State {
    fn open(&mut self, label: String) -> Result<Resource<KvStore>, key_value::Error> {
        if label != "default" {
            return Err(key_value::Error::NoSuchStore);
        }
        self.table
            .push(KvStore)
            .map_err(|e| key_value::Error::Other(e.to_string()))
    }
    fn get(
        &mut self,
        _: Resource<KvStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, key_value::Error> {
        Ok(self.kv.lock().unwrap().get(&key).cloned())
    }
    fn set(
        &mut self,
        _: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), key_value::Error> {
        self.kv.lock().unwrap().insert(key, value);
        Ok(())
    }
    fn delete(&mut self, _: Resource<KvStore>, key: String) -> Result<(), key_value::Error> {
        self.kv.lock().unwrap().remove(&key);
        Ok(())
    }
    fn exists(&mut self, _: Resource<KvStore>, key: String) -> Result<bool, key_value::Error> {
        Ok(self.kv.lock().unwrap().contains_key(&key))
    }
    fn get_keys(&mut self, _: Resource<KvStore>) -> Result<Vec<String>, key_value::Error> {
        Ok(self.kv.lock().unwrap().keys().cloned().collect())
    }
    fn drop(&mut self, store: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl variables::Host for State {
    fn get(&mut self, name: String) -> Result<String, variables::Error> {
        self.vars
            .get(&name)
            .cloned()
            .ok_or(variables::Error::Undefined(name))
    }
}

/// A Spin-like runtime for one component: shared store, variables, an instance
/// per request.
struct MiniSpin {
    pre: ProxyPre<State>,
    kv: Kv,
    vars: HashMap<String, String>,
    /// What the instances wrote to stderr (Spin's component log).
    stderr: MemoryOutputPipe,
}

impl MiniSpin {
    fn load(path: &std::path::Path, vars: &[(&str, &str)]) -> MiniSpin {
        let engine = Engine::default();
        let component = Component::from_file(&engine, path).unwrap();
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).unwrap();
        spin::SpinHost::add_to_linker::<_, HasSelf<State>>(&mut linker, |s| s).unwrap();
        let pre = ProxyPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
        MiniSpin::with_pre(pre, vars)
    }

    /// The same component with other variables and an empty store.
    fn with_vars(&self, vars: &[(&str, &str)]) -> MiniSpin {
        MiniSpin::with_pre(self.pre.clone(), vars)
    }

    fn with_pre(pre: ProxyPre<State>, vars: &[(&str, &str)]) -> MiniSpin {
        MiniSpin {
            pre,
            kv: Kv::default(),
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stderr: MemoryOutputPipe::new(1 << 20),
        }
    }

    /// Sends a GET with the given headers; returns status and body.
    async fn get(&self, target: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let store = Store::new(
            self.pre.engine(),
            State {
                wasi: WasiCtx::builder().stderr(self.stderr.clone()).build(),
                http: WasiHttpCtx::new(),
                table: ResourceTable::new(),
                kv: self.kv.clone(),
                vars: self.vars.clone(),
            },
        );
        let mut req = hyper::Request::builder()
            .method("GET")
            .uri(format!("http://edge.example{target}"));
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        let body = Full::new(Bytes::new()).map_err(
            |never: std::convert::Infallible| -> wasmtime_wasi_http::Error { match never {} },
        );
        let req = req.body(body).unwrap();
        let resp = edgewaf_tools::serve_component::call(&self.pre, store, req)
            .await
            .expect("the component answered");
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

/// Bundles ip-filter, rate-limit (3 per IP a minute) and signatures for
/// Spin, into `dir`.
fn spin_bundle(dir: &std::path::Path) -> std::path::PathBuf {
    // The tenant's upstream points at nothing: only the `origin` variable
    // can bring requests to the echo origin.
    let tenant = dir.join("edge.toml");
    std::fs::write(
        &tenant,
        "hosts = [\"edge.example\"]\nupstream = \"http://127.0.0.1:9\"\n\
         [[policy]]\nmodule = \"ip-filter\"\n[policy.config]\nlists = [\"blocklist\"]\n\
         [[policy]]\nmodule = \"rate-limit\"\n[[policy.config.rules]]\nname = \"per-ip\"\nkey = \"ip\"\nlimit = 3\nwindow_secs = 60\n\
         [[policy]]\nmodule = \"signatures\"\n",
    )
    .unwrap();
    let out = dir.join("edge-spin.wasm");
    let o = edgewaf_tools()
        .arg("bundle")
        .args(["--platform", "spin"])
        .arg("--policy")
        .arg(module("ip-filter"))
        .arg("--policy")
        .arg(module("rate-limit"))
        .arg("--policy")
        .arg(module("signatures"))
        .arg("--config")
        .arg(&tenant)
        .arg("-o")
        .arg(&out)
        .env("EDGEWAF_BUNDLE_PARTS", modules_dir())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// Counters and runtime lists live in Spin's key-value store, shared by the
/// instances every request gets.
async fn state_lives_in_spins_store(spin: &MiniSpin) {
    let client = |ip: &'static str| [("spin-client-addr", ip)];

    // Benign traffic reaches the origin named by the variable.
    let (status, body) = spin
        .get("/products?page=2", &client("203.0.113.7:4000"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"target\":\"/products?page=2\""), "{body}");

    // Every request is a new instance; the limit of 3 per IP still holds,
    // because the counters live in the shared store.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(spin.get("/", &client("203.0.113.7:4000")).await.0);
    }
    assert_eq!(statuses, [200, 200, 429], "4 requests from one IP, limit 3");
    assert!(
        spin.kv
            .lock()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("edgewaf:")),
        "counters are in Spin's store"
    );
    // Another client is counted apart.
    assert_eq!(spin.get("/", &client("198.51.100.1:4000")).await.0, 200);

    // A runtime list entry written to the store blocks that range.
    assert_eq!(spin.get("/", &client("192.0.2.9:4000")).await.0, 200);
    spin.kv.lock().unwrap().insert(
        "edgewaf:list:blocklist".into(),
        b"# incident 42\n192.0.2.0/24\n".to_vec(),
    );
    let (status, body) = spin.get("/", &client("192.0.2.9:4000")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(spin.get("/", &client("198.51.100.1:4000")).await.0, 200);

    // Attacks are blocked as everywhere else.
    let (status, _) = spin
        .get(
            "/item?id=1%27%20OR%20%271%27%3D%271",
            &client("198.51.100.2:4000"),
        )
        .await;
    assert_eq!(status, 403);
}

/// A path prefix for the origin has a variable of its own, `origin_path`:
/// spin.toml also gives `origin` to allowed_outbound_hosts, which takes no
/// path (Spin 4.0.2 refuses every outbound call when that entry has one).
async fn origin_path_is_its_own_variable(spin: &MiniSpin, origin: &str) {
    let prefixed = spin.with_vars(&[("origin", origin), ("origin_path", "/shop")]);
    let with_path = spin.with_vars(&[("origin", &format!("{origin}/shop"))]);
    let client = [("spin-client-addr", "203.0.113.20:4000")];
    let (status, body) = prefixed.get("/products?page=2", &client).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"target\":\"/shop/products?page=2\""),
        "{body}"
    );
    // This stand-in does not enforce allowed_outbound_hosts (Spin would
    // refuse the call); what matters is that the component log says why.
    with_path.get("/", &client).await;
    let log = String::from_utf8_lossy(&with_path.stderr.contents()).into_owned();
    assert!(
        log.contains("has a path") && log.contains("origin_path = \\\"/shop\\\""),
        "{log}"
    );
}

#[test]
fn spin_bundle_keeps_state_in_spins_store_and_reads_spins_variables() {
    let dir = tempfile::tempdir().unwrap();
    let echo = Echo::start();
    let out = spin_bundle(dir.path());
    let origin = format!("http://{}", echo.addr);
    let spin = MiniSpin::load(&out, &[("origin", &origin)]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(state_lives_in_spins_store(&spin));
    rt.block_on(origin_path_is_its_own_variable(&spin, &origin));
}
