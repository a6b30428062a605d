//! Pieces shared by the pages: the header, the notice area and the incoming-call dialog.
//!
//! Stateless pieces are plain view functions rather than components: every component type
//! costs the wasm its own copy of Yew's lifecycle code.

mod header;
mod incoming_dialog;
mod notice;

pub use header::header;
pub use incoming_dialog::IncomingDialog;
pub use notice::notice;
