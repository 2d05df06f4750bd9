//! The *Sign a user out everywhere* box on a gateway that verifies tokens (docs/reference.md,
//! "Identity", "Admin API"): real ES256 tokens give requests a subject, the operator lists one
//! user's tokens and revokes them all, and the proxy must then refuse exactly those tokens.

use std::time::Duration;

use http::StatusCode;
use serde_json::{json, Value};

use super::identity_support::{claims, with_identity, write_jwks, Signer};
use super::{admin_url, common, flow, look_at, sections_flow, webdriver, ADMIN_TOKEN};

/// The user signed out: three tokens, one of them in group `supervisor`.
pub const ERIN: &str = "erin@example.com";
pub const ERIN_PATH: &str = "/api/v1/subjects/erin%40example.com/tokens";
/// Another user, whose token must survive erin's sign-out.
pub const FRANK: &str = "frank";
/// A timer-resetting route of the shipped config.
const ROUTE: &str = "/api/v2/users/me";

/// A gateway on the shipped config plus `[identity]` on a JWKS file of `signer`'s key, ready
/// (its first key set loaded); the temp folder holds the config and the JWKS.
pub async fn gateway_with_identity() -> (common::Gateway, Signer, tempfile::TempDir) {
    let signer = Signer::new("browser-k1");
    let (gw, _config_path, dir) = super::gateway_on_shipped_config_with(|config, dir| {
        let jwks = dir.join("jwks.json");
        write_jwks(&jwks, &[&signer]);
        with_identity(config, &jwks)
    })
    .await;
    let ready = gw
        .eventually(Duration::from_secs(5), || async {
            let url = format!("http://{}/readyz", gw.running.admin_addr);
            gw.client
                .get(url.parse().unwrap())
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK)
        })
        .await;
    assert!(ready, "the gateway loads its JWKS and becomes ready");
    (gw, signer, dir)
}

/// The raw tokens sent through the proxy.
pub struct Tokens {
    /// Erin's; the second is in group `supervisor`.
    pub erin: Vec<String>,
    pub frank: String,
}

/// Signs erin's three tokens and frank's one and sends each through the proxy once.
pub async fn send_tokens(gw: &common::Gateway, signer: &Signer) -> Tokens {
    let now = gw.clock.now_ms();
    let token = |sub: &str, roles: &[&str], jti: &str| {
        let mut c = claims(now, sub, roles);
        c["jti"] = json!(jti);
        signer.sign(&c)
    };
    let tokens = Tokens {
        erin: vec![
            token(ERIN, &["agent"], "erin-laptop"),
            token(ERIN, &["agent", "supervisor"], "erin-phone"),
            token(ERIN, &[], "erin-tablet"),
        ],
        frank: token(FRANK, &["agent"], "frank-laptop"),
    };
    for t in tokens.erin.iter().chain([&tokens.frank]) {
        let reply = gw.get(ROUTE, Some(t)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    tokens
}

/// What the page showed and sent.
pub struct Seen {
    pub note: String,
    /// The rows before the sign-out: `[token id (title), state, policy]`.
    pub before: Vec<[String; 3]>,
    pub status: String,
    pub deletes: Vec<(String, String, u16, String)>,
    /// The rows once the list was fetched again after the DELETE.
    pub after: Vec<[String; 3]>,
}

/// Types erin's subject, clicks *Find tokens*, signs her out everywhere and confirms; waits
/// for the list to show every row revoked.
pub async fn drive(s: &webdriver::Session<'_>, gw: &common::Gateway) -> Result<Seen, String> {
    flow::sign_in(s, &admin_url(gw), ADMIN_TOKEN).await?;
    s.send_keys(&s.find("#subject").await?, ERIN).await?;
    s.click(&s.find("#find-tokens").await?).await?;
    let note = s.wait_text("#tokens-note", ERIN).await?;
    let before = rows(s).await?;
    sections_flow::spy_on_fetch(s).await?;
    let question = sections_flow::ask_sign_out(s).await?;
    if !question.contains(ERIN) {
        return Err(format!("the confirm step asks {question:?}"));
    }
    let status = sections_flow::confirm_sign_out(s).await?;
    let deletes = sections_flow::seen(s, "DELETE").await?;
    s.wait_until(
        "the list to show erin's three tokens revoked",
        "return document.querySelectorAll('#tokens tr').length === 3 \
         && document.querySelectorAll('#tokens tr.token-revoked').length === 3",
    )
    .await?;
    let after = rows(s).await?;
    look_at(s, "everywhere", "admin-ui-everywhere-identity.png").await?;
    Ok(Seen {
        note,
        before,
        status,
        deletes,
        after,
    })
}

/// The token rows as shown: `[token id (the id cell's title), state, policy]`.
async fn rows(s: &webdriver::Session<'_>) -> Result<Vec<[String; 3]>, String> {
    let v: Value = s
        .execute(
            "return [...document.querySelectorAll('#tokens tr')].map(tr => \
             [tr.cells[0].title, tr.cells[1].textContent, tr.cells[2].textContent])",
            json!([]),
        )
        .await?;
    serde_json::from_value(v).map_err(|e| e.to_string())
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Rows keyed by token id, in id order, with their state and policy.
fn by_id(rows: &[[String; 3]]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = rows
        .iter()
        .map(|[id, state, policy]| (id.clone(), state.clone(), policy.clone()))
        .collect();
    v.sort();
    v
}

pub fn check_page(seen: &Seen, tokens: &Tokens) {
    assert_eq!(seen.note, format!("3 tokens for {ERIN} (3 active)."));
    let erin_ids = sorted(tokens.erin.iter().map(|t| common::token_id(t)).collect());
    let supervisor = common::token_id(&tokens.erin[1]);
    let expect = |state: &str| -> Vec<(String, String, String)> {
        erin_ids
            .iter()
            .map(|id| {
                let policy = if *id == supervisor {
                    "supervisors"
                } else {
                    "default"
                };
                (id.clone(), state.to_string(), policy.to_string())
            })
            .collect()
    };
    assert_eq!(by_id(&seen.before), expect("active"), "rows before");
    assert_eq!(seen.status, "3 tokens revoked.");
    assert_eq!(seen.deletes.len(), 1, "{:?}", seen.deletes);
    let (_, url, code, body) = &seen.deletes[0];
    assert_eq!((url.as_str(), *code), (ERIN_PATH, 200));
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body, json!({"revoked": 3}));
    // A revoked entry keeps only its reason and retention, not its policy: states only.
    let states = |rows: Vec<(String, String, String)>| -> Vec<(String, String)> {
        rows.into_iter().map(|(id, state, _)| (id, state)).collect()
    };
    assert_eq!(
        states(by_id(&seen.after)),
        states(expect("revoked (admin)")),
        "rows after"
    );
}

/// Erin's tokens are refused by the proxy; frank's is still served.
pub async fn check_proxy(gw: &common::Gateway, tokens: &Tokens) {
    for t in &tokens.erin {
        let reply = gw.get(ROUTE, Some(t)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        assert_eq!(reply.json()["error"], "invalid_token");
    }
    let reply = gw.get(ROUTE, Some(&tokens.frank)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}
