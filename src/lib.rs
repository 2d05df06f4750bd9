//! idlegate: a reverse-proxy sidecar that enforces an inactivity timeout on access tokens.

pub mod catalog;
pub mod classify;
pub mod clock;
pub mod config;
pub mod har;
pub mod store;
pub mod token;
