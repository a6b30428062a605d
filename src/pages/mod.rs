//! One component per route.

mod call;
mod in_call;
mod login;

pub use call::CallPage;
pub use in_call::InCallPage;
pub use login::LoginPage;
