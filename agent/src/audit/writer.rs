//! The audit log's writer thread: appends lines, rotates the file to `.1` before it would
//! pass its size bound, and notes how many lines were dropped while it was behind.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::Msg;

/// An open audit file and its size bound.
#[derive(Debug)]
pub(super) struct Writer {
    path: PathBuf,
    file: File,
    size: u64,
    max: u64,
}

impl Writer {
    /// Opens `path` for appending (0600), creating its directory (0700) if needed.
    pub(super) fn open(path: &Path, max: u64) -> std::io::Result<Writer> {
        if let Some(dir) = path.parent() {
            flyte_auth_proto::private_dir::ensure_private_dir(dir)
                .map_err(std::io::Error::other)?;
        }
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(Writer {
            path: path.to_owned(),
            file,
            size,
            max,
        })
    }

    /// Appends one line (which ends in `\n`), rotating first if it would not fit.
    pub(super) fn write(&mut self, line: &[u8]) -> std::io::Result<()> {
        let len = line.len() as u64;
        if self.size > 0 && self.size + len > self.max {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.size += len;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, &old)?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        // A file left by someone with a looser umask, or created before: private now.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

/// Starts the thread that writes what arrives on `rx` until every sender is gone.
pub(super) fn spawn(
    mut w: Writer,
    mut rx: mpsc::Receiver<Msg>,
    dropped: Arc<AtomicU64>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("audit-log".into())
        .spawn(move || {
            let mut failing = false;
            while let Some(msg) = rx.blocking_recv() {
                let line = match msg {
                    Msg::Line(line) => line,
                    Msg::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                let lost = dropped.swap(0, Ordering::Relaxed);
                let mut text = String::new();
                if lost > 0 {
                    text = format!(
                        "{{\"time\":\"{}\",\"dropped\":{lost}}}\n",
                        rfc3339_now()
                    );
                }
                if let Ok(json) = serde_json::to_string(&line) {
                    text.push_str(&json);
                    text.push('\n');
                }
                match w.write(text.as_bytes()) {
                    Ok(()) => failing = false,
                    // Once per run of failures: a full disk must not flood the log either.
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(path = %w.path.display(), error = %e, "cannot write the audit log");
                    }
                    Err(_) => {}
                }
            }
        })
        .map(drop)
}

/// Now as `2026-12-01T21:23:07.123Z`.
pub(super) fn rfc3339_now() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    rfc3339(ms)
}

/// Unix milliseconds as an RFC 3339 UTC time (days to civil date: H. Hinnant's algorithm).
fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_007), "2000-02-29T00:00:00.007Z");
        assert_eq!(rfc3339(1_796_160_187_123), "2026-12-01T21:23:07.123Z");
    }

    #[test]
    fn rotation_keeps_each_file_within_its_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state").join("audit.jsonl");
        let mut w = Writer::open(&path, 1000).expect("open");
        let line = [b'x'; 99].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        for _ in 0..95 {
            w.write(&line).expect("write");
        }
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let old = dir.path().join("state").join("audit.jsonl.1");
        assert!(size(&path) <= 1000 && size(&old) <= 1000);
        assert_eq!(size(&old), 1000, "rotated when full");
        assert_eq!(size(&path), 500, "95 lines: 9 rotations, 5 lines since");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode(&path).ok(), Some(0o600));
            assert_eq!(mode(path.parent().expect("dir")).ok(), Some(0o700));
        }
    }
}
