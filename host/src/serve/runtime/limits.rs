//! What one tenant's policy instances may use: linear memory, CPU time per
//! call and for `init`, and how many instances run at once.

use wasmtime::{StoreLimits, StoreLimitsBuilder};

/// Resource limits for every instance of one tenant's policies.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory per instance, MiB.
    pub memory_mib: u64,
    /// CPU time per call, ms.
    pub deadline_ms: u64,
    /// CPU time for `init`, ms.
    pub init_deadline_ms: u64,
    /// Instances per policy.
    pub max_instances: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 64,
            deadline_ms: 50,
            init_deadline_ms: 10_000,
            max_instances: 8,
        }
    }
}

impl Limits {
    /// The store limiter of one instance: memory up to `memory_mib` (growing
    /// past it traps, so the call fails as [`super::PolicyError::Memory`]),
    /// and bounded counts of instances, tables and memories.
    pub(super) fn store_limits(&self) -> StoreLimits {
        StoreLimitsBuilder::new()
            .memory_size((self.memory_mib * 1024 * 1024) as usize)
            .instances(64)
            .tables(64)
            .memories(16)
            .trap_on_grow_failure(true)
            .build()
    }
}
