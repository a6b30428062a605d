//! The hub's rules, driven directly: each "connection" is an outbox channel read with
//! `try_recv`, and ring timers run on paused tokio time.

use std::time::Duration;

use tokio::sync::mpsc::{self, error::TryRecvError};
use webcall_protocol::{CallType, ClientMsg, ErrorCode, Outcome, ServerMsg, Signal};

use super::*;
use tokio::time::Instant;

/// A hub with default settings but a ring timeout of `ring_secs`.
pub(super) fn new_hub(ring_secs: u32) -> Arc<Hub> {
    Hub::new(HubSettings {
        ring_timeout_secs: ring_secs,
        ..HubSettings::default()
    })
}

/// A fake connection: its ID and the receiving end of its outbox.
pub(super) struct Peer {
    pub conn: ConnId,
    pub user: &'static str,
    pub rx: mpsc::Receiver<Outgoing>,
    /// The number of the last numbered message read.
    pub seq: u64,
    /// The session token from `LoggedIn`.
    pub session: String,
}

impl Peer {
    /// The next queued message, unwrapped from its number (which must follow the last one's);
    /// panics when there is none or it is a close.
    pub fn next(&mut self) -> ServerMsg {
        match self.rx.try_recv() {
            Ok(Outgoing::Msg(msg)) => self.unwrap(msg),
            other => panic!("{}: expected a message, got {other:?}", self.user),
        }
    }

    /// The next message, waiting for it (on paused time, until a timer sends it).
    pub async fn wait(&mut self) -> ServerMsg {
        match self.rx.recv().await {
            Some(Outgoing::Msg(msg)) => self.unwrap(msg),
            other => panic!("{}: expected a message, got {other:?}", self.user),
        }
    }

    /// `msg` without its number, checking that the number follows the last one's.
    fn unwrap(&mut self, msg: ServerMsg) -> ServerMsg {
        match msg.unsequenced() {
            (Some(seq), msg) => {
                assert_eq!(seq, self.seq + 1, "{}: {msg:?} out of order", self.user);
                self.seq = seq;
                msg
            }
            (None, msg @ (ServerMsg::LoggedIn { .. } | ServerMsg::Pong)) => msg,
            (None, msg) => panic!("{}: {msg:?} came without a number", self.user),
        }
    }

    /// Asserts nothing is queued.
    pub fn quiet(&mut self) {
        match self.rx.try_recv() {
            Err(TryRecvError::Empty) => {}
            other => panic!("{}: expected nothing, got {other:?}", self.user),
        }
    }
}

pub(super) fn join(hub: &Hub, user: &'static str) -> Peer {
    join_with_capacity(hub, user, OUTBOX_CAPACITY)
}

pub(super) fn join_with_capacity(hub: &Hub, user: &'static str, capacity: usize) -> Peer {
    let conn = hub.next_conn_id();
    let (tx, rx) = mpsc::channel(capacity);
    let joined = hub
        .login(
            conn,
            Login::new(user, ConnHandle::new(tx, None), Vec::new(), 3600),
        )
        .unwrap();
    assert_eq!(
        joined,
        Joined {
            device: conn,
            resumed: false,
            created_call: false
        }
    );
    let mut peer = Peer {
        conn,
        user,
        rx,
        seq: 0,
        session: String::new(),
    };
    peer.session = match peer.next() {
        ServerMsg::LoggedIn {
            user_id,
            ice_servers,
            expires_in_secs: 3600,
            relay_only: false,
            session,
            resumed: false,
        } if user_id == user && ice_servers.is_empty() => {
            assert_eq!(session.len(), 32, "{session}");
            session
        }
        other => panic!("{user}: expected LoggedIn, got {other:?}"),
    };
    peer
}

pub(super) fn invite(callee: &str, timeout_secs: Option<u32>) -> ClientMsg {
    ClientMsg::Invite {
        req: 1,
        callee: callee.into(),
        call_type: CallType::Audio,
        timeout_secs,
    }
}

pub(super) fn offer(sdp: &str) -> Signal {
    Signal::Offer { sdp: sdp.into() }
}

pub(super) fn ice(n: u16) -> Signal {
    Signal::Ice {
        candidate: format!("candidate:{n}"),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    }
}

/// `caller` invites `callee`; returns the call ID after both saw the invitation.
pub(super) fn ring(
    hub: &Hub,
    caller: &mut Peer,
    callee: &mut Peer,
    timeout_secs: Option<u32>,
) -> String {
    hub.handle(caller.conn, invite(callee.user, timeout_secs))
        .unwrap();
    let call_id = match caller.next() {
        ServerMsg::CallCreated {
            req: 1,
            call_id,
            callee: c,
            ..
        } if c == callee.user => call_id,
        other => panic!("expected CallCreated, got {other:?}"),
    };
    assert_eq!(
        callee.next(),
        ServerMsg::Invited {
            call_id: call_id.clone(),
            caller: caller.user.into(),
            call_type: CallType::Audio,
            timeout_secs: hub.ring_timeout_secs(timeout_secs),
        }
    );
    call_id
}

/// `caller` calls `callee`, who accepts.
pub(super) fn connect(hub: &Hub, caller: &mut Peer, callee: &mut Peer) -> String {
    let call_id = ring(hub, caller, callee, None);
    hub.handle(
        callee.conn,
        ClientMsg::Accept {
            call_id: call_id.clone(),
        },
    )
    .unwrap();
    let accepted = ServerMsg::Accepted {
        call_id: call_id.clone(),
    };
    assert_eq!(caller.next(), accepted);
    assert_eq!(callee.next(), accepted);
    call_id
}

pub(super) fn ended(call_id: &str, outcome: Outcome) -> ServerMsg {
    ServerMsg::CallEnded {
        call_id: call_id.into(),
        outcome,
    }
}

pub(super) fn failed(message: &str) -> Outcome {
    Outcome::Failed {
        message: message.into(),
    }
}

pub(super) fn lost(user: &str) -> Outcome {
    Outcome::ConnectionLost { user: user.into() }
}

#[tokio::test]
async fn accept_delivers_held_signals_in_order_then_relays() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let call_id = ring(&hub, &mut alice, &mut bob, None);
    let signal = |s| ClientMsg::Signal {
        call_id: call_id.clone(),
        signal: s,
    };
    for s in [offer("v=0 offer"), ice(1), ice(2)] {
        hub.handle(alice.conn, signal(s)).unwrap();
    }
    bob.quiet();
    alice.quiet();

    hub.handle(
        bob.conn,
        ClientMsg::Accept {
            call_id: call_id.clone(),
        },
    )
    .unwrap();
    let accepted = ServerMsg::Accepted {
        call_id: call_id.clone(),
    };
    assert_eq!(alice.next(), accepted);
    assert_eq!(bob.next(), accepted);
    for s in [offer("v=0 offer"), ice(1), ice(2)] {
        assert_eq!(
            bob.next(),
            ServerMsg::Signal {
                call_id: call_id.clone(),
                signal: s
            }
        );
    }
    bob.quiet();

    // Now signals flow both ways at once.
    hub.handle(
        bob.conn,
        signal(Signal::Answer {
            sdp: "v=0 answer".into(),
        }),
    )
    .unwrap();
    assert_eq!(
        alice.next(),
        ServerMsg::Signal {
            call_id: call_id.clone(),
            signal: Signal::Answer {
                sdp: "v=0 answer".into()
            }
        }
    );
    hub.handle(alice.conn, signal(ice(3))).unwrap();
    assert_eq!(
        bob.next(),
        ServerMsg::Signal {
            call_id: call_id.clone(),
            signal: ice(3)
        }
    );
    alice.quiet();
    bob.quiet();
}

#[tokio::test(start_paused = true)]
async fn ring_timeout_ends_the_call_with_no_answer() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let start = Instant::now();
    let call_id = ring(&hub, &mut alice, &mut bob, Some(5));

    tokio::time::sleep(Duration::from_millis(4_999)).await;
    alice.quiet();
    bob.quiet();

    // Both hear NoAnswer once the five seconds are up.
    let msg = alice.wait().await;
    assert_eq!(msg, ended(&call_id, Outcome::NoAnswer { offline: false }));
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(
        bob.next(),
        ended(&call_id, Outcome::NoAnswer { offline: false })
    );
    assert_eq!(hub.calls(), 0);

    // Both are free again, and a late accept is told the call is over, and how.
    assert_eq!(
        hub.handle(bob.conn, ClientMsg::Accept { call_id }),
        Err(HubError::CallOver("nobody answered"))
    );
    ring(&hub, &mut bob, &mut alice, None);
}

#[tokio::test(start_paused = true)]
async fn default_ring_timeout_applies_when_none_or_zero_is_asked() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    for asked in [None, Some(0)] {
        let start = Instant::now();
        let call_id = ring(&hub, &mut alice, &mut bob, asked);
        let msg = alice.wait().await;
        assert_eq!(msg, ended(&call_id, Outcome::NoAnswer { offline: false }));
        assert_eq!(start.elapsed(), Duration::from_secs(30));
        assert_eq!(
            bob.next(),
            ended(&call_id, Outcome::NoAnswer { offline: false })
        );
    }
}

#[tokio::test]
async fn ring_timeouts_are_clamped() {
    let hub = new_hub(30);
    assert_eq!(hub.ring_timeout_secs(None), 30);
    assert_eq!(hub.ring_timeout_secs(Some(0)), 30);
    assert_eq!(hub.ring_timeout_secs(Some(1)), 1);
    assert_eq!(hub.ring_timeout_secs(Some(120)), 120);
    assert_eq!(hub.ring_timeout_secs(Some(u32::MAX)), 120);
    assert_eq!(new_hub(0).ring_timeout_secs(None), 1);
    assert_eq!(new_hub(1000).ring_timeout_secs(None), 120);
}

#[tokio::test(start_paused = true)]
async fn accepting_stops_the_ring_timer_and_hangup_reports_the_duration() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let call_id = connect(&hub, &mut alice, &mut bob);
    for peer in [&alice, &bob] {
        let call_id = call_id.clone();
        hub.handle(peer.conn, ClientMsg::MediaConnected { call_id })
            .unwrap();
    }

    tokio::time::sleep(Duration::from_secs(200)).await;
    alice.quiet();
    bob.quiet();

    hub.handle(
        bob.conn,
        ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        },
    )
    .unwrap();
    let outcome = Outcome::HungUp {
        by: "bob".into(),
        duration_secs: 200,
    };
    assert_eq!(alice.next(), ended(&call_id, outcome.clone()));
    assert_eq!(bob.next(), ended(&call_id, outcome));
    assert_eq!(
        hub.handle(
            alice.conn,
            ClientMsg::Hangup {
                call_id,
                failure: None
            }
        ),
        Err(HubError::CallOver("it was hung up"))
    );
}

#[tokio::test]
async fn reject_cancel_and_hangup_while_ringing() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    type Case = (bool, fn(String) -> ClientMsg, Outcome);
    let cases: [Case; 4] = [
        (
            false,
            |call_id| ClientMsg::Reject { call_id },
            Outcome::Rejected,
        ),
        (
            true,
            |call_id| ClientMsg::Cancel { call_id },
            Outcome::Cancelled {
                disconnected: false,
            },
        ),
        (
            true,
            |call_id| ClientMsg::Hangup {
                call_id,
                failure: None,
            },
            Outcome::Cancelled {
                disconnected: false,
            },
        ),
        (
            false,
            |call_id| ClientMsg::Hangup {
                call_id,
                failure: None,
            },
            Outcome::Rejected,
        ),
    ];
    for (by_caller, msg, outcome) in cases {
        let call_id = ring(&hub, &mut alice, &mut bob, None);
        let conn = if by_caller { alice.conn } else { bob.conn };
        hub.handle(conn, msg(call_id.clone())).unwrap();
        assert_eq!(alice.next(), ended(&call_id, outcome.clone()));
        assert_eq!(bob.next(), ended(&call_id, outcome));
        alice.quiet();
        bob.quiet();
    }
    assert_eq!(hub.calls(), 0);
}

#[tokio::test]
async fn wrong_role_or_state_is_refused_and_changes_nothing() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let call_id = ring(&hub, &mut alice, &mut bob, None);
    let id = || call_id.clone();
    let wrong = |conn, msg| {
        assert!(
            matches!(hub.handle(conn, msg), Err(HubError::WrongState(_))),
            "expected WrongState"
        )
    };
    wrong(alice.conn, ClientMsg::Accept { call_id: id() });
    wrong(alice.conn, ClientMsg::Reject { call_id: id() });
    wrong(bob.conn, ClientMsg::Cancel { call_id: id() });
    wrong(
        bob.conn,
        ClientMsg::Signal {
            call_id: id(),
            signal: offer("early"),
        },
    );
    alice.quiet();
    bob.quiet();

    hub.handle(bob.conn, ClientMsg::Accept { call_id: id() })
        .unwrap();
    alice.next();
    bob.next();
    wrong(bob.conn, ClientMsg::Accept { call_id: id() });
    wrong(bob.conn, ClientMsg::Reject { call_id: id() });
    wrong(alice.conn, ClientMsg::Cancel { call_id: id() });
    alice.quiet();
    bob.quiet();
    assert_eq!(hub.calls(), 1);
}

#[tokio::test]
async fn foreign_and_unknown_calls_are_no_such_call() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let mut carol = join(&hub, "carol");
    let call_id = ring(&hub, &mut alice, &mut bob, None);
    for msg in [
        ClientMsg::Signal {
            call_id: call_id.clone(),
            signal: offer("intruder"),
        },
        ClientMsg::Accept {
            call_id: call_id.clone(),
        },
        ClientMsg::Cancel {
            call_id: call_id.clone(),
        },
        ClientMsg::Hangup {
            call_id: call_id.clone(),
            failure: None,
        },
    ] {
        assert_eq!(hub.handle(carol.conn, msg), Err(HubError::NoSuchCall));
    }
    assert_eq!(
        hub.handle(
            alice.conn,
            ClientMsg::Hangup {
                call_id: "0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d".into(),
                failure: None,
            }
        ),
        Err(HubError::NoSuchCall)
    );
    alice.quiet();
    bob.quiet();
    carol.quiet();
}

#[tokio::test]
async fn invite_checks() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let mut carol = join(&hub, "carol");
    let refused = |conn, msg, error: HubError| {
        let code = error.code();
        let got = hub.handle(conn, msg).unwrap_err();
        assert_eq!(got, error);
        assert_eq!(got.code(), code);
    };
    refused(
        alice.conn,
        invite("no one", None),
        HubError::BadUserId(webcall_protocol::UserIdError::BadCharacter),
    );
    refused(
        alice.conn,
        invite("", None),
        HubError::BadUserId(webcall_protocol::UserIdError::Empty),
    );
    refused(alice.conn, invite("alice", None), HubError::CallSelf);
    refused(
        alice.conn,
        ClientMsg::Invite {
            req: 2,
            callee: "bob".into(),
            call_type: CallType::Video,
            timeout_secs: None,
        },
        HubError::VideoUnsupported,
    );
    assert_eq!(HubError::VideoUnsupported.code(), ErrorCode::Unsupported);
    alice.quiet();
    bob.quiet();

    ring(&hub, &mut alice, &mut bob, None);
    refused(
        alice.conn,
        invite("carol", None),
        HubError::AlreadyInCall("you already have a call going"),
    );
    refused(
        bob.conn,
        invite("carol", None),
        HubError::AlreadyInCall("you have an incoming call: answer or reject it first"),
    );
    carol.quiet();
}

#[tokio::test(start_paused = true)]
async fn an_invitation_to_an_offline_callee_waits_for_a_login() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    hub.handle(alice.conn, invite("bob", None)).unwrap();
    let ServerMsg::CallCreated {
        call_id, ringing, ..
    } = alice.next()
    else {
        panic!("expected CallCreated");
    };
    assert_eq!(ringing, 0);
    alice.quiet();
    assert_eq!(hub.calls(), 1);

    tokio::time::sleep(Duration::from_millis(10_500)).await;
    let mut bob = join(&hub, "bob");
    // Bob is rung for what is left of the ring timeout, rounded up; alice hears he rings.
    assert_eq!(
        bob.next(),
        ServerMsg::Invited {
            call_id: call_id.clone(),
            caller: "alice".into(),
            call_type: CallType::Audio,
            timeout_secs: 20,
        }
    );
    assert_eq!(
        alice.next(),
        ServerMsg::Ringing {
            call_id: call_id.clone(),
            devices: 1
        }
    );
    hub.handle(
        bob.conn,
        ClientMsg::Accept {
            call_id: call_id.clone(),
        },
    )
    .unwrap();
    let accepted = ServerMsg::Accepted { call_id };
    assert_eq!(alice.next(), accepted);
    assert_eq!(bob.next(), accepted);
}

#[tokio::test]
async fn busy_callee_leaves_the_first_call_undisturbed() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let mut carol = join(&hub, "carol");
    let mut dave = join(&hub, "dave");

    // Bob rings for alice's call: carol gets Busy whether she calls bob or alice.
    let first = ring(&hub, &mut alice, &mut bob, None);
    for callee in ["bob", "alice"] {
        hub.handle(carol.conn, invite(callee, None)).unwrap();
        let ServerMsg::CallCreated { call_id, .. } = carol.next() else {
            panic!("expected CallCreated");
        };
        assert_ne!(call_id, first);
        assert_eq!(carol.next(), ended(&call_id, Outcome::Busy));
    }
    alice.quiet();
    bob.quiet();

    // Still the same call: bob accepts it, and then dave gets Busy.
    hub.handle(
        bob.conn,
        ClientMsg::Accept {
            call_id: first.clone(),
        },
    )
    .unwrap();
    alice.next();
    bob.next();
    hub.handle(dave.conn, invite("bob", None)).unwrap();
    let ServerMsg::CallCreated { call_id, .. } = dave.next() else {
        panic!("expected CallCreated");
    };
    assert_eq!(dave.next(), ended(&call_id, Outcome::Busy));
    alice.quiet();
    bob.quiet();
    assert_eq!(hub.calls(), 1);

    // Carol and dave can still call each other.
    ring(&hub, &mut carol, &mut dave, None);
}

#[tokio::test]
async fn held_signals_are_bounded() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let call_id = ring(&hub, &mut alice, &mut bob, None);
    for n in 0..MAX_HELD_SIGNALS as u16 {
        hub.handle(
            alice.conn,
            ClientMsg::Signal {
                call_id: call_id.clone(),
                signal: ice(n),
            },
        )
        .unwrap();
    }
    let overflow = hub.handle(
        alice.conn,
        ClientMsg::Signal {
            call_id: call_id.clone(),
            signal: ice(999),
        },
    );
    assert_eq!(overflow, Err(HubError::TooManyHeld));
    bob.quiet();
    // The call goes on, with what was held.
    hub.handle(
        bob.conn,
        ClientMsg::Accept {
            call_id: call_id.clone(),
        },
    )
    .unwrap();
    bob.next();
    for n in 0..MAX_HELD_SIGNALS as u16 {
        assert_eq!(
            bob.next(),
            ServerMsg::Signal {
                call_id: call_id.clone(),
                signal: ice(n)
            }
        );
    }
    bob.quiet();
}

#[tokio::test]
async fn disconnects_end_calls_for_the_other_party() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");

    // The caller leaves a ringing call: cancelled for the callee, saying so.
    let call_id = ring(&hub, &mut alice, &mut bob, None);
    hub.logout(alice.conn);
    assert_eq!(
        bob.next(),
        ended(&call_id, Outcome::Cancelled { disconnected: true })
    );
    let mut alice = join(&hub, "alice");

    // The callee's only device leaves a ringing call: it waits, as for an offline callee, and
    // rings the callee's next login.
    let call_id = ring(&hub, &mut alice, &mut bob, None);
    hub.logout(bob.conn);
    let ringing = |devices| ServerMsg::Ringing {
        call_id: call_id.clone(),
        devices,
    };
    assert_eq!(alice.next(), ringing(0));
    let mut bob = join(&hub, "bob");
    assert!(matches!(bob.next(), ServerMsg::Invited { .. }));
    assert_eq!(alice.next(), ringing(1));
    hub.handle(
        alice.conn,
        ClientMsg::Cancel {
            call_id: call_id.clone(),
        },
    )
    .unwrap();
    let cancelled = ended(
        &call_id,
        Outcome::Cancelled {
            disconnected: false,
        },
    );
    assert_eq!(alice.next(), cancelled);
    assert_eq!(bob.next(), cancelled);

    // Either leaves an active call: its connection is lost, for the other.
    let call_id = connect(&hub, &mut alice, &mut bob);
    hub.logout(alice.conn);
    assert_eq!(bob.next(), ended(&call_id, lost("alice")));
    let mut alice = join(&hub, "alice");
    let call_id = connect(&hub, &mut alice, &mut bob);
    hub.logout(bob.conn);
    assert_eq!(alice.next(), ended(&call_id, lost("bob")));

    assert_eq!(hub.calls(), 0);
    assert!(!hub.is_online("bob"));
    assert_eq!(hub.online_users(), 1);
    // Logging out twice is harmless.
    hub.logout(bob.conn);
}

#[tokio::test]
async fn in_single_device_mode_a_new_login_replaces_the_older_connection() {
    let hub = Hub::new(HubSettings {
        single_device: true,
        ..HubSettings::default()
    });
    let mut alice = join(&hub, "alice");
    let mut bob = join(&hub, "bob");
    let call_id = connect(&hub, &mut alice, &mut bob);

    let mut bob2 = join(&hub, "bob");
    // Every device of both parties hears the outcome, the new one too.
    let outcome = failed("bob logged in elsewhere");
    assert_eq!(alice.next(), ended(&call_id, outcome.clone()));
    assert_eq!(bob2.next(), ended(&call_id, outcome.clone()));
    assert_eq!(bob.next(), ended(&call_id, outcome));
    assert_eq!(
        bob.next(),
        ServerMsg::Error {
            code: ErrorCode::KickedOut,
            message: "logged in elsewhere".into(),
            req: None
        }
    );
    assert_eq!(
        bob.rx.try_recv(),
        Ok(Outgoing::Close {
            code: CLOSE_NORMAL,
            reason: "logged in elsewhere"
        })
    );
    // The hub dropped its handle of the old connection.
    assert_eq!(bob.rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(
        hub.handle(bob.conn, ClientMsg::Ping),
        Err(HubError::NotLoggedIn)
    );
    hub.logout(bob.conn);
    assert!(hub.is_online("bob"));

    // The new connection works.
    hub.handle(bob2.conn, ClientMsg::Ping).unwrap();
    assert_eq!(bob2.next(), ServerMsg::Pong);
    ring(&hub, &mut alice, &mut bob2, None);
}

#[tokio::test]
async fn a_connection_that_does_not_read_is_cut_off() {
    let hub = new_hub(30);
    let mut alice = join(&hub, "alice");
    // Room for one message: bob reads LoggedIn and Invited, then stops reading.
    let mut bob = join_with_capacity(&hub, "bob", 1);
    let call_id = ring(&hub, &mut alice, &mut bob, None);
    hub.handle(alice.conn, ClientMsg::Ping).unwrap();
    assert_eq!(alice.next(), ServerMsg::Pong);
    // CallEnded fills bob's outbox; the Pong he asks for does not fit, and he is cut off.
    hub.handle(
        alice.conn,
        ClientMsg::Cancel {
            call_id: call_id.clone(),
        },
    )
    .unwrap();
    assert_eq!(
        alice.next(),
        ended(
            &call_id,
            Outcome::Cancelled {
                disconnected: false
            }
        )
    );
    hub.handle(bob.conn, ClientMsg::Ping).unwrap();
    hub.handle(bob.conn, ClientMsg::Ping).unwrap_err();
    assert!(!hub.is_online("bob"));
    assert!(hub.is_online("alice"));
}

#[tokio::test]
async fn a_second_login_on_a_connection_is_refused() {
    let hub = new_hub(30);
    let alice = join(&hub, "alice");
    let err = hub
        .handle(
            alice.conn,
            ClientMsg::Login {
                user_id: "alice".into(),
                user_sig: "x".into(),
                sdk_app_id: 1,
                resume: None,
            },
        )
        .unwrap_err();
    assert_eq!(err, HubError::AlreadyLoggedIn);
    assert_eq!(err.code(), ErrorCode::NotLoggedIn);
}
