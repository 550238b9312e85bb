//! The office's Prometheus metrics (OpenMetrics text exposition, served at `GET /metrics` on the
//! caseworker listener): counters and histograms that the HTTP layer and the use cases move as
//! things happen, and gauges read from storage at scrape time ([`Snapshot`]).
//!
//! No label carries personal data: labels are route templates (never a raw path, which holds ids
//! and search words), HTTP methods and status codes, problem type slugs, message kinds, handover
//! states, results, and office ids (public AGS codes). Account names are staff names: never a
//! label. The registry lives beside the office (the service layer holds it); the domain knows
//! nothing of it.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::OfficeId;
use crate::domain::delivery::{IncomingState, OutgoingState};
use crate::storage::{HandoverCounts, PendingOutbox};

/// The media type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    listener: &'static str,
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    listener: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InboxLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    kind: &'static str,
    destination: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindResultLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DestinationLabels {
    destination: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabels {
    listener: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandoverLabels {
    direction: &'static str,
    state: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// What a delivery attempt brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// The receiver's receipt came back and checked.
    Delivered,
    /// A transient failure (network, 5xx, timeout): tried again later.
    Retry,
    /// The receiver refused the message for good (4xx).
    Refused,
    /// Given up without an attempt: expired before delivery, or the destination left the
    /// directory.
    GivenUp,
}

impl AttemptResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry => "retry",
            Self::Refused => "refused",
            Self::GivenUp => "given-up",
        }
    }
}

/// Why a login failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Unknown or disabled account, or wrong password (which, is not told).
    Credentials,
    /// Refused before the password was checked: too many failures before.
    Throttled,
}

impl LoginFailure {
    fn as_str(self) -> &'static str {
        match self {
            Self::Credentials => "credentials",
            Self::Throttled => "throttled",
        }
    }
}

/// What is read from storage at scrape time. `None` where it could not be read (the database
/// did not answer): those gauges are then left out of the exposition.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Whether the office is ready (as `/readyz` says).
    pub ready: bool,
    /// The offices messages may go to (the directory's, without this office): each gets a line
    /// of the outbox gauges, 0 when nothing waits for it.
    pub destinations: Vec<OfficeId>,
    pub outbox: Option<Vec<PendingOutbox>>,
    /// The instant the ages of waiting messages are measured at.
    pub now: chrono::DateTime<chrono::Utc>,
    pub handovers: Option<HandoverCounts>,
}

/// The metrics of one office.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: HistogramFamily<RouteLabels>,
    inbox: Family<InboxLabels, Counter>,
    attempts: Family<AttemptLabels, Counter>,
    attempt_duration: HistogramFamily<KindResultLabels>,
    delivery_latency: HistogramFamily<KindLabels>,
    login_failures: Family<ReasonLabels, Counter>,
    certificate_end: Family<ListenerLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Request and round-trip times: 1 ms to about 16 s.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// From queueing to receipt: 0.1 s to about 7 hours.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.1, 4.0, 10))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "staffel_http_requests",
            "HTTP requests answered, by listener, method, route template and status code",
            requests.clone(),
        );
        let request_duration = HistogramFamily::<RouteLabels>::new_with_constructor(seconds_buckets);
        registry.register(
            "staffel_http_request_duration_seconds",
            "Time to answer an HTTP request, by listener and route template",
            request_duration.clone(),
        );
        let inbox = Family::<InboxLabels, Counter>::default();
        registry.register(
            "staffel_federation_inbox",
            "Signed messages received from other offices, by kind and result: accepted, or the problem type refusing it",
            inbox.clone(),
        );
        let attempts = Family::<AttemptLabels, Counter>::default();
        registry.register(
            "staffel_delivery_attempts",
            "Delivery attempts of signed messages, by kind, destination office and result",
            attempts.clone(),
        );
        let attempt_duration = HistogramFamily::<KindResultLabels>::new_with_constructor(seconds_buckets);
        registry.register(
            "staffel_delivery_attempt_duration_seconds",
            "Round trip of a delivery attempt to another office, by kind and result",
            attempt_duration.clone(),
        );
        let delivery_latency = HistogramFamily::<KindLabels>::new_with_constructor(latency_buckets);
        registry.register(
            "staffel_delivery_latency_seconds",
            "Time from queueing a signed message to its checked receipt, by kind",
            delivery_latency.clone(),
        );
        let login_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "staffel_login_failures",
            "Failed logins (API and web pages), by reason: credentials or throttled",
            login_failures.clone(),
        );
        let certificate_end = Family::<ListenerLabels, Gauge>::default();
        registry.register(
            "staffel_tls_certificate_not_after_seconds",
            "End of validity (notAfter) of the leaf TLS certificate, as a Unix timestamp, by listener: federation, \
             and api where the caseworker listener has a certificate of its own",
            certificate_end.clone(),
        );
        Self {
            registry,
            requests,
            request_duration,
            inbox,
            attempts,
            attempt_duration,
            delivery_latency,
            login_failures,
            certificate_end,
        }
    }

    /// The end of validity of the leaf TLS certificate of `listener` (`federation` or `api`), read
    /// at start.
    pub fn certificate_ends(&self, listener: &'static str, not_after: chrono::DateTime<chrono::Utc>) {
        self.certificate_end.get_or_create(&ListenerLabels { listener }).set(not_after.timestamp());
    }

    /// An answered HTTP request. `route` is the matched route template (or `unmatched`), never
    /// the path of the request.
    pub fn request(
        &self,
        listener: &'static str,
        method: &axum::http::Method,
        route: &str,
        status: u16,
        took: Duration,
    ) {
        let route = route.to_owned();
        self.requests
            .get_or_create(&RequestLabels { listener, method: method_label(method), route: route.clone(), status })
            .inc();
        self.request_duration.get_or_create(&RouteLabels { listener, route }).observe(took.as_secs_f64());
    }

    /// A message from another office: `result` is `accepted` or the refusing problem type's slug.
    pub fn inbox(&self, kind: &'static str, result: &'static str) {
        self.inbox.get_or_create(&InboxLabels { kind, result }).inc();
    }

    /// A delivery attempt, with its round trip if a request was made.
    pub fn delivery_attempt(
        &self,
        kind: &'static str,
        destination: OfficeId,
        result: AttemptResult,
        round_trip: Option<Duration>,
    ) {
        let labels = AttemptLabels { kind, destination: destination.to_string(), result: result.as_str() };
        self.attempts.get_or_create(&labels).inc();
        if let Some(took) = round_trip {
            let labels = KindResultLabels { kind, result: result.as_str() };
            self.attempt_duration.get_or_create(&labels).observe(took.as_secs_f64());
        }
    }

    /// A message's checked receipt arrived `latency` after it was queued.
    pub fn delivered_after(&self, kind: &'static str, latency: Duration) {
        self.delivery_latency.get_or_create(&KindLabels { kind }).observe(latency.as_secs_f64());
    }

    pub fn login_failed(&self, reason: LoginFailure) {
        self.login_failures.get_or_create(&ReasonLabels { reason: reason.as_str() }).inc();
    }

    /// The exposition: the counters and histograms, then the gauges of `snapshot`.
    pub fn encode(&self, snapshot: &Snapshot) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let gauges = gauges(snapshot);
        let mut text = String::new();
        // Writing to a String does not fail; the encoder fails only on a writer's error.
        let _ = encode_registry(&mut text, &self.registry);
        let _ = encode_registry(&mut text, &gauges);
        let _ = encode_eof(&mut text);
        text
    }
}

/// The gauges of one scrape, in a registry of their own (built afresh, so that a destination or
/// state that is gone leaves no stale line).
fn gauges(snapshot: &Snapshot) -> Registry {
    let mut registry = Registry::default();
    let ready = Gauge::<i64>::default();
    ready.set(i64::from(snapshot.ready));
    registry.register("staffel_ready", "1 when the office can work (as /readyz answers ok), else 0", ready);
    if let Some(pending) = &snapshot.outbox {
        let depth = Family::<DestinationLabels, Gauge>::default();
        let age = Family::<DestinationLabels, Gauge<f64, AtomicU64>>::default();
        for office in &snapshot.destinations {
            let labels = DestinationLabels { destination: office.to_string() };
            depth.get_or_create(&labels).set(0);
            age.get_or_create(&labels).set(0.0);
        }
        for p in pending {
            let labels = DestinationLabels { destination: p.destination.to_string() };
            depth.get_or_create(&labels).set(i64::try_from(p.messages).unwrap_or(i64::MAX));
            let waited = (snapshot.now - p.oldest_created_at).to_std().unwrap_or_default();
            age.get_or_create(&labels).set(waited.as_secs_f64());
        }
        registry.register(
            "staffel_outbox_pending_messages",
            "Signed messages waiting for delivery (neither delivered nor given up), by destination office",
            depth,
        );
        registry.register(
            "staffel_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting for delivery, by destination office (0 when none waits)",
            age,
        );
    }
    if let Some(counts) = &snapshot.handovers {
        let handovers = Family::<HandoverLabels, Gauge>::default();
        for state in OutgoingState::ALL {
            let n = counts.outgoing.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
            let labels = HandoverLabels { direction: "outgoing", state: state.as_str() };
            handovers.get_or_create(&labels).set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        for state in IncomingState::ALL {
            let n = counts.incoming.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
            let labels = HandoverLabels { direction: "incoming", state: state.as_str() };
            handovers.get_or_create(&labels).set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        registry.register(
            "staffel_handovers",
            "Handovers stored, by direction (outgoing: sent from here; incoming: received) and state",
            handovers,
        );
    }
    registry
}

/// A request's method as a label: the standard methods by name, anything else as `other` (a
/// client could otherwise make up any number of label values).
fn method_label(method: &axum::http::Method) -> &'static str {
    const STANDARD: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];
    STANDARD.into_iter().find(|m| *m == method.as_str()).unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_holds_counters_histograms_and_the_snapshot() {
        let m = Metrics::new();
        let get = axum::http::Method::GET;
        m.request("api", &get, "/api/v1/clients/{id}", 200, Duration::from_millis(3));
        m.request("api", &axum::http::Method::from_bytes(b"BREW").unwrap(), "unmatched", 404, Duration::ZERO);
        m.inbox("handover", "accepted");
        m.delivery_attempt("handover", OfficeId::parse("08221000").unwrap(), AttemptResult::Retry, None);
        m.login_failed(LoginFailure::Throttled);
        m.certificate_ends("federation", "2027-03-01T12:00:00Z".parse().unwrap());
        let now: chrono::DateTime<chrono::Utc> = "2026-11-25T09:30:00Z".parse().unwrap();
        let snapshot = Snapshot {
            ready: true,
            destinations: vec![OfficeId::parse("08221000").unwrap(), OfficeId::parse("08311000").unwrap()],
            outbox: Some(vec![PendingOutbox {
                destination: OfficeId::parse("08221000").unwrap(),
                messages: 2,
                oldest_created_at: now - chrono::Duration::seconds(90),
            }]),
            now,
            handovers: Some(HandoverCounts { outgoing: vec![(OutgoingState::Draft, 3)], incoming: vec![] }),
        };
        let text = m.encode(&snapshot);
        for line in [
            r#"staffel_http_requests_total{listener="api",method="GET",route="/api/v1/clients/{id}",status="200"} 1"#,
            r#"staffel_http_requests_total{listener="api",method="other",route="unmatched",status="404"} 1"#,
            r#"staffel_http_request_duration_seconds_count{listener="api",route="/api/v1/clients/{id}"} 1"#,
            r#"staffel_federation_inbox_total{kind="handover",result="accepted"} 1"#,
            r#"staffel_delivery_attempts_total{kind="handover",destination="08221000",result="retry"} 1"#,
            r#"staffel_login_failures_total{reason="throttled"} 1"#,
            r#"staffel_tls_certificate_not_after_seconds{listener="federation"} 1803902400"#,
            "staffel_ready 1",
            r#"staffel_outbox_pending_messages{destination="08221000"} 2"#,
            r#"staffel_outbox_pending_messages{destination="08311000"} 0"#,
            r#"staffel_outbox_oldest_pending_age_seconds{destination="08221000"} 90.0"#,
            r#"staffel_handovers{direction="outgoing",state="draft"} 3"#,
            r#"staffel_handovers{direction="outgoing",state="accepted"} 0"#,
            r#"staffel_handovers{direction="incoming",state="received"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no line {line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(text.matches("# EOF").count(), 1);
        assert!(!text.contains(r#"listener="api"}"#), "no api certificate was set:\n{text}");
    }

    #[test]
    fn gauges_read_from_a_database_that_did_not_answer_are_left_out() {
        let text = Metrics::new().encode(&Snapshot::default());
        assert!(text.lines().any(|l| l == "staffel_ready 0"), "{text}");
        assert!(!text.contains("staffel_outbox_") && !text.contains("staffel_handovers{"), "{text}");
    }
}
