//! The `edgewaf` command: `serve`, `echo`, `check`. The developer tools
//! (`bundle`, `serve-component`, `crs-test`) are the `edgewaf-tools` command
//! (package `edgewaf-tools`, folder tools/), so this binary does not link them.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "edgewaf",
    version,
    about = "Edge WAF whose policies are sandboxed Wasm components"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the WAF: the proxy listener and the admin API.
    Serve {
        /// The process config.
        #[arg(long, default_value = "edgewaf.toml")]
        config: PathBuf,
        /// Override `[server] listen`.
        #[arg(long)]
        listen: Option<String>,
        /// Override `[admin] listen`.
        #[arg(long)]
        admin_listen: Option<String>,
    },
    /// Run the built-in echo origin (answers with the request it got, as JSON).
    Echo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: String,
    },
    /// Evaluate one request (raw HTTP or JSON file) offline against a tenant and
    /// print the verdict. Exit status: 0 allowed, 2 blocked, 1 error.
    Check {
        /// The process config.
        #[arg(long, default_value = "edgewaf.toml")]
        config: PathBuf,
        /// Tenant name (its file in the policies folder).
        #[arg(long)]
        tenant: String,
        /// The request file.
        #[arg(long)]
        request: PathBuf,
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
            eprintln!("edgewaf: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("edgewaf: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<std::process::ExitCode> {
    match command {
        Command::Serve {
            config,
            listen,
            admin_listen,
        } => serve(config, listen, admin_listen).await,
        Command::Echo { listen } => {
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            tracing::info!(listen = %listener.local_addr()?, "echo origin serving");
            tokio::select! {
                _ = edgewaf::serve::echo::serve(listener) => {}
                _ = shutdown_signal() => {}
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Check {
            config,
            tenant,
            request,
        } => {
            let (report, blocked) =
                edgewaf::control::check::run(&config, &tenant, &request).await?;
            use std::io::Write as _;
            // A closed stdout (e.g. `| head`) is not an error worth a panic.
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string_pretty(&report)?
            );
            Ok(if blocked {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::SUCCESS
            })
        }
    }
}

/// `edgewaf serve`: the proxy, the admin API and, if configured, the
/// metrics listener, until SIGINT or SIGTERM.
async fn serve(
    config: PathBuf,
    listen: Option<String>,
    admin_listen: Option<String>,
) -> anyhow::Result<std::process::ExitCode> {
    let mut cfg = edgewaf::config::ServerConfig::load(&config)?;
    if let Some(l) = listen {
        cfg.server.listen = l;
    }
    if let Some(l) = admin_listen {
        cfg.admin.listen = l;
    }
    // TLS files are checked before anything else starts.
    let tls = match &cfg.server.tls {
        Some(t) => Some(
            edgewaf::serve::tls::acceptor(t).with_context(|| format!("{}", config.display()))?,
        ),
        None => None,
    };
    // Load the tenants first: once the ports listen, the WAF is ready.
    let (proxy_addr, admin_addr) = (cfg.server.listen.clone(), cfg.admin.listen.clone());
    let app = edgewaf::app::App::start(cfg).await?;
    let proxy = tokio::net::TcpListener::bind(&proxy_addr)
        .await
        .with_context(|| format!("binding the proxy listener {proxy_addr}"))?;
    let admin = tokio::net::TcpListener::bind(&admin_addr)
        .await
        .with_context(|| format!("binding the admin listener {admin_addr}"))?;
    let metrics = match &app.config.admin.metrics_listen {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!("binding the metrics listener {addr} ([admin] metrics_listen)")
        })?),
        None => None,
    };
    tracing::info!(
        metrics = ?app.config.admin.metrics_listen,
        proxy = %proxy.local_addr()?,
        admin = %admin.local_addr()?,
        tls = tls.is_some(),
        "edgewaf serving"
    );
    let proxy_task = match tls {
        Some(acceptor) => tokio::spawn(edgewaf::serve::proxy::serve_tls(
            app.clone(),
            proxy,
            acceptor,
        )),
        None => tokio::spawn(edgewaf::serve::proxy::serve(app.clone(), proxy)),
    };
    let admin_task = tokio::spawn(edgewaf::control::admin::serve(app.clone(), admin));
    let metrics_task =
        metrics.map(|l| tokio::spawn(edgewaf::control::admin::serve_metrics(app.clone(), l)));
    shutdown_signal().await;
    tracing::info!("shutting down");
    proxy_task.abort();
    admin_task.abort();
    if let Some(t) = metrics_task {
        t.abort();
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
