//! Pieces shared by the pages: the header, the reconnection banner, the notice area and the
//! incoming-call dialog.
//!
//! Stateless pieces are plain view functions rather than components: every component type
//! costs the wasm its own copy of Yew's lifecycle code.

mod connection_banner;
mod header;
mod incoming_dialog;
mod notice;

pub use connection_banner::connection_banner;
pub use header::header;
pub use incoming_dialog::IncomingDialog;
pub use notice::notice;
