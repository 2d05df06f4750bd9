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
    /// `[identity]`: verified JWTs (docs/reference.md, "Identity"). None = tokens are opaque.
    pub identity: Option<IdentityConfig>,
    pub audit: AuditConfig,
    pub evidence: EvidenceConfig,
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
    /// The session status endpoint idlegate answers itself (`GET`, and `POST {path}/extend`);
    /// never forwarded. Starts with `/`.
    pub status_path: String,
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
    /// The status endpoint's `warning` turns true this long before the idle deadline.
    pub warn_before: Duration,
    /// `[[timeout.policies]]`, sorted by ascending priority (ties keep file order): the first
    /// with a group in common with a verified token's groups is its policy.
    pub policies: Vec<TimeoutPolicy>,
}

impl TimeoutConfig {
    /// The index in `policies` of the first policy with a group in `groups`; None = default.
    pub fn policy_for(&self, groups: &[String]) -> Option<usize> {
        self.policies
            .iter()
            .position(|p| p.groups.iter().any(|g| groups.contains(g)))
    }
}

/// One `[[timeout.policies]]` entry: a timeout by group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeoutPolicy {
    /// `[a-z0-9-]{1,40}`, unique.
    pub name: String,
    /// A token with any one of these groups matches.
    pub groups: Vec<String>,
    /// None = `idle = "off"`: never revoked for inactivity.
    pub idle: Option<Duration>,
    /// None = `timeout.absolute`.
    pub absolute: Option<Duration>,
    pub priority: u32,
}

/// What happens to a token that fails verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnInvalid {
    /// 401, never forwarded, never tracked.
    Reject,
    /// Forwarded and treated as an opaque token.
    Pass,
}

/// Where the JSON Web Key Set comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksSource {
    /// Resolved path.
    File(PathBuf),
    /// `http://` or `https://`.
    Url(http::Uri),
}

/// `[identity]`: how tokens that are JWTs are verified and what idlegate reads from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityConfig {
    pub jwks: JwksSource,
    /// `iss` must equal it.
    pub issuer: Option<String>,
    /// `aud` must contain one of these (empty = not checked).
    pub audience: Vec<String>,
    /// Allowed `alg` names as in RFC 7518 (`RS256`, `ES256`, …); never `none` or `HS*`.
    pub algorithms: Vec<String>,
    /// Dotted path of the subject claim, split at the dots.
    pub subject_claim: Vec<String>,
    /// Dotted path of the groups claim (`realm_access.roles`), split at the dots.
    pub groups_claim: Vec<String>,
    pub refresh: Duration,
    pub leeway: Duration,
    pub on_invalid: OnInvalid,
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
    /// The trial list (docs/reference.md, "Trial list"): default groups and custom patterns
    /// evaluated in shadow beside the enforced ones. Both empty = no trial.
    pub trial_defaults: Vec<String>,
    pub trial_custom: Vec<Pattern>,
}

impl ExclusionsConfig {
    /// Whether a trial list is set.
    pub fn has_trial(&self) -> bool {
        !self.trial_defaults.is_empty() || !self.trial_custom.is_empty()
    }
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
    /// How long an id unknown to Redis too is not asked again (Redis backend).
    pub negative_ttl: Duration,
}

impl StateConfig {
    pub const NEGATIVE_TTL_LIMIT: Duration = Duration::from_secs(60);
}

#[derive(Clone, Debug)]
pub struct Rfc7009Config {
    pub url: http::Uri,
    pub client_id: String,
    pub client_secret_env: String,
}

#[derive(Clone, Debug)]
pub struct RevocationConfig {
    pub webhook: Option<http::Uri>,
    pub rfc7009: Option<Rfc7009Config>,
    /// Deliveries not finished, per hook; past it a revocation's delivery is dropped.
    pub max_pending: usize,
    /// How long a delivery is retried after its first attempt (at most one hour).
    pub retry_for: std::time::Duration,
}

impl RevocationConfig {
    pub const MAX_PENDING_DEFAULT: usize = 10_000;
    pub const MAX_PENDING_LIMIT: usize = 1_000_000;
    pub const RETRY_FOR_LIMIT: std::time::Duration = std::time::Duration::from_secs(3600);
}

impl Default for RevocationConfig {
    fn default() -> Self {
        RevocationConfig {
            webhook: None,
            rfc7009: None,
            max_pending: Self::MAX_PENDING_DEFAULT,
            retry_for: Self::RETRY_FOR_LIMIT,
        }
    }
}

/// Where the audit lines go (docs/reference.md, "Audit events").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditTarget {
    /// `file = "-"`: standard output, while the logs stay on stderr.
    Stdout,
    /// Resolved path, opened for appending.
    File(PathBuf),
}

/// `[audit]`: revocation and admin audit events as JSON lines of their own. Restart-only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditConfig {
    /// None = audit events only in the log stream.
    pub file: Option<AuditTarget>,
    /// The gateway instance the lines name; None = the host name (the pod name in Kubernetes).
    pub replica: Option<String>,
}

/// `[evidence]`: live evidence, the figures of `idlegate har` kept by the gateway over a
/// rolling window (docs/reference.md, "Live evidence"). Restart-only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceConfig {
    /// false = nothing is recorded and `GET /api/v1/evidence` answers 404.
    pub enabled: bool,
    pub settings: crate::evidence::EvidenceSettings,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            enabled: true,
            settings: Default::default(),
        }
    }
}
