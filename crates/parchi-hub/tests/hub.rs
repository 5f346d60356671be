//! The hub's integration tests: one binary, a module per area (files under `tests/hub/`).

#[path = "hub/common.rs"]
mod common;
#[path = "hub/story.rs"]
mod story;
