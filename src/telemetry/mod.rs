//! What idlegate counts, below every layer that counts into it.
//!
//! # Layout
//!
//! - [`metrics`]: the Prometheus families, registered at start with every listed label value
//!   at 0; the proxy, the state layer and the hooks hold pre-resolved handles.
//! - `exposition`: [`Metrics::encode`], the `/metrics` text (admin serves it).
//! - [`hooks`]: revocation hook results and unfinished deliveries, by hook.
//! - [`identity`]: verifications, JWKS refreshes, tokens by policy, subjects.
//! - [`evidence`]: live evidence's templates, overflow and memory.
//! - `ring`: [`RevocationRing`], enforced revocations per minute over the last hour.
//! - `json_line`: `--log-format json`, each event written straight as one JSON line.
//! - `log_pipe`: the log writer (a bounded buffer written out by a thread of its own).
//! - `audit_file`: the audit events as JSON lines on a file of their own (through a log pipe).
//!
//! Telemetry imports only the clock: the store, proxy, admin and hooks import it, never the
//! reverse.

pub(crate) mod audit_file;
pub(crate) mod evidence;
mod exposition;
pub(crate) mod hooks;
pub(crate) mod identity;
pub(crate) mod json_line;
pub(crate) mod log_pipe;
pub(crate) mod metrics;
mod ring;

pub(crate) use metrics::{Class, Metrics, UpstreamErrorKind};
pub(crate) use ring::RevocationRing;
