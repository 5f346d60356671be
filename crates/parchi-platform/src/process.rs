//! Starting this binary again, in place, with environment variables that libraries read only
//! at process start (glibc's malloc, WebKitGTK: see src-tauri/src/main.rs).
//!
//! Unix `exec` replaces the process image and keeps the process ID, so whatever launched the
//! app still sees it. Windows has no `exec`: a child would be a new process, which launchers
//! and Windows' own app tracking would not follow, so there [`reexec_with_env`] refuses and the
//! caller goes on without the variables.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::process::Command;

/// The variables of `vars` to set in the new image: those the current environment (`get`)
/// does not have at all. One already set, even to the empty string, is left as the user set
/// it.
pub fn vars_to_add<'a>(
    vars: &'a [(&'a str, &'a str)],
    get: impl Fn(&str) -> Option<OsString>,
) -> Vec<(&'a str, &'a str)> {
    vars.iter()
        .copied()
        .filter(|(k, _)| get(k).is_none())
        .collect()
}

/// The command that starts `exe` again with this process's arguments (`args`, its first the
/// name it was started as, kept as `argv[0]` on Unix) and `add` added to the environment.
pub fn reexec_command(
    exe: PathBuf,
    mut args: impl Iterator<Item = OsString>,
    add: &[(&str, &str)],
) -> Command {
    let mut cmd = Command::new(exe);
    let arg0 = args.next();
    #[cfg(unix)]
    if let Some(arg0) = arg0 {
        use std::os::unix::process::CommandExt;
        cmd.arg0(arg0);
    }
    #[cfg(not(unix))]
    let _ = arg0;
    cmd.args(args);
    for (k, v) in add {
        cmd.env(k, v);
    }
    cmd
}

/// Replaces this process with a fresh start of the same binary and arguments, with those of
/// `vars` that are unset added to its environment. Returns only if that failed, with why; the
/// caller then goes on as it is. Call it only when some variable is missing, or it would
/// re-execute for nothing.
///
/// On a non-Unix OS it always returns [`io::ErrorKind::Unsupported`].
pub fn reexec_with_env(vars: &[(&str, &str)]) -> io::Error {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => return e,
        };
        let add = vars_to_add(vars, |k| std::env::var_os(k));
        reexec_command(exe, std::env::args_os(), &add).exec()
    }
    #[cfg(not(unix))]
    {
        let _ = vars;
        io::Error::new(
            io::ErrorKind::Unsupported,
            "this OS cannot re-execute a process in place (no exec); see docs/windows.md",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    const WANTED: [(&str, &str); 3] = [("A_VAR", "1"), ("B_VAR", "2"), ("STARTED", "99")];

    #[test]
    fn only_unset_variables_are_added() {
        let get = |k: &str| (k == "B_VAR").then(|| OsString::from("user's"));
        assert_eq!(
            vars_to_add(&WANTED, get),
            vec![("A_VAR", "1"), ("STARTED", "99")]
        );
    }

    #[test]
    fn a_variable_set_to_empty_is_left_alone() {
        let get = |k: &str| (k != "STARTED").then(OsString::new);
        assert_eq!(vars_to_add(&WANTED, get), vec![("STARTED", "99")]);
    }

    #[test]
    fn nothing_is_added_when_everything_is_set() {
        assert!(vars_to_add(&WANTED, |_| Some(OsString::from("x"))).is_empty());
    }

    #[test]
    fn the_command_keeps_the_arguments_and_adds_the_variables() {
        let args = ["parchi-desktop", "--flag", "a b"].map(OsString::from);
        let cmd = reexec_command(
            PathBuf::from("/opt/parchi/parchi-desktop"),
            args.into_iter(),
            &[("A_VAR", "1")],
        );
        assert_eq!(cmd.get_program(), OsStr::new("/opt/parchi/parchi-desktop"));
        let got: Vec<&OsStr> = cmd.get_args().collect();
        assert_eq!(got, [OsStr::new("--flag"), OsStr::new("a b")]);
        let envs: Vec<(&OsStr, Option<&OsStr>)> = cmd.get_envs().collect();
        assert_eq!(envs, [(OsStr::new("A_VAR"), Some(OsStr::new("1")))]);
    }
}
