//! Watching whether other users are online.

use webcall_protocol::{UserIdError, MAX_WATCHED};

use super::*;

fn users(ids: &[&str]) -> Vec<UserId> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn presence(user: &str, online: bool) -> ServerMsg {
    ServerMsg::Presence {
        user_id: user.into(),
        online,
    }
}

fn watch_sent(w: &World, user: &str) -> Vec<Vec<UserId>> {
    w.sent
        .iter()
        .filter_map(|(from, m)| match m {
            ClientMsg::Watch { users } if from == user => Some(users.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn watching_while_logged_in_asks_the_server_at_once() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input(
        "alice",
        Input::WatchPresence(users(&["bob", "carol", "bob"])),
    )
    .unwrap();
    assert_eq!(watch_sent(&w, "alice"), vec![users(&["bob", "carol"])]);
    w.run();
    assert_eq!(
        w.take_events("alice"),
        vec![
            CallEvent::PresenceChanged {
                user_id: "bob".into(),
                online: true
            },
            CallEvent::PresenceChanged {
                user_id: "carol".into(),
                online: false
            }
        ]
    );
    let alice = &w.devices["alice"].machine;
    assert_eq!(alice.presence("bob"), Some(true));
    assert_eq!(alice.presence("carol"), Some(false));
    assert_eq!(alice.presence("dave"), None);
}

#[test]
fn presence_changes_are_reported_once_each() {
    let mut m = lone("alice");
    let out = step(&mut m, 1_000, Input::WatchPresence(users(&["bob"])));
    assert_eq!(
        out,
        vec![Output::Send(ClientMsg::Watch {
            users: users(&["bob"])
        })]
    );
    assert_eq!(m.presence("bob"), None);
    let came = vec![CallEvent::PresenceChanged {
        user_id: "bob".into(),
        online: true,
    }];
    assert_eq!(events_of(&server(&mut m, presence("bob", true))), came);
    assert!(server(&mut m, presence("bob", true)).is_empty(), "no news");
    let out = server(&mut m, presence("bob", false));
    assert_eq!(
        events_of(&out),
        vec![CallEvent::PresenceChanged {
            user_id: "bob".into(),
            online: false
        }]
    );
    assert_eq!(m.presence("bob"), Some(false));
    // Users nobody watches are ignored.
    assert!(server(&mut m, presence("mallory", true)).is_empty());
    assert_eq!(m.presence("mallory"), None);
}

#[test]
fn the_watch_list_outlives_the_session() {
    let mut w = World::new(&["alice", "bob"]);
    // Stored while logged out; nothing is sent on no socket.
    w.input("alice", Input::WatchPresence(users(&["bob"])))
        .unwrap();
    assert!(w.sent.is_empty());
    w.input("bob", Input::login("bob")).unwrap();
    w.input("alice", Input::login("alice")).unwrap();
    w.run();
    assert_eq!(watch_sent(&w, "alice"), vec![users(&["bob"])]);
    assert_eq!(
        w.take_events("alice"),
        vec![
            CallEvent::LoggedIn {
                user_id: "alice".into()
            },
            CallEvent::PresenceChanged {
                user_id: "bob".into(),
                online: true
            }
        ]
    );
    assert!(watch_sent(&w, "bob").is_empty(), "an empty list was sent");
    // What the server said goes with the session; the list stays.
    w.input("alice", Input::Logout).unwrap();
    assert_eq!(w.devices["alice"].machine.presence("bob"), None);
    w.take_events("alice");
    w.input("alice", Input::login("alice")).unwrap();
    w.run();
    assert_eq!(watch_sent(&w, "alice").len(), 2);
    assert_eq!(w.devices["alice"].machine.presence("bob"), Some(true));
    assert!(matches!(
        w.take_events("alice")[..],
        [
            CallEvent::LoggedIn { .. },
            CallEvent::PresenceChanged { online: true, .. }
        ]
    ));
    // A session the server ends forgets likewise.
    w.dev("alice").socket_open = false;
    w.input(
        "alice",
        Input::SocketClosed {
            reason: "gone".into(),
            code: 1008,
        },
    )
    .unwrap();
    assert_eq!(w.devices["alice"].machine.presence("bob"), None);
}

#[test]
fn watching_while_logging_in_waits_for_the_login() {
    let mut m = Machine::new(1);
    m.handle(0, Input::login("alice")).unwrap();
    m.handle(0, Input::SocketOpened).unwrap();
    drain(&mut m);
    let out = step(&mut m, 0, Input::WatchPresence(users(&["bob"])));
    assert!(out.is_empty(), "{out:?}");
    let out = server(
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
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Watch {
            users: users(&["bob"])
        }]
    );
}

#[test]
fn a_new_list_replaces_the_old_one() {
    let mut m = lone("alice");
    step(
        &mut m,
        1_000,
        Input::WatchPresence(users(&["bob", "carol"])),
    );
    server(&mut m, presence("bob", true));
    server(&mut m, presence("carol", true));
    let out = step(&mut m, 2_000, Input::WatchPresence(users(&["carol"])));
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Watch {
            users: users(&["carol"])
        }]
    );
    assert_eq!(m.presence("bob"), None);
    assert_eq!(m.presence("carol"), Some(true));
    assert!(server(&mut m, presence("bob", false)).is_empty());
    // An empty list stops watching.
    let out = step(&mut m, 3_000, Input::WatchPresence(vec![]));
    assert_eq!(sent_of(&out), vec![ClientMsg::Watch { users: vec![] }]);
    assert_eq!(m.presence("carol"), None);
    assert!(server(&mut m, presence("carol", false)).is_empty());
}

#[test]
fn bad_watch_lists_are_refused_and_change_nothing() {
    let mut m = lone("alice");
    step(&mut m, 1_000, Input::WatchPresence(users(&["bob"])));
    server(&mut m, presence("bob", true));

    assert_eq!(
        m.handle(2_000, Input::WatchPresence(users(&["carol", "no good"]))),
        Err(ClientError::BadUserId(UserIdError::BadCharacter))
    );
    assert_eq!(
        m.handle(2_000, Input::WatchPresence(users(&[""]))),
        Err(ClientError::BadUserId(UserIdError::Empty))
    );
    let too_many: Vec<UserId> = (0..=MAX_WATCHED).map(|i| format!("user{i}")).collect();
    assert_eq!(
        m.handle(2_000, Input::WatchPresence(too_many.clone())),
        Err(ClientError::TooManyWatched)
    );
    assert!(drain(&mut m).is_empty(), "a refused list was sent");
    assert_eq!(m.presence("bob"), Some(true));
    assert!(!server(&mut m, presence("bob", false)).is_empty());
    assert!(server(&mut m, presence("user0", true)).is_empty());

    // Duplicates count once: MAX_WATCHED distinct IDs, repeated, are fine.
    let mut full = too_many[..MAX_WATCHED].to_vec();
    full.extend_from_slice(&too_many[..3]);
    let out = step(&mut m, 3_000, Input::WatchPresence(full));
    assert!(matches!(
        &sent_of(&out)[..],
        [ClientMsg::Watch { users }] if users[..] == too_many[..MAX_WATCHED]
    ));
}
