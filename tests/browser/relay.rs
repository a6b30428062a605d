//! TURN: calls relayed through a real coturn on loopback, with the server's TURN REST
//! credentials and `--relay-only`; and what the user sees when the TURN server refuses them.

use std::time::Instant;

use crate::harness::{report, Coturn, Harness};
use crate::user::{User, UI};
use crate::{establish_call, AUDIO};

/// The candidate types of the last peer connection's selected candidate pair (from the
/// transport's `selectedCandidatePairId`), with the local candidate's protocol.
const SELECTED_PAIR: &str = r#"
const done = arguments[arguments.length - 1];
const pc = (window.__pcs || [])[(window.__pcs || []).length - 1];
if (!pc) { done({ error: 'no peer connection' }); return; }
pc.getStats().then((report) => {
  let pair = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
  });
  if (!pair) { done({ error: 'no selected candidate pair yet (' + pc.connectionState + ')' }); return; }
  const local = report.get(pair.localCandidateId) || {};
  const remote = report.get(pair.remoteCandidateId) || {};
  done({
    local: local.candidateType, remote: remote.candidateType,
    protocol: local.protocol, relayProtocol: local.relayProtocol, state: pair.state,
  });
}, (e) => done({ error: String(e) }));
"#;

/// The selected pair of `user`'s peer connection: (local type, remote type, description).
async fn selected_pair(user: &User) -> (String, String, String) {
    user.wait("a selected candidate pair", UI, || async {
        let v = user
            .client
            .execute_async(SELECTED_PAIR, vec![])
            .await
            .map_err(|e| e.to_string())?;
        if let Some(e) = v["error"].as_str() {
            return Err(e.to_string());
        }
        let field = |k: &str| v[k].as_str().unwrap_or("?").to_string();
        Ok(Some((field("local"), field("remote"), v.to_string())))
    })
    .await
}

/// Both sides may only use relayed candidates, through coturn with credentials the server
/// issued: the call connects, audio flows both ways, and both selected pairs are relay/relay.
#[tokio::test]
async fn relay_only_call_through_coturn() {
    const SECRET: &str = "relay-test-secret";
    let coturn = Coturn::start(SECRET).await;
    let url = coturn.url();
    let h =
        Harness::start_with(&["--turn-url", &url, "--turn-secret", SECRET, "--relay-only"]).await;
    let alice = User::new(&h, "alice").await;
    let bob = User::new(&h, "bob").await;
    alice.login().await;
    bob.login().await;

    let accept_to_audio = establish_call(&alice, &bob).await;
    report(&format!("relay-only accept→audio: {accept_to_audio:.0} ms"));
    alice.assert_audio_flows(AUDIO).await;
    bob.assert_audio_flows(AUDIO).await;
    for user in [&alice, &bob] {
        let (local, remote, stats) = selected_pair(user).await;
        report(&format!("[{}] selected pair: {stats}", user.id));
        if (local.as_str(), remote.as_str()) != ("relay", "relay") {
            user.fail(&format!(
                "the selected candidate pair is {local}/{remote}, not relay/relay: {stats}\n\
                 coturn log:\n{}",
                coturn.log_tail(20)
            ))
            .await;
        }
    }

    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.wait_page("/call", "Call ended", UI).await;
    alice.close().await;
    bob.close().await;
}

/// coturn and the server disagree about the secret: the caller's relay-only call cannot
/// connect, and the caller is told why at once (not after the connect timeout), naming the
/// TURN server.
#[tokio::test]
async fn wrong_turn_secret_gives_a_clear_error() {
    let coturn = Coturn::start("the-secret-coturn-knows").await;
    let url = coturn.url();
    let h = Harness::start_with(&[
        "--turn-url",
        &url,
        "--turn-secret",
        "another-secret",
        "--relay-only",
    ])
    .await;
    let alice = User::new(&h, "alice").await;
    let bob = User::new(&h, "bob").await;
    alice.login().await;
    bob.login().await;

    // Not `User::call`: the call may fail before its "Calling …" is seen.
    alice.fill("Callee user ID", &bob.id).await;
    alice.click("Call").await;
    let clicked = Instant::now();
    let expected = format!("the TURN server {url} refused the credentials (401 Unauthorized)");
    alice.wait_page("/call", &expected, UI).await;
    report(&format!(
        "[{}] after {} ms: {}",
        alice.id,
        clicked.elapsed().as_millis(),
        alice.body_text().await.unwrap_or_default()
    ));
    // The call is over for bob too, who never got into it.
    bob.wait_no_dialog(UI).await;
    bob.wait_page("/call", &format!("Logged in as {}", bob.id), UI)
        .await;
    let state = alice
        .client
        .execute(
            "const p = window.__pcs || []; return p.length ? p[p.length - 1].connectionState : 'none'",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        state == "closed" || state == "none",
        "alice's peer connection is {state}, not closed"
    );
    alice.close().await;
    bob.close().await;
}
