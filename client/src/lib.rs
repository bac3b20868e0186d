//! flyte-auth client library: resolve a Flyte config into a `Profile` and ask the agent for a
//! token over its local socket. Blocking std code only: no async runtime is started, so a
//! whole `flyte-auth token` process stays in the low milliseconds.
#![deny(missing_docs)]

pub mod client;
pub mod config;
pub mod error;
mod hygiene;
mod retry;
pub mod service;
pub mod spawn;
pub mod transport;
pub mod trust;
#[cfg(windows)]
mod trust_windows;

pub use client::{Client, LoggedIn, default_socket};
pub use error::{Category, Error, Result};
pub use flyte_auth_proto as proto;
