//! Descriptors and slots cannot be exhausted: silent connections, a peer that never reads and
//! a peer that trickles garbage are all closed in full (both halves, reader task ended), so
//! the agent's descriptors stay bounded by `--max-connections` and the owner is served.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use flyte_auth_e2e::fake_idp::FakeIdp;
use flyte_auth_e2e::harness::{TestEnv, stderr, wait_until};
use flyte_auth_proto::frame;
use flyte_auth_proto::{ErrorKind, Request, Response};

use crate::common::{token, use_api_key};
use crate::wire::{LimitedAgent, closed_by_agent, connect_hello, fd_count, read};

/// Descriptors an agent holds besides its connections (listener, lock, log, epoll, stdio,
/// refusals being explained), with room to spare.
const OVERHEAD: usize = 64;

#[test]
fn silent_connections_cannot_exhaust_descriptors() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    use_api_key(&mut env, &idp.url(), "ci-client", "ci-secret");
    // Under a low descriptor limit a leak shows as failed accepts at once.
    let agent = LimitedAgent::start(
        &env,
        512,
        &["--max-connections", "256", "--store", "memory"],
    );
    let pid = agent.pid();
    let baseline = fd_count(pid);

    // 1,500 connections that never say anything, opened on a thread: were the agent to stop
    // accepting, connects would block, and the test must fail rather than hang.
    let (tx, rx) = mpsc::channel();
    let socket = env.socket.clone();
    std::thread::spawn(move || {
        let conns: Vec<UnixStream> = (0..1500)
            .filter_map(|_| UnixStream::connect(&socket).ok())
            .collect();
        let _ = tx.send(conns.len());
        // Keep our ends open until the test is over.
        std::thread::sleep(Duration::from_secs(60));
        drop(conns);
    });
    let mut peak = baseline;
    let give_up = Instant::now() + Duration::from_secs(60);
    let opened = loop {
        peak = peak.max(fd_count(pid));
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(n) => break n,
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < give_up => {}
            Err(e) => panic!(
                "the agent stopped accepting ({e:?}); {peak} descriptors at peak; log:\n{}",
                env.agent_log_text()
            ),
        }
    };
    assert_eq!(opened, 1500, "every connect went through");
    for _ in 0..20 {
        peak = peak.max(fd_count(pid));
        std::thread::sleep(Duration::from_millis(25));
    }
    eprintln!("agent descriptors: {baseline} before, peak {peak} with 1,500 silent connections");
    assert!(
        peak <= 256 + OVERHEAD,
        "{peak} descriptors open with --max-connections 256"
    );
    // The owner is served at once: the silent connections make room.
    assert!(!token(&env, &[]).is_empty());
    // And the hello deadline closes the rest in full.
    assert!(
        wait_until(Duration::from_secs(20), || fd_count(pid) <= baseline + 4),
        "silent connections past the hello deadline must be closed: {} descriptors, {baseline} before",
        fd_count(pid)
    );
    let log = env.agent_log_text();
    assert!(!log.contains("Too many open files"), "{log}");
}

#[test]
fn a_peer_that_never_reads_is_dropped_after_the_write_timeout() {
    let mut env = TestEnv::new();
    let pid = env.start_agent(&["--store", "memory"]).expect("agent");
    let baseline = fd_count(pid);
    let mut s = connect_hello(&env);
    // Thousands of requests whose answers it never reads: the agent's writes block once the
    // socket buffers are full, and then so do ours.
    let status = frame::encode(&Request::Status).expect("frame");
    let batch: Vec<u8> = status
        .iter()
        .copied()
        .cycle()
        .take(status.len() * 20_000)
        .collect();
    let mut w = s.try_clone().expect("clone");
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(w.write_all(&batch));
    });
    // Nothing else competes for slots here, so only the write timeout can end it.
    let write = rx
        .recv_timeout(Duration::from_secs(40))
        .expect("the agent must drop a peer that never reads");
    eprintln!("never-reading peer dropped after {:?}", started.elapsed());
    assert!(write.is_err(), "the agent closed the connection");
    assert!(closed_by_agent(&mut s, Duration::from_secs(5)));
    assert!(
        wait_until(Duration::from_secs(10), || fd_count(pid) <= baseline),
        "{} descriptors, {baseline} before",
        fd_count(pid)
    );
    let out = env.flyte_auth(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_hello_deadline_holds_against_trickled_garbage_and_partial_frames() {
    let mut env = TestEnv::new();
    let pid = env.start_agent(&["--store", "memory"]).expect("agent");
    let baseline = fd_count(pid);

    // A partial frame, one more byte now and then: it never completes.
    let mut partial = UnixStream::connect(&env.socket).expect("connect");
    // Garbage frames, each answered: none of them may extend the hello deadline (5 s).
    let mut garbage = UnixStream::connect(&env.socket).expect("connect");
    garbage
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let junk = b"{not json";
    let started = Instant::now();
    let mut closed = false;
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(20) {
        let mut f = (junk.len() as u32).to_be_bytes().to_vec();
        f.extend_from_slice(junk);
        if garbage.write_all(&f).is_err() {
            closed = true;
            break;
        }
        if sent < 3 {
            let _ = partial.write_all(&[0]);
        }
        sent += 1;
        // Each garbage frame gets its error, until the agent gives up on the connection.
        match frame::read_message::<_, Response>(&mut garbage) {
            Ok(Some(Response::Error(e))) => {
                assert_eq!(e.kind, ErrorKind::BadRequest)
            }
            _ => {
                closed = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    eprintln!(
        "garbage peer closed: {closed} after {:?}, {sent} frames",
        started.elapsed()
    );
    assert!(
        closed,
        "a peer sending garbage every second outlived the hello deadline"
    );
    // The partial frame's connection is closed in full too: no descriptor left behind.
    assert!(closed_by_agent(&mut partial, Duration::from_secs(10)));
    assert!(
        wait_until(Duration::from_secs(10), || fd_count(pid) <= baseline),
        "{} descriptors, {baseline} before",
        fd_count(pid)
    );
    // The agent serves as before.
    let mut ok = connect_hello(&env);
    frame::write_message(&mut ok, &Request::Status).expect("status");
    assert!(matches!(read(&mut ok), Response::Status(_)));
}

#[test]
fn out_of_descriptors_the_agent_pauses_and_recovers() {
    let mut env = TestEnv::new();
    env.set_env("FLYTE_AUTH_LOG", "info");
    // Room for a handful of connections only: the rest make accept fail with EMFILE.
    let agent = LimitedAgent::start(&env, 32, &["--store", "memory"]);
    let pid = agent.pid();
    let held: Vec<UnixStream> = (0..60)
        .filter_map(|_| UnixStream::connect(&env.socket).ok())
        .collect();
    assert!(
        wait_until(Duration::from_secs(10), || env
            .agent_log_text()
            .contains("accept failed")),
        "the agent ran out of descriptors: {} open",
        fd_count(pid)
    );
    std::thread::sleep(Duration::from_secs(2));
    let warnings = env.agent_log_text().matches("accept failed").count();
    assert!(
        warnings <= 2,
        "failed accepts are logged at most once per interval, not per retry: {warnings}"
    );
    // Once the silent connections are gone (closed here, or by the hello deadline), the
    // agent serves again.
    drop(held);
    let mut s = connect_hello(&env);
    frame::write_message(&mut s, &Request::Status).expect("status");
    assert!(matches!(read(&mut s), Response::Status(_)));
}
