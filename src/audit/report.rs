//! The audit's counts: every line's class, per-value tallies bounded
//! against hostile input, the limits that were hit, and how two halves
//! read on two cores add up.

use std::collections::BTreeMap;

use serde::Serialize;

use super::session::{self, Direction, Session};
use super::{Auditor, MAX_PEERS};

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
pub struct Tally(pub(super) Vec<(String, u64)>);

/// Distinct values a tally keeps; real logs have a few dozen ciphers or
/// groups, a hostile one could invent millions (and make the linear scan
/// quadratic). The rest is counted under OTHER_VALUES.
pub(super) const MAX_TALLY: usize = 256;
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
pub struct AuditReport {
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

impl AuditReport {
    /// Share of sessions with forward secrecy, in percent.
    pub fn fs_percent(&self) -> f64 {
        if self.sessions == 0 {
            0.0
        } else {
            100.0 * self.forward_secret as f64 / self.sessions as f64
        }
    }
}

impl Auditor {
    pub(super) fn count_session(&mut self, s: Session<'_>, lines: u64) {
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

    /// Adds another auditor's counts to this one's.
    pub(super) fn absorb(&mut self, mut other: Auditor) {
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
}
