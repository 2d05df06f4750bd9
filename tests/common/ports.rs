//! Ports for children that bind them themselves (a `redis-server`, a Sentinel, the gateway
//! binary). A port from `bind("127.0.0.1:0")`, released and handed to a child, sits in the
//! kernel's ephemeral range: until the child binds it, any outgoing connection (a cluster
//! node's bus link, a replica's link to its master, a test client) may be given it as its
//! own local port, and the child then fails to bind. CI lost a cluster node that way. These
//! ports come from below the ephemeral range, where the kernel hands out nothing by itself.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// The lowest port handed out; well above the well-known services.
const FIRST: u32 = 12_000;
/// A Redis Cluster node's bus listens on its port + 10,000.
pub const BUS_OFFSET: u16 = 10_000;
/// Where the search in this process goes next: it starts at a place drawn from the process
/// id, so two test binaries running at once rarely try the same ports.
static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);

/// The first port of the kernel's ephemeral range (Linux default 32768).
pub fn ephemeral_start() -> u32 {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range");
    let low = range
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok());
    low.unwrap_or(32_768)
}

/// One port, free now, outside the ephemeral range.
pub fn quiet_port() -> u16 {
    quiet_ports(1, false)[0]
}

/// `n` distinct ports, free now, outside the ephemeral range; with `bus`, each one's
/// port + [`BUS_OFFSET`] is free and outside it too.
pub fn quiet_ports(n: usize, bus: bool) -> Vec<u16> {
    let reach = if bus { u32::from(BUS_OFFSET) } else { 0 };
    let last = ephemeral_start().saturating_sub(reach + 1);
    assert!(
        last > FIRST + 1_000,
        "the ephemeral range starts too low ({}) to leave test ports below it",
        ephemeral_start()
    );
    let span = last - FIRST + 1;
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id() % span,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    let mut held = Vec::new();
    for _ in 0..span {
        if held.len() == n {
            break;
        }
        let port = (FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % span) as u16;
        let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) else {
            continue;
        };
        if bus && TcpListener::bind(("127.0.0.1", port + BUS_OFFSET)).is_err() {
            continue;
        }
        held.push((listener, port));
    }
    assert_eq!(
        held.len(),
        n,
        "no {n} free ports between {FIRST} and {last}"
    );
    held.into_iter().map(|(_, port)| port).collect()
}
