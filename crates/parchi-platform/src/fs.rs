//! Files only this OS account may read, read-only files, and fsyncing a directory.
//!
//! On Unix the protection is the file's mode, set when the file is created (so it is never
//! readable by others, not even for a moment). On Windows a new file takes the access list of
//! its directory; the data directory's default place, `%LOCALAPPDATA%`, is already private to
//! the user, so the Windows branches add nothing (docs/windows.md).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates a new file at `path` for writing, readable and writable only by this OS account
/// (mode 0600 on Unix). Refuses a path that already exists (`ErrorKind::AlreadyExists`), so a
/// file someone else prepared, or a symbolic link, is never written through.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Makes the directory `dir` accessible only to this OS account (mode 0700 on Unix; on
/// Windows the directory keeps the access list it inherited).
pub fn restrict_dir_to_owner(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Makes the file at `path` read-only, readable only by this OS account (mode 0400 on Unix),
/// so a stray write cannot change it while the owner can still delete it.
///
/// On Windows this does nothing: there the read-only attribute also makes `DeleteFileW`
/// refuse the file, and whoever prunes these files must be able to delete them.
pub fn make_read_only(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o400))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Fsyncs the directory `dir`, so that a file created, renamed or linked in it survives a
/// power cut.
///
/// On Windows this does nothing: a directory cannot be opened as a file there without
/// `FILE_FLAG_BACKUP_SEMANTICS`, and NTFS journals the metadata of a rename itself.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn a_private_file_is_mode_0600_and_holds_what_was_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("secret");
        let mut f = create_private_file(&p).expect("create");
        f.write_all(b"key").expect("write");
        drop(f);
        assert_eq!(mode(&p), 0o600);
        assert_eq!(std::fs::read(&p).expect("read"), b"key");
    }

    #[test]
    fn a_private_file_never_replaces_an_existing_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("taken");
        std::fs::write(&p, b"someone else's").expect("write");
        let err = create_private_file(&p).expect_err("must refuse");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&p).expect("read"), b"someone else's");
    }

    #[test]
    fn a_private_file_is_not_written_through_a_symlink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(create_private_file(&link).is_err());
        assert!(!target.exists(), "nothing was created behind the link");
    }

    #[test]
    fn a_restricted_dir_is_mode_0700() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("tmp");
        std::fs::create_dir(&d).expect("mkdir");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        restrict_dir_to_owner(&d).expect("restrict");
        assert_eq!(mode(&d), 0o700);
    }

    #[test]
    fn a_read_only_file_is_mode_0400_and_can_still_be_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("backup");
        std::fs::write(&p, b"x").expect("write");
        make_read_only(&p).expect("read-only");
        assert_eq!(mode(&p), 0o400);
        std::fs::remove_file(&p).expect("the owner prunes it");
    }

    #[test]
    fn a_missing_path_is_an_error_not_a_silent_success() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("no/such/dir");
        assert_eq!(
            sync_dir(&missing).expect_err("missing").kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            make_read_only(&missing).expect_err("missing").kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            restrict_dir_to_owner(&missing).expect_err("missing").kind(),
            io::ErrorKind::NotFound
        );
        sync_dir(dir.path()).expect("an existing directory syncs");
    }
}
