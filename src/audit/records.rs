//! Assembling records from lines: the markers that start one; a TLS log
//! record or a Received: header may be folded over indented lines;
//! journald JSON and nroff overstrike are undone first.

use aho_corasick::{AhoCorasick, MatchKind};

use super::Auditor;

/// A folded record (log record or Received: header) longer than this
/// stops growing: its further fold lines are counted, their text dropped.
/// Real ones are a few hundred bytes.
const MAX_FOLDED: usize = 64 << 10;

/// Failure messages worth counting, as Postfix logs them.
pub(super) const FAILURES: [&str; 7] = [
    "lost connection after STARTTLS",
    "TLS library problem",
    "SSL_accept error",
    "SSL_connect error",
    "certificate verification failed",
    "Cannot start TLS",
    "TLS handshake failed",
];

/// What a line's first marker says it is.
pub(super) const ESTABLISHED: usize = 0;
pub(super) const UNPARSED_MARKERS: [&str; 2] = ["(using TLS", " with cipher "];

/// The automaton that names a line's first marker: ESTABLISHED, then
/// FAILURES, then UNPARSED_MARKERS.
pub(super) fn markers() -> AhoCorasick {
    AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .build(
            std::iter::once(" TLS connection established ")
                .chain(FAILURES)
                .chain(UNPARSED_MARKERS),
        )
        .expect("static patterns")
}

/// Attributes that may continue a folded TLS log record.
const ATTRIBUTES: [&str; 5] = [
    "key-exchange",
    "server-signature",
    "server-digest",
    "client-signature",
    "client-digest",
];

/// The record being assembled, with the lines it took so far.
pub(super) enum Pending {
    None,
    Log { text: String, lines: u64 },
    Received { text: String, lines: u64 },
}

impl Auditor {
    /// Appends a folded continuation to the pending record, if it is one.
    pub(super) fn continue_pending(&mut self, line: &str) -> bool {
        let indented = line.starts_with([' ', '\t']) && !line.trim().is_empty();
        match &mut self.pending {
            Pending::None => false,
            Pending::Log { text, lines } => {
                let t = line.trim();
                let complete = text.contains(" bits)");
                let wants_more = ATTRIBUTES.iter().any(|a| text.ends_with(a))
                    || text.matches('(').count() > text.matches(')').count();
                let joins = indented
                    && self
                        .markers
                        .find(line)
                        .is_none_or(|m| m.pattern().as_usize() != ESTABLISHED)
                    && self.postfix_tag.find(line.as_bytes()).is_none()
                    && (!complete || wants_more || ATTRIBUTES.iter().any(|a| t.starts_with(a)));
                if joins {
                    if text.len() < MAX_FOLDED {
                        text.push(' ');
                        text.push_str(t.trim_end_matches('"'));
                        if text.len() >= MAX_FOLDED {
                            self.report.limits.folds_capped += 1;
                        }
                    }
                    *lines += 1;
                }
                joins
            }
            Pending::Received { text, lines } => {
                let joins = indented && !line.trim_start().starts_with("Received: ");
                if joins {
                    if text.len() < MAX_FOLDED {
                        text.push(' ');
                        text.push_str(line.trim());
                        if text.len() >= MAX_FOLDED {
                            self.report.limits.folds_capped += 1;
                        }
                    }
                    *lines += 1;
                }
                joins
            }
        }
    }
}

/// Just past the last newline in `buf` that no later line can continue:
/// the next line exists and does not start with whitespace.
pub(super) fn record_boundary(buf: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    while let Some(i) = memchr::memrchr(b'\n', &buf[..end]) {
        if i + 1 < buf.len() && !matches!(buf[i + 1], b' ' | b'\t') {
            return Some(i + 1);
        }
        end = i;
    }
    None
}

/// The text of a line: journald JSON gives its MESSAGE; nroff overstrike
/// (`X\bX`) is undone; bytes that are not UTF-8 are replaced.
pub(super) fn decode(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    let json = (raw.first() == Some(&b'{'))
        .then(|| serde_json::from_slice::<serde_json::Value>(raw).ok())
        .flatten();
    let message = json
        .as_ref()
        .and_then(|v| Some((v, v.get("MESSAGE")?.as_str()?)));
    if let Some((v, m)) = message {
        let prefix = v
            .get("SYSLOG_IDENTIFIER")
            .and_then(|s| s.as_str())
            .unwrap_or("");
        return format!("{prefix}: {m}").into();
    }
    if raw.contains(&8) {
        let mut out: Vec<u8> = Vec::with_capacity(raw.len());
        for &b in raw {
            if b == 8 {
                out.pop();
            } else {
                out.push(b);
            }
        }
        return String::from_utf8_lossy(&out).into_owned().into();
    }
    match std::str::from_utf8(raw) {
        Ok(s) => s.into(),
        Err(_) => String::from_utf8_lossy(raw),
    }
}
