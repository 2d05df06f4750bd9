//! The demo's scenario works as its printed instructions say.

mod common;

use std::time::Duration;

use common::*;
use idlegate::demo::{demo_config, sample_upstream, DEMO_IDLE};

#[tokio::test]
async fn demo_excluded_polls_do_not_keep_a_token_alive_but_activity_does() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, sample_upstream()).await });
    let gw = gateway(demo_config(format!("http://{up}").parse().unwrap())).await;
    assert_eq!(
        gw.get("/api/v2/users/me", Some("agent-a")).await.status,
        200
    );
    assert_eq!(
        gw.get("/api/v2/users/me", Some("agent-b")).await.status,
        200
    );
    let step = DEMO_IDLE / 4;
    for _ in 0..3 {
        gw.clock.advance(step);
        assert_eq!(
            gw.get("/api/v2/users/me", Some("agent-a")).await.status,
            200
        );
        assert_eq!(
            gw.call("POST", "/api/v2/diagnostics/trace", Some("agent-b"))
                .await
                .status,
            200
        );
    }
    gw.clock.advance(step + Duration::from_millis(10));
    assert_eq!(
        gw.get("/api/v2/users/me", Some("agent-a")).await.status,
        200,
        "active survives"
    );
    let r = gw
        .call("POST", "/api/v2/diagnostics/trace", Some("agent-b"))
        .await;
    assert_eq!(r.status, 401, "polling alone idles out");
    assert_eq!(
        gw.get("/api/v2/users/invalid", Some("invalid"))
            .await
            .status,
        404
    );
}
