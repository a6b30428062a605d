//! The checks in the order a check page runs them, their verdicts, and the summary at the end.

/// One check of the device check, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckId {
    /// The browser has the APIs calls need ([`Support::detect`](super::Support::detect)).
    Browser,
    /// The page is a secure context: https, or served from this device
    /// ([`Support::detect`](super::Support::detect)).
    SecureContext,
    /// The page may use the microphone ([`microphone_permission`](super::microphone_permission)).
    MicPermission,
    /// Sound reaches the microphone ([`mic_level`](super::mic_level)).
    MicLevel,
    /// A tone plays through the speaker ([`speaker_tone`](super::speaker_tone)).
    Speaker,
    /// The signaling server answers, and how fast ([`signaling_rtt`](super::signaling_rtt)).
    Signaling,
    /// A TURN server relays ([`relay`](super::relay())).
    Relay,
}

impl CheckId {
    /// Every check, in order.
    pub const ALL: [CheckId; 7] = [
        CheckId::Browser,
        CheckId::SecureContext,
        CheckId::MicPermission,
        CheckId::MicLevel,
        CheckId::Speaker,
        CheckId::Signaling,
        CheckId::Relay,
    ];
}

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The check passed.
    Pass,
    /// The check failed: calls will not work, or not well, until it passes.
    Fail,
    /// It could not run here (the relay check without a login, say): neither pass nor fail.
    Skipped,
}

/// Where the checks stand: which failed, which were skipped, how many are not done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The checks that failed, in the order given.
    pub failed: Vec<CheckId>,
    /// The checks that could not run, in the order given.
    pub skipped: Vec<CheckId>,
    /// Checks without a verdict yet (waiting or running).
    pub pending: usize,
}

impl Summary {
    /// Sums up each check's verdict (`None`: not done yet), in the order given.
    ///
    /// ```
    /// use webcall_client::check::{CheckId, Summary, Verdict};
    ///
    /// let summary = Summary::of([
    ///     (CheckId::Browser, Some(Verdict::Pass)),
    ///     (CheckId::MicLevel, Some(Verdict::Fail)),
    ///     (CheckId::Relay, Some(Verdict::Skipped)),
    ///     (CheckId::Signaling, None),
    /// ]);
    /// assert_eq!(summary.failed, [CheckId::MicLevel]);
    /// assert_eq!(summary.skipped, [CheckId::Relay]);
    /// assert!(!summary.is_done() && !summary.all_passed());
    /// ```
    pub fn of(verdicts: impl IntoIterator<Item = (CheckId, Option<Verdict>)>) -> Summary {
        let mut summary = Summary::default();
        for (id, verdict) in verdicts {
            match verdict {
                Some(Verdict::Pass) => {}
                Some(Verdict::Fail) => summary.failed.push(id),
                Some(Verdict::Skipped) => summary.skipped.push(id),
                None => summary.pending += 1,
            }
        }
        summary
    }

    /// Whether every check has its verdict.
    pub fn is_done(&self) -> bool {
        self.pending == 0
    }

    /// Whether every check is done and none failed (some may have been skipped).
    pub fn all_passed(&self) -> bool {
        self.is_done() && self.failed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_passed_needs_every_verdict_and_no_failure() {
        let pass = CheckId::ALL.map(|id| (id, Some(Verdict::Pass)));
        let summary = Summary::of(pass);
        assert!(summary.is_done() && summary.all_passed());
        assert_eq!(summary, Summary::default());

        let mut running = pass;
        running[6].1 = None;
        let summary = Summary::of(running);
        assert!(!summary.is_done() && !summary.all_passed());
        assert_eq!(summary.pending, 1);
    }

    #[test]
    fn failures_and_skips_are_listed_in_order() {
        let mut verdicts = CheckId::ALL.map(|id| (id, Some(Verdict::Pass)));
        verdicts[6].1 = Some(Verdict::Skipped);
        let summary = Summary::of(verdicts);
        assert!(summary.all_passed(), "a skipped check is not a failure");
        assert_eq!(summary.skipped, vec![CheckId::Relay]);

        verdicts[1].1 = Some(Verdict::Fail);
        verdicts[3].1 = Some(Verdict::Fail);
        let summary = Summary::of(verdicts);
        assert!(summary.is_done() && !summary.all_passed());
        assert_eq!(
            summary.failed,
            vec![CheckId::SecureContext, CheckId::MicLevel]
        );
        assert_eq!(summary.skipped, vec![CheckId::Relay]);
    }
}
