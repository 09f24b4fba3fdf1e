//! Watches the policies folder and hands changed files to the [`Manager`] after
//! a quiet period (debounce), so an editor's several writes become one reload.

use crate::control::manager::Manager;
use notify::{RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Starts watching; the returned watcher must be kept alive.
pub fn start(
    manager: Arc<Manager>,
    debounce: Duration,
) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher =
        notify::recommended_watcher(move |res: notify::Result<notify::Event>| match res {
            Ok(event) => {
                if matches!(event.kind, notify::EventKind::Access(_)) {
                    return;
                }
                for p in event.paths {
                    let _ = tx.send(p);
                }
            }
            Err(e) => tracing::warn!("file watch: {e}"),
        })?;
    watcher.watch(manager.policies_dir(), RecursiveMode::Recursive)?;
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut changed = BTreeSet::from([first]);
            // Collect until the folder has been quiet for `debounce`.
            while let Ok(Some(p)) = tokio::time::timeout(debounce, rx.recv()).await {
                changed.insert(p);
            }
            for path in changed {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // Editor swap files and our own temporary files.
                if name.starts_with('.')
                    || name.ends_with('~')
                    || name.ends_with(".tmp")
                    || name.ends_with(".swp")
                {
                    continue;
                }
                manager.file_changed(&path).await;
            }
        }
    });
    Ok(watcher)
}
