//! Ringing counts, outcomes, and what a user's other devices do to this one.

use super::*;

/// A lone `user` machine whose call `call_id` from `caller` rings.
fn ringing(user: &str, call_id: &str, caller: &str) -> Machine {
    let mut m = lone(user);
    let out = server(&mut m, invited(call_id, caller));
    assert!(matches!(events_of(&out)[..], [CallEvent::Invited { .. }]));
    m
}

/// A lone `user` machine that placed call `call_id` to `callee`, ringing on one device.
fn dialing(user: &str, call_id: &str, callee: &str) -> Machine {
    let mut m = lone(user);
    step(&mut m, 1_000, Input::call(callee));
    step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
    assert_eq!(
        m.call_state(),
        CallState::Dialing {
            callee: callee.into(),
            ringing: None
        }
    );
    server(
        &mut m,
        ServerMsg::CallCreated {
            req: 1,
            call_id: call_id.into(),
            callee: callee.into(),
            ringing: 1,
        },
    );
    m
}

#[test]
fn call_created_and_ringing_report_how_many_devices_ring() {
    let mut m = lone("alice");
    step(&mut m, 1_000, Input::call("bob"));
    step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
    let out = server(
        &mut m,
        ServerMsg::CallCreated {
            req: 1,
            call_id: "c1".into(),
            callee: "bob".into(),
            ringing: 0,
        },
    );
    assert!(
        matches!(
            &out[..],
            [
                Output::Media(MediaCommand::CreatePeer { offer: true, .. }),
                Output::Event(CallEvent::Ringing { callee, devices: 0 })
            ] if callee == "bob"
        ),
        "{out:?}"
    );
    assert_eq!(
        m.call_state(),
        CallState::Dialing {
            callee: "bob".into(),
            ringing: Some(0)
        }
    );
    // Bob logs in on two devices during the ring timeout.
    for devices in [1, 2] {
        let out = server(
            &mut m,
            ServerMsg::Ringing {
                call_id: "c1".into(),
                devices,
            },
        );
        assert_eq!(
            events_of(&out),
            vec![CallEvent::Ringing {
                callee: "bob".into(),
                devices
            }]
        );
        assert_eq!(
            m.call_state(),
            CallState::Dialing {
                callee: "bob".into(),
                ringing: Some(devices)
            }
        );
    }
    // A count for another call changes nothing.
    let out = server(
        &mut m,
        ServerMsg::Ringing {
            call_id: "other".into(),
            devices: 5,
        },
    );
    assert!(out.is_empty(), "{out:?}");
    assert!(matches!(
        m.call_state(),
        CallState::Dialing {
            ringing: Some(2),
            ..
        }
    ));
}

#[test]
fn ringing_before_the_call_exists_or_after_it_is_ignored() {
    let mut m = lone("alice");
    let msg = ServerMsg::Ringing {
        call_id: "c1".into(),
        devices: 1,
    };
    assert!(server(&mut m, msg.clone()).is_empty());
    step(&mut m, 1_000, Input::call("bob"));
    step(&mut m, 1_000, Input::Media(MediaEvent::MicReady));
    assert!(server(&mut m, msg).is_empty());
    assert!(matches!(
        m.call_state(),
        CallState::Dialing { ringing: None, .. }
    ));
}

#[test]
fn no_answer_from_an_offline_callee_says_so() {
    for (offline, reason) in [
        (true, NoRespReason::Offline),
        (false, NoRespReason::Timeout),
    ] {
        let mut m = dialing("alice", "c1", "bob");
        let out = server(&mut m, ended("c1", Outcome::NoAnswer { offline }));
        assert_eq!(
            events_of(&out),
            vec![CallEvent::NoResp {
                user_id: "bob".into(),
                reason
            }]
        );
        assert!(out.contains(&Output::Media(MediaCommand::Close)));
        assert_eq!(m.call_state(), CallState::Idle);
    }
}

#[test]
fn a_caller_that_drops_cancels_with_a_reason() {
    for disconnected in [true, false] {
        let mut m = ringing("bob", "c1", "alice");
        let out = server(&mut m, ended("c1", Outcome::Cancelled { disconnected }));
        assert_eq!(
            events_of(&out),
            vec![CallEvent::CallingCancel {
                sponsor: "alice".into(),
                call_id: "c1".into(),
                caller_disconnected: disconnected
            }]
        );
        assert_eq!(m.call_state(), CallState::Idle);
    }
}

#[test]
fn an_accepted_call_connects_until_the_server_confirms() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    let events = w.take_events("bob");
    let [CallEvent::Invited { call_id, .. }] = &events[..] else {
        panic!("{events:?}")
    };
    w.input("bob", Input::Accept).unwrap();
    assert_eq!(
        w.state("bob"),
        CallState::Connecting {
            peer: "alice".into(),
            call_id: call_id.clone()
        }
    );
    w.run();
    assert!(matches!(w.state("bob"), CallState::InCall { .. }));
}

#[test]
fn answered_on_another_device_while_ringing_here() {
    let mut m = ringing("bob", "c1", "alice");
    let out = server(
        &mut m,
        ServerMsg::AnsweredElsewhere {
            call_id: "c1".into(),
        },
    );
    assert_eq!(
        events_of(&out),
        vec![
            CallEvent::AnsweredElsewhere {
                sponsor: "alice".into(),
                call_id: "c1".into()
            },
            CallEvent::InCallElsewhere {
                call_id: "c1".into(),
                peer: "alice".into()
            }
        ]
    );
    assert!(sent_of(&out).is_empty());
    assert_eq!(
        m.call_state(),
        CallState::Elsewhere {
            peer: "alice".into(),
            call_id: "c1".into()
        }
    );
    assert_eq!(
        m.handle(6_000, Input::Accept),
        Err(ClientError::NoCall("accept"))
    );

    // No call can be placed here meanwhile.
    assert_eq!(
        m.handle(6_000, Input::call("carol")),
        Err(ClientError::InCallElsewhere)
    );
    assert!(drain(&mut m).is_empty());
    assert!(matches!(m.call_state(), CallState::Elsewhere { .. }));

    // The server's CallElsewhere about the same call is no news.
    let out = server(
        &mut m,
        ServerMsg::CallElsewhere {
            call_id: "c1".into(),
            peer: "alice".into(),
        },
    );
    assert!(out.is_empty(), "{out:?}");

    let out = server(
        &mut m,
        ended(
            "c1",
            Outcome::HungUp {
                by: "alice".into(),
                duration_secs: 9,
            },
        ),
    );
    assert_eq!(
        events_of(&out),
        vec![CallEvent::InCallElsewhereEnded {
            call_id: "c1".into()
        }]
    );
    assert_eq!(m.call_state(), CallState::Idle);
    m.handle(7_000, Input::call("carol")).unwrap();
}

#[test]
fn answered_on_another_device_while_accepting_here_closes_the_media() {
    let mut m = ringing("bob", "c1", "alice");
    let out = step(&mut m, 5_000, Input::Accept);
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Accept {
            call_id: "c1".into()
        }]
    );
    // Accepting again sends nothing.
    assert_eq!(
        m.handle(5_000, Input::Accept),
        Err(ClientError::NoCall("accept"))
    );
    assert!(drain(&mut m).is_empty());

    let out = server(
        &mut m,
        ServerMsg::AnsweredElsewhere {
            call_id: "c1".into(),
        },
    );
    assert_eq!(
        out,
        vec![
            Output::Media(MediaCommand::Close),
            Output::Event(CallEvent::AnsweredElsewhere {
                sponsor: "alice".into(),
                call_id: "c1".into()
            }),
            Output::Event(CallEvent::InCallElsewhere {
                call_id: "c1".into(),
                peer: "alice".into()
            }),
        ]
    );
    assert!(matches!(m.call_state(), CallState::Elsewhere { .. }));
    // The server refuses the accept that lost; that is no news.
    let out = server(
        &mut m,
        ServerMsg::Error {
            code: ErrorCode::WrongState,
            message: "accepted elsewhere".into(),
            req: None,
        },
    );
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn call_elsewhere_for_the_call_ringing_here_means_it_was_answered_elsewhere() {
    let mut m = ringing("bob", "c1", "alice");
    let out = server(
        &mut m,
        ServerMsg::CallElsewhere {
            call_id: "c1".into(),
            peer: "alice".into(),
        },
    );
    assert!(matches!(
        events_of(&out)[..],
        [
            CallEvent::AnsweredElsewhere { .. },
            CallEvent::InCallElsewhere { .. }
        ]
    ));
    // The AnsweredElsewhere that follows is no news.
    let out = server(
        &mut m,
        ServerMsg::AnsweredElsewhere {
            call_id: "c1".into(),
        },
    );
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn answered_elsewhere_for_another_call_is_ignored() {
    let mut m = ringing("bob", "c1", "alice");
    let out = server(
        &mut m,
        ServerMsg::AnsweredElsewhere {
            call_id: "c2".into(),
        },
    );
    assert!(out.is_empty(), "{out:?}");
    assert!(matches!(m.call_state(), CallState::Incoming { .. }));
    let mut m = lone("bob");
    let out = server(
        &mut m,
        ServerMsg::AnsweredElsewhere {
            call_id: "c2".into(),
        },
    );
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn a_call_on_another_device_is_shown_until_it_ends() {
    let mut m = lone("alice");
    let msg = ServerMsg::CallElsewhere {
        call_id: "c7".into(),
        peer: "bob".into(),
    };
    let out = server(&mut m, msg.clone());
    assert_eq!(
        events_of(&out),
        vec![CallEvent::InCallElsewhere {
            call_id: "c7".into(),
            peer: "bob".into()
        }]
    );
    assert_eq!(
        m.call_state(),
        CallState::Elsewhere {
            peer: "bob".into(),
            call_id: "c7".into()
        }
    );
    assert!(server(&mut m, msg).is_empty(), "told twice");
    assert_eq!(
        m.handle(6_000, Input::call("carol")),
        Err(ClientError::InCallElsewhere)
    );
    // The end of another call is not the end of this one.
    assert!(server(&mut m, ended("c8", Outcome::Rejected)).is_empty());
    let out = server(&mut m, ended("c7", Outcome::NoAnswer { offline: true }));
    assert_eq!(
        events_of(&out),
        vec![CallEvent::InCallElsewhereEnded {
            call_id: "c7".into()
        }]
    );
    assert_eq!(m.call_state(), CallState::Idle);
    assert!(server(&mut m, ended("c7", Outcome::Rejected)).is_empty());
}

#[test]
fn rejected_on_another_device() {
    let mut m = ringing("bob", "c1", "alice");
    let out = server(&mut m, ended("c1", Outcome::Rejected));
    assert_eq!(
        out,
        vec![Output::Event(CallEvent::RejectedElsewhere {
            sponsor: "alice".into(),
            call_id: "c1".into()
        })]
    );
    assert_eq!(m.call_state(), CallState::Idle);

    // Another device rejected first while this one was accepting.
    let mut m = ringing("bob", "c1", "alice");
    step(&mut m, 5_000, Input::Accept);
    let out = server(&mut m, ended("c1", Outcome::Rejected));
    assert_eq!(
        out,
        vec![
            Output::Media(MediaCommand::Close),
            Output::Event(CallEvent::RejectedElsewhere {
                sponsor: "alice".into(),
                call_id: "c1".into()
            })
        ]
    );
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn logging_out_forgets_the_call_elsewhere() {
    let mut m = lone("alice");
    server(
        &mut m,
        ServerMsg::CallElsewhere {
            call_id: "c7".into(),
            peer: "bob".into(),
        },
    );
    let out = step(
        &mut m,
        6_000,
        Input::SocketClosed {
            reason: "gone".into(),
            code: 1008,
        },
    );
    assert!(matches!(events_of(&out)[..], [CallEvent::LoggedOut { .. }]));
    assert_eq!(m.call_state(), CallState::Idle);
    // After the next login the server tells again, if the call still goes on.
    step(&mut m, 7_000, Input::login("alice"));
    step(&mut m, 7_000, Input::SocketOpened);
    server(
        &mut m,
        ServerMsg::LoggedIn {
            user_id: "alice".into(),
            ice_servers: vec![],
            expires_in_secs: 3600,
            relay_only: false,
            session: "s-1".into(),
            resumed: false,
        },
    );
    m.handle(8_000, Input::call("bob")).unwrap();

    let mut m = lone("alice");
    server(
        &mut m,
        ServerMsg::CallElsewhere {
            call_id: "c7".into(),
            peer: "bob".into(),
        },
    );
    step(&mut m, 6_000, Input::Logout);
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn too_many_devices_refuses_the_login() {
    assert_eq!(server_error_code(ErrorCode::TooManyDevices), 60040);
    let mut w = World::new(&["alice"]);
    w.input("alice", Input::login("alice")).unwrap();
    w.to_server.clear();
    w.input(
        "alice",
        Input::Server(ServerMsg::Error {
            code: ErrorCode::TooManyDevices,
            message: "logged in on 4 devices already".into(),
            req: None,
        }),
    )
    .unwrap();
    assert_eq!(
        w.take_events("alice"),
        vec![
            CallEvent::Error {
                code: 60040,
                message: "logged in on 4 devices already".into()
            },
            CallEvent::LoggedOut {
                reason: Some("login failed".into())
            }
        ]
    );
    assert!(!w.devices["alice"].socket_open);
    assert_eq!(w.dev("alice").machine.user_id(), None);
}
