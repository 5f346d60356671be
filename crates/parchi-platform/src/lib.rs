//! Every call Parchi makes that differs by operating system, in one place.
//!
//! Counters run Linux today and most hospital counter PCs run Windows; only a Linux target can
//! be installed where Parchi is built and tested. So portability holds by construction: no
//! other crate uses a Unix-only or Linux-only API (`std::os::unix`, `cfg(unix)`, `/proc`,
//! signals, `exec`), and `scripts/check-portable` fails the build if one does. Each function
//! here has its Unix implementation, tested here, and beside it a `#[cfg(not(unix))]` branch
//! (`#[cfg(not(target_os = "linux"))]` for `/proc`) that is tiny, std-only and obviously right:
//! either the Windows equivalent, or, where that needs a crate Parchi does not have yet (DPAPI,
//! the print spooler), an error saying what is missing. `docs/windows.md` says what a Windows
//! build still needs.
//!
//! - [`fs`]: files only this OS account may read, read-only files, durable renames.
//! - [`data_dir`](mod@data_dir): where the data directory goes by default.
//! - [`machine`]: sealing the machine slot's key to this machine (TPM2 on Linux).
//! - [`process`]: re-executing this binary with variables read at process start.
//! - [`print`](mod@print): which print spooler this OS has.
//! - [`webview`](mod@webview): which web view the desktop window gets.
//! - [`measure`]: this process's memory and CPU time, for benchmarks.
//! - `signal` (feature `tokio`): the signals that stop the hub.
//! - `pg` (feature `postgres`): a PostgreSQL host as libpq's tools take it.

pub mod data_dir;
pub mod fs;
pub mod machine;
pub mod measure;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod print;
pub mod process;
#[cfg(feature = "tokio")]
pub mod signal;
pub mod webview;

pub use data_dir::default_data_dir;
pub use fs::{create_private_file, make_read_only, restrict_dir_to_owner, sync_dir};
pub use print::{Spooler, spooler};
pub use process::reexec_with_env;
pub use webview::{Webview, webview};
