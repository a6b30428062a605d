//! The STUN and TURN servers that logged-in clients get in `LoggedIn`, with TURN credentials.
//!
//! TURN credentials follow the "TURN REST API" scheme (draft-uberti-behave-turn-rest), which
//! coturn implements as `use-auth-secret`: this server and the TURN server share a secret, and
//! nothing else. For each login this server issues
//!
//! - username: `"<unix expiry>:<user ID>"`, the Unix time (seconds) after which the TURN server
//!   refuses it, then the user it was issued to;
//! - credential: the standard base64 of HMAC-SHA1(shared secret, username).
//!
//! The TURN server recomputes the HMAC from the username it is given and refuses a username
//! whose expiry is past, so credentials need no storage and cannot be reused for long. They are
//! issued at login: the TTL (`--turn-ttl-secs`) should cover a whole session, since a relayed
//! call whose credential expires loses its relay at the next allocation refresh.
//!
//! [`IceConfig::from_config`] checks the configuration ([`ConfigError`] for what does not work)
//! and [`IceConfig::for_user`] makes the list a user gets.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use webcall_protocol::IceServer;

use crate::config::{Config, ConfigError};

type HmacSha1 = Hmac<Sha1>;

/// One user's TURN REST credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredentials {
    /// `"<unix expiry>:<user ID>"`.
    pub username: String,
    /// Standard base64 of HMAC-SHA1(secret, `username`).
    pub credential: String,
}

impl TurnCredentials {
    /// The credentials for `user`, valid until `expires_at` (Unix seconds), under `secret`.
    pub fn issue(secret: &str, user: &str, expires_at: u64) -> TurnCredentials {
        let username = format!("{expires_at}:{user}");
        let credential = credential(secret, &username);
        TurnCredentials {
            username,
            credential,
        }
    }
}

/// The TURN REST credential (password) for `username` under `secret`: the standard base64 of
/// HMAC-SHA1 keyed with the secret's bytes, over the username's bytes.
pub fn credential(secret: &str, username: &str) -> String {
    let mut mac =
        HmacSha1::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The TURN servers of a deployment and the secret they share with this server.
#[derive(Clone, PartialEq, Eq)]
struct Turn {
    urls: Vec<String>,
    secret: String,
    ttl_secs: u64,
}

impl fmt::Debug for Turn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Turn")
            .field("urls", &self.urls)
            .field("secret", &"<redacted>")
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

/// The ICE servers every logged-in client gets, from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceConfig {
    stun_urls: Vec<String>,
    turn: Option<Turn>,
    relay_only: bool,
}

impl IceConfig {
    /// The ICE servers `config` names (`--stun-url`, `--turn-url`, `--turn-secret`,
    /// `--turn-ttl-secs`, `--relay-only`), or why they cannot work: TURN URLs without a secret
    /// or a secret without TURN URLs, relay-only without TURN, or a URL of the wrong scheme.
    pub fn from_config(config: &Config) -> Result<IceConfig, ConfigError> {
        for url in &config.stun_urls {
            check_url(url, "--stun-url", &["stun:", "stuns:"])?;
        }
        for url in &config.turn_urls {
            check_url(url, "--turn-url", &["turn:", "turns:"])?;
        }
        let secret = config.turn_secret.as_deref().filter(|s| !s.is_empty());
        let turn = match (config.turn_urls.is_empty(), secret) {
            (true, None) => None,
            (false, None) => return Err(ConfigError::TurnUrlWithoutSecret),
            (true, Some(_)) => return Err(ConfigError::TurnSecretWithoutUrl),
            (false, Some(secret)) => Some(Turn {
                urls: config.turn_urls.clone(),
                secret: secret.to_owned(),
                ttl_secs: config.turn_ttl_secs,
            }),
        };
        if config.relay_only && turn.is_none() {
            return Err(ConfigError::RelayOnlyWithoutTurn);
        }
        Ok(IceConfig {
            stun_urls: config.stun_urls.clone(),
            turn,
            relay_only: config.relay_only,
        })
    }

    /// Whether there is no STUN or TURN server at all.
    pub fn is_empty(&self) -> bool {
        self.stun_urls.is_empty() && self.turn.is_none()
    }

    /// Whether clients must relay all media through TURN (`iceTransportPolicy: "relay"`).
    pub fn relay_only(&self) -> bool {
        self.relay_only
    }

    /// The TURN URLs, if TURN is configured.
    pub fn turn_urls(&self) -> &[String] {
        self.turn.as_ref().map_or(&[], |t| &t.urls)
    }

    /// How long issued TURN credentials stay valid, in seconds, if TURN is configured.
    pub fn turn_ttl_secs(&self) -> Option<u64> {
        self.turn.as_ref().map(|t| t.ttl_secs)
    }

    /// The ICE servers for `user` logging in at `now` (Unix seconds): the STUN servers, then the
    /// TURN servers with credentials valid for the configured TTL.
    pub fn for_user(&self, user: &str, now: u64) -> Vec<IceServer> {
        let mut servers = Vec::with_capacity(2);
        if !self.stun_urls.is_empty() {
            servers.push(IceServer {
                urls: self.stun_urls.clone(),
                username: None,
                credential: None,
            });
        }
        if let Some(turn) = &self.turn {
            let creds =
                TurnCredentials::issue(&turn.secret, user, now.saturating_add(turn.ttl_secs));
            servers.push(IceServer {
                urls: turn.urls.clone(),
                username: Some(creds.username),
                credential: Some(creds.credential),
            });
        }
        servers
    }
}

/// Checks that `url` starts with one of `schemes` and names a host.
fn check_url(url: &str, flag: &'static str, schemes: &[&'static str]) -> Result<(), ConfigError> {
    let rest = schemes.iter().find_map(|s| {
        url.get(..s.len())
            .filter(|p| p.eq_ignore_ascii_case(s))
            .map(|_| &url[s.len()..])
    });
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with(['?', ':']) => Ok(()),
        _ => Err(ConfigError::BadIceUrl {
            flag,
            url: url.to_owned(),
            expected: schemes.join(" or "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed once with
    /// `printf %s "1700000000:alice" | openssl dgst -sha1 -hmac "north-wind-secret" -binary | base64`.
    #[test]
    fn credential_matches_openssl() {
        assert_eq!(
            credential("north-wind-secret", "1700000000:alice"),
            "r/l6ttQtMIfbS2lfULS0mDRRNUg="
        );
        assert_eq!(
            TurnCredentials::issue("north-wind-secret", "alice", 1_700_000_000),
            TurnCredentials {
                username: "1700000000:alice".into(),
                credential: "r/l6ttQtMIfbS2lfULS0mDRRNUg=".into(),
            }
        );
    }

    #[test]
    fn credentials_depend_on_secret_and_username() {
        let base = credential("s", "100:alice");
        assert_ne!(base, credential("t", "100:alice"));
        assert_ne!(base, credential("s", "101:alice"));
        assert_ne!(base, credential("s", "100:bob"));
    }

    fn turn_config() -> Config {
        Config {
            turn_urls: vec!["turn:turn.example.com:3478?transport=udp".into()],
            turn_secret: Some("north-wind-secret".into()),
            turn_ttl_secs: 600,
            ..Config::default()
        }
    }

    #[test]
    fn users_get_stun_then_turn_with_expiring_credentials() {
        let config = Config {
            stun_urls: vec!["stun:stun.example.com:3478".into()],
            ..turn_config()
        };
        let ice = IceConfig::from_config(&config).unwrap();
        assert_eq!(
            ice.for_user("alice", 1_699_999_400),
            vec![
                IceServer {
                    urls: vec!["stun:stun.example.com:3478".into()],
                    username: None,
                    credential: None,
                },
                IceServer {
                    urls: vec!["turn:turn.example.com:3478?transport=udp".into()],
                    username: Some("1700000000:alice".into()),
                    credential: Some("r/l6ttQtMIfbS2lfULS0mDRRNUg=".into()),
                },
            ]
        );
        assert!(!ice.relay_only());
        assert_eq!(ice.turn_ttl_secs(), Some(600));
    }

    #[test]
    fn nothing_configured_gives_no_servers() {
        let ice = IceConfig::from_config(&Config::default()).unwrap();
        assert!(ice.is_empty());
        assert!(ice.for_user("alice", 1).is_empty());
    }

    #[test]
    fn turn_needs_both_urls_and_secret() {
        let no_secret = Config {
            turn_secret: None,
            ..turn_config()
        };
        assert_eq!(
            IceConfig::from_config(&no_secret),
            Err(ConfigError::TurnUrlWithoutSecret)
        );
        let empty_secret = Config {
            turn_secret: Some(String::new()),
            ..turn_config()
        };
        assert_eq!(
            IceConfig::from_config(&empty_secret),
            Err(ConfigError::TurnUrlWithoutSecret)
        );
        let no_urls = Config {
            turn_urls: Vec::new(),
            ..turn_config()
        };
        assert_eq!(
            IceConfig::from_config(&no_urls),
            Err(ConfigError::TurnSecretWithoutUrl)
        );
    }

    #[test]
    fn relay_only_needs_turn() {
        let config = Config {
            relay_only: true,
            ..Config::default()
        };
        assert_eq!(
            IceConfig::from_config(&config),
            Err(ConfigError::RelayOnlyWithoutTurn)
        );
        let config = Config {
            relay_only: true,
            ..turn_config()
        };
        assert!(IceConfig::from_config(&config).unwrap().relay_only());
    }

    #[test]
    fn urls_must_have_the_right_scheme() {
        for bad in ["stun:x", "http://x", "turn:", "turn:?transport=udp", "x"] {
            let config = Config {
                turn_urls: vec![bad.into()],
                ..turn_config()
            };
            assert!(
                matches!(
                    IceConfig::from_config(&config),
                    Err(ConfigError::BadIceUrl { .. })
                ),
                "{bad}"
            );
        }
        for good in [
            "turn:127.0.0.1:3478?transport=udp",
            "TURNS:turn.example.com:5349",
        ] {
            let config = Config {
                turn_urls: vec![good.into()],
                ..turn_config()
            };
            assert!(IceConfig::from_config(&config).is_ok(), "{good}");
        }
        let config = Config {
            stun_urls: vec!["turn:x".into()],
            ..Config::default()
        };
        assert!(matches!(
            IceConfig::from_config(&config),
            Err(ConfigError::BadIceUrl {
                flag: "--stun-url",
                ..
            })
        ));
    }

    #[test]
    fn debug_hides_the_secret() {
        let ice = IceConfig::from_config(&turn_config()).unwrap();
        assert!(!format!("{ice:?}").contains("north-wind-secret"));
    }
}
