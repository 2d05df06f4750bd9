//! The pool's connection rules.

use super::*;
use crate::proxy::error::Fault;

#[tokio::test]
async fn a_failed_connect_is_the_upstreams_and_leaves_the_request_unsent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let authority: Arc<str> = Arc::from(listener.local_addr().unwrap().to_string());
    drop(listener);
    let pool = Pool::new(
        Duration::from_secs(1),
        Gauge::default(),
        Arc::new(Semaphore::new(8)),
    );
    let Err(e) = pool.connect_hyper(&authority).await else {
        panic!("nothing listens there");
    };
    assert!(matches!(e.kind, ErrorKind::Connect(_)), "{e}");
    assert_eq!(e.fault, Fault::Upstream);
    assert!(e.retry, "nothing was sent: safe on another connection");
}

// Before: every proxy thread opened upstream connections without a shared bound, so the
// many streams of HTTP/2 clients could use up the descriptors reserved for the admin
// listener and snapshots.
#[tokio::test(start_paused = true)]
async fn upstream_connections_are_bounded_across_the_pool_and_a_slot_frees_on_close() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority: Arc<str> = Arc::from(listener.local_addr().unwrap().to_string());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let slots = Arc::new(Semaphore::new(1));
    let pool = Pool::new(Duration::from_secs(2), Gauge::default(), slots.clone());
    let first = pool.connect_hyper(&authority).await.expect("a free slot");
    assert_eq!(slots.available_permits(), 0);
    let Err(e) = pool.connect_hyper(&authority).await else {
        panic!("the one slot is taken");
    };
    assert_eq!(e.fault, Fault::Gateway);
    assert!(e.to_string().contains("no upstream connection free"), "{e}");
    drop(first);
    // The connection task ends once its sender is gone, and gives the slot back.
    let _again = tokio::time::timeout(Duration::from_secs(5), pool.connect_hyper(&authority))
        .await
        .expect("the slot frees when the first connection ends")
        .expect("connects");
}
