//! Raw HTTP/1.1 over a TCP stream, for tests that watch the connection itself.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Reads one response (head and `Content-Length` body); None if the connection ends first.
pub async fn read_response(s: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(n) = response_len(&buf) {
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The length of the first complete response in `buf` (head and `Content-Length` body), once
/// it is all there.
pub fn response_len(buf: &[u8]) -> Option<usize> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (buf.len() >= end + len).then_some(end + len)
}
