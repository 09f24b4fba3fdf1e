//! The Wasm runtime: one wasmtime [`Engine`](wasmtime::Engine), components
//! compiled once per content hash, and per-tenant pools of initialised policy
//! instances.
//!
//! Setup, in order:
//! 1. [`Runtime::new`] builds the engine (component model, epoch interruption) and
//!    starts the epoch ticker (1 tick = 1 ms).
//! 2. [`Runtime::compile`] turns component bytes into a
//!    [`Component`](wasmtime::component::Component), cached by SHA-256 so
//!    tenants that share a module share its compiled code.
//! 3. [`Runtime::load_policy`] pre-instantiates the component for one tenant's
//!    policy, creates a first instance and calls `init` with the policy's config
//!    (an init error refuses the load with the guest's own message).
//!    When the policy's `init` is slow (at least the runtime's
//!    `snapshot_min_init_ms`), a snapshot of the initialised instance is built
//!    in the background and later instances start from it ([`snapshot`]);
//!    a tenant whose (module, config, mounts) already has one starts from it
//!    at once, without running `init`.
//! 4. [`PolicyPool::on_request`] / [`PolicyPool::on_response`] borrow an idle
//!    instance of that tenant (or create one), call it under the memory limit and
//!    CPU deadline, and return it. A trapped instance is dropped, never reused.
//!
//! Where each part lives:
//!
//! | file          | what                                                       |
//! |---------------|------------------------------------------------------------|
//! | `engine.rs`   | [`Runtime`]: engine, epoch ticker, linker, component cache  |
//! | `load.rs`     | [`PolicySpec`], [`Runtime::load_policy`], background snapshots |
//! | `pool.rs`     | [`PolicyPool`] and making a new instance (`init`)           |
//! | `call.rs`     | the per-request path: checkout, deadline, return, errors    |
//! | `idle.rs`     | the process-wide budget of idle instances                   |
//! | `store.rs`    | one instance's store: WASI mounts, host context, limiter    |
//! | `limits.rs`   | [`Limits`]: memory, deadlines, instances                    |
//! | `errors.rs`   | [`PolicyError`], [`LoadError`]                              |
//! | `snapshot.rs` | pre-initialised snapshots and their cache                   |
//! | `host_api.rs` | the `edgewaf:policy/host` imports, namespaced per tenant    |
//! | `bindings.rs` | the generated WIT bindings, quarantined                     |

#[allow(missing_docs)]
mod bindings;
mod call;
mod engine;
mod errors;
mod host_api;
mod idle;
mod limits;
mod load;
mod pool;
pub mod snapshot;
mod store;

pub use bindings::{
    Action, Annotation, Capabilities, Connection, Deny, Finding, Header, PeerCertificate, Request,
    Response, Severity, TlsInfo, Verdict,
};
pub use engine::{Runtime, SNAPSHOT_MIN_INIT_MS};
pub use errors::{LoadError, PolicyError};
pub use host_api::HostCtx;
pub use idle::IDLE_INSTANCES;
pub use limits::Limits;
pub use load::PolicySpec;
pub use pool::PolicyPool;
pub use snapshot::{Snapshot, SnapshotCache, snapshot_key};
pub use store::GuestState;
