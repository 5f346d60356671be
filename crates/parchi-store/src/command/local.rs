//! Local state that never becomes an operation: the outbox's sync marks and the local user
//! accounts of the desktop app.

use parchi_core::OpId;
use rusqlite::params;

use crate::outbox;
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
        outbox::advance(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Moves a local operation the hub refused to the error list, so the rest keeps flowing.
    pub fn mark_rejected(&mut self, id: OpId, reason: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE ops SET sync_state = 2, error = ?2 WHERE id = ?1 AND origin = 0",
            params![id.as_bytes(), reason],
        )?;
        outbox::advance(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Puts refused operations back in the queue (after the cause was fixed at the hub). Only
    /// this site's: a restored installation's predecessor's ops cannot go out under its own
    /// credential (see `snapshot`).
    pub fn retry_rejected(&mut self) -> Result<usize> {
        let site = &self.site.site.as_bytes()[..];
        let tx = self.conn.transaction()?;
        outbox::lower_for_retry(&tx, site)?;
        let n = tx.execute(
            "UPDATE ops SET sync_state = 0 WHERE origin = 0 AND sync_state = 2 AND site = ?1",
            [site],
        )?;
        tx.commit()?;
        Ok(n)
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

    /// Records that the original slip of `visit` went to `printer`. Refused
    /// ([`StoreError::Conflict`]) if one already did: there is one original per visit.
    pub fn record_original_print(
        &mut self,
        visit: parchi_core::VisitId,
        printed_ms: u64,
        printer: &str,
    ) -> Result<()> {
        let n = self.conn.execute(
            "INSERT INTO original_prints (visit, printed_ms, printer) VALUES (?1, ?2, ?3) ON CONFLICT (visit) DO NOTHING",
            params![&visit.as_bytes()[..], printed_ms as i64, printer],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "the original slip of visit {visit} was printed already"
            )));
        }
        Ok(())
    }

    /// When the original slip of `visit` was printed at this counter, if it was.
    pub fn original_printed_ms(&self, visit: parchi_core::VisitId) -> Result<Option<u64>> {
        use rusqlite::OptionalExtension;
        let ms: Option<i64> = self
            .conn
            .query_row(
                "SELECT printed_ms FROM original_prints WHERE visit = ?1",
                [&visit.as_bytes()[..]],
                |r| r.get(0),
            )
            .optional()?;
        Ok(ms.map(|m| m.max(0) as u64))
    }
}
