//! hpcnode for Rust: the seed's `CgroupManager` and `MountManager`
//! (pact's and lattice's contracts), served by hpcnoded, the node service
//! that guards both slices in the kernel.
//!
//! ```no_run
//! use hpcnode::{CgroupManager, MountManager};
//! let cg: Box<dyn CgroupManager> = Box::new(hpcnode::CgroupClient::connect_default()?);
//! let mounts: Box<dyn MountManager> = Box::new(hpcnode::MountClient::connect_default()?.bound_to("job42"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The types and traits are the seed's (`cgroup`, `mount`), re-exported at
//! the root; the clients speak hpcnoded's JSON socket API with `std` I/O.
//! With the `hpc-node` feature the same clients implement the upstream
//! `hpc_node::CgroupManager` and `hpc_node::MountManager` as well.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod audit;
pub mod cgroup;
mod cgroup_client;
mod errors;
pub mod mount;
mod mount_client;
mod spawn;
#[cfg(feature = "hpc-node")]
mod upstream;

pub use api::{default_socket, DEFAULT_SOCKET};
pub use audit::AuditStream;
pub use cgroup::*;
pub use cgroup_client::{CgroupClient, EmergencyState};
pub use mount::*;
pub use mount_client::{Holder, ImageState, MountClient};
