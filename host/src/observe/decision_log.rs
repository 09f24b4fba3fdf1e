//! Where the decision log goes (`[log]`): stdout, or a [`LogFile`] that
//! rotates by size and is reopened on SIGHUP.

use crate::observe::logfile::{LogFile, ReopenHandle};
use std::io::Write;

/// `[log] format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// edgewaf's own JSON line (the default, unchanged).
    #[default]
    Json,
    /// Elastic Common Schema field names ([`crate::observe::ecs`]).
    Ecs,
}

/// The writer for `path` (`None`, `stdout` or `-`: stdout); for a file, a
/// task reopens it on every SIGHUP.
pub fn open(
    path: Option<&str>,
    max_bytes: u64,
    keep: u32,
) -> anyhow::Result<Box<dyn Write + Send>> {
    match path {
        None | Some("stdout") | Some("-") => Ok(Box::new(std::io::stdout())),
        Some(path) => {
            let file = LogFile::open(path, max_bytes, keep)?;
            reopen_on_sighup(file.reopen_handle())?;
            Ok(Box::new(file))
        }
    }
}

#[cfg(unix)]
fn reopen_on_sighup(handle: ReopenHandle) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())
        .map_err(|e| anyhow::anyhow!("cannot listen for SIGHUP: {e}"))?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reopening the decision log");
            handle.request();
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reopen_on_sighup(_handle: ReopenHandle) -> anyhow::Result<()> {
    Ok(())
}
