//! `[store]`: where costd keeps what it must not forget. A SQLite file
//! (`path`, the embedded default: one daemon per file) or a PostgreSQL
//! database (`url`: any number of replicas, one leader at a time).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::input::{InputError, Value};
use crate::store::postgres::PgSettings;

/// The leader lease of replicas on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    /// How long a lease lasts unless renewed (`lease_ttl_seconds`, 3–300, default 10).
    /// A dead leader is replaced within this, plus one renewal interval.
    pub ttl: Duration,
}

impl LeaseConfig {
    /// Renewals are sent every quarter of the TTL.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 4
    }

    /// A leader's right to act ends this long before its lease could run out
    /// (a fifth of the TTL): room for clock rates and the last call in flight.
    pub fn margin(&self) -> Duration {
        self.ttl / 5
    }
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig {
            ttl: Duration::from_secs(10),
        }
    }
}

/// Where the store is.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    /// A SQLite file.
    Sqlite {
        /// The file.
        path: PathBuf,
    },
    /// A PostgreSQL database shared by replicas.
    Postgres {
        /// How to reach it.
        settings: PgSettings,
        /// The leader lease.
        lease: LeaseConfig,
    },
}

impl StoreConfig {
    /// For logs and errors: the file, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            StoreConfig::Sqlite { path } => path.display().to_string(),
            StoreConfig::Postgres { settings, .. } => settings.display_url(),
        }
    }

    /// The SQLite file, if that is the store.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            StoreConfig::Sqlite { path } => Some(path),
            StoreConfig::Postgres { .. } => None,
        }
    }
}

/// A PostgreSQL URL as costd takes it: `postgres://` or `postgresql://`, a
/// host, and no password (that comes from the environment).
pub fn parse_url(s: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(s).map_err(|e| format!("`{s}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "postgres" | "postgresql") {
        return Err(format!("the scheme is `{}`, not postgres", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it names no host".into());
    }
    if url.password().is_some() {
        return Err(
            "it holds a password; put it in the environment (`password_env`, or COSTD_STORE_PASSWORD with --store)"
                .into(),
        );
    }
    Ok(url)
}

/// The environment variable `--store` reads a PostgreSQL password from.
pub const STORE_PASSWORD_ENV: &str = "COSTD_STORE_PASSWORD";

impl StoreConfig {
    /// `--store`: a `postgres://…` URL (password from `COSTD_STORE_PASSWORD`
    /// when set; defaults for the rest) or a SQLite file path.
    pub fn from_flag(value: &str) -> Result<StoreConfig, String> {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Ok(StoreConfig::Postgres {
                settings: PgSettings {
                    url: parse_url(value)?,
                    password: std::env::var(STORE_PASSWORD_ENV).ok(),
                    connections: DEFAULT_CONNECTIONS as usize,
                    call_timeout: Duration::from_secs(u64::from(DEFAULT_CALL_TIMEOUT_SECONDS)),
                },
                lease: LeaseConfig::default(),
            })
        } else if value.is_empty() || value.len() > 4096 {
            Err("a postgres:// URL or a file path of 1–4096 characters".into())
        } else {
            Ok(StoreConfig::Sqlite {
                path: PathBuf::from(value),
            })
        }
    }
}

const DEFAULT_CONNECTIONS: u32 = 4;
const DEFAULT_CALL_TIMEOUT_SECONDS: u32 = 10;

/// `[store]`: `path = "costd.db"` (relative to the config file), or
/// `url = "postgres://user@host:5432/db"` with `password_env`,
/// `connections` (1–32), `call_timeout_seconds` (1–60) and
/// `lease_ttl_seconds` (3–300).
pub(super) fn parse(v: Option<Value>, base: &Path, secrets: super::Secrets) -> Result<StoreConfig, InputError> {
    let Some(v) = v else {
        return Ok(StoreConfig::Sqlite {
            path: base.join("costd.db"),
        });
    };
    let t = v.table()?;
    let store = match (t.get("path"), t.get("url")) {
        (Some(p), None) => StoreConfig::Sqlite {
            path: base.join(p.str()?),
        },
        (None, Some(u)) => {
            let url = u
                .r()
                .parse_with("a postgres://user@host:5432/database URL", parse_url)?;
            let password = match t.get("password_env") {
                Some(p) => {
                    let var = p.str()?;
                    match (std::env::var(&var), secrets) {
                        (Ok(s), _) => Some(s),
                        (Err(_), super::Secrets::Optional) => None,
                        (Err(_), super::Secrets::Required) => {
                            return Err(p.error(format!("environment variable {var} is not set")));
                        }
                    }
                }
                None => None,
            };
            let connections = t
                .get("connections")
                .map(|c| c.u32_in(1, 32))
                .transpose()?
                .unwrap_or(DEFAULT_CONNECTIONS);
            let call_timeout = t
                .get("call_timeout_seconds")
                .map(|c| c.u32_in(1, 60))
                .transpose()?
                .unwrap_or(DEFAULT_CALL_TIMEOUT_SECONDS);
            let ttl = t
                .get("lease_ttl_seconds")
                .map(|c| c.u32_in(3, 300))
                .transpose()?
                .map_or(LeaseConfig::default().ttl, |s| Duration::from_secs(u64::from(s)));
            StoreConfig::Postgres {
                settings: PgSettings {
                    url,
                    password,
                    connections: connections as usize,
                    call_timeout: Duration::from_secs(u64::from(call_timeout)),
                },
                lease: LeaseConfig { ttl },
            }
        }
        _ => {
            return Err(t.error(
                "path",
                "give exactly one of `path` (a SQLite file) or `url` (postgres://user@host:5432/database)",
            ));
        }
    };
    if let StoreConfig::Sqlite { .. } = store {
        for key in [
            "password_env",
            "connections",
            "call_timeout_seconds",
            "lease_ttl_seconds",
        ] {
            if let Some(k) = t.get(key) {
                return Err(k.error(format!("`{key}` is for a PostgreSQL store (`url`), not a SQLite file")));
            }
        }
    }
    t.finish()?;
    Ok(store)
}
