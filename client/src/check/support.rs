//! What this browser and page offer for calls, found by feature detection: nothing here
//! assumes an API exists before looking. Speaker selection (`setSinkId`) is optional: without
//! it audio plays on the system's default output.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// The APIs calls need, and whether the page is a secure context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Support {
    /// `window.isSecureContext`: https, or a page served from this device (`localhost`,
    /// `127.0.0.1`). Browsers allow the microphone only there.
    pub secure_context: bool,
    /// `RTCPeerConnection`.
    pub peer_connection: bool,
    /// `navigator.mediaDevices.getUserMedia` (absent outside secure contexts).
    pub get_user_media: bool,
    /// `AudioContext` (Web Audio), for the level meter and the test tone.
    pub audio_context: bool,
    /// `HTMLMediaElement.setSinkId`: choosing the speaker. Optional.
    pub speaker_selection: bool,
}

/// Why calls can not work on this page at all, the most fundamental reason first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// Not a secure context (http on a network address): browsers block the microphone.
    Insecure,
    /// No WebRTC (`RTCPeerConnection`).
    NoWebRtc,
    /// No microphone API (`getUserMedia`).
    NoMicrophone,
}

impl Support {
    /// Looks at the page's window (everything false without one).
    pub fn detect() -> Support {
        let Some(window) = web_sys::window() else {
            return Support {
                secure_context: false,
                peer_connection: false,
                get_user_media: false,
                audio_context: false,
                speaker_selection: false,
            };
        };
        let has = |target: &JsValue, key: &str| {
            Reflect::get(target, &key.into()).is_ok_and(|v| !v.is_undefined() && !v.is_null())
        };
        let media_devices =
            Reflect::get(&window.navigator(), &"mediaDevices".into()).unwrap_or(JsValue::UNDEFINED);
        Support {
            secure_context: window.is_secure_context(),
            peer_connection: has(&window, "RTCPeerConnection"),
            get_user_media: !media_devices.is_undefined() && has(&media_devices, "getUserMedia"),
            audio_context: has(&window, "AudioContext"),
            speaker_selection: crate::shell::speaker_selection_supported(),
        }
    }

    /// Whether the browser has every API a call needs (speaker selection is optional).
    pub fn browser_ok(&self) -> bool {
        self.peer_connection && self.get_user_media && self.audio_context
    }

    /// Why calls can not work here, if they can not: an insecure page first (it also hides
    /// the microphone API), then a missing API. A missing `AudioContext` does not block calls
    /// (only the device check's meter and tone need it).
    pub fn blocker(&self) -> Option<Blocker> {
        if !self.secure_context {
            Some(Blocker::Insecure)
        } else if !self.peer_connection {
            Some(Blocker::NoWebRtc)
        } else if !self.get_user_media {
            Some(Blocker::NoMicrophone)
        } else {
            None
        }
    }

    /// The names of the required APIs this browser lacks.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.peer_connection, "RTCPeerConnection"),
            (self.get_user_media, "getUserMedia"),
            (self.audio_context, "AudioContext"),
        ]
        .into_iter()
        .filter(|(has, _)| !has)
        .map(|(_, name)| name)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: Support = Support {
        secure_context: true,
        peer_connection: true,
        get_user_media: true,
        audio_context: true,
        speaker_selection: false,
    };

    #[test]
    fn a_current_browser_on_a_secure_page_has_no_blocker() {
        assert!(FULL.browser_ok());
        assert_eq!(FULL.blocker(), None, "speaker selection is optional");
        assert!(FULL.missing().is_empty());
    }

    #[test]
    fn an_insecure_page_is_named_before_the_api_it_hides() {
        let insecure = Support {
            secure_context: false,
            get_user_media: false,
            ..FULL
        };
        assert_eq!(insecure.blocker(), Some(Blocker::Insecure));
        assert_eq!(insecure.missing(), vec!["getUserMedia"]);
        let old = Support {
            peer_connection: false,
            get_user_media: false,
            ..FULL
        };
        assert_eq!(old.blocker(), Some(Blocker::NoWebRtc));
        let no_mic = Support {
            get_user_media: false,
            ..FULL
        };
        assert_eq!(no_mic.blocker(), Some(Blocker::NoMicrophone));
        let no_audio = Support {
            audio_context: false,
            ..FULL
        };
        assert_eq!(no_audio.blocker(), None);
        assert!(!no_audio.browser_ok());
        assert_eq!(no_audio.missing(), vec!["AudioContext"]);
    }
}
