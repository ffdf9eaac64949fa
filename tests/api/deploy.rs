//! Packaging: the Dockerfile (hadolint, and a build where a container engine
//! runs), the systemd unit (`systemd-analyze verify`, with no warning), the
//! Kubernetes manifests (the API's own models, and the fields that matter),
//! `--version`, completions, the man page and `costd health`.

use std::process::Command;

use crate::helpers::{TempDir, costd, emulator_bin, repo};

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

#[test]
fn the_dockerfile_passes_hadolint_and_keeps_its_promises() {
    let out = Command::new(emulator_bin("checkers", "hadolint"))
        .arg(repo().join("Dockerfile"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // The linter can fail: a planted mistake (apt without pinning, cd in RUN) is reported.
    let dir = TempDir::new("deploy-docker");
    let bad = dir.write(
        "Dockerfile",
        "FROM debian:bookworm\nRUN cd /tmp && apt-get install curl\n",
    );
    let planted = Command::new(emulator_bin("checkers", "hadolint"))
        .arg(bad)
        .output()
        .unwrap();
    assert!(!planted.status.success() && String::from_utf8_lossy(&planted.stdout).contains("DL3003"));

    let d = read("Dockerfile");
    let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "multi-stage: {froms:?}");
    assert!(
        d.contains("cargo build --release --locked"),
        "built with the locked dependencies"
    );
    let user = d.lines().rfind(|l| l.starts_with("USER ")).unwrap();
    assert!(!user.contains("root") && !user.contains(" 0"), "{user}");
    assert!(d.contains("HEALTHCHECK") && d.contains("\"health\", \"--url\", \"http://127.0.0.1:8080/healthz\""));
    assert!(read(".dockerignore").lines().any(|l| l == "target/"));
    // A container engine is not on every machine (none on CI's): build only where one runs.
    let engine = Command::new("docker")
        .arg("info")
        .output()
        .is_ok_and(|o| o.status.success());
    if engine {
        let st = Command::new("docker")
            .args(["build", "-t", "costd:test", "."])
            .current_dir(repo())
            .status()
            .unwrap();
        assert!(st.success(), "docker build");
    } else {
        eprintln!("no container engine: the Dockerfile was linted, not built");
    }
}

#[test]
fn the_systemd_unit_verifies_without_a_warning() {
    let unit = read("deploy/systemd/costd.service");
    for setting in [
        "DynamicUser=yes",
        "StateDirectory=costd",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
        "ExecStartPre=/usr/local/bin/costd check --config /etc/costd/costd.toml",
    ] {
        assert!(unit.lines().any(|l| l == setting), "{setting}");
    }
    // Stop timeout above the daemon's 10 s shutdown deadline.
    let stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(stop > 10);
    let Ok(which) = Command::new("systemd-analyze").arg("--version").output() else {
        panic!("systemd-analyze is missing: tests/run.sh installs Debian's systemd package");
    };
    assert!(which.status.success());
    let dir = TempDir::new("deploy-systemd");
    let bin = env!("CARGO_BIN_EXE_costd");
    let verify = |text: &str| {
        let path = dir.write("costd.service", &text.replace("/usr/local/bin/costd", bin));
        let out = Command::new("systemd-analyze")
            .args(["verify"])
            .arg(path)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )
    };
    assert_eq!(verify(&unit), (true, String::new()));
    // The check can fail: a misspelt setting is reported.
    let (_, warnings) = verify(&unit.replace("ProtectSystem=strict", "ProtectSystem=strictly"));
    assert!(warnings.contains("strictly"), "{warnings}");
}

/// Under systemd (`Type=notify`) the daemon says READY=1 once it serves, and
/// STOPPING=1 on SIGTERM, on the socket `$NOTIFY_SOCKET` names.
#[test]
fn the_daemon_notifies_systemd_when_ready_and_when_stopping() {
    let rig = crate::daemon::Rig::new("deploy-notify", true, None);
    let sock_path = rig.dir.0.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let mut d = crate::helpers::Daemon::start_with_env(
        &rig.config,
        rig.dir.0.join("daemon.log"),
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
    );
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("READY=1 within 20 s");
    assert_eq!(&buf[..n], b"READY=1");
    // Ready means serving.
    let addr = crate::daemon::web_address(&d);
    assert_eq!(crate::client::Api { addr }.healthz().0, 200);
    d.terminate();
    let n = sock.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1");
}

#[test]
fn the_kubernetes_manifests_fit_the_api_and_their_config_checks() {
    let manifest = repo().join("deploy/kubernetes/costd-sqlite.yaml");
    let python = emulator_bin("checkers", "python");
    let out = Command::new(&python)
        .arg(repo().join("tests/k8s_check.py"))
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kinds = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        kinds.lines().collect::<Vec<_>>(),
        [
            "ServiceAccount/costd",
            "ConfigMap/costd-config",
            "PersistentVolumeClaim/costd-store",
            "Deployment/costd",
            "Service/costd"
        ]
    );
    let text = std::fs::read_to_string(&manifest).unwrap();
    // The checker can fail: a misspelt probe is dropped by the model, and reported.
    let dir = TempDir::new("deploy-k8s");
    let bad = dir.write("bad.yaml", &text.replace("readinessProbe", "readynessProbe"));
    assert!(
        !Command::new(&python)
            .arg(repo().join("tests/k8s_check.py"))
            .arg(bad)
            .output()
            .unwrap()
            .status
            .success()
    );
    // The fields that matter.
    for needle in [
        "replicas: 1",
        "type: Recreate",
        "path: /healthz",
        "path: /readyz",
        "terminationGracePeriodSeconds: 20",
        "runAsNonRoot: true",
        "eks.amazonaws.com/role-arn:",
        "claimName: costd-store",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
    // The ConfigMap's config is a valid costd config (`costd check` with the secret's variables).
    let toml = configmap_toml(&text);
    let cfg = dir.write("costd.toml", &toml);
    let out = Command::new(env!("CARGO_BIN_EXE_costd"))
        .args(["check", "--config", cfg.to_str().unwrap()])
        .env("COSTD_VIEWER_TOKEN", "viewer-token-0123456789")
        .env("COSTD_OPERATOR_TOKEN", "operator-token-0123456789")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// Two replicas on PostgreSQL: the manifests fit the API, roll one pod at a
/// time, keep one up through disruptions, and the config checks against a
/// real (throw-away) database.
#[test]
fn the_kubernetes_replica_manifests_fit_the_api_and_their_config_checks() {
    let manifest = repo().join("deploy/kubernetes/costd-postgres.yaml");
    let python = emulator_bin("checkers", "python");
    let out = Command::new(&python)
        .arg(repo().join("tests/k8s_check.py"))
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().lines().collect::<Vec<_>>(),
        [
            "ServiceAccount/costd",
            "ConfigMap/costd-config",
            "Deployment/costd",
            "PodDisruptionBudget/costd",
            "Service/costd"
        ]
    );
    let text = std::fs::read_to_string(&manifest).unwrap();
    for needle in [
        "replicas: 2",
        "maxUnavailable: 0",
        "minAvailable: 1",
        "path: /readyz",
        "terminationGracePeriodSeconds: 20",
        "password_env = \"COSTD_STORE_PASSWORD\"",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
    assert!(
        !text.contains("PersistentVolumeClaim"),
        "replicas keep nothing on a volume"
    );
    // The ConfigMap's config checks against a database (the throw-away cluster's, in place of the example host).
    let toml = configmap_toml(&text);
    let example = "postgres://costd@costd-db.example.internal:5432/costd";
    assert!(toml.contains(example), "{toml}");
    let db = costd::store::postgres::testing::shared().fresh_database();
    let dir = TempDir::new("deploy-k8s-pg");
    let cfg = dir.write("costd.toml", &toml.replace(example, db.as_str()));
    let out = Command::new(env!("CARGO_BIN_EXE_costd"))
        .args(["check", "--config", cfg.to_str().unwrap()])
        .env("COSTD_STORE_PASSWORD", "unused-with-trust-auth")
        .env("COSTD_VIEWER_TOKEN", "viewer-token-0123456789")
        .env("COSTD_OPERATOR_TOKEN", "operator-token-0123456789")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("reachable; costd's tables are made at the first start"),
        "{report}"
    );
}

#[test]
fn version_completions_and_the_man_page() {
    let v = String::from_utf8(costd(&["--version"]).stdout).unwrap();
    // The newest effective date among the shipped tables.
    let newest = std::fs::read_dir(repo().join("pricing"))
        .unwrap()
        .flat_map(|e| {
            std::fs::read_to_string(e.unwrap().path())
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|l| {
            l.trim()
                .strip_prefix("effective_date = \"")
                .map(|d| d[..10].to_string())
        })
        .max()
        .unwrap();
    assert!(
        v.starts_with(&format!("costd {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    assert!(v.contains(&format!("price tables of {newest})")), "{v}");
    let bash = costd(&["completions", "bash"]).stdout;
    let dir = TempDir::new("deploy-completions");
    let script = dir.write("costd.bash", &String::from_utf8(bash).unwrap());
    assert!(Command::new("bash").arg("-n").arg(&script).status().unwrap().success());
    assert!(std::fs::read_to_string(&script).unwrap().contains("serve"));
    for shell in ["zsh", "fish"] {
        let out = costd(&["completions", shell]);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("check"),
            "{shell}"
        );
    }
    let man = String::from_utf8(costd(&["man"]).stdout).unwrap();
    assert!(
        man.contains(".TH costd 1") && man.contains("serve") && man.contains("iam\\-policy"),
        "{man}"
    );
    let bad = costd(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn health_answers_0_for_a_running_daemon_and_1_otherwise() {
    let app = crate::web::spawn_app("deploy-health", &|s| s);
    let url = format!("http://{}/healthz", app.addr);
    let ok = costd(&["health", "--url", &url]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let closed = format!("http://127.0.0.1:{}/healthz", crate::helpers::free_port());
    let down = costd(&["health", "--url", &closed, "--timeout", "2"]);
    assert_eq!(down.status.code(), Some(1));
    for out_of_bounds in ["0", "61"] {
        let bad = costd(&["health", "--timeout", out_of_bounds]);
        assert_eq!(
            bad.status.code(),
            Some(2),
            "the timeout's bounds (1–60 s) are a usage error"
        );
    }
    let at_the_limit = costd(&["health", "--url", &url, "--timeout", "60"]);
    assert!(at_the_limit.status.success());
}

/// The `costd.toml` a manifest's ConfigMap holds, unindented.
fn configmap_toml(manifest: &str) -> String {
    manifest
        .split("  costd.toml: |\n")
        .nth(1)
        .expect("a ConfigMap with costd.toml")
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or("")))
        .collect()
}
