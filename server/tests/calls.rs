//! Calls over real sockets: accept with held signals, reject, cancel, busy, ring timeout,
//! hang-up, refusals and disconnects.

mod common;

use std::time::Duration;

use common::*;
use webcall_protocol::{CallType, ClientMsg, ErrorCode, Outcome, ServerMsg, Signal};

fn offer() -> Signal {
    Signal::Offer {
        sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".into(),
    }
}

fn ice(n: u16) -> Signal {
    Signal::Ice {
        candidate: format!("candidate:{n} 1 udp 2122260223 127.0.0.1 5000{n} typ host"),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    }
}

#[tokio::test]
async fn accept_delivers_held_offer_and_ice_in_order_and_relays_the_answer() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;

    let call_id = alice.invite("bob").await;
    let (invited, timeout_secs) = bob.expect_invited("alice").await;
    assert_eq!(invited, call_id);
    assert_eq!(timeout_secs, 30);
    // Alice sends her offer and candidates at once; bob hears nothing yet.
    for signal in [offer(), ice(1), ice(2)] {
        alice.signal(&call_id, signal).await;
    }
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;

    bob.accept(&call_id).await;
    let accepted = ServerMsg::Accepted {
        call_id: call_id.clone(),
    };
    assert_eq!(alice.recv().await, accepted);
    assert_eq!(bob.recv().await, accepted);
    for signal in [offer(), ice(1), ice(2)] {
        assert_eq!(
            bob.recv().await,
            ServerMsg::Signal {
                call_id: call_id.clone(),
                signal
            }
        );
    }

    let answer = Signal::Answer {
        sdp: "v=0 answer".into(),
    };
    bob.signal(&call_id, answer.clone()).await;
    bob.signal(&call_id, ice(7)).await;
    assert_eq!(
        alice.recv().await,
        ServerMsg::Signal {
            call_id: call_id.clone(),
            signal: answer
        }
    );
    assert_eq!(
        alice.recv().await,
        ServerMsg::Signal {
            call_id: call_id.clone(),
            signal: ice(7)
        }
    );
    // And alice's later candidates go straight through.
    alice.signal(&call_id, ice(3)).await;
    assert_eq!(
        bob.recv().await,
        ServerMsg::Signal {
            call_id,
            signal: ice(3)
        }
    );
}

#[tokio::test]
async fn reject_ends_the_call_for_both() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    bob.send(&ClientMsg::Reject {
        call_id: call_id.clone(),
    })
    .await;
    assert_eq!(alice.expect_ended(&call_id).await, Outcome::Rejected);
    assert_eq!(bob.expect_ended(&call_id).await, Outcome::Rejected);
    // A late accept is harmless.
    bob.accept(&call_id).await;
    bob.expect_error(ErrorCode::NoSuchCall, None).await;
}

#[tokio::test]
async fn cancel_ends_the_call_for_both() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    alice
        .send(&ClientMsg::Cancel {
            call_id: call_id.clone(),
        })
        .await;
    assert_eq!(
        alice.expect_ended(&call_id).await,
        Outcome::Cancelled {
            disconnected: false
        }
    );
    assert_eq!(
        bob.expect_ended(&call_id).await,
        Outcome::Cancelled {
            disconnected: false
        }
    );
    // A duplicate cancel is harmless.
    alice.send(&ClientMsg::Cancel { call_id }).await;
    alice.expect_error(ErrorCode::NoSuchCall, None).await;
}

#[tokio::test]
async fn hangup_while_ringing_means_cancel_or_reject() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    for (caller_hangs_up, outcome) in [
        (
            true,
            Outcome::Cancelled {
                disconnected: false,
            },
        ),
        (false, Outcome::Rejected),
    ] {
        let call_id = alice.invite("bob").await;
        bob.expect_invited("alice").await;
        let who = if caller_hangs_up {
            &mut alice
        } else {
            &mut bob
        };
        who.send(&ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        })
        .await;
        assert_eq!(alice.expect_ended(&call_id).await, outcome);
        assert_eq!(bob.expect_ended(&call_id).await, outcome);
    }
}

#[tokio::test]
async fn hangup_by_either_side_reports_who_and_how_long() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    for by_caller in [true, false] {
        let call_id = connect_call(&mut alice, &mut bob).await;
        let (who, name) = if by_caller {
            (&mut alice, "alice")
        } else {
            (&mut bob, "bob")
        };
        who.send(&ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        })
        .await;
        let outcome = alice.expect_ended(&call_id).await;
        assert_eq!(bob.expect_ended(&call_id).await, outcome);
        match outcome {
            Outcome::HungUp { by, duration_secs } => {
                assert_eq!(by, name);
                assert!(duration_secs < 5, "{duration_secs}");
            }
            other => panic!("expected HungUp, got {other:?}"),
        }
        // A second hang-up finds no call.
        bob.send(&ClientMsg::Hangup {
            call_id,
            failure: None,
        })
        .await;
        bob.expect_error(ErrorCode::NoSuchCall, None).await;
    }
}

#[tokio::test]
async fn busy_when_the_callee_is_in_a_call() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let first = connect_call(&mut alice, &mut bob).await;

    let call_id = carol.invite("bob").await;
    assert_ne!(call_id, first);
    assert_eq!(carol.expect_ended(&call_id).await, Outcome::Busy);
    // The first call is undisturbed: nothing reached alice or bob, and it still relays.
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
    alice.signal(&first, ice(1)).await;
    assert_eq!(
        bob.recv().await,
        ServerMsg::Signal {
            call_id: first,
            signal: ice(1)
        }
    );
}

#[tokio::test]
async fn busy_when_the_callee_is_ringing_for_another_call() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;
    let first = alice.invite("bob").await;
    bob.expect_invited("alice").await;

    // Bob rings for alice: carol gets Busy, whether she calls bob or alice.
    for callee in ["bob", "alice"] {
        let call_id = carol.invite(callee).await;
        assert_eq!(carol.expect_ended(&call_id).await, Outcome::Busy);
    }
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;

    // The first call goes on.
    bob.accept(&first).await;
    let accepted = ServerMsg::Accepted { call_id: first };
    assert_eq!(alice.recv().await, accepted);
    assert_eq!(bob.recv().await, accepted);
}

#[tokio::test]
async fn ring_timeout_ends_the_call_with_no_answer() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let started = std::time::Instant::now();
    let call_id = alice.invite_with("bob", Some(1)).await;
    let (_, timeout_secs) = bob.expect_invited("alice").await;
    assert_eq!(timeout_secs, 1);
    assert_eq!(
        alice.expect_ended(&call_id).await,
        Outcome::NoAnswer { offline: false }
    );
    assert_eq!(
        bob.expect_ended(&call_id).await,
        Outcome::NoAnswer { offline: false }
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    // Too late to accept: the answer says the call is over, and how.
    bob.accept(&call_id).await;
    let message = bob.expect_error(ErrorCode::NoSuchCall, None).await;
    assert_eq!(message, "the call has already ended: nobody answered");
}

/// The server's default ring timeout on paused tokio time: the clock jumps ahead whenever
/// everything waits, so the 30 seconds pass at once. Deadlines here are longer than the ring
/// timeout so that they cannot fire first.
#[tokio::test(start_paused = true)]
async fn ring_timeout_on_paused_time() {
    // The clients wait on one another here, so the heartbeat must not count them as gone.
    let server = TestServer::start_with(|c| {
        c.login_timeout_secs = 600;
        c.idle_timeout_secs = 600;
    })
    .await;
    let long = Duration::from_secs(300);
    let mut alice = server.login_patient("alice", long).await;
    let mut bob = server.login_patient("bob", long).await;
    let call_id = alice.invite("bob").await;
    let (_, timeout_secs) = bob.expect_invited("alice").await;
    assert_eq!(timeout_secs, 30);
    let rang_at = tokio::time::Instant::now();
    assert_eq!(
        alice.expect_ended(&call_id).await,
        Outcome::NoAnswer { offline: false }
    );
    let rang_for = rang_at.elapsed();
    assert!(
        rang_for >= Duration::from_secs(29) && rang_for <= Duration::from_secs(31),
        "{rang_for:?}"
    );
    assert_eq!(
        bob.expect_ended(&call_id).await,
        Outcome::NoAnswer { offline: false }
    );
}

#[tokio::test]
async fn signals_for_foreign_or_unknown_calls_are_refused() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut mallory = server.login("mallory").await;
    let call_id = connect_call(&mut alice, &mut bob).await;

    mallory.signal(&call_id, offer()).await;
    mallory.expect_error(ErrorCode::NoSuchCall, None).await;
    mallory
        .send(&ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        })
        .await;
    mallory.expect_error(ErrorCode::NoSuchCall, None).await;
    mallory
        .signal("0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d", offer())
        .await;
    mallory.expect_error(ErrorCode::NoSuchCall, None).await;
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn callee_signals_before_accepting_are_wrong_state() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    bob.signal(&call_id, ice(1)).await;
    bob.expect_error(ErrorCode::WrongState, None).await;
    alice.send(&ClientMsg::Accept { call_id }).await;
    alice.expect_error(ErrorCode::WrongState, None).await;
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn invite_refusals_carry_the_request_number() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let invite = |req, callee: &str, call_type| ClientMsg::Invite {
        req,
        callee: callee.into(),
        call_type,
        timeout_secs: None,
    };
    alice.send(&invite(7, "alice", CallType::Audio)).await;
    alice.expect_error(ErrorCode::CallSelf, Some(7)).await;
    for (req, callee) in [(8, "bob smith"), (9, ""), (10, &"x".repeat(33))] {
        alice.send(&invite(req, callee, CallType::Audio)).await;
        alice.expect_error(ErrorCode::BadUserId, Some(req)).await;
    }
    alice.send(&invite(11, "bob", CallType::Video)).await;
    alice.expect_error(ErrorCode::Unsupported, Some(11)).await;
    bob.expect_nothing_pending().await;

    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    alice.send(&invite(12, "carol", CallType::Audio)).await;
    alice.expect_error(ErrorCode::AlreadyInCall, Some(12)).await;
    bob.send(&invite(13, "carol", CallType::Audio)).await;
    bob.expect_error(ErrorCode::AlreadyInCall, Some(13)).await;
    // The call still rings.
    bob.accept(&call_id).await;
    assert_eq!(alice.recv().await, ServerMsg::Accepted { call_id });
}

#[tokio::test]
async fn an_offline_callee_who_never_comes_is_no_answer_offline() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice
        .send(&ClientMsg::Invite {
            req: 1,
            callee: "nobody".into(),
            call_type: CallType::Audio,
            timeout_secs: Some(1),
        })
        .await;
    let call_id = match alice.recv().await {
        ServerMsg::CallCreated {
            req: 1,
            call_id,
            ringing: 0,
            ..
        } => call_id,
        other => panic!("expected CallCreated ringing nobody, got {other:?}"),
    };
    assert_eq!(
        alice.expect_ended(&call_id).await,
        Outcome::NoAnswer { offline: true }
    );
    alice.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_disconnect_during_a_call_ends_it_for_the_other_party() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    drop(bob);
    assert_eq!(
        alice.expect_ended(&call_id).await,
        Outcome::ConnectionLost { user: "bob".into() }
    );
    server.wait_offline("bob").await;
    // Alice is free again.
    let mut carol = server.login("carol").await;
    connect_call(&mut alice, &mut carol).await;
}

#[tokio::test]
async fn a_clean_close_during_a_call_ends_it_too() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    within(alice.ws.close(None)).await.expect("close");
    assert_eq!(
        bob.expect_ended(&call_id).await,
        Outcome::ConnectionLost {
            user: "alice".into()
        }
    );
}

#[tokio::test]
async fn ringing_parties_that_disconnect() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;

    // The caller goes: the callee hears Cancelled, because the caller's connection dropped.
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    drop(alice);
    assert_eq!(
        bob.expect_ended(&call_id).await,
        Outcome::Cancelled { disconnected: true }
    );
    server.wait_offline("alice").await;

    // The callee goes: the invitation waits, and the caller hears nobody rings.
    let mut alice = server.login("alice").await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    drop(bob);
    assert_eq!(
        alice.recv().await,
        ServerMsg::Ringing {
            call_id,
            devices: 0
        }
    );
}

/// The media limit on paused time: an accepted call whose audio never connects fails for both
/// after the connect timeout.
#[tokio::test(start_paused = true)]
async fn audio_that_does_not_connect_in_time_fails_the_call() {
    let server = TestServer::start_with(|c| {
        c.login_timeout_secs = 600;
        c.idle_timeout_secs = 600;
        c.connect_timeout_secs = 5;
    })
    .await;
    let long = Duration::from_secs(60);
    let mut alice = server.login_patient("alice", long).await;
    let mut bob = server.login_patient("bob", long).await;

    let call_id = connect_call(&mut alice, &mut bob).await;
    let since = tokio::time::Instant::now();
    let failed = Outcome::Failed {
        message: "the audio did not connect within 5 s".into(),
    };
    assert_eq!(alice.expect_ended(&call_id).await, failed);
    assert_eq!(bob.expect_ended(&call_id).await, failed);
    let took = since.elapsed();
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(6),
        "{took:?}"
    );
    // (That reported audio lifts the limit is shown by the hub's own tests, on paused time
    // without sockets.)
}

#[tokio::test]
async fn a_hangup_with_a_failure_ends_the_call_as_failed() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    bob.send(&ClientMsg::Hangup {
        call_id: call_id.clone(),
        failure: Some(format!("the audio connection failed{}", "!".repeat(500))),
    })
    .await;
    let outcome = alice.expect_ended(&call_id).await;
    assert_eq!(bob.expect_ended(&call_id).await, outcome);
    let Outcome::Failed { message } = outcome else {
        panic!("expected Failed, got {outcome:?}");
    };
    assert!(
        message.starts_with("bob: the audio connection failed!"),
        "{message}"
    );
    assert!(
        message.len() <= 5 + webcall_protocol::MAX_FAILURE_LEN,
        "{message}"
    );
}

/// A user who is not a party learns nothing about a call from its ID: every action on a real
/// call (ringing, active or ended) is answered exactly as one on a made-up ID, and nothing
/// reaches the parties.
#[tokio::test]
async fn a_stranger_can_not_tell_a_real_call_from_a_made_up_one() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut mallory = server.login("mallory").await;
    let made_up = "0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d".to_string();

    async fn answers(mallory: &mut Client, call_id: &str) -> Vec<String> {
        let call_id = call_id.to_string();
        let mut got = Vec::new();
        for msg in [
            ClientMsg::Accept {
                call_id: call_id.clone(),
            },
            ClientMsg::Reject {
                call_id: call_id.clone(),
            },
            ClientMsg::Cancel {
                call_id: call_id.clone(),
            },
            ClientMsg::Hangup {
                call_id: call_id.clone(),
                failure: None,
            },
            ClientMsg::MediaConnected {
                call_id: call_id.clone(),
            },
            ClientMsg::Signal {
                call_id: call_id.clone(),
                signal: offer(),
            },
        ] {
            got.push(mallory.refused(msg, ErrorCode::NoSuchCall).await);
        }
        got
    }

    let expected = answers(&mut mallory, &made_up).await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    assert_eq!(answers(&mut mallory, &call_id).await, expected, "ringing");
    bob.accept(&call_id).await;
    assert_eq!(
        alice.recv().await,
        ServerMsg::Accepted {
            call_id: call_id.clone()
        }
    );
    assert_eq!(
        bob.recv().await,
        ServerMsg::Accepted {
            call_id: call_id.clone()
        }
    );
    assert_eq!(answers(&mut mallory, &call_id).await, expected, "active");
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
    alice
        .send(&ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        })
        .await;
    alice.expect_ended(&call_id).await;
    bob.expect_ended(&call_id).await;
    assert_eq!(answers(&mut mallory, &call_id).await, expected, "ended");
}
