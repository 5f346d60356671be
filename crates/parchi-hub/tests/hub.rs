//! The hub's integration tests: one binary, a module per area (files under `tests/hub/`).

#[path = "hub/boundaries.rs"]
mod boundaries;
#[path = "hub/common.rs"]
mod common;
#[path = "hub/convergence.rs"]
mod convergence;
#[path = "hub/e2e.rs"]
mod e2e;
#[path = "hub/faults.rs"]
mod faults;
#[path = "hub/hostile.rs"]
mod hostile;
#[path = "hub/relay.rs"]
mod relay;
#[path = "hub/story.rs"]
mod story;
#[path = "hub/tls.rs"]
mod tls;
