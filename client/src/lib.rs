//! WebCall client.
