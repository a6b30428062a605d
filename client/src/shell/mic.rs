//! The microphone: opened with `getUserMedia` (the chosen device, when one is chosen), its
//! tracks stopped when it is dropped.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DomException, MediaStream, MediaStreamConstraints, MediaStreamTrack};

use crate::MediaError;

/// An open microphone. Dropping it stops every track it started.
pub(crate) struct Mic {
    stream: MediaStream,
}

impl Mic {
    /// Asks the browser for its default microphone.
    pub(crate) async fn open() -> Result<Mic, MediaError> {
        Mic::open_device(None, false).await
    }

    /// Asks the browser for the microphone: `device` if given (only that one with `exact`,
    /// else the browser's default when it is gone), the default otherwise.
    pub(crate) async fn open_device(device: Option<&str>, exact: bool) -> Result<Mic, MediaError> {
        let window = web_sys::window().ok_or(MediaError::NotSupported)?;
        let rtc = js_sys::Reflect::get(&window, &"RTCPeerConnection".into())
            .map(|v| !v.is_undefined())
            .unwrap_or(false);
        // `navigator.mediaDevices` is undefined outside secure contexts.
        let devices = js_sys::Reflect::get(&window.navigator(), &"mediaDevices".into())
            .ok()
            .filter(|v| !v.is_undefined())
            .map(|v| v.unchecked_into::<web_sys::MediaDevices>());
        let (true, Some(devices)) = (rtc, devices) else {
            return Err(MediaError::NotSupported);
        };
        let constraints = MediaStreamConstraints::new();
        match device {
            Some(id) => {
                let wanted = js_sys::Object::new();
                let _ = js_sys::Reflect::set(
                    &wanted,
                    &(if exact { "exact" } else { "ideal" }).into(),
                    &id.into(),
                );
                let audio = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&audio, &"deviceId".into(), &wanted);
                constraints.set_audio(&audio);
            }
            None => constraints.set_audio(&true.into()),
        }
        constraints.set_video(&false.into());
        let promise = devices
            .get_user_media_with_constraints(&constraints)
            .map_err(|e| map_error(&e))?;
        let stream = JsFuture::from(promise).await.map_err(|e| map_error(&e))?;
        Ok(Mic {
            stream: stream.unchecked_into(),
        })
    }

    /// The stream holding the microphone track.
    pub(crate) fn stream(&self) -> &MediaStream {
        &self.stream
    }

    /// The microphone tracks.
    pub(crate) fn tracks(&self) -> impl Iterator<Item = MediaStreamTrack> {
        self.stream
            .get_audio_tracks()
            .into_iter()
            .map(|t| t.unchecked_into::<MediaStreamTrack>())
    }

    /// Mutes or unmutes by disabling the track (the peer then receives silence).
    pub(crate) fn set_muted(&self, muted: bool) {
        for track in self.tracks() {
            track.set_enabled(!muted);
        }
    }
}

impl Drop for Mic {
    fn drop(&mut self) {
        for track in self.tracks() {
            track.stop();
        }
    }
}

/// Maps a `getUserMedia` rejection to what the user should hear.
fn map_error(error: &wasm_bindgen::JsValue) -> MediaError {
    let Some(exception) = error.dyn_ref::<DomException>() else {
        return MediaError::Other(format!("{error:?}"));
    };
    match exception.name().as_str() {
        "NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError" => MediaError::NoDevice,
        "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => {
            MediaError::PermissionDenied
        }
        "TypeError" | "NotSupportedError" => MediaError::NotSupported,
        name => MediaError::Other(format!("{name}: {}", exception.message())),
    }
}
