//! The generated bindings of the `edgewaf:policy` world, quarantined here; the
//! rest of the host uses the re-exports.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "policy",
    exports: { default: async },
});

pub use self::edgewaf::policy::host::Level;
pub use self::edgewaf::policy::types::{
    Action, Annotation, Capabilities, Connection, Deny, Finding, Header, PeerCertificate, Request,
    Response, Severity, TlsInfo, Verdict,
};
