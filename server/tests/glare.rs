//! Glare over real sockets: two users who call each other at the same time end up in one call.
//! The rule: the call placed first stands, and the other `Invite` answers it: its sender gets
//! `CallMerged` and takes the callee's side, receiving the first caller's held offer.

mod common;

use common::*;
use webcall_protocol::{CallType, ClientMsg, ErrorCode, ServerMsg, Signal};

fn invite(req: u32, callee: &str) -> ClientMsg {
    ClientMsg::Invite {
        req,
        callee: callee.into(),
        call_type: CallType::Audio,
        timeout_secs: None,
    }
}

#[tokio::test]
async fn a_call_back_while_ringing_merges_into_the_first_call() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut bob_phone = server.login("bob").await;

    let call_id = alice.invite("bob").await;
    let offer = Signal::Offer { sdp: "v=0".into() };
    alice.signal(&call_id, offer.clone()).await;
    bob.expect_invited("alice").await;
    bob_phone.expect_invited("alice").await;

    // Bob calls alice back before answering: one call, alice's, accepted with bob as callee.
    bob.send(&invite(7, "alice")).await;
    bob.expect(ServerMsg::CallMerged {
        req: 7,
        call_id: call_id.clone(),
        caller: "alice".into(),
    })
    .await;
    bob.expect(ServerMsg::Signal {
        call_id: call_id.clone(),
        signal: offer,
    })
    .await;
    alice
        .expect(ServerMsg::Accepted {
            call_id: call_id.clone(),
        })
        .await;
    bob_phone
        .expect(ServerMsg::AnsweredElsewhere {
            call_id: call_id.clone(),
        })
        .await;
    assert_eq!(server.state.hub().calls(), 1);

    // It is a normal call from here on.
    let answer = Signal::Answer { sdp: "v=0".into() };
    bob.signal(&call_id, answer.clone()).await;
    alice
        .expect(ServerMsg::Signal {
            call_id: call_id.clone(),
            signal: answer,
        })
        .await;
}

#[tokio::test]
async fn simultaneous_invites_end_in_exactly_one_call() {
    for _ in 0..20 {
        let server = TestServer::start().await;
        let mut alice = server.login("alice").await;
        let mut bob = server.login("bob").await;
        let (a, b) = (invite(1, "bob"), invite(1, "alice"));
        tokio::join!(alice.send(&a), bob.send(&b));

        // Whoever reached the server first placed the call; the other joined it.
        let (first, second) = tokio::join!(alice.recv(), bob.recv());
        let (call_id, placer, joiner) = match (first, second) {
            (ServerMsg::CallCreated { call_id, .. }, _) => (call_id, &mut alice, &mut bob),
            (_, ServerMsg::CallCreated { call_id, .. }) => (call_id, &mut bob, &mut alice),
            other => panic!("expected one CallCreated, got {other:?}"),
        };
        // The joiner was invited just before its own Invite arrived, then merged.
        let placer_name = placer.user.clone();
        joiner
            .expect(ServerMsg::CallMerged {
                req: 1,
                call_id: call_id.clone(),
                caller: placer_name,
            })
            .await;
        placer
            .expect(ServerMsg::Accepted {
                call_id: call_id.clone(),
            })
            .await;
        assert_eq!(server.state.hub().calls(), 1);
        placer.expect_nothing_pending().await;
        joiner.expect_nothing_pending().await;
    }
}

#[tokio::test]
async fn calling_someone_else_while_ringing_is_refused_and_the_ringing_call_stands() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    let message = bob
        .refused(invite(3, "carol"), ErrorCode::AlreadyInCall)
        .await;
    assert_eq!(
        message,
        "you have an incoming call: answer or reject it first"
    );
    carol.expect_nothing_pending().await;
    alice.expect_nothing_pending().await;
    bob.accept(&call_id).await;
    alice
        .expect(ServerMsg::Accepted {
            call_id: call_id.clone(),
        })
        .await;
}

#[tokio::test]
async fn the_caller_calling_again_is_refused() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.invite("bob").await;
    bob.expect_invited("alice").await;
    // A double click on "Call": the first call stands.
    let message = alice
        .refused(invite(2, "bob"), ErrorCode::AlreadyInCall)
        .await;
    assert_eq!(message, "you already have a call going");
    bob.expect_nothing_pending().await;
}
