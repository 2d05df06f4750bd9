//! The validated runtime configuration. Everything here has passed validation; defaults are
//! filled in (docs/reference.md, "Configuration"). Built by `config::load`/`config::parse`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::classify::{Group, Pattern};
use crate::token::TokenSource;

#[derive(Clone, Debug)]
pub struct Config {
    /// The file this config was read from (None for a config built in memory, e.g. `demo`).
    pub path: Option<PathBuf>,
    pub proxy: ProxyConfig,
    pub admin: AdminConfig,
    pub timeout: TimeoutConfig,
    pub tokens: TokensConfig,
    pub exclusions: ExclusionsConfig,
    pub catalog: CatalogConfig,
    pub state: StateConfig,
    pub revocation: RevocationConfig,
}

#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub listen: SocketAddr,
    /// `http://host:port` (an optional path prefix is kept and prepended).
    pub upstream: http::Uri,
    pub connect_timeout: Duration,
    pub upstream_timeout: Duration,
    /// 0 = one per core.
    pub workers: usize,
    pub max_header_bytes: usize,
    /// Client connections served at once; past it new ones wait in the backlog or are closed.
    pub max_connections: usize,
    /// An idle keep-alive client connection is closed after this long.
    pub keepalive_timeout: Duration,
    /// A request head that is still incomplete after this long closes the connection.
    pub header_timeout: Duration,
    /// A request body that sends nothing for this long ends the request.
    pub body_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    pub token_env: String,
    /// `Host` names (lowercase, no port) the admin listener answers; anything else gets 421.
    /// `*` allows any host.
    pub allowed_hosts: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Shadow,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
        }
    }
}

#[derive(Clone, Debug)]
pub struct TimeoutConfig {
    pub enabled: bool,
    pub idle: Duration,
    pub absolute: Option<Duration>,
    pub mode: Mode,
    pub resolution: Duration,
    pub expose_remaining: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackMode {
    Accepted,
    All,
}

#[derive(Clone, Debug)]
pub struct TokensConfig {
    pub sources: Vec<TokenSource>,
    pub track: TrackMode,
    pub max_tracked: usize,
    pub revoked_retention: Duration,
    pub hash_key_env: String,
    /// Lowercase header name.
    pub no_touch_header: Option<http::HeaderName>,
}

#[derive(Clone, Debug)]
pub struct ExclusionsConfig {
    /// Resolved path of the defaults file; None = built-in list.
    pub defaults_file: Option<PathBuf>,
    /// All default groups, in file order.
    pub groups: Vec<Group>,
    /// Ids of the groups switched on (each is an id of `groups`).
    pub enabled_defaults: Vec<String>,
    /// Custom patterns in config order.
    pub custom: Vec<Pattern>,
}

#[derive(Clone, Debug, Default)]
pub struct CatalogConfig {
    /// Resolved path.
    pub openapi: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Redis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    Open,
    Closed,
}

#[derive(Clone, Debug)]
pub struct StateConfig {
    pub backend: Backend,
    /// Resolved path; None = no persistence.
    pub snapshot: Option<PathBuf>,
    pub snapshot_interval: Duration,
    pub redis_url: Option<String>,
    pub prefix: String,
    pub sync_interval: Duration,
    pub on_error: OnError,
}

#[derive(Clone, Debug)]
pub struct Rfc7009Config {
    pub url: http::Uri,
    pub client_id: String,
    pub client_secret_env: String,
}

#[derive(Clone, Debug, Default)]
pub struct RevocationConfig {
    pub webhook: Option<http::Uri>,
    pub rfc7009: Option<Rfc7009Config>,
}
