//! Printing a PDF through CUPS.
//!
//! `lp` queues a job even on a stopped printer, where the clerk would wait for a slip that never
//! comes. So before submitting, `lpstat` is asked whether the scheduler runs, whether the printer
//! exists, is enabled and accepts jobs; each "no" is its own [`PrintError`] that says what to do.
//! The PDF is never deleted here: every error says where it is kept, to print later.
//!
//! The commands run with `LC_ALL=C`, so their messages are the English ones parsed below whatever
//! the counter's locale.
//!
//! CUPS is the spooler of Linux and macOS only (`parchi_platform::spooler`); on an OS without
//! it (Windows) every print is refused with [`PrintError::NoCups`] before any command runs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A job CUPS accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    /// The printer (CUPS queue) it went to.
    pub printer: String,
    /// CUPS's job id, e.g. "PDF-12": `cancel PDF-12` withdraws it, `lpstat -o` lists it.
    pub job_id: String,
}

/// How to reach CUPS and what to call the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintOptions {
    /// The CUPS queue; `None` uses CUPS's default printer.
    pub printer: Option<String>,
    /// The job's title, shown in print queues (and cups-pdf's file name): fixed words, never a
    /// patient's name.
    pub title: String,
    /// Copies to print, at least 1.
    pub copies: u32,
    /// The CUPS server (`host[:port]` or a socket path), or `None` for the local scheduler.
    pub server: Option<String>,
    /// The `lp` program.
    pub lp: PathBuf,
    /// The `lpstat` program.
    pub lpstat: PathBuf,
    /// How long one CUPS command may take before it is given up.
    pub timeout: Duration,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions {
            printer: None,
            title: "Parchi slip".to_string(),
            copies: 1,
            server: None,
            lp: PathBuf::from("lp"),
            lpstat: PathBuf::from("lpstat"),
            timeout: Duration::from_secs(15),
        }
    }
}

/// Why a PDF was not printed. Every message says what to do, and where the PDF is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    /// The file to print is not there or not readable.
    #[error("the PDF to print cannot be read at {path}: {detail}")]
    PdfMissing {
        /// The path given.
        path: PathBuf,
        /// The operating system's reason.
        detail: String,
    },

    /// This OS does not print through CUPS (Windows has its own spooler, which Parchi cannot
    /// drive yet).
    #[error(
        "this operating system has no CUPS, and printing through its own print spooler is not \
         built into Parchi yet (see docs/windows.md). The PDF is kept at {path}; print it from \
         there"
    )]
    NoCups {
        /// Where the PDF is kept.
        path: PathBuf,
    },

    /// `lp` or `lpstat` is not installed.
    #[error(
        "the CUPS command `{command}` is not installed, so nothing can be printed: install the \
         CUPS client (Debian: apt-get install cups-client). The PDF is kept at {path}; print it \
         once CUPS is set up"
    )]
    LpMissing {
        /// The command that was not found.
        command: String,
        /// Where the PDF is kept.
        path: PathBuf,
    },

    /// The CUPS scheduler is not running (or not reachable).
    #[error(
        "the CUPS print service is not running: start it (as root: `cupsd`, or `service cups \
         start`). The PDF is kept at {path}; print it again once CUPS runs"
    )]
    SchedulerNotRunning {
        /// Where the PDF is kept.
        path: PathBuf,
    },

    /// No printer was named and CUPS has no default.
    #[error(
        "no printer was named and CUPS has no default printer: set the printer in Parchi's \
         config (or pass --printer NAME), or make one the default with `lpoptions -d NAME`; \
         `lpstat -p` lists the printers. The PDF is kept at {path}"
    )]
    NoDefaultPrinter {
        /// Where the PDF is kept.
        path: PathBuf,
    },

    /// The name is not one CUPS could hold.
    #[error(
        "{printer:?} is not a valid CUPS printer name (up to 127 printable characters, no \
         spaces, '/', '\\\\' or '#'): fix the printer name in the config. The PDF is kept at \
         {path}"
    )]
    InvalidPrinterName {
        /// The name given.
        printer: String,
        /// Where the PDF is kept.
        path: PathBuf,
    },

    /// CUPS has no printer of that name.
    #[error(
        "CUPS has no printer named {printer:?}: check the printer name in the config (`lpstat \
         -p` lists the printers). The PDF is kept at {path}; print it once the printer is set up"
    )]
    NoSuchPrinter {
        /// The name given.
        printer: String,
        /// Where the PDF is kept.
        path: PathBuf,
    },

    /// The printer is stopped (disabled), e.g. after a paper-out or a jam.
    #[error(
        "printer {printer:?} is stopped{}: check its paper, cover and cable, then start it \
         again (`cupsenable {printer}`). The PDF is kept at {path}; print it again then",
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    PrinterStopped {
        /// The printer.
        printer: String,
        /// The reason CUPS gives, if any.
        reason: Option<String>,
        /// Where the PDF is kept.
        path: PathBuf,
    },

    /// The printer refuses new jobs.
    #[error(
        "printer {printer:?} is not accepting jobs{}: let it accept jobs again (`cupsaccept \
         {printer}`) or print on another printer. The PDF is kept at {path}",
        reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
    )]
    NotAccepting {
        /// The printer.
        printer: String,
        /// The reason CUPS gives, if any.
        reason: Option<String>,
        /// Where the PDF is kept.
        path: PathBuf,
    },

    /// A CUPS command took longer than the timeout.
    #[error(
        "the CUPS command `{command}` did not answer within {seconds} s: check that the print \
         service is healthy (`lpstat -r`). The PDF is kept at {path}"
    )]
    Timeout {
        /// The command.
        command: String,
        /// The timeout.
        seconds: u64,
        /// Where the PDF is kept.
        path: PathBuf,
    },

    /// A CUPS command failed in a way not covered above.
    #[error("the CUPS command `{command}` failed ({status}): {stderr}. The PDF is kept at {path}")]
    CommandFailed {
        /// The command.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on standard error.
        stderr: String,
        /// Where the PDF is kept.
        path: PathBuf,
    },
}

impl PrintError {
    /// A stable code for the reason (stored beside a kept slip; never the message text).
    pub fn code(&self) -> &'static str {
        match self {
            PrintError::PdfMissing { .. } => "pdf_missing",
            PrintError::NoCups { .. } => "no_cups",
            PrintError::LpMissing { .. } => "lp_missing",
            PrintError::SchedulerNotRunning { .. } => "scheduler_not_running",
            PrintError::NoDefaultPrinter { .. } => "no_default_printer",
            PrintError::InvalidPrinterName { .. } => "invalid_printer_name",
            PrintError::NoSuchPrinter { .. } => "no_such_printer",
            PrintError::PrinterStopped { .. } => "printer_stopped",
            PrintError::NotAccepting { .. } => "not_accepting",
            PrintError::Timeout { .. } => "timeout",
            PrintError::CommandFailed { .. } => "command_failed",
        }
    }
}

/// Prints the PDF at `pdf_path` on `printer` (a CUPS queue name), or on CUPS's default printer
/// when `printer` is `None`, with the job titled "Parchi slip".
///
/// # Errors
/// See [`PrintError`]: each variant says what to do. The PDF is left where it is in every case.
pub fn print(pdf_path: &Path, printer: Option<&str>) -> Result<PrintJob, PrintError> {
    print_with(
        pdf_path,
        &PrintOptions {
            printer: printer.map(str::to_string),
            ..PrintOptions::default()
        },
    )
}

/// [`print()`] with every option spelled out.
///
/// # Errors
/// As [`print()`].
pub fn print_with(pdf_path: &Path, opts: &PrintOptions) -> Result<PrintJob, PrintError> {
    // An absolute path can never be taken for an option of lp.
    let path = std::fs::canonicalize(pdf_path).map_err(|e| PrintError::PdfMissing {
        path: pdf_path.to_path_buf(),
        detail: e.to_string(),
    })?;
    std::fs::File::open(&path).map_err(|e| PrintError::PdfMissing {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let cups = Cups { opts, path: &path };
    let printer = ready_printer(&cups)?;
    let path_arg = path.to_string_lossy().into_owned();
    submit(&cups, &printer, Some(&path_arg), None)
}

/// Prints PDF bytes: piped to `lp` on its standard input, so no file is written on the way.
/// `kept` says, in every error, where the caller keeps the PDF (e.g. inside its encrypted
/// store) for printing later.
///
/// # Errors
/// As [`print()`].
pub fn print_bytes(pdf: &[u8], kept: &str, opts: &PrintOptions) -> Result<PrintJob, PrintError> {
    let kept = PathBuf::from(kept);
    let cups = Cups { opts, path: &kept };
    let printer = ready_printer(&cups)?;
    submit(&cups, &printer, None, Some(pdf))
}

/// Asks CUPS whether it runs and the printer is there, enabled and accepting; the printer.
fn ready_printer(cups: &Cups<'_>) -> Result<String, PrintError> {
    let opts = cups.opts;
    let path = cups.path.to_path_buf();
    if parchi_platform::spooler() != parchi_platform::Spooler::Cups {
        return Err(PrintError::NoCups { path });
    }
    let sched = cups.run(&opts.lpstat, &["-r"])?;
    if !sched.stdout.contains("scheduler is running") {
        return Err(PrintError::SchedulerNotRunning { path });
    }

    let printer = match &opts.printer {
        Some(p) => {
            if !valid_printer_name(p) {
                return Err(PrintError::InvalidPrinterName {
                    printer: p.clone(),
                    path,
                });
            }
            p.clone()
        }
        None => {
            let out = cups.run(&opts.lpstat, &["-d"])?;
            match parse_default(&out.stdout) {
                Some(p) => p,
                None => return Err(PrintError::NoDefaultPrinter { path }),
            }
        }
    };

    let state = cups.run(&opts.lpstat, &["-p", &printer])?;
    if !state.success {
        if state.stderr.contains("Invalid destination") || state.stderr.contains("does not exist") {
            return Err(PrintError::NoSuchPrinter { printer, path });
        }
        return Err(cups.failed(&opts.lpstat, &["-p", &printer], &state));
    }
    if let PrinterState::Disabled { reason } = parse_printer_state(&state.stdout, &printer) {
        return Err(PrintError::PrinterStopped {
            printer,
            reason,
            path,
        });
    }

    let accepting = cups.run(&opts.lpstat, &["-a", &printer])?;
    if !accepting.success {
        return Err(cups.failed(&opts.lpstat, &["-a", &printer], &accepting));
    }
    if let Some(reason) = parse_not_accepting(&accepting.stdout, &printer) {
        return Err(PrintError::NotAccepting {
            printer,
            reason,
            path,
        });
    }

    Ok(printer)
}

/// Submits the job: the file at `path_arg`, or `input` on lp's standard input.
fn submit(
    cups: &Cups<'_>,
    printer: &str,
    path_arg: Option<&str>,
    input: Option<&[u8]>,
) -> Result<PrintJob, PrintError> {
    let opts = cups.opts;
    let path = cups.path.to_path_buf();
    let printer = printer.to_string();
    let copies = opts.copies.max(1).to_string();
    let mut args = vec![
        "-d",
        printer.as_str(),
        "-t",
        opts.title.as_str(),
        "-n",
        copies.as_str(),
    ];
    args.extend(path_arg);
    let out = cups.run_input(&opts.lp, &args, input)?;
    if !out.success {
        if out.stderr.contains("does not exist") {
            return Err(PrintError::NoSuchPrinter { printer, path });
        }
        if out.stderr.contains("not accepting") {
            return Err(PrintError::NotAccepting {
                printer,
                reason: None,
                path,
            });
        }
        return Err(cups.failed(&opts.lp, &args, &out));
    }
    match parse_job_id(&out.stdout) {
        Some(job_id) => Ok(PrintJob { printer, job_id }),
        None => Err(PrintError::CommandFailed {
            command: display_command(&opts.lp, &args),
            status: "0".to_string(),
            stderr: format!("no job id in lp's answer {:?}", out.stdout.trim()),
            path,
        }),
    }
}

/// CUPS refuses names longer than 127 bytes, and ones holding spaces, controls, '/', '\' or '#'.
fn valid_printer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '/' | '\\' | '#'))
}

/// `lpstat -d`: "system default destination: NAME" or "no system default destination".
fn parse_default(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|l| {
        l.strip_prefix("system default destination:")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
    })
}

#[derive(Debug, PartialEq, Eq)]
enum PrinterState {
    Enabled,
    Disabled { reason: Option<String> },
}

/// `lpstat -p NAME`: "printer NAME is idle.  enabled since …", "printer NAME now printing …" or
/// "printer NAME disabled since … -" followed by an indented reason line.
fn parse_printer_state(stdout: &str, printer: &str) -> PrinterState {
    let head = format!("printer {printer} ");
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix(&head) {
            if rest.starts_with("disabled") {
                let reason = lines
                    .next()
                    .filter(|l| l.starts_with(char::is_whitespace))
                    .map(|l| l.trim().to_string())
                    .filter(|r| !r.is_empty());
                return PrinterState::Disabled { reason };
            }
            return PrinterState::Enabled;
        }
    }
    PrinterState::Enabled
}

/// `lpstat -a NAME`: "NAME accepting requests since …" or "NAME not accepting requests since …
/// -" with an indented reason. `Some(reason)` when it does not accept.
fn parse_not_accepting(stdout: &str, printer: &str) -> Option<Option<String>> {
    let head = format!("{printer} not accepting");
    let mut lines = stdout.lines();
    while let Some(line) = lines.next() {
        if line.starts_with(&head) {
            let reason = lines
                .next()
                .filter(|l| l.starts_with(char::is_whitespace))
                .map(|l| l.trim().to_string())
                .filter(|r| !r.is_empty());
            return Some(reason);
        }
    }
    None
}

/// `lp`: "request id is PDF-12 (1 file(s))".
fn parse_job_id(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|l| {
        l.trim()
            .strip_prefix("request id is ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    })
}

fn display_command(program: &Path, args: &[&str]) -> String {
    let mut s = program.display().to_string();
    for a in args {
        s.push(' ');
        s.push_str(a);
    }
    s
}

struct Output {
    success: bool,
    status: String,
    stdout: String,
    stderr: String,
}

struct Cups<'a> {
    opts: &'a PrintOptions,
    path: &'a Path,
}

impl Cups<'_> {
    fn failed(&self, program: &Path, args: &[&str], out: &Output) -> PrintError {
        PrintError::CommandFailed {
            command: display_command(program, args),
            status: out.status.clone(),
            stderr: out.stderr.trim().to_string(),
            path: self.path.to_path_buf(),
        }
    }

    /// Runs one CUPS command with a time limit, in the C locale.
    fn run(&self, program: &Path, args: &[&str]) -> Result<Output, PrintError> {
        self.run_input(program, args, None)
    }

    /// [`Cups::run`], writing `input` (if any) to the command's standard input.
    fn run_input(
        &self,
        program: &Path,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<Output, PrintError> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(server) = &self.opts.server {
            cmd.env("CUPS_SERVER", server);
        }
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                PrintError::LpMissing {
                    command: program.display().to_string(),
                    path: self.path.to_path_buf(),
                }
            } else {
                PrintError::CommandFailed {
                    command: display_command(program, args),
                    status: "not started".to_string(),
                    stderr: e.to_string(),
                    path: self.path.to_path_buf(),
                }
            }
        })?;
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            use std::io::Write;
            // A write error (lp exited early) shows in its exit status and stderr below.
            let bytes = bytes.to_vec();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
        }
        // Read both pipes on their own threads so a chatty command never blocks on a full pipe.
        let stdout = child.stdout.take().map(reader);
        let stderr = child.stderr.take().map(reader);
        let deadline = Instant::now() + self.opts.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    // Best effort: the command is abandoned either way.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(PrintError::Timeout {
                        command: display_command(program, args),
                        seconds: self.opts.timeout.as_secs(),
                        path: self.path.to_path_buf(),
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    return Err(PrintError::CommandFailed {
                        command: display_command(program, args),
                        status: "unknown".to_string(),
                        stderr: e.to_string(),
                        path: self.path.to_path_buf(),
                    });
                }
            }
        };
        let collect = |h: Option<std::thread::JoinHandle<String>>| {
            h.and_then(|h| h.join().ok()).unwrap_or_default()
        };
        Ok(Output {
            success: status.success(),
            status: status.to_string(),
            stdout: collect(stdout),
            stderr: collect(stderr),
        })
    }
}

fn reader<R: Read + Send + 'static>(mut r: R) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error leaves what was read so far; the exit status still tells success.
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

#[cfg(test)]
mod tests;
