//! Abuse limits and the Origin check, against a real server with real WebSockets: message
//! floods, invitations and logins per user, the connection cap, and which origins may open the
//! signaling WebSocket.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use webcall_protocol::{CallType, ClientMsg, ErrorCode, Outcome, ServerMsg};

/// The close code for a policy violation.
const POLICY: u16 = 1008;

/// An `Invite` of `callee` with request number `req`.
fn invite(req: u32, callee: &str) -> ClientMsg {
    ClientMsg::Invite {
        req,
        callee: callee.into(),
        call_type: CallType::Audio,
        timeout_secs: None,
    }
}

/// A WebSocket handshake on a raw TCP connection, with `Host: host` and the `extra` header
/// lines; returns the response's status code and head. A 101 leaves the WebSocket open until
/// the returned stream is dropped.
async fn handshake(addr: SocketAddr, host: &str, extra: &[&str]) -> (u16, String, TcpStream) {
    within(async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut request = format!(
            "GET /ws HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        );
        for line in extra {
            request.push_str(line);
            request.push_str("\r\n");
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        // Read the head only: after a 101 the connection stays open.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).await.expect("read");
            assert_eq!(n, 1, "the connection ended in the head: {head:?}");
            head.push(byte[0]);
        }
        let head = String::from_utf8(head).expect("UTF-8 head");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        (status, head, stream)
    })
    .await
}

/// The status of a handshake to `server` with `Host` its own address and `Origin: origin`
/// (none when `None`).
async fn origin_status(server: &TestServer, origin: Option<&str>) -> u16 {
    let header = origin.map(|o| format!("Origin: {o}"));
    let extra: Vec<&str> = header.iter().map(String::as_str).collect();
    handshake(server.addr, &server.addr.to_string(), &extra)
        .await
        .0
}

#[tokio::test]
async fn a_message_flood_is_refused_and_other_users_are_unaffected() {
    let server = TestServer::start_with(|c| {
        c.msg_rate = 1;
        c.msg_burst = 5;
    })
    .await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    // The login itself does not count: five messages go through at once...
    for _ in 0..5 {
        alice.send(&ClientMsg::Ping).await;
    }
    // ... and the next ones are dropped, each answered RateLimited (an Invite's with its req).
    for _ in 0..3 {
        alice.send(&ClientMsg::Ping).await;
    }
    alice.send(&invite(7, "bob")).await;
    for _ in 0..5 {
        alice.expect(ServerMsg::Pong).await;
    }
    for _ in 0..3 {
        let message = alice.expect_error(ErrorCode::RateLimited, None).await;
        assert!(message.contains("too many messages"), "{message}");
    }
    alice.expect_error(ErrorCode::RateLimited, Some(7)).await;
    // The invitation was dropped: no call. Bob's connection has a bucket of its own, and the
    // Pongs come first: no invitation was queued for him.
    assert_eq!(server.state.hub().calls(), 0);
    for _ in 0..5 {
        bob.send(&ClientMsg::Ping).await;
    }
    for _ in 0..5 {
        bob.expect(ServerMsg::Pong).await;
    }
    // Alice is not disconnected: a second later she has a token again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    alice.expect_nothing_pending().await;
    assert!(server.state.hub().is_online("alice"));
}

#[tokio::test]
async fn a_connection_that_keeps_flooding_is_closed() {
    let server = TestServer::start_with(|c| {
        c.msg_rate = 1;
        c.msg_burst = 2;
    })
    .await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    // Two go through; 3 × 2 refused in a row close the connection.
    for _ in 0..8 {
        alice.send(&ClientMsg::Ping).await;
    }
    alice.expect(ServerMsg::Pong).await;
    alice.expect(ServerMsg::Pong).await;
    for _ in 0..6 {
        alice.expect_error(ErrorCode::RateLimited, None).await;
    }
    assert_eq!(alice.expect_close(POLICY).await, "rate limit");
    server.wait_offline("alice").await;
    // The others are unaffected.
    bob.expect_nothing_pending().await;
}

/// `caller` invites `callee` (request `req`), then cancels; `other` is another device of the
/// caller. Everyone hears what they should.
async fn invite_and_cancel(req: u32, caller: &mut Client, other: &mut Client, callee: &mut Client) {
    caller.send(&invite(req, &callee.user.clone())).await;
    let call_id = match caller.recv().await {
        ServerMsg::CallCreated {
            req: got, call_id, ..
        } if got == req => call_id,
        got => panic!("expected CallCreated, got {got:?}"),
    };
    let (invited, _) = callee.expect_invited(&caller.user.clone()).await;
    assert_eq!(invited, call_id);
    other
        .expect(ServerMsg::CallElsewhere {
            call_id: call_id.clone(),
            peer: callee.user.clone(),
        })
        .await;
    caller
        .send(&ClientMsg::Cancel {
            call_id: call_id.clone(),
        })
        .await;
    let cancelled = Outcome::Cancelled {
        disconnected: false,
    };
    for client in [caller, other, callee] {
        assert_eq!(client.expect_ended(&call_id).await, cancelled);
    }
}

#[tokio::test]
async fn invitations_are_limited_per_user_across_devices() {
    let server = TestServer::start_with(|c| {
        c.invite_rate = 1;
        c.invite_burst = 2;
    })
    .await;
    let mut a1 = server.login("alice").await;
    let mut a2 = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut carol = server.login("carol").await;

    // Invitations the server refuses ring no one and do not count.
    for req in 10..15 {
        a1.refused(invite(req, "alice"), ErrorCode::CallSelf).await;
    }
    // Alice invites twice, once from each device, and cancels each time.
    invite_and_cancel(1, &mut a1, &mut a2, &mut bob).await;
    invite_and_cancel(2, &mut a2, &mut a1, &mut bob).await;

    // The third, from either device, is refused and creates no call.
    let message = a1.refused(invite(3, "bob"), ErrorCode::RateLimited).await;
    assert!(message.contains("too many invitations"), "{message}");
    a2.refused(invite(4, "carol"), ErrorCode::RateLimited).await;
    assert_eq!(server.state.hub().calls(), 0);
    bob.expect_nothing_pending().await;
    carol.expect_nothing_pending().await;
    a1.expect_nothing_pending().await;
    a2.expect_nothing_pending().await;

    // Other users have their own limit.
    let call_id = carol.invite("bob").await;
    let (invited, _) = bob.expect_invited("carol").await;
    assert_eq!(invited, call_id);
}

#[tokio::test]
async fn logins_are_limited_per_user() {
    let server = TestServer::start_with(|c| {
        c.login_rate = 1;
        c.login_burst = 2;
    })
    .await;
    let first = server.login("alice").await;
    drop(first);

    // A UserSig that does not verify does not count.
    let mut bad = server.connect().await;
    bad.send(&ClientMsg::Login {
        user_id: "alice".into(),
        user_sig: server.sig("mallory"),
        sdk_app_id: APP,
        resume: None,
    })
    .await;
    bad.expect_error(ErrorCode::UserSigWrongUser, None).await;
    assert_eq!(bad.expect_close(POLICY).await, "login failed");

    let _second = server.login("alice").await;
    let mut third = server.send_login("alice").await;
    let message = third.expect_error(ErrorCode::RateLimited, None).await;
    assert!(message.contains("too many logins"), "{message}");
    assert_eq!(third.expect_close(POLICY).await, "rate limit");

    // Other users log in as usual.
    let mut bob = server.login("bob").await;
    bob.expect_nothing_pending().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_get_503_until_one_closes() {
    let server = TestServer::start_with(|c| c.max_connections = 2).await;
    let mut alice = server.login("alice").await;
    let _unauthenticated = server.connect().await;

    let host = server.addr.to_string();
    let (status, head, _) = handshake(server.addr, &host, &[]).await;
    assert_eq!(status, 503, "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after"), "{head}");
    // tokio-tungstenite sees the same refusal.
    let url = format!("ws://{}/ws", server.addr);
    match within(tokio_tungstenite::connect_async(url)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    // The refused handshakes took no slot, and a closed connection frees its own.
    alice
        .send_raw(tokio_tungstenite::tungstenite::Message::Close(None))
        .await;
    within(async {
        loop {
            let (status, _, stream) = handshake(server.addr, &host, &[]).await;
            if status == 101 {
                return stream;
            }
            assert_eq!(status, 503);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn only_the_own_origin_may_connect_by_default() {
    let server = TestServer::start().await;
    let own = format!("http://{}", server.addr);
    assert_eq!(origin_status(&server, Some(&own)).await, 101);
    assert_eq!(origin_status(&server, None).await, 101);
    assert_eq!(
        origin_status(&server, Some("https://evil.example")).await,
        403
    );
    assert_eq!(origin_status(&server, Some("null")).await, 403);
    let other_port = format!("http://{}:1", server.addr.ip());
    assert_eq!(origin_status(&server, Some(&other_port)).await, 403);
    // A reverse proxy (trunk serve) passes the browser's Host on as X-Forwarded-Host.
    let (status, _, _) = handshake(
        server.addr,
        &server.addr.to_string(),
        &[
            "Origin: http://localhost:8080",
            "X-Forwarded-Host: localhost:8080",
        ],
    )
    .await;
    assert_eq!(status, 101);

    // A real client with the own origin logs in and talks.
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(&own).expect("header"));
    let (ws, _) = within(tokio_tungstenite::connect_async(request))
        .await
        .expect("same-origin handshake");
    let mut alice = Client::new(ws, "alice");
    alice
        .send(&ClientMsg::Login {
            user_id: "alice".into(),
            user_sig: server.sig("alice"),
            sdk_app_id: APP,
            resume: None,
        })
        .await;
    assert!(matches!(alice.recv().await, ServerMsg::LoggedIn { .. }));
    alice.expect_nothing_pending().await;
}

#[tokio::test]
async fn listed_origins_may_connect_too() {
    let server = TestServer::start_with(|c| {
        c.allowed_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let own = format!("http://{}", server.addr);
    assert_eq!(
        origin_status(&server, Some("https://app.example.com")).await,
        101
    );
    assert_eq!(origin_status(&server, Some(&own)).await, 101);
    assert_eq!(origin_status(&server, None).await, 101);
    assert_eq!(
        origin_status(&server, Some("http://app.example.com")).await,
        403
    );
    assert_eq!(
        origin_status(&server, Some("https://evil.example")).await,
        403
    );
}

#[tokio::test]
async fn a_star_allows_every_origin() {
    let server = TestServer::start_with(|c| c.allowed_origins = vec!["*".into()]).await;
    assert_eq!(
        origin_status(&server, Some("https://evil.example")).await,
        101
    );
    assert_eq!(origin_status(&server, Some("null")).await, 101);
    assert_eq!(origin_status(&server, None).await, 101);
}
