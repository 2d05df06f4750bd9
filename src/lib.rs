//! idlegate: a reverse-proxy sidecar that enforces an inactivity timeout on access tokens.

pub mod classify;
pub mod clock;
pub mod config;
pub mod store;
pub mod token;
