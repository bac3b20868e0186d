//! What a logout forgets: one session or all of them, and nothing in between.
//!
//! On the wire it keeps the fields clients have always sent (`profile`, `all`), so a request
//! from today's client decodes unchanged; the combination that named nothing (no profile and
//! not `all`) is refused when the frame is decoded instead of by the agent at run time.

use serde::{Deserialize, Serialize};

use crate::profile::Profile;

/// The sessions a [`crate::Request::Logout`] forgets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LogoutFields", into = "LogoutFields")]
pub enum LogoutTarget {
    /// The session of this profile (boxed: it dwarfs every other request).
    Session(Box<Profile>),
    /// Every session.
    All,
}

impl LogoutTarget {
    /// The profile whose session is forgotten; `None` for [`LogoutTarget::All`].
    pub fn profile(&self) -> Option<&Profile> {
        match self {
            LogoutTarget::Session(p) => Some(p),
            LogoutTarget::All => None,
        }
    }
}

/// The wire form: `{"profile": ..., "all": false}` or `{"profile": null, "all": true}`.
#[derive(Serialize, Deserialize)]
struct LogoutFields {
    /// The session to forget; ignored with `all` (as it always was).
    #[serde(default)]
    profile: Option<Box<Profile>>,
    /// Forget every session.
    #[serde(default)]
    all: bool,
}

impl TryFrom<LogoutFields> for LogoutTarget {
    type Error = &'static str;

    fn try_from(f: LogoutFields) -> Result<Self, Self::Error> {
        match (f.all, f.profile) {
            (true, _) => Ok(LogoutTarget::All),
            (false, Some(p)) => Ok(LogoutTarget::Session(p)),
            (false, None) => Err("logout needs a profile or `all`"),
        }
    }
}

impl From<LogoutTarget> for LogoutFields {
    fn from(t: LogoutTarget) -> Self {
        match t {
            LogoutTarget::Session(p) => LogoutFields {
                profile: Some(p),
                all: false,
            },
            LogoutTarget::All => LogoutFields {
                profile: None,
                all: true,
            },
        }
    }
}
