//! Memory per connection is bounded: frames pipelined while a request waits (here on a device
//! login) are not queued without limit; the agent stops reading until it has answered.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::TestEnv;
use flyte_auth_proto::frame::{self, write_message};
use flyte_auth_proto::{ErrorKind, MAX_FRAME_LEN, Request, Response};

use crate::common::status;
use crate::wire::{connect_hello, device_profile, read, start_device_login, status_kib};

/// Frames the client pipelines: ~64 MiB on the wire, several times that once parsed.
const FRAMES: usize = 1000;
/// Most the agent's RSS may grow while they are pushed at it.
const MAX_GROWTH_KIB: u64 = 64 * 1024;

/// A GetToken frame just under the frame cap (as many scopes as a request may carry, each
/// about a kilobyte): a queue of these is what turned into gigabytes. (The fatter shape,
/// 16,000 one-letter scopes whose parsed form is ten times its bytes, is now refused as a
/// bad request: see `flyte_auth_proto::bounded`.)
fn fat_frame(url: &str) -> Vec<u8> {
    let mut profile = device_profile(url);
    profile.scopes = Some(vec!["s".repeat(1000); flyte_auth_proto::bounded::MAX_LIST]);
    let req = Request::GetToken {
        profile,
        min_valid_secs: 0,
        interactive: false,
        browser_env: Vec::new(),
    };
    let bytes = frame::encode(&req).expect("fits in a frame");
    assert!(bytes.len() > MAX_FRAME_LEN - 2048, "{}", bytes.len());
    bytes.to_vec()
}

#[test]
fn pipelining_during_a_login_keeps_agent_memory_bounded() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    let pid = env.start_agent(&[]).expect("agent");
    let mut s = connect_hello(&env);
    start_device_login(&mut s, &idp.url());
    let before = status_kib(pid, "VmRSS");

    let written = Arc::new(AtomicUsize::new(0));
    let mut w = s.try_clone().expect("clone");
    let frame = fat_frame(&idp.url());
    let writer = std::thread::spawn({
        let written = written.clone();
        move || {
            for _ in 0..FRAMES {
                if w.write_all(&frame).is_err() {
                    return;
                }
                written.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    // Watch the agent while the frames are pushed at it (an unbounded queue grew by
    // hundreds of MiB within a second or two here).
    let mut peak = before;
    let end = Instant::now() + Duration::from_secs(4);
    while Instant::now() < end && written.load(Ordering::Relaxed) < FRAMES {
        peak = peak.max(status_kib(pid, "VmRSS"));
        std::thread::sleep(Duration::from_millis(50));
    }
    peak = peak.max(status_kib(pid, "VmRSS"));
    let sent = written.load(Ordering::Relaxed);
    eprintln!(
        "agent RSS {before} kB before, peak {peak} kB while {sent} of {FRAMES} frames were sent"
    );
    assert!(
        peak.saturating_sub(before) < MAX_GROWTH_KIB,
        "RSS grew by {} kB (from {before} kB) under pipelining",
        peak - before
    );
    assert!(
        sent < FRAMES,
        "the agent must stop reading (backpressure) while the login waits"
    );

    // The login still completes on the same connection, then every pipelined request is
    // answered in order, and the connection keeps working.
    idp.approve_device();
    loop {
        match read(&mut s) {
            Response::Event { .. } => continue,
            Response::LoggedIn { .. } => break,
            other => panic!("expected the login's answer, got {other:?}"),
        }
    }
    for i in 0..FRAMES {
        match read(&mut s) {
            Response::Error(e) if e.kind == ErrorKind::LoginRequired => {}
            Response::Token(_) => {}
            other => panic!("answer {i} to a pipelined request: {other:?}"),
        }
    }
    writer.join().expect("writer");
    write_message(&mut s, &Request::Status).expect("write status");
    assert!(matches!(read(&mut s), Response::Status(_)));
    assert!(status(&env)["pid"].is_number(), "the agent still serves");
}
