//! The PeerJS side of the load generator: how a simulated user reaches a PeerJS server (npm
//! package `peer`, the reference for WebRTC signaling that `cargo xtask bench` compares WebCall
//! with) and speaks its protocol, next to [`crate::webcall`], so that the same load patterns
//! (`main.rs`) run against both servers.
//!
//! PeerJS has no login and no calls: a client opens a WebSocket to
//! `/peerjs?key=<key>&id=<its ID>&token=<its token>`, the server answers `{"type":"OPEN"}`, and
//! from then on a message with a `dst` is relayed to the client with that ID, with `src` added.
//! Clients keep their registration alive by sending `{"type":"HEARTBEAT"}` every
//! [`HEARTBEAT_INTERVAL`] (the PeerJS client's default); the server drops clients silent for
//! its `alive_timeout`. A [`Conn`] sends those heartbeats while it waits for frames, as the
//! browser client does.
//!
//! The relayed message is a `CANDIDATE`, shaped as the PeerJS client sends a trickled ICE
//! candidate, whose candidate string carries the bench's [`Stamp`].

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use crate::webcall::{Stamp, STEP_TIMEOUT};

/// The key the bench's PeerJS server is started with (PeerJS's default).
pub const KEY: &str = "peerjs";

/// How often a PeerJS client sends a heartbeat (the client's default `pingInterval`).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// The heartbeat frame.
const HEARTBEAT: &str = r#"{"type":"HEARTBEAT"}"#;

/// The client's WebSocket read buffer: small, as for WebCall (thousands of connections share
/// the load generator's memory).
const READ_BUFFER_SIZE: usize = 4 * 1024;

/// Why a simulated PeerJS user failed.
#[derive(Debug, thiserror::Error)]
pub enum PeerJsError {
    /// The TCP connection could not be made.
    #[error("connecting from {from} to {to}: {error}")]
    Connect {
        from: Ipv4Addr,
        to: SocketAddr,
        error: std::io::Error,
    },
    /// The WebSocket failed (handshake, read or write).
    #[error("WebSocket: {0}")]
    Ws(#[from] tungstenite::Error),
    /// The server closed the connection.
    #[error("the PeerJS server closed the connection")]
    Closed,
    /// The server answered `ERROR` or `ID-TAKEN` instead of `OPEN`.
    #[error("the PeerJS server refused the connection: {0}")]
    Refused(String),
    /// A frame that is not a JSON message.
    #[error("unexpected frame from the PeerJS server: {0}")]
    Unexpected(String),
    /// Opening took longer than [`STEP_TIMEOUT`].
    #[error("timed out waiting for OPEN")]
    Timeout,
}

/// A message from the PeerJS server.
pub enum Incoming {
    /// A relayed `CANDIDATE` the bench sent, with its stamp.
    Stamped(Stamp),
    /// Any other message.
    Other(Value),
}

/// One open PeerJS connection.
pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    /// When the next heartbeat is due.
    heartbeat: Interval,
}

/// Connects from source address `from` to the PeerJS server at `addr` as client `id`, and
/// waits for `OPEN`.
pub async fn connect(addr: SocketAddr, from: Ipv4Addr, id: &str) -> Result<Conn, PeerJsError> {
    tokio::time::timeout(STEP_TIMEOUT, open(addr, from, id))
        .await
        .map_err(|_| PeerJsError::Timeout)?
}

async fn open(addr: SocketAddr, from: Ipv4Addr, id: &str) -> Result<Conn, PeerJsError> {
    let connect_error = |error| PeerJsError::Connect {
        from,
        to: addr,
        error,
    };
    let socket = TcpSocket::new_v4().map_err(connect_error)?;
    socket
        .bind(SocketAddr::new(from.into(), 0))
        .map_err(connect_error)?;
    let stream = socket.connect(addr).await.map_err(connect_error)?;
    stream.set_nodelay(true).map_err(connect_error)?;
    // (The IDs are the bench's own: letters and digits, nothing to escape.)
    let url = format!("ws://{addr}/peerjs?key={KEY}&id={id}&token=t{id}");
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    let mut heartbeat =
        tokio::time::interval_at(Instant::now() + HEARTBEAT_INTERVAL, HEARTBEAT_INTERVAL);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut conn = Conn { ws, heartbeat };
    loop {
        let frame = conn.ws.next().await.ok_or(PeerJsError::Closed)??;
        return match conn.read(frame)? {
            None => continue,
            Some(Incoming::Other(msg)) if msg["type"] == "OPEN" => Ok(conn),
            Some(Incoming::Other(msg)) => Err(PeerJsError::Refused(msg.to_string())),
            Some(Incoming::Stamped(_)) => Err(PeerJsError::Refused("a CANDIDATE".into())),
        };
    }
}

impl Conn {
    /// The next frame, `None` once the connection ended; sends the heartbeats that fall due
    /// meanwhile. Cancel-safe as far as frames go: cancelled while a heartbeat is being
    /// written, that heartbeat may be lost (the next one keeps the client alive).
    pub async fn frame(&mut self) -> Option<Result<Message, tungstenite::Error>> {
        loop {
            tokio::select! {
                biased;
                frame = self.ws.next() => return frame,
                _ = self.heartbeat.tick() => {
                    if let Err(e) = self.ws.send(Message::text(HEARTBEAT)).await {
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    /// Turns a frame into a message; `None` for frames that are not messages (pings, pongs).
    pub fn read(&self, frame: Message) -> Result<Option<Incoming>, PeerJsError> {
        match frame {
            Message::Text(text) => {
                let text = text.as_str();
                if let Some(stamp) = relayed_stamp(text) {
                    return Ok(Some(Incoming::Stamped(stamp)));
                }
                serde_json::from_str(text)
                    .map(|msg| Some(Incoming::Other(msg)))
                    .map_err(|e| PeerJsError::Unexpected(format!("{e}: {text}")))
            }
            Message::Close(_) => Err(PeerJsError::Closed),
            _ => Ok(None),
        }
    }

    /// Sends an already serialized message.
    pub async fn send_text(&mut self, text: String) -> Result<(), PeerJsError> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }
}

/// A `CANDIDATE` for client `dst`, shaped as the PeerJS client sends a trickled ICE candidate,
/// carrying `stamp`, padded so that the whole frame is `size` bytes (or as short as it can be).
pub fn candidate_frame(dst: &str, stamp: Stamp, size: usize) -> String {
    let dst = serde_json::to_string(dst).unwrap_or_default();
    let frame = |candidate: &str| {
        format!(
            r#"{{"type":"CANDIDATE","payload":{{"candidate":{{"candidate":"{candidate}","sdpMid":"0","sdpMLineIndex":0}},"type":"media","connectionId":"mc_bench"}},"dst":{dst}}}"#
        )
    };
    let head = format!("candidate:{} {} ", stamp.run, stamp.sent_ns);
    let pad = size.saturating_sub(frame(&head).len());
    frame(&(head + &"x".repeat(pad)))
}

/// The stamp of a relayed `CANDIDATE` the bench sent, read straight from the frame's text
/// without parsing the rest of it, so that the load generator spends as little CPU on it as on
/// WebCall's messages (PeerJS relays `JSON.stringify({type, src, dst, payload})`); `None` when
/// the text is not that (it is then parsed in full).
fn relayed_stamp(text: &str) -> Option<Stamp> {
    const MARK: &str = r#""candidate":"candidate:"#;
    if !text.starts_with(r#"{"type":"CANDIDATE","#) {
        return None;
    }
    let at = text.find(MARK)? + MARK.len();
    let mut words = text[at..].split(' ');
    let run = words.next()?.parse().ok()?;
    let sent_ns = words.next()?.parse().ok()?;
    Some(Stamp { run, sent_ns })
}

/// The stamp of a relayed `CANDIDATE` the bench sent, if `msg` is one.
pub fn candidate_stamp(msg: &Value) -> Option<Stamp> {
    if msg["type"] != "CANDIDATE" {
        return None;
    }
    let candidate = msg["payload"]["candidate"]["candidate"].as_str()?;
    let mut words = candidate.strip_prefix("candidate:")?.split(' ');
    let run = words.next()?.parse().ok()?;
    let sent_ns = words.next()?.parse().ok()?;
    Some(Stamp { run, sent_ns })
}

/// What the server reported instead of relaying, if `msg` is such a report: `ERROR`,
/// `ID-TAKEN`, `LEAVE` (the destination's socket failed) or `EXPIRE` (a message queued for an
/// absent client expired).
pub fn refusal(msg: &Value) -> Option<String> {
    match msg["type"].as_str()? {
        "ERROR" | "ID-TAKEN" | "LEAVE" | "EXPIRE" => Some(msg.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_carry_their_stamp_and_have_the_asked_size() {
        let stamp = Stamp {
            run: 2,
            sent_ns: 987_654_321,
        };
        let text = candidate_frame("ra17", stamp, 500);
        assert_eq!(text.len(), 500);
        // The server relays it with `src` added.
        let mut relayed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(relayed["dst"], "ra17");
        relayed["src"] = "rb17".into();
        assert_eq!(candidate_stamp(&relayed), Some(stamp));
        // As PeerJS relays it: type, src, dst, payload.
        let payload = relayed["payload"].to_string();
        let text =
            format!(r#"{{"type":"CANDIDATE","src":"rb17","dst":"ra17","payload":{payload}}}"#);
        assert_eq!(relayed_stamp(&text), Some(stamp));
        assert_eq!(relayed_stamp(r#"{"type":"OPEN"}"#), None);
        assert_eq!(refusal(&relayed), None);
        let open = serde_json::json!({"type": "OPEN"});
        assert_eq!(candidate_stamp(&open), None);
        assert_eq!(refusal(&open), None);
        let leave = serde_json::json!({"type": "LEAVE", "src": "a", "dst": "b"});
        assert!(refusal(&leave).is_some());
        // Too small a size gives the shortest frame.
        assert!(candidate_frame("ra17", stamp, 10).len() > 10);
    }
}
