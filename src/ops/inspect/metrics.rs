//! Prometheus metrics: the status as node_exporter's textfile collector
//! reads it (`[metrics] textfile`, written atomically after every `now`,
//! every daemon run and every `status`), or on stdout (`status --format
//! prometheus`). One `dhrotate_` prefix, base units, the exposition format
//! 0.0.4 with label values escaped. Alert rules on these names ship in
//! packaging/prometheus/dhrotate-rules.yml.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::config::Settings;
use crate::dh::pool::Pool;
use crate::guidelines::Rating;
use crate::ops::inspect::posture::Posture;
use crate::ops::inspect::status::{GroupStatus, StatusReport};
use crate::ops::inspect::verify::ListenerCheck;
use crate::sys::fsutil::{self, FileMode};
use crate::sys::state::State;

/// A label value as the exposition format wants it: `\`, `"` and newline
/// escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out(String);

impl Out {
    /// Every metric dhrotate exports is a gauge.
    fn gauge(&mut self, name: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} gauge");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", l.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// The metrics of one status report; `pool`: groups ready per size.
pub fn render(report: &StatusReport, pool: &[(u32, usize)]) -> String {
    let mut o = Out(String::new());
    info(&mut o, report);
    if let Some(last) = &report.last_run {
        last_run(&mut o, last);
    }
    groups(&mut o, &report.groups);
    listeners(&mut o, &report.listeners);
    o.gauge(
        "dhrotate_problems",
        "Problems `dhrotate status` reports (exit 6 when not 0).",
    );
    o.sample("dhrotate_problems", &[], report.problems.len() as f64);
    pool_groups(&mut o, pool);
    if let Some(p) = &report.posture {
        posture(&mut o, p);
    }
    o.0
}

fn info(o: &mut Out, report: &StatusReport) {
    let versions = report.versions.as_ref();
    let postfix = versions.map_or_else(|| "unknown".into(), |v| v.postfix.to_string());
    let openssl = versions
        .and_then(|v| v.openssl)
        .map_or_else(|| "unknown".into(), |v| v.to_string());
    let mode = report.mode.as_ref().map_or("unknown", |d| d.mode.name());
    o.gauge(
        "dhrotate_info",
        "dhrotate, Postfix and OpenSSL versions and the mode in effect (always 1).",
    );
    o.sample(
        "dhrotate_info",
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("postfix", &postfix),
            ("openssl", &openssl),
            ("mode", mode),
        ],
        1.0,
    );
}

fn last_run(o: &mut Out, last: &State) {
    let runs = [
        (
            "dhrotate_last_run_timestamp_seconds",
            "When the last run finished, whatever its outcome.",
            last.last_run as f64,
        ),
        (
            "dhrotate_last_success_timestamp_seconds",
            "When the last successful run finished (0: none yet).",
            last.last_success as f64,
        ),
        (
            "dhrotate_last_run_success",
            "1 when the last run succeeded, 0 when it failed.",
            flag(last.outcome.succeeded()),
        ),
        (
            "dhrotate_last_run_duration_seconds",
            "How long the last run took.",
            last.duration_ms as f64 / 1000.0,
        ),
    ];
    for (name, help, value) in runs {
        o.gauge(name, help);
        o.sample(name, &[], value);
    }
    if !last.hooks.is_empty() {
        o.gauge(
            "dhrotate_hook_success",
            "Each [[hook]], the last time hooks ran: 1 when it exited 0 and its endpoint served the new group.",
        );
        for h in &last.hooks {
            o.sample("dhrotate_hook_success", &[("hook", &h.name)], flag(h.ok));
        }
    }
}

fn groups(o: &mut Out, groups: &[GroupStatus]) {
    o.gauge(
        "dhrotate_group_info",
        "Each configured group: its prime size in bits and its file (always 1).",
    );
    for g in groups {
        let file = g.file.to_string_lossy();
        let bits = g.bits.to_string();
        let labels = [("group", g.name.as_str()), ("bits", &bits), ("file", &file)];
        o.sample("dhrotate_group_info", &labels, 1.0);
    }
    o.gauge(
        "dhrotate_group_age_seconds",
        "Age of each group's file (groups with a file dhrotate manages).",
    );
    for g in groups {
        if let Some(age) = g.age_seconds {
            let file = g.file.to_string_lossy();
            let labels = [("group", g.name.as_str()), ("file", &file)];
            o.sample("dhrotate_group_age_seconds", &labels, age as f64);
        }
    }
    o.gauge(
        "dhrotate_group_stale",
        "1 when a group's file is older than max_age.",
    );
    for g in groups {
        o.sample("dhrotate_group_stale", &[("group", &g.name)], flag(g.stale));
    }
    o.gauge(
        "dhrotate_group_valid",
        "1 when a group's file passes validation (0 also when it is not used, as in auto mode).",
    );
    for g in groups {
        o.sample("dhrotate_group_valid", &[("group", &g.name)], flag(g.valid));
    }
}

fn listeners(o: &mut Out, listeners: &[ListenerCheck]) {
    o.gauge(
        "dhrotate_listener_serving_group",
        "1 when a local listener serves exactly its group's prime.",
    );
    for l in listeners {
        let labels = [
            ("addr", l.endpoint.addr.as_str()),
            ("group", &l.endpoint.group),
        ];
        o.sample("dhrotate_listener_serving_group", &labels, flag(l.ok()));
    }
}

fn pool_groups(o: &mut Out, pool: &[(u32, usize)]) {
    o.gauge(
        "dhrotate_pool_groups",
        "Validated groups ready in the pool, per size.",
    );
    for (bits, n) in pool {
        let bits = bits.to_string();
        o.sample("dhrotate_pool_groups", &[("bits", &bits)], *n as f64);
    }
}

/// One sample per rating, 1 for the one the posture has, so an alert can
/// match on the label.
fn posture(o: &mut Out, p: &Posture) {
    o.gauge(
        "dhrotate_posture_rating",
        "The worst rating of the key exchange under the guideline (1 for the rating it has).",
    );
    for r in [
        Rating::Good,
        Rating::Sufficient,
        Rating::PhaseOut,
        Rating::Insufficient,
    ] {
        let rating = r.to_string();
        let labels = [("guideline", p.guideline.name()), ("rating", &rating)];
        o.sample(
            "dhrotate_posture_rating",
            &labels,
            flag(p.rating == Some(r)),
        );
    }
}

/// Writes `text` to `path` atomically (temp file in the same directory,
/// then rename), so node_exporter never reads half a file.
pub fn write_textfile(path: &Path, text: &str) -> Result<()> {
    fsutil::write_atomic(path, text.as_bytes(), FileMode::PUBLIC)
        .with_context(|| format!("writing the metrics file {}", path.display()))
}

/// With `[metrics] textfile` set: the status now, rendered and written.
/// `now` and the daemon call it after every run, whatever its outcome;
/// a metrics failure is returned to be logged, never a reason to undo a
/// run.
pub fn refresh(settings: &Settings, report: Option<&StatusReport>) -> Result<()> {
    let Some(path) = &settings.metrics_textfile else {
        return Ok(());
    };
    let built;
    let report = match report {
        Some(r) => r,
        None => {
            built = crate::ops::inspect::status::build(settings, std::time::SystemTime::now());
            &built
        }
    };
    write_textfile(path, &text(settings, report))
}

/// The metrics of `report`, with the pool counted for `settings`.
pub fn text(settings: &Settings, report: &StatusReport) -> String {
    let pool = Pool::new(&settings.state_dir)
        .ready(&settings.group_sizes())
        .unwrap_or_default();
    render(report, &pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
        let mut o = Out(String::new());
        o.sample("m", &[("file", "/etc/\"q\".pem")], 1.0);
        assert_eq!(o.0, "m{file=\"/etc/\\\"q\\\".pem\"} 1\n");
    }
}
