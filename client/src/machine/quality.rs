//! Voice volume and network quality from the peer connection's statistics.
//!
//! While a call is accepted the machine asks the shell for a [`StatsSample`] every
//! [`STATS_EVERY_MS`] (`getStats()`: the audio levels, the inbound RTP counters, what the other
//! side reported about our stream in its RTCP receiver reports, and the round-trip time of the
//! selected candidate pair). From consecutive samples it derives
//!
//! - [`CallEvent::UserVoiceVolume`] (TRTCCalling's `USER_VOICE_VOLUME`): both sides' levels,
//!   0–100, whenever one changes;
//! - [`CallEvent::NetworkQuality`] (TRTCCalling's `NETWORK_QUALITY`): a 1–5 level with the
//!   numbers behind it for each direction, every [`QUALITY_EVERY_MS`].
//!
//! Counters are cumulative in WebRTC, so loss is measured over the last interval: what the
//! user hears now, not an average since the call began.

use super::{Call, Machine, MediaCommand, Millis, Output, Timer};
use crate::{CallEvent, NetworkQuality, Quality};

/// How often the machine samples the statistics during a call.
pub const STATS_EVERY_MS: u64 = 200;
/// How often it reports the network quality.
pub const QUALITY_EVERY_MS: u64 = 1_000;

/// What the shell read from `RTCPeerConnection.getStats()`. Every field is optional: browsers
/// differ (Firefox has no `media-source` level), and a fresh connection has no reports yet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSample {
    /// The microphone's level, 0.0–1.0 (`media-source` `audioLevel`).
    pub local_level: Option<f64>,
    /// The other side's level as played here, 0.0–1.0 (`inbound-rtp` `audioLevel`).
    pub remote_level: Option<f64>,
    /// Cumulative packets received (`inbound-rtp`).
    pub packets_received: Option<u64>,
    /// Cumulative packets lost on the way here (`inbound-rtp`; may go negative with duplicates).
    pub packets_lost: Option<i64>,
    /// Jitter of what arrives here, in seconds (`inbound-rtp`).
    pub jitter_s: Option<f64>,
    /// Cumulative packets sent (`outbound-rtp`).
    pub packets_sent: Option<u64>,
    /// Cumulative packets of ours the other side lost (`remote-inbound-rtp`).
    pub remote_packets_lost: Option<i64>,
    /// Jitter of our stream as the other side measures it, in seconds (`remote-inbound-rtp`).
    pub remote_jitter_s: Option<f64>,
    /// Round-trip time in seconds: the selected candidate pair's `currentRoundTripTime`, else
    /// `remote-inbound-rtp` `roundTripTime`.
    pub rtt_s: Option<f64>,
}

impl Machine {
    /// Samples the statistics while a call is accepted, and only then: arms the sampling timer
    /// when a call becomes accepted (with a fresh meter for it), disarms it when it ends.
    pub(super) fn settle_stats(&mut self, now: Millis) {
        let call_id = match &self.call {
            Call::Active { call_id, .. } => Some(call_id),
            _ => None,
        };
        match (&self.stats, call_id) {
            (Some(stats), Some(call_id)) if stats.call_id == *call_id => {
                if !stats.armed {
                    self.arm_stats(now);
                }
            }
            (_, Some(call_id)) => {
                self.stats = Some(Sampling {
                    call_id: call_id.clone(),
                    armed: false,
                    meter: QualityMeter::default(),
                });
                self.arm_stats(now);
            }
            (Some(_), None) => {
                self.stats = None;
                self.out(Output::CancelTimer(Timer::Stats));
            }
            (None, None) => {}
        }
    }

    fn arm_stats(&mut self, now: Millis) {
        if let Some(stats) = &mut self.stats {
            stats.armed = true;
        }
        self.out(Output::SetTimer {
            timer: Timer::Stats,
            at: now + STATS_EVERY_MS,
        });
    }

    /// [`Timer::Stats`]: ask for a sample; the timer is armed again when the input settles.
    pub(super) fn stats_due(&mut self) {
        if let Some(stats) = &mut self.stats {
            stats.armed = false;
            self.out(Output::Media(MediaCommand::SampleStats));
        }
    }

    /// A sample arrived: report what it shows.
    pub(super) fn stats_sampled(&mut self, now: Millis, sample: StatsSample) {
        let Some(stats) = &mut self.stats else {
            return;
        };
        // A muted microphone sends silence, whatever the level before the track.
        let muted = matches!(self.call, Call::Active { muted: true, .. });
        let sample = StatsSample {
            local_level: if muted { Some(0.0) } else { sample.local_level },
            ..sample
        };
        for event in stats.meter.sample(now, sample) {
            self.event(event);
        }
    }
}

/// The statistics of the accepted call being sampled.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sampling {
    call_id: webcall_protocol::CallId,
    /// Whether the sampling timer is armed.
    armed: bool,
    meter: QualityMeter,
}

/// The volume and quality derived so far in one call.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct QualityMeter {
    /// The volumes last reported (local, remote).
    volume: Option<(u8, u8)>,
    /// The sample the last quality was measured from, and when.
    base: Option<(u64, StatsSample)>,
}

impl QualityMeter {
    /// Takes the sample read at `now`; returns the events it gives rise to.
    pub(super) fn sample(&mut self, now: u64, sample: StatsSample) -> Vec<CallEvent> {
        let mut events = Vec::new();
        let volume = (volume(sample.local_level), volume(sample.remote_level));
        if self.volume != Some(volume) {
            self.volume = Some(volume);
            events.push(CallEvent::UserVoiceVolume {
                local: volume.0,
                remote: volume.1,
            });
        }
        match &self.base {
            None => self.base = Some((now, sample)),
            Some((since, base)) if now.saturating_sub(*since) >= QUALITY_EVERY_MS => {
                events.push(CallEvent::NetworkQuality(measure(base, &sample)));
                self.base = Some((now, sample));
            }
            Some(_) => {}
        }
        events
    }
}

/// An audio level (0.0–1.0, linear amplitude) as a volume 0–100, on a scale that makes speech
/// visible: the square root spreads the quiet end the way ears hear it.
fn volume(level: Option<f64>) -> u8 {
    let level = level.unwrap_or(0.0);
    if !level.is_finite() || level <= 0.0 {
        return 0;
    }
    (level.min(1.0).sqrt() * 100.0).round() as u8
}

/// The quality of both directions between two samples.
fn measure(before: &StatsSample, after: &StatsSample) -> NetworkQuality {
    let rtt_ms = after.rtt_s.map(ms);
    let receiving = {
        let received = delta_u(before.packets_received, after.packets_received);
        let lost = delta_i(before.packets_lost, after.packets_lost);
        let loss_permille = match (received, lost) {
            (Some(received), Some(lost)) if received + lost > 0 => {
                Some((lost * 1000 / (received + lost)) as u32)
            }
            _ => None,
        };
        quality(received, loss_permille, after.jitter_s.map(ms), rtt_ms)
    };
    let sending = {
        let sent = delta_u(before.packets_sent, after.packets_sent);
        let lost = delta_i(before.remote_packets_lost, after.remote_packets_lost);
        let loss_permille = match (sent, lost) {
            (Some(sent), Some(lost)) if sent > 0 => Some((lost.min(sent) * 1000 / sent) as u32),
            _ => None,
        };
        quality(sent, loss_permille, after.remote_jitter_s.map(ms), rtt_ms)
    };
    NetworkQuality { sending, receiving }
}

/// One direction's quality: the worst of what its loss, jitter and round trip allow. No packets
/// at all in the interval is the lowest level; nothing measured is level 0, unknown.
fn quality(
    packets: Option<u64>,
    loss_permille: Option<u32>,
    jitter_ms: Option<u32>,
    rtt_ms: Option<u32>,
) -> Quality {
    let grade = |value: Option<u32>, limits: [u32; 4]| {
        value.map(|v| 5 - limits.iter().filter(|&&limit| v >= limit).count() as u8)
    };
    let grades = [
        grade(loss_permille, [10, 30, 70, 150]),
        grade(jitter_ms, [30, 50, 80, 150]),
        grade(rtt_ms, [200, 350, 500, 800]),
    ];
    let level = if packets == Some(0) {
        1
    } else {
        grades.into_iter().flatten().min().unwrap_or(0)
    };
    Quality {
        level,
        rtt_ms,
        jitter_ms,
        loss_permille,
    }
}

fn ms(seconds: f64) -> u32 {
    if seconds.is_finite() && seconds > 0.0 {
        (seconds * 1000.0).round().min(u32::MAX as f64) as u32
    } else {
        0
    }
}

/// How much a cumulative counter grew; `None` when unknown or reset (a new stream).
fn delta_u(before: Option<u64>, after: Option<u64>) -> Option<u64> {
    after?.checked_sub(before.unwrap_or(0))
}

/// Like [`delta_u`] for a counter that may shrink a little (duplicates make `packetsLost`
/// negative); a shrink counts as nothing lost.
fn delta_i(before: Option<i64>, after: Option<i64>) -> Option<u64> {
    Some(after?.saturating_sub(before.unwrap_or(0)).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(received: u64, lost: i64, sent: u64, remote_lost: i64) -> StatsSample {
        StatsSample {
            local_level: Some(0.25),
            remote_level: Some(0.01),
            packets_received: Some(received),
            packets_lost: Some(lost),
            jitter_s: Some(0.004),
            packets_sent: Some(sent),
            remote_packets_lost: Some(remote_lost),
            remote_jitter_s: Some(0.006),
            rtt_s: Some(0.0015),
        }
    }

    #[test]
    fn volume_is_reported_when_it_changes() {
        let mut meter = QualityMeter::default();
        let events = meter.sample(0, sample(0, 0, 0, 0));
        assert_eq!(
            events,
            [CallEvent::UserVoiceVolume {
                local: 50,
                remote: 10
            }]
        );
        assert_eq!(meter.sample(200, sample(10, 0, 10, 0)), []);
        let quiet = StatsSample {
            local_level: Some(0.0),
            ..sample(20, 0, 20, 0)
        };
        assert_eq!(
            meter.sample(400, quiet),
            [CallEvent::UserVoiceVolume {
                local: 0,
                remote: 10
            }]
        );
    }

    #[test]
    fn a_clean_path_is_excellent_both_ways() {
        let mut meter = QualityMeter::default();
        meter.sample(0, sample(0, 0, 0, 0));
        assert_eq!(meter.sample(600, sample(30, 0, 30, 0)), []);
        let events = meter.sample(1_000, sample(50, 0, 50, 0));
        let expected = Quality {
            level: 5,
            rtt_ms: Some(2),
            jitter_ms: Some(4),
            loss_permille: Some(0),
        };
        assert_eq!(
            events,
            [CallEvent::NetworkQuality(NetworkQuality {
                sending: Quality {
                    jitter_ms: Some(6),
                    ..expected.clone()
                },
                receiving: expected,
            })]
        );
    }

    #[test]
    fn loss_is_measured_over_the_last_interval_in_each_direction() {
        let mut meter = QualityMeter::default();
        // A bad start that is over: 50 of 100 lost before the interval.
        meter.sample(0, sample(50, 50, 100, 0));
        // Then 90 received and 10 lost (10 %) here; 5 of our 100 lost there (5 %).
        let events = meter.sample(1_000, sample(140, 60, 200, 5));
        let [CallEvent::NetworkQuality(q)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(q.receiving.loss_permille, Some(100));
        assert_eq!(q.receiving.level, 2);
        assert_eq!(q.sending.loss_permille, Some(50));
        assert_eq!(q.sending.level, 3);
    }

    #[test]
    fn nothing_arriving_is_the_lowest_level_and_nothing_known_is_zero() {
        let mut meter = QualityMeter::default();
        meter.sample(0, sample(50, 0, 50, 0));
        let events = meter.sample(1_000, sample(50, 0, 100, 0));
        let [CallEvent::NetworkQuality(q)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(q.receiving.level, 1);
        assert_eq!(q.sending.level, 5);

        let mut meter = QualityMeter::default();
        meter.sample(0, StatsSample::default());
        let events = meter.sample(1_000, StatsSample::default());
        let [CallEvent::NetworkQuality(q)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(q.receiving, Quality::default());
        assert_eq!(q.sending, Quality::default());
    }

    #[test]
    fn round_trip_and_jitter_lower_the_level() {
        let q = quality(Some(50), Some(0), Some(10), Some(400));
        assert_eq!(q.level, 3);
        let q = quality(Some(50), Some(0), Some(200), Some(20));
        assert_eq!(q.level, 1);
        // Garbage from a browser does not panic.
        assert_eq!(ms(f64::NAN), 0);
        assert_eq!(volume(Some(f64::INFINITY)), 0);
        assert_eq!(volume(Some(7.0)), 100);
    }
}
