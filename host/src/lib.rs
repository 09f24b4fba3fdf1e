//! # edgewaf: a web application firewall whose policies are Wasm components
//!
//! A thin host around wasmtime: it terminates HTTP in front of an origin, picks
//! the tenant by Host, and runs the tenant's chain of sandboxed policy components
//! (`edgewaf:policy` world, see `wit/policy.wit`) on every request.
//!
//! One request, in order:
//! 1. [`serve::proxy`] reads it under size and time limits and picks the tenant.
//! 2. [`serve::request`] builds the WIT `request` record.
//! 3. [`serve::chain`] runs the tenant's policies ([`serve::runtime::PolicyPool`]) in order.
//! 4. [`serve::proxy`] answers a deny, or forwards to the upstream and, if a policy
//!    asked, runs the response through the chain again.
//! 5. [`observe::events`] writes one decision line; [`observe::metrics`] counts it; [`observe::analytics`]
//!    stores it (off the request path) for the [`control::dashboard`] and reports.
//!
//! Rooms: [`serve`] (the request path), [`observe`] (logs, metrics, events,
//! alerts), [`control`] (admin API, dashboard, tenant loading), [`config`]
//! (the server file and the tenant files), [`app`] (what ties them together).
#![deny(missing_docs)]

pub mod app;
pub mod config;
pub mod control;
pub mod observe;
pub mod serve;
