//! The store's writer thread: takes items off the bounded queue and writes
//! them in batches, one transaction per batch.
//!
//! The loop, while events arrive:
//! 1. Block on the queue until an item comes (no wake-ups when idle).
//! 2. Every [`Batching::tick`], move what has queued into the batch, until
//!    the batch holds [`Batching::flush_at`] items or [`Batching::linger`]
//!    has passed since the first, whichever comes first. Senders never wake
//!    the writer; it polls the queue at its own pace.
//! 3. Write the batch in one transaction, giving up the core after every
//!    [`YIELD_AFTER`] of work, apply retention to at most [`PRUNE_CHUNK`]
//!    events (it used to delete a minute's backlog in one statement once a
//!    minute), and answer the flushes it held.
//!
//! The thread runs at the normal priority. At nice 10 it got too little CPU
//! when the request path saturated both cores, fell behind and the queue
//! overflowed (7,740 and 14,426 events dropped in two of four 10 s runs of
//! ~9,000 req/s; none in four at nice 0: docs/analytics.md, "Figures").

use super::{Item, Retention, now_ms, schema};
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

/// When the writer writes what has queued.
#[derive(Debug, Clone, Copy)]
pub(super) struct Batching {
    /// Longest an event waits in the queue before its batch is written
    /// (events reach the store, and the dashboard, at most this much later).
    pub linger: Duration,
    /// A batch this large is written at once, without waiting for `linger`.
    pub flush_at: usize,
    /// How often the writer moves queued items into its batch.
    pub tick: Duration,
}

impl Batching {
    /// 50 ms or 1,024 items, polled every 5 ms. One transaction per 50 ms
    /// shares the rewritten index pages among hundreds of events (one per
    /// wake-up cost 22 µs of writer CPU per event, this 4-12 µs); 1,024
    /// items bound a batch to about 10 ms of writer work.
    pub const DEFAULT: Batching = Batching {
        linger: Duration::from_millis(50),
        flush_at: 1024,
        tick: Duration::from_millis(5),
    };
}

/// The writer thread: runs until every sender is gone.
pub(super) fn run(
    mut conn: Connection,
    rx: Receiver<Item>,
    retention: Retention,
    batching: Batching,
    written: &AtomicU64,
) {
    let mut retained = Pruned {
        deleted: 0,
        logged: Instant::now(),
    };
    let mut batch = Vec::with_capacity(batching.flush_at);
    loop {
        let (open, idle) = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(item) => {
                // A flush alone (tests, shutdown) is answered at once.
                let linger = !matches!(item, Item::Flush(_));
                batch.push(item);
                (!linger || fill(&rx, &mut batch, batching), false)
            }
            Err(RecvTimeoutError::Timeout) => (true, true),
            Err(RecvTimeoutError::Disconnected) => (false, false),
        };
        let (items, started) = (batch.len(), Instant::now());
        let flushes = write_batch(&mut conn, &mut batch, written);
        tracing::debug!(
            items,
            us = started.elapsed().as_micros() as u64,
            "analytics store: batch written"
        );
        // Retention a chunk at a time after every batch (at most
        // PRUNE_CHUNK events: twice the largest batch, so it keeps pace with
        // the inserts and catches up), and all of it when idle.
        while prune(&conn, retention, &mut retained) == PRUNE_CHUNK && idle {
            std::thread::yield_now();
        }
        for done in flushes {
            let _ = done.send(());
        }
        if !open {
            return;
        }
    }
}

/// Events deleted by retention and not yet logged.
struct Pruned {
    deleted: u64,
    logged: Instant,
}

/// Most events one retention pass deletes.
const PRUNE_CHUNK: usize = 2048;

/// Moves queued items into `batch` every tick until it holds `flush_at` or
/// `linger` has passed; false once every sender is gone (after draining).
fn fill(rx: &Receiver<Item>, batch: &mut Vec<Item>, batching: Batching) -> bool {
    let deadline = Instant::now() + batching.linger;
    loop {
        while batch.len() < batching.flush_at {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
        let now = Instant::now();
        if batch.len() >= batching.flush_at || now >= deadline {
            return true;
        }
        std::thread::sleep(batching.tick.min(deadline - now));
    }
}

/// One pass of retention; how many events it deleted. Logged at most once a
/// minute.
fn prune(conn: &Connection, retention: Retention, pruned: &mut Pruned) -> usize {
    let cutoff = now_ms().saturating_sub(retention.max_age_ms);
    let n = match schema::prune(conn, cutoff, retention.max_events, PRUNE_CHUNK) {
        Ok(n) => n,
        Err(e) => {
            tracing::error!("analytics store: retention failed: {e}");
            0
        }
    };
    pruned.deleted += n as u64;
    if pruned.deleted > 0 && pruned.logged.elapsed() >= Duration::from_secs(60) {
        tracing::info!(deleted = pruned.deleted, "analytics store: retention");
        pruned.deleted = 0;
        pruned.logged = Instant::now();
    }
    n
}

/// The writer offers its core to whatever else is runnable after this much
/// work: a request woken while a batch is written waits that long instead of
/// the rest of the writer's scheduler slice. The batch stays one
/// transaction. Measured in time, not rows: at saturation nearly every
/// yield lets a request thread run, and each such switch costs the writer
/// (its caches go cold), so a yield every 16 rows made the writer's CPU per
/// event twice what it is alone once rows got cheap (docs/analytics.md,
/// "Figures").
const YIELD_AFTER: Duration = Duration::from_micros(100);

/// Rows between looks at the clock.
const CLOCK_EVERY: usize = 8;

/// Writes `batch` (emptied) in one transaction; returns the flushes it held.
fn write_batch(
    conn: &mut Connection,
    batch: &mut Vec<Item>,
    written: &AtomicU64,
) -> Vec<Sender<()>> {
    let mut flushes = Vec::new();
    if batch.is_empty() {
        return flushes;
    }
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!("analytics store: cannot begin a transaction: {e}");
            batch.clear();
            return flushes;
        }
    };
    let mut events = 0u64;
    let mut inserts = match schema::EventInserts::new(&tx) {
        Ok(inserts) => inserts,
        Err(e) => {
            tracing::error!("analytics store: cannot prepare the inserts: {e}");
            batch.clear();
            return flushes;
        }
    };
    let mut since_yield = Instant::now();
    for (i, item) in batch.drain(..).enumerate() {
        if i % CLOCK_EVERY == CLOCK_EVERY - 1 && since_yield.elapsed() >= YIELD_AFTER {
            std::thread::yield_now();
            since_yield = Instant::now();
        }
        let result = match item {
            Item::Event(row) => {
                events += 1;
                inserts.insert(&row)
            }
            Item::Audit(a) => schema::insert_audit(&tx, &a),
            Item::Version(v) => schema::insert_version(&tx, &v),
            Item::Flush(done) => {
                flushes.push(done);
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::error!("analytics store: insert failed: {e}");
        }
    }
    if let Err(e) = inserts.finish() {
        tracing::error!("analytics store: storing the batch's details failed: {e}");
    }
    match tx.commit() {
        Ok(()) => {
            written.fetch_add(events, Ordering::Relaxed);
        }
        Err(e) => tracing::error!("analytics store: commit failed: {e}"),
    }
    flushes
}
