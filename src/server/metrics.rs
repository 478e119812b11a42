//! Service metrics in the Prometheus text exposition format, hand-rolled.
//!
//! A dozen counters and two histogram families do not justify a metrics stack (a global
//! registry, macros, an exporter crate): atomics are updated on the hot path without locks, and
//! `/metrics` formats them on demand. Names follow `callscribe_<noun>_<unit>`; every label has
//! a small fixed set of values (reasons, statuses, error kinds, stages), never ids.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::ErrorKind;
use crate::result::{RecordingResult, Status};

/// Why a notification POST was not accepted (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    Unauthorized,
    Forbidden,
    InvalidBody,
    TooLarge,
    TooManyNotifications,
    TooManyOperations,
    QueueFull,
    ShuttingDown,
}

impl Reject {
    const ALL: [Reject; 8] = [
        Self::Unauthorized,
        Self::Forbidden,
        Self::InvalidBody,
        Self::TooLarge,
        Self::TooManyNotifications,
        Self::TooManyOperations,
        Self::QueueFull,
        Self::ShuttingDown,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::InvalidBody => "invalid_notification",
            Self::TooLarge => "too_large",
            Self::TooManyNotifications => "too_many_notifications",
            Self::TooManyOperations => "too_many_operations",
            Self::QueueFull => "queue_full",
            Self::ShuttingDown => "shutting_down",
        }
    }
}

/// The stages with a latency histogram: `queue` (wait for a worker), the processor's stage
/// timings, and `deliver` (all sinks).
const STAGES: [&str; 8] = [
    "queue",
    "download",
    "decode",
    "resample",
    "trim",
    "transcribe",
    "total",
    "deliver",
];

/// Upper bounds of the stage histogram buckets, in seconds (1 ms … 2 min: a Graph recording
/// is at most 2 min and whisper may take about as long on a slow machine).
const STAGE_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

/// Upper bounds of the response-time buckets, in seconds (100 µs … 1 s: the target is a
/// p99 below 5 ms).
const RESPONSE_BUCKETS: [f64; 11] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1.0,
];

/// Sinks with a delivery-failure counter.
pub(crate) const SINKS: [&str; 3] = ["stdout", "results_dir", "callback"];

/// A fixed-bucket histogram. Counts are per bucket (not cumulative) so an observation is one
/// increment; `render` accumulates.
struct Histogram<const N: usize> {
    bounds: &'static [f64; N],
    counts: [AtomicU64; N],
    /// Observations above the last bound (the `+Inf` bucket minus the rest).
    overflow: AtomicU64,
    /// Sum of observations in nanoseconds (u64 ns overflows after 584 years).
    sum_ns: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    fn new(bounds: &'static [f64; N]) -> Self {
        Self {
            bounds,
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            overflow: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
        }
    }

    fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        match self.bounds.iter().position(|&b| s <= b) {
            Some(i) => self.counts[i].fetch_add(1, Ordering::Relaxed),
            None => self.overflow.fetch_add(1, Ordering::Relaxed),
        };
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.overflow.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Every counter and histogram of the service.
pub(crate) struct Metrics {
    pub(crate) received: AtomicU64,
    pub(crate) accepted: AtomicU64,
    rejected: [AtomicU64; Reject::ALL.len()],
    pub(crate) operations_accepted: AtomicU64,
    pub(crate) operations_duplicate: AtomicU64,
    pub(crate) operations_ignored: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    finished: [AtomicU64; 3],
    failed_by_kind: [AtomicU64; ErrorKind::ALL.len()],
    delivery_failures: [AtomicU64; SINKS.len()],
    stages: [Histogram<{ STAGE_BUCKETS.len() }>; STAGES.len()],
    response: Histogram<{ RESPONSE_BUCKETS.len() }>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            received: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            rejected: std::array::from_fn(|_| AtomicU64::new(0)),
            operations_accepted: AtomicU64::new(0),
            operations_duplicate: AtomicU64::new(0),
            operations_ignored: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            finished: std::array::from_fn(|_| AtomicU64::new(0)),
            failed_by_kind: std::array::from_fn(|_| AtomicU64::new(0)),
            delivery_failures: std::array::from_fn(|_| AtomicU64::new(0)),
            stages: std::array::from_fn(|_| Histogram::new(&STAGE_BUCKETS)),
            response: Histogram::new(&RESPONSE_BUCKETS),
        }
    }
}

/// Values read at scrape time rather than counted.
pub(crate) struct Gauges {
    pub(crate) queue_depth: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) bytes_downloaded: u64,
    pub(crate) ready: bool,
}

fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub(crate) fn reject(&self, reason: Reject) {
        if let Some(i) = Reject::ALL.iter().position(|r| *r == reason) {
            inc(&self.rejected[i]);
        }
    }

    pub(crate) fn observe_response(&self, d: Duration) {
        self.response.observe(d);
    }

    /// Records a stage duration; unknown stage names are ignored.
    pub(crate) fn observe_stage(&self, stage: &str, d: Duration) {
        if let Some(i) = STAGES.iter().position(|s| *s == stage) {
            self.stages[i].observe(d);
        }
    }

    /// Records a finished job: its status, its error kind, and its stage timings.
    pub(crate) fn record_result(&self, result: &RecordingResult) {
        let i = match result.status {
            Status::Ok => 0,
            Status::NoSpeech => 1,
            Status::Failed => 2,
        };
        inc(&self.finished[i]);
        if let Some(error) = &result.error {
            if let Some(k) = ErrorKind::ALL.iter().position(|k| *k == error.kind) {
                inc(&self.failed_by_kind[k]);
            }
        }
        for (stage, ms) in &result.timings_ms {
            if ms.is_finite() && *ms >= 0.0 {
                self.observe_stage(stage, Duration::from_secs_f64(ms / 1e3));
            }
        }
    }

    pub(crate) fn delivery_failed(&self, sink: &str) {
        if let Some(i) = SINKS.iter().position(|s| *s == sink) {
            inc(&self.delivery_failures[i]);
        }
    }

    /// Results produced so far.
    pub(crate) fn finished_total(&self) -> u64 {
        self.finished
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// The exposition text.
    pub(crate) fn render(&self, g: &Gauges) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            &mut out,
            "callscribe_notifications_received_total",
            "Notification POSTs received.",
            get(&self.received),
        );
        counter(
            &mut out,
            "callscribe_notifications_accepted_total",
            "Notification POSTs answered 202.",
            get(&self.accepted),
        );
        let _ = writeln!(
            out,
            "# HELP callscribe_notifications_rejected_total Notification POSTs refused, by reason.\n\
             # TYPE callscribe_notifications_rejected_total counter"
        );
        for (reason, c) in Reject::ALL.iter().zip(&self.rejected) {
            let _ = writeln!(
                out,
                "callscribe_notifications_rejected_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                get(c)
            );
        }
        counter(
            &mut out,
            "callscribe_operations_accepted_total",
            "Operations queued for processing.",
            get(&self.operations_accepted),
        );
        counter(
            &mut out,
            "callscribe_operations_duplicate_total",
            "Redelivered operations acknowledged without processing.",
            get(&self.operations_duplicate),
        );
        counter(
            &mut out,
            "callscribe_operations_ignored_total",
            "Notifications that are not finished record operations.",
            get(&self.operations_ignored),
        );
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        gauge(
            &mut out,
            "callscribe_queue_depth_jobs",
            "Jobs waiting for a worker.",
            g.queue_depth as u64,
        );
        gauge(
            &mut out,
            "callscribe_queue_capacity_jobs",
            "Jobs the queue holds at most.",
            g.queue_capacity as u64,
        );
        gauge(
            &mut out,
            "callscribe_jobs_in_flight",
            "Jobs being processed or delivered.",
            get(&self.in_flight),
        );
        gauge(
            &mut out,
            "callscribe_ready",
            "1 when /readyz answers 200.",
            u64::from(g.ready),
        );
        let _ = writeln!(
            out,
            "# HELP callscribe_jobs_finished_total Results produced, by status.\n\
             # TYPE callscribe_jobs_finished_total counter"
        );
        for (status, c) in ["ok", "no_speech", "failed"].iter().zip(&self.finished) {
            let _ = writeln!(
                out,
                "callscribe_jobs_finished_total{{status=\"{status}\"}} {}",
                get(c)
            );
        }
        let _ = writeln!(
            out,
            "# HELP callscribe_jobs_failed_total Failed results, by error kind.\n\
             # TYPE callscribe_jobs_failed_total counter"
        );
        for (kind, c) in ErrorKind::ALL.iter().zip(&self.failed_by_kind) {
            let _ = writeln!(
                out,
                "callscribe_jobs_failed_total{{kind=\"{kind}\"}} {}",
                get(c)
            );
        }
        let _ = writeln!(
            out,
            "# HELP callscribe_deliveries_failed_total Results a sink could not take, by sink.\n\
             # TYPE callscribe_deliveries_failed_total counter"
        );
        for (sink, c) in SINKS.iter().zip(&self.delivery_failures) {
            let _ = writeln!(
                out,
                "callscribe_deliveries_failed_total{{sink=\"{sink}\"}} {}",
                get(c)
            );
        }
        counter(
            &mut out,
            "callscribe_download_bytes_total",
            "Recording bytes downloaded.",
            g.bytes_downloaded,
        );
        let _ = writeln!(
            out,
            "# HELP callscribe_stage_duration_seconds Time per job stage (queue wait, processing stages, delivery).\n\
             # TYPE callscribe_stage_duration_seconds histogram"
        );
        for (stage, h) in STAGES.iter().zip(&self.stages) {
            h.render(
                &mut out,
                "callscribe_stage_duration_seconds",
                &format!("stage=\"{stage}\""),
            );
        }
        let _ = writeln!(
            out,
            "# HELP callscribe_notification_response_seconds Time to answer a notification POST.\n\
             # TYPE callscribe_notification_response_seconds histogram"
        );
        self.response
            .render(&mut out, "callscribe_notification_response_seconds", "");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe_response(Duration::from_micros(50));
        m.observe_response(Duration::from_micros(700));
        m.observe_response(Duration::from_secs(5));
        let text = m.render(&Gauges {
            queue_depth: 3,
            queue_capacity: 10,
            bytes_downloaded: 42,
            ready: true,
        });
        for line in [
            "callscribe_notification_response_seconds_bucket{le=\"0.0001\"} 1",
            "callscribe_notification_response_seconds_bucket{le=\"0.001\"} 2",
            "callscribe_notification_response_seconds_bucket{le=\"1\"} 2",
            "callscribe_notification_response_seconds_bucket{le=\"+Inf\"} 3",
            "callscribe_notification_response_seconds_count 3",
            "callscribe_queue_depth_jobs 3",
            "callscribe_download_bytes_total 42",
            "callscribe_notifications_rejected_total{reason=\"queue_full\"} 0",
            "callscribe_stage_duration_seconds_bucket{stage=\"download\",le=\"+Inf\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
        }
        // Every sample line is `name{labels} value` or `name value`.
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = l.rsplit_once(' ').expect("sample");
            assert!(name.starts_with("callscribe_"), "{l}");
            value.parse::<f64>().expect("number");
        }
    }

    #[test]
    fn results_update_status_kind_and_stages() {
        let m = Metrics::default();
        let mut r = RecordingResult::failed(
            Default::default(),
            crate::result::ErrorInfo {
                kind: ErrorKind::NotFound,
                message: "gone".into(),
            },
        );
        r.timings_ms.insert("download".into(), 12.0);
        m.record_result(&r);
        let text = m.render(&Gauges {
            queue_depth: 0,
            queue_capacity: 1,
            bytes_downloaded: 0,
            ready: false,
        });
        assert!(text.contains("callscribe_jobs_finished_total{status=\"failed\"} 1"));
        assert!(text.contains("callscribe_jobs_failed_total{kind=\"not_found\"} 1"));
        assert!(text.contains(
            "callscribe_stage_duration_seconds_bucket{stage=\"download\",le=\"0.025\"} 1"
        ));
        assert_eq!(m.finished_total(), 1);
    }
}
