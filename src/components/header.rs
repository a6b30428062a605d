//! The page header: the product name and the language switch. A plain view function: the
//! language it shows and switches belongs to the app root.

use yew::prelude::*;

use crate::lang::LangContext;
use crate::strings::t;

pub fn header(lang: &LangContext) -> Html {
    let t = t();
    let other = lang.lang.other();
    let onclick = {
        let lang = lang.clone();
        Callback::from(move |_| lang.switch_to(other))
    };
    html! {
        <header>
            <h1>{ t.app_name }</h1>
            // Names the language it switches to, in that language.
            <button id="lang-switch" type="button" class="lang"
                aria-label={ t.switch_language_label } {onclick}>
                <span lang={ other.tag() }>{ t.switch_language }</span>
            </button>
        </header>
    }
}
