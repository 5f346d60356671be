//! The hub's integration tests: one binary, a module per area (files under `tests/hub/`).

#[path = "hub/common.rs"]
mod common;
#[path = "hub/story.rs"]
mod story;
#[path = "hub/e2e.rs"]
mod e2e;
#[path = "hub/hostile.rs"]
mod hostile;
#[path = "hub/boundaries.rs"]
mod boundaries;
#[path = "hub/convergence.rs"]
mod convergence;
#[path = "hub/relay.rs"]
mod relay;
#[path = "hub/faults.rs"]
mod faults;
