//! `edgewaf-tools bundle`: one self-contained wasi:http component from a tenant's
//! policy components, for Spin and any other wasi:http runtime.
//!
//! Nothing is recompiled. The bundle is a component composition (wac-graph) of
//!
//! - a platform provider (`edge_platform.wasm` for any wasi:http runtime,
//!   `edge_platform_spin.wasm` for Spin), which exports the `edgewaf:policy/host`
//!   functions the policies import;
//! - the policy components, each instantiated with that provider;
//! - a small generated component exporting the tenant's settings as JSON;
//! - the adapter (`edge_adapter.wasm`), which exports the wasi:http incoming
//!   handler and calls the policies through its `slot0`..`slot7` imports.
//!
//! Everything else the parts import (wasi:http, clocks, random, stderr,
//! filesystem for mounted rule files...) becomes an import of the bundle, for
//! the runtime to provide.
//!
//! By default each policy goes in as a pre-initialised snapshot
//! ([`edgewaf::serve::runtime::snapshot`]): its `init` runs here, with its config and
//! its mounts, and the bundle carries the initialised memory. Runtimes that
//! create an instance per request (`wasmtime serve`, Spin) then skip the
//! policy's load (the CRS: 0.3 s), and mounted rule files are no longer read
//! at run time. `--no-snapshot` bundles the components as they are.

use anyhow::{Context as _, bail};
use edgewaf::config::{Mode, OnError, ServerConfig, TenantConfig};
use edgewaf_chain::{PolicySettings, Settings};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wac_graph::types::Package;
use wac_graph::{CompositionGraph, EncodeOptions, NodeId, PackageId};

/// The most policies one bundle chains (the adapter's `slot` imports).
pub use edgewaf_chain::MAX_POLICIES;

const HOST: &str = "edgewaf:policy/host@0.2.0";
const TYPES: &str = "edgewaf:policy/types@0.2.0";
const FILTER: &str = "edgewaf:policy/filter@0.2.0";
const CONFIG: &str = "edgewaf:bundle/config@0.1.0";
const PLATFORM: &str = "edgewaf:bundle/platform@0.1.0";
const HANDLER_PREFIX: &str = "wasi:http/incoming-handler@";

/// Which platform provider the bundle gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// Any wasi:http runtime: in-memory state, settings from `EDGEWAF_*` variables.
    Wasi,
    /// Spin: key-value store `default`, settings from Spin variables.
    Spin,
}

impl Platform {
    fn part(self) -> &'static str {
        match self {
            Platform::Wasi => "edge_platform.wasm",
            Platform::Spin => "edge_platform_spin.wasm",
        }
    }
}

/// What to bundle.
#[derive(Debug, Clone)]
pub struct Options {
    /// Policy components (`--policy`).
    pub policies: Vec<PathBuf>,
    /// The tenant file (`--config`).
    pub config: PathBuf,
    /// Where the bundle goes (`-o`).
    pub output: PathBuf,
    /// The platform provider.
    pub platform: Platform,
    /// The folder holding `edge_adapter.wasm` and the platform providers.
    pub parts: PathBuf,
    /// Bundle each policy as a snapshot taken after its `init` (default).
    pub snapshot: bool,
}

/// What went into a bundle.
#[derive(Debug, Clone)]
pub struct Report {
    /// Policy names in chain order.
    pub chain: Vec<String>,
    /// Folders the runtime must mount: guest path -> host path (none when the
    /// policies were snapshotted: they read their files at bundle time).
    pub mounts: BTreeMap<String, PathBuf>,
    /// Per policy in chain order: how long its `init` took at bundle time, ms
    /// (empty without snapshots).
    pub snapshot_init_ms: Vec<u64>,
    /// Size of the bundle.
    pub bytes: usize,
    /// The wasi:http incoming-handler the bundle exports.
    pub handler: String,
}

/// The folder of bundle parts next to this executable when it runs from a build
/// tree (`target/release/edgewaf` -> `target/wasm32-wasip2/release`), else the
/// same path under the current directory.
pub fn default_parts_dir() -> PathBuf {
    let rel = Path::new("wasm32-wasip2").join("release");
    if let Ok(exe) = std::env::current_exe()
        && let Some(target) = exe.parent().and_then(Path::parent)
    {
        let dir = target.join(&rel);
        if dir.join("edge_adapter.wasm").is_file() {
            return dir;
        }
    }
    Path::new("target").join(rel)
}

fn norm(name: &str) -> String {
    name.replace('-', "_")
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One policy of the chain, ready to compose.
struct ChainEntry {
    name: String,
    file: PathBuf,
    config_json: String,
}

/// Pairs the tenant file's `[[policy]]` entries with the `--policy` files (by
/// module name or file stem, `-` and `_` alike). A tenant file without
/// `[[policy]]` entries chains the files in the order given, each with `{}`.
fn chain(
    tenant: &TenantConfig,
    files: &[PathBuf],
    tenant_dir: &Path,
) -> anyhow::Result<(Vec<ChainEntry>, BTreeMap<String, PathBuf>)> {
    if files.is_empty() {
        bail!("give at least one --policy component");
    }
    let mut mounts = BTreeMap::new();
    if tenant.policies.is_empty() {
        let entries = files
            .iter()
            .map(|f| ChainEntry {
                name: stem(f),
                file: f.clone(),
                config_json: "{}".into(),
            })
            .collect();
        return Ok((entries, mounts));
    }
    let mut used = vec![false; files.len()];
    let mut entries = Vec::new();
    for (i, p) in tenant.policies.iter().enumerate() {
        let key = match (&p.module, &p.path) {
            (Some(m), _) => m.clone(),
            (None, Some(path)) => stem(path),
            (None, None) => bail!("[[policy]] #{} names neither `module` nor `path`", i + 1),
        };
        let Some(k) = files.iter().position(|f| norm(&stem(f)) == norm(&key)) else {
            let given: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            bail!(
                "[[policy]] #{} ({key:?}) has no --policy file named {}.wasm (given: {})",
                i + 1,
                norm(&key),
                given.join(", ")
            );
        };
        used[k] = true;
        for (guest, host) in &p.mounts {
            let host = if host.is_absolute() {
                host.clone()
            } else {
                tenant_dir.join(host)
            };
            if let Some(other) = mounts.insert(guest.clone(), host.clone())
                && other != host
            {
                bail!(
                    "mount {guest:?} is {} in one policy and {} in another: one bundle has one filesystem",
                    other.display(),
                    host.display()
                );
            }
        }
        entries.push(ChainEntry {
            name: p.display_name(),
            file: files[k].clone(),
            config_json: serde_json::to_string(&p.config).context("policy config")?,
        });
    }
    if let Some(k) = used.iter().position(|u| !u) {
        bail!(
            "--policy {} is not in the chain of the tenant file (no [[policy]] with module {:?})",
            files[k].display(),
            stem(&files[k])
        );
    }
    Ok((entries, mounts))
}

/// The adapter's settings for this tenant (the type the adapter reads),
/// checked as the adapter will check them.
fn settings(
    tenant_name: &str,
    tenant: &TenantConfig,
    chain: &[ChainEntry],
) -> anyhow::Result<Settings> {
    let s = Settings {
        tenant: tenant_name.to_string(),
        upstream: tenant.upstream.clone(),
        mode: match tenant.mode {
            Mode::Block => edgewaf_chain::Mode::Block,
            Mode::Detect => edgewaf_chain::Mode::Detect,
        },
        deny_status: tenant.deny_status,
        on_error: match tenant.on_error {
            OnError::Deny => edgewaf_chain::OnError::Deny,
            OnError::Allow => edgewaf_chain::OnError::Allow,
        },
        body_limit: tenant.body_limit,
        response_body_limit: tenant.response_body_limit,
        max_body: ServerConfig::default().server.max_request_body,
        policies: chain
            .iter()
            .map(|c| PolicySettings {
                name: c.name.clone(),
                config: c.config_json.clone(),
            })
            .collect(),
    };
    s.check().map_err(anyhow::Error::msg)?;
    Ok(s)
}

/// A component exporting `edgewaf:bundle/config` whose `get` returns `text`:
/// the text sits in a data segment and `get` returns a pointer to its
/// (pointer, length) pair, which is how the canonical ABI returns a string.
pub fn settings_component(text: &str) -> anyhow::Result<Vec<u8>> {
    const DATA_AT: usize = 16;
    let pages = (DATA_AT + text.len()).div_ceil(65536).max(1);
    let mut header = Vec::with_capacity(8);
    header.extend_from_slice(&(DATA_AT as u32).to_le_bytes());
    header.extend_from_slice(&(text.len() as u32).to_le_bytes());
    let escape = |bytes: &[u8]| {
        let mut s = String::with_capacity(bytes.len() * 3);
        for b in bytes {
            s.push_str(&format!("\\{b:02x}"));
        }
        s
    };
    let wat = format!(
        r#"(component
  (core module $m
    (memory (export "memory") {pages})
    (data (i32.const 0) "{header}")
    (data (i32.const {DATA_AT}) "{text}")
    (func (export "get") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (func $get (result string) (canon lift (core func $i "get") (memory (core memory $i "memory"))))
  (instance $config (export "get" (func $get)))
  (export "{CONFIG}" (instance $config)))"#,
        header = escape(&header),
        text = escape(text.as_bytes()),
    );
    wat::parse_str(&wat).context("building the settings component")
}

fn register(
    g: &mut CompositionGraph,
    name: &str,
    bytes: Vec<u8>,
    what: &str,
) -> anyhow::Result<PackageId> {
    let pkg = Package::from_bytes(name, None, bytes, g.types_mut())
        .with_context(|| format!("{what}: not a WebAssembly component"))?;
    g.register_package(pkg)
        .with_context(|| format!("registering {what}"))
}

fn imports_of(g: &CompositionGraph, pkg: PackageId) -> Vec<String> {
    let world = g[pkg].ty();
    g.types()[world].imports.keys().cloned().collect()
}

fn exports_of(g: &CompositionGraph, pkg: PackageId) -> Vec<String> {
    let world = g[pkg].ty();
    g.types()[world].exports.keys().cloned().collect()
}

fn wire(
    g: &mut CompositionGraph,
    inst: NodeId,
    import: &str,
    from: NodeId,
    what: &str,
) -> anyhow::Result<()> {
    g.set_instantiation_argument(inst, import, from)
        .map_err(|e| anyhow::anyhow!("{what}: import {import}: {e}"))
}

/// Instantiates policy `i` of the chain with the platform's `host` and `types`
/// and returns its `filter` export.
fn add_policy(
    g: &mut CompositionGraph,
    i: usize,
    name: &str,
    bytes: Vec<u8>,
    host: NodeId,
    types: NodeId,
) -> anyhow::Result<NodeId> {
    let what = format!("policy {name:?}");
    let pkg = register(g, &format!("edgewaf:policy{i}"), bytes, &what)?;
    if !exports_of(g, pkg).iter().any(|e| e == FILTER) {
        bail!("{what} does not export {FILTER}: it is not an edgewaf policy component");
    }
    let imports = imports_of(g, pkg);
    let inst = g.instantiate(pkg);
    for import in &imports {
        match import.as_str() {
            HOST => wire(g, inst, HOST, host, &what)?,
            TYPES => wire(g, inst, TYPES, types, &what)?,
            other if other.starts_with("edgewaf:") => {
                bail!("{what} imports {other}, which a bundle does not provide")
            }
            // wasi and other platform interfaces: imports of the bundle.
            _ => {}
        }
    }
    g.alias_instance_export(inst, FILTER)
        .with_context(|| format!("{what}: its filter export"))
}

/// Composes the parts; `policies` are (display name, component bytes) in chain order.
pub fn compose(
    adapter: Vec<u8>,
    platform: Vec<u8>,
    settings: Vec<u8>,
    policies: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<(Vec<u8>, String)> {
    if policies.is_empty() || policies.len() > MAX_POLICIES {
        bail!(
            "a bundle chains 1 to {MAX_POLICIES} policies, not {}",
            policies.len()
        );
    }
    let mut g = CompositionGraph::new();
    let platform_pkg = register(
        &mut g,
        "edgewaf:platform",
        platform,
        "the platform provider",
    )?;
    let settings_pkg = register(
        &mut g,
        "edgewaf:settings",
        settings,
        "the settings component",
    )?;
    let adapter_pkg = register(&mut g, "edgewaf:adapter", adapter, "the adapter")?;

    let platform = g.instantiate(platform_pkg);
    let host = g
        .alias_instance_export(platform, HOST)
        .context("the platform provider exports no edgewaf:policy/host")?;
    let types = g
        .alias_instance_export(platform, TYPES)
        .context("the platform provider exports no edgewaf:policy/types")?;
    let settings = g.instantiate(settings_pkg);
    let config = g.alias_instance_export(settings, CONFIG)?;

    let mut filters = Vec::new();
    for (i, (name, bytes)) in policies.into_iter().enumerate() {
        filters.push(add_policy(&mut g, i, &name, bytes, host, types)?);
    }

    let adapter_imports = imports_of(&g, adapter_pkg);
    let handler = exports_of(&g, adapter_pkg)
        .into_iter()
        .find(|e| e.starts_with(HANDLER_PREFIX))
        .context("the adapter exports no wasi:http incoming-handler")?;
    let adapter = g.instantiate(adapter_pkg);
    let platform_iface = g.alias_instance_export(platform, PLATFORM)?;
    for import in &adapter_imports {
        match import.as_str() {
            TYPES => wire(&mut g, adapter, TYPES, types, "the adapter")?,
            CONFIG => wire(&mut g, adapter, CONFIG, config, "the adapter")?,
            PLATFORM => wire(&mut g, adapter, PLATFORM, platform_iface, "the adapter")?,
            slot if slot.starts_with("slot") => {
                let k: usize = slot[4..]
                    .parse()
                    .with_context(|| format!("adapter import {slot}"))?;
                // Slots past the chain are never called; they take the first
                // policy so that the bundle imports nothing of edgewaf's.
                let from = filters.get(k).copied().unwrap_or(filters[0]);
                wire(&mut g, adapter, slot, from, "the adapter")?;
            }
            _ => {}
        }
    }
    let export = g.alias_instance_export(adapter, &handler)?;
    g.export(export, handler.clone())?;
    let bytes = g
        .encode(EncodeOptions::default())
        .context("encoding the bundle")?;
    Ok((bytes, handler))
}

/// Runs each policy's `init` with its config and mounts and returns the
/// snapshot components, in chain order, with the init times.
async fn snapshots(
    entries: &[ChainEntry],
    policies: Vec<(String, Vec<u8>)>,
    mounts: &BTreeMap<String, PathBuf>,
) -> anyhow::Result<(Vec<(String, Vec<u8>)>, Vec<u64>)> {
    use edgewaf::serve::runtime::{Limits, Runtime};
    let runtime = Runtime::new(std::sync::Arc::new(
        edgewaf::serve::state::MemoryState::new(),
    ))?;
    let mounts: Vec<(PathBuf, String)> = mounts
        .iter()
        .map(|(guest, host)| (host.clone(), guest.clone()))
        .collect();
    // Generous limits: this is build time, and the bundle's runtime sets its own.
    let limits = Limits {
        memory_mib: 4096,
        init_deadline_ms: 600_000,
        ..Limits::default()
    };
    let mut out = Vec::new();
    let mut times = Vec::new();
    for (entry, (name, bytes)) in entries.iter().zip(policies) {
        let snap = runtime
            .snapshot(&bytes, &entry.config_json, &mounts, limits)
            .await
            .with_context(|| {
                format!("policy {name:?}: snapshot after init (or bundle with --no-snapshot)")
            })?;
        times.push(snap.init_ms);
        out.push((name, snap.bytes));
    }
    Ok((out, times))
}

/// Builds the bundle and writes it to `opts.output`.
pub async fn bundle(opts: &Options) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(&opts.config)
        .with_context(|| format!("reading {}", opts.config.display()))?;
    let tenant = TenantConfig::parse(&opts.config, &text)?;
    let tenant_name = stem(&opts.config);
    let tenant_dir = opts
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let (entries, mounts) = chain(&tenant, &opts.policies, &tenant_dir)?;
    if entries.len() > MAX_POLICIES {
        bail!(
            "the chain has {} policies; a bundle holds at most {MAX_POLICIES}",
            entries.len()
        );
    }
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let adapter = read(&opts.parts.join("edge_adapter.wasm"))
        .context("the adapter part (build it with `make guests`, or pass --parts)")?;
    let platform = read(&opts.parts.join(opts.platform.part()))
        .context("the platform part (build it with `make guests`, or pass --parts)")?;
    let settings = settings_component(&settings(&tenant_name, &tenant, &entries)?.to_json())?;
    let mut policies = Vec::new();
    for e in &entries {
        policies.push((e.name.clone(), read(&e.file)?));
    }
    let (policies, snapshot_init_ms, mounts) = if opts.snapshot {
        // Composing the plain parts first checks every input (a component? a
        // policy?) before any policy runs.
        compose(
            adapter.clone(),
            platform.clone(),
            settings.clone(),
            policies.clone(),
        )?;
        let (p, t) = snapshots(&entries, policies, &mounts).await?;
        (p, t, BTreeMap::new())
    } else {
        (policies, Vec::new(), mounts)
    };
    let (bytes, handler) = compose(adapter, platform, settings, policies)?;
    if let Some(dir) = opts.output.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    edgewaf::control::store::write_atomic(&opts.output, &bytes)
        .with_context(|| format!("writing {}", opts.output.display()))?;
    Ok(Report {
        chain: entries.into_iter().map(|e| e.name).collect(),
        mounts,
        snapshot_init_ms,
        bytes: bytes.len(),
        handler,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(text: &str) -> TenantConfig {
        TenantConfig::parse(Path::new("t.toml"), text).unwrap()
    }

    const HEAD: &str = "hosts = [\"a\"]\nupstream = \"http://127.0.0.1:1\"\n";

    #[test]
    fn policies_pair_with_files_by_module_name() {
        let t = tenant(&format!(
            "{HEAD}[[policy]]\nmodule = \"ip-filter\"\n[policy.config]\ndeny = [\"192.0.2.0/24\"]\n\
             [[policy]]\nmodule = \"signatures\"\nmounts = {{ \"/d\" = \"data\" }}\n"
        ));
        let files = vec![
            PathBuf::from("x/signatures.wasm"),
            PathBuf::from("x/ip_filter.wasm"),
        ];
        let (entries, mounts) = chain(&t, &files, Path::new("/etc/t")).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["ip-filter", "signatures"]);
        assert_eq!(entries[0].file, PathBuf::from("x/ip_filter.wasm"));
        assert_eq!(entries[0].config_json, r#"{"deny":["192.0.2.0/24"]}"#);
        assert_eq!(mounts["/d"], PathBuf::from("/etc/t/data"));

        let e = chain(&t, &files[..1], Path::new("."))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no --policy file named ip_filter.wasm"), "{e}");
        let extra = vec![
            files[0].clone(),
            files[1].clone(),
            PathBuf::from("rate-limit.wasm"),
        ];
        let e = chain(&t, &extra, Path::new(".")).err().unwrap().to_string();
        assert!(e.contains("rate-limit.wasm is not in the chain"), "{e}");
    }

    #[test]
    fn without_policy_entries_the_files_are_the_chain() {
        let t = tenant(HEAD);
        let files = vec![PathBuf::from("b.wasm"), PathBuf::from("a.wasm")];
        let (entries, _) = chain(&t, &files, Path::new(".")).unwrap();
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        assert!(chain(&t, &[], Path::new(".")).is_err());
    }

    #[test]
    fn settings_name_the_chain_and_the_mode() {
        let t = tenant(&format!("{HEAD}mode = \"detect\"\ndeny_status = 429\n"));
        let entries = vec![ChainEntry {
            name: "p".into(),
            file: PathBuf::new(),
            config_json: "{\"k\":1}".into(),
        }];
        let json = settings("shop", &t, &entries).unwrap().to_json();
        // What the adapter reads back.
        let s = Settings::parse(&json).unwrap();
        assert_eq!(s.tenant, "shop");
        assert_eq!(s.mode, edgewaf_chain::Mode::Detect);
        assert_eq!(s.deny_status, 429);
        assert_eq!(s.policies[0].config, "{\"k\":1}");
    }

    /// The generated settings component returns its text through the canonical
    /// ABI: instantiate it in wasmtime and call `get`.
    #[test]
    fn settings_component_returns_its_text() {
        use wasmtime::component::{Component, Linker};
        let text = "{\"tenant\":\"t\",\"note\":\"ünïcode \\\" quotes\"}".repeat(3000);
        let bytes = settings_component(&text).unwrap();
        let engine = wasmtime::Engine::default();
        let component = Component::new(&engine, &bytes).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &component)
            .unwrap();
        let iface = instance.get_export_index(&mut store, None, CONFIG).unwrap();
        let get = instance
            .get_export_index(&mut store, Some(&iface), "get")
            .unwrap();
        let f = instance
            .get_typed_func::<(), (String,)>(&mut store, &get)
            .unwrap();
        let (got,) = f.call(&mut store, ()).unwrap();
        assert_eq!(got, text);
    }
}
