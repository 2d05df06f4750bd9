//! The Redis URL forms of `state.redis_url` beyond what the client parses itself: the
//! Sentinel and Cluster forms, and a redacted URL for people (docs/reference.md, "[state]").

pub(crate) const SENTINEL_SHAPE: &str =
    "expected redis+sentinel://[user:password@]host:port[,host:port…]/master_name[?db=N]";
/// Sentinels one URL may list, at most.
pub(crate) const MAX_SENTINELS: usize = 16;

/// `redis+sentinel://[user:password@]HOST:PORT[,HOST:PORT…]/MASTER_NAME[?db=N]`: the
/// sentinels to ask, in order, for the address of the master `MASTER_NAME`; the user,
/// password and database are the master's (docs/reference.md, "Redis backend").
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelUrl {
    pub sentinels: Vec<(String, u16)>,
    pub master: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: i64,
}

impl std::fmt::Debug for SentinelUrl {
    /// Never shows the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelUrl")
            .field("sentinels", &self.sentinels)
            .field("master", &self.master)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("db", &self.db)
            .finish()
    }
}

impl SentinelUrl {
    pub const SCHEME: &'static str = "redis+sentinel://";

    /// None when `text` is not a Sentinel URL; else the URL or what is wrong with it.
    pub fn parse(text: &str) -> Option<Result<SentinelUrl, String>> {
        let rest = text.strip_prefix(Self::SCHEME)?;
        Some(Self::parse_rest(rest))
    }

    fn parse_rest(rest: &str) -> Result<SentinelUrl, String> {
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, master) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if hosts.is_empty() {
            return Err("no sentinel address".into());
        }
        let sentinels = hosts
            .split(',')
            .map(|a| host_port("sentinel", a))
            .collect::<Result<Vec<_>, _>>()?;
        if sentinels.len() > MAX_SENTINELS {
            return Err(format!("more than {MAX_SENTINELS} sentinels"));
        }
        if master.is_empty() {
            return Err("no master name after the sentinels".into());
        }
        if !master.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
            return Err(format!("invalid master name {master:?}"));
        }
        let (username, password) = user_and_password(userinfo)?;
        Ok(SentinelUrl {
            sentinels,
            master: master.to_string(),
            username,
            password,
            db: database(query)?,
        })
    }
}

pub(crate) const CLUSTER_SHAPE: &str =
    "expected redis+cluster://[user:password@]host:port[,host:port…]";

/// `redis+cluster://[user:password@]HOST:PORT[,HOST:PORT…]`: seed nodes of a Redis Cluster
/// (any reachable one tells the client the others and the slot map); the user and password
/// are every node's (docs/reference.md, "Redis backend").
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterUrl {
    pub nodes: Vec<(String, u16)>,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for ClusterUrl {
    /// Never shows the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterUrl")
            .field("nodes", &self.nodes)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl ClusterUrl {
    pub const SCHEME: &'static str = "redis+cluster://";

    /// None when `text` is not a Cluster URL; else the URL or what is wrong with it.
    pub fn parse(text: &str) -> Option<Result<ClusterUrl, String>> {
        let rest = text.strip_prefix(Self::SCHEME)?;
        Some(Self::parse_rest(rest))
    }

    fn parse_rest(rest: &str) -> Result<ClusterUrl, String> {
        // A cluster has database 0 only, so there is no path; nor any option.
        if let Some(extra) = rest.find(['/', '?']) {
            let extra = &rest[extra..];
            if extra != "/" {
                return Err(format!(
                    "unexpected {extra:?} after the nodes (a cluster has database 0 only)"
                ));
            }
        }
        let authority = rest.trim_end_matches('/');
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if hosts.is_empty() {
            return Err("no node address".into());
        }
        let nodes = hosts
            .split(',')
            .map(|a| host_port("node", a))
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.len() > MAX_SENTINELS {
            return Err(format!("more than {MAX_SENTINELS} seed nodes"));
        }
        let (username, password) = user_and_password(userinfo)?;
        Ok(ClusterUrl {
            nodes,
            username,
            password,
        })
    }
}

/// The `user:password` before `@`, %-decoded; an empty user is none.
fn user_and_password(userinfo: Option<&str>) -> Result<(Option<String>, Option<String>), String> {
    let Some(u) = userinfo else {
        return Ok((None, None));
    };
    let (user, pass) = u.split_once(':').map_or((u, None), |(a, b)| (a, Some(b)));
    let user = (!user.is_empty())
        .then(|| percent_decode(user))
        .transpose()?;
    Ok((user, pass.map(percent_decode).transpose()?))
}

/// `HOST:PORT` or `[IPV6]:PORT`.
fn host_port(what: &str, text: &str) -> Result<(String, u16), String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{what} address {text:?} has no port"))?;
    let port = match port.parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => return Err(format!("bad port {port:?} in {what} address {text:?}")),
    };
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let valid = !bare.is_empty()
        && bare.len() <= 253
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b));
    if !valid {
        return Err(format!("bad host in {what} address {text:?}"));
    }
    Ok((bare.to_string(), port))
}

/// The query: empty, or `db=N`.
fn database(query: &str) -> Result<i64, String> {
    if query.is_empty() {
        return Ok(0);
    }
    match query.strip_prefix("db=").map(str::parse::<i64>) {
        Some(Ok(db)) if (0..=1_000_000).contains(&db) => Ok(db),
        _ => Err(format!("unsupported query {query:?} (only db=N)")),
    }
}

/// `%XX` escapes of the user and password (so they may hold `@`, `:` or `/`).
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).unwrap_or("");
            if hex.len() != 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("a bad %-escape in the user or password".into());
            }
            out.push(u8::from_str_radix(hex, 16).unwrap_or_default());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the user or password is not UTF-8".to_string())
}

/// The URL for people: a password (between `:` and `@` of the user info) becomes `***`.
pub fn redacted_redis_url(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{hosts}{tail}"),
            None => text.to_string(),
        },
        None => text.to_string(),
    }
}

#[cfg(test)]
#[path = "redis_url_tests.rs"]
mod tests;
