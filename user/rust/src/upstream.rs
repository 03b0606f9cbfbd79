//! The `hpc-node` feature: the same clients as the upstream crate's
//! `hpc_node::CgroupManager` and `hpc_node::MountManager`, so pact and
//! lattice, written against the upstream traits, need no adapter. Values
//! cross field by field; errors variant by variant.

use crate as ours;

fn owner_up(o: ours::SliceOwner) -> hpc_node::SliceOwner {
    match o {
        ours::SliceOwner::Pact => hpc_node::SliceOwner::Pact,
        ours::SliceOwner::Workload => hpc_node::SliceOwner::Workload,
    }
}

fn cgroup_error_up(e: ours::CgroupError) -> hpc_node::CgroupError {
    match e {
        ours::CgroupError::CreationFailed { reason } => hpc_node::CgroupError::CreationFailed { reason },
        ours::CgroupError::KillFailed { path, reason } => hpc_node::CgroupError::KillFailed { path, reason },
        ours::CgroupError::NotFound { path } => hpc_node::CgroupError::NotFound { path },
        ours::CgroupError::PermissionDenied { path, owner } => {
            hpc_node::CgroupError::PermissionDenied { path, owner: owner_up(owner) }
        }
        ours::CgroupError::Io(e) => hpc_node::CgroupError::Io(e),
    }
}

fn mount_error_up(e: ours::MountError) -> hpc_node::MountError {
    match e {
        ours::MountError::MountFailed { image_path, reason } => hpc_node::MountError::MountFailed { image_path, reason },
        ours::MountError::UnmountFailed { mount_point, reason } => {
            hpc_node::MountError::UnmountFailed { mount_point, reason }
        }
        ours::MountError::RefcountInconsistency { image_path, detail } => {
            hpc_node::MountError::RefcountInconsistency { image_path, detail }
        }
        ours::MountError::Io(e) => hpc_node::MountError::Io(e),
    }
}

fn handle_up(h: ours::CgroupHandle) -> hpc_node::CgroupHandle {
    hpc_node::CgroupHandle { path: h.path }
}

fn handle_ours(h: &hpc_node::CgroupHandle) -> ours::CgroupHandle {
    ours::CgroupHandle { path: h.path.clone() }
}

fn mount_handle_up(h: ours::MountHandle) -> hpc_node::MountHandle {
    hpc_node::MountHandle { image_path: h.image_path, mount_point: h.mount_point }
}

impl hpc_node::CgroupManager for ours::CgroupClient {
    fn create_hierarchy(&self) -> Result<(), hpc_node::CgroupError> {
        ours::CgroupManager::create_hierarchy(self).map_err(cgroup_error_up)
    }

    fn create_scope(
        &self,
        parent_slice: &str,
        name: &str,
        limits: &hpc_node::ResourceLimits,
    ) -> Result<hpc_node::CgroupHandle, hpc_node::CgroupError> {
        let limits = ours::ResourceLimits {
            memory_max: limits.memory_max,
            cpu_weight: limits.cpu_weight,
            io_max: limits.io_max,
        };
        ours::CgroupManager::create_scope(self, parent_slice, name, &limits).map(handle_up).map_err(cgroup_error_up)
    }

    fn destroy_scope(&self, handle: &hpc_node::CgroupHandle) -> Result<(), hpc_node::CgroupError> {
        ours::CgroupManager::destroy_scope(self, &handle_ours(handle)).map_err(cgroup_error_up)
    }

    fn read_metrics(&self, path: &str) -> Result<hpc_node::CgroupMetrics, hpc_node::CgroupError> {
        let m = ours::CgroupManager::read_metrics(self, path).map_err(cgroup_error_up)?;
        Ok(hpc_node::CgroupMetrics {
            memory_current: m.memory_current,
            memory_max: m.memory_max,
            cpu_usage_usec: m.cpu_usage_usec,
            nr_processes: m.nr_processes,
        })
    }

    fn is_scope_empty(&self, handle: &hpc_node::CgroupHandle) -> Result<bool, hpc_node::CgroupError> {
        ours::CgroupManager::is_scope_empty(self, &handle_ours(handle)).map_err(cgroup_error_up)
    }
}

impl hpc_node::MountManager for ours::MountClient {
    fn acquire_mount(&self, image_path: &str) -> Result<hpc_node::MountHandle, hpc_node::MountError> {
        ours::MountManager::acquire_mount(self, image_path).map(mount_handle_up).map_err(mount_error_up)
    }

    fn release_mount(&self, handle: &hpc_node::MountHandle) -> Result<(), hpc_node::MountError> {
        let h = ours::MountHandle { image_path: handle.image_path.clone(), mount_point: handle.mount_point.clone() };
        ours::MountManager::release_mount(self, &h).map_err(mount_error_up)
    }

    fn force_unmount(&self, image_path: &str) -> Result<(), hpc_node::MountError> {
        ours::MountManager::force_unmount(self, image_path).map_err(mount_error_up)
    }

    fn reconstruct_state(&self, active_allocations: &[String]) -> Result<(), hpc_node::MountError> {
        ours::MountManager::reconstruct_state(self, active_allocations).map_err(mount_error_up)
    }
}
