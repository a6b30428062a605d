//! WebCall server.
