//! The microphone and speaker the user chose, remembered for this site in `localStorage`
//! (across tabs and visits, unlike the login). Applied to the calling service when it is
//! created; a remembered device that is gone falls back to the browser's default.

use web_sys::Storage;

const MICROPHONE: &str = "webcall.microphone";
const SPEAKER: &str = "webcall.speaker";

/// Which device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Microphone,
    Speaker,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Microphone => MICROPHONE,
            Kind::Speaker => SPEAKER,
        }
    }
}

fn storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The remembered `deviceId`, `None` for the default.
pub fn load(kind: Kind) -> Option<String> {
    storage()?
        .get_item(kind.key())
        .ok()
        .flatten()
        .filter(|id| !id.is_empty())
}

/// Remembers `id` (`None`: back to the default).
pub fn save(kind: Kind, id: Option<&str>) {
    if let Some(storage) = storage() {
        let _ = match id {
            Some(id) => storage.set_item(kind.key(), id),
            None => storage.remove_item(kind.key()),
        };
    }
}
