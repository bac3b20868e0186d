//! A full agent makes room instead of refusing: at `--max-connections` it closes the
//! longest-idle connection for a new one, and answers "busy" only when every slot has a
//! request in flight.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::TestEnv;
use flyte_auth_proto::frame::write_message;
use flyte_auth_proto::{ErrorKind, Request, Response};

use crate::wire::{closed_by_agent, connect_hello, hello, read, read_error, start_device_login};

fn status_works(s: &mut UnixStream) -> bool {
    write_message(s, &Request::Status).is_ok() && matches!(read(s), Response::Status(_))
}

#[test]
fn at_the_limit_the_longest_idle_connection_makes_room() {
    let mut env = TestEnv::new();
    env.start_agent(&["--max-connections", "3", "--store", "memory"])
        .expect("agent");
    let mut a = connect_hello(&env);
    let mut b = connect_hello(&env);
    // `c` has been used since `b` said hello, so `a` is the longest idle.
    let mut c = connect_hello(&env);
    assert!(status_works(&mut b));
    assert!(status_works(&mut c));

    let mut d = UnixStream::connect(&env.socket).expect("connect");
    d.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    hello(&mut d);
    assert!(status_works(&mut d), "the new connection is served");
    assert!(
        closed_by_agent(&mut a, Duration::from_secs(10)),
        "the longest-idle connection was closed to make room"
    );
    assert!(
        status_works(&mut b) && status_works(&mut c),
        "the others stay"
    );
    assert!(
        env.agent_log_text()
            .contains("closing the longest-idle connection"),
        "the agent says why it closed one"
    );
}

#[test]
fn busy_only_when_every_slot_has_a_request_in_flight() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    env.start_agent(&["--max-connections", "2", "--store", "memory"])
        .expect("agent");
    // Both slots wait on a device login nobody approves yet.
    let mut a = connect_hello(&env);
    start_device_login(&mut a, &idp.url());
    let mut b = connect_hello(&env);
    start_device_login(&mut b, &idp.url());

    let mut c = UnixStream::connect(&env.socket).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let (kind, msg) = read_error(&mut c);
    assert_eq!(kind, ErrorKind::Busy);
    assert!(msg.contains("connection limit"), "{msg}");

    // Once the login is done both slots are idle again, and a newcomer is served.
    idp.approve_device();
    for s in [&mut a, &mut b] {
        loop {
            match read(s) {
                Response::Event { .. } => continue,
                Response::LoggedIn { .. } => break,
                other => panic!("expected the login's answer, got {other:?}"),
            }
        }
    }
    let mut d = connect_hello(&env);
    assert!(status_works(&mut d));
}
