//! Prometheus metrics of ingest, served as text on a plain-HTTP listener of their own
//! (`metrics-listen`; `GET /metrics`), apart from the mutual-TLS port: a scraper needs no
//! collector certificate, and scraping never takes a connection slot of the collectors.
//!
//! Every aggregator has its own registry (not the process-wide default), so that aggregators
//! in one process (tests, the benchmark) count apart. README.md ("Metrics") lists the metrics.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use tokio::net::TcpListener;

/// Why an upload was refused: the `reason` label of `exfleet_rejections_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Uploads in flight at their bound: RESOURCE_EXHAUSTED with retry-after.
    BackPressure,
    /// The certificate may not speak for the snapshot's computer.
    Identity,
    /// The message is larger than `max-message-bytes`.
    Size,
    /// `collected_at_ms` outside the sane window.
    Time,
    /// Not a valid upload: undecodable, no snapshot, an id that is not a file name.
    Invalid,
    /// The store could not make it durable (nothing acked).
    Storage,
}

impl Rejection {
    /// Every reason, in the order listed.
    pub const ALL: [Rejection; 6] = [
        Rejection::BackPressure,
        Rejection::Identity,
        Rejection::Size,
        Rejection::Time,
        Rejection::Invalid,
        Rejection::Storage,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Rejection::BackPressure => "back_pressure",
            Rejection::Identity => "identity",
            Rejection::Size => "size",
            Rejection::Time => "time",
            Rejection::Invalid => "invalid",
            Rejection::Storage => "storage",
        }
    }
}

/// The aggregator's metrics. Cheap to clone; clones share the values.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    stored: IntCounter,
    duplicates: IntCounter,
    stored_bytes: IntCounter,
    ack_seconds: Histogram,
    writes_in_flight: IntGauge,
    dataset_lag: IntGauge,
    rejections: IntCounterVec,
    collectors: IntGaugeVec,
    /// The collector version each collector identity last stored a snapshot with.
    versions: Arc<Mutex<HashMap<String, String>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics in a registry of their own.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("a valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("registered once");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("a valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("registered once");
            g
        };
        let stored = counter(
            "exfleet_snapshots_stored_total",
            "Snapshots newly stored durably and acked STORED.",
        );
        let duplicates = counter(
            "exfleet_snapshots_duplicate_total",
            "Uploads acked DUPLICATE: the snapshot id was already stored.",
        );
        let stored_bytes = counter(
            "exfleet_stored_bytes_total",
            "Bytes of the snapshots newly stored (the encoded StoredSnapshot).",
        );
        let writes_in_flight = gauge(
            "exfleet_writes_in_flight",
            "Snapshots being made durable now (waiting for the store or its batch).",
        );
        let dataset_lag = gauge(
            "exfleet_dataset_lag_snapshots",
            "Snapshots stored but not yet in a committed dataset batch.",
        );
        // From 1 ms to about 16 s: one fsync on a fast disk to a long back-pressure queue.
        let ack_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "exfleet_ack_seconds",
                "Time from an upload's snapshot received to its ack (STORED or DUPLICATE).",
            )
            .buckets(prometheus::exponential_buckets(0.001, 2.0, 15).expect("valid buckets")),
        )
        .expect("a valid metric");
        registry
            .register(Box::new(ack_seconds.clone()))
            .expect("registered once");
        let rejections = IntCounterVec::new(
            Opts::new(
                "exfleet_rejections_total",
                "Uploads refused, nothing stored, by reason.",
            ),
            &["reason"],
        )
        .expect("a valid metric");
        registry
            .register(Box::new(rejections.clone()))
            .expect("registered once");
        // Every reason shows from the start, at 0: a rate over a series that appears only
        // at its first refusal misses that refusal.
        for r in Rejection::ALL {
            rejections.with_label_values(&[r.label()]);
        }
        let collectors = IntGaugeVec::new(
            Opts::new(
                "exfleet_collectors",
                "Collector identities seen since start, by the collector version of the last \
                 snapshot each stored.",
            ),
            &["version"],
        )
        .expect("a valid metric");
        registry
            .register(Box::new(collectors.clone()))
            .expect("registered once");
        Metrics {
            registry,
            stored,
            duplicates,
            stored_bytes,
            ack_seconds,
            writes_in_flight,
            dataset_lag,
            rejections,
            collectors,
            versions: Arc::default(),
        }
    }

    /// A snapshot newly stored: `bytes` encoded, sent by `collector` running `version`.
    pub fn stored(&self, bytes: usize, collector: &str, version: &str) {
        self.stored.inc();
        self.stored_bytes.inc_by(bytes as u64);
        let mut versions = self.versions.lock().expect("versions lock");
        let version = version_label(version);
        // Series stay few: past the cap, a new version is counted as "other".
        let labels: Vec<String> = prometheus::core::Collector::collect(&self.collectors)
            .iter()
            .flat_map(|f| f.get_metric())
            .flat_map(|m| m.get_label().iter().map(|l| l.value().to_string()))
            .collect();
        let version = match version {
            v if labels.len() >= MAX_VERSIONS && !labels.iter().any(|l| l == v) => "other",
            v => v,
        };
        let before = versions.insert(collector.to_string(), version.to_string());
        if before.as_deref() != Some(version) {
            if let Some(old) = before {
                let gauge = self.collectors.with_label_values(&[old.as_str()]);
                gauge.dec();
                if gauge.get() <= 0 {
                    let _ = self.collectors.remove_label_values(&[old.as_str()]);
                }
            }
            self.collectors.with_label_values(&[version]).inc();
        }
    }

    /// An upload acked DUPLICATE.
    pub fn duplicate(&self) {
        self.duplicates.inc();
    }

    /// An ack sent `after` the snapshot was received.
    pub fn acked(&self, after: Duration) {
        self.ack_seconds.observe(after.as_secs_f64());
    }

    /// An upload refused.
    pub fn rejected(&self, why: Rejection) {
        self.rejections.with_label_values(&[why.label()]).inc();
    }

    /// The gauge of writes in flight.
    pub fn writes_in_flight(&self) -> &IntGauge {
        &self.writes_in_flight
    }

    /// The gauge of the dataset's lag (set by the flusher).
    pub fn dataset_lag(&self) -> &IntGauge {
        &self.dataset_lag
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("metrics encode as text");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// Serves `GET /metrics` (HTTP/1.1, plain) on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("metrics listener: accepting failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(answer(&metrics, &req)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service);
            // A scraper that stalls is dropped after a while, not kept forever.
            match tokio::time::timeout(Duration::from_secs(30), conn).await {
                Ok(Err(e)) => tracing::debug!(%peer, "metrics connection: {e}"),
                Err(_) => tracing::debug!(%peer, "metrics connection closed after 30 s"),
                Ok(Ok(())) => {}
            }
        });
    }
}

fn answer<B>(metrics: &Metrics, req: &Request<B>) -> Response<Full<Bytes>> {
    let (status, body) = match (req.method(), req.uri().path()) {
        (&hyper::Method::GET, "/metrics") => (StatusCode::OK, metrics.render()),
        (_, "/metrics") => (
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET /metrics\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "metrics are at /metrics\n".to_string(),
        ),
    };
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, prometheus::TEXT_FORMAT)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

/// Distinct `version` labels of `exfleet_collectors` before new ones are counted as "other".
const MAX_VERSIONS: usize = 64;

/// The label of a collector's version (sent by the collector, so untrusted): "unknown" when
/// empty, "invalid" unless 1 to 32 of `[0-9A-Za-z.+-]` (a version string, not any bytes).
fn version_label(version: &str) -> &str {
    match version {
        "" => "unknown",
        v if v.len() <= 32
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-')) =>
        {
            v
        }
        _ => "invalid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collectors_are_counted_once_by_their_last_version() {
        let m = Metrics::new();
        m.stored(10, "ex01", "1.0.0");
        m.stored(10, "ex01", "1.0.0");
        m.stored(10, "ex02", "1.0.0");
        m.stored(10, "ex01", "1.1.0");
        m.stored(10, "ex03", "");
        m.stored(10, "ex04", "1.0.0 <script>");
        for n in 0..100 {
            m.stored(10, &format!("many{n}"), &format!("9.{n}"));
        }
        let text = m.render();
        let series = text
            .lines()
            .filter(|l| l.starts_with("exfleet_collectors{"))
            .count();
        assert!(series <= MAX_VERSIONS + 1, "{series} series");
        assert!(text.contains("exfleet_collectors{version=\"other\"}"));
        assert!(!text.contains("exfleet_collectors{version=\"1.0.0 <script>\"}"));
        for line in [
            "exfleet_collectors{version=\"1.0.0\"} 1",
            "exfleet_collectors{version=\"1.1.0\"} 1",
            "exfleet_collectors{version=\"unknown\"} 1",
            "exfleet_collectors{version=\"invalid\"} 1",
            "exfleet_snapshots_stored_total 106",
            "exfleet_stored_bytes_total 1060",
            "exfleet_rejections_total{reason=\"back_pressure\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
