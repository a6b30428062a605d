//! TURN: logged-in clients get the configured STUN and TURN servers, the TURN ones with TURN
//! REST credentials that a TURN server sharing the secret accepts, and the relay-only flag.

mod common;

use common::*;
use webcall_protocol::{IceServer, ServerMsg};
use webcall_server::{turn, AppState, Config, ConfigError};

const TURN_URL: &str = "turn:127.0.0.1:3478?transport=udp";
const TURN_SECRET: &str = "shared-with-coturn";

#[tokio::test]
async fn logged_in_clients_get_turn_credentials_and_relay_only() {
    let server = TestServer::start_with(|config| {
        config.turn_urls = vec![TURN_URL.into()];
        config.turn_secret = Some(TURN_SECRET.into());
        config.turn_ttl_secs = 600;
        config.stun_urls = vec!["stun:127.0.0.1:3478".into()];
        config.relay_only = true;
    })
    .await;
    let mut alice = server.send_login("alice").await;
    let (ice_servers, relay_only) = match alice.recv().await {
        ServerMsg::LoggedIn {
            ice_servers,
            relay_only,
            ..
        } => (ice_servers, relay_only),
        other => panic!("expected LoggedIn, got {other:?}"),
    };
    assert!(relay_only);
    let [stun, turn_server] = ice_servers.as_slice() else {
        panic!("expected a STUN and a TURN entry, got {ice_servers:?}");
    };
    assert_eq!(
        stun,
        &IceServer {
            urls: vec!["stun:127.0.0.1:3478".into()],
            username: None,
            credential: None,
        }
    );
    assert_eq!(turn_server.urls, vec![TURN_URL.to_string()]);
    let username = turn_server.username.as_deref().expect("a TURN username");
    let (expiry, user) = username.split_once(':').expect("<expiry>:<user>");
    assert_eq!(user, "alice");
    let expiry: u64 = expiry.parse().expect("a Unix time");
    let now = unix_now();
    assert!(
        (now + 590..=now + 600).contains(&expiry),
        "expiry {expiry}, now {now}"
    );
    assert_eq!(
        turn_server.credential.as_deref(),
        Some(turn::credential(TURN_SECRET, username).as_str())
    );
}

#[tokio::test]
async fn without_turn_clients_get_no_servers_and_no_relay_only() {
    let server = TestServer::start().await;
    // `login` asserts an empty server list and relay_only false.
    server.login("alice").await;
}

#[test]
fn a_half_configured_turn_server_is_refused_at_start_up() {
    let config = Config {
        turn_urls: vec![TURN_URL.into()],
        ..Config::default()
    };
    assert_eq!(
        AppState::try_new(&config).err(),
        Some(ConfigError::TurnUrlWithoutSecret)
    );
    let config = Config {
        turn_secret: Some(TURN_SECRET.into()),
        ..Config::default()
    };
    assert_eq!(
        AppState::try_new(&config).err(),
        Some(ConfigError::TurnSecretWithoutUrl)
    );
}
