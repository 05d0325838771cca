//! Which class each line or record is: a TLS session, a failure, a
//! Received: header without TLS details, something TLS-like that does not
//! parse, or unrelated. A prefilter skips unrelated text at memory speed.

use aho_corasick::{AhoCorasick, MatchKind};

use super::Auditor;
use super::records::{ESTABLISHED, FAILURES, Pending, UNPARSED_MARKERS, decode};
use super::session;

/// Finds the next line worth a closer look. The packed SIMD (Teddy)
/// searcher skips unrelated text at memory speed where the CPU has it
/// (x86_64, aarch64); elsewhere (armhf, ppc64el, s390x, riscv64...) the
/// general automaton, with the same patterns and the same answers.
pub(super) enum Prefilter {
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

    pub(super) fn new(portable: bool) -> Prefilter {
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

    pub(super) fn find(&self, haystack: &[u8]) -> Option<aho_corasick::Match> {
        match self {
            Prefilter::Packed(s) => s.find(haystack),
            Prefilter::Portable(a) => a.find(haystack),
        }
    }
}

impl Auditor {
    /// Handles complete lines in `block` (ending with '\n' unless `eof`).
    pub(super) fn lines(&mut self, block: &[u8], eof: bool) {
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
    pub(super) fn session_in_place(&mut self, block: &[u8], start: usize, at: usize) -> bool {
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

    pub(super) fn skipped_line(&mut self) {
        self.report.limits.lines_skipped += 1;
        self.report.lines.total += 1;
        self.report.lines.other += 1;
    }

    pub(super) fn finish_pending(&mut self) {
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
}
