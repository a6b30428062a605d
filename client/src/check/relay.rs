//! The TURN check: a peer connection that may only use relayed candidates
//! (`iceTransportPolicy: "relay"`) with the given ICE servers gathers candidates until a
//! `relay` one appears: the TURN server was reached, accepted the credentials and allocated an
//! address. Nothing is sent to anyone; the connection is closed before the check returns.

use std::rc::Rc;

use wasm_bindgen::{closure::Closure, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RtcPeerConnection, RtcPeerConnectionIceErrorEvent, RtcPeerConnectionIceEvent};

use super::wait::{js_message, now, Inbox};
use super::{Abort, CheckError, IceServer};
use crate::shell::rtc_configuration;
use crate::IceServerError;

/// How long gathering may take.
const GATHER_MS: f64 = 10_000.0;

/// The relay candidate the check found.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayCandidate {
    /// The relayed address and port, as the TURN server allocated it.
    pub address: String,
    /// The transport between this device and the TURN server (`udp`, `tcp`).
    pub protocol: String,
    /// Milliseconds from the start of gathering to the candidate.
    pub ms: f64,
}

/// The relayed `(address:port, protocol)` of an ICE candidate line, when it is a `relay`
/// candidate (`candidate:<foundation> <component> <protocol> <priority> <address> <port> typ
/// <type> ...`).
pub fn relay_address(candidate: &str) -> Option<(String, String)> {
    let line = candidate.trim().trim_start_matches("a=");
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    match fields.as_slice() {
        [_, _, protocol, _, address, port, "typ", "relay", ..] => {
            let address = if address.contains(':') {
                format!("[{address}]:{port}")
            } else {
                format!("{address}:{port}")
            };
            Some((address, protocol.to_ascii_lowercase()))
        }
        _ => None,
    }
}

/// Whether any of `servers` is a TURN server (`turn:` or `turns:`).
pub fn has_turn(servers: &[IceServer]) -> bool {
    servers.iter().flat_map(|s| &s.urls).any(|url| {
        let url = url.trim_start().to_ascii_lowercase();
        url.starts_with("turn:") || url.starts_with("turns:")
    })
}

enum Gathered {
    Candidate(String),
    Done,
    Failed(IceServerError),
}

/// The check's peer connection and its handlers, removed and closed on drop.
struct Gatherer {
    pc: RtcPeerConnection,
    _on_ice: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
    on_error: Closure<dyn FnMut(RtcPeerConnectionIceErrorEvent)>,
}

impl Drop for Gatherer {
    fn drop(&mut self) {
        self.pc.set_onicecandidate(None);
        let _ = self.pc.remove_event_listener_with_callback(
            "icecandidateerror",
            self.on_error.as_ref().unchecked_ref(),
        );
        self.pc.close();
    }
}

/// Gathers relayed candidates with `ice_servers` (a logged-in session's:
/// [`WebCall::ice_servers`](crate::WebCall::ice_servers)) until one appears, for at most ten
/// seconds. Fails with [`CheckError::NoTurnServer`] when there is no TURN server among them,
/// and with [`CheckError::NoRelay`] (what the servers answered) when none gave an address.
pub async fn relay(ice_servers: &[IceServer], abort: &Abort) -> Result<RelayCandidate, CheckError> {
    if !has_turn(ice_servers) {
        return Err(CheckError::NoTurnServer);
    }
    let started = now();
    let pc = RtcPeerConnection::new_with_configuration(&rtc_configuration(ice_servers, true))
        .map_err(|_| CheckError::NotSupported("WebRTC (RTCPeerConnection)"))?;
    let inbox = Rc::new(Inbox::default());
    let on_ice = {
        let inbox = inbox.clone();
        Closure::<dyn FnMut(RtcPeerConnectionIceEvent)>::new(
            move |event: RtcPeerConnectionIceEvent| match event.candidate() {
                Some(candidate) => inbox.push(Gathered::Candidate(candidate.candidate())),
                None => inbox.push(Gathered::Done),
            },
        )
    };
    let on_error = {
        let inbox = inbox.clone();
        Closure::<dyn FnMut(RtcPeerConnectionIceErrorEvent)>::new(
            move |event: RtcPeerConnectionIceErrorEvent| {
                inbox.push(Gathered::Failed(IceServerError {
                    url: event.url(),
                    code: event.error_code(),
                    text: event.error_text(),
                }))
            },
        )
    };
    pc.set_onicecandidate(Some(on_ice.as_ref().unchecked_ref()));
    let _ =
        pc.add_event_listener_with_callback("icecandidateerror", on_error.as_ref().unchecked_ref());
    let gatherer = Gatherer {
        pc,
        _on_ice: on_ice,
        on_error,
    };
    // An audio section to gather for; the offer is never sent.
    gatherer.pc.add_transceiver_with_str("audio");
    let offer = JsFuture::from(gatherer.pc.create_offer())
        .await
        .map_err(|e| CheckError::Unreachable(js_message(&e)))?;
    let init: web_sys::RtcSessionDescriptionInit = offer.unchecked_into();
    JsFuture::from(gatherer.pc.set_local_description(&init))
        .await
        .map_err(|e| CheckError::Unreachable(js_message(&e)))?;
    let mut failures = Vec::new();
    let deadline = started + GATHER_MS;
    loop {
        let event = match inbox.next(deadline, abort).await {
            Ok(event) => event,
            Err(CheckError::Timeout) => break,
            Err(e) => return Err(e),
        };
        match event {
            Gathered::Candidate(line) => {
                if let Some((address, protocol)) = relay_address(&line) {
                    return Ok(RelayCandidate {
                        address,
                        protocol,
                        ms: now() - started,
                    });
                }
            }
            Gathered::Failed(error) => failures.push(error),
            Gathered::Done => break,
        }
    }
    drop(gatherer);
    Err(CheckError::NoRelay(failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_candidates_are_recognised_and_others_not() {
        let relay = "candidate:1 1 udp 41885439 127.0.0.1 49160 typ relay raddr 127.0.0.1 rport 5000 generation 0";
        assert_eq!(
            relay_address(relay),
            Some(("127.0.0.1:49160".into(), "udp".into()))
        );
        let v6 = "a=candidate:2 1 UDP 41885439 2001:db8::1 3478 typ relay raddr :: rport 0";
        assert_eq!(
            relay_address(v6),
            Some(("[2001:db8::1]:3478".into(), "udp".into()))
        );
        let host = "candidate:3 1 udp 2122260223 192.168.1.5 50000 typ host generation 0";
        assert_eq!(relay_address(host), None);
        let srflx = "candidate:4 1 udp 1686052607 203.0.113.7 50000 typ srflx raddr 192.168.1.5";
        assert_eq!(relay_address(srflx), None);
        assert_eq!(relay_address(""), None);
        assert_eq!(relay_address("candidate:5 1 udp"), None);
    }

    #[test]
    fn only_turn_urls_count_as_turn_servers() {
        let server = |url: &str| IceServer {
            urls: vec![url.into()],
            username: None,
            credential: None,
        };
        assert!(!has_turn(&[]));
        assert!(!has_turn(&[server("stun:stun.example.com:3478")]));
        assert!(has_turn(&[
            server("stun:stun.example.com"),
            server("turn:127.0.0.1:3478?transport=udp")
        ]));
        assert!(has_turn(&[server("TURNS:turn.example.com:5349")]));
    }
}
