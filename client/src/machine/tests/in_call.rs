//! The call's companions: the tones while it rings, the mute the other side sees, and the
//! volume and quality reports while it is accepted.

use super::*;

#[test]
fn tones_play_while_ringing_and_stop_when_answered() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    // No ringback before the callee's device rings.
    assert_eq!(w.dev("alice").tone, None);
    w.run();
    assert_eq!(w.dev("alice").tone, Some(Tone::Ringback));
    assert_eq!(w.dev("bob").tone, Some(Tone::Ringtone));
    w.input("bob", Input::Accept).unwrap();
    w.run();
    assert_eq!(w.dev("alice").tone, None);
    assert_eq!(w.dev("bob").tone, None);
}

#[test]
fn tones_stop_on_every_other_outcome() {
    type Ending = fn(&mut World);
    let endings: [(&str, Ending); 4] = [
        ("reject", |w| w.input("bob", Input::Reject).unwrap()),
        ("cancel", |w| w.input("alice", Input::Hangup).unwrap()),
        ("timeout", |w| w.advance(120_000)),
        ("logout", |w| w.input("bob", Input::Logout).unwrap()),
    ];
    for (name, end) in endings {
        let mut w = World::logged_in(&["alice", "bob"]);
        w.input("alice", Input::call("bob")).unwrap();
        w.run();
        assert_eq!(w.dev("bob").tone, Some(Tone::Ringtone), "{name}");
        end(&mut w);
        w.run();
        assert_eq!(w.dev("alice").tone, None, "{name}: ringback still playing");
        assert_eq!(w.dev("bob").tone, None, "{name}: ringtone still playing");
    }
}

#[test]
fn the_other_side_sees_the_mute_live() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.input("alice", Input::SetMicMute(true)).unwrap();
    w.run();
    assert_eq!(
        w.take_events("bob"),
        [CallEvent::UserAudioAvailable {
            user_id: "alice".into(),
            available: false
        }]
    );
    assert!(matches!(
        w.state("bob"),
        CallState::InCall {
            peer_muted: true,
            muted: false,
            ..
        }
    ));
    // Muting again changes nothing and says nothing.
    w.input("alice", Input::SetMicMute(true)).unwrap();
    w.run();
    assert_eq!(w.take_events("bob"), []);
    w.input("alice", Input::SetMicMute(false)).unwrap();
    w.run();
    assert_eq!(
        w.take_events("bob"),
        [CallEvent::UserAudioAvailable {
            user_id: "alice".into(),
            available: true
        }]
    );
    assert!(matches!(
        w.state("bob"),
        CallState::InCall {
            peer_muted: false,
            ..
        }
    ));
}

#[test]
fn a_mute_for_another_call_is_ignored() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.reply(
        "bob",
        ServerMsg::Signal {
            call_id: "not-this-call".into(),
            signal: Signal::Mute { muted: true },
        },
    );
    w.run();
    assert_eq!(w.take_events("bob"), []);
    assert!(matches!(
        w.state("bob"),
        CallState::InCall {
            peer_muted: false,
            ..
        }
    ));
}

#[test]
fn volume_and_quality_are_reported_during_the_call_only() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.dev("alice").stats = StatsSample {
        local_level: Some(0.36),
        remote_level: Some(0.04),
        packets_received: Some(0),
        packets_sent: Some(0),
        ..StatsSample::default()
    };
    w.advance(STATS_EVERY_MS);
    assert_eq!(
        w.take_all_events("alice"),
        [CallEvent::UserVoiceVolume {
            local: 60,
            remote: 20
        }]
    );
    // A second later, 50 packets each way and none lost.
    w.dev("alice").stats = StatsSample {
        packets_received: Some(50),
        packets_lost: Some(0),
        packets_sent: Some(50),
        remote_packets_lost: Some(0),
        rtt_s: Some(0.002),
        ..w.dev("alice").stats.clone()
    };
    w.advance(QUALITY_EVERY_MS);
    let events = w.take_all_events("alice");
    let Some(CallEvent::NetworkQuality(quality)) = events.last() else {
        panic!("no quality report: {events:?}");
    };
    assert_eq!(quality.receiving.level, 5);
    assert_eq!(quality.sending.rtt_ms, Some(2));

    // Muted, the microphone's volume is 0 whatever the browser measures before the track.
    w.input("alice", Input::SetMicMute(true)).unwrap();
    w.advance(STATS_EVERY_MS);
    assert!(w
        .take_all_events("alice")
        .contains(&CallEvent::UserVoiceVolume {
            local: 0,
            remote: 20
        }));

    w.input("alice", Input::Hangup).unwrap();
    w.run();
    assert!(!w.dev("alice").timers.contains_key(&Timer::Stats));
    assert!(!w.dev("bob").timers.contains_key(&Timer::Stats));
    w.advance(5_000);
    assert!(!w.take_all_events("alice").iter().any(|e| matches!(
        e,
        CallEvent::UserVoiceVolume { .. } | CallEvent::NetworkQuality(_)
    )));
}
