//! [`MountClient`]: the seed's [`MountManager`] served by hpcnoded.
//!
//! The trait's `acquire_mount(image)` names no allocation, while the
//! daemon counts holders (WI2: refcount == holders). A client either is
//! bound to one allocation ([`MountClient::bound_to`]: every acquire is
//! that allocation's), or gives every acquire a holder id of its own
//! (`rs<pid>-<time>-<n>`). Either way the handle's `mount_point` is the
//! holder's bind (`<workdir>/<holder>/uenv/<name>`), so a handle names its
//! holder: `release_mount(&handle)` releases exactly that reference, also
//! from a handle kept in a journal across a restart.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::{default_socket, CallError, Connection};
use crate::errors::{force_error, mount_error};
use crate::{MountError, MountHandle, MountManager};

/// A client of hpcnoded's mount calls (see the module's documentation for
/// how a holder is named). `Send + Sync`, like [`crate::CgroupClient`].
#[derive(Debug)]
pub struct MountClient {
    conn: Connection,
    workdir_base: String,
    allocation: Option<String>,
    prefix: String,
    seq: AtomicU64,
}

/// One holder of an image, as `mount.list` tells it.
#[derive(Debug, Clone, Deserialize)]
pub struct Holder {
    /// The allocation (holder id).
    pub allocation: String,
    /// Who acquired it: `pact`, `workload`, `operator` or `unknown`.
    pub owner: String,
}

/// One image the daemon manages, as `mount.list` tells it.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageState {
    /// The image file.
    pub image: String,
    /// Where the image itself is mounted.
    pub mount_point: String,
    /// Its holders' count (WI2).
    pub refcount: u32,
    /// Who holds it.
    #[serde(default)]
    pub holders: Vec<Holder>,
    /// Unheld and waiting out its hold time (WI3).
    #[serde(default)]
    pub holding: bool,
    /// Milliseconds of hold time left.
    #[serde(default)]
    pub hold_remaining_ms: u64,
}

impl MountClient {
    /// Connects to `$HPCNODE_SOCKET`, or `/run/hpcnode/hpcnoded.sock`.
    pub fn connect_default() -> Result<MountClient, MountError> {
        MountClient::connect(default_socket())
    }

    /// Connects to the daemon's socket at `path`.
    pub fn connect(path: impl AsRef<Path>) -> Result<MountClient, MountError> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let conn = Connection::open(path.as_ref())?;
        let status = conn.call("status", Value::Object(Map::new())).map_err(|e| mount_error(e, "", ""))?;
        let workdir_base = status.get("workdir_base").and_then(Value::as_str).unwrap_or("").to_string();
        Ok(MountClient {
            conn,
            workdir_base,
            allocation: None,
            prefix: format!("rs{}-{:x}", std::process::id(), nanos),
            seq: AtomicU64::new(0),
        })
    }

    /// This client's trait acquires are all for `allocation`.
    pub fn bound_to(mut self, allocation: &str) -> MountClient {
        self.allocation = Some(allocation.to_string());
        self
    }

    fn call(&self, name: &str, args: Value) -> Result<Value, CallError> {
        self.conn.call(name, args)
    }

    /// Acquires `image` for `allocation`: one more holder (WI2).
    pub fn acquire_for(&self, image_path: &str, allocation: &str) -> Result<MountHandle, MountError> {
        let v = self
            .call("mount.acquire", json!({ "image": image_path, "allocation": allocation }))
            .map_err(|e| mount_error(e, image_path, ""))?;
        match v.get("bind_path").and_then(Value::as_str) {
            Some(bind) => Ok(MountHandle { image_path: image_path.to_string(), mount_point: bind.to_string() }),
            None => Err(MountError::MountFailed {
                image_path: image_path.to_string(),
                reason: "hpcnoded's reply names no bind path".into(),
            }),
        }
    }

    /// Releases `allocation`'s hold on `image`.
    pub fn release_for(&self, image_path: &str, allocation: &str) -> Result<(), MountError> {
        self.call("mount.release", json!({ "image": image_path, "allocation": allocation }))
            .map(|_| ())
            .map_err(|e| mount_error(e, image_path, ""))
    }

    /// The holder a handle from this crate names: the allocation whose
    /// bind `mount_point` is (`<WorkdirBase>/<holder>/uenv/<name>`); `None`
    /// for any other path (the image's own mount, say).
    pub fn holder_of(&self, handle: &MountHandle) -> Option<String> {
        holder_in(&self.workdir_base, &handle.mount_point)
    }

    /// The number of holders of `image`.
    pub fn refcount(&self, image_path: &str) -> Result<u32, MountError> {
        let v = self.call("mount.refcount", json!({ "image": image_path })).map_err(|e| mount_error(e, image_path, ""))?;
        Ok(v.get("refcount").and_then(Value::as_u64).unwrap_or(0) as u32)
    }

    /// Every image the daemon manages, with its holders.
    pub fn list(&self) -> Result<Vec<ImageState>, MountError> {
        let v = self.call("mount.list", Value::Object(Map::new())).map_err(|e| mount_error(e, "", ""))?;
        let images = v.get("images").cloned().unwrap_or(Value::Array(Vec::new()));
        serde_json::from_value(images).map_err(|e| MountError::Io(e.into()))
    }

    fn role(&self) -> Result<String, MountError> {
        let v = self.call("status", Value::Object(Map::new())).map_err(|e| mount_error(e, "", ""))?;
        Ok(v.pointer("/caller/role").and_then(Value::as_str).unwrap_or("unknown").to_string())
    }

    fn next_holder(&self) -> String {
        match &self.allocation {
            Some(a) => a.clone(),
            None => format!("{}-{}", self.prefix, self.seq.fetch_add(1, Ordering::Relaxed)),
        }
    }
}

fn holder_in(workdir_base: &str, mount_point: &str) -> Option<String> {
    if workdir_base.is_empty() {
        return None;
    }
    let rest = mount_point.strip_prefix(workdir_base)?.strip_prefix('/')?;
    let mut parts = rest.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(holder), Some("uenv"), Some(name), None) if !holder.is_empty() && !name.is_empty() => {
            Some(holder.to_string())
        }
        _ => None,
    }
}

impl MountManager for MountClient {
    fn acquire_mount(&self, image_path: &str) -> Result<MountHandle, MountError> {
        self.acquire_for(image_path, &self.next_holder())
    }

    fn release_mount(&self, handle: &MountHandle) -> Result<(), MountError> {
        let holder = self.holder_of(handle).ok_or_else(|| MountError::RefcountInconsistency {
            image_path: handle.image_path.clone(),
            detail: format!("{} is not a holder's bind: the handle names no holder", handle.mount_point),
        })?;
        self.release_for(&handle.image_path, &holder)
    }

    fn force_unmount(&self, image_path: &str) -> Result<(), MountError> {
        self.call("mount.force_unmount", json!({ "image": image_path }))
            .map(|_| ())
            .map_err(|e| force_error(e, image_path))
    }

    /// hpcnoded rebuilds its refcounts itself at every start (an
    /// allocation is live while its workdir exists). This makes them the
    /// caller's truth: every holder this caller's role acquired that is
    /// not in `active_allocations` (allocation ids, or what
    /// [`MountClient::holder_of`] says of a journalled handle) is released, so the image starts its hold time
    /// once unheld; an operator then has the daemon compare its state with
    /// the mount table (`mount.reconcile`).
    fn reconstruct_state(&self, active_allocations: &[String]) -> Result<(), MountError> {
        let role = self.role()?;
        let active: HashSet<&str> = active_allocations.iter().map(String::as_str).collect();
        for image in self.list()? {
            for h in image.holders.iter().filter(|h| h.owner == role && !active.contains(h.allocation.as_str())) {
                self.release_for(&image.image, &h.allocation)?;
            }
        }
        if role == "operator" {
            self.call("mount.reconcile", Value::Object(Map::new())).map_err(|e| mount_error(e, "", ""))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bind_names_its_holder() {
        let base = "/run/pact/workdir";
        assert_eq!(holder_in(base, "/run/pact/workdir/job42/uenv/a-3f2a").as_deref(), Some("job42"));
        assert_eq!(holder_in(base, "/run/pact/uenv/a-3f2a"), None); // the image's own mount
        assert_eq!(holder_in(base, "/run/pact/workdir/job42/uenv"), None);
        assert_eq!(holder_in(base, "/run/pact/workdir/job42/uenv/a/b"), None);
        assert_eq!(holder_in(base, "/run/pact/workdirx/job42/uenv/a"), None);
        assert_eq!(holder_in("", "/job42/uenv/a"), None);
    }
}
