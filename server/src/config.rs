//! The server's command line and environment configuration.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use clap::Parser;
use webcall_protocol::{DEFAULT_RING_TIMEOUT_SECS, MAX_RING_TIMEOUT_SECS};

use crate::hub::{
    DEFAULT_CONNECT_TIMEOUT_SECS, DEFAULT_MAX_DEVICES, DEFAULT_RESTORE_WINDOW_SECS,
    DEFAULT_RESUME_GRACE_SECS,
};
use crate::limits::{
    DEFAULT_INVITE_BURST, DEFAULT_INVITE_RATE, DEFAULT_LOGIN_BURST, DEFAULT_LOGIN_RATE,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MSG_BURST, DEFAULT_MSG_RATE,
};
use crate::origin::parse_allowed_origin;

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

/// How long TURN credentials stay valid by default, in seconds: as long as a default UserSig.
pub const DEFAULT_TURN_TTL_SECS: u64 = 86_400;

/// The call history's database file when none is configured, in the working directory.
pub const DEFAULT_DB: &str = "webcall.db";

/// A configuration that parses but cannot work; [`Config::validate`] finds it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// TURN URLs were given without the secret their credentials are signed with.
    #[error(
        "--turn-url (WEBCALL_TURN_URLS) is set but --turn-secret (WEBCALL_TURN_SECRET) is not: \
         clients could not authenticate to the TURN server"
    )]
    TurnUrlWithoutSecret,
    /// A TURN secret was given without any TURN URL.
    #[error(
        "--turn-secret (WEBCALL_TURN_SECRET) is set but no --turn-url (WEBCALL_TURN_URLS): \
         clients would not know which TURN server to use"
    )]
    TurnSecretWithoutUrl,
    /// Relay-only was asked for without a TURN server: no call could connect.
    #[error(
        "--relay-only (WEBCALL_RELAY_ONLY) needs a TURN server (--turn-url and --turn-secret): \
         without one no call can connect"
    )]
    RelayOnlyWithoutTurn,
    /// A STUN or TURN URL does not have the scheme its flag needs, or names no host.
    #[error("{flag} {url:?} is not a valid URL: it must start with {expected} and name a host")]
    BadIceUrl {
        flag: &'static str,
        url: String,
        expected: String,
    },
    /// Only one of the TLS certificate and key was given.
    #[error(
        "--tls-cert (WEBCALL_TLS_CERT) and --tls-key (WEBCALL_TLS_KEY) go together: give both \
         to serve HTTPS, or neither"
    )]
    TlsHalfConfigured,
    /// Strict mode without a secret key: a random key would refuse every UserSig.
    #[error(
        "--strict (WEBCALL_STRICT) needs --secret-key (WEBCALL_SECRET_KEY): only UserSigs \
         signed with it can log in"
    )]
    StrictWithoutSecretKey,
    /// The UserSig URL is not one the login page can fetch from.
    #[error("--usersig-url (WEBCALL_USERSIG_URL) {url:?} is not usable: {reason}")]
    BadUserSigUrl { url: String, reason: &'static str },
}

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

    /// A TURN server URL for clients, e.g. `turn:turn.example.com:3478?transport=udp`; repeat
    /// the flag (or separate with commas in the variable) for several. Clients get TURN REST
    /// credentials for them, signed with --turn-secret.
    #[arg(
        long = "turn-url",
        env = "WEBCALL_TURN_URLS",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub turn_urls: Vec<String>,

    /// The secret shared with the TURN servers (coturn's `static-auth-secret`); needed with
    /// --turn-url.
    #[arg(long, env = "WEBCALL_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,

    /// How long the TURN credentials a client gets at login stay valid, in seconds. Make it at
    /// least as long as a session: a relayed call loses its relay once they expire.
    #[arg(
        long,
        env = "WEBCALL_TURN_TTL_SECS",
        default_value_t = DEFAULT_TURN_TTL_SECS,
        value_parser = clap::value_parser!(u64).range(60..),
    )]
    pub turn_ttl_secs: u64,

    /// A STUN server URL for clients, e.g. `stun:stun.example.com:3478`; repeat the flag (or
    /// separate with commas in the variable) for several.
    #[arg(
        long = "stun-url",
        env = "WEBCALL_STUN_URLS",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub stun_urls: Vec<String>,

    /// Clients relay all audio through the TURN servers (`iceTransportPolicy: "relay"`), so
    /// that neither party learns the other's IP addresses. Needs --turn-url.
    #[arg(long, env = "WEBCALL_RELAY_ONLY")]
    pub relay_only: bool,

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

    /// How long a device whose connection dropped without a close (a network gone, a machine
    /// asleep) keeps its place, its calls and the messages it is sent, for the client to
    /// reconnect and resume its session, in seconds; 0 ends it at once. A party of a call that
    /// does not come back in time ends the call as CONNECTION_LOST.
    #[arg(
        long,
        env = "WEBCALL_RESUME_GRACE_SECS",
        default_value_t = DEFAULT_RESUME_GRACE_SECS,
        value_parser = clap::value_parser!(u32).range(0..=3600),
    )]
    pub resume_grace_secs: u32,

    /// After a restart, how long a call that one party's client restored waits for the other
    /// party's client to claim it too, in seconds; then it ends (CONNECTION_LOST, or a ringing
    /// call CANCELLED).
    #[arg(
        long,
        env = "WEBCALL_RESTORE_WINDOW_SECS",
        default_value_t = DEFAULT_RESTORE_WINDOW_SECS,
        value_parser = clap::value_parser!(u32).range(1..=600),
    )]
    pub restore_window_secs: u32,

    /// Messages one connection may send a second, sustained (every frame but pongs counts).
    /// One over the limit is dropped and answered RATE_LIMITED; a connection refused
    /// 3 × --msg-burst times in a row is closed (1008 "rate limit").
    #[arg(
        long,
        env = "WEBCALL_MSG_RATE",
        default_value_t = DEFAULT_MSG_RATE,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
    )]
    pub msg_rate: u32,

    /// Messages one connection may send at once, above --msg-rate.
    #[arg(
        long,
        env = "WEBCALL_MSG_BURST",
        default_value_t = DEFAULT_MSG_BURST,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
    )]
    pub msg_burst: u32,

    /// Invitations one user may send a minute, on all devices together, sustained (refused
    /// ones, such as calls to oneself or while in a call, do not count). One over the limit is
    /// answered RATE_LIMITED and creates no call.
    #[arg(
        long,
        env = "WEBCALL_INVITE_RATE",
        default_value_t = DEFAULT_INVITE_RATE,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
    )]
    pub invite_rate: u32,

    /// Invitations one user may send at once, above --invite-rate.
    #[arg(
        long,
        env = "WEBCALL_INVITE_BURST",
        default_value_t = DEFAULT_INVITE_BURST,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
    )]
    pub invite_burst: u32,

    /// Logins one user may make a minute (counted when the UserSig verifies), sustained. One
    /// over the limit is answered RATE_LIMITED and closed (1008 "rate limit").
    #[arg(
        long,
        env = "WEBCALL_LOGIN_RATE",
        default_value_t = DEFAULT_LOGIN_RATE,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
    )]
    pub login_rate: u32,

    /// Logins one user may make at once, above --login-rate.
    #[arg(
        long,
        env = "WEBCALL_LOGIN_BURST",
        default_value_t = DEFAULT_LOGIN_BURST,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
    )]
    pub login_burst: u32,

    /// WebSocket connections open at once, logged in or not; beyond it the upgrade is refused
    /// with HTTP 503.
    #[arg(
        long,
        env = "WEBCALL_MAX_CONNECTIONS",
        default_value_t = DEFAULT_MAX_CONNECTIONS,
        value_parser = clap::value_parser!(u32).range(1..=10_000_000),
    )]
    pub max_connections: u32,

    /// A web origin (`https://call.example.com`) whose pages may open the signaling
    /// WebSocket besides the server's own (the Origin's host equals the Host header); `*`
    /// allows any. Repeat the flag (or separate with commas in the variable) for several.
    /// Handshakes without an Origin header (not from a browser) are always allowed; others get
    /// HTTP 403.
    #[arg(
        long = "allowed-origin",
        env = "WEBCALL_ALLOWED_ORIGINS",
        value_name = "ORIGIN",
        value_delimiter = ',',
        value_parser = parse_allowed_origin,
    )]
    pub allowed_origins: Vec<String>,

    /// Serve HTTPS (and `wss://`) with this certificate chain, a PEM file (leaf first). Needs
    /// --tls-key.
    #[arg(
        long,
        env = "WEBCALL_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert, a PEM file (PKCS#8, PKCS#1 or SEC1). Needs --tls-cert.
    #[arg(
        long,
        env = "WEBCALL_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Production mode: no development endpoint `/api/usersig`; only UserSigs issued
    /// elsewhere with the secret key log in. Needs --secret-key.
    #[arg(long, env = "WEBCALL_STRICT")]
    pub strict: bool,

    /// The customer backend endpoint the login page fetches UserSigs from
    /// (`GET <URL>?user_id=<id>`, answering JSON `{"user_sig": ".."}`); an absolute http(s)
    /// URL without query. Its origin is allowed in the Content-Security-Policy.
    #[arg(
        long,
        env = "WEBCALL_USERSIG_URL",
        value_name = "URL",
        value_parser = parse_usersig_url,
    )]
    pub usersig_url: Option<String>,

    /// The call history's SQLite database file, created when missing; `:memory:` keeps the
    /// history in memory only (lost at a restart).
    #[arg(long, env = "WEBCALL_DB", value_name = "PATH", default_value = DEFAULT_DB)]
    pub db: PathBuf,
}

impl Config {
    /// Checks what the command line parser cannot: the STUN/TURN settings fit together, the TLS
    /// certificate goes with a key, strict mode has a secret key, the UserSig URL is usable (see
    /// [`ConfigError`]). [`AppState::try_new`](crate::AppState::try_new) runs it too.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::turn::IceConfig::from_config(self).map(drop)?;
        self.validate_security()
    }

    /// Checks the HTTPS and login settings: a certificate goes with a key, strict mode has a
    /// secret key, the UserSig URL is usable.
    pub(crate) fn validate_security(&self) -> Result<(), ConfigError> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::TlsHalfConfigured);
        }
        let has_secret = self.secret_key.as_deref().is_some_and(|k| !k.is_empty());
        if self.strict && !has_secret {
            return Err(ConfigError::StrictWithoutSecretKey);
        }
        if let Some(url) = &self.usersig_url {
            usersig_url_origin(url)?;
        }
        Ok(())
    }
}

/// The origin (`scheme://host[:port]`, lowercase) of a UserSig URL, as a Content-Security-Policy
/// source; or why the URL is not usable: it must be an absolute `http` or `https` URL with a
/// plain host name or IP address, no user name, no query and no fragment.
pub fn usersig_url_origin(url: &str) -> Result<String, ConfigError> {
    let bad = |reason| ConfigError::BadUserSigUrl {
        url: url.to_owned(),
        reason,
    };
    let uri: axum::http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let scheme = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some(scheme @ ("http" | "https")) => scheme.to_owned(),
        _ => return Err(bad("it must start with https:// (or http://)")),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| bad("it names no host"))?
        .as_str();
    if authority.contains('@') {
        return Err(bad("it must not carry a user name or password"));
    }
    if uri.query().is_some() || url.contains('#') {
        return Err(bad(
            "it must have no query or fragment (the app adds ?user_id=..)",
        ));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let plain_name = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let ipv6 = host.len() > 2
        && host.starts_with('[')
        && host.ends_with(']')
        && host[1..host.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    if !plain_name && !ipv6 {
        return Err(bad("its host is not a plain host name or IP address"));
    }
    let mut origin = format!("{scheme}://{}", host.to_ascii_lowercase());
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(bad("its port is not a number from 0 to 65535"));
        }
        origin.push(':');
        origin.push_str(port);
    }
    Ok(origin)
}

/// The command line's check of `--usersig-url`.
fn parse_usersig_url(url: &str) -> Result<String, ConfigError> {
    usersig_url_origin(url).map(|_| url.to_owned())
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
            turn_urls: Vec::new(),
            turn_secret: None,
            turn_ttl_secs: DEFAULT_TURN_TTL_SECS,
            stun_urls: Vec::new(),
            relay_only: false,
            connect_timeout_secs: DEFAULT_CONNECT_TIMEOUT_SECS,
            idle_timeout_secs: DEFAULT_IDLE_TIMEOUT_SECS,
            resume_grace_secs: DEFAULT_RESUME_GRACE_SECS,
            restore_window_secs: DEFAULT_RESTORE_WINDOW_SECS,
            msg_rate: DEFAULT_MSG_RATE,
            msg_burst: DEFAULT_MSG_BURST,
            invite_rate: DEFAULT_INVITE_RATE,
            invite_burst: DEFAULT_INVITE_BURST,
            login_rate: DEFAULT_LOGIN_RATE,
            login_burst: DEFAULT_LOGIN_BURST,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            allowed_origins: Vec::new(),
            tls_cert: None,
            tls_key: None,
            strict: false,
            usersig_url: None,
            db: PathBuf::from(DEFAULT_DB),
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
            "--turn-url",
            "turn:turn.example.com:3478?transport=udp",
            "--turn-url",
            "turns:turn.example.com:5349,turn:turn.example.com:3478?transport=tcp",
            "--turn-secret",
            "t",
            "--turn-ttl-secs",
            "3600",
            "--stun-url",
            "stun:stun.example.com:3478",
            "--relay-only",
            "--connect-timeout-secs",
            "15",
            "--idle-timeout-secs",
            "20",
            "--resume-grace-secs",
            "0",
            "--restore-window-secs",
            "30",
            "--msg-rate",
            "30",
            "--msg-burst",
            "60",
            "--invite-rate",
            "20",
            "--invite-burst",
            "3",
            "--login-rate",
            "6",
            "--login-burst",
            "2",
            "--max-connections",
            "500",
            "--allowed-origin",
            "https://Call.Example.com/",
            "--allowed-origin",
            "http://localhost:8080,*",
            "--tls-cert",
            "/etc/webcall/cert.pem",
            "--tls-key",
            "/etc/webcall/key.pem",
            "--strict",
            "--usersig-url",
            "https://backend.example.com/usersig",
            "--db",
            "/var/lib/webcall/history.db",
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
                turn_urls: vec![
                    "turn:turn.example.com:3478?transport=udp".into(),
                    "turns:turn.example.com:5349".into(),
                    "turn:turn.example.com:3478?transport=tcp".into(),
                ],
                turn_secret: Some("t".into()),
                turn_ttl_secs: 3600,
                stun_urls: vec!["stun:stun.example.com:3478".into()],
                relay_only: true,
                connect_timeout_secs: 15,
                idle_timeout_secs: 20,
                resume_grace_secs: 0,
                restore_window_secs: 30,
                msg_rate: 30,
                msg_burst: 60,
                invite_rate: 20,
                invite_burst: 3,
                login_rate: 6,
                login_burst: 2,
                max_connections: 500,
                allowed_origins: vec![
                    "https://call.example.com".into(),
                    "http://localhost:8080".into(),
                    "*".into(),
                ],
                tls_cert: Some(PathBuf::from("/etc/webcall/cert.pem")),
                tls_key: Some(PathBuf::from("/etc/webcall/key.pem")),
                strict: true,
                usersig_url: Some("https://backend.example.com/usersig".into()),
                db: PathBuf::from("/var/lib/webcall/history.db"),
            }
        );
    }

    #[test]
    fn tls_needs_both_cert_and_key() {
        for args in [["--tls-cert", "c.pem"], ["--tls-key", "k.pem"]] {
            let err = Config::try_parse_from(["webcall-server"].iter().chain(&args)).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::MissingRequiredArgument,
                "{args:?}"
            );
        }
    }

    #[test]
    fn strict_mode_needs_a_secret_key() {
        let strict = Config {
            strict: true,
            ..Config::default()
        };
        assert_eq!(strict.validate(), Err(ConfigError::StrictWithoutSecretKey));
        let empty_key = Config {
            secret_key: Some(String::new()),
            ..strict.clone()
        };
        assert_eq!(
            empty_key.validate(),
            Err(ConfigError::StrictWithoutSecretKey)
        );
        let with_key = Config {
            secret_key: Some("k".into()),
            ..strict
        };
        assert_eq!(with_key.validate(), Ok(()));
    }

    #[test]
    fn tls_cert_and_key_go_together_in_code_too() {
        let cert_only = Config {
            tls_cert: Some("c.pem".into()),
            ..Config::default()
        };
        assert_eq!(cert_only.validate(), Err(ConfigError::TlsHalfConfigured));
        let key_only = Config {
            tls_key: Some("k.pem".into()),
            ..Config::default()
        };
        assert_eq!(key_only.validate(), Err(ConfigError::TlsHalfConfigured));
        let both = Config {
            tls_key: Some("k.pem".into()),
            ..cert_only
        };
        assert_eq!(both.validate(), Ok(()));
    }

    #[test]
    fn usersig_urls_give_their_origin() {
        for (url, origin) in [
            (
                "https://backend.example.com/usersig",
                "https://backend.example.com",
            ),
            (
                "https://Backend.Example.COM:8443/a/b",
                "https://backend.example.com:8443",
            ),
            ("http://127.0.0.1:9000/sig", "http://127.0.0.1:9000"),
            ("https://[::1]:8443/sig", "https://[::1]:8443"),
            ("https://sig.example.com", "https://sig.example.com"),
        ] {
            assert_eq!(usersig_url_origin(url).as_deref(), Ok(origin), "{url}");
        }
    }

    #[test]
    fn unusable_usersig_urls_are_refused() {
        for url in [
            "",
            "/api/usersig",
            "backend.example.com/usersig",
            "ftp://backend.example.com/usersig",
            "javascript:alert(1)",
            "https://user:pass@backend.example.com/usersig",
            "https://backend.example.com/usersig?app=1",
            "https://backend.example.com/usersig#x",
            "https://back;end.example.com/",
            "https://backend.example.com:99999/",
            "https://backend.example.com:x/",
            "https://back end.example.com/",
        ] {
            assert!(
                matches!(
                    usersig_url_origin(url),
                    Err(ConfigError::BadUserSigUrl { .. })
                ),
                "{url}"
            );
            assert!(
                Config::try_parse_from(["webcall-server", "--usersig-url", url]).is_err(),
                "{url}"
            );
        }
    }

    #[test]
    fn defaults_match_the_command_line() {
        assert_eq!(
            Config::try_parse_from(["webcall-server"]).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn turn_settings_are_validated() {
        assert_eq!(Config::default().validate(), Ok(()));
        let parse = |args: &[&str]| {
            Config::try_parse_from(["webcall-server"].iter().chain(args))
                .unwrap()
                .validate()
        };
        assert_eq!(
            parse(&["--turn-url", "turn:127.0.0.1:3478", "--turn-secret", "s"]),
            Ok(())
        );
        assert_eq!(
            parse(&["--turn-url", "turn:127.0.0.1:3478"]),
            Err(ConfigError::TurnUrlWithoutSecret)
        );
        assert_eq!(
            parse(&["--turn-secret", "s"]),
            Err(ConfigError::TurnSecretWithoutUrl)
        );
        assert_eq!(
            parse(&["--relay-only"]),
            Err(ConfigError::RelayOnlyWithoutTurn)
        );
        assert!(Config::try_parse_from(["webcall-server", "--turn-ttl-secs", "59"]).is_err());
    }

    #[test]
    fn limits_and_origins_are_checked() {
        let parse = |args: &[&str]| Config::try_parse_from(["webcall-server"].iter().chain(args));
        assert!(parse(&["--msg-rate", "0"]).is_err());
        assert!(parse(&["--invite-burst", "0"]).is_err());
        assert!(parse(&["--max-connections", "0"]).is_err());
        assert!(parse(&["--allowed-origin", "call.example.com"]).is_err());
        assert!(parse(&["--allowed-origin", "https://call.example.com/app"]).is_err());
        assert!(parse(&["--allowed-origin", "https://call.example.com"]).is_ok());
    }

    #[test]
    fn resume_and_restore_windows_are_bounded() {
        let parse = |args: &[&str]| Config::try_parse_from(["webcall-server"].iter().chain(args));
        assert!(parse(&["--resume-grace-secs", "0"]).is_ok());
        assert!(parse(&["--resume-grace-secs", "3601"]).is_err());
        assert!(parse(&["--restore-window-secs", "0"]).is_err());
        assert!(parse(&["--restore-window-secs", "601"]).is_err());
        assert_eq!(
            Config::default().resume_grace_secs,
            DEFAULT_RESUME_GRACE_SECS
        );
        assert_eq!(
            Config::default().restore_window_secs,
            DEFAULT_RESTORE_WINDOW_SECS
        );
    }

    #[test]
    fn ring_timeout_is_bounded() {
        assert!(Config::try_parse_from(["webcall-server", "--ring-timeout-secs", "0"]).is_err());
        assert!(Config::try_parse_from(["webcall-server", "--ring-timeout-secs", "121"]).is_err());
    }
}
