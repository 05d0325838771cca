//! Hostile input, one table: each case sets up a fresh private Postfix
//! config dir, runs one command, and asserts the exit code, a message that
//! names the cause, and what happened to the files: byte-identical for
//! every refusal; for input Postfix itself accepts (CRLF, bytes that are
//! not UTF-8, very long lines), a successful rotation that changes only
//! the lines it must.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;

/// What a case gets to work with.
struct Case {
    base: PathBuf,
    dir: PathBuf,
    cfg: PathBuf,
}

impl Case {
    fn edit_cfg(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.cfg).unwrap();
        assert!(text.contains(from), "{from:?} not in the config");
        std::fs::write(&self.cfg, text.replacen(from, to, 1)).unwrap();
    }
    fn append_cfg(&self, text: &str) {
        let mut t = std::fs::read_to_string(&self.cfg).unwrap();
        t.push_str(text);
        std::fs::write(&self.cfg, t).unwrap();
    }
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.base.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }
    fn chmod(&self, path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    fn main_cf(&self) -> PathBuf {
        self.dir.join("main.cf")
    }
}

/// What must become of the Postfix config dir.
enum Files {
    /// Byte-identical (every refusal).
    Unchanged,
    /// The rotation went through; these byte strings of main.cf survive.
    Kept(&'static [&'static [u8]]),
}

struct Row {
    name: &'static str,
    setup: fn(&Case) -> Vec<String>,
    code: i32,
    says: &'static [&'static str],
    files: Files,
}

fn now() -> Vec<String> {
    vec!["now".into()]
}

fn pem(bits: u32) -> Vec<u8> {
    openssl::dh::Dh::generate_params(bits, 2)
        .unwrap()
        .params_to_pem()
        .unwrap()
}

fn rows() -> Vec<Row> {
    vec![
        // The configuration file.
        Row {
            name: "unknown top-level key",
            setup: |c| {
                c.append_cfg("colour = \"blue\"\n");
                now()
            },
            code: 2,
            says: &["unknown field `colour`", "dhrotate.toml"],
            files: Files::Unchanged,
        },
        Row {
            name: "unknown key in a group",
            setup: |c| {
                c.edit_cfg("bits = 2048\n", "bits = 2048\nsize = 1\n");
                now()
            },
            code: 2,
            says: &["unknown field `size`"],
            files: Files::Unchanged,
        },
        Row {
            name: "config writable by others",
            setup: |c| {
                c.chmod(&c.cfg, 0o666);
                now()
            },
            code: 2,
            says: &["group- or world-writable", "chmod go-w"],
            files: Files::Unchanged,
        },
        Row {
            name: "config writable by its group",
            setup: |c| {
                c.chmod(&c.cfg, 0o664);
                now()
            },
            code: 2,
            says: &["group- or world-writable"],
            files: Files::Unchanged,
        },
        // Durations out of range (a 0 s timeout kills every command; a huge
        // wait overflows the arithmetic on instants).
        Row {
            name: "command timeout of 0s",
            setup: |c| {
                c.append_cfg("[postfix]\ntimeout = \"0s\"\n");
                now()
            },
            code: 2,
            says: &[
                "postfix.timeout = \"0s\" is out of range",
                "between 1s and 1h",
                "line",
            ],
            files: Files::Unchanged,
        },
        Row {
            name: "instances is a number",
            setup: |c| {
                c.edit_cfg("lock_wait = \"0s\"", "lock_wait = \"0s\"\ninstances = 5");
                now()
            },
            code: 2,
            says: &["instances = \"primary\", \"all\" or a list", "line 6"],
            files: Files::Unchanged,
        },
        Row {
            name: "instances names something not a secondary",
            setup: |c| {
                c.edit_cfg(
                    "lock_wait = \"0s\"",
                    "lock_wait = \"0s\"\ninstances = [\"out\"]",
                );
                now()
            },
            code: 2,
            says: &["instances names \"out\"", "start with \"postfix-\"", "line"],
            files: Files::Unchanged,
        },
        Row {
            name: "per-instance files with a group outside postfix_config_dir",
            setup: |c| {
                c.edit_cfg(
                    "lock_wait = \"0s\"",
                    "lock_wait = \"0s\"\ninstance_files = \"per-instance\"",
                );
                c.append_cfg("[[group]]\nname = \"outside\"\nbits = 2048\nfile = \"/var/tmp/dh-outside.pem\"\nuse = [\"smtp/inet\"]\n");
                now()
            },
            code: 2,
            says: &[
                "needs each group's file inside postfix_config_dir",
                "\"outside\"",
            ],
            files: Files::Unchanged,
        },
        Row {
            name: "a hook program anyone may write",
            setup: |c| {
                let prog = c.file("reload-hook", b"#!/bin/sh\nexit 0\n");
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o777)).unwrap();
                c.append_cfg(&format!("[[hook]]\nname = \"x\"\ncommand = [\"{prog}\"]\n"));
                now()
            },
            code: 2,
            says: &["hook \"x\"", "refusing to run", "line"],
            files: Files::Unchanged,
        },
        Row {
            name: "lock_wait of a million days",
            setup: |c| {
                c.edit_cfg("lock_wait = \"0s\"", "lock_wait = \"1000000d\"");
                now()
            },
            code: 2,
            says: &["lock_wait = \"1000000d\" is out of range"],
            files: Files::Unchanged,
        },
        Row {
            name: "schedule jitter of 100 years",
            setup: |c| {
                c.append_cfg("[schedule]\njitter = \"100years\"\n");
                now()
            },
            code: 2,
            says: &["schedule.jitter = \"100years\" is out of range"],
            files: Files::Unchanged,
        },
        // Trust: whoever controls these files controls a root process.
        Row {
            name: "config owned by another user (nobody), mode 0644",
            setup: |c| {
                chown_nobody(&c.cfg);
                now()
            },
            code: 2,
            says: &["is owned by uid", "not by root", "chown root"],
            files: Files::Unchanged,
        },
        Row {
            name: "conf.d owned by another user",
            setup: |c| {
                let d = c.cfg.parent().unwrap().join("conf.d");
                std::fs::create_dir_all(&d).unwrap();
                c.chmod(&d, 0o755);
                chown_nobody(&d);
                now()
            },
            code: 2,
            says: &["configuration directory", "conf.d is owned by uid"],
            files: Files::Unchanged,
        },
        Row {
            name: "conf.d writable by others",
            setup: |c| {
                let d = c.cfg.parent().unwrap().join("conf.d");
                std::fs::create_dir_all(&d).unwrap();
                c.chmod(&d, 0o777);
                now()
            },
            code: 2,
            says: &["conf.d is group- or world-writable"],
            files: Files::Unchanged,
        },
        Row {
            name: "postconf owned by another user",
            setup: |c| {
                let prog = c.file(
                    "fake-postconf",
                    b"#!/bin/sh\nexec /usr/sbin/postconf \"$@\"\n",
                );
                c.chmod(Path::new(&prog), 0o755);
                chown_nobody(Path::new(&prog));
                c.append_cfg(&format!("[postfix]\npostconf = \"{prog}\"\n"));
                now()
            },
            code: 2,
            says: &["refusing to run", "fake-postconf is owned by uid", "line"],
            files: Files::Unchanged,
        },
        Row {
            name: "postfix writable by its group",
            setup: |c| {
                let prog = c.file(
                    "fake-postfix",
                    b"#!/bin/sh\nexec /usr/sbin/postfix \"$@\"\n",
                );
                c.chmod(Path::new(&prog), 0o775);
                c.append_cfg(&format!("[postfix]\npostfix = \"{prog}\"\n"));
                now()
            },
            code: 2,
            says: &["refusing to run", "group- or world-writable", "chmod go-w"],
            files: Files::Unchanged,
        },
        Row {
            name: "postconf in a directory others may write (no sticky bit)",
            setup: |c| {
                let d = c.base.join("open-bin");
                std::fs::create_dir_all(&d).unwrap();
                c.chmod(&d, 0o777);
                let prog = d.join("postconf");
                std::fs::write(&prog, b"#!/bin/sh\nexec /usr/sbin/postconf \"$@\"\n").unwrap();
                c.chmod(&prog, 0o755);
                c.append_cfg(&format!("[postfix]\npostconf = \"{}\"\n", prog.display()));
                now()
            },
            code: 2,
            says: &[
                "refusing to run",
                "its directory",
                "open-bin is group- or world-writable",
            ],
            files: Files::Unchanged,
        },
        Row {
            name: "config that is not UTF-8",
            setup: |c| {
                std::fs::write(&c.cfg, b"mode = \"\xff\xfe\"\n").unwrap();
                now()
            },
            code: 2,
            says: &["dhrotate.toml"],
            files: Files::Unchanged,
        },
        Row {
            name: "config that is a directory",
            setup: |c| {
                std::fs::remove_file(&c.cfg).unwrap();
                std::fs::create_dir(&c.cfg).unwrap();
                now()
            },
            code: 2,
            says: &["dhrotate.toml"],
            files: Files::Unchanged,
        },
        Row {
            name: "config named but missing",
            setup: |c| {
                std::fs::remove_file(&c.cfg).unwrap();
                now()
            },
            code: 2,
            says: &["dhrotate.toml"],
            files: Files::Unchanged,
        },
        Row {
            name: "main.cf group below 1024 bits",
            setup: |c| {
                c.edit_cfg(
                    "bits = 2048\nfile = \"dh2048.pem\"",
                    "bits = 768\nfile = \"dh2048.pem\"",
                );
                now()
            },
            code: 2,
            says: &["768"],
            files: Files::Unchanged,
        },
        Row {
            name: "group above 8192 bits",
            setup: |c| {
                c.edit_cfg("bits = 2048", "bits = 16384");
                now()
            },
            code: 2,
            says: &["bits = 16384 is not allowed", "at most 8192"],
            files: Files::Unchanged,
        },
        Row {
            name: "group size not a multiple of 64",
            setup: |c| {
                c.edit_cfg("bits = 2048", "bits = 2000");
                now()
            },
            code: 2,
            says: &["bits = 2000", "multiple of 64"],
            files: Files::Unchanged,
        },
        Row {
            name: "absurd min_bits",
            setup: |c| {
                c.edit_cfg("min_bits = 1024", "min_bits = 100");
                now()
            },
            code: 2,
            says: &["min_bits = 100 is out of range"],
            files: Files::Unchanged,
        },
        Row {
            name: "absurd pool size",
            setup: |c| {
                c.edit_cfg("size = 0", "size = 1000");
                now()
            },
            code: 2,
            says: &["pool.size = 1000 is too large"],
            files: Files::Unchanged,
        },
        Row {
            name: "five-field cron",
            setup: |c| {
                c.append_cfg("[schedule]\ncron = \"30 3 * * *\"\n");
                now()
            },
            code: 2,
            says: &["schedule.cron", "6 fields"],
            files: Files::Unchanged,
        },
        Row {
            name: "duration that is not one",
            setup: |c| {
                c.edit_cfg("lock_wait = \"0s\"", "lock_wait = \"forever\"");
                now()
            },
            code: 2,
            says: &["lock_wait"],
            files: Files::Unchanged,
        },
        Row {
            name: "two groups, one file",
            setup: |c| {
                c.edit_cfg("file = \"dh1024-submission.pem\"", "file = \"dh2048.pem\"");
                now()
            },
            code: 2,
            says: &["dh2048.pem"],
            files: Files::Unchanged,
        },
        Row {
            name: "relative postconf path",
            setup: |c| {
                c.append_cfg("[postfix]\npostconf = \"postconf\"\n");
                now()
            },
            code: 2,
            says: &["postconf", "absolute"],
            files: Files::Unchanged,
        },
        Row {
            name: "postfix_config_dir missing",
            setup: |c| {
                c.edit_cfg(
                    &format!("postfix_config_dir = \"{}\"", c.dir.display()),
                    "postfix_config_dir = \"/nonexistent/postfix\"",
                );
                now()
            },
            code: 2,
            says: &[
                "/nonexistent/postfix is not a directory",
                "postconf -h config_directory",
            ],
            files: Files::Unchanged,
        },
        // Where the files go.
        Row {
            name: "a master.cf service that does not exist",
            setup: |c| {
                let text = std::fs::read_to_string(&c.cfg).unwrap();
                let svc = text
                    .split("use = [\"")
                    .nth(2)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .to_owned();
                c.edit_cfg(&svc, "nosuch/inet");
                now()
            },
            code: 2,
            says: &["master.cf has no service nosuch/inet"],
            files: Files::Unchanged,
        },
        Row {
            name: "512-bit group on Postfix >= 3.6",
            setup: |c| {
                c.edit_cfg(
                    "bits = 1024\nfile = \"dh1024-submission.pem\"",
                    "bits = 512\nfile = \"dh1024-submission.pem\"",
                );
                now()
            },
            code: 2,
            says: &["ignores smtpd_tls_dh512_param_file"],
            files: Files::Unchanged,
        },
        Row {
            name: "group file is a planted symlink",
            setup: |c| {
                std::os::unix::fs::symlink("/etc/passwd", c.dir.join("dh2048.pem")).unwrap();
                now()
            },
            code: 2,
            says: &["dh2048.pem", "symbolic link"],
            files: Files::Unchanged,
        },
        Row {
            name: "main.cf is a symlink",
            setup: |c| {
                std::fs::rename(c.main_cf(), c.dir.join("main.cf.real")).unwrap();
                std::os::unix::fs::symlink(c.dir.join("main.cf.real"), c.main_cf()).unwrap();
                now()
            },
            code: 2,
            says: &["main.cf", "symbolic link"],
            files: Files::Unchanged,
        },
        Row {
            name: "Postfix dir writable by others",
            setup: |c| {
                c.chmod(&c.dir, 0o777);
                now()
            },
            code: 2,
            says: &["group- or world-writable"],
            files: Files::Unchanged,
        },
        Row {
            name: "Postfix dir writable by its group",
            setup: |c| {
                c.chmod(&c.dir, 0o775);
                now()
            },
            code: 2,
            says: &["group- or world-writable"],
            files: Files::Unchanged,
        },
        Row {
            name: "group file in a sticky world-writable dir",
            setup: |c| {
                let t = c.base.join("tmp");
                std::fs::create_dir(&t).unwrap();
                c.chmod(&t, 0o1777);
                c.edit_cfg(
                    "file = \"dh2048.pem\"",
                    &format!("file = \"{}/dh2048.pem\"", t.display()),
                );
                now()
            },
            code: 2,
            says: &["group- or world-writable"],
            files: Files::Unchanged,
        },
        Row {
            name: "state dir writable by others",
            setup: |c| {
                let s = c.base.join("state");
                std::fs::create_dir_all(&s).unwrap();
                c.chmod(&s, 0o777);
                now()
            },
            code: 2,
            says: &["state", "world-writable"],
            files: Files::Unchanged,
        },
        Row {
            name: "main.cf larger than 16 MiB",
            setup: |c| {
                let mut b = std::fs::read(c.main_cf()).unwrap();
                b.extend(std::iter::repeat_n(b'#', 17 << 20));
                std::fs::write(c.main_cf(), b).unwrap();
                now()
            },
            code: 2,
            says: &["main.cf", "larger than"],
            files: Files::Unchanged,
        },
        Row {
            name: "main.cf with a NUL byte",
            setup: |c| {
                let mut b = std::fs::read(c.main_cf()).unwrap();
                b.extend_from_slice(b"bad\0name = 1\n");
                std::fs::write(c.main_cf(), b).unwrap();
                now()
            },
            code: 2,
            says: &["main.cf line", "NUL byte"],
            files: Files::Unchanged,
        },
        // Input Postfix accepts: rotate, keep every other byte.
        Row {
            name: "main.cf with CRLF line endings",
            setup: |c| {
                let b = std::fs::read(c.main_cf()).unwrap();
                let crlf: Vec<u8> = b
                    .split_inclusive(|&x| x == b'\n')
                    .flat_map(|l| {
                        let mut v = l.strip_suffix(b"\n").unwrap_or(l).to_vec();
                        v.extend_from_slice(b"\r\n");
                        v
                    })
                    .collect();
                std::fs::write(c.main_cf(), crlf).unwrap();
                now()
            },
            code: 0,
            says: &["postfix check passed"],
            files: Files::Kept(&[b"\r\n"]),
        },
        Row {
            name: "main.cf with bytes that are not UTF-8",
            setup: |c| {
                let mut b = std::fs::read(c.main_cf()).unwrap();
                b.extend_from_slice(b"# caf\xe9 \xff\xfe\nsmtpd_banner = $myhostname \xe9t\xe9\n");
                std::fs::write(c.main_cf(), b).unwrap();
                now()
            },
            code: 0,
            says: &["postfix check passed"],
            files: Files::Kept(&[
                b"# caf\xe9 \xff\xfe\n",
                b"smtpd_banner = $myhostname \xe9t\xe9\n",
            ]),
        },
        Row {
            name: "main.cf with a 1 MiB line",
            setup: |c| {
                let mut b = std::fs::read(c.main_cf()).unwrap();
                b.extend_from_slice(b"# ");
                b.extend(std::iter::repeat_n(b'x', 1 << 20));
                b.push(b'\n');
                std::fs::write(c.main_cf(), b).unwrap();
                now()
            },
            code: 0,
            says: &["postfix check passed"],
            files: Files::Kept(&[b"xxxxxxxxxxxxxxxx\n"]),
        },
        // Group files handed to `check`.
        Row {
            name: "PEM with trailing garbage",
            setup: |c| {
                let mut b = pem(512);
                b.extend_from_slice(b"garbage\n");
                vec![
                    "check".into(),
                    "--min-bits".into(),
                    "512".into(),
                    c.file("g.pem", &b),
                ]
            },
            code: 3,
            says: &["g.pem", "unexpected text after the PEM block"],
            files: Files::Unchanged,
        },
        Row {
            name: "two PEM blocks",
            setup: |c| {
                let mut b = pem(512);
                b.extend(pem(512));
                vec![
                    "check".into(),
                    "--min-bits".into(),
                    "512".into(),
                    c.file("g.pem", &b),
                ]
            },
            code: 3,
            says: &["g.pem"],
            files: Files::Unchanged,
        },
        Row {
            name: "DER instead of PEM",
            setup: |c| {
                let b = openssl::dh::Dh::generate_params(512, 2)
                    .unwrap()
                    .params_to_der()
                    .unwrap();
                vec!["check".into(), c.file("g.der", &b)]
            },
            code: 3,
            says: &["g.der", "DER"],
            files: Files::Unchanged,
        },
        Row {
            name: "huge file",
            setup: |c| {
                let f = std::fs::File::create(c.base.join("huge.pem")).unwrap();
                f.set_len(64 << 20).unwrap();
                vec![
                    "check".into(),
                    c.base.join("huge.pem").display().to_string(),
                ]
            },
            code: 3,
            says: &["huge.pem", "larger than"],
            files: Files::Unchanged,
        },
        Row {
            name: "empty file",
            setup: |c| vec!["check".into(), c.file("empty.pem", b"")],
            code: 3,
            says: &["empty.pem"],
            files: Files::Unchanged,
        },
        Row {
            name: "truncated PEM",
            setup: |c| {
                let b = pem(512);
                vec!["check".into(), c.file("cut.pem", &b[..b.len() / 2])]
            },
            code: 3,
            says: &["cut.pem"],
            files: Files::Unchanged,
        },
        Row {
            name: "a private key, not DH parameters",
            setup: |c| {
                let k = openssl::rsa::Rsa::generate(1024)
                    .unwrap()
                    .private_key_to_pem()
                    .unwrap();
                vec!["check".into(), c.file("key.pem", &k)]
            },
            code: 3,
            says: &["key.pem"],
            files: Files::Unchanged,
        },
    ]
}

#[test]
fn every_hostile_input_is_refused_or_survived_as_the_table_says() {
    let mut failures = Vec::new();
    let rows = rows();
    for (i, row) in rows.iter().enumerate() {
        let (base, inst) = instance(&format!("hostile-{i}"), false);
        let cfg = instance_config(&base, &inst, 2048, 1024, "");
        let case = Case {
            base: base.clone(),
            dir: inst.config_dir.clone(),
            cfg: cfg.clone(),
        };
        let args = (row.setup)(&case);
        // Backdate what the setup wrote, so Postfix does not wait for it.
        settle_tree(&inst.config_dir);
        let before = snapshot_tree(&inst.config_dir);
        let mut argv = vec!["--config".to_string(), cfg.display().to_string()];
        argv.extend(args);
        let out = dhrotate(&argv.iter().map(String::as_str).collect::<Vec<_>>());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut wrong = Vec::new();
        if out.status.code() != Some(row.code) {
            wrong.push(format!(
                "exit {:?}, expected {}",
                out.status.code(),
                row.code
            ));
        }
        for needle in row.says {
            if !text.contains(needle) {
                wrong.push(format!("no {needle:?} in the output"));
            }
        }
        let after = snapshot_tree(&inst.config_dir);
        match &row.files {
            Files::Unchanged => {
                if after != before {
                    wrong.push("files changed".into());
                }
            }
            Files::Kept(pieces) => {
                let main = std::fs::read(inst.config_dir.join("main.cf")).unwrap_or_default();
                for p in *pieces {
                    if !main.windows(p.len()).any(|w| w == *p) {
                        wrong.push(format!("main.cf lost {:?}", String::from_utf8_lossy(p)));
                    }
                }
            }
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n{}",
                row.name,
                wrong.join("; "),
                text.trim_end()
            ));
        }
    }
    report(
        "hostile",
        &format!(
            "hostile inputs: {} cases, {} as expected",
            rows.len(),
            rows.len() - failures.len()
        ),
    );
    assert!(rows.len() >= 30);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn chown_nobody(path: &Path) {
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    nix::unistd::chown(path, Some(nobody.uid), None).unwrap();
}

/// Sets every file's mtime a few seconds back (Postfix waits while a
/// config file's mtime is the current second).
fn settle_tree(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_file() && !p.is_symlink() {
            let bytes = std::fs::read(&p).unwrap();
            write_settled(&p, &bytes);
        }
    }
}
