//! `@ipMatchFromFile` / `@ipMatchF`: `@ipMatch` with the ranges read from a file.
use super::ip_match::IpMatch;
use std::path::Path;

pub(super) fn build(arg: &str, base_dir: Option<&Path>) -> Result<IpMatch, String> {
    let entries = super::read_data_file(arg.trim(), base_dir)?;
    IpMatch::from_entries(entries.iter().map(String::as_str))
}
