//! cgroup v2 conventions and the management trait, as the seed defines
//! them (`../shared/spec/seeds/cgroup.rs`): the same names, fields,
//! variants and `Display` strings, so code written against the seed
//! compiles against this crate unchanged. One change on purpose:
//! [`slice_owner`] matches the first path component whole.

use serde::{Deserialize, Serialize};

/// cgroup slice ownership — who has exclusive write access.
///
/// Invariant RI1: each slice subtree is owned by exactly one system.
/// No system writes to another's slice except during declared emergency (RI3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SliceOwner {
    /// pact-agent owns this slice (system services).
    Pact,
    /// lattice-node-agent owns this slice (workloads).
    Workload,
}

/// Well-known cgroup slice paths.
///
/// Both pact and lattice use these constants to ensure consistent hierarchy
/// regardless of which system creates the slices.
pub mod slices {
    /// Root slice for pact-managed system services.
    pub const PACT_ROOT: &str = "pact.slice";
    /// Infrastructure services: chronyd, dbus-daemon, rasdaemon.
    pub const PACT_INFRA: &str = "pact.slice/infra.slice";
    /// Network services: `cxi_rh` instances.
    pub const PACT_NETWORK: &str = "pact.slice/network.slice";
    /// GPU services: nvidia-persistenced, nv-hostengine.
    pub const PACT_GPU: &str = "pact.slice/gpu.slice";
    /// Audit services: auditd, audit-forwarder (regulated vClusters only).
    pub const PACT_AUDIT: &str = "pact.slice/audit.slice";
    /// Root slice for lattice-managed workload allocations.
    pub const WORKLOAD_ROOT: &str = "workload.slice";
}

/// The mount prefixes stripped before a path is judged, longest first so
/// the hybrid layout's `/sys/fs/cgroup/unified` is not read as a slice.
const MOUNT_PREFIXES: [&str; 2] = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"];

/// Returns the owner of a given cgroup path.
///
/// Returns `None` for paths outside the known hierarchy (e.g., root cgroup).
/// The first component must be a slice root whole (SPEC §1):
/// `workload.slice-extra` and `pact.slice-evil` are nobody's, unlike the
/// seed's prefix test. A leading `/` and the cgroup2 mount prefixes are
/// stripped; a path with `.`, `..` or empty components is nobody's (as the
/// daemon judges it).
#[must_use]
pub fn slice_owner(path: &str) -> Option<SliceOwner> {
    let mut rel = path;
    for prefix in MOUNT_PREFIXES {
        if let Some(rest) = rel.strip_prefix(prefix) {
            if rest.is_empty() || rest.starts_with('/') {
                rel = rest;
                break;
            }
        }
    }
    let rel = rel.strip_prefix('/').unwrap_or(rel);
    let mut parts = rel.split('/');
    let first = parts.next()?;
    if rel.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return None;
    }
    match first {
        slices::PACT_ROOT => Some(SliceOwner::Pact),
        slices::WORKLOAD_ROOT => Some(SliceOwner::Workload),
        _ => None,
    }
}

/// Resource limits for a cgroup scope.
///
/// Applied when creating a scope for a service or allocation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResourceLimits {
    /// Memory limit in bytes (maps to `memory.max`). `None` = unlimited.
    pub memory_max: Option<u64>,
    /// CPU weight (1–10000, maps to `cpu.weight`). `None` = default (100).
    pub cpu_weight: Option<u16>,
    /// IO max in bytes/sec. `None` = unlimited.
    pub io_max: Option<u64>,
}

/// Opaque handle to a created cgroup scope.
///
/// Returned by [`CgroupManager::create_scope`] and passed to process spawn
/// for placement. Implementers store whatever is needed to reference the scope
/// (typically the cgroup path). This crate's clients return the full path
/// and accept a path relative to the cgroup root as well.
#[derive(Debug, Clone)]
pub struct CgroupHandle {
    /// Full cgroup path (e.g., `/sys/fs/cgroup/pact.slice/gpu.slice/nvidia-persistenced`).
    pub path: String,
}

/// Metrics read from a cgroup.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CgroupMetrics {
    /// Current memory usage in bytes (`memory.current`).
    pub memory_current: u64,
    /// Memory limit in bytes (`memory.max`). `None` if unlimited.
    pub memory_max: Option<u64>,
    /// Total CPU usage in microseconds (`cpu.stat` → `usage_usec`).
    pub cpu_usage_usec: u64,
    /// Number of processes in the cgroup (`cgroup.procs` line count).
    pub nr_processes: u32,
}

/// Trait for cgroup hierarchy management.
///
/// Both pact (direct cgroup v2 filesystem) and lattice (standalone mode)
/// implement this. The trait defines the contract; ownership enforcement
/// (RI1) and emergency override (RI3) are the implementer's responsibility.
///
/// # Invariants enforced
///
/// - RI2: every supervised process has a scope (caller must use `create_scope` before spawn)
/// - RI5: callback on failure (caller must call `destroy_scope` on spawn failure)
/// - RI6: shared read (any path readable via `read_metrics`)
pub trait CgroupManager: Send + Sync {
    /// Create the top-level slice hierarchy.
    ///
    /// Called once at boot. Idempotent — safe to call if hierarchy already exists.
    /// Creates `pact.slice/` and `workload.slice/` with their sub-slices.
    fn create_hierarchy(&self) -> Result<(), CgroupError>;

    /// Create a scoped cgroup for a service or allocation.
    ///
    /// Returns a handle for process placement. The scope is created under
    /// `parent_slice` with the given `name` and resource limits applied.
    ///
    /// # Errors
    ///
    /// Returns [`CgroupError::CreationFailed`] if the scope cannot be created.
    /// Returns [`CgroupError::PermissionDenied`] if the caller doesn't own the parent slice.
    fn create_scope(
        &self,
        parent_slice: &str,
        name: &str,
        limits: &ResourceLimits,
    ) -> Result<CgroupHandle, CgroupError>;

    /// Kill all processes in a scope and release it.
    ///
    /// Uses `cgroup.kill` (Linux 5.14+) for immediate cleanup. No grace period
    /// for child processes (PS3). Falls back to iterating `cgroup.procs` + SIGKILL
    /// on older kernels.
    ///
    /// # Errors
    ///
    /// Returns [`CgroupError::KillFailed`] if processes cannot be killed (e.g., D-state).
    /// The scope should be marked as zombie in this case (F30).
    fn destroy_scope(&self, handle: &CgroupHandle) -> Result<(), CgroupError>;

    /// Read metrics from any cgroup path.
    ///
    /// Shared read access across all slices (RI6) — no ownership check.
    fn read_metrics(&self, path: &str) -> Result<CgroupMetrics, CgroupError>;

    /// Check if a scope is empty (no processes).
    ///
    /// Used by the supervision loop to detect completed allocations (WI5).
    fn is_scope_empty(&self, handle: &CgroupHandle) -> Result<bool, CgroupError>;
}

/// Errors from cgroup operations.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// The scope (or the hierarchy) could not be made.
    #[error("cgroup creation failed: {reason}")]
    CreationFailed {
        /// The daemon's cause, naming the path.
        reason: String,
    },

    /// The processes of a scope did not die (the scope is marked zombie, F30).
    #[error("cgroup.kill failed for {path}: {reason}")]
    KillFailed {
        /// The scope.
        path: String,
        /// The daemon's cause.
        reason: String,
    },

    /// The path does not exist.
    #[error("cgroup path not found: {path}")]
    NotFound {
        /// The path as the call named it.
        path: String,
    },

    /// The caller does not own the slice (RI1).
    #[error("permission denied: {path} owned by {owner:?}")]
    PermissionDenied {
        /// The path refused.
        path: String,
        /// Whose slice it is.
        owner: SliceOwner,
    },

    /// Anything else: the socket, or a refusal that names no slice owner.
    #[error("cgroup I/O error: {0}")]
    Io(#[from] std::io::Error),
}
