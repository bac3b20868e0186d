//! The fake IdP's server thread: a current-thread tokio runtime accepting connections and
//! serving each with hyper's HTTP/1 server until shutdown.

use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use super::Fault;
use super::routes;
use super::state::{Shared, lock};

/// Starts serving `listener` on a new thread. Sending on (or dropping) the returned sender
/// stops the server; the thread ends once open connections are aborted.
pub(super) fn spawn(
    listener: std::net::TcpListener,
    state: Shared,
) -> anyhow::Result<(oneshot::Sender<()>, JoinHandle<()>)> {
    // tokio requires a non-blocking socket; set it here so a failure is reported by `start`.
    listener.set_nonblocking(true)?;
    // One thread is plenty for a test server, and handlers never block (they only hold a
    // std Mutex briefly), so slow answers (`Fault::Delay`) don't stall other connections.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, rx) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("fake-idp".into())
        .spawn(move || {
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => serve(listener, state, rx).await,
                    Err(e) => eprintln!("fake-idp: cannot register listener: {e}"),
                }
            });
            // Dropping the runtime drops the aborted connection tasks without waiting for them.
        })?;
    Ok((tx, thread))
}

async fn serve(listener: TcpListener, state: Shared, mut shutdown: oneshot::Receiver<()>) {
    // Connection tasks live in a JoinSet so that leaving this function aborts them all:
    // keep-alive connections and `Delay`ed answers must not keep the server alive.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            // Ok = explicit shutdown, Err = FakeIdp gone; either way stop.
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Usually transient (e.g. out of file descriptors); back off briefly
                        // instead of spinning.
                        eprintln!("fake-idp: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if super::outage::refuse(&state, &stream) {
                    continue;
                }
                if lock(&state).fault == Fault::Refuse {
                    // The IdP is "down": close without reading or answering.
                    drop(stream);
                    continue;
                }
                let state = state.clone();
                conns.spawn(async move {
                    let service = service_fn(move |req| routes::handle(state.clone(), req));
                    // Errors here are client disconnects or deliberate refusals; the client
                    // side of the test observes them, so there is nothing to report.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            // Reap finished connections so the set doesn't grow over a long test.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}
