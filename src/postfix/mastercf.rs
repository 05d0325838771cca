//! Reading and editing master.cf `-o name=value` overrides.
//!
//! A service entry is a logical line (see `lines`) with the fields
//! `service type private unpriv chroot wakeup maxproc command args...`.
//! Overrides are `-o name=value`, `-o { name = value }`, or the same glued
//! to the flag (`-oname=value`, `-o{ name = value }`) among the leading
//! options of the command's arguments; the first argument that is not an
//! option ends them (getopt rules, as the daemons parse them). Fields split
//! as Postfix splits them: braces group whitespace anywhere in a field.

use std::ops::Range;

use super::lines::{self, RawLine};

/// A whitespace-separated field, or a `{ ... }` group, with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    range: Range<usize>,
    line: usize,
}

/// One `-o` override of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Parameter name.
    pub name: String,
    /// Value as Postfix reads it.
    pub value: String,
    /// Whether written as `-o { name = value }`.
    pub braced: bool,
    opt: Token,
    arg: Token,
    value_range: Range<usize>,
}

/// One service entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Service name field (e.g. `submission`, `127.0.0.1:2525`).
    pub name: String,
    /// Service type field (`inet`, `unix`, `unix-dgram`, `fifo`, `pass`).
    pub kind: String,
    /// The command field (`smtpd`, `pipe`, ...).
    pub command: String,
    /// 1-based line number of the entry's first line.
    pub line: usize,
    /// 1-based line number of the entry's last content line.
    pub last_line: usize,
    /// The `-o` overrides, in order.
    pub overrides: Vec<Override>,
    /// Its options are spelled in a way getopt accepts but this reader
    /// does not model; it is read, never edited.
    unsure: bool,
    /// Where a new override goes: before the first non-option argument,
    /// or after the entry's last content line.
    insert: Insert,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Insert {
    BeforeArg(usize),
    AfterLine { line_end: usize, indent: Vec<u8> },
}

impl Service {
    /// `service/type`, as `postconf -P` and dhrotate's config name it.
    pub fn key(&self) -> String {
        format!("{}/{}", self.name, self.kind)
    }

    /// The override Postfix uses for `name` (the last one).
    pub fn get(&self, name: &str) -> Option<&Override> {
        self.overrides.iter().rev().find(|o| o.name == name)
    }
}

/// A parsed master.cf.
#[derive(Debug, Clone)]
pub struct MasterCf {
    text: Vec<u8>,
    services: Vec<Service>,
    newline: &'static [u8],
}

/// Why an override could not be edited.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    /// No entry with that `service/type`.
    #[error("master.cf has no service {0}")]
    NoService(String),
    /// A value that master.cf cannot hold.
    #[error("value {0:?} cannot be written to master.cf (contains braces or a newline)")]
    BadValue(String),
    /// The entry's syntax is too unusual to edit safely: the edit would not
    /// read back as intended, or would change another entry.
    #[error(
        "master.cf entry {key} (line {line}) is written in a way dhrotate cannot edit safely; \
         set `-o {name}` there by hand, or rewrite the entry in the usual one-field-per-column form"
    )]
    Unsafe {
        /// `service/type`.
        key: String,
        /// 1-based line of the entry.
        line: usize,
        /// The parameter being edited.
        name: String,
    },
}

pub use super::maincf::Change;

impl MasterCf {
    /// Parses master.cf bytes. Entries with fewer than 8 fields (template
    /// markers, garbage) are not services and are left alone.
    pub fn parse(text: &[u8]) -> MasterCf {
        let raw = lines::split(text);
        let (logical, _orphans) = lines::logical(text, &raw);
        let services = logical
            .iter()
            .filter_map(|l| parse_service(text, &raw, &l.content_lines))
            .collect();
        MasterCf {
            newline: lines::newline(text, &raw),
            text: text.to_vec(),
            services,
        }
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.text
    }

    /// Every service entry, in file order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The entry Postfix uses for `service/type` (the last one).
    pub fn service(&self, key: &str) -> Option<&Service> {
        self.services.iter().rev().find(|s| s.key() == key)
    }

    /// The entry for `key`, if it is one this reader may edit.
    fn editable(&self, key: &str, name: &str) -> Result<&Service, EditError> {
        let svc = self
            .service(key)
            .ok_or_else(|| EditError::NoService(key.to_owned()))?;
        if svc.unsure {
            return Err(EditError::Unsafe {
                key: key.to_owned(),
                line: svc.line,
                name: name.to_owned(),
            });
        }
        Ok(svc)
    }

    /// Sets `-o name=value` on the service `key`.
    pub fn set(&mut self, key: &str, name: &str, value: &str) -> Result<Change, EditError> {
        if value.contains(['{', '}', '\n']) || name.contains(['{', '}', '=', ' ', '\n']) {
            return Err(EditError::BadValue(format!("{name}={value}")));
        }
        let svc = self.editable(key, name)?;
        let needs_braces = value.bytes().any(lines::is_space) || value.is_empty();
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        match svc.get(name) {
            Some(o) if o.value == value => return Ok(Change::Unchanged),
            // Postfix's own reader cuts a glued `-oARG` / `-o{ ... }` at the
            // next letter o (`postconf -P` shows `-ox=/a/dhrotate` as
            // `x = /a/dhr`), so a glued override is rewritten whole in the
            // plain spelling rather than edited inside.
            Some(o) if o.opt.range.end > o.arg.range.start => {
                let mut with = b"-o ".to_vec();
                with.extend(if needs_braces {
                    braced(name, value)
                } else {
                    format!("{name}={value}").into_bytes()
                });
                edits.push((o.opt.range.clone(), with));
            }
            Some(o) if o.braced || !needs_braces => {
                edits.push((o.value_range.clone(), value.as_bytes().to_vec()))
            }
            Some(o) => edits.push((o.arg.range.clone(), braced(name, value))),
            None => {
                let arg = if needs_braces {
                    braced(name, value)
                } else {
                    format!("{name}={value}").into_bytes()
                };
                match &svc.insert {
                    Insert::BeforeArg(at) => {
                        let mut with = b"-o ".to_vec();
                        with.extend(arg);
                        with.push(b' ');
                        edits.push((*at..*at, with));
                    }
                    Insert::AfterLine { line_end, indent } => {
                        let mut with = Vec::new();
                        let at = if *line_end < self.text.len() || self.text.ends_with(b"\n") {
                            *line_end
                        } else {
                            with.extend_from_slice(self.newline);
                            self.text.len()
                        };
                        with.extend_from_slice(indent);
                        with.extend_from_slice(b"-o ");
                        with.extend(arg);
                        with.extend_from_slice(self.newline);
                        edits.push((at..at, with));
                    }
                }
            }
        }
        let duplicates = svc.overrides.iter().filter(|o| o.name == name).count();
        let new = lines::splice(&self.text, &mut edits);
        self.accept(new, key, name, Some(value))?;
        Ok(Change::Changed {
            duplicates: duplicates.saturating_sub(1),
        })
    }

    /// Takes `new` as the file only if it reads back as intended: `key`
    /// has `name` = `want` (or no `name` at all), and every other entry is
    /// exactly as before. Unusual syntax (a brace group left open, a
    /// command field that is an option) can make a splice mean something
    /// else; then nothing changes and the caller hears why.
    fn accept(
        &mut self,
        new: Vec<u8>,
        key: &str,
        name: &str,
        want: Option<&str>,
    ) -> Result<(), EditError> {
        let parsed = MasterCf::parse(&new);
        let target = self.service(key).map(|s| s.line).unwrap_or(0);
        let unsafe_edit = || EditError::Unsafe {
            key: key.to_owned(),
            line: target,
            name: name.to_owned(),
        };
        let got = parsed
            .service(key)
            .ok_or_else(unsafe_edit)?
            .get(name)
            .map(|o| o.value.as_str());
        let others = |cf: &MasterCf| -> Vec<(String, Vec<(String, String)>)> {
            cf.services
                .iter()
                .filter(|s| s.line != target)
                .map(|s| {
                    let o = s.overrides.iter();
                    (
                        s.key(),
                        o.map(|o| (o.name.clone(), o.value.clone())).collect(),
                    )
                })
                .collect()
        };
        let target_after = parsed.service(key).map(|s| s.line).unwrap_or(0);
        if got != want || target_after != target || others(&parsed) != others(self) {
            return Err(unsafe_edit());
        }
        *self = parsed;
        Ok(())
    }

    /// Removes every `-o name=...` from the service `key`.
    pub fn remove(&mut self, key: &str, name: &str) -> Result<Change, EditError> {
        let svc = self.editable(key, name)?;
        // An `-o value` pair on one line goes as one range, so the spacing
        // around it is judged once.
        let mut doomed: Vec<Token> = Vec::new();
        let mut pairs = 0;
        for o in svc.overrides.iter().filter(|o| o.name == name) {
            pairs += 1;
            if o.opt.line == o.arg.line {
                doomed.push(Token {
                    range: o.opt.range.start..o.arg.range.end,
                    line: o.opt.line,
                });
            } else {
                doomed.extend([o.opt.clone(), o.arg.clone()]);
            }
        }
        if pairs == 0 {
            return Ok(Change::Unchanged);
        }
        let duplicates = pairs - 1;
        let raw = lines::split(&self.text);
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        let mut by_line: Vec<(usize, Vec<&Token>)> = Vec::new();
        for t in &doomed {
            match by_line.iter_mut().find(|(l, _)| *l == t.line) {
                Some((_, ts)) => ts.push(t),
                None => by_line.push((t.line, vec![t])),
            }
        }
        for (line, toks) in by_line {
            let l = raw[line];
            let mut rest = self.text[l.start..l.content_end].to_vec();
            for t in &toks {
                for b in &mut rest[t.range.start - l.start..t.range.end - l.start] {
                    *b = b' ';
                }
            }
            if rest.iter().all(|&b| lines::is_space(b)) {
                edits.push((l.range(), Vec::new()));
                continue;
            }
            for t in toks {
                edits.push((widen(&self.text, &l, &t.range), Vec::new()));
            }
        }
        // Widened deletions of neighbouring tokens may overlap: coalesce them.
        edits.sort_by_key(|(r, _)| r.start);
        let mut merged: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        for (r, with) in edits {
            match merged.last_mut() {
                Some((last, _)) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push((r, with)),
            }
        }
        let mut edits = merged;
        let new = lines::splice(&self.text, &mut edits);
        self.accept(new, key, name, None)?;
        Ok(Change::Changed { duplicates })
    }
}

fn braced(name: &str, value: &str) -> Vec<u8> {
    format!("{{ {name} = {value} }}").into_bytes()
}

/// A token's range plus the spaces after it (or before it, at line end),
/// so that removing it leaves the rest of the line as it was spaced.
fn widen(text: &[u8], line: &RawLine, r: &Range<usize>) -> Range<usize> {
    let mut end = r.end;
    while end < line.content_end && matches!(text[end], b' ' | b'\t') {
        end += 1;
    }
    if end < line.content_end
        && !text[r.end..line.content_end]
            .iter()
            .all(|&b| lines::is_space(b))
    {
        return r.start..end;
    }
    let mut start = r.start;
    while start > line.start && matches!(text[start - 1], b' ' | b'\t') {
        start -= 1;
    }
    start..r.end
}

/// Fields as Postfix splits them (mystrtokq): whitespace separates, except
/// inside braces, which group anywhere in a field (`{ a = b }`, but also
/// `-o{ a = b }`), across continuation lines.
fn tokenize(text: &[u8], raw: &[RawLine], content_lines: &[usize]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut open: Option<(usize, usize, u32)> = None; // start, line, brace depth
    for &li in content_lines {
        let l = raw[li];
        let mut i = l.start;
        while i < l.content_end {
            let b = text[i];
            match &mut open {
                Some((_, _, depth)) if b == b'{' => *depth += 1,
                Some((_, _, depth)) if b == b'}' && *depth > 0 => *depth -= 1,
                Some((start, line, 0)) if lines::is_space(b) => {
                    tokens.push(Token {
                        range: *start..i,
                        line: *line,
                    });
                    open = None;
                }
                Some(_) => {}
                None if lines::is_space(b) => {}
                None => open = Some((i, li, u32::from(b == b'{'))),
            }
            i += 1;
        }
        if let Some((start, line, 0)) = open {
            tokens.push(Token {
                range: start..l.content_end,
                line,
            });
            open = None;
        }
    }
    if let Some((start, line, _)) = open {
        // An unclosed brace: take it to the end of its line.
        let end = raw[line].content_end;
        tokens.push(Token {
            range: start..end,
            line,
        });
    }
    tokens
}

fn parse_service(text: &[u8], raw: &[RawLine], content_lines: &[usize]) -> Option<Service> {
    let tokens = tokenize(text, raw, content_lines);
    if tokens.len() < 8 {
        return None;
    }
    let word = |t: &Token| String::from_utf8_lossy(&text[t.range.clone()]).into_owned();
    let mut overrides = Vec::new();
    let mut unsure = false;
    let mut i = 8;
    let mut insert = None;
    // The leading options, as the daemon's getopt reads them: `-o ARG`,
    // `-oARG` (ARG may be `{ name = value }`), other flags. Spellings that
    // getopt reads but this does not model (`-vo ARG`, a braced `{-o}`)
    // make the entry one to leave to the administrator.
    while i < tokens.len() {
        let t = &text[tokens[i].range.clone()];
        if t == b"-o" {
            match tokens.get(i + 1) {
                Some(arg) => {
                    overrides.extend(parse_override(text, &tokens[i], arg));
                }
                None => unsure = true,
            }
            i += 2;
        } else if t.starts_with(b"-o") {
            let arg = Token {
                range: tokens[i].range.start + 2..tokens[i].range.end,
                line: tokens[i].line,
            };
            overrides.extend(parse_override(text, &tokens[i], &arg));
            i += 1;
        } else if t.first() == Some(&b'-') && t != b"--" {
            unsure |= t[1..].contains(&b'o');
            i += 1;
        } else if t.first() == Some(&b'{') && lines::trim(&t[1..]).first() == Some(&b'-') {
            unsure = true;
            i += 1;
        } else {
            insert = Some(Insert::BeforeArg(tokens[i].range.start));
            break;
        }
    }
    let last = raw[*content_lines.last().expect("non-empty")];
    let insert = insert.unwrap_or_else(|| {
        let indent_line = content_lines[1..].last().map(|&i| raw[i]);
        let indent = indent_line.map_or(b"  ".to_vec(), |l| {
            l.content(text)
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .copied()
                .collect()
        });
        Insert::AfterLine {
            line_end: last.end,
            indent,
        }
    });
    Some(Service {
        name: word(&tokens[0]),
        kind: word(&tokens[1]),
        command: word(&tokens[7]),
        line: content_lines[0] + 1,
        last_line: content_lines[content_lines.len() - 1] + 1,
        overrides,
        unsure,
        insert,
    })
}

fn parse_override(text: &[u8], opt: &Token, arg: &Token) -> Option<Override> {
    let raw = &text[arg.range.clone()];
    let (inner, base, braced) = if raw.starts_with(b"{") && raw.ends_with(b"}") && raw.len() >= 2 {
        (&raw[1..raw.len() - 1], arg.range.start + 1, true)
    } else {
        (raw, arg.range.start, false)
    };
    let eq = inner.iter().position(|&b| b == b'=')?;
    let name = lines::trim(&inner[..eq]);
    let after = &inner[eq + 1..];
    let value = lines::trim(after);
    let lead = after.len() - after.iter().skip_while(|&&b| lines::is_space(b)).count();
    let vstart = base + eq + 1 + lead;
    Some(Override {
        name: String::from_utf8_lossy(name).into_owned(),
        value: String::from_utf8_lossy(value).into_owned(),
        braced,
        opt: opt.clone(),
        arg: arg.clone(),
        value_range: vstart..vstart + value.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = br"# master.cf
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/submission
#  -o smtpd_tls_security_level=encrypt
  -o { smtpd_tls_dh1024_param_file = /etc/postfix/old.pem }
  -o smtpd_sasl_auth_enable=yes
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
";

    fn text(m: &MasterCf) -> String {
        String::from_utf8(m.bytes().to_vec()).unwrap()
    }

    #[test]
    fn overrides_are_read_in_both_forms() {
        let m = MasterCf::parse(SAMPLE);
        let keys: Vec<_> = m.services().iter().map(Service::key).collect();
        assert_eq!(keys, ["smtp/inet", "submission/inet", "maildrop/unix"]);
        let sub = m.service("submission/inet").unwrap();
        assert_eq!(sub.overrides.len(), 3);
        let dh = sub.get("smtpd_tls_dh1024_param_file").unwrap();
        assert!(dh.braced);
        assert_eq!(dh.value, "/etc/postfix/old.pem");
        assert!(m.service("maildrop/unix").unwrap().overrides.is_empty());
    }

    #[test]
    fn set_existing_braced_value_keeps_the_braces() {
        let mut m = MasterCf::parse(SAMPLE);
        m.set(
            "submission/inet",
            "smtpd_tls_dh1024_param_file",
            "/etc/postfix/dh1024.pem",
        )
        .unwrap();
        let expected = String::from_utf8(SAMPLE.to_vec())
            .unwrap()
            .replace("/etc/postfix/old.pem", "/etc/postfix/dh1024.pem");
        assert_eq!(text(&m), expected);
    }

    #[test]
    fn set_new_override_goes_on_its_own_line_and_remove_undoes_it() {
        let mut m = MasterCf::parse(SAMPLE);
        m.set("smtp/inet", "smtpd_tls_dh1024_param_file", "/x.pem")
            .unwrap();
        assert!(
            text(&m).contains("smtpd\n  -o smtpd_tls_dh1024_param_file=/x.pem\nsubmission inet")
        );
        m.remove("smtp/inet", "smtpd_tls_dh1024_param_file")
            .unwrap();
        assert_eq!(m.bytes(), SAMPLE);
    }

    #[test]
    fn set_before_positional_arguments() {
        let mut m = MasterCf::parse(SAMPLE);
        m.set("maildrop/unix", "a", "b").unwrap();
        assert!(
            text(&m).contains("\n  -o a=b flags=DRXhu user=vmail"),
            "{}",
            text(&m)
        );
        m.remove("maildrop/unix", "a").unwrap();
        assert_eq!(m.bytes(), SAMPLE);
    }

    #[test]
    fn remove_inline_override_keeps_the_rest_of_the_line() {
        let src = b"smtp inet n - n - - smtpd -o a=1 -o b=2 -o { c = 3 }\n";
        let mut m = MasterCf::parse(src);
        m.remove("smtp/inet", "b").unwrap();
        assert_eq!(text(&m), "smtp inet n - n - - smtpd -o a=1 -o { c = 3 }\n");
        m.remove("smtp/inet", "c").unwrap();
        assert_eq!(text(&m), "smtp inet n - n - - smtpd -o a=1\n");
    }

    /// Found by examples/fuzz.rs: an entry whose command field opens a
    /// brace group that never closes. The appended `-o` line landed inside
    /// the group, so the edit "succeeded" without setting anything. Now the
    /// edit is read back, refused, and the file stays as it was.
    #[test]
    fn an_edit_that_would_not_read_back_is_refused() {
        let text: &[u8] = b"-\r--- -BI X \x89N= \x90X E { GI X \x89N X ";
        let mut cf = MasterCf::parse(text);
        let key = cf.services()[0].key();
        let err = cf
            .set(&key, "smtpd_tls_dh1024_param_file", "/x")
            .unwrap_err();
        assert!(matches!(err, EditError::Unsafe { .. }), "{err}");
        assert!(err.to_string().contains("by hand"), "{err}");
        assert_eq!(cf.bytes(), text, "unchanged");
    }

    #[test]
    fn unknown_service_is_an_error() {
        let mut m = MasterCf::parse(SAMPLE);
        assert_eq!(
            m.set("submissions/inet", "a", "b").unwrap_err(),
            EditError::NoService("submissions/inet".into())
        );
    }

    #[test]
    fn values_with_spaces_are_braced() {
        let mut m = MasterCf::parse(SAMPLE);
        m.set("smtp/inet", "smtpd_tls_eecdh_grade", "a b").unwrap();
        assert!(text(&m).contains("  -o { smtpd_tls_eecdh_grade = a b }\n"));
        assert_eq!(
            m.service("smtp/inet")
                .unwrap()
                .get("smtpd_tls_eecdh_grade")
                .unwrap()
                .value,
            "a b"
        );
    }

    const GLUED: &[u8] = b"submission inet n       -       y       -       -       smtpd
  -o{ smtpd_tls_security_level = encrypt }
  -o syslog_name=postfix/submission
a inet n - n - - smtpd
  -o{smtpd_tls_dh1024_param_file=/etc/postfix/old.pem}
b inet n - n - - smtpd
  -osmtpd_tls_dh1024_param_file=/etc/postfix/old.pem
";

    #[test]
    fn every_spelling_postfix_accepts_is_an_override() {
        // The values `postconf -P` prints for GLUED (Postfix 3.7).
        let m = MasterCf::parse(GLUED);
        let sub = m.service("submission/inet").unwrap();
        assert_eq!(
            sub.get("smtpd_tls_security_level").unwrap().value,
            "encrypt"
        );
        assert_eq!(sub.get("syslog_name").unwrap().value, "postfix/submission");
        for key in ["a/inet", "b/inet"] {
            let o = m.service(key).unwrap();
            assert_eq!(o.overrides.len(), 1, "{key}");
            assert_eq!(o.overrides[0].value, "/etc/postfix/old.pem", "{key}");
        }
    }

    #[test]
    fn a_glued_braced_override_is_not_swallowed_by_the_edit() {
        let mut m = MasterCf::parse(GLUED);
        m.set(
            "submission/inet",
            "smtpd_tls_dh1024_param_file",
            "/etc/postfix/dh-sub.pem",
        )
        .unwrap();
        let text = text(&m);
        assert!(
            text.contains("  -o{ smtpd_tls_security_level = encrypt }\n"),
            "{text}"
        );
        let sub = m.service("submission/inet").unwrap();
        assert_eq!(
            sub.get("smtpd_tls_security_level").unwrap().value,
            "encrypt"
        );
        assert_eq!(
            sub.get("smtpd_tls_dh1024_param_file").unwrap().value,
            "/etc/postfix/dh-sub.pem"
        );
    }

    #[test]
    fn glued_overrides_are_edited_in_place_leaving_one_setting() {
        let mut m = MasterCf::parse(GLUED);
        for key in ["a/inet", "b/inet"] {
            m.set(key, "smtpd_tls_dh1024_param_file", "/etc/postfix/new.pem")
                .unwrap();
            let svc = m.service(key).unwrap();
            assert_eq!(svc.overrides.len(), 1, "{key}: {}", text(&m));
            assert_eq!(svc.overrides[0].value, "/etc/postfix/new.pem");
        }
        // Rewritten in the plain spelling (Postfix misreads glued values
        // that contain an o).
        let text = text(&m);
        assert_eq!(
            text.matches("  -o smtpd_tls_dh1024_param_file=/etc/postfix/new.pem\n")
                .count(),
            2,
            "{text}"
        );
        m.remove("b/inet", "smtpd_tls_dh1024_param_file").unwrap();
        assert!(m.service("b/inet").unwrap().overrides.is_empty());
    }

    #[test]
    fn combined_flags_with_o_are_left_to_the_administrator() {
        let mut m =
            MasterCf::parse(b"x inet n - n - - smtpd -vo smtpd_tls_security_level=encrypt\n");
        let err = m
            .set("x/inet", "smtpd_tls_dh1024_param_file", "/f.pem")
            .unwrap_err();
        assert!(matches!(err, EditError::Unsafe { .. }), "{err}");
    }
}
