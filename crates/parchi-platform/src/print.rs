//! Which print spooler this OS has. The printing itself (CUPS' `lp` and `lpstat`) lives in
//! parchi-slip; this says only whether those are the right programs here.

/// A print spooler Parchi may submit slips to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spooler {
    /// CUPS, driven through its `lp` and `lpstat` programs: Linux and macOS.
    Cups,
    /// The Windows print spooler (`winspool`). Parchi cannot print through it yet: that needs
    /// the spooler API or a PDF printing program (docs/windows.md).
    Windows,
}

/// The spooler of this OS. Linux and macOS print through CUPS; Windows would print through
/// the Windows spooler (docs/windows.md).
pub fn spooler() -> Spooler {
    #[cfg(unix)]
    {
        Spooler::Cups
    }
    #[cfg(not(unix))]
    {
        Spooler::Windows
    }
}
