//! End-to-end tests: the real `flyte-auth` and `flyte-auth-agent` binaries, each test in its
//! own HOME, runtime dir and socket, against the real node IdP and a fault-injecting fake one.

mod agent_death;
mod audit;
mod auto_start;
mod burst;
mod common;
mod config_cli;
mod faults;
mod flood;
mod hygiene;
mod idp_input;
mod keyring;
mod limits_fds;
mod limits_memory;
mod limits_slots;
mod load;
mod login_device;
mod login_pkce;
mod login_sessions;
mod outage;
mod proc;
mod real_idp;
mod redaction;
mod sdk;
mod service;
mod socket;
mod squatter;
mod wire;
