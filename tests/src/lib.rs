//! End-to-end tests live in `tests/`; see `e2e/main.rs`.
