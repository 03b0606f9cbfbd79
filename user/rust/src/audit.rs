//! The audit trail as it is written: `subscribe` on a connection of its own.

use std::io::{self, BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde_json::{Map, Value};

use crate::api::{connect, exchange, CallError};

/// Every audit record from the moment of subscribing, one JSON object per
/// item, in the order the daemon wrote them. A `{"event":"subscribe.gap"}`
/// item says records were lost to a reader too slow; the iterator ends
/// when the daemon closes the connection.
#[derive(Debug)]
pub struct AuditStream {
    conn: BufReader<UnixStream>,
}

impl AuditStream {
    pub(crate) fn open(path: &Path) -> io::Result<AuditStream> {
        let mut conn = connect(path)?;
        conn.get_ref().set_read_timeout(None)?; // records come when acts happen
        match exchange(&mut conn, "subscribe", Value::Object(Map::new())) {
            Ok(_) => Ok(AuditStream { conn }),
            Err(CallError::Io(e)) => Err(e),
            Err(CallError::Daemon(f)) => Err(io::Error::new(io::ErrorKind::PermissionDenied, f.message)),
        }
    }
}

impl Iterator for AuditStream {
    type Item = io::Result<Value>;

    fn next(&mut self) -> Option<io::Result<Value>> {
        let mut line = String::new();
        match self.conn.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))),
            Err(e) => Some(Err(e)),
        }
    }
}
