//! # edgewaf-fuzz: fuzz targets for edgewaf's parsers, on stable Rust
//!
//! cargo-fuzz needs a nightly compiler; this crate does not. It is a
//! coverage-less but structure-aware fuzzer:
//!
//! 1. Each [`targets::Target`] feeds bytes to one parser that takes hostile
//!    input (SecLang rules, transformations, the four body processors, HTTP
//!    into the WIT request record, JWT/JWKS, tenant TOML) and returns a coarse
//!    feature of the outcome.
//! 2. Seeds come from the target itself and from a `--corpus` folder (a CRS
//!    release: go-ftw tests and rule files; see [`corpus`]).
//! 3. [`mutate`] stacks byte mutations biased towards parser trouble (cut
//!    escapes, huge numbers, deep nesting, splices, the target's tokens).
//! 4. [`driver`] runs the loop in a worker process under `catch_unwind`, with
//!    a supervisor that also catches aborts, stack overflows and hangs, and
//!    saves every crashing input.
//!
//! See `docs/fuzzing.md` for how to run it.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod corpus;
pub mod driver;
pub mod mutate;
pub mod shm;
pub mod targets;
