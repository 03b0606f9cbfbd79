//! One connection to hpcnoded's API socket: a request is one JSON line, the
//! reply one JSON line (docs/socket-api.md). The daemon answers a
//! connection's requests in order, one at a time; a client shared by
//! threads takes turns on its connection.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Map, Value};

/// The socket hpcnoded listens on by default (`ControlSocket=`).
pub const DEFAULT_SOCKET: &str = "/run/hpcnode/hpcnoded.sock";

/// The socket to use: `$HPCNODE_SOCKET`, else [`DEFAULT_SOCKET`].
pub fn default_socket() -> PathBuf {
    std::env::var_os("HPCNODE_SOCKET")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

/// How long a reply may take: longer than any call the daemon bounds
/// (a destroy waits `KillTimeoutMSec`, 10 s by default).
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// A refusal or failure the daemon answered.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub kind: String,
    pub errno: i32,
    pub message: String,
}

/// Why a call did not succeed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The socket: not reachable, closed, or a reply that is not the API's.
    Io(io::Error),
    /// The daemon's error reply.
    Daemon(Failure),
}

impl From<io::Error> for CallError {
    fn from(e: io::Error) -> Self {
        CallError::Io(e)
    }
}

pub(crate) fn connect(path: &Path) -> io::Result<BufReader<UnixStream>> {
    let stream = UnixStream::connect(path)
        .map_err(|e| io::Error::new(e.kind(), format!("hpcnoded at {}: {}", path.display(), e)))?;
    stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
    Ok(BufReader::new(stream))
}

/// Sends one request and reads its reply line.
pub(crate) fn exchange(conn: &mut BufReader<UnixStream>, call: &str, args: Value) -> Result<Value, CallError> {
    let mut line = serde_json::to_string(&json!({ "call": call, "args": args }))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    line.push('\n');
    conn.get_mut().write_all(line.as_bytes())?;
    let mut reply = String::new();
    if conn.read_line(&mut reply)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "hpcnoded closed the connection").into());
    }
    decode_reply(&reply)
}

/// A reply line: its result, or the daemon's error.
pub(crate) fn decode_reply(reply: &str) -> Result<Value, CallError> {
    let bad = |what: &str| CallError::Io(io::Error::new(io::ErrorKind::InvalidData, format!("hpcnoded replied {what}")));
    let v: Value = serde_json::from_str(reply).map_err(|_| bad("something that is not JSON"))?;
    match v.get("ok").and_then(Value::as_bool) {
        Some(true) => Ok(v.get("result").cloned().unwrap_or_else(|| Value::Object(Map::new()))),
        Some(false) => {
            let e = v.get("error").ok_or_else(|| bad("an error without its detail"))?;
            Err(CallError::Daemon(Failure {
                kind: e.get("kind").and_then(Value::as_str).unwrap_or("io").to_string(),
                errno: e.get("errno").and_then(Value::as_i64).unwrap_or(0) as i32,
                message: e.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
            }))
        }
        None => Err(bad("without \"ok\"")),
    }
}

/// A connection made on first use and again after a failure: the daemon
/// closes a connection it refuses, and a restarted daemon is a new one.
#[derive(Debug)]
pub(crate) struct Connection {
    path: PathBuf,
    stream: Mutex<Option<BufReader<UnixStream>>>,
}

impl Connection {
    /// Connects now, so a daemon that is not there is said at once.
    pub fn open(path: &Path) -> io::Result<Connection> {
        let stream = connect(path)?;
        Ok(Connection { path: path.to_path_buf(), stream: Mutex::new(Some(stream)) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn call(&self, call: &str, args: Value) -> Result<Value, CallError> {
        let mut guard = self.stream.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.is_none() {
            *guard = Some(connect(&self.path)?);
        }
        let conn = guard.as_mut().expect("connected above");
        let r = exchange(conn, call, args);
        match &r {
            // a broken or refused connection is not reused
            Err(CallError::Io(_)) => *guard = None,
            Err(CallError::Daemon(f)) if f.kind == "permission_denied" || f.kind == "busy" => *guard = None,
            _ => {}
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_result_error_and_garbage() {
        let ok = decode_reply(r#"{"ok":true,"result":{"empty":true}}"#).unwrap();
        assert_eq!(ok["empty"], Value::Bool(true));
        match decode_reply(r#"{"ok":false,"error":{"kind":"not_found","errno":2,"message":"cgroup path not found: x"}}"#) {
            Err(CallError::Daemon(f)) => {
                assert_eq!(f.kind, "not_found");
                assert_eq!(f.errno, 2);
                assert_eq!(f.message, "cgroup path not found: x");
            }
            other => panic!("not a daemon error: {other:?}"),
        }
        assert!(matches!(decode_reply("not json"), Err(CallError::Io(_))));
        assert!(matches!(decode_reply(r#"{"result":{}}"#), Err(CallError::Io(_))));
    }

    #[test]
    fn socket_from_the_environment() {
        // the only test that sets it: tests run in threads of one process
        std::env::set_var("HPCNODE_SOCKET", "/tmp/elsewhere.sock");
        assert_eq!(default_socket(), PathBuf::from("/tmp/elsewhere.sock"));
        std::env::remove_var("HPCNODE_SOCKET");
        assert_eq!(default_socket(), PathBuf::from(DEFAULT_SOCKET));
    }
}
