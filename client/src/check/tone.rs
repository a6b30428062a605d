//! The speaker check: a short synthesized tone (an `OscillatorNode` through a `GainNode` that
//! fades it in and out, so it does not click) played to the default output. The check passes
//! when the context ran for the whole tone; whether it was heard only the user can say.

use super::audio::{audio_error, Audio};
use super::wait::{now, sleep};
use super::{Abort, CheckError};

/// The tone: 440 Hz (A4) for 0.8 s, at a gentle volume.
const FREQUENCY_HZ: f32 = 440.0;
const DURATION_SECS: f64 = 0.8;
const VOLUME: f32 = 0.25;
/// Fade in and out.
const RAMP_SECS: f64 = 0.03;
/// Audio time the tone starts after scheduling.
const LEAD_SECS: f64 = 0.05;

/// What the speaker check measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    /// The tone's frequency.
    pub frequency_hz: f32,
    /// How long it played, in audio time (the context's clock).
    pub played_secs: f64,
}

/// Whether a tone scheduled from `start` for `duration` has played by audio time `now`.
pub fn tone_done(start: f64, duration: f64, now: f64) -> bool {
    now >= start + duration
}

/// Plays the tone and waits until the context's clock has passed its end (at most a second
/// more than the tone lasts in page time: a context that stalls fails with
/// [`CheckError::Timeout`]). The context is closed before it returns.
pub async fn speaker_tone(abort: &Abort) -> Result<Tone, CheckError> {
    let audio = Audio::open().await?;
    let ctx = audio.context();
    let oscillator = ctx.create_oscillator().map_err(audio_error)?;
    oscillator.frequency().set_value(FREQUENCY_HZ);
    let gain = ctx.create_gain().map_err(audio_error)?;
    let start = ctx.current_time() + LEAD_SECS;
    let end = start + DURATION_SECS;
    let volume = gain.gain();
    let scheduled = volume
        .set_value_at_time(0.0, start)
        .and_then(|p| p.linear_ramp_to_value_at_time(VOLUME, start + RAMP_SECS))
        .and_then(|p| p.set_value_at_time(VOLUME, end - RAMP_SECS))
        .and_then(|p| p.linear_ramp_to_value_at_time(0.0, end));
    scheduled.map_err(audio_error)?;
    oscillator
        .connect_with_audio_node(&gain)
        .and_then(|_| gain.connect_with_audio_node(&ctx.destination()))
        .map_err(audio_error)?;
    oscillator.start_with_when(start).map_err(audio_error)?;
    oscillator.stop_with_when(end).map_err(audio_error)?;
    let give_up = now() + (LEAD_SECS + DURATION_SECS) * 1000.0 + 1000.0;
    let result = loop {
        if let Err(e) = abort.check() {
            break Err(e);
        }
        if tone_done(start, DURATION_SECS, ctx.current_time()) {
            break Ok(Tone {
                frequency_hz: FREQUENCY_HZ,
                played_secs: ctx.current_time().min(end) - start,
            });
        }
        if now() >= give_up {
            break Err(CheckError::Timeout);
        }
        sleep(50.0).await;
    };
    let _ = oscillator.stop();
    let _ = oscillator.disconnect();
    let _ = gain.disconnect();
    drop(audio);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tone_is_done_once_the_clock_passed_its_end() {
        assert!(!tone_done(1.0, 0.8, 1.0));
        assert!(!tone_done(1.0, 0.8, 1.79));
        assert!(tone_done(1.0, 0.8, 1.8));
        assert!(tone_done(1.0, 0.8, 5.0));
    }
}
