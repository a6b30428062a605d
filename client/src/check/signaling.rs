//! The signaling check: opens a WebSocket to the server, times a few `Ping` → `Pong` round
//! trips (the server answers pings before any login) and closes it.

use std::rc::Rc;

use webcall_protocol::{ClientMsg, ServerMsg};

use super::wait::{now, Inbox};
use super::{Abort, CheckError};
use crate::shell::{Socket, SocketEvent};

/// How long the socket gets to open, and each ping to be answered.
const OPEN_MS: f64 = 5000.0;
const PONG_MS: f64 = 3000.0;

/// What the signaling check measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundTrip {
    /// The median round trip, in milliseconds.
    pub median_ms: f64,
    /// Every round trip, in order.
    pub samples_ms: Vec<f64>,
    /// How long the socket took to open (TCP, TLS and the WebSocket handshake).
    pub connect_ms: f64,
}

/// The median of `samples` (`None` for none).
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Connects to `server_url` (the signaling WebSocket, as in
/// [`WebCallOptions::server_url`](crate::WebCallOptions::server_url)) and times `pings` round
/// trips, one after the other. The socket is closed before it returns.
pub async fn signaling_rtt(
    server_url: &str,
    pings: usize,
    abort: &Abort,
) -> Result<RoundTrip, CheckError> {
    let inbox = Rc::new(Inbox::default());
    let started = now();
    let socket = {
        let inbox = inbox.clone();
        Socket::open(server_url, move |event| inbox.push(event)).map_err(CheckError::Unreachable)?
    };
    let opened = inbox.next(started + OPEN_MS, abort).await?;
    if !matches!(opened, SocketEvent::Opened) {
        return Err(unexpected(opened));
    }
    let connect_ms = now() - started;
    let mut samples_ms = Vec::with_capacity(pings);
    for _ in 0..pings {
        let sent = now();
        socket.send(&ClientMsg::Ping);
        loop {
            match inbox.next(sent + PONG_MS, abort).await? {
                SocketEvent::Message(ServerMsg::Pong) => break,
                SocketEvent::Message(ServerMsg::Error { message, .. }) => {
                    return Err(CheckError::Refused(message))
                }
                SocketEvent::Message(_) => {}
                other => return Err(unexpected(other)),
            }
        }
        samples_ms.push(now() - sent);
    }
    drop(socket);
    Ok(RoundTrip {
        median_ms: median(&samples_ms).unwrap_or(0.0),
        samples_ms,
        connect_ms,
    })
}

fn unexpected(event: SocketEvent) -> CheckError {
    match event {
        SocketEvent::Closed { reason, .. } => CheckError::Unreachable(reason),
        SocketEvent::Opened | SocketEvent::Message(_) => {
            CheckError::Unreachable("unexpected event".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        // One slow outlier does not move it far.
        assert_eq!(median(&[2.0, 3.0, 400.0, 2.5, 3.5]), Some(3.0));
    }
}
