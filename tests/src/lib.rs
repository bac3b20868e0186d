//! Support code for flyte-auth's end-to-end tests: an isolated test environment, the real node
//! oidc-provider IdP launcher, and a fault-injecting fake IdP.

pub mod fake_idp;
pub mod harness;
pub mod node_idp;
