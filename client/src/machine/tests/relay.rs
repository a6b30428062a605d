//! TURN: the ICE servers and relay-only policy from `LoggedIn` reach the peer connection; STUN
//! and TURN server failures are told once per call; a relay-only call that can never connect
//! fails at once.

use webcall_protocol::IceServer;

use super::*;
use crate::IceServerError;

const TURN: &str = "turn:127.0.0.1:3478?transport=udp";
const OTHER_TURN: &str = "turn:turn.example.com";

/// A lone `user` machine logged in with these TURN URLs (one server entry, with credentials).
fn logged_in_with(user: &str, turn_urls: &[&str], relay_only: bool) -> Machine {
    let mut m = Machine::new(1_400_000_000);
    m.handle(0, Input::login(user)).unwrap();
    m.handle(0, Input::SocketOpened).unwrap();
    m.handle(
        0,
        Input::Server(ServerMsg::LoggedIn {
            user_id: user.into(),
            ice_servers: servers(turn_urls),
            expires_in_secs: 3600,
            relay_only,
            session: "s-1".into(),
            resumed: false,
        }),
    )
    .unwrap();
    drain(&mut m);
    m
}

fn servers(turn_urls: &[&str]) -> Vec<IceServer> {
    vec![IceServer {
        urls: turn_urls.iter().map(|u| u.to_string()).collect(),
        username: Some("1700000000:alice".into()),
        credential: Some("c2VjcmV0".into()),
    }]
}

/// Places call "call-1" to bob, which rings; returns the outputs of the server's answer.
fn dial(m: &mut Machine) -> Vec<Output> {
    step(m, 1_000, Input::call("bob"));
    step(m, 1_000, Input::Media(MediaEvent::MicReady));
    server(m, created(1, "call-1"))
}

fn failure(url: &str, code: u16, text: &str) -> Input {
    Input::Media(MediaEvent::IceServerFailed(IceServerError {
        url: url.into(),
        code,
        text: text.into(),
    }))
}

fn unauthorized(url: &str) -> Input {
    failure(url, 401, "Unauthorized")
}

#[test]
fn the_peer_gets_the_servers_and_the_relay_only_policy() {
    for relay_only in [false, true] {
        let mut caller = logged_in_with("alice", &[TURN], relay_only);
        let out = dial(&mut caller);
        assert!(
            out.contains(&Output::Media(MediaCommand::CreatePeer {
                ice_servers: servers(&[TURN]),
                relay_only,
                offer: true,
            })),
            "{out:?}"
        );

        let mut callee = logged_in_with("bob", &[TURN], relay_only);
        server(&mut callee, invited("call-2", "alice"));
        let out = step(&mut callee, 6_000, Input::Accept);
        assert!(
            out.contains(&Output::Media(MediaCommand::CreatePeer {
                ice_servers: servers(&[TURN]),
                relay_only,
                offer: false,
            })),
            "{out:?}"
        );
    }
}

#[test]
fn a_relay_only_call_whose_turn_server_refuses_the_credentials_fails_at_once() {
    let mut m = logged_in_with("alice", &[TURN], true);
    dial(&mut m);
    let out = step(&mut m, 6_000, unauthorized(TURN));
    let message = format!("the TURN server {TURN} refused the credentials (401 Unauthorized)");
    assert_eq!(
        events_of(&out),
        vec![
            CallEvent::Error {
                code: 60050,
                message: message.clone(),
            },
            CallEvent::NoResp {
                user_id: "bob".into(),
                reason: NoRespReason::Unreachable(format!("the call cannot connect: {message}")),
            },
        ]
    );
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Cancel {
            call_id: "call-1".into()
        }]
    );
    assert!(out.contains(&Output::Media(MediaCommand::Close)));
    assert_eq!(m.call_state(), CallState::Idle);
    // What the closing peer still reports changes nothing.
    assert!(step(&mut m, 6_001, unauthorized(TURN)).is_empty());
    assert!(step(&mut m, 6_002, Input::Media(MediaEvent::GatheringComplete)).is_empty());
}

#[test]
fn a_relay_only_call_fails_once_every_turn_server_refused_it() {
    // Reported the way browsers write URLs: port and transport spelled out.
    let other_as_reported = "turn:turn.example.com:3478?transport=udp";
    let mut m = logged_in_with("alice", &[TURN, OTHER_TURN], true);
    dial(&mut m);
    let out = step(&mut m, 6_000, unauthorized(TURN));
    assert!(
        matches!(&events_of(&out)[..], [CallEvent::Error { code: 60050, .. }]),
        "{out:?}"
    );
    // Told once per call; the same server again, or another that cannot be reached (which it
    // may be from another network interface), changes nothing.
    assert!(step(&mut m, 6_001, unauthorized(TURN)).is_empty());
    assert!(step(&mut m, 6_002, failure(other_as_reported, 701, "timed out")).is_empty());
    assert!(matches!(m.call_state(), CallState::Dialing { .. }));
    // The other one refuses too: nothing is left.
    let out = step(&mut m, 6_003, failure(other_as_reported, 403, "Forbidden"));
    assert!(
        matches!(
            &events_of(&out)[..],
            [CallEvent::NoResp { reason: NoRespReason::Unreachable(why), .. }]
                if why.ends_with("refused the credentials (401 Unauthorized)")
        ),
        "{out:?}"
    );
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn a_relay_only_call_fails_when_gathering_ends_without_a_candidate() {
    // An unreachable TURN server: no refusal, but no relay candidate either.
    let mut m = logged_in_with("alice", &[TURN], true);
    dial(&mut m);
    let out = step(
        &mut m,
        6_000,
        failure(TURN, 701, "TURN allocate request timed out."),
    );
    assert!(
        matches!(&events_of(&out)[..], [CallEvent::Error { code: 60050, message }]
            if message.contains("could not be reached")),
        "{out:?}"
    );
    let out = step(&mut m, 9_000, Input::Media(MediaEvent::GatheringComplete));
    assert!(
        matches!(
            &events_of(&out)[..],
            [CallEvent::NoResp { reason: NoRespReason::Unreachable(why), .. }]
                if why.starts_with("the call cannot connect: the TURN server")
        ),
        "{out:?}"
    );

    // Without any failure reported either.
    let mut m = logged_in_with("alice", &[TURN], true);
    dial(&mut m);
    let out = step(&mut m, 9_000, Input::Media(MediaEvent::GatheringComplete));
    assert!(
        matches!(
            &events_of(&out)[..],
            [CallEvent::NoResp { reason: NoRespReason::Unreachable(why), .. }]
                if why == "the call cannot connect: no TURN server gave this device a relay address"
        ),
        "{out:?}"
    );
}

#[test]
fn a_relay_only_call_with_a_relay_candidate_goes_on() {
    let mut m = logged_in_with("alice", &[TURN, OTHER_TURN], true);
    dial(&mut m);
    step(&mut m, 6_000, unauthorized(TURN));
    let out = step(
        &mut m,
        6_001,
        Input::Media(MediaEvent::LocalSignal(ice("relay"))),
    );
    assert_eq!(sent_of(&out).len(), 1, "the candidate goes out: {out:?}");
    assert!(step(&mut m, 6_002, Input::Media(MediaEvent::GatheringComplete)).is_empty());
    assert!(matches!(m.call_state(), CallState::Dialing { .. }));
}

#[test]
fn without_relay_only_failures_are_told_once_and_the_call_goes_on() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.input("alice", failure("stun:stun.example.com:3478", 701, ""))
        .unwrap();
    assert_eq!(
        w.take_events("alice"),
        vec![CallEvent::Error {
            code: 60050,
            message: "the STUN server stun:stun.example.com:3478 could not be reached (701)".into(),
        }]
    );
    w.input("alice", unauthorized(TURN)).unwrap();
    w.input("alice", Input::Media(MediaEvent::GatheringComplete))
        .unwrap();
    assert!(w.take_events("alice").is_empty());
    assert!(matches!(
        w.state("alice"),
        CallState::InCall {
            connected: true,
            ..
        }
    ));
}

#[test]
fn a_relay_only_callee_fails_the_accepted_call_and_the_next_call_is_told_again() {
    let mut m = logged_in_with("bob", &[OTHER_TURN], true);
    server(&mut m, invited("call-1", "alice"));
    step(&mut m, 5_000, Input::Accept);
    server(
        &mut m,
        ServerMsg::Accepted {
            call_id: "call-1".into(),
        },
    );
    let out = step(
        &mut m,
        7_000,
        unauthorized("turn:turn.example.com:3478?transport=udp"),
    );
    let why = "the call cannot connect: the TURN server turn:turn.example.com:3478?transport=udp \
               refused the credentials (401 Unauthorized)";
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Hangup {
            call_id: "call-1".into(),
            failure: Some(why.into()),
        }]
    );
    assert!(
        matches!(
            &events_of(&out)[..],
            [
                CallEvent::Error { code: 60050, .. },
                CallEvent::CallEnd { failure: Some(f), ended_by: None, .. }
            ] if f == why
        ),
        "{out:?}"
    );
    // A new call starts with a clean slate.
    server(
        &mut m,
        ended(
            "call-1",
            Outcome::Failed {
                message: why.into(),
            },
        ),
    );
    server(&mut m, invited("call-2", "alice"));
    step(&mut m, 8_000, Input::Accept);
    let out = step(&mut m, 8_001, unauthorized(OTHER_TURN));
    assert!(
        matches!(
            &events_of(&out)[..],
            [
                CallEvent::Error { code: 60050, .. },
                CallEvent::CallEnd { .. }
            ]
        ),
        "{out:?}"
    );
}
