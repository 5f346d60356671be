//! Local state that never becomes an operation: the outbox's sync marks and the local user
//! accounts of the desktop app.

use parchi_core::OpId;
use rusqlite::params;

use crate::records::UserRow;
use crate::{Result, Store, StoreError};

impl Store {
    /// Marks local operations as accepted by the hub.
    pub fn mark_pushed(&mut self, ids: &[OpId]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut q = tx.prepare_cached(
                "UPDATE ops SET sync_state = 1, error = NULL WHERE id = ?1 AND origin = 0",
            )?;
            for id in ids {
                q.execute([id.as_bytes()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Moves a local operation the hub refused to the error list, so the rest keeps flowing.
    pub fn mark_rejected(&mut self, id: OpId, reason: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE ops SET sync_state = 2, error = ?2 WHERE id = ?1 AND origin = 0",
            params![id.as_bytes(), reason],
        )?;
        Ok(())
    }

    /// Puts refused operations back in the queue (after the cause was fixed at the hub).
    pub fn retry_rejected(&mut self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE ops SET sync_state = 0 WHERE origin = 0 AND sync_state = 2",
            [],
        )?)
    }

    pub fn add_user(&mut self, user: &UserRow, created: &str) -> Result<()> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO users (name, role, secret, created, disabled) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![user.name, user.role, user.secret, created, user.disabled],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "user {:?} already exists",
                user.name
            )));
        }
        Ok(())
    }

    pub fn set_user_secret(&mut self, name: &str, secret: &str) -> Result<()> {
        match self.conn.execute(
            "UPDATE users SET secret = ?2 WHERE name = ?1",
            params![name, secret],
        )? {
            0 => Err(StoreError::NotFound {
                what: "user",
                id: name.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    pub fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<()> {
        match self.conn.execute(
            "UPDATE users SET disabled = ?2 WHERE name = ?1",
            params![name, disabled],
        )? {
            0 => Err(StoreError::NotFound {
                what: "user",
                id: name.to_owned(),
            }),
            _ => Ok(()),
        }
    }
}
