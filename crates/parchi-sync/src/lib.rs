//! Parchi's sync protocol and its counter side.
//!
//! This crate owns:
//! - [`wire`]: the JSON types of sync protocol v1 (push, pull, enrol, admin, errors, and the
//!   mirror of the hospital's patient index);
//! - [`validate`]: the checks a hub runs on every op and mirror record it receives;
//! - [`client`]: a blocking HTTP client for the hub (ureq + rustls, with timeouts);
//! - [`store`]: the [`SyncStore`] trait a counter's store implements, and an in-memory one;
//! - [`round`]: [`sync_round`], one push-then-pull pass (then the mirror's pages), and
//!   [`backoff`] for the worker.
//!
//! **Architecture Invariant:** no server dependencies (axum, tokio, tokio-postgres, rusqlite):
//! the counter's desktop binary links this crate, the hub server lives in `parchi-hub`.
//!
//! **Architecture Invariant:** a cursor is only ever moved together with the ops it covers (see
//! [`SyncStore::apply_pulled`]), and one refused op never blocks the ops behind it.

pub mod backoff;
pub mod client;
pub mod round;
pub mod store;
pub mod validate;
pub mod wire;

pub use backoff::Backoff;
pub use client::{ClientConfig, ClientError, HubClient};
pub use round::{Progress, RoundOptions, RoundReport, SyncError, Transport, sync_round};
pub use store::{MemoryStore, SyncStore};
pub use wire::{MirrorPage, PROTOCOL_VERSION, PulledOp, PushItem};
