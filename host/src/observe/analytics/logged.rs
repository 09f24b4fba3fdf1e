//! The event list's side of the store: each event's JSON, as the decision
//! log wrote it, put back together from its row and its detail (a line of
//! its writer batch's packed details, or for events stored before layout 2
//! the whole JSON in `event_details`).

use rusqlite::{Connection, OptionalExtension};

/// The row's columns the event's JSON takes as they are, with their field
/// names (NULL ones are left out: an optional field, or one that a layout-1
/// event keeps in its detail).
const FIELDS: [(&str, &str); 11] = [
    ("request_id", "request_id"),
    ("tenant", "tenant"),
    ("version", "tenant_version"),
    ("client_ip", "client_ip"),
    ("country", "country"),
    ("method", "method"),
    ("path", "path"),
    ("action", "action"),
    ("status", "status"),
    ("mode", "mode"),
    ("eval_us", "eval_us"),
];

/// The columns [`json`] reads, in its order, for a `SELECT` from `events`.
pub(super) fn columns() -> String {
    let fields: Vec<&str> = FIELDS.iter().map(|(column, _)| *column).collect();
    format!(
        "ts_ms, {}, id, detail_at, (SELECT detail FROM event_details d WHERE d.id = events.id)",
        fields.join(", ")
    )
}

/// Reads events' details out of their batches, keeping the batches it has
/// unpacked (a search's events are mostly of a few batches).
pub(super) struct Details<'c> {
    conn: &'c Connection,
    /// (first id, last id, the details, one per line).
    batches: Vec<(i64, i64, Vec<String>)>,
}

impl<'c> Details<'c> {
    pub(super) fn new(conn: &'c Connection) -> Self {
        Details {
            conn,
            batches: Vec::new(),
        }
    }

    /// Line `at` of the batch that holds event `id`'s detail (None when
    /// retention took it, or its batch is unreadable: logged).
    fn line(&mut self, id: i64, at: i64) -> rusqlite::Result<Option<String>> {
        let cached = self
            .batches
            .iter()
            .position(|(first, last, _)| (*first..=*last).contains(&id));
        let batch = match cached {
            Some(i) => &self.batches[i],
            None => {
                let found = self
                    .conn
                    .prepare_cached(
                        "SELECT first_id, last_id, details FROM detail_batches
                         WHERE first_id <= ?1 ORDER BY first_id DESC LIMIT 1",
                    )?
                    .query_row([id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get::<_, Vec<u8>>(2)?))
                    })
                    .optional()?;
                let Some((first, last, packed)) = found else {
                    return Ok(None);
                };
                let lines = match unpack(&packed) {
                    Ok(text) => String::from_utf8_lossy(&text)
                        .split('\n')
                        .map(String::from)
                        .collect(),
                    Err(e) => {
                        tracing::error!(
                            "analytics store: details of batch {first} unreadable: {e}"
                        );
                        Vec::new()
                    }
                };
                self.batches.push((first, last, lines));
                self.batches.last().expect("pushed above")
            }
        };
        let (_, last, lines) = batch;
        if id > *last {
            return Ok(None);
        }
        Ok(usize::try_from(at)
            .ok()
            .and_then(|at| lines.get(at))
            .cloned())
    }
}

/// Largest unpacked batch of details [`unpack`] accepts: a damaged size
/// prefix must not make the reader allocate gigabytes (a batch is at most
/// 1,024 details of a few KB).
const MAX_UNPACKED: usize = 256 << 20;

/// A batch's details from their packed form (LZ4 block, size prepended).
fn unpack(packed: &[u8]) -> Result<Vec<u8>, String> {
    let (size, _) = lz4_flex::block::uncompressed_size(packed).map_err(|e| e.to_string())?;
    if size > MAX_UNPACKED {
        return Err(format!("claims {size} bytes unpacked"));
    }
    lz4_flex::block::decompress_size_prepended(packed).map_err(|e| e.to_string())
}

/// The event as the decision log wrote it (the same fields and values), from
/// the [`columns`] of its row at `first`: the row's columns, then its
/// detail's fields, then `rule_ids` from the findings. A row of layout 1 has
/// NULL method, status, mode and version, and its whole JSON as its detail.
pub(super) fn json(
    r: &rusqlite::Row<'_>,
    first: usize,
    details: &mut Details<'_>,
) -> rusqlite::Result<serde_json::Map<String, serde_json::Value>> {
    use serde_json::Value;
    let mut o = serde_json::Map::new();
    let ts_ms: i64 = r.get(first)?;
    let ts = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ts_ms.max(0) as u64);
    o.insert(
        "ts".into(),
        humantime::format_rfc3339_millis(ts).to_string().into(),
    );
    for (i, (_, name)) in FIELDS.into_iter().enumerate() {
        let value = match r.get_ref(first + 1 + i)? {
            rusqlite::types::ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t)),
            rusqlite::types::ValueRef::Integer(n) => Value::from(n),
            _ => continue,
        };
        o.insert(name.into(), value);
    }
    let at = first + 1 + FIELDS.len();
    let (id, detail_at): (i64, Option<i64>) = (r.get(at)?, r.get(at + 1)?);
    let detail = match detail_at {
        Some(line) => details.line(id, line)?,
        None => r.get(at + 2)?,
    };
    if let Some(Ok(Value::Object(d))) = detail.map(|d| serde_json::from_str::<Value>(&d)) {
        o.extend(d);
    }
    if !o.contains_key("rule_ids") {
        let ids: Vec<Value> = o
            .get("findings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("rule_id").cloned())
            .collect();
        o.insert("rule_ids".into(), ids.into());
    }
    Ok(o)
}
