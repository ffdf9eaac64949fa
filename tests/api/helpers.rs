//! Shared helpers for the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where Cargo.toml is).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the built `costd` binary with `args`.
pub fn costd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_costd"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run costd")
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `costd-test-<name>-<pid>` under the system temp dir.
    /// Two live directories may not share a name: the second `new` would
    /// wipe the first one's files.
    pub fn new(name: &str) -> Self {
        {
            let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            assert!(
                !live.iter().any(|u| u == name),
                "temp dir name `{name}` is in use; a second one would wipe the first"
            );
            live.push(name.to_string());
        }
        let p = std::env::temp_dir().join(format!("costd-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    /// Writes `contents` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).expect("write temp file");
        p
    }
}

/// The names of the temp dirs alive in this test process.
static LIVE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let dir = self
            .0
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|name| dir != format!("costd-test-{name}-{}", std::process::id()));
    }
}

// ---------------------------------------------------------------------------
// AWS API emulators (moto server for ELBv2), started on loopback per test.

use std::io::{Read, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A program from an emulator's venv, as `tests/run.sh` installs them
/// (`$COSTD_EMULATORS_VENV/<emulator>/bin/<program>`).
pub fn emulator_bin(emulator: &str, name: &str) -> PathBuf {
    let base = std::env::var_os("COSTD_EMULATORS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/emulators"));
    let venv = base.join(emulator);
    let bin = venv.join("bin").join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `bash tests/run.sh` (it installs the AWS emulators into {})",
        bin.display(),
        venv.display()
    );
    bin
}

/// A running moto server; killed when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its address.
    pub addr: SocketAddr,
}

impl Moto {
    /// Starts `moto_server` on a free port and waits until it answers.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Like [`Moto::start`], with environment variables (e.g.
    /// `INITIAL_NO_AUTH_ACTION_COUNT`, after which moto enforces IAM).
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = Command::new(emulator_bin("moto", "moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let m = Moto {
            child,
            url: format!("http://{addr}"),
            addr,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while http(addr, "GET", "/moto-api/", &[], "").is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        m
    }

    /// Subnet IDs and VPC of moto's default VPC in `region`, over EC2's Query API.
    pub fn default_vpc(&self, region: &str) -> (Vec<String>, String, String) {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=x"
        );
        let headers = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        let (_, subnets) = http(
            self.addr,
            "POST",
            "/",
            &headers,
            "Action=DescribeSubnets&Version=2016-11-15",
        )
        .unwrap();
        let (_, sgs) = http(
            self.addr,
            "POST",
            "/",
            &headers,
            "Action=DescribeSecurityGroups&Version=2016-11-15",
        )
        .unwrap();
        let ids = xml_values(&subnets, "subnetId");
        let vpc = xml_values(&subnets, "vpcId").into_iter().next().expect("a default VPC");
        let sg = xml_values(&sgs, "groupId")
            .into_iter()
            .next()
            .expect("a default security group");
        (ids, vpc, sg)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Values of `<tag>…</tag>` in an XML body, in order, deduplicated.
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        let v = after[..j].to_string();
        if !out.contains(&v) {
            out.push(v);
        }
        rest = &after[j..];
    }
    out
}

/// The tests' HTTP client (reqwest): no redirects followed (a test sees the
/// 303), no connection reuse (daemons come and go between requests), a
/// generous read timeout (moto builds its default VPC on the first call,
/// slowly on a loaded machine).
pub fn client() -> &'static reqwest::blocking::Client {
    static CLIENT: std::sync::OnceLock<reqwest::blocking::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client")
    })
}

/// One request to `addr`; returns status and body. Transport failures
/// (refused, timed out) are errors.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), reqwest::Error> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let mut req = client().request(method, format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if !body.is_empty() {
        req = req.body(body.to_string());
    }
    let r = req.send()?;
    let status = r.status().as_u16();
    Ok((status, r.text()?))
}

/// The head every daemon config in these tests shares: `[deployment]`
/// (`name`, us-east-1, UTC, plus `deployment_extra` lines), `[aws]` (the
/// `aws` lines), `[store]`, `[alb]` named `<name>-demo` on moto's default VPC,
/// and `[alb.target_group]` (plus `tg_extra` lines). Callers append the rest.
pub struct DaemonToml<'a> {
    pub name: &'a str,
    pub deployment_extra: &'a str,
    pub aws: &'a str,
    pub store: &'a Path,
    pub tg_extra: &'a str,
}

impl DaemonToml<'_> {
    /// The TOML, with subnets, security group and VPC from `moto`.
    pub fn head(&self, moto: &Moto) -> String {
        let (subnets, vpc, sg) = moto.default_vpc("us-east-1");
        format!(
            r#"
[deployment]
name = "{name}"
region = "us-east-1"
timezone = "UTC"
{deployment_extra}

[aws]
{aws}

[store]
path = "{store}"

[alb]
name_prefix = "{name}-demo"
subnets = ["{s0}", "{s1}"]
security_groups = ["{sg}"]

[alb.target_group]
vpc_id = "{vpc}"
{tg_extra}
"#,
            name = self.name,
            deployment_extra = self.deployment_extra,
            aws = self.aws,
            store = self.store.display(),
            tg_extra = self.tg_extra,
            s0 = subnets[0],
            s1 = subnets[1],
        )
    }
}

/// A TCP proxy in front of an emulator that can be switched off (connections
/// refused) and on again, to simulate an AWS outage without losing state.
pub struct Outage {
    /// Where clients connect.
    pub url: String,
    down: Arc<AtomicBool>,
    stall: Arc<AtomicBool>,
}

impl Outage {
    /// Proxies a free loopback port to `target`.
    pub fn proxy(target: SocketAddr) -> Self {
        Self::proxy_with_latency(target, Duration::ZERO)
    }

    /// Like [`Outage::proxy`], and every request waits `latency` before it is
    /// forwarded, as a real AWS call takes tens of milliseconds where the
    /// emulator answers at once.
    pub fn proxy_with_latency(target: SocketAddr, latency: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let down = Arc::new(AtomicBool::new(false));
        let stall = Arc::new(AtomicBool::new(false));
        let (d, st) = (down.clone(), stall.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if d.load(Ordering::SeqCst) {
                    drop(client); // reset: the emulator is "down"
                    continue;
                }
                if st.load(Ordering::SeqCst) {
                    held.push(client); // accepted, never answered: a call in flight
                    continue;
                }
                let Ok(upstream) = TcpStream::connect(target) else {
                    continue;
                };
                let (mut c1, mut u1) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                let (mut c2, mut u2) = (client, upstream);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    let mut last = None::<Instant>;
                    while let Ok(n @ 1..) = c1.read(&mut buf) {
                        // One wait per request: chunks close together are one request.
                        if last.is_none_or(|t| t.elapsed() > Duration::from_millis(5)) {
                            std::thread::sleep(latency);
                        }
                        last = Some(Instant::now());
                        if u1.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = u1.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut u2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Outage { url, down, stall }
    }

    /// Accept connections but never answer (calls hang until their timeout).
    pub fn stall(&self) {
        self.stall.store(true, Ordering::SeqCst);
    }

    /// Answer again.
    pub fn unstall(&self) {
        self.stall.store(false, Ordering::SeqCst);
    }

    /// Refuse connections from now on.
    pub fn down(&self) {
        self.down.store(true, Ordering::SeqCst);
    }

    /// Forward again.
    pub fn up(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// A `costd serve` child process; SIGKILLed when dropped.
pub struct Daemon {
    child: Child,
    /// Its stderr (logs), captured to a file.
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `costd serve --config <config>` with emulator credentials.
    pub fn start(config: &Path, log: PathBuf) -> Self {
        Self::start_with_env(config, log, &[])
    }

    /// Like [`Daemon::start`], with more environment variables.
    pub fn start_with_env(config: &Path, log: PathBuf, env: &[(&str, &str)]) -> Self {
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_costd"))
            .args(["serve", "--config", config.to_str().unwrap()])
            .envs(env.iter().copied())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info,costd=debug")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start costd serve");
        Daemon { child, log }
    }

    /// Resident memory now (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `secs` for it to exit by itself; its exit status, if it did.
    pub fn wait_exit(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL (kill -9).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for exit; returns how long it took.
    pub fn terminate(&mut self) -> Duration {
        let t0 = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        t0.elapsed()
    }

    /// The log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("---- daemon log {} ----\n{}", self.log.display(), self.logs());
        }
    }
}

/// Polls `f` every 100 ms until it returns `Some`, or panics after `secs`.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A running ministack (CloudWatch in CBOR); killed when dropped.
pub struct Ministack {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Ministack {
    /// Starts ministack on a free loopback port with only CloudWatch, and waits until ready.
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new(emulator_bin("ministack", "ministack"))
            .env("GATEWAY_PORT", port.to_string())
            .env("BIND_HOST", "127.0.0.1")
            .env("SERVICES", "cloudwatch")
            .env("LOG_LEVEL", "WARNING")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ministack");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let m = Ministack {
            child,
            url: format!("http://{addr}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(http(addr, "GET", "/_ministack/health", &[], ""), Ok((200, _))) {
            assert!(Instant::now() < deadline, "ministack did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        m
    }
}

impl Drop for Ministack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP endpoint that records POSTs and answers 200.
pub struct WebhookReceiver {
    /// Bodies received, in order.
    pub bodies: Arc<std::sync::Mutex<Vec<String>>>,
    /// Request heads (request line and headers), in the same order.
    pub heads: Arc<std::sync::Mutex<Vec<String>>>,
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
}

impl WebhookReceiver {
    /// Listens on `port` (0: any free one).
    pub fn start(port: u16) -> Self {
        Self::start_slow(port, Duration::ZERO)
    }

    /// Like [`WebhookReceiver::start`], answering each request only after `delay`
    /// (one connection at a time, like a slow chat service).
    pub fn start_slow(port: u16, delay: Duration) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind webhook receiver");
        let url = format!("http://{}/hook/s3cret-path-token", listener.local_addr().unwrap());
        let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (b, hd) = (bodies.clone(), heads.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                std::thread::sleep(delay);
                let request = read_http_request(&mut conn);
                if let Some((head, body)) = request {
                    hd.lock().unwrap().push(head);
                    b.lock().unwrap().push(body);
                }
                let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        });
        WebhookReceiver { bodies, heads, url }
    }

    /// How many were received.
    pub fn count(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }
}

/// One HTTP request read from `conn`: its head (request line and headers)
/// and its body (by `Content-Length`); `None` if the peer stopped first.
pub fn read_http_request(conn: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if body.len() >= len {
                return Some((head.to_string(), body[..len].to_string()));
            }
        }
    }
}

/// Waits, if need be, until the next `secs` seconds fall inside one UTC
/// clock hour. Under the clock-hour rule (the default), a lifetime of a few
/// seconds bills one hour, but two when it crosses an hour boundary: tests
/// that count billed hours of short windows start clear of one.
pub fn clear_of_an_hour_boundary(secs: u64) {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    let left = 3600 - u64::from(now.minute() * 60 + now.second());
    if left <= secs {
        std::thread::sleep(Duration::from_secs(left + 1));
    }
}

/// A current-thread runtime and an SDK config for an emulator at `url`
/// (region `region`, test credentials): what the tests' own AWS views use.
pub fn emulator_sdk(url: &str, region: &'static str) -> (tokio::runtime::Runtime, aws_config::SdkConfig) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conf = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region))
            .endpoint_url(url)
            .credentials_provider(aws_sdk_elasticloadbalancingv2::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load(),
    );
    (rt, conf)
}

/// Tests whose figures depend on timing (the crash test, the edge under load,
/// the outages) and tests that generate load (hundreds of connections,
/// concurrent model requests) take this lock, so that on a 2-core machine a
/// load generator never runs beside a timing-sensitive test. It changes no
/// assertion; it only keeps them from overlapping.
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A small deterministic PRNG (xorshift64*), so a failing seed can be replayed.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A duration in `[lo, hi)` milliseconds.
    pub fn between_ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

/// The ALB-hours the ledger's deleted lifetimes bill, and the planner's
/// minimum for `windows` planned at `at` with no lead, grace or coalescing:
/// both counted per lifetime (the crash and failover checks).
pub fn ledger_and_planned_hours(
    lifetimes: &[costd::store::Lifetime],
    windows: &[costd::schedule::Interval],
    at: chrono::DateTime<chrono::Utc>,
) -> (i64, i64) {
    use costd::cost::billing::billed_hours;
    use costd::schedule::planner::{DemoWindow, PlannerSettings, plan};
    let ledger = lifetimes
        .iter()
        .filter(|l| l.lb_arn.is_some())
        .map(|l| billed_hours((l.deleted_at.expect("a closed lifetime") - l.created_at).num_seconds()))
        .sum();
    let demo: Vec<DemoWindow> = windows
        .iter()
        .enumerate()
        .map(|(i, w)| DemoWindow {
            id: format!("w{}", i + 1),
            interval: *w,
        })
        .collect();
    let settings = PlannerSettings {
        lead: chrono::Duration::zero(),
        grace: chrono::Duration::zero(),
        coalesce: false,
        lb_usd_per_hour: rust_decimal_macros::dec!(0.0225),
        ipv4_usd_per_hour: rust_decimal_macros::dec!(0.01),
        partial_hour: costd::cost::billing::PartialHour::Lifetime,
    };
    let p = plan(at, &demo, None, &settings);
    let planned = p
        .current
        .iter()
        .chain(p.upcoming.iter())
        .map(|l| billed_hours((l.end - l.start).num_seconds()))
        .sum();
    (ledger, planned)
}

/// A user in `moto`'s IAM with `policy` as its inline policy; its access key
/// id and secret (three IAM calls: moto must leave that many unauthenticated).
pub fn moto_user_keys(moto: &Moto, user: &str, policy: &str) -> (String, String) {
    let script = format!(
        "import boto3, sys\n\
         iam = boto3.client('iam', endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='a', aws_secret_access_key='b')\n\
         iam.create_user(UserName='{user}')\n\
         iam.put_user_policy(UserName='{user}', PolicyName='costd', PolicyDocument=sys.stdin.read())\n\
         k = iam.create_access_key(UserName='{user}')['AccessKey']\n\
         print(k['AccessKeyId'], k['SecretAccessKey'])",
        url = moto.url
    );
    let mut child = Command::new(emulator_bin("moto", "python"))
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(policy.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace();
    (it.next().unwrap().to_string(), it.next().unwrap().to_string())
}
