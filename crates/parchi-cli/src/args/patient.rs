//! The patient's fields as flags, shared by `register` and `edit`.

use clap::Args;
use parchi_core::patient::PatientInput;

/// Patient fields as flags (shared by `register` and `edit`).
///
/// The mobile and the Aadhaar number are not taken as flags: a process's arguments are
/// readable by every user of the machine (`ps`, `/proc/PID/cmdline`). They come on standard
/// input with `--stdin`, as `field=value` lines ([`crate::private`]). `Debug` names the fields
/// given, never their values.
#[derive(Args, Default)]
pub struct PatientArgs {
    #[arg(long)]
    pub name: Option<String>,
    /// M, F or O.
    #[arg(long)]
    pub sex: Option<String>,
    /// Years (34), or months/days for infants (8m, 20d).
    #[arg(long)]
    pub age: Option<String>,
    /// Date of birth, YYYY-MM-DD.
    #[arg(long)]
    pub dob: Option<String>,
    /// S/o, D/o, W/o or C/o.
    #[arg(long)]
    pub guardian_relation: Option<String>,
    #[arg(long)]
    pub guardian_name: Option<String>,
    /// House, street, locality.
    #[arg(long)]
    pub address: Option<String>,
    #[arg(long)]
    pub district: Option<String>,
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long)]
    pub pincode: Option<String>,
    /// ABHA number (14 digits) or ABHA address (name@abdm).
    #[arg(long)]
    pub abha: Option<String>,
    /// general, bpl, senior, staff or free.
    #[arg(long)]
    pub category: Option<String>,
    /// Read more fields from standard input, one `field=value` a line: `mobile=…`,
    /// `aadhaar=…` (the number or its last 4 digits; only the last 4 are kept), or any field
    /// above by its flag's name.
    #[arg(long)]
    pub stdin: bool,
    /// Refused with an explanation: see `--stdin`.
    #[arg(long, hide = true, value_name = "REFUSED")]
    pub mobile: Option<String>,
    /// Refused with an explanation: see `--stdin`.
    #[arg(long, hide = true, value_name = "REFUSED")]
    pub aadhaar: Option<String>,
}

impl std::fmt::Debug for PatientArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let given: Vec<&str> = [
            ("name", &self.name),
            ("sex", &self.sex),
            ("age", &self.age),
            ("dob", &self.dob),
            ("guardian_relation", &self.guardian_relation),
            ("guardian_name", &self.guardian_name),
            ("address", &self.address),
            ("district", &self.district),
            ("state", &self.state),
            ("pincode", &self.pincode),
            ("abha", &self.abha),
            ("category", &self.category),
            ("mobile", &self.mobile),
            ("aadhaar", &self.aadhaar),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k)
        .collect();
        f.debug_struct("PatientArgs")
            .field("given", &given)
            .field("stdin", &self.stdin)
            .finish()
    }
}

impl PatientArgs {
    /// The patient's fields: the flags, then the `--stdin` lines from `stdin`. A mobile or
    /// Aadhaar number given as a flag is refused, and nothing is read or changed.
    pub fn input(
        &self,
        quick: bool,
        stdin: &mut dyn std::io::BufRead,
    ) -> Result<PatientInput, crate::CliError> {
        for (flag, v) in [("mobile", &self.mobile), ("aadhaar", &self.aadhaar)] {
            if v.is_some() {
                return Err(crate::private::refused(flag));
            }
        }
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        let mut input = PatientInput {
            name: s(&self.name),
            sex: s(&self.sex),
            age: s(&self.age),
            dob: s(&self.dob),
            guardian_relation: s(&self.guardian_relation),
            guardian_name: s(&self.guardian_name),
            locality: s(&self.address),
            district: s(&self.district),
            state: s(&self.state),
            pincode: s(&self.pincode),
            abha: s(&self.abha),
            category: s(&self.category),
            quick,
            ..PatientInput::default()
        };
        if self.stdin {
            crate::private::read_fields(stdin, &mut input)?;
        }
        Ok(input)
    }
}
