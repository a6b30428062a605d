//! `/history`: the logged-in user's calls, newest first, a page at a time, from the server's
//! call history (through the calling service's [`WebCall::history`]). Each row says which way
//! the call went, with whom, when it started, how long the parties talked and how it ended, and
//! has a "Call back" button that places a call to that user and goes to `/call`, which shows
//! the dialling.
//!
//! The table keeps its place while a page loads (the rows of the last page stay, marked busy),
//! and the status line and the paging buttons are always there, so nothing jumps.
//!
//! [`WebCall::history`]: webcall_client::WebCall::history

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::JsValue;
use webcall_client::{
    CallDirection, HistoryEntry, HistoryError, HistoryOutcome, HistoryPage as Page,
};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::hooks::{use_app_state, use_calling};
use crate::route::Route;
use crate::state::CallView;
use crate::strings::{clock, t, Strings};

/// What the page shows.
#[derive(Debug, Clone, PartialEq)]
enum Loaded {
    /// Nothing yet.
    Loading,
    /// A page.
    Page(Page),
    /// Why the page could not be had.
    Failed(String),
}

#[function_component]
pub fn HistoryPage() -> Html {
    let state = use_app_state();
    let calling = use_calling();
    let navigator = use_navigator();
    let page = use_state_eq(|| 0u32);
    let loaded = use_state(|| Loaded::Loading);
    let loading = use_state_eq(|| true);
    // Why the last call back failed.
    let error = use_state(|| None::<String>);
    // Numbers the requests, so that a late answer to an older one is dropped.
    let request = use_memo((), |_| Rc::new(Cell::new(0u32)));

    {
        let (calling, loaded, loading) = (calling.clone(), loaded.clone(), loading.clone());
        let request = (*request).clone();
        let logged_in = state.user_id().map(str::to_owned);
        use_effect_with((*page, logged_in), move |(page, logged_in)| {
            if logged_in.is_some() {
                let page = *page;
                let id = request.get().wrapping_add(1);
                request.set(id);
                loading.set(true);
                wasm_bindgen_futures::spawn_local(async move {
                    let result = calling.history(page).await;
                    if request.get() != id {
                        return;
                    }
                    loaded.set(match result {
                        Ok(page) => Loaded::Page(page),
                        Err(e) => Loaded::Failed(reason(t(), &e)),
                    });
                    loading.set(false);
                });
            }
        });
    }

    if state.user_id().is_none() {
        return html! {};
    }
    let t = t();
    let can_call = matches!(state.call, CallView::Idle) && !state.reconnecting;
    let call_back = {
        let (calling, error) = (calling.clone(), error.clone());
        Callback::from(move |peer: String| match calling.call(&peer) {
            Ok(()) => {
                if let Some(navigator) = &navigator {
                    navigator.push(&Route::Call);
                }
            }
            Err(e) => error.set(Some(t.client_error(&e))),
        })
    };
    let (entries, more) = match &*loaded {
        Loaded::Page(page) => (page.entries.as_slice(), page.more),
        _ => (&[][..], false),
    };
    let newer = {
        let page = page.clone();
        Callback::from(move |_| page.set(page.saturating_sub(1)))
    };
    let older = {
        let page = page.clone();
        Callback::from(move |_| page.set(*page + 1))
    };
    let status = match &*loaded {
        _ if *loading => t.pages.history_loading.to_owned(),
        Loaded::Failed(why) => (t.pages.history_failed)(why),
        Loaded::Page(p) if p.entries.is_empty() => t.pages.history_empty.to_owned(),
        _ => (t.pages.history_page)(*page + 1),
    };
    let failed = matches!(&*loaded, Loaded::Failed(_)) && !*loading;
    html! {
        <section class="card" aria-labelledby="history-title">
            <div class="row spread">
                <h2 id="history-title">{ t.history_link }</h2>
                <Link<Route> to={Route::Call} classes="back-link">{ t.pages.back_to_call }</Link<Route>>
            </div>
            <div class="history-box" aria-busy={loading.then_some("true")}>
                <table id="history" class="history">
                    <thead>
                        <tr>
                            <th scope="col">{ t.pages.history_call }</th>
                            <th scope="col">{ t.pages.history_when }</th>
                            <th scope="col">{ t.pages.history_outcome }</th>
                            <th scope="col">
                                <span class="visually-hidden">{ t.pages.history_actions }</span>
                            </th>
                        </tr>
                    </thead>
                    <tbody>
                        { for entries.iter().map(|entry| row(t, entry, can_call, &call_back)) }
                    </tbody>
                </table>
            </div>
            <p id="history-status" role="status"
                class={classes!("slot", failed.then_some("error"))}>
                { status }
            </p>
            <div id="history-error" class="slot">
                if let Some(error) = &*error {
                    <p class="error" role="alert">{ error }</p>
                }
            </div>
            <nav class="actions" aria-label={t.history_link}>
                <button id="history-newer" type="button" onclick={newer}
                    disabled={*loading || *page == 0}>{ t.pages.newer }</button>
                <button id="history-older" type="button" onclick={older}
                    disabled={*loading || !more}>{ t.pages.older }</button>
            </nav>
        </section>
    }
}

/// One call of the history, as a table row.
fn row(t: &Strings, entry: &HistoryEntry, can_call: bool, call_back: &Callback<String>) -> Html {
    let (icon, direction) = match entry.direction {
        CallDirection::Outgoing => ("↗", t.pages.outgoing),
        CallDirection::Incoming => ("↙", t.pages.incoming),
    };
    let missed = entry.outcome == HistoryOutcome::Missed;
    let duration = if entry.answered {
        clock(entry.duration_secs)
    } else {
        "–".to_owned()
    };
    let onclick = {
        let (call_back, peer) = (call_back.clone(), entry.peer.clone());
        Callback::from(move |_| call_back.emit(peer.clone()))
    };
    html! {
        <tr key={entry.call_id.clone()} data-call-id={entry.call_id.clone()}
            data-direction={direction_key(entry.direction)}
            data-outcome={outcome_key(entry.outcome)}>
            <td>
                <span class={classes!("direction", missed.then_some("missed"))}>
                    <span aria-hidden="true">{ icon }</span>{ " " }{ direction }
                </span>
                <strong class="peer">{ &entry.peer }</strong>
            </td>
            <td>
                <time datetime={iso_time(entry.started_ms)}>{ local_time(entry.started_ms) }</time>
                <span class="detail duration">{ duration }</span>
            </td>
            <td class={classes!("outcome", missed.then_some("missed"))}>
                { outcome_text(t, entry.outcome) }
            </td>
            <td>
                <button type="button" class="call-back" disabled={!can_call} {onclick}
                    aria-label={(t.pages.call_back_label)(&entry.peer)}>{ t.pages.call_back }</button>
            </td>
        </tr>
    }
}

/// How a call ended, in words.
fn outcome_text(t: &Strings, outcome: HistoryOutcome) -> &'static str {
    match outcome {
        HistoryOutcome::Answered => t.pages.outcome_answered,
        HistoryOutcome::Rejected => t.pages.outcome_rejected,
        HistoryOutcome::Busy => t.pages.outcome_busy,
        HistoryOutcome::NoAnswer => t.pages.outcome_no_answer,
        HistoryOutcome::Cancelled => t.pages.outcome_cancelled,
        HistoryOutcome::Missed => t.pages.outcome_missed,
        HistoryOutcome::Failed => t.pages.outcome_failed,
        HistoryOutcome::ConnectionLost => t.pages.outcome_connection_lost,
    }
}

/// The outcome's name on the wire, for the row's `data-outcome` (tests and styles read it).
fn outcome_key(outcome: HistoryOutcome) -> &'static str {
    match outcome {
        HistoryOutcome::Answered => "answered",
        HistoryOutcome::Rejected => "rejected",
        HistoryOutcome::Busy => "busy",
        HistoryOutcome::NoAnswer => "no_answer",
        HistoryOutcome::Cancelled => "cancelled",
        HistoryOutcome::Missed => "missed",
        HistoryOutcome::Failed => "failed",
        HistoryOutcome::ConnectionLost => "connection_lost",
    }
}

fn direction_key(direction: CallDirection) -> &'static str {
    match direction {
        CallDirection::Outgoing => "outgoing",
        CallDirection::Incoming => "incoming",
    }
}

/// Why the history could not be had, in words.
fn reason(t: &Strings, error: &HistoryError) -> String {
    match error {
        HistoryError::Unsupported => t.pages.history_unsupported.to_owned(),
        HistoryError::Unauthorized(_) => t.pages.history_refused.to_owned(),
        HistoryError::NotLoggedIn => t.not_logged_in.to_owned(),
        HistoryError::Unreachable => t.pages.history_unreachable.to_owned(),
        HistoryError::Server { message, .. } if !message.is_empty() => message.clone(),
        HistoryError::Server { status, .. } => (t.server_refused)(*status),
        HistoryError::BadAnswer => t.server_bad_answer.to_owned(),
    }
}

/// A Unix time in milliseconds as a date and time in the page's language and time zone.
fn local_time(ms: u64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    let options = js_sys::Object::new();
    for (key, value) in [("dateStyle", "short"), ("timeStyle", "short")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    date.to_locale_string(crate::lang::current().tag(), &options)
        .into()
}

/// A Unix time in milliseconds in ISO 8601, for `<time datetime>`.
fn iso_time(ms: u64) -> String {
    js_sys::Date::new(&JsValue::from_f64(ms as f64))
        .to_iso_string()
        .into()
}
