//! End-to-end tests: real `edgewaf` processes on 127.0.0.1, real sockets, real
//! HTTP, and the real policy components from `target/wasm32-wasip2/release`
//! (`make test` builds them first).

mod support;

mod access;
mod admin;
mod alerts_logs;
mod analytics;
mod bundle;
mod cdp;
mod chain_table;
mod components;
mod dashboard;
mod demo;
mod hotswap;
mod http2;
mod malformed;
mod proxy;
mod sandbox;
mod spin_emulation;
mod state;
mod tls;
