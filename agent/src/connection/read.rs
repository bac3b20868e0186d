//! The reading side of a connection: framed requests off the socket, with backpressure. A
//! thin tokio adapter of proto's sans-IO [`Decoder`], which owns the framing rules (the size
//! check before anything is allocated, truncation, bad JSON) and hands out room for exactly
//! the rest of the current frame, so reading into it never reads ahead.
//!
//! The reader task reads a request only when the connection asks for the next one (streams
//! that cannot watch for a hang-up: at most one ahead), so while a request waits (on a
//! login, say) a client that pipelines frames finds its writes blocking instead of the
//! agent's memory growing. While it holds back it reads nothing, but still watches for the
//! peer hanging up, so that a login nobody waits for is cancelled.

use std::future::Future;
use std::sync::Arc;

use flyte_auth_proto::frame::{Decoder, Step};
use flyte_auth_proto::{ProtoError, Request};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

/// Why reading a request failed.
#[derive(Debug)]
pub(super) enum ReadError {
    /// The frame was read whole but its JSON is bad: answer and keep the connection.
    Recoverable(ProtoError),
    /// Framing is lost or the peer is gone: answer if possible and close.
    Fatal(ProtoError),
}

/// What the reader hands the connection.
pub(super) type Item = Result<Request, ReadError>;

/// The read half of a client stream.
pub trait PeerReader: AsyncRead + Unpin + Send + 'static {
    /// Whether [`PeerReader::hung_up`] works. Then nothing is read while a request is in
    /// flight; otherwise one request is read ahead, whose read notices a hang-up.
    const WATCHES_HANG_UP: bool = false;

    /// Resolves once the peer has hung up, without consuming anything it sent. Only called
    /// while the reader holds back (the connection is busy and a frame is waiting); streams
    /// that cannot tell keep the default, and notice the hang-up at their next read.
    fn hung_up(&self) -> impl Future<Output = ()> + Send + '_ {
        std::future::pending()
    }
}

#[cfg(unix)]
impl PeerReader for tokio::net::unix::OwnedReadHalf {
    const WATCHES_HANG_UP: bool = true;

    async fn hung_up(&self) {
        use tokio::io::Interest;
        loop {
            match self.ready(Interest::READABLE).await {
                // epoll's RDHUP/HUP: the peer closed, whatever it left unread.
                Ok(r) if r.is_read_closed() => return,
                Ok(_) => {}
                Err(_) => return,
            }
            // Readable only: unread frames (the reason we hold back). Their readiness stays
            // set until read, so look again after a pause rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

/// A read half that cannot watch for a hang-up without reading (a named pipe's): noticed at
/// its next read instead.
#[derive(Debug)]
pub struct Unwatched<R>(pub R);

impl<R: AsyncRead + Unpin> AsyncRead for Unwatched<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<R: AsyncRead + Unpin + Send + 'static> PeerReader for Unwatched<R> {}

/// Requests off one connection, and the task that reads them (ended when this is dropped,
/// which drops the read half with it).
#[derive(Debug)]
pub(super) struct Inbox {
    items: mpsc::Receiver<Item>,
    /// Tells the reader the connection wants the next request.
    want: Arc<Notify>,
    gone: CancellationToken,
    _task: AbortOnDropHandle<()>,
}

impl Inbox {
    /// Starts reading `reader`.
    pub(super) fn new<R: PeerReader>(reader: R) -> Inbox {
        // One slot: the reader is at most one request ahead.
        let (tx, items) = mpsc::channel(1);
        let want = Arc::new(Notify::new());
        let gone = CancellationToken::new();
        let task = tokio::spawn(read_loop(reader, tx, want.clone(), gone.clone()));
        Inbox {
            items,
            want,
            gone,
            _task: AbortOnDropHandle::new(task),
        }
    }

    /// The next request; `None` once the peer closed and everything it sent was taken.
    pub(super) async fn next(&mut self) -> Option<Item> {
        // One stored permit at most, however often a deadline cancels this and it is called
        // again: the reader never reads more than one frame for it.
        self.want.notify_one();
        self.items.recv().await
    }

    /// Resolves once the peer hung up (or its stream failed).
    pub(super) async fn gone(&self) {
        self.gone.cancelled().await
    }
}

/// Reads requests until EOF or a fatal error, handing each to the connection.
async fn read_loop<R: PeerReader>(
    mut reader: R,
    tx: mpsc::Sender<Item>,
    want: Arc<Notify>,
    gone: CancellationToken,
) {
    let mut decoder = Decoder::new();
    loop {
        if R::WATCHES_HANG_UP {
            tokio::select! {
                () = want.notified() => {}
                () = reader.hung_up() => break,
            }
        }
        // Room first, then read: never more than one frame ahead of the connection.
        let permit = tokio::select! {
            p = tx.reserve() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = reader.hung_up() => break,
        };
        let item = match read_request(&mut reader, &mut decoder).await {
            Ok(None) => break,
            Ok(Some(req)) => Ok(req),
            Err(e) => Err(e),
        };
        let peer_gone = matches!(
            &item,
            Err(ReadError::Fatal(ProtoError::Io(_) | ProtoError::Truncated))
        );
        let fatal = matches!(item, Err(ReadError::Fatal(_)));
        permit.send(item);
        if peer_gone {
            break;
        }
        if fatal {
            // Framing is lost; the connection closes once it has answered. Until then a
            // hang-up still cancels whatever it waits for.
            reader.hung_up().await;
            break;
        }
    }
    gone.cancel();
}

/// Reads one framed request; `Ok(None)` on a clean close between frames. Reads only into
/// the decoder's buffer: never a byte of the next frame.
async fn read_request<R: AsyncRead + Unpin>(
    stream: &mut R,
    decoder: &mut Decoder<Request>,
) -> Result<Option<Request>, ReadError> {
    loop {
        let n = stream
            .read(decoder.buf())
            .await
            .map_err(|e| ReadError::Fatal(e.into()))?;
        match decoder.filled(n).map_err(ReadError::Fatal)? {
            Step::Pending => {}
            Step::Message(req) => return Ok(Some(req)),
            Step::Invalid(e) => return Err(ReadError::Recoverable(e)),
            Step::Closed => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use flyte_auth_proto::frame::encode;
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test]
    async fn a_request_is_read_without_a_byte_of_the_next_one() {
        let (mut client, mut agent) = tokio::io::duplex(1 << 20);
        let first = encode(&Request::Status).unwrap();
        let second = encode(&Request::Shutdown).unwrap();
        let mut bad = 5u32.to_be_bytes().to_vec();
        bad.extend_from_slice(b"{bad}");
        for frame in [&first[..], &bad, &second] {
            client.write_all(frame).await.unwrap();
        }
        drop(client);
        let mut decoder = Decoder::new();
        let req = read_request(&mut agent, &mut decoder).await.unwrap();
        assert_eq!(req, Some(Request::Status));
        // Bad JSON: answered, and the stream is still in step.
        let bad = read_request(&mut agent, &mut decoder).await.unwrap_err();
        assert!(matches!(
            bad,
            ReadError::Recoverable(ProtoError::Malformed(_))
        ));
        // What is left on the stream is exactly the next frame: nothing was read ahead.
        let mut rest = Vec::new();
        agent.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, second.to_vec());
    }

    #[tokio::test]
    async fn a_frame_cut_short_is_fatal_and_a_close_between_frames_is_not() {
        let (mut client, mut agent) = tokio::io::duplex(1024);
        client
            .write_all(&encode(&Request::Status).unwrap())
            .await
            .unwrap();
        client.write_all(&[0, 0]).await.unwrap();
        drop(client);
        let mut decoder = Decoder::new();
        let req = read_request(&mut agent, &mut decoder).await.unwrap();
        assert_eq!(req, Some(Request::Status));
        let cut = read_request(&mut agent, &mut decoder).await.unwrap_err();
        assert!(
            matches!(cut, ReadError::Fatal(ProtoError::Truncated)),
            "{cut:?}"
        );

        let (client, mut agent) = tokio::io::duplex(1024);
        drop(client);
        let closed = read_request(&mut agent, &mut Decoder::new()).await.unwrap();
        assert_eq!(closed, None);
    }
}
