//! Glare: two users calling each other at once, and invitations that cross this user's own.

use super::*;

/// A lone `user` machine whose `Invite` (req 1) to `callee` is on its way, its microphone
/// still opening.
fn inviting_mic_opening(user: &str, callee: &str) -> Machine {
    let mut m = lone(user);
    let out = step(&mut m, 1_000, Input::call(callee));
    assert!(matches!(
        &out[..],
        [
            Output::Send(ClientMsg::Invite { req: 1, callee: c, .. }),
            Output::Media(MediaCommand::StartMic)
        ] if c == callee
    ));
    m
}

/// A lone `user` machine whose `Invite` (req 1) to `callee` is on its way, its microphone open.
fn inviting(user: &str, callee: &str) -> Machine {
    let mut m = inviting_mic_opening(user, callee);
    assert!(step(&mut m, 1_000, Input::Media(MediaEvent::MicReady)).is_empty());
    m
}

/// The server's answer to `Invite` 1 that crossed bob's invitation "c9": the two are one
/// accepted call.
fn merged_c9() -> ServerMsg {
    ServerMsg::CallMerged {
        req: 1,
        call_id: "c9".into(),
        caller: "bob".into(),
    }
}

fn refused(req: u32) -> ServerMsg {
    ServerMsg::Error {
        code: ErrorCode::AlreadyInCall,
        message: "you are ringing".into(),
        req: Some(req),
    }
}

fn carol_rings() -> CallEvent {
    CallEvent::Invited {
        sponsor: "carol".into(),
        call_id: "c9".into(),
        call_type: CallType::Audio,
        timeout_secs: 30,
    }
}

#[test]
fn calling_back_the_user_who_rings_here_accepts() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    assert!(matches!(
        w.take_events("bob")[..],
        [CallEvent::Invited { .. }]
    ));
    let now = w.now;
    let bob = &mut w.dev("bob").machine;
    bob.handle(now, Input::call("alice")).unwrap();
    let outputs = drain(bob);
    assert!(
        matches!(
            &outputs[..],
            [
                Output::Send(ClientMsg::Accept { .. }),
                Output::Media(MediaCommand::StartMic),
                Output::Media(MediaCommand::CreatePeer { offer: false, .. })
            ]
        ),
        "{outputs:?}"
    );
    assert!(matches!(w.state("bob"), CallState::Connecting { .. }));
    // Calling someone else is still refused.
    let mut w = World::logged_in(&["alice", "bob", "carol"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    assert_eq!(w.input("bob", Input::call("carol")), Err(ClientError::Busy));
    assert!(matches!(w.state("bob"), CallState::Incoming { .. }));
}

#[test]
fn invitations_that_cross_on_the_wire_become_one_call() {
    let mut w = World::logged_in(&["alice", "bob"]);
    // Both Invites are on their way before either is answered; alice's reaches the server
    // first, so bob's answers it.
    w.input("alice", Input::call("bob")).unwrap();
    w.input("bob", Input::call("alice")).unwrap();
    w.run();
    assert_eq!(
        w.take_events("alice"),
        vec![
            CallEvent::Ringing {
                callee: "bob".into(),
                devices: 1
            },
            CallEvent::UserAccept {
                user_id: "bob".into()
            },
            CallEvent::UserEnter {
                user_id: "bob".into()
            }
        ]
    );
    assert_eq!(
        w.take_events("bob"),
        vec![
            CallEvent::UserAccept {
                user_id: "alice".into()
            },
            CallEvent::UserEnter {
                user_id: "alice".into()
            }
        ]
    );
    for (user, peer) in [("alice", "bob"), ("bob", "alice")] {
        assert!(matches!(
            w.state(user),
            CallState::InCall { peer: p, call_id, connected: true, .. }
                if p == peer && call_id == "call-1"
        ));
        let fake = w.devices[user].peer.as_ref().unwrap();
        assert!(
            fake.connected && fake.sending,
            "{user}'s audio is not on the call"
        );
    }
    assert_eq!(w.calls.len(), 1);
    // It ends like any call.
    w.input("bob", Input::Hangup).unwrap();
    w.run();
    assert!(matches!(
        w.take_events("alice")[..],
        [CallEvent::UserLeave { .. }, CallEvent::CallEnd { .. }]
    ));
    assert_eq!(w.state("alice"), CallState::Idle);
    assert_eq!(w.state("bob"), CallState::Idle);
}

#[test]
fn a_merged_call_takes_the_callee_side_with_the_open_microphone() {
    let mut m = inviting("bob", "alice");
    let out = server(&mut m, invited("c1", "alice"));
    assert!(out.is_empty(), "the crossing invitation rang: {out:?}");
    assert!(matches!(
        m.call_state(),
        CallState::Dialing { ringing: None, .. }
    ));
    let out = server(
        &mut m,
        ServerMsg::CallMerged {
            req: 1,
            call_id: "c1".into(),
            caller: "alice".into(),
        },
    );
    assert_eq!(
        out,
        vec![
            Output::Media(MediaCommand::CreatePeer {
                ice_servers: vec![],
                relay_only: false,
                offer: false
            }),
            Output::Event(CallEvent::UserAccept {
                user_id: "alice".into()
            })
        ]
    );
    assert_eq!(
        m.call_state(),
        CallState::InCall {
            peer: "alice".into(),
            call_id: "c1".into(),
            since_ms: 5_000,
            connected: false,
            interrupted: false,
            muted: false,
            peer_muted: false,
            verification_code: None
        }
    );
    // The caller's offer follows and is answered.
    let offer = Signal::Offer { sdp: "v=0".into() };
    let out = server(
        &mut m,
        ServerMsg::Signal {
            call_id: "c1".into(),
            signal: offer.clone(),
        },
    );
    assert_eq!(out, vec![Output::Media(MediaCommand::ApplySignal(offer))]);
    // The held invitation is gone: its end is no news, and hanging up leaves nothing ringing.
    let out = step(&mut m, 9_000, Input::Hangup);
    assert!(!events_of(&out)
        .iter()
        .any(|e| matches!(e, CallEvent::Invited { .. })));
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn a_merge_for_another_request_is_ignored() {
    let mut m = inviting("bob", "alice");
    let out = server(
        &mut m,
        ServerMsg::CallMerged {
            req: 7,
            call_id: "c1".into(),
            caller: "alice".into(),
        },
    );
    assert!(out.is_empty(), "{out:?}");
    assert!(matches!(m.call_state(), CallState::Dialing { .. }));
    let mut m = lone("bob");
    assert!(server(
        &mut m,
        ServerMsg::CallMerged {
            req: 1,
            call_id: "c1".into(),
            caller: "alice".into(),
        },
    )
    .is_empty());
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn an_invite_refused_because_this_user_rings_rings_the_held_invitation() {
    let mut w = World::logged_in(&["alice", "bob", "carol"]);
    // carol's Invite reaches the server just before alice's.
    w.input("carol", Input::call("alice")).unwrap();
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    let events = w.take_events("alice");
    assert!(
        matches!(
            &events[..],
            [
                CallEvent::Error { code: 60035, .. },
                CallEvent::Invited { sponsor, .. }
            ] if sponsor == "carol"
        ),
        "{events:?}"
    );
    assert!(w.take_events("bob").is_empty());
    assert!(!w.devices["alice"].mic_open, "the microphone stayed open");
    assert!(matches!(
        w.state("alice"),
        CallState::Incoming { caller, .. } if caller == "carol"
    ));
    w.input("alice", Input::Accept).unwrap();
    w.run();
    assert!(matches!(
        w.take_events("alice")[..],
        [CallEvent::UserEnter { .. }]
    ));
    assert!(matches!(
        w.state("alice"),
        CallState::InCall { peer, connected: true, .. } if peer == "carol"
    ));
}

#[test]
fn cancelling_while_the_microphone_opens_rings_the_held_invitation() {
    let mut m = inviting_mic_opening("alice", "bob");
    assert!(server(&mut m, invited("c9", "carol")).is_empty());
    let out = step(&mut m, 6_000, Input::Hangup);
    assert_eq!(
        out,
        vec![
            Output::Media(MediaCommand::Close),
            Output::Event(carol_rings())
        ]
    );
    assert_eq!(
        m.call_state(),
        CallState::Incoming {
            caller: "carol".into(),
            call_id: "c9".into()
        }
    );
    // The microphone that opens late changes nothing.
    assert!(step(&mut m, 6_000, Input::Media(MediaEvent::MicReady)).is_empty());
}

#[test]
fn a_failed_microphone_withdraws_the_invitation_and_rings_the_held_one() {
    let mut m = inviting_mic_opening("alice", "bob");
    assert!(server(&mut m, invited("c9", "carol")).is_empty());
    let out = step(&mut m, 6_000, mic_denied());
    assert_eq!(
        events_of(&out),
        vec![
            CallEvent::Error {
                code: 60005,
                message: MediaError::PermissionDenied.to_string()
            },
            carol_rings()
        ]
    );
    assert!(out.contains(&Output::Media(MediaCommand::Close)));
    assert!(sent_of(&out).is_empty());
    assert!(matches!(m.call_state(), CallState::Incoming { .. }));
    // The call the invitation created is cancelled as soon as it is known.
    let out = server(&mut m, created(1, "c1"));
    assert!(matches!(
        &sent_of(&out)[..],
        [ClientMsg::Cancel { call_id }] if call_id == "c1"
    ));
    assert!(events_of(&out).is_empty());
}

#[test]
fn a_failed_microphone_does_not_ring_the_callee_whose_invitation_crossed() {
    let mut m = inviting_mic_opening("alice", "bob");
    assert!(server(&mut m, invited("c9", "bob")).is_empty());
    let out = step(&mut m, 6_000, mic_denied());
    // Without a microphone the crossed call could not be taken: the server merges it with the
    // withdrawn invitation, and that merged call is hung up.
    assert!(matches!(events_of(&out)[..], [CallEvent::Error { .. }]));
    assert_eq!(m.call_state(), CallState::Idle);
    let out = server(&mut m, merged_c9());
    assert!(matches!(
        &sent_of(&out)[..],
        [ClientMsg::Hangup { call_id, .. }] if call_id == "c9"
    ));
    assert!(events_of(&out).is_empty());
}

#[test]
fn cancelling_an_unanswered_invite_rings_an_invitation_from_someone_else() {
    let mut m = inviting("alice", "bob");
    assert!(server(&mut m, invited("c9", "carol")).is_empty());
    let out = step(&mut m, 6_000, Input::Hangup);
    assert_eq!(events_of(&out), vec![carol_rings()]);
    assert!(matches!(m.call_state(), CallState::Incoming { .. }));
    // The server's refusal of the withdrawn Invite is no news.
    assert!(server(&mut m, refused(1)).is_empty());
    assert!(matches!(m.call_state(), CallState::Incoming { .. }));
}

#[test]
fn cancelling_an_invite_that_the_server_merges_hangs_the_merged_call_up() {
    let mut m = inviting("alice", "bob");
    assert!(server(&mut m, invited("c9", "bob")).is_empty());
    let out = step(&mut m, 6_000, Input::Hangup);
    assert!(events_of(&out).is_empty(), "{out:?}");
    assert_eq!(m.call_state(), CallState::Idle);
    let out = server(&mut m, merged_c9());
    assert_eq!(
        out,
        vec![Output::Send(ClientMsg::Hangup {
            call_id: "c9".into(),
            failure: None
        })]
    );
    assert_eq!(m.call_state(), CallState::Idle);
    let out = server(
        &mut m,
        ended(
            "c9",
            Outcome::HungUp {
                by: "alice".into(),
                duration_secs: 0,
            },
        ),
    );
    assert!(out.is_empty(), "{out:?}");
    // A second answer to the same request does nothing.
    assert!(server(&mut m, merged_c9(),).is_empty());
}

#[test]
fn a_held_invitation_that_ends_is_dropped_quietly() {
    let mut m = inviting("alice", "bob");
    server(&mut m, invited("c9", "carol"));
    let out = server(
        &mut m,
        ended(
            "c9",
            Outcome::Cancelled {
                disconnected: false,
            },
        ),
    );
    assert!(out.is_empty(), "{out:?}");
    assert!(matches!(m.call_state(), CallState::Dialing { .. }));
    // The Invite is refused after all: nothing rings.
    let out = server(&mut m, refused(1));
    assert!(matches!(
        events_of(&out)[..],
        [CallEvent::Error { code: 60035, .. }]
    ));
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn a_held_invitation_is_dropped_when_the_own_call_goes_through() {
    let mut m = inviting("alice", "bob");
    server(&mut m, invited("c9", "carol"));
    let out = server(&mut m, created(1, "c1"));
    assert!(matches!(events_of(&out)[..], [CallEvent::Ringing { .. }]));
    let out = step(&mut m, 6_000, Input::Hangup);
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Cancel {
            call_id: "c1".into()
        }]
    );
    assert!(events_of(&out).is_empty());
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn a_held_invitation_answered_on_another_device_shows_the_call_there() {
    let mut m = inviting("alice", "bob");
    server(&mut m, invited("c9", "carol"));
    let out = server(
        &mut m,
        ServerMsg::AnsweredElsewhere {
            call_id: "c9".into(),
        },
    );
    assert_eq!(
        events_of(&out),
        vec![CallEvent::InCallElsewhere {
            call_id: "c9".into(),
            peer: "carol".into()
        }]
    );
    // The own Invite is refused (this user is in a call): the user sees that call.
    let out = server(&mut m, refused(1));
    assert!(matches!(events_of(&out)[..], [CallEvent::Error { .. }]));
    assert!(matches!(
        m.call_state(),
        CallState::Elsewhere { peer, .. } if peer == "carol"
    ));

    // Likewise when the server says CallElsewhere.
    let mut m = inviting_mic_opening("alice", "bob");
    server(&mut m, invited("c9", "carol"));
    server(
        &mut m,
        ServerMsg::CallElsewhere {
            call_id: "c9".into(),
            peer: "carol".into(),
        },
    );
    let out = step(&mut m, 6_000, Input::Hangup);
    assert!(events_of(&out).is_empty(), "{out:?}");
    assert!(matches!(m.call_state(), CallState::Elsewhere { .. }));
}

#[test]
fn a_held_invitation_does_not_ring_on_the_way_out() {
    // Logging out.
    let mut m = inviting("alice", "bob");
    server(&mut m, invited("c9", "carol"));
    let out = step(&mut m, 6_000, Input::Logout);
    assert!(matches!(
        events_of(&out)[..],
        [CallEvent::LoggedOut { reason: None }]
    ));
    assert_eq!(m.call_state(), CallState::Idle);
    // The server ending the session.
    let mut m = inviting_mic_opening("alice", "bob");
    server(&mut m, invited("c9", "carol"));
    let out = step(
        &mut m,
        6_000,
        Input::SocketClosed {
            reason: "gone".into(),
            code: 1008,
        },
    );
    // The own invitation ends unanswered, and the held one never rings.
    assert!(matches!(
        events_of(&out)[..],
        [CallEvent::NoResp { .. }, CallEvent::LoggedOut { .. }]
    ));
    assert_eq!(m.call_state(), CallState::Idle);
    // Kicked out.
    let mut m = inviting("alice", "bob");
    server(&mut m, invited("c9", "carol"));
    let out = server(
        &mut m,
        ServerMsg::Error {
            code: ErrorCode::KickedOut,
            message: "replaced".into(),
            req: None,
        },
    );
    assert!(
        matches!(
            events_of(&out)[..],
            [
                CallEvent::NoResp { .. },
                CallEvent::KickedOut,
                CallEvent::LoggedOut { .. }
            ]
        ),
        "{out:?}"
    );
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn a_failure_while_inviting_rings_the_held_invitation() {
    let mut m = inviting("alice", "bob");
    server(&mut m, invited("c9", "carol"));
    let out = step(
        &mut m,
        6_000,
        Input::Media(MediaEvent::Error("boom".into())),
    );
    assert!(
        matches!(
            &events_of(&out)[..],
            [
                CallEvent::Error { code: 60002, .. },
                CallEvent::NoResp { .. },
                CallEvent::Invited { sponsor, .. }
            ] if sponsor == "carol"
        ),
        "{out:?}"
    );
    // The Invite's answer comes to a withdrawn request.
    assert!(server(&mut m, refused(1)).is_empty());
}
