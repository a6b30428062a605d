//! The login kept for this browser tab, so that a page refresh keeps the user logged in.
//!
//! It lives in `sessionStorage` (per tab, gone when the tab closes), one key per field: saved
//! once a login succeeds, replayed at start-up, removed when the session ends for any reason.
//! Storage failures (private modes, quotas) only cost the restore, never the app.

use web_sys::Storage;

const USER_ID: &str = "webcall.user_id";
const USER_SIG: &str = "webcall.user_sig";
const SDK_APP_ID: &str = "webcall.sdk_app_id";

/// What a login needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSession {
    pub user_id: String,
    pub user_sig: String,
    pub sdk_app_id: u32,
}

fn storage() -> Option<Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The saved login, if there is a whole one.
pub fn load() -> Option<SavedSession> {
    let storage = storage()?;
    let get = |key| storage.get_item(key).ok().flatten();
    Some(SavedSession {
        user_id: get(USER_ID)?,
        user_sig: get(USER_SIG)?,
        sdk_app_id: get(SDK_APP_ID)?.parse().ok()?,
    })
}

/// Saves the login for this tab.
pub fn save(session: &SavedSession) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(USER_ID, &session.user_id);
        let _ = storage.set_item(USER_SIG, &session.user_sig);
        let _ = storage.set_item(SDK_APP_ID, &session.sdk_app_id.to_string());
    }
}

/// Forgets the saved login.
pub fn clear() {
    if let Some(storage) = storage() {
        for key in [USER_ID, USER_SIG, SDK_APP_ID] {
            let _ = storage.remove_item(key);
        }
    }
}
