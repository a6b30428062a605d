//! The signaling socket's connection rules: login, bad frames, size limit, replacement,
//! shutdown. (Reconnecting and resuming: `resume.rs`.)

mod common;

use common::*;
use tokio_tungstenite::tungstenite::Message;
use webcall_protocol::{ClientMsg, ErrorCode, Outcome, ServerMsg};

#[tokio::test]
async fn login_succeeds_and_ping_is_answered() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(&ClientMsg::Ping).await;
    assert_eq!(alice.recv().await, ServerMsg::Pong);
    assert!(server.state.hub().is_online("alice"));
}

/// Every way a UserSig can be wrong has its own code and message, and closes the connection.
#[tokio::test]
async fn bad_user_sigs_are_refused_with_distinct_errors_and_closed() {
    let server = TestServer::start().await;
    let other_key = webcall_server::UserSigKey::new(APP, "not the server's secret");
    let other_app = webcall_server::UserSigKey::new(APP + 1, SECRET);
    let cases = [
        // Garbage.
        (
            "garbage".to_owned(),
            APP,
            ErrorCode::BadUserSig,
            "malformed UserSig",
        ),
        // Signed with another secret (or tampered with).
        (
            other_key.issue("alice", 3600, unix_now()),
            APP,
            ErrorCode::BadUserSig,
            "UserSig signature does not verify",
        ),
        // Bob's sig.
        (
            server.sig("bob"),
            APP,
            ErrorCode::UserSigWrongUser,
            "UserSig is for another user",
        ),
        // Expired.
        (
            webcall_server::UserSigKey::new(APP, SECRET).issue("alice", 10, unix_now() - 60),
            APP,
            ErrorCode::UserSigExpired,
            "UserSig has expired",
        ),
        // Issued for another app.
        (
            other_app.issue("alice", 3600, unix_now()),
            APP + 1,
            ErrorCode::WrongSdkAppId,
            "this server serves SDKAppID",
        ),
        // The Login names another app.
        (
            server.sig("alice"),
            APP + 1,
            ErrorCode::WrongSdkAppId,
            "this server serves SDKAppID",
        ),
    ];
    for (user_sig, sdk_app_id, code, message) in cases {
        let mut client = server.connect().await;
        client
            .send(&ClientMsg::Login {
                user_id: "alice".into(),
                user_sig,
                sdk_app_id,
                resume: None,
            })
            .await;
        let got = client.expect_error(code, None).await;
        assert!(got.starts_with(message), "{code:?}: {got}");
        client.expect_close(1008).await;
    }
    assert!(!server.state.hub().is_online("alice"));
}

/// The warning comes five minutes ahead also for a session that keeps talking: the messages
/// it sends must not push the warning back towards the end. On paused time.
#[tokio::test(start_paused = true)]
async fn a_busy_session_is_warned_as_early_as_an_idle_one() {
    let server = TestServer::start_with(|c| {
        c.login_timeout_secs = 600;
        c.idle_timeout_secs = 86_400;
    })
    .await;
    let key = webcall_server::UserSigKey::new(APP, SECRET);
    let long = std::time::Duration::from_secs(3600);
    let mut alice = tokio::time::timeout(long, server.connect()).await.unwrap();
    alice.user = "alice".into();
    alice.deadline = long;
    alice
        .send(&ClientMsg::Login {
            user_id: "alice".into(),
            user_sig: key.issue("alice", 900, unix_now()),
            sdk_app_id: APP,
            resume: None,
        })
        .await;
    assert!(matches!(alice.recv().await, ServerMsg::LoggedIn { .. }));
    let start = tokio::time::Instant::now();
    // A ping every 4 s, as a client with something to say might send.
    let expires_in_secs = loop {
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        alice.send(&ClientMsg::Ping).await;
        match alice.recv().await {
            ServerMsg::Pong => {}
            ServerMsg::SessionExpiring { expires_in_secs } => break expires_in_secs,
            other => panic!("expected Pong or SessionExpiring, got {other:?}"),
        }
        assert!(start.elapsed().as_secs() < 900, "never warned");
    };
    assert!((295..=300).contains(&expires_in_secs), "{expires_in_secs}");
    let warned_after = start.elapsed().as_secs();
    assert!((595..=605).contains(&warned_after), "{warned_after}");
}

/// A session is warned before its UserSig expires, may renew it, and ends when it expires
/// without renewal. On paused time.
#[tokio::test(start_paused = true)]
async fn sessions_are_warned_renewed_and_ended_at_expiry() {
    let server = TestServer::start_with(|c| {
        c.login_timeout_secs = 600;
        c.idle_timeout_secs = 86_400;
    })
    .await;
    let key = webcall_server::UserSigKey::new(APP, SECRET);
    let long = std::time::Duration::from_secs(3600);
    let mut alice = tokio::time::timeout(long, server.connect()).await.unwrap();
    alice.user = "alice".into();
    alice.deadline = long;
    alice
        .send(&ClientMsg::Login {
            user_id: "alice".into(),
            user_sig: key.issue("alice", 600, unix_now()),
            sdk_app_id: APP,
            resume: None,
        })
        .await;
    match alice.recv().await {
        ServerMsg::LoggedIn {
            expires_in_secs, ..
        } => assert!((595..=600).contains(&expires_in_secs), "{expires_in_secs}"),
        other => panic!("expected LoggedIn, got {other:?}"),
    }
    // Warned five minutes ahead.
    let start = tokio::time::Instant::now();
    match alice.recv().await {
        ServerMsg::SessionExpiring { expires_in_secs } => {
            assert!((295..=300).contains(&expires_in_secs), "{expires_in_secs}")
        }
        other => panic!("expected SessionExpiring, got {other:?}"),
    }
    let warned_after = start.elapsed().as_secs();
    assert!((295..=300).contains(&warned_after), "{warned_after}");

    // A renewal for another user is refused and changes nothing; a right one extends.
    alice
        .send(&ClientMsg::Renew {
            user_sig: key.issue("bob", 3600, unix_now()),
        })
        .await;
    alice.expect_error(ErrorCode::UserSigWrongUser, None).await;
    alice
        .send(&ClientMsg::Renew {
            user_sig: key.issue("alice", 900, unix_now()),
        })
        .await;
    match alice.recv().await {
        ServerMsg::Renewed { expires_in_secs } => {
            assert!(expires_in_secs > 600, "{expires_in_secs}")
        }
        other => panic!("expected Renewed, got {other:?}"),
    }
    // Warned again before the new end, then ended.
    assert!(matches!(
        alice.recv().await,
        ServerMsg::SessionExpiring { .. }
    ));
    alice.expect_error(ErrorCode::SessionExpired, None).await;
    alice.expect_close(1008).await;
}

#[tokio::test]
async fn invalid_user_id_at_login_is_refused() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client
        .send(&ClientMsg::Login {
            user_id: "al ice".into(),
            user_sig: server.sig("al ice"),
            sdk_app_id: APP,
            resume: None,
        })
        .await;
    client.expect_error(ErrorCode::BadUserId, None).await;
    client.expect_close(1008).await;
}

#[tokio::test]
async fn no_login_within_the_timeout_closes_the_connection() {
    let server = TestServer::start_with(|c| c.login_timeout_secs = 1).await;
    let mut client = server.connect().await;
    let started = std::time::Instant::now();
    // Nothing is sent: the server closes without an error message.
    assert_eq!(client.expect_close(1008).await, "login timeout");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
}

#[tokio::test]
async fn anything_but_login_first_gets_an_error_and_a_close() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client.send(&ClientMsg::Ack { seq: 1 }).await;
    client.expect_error(ErrorCode::NotLoggedIn, None).await;
    client.expect_close(1008).await;

    let mut client = server.connect().await;
    client.send_raw(Message::text("{not json")).await;
    client.expect_error(ErrorCode::BadMessage, None).await;
    client.expect_close(1008).await;
}

/// A device check times the round trip before logging in: pings are answered, and the
/// connection can still log in afterwards.
#[tokio::test]
async fn pings_before_the_login_are_answered() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    for _ in 0..3 {
        client.send(&ClientMsg::Ping).await;
        assert_eq!(client.recv().await, ServerMsg::Pong);
    }
    client.user = "alice".into();
    client
        .send(&ClientMsg::Login {
            user_id: "alice".into(),
            user_sig: server.sig("alice"),
            sdk_app_id: APP,
            resume: None,
        })
        .await;
    assert!(!client.expect_logged_in().await);
    assert!(server.state.hub().is_online("alice"));
}

#[tokio::test]
async fn malformed_messages_get_bad_message_and_the_connection_keeps_working() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    for text in [
        "not json",
        r#"{"nuke":{}}"#,
        r#"{"accept":{}}"#,
        r#"{"accept":{"call_id":5}}"#,
        r#"{"invite":{"req":"one","callee":"bob"}}"#,
        "[]",
    ] {
        alice.send_raw(Message::text(text)).await;
        alice.expect_error(ErrorCode::BadMessage, None).await;
    }
    alice.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    alice.expect_error(ErrorCode::BadMessage, None).await;

    alice.send(&ClientMsg::Ping).await;
    assert_eq!(alice.recv().await, ServerMsg::Pong);
    let mut bob = server.login("bob").await;
    connect_call(&mut alice, &mut bob).await;
}

#[tokio::test]
async fn a_second_login_on_the_same_connection_is_refused() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice
        .send(&ClientMsg::Login {
            user_id: "alice".into(),
            user_sig: server.sig("alice"),
            sdk_app_id: APP,
            resume: None,
        })
        .await;
    alice.expect_error(ErrorCode::NotLoggedIn, None).await;
    alice.expect_nothing_pending().await;
}

#[tokio::test]
async fn an_oversize_frame_closes_the_connection_with_1009() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;

    let sdp = "a".repeat(70 * 1024);
    alice
        .send_raw(Message::text(format!(
            r#"{{"signal":{{"call_id":"{call_id}","signal":{{"offer":{{"sdp":"{sdp}"}}}}}}}}"#
        )))
        .await;
    // The call ends (alice's socket still hears it), then her socket closes.
    let outcome = Outcome::ConnectionLost {
        user: "alice".into(),
    };
    assert_eq!(alice.expect_ended(&call_id).await, outcome);
    alice.expect_close(1009).await;
    // Bob hears the end too; other users are not affected.
    assert_eq!(bob.expect_ended(&call_id).await, outcome);
    bob.expect_nothing_pending().await;
}

/// A frame the WebSocket protocol forbids ends only its own connection, with the close code
/// that names the fault: 1002 for a protocol error, 1007 for text that is not UTF-8.
#[tokio::test]
async fn a_frame_that_breaks_the_websocket_protocol_closes_with_its_code() {
    use tokio_tungstenite::tungstenite::protocol::frame::{coding::Data, coding::OpCode, Frame};
    let server = TestServer::start().await;
    let mut bob = server.login("bob").await;
    // Compression was never negotiated: a frame with RSV1 set is a protocol error.
    let mut alice = server.login("alice").await;
    let mut frame = Frame::message(&b"{}"[..], OpCode::Data(Data::Text), true);
    frame.header_mut().rsv1 = true;
    alice.send_raw(Message::Frame(frame)).await;
    assert_eq!(alice.expect_close(1002).await, "reserved bits set");
    // Text that is not UTF-8.
    let mut carol = server.login("carol").await;
    let frame = Frame::message(&[0x7B, 0xFF, 0x7D][..], OpCode::Data(Data::Text), true);
    carol.send_raw(Message::Frame(frame)).await;
    assert_eq!(carol.expect_close(1007).await, "invalid UTF-8");
    // Their devices leave at once; bob is not affected.
    server.wait_offline("alice").await;
    server.wait_offline("carol").await;
    bob.expect_nothing_pending().await;
}

/// A request to `/ws` that is not a WebSocket handshake gets a plain HTTP error.
#[tokio::test]
async fn a_plain_request_to_the_socket_is_refused() {
    let server = TestServer::start().await;
    let (status, _, body) = http_get(server.addr, "/ws").await;
    assert_eq!(status, 400);
    assert!(body.contains("not a WebSocket upgrade"), "{body}");
}

#[tokio::test]
async fn a_frame_just_under_the_limit_is_accepted() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;
    let signal = webcall_protocol::Signal::Offer {
        sdp: "a".repeat(60 * 1024),
    };
    alice.signal(&call_id, signal.clone()).await;
    assert_eq!(bob.recv().await, ServerMsg::Signal { call_id, signal });
}

#[tokio::test]
async fn in_single_device_mode_a_new_login_replaces_the_older_connection() {
    let server = TestServer::start_with(|c| c.single_device = true).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = connect_call(&mut alice, &mut bob).await;

    let mut bob2 = server.login("bob").await;
    let outcome = Outcome::Failed {
        message: "bob logged in elsewhere".into(),
    };
    assert_eq!(alice.expect_ended(&call_id).await, outcome);
    assert_eq!(bob2.expect_ended(&call_id).await, outcome);
    assert_eq!(bob.expect_ended(&call_id).await, outcome);
    assert_eq!(
        bob.expect_error(ErrorCode::KickedOut, None).await,
        "logged in elsewhere"
    );
    bob.expect_close(1000).await;

    // The new connection is bob now.
    bob2.expect_nothing_pending().await;
    let call_id = alice.invite("bob").await;
    let (invited, _) = bob2.expect_invited("alice").await;
    assert_eq!(invited, call_id);
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1012_and_run_returns() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut stranger = server.connect().await;
    let shutdown = tokio::spawn(server.shutdown());
    for client in [&mut alice, &mut stranger] {
        assert_eq!(client.expect_close(1012).await, "server restarting");
        // Reading on sends the close reply; then the server hangs up.
        assert!(matches!(client.next().await, Received::End));
    }
    within(shutdown)
        .await
        .expect("shutdown task")
        .expect("run returned an error");
}

/// A client that stops reading while its peer keeps sending is cut off once its outbox
/// overflows: its socket is dropped, its call ends for the peer as a lost connection, and the
/// server goes on serving everyone else.
#[tokio::test]
async fn a_connection_that_does_not_read_is_cut_off() {
    let server = TestServer::start_with(|c| {
        c.msg_rate = 100_000;
        c.msg_burst = 100_000;
    })
    .await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let call_id = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    bob.accept(&call_id).await;
    alice
        .expect(ServerMsg::Accepted {
            call_id: call_id.clone(),
        })
        .await;

    // Bob stops reading. Alice sends big offers: the kernel's buffers fill, then Bob's outbox.
    let sdp = "a".repeat(60_000);
    let mut sent = 0;
    let outcome = loop {
        if sent < 2_000 {
            alice
                .signal(
                    &call_id,
                    webcall_protocol::Signal::Offer { sdp: sdp.clone() },
                )
                .await;
            sent += 1;
            // Alice reads too, to hear of the end.
            let Ok(msg) = tokio::time::timeout(std::time::Duration::ZERO, alice.recv()).await
            else {
                continue;
            };
            match msg {
                ServerMsg::CallEnded { outcome, .. } => break outcome,
                other => panic!("alice: unexpected {other:?}"),
            }
        }
        break alice.expect_ended(&call_id).await;
    };
    assert_eq!(
        outcome,
        Outcome::ConnectionLost { user: "bob".into() },
        "after {sent} offers"
    );
    // Bob's socket ends once what the kernel holds is read (no close frame: he was not
    // reading), and the server serves a new user as before.
    loop {
        match bob.next().await {
            Received::Msg(_) => {}
            Received::End => break,
            other => panic!("bob: expected the end of the socket, got {other:?}"),
        }
    }
    let mut carol = server.login("carol").await;
    carol.send(&ClientMsg::Ping).await;
    assert_eq!(carol.recv().await, ServerMsg::Pong);
}
