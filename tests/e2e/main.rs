//! End-to-end tests: the real `parchi` binary, real SQLite files, real processes.
//! One test binary, a module per area (the ripgrep layout).

mod at_rest;
mod backup;
mod central;
mod cli;
mod config;
mod crash;
mod fhir;
mod helios;
mod hub_backups;
mod hub_pg_backup;
mod slips;
mod sync;
mod util;
