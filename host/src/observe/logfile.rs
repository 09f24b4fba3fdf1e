//! The decision log's file sink: JSON lines appended to a file that rotates by
//! size and can be reopened (SIGHUP, for logrotate).
//!
//! 1. [`LogFile::open`] appends to `path` (created with mode 0600 on Unix).
//! 2. Every write is one whole line; before a line that would take the file past
//!    `max_bytes`, the file is rotated: `path.{keep-1}` is removed, `path.N`
//!    becomes `path.N+1`, `path` becomes `path.1`, and a new `path` is opened.
//!    `keep = 0` truncates instead of keeping old files. `max_bytes = 0` never
//!    rotates (logrotate's job then).
//! 3. [`ReopenHandle::request`] (called from the SIGHUP handler) makes the next
//!    write reopen `path`: after logrotate renamed the file, new lines go to the
//!    new file and the line being written is not lost.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Asks a [`LogFile`] to reopen its path before its next write.
#[derive(Debug, Clone, Default)]
pub struct ReopenHandle(Arc<AtomicBool>);

impl ReopenHandle {
    /// The next write reopens the file (by path).
    pub fn request(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// An append-only log file with size-based rotation and reopen on request.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: File,
    size: u64,
    max_bytes: u64,
    keep: u32,
    reopen: ReopenHandle,
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot open the decision log {}: {e}", path.display()),
        )
    })
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl LogFile {
    /// Opens `path` for appending; rotates past `max_bytes` (0: never), keeping
    /// `keep` old files.
    pub fn open(path: impl Into<PathBuf>, max_bytes: u64, keep: u32) -> io::Result<Self> {
        let path = path.into();
        let file = open_append(&path)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            path,
            file,
            size,
            max_bytes,
            keep,
            reopen: ReopenHandle::default(),
        })
    }

    /// A handle that makes the next write reopen the file.
    pub fn reopen_handle(&self) -> ReopenHandle {
        self.reopen.clone()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn reopen_now(&mut self) -> io::Result<()> {
        self.file = open_append(&self.path)?;
        self.size = self.file.metadata()?.len();
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.keep == 0 {
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        let oldest = numbered(&self.path, self.keep);
        match std::fs::remove_file(&oldest) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        for n in (1..self.keep).rev() {
            let from = numbered(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, numbered(&self.path, n + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(&self.path, 1))?;
        self.reopen_now()
    }
}

impl Write for LogFile {
    /// Writes `buf` whole (callers hand one or more complete lines).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.reopen.take() {
            self.reopen_now()?;
        }
        let len = buf.len() as u64;
        if self.max_bytes > 0 && self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(buf)?;
        self.size += len;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("edgewaf-logfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    #[test]
    fn rotates_at_the_size_and_keeps_n_files() {
        let dir = tmpdir("rotate");
        let path = dir.join("d.log");
        let mut f = LogFile::open(&path, 100, 2).unwrap();
        // 30-byte lines: 3 fit in 100 bytes, the 4th rotates.
        let lines: Vec<String> = (0..10).map(|i| format!("{:029}\n", i)).collect();
        for l in &lines {
            f.write_all(l.as_bytes()).unwrap();
        }
        f.flush().unwrap();
        for p in [&path, &numbered(&path, 1), &numbered(&path, 2)] {
            assert!(
                std::fs::metadata(p).unwrap().len() <= 100,
                "{}",
                p.display()
            );
        }
        assert!(!numbered(&path, 3).exists());
        assert_eq!(read(&path), lines[9]);
        assert_eq!(read(&numbered(&path, 1)), lines[6..9].concat());
        assert_eq!(read(&numbered(&path, 2)), lines[3..6].concat());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keep_zero_truncates_and_zero_max_never_rotates() {
        let dir = tmpdir("keep0");
        let path = dir.join("d.log");
        let mut f = LogFile::open(&path, 10, 0).unwrap();
        f.write_all(b"12345678\n").unwrap();
        f.write_all(b"abcdefgh\n").unwrap();
        assert_eq!(read(&path), "abcdefgh\n");
        assert!(!numbered(&path, 1).exists());
        let path2 = dir.join("e.log");
        let mut g = LogFile::open(&path2, 0, 3).unwrap();
        for _ in 0..100 {
            g.write_all(b"0123456789\n").unwrap();
        }
        assert_eq!(std::fs::metadata(&path2).unwrap().len(), 1100);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reopen_after_rename_writes_to_the_new_file() {
        let dir = tmpdir("reopen");
        let path = dir.join("d.log");
        let mut f = LogFile::open(&path, 0, 0).unwrap();
        let handle = f.reopen_handle();
        f.write_all(b"one\n").unwrap();
        std::fs::rename(&path, dir.join("d.log.old")).unwrap();
        f.write_all(b"two\n").unwrap(); // still the renamed file, as logrotate expects
        handle.request();
        f.write_all(b"three\n").unwrap();
        assert_eq!(read(&dir.join("d.log.old")), "one\ntwo\n");
        assert_eq!(read(&path), "three\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn open_error_names_the_path() {
        let err = LogFile::open("/nonexistent-dir-edgewaf/d.log", 0, 0).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent-dir-edgewaf/d.log"),
            "{err}"
        );
    }
}
