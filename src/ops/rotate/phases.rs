//! How long each phase of a run took: `now --json` (`phases`), the
//! journal's RUN_SUMMARY (the same document) and the `-v` log line
//! "run phases". An operator sees where a slow run spent its time, and
//! which part of it was Postfix's own (`check`, `reload`, the wait for new
//! smtpd processes in `verification`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// One phase of a run (docs/DESIGN.md "One rotation").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Instances, versions, the mode, the plan and the posture's judgement.
    Plan,
    /// Fresh groups: the pool, the search or the RFC 7919 catalog.
    Source,
    /// Proving them (or finding their proof in the verdict cache).
    Validation,
    /// `postfix check` before any change.
    PreCheck,
    /// Staging the edits and `postconf`'s confirmation of them.
    Confirm,
    /// The atomic writes of groups and configuration.
    Write,
    /// `postfix check` after the edits.
    Check,
    /// `postfix status` and `postfix reload`.
    Reload,
    /// The handshakes that show what each listener serves.
    Verification,
    /// The `[[hook]]`s.
    Hooks,
}

/// Time spent per phase, in the order the phases first ran; a phase that
/// runs more than once (per group, per instance) adds up.
#[derive(Debug, Default)]
pub struct PhaseClock(Mutex<Vec<(Phase, Duration)>>);

/// One phase's total, for `now --json`.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseTime {
    /// The phase.
    pub phase: Phase,
    /// Milliseconds spent in it.
    pub ms: f64,
}

impl PhaseClock {
    /// Runs `f`, counting its time to `phase`.
    pub fn time<T>(&self, phase: Phase, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.add(phase, start.elapsed());
        out
    }

    fn add(&self, phase: Phase, took: Duration) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match all.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, total)) => *total += took,
            None => all.push((phase, took)),
        }
    }

    /// Each phase that ran, with its total.
    pub fn times(&self) -> Vec<PhaseTime> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.iter()
            .map(|(phase, took)| PhaseTime {
                phase: *phase,
                ms: (took.as_secs_f64() * 10_000.0).round() / 10.0,
            })
            .collect()
    }

    /// "plan 12.0 ms, source 0.3 ms, ...", for the log.
    pub fn describe(&self) -> String {
        self.times()
            .iter()
            .map(|t| {
                let name = serde_json::to_value(t.phase)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                format!("{name} {:.1} ms", t.ms)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_add_up_in_the_order_they_first_ran() {
        let clock = PhaseClock::default();
        clock.time(Phase::Source, || {
            std::thread::sleep(Duration::from_millis(5))
        });
        clock.time(Phase::Validation, || ());
        clock.time(Phase::Source, || {
            std::thread::sleep(Duration::from_millis(5))
        });
        let times = clock.times();
        let order: Vec<Phase> = times.iter().map(|t| t.phase).collect();
        assert_eq!(order, [Phase::Source, Phase::Validation]);
        assert!(times[0].ms >= 10.0, "{times:?}");
        assert!(
            clock.describe().starts_with("source "),
            "{}",
            clock.describe()
        );
        assert!(
            clock.describe().contains(", validation "),
            "{}",
            clock.describe()
        );
    }
}
