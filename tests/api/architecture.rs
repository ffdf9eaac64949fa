//! The module map holds: no import cycle among the crate's top-level modules,
//! the layers point one way (the web server never imports the daemon, the
//! PURE core imports no I/O module and reads no clock), and `lib.rs` names
//! every module. Read from the source, so a new `use` that breaks a rule
//! fails here with the file that added it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src/") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The production part of a file: everything before its `#[cfg(test)]` module.
fn production(src: &str) -> &str {
    src.find("#[cfg(test)]\nmod tests").map_or(src, |i| &src[..i])
}

/// Top-level module names after `crate::` in `src`, including `crate::{a, b::c}` lists.
fn crate_refs(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = src;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            let end = list.find('}').unwrap_or(list.len());
            for part in list[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// module → (module it imports → first file that does).
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut g = Graph::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let entry = g.entry(top.clone()).or_default();
        for m in crate_refs(production(&text)) {
            if m != top {
                entry.entry(m).or_insert_with(|| rel.clone());
            }
        }
    }
    g
}

/// A cycle through `start`, as a path of modules, if there is one.
fn cycle_from(g: &Graph, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((m, path)) = stack.pop() {
        for next in g.get(&m).into_iter().flat_map(|d| d.keys()) {
            if next == start {
                let mut p = path.clone();
                p.push(next.clone());
                return Some(p);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn the_reader_finds_every_import_form() {
    let refs = crate_refs("use crate::{app::App, store};\nlet x = crate::web::f();\nuse crate::{\n    cost,\n};");
    assert_eq!(
        refs.into_iter().collect::<Vec<_>>(),
        ["app", "cost", "store", "web"].map(String::from)
    );
    assert_eq!(production("a\n#[cfg(test)]\nmod tests { crate::x }"), "a\n");
    // The cycle finder finds a planted cycle.
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into(), "a.rs".into());
    g.entry("b".into()).or_default().insert("a".into(), "b.rs".into());
    assert_eq!(cycle_from(&g, "a"), Some(vec!["a".into(), "b".into(), "a".into()]));
}

#[test]
fn no_import_cycle_among_top_level_modules() {
    let g = graph();
    assert!(g.len() > 10, "the source was not found: {g:?}");
    let cycles: Vec<String> = g
        .keys()
        .filter_map(|m| cycle_from(&g, m))
        .map(|path| {
            let hops: Vec<String> = path
                .windows(2)
                .map(|w| format!("{} → {} ({})", w[0], w[1], g[&w[0]][&w[1]]))
                .collect();
            hops.join(", ")
        })
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn layers_point_one_way() {
    let g = graph();
    let imports = |m: &str| {
        g.get(m)
            .map(|d| d.keys().cloned().collect::<BTreeSet<_>>())
            .unwrap_or_default()
    };
    // The web server and the daemon meet only in the composition root.
    assert!(
        !imports("web").contains("daemon"),
        "web imports daemon: {:?}",
        g["web"].get("daemon")
    );
    assert!(!imports("app").contains("daemon") && !imports("app").contains("web"));
    // The PURE core: no store, AWS, web, daemon, app or config.
    for pure in [
        "interval", "cost", "schedule", "budget", "model", "money", "pricing", "traffic",
    ] {
        let bad: Vec<_> = imports(pure)
            .into_iter()
            .filter(|m| ["app", "aws", "config", "daemon", "notify", "store", "web", "cli"].contains(&m.as_str()))
            .collect();
        assert!(bad.is_empty(), "{pure} is PURE but imports {bad:?}: {:?}", g[pure]);
    }
}

#[test]
fn the_pure_core_reads_no_clock() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for dir in ["cost", "schedule", "budget", "traffic"] {
        rust_files(&src.join(dir), &mut files);
    }
    files.extend(["interval.rs", "model.rs", "money.rs"].map(|f| src.join(f)));
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for clock in ["Utc::now", "SystemTime::now", "Instant::now", "Local::now"] {
            assert!(
                !production(&text).contains(clock),
                "{} reads the clock ({clock}); pass the instant in",
                f.display()
            );
        }
    }
}

#[test]
fn lib_rs_maps_every_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(declared.len() > 10, "{declared:?}");
    for m in declared {
        assert!(
            lib.contains(&format!("//! - [`{m}`]")),
            "src/lib.rs declares `{m}` but its module map does not describe it"
        );
    }
}
