//! The crate against a real hpcnoded: the lifecycle pact's end-to-end test
//! would run, lattice refused in pact's slice, the mount lifecycle with
//! two holders, the hold timer, force outside and inside an emergency and
//! reconstruction, each error variant from a real failure, and the audit
//! stream. Acts are made by copies of this binary the daemon knows as
//! pact's and lattice's executables (`role_scenario`).

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use common::{eventually, freeze_v1, in_scenario, make_image, unavailable, v1_freezer, Daemon, SCENARIO};
use hpcnode::*;

macro_rules! need_daemon {
    () => {
        if in_scenario() {
            return; // a scenario child runs role_scenario only
        }
        if let Some(why) = unavailable() {
            skip(&why);
            return;
        }
    };
}

/// A SKIP line of its own (the harness may have printed the test's name
/// on the line before).
fn skip(why: &str) {
    println!("\nSKIP: {why}");
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).expect(name))
}

/// The entry of the scenario children (`--ignored --exact role_scenario`);
/// ignored in a normal run: the scenarios are asserted through the tests
/// that start them.
#[test]
#[ignore = "run by the daemon tests, in the agents' processes"]
fn role_scenario() {
    let name = match std::env::var(SCENARIO) {
        Ok(n) => n,
        Err(_) => return,
    };
    match name.as_str() {
        "pact_e2e" => pact_e2e(),
        "workload_refused" => workload_refused(),
        "mount_workload" => mount_workload(),
        "mount_force_outside" => mount_force(false),
        "mount_force_inside" => mount_force(true),
        "mount_reconstruct" => mount_reconstruct(),
        #[cfg(feature = "hpc-node")]
        "upstream" => upstream(),
        other => panic!("no scenario {other}"),
    }
}

// ---- Scenarios: run as pact or lattice, in a child.

fn pact_e2e() {
    let cg: Box<dyn CgroupManager> = Box::new(CgroupClient::connect_default().unwrap());
    cg.create_hierarchy().unwrap();
    cg.create_hierarchy().unwrap(); // idempotent
    let root = env_path("HN_RS_CGROOT");
    let offered = fs::read_to_string(root.join("pact.slice/infra.slice/cgroup.controllers")).unwrap_or_default();
    let limited = offered.contains("memory") && offered.contains("cpu");
    // the VM suite has every controller: there the limits must be read back
    assert!(limited || std::env::var_os("HN_VM").is_none(), "no memory and cpu controllers in the VM");
    let limits = if limited {
        ResourceLimits { memory_max: Some(64 << 20), cpu_weight: Some(200), io_max: None }
    } else {
        ResourceLimits::default()
    };
    let h = cg.create_scope(slices::PACT_INFRA, "chronyd", &limits).unwrap();
    assert_eq!(PathBuf::from(&h.path), root.join("pact.slice/infra.slice/chronyd.scope"));
    assert!(Path::new(&h.path).is_dir());
    if limited {
        assert_eq!(fs::read_to_string(Path::new(&h.path).join("memory.max")).unwrap().trim(), "67108864");
        assert_eq!(fs::read_to_string(Path::new(&h.path).join("cpu.weight")).unwrap().trim(), "200");
        let m = cg.read_metrics(&h.path).unwrap();
        assert_eq!(m.memory_max, Some(64 << 20));
    }
    // pact refused in workload.slice, naming the owner; nothing made
    let err = cg.create_scope(slices::WORKLOAD_ROOT, "intruder", &ResourceLimits::default()).unwrap_err();
    match &err {
        CgroupError::PermissionDenied { owner: SliceOwner::Workload, path } => {
            assert_eq!(PathBuf::from(path), root.join("workload.slice"))
        }
        other => panic!("not refused as workload's: {other:?}"),
    }
    assert!(err.to_string().ends_with("owned by Workload"), "{err}");
    assert!(!root.join("workload.slice/intruder.scope").exists());
    // a process placed before its program runs, killed by destroy
    let client = CgroupClient::connect_default().unwrap();
    // the shell's builtins alone, and one write: a cat of its own would be
    // a second process in the scope for as long as it takes to exit (seen
    // counted), and a write per line would reach the read below in parts
    let mut cat = Command::new("sh");
    cat.arg("-c")
        .arg("s=; while read -r l; do s=\"$s$l\n\"; done < /proc/self/cgroup; printf %s \"$s\"; exec sleep 60");
    let mut child = client.spawn_into_with(&h, &cat, Stdio::null(), Stdio::piped(), Stdio::inherit()).unwrap();
    let mut first = [0u8; 512];
    let n = child.stdout.as_mut().unwrap().read(&mut first).unwrap();
    let seen = String::from_utf8_lossy(&first[..n]).to_string();
    assert!(seen.trim_end().ends_with("/pact.slice/infra.slice/chronyd.scope"), "the program ran in {seen}");
    assert!(!cg.is_scope_empty(&h).unwrap());
    assert_eq!(cg.read_metrics(&h.path).unwrap().nr_processes, 1);
    // the relative form names the same scope
    let rel = CgroupHandle { path: "pact.slice/infra.slice/chronyd.scope".into() };
    assert!(!cg.is_scope_empty(&rel).unwrap());
    cg.destroy_scope(&h).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "destroy kills: {status}");
    assert!(!Path::new(&h.path).exists());
    // metrics of any path (RI6); a missing one is NotFound
    cg.read_metrics("workload.slice").unwrap();
    match cg.read_metrics("pact.slice/nope.scope") {
        Err(CgroupError::NotFound { path }) => assert_eq!(path, "pact.slice/nope.scope"),
        other => panic!("{other:?}"),
    }
    match cg.create_scope(slices::PACT_INFRA, "a/b", &ResourceLimits::default()) {
        Err(CgroupError::CreationFailed { reason }) => assert!(reason.contains("a/b"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // one trait object, four threads
    let shared: Arc<dyn CgroupManager> = Arc::new(client);
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let cg = Arc::clone(&shared);
            thread::spawn(move || {
                let h = cg.create_scope(slices::PACT_GPU, &format!("t{i}"), &ResourceLimits::default())?;
                let empty = cg.is_scope_empty(&h)?;
                cg.destroy_scope(&h)?;
                Ok::<bool, CgroupError>(empty)
            })
        })
        .collect();
    for w in workers {
        assert!(w.join().unwrap().unwrap());
    }
}

fn workload_refused() {
    let cg = CgroupClient::connect_default().unwrap();
    match cg.create_scope(slices::PACT_INFRA, "borrowed", &ResourceLimits::default()) {
        Err(CgroupError::PermissionDenied { owner: SliceOwner::Pact, .. }) => {}
        other => panic!("{other:?}"),
    }
    let h = cg.create_scope(slices::WORKLOAD_ROOT, "job1", &ResourceLimits::default()).unwrap();
    assert!(cg.is_scope_empty(&h).unwrap());
    let pact_scope = CgroupHandle { path: "pact.slice/infra.slice".into() };
    assert!(matches!(cg.destroy_scope(&pact_scope), Err(_)));
    cg.destroy_scope(&h).unwrap();
}

fn image() -> String {
    env_path("HN_RS_DIR").join("app.sqfs").display().to_string()
}

fn mount_workload() {
    let img = image();
    let a = MountClient::connect_default().unwrap().bound_to("jobA");
    let b = MountClient::connect_default().unwrap().bound_to("jobB");
    let ha = a.acquire_mount(&img).unwrap();
    assert_eq!(a.holder_of(&ha).as_deref(), Some("jobA"));
    assert_eq!(fs::read_to_string(Path::new(&ha.mount_point).join("hello.txt")).unwrap(), "image-0\n");
    let hb = b.acquire_mount(&img).unwrap();
    assert_eq!(a.refcount(&img).unwrap(), 2);
    let listed = a.list().unwrap();
    let state = listed.iter().find(|s| s.image == img).unwrap();
    let mut holders: Vec<_> = state.holders.iter().map(|h| (h.allocation.as_str(), h.owner.as_str())).collect();
    holders.sort();
    assert_eq!(holders, [("jobA", "workload"), ("jobB", "workload")]);
    a.release_mount(&ha).unwrap();
    assert_eq!(a.refcount(&img).unwrap(), 1);
    b.release_mount(&hb).unwrap();
    assert_eq!(a.refcount(&img).unwrap(), 0);
    // a second release of the same hold is a refcount error, never negative
    match a.release_mount(&ha) {
        Err(MountError::RefcountInconsistency { image_path, .. }) => assert_eq!(image_path, img),
        other => panic!("{other:?}"),
    }
    // unheld: the hold timer (HoldTimeSec=1), then unmounted
    assert!(eventually(|| a.list().unwrap().iter().all(|s| s.image != img)), "still mounted after its hold time");
    // an unbound client: a holder per acquire, named by the handle
    let c = MountClient::connect_default().unwrap();
    let h1 = c.acquire_mount(&img).unwrap();
    let h2 = c.acquire_mount(&img).unwrap();
    assert_ne!(c.holder_of(&h1), c.holder_of(&h2));
    assert!(c.holder_of(&h1).unwrap().starts_with("rs"));
    assert_eq!(c.refcount(&img).unwrap(), 2);
    // a handle as a journal keeps it, read back by another client
    let kept: MountHandle = serde_json::from_str(&serde_json::to_string(&h1).unwrap()).unwrap();
    MountClient::connect_default().unwrap().release_mount(&kept).unwrap();
    c.release_mount(&h2).unwrap();
    assert_eq!(c.refcount(&img).unwrap(), 0);
    // not an image
    let bad = env_path("HN_RS_DIR").join("not-an-image");
    match c.acquire_mount(&bad.display().to_string()) {
        Err(MountError::MountFailed { reason, .. }) => assert!(reason.contains("squashfs"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // lattice may not force
    assert!(matches!(c.force_unmount(&img), Err(MountError::UnmountFailed { .. })));
}

fn mount_force(inside: bool) {
    let img = image();
    let p = MountClient::connect_default().unwrap().bound_to("jobP");
    if !inside {
        p.acquire_mount(&img).unwrap();
        match p.force_unmount(&img) {
            Err(MountError::UnmountFailed { reason, .. }) => assert!(reason.contains("emergency"), "{reason}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(p.refcount(&img).unwrap(), 1);
        return;
    }
    p.force_unmount(&img).unwrap();
    assert!(p.list().unwrap().iter().all(|s| s.image != img), "force left it mounted");
}

fn mount_reconstruct() {
    let img = image();
    let p = MountClient::connect_default().unwrap();
    p.acquire_for(&img, "jobR1").unwrap();
    p.acquire_for(&img, "jobR2").unwrap();
    assert_eq!(p.refcount(&img).unwrap(), 2);
    p.reconstruct_state(&["jobR1".to_string()]).unwrap();
    let listed = p.list().unwrap();
    let state = listed.iter().find(|s| s.image == img).unwrap();
    assert_eq!(state.refcount, 1);
    assert_eq!(state.holders.iter().map(|h| h.allocation.as_str()).collect::<Vec<_>>(), ["jobR1"]);
    p.release_for(&img, "jobR1").unwrap();
}

#[cfg(feature = "hpc-node")]
fn upstream() {
    let cg: Box<dyn hpc_node::CgroupManager> = Box::new(CgroupClient::connect_default().unwrap());
    cg.create_hierarchy().unwrap();
    let h = cg.create_scope(hpc_node::slices::PACT_AUDIT, "auditd", &hpc_node::ResourceLimits::default()).unwrap();
    assert!(cg.is_scope_empty(&h).unwrap());
    match cg.create_scope(hpc_node::slices::WORKLOAD_ROOT, "x", &hpc_node::ResourceLimits::default()) {
        Err(hpc_node::CgroupError::PermissionDenied { owner: hpc_node::SliceOwner::Workload, .. }) => {}
        other => panic!("{other:?}"),
    }
    cg.destroy_scope(&h).unwrap();
    let mounts: Box<dyn hpc_node::MountManager> = Box::new(MountClient::connect_default().unwrap().bound_to("jobU"));
    let m = mounts.acquire_mount(&image()).unwrap();
    mounts.release_mount(&m).unwrap();
}

// ---- The tests: each starts a daemon and runs scenarios as the agents.

#[test]
fn cgroup_lifecycle_as_pact_and_lattice() {
    need_daemon!();
    let d = Daemon::start("");
    d.run_as(&d.pact_exe, "pact_e2e");
    d.run_as(&d.workload_exe, "workload_refused");
    // the refusal is in the trail, with pact's identity
    let refused = d.records("\"outcome\":\"refused\"", 1);
    assert!(!refused.is_empty(), "no refusal recorded");
    assert_eq!(refused[0]["client"]["role"], "pact", "{}", refused[0]);
}

#[test]
fn mount_lifecycle() {
    need_daemon!();
    let d = Daemon::start("");
    if !make_image(&d.dir.join("app.sqfs"), "image-0\n") {
        skip("mksquashfs did not make an image");
        return;
    }
    fs::write(d.dir.join("not-an-image"), "text\n").unwrap();
    d.run_as(&d.workload_exe, "mount_workload");
    d.run_as(&d.pact_exe, "mount_force_outside");
    let op = CgroupClient::connect(&d.socket).unwrap();
    let e = op.emergency_begin("drain: rust test", Duration::from_secs(600), "hpcnode-rust").unwrap();
    assert!(e.active && e.actor.as_deref().unwrap_or("").starts_with("hpcnode-rust"), "{e:?}");
    d.run_as(&d.pact_exe, "mount_force_inside");
    op.emergency_end().unwrap();
    assert!(!op.emergency_status().unwrap().active);
    d.run_as(&d.pact_exe, "mount_reconstruct");
}

#[cfg(feature = "hpc-node")]
#[test]
fn upstream_traits_through_the_feature() {
    need_daemon!();
    let d = Daemon::start("");
    assert!(make_image(&d.dir.join("app.sqfs"), "image-0\n"));
    d.run_as(&d.pact_exe, "upstream");
}

#[test]
fn kill_failed_from_an_unkillable_task() {
    need_daemon!();
    let freezer = match v1_freezer() {
        Some(f) => f,
        None => {
            skip("no cgroup-v1 freezer to make an unkillable task");
            return;
        }
    };
    let d = Daemon::start("");
    let op = CgroupClient::connect(&d.socket).unwrap();
    op.create_hierarchy().unwrap();
    let h = op.create_scope(slices::WORKLOAD_ROOT, "stuck", &ResourceLimits::default()).unwrap();
    let mut child = Command::new("sleep").arg("600").spawn().unwrap();
    op.attach(&h, child.id()).unwrap();
    let group = freezer.join(format!("hn-rust.{}", std::process::id()));
    fs::create_dir_all(&group).unwrap();
    fs::write(group.join("tasks"), child.id().to_string()).unwrap();
    if let Err(why) = freeze_v1(&group, child.id()) {
        let _ = fs::write(group.join("freezer.state"), "THAWED");
        let _ = child.kill();
        panic!("{why}");
    }
    let err = op.destroy_scope(&h).unwrap_err();
    fs::write(group.join("freezer.state"), "THAWED").unwrap();
    match &err {
        CgroupError::KillFailed { path, reason } => {
            assert_eq!(path, &h.path);
            assert!(reason.contains("still present"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with(&format!("cgroup.kill failed for {}: ", h.path)), "{err}");
    // thawed, it dies: the zombie's name is free again
    op.destroy_scope(&h).unwrap();
    let _ = child.wait();
    let _ = fs::remove_dir(&group);
}

#[test]
fn audit_stream_sees_the_acts() {
    need_daemon!();
    let d = Daemon::start("");
    let op = CgroupClient::connect(&d.socket).unwrap();
    op.create_hierarchy().unwrap();
    let stream = op.subscribe().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for record in stream {
            let record = record.unwrap();
            if record.to_string().contains("watched.scope") {
                let _ = tx.send(record);
                return;
            }
        }
    });
    let h = op.create_scope(slices::WORKLOAD_ROOT, "watched", &ResourceLimits::default()).unwrap();
    let record = rx.recv_timeout(Duration::from_secs(10)).expect("no record of the new scope on the stream");
    assert!(record["event"].is_string(), "{record}");
    op.destroy_scope(&h).unwrap();
}

#[test]
fn no_daemon_is_an_io_error_naming_the_socket() {
    if in_scenario() {
        return;
    }
    match CgroupClient::connect("/nonexistent/hpcnoded.sock") {
        Err(CgroupError::Io(e)) => assert!(e.to_string().contains("/nonexistent/hpcnoded.sock"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(MountClient::connect("/nonexistent/hpcnoded.sock"), Err(MountError::Io(_))));
}
