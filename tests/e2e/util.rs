//! Helpers for driving the `parchi` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PARCHI: &str = env!("CARGO_BIN_EXE_parchi");

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn example_config() -> PathBuf {
    repo_root().join("examples/hospital.toml")
}

pub fn sample_csv() -> PathBuf {
    repo_root().join("tests/data/sample.patients.csv")
}

/// A counter data directory, initialised from the example configuration.
pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn init(counter: &str) -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        let site = Site { dir };
        let out = site.run(&[
            "init",
            "--config",
            example_config().to_str().expect("utf8"),
            "--counter",
            counter,
        ]);
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        site
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(PARCHI);
        c.arg("--data").arg(self.dir.path());
        c.env_remove("PARCHI_DATA");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run_private(self.cmd(), args)
    }

    /// Runs with `--json` and parses stdout; panics with stderr if the command failed.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut cmd = self.cmd();
        cmd.arg("--json");
        let out = run_private(cmd, args);
        assert!(
            out.status.success(),
            "parchi {args:?} failed ({:?}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("stdout is JSON")
    }

    /// Runs with `--json`, expecting failure; returns (exit code, parsed error JSON).
    pub fn json_err(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let mut cmd = self.cmd();
        cmd.arg("--json");
        let out = run_private(cmd, args);
        assert!(!out.status.success(), "parchi {args:?} should have failed");
        let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out.status.code().unwrap_or(-1), v)
    }

    pub fn patient_count(&self) -> u64 {
        self.json(&["status"])["patients"]
            .as_u64()
            .expect("patients count")
    }
}

/// Runs `cmd` with `args`, the way a script must give the mobile and the Aadhaar number: the
/// tests write `--mobile X` for readability, and it goes to the child's standard input as
/// `mobile=X` under `--stdin`, never into its arguments.
pub fn run_private(mut cmd: Command, args: &[&str]) -> Output {
    use std::io::Write;
    let mut plain = Vec::new();
    let mut private = String::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--mobile" | "--aadhaar" => {
                let v = it.next().expect("a value after --mobile/--aadhaar");
                private.push_str(&format!("{}={v}\n", &a[2..]));
            }
            _ => plain.push(*a),
        }
    }
    if private.is_empty() {
        return cmd.args(&plain).output().expect("run parchi");
    }
    plain.push("--stdin");
    let mut child = cmd
        .args(&plain)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run parchi");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(private.as_bytes()).expect("stdin");
    }
    child.wait_with_output().expect("run parchi")
}

/// The JSON a file of the FHIR export holds: the export seals every file to the backup keys,
/// and `parchi decrypt` with the hospital's identity file gives it back. Also checks that the
/// sealed file on disk holds no `clear` text (a name, a mobile) as it was typed.
pub fn sealed_json(file: &Path, identity: &Path, clear: &[&str]) -> serde_json::Value {
    let sealed = std::fs::read(file).expect("read the sealed file");
    for c in clear {
        assert!(
            !sealed.windows(c.len()).any(|w| w == c.as_bytes()),
            "{} holds {c:?} in clear",
            file.display()
        );
    }
    let out = Command::new(PARCHI)
        .arg("decrypt")
        .arg(file)
        .arg("--identity")
        .arg(identity)
        .env_remove("PARCHI_DATA")
        .output()
        .expect("run parchi decrypt");
    assert!(
        out.status.success(),
        "parchi decrypt {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the clear text is JSON")
}
