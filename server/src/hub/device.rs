//! A device: one logged-in session of a user, which outlives the WebSocket it came on.
//!
//! Every message the hub sends a device is numbered ([`ServerMsg::Seq`]) and kept until the
//! client acknowledges it (`Ack`), so that a client whose socket drops can log in again with
//! its session token and the last number it applied, and get every message after it, once and
//! in order (see the protocol's "Reconnecting"). `LoggedIn` and `Pong` go unnumbered.
//!
//! A socket bound to the device is its `link`. When the socket goes without a close (a network
//! gone, silence), the device goes *away*: it keeps its place (online, ringing, in its call),
//! what it is sent is kept, and after the resume grace period it is removed as disconnected.
//! A login that resumes the session binds the new socket to it and sends what was kept; a new
//! socket that takes over a device whose old socket still seems alive cuts the old one off.
//!
//! Here: the device record and its replay buffer, the numbered and unnumbered sends, `Ack`,
//! the end of a socket and the resuming login.

use std::collections::VecDeque;

use tracing::{debug, info};
use webcall_protocol::{ServerMsg, UserId};

use super::call::TimerGuard;
use super::{ConnHandle, ConnId, Gone, Hub, HubError, Outgoing, State, OUTBOX_CAPACITY};

/// How many unacknowledged numbered messages a device keeps for a resume. A resume sends them
/// all at once into the new socket's outbox, which must hold them (and the `LoggedIn` before
/// them) without counting the connection as stuck: hence well below [`OUTBOX_CAPACITY`].
pub const REPLAY_CAPACITY: usize = OUTBOX_CAPACITY / 2;

const _: () = assert!(REPLAY_CAPACITY < OUTBOX_CAPACITY);

/// A logged-in device.
#[derive(Debug)]
pub(crate) struct Conn {
    pub user: UserId,
    /// The socket bound to the device now, or last (while away).
    pub link: ConnId,
    /// How the hub reaches the bound socket; `None` while away.
    pub handle: Option<ConnHandle>,
    /// The user IDs whose presence it watches.
    pub watching: Vec<UserId>,
    /// The session token a resuming login names (random, secret to the client).
    pub session: String,
    /// The numbered messages the client has not acknowledged.
    pub replay: Replay,
    /// While away: removes the device when the resume grace period is over.
    pub away: Option<TimerGuard>,
}

impl Conn {
    /// A fresh session of `user` on socket `link`.
    pub fn new(user: &str, link: ConnId, handle: ConnHandle) -> Conn {
        Conn {
            user: user.to_owned(),
            link,
            handle: Some(handle),
            watching: Vec::new(),
            session: uuid::Uuid::new_v4().simple().to_string(),
            replay: Replay::default(),
            away: None,
        }
    }
}

/// A session's numbered messages that are not acknowledged yet, numbered 1, 2, 3, ... and kept
/// oldest first, at most [`REPLAY_CAPACITY`] of them.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// The number of the last message sent (0: none yet).
    last_sent: u64,
    /// The kept messages: consecutive numbers ending at `last_sent`.
    kept: VecDeque<(u64, ServerMsg)>,
}

impl Replay {
    /// The number of the last message sent (0: none yet).
    pub fn last_sent(&self) -> u64 {
        self.last_sent
    }

    /// The oldest number that can still be sent again: every message from it on is kept.
    pub fn oldest_replayable(&self) -> u64 {
        self.last_sent + 1 - self.kept.len() as u64
    }

    /// Numbers `msg` and keeps it; returns its number, and whether the oldest kept message
    /// had to go to make room.
    pub fn push(&mut self, msg: ServerMsg) -> (u64, bool) {
        let overflow = self.kept.len() >= REPLAY_CAPACITY;
        if overflow {
            self.kept.pop_front();
        }
        self.last_sent += 1;
        self.kept.push_back((self.last_sent, msg));
        (self.last_sent, overflow)
    }

    /// The client applied every message up to `seq`: they need not be kept.
    pub fn ack(&mut self, seq: u64) -> Result<(), HubError> {
        if seq > self.last_sent {
            return Err(HubError::WrongState(
                "acknowledged a message that was not sent",
            ));
        }
        while self.kept.front().is_some_and(|(n, _)| *n <= seq) {
            self.kept.pop_front();
        }
        Ok(())
    }

    /// Whether a client that applied every message up to `seq` can be given the rest.
    pub fn can_resume(&self, seq: u64) -> bool {
        seq <= self.last_sent && seq + 1 >= self.oldest_replayable()
    }

    /// For a client that applied every message up to `seq` (which [`Replay::can_resume`]):
    /// forgets those and returns the rest, numbered, to be sent again.
    pub fn resume(&mut self, seq: u64) -> Vec<ServerMsg> {
        // Nothing up to `seq` is needed any more.
        let _ = self.ack(seq);
        self.kept
            .iter()
            .map(|(n, msg)| ServerMsg::Seq(*n, Box::new(msg.clone())))
            .collect()
    }

    /// How many messages are kept.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.kept.len()
    }
}

impl Hub {
    /// The socket `link` of `device` ended. `clean` when the client closed it (a close frame)
    /// or the server did on purpose: the device is removed at once. Otherwise (the socket
    /// failed, fell silent, or its writes failed) the device goes away for the resume grace
    /// period, keeping its calls and what it is sent, and is removed as disconnected after it
    /// (at once when the grace period is 0). Does nothing when the device has another socket
    /// by now (a resume took it over) or is gone.
    pub fn disconnected(&self, device: ConnId, link: ConnId, clean: bool) {
        let mut st = self.lock();
        let Some(c) = st.conns.get_mut(&device) else {
            return;
        };
        if c.link != link {
            debug!(
                device,
                link,
                bound = c.link,
                "stale socket ended: the device moved on"
            );
            return;
        }
        let grace = self.settings.resume_grace_secs;
        if clean || grace == 0 {
            info!(user = %c.user, device, link, clean, "disconnected");
            self.remove_conn(&mut st, device, Gone::Disconnected);
        } else {
            info!(user = %c.user, device, link, grace_secs = grace, "connection lost: the device waits for a resume");
            c.handle = None;
            let timer = self.after(grace, move |hub| hub.away_expired(device, link));
            c.away = Some(TimerGuard(timer));
            let user = c.user.clone();
            self.device_away(&mut st, device, &user);
        }
        self.finish(&mut st);
    }

    /// The resume grace period of `device`, away since socket `link` ended, is over.
    fn away_expired(&self, device: ConnId, link: ConnId) {
        let mut st = self.lock();
        let still_away = st
            .conns
            .get(&device)
            .is_some_and(|c| c.link == link && c.handle.is_none());
        if still_away {
            info!(device, "not resumed in time: disconnected");
            self.remove_conn(&mut st, device, Gone::Disconnected);
            self.finish(&mut st);
        }
    }

    /// Binds socket `link` to `device`, which the login of its user resumes from `seq`: the
    /// old socket, if still bound, is cut off; the device hears `logged_in` and every kept
    /// message after `seq`, in order. The caller checked [`Replay::can_resume`].
    pub(super) fn resume(
        &self,
        st: &mut State,
        device: ConnId,
        link: ConnId,
        handle: ConnHandle,
        logged_in: ServerMsg,
        seq: u64,
    ) {
        let Some(c) = st.conns.get_mut(&device) else {
            return;
        };
        if let Some(old) = c.handle.take() {
            // The old socket is still open (its end not noticed yet): cut it off. Its end is
            // reported with its own link and ignored.
            info!(user = %c.user, device, old_link = c.link, link, "a resume takes the device over from its old socket");
            if let Some(task) = &old.task {
                task.abort();
            }
        }
        c.link = link;
        c.handle = Some(handle);
        c.away = None;
        let replayed = c.replay.resume(seq);
        let last_sent = c.replay.last_sent();
        info!(user = %c.user, device, link, seq, last_sent, replayed = replayed.len(), "session resumed");
        st.queue(device, Outgoing::Msg(logged_in));
        for msg in replayed {
            st.queue(device, Outgoing::Msg(msg));
        }
    }

    /// The device of `user` whose session token is `session`, if there is one.
    pub(super) fn find_session(st: &State, user: &str, session: &str) -> Option<ConnId> {
        if session.is_empty() {
            return None;
        }
        st.conns_of(user)
            .find(|device| st.conns.get(device).is_some_and(|c| c.session == session))
    }

    /// `Ack`: the device applied every numbered message up to `seq`.
    pub(super) fn ack(st: &mut State, device: ConnId, seq: u64) -> Result<(), HubError> {
        let c = st.conns.get_mut(&device).ok_or(HubError::NotLoggedIn)?;
        c.replay.ack(seq)
    }
}

impl State {
    /// Numbers `msg` for `device`, keeps it for a resume and queues it on the bound socket. A
    /// device that is gone (or [`UNBOUND`](super::call::UNBOUND)) is skipped. The device counts
    /// as stuck when its socket's outbox is full, or when it is away and its replay buffer
    /// overflows (it could not resume any more).
    pub(super) fn send(&mut self, device: ConnId, msg: ServerMsg) {
        let Some(c) = self.conns.get_mut(&device) else {
            return;
        };
        let (seq, overflow) = c.replay.push(msg.clone());
        let Some(handle) = &c.handle else {
            if overflow {
                self.stuck.push(device);
            }
            return;
        };
        let out = Outgoing::Msg(ServerMsg::Seq(seq, Box::new(msg)));
        if !handle.try_queue(out) {
            self.stuck.push(device);
        }
    }

    /// Queues `msg` for `device` as it is, unnumbered (`LoggedIn`, `Pong`): nothing is kept,
    /// and an away device does not get it.
    pub(super) fn send_unsequenced(&mut self, device: ConnId, msg: ServerMsg) {
        self.queue(device, Outgoing::Msg(msg));
    }

    /// Queues `out` for the socket bound to `device`, noting the device as stuck when the
    /// outbox is full. A device that is gone or away is skipped.
    pub(super) fn queue(&mut self, device: ConnId, out: Outgoing) {
        let Some(handle) = self.conns.get(&device).and_then(|c| c.handle.as_ref()) else {
            return;
        };
        if !handle.try_queue(out) {
            self.stuck.push(device);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u64) -> ServerMsg {
        ServerMsg::Presence {
            user_id: format!("u{n}"),
            online: true,
        }
    }

    #[test]
    fn messages_are_numbered_from_one_and_acks_trim() {
        let mut replay = Replay::default();
        assert_eq!(replay.last_sent(), 0);
        assert!(replay.can_resume(0));
        assert!(!replay.can_resume(1));
        for n in 1..=5 {
            assert_eq!(replay.push(msg(n)), (n, false));
        }
        assert_eq!(replay.oldest_replayable(), 1);
        assert!(replay.can_resume(0) && replay.can_resume(5));
        assert!(!replay.can_resume(6));

        replay.ack(3).unwrap();
        assert_eq!(replay.len(), 2);
        assert_eq!(replay.oldest_replayable(), 4);
        assert!(!replay.can_resume(2));
        assert!(replay.can_resume(3));
        // Acknowledging again, or less, changes nothing; beyond what was sent is refused.
        replay.ack(1).unwrap();
        assert_eq!(replay.len(), 2);
        assert!(matches!(replay.ack(6), Err(HubError::WrongState(_))));
        assert_eq!(replay.len(), 2);

        assert_eq!(replay.resume(4), vec![ServerMsg::Seq(5, Box::new(msg(5)))]);
        assert_eq!(replay.len(), 1);
        assert_eq!(replay.resume(5), vec![]);
        assert_eq!(replay.len(), 0);
        assert!(replay.can_resume(5));
        assert_eq!(replay.push(msg(6)), (6, false));
    }

    #[test]
    fn a_full_buffer_drops_its_oldest() {
        let mut replay = Replay::default();
        for n in 1..=REPLAY_CAPACITY as u64 {
            assert_eq!(replay.push(msg(n)), (n, false));
        }
        let next = REPLAY_CAPACITY as u64 + 1;
        assert_eq!(replay.push(msg(next)), (next, true));
        assert_eq!(replay.len(), REPLAY_CAPACITY);
        assert_eq!(replay.oldest_replayable(), 2);
        assert!(!replay.can_resume(0));
        assert!(replay.can_resume(1));
        let again = replay.resume(1);
        assert_eq!(again.len(), REPLAY_CAPACITY);
        assert_eq!(again[0], ServerMsg::Seq(2, Box::new(msg(2))));
    }
}
