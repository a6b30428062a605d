//! Recovering a connected call's audio path: an interruption is told to the app and the server,
//! the caller restarts ICE (after 2 s of "disconnected", at once on "failed", again every 2 s,
//! never while the server is out of reach), the callee only answers, and the path coming back
//! stops it all.

use super::*;

fn interrupted(call_id: &str) -> CallEvent {
    CallEvent::AudioInterrupted {
        call_id: call_id.into(),
    }
}

fn restored(call_id: &str) -> CallEvent {
    CallEvent::AudioRestored {
        call_id: call_id.into(),
    }
}

fn restarts(w: &World, user: &str) -> usize {
    w.devices[user].peer.as_ref().map_or(0, |p| p.restarts)
}

fn restart_offers_sent(w: &World, user: &str) -> usize {
    w.sent
        .iter()
        .filter(|(from, msg)| {
            from == user
                && matches!(
                    msg,
                    ClientMsg::Signal {
                        signal: Signal::Offer { sdp },
                        ..
                    } if sdp == "restart"
                )
        })
        .count()
}

fn sent_count(w: &World, user: &str, wanted: &ClientMsg) -> usize {
    w.sent
        .iter()
        .filter(|(from, msg)| from == user && msg == wanted)
        .count()
}

#[test]
fn a_disconnected_path_is_restarted_by_the_caller_and_comes_back() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    for user in ["alice", "bob"] {
        w.input(user, Input::Media(MediaEvent::Disconnected))
            .unwrap();
    }
    w.run();
    let told = ClientMsg::MediaInterrupted {
        call_id: "call-1".into(),
    };
    for user in ["alice", "bob"] {
        assert_eq!(w.take_events(user), vec![interrupted("call-1")]);
        assert_eq!(sent_count(&w, user, &told), 1);
        assert!(matches!(
            w.state(user),
            CallState::InCall {
                connected: true,
                interrupted: true,
                ..
            }
        ));
    }

    // "disconnected" may pass by itself: the caller waits 2 s before restarting.
    w.advance(ICE_RESTART_AFTER_MS - 1);
    assert_eq!(restarts(&w, "alice"), 0);
    w.advance(1);
    assert_eq!(restarts(&w, "alice"), 1);
    // The offer goes to bob, who answers it; bob never restarts himself.
    assert_eq!(restart_offers_sent(&w, "alice"), 1);
    assert_eq!(restarts(&w, "bob"), 0);
    assert!(w.sent.iter().any(|(from, msg)| from == "bob"
        && matches!(
            msg,
            ClientMsg::Signal {
                signal: Signal::Answer { .. },
                ..
            }
        )));

    // Back: the timers stop, the app and the server hear it, the call goes on.
    let audio = ClientMsg::MediaConnected {
        call_id: "call-1".into(),
    };
    let before = sent_count(&w, "alice", &audio);
    for user in ["alice", "bob"] {
        w.input(user, Input::Media(MediaEvent::Connected)).unwrap();
        assert_eq!(w.take_events(user), vec![restored("call-1")]);
        assert!(matches!(
            w.state(user),
            CallState::InCall {
                connected: true,
                interrupted: false,
                ..
            }
        ));
    }
    w.run();
    assert_eq!(sent_count(&w, "alice", &audio), before + 1);
    w.advance(2 * MEDIA_LOST_AFTER_MS);
    assert_eq!(restarts(&w, "alice"), 1);
    for user in ["alice", "bob"] {
        assert!(w.take_events(user).is_empty());
        assert!(matches!(w.state(user), CallState::InCall { .. }));
    }
}

#[test]
fn a_failed_path_is_restarted_at_once_and_again_until_it_is_back() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.input("alice", Input::Media(MediaEvent::Failed)).unwrap();
    w.advance(0);
    assert_eq!(restarts(&w, "alice"), 1);
    w.advance(ICE_RESTART_RETRY_MS);
    assert_eq!(restarts(&w, "alice"), 2);
    w.advance(ICE_RESTART_RETRY_MS);
    assert_eq!(restarts(&w, "alice"), 3);
    // A second "disconnected" within the interruption changes nothing for the app.
    w.input("alice", Input::Media(MediaEvent::Disconnected))
        .unwrap();
    assert_eq!(w.take_events("alice"), vec![interrupted("call-1")]);
    w.input("alice", Input::Media(MediaEvent::Connected))
        .unwrap();
    assert_eq!(w.take_events("alice"), vec![restored("call-1")]);
    w.advance(3 * ICE_RESTART_RETRY_MS);
    assert_eq!(restarts(&w, "alice"), 3);
}

#[test]
fn the_callee_waits_for_the_callers_restart_and_gives_up_after_the_limit() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.input("bob", Input::Media(MediaEvent::Failed)).unwrap();
    w.advance(MEDIA_LOST_AFTER_MS - 1);
    assert_eq!(restarts(&w, "bob"), 0);
    assert_eq!(w.take_events("bob"), vec![interrupted("call-1")]);
    w.advance(1);
    let events = w.take_events("bob");
    assert!(
        matches!(&events[..], [CallEvent::CallEnd { failure: Some(f), .. }] if f == "connection lost"),
        "{events:?}"
    );
    assert_eq!(w.state("bob"), CallState::Idle);
}

#[test]
fn no_restart_goes_out_while_the_server_is_out_of_reach() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    // The whole network goes: the socket drops and the audio path with it.
    w.cut("alice", true);
    w.input(
        "alice",
        Input::SocketClosed {
            reason: "gone".into(),
            code: CLOSE_ABNORMAL,
        },
    )
    .unwrap();
    w.input("alice", Input::Media(MediaEvent::Disconnected))
        .unwrap();
    w.advance(3 * ICE_RESTART_RETRY_MS);
    assert_eq!(restarts(&w, "alice"), 0, "an offer nobody could carry");
    // Back: the next try restarts.
    w.cut("alice", false);
    w.advance(MAX_BACKOFF_MS);
    assert!(!w.devices["alice"].machine.is_reconnecting());
    assert!(restarts(&w, "alice") >= 1);
    assert_eq!(restart_offers_sent(&w, "alice"), restarts(&w, "alice"));
}

#[test]
fn a_path_that_never_connected_fails_as_before() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    w.input("bob", Input::Accept).unwrap();
    // Fail before the fake peers connect: make alice's report first.
    w.input("alice", Input::Media(MediaEvent::Failed)).unwrap();
    let events = w.take_events("alice");
    assert!(
        events.iter().any(|e| matches!(
            e,
            CallEvent::NoResp { .. }
                | CallEvent::CallEnd {
                    failure: Some(_),
                    ..
                }
        )),
        "{events:?}"
    );
    assert_eq!(w.state("alice"), CallState::Idle);
    assert_eq!(restarts(&w, "alice"), 0);
}
