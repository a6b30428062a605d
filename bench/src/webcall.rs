//! The WebCall side of the load generator: how a simulated user reaches the signaling server
//! and speaks its protocol (the real `webcall-protocol` types, JSON text frames), kept apart
//! from the load patterns in `main.rs` so that an adapter for another signaling server (PeerJS)
//! can sit next to it.
//!
//! A [`Conn`] is one logged-in WebSocket: it numbers nothing itself, but applies the server's
//! numbered messages ([`ServerMsg::Seq`]) and acknowledges them as the browser client does
//! (every [`ACK_AFTER`] messages), so that the server's replay store stays as small as it does
//! with real clients.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;
use webcall_protocol::{CallId, CallType, ClientMsg, ErrorCode, ServerMsg, Signal};
use webcall_server::UserSigKey;

/// How many applied numbered messages wait for an acknowledgement at most (the browser
/// client's `ACK_AFTER`).
pub const ACK_AFTER: u64 = 32;

/// How long one step of a connection's setup (connect, login, a call's setup) may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// The client's WebSocket buffers: small, since thousands of connections share the load
/// generator's memory and its messages are small.
const READ_BUFFER_SIZE: usize = 4 * 1024;

/// Why a simulated user failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
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
    #[error("the server closed the connection")]
    Closed,
    /// The server answered with an `Error`.
    #[error("while {doing}, the server answered {code:?}: {message}")]
    Refused {
        doing: &'static str,
        code: ErrorCode,
        message: String,
    },
    /// The server sent something else than the step waited for.
    #[error("while {doing}, unexpected message {msg}")]
    Unexpected { doing: &'static str, msg: String },
    /// A step took longer than [`STEP_TIMEOUT`].
    #[error("timed out while {0}")]
    Timeout(&'static str),
}

/// The server the load goes to, and how its users sign in.
#[derive(Clone)]
pub struct Target {
    /// The server's address (127.0.0.1:port).
    pub addr: SocketAddr,
    /// Signs the users' UserSigs with the server's secret key.
    pub key: UserSigKey,
}

impl Target {
    /// A UserSig for `user`, valid for a day from now.
    pub fn user_sig(&self, user: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.key.issue(user, 86_400, now)
    }

    /// Opens a WebSocket to the server from source address `from` (bound before connecting,
    /// so that the connections spread over several source addresses and their port ranges).
    pub async fn connect(&self, from: Ipv4Addr) -> Result<Conn, LoadError> {
        let connect_error = |error| LoadError::Connect {
            from,
            to: self.addr,
            error,
        };
        let socket = TcpSocket::new_v4().map_err(connect_error)?;
        socket
            .bind(SocketAddr::new(from.into(), 0))
            .map_err(connect_error)?;
        let stream = socket.connect(self.addr).await.map_err(connect_error)?;
        stream.set_nodelay(true).map_err(connect_error)?;
        let url = format!("ws://{}/ws", self.addr);
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_SIZE)
            .write_buffer_size(0);
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
        Ok(Conn {
            ws,
            applied: 0,
            acked: 0,
        })
    }

    /// Connects from `from` and logs in as `user`: sends `Login`, waits for `LoggedIn`.
    pub async fn login(&self, from: Ipv4Addr, user: &str) -> Result<Conn, LoadError> {
        let doing = "logging in";
        let mut conn = timeout(doing, self.connect(from)).await?;
        let login = ClientMsg::Login {
            user_id: user.to_owned(),
            user_sig: self.user_sig(user),
            sdk_app_id: self.key.sdk_app_id(),
            resume: None,
        };
        conn.send(&login).await?;
        match timeout(doing, conn.recv()).await? {
            ServerMsg::LoggedIn { .. } => Ok(conn),
            msg => Err(unexpected(doing, msg)),
        }
    }
}

/// One logged-in connection.
pub struct Conn {
    pub ws: WebSocketStream<TcpStream>,
    /// The last numbered message applied.
    applied: u64,
    /// The last number acknowledged.
    acked: u64,
}

impl Conn {
    /// Sends a protocol message.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<(), LoadError> {
        let text = serde_json::to_string(msg).unwrap_or_default();
        self.send_text(text).await
    }

    /// Sends an already serialized protocol message.
    pub async fn send_text(&mut self, text: String) -> Result<(), LoadError> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    /// The next protocol message, numbered or not (the number applied), skipping WebSocket
    /// pings and pongs (answered by tungstenite as a browser answers them).
    pub async fn recv(&mut self) -> Result<ServerMsg, LoadError> {
        loop {
            let frame = self.ws.next().await.ok_or(LoadError::Closed)??;
            if let Some(msg) = self.read(frame)? {
                return Ok(msg);
            }
        }
    }

    /// Turns a frame into a protocol message (applying its number); `None` for frames that
    /// are not messages (pings, pongs).
    pub fn read(&mut self, frame: Message) -> Result<Option<ServerMsg>, LoadError> {
        match frame {
            Message::Text(text) => {
                let msg: ServerMsg =
                    serde_json::from_str(text.as_str()).map_err(|e| LoadError::Unexpected {
                        doing: "reading",
                        msg: format!("{e}: {}", text.as_str()),
                    })?;
                let (seq, msg) = msg.unsequenced();
                if let Some(seq) = seq {
                    self.applied = self.applied.max(seq);
                }
                Ok(Some(msg))
            }
            Message::Close(_) => Err(LoadError::Closed),
            _ => Ok(None),
        }
    }

    /// Acknowledges what was applied when [`ACK_AFTER`] messages wait for it.
    pub async fn ack_if_due(&mut self) -> Result<(), LoadError> {
        if self.applied >= self.acked + ACK_AFTER {
            self.acked = self.applied;
            let seq = self.applied;
            self.send(&ClientMsg::Ack { seq }).await?;
        }
        Ok(())
    }

    /// Waits for a message that `pick` accepts, skipping others the server may send meanwhile
    /// (`Ringing`, `Presence`); an `Error` fails the step.
    async fn wait_for<T>(
        &mut self,
        doing: &'static str,
        mut pick: impl FnMut(ServerMsg) -> Option<T>,
    ) -> Result<T, LoadError> {
        timeout(doing, async {
            loop {
                match self.recv().await? {
                    ServerMsg::Error { code, message, .. } => {
                        return Err(LoadError::Refused {
                            doing,
                            code,
                            message,
                        })
                    }
                    msg => {
                        if let Some(found) = pick(msg) {
                            return Ok(found);
                        }
                    }
                }
            }
        })
        .await
    }
}

/// Sets up an accepted call from `caller` to `callee` (user ID `callee_id`) whose audio counts
/// as connected on both sides: invite, ring, accept, media connected. Returns its ID.
pub async fn setup_call(
    caller: &mut Conn,
    callee: &mut Conn,
    callee_id: &str,
) -> Result<CallId, LoadError> {
    caller
        .send(&ClientMsg::Invite {
            req: 1,
            callee: callee_id.to_owned(),
            call_type: CallType::Audio,
            timeout_secs: None,
        })
        .await?;
    let call_id = caller
        .wait_for("inviting", |msg| match msg {
            ServerMsg::CallCreated { call_id, .. } => Some(call_id),
            _ => None,
        })
        .await?;
    callee
        .wait_for("waiting for the invitation", |msg| match msg {
            ServerMsg::Invited { call_id: id, .. } if id == call_id => Some(()),
            _ => None,
        })
        .await?;
    callee
        .send(&ClientMsg::Accept {
            call_id: call_id.clone(),
        })
        .await?;
    for (conn, doing) in [
        (&mut *caller, "waiting for the acceptance"),
        (&mut *callee, "accepting"),
    ] {
        conn.wait_for(doing, |msg| match msg {
            ServerMsg::Accepted { call_id: id } if id == call_id => Some(()),
            _ => None,
        })
        .await?;
        conn.send(&ClientMsg::MediaConnected {
            call_id: call_id.clone(),
        })
        .await?;
    }
    Ok(call_id)
}

/// What the bench writes into a relayed message: the run it belongs to and its send time (in
/// nanoseconds on the load generator's monotonic clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub run: u32,
    pub sent_ns: u64,
}

/// A `Signal` (a trickled ICE candidate, the commonest signaling message of a call) for
/// `call_id` carrying `stamp`, padded so that the whole frame is `size` bytes (or as short as
/// it can be).
pub fn signal_frame(call_id: &str, stamp: Stamp, size: usize) -> String {
    let frame = |candidate: String| {
        let msg = ClientMsg::Signal {
            call_id: call_id.to_owned(),
            signal: Signal::Ice {
                candidate,
                sdp_mid: Some("0".into()),
                sdp_m_line_index: Some(0),
            },
        };
        serde_json::to_string(&msg).unwrap_or_default()
    };
    let head = format!("candidate:{} {} ", stamp.run, stamp.sent_ns);
    let short = frame(head.clone());
    let pad = size.saturating_sub(short.len());
    frame(head + &"x".repeat(pad))
}

/// The stamp of a relayed `Signal` the bench sent, if `msg` is one.
pub fn signal_stamp(msg: &ServerMsg) -> Option<Stamp> {
    let ServerMsg::Signal {
        signal: Signal::Ice { candidate, .. },
        ..
    } = msg
    else {
        return None;
    };
    let mut words = candidate.strip_prefix("candidate:")?.split(' ');
    let run = words.next()?.parse().ok()?;
    let sent_ns = words.next()?.parse().ok()?;
    Some(Stamp { run, sent_ns })
}

/// `future`, failing as [`LoadError::Timeout`] after [`STEP_TIMEOUT`].
async fn timeout<T>(
    doing: &'static str,
    future: impl std::future::Future<Output = Result<T, LoadError>>,
) -> Result<T, LoadError> {
    tokio::time::timeout(STEP_TIMEOUT, future)
        .await
        .map_err(|_| LoadError::Timeout(doing))?
}

fn unexpected(doing: &'static str, msg: ServerMsg) -> LoadError {
    match msg {
        ServerMsg::Error { code, message, .. } => LoadError::Refused {
            doing,
            code,
            message,
        },
        msg => LoadError::Unexpected {
            doing,
            msg: format!("{msg:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_carry_their_stamp_and_have_the_asked_size() {
        let call_id = "0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d";
        let stamp = Stamp {
            run: 3,
            sent_ns: 123_456_789,
        };
        let text = signal_frame(call_id, stamp, 500);
        assert_eq!(text.len(), 500);
        let ClientMsg::Signal { signal, .. } = serde_json::from_str(&text).unwrap() else {
            panic!("not a signal: {text}");
        };
        // The server relays the signal untouched.
        let relayed = ServerMsg::Signal {
            call_id: call_id.into(),
            signal,
        };
        assert_eq!(signal_stamp(&relayed), Some(stamp));
        assert_eq!(signal_stamp(&ServerMsg::Pong), None);
        // Too small a size gives the shortest frame.
        assert!(signal_frame(call_id, stamp, 10).len() > 10);
    }
}
