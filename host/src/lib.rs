//! # edgewaf: a web application firewall whose policies are Wasm components
//!
//! A thin host around wasmtime: it terminates HTTP in front of an origin, picks
//! the tenant by Host, and runs the tenant's chain of sandboxed policy components
//! (`edgewaf:policy` world, see `wit/policy.wit`) on every request.
//!
//! One request, in order:
//! 1. [`proxy`] reads it under size and time limits and picks the tenant.
//! 2. [`request`] builds the WIT `request` record.
//! 3. [`chain`] runs the tenant's policies ([`runtime::PolicyPool`]) in order.
//! 4. [`proxy`] answers a deny, or forwards to the upstream and, if a policy
//!    asked, runs the response through the chain again.
//! 5. [`events`] writes one decision line; [`metrics`] counts it; [`analytics`]
//!    stores it (off the request path) for the [`dashboard`] and reports.
#![deny(missing_docs)]

pub mod access;
pub mod admin;
pub mod alerts;
pub mod analytics;
pub mod app;
pub mod chain;
pub mod check;
pub mod config;
pub mod dashboard;
pub mod decision_log;
pub mod echo;
pub mod ecs;
pub mod events;
pub mod logfile;
pub mod manager;
pub mod metrics;
pub mod proxy;
pub mod request;
pub mod runtime;
pub mod state;
pub mod store;
pub mod tenants;
pub mod tls;
pub mod watch;
