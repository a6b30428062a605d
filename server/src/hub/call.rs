//! One call's record: who is in it, what phase it is in, and the signals held while it rings;
//! and the bounded memory of calls that ended, so that late actions get a clear answer.
//!
//! A call restored from its parties' claims after a server restart (see `restore`) may have a
//! side whose device is not back yet: that side's connection is [`UNBOUND`], what is sent to
//! it is skipped, and the signals meant for it wait in [`Call::pending`].

use std::collections::{HashMap, VecDeque};

use tokio::task::AbortHandle;
use tokio::time::Instant;
use webcall_protocol::{CallId, CallType, Outcome, ServerMsg, Signal, UserId};

use super::ConnId;

/// The connection of a call's party whose device has not come back yet (a call restored from
/// one party's claim). No device has this ID: real ones start at 1.
pub const UNBOUND: ConnId = 0;

/// The most signals the caller may send before the callee accepts.
pub const MAX_HELD_SIGNALS: usize = 64;

/// The most signal payload, in bytes, held before the callee accepts.
pub const MAX_HELD_BYTES: usize = 256 * 1024;

/// A call between two users, from `Invite` until its `CallEnded`.
#[derive(Debug)]
pub(crate) struct Call {
    /// The server-issued ID (UUID v4).
    pub id: CallId,
    /// The user who placed the call.
    pub caller: UserId,
    /// The caller's connection that placed it; the caller's side of the call lives there.
    /// [`UNBOUND`] while a restored call waits for the caller's device.
    pub caller_conn: ConnId,
    /// The user being called.
    pub callee: UserId,
    /// When the call was placed, in Unix milliseconds (for a call restored from claims: when
    /// it was restored, less the time it had been accepted).
    pub placed_ms: u64,
    /// Audio, always (video is refused before a call is made).
    pub call_type: CallType,
    /// Ringing or active.
    pub phase: Phase,
    /// How many ringing devices the caller was last told of.
    pub announced_ringing: u32,
    /// Signals for a party that is [`UNBOUND`], delivered when its device comes back.
    pub pending: HeldSignals,
    /// Ends a restored call whose other party has not claimed it within the restore window;
    /// dropped once both parties are back.
    pub restore_timer: Option<TimerGuard>,
}

/// Where a call is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Every device of the callee rings (none, while the callee is offline: the invitation
    /// waits for a login until `rings_until`). The caller's signals wait in `held`; `_timer`
    /// ends the call at `rings_until`, and is cancelled when the phase is dropped.
    Ringing {
        held: HeldSignals,
        rings_until: Instant,
        _timer: Option<TimerGuard>,
    },
    /// The callee accepted on `callee_conn` ([`UNBOUND`] while a restored call waits for that
    /// device) at `since`. Unless a party has reported its audio `connected` by then,
    /// `_connect_timer` fails the call when the connect limit passes.
    Active {
        callee_conn: ConnId,
        since: Instant,
        connected: bool,
        /// The parties whose audio stopped (`MediaInterrupted`) and has not come back
        /// (`MediaConnected`) since.
        interrupted: Interrupted,
        _connect_timer: TimerGuard,
    },
}

/// Which parties of an accepted call reported their audio interrupted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interrupted {
    pub caller: bool,
    pub callee: bool,
}

impl Interrupted {
    /// The flag of the party in `role`.
    pub fn of(&mut self, role: Role) -> &mut bool {
        match role {
            Role::Caller => &mut self.caller,
            Role::Callee => &mut self.callee,
        }
    }
}

/// Which side of a call a connection is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Caller,
    Callee,
}

impl Role {
    /// The other side.
    pub fn other(self) -> Role {
        match self {
            Role::Caller => Role::Callee,
            Role::Callee => Role::Caller,
        }
    }
}

impl Call {
    /// The other party of `user`'s call.
    pub fn peer_of(&self, user: &str) -> &UserId {
        if user == self.caller {
            &self.callee
        } else {
            &self.caller
        }
    }

    /// The role of connection `conn` of user `user` in this call, or `None` when the connection
    /// has no part in it. While the call rings every connection of the callee is a party; once
    /// accepted, only the one that accepted.
    pub fn role_of(&self, conn: ConnId, user: &str) -> Option<Role> {
        if conn == self.caller_conn {
            return Some(Role::Caller);
        }
        if user != self.callee {
            return None;
        }
        match self.phase {
            Phase::Ringing { .. } => Some(Role::Callee),
            Phase::Active { callee_conn, .. } if callee_conn == conn => Some(Role::Callee),
            Phase::Active { .. } => None,
        }
    }

    /// Whether the call still rings.
    pub fn is_ringing(&self) -> bool {
        matches!(self.phase, Phase::Ringing { .. })
    }

    /// The callee's connection once accepted ([`UNBOUND`] until its device is back), `None`
    /// while the call rings.
    pub fn callee_conn(&self) -> Option<ConnId> {
        match self.phase {
            Phase::Ringing { .. } => None,
            Phase::Active { callee_conn, .. } => Some(callee_conn),
        }
    }

    /// The user on side `role`, and that side's connection (the callee's is [`UNBOUND`] while
    /// the call rings: every device of the callee is a party then).
    pub fn side(&self, role: Role) -> (&UserId, ConnId) {
        match role {
            Role::Caller => (&self.caller, self.caller_conn),
            Role::Callee => (&self.callee, self.callee_conn().unwrap_or(UNBOUND)),
        }
    }

    /// Whether every side of the call has its device: the caller's, and the callee's once
    /// accepted.
    pub fn is_bound(&self) -> bool {
        self.caller_conn != UNBOUND && self.callee_conn() != Some(UNBOUND)
    }

    /// The invitation for a callee device while the call rings, with the time left (rounded
    /// up, so that the dialog never claims less time than there is); `None` once accepted.
    pub fn invitation(&self) -> Option<ServerMsg> {
        let Phase::Ringing { rings_until, .. } = &self.phase else {
            return None;
        };
        let left = rings_until.saturating_duration_since(Instant::now());
        let timeout_secs = left.as_millis().div_ceil(1000).max(1) as u32;
        Some(ServerMsg::Invited {
            call_id: self.id.clone(),
            caller: self.caller.clone(),
            call_type: self.call_type,
            timeout_secs,
        })
    }
}

/// Cancels a timer (a task made by the hub's `after`) when dropped, so that whatever owns it
/// (a ringing phase, a call, an away device) takes its timer with it however it ends.
#[derive(Debug)]
pub(crate) struct TimerGuard(pub AbortHandle);

impl Drop for TimerGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How many ended calls are remembered.
pub(crate) const ENDED_MEMORY: usize = 4096;

/// The outcomes of the last [`ENDED_MEMORY`] calls, with their parties, so that a late action
/// on one (a second hang-up, an accept after the timeout) is told the call is over and how.
#[derive(Debug, Default)]
pub(crate) struct EndedCalls {
    order: VecDeque<CallId>,
    calls: HashMap<CallId, Ended>,
}

/// A call that ended.
#[derive(Debug)]
pub(crate) struct Ended {
    pub caller: UserId,
    pub callee: UserId,
    pub outcome: Outcome,
}

impl EndedCalls {
    /// Remembers that `call_id` ended, forgetting the oldest when full.
    pub fn insert(&mut self, call_id: CallId, ended: Ended) {
        if self.order.len() >= ENDED_MEMORY {
            if let Some(oldest) = self.order.pop_front() {
                self.calls.remove(&oldest);
            }
        }
        self.order.push_back(call_id.clone());
        self.calls.insert(call_id, ended);
    }

    /// How `call_id` ended, when it did recently.
    pub fn get(&self, call_id: &str) -> Option<&Ended> {
        self.calls.get(call_id)
    }

    /// How many are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.calls.len()
    }
}

/// A few words on how a call ended, for error messages.
pub(crate) fn describe(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Rejected => "it was rejected",
        Outcome::Busy => "the callee was busy",
        Outcome::NoAnswer { .. } => "nobody answered",
        Outcome::Cancelled { .. } => "it was cancelled",
        Outcome::HungUp { .. } => "it was hung up",
        Outcome::Failed { .. } => "it failed",
        Outcome::ConnectionLost { .. } => "a connection was lost",
    }
}

/// Signals waiting for their receiver, in the order they came, within [`MAX_HELD_SIGNALS`] and
/// [`MAX_HELD_BYTES`]: the caller's until the callee accepts, or a party's until the other's
/// device is back.
#[derive(Debug, Default)]
pub(crate) struct HeldSignals {
    signals: Vec<Signal>,
    bytes: usize,
}

/// The held signals are at their limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeldFull;

impl HeldSignals {
    /// Holds `signal`, unless that would go past the limits.
    pub fn push(&mut self, signal: Signal) -> Result<(), HeldFull> {
        let size = signal_size(&signal);
        if self.signals.len() >= MAX_HELD_SIGNALS || self.bytes + size > MAX_HELD_BYTES {
            return Err(HeldFull);
        }
        self.bytes += size;
        self.signals.push(signal);
        Ok(())
    }

    /// The held signals, oldest first.
    pub fn take(&mut self) -> Vec<Signal> {
        self.bytes = 0;
        std::mem::take(&mut self.signals)
    }
}

/// The payload size of a signal, roughly as it travels.
fn signal_size(signal: &Signal) -> usize {
    match signal {
        Signal::Offer { sdp } | Signal::Answer { sdp } => sdp.len(),
        Signal::Ice {
            candidate, sdp_mid, ..
        } => candidate.len() + sdp_mid.as_ref().map_or(0, String::len) + 8,
        Signal::Mute { .. } => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_signals_are_bounded_by_count() {
        let mut held = HeldSignals::default();
        for i in 0..MAX_HELD_SIGNALS {
            held.push(Signal::Offer { sdp: i.to_string() }).unwrap();
        }
        assert_eq!(held.push(Signal::Offer { sdp: "x".into() }), Err(HeldFull));
        let signals = held.take();
        assert_eq!(signals.len(), MAX_HELD_SIGNALS);
        assert_eq!(signals[0], Signal::Offer { sdp: "0".into() });
        assert_eq!(signals[63], Signal::Offer { sdp: "63".into() });
    }

    #[test]
    fn ended_calls_are_remembered_up_to_the_limit() {
        let mut ended = EndedCalls::default();
        for i in 0..ENDED_MEMORY + 10 {
            ended.insert(
                i.to_string(),
                Ended {
                    caller: "a".into(),
                    callee: "b".into(),
                    outcome: Outcome::Rejected,
                },
            );
        }
        assert_eq!(ended.len(), ENDED_MEMORY);
        assert!(ended.get("0").is_none());
        assert!(ended.get("9").is_none());
        assert!(ended.get("10").is_some());
        assert!(ended.get(&(ENDED_MEMORY + 9).to_string()).is_some());
    }

    #[test]
    fn held_signals_are_bounded_by_bytes() {
        let mut held = HeldSignals::default();
        let big = "v".repeat(MAX_HELD_BYTES / 2);
        held.push(Signal::Offer { sdp: big.clone() }).unwrap();
        held.push(Signal::Offer { sdp: big.clone() }).unwrap();
        assert_eq!(held.push(Signal::Offer { sdp: "v".into() }), Err(HeldFull));
    }
}
