//! Build metadata for `costd --version`: the git commit the binary was built
//! from and the newest `effective_date` among the embedded price tables.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=pricing");
    for git in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if std::path::Path::new(git).exists() {
            println!("cargo:rerun-if-changed={git}");
        }
    }
    // A build without .git (a container build context) can pass it in.
    println!("cargo:rerun-if-env-changed=COSTD_GIT_COMMIT");
    let from_env = std::env::var("COSTD_GIT_COMMIT").ok().filter(|c| !c.is_empty());
    let commit = from_env.unwrap_or_else(git_commit);
    println!("cargo:rustc-env=COSTD_GIT_COMMIT={commit}");
    prices_date();
}

fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn prices_date() {
    let mut newest = String::new();
    if let Ok(dir) = std::fs::read_dir("pricing") {
        for entry in dir.flatten() {
            let Ok(text) = std::fs::read_to_string(entry.path()) else {
                continue;
            };
            for line in text.lines() {
                if let Some(rest) = line.trim().strip_prefix("effective_date") {
                    let date: String = rest.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect();
                    if date.len() == 10 && date > newest {
                        newest = date;
                    }
                }
            }
        }
    }
    if newest.is_empty() {
        newest = "unknown".into();
    }
    println!("cargo:rustc-env=COSTD_PRICES_DATE={newest}");
}
