//! The language of the UI, English or Simplified Chinese: chosen at start-up from the user's
//! remembered choice, else from the browser's preferred languages; switched from the header at
//! any time, without a reload.
//!
//! The language now in force lives in a thread-local so that [`crate::strings::t()`] reads it
//! anywhere, call sites unchanged. The app root also provides it as a context
//! ([`LangContext`]); every component that reads the app state or the calling service subscribes
//! to that context ([`crate::hooks::use_app_state`], [`crate::hooks::use_calling`]), so a switch
//! re-renders every page at once. A component that uses neither calls [`use_lang`]. Switching sets
//! `<html lang>` and the document title, and remembers the choice in `localStorage` (a storage
//! failure only costs the memory of it).

use std::cell::Cell;

use web_sys::Storage;
use yew::prelude::*;

use crate::strings::strings_of;

/// Where the user's choice is remembered.
const STORAGE_KEY: &str = "webcall.lang";

/// A language of the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    /// Simplified Chinese, for every `zh*` browser language.
    ZhCn,
}

impl Lang {
    /// The BCP 47 tag, for `<html lang>` and the remembered choice.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The language a remembered tag names: exactly one of [`tag`](Self::tag)'s.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        [Lang::En, Lang::ZhCn]
            .into_iter()
            .find(|lang| lang.tag() == tag)
    }

    /// The language the header's switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::ZhCn,
            Lang::ZhCn => Lang::En,
        }
    }

    /// The language for a browser whose preferred languages are `preferred`, most preferred
    /// first: the first English or Chinese one decides (any `zh*` is zh-CN), English when none
    /// is either.
    pub fn preferred<'a>(preferred: impl IntoIterator<Item = &'a str>) -> Lang {
        preferred
            .into_iter()
            .find_map(|tag| {
                let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
                match primary.as_str() {
                    "zh" => Some(Lang::ZhCn),
                    "en" => Some(Lang::En),
                    _ => None,
                }
            })
            .unwrap_or(Lang::En)
    }

    /// The language at start-up: the remembered choice, else the browser's preference.
    pub fn initial(remembered: Option<&str>, preferred: &[String]) -> Lang {
        remembered
            .and_then(Lang::from_tag)
            .unwrap_or_else(|| Lang::preferred(preferred.iter().map(String::as_str)))
    }
}

thread_local! {
    static CURRENT: Cell<Lang> = const { Cell::new(Lang::En) };
}

/// The language in force now.
pub fn current() -> Lang {
    CURRENT.with(Cell::get)
}

fn storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The browser's preferred languages (`navigator.languages`, else `navigator.language`).
fn browser_languages() -> Vec<String> {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return Vec::new();
    };
    let languages: Vec<String> = navigator
        .languages()
        .iter()
        .filter_map(|tag| tag.as_string())
        .collect();
    if languages.is_empty() {
        navigator.language().into_iter().collect()
    } else {
        languages
    }
}

/// Decides the language at start-up and puts it in force (see [`apply`]).
pub fn start() -> Lang {
    let remembered = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    let lang = Lang::initial(remembered.as_deref(), &browser_languages());
    apply(lang);
    lang
}

/// Puts `lang` in force: for [`crate::strings::t()`], `<html lang>` and the document title.
fn apply(lang: Lang) {
    CURRENT.with(|current| current.set(lang));
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        if let Some(root) = document.document_element() {
            let _ = root.set_attribute("lang", lang.tag());
        }
        document.set_title(strings_of(lang).page_title);
    }
}

/// The language as the app root provides it: the one in force, and the way to switch.
#[derive(Clone)]
pub struct LangContext {
    pub lang: Lang,
    chosen: UseStateHandle<Lang>,
}

impl LangContext {
    /// The context for the root's language state (which [`start`] began).
    pub fn new(chosen: UseStateHandle<Lang>) -> Self {
        LangContext {
            lang: *chosen,
            chosen,
        }
    }

    /// Switches the UI to `lang` at once and remembers the choice.
    pub fn switch_to(&self, lang: Lang) {
        apply(lang);
        if let Some(storage) = storage() {
            let _ = storage.set_item(STORAGE_KEY, lang.tag());
        }
        self.chosen.set(lang);
    }
}

/// Only the language counts: the root's re-renders do not disturb the subscribers.
impl PartialEq for LangContext {
    fn eq(&self, other: &Self) -> bool {
        self.lang == other.lang
    }
}

/// The language, re-rendering the calling component when it changes. Panics outside the app
/// root's providers, which is a programming error.
#[hook]
pub fn use_lang() -> LangContext {
    use_context::<LangContext>().expect("LangContext is provided by the app root")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn langs(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn any_chinese_browser_language_is_zh_cn() {
        for tag in ["zh-CN", "zh", "zh-TW", "zh-Hans-CN", "ZH-hk", "zh_CN"] {
            assert_eq!(Lang::initial(None, &langs(&[tag])), Lang::ZhCn, "{tag}");
        }
    }

    #[test]
    fn the_first_known_language_decides_else_english() {
        assert_eq!(
            Lang::initial(None, &langs(&["fr", "zh-CN", "en"])),
            Lang::ZhCn
        );
        assert_eq!(Lang::initial(None, &langs(&["en-US", "zh-CN"])), Lang::En);
        assert_eq!(Lang::initial(None, &langs(&["fr-FR", "de"])), Lang::En);
        assert_eq!(Lang::initial(None, &[]), Lang::En);
        // "zhx" is not Chinese.
        assert_eq!(Lang::initial(None, &langs(&["zhx", "zh"])), Lang::ZhCn);
        assert_eq!(Lang::initial(None, &langs(&["zhx"])), Lang::En);
    }

    #[test]
    fn a_remembered_choice_wins_and_a_bad_one_is_ignored() {
        assert_eq!(Lang::initial(Some("en"), &langs(&["zh-CN"])), Lang::En);
        assert_eq!(Lang::initial(Some("zh-CN"), &langs(&["en"])), Lang::ZhCn);
        assert_eq!(Lang::initial(Some("klingon"), &langs(&["zh"])), Lang::ZhCn);
        assert_eq!(Lang::initial(Some(""), &[]), Lang::En);
    }

    #[test]
    fn tags_round_trip_and_the_switch_offers_the_other() {
        for lang in [Lang::En, Lang::ZhCn] {
            assert_eq!(Lang::from_tag(lang.tag()), Some(lang));
            assert_ne!(lang.other(), lang);
            assert_eq!(lang.other().other(), lang);
        }
    }

    #[test]
    fn english_is_in_force_until_chosen_otherwise() {
        assert_eq!(current(), Lang::En);
    }
}
