//! The opt-in file store (`--store file`): one 0600 JSON file per session in a 0700
//! directory, each write atomic (temp file, fsync, rename, fsync of the directory), so a crash
//! leaves either the old session or the new one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use flyte_auth_proto::SessionKey;
use flyte_auth_proto::private_dir::ensure_private_dir;
use zeroize::Zeroizing;

use super::session::MAX_ITEM_BYTES;
use super::{Store, StoreError, StoredSession, account};

/// Sessions as files in one private directory.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir`, created 0700 if missing. An existing directory that others can
    /// reach, or that is not ours, is refused (see [`ensure_private_dir`]).
    pub fn open(dir: PathBuf) -> Result<FileStore, StoreError> {
        let store = FileStore { dir };
        store.check_dir()?;
        store.remove_stale_temp_files();
        Ok(store)
    }

    /// Removes temp files a crash left in the middle of a write (they hold secrets). Only one
    /// agent opens this directory at a time, so none of them is still being written.
    fn remove_stale_temp_files(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for path in entries.flatten().map(|e| e.path()) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.')
                && name.ends_with(".tmp")
                && let Err(e) = fs::remove_file(&path)
            {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove a stale temp file");
            }
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file `key`'s session is kept in: its [`account`] with every character that is
    /// not a letter, digit, `.`, `-` or `_` replaced by `_`, plus `.json`.
    pub fn path_for(&self, key: &SessionKey) -> PathBuf {
        let name: String = account(key)
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
                _ => '_',
            })
            .collect();
        self.dir.join(format!("{name}.json"))
    }

    /// Re-checked on every call: the directory may have been removed or opened up since.
    fn check_dir(&self) -> Result<(), StoreError> {
        ensure_private_dir(&self.dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot use {} for the file store: {e}",
                self.dir.display()
            ))
        })
    }
}

impl Store for FileStore {
    fn load(&self, key: &SessionKey) -> Result<Option<StoredSession>, StoreError> {
        self.check_dir()?;
        let path = self.path_for(key);
        let bytes = match read_capped(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(StoreError::system(
                    &format!("cannot read {}", path.display()),
                    e,
                ));
            }
        };
        StoredSession::decode(&bytes, key)
            .map(Some)
            .map_err(|e| e.at(&format!("the file {}", path.display())))
    }

    fn save(&self, key: &SessionKey, session: &StoredSession) -> Result<(), StoreError> {
        self.check_dir()?;
        let bytes = session.encode()?;
        let path = self.path_for(key);
        write_atomically(&self.dir, &path, &bytes)
            .map_err(|e| StoreError::system(&format!("cannot write {}", path.display()), e))
    }

    fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let path = self.path_for(key);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(StoreError::system(
                &format!("cannot remove {}", path.display()),
                e,
            )),
            _ => Ok(()),
        }
    }

    fn take_all(&self) -> Result<Vec<StoredSession>, StoreError> {
        self.check_dir()?;
        let failed = |e: std::io::Error| {
            StoreError::system(&format!("cannot list {}", self.dir.display()), e)
        };
        let mut taken = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(failed)? {
            let path = entry.map_err(failed)?.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            if let Ok(s) = read_capped(&path)
                .map_err(|_| ())
                .and_then(|b| StoredSession::decode_any(&b).map_err(|_| ()))
            {
                taken.push(s);
            }
            fs::remove_file(&path).map_err(failed)?;
        }
        Ok(taken)
    }

    fn describe(&self) -> String {
        format!("file {}", self.dir.display())
    }

    fn persistent(&self) -> bool {
        true
    }
}

/// Reads `path`, refusing more than [`MAX_ITEM_BYTES`] (not a session: a mistake or worse).
fn read_capped(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut bytes = Zeroizing::new(Vec::new());
    File::open(path)?
        .take(MAX_ITEM_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Unique per process; the pid keeps two processes apart.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Temp file in the same directory (so the rename cannot cross file systems), created 0600
/// before anything is written to it, fsynced, renamed over `path`; then the directory is
/// fsynced so the rename itself survives a power cut.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.unwrap_or_default(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = create_private(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written?;
    sync_dir(dir)
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask may have removed bits, never added any; make it exactly 0600 anyway.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<File> {
    // Windows: the file inherits the ACL of the user's profile directory it lives in.
    OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Windows cannot open a directory for flushing; NTFS journals the rename itself.
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use flyte_auth_proto::{AuthMode, Profile};

    use super::*;
    use crate::store::session::tests::sample;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn key() -> SessionKey {
        Profile::new("https://flyte.example.com:8443", AuthMode::Pkce).session_key()
    }

    #[test]
    fn creates_a_private_dir_and_private_files_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state/flyte-auth/tokens");
        let store = FileStore::open(dir.clone()).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let k = key();
        store.save(&k, &sample(&k)).unwrap();
        let mut s = sample(&k);
        s.refresh_token = flyte_auth_proto::Secret::new("rotated");
        store.save(&k, &s).unwrap();
        let path = store.path_for(&k);
        assert_eq!(mode(&path), 0o600);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            names,
            [path.file_name().unwrap().to_str().unwrap()],
            "no temp files"
        );
        assert!(names[0].starts_with("flyte.example.com_8443_user_default_"));
        assert_eq!(store.load(&k).unwrap(), Some(s));
        assert!(store.persistent());
    }

    #[test]
    fn missing_file_is_none_and_delete_is_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::open(tmp.path().join("t")).unwrap();
        let k = key();
        assert_eq!(store.load(&k).unwrap(), None);
        store.save(&k, &sample(&k)).unwrap();
        store.delete(&k).unwrap();
        store.delete(&k).unwrap();
        assert_eq!(store.load(&k).unwrap(), None);
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::open(tmp.path().join("t")).unwrap();
        let k = key();
        let path = store.path_for(&k);
        for content in [&b"rt-secret-value"[..], &vec![b' '; MAX_ITEM_BYTES + 10]] {
            fs::write(&path, content).unwrap();
            let e = store.load(&k).unwrap_err();
            let msg = e.to_string();
            assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            assert!(!msg.contains("rt-secret-value"), "{msg}");
        }
    }

    #[test]
    fn refuses_a_directory_others_can_read() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("open");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let e = FileStore::open(dir).unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
        assert!(e.to_string().contains("chmod 700"), "{e}");
    }

    #[test]
    fn opening_removes_temp_files_a_crash_left_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tokens");
        FileStore::open(dir.clone()).unwrap();
        let stale = dir.join(".x.json.123-0.tmp");
        fs::write(&stale, b"half a secret").unwrap();
        let keep = dir.join("x.json");
        fs::write(&keep, b"{}").unwrap();
        FileStore::open(dir.clone()).unwrap();
        assert!(!stale.exists(), "stale temp file must be removed");
        assert!(keep.exists(), "session files are not touched");
    }
}
