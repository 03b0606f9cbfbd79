//! [`CgroupClient`]: the seed's [`CgroupManager`] served by hpcnoded.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::{default_socket, Connection};
use crate::audit::AuditStream;
use crate::errors::cgroup_error;
use crate::spawn::spawn_gated;
use crate::{CgroupError, CgroupHandle, CgroupManager, CgroupMetrics, ResourceLimits};

/// A client of hpcnoded's cgroup calls. What it may do is decided by the
/// daemon from who the calling process is (its executable, uid or cgroup,
/// as `[identity.*]` configures): pact's agent writes in `pact.slice`,
/// lattice's in `workload.slice`, anyone reads (RI6).
///
/// `Send + Sync`: share one behind an `Arc`, or as `Box<dyn CgroupManager>`;
/// calls from several threads take turns on its connection. The daemon
/// checks at every call that the request is written by the process that
/// connected: a client does not survive a `fork` into the child.
#[derive(Debug)]
pub struct CgroupClient {
    conn: Connection,
}

/// An emergency as the daemon reports it (`emergency.status`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EmergencyState {
    /// Whether one is in force.
    pub active: bool,
    /// Who declared it, as the daemon recorded them (name, uid, pid, executable).
    #[serde(default)]
    pub actor: Option<String>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
    /// When it ends (seconds since the epoch).
    #[serde(default)]
    pub expires: Option<u64>,
    /// Seconds left.
    #[serde(default)]
    pub remaining_s: Option<u64>,
}

impl CgroupClient {
    /// Connects to `$HPCNODE_SOCKET`, or `/run/hpcnode/hpcnoded.sock`.
    pub fn connect_default() -> Result<CgroupClient, CgroupError> {
        CgroupClient::connect(default_socket())
    }

    /// Connects to the daemon's socket at `path`.
    pub fn connect(path: impl AsRef<Path>) -> Result<CgroupClient, CgroupError> {
        Ok(CgroupClient { conn: Connection::open(path.as_ref())? })
    }

    fn call(&self, name: &str, args: Value, path: &str) -> Result<Value, CgroupError> {
        self.conn.call(name, args).map_err(|e| cgroup_error(e, path))
    }

    /// Moves the process `pid` (its whole thread group) into the scope.
    pub fn attach(&self, handle: &CgroupHandle, pid: u32) -> Result<(), CgroupError> {
        self.call("scope.attach", json!({ "path": handle.path, "pid": pid }), &handle.path).map(|_| ())
    }

    /// Freezes the scope (`cgroup.freeze`), waiting until the kernel says so.
    pub fn freeze(&self, handle: &CgroupHandle) -> Result<(), CgroupError> {
        self.call("scope.freeze", json!({ "path": handle.path }), &handle.path).map(|_| ())
    }

    /// Thaws a frozen scope.
    pub fn thaw(&self, handle: &CgroupHandle) -> Result<(), CgroupError> {
        self.call("scope.thaw", json!({ "path": handle.path }), &handle.path).map(|_| ())
    }

    /// Starts `command` inside the scope: it runs nothing of its own
    /// outside it (RI2). The daemon does not spawn (it would become the
    /// parent): the child is started held before its program, attached,
    /// then let go. Its program, arguments, environment changes and
    /// working directory are `command`'s; its standard streams are
    /// inherited (see [`CgroupClient::spawn_into_with`]). If the attach is
    /// refused, the held child is killed and reaped and the error returned;
    /// destroying the scope then is the caller's call (RI5).
    pub fn spawn_into(&self, handle: &CgroupHandle, command: &Command) -> Result<Child, CgroupError> {
        self.spawn_into_with(handle, command, Stdio::inherit(), Stdio::inherit(), Stdio::inherit())
    }

    /// [`CgroupClient::spawn_into`] with the child's standard streams
    /// (a `std::process::Command` does not tell the ones it was given).
    pub fn spawn_into_with(
        &self,
        handle: &CgroupHandle,
        command: &Command,
        stdin: Stdio,
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<Child, CgroupError> {
        spawn_gated(command, stdin, stdout, stderr, |pid| self.attach(handle, pid))
    }

    /// Declares an emergency (the operator's): pact may then kill and
    /// freeze in `workload.slice` and force unmounts (RI3), for `duration`
    /// (1 s .. 24 h), recorded with `actor` and the caller the kernel names.
    pub fn emergency_begin(&self, reason: &str, duration: Duration, actor: &str) -> Result<EmergencyState, CgroupError> {
        let args = json!({ "reason": reason, "duration_s": duration.as_secs(), "actor": actor });
        let v = self.call("emergency.begin", args, "")?;
        serde_json::from_value(v).map_err(|e| CgroupError::Io(e.into()))
    }

    /// Ends the emergency.
    pub fn emergency_end(&self) -> Result<(), CgroupError> {
        self.call("emergency.end", Value::Object(Map::new()), "").map(|_| ())
    }

    /// The emergency in force, if any.
    pub fn emergency_status(&self) -> Result<EmergencyState, CgroupError> {
        let v = self.call("emergency.status", Value::Object(Map::new()), "")?;
        serde_json::from_value(v).map_err(|e| CgroupError::Io(e.into()))
    }

    /// The daemon's `status` (mode, counters, and who it takes the caller for).
    pub fn status(&self) -> Result<Value, CgroupError> {
        self.call("status", Value::Object(Map::new()), "")
    }

    /// Every audit record from now on, one JSON object each, on a
    /// connection of its own.
    pub fn subscribe(&self) -> Result<AuditStream, CgroupError> {
        Ok(AuditStream::open(self.conn.path())?)
    }
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

impl CgroupManager for CgroupClient {
    fn create_hierarchy(&self) -> Result<(), CgroupError> {
        self.call("hierarchy.create", Value::Object(Map::new()), "").map(|_| ())
    }

    fn create_scope(&self, parent_slice: &str, name: &str, limits: &ResourceLimits) -> Result<CgroupHandle, CgroupError> {
        let mut args = Map::new();
        args.insert("parent".into(), json!(parent_slice));
        args.insert("name".into(), json!(name));
        if let Some(v) = limits.memory_max {
            args.insert("memory_max".into(), json!(v));
        }
        if let Some(v) = limits.cpu_weight {
            args.insert("cpu_weight".into(), json!(v));
        }
        if let Some(v) = limits.io_max {
            args.insert("io_max".into(), json!(v));
        }
        let v = self.call("scope.create", Value::Object(args), parent_slice)?;
        match v.get("abs_path").and_then(Value::as_str) {
            Some(path) => Ok(CgroupHandle { path: path.to_string() }),
            None => Err(CgroupError::CreationFailed { reason: "hpcnoded's reply names no path".into() }),
        }
    }

    fn destroy_scope(&self, handle: &CgroupHandle) -> Result<(), CgroupError> {
        self.call("scope.destroy", json!({ "path": handle.path }), &handle.path).map(|_| ())
    }

    fn read_metrics(&self, path: &str) -> Result<CgroupMetrics, CgroupError> {
        let v = self.call("scope.metrics", json!({ "path": path }), path)?;
        Ok(CgroupMetrics {
            memory_current: u64_of(&v, "memory_current"),
            memory_max: v.get("memory_max").and_then(Value::as_u64), // "max" (or absent): unlimited
            cpu_usage_usec: u64_of(&v, "cpu_usage_usec"),
            nr_processes: u64_of(&v, "processes") as u32,
        })
    }

    fn is_scope_empty(&self, handle: &CgroupHandle) -> Result<bool, CgroupError> {
        let v = self.call("scope.is_empty", json!({ "path": handle.path }), &handle.path)?;
        v.get("empty").and_then(Value::as_bool).ok_or_else(|| {
            CgroupError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, "hpcnoded's reply has no \"empty\""))
        })
    }
}
