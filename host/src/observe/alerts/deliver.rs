//! Webhook delivery: a bounded queue, one worker task, signed POSTs retried
//! with exponential backoff.
//!
//! Each POST carries the alert as its JSON body and:
//! - `x-edgewaf-timestamp`: Unix seconds when this attempt was signed;
//! - `x-edgewaf-signature`: `sha256=` and the lowercase hex HMAC-SHA256, keyed
//!   by the tenant's secret, of `{timestamp}.{body}`;
//! - `x-edgewaf-alert-id`: the alert's id (the same on every retry).
//!
//! A 2xx answer delivers; anything else (or no answer in 5 s) is retried after
//! 0.5 s, 1 s, 2 s, ... up to `attempts` tries, then counted as failed.

use super::Alert;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prometheus_client::metrics::counter::Counter;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Where a tenant's alerts go, with its signing secret (never logged).
#[derive(Clone)]
pub struct Target {
    uri: http::Uri,
    secret: Arc<[u8]>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("uri", &self.uri)
            .field("secret", &"***")
            .finish()
    }
}

impl Target {
    /// A webhook URL and its HMAC key.
    pub fn new(uri: http::Uri, secret: Vec<u8>) -> Self {
        Target {
            uri,
            secret: secret.into(),
        }
    }
}

/// `sha256=<hex>` over `{timestamp}.{body}`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Delivery counters (exported as `edgewaf_alerts_*_total`; clones share).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Alerts a receiver accepted.
    pub sent: Counter,
    /// Attempts that failed and were retried.
    pub retries: Counter,
    /// Alerts given up after the last attempt.
    pub failed: Counter,
    /// Alerts dropped because the queue was full.
    pub dropped: Counter,
}

impl Counters {
    /// Registers the four counters as `edgewaf_alerts_{sent,retries,failed,dropped}`.
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        let all = [
            (
                "edgewaf_alerts_sent",
                "Alerts a webhook receiver accepted (2xx)",
                &self.sent,
            ),
            (
                "edgewaf_alerts_retries",
                "Webhook attempts that failed and were retried",
                &self.retries,
            ),
            (
                "edgewaf_alerts_failed",
                "Alerts given up after the last attempt",
                &self.failed,
            ),
            (
                "edgewaf_alerts_dropped",
                "Alerts dropped because the delivery queue was full",
                &self.dropped,
            ),
        ];
        for (name, help, counter) in all {
            registry.register(name, help, counter.clone());
        }
    }
}

/// Retry schedule.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Tries in all (at least 1).
    pub attempts: u32,
    /// Wait after the first failure; doubles each time.
    pub first: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 5,
            first: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

struct Job {
    target: Target,
    alert: Alert,
}

/// The queue's sending side; cloned into every place that raises alerts.
#[derive(Clone)]
pub struct Deliverer {
    tx: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

impl Deliverer {
    /// Starts the worker on the current Tokio runtime; at most `capacity` alerts
    /// wait. `counters` are shared with the caller (the metrics).
    pub fn start(capacity: usize, backoff: Backoff, counters: Counters) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let counters = Arc::new(counters);
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        tokio::spawn(worker(rx, client, backoff, counters.clone()));
        Deliverer { tx, counters }
    }

    /// Queues an alert without waiting; a full queue drops it (counted).
    pub fn send(&self, target: &Target, alert: Alert) {
        let job = Job {
            target: target.clone(),
            alert,
        };
        if self.tx.try_send(job).is_err() {
            self.counters.dropped.inc();
        }
    }

    /// The delivery counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

async fn worker(
    mut rx: mpsc::Receiver<Job>,
    client: HttpClient,
    backoff: Backoff,
    counters: Arc<Counters>,
) {
    while let Some(job) = rx.recv().await {
        let body = match serde_json::to_vec(&job.alert) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                tracing::warn!("alert {} not serialisable: {e}", job.alert.id);
                counters.failed.inc();
                continue;
            }
        };
        let mut wait = backoff.first;
        for attempt in 1..=backoff.attempts.max(1) {
            match post(&client, &job, body.clone()).await {
                Ok(()) => {
                    counters.sent.inc();
                    break;
                }
                Err(e) if attempt < backoff.attempts => {
                    tracing::debug!("alert {} attempt {attempt} failed: {e}", job.alert.id);
                    counters.retries.inc();
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(backoff.max);
                }
                Err(e) => {
                    tracing::warn!(
                        "alert {} for tenant {} not delivered to {} after {attempt} attempts: {e}",
                        job.alert.id,
                        job.alert.tenant,
                        job.target.uri
                    );
                    counters.failed.inc();
                }
            }
        }
    }
}

async fn post(client: &HttpClient, job: &Job, body: Bytes) -> Result<(), String> {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let req = http::Request::post(job.target.uri.clone())
        .header("content-type", "application/json")
        .header("user-agent", concat!("edgewaf/", env!("CARGO_PKG_VERSION")))
        .header("x-edgewaf-alert-id", &job.alert.id)
        .header("x-edgewaf-timestamp", ts.to_string())
        .header("x-edgewaf-signature", sign(&job.target.secret, ts, &body))
        .body(Full::new(body))
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(Duration::from_secs(5), client.request(req))
        .await
        .map_err(|_| "no answer in 5 s".to_string())?
        .map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("status {}", resp.status()))
    }
}
