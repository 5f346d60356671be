//! Integration tests: one binary, a module per area.

mod common;
mod link;
mod robustness;
mod rules;
mod sample;
mod synthetic;
