//! A real hpcnoded for the integration tests: a scratch cgroup root under
//! the cgroup2 mount, a scratch directory for its state, and two copies of
//! the running test binary configured as pact's and lattice's executables
//! (`Executable=` identities are by inode), run again to act as them.
//! Needs root, cgroup2 and the daemon (`$HPCNODED`, else the test build's);
//! otherwise each test says `SKIP: <reason>` and passes.

#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The env var that makes `role_scenario` run a scenario (in a child).
pub const SCENARIO: &str = "HN_RS_SCENARIO";

pub struct Daemon {
    pub dir: PathBuf,
    pub cg_root: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
    pub pact_exe: PathBuf,
    pub workload_exe: PathBuf,
    child: Option<Child>,
}

fn cgroup2_mount() -> Option<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut found = Vec::new();
    for line in info.lines() {
        let (left, right) = line.split_once(" - ")?;
        if right.split(' ').next() == Some("cgroup2") {
            found.push(PathBuf::from(left.split(' ').nth(4)?));
        }
    }
    for want in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        if found.iter().any(|p| p == Path::new(want)) {
            return Some(PathBuf::from(want));
        }
    }
    found.into_iter().next()
}

/// The cgroup-v1 freezer's mount, if the host has one (an unkillable task).
pub fn v1_freezer() -> Option<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mut r = right.split(' ');
        (r.next() == Some("cgroup") && r.nth(1)?.split(',').any(|o| o == "freezer"))
            .then(|| PathBuf::from(left.split(' ').nth(4).unwrap_or("")))
    })
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

pub fn daemon_binary() -> PathBuf {
    std::env::var_os("HPCNODED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../build/test/hpcnoded"))
}

pub fn in_scenario() -> bool {
    std::env::var_os(SCENARIO).is_some()
}

/// Whether the real daemon can run here; the reason if not.
pub fn unavailable() -> Option<String> {
    if !is_root() {
        return Some("not root".into());
    }
    if cgroup2_mount().is_none() {
        return Some("no cgroup2 mount".into());
    }
    if !daemon_binary().exists() {
        return Some(format!("no daemon at {} (set HPCNODED)", daemon_binary().display()));
    }
    kernel_refused()
}

/// The kernel features hpcnoded refuses to start without, as its own
/// `--probe` lists them first ("... no (Linux 5.17); required: ..."); read
/// once (a Mutex, not OnceLock: the crate builds with Debian's Rust 1.63),
/// and the probe stopped after that list (the cost measurement that
/// follows takes seconds in a VM).
fn kernel_refused() -> Option<String> {
    static REFUSED: std::sync::Mutex<Option<Option<String>>> = std::sync::Mutex::new(None);
    let mut cached = REFUSED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    cached.get_or_insert_with(probe_refusal).clone()
}

fn probe_refusal() -> Option<String> {
    let mut child = Command::new(daemon_binary())
        .arg("--probe")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut missing = Vec::new();
    for line in BufReader::new(child.stdout.take()?).lines().map_while(Result::ok) {
        if line.starts_with("cgroup2 mount") {
            break; // the features are listed before it
        }
        if line.contains("required: hpcnoded refuses to start") {
            missing.push(line.split(" no (Linux").next().unwrap_or(&line).trim().to_string());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    (!missing.is_empty()).then(|| format!("hpcnoded refuses this kernel: it lacks {}", missing.join(", ")))
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl Daemon {
    /// A daemon with the scratch layout; `extra` goes into [hpcnoded].
    pub fn start(extra: &str) -> Daemon {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let tag = format!("hn-rust.{}.{}", std::process::id(), n);
        let dir = std::env::temp_dir().join(&tag);
        let cg_root = cgroup2_mount().expect("cgroup2").join(&tag);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::create_dir(&cg_root).unwrap();
        let me = std::env::current_exe().unwrap();
        let pact_exe = dir.join("pact-agent");
        let workload_exe = dir.join("workload-agent");
        for exe in [&pact_exe, &workload_exe] {
            fs::copy(&me, exe).unwrap(); // a copy each: identities are by inode
            fs::set_permissions(exe, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let socket = dir.join("hpcnoded.sock");
        let log = dir.join("audit.jsonl");
        let config = dir.join("hpcnoded.conf");
        fs::write(
            &config,
            format!(
                "[hpcnoded]\nCgroupRoot={}\nAuditLog={}\nJournal=no\nLossCheckMSec=100\nEmergencyState={}/emergency\n\
                 UenvBase={}/uenv\nWorkdirBase={}/workdir\nControlSocket={}\nMetricsTextfile=\nHoldTimeSec=1\n\
                 BpfPinDir=\nKillTimeoutMSec=1000\n{}\n[identity.pact]\nExecutable={}\n[identity.workload]\nExecutable={}\n",
                cg_root.display(),
                log.display(),
                dir.display(),
                dir.display(),
                dir.display(),
                socket.display(),
                extra,
                pact_exe.display(),
                workload_exe.display()
            ),
        )
        .unwrap();
        let out = fs::File::create(dir.join("hpcnoded.out")).unwrap();
        let child = Command::new(daemon_binary())
            .arg("--config")
            .arg(&config)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let d = Daemon { dir, cg_root, socket, log, pact_exe, workload_exe, child: Some(child) };
        // liveness, not speed: loading under TCG on a busy host is slow
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::os::unix::net::UnixStream::connect(&d.socket).is_err() {
            if Instant::now() > deadline {
                panic!("hpcnoded did not answer at {} ({})", d.socket.display(), d.output());
            }
            sleep(Duration::from_millis(20));
        }
        d
    }

    pub fn output(&self) -> String {
        fs::read_to_string(self.dir.join("hpcnoded.out")).unwrap_or_default()
    }

    /// Runs `scenario` in a copy of this test binary (`exe`): pact's,
    /// lattice's, or the original (the operator). Panics with its output if
    /// it fails.
    pub fn run_as(&self, exe: &Path, scenario: &str) {
        let out = self.run_as_output(exe, scenario);
        if !out.status.success() {
            panic!(
                "scenario {scenario} as {} failed: {}\n{}\n{}",
                exe.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    pub fn run_as_output(&self, exe: &Path, scenario: &str) -> Output {
        Command::new(exe)
            .args(["--ignored", "--exact", "role_scenario", "--nocapture", "--test-threads", "1"])
            .env(SCENARIO, scenario)
            .env("HPCNODE_SOCKET", &self.socket)
            .env("HN_RS_DIR", &self.dir)
            .env("HN_RS_CGROOT", &self.cg_root)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The audit records whose line contains `needle`, waiting up to 10 s
    /// for at least `n`.
    pub fn records(&self, needle: &str, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found: Vec<serde_json::Value> = fs::File::open(&self.log)
                .map(|f| {
                    BufReader::new(f)
                        .lines()
                        .filter_map(Result::ok)
                        .filter(|l| l.contains(needle))
                        .filter_map(|l| serde_json::from_str(&l).ok())
                        .collect()
                })
                .unwrap_or_default();
            if found.len() >= n || Instant::now() > deadline {
                return found;
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Whether the scratch root's slices offer every controller the limits need.
    pub fn has_controllers(&self) -> bool {
        let c = fs::read_to_string(self.cg_root.join("cgroup.controllers")).unwrap_or_default();
        c.split_whitespace().any(|x| x == "memory") && c.split_whitespace().any(|x| x == "cpu")
    }
}

/// Every cgroup below dir, deepest first.
fn cgroups_below(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                cgroups_below(&e.path(), out);
                out.push(e.path());
            }
        }
    }
}

const SIGTERM: i32 = 15;
extern "C" {
    // libc's, which std links; the libc crate is not a dependency.
    fn kill(pid: i32, sig: i32) -> i32;
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // From this process, its parent: the self guard refuses signals
            // to hpcnoded from anyone else (a `kill` child was refused, and
            // each test waited out the deadline below, 30 s, under BPF LSM).
            // SAFETY: kill(2) on our own child's pid; no memory is shared.
            if unsafe { kill(child.id() as i32, SIGTERM) } != 0 {
                eprintln!("SIGTERM to hpcnoded {}: {}", child.id(), std::io::Error::last_os_error());
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let mut all = Vec::new();
        cgroups_below(&self.cg_root, &mut all);
        all.push(self.cg_root.clone());
        for cg in &all {
            let _ = fs::write(cg.join("cgroup.kill"), "1");
        }
        for cg in &all {
            for _ in 0..100 {
                if fs::remove_dir(cg).is_ok() || !cg.exists() {
                    break;
                }
                sleep(Duration::from_millis(10));
            }
        }
        // the daemon keeps its mounts across a stop (a restart adopts them)
        let mut mounts: Vec<String> = fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|m| Path::new(m).starts_with(&self.dir))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").arg("-l").arg(&m).stderr(Stdio::null()).status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A squashfs image holding hello.txt with `text`.
pub fn make_image(path: &Path, text: &str) -> bool {
    let src = path.with_extension("src");
    let _ = fs::remove_dir_all(&src);
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("hello.txt"), text).unwrap();
    let _ = fs::remove_file(path);
    let ok = Command::new("mksquashfs")
        .arg(&src)
        .arg(path)
        .args(["-quiet", "-noappend", "-no-progress"])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let _ = fs::remove_dir_all(&src);
    ok
}

/// Freezes `group` (a cgroup-v1 freezer group holding `pid`) and waits,
/// as a liveness wait of up to 120 s, for the kernel to report it FROZEN.
/// FROZEN is written again each second: each write makes the kernel try
/// every task of the group once more, so a task that a loaded machine had
/// not yet scheduled into the refrigerator is asked again rather than
/// waited on. On failure, says the group's state and the task's.
pub fn freeze_v1(group: &Path, pid: u32) -> Result<(), String> {
    let state = group.join("freezer.state");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut next_kick = Instant::now();
    loop {
        if Instant::now() >= next_kick {
            fs::write(&state, "FROZEN").map_err(|e| format!("{}: {e}", state.display()))?;
            next_kick = Instant::now() + Duration::from_secs(1);
        }
        let now = fs::read_to_string(&state).unwrap_or_default();
        if now.starts_with("FROZEN") {
            return Ok(());
        }
        if Instant::now() > deadline {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let task = status.lines().find(|l| l.starts_with("State:")).unwrap_or("State: (gone)");
            let wchan = fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
            return Err(format!("{} still {} after 120 s; task {pid}: {task}, wchan {wchan}", state.display(), now.trim()));
        }
        sleep(Duration::from_millis(20));
    }
}

/// Polls `f` up to 10 s.
pub fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        if Instant::now() > deadline {
            return false;
        }
        sleep(Duration::from_millis(20));
    }
    true
}
