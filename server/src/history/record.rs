//! What goes into the call history when a call ends: one row for each of its two parties, each
//! as that party saw the call (its direction, and its outcome: a call that rang and was never
//! answered is "missed" for the callee, whatever the caller's side calls it).

use webcall_protocol::{CallDirection, HistoryEntry, HistoryOutcome, Outcome, UserId};

/// What the hub knows of a call when it decides the call's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedCall<'a> {
    pub call_id: &'a str,
    pub caller: &'a str,
    pub callee: &'a str,
    /// When the call was placed, in Unix milliseconds.
    pub placed_ms: u64,
    /// Seconds since the callee accepted it; `None` when it was never accepted.
    pub talked_secs: Option<u64>,
}

/// One row of one user's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Whose history the row belongs to.
    pub user: UserId,
    pub entry: HistoryEntry,
}

/// The caller's row and the callee's row of a call that ended with `outcome`.
pub fn records(call: EndedCall<'_>, outcome: &Outcome) -> [Record; 2] {
    let (answered, duration_secs) = match outcome {
        Outcome::HungUp { duration_secs, .. } => (true, *duration_secs),
        _ => (call.talked_secs.is_some(), call.talked_secs.unwrap_or(0)),
    };
    let row = |user: &str, peer: &str, direction: CallDirection| Record {
        user: user.to_owned(),
        entry: HistoryEntry {
            call_id: call.call_id.to_owned(),
            peer: peer.to_owned(),
            direction,
            started_ms: call.placed_ms,
            answered,
            duration_secs,
            outcome: outcome_for(outcome, direction, answered),
        },
    };
    [
        row(call.caller, call.callee, CallDirection::Outgoing),
        row(call.callee, call.caller, CallDirection::Incoming),
    ]
}

/// How `outcome` reads in the history of the party on side `direction`.
fn outcome_for(outcome: &Outcome, direction: CallDirection, answered: bool) -> HistoryOutcome {
    let incoming = direction == CallDirection::Incoming;
    match outcome {
        Outcome::HungUp { .. } => HistoryOutcome::Answered,
        Outcome::Rejected => HistoryOutcome::Rejected,
        Outcome::Busy | Outcome::NoAnswer { .. } | Outcome::Cancelled { .. } if incoming => {
            HistoryOutcome::Missed
        }
        Outcome::Busy => HistoryOutcome::Busy,
        Outcome::NoAnswer { .. } => HistoryOutcome::NoAnswer,
        Outcome::Cancelled { .. } => HistoryOutcome::Cancelled,
        // A callee whose caller vanished while it rang missed the call.
        Outcome::ConnectionLost { .. } if incoming && !answered => HistoryOutcome::Missed,
        Outcome::ConnectionLost { .. } => HistoryOutcome::ConnectionLost,
        Outcome::Failed { .. } => HistoryOutcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(talked_secs: Option<u64>) -> EndedCall<'static> {
        EndedCall {
            call_id: "c1",
            caller: "alice",
            callee: "bob",
            placed_ms: 1_700_000_000_000,
            talked_secs,
        }
    }

    fn outcomes(call: EndedCall<'_>, outcome: Outcome) -> (HistoryOutcome, HistoryOutcome) {
        let [caller, callee] = records(call, &outcome);
        (caller.entry.outcome, callee.entry.outcome)
    }

    #[test]
    fn each_party_gets_its_own_row() {
        let outcome = Outcome::HungUp {
            by: "bob".into(),
            duration_secs: 61,
        };
        let [caller, callee] = records(call(Some(62)), &outcome);
        assert_eq!(caller.user, "alice");
        assert_eq!(caller.entry.peer, "bob");
        assert_eq!(caller.entry.direction, CallDirection::Outgoing);
        assert_eq!(callee.user, "bob");
        assert_eq!(callee.entry.peer, "alice");
        assert_eq!(callee.entry.direction, CallDirection::Incoming);
        for row in [&caller, &callee] {
            assert_eq!(row.entry.call_id, "c1");
            assert_eq!(row.entry.started_ms, 1_700_000_000_000);
            assert!(row.entry.answered);
            // The hub's count of the talk wins over the time since the accept.
            assert_eq!(row.entry.duration_secs, 61);
            assert_eq!(row.entry.outcome, HistoryOutcome::Answered);
        }
    }

    #[test]
    fn unanswered_calls_are_missed_by_the_callee() {
        use HistoryOutcome as H;
        let ringing = call(None);
        assert_eq!(
            outcomes(ringing, Outcome::Rejected),
            (H::Rejected, H::Rejected)
        );
        assert_eq!(outcomes(ringing, Outcome::Busy), (H::Busy, H::Missed));
        let timeout = Outcome::NoAnswer { offline: true };
        assert_eq!(outcomes(ringing, timeout), (H::NoAnswer, H::Missed));
        let cancelled = Outcome::Cancelled {
            disconnected: false,
        };
        assert_eq!(outcomes(ringing, cancelled), (H::Cancelled, H::Missed));
        let lost = Outcome::ConnectionLost {
            user: "alice".into(),
        };
        assert_eq!(outcomes(ringing, lost), (H::ConnectionLost, H::Missed));
        let [caller, callee] = records(ringing, &Outcome::Rejected);
        for row in [caller, callee] {
            assert!(!row.entry.answered);
            assert_eq!(row.entry.duration_secs, 0);
        }
    }

    #[test]
    fn broken_calls_keep_how_long_they_lasted() {
        use HistoryOutcome as H;
        let lost = Outcome::ConnectionLost { user: "bob".into() };
        assert_eq!(
            outcomes(call(Some(40)), lost.clone()),
            (H::ConnectionLost, H::ConnectionLost)
        );
        let failed = Outcome::Failed {
            message: "the audio did not connect within 30 s".into(),
        };
        assert_eq!(
            outcomes(call(Some(30)), failed.clone()),
            (H::Failed, H::Failed)
        );
        let [caller, _] = records(call(Some(40)), &lost);
        assert!(caller.entry.answered);
        assert_eq!(caller.entry.duration_secs, 40);
        let [caller, _] = records(call(None), &failed);
        assert!(!caller.entry.answered);
        assert_eq!(caller.entry.duration_secs, 0);
    }
}
