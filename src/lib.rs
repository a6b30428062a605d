//! WebCall: a browser 1v1 voice-calling app in Yew, on the [`webcall_client`] calling service.
//!
//! [`App`] is the whole app; `main.rs` only mounts it. See [`app`] for how state drives
//! navigation and [`state`] for the state itself.

mod api;
mod app;
mod calling;
mod components;
mod device_prefs;
mod hooks;
mod lang;
mod live;
#[cfg(feature = "extra-pages")]
mod page_strings;
mod pages;
mod route;
mod session_store;
mod state;
mod strings;
mod style;

pub use app::App;
