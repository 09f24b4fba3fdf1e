//! Path prefix matching that an encoded or dotted path cannot slip past: the
//! SDK's [`path_under`](edgewaf_sdk::helpers::path_under) and
//! [`normalise_path`](edgewaf_sdk::helpers::normalise_path), shared with auth-jwt.

pub use edgewaf_sdk::helpers::{normalise_path as normalise, path_under as under};
