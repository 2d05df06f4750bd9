//! [`Link`], the connection commands go over: one multiplexed connection to one server (a
//! standalone Redis or the master Sentinel names), or a Redis Cluster connection, which routes
//! each command to the master of its key's slot, follows `MOVED`/`ASK` and refreshes its slot
//! map by itself (the `redis` crate's `cluster-async`).
//!
//! A pipeline goes to one server, and the crate does not follow a redirection of one, so on a
//! cluster nothing is pipelined: [`Link::same_slot`] sends the commands of one token in order,
//! [`Link::batch`] the commands of many tokens all at once; on a single server each is one
//! pipeline.

use ::redis::aio::{ConnectionLike, MultiplexedConnection};
use ::redis::cluster_async::ClusterConnection;
use ::redis::{Cmd, FromRedisValue, Pipeline, RedisError, RedisFuture, RedisResult, Value};

/// A cheap clone of the live connection (both kinds are multiplexed handles).
#[derive(Clone)]
pub(super) enum Link {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Link::Single(c) => c.req_packed_command(cmd),
            Link::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Link::Single(c) => c.req_packed_commands(cmd, offset, count),
            Link::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::Single(c) => c.get_db(),
            Link::Cluster(c) => c.get_db(),
        }
    }
}

impl Link {
    /// Commands of one token (one slot, or one key), answered together as one array that
    /// converts to `T`: one pipeline on a single server; one after the other on a cluster,
    /// where each follows `ASK`/`MOVED` by itself (the crate does not redirect a pipeline).
    pub(super) async fn same_slot<T: FromRedisValue>(&self, cmds: Vec<Cmd>) -> RedisResult<T> {
        let values = match self {
            Link::Single(conn) => {
                let mut p = ::redis::pipe();
                for c in cmds {
                    p.add_command(c);
                }
                p.query_async::<Vec<Value>>(&mut conn.clone()).await?
            }
            Link::Cluster(conn) => {
                let mut conn = conn.clone();
                let mut values = Vec::with_capacity(cmds.len());
                for c in cmds {
                    values.push(c.query_async::<Value>(&mut conn).await?);
                }
                values
            }
        };
        ::redis::from_redis_value(&Value::Array(values))
    }

    /// Commands of possibly different tokens, each answered on its own, in order. On a
    /// single server: one pipeline, one round trip (a transport failure fails them all). On a
    /// cluster: every command by itself and all at once, so a master that is down fails only
    /// the commands of its slots.
    pub(super) async fn batch(&self, cmds: Vec<Cmd>) -> Vec<RedisResult<Value>> {
        match self {
            Link::Single(conn) => {
                let count = cmds.len();
                let mut p = ::redis::pipe();
                for c in cmds {
                    p.add_command(c);
                }
                match p.query_async::<Vec<Value>>(&mut conn.clone()).await {
                    Ok(values) if values.len() == count => {
                        values.into_iter().map(Value::extract_error).collect()
                    }
                    Ok(values) => failed_all(count, &short_reply(count, values.len())),
                    Err(e) => failed_all(count, &e),
                }
            }
            Link::Cluster(conn) => {
                let each = cmds.into_iter().map(|c| {
                    let mut conn = conn.clone();
                    async move { c.query_async::<Value>(&mut conn).await }
                });
                futures_util::future::join_all(each).await
            }
        }
    }
}

/// The one error of a failed pipeline, once per command.
fn failed_all(count: usize, e: &RedisError) -> Vec<RedisResult<Value>> {
    (0..count)
        .map(|_| {
            Err(RedisError::from((
                e.kind(),
                "pipeline failed",
                e.to_string(),
            )))
        })
        .collect()
}

fn short_reply(expected: usize, got: usize) -> RedisError {
    RedisError::from((
        ::redis::ErrorKind::ResponseError,
        "pipeline answered a different number of replies",
        format!("expected {expected}, got {got}"),
    ))
}
