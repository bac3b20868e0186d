//! `Client`: the blocking API other programs use to get tokens from the agent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use flyte_auth_proto::{Event, Profile, Request, Response, StatusReport, TokenResponse};

use crate::transport::{Connection, unexpected};
use crate::{Result, spawn};

/// A connection to the user's agent.
#[derive(Debug)]
pub struct Client {
    conn: Connection,
}

impl Client {
    /// Connects to the agent at `socket` (see [`default_socket`]), starting one if none runs.
    pub fn connect_or_start(socket: &Path) -> Result<Client> {
        Ok(Client {
            conn: spawn::connect_or_start(socket)?,
        })
    }

    /// Connects to a running agent; never starts one.
    pub fn connect(socket: &Path) -> Result<Client> {
        Connection::open(socket)
            .map(|conn| Client { conn })
            .map_err(|e| match e {
                crate::transport::ConnectError::Protocol(e) => e,
                crate::transport::ConnectError::Connect(e) => crate::Error::AgentUnavailable {
                    path: socket.to_owned(),
                    why: e.to_string(),
                },
            })
    }

    /// The agent's process id.
    pub fn agent_pid(&self) -> u32 {
        self.conn.agent_pid
    }

    /// A token for `profile` valid for at least `min_valid`. `on_event` sees login prompts.
    pub fn get_token(
        &mut self,
        profile: &Profile,
        min_valid: Duration,
        interactive: bool,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<TokenResponse> {
        let req = Request::GetToken {
            profile: Box::new(profile.clone()),
            min_valid_secs: min_valid.as_secs(),
            interactive,
        };
        match self.conn.call(&req, on_event)? {
            Response::Token(t) => Ok(t),
            other => Err(unexpected(other)),
        }
    }

    /// Every session's state.
    pub fn status(&mut self) -> Result<StatusReport> {
        match self.conn.call(&Request::Status, &mut |_| {})? {
            Response::Status(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }

    /// Asks the agent to exit.
    pub fn shutdown(&mut self) -> Result<()> {
        match self.conn.call(&Request::Shutdown, &mut |_| {})? {
            Response::Ok => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

/// The socket path from `FLYTE_AUTH_SOCK` / `XDG_RUNTIME_DIR` / the temp-dir fallback.
pub fn default_socket() -> Result<PathBuf> {
    Ok(flyte_auth_proto::paths::socket_path()?)
}
