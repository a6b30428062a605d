//! WebCall demo app.
