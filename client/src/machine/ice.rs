//! The STUN/TURN side of a call's peer connection: the servers and the transport policy it is
//! created with ([`MediaCommand::CreatePeer`], from the server's `LoggedIn`), and what it
//! reports about them ([`MediaEvent::IceServerFailed`], [`MediaEvent::GatheringComplete`]).
//!
//! - The first server failure of a call is told to the app as [`CallEvent::Error`] with code
//!   [`IceServerError::CODE`] ("the TURN server turn:… refused the credentials (401
//!   Unauthorized)"); later ones go unsaid. It need not end the call: another server, or a
//!   direct path, may still connect it.
//! - A call that may only be relayed (the server's `relay_only`) fails at once, rather than at
//!   the server's connect timeout, once it can never connect: when every TURN server has
//!   refused it, or when gathering ended without a single (relayed) local candidate. The
//!   failure names the first TURN server failure.
//!
//! [`MediaEvent::IceServerFailed`]: super::MediaEvent::IceServerFailed
//! [`MediaEvent::GatheringComplete`]: super::MediaEvent::GatheringComplete

use webcall_protocol::{IceServer, Signal};

use super::{Machine, MediaCommand, Millis, Output, Session};
use crate::{CallEvent, IceServerError};

/// What the current peer connection reported about its ICE servers and candidates. Reset with
/// every new peer connection.
#[derive(Debug, Default)]
pub(super) struct IceWatch {
    /// Whether a server failure was told to the app (once per call).
    reported: bool,
    /// The TURN servers that refused this peer connection, as normalized URLs.
    refused_turn: Vec<String>,
    /// The first TURN server failure, for the message a relay-only call fails with.
    first_turn_failure: Option<IceServerError>,
    /// How many local candidates the peer connection gathered.
    candidates: u32,
}

impl Machine {
    /// Asks for the call's peer connection, with this session's ICE servers and policy; with
    /// `offer`, it offers at once.
    pub(super) fn create_peer(&mut self, offer: bool) {
        self.ice = IceWatch::default();
        let (ice_servers, relay_only) = match &self.session {
            Session::LoggedIn {
                ice_servers,
                relay_only,
                ..
            } => (ice_servers.clone(), *relay_only),
            _ => (Vec::new(), false),
        };
        self.out(Output::Media(MediaCommand::CreatePeer {
            ice_servers,
            relay_only,
            offer,
        }));
    }

    /// Counts a local signal that is an ICE candidate.
    pub(super) fn local_candidate(&mut self, signal: &Signal) {
        if matches!(signal, Signal::Ice { .. }) {
            self.ice.candidates += 1;
        }
    }

    /// A STUN or TURN server failed for the peer connection.
    pub(super) fn ice_server_failed(&mut self, now: Millis, error: IceServerError) {
        if !self.call.has_media() {
            return;
        }
        if !self.ice.reported {
            self.ice.reported = true;
            self.event(CallEvent::Error {
                code: error.code(),
                message: error.to_string(),
            });
        }
        if !error.is_turn() {
            return;
        }
        if error.is_refusal() {
            if let Some(url) = normalize_turn_url(&error.url) {
                if !self.ice.refused_turn.contains(&url) {
                    self.ice.refused_turn.push(url);
                }
            }
        }
        if self.ice.first_turn_failure.is_none() {
            self.ice.first_turn_failure = Some(error);
        }
        let turn = turn_urls(self.session_ice_servers());
        if self.relay_only()
            && !turn.is_empty()
            && turn.iter().all(|url| self.ice.refused_turn.contains(url))
        {
            self.relay_impossible(now);
        }
    }

    /// The peer connection gathered all its local candidates.
    pub(super) fn gathering_complete(&mut self, now: Millis) {
        if self.call.has_media() && self.relay_only() && self.ice.candidates == 0 {
            self.relay_impossible(now);
        }
    }

    /// Ends a relay-only call that can never connect, saying why. A call that connected once
    /// is not ended here: its TURN server may be back in a moment, and `recovery` gives it its
    /// time.
    fn relay_impossible(&mut self, now: Millis) {
        if matches!(
            self.call,
            super::Call::Active {
                connected: true,
                ..
            }
        ) {
            return;
        }
        let why = match &self.ice.first_turn_failure {
            Some(error) => format!("the call cannot connect: {error}"),
            None => "the call cannot connect: no TURN server gave this device a relay address"
                .to_owned(),
        };
        self.end_call_failed(now, &why);
    }

    fn relay_only(&self) -> bool {
        matches!(
            self.session,
            Session::LoggedIn {
                relay_only: true,
                ..
            }
        )
    }

    /// The ICE servers of the logged-in session, TURN credentials included (the latest the
    /// server gave); none when logged out.
    pub fn session_ice_servers(&self) -> &[IceServer] {
        match &self.session {
            Session::LoggedIn { ice_servers, .. } => ice_servers,
            _ => &[],
        }
    }
}

/// The distinct TURN URLs of `servers`, normalized.
fn turn_urls(servers: &[IceServer]) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for url in servers
        .iter()
        .flat_map(|s| &s.urls)
        .filter_map(|u| normalize_turn_url(u))
    {
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    urls
}

/// A TURN URL (RFC 7065) in the form browsers report failures with:
/// `turn[s]:<host>:<port>?transport=<udp|tcp>`, lower case, the default port (3478 for
/// `turn:`, 5349 for `turns:`) and transport (UDP for `turn:`, TCP for `turns:`) filled in.
/// `None` for anything that is not a TURN URL.
fn normalize_turn_url(url: &str) -> Option<String> {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url.split_once(':')?;
    let (default_port, default_transport) = match scheme {
        "turn" => (3478, "udp"),
        "turns" => (5349, "tcp"),
        _ => return None,
    };
    let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
    let transport = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("transport="))
        .unwrap_or(default_transport);
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:3478`.
        let (host, after) = bracketed.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        (format!("[{host}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), port.parse::<u16>().ok()?),
            None => (authority.to_owned(), default_port),
        }
    };
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}:{host}:{port}?transport={transport}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_urls_normalize_to_what_browsers_report() {
        let n = |u| normalize_turn_url(u);
        assert_eq!(
            n("turn:127.0.0.1:3478?transport=udp").as_deref(),
            Some("turn:127.0.0.1:3478?transport=udp")
        );
        assert_eq!(
            n("TURN:Turn.Example.com").as_deref(),
            Some("turn:turn.example.com:3478?transport=udp")
        );
        assert_eq!(
            n("turns:turn.example.com").as_deref(),
            Some("turns:turn.example.com:5349?transport=tcp")
        );
        assert_eq!(
            n("turn:turn.example.com?transport=tcp").as_deref(),
            Some("turn:turn.example.com:3478?transport=tcp")
        );
        assert_eq!(
            n("turn:[::1]:3479").as_deref(),
            Some("turn:[::1]:3479?transport=udp")
        );
        assert_eq!(n("stun:stun.example.com"), None);
        assert_eq!(n("turn:"), None);
        assert_eq!(n("turn:host:port"), None);
    }
}
