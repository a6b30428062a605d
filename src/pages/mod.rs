//! One component per route. `/history` and `/check` are only in the whole app (the
//! `extra-pages` feature), not in the first load: see `crate::route`.

mod call;
#[cfg(feature = "extra-pages")]
mod check;
#[cfg(feature = "extra-pages")]
mod history;
mod in_call;
mod login;

pub use call::CallPage;
#[cfg(feature = "extra-pages")]
pub use check::CheckPage;
#[cfg(feature = "extra-pages")]
pub use history::HistoryPage;
pub use in_call::InCallPage;
pub use login::LoginPage;
