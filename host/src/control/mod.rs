//! The control plane: what operators call and what changes a tenant.
//!
//! [`admin`] is the token-protected API (scopes and token names in [`access`]),
//! [`dashboard`] its web UI and reports; [`manager`] loads, validates and
//! hot-swaps tenants ([`tenants`]), keeping versions in the [`store`];
//! [`watch`] follows the policies folder; [`check`] validates a config offline.

pub mod access;
pub mod admin;
pub mod check;
pub mod dashboard;
pub mod manager;
pub mod store;
pub mod tenants;
pub mod watch;
