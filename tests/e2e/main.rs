//! End-to-end tests: the real `flyte-auth` and `flyte-auth-agent` binaries, each test in its
//! own HOME, runtime dir and socket, against the real node IdP and a fault-injecting fake one.

mod audit;
mod common;
mod config_cli;
mod faults;
mod keyring;
mod limits_fds;
mod limits_memory;
mod limits_slots;
mod login_device;
mod login_pkce;
mod login_sessions;
mod proc;
mod real_idp;
mod sdk;
mod service;
mod socket;
mod wire;
