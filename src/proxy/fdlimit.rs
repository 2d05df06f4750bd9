//! File descriptors: the proxy may use all but a reserve, so that running out of them never
//! stops `/healthz`, the admin API, snapshot and journal writes, Redis or the hooks.

/// Descriptors kept out of the proxy's reach: the admin listener and its connections, the
/// snapshot and journal files, Redis, hook deliveries, logs, the config watch.
pub const RESERVED: u64 = 128;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit now in force
/// (None where it cannot be read).
pub fn raise_nofile() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
            rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
        }
    }
}

/// The proxy's connection cap: `max_connections`, lowered so that every client connection
/// and the upstream connection it may hold fit in the descriptors left after [`RESERVED`].
pub fn connection_cap(max_connections: usize, nofile: Option<u64>) -> usize {
    let Some(nofile) = nofile else {
        return max_connections.max(1);
    };
    let fit = nofile.saturating_sub(RESERVED) / 2;
    let fit = usize::try_from(fit).unwrap_or(usize::MAX);
    max_connections.min(fit).max(1)
}

/// [`raise_nofile`], then [`connection_cap`], warning when the cap is lowered.
pub fn proxy_connection_cap(max_connections: usize) -> usize {
    let nofile = raise_nofile();
    let cap = connection_cap(max_connections, nofile);
    if cap < max_connections {
        tracing::warn!(
            max_connections,
            open_files_limit = nofile.unwrap_or(0),
            reserved = RESERVED,
            cap,
            "proxy.max_connections lowered to fit the open-files limit: \
             each client connection may hold an upstream connection too; \
             raise the limit (ulimit -n / LimitNOFILE) to allow more"
        );
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_the_reserve_and_room_for_an_upstream_connection_each() {
        assert_eq!(connection_cap(10_000, Some(1024)), 448);
        assert_eq!(connection_cap(100, Some(1024)), 100);
        assert_eq!(connection_cap(10_000, Some(1 << 20)), 10_000);
        assert_eq!(connection_cap(10_000, None), 10_000);
        // Never zero: a tiny limit still serves one connection at a time.
        assert_eq!(connection_cap(10_000, Some(64)), 1);
    }

    #[test]
    fn raising_never_lowers_the_limit() {
        let (soft, _) = rlimit::Resource::NOFILE.get().unwrap();
        let now = raise_nofile().unwrap();
        assert!(now >= soft);
    }
}
