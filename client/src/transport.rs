//! A blocking connection to the agent: connect, say hello, send requests, read responses.
//! Over a Unix socket, or on Windows a named pipe (through interprocess).

#[cfg(unix)]
use std::os::unix::net::UnixStream as Stream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use flyte_auth_proto::frame::{read_message, write_message};
use flyte_auth_proto::{Event, PROTOCOL_VERSION, Request, Response, contract};

use crate::{Error, Result, retry, trust};
#[cfg(windows)]
use interprocess::local_socket::Stream;

/// How long to wait for the agent's answer to a request that needs no human.
pub const DEFAULT_READ_TIMEOUT: Duration = flyte_auth_proto::contract::CLIENT_REQUEST_WAIT;

/// An open, greeted connection to the agent.
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    path: PathBuf,
    /// The agent's process id, from its hello.
    pub agent_pid: u32,
    /// The agent's version, from its hello.
    pub agent_version: String,
}

impl Connection {
    /// Connects to the agent at `path` and exchanges hellos, after checking that the path's
    /// directory and the listening process are this user's ([`crate::trust`]). An agent at
    /// its connection limit is retried with jittered backoff for up to
    /// [`retry::BUSY_BUDGET`], one that goes away during the hello a few times. The raw `io::Error` of the connect is returned separately so
    /// callers can tell "nobody there" from other failures.
    pub fn open(path: &Path) -> std::result::Result<Connection, ConnectError> {
        let mut backoff = retry::Backoff::new(retry::BUSY_BUDGET);
        let mut gone = 0;
        loop {
            match Connection::open_once(path) {
                Err(ConnectError::Failed(e)) if retry::is_busy(&e) && backoff.wait() => {}
                // Only a hello was lost. A killed agent's socket can still take connections
                // for a moment while the process is torn down; once it is gone, connecting
                // is refused and the caller may start a new one.
                Err(ConnectError::Failed(e))
                    if retry::is_gone(&e) && gone < retry::GONE_TRIES && backoff.wait() =>
                {
                    gone += 1;
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path) -> std::result::Result<Connection, ConnectError> {
        if !trust::check_socket_dir(path).map_err(ConnectError::Failed)? {
            // No directory, so no socket: what connecting would say, without trying.
            return Err(ConnectError::Connect(std::io::ErrorKind::NotFound.into()));
        }
        let stream = connect(path).map_err(ConnectError::Connect)?;
        #[cfg(unix)]
        trust::check_peer(&stream, path).map_err(ConnectError::Failed)?;
        #[cfg(windows)]
        crate::trust_windows::check_pipe_server(&stream, path).map_err(ConnectError::Failed)?;
        let mut conn = Connection {
            stream,
            path: path.to_owned(),
            agent_pid: 0,
            agent_version: String::new(),
        };
        conn.hello().map_err(ConnectError::Failed)?;
        Ok(conn)
    }

    fn hello(&mut self) -> Result<()> {
        set_read_timeout(&self.stream, Some(contract::CLIENT_QUICK_WAIT)).map_err(proto_io)?;
        let client = format!("flyte-auth {}", env!("CARGO_PKG_VERSION"));
        match self.call(
            &Request::Hello {
                version: PROTOCOL_VERSION,
                client,
            },
            &mut |_| {},
        )? {
            Response::Hello {
                version,
                agent_version,
                pid,
            } if version == PROTOCOL_VERSION => {
                self.agent_pid = pid;
                self.agent_version = agent_version;
                Ok(())
            }
            Response::Hello { version, .. } => Err(Error::Unexpected(format!(
                "agent speaks protocol version {version}, this client {PROTOCOL_VERSION}"
            ))),
            other => Err(unexpected(other)),
        }
    }

    /// Sends `req` and returns its final response, passing any events before it to
    /// `on_event`. An `Error` response becomes `Err(Error::Agent)`; an agent that goes away
    /// before its final answer, `Err(Error::AgentGone)`.
    pub fn call(&mut self, req: &Request, on_event: &mut dyn FnMut(&Event)) -> Result<Response> {
        if let Err(e) = write_message(&mut self.stream, req) {
            // The agent may have refused us and closed before reading our request; its
            // explanation can still be waiting in the socket.
            if let Ok(Some(Response::Error(why))) = read_message::<_, Response>(&mut self.stream) {
                return Err(Error::Agent(why));
            }
            return Err(self.gone_or(e));
        }
        loop {
            let resp: Option<Response> = read_message(&mut self.stream).map_err(|e| match e {
                flyte_auth_proto::ProtoError::Io(io) if is_timeout(&io) => {
                    Error::AgentUnavailable {
                        path: self.path.clone(),
                        why: "the agent did not answer in time".into(),
                        // "Resource temporarily unavailable" would add nothing to that.
                        source: None,
                    }
                }
                other => self.gone_or(other),
            })?;
            match resp {
                None => {
                    return Err(Error::AgentGone {
                        path: self.path.clone(),
                        why: "it closed the connection".into(),
                    });
                }
                Some(Response::Event { event }) => on_event(&event),
                Some(Response::Error(e)) => return Err(Error::Agent(e)),
                Some(other) => return Ok(other),
            }
        }
    }

    /// `Error::AgentGone` for a framing error that means the agent went away, else the error.
    fn gone_or(&self, e: flyte_auth_proto::ProtoError) -> Error {
        if retry::proto_means_gone(&e) {
            Error::AgentGone {
                path: self.path.clone(),
                why: e.to_string(),
            }
        } else {
            Error::Proto(e)
        }
    }

    /// Bounds how long [`Connection::call`] waits for each response frame. A no-op on Windows,
    /// where named pipes have no read timeout.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> Result<()> {
        set_read_timeout(&self.stream, t).map_err(proto_io)
    }
}

/// Opens the agent's socket, without any hello.
#[cfg(unix)]
pub(crate) fn connect(path: &Path) -> std::io::Result<Stream> {
    Stream::connect(path)
}

/// Opens the agent's named pipe, without any hello. A pipe whose instances are all busy is
/// waited for; one that does not exist is `NotFound`, as a missing socket is on Unix.
#[cfg(windows)]
pub(crate) fn connect(path: &Path) -> std::io::Result<Stream> {
    use interprocess::local_socket::{GenericFilePath, prelude::*};
    let name = path.to_fs_name::<GenericFilePath>().map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(r"{e}: on Windows FLYTE_AUTH_SOCK must be a pipe path such as \\.\pipe\NAME"),
        )
    })?;
    Stream::connect(name)
}

#[cfg(unix)]
fn set_read_timeout(stream: &Stream, t: Option<Duration>) -> std::io::Result<()> {
    stream.set_read_timeout(t)
}

/// Named pipes support no read timeout (interprocess says `Unsupported`), so on Windows a
/// read waits for the agent however long it takes.
#[cfg(windows)]
fn set_read_timeout(_: &Stream, _: Option<Duration>) -> std::io::Result<()> {
    Ok(())
}

/// Why [`Connection::open`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The socket could not be connected to.
    #[error("cannot connect: {0}")]
    Connect(#[source] std::io::Error),
    /// Anything else: the path or the listening process is not this user's, or the hello
    /// failed (after retrying "busy").
    #[error(transparent)]
    Failed(Error),
}

/// Describes a response the caller did not expect.
pub fn unexpected(resp: Response) -> Error {
    Error::Unexpected(format!("{resp:?}"))
}

fn proto_io(e: std::io::Error) -> Error {
    Error::Proto(e.into())
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
