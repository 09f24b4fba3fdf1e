//! # edgewaf-sdk: write edgewaf policies in Rust
//!
//! A policy is a plain Rust type that implements [`Policy`], exported as a
//! WebAssembly component with one macro:
//!
//! 1. `cargo new --lib my-policy`, set `crate-type = ["cdylib", "rlib"]` and depend on
//!    `edgewaf-sdk`.
//! 2. Implement [`Policy`] for your type; read the config (JSON) in `init`.
//! 3. Add `edgewaf_sdk::export_policy!(MyPolicy);`.
//! 4. Test natively with [`testing::Harness`] (`cargo test`), then build the component
//!    with `cargo build --release --target wasm32-wasip2`.
//!
//! ```
//! use edgewaf_sdk::prelude::*;
//!
//! pub struct BlockPath { prefix: String }
//!
//! impl Policy for BlockPath {
//!     fn init(config: &str) -> Result<Self, String> {
//!         let v: serde_json::Value = serde_json::from_str(config).map_err(|e| e.to_string())?;
//!         let prefix = v["prefix"].as_str().ok_or("config needs \"prefix\"")?.to_string();
//!         Ok(BlockPath { prefix })
//!     }
//!     fn on_request(&self, req: &Request) -> Verdict {
//!         if req.path().starts_with(&self.prefix) {
//!             Verdict::deny("blocked path")
//!                 .with_finding(Finding::new("block-path-1", "blocked path prefix").data(req.path()))
//!         } else {
//!             Verdict::allow()
//!         }
//!     }
//! }
//!
//! edgewaf_sdk::export_policy!(BlockPath);
//! ```
#![deny(missing_docs)]

/// In a guest, memory comes from talc rather than the target's default
/// allocator (dlmalloc): the CRS policy allocates and frees some thousand
/// small values per request, and talc does that in fewer instructions
/// (`cargo bench -p edgewaf --bench policies`; README, Performance). A policy
/// with its own `#[global_allocator]` turns off the default `talc` feature.
#[cfg(all(
    feature = "talc",
    target_family = "wasm",
    not(target_feature = "atomics")
))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub mod helpers;
pub mod host;
pub mod testing;
pub mod types;
mod verdict;

pub use serde_json;
pub use types::*;

/// Everything a policy usually needs.
pub mod prelude {
    pub use crate::Policy;
    pub use crate::helpers::{lossy, parse_cookies, parse_urlencoded, url_decode};
    pub use crate::host::{self, Level};
    pub use crate::types::*;
}

/// A security policy. The host creates one value per instance with
/// [`Policy::init`] and calls it for every request of one tenant.
///
/// An instance may serve many requests of its tenant one after the other (never
/// two at once, never another tenant's), so state kept in `self` through interior
/// mutability is per instance; use [`host::counter_add`] / [`host::kv_set`] for
/// state that must be shared.
pub trait Policy: Sized + 'static {
    /// Builds the policy from its config (JSON text); the error is shown to the
    /// operator who deployed it.
    fn init(config: &str) -> Result<Self, String>;

    /// What the policy needs from the host. Default: neither the request body nor
    /// the response.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Decides on a request.
    fn on_request(&self, req: &Request) -> Verdict;

    /// Decides on the upstream response (only called when
    /// [`Capabilities::inspect_response`] is set). Default: allow.
    fn on_response(&self, _req: &Request, _resp: &Response) -> Verdict {
        Verdict::allow()
    }
}

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "policy",
        pub_export_macro: true,
        export_macro_name: "__export_policy_world",
        default_bindings_module: "edgewaf_sdk::bindings",
    });
}

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod rt;

/// Exports a [`Policy`] type as the component's `edgewaf:policy/filter`.
/// Natively it expands to nothing, so the crate's unit tests build as usual.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct EdgewafExport;
            impl $crate::bindings::exports::edgewaf::policy::filter::Guest for EdgewafExport {
                fn init(
                    config: ::std::string::String,
                ) -> ::std::result::Result<
                    $crate::bindings::edgewaf::policy::types::Capabilities,
                    ::std::string::String,
                > {
                    $crate::rt::init::<$policy>(&config)
                }
                fn on_request(
                    req: $crate::bindings::edgewaf::policy::types::Request,
                ) -> $crate::bindings::edgewaf::policy::types::Verdict {
                    $crate::rt::on_request::<$policy>(req)
                }
                fn on_response(
                    req: $crate::bindings::edgewaf::policy::types::Request,
                    resp: $crate::bindings::edgewaf::policy::types::Response,
                ) -> $crate::bindings::edgewaf::policy::types::Verdict {
                    $crate::rt::on_response::<$policy>(req, resp)
                }
            }
    $crate::bindings::__export_policy_world!(EdgewafExport with_types_in $crate::bindings);
        };
    };
}
