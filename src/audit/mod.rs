//! The forward-secrecy audit: a streaming reader of Postfix TLS log lines
//! and Received: headers. Every input line ends up in exactly one class, so
//! nothing is silently dropped; memory stays flat whatever the input size.

pub mod session;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use aho_corasick::AhoCorasick;
use serde::Serialize;

use session::{Direction, Session};

/// Distinct peers tracked for "top peers without forward secrecy"; beyond
/// this, further new peers are only counted, so memory stays bounded.
const MAX_PEERS: usize = 10_000;
const CHUNK: usize = 1 << 20;

/// Failure messages worth counting, as Postfix logs them.
const FAILURES: [&str; 7] = [
    "lost connection after STARTTLS",
    "TLS library problem",
    "SSL_accept error",
    "SSL_connect error",
    "certificate verification failed",
    "Cannot start TLS",
    "TLS handshake failed",
];

/// Attributes that may continue a folded TLS log record.
const ATTRIBUTES: [&str; 5] = [
    "key-exchange",
    "server-signature",
    "server-digest",
    "client-signature",
    "client-digest",
];

/// How every input line was classified.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct LineCounts {
    /// All lines read.
    pub total: u64,
    /// Lines of a TLS session record (log line or Received: header), folds included.
    pub session: u64,
    /// Lines reporting a TLS failure.
    pub failure: u64,
    /// Received: header lines without Postfix TLS details (plaintext or other MTAs).
    pub received_other: u64,
    /// Lines that look like TLS records but could not be parsed.
    pub unparsed: u64,
    /// Everything else (not about TLS).
    pub other: u64,
}

/// The audit's findings.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    /// Line accounting; `session + failure + received_other + unparsed + other == total`.
    pub lines: LineCounts,
    /// TLS sessions found.
    pub sessions: u64,
    /// Of which with forward secrecy.
    pub forward_secret: u64,
    /// Of which without.
    pub not_forward_secret: u64,
    /// Sessions by direction.
    pub by_direction: BTreeMap<String, u64>,
    /// Sessions by protocol version.
    pub protocols: BTreeMap<String, u64>,
    /// Sessions by cipher.
    pub ciphers: BTreeMap<String, u64>,
    /// Sessions by key exchange (normalised group names).
    pub key_exchange: BTreeMap<String, u64>,
    /// Of which hybrid post-quantum groups.
    pub hybrid_pq: u64,
    /// Log sessions by trust level.
    pub trust: BTreeMap<String, u64>,
    /// TLS failures by kind.
    pub failures: BTreeMap<String, u64>,
    /// Postfix Received: headers without TLS (plaintext hops).
    pub received_plaintext: u64,
    /// Received: headers from other MTAs (not Postfix's format).
    pub received_foreign: u64,
    /// Sessions without forward secrecy per peer (top entries when printed).
    pub peers_without_fs: BTreeMap<String, u64>,
    /// Sessions whose peer was not tracked because of the peer limit.
    pub peers_untracked: u64,
}

impl Report {
    /// Share of sessions with forward secrecy, in percent.
    pub fn fs_percent(&self) -> f64 {
        if self.sessions == 0 {
            0.0
        } else {
            100.0 * self.forward_secret as f64 / self.sessions as f64
        }
    }
}

enum Pending {
    None,
    Log { text: String, lines: u64 },
    Received { text: String, lines: u64 },
}

/// Reads lines and accumulates a report.
pub struct Auditor {
    report: Report,
    peers: HashMap<String, u64>,
    pending: Pending,
    prefilter: AhoCorasick,
}

impl Default for Auditor {
    fn default() -> Self {
        Auditor::new()
    }
}

impl Auditor {
    /// A fresh auditor.
    pub fn new() -> Auditor {
        Auditor {
            report: Report::default(),
            peers: HashMap::new(),
            pending: Pending::None,
            // Any line worth a closer look contains one of these.
            prefilter: AhoCorasick::new(["TLS", "SSL_", "Received:", "verification failed"])
                .expect("static patterns"),
        }
    }

    /// Reads a whole stream, a chunk at a time.
    pub fn read(&mut self, mut input: impl Read) -> std::io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0;
        loop {
            if filled == buf.len() {
                // A line longer than the buffer: grow, lines are not split.
                buf.resize(buf.len() * 2, 0);
            }
            let n = input.read(&mut buf[filled..])?;
            if n == 0 {
                if filled > 0 {
                    self.lines(&buf[..filled], true);
                }
                self.finish_pending();
                return Ok(());
            }
            filled += n;
            if let Some(last_nl) = memchr::memrchr(b'\n', &buf[..filled]) {
                self.lines(&buf[..=last_nl], false);
                buf.copy_within(last_nl + 1..filled, 0);
                filled -= last_nl + 1;
            }
        }
    }

    /// The report so far (pending folded records included).
    pub fn finish(mut self) -> Report {
        self.finish_pending();
        let mut top: Vec<(String, u64)> = self.peers.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(20);
        self.report.peers_without_fs = top.into_iter().collect();
        self.report
    }

    /// Handles complete lines in `block` (ending with '\n' unless `eof`).
    fn lines(&mut self, block: &[u8], eof: bool) {
        let mut pos = 0;
        while pos < block.len() {
            if matches!(self.pending, Pending::None) {
                // Skip straight to the next line that could matter.
                match self.prefilter.find(&block[pos..]) {
                    None => {
                        let rest = &block[pos..];
                        let n = memchr::memchr_iter(b'\n', rest).count() as u64
                            + u64::from(eof && !rest.ends_with(b"\n"));
                        self.report.lines.total += n;
                        self.report.lines.other += n;
                        return;
                    }
                    Some(m) => {
                        let at = pos + m.start();
                        let start =
                            memchr::memrchr(b'\n', &block[pos..at]).map_or(pos, |i| pos + i + 1);
                        let n = memchr::memchr_iter(b'\n', &block[pos..start]).count() as u64;
                        self.report.lines.total += n;
                        self.report.lines.other += n;
                        pos = start;
                    }
                }
            }
            let end = memchr::memchr(b'\n', &block[pos..]).map_or(block.len(), |i| pos + i);
            self.line(&block[pos..end]);
            pos = end + 1;
        }
    }

    /// Classifies one line.
    pub fn line(&mut self, raw: &[u8]) {
        self.report.lines.total += 1;
        let text = decode(raw);
        let text = text.trim_end_matches('\r');
        if self.continue_pending(text) {
            return;
        }
        self.finish_pending();
        if let Some(i) = text.find(" TLS connection established ") {
            let start = text[..i].rfind([' ', '"', ':']).map_or(0, |j| j + 1);
            self.pending = Pending::Log {
                text: text[start..].trim_end_matches('"').to_owned(),
                lines: 1,
            };
        } else if text.trim_start().starts_with("Received: ") {
            // A header starts its line (indented in quoted documentation);
            // "Received: " inside prose is not one.
            self.pending = Pending::Received {
                text: text.trim_start().to_owned(),
                lines: 1,
            };
        } else if let Some(kind) = FAILURES.iter().find(|f| text.contains(*f)) {
            self.report.lines.failure += 1;
            *self.report.failures.entry((*kind).to_owned()).or_default() += 1;
        } else if text.contains("(using TLS") || text.contains(" with cipher ") {
            self.report.lines.unparsed += 1;
        } else {
            self.report.lines.other += 1;
        }
    }

    /// Appends a folded continuation to the pending record, if it is one.
    fn continue_pending(&mut self, line: &str) -> bool {
        let indented = line.starts_with([' ', '\t']) && !line.trim().is_empty();
        match &mut self.pending {
            Pending::None => false,
            Pending::Log { text, lines } => {
                let t = line.trim();
                let complete = text.contains(" bits)");
                let wants_more = ATTRIBUTES.iter().any(|a| text.ends_with(a))
                    || text.matches('(').count() > text.matches(')').count();
                let joins = indented
                    && !line.contains("TLS connection established")
                    && !line.contains("postfix/")
                    && (!complete || wants_more || ATTRIBUTES.iter().any(|a| t.starts_with(a)));
                if joins {
                    text.push(' ');
                    text.push_str(t.trim_end_matches('"'));
                    *lines += 1;
                }
                joins
            }
            Pending::Received { text, lines } => {
                let joins = indented && !line.trim_start().starts_with("Received: ");
                if joins {
                    text.push(' ');
                    text.push_str(line.trim());
                    *lines += 1;
                }
                joins
            }
        }
    }

    fn finish_pending(&mut self) {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => {}
            Pending::Log { text, lines } => match session::parse_log(&text) {
                Some(s) => self.count_session(s, lines),
                None => self.report.lines.unparsed += lines,
            },
            Pending::Received { text, lines } => {
                if text.contains("(using ") {
                    match session::parse_received(&text) {
                        Some(s) => self.count_session(s, lines),
                        None => self.report.lines.unparsed += lines,
                    }
                } else {
                    self.report.lines.received_other += lines;
                    if text.contains("(Postfix)") {
                        self.report.received_plaintext += 1;
                    } else {
                        self.report.received_foreign += 1;
                    }
                }
            }
        }
    }

    fn count_session(&mut self, s: Session, lines: u64) {
        let r = &mut self.report;
        r.lines.session += lines;
        r.sessions += 1;
        let dir = match s.direction {
            Direction::Inbound => "inbound (smtpd)",
            Direction::Outbound => "outbound (smtp)",
            Direction::ReceivedHeader => "Received: header",
        };
        *r.by_direction.entry(dir.into()).or_default() += 1;
        *r.protocols.entry(s.protocol.clone()).or_default() += 1;
        *r.ciphers.entry(s.cipher.clone()).or_default() += 1;
        if s.key_exchange.contains("MLKEM") || s.key_exchange.contains("Kyber") {
            r.hybrid_pq += 1;
        }
        *r.key_exchange.entry(s.key_exchange.clone()).or_default() += 1;
        if let Some(t) = &s.trust {
            *r.trust.entry(t.clone()).or_default() += 1;
        }
        if s.forward_secret {
            r.forward_secret += 1;
        } else {
            r.not_forward_secret += 1;
            if let Some(n) = self.peers.get_mut(&s.peer) {
                *n += 1;
            } else if self.peers.len() < MAX_PEERS {
                self.peers.insert(s.peer, 1);
            } else {
                r.peers_untracked += 1;
            }
        }
    }
}

/// The text of a line: journald JSON gives its MESSAGE; nroff overstrike
/// (`X\bX`) is undone; bytes that are not UTF-8 are replaced.
fn decode(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    if raw.first() == Some(&b'{')
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(raw)
        && let Some(m) = v.get("MESSAGE").and_then(|m| m.as_str())
    {
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
    String::from_utf8_lossy(raw)
}
