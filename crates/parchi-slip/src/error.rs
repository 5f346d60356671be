//! Why a slip or report could not be drawn.

/// Why a slip or report could not be drawn. No variant carries patient data: a field is named,
/// never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlipError {
    /// A layout name that is not one of ours.
    #[error("unknown slip layout {0:?}: use thermal80, a6 or a5")]
    UnknownLayout(String),

    /// A language name that is not one of ours.
    #[error("unknown slip language {0:?}: use hindi (hi) or bengali (bn)")]
    UnknownLanguage(String),

    /// A field every slip needs is empty.
    #[error("the slip field `{field}` is empty: every slip needs it")]
    EmptyField {
        /// The field's name in [`crate::Slip`].
        field: &'static str,
    },

    /// A field is far longer than anything a slip can show.
    #[error("the field `{field}` is longer than {max} characters: shorten it")]
    FieldTooLong {
        /// The field's name.
        field: &'static str,
        /// The longest accepted, in characters.
        max: usize,
    },

    /// The barcode's ID code is not something Code128 and the QR payload can carry.
    #[error(
        "the slip's id_code must be 1 to {max} ASCII letters and digits (the canonical ID \
         without separators): {reason}"
    )]
    InvalidIdCode {
        /// What is wrong with it.
        reason: &'static str,
        /// The longest ID code accepted.
        max: usize,
    },

    /// The visit ID is not shaped like a UUID.
    #[error(
        "the slip's visit_id must be a UUID (hex digits and hyphens, 1 to 64 characters): {reason}"
    )]
    InvalidVisitId {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A field holds a character none of the slip's fonts can draw.
    #[error(
        "the field `{field}` holds the character U+{codepoint:04X}, which the slip cannot print \
         (it prints Latin, Devanagari and Bengali script): write that field in one of those"
    )]
    UnsupportedCharacter {
        /// The field's name.
        field: &'static str,
        /// The character's Unicode scalar value.
        codepoint: u32,
    },

    /// The content is taller than a fixed-size page even at the smallest type.
    #[error(
        "the slip does not fit on one {layout} page even in the smallest type: shorten the \
         instructions or the department name, or print on a larger layout (a5 or thermal80)"
    )]
    DoesNotFit {
        /// The layout's name.
        layout: &'static str,
    },

    /// One of the fonts built into the program could not be read: the build is broken.
    #[error(
        "the built-in font {name} could not be read: this build of Parchi is broken, reinstall it"
    )]
    Font {
        /// The font file's name.
        name: &'static str,
    },

    /// The PDF could not be written out.
    #[error("the PDF could not be written: {detail}")]
    Pdf {
        /// The PDF writer's message.
        detail: String,
    },

    /// The barcode or QR encoder refused the data.
    #[error("the {symbology} code could not be made from the slip's ID: {detail}")]
    Code {
        /// "Code128" or "QR".
        symbology: &'static str,
        /// The encoder's own message.
        detail: String,
    },
}
