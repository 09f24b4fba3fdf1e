//! Why a policy call or a policy load failed: the errors callers match on.

/// Why a policy call did not produce a verdict.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PolicyError {
    /// The call ran past the tenant's CPU deadline.
    #[error("deadline of {0} ms exceeded")]
    Deadline(u64),
    /// The guest tried to grow its memory past the tenant's limit.
    #[error("memory limit of {0} MiB exceeded")]
    Memory(u64),
    /// The guest trapped (panic, unreachable, out-of-bounds access...).
    #[error("trap: {0}")]
    Trap(String),
    /// A new instance could not be created or initialised.
    #[error("init failed: {0}")]
    Init(String),
}

impl PolicyError {
    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PolicyError::Deadline(_) => "deadline",
            PolicyError::Memory(_) => "memory",
            PolicyError::Trap(_) => "trap",
            PolicyError::Init(_) => "init",
        }
    }
}

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a component wasmtime can compile.
    #[error("not a valid WebAssembly component: {0}")]
    Compile(String),
    /// The component does not fit the `edgewaf:policy/policy` world.
    #[error("component does not implement the edgewaf:policy world: {0}")]
    WrongWorld(String),
    /// A mount folder cannot be opened.
    #[error("mount {guest} -> {host}: {message}")]
    Mount {
        /// Guest path.
        guest: String,
        /// Host path.
        host: String,
        /// Why.
        message: String,
    },
    /// The guest's `init` returned an error or trapped.
    #[error("policy init failed: {0}")]
    Init(String),
    /// The component cannot be snapshotted (it still loads without one).
    #[error("cannot snapshot the policy: {0}")]
    Snapshot(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_for_metrics() {
        assert_eq!(PolicyError::Deadline(50).kind(), "deadline");
        assert_eq!(PolicyError::Memory(64).kind(), "memory");
        assert_eq!(PolicyError::Trap("x".into()).kind(), "trap");
        assert_eq!(PolicyError::Init("x".into()).kind(), "init");
        assert_eq!(
            PolicyError::Deadline(50).to_string(),
            "deadline of 50 ms exceeded"
        );
    }
}
