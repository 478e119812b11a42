//! Service metrics: `prometheus-client` families, exposed in the Prometheus text format.
//!
//! The [`Registry`] belongs to the service's [`Metrics`] (owned by its state), not to the
//! process: two services in one process, such as tests or a bot mounting the router twice,
//! never share counts. Names follow `callscribe_<noun>_<unit>`; every label is a typed value
//! with a small fixed set of values (reasons, statuses, error kinds, stages, sinks), never an
//! id, and every series exists from the first scrape (with 0) so rates need no warm-up. The
//! order of a family's series in the text is the crate's (a hash map's), as Prometheus allows.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use prometheus_client::encoding::{
    prometheus_text, EncodeLabelSet, EncodeLabelValue, LabelValueEncoder,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::error::ErrorKind;
use crate::result::{RecordingResult, Stage, Status};

/// Why a notification POST was not accepted (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Reject {
    Unauthorized,
    Forbidden,
    InvalidBody,
    TooLarge,
    TooManyNotifications,
    TooManyOperations,
    QueueFull,
    ShuttingDown,
    /// The shared queue (Redis) could not be reached. Its series exists only in Redis mode,
    /// so the in-memory exposition is unchanged.
    QueueUnavailable,
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
            Self::QueueUnavailable => "queue_unavailable",
        }
    }
}

/// A step of a job with a latency histogram (the `stage` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum JobStage {
    /// Waiting in the queue for a worker.
    Queue,
    /// A stage the processor timed, from the result's `timings_ms`.
    Processing(Stage),
    /// Handing the result to every sink.
    Deliver,
}

impl JobStage {
    /// The series that exist from the start: what a service job goes through. (`read` is
    /// batch mode's file read; a runner that reported one would add its series.)
    const ALL: [JobStage; 8] = [
        Self::Queue,
        Self::Processing(Stage::Download),
        Self::Processing(Stage::Decode),
        Self::Processing(Stage::Resample),
        Self::Processing(Stage::Trim),
        Self::Processing(Stage::Transcribe),
        Self::Processing(Stage::Total),
        Self::Deliver,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::Processing(stage) => stage.as_str(),
            Self::Deliver => "deliver",
        }
    }
}

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

/// The result sinks, each with a delivery-failure counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Sink {
    /// JSON Lines on standard output.
    Stdout,
    /// One file per result in `results_dir`.
    ResultsDir,
    /// The signed callback POST.
    Callback,
}

impl Sink {
    /// Every sink, in exposition order.
    pub(crate) const ALL: [Sink; 3] = [Self::Stdout, Self::ResultsDir, Self::Callback];

    /// The label value and log field: `stdout`, `results_dir`, `callback`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::ResultsDir => "results_dir",
            Self::Callback => "callback",
        }
    }
}

// Label values are the snake_case names used everywhere else (JSON, logs).

impl EncodeLabelValue for Reject {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(self.as_str())
    }
}

impl EncodeLabelValue for JobStage {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(self.as_str())
    }
}

impl EncodeLabelValue for ErrorKind {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(self.as_str())
    }
}

impl EncodeLabelValue for Sink {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(self.as_str())
    }
}

impl EncodeLabelValue for Status {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        encoder.write_str(match self {
            Status::Ok => "ok",
            Status::NoSpeech => "no_speech",
            Status::Failed => "failed",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: Reject,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabel {
    status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabel {
    kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SinkLabel {
    sink: Sink,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StageLabel {
    stage: JobStage,
}

/// A stage histogram (a `Histogram` has no default buckets; a family builds one per stage).
fn stage_histogram() -> Histogram {
    Histogram::new(STAGE_BUCKETS)
}

/// Every counter, gauge and histogram of the service, and the registry that exposes them.
///
/// The metric handles share their values with the registry (they are `Arc`s inside), so the
/// hot path updates an atomic (a short lock for a histogram) and `/metrics` encodes on demand.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) received: Counter,
    pub(crate) accepted: Counter,
    rejected: Family<ReasonLabel, Counter>,
    pub(crate) operations_accepted: Counter,
    pub(crate) operations_duplicate: Counter,
    pub(crate) operations_ignored: Counter,
    queue_depth: Gauge,
    queue_capacity: Gauge,
    pub(crate) in_flight: Gauge,
    ready: Gauge,
    finished: Family<StatusLabel, Counter>,
    failed_by_kind: Family<KindLabel, Counter>,
    delivery_failures: Family<SinkLabel, Counter>,
    bytes_downloaded: Counter,
    stages: Family<StageLabel, Histogram, fn() -> Histogram>,
    response: Histogram,
    /// The shared queue's metrics; `None` without Redis (and then not exposed).
    pub(crate) stream: Option<StreamMetrics>,
}

/// Metrics of the shared queue (Redis mode only).
#[derive(Default)]
pub(crate) struct StreamMetrics {
    /// Stream entries: jobs waiting or running, fleet-wide (polled each second).
    pub(crate) length: Gauge,
    /// Entries delivered to a worker and not acknowledged yet, fleet-wide (polled).
    pub(crate) pending: Gauge,
    /// 1 while Redis answers.
    pub(crate) up: Gauge,
    /// Jobs this replica took over from a worker that stopped renewing its claim.
    pub(crate) takeovers: Counter,
    /// Jobs this replica found too old to download (`expired` results).
    pub(crate) expired: Counter,
    /// Entries this replica could not read at all (no operation id): logged and dropped.
    pub(crate) malformed: Counter,
    /// Entries trimmed by age before any worker took them.
    pub(crate) trimmed: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let m = Self {
            registry: Registry::default(),
            received: Counter::default(),
            accepted: Counter::default(),
            rejected: Family::default(),
            operations_accepted: Counter::default(),
            operations_duplicate: Counter::default(),
            operations_ignored: Counter::default(),
            queue_depth: Gauge::default(),
            queue_capacity: Gauge::default(),
            in_flight: Gauge::default(),
            ready: Gauge::default(),
            finished: Family::default(),
            failed_by_kind: Family::default(),
            delivery_failures: Family::default(),
            bytes_downloaded: Counter::default(),
            stages: Family::new_with_constructor(stage_histogram as fn() -> Histogram),
            response: Histogram::new(RESPONSE_BUCKETS),
            stream: None,
        };
        m.register()
    }
}

/// Values read at scrape time rather than counted.
pub(crate) struct Gauges {
    pub(crate) queue_depth: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) bytes_downloaded: u64,
    pub(crate) ready: bool,
}

impl Metrics {
    /// The service's metrics, with the shared queue's families when `redis` is true.
    pub(crate) fn new(redis: bool) -> Self {
        let mut m = Self::default();
        if redis {
            let stream = StreamMetrics::default();
            drop(m.rejected.get_or_create(&ReasonLabel {
                reason: Reject::QueueUnavailable,
            }));
            let r = &mut m.registry;
            r.register(
                "callscribe_stream_length_jobs",
                "Entries in the shared job stream: waiting and running jobs of the fleet",
                stream.length.clone(),
            );
            r.register(
                "callscribe_stream_pending_jobs",
                "Stream entries delivered to a worker and not yet acknowledged",
                stream.pending.clone(),
            );
            r.register(
                "callscribe_redis_up",
                "1 while Redis answers",
                stream.up.clone(),
            );
            r.register(
                "callscribe_takeovers",
                "Jobs taken over from a worker that stopped renewing its claim",
                stream.takeovers.clone(),
            );
            r.register(
                "callscribe_jobs_expired",
                "Jobs older than redis.job_max_age_s, not downloaded",
                stream.expired.clone(),
            );
            r.register(
                "callscribe_stream_malformed",
                "Stream entries without a readable operation id, dropped",
                stream.malformed.clone(),
            );
            r.register(
                "callscribe_stream_trimmed",
                "Stream entries trimmed by age before any worker took them",
                stream.trimmed.clone(),
            );
            m.stream = Some(stream);
        }
        m
    }

    /// Creates every labelled series and registers every metric, in exposition order.
    ///
    /// Names are given without the `_total` that the encoder appends to counters, and help
    /// texts without the full stop it appends.
    fn register(mut self) -> Self {
        // Every label value gets its series now (the guard only reads it), so it is scraped,
        // as 0, before it first happens.
        for reason in Reject::ALL {
            drop(self.rejected.get_or_create(&ReasonLabel { reason }));
        }
        for status in [Status::Ok, Status::NoSpeech, Status::Failed] {
            drop(self.finished.get_or_create(&StatusLabel { status }));
        }
        for kind in ErrorKind::ALL {
            drop(self.failed_by_kind.get_or_create(&KindLabel { kind }));
        }
        for sink in Sink::ALL {
            drop(self.delivery_failures.get_or_create(&SinkLabel { sink }));
        }
        for stage in JobStage::ALL {
            drop(self.stages.get_or_create(&StageLabel { stage }));
        }

        let r = &mut self.registry;
        r.register(
            "callscribe_notifications_received",
            "Notification POSTs received",
            self.received.clone(),
        );
        r.register(
            "callscribe_notifications_accepted",
            "Notification POSTs answered 202",
            self.accepted.clone(),
        );
        r.register(
            "callscribe_notifications_rejected",
            "Notification POSTs refused, by reason",
            self.rejected.clone(),
        );
        r.register(
            "callscribe_operations_accepted",
            "Operations queued for processing",
            self.operations_accepted.clone(),
        );
        r.register(
            "callscribe_operations_duplicate",
            "Redelivered operations acknowledged without processing",
            self.operations_duplicate.clone(),
        );
        r.register(
            "callscribe_operations_ignored",
            "Notifications that are not finished record operations",
            self.operations_ignored.clone(),
        );
        r.register(
            "callscribe_queue_depth_jobs",
            "Jobs waiting for a worker",
            self.queue_depth.clone(),
        );
        r.register(
            "callscribe_queue_capacity_jobs",
            "Jobs the queue holds at most",
            self.queue_capacity.clone(),
        );
        r.register(
            "callscribe_jobs_in_flight",
            "Jobs being processed or delivered",
            self.in_flight.clone(),
        );
        r.register(
            "callscribe_ready",
            "1 when /readyz answers 200",
            self.ready.clone(),
        );
        r.register(
            "callscribe_jobs_finished",
            "Results produced, by status",
            self.finished.clone(),
        );
        r.register(
            "callscribe_jobs_failed",
            "Failed results, by error kind",
            self.failed_by_kind.clone(),
        );
        r.register(
            "callscribe_deliveries_failed",
            "Results a sink could not take, by sink",
            self.delivery_failures.clone(),
        );
        r.register(
            "callscribe_download_bytes",
            "Recording bytes downloaded",
            self.bytes_downloaded.clone(),
        );
        r.register(
            "callscribe_stage_duration_seconds",
            "Time per job stage (queue wait, processing stages, delivery)",
            self.stages.clone(),
        );
        r.register(
            "callscribe_notification_response_seconds",
            "Time to answer a notification POST",
            self.response.clone(),
        );
        self
    }

    pub(crate) fn reject(&self, reason: Reject) {
        self.rejected.get_or_create(&ReasonLabel { reason }).inc();
    }

    pub(crate) fn observe_response(&self, d: Duration) {
        self.response.observe(d.as_secs_f64());
    }

    /// Records how long a job spent in `stage`.
    pub(crate) fn observe_stage(&self, stage: JobStage, d: Duration) {
        self.stages
            .get_or_create(&StageLabel { stage })
            .observe(d.as_secs_f64());
    }

    /// Records a finished job: its status, its error kind, and its stage timings.
    pub(crate) fn record_result(&self, result: &RecordingResult) {
        let status = result.status;
        self.finished.get_or_create(&StatusLabel { status }).inc();
        if let Some(error) = &result.error {
            let kind = error.kind;
            self.failed_by_kind.get_or_create(&KindLabel { kind }).inc();
        }
        for (stage, ms) in result.timings_ms.iter() {
            if ms.is_finite() && ms >= 0.0 {
                let d = Duration::from_secs_f64(ms / 1e3);
                self.observe_stage(JobStage::Processing(stage), d);
            }
        }
    }

    /// Counts a result that `sink` could not take.
    pub(crate) fn delivery_failed(&self, sink: Sink) {
        self.delivery_failures
            .get_or_create(&SinkLabel { sink })
            .inc();
    }

    /// Results produced so far.
    pub(crate) fn finished_total(&self) -> u64 {
        [Status::Ok, Status::NoSpeech, Status::Failed]
            .into_iter()
            .map(|status| self.finished.get_or_create(&StatusLabel { status }).get())
            .sum()
    }

    /// The exposition text (Prometheus text format 0.0.4).
    pub(crate) fn render(&self, g: &Gauges) -> String {
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.queue_depth.set(as_i64(g.queue_depth));
        self.queue_capacity.set(as_i64(g.queue_capacity));
        self.ready.set(i64::from(g.ready));
        // The runner keeps the byte total; the counter mirrors it (it only grows).
        self.bytes_downloaded
            .inner()
            .store(g.bytes_downloaded, Ordering::Relaxed);
        let mut out = String::with_capacity(8 * 1024);
        if let Err(e) = prometheus_text::encode(&mut out, &self.registry) {
            // Writing to a String cannot fail, nor can the label values above.
            tracing::error!("encoding the metrics failed: {e}");
        }
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
        r.timings_ms.set(Stage::Download, 12.0);
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

    /// The exposition keeps the names, types, help texts and series it had before
    /// `prometheus-client`: dashboards and alerts keep working.
    #[test]
    fn exposition_keeps_names_types_help_and_series() {
        let text = Metrics::default().render(&Gauges {
            queue_depth: 0,
            queue_capacity: 1,
            bytes_downloaded: 0,
            ready: false,
        });
        let families = [
            (
                "callscribe_notifications_received_total",
                "counter",
                "Notification POSTs received.",
            ),
            (
                "callscribe_notifications_accepted_total",
                "counter",
                "Notification POSTs answered 202.",
            ),
            (
                "callscribe_notifications_rejected_total",
                "counter",
                "Notification POSTs refused, by reason.",
            ),
            (
                "callscribe_operations_accepted_total",
                "counter",
                "Operations queued for processing.",
            ),
            (
                "callscribe_operations_duplicate_total",
                "counter",
                "Redelivered operations acknowledged without processing.",
            ),
            (
                "callscribe_operations_ignored_total",
                "counter",
                "Notifications that are not finished record operations.",
            ),
            (
                "callscribe_queue_depth_jobs",
                "gauge",
                "Jobs waiting for a worker.",
            ),
            (
                "callscribe_queue_capacity_jobs",
                "gauge",
                "Jobs the queue holds at most.",
            ),
            (
                "callscribe_jobs_in_flight",
                "gauge",
                "Jobs being processed or delivered.",
            ),
            ("callscribe_ready", "gauge", "1 when /readyz answers 200."),
            (
                "callscribe_jobs_finished_total",
                "counter",
                "Results produced, by status.",
            ),
            (
                "callscribe_jobs_failed_total",
                "counter",
                "Failed results, by error kind.",
            ),
            (
                "callscribe_deliveries_failed_total",
                "counter",
                "Results a sink could not take, by sink.",
            ),
            (
                "callscribe_download_bytes_total",
                "counter",
                "Recording bytes downloaded.",
            ),
            (
                "callscribe_stage_duration_seconds",
                "histogram",
                "Time per job stage (queue wait, processing stages, delivery).",
            ),
            (
                "callscribe_notification_response_seconds",
                "histogram",
                "Time to answer a notification POST.",
            ),
        ];
        let expected: Vec<String> = families
            .iter()
            .flat_map(|(name, kind, help)| {
                [
                    format!("# HELP {name} {help}"),
                    format!("# TYPE {name} {kind}"),
                ]
            })
            .collect();
        let comments: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(comments, expected);

        // Every series, with its labels; a histogram's as `_count` (its buckets are checked
        // above).
        let mut series = vec![
            "callscribe_notifications_received_total".to_owned(),
            "callscribe_notifications_accepted_total".to_owned(),
            "callscribe_operations_accepted_total".to_owned(),
            "callscribe_operations_duplicate_total".to_owned(),
            "callscribe_operations_ignored_total".to_owned(),
            "callscribe_queue_depth_jobs".to_owned(),
            "callscribe_queue_capacity_jobs".to_owned(),
            "callscribe_jobs_in_flight".to_owned(),
            "callscribe_ready".to_owned(),
            "callscribe_download_bytes_total".to_owned(),
            "callscribe_notification_response_seconds_count".to_owned(),
        ];
        let labelled = |name: &str, label: &str, values: &[&str]| {
            values
                .iter()
                .map(|v| format!("{name}{{{label}=\"{v}\"}}"))
                .collect::<Vec<_>>()
        };
        series.extend(labelled(
            "callscribe_notifications_rejected_total",
            "reason",
            &[
                "unauthorized",
                "forbidden",
                "invalid_notification",
                "too_large",
                "too_many_notifications",
                "too_many_operations",
                "queue_full",
                "shutting_down",
            ],
        ));
        series.extend(labelled(
            "callscribe_jobs_finished_total",
            "status",
            &["ok", "no_speech", "failed"],
        ));
        let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        series.extend(labelled("callscribe_jobs_failed_total", "kind", &kinds));
        series.extend(labelled(
            "callscribe_deliveries_failed_total",
            "sink",
            &["stdout", "results_dir", "callback"],
        ));
        series.extend(labelled(
            "callscribe_stage_duration_seconds_count",
            "stage",
            &[
                "queue",
                "download",
                "decode",
                "resample",
                "trim",
                "transcribe",
                "total",
                "deliver",
            ],
        ));
        let mut found: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.contains("_bucket") && !l.contains("_sum"))
            .filter_map(|l| l.rsplit_once(' ').map(|(name, _)| name))
            .collect();
        found.sort_unstable();
        series.sort_unstable();
        assert_eq!(found, series);
        for stage in ["queue", "deliver"] {
            let buckets = format!("callscribe_stage_duration_seconds_bucket{{stage=\"{stage}\",");
            let n = text.lines().filter(|l| l.starts_with(&buckets)).count();
            assert_eq!(n, STAGE_BUCKETS.len() + 1, "{stage}");
        }
    }
}
