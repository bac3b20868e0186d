//! Flood: 100,000 malformed, truncated, oversized and random frames over thousands of
//! connections from 50 threads, while a well-behaved client keeps asking for a token. The
//! good client never fails, the agent's memory stays flat, and it never panics.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use flyte_auth::Client;
use flyte_auth::proto::{AuthMode, Profile, Secret};
use flyte_auth_e2e::fake_idp::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeIdp};
use flyte_auth_e2e::harness::TestEnv;
use flyte_auth_proto::frame::encode;
use flyte_auth_proto::{MAX_FRAME_LEN, PROTOCOL_VERSION, Request};

use crate::common::status;

/// Frames sent in all.
const FRAMES: u64 = 100_000;
/// Flooding threads, each with one connection open at a time.
const THREADS: u64 = 50;
/// Most frames on one connection before it is closed and a new one opened.
const PER_CONNECTION: u64 = 24;
/// Allowed growth of the agent's resident memory over the flood.
const RSS_GROWTH_LIMIT_KIB: u64 = 32 * 1024;

/// A small deterministic PRNG (xorshift64*): reproducible floods without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A frame with a correct prefix around `body`.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// One bad frame that leaves the connection usable (the agent answers it with an error).
fn recoverable(rng: &mut Rng) -> Vec<u8> {
    let body: Vec<u8> = match rng.below(9) {
        0 => b"{not json".to_vec(),
        1 => {
            let n = rng.below(200) as usize;
            rng.bytes(n)
        }
        2 => br#"{"type":"teleport","x":1}"#.to_vec(),
        3 => br#"{"type":"get_token","profile":7,"min_valid_secs":"soon"}"#.to_vec(),
        4 => br#"{"type":"login","profile":{"endpoint":[],"mode":"Nope"}}"#.to_vec(),
        // Nesting past serde_json's recursion limit.
        5 => "[".repeat(1000 + rng.below(3000) as usize).into_bytes(),
        6 => encode(&Request::Hello {
            version: PROTOCOL_VERSION,
            client: "again".into(),
        })
        .map(|f| f[4..].to_vec())
        .unwrap_or_default(),
        // Empty body and a long but legal junk string.
        7 => Vec::new(),
        _ => {
            let n = 1024 + rng.below(16 * 1024) as usize;
            let mut v = b"\"".to_vec();
            v.extend(std::iter::repeat_n(b'a', n));
            v
        }
    };
    framed(&body)
}

/// One frame after which the agent closes the connection: truncated, oversized or unframed.
fn fatal(rng: &mut Rng) -> Vec<u8> {
    match rng.below(3) {
        // Truncated: the prefix promises more than ever comes.
        0 => {
            let len = 16 + rng.below(4000);
            let mut f = (len as u32).to_be_bytes().to_vec();
            let sent = rng.below(len) as usize;
            f.extend(rng.bytes(sent));
            f
        }
        // Oversized prefix (up to u32::MAX), sometimes followed by junk.
        1 => {
            let len =
                MAX_FRAME_LEN as u64 + 1 + rng.below(u64::from(u32::MAX) - MAX_FRAME_LEN as u64);
            let mut f = (len as u32).to_be_bytes().to_vec();
            let tail = rng.below(512) as usize;
            f.extend(rng.bytes(tail));
            f
        }
        // Raw random bytes, no framing at all.
        _ => {
            let n = 1 + rng.below(300) as usize;
            rng.bytes(n)
        }
    }
}

/// Sends up to `budget` frames on one connection; returns how many went out. A connection
/// the agent closes early simply ends the batch.
fn one_connection(socket: &Path, rng: &mut Rng, budget: u64) -> u64 {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(20)));
    let mut sent = 0;
    if rng.below(2) == 0 {
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
            client: "flood".into(),
        };
        if encode(&hello).is_ok_and(|f| s.write_all(&f).is_ok()) {
            sent += 1;
        }
    }
    let n = 1 + rng.below(budget.min(PER_CONNECTION));
    for i in 0..n {
        // The last frame of a batch may be one that makes the agent hang up.
        let frame = if i + 1 == n && rng.below(2) == 0 {
            fatal(rng)
        } else {
            recoverable(rng)
        };
        if s.write_all(&frame).is_err() {
            break;
        }
        sent += 1;
    }
    // Done sending: read whatever the agent answers until it closes (it sees our EOF).
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 16 * 1024];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
    sent.min(budget)
}

/// Resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The good client: a fresh connection and a client-credentials token, until told to stop.
fn good_client(socket: PathBuf, profile: Profile, stop: Arc<AtomicBool>) -> (u64, Vec<String>) {
    let (mut ok, mut failures) = (0, Vec::new());
    while !stop.load(Ordering::Relaxed) {
        let got = Client::connect(&socket)
            .and_then(|mut c| c.get_token(&profile, Duration::from_secs(60), false, &mut |_| {}));
        match got {
            Ok(t) if !t.access_token.expose().is_empty() => ok += 1,
            Ok(_) => failures.push("empty token".to_owned()),
            Err(e) => failures.push(e.to_string()),
        }
    }
    (ok, failures)
}

#[test]
fn a_flood_of_bad_frames_leaves_the_good_client_served_and_memory_flat() {
    let idp = FakeIdp::start().expect("fake IdP");
    let mut env = TestEnv::new();
    // One debug line per bad frame would only measure the log file.
    env.set_env("FLYTE_AUTH_LOG", "info");
    let pid = env.start_agent(&[]).expect("agent");
    let mut profile = Profile::new(idp.url(), AuthMode::ClientSecret);
    profile.insecure = true;
    profile.client_id = Some(DEFAULT_CLIENT_ID.into());
    profile.client_secret = Some(Secret::new(DEFAULT_CLIENT_SECRET));
    // Warm up: the session exists and the allocator has settled before the first reading.
    for _ in 0..20 {
        let mut c = Client::connect(&env.socket).expect("connect");
        c.get_token(&profile, Duration::from_secs(60), false, &mut |_| {})
            .expect("warm-up token");
    }
    let before = rss_kib(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let good = std::thread::spawn({
        let (socket, profile, stop) = (env.socket.clone(), profile.clone(), stop.clone());
        move || good_client(socket, profile, stop)
    });
    let sent = Arc::new(AtomicU64::new(0));
    let connections = Arc::new(AtomicU64::new(0));
    let flooders: Vec<_> = (0..THREADS)
        .map(|t| {
            let (socket, sent, connections) =
                (env.socket.clone(), sent.clone(), connections.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1).wrapping_mul(0x1234_5678_9abc));
                let mut mine = 0;
                let quota = FRAMES / THREADS;
                // Bounded: a connection that sends nothing still counts towards the cap.
                let mut attempts = 0;
                while mine < quota && attempts < quota * 2 {
                    attempts += 1;
                    mine += one_connection(&socket, &mut rng, quota - mine);
                    connections.fetch_add(1, Ordering::Relaxed);
                }
                sent.fetch_add(mine, Ordering::Relaxed);
            })
        })
        .collect();
    for f in flooders {
        f.join().expect("flood thread");
    }
    stop.store(true, Ordering::Relaxed);
    let (ok, failures) = good.join().expect("good client");
    let after = rss_kib(pid);
    let sent = sent.load(Ordering::Relaxed);
    println!(
        "flood: {sent} frames over {} connections; good client: {ok} tokens, {} failures; \
         agent RSS {before} KiB before, {after} KiB after",
        connections.load(Ordering::Relaxed),
        failures.len()
    );

    assert_eq!(sent, FRAMES, "every frame of the flood went out");
    assert!(failures.is_empty(), "good client failed: {failures:?}");
    assert!(
        ok > 0,
        "the good client got no token at all during the flood"
    );
    assert!(
        after.saturating_sub(before) < RSS_GROWTH_LIMIT_KIB,
        "agent RSS grew from {before} KiB to {after} KiB"
    );
    // Still alive, still serving, never panicked.
    assert_eq!(status(&env)["pid"].as_u64(), Some(u64::from(pid)));
    let log = env.agent_log_text();
    assert!(!log.contains("panicked"), "the agent panicked:\n{log}");
}
