//! Reading response bodies with a size cap, into buffers that are zeroized when dropped.
//!
//! Every body the agent reads (token, device authorization, discovery, revocation, error
//! answers) goes through here: a body is read chunk by chunk and reading stops at the cap,
//! whatever `Content-Length` says or omits, so a hostile or broken server costs at most the
//! cap in memory. Token responses hold secrets: the buffer never reallocates in place
//! (a bigger one is allocated and the old one zeroized), and each chunk hyper hands over is
//! wiped once copied when nothing else shares it.

use zeroize::{Zeroize, Zeroizing};

/// Most bytes of a token endpoint answer: room for an access token the size of a client
/// frame plus an ID token and a refresh token.
pub const TOKEN_LIMIT: usize = 256 * 1024;
/// Most bytes of a discovery document, device authorization or revocation answer.
pub const DOCUMENT_LIMIT: usize = 64 * 1024;
/// Most bytes read of an error answer: enough to find the OAuth error in it or quote it.
pub const ERROR_LIMIT: usize = 16 * 1024;

/// A body read to its end, or as far as the cap.
#[derive(Debug)]
pub struct Body {
    /// The bytes read (at most the cap).
    pub bytes: Zeroizing<Vec<u8>>,
    /// Whether the body went on past the cap.
    pub truncated: bool,
}

/// Reads at most `limit` bytes of `resp`'s body. A body announced (or found) larger than
/// `limit` is not read further; [`Body::truncated`] says so.
pub async fn read_up_to(mut resp: reqwest::Response, limit: usize) -> Result<Body, reqwest::Error> {
    let announced = resp.content_length().and_then(|n| usize::try_from(n).ok());
    let mut buf = Zeroizing::new(Vec::with_capacity(announced.unwrap_or(1024).min(limit)));
    while let Some(chunk) = resp.chunk().await? {
        let room = limit - buf.len();
        let take = chunk.len().min(room);
        append(&mut buf, &chunk[..take], limit);
        wipe(chunk);
        if take < room {
            continue;
        }
        // Full: a body that ends exactly at the cap is complete, anything more is not.
        let more = match resp.chunk().await? {
            Some(c) => {
                let more = !c.is_empty();
                wipe(c);
                more
            }
            None => false,
        };
        return Ok(Body {
            bytes: buf,
            truncated: more,
        });
    }
    Ok(Body {
        bytes: buf,
        truncated: false,
    })
}

/// Appends `data`, growing into a new buffer (and zeroizing the old) rather than letting
/// `Vec` reallocate and leave a copy behind.
fn append(buf: &mut Zeroizing<Vec<u8>>, data: &[u8], limit: usize) {
    let need = buf.len() + data.len();
    if need > buf.capacity() {
        let cap = need.next_power_of_two().clamp(1024, limit.max(need));
        let mut bigger = Zeroizing::new(Vec::with_capacity(cap));
        bigger.extend_from_slice(buf);
        *buf = bigger;
    }
    buf.extend_from_slice(data);
}

/// Zeroizes a chunk hyper handed over, if this was its only reference.
fn wipe(chunk: bytes::Bytes) {
    if let Ok(mut owned) = chunk.try_into_mut() {
        owned.as_mut().zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_keeps_the_bytes_and_respects_the_cap() {
        let mut buf = Zeroizing::new(Vec::new());
        for i in 0..100u8 {
            append(&mut buf, &[i; 100], 10_000);
        }
        assert_eq!(buf.len(), 10_000);
        assert!(buf.capacity() <= 16_384, "{}", buf.capacity());
        assert_eq!(buf[9_999], 99);
        assert_eq!(buf[0], 0);
    }
}

#[cfg(test)]
mod wire_tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves one HTTP/1.0-style answer of `len` bytes (no `Content-Length`, ends at close)
    /// and returns its URL.
    async fn serve(len: usize) -> String {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", l.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                .await;
            let chunk = vec![b'A'; 8192];
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len());
                if s.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                left -= n;
            }
        });
        url
    }

    async fn read(len: usize, limit: usize) -> Body {
        let resp = reqwest::get(serve(len).await).await.unwrap();
        read_up_to(resp, limit).await.unwrap()
    }

    #[tokio::test]
    async fn stops_at_the_cap_without_content_length() {
        let b = read(10 * 1024 * 1024, 64 * 1024).await;
        assert!(b.truncated);
        assert_eq!(b.bytes.len(), 64 * 1024);
        let b = read(64 * 1024, 64 * 1024).await;
        assert!(!b.truncated, "a body of exactly the cap is complete");
        assert_eq!(b.bytes.len(), 64 * 1024);
        let b = read(10, 64 * 1024).await;
        assert_eq!((b.bytes.len(), b.truncated), (10, false));
    }
}
