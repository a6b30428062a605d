//! Calls that outlive the server: a server that shuts down closes every socket with 1012, and
//! the clients log in to the next one claiming their calls, which it restores when the claims
//! agree. Claims that disagree, or that come for a call that ended or for a party in another
//! call, are refused; a party that never claims its call ends it after the restore window.

mod common;

use common::*;
use webcall_protocol::{CallClaim, ClaimPhase, ClientMsg, Outcome, Resume, ServerMsg, Signal};

/// `client`'s resume of its session, claiming `call_id` with `peer`.
fn claiming(client: &Client, call_id: &str, peer: &str, caller: bool, phase: ClaimPhase) -> Resume {
    Resume {
        call: Some(CallClaim {
            call_id: call_id.into(),
            peer: peer.into(),
            caller,
            phase,
        }),
        ..client.resume()
    }
}

/// A claim on a server that never heard of the client: no session.
fn fresh_claim(call_id: &str, peer: &str, caller: bool, phase: ClaimPhase) -> Resume {
    Resume {
        session: String::new(),
        seq: 0,
        call: Some(CallClaim {
            call_id: call_id.into(),
            peer: peer.into(),
            caller,
            phase,
        }),
    }
}

/// A server whose restored calls wait `window` seconds for their other party.
async fn server_with_window(window: u32) -> TestServer {
    TestServer::start_with(|c| c.restore_window_secs = window).await
}

const ACCEPTED: ClaimPhase = ClaimPhase::Accepted {
    secs: 3,
    connected: true,
};

fn offer(sdp: &str) -> Signal {
    Signal::Offer { sdp: sdp.into() }
}

fn new_call_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn refused(message: &str) -> Outcome {
    Outcome::Failed {
        message: message.into(),
    }
}

/// Logs `user` in on `server` with `resume`, which starts a new session there.
async fn login_claiming(server: &TestServer, user: &str, resume: Resume) -> Client {
    let (client, resumed) = server.login_resume(user, resume).await;
    assert!(
        !resumed,
        "{user}: resumed a session on a server that never saw it"
    );
    client
}

/// Shuts `server` down; `clients` are closed with 1012.
async fn restart(server: TestServer, clients: &mut [&mut Client]) {
    let stopped = tokio::spawn(server.shutdown());
    for client in clients.iter_mut() {
        assert_eq!(client.expect_close(1012).await, "server restarting");
    }
    within(stopped)
        .await
        .expect("shutdown task")
        .expect("run returned an error");
}

#[tokio::test]
async fn an_accepted_call_is_restored_on_the_next_server() {
    let a = TestServer::start().await;
    let mut alice = a.login("alice").await;
    let mut bob = a.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    // Neither side hears the call end: the shutdown leaves it to the next server.
    restart(a, &mut [&mut alice, &mut bob]).await;

    let b = TestServer::start().await;
    let resume = claiming(&alice, &call_id, "bob", true, ACCEPTED);
    let mut alice = login_claiming(&b, "alice", resume).await;
    let resume = claiming(&bob, &call_id, "alice", false, ACCEPTED);
    let mut bob = login_claiming(&b, "bob", resume).await;
    // Its accept may not have been answered before the old server went.
    bob.expect(ServerMsg::Accepted {
        call_id: call_id.clone(),
    })
    .await;
    let hub = b.state.hub();
    assert_eq!((hub.calls(), hub.busy_users()), (1, 2));
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;

    // Signals flow, and the call ends as calls do, with its duration reaching back.
    alice.signal(&call_id, offer("ice restart")).await;
    bob.expect(ServerMsg::Signal {
        call_id: call_id.clone(),
        signal: offer("ice restart"),
    })
    .await;
    alice
        .send(&ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        })
        .await;
    for client in [&mut alice, &mut bob] {
        match client.expect_ended(&call_id).await {
            Outcome::HungUp { by, duration_secs } => {
                assert_eq!(by, "alice");
                assert!(duration_secs >= 3, "{duration_secs}");
            }
            other => panic!("expected HungUp, got {other:?}"),
        }
        client.expect_nothing_pending().await;
    }
    assert_eq!(hub.calls(), 0);
}

#[tokio::test]
async fn a_ringing_call_is_restored_and_answered_on_the_next_server() {
    let a = TestServer::start().await;
    let mut alice = a.login("alice").await;
    let mut bob = a.login("bob").await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    restart(a, &mut [&mut alice, &mut bob]).await;

    let b = TestServer::start().await;
    let ringing = ClaimPhase::Ringing { secs_left: 25 };
    let resume = claiming(&alice, &call_id, "bob", true, ringing.clone());
    let mut alice = login_claiming(&b, "alice", resume).await;
    let devices = |devices| ServerMsg::Ringing {
        call_id: call_id.clone(),
        devices,
    };
    alice.expect(devices(0)).await;
    let resume = claiming(&bob, &call_id, "alice", false, ringing);
    // Bob's device rings already: it is not invited again, and alice hears it rings.
    let mut bob = login_claiming(&b, "bob", resume).await;
    alice.expect(devices(1)).await;
    bob.expect_nothing_pending().await;

    bob.accept(&call_id).await;
    let accepted = ServerMsg::Accepted {
        call_id: call_id.clone(),
    };
    alice.expect(accepted.clone()).await;
    bob.expect(accepted).await;
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_restored_ringing_call_nobody_answers_ends_once_with_no_answer() {
    let b = TestServer::start().await;
    let call_id = new_call_id();
    let ringing = ClaimPhase::Ringing { secs_left: 1 };
    // The callee's claim comes first this time.
    let mut bob = login_claiming(
        &b,
        "bob",
        fresh_claim(&call_id, "alice", false, ringing.clone()),
    )
    .await;
    bob.expect_nothing_pending().await;
    let mut alice = login_claiming(&b, "alice", fresh_claim(&call_id, "bob", true, ringing)).await;
    alice
        .expect(ServerMsg::Ringing {
            call_id: call_id.clone(),
            devices: 1,
        })
        .await;
    for client in [&mut alice, &mut bob] {
        assert_eq!(
            client.expect_ended(&call_id).await,
            Outcome::NoAnswer { offline: false }
        );
        client.expect_nothing_pending().await;
    }
    assert_eq!(b.state.hub().calls(), 0);
}

#[tokio::test]
async fn claims_that_disagree_are_refused_and_the_call_ends_after_the_window() {
    let b = server_with_window(1).await;

    // Bob names another peer.
    let call_id = new_call_id();
    let mut alice = login_claiming(&b, "alice", fresh_claim(&call_id, "bob", true, ACCEPTED)).await;
    let mut bob = login_claiming(&b, "bob", fresh_claim(&call_id, "carol", false, ACCEPTED)).await;
    assert_eq!(
        bob.expect_ended(&call_id).await,
        refused("the call is not as you claim it")
    );
    let lost = Outcome::ConnectionLost { user: "bob".into() };
    assert_eq!(alice.expect_ended(&call_id).await, lost);
    // Bob's device is a device of a party too: it hears the end as well.
    assert_eq!(bob.expect_ended(&call_id).await, lost);

    // Both claim to have called. (Bob's first device, online, hears of the call as one he has
    // elsewhere.)
    let call_id = new_call_id();
    alice.close_clean().await;
    let mut alice = login_claiming(&b, "alice", fresh_claim(&call_id, "bob", true, ACCEPTED)).await;
    bob.expect(ServerMsg::CallElsewhere {
        call_id: call_id.clone(),
        peer: "alice".into(),
    })
    .await;
    let mut bob2 = login_claiming(&b, "bob", fresh_claim(&call_id, "alice", true, ACCEPTED)).await;
    assert_eq!(
        bob2.expect_ended(&call_id).await,
        refused("the call is not as you claim it")
    );
    assert_eq!(alice.expect_ended(&call_id).await, lost);
    assert_eq!(bob2.expect_ended(&call_id).await, lost);
    assert_eq!(bob.expect_ended(&call_id).await, lost);
    assert_eq!(b.state.hub().calls(), 0);
}

#[tokio::test]
async fn a_party_that_never_claims_the_call_ends_it_as_connection_lost() {
    let b = server_with_window(1).await;
    let call_id = new_call_id();
    let started = std::time::Instant::now();
    let mut bob = login_claiming(&b, "bob", fresh_claim(&call_id, "alice", false, ACCEPTED)).await;
    // Its accept may not have been answered before the old server went.
    bob.expect(ServerMsg::Accepted {
        call_id: call_id.clone(),
    })
    .await;
    assert_eq!(
        bob.expect_ended(&call_id).await,
        Outcome::ConnectionLost {
            user: "alice".into()
        }
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    bob.expect_nothing_pending().await;
    assert_eq!(b.state.hub().busy_users(), 0);
}

#[tokio::test]
async fn a_claim_of_a_call_that_ended_is_answered_with_its_end() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    alice
        .send(&ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        })
        .await;
    let outcome = alice.expect_ended(&call_id).await;
    assert!(matches!(outcome, Outcome::HungUp { .. }), "{outcome:?}");
    // Bob's socket was lost before he heard it; he comes back with his claim.
    let resume = claiming(&bob, &call_id, "alice", false, ACCEPTED);
    bob.drop_unclean();
    server.wait_offline("bob").await;
    let mut bob = login_claiming(&server, "bob", resume).await;
    assert_eq!(bob.expect_ended(&call_id).await, outcome);
    bob.expect_nothing_pending().await;
    assert_eq!(server.state.hub().calls(), 0);
}

#[tokio::test]
async fn a_claim_with_a_peer_in_another_call_is_refused() {
    let b = TestServer::start().await;
    let mut bob = b.login("bob").await;
    let mut carol = b.login("carol").await;
    let call_id = connect_call(&mut bob, &mut carol).await;

    let claimed = new_call_id();
    let mut alice = login_claiming(&b, "alice", fresh_claim(&claimed, "bob", true, ACCEPTED)).await;
    assert_eq!(
        alice.expect_ended(&claimed).await,
        refused("bob is in another call")
    );
    alice.expect_nothing_pending().await;
    bob.expect_nothing_pending().await;
    carol.expect_nothing_pending().await;
    let hub = b.state.hub();
    assert_eq!((hub.calls(), hub.busy_users()), (1, 2));
    // Bob's call is untouched.
    bob.signal(&call_id, offer("still here")).await;
    carol
        .expect(ServerMsg::Signal {
            call_id,
            signal: offer("still here"),
        })
        .await;
}

#[tokio::test]
async fn a_reject_lost_with_the_server_still_ends_the_call_as_rejected_in_either_order() {
    for callee_first in [true, false] {
        let b = TestServer::start().await;
        let call_id = new_call_id();
        let ringing = ClaimPhase::Ringing { secs_left: 20 };
        let left = ClaimPhase::Left {
            accepted: false,
            secs: 0,
        };
        let (mut alice, mut bob);
        if callee_first {
            bob = login_claiming(&b, "bob", fresh_claim(&call_id, "alice", false, left)).await;
            // The claimant hears the end it claimed, as confirmation.
            assert_eq!(bob.expect_ended(&call_id).await, Outcome::Rejected);
            alice = login_claiming(&b, "alice", fresh_claim(&call_id, "bob", true, ringing)).await;
        } else {
            alice = login_claiming(&b, "alice", fresh_claim(&call_id, "bob", true, ringing)).await;
            // No device of bob's is back yet.
            alice
                .expect(ServerMsg::Ringing {
                    call_id: call_id.clone(),
                    devices: 0,
                })
                .await;
            bob = login_claiming(&b, "bob", fresh_claim(&call_id, "alice", false, left)).await;
            assert_eq!(bob.expect_ended(&call_id).await, Outcome::Rejected);
        }
        assert_eq!(
            alice.expect_ended(&call_id).await,
            Outcome::Rejected,
            "callee first: {callee_first}"
        );
        let hub = b.state.hub();
        assert_eq!((hub.calls(), hub.busy_users()), (0, 0));
        bob.expect_nothing_pending().await;
    }
}

#[tokio::test]
async fn a_hang_up_lost_with_the_server_ends_the_restored_call_as_hung_up() {
    let b = TestServer::start().await;
    let call_id = new_call_id();
    let mut bob = login_claiming(&b, "bob", fresh_claim(&call_id, "alice", false, ACCEPTED)).await;
    // Its accept may not have been answered before the old server went.
    bob.expect(ServerMsg::Accepted {
        call_id: call_id.clone(),
    })
    .await;
    let left = ClaimPhase::Left {
        accepted: true,
        secs: 42,
    };
    let mut alice = login_claiming(&b, "alice", fresh_claim(&call_id, "bob", true, left)).await;
    for client in [&mut alice, &mut bob] {
        match client.expect_ended(&call_id).await {
            Outcome::HungUp { by, .. } => assert_eq!(by, "alice"),
            other => panic!("{other:?}"),
        }
    }
    // A left claim that does not fit the call changes nothing.
    let other = new_call_id();
    let mut carol = login_claiming(&b, "carol", fresh_claim(&other, "dave", true, ACCEPTED)).await;
    let wrong = ClaimPhase::Left {
        accepted: true,
        secs: 1,
    };
    let mut eve = login_claiming(&b, "eve", fresh_claim(&other, "carol", false, wrong)).await;
    assert_eq!(
        eve.expect_ended(&other).await,
        refused("the call is not as you claim it")
    );
    assert_eq!(b.state.hub().calls(), 1);
    carol.expect_nothing_pending().await;
}
