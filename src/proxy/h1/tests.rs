//! One exchange of the own client against a raw upstream that writes exactly the bytes given.

use std::sync::Arc;

use http_body_util::BodyExt;
use prometheus_client::metrics::gauge::Gauge;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use std::task::Poll;

use super::body::BodyError;
use super::*;

/// An upstream that reads one request head, answers `wire`, then closes when `close`.
async fn raw_upstream(wire: &'static [u8], close: bool) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = s.write_all(wire).await;
        if !close {
            // Hold the connection open until the client goes.
            let _ = s.read(&mut buf).await;
        }
    });
    addr
}

async fn conn_to(addr: std::net::SocketAddr, open: &Gauge) -> Conn {
    let io = TcpStream::connect(addr).await.unwrap();
    let slot = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
    Conn::new(io, open.clone(), slot)
}

/// A limit no test reaches.
fn soon() -> Instant {
    Instant::now() + std::time::Duration::from_secs(30)
}

fn get(path: &str) -> Request<()> {
    Request::get(path).header("host", "up").body(()).unwrap()
}

async fn round_trip(wire: &'static [u8], close: bool) -> (Response<ResponseBody>, Gauge) {
    let open = Gauge::default();
    let conn = conn_to(raw_upstream(wire, close).await, &open).await;
    (
        exchange(conn, &mut get("/x"), &[], soon()).await.unwrap(),
        open,
    )
}

#[tokio::test]
async fn a_length_delimited_body_is_read_and_its_connection_is_reusable() {
    let (resp, open) =
        round_trip(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", false).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut data = Vec::new();
    while let Some(frame) = body.frame().await {
        data.extend_from_slice(&frame.unwrap().into_data().unwrap());
    }
    assert_eq!(data, b"hello");
    assert!(body.take_reusable().is_some());
    assert_eq!(
        open.get(),
        0,
        "the connection was dropped with the test's hold on it"
    );
}

#[tokio::test]
async fn a_chunked_body_is_decoded_and_interim_responses_are_skipped() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n\
        HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let (resp, _) = round_trip(wire, false).await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let all = (&mut body).collect().await.unwrap().to_bytes();
    assert_eq!(&all[..], b"abcde");
    assert!(body.take_reusable().is_some());
}

#[tokio::test]
async fn a_content_length_beside_the_chunked_coding_is_dropped_and_the_connection_not_reused() {
    let wire = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 2\r\n\r\n\
        5\r\nhello\r\n0\r\n\r\n";
    let (resp, _) = round_trip(wire, false).await;
    assert!(!resp.headers().contains_key("content-length"));
    let mut body = resp.into_body();
    let all = (&mut body).collect().await.unwrap().to_bytes();
    assert_eq!(&all[..], b"hello");
    assert!(body.take_reusable().is_none());
}

#[tokio::test]
async fn a_body_until_close_ends_with_the_connection_and_is_not_reused() {
    let (resp, _) = round_trip(b"HTTP/1.1 200 OK\r\n\r\nall of it", true).await;
    let mut body = resp.into_body();
    let all = (&mut body).collect().await.unwrap().to_bytes();
    assert_eq!(&all[..], b"all of it");
    assert!(body.take_reusable().is_none());
}

#[tokio::test]
async fn a_body_cut_short_is_an_error_not_a_short_answer() {
    let (resp, _) = round_trip(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc", true).await;
    let err = resp.into_body().collect().await.unwrap_err();
    assert!(matches!(err, BodyError::Truncated), "{err}");
}

#[tokio::test]
async fn bytes_behind_the_body_make_the_connection_unfit_for_reuse() {
    let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n";
    let (resp, _) = round_trip(wire, false).await;
    let mut body = resp.into_body();
    let _ = (&mut body).collect().await.unwrap();
    assert!(body.take_reusable().is_none());
}

#[tokio::test]
async fn a_connection_closed_before_any_answer_says_so() {
    let open = Gauge::default();
    let conn = conn_to(raw_upstream(b"", true).await, &open).await;
    let err = exchange(conn, &mut get("/x"), &[], soon())
        .await
        .err()
        .expect("an error");
    assert!(matches!(err, ExchangeError::NoResponse), "{err}");
    let conn = conn_to(raw_upstream(b"HTTP/1.1 200 O", true).await, &open).await;
    let err = exchange(conn, &mut get("/x"), &[], soon())
        .await
        .err()
        .expect("an error");
    assert!(matches!(err, ExchangeError::TruncatedHead), "{err}");
}

#[tokio::test]
async fn a_protocol_switch_nobody_asked_for_is_refused() {
    let open = Gauge::default();
    let wire = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n";
    let conn = conn_to(raw_upstream(wire, false).await, &open).await;
    let err = exchange(conn, &mut get("/x"), &[], soon())
        .await
        .err()
        .expect("an error");
    assert!(matches!(err, ExchangeError::UnaskedSwitch), "{err}");
}

#[tokio::test]
async fn a_head_past_the_limit_is_refused() {
    static HUGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let wire = HUGE.get_or_init(|| {
        let mut w = b"HTTP/1.1 200 OK\r\nx-big: ".to_vec();
        w.resize(MAX_HEAD + 100, b'a');
        w
    });
    let open = Gauge::default();
    let conn = conn_to(raw_upstream(wire, false).await, &open).await;
    let err = exchange(conn, &mut get("/x"), &[], soon())
        .await
        .err()
        .expect("an error");
    assert!(matches!(err, ExchangeError::HeadTooLarge), "{err}");
}

#[tokio::test]
async fn an_idle_connection_the_upstream_closed_is_not_usable() {
    let open = Gauge::default();
    let addr = raw_upstream(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", true).await;
    let conn = conn_to(addr, &open).await;
    let resp = exchange(conn, &mut get("/x"), &[], soon()).await.unwrap();
    let mut body = resp.into_body();
    let mut conn = body.take_reusable().expect("an empty body ends at once");
    // The upstream closes after its answer: once the FIN is in, the connection is unusable.
    let mut usable = true;
    for _ in 0..200 {
        usable = std::future::poll_fn(|cx| Poll::Ready(conn.poll_usable(cx))).await;
        if !usable {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(!usable);
}

/// With the connection's timer set `timer_secs` from now and the exchange's limit
/// `limit_secs`, work that never ends: asserts it times out, and answers when.
async fn times_out_after(timer_secs: u64, limit_secs: u64) -> std::time::Duration {
    let start = Instant::now();
    let secs = std::time::Duration::from_secs;
    let mut timer = Box::pin(tokio::time::sleep_until(start + secs(timer_secs)));
    let out = by(
        &mut timer,
        start + secs(limit_secs),
        std::future::pending::<()>(),
    )
    .await;
    assert!(matches!(out, Err(ExchangeError::TimedOut)));
    start.elapsed()
}

#[tokio::test(start_paused = true)]
async fn a_timer_left_at_an_earlier_limit_is_moved_on_not_taken_for_this_one() {
    // The connection's timer still holds the last exchange's limit, 1 s from now.
    let after = times_out_after(1, 5).await;
    let limit = std::time::Duration::from_secs(5);
    assert_eq!(after, limit, "timed out at this exchange's limit");
}

#[tokio::test(start_paused = true)]
async fn a_limit_earlier_than_the_timer_pulls_the_timer_in() {
    // A reload shortened the timeout: the timer was set further out than this limit.
    let after = times_out_after(60, 2).await;
    assert_eq!(after, std::time::Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn work_done_in_time_leaves_the_timer_where_it_was() {
    let start = Instant::now();
    let secs = std::time::Duration::from_secs;
    let mut timer = Box::pin(tokio::time::sleep_until(start + secs(1)));
    let out = by(&mut timer, start + secs(5), async { 7 }).await;
    assert_eq!(out.unwrap(), 7);
    assert_eq!(
        timer.deadline(),
        start + secs(1),
        "not re-armed for a finished exchange"
    );
    assert_eq!(start.elapsed(), secs(0));
}

/// Real time, no paused clock: the exchanges wait on real sockets, and a paused clock would
/// jump to the limit whenever the runtime waits for them. The limit is short and only a
/// lower bound on the wait is asserted.
#[tokio::test]
async fn an_upstream_that_stops_answering_times_out_at_the_limit_on_a_reused_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            .await
            .unwrap();
        // The second request is read and never answered.
        let _ = s.read(&mut buf).await;
        std::future::pending::<()>().await;
    });
    let open = Gauge::default();
    let conn = conn_to(addr, &open).await;
    let resp = exchange(conn, &mut get("/x"), &[], soon()).await.unwrap();
    let mut body = resp.into_body();
    while body.frame().await.is_some() {}
    let conn = body.take_reusable().expect("the connection comes back");
    let start = Instant::now();
    let wait = std::time::Duration::from_millis(200);
    let out = exchange(conn, &mut get("/x"), &[], start + wait).await;
    assert!(
        matches!(out, Err(ExchangeError::TimedOut)),
        "{:?}",
        out.err()
    );
    assert!(start.elapsed() >= wait, "not before its limit");
}
