//! The seam's side of identity: a config applied with [`TokenState::apply`] carries the
//! policies' names, and tracked tokens keep their policy by name under the new timing.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::clock::Clock;
use crate::config::{Config, TimeoutPolicy};
use crate::proxy_load::LoadWatch;
use crate::store::effects::Policy;
use crate::store::state::TokenState;
use crate::telemetry::Metrics;

fn policy(name: &str, idle_minutes: u64) -> TimeoutPolicy {
    TimeoutPolicy {
        name: name.into(),
        groups: vec![name.into()],
        idle: Some(Duration::from_secs(idle_minutes * 60)),
        absolute: None,
        priority: 1,
    }
}

fn config(policies: Vec<TimeoutPolicy>) -> Config {
    let mut c = Config::with_upstream("http://127.0.0.1:1".parse().unwrap());
    c.timeout.policies = policies;
    c
}

#[tokio::test]
async fn an_applied_config_keeps_each_tokens_policy_by_name_under_the_new_timing() {
    let old = config(vec![policy("agents", 10), policy("supervisors", 60)]);
    let clock = Clock::starting_at(T0);
    let state = TokenState::new(&old, &Metrics::new(), clock, Arc::new(NoEffects));
    let t = Policy::of(&old).timing;
    let agent = NewIdent {
        sig: 1,
        subject: Some("a"),
        policy: 1,
    };
    state.track_verified(&key(1), T0, None, &t, agent);
    // Filed in the wheel at the 10-minute deadline.
    state
        .expire_due(
            &CancellationToken::new(),
            &mut LoadWatch::new(Arc::default()),
        )
        .await;
    // Reordered, "agents" now idles out after 2 minutes.
    let new = config(vec![policy("supervisors", 60), policy("agents", 2)]);
    let names = vec!["supervisors".to_string(), "agents".to_string()];
    state.apply(Policy::of(&new), new.tokens.max_tracked, false, names);
    assert_eq!(state.ident(&key(1), T0).1, 2);
    state.local.clock.advance(Duration::from_secs(120));
    state
        .expire_due(
            &CancellationToken::new(),
            &mut LoadWatch::new(Arc::default()),
        )
        .await;
    assert_eq!(
        state.tracked_len(),
        0,
        "expired by the sweeper at the new deadline"
    );
    assert!(matches!(
        state.status(&key(1), T0 + 120_000),
        Status::Revoked {
            reason: RevokeReason::Inactivity,
            ..
        }
    ));
}
