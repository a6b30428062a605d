//! The server's command line and environment configuration.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use clap::Parser;
use webcall_protocol::{DEFAULT_RING_TIMEOUT_SECS, MAX_RING_TIMEOUT_SECS};

use crate::hub::{DEFAULT_CONNECT_TIMEOUT_SECS, DEFAULT_MAX_DEVICES};

/// The SDKAppID the server uses when none is configured.
pub const DEFAULT_SDK_APP_ID: u32 = 1_400_000_000;

/// The port the server listens on when none is configured.
pub const DEFAULT_PORT: u16 = 8080;

/// How long a new connection has to log in when nothing else is configured, in seconds.
pub const DEFAULT_LOGIN_TIMEOUT_SECS: u64 = 5;

/// How long UserSigs from the development endpoint stay valid by default, in seconds.
pub const DEFAULT_USERSIG_EXPIRE_SECS: u64 = 86_400;

/// How long a connection may stay silent before it counts as gone, by default, in seconds. The
/// server pings every third of it, and browsers answer pings on their own, so only a dead
/// connection stays silent that long.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 12;

/// Everything the server can be told at start-up.
///
/// Every flag has an environment variable to fall back on; the flag wins when both are given.
/// [`Config::default`] holds the same defaults as the command line.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    name = "webcall-server",
    version,
    about = "WebCall signaling server",
    long_about = None
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "WEBCALL_BIND", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,

    /// The built single-page app to serve (the folder holding index.html).
    #[arg(long, env = "WEBCALL_DIST", default_value = "dist")]
    pub dist: PathBuf,

    /// Secret key that signs and verifies UserSigs. When absent, a random key is made at start
    /// and UserSigs do not survive a restart.
    #[arg(long, env = "WEBCALL_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// The SDKAppID that UserSigs must carry.
    #[arg(long, env = "WEBCALL_SDK_APP_ID", default_value_t = DEFAULT_SDK_APP_ID)]
    pub sdk_app_id: u32,

    /// How long a call rings when the caller names no timeout, in seconds (1 to 120).
    #[arg(
        long,
        env = "WEBCALL_RING_TIMEOUT_SECS",
        default_value_t = DEFAULT_RING_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u32).range(1..=MAX_RING_TIMEOUT_SECS as i64),
    )]
    pub ring_timeout_secs: u32,

    /// How long a new connection has to log in before it is closed, in seconds.
    #[arg(
        long,
        env = "WEBCALL_LOGIN_TIMEOUT_SECS",
        default_value_t = DEFAULT_LOGIN_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    pub login_timeout_secs: u64,

    /// How long UserSigs issued by the development endpoint `/api/usersig` stay valid, in
    /// seconds.
    #[arg(
        long,
        env = "WEBCALL_USERSIG_EXPIRE_SECS",
        default_value_t = DEFAULT_USERSIG_EXPIRE_SECS,
        value_parser = clap::value_parser!(u64).range(1..),
    )]
    pub usersig_expire_secs: u64,

    /// How many devices (tabs, browsers) one user may be logged in on at once; an invitation
    /// rings them all.
    #[arg(
        long,
        env = "WEBCALL_MAX_DEVICES",
        default_value_t = DEFAULT_MAX_DEVICES,
        value_parser = clap::value_parser!(u32).range(1..=100),
    )]
    pub max_devices: u32,

    /// One device per user, as TRTCCalling does: a new login ends the older one, which is told
    /// KICKED_OUT.
    #[arg(long, env = "WEBCALL_SINGLE_DEVICE")]
    pub single_device: bool,

    /// How long an accepted call's audio may take to connect before the call fails, in
    /// seconds.
    #[arg(
        long,
        env = "WEBCALL_CONNECT_TIMEOUT_SECS",
        default_value_t = DEFAULT_CONNECT_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u32).range(1..=300),
    )]
    pub connect_timeout_secs: u32,

    /// How long a connection may stay silent (not even answering the server's pings) before it
    /// counts as gone, in seconds. A caller gone while its call rings cancels the call after
    /// at most this long.
    #[arg(
        long,
        env = "WEBCALL_IDLE_TIMEOUT_SECS",
        default_value_t = DEFAULT_IDLE_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(3..=86_400),
    )]
    pub idle_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            dist: PathBuf::from("dist"),
            secret_key: None,
            sdk_app_id: DEFAULT_SDK_APP_ID,
            ring_timeout_secs: DEFAULT_RING_TIMEOUT_SECS,
            login_timeout_secs: DEFAULT_LOGIN_TIMEOUT_SECS,
            usersig_expire_secs: DEFAULT_USERSIG_EXPIRE_SECS,
            max_devices: DEFAULT_MAX_DEVICES,
            single_device: false,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            idle_timeout_secs: DEFAULT_IDLE_TIMEOUT_SECS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_well_formed() {
        use clap::CommandFactory;
        Config::command().debug_assert();
    }

    #[test]
    fn flags_parse() {
        let config = Config::try_parse_from([
            "webcall-server",
            "--bind",
            "0.0.0.0",
            "--port",
            "9000",
            "--dist",
            "/srv/dist",
            "--secret-key",
            "k",
            "--sdk-app-id",
            "1400000001",
            "--ring-timeout-secs",
            "10",
            "--login-timeout-secs",
            "2",
            "--usersig-expire-secs",
            "60",
            "--max-devices",
            "2",
            "--single-device",
            "--connect-timeout-secs",
            "15",
            "--idle-timeout-secs",
            "20",
        ])
        .unwrap();
        assert_eq!(
            config,
            Config {
                bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                port: 9000,
                dist: PathBuf::from("/srv/dist"),
                secret_key: Some("k".into()),
                sdk_app_id: 1_400_000_001,
                ring_timeout_secs: 10,
                login_timeout_secs: 2,
                usersig_expire_secs: 60,
                max_devices: 2,
                single_device: true,
                connect_timeout_secs: 15,
                idle_timeout_secs: 20,
            }
        );
    }

    #[test]
    fn defaults_match_the_command_line() {
        assert_eq!(
            Config::try_parse_from(["webcall-server"]).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn ring_timeout_is_bounded() {
        assert!(Config::try_parse_from(["webcall-server", "--ring-timeout-secs", "0"]).is_err());
        assert!(Config::try_parse_from(["webcall-server", "--ring-timeout-secs", "121"]).is_err());
    }
}
