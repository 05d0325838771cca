//! The layers of docs/DESIGN.md, checked on the source itself: every
//! `use` and every path in src/ is parsed (syn), resolved to the module it
//! names, and the module graph must
//!
//! - point one way: cli -> testbed -> ops -> config -> domain (postfix,
//!   dh, guidelines, probe, audit) -> sys -> error, never upwards;
//! - never reach into `cli` from outside it (only main.rs and cli itself);
//! - inside `ops`, point one way between its actors too: service ->
//!   rotate -> inspect -> the parts they share (mode, instances);
//! - have no cycle between modules.
//!
//! A child using its parent's items (`super::X`) is how Rust modules are
//! built and is not an edge; everything else is. Run it alone with
//! `cargo test --test architecture -- --nocapture` to see the graph's size.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Rank of a top-level module: an edge may only go to the same rank (the
/// same layer) or lower.
fn rank(module: &str) -> u8 {
    match top(module) {
        "main" => 7,
        "cli" => 6,
        "testbed" => 5,
        "ops" => 4,
        "config" => 3,
        "postfix" | "dh" | "guidelines" | "probe" | "audit" => 2,
        "sys" => 1,
        "error" => 0,
        // lib.rs only declares the modules.
        "crate" => 8,
        other => panic!("module {other} has no layer: add it to docs/DESIGN.md and here"),
    }
}

fn top(module: &str) -> &str {
    let mut parts = module.split("::");
    match (parts.next(), parts.next()) {
        (Some("crate"), Some(t)) => t,
        (Some(first), _) => first,
        _ => "",
    }
}

/// `crate::a::b` for src/a/b.rs and src/a/b/mod.rs; `main` for main.rs.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    if parts == ["main"] {
        return "main".into();
    }
    std::iter::once("crate".to_owned())
        .chain(parts)
        .collect::<Vec<_>>()
        .join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every path a file names, as segment lists (use trees expanded).
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl Paths {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.0.push(full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                self.0.push(full);
            }
            syn::UseTree::Glob(_) => self.0.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.0
            .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, p);
    }
}

/// The module a path names, or `None` when it is not a path into this crate.
fn resolve(from: &str, path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    let mut base: Vec<String> = from.split("::").map(str::to_owned).collect();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") | Some("dhrotate") => {
            base = vec!["crate".into()];
            rest = &rest[1..];
        }
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        Some("self") => rest = &rest[1..],
        // A name imported by a `use`, which is counted there, or a path
        // into another crate.
        _ => return None,
    }
    let mut best = None;
    let mut cur = base.clone();
    if modules.contains(&cur.join("::")) {
        best = Some(cur.join("::"));
    }
    for seg in rest {
        cur.push(seg.clone());
        let m = cur.join("::");
        if modules.contains(&m) {
            best = Some(m);
        } else {
            break;
        }
    }
    best
}

fn is_ancestor(a: &str, b: &str) -> bool {
    b.starts_with(a) && b[a.len()..].starts_with("::")
}

struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    /// The graph between folders and files one level below the crate root
    /// (`probe`, `dh`), one line per source with what it uses: the
    /// picture a reader needs, printed by `--nocapture`.
    fn folders(&self) -> String {
        fn unit(m: &str) -> String {
            m.split("::").skip(1).take(2).collect::<Vec<_>>().join("::")
        }
        let mut by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, tos) in &self.edges {
            for to in tos {
                let (f, t) = (unit(from), unit(to));
                if top(&f) != top(&t) || (top(&f) == "ops" && f != t) {
                    by.entry(f).or_default().insert(t);
                }
            }
        }
        by.iter()
            .map(|(f, ts)| {
                format!(
                    "{f} -> {}",
                    ts.iter().cloned().collect::<Vec<_>>().join(" ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&src, f))
        .chain(["crate".to_owned()])
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let from = module_of(&src, f);
        let text = std::fs::read_to_string(f).unwrap();
        let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let mut paths = Paths::default();
        paths.visit_file(&ast);
        let out = edges.entry(from.clone()).or_default();
        for p in &paths.0 {
            let Some(to) = resolve(&from, p, &modules) else {
                continue;
            };
            if to != from && !is_ancestor(&to, &from) && to != "crate" {
                out.insert(to);
            }
        }
    }
    Graph { edges }
}

#[test]
fn layers_point_one_way() {
    let g = graph();
    let mut wrong = Vec::new();
    let mut n = 0;
    for (from, tos) in &g.edges {
        for to in tos {
            n += 1;
            if rank(to) > rank(from) {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    eprintln!("{} modules, {n} edges between them", g.edges.len());
    eprintln!("{}", g.folders());
    assert!(
        wrong.is_empty(),
        "edges pointing upwards:\n{}",
        wrong.join("\n")
    );
}

/// Rank of a module inside `ops`, by actor (docs/DESIGN.md): what runs
/// unattended uses rotations, a rotation verifies through what inspects,
/// and all of them share the mode decision and the instances. `None`
/// outside `ops`.
fn ops_rank(module: &str) -> Option<u8> {
    let rest = module.strip_prefix("crate::ops")?;
    let actor = rest
        .strip_prefix("::")
        .map_or("", |r| r.split("::").next().unwrap_or(""));
    Some(match actor {
        "service" => 3,
        "rotate" => 2,
        "inspect" => 1,
        // mod.rs (exit codes, the system Postfix), mode.rs, instances.rs.
        "" | "mode" | "instances" => 0,
        other => panic!("ops::{other} has no actor: add it to docs/DESIGN.md and here"),
    })
}

#[test]
fn ops_actors_point_one_way() {
    let g = graph();
    let wrong: Vec<String> = g
        .edges
        .iter()
        .flat_map(|(from, tos)| tos.iter().map(move |to| (from, to)))
        .filter(|(from, to)| matches!((ops_rank(from), ops_rank(to)), (Some(a), Some(b)) if b > a))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "ops actors using the actors above them:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn nothing_outside_cli_and_main_uses_cli() {
    let g = graph();
    let wrong: Vec<String> = g
        .edges
        .iter()
        .filter(|(from, _)| !matches!(top(from), "cli" | "main"))
        .flat_map(|(from, tos)| {
            tos.iter()
                .filter(|to| top(to) == "cli")
                .map(move |to| format!("{from} -> {to}"))
        })
        .collect();
    assert!(wrong.is_empty(), "imports from cli:\n{}", wrong.join("\n"));
}

#[test]
fn no_module_cycle() {
    let g = graph();
    // Depth-first search; a back edge is a cycle, printed as its path.
    fn visit(
        m: &str,
        g: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(m.to_owned(), 1);
        stack.push(m.to_owned());
        for to in g.edges.get(m).into_iter().flatten() {
            match state.get(to.as_str()).copied().unwrap_or(0) {
                0 => visit(to, g, state, stack, cycles),
                1 => {
                    let at = stack.iter().position(|s| s == to).unwrap();
                    cycles.push(format!("{} -> {to}", stack[at..].join(" -> ")));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_owned(), 2);
    }
    let mut state = BTreeMap::new();
    let mut cycles = Vec::new();
    for m in g.edges.keys() {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0 {
            visit(m, &g, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_checker_sees_a_planted_violation() {
    // The checks above must be able to fail: an ops module naming the CLI
    // resolves to an upward edge into cli.
    let modules: BTreeSet<String> = ["crate", "crate::cli", "crate::cli::now", "crate::ops"]
        .map(str::to_owned)
        .into();
    let path: Vec<String> = ["crate", "cli", "now", "run"].map(str::to_owned).into();
    let to = resolve("crate::ops", &path, &modules).unwrap();
    assert_eq!(to, "crate::cli::now");
    assert!(rank(&to) > rank("crate::ops"));
    let sup: Vec<String> = ["super", "super", "cli", "Cli"].map(str::to_owned).into();
    assert_eq!(
        resolve("crate::ops::rotate", &sup, &modules).as_deref(),
        Some("crate::cli")
    );
}
