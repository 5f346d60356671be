//! Files that leave Parchi for people (an admin's FHIR export for the hospital's system): plain
//! `age` files, encrypted to the same keys as the backups (the hospital's backup key and the
//! installation's recovery key), so they never lie on a disk or a USB drive in clear. Anyone
//! holding one of those keys reads them with `parchi decrypt` or the stock `age -d -i KEYFILE`.

use std::io::{Read, Write};

use zeroize::Zeroizing;

use crate::backup::{BackupError, BackupKey, decrypting, encryptor, recipients, undecryptable};

/// The suffix of a sealed file's name.
pub const SUFFIX: &str = ".age";

/// Encrypts `plain` to every one of `to` (`age1…` recipients); the bytes of an `age` file.
pub fn seal(to: &[String], plain: &[u8]) -> Result<Vec<u8>, BackupError> {
    if to.is_empty() {
        return Err(BackupError::Invalid(
            "no key to encrypt to: a sealed file needs at least one recipient".into(),
        ));
    }
    let enc = encryptor(&recipients(to)?, "encryption")?;
    let mut out = Vec::with_capacity(plain.len() + 256);
    let mut w = enc.wrap_output(&mut out)?;
    w.write_all(plain)?;
    w.finish()?;
    Ok(out)
}

/// Decrypts a sealed file's bytes with `key`. A file this key does not open, or one that is not
/// an intact `age` file, is refused with an error that says which.
pub fn open(key: &BackupKey, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, BackupError> {
    const WHAT: &str = "the file";
    let mut r = decrypting(sealed, key.identity(), WHAT, || BackupError::SealedWrongKey)?;
    let mut plain = Zeroizing::new(Vec::new());
    r.read_to_end(&mut plain)
        .map_err(|e| undecryptable(WHAT, &e))?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> BackupKey {
        use age::secrecy::ExposeSecret;
        let id = age::x25519::Identity::generate();
        BackupKey::from_identity_file(id.to_string().expose_secret()).expect("identity")
    }

    #[test]
    fn a_sealed_file_opens_with_either_key_and_holds_nothing_in_clear() {
        let (a, b) = (key(), key());
        let plain = br#"{"resourceType":"Bundle","name":"Sunita Devi","mobile":"9876543210"}"#;
        let sealed = seal(&[a.recipient(), b.recipient()], plain).expect("seal");
        for needle in [&b"Sunita"[..], b"9876543210", b"Bundle"] {
            assert!(
                !sealed.windows(needle.len()).any(|w| w == needle),
                "the sealed bytes hold {:?} in clear",
                String::from_utf8_lossy(needle)
            );
        }
        assert_eq!(open(&a, &sealed).expect("a").as_slice(), plain);
        assert_eq!(open(&b, &sealed).expect("b").as_slice(), plain);
    }

    #[test]
    fn another_key_a_truncated_file_and_no_recipient_are_refused() {
        let (a, other) = (key(), key());
        let sealed = seal(&[a.recipient()], b"{}").expect("seal");
        assert!(matches!(
            open(&other, &sealed),
            Err(BackupError::SealedWrongKey)
        ));
        let cut = &sealed[..sealed.len() - 10];
        assert!(matches!(open(&a, cut), Err(BackupError::Tampered(_))));
        assert!(matches!(seal(&[], b"{}"), Err(BackupError::Invalid(_))));
        assert!(matches!(
            seal(&["age1nonsense".into()], b"{}"),
            Err(BackupError::Invalid(_))
        ));
    }
}
