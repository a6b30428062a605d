//! Resilience: a call outlives its signaling server, its relay and a lossy network, and ends
//! promptly when the other side is gone.
//!
//! - The server is killed with SIGKILL (no shutdown, no close frames, its memory lost) and
//!   started again; the browsers reconnect on their own and re-assert their call, and the
//!   audio, which goes browser to browser, never stops.
//! - The TURN server relaying a relay-only call is killed and started again: every relayed
//!   path is gone, and the call comes back by an ICE restart.
//! - A user-space UDP link between the browsers and the TURN server drops 10 % of the packets:
//!   speech still arrives.
//! - A browser is closed, or killed: the other side's call ends as "connection lost".

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::harness::{report, Coturn, Harness};
use crate::udp_link::UdpLink;
use crate::user::{User, UI};
use crate::{establish_call, AUDIO};

/// How long the browsers may take to notice the server is gone (their sockets close at once
/// when the process dies; a dead network takes up to the heartbeat limit).
const NOTICE: Duration = Duration::from_secs(15);

/// How long the browsers may take to log in again once the server is back: their backoff is
/// short while the outage is.
const RECONNECT: Duration = Duration::from_secs(15);

/// Logs in alice and bob on `h` and puts them in a call that alice placed.
async fn two_in_a_call(h: &Harness) -> (User, User) {
    let alice = User::new(h, "alice").await;
    alice.login().await;
    let bob = User::new(h, "bob").await;
    bob.login().await;
    establish_call(&alice, &bob).await;
    (alice, bob)
}

/// Kills the server, waits until both pages say they are reconnecting and `while_down` is
/// done, starts it again and waits until neither page is reconnecting; returns the time from
/// the server answering again to both being back, in milliseconds.
async fn kill_and_restart<F: std::future::Future<Output = ()>>(
    h: &mut Harness,
    users: [&User; 2],
    while_down: F,
) -> f64 {
    h.kill_server();
    for u in users {
        u.wait_text("Reconnecting", NOTICE).await;
    }
    while_down.await;
    h.restart_server().await;
    let back = Instant::now();
    for u in users {
        u.wait("the reconnecting banner to go", RECONNECT, || async move {
            let text = u.body_text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((!text.contains("Reconnecting")).then_some(()))
        })
        .await;
    }
    back.elapsed().as_secs_f64() * 1000.0
}

#[tokio::test]
async fn a_call_survives_the_server_killed_and_restarted() {
    let mut h = Harness::start().await;
    let (alice, bob) = two_in_a_call(&h).await;
    alice.assert_audio_flows(AUDIO).await;
    bob.assert_audio_flows(AUDIO).await;

    for u in [&alice, &bob] {
        u.start_packet_trace().await;
    }
    // The server stays down while both sides receive another 100 packets (two seconds).
    let outage = async {
        for u in [&alice, &bob] {
            let start = u
                .stats()
                .await
                .unwrap_or_default()
                .packets_received
                .unwrap_or(0);
            u.wait(
                "100 packets while the server is down",
                AUDIO,
                || async move {
                    let s = u.stats().await?;
                    match s.packets_received {
                        Some(n) if n >= start + 100 => Ok(Some(())),
                        _ => Err(format!("{s:?}")),
                    }
                },
            )
            .await;
        }
    };
    let reconnect_ms = kill_and_restart(&mut h, [&alice, &bob], outage).await;
    report(&format!(
        "server killed and restarted: both browsers back {reconnect_ms:.0} ms after it answered"
    ));
    // Packets kept arriving on both sides through the outage and the reconnection.
    for (u, other) in [(&alice, &bob), (&bob, &alice)] {
        u.wait_page("/in-call", &other.id, UI).await;
        u.assert_audio_flows(AUDIO).await;
        let trace = u.packet_trace().await;
        report(&format!("{}: through the outage {trace:?}", u.id));
        assert!(
            trace.span_ms > 2000.0 && trace.packets > 100,
            "{}: the trace did not cover the outage: {trace:?}",
            u.id
        );
        assert!(
            trace.longest_stall_ms < 1000.0,
            "{}: audio stopped for {:.0} ms during the outage: {trace:?}",
            u.id,
            trace.longest_stall_ms
        );
    }

    // The restarted server knows the call again: a hang-up ends it on both sides.
    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.wait_page("/call", "Call ended", UI).await;
    alice.wait_media_released(UI).await;
    bob.wait_media_released(UI).await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn an_invitation_rings_on_through_a_server_restart() {
    let mut h = Harness::start().await;
    let alice = User::new(&h, "alice").await;
    alice.login().await;
    let bob = User::new(&h, "bob").await;
    bob.login().await;
    alice.call(&bob).await;
    bob.wait_ringing(&alice).await;

    let reconnect_ms = kill_and_restart(&mut h, [&alice, &bob], async {}).await;
    report(&format!(
        "server restarted while ringing: both browsers back {reconnect_ms:.0} ms after it answered"
    ));
    // Still ringing on both sides, and the invitation can still be answered.
    alice.wait_text(&format!("Calling {}", bob.id), UI).await;
    bob.wait_ringing(&alice).await;
    let accepted = Instant::now();
    bob.click_in_dialog("Accept").await;
    bob.wait_first_packets(AUDIO).await;
    report(&format!(
        "accept→audio after the restart: {:.0} ms",
        accepted.elapsed().as_secs_f64() * 1000.0
    ));
    alice.wait_page("/in-call", &bob.id, UI).await;
    bob.wait_page("/in-call", &alice.id, UI).await;
    alice.assert_audio_flows(AUDIO).await;

    bob.click("Hang up").await;
    alice.wait_page("/call", "Call ended", UI).await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn closing_a_browser_ends_the_call_for_the_other_as_connection_lost() {
    let h = Harness::start().await;
    let (alice, bob) = two_in_a_call(&h).await;
    bob.assert_audio_flows(AUDIO).await;

    let closed = Instant::now();
    alice.close().await;
    bob.wait_page(
        "/call",
        "Call ended: connection lost",
        Duration::from_secs(15),
    )
    .await;
    report(&format!(
        "a closed browser noticed by the other side in {:.0} ms",
        closed.elapsed().as_secs_f64() * 1000.0
    ));
    bob.wait_media_released(UI).await;
    bob.close().await;
}

/// Two logged-in users in a relay-only call through TURN server `turn_url` (secret `secret`).
async fn relayed_call(turn_url: &str, secret: &str) -> (Harness, User, User) {
    let h = Harness::start_with(&[
        "--turn-url",
        turn_url,
        "--turn-secret",
        secret,
        "--relay-only",
    ])
    .await;
    let (alice, bob) = two_in_a_call(&h).await;
    alice.assert_audio_flows(AUDIO).await;
    bob.assert_audio_flows(AUDIO).await;
    (h, alice, bob)
}

#[tokio::test]
async fn a_call_whose_relay_restarts_comes_back_by_an_ice_restart() {
    const SECRET: &str = "ice-restart-secret";
    let mut coturn = Coturn::start(SECRET).await;
    let (_h, alice, bob) = relayed_call(&coturn.url(), SECRET).await;

    // Every relayed path dies with the relay.
    coturn.kill();
    for u in [&alice, &bob] {
        u.wait_text("Audio interrupted", Duration::from_secs(30))
            .await;
    }
    let before: Vec<u64> = {
        let mut counts = Vec::new();
        for u in [&alice, &bob] {
            counts.push(
                u.stats()
                    .await
                    .unwrap_or_default()
                    .packets_received
                    .unwrap_or(0),
            );
        }
        counts
    };
    coturn.restart().await;
    let back = Instant::now();
    // Audio again on both sides, timed from the relay answering, both watched at once; on the
    // same peer connection: an ICE restart, not a new call.
    let mut recovered: [Option<f64>; 2] = [None, None];
    let users = [&alice, &bob];
    while recovered.iter().any(Option::is_none) {
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "audio did not come back: {recovered:?}"
        );
        for (i, u) in users.iter().enumerate() {
            if recovered[i].is_none() {
                let s = u.stats().await.unwrap_or_default();
                if s.packets_received.unwrap_or(0) > before[i] + 25 {
                    recovered[i] = Some(back.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (u, ms) in users.iter().zip(recovered) {
        report(&format!(
            "{}: audio back {:.0} ms after the relay answered again (ICE restart)",
            u.id,
            ms.unwrap_or_default()
        ));
        let s = u.stats().await.unwrap_or_default();
        assert_eq!(
            s.pcs, 1,
            "{}: a new peer connection, not an ICE restart",
            u.id
        );
        u.wait("the interruption notice to go", UI, || async move {
            let text = u.body_text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((!text.contains("Audio interrupted")).then_some(()))
        })
        .await;
        u.assert_audio_flows(AUDIO).await;
    }

    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn speech_arrives_through_ten_percent_packet_loss() {
    const SECRET: &str = "packet-loss-secret";
    let coturn = Coturn::start(SECRET).await;
    let link = UdpLink::start(SocketAddr::from((Ipv4Addr::LOCALHOST, coturn.port))).await;
    let (_h, alice, bob) = relayed_call(&link.turn_url(), SECRET).await;

    link.set_loss_percent(10);
    for u in [&alice, &bob] {
        let start = u.stats().await.unwrap_or_default();
        let (received0, lost0) = (
            start.packets_received.unwrap_or(0),
            start.packets_lost.unwrap_or(0),
        );
        // Five seconds of 20 ms packets, less the lost ones.
        let end = u
            .wait("225 more packets", Duration::from_secs(20), || async move {
                let s = u.stats().await?;
                match s.packets_received {
                    Some(n) if n >= received0 + 225 => Ok(Some(s)),
                    _ => Err(format!("{s:?}")),
                }
            })
            .await;
        let received = end.packets_received.unwrap_or(0) - received0;
        let lost = end.packets_lost.unwrap_or(0).saturating_sub(lost0);
        let loss = lost as f64 / (lost + received) as f64;
        report(&format!(
            "{}: at 10 % loss on the link, {received} packets arrived and {lost} were lost ({:.1} %)",
            u.id,
            loss * 100.0
        ));
        assert!(
            (0.04..=0.2).contains(&loss),
            "{}: the receiver saw {:.1} % loss, not about 10 %",
            u.id,
            loss * 100.0
        );
        // And it is still speech, not silence.
        u.assert_audio_flows(AUDIO).await;
    }
    let (forwarded, dropped) = link.counts();
    report(&format!(
        "the link forwarded {forwarded} datagrams to the browsers and dropped {dropped}"
    ));
    alice.click("Hang up").await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.close().await;
    bob.close().await;
}

#[tokio::test]
async fn a_browser_that_vanishes_ends_the_call_for_the_other_as_connection_lost() {
    let h = Harness::start().await;
    let (alice, bob) = two_in_a_call(&h).await;
    bob.assert_audio_flows(AUDIO).await;

    let killed = Instant::now();
    alice.kill_browser();
    bob.wait_page(
        "/call",
        "Call ended: connection lost",
        Duration::from_secs(15),
    )
    .await;
    report(&format!(
        "a killed browser noticed by the other side in {:.0} ms",
        killed.elapsed().as_secs_f64() * 1000.0
    ));
    bob.wait_media_released(UI).await;
    bob.close().await;
}
