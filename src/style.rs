//! The one visual theme: a small global style sheet, registered once at the root via stylist.
//!
//! Components use the plain class names defined here (one sheet costs less wasm than a style
//! per component); the rules of `/check` and `/history` are a second sheet, only in the whole
//! app (feature `extra-pages`). The layout is a single column that fits 360 px screens (long user IDs wrap
//! instead of widening the page; buttons are at least 44 px high, to tap); slots for messages
//! keep their height so that nothing jumps when one appears; every control shows a clear focus
//! ring for keyboard users, on light and dark backgrounds alike.

use stylist::css;
use stylist::yew::Global;
use yew::prelude::*;

/// The style sheet, to render once at the root.
pub fn global_style() -> Html {
    html! {
        <>
        <Global css={css!(r#"
            :root {
                --accent: #0b5cad; --danger: #b3261e; --fg: #1c2430; --muted: #5a6472;
                --line: #d3d9e1; --bg: #f3f5f8;
            }
            *, *::before, *::after { box-sizing: border-box; }
            body {
                margin: 0; background: var(--bg); color: var(--fg);
                font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "PingFang SC",
                    "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
            }
            header {
                background: var(--fg); color: #fff; padding: 0.5rem 1rem;
                display: flex; align-items: center; justify-content: space-between; gap: 0.5rem;
            }
            header h1 { margin: 0; font-size: 1.25rem; letter-spacing: 0.02em; }
            header button.lang {
                background: transparent; color: #fff; border-color: rgba(255, 255, 255, 0.6);
                min-width: 5.5rem;
            }
            main { max-width: 28rem; margin: 1.5rem auto; padding: 0 1rem; }
            h2 { font-size: 1.25rem; margin: 0 0 0.75rem; }
            h2:focus { outline: none; }
            p { margin: 0; }
            p, h2, label { overflow-wrap: anywhere; }
            .card {
                background: #fff; border: 1px solid var(--line); border-radius: 0.75rem;
                padding: 1.25rem;
            }
            label { display: block; font-weight: 600; margin: 0 0 0.25rem; }
            input {
                font: inherit; padding: 0.5rem 0.75rem; min-width: 0; flex: 1;
                border: 1px solid #8792a2; border-radius: 0.5rem; color: inherit;
            }
            textarea {
                display: block; width: 100%; font: 0.875rem/1.4 ui-monospace, monospace;
                padding: 0.5rem 0.75rem; border: 1px solid #8792a2; border-radius: 0.5rem;
                color: inherit; resize: vertical; word-break: break-all;
            }
            label.next { margin-top: 1rem; }
            button {
                font: inherit; min-height: 2.75rem; padding: 0.4rem 1rem; cursor: pointer;
                border: 1px solid #8792a2; border-radius: 0.5rem; background: #fff; color: var(--fg);
            }
            button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
            button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
            button:disabled, input:disabled, textarea:disabled { opacity: 0.6; cursor: default; }
            :focus-visible { outline: 3px solid #e8a100; outline-offset: 2px; }
            .row { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
            .spread { justify-content: space-between; margin-bottom: 1rem; }
            .fill { display: flex; gap: 0.5rem; }
            .slot { min-height: 1.5rem; margin: 0.5rem 0; color: var(--muted); }
            .error { color: var(--danger); }
            #login-message { min-height: 3rem; }
            .status { min-height: 3rem; }
            .status p { flex: 1; }
            .detail { display: block; color: var(--muted); }
            .presence {
                display: flex; align-items: center; gap: 0.4rem; min-height: 1.5rem;
                margin-top: 0.25rem; color: var(--muted);
            }
            .dot { width: 0.6rem; height: 0.6rem; border-radius: 50%; background: #8792a2; }
            .dot.on { background: #1e7d32; }
            .banner {
                background: #fff6dc; border: 1px solid #e8c46a; border-radius: 0.5rem;
                padding: 0.5rem 0.75rem; margin-bottom: 1rem;
            }
            .timer {
                font-size: 2.5rem; text-align: center; font-variant-numeric: tabular-nums;
            }
            .center { text-align: center; }
            .verify { min-height: 6rem; }
            .code { color: var(--fg); font-variant-numeric: tabular-nums; letter-spacing: 0.05em; }
            .hint { font-size: 0.875rem; }
            .actions { display: flex; gap: 0.5rem; margin-top: 1rem; }
            .actions button { flex: 1; }
            .links { margin-top: 1rem; }
            .links a { color: var(--accent); }
            .backdrop {
                position: fixed; inset: 0; background: rgba(20, 26, 34, 0.55); padding: 1rem;
                display: flex; align-items: center; justify-content: center;
            }
            .dialog {
                background: #fff; border-radius: 0.75rem; padding: 1.5rem; width: 100%;
                max-width: 22rem; box-shadow: 0 12px 32px rgba(0, 0, 0, 0.3);
            }
            @media (max-width: 400px) {
                main { margin: 1rem auto; padding: 0 0.75rem; }
                .card { padding: 1rem; }
                .dialog { padding: 1.25rem; }
                .timer { font-size: 2rem; }
            }
            /* ----- /in-call: meters, quality, devices (components/call_readings.rs,
               components/device_menu.rs) ----- */
            .slot-line { min-height: 1.5rem; margin: 0.25rem 0; color: var(--muted); }
            .readings {
                display: grid; grid-template-columns: 1fr auto; gap: 0.35rem 1rem;
                align-items: center; margin: 0.75rem 0; text-align: left;
            }
            .meter { display: flex; flex-direction: column; min-width: 0; grid-column: 1; }
            .meter-label {
                font-size: 0.8rem; color: var(--muted);
                overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
            }
            .meter-track {
                display: block; height: 0.5rem; border-radius: 0.25rem; overflow: hidden;
                background: var(--line);
            }
            .meter-fill {
                display: block; height: 100%; background: #1f8a4c; transform-origin: left;
                transition: transform 0.15s linear;
            }
            .quality {
                grid-column: 2; grid-row: 1 / span 2; position: relative; padding: 0.25rem;
                border-radius: 0.25rem; cursor: help;
            }
            .bars { display: flex; align-items: flex-end; gap: 3px; height: 1.5rem; }
            .bar { width: 5px; background: var(--line); border-radius: 1px; }
            .bar:nth-child(1) { height: 20%; } .bar:nth-child(2) { height: 40%; }
            .bar:nth-child(3) { height: 60%; } .bar:nth-child(4) { height: 80%; }
            .bar:nth-child(5) { height: 100%; }
            .quality[data-level="1"] .bar.on, .quality[data-level="2"] .bar.on {
                background: var(--danger);
            }
            .quality[data-level="3"] .bar.on { background: #b7791f; }
            .quality[data-level="4"] .bar.on, .quality[data-level="5"] .bar.on {
                background: #1f8a4c;
            }
            .quality-details {
                display: none; position: absolute; right: 0; bottom: 100%; z-index: 5;
                background: #fff; border: 1px solid var(--line); border-radius: 0.5rem;
                padding: 0.5rem; font-size: 0.8rem; white-space: nowrap;
                box-shadow: 0 6px 18px rgba(0, 0, 0, 0.15);
            }
            .quality:hover .quality-details, .quality:focus .quality-details { display: table; }
            .quality-details caption { font-weight: 600; text-align: left; }
            .quality-details th, .quality-details td { padding: 0.1rem 0.35rem; text-align: left; }
            .devices { margin-top: 1rem; text-align: left; }
            .device { display: flex; flex-direction: column; margin-bottom: 0.5rem; }
            .device span { font-size: 0.8rem; color: var(--muted); }
            .device select { min-height: 44px; max-width: 100%; font: inherit; }
            /* ----- end of /in-call ----- */
        "#)} />
        { pages_style() }
        </>
    }
}

/// The rules of the pages only the whole app has (`/check`, `/history`): the first load does not
/// carry them.
#[cfg(feature = "extra-pages")]
fn pages_style() -> Html {
    html! {
        <Global css={css!(r#"
            /* ----- /check: the device check (pages/check.rs) ----- */
            .checks { list-style: none; margin: 1rem 0; padding: 0; }
            .check {
                display: grid; grid-template-columns: 5.5rem 1fr; gap: 0.1rem 0.75rem;
                padding: 0.6rem 0; border-top: 1px solid var(--line); overflow-wrap: anywhere;
            }
            .check > :not(.badge) { grid-column: 2; }
            .badge {
                grid-row: 1 / span 4; align-self: start; text-align: center; font-size: 0.8rem;
                border-radius: 1rem; padding: 0.1rem 0.4rem; background: var(--bg);
                color: var(--muted);
            }
            .check.pass .badge { background: #e3f3e5; color: #1e6a2a; }
            .check.fail .badge { background: #fbe4e2; color: var(--danger); }
            .check.running .badge { background: #e4eefa; color: var(--accent); }
            .name { font-weight: 600; }
            .advice { color: var(--danger); font-size: 0.875rem; }
            .check meter { width: 100%; height: 0.75rem; }
            .check button { justify-self: start; margin-top: 0.25rem; }
            .summary { padding: 0.75rem; border-radius: 0.5rem; background: var(--bg); }
            .summary.pass { background: #e3f3e5; }
            .summary.fail { background: #fbe4e2; }
            /* ----- /history: the call history table (pages/history.rs) ----- */
            .visually-hidden {
                position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0;
                overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
            }
            .history-box { min-height: 14rem; overflow-x: auto; }
            .history-box[aria-busy] table { opacity: 0.6; }
            table.history { width: 100%; border-collapse: collapse; font-size: 0.8125rem; }
            table.history th {
                text-align: left; font-weight: 600; color: var(--muted); padding: 0.25rem;
                border-bottom: 1px solid var(--line); vertical-align: bottom;
            }
            table.history td {
                padding: 0.5rem 0.25rem; border-bottom: 1px solid var(--line);
                vertical-align: middle;
            }
            table.history .direction, table.history time, table.history .peer { display: block; }
            table.history .direction { white-space: nowrap; }
            table.history .peer { overflow-wrap: anywhere; }
            table.history .missed { color: var(--danger); }
            table.history button.call-back { padding: 0.25rem 0.5rem; font-size: inherit; }
        "#)} />
    }
}

#[cfg(not(feature = "extra-pages"))]
fn pages_style() -> Html {
    Html::default()
}
