//! The microphone checks: the permission the browser holds for this site, and a level test
//! that opens the microphone, reads its level for a few seconds through an `AnalyserNode`
//! (never played back), and passes once sound above a threshold came in.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::audio::{audio_error, Audio};
use super::wait::{now, sleep};
use super::{Abort, CheckError};
use crate::shell::Mic;

/// The RMS level (of samples in −1..1) that counts as sound: −40 dBFS. Speech into a working
/// microphone reads far above it, a muted or dead one (digital silence, faint hiss) below.
pub const SPEECH_RMS: f32 = 0.01;

/// How many readings above [`SPEECH_RMS`] pass the level test: a single click does not.
pub const LOUD_FRAMES: u32 = 3;

/// How often the level is read.
const READ_EVERY_MS: f64 = 50.0;

/// What the browser says about using the microphone on this site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// The page may open the microphone without asking.
    Granted,
    /// The user or the browser refused the microphone to this site.
    Denied,
    /// The browser will ask when the microphone is opened.
    Prompt,
    /// The browser does not say (no Permissions API, or it does not know "microphone"): only
    /// opening the microphone tells.
    Unknown,
}

impl Permission {
    /// The Permissions API's state name as a `Permission`.
    pub fn from_state(state: &str) -> Permission {
        match state {
            "granted" => Permission::Granted,
            "denied" => Permission::Denied,
            "prompt" => Permission::Prompt,
            _ => Permission::Unknown,
        }
    }
}

/// Asks the Permissions API for the microphone permission (`navigator.permissions.query`).
pub async fn microphone_permission() -> Permission {
    let Some(window) = web_sys::window() else {
        return Permission::Unknown;
    };
    let get = |target: &wasm_bindgen::JsValue, key: &str| {
        js_sys::Reflect::get(target, &key.into())
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    };
    let Some(permissions) = get(&window.navigator(), "permissions") else {
        return Permission::Unknown;
    };
    let Some(query) =
        get(&permissions, "query").and_then(|q| q.dyn_into::<js_sys::Function>().ok())
    else {
        return Permission::Unknown;
    };
    let descriptor = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&descriptor, &"name".into(), &"microphone".into());
    // Browsers that do not know the name throw or reject (a TypeError): unknown.
    let Ok(promise) = query.call1(&permissions, &descriptor) else {
        return Permission::Unknown;
    };
    let Ok(status) = JsFuture::from(js_sys::Promise::resolve(&promise)).await else {
        return Permission::Unknown;
    };
    get(&status, "state")
        .and_then(|s| s.as_string())
        .map_or(Permission::Unknown, |s| Permission::from_state(&s))
}

/// What the level test measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MicLevel {
    /// The loudest reading, RMS of samples in −1..1.
    pub peak_rms: f32,
    /// How many readings were above [`SPEECH_RMS`].
    pub loud_frames: u32,
}

impl MicLevel {
    /// Whether sound reached the microphone: [`LOUD_FRAMES`] readings above [`SPEECH_RMS`].
    pub fn heard(&self) -> bool {
        self.loud_frames >= LOUD_FRAMES
    }

    /// Adds one reading.
    pub fn add(&mut self, rms: f32) {
        self.peak_rms = self.peak_rms.max(rms);
        if rms >= SPEECH_RMS {
            self.loud_frames += 1;
        }
    }

    /// The peak in dBFS (−∞ for silence).
    pub fn peak_dbfs(&self) -> f32 {
        20.0 * self.peak_rms.log10()
    }
}

impl Default for MicLevel {
    fn default() -> Self {
        MicLevel {
            peak_rms: 0.0,
            loud_frames: 0,
        }
    }
}

/// The RMS of `samples` (0 for none).
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f32 = samples.iter().map(|s| s * s).sum();
    (sum / samples.len() as f32).sqrt()
}

/// An RMS level on a 0..1 scale for a meter: −60 dBFS and below is empty, 0 dBFS full.
pub fn meter(rms: f32) -> f32 {
    if rms <= 0.0 {
        return 0.0;
    }
    ((20.0 * rms.log10() + 60.0) / 60.0).clamp(0.0, 1.0)
}

/// Opens the microphone and reads its level for `duration_ms`, reporting each reading on the
/// [`meter`] scale to `on_level`. The microphone is stopped and the context closed before it
/// returns. Fails when the microphone can not be opened (the permission refused, say), when
/// audio is blocked, or when aborted; a microphone that stays silent is a result
/// ([`MicLevel::heard`] is false).
pub async fn mic_level(
    duration_ms: u32,
    abort: &Abort,
    on_level: impl Fn(f32),
) -> Result<MicLevel, CheckError> {
    // Dropped in reverse order: the context closes, then the tracks stop.
    let mic = Mic::open().await?;
    abort.check()?;
    let audio = Audio::open().await?;
    let ctx = audio.context();
    let source = ctx
        .create_media_stream_source(mic.stream())
        .map_err(audio_error)?;
    let analyser = ctx.create_analyser().map_err(audio_error)?;
    analyser.set_fft_size(2048);
    source
        .connect_with_audio_node(&analyser)
        .map_err(audio_error)?;
    let mut samples = vec![0.0f32; analyser.fft_size() as usize];
    let mut level = MicLevel::default();
    let end = now() + f64::from(duration_ms);
    let result = loop {
        if let Err(e) = abort.check() {
            break Err(e);
        }
        if now() >= end {
            break Ok(level);
        }
        sleep(READ_EVERY_MS).await;
        analyser.get_float_time_domain_data(&mut samples);
        let reading = rms(&samples);
        level.add(reading);
        on_level(meter(reading));
    };
    let _ = source.disconnect();
    drop(audio);
    drop(mic);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_of_a_full_scale_square_wave_is_one_and_of_silence_zero() {
        assert_eq!(rms(&[1.0, -1.0, 1.0, -1.0]), 1.0);
        assert_eq!(rms(&[0.0; 64]), 0.0);
        assert_eq!(rms(&[]), 0.0);
        assert!((rms(&[0.5, -0.5]) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn the_meter_spans_minus_60_to_0_dbfs() {
        assert_eq!(meter(0.0), 0.0);
        assert_eq!(meter(0.0001), 0.0); // −80 dBFS
        assert!((meter(0.001) - 0.0).abs() < 1e-6); // −60 dBFS
        assert!((meter(0.01) - 1.0 / 3.0).abs() < 1e-3); // −40 dBFS
        assert!((meter(1.0) - 1.0).abs() < 1e-6);
        assert_eq!(meter(2.0), 1.0);
    }

    #[test]
    fn the_level_test_needs_several_readings_above_the_threshold() {
        let mut level = MicLevel::default();
        for _ in 0..100 {
            level.add(0.002); // hiss, −54 dBFS
        }
        assert!(!level.heard());
        level.add(0.5); // a click
        level.add(SPEECH_RMS * 0.99);
        assert!(!level.heard(), "one loud reading is not enough");
        level.add(SPEECH_RMS);
        assert!(!level.heard());
        level.add(0.1);
        assert!(level.heard());
        assert_eq!(level.loud_frames, LOUD_FRAMES);
        assert_eq!(level.peak_rms, 0.5);
        assert!((level.peak_dbfs() - -6.02).abs() < 0.01);
    }

    #[test]
    fn permission_states_map_and_unknown_names_are_unknown() {
        assert_eq!(Permission::from_state("granted"), Permission::Granted);
        assert_eq!(Permission::from_state("denied"), Permission::Denied);
        assert_eq!(Permission::from_state("prompt"), Permission::Prompt);
        assert_eq!(Permission::from_state("limited"), Permission::Unknown);
    }
}
