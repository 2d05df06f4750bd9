//! A private Redis Cluster: masters with replicas, each a `redis-server` child on a free port
//! (its cluster bus on port + 10000), joined by `redis-cli --cluster create`, for the Cluster
//! mode tests. Nodes can be killed, restarted (they rejoin from their nodes.conf), and a
//! slot can be migrated step by step while the tests keep sending traffic.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use redis::{Cmd, FromRedisValue, RedisResult};

use super::{answers, missing, sentinel::redis_server_available, REDIS_SERVER};

const REDIS_CLI: &str = "/usr/bin/redis-cli";
/// Whether redis-cli is installed (else skip loudly; under CI it fails).
pub fn redis_cli_available() -> bool {
    Path::new(REDIS_CLI).exists() || missing(REDIS_CLI)
}

/// `n` distinct ports that were free a moment ago, each with its bus port free too, all
/// below the kernel's ephemeral range (see `common::ports`).
pub fn free_ports(n: usize) -> Vec<u16> {
    crate::common::ports::quiet_ports(n, true)
}

/// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…`.
pub fn url_of(ports: &[u16]) -> String {
    let hosts: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    format!("redis+cluster://{}", hosts.join(","))
}

/// One line of `CLUSTER NODES`: who a node is and, for a master, the slots it serves.
#[derive(Clone, Debug)]
pub struct Node {
    pub port: u16,
    pub flags: Vec<String>,
    pub epoch: u64,
    pub slots: Vec<(u16, u16)>,
}

impl Node {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }

    fn parse(line: &str) -> Option<Node> {
        let f: Vec<&str> = line.split(' ').collect();
        let addr = f.get(1)?.split(['@', ',']).next()?;
        let port = addr.rsplit(':').next()?.parse().ok()?;
        let range = |s: &str| match s.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => s.parse().ok().map(|x| (x, x)),
        };
        // `[slot->-id]` and `[slot-<-id]` mark a migration in progress, not ownership.
        let owned = f.iter().skip(8).filter(|s| !s.starts_with('['));
        Some(Node {
            port,
            flags: f.get(2)?.split(',').map(str::to_owned).collect(),
            epoch: f.get(6)?.parse().ok()?,
            slots: owned.filter_map(|s| range(s)).collect(),
        })
    }
}

pub struct Cluster {
    /// Every node's port, as given to `redis-cli --cluster create`.
    pub ports: Vec<u16>,
    /// The masters at creation: the seed nodes of [`Cluster::url`].
    seeds: Vec<u16>,
    children: BTreeMap<u16, Child>,
    /// A slot each killed master served, to recognise its successor.
    killed_slot: HashMap<u16, u16>,
    /// The nodes' working folder: their nodes-P.conf survive a restart.
    dir: tempfile::TempDir,
}

impl Cluster {
    /// None (after a loud skip message) when redis-server or redis-cli is missing; under CI
    /// it fails.
    pub async fn start(masters: usize, replicas_per_master: usize) -> Option<Cluster> {
        let ports = free_ports(masters * (1 + replicas_per_master));
        Self::start_on(&ports, replicas_per_master).await
    }

    /// As [`Cluster::start`], on ports chosen beforehand (`ports.len()` divisible by
    /// `1 + replicas_per_master`).
    pub async fn start_on(ports: &[u16], replicas_per_master: usize) -> Option<Cluster> {
        if !redis_server_available() || !redis_cli_available() {
            return None;
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut cluster = Cluster {
            ports: ports.to_vec(),
            seeds: Vec::new(),
            children: BTreeMap::new(),
            killed_slot: HashMap::new(),
            dir,
        };
        for &port in ports {
            cluster.restart(port).await;
        }
        let hosts = ports.iter().map(|p| format!("127.0.0.1:{p}"));
        let replicas = replicas_per_master.to_string();
        let out = tokio::process::Command::new(REDIS_CLI)
            .args(["--cluster", "create"])
            .args(hosts)
            .args(["--cluster-replicas", &replicas, "--cluster-yes"])
            .stdin(Stdio::null())
            .output();
        let out = tokio::time::timeout(Duration::from_secs(30), out).await;
        let out = out.expect("redis-cli --cluster create finishes within 30 s");
        let out = out.expect("redis-cli runs");
        let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "redis-cli --cluster create:\n{said}");
        let ok = cluster.wait_ok(Duration::from_secs(20)).await;
        assert!(ok, "the cluster on {ports:?} was not ok within 20 s");
        cluster.seeds = cluster.masters().await;
        Some(cluster)
    }

    /// `redis+cluster://…` naming the masters at creation.
    pub fn url(&self) -> String {
        url_of(&self.seeds)
    }

    /// The nodes running now (not killed).
    pub fn live(&self) -> Vec<u16> {
        self.children.keys().copied().collect()
    }

    /// `CLUSTER KEYSLOT key`, asked of a live node.
    pub async fn keyslot(&self, key: &str) -> u16 {
        let slot = query(self.live()[0], &cmd(&["CLUSTER", "KEYSLOT", key])).await;
        slot.expect("CLUSTER KEYSLOT")
    }

    /// The port of the master serving `key`'s slot now.
    pub async fn node_of_key(&self, key: &str) -> u16 {
        let slot = self.keyslot(key).await;
        let owner = self.owner(slot).await;
        owner.unwrap_or_else(|| panic!("no live master serves slot {slot}"))
    }

    /// The live master that serves `slot` by its own account; after a failover a restarted
    /// node may still claim it until it hears the news, so the newest config epoch wins.
    pub async fn owner(&self, slot: u16) -> Option<u16> {
        let claims = self.selves().await.into_iter();
        let claims = claims.filter(|me| me.has("master") && me.serves(slot));
        claims.max_by_key(|me| me.epoch).map(|me| me.port)
    }

    /// The live nodes that are masters serving slots, by their own account.
    pub async fn masters(&self) -> Vec<u16> {
        let selves = self.selves().await.into_iter();
        let masters = selves.filter(|me| me.has("master") && !me.slots.is_empty());
        masters.map(|me| me.port).collect()
    }

    /// Each live node's own line of `CLUSTER NODES`.
    async fn selves(&self) -> Vec<Node> {
        let mut selves = Vec::new();
        for port in self.live() {
            selves.extend(myself(port).await);
        }
        selves
    }

    /// Whether the node on `port` is a replica by its own account.
    pub async fn is_replica(&self, port: u16) -> bool {
        myself(port).await.is_some_and(|me| me.has("slave"))
    }

    /// SIGKILLs the node (no goodbye to its clients or peers) and waits for the exit.
    pub async fn kill(&mut self, port: u16) {
        let slot = myself(port).await.and_then(|me| Some(me.slots.first()?.0));
        self.killed_slot.extend(slot.map(|slot| (port, slot)));
        if let Some(mut child) = self.children.remove(&port) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the node on `port` (again: same folder and nodes.conf, so it rejoins) and waits
    /// until it answers.
    pub async fn restart(&mut self, port: u16) {
        let log = self.dir.path().join(format!("node-{port}.log"));
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
            .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir".as_ref(), self.dir.path().as_os_str()])
            .args(["--logfile".as_ref(), log.as_os_str()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.children.insert(port, child);
        let url = format!("redis://127.0.0.1:{port}");
        let up = || async { answers(&url).await.then_some(()) };
        if poll(Duration::from_secs(5), up).await.is_none() {
            let exited = self
                .children
                .get_mut(&port)
                .and_then(|c| c.try_wait().ok()?);
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = said.lines().rev().take(8).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "redis-server on port {port} did not answer within 5 s (exit: {exited:?}); \
                 its log ends:\n{}",
                tail.join("\n")
            );
        }
    }

    /// Waits (at most `within`) until every live node agrees that another master serves the
    /// slots of the killed master `old`; answers that master's port.
    pub async fn wait_failover(&self, old: u16, within: Duration) -> Option<u16> {
        let slot = self.killed_slot[&old];
        poll(within, || async {
            let new = self.owner(slot).await.filter(|&p| p != old)?;
            for port in self.live() {
                let map = slot_map(&view(port).await?);
                map.iter()
                    .find(|&&(a, b, p)| a <= slot && slot <= b && p == new)?;
            }
            Some(new)
        })
        .await
    }

    /// Waits (at most `within`) until every live node says `cluster_state:ok`, knows every
    /// node, agrees on who serves every slot, and every live replica is in sync.
    pub async fn wait_ok(&self, within: Duration) -> bool {
        let ok = poll(within, || async { self.is_ok().await.then_some(()) });
        ok.await.is_some()
    }

    async fn is_ok(&self) -> bool {
        let mut maps = Vec::new();
        for port in self.live() {
            let info = text(port, &["CLUSTER", "INFO"]).await;
            let sync = text(port, &["INFO", "replication"]).await;
            let view = view(port).await.unwrap_or_default();
            let replica = view.iter().any(|n| n.has("myself") && n.has("slave"));
            if !info.contains("cluster_state:ok")
                || view.len() != self.ports.len()
                || (replica && !sync.contains("master_link_status:up"))
            {
                return false;
            }
            maps.push(slot_map(&view));
        }
        maps.windows(2).all(|w| w[0] == w[1])
    }

    /// Moves `slot` from one master to another in one go.
    pub async fn migrate_slot(&self, slot: u16, from: u16, to: u16) -> usize {
        self.begin_migration(slot, from, to).await;
        let moved = self.move_keys(slot, from, to).await;
        self.finish_migration(slot, to).await;
        moved
    }

    /// `IMPORTING` on the target, then `MIGRATING` on the source: from now on the source
    /// answers ASK for keys of `slot` it no longer holds.
    pub async fn begin_migration(&self, slot: u16, from: u16, to: u16) {
        let (from_id, to_id) = (node_id(from).await, node_id(to).await);
        let slot = slot.to_string();
        let importing = cmd(&["CLUSTER", "SETSLOT", &slot, "IMPORTING", &from_id]);
        let _: () = query(to, &importing).await.expect("SETSLOT IMPORTING");
        let migrating = cmd(&["CLUSTER", "SETSLOT", &slot, "MIGRATING", &to_id]);
        let _: () = query(from, &migrating).await.expect("SETSLOT MIGRATING");
    }

    /// Moves every key of `slot` from the source to the target (`MIGRATE … KEYS …`), and
    /// answers how many.
    pub async fn move_keys(&self, slot: u16, from: u16, to: u16) -> usize {
        let mut moved = 0;
        loop {
            let get = cmd(&["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "100"]);
            let keys: Vec<String> = query(from, &get).await.expect("GETKEYSINSLOT");
            if keys.is_empty() {
                return moved;
            }
            let mut migrate = cmd(&["MIGRATE", "127.0.0.1", &to.to_string(), "", "0", "5000"]);
            migrate.arg("KEYS").arg(&keys);
            let _: String = query(from, &migrate).await.expect("MIGRATE");
            moved += keys.len();
        }
    }

    /// `CLUSTER SETSLOT slot NODE <target>` on the target first, then on every other live
    /// master: from now on clients with the old map get MOVED.
    pub async fn finish_migration(&self, slot: u16, to: u16) {
        let to_id = node_id(to).await;
        let mut others = self.masters().await;
        others.retain(|&p| p != to);
        for port in std::iter::once(to).chain(others) {
            let node = cmd(&["CLUSTER", "SETSLOT", &slot.to_string(), "NODE", &to_id]);
            let _: () = query(port, &node).await.expect("SETSLOT NODE");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A command from its words.
pub fn cmd(words: &[&str]) -> Cmd {
    let mut c = redis::cmd(words[0]);
    c.arg(&words[1..]);
    c
}

/// One command on a fresh connection to one node (bounded: a dead node fails fast).
pub async fn query<T: FromRedisValue>(port: u16, cmd: &Cmd) -> RedisResult<T> {
    send(port, cmd, false).await
}

/// `ASKING` then `cmd` on one connection: reads a key of a slot the node is importing.
pub async fn query_asking<T: FromRedisValue>(port: u16, cmd: &Cmd) -> RedisResult<T> {
    send(port, cmd, true).await
}

async fn send<T: FromRedisValue>(port: u16, cmd: &Cmd, asking: bool) -> RedisResult<T> {
    let mut pipe = redis::pipe();
    if asking {
        pipe.cmd("ASKING").ignore();
    }
    pipe.add_command(cmd.clone());
    let fut = async {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let (value,): (T,) = pipe.query_async(&mut conn).await?;
        Ok(value)
    };
    let timed_out = || (redis::ErrorKind::IoError, "timed out").into();
    let answer = tokio::time::timeout(Duration::from_secs(2), fut).await;
    answer.unwrap_or_else(|_| Err(timed_out()))
}

/// A text answer (`INFO`, `CLUSTER INFO`), empty when the node does not answer.
async fn text(port: u16, words: &[&str]) -> String {
    query(port, &cmd(words)).await.unwrap_or_default()
}

/// Calls `f` every 50 ms until it answers Some, at most `within`.
async fn poll<T, Fut>(within: Duration, mut f: impl FnMut() -> Fut) -> Option<T>
where
    Fut: Future<Output = Option<T>>,
{
    let until_some = async {
        loop {
            if let Some(v) = f().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(within, until_some).await.ok()
}

/// The node's `CLUSTER NODES`, parsed.
async fn view(port: u16) -> Option<Vec<Node>> {
    let text: String = query(port, &cmd(&["CLUSTER", "NODES"])).await.ok()?;
    Some(text.lines().filter_map(Node::parse).collect())
}

/// The node's own line of `CLUSTER NODES`.
async fn myself(port: u16) -> Option<Node> {
    view(port).await?.into_iter().find(|n| n.has("myself"))
}

async fn node_id(port: u16) -> String {
    let id = query(port, &cmd(&["CLUSTER", "MYID"])).await;
    id.expect("CLUSTER MYID")
}

/// Who serves which slots, by the ports of live (not failed) masters, in slot order.
fn slot_map(view: &[Node]) -> Vec<(u16, u16, u16)> {
    let mut map: Vec<(u16, u16, u16)> = view
        .iter()
        .filter(|n| n.has("master") && !n.has("fail"))
        .flat_map(|n| n.slots.iter().map(|&(a, b)| (a, b, n.port)))
        .collect();
    map.sort_unstable();
    map
}
