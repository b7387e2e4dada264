//! Files that hold personal data — the SQLite database and its journals, the key file,
//! backups, exports with full ID numbers — are created readable and writable by their owner
//! only (mode 0600), whatever the process's umask.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

#[cfg(unix)]
fn options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = OpenOptions::new();
    o.mode(0o600);
    o
}

#[cfg(not(unix))]
fn options() -> OpenOptions {
    OpenOptions::new()
}

/// A new file, or an existing one emptied, for writing; owner-only when it is created.
pub fn create(path: &Path) -> io::Result<File> {
    let f = options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    restrict(path)?;
    Ok(f)
}

/// A new file that must not exist yet, owner-only.
pub fn create_new(path: &Path) -> io::Result<File> {
    options().write(true).create_new(true).open(path)
}

/// Make sure `path` exists (empty if it did not) and is readable by its owner only. SQLite
/// gives its `-wal` and `-shm` files the database file's own mode, so an owner-only database
/// keeps its journals private too.
pub fn ensure(path: &Path) -> io::Result<()> {
    if !path.exists() {
        drop(
            options()
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)?,
        );
    }
    restrict(path)
}

/// Take away the group's and others' access to an existing file.
#[cfg(unix)]
pub fn restrict(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn restrict(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn owner_only_whatever_existed() {
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let a = dir.path().join("a.xlsx");
        drop(super::create(&a).unwrap());
        assert_eq!(mode(&a), 0o600);
        let b = dir.path().join("b.db");
        std::fs::write(&b, b"").unwrap();
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::ensure(&b).unwrap();
        assert_eq!(mode(&b), 0o600);
        assert!(
            super::create_new(&b).is_err(),
            "create_new refuses an existing file"
        );
    }
}
