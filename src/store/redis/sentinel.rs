//! Sentinel mode (`state.redis_url = "redis+sentinel://…"`, docs/reference.md, "Redis
//! backend"): which address is the master now, and is the server we reached still it.
//!
//! The resolution is done here by hand rather than with the `redis` crate's `sentinel`
//! feature: that feature builds its own clients and connections, while the supervisor
//! (`conn`) needs one RESP3 multiplexed connection with our push sender and timeouts, named
//! and subscribed in its own way. Asking the sentinels is one command
//! (`SENTINEL GET-MASTER-ADDR-BY-NAME`) and checking a server is another (`ROLE`), so a
//! dozen lines keep the connection path identical in both modes.
//!
//! Limits: the sentinels are reached without a password and without TLS (the user,
//! password and database of the URL are the master's).

use std::time::Duration;

use ::redis::aio::ConnectionLike;
use ::redis::{
    cmd, AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, ErrorKind, ProtocolVersion,
    RedisConnectionInfo, RedisError, RedisResult, Value,
};
use parking_lot::Mutex;

use crate::config::SentinelUrl;

/// One sentinel that does not answer costs at most this (connect) plus the response timeout.
const SENTINEL_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const SENTINEL_RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// The sentinels to ask, in order, and how to speak to the master they name.
pub(super) struct Sentinels {
    sentinels: Vec<(String, u16)>,
    master: String,
    /// The master's user, password and database, speaking RESP3.
    master_info: RedisConnectionInfo,
    /// The address last named, so a change (a failover) is logged once.
    last_named: Mutex<Option<(String, u16)>>,
}

impl Sentinels {
    pub(super) fn new(url: SentinelUrl) -> Sentinels {
        Sentinels {
            sentinels: url.sentinels,
            master: url.master,
            master_info: RedisConnectionInfo {
                db: url.db,
                username: url.username,
                password: url.password,
                protocol: ProtocolVersion::RESP3,
            },
            last_named: Mutex::new(None),
        }
    }

    /// A client for the master as the first sentinel that knows it names it now.
    pub(super) async fn master_client(&self) -> RedisResult<::redis::Client> {
        let mut last = None;
        for (host, port) in &self.sentinels {
            match self.ask(host, *port).await {
                Ok(addr) => {
                    self.note_named(&addr);
                    return ::redis::Client::open(ConnectionInfo {
                        addr: ConnectionAddr::Tcp(addr.0, addr.1),
                        redis: self.master_info.clone(),
                    });
                }
                Err(e) => {
                    tracing::debug!(sentinel = %format!("{host}:{port}"), error = %e,
                        "a sentinel did not name the master");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| failure("no sentinel configured")))
    }

    fn note_named(&self, addr: &(String, u16)) {
        let mut last = self.last_named.lock();
        if last.as_ref() != Some(addr) {
            tracing::info!(master = %self.master, address = %format!("{}:{}", addr.0, addr.1),
                "Sentinel names the Redis master");
            *last = Some(addr.clone());
        }
    }

    /// `SENTINEL GET-MASTER-ADDR-BY-NAME` on one sentinel.
    async fn ask(&self, host: &str, port: u16) -> RedisResult<(String, u16)> {
        let client = ::redis::Client::open(ConnectionInfo {
            addr: ConnectionAddr::Tcp(host.to_string(), port),
            redis: RedisConnectionInfo::default(),
        })?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(SENTINEL_CONNECT_TIMEOUT)
            .set_response_timeout(SENTINEL_RESPONSE_TIMEOUT);
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let reply: Option<(String, String)> = cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(&self.master)
            .query_async(&mut conn)
            .await?;
        let Some((ip, port)) = reply else {
            return Err(failure("the sentinel does not know this master name"));
        };
        match port.parse::<u16>() {
            Ok(port) if !ip.is_empty() => Ok((ip, port)),
            _ => Err(failure("the sentinel answered an unusable address")),
        }
    }
}

/// Whether the server behind `conn` is a master (`ROLE`): right after a failover a sentinel
/// may still name the old, demoted one, and a demoted master may keep our connection.
pub(super) async fn is_master(conn: &mut (impl ConnectionLike + Send)) -> RedisResult<bool> {
    let role: Vec<Value> = cmd("ROLE").query_async(conn).await?;
    Ok(match role.first() {
        Some(Value::BulkString(b)) => b.as_slice() == b"master",
        Some(Value::SimpleString(s)) => s == "master",
        _ => false,
    })
}

/// Fails unless the server behind `conn` is a master.
pub(super) async fn ensure_master(conn: &mut (impl ConnectionLike + Send)) -> RedisResult<()> {
    match is_master(conn).await? {
        true => Ok(()),
        false => Err(failure(
            "the server the sentinel named is not a master (yet)",
        )),
    }
}

fn failure(what: &'static str) -> RedisError {
    RedisError::from((ErrorKind::IoError, what))
}
