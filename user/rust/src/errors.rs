//! The daemon's error replies as the seed's error variants. The daemon's
//! messages already use the seed's `Display` shapes ("cgroup.kill failed
//! for P: R"); the variant keeps the part after that prefix, so the text
//! is not said twice.

use std::io;

use crate::api::{CallError, Failure};
use crate::{CgroupError, MountError, SliceOwner};

fn after<'a>(message: &'a str, prefix: &str) -> &'a str {
    message.strip_prefix(prefix).unwrap_or(message)
}

/// The part after "<shape> <subject>: ", if the message has that shape.
fn reason_after(message: &str, shape: &str, subject: &str) -> String {
    let head = format!("{shape}{subject}: ");
    if let Some(rest) = message.strip_prefix(&head) {
        return rest.to_string();
    }
    after(message, shape).to_string()
}

fn io_of(f: &Failure) -> io::Error {
    let kind = if f.errno > 0 { io::Error::from_raw_os_error(f.errno).kind() } else { io::ErrorKind::Other };
    io::Error::new(kind, f.message.clone())
}

/// "permission denied: <path> owned by <owner>": the path and its owner.
fn owner_refusal(message: &str) -> Option<(String, SliceOwner)> {
    let rest = message.strip_prefix("permission denied: ")?;
    let at = rest.rfind(" owned by ")?;
    let owner = match &rest[at + " owned by ".len()..] {
        "pact" => SliceOwner::Pact,
        "workload" => SliceOwner::Workload,
        _ => return None,
    };
    Some((rest[..at].to_string(), owner))
}

pub(crate) fn cgroup_error(e: CallError, path: &str) -> CgroupError {
    let f = match e {
        CallError::Io(e) => return CgroupError::Io(e),
        CallError::Daemon(f) => f,
    };
    match f.kind.as_str() {
        "permission_denied" => match owner_refusal(&f.message) {
            Some((path, owner)) => CgroupError::PermissionDenied { path, owner },
            None => CgroupError::Io(io_of(&f)),
        },
        "kill_failed" => CgroupError::KillFailed {
            reason: reason_after(&f.message, "cgroup.kill failed for ", path),
            path: path.to_string(),
        },
        "not_found" => CgroupError::NotFound { path: path.to_string() },
        "creation_failed" | "invalid_argument" => {
            CgroupError::CreationFailed { reason: after(&f.message, "cgroup creation failed: ").to_string() }
        }
        _ => CgroupError::Io(io_of(&f)),
    }
}

pub(crate) fn mount_error(e: CallError, image: &str, mount_point: &str) -> MountError {
    let f = match e {
        CallError::Io(e) => return MountError::Io(e),
        CallError::Daemon(f) => f,
    };
    match f.kind.as_str() {
        "mount_failed" | "not_found" | "invalid_argument" => MountError::MountFailed {
            image_path: image.to_string(),
            reason: reason_after(&f.message, "mount failed for ", image),
        },
        "unmount_failed" => MountError::UnmountFailed {
            mount_point: mount_point.to_string(),
            reason: reason_after(&f.message, "unmount failed for ", mount_point),
        },
        "refcount_inconsistency" => MountError::RefcountInconsistency {
            image_path: image.to_string(),
            detail: reason_after(&f.message, "refcount inconsistency for ", image),
        },
        _ => MountError::Io(io_of(&f)),
    }
}

/// A force unmount refused: outside an emergency, that is the reason.
pub(crate) fn force_error(e: CallError, image: &str) -> MountError {
    match e {
        CallError::Daemon(f) if f.kind == "permission_denied" => {
            MountError::UnmountFailed { mount_point: image.to_string(), reason: f.message }
        }
        e => mount_error(e, image, image),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(kind: &str, errno: i32, message: &str) -> CallError {
        CallError::Daemon(Failure { kind: kind.into(), errno, message: message.into() })
    }

    #[test]
    fn each_kind_its_variant() {
        let e = cgroup_error(
            daemon("permission_denied", 1, "permission denied: /sys/fs/cgroup/workload.slice owned by workload"),
            "workload.slice",
        );
        assert_eq!(e.to_string(), "permission denied: /sys/fs/cgroup/workload.slice owned by Workload");
        let e = cgroup_error(
            daemon("kill_failed", 16, "cgroup.kill failed for w.scope: 1 process(es) still present"),
            "w.scope",
        );
        assert_eq!(e.to_string(), "cgroup.kill failed for w.scope: 1 process(es) still present");
        let e = cgroup_error(daemon("not_found", 2, "cgroup path not found: /x"), "x");
        assert!(matches!(e, CgroupError::NotFound { ref path } if path == "x"));
        let e = cgroup_error(daemon("creation_failed", 17, "cgroup creation failed: /a: already exists"), "a");
        assert_eq!(e.to_string(), "cgroup creation failed: /a: already exists");
        // a refusal by role names no owner: the daemon's words, as I/O
        let e = cgroup_error(daemon("permission_denied", 1, "role unknown may not call scope.create"), "p");
        match e {
            CgroupError::Io(io) => {
                assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
                assert_eq!(io.to_string(), "role unknown may not call scope.create");
            }
            other => panic!("{other:?}"),
        }
        let e = mount_error(daemon("mount_failed", 22, "mount failed for /i.sqfs: not a squashfs image"), "/i.sqfs", "");
        assert_eq!(e.to_string(), "mount failed for /i.sqfs: not a squashfs image");
        let e = mount_error(daemon("refcount_inconsistency", 3, "refcount inconsistency for /i: no holder j"), "/i", "");
        assert_eq!(e.to_string(), "refcount inconsistency for /i: no holder j");
        let e = force_error(daemon("permission_denied", 1, "permission denied: force unmount of /i needs a declared emergency"), "/i");
        assert_eq!(e.to_string(), "unmount failed for /i: permission denied: force unmount of /i needs a declared emergency");
    }
}
