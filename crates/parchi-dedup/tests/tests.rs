//! Integration tests: one binary, a module per area.

mod common;
mod sample;
mod synthetic;
