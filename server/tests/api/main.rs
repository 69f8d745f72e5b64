#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on broken set-up"
)]

//! Integration tests of the GraphQL API against real databases (SQLite and PostgreSQL) and real
//! queues (the embedded SQLite queue and Redis). One binary, so the app is linked once.

mod auth;
mod broadcasts;
mod database;
mod demo;
mod helpers;
mod imports;
mod isolation;
mod limits;
mod listings;
mod matching;
mod member_pages;
mod migrations;
mod schema_sdl;
mod sending;
mod steps;
