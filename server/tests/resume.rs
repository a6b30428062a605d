//! Reconnecting to the same server: a socket lost without a close leaves its device waiting
//! for the resume grace period, with its calls standing; a login that resumes the session gets
//! what it missed, once and in order; acknowledged messages are let go; the grace period ending
//! ends the device's call; a clean close ends it at once.

mod common;

use std::time::{Duration, Instant};

use common::*;
use webcall_protocol::{
    ClientMsg, ErrorCode, Outcome, Resume, ServerMsg, Signal, CLOSE_RECONNECTING,
};

/// A server that keeps a lost device for `grace` seconds.
async fn server_with_grace(grace: u32) -> TestServer {
    TestServer::start_with(|c| c.resume_grace_secs = grace).await
}

/// Waits until `user` has `count` devices away.
async fn wait_away(server: &TestServer, user: &str, count: usize) {
    let hub = server.state.hub().clone();
    server
        .wait_until(move || hub.away_devices(user) == count)
        .await;
}

fn offer(sdp: &str) -> Signal {
    Signal::Offer { sdp: sdp.into() }
}

#[tokio::test]
async fn a_lost_socket_mid_call_is_resumed_with_what_it_missed_once_and_in_order() {
    let server = server_with_grace(30).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice
        .send(&ClientMsg::Watch {
            users: vec!["carol".into()],
        })
        .await;
    alice
        .expect(ServerMsg::Presence {
            user_id: "carol".into(),
            online: false,
        })
        .await;
    let call_id = connect_call(&mut alice, &mut bob).await;

    let resume = alice.resume();
    alice.drop_unclean();
    wait_away(&server, "alice", 1).await;
    // The call stands, and bob hears nothing of the loss.
    let hub = server.state.hub();
    assert_eq!(
        (hub.calls(), hub.busy_users(), hub.devices("alice")),
        (1, 2, 1)
    );
    bob.expect_nothing_pending().await;

    // Meanwhile bob signals, and carol comes online.
    bob.signal(&call_id, offer("while away")).await;
    bob.expect_nothing_pending().await;
    let _carol = server.login("carol").await;

    let (mut alice, resumed) = server.login_resume("alice", resume).await;
    assert!(resumed);
    assert_eq!(
        alice.recv().await,
        ServerMsg::Signal {
            call_id: call_id.clone(),
            signal: offer("while away")
        }
    );
    alice
        .expect(ServerMsg::Presence {
            user_id: "carol".into(),
            online: true,
        })
        .await;
    alice.expect_nothing_pending().await;
    assert_eq!((hub.devices("alice"), hub.away_devices("alice")), (1, 0));

    // The call goes on, and ends for both.
    alice.signal(&call_id, offer("after")).await;
    assert_eq!(
        bob.recv().await,
        ServerMsg::Signal {
            call_id: call_id.clone(),
            signal: offer("after")
        }
    );
    bob.send(&ClientMsg::Hangup {
        call_id: call_id.clone(),
        failure: None,
    })
    .await;
    for client in [&mut alice, &mut bob] {
        assert!(matches!(
            client.expect_ended(&call_id).await,
            Outcome::HungUp { by, .. } if by == "bob"
        ));
        client.expect_nothing_pending().await;
    }
}

#[tokio::test]
async fn an_ack_lets_messages_go_and_a_resume_from_before_it_starts_a_new_session() {
    let server = server_with_grace(30).await;
    let mut alice = server.login("alice").await;
    alice
        .send(&ClientMsg::Watch {
            users: vec!["bob".into(), "carol".into()],
        })
        .await;
    for user in ["bob", "carol"] {
        alice
            .expect(ServerMsg::Presence {
                user_id: user.into(),
                online: false,
            })
            .await;
    }
    assert_eq!(alice.last_seq(), 2);
    alice
        .refused(ClientMsg::Ack { seq: 3 }, ErrorCode::WrongState)
        .await;
    alice.ack(2).await;
    alice.expect_nothing_pending().await;

    let old_session = alice.session().to_owned();
    alice.drop_unclean();
    wait_away(&server, "alice", 1).await;
    // Message 2 is gone: a client that says it applied only 1 can not resume.
    let behind = Resume {
        session: old_session.clone(),
        seq: 1,
        call: None,
    };
    let (mut alice, resumed) = server.login_resume("alice", behind).await;
    assert!(!resumed);
    assert_ne!(alice.session(), old_session);
    assert_eq!(server.state.hub().devices("alice"), 1);
    assert_eq!(server.state.hub().away_devices("alice"), 0);
    alice.expect_nothing_pending().await;
    // The new session watches nothing yet.
    let _bob = server.login("bob").await;
    alice.expect_nothing_pending().await;
}

#[tokio::test]
async fn the_grace_period_ending_ends_the_call_as_connection_lost() {
    let server = server_with_grace(1).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    let resume = bob.resume();
    bob.drop_unclean();
    let lost_at = Instant::now();
    assert_eq!(
        alice.expect_ended(&call_id).await,
        Outcome::ConnectionLost { user: "bob".into() }
    );
    assert!(lost_at.elapsed() >= Duration::from_millis(900));
    server.wait_offline("bob").await;
    // Too late to resume: a new session, which hears nothing of the old call.
    let (mut bob, resumed) = server.login_resume("bob", resume).await;
    assert!(!resumed);
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_clean_close_removes_the_device_at_once() {
    let server = server_with_grace(30).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    bob.close_clean().await;
    // Well before the grace period.
    assert_eq!(
        alice.expect_ended(&call_id).await,
        Outcome::ConnectionLost { user: "bob".into() }
    );
    server.wait_offline("bob").await;
}

#[tokio::test]
async fn a_resume_while_the_old_socket_is_open_takes_the_device_over() {
    let server = server_with_grace(30).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;

    let (mut alice2, resumed) = server.login_resume("alice", alice.resume()).await;
    assert!(resumed);
    alice2.expect_nothing_pending().await;
    // The old socket is cut off; its end does not take the device with it.
    assert!(matches!(alice.next().await, Received::End));
    let hub = server.state.hub();
    assert_eq!((hub.devices("alice"), hub.away_devices("alice")), (1, 0));
    bob.signal(&call_id, offer("to the new socket")).await;
    assert_eq!(
        alice2.recv().await,
        ServerMsg::Signal {
            call_id: call_id.clone(),
            signal: offer("to the new socket")
        }
    );
    assert_eq!(hub.calls(), 1);
}

#[tokio::test]
async fn a_resume_with_another_users_session_is_a_new_login() {
    let server = server_with_grace(30).await;
    let mut alice = server.login("alice").await;
    let stolen = alice.resume();
    let (mut bob, resumed) = server.login_resume("bob", stolen).await;
    assert!(!resumed);
    assert_ne!(bob.session(), alice.session());
    let hub = server.state.hub();
    assert_eq!((hub.devices("alice"), hub.devices("bob")), (1, 1));
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_close_to_reconnect_keeps_the_session_waiting() {
    let server = server_with_grace(30).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    let resume = bob.resume();
    bob.close_with(Some(CLOSE_RECONNECTING)).await;
    wait_away(&server, "bob", 1).await;
    alice.expect_nothing_pending().await;
    alice.signal(&call_id, offer("meanwhile")).await;
    alice.expect_nothing_pending().await;

    let (mut bob, resumed) = server.login_resume("bob", resume).await;
    assert!(resumed);
    assert_eq!(
        bob.recv().await,
        ServerMsg::Signal {
            call_id,
            signal: offer("meanwhile")
        }
    );
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn audio_interrupted_while_the_other_party_is_away_ends_the_call_at_once() {
    let server = server_with_grace(30).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    let resume = bob.resume();
    bob.drop_unclean();
    wait_away(&server, "bob", 1).await;
    // Bob's network is gone, and with it the audio: alice's report settles it.
    alice
        .send(&ClientMsg::MediaInterrupted {
            call_id: call_id.clone(),
        })
        .await;
    let lost = Outcome::ConnectionLost { user: "bob".into() };
    assert_eq!(alice.expect_ended(&call_id).await, lost);
    // Bob's device still waits, and hears it when he is back.
    let (mut bob, resumed) = server.login_resume("bob", resume).await;
    assert!(resumed);
    assert_eq!(bob.expect_ended(&call_id).await, lost);
    bob.expect_nothing_pending().await;
}
