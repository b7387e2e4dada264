//! The one integration-test binary. Every test gets a fresh database; the whole suite runs on
//! SQLite by default and on PostgreSQL with `DENGJI_TEST_DATABASE=postgres`.

// Test code unwraps: a panic with the value is the most useful failure report here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod analysis;
mod auth;
mod browser;
mod campaign;
mod cases;
mod changes;
mod cli;
mod commendations;
mod confidentiality;
mod deploy;
mod exchange;
mod export;
mod four_eyes;
mod fuzz_corpus;
mod guided;
mod helpers;
mod import;
mod living;
mod membership;
mod operations;
mod org_registration;
mod pages;
mod recovery;
mod registration;
mod registry_import;
mod replicas;
mod review;
mod samples;
mod scale;
mod servers;
mod storage;
mod survey;
