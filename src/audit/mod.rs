//! The forward-secrecy audit: a streaming reader of Postfix TLS log lines
//! and Received: headers. Every input line ends up in exactly one class, so
//! nothing is silently dropped; memory stays flat whatever the input size.
//!
//! By concern: `read` (files, gzip, memory maps, stdin, in bounded
//! chunks, on two cores), `records` (a record's lines: prefixes, folding,
//! journald JSON), `classify` (which class each record is), `session`
//! (one TLS session's fields and the forward-secrecy rule), `report`
//! (the counts and their limits).

mod classify;
mod read;
mod records;
mod report;
pub mod session;

use std::collections::HashMap;

use aho_corasick::AhoCorasick;
use memchr::memmem::Finder;

pub use read::read_paths;
pub use report::{AuditReport, Limits, LineCounts, OTHER_VALUES, Tally};

use classify::Prefilter;
use records::Pending;

/// Distinct peers tracked for "top peers without forward secrecy"; beyond
/// this, further new peers are only counted, so memory stays bounded.
const MAX_PEERS: usize = 10_000;

/// Reads lines and accumulates a report.
pub struct Auditor {
    report: AuditReport,
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
            report: AuditReport::default(),
            peers: HashMap::new(),
            pending: Pending::None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(2)),
            helper: None,
            // Any line worth a closer look contains one of these.
            prefilter: Prefilter::new(portable),
            markers: records::markers(),
            postfix_tag: Finder::new("postfix/").into_owned(),
        }
    }

    /// The report so far (pending folded records included).
    pub fn finish(mut self) -> AuditReport {
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
}

#[cfg(test)]
mod tests {
    use super::report::MAX_TALLY;
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

    fn run(input: &[u8], threads: usize) -> AuditReport {
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
