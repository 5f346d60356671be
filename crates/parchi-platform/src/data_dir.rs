//! Where a counter's data lives when nobody says (`--data`, `$PARCHI_DATA` are the callers'
//! business): the place each OS keeps an application's per-user data.
//!
//! Both rules are pure functions of the environment and both are tested here, whichever OS
//! runs the tests; [`default_data_dir`] picks the one for this OS.

use std::ffi::OsString;
use std::path::PathBuf;

/// Where the data goes when no environment variable says: the working directory's
/// `.parchi-data`.
const LAST_RESORT: &str = ".parchi-data";

/// This OS's default data directory: on Unix `$XDG_DATA_HOME/parchi`, else
/// `~/.local/share/parchi` (the XDG base directory rule); on Windows
/// `%LOCALAPPDATA%\Parchi`. An empty variable counts as unset.
pub fn default_data_dir() -> PathBuf {
    let var = |k: &str| std::env::var_os(k);
    #[cfg(unix)]
    {
        xdg_rule(var)
    }
    #[cfg(not(unix))]
    {
        windows_rule(var)
    }
}

/// The Unix rule over an environment lookup.
pub fn xdg_rule(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let var = |k: &str| var(k).filter(|v| !v.is_empty());
    if let Some(x) = var("XDG_DATA_HOME") {
        return PathBuf::from(x).join("parchi");
    }
    match var("HOME") {
        Some(h) => PathBuf::from(h).join(".local").join("share").join("parchi"),
        None => PathBuf::from(LAST_RESORT),
    }
}

/// The Windows rule over an environment lookup: `%LOCALAPPDATA%\Parchi` (not the roaming
/// `%APPDATA%`: a SQLite database must not travel with a roaming profile).
pub fn windows_rule(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    match var("LOCALAPPDATA").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("Parchi"),
        None => PathBuf::from(LAST_RESORT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn xdg_data_home_wins_over_home() {
        let d = xdg_rule(env(&[("XDG_DATA_HOME", "/data"), ("HOME", "/home/clerk")]));
        assert_eq!(d, PathBuf::from("/data/parchi"));
    }

    #[test]
    fn home_gives_local_share() {
        let d = xdg_rule(env(&[("HOME", "/home/clerk")]));
        assert_eq!(d, PathBuf::from("/home/clerk/.local/share/parchi"));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let d = xdg_rule(env(&[("XDG_DATA_HOME", ""), ("HOME", "/home/clerk")]));
        assert_eq!(d, PathBuf::from("/home/clerk/.local/share/parchi"));
        assert_eq!(
            xdg_rule(env(&[("HOME", "")])),
            PathBuf::from(".parchi-data")
        );
        assert_eq!(
            windows_rule(env(&[("LOCALAPPDATA", "")])),
            PathBuf::from(".parchi-data")
        );
    }

    #[test]
    fn no_home_at_all_uses_the_working_directory() {
        assert_eq!(xdg_rule(env(&[])), PathBuf::from(".parchi-data"));
    }

    #[test]
    fn windows_uses_local_app_data_not_roaming() {
        let d = windows_rule(env(&[
            ("APPDATA", "C:/Users/clerk/AppData/Roaming"),
            ("LOCALAPPDATA", "C:/Users/clerk/AppData/Local"),
        ]));
        assert_eq!(
            d,
            PathBuf::from("C:/Users/clerk/AppData/Local").join("Parchi")
        );
        assert_eq!(windows_rule(env(&[])), PathBuf::from(".parchi-data"));
    }

    #[cfg(unix)]
    #[test]
    fn this_os_uses_the_xdg_rule() {
        assert_eq!(default_data_dir(), xdg_rule(|k| std::env::var_os(k)));
    }
}
