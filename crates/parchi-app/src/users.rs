//! Local user accounts: clerks and admins log in to the desktop app with a PIN or a password,
//! offline. Secrets are hashed with Argon2id (salt from the [`Env`]'s random source) and never
//! stored or logged in clear. Accounts belong to one counter's store and are not synced.

use argon2::Argon2;
use parchi_store::UserRow;
use serde::Serialize;

use crate::counter::{Counter, Result};
use crate::error::AppError;

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
pub struct Session {
    pub user: String,
    pub role: Role,
}

/// A user as an admin lists them.
#[derive(Clone, Debug, Serialize)]
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

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn derive(secret: &str, salt: &[u8]) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    Argon2::default()
        .hash_password_into(secret.as_bytes(), salt, &mut out)
        .map_err(|e| AppError::Invalid(format!("cannot hash the secret: {e}")))?;
    Ok(out)
}

/// Compares in time independent of where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Counter {
    fn hash_secret(&mut self, secret: &str) -> Result<String> {
        let mut salt = [0u8; SALT_LEN];
        self.fill_random(&mut salt);
        Ok(format!(
            "argon2id$v19${}${}",
            hex(&salt),
            hex(&derive(secret, &salt)?)
        ))
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

    /// Checks a name and secret. The error does not say which of the two was wrong.
    pub fn login(&self, name: &str, secret: &str) -> Result<Session> {
        let denied = || AppError::Denied("wrong user name or PIN/password".into());
        let name = check_name(name).map_err(|_| denied())?;
        let user = self.store().user(&name)?.ok_or_else(denied)?;
        if user.disabled {
            return Err(AppError::Denied(format!(
                "user {name} is disabled; ask an admin"
            )));
        }
        let parts: Vec<&str> = user.secret.split('$').collect();
        let (salt, want) = match parts.as_slice() {
            ["argon2id", "v19", salt, hash] => (
                unhex(salt).ok_or_else(denied)?,
                unhex(hash).ok_or_else(denied)?,
            ),
            _ => return Err(denied()),
        };
        if same(&derive(secret, &salt)?, &want) {
            Ok(Session {
                user: name,
                role: if user.role == "admin" {
                    Role::Admin
                } else {
                    Role::Clerk
                },
            })
        } else {
            Err(denied())
        }
    }
}

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
        assert!(!stored.secret.contains("correct horse") && stored.secret.starts_with("argon2id$"));
    }
}
