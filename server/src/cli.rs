//! The binary's command line: serving (the default, with the flags of [`Config`]) or an
//! operator's command.
//!
//! ```text
//! webcall-server [FLAGS]                                   serve
//! webcall-server [FLAGS] usersig --user alice [--expire 86400]   print a UserSig for alice
//! ```

use clap::{Args, Parser, Subcommand};
use webcall_protocol::validate_user_id;

use crate::{Config, UserSigKey};

/// The longest validity `usersig --expire` accepts: ten years, in seconds.
pub const MAX_USERSIG_COMMAND_EXPIRE_SECS: u64 = 10 * 365 * 86_400;

/// The whole command line: the server's [`Config`] and, optionally, a command to run instead of
/// serving.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    name = "webcall-server",
    version,
    about = "WebCall signaling server",
    long_about = None
)]
pub struct Cli {
    /// The server's flags.
    #[command(flatten)]
    pub config: Config,

    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The operators' commands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Print a UserSig for a user, then exit.
    ///
    /// The UserSig is signed with the server's secret key (--secret-key / WEBCALL_SECRET_KEY)
    /// for its SDKAppID (--sdk-app-id / WEBCALL_SDK_APP_ID), and printed alone on one line of
    /// stdout.
    Usersig(UserSigArgs),
}

/// The flags of `webcall-server usersig`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct UserSigArgs {
    /// The user ID the UserSig is for.
    #[arg(long, value_name = "USER_ID")]
    pub user: String,

    /// How long the UserSig stays valid, in seconds [default: --usersig-expire-secs].
    #[arg(
        long,
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=MAX_USERSIG_COMMAND_EXPIRE_SECS),
    )]
    pub expire: Option<u64>,

    /// The secret key to sign with, instead of the server's --secret-key / WEBCALL_SECRET_KEY.
    #[arg(long)]
    pub secret_key: Option<String>,

    /// The SDKAppID, instead of the server's --sdk-app-id / WEBCALL_SDK_APP_ID.
    #[arg(long)]
    pub sdk_app_id: Option<u32>,
}

/// Why `webcall-server usersig` issued nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSigCommandError {
    /// No secret key is configured: a UserSig from a made-up key would not log in anywhere.
    #[error(
        "no secret key: pass --secret-key or set WEBCALL_SECRET_KEY to the key the server \
         verifies UserSigs with"
    )]
    NoSecretKey,
    /// The user ID is not one the server accepts.
    #[error("invalid user ID {user:?}: {reason}")]
    BadUserId { user: String, reason: String },
}

/// The UserSig that `webcall-server usersig` prints: for `args.user`, valid from `now` (Unix
/// seconds) for `args.expire` seconds (or the config's `usersig_expire_secs`), signed with the
/// secret key and SDKAppID of `args`, else of `config`.
pub fn usersig_command(
    config: &Config,
    args: &UserSigArgs,
    now: u64,
) -> Result<String, UserSigCommandError> {
    let secret = args
        .secret_key
        .as_deref()
        .or(config.secret_key.as_deref())
        .filter(|key| !key.is_empty())
        .ok_or(UserSigCommandError::NoSecretKey)?;
    validate_user_id(&args.user).map_err(|e| UserSigCommandError::BadUserId {
        user: args.user.clone(),
        reason: e.to_string(),
    })?;
    let sdk_app_id = args.sdk_app_id.unwrap_or(config.sdk_app_id);
    let expire = args.expire.unwrap_or(config.usersig_expire_secs);
    Ok(UserSigKey::new(sdk_app_id, secret).issue(&args.user, expire, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_SDK_APP_ID, DEFAULT_USERSIG_EXPIRE_SECS};
    use crate::UserSigError;

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn serving_is_the_default() {
        let cli = Cli::try_parse_from(["webcall-server"]).unwrap();
        assert_eq!(
            cli,
            Cli {
                config: Config::default(),
                command: None
            }
        );
        let cli = Cli::try_parse_from(["webcall-server", "--port", "9000", "--strict"]).unwrap();
        assert_eq!(cli.command, None);
        assert_eq!(cli.config.port, 9000);
        assert!(cli.config.strict);
    }

    #[test]
    fn usersig_command_parses() {
        let cli = Cli::try_parse_from([
            "webcall-server",
            "--secret-key",
            "k",
            "usersig",
            "--user",
            "alice",
            "--expire",
            "86400",
        ])
        .unwrap();
        assert_eq!(cli.config.secret_key.as_deref(), Some("k"));
        assert_eq!(
            cli.command,
            Some(Command::Usersig(UserSigArgs {
                user: "alice".into(),
                expire: Some(86_400),
                secret_key: None,
                sdk_app_id: None,
            }))
        );
        let cli = Cli::try_parse_from([
            "webcall-server",
            "usersig",
            "--user",
            "bob",
            "--secret-key",
            "s",
            "--sdk-app-id",
            "1400000001",
        ])
        .unwrap();
        let Some(Command::Usersig(args)) = cli.command else {
            panic!("no usersig command");
        };
        assert_eq!(args.secret_key.as_deref(), Some("s"));
        assert_eq!(args.sdk_app_id, Some(1_400_000_001));
        assert_eq!(args.expire, None);
        // The user is required; the validity is bounded.
        assert!(Cli::try_parse_from(["webcall-server", "usersig"]).is_err());
        for expire in ["0", "315360001", "-1", "x"] {
            assert!(
                Cli::try_parse_from([
                    "webcall-server",
                    "usersig",
                    "--user",
                    "a",
                    "--expire",
                    expire
                ])
                .is_err(),
                "{expire}"
            );
        }
    }

    #[test]
    fn usersig_command_signs_with_the_configured_key() {
        let config = Config {
            secret_key: Some("k".into()),
            ..Config::default()
        };
        let args = UserSigArgs {
            user: "alice".into(),
            expire: Some(600),
            secret_key: None,
            sdk_app_id: None,
        };
        let sig = usersig_command(&config, &args, NOW).unwrap();
        let info = UserSigKey::new(DEFAULT_SDK_APP_ID, "k")
            .verify("alice", &sig, NOW)
            .unwrap();
        assert_eq!((info.time, info.expire), (NOW, 600));

        // The default validity is the server's, and the command's own key and app win.
        let args = UserSigArgs {
            expire: None,
            secret_key: Some("other".into()),
            sdk_app_id: Some(7),
            ..args
        };
        let sig = usersig_command(&config, &args, NOW).unwrap();
        let info = UserSigKey::new(7, "other")
            .verify("alice", &sig, NOW)
            .unwrap();
        assert_eq!(info.expire, DEFAULT_USERSIG_EXPIRE_SECS);
        assert_eq!(
            UserSigKey::new(DEFAULT_SDK_APP_ID, "k").verify("alice", &sig, NOW),
            Err(UserSigError::BadSignature)
        );
    }

    #[test]
    fn usersig_command_refuses_without_key_or_with_bad_user() {
        let args = UserSigArgs {
            user: "alice".into(),
            expire: None,
            secret_key: None,
            sdk_app_id: None,
        };
        for secret_key in [None, Some(String::new())] {
            let config = Config {
                secret_key,
                ..Config::default()
            };
            assert_eq!(
                usersig_command(&config, &args, NOW),
                Err(UserSigCommandError::NoSecretKey)
            );
        }
        let config = Config {
            secret_key: Some("k".into()),
            ..Config::default()
        };
        for user in ["", "a b", &"x".repeat(1000)] {
            let args = UserSigArgs {
                user: user.into(),
                ..args.clone()
            };
            assert!(
                matches!(
                    usersig_command(&config, &args, NOW),
                    Err(UserSigCommandError::BadUserId { .. })
                ),
                "{user:?}"
            );
        }
    }
}
