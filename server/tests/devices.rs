//! One user on several devices, over real sockets: every device rings, the first accept wins,
//! a reject or a cancel or the timeout reaches every device, a user in a call is busy for
//! everyone and their other devices know it, the device cap, and an invitation that waits for
//! an offline callee or for a callee whose devices dropped.

mod common;

use std::time::Duration;

use common::*;
use webcall_protocol::{CallType, ClientMsg, ErrorCode, Outcome, ServerMsg};

fn accepted(call_id: &str) -> ServerMsg {
    ServerMsg::Accepted {
        call_id: call_id.into(),
    }
}

fn answered_elsewhere(call_id: &str) -> ServerMsg {
    ServerMsg::AnsweredElsewhere {
        call_id: call_id.into(),
    }
}

fn ended(call_id: &str, outcome: Outcome) -> ServerMsg {
    ServerMsg::CallEnded {
        call_id: call_id.into(),
        outcome,
    }
}

/// Alice calls bob, who is on `devices`; every one of them rings. Returns the call's ID.
async fn ring_all(alice: &mut Client, devices: &mut [Client]) -> String {
    let callee = devices[0].user.clone();
    alice
        .send(&ClientMsg::Invite {
            req: 1,
            callee: callee.clone(),
            call_type: CallType::Audio,
            timeout_secs: None,
        })
        .await;
    let call_id = match alice.recv().await {
        ServerMsg::CallCreated {
            req: 1,
            call_id,
            callee: got,
            ringing,
        } if got == callee && ringing as usize == devices.len() => call_id,
        other => panic!(
            "expected CallCreated ringing {}, got {other:?}",
            devices.len()
        ),
    };
    for device in devices.iter_mut() {
        let (invited, _) = device.expect_invited("alice").await;
        assert_eq!(invited, call_id);
    }
    call_id
}

#[tokio::test]
async fn every_device_rings_and_the_first_accept_wins() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bobs = vec![
        server.login("bob").await,
        server.login("bob").await,
        server.login("bob").await,
    ];
    assert_eq!(server.state.hub().devices("bob"), 3);
    let call_id = ring_all(&mut alice, &mut bobs).await;

    // Two devices accept at once: the hub's order decides, and exactly one gets the call.
    let [b0, b1, b2] = &mut bobs[..] else {
        unreachable!()
    };
    let accept = ClientMsg::Accept {
        call_id: call_id.clone(),
    };
    tokio::join!(b0.send(&accept), b1.send(&accept));
    let (first, second) = tokio::join!(b0.recv(), b1.recv());
    let (winner, loser) = match (&first, &second) {
        (ServerMsg::Accepted { .. }, ServerMsg::AnsweredElsewhere { .. }) => (b0, b1),
        (ServerMsg::AnsweredElsewhere { .. }, ServerMsg::Accepted { .. }) => (b1, b0),
        other => panic!("expected one Accepted and one AnsweredElsewhere, got {other:?}"),
    };
    assert_eq!(alice.recv().await, accepted(&call_id));
    b2.expect(answered_elsewhere(&call_id)).await;
    // The loser's accept crossed the winner's; it is refused clearly.
    let message = loser.expect_error(ErrorCode::WrongState, None).await;
    assert_eq!(message, "the call was answered on another device");

    // A double click on the winner is harmless.
    let message = winner.refused(accept.clone(), ErrorCode::WrongState).await;
    assert_eq!(message, "you have already accepted this call");

    // The call is the winner's: signals go between alice and it only.
    let signal = webcall_protocol::Signal::Answer { sdp: "v=0".into() };
    winner.signal(&call_id, signal.clone()).await;
    alice
        .expect(ServerMsg::Signal {
            call_id: call_id.clone(),
            signal,
        })
        .await;
    loser
        .refused(
            ClientMsg::Hangup {
                call_id: call_id.clone(),
                failure: None,
            },
            ErrorCode::WrongState,
        )
        .await;

    // The hang-up reaches every device of both.
    winner
        .send(&ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        })
        .await;
    let outcome = alice.expect_ended(&call_id).await;
    assert!(matches!(&outcome, Outcome::HungUp { by, .. } if by == "bob"));
    for device in [winner, loser, b2] {
        device.expect(ended(&call_id, outcome.clone())).await;
        device.expect_nothing_pending().await;
    }
    // A hang-up after the end is answered clearly.
    let message = alice
        .refused(
            ClientMsg::Hangup {
                call_id: call_id.clone(),
                failure: None,
            },
            ErrorCode::NoSuchCall,
        )
        .await;
    assert_eq!(message, "the call has already ended: it was hung up");
}

#[tokio::test]
async fn a_reject_on_any_device_rejects_for_all() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bobs = vec![server.login("bob").await, server.login("bob").await];
    let call_id = ring_all(&mut alice, &mut bobs).await;
    bobs[1]
        .send(&ClientMsg::Reject {
            call_id: call_id.clone(),
        })
        .await;
    alice.expect(ended(&call_id, Outcome::Rejected)).await;
    for bob in &mut bobs {
        bob.expect(ended(&call_id, Outcome::Rejected)).await;
    }
    // A second reject, from the other device, is told the call is over.
    let message = bobs[0]
        .refused(ClientMsg::Reject { call_id }, ErrorCode::NoSuchCall)
        .await;
    assert_eq!(message, "the call has already ended: it was rejected");
}

#[tokio::test]
async fn cancel_and_timeout_stop_every_device() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bobs = vec![server.login("bob").await, server.login("bob").await];

    let call_id = ring_all(&mut alice, &mut bobs).await;
    alice
        .send(&ClientMsg::Cancel {
            call_id: call_id.clone(),
        })
        .await;
    let cancelled = Outcome::Cancelled {
        disconnected: false,
    };
    alice.expect(ended(&call_id, cancelled.clone())).await;
    for bob in &mut bobs {
        bob.expect(ended(&call_id, cancelled.clone())).await;
    }

    alice
        .send(&ClientMsg::Invite {
            req: 2,
            callee: "bob".into(),
            call_type: CallType::Audio,
            timeout_secs: Some(1),
        })
        .await;
    let ServerMsg::CallCreated { call_id, .. } = alice.recv().await else {
        panic!("expected CallCreated");
    };
    for bob in &mut bobs {
        let (invited, timeout_secs) = bob.expect_invited("alice").await;
        assert_eq!((invited.as_str(), timeout_secs), (call_id.as_str(), 1));
    }
    let no_answer = Outcome::NoAnswer { offline: false };
    alice.expect(ended(&call_id, no_answer.clone())).await;
    for bob in &mut bobs {
        bob.expect(ended(&call_id, no_answer.clone())).await;
    }
}

#[tokio::test]
async fn a_user_in_a_call_is_busy_for_everyone_and_their_other_devices_know() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bobs = vec![server.login("bob").await, server.login("bob").await];
    let mut carol = server.login("carol").await;

    let call_id = ring_all(&mut alice, &mut bobs).await;
    let mut bob_phone = bobs.pop().expect("two devices");
    let mut bob = bobs.pop().expect("two devices");
    bob.accept(&call_id).await;
    alice.expect(accepted(&call_id)).await;
    bob.expect(accepted(&call_id)).await;
    bob_phone.expect(answered_elsewhere(&call_id)).await;

    // Carol hears busy at once; the call is undisturbed.
    let carols = carol.invite("bob").await;
    assert_eq!(carol.expect_ended(&carols).await, Outcome::Busy);
    bob.expect_nothing_pending().await;
    bob_phone.expect_nothing_pending().await;
    alice.expect_nothing_pending().await;

    // Bob's other device can not place a call meanwhile.
    let message = bob_phone
        .refused(
            ClientMsg::Invite {
                req: 9,
                callee: "carol".into(),
                call_type: CallType::Audio,
                timeout_secs: None,
            },
            ErrorCode::AlreadyInCall,
        )
        .await;
    assert_eq!(message, "you are in a call on another device");

    // A device that logs in now is told where the call is; so is alice's.
    let mut bob_tablet = server.login("bob").await;
    bob_tablet
        .expect(ServerMsg::CallElsewhere {
            call_id: call_id.clone(),
            peer: "alice".into(),
        })
        .await;
    let mut alice_laptop = server.login("alice").await;
    alice_laptop
        .expect(ServerMsg::CallElsewhere {
            call_id: call_id.clone(),
            peer: "bob".into(),
        })
        .await;

    // Their call's end reaches them all, and bob can take carol's call on any device.
    alice
        .send(&ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        })
        .await;
    for device in [
        &mut alice,
        &mut alice_laptop,
        &mut bob,
        &mut bob_phone,
        &mut bob_tablet,
    ] {
        assert!(matches!(
            device.expect_ended(&call_id).await,
            Outcome::HungUp { .. }
        ));
    }
    let carols = carol.invite("bob").await;
    for device in [&mut bob, &mut bob_phone, &mut bob_tablet] {
        let (invited, _) = device.expect_invited("carol").await;
        assert_eq!(invited, carols);
    }
}

#[tokio::test]
async fn a_caller_on_several_devices_dials_from_one() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut alice_phone = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    alice_phone
        .expect(ServerMsg::CallElsewhere {
            call_id: call_id.clone(),
            peer: "bob".into(),
        })
        .await;
    // Only the dialling device may cancel.
    let message = alice_phone
        .refused(
            ClientMsg::Cancel {
                call_id: call_id.clone(),
            },
            ErrorCode::WrongState,
        )
        .await;
    assert_eq!(message, "the call is on another of your devices");
    bob.send(&ClientMsg::Reject {
        call_id: call_id.clone(),
    })
    .await;
    for device in [&mut alice, &mut alice_phone, &mut bob] {
        assert_eq!(device.expect_ended(&call_id).await, Outcome::Rejected);
    }
}

#[tokio::test]
async fn logins_beyond_the_device_cap_are_refused() {
    let server = TestServer::start_with(|c| c.max_devices = 2).await;
    let _one = server.login("bob").await;
    let _two = server.login("bob").await;
    let mut three = server.send_login("bob").await;
    let message = three.expect_error(ErrorCode::TooManyDevices, None).await;
    assert_eq!(
        message,
        "you are logged in on too many devices (at most 2); log out on one first"
    );
    three.expect_close(1008).await;
    assert_eq!(server.state.hub().devices("bob"), 2);
    // Other users are not affected.
    server.login("carol").await;
}

#[tokio::test]
async fn an_offline_callee_who_logs_in_during_the_ring_lifetime_can_accept() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice
        .send(&ClientMsg::Invite {
            req: 1,
            callee: "bob".into(),
            call_type: CallType::Audio,
            timeout_secs: Some(20),
        })
        .await;
    let call_id = match alice.recv().await {
        ServerMsg::CallCreated {
            call_id,
            ringing: 0,
            ..
        } => call_id,
        other => panic!("expected CallCreated ringing nobody, got {other:?}"),
    };
    let offer = webcall_protocol::Signal::Offer { sdp: "v=0".into() };
    alice.signal(&call_id, offer.clone()).await;

    let mut bob = server.login("bob").await;
    let (invited, timeout_secs) = bob.expect_invited("alice").await;
    assert_eq!(invited, call_id);
    assert!((19..=20).contains(&timeout_secs), "{timeout_secs}");
    alice
        .expect(ServerMsg::Ringing {
            call_id: call_id.clone(),
            devices: 1,
        })
        .await;
    bob.accept(&call_id).await;
    alice.expect(accepted(&call_id)).await;
    bob.expect(accepted(&call_id)).await;
    bob.expect(ServerMsg::Signal {
        call_id,
        signal: offer,
    })
    .await;
}

#[tokio::test]
async fn a_callee_whose_devices_drop_is_rung_again_when_one_returns() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bobs = vec![server.login("bob").await, server.login("bob").await];
    let call_id = ring_all(&mut alice, &mut bobs).await;
    let ringing = |devices| ServerMsg::Ringing {
        call_id: call_id.clone(),
        devices,
    };
    // Each device that drops stops counting; the invitation outlives the last one.
    bobs.pop();
    alice.expect(ringing(1)).await;
    bobs.pop();
    alice.expect(ringing(0)).await;
    server.wait_offline("bob").await;
    assert_eq!(server.state.hub().calls(), 1);

    let mut bob = server.login("bob").await;
    let (invited, _) = bob.expect_invited("alice").await;
    assert_eq!(invited, call_id);
    alice.expect(ringing(1)).await;
    bob.accept(&call_id).await;
    alice.expect(accepted(&call_id)).await;
}

/// A caller whose connection dies without a close (a network gone) cancels the call for the
/// callee once the heartbeat finds it silent: within the idle timeout, 12 s. On paused time, so
/// the test does not wait for real.
#[tokio::test(start_paused = true)]
async fn a_silent_caller_cancels_within_the_heartbeat_window() {
    let server = TestServer::start_with(|c| c.login_timeout_secs = 600).await;
    let long = Duration::from_secs(120);
    let mut alice = server.login_patient("alice", long).await;
    let mut bob = server.login_patient("bob", long).await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;

    // Alice's client stops: it no longer reads, so it answers no ping. Bob keeps reading.
    let silent_since = tokio::time::Instant::now();
    let outcome = bob.expect_ended(&call_id).await;
    let took = silent_since.elapsed();
    assert_eq!(outcome, Outcome::Cancelled { disconnected: true });
    assert!(took <= Duration::from_secs(15), "took {took:?}");
    assert!(took >= Duration::from_secs(11), "took {took:?}");
    drop(alice);
}
