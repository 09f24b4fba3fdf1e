//! The serving path: what runs for every request, from the socket to the
//! origin and back.
//!
//! [`proxy`] reads the request under size and time limits and picks the tenant,
//! [`request`] builds the WIT record, [`chain`] runs the tenant's policies on the
//! [`runtime`], [`state`] backs their counters and lists, [`tls`] terminates TLS
//! and client certificates, [`geo`] finds the client's country; [`echo`] is
//! the built-in demo origin.

pub mod chain;
pub mod echo;
pub mod geo;
pub mod proxy;
pub mod request;
pub mod runtime;
pub mod state;
pub mod tls;
