//! The one visual theme: a small global style sheet, registered once at the root via stylist.
//!
//! Components use the plain class names defined here (one sheet costs less wasm than a style
//! per component). The layout is a single column that
//! fits 360 px screens; slots for messages keep their height so that nothing jumps when one
//! appears; every control shows a clear focus ring for keyboard users.

use stylist::css;
use stylist::yew::Global;
use yew::prelude::*;

/// The style sheet, to render once at the root.
pub fn global_style() -> Html {
    html! {
        <Global css={css!(r#"
            :root {
                --accent: #0b5cad; --danger: #b3261e; --fg: #1c2430; --muted: #5a6472;
                --line: #d3d9e1; --bg: #f3f5f8;
            }
            *, *::before, *::after { box-sizing: border-box; }
            body {
                margin: 0; background: var(--bg); color: var(--fg);
                font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
            }
            header { background: var(--fg); color: #fff; padding: 0.75rem 1rem; }
            header h1 { margin: 0; font-size: 1.25rem; letter-spacing: 0.02em; }
            main { max-width: 28rem; margin: 1.5rem auto; padding: 0 1rem; }
            h2 { font-size: 1.25rem; margin: 0 0 0.75rem; }
            h2:focus { outline: none; }
            p { margin: 0; }
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
                font: inherit; min-height: 2.5rem; padding: 0.4rem 1rem; cursor: pointer;
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
            .status { min-height: 2.5rem; }
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
            .verify { min-height: 5rem; }
            .code { color: var(--fg); font-variant-numeric: tabular-nums; letter-spacing: 0.05em; }
            .hint { font-size: 0.875rem; }
            .actions { display: flex; gap: 0.5rem; margin-top: 1rem; }
            .actions button { flex: 1; }
            .backdrop {
                position: fixed; inset: 0; background: rgba(20, 26, 34, 0.55); padding: 1rem;
                display: flex; align-items: center; justify-content: center;
            }
            .dialog {
                background: #fff; border-radius: 0.75rem; padding: 1.5rem; width: 100%;
                max-width: 22rem; box-shadow: 0 12px 32px rgba(0, 0, 0, 0.3);
            }
        "#)} />
    }
}
