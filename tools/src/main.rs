//! The `edgewaf-tools` command: `bundle`, `serve-component`, `crs-test`.
//! The WAF itself is the `edgewaf` command (package `edgewaf`).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "edgewaf-tools",
    version,
    about = "Developer tools around the edgewaf WAF: bundle, serve-component, crs-test"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the OWASP CRS regression suite through the CRS policy component.
    CrsTest {
        /// The CRS release folder (default: the release vendored in the
        /// repository, for a run from its root).
        #[arg(long, env = "EDGEWAF_CRS_DIR", default_value = "crs/v4.28.0")]
        crs: PathBuf,
        /// The CRS policy component.
        #[arg(long, default_value = "target/wasm32-wasip2/release/crs.wasm")]
        module: PathBuf,
        /// Expectations that differ because of the HTTP layer, each with a reason.
        #[arg(long, default_value = "tests/crs-overrides.yaml")]
        overrides: PathBuf,
        /// Only test files whose path contains this.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Compose policy components with the wasi:http adapter into one component
    /// for Spin or any wasi:http 0.2 runtime (no recompiling).
    Bundle {
        /// A policy component; repeat for a chain. Paired with the tenant file's
        /// `[[policy]]` entries by module name (file `ip_filter.wasm` is module
        /// `ip-filter`); the tenant file gives the order and each config.
        #[arg(long = "policy", required = true)]
        policies: Vec<PathBuf>,
        /// The tenant file (same format as policies/*.toml).
        #[arg(long)]
        config: PathBuf,
        /// The bundle to write.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// `wasi` (in-memory state, EDGEWAF_* environment variables) or `spin`
        /// (Spin key-value store and variables).
        #[arg(long, value_enum, default_value = "wasi")]
        platform: edgewaf_tools::bundle::Platform,
        /// The folder with edge_adapter.wasm and edge_platform*.wasm (default:
        /// the build tree's target/wasm32-wasip2/release).
        #[arg(long, env = "EDGEWAF_BUNDLE_PARTS")]
        parts: Option<PathBuf>,
        /// Bundle the policies as they are, instead of snapshots taken after
        /// their `init` (then each new instance runs `init`, and mounted files
        /// must be mounted at run time).
        #[arg(long)]
        no_snapshot: bool,
    },
    /// Serve a wasi:http component (e.g. a bundle) over HTTP/1.1, a fresh
    /// instance per request, as `wasmtime serve` does.
    ServeComponent {
        /// The component.
        component: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// An environment variable for the component, KEY=VALUE (repeatable).
        #[arg(long = "env", value_parser = edgewaf_tools::serve_component::parse_env)]
        env: Vec<(String, String)>,
        /// A read-only folder for the component, HOST::/GUEST (repeatable).
        #[arg(long = "dir", value_parser = edgewaf_tools::serve_component::parse_dir)]
        dirs: Vec<(PathBuf, String)>,
        /// Linear memory per instance, MiB.
        #[arg(long, default_value_t = 512)]
        memory_mib: u64,
        /// Wall-clock time per request, ms.
        #[arg(long, default_value_t = 30_000)]
        deadline_ms: u64,
    },
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EDGEWAF_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,wasmtime=warn,cranelift=warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("edgewaf-tools: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("edgewaf-tools: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<std::process::ExitCode> {
    match command {
        Command::CrsTest {
            crs,
            module,
            overrides,
            filter,
        } => {
            let overrides = overrides.exists().then_some(overrides);
            let opts = edgewaf_tools::crs_test::Options {
                crs: &crs,
                module: &module,
                overrides: overrides.as_deref(),
                filter: filter.as_deref(),
            };
            let summary = edgewaf_tools::crs_test::run(opts, &mut std::io::stdout()).await?;
            Ok(if summary.failed == 0 {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
        Command::Bundle {
            policies,
            config,
            output,
            platform,
            parts,
            no_snapshot,
        } => bundle(policies, config, output, platform, parts, no_snapshot).await,
        Command::ServeComponent {
            component,
            listen,
            env,
            dirs,
            memory_mib,
            deadline_ms,
        } => {
            let server = edgewaf_tools::serve_component::Server::load(
                edgewaf_tools::serve_component::Options {
                    component: component.clone(),
                    env,
                    dirs,
                    memory_mib,
                    deadline_ms,
                },
            )?;
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            tracing::info!(listen = %listener.local_addr()?, component = %component.display(), "serving component");
            tokio::select! {
                _ = edgewaf_tools::serve_component::serve(server, listener) => {}
                _ = shutdown_signal() => {}
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// `edgewaf-tools bundle`: writes the composed component and says what it needs.
async fn bundle(
    policies: Vec<PathBuf>,
    config: PathBuf,
    output: PathBuf,
    platform: edgewaf_tools::bundle::Platform,
    parts: Option<PathBuf>,
    no_snapshot: bool,
) -> anyhow::Result<std::process::ExitCode> {
    let opts = edgewaf_tools::bundle::Options {
        policies,
        config,
        output,
        platform,
        parts: parts.unwrap_or_else(edgewaf_tools::bundle::default_parts_dir),
        snapshot: !no_snapshot,
    };
    let report = edgewaf_tools::bundle::bundle(&opts).await?;
    println!(
        "wrote {} ({} bytes, exports {}): {}",
        opts.output.display(),
        report.bytes,
        report.handler,
        report.chain.join(" -> ")
    );
    if !report.snapshot_init_ms.is_empty() {
        let times: Vec<String> = report
            .chain
            .iter()
            .zip(&report.snapshot_init_ms)
            .map(|(n, ms)| format!("{n} {ms} ms"))
            .collect();
        println!(
            "snapshotted after init ({}): no init and no mounts at run time",
            times.join(", ")
        );
    }
    for (guest, host) in &report.mounts {
        println!(
            "mount needed: {} at {guest} (wasmtime serve --dir {}::{guest}; Spin: files = [{{ source = \"{}\", destination = \"{guest}\" }}])",
            host.display(),
            host.display(),
            host.display()
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
