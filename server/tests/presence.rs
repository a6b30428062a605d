//! Presence over real sockets: only for the IDs a connection watches, answered at once, updated
//! when the watched user's first device logs in or last device leaves, and bounded.

mod common;

use common::*;
use webcall_protocol::{ClientMsg, ErrorCode, ServerMsg, MAX_WATCHED};

fn watch(users: &[&str]) -> ClientMsg {
    ClientMsg::Watch {
        users: users.iter().map(|u| u.to_string()).collect(),
    }
}

fn presence(user: &str, online: bool) -> ServerMsg {
    ServerMsg::Presence {
        user_id: user.into(),
        online,
    }
}

#[tokio::test]
async fn watched_ids_are_answered_at_once_and_updated_live() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let _carol = server.login("carol").await;

    alice.send(&watch(&["bob", "carol", "bob"])).await;
    alice.expect(presence("bob", false)).await;
    alice.expect(presence("carol", true)).await;
    alice.expect_nothing_pending().await;

    // Bob's first device brings him online; a second changes nothing; only the last one's
    // leaving takes him offline.
    let bob = server.login("bob").await;
    alice.expect(presence("bob", true)).await;
    let bob_phone = server.login("bob").await;
    alice.expect_nothing_pending().await;
    drop(bob);
    let hub = server.state.hub().clone();
    within(async {
        while hub.devices("bob") != 1 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
    alice.expect_nothing_pending().await;
    drop(bob_phone);
    alice.expect(presence("bob", false)).await;

    // A new list replaces the old one: carol's comings and goings are no longer told.
    alice.send(&watch(&["dave"])).await;
    alice.expect(presence("dave", false)).await;
    drop(_carol);
    server.wait_offline("carol").await;
    alice.expect_nothing_pending().await;
    // An empty list stops watching.
    alice.send(&watch(&[])).await;
    let _dave = server.login("dave").await;
    alice.expect_nothing_pending().await;
}

#[tokio::test]
async fn bad_watch_lists_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(&watch(&["bob"])).await;
    alice.expect(presence("bob", false)).await;

    let message = alice
        .refused(watch(&["carol", "not valid"]), ErrorCode::BadUserId)
        .await;
    assert!(message.starts_with("invalid user ID"), "{message}");
    let many: Vec<String> = (0..=MAX_WATCHED).map(|i| format!("user{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let message = alice.refused(watch(&many), ErrorCode::BadMessage).await;
    assert_eq!(message, "at most 16 user IDs can be watched");

    // Still watching bob, and only bob.
    let _carol = server.login("carol").await;
    let _bob = server.login("bob").await;
    alice.expect(presence("bob", true)).await;
    alice.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_watcher_that_leaves_is_forgotten() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(&watch(&["bob"])).await;
    alice.expect(presence("bob", false)).await;
    drop(alice);
    server.wait_offline("alice").await;
    // Nobody is told, and nothing breaks.
    let mut bob = server.login("bob").await;
    bob.expect_nothing_pending().await;
}
