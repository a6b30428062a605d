//! Pieces shared by the pages: the header, the reconnection banner, the notice area and the
//! incoming-call dialog.
//!
//! Stateless pieces are plain view functions rather than components: every component type
//! costs the wasm its own copy of Yew's lifecycle code.

mod call_readings;
mod connection_banner;
mod device_menu;
mod header;
mod incoming_dialog;
mod notice;
mod unsupported;

pub use call_readings::CallReadings;
pub use connection_banner::connection_banner;
pub use device_menu::DeviceMenu;
pub use header::header;
pub use incoming_dialog::IncomingDialog;
pub use notice::notice;
pub use unsupported::unsupported;
