//! The one status every page shares: the connection to the server is lost and being restored.
//! A call goes on meanwhile (its audio does not pass through the server), so the banner says
//! so rather than hiding the page.

use yew::prelude::*;

use crate::strings::t;

/// The banner, while `reconnecting`.
pub fn connection_banner(reconnecting: bool) -> Html {
    if !reconnecting {
        return html! {};
    }
    html! {
        <p class="banner" role="status">{ t().reconnecting }</p>
    }
}
