//! idlegate: a reverse-proxy sidecar that enforces an inactivity timeout on access tokens.
//!
//! # Layout
//!
//! Layers, bottom to top (docs/architecture.md; `scripts/import_graph.py` checks that nothing
//! imports upward and that no files import each other): pure logic, telemetry, state,
//! application, edges.
//!
//! - [`config`]: the TOML file → a validated [`config::Config`] (every error with line/column).
//! - [`classify`]: exclusion patterns and the classifier (`activity` / `excluded`).
//! - [`token`]: token extraction from requests, keying (keyed BLAKE3 → token id), JWT `exp`.
//! - [`store`]: token state behind one seam ([`store::state::TokenState`], memory or Redis):
//!   tracked tokens, revoked set, the timer wheel, persistence and the sweeper task.
//! - [`telemetry`]: the Prometheus metrics and the recent-revocations ring (admin serves them).
//! - [`proxy`]: the proxy listener and the request path (extract → key → check → classify →
//!   touch → forward → track), upstream forwarding, upgrades, idlegate's own error answers.
//! - [`admin`]: the admin listener (health, readiness, `/metrics`, the admin API and UI).
//! - [`revocation`]: revocation hooks (webhook, RFC 7009).
//! - [`catalog`]: the upstream's API catalog (type-ahead search, template matching).
//! - [`har`]: `idlegate har`, analysis of HAR recordings.
//! - [`evidence`]: live evidence, the same figures kept from real traffic over a rolling
//!   window (bounded memory; 1 token in N sampled for distinct tokens and periodicity).
//! - [`identity`]: verified JWTs (JWKS, jsonwebtoken): a token's subject and groups.
//! - [`app`]: a running gateway's parts, the live-policy swap and the effects hub.
//! - [`config_change`]: the one validate → apply → persist path of reload and admin Save.
//! - [`reload`]: live reload of the config file (SIGHUP, folder watch).
//! - [`server`]: lifecycle (listeners, background tasks, graceful shutdown).
//! - [`clock`]: the one clock (wall-clock ms that follow tokio's pausable time).
//! - [`backoff`]: capped exponential backoff for retries (Redis reconnects, JWKS loads,
//!   accept errors; revocation hooks add jitter of their own).
//! - `outbound`: the HTTP(S) client of idlegate's own calls (hooks, JWKS).
//! - `pace`: keeps background bulk work (a mass expiry) to a share of a core.
//! - `proxy_load`: how busy the proxy threads are (their runtimes' own busy time), so a
//!   mass expiry's sweep runs at full speed while they are idle.
//! - [`files`]: reading operator files and standard input with a size bound; private folders.
//! - [`tunnels`]: open upgraded (WebSocket) connections per token, closed on revocation.
//! - [`demo`], [`cli`]: `idlegate demo` and the command line.
//! - `fuzzing`: the fuzz targets' invariant checks, shared with `tests/fuzz_corpus.rs`.

// An item is `pub` only when the binary, tests or benches use it from outside the crate;
// everything else says `pub(crate)` (or less), so unused code shows up as dead.
#![warn(unreachable_pub)]

pub(crate) mod admin;
pub mod app;
pub(crate) mod backoff;
pub mod catalog;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod config;
pub mod config_change;
pub mod demo;
pub mod evidence;
pub(crate) mod files;
/// Invariant checks of the fuzz targets and their corpus test; not product API.
#[doc(hidden)]
pub mod fuzzing;
pub mod har;
pub mod identity;
pub(crate) mod outbound;
pub(crate) mod pace;
pub(crate) mod proxy;
pub(crate) mod proxy_load;
pub mod reload;
pub(crate) mod revocation;
pub mod server;
pub mod store;
pub(crate) mod telemetry;
pub mod token;
pub(crate) mod tunnels;
