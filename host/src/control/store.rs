//! The host's on-disk state (`[state] dir`, `.edgewaf` by default):
//!
//! ```text
//! modules/<sha256>.wasm          uploaded components, content-addressed
//! modules/names/<name>           the sha256 an uploaded name points at
//! cache/<sha256>-<engine>.cwasm  precompiled components (restart without recompiling)
//! versions/<tenant>/<id>.toml    applied tenant configs, newest kept for rollback
//! ```

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One applied version of a tenant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionInfo {
    /// Version id: `<unix ms>-<content hash>`.
    pub id: String,
    /// When it was applied, ms since the epoch.
    pub applied_ms: u64,
    /// Short content hash (what the decision log calls `tenant_version`).
    pub hash: String,
}

/// The state folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Writes `bytes` to `path` through a hidden temporary file and a rename, so a
/// reader (or the policies watcher, which skips dot files) never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Short content hash of a tenant config text (12 hex characters).
pub fn content_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

/// True for names usable as file names: `a-z`, `0-9`, `-`, `_`, 1–64 chars.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Store {
    /// A store rooted at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Store { dir: dir.into() }
    }

    /// The root folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores an uploaded component under its hash and points `name` at it.
    pub fn put_module(&self, name: &str, bytes: &[u8]) -> std::io::Result<String> {
        let hash = hex::encode(Sha256::digest(bytes));
        let path = self.dir.join("modules").join(format!("{hash}.wasm"));
        if !path.is_file() {
            write_atomic(&path, bytes)?;
        }
        write_atomic(&self.dir.join("modules/names").join(name), hash.as_bytes())?;
        Ok(hash)
    }

    /// The file of an uploaded module, by name.
    pub fn module_path(&self, name: &str) -> Option<PathBuf> {
        if !valid_name(name) {
            return None;
        }
        let hash = std::fs::read_to_string(self.dir.join("modules/names").join(name)).ok()?;
        let path = self
            .dir
            .join("modules")
            .join(format!("{}.wasm", hash.trim()));
        path.is_file().then_some(path)
    }

    /// Where the precompiled form of `hash` for this engine lives.
    pub fn precompiled_path(&self, hash: &str, engine_hash: &str) -> PathBuf {
        self.dir
            .join("cache")
            .join(format!("{hash}-{engine_hash}.cwasm"))
    }

    /// Writes a precompiled artifact.
    pub fn put_precompiled(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        write_atomic(path, bytes)
    }

    /// Records an applied tenant config; keeps the newest `keep` versions.
    pub fn record_version(
        &self,
        tenant: &str,
        text: &str,
        keep: usize,
    ) -> std::io::Result<VersionInfo> {
        let applied_ms = crate::serve::state::now_ms();
        let hash = content_hash(text);
        let id = format!("{applied_ms}-{hash}");
        let dir = self.dir.join("versions").join(tenant);
        write_atomic(&dir.join(format!("{id}.toml")), text.as_bytes())?;
        let versions = self.versions(tenant);
        for old in versions.iter().skip(keep.max(1)) {
            let _ = std::fs::remove_file(dir.join(format!("{}.toml", old.id)));
        }
        Ok(VersionInfo {
            id,
            applied_ms,
            hash,
        })
    }

    /// The recorded versions of a tenant, newest first.
    pub fn versions(&self, tenant: &str) -> Vec<VersionInfo> {
        let dir = self.dir.join("versions").join(tenant);
        let mut out: Vec<VersionInfo> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let id = name.strip_suffix(".toml")?.to_string();
                let (ms, hash) = id.split_once('-')?;
                Some(VersionInfo {
                    applied_ms: ms.parse().ok()?,
                    hash: hash.to_string(),
                    id,
                })
            })
            .collect();
        out.sort_by(|a, b| b.applied_ms.cmp(&a.applied_ms).then(b.id.cmp(&a.id)));
        out
    }

    /// The text of one recorded version.
    pub fn version_text(&self, tenant: &str, id: &str) -> Option<String> {
        if id.contains(['/', '\\']) || id.contains("..") {
            return None;
        }
        std::fs::read_to_string(
            self.dir
                .join("versions")
                .join(tenant)
                .join(format!("{id}.toml")),
        )
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_are_content_addressed_and_named() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path());
        let h1 = s.put_module("rule", b"\0asm one").unwrap();
        let h2 = s.put_module("rule", b"\0asm two").unwrap();
        assert_ne!(h1, h2);
        let p = s.module_path("rule").unwrap();
        assert_eq!(std::fs::read(p).unwrap(), b"\0asm two");
        assert!(s.module_path("other").is_none());
        assert!(s.module_path("../x").is_none());
    }

    #[test]
    fn versions_are_kept_newest_first_and_pruned() {
        let d = tempfile::tempdir().unwrap();
        let s = Store::new(d.path());
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(s.record_version("shop", &format!("v{i}"), 3).unwrap().id);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let v = s.versions("shop");
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].id, ids[4]);
        assert_eq!(s.version_text("shop", &ids[4]).as_deref(), Some("v4"));
        assert!(s.version_text("shop", &ids[0]).is_none(), "pruned");
        assert!(s.version_text("shop", "../../etc/passwd").is_none());
    }
}
