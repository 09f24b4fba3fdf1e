//! The config model: `edgewaf.toml` (process-wide) and one TOML file per tenant in
//! the policies directory. Pure serde, no runtime: every struct refuses unknown
//! fields so a typo gets an error naming the file, line and field.

use std::path::{Path, PathBuf};

/// An error in a config file: which file, and what (the TOML parser's message
/// already names line, column and field).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, with line and field where known.
    pub message: String,
}

impl ConfigError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

mod server;
mod tenant;

pub use server::*;
pub use tenant::*;

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests;
