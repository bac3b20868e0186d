//! End-to-end tests: the real `flyte-auth` and `flyte-auth-agent` binaries, each test in its
//! own HOME, runtime dir and socket, against the real node IdP and a fault-injecting fake one.

mod common;
mod config_cli;
mod faults;
mod flood;
mod hygiene;
mod keyring;
mod load;
mod login_device;
mod login_pkce;
mod login_sessions;
mod proc;
mod real_idp;
mod redaction;
mod sdk;
mod service;
mod socket;
