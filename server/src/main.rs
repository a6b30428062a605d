//! The WebCall signaling server binary: reads its [`Config`] from flags and environment, logs
//! with `tracing` (filter with `RUST_LOG`, default `info`), and serves until SIGINT or SIGTERM:
//! over HTTPS when given a certificate and key (`--tls-cert`, `--tls-key`), else plain HTTP.
//! A configuration that cannot work ([`Config::validate`]) ends it at once with a usage error;
//! an unusable certificate or key, call history database (`--db`), or a port it cannot listen
//! on, with an error and status 1.
//!
//! `webcall-server usersig --user <ID>` prints a UserSig instead of serving (see [`cli`]).
//!
//! [`Config`]: webcall_server::Config
//! [`Config::validate`]: webcall_server::Config::validate
//! [`cli`]: webcall_server::cli

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{CommandFactory, Parser};
use tracing::error;
use tracing_subscriber::EnvFilter;
use webcall_server::cli::{usersig_command, Cli, Command};
use webcall_server::history::History;
use webcall_server::{run, run_tls, tls, AppState};

#[tokio::main]
async fn main() -> ExitCode {
    let Cli { config, command } = Cli::parse();
    if let Some(Command::Usersig(args)) = command {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match usersig_command(&config, &args, now) {
            Ok(user_sig) => {
                println!("{user_sig}");
                return ExitCode::SUCCESS;
            }
            Err(e) => Cli::command()
                .error(clap::error::ErrorKind::ValueValidation, e)
                .exit(),
        }
    }
    if let Err(e) = config.validate() {
        Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, e)
            .exit();
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    // Both or neither: the command line and `validate` see to it.
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => match tls::load_server_config(cert, key) {
            Ok(tls) => Some(tls),
            Err(e) => {
                error!("cannot serve HTTPS: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let listener = match tokio::net::TcpListener::bind((config.bind, config.port)).await {
        Ok(listener) => listener,
        Err(e) => {
            error!("cannot listen on {}:{}: {e}", config.bind, config.port);
            return ExitCode::FAILURE;
        }
    };
    let history = match History::open(&config.db) {
        Ok(history) => history,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let state = AppState::new(&config).with_history(history.clone());
    let served = match tls {
        Some(tls) => run_tls(listener, tls, state, shutdown_signal()).await,
        None => run(listener, state, shutdown_signal()).await,
    };
    // Writes what the last calls left queued.
    tokio::task::block_in_place(|| history.close());
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("the server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}
