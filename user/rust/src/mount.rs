//! Mount management conventions and the trait, as the seed defines them
//! (`../shared/spec/seeds/mount.rs`): the same names, fields, variants and
//! `Display` strings.

use serde::{Deserialize, Serialize};

/// Well-known mount paths.
pub mod paths {
    /// Base directory for uenv `SquashFS` mounts.
    pub const UENV_MOUNT_BASE: &str = "/run/pact/uenv";
    /// Base directory for allocation working directories.
    pub const WORKDIR_BASE: &str = "/run/pact/workdir";
    /// Base directory for data staging mounts (NFS, S3).
    pub const DATA_STAGE_BASE: &str = "/run/pact/data";
}

/// Handle to an acquired mount.
///
/// Returned by [`MountManager::acquire_mount`]. The holder must call
/// [`MountManager::release_mount`] when the allocation no longer needs
/// the mount. From this crate's [`crate::MountClient`], `mount_point` is
/// the holder's own bind of the image (`<workdir>/<holder>/uenv/<name>`),
/// which names the holder: a handle kept in a journal releases the right
/// reference after a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MountHandle {
    /// Path to the source image (e.g., `/images/pytorch-2.5.sqfs`).
    pub image_path: String,
    /// Where the image is mounted (e.g., `/run/pact/uenv/pytorch-2.5`).
    pub mount_point: String,
}

/// Default hold time in seconds before unmounting after refcount reaches zero.
pub const DEFAULT_HOLD_TIME_SECS: u64 = 60;

/// Trait for refcounted mount management.
///
/// Both pact (as init) and lattice (standalone mode) implement this.
///
/// # Invariants
///
/// - WI2: refcount exactly equals active allocations using the mount.
///   Refcount going negative is a bug — implementations must assert.
/// - WI3: lazy unmount with configurable hold time. Emergency `--force`
///   overrides the hold timer.
/// - WI6: on agent restart, `reconstruct_state` rebuilds refcounts
///   from the kernel mount table + active allocations.
pub trait MountManager: Send + Sync {
    /// Acquire a reference to a uenv mount.
    ///
    /// If this is the first reference, the `SquashFS` image is mounted.
    /// Otherwise, the refcount is incremented and a bind-mount is
    /// prepared for the allocation's mount namespace.
    fn acquire_mount(&self, image_path: &str) -> Result<MountHandle, MountError>;

    /// Release a reference to a mount.
    ///
    /// Decrements the refcount. When refcount reaches zero, starts
    /// the cache hold timer. The mount is not unmounted until the
    /// timer expires (or emergency force-unmount).
    fn release_mount(&self, handle: &MountHandle) -> Result<(), MountError>;

    /// Force-unmount regardless of refcount or hold timer.
    ///
    /// Only allowed during emergency mode (RI3). Cancels any running
    /// hold timer and unmounts immediately.
    fn force_unmount(&self, image_path: &str) -> Result<(), MountError>;

    /// Reconstruct refcounts from kernel mount table and active allocations.
    ///
    /// Called on agent restart (WI6). Scans `/proc/mounts` and correlates
    /// with the provided list of active allocation IDs (from journal state).
    /// Mounts without matching allocations get refcount=0 and start hold timers.
    fn reconstruct_state(&self, active_allocations: &[String]) -> Result<(), MountError>;
}

/// Errors from mount operations.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// The image could not be mounted (or bound for the holder).
    #[error("mount failed for {image_path}: {reason}")]
    MountFailed {
        /// The image.
        image_path: String,
        /// The daemon's cause.
        reason: String,
    },

    /// The image could not be unmounted, or the unmount was refused (a
    /// force outside an emergency).
    #[error("unmount failed for {mount_point}: {reason}")]
    UnmountFailed {
        /// What was to be unmounted (the image, where the call named only it).
        mount_point: String,
        /// The daemon's cause.
        reason: String,
    },

    /// A release without an acquire, or a holder the manager does not know.
    #[error("refcount inconsistency for {image_path}: {detail}")]
    RefcountInconsistency {
        /// The image.
        image_path: String,
        /// The daemon's detail.
        detail: String,
    },

    /// Anything else: the socket, or a refusal.
    #[error("mount I/O error: {0}")]
    Io(#[from] std::io::Error),
}
