//! The one integration-test binary. Every test gets a fresh database; the whole suite runs on
//! SQLite by default and on PostgreSQL with `DENGJI_TEST_DATABASE=postgres`.

mod access;
mod auth;
mod browser;
mod cli;
mod helpers;
mod pages;
mod storage;
