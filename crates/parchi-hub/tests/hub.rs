//! The hub's integration tests: one binary, a module per area (files under `tests/hub/`).

#[path = "hub/boundaries.rs"]
mod boundaries;
#[path = "hub/common.rs"]
mod common;
#[path = "hub/contract.rs"]
mod contract;
#[path = "hub/convergence.rs"]
mod convergence;
#[path = "hub/durability.rs"]
mod durability;
#[path = "hub/e2e.rs"]
mod e2e;
#[path = "hub/faults.rs"]
mod faults;
#[path = "hub/hostile.rs"]
mod hostile;
#[path = "hub/mirror.rs"]
mod mirror;
#[path = "hub/mirror_hostile.rs"]
mod mirror_hostile;
#[path = "hub/pg_backup.rs"]
mod pg_backup;
#[path = "hub/pg_restart.rs"]
mod pg_restart;
#[path = "hub/pgcluster.rs"]
mod pgcluster;
#[path = "hub/relay.rs"]
mod relay;
#[path = "hub/story.rs"]
mod story;
#[path = "hub/tls.rs"]
mod tls;
#[path = "hub/uhids.rs"]
mod uhids;
