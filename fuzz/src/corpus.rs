//! Seeds from disk: a CRS release (its `tests/` go-ftw YAML and its `rules/`
//! files) or any folder of saved inputs (for instance a crash folder).

use edgewaf_ftw::FtwRequest;
use std::path::{Path, PathBuf};

/// Raw files bigger than this are not used as seeds.
const MAX_RAW_SEED: u64 = 64 * 1024;

/// What a `--corpus` folder held.
#[derive(Debug, Default)]
pub struct Corpus {
    /// Requests of the go-ftw tests (`*.yaml`).
    pub requests: Vec<FtwRequest>,
    /// SecLang directives of the `*.conf` files, one per entry (continuation
    /// lines joined as written).
    pub directives: Vec<String>,
    /// The folder of the first `*.conf` file: data files (`@pmFromFile`)
    /// resolve against it.
    pub rules_dir: Option<PathBuf>,
    /// Every other file up to 64 KiB, as bytes.
    pub raw: Vec<Vec<u8>>,
    /// Files that could not be read or parsed, with the reason.
    pub skipped: Vec<String>,
}

impl Corpus {
    /// Loads every file under `dir`, recursively.
    pub fn load(dir: &Path) -> Corpus {
        let mut c = Corpus::default();
        let mut stack = vec![dir.to_path_buf()];
        let mut files = Vec::new();
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                c.skipped
                    .push(format!("{}: not a readable folder", d.display()));
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        files.sort();
        for p in files {
            c.add_file(&p);
        }
        c
    }

    fn add_file(&mut self, p: &Path) {
        let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
        match ext {
            "yaml" | "yml" => match edgewaf_ftw::load_file(p) {
                Ok(f) => {
                    let stages = f.tests.into_iter().flat_map(|t| t.stages);
                    self.requests.extend(stages.map(|s| s.request));
                }
                Err(e) => self.skipped.push(e),
            },
            "conf" => match std::fs::read_to_string(p) {
                Ok(text) => {
                    self.directives.extend(directives(&text));
                    if self.rules_dir.is_none() {
                        self.rules_dir = p.parent().map(Path::to_path_buf);
                    }
                }
                Err(e) => self.skipped.push(format!("{}: {e}", p.display())),
            },
            _ => {
                let small = std::fs::metadata(p).is_ok_and(|m| m.len() <= MAX_RAW_SEED);
                if let (true, Ok(bytes)) = (small, std::fs::read(p)) {
                    self.raw.push(bytes);
                }
            }
        }
    }

    /// One line for the run's header.
    pub fn summary(&self) -> String {
        format!(
            "{} requests, {} directives, {} raw files, {} skipped",
            self.requests.len(),
            self.directives.len(),
            self.raw.len(),
            self.skipped.len()
        )
    }
}

/// Splits SecLang text into directives: comment lines dropped, lines ending
/// in `\` joined with the next.
pub fn directives(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if cur.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with('#')) {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if !line.ends_with('\\') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A request as raw HTTP/1.1 bytes (the test's `encoded_request` if it has one).
pub fn raw_request(r: &FtwRequest) -> Vec<u8> {
    if let Some(raw) = &r.encoded_request {
        return raw.clone();
    }
    let mut out = format!("{} {} {}\r\n", r.method, r.uri, r.version).into_bytes();
    for (n, v) in &r.headers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&r.body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_join_continuations_and_drop_comments() {
        let text = "# c\nSecRuleEngine On\n\nSecRule ARGS \"@rx a\" \\\n  \"id:1,deny\"\n";
        let d = directives(text);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0], "SecRuleEngine On\n");
        assert!(d[1].starts_with("SecRule ARGS") && d[1].contains("id:1"));
    }
}
