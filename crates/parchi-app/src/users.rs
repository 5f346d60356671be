//! Local user accounts: clerks and admins log in to the desktop app with a PIN or a password,
//! offline. Secrets are hashed with Argon2id (salt from the [`Env`]'s random source) and never
//! stored or logged in clear. Accounts belong to one counter's store and are not synced.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use parchi_store::UserRow;
use serde::Serialize;

use crate::counter::{Counter, Result};
use crate::error::AppError;

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Clerk,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Result<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "clerk" => Ok(Role::Clerk),
            "admin" => Ok(Role::Admin),
            _ => Err(AppError::Invalid("role: must be clerk or admin".into())),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Admin => "admin",
        }
    }
}

/// A logged-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Session {
    pub user: String,
    pub role: Role,
}

/// A user as an admin lists them.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
}

const SALT_LEN: usize = 16;

fn check_name(name: &str) -> Result<String> {
    let n = name.trim().to_lowercase();
    let ok = (2..=32).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(n)
    } else {
        Err(AppError::Invalid(
            "user name: 2 to 32 letters, digits, dots, hyphens or underscores".into(),
        ))
    }
}

/// A PIN of 4 to 8 digits, or a password of at least 8 characters.
fn check_secret(secret: &str) -> Result<()> {
    let all_digits = !secret.is_empty() && secret.bytes().all(|b| b.is_ascii_digit());
    let ok = if all_digits {
        (4..=8).contains(&secret.len())
    } else {
        secret.chars().count() >= 8
    };
    if ok && secret.len() <= 128 {
        Ok(())
    } else {
        Err(AppError::Invalid(
            "PIN or password: a PIN of 4 to 8 digits, or a password of at least 8 characters"
                .into(),
        ))
    }
}

/// The salt of a new hash, from the session's random source, as a PHC salt.
fn phc_salt(bytes: &[u8; SALT_LEN]) -> Result<SaltString> {
    SaltString::encode_b64(bytes)
        .map_err(|e| AppError::Invalid(format!("cannot hash the secret: {e}")))
}

/// A secret hashed as a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), the standard form
/// the argon2 crate verifies with the parameters it names.
fn phc_hash(secret: &str, salt: &SaltString) -> Result<String> {
    Argon2::default()
        .hash_password(secret.as_bytes(), salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Invalid(format!("cannot hash the secret: {e}")))
}

/// The home-made format earlier versions stored (`argon2id$v19$<hex salt>$<hex hash>`, Argon2id
/// with the crate's default parameters) as the same hash in PHC form: no secret needed.
pub(crate) fn upgrade_legacy_hash(stored: &str) -> Option<String> {
    let parts: Vec<&str> = stored.split('$').collect();
    let ["argon2id", "v19", salt, hash] = parts.as_slice() else {
        return None;
    };
    let unhex = |s: &str| -> Option<Vec<u8>> {
        if !s.len().is_multiple_of(2) {
            return None;
        }
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect()
    };
    let (salt, hash) = (unhex(salt)?, unhex(hash)?);
    let salt = SaltString::encode_b64(&salt).ok()?;
    let output = argon2::password_hash::Output::new(&hash).ok()?;
    let p = argon2::Params::default();
    let params = argon2::password_hash::ParamsString::try_from(&p).ok()?;
    let phc = PasswordHash {
        algorithm: argon2::Algorithm::Argon2id.ident(),
        version: Some(argon2::Version::V0x13.into()),
        params,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Some(phc.to_string())
}

/// Whether `secret` matches a stored PHC hash (in time independent of where they differ).
fn verify(secret: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &h)
            .is_ok()
    })
}

impl Counter {
    fn hash_secret(&mut self, secret: &str) -> Result<String> {
        let mut salt = [0u8; SALT_LEN];
        self.fill_random(&mut salt);
        phc_hash(secret, &phc_salt(&salt)?)
    }

    /// Rewrites hashes stored in the earlier home-made format as PHC strings (the same hash).
    pub(crate) fn upgrade_user_hashes(&mut self) -> Result<usize> {
        let mut n = 0;
        for u in self.store().users()? {
            if let Some(phc) = upgrade_legacy_hash(&u.secret) {
                self.store_mut().set_user_secret(&u.name, &phc)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Creates a local account.
    pub fn add_user(&mut self, name: &str, role: Role, secret: &str) -> Result<UserInfo> {
        let name = check_name(name)?;
        check_secret(secret)?;
        let hashed = self.hash_secret(secret)?;
        let created = self.now_local().to_string();
        self.store_mut().add_user(
            &UserRow {
                name: name.clone(),
                role: role.as_str().into(),
                secret: hashed,
                disabled: false,
            },
            &created,
        )?;
        Ok(UserInfo {
            name,
            role,
            disabled: false,
        })
    }

    pub fn set_user_secret(&mut self, name: &str, secret: &str) -> Result<()> {
        let name = check_name(name)?;
        check_secret(secret)?;
        let hashed = self.hash_secret(secret)?;
        Ok(self.store_mut().set_user_secret(&name, &hashed)?)
    }

    pub fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<()> {
        Ok(self
            .store_mut()
            .set_user_disabled(&check_name(name)?, disabled)?)
    }

    /// [`Counter::set_user_disabled`] by a logged-in admin, who cannot disable the account they
    /// are logged in with.
    pub fn set_user_disabled_by(&mut self, by: &Session, name: &str, disabled: bool) -> Result<()> {
        let name = check_name(name)?;
        if disabled && by.user == name {
            return Err(AppError::Invalid(
                "you cannot disable your own account while logged in with it".into(),
            ));
        }
        self.set_user_disabled(&name, disabled)
    }

    pub fn users(&self) -> Result<Vec<UserInfo>> {
        Ok(self
            .store()
            .users()?
            .into_iter()
            .map(|u| UserInfo {
                role: if u.role == "admin" {
                    Role::Admin
                } else {
                    Role::Clerk
                },
                name: u.name,
                disabled: u.disabled,
            })
            .collect())
    }

    /// Checks a name and secret. The secret is checked first, and every refusal says the same
    /// thing: a wrong name, a wrong secret and a disabled account cannot be told apart.
    pub fn login(&self, name: &str, secret: &str) -> Result<Session> {
        let denied = || {
            AppError::Denied("wrong user name or PIN/password, or the account is disabled".into())
        };
        let user = match check_name(name) {
            Ok(n) => self.store().user(&n)?,
            Err(_) => None,
        };
        // Hash even for an unknown name, so the time taken does not tell names apart.
        let stored = user.as_ref().map_or(DUMMY_HASH, |u| u.secret.as_str());
        if !verify(secret, stored) {
            return Err(denied());
        }
        let Some(user) = user.filter(|u| !u.disabled) else {
            return Err(denied());
        };
        Ok(Session {
            role: if user.role == "admin" {
                Role::Admin
            } else {
                Role::Clerk
            },
            user: user.name,
        })
    }
}

/// A valid hash of no one's secret, verified against when the user name is unknown.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$1R5bhOxTGh1mNY3WFcrXnXKIoN+xT5B1e9z1U6A4DFY";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedEnv;

    fn counter() -> (tempfile::TempDir, Counter) {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hospital.toml");
        let c = Counter::init(
            dir.path(),
            &cfg,
            "A",
            Box::new(FixedEnv::new(1_795_840_200_000, 3)),
        )
        .expect("init");
        (dir, c)
    }

    #[test]
    fn login_with_pin_or_password_and_refusals() {
        let (_d, mut c) = counter();
        c.add_user("Asha", Role::Clerk, "4321").expect("clerk");
        c.add_user("admin", Role::Admin, "correct horse")
            .expect("admin");
        assert_eq!(
            c.login("asha", "4321").expect("ok"),
            Session {
                user: "asha".into(),
                role: Role::Clerk
            }
        );
        assert_eq!(
            c.login("ADMIN", "correct horse")
                .map(|s| s.role)
                .expect("ok"),
            Role::Admin
        );
        assert_eq!(
            c.login("asha", "4322").map_err(|e| e.code()).err(),
            Some("denied")
        );
        assert_eq!(
            c.login("nobody", "4321").map_err(|e| e.code()).err(),
            Some("denied")
        );
        assert!(
            c.add_user("asha", Role::Clerk, "9999").is_err(),
            "duplicate name"
        );
        assert!(
            c.add_user("ravi", Role::Clerk, "12").is_err(),
            "PIN too short"
        );
        assert!(
            c.add_user("ravi", Role::Clerk, "short").is_err(),
            "password too short"
        );
        c.set_user_disabled("asha", true).expect("disable");
        assert!(c.login("asha", "4321").is_err());
        // An admin cannot disable the account they are logged in with; another one they can.
        let admin = c.login("admin", "correct horse").expect("admin");
        assert_eq!(
            c.set_user_disabled_by(&admin, " Admin ", true)
                .map_err(|e| e.code())
                .err(),
            Some("invalid")
        );
        assert!(c.login("admin", "correct horse").is_ok());
        c.set_user_disabled_by(&admin, "asha", false)
            .expect("enable");
        assert!(c.login("asha", "4321").is_ok());
        // The secret is not stored in clear.
        let stored = c.store().user("admin").expect("read").expect("user");
        assert!(
            !stored.secret.contains("correct horse")
                && stored.secret.starts_with("$argon2id$v=19$")
        );
        // A disabled account with the right secret gets the same refusal as a wrong secret.
        c.set_user_disabled("asha", true).expect("disable");
        let disabled = c.login("asha", "4321").map_err(|e| e.to_string()).err();
        let wrong = c.login("asha", "0000").map_err(|e| e.to_string()).err();
        assert_eq!(disabled, wrong);
    }

    #[test]
    fn hashes_in_the_old_format_become_phc_strings_that_still_verify() {
        let (_d, mut c) = counter();
        // What the earlier versions stored for "4321" with this salt.
        let salt = [7u8; SALT_LEN];
        let mut raw = [0u8; 32];
        Argon2::default()
            .hash_password_into(b"4321", &salt, &mut raw)
            .expect("hash");
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let legacy = format!("argon2id$v19${}${}", hex(&salt), hex(&raw));
        c.store_mut()
            .add_user(
                &UserRow {
                    name: "old".into(),
                    role: "clerk".into(),
                    secret: legacy,
                    disabled: false,
                },
                "2026-01-01",
            )
            .expect("add");
        assert_eq!(c.upgrade_user_hashes().expect("upgrade"), 1);
        let stored = c.store().user("old").expect("read").expect("user").secret;
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(c.login("old", "4321").is_ok());
        assert!(c.login("old", "4322").is_err());
        assert_eq!(c.upgrade_user_hashes().expect("again"), 0);
        assert!(
            PasswordHash::new(DUMMY_HASH).is_ok(),
            "the stand-in hash parses, so it is hashed against"
        );
    }
}
