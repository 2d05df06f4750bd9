//! The floor of `benches/proxy_cpu.sh` (README, "Benchmarks"): the least an HTTP/1.1 proxy can
//! do for the benchmark's load, to show how much of every proxy's CPU per request is the
//! kernel's and cannot be saved by any proxy's own code.
//!
//! Per client connection it keeps one upstream connection, and per request: one read of the
//! client's head, one write of those same bytes upstream, one read of the answer (until its
//! `content-length` is in), one write of those bytes back. No header is parsed into a map,
//! none added, no token looked at: four syscalls, as few as a proxy that waits for each answer
//! can make, and almost no work of its own. It serves the benchmark's bodiless GETs only and
//! is not a proxy anyone should run.
//!
//!     cargo run --release --example bench_floor -- 127.0.0.1:19516 127.0.0.1:19510

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest head or answer relayed; the benchmark's are well under 2 KB.
const BUFFER: usize = 16 * 1024;

fn parse(arg: Option<String>, what: &str) -> io::Result<SocketAddr> {
    let text = arg.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("usage: bench_floor LISTEN UPSTREAM ({what} missing)"),
        )
    })?;
    text.parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{what} {text:?}: {e}")))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = parse(args.next(), "listen address")?;
    let upstream = parse(args.next(), "upstream address")?;
    let listener = TcpListener::bind(listen).await?;
    loop {
        let (client, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        tokio::spawn(async move {
            if let Err(e) = relay(client, upstream).await {
                if e.kind() != io::ErrorKind::UnexpectedEof {
                    eprintln!("connection: {e}");
                }
            }
        });
    }
}

/// Relays requests on one client connection until it closes.
async fn relay(mut client: TcpStream, upstream: SocketAddr) -> io::Result<()> {
    client.set_nodelay(true)?;
    let mut up = TcpStream::connect(upstream).await?;
    up.set_nodelay(true)?;
    let mut request = vec![0u8; BUFFER];
    let mut answer = vec![0u8; BUFFER];
    loop {
        let n = read_until(&mut client, &mut request, head_end).await?;
        up.write_all(&request[..n]).await?;
        let m = read_until(&mut up, &mut answer, answer_end).await?;
        client.write_all(&answer[..m]).await?;
    }
}

/// Reads until `complete` says how long the message is; returns that length.
async fn read_until(
    from: &mut TcpStream,
    buf: &mut [u8],
    complete: fn(&[u8]) -> Option<usize>,
) -> io::Result<usize> {
    let mut filled = 0;
    loop {
        let n = from.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
        if let Some(len) = complete(&buf[..filled]) {
            return Ok(len);
        }
        if filled == buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "message too large",
            ));
        }
    }
}

/// A bodiless request ends with its head.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// An answer ends `content-length` bytes after its head.
fn answer_end(buf: &[u8]) -> Option<usize> {
    let head = head_end(buf)?;
    let length = buf[..head]
        .split(|&b| b == b'\n')
        .find_map(|line| {
            let (name, value) = line.split_at(line.iter().position(|&b| b == b':')?);
            name.eq_ignore_ascii_case(b"content-length")
                .then(|| {
                    std::str::from_utf8(&value[1..])
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .flatten()
        })
        .unwrap_or(0);
    (buf.len() >= head + length).then_some(head + length)
}
