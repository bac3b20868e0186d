//! The reading side of a connection: framed requests off the socket, checked for size
//! before anything is allocated.

use flyte_auth_proto::frame::{self, PREFIX_LEN};
use flyte_auth_proto::{ProtoError, Request};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

/// Why reading a request failed.
#[derive(Debug)]
pub(super) enum ReadError {
    /// The frame was read whole but its JSON is bad: answer and keep the connection.
    Recoverable(ProtoError),
    /// Framing is lost or the peer is gone: answer if possible and close.
    Fatal(ProtoError),
}

/// Reads requests until EOF or a fatal error, handing each to the connection.
pub(super) async fn read_loop<R: AsyncRead + Unpin>(
    mut reader: R,
    tx: mpsc::Sender<Result<Request, ReadError>>,
) {
    loop {
        let item = match read_request(&mut reader).await {
            Ok(None) => return,
            Ok(Some(req)) => Ok(req),
            Err(e) => Err(e),
        };
        let fatal = matches!(item, Err(ReadError::Fatal(_)));
        if tx.send(item).await.is_err() || fatal {
            return;
        }
    }
}

/// Reads one framed request; `Ok(None)` on a clean close between frames.
async fn read_request<R: AsyncRead + Unpin>(stream: &mut R) -> Result<Option<Request>, ReadError> {
    let mut prefix = [0u8; PREFIX_LEN];
    let mut got = 0;
    while got < PREFIX_LEN {
        match stream.read(&mut prefix[got..]).await {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(ReadError::Fatal(ProtoError::Truncated)),
            Ok(n) => got += n,
            Err(e) => return Err(ReadError::Fatal(e.into())),
        }
    }
    // Checked before allocating: a hostile length prefix costs us nothing.
    let len = frame::body_len(prefix).map_err(ReadError::Fatal)?;
    let mut body = Zeroizing::new(vec![0u8; len]);
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ReadError::Fatal(ProtoError::Truncated),
            _ => ReadError::Fatal(e.into()),
        })?;
    frame::decode(&body)
        .map(Some)
        .map_err(ReadError::Recoverable)
}
