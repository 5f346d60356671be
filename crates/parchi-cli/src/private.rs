//! Patient fields that must not travel in a process's arguments.
//!
//! Every user of a machine can read every process's arguments (`ps`, `/proc/PID/cmdline`), so
//! the mobile and the Aadhaar number come on standard input (`--stdin`), one `field=value` a
//! line. Any other field may come that way too, to keep a name out of the process list.

use std::io::BufRead;

use parchi_core::patient::PatientInput;

use crate::CliError;

/// At most this many lines are read: a patient has fewer fields than this.
const MAX_LINES: usize = 64;

/// The error for `--mobile VALUE` or `--aadhaar VALUE`, which say what to do instead.
pub(crate) fn refused(flag: &str) -> CliError {
    CliError::BadInput(format!(
        "--{flag} is not taken on the command line, where every user of this machine can read it; give it on standard input instead: printf '{flag}=…\\n' | parchi … --stdin (nothing was saved)"
    ))
}

/// Reads `field=value` lines into `input`. Blank lines and lines starting with `#` are skipped.
/// An unknown field, a line without `=`, or a field given twice (on a flag and on a line, or
/// on two lines) is an error naming the line, and `input` is left as it was.
pub(crate) fn read_fields(
    stdin: &mut dyn BufRead,
    input: &mut PatientInput,
) -> Result<(), CliError> {
    let mut read = input.clone();
    let mut line = String::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let got = stdin.read_line(&mut line).map_err(|e| {
            CliError::BadInput(format!(
                "cannot read the patient's fields from standard input: {e}"
            ))
        })?;
        if got == 0 {
            break;
        }
        n += 1;
        if n > MAX_LINES {
            return Err(CliError::BadInput(format!(
                "standard input: more than {MAX_LINES} lines; give one field a line"
            )));
        }
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let Some((field, value)) = text.split_once('=') else {
            return Err(CliError::BadInput(format!(
                "standard input, line {n}: expected field=value (for example mobile=98765 43210)"
            )));
        };
        let field = field.trim();
        let slot = read.field_mut(field).ok_or_else(|| {
            CliError::BadInput(format!(
                "standard input, line {n}: no field {field:?}; the fields are {}",
                PatientInput::FIELDS.join(", ")
            ))
        })?;
        if !slot.is_empty() {
            return Err(CliError::BadInput(format!(
                "standard input, line {n}: {field} is given twice"
            )));
        }
        *slot = value.trim().to_owned();
    }
    *input = read;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, input: &mut PatientInput) -> Result<(), String> {
        read_fields(&mut text.as_bytes(), input).map_err(message)
    }

    fn message(e: CliError) -> String {
        match e {
            CliError::BadInput(m) => m,
            other => panic!("not bad input: {other:?}"),
        }
    }

    #[test]
    fn fields_come_from_lines() {
        let mut input = PatientInput {
            name: "Sunita Devi".into(),
            ..Default::default()
        };
        read(
            "mobile=98765 43210\n# a comment\n\naadhaar = 1234 5678 9012\n",
            &mut input,
        )
        .expect("read");
        assert_eq!(input.mobile, "98765 43210");
        assert_eq!(input.aadhaar, "1234 5678 9012");
        assert_eq!(input.name, "Sunita Devi");
    }

    #[test]
    fn a_bad_line_is_named_and_changes_nothing() {
        for (text, want) in [
            ("mobile=9876543210\nfoo=1\n", "line 2: no field \"foo\""),
            ("mobile 9876543210\n", "line 1: expected field=value"),
            ("name=Asha\n", "line 1: name is given twice"),
            ("mobile=1\nmobile=2\n", "line 2: mobile is given twice"),
        ] {
            let mut input = PatientInput {
                name: "Sunita Devi".into(),
                ..Default::default()
            };
            let err = read(text, &mut input).expect_err(text);
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(!err.contains("9876543210"), "the value is echoed: {err}");
            assert_eq!(input.mobile, "", "{text:?} changed the input");
        }
    }

    #[test]
    fn the_refusal_says_what_to_do_and_not_the_value() {
        let e = message(refused("aadhaar"));
        assert!(e.contains("--stdin") && e.contains("aadhaar="), "{e}");
    }
}
