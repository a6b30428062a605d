//! The WebCall signaling server.
//!
//! It serves three things on one port:
//!
//! - `GET /ws`: the signaling WebSocket, speaking [`webcall_protocol`] as JSON text frames. A
//!   connection logs in with a UserSig, then places and answers calls; the [`Hub`] decides every
//!   outcome and relays the WebRTC negotiation between the two parties of a call.
//! - `GET /api/usersig?user_id=..`: a development endpoint that issues UserSigs (absent in
//!   strict mode, [`Config::strict`]); `GET /api/config`: how the app logs in.
//! - everything else: the built single-page app (the `dist` folder), with `index.html` for deep
//!   routes such as `/call`.
//!
//! Every response carries security headers: a Content-Security-Policy that allows the inline
//! scripts of the served `index.html` by hash, `X-Content-Type-Options`, `Referrer-Policy`,
//! `Permissions-Policy`, and over HTTPS `Strict-Transport-Security`.
//!
//! [`app`] builds the router from an [`AppState`]; [`run`] serves it on a listener until a
//! shutdown future resolves, and [`run_tls`] does the same over HTTPS (see [`tls`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use webcall_server::{run, AppState, Config};
//! let config = Config::default();
//! let listener = tokio::net::TcpListener::bind((config.bind, config.port)).await?;
//! run(listener, AppState::new(&config), tokio::signal::ctrl_c()).await
//! # }
//! ```

pub mod cli;
pub mod config;
mod headers;
pub mod history;
pub mod hub;
pub mod limits;
pub mod origin;
mod routes;
mod static_files;
pub mod tls;
pub mod turn;
pub mod usersig;
mod ws;

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::serve::{Listener, ListenerExt};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};
use webcall_protocol::IceServer;

pub use config::{Config, ConfigError};
pub use hub::{Hub, HubSettings};
pub use usersig::{UserSigError, UserSigKey};

/// How long [`run`] waits for WebSocket connections to close after the shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Picks the ICE servers (STUN/TURN, with credentials) that a user gets in `LoggedIn`.
pub type IceServersFn = Arc<dyn Fn(&str) -> Vec<IceServer> + Send + Sync>;

/// Everything the handlers share: the hub, the UserSig key and the settings.
///
/// Cheap to clone. Serve one `AppState` with one [`run`]: the shutdown of that run closes the
/// state's WebSocket connections for good.
#[derive(Clone)]
pub struct AppState {
    hub: Arc<Hub>,
    key: UserSigKey,
    settings: Arc<Settings>,
    ice_servers: IceServersFn,
    /// The rate limits and the connection cap.
    limits: Arc<limits::Limits>,
    /// Which web origins may open the WebSocket.
    origins: Arc<origin::AllowedOrigins>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

/// The settings the handlers read, taken from [`Config`].
#[derive(Debug)]
struct Settings {
    dist: PathBuf,
    login_timeout: Duration,
    /// How long a logged-in connection may stay silent; the server pings it every third of it.
    idle_timeout: Duration,
    usersig_expire_secs: u64,
    /// Strict mode: no development UserSig endpoint.
    strict: bool,
    /// Where the login page fetches UserSigs from, told by `/api/config`.
    usersig_url: Option<String>,
    /// The headers every response carries, the Content-Security-Policy among them.
    security: headers::SecurityHeaders,
}

impl AppState {
    /// The state for `config`. When the config has no secret key, a random one is made and a
    /// warning is logged: UserSigs issued now will not verify after a restart.
    ///
    /// # Panics
    ///
    /// When `config` does not [validate](Config::validate) (TURN URLs without a secret, say).
    /// [`AppState::try_new`] returns that error instead.
    pub fn new(config: &Config) -> Self {
        Self::try_new(config).unwrap_or_else(|e| panic!("invalid configuration: {e}"))
    }

    /// The state for `config`, or why the config cannot work ([`Config::validate`]).
    ///
    /// Logged-in clients get the configured STUN and TURN servers, the TURN ones with TURN
    /// REST credentials (see [`turn`]); [`AppState::with_ice_servers`] replaces that choice.
    pub fn try_new(config: &Config) -> Result<Self, ConfigError> {
        let ice = turn::IceConfig::from_config(config)?;
        config.validate_security()?;
        if ice.is_empty() {
            info!(
                "no STUN or TURN server configured: calls connect only between peers that reach \
                 each other directly"
            );
        } else {
            info!(
                turn_urls = ?ice.turn_urls(),
                stun_urls = ?config.stun_urls,
                turn_ttl_secs = ?ice.turn_ttl_secs(),
                relay_only = ice.relay_only(),
                "ICE servers configured"
            );
        }
        let secret = match config.secret_key.as_deref() {
            Some(key) if !key.is_empty() => key.to_owned(),
            _ => {
                warn!(
                    "no secret key configured (--secret-key / WEBCALL_SECRET_KEY): using a random \
                     one; UserSigs will not survive a restart"
                );
                random_secret_key()
            }
        };
        Ok(AppState {
            hub: Hub::new(HubSettings {
                ring_timeout_secs: config.ring_timeout_secs,
                connect_timeout_secs: config.connect_timeout_secs,
                max_devices: config.max_devices,
                single_device: config.single_device,
                relay_only: ice.relay_only(),
                resume_grace_secs: config.resume_grace_secs,
                restore_window_secs: config.restore_window_secs,
            }),
            key: UserSigKey::new(config.sdk_app_id, secret),
            settings: Arc::new(Settings {
                dist: config.dist.clone(),
                login_timeout: Duration::from_secs(config.login_timeout_secs.max(1)),
                idle_timeout: Duration::from_secs(config.idle_timeout_secs.max(3)),
                usersig_expire_secs: config.usersig_expire_secs,
                strict: config.strict,
                usersig_url: config.usersig_url.clone(),
                security: headers::SecurityHeaders::new(
                    &config.dist,
                    config.usersig_url.as_deref(),
                ),
            }),
            ice_servers: Arc::new(move |user| ice.for_user(user, unix_now())),
            limits: Arc::new(limits::Limits::new(limits::LimitSettings::from(config))),
            origins: Arc::new(origin::AllowedOrigins::new(&config.allowed_origins)),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
        })
    }

    /// Sets how the ICE servers sent in `LoggedIn` are chosen for a user, replacing the ones
    /// the config names (`--stun-url`, `--turn-url`; none by default). `--relay-only` still
    /// applies.
    pub fn with_ice_servers(
        mut self,
        ice_servers: impl Fn(&str) -> Vec<IceServer> + Send + Sync + 'static,
    ) -> Self {
        self.ice_servers = Arc::new(ice_servers);
        self
    }

    /// Records the calls that end in `history` (see [`history`]), and serves it at
    /// `/api/history`. Without it the server keeps no history.
    pub fn with_history(self, history: history::History) -> Self {
        if !self.hub.set_history(history) {
            warn!("this server's call history was set already: the new one is ignored");
        }
        self
    }

    /// The signaling hub.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// The key that issues and verifies UserSigs.
    pub fn user_sig_key(&self) -> &UserSigKey {
        &self.key
    }
}

/// The server's routes over `state`: `/ws`, `/api/config`, `/api/usersig` (unless strict) and
/// the single-page app, all with the security headers.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then stops accepting, closes the
/// WebSocket connections (close code 1012, "server restarting", so that the clients reconnect
/// to the next server and claim their calls there) and returns once they are gone (waiting at
/// most a few seconds for them).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future + Send + 'static,
) -> io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        info!("listening on http://{addr}");
    }
    // Signaling messages are small and latency matters: no Nagle delay.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            warn!("cannot set TCP_NODELAY: {e}");
        }
    });
    let router = app(state.clone());
    serve(listener, router, state, shutdown).await
}

/// [`run`] over HTTPS: serves [`app`] (and `wss://` at `/ws`) on `listener` with the TLS
/// configuration `tls` (from [`tls::load_server_config`]), adding `Strict-Transport-Security`
/// to every response. Shuts down as [`run`] does.
pub async fn run_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: AppState,
    shutdown: impl Future + Send + 'static,
) -> io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        info!("listening on https://{addr}");
    }
    // The TLS listener sets TCP_NODELAY itself. The no-op tap makes it the same kind of
    // listener as `run`'s, for which axum provides `ConnectInfo<SocketAddr>`.
    let listener = tls::TlsListener::new(listener, tls)?.tap_io(|_| {});
    let router = headers::with_hsts(app(state.clone()));
    serve(listener, router, state, shutdown).await
}

/// Serves `router` on `listener` until `shutdown` resolves, then closes `state`'s WebSocket
/// connections and waits a little for them: the common part of [`run`] and [`run_tls`].
async fn serve<L>(
    listener: L,
    router: Router,
    state: AppState,
    shutdown: impl Future + Send + 'static,
) -> io::Result<()>
where
    L: Listener<Addr = std::net::SocketAddr>,
{
    let token = state.shutdown.clone();
    let tracker = state.tracker.clone();
    drop(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            info!("shutting down");
            token.cancel();
        })
        .await?;
    tracker.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        warn!("some WebSocket connections did not close in time");
    }
    Ok(())
}

/// The current Unix time in seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 32 random bytes in hex.
fn random_secret_key() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Helpers the unit tests of several modules share.
#[cfg(test)]
pub(crate) mod test_support {
    use axum::http::{HeaderMap, HeaderValue};

    /// Request headers from name/value pairs (a name may repeat).
    pub(crate) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_secret_keys_are_64_hex_digits_and_differ() {
        let a = random_secret_key();
        let b = random_secret_key();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn missing_secret_key_is_made_up() {
        let state = AppState::new(&Config::default());
        let sig = state.user_sig_key().issue("alice", 60, unix_now());
        assert!(state
            .user_sig_key()
            .verify("alice", &sig, unix_now())
            .is_ok());
    }
}
