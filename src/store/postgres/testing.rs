//! A throw-away PostgreSQL cluster for tests and proofs: Debian's
//! `postgresql` binaries, `initdb` in a temporary directory, a loopback
//! port, run as an unprivileged user (`postgres` when the caller is root, as
//! `initdb` refuses root). A small watchdog stops it and removes its files
//! once the process that started it has exited, however it exited.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::PgSettings;

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    /// Its loopback port.
    pub port: u16,
    /// Its directory (data, socket, log).
    pub dir: PathBuf,
}

static SHARED: OnceLock<Result<Cluster, String>> = OnceLock::new();

/// The cluster shared by every test in this process, started on first use.
pub fn shared() -> &'static Cluster {
    match SHARED.get_or_init(Cluster::start) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// Where the server binaries are: `COSTD_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout).
pub fn bin_dir() -> Result<PathBuf, String> {
    if let Some(d) = std::env::var_os("COSTD_PG_BIN") {
        return Ok(PathBuf::from(d));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b).ok_or_else(|| {
        "PostgreSQL's server binaries were not found under /usr/lib/postgresql/<version>/bin \
         (install Debian's `postgresql` package, as tests/run.sh does, or set COSTD_PG_BIN)"
            .to_string()
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// `program args…`, as the `postgres` user when we are root.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

impl Cluster {
    /// initdb, start, wait until it accepts connections (at most 60 s).
    pub fn start() -> Result<Cluster, String> {
        let bin = bin_dir()?;
        let dir = std::env::temp_dir().join(format!(
            "costd-pg-{}-{}",
            std::process::id(),
            crate::store::random_hex(4)
        ));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if is_root() {
            let ok = Command::new("chown")
                .arg("postgres:")
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err(format!(
                    "chown postgres: {} failed (is Debian's postgresql installed?)",
                    dir.display()
                ));
            }
        }
        let out = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "costd", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let port = free_port()?;
        let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
        if is_root() {
            let _ = Command::new("chown")
                .arg("postgres:")
                .arg(dir.join("server.log"))
                .status();
        }
        as_server_user(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=500",
                "-c",
                "shared_buffers=32MB",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        // The watchdog: once this process is gone, stop the server and remove its files.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(
                "while kill -0 \"$1\" 2>/dev/null; do sleep 1; done; \
                 kill -INT \"$(head -1 \"$2/postmaster.pid\")\" 2>/dev/null; sleep 5; rm -rf \"$3\"",
            )
            .arg("watchdog")
            .arg(std::process::id().to_string())
            .arg(&data)
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let cluster = Cluster { port, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match cluster.admin("SELECT 1") {
                Ok(()) => return Ok(cluster),
                Err(e) if Instant::now() > deadline => {
                    let log = std::fs::read_to_string(cluster.dir.join("server.log")).unwrap_or_default();
                    return Err(format!("postgres did not start within 60 s: {e}\n{log}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// `postgres://costd@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> url::Url {
        url::Url::parse(&format!("postgres://costd@127.0.0.1:{}/{database}", self.port)).expect("a valid URL")
    }

    /// Runs one statement on the `postgres` database (from a thread of its
    /// own: the client must not be entered from a tokio runtime).
    pub fn admin(&self, sql: &str) -> Result<(), String> {
        let (url, sql) = (self.url("postgres"), sql.to_string());
        std::thread::spawn(move || -> Result<(), String> {
            let mut c = postgres::Client::connect(url.as_str(), postgres::NoTls).map_err(|e| super::describe(&e))?;
            c.batch_execute(&sql).map_err(|e| super::describe(&e))
        })
        .join()
        .map_err(|_| "the admin thread panicked".to_string())?
    }

    /// A new, empty database; its URL.
    pub fn fresh_database(&self) -> url::Url {
        let name = format!("costd_{}", crate::store::random_hex(6));
        self.admin(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        self.url(&name)
    }

    /// Settings for a store on `url`, with short time limits for tests.
    pub fn settings(&self, url: url::Url) -> PgSettings {
        PgSettings {
            url,
            password: None,
            connections: 2,
            call_timeout: Duration::from_secs(10),
        }
    }
}
