//! A child started held before its program: `sh` opens a FIFO (blocking
//! until the parent opens its end), waits for one line, and only then
//! execs the program. Between the two the parent places it. No unsafe
//! code: `std` gives no pre-exec hook without it.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::CgroupError;

/// O_NONBLOCK, the same on every Linux architecture this builds for
/// (x86-64, arm64): opening a FIFO's write end without a reader fails
/// (ENXIO) instead of blocking.
const O_NONBLOCK: i32 = 0o4000;
const ENXIO: i32 = 6;

/// The gate: fd 3 is the FIFO ($0); one line lets the program run.
const GATE: &str = r#"exec 3<"$0" && IFS= read -r _ <&3 && exec 3<&- && exec "$@""#;

static SEQ: AtomicU64 = AtomicU64::new(0);

struct Gate {
    dir: PathBuf,
    fifo: PathBuf,
}

impl Gate {
    fn new() -> io::Result<Gate> {
        let dir = std::env::temp_dir().join(format!(
            "hpcnode-spawn-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        DirBuilder::new().mode(0o700).create(&dir)?;
        let fifo = dir.join("gate");
        let gate = Gate { dir, fifo };
        let status = Command::new("mkfifo").arg("-m").arg("600").arg(&gate.fifo).status()?;
        if !status.success() {
            return Err(io::Error::new(io::ErrorKind::Other, format!("mkfifo {}: {}", gate.fifo.display(), status)));
        }
        Ok(gate)
    }

    /// Opens the write end once the child holds the read end.
    fn open_when_held(&self, child: &mut Child) -> io::Result<fs::File> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match OpenOptions::new().write(true).custom_flags(O_NONBLOCK).open(&self.fifo) {
                Ok(f) => return Ok(f),
                Err(e) if e.raw_os_error() == Some(ENXIO) => {}
                Err(e) => return Err(e),
            }
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::new(io::ErrorKind::Other, format!("the child exited before its program: {status}")));
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "the child did not reach its gate in 10 s"));
            }
            sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.fifo);
        let _ = fs::remove_dir(&self.dir);
    }
}

fn gated_command(command: &Command, fifo: &PathBuf) -> Command {
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c").arg(GATE).arg(fifo).arg(command.get_program()).args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(v) => sh.env(key, v),
            None => sh.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        sh.current_dir(dir);
    }
    sh
}

/// Starts `command` held, lets `place(pid)` put it where it belongs, then
/// lets it run. A refused placement kills and reaps it.
pub(crate) fn spawn_gated(
    command: &Command,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
    place: impl FnOnce(u32) -> Result<(), CgroupError>,
) -> Result<Child, CgroupError> {
    let gate = Gate::new()?;
    let mut child = gated_command(command, &gate.fifo).stdin(stdin).stdout(stdout).stderr(stderr).spawn()?;
    let run = (|| {
        let mut end = gate.open_when_held(&mut child)?;
        place(child.id())?;
        end.write_all(b"go\n")?;
        Ok(())
    })();
    match run {
        Ok(()) => Ok(child),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}
