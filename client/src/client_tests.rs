//! The client's retries against an in-process fake agent that dies (closes) mid-request.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use flyte_auth_proto::frame::{read_message, write_message};
use flyte_auth_proto::{AuthMode, Event, PROTOCOL_VERSION, Request, Response, StatusReport};

use super::*;

/// What the fake agent does with a connection's first request after the hello.
#[derive(Clone, Copy)]
enum Then {
    /// Closes without answering, as a killed agent does.
    Die,
    /// Shows a prompt, then closes.
    PromptThenDie,
    /// Answers a status report.
    Answer,
}

/// A fake agent in a private temporary directory that serves one connection per entry of
/// `script`, and how many requests it read.
fn fake_agent(script: Vec<Then>) -> (tempfile::TempDir, PathBuf, std::thread::JoinHandle<usize>) {
    let dir = tempfile::tempdir().expect("tempdir");
    // The client refuses a socket in a directory others may enter.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let path = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    let server = std::thread::spawn(move || {
        let mut requests = 0;
        for then in script {
            let (mut s, _) = listener.accept().expect("accept");
            let hello: Option<Request> = read_message(&mut s).expect("hello");
            assert!(matches!(hello, Some(Request::Hello { .. })));
            let resp = Response::Hello {
                version: PROTOCOL_VERSION,
                agent_version: "fake".into(),
                pid: 7,
            };
            write_message(&mut s, &resp).expect("write hello");
            let _: Option<Request> = read_message(&mut s).expect("request");
            requests += 1;
            match then {
                Then::Die => {}
                Then::PromptThenDie => {
                    let event = Event::Progress {
                        message: "open this link".into(),
                    };
                    write_message(&mut s, &Response::Event { event }).expect("write event");
                }
                Then::Answer => {
                    let report = StatusReport {
                        agent_version: "fake".into(),
                        pid: 7,
                        uptime_secs: 1,
                        sessions: Vec::new(),
                        audit_log: None,
                        next_offset: None,
                        total_sessions: None,
                    };
                    write_message(&mut s, &Response::Status(report)).expect("write status");
                }
            }
            drop::<UnixStream>(s);
        }
        requests
    });
    (dir, path, server)
}

#[test]
fn a_request_the_agent_dies_on_is_sent_once_more() {
    let (_dir, path, server) = fake_agent(vec![Then::Die, Then::Answer]);
    let mut client = Client::connect(&path).expect("connect");
    let report = client.status().expect("answered on the second connection");
    assert_eq!(report.pid, 7);
    drop(client);
    assert_eq!(server.join().expect("fake agent"), 2);
}

#[test]
fn a_few_times_and_then_it_says_so() {
    let tries = crate::retry::REQUEST_TRIES as usize + 1;
    let (_dir, path, server) = fake_agent(vec![Then::Die; tries]);
    let mut client = Client::connect(&path).expect("connect");
    let err = client.status().expect_err("the agent died every time");
    assert!(matches!(err, crate::Error::AgentGone { .. }), "{err}");
    assert_eq!(err.category().exit_code(), 7, "exit code 7");
    assert_eq!(server.join().expect("fake agent"), tries);
}

#[test]
fn a_request_the_agent_dies_on_twice_is_still_answered() {
    let (_dir, path, server) = fake_agent(vec![Then::Die, Then::Die, Then::Answer]);
    let mut client = Client::connect(&path).expect("connect");
    assert_eq!(
        client
            .status()
            .expect("answered on the third connection")
            .pid,
        7
    );
    drop(client);
    assert_eq!(server.join().expect("fake agent"), 3);
}

#[test]
fn a_login_whose_prompt_was_shown_is_not_retried_but_explained() {
    let (_dir, path, server) = fake_agent(vec![Then::PromptThenDie]);
    let mut client = Client::connect(&path).expect("connect");
    let profile = Profile::new("https://flyte.example.com", AuthMode::DeviceFlow);
    let mut prompts = 0;
    let err = client
        .login(&profile, None, false, &mut |_| prompts += 1)
        .expect_err("the agent died");
    assert_eq!(prompts, 1);
    assert!(err.to_string().contains("run the command again"), "{err}");
    // One connection only: no second login was started behind the user's back.
    assert_eq!(server.join().expect("fake agent"), 1);
}
