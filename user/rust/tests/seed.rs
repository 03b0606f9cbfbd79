//! The seeds' own test modules (cgroup.rs, mount.rs), re-asserted against
//! this crate's types. One assertion differs on purpose: the seed accepts
//! `workload.slice-extra` as workload's (its prefix test); SPEC §1 and the
//! daemon match the first component whole, and so does this crate.

use std::sync::Arc;
use std::thread;

use hpcnode::*;

#[test]
fn slice_owner_pact() {
    assert_eq!(slice_owner(slices::PACT_ROOT), Some(SliceOwner::Pact));
    assert_eq!(slice_owner(slices::PACT_INFRA), Some(SliceOwner::Pact));
    assert_eq!(slice_owner(slices::PACT_GPU), Some(SliceOwner::Pact));
    assert_eq!(slice_owner(slices::PACT_NETWORK), Some(SliceOwner::Pact));
    assert_eq!(slice_owner(slices::PACT_AUDIT), Some(SliceOwner::Pact));
}

#[test]
fn slice_owner_workload() {
    assert_eq!(slice_owner(slices::WORKLOAD_ROOT), Some(SliceOwner::Workload));
    assert_eq!(slice_owner("workload.slice/alloc-42"), Some(SliceOwner::Workload));
}

#[test]
fn slice_owner_unknown() {
    assert_eq!(slice_owner("system.slice"), None);
    assert_eq!(slice_owner(""), None);
    assert_eq!(slice_owner("/sys/fs/cgroup"), None);
}

#[test]
fn slice_owner_nested_paths() {
    assert_eq!(slice_owner("pact.slice/infra.slice/chronyd.scope"), Some(SliceOwner::Pact));
    assert_eq!(slice_owner("workload.slice/alloc-42/task-1.scope"), Some(SliceOwner::Workload));
}

#[test]
fn slice_owner_substring_not_matched() {
    assert_eq!(slice_owner("not-pact.slice/foo"), None);
    // the documented exception: the seed says Some(Workload)
    assert_eq!(slice_owner("workload.slice-extra"), None);
    assert_eq!(slice_owner("pact.slice-evil/x.scope"), None);
}

#[test]
fn slice_owner_absolute_and_ambiguous_paths() {
    assert_eq!(slice_owner("/sys/fs/cgroup/pact.slice/gpu.slice"), Some(SliceOwner::Pact));
    assert_eq!(slice_owner("/sys/fs/cgroup/unified/workload.slice"), Some(SliceOwner::Workload));
    assert_eq!(slice_owner("/workload.slice/job.scope"), Some(SliceOwner::Workload));
    assert_eq!(slice_owner("/sys/fs/cgroup/unified"), None);
    assert_eq!(slice_owner("workload.slice/../pact.slice"), None);
    assert_eq!(slice_owner("pact.slice//x"), None);
    assert_eq!(slice_owner("./pact.slice"), None);
}

#[test]
fn slice_owner_serialization() {
    for owner in [SliceOwner::Pact, SliceOwner::Workload] {
        let json = serde_json::to_string(&owner).unwrap();
        let back: SliceOwner = serde_json::from_str(&json).unwrap();
        assert_eq!(back, owner);
    }
    assert_eq!(serde_json::to_string(&SliceOwner::Pact).unwrap(), "\"Pact\"");
}

#[test]
fn resource_limits_default_and_values() {
    let limits = ResourceLimits::default();
    assert!(limits.memory_max.is_none() && limits.cpu_weight.is_none() && limits.io_max.is_none());
    let limits = ResourceLimits { memory_max: Some(512 * 1024 * 1024), cpu_weight: Some(200), io_max: Some(100_000_000) };
    assert_eq!(limits.memory_max, Some(536_870_912));
    assert_eq!(limits.cpu_weight, Some(200));
    assert_eq!(limits.io_max, Some(100_000_000));
}

#[test]
fn resource_limits_serialization_roundtrip() {
    let limits = ResourceLimits { memory_max: Some(1024), cpu_weight: Some(500), io_max: None };
    let back: ResourceLimits = serde_json::from_str(&serde_json::to_string(&limits).unwrap()).unwrap();
    assert_eq!(back.memory_max, Some(1024));
    assert_eq!(back.cpu_weight, Some(500));
    assert!(back.io_max.is_none());
}

#[test]
fn cgroup_handle_and_metrics_default() {
    let handle = CgroupHandle { path: "/sys/fs/cgroup/pact.slice/gpu.slice/nvidia-persistenced".to_string() };
    assert!(handle.path.contains("pact.slice"));
    let m = CgroupMetrics::default();
    assert_eq!((m.memory_current, m.memory_max, m.cpu_usage_usec, m.nr_processes), (0, None, 0, 0));
}

#[test]
fn error_display_is_the_seeds() {
    let e = CgroupError::CreationFailed { reason: "no space".to_string() };
    assert_eq!(e.to_string(), "cgroup creation failed: no space");
    let e = CgroupError::KillFailed { path: "/sys/fs/cgroup/test".to_string(), reason: "D-state".to_string() };
    assert_eq!(e.to_string(), "cgroup.kill failed for /sys/fs/cgroup/test: D-state");
    let e = CgroupError::NotFound { path: "x".into() };
    assert_eq!(e.to_string(), "cgroup path not found: x");
    let e = CgroupError::PermissionDenied { path: "workload.slice".to_string(), owner: SliceOwner::Workload };
    assert_eq!(e.to_string(), "permission denied: workload.slice owned by Workload");
    let e = CgroupError::from(std::io::Error::new(std::io::ErrorKind::Other, "gone"));
    assert_eq!(e.to_string(), "cgroup I/O error: gone");
    let e = MountError::MountFailed { image_path: "/i".into(), reason: "r".into() };
    assert_eq!(e.to_string(), "mount failed for /i: r");
    let e = MountError::UnmountFailed { mount_point: "/m".into(), reason: "r".into() };
    assert_eq!(e.to_string(), "unmount failed for /m: r");
    let e = MountError::RefcountInconsistency { image_path: "/i".into(), detail: "d".into() };
    assert_eq!(e.to_string(), "refcount inconsistency for /i: d");
    let e = MountError::from(std::io::Error::new(std::io::ErrorKind::Other, "gone"));
    assert_eq!(e.to_string(), "mount I/O error: gone");
}

#[test]
fn mount_handle_serialization_and_paths() {
    let handle = MountHandle {
        image_path: "/images/pytorch-2.5.sqfs".to_string(),
        mount_point: "/run/pact/uenv/pytorch-2.5".to_string(),
    };
    let back: MountHandle = serde_json::from_str(&serde_json::to_string(&handle).unwrap()).unwrap();
    assert_eq!(back.image_path, "/images/pytorch-2.5.sqfs");
    assert_eq!(back.mount_point, "/run/pact/uenv/pytorch-2.5");
    assert!(paths::UENV_MOUNT_BASE.starts_with("/run/pact/"));
    assert!(paths::WORKDIR_BASE.starts_with("/run/pact/"));
    assert!(paths::DATA_STAGE_BASE.starts_with("/run/pact/"));
    assert_eq!(DEFAULT_HOLD_TIME_SECS, 60);
}

/// The seed's mock, and its strict variant: the trait is implementable,
/// and a trait object is shared by threads.
struct StrictMock;

impl CgroupManager for StrictMock {
    fn create_hierarchy(&self) -> Result<(), CgroupError> {
        Ok(())
    }
    fn create_scope(&self, parent_slice: &str, name: &str, _: &ResourceLimits) -> Result<CgroupHandle, CgroupError> {
        if let Some(owner) = slice_owner(parent_slice) {
            if owner != SliceOwner::Pact {
                return Err(CgroupError::PermissionDenied { path: parent_slice.to_string(), owner });
            }
        }
        Ok(CgroupHandle { path: format!("{parent_slice}/{name}.scope") })
    }
    fn destroy_scope(&self, _: &CgroupHandle) -> Result<(), CgroupError> {
        Ok(())
    }
    fn read_metrics(&self, _: &str) -> Result<CgroupMetrics, CgroupError> {
        Ok(CgroupMetrics::default())
    }
    fn is_scope_empty(&self, _: &CgroupHandle) -> Result<bool, CgroupError> {
        Ok(true)
    }
}

#[test]
fn mock_lifecycle_and_permission_denied_across_threads() {
    let mgr: Arc<dyn CgroupManager> = Arc::new(StrictMock);
    mgr.create_hierarchy().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let mgr = Arc::clone(&mgr);
            thread::spawn(move || mgr.create_scope(slices::PACT_GPU, &format!("svc{i}"), &ResourceLimits::default()))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        assert_eq!(h.join().unwrap().unwrap().path, format!("pact.slice/gpu.slice/svc{i}.scope"));
    }
    let err = mgr.create_scope(slices::WORKLOAD_ROOT, "test", &ResourceLimits::default()).unwrap_err();
    assert!(matches!(err, CgroupError::PermissionDenied { owner: SliceOwner::Workload, .. }));
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn clients_are_send_and_sync() {
    assert_send_sync::<CgroupClient>();
    assert_send_sync::<MountClient>();
    assert_send_sync::<Box<dyn CgroupManager>>();
    assert_send_sync::<Box<dyn MountManager>>();
}
