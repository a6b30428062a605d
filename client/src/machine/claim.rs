//! The call as this side tells it when logging in again after a lost connection
//! ([`CallClaim`], in the [`Resume`](webcall_protocol::Resume) of the `Login`).
//!
//! A server that still holds the session ignores it. One that restarted, and so forgot every
//! call, restores the call from the claims of its two parties, which must agree: so the claim
//! says only what this side knows for sure. A call still ringing says how long it has left to
//! ring; an accepted call how long ago it was accepted and whether its audio connected. Before
//! the server issued the call's ID (the microphone opening, the `Invite` on its way) there is
//! nothing to claim. With no call, the last call this side left is claimed as left until the
//! server confirms its end: the `Cancel`, `Reject` or `Hangup` may have died with the old
//! server.

use webcall_protocol::{CallClaim, ClaimPhase};

use super::{Call, Left, Millis};

impl Left {
    /// The claim of a call this side left without hearing it end.
    pub(super) fn claim(&self) -> CallClaim {
        CallClaim {
            call_id: self.call_id.clone(),
            peer: self.peer.clone(),
            caller: self.caller,
            phase: ClaimPhase::Left {
                accepted: self.accepted_secs.is_some(),
                secs: self.accepted_secs.unwrap_or(0),
            },
        }
    }
}

impl Call {
    /// This side's claim to the call at `now`, when it has one the server issued.
    pub(super) fn claim(&self, now: Millis) -> Option<CallClaim> {
        let ringing = |rings_until: Millis| ClaimPhase::Ringing {
            secs_left: secs_left(rings_until, now),
        };
        let (call_id, peer, caller, phase) = match self {
            Call::Idle | Call::Inviting { .. } => return None,
            Call::Dialing {
                call_id,
                callee,
                rings_until,
                ..
            } => (call_id, callee, true, ringing(*rings_until)),
            Call::Incoming {
                call_id,
                caller,
                rings_until,
            } => (call_id, caller, false, ringing(*rings_until)),
            Call::Accepting { call_id, caller } => (
                call_id,
                caller,
                false,
                ClaimPhase::Accepted {
                    secs: 0,
                    connected: false,
                },
            ),
            Call::Active {
                call_id,
                peer,
                since,
                connected,
                caller,
                ..
            } => (
                call_id,
                peer,
                *caller,
                ClaimPhase::Accepted {
                    secs: now.saturating_sub(*since) / 1000,
                    connected: *connected,
                },
            ),
        };
        Some(CallClaim {
            call_id: call_id.clone(),
            peer: peer.clone(),
            caller,
            phase,
        })
    }
}

/// Whole seconds (rounded up) from `now` to `until`, at least 1: a call that should have
/// stopped ringing is the server's to end, with the outcome it decides.
fn secs_left(until: Millis, now: Millis) -> u32 {
    let secs = until.saturating_sub(now).div_ceil(1000).max(1);
    u32::try_from(secs).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ringing_time_left_rounds_up_and_never_reaches_zero() {
        assert_eq!(secs_left(30_000, 0), 30);
        assert_eq!(secs_left(30_000, 1), 30);
        assert_eq!(secs_left(30_000, 29_001), 1);
        assert_eq!(secs_left(30_000, 30_000), 1);
        assert_eq!(secs_left(30_000, 90_000), 1);
    }
}
