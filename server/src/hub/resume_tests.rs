//! The hub's devices outliving their socket and calls restored from claims, driven directly on
//! paused tokio time: the resume grace period, the replay buffer, acknowledgements and the
//! restore window. (The fake connections and helpers are the hub tests'.)

use std::time::Duration;

use tokio::sync::mpsc;
use webcall_protocol::{CallClaim, ClaimPhase, ClientMsg, Outcome, Resume, ServerMsg};

use super::tests::{connect, ended, join, lost, offer, Peer};
use super::*;

/// A hub that keeps a lost device for `grace` seconds and waits `window` seconds for the
/// other party of a restored call.
fn hub_with(grace: u32, window: u32) -> Arc<Hub> {
    Hub::new(HubSettings {
        resume_grace_secs: grace,
        restore_window_secs: window,
        ..HubSettings::default()
    })
}

/// Alice and bob logged in and in an accepted call that alice placed: the peers and the call.
fn alice_calls_bob(hub: &Hub) -> (Peer, Peer, String) {
    let mut alice = join(hub, "alice");
    let mut bob = join(hub, "bob");
    let call_id = connect(hub, &mut alice, &mut bob);
    (alice, bob, call_id)
}

/// `peer`'s socket is lost without a close.
fn lose(hub: &Hub, peer: &Peer) {
    hub.disconnected(peer.conn, peer.conn, false);
}

/// A new socket of `user` logs in with `resume`; returns the connection and what the hub made
/// of it, after reading its `LoggedIn`.
fn relogin(hub: &Hub, user: &'static str, resume: Resume) -> (Peer, Joined) {
    let (peer, joined, _) = relogin_on(hub, user, resume);
    (peer, joined)
}

/// [`relogin`], also returning the new socket's link.
fn relogin_on(hub: &Hub, user: &'static str, resume: Resume) -> (Peer, Joined, ConnId) {
    let link = hub.next_conn_id();
    let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
    let seq = resume.seq;
    let login = Login::new(user, ConnHandle::new(tx, None), Vec::new(), 3600).resuming(resume);
    let joined = hub.login(link, login).unwrap();
    let mut peer = Peer {
        conn: joined.device,
        user,
        rx,
        seq: if joined.resumed { seq } else { 0 },
        session: String::new(),
    };
    match peer.next() {
        ServerMsg::LoggedIn {
            session, resumed, ..
        } if resumed == joined.resumed => peer.session = session,
        other => panic!("{user}: expected LoggedIn, got {other:?}"),
    }
    (peer, joined, link)
}

/// `peer` resumes its session from the last message it read.
fn resume(hub: &Hub, peer: &Peer) -> (Peer, Joined) {
    let resume = Resume {
        session: peer.session.clone(),
        seq: peer.seq,
        call: None,
    };
    relogin(hub, peer.user, resume)
}

/// A fresh login of `user` that claims `call_id` with `peer`.
fn claim(
    hub: &Hub,
    user: &'static str,
    call_id: &str,
    peer: &str,
    caller: bool,
    phase: ClaimPhase,
) -> Peer {
    let resume = Resume {
        session: "lost-with-the-old-server".into(),
        seq: 7,
        call: Some(CallClaim {
            call_id: call_id.into(),
            peer: peer.into(),
            caller,
            phase,
        }),
    };
    let (peer, joined) = relogin(hub, user, resume);
    assert!(!joined.resumed);
    peer
}

const ACCEPTED: ClaimPhase = ClaimPhase::Accepted {
    secs: 5,
    connected: true,
};

fn signal(call_id: &str, sdp: &str) -> ClientMsg {
    ClientMsg::Signal {
        call_id: call_id.into(),
        signal: offer(sdp),
    }
}

fn relayed(call_id: &str, sdp: &str) -> ServerMsg {
    ServerMsg::Signal {
        call_id: call_id.into(),
        signal: offer(sdp),
    }
}

fn new_call_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test(start_paused = true)]
async fn an_away_device_keeps_its_call_until_the_grace_period_ends() {
    let hub = hub_with(10, 15);
    let (mut alice, bob, call_id) = alice_calls_bob(&hub);
    lose(&hub, &bob);
    assert_eq!(hub.away_devices("bob"), 1);
    assert_eq!(
        (hub.devices("bob"), hub.calls(), hub.busy_users()),
        (1, 1, 2)
    );
    // What alice sends meanwhile is taken (and kept for bob).
    hub.handle(alice.conn, signal(&call_id, "while away"))
        .unwrap();

    tokio::time::sleep(Duration::from_millis(9_999)).await;
    alice.quiet();
    let start = tokio::time::Instant::now();
    assert_eq!(alice.wait().await, ended(&call_id, lost("bob")));
    assert!(start.elapsed() <= Duration::from_millis(1));
    assert!(!hub.is_online("bob"));
    assert_eq!(hub.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_resume_within_the_grace_period_gets_what_was_missed_once() {
    let hub = hub_with(10, 15);
    let (mut alice, bob, call_id) = alice_calls_bob(&hub);
    let audio = ClientMsg::MediaConnected {
        call_id: call_id.clone(),
    };
    hub.handle(alice.conn, audio).unwrap();
    lose(&hub, &bob);
    for sdp in ["one", "two"] {
        hub.handle(alice.conn, signal(&call_id, sdp)).unwrap();
    }
    tokio::time::sleep(Duration::from_secs(5)).await;

    let (mut bob2, joined) = resume(&hub, &bob);
    assert_eq!(
        joined,
        Joined {
            device: bob.conn,
            resumed: true,
            created_call: false
        }
    );
    assert_eq!(bob2.session, bob.session);
    assert_eq!(bob2.next(), relayed(&call_id, "one"));
    assert_eq!(bob2.next(), relayed(&call_id, "two"));
    bob2.quiet();
    assert_eq!((hub.devices("bob"), hub.away_devices("bob")), (1, 0));

    // The grace timer is gone with the away state; the call goes on.
    tokio::time::sleep(Duration::from_secs(60)).await;
    alice.quiet();
    bob2.quiet();
    hub.handle(alice.conn, signal(&call_id, "three")).unwrap();
    assert_eq!(bob2.next(), relayed(&call_id, "three"));
}

#[tokio::test(start_paused = true)]
async fn a_resume_takes_the_device_over_from_a_socket_still_open() {
    let hub = hub_with(10, 15);
    let (mut alice, mut bob, call_id) = alice_calls_bob(&hub);
    let resume = Resume {
        session: bob.session.clone(),
        seq: bob.seq,
        call: None,
    };
    let (mut bob2, joined, link) = relogin_on(&hub, "bob", resume);
    assert!(joined.resumed);
    // The hub let go of the old socket; its end, reported late, changes nothing.
    assert_eq!(
        bob.rx.try_recv(),
        Err(mpsc::error::TryRecvError::Disconnected)
    );
    hub.disconnected(bob.conn, bob.conn, true);
    assert_eq!(
        hub.handle_from(bob.conn, bob.conn, ClientMsg::Ping),
        Err(HubError::NotLoggedIn)
    );
    hub.handle_from(bob.conn, link, signal(&call_id, "new"))
        .unwrap();
    assert_eq!(alice.next(), relayed(&call_id, "new"));
    assert_eq!(hub.devices("bob"), 1);
    bob2.quiet();
}

#[tokio::test(start_paused = true)]
async fn a_session_that_can_not_be_resumed_ends_and_a_new_one_starts() {
    let hub = hub_with(10, 15);
    let (mut alice, bob, call_id) = alice_calls_bob(&hub);
    hub.handle(bob.conn, ClientMsg::Ack { seq: bob.seq })
        .unwrap();
    lose(&hub, &bob);
    // Bob claims less than he acknowledged: what he says he lacks is gone.
    let stale = Resume {
        session: bob.session.clone(),
        seq: bob.seq - 1,
        call: None,
    };
    let (mut bob2, joined) = relogin(&hub, "bob", stale);
    assert!(!joined.resumed);
    assert_ne!(joined.device, bob.conn);
    assert_ne!(bob2.session, bob.session);
    // The old device left first: the call ended with it, before the new one came.
    assert_eq!(alice.next(), ended(&call_id, lost("bob")));
    bob2.quiet();
    assert_eq!(hub.devices("bob"), 1);
}

#[tokio::test(start_paused = true)]
async fn acks_trim_the_buffer_and_one_beyond_what_was_sent_is_refused() {
    let hub = hub_with(10, 15);
    let (_alice, mut bob, _) = alice_calls_bob(&hub);
    let sent = bob.seq;
    assert_eq!(
        hub.handle(bob.conn, ClientMsg::Ack { seq: sent + 1 }),
        Err(HubError::WrongState(
            "acknowledged a message that was not sent"
        ))
    );
    hub.handle(bob.conn, ClientMsg::Ack { seq: sent }).unwrap();
    let kept = |hub: &Hub| hub.lock().conns[&bob.conn].replay.oldest_replayable();
    assert_eq!(kept(&hub), sent + 1);
    // Pongs are not numbered.
    hub.handle(bob.conn, ClientMsg::Ping).unwrap();
    assert_eq!(bob.rx.try_recv(), Ok(Outgoing::Msg(ServerMsg::Pong)));
}

#[tokio::test(start_paused = true)]
async fn an_away_device_whose_buffer_overflows_is_removed() {
    let hub = hub_with(10, 15);
    let (mut alice, bob, call_id) = alice_calls_bob(&hub);
    hub.handle(bob.conn, ClientMsg::Ack { seq: bob.seq })
        .unwrap();
    lose(&hub, &bob);
    for n in 0..REPLAY_CAPACITY {
        hub.handle(alice.conn, signal(&call_id, &n.to_string()))
            .unwrap();
    }
    alice.quiet();
    assert!(hub.is_online("bob"));
    hub.handle(alice.conn, signal(&call_id, "one too many"))
        .unwrap();
    assert_eq!(alice.next(), ended(&call_id, lost("bob")));
    assert!(!hub.is_online("bob"));
}

#[tokio::test(start_paused = true)]
async fn with_no_grace_period_a_lost_socket_leaves_at_once() {
    let hub = hub_with(0, 15);
    let (mut alice, bob, call_id) = alice_calls_bob(&hub);
    lose(&hub, &bob);
    assert_eq!(alice.next(), ended(&call_id, lost("bob")));
    assert!(!hub.is_online("bob"));
}

#[tokio::test(start_paused = true)]
async fn a_call_is_restored_from_both_claims_and_holds_signals_for_the_late_party() {
    let hub = hub_with(10, 15);
    let call_id = new_call_id();
    let mut alice = claim(&hub, "alice", &call_id, "bob", true, ACCEPTED);
    alice.quiet();
    assert_eq!((hub.calls(), hub.busy_users()), (1, 2));
    // Alice's offer waits for bob's device.
    hub.handle(alice.conn, signal(&call_id, "restart ice"))
        .unwrap();

    let mut bob = claim(&hub, "bob", &call_id, "alice", false, ACCEPTED);
    // Its accept may not have been answered before the old server went.
    assert_eq!(
        bob.next(),
        ServerMsg::Accepted {
            call_id: call_id.clone()
        }
    );
    assert_eq!(bob.next(), relayed(&call_id, "restart ice"));
    bob.quiet();
    hub.handle(bob.conn, signal(&call_id, "answer")).unwrap();
    assert_eq!(alice.next(), relayed(&call_id, "answer"));

    // Both are back: the restore window does not end the call.
    tokio::time::sleep(Duration::from_secs(16)).await;
    alice.quiet();
    bob.quiet();
    hub.handle(
        alice.conn,
        ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        },
    )
    .unwrap();
    let outcome = Outcome::HungUp {
        by: "alice".into(),
        duration_secs: 21,
    };
    assert_eq!(alice.next(), ended(&call_id, outcome.clone()));
    assert_eq!(bob.next(), ended(&call_id, outcome));
}

#[tokio::test(start_paused = true)]
async fn a_party_that_never_claims_the_call_ends_it_after_the_window() {
    let hub = hub_with(10, 15);

    // An accepted call whose callee does not come back: connection lost.
    let call_id = new_call_id();
    let mut alice = claim(&hub, "alice", &call_id, "bob", true, ACCEPTED);
    tokio::time::sleep(Duration::from_millis(14_999)).await;
    alice.quiet();
    assert_eq!(alice.wait().await, ended(&call_id, lost("bob")));

    // A ringing call whose caller does not come back: cancelled, as when a caller drops.
    let call_id = new_call_id();
    let ringing = ClaimPhase::Ringing { secs_left: 60 };
    let mut bob_tab = join(&hub, "bob");
    let mut bob = claim(&hub, "bob", &call_id, "alice", false, ringing);
    // The claimant rings already; bob's other device rings now, alice has the call elsewhere.
    bob.quiet();
    assert!(matches!(
        bob_tab.next(),
        ServerMsg::Invited {
            timeout_secs: 60,
            ..
        }
    ));
    assert_eq!(
        alice.next(),
        ServerMsg::CallElsewhere {
            call_id: call_id.clone(),
            peer: "bob".into()
        }
    );
    let cancelled = ended(&call_id, Outcome::Cancelled { disconnected: true });
    assert_eq!(bob.wait().await, cancelled);
    assert_eq!(bob_tab.next(), cancelled);
    assert_eq!(alice.next(), cancelled);
    assert_eq!(hub.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_ringing_claim_rings_and_the_callee_claiming_an_accept_makes_it_active() {
    let hub = hub_with(10, 15);
    let call_id = new_call_id();
    let ringing = ClaimPhase::Ringing { secs_left: 20 };
    let mut alice = claim(&hub, "alice", &call_id, "bob", true, ringing);
    assert_eq!(
        alice.next(),
        ServerMsg::Ringing {
            call_id: call_id.clone(),
            devices: 0
        }
    );
    // Bob's device had sent Accept when the old server went: the accept is applied again.
    let mut bob = claim(&hub, "bob", &call_id, "alice", false, ACCEPTED);
    let accepted = ServerMsg::Accepted {
        call_id: call_id.clone(),
    };
    assert_eq!(alice.next(), accepted);
    assert_eq!(bob.next(), accepted);
    // Accepted: the ring timer is gone.
    tokio::time::sleep(Duration::from_secs(25)).await;
    alice.quiet();
    bob.quiet();
    assert_eq!(hub.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn claims_that_do_not_fit_are_refused_and_change_nothing() {
    let hub = hub_with(10, 15);
    let call_id = new_call_id();
    let mut alice = claim(&hub, "alice", &call_id, "bob", true, ACCEPTED);
    let refused = |why: &str| {
        ended(
            &call_id,
            Outcome::Failed {
                message: why.into(),
            },
        )
    };
    // Bob claims the caller's side too, or another peer.
    let mut bob = claim(&hub, "bob", &call_id, "alice", true, ACCEPTED);
    assert_eq!(bob.next(), refused("the call is not as you claim it"));
    let mut bob2 = claim(&hub, "bob", &call_id, "carol", false, ACCEPTED);
    assert_eq!(bob2.next(), refused("the call is not as you claim it"));
    // Alice claims it again on another device.
    let mut alice2 = claim(&hub, "alice", &call_id, "bob", true, ACCEPTED);
    assert_eq!(
        alice2.next(),
        refused("the call is on another of your devices")
    );
    // Carol claims a call of her own with bob, who is in this one.
    let mut carol = claim(&hub, "carol", &new_call_id(), "bob", true, ACCEPTED);
    assert!(matches!(
        carol.next(),
        ServerMsg::CallEnded { outcome: Outcome::Failed { message }, .. } if message == "bob is in another call"
    ));
    // A made-up peer, a call ID that is not one, oneself.
    for (call_id, peer, why) in [
        (
            new_call_id(),
            "no one",
            "invalid peer ID: user ID may only hold A-Z, a-z, 0-9, _ and -",
        ),
        ("x".to_owned(), "dave", "not a call ID"),
        (new_call_id(), "carol", "you cannot call yourself"),
    ] {
        let mut c = claim(&hub, "carol", &call_id, peer, true, ACCEPTED);
        assert_eq!(
            c.next(),
            ended(
                &call_id,
                Outcome::Failed {
                    message: why.into()
                }
            )
        );
    }
    alice.quiet();
    assert_eq!((hub.calls(), hub.busy_users()), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn a_claim_of_a_call_that_ended_is_told_how() {
    let hub = hub_with(0, 15);
    let (mut alice, bob, call_id) = alice_calls_bob(&hub);
    lose(&hub, &bob);
    assert_eq!(alice.next(), ended(&call_id, lost("bob")));
    let mut bob = claim(&hub, "bob", &call_id, "alice", false, ACCEPTED);
    assert_eq!(bob.next(), ended(&call_id, lost("bob")));
    bob.quiet();
    assert_eq!(hub.calls(), 0);
}

fn interrupted(call_id: &str) -> ClientMsg {
    ClientMsg::MediaInterrupted {
        call_id: call_id.into(),
    }
}

#[tokio::test(start_paused = true)]
async fn interrupted_audio_and_a_lost_socket_end_the_call_at_once_in_either_order() {
    let hub = hub_with(10, 15);
    let mut alice = join(&hub, "alice");

    // The socket is lost first, then the audio is reported interrupted.
    let mut bob = join(&hub, "bob");
    let call_id = connect(&hub, &mut alice, &mut bob);
    lose(&hub, &bob);
    alice.quiet();
    hub.handle(alice.conn, interrupted(&call_id)).unwrap();
    assert_eq!(alice.next(), ended(&call_id, lost("bob")));
    assert!(hub.is_online("bob"));
    hub.logout(bob.conn);

    // The audio is reported interrupted first, then the socket is lost.
    let mut bob = join(&hub, "bob");
    let call_id = connect(&hub, &mut alice, &mut bob);
    hub.handle(alice.conn, interrupted(&call_id)).unwrap();
    alice.quiet();
    bob.quiet();
    lose(&hub, &bob);
    assert_eq!(alice.next(), ended(&call_id, lost("bob")));
    hub.logout(bob.conn);

    // Audio that came back does not count.
    let mut bob = join(&hub, "bob");
    let call_id = connect(&hub, &mut alice, &mut bob);
    hub.handle(alice.conn, interrupted(&call_id)).unwrap();
    let again = ClientMsg::MediaConnected {
        call_id: call_id.clone(),
    };
    hub.handle(alice.conn, again).unwrap();
    lose(&hub, &bob);
    alice.quiet();
    assert_eq!(hub.calls(), 1);

    // Nor does an interruption reported by the party that goes away.
    let (mut bob2, joined) = resume(&hub, &bob);
    assert!(joined.resumed);
    hub.handle(bob2.conn, interrupted(&call_id)).unwrap();
    bob2.quiet();
    alice.quiet();
    assert_eq!(hub.calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_interruption_needs_an_accepted_call_of_ones_own() {
    let hub = hub_with(10, 15);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let carol = join(&hub, "carol");
    let call_id = super::tests::ring(&hub, &mut alice, &mut bob, None);
    assert_eq!(
        hub.handle(alice.conn, interrupted(&call_id)),
        Err(HubError::WrongState("the call is not accepted yet"))
    );
    assert_eq!(
        hub.handle(carol.conn, interrupted(&call_id)),
        Err(HubError::NoSuchCall)
    );
    // Reported while the other party of a restored call is not back: it is lost.
    let restored = new_call_id();
    let mut dave = claim(&hub, "dave", &restored, "erin", true, ACCEPTED);
    hub.handle(dave.conn, interrupted(&restored)).unwrap();
    assert_eq!(dave.next(), ended(&restored, lost("erin")));
}
