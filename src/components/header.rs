//! The page header with the product name. A plain view function: it has no state.

use yew::prelude::*;

use crate::strings::t;

pub fn header() -> Html {
    html! {
        <header>
            <h1>{ t().app_name }</h1>
        </header>
    }
}
