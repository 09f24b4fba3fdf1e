//! `@pmFromFile` / `@pmf`: `@pm` with phrases read from data files (one a line,
//! `#` comments), named relative to the rule file's directory.
use super::pm::Pm;
use std::path::Path;

pub(super) fn build(arg: &str, base_dir: Option<&Path>) -> Result<Pm, String> {
    let mut phrases = Vec::new();
    for file in arg.split_whitespace() {
        phrases.extend(super::read_data_file(file, base_dir)?);
    }
    if phrases.is_empty() {
        return Err(format!("@pmFromFile {arg}: no phrases found"));
    }
    Pm::new(phrases)
}
