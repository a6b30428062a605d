//! HTTPS: loading the certificate and key, and a listener that hands out TLS streams.
//!
//! [`TlsListener`] wraps a [`TcpListener`] as an [`axum::serve::Listener`], so that
//! `axum::serve` (and its graceful shutdown) works exactly as over plain TCP. A background task
//! accepts TCP connections and runs each TLS handshake in a task of its own, with a deadline
//! ([`HANDSHAKE_TIMEOUT`]), so a slow or silent client never holds up other accepts; finished
//! handshakes queue up for [`Listener::accept`]. At most [`MAX_PENDING_HANDSHAKES`] run at
//! once; beyond that, new connections wait in the kernel's backlog. Dropping the listener (as
//! `axum::serve` does when it shuts down) stops the accepting and cancels pending handshakes.
//!
//! Only HTTP/1.1 is offered over ALPN: the server speaks HTTP/1.1, and WebSockets upgrade from
//! it.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rustls::ServerConfig;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::AbortOnDropHandle;
use tracing::{debug, warn};

/// How long a client has to complete the TLS handshake after connecting.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many TLS handshakes may be under way at once.
pub const MAX_PENDING_HANDSHAKES: usize = 512;

/// How many completed handshakes may wait for `accept`.
const ACCEPTED_QUEUE: usize = 64;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The certificate file is not PEM, or holds no certificate.
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----): {source}", path.display())]
    BadCertificate {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    /// The key file is not PEM, or holds no private key.
    #[error(
        "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {source}",
        path.display()
    )]
    BadKey {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    /// rustls refused the pair: the key does not match the certificate, or an algorithm is not
    /// supported.
    #[error("the TLS certificate and key cannot be used together: {0}")]
    Rejected(#[from] rustls::Error),
}

/// The TLS server configuration for the certificate chain in PEM file `cert` (leaf first) and
/// the private key in PEM file `key`, offering HTTP/1.1 over ALPN.
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |what, path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            what,
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read("TLS certificate", cert)?;
    let key_pem = read("TLS key", key)?;
    let bad_cert = |source| TlsError::BadCertificate {
        path: cert.to_owned(),
        source,
    };
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad_cert)?;
    if chain.is_empty() {
        return Err(bad_cert(pem::Error::NoItemsFound));
    }
    let private_key =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|source| TlsError::BadKey {
            path: key.to_owned(),
            source,
        })?;
    // An explicit provider, so that the choice does not depend on which crypto features other
    // crates enable in the process.
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A listener that accepts TCP connections and yields them once their TLS handshake is done
/// (see the [module documentation](self)).
#[derive(Debug)]
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
    _acceptor: AbortOnDropHandle<()>,
}

impl TlsListener {
    /// Serves TLS with `config` on `listener`. Must be called within a Tokio runtime.
    pub fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (tx, accepted) = mpsc::channel(ACCEPTED_QUEUE);
        let acceptor = tokio::spawn(accept_loop(listener, TlsAcceptor::from(config), tx));
        Ok(TlsListener {
            accepted,
            local_addr,
            _acceptor: AbortOnDropHandle::new(acceptor),
        })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accept loop never ends while the listener lives (it retries failed accepts),
            // so this is unreachable; if it did end, no connection would ever come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// Accepts TCP connections and starts a handshake task for each, until `tx` closes.
async fn accept_loop(
    mut listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let permits = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return; // The semaphore is never closed.
        };
        // axum's TcpListener accept logs and retries on errors (a full file table, say).
        let (tcp, addr) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = tx.closed() => return,
        };
        // Signaling messages are small and latency matters: no Nagle delay.
        if let Err(e) = tcp.set_nodelay(true) {
            warn!("cannot set TCP_NODELAY: {e}");
        }
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
            let tls = tokio::select! {
                done = handshake => done,
                // The listener is gone: stop at once.
                () = tx.closed() => return,
            };
            match tls {
                Ok(Ok(tls)) => {
                    // Fails only when the listener is gone; the stream is then dropped.
                    let _ = tx.send((tls, addr)).await;
                }
                Ok(Err(e)) => debug!(%addr, "TLS handshake failed: {e}"),
                Err(_) => debug!(%addr, "TLS handshake timed out"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn a_matching_pair_loads() {
        let dir = tempfile::tempdir().unwrap();
        let pair = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = write(dir.path(), "cert.pem", &pair.cert.pem());
        let key = write(dir.path(), "key.pem", &pair.signing_key.serialize_pem());
        let config = load_server_config(&cert, &key).unwrap();
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let pair = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = write(dir.path(), "cert.pem", &pair.cert.pem());
        let key = write(dir.path(), "key.pem", &pair.signing_key.serialize_pem());
        let other_key = write(dir.path(), "other.pem", &other.signing_key.serialize_pem());
        let garbage = write(dir.path(), "garbage.pem", "not PEM at all\n");
        let truncated = write(
            dir.path(),
            "truncated.pem",
            &pair.cert.pem()[..pair.cert.pem().len() / 2],
        );
        let missing = dir.path().join("missing.pem");

        let err = load_server_config(&missing, &key).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let err = load_server_config(&cert, &missing).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err:?}");

        for bad in [&garbage, &truncated, &key] {
            let err = load_server_config(bad, &key).unwrap_err();
            assert!(matches!(err, TlsError::BadCertificate { .. }), "{err:?}");
        }
        for bad in [&garbage, &cert] {
            let err = load_server_config(&cert, bad).unwrap_err();
            assert!(matches!(err, TlsError::BadKey { .. }), "{err:?}");
        }
        let err = load_server_config(&cert, &other_key).unwrap_err();
        assert!(matches!(err, TlsError::Rejected(_)), "{err:?}");
    }
}
