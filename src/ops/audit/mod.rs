//! The forward-secrecy audit: a streaming reader of Postfix TLS log lines
//! and Received: headers. Every input line ends up in exactly one class, so
//! nothing is silently dropped; memory stays flat whatever the input size.

pub mod session;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem::Finder;
use serde::Serialize;

use session::{Direction, Session};

/// Distinct peers tracked for "top peers without forward secrecy"; beyond
/// this, further new peers are only counted, so memory stays bounded.
const MAX_PEERS: usize = 10_000;
const CHUNK: usize = 4 << 20;
/// A folded record (log record or Received: header) longer than this
/// stops growing: its further fold lines are counted, their text dropped.
/// Real ones are a few hundred bytes.
const MAX_FOLDED: usize = 64 << 10;

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

/// Counts per distinct value. A handful of values each, so a linear scan
/// beats a tree or a hash on the hot path; serialised sorted by value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally(Vec<(String, u64)>);

/// Distinct values a tally keeps; real logs have a few dozen ciphers or
/// groups, a hostile one could invent millions (and make the linear scan
/// quadratic). The rest is counted under OTHER_VALUES.
const MAX_TALLY: usize = 256;
/// Where values past MAX_TALLY are counted.
pub const OTHER_VALUES: &str = "(other values, past the limit)";

impl Tally {
    /// Counts `key` once, allocating only the first time it is seen.
    pub fn bump(&mut self, key: &str) {
        self.add_n(key, 1);
    }

    fn add_n(&mut self, key: &str, n: u64) {
        let key = match self.0.iter().position(|(k, _)| k == key) {
            Some(i) => return self.0[i].1 += n,
            None if self.0.len() < MAX_TALLY => key,
            None => OTHER_VALUES,
        };
        match self.0.iter().position(|(k, _)| k == key) {
            Some(i) => self.0[i].1 += n,
            None => self.0.push((key.to_owned(), n)),
        }
    }

    /// Adds another tally's counts.
    pub fn add(&mut self, other: Tally) {
        for (k, n) in other.0 {
            self.add_n(&k, n);
        }
    }

    /// The count for `key`.
    pub fn get(&self, key: &str) -> u64 {
        self.0.iter().find(|(k, _)| k == key).map_or(0, |(_, n)| *n)
    }

    /// Entries sorted by count, largest first.
    pub fn by_count(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.0.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v
    }
}

impl Serialize for Tally {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sorted: BTreeMap<&str, u64> = self.0.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        sorted.serialize(s)
    }
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
    pub by_direction: Tally,
    /// Sessions by protocol version.
    pub protocols: Tally,
    /// Sessions by cipher.
    pub ciphers: Tally,
    /// Sessions by key exchange (normalised group names).
    pub key_exchange: Tally,
    /// Of which hybrid post-quantum groups.
    pub hybrid_pq: u64,
    /// Log sessions by trust level.
    pub trust: Tally,
    /// TLS failures by kind.
    pub failures: Tally,
    /// Postfix Received: headers without TLS (plaintext hops).
    pub received_plaintext: u64,
    /// Received: headers from other MTAs (not Postfix's format).
    pub received_foreign: u64,
    /// Sessions without forward secrecy per peer (top entries when printed).
    pub peers_without_fs: BTreeMap<String, u64>,
    /// Sessions whose peer was not tracked because of the peer limit.
    pub peers_untracked: u64,
    /// Limits hit on hostile or broken input, so nothing is dropped in
    /// silence: records longer than the read buffer (4 MiB), cut where a
    /// line ends or skipped to the next line; folded records capped at
    /// 64 KiB of text.
    pub limits: Limits,
}

/// How often each input limit was hit.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Records over 4 MiB that were split at a line end.
    pub records_split: u64,
    /// Lines over 4 MiB, counted as one line each and otherwise skipped.
    pub lines_skipped: u64,
    /// Folded records whose text was capped at 64 KiB.
    pub folds_capped: u64,
}

impl Limits {
    fn add(&mut self, o: &Limits) {
        self.records_split += o.records_split;
        self.lines_skipped += o.lines_skipped;
        self.folds_capped += o.folds_capped;
    }

    /// Whether any limit was hit.
    pub fn any(&self) -> bool {
        *self != Limits::default()
    }
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

/// What a line's first marker says it is.
const ESTABLISHED: usize = 0;
const UNPARSED_MARKERS: [&str; 2] = ["(using TLS", " with cipher "];

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
    /// Cores to use; the second works through a helper auditor.
    threads: usize,
    helper: Option<Box<Auditor>>,
    prefilter: Prefilter,
    /// " TLS connection established ", then FAILURES, then UNPARSED_MARKERS.
    markers: AhoCorasick,
    postfix_tag: Finder<'static>,
}

/// Finds the next line worth a closer look. The packed SIMD (Teddy)
/// searcher skips unrelated text at memory speed where the CPU has it
/// (x86_64, aarch64); elsewhere (armhf, ppc64el, s390x, riscv64...) the
/// general automaton, with the same patterns and the same answers.
enum Prefilter {
    Packed(aho_corasick::packed::Searcher),
    Portable(AhoCorasick),
}

impl Prefilter {
    fn patterns() -> impl Iterator<Item = &'static str> {
        std::iter::once(" TLS connection established ")
            .chain(FAILURES)
            .chain(UNPARSED_MARKERS)
            .chain(["Received:"])
    }

    fn new(portable: bool) -> Prefilter {
        let packed = (!portable)
            .then(|| {
                aho_corasick::packed::Config::new()
                    .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
                    .builder()
                    .extend(Self::patterns())
                    .build()
            })
            .flatten();
        match packed {
            Some(s) => Prefilter::Packed(s),
            None => Prefilter::Portable(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(Self::patterns())
                    .expect("static patterns"),
            ),
        }
    }

    fn find(&self, haystack: &[u8]) -> Option<aho_corasick::Match> {
        match self {
            Prefilter::Packed(s) => s.find(haystack),
            Prefilter::Portable(a) => a.find(haystack),
        }
    }
}

impl Default for Auditor {
    fn default() -> Self {
        Auditor::new()
    }
}

impl Auditor {
    /// A fresh auditor.
    pub fn new() -> Auditor {
        Auditor::with_prefilter(false)
    }

    /// A fresh auditor that uses the portable prefilter even where the SIMD
    /// one is available: what other architectures run, for tests.
    pub fn portable() -> Auditor {
        Auditor::with_prefilter(true)
    }

    fn with_prefilter(portable: bool) -> Auditor {
        Auditor {
            report: Report::default(),
            peers: HashMap::new(),
            pending: Pending::None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(2)),
            helper: None,
            // Any line worth a closer look contains one of these.
            prefilter: Prefilter::new(portable),
            markers: AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .build(
                    std::iter::once(" TLS connection established ")
                        .chain(FAILURES)
                        .chain(UNPARSED_MARKERS),
                )
                .expect("static patterns"),
            postfix_tag: Finder::new("postfix/").into_owned(),
        }
    }

    /// Reads a whole stream, a chunk at a time, in memory bounded by the
    /// chunk whatever the input (no newline at all, endless folds).
    pub fn read(&mut self, mut input: impl Read) -> std::io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0;
        // Inside a line longer than the buffer: drop bytes up to its end.
        let mut skipping = false;
        loop {
            if filled == buf.len() {
                // A record longer than the buffer: cut it at its last line
                // end, or, with none, skip the line (counted once).
                match memchr::memrchr(b'\n', &buf[..filled]) {
                    Some(i) => {
                        self.report.limits.records_split += 1;
                        self.block(&buf[..=i], false);
                        buf.copy_within(i + 1..filled, 0);
                        filled -= i + 1;
                    }
                    None => {
                        filled = 0;
                        skipping = true;
                    }
                }
            }
            let n = input.read(&mut buf[filled..])?;
            if n == 0 {
                if skipping {
                    self.skipped_line();
                }
                if filled > 0 {
                    self.block(&buf[..filled], true);
                }
                self.finish_pending();
                return Ok(());
            }
            if skipping {
                match memchr::memchr(b'\n', &buf[filled..filled + n]) {
                    Some(i) => {
                        self.skipped_line();
                        skipping = false;
                        buf.copy_within(filled + i + 1..filled + n, filled);
                        filled += n - i - 1;
                    }
                    None => continue,
                }
                continue;
            }
            filled += n;
            if filled < buf.len() / 2 {
                continue;
            }
            if let Some(cut) = record_boundary(&buf[..filled]) {
                self.block(&buf[..cut], false);
                buf.copy_within(cut..filled, 0);
                filled -= cut;
            }
        }
    }

    /// Reads a plain regular file through memory maps of `MAP_WINDOW` bytes
    /// at a time: no copies through a buffer, and memory bounded by the
    /// window, not the file. False (nothing read) when the file cannot be
    /// mapped; the caller then streams it.
    pub fn read_mapped(&mut self, file: &std::fs::File) -> std::io::Result<bool> {
        const MAP_WINDOW: u64 = 16 << 20;
        let len = file.metadata()?.len();
        let page = 4096u64;
        let mut pos = 0u64;
        while pos < len {
            let base = pos / page * page;
            let size = MAP_WINDOW.min(len - base);
            // SAFETY: mapped read-only. A log truncated while we read it
            // (logrotate's copytruncate) could fault; logs are appended to
            // and renamed in normal operation, which is safe.
            let map = match unsafe {
                memmap2::MmapOptions::new()
                    .offset(base)
                    .len(size as usize)
                    .map(file)
            } {
                Ok(m) => m,
                Err(_) if pos == 0 => return Ok(false),
                Err(e) => return Err(e),
            };
            let data = &map[(pos - base) as usize..];
            let last = base + size == len;
            // Stop at a record boundary; a window without one (a 16 MiB
            // record) is taken whole.
            let cut = if last {
                data.len()
            } else {
                record_boundary(data).unwrap_or(data.len())
            };
            self.block(&data[..cut], last);
            pos += cut as u64;
        }
        self.finish_pending();
        Ok(true)
    }

    /// Handles a block of whole records, on two cores when there are two:
    /// the halves are split where no record continues, so each half is
    /// independent, and the counts add up.
    fn block(&mut self, block: &[u8], eof: bool) {
        let split = (self.threads > 1 && block.len() >= 1 << 18)
            .then(|| record_boundary(&block[..block.len() / 2]))
            .flatten();
        let Some(mid) = split else {
            self.lines(block, eof);
            self.finish_pending();
            return;
        };
        let (first, second) = block.split_at(mid);
        let portable = matches!(self.prefilter, Prefilter::Portable(_));
        let mut helper = self.helper.take().unwrap_or_else(|| {
            let mut h = Auditor::with_prefilter(portable);
            h.threads = 1;
            Box::new(h)
        });
        std::thread::scope(|scope| {
            let worker = scope.spawn(move || {
                helper.lines(second, eof);
                helper.finish_pending();
                helper
            });
            self.lines(first, false);
            self.finish_pending();
            self.helper = Some(worker.join().expect("audit worker panicked"));
        });
    }

    /// The report so far (pending folded records included).
    pub fn finish(mut self) -> Report {
        self.finish_pending();
        if let Some(h) = self.helper.take() {
            self.absorb(*h);
        }
        let mut top: Vec<(String, u64)> = self.peers.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(20);
        self.report.peers_without_fs = top.into_iter().collect();
        self.report
    }

    /// Adds another auditor's counts to this one's.
    fn absorb(&mut self, mut other: Auditor) {
        other.finish_pending();
        let (r, o) = (&mut self.report, other.report);
        let (l, ol) = (&mut r.lines, o.lines);
        l.total += ol.total;
        l.session += ol.session;
        l.failure += ol.failure;
        l.received_other += ol.received_other;
        l.unparsed += ol.unparsed;
        l.other += ol.other;
        r.sessions += o.sessions;
        r.forward_secret += o.forward_secret;
        r.not_forward_secret += o.not_forward_secret;
        r.hybrid_pq += o.hybrid_pq;
        r.received_plaintext += o.received_plaintext;
        r.received_foreign += o.received_foreign;
        r.peers_untracked += o.peers_untracked;
        r.limits.add(&o.limits);
        for (mine, theirs) in [
            (&mut r.by_direction, o.by_direction),
            (&mut r.protocols, o.protocols),
            (&mut r.ciphers, o.ciphers),
            (&mut r.key_exchange, o.key_exchange),
            (&mut r.trust, o.trust),
            (&mut r.failures, o.failures),
        ] {
            mine.add(theirs);
        }
        for (peer, n) in other.peers {
            if let Some(m) = self.peers.get_mut(&peer) {
                *m += n;
            } else if self.peers.len() < MAX_PEERS {
                self.peers.insert(peer, n);
            } else {
                self.report.peers_untracked += n;
            }
        }
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
                        if m.pattern().as_usize() == ESTABLISHED
                            && self.session_in_place(block, start, at)
                        {
                            pos = memchr::memchr(b'\n', &block[at..])
                                .map_or(block.len(), |i| at + i)
                                + 1;
                            continue;
                        }
                    }
                }
            }
            let end = memchr::memchr(b'\n', &block[pos..]).map_or(block.len(), |i| pos + i);
            self.line(&block[pos..end]);
            pos = end + 1;
            // Only an indented line can continue a record: settle it now so
            // the next line goes back to the fast skip.
            if pos < block.len() && !matches!(block[pos], b' ' | b'\t') {
                self.finish_pending();
            }
        }
    }

    /// The common case, a whole session on one unfolded line, parsed where
    /// it lies without a copy. False when the slow path must handle it.
    fn session_in_place(&mut self, block: &[u8], start: usize, at: usize) -> bool {
        let end = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |i| at + i);
        // The next line may continue this record when indented (or unseen yet).
        if block.get(end + 1).is_none_or(|b| matches!(b, b' ' | b'\t')) {
            return false;
        }
        let from = block[start..at]
            .iter()
            .rposition(|b| matches!(b, b' ' | b'"' | b':'))
            .map_or(start, |j| start + j + 1);
        let Ok(text) = std::str::from_utf8(&block[from..end]) else {
            return false;
        };
        match session::parse_log_at(text.trim_end_matches(['"', '\r']), at - from) {
            Some(s) => {
                self.report.lines.total += 1;
                self.count_session(s, 1);
                true
            }
            None => false,
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
        if text.trim_start().starts_with("Received: ") {
            // A header starts its line (indented in quoted documentation);
            // "Received: " inside prose is not one.
            self.pending = Pending::Received {
                text: text.trim_start().to_owned(),
                lines: 1,
            };
            return;
        }
        let Some(m) = self.markers.find(text) else {
            self.report.lines.other += 1;
            return;
        };
        let id = m.pattern().as_usize();
        if id == ESTABLISHED {
            let i = m.start();
            let start = text[..i].rfind([' ', '"', ':']).map_or(0, |j| j + 1);
            self.pending = Pending::Log {
                text: text[start..].trim_end_matches('"').to_owned(),
                lines: 1,
            };
        } else if id <= FAILURES.len() {
            self.report.lines.failure += 1;
            self.report.failures.bump(FAILURES[id - 1]);
        } else {
            self.report.lines.unparsed += 1;
        }
    }

    fn skipped_line(&mut self) {
        self.report.limits.lines_skipped += 1;
        self.report.lines.total += 1;
        self.report.lines.other += 1;
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

    fn count_session(&mut self, s: Session<'_>, lines: u64) {
        let r = &mut self.report;
        r.lines.session += lines;
        r.sessions += 1;
        let dir = match s.direction {
            Direction::Inbound => "inbound (smtpd)",
            Direction::Outbound => "outbound (smtp)",
            Direction::ReceivedHeader => "Received: header",
        };
        r.by_direction.bump(dir);
        r.protocols.bump(s.protocol);
        r.ciphers.bump(s.cipher);
        if session::is_hybrid_pq(&s.key_exchange) {
            r.hybrid_pq += 1;
        }
        r.key_exchange.bump(&s.key_exchange);
        if let Some(t) = s.trust {
            r.trust.bump(t);
        }
        if s.forward_secret {
            r.forward_secret += 1;
        } else {
            r.not_forward_secret += 1;
            if let Some(n) = self.peers.get_mut(s.peer) {
                *n += 1;
            } else if self.peers.len() < MAX_PEERS {
                self.peers.insert(s.peer.to_owned(), 1);
            } else {
                r.peers_untracked += 1;
            }
        }
    }
}

/// Just past the last newline in `buf` that no later line can continue:
/// the next line exists and does not start with whitespace.
fn record_boundary(buf: &[u8]) -> Option<usize> {
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
    match std::str::from_utf8(raw) {
        Ok(s) => s.into(),
        Err(_) => String::from_utf8_lossy(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(copies: usize) -> Vec<u8> {
        let one = "Nov 29 10:00:00 mx postfix/smtpd[1]: connect from a.example[192.0.2.1]\n\
Nov 29 10:00:00 mx postfix/smtpd[1]: Anonymous TLS connection established from a.example[192.0.2.1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256\n\
    postfix/smtp[2]:\n      Untrusted TLS connection established to b.example[192.0.2.2]:25:\n      TLSv1.2 with cipher AES256-GCM-SHA384 (256/256 bits)\n\
Nov 29 10:00:01 mx postfix/smtpd[1]: lost connection after STARTTLS from c.example[192.0.2.3]\n\
Received: from d.example (d.example [192.0.2.4])\n\t(using TLSv1.2 with cipher DHE-RSA-AES256-SHA (256/256 bits))\n\t(No client certificate requested)\n\
Nov 29 10:00:02 mx postfix/qmgr[3]: ABC: removed\n";
        one.repeat(copies).into_bytes()
    }

    fn run(input: &[u8], threads: usize) -> Report {
        let mut a = Auditor::new();
        a.threads = threads;
        a.read(input).unwrap();
        a.finish()
    }

    #[test]
    fn a_line_longer_than_the_buffer_is_skipped_and_counted_once() {
        let mut input = vec![b'a'; 9 << 20];
        input.extend_from_slice(b"\n");
        input.extend(sample(1));
        let r = run(&input, 1);
        let plain = run(&sample(1), 1);
        assert_eq!(r.limits.lines_skipped, 1);
        assert_eq!(r.lines.total, plain.lines.total + 1);
        assert_eq!(r.sessions, plain.sessions);
        // No newline at all, up to the end.
        let r = run(&vec![b'x'; 9 << 20], 1);
        assert_eq!((r.lines.total, r.limits.lines_skipped), (1, 1));
    }

    #[test]
    fn endless_folds_are_capped_but_every_line_is_counted() {
        let mut input = b"Received: from d.example (d.example [192.0.2.4])\n".to_vec();
        for _ in 0..200_000 {
            input.extend_from_slice(b"\t(a fold that never ends)\n");
        }
        let r = run(&input, 1);
        assert_eq!(r.lines.total, 200_001);
        assert_eq!(r.limits.folds_capped, 1);
        assert!(r.limits.records_split >= 1, "{:?}", r.limits);
        let l = &r.lines;
        assert_eq!(
            l.session + l.failure + l.received_other + l.unparsed + l.other,
            l.total
        );
    }

    #[test]
    fn a_flood_of_invented_values_is_counted_not_kept() {
        let mut t = Tally::default();
        for i in 0..100_000 {
            t.bump(&format!("CIPHER-{i}"));
        }
        assert_eq!(t.0.len(), MAX_TALLY + 1);
        assert_eq!(t.get(OTHER_VALUES), 100_000 - MAX_TALLY as u64);
    }

    #[test]
    fn two_cores_count_exactly_what_one_core_counts() {
        // Large enough for several chunks and the two-thread split.
        let input = sample(40_000);
        let one = run(&input, 1);
        let two = run(&input, 2);
        assert_eq!(one.lines, two.lines);
        assert_eq!(one.lines.total, 10 * 40_000);
        assert_eq!((one.sessions, two.sessions), (120_000, 120_000));
        // Tallies may list values in another order; compare sorted.
        assert_eq!(one.key_exchange.by_count(), two.key_exchange.by_count());
        assert_eq!(one.key_exchange.get("X25519"), 40_000);
        assert_eq!(one.failures.get("lost connection after STARTTLS"), 40_000);
        assert_eq!(two.failures.get("lost connection after STARTTLS"), 40_000);
        assert_eq!(one.peers_without_fs, two.peers_without_fs);
        assert_eq!(one.forward_secret, two.forward_secret);
    }
}
