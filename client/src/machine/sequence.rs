//! The numbering of the session's messages: the server sends what it says on the user's behalf
//! as [`ServerMsg::Seq`](webcall_protocol::ServerMsg::Seq), 1, 2, 3, ...; each number is applied
//! once, and what was applied is acknowledged ([`ClientMsg::Ack`]) so that the server can stop
//! keeping it for a reconnection.
//!
//! A resumed session sends again everything after the number the client last applied, and a
//! message may cross the reconnection; so a number at or below the last applied one is a
//! duplicate and is dropped. Acknowledgements go out with the heartbeat (when there is something
//! new to acknowledge), and at once when [`ACK_AFTER`] messages are waiting for one, so the
//! server's store stays small during a burst.

use webcall_protocol::ClientMsg;

use super::Machine;

/// How many applied messages may wait for an acknowledgement before one goes out at once.
pub const ACK_AFTER: u64 = 32;

/// Where the session's numbering stands.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sequence {
    /// The last number applied (0: none yet).
    applied: u64,
    /// The last number acknowledged.
    acked: u64,
}

impl Sequence {
    /// Whether message `seq` is new; if so it now counts as applied.
    pub(super) fn apply(&mut self, seq: u64) -> bool {
        if seq <= self.applied {
            return false;
        }
        self.applied = seq;
        true
    }

    /// The last number applied, for [`Resume::seq`](webcall_protocol::Resume::seq).
    pub(super) fn applied(&self) -> u64 {
        self.applied
    }

    /// An acknowledgement of everything applied, when at least `unacked` messages wait for one
    /// (and at least one does).
    fn ack(&mut self, unacked: u64) -> Option<ClientMsg> {
        let waiting = self.applied.saturating_sub(self.acked);
        if waiting == 0 || waiting < unacked {
            return None;
        }
        self.acked = self.applied;
        Some(ClientMsg::Ack { seq: self.applied })
    }
}

impl Machine {
    /// Acknowledges what was applied since the last acknowledgement, if anything was: on each
    /// heartbeat.
    pub(super) fn ack_applied(&mut self) {
        if let Some(ack) = self.sequence.ack(1) {
            self.send(ack);
        }
    }

    /// Acknowledges at once when [`ACK_AFTER`] messages wait for it: after each numbered message.
    pub(super) fn ack_if_many(&mut self) {
        if let Some(ack) = self.sequence.ack(ACK_AFTER) {
            self.send(ack);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_apply_once_and_in_order() {
        let mut seq = Sequence::default();
        assert!(seq.apply(1));
        assert!(seq.apply(2));
        assert!(!seq.apply(2), "a duplicate");
        assert!(!seq.apply(1), "a late replay");
        assert!(seq.apply(5), "a gap is the server's business");
        assert_eq!(seq.applied(), 5);
    }

    #[test]
    fn acks_cover_everything_applied_once() {
        let mut seq = Sequence::default();
        assert_eq!(seq.ack(1), None, "nothing to acknowledge");
        seq.apply(1);
        seq.apply(2);
        assert_eq!(seq.ack(ACK_AFTER), None, "not many waiting");
        assert_eq!(seq.ack(1), Some(ClientMsg::Ack { seq: 2 }));
        assert_eq!(seq.ack(1), None, "nothing new");
        for n in 3..3 + ACK_AFTER {
            seq.apply(n);
        }
        assert_eq!(
            seq.ack(ACK_AFTER),
            Some(ClientMsg::Ack { seq: 2 + ACK_AFTER })
        );
    }
}
