//! Reconnecting: a lost connection keeps the call and its audio and comes back, on the same
//! session or a new one that the call is claimed on; numbered messages apply once and are
//! acknowledged; the heartbeat notices a dead connection; final refusals give up, passing ones
//! retry with a growing backoff.

use webcall_protocol::{CallClaim, ClaimPhase, Resume};

use super::*;

/// Why a call ends when the connection can not be restored.
const LOST: &str = "lost the connection to the server";

/// The socket dropped without a close frame.
fn dropped() -> Input {
    Input::SocketClosed {
        reason: "connection closed (1006)".into(),
        code: CLOSE_ABNORMAL,
    }
}

fn seq(n: u64, msg: ServerMsg) -> Input {
    Input::Server(ServerMsg::Seq(n, Box::new(msg)))
}

/// When `out` arms `timer`.
fn timer_at(out: &[Output], timer: Timer) -> Option<Millis> {
    out.iter().rev().find_map(|o| match o {
        Output::SetTimer { timer: t, at } if *t == timer => Some(*at),
        _ => None,
    })
}

/// The wait `out` announces for reconnection attempt `attempt`.
fn announced_wait(out: &[Output], attempt: u32) -> Millis {
    match &events_of(out)[..] {
        [CallEvent::Reconnecting {
            attempt: a,
            retry_in_ms,
        }] if *a == attempt => *retry_in_ms,
        other => panic!("no Reconnecting {{ attempt: {attempt} }}: {other:?}"),
    }
}

/// A lone alice in accepted call "c1" with bob, which she placed (created at 2 000, accepted at
/// 5 000), its audio connected.
fn in_call() -> Machine {
    let mut m = lone("alice");
    step(&mut m, 1_000, Input::call("bob"));
    step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
    step(&mut m, 2_000, Input::Server(created("c1", "bob")));
    step(
        &mut m,
        5_000,
        Input::Server(ServerMsg::Accepted {
            call_id: "c1".into(),
        }),
    );
    step(&mut m, 5_000, Input::Media(MediaEvent::Connected));
    assert!(matches!(
        m.call_state(),
        CallState::InCall {
            connected: true,
            ..
        }
    ));
    m
}

fn created(call_id: &str, callee: &str) -> ServerMsg {
    ServerMsg::CallCreated {
        req: 1,
        call_id: call_id.into(),
        callee: callee.into(),
        ringing: 1,
    }
}

/// Loses `m`'s connection at `now`, waits out the first backoff and opens a new socket: returns
/// the time and the `Resume` of the login that goes out.
fn reconnect(m: &mut Machine, now: Millis) -> (Millis, Resume) {
    let out = step(m, now, dropped());
    let at = timer_at(&out, Timer::Reconnect).expect("a reconnection is planned");
    log_in_again(m, at)
}

/// Fires the reconnection timer at `at` and opens the socket: the time and the `Resume` sent.
fn log_in_again(m: &mut Machine, at: Millis) -> (Millis, Resume) {
    match open_again(m, at) {
        ClientMsg::Login {
            resume: Some(resume),
            ..
        } => (at, resume),
        other => panic!("no login with a resume: {other:?}"),
    }
}

/// Fires the reconnection timer at `at` and opens the socket: the one message sent.
fn open_again(m: &mut Machine, at: Millis) -> ClientMsg {
    let out = step(m, at, Input::Timer(Timer::Reconnect));
    assert!(out.contains(&Output::OpenSocket), "{out:?}");
    assert_eq!(
        timer_at(&out, Timer::LoginDeadline),
        Some(at + LOGIN_TIMEOUT_MS)
    );
    let out = step(m, at, Input::SocketOpened);
    match &sent_of(&out)[..] {
        [msg] => msg.clone(),
        other => panic!("not one message: {other:?}"),
    }
}

fn back(user: &str, session: &str, resumed: bool) -> Input {
    Input::Server(ServerMsg::LoggedIn {
        user_id: user.into(),
        ice_servers: vec![],
        expires_in_secs: 3600,
        relay_only: false,
        session: session.into(),
        resumed,
    })
}

fn refusal(code: ErrorCode) -> Input {
    Input::Server(ServerMsg::Error {
        code,
        message: format!("{code:?}"),
        req: None,
    })
}

#[test]
fn a_lost_connection_keeps_the_call_and_its_audio() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    let lost_at = w.now;
    w.dev("alice").socket_open = false;
    w.input("alice", dropped()).unwrap();

    let events = w.take_events("alice");
    let [CallEvent::Reconnecting {
        attempt: 0,
        retry_in_ms,
    }] = events[..]
    else {
        panic!("{events:?}");
    };
    assert!(
        retry_in_ms < 1_000,
        "the first retry waits {retry_in_ms} ms"
    );
    let dev = &w.devices["alice"];
    assert_eq!(
        dev.timers.get(&Timer::Reconnect),
        Some(&(lost_at + retry_in_ms))
    );
    assert!(!dev.timers.contains_key(&Timer::Heartbeat));
    // The audio goes browser to browser: nothing of it is touched.
    assert!(dev.mic_open && dev.peer.as_ref().is_some_and(|p| p.connected && p.sending));
    assert!(matches!(
        w.state("alice"),
        CallState::InCall {
            connected: true,
            ..
        }
    ));
    assert!(dev.machine.is_reconnecting());
    assert_eq!(dev.machine.user_id(), Some("alice"));

    let applied = w.seq["alice"];
    w.advance(1_000);
    assert_eq!(
        w.take_events("alice"),
        vec![CallEvent::Reconnected { resumed: true }]
    );
    let dev = &w.devices["alice"];
    assert!(!dev.machine.is_reconnecting());
    assert!(dev.timers.contains_key(&Timer::Heartbeat));
    let login = w.sent.iter().rev().find_map(|(from, msg)| match msg {
        ClientMsg::Login { resume, .. } if from == "alice" => Some(resume.clone()),
        _ => None,
    });
    assert_eq!(
        login,
        Some(Some(Resume {
            session: "session-of-alice".into(),
            seq: applied,
            call: Some(CallClaim {
                call_id: "call-1".into(),
                peer: "bob".into(),
                caller: true,
                phase: ClaimPhase::Accepted {
                    secs: 0,
                    connected: true
                },
            }),
        }))
    );
    assert!(w.take_events("bob").is_empty(), "bob noticed nothing");

    // The call goes on: bob's hang-up reaches alice.
    w.advance(5_000);
    w.input("bob", Input::Hangup).unwrap();
    w.run();
    assert!(matches!(
        &w.take_events("alice")[..],
        [CallEvent::UserLeave { .. }, CallEvent::CallEnd { ended_by: Some(by), duration_secs: 6, .. }]
            if by == "bob"
    ));
}

#[test]
fn a_hang_up_while_reconnecting_goes_out_after_the_login() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.dev("alice").socket_open = false;
    w.input("alice", dropped()).unwrap();
    w.take_events("alice");
    let sent = w.sent.len();

    // It takes effect here at once.
    w.input("alice", Input::Hangup).unwrap();
    assert!(matches!(
        &w.take_events("alice")[..],
        [CallEvent::CallEnd { ended_by: Some(by), failure: None, .. }] if by == "alice"
    ));
    assert_eq!(w.state("alice"), CallState::Idle);
    assert!(!w.devices["alice"].mic_open && w.devices["alice"].peer.is_none());
    assert_eq!(w.sent.len(), sent, "sent on no connection");

    w.advance(1_000);
    let after: Vec<&ClientMsg> = w.sent[sent..]
        .iter()
        .filter(|(from, _)| from == "alice")
        .map(|(_, msg)| msg)
        .collect();
    assert!(
        matches!(
            after[..2],
            [
                // The hang-up is claimed too, in case it is lost with a server that forgot
                // the call.
                ClientMsg::Login {
                    resume: Some(Resume {
                        call: Some(CallClaim {
                            phase: ClaimPhase::Left { accepted: true, .. },
                            ..
                        }),
                        ..
                    }),
                    ..
                },
                ClientMsg::Hangup { call_id, failure: None }
            ] if call_id == "call-1"
        ),
        "{after:?}"
    );
    assert_eq!(
        w.take_events("alice"),
        vec![CallEvent::Reconnected { resumed: true }]
    );
    assert!(matches!(
        &w.take_events("bob")[..],
        [CallEvent::UserLeave { .. }, CallEvent::CallEnd { ended_by: Some(by), .. }] if by == "alice"
    ));
    assert_eq!(w.state("bob"), CallState::Idle);
}

#[test]
fn messages_missed_while_cut_off_arrive_after_the_resume() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    // A live connection stays up however long: the pongs keep coming.
    w.advance(60_000);
    assert!(w.take_events("alice").is_empty());
    assert!(!w.devices["alice"].machine.is_reconnecting());

    // The network goes; the socket does not notice. Bob hangs up meanwhile.
    w.cut("alice", true);
    let heard = w.devices["alice"].machine.last_heard;
    w.input("bob", Input::Hangup).unwrap();
    w.run();
    w.take_events("bob");
    // Tick by tick.
    let noticed = loop {
        let tick = w.devices["alice"].timers[&Timer::Heartbeat];
        w.advance(tick - w.now);
        let events = w.take_events("alice");
        if let [CallEvent::Reconnecting { attempt: 0, .. }] = events[..] {
            break w.now;
        }
        assert!(events.is_empty(), "{events:?}");
        assert!(w.now < heard + 60_000, "the dead connection went unnoticed");
    };
    assert!(
        (heard + DEAD_AFTER_MS..=heard + 15_000).contains(&noticed),
        "last heard at {heard}, noticed at {noticed}"
    );
    assert!(
        !w.devices["alice"].socket_open,
        "the dead socket stays open"
    );
    assert!(matches!(w.state("alice"), CallState::InCall { .. }));

    // Every attempt fails while the network is gone; then one gets through.
    w.advance(20_000);
    let attempts = w.take_events("alice");
    assert!(attempts.len() >= 2, "{attempts:?}");
    assert!(attempts
        .iter()
        .all(|e| matches!(e, CallEvent::Reconnecting { .. })));
    w.cut("alice", false);
    w.advance(MAX_BACKOFF_MS);
    assert!(matches!(
        &w.take_events("alice")[..],
        [
            CallEvent::Reconnected { resumed: true },
            CallEvent::UserLeave { .. },
            CallEvent::CallEnd { ended_by: Some(by), .. }
        ] if by == "bob"
    ));
    assert_eq!(w.state("alice"), CallState::Idle);
}

#[test]
fn the_heartbeat_closes_a_connection_the_server_stopped_answering() {
    let mut m = lone("alice");
    // Logged in at 0; a message at 10 s keeps it alive.
    for at in [3_000, 6_000, 9_000] {
        let out = step(&mut m, at, Input::Timer(Timer::Heartbeat));
        assert_eq!(sent_of(&out), vec![ClientMsg::Ping]);
        assert_eq!(
            timer_at(&out, Timer::Heartbeat),
            Some(at + HEARTBEAT_INTERVAL_MS)
        );
    }
    step(&mut m, 10_000, Input::Server(ServerMsg::Pong));
    let out = step(&mut m, 12_000, Input::Timer(Timer::Heartbeat));
    assert_eq!(sent_of(&out), vec![ClientMsg::Ping]);
    for at in [15_000, 18_000] {
        step(&mut m, at, Input::Timer(Timer::Heartbeat));
    }
    // 12 s of silence: dead.
    let out = step(&mut m, 22_000, Input::Timer(Timer::Heartbeat));
    assert_eq!(out[0], Output::AbandonSocket);
    assert!(out.contains(&Output::CancelTimer(Timer::Heartbeat)));
    assert!(sent_of(&out).is_empty());
    let wait = announced_wait(&out, 0);
    assert_eq!(timer_at(&out, Timer::Reconnect), Some(22_000 + wait));
    assert!(m.is_reconnecting());
    // A late tick, and pings, have no place while reconnecting.
    assert!(step(&mut m, 22_500, Input::Timer(Timer::Heartbeat)).is_empty());
}

#[test]
fn replayed_messages_apply_once() {
    let mut m = lone("bob");
    let out = step(&mut m, 1_000, seq(1, invited("c1", "alice")));
    assert!(matches!(events_of(&out)[..], [CallEvent::Invited { .. }]));
    assert!(step(&mut m, 1_001, seq(1, invited("c1", "alice"))).is_empty());
    step(&mut m, 2_000, Input::Accept);
    step(
        &mut m,
        2_000,
        seq(
            2,
            ServerMsg::Accepted {
                call_id: "c1".into(),
            },
        ),
    );
    let offer = ServerMsg::Signal {
        call_id: "c1".into(),
        signal: Signal::Offer { sdp: "v=0".into() },
    };
    let out = step(&mut m, 2_100, seq(3, offer.clone()));
    assert_eq!(
        out,
        vec![Output::Media(MediaCommand::ApplySignal(Signal::Offer {
            sdp: "v=0".into()
        }))]
    );
    assert!(step(&mut m, 2_200, seq(3, offer)).is_empty());
    assert!(step(
        &mut m,
        2_200,
        seq(
            2,
            ServerMsg::Accepted {
                call_id: "c1".into()
            }
        )
    )
    .is_empty());
    let end = ended(
        "c1",
        Outcome::HungUp {
            by: "alice".into(),
            duration_secs: 3,
        },
    );
    let out = step(&mut m, 5_000, seq(4, end.clone()));
    assert!(matches!(
        events_of(&out)[..],
        [CallEvent::UserLeave { .. }, CallEvent::CallEnd { .. }]
    ));
    assert!(step(&mut m, 5_001, seq(4, end)).is_empty());
    // Unnumbered messages apply as they come.
    let out = step(&mut m, 6_000, Input::Server(invited("c2", "carol")));
    assert!(matches!(events_of(&out)[..], [CallEvent::Invited { .. }]));
}

#[test]
fn acks_go_out_with_the_heartbeat_and_after_a_burst() {
    let mut m = lone("alice");
    step(&mut m, 1_000, Input::WatchPresence(vec!["bob".into()]));
    let presence = |online| ServerMsg::Presence {
        user_id: "bob".into(),
        online,
    };
    // Nothing to acknowledge: a tick only pings.
    let out = step(&mut m, 3_000, Input::Timer(Timer::Heartbeat));
    assert_eq!(sent_of(&out), vec![ClientMsg::Ping]);
    assert!(sent_of(&step(&mut m, 4_000, seq(1, presence(true)))).is_empty());
    assert!(sent_of(&step(&mut m, 4_000, seq(2, presence(false)))).is_empty());
    let out = step(&mut m, 6_000, Input::Timer(Timer::Heartbeat));
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Ping, ClientMsg::Ack { seq: 2 }]
    );
    // Nothing new since.
    let out = step(&mut m, 9_000, Input::Timer(Timer::Heartbeat));
    assert_eq!(sent_of(&out), vec![ClientMsg::Ping]);
    // A burst is acknowledged at once when ACK_AFTER messages wait.
    for n in 3..2 + ACK_AFTER {
        let out = step(&mut m, 10_000, seq(n, presence(n % 2 == 0)));
        assert!(sent_of(&out).is_empty(), "acknowledged early at {n}");
    }
    let out = step(&mut m, 10_000, seq(2 + ACK_AFTER, presence(true)));
    assert_eq!(sent_of(&out), vec![ClientMsg::Ack { seq: 2 + ACK_AFTER }]);
    // Duplicates are not news and are not acknowledged again.
    step(&mut m, 10_000, seq(2 + ACK_AFTER, presence(true)));
    let out = step(&mut m, 12_000, Input::Timer(Timer::Heartbeat));
    assert_eq!(sent_of(&out), vec![ClientMsg::Ping]);
}

#[test]
fn the_login_claims_the_call_as_it_stands() {
    let claim = |call_id: &str, peer: &str, caller, phase| {
        Some(CallClaim {
            call_id: call_id.into(),
            peer: peer.into(),
            caller,
            phase,
        })
    };
    let ringing = |until: Millis, at: Millis| ClaimPhase::Ringing {
        secs_left: (until - at).div_ceil(1000) as u32,
    };

    // The caller while it rings, with the ring timeout asked for...
    let mut m = lone("alice");
    step(
        &mut m,
        1_000,
        Input::Call {
            callee: "bob".into(),
            call_type: CallType::Audio,
            timeout_secs: Some(20),
        },
    );
    step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
    step(&mut m, 2_000, Input::Server(created("c1", "bob")));
    let (at, resume) = reconnect(&mut m, 7_000);
    assert_eq!(resume.call, claim("c1", "bob", true, ringing(22_000, at)));
    // ... or the server's default.
    let mut m = lone("alice");
    step(&mut m, 1_000, Input::call("bob"));
    step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
    step(&mut m, 2_000, Input::Server(created("c1", "bob")));
    let (at, resume) = reconnect(&mut m, 7_000);
    assert_eq!(resume.call, claim("c1", "bob", true, ringing(32_000, at)));
    assert_eq!(resume.session, "s-1");

    // The callee while it rings: what is left of the invitation's timeout.
    let mut m = lone("bob");
    step(&mut m, 2_000, Input::Server(invited("c1", "alice")));
    let (at, resume) = reconnect(&mut m, 12_000);
    assert_eq!(
        resume.call,
        claim("c1", "alice", false, ringing(32_000, at))
    );
    // Past the timeout, it still rings for the server to end.
    let mut m = lone("bob");
    step(&mut m, 2_000, Input::Server(invited("c1", "alice")));
    let (_, resume) = reconnect(&mut m, 40_000);
    assert_eq!(
        resume.call,
        claim("c1", "alice", false, ClaimPhase::Ringing { secs_left: 1 })
    );

    // The callee that accepted, before the server confirmed.
    let mut m = lone("bob");
    step(&mut m, 2_000, Input::Server(invited("c1", "alice")));
    step(&mut m, 3_000, Input::Accept);
    let (_, resume) = reconnect(&mut m, 4_000);
    let accepted = |secs, connected| ClaimPhase::Accepted { secs, connected };
    assert_eq!(resume.call, claim("c1", "alice", false, accepted(0, false)));

    // The callee in the accepted call, its audio not connected yet.
    let mut m = lone("bob");
    step(&mut m, 2_000, Input::Server(invited("c1", "alice")));
    step(&mut m, 3_000, Input::Accept);
    step(
        &mut m,
        3_000,
        Input::Server(ServerMsg::Accepted {
            call_id: "c1".into(),
        }),
    );
    let (at, resume) = reconnect(&mut m, 9_500);
    assert_eq!(
        resume.call,
        claim("c1", "alice", false, accepted((at - 3_000) / 1000, false))
    );

    // The caller in the accepted call, its audio connected.
    let mut m = in_call();
    let (at, resume) = reconnect(&mut m, 20_000);
    assert_eq!(
        resume.call,
        claim("c1", "bob", true, accepted((at - 5_000) / 1000, true))
    );

    // Nothing to claim: no call, the microphone opening, the invitation on its way.
    let mut m = lone("alice");
    assert_eq!(reconnect(&mut m, 1_000).1.call, None);
    let mut m = lone("alice");
    step(&mut m, 1_000, Input::call("bob"));
    assert_eq!(reconnect(&mut m, 1_000).1.call, None);
    let mut m = lone("alice");
    step(&mut m, 1_000, Input::call("bob"));
    step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
    assert_eq!(reconnect(&mut m, 1_000).1.call, None);
}

#[test]
fn a_new_session_watches_again_and_keeps_the_claimed_call() {
    let mut m = in_call();
    step(&mut m, 6_000, Input::WatchPresence(vec!["carol".into()]));
    step(
        &mut m,
        6_000,
        seq(
            1,
            ServerMsg::Presence {
                user_id: "carol".into(),
                online: true,
            },
        ),
    );
    step(
        &mut m,
        6_000,
        seq(
            2,
            ServerMsg::CallElsewhere {
                call_id: "c9".into(),
                peer: "dave".into(),
            },
        ),
    );
    let (at, resume) = reconnect(&mut m, 10_000);
    assert_eq!((resume.session.as_str(), resume.seq), ("s-1", 2));

    // The server restarted: a new session.
    let out = step(&mut m, at, back("alice", "s-2", false));
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Watch {
            users: vec!["carol".into()]
        }]
    );
    assert_eq!(
        events_of(&out),
        vec![CallEvent::Reconnected { resumed: false }]
    );
    assert!(!out.contains(&Output::Media(MediaCommand::Close)));
    assert_eq!(m.presence("carol"), None, "the old session's news");
    assert!(!m.is_reconnecting());
    assert!(matches!(
        m.call_state(),
        CallState::InCall {
            connected: true,
            ..
        }
    ));
    // The numbering starts again.
    let out = step(
        &mut m,
        at + 1,
        seq(
            1,
            ServerMsg::Presence {
                user_id: "carol".into(),
                online: false,
            },
        ),
    );
    assert_eq!(
        events_of(&out),
        vec![CallEvent::PresenceChanged {
            user_id: "carol".into(),
            online: false
        }]
    );
    // The next reconnection names the new session.
    let (at, resume) = reconnect(&mut m, at + 2_000);
    assert_eq!((resume.session.as_str(), resume.seq), ("s-2", 1));
    step(&mut m, at, back("alice", "s-2", true));

    // Bob never claimed the call: the server ends it.
    let out = step(
        &mut m,
        25_000,
        seq(
            2,
            ended("c1", Outcome::ConnectionLost { user: "bob".into() }),
        ),
    );
    assert_eq!(
        events_of(&out),
        vec![
            CallEvent::UserLeave {
                user_id: "bob".into()
            },
            CallEvent::CallEnd {
                call_id: "c1".into(),
                duration_secs: 20,
                ended_by: None,
                failure: Some("connection lost".into())
            }
        ]
    );
    assert!(out.contains(&Output::Media(MediaCommand::Close)));
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn an_invitation_still_on_its_way_does_not_survive_a_new_session() {
    let inviting = || {
        let mut m = lone("alice");
        step(&mut m, 1_000, Input::call("bob"));
        step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
        m
    };
    let mut m = inviting();
    let (at, _) = reconnect(&mut m, 2_000);
    let out = step(&mut m, at, back("alice", "s-2", false));
    assert_eq!(
        events_of(&out),
        vec![
            CallEvent::Reconnected { resumed: false },
            CallEvent::NoResp {
                user_id: "bob".into(),
                reason: NoRespReason::Unreachable(LOST.into())
            }
        ]
    );
    assert!(out.contains(&Output::Media(MediaCommand::Close)));
    assert_eq!(m.call_state(), CallState::Idle);
    // A call can be placed again at once.
    step(&mut m, at + 1, Input::call("bob"));

    // A resumed session still owes the invitation its answer.
    let mut m = inviting();
    let (at, _) = reconnect(&mut m, 2_000);
    let out = step(&mut m, at, back("alice", "s-1", true));
    assert_eq!(
        events_of(&out),
        vec![CallEvent::Reconnected { resumed: true }]
    );
    step(&mut m, at + 1, seq(1, created("c1", "bob")));
    assert!(matches!(
        m.call_state(),
        CallState::Dialing {
            ringing: Some(1),
            ..
        }
    ));
}

#[test]
fn a_final_refusal_of_the_login_ends_the_call_and_the_session() {
    for (code, last) in [
        (
            ErrorCode::UserSigExpired,
            vec![
                CallEvent::Error {
                    code: 70001,
                    message: "UserSigExpired".into(),
                },
                CallEvent::LoggedOut {
                    reason: Some("login failed".into()),
                },
            ],
        ),
        (
            ErrorCode::SessionExpired,
            vec![
                CallEvent::Error {
                    code: 70002,
                    message: "SessionExpired".into(),
                },
                CallEvent::LoggedOut {
                    reason: Some("the session expired; log in again".into()),
                },
            ],
        ),
        (
            ErrorCode::KickedOut,
            vec![
                CallEvent::KickedOut,
                CallEvent::LoggedOut {
                    reason: Some("logged in elsewhere".into()),
                },
            ],
        ),
    ] {
        let mut m = in_call();
        let (at, _) = reconnect(&mut m, 10_000);
        let out = step(&mut m, at + 100, refusal(code));
        let mut expected = vec![CallEvent::CallEnd {
            call_id: "c1".into(),
            duration_secs: (at + 100 - 5_000) / 1000,
            ended_by: None,
            failure: Some(LOST.into()),
        }];
        expected.extend(last);
        assert_eq!(events_of(&out), expected, "{code:?}");
        assert!(sent_of(&out).is_empty(), "{out:?}");
        for output in [
            Output::Media(MediaCommand::Close),
            Output::CloseSocket,
            Output::CancelTimer(Timer::Reconnect),
            Output::CancelTimer(Timer::LoginDeadline),
        ] {
            assert!(out.contains(&output), "{code:?}: no {output:?} in {out:?}");
        }
        assert!(!m.is_reconnecting());
        assert_eq!(m.user_id(), None);
        assert_eq!(m.call_state(), CallState::Idle);
        assert!(step(&mut m, at + 5_000, Input::Timer(Timer::Reconnect)).is_empty());
    }
    // Every reason no retry can fix.
    for code in [
        ErrorCode::BadUserSig,
        ErrorCode::UserSigWrongUser,
        ErrorCode::WrongSdkAppId,
        ErrorCode::TooManyDevices,
    ] {
        let mut m = lone("alice");
        let (at, _) = reconnect(&mut m, 1_000);
        let out = step(&mut m, at, refusal(code));
        assert!(
            matches!(
                events_of(&out)[..],
                [CallEvent::Error { .. }, CallEvent::LoggedOut { .. }]
            ),
            "{code:?}: {out:?}"
        );
    }
}

#[test]
fn a_passing_refusal_of_the_login_tries_again() {
    let mut m = in_call();
    let (at, _) = reconnect(&mut m, 10_000);
    let out = step(&mut m, at + 10, refusal(ErrorCode::RateLimited));
    assert!(out.contains(&Output::AbandonSocket));
    assert!(out.contains(&Output::CancelTimer(Timer::LoginDeadline)));
    let wait = announced_wait(&out, 1);
    assert!((500..=1_000).contains(&wait), "{wait}");
    assert_eq!(timer_at(&out, Timer::Reconnect), Some(at + 10 + wait));
    assert!(!out.contains(&Output::Media(MediaCommand::Close)));

    // A server that failed: likewise.
    let (at, _) = log_in_again(&mut m, at + 10 + wait);
    let out = step(&mut m, at, refusal(ErrorCode::Internal));
    let wait = announced_wait(&out, 2);
    let (at, _) = log_in_again(&mut m, at + wait);
    let out = step(&mut m, at, back("alice", "s-1", true));
    assert_eq!(
        events_of(&out),
        vec![CallEvent::Reconnected { resumed: true }]
    );
    assert!(matches!(m.call_state(), CallState::InCall { .. }));
    assert_eq!(m.user_id(), Some("alice"));
}

#[test]
fn failed_attempts_back_off_up_to_10_seconds_and_never_give_up() {
    let mut m = in_call();
    let out = step(&mut m, 10_000, dropped());
    let mut wait = announced_wait(&out, 0);
    assert!(wait < 1_000);
    let mut now = 10_000 + wait;
    let mut waits = Vec::new();
    for attempt in 1..=40u32 {
        let out = step(&mut m, now, Input::Timer(Timer::Reconnect));
        assert!(out.contains(&Output::OpenSocket));
        let out = if attempt % 2 == 0 {
            // The socket fails to open.
            step(&mut m, now + 50, dropped())
        } else {
            // It opens, but the login goes unanswered.
            let out = step(&mut m, now, Input::SocketOpened);
            assert!(matches!(sent_of(&out)[..], [ClientMsg::Login { .. }]));
            let out = step(
                &mut m,
                now + LOGIN_TIMEOUT_MS,
                Input::Timer(Timer::LoginDeadline),
            );
            assert!(out.contains(&Output::AbandonSocket));
            // The closed socket, told late, changes nothing.
            assert!(step(&mut m, now + LOGIN_TIMEOUT_MS, dropped()).is_empty());
            out
        };
        wait = announced_wait(&out, attempt);
        let full = (500u64 << attempt.min(5)).min(MAX_BACKOFF_MS);
        assert!(
            (full / 2..=full).contains(&wait),
            "attempt {attempt} waits {wait} ms"
        );
        waits.push(wait);
        now = timer_at(&out, Timer::Reconnect).unwrap();
        assert!(m.is_reconnecting());
        assert!(matches!(
            m.call_state(),
            CallState::InCall {
                connected: true,
                ..
            }
        ));
    }
    // Capped, and jittered.
    let capped = &waits[10..];
    assert!(capped.iter().all(|w| *w <= MAX_BACKOFF_MS));
    assert!(capped.iter().min() != capped.iter().max());
    // Still trying.
    log_in_again(&mut m, now);
}

#[test]
fn while_reconnecting_calls_wait_and_everything_else_works_locally() {
    // Rejecting, watching.
    let mut m = lone("bob");
    step(&mut m, 1_000, Input::Server(invited("c1", "alice")));
    step(&mut m, 2_000, dropped());
    assert_eq!(
        m.handle(2_100, Input::call("carol")),
        Err(ClientError::Reconnecting)
    );
    assert_eq!(
        ClientError::Reconnecting.to_string(),
        "reconnecting to the server; try again in a moment"
    );
    assert_eq!(ClientError::Reconnecting.code(), 60019);
    let out = step(&mut m, 2_100, Input::Reject);
    assert!(sent_of(&out).is_empty());
    assert_eq!(m.call_state(), CallState::Idle);
    let out = step(&mut m, 2_200, Input::WatchPresence(vec!["carol".into()]));
    assert!(sent_of(&out).is_empty());
    assert!(drain(&mut m).is_empty());
    let (at, _) = log_in_again(&mut m, 3_000);
    let out = step(&mut m, at, back("bob", "s-1", true));
    assert_eq!(
        sent_of(&out),
        vec![
            ClientMsg::Reject {
                call_id: "c1".into()
            },
            ClientMsg::Watch {
                users: vec!["carol".into()]
            }
        ]
    );
    step(&mut m, at, Input::call("carol"));

    // Accepting, muting.
    let mut m = lone("bob");
    step(&mut m, 1_000, Input::Server(invited("c1", "alice")));
    step(&mut m, 2_000, dropped());
    let out = step(&mut m, 2_100, Input::Accept);
    assert!(sent_of(&out).is_empty());
    assert!(out.contains(&Output::Media(MediaCommand::StartMic)));
    assert!(matches!(
        out.last(),
        Some(Output::Media(MediaCommand::CreatePeer { offer: false, .. }))
    ));
    let (at, resume) = log_in_again(&mut m, 3_000);
    assert!(matches!(
        resume.call,
        Some(CallClaim {
            phase: ClaimPhase::Accepted { .. },
            ..
        })
    ));
    let out = step(&mut m, at, back("bob", "s-1", true));
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Accept {
            call_id: "c1".into()
        }]
    );
    let mut m = in_call();
    step(&mut m, 10_000, dropped());
    let out = step(&mut m, 10_100, Input::SetMicMute(true));
    assert_eq!(out, vec![Output::Media(MediaCommand::SetMicMuted(true))]);
}

#[test]
fn logging_out_while_reconnecting_ends_everything_at_once() {
    let mut m = in_call();
    let out = step(&mut m, 10_000, dropped());
    let at = timer_at(&out, Timer::Reconnect).unwrap();
    let out = step(&mut m, 10_100, Input::Logout);
    assert!(
        matches!(
            &events_of(&out)[..],
            [
                CallEvent::CallEnd { ended_by: Some(by), .. },
                CallEvent::LoggedOut { reason: None }
            ] if by == "alice"
        ),
        "{out:?}"
    );
    assert!(sent_of(&out).is_empty());
    assert!(out.contains(&Output::Media(MediaCommand::Close)));
    assert!(out.contains(&Output::CancelTimer(Timer::Reconnect)));
    assert!(!m.is_reconnecting());
    assert_eq!(m.user_id(), None);
    assert!(step(&mut m, at, Input::Timer(Timer::Reconnect)).is_empty());
    // A new login starts afresh: no resume, nothing left over.
    step(&mut m, 20_000, Input::login("alice"));
    let out = step(&mut m, 20_000, Input::SocketOpened);
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Login {
            user_id: "alice".into(),
            user_sig: "sig-of-alice".into(),
            sdk_app_id: 1_400_000_000,
            resume: None
        }]
    );
    let out = step(&mut m, 20_000, back("alice", "s-9", false));
    assert_eq!(
        events_of(&out),
        vec![CallEvent::LoggedIn {
            user_id: "alice".into()
        }]
    );
    assert!(sent_of(&out).is_empty(), "{out:?}");
}

#[test]
fn reconnecting_logs_in_with_the_latest_user_sig() {
    // The UserSig a reconnection at `now` logs in with.
    let user_sig = |m: &mut Machine, now| {
        let out = step(m, now, dropped());
        let at = timer_at(&out, Timer::Reconnect).unwrap();
        let ClientMsg::Login { user_sig, .. } = open_again(m, at) else {
            panic!("no login");
        };
        step(m, at, back("alice", "s-1", true));
        user_sig
    };
    let mut m = lone("alice");
    assert_eq!(user_sig(&mut m, 1_000), "sig-of-alice");
    // A renewal counts once the server confirmed it.
    step(
        &mut m,
        10_000,
        Input::Renew {
            user_sig: "sig-2".into(),
        },
    );
    assert_eq!(user_sig(&mut m, 11_000), "sig-of-alice");
    step(
        &mut m,
        20_000,
        Input::Renew {
            user_sig: "sig-2".into(),
        },
    );
    step(
        &mut m,
        20_100,
        Input::Server(ServerMsg::Renewed {
            expires_in_secs: 7200,
        }),
    );
    assert_eq!(user_sig(&mut m, 21_000), "sig-2");
    // Renewed while reconnecting: the next attempt logs in with it, and the renewal follows.
    let out = step(&mut m, 30_000, dropped());
    let at = timer_at(&out, Timer::Reconnect).unwrap();
    let out = step(
        &mut m,
        30_100,
        Input::Renew {
            user_sig: "sig-3".into(),
        },
    );
    assert!(sent_of(&out).is_empty());
    assert!(matches!(
        open_again(&mut m, at),
        ClientMsg::Login { user_sig, .. } if user_sig == "sig-3"
    ));
    let out = step(&mut m, at, back("alice", "s-1", true));
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Renew {
            user_sig: "sig-3".into()
        }]
    );
}

#[test]
fn the_outbox_keeps_the_newest_messages() {
    let mut m = in_call();
    step(&mut m, 10_000, dropped());
    for n in 0..200 {
        step(
            &mut m,
            10_100,
            Input::Media(MediaEvent::LocalSignal(ice(&n.to_string()))),
        );
    }
    let (at, _) = log_in_again(&mut m, 11_000);
    let out = step(&mut m, at, back("alice", "s-1", true));
    let sent = sent_of(&out);
    assert_eq!(sent.len(), OUTBOX_LEN);
    let first = 200 - OUTBOX_LEN;
    for (i, msg) in sent.iter().enumerate() {
        assert_eq!(
            *msg,
            ClientMsg::Signal {
                call_id: "c1".into(),
                signal: ice(&(first + i).to_string())
            }
        );
    }
}

#[test]
fn a_party_whose_connection_did_not_come_back_ends_the_call() {
    let lost = |user: &str| Outcome::ConnectionLost { user: user.into() };

    // The caller, while it rings.
    let mut m = lone("alice");
    step(&mut m, 1_000, Input::call("bob"));
    step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
    step(&mut m, 2_000, Input::Server(created("c1", "bob")));
    let out = step(&mut m, 9_000, seq(1, ended("c1", lost("bob"))));
    assert_eq!(
        events_of(&out),
        vec![CallEvent::NoResp {
            user_id: "bob".into(),
            reason: NoRespReason::Unreachable("connection lost".into())
        }]
    );
    assert_eq!(m.call_state(), CallState::Idle);

    // The callee, while it rings.
    let mut m = lone("bob");
    step(&mut m, 1_000, Input::Server(invited("c1", "alice")));
    let out = step(&mut m, 9_000, Input::Server(ended("c1", lost("alice"))));
    assert_eq!(
        events_of(&out),
        vec![CallEvent::CallingCancel {
            sponsor: "alice".into(),
            call_id: "c1".into(),
            caller_disconnected: true
        }]
    );

    // The callee that accepted, before the server confirmed.
    let mut m = lone("bob");
    step(&mut m, 1_000, Input::Server(invited("c1", "alice")));
    step(&mut m, 2_000, Input::Accept);
    let out = step(&mut m, 9_000, Input::Server(ended("c1", lost("alice"))));
    assert_eq!(
        events_of(&out),
        vec![
            CallEvent::UserLeave {
                user_id: "alice".into()
            },
            CallEvent::CallEnd {
                call_id: "c1".into(),
                duration_secs: 0,
                ended_by: None,
                failure: Some("connection lost".into())
            }
        ]
    );
    assert!(out.contains(&Output::Media(MediaCommand::Close)));

    // In the call.
    let mut m = in_call();
    let out = step(&mut m, 65_000, Input::Server(ended("c1", lost("bob"))));
    assert_eq!(
        events_of(&out),
        vec![
            CallEvent::UserLeave {
                user_id: "bob".into()
            },
            CallEvent::CallEnd {
                call_id: "c1".into(),
                duration_secs: 60,
                ended_by: None,
                failure: Some("connection lost".into())
            }
        ]
    );
}

#[test]
fn a_call_left_without_hearing_its_end_is_claimed_as_left() {
    let mut m = lone("bob");
    step(&mut m, 1_000, Input::Server(invited("c1", "alice")));
    step(&mut m, 2_000, Input::Reject);
    // The server died with the reject: bob logs in again on a new server.
    let (_, resume) = reconnect(&mut m, 3_000);
    assert_eq!(
        resume.call,
        Some(CallClaim {
            call_id: "c1".into(),
            peer: "alice".into(),
            caller: false,
            phase: ClaimPhase::Left {
                accepted: false,
                secs: 0
            },
        })
    );
    let out = step(&mut m, 3_500, back("bob", "s-2", false));
    assert!(!sent_of(&out).contains(&ClientMsg::Reject {
        call_id: "c1".into()
    }));
    // A server that rings the call again (the caller's claim came first) is rejected at once,
    // and nothing rings here.
    let out = step(&mut m, 3_600, seq(1, invited("c1", "alice")));
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Reject {
            call_id: "c1".into()
        }]
    );
    assert!(events_of(&out).is_empty());
    assert_eq!(m.call_state(), CallState::Idle);
    // Its end confirms it: nothing is claimed any more.
    step(&mut m, 3_700, seq(2, ended("c1", Outcome::Rejected)));
    let (_, resume) = reconnect(&mut m, 4_000);
    assert_eq!(resume.call, None);
}

#[test]
fn on_the_same_session_the_message_that_left_the_call_goes_again() {
    let mut m = in_call();
    step(&mut m, 6_000, Input::Hangup);
    let (at, _) = reconnect(&mut m, 7_000);
    let out = step(&mut m, at, back("alice", "s-1", true));
    let hangup = ClientMsg::Hangup {
        call_id: "c1".into(),
        failure: None,
    };
    assert_eq!(
        sent_of(&out).iter().filter(|m| **m == hangup).count(),
        1,
        "{out:?}"
    );
    // The server's refusal of the repeat is no news.
    let out = step(
        &mut m,
        at + 10,
        Input::Server(ServerMsg::Error {
            code: ErrorCode::NoSuchCall,
            message: "the call has already ended: it was hung up".into(),
            req: None,
        }),
    );
    assert!(events_of(&out).is_empty());
}

#[test]
fn a_caller_offers_again_on_a_new_session_until_its_audio_connected() {
    let new_session = |resumed: bool| back("alice", if resumed { "s-1" } else { "s-2" }, resumed);
    let restarts = |out: &[Output]| {
        out.iter()
            .filter(|o| matches!(o, Output::Media(MediaCommand::RestartIce { .. })))
            .count()
    };
    // Ringing: the old server held the offer; a new one needs it again. A resumed session
    // still has it.
    for resumed in [false, true] {
        let mut m = lone("alice");
        step(&mut m, 1_000, Input::call("bob"));
        step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
        step(&mut m, 2_000, Input::Server(created("c1", "bob")));
        let (at, _) = reconnect(&mut m, 3_000);
        let out = step(&mut m, at, new_session(resumed));
        assert_eq!(restarts(&out), usize::from(!resumed), "resumed: {resumed}");
    }
    // Connected audio needs no signaling: nothing to offer again.
    let mut m = in_call();
    let (at, _) = reconnect(&mut m, 6_000);
    assert_eq!(restarts(&step(&mut m, at, new_session(false))), 0);
}

#[test]
fn an_offer_left_waiting_by_the_lost_connection_is_superseded_by_the_new_one() {
    let mut m = lone("alice");
    step(&mut m, 1_000, Input::call("bob"));
    step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
    step(&mut m, 2_000, Input::Server(created("c1", "bob")));
    step(&mut m, 2_500, dropped());
    // The offer comes out of the peer connection after the connection was lost.
    let first = Signal::Offer {
        sdp: "first".into(),
    };
    step(
        &mut m,
        2_600,
        Input::Media(MediaEvent::LocalSignal(first.clone())),
    );
    // The first attempt comes within a second of the loss.
    let (at, _) = log_in_again(&mut m, 3_500);
    let out = step(&mut m, at, back("alice", "s-2", false));
    assert!(
        !sent_of(&out)
            .iter()
            .any(|msg| matches!(msg, ClientMsg::Signal { .. })),
        "{out:?}"
    );
    assert!(out.contains(&Output::Media(MediaCommand::RestartIce {
        ice_servers: vec![],
        relay_only: false
    })));
}

#[test]
fn on_a_new_session_an_accept_the_claim_says_is_not_sent_again() {
    let mut m = lone("bob");
    step(&mut m, 1_000, Input::Server(invited("c1", "alice")));
    step(&mut m, 2_000, dropped());
    // Accepted while the connection is down: the Accept waits, and the claim says it too.
    step(&mut m, 2_100, Input::Accept);
    let (at, resume) = log_in_again(&mut m, 3_000);
    assert!(matches!(
        resume.call,
        Some(CallClaim {
            phase: ClaimPhase::Accepted { .. },
            ..
        })
    ));
    // Hung up after the claim went out: that still goes.
    step(&mut m, at, Input::Hangup);
    let out = step(&mut m, at + 10, back("bob", "s-2", false));
    let sent = sent_of(&out);
    assert!(
        !sent.contains(&ClientMsg::Accept {
            call_id: "c1".into()
        }),
        "{sent:?}"
    );
    assert!(sent.contains(&ClientMsg::Hangup {
        call_id: "c1".into(),
        failure: None
    }));
}

#[test]
fn on_a_resumed_session_the_waiting_accept_goes_out() {
    let mut m = lone("bob");
    step(&mut m, 1_000, Input::Server(invited("c1", "alice")));
    step(&mut m, 2_000, dropped());
    step(&mut m, 2_100, Input::Accept);
    let (at, _) = log_in_again(&mut m, 3_000);
    let out = step(&mut m, at + 10, back("bob", "s-1", true));
    assert!(sent_of(&out).contains(&ClientMsg::Accept {
        call_id: "c1".into()
    }));
}
