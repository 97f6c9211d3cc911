//! In-process tests of the router (`tower::ServiceExt::oneshot`, no socket) on a fresh
//! SQLite database with the small seed data set.

mod auth;
mod cors;
mod errors;
mod graphql_http;
mod guards;
mod helpers;
mod mutations;
mod queries;
mod routes;
mod schema_file;
