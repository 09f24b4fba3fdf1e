//! # edgewaf-tools: developer tools around the edgewaf host
//!
//! Kept out of the `edgewaf` package so that the serving binary links only the
//! serving path and the control plane (README "Layout"):
//! - [`bundle`] composes policy components with the wasi:http adapter into one
//!   component for Spin or any wasi:http runtime (wac-graph, wat);
//! - [`serve_component`] serves such a component over HTTP, as `wasmtime serve`
//!   does (wasmtime-wasi-http);
//! - [`crs_test`] runs the OWASP CRS regression suite through the CRS policy
//!   component (the go-ftw loader, `edgewaf-ftw`).
#![deny(missing_docs)]

pub mod bundle;
pub mod crs_test;
pub mod serve_component;
