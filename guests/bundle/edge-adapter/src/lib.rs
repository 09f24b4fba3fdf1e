//! # edge-adapter: edgewaf policies as one wasi:http component
//!
//! `edgewaf-tools bundle` composes this adapter with a platform provider, a generated
//! settings component and the tenant's policy components. The adapter exports the
//! wasi:http incoming handler; for every request it
//!
//! 1. reads the request (the body up to `max_body`; more is refused with 413),
//! 2. calls `on-request` of each policy in chain order through its `slot` import,
//!    the same way the edgewaf host does (`block`: the first deny or redirect
//!    answers; `detect`: every policy runs and denials are only logged),
//! 3. forwards an allowed request to the origin with outgoing HTTP (the `origin`
//!    setting of the platform, else the tenant's `upstream`), and
//! 4. runs `on-response` for the policies that asked for it, then answers.
//!
//! Every decision is written to stderr as one JSON line. Policy `init` runs once
//! per adapter instance; runtimes such as `wasmtime serve` and Spin create an
//! instance per request, so a policy with a large rule set (the CRS) pays its
//! load time on every request there.

pub mod settings;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod http;
