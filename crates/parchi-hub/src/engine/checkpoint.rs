//! Checkpoints: the merged states of the records changed since the last one, written to the
//! patients and visits tables in chunks, then the watermark (`state_seq`) that bounds what the
//! next start merges from the log.

use super::Hub;
use super::memory::Inner;
use crate::error::{HubError, StorageError};
use crate::state::Entity;
use crate::storage::{Commit, META_STATE_SEQ, Storage};

/// What one [`Hub::checkpoint`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointReport {
    /// Record states written.
    pub records: usize,
    /// Every stored state is now complete up to this seq.
    pub state_seq: u64,
}

/// Records written per checkpoint transaction (pushes run between them).
pub const CHECKPOINT_CHUNK: usize = 20_000;

impl<S: Storage> Hub<S> {
    // ---- Checkpoints ---------------------------------------------------------------------------

    /// Writes the states of the records changed since the last checkpoint, in transactions of
    /// [`CHECKPOINT_CHUNK`] records (pushes go on between them), then records that every stored
    /// state is complete up to the head as it was when this began. Bounds what the next start
    /// has to merge from the log.
    pub async fn checkpoint(&self) -> Result<CheckpointReport, HubError> {
        let (todo, target, generation) = {
            let mut inner = self.lock().await?;
            let target = self.head();
            let (state_seq, generation) = (inner.state_seq, inner.generation);
            let m = inner.merged().await?;
            if m.dirty.is_empty() && state_seq == target {
                return Ok(CheckpointReport {
                    records: 0,
                    state_seq: target,
                });
            }
            (std::mem::take(&mut m.dirty), target, generation)
        };
        let mut written = 0;
        let mut chunks = todo.chunks(CHECKPOINT_CHUNK).peekable();
        if chunks.peek().is_none() {
            // Nothing to write, only the watermark to move.
            let mut inner = self.lock().await?;
            if inner.generation != generation {
                return Err(HubError::Storage(StorageError::Task(
                    "the hub reloaded during a checkpoint; retry".into(),
                )));
            }
            return self
                .finish_checkpoint(&mut inner, Commit::default(), target, 0)
                .await;
        }
        while let Some(chunk) = chunks.next() {
            let mut inner = self.lock().await?;
            if inner.generation != generation {
                // A failed commit made the hub reload: that lists every record that differs from
                // its stored state again, and a later checkpoint takes over.
                return Err(HubError::Storage(StorageError::Task(
                    "the hub reloaded during a checkpoint; retry".into(),
                )));
            }
            let mut commit = Commit::default();
            let m = inner.merged().await?;
            for e in chunk {
                match *e {
                    Entity::Patient(id) => {
                        if let Some(r) = m.patients.get_mut(&id) {
                            r.dirty = false;
                            commit.patients.push(r.state.encode(id, r.seq));
                        }
                    }
                    Entity::Visit(id) => {
                        if let Some(r) = m.visits.get_mut(&id) {
                            r.dirty = false;
                            commit.visits.push(r.state.encode(id, r.seq));
                        }
                    }
                }
            }
            written += chunk.len();
            if chunks.peek().is_none() {
                return self
                    .finish_checkpoint(&mut inner, commit, target, written)
                    .await;
            }
            if let Err(e) = self.storage.commit(commit).await {
                inner.stale = true;
                return Err(e.into());
            }
        }
        Ok(CheckpointReport {
            records: written,
            state_seq: target,
        })
    }

    async fn finish_checkpoint(
        &self,
        inner: &mut Inner,
        mut commit: Commit,
        target: u64,
        written: usize,
    ) -> Result<CheckpointReport, HubError> {
        commit
            .meta
            .push((META_STATE_SEQ.to_string(), target.to_string()));
        if let Err(e) = self.storage.commit(commit).await {
            inner.stale = true;
            return Err(e.into());
        }
        inner.state_seq = target;
        inner
            .meta
            .insert(META_STATE_SEQ.to_string(), target.to_string());
        tracing::debug!(records = written, state_seq = target, "checkpoint");
        Ok(CheckpointReport {
            records: written,
            state_seq: target,
        })
    }

    /// Records changed since the last checkpoint.
    pub async fn dirty_records(&self) -> Result<usize, HubError> {
        Ok(self.lock().await?.merged().await?.dirty.len())
    }
}
