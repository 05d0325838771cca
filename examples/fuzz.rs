//! A mutation fuzzer that runs on the stable toolchain (cargo-fuzz needs
//! nightly): seeds from real files, random byte- and token-level mutations,
//! and for every input the properties the code promises, not just "does not
//! panic". A failing input is written to `fuzz/crashes/TARGET-N` and becomes
//! a regression test by copying it to `tests/data/fuzz-regressions/TARGET/`.
//!
//!   cargo run --release --example fuzz -- TARGET SECONDS [SEED]
//!   cargo run --release --example fuzz -- TARGET 0 FILE...   (replay inputs)
//!
//! Targets: maincf, mastercf, pem, logline, config. `fuzz/run.sh` runs them all.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dhrotate::postfix::{MainCf, MasterCf};

/// A property check: `Err(why)` is a finding.
type Check = dyn Fn(&[u8]) -> Result<(), String>;

/// xorshift64*: fast, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tokens that matter to the parsers, inserted whole.
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b"#",
    b"=",
    b" = ",
    b"\0",
    b"\xff",
    b"\xc3\x28",
    b"-o ",
    b"-o{",
    b" { ",
    b" } ",
    b"{",
    b"}",
    b"\n  ",
    b"\n\t",
    b"$",
    b"${",
    b"$(",
    b"smtpd_tls_dh1024_param_file",
    b"smtpd_tls_dh512_param_file",
    b"submission inet n - y - - smtpd\n",
    b"-----BEGIN DH PARAMETERS-----\n",
    b"-----END DH PARAMETERS-----\n",
    b"-----BEGIN X9.42 DH PARAMETERS-----\n",
    b"postfix/smtpd[123]: ",
    b"TLS connection established from ",
    b"Anonymous TLS connection established to ",
    b": TLSv1.3 with cipher ",
    b" (256/256 bits) key-exchange X25519",
    b"Received: from ",
    b"\n\twith ESMTPS",
    b"[[group]]\n",
    b"bits = ",
    b"name = \"",
    b"[schedule]\n",
    b"cron = \"",
    b"\"",
    b"2048",
    b"99999999999999999999",
    b"-1",
    b"use = [\"main.cf\"]",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..1 + rng.below(8) {
        let len = input.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let b = rng.next() as u8;
                input.insert(rng.below(len + 1), b);
            }
            2 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                input.drain(a..b);
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(256)).min(len);
                let chunk = input[a..b].to_vec();
                let at = rng.below(input.len() + 1);
                input.splice(at..at, chunk);
            }
            4 | 5 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(len + 1);
                input.splice(at..at, t.iter().copied());
            }
            _ if !other.is_empty() => {
                let a = rng.below(other.len());
                let b = (a + 1 + rng.below(512)).min(other.len());
                let at = rng.below(len + 1);
                input.splice(at..at, other[a..b].iter().copied());
            }
            _ => {}
        }
    }
    input.truncate(1 << 16);
}

fn lines(b: &[u8]) -> Vec<&[u8]> {
    b.split_inclusive(|&c| c == b'\n').collect()
}

/// `after` equals `before` outside 1-based lines `first..=last` of `before`.
fn same_outside(before: &[u8], after: &[u8], first: usize, last: usize) -> Result<(), String> {
    let (b, a) = (lines(before), lines(after));
    let head = first.saturating_sub(1).min(b.len());
    let tail = b.len().saturating_sub(last);
    if a.len() < head + tail || b[..head] != a[..head] || b[b.len() - tail..] != a[a.len() - tail..]
    {
        return Err(format!("bytes outside lines {first}..={last} changed"));
    }
    Ok(())
}

fn check_maincf(data: &[u8]) -> Result<(), String> {
    let cf = MainCf::parse(data);
    if cf.bytes() != data {
        return Err("parse/render is not the identity".into());
    }
    let names: Vec<String> = cf.params().iter().map(|p| p.name.clone()).collect();
    for name in names
        .iter()
        .take(3)
        .chain(std::iter::once(&"smtpd_tls_dh1024_param_file".to_string()))
    {
        let before = cf.get(name).cloned();
        let mut edited = cf.clone();
        edited.set(name, "/etc/postfix/dh2048.pem");
        let got = edited.get(name).map(|p| p.value.clone());
        if got.as_deref() != Some("/etc/postfix/dh2048.pem") {
            return Err(format!("set {name}: reads back {got:?}"));
        }
        match &before {
            Some(p) if p.value != "/etc/postfix/dh2048.pem" => {
                same_outside(data, edited.bytes(), p.line, p.last_line)?
            }
            Some(_) => {}
            None => {
                // Appended: the original is a prefix (up to a final newline),
                // and removing it again gives the original back.
                let body = data.strip_suffix(b"\n").unwrap_or(data);
                if !edited.bytes().starts_with(body) {
                    return Err(format!("set {name} (new) changed existing bytes"));
                }
                let mut back = edited.clone();
                back.remove(name);
                if cf.count(name) == 0 && back.get(name).is_some() {
                    return Err(format!("remove {name} left it set"));
                }
            }
        }
        // Every other parameter keeps its value.
        for p in cf.params().iter().filter(|p| &p.name != name) {
            let now = edited.get(&p.name).map(|q| q.value.as_str());
            if cf.get(&p.name).map(|q| q.value.as_str()) != now {
                return Err(format!("set {name} changed {}", p.name));
            }
        }
        let mut removed = cf.clone();
        removed.remove(name);
        if removed.get(name).is_some() {
            return Err(format!("remove {name} left it set"));
        }
    }
    Ok(())
}

fn check_mastercf(data: &[u8]) -> Result<(), String> {
    let cf = MasterCf::parse(data);
    if cf.bytes() != data {
        return Err("parse/render is not the identity".into());
    }
    let keys: Vec<String> = cf.services().iter().map(|s| s.key()).collect();
    for key in keys.iter().take(4) {
        let svc = cf.service(key).expect("listed").clone();
        let mut edited = cf.clone();
        if edited
            .set(key, "smtpd_tls_dh1024_param_file", "/etc/postfix/dh.pem")
            .is_ok()
        {
            let after = edited.service(key).ok_or("service vanished after set")?;
            let got = after
                .get("smtpd_tls_dh1024_param_file")
                .map(|o| o.value.clone());
            if got.as_deref() != Some("/etc/postfix/dh.pem") {
                return Err(format!("set on {key}: reads back {got:?}"));
            }
            same_outside(data, edited.bytes(), svc.line, svc.last_line)?;
            // Every other entry keeps its overrides (names and values;
            // their byte offsets move, of course).
            let pairs = |s: &dhrotate::postfix::mastercf::Service| -> Vec<(String, String)> {
                s.overrides
                    .iter()
                    .map(|o| (o.name.clone(), o.value.clone()))
                    .collect()
            };
            for other in cf.services().iter().filter(|s| &s.key() != key) {
                let now = edited.service(&other.key()).map(pairs);
                let unique = keys.iter().filter(|k| *k == &other.key()).count() == 1;
                if unique && Some(pairs(other)) != now {
                    return Err(format!("set on {key} changed {}", other.key()));
                }
            }
        }
        let mut removed = cf.clone();
        if removed.remove(key, "smtpd_tls_dh1024_param_file").is_ok() {
            let still = removed
                .service(key)
                .and_then(|s| s.get("smtpd_tls_dh1024_param_file").cloned());
            if still.is_some() && keys.iter().filter(|k| *k == key).count() == 1 {
                return Err(format!("remove on {key} left {still:?}"));
            }
        }
    }
    Ok(())
}

fn check_pem(data: &[u8]) -> Result<(), String> {
    if let Ok(dh) = dhrotate::dh::pem::parse(data) {
        let p = dh.prime_p().to_owned().map_err(|e| e.to_string())?;
        let g = dh.generator().to_owned().map_err(|e| e.to_string())?;
        let again = dh
            .params_to_pem()
            .map_err(|e| format!("re-encoding: {e}"))?;
        let back = dhrotate::dh::pem::parse(&again).map_err(|e| format!("re-reading: {e}"))?;
        if back.prime_p() != &p || back.generator() != &g {
            return Err("PEM round trip changed p or g".into());
        }
    }
    Ok(())
}

/// Hands out a buffer in small pieces, as a pipe might.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.step = self.step % 7 + 1;
        Ok(n)
    }
}

fn check_logline(data: &[u8]) -> Result<(), String> {
    let report = |input: &mut dyn std::io::Read| -> Result<dhrotate::audit::AuditReport, String> {
        let mut a = dhrotate::audit::Auditor::new();
        a.read(input).map_err(|e| e.to_string())?;
        Ok(a.finish())
    };
    let whole = report(&mut &data[..])?;
    let l = &whole.lines;
    let classified = l.session + l.failure + l.received_other + l.unparsed + l.other;
    if classified != l.total {
        return Err(format!("{} lines read, {classified} classified", l.total));
    }
    // Where the reads split the input must not matter.
    let pieces = report(&mut Trickle { data, step: 1 })?;
    let json = |r: &dhrotate::audit::AuditReport| serde_json::to_string(r).unwrap();
    if json(&whole) != json(&pieces) {
        return Err("a different report when read in small pieces".into());
    }
    Ok(())
}

fn check_config(data: &[u8], dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("dhrotate.toml");
    std::fs::write(&path, data).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| e.to_string())?;
    match dhrotate::config::load(&path, true, &dhrotate::config::Overrides::default()) {
        Ok(s) => {
            // What loads is what the rest trusts: sizes in range, a schedule
            // the scheduler accepts.
            if s.groups.iter().any(|g| !(512..=8192).contains(&g.bits)) {
                return Err("a group size out of range was accepted".into());
            }
            dhrotate::sys::schedule::parse(&s.schedule.cron)
                .map_err(|e| format!("accepted cron the scheduler refuses: {e}"))?;
        }
        Err(e) => {
            let msg = format!("{e:#}");
            if !msg.contains(&path.display().to_string()) {
                return Err(format!("error does not name the file: {msg}"));
            }
        }
    }
    Ok(())
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs: Vec<PathBuf> = match target {
        "maincf" | "mastercf" => vec![root.join("tests/data/corpus"), root.join("examples/demo")],
        "logline" => vec![root.join("tests/data/corpus/logs")],
        "config" => vec![root.join("examples")],
        "pem" => vec![root.join("tests/data/fuzz-seeds/pem")],
        _ => vec![],
    };
    let mut out = Vec::new();
    for d in dirs {
        let mut stack = vec![d];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                let wanted = match target {
                    "maincf" => name.contains("main"),
                    "mastercf" => name.contains("master"),
                    "config" => name.ends_with(".toml"),
                    _ => true,
                };
                if let Some(b) = wanted.then(|| std::fs::read(&p).ok()).flatten() {
                    out.push(b.into_iter().take(1 << 16).collect());
                }
            }
        }
    }
    out.push(Vec::new());
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(target), Some(secs)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: fuzz maincf|mastercf|pem|logline|config SECONDS [SEED]");
        std::process::exit(2);
    };
    let seed = args.get(3).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1
    });
    let scratch =
        std::env::temp_dir().join(format!("dhrotate-fuzz-{}-{target}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let check: Box<Check> = match target.as_str() {
        "maincf" => Box::new(check_maincf),
        "mastercf" => Box::new(check_mastercf),
        "pem" => Box::new(check_pem),
        "logline" => Box::new(check_logline),
        "config" => {
            let dir = scratch.clone();
            Box::new(move |d| check_config(d, &dir))
        }
        other => {
            eprintln!("unknown target {other}");
            std::process::exit(2);
        }
    };
    if secs == 0 {
        // Replay: `fuzz TARGET 0 FILE...` checks saved inputs.
        let mut failed = 0;
        for f in &args[3..] {
            let data = std::fs::read(f).expect("readable input");
            match check(&data) {
                Ok(()) => println!("{f}: ok"),
                Err(why) => {
                    failed += 1;
                    println!("{f}: {why}");
                }
            }
        }
        std::process::exit(i32::from(failed > 0));
    }
    let corpus = seeds(target);
    // Panics are findings, reported below; keep the default hook quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let crash_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/crashes");
    let mut rng = Rng(seed);
    let (mut execs, mut crashes) = (0u64, 0u64);
    let deadline = Instant::now() + Duration::from_secs(secs);
    // Inputs seen recently are mutated further (a poor man's corpus growth).
    let mut pool: Vec<Vec<u8>> = corpus.clone();
    while Instant::now() < deadline {
        for _ in 0..64 {
            let mut input = pool[rng.below(pool.len())].clone();
            let other = &corpus[rng.below(corpus.len())];
            mutate(&mut rng, &mut input, other);
            execs += 1;
            let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
            let failure = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(why)) => Some(why),
                Err(p) => Some(format!(
                    "panic: {}",
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                )),
            };
            if let Some(why) = failure {
                crashes += 1;
                std::fs::create_dir_all(&crash_dir).unwrap();
                let path = crash_dir.join(format!("{target}-{crashes}"));
                std::fs::write(&path, &input).unwrap();
                eprintln!("{target}: {why} (input saved to {})", path.display());
            }
            if pool.len() < 4096 {
                pool.push(input);
            } else {
                let i = rng.below(pool.len());
                pool[i] = input;
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    println!("{target}: {execs} executions in {secs} s, {crashes} failures (seed {seed})");
    std::process::exit(if crashes == 0 { 0 } else { 1 });
}
