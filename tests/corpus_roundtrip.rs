//! Every real main.cf and master.cf in tests/data/corpus goes through
//! parse -> set -> remove -> render with only the target lines changing,
//! and real `postconf` agrees with what dhrotate believes at each step.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{norm, postconf, require_postfix, scratch, write_settled};
use dhrotate::postfix::{DH1024, MainCf, MasterCf};

const NEW: &str = "/etc/postfix/dh2048-rotated.pem";

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/corpus")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cf"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "corpus missing: {files:?}");
    files
}

fn lines(b: &[u8]) -> Vec<&[u8]> {
    b.split_inclusive(|&c| c == b'\n').collect()
}

/// Asserts `after` differs from `before` only inside 1-based lines
/// `first..=last` of `before` (which may be replaced by any lines).
fn only_lines_changed(before: &[u8], after: &[u8], first: usize, last: usize, what: &str) {
    let (b, a) = (lines(before), lines(after));
    let head = first - 1;
    let tail = b.len() - last;
    assert_eq!(b[..head], a[..head], "{what}: lines before {first} changed");
    assert!(a.len() >= tail);
    assert_eq!(
        b[b.len() - tail..],
        a[a.len() - tail..],
        "{what}: lines after {last} changed"
    );
}

/// What `postconf FLAG` reports as `name = value` lines (`-n`: what main.cf
/// sets; `-P`: service/type/name of master.cf overrides); `Err(stderr)`
/// when it rejects the file.
fn postconf_map(dir: &Path, flag: &str) -> Result<BTreeMap<String, String>, String> {
    let (ok, out, err) = postconf(dir, &[flag]);
    if !ok {
        return Err(err);
    }
    Ok(out
        .lines()
        .filter_map(|l| {
            l.split_once(" = ")
                .or_else(|| l.strip_suffix(" =").map(|n| (n, "")))
        })
        .map(|(k, v)| (k.to_owned(), norm(v)))
        .collect())
}

fn postconf_n(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    postconf_map(dir, "-n")
}

fn fatal_line(err: &str) -> String {
    err.lines()
        .find(|l| l.contains("fatal"))
        .unwrap_or(err)
        .to_owned()
}

#[test]
fn every_main_cf_round_trips_and_postconf_agrees() {
    require_postfix();
    let dir = scratch("corpus-main");
    write_settled(&dir.join("master.cf"), b"");
    let mut checked_with_postconf = 0;
    for file in corpus("main.cf") {
        let what = file.file_name().unwrap().to_string_lossy().into_owned();
        let original = std::fs::read(&file).unwrap();
        let mut cf = MainCf::parse(&original);
        assert_eq!(
            cf.bytes(),
            original,
            "{what}: parse/render is not the identity"
        );

        write_settled(&dir.join("main.cf"), &original);
        let before = postconf_n(&dir);
        if let Ok(map) = &before {
            checked_with_postconf += 1;
            for (name, value) in map {
                if name == "config_directory" && cf.get(name).is_none() {
                    continue; // postconf reports the -c directory itself
                }
                let ours = cf
                    .get(name)
                    .unwrap_or_else(|| panic!("{what}: postconf sees {name}, dhrotate does not"));
                assert_eq!(norm(&ours.value), *value, "{what}: {name}");
            }
        }

        // set: only the last occurrence's lines (or a new last line) change.
        let had = cf.get(DH1024).cloned();
        cf.set(DH1024, NEW);
        let after_set = cf.bytes().to_vec();
        match &had {
            Some(p) => only_lines_changed(&original, &after_set, p.line, p.last_line, &what),
            None => {
                let mut expect = original.clone();
                if !expect.is_empty() && !expect.ends_with(b"\n") {
                    expect.push(b'\n');
                }
                expect.extend_from_slice(format!("{DH1024} = {NEW}\n").as_bytes());
                assert_eq!(after_set, expect, "{what}: set appended something else");
            }
        }
        assert_eq!(cf.get(DH1024).unwrap().value, NEW);
        write_settled(&dir.join("main.cf"), &after_set);
        match (&before, postconf_n(&dir)) {
            (Ok(_), Ok(map)) => {
                assert_eq!(map.get(DH1024).map(String::as_str), Some(NEW), "{what}")
            }
            (Err(e1), Err(e2)) => assert_eq!(
                fatal_line(e1).split(':').nth(2),
                fatal_line(&e2).split(':').nth(2),
                "{what}"
            ),
            (b, a) => panic!("{what}: postconf changed its mind: before {b:?}, after {a:?}"),
        }

        // remove: every occurrence goes, nothing else does.
        cf.remove(DH1024);
        assert!(cf.get(DH1024).is_none());
        let after_remove = cf.bytes().to_vec();
        if had.is_none() {
            let mut expect = original.clone();
            if !expect.is_empty() && !expect.ends_with(b"\n") {
                expect.push(b'\n');
            }
            assert_eq!(
                after_remove, expect,
                "{what}: set then remove is not the identity"
            );
        } else {
            let mut orig = MainCf::parse(&original);
            orig.remove(DH1024);
            assert_eq!(after_remove, orig.bytes(), "{what}");
            let removed: Vec<_> = lines(&original)
                .into_iter()
                .filter(|l| !lines(&after_remove).contains(l))
                .collect();
            assert!(!removed.is_empty(), "{what}");
        }
        write_settled(&dir.join("main.cf"), &after_remove);
        if let (Ok(map_before), Ok(map)) = (&before, postconf_n(&dir)) {
            assert!(!map.contains_key(DH1024), "{what}");
            let mut expect = map_before.clone();
            expect.remove(DH1024);
            assert_eq!(map, expect, "{what}: removing changed other parameters");
            assert_eq!(map.get(DH1024), None);
        }
    }
    assert!(
        checked_with_postconf >= 8,
        "postconf parsed only {checked_with_postconf} files"
    );
}

fn postconf_p(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    postconf_map(dir, "-P")
}

fn ours_p(m: &MasterCf) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for s in m.services() {
        for o in &s.overrides {
            map.insert(format!("{}/{}", s.key(), o.name), norm(&o.value));
        }
    }
    map
}

#[test]
fn every_master_cf_round_trips_and_postconf_agrees() {
    require_postfix();
    let dir = scratch("corpus-master");
    write_settled(&dir.join("main.cf"), b"");
    let mut edits = 0;
    let mut checked_with_postconf = 0;
    for file in corpus("master.cf") {
        let what = file.file_name().unwrap().to_string_lossy().into_owned();
        let original = std::fs::read(&file).unwrap();
        let parsed = MasterCf::parse(&original);
        assert_eq!(
            parsed.bytes(),
            original,
            "{what}: parse/render is not the identity"
        );
        write_settled(&dir.join("master.cf"), &original);
        let before = postconf_p(&dir);
        if let Ok(map) = &before {
            checked_with_postconf += 1;
            assert_eq!(
                ours_p(&parsed),
                *map,
                "{what}: overrides differ from postconf -P"
            );
        }
        for svc in parsed.services() {
            let key = svc.key();
            let label = format!("{what} {key} (line {})", svc.line);
            let mut m = parsed.clone();
            let had = svc.get(DH1024).is_some();
            m.set(&key, DH1024, NEW).unwrap();
            let after_set = m.bytes().to_vec();
            // Lines outside the entry do not change (a new line may follow its last line).
            only_lines_changed(&original, &after_set, svc.line, svc.last_line, &label);
            assert_eq!(
                m.service(&key).unwrap().get(DH1024).unwrap().value,
                NEW,
                "{label}"
            );
            write_settled(&dir.join("master.cf"), &after_set);
            // postconf sleeps a second after a fatal error; ask it only
            // about files it could parse to begin with.
            if let Ok(map_before) = &before {
                let map = postconf_p(&dir)
                    .unwrap_or_else(|e| panic!("{label}: postconf rejects the edit: {e}"));
                let mut expect = map_before.clone();
                expect.insert(format!("{key}/{DH1024}"), NEW.into());
                // Duplicate service entries: postconf and we both use the last.
                if parsed.services().iter().filter(|s| s.key() == key).count() == 1 {
                    assert_eq!(map, expect, "{label}: postconf -P after set");
                }
                assert_eq!(
                    ours_p(&m),
                    map,
                    "{label}: dhrotate and postconf disagree after set"
                );
            }
            m.remove(&key, DH1024).unwrap();
            if !had {
                assert_eq!(
                    m.bytes(),
                    original,
                    "{label}: set then remove is not the identity"
                );
            }
            assert!(m.service(&key).unwrap().get(DH1024).is_none());
            write_settled(&dir.join("master.cf"), m.bytes());
            if before.is_ok() {
                let map = postconf_p(&dir)
                    .unwrap_or_else(|e| panic!("{label}: postconf rejects the edit: {e}"));
                assert!(!map.contains_key(&format!("{key}/{DH1024}")), "{label}");
                assert_eq!(
                    ours_p(&m),
                    map,
                    "{label}: dhrotate and postconf disagree after remove"
                );
            }
            edits += 1;
        }
    }
    assert!(edits >= 100, "only {edits} service edits");
    assert!(
        checked_with_postconf >= 8,
        "postconf parsed only {checked_with_postconf} files"
    );
}
